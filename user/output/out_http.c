// SPDX-License-Identifier: BSD-2-Clause
/*
 * The InfluxDB HTTP sink: see out_http.h. The measurement loop only writes batches to the
 * spool (spool.c); a sender thread posts them oldest first, so that a slow or dead server costs
 * the loop nothing but disk space, up to the spool's cap.
 */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "out_http.h"
#include "spool.h"
#include "util.h"

#define BACKOFF_MIN_S 0.5
#define BACKOFF_MAX_S 30.0
#define DEFAULT_TOKEN_ENV "INFLUX_TOKEN"
#define REASON_MAX 300 /* what a message shows of the server's answer */

#define URL_FORMS                                                    \
	"http(s)://HOST[:PORT]/write?db=DATABASE (InfluxDB 1.x) or " \
	"http(s)://HOST[:PORT]/api/v2/write?org=ORG&bucket=BUCKET (InfluxDB 2.x)"

enum outcome {
	SENT = HTTP_SENT,
	REJECTED = HTTP_REJECTED, /* 4xx: the data is bad, sending it again would not help */
	/* no answer, 5xx, 401, 403, 404, 408 or 429: the server may take it later */
	RETRY = HTTP_RETRY,
	STOPPED, /* close() cut the transfer short */
	UNREADABLE, /* the spool file is gone or broken */
};

struct http_sink {
	char *shown; /* the URL without credentials or query, for messages */
	uint64_t spool_max; /* 0: no cap */
	bool curl_global;
	CURL *curl;
	struct curl_slist *headers;
	/* Only the sender thread uses these. */
	char errbuf[CURL_ERROR_SIZE];
	char body[1024]; /* the start of the server's answer */
	size_t body_len;

	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* signalled whenever anything below changes */
	/* Under lock. */
	struct spool spool;
	struct http_stats st;
	uint64_t in_flight; /* the batch being sent, which trimming leaves alone; 0: none */
	double retry_at, backoff; /* CLOCK_MONOTONIC seconds, seconds */
	bool unreachable;
	int stop; /* also read, atomically, by the transfer's progress callback */
};

/* The value of key in an &-separated query into *val, *len; false if the key is absent. */
static bool query_value(const char *q, const char *key, const char **val, size_t *len)
{
	size_t klen = strlen(key);

	while (q && *q) {
		const char *end = strchrnul(q, '&');

		if ((size_t)(end - q) >= klen && !strncmp(q, key, klen) &&
		    (q[klen] == '=' || q + klen == end)) {
			*val = q + klen + (q[klen] == '=');
			*len = (size_t)(end - *val);
			return true;
		}
		q = *end ? end + 1 : NULL;
	}
	return false;
}

static bool query_has(const char *q, const char *key)
{
	const char *v;
	size_t len;

	return query_value(q, key, &v, &len) && len;
}

/* url without user, password, query and fragment, in *shown (malloc'd). */
static int shown_url(CURLU *u, char **shown)
{
	static const CURLUPart hide[] = { CURLUPART_USER, CURLUPART_PASSWORD, CURLUPART_OPTIONS,
					  CURLUPART_QUERY, CURLUPART_FRAGMENT };
	CURLU *c = curl_url_dup(u);
	char *s = NULL;

	if (!c)
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(hide); i++)
		curl_url_set(c, hide[i], NULL, 0);
	if (curl_url_get(c, CURLUPART_URL, &s, 0) == CURLUE_OK)
		*shown = strdup(s);
	curl_free(s);
	curl_url_cleanup(c);
	return *shown ? 0 : -ENOMEM;
}

