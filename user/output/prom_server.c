// SPDX-License-Identifier: BSD-2-Clause
/*
 * The Prometheus endpoint's HTTP server, on libmicrohttpd: HTTP/1.1 with keep-alive, TLS
 * through GnuTLS and basic auth are its work, not ours, in one thread of its own that polls
 * every connection (so a slow client holds no one up but itself). GET /metrics answers the
 * newest snapshot followed by the process_* metrics of this moment; / a page linking it;
 * other paths 404, other methods 405. The socket is bound by us, before anything is loaded,
 * so that a port in use is said plainly and early.
 */
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prom.h"
#include "util.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define REALM "bpfmeter"

struct prom_server {
	struct MHD_Daemon *d;
	char url[INET6_ADDRSTRLEN + 32];
	int family; /* of the listening socket */
	const struct prom_web_config *wc;
	pthread_mutex_t lock;
	struct prom_snapshot *cur; /* under lock: what a scrape gets */
	double published; /* under lock: monotonic seconds of the last publish, 0 before */
	double stale_s; /* /healthz fails past this long without a publish; 0: never */
	/* The server thread's alone. */
	struct crypt_data *crypt;
	char **verified; /* per user: the password that last matched, so bcrypt runs once */
};

/* What libmicrohttpd says while a daemon starts goes into the error; later, to -v. */
static __thread char *log_into;
static __thread size_t log_len;

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '.'))
		msg[--n] = '\0';
	if (log_into && !*log_into)
		snprintf(log_into, log_len, "%s", msg);
	else
		bm_debug("prometheus: %s", msg);
}

/* The user's password matches: bcrypt once, then the remembered password. */
static bool authorized(struct prom_server *srv, struct MHD_Connection *c)
{
	char *pass = NULL, *user = MHD_basic_auth_get_username_password(c, &pass);
	bool ok = false;
	int idx = -1;

	if (user && pass) {
		for (size_t i = 0; i < srv->wc->nusers; i++)
			if (!strcmp(srv->wc->users[i].name, user) && srv->verified[i] &&
			    !strcmp(srv->verified[i], pass))
				ok = true;
		if (!ok && (idx = prom_web_check(srv->wc, user, pass, srv->crypt)) >= 0) {
			free(srv->verified[idx]);
			srv->verified[idx] = bm_strdup(pass);
			ok = true;
		}
	}
	if (pass) {
		explicit_bzero(pass, strlen(pass));
		MHD_free(pass);
	}
	if (user)
		MHD_free(user);
	return ok;
}

/* A short text answer; text is copied (it may be on the caller's stack). */
static enum MHD_Result answer_text(struct MHD_Connection *c, unsigned int status, const char *type,
				   const char *text)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* A scrape's body: the snapshot it holds a reference to, then the process metrics. */
struct scrape {
	struct prom_snapshot *snap;
	struct prom_buf process;
};

static void scrape_free(void *cls)
{
	struct scrape *sc = cls;

	prom_snapshot_put(sc->snap);
	prom_buf_free(&sc->process);
	free(sc);
}

/*
 * /healthz, for a liveness probe: 200 while intervals are published, 503 before the first
 * and once none has been for stale_s (the measuring loop is stuck; the HTTP thread alone
 * answering says nothing of it).
 */
static enum MHD_Result answer_health(struct prom_server *srv, struct MHD_Connection *c)
{
	double published, age;
	char text[160];

	pthread_mutex_lock(&srv->lock);
	published = srv->published;
	pthread_mutex_unlock(&srv->lock);
	if (!published)
		return answer_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8",
				   "starting: no interval published yet\n");
	age = bm_now_mono() - published;
	if (srv->stale_s > 0 && age > srv->stale_s) {
		snprintf(text, sizeof(text),
			 "stale: no interval published for %.1f s (more than %.1f s)\n", age,
			 srv->stale_s);
		return answer_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8",
				   text);
	}
	snprintf(text, sizeof(text), "ok: last interval published %.1f s ago\n", age);
	return answer_text(c, MHD_HTTP_OK, "text/plain; charset=utf-8", text);
}

static enum MHD_Result answer_metrics(struct prom_server *srv, struct MHD_Connection *c)
{
	struct prom_snapshot *snap;
	struct prom_process proc;
	struct MHD_Response *r;
	struct scrape *sc;
	enum MHD_Result ret;

