// SPDX-License-Identifier: BSD-2-Clause
/*
 * The InfluxDB HTTP sink without a server: URL checks, the spool's order and cap, and the sink
 * pointed at a closed port (127.0.0.1:1), where every batch stays spooled.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "out_http.h"
#include "spool.h"
#include "unit.h"
#include "util.h"

#define CLOSED_PORT_URL "http://127.0.0.1:1/write?db=bpfmeter"

/* The API version http_write_url() gives url, and its URL or error in out. */
static int check_url(const char *url, char *out, size_t size)
{
	char err[512] = "";
	int ret = http_write_url(url, out, size, err, sizeof(err));

	if (ret < 0)
		snprintf(out, size, "%s", err);
	return ret;
}

static void test_url_v1(void)
{
	char out[512];

	CHECK(check_url("http://127.0.0.1:8086/write?db=bpfmeter", out, sizeof(out)) == 1);
	CHECK_STR(out, "http://127.0.0.1:8086/write?db=bpfmeter&precision=ns");
	CHECK(check_url("https://influx.example.com/write?db=power&rp=week", out, sizeof(out)) ==
	      1);
	CHECK_STR(out, "https://influx.example.com/write?db=power&rp=week&precision=ns");
	/* Already ns: left as it is, not given twice. */
	CHECK(check_url("HTTP://h:1/write?precision=ns&db=x", out, sizeof(out)) == 1);
	CHECK_STR(out, "http://h:1/write?precision=ns&db=x");
	CHECK(check_url("http://h/write?db=x", out, 10) == -ENAMETOOLONG);
}

static void test_url_v2(void)
{
	char out[512];

	CHECK(check_url("https://eu.example.com/api/v2/write?org=acme&bucket=power", out,
			sizeof(out)) == 2);
	CHECK_STR(out, "https://eu.example.com/api/v2/write?org=acme&bucket=power&precision=ns");
	CHECK(check_url("http://[::1]:8086/api/v2/write?bucket=b&orgID=0123456789abcdef", out,
			sizeof(out)) == 2);
	CHECK_STR(out,
		  "http://[::1]:8086/api/v2/write?bucket=b&orgID=0123456789abcdef&precision=ns");
}

static void test_url_rejected(void)
{
	static const struct {
		const char *url, *says;
	} bad[] = {
		{ "ftp://h/write?db=x", "not http:// or https://" },
		{ "influx+http://h/write?db=x", "not http:// or https://" },
		{ "h:8086/write?db=x", "/api/v2/write?org=ORG&bucket=BUCKET" },
		{ "http://h/query?db=x", "path /query is neither /write nor /api/v2/write" },
		{ "http://h/", "path / is neither" },
		{ "http://h/api/v2/write/?org=o&bucket=b", "is neither" },
		{ "http://h/write", "/write needs db=DATABASE" },
		{ "http://h/write?db=", "/write needs db=DATABASE" },
		{ "http://h/write?dbx=y", "/write needs db=DATABASE" },
		{ "http://h/api/v2/write?org=o", "needs org=ORG&bucket=BUCKET" },
		{ "http://h/api/v2/write?bucket=b", "needs org=ORG&bucket=BUCKET" },
		{ "http://h/api/v2/write?organisation=o&bucket=b", "needs org=ORG&bucket=BUCKET" },
		{ "http://h/write?db=x&precision=s", "precision must be ns" },
		{ "http:///write?db=x", "influx URL 'http:///write?db=x'" },
	};
	char out[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(check_url(bad[i].url, out, sizeof(out)) == -EINVAL);
		CHECK_HAS(out, bad[i].url);
		CHECK_HAS(out, bad[i].says);
	}
}

static struct http_sink *open_sink(const char *url, const char *spool, uint64_t max,
				   const char *token_env, char *err, size_t errlen)
{
	struct http_config cfg = {
		.url = url,
		.spool_dir = spool,
		.spool_max = max,
		.connect_timeout_ms = 200,
		.timeout_ms = 500,
		.token_env = token_env,
	};

	return http_sink_open(&cfg, err, errlen);
}