/* The API version (1 or 2) with the URL to post to in *write and *shown, or -EINVAL and err. */
static int parse_url(const char *url, char **write, char **shown, char *err, size_t errlen)
{
	char *path = NULL, *query = NULL, *full = NULL;
	const char *prec;
	CURLUcode rc;
	size_t plen;
	int ret = -EINVAL;
	CURLU *u;

	*write = *shown = NULL;
	if (!url || (strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8))) {
		snprintf(err, errlen,
			 "influx URL '%s': not http:// or https://; expected " URL_FORMS,
			 url ? url : "");
		return -EINVAL;
	}
	u = curl_url();
	if (!u) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = curl_url_set(u, CURLUPART_URL, url, 0);
	if (rc == CURLUE_OK)
		rc = curl_url_get(u, CURLUPART_PATH, &path, 0);
	if (rc != CURLUE_OK) {
		snprintf(err, errlen, "influx URL '%s': %s; expected " URL_FORMS, url,
			 curl_url_strerror(rc));
		goto out;
	}
	if (curl_url_get(u, CURLUPART_QUERY, &query, 0) != CURLUE_OK)
		query = NULL;
	if (!strcmp(path, "/write")) {
		ret = 1;
		if (!query_has(query, "db")) {
			snprintf(err, errlen, "influx URL '%s': /write needs db=DATABASE", url);
			ret = -EINVAL;
		}
	} else if (!strcmp(path, "/api/v2/write")) {
		ret = 2;
		if (!query_has(query, "bucket") ||
		    !(query_has(query, "org") || query_has(query, "orgID"))) {
			snprintf(err, errlen,
				 "influx URL '%s': /api/v2/write needs org=ORG&bucket=BUCKET", url);
			ret = -EINVAL;
		}
	} else {
		snprintf(err, errlen,
			 "influx URL '%s': path %s is neither /write nor /api/v2/write; "
			 "expected " URL_FORMS,
			 url, path);
	}
	if (ret < 0)
		goto out;
	if (query_value(query, "precision", &prec, &plen)) {
		/* The lines carry nanosecond timestamps: any other precision misplaces them. */
		if (plen != 2 || strncmp(prec, "ns", 2)) {
			snprintf(err, errlen, "influx URL '%s': precision must be ns", url);
			ret = -EINVAL;
			goto out;
		}
	} else if (curl_url_set(u, CURLUPART_QUERY, "precision=ns", CURLU_APPENDQUERY) !=
		   CURLUE_OK) {
		goto nomem;
	}
	if (curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK || !(*write = strdup(full)) ||
	    shown_url(u, shown))
		goto nomem;
	goto out;
nomem:
	free(*write);
	*write = NULL;
	snprintf(err, errlen, "out of memory");
	ret = -ENOMEM;
out:
	curl_free(full);
	curl_free(query);
	curl_free(path);
	curl_url_cleanup(u);
	return ret;
}

int http_write_url(const char *url, char *out, size_t outlen, char *err, size_t errlen)
{
	char *write, *shown;
	int ret = parse_url(url, &write, &shown, err, errlen);

	if (ret < 0)
		return ret;
	if (strlen(write) >= outlen) {
		snprintf(err, errlen, "influx URL '%s': too long", url);
		ret = -ENAMETOOLONG;
	} else {
		strcpy(out, write);
	}
	free(write);
	free(shown);
	return ret;
}

size_t http_body_keep(char *body, size_t size, size_t *len, const char *ptr, size_t n)
{
	size_t room = size - 1 - *len;

	if (n < room)
		room = n;
	memcpy(body + *len, ptr, room);
	*len += room;
	body[*len] = '\0';
	return n;
}

static size_t keep_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct http_sink *h = arg;

	return http_body_keep(h->body, sizeof(h->body), &h->body_len, ptr, size * nmemb);
}

/* Lets close() cut a transfer to a slow server short instead of waiting out its timeout. */
static int check_stop(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		      curl_off_t ulnow)
{
	struct http_sink *h = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return __atomic_load_n(&h->stop, __ATOMIC_RELAXED);
}

static int add_header(struct http_sink *h, const char *line)
{
	struct curl_slist *l = curl_slist_append(h->headers, line);

	if (!l)
		return -ENOMEM;
	h->headers = l;
	return 0;
}