	pthread_mutex_lock(&srv->lock);
	snap = srv->cur ? prom_snapshot_get(srv->cur) : NULL;
	pthread_mutex_unlock(&srv->lock);
	if (!snap)
		return answer_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8",
				   "bpfmeter is starting\n");
	sc = bm_calloc(1, sizeof(*sc));
	sc->snap = snap;
	prom_process_read(&proc);
	prom_process_render(&sc->process, &proc);
	/* Sent from where they are (sendmsg of both), not copied into another buffer first. */
	r = MHD_create_response_from_iovec(
		(const struct MHD_IoVec[]){ { snap->text, snap->len },
					    { sc->process.p, sc->process.len } },
		2, scrape_free, sc);
	if (!r) {
		scrape_free(sc);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **req_cls)
{
	static int headers_seen;
	struct prom_server *srv = cls;
	bool get = !strcmp(method, MHD_HTTP_METHOD_GET) || !strcmp(method, MHD_HTTP_METHOD_HEAD);
	bool metrics = !strcmp(url, "/metrics"), root = !strcmp(url, "/");
	bool health = !strcmp(url, "/healthz");

	(void)version;
	(void)upload_data;
	/* The first call has the headers; answer once the body, if any, is read and dropped. */
	if (!*req_cls) {
		*req_cls = &headers_seen;
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	/* A liveness probe carries no credentials; the answer tells nothing of the host. */
	if (health && get)
		return answer_health(srv, c);
	if (srv->wc && srv->wc->nusers && !authorized(srv, c)) {
		static const char text[] = "401 Unauthorized\n";
		struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
									 MHD_RESPMEM_PERSISTENT);
		enum MHD_Result ret;

		if (!r)
			return MHD_NO;
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
					"text/plain; charset=utf-8");
		ret = MHD_queue_basic_auth_fail_response(c, REALM, r);
		MHD_destroy_response(r);
		return ret;
	}
	if (!metrics && !root)
		return answer_text(c, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8",
				   "404 page not found\n");
	if (!get)
		return answer_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8",
				   "405 method not allowed\n");
	if (root)
		return answer_text(c, MHD_HTTP_OK, "text/html; charset=utf-8",
				   "<!DOCTYPE html>\n<html><head><title>bpfmeter</title></head>\n"
				   "<body><h1>bpfmeter</h1>\n"
				   "<p>The power of this host's containers and processes, for "
				   "Prometheus: <a href=\"/metrics\">/metrics</a>; liveness: "
				   "<a href=\"/healthz\">/healthz</a></p>\n"
				   "</body></html>\n");
	return answer_metrics(srv, c);
}

/* A socket bound to a and listening; the address it got (a port 0 is chosen now) in url. */
static int listen_on(const struct prom_addr *a, struct prom_server *srv, char *err, size_t errlen)
{
	struct sockaddr_storage ss = a->ss;
	socklen_t len = a->len;
	int one = 1, zero = 0, fd;
	char where[INET6_ADDRSTRLEN + 16];
	const char *hint;

	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 && a->any && errno == EAFNOSUPPORT) {
		/* No IPv6 on this host: every IPv4 address, then. */
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		in_port_t port = ((const struct sockaddr_in6 *)&a->ss)->sin6_port;

		memset(&ss, 0, sizeof(ss));
		sin->sin_family = AF_INET;
		sin->sin_port = port;
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
		len = sizeof(*sin);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	}
	prom_addr_str((struct sockaddr *)&ss, where, sizeof(where));
	if (fd < 0) {
		snprintf(err, errlen, "cannot make a socket for %s: %s", where, strerror(errno));
		return -1;
	}
	/* A restarted bpfmeter gets its port back at once (no wait for TIME_WAIT). */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a->any && ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 64)) {
		int e = errno;

		hint = e == EADDRINUSE	    ? ": another program listens there; choose another port"
		       : e == EADDRNOTAVAIL ? ": no interface of this host has that address"
		       : e == EACCES	    ? ": ports below 1024 need privileges"
					    : "";
		snprintf(err, errlen, "cannot listen on %s: %s%s", where, strerror(e), hint);
		close(fd);
		return -1;
	}
	srv->family = ss.ss_family;
	len = sizeof(ss);
	if (!getsockname(fd, (struct sockaddr *)&ss, &len))
		prom_addr_str((struct sockaddr *)&ss, where, sizeof(where));
	snprintf(srv->url, sizeof(srv->url), "%s://%s",
		 srv->wc && srv->wc->cert_pem ? "https" : "http", where);
	return fd;
}

/*
 * The daemon and its thread, serving on the listening socket fd (closed here whatever
 * happens: libmicrohttpd gets a duplicate, as it closes what it is given, also when it fails
 * to start (0.9.75 does), and no fd number may be closed twice). NULL with err.
 */
