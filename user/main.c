// SPDX-License-Identifier: BSD-2-Clause
/*
 * bpfmeter: per-cgroup CPU time and hardware counters, charged at every context switch.
 */
#include <errno.h>
#include <linux/capability.h>
#include <linux/perf_event.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "account.h"
#include "cgroup.h"
#include "command.h"
#include "energy.h"
#include "labels.h"
#include "model.h"
#include "opts.h"
#include "output.h"
#include "record.h"
#include "replay.h"
#include "report.h"
#include "sensor.h"
#include "topology.h"
#include "util.h"

#define SYSFS_CPU "/sys/devices/system/cpu"
#define KERNEL_BTF "/sys/kernel/btf/vmlinux"

static volatile sig_atomic_t stop_signal, child_exited;

static void on_signal(int sig)
{
	if (sig == SIGCHLD)
		child_exited = 1;
	else
		stop_signal = sig;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !bm_verbose)
		return 0;
	if (level != LIBBPF_WARN && !bm_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* True when the effective set holds cap (capget's two 32-bit words). */
static int have_cap(const struct __user_cap_data_struct *d, int cap)
{
	return (d[cap / 32].effective >> (cap % 32)) & 1;
}

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

/* Say which capabilities are missing before libbpf gives a vaguer EPERM. */
static int check_privileges(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { 0 };
	char missing[128] = "";

	if (syscall(SYS_capget, &hdr, data))
		return 0; /* cannot tell: let the kernel decide */
	if (have_cap(data, CAP_SYS_ADMIN))
		return 0;
	if (!have_cap(data, CAP_BPF))
		strcat(missing, "CAP_BPF, ");
	if (!have_cap(data, CAP_PERFMON))
		strcat(missing, "CAP_PERFMON, ");
	if (!*missing)
		return 0;
	missing[strlen(missing) - 2] = '\0';
	bm_err("missing privileges: %s (or CAP_SYS_ADMIN): run as root, e.g. sudo bpfmeter",
	       missing);
	return -EPERM;
}

/* Four perf fds per CPU can exceed the usual 1024 on big hosts. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/*
 * The programs are CO-RE: libbpf relocates them against the kernel's BTF, or against --btf
 * FILE where the kernel exposes none (then only the raw_tp hook can attach).
 */
static int check_btf(const char *btf_path)
{
	struct btf *btf;

	if (!btf_path) {
		if (access(KERNEL_BTF, R_OK)) {
			bm_err("kernel BTF not found at %s (a kernel built without "
			       "CONFIG_DEBUG_INFO_BTF): pass --btf FILE with this kernel's BTF",
			       KERNEL_BTF);
			return -ENOENT;
		}
		return 0;
	}
	btf = btf__parse(btf_path, NULL);
	if (!btf) {
		bm_err("cannot read BTF from --btf %s: %s: pass a vmlinux BTF file (or an ELF "
		       "with .BTF) for this kernel",
		       btf_path, strerror(errno));
		return -EINVAL;
	}
	btf__free(btf);
	if (access(KERNEL_BTF, R_OK))
		bm_warn("kernel: no BTF at %s: relocating against --btf %s", KERNEL_BTF, btf_path);
	return 0;
}

/* A target whose cgroup is gone: kept for the session summary. */
struct departed {
	uint64_t id;
	char *name;
	struct bm_sample total;
};

struct session {
	struct bm_opts *opts;
	struct bm_topology topo;
	struct cgroup_names names;
	struct account acct;
	struct sensor sensor;
	struct bm_meta meta;
	int sample_index[BM_MAX_EVENTS];
	char host[256];
	char missing_note[512];
	struct outputs out;
	bool overflow_warned;
	struct command cmd; /* with -- CMD */
	bool have_cmd;
	int exit_status;
	double measured_j[BM_NR_DOMAINS]; /* over the session, all sockets */
	bool by_process; /* --by process: targets are processes */
	struct account pacct; /* per process */
	struct idvec pnames; /* of struct proc_name */
	char **group_names; /* names of this interval's rolled-up rows */
	size_t ngroup_names;
	struct bm_row *rows;
	size_t nrows, rows_cap;
	struct idvec departed; /* of struct departed */
	double t_start;
	struct energy_source energy;
	bool have_energy;
	struct energy_reading *readings; /* nr_sockets x BM_NR_DOMAINS */
	int nreadings;
	unsigned int energy_domains; /* bit per domain the source measures */
	struct model *models; /* [nr_sockets * BM_NR_DOMAINS] */
	unsigned int next_model_id;
	struct bm_features features;
	struct bm_model_record *records; /* one per reading */
	int cycles_idx, ref_cycles_idx; /* sample indexes, -1: no frequency layers */
	double base_mhz;
	char energy_note[1024];
	uint64_t overflow; /* slices charged to "overflow" so far */
	double t_last; /* the end of the last interval, monotonic */
	bool recording; /* --record: each interval's inputs go to rec */
	struct recorder rec;
	struct named *groups; /* --group-by groups' cgroup ids: recorded, or read back */
	size_t ngroups;
	struct replay_state *replay; /* replaying a recording, not measuring */
};

/* A name and the id it stands for. */
struct named {
	uint64_t id;
	char *name;
};

/* A process's name for --by process: "comm[tgid]", kept once it has exited. */
struct proc_name {
	uint64_t id;
	char name[48];
};

static const char *proc_name(struct session *s, uint64_t tgid)
{
	const char *special = report_special_name(tgid);
	struct proc_name *p;
	char path[64], comm[32];
	int created;

	if (special)
		return special;
	p = idvec_get(&s->pnames, tgid, &created);
	if (created) {
		snprintf(path, sizeof(path), "/proc/%llu/comm", (unsigned long long)tgid);
		if (bm_read_file(path, comm, sizeof(comm)))
			snprintf(comm, sizeof(comm), "pid");
		snprintf(p->name, sizeof(p->name), "%s[%llu]", comm, (unsigned long long)tgid);
	}
	return p->name;
}

static const char *target_name(struct session *s, uint64_t key)
{
	const char *name = report_special_name(key);

	return name ? name : cgroup_names_get(&s->names, key);
}

static void on_entry(uint64_t key, const void *percpu, void *ctx)
{
	struct session *s = ctx;

	account_update(&s->acct, key, percpu);
}

static void on_proc_entry(uint64_t key, const void *percpu, void *ctx)
{
	struct session *s = ctx;

	account_update(&s->pacct, key, percpu);
}

/* The account rows are built from: cgroups, or processes with --by process. */
static struct account *rows_account(struct session *s)
{
	return s->by_process ? &s->pacct : &s->acct;
}

static const char *recorded_name(struct session *s, uint64_t key);

static const char *row_name(struct session *s, uint64_t key)
{
	if (s->replay)
		return recorded_name(s, key);
	return s->by_process ? proc_name(s, key) : target_name(s, key);
}

static struct named *find_group(struct session *s, const char *name)
{
	for (size_t i = 0; i < s->ngroups; i++)
		if (!strcmp(s->groups[i].name, name))
			return &s->groups[i];
	return NULL;
}

static void set_group(struct session *s, const char *name, uint64_t id)
{
	struct named *g = find_group(s, name);

	if (!g) {
		s->groups = realloc(s->groups, (s->ngroups + 1) * sizeof(*s->groups));
		if (!s->groups) {
			bm_err("out of memory");
			exit(1);
		}
		g = &s->groups[s->ngroups++];
		g->name = strdup(name);
	}
	g->id = id;
}

/*
 * The cgroup id of a --group-by group (a pod's, a unit's cgroup): from the tree live, and
 * recorded where it is new; from the recording in a replay. -ENOENT when there is none.
 */
static int group_id(struct session *s, const char *key, uint64_t *id)
{
	struct named *g;
	char path[8192];

	if (s->replay) {
		g = find_group(s, key);
		if (!g)
			return -ENOENT;
		*id = g->id;
		return 0;
	}
	snprintf(path, sizeof(path), "%s%s", s->names.mount, strcmp(key, "/") ? key : "");
	if (cgroup_id_of(path, id))
		return -ENOENT;
	/* Recorded once per group, and again only if its cgroup was made anew. */
	if (s->recording && (!(g = find_group(s, key)) || g->id != *id)) {
		record_group(&s->rec, *id, key);
		set_group(s, key, *id);
	}
	return 0;
}

static void push_row(struct session *s, const struct bm_row *r)
{
	if (s->nrows == s->rows_cap) {
		s->rows_cap = s->rows_cap ? s->rows_cap * 2 : 64;
		s->rows = realloc(s->rows, s->rows_cap * sizeof(*s->rows));
		if (!s->rows) {
			bm_err("out of memory");
			exit(1);
		}
	}
	s->rows[s->nrows++] = *r;
}

/* Rows of the interval just read: one per active target per socket. */
/* A socket's features and frequency layer: the sums over the targets that ran there. */
static int socket_inputs(struct session *s, int socket, double dt, double *x)
{
	uint64_t cyc = 0, ref = 0;

	memset(x, 0, BM_MODEL_MAX_FEATURES * sizeof(*x));
	for (size_t i = 0; i < s->nrows; i++) {
		const struct bm_row *r = &s->rows[i];
		double xt[BM_MODEL_MAX_FEATURES];

		if (r->socket != socket || r->key == BM_KEY_IDLE)
			continue;
		report_features(&s->features, &r->s, dt, xt);
		for (int j = 0; j < s->features.nfeat; j++)
			x[j] += xt[j];
		if (s->cycles_idx >= 0 && s->ref_cycles_idx >= 0) {
			cyc += r->s.ev[s->cycles_idx];
			ref += r->s.ev[s->ref_cycles_idx];
		}
	}
	/* cycles / ref-cycles is the frequency relative to base while the CPUs ran. */
	return ref && s->base_mhz > 0 ? model_layer_of((double)cyc / (double)ref * s->base_mhz)
				      : -1;
}

static void free_group_names(struct session *s)
{
	for (size_t i = 0; i < s->ngroup_names; i++)
		free(s->group_names[i]);
	free(s->group_names);
	s->group_names = NULL;
	s->ngroup_names = 0;
}

/*
 * --group-by: rows of the same group and socket become one, their sums added (energy
 * included, after the split, so the groups still add up to the measurement).
 */
static void group_rows(struct session *s)
{
	enum group_by g = (enum group_by)s->opts->group_by;
	size_t out = 0;

	free_group_names(s);
	if (g == GROUP_BY_CGROUP)
		return;
	s->group_names = bm_calloc(s->nrows, sizeof(*s->group_names));
	for (size_t i = 0; i < s->nrows; i++) {
		struct bm_row r = s->rows[i];
		char key[4096];
		struct bm_labels l;
		size_t j;

		if (!report_special_name(r.key)) {
			labels_parse(r.target, &l);
			if (!labels_group_key(r.target, &l, g, s->opts->group_depth, key,
					      sizeof(key)) &&
			    strcmp(key, r.target)) {
				for (j = 0; j < out; j++)
					if (s->rows[j].socket == r.socket &&
					    !strcmp(s->rows[j].target, key))
						break;
				if (j < out) {
					report_row_add(&s->rows[j], &r);
					continue;
				}
				s->group_names[s->ngroup_names] = strdup(key);
				r.target = s->group_names[s->ngroup_names++];
				if (group_id(s, key, &r.key))
					r.key = s->rows[i].key;
			}
		}
		/* A member may already stand for its group: then merge into it. */
		for (j = 0; j < out; j++)
			if (s->rows[j].socket == r.socket && !strcmp(s->rows[j].target, r.target))
				break;
		if (j < out) {
			report_row_add(&s->rows[j], &r);
			continue;
		}
		s->rows[out++] = r;
	}
	s->nrows = out;
}

/* Each measured socket and domain through its model, and the split that conserves energy. */
static void apply_models(struct session *s, double dt)
{
	for (int i = 0; i < s->nreadings; i++) {
		const struct energy_reading *e = &s->readings[i];
		struct model *m = &s->models[e->socket * BM_NR_DOMAINS + e->domain];
		struct bm_model_record *rec = &s->records[i];
		struct model_step_result res;
		double x[BM_MODEL_MAX_FEATURES];
		int layer = socket_inputs(s, e->socket, dt, x);

		model_step(m, layer, x, dt > 0 ? e->joules / dt : 0, &res);
		*rec = (struct bm_model_record){
			.socket = e->socket,
			.domain = e->domain,
			.measured_w = dt > 0 ? e->joules / dt : 0,
			.predicted = res.predicted,
			.predicted_w = res.predicted_w,
			.error_w = res.error_w,
			.model_id = res.layer->id,
			.layer_mhz = layer,
			.samples = res.layer->n,
			.intercept_w = res.layer->fit.intercept,
		};
		memcpy(rec->coef, res.layer->fit.coef, sizeof(rec->coef));
		if (res.layer->id)
			report_split_by_model(s->rows, s->nrows, e->socket, e->domain, e->joules,
					      dt, &res.layer->fit, &s->features,
					      s->opts->idle_share, res.layer->id);
	}
}

/* The interval's raw inputs, before anything is split: what a replay starts from. */
static void record_inputs(struct session *s, int64_t ts_ns, double dt)
{
	record_interval(&s->rec, ts_ns, dt, s->overflow);
	for (int i = 0; i < s->nreadings; i++)
		record_energy(&s->rec, &s->readings[i]);
	for (size_t i = 0; i < s->nrows; i++)
		record_target(&s->rec, s->rows[i].socket, s->rows[i].key, s->rows[i].target,
			      &s->rows[i].s);
}

static void build_rows(struct session *s, int64_t ts_ns, double dt)
{
	s->nrows = 0;
	/* Resolve every name first: a walk of the tree may rename entries, never after this. */
	s->names.may_rescan = true;
	struct account *a = rows_account(s);

	for (size_t i = 0; i < a->targets.n; i++) {
		struct account_target *t = idvec_at(&a->targets, i);

		if (t->active)
			row_name(s, t->id);
	}
	for (size_t i = 0; i < a->targets.n; i++) {
		struct account_target *t = idvec_at(&a->targets, i);
		const char *name;

		if (!t->active)
			continue;
		name = row_name(s, t->id);
		for (int k = 0; k < s->topo.nr_sockets; k++) {
			struct bm_row r = {
				.target = name, .key = t->id, .socket = k, .s = t->cur[k]
			};
			bool any = r.s.cpu_ns;

			for (int e = 0; e < s->acct.nr_events; e++)
				any |= r.s.ev[e] != 0;
			if (any)
				push_row(s, &r);
		}
	}
	if (s->recording)
		record_inputs(s, ts_ns, dt);
	report_split_by_cpu(s->rows, s->nrows, s->topo.nr_sockets, s->readings, s->nreadings);
	if (s->have_energy)
		apply_models(s, dt);
	for (size_t i = 0; i < s->nrows; i++) {
		struct account_target *t = idvec_find(&a->targets, s->rows[i].key);

		for (int d = 0; d < BM_NR_DOMAINS; d++)
			t->total.energy_j[d] += s->rows[i].s.energy_j[d];
	}
	group_rows(s);
	report_sort(s->rows, s->nrows);
}

/*
 * A target ended (its cgroup removed, its process exited) and its last interval is out: keep
 * its totals for the summary and forget it.
 */
static void target_gone(struct session *s, struct account *a, uint64_t id, const char *name)
{
	struct account_target *t = idvec_find(&a->targets, id);
	struct departed *d;
	int created;

	if (s->recording && a == rows_account(s))
		record_gone(&s->rec, id);
	if (t && outputs_has_table(&s->out) && t->total.cpu_ns) {
		d = idvec_get(&s->departed, id, &created);
		if (!created)
			free(d->name); /* a pid used again */
		d->name = strdup(name);
		d->total = t->total;
	}
	account_forget(a, id);
}

/* Free the map entries of cgroups that are gone, once their last interval is out. */
static void reap_gone(struct session *s)
{
	for (size_t i = 0; i < s->acct.targets.n;) {
		struct account_target *t = idvec_at(&s->acct.targets, i);
		uint64_t id = t->id;

		if (t->active || report_special_name(id) || !cgroup_names_is_gone(&s->names, id)) {
			i++;
			continue;
		}
		bm_debug("cgroup %llu is gone: freeing its entry", (unsigned long long)id);
		sensor_delete(&s->sensor, id);
		target_gone(s, &s->acct, id, target_name(s, id));
		cgroup_names_forget(&s->names, id);
	}
	/* Processes that have exited: the same, once their last interval is out. */
	for (size_t i = 0; s->by_process && i < s->pacct.targets.n;) {
		struct account_target *t = idvec_at(&s->pacct.targets, i);
		uint64_t id = t->id;

		if (t->active || report_special_name(id) ||
		    !(kill((pid_t)id, 0) && errno == ESRCH)) {
			i++;
			continue;
		}
		sensor_delete_proc(&s->sensor, id);
		target_gone(s, &s->pacct, id, proc_name(s, id));
		idvec_remove(&s->pnames, id);
	}
}

static int emit(struct session *s, int64_t ts_ns, double dt)
{
	struct bm_interval iv = {
		.ts_real = (double)(ts_ns / 1000000000) + (double)(ts_ns % 1000000000) * 1e-9,
		.ts_ns = ts_ns,
		.interval_s = dt,
		.rows = s->rows,
		.n = s->nrows,
		.energy = s->readings,
		.nenergy = s->nreadings,
		.models = s->have_energy ? s->records : NULL,
		.overflow = s->overflow,
	};

	if (iv.overflow && !s->overflow_warned) {
		bm_warn("more than %llu cgroups ran: the rest are charged to the target "
			"\"overflow\"; raise --max-cgroups",
			(unsigned long long)s->opts->max_cgroups);
		s->overflow_warned = true;
	}
	return outputs_interval(&s->out, &s->meta, &iv);
}

static int measure_interval(struct session *s, double *t_prev)
{
	double t = bm_now_mono();
	const struct sensor_cpus *cpus;
	struct timespec end;
	int64_t ts_ns;
	int err;

	clock_gettime(CLOCK_REALTIME, &end);
	ts_ns = (int64_t)end.tv_sec * 1000000000 + end.tv_nsec;

	/* Energy first: its reading and the interval's timestamp are then microseconds apart. */
	if (s->have_energy) {
		energy_poll(&s->energy, t);
		s->nreadings = energy_take(&s->energy, s->readings);
		for (int i = 0; i < s->nreadings; i++)
			s->measured_j[s->readings[i].domain] += s->readings[i].joules;
	}
	err = sensor_update_cpus(&s->sensor, &cpus);
	if (err)
		return err;
	err = sensor_flush(&s->sensor);
	if (err)
		return err;
	account_begin(&s->acct);
	account_reset_cpus(&s->acct, cpus->reset);
	err = sensor_read(&s->sensor, on_entry, s);
	if (!err && s->by_process) {
		account_begin(&s->pacct);
		account_reset_cpus(&s->pacct, cpus->reset);
		err = sensor_read_procs(&s->sensor, on_proc_entry, s);
	}
	if (err)
		return err;
	s->overflow = sensor_overflows(&s->sensor);
	build_rows(s, ts_ns, t - *t_prev);
	err = emit(s, ts_ns, t - *t_prev);
	*t_prev = s->t_last = t;
	reap_gone(s);
	if (s->recording)
		record_flush(&s->rec);
	return err;
}

static void summary(struct session *s, double elapsed)
{
	s->nrows = 0;
	for (size_t i = 0; i < s->departed.n; i++) {
		struct departed *d = idvec_at(&s->departed, i);
		struct bm_row r = { .key = d->id,
				    .socket = -1,
				    .s = d->total,
				    .target = d->name,
				    .domains = s->energy_domains };

		push_row(s, &r);
	}
	for (size_t i = 0; i < rows_account(s)->targets.n; i++) {
		struct account_target *t = idvec_at(&rows_account(s)->targets, i);
		struct bm_row r = {
			.key = t->id, .socket = -1, .s = t->total, .domains = s->energy_domains
		};

		if (!t->total.cpu_ns)
			continue;
		r.target = row_name(s, t->id);
		push_row(s, &r);
	}
	report_sort(s->rows, s->nrows);
	outputs_summary(&s->out, &s->meta, s->rows, s->nrows, elapsed);
}

static void describe_missing(struct session *s)
{
	size_t off = 0;

	for (int i = 0; i < s->sensor.nr_missing; i++) {
		const struct sensor_missing *m = &s->sensor.missing[i];

		off += (size_t)snprintf(s->missing_note + off, sizeof(s->missing_note) - off,
					"%s%s (%s)", i ? ", " : "", s->opts->events[m->event].name,
					sensor_event_errstr(m->err));
		if (off >= sizeof(s->missing_note))
			break;
	}
	if (s->sensor.nr_missing) {
		s->meta.missing_note = s->missing_note;
		bm_warn("events not available, measuring without them: %s", s->missing_note);
	}
}

/*
 * The nominal frequency that ref-cycles and the TSC count at, where cpufreq does not give
 * base_frequency: Intel names it in the model name ("... @ 2.20GHz"). 0 when unknown.
 */
static double nominal_mhz(const char *cpuinfo)
{
	char *line = NULL, *at;
	size_t cap = 0;
	double ghz = 0;
	FILE *f = fopen(cpuinfo, "re");

	if (!f)
		return 0;
	while (getline(&line, &cap, f) > 0) {
		if (strncmp(line, "model name", 10))
			continue;
		at = strrchr(line, '@');
		if (!at || sscanf(at + 1, "%lfGHz", &ghz) != 1)
			ghz = 0;
		break;
	}
	free(line);
	fclose(f);
	return ghz * 1000;
}

/* The frequency ref-cycles count at: --base-freq, cpufreq's base_frequency, or cpuinfo's. */
static double base_mhz(const struct bm_opts *o)
{
	char buf[64];
	uint64_t khz;

	if (o->base_mhz)
		return o->base_mhz;
	if (!bm_read_file(SYSFS_CPU "/cpu0/cpufreq/base_frequency", buf, sizeof(buf)) &&
	    !bm_parse_u64(buf, 1, UINT32_MAX, &khz))
		return (double)khz / 1000;
	return nominal_mhz("/proc/cpuinfo");
}

/* The counters that drive the model (CPU time where there are none), and its layers. */
static void setup_models(struct session *s)
{
	struct bm_opts *o = s->opts;
	struct bm_features *f = &s->features;

	s->cycles_idx = s->ref_cycles_idx = -1;
	for (int e = 0; e < o->nr_events && f->nfeat < BM_MODEL_MAX_FEATURES; e++) {
		int k = s->sample_index[e];

		/* Software events (cpu-clock, faults, ...) measure the OS, not the silicon. */
		if (k < 0 || o->events[e].type == PERF_TYPE_SOFTWARE)
			continue;
		f->idx[f->nfeat] = k;
		f->name[f->nfeat++] = o->events[e].name;
		if (o->events[e].type == PERF_TYPE_HARDWARE &&
		    o->events[e].config == PERF_COUNT_HW_CPU_CYCLES)
			s->cycles_idx = k;
		if (o->events[e].type == PERF_TYPE_HARDWARE &&
		    o->events[e].config == PERF_COUNT_HW_REF_CPU_CYCLES)
			s->ref_cycles_idx = k;
	}
	if (!f->nfeat) {
		f->idx[0] = BM_FEATURE_CPU;
		f->name[0] = "cpu";
		f->nfeat = 1;
	}
	if (s->cycles_idx >= 0 && s->ref_cycles_idx >= 0 && !s->base_mhz)
		bm_warn("no base frequency in sysfs: one model layer for all frequencies; pass "
			"--base-freq MHz for frequency layers");
	s->models = bm_calloc((size_t)s->topo.nr_sockets * BM_NR_DOMAINS, sizeof(*s->models));
	for (int i = 0; i < s->topo.nr_sockets * BM_NR_DOMAINS; i++)
		model_init(&s->models[i], &o->model, f->nfeat, &s->next_model_id);
	s->records = bm_calloc((size_t)s->topo.nr_sockets * BM_NR_DOMAINS, sizeof(*s->records));
}

/* Energy from the source asked for; without one, say so once and go on with CPU shares. */
static int open_energy(struct session *s)
{
	struct bm_opts *o = s->opts;
	struct energy_paths paths = energy_default_paths;
	enum energy_kind kind = o->energy_kind;
	char why[900], what[512] = "";
	size_t off = 0;
	int err;

	s->readings = bm_calloc((size_t)s->topo.nr_sockets * BM_NR_DOMAINS, sizeof(*s->readings));
	if (kind == ENERGY_NONE) {
		snprintf(s->energy_note, sizeof(s->energy_note),
			 "not measured (--energy-source none)");
		return 0;
	}
	if (o->powercap_root) {
		/* A tree named on purpose: no silent fallback to another source. */
		paths.powercap = o->powercap_root;
		if (kind == ENERGY_AUTO)
			kind = ENERGY_POWERCAP;
	}
	err = energy_open(&s->energy, kind, &paths, &s->topo, why, sizeof(why));
	if (err) {
		if (kind != ENERGY_AUTO) {
			bm_err("no energy from %s: %s", energy_kind_name(kind), why);
			return -1;
		}
		bm_warn("no energy source found (%s): showing CPU shares, no watts", why);
		snprintf(s->energy_note, sizeof(s->energy_note), "none found (%s)", why);
		return 0;
	}
	s->have_energy = true;
	free(s->readings); /* the source may have added sockets */
	s->readings = bm_calloc((size_t)s->topo.nr_sockets * BM_NR_DOMAINS, sizeof(*s->readings));
	for (int i = 0; i < s->energy.n; i++)
		s->energy_domains |= 1u << s->energy.c[i].domain;
	for (int d = 0; d < BM_NR_DOMAINS; d++) {
		for (int i = 0; i < s->energy.n; i++) {
			if (s->energy.c[i].domain != (enum bm_domain)d)
				continue;
			off += (size_t)snprintf(what + off, sizeof(what) - off, "%s%s",
						off ? ", " : "",
						energy_domain_name((enum bm_domain)d));
			break;
		}
	}
	fprintf(stderr, "bpfmeter: energy from %s: %s on %d socket%s (%d counters)\n",
		s->energy.ops->name, what, s->topo.nr_sockets, s->topo.nr_sockets > 1 ? "s" : "",
		s->energy.n);
	return 0;
}

/*
 * Sleep until the end of the interval (or a signal). Long intervals are cut into polls of
 * the energy counters, so no counter wraps twice between two reads.
 */
static int sleep_until(struct session *s, double deadline)
{
	double poll = s->have_energy && s->energy.max_poll_s > 0 ? s->energy.max_poll_s / 2 : 0;

	for (;;) {
		double wake = poll > 0 ? fmin(deadline, s->energy.last_poll + poll) : deadline;
		struct timespec ts = { .tv_sec = (time_t)wake };
		int err;

		/* A measured command gets the signal; we go on until it has ended. */
		if (s->have_cmd && stop_signal) {
			command_forward(&s->cmd, stop_signal);
			stop_signal = 0;
		}
		if (stop_signal || (s->have_cmd && child_exited))
			return 0;
		ts.tv_nsec = (long)((wake - (double)ts.tv_sec) * 1e9);
		err = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		if (err && err != EINTR) {
			bm_err("clock_nanosleep: %s", strerror(err));
			return -1;
		}
		if (err)
			continue;
		if (wake >= deadline)
			return 0;
		energy_poll(&s->energy, bm_now_mono());
	}
}

/* perf stat's manner: what the command used, on stderr (as CSV with --csv). */
static void command_summary(struct session *s, int status)
{
	struct bm_sample sum = { 0 };
	size_t rl = strlen(s->cmd.rel);
	double wall = s->cmd.ended - s->cmd.started;
	bool csv = s->opts->csv;
	const char *estimate = "provisional split by CPU time";
	char cmdline[512] = "";
	size_t off = 0;
	FILE *f = stderr;

	for (char *const *a = s->cmd.argv; *a && off < sizeof(cmdline); a++)
		off += (size_t)snprintf(cmdline + off, sizeof(cmdline) - off, "%s%s",
					a == s->cmd.argv ? "" : " ", *a);
	for (size_t i = 0; i < s->acct.targets.n; i++) {
		struct account_target *t = idvec_at(&s->acct.targets, i);
		const char *name = report_special_name(t->id) ? NULL : target_name(s, t->id);

		/* The command's cgroup and any it made below it. */
		if (!name || strncmp(name, s->cmd.rel, rl) || (name[rl] && name[rl] != '/'))
			continue;
		sum.cpu_ns += t->total.cpu_ns;
		for (int e = 0; e < BM_MAX_EVENTS; e++)
			sum.ev[e] += t->total.ev[e];
		for (int d = 0; d < BM_NR_DOMAINS; d++)
			sum.energy_j[d] += t->total.energy_j[d];
	}
	for (int i = 0; s->have_energy && i < s->nreadings; i++)
		if (s->records[i].model_id)
			estimate = "split by the power model";
	if (csv) {
		fputs("command,exit_status,wall_s,cpu_s", f);
		for (int e = 0; e < s->opts->nr_events; e++)
			fprintf(f, ",%s", s->opts->events[e].name);
		for (int d = 0; d < BM_NR_DOMAINS; d++)
			if (s->energy_domains & (1u << d))
				fprintf(f, ",%s_energy_j,%s_power_w,host_%s_energy_j",
					energy_domain_name(d), energy_domain_name(d),
					energy_domain_name(d));
		fprintf(f, "\n\"");
		for (const char *p = cmdline; *p; p++)
			fputs(*p == '"' ? "\"\"" : (char[2]){ *p, 0 }, f);
		fprintf(f, "\",%d,%.6f,%.6f", status, wall, (double)sum.cpu_ns / 1e9);
		for (int e = 0; e < s->opts->nr_events; e++) {
			if (s->sample_index[e] < 0)
				fputc(',', f);
			else
				fprintf(f, ",%llu", (unsigned long long)sum.ev[s->sample_index[e]]);
		}
		for (int d = 0; d < BM_NR_DOMAINS; d++)
			if (s->energy_domains & (1u << d))
				fprintf(f, ",%.6f,%.6f,%.6f", sum.energy_j[d],
					wall > 0 ? sum.energy_j[d] / wall : 0, s->measured_j[d]);
		fputc('\n', f);
		return;
	}
	fprintf(f, "\n Energy and counter stats for '%s' (exit status %d):\n\n", cmdline, status);
	for (int d = 0; d < BM_NR_DOMAINS; d++) {
		if (!(s->energy_domains & (1u << d)))
			continue;
		fprintf(f, "%18.3f J   %-16s # %8.3f W average; host %.3f J (%s)\n",
			sum.energy_j[d], energy_domain_name(d),
			wall > 0 ? sum.energy_j[d] / wall : 0, s->measured_j[d], estimate);
	}
	if (!s->have_energy)
		fprintf(f, "%18s     %-16s # not measured: no energy source\n", "-", "energy");
	fprintf(f, "%18.3f s   %-16s # %8.3f CPUs used\n", (double)sum.cpu_ns / 1e9, "cpu time",
		wall > 0 ? (double)sum.cpu_ns / 1e9 / wall : 0);
	for (int e = 0; e < s->opts->nr_events; e++) {
		if (s->sample_index[e] < 0)
			fprintf(f, "%18s     %-16s # not counted: no PMU for it here\n", "-",
				s->opts->events[e].name);
		else
			fprintf(f, "%18llu     %-16s # %.3f G/s\n",
				(unsigned long long)sum.ev[s->sample_index[e]],
				s->opts->events[e].name,
				wall > 0 ? (double)sum.ev[s->sample_index[e]] / wall / 1e9 : 0);
	}
	fprintf(f, "\n%18.3f s   wall time\n\n", wall);
}

/* What every output is told about the session (hook, energy source: NULL without). */
static void set_meta(struct session *s, double interval_s, const char *hook,
		     const char *energy_source)
{
	s->meta = (struct bm_meta){
		.host = s->host,
		.events = s->opts->events,
		.nr_events = s->opts->nr_events,
		.sample_index = s->sample_index,
		.nr_online = s->topo.nr_online,
		.interval_s = interval_s,
		.hook = hook,
		.missing_note = s->missing_note[0] ? s->missing_note : NULL,
		.package_id = s->topo.package_id,
		.energy_source = energy_source,
		.energy_note = energy_source ? NULL : s->energy_note,
		.features = &s->features,
	};
}

static int open_outputs(struct session *s)
{
	return outputs_open(&s->out, &s->meta,
			    &(struct output_config){ .spool_dir = s->opts->spool_dir,
						     .spool_max = s->opts->spool_max });
}

static const char *group_by_name(const struct bm_opts *o)
{
	return o->group_by_arg ? o->group_by_arg : "cgroup";
}

/* --record: the file, and what the session measures under. */
static int start_recording(struct session *s)
{
	struct bm_opts *o = s->opts;
	struct recorder *r = &s->rec;
	const struct model_config *m = &o->model;
	char list[1024] = "";
	size_t off = 0;

	if (record_open(r, o->record_path, o->events, o->nr_events, s->sample_index))
		return -1;
	s->recording = true;
	record_meta(r, "version", "%s", BPFMETER_VERSION);
	record_meta(r, "host", "%s", s->host);
	record_meta(r, "hook", "%s", s->sensor.attach_kind);
	record_meta(r, "nr_online", "%d", s->topo.nr_online);
	record_meta(r, "interval_s", "%.17g", o->interval_s);
	record_meta(r, "sockets", "%d", s->topo.nr_sockets);
	for (int i = 0; i < s->topo.nr_sockets && off < sizeof(list); i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%d", i ? ";" : "",
					s->topo.package_id[i]);
	record_meta(r, "package_ids", "%s", list);
	if (s->missing_note[0])
		record_meta(r, "missing_note", "%s", s->missing_note);
	if (s->have_energy) {
		record_meta(r, "energy_source", "%s", s->energy.ops->name);
		off = 0;
		list[0] = '\0';
		for (int d = 0; d < BM_NR_DOMAINS && off < sizeof(list); d++)
			if (s->energy_domains & (1u << d))
				off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
							off ? ";" : "",
							energy_domain_name((enum bm_domain)d));
		record_meta(r, "domains", "%s", list);
		record_meta(r, "base_mhz", "%.17g", s->base_mhz);
	} else {
		record_meta(r, "energy_note", "%s", s->energy_note);
	}
	record_meta(r, "by", "%s", s->by_process ? "process" : "cgroup");
	record_meta(r, "group_by", "%s", group_by_name(o));
	record_meta(r, "idle", "%s", o->idle_share ? "share" : "static");
	record_meta(r, "model_window", "%d", m->window);
	record_meta(r, "model_min_samples", "%d", m->min_samples);
	record_meta(r, "model_error_window", "%d", m->error_window);
	record_meta(r, "error_threshold", "%.17g", m->error_threshold);
	record_meta(r, "tdp", "%.17g", m->tdp);
	record_meta(r, "ridge", "%.17g", m->ridge);
	record_meta(r, "forget", "%.17g", m->forget);
	record_meta(r, "forget_after", "%d", m->forget_after);
	record_meta(r, "robust_passes", "%d", m->robust_passes);
	record_meta(r, "prior", "%.17g", m->prior);
	record_meta(r, "anchor", "%.17g", m->anchor);
	record_flush(r);
	return r->failed ? -1 : 0;
}

/* The cgroup2 mount, from /proc/self/mountinfo; -1 after a one-line message. */
static int find_cgroup2(char *mount, size_t size)
{
	FILE *mi = fopen("/proc/self/mountinfo", "re");
	int err;

	if (!mi) {
		bm_err("cannot read /proc/self/mountinfo: %s (is /proc mounted?)", strerror(errno));
		return -1;
	}
	err = cgroup_find_mount(mi, mount, size);
	fclose(mi);
	if (err) {
		bm_err("no cgroup2 filesystem is mounted (none in /proc/self/mountinfo): mount one "
		       "with 'mount -t cgroup2 none /sys/fs/cgroup'");
		return -1;
	}
	return 0;
}

/* What the sensor is to load, from the options (and BPFMETER_DISABLE); -1 after a message. */
static int sensor_config_of(struct session *s, struct sensor_config *cfg)
{
	struct bm_opts *o = s->opts;
	const char *disable = getenv("BPFMETER_DISABLE");

	*cfg = (struct sensor_config){
		.events = o->events,
		.nr_events = o->nr_events,
		.max_cgroups = o->max_cgroups,
		.btf_path = o->btf_path,
		.by_process = o->by_process,
		.kernel_btf = !access(KERNEL_BTF, R_OK),
	};
	if (disable && sensor_parse_disable(disable, &cfg->disable)) {
		bm_err("BPFMETER_DISABLE=%s: expected a comma-separated list of tp_btf, test_run "
		       "and batch",
		       disable);
		return -1;
	}
	return 0;
}

/* One line of bpfmeter check: ok, fallback (works, in a lesser way) or missing. */
static void check_line(const char *status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void check_line(const char *status, const char *fmt, ...)
{
	va_list ap;

	printf("  %-9s", status);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/*
 * bpfmeter check [OPTIONS]: what this host gives bpfmeter, found the way a session finds it
 * (the same options apply: -e, --energy-source, --btf, ...), one line per feature, with the
 * fallback taken where one is missing. Exit status 0 when bpfmeter can measure here, else 1.
 */
static int check_host(struct session *s)
{
	struct bm_opts *o = s->opts;
	struct sensor_config cfg;
	char mount[4096];
	struct utsname u;
	int nfall = 0;

	uname(&u);
	printf("bpfmeter check on %s, Linux %s\n", u.nodename, u.release);
	fflush(stdout);
	if (sensor_config_of(s, &cfg))
		return 2;
	if (find_cgroup2(mount, sizeof(mount))) {
		check_line("missing", "cgroup v2: bpfmeter cannot run");
		return 1;
	}
	check_line("ok", "cgroup v2 at %s", mount);
	if (check_privileges()) {
		check_line("missing", "privileges: bpfmeter cannot load its programs");
		return 1;
	}
	check_line("ok", "privileges to load BPF programs and open perf events");
	if (check_btf(o->btf_path)) {
		check_line("missing", "BTF: bpfmeter cannot relocate its programs");
		return 1;
	}
	if (cfg.kernel_btf)
		check_line("ok", "kernel BTF at %s", KERNEL_BTF);
	else
		check_line("fallback", "no kernel BTF: relocated against --btf %s", o->btf_path);
	nfall += !cfg.kernel_btf;
	if (topology_load(&s->topo, SYSFS_CPU, libbpf_num_possible_cpus()))
		return 1;
	check_line("ok", "%d CPUs online on %d socket%s", s->topo.nr_online, s->topo.nr_sockets,
		   s->topo.nr_sockets > 1 ? "s" : "");
	raise_fd_limit();
	fflush(stdout);
	if (open_energy(s))
		return 1;
	if (s->have_energy)
		check_line("ok", "energy from %s (%d counters)", s->energy.ops->name, s->energy.n);
	else if (o->energy_kind == ENERGY_NONE)
		check_line("off", "energy: not measured (--energy-source none)");
	else
		check_line("fallback", "no energy: %s; CPU shares, no watts", s->energy_note);
	nfall += !s->have_energy && o->energy_kind != ENERGY_NONE;
	fflush(stdout);
	if (sensor_open(&s->sensor, &s->topo, &cfg)) {
		check_line("missing", "the BPF programs do not load or attach: bpfmeter cannot "
				      "measure here");
		return 1;
	}
	if (!strcmp(s->sensor.attach_kind, "tp_btf"))
		check_line("ok", "hook tp_btf/sched_switch");
	else
		check_line("fallback", "hook raw_tp/sched_switch (no tp_btf: Linux 5.5 with BTF)");
	check_line(s->sensor.batch_ok ? "ok" : "fallback", "batch map lookups%s",
		   s->sensor.batch_ok ? "" : " (Linux 5.6): key by key");
	check_line(s->sensor.flush_ok ? "ok" : "fallback", "BPF_PROG_TEST_RUN on a CPU%s",
		   s->sensor.flush_ok ? ": intervals closed on every CPU at their end"
				      : " (Linux 5.10): slices charged at the next switch");
	nfall += strcmp(s->sensor.attach_kind, "tp_btf") != 0;
	nfall += !s->sensor.batch_ok + !s->sensor.flush_ok;
	for (int e = 0; e < o->nr_events; e++) {
		const struct sensor_missing *m = NULL;

		for (int i = 0; i < s->sensor.nr_missing; i++)
			if (s->sensor.missing[i].event == e)
				m = &s->sensor.missing[i];
		if (m)
			check_line("missing", "event %s: %s (its column stays empty)",
				   o->events[e].name, sensor_event_errstr(m->err));
		else
			check_line("ok", "event %s", o->events[e].name);
	}
	printf("bpfmeter can measure here: %d fallback%s, %d of %d events\n", nfall,
	       nfall == 1 ? "" : "s", s->sensor.nr_events, o->nr_events);
	return 0;
}

static int run(struct session *s)
{
	struct bm_opts *o = s->opts;
	struct sensor_config cfg;
	double t_prev, next, end;
	char mount[4096];
	int err;

	if (find_cgroup2(mount, sizeof(mount)))
		return 1;
	if (cgroup_names_init(&s->names, mount))
		return 1;
	if (sensor_config_of(s, &cfg))
		return 2;
	if (o->command) {
		if (command_prepare(&s->cmd, mount, o->command))
			return 1;
		s->have_cmd = true;
	}
	if (cgroup_names_scan(&s->names))
		bm_warn("cannot walk the cgroup2 tree at %s: %s", mount, strerror(errno));

	/* Outputs first: a file that cannot take our rows fails before anything is loaded. */
	s->meta = (struct bm_meta){ .events = o->events, .nr_events = o->nr_events };
	if (outputs_check(&s->out, &s->meta))
		return 2;
	if (o->record_path && !access(o->record_path, F_OK)) {
		bm_err("--record %s: the file exists; a recording is never overwritten: give a "
		       "new path",
		       o->record_path);
		return 2;
	}
	if (topology_load(&s->topo, SYSFS_CPU, libbpf_num_possible_cpus()))
		return 1;
	if (check_privileges() || check_btf(o->btf_path))
		return o->btf_path && access(o->btf_path, F_OK) ? 2 : 1;
	raise_fd_limit();
	if (open_energy(s))
		return 1;

	err = sensor_open(&s->sensor, &s->topo, &cfg);
	if (err)
		return 1;
	describe_missing(s);
	bm_debug("attached %s/sched_switch; %d of %d events counting; accounting map: %llu entries "
		 "x %d CPUs x %u bytes",
		 s->sensor.attach_kind, s->sensor.nr_events, o->nr_events,
		 (unsigned long long)o->max_cgroups + 2, s->topo.nr_cpus,
		 bm_acct_size((__u32)s->sensor.nr_events));

	for (int e = 0; e < o->nr_events; e++)
		s->sample_index[e] = s->sensor.bpf_index[e];
	gethostname(s->host, sizeof(s->host) - 1);
	set_meta(s, o->interval_s, s->sensor.attach_kind,
		 s->have_energy ? s->energy.ops->name : NULL);
	account_init(&s->acct, &s->topo, s->sensor.nr_events);
	account_init(&s->pacct, &s->topo, s->sensor.nr_events);
	if (s->have_energy) {
		s->base_mhz = base_mhz(o);
		setup_models(s);
	}
	if (o->record_path && start_recording(s))
		return 1;

	/* Baseline: what was charged before the first interval began is not reported. */
	t_prev = bm_now_mono();
	if (s->have_energy)
		energy_poll(&s->energy, t_prev);
	err = sensor_flush(&s->sensor);
	if (!err)
		err = sensor_read(&s->sensor, on_entry, s);
	if (!err && s->by_process)
		err = sensor_read_procs(&s->sensor, on_proc_entry, s);
	if (err)
		return 1;
	s->t_start = s->t_last = t_prev;
	if (open_outputs(s))
		return 1;

	/* A command runs until it ends, whatever --duration says. */
	end = o->duration_s > 0 && !s->have_cmd ? t_prev + o->duration_s : INFINITY;
	next = t_prev;
	if (s->have_cmd)
		command_start(&s->cmd);
	for (;;) {
		next = fmin(next + o->interval_s, end);
		if (sleep_until(s, next))
			return 1;
		/* Interrupted or not, measure: the partial last interval is data too. */
		err = measure_interval(s, &t_prev);
		if (err == -EPIPE && !s->have_cmd)
			return 0; /* the reader of stdout went away */
		if (err && err != -EPIPE)
			return 1;
		if (s->have_cmd) {
			child_exited = 0;
			if (command_done(&s->cmd))
				break;
			/* Its last children may still be leaving: look again soon. */
			if (s->cmd.reaped)
				next = fmin(next, bm_now_mono() + 0.01 - o->interval_s);
			continue;
		}
		if (stop_signal || next >= end)
			break;
	}
	if (outputs_has_table(&s->out))
		summary(s, t_prev - s->t_start);
	if (s->have_cmd) {
		s->exit_status = command_finish(&s->cmd);
		s->have_cmd = false;
		command_summary(s, s->exit_status);
	}
	return 0;
}

/* The -o sinks; without any, the live view on a terminal and CSV on stdout otherwise. */
static int parse_outputs(struct session *s)
{
	struct bm_opts *o = s->opts;
	char err[512];

	for (int i = 0; i < o->nr_outputs; i++) {
		if (output_parse(o->outputs[i], &s->out.v[s->out.n++], err, sizeof(err))) {
			bm_err("invalid value for --output: %s", err);
			return -1;
		}
	}
	/* With a command, --csv is the summary's form and stdout is the command's. */
	if (o->command)
		return 0;
	if (o->csv && output_parse("csv:-", &s->out.v[s->out.n++], err, sizeof(err)))
		return -1;
	if (!s->out.n) {
		if (isatty(STDOUT_FILENO))
			s->out.v[s->out.n++] = (struct sink){ .kind = SINK_TABLE, .fd = -1 };
		else
			output_parse("csv:-", &s->out.v[s->out.n++], err, sizeof(err));
	}
	return 0;
}

/* Replaying a recording: the live code, fed from the file instead of the kernel. */
struct replay_state {
	const char *path;
	int argc; /* the replay's own options */
	char **argv;
	struct meta_kv {
		char *key, *value;
	} * meta; /* as recorded */
	size_t nmeta;
	struct idvec names; /* of struct named: the targets' recorded names */
	int nr_events;
	bool set_up, pending;
	int64_t ts_ns; /* the pending interval's */
	double dt, elapsed, sum_dt;
	bool have_elapsed;
	int ret; /* non-zero: stop with this status */
};

static const char *recorded_name(struct session *s, uint64_t key)
{
	struct named *n = idvec_find(&s->replay->names, key);

	return n ? n->name : "?";
}

static const char *meta_get(const struct replay_state *rp, const char *key)
{
	for (size_t i = 0; i < rp->nmeta; i++)
		if (!strcmp(rp->meta[i].key, key))
			return rp->meta[i].value;
	return NULL;
}

static double meta_num(const struct replay_state *rp, const char *key, double dflt)
{
	const char *v = meta_get(rp, key);

	return v ? strtod(v, NULL) : dflt;
}

/* Options a replay cannot change: they are what was measured. */
static int replay_check_args(int argc, char **argv)
{
	static const char *const fixed[] = {
		"-e",	      "--events",      "-i",	"--interval",	   "-d",
		"--duration", "--max-cgroups", "--btf", "--energy-source", "--powercap-root",
		"--by",	      "--record",      "--"
	};

	for (int i = 0; i < argc; i++) {
		for (size_t k = 0; k < ARRAY_SIZE(fixed); k++) {
			size_t n = strlen(fixed[k]);

			if (strncmp(argv[i], fixed[k], n) ||
			    (argv[i][n] && argv[i][n] != '=' && fixed[k][1] == '-') ||
			    (fixed[k][1] != '-' && argv[i][1] != fixed[k][1]))
				continue;
			bm_err("replay: %s does not apply: a recording replays what was measured "
			       "(see bpfmeter replay --help)",
			       fixed[k]);
			return -1;
		}
	}
	return 0;
}

/*
 * Before the first interval: the settings as recorded, overridden by the replay's own
 * options (--tdp, --error-threshold, --model-window, --base-freq, --idle, --group-by), and
 * the outputs. Returns 0, or the exit status.
 */
static int replay_setup(struct session *s)
{
	struct replay_state *rp = s->replay;
	struct bm_opts *o = s->opts;
	const char *pkgs = meta_get(rp, "package_ids"), *v;
	char *argv[32], num[4][32];
	struct bm_event events[BM_MAX_EVENTS];
	int argc = 0, nr_events = o->nr_events;

	rp->set_up = true;
	memcpy(events, o->events, sizeof(events));
	argv[argc++] = "bpfmeter";
	snprintf(num[0], sizeof(num[0]), "%.17g", meta_num(rp, "tdp", model_config_default.tdp));
	snprintf(num[1], sizeof(num[1]), "%.17g",
		 meta_num(rp, "error_threshold", model_config_default.error_threshold));
	snprintf(num[2], sizeof(num[2]), "%d",
		 (int)meta_num(rp, "model_window", model_config_default.window));
	argv[argc++] = "--tdp";
	argv[argc++] = num[0];
	argv[argc++] = "--error-threshold";
	argv[argc++] = num[1];
	argv[argc++] = "--model-window";
	argv[argc++] = num[2];
	if ((v = meta_get(rp, "idle"))) {
		argv[argc++] = "--idle";
		argv[argc++] = (char *)v;
	}
	if ((v = meta_get(rp, "group_by"))) {
		argv[argc++] = "--group-by";
		argv[argc++] = (char *)v;
	}
	if (rp->argc > (int)ARRAY_SIZE(argv) - argc - 1) {
		bm_err("replay: too many options");
		return 2;
	}
	for (int i = 0; i < rp->argc; i++)
		argv[argc++] = rp->argv[i];
	argv[argc] = NULL;
	switch (opts_parse(o, argc, argv)) {
	case OPTS_OK:
		break;
	case OPTS_EXIT_OK:
		return -1;
	default:
		return 2;
	}
	if (o->command) {
		bm_err("replay: a command cannot be run in a replay");
		return 2;
	}
	/* What was measured, as recorded. */
	memcpy(o->events, events, sizeof(events));
	o->nr_events = nr_events;
	o->model.min_samples =
		(int)meta_num(rp, "model_min_samples", model_config_default.min_samples);
	o->model.error_window =
		(int)meta_num(rp, "model_error_window", model_config_default.error_window);
	o->model.ridge = meta_num(rp, "ridge", model_config_default.ridge);
	o->model.forget = meta_num(rp, "forget", model_config_default.forget);
	o->model.forget_after =
		(int)meta_num(rp, "forget_after", model_config_default.forget_after);
	o->model.robust_passes =
		(int)meta_num(rp, "robust_passes", model_config_default.robust_passes);
	o->model.prior = meta_num(rp, "prior", model_config_default.prior);
	o->model.anchor = meta_num(rp, "anchor", model_config_default.anchor);
	if (o->model.min_samples < 2 || o->model.min_samples > o->model.window ||
	    o->model.error_window < 1 || o->model.error_window > 256 || o->model.ridge < 0 ||
	    !(o->model.forget > 0 && o->model.forget <= 1) || o->model.forget_after < 0 ||
	    o->model.robust_passes < 0 || o->model.robust_passes > 10 || !(o->model.prior >= 0) ||
	    !(o->model.anchor >= 0)) {
		bm_err("%s: its model settings are out of range (model_min_samples, "
		       "model_error_window, ridge, forget, forget_after, robust_passes, prior, "
		       "anchor)",
		       rp->path);
		return 2;
	}
	bm_verbose = o->verbose;
	s->by_process = (v = meta_get(rp, "by")) && !strcmp(v, "process");

	s->topo.nr_sockets = (int)meta_num(rp, "sockets", 0);
	s->topo.package_id = bm_calloc((size_t)s->topo.nr_sockets, sizeof(int));
	for (int i = 0; i < s->topo.nr_sockets; i++) {
		char *end;

		s->topo.package_id[i] = pkgs ? (int)strtol(pkgs, &end, 10) : i;
		if (pkgs)
			pkgs = *end == ';' ? end + 1 : end;
	}
	s->topo.nr_online = (int)meta_num(rp, "nr_online", 0);
	snprintf(s->host, sizeof(s->host), "%s", (v = meta_get(rp, "host")) ? v : "");
	if ((v = meta_get(rp, "missing_note")))
		snprintf(s->missing_note, sizeof(s->missing_note), "%s", v);
	s->have_energy = meta_get(rp, "energy_source") != NULL;
	if ((v = meta_get(rp, "energy_note")))
		snprintf(s->energy_note, sizeof(s->energy_note), "%s", v);
	for (int d = 0; d < BM_NR_DOMAINS && (v = meta_get(rp, "domains")); d++) {
		const char *name = energy_domain_name((enum bm_domain)d);
		size_t n = strlen(name);

		for (const char *p = v; p; p = strchr(p, ';') ? strchr(p, ';') + 1 : NULL)
			if (!strncmp(p, name, n) && (p[n] == ';' || !p[n]))
				s->energy_domains |= 1u << d;
	}
	set_meta(s, meta_num(rp, "interval_s", 1), (v = meta_get(rp, "hook")) ? v : "",
		 meta_get(rp, "energy_source"));
	account_init(&s->acct, &s->topo, rp->nr_events);
	account_init(&s->pacct, &s->topo, rp->nr_events);
	s->readings = bm_calloc((size_t)s->topo.nr_sockets * BM_NR_DOMAINS, sizeof(*s->readings));
	if (s->have_energy) {
		s->base_mhz = o->base_mhz ? o->base_mhz : meta_num(rp, "base_mhz", 0);
		setup_models(s);
	}
	if (parse_outputs(s) || outputs_check(&s->out, &s->meta))
		return 2;
	return open_outputs(s) ? 1 : 0;
}

/* The pending interval through the live code. */
static int replay_flush(struct session *s)
{
	struct replay_state *rp = s->replay;
	int err;

	if (!rp->pending)
		return 0;
	rp->pending = false;
	rp->sum_dt += rp->dt;
	build_rows(s, rp->ts_ns, rp->dt);
	err = emit(s, rp->ts_ns, rp->dt);
	if (err == -EPIPE)
		return -1; /* the reader of stdout went away: stop, as live */
	return 0;
}

static int replay_row(const struct record_row *row, void *ctx)
{
	struct session *s = ctx;
	struct replay_state *rp = s->replay;
	struct account *a = rows_account(s);
	struct named *n;
	int created;

	if (!rp->set_up && row->kind != REC_META && row->kind != REC_EVENT &&
	    (rp->ret = replay_setup(s)))
		return 1;
	switch (row->kind) {
	case REC_META:
		rp->meta = realloc(rp->meta, (rp->nmeta + 1) * sizeof(*rp->meta));
		if (!rp->meta) {
			bm_err("out of memory");
			exit(1);
		}
		rp->meta[rp->nmeta++] =
			(struct meta_kv){ .key = strdup(row->name), .value = strdup(row->value) };
		break;
	case REC_EVENT:
		s->opts->events[s->opts->nr_events] = row->event;
		s->sample_index[s->opts->nr_events++] = row->counted ? rp->nr_events++ : -1;
		break;
	case REC_INTERVAL:
		if (replay_flush(s))
			return 1;
		account_begin(a);
		s->nreadings = 0;
		rp->ts_ns = row->ts_ns;
		rp->dt = row->interval_s;
		s->overflow = row->id;
		rp->pending = true;
		break;
	case REC_ENERGY:
		if (!s->have_energy)
			break;
		s->readings[s->nreadings++] = (struct energy_reading){ .socket = row->socket,
								       .domain = row->domain,
								       .joules = row->number };
		s->measured_j[row->domain] += row->number;
		break;
	case REC_TARGET:
		account_add(a, row->id, row->socket, &row->s);
		n = idvec_get(&rp->names, row->id, &created);
		/* A cgroup renamed (or a pid used again): the newest name. */
		if (created || strcmp(n->name, row->name)) {
			if (!created)
				free(n->name);
			n->name = strdup(row->name);
		}
		break;
	case REC_GROUP:
		set_group(s, row->name, row->id);
		break;
	case REC_GONE:
		if (replay_flush(s))
			return 1;
		if (idvec_find(&a->targets, row->id))
			target_gone(s, a, row->id, recorded_name(s, row->id));
		break;
	case REC_END:
		if (replay_flush(s))
			return 1;
		rp->elapsed = row->number;
		rp->have_elapsed = true;
		break;
	}
	return 0;
}

/* bpfmeter replay RECORDING [OPTIONS]: the recorded session again, through the live code. */
static int replay_recording(struct session *s, int argc, char **argv)
{
	struct replay_state rp = { .path = argv[1], .argc = argc - 2, .argv = argv + 2 };
	char err[1024];
	int ret;

	idvec_init(&rp.names, sizeof(struct named));
	memset(s->opts, 0, sizeof(*s->opts));
	s->replay = &rp;
	ret = replay_check_args(rp.argc, rp.argv) ? 2 : 0;
	/* The whole file is checked first: a bad line stops it before any output is made. */
	if (!ret && record_read(rp.path, NULL, NULL, err, sizeof(err))) {
		bm_err("%s", err);
		ret = 2;
	}
	if (!ret && record_read(rp.path, replay_row, s, err, sizeof(err)) < 0) {
		bm_err("%s", err);
		ret = 2;
	}
	if (!ret && rp.ret)
		ret = rp.ret < 0 ? 0 : rp.ret; /* -1: --help was shown */
	else if (!ret && !rp.set_up && (rp.ret = replay_setup(s)))
		ret = rp.ret < 0 ? 0 : rp.ret;
	else if (!ret && !replay_flush(s) && outputs_has_table(&s->out))
		summary(s, rp.have_elapsed ? rp.elapsed : rp.sum_dt);
	for (size_t i = 0; i < rp.nmeta; i++) {
		free(rp.meta[i].key);
		free(rp.meta[i].value);
	}
	free(rp.meta);
	for (size_t i = 0; i < rp.names.n; i++)
		free(((struct named *)idvec_at(&rp.names, i))->name);
	idvec_free(&rp.names);
	s->replay = NULL;
	return ret;
}

int main(int argc, char **argv)
{
	struct bm_opts opts;
	struct session s = { .opts = &opts };

	struct sigaction sa = { .sa_handler = on_signal };
	int ret;

	idvec_init(&s.departed, sizeof(struct departed));
	idvec_init(&s.pnames, sizeof(struct proc_name));
	if (argc > 1 && !strcmp(argv[1], "replay")) {
		/* A recording of a session, wherever it is named: replayed through the live code.
		 */
		for (int i = 2; i < argc; i++) {
			char *rec = argv[i];

			if (rec[0] == '-' || !record_sniff(rec))
				continue;
			memmove(&argv[3], &argv[2], (size_t)(i - 2) * sizeof(*argv));
			argv[2] = rec;
			signal(SIGPIPE, SIG_IGN);
			ret = replay_recording(&s, argc - 1, argv + 1);
			goto out;
		}
		/* A node-level trace: a subcommand of its own, nothing of the meter needed. */
		return replay_main(argc - 1, argv + 1);
	}
	if (argc > 1 && !strcmp(argv[1], "check")) {
		ret = opts_parse(&opts, argc - 1, argv + 1);
		if (ret == OPTS_EXIT_OK)
			return 0;
		if (ret != OPTS_OK)
			return 2;
		bm_verbose = opts.verbose;
		libbpf_set_print(libbpf_print);
		ret = check_host(&s);
		goto out;
	}
	ret = opts_parse(&opts, argc, argv);
	if (ret == OPTS_EXIT_OK)
		return 0;
	if (ret != OPTS_OK)
		return 2;
	bm_verbose = opts.verbose;
	s.by_process = opts.by_process;
	libbpf_set_print(libbpf_print);
	if (parse_outputs(&s))
		return 2;

	/* No SA_RESTART: the interval sleep wakes up to report the last, partial interval. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	ret = run(&s);
	if (s.recording && record_close(&s.rec, s.t_last - s.t_start) && !ret)
		ret = 1;
	if (s.have_cmd) /* measuring failed: the command never ran; clean its cgroup */
		command_finish(&s.cmd);
	else if (opts.command && !ret)
		ret = s.exit_status;

out:
	/* SIGTERM or not, give InfluxDB a few seconds; what it does not take stays spooled. */
	outputs_close(&s.out, 5);
	sensor_close(&s.sensor);
	energy_close(&s.energy);
	free(s.readings);
	if (s.models)
		for (int i = 0; i < s.topo.nr_sockets * BM_NR_DOMAINS; i++)
			model_free(&s.models[i]);
	free(s.models);
	free(s.records);
	free_group_names(&s);
	account_free(&s.acct);
	account_free(&s.pacct);
	idvec_free(&s.pnames);
	cgroup_names_free(&s.names);
	topology_free(&s.topo);
	for (size_t i = 0; i < s.departed.n; i++)
		free(((struct departed *)idvec_at(&s.departed, i))->name);
	idvec_free(&s.departed);
	free(s.rows);
	for (size_t i = 0; i < s.ngroups; i++)
		free(s.groups[i].name);
	free(s.groups);
	return ret;
}
