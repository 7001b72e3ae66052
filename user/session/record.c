// SPDX-License-Identifier: BSD-2-Clause
/* Writing and reading recordings of live sessions (the format is in record.h). */
#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "record.h"
#include "report.h"
#include "util.h"

/* The fixed columns, before one column per event. */
static const char *const fixed_cols[] = { "kind", "ts_ns", "interval_s", "socket",
					  "id",	  "name",  "value",	 "cpu_ns" };
enum {
	C_KIND,
	C_TS,
	C_DT,
	C_SOCKET,
	C_ID,
	C_NAME,
	C_VALUE,
	C_CPU,
	NR_FIXED
};

static const char *const kind_names[] = {
	[REC_META] = "meta",	 [REC_EVENT] = "event",	  [REC_INTERVAL] = "interval",
	[REC_ENERGY] = "energy", [REC_TARGET] = "target", [REC_GROUP] = "group",
	[REC_GONE] = "gone",	 [REC_END] = "end",	  [REC_CPUS] = "cpus",
};

/*
 * A recording named *.gz is written gzip'd (several times smaller), flushed to a gzip sync point at
 * each interval's end; reading takes gzip'd and plain files alike (zlib passes plain ones
 * through). Either way the code sees a FILE.
 */
static ssize_t gz_write(void *gz, const char *buf, size_t len)
{
	return len && gzwrite(gz, buf, (unsigned int)len) == 0 ? -1 : (ssize_t)len;
}

static ssize_t gz_read(void *gz, char *buf, size_t len)
{
	int n = gzread(gz, buf, (unsigned int)(len > INT_MAX ? INT_MAX : len)), zerr;

	if (n >= 0)
		return n;
	gzerror(gz, &zerr);
	/* Cut off while written (a killed session): it ends there, its last line tells. */
	return zerr == Z_BUF_ERROR ? 0 : -1;
}

static int gz_close(void *gz)
{
	return gzclose(gz) == Z_OK ? 0 : EOF;
}

/* fd as a FILE through zlib: mode "r", or "w" (gzip'd). NULL, fd closed, on failure. */
static FILE *gz_file(int fd, const char *mode, gzFile *gzp)
{
	cookie_io_functions_t io = { .read = gz_read, .write = gz_write, .close = gz_close };
	gzFile gz = gzdopen(fd, *mode == 'w' ? "wb" : "rb");
	FILE *f;

	if (!gz) {
		close(fd);
		return NULL;
	}
	f = fopencookie(gz, mode, io);
	if (!f)
		gzclose(gz);
	else if (gzp)
		*gzp = gz;
	return f;
}

static FILE *open_read(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	return fd < 0 ? NULL : gz_file(fd, "r", NULL);
}

/*
 * Said once; the file is cut back to its last whole interval (a recording that ends there
 * replays, as one of a killed session does, gzip'd or not: record_flush() ends each interval
 * at a gzip sync point), and what stdio and zlib still hold goes to /dev/null from here on.
 */
static void write_failed(struct recorder *r)
{
	int err = errno, null;

	if (r->failed)
		return;
	r->failed = true;
	if (ftruncate(r->fd, r->whole))
		bm_warn("cannot cut the recording %s back to its last whole interval: %s", r->path,
			strerror(errno));
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, r->fd);
		close(null);
	}
	bm_warn("cannot write the recording %s: %s; measuring goes on without it (it ends at "
		"its last whole interval)",
		r->path, strerror(err));
}

static void empty_events(struct recorder *r)
{
	for (int e = 0; e < r->nr_events; e++)
		fputc(',', r->f);
	fputc('\n', r->f);
}