static struct MHD_Daemon *start_daemon(struct prom_server *srv, int fd, char *err, size_t errlen)
{
	const struct prom_web_config *wc = srv->wc;
	bool tls = wc && wc->cert_pem;
	struct MHD_OptionItem tls_opts[] = {
		{ tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, tls ? wc->cert_pem : NULL },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, tls ? wc->key_pem : NULL },
		{ MHD_OPTION_END, 0, NULL },
	};
	char why[512] = "";
	struct MHD_Daemon *d;
	sigset_t all, old;
	int mhd_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	close(fd);
	if (mhd_fd < 0) {
		snprintf(err, errlen, "cannot serve on %s: %s", srv->url, strerror(errno));
		return NULL;
	}
	/* Its thread inherits the mask: signals stay the measuring loop's. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	log_into = why;
	log_len = sizeof(why);
	/* MHD_USE_ITC: prom_server_restart() takes the socket back (MHD_quiesce_daemon). */
	d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG | MHD_USE_ITC |
			(tls ? MHD_USE_TLS : 0) | (srv->family == AF_INET6 ? MHD_USE_IPv6 : 0),
		0, NULL, NULL, answer, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_LISTEN_SOCKET, mhd_fd, MHD_OPTION_CONNECTION_LIMIT, 64u,
		MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
	log_into = NULL;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!d && tls)
		snprintf(err, errlen,
			 "--web-config %s: %s and %s do not make a TLS certificate and key "
			 "(PEM)%s%s",
			 wc->path, wc->cert_file, wc->key_file, why[0] ? ": " : "", why);
	else if (!d)
		snprintf(err, errlen, "cannot serve on %s%s%s", srv->url, why[0] ? ": " : "", why);
	return d;
}

struct prom_server *prom_server_start(const struct prom_addr *a, const struct prom_web_config *wc,
				      char *err, size_t errlen)
{
	struct prom_server *srv = bm_calloc(1, sizeof(*srv));
	int fd;

	srv->wc = wc;
	if (wc && wc->cert_pem && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		snprintf(err, errlen,
			 "--web-config %s asks for TLS, which %s: use the dynamic bpfmeter, or "
			 "serve "
			 "plain HTTP behind a TLS proxy",
			 wc->path,
#ifdef BPFMETER_STATIC
			 "the static bpfmeter has not (its libmicrohttpd is built without GnuTLS)"
#else
			 "this libmicrohttpd lacks"
#endif
		);
		free(srv);
		return NULL;
	}
	fd = listen_on(a, srv, err, errlen);
	if (fd < 0) {
		free(srv);
		return NULL;
	}
	if (wc && wc->nusers) {
		srv->crypt = bm_calloc(1, sizeof(*srv->crypt));
		srv->verified = bm_calloc(wc->nusers, sizeof(*srv->verified));
	}
	pthread_mutex_init(&srv->lock, NULL);
	srv->d = start_daemon(srv, fd, err, errlen);
	if (!srv->d) {
		prom_server_stop(srv);
		return NULL;
	}
	return srv;
}

int prom_server_restart(struct prom_server *srv, char *err, size_t errlen)
{
	/* The socket stays bound and listening: connections wait in its backlog meanwhile. */
	int fd = MHD_quiesce_daemon(srv->d);

	if (fd < 0) {
		snprintf(err, errlen, "cannot take the socket of %s back from libmicrohttpd",
			 srv->url);
		return -EIO;
	}
	MHD_stop_daemon(srv->d);
	srv->d = start_daemon(srv, fd, err, errlen);
	return srv->d ? 0 : -EIO;
}

const char *prom_server_url(const struct prom_server *srv)
{
	return srv->url;
}

void prom_server_set_stale(struct prom_server *srv, double seconds)
{
	srv->stale_s = seconds;
}

void prom_server_publish(struct prom_server *srv, struct prom_snapshot *s)
{
	struct prom_snapshot *old;

	prom_snapshot_get(s);
	pthread_mutex_lock(&srv->lock);
	old = srv->cur;
	srv->cur = s;
	srv->published = bm_now_mono();
	pthread_mutex_unlock(&srv->lock);
	prom_snapshot_put(old);
}

void prom_server_stop(struct prom_server *srv)
{
	if (!srv)
		return;
	/* It closes the listening socket too. */
	if (srv->d)
		MHD_stop_daemon(srv->d);
	prom_snapshot_put(srv->cur);
	for (size_t i = 0; srv->verified && i < srv->wc->nusers; i++) {
		if (srv->verified[i])
			explicit_bzero(srv->verified[i], strlen(srv->verified[i]));
		free(srv->verified[i]);
	}
	free(srv->verified);
	free(srv->crypt);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}