/* Credentials come from the environment only: a command line is visible to every user. */
static int set_auth(struct http_sink *h, int version, const char *token_env, char *err,
		    size_t errlen)
{
	const char *user = getenv("INFLUX_USERNAME"), *pass = getenv("INFLUX_PASSWORD");
	const char *token;
	char *line;
	int ret;

	if (version == 2) {
		token_env = token_env ? token_env : DEFAULT_TOKEN_ENV;
		token = getenv(token_env);
		if (!token || !*token) {
			snprintf(err, errlen,
				 "influx %s: InfluxDB 2.x needs a token in the environment "
				 "variable %s, which is %s",
				 h->shown, token_env, token ? "empty" : "unset");
			return -EINVAL;
		}
		if (asprintf(&line, "Authorization: Token %s", token) < 0)
			return -ENOMEM;
		ret = add_header(h, line);
		free(line);
		return ret;
	}
	if (!user || !*user) {
		if (pass && *pass) {
			snprintf(err, errlen,
				 "influx %s: INFLUX_PASSWORD is set but INFLUX_USERNAME is not",
				 h->shown);
			return -EINVAL;
		}
		return 0;
	}
	if (curl_easy_setopt(h->curl, CURLOPT_USERNAME, user) != CURLE_OK ||
	    curl_easy_setopt(h->curl, CURLOPT_PASSWORD, pass ? pass : "") != CURLE_OK ||
	    curl_easy_setopt(h->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC) != CURLE_OK)
		return -ENOMEM;
	return 0;
}

void http_timeouts(const struct http_config *cfg, long *connect_ms, long *total_ms)
{
	*connect_ms =
		cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : HTTP_CONNECT_TIMEOUT_MS;
	*total_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : HTTP_TIMEOUT_MS;
}

static int setup_curl(struct http_sink *h, const struct http_config *cfg, int version,
		      const char *url, char *err, size_t errlen)
{
	long connect_ms, total_ms;
	bool bad = false;
	int ret;

	http_timeouts(cfg, &connect_ms, &total_ms);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "influx %s: cannot initialise libcurl", h->shown);
		return -ENOMEM;
	}
	h->curl_global = true;
	h->curl = curl_easy_init();
	ret = h->curl ? set_auth(h, version, cfg->token_env, err, errlen) : -ENOMEM;
	if (!ret)
		ret = add_header(h, "Content-Type: text/plain; charset=utf-8");
	/* No "Expect: 100-continue" round trip before larger bodies. */
	if (!ret)
		ret = add_header(h, "Expect:");
	if (ret) {
		if (ret == -ENOMEM)
			snprintf(err, errlen, "out of memory");
		return ret;
	}
	bad |= curl_easy_setopt(h->curl, CURLOPT_URL, url) != CURLE_OK;
	bad |= curl_easy_setopt(h->curl, CURLOPT_POST, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->headers) != CURLE_OK;
	bad |= curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "bpfmeter/" BPFMETER_VERSION) !=
	       CURLE_OK;
	/* curl's timeouts otherwise use SIGALRM, which would hit bpfmeter's main thread. */
	bad |= curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, connect_ms) != CURLE_OK;
	bad |= curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, total_ms) != CURLE_OK;
	bad |= curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, keep_body) != CURLE_OK;
	bad |= curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, h) != CURLE_OK;
	bad |= curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, h->errbuf) != CURLE_OK;
	bad |= curl_easy_setopt(h->curl, CURLOPT_XFERINFOFUNCTION, check_stop) != CURLE_OK;
	bad |= curl_easy_setopt(h->curl, CURLOPT_XFERINFODATA, h) != CURLE_OK;
	bad |= curl_easy_setopt(h->curl, CURLOPT_NOPROGRESS, 0L) != CURLE_OK;
	if (bad) {
		snprintf(err, errlen, "influx %s: cannot set up libcurl", h->shown);
		return -EINVAL;
	}
	return 0;
}

/* s on one line: control characters as spaces, no outer blanks, at most REASON_MAX bytes. */
static void one_line(char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < ' ' || s[i] == 0x7f)
			s[i] = ' ';
	while (n && s[n - 1] == ' ')
		s[--n] = '\0';
	if (n > REASON_MAX)
		strcpy(s + REASON_MAX - 3, "...");
	n = strspn(s, " ");
	memmove(s, s + n, strlen(s + n) + 1);
}

