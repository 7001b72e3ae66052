// SPDX-License-Identifier: BSD-2-Clause
/* The shared helpers: number parsing, writing whole buffers, allocations that do not fail. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "util.h"

static void test_u64_decimal_never_octal(void)
{
	uint64_t v = 0;

	CHECK(bm_parse_u64("010", 0, UINT64_MAX, &v) == 0);
	CHECK_EQ_U64(v, 10);
	CHECK(bm_parse_u64("08", 0, UINT64_MAX, &v) == 0);
	CHECK_EQ_U64(v, 8);
	CHECK(bm_parse_u64("18446744073709551615", 0, UINT64_MAX, &v) == 0);
	CHECK_EQ_U64(v, UINT64_MAX);
	CHECK(bm_parse_u64_or_hex("010", 0, UINT64_MAX, &v) == 0);
	CHECK_EQ_U64(v, 10);
	/* Hexadecimal only where the caller takes it. */
	CHECK(bm_parse_u64("0x10", 0, UINT64_MAX, &v) == -EINVAL);
	CHECK(bm_parse_u64_or_hex("0x10", 0, UINT64_MAX, &v) == 0);
	CHECK_EQ_U64(v, 16);
	CHECK(bm_parse_u64_or_hex("0XfF", 0, UINT64_MAX, &v) == 0);
	CHECK_EQ_U64(v, 255);
}

static void test_u64_rejects_junk_and_range(void)
{
	static const char *const junk[] = { "",	   " 1",  "1 ", "+1",	 "-1",	 "1x",	 "x1",
					    "1.0", "1e3", "0x", "0x0x5", "0x-1", "0x 1", "\t7" };
	uint64_t v = 42;

	for (size_t i = 0; i < ARRAY_SIZE(junk); i++) {
		int dec = bm_parse_u64(junk[i], 0, UINT64_MAX, &v),
		    hex = bm_parse_u64_or_hex(junk[i], 0, UINT64_MAX, &v);

		if (dec != -EINVAL || hex != -EINVAL)
			printf("    \"%s\": %d, %d\n", junk[i], dec, hex);
		CHECK(dec == -EINVAL && hex == -EINVAL);
	}
	CHECK(bm_parse_u64(NULL, 0, UINT64_MAX, &v) == -EINVAL);
	CHECK(bm_parse_u64("18446744073709551616", 0, UINT64_MAX, &v) == -ERANGE);
	CHECK(bm_parse_u64_or_hex("0x10000000000000000", 0, UINT64_MAX, &v) == -ERANGE);
	CHECK(bm_parse_u64("9", 10, 20, &v) == -ERANGE);
	CHECK(bm_parse_u64("21", 10, 20, &v) == -ERANGE);
	/* A failed parse leaves the output alone. */
	CHECK_EQ_U64(v, 42);
}

struct drain {
	int fd;
	size_t got;
	bool in_order;
};

