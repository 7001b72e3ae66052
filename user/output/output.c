// SPDX-License-Identifier: BSD-2-Clause
/*
 * The sinks an interval goes to. Each interval is formatted into memory first and written with
 * one write(2), so a file never holds half an interval; where that write fails (disk full,
 * permission) the file is cut back to where the interval began.
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "live.h"
#include "out_http.h"
#include "output.h"
#include "spool.h"
#include "term.h"
#include "util.h"

static const struct {
	const char *prefix;
	enum sink_kind kind;
} forms[] = {
	{ "csv:", SINK_CSV },
	{ "influx:", SINK_INFLUX },
	{ "influx+http://", SINK_HTTP },
	{ "influx+https://", SINK_HTTP },
	{ "prometheus:", SINK_PROMETHEUS },
};

static int prometheus_parse(const char *spec, const char *addr, struct sink *s, char *err,
			    size_t errlen)
{
	char why[256];

	if (!prom_parse_addr(addr, &s->listen, why, sizeof(why)))
		return 0;
	snprintf(err, errlen,
		 "'%s': %s: use prometheus:ADDR:PORT (such as 127.0.0.1:9102 or [::1]:9102), or "
		 "prometheus::PORT for every address",
		 spec, why);
	return -EINVAL;
}

int output_parse(const char *spec, struct sink *s, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->spec = spec;
	for (size_t i = 0; i < ARRAY_SIZE(forms); i++) {
		size_t n = strlen(forms[i].prefix);

		if (strncmp(spec, forms[i].prefix, n))
			continue;
		s->kind = forms[i].kind;
		if (s->kind == SINK_HTTP) {
#ifdef BPFMETER_NO_HTTP
			snprintf(err, errlen,
				 "'%s': this build has no InfluxDB over HTTP (no libcurl in the "
				 "static build): use influx:PATH, or the dynamic bpfmeter",
				 spec);
			return -EOPNOTSUPP;
#endif
			s->path = spec + strlen("influx+");
			return 0;
		}
		if (s->kind == SINK_PROMETHEUS)
			return prometheus_parse(spec, spec + n, s, err, errlen);
		if (!spec[n]) {
			snprintf(err, errlen, "'%s' names no file: use %sPATH, or %s- for stdout",
				 spec, forms[i].prefix, forms[i].prefix);
			return -EINVAL;
		}
		s->path = strcmp(spec + n, "-") ? spec + n : NULL;
		return 0;
	}
	snprintf(err, errlen,
		 "unknown output '%s': use csv:PATH, csv:-, influx:PATH, influx:-, "
		 "influx+http://HOST:PORT/write?db=NAME (or /api/v2/write?org=..&bucket=..) or "
		 "prometheus:ADDR:PORT",
		 spec);
	return -EINVAL;
}

/* The live view's screen at the terminal's size now, in one write. */
static int draw(struct live_view *v)
{
	int width, height;

	term_size(STDOUT_FILENO, &width, &height);
	live_view_render(v, width, height);
	return bm_write_all(STDOUT_FILENO, v->screen.p, v->screen.len);
}

void outputs_redraw(struct outputs *o)
{
	for (int i = 0; i < o->n; i++)
		if (o->v[i].kind == SINK_TABLE && !o->v[i].failed && o->live &&
		    o->live->have_interval && draw(o->live))
			o->v[i].failed = true;
}

bool outputs_has_table(const struct outputs *o)
{
	for (int i = 0; i < o->n; i++)
		if (o->v[i].kind == SINK_TABLE)
			return true;
	return false;
}

/* The text of a whole CSV header line, for writing and for comparing with a file's. */
static char *header_text(const struct bm_meta *m, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	bool bad;

	if (!f)
		return NULL;
	bad = csv_header(f, m) != 0;
	/* A memory stream fails only for want of memory; what it holds then is cut short. */
	if (fclose(f) || bad) {
		free(buf);
		errno = ENOMEM;
		return NULL;
	}
	return buf;
}

/* One interval as fmt writes it, in a malloc'd *buf: 0, or -ENOMEM and *buf NULL. */
static int interval_text(int (*fmt)(FILE *, const struct bm_meta *, const struct bm_interval *),
			 const struct bm_meta *m, const struct bm_interval *iv, char **buf,
			 size_t *len)
{
	FILE *f = open_memstream(buf, len);
	bool bad;

	if (!f)
		return -ENOMEM;
	bad = fmt(f, m, iv) != 0;
	if (fclose(f) || bad) {
		free(*buf);
		*buf = NULL;
		return -ENOMEM;
	}
	return 0;
}