static void test_credentials(void)
{
	const char *v2 = "http://127.0.0.1:1/api/v2/write?org=o&bucket=b";
	struct http_sink *h;
	char root[64], spool[128], err[512] = "";

	if (!fixture_mkdtemp(root, sizeof(root), "http"))
		return;
	snprintf(spool, sizeof(spool), "%s/spool", root);
	unsetenv("INFLUX_USERNAME");
	unsetenv("INFLUX_PASSWORD");
	unsetenv("BM_TEST_TOKEN");
	CHECK(!open_sink(v2, spool, 0, "BM_TEST_TOKEN", err, sizeof(err)));
	CHECK_HAS(err, "BM_TEST_TOKEN, which is unset");
	setenv("BM_TEST_TOKEN", "", 1);
	CHECK(!open_sink(v2, spool, 0, "BM_TEST_TOKEN", err, sizeof(err)));
	CHECK_HAS(err, "BM_TEST_TOKEN, which is empty");
	/* Refused before anything was created. */
	CHECK(access(spool, F_OK) && errno == ENOENT);
	setenv("BM_TEST_TOKEN", "s3cret", 1);
	h = open_sink(v2, spool, 0, "BM_TEST_TOKEN", err, sizeof(err));
	CHECK(h != NULL);
	if (h)
		http_sink_close(h, 0, NULL);
	unsetenv("BM_TEST_TOKEN");

	setenv("INFLUX_PASSWORD", "pw", 1);
	CHECK(!open_sink(CLOSED_PORT_URL, spool, 0, NULL, err, sizeof(err)));
	CHECK_HAS(err, "INFLUX_PASSWORD is set but INFLUX_USERNAME is not");
	setenv("INFLUX_USERNAME", "bpf", 1);
	h = open_sink(CLOSED_PORT_URL, spool, 0, NULL, err, sizeof(err));
	CHECK(h != NULL);
	if (h)
		http_sink_close(h, 0, NULL);
	unsetenv("INFLUX_USERNAME");
	unsetenv("INFLUX_PASSWORD");
	fixture_rmtree(root);
}

/* The batch file numbered seq under dir holds exactly text. */
static void check_batch(const char *dir, unsigned seq, const char *text)
{
	char path[256], buf[256];

	snprintf(path, sizeof(path), "%s/%020u.lp", dir, seq);
	buf[0] = '\0';
	CHECK(bm_read_file(path, buf, sizeof(buf)) == 0);
	/* bm_read_file() drops the last newline. */
	CHECK(!strncmp(buf, text, strlen(text) - 1) && strlen(buf) == strlen(text) - 1);
}

static void test_spool_sequence(void)
{
	char root[64], dir[128], path[256], err[512] = "";
	struct spool s;
	struct stat st;

	if (!fixture_mkdtemp(root, sizeof(root), "spool"))
		return;
	/* Missing parents are made too, private to the user. */
	snprintf(dir, sizeof(dir), "%s/a/b/spool", root);
	CHECK(spool_open(&s, dir, err, sizeof(err)) == 0);
	CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
	snprintf(path, sizeof(path), "%s/a", root);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0700);
	CHECK(spool_put(&s, "m v=1\n", 6) == 0);
	CHECK(spool_put(&s, "m v=2\nm v=3\n\nm v=4\n", 19) == 0);
	CHECK(spool_put(&s, "m v=5", 5) == 0);
	CHECK_EQ_U64(s.n, 3);
	CHECK_EQ_U64(s.bytes, 30);
	CHECK_EQ_U64(s.b[1].points, 3);
	CHECK_EQ_U64(s.b[2].points, 1);
	spool_close(&s);

	/* What an earlier run left: a batch numbered far out, a temp file, a stranger's file. */
	fixture_put(dir, "00000000000000000041.lp", "m v=41\n");
	fixture_put(dir, ".00000000000000000042.lp.tmp", "m v=half");
	fixture_put(dir, "notes.txt", "hello\n");
	fixture_put(dir, "0000000000000000007.lp", "m v=short name\n");
	CHECK(spool_open(&s, dir, err, sizeof(err)) == 0);
	CHECK_EQ_U64(s.n, 4);
	CHECK_EQ_U64(s.next_seq, 42);
	for (size_t i = 0; i < s.n; i++)
		CHECK_EQ_U64(s.b[i].seq, i < 3 ? i + 1 : 41);
	CHECK_EQ_U64(s.bytes, 37);
	snprintf(path, sizeof(path), "%s/.00000000000000000042.lp.tmp", dir);
	CHECK(access(path, F_OK) && errno == ENOENT);
	snprintf(path, sizeof(path), "%s/notes.txt", dir);
	CHECK(access(path, F_OK) == 0);
	CHECK(spool_put(&s, "m v=42\n", 7) == 0);
	check_batch(dir, 1, "m v=1\n");
	check_batch(dir, 2, "m v=2\nm v=3\n\nm v=4\n");
	check_batch(dir, 41, "m v=41\n");
	check_batch(dir, 42, "m v=42\n");

	/* The oldest goes first; removing it leaves the rest in order. */
	spool_remove(&s, 1);
	CHECK_EQ_U64(s.n, 4);
	CHECK_EQ_U64(s.b[0].seq, 2);
	CHECK_EQ_U64(s.bytes, 38);
	snprintf(path, sizeof(path), "%s/%020u.lp", dir, 1);
	CHECK(access(path, F_OK) && errno == ENOENT);
	spool_close(&s);
	fixture_rmtree(root);
}