int record_open(struct recorder *r, const char *path, const struct bm_event *events, int nr_events,
		const int *sample_index)
{
	size_t len = strlen(path);
	int fd;

	memset(r, 0, sizeof(*r));
	r->path = path;
	r->nr_events = nr_events;
	r->sample_index = sample_index;
	r->fd = -1;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, BM_OUTPUT_MODE);
	if (fd < 0) {
		if (errno == EEXIST)
			bm_err("--record %s: the file exists; a recording is never overwritten: "
			       "give a new path",
			       path);
		else
			bm_err("--record %s: %s", path, strerror(errno));
		return -1;
	}
	r->fd = fd;
	if (len > 3 && !strcmp(path + len - 3, ".gz")) {
		r->f = gz_file(fd, "w", (gzFile *)&r->gz);
	} else {
		r->f = fdopen(fd, "w");
		if (!r->f)
			close(fd);
	}
	if (!r->f) {
		bm_err("--record %s: %s", path, strerror(errno ? errno : ENOMEM));
		unlink(path);
		return -1;
	}
	for (int i = 0; i < NR_FIXED; i++)
		fprintf(r->f, "%s%s", i ? "," : "", fixed_cols[i]);
	for (int e = 0; e < nr_events; e++) {
		fputc(',', r->f);
		csv_field(r->f, events[e].name);
	}
	fputc('\n', r->f);
	record_meta(r, "format", BM_RECORD_FORMAT);
	for (int e = 0; e < nr_events; e++) {
		fprintf(r->f, "event,,,,%d,", sample_index[e] >= 0);
		csv_field(r->f, events[e].name);
		fprintf(r->f, ",%" PRIu32 ":%" PRIu64 ",", events[e].type, events[e].config);
		empty_events(r);
	}
	record_flush(r);
	return r->failed ? -1 : 0;
}