/* Reads slowly, so the writer keeps finding the pipe full. */
static void *drain(void *arg)
{
	struct drain *d = arg;
	unsigned char buf[4096];
	ssize_t n;

	while ((n = read(d->fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			d->in_order &= buf[i] == (unsigned char)((d->got + (size_t)i) % 251);
		d->got += (size_t)n;
		usleep(50);
	}
	return NULL;
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/*
 * A blocked write to a full pipe that a signal without SA_RESTART interrupts returns what it
 * wrote so far (a short write), or fails with EINTR when that was nothing.
 */
static void test_write_all_short_writes_and_eintr(void)
{
	enum {
		LEN = 4 << 20
	};
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	struct itimerval tick = { { 0, 200 }, { 0, 200 } }, off = { 0 };
	unsigned char *buf = malloc(LEN);
	struct drain d = { .in_order = true };
	sigset_t alrm;
	pthread_t t;
	int p[2], ret;

	if (!buf || pipe(p)) {
		printf("    cannot set up: %s\n", strerror(errno));
		unit_failed_checks++;
		free(buf);
		return;
	}
	for (size_t i = 0; i < LEN; i++)
		buf[i] = (unsigned char)(i % 251);
	d.fd = p[0];
	/* The signals go to the writer: the reader is started with them blocked. */
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &alrm, NULL);
	CHECK(pthread_create(&t, NULL, drain, &d) == 0);
	pthread_sigmask(SIG_UNBLOCK, &alrm, NULL);
	sigaction(SIGALRM, &sa, &old);
	alarms = 0;
	setitimer(ITIMER_REAL, &tick, NULL);
	ret = bm_write_all(p[1], buf, LEN);
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old, NULL);
	close(p[1]);
	pthread_join(t, NULL);
	close(p[0]);
	CHECK(ret == 0);
	CHECK(alarms > 0);
	CHECK_EQ_U64(d.got, LEN);
	CHECK(d.in_order);
	free(buf);

	CHECK(bm_write_all(-1, "x", 1) == -EBADF);
	CHECK(bm_write_all(-1, "", 0) == 0);
}

/* One value through bm_fmt_fixed against snprintf: 0 if the same, else 1 (said, a few). */
static int fixed_differs(double v, int prec)
{
	static int said;
	char want[BM_FMT_FIXED_MAX], got[BM_FMT_FIXED_MAX];
	int n = snprintf(want, sizeof(want), "%.*f", prec, v);
	int len = bm_fmt_fixed(got, v, prec);

	if (len == n && !strcmp(got, want))
		return 0;
	if (said++ < 5)
		printf("    %a at %d: \"%s\" (%d), snprintf \"%s\" (%d)\n", v, prec, got, len, want,
		       n);
	return 1;
}

static void test_fmt_fixed_is_snprintf(void)
{
	static const double edge[] = { 0.0,
				       -0.0,
				       1.0,
				       -1.0,
				       0.5,
				       1.5,
				       2.5,
				       -2.5,
				       0.0005,
				       0.0015,
				       0.0025,
				       0.125,
				       0.375,
				       1e-7,
				       -1e-7,
				       4.9999995,
				       0.9999995,
				       9.9999999995,
				       999999.9999995,
				       1e15,
				       -1e15,
				       0x1p52 + 0.5,
				       0x1p53 - 1,
				       0x1p53,
				       1e300,
				       -1e300,
				       5e-324,
				       -5e-324,
				       2.2250738585072014e-308,
				       0.1,
				       0.2,
				       0.3,
				       123.456,
				       3.14159265358979,
				       1e-3,
				       12.0000005,
				       1234.5678905 };
	const double special[] = { NAN, -NAN, INFINITY, -INFINITY };
	unsigned int seed = 16;
	int bad = 0;

	for (int prec = 0; prec <= 9; prec++) {
		for (size_t i = 0; i < ARRAY_SIZE(edge); i++)
			bad += fixed_differs(edge[i], prec);
		for (size_t i = 0; i < ARRAY_SIZE(special); i++)
			bad += fixed_differs(special[i], prec);
		/* Exact ties at this precision: k + 1/2 units of the last digit, in binary. */
		for (int k = 0; k < 2000; k++)
			bad += fixed_differs(((double)k + 0.5) / 1024, prec);
	}
	/* Random doubles over many magnitudes, and random bit patterns of every kind. */
	for (int i = 0; i < 200000; i++) {
		double m = (double)rand_r(&seed) / RAND_MAX, v = ldexp(m, rand_r(&seed) % 120 - 60);
		uint64_t bits = (uint64_t)rand_r(&seed) << 42 ^ (uint64_t)rand_r(&seed) << 21 ^
				(uint64_t)rand_r(&seed);
		double r;

		memcpy(&r, &bits, sizeof(r));
		bad += fixed_differs(i & 1 ? -v : v, i % 10);
		bad += fixed_differs(r, i % 10);
		/* Near a rounding boundary: a decimal with prec + 1 digits ending in 5. */
		bad += fixed_differs((double)(rand_r(&seed) % 100000000 * 10 + 5) / 1e9, 8);
		bad += fixed_differs((double)(rand_r(&seed) % 10000000 * 10 + 5) / 1e7, 6);
		bad += fixed_differs((double)(rand_r(&seed) % 100000 * 10 + 5) / 1e4, 3);
	}
	CHECK(bad == 0);
	/* Outside 0 to 9 digits it is snprintf's too. */
	CHECK(fixed_differs(1.0 / 3, 12) == 0);
}

static void test_fmt_int_is_snprintf(void)
{
	static const int64_t cases[] = {
		0, 1, -1, 9, 10, -10, 99, 100, 1234567890123LL, INT64_MAX, INT64_MIN, INT64_MIN + 1
	};
	char got[BM_FMT_INT_MAX], want[BM_FMT_INT_MAX];
	unsigned int seed = 7;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		CHECK((size_t)bm_fmt_i64(got, cases[i]) == strlen(got));
		snprintf(want, sizeof(want), "%lld", (long long)cases[i]);
		CHECK_STR(got, want);
	}
	CHECK(bm_fmt_u64(got, UINT64_MAX) == 20);
	CHECK_STR(got, "18446744073709551615");
	/* Where the digit count changes, by powers of 10 and of 2 (bit length), and around. */
	for (int k = 0; k < 64; k++) {
		for (int d = -1; d <= 1; d++) {
			uint64_t p10 = 1, v;

			for (int j = 0; j < k % 20; j++)
				p10 *= 10;
			v = (k < 20 ? p10 : 1ULL << k) + (uint64_t)d;
			bm_fmt_u64(got, v);
			snprintf(want, sizeof(want), "%llu", (unsigned long long)v);
			CHECK_STR(got, want);
		}
	}
	for (int i = 0; i < 10000; i++) {
		uint64_t v = (uint64_t)rand_r(&seed) << (i % 40) ^ (uint64_t)rand_r(&seed);

		bm_fmt_u64(got, v);
		snprintf(want, sizeof(want), "%llu", (unsigned long long)v);
		CHECK_STR(got, want);
	}
}

