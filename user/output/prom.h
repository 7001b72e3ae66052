/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_PROM_H
#define BM_PROM_H

/*
 * The Prometheus endpoint (-o prometheus:ADDR:PORT). The measuring loop keeps the counters
 * (prom_state_update) and renders the whole exposition text once per interval into a
 * refcounted snapshot (prom_render, prom_snapshot_new); each server swaps its pointer to the
 * newest snapshot under a mutex held for the swap alone (prom_server_publish), and a scrape
 * takes a reference to the snapshot that is current when it starts. So a scrape always sees
 * one whole interval, and neither side ever waits on the other for longer than the swap.
 *
 * out_prom.c is the pure part (the text, the counters, the address forms, /proc/self);
 * prom_server.c the HTTP server (libmicrohttpd, its own thread) and prom_web.c the web
 * configuration (TLS and basic auth, as Prometheus's own --web.config.file).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "out_http.h"
#include "report.h"

/* A growing text buffer, always NUL-terminated. */
struct prom_buf {
	char *p;
	size_t len, cap;
};

void prom_buf_add(struct prom_buf *b, const char *s, size_t n);
void prom_buf_free(struct prom_buf *b);
/* A label value as the text format wants it: \, " and line feeds escaped, valid UTF-8. */
void prom_label_value(struct prom_buf *b, const char *s);

/* Where a server listens: ADDR:PORT, [ADDR6]:PORT, or :PORT for every address. */
struct prom_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	bool any; /* :PORT: [::] (dual stack) where there is IPv6, else 0.0.0.0 */
};

/* Parse what follows "prometheus:". Returns 0, or -EINVAL with a one-line err. */
int prom_parse_addr(const char *s, struct prom_addr *a, char *err, size_t errlen);
/* "127.0.0.1:9102", "[::1]:9102": an address as a URL holds it. */
void prom_addr_str(const struct sockaddr *sa, char *out, size_t outlen);

/* The default of --prometheus-keep: five minutes, or three intervals where that is longer. */
double prom_default_keep(double interval_s);

struct prom_state;

/* Series of targets without a row for longer than keep_s are dropped. */
struct prom_state *prom_state_new(double keep_s);
void prom_state_free(struct prom_state *ps);
/* One interval into the counters and the gauges; then drop what expired. */
void prom_state_update(struct prom_state *ps, const struct bm_meta *m,
		       const struct bm_interval *iv);
/* The target series exported now (what the next render writes), for tests. */
size_t prom_state_targets(const struct prom_state *ps);

/* An InfluxDB HTTP sink's spool, as the next render shows it. */
struct prom_http {
	const char *spec; /* -o as given: the output label is its URL without query or user */
	struct http_stats st;
};

/*
 * The session's metrics after the last prom_state_update (none yet: build info alone); ps
 * remembers the text's size, to size the next one's buffer.
 */
void prom_render(struct prom_buf *b, struct prom_state *ps, const struct bm_meta *m,
		 const struct prom_http *http, int nhttp);

/* The process_* metrics every Prometheus client exports, from /proc/self. */
struct prom_process {
	double cpu_s, start_time_s;
	uint64_t rss_bytes, vsize_bytes, open_fds, max_fds;
	bool have_stat, have_fds, have_max_fds;
};

void prom_process_read(struct prom_process *p);
void prom_process_render(struct prom_buf *b, const struct prom_process *p);

/* One rendered exposition, shared by the loop and the scrapes that read it. */
struct prom_snapshot {
	unsigned int refs;
	size_t len;
	char *text;
};

/* A snapshot of b's text (b is left empty), holding one reference. */
struct prom_snapshot *prom_snapshot_new(struct prom_buf *b);
struct prom_snapshot *prom_snapshot_get(struct prom_snapshot *s);
void prom_snapshot_put(struct prom_snapshot *s);

/* --web-config FILE: TLS and basic auth, the subset of Prometheus's web configuration. */
struct prom_user {
	char *name;
	char *hash; /* bcrypt */
};

struct prom_web_config {
	char *path;
	char *cert_file, *key_file; /* as resolved (relative to the file's folder) */
	char *cert_pem, *key_pem; /* their contents; NULL: no TLS */
	struct prom_user *users; /* none: no authentication */
	size_t nusers;
};

/*
 * Read and check FILE: YAML, with the keys tls_server_config (cert_file, key_file) and
 * basic_auth_users (name: bcrypt hash) and no others. Returns 0, or -EINVAL with err in the
 * form "FILE:LINE:COLUMN: what" (or "FILE: what").
 */
int prom_web_config_load(const char *path, struct prom_web_config *wc, char *err, size_t errlen);
void prom_web_config_free(struct prom_web_config *wc);
/* The user's index when pass matches their hash, else -1. data: crypt_r's (any, zeroed once). */
struct crypt_data;
int prom_web_check(const struct prom_web_config *wc, const char *user, const char *pass,
		   struct crypt_data *data);

struct prom_server;

/*
 * Bind and listen on a (the errors a user can fix named: a port in use, an address not
 * here), and start serving in a thread of its own: /metrics answers 503 until the first
 * snapshot is published. wc (kept, not copied) may be NULL. NULL with a one-line err.
 */
struct prom_server *prom_server_start(const struct prom_addr *a, const struct prom_web_config *wc,
				      char *err, size_t errlen);
/*
 * Its thread again, from the calling thread's credentials: after the capability drop, so
 * that the thread that serves the network holds no more than the measuring loop. 0, or -EIO
 * with err (then it no longer serves).
 */
int prom_server_restart(struct prom_server *srv, char *err, size_t errlen);
/* Where it serves: "http://127.0.0.1:9102" or "https://[::]:9102". */
const char *prom_server_url(const struct prom_server *srv);
/*
 * /healthz answers 503 once no snapshot was published for seconds (0: never; set before
 * the first publish, from the serving thread's point of view it is read unlocked).
 */
void prom_server_set_stale(struct prom_server *srv, double seconds);
/* Make s the snapshot that scrapes get (a reference is taken). */
void prom_server_publish(struct prom_server *srv, struct prom_snapshot *s);
void prom_server_stop(struct prom_server *srv);

#endif