enum http_verdict http_answer(long status, char *body, char *reason, size_t rlen)
{
	one_line(body);
	snprintf(reason, rlen, "HTTP %ld%s%s", status, body[0] ? ": " : "", body);
	if (status >= 200 && status < 300)
		return HTTP_SENT;
	/*
	 * 401, 403 and 404 (a wrong token, a database not made yet) are the server's set-up, not
	 * the data: keep the batches spooled until it is fixed, as for a server that is down.
	 */
	if (status >= 400 && status < 500 && status != 408 && status != 429 && status != 401 &&
	    status != 403 && status != 404)
		return HTTP_REJECTED;
	return HTTP_RETRY;
}

/* Post batch b; runs without the lock. *status: the HTTP status, 0 without an answer. */
static enum outcome post(struct http_sink *h, const struct spool_batch *b, char *reason,
			 size_t rlen, long *status)
{
	CURLcode rc;
	size_t len;
	char *data;
	int ret;

	*status = 0;
	ret = spool_read(&h->spool, b->seq, &data, &len);
	if (ret) {
		snprintf(reason, rlen, "%s", strerror(-ret));
		return UNREADABLE;
	}
	h->body_len = 0;
	h->body[0] = '\0';
	h->errbuf[0] = '\0';
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, data);
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	rc = curl_easy_perform(h->curl);
	free(data);
	if (rc == CURLE_ABORTED_BY_CALLBACK)
		return STOPPED;
	if (rc != CURLE_OK) {
		snprintf(reason, rlen, "%s", h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc));
		return RETRY;
	}
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, status);
	return (enum outcome)http_answer(*status, h->body, reason, rlen);
}

/* What the answer to batch b means for the queue; under the lock. */
static void account(struct http_sink *h, const struct spool_batch *b, enum outcome o, long status,
		    const char *reason)
{
	switch (o) {
	case SENT:
	case REJECTED:
		if (h->unreachable)
			bm_warn("influx %s: reachable again: sending %zu spooled batches", h->shown,
				h->spool.n);
		h->unreachable = false;
		h->backoff = BACKOFF_MIN_S;
		h->retry_at = 0;
		h->st.last_status = (int)status;
		if (o == SENT) {
			h->st.sent_batches++;
			h->st.sent_points += b->points;
		} else {
			h->st.rejected_batches++;
			h->st.rejected_points += b->points;
			bm_warn("influx %s: batch of %" PRIu64 " points rejected, dropped: %s",
				h->shown, b->points, reason);
		}
		spool_remove(&h->spool, b->seq);
		break;
	case RETRY:
		if (!h->unreachable)
			bm_warn("influx %s: unreachable (%s): spooling to %s", h->shown, reason,
				h->spool.dir);
		h->unreachable = true;
		h->st.last_status = (int)status;
		h->retry_at = bm_now_mono() + h->backoff;
		h->backoff = fmin(2 * h->backoff, BACKOFF_MAX_S);
		break;
	case UNREADABLE:
		/* Counted as dropped: these points will never be sent either. */
		h->st.dropped_batches++;
		h->st.dropped_points += b->points;
		bm_warn("influx %s: cannot read spooled batch %020" PRIu64
			".lp in %s (%s): dropped %" PRIu64 " points",
			h->shown, b->seq, h->spool.dir, reason, b->points);
		spool_remove(&h->spool, b->seq);
		break;
	case STOPPED:
		break;
	}
}

static void wait_until(struct http_sink *h, double t)
{
	struct timespec ts;

	t = fmin(t, 1e12); /* a wait of "forever" must still fit a time_t */
	ts.tv_sec = (time_t)t;
	ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
	pthread_cond_timedwait(&h->cond, &h->lock, &ts);
}