static void test_realloc_array_and_strdup(void)
{
	int *v = bm_realloc_array(NULL, 4, sizeof(*v));
	char *s;

	for (int i = 0; i < 4; i++)
		v[i] = i * 7;
	v = bm_realloc_array(v, 100000, sizeof(*v));
	for (int i = 0; i < 4; i++)
		CHECK(v[i] == i * 7);
	v[99999] = 1;
	/* Zero elements is still a pointer to free, not a free behind the caller's back. */
	v = bm_realloc_array(v, 0, sizeof(*v));
	CHECK(v != NULL);
	free(v);
	s = bm_strdup("cgroup");
	CHECK_STR(s, "cgroup");
	free(s);
	s = bm_strndup("package-0", 7);
	CHECK_STR(s, "package");
	free(s);
}

/* What a child that grows an array of n elements of size bytes says on stderr, and its status. */
static int grow_in_child(size_t n, size_t size, char *msg, size_t msglen)
{
	int p[2], status = -1;
	size_t off = 0;
	ssize_t len;
	pid_t pid;

	msg[0] = '\0';
	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], STDERR_FILENO);
		free(bm_realloc_array(NULL, n, size));
		_exit(0);
	}
	close(p[1]);
	/* stderr is unbuffered: the message comes in pieces. */
	while (pid > 0 && off < msglen - 1 && (len = read(p[0], msg + off, msglen - 1 - off)) > 0)
		off += (size_t)len;
	msg[off] = '\0';
	close(p[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	return status;
}

static void test_realloc_array_overflow_dies(void)
{
	char msg[128];
	int status;

	status = grow_in_child(SIZE_MAX / 8 + 1, 8, msg, sizeof(msg));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	CHECK_STR(msg, "bpfmeter: out of memory\n");
	status = grow_in_child(16, 8, msg, sizeof(msg));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_STR(msg, "");
}

/* Cgroup names on the live view: nothing a name holds moves the cursor; columns by width. */
static void test_term_fit_escapes_and_counts_columns(void)
{
	char out[256];

	CHECK_EQ_U64(bm_term_fit(out, sizeof(out), "/plain", 40), 6);
	CHECK_STR(out, "/plain");
	/* ESC [2J clears the screen, ESC [31m recolours it: shown, not done. */
	CHECK_EQ_U64(bm_term_fit(out, sizeof(out), "/x\x1b[2J\x1b[31m", 40), 17);
	CHECK_STR(out, "/x\\x1b[2J\\x1b[31m");
	CHECK_EQ_U64(bm_term_fit(out, sizeof(out), "/a\tb\nc", 40), 8);
	CHECK_STR(out, "/a\\tb\\nc");
	/* A byte that is no UTF-8, and a C1 control (CSI, U+009B) spelled in UTF-8. */
	CHECK_EQ_U64(bm_term_fit(out, sizeof(out), "/\xff\xc2\x9b", 40), 13);
	CHECK_STR(out, "/\\xff\\xc2\\x9b");
	/* UTF-8 takes its columns, not its bytes: é one, each CJK character two. */
	CHECK_EQ_U64(bm_term_fit(out, sizeof(out), "/caf\xc3\xa9", 40), 5);
	CHECK_EQ_U64(bm_term_fit(out, sizeof(out), "/\xe5\xae\xb9\xe5\x99\xa8", 40), 5);
	/* Too wide: "..." and the end, by columns; a wide character is never cut in half. */
	CHECK_EQ_U64(bm_term_fit(out, sizeof(out), "/system.slice/docker-0123456789.scope", 20),
		     20);
	CHECK_STR(out, "...-0123456789.scope");
	CHECK_EQ_U64(bm_term_fit(out, sizeof(out), "/\xe5\xae\xb9\xe5\x99\xa8\xe5\xae\xb9", 6), 5);
	CHECK_STR(out, "...\xe5\xae\xb9");
}

const struct unit_test util_tests[] = {
	{ "util/term_fit_escapes_and_counts_columns", test_term_fit_escapes_and_counts_columns },
	{ "util/u64_decimal_never_octal_hex_where_asked", test_u64_decimal_never_octal },
	{ "util/u64_rejects_sign_space_junk_empty_overflow", test_u64_rejects_junk_and_range },
	{ "util/write_all_over_short_writes_and_eintr", test_write_all_short_writes_and_eintr },
	{ "util/fmt_fixed_is_snprintf_f_ties_edges_random_nan_inf", test_fmt_fixed_is_snprintf },
	{ "util/fmt_int_is_snprintf_lld_llu", test_fmt_int_is_snprintf },
	{ "util/realloc_array_keeps_contents_strdup_copies", test_realloc_array_and_strdup },
	{ "util/realloc_array_overflow_says_out_of_memory_exits_1",
	  test_realloc_array_overflow_dies },
	{ NULL, NULL },
};