/*
 * Whether the file's first line is another CSV header than ours: 1, 0 (or empty), -errno.
 * Only a regular file is read, and no more of it than our header: a FIFO, a pipe (our own
 * stdout) or a device (/dev/zero) is written to, never read.
 */
static int csv_header_differs(const char *path, const struct bm_meta *m)
{
	size_t len;
	char *want = header_text(m, &len), *got = NULL;
	struct stat st;
	ssize_t n;
	int fd, ret = 0;

	if (!want)
		return -ENOMEM;
	if (stat(path, &st) || !S_ISREG(st.st_mode)) {
		free(want);
		return 0;
	}
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		ret = -errno;
	} else if (S_ISREG(st.st_mode) && st.st_size > 0) {
		got = bm_calloc(1, len);
		n = pread(fd, got, len, 0);
		if (n < 0)
			ret = -errno;
		else
			ret = (size_t)n != len || memcmp(got, want, len);
	}
	if (fd >= 0)
		close(fd);
	free(got);
	free(want);
	return ret;
}

/* Appending under another header would give a file no reader can parse. */
static int check_csv_header(const char *path, const struct bm_meta *m)
{
	int ret = csv_header_differs(path, m);

	if (ret < 0)
		bm_err("cannot read %s: %s", path, strerror(-ret));
	else if (ret)
		bm_err("%s has another CSV header (other events, or another bpfmeter version): "
		       "write to a new file, or move this one away",
		       path);
	return ret ? -1 : 0;
}

/* --web-config, then each Prometheus sink's socket and server. */
static int check_prometheus(struct outputs *o, const struct output_config *cfg)
{
	bool any = false;
	char err[4200];

	for (int i = 0; i < o->n; i++)
		any |= o->v[i].kind == SINK_PROMETHEUS;
	if (cfg->web_config && !any) {
		bm_err("--web-config %s: there is no -o prometheus: output to apply it to",
		       cfg->web_config);
		return -1;
	}
	if (cfg->web_config && !o->web) {
		o->web = bm_calloc(1, sizeof(*o->web));
		if (prom_web_config_load(cfg->web_config, o->web, err, sizeof(err))) {
			bm_err("--web-config: %s", err);
			return -1;
		}
	}
	for (int i = 0; i < o->n; i++) {
		struct sink *s = &o->v[i];

		if (s->kind != SINK_PROMETHEUS || s->prom)
			continue;
		s->prom = prom_server_start(&s->listen, o->web, err, sizeof(err));
		if (!s->prom) {
			bm_err("-o %s: %s", s->spec, err);
			return -1;
		}
	}
	return 0;
}

int outputs_check(struct outputs *o, const struct bm_meta *m, const struct output_config *cfg)
{
	char err[PATH_MAX + 256];

	if (check_prometheus(o, cfg))
		return -1;
	for (int i = 0; i < o->n; i++) {
		if (o->v[i].kind == SINK_HTTP && spool_check(cfg->spool_dir, err, sizeof(err))) {
			bm_err("-o %s: %s", o->v[i].spec, err);
			return -1;
		}
	}
	for (int i = 0; i < o->n; i++) {
		struct sink *s = &o->v[i];
		char *dir;

		/* A URL that will not do is bad input: said before anything is loaded. */
		if (s->kind == SINK_HTTP) {
			char url[4096], err[1024];

			if (http_write_url(s->path, url, sizeof(url), err, sizeof(err)) < 0) {
				bm_err("-o %s: %s", s->spec, err);
				return -1;
			}
			continue;
		}
		if ((s->kind != SINK_CSV && s->kind != SINK_INFLUX) || !s->path)
			continue;
		if (bm_symlink_check(s->path, err, sizeof(err))) {
			bm_err("-o %s: %s", s->spec, err);
			return -1;
		}
		if (!access(s->path, F_OK)) {
			if (access(s->path, W_OK)) {
				bm_err("cannot write to %s: %s", s->path, strerror(errno));
				return -1;
			}
			if (s->kind == SINK_CSV && check_csv_header(s->path, m))
				return -1;
			continue;
		}
		dir = strdup(s->path);
		if (!dir || access(dirname(dir), W_OK)) {
			bm_err("cannot create %s for -o %s: %s", s->path, s->spec, strerror(errno));
			free(dir);
			return -1;
		}
		free(dir);
	}
	return 0;
}