/* Twenty digits can say more than a sequence number holds: such a file is no batch. */
static void test_spool_names_out_of_range(void)
{
	char root[64], dir[128], err[512] = "";
	struct spool s;

	if (!fixture_mkdtemp(root, sizeof(root), "spool"))
		return;
	snprintf(dir, sizeof(dir), "%s/spool", root);
	fixture_put(root, "spool/99999999999999999999.lp", "m v=1\n");
	fixture_put(root, "spool/00000000000000000000.lp", "m v=0\n");
	fixture_put(root, "spool/+0000000000000000003.lp", "m v=3\n");
	CHECK(spool_open(&s, dir, err, sizeof(err)) == 0);
	CHECK_EQ_U64(s.n, 0);
	CHECK_EQ_U64(s.next_seq, 1);
	spool_close(&s);
	fixture_rmtree(root);
}

/*
 * A batch numbered UINT64_MAX (no run of ours names one) made the next number 0: the batch
 * after it, named 00000000000000000000.lp, was no batch at the next start, and a scan that
 * met the name before smaller ones numbered the next batch over one of those.
 */
static void test_spool_last_numbers(void)
{
	char root[64], dir[128], err[512] = "";
	struct spool s;

	if (!fixture_mkdtemp(root, sizeof(root), "spool"))
		return;
	snprintf(dir, sizeof(dir), "%s/spool", root);
	fixture_put(root, "spool/18446744073709551615.lp", "m v=max\n");
	fixture_put(root, "spool/00000000000000000003.lp", "m v=3\n");
	CHECK(spool_open(&s, dir, err, sizeof(err)) == 0);
	CHECK_EQ_U64(s.n, 1);
	CHECK_EQ_U64(s.next_seq, 4);
	CHECK(spool_put(&s, "m v=4\n", 6) == 0);
	check_batch(dir, 4, "m v=4\n");
	spool_close(&s);
	CHECK(spool_open(&s, dir, err, sizeof(err)) == 0);
	CHECK_EQ_U64(s.n, 2);
	CHECK_EQ_U64(s.next_seq, 5);
	spool_close(&s);
	fixture_rmtree(root);

	/* After the largest number: nothing more while it waits, from 1 again once it went. */
	if (!fixture_mkdtemp(root, sizeof(root), "spool"))
		return;
	snprintf(dir, sizeof(dir), "%s/spool", root);
	fixture_put(root, "spool/18446744073709551614.lp", "m v=last\n");
	CHECK(spool_open(&s, dir, err, sizeof(err)) == 0);
	CHECK_EQ_U64(s.n, 1);
	CHECK(s.next_seq == UINT64_MAX);
	CHECK(spool_put(&s, "m v=1\n", 6) == -EOVERFLOW);
	CHECK_EQ_U64(s.n, 1);
	spool_remove(&s, UINT64_MAX - 1);
	CHECK(spool_put(&s, "m v=1\n", 6) == 0);
	CHECK_EQ_U64(s.n, 1);
	CHECK_EQ_U64(s.b[0].seq, 1);
	check_batch(dir, 1, "m v=1\n");
	spool_close(&s);
	fixture_rmtree(root);
}