static void *sender(void *arg)
{
	char reason[REASON_MAX + CURL_ERROR_SIZE];
	struct http_sink *h = arg;

	pthread_mutex_lock(&h->lock);
	while (!h->stop) {
		struct spool_batch b;
		enum outcome o;
		long status;

		if (!h->spool.n) {
			pthread_cond_wait(&h->cond, &h->lock);
			continue;
		}
		if (bm_now_mono() < h->retry_at) {
			wait_until(h, h->retry_at);
			continue;
		}
		b = h->spool.b[0];
		h->in_flight = b.seq;
		pthread_mutex_unlock(&h->lock);
		o = post(h, &b, reason, sizeof(reason), &status);
		pthread_mutex_lock(&h->lock);
		h->in_flight = 0;
		account(h, &b, o, status, reason);
		pthread_cond_broadcast(&h->cond);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

static void destroy(struct http_sink *h)
{
	spool_close(&h->spool);
	if (h->curl)
		curl_easy_cleanup(h->curl);
	curl_slist_free_all(h->headers);
	if (h->curl_global)
		curl_global_cleanup();
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
	free(h->shown);
	free(h);
}

static int start_sender(struct http_sink *h)
{
	sigset_t all, old;
	int ret;

	/*
	 * The thread inherits this mask: with every signal blocked there, SIGINT and the like
	 * interrupt bpfmeter's main loop as they did before the thread existed.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ret = pthread_create(&h->thread, NULL, sender, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -ret;
}

struct http_sink *http_sink_open(const struct http_config *cfg, char *err, size_t errlen)
{
	struct http_sink *h;
	pthread_condattr_t ca;
	char *url, *shown;
	int version, ret;

	version = parse_url(cfg->url, &url, &shown, err, errlen);
	if (version < 0)
		return NULL;
	h = bm_calloc(1, sizeof(*h));
	h->shown = shown;
	h->spool_max = cfg->spool_max;
	h->spool.dirfd = -1;
	h->backoff = BACKOFF_MIN_S;
	pthread_mutex_init(&h->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* the clock of bm_now_mono() */
	pthread_cond_init(&h->cond, &ca);
	pthread_condattr_destroy(&ca);

	ret = setup_curl(h, cfg, version, url, err, errlen);
	free(url);
	if (!ret)
		ret = spool_open(&h->spool, cfg->spool_dir, err, errlen);
	if (!ret) {
		ret = start_sender(h);
		if (ret)
			snprintf(err, errlen, "influx %s: cannot start the sender thread: %s",
				 h->shown, strerror(-ret));
	}
	if (ret) {
		destroy(h);
		return NULL;
	}
	if (h->spool.n)
		bm_debug("influx %s: %zu batches spooled in %s by an earlier run go first",
			 h->shown, h->spool.n, h->spool.dir);
	return h;
}

int http_sink_enqueue(struct http_sink *h, const char *lines, size_t len)
{
	uint64_t batches = 0, points = 0;
	int ret;

	if (!len)
		return 0;
	pthread_mutex_lock(&h->lock);
	ret = spool_put(&h->spool, lines, len);
	if (!ret && h->spool_max)
		spool_trim(&h->spool, h->spool_max, h->in_flight, &batches, &points);
	if (batches) {
		h->st.dropped_batches += batches;
		h->st.dropped_points += points;
		bm_warn("influx %s: spool full (cap %" PRIu64 " bytes): dropped %" PRIu64
			" oldest points so far",
			h->shown, h->spool_max, h->st.dropped_points);
	}
	if (!ret)
		pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	return ret;
}

static void get_stats(struct http_sink *h, struct http_stats *stats)
{
	*stats = h->st;
	stats->spooled_batches = h->spool.n;
	stats->spooled_bytes = h->spool.bytes;
}

void http_sink_stats(struct http_sink *h, struct http_stats *stats)
{
	pthread_mutex_lock(&h->lock);
	get_stats(h, stats);
	pthread_mutex_unlock(&h->lock);
}

void http_sink_close(struct http_sink *h, double wait_s, struct http_stats *stats)
{
	uint64_t points = 0;
	double deadline;

	pthread_mutex_lock(&h->lock);
	/* One more try now, whatever the backoff had planned. */
	h->retry_at = 0;
	pthread_cond_broadcast(&h->cond);
	deadline = bm_now_mono() + (wait_s > 0 ? wait_s : 0);
	while (h->spool.n && bm_now_mono() < deadline)
		wait_until(h, deadline);
	__atomic_store_n(&h->stop, 1, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	pthread_join(h->thread, NULL);

	if (stats)
		get_stats(h, stats);
	for (size_t i = 0; i < h->spool.n; i++)
		points += h->spool.b[i].points;
	if (h->spool.n)
		bm_warn("influx %s: %zu batches (%" PRIu64
			" points) left in %s, to be sent at the next start",
			h->shown, h->spool.n, points, h->spool.dir);
	destroy(h);
}