/* One interval's text to a file sink: all of it, or nothing. */
static int sink_write(struct sink *s, const char *buf, size_t len)
{
	off_t start = s->regular ? lseek(s->fd, 0, SEEK_END) : -1;
	int err = bm_write_all(s->fd, buf, len);

	if (err && start >= 0 && ftruncate(s->fd, start))
		bm_warn("cannot cut %s back after a failed write: %s", s->path, strerror(errno));
	return err;
}

static void sink_failed(struct sink *s, int err)
{
	s->failed = true;
	bm_err("cannot write to %s: %s; going on without this output", s->path ? s->path : "stdout",
	       strerror(-err));
}

/* The Prometheus sinks' snapshot: the counters as they are, the InfluxDB spools as now. */
static void publish_prometheus(struct outputs *o, const struct bm_meta *m)
{
	struct prom_http http[BM_MAX_OUTPUTS];
	struct prom_buf b = { 0 };
	struct prom_snapshot *snap;
	int nhttp = 0;

	for (int i = 0; i < o->n; i++) {
		if (!o->v[i].http)
			continue;
		http[nhttp].spec = o->v[i].spec;
		http_sink_stats(o->v[i].http, &http[nhttp++].st);
	}
	prom_render(&b, o->prom, m, http, nhttp);
	snap = prom_snapshot_new(&b);
	for (int i = 0; i < o->n; i++)
		if (o->v[i].prom)
			prom_server_publish(o->v[i].prom, snap);
	prom_snapshot_put(snap);
}

/*
 * A file sink's file for appending, created BM_OUTPUT_MODE where new, and whether it is a
 * regular file. O_NONBLOCK for the open alone: a FIFO that no one reads is an error, not a
 * wait. The fd, or -1 with the reason in err.
 */