/* What the server's answer means for the batch, and the reason logged. */
static void test_answer_verdicts(void)
{
	static const struct {
		long status;
		const char *body;
		enum http_verdict v;
		const char *reason;
	} cases[] = {
		{ 204, "", HTTP_SENT, "HTTP 204" },
		{ 400, "{\"code\":\"invalid\",\n\"message\":\"bad\"}\n", HTTP_REJECTED,
		  "HTTP 400: {\"code\":\"invalid\", \"message\":\"bad\"}" },
		{ 413, "  too large\r\n", HTTP_REJECTED, "HTTP 413: too large" },
		{ 401, "unauthorized", HTTP_RETRY, "HTTP 401: unauthorized" },
		{ 404, "", HTTP_RETRY, "HTTP 404" },
		{ 429, "slow down", HTTP_RETRY, "HTTP 429: slow down" },
		{ 503, "", HTTP_RETRY, "HTTP 503" },
		{ 0, "", HTTP_RETRY, "HTTP 0" },
	};
	char body[1024], reason[600], big[2000];
	size_t len = 0;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(body, sizeof(body), "%s", cases[i].body);
		CHECK(http_answer(cases[i].status, body, reason, sizeof(reason)) == cases[i].v);
		CHECK_STR(reason, cases[i].reason);
	}
	/* The body's start is kept, up to the buffer, and the reason shows 300 bytes of it. */
	memset(big, 'x', sizeof(big));
	CHECK_EQ_U64(http_body_keep(body, sizeof(body), &len, big, 700), 700);
	CHECK_EQ_U64(http_body_keep(body, sizeof(body), &len, big, 700), 700);
	CHECK_EQ_U64(len, sizeof(body) - 1);
	CHECK_EQ_U64(strlen(body), sizeof(body) - 1);
	CHECK(http_answer(500, body, reason, sizeof(reason)) == HTTP_RETRY);
	CHECK_EQ_U64(strlen(reason), strlen("HTTP 500: ") + 300);
	CHECK_HAS(reason, "xxx...");
}

static void test_spool_errors(void)
{
	char root[64], dir[128], err[512] = "";
	struct spool s, t;

	if (!fixture_mkdtemp(root, sizeof(root), "spool"))
		return;
	fixture_put(root, "file", "not a directory\n");
	snprintf(dir, sizeof(dir), "%s/file/spool", root);
	CHECK(spool_open(&s, dir, err, sizeof(err)) == -ENOTDIR);
	CHECK_HAS(err, "cannot create spool dir");
	CHECK_HAS(err, dir);
	snprintf(dir, sizeof(dir), "%s/file", root);
	CHECK(spool_open(&s, dir, err, sizeof(err)) == -ENOTDIR);
	CHECK_HAS(err, dir);

	snprintf(dir, sizeof(dir), "%s/spool", root);
	CHECK(spool_open(&s, dir, err, sizeof(err)) == 0);
	CHECK(spool_open(&t, dir, err, sizeof(err)) == -EWOULDBLOCK);
	CHECK_HAS(err, "in use by another process");
	spool_close(&s);
	fixture_rmtree(root);
}