void record_meta(struct recorder *r, const char *key, const char *fmt, ...)
{
	char value[1024];
	va_list ap;

	if (r->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	fprintf(r->f, "meta,,,,,%s,", key);
	csv_field(r->f, value);
	fputc(',', r->f);
	empty_events(r);
}

/* The columns every interval row repeats, up to the socket. */
static void row_start(struct recorder *r, const char *kind)
{
	fprintf(r->f, "%s,%" PRId64 ",%.17g,", kind, r->ts_ns, r->interval_s);
}

void record_interval(struct recorder *r, int64_t ts_ns, double interval_s, uint64_t overflow)
{
	if (r->failed)
		return;
	r->ts_ns = ts_ns;
	r->interval_s = interval_s;
	row_start(r, "interval");
	fprintf(r->f, ",,,%" PRIu64 ",", overflow);
	empty_events(r);
}

void record_energy(struct recorder *r, const struct energy_reading *e)
{
	if (r->failed)
		return;
	row_start(r, "energy");
	fprintf(r->f, "%d,,%s,%.17g,", e->socket, energy_domain_name(e->domain), e->joules);
	empty_events(r);
}

void record_target(struct recorder *r, int socket, uint64_t id, const char *name,
		   const struct bm_sample *s)
{
	if (r->failed)
		return;
	row_start(r, "target");
	fprintf(r->f, "%d,%" PRIu64 ",", socket, id);
	csv_field(r->f, name);
	fprintf(r->f, ",,%" PRIu64, s->cpu_ns);
	for (int e = 0; e < r->nr_events; e++) {
		if (r->sample_index[e] < 0)
			fputc(',', r->f);
		else
			fprintf(r->f, ",%" PRIu64, s->ev[r->sample_index[e]]);
	}
	fputc('\n', r->f);
}

void record_group(struct recorder *r, uint64_t id, const char *name)
{
	if (r->failed)
		return;
	fprintf(r->f, "group,,,,%" PRIu64 ",", id);
	csv_field(r->f, name);
	fputs(",,", r->f);
	empty_events(r);
}

void record_gone(struct recorder *r, uint64_t id)
{
	if (r->failed)
		return;
	fprintf(r->f, "gone,,,,%" PRIu64 ",,,", id);
	empty_events(r);
}

void record_cpus(struct recorder *r, int nr_online, const char *note)
{
	if (r->failed)
		return;
	fputs("cpus,,,,,", r->f);
	csv_field(r->f, note);
	fprintf(r->f, ",%d,", nr_online);
	empty_events(r);
}

void record_flush(struct recorder *r)
{
	off_t end;

	if (r->failed)
		return;
	if (fflush(r->f) || ferror(r->f) || (r->gz && gzflush(r->gz, Z_SYNC_FLUSH) != Z_OK)) {
		write_failed(r);
		return;
	}
	end = lseek(r->fd, 0, SEEK_CUR);
	if (end >= 0)
		r->whole = end;
}

int record_close(struct recorder *r, double elapsed_s)
{
	int err = r->failed ? -1 : 0;

	if (!r->f)
		return 0;
	if (!r->failed) {
		fprintf(r->f, "end,,,,,,%.17g,", elapsed_s);
		empty_events(r);
		record_flush(r);
	}
	if (fclose(r->f) && !r->failed) {
		bm_err("cannot write the recording %s: %s", r->path, strerror(errno));
		err = -1;
	}
	r->f = NULL;
	return r->failed ? -1 : err;
}

/* Reading. */

struct reader {
	struct bm_at at;
	char **fields;
	int nfields, cap;
	int ncols; /* the header's */
	char *evnames[BM_MAX_EVENTS]; /* the header's event columns */
	int nr_events;
	int nevent_rows, ncounted;
	int sample_index[BM_MAX_EVENTS];
	int sockets; /* from the meta row, 0 until then */
	bool body; /* past the meta and event rows */
	bool *energy_seen; /* [sockets x domains] in the current interval */
	bool header_done, format_seen, in_interval, ended;
	int64_t last_ts;
	int (*cb)(const struct record_row *row, void *ctx);
	void *ctx;
	int cb_ret;
};

static void on_field(void *s, size_t len, void *data)
{
	struct reader *p = data;

	if (p->at.failed)
		return;
	if (p->nfields == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 16;
		p->fields = bm_realloc_array(p->fields, (size_t)p->cap, sizeof(*p->fields));
	}
	p->fields[p->nfields] = bm_strndup(s ? s : "", len);
	p->nfields++;
}

static const char *col_name(struct reader *p, int col)
{
	return col < NR_FIXED ? fixed_cols[col] : p->evnames[col - NR_FIXED];
}

/* Field col as an unsigned integer (empty allowed when opt). */
static bool get_u64(struct reader *p, int col, bool opt, uint64_t *v)
{
	const char *s = p->fields[col];

	if (!*s && opt)
		return true;
	if (bm_parse_u64(s, 0, UINT64_MAX, v)) {
		bm_fail_at(&p->at, col + 1, "%s: \"%s\" is not a whole number", col_name(p, col),
			   s);
		return false;
	}
	return true;
}

static bool get_double(struct reader *p, int col, double lo, double *v)
{
	const char *s = p->fields[col];
	char *end;

	*v = strtod(s, &end);
	if (!*s || *end || !isfinite(*v) || *v < lo) {
		bm_fail_at(&p->at, col + 1, "%s: \"%s\" is not a number%s", col_name(p, col), s,
			   lo >= 0 ? " >= 0" : "");
		return false;
	}
	return true;
}

static bool get_empty(struct reader *p, int from, int to)
{
	for (int c = from; c < to; c++) {
		if (*p->fields[c]) {
			bm_fail_at(&p->at, c + 1, "%s: \"%s\" where a %s row has nothing",
				   col_name(p, c), p->fields[c], p->fields[C_KIND]);
			return false;
		}
	}
	return true;
}

static bool get_socket(struct reader *p, int *socket)
{
	uint64_t v;

	if (!get_u64(p, C_SOCKET, false, &v))
		return false;
	if (v >= (uint64_t)p->sockets) {
		bm_fail_at(&p->at, C_SOCKET + 1, "socket %" PRIu64 " of a recording of %d socket%s",
			   v, p->sockets, p->sockets == 1 ? "" : "s");
		return false;
	}
	*socket = (int)v;
	return true;
}

/* An interval's rows repeat its timestamp and length. */
static bool get_interval_cols(struct reader *p, struct record_row *row)
{
	uint64_t ts;

	if (!get_u64(p, C_TS, false, &ts) || !get_double(p, C_DT, 0, &row->interval_s))
		return false;
	if (ts > INT64_MAX) {
		bm_fail_at(&p->at, C_TS + 1, "ts_ns: %" PRIu64 " is out of range", ts);
		return false;
	}
	row->ts_ns = (int64_t)ts;
	return true;
}

/* An event row's value, decimal TYPE:CONFIG as record_open() writes it. */
static int parse_type_config(const char *s, uint64_t *type, uint64_t *config)
{
	size_t n = strcspn(s, ":");
	char tbuf[16];

	if (!s[n] || n >= sizeof(tbuf))
		return -EINVAL;
	memcpy(tbuf, s, n);
	tbuf[n] = '\0';
	if (bm_parse_u64(tbuf, 0, UINT32_MAX, type))
		return -EINVAL;
	return bm_parse_u64(s + n + 1, 0, UINT64_MAX, config);
}

static bool parse_domain(const char *s, enum bm_domain *d)
{
	for (int i = 0; i < BM_NR_DOMAINS; i++) {
		if (!strcmp(s, energy_domain_name((enum bm_domain)i))) {
			*d = (enum bm_domain)i;
			return true;
		}
	}
	return false;
}

static void header(struct reader *p)
{
	p->header_done = true;
	p->ncols = p->nfields;
	for (int i = 0; i < NR_FIXED; i++) {
		if (i >= p->nfields || strcmp(p->fields[i], fixed_cols[i])) {
			bm_fail_at(&p->at, i + 1,
				   "not a bpfmeter recording: the header must start with "
				   "kind,ts_ns,interval_s,socket,id,name,value,cpu_ns");
			return;
		}
	}
	p->nr_events = p->nfields - NR_FIXED;
	if (p->nr_events > BM_MAX_EVENTS) {
		bm_fail_at(&p->at, BM_MAX_EVENTS + NR_FIXED + 1, "more than %d event columns",
			   BM_MAX_EVENTS);
		return;
	}
	for (int e = 0; e < p->nr_events; e++)
		p->evnames[e] = bm_strdup(p->fields[NR_FIXED + e]);
}

static bool parse_row(struct reader *p, struct record_row *row)
{
	const char *kind = p->fields[C_KIND];
	int k;

	memset(row, 0, sizeof(*row));
	row->line = p->at.line;
	row->name = p->fields[C_NAME];
	row->value = p->fields[C_VALUE];
	for (k = 0; k < (int)ARRAY_SIZE(kind_names); k++)
		if (!strcmp(kind, kind_names[k]))
			break;
	if (k == (int)ARRAY_SIZE(kind_names)) {
		bm_fail_at(&p->at, C_KIND + 1, "unknown row kind \"%s\"", kind);
		return false;
	}
	row->kind = (enum record_kind)k;
	if (!p->format_seen && (row->kind != REC_META || strcmp(row->name, "format"))) {
		bm_fail_at(&p->at, C_KIND + 1, "the first row must be meta format");
		return false;
	}
	if (p->ended) {
		bm_fail_at(&p->at, C_KIND + 1, "a %s row after the end row", kind);
		return false;
	}
	/*
	 * The settings (meta and event rows) come first, whole: what follows is read with them,
	 * and a setting after it would have come too late for the rows before.
	 */
	if (row->kind == REC_META || row->kind == REC_EVENT) {
		if (p->body) {
			bm_fail_at(
				&p->at, C_KIND + 1,
				"a%s %s row after the first interval, group or gone row: the meta "
				"and event rows come first",
				strchr("aeiou", kind[0]) ? "n" : "", kind);
			return false;
		}
	} else if (p->nevent_rows != p->nr_events || !p->sockets) {
		bm_fail_at(&p->at, C_KIND + 1, "a%s %s row before the meta sockets and event rows",
			   strchr("aeiou", kind[0]) ? "n" : "", kind);
		return false;
	} else {
		p->body = true;
	}
	switch (row->kind) {
	case REC_META:
		if (!get_empty(p, C_TS, C_NAME) || !get_empty(p, C_CPU, p->ncols))
			return false;
		if (!*row->name) {
			bm_fail_at(&p->at, C_NAME + 1, "a meta row without a name");
			return false;
		}
		if (!strcmp(row->name, "format")) {
			if (strcmp(row->value, BM_RECORD_FORMAT)) {
				bm_fail_at(&p->at, C_VALUE + 1,
					   "format \"%s\": this bpfmeter reads %s", row->value,
					   BM_RECORD_FORMAT);
				return false;
			}
			p->format_seen = true;
		}
		if (!strcmp(row->name, "sockets")) {
			uint64_t v;

			if (!get_u64(p, C_VALUE, false, &v))
				return false;
			if (v < 1 || v > 4096) {
				bm_fail_at(&p->at, C_VALUE + 1,
					   "sockets: %" PRIu64 " is not in 1..4096", v);
				return false;
			}
			if (p->sockets) {
				bm_fail_at(&p->at, C_NAME + 1, "a second meta sockets row");
				return false;
			}
			p->sockets = (int)v;
			p->energy_seen = bm_calloc((size_t)v * BM_NR_DOMAINS, sizeof(bool));
		}
		return true;
	case REC_EVENT: {
		uint64_t counted, type, config;

		if (!get_empty(p, C_TS, C_ID) || !get_empty(p, C_CPU, p->ncols) ||
		    !get_u64(p, C_ID, false, &counted))
			return false;
		if (p->nevent_rows == p->nr_events ||
		    strcmp(row->name, p->evnames[p->nevent_rows])) {
			bm_fail_at(&p->at, C_NAME + 1,
				   "event \"%s\" has no column of its own in the header",
				   row->name);
			return false;
		}
		if (counted > 1 || strlen(row->name) >= BM_EVENT_NAME_MAX) {
			bm_fail_at(&p->at, counted > 1 ? C_ID + 1 : C_NAME + 1,
				   "an event row needs id 0 or 1 and a name under %d characters",
				   BM_EVENT_NAME_MAX);
			return false;
		}
		if (parse_type_config(row->value, &type, &config)) {
			bm_fail_at(&p->at, C_VALUE + 1, "event %s: \"%s\" is not TYPE:CONFIG",
				   row->name, row->value);
			return false;
		}
		snprintf(row->event.name, sizeof(row->event.name), "%s", row->name);
		row->event.type = (uint32_t)type;
		row->event.config = config;
		row->counted = counted;
		p->sample_index[p->nevent_rows++] = counted ? p->ncounted++ : -1;
		return true;
	}
	case REC_INTERVAL: {
		uint64_t overflow;

		if (!get_interval_cols(p, row) || !get_empty(p, C_SOCKET, C_VALUE) ||
		    !get_u64(p, C_VALUE, false, &overflow) || !get_empty(p, C_CPU, p->ncols))
			return false;
		if (p->in_interval && row->ts_ns <= p->last_ts) {
			bm_fail_at(&p->at, C_TS + 1,
				   "time goes backwards: ts_ns %" PRId64
				   " is not after the previous "
				   "interval's %" PRId64,
				   row->ts_ns, p->last_ts);
			return false;
		}
		row->number = (double)overflow;
		row->id = overflow;
		memset(p->energy_seen, 0, (size_t)p->sockets * BM_NR_DOMAINS * sizeof(bool));
		p->in_interval = true;
		p->last_ts = row->ts_ns;
		return true;
	}
	case REC_ENERGY:
	case REC_TARGET:
		if (!p->in_interval) {
			bm_fail_at(&p->at, C_KIND + 1, "a %s row before the first interval row",
				   kind);
			return false;
		}
		if (!get_interval_cols(p, row))
			return false;
		if (row->ts_ns != p->last_ts) {
			bm_fail_at(&p->at, C_TS + 1,
				   "ts_ns %" PRId64 " is not its interval's, %" PRId64, row->ts_ns,
				   p->last_ts);
			return false;
		}
		if (!get_socket(p, &row->socket))
			return false;
		if (row->kind == REC_ENERGY) {
			if (!get_empty(p, C_ID, C_NAME) || !get_empty(p, C_CPU, p->ncols))
				return false;
			if (!parse_domain(row->name, &row->domain)) {
				bm_fail_at(&p->at, C_NAME + 1, "\"%s\" is not an energy domain",
					   row->name);
				return false;
			}
			if (p->energy_seen[row->socket * BM_NR_DOMAINS + row->domain]) {
				bm_fail_at(&p->at, C_NAME + 1,
					   "a second %s reading of socket %d in the interval",
					   row->name, row->socket);
				return false;
			}
			p->energy_seen[row->socket * BM_NR_DOMAINS + row->domain] = true;
			return get_double(p, C_VALUE, 0, &row->number);
		}
		if (!get_u64(p, C_ID, false, &row->id) || !get_empty(p, C_VALUE, C_CPU) ||
		    !get_u64(p, C_CPU, false, &row->s.cpu_ns))
			return false;
		if (!*row->name) {
			bm_fail_at(&p->at, C_NAME + 1, "a target row without a name");
			return false;
		}
		for (int e = 0; e < p->nr_events; e++) {
			int k = p->sample_index[e];

			if (k < 0 && !get_empty(p, NR_FIXED + e, NR_FIXED + e + 1))
				return false;
			if (k >= 0 && !get_u64(p, NR_FIXED + e, false, &row->s.ev[k]))
				return false;
		}
		return true;
	case REC_GROUP:
	case REC_GONE:
		if (!get_empty(p, C_TS, C_ID) || !get_u64(p, C_ID, false, &row->id) ||
		    !get_empty(p, C_VALUE, p->ncols))
			return false;
		if (row->kind == REC_GROUP && !*row->name) {
			bm_fail_at(&p->at, C_NAME + 1, "a group row without a name");
			return false;
		}
		return row->kind == REC_GROUP || get_empty(p, C_NAME, C_NAME + 1);
	case REC_CPUS: {
		uint64_t n;

		if (!p->in_interval) {
			bm_fail_at(&p->at, C_KIND + 1, "a cpus row before the first interval row");
			return false;
		}
		if (!get_empty(p, C_TS, C_NAME) || !get_empty(p, C_CPU, p->ncols) ||
		    !get_u64(p, C_VALUE, false, &n))
			return false;
		if (n < 1 || n > 1u << 20) {
			bm_fail_at(&p->at, C_VALUE + 1, "%" PRIu64 " CPUs online is out of range",
				   n);
			return false;
		}
		row->number = (double)n;
		return true;
	}
	case REC_END:
		if (!get_empty(p, C_TS, C_VALUE) || !get_empty(p, C_CPU, p->ncols))
			return false;
		p->ended = true;
		return get_double(p, C_VALUE, 0, &row->number);
	}
	return false;
}

static void on_record(int c, void *data)
{
	struct reader *p = data;
	struct record_row row;

	if (!p->at.failed) {
		if (!p->header_done) {
			header(p);
		} else if (c == -1) {
			/* We end every line: one that does not end was cut off while written. */
			bm_fail_at(&p->at, p->nfields,
				   "the last line is cut off (no end of line): the "
				   "recording is truncated; delete that line to replay "
				   "the rest");
		} else if (p->nfields != p->ncols) {
			bm_fail_at(&p->at, p->nfields < p->ncols ? p->nfields + 1 : p->ncols + 1,
				   "%d fields, the header has %d", p->nfields, p->ncols);
		} else if (parse_row(p, &row) && p->cb) {
			p->cb_ret = p->cb(&row, p->ctx);
		}
	}
	for (int i = 0; i < p->nfields; i++)
		free(p->fields[i]);
	p->nfields = 0;
}

bool record_sniff(const char *path)
{
	char buf[64] = "";
	FILE *f = open_read(path);
	static const char head[] = "kind,ts_ns,interval_s,socket,id,name,value,cpu_ns";
	bool yes;

	if (!f)
		return false;
	yes = fgets(buf, sizeof(buf), f) && !strncmp(buf, head, sizeof(head) - 1) &&
	      (buf[sizeof(head) - 1] == ',' || buf[sizeof(head) - 1] == '\n');
	fclose(f);
	return yes;
}

int record_read(const char *path, int (*cb)(const struct record_row *row, void *ctx), void *ctx,
		char *err, size_t errlen)
{
	struct reader p = { .at = { .path = path, .err = err, .errlen = errlen },
			    .cb = cb,
			    .ctx = ctx };
	struct csv_parser csv;
	char *buf = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f;

	f = open_read(path);
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno ? errno : ENOMEM));
		return -1;
	}
	csv_init(&csv, CSV_STRICT | CSV_STRICT_FINI);
	while (!p.at.failed && !p.cb_ret && (len = getline(&buf, &cap, f)) > 0) {
		p.at.line++;
		if (csv_parse(&csv, buf, (size_t)len, on_field, on_record, &p) != (size_t)len)
			bm_fail_at(&p.at, p.nfields + 1, "not CSV: %s",
				   csv_strerror(csv_error(&csv)));
	}
	if (!p.at.failed && !p.cb_ret && ferror(f))
		bm_fail_at(&p.at, 0, "%s", strerror(errno));
	if (!p.at.failed && !p.cb_ret && csv_fini(&csv, on_field, on_record, &p))
		bm_fail_at(&p.at, p.nfields + 1,
			   "the last line is cut off inside a quoted field: the "
			   "recording is truncated; delete that line to replay the rest");
	if (!p.at.failed && !p.cb_ret && !p.format_seen) {
		p.at.failed = true;
		snprintf(err, errlen, "%s: %s", path,
			 p.header_done ? "no rows after the header" : "empty, no header");
	}
	csv_free(&csv);
	fclose(f);
	free(buf);
	for (int i = 0; i < p.nfields; i++)
		free(p.fields[i]);
	free(p.fields);
	free(p.energy_seen);
	for (int e = 0; e < BM_MAX_EVENTS; e++)
		free(p.evnames[e]);
	return p.at.failed ? -1 : p.cb_ret;
}