static int open_output(struct sink *s, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	if (bm_symlink_check(s->path, err, errlen))
		return -1;
	fd = open(s->path, O_WRONLY | O_CREAT | O_APPEND | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
		  BM_OUTPUT_MODE);
	if (fd >= 0 && !fstat(fd, &st) && !fcntl(fd, F_SETFL, O_APPEND)) {
		s->regular = S_ISREG(st.st_mode);
		return fd;
	}
	if (errno == ENXIO)
		snprintf(err, errlen, "%s: a FIFO that no process reads: start its reader first",
			 s->path);
	else
		snprintf(err, errlen, "%s: %s", s->path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

/*
 * One file sink (or stdout) opened; a CSV file without a header gets one, and so does a file
 * that is not a regular one (a FIFO, a pipe, a device). 0 or -1, said.
 */
static int open_file_sink(struct sink *s, const struct bm_meta *m)
{
	bool need_header = true;
	char err[PATH_MAX + 256];
	size_t len;
	char *hdr;

	if (!s->path) {
		s->fd = STDOUT_FILENO;
	} else {
		s->fd = open_output(s, err, sizeof(err));
		if (s->fd < 0) {
			bm_err("-o %s: cannot open %s", s->spec, err);
			return -1;
		}
		/* outputs_check() saw the header of a file that has one. */
		need_header = !s->regular || lseek(s->fd, 0, SEEK_END) == 0;
	}
	s->opened = true;
	if (s->kind != SINK_CSV || !need_header)
		return 0;
	hdr = header_text(m, &len);
	if (!hdr || bm_write_all(s->fd, hdr, len)) {
		bm_err("cannot write to %s: %s", s->path ? s->path : "stdout", strerror(errno));
		free(hdr);
		return -1;
	}
	free(hdr);
	return 0;
}

int outputs_open_files(struct outputs *o, const struct bm_meta *m)
{
	for (int i = 0; i < o->n; i++) {
		struct sink *s = &o->v[i];

		if (s->kind == SINK_TABLE || s->kind == SINK_PROMETHEUS || s->kind == SINK_HTTP ||
		    s->opened)
			continue;
		if (open_file_sink(s, m))
			return -1;
	}
	return 0;
}

int outputs_open(struct outputs *o, const struct bm_meta *m, const struct output_config *cfg)
{
	bool prom = false;

	if (outputs_open_files(o, m))
		return -1;
	for (int i = 0; i < o->n; i++) {
		struct sink *s = &o->v[i];
		char err[512];

		if (s->kind == SINK_PROMETHEUS) {
			/* Its thread started before the capabilities were dropped: again. */
			if (prom_server_restart(s->prom, err, sizeof(err))) {
				bm_err("-o %s: %s", s->spec, err);
				return -1;
			}
			/* A loop stuck for five intervals and half a minute is not measuring. */
			prom_server_set_stale(s->prom,
					      cfg->interval_s > 0 ? 5 * cfg->interval_s + 30 : 0);
			fprintf(stderr, "bpfmeter: Prometheus metrics at %s/metrics\n",
				prom_server_url(s->prom));
			prom = true;
		} else if (s->kind == SINK_HTTP) {
			struct http_config hc = {
				.url = s->path,
				.spool_dir = cfg->spool_dir,
				.spool_max = cfg->spool_max,
				.connect_timeout_ms = HTTP_CONNECT_TIMEOUT_MS,
				.timeout_ms = HTTP_TIMEOUT_MS,
				.token_env = "INFLUX_TOKEN",
			};

			s->http = http_sink_open(&hc, err, sizeof(err));
			if (!s->http) {
				bm_err("-o %s: %s", s->spec, err);
				return -1;
			}
		}
	}
	if (prom) {
		o->prom = prom_state_new(cfg->prom_keep_s);
		publish_prometheus(o, m);
	}
	return 0;
}

/*
 * A file sink's file again (it was moved away, as logrotate does): a new file gets the CSV
 * header, and so does one that is not a regular file; an existing one is appended to when its
 * header is ours. Returns the new fd, or -1 with the reason in err.
 */
static int reopen_file(struct sink *s, const struct bm_meta *m, char *err, size_t errlen)
{
	int fd = open_output(s, err, errlen), ret = 0;
	off_t end = 0;
	size_t len;
	char *hdr;

	if (fd < 0)
		return -1;
	if (s->regular)
		end = lseek(fd, 0, SEEK_END);
	if (end < 0) {
		ret = -errno;
	} else if (s->kind == SINK_CSV && end > 0) {
		ret = csv_header_differs(s->path, m);
		if (ret > 0) {
			snprintf(err, errlen,
				 "%s: it has another CSV header (move it away and send SIGHUP "
				 "again)",
				 s->path);
			close(fd);
			return -1;
		}
	} else if (s->kind == SINK_CSV) {
		hdr = header_text(m, &len);
		ret = hdr ? bm_write_all(fd, hdr, len) : -ENOMEM;
		free(hdr);
	}
	if (ret) {
		snprintf(err, errlen, "%s: %s", s->path, strerror(-ret));
		close(fd);
		return -1;
	}
	return fd;
}

void outputs_reopen(struct outputs *o, const struct bm_meta *m)
{
	char err[PATH_MAX + 256];

	for (int i = 0; i < o->n; i++) {
		struct sink *s = &o->v[i];
		int fd;

		if ((s->kind != SINK_CSV && s->kind != SINK_INFLUX) || !s->path)
			continue;
		fd = reopen_file(s, m, err, sizeof(err));
		if (s->fd >= 0)
			close(s->fd);
		s->fd = fd;
		s->failed = fd < 0;
		if (fd < 0)
			bm_warn("cannot reopen %s; going on without this output", err);
		else
			bm_debug("reopened %s", s->path);
	}
}

int outputs_interval(struct outputs *o, const struct bm_meta *m, const struct bm_interval *iv)
{
	char *lp = NULL;
	size_t lp_len = 0;
	bool csv = false;
	int ret = 0;

	for (int i = 0; i < o->n; i++) {
		struct sink *s = &o->v[i];
		int err = 0;

		if (s->failed)
			continue;
		switch (s->kind) {
		case SINK_TABLE: {
			/* The view sums sockets: on a copy, the other sinks keep per-socket rows.
			 */
			struct bm_row *rows = bm_calloc(iv->n, sizeof(*rows));
			struct bm_interval view = *iv;

			memcpy(rows, iv->rows, iv->n * sizeof(*rows));
			view.rows = rows;
			view.n = report_merge_sockets(rows, iv->n);
			if (!o->live) {
				o->live = bm_calloc(1, sizeof(*o->live));
				live_view_init(o->live, GROUP_BY_CGROUP, 0, false, false);
			}
			live_view_update(o->live, m, &view);
			free(rows);
			err = draw(o->live);
			break;
		}
		case SINK_CSV:
			if (!csv) {
				o->csv.len = 0;
				csv_text(&o->csv, m, iv);
				csv = true;
			}
			err = sink_write(s, o->csv.p, o->csv.len);
			break;
		case SINK_PROMETHEUS:
			break; /* after the others, below */
		case SINK_INFLUX:
		case SINK_HTTP:
			if (!lp)
				err = interval_text(influx_interval, m, iv, &lp, &lp_len);
			if (err)
				break;
			err = s->kind == SINK_HTTP ? http_sink_enqueue(s->http, lp, lp_len)
						   : sink_write(s, lp, lp_len);
			break;
		}
		if (err == -EPIPE && !s->path && s->kind != SINK_HTTP)
			ret = -EPIPE;
		else if (err)
			sink_failed(s, err);
	}
	free(lp);
	if (o->prom) {
		prom_state_update(o->prom, m, iv);
		publish_prometheus(o, m);
	}
	return ret;
}

/* The summary's groups, made for it: the targets its rows point at. */
struct summary_groups {
	struct bm_target *t;
	size_t *row; /* each group's row */
	size_t n;
};

/* The summary's cgroups rolled up to the groups the live view shows (g), into rows. */
static size_t group_totals(const struct live_view *v, const struct bm_row *totals, size_t n,
			   struct bm_row *rows, struct summary_groups *g)
{
	size_t nrows = 0;

	g->t = bm_calloc(n ? n : 1, sizeof(*g->t));
	g->row = bm_calloc(n ? n : 1, sizeof(*g->row));
	for (size_t i = 0; i < n; i++) {
		const struct bm_target *t = totals[i].target;
		char key[4096];
		size_t k;

		if (t->kind != BM_TARGET_CGROUP ||
		    labels_group_key(t->name, &t->labels, v->group, v->group_depth, key,
				     sizeof(key))) {
			rows[nrows++] = totals[i];
			continue;
		}
		for (k = 0; k < g->n && strcmp(g->t[k].name, key); k++)
			;
		if (k == g->n) {
			g->t[k].kind = BM_TARGET_GROUP;
			g->t[k].name = bm_strdup(key);
			labels_parse(key, &g->t[k].labels);
			g->row[k] = nrows;
			rows[nrows++] = (struct bm_row){ .target = &g->t[k], .socket = -1 };
			g->n++;
		}
		report_row_add(&rows[g->row[k]], &totals[i]);
	}
	report_sort(rows, nrows);
	return nrows;
}

void outputs_summary(struct outputs *o, const struct bm_meta *m, const struct bm_row *totals,
		     size_t n, double elapsed_s, const struct bm_co2e_summary *co2e)
{
	struct summary_groups g = { 0 };
	struct bm_row *rows = NULL;

	if (o->live && o->live->can_group && o->live->group != GROUP_BY_CGROUP) {
		rows = bm_calloc(n ? n : 1, sizeof(*rows));
		n = group_totals(o->live, totals, n, rows, &g);
		totals = rows;
	}
	for (int i = 0; i < o->n; i++)
		if (o->v[i].kind == SINK_TABLE && !o->v[i].failed)
			table_summary(stdout, m, totals, n, elapsed_s, co2e);
	for (size_t i = 0; i < g.n; i++)
		free(g.t[i].name);
	free(g.t);
	free(g.row);
	free(rows);
}

/* What an InfluxDB sink did over the session: losses said plainly, the rest with -v. */
static void report_http(const struct sink *s, const struct http_stats *st)
{
	if (st->rejected_batches || st->dropped_batches)
		bm_warn("%s: %" PRIu64 " batches (%" PRIu64 " points) rejected by the server "
			"(4xx), %" PRIu64 " batches (%" PRIu64 " points) dropped from the full "
			"spool",
			s->spec, st->rejected_batches, st->rejected_points, st->dropped_batches,
			st->dropped_points);
	bm_debug("%s: %" PRIu64 " batches (%" PRIu64 " points) sent, last HTTP status %d", s->spec,
		 st->sent_batches, st->sent_points, st->last_status);
}

void outputs_close(struct outputs *o, double wait_s)
{
	for (int i = 0; i < o->n; i++) {
		struct sink *s = &o->v[i];

		prom_server_stop(s->prom);
		s->prom = NULL;
	}
	prom_state_free(o->prom);
	o->prom = NULL;
	free(o->csv.p);
	o->csv = (struct bm_text){ 0 };
	if (o->live) {
		live_view_free(o->live);
		free(o->live);
		o->live = NULL;
	}
	if (o->web) {
		prom_web_config_free(o->web);
		free(o->web);
		o->web = NULL;
	}
	for (int i = 0; i < o->n; i++) {
		struct sink *s = &o->v[i];

		if (s->http) {
			struct http_stats st;

			http_sink_close(s->http, wait_s, &st);
			s->http = NULL;
			report_http(s, &st);
		}
		if (s->fd >= 0 && s->path)
			close(s->fd);
		s->fd = -1;
	}
}