static void test_spool_trim(void)
{
	char root[64], dir[128], err[512] = "", line[64];
	uint64_t batches = 0, points = 0;
	struct spool s;

	if (!fixture_mkdtemp(root, sizeof(root), "spool"))
		return;
	snprintf(dir, sizeof(dir), "%s/spool", root);
	CHECK(spool_open(&s, dir, err, sizeof(err)) == 0);
	/* Batch k holds k points of 10 bytes: 1+2+...+5 = 15 points, 150 bytes. */
	for (int k = 1; k <= 5; k++) {
		char batch[64] = "";

		for (int i = 0; i < k; i++) {
			snprintf(line, sizeof(line), "m v=%d%04d\n", k, i);
			strcat(batch, line);
		}
		CHECK(spool_put(&s, batch, strlen(batch)) == 0);
	}
	CHECK_EQ_U64(s.bytes, 150);
	spool_trim(&s, 150, 0, &batches, &points);
	CHECK_EQ_U64(batches, 0);
	/* Down to 100 bytes: batches 1 (10) and 2 (20) are not enough, 3 (30) goes too. */
	spool_trim(&s, 100, 0, &batches, &points);
	CHECK_EQ_U64(batches, 3);
	CHECK_EQ_U64(points, 6);
	CHECK_EQ_U64(s.n, 2);
	CHECK_EQ_U64(s.b[0].seq, 4);
	CHECK_EQ_U64(s.bytes, 90);
	/* The batch being sent stays: the next oldest goes in its place. */
	spool_trim(&s, 45, 4, &batches, &points);
	CHECK_EQ_U64(batches, 4);
	CHECK_EQ_U64(points, 11);
	CHECK_EQ_U64(s.n, 1);
	CHECK_EQ_U64(s.b[0].seq, 4);
	check_batch(dir, 4, "m v=40000\nm v=40001\nm v=40002\nm v=40003\n");
	spool_trim(&s, 0, 0, &batches, &points);
	CHECK_EQ_U64(s.n, 0);
	CHECK_EQ_U64(s.bytes, 0);
	CHECK_EQ_U64(points, 15);
	/* Within a run numbers go on; an empty spool at the start has nothing to follow. */
	CHECK_EQ_U64(s.next_seq, 6);
	spool_close(&s);
	CHECK(spool_open(&s, dir, err, sizeof(err)) == 0);
	CHECK_EQ_U64(s.n, 0);
	CHECK_EQ_U64(s.next_seq, 1);
	spool_close(&s);
	fixture_rmtree(root);
}

/* How many times needle is in hay. */
static int count_of(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void test_sink_keeps_batches_for_next_start(void)
{
	char root[64], dir[128], err[512] = "";
	struct http_stats st;
	struct http_sink *h;
	struct capture cap;

	if (!fixture_mkdtemp(root, sizeof(root), "http"))
		return;
	snprintf(dir, sizeof(dir), "%s/spool", root);
	capture_begin(&cap, 2);
	h = open_sink(CLOSED_PORT_URL, dir, 0, NULL, err, sizeof(err));
	if (h) {
		CHECK(http_sink_enqueue(h, "m v=1 1\n", 8) == 0);
		CHECK(http_sink_enqueue(h, "", 0) == 0);
		CHECK(http_sink_enqueue(h, "m v=2 2\nm v=3 3\n", 16) == 0);
		/* Long enough for the sender's first try and one retry after 0.5 s. */
		http_sink_close(h, 0.8, &st);
	}
	capture_end(&cap);
	CHECK(h != NULL);
	CHECK_EQ_U64(st.spooled_batches, 2);
	CHECK_EQ_U64(st.sent_batches + st.rejected_batches + st.dropped_batches, 0);
	CHECK_EQ_U64(st.last_status, 0);
	/* Said once, however many tries failed. */
	CHECK(count_of(cap.text, "unreachable (") == 1);
	CHECK_HAS(cap.text, "influx http://127.0.0.1:1/write: unreachable (");
	CHECK_HAS(cap.text, "): spooling to ");
	CHECK_HAS(cap.text, "2 batches (3 points) left in ");

	/* The next start sends those first: the new batch is queued after them. */
	capture_begin(&cap, 2);
	h = open_sink(CLOSED_PORT_URL, dir, 0, NULL, err, sizeof(err));
	if (h) {
		CHECK(http_sink_enqueue(h, "m v=4 4\n", 8) == 0);
		http_sink_close(h, 0, &st);
	}
	capture_end(&cap);
	CHECK(h != NULL);
	CHECK_EQ_U64(st.spooled_batches, 3);
	CHECK_HAS(cap.text, "3 batches (4 points) left in ");
	check_batch(dir, 1, "m v=1 1\n");
	check_batch(dir, 2, "m v=2 2\nm v=3 3\n");
	check_batch(dir, 3, "m v=4 4\n");
	fixture_rmtree(root);
}

static void test_sink_cap_drops_oldest(void)
{
	char root[64], dir[128], err[512] = "", batch[64], said[128];
	struct http_stats st;
	struct http_sink *h;
	struct capture cap;
	struct spool s;

	if (!fixture_mkdtemp(root, sizeof(root), "http"))
		return;
	snprintf(dir, sizeof(dir), "%s/spool", root);
	capture_begin(&cap, 2);
	/* Room for 3 batches of 2 points, 32 bytes each. */
	h = open_sink(CLOSED_PORT_URL, dir, 100, NULL, err, sizeof(err));
	for (int i = 0; h && i < 10; i++) {
		snprintf(batch, sizeof(batch), "m v=%02d 1%05d\nm v=%02d 2%05d\n", i, i, i, i);
		CHECK(http_sink_enqueue(h, batch, strlen(batch)) == 0);
	}
	if (h)
		http_sink_close(h, 0, &st);
	capture_end(&cap);
	CHECK(h != NULL);
	CHECK_EQ_U64(st.dropped_batches, 7);
	CHECK_EQ_U64(st.dropped_points, 14);
	CHECK_EQ_U64(st.spooled_batches, 3);
	/* One warning per enqueue that dropped, with the running total. */
	CHECK(count_of(cap.text, "spool full (cap 100 bytes): dropped ") == 7);
	for (int n = 2; n <= 14; n += 2) {
		snprintf(said, sizeof(said), "dropped %d oldest points so far\n", n);
		CHECK_HAS(cap.text, said);
	}
	/*
	 * What is left is the newest, but for a batch that was being sent (to the closed port)
	 * when the cap struck: trimming leaves that one alone and takes the next oldest.
	 */
	CHECK(spool_open(&s, dir, err, sizeof(err)) == 0);
	CHECK_EQ_U64(s.n, 3);
	CHECK(s.n == 3 && s.b[0].seq >= 1 && s.b[0].seq <= 8);
	CHECK_EQ_U64(s.b[1].seq, 9);
	CHECK_EQ_U64(s.b[2].seq, 10);
	spool_close(&s);
	check_batch(dir, 10, "m v=09 100009\nm v=09 200009\n");
	fixture_rmtree(root);
}

/* One definition of the timeouts: bpfmeter's sinks wait 2 s to connect and 10 s in all. */
static void test_timeouts_default(void)
{
	struct http_config zero = { 0 }, given = { .connect_timeout_ms = 200, .timeout_ms = 500 };
	long connect_ms, total_ms;

	http_timeouts(&zero, &connect_ms, &total_ms);
	CHECK_EQ_U64(connect_ms, 2000);
	CHECK_EQ_U64(total_ms, 10000);
	http_timeouts(&given, &connect_ms, &total_ms);
	CHECK_EQ_U64(connect_ms, 200);
	CHECK_EQ_U64(total_ms, 500);
}

const struct unit_test http_tests[] = {
	{ "http/url_influxdb_1x_gets_precision_ns", test_url_v1 },
	{ "http/url_influxdb_2x_gets_precision_ns", test_url_v2 },
	{ "http/url_bad_scheme_path_or_query_rejected_naming_it", test_url_rejected },
	{ "http/credentials_only_from_environment", test_credentials },
	{ "http/spool_sequence_continues_in_order", test_spool_sequence },
	{ "http/spool_names_out_of_range_are_no_batches", test_spool_names_out_of_range },
	{ "http/spool_last_numbers_never_wrap_to_0", test_spool_last_numbers },
	{ "http/answer_status_verdict_and_one_line_reason", test_answer_verdicts },
	{ "http/spool_dir_not_creatable_or_in_use", test_spool_errors },
	{ "http/spool_trim_drops_oldest_counting", test_spool_trim },
	{ "http/sink_keeps_batches_for_next_start", test_sink_keeps_batches_for_next_start },
	{ "http/sink_cap_drops_oldest_and_says_so", test_sink_cap_drops_oldest },
	{ "http/timeouts_2s_connect_10s_total_unless_given", test_timeouts_default },
	{ NULL, NULL },
};
