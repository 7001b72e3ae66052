// SPDX-License-Identifier: BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfmeter.h"
#include "bpfmeter.skel.h"
#include "caps.h"
#include "core_btf.h"
#include "kbtf.h"
#include "sensor.h"
#include "util.h"

/* The BPF side reads counters into struct bm_counter in place of the UAPI struct. */
_Static_assert(sizeof(struct bm_counter) == sizeof(struct bpf_perf_event_value) &&
		       offsetof(struct bm_counter, running) ==
			       offsetof(struct bpf_perf_event_value, running),
	       "struct bm_counter must match struct bpf_perf_event_value");

/*
 * Whether the machine has a CPU PMU at all, as the kernel lists PMUs in sysfs: x86's "cpu"
 * (or the hybrid "cpu_core" and "cpu_atom"), Arm's "armv8_pmuv3_0" and the like, RISC-V's.
 */
bool sensor_have_cpu_pmu(const char *devices)
{
	static const char *const names[] = { "cpu", "cpu_core", "cpu_atom" };
	static const char *const prefixes[] = { "armv", "arm_", "riscv" };
	struct dirent *d;
	bool found = false;
	DIR *dir = opendir(devices);

	if (!dir)
		return false;
	while (!found && (d = readdir(dir))) {
		for (size_t i = 0; i < ARRAY_SIZE(names); i++)
			found |= !strcmp(d->d_name, names[i]);
		for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
			found |= !strncmp(d->d_name, prefixes[i], strlen(prefixes[i]));
	}
	closedir(dir);
	return found;
}

const char *sensor_event_errstr(int err)
{
	static int pmu = -1;

	switch (err) {
	case ENOENT:
	case ENODEV:
		/*
		 * Both where there is no PMU (most VMs) and where the PMU has no such event
		 * (qemu's Arm PMUv3 counts cycles and instructions, cache-misses is ENOENT):
		 * sysfs tells which.
		 */
		if (pmu < 0)
			pmu = sensor_have_cpu_pmu("/sys/bus/event_source/devices");
		return pmu ? "not counted by this CPU's PMU (it has no such event)"
			   : "no PMU (this machine has none: most VMs)";
	case EOPNOTSUPP:
		return "not supported by this CPU or hypervisor";
	case EACCES:
	case EPERM:
		return "permission denied (needs CAP_PERFMON)";
	case EINVAL:
		return "rejected by the kernel (unknown type or config)";
	case EMFILE:
	case ENFILE:
		return "too many open files (raise ulimit -n)";
	default:
		return strerror(err);
	}
}

/* One event counting everything on one CPU. */
static int perf_open(const struct bm_event *ev, int cpu)
{
	struct perf_event_attr attr = { .type = ev->type, .config = ev->config };

	return bm_perf_event_open(&attr, -1, cpu, -1, 0);
}

/* Open each requested event on every online CPU; an event that fails anywhere is left out. */
static int open_events(struct sensor *s)
{
	const struct bm_topology *topo = s->topo;
	int n = 0;

	s->fds =
		bm_calloc((size_t)(s->nr_req ? s->nr_req : 1) * (size_t)topo->nr_cpus, sizeof(int));
	for (int i = 0; i < s->nr_req * topo->nr_cpus; i++)
		s->fds[i] = -1;
	for (int e = 0; e < s->nr_req; e++) {
		int *row = &s->fds[n * topo->nr_cpus];
		int err = 0;

		for (int cpu = 0; cpu < topo->nr_cpus && !err; cpu++) {
			if (!topo->online[cpu])
				continue;
			row[cpu] = perf_open(&s->req[e], cpu);
			if (row[cpu] < 0) {
				err = -row[cpu];
				row[cpu] = -1;
			}
		}
		if (err) {
			for (int cpu = 0; cpu < topo->nr_cpus; cpu++) {
				if (row[cpu] >= 0)
					close(row[cpu]);
				row[cpu] = -1;
			}
			s->bpf_index[e] = -1;
			s->missing[s->nr_missing++] =
				(struct sensor_missing){ .event = e, .err = err };
			bm_debug("event %s: perf_event_open failed: %s", s->req[e].name,
				 strerror(err));
			continue;
		}
		s->bpf_index[e] = n++;
	}
	s->nr_events = n;
	return 0;
}

/* The fewest entries of an accounting map (they are grown and shrunk as pairs run). */
#define ACCTS_MIN_ENTRIES 1024u
/* The most entries of one accounting map, whatever --max-cgroups says. */
#define ACCTS_MAX_ENTRIES (1u << 26)
/* Drains in a row below a quarter of the map's size before it shrinks. */
#define ACCTS_SHRINK_AFTER 30

/*
 * n entries and a quarter as many again, in whole pages of entries: pairs stay in the map from
 * one interval to the next, so it fills only with pairs that are new.
 */
static uint32_t room_for(uint64_t n, uint32_t max)
{
	uint64_t want = (n + n / 4 + 255) & ~(uint64_t)255;

	if (want < ACCTS_MIN_ENTRIES)
		want = ACCTS_MIN_ENTRIES;
	return want > max ? max : (uint32_t)want;
}

/* A preallocated hash of (target, CPU) pairs, as the template the BPF side was loaded with. */
static int acct_map_create(const struct sensor *s, int kind, uint32_t entries)
{
	static const char *const names[] = { "bm_acct_cgroup", "bm_acct_proc" };

	return bpf_map_create(BPF_MAP_TYPE_HASH, names[kind], sizeof(struct bm_key),
			      (__u32)s->value_size, entries, NULL);
}

/*
 * Put a new map of entries pairs in the kind's slot. The one it replaces may still be written
 * until the next flush round: it is kept, to be emptied and closed at the next read.
 */
static int acct_map_replace(struct sensor *s, int kind, uint32_t entries)
{
	struct sensor_acct_map *m = &s->acct[kind];
	__u32 key = (__u32)kind;
	int fd = acct_map_create(s, kind, entries);

	if (fd < 0)
		return -errno;
	if (bpf_map_update_elem(s->accts_fd, &key, &fd, BPF_ANY)) {
		int err = -errno;

		close(fd);
		return err;
	}
	m->old_fd = m->fd;
	m->fd = fd;
	m->entries = entries;
	m->low = 0;
	return 0;
}

static int create_acct_maps(struct sensor *s, const struct sensor_config *cfg)
{
	/* One pair for each cgroup there is, until the first drains say what runs. */
	uint32_t entries = room_for(cfg->expected_targets, s->max_entries);

	for (int kind = 0; kind < BM_NR_KINDS; kind++) {
		int err;

		if (kind == BM_KIND_PROC && !cfg->by_process)
			continue;
		err = acct_map_replace(s, kind, entries);
		if (err)
			return err;
	}
	return 0;
}

static int fill_event_array(struct sensor *s)
{
	int map_fd = bpf_map__fd(s->skel->maps.events);

	for (int e = 0; e < s->nr_events; e++) {
		for (int cpu = 0; cpu < s->topo->nr_cpus; cpu++) {
			int fd = s->fds[e * s->topo->nr_cpus + cpu];
			__u32 slot = (__u32)(e * s->topo->nr_cpus + cpu);

			if (fd < 0)
				continue;
			if (bpf_map_update_elem(map_fd, &slot, &fd, BPF_ANY))
				return -errno;
		}
	}
	return 0;
}

/* The per-CPU statistics of the BPF side into st[topo->nr_cpus]. */
static int read_stats(struct sensor *s, struct bm_stats *st)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(s->stats_fd, &zero, st) ? -errno : 0;
}

/*
 * With the kernel's BTF at hand (kbtf), libbpf relocates against the part of it the programs
 * name (in a memory file), and finds the tp_btf hook's type through btf_id: it parses the
 * whole BTF for neither, which took 11 MB at the peak of a start.
 */
static int load(struct sensor *s, const struct sensor_config *cfg, bool use_btf,
		const struct kbtf *kbtf, int btf_id, int mkdir_id)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = cfg->btf_path);
	struct bpfmeter_bpf *skel;
	char core_path[32];
	int err, tmpl, core_fd = -1;

	if (kbtf && !cfg->btf_path)
		core_fd = kbtf_min_core(kbtf, bm_core_btf, sizeof(bm_core_btf));
	if (core_fd >= 0) {
		snprintf(core_path, sizeof(core_path), "/proc/self/fd/%d", core_fd);
		oo.btf_custom_path = core_path;
	} else if (kbtf) {
		bm_debug("kernel BTF: no minimal BTF (%s): libbpf parses the whole",
			 strerror(-core_fd));
	}
	if (use_btf && btf_id > 0)
		kbtf_tp_btf_handler("tp_btf/sched_switch", btf_id);
	if (s->mkdir_ok && mkdir_id > 0)
		kbtf_tp_btf_handler("tp_btf/cgroup_mkdir", mkdir_id);
	skel = bpfmeter_bpf__open_opts(&oo);
	if (!skel) {
		err = -errno;
		if (core_fd >= 0)
			close(core_fd);
		return err;
	}
	skel->rodata->nr_events = (__u32)s->nr_events;
	skel->rodata->nr_cpu_slots = (__u32)s->topo->nr_cpus;
	bpf_map__set_max_entries(skel->maps.events,
				 (__u32)(s->nr_events ? s->nr_events * s->topo->nr_cpus : 1));
	bpf_map__set_value_size(skel->maps.fixed, (__u32)s->acct_size);
	skel->rodata->by_process = cfg->by_process;
	bpf_program__set_autoload(skel->progs.switch_btf, use_btf);
	bpf_program__set_autoload(skel->progs.switch_raw, !use_btf);
	bpf_program__set_autoload(skel->progs.cpu_bringup, s->cpuhp_ok);
	bpf_program__set_autoload(skel->progs.cgroup_mkdir, s->mkdir_ok);
	/* bpf_loop (Linux 5.17) spares the verifier a walk of the bounded loop's every turn. */
	s->loop_ok =
		libbpf_probe_bpf_helper(BPF_PROG_TYPE_RAW_TRACEPOINT, BPF_FUNC_loop, NULL) == 1;
	bpf_program__set_autoload(skel->progs.flush, !s->loop_ok);
	bpf_program__set_autoload(skel->progs.flush_loop, s->loop_ok);
	bpf_map__set_autocreate(skel->maps.mkdirs, s->mkdir_ok);
	bpf_map__set_autocreate(skel->maps.mkdir_scratch, s->mkdir_ok);
	/* The verifier checks the accesses against the template's value size. */
	tmpl = acct_map_create(s, BM_KIND_CGROUP, 1);
	if (tmpl < 0 || bpf_map__set_inner_map_fd(skel->maps.accts, tmpl)) {
		err = -errno;
		if (tmpl >= 0)
			close(tmpl);
		bpfmeter_bpf__destroy(skel);
		return err;
	}
	err = bpfmeter_bpf__load(skel);
	close(tmpl);
	if (core_fd >= 0)
		close(core_fd);
	if (err) {
		bpfmeter_bpf__destroy(skel);
		return err;
	}
	s->skel = skel;
	return 0;
}

int sensor_parse_disable(const char *str, unsigned int *out)
{
	static const struct {
		const char *name;
		unsigned int bit;
	} names[] = {
		{ "tp_btf", SENSOR_NO_TP_BTF },
		{ "test_run", SENSOR_NO_TEST_RUN },
		{ "batch", SENSOR_NO_BATCH },
		{ "cpuhp", SENSOR_NO_CPUHP },
	};
	const char *p = str;

	*out = 0;
	while (*p) {
		size_t len = strcspn(p, ","), i;

		for (i = 0; i < ARRAY_SIZE(names); i++)
			if (len == strlen(names[i].name) && !strncmp(p, names[i].name, len))
				break;
		if (i == ARRAY_SIZE(names))
			return -EINVAL;
		*out |= names[i].bit;
		p += len + (p[len] == ',');
	}
	return 0;
}

/* errno of BPF commands a kernel does not have for a program type (kernel-internal 524). */
#define ENOTSUPP_KERNEL 524

static bool unsupported(int err)
{
	return err == -EINVAL || err == -EOPNOTSUPP || err == -ENOTSUPP_KERNEL;
}

/*
 * tp_btf/sched_switch needs BPF_PROG_TYPE_TRACING programs and the kernel's BTF of the
 * tracepoint (Linux 5.5). Probe for it with an empty tracing program against the
 * tracepoint's BTF id: a trial load of the real program would take a verifier failure of it
 * for a missing feature and hide it behind the fallback.
 */
static int probe_tp_btf(const struct kbtf *kbtf, int *btf_id)
{
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_RAW_TP);
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int id, fd;

	/* libbpf_find_vmlinux_btf_id() would parse the kernel's BTF again, all of it. */
	if (kbtf)
		id = kbtf_find(kbtf, "btf_trace_sched_switch", BTF_KIND_TYPEDEF);
	else
		id = libbpf_find_vmlinux_btf_id("sched_switch", BPF_TRACE_RAW_TP);
	if (id < 0)
		return id;
	*btf_id = id;
	opts.attach_btf_id = (__u32)id;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, NULL, "GPL", insns, ARRAY_SIZE(insns), &opts);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

/*
 * The CPU bringup hook writes the state of the CPU coming up from the CPU that brings it up,
 * with bpf_map_lookup_percpu_elem (Linux 5.19). Without it, a CPU's time away is charged
 * where it comes back, and left out of the accounts by account_reset_cpus() with all else
 * that ran there in that interval; a CPU that goes offline and back within one interval is
 * not seen at all (its time away charged, its perf events dead).
 */
static bool probe_cpuhp(const struct sensor_config *cfg)
{
	const char *why = "disabled by BPFMETER_DISABLE";
	int ret = 0;

	if (!(cfg->disable & SENSOR_NO_CPUHP)) {
		ret = libbpf_probe_bpf_helper(BPF_PROG_TYPE_RAW_TRACEPOINT,
					      BPF_FUNC_map_lookup_percpu_elem, NULL);
		why = ret < 0 ? strerror(-ret) : "no bpf_map_lookup_percpu_elem";
	}
	if (ret != 1)
		bm_debug("kernel: no CPU bringup hook (%s; Linux 5.19): a CPU that comes online "
			 "is not counted in the interval it came in",
			 why);
	return ret == 1;
}

/*
 * The cgroup_mkdir hook passes each new cgroup's path on through a ring buffer (Linux 5.8):
 * without it, a cgroup is named by a walk of the tree, which one that lived less than an
 * interval may escape (it is then "cgroup-<id>").
 */
static bool probe_mkdir(const struct kbtf *kbtf, bool use_btf, int *btf_id)
{
	const char *why = NULL;

	/* libbpf_find_vmlinux_btf_id() would parse the kernel's BTF again, all of it. */
	*btf_id = !use_btf ? -ENOENT
		  : kbtf   ? kbtf_find(kbtf, "btf_trace_cgroup_mkdir", BTF_KIND_TYPEDEF)
			   : libbpf_find_vmlinux_btf_id("cgroup_mkdir", BPF_TRACE_RAW_TP);
	if (!use_btf)
		why = "no tp_btf";
	else if (*btf_id < 0)
		why = "no cgroup_mkdir tracepoint in the kernel's BTF";
	else if (libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) != 1)
		why = "no BPF ring buffer (Linux 5.8)";
	if (why)
		bm_debug("kernel: no cgroup_mkdir hook (%s): new cgroups are named by walking the "
			 "tree",
			 why);
	return !why;
}

static int on_mkdir(void *ctx, void *data, size_t size)
{
	struct sensor *s = ctx;
	struct bm_mkdir *m = data;

	/* The path comes with its NUL, as bpf_probe_read_kernel_str() counts it. */
	if (s->mkdir_fn && size > sizeof(m->id) && size <= sizeof(*m) && !((char *)data)[size - 1])
		s->mkdir_fn(m->id, m->path, s->mkdir_ctx);
	return 0;
}

static void attach_mkdir(struct sensor *s)
{
	if (!s->mkdir_ok)
		return;
	s->mkdir_link = bpf_program__attach(s->skel->progs.cgroup_mkdir);
	if (s->mkdir_link)
		s->mkdir_rb =
			ring_buffer__new(bpf_map__fd(s->skel->maps.mkdirs), on_mkdir, s, NULL);
	if (!s->mkdir_rb) {
		bm_debug("kernel: cannot attach tp_btf/cgroup_mkdir (%s): new cgroups are named by "
			 "walking the tree",
			 strerror(errno));
		bpf_link__destroy(s->mkdir_link);
		s->mkdir_link = NULL;
		s->mkdir_ok = false;
	}
}

int sensor_poll_cgroups(struct sensor *s, sensor_mkdir_fn fn, void *ctx)
{
	int n;

	if (!s->mkdir_rb)
		return 0;
	s->mkdir_fn = fn;
	s->mkdir_ctx = ctx;
	n = ring_buffer__consume(s->mkdir_rb);
	s->mkdir_fn = NULL;
	return n < 0 ? n : 0;
}

/* Attach the bringup hook and take the bringup counts so far; without it, the fallback. */
static void attach_cpuhp(struct sensor *s)
{
	struct bm_stats *st = bm_calloc((size_t)s->topo->nr_cpus, sizeof(*st));

	if (s->cpuhp_ok) {
		s->cpuhp_link = bpf_program__attach(s->skel->progs.cpu_bringup);
		if (!s->cpuhp_link) {
			bm_debug("kernel: cannot attach raw_tp/cpuhp_enter (%s): a CPU that comes "
				 "online is not counted in the interval it came in",
				 strerror(errno));
			s->cpuhp_ok = false;
		}
	}
	if (s->cpuhp_ok && !read_stats(s, st))
		for (int cpu = 0; cpu < s->topo->nr_cpus; cpu++)
			s->cpu_up[cpu] = st[cpu].cpu_up;
	free(st);
}

/*
 * The teardown hook has a CPU going offline close its time at its last switches, as the flush
 * would, so only where the flush runs: without it, the CPU's idle time since the last flush is
 * charged to no one.
 */
static void attach_teardown(struct sensor *s)
{
	if (!s->flush_ok)
		return;
	s->teardown_link = bpf_program__attach(s->skel->progs.cpu_teardown);
	if (!s->teardown_link)
		bm_debug("kernel: cannot attach raw_tp/cpuhp_enter (%s): a CPU that goes offline "
			 "leaves its idle time since the last interval uncharged",
			 strerror(errno));
}

/* Batch lookups (Linux 5.6) on the accounting map: one empty batch says whether they work. */
static void probe_batch(struct sensor *s, const struct sensor_config *cfg)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	void *val = bm_calloc(1, s->value_size);
	struct bm_key key, out_batch;
	__u32 count = 1;
	int err = 0;

	if (cfg->disable & SENSOR_NO_BATCH)
		err = -EOPNOTSUPP;
	else if (bpf_map_lookup_batch(s->acct[BM_KIND_CGROUP].fd, NULL, &out_batch, &key, val,
				      &count, &opts))
		err = -errno;
	free(val);
	s->batch_ok = !unsupported(err);
	if (!s->batch_ok)
		bm_warn("kernel: no batch map lookups (%s; Linux 5.6): reading the accounting map "
			"key by key",
			cfg->disable & SENSOR_NO_BATCH ? "disabled by BPFMETER_DISABLE"
						       : strerror(-err));
}

/*
 * BPF_PROG_TEST_RUN of the flush program on a chosen CPU (Linux 5.10) closes each interval
 * on every CPU at its end. Without it the running slice is charged at the CPU's next switch.
 */
static int probe_flush(struct sensor *s, const struct sensor_config *cfg)
{
	int err = 0, cpu = topology_first_cpu(s->topo, 0);
	LIBBPF_OPTS(bpf_test_run_opts, opts, .flags = BPF_F_TEST_RUN_ON_CPU,
		    .cpu = (__u32)(cpu < 0 ? 0 : cpu));

	if (cfg->disable & SENSOR_NO_TEST_RUN)
		err = -EOPNOTSUPP;
	else if (bpf_prog_test_run_opts(s->flush_fd, &opts))
		err = -errno;
	s->flush_ok = !unsupported(err);
	if (!s->flush_ok) {
		bm_warn("kernel: no BPF_PROG_TEST_RUN on a CPU (%s; Linux 5.10): each CPU's "
			"interval ends at its next context switch instead of at the interval's end",
			cfg->disable & SENSOR_NO_TEST_RUN ? "disabled by BPFMETER_DISABLE"
							  : strerror(-err));
		return 0;
	}
	return err;
}

int sensor_open(struct sensor *s, struct bm_topology *topo, const struct sensor_config *cfg)
{
	char missing[128], refused[512];
	struct bpf_program *prog;
	const char *why = NULL;
	struct kbtf *kbtf = NULL;
	bool use_btf = false;
	int err, btf_id = 0, mkdir_id = 0;

	memset(s, 0, sizeof(*s));
	for (int i = 0; i < BM_NR_KINDS; i++)
		s->acct[i].fd = s->acct[i].old_fd = -1;
	s->topo = topo;
	s->req = cfg->events;
	s->nr_req = cfg->nr_events;
	open_events(s);
	s->value_size = bm_pair_size((__u32)s->nr_events);
	s->acct_size = bm_acct_size((__u32)s->nr_events);
	s->stride = (s->acct_size + 7) & ~(size_t)7;
	s->max_entries = cfg->max_cgroups * (uint64_t)topo->nr_cpus > ACCTS_MAX_ENTRIES
				 ? ACCTS_MAX_ENTRIES
				 : (uint32_t)(cfg->max_cgroups * (uint64_t)topo->nr_cpus);
	s->cpu_up = bm_calloc((size_t)topo->nr_cpus, sizeof(*s->cpu_up));
	s->cpus.up = bm_calloc((size_t)topo->nr_cpus, 5 * sizeof(bool));
	s->cpus.down = s->cpus.up + topo->nr_cpus;
	s->cpus.unknown = s->cpus.down + topo->nr_cpus;
	s->cpus.no_counters = s->cpus.unknown + topo->nr_cpus;
	s->cpus.reset = s->cpus.no_counters + topo->nr_cpus;

	/* tp_btf is the cheaper hook: probe for it, then load only the twin chosen. */
	if (cfg->disable & SENSOR_NO_TP_BTF) {
		why = "disabled by BPFMETER_DISABLE";
	} else if (!cfg->kernel_btf) {
		why = "no kernel BTF";
	} else {
		kbtf = kbtf_open("/sys/kernel/btf/vmlinux");
		if (!kbtf)
			bm_debug("kernel BTF: cannot read it in place (%s): libbpf parses it",
				 strerror(errno));
		err = probe_tp_btf(kbtf, &btf_id);
		if (err == -EPERM || err == -EACCES) {
			kbtf_close(kbtf);
			goto refused;
		}
		use_btf = !err;
		why = strerror(-err);
	}
	if (!use_btf)
		bm_warn("kernel: tp_btf/sched_switch unavailable (%s; Linux 5.5 with BTF): using "
			"raw_tp/sched_switch, which costs more per context switch",
			why);
	s->attach_kind = use_btf ? "tp_btf" : "raw_tp";
	s->cpuhp_ok = probe_cpuhp(cfg);
	s->mkdir_ok = probe_mkdir(kbtf, use_btf, &mkdir_id);
	err = load(s, cfg, use_btf, kbtf, btf_id, mkdir_id);
	kbtf_close(kbtf);
	if (err == -EPERM || err == -EACCES)
		goto refused;
	if (err) {
		bm_err("cannot load the BPF programs (hook %s/sched_switch): %s (run with -v for "
		       "the verifier's log)",
		       s->attach_kind, strerror(-err));
		goto fail;
	}
	if (!s->skel->bss) {
		err = -EOPNOTSUPP;
		bm_err("the kernel cannot share BPF global data with userspace (mmap of BPF "
		       "arrays, Linux 5.5): bpfmeter needs it");
		goto fail;
	}
	s->accts_fd = bpf_map__fd(s->skel->maps.accts);
	s->fixed_fd = bpf_map__fd(s->skel->maps.fixed);
	s->stats_fd = bpf_map__fd(s->skel->maps.stats);
	s->reap_fd = bpf_map__fd(s->skel->maps.reap);
	s->flush_fd =
		bpf_program__fd(s->loop_ok ? s->skel->progs.flush_loop : s->skel->progs.flush);
	s->by_process = cfg->by_process;
	err = create_acct_maps(s, cfg);
	if (!err)
		err = fill_event_array(s);
	if (!err)
		probe_batch(s, cfg);
	if (err) {
		bm_err("cannot set up the BPF maps: %s", strerror(-err));
		goto fail;
	}
	prog = use_btf ? s->skel->progs.switch_btf : s->skel->progs.switch_raw;
	s->link = bpf_program__attach(prog);
	if (!s->link) {
		err = -errno;
		if (err == -EPERM || err == -EACCES)
			goto refused;
		bm_err("cannot attach to sched_switch (%s): %s", s->attach_kind, strerror(-err));
		goto fail;
	}
	attach_cpuhp(s);
	attach_mkdir(s);
	err = probe_flush(s, cfg);
	/* Pending sums reach the map at each flush: without one they could wait for ever. */
	if (!err && s->flush_ok)
		s->skel->bss->slot_cache = true;
	if (!err)
		attach_teardown(s);
	/* The baseline: what ran before it counts in no interval. */
	if (!err)
		err = sensor_flush(s);
	if (!err)
		err = sensor_read(s, NULL, NULL);
	if (!err && s->by_process)
		err = sensor_read_procs(s, NULL, NULL);
	if (err)
		goto fail;
	bm_debug("kernel: hook %s/sched_switch, batch map lookups %s, BPF_PROG_TEST_RUN on a CPU "
		 "%s, CPU bringup hook %s, CPU teardown hook %s, cgroup_mkdir hook %s, bpf_loop %s",
		 s->attach_kind, s->batch_ok ? "yes" : "no", s->flush_ok ? "yes" : "no",
		 s->cpuhp_ok ? "yes" : "no", s->teardown_link ? "yes" : "no",
		 s->mkdir_ok ? "yes" : "no", s->loop_ok ? "yes" : "no");
	return 0;
refused:
	/* The privileges were checked: name what the kernel really holds against us. */
	caps_missing(missing, sizeof(missing));
	if (*missing)
		snprintf(refused, sizeof(refused),
			 "missing privileges: %s: run as root (sudo bpfmeter)", missing);
	else
		caps_explain_refusal("bpf()", refused, sizeof(refused));
	bm_err("the kernel refused to load BPF programs (%s): %s", strerror(-err), refused);
fail:
	sensor_close(s);
	return err;
}

static uint64_t stats_sum(struct sensor *s, size_t offset);

void sensor_close(struct sensor *s)
{
	if (s->skel)
		bm_debug("sensor: %llu counter reads failed, %llu slices charged to overflow, "
			 "%llu slices whose start the hook did not see",
			 (unsigned long long)sensor_read_failures(s),
			 (unsigned long long)sensor_overflows(s),
			 (unsigned long long)stats_sum(s, offsetof(struct bm_stats, missed)));
	ring_buffer__free(s->mkdir_rb);
	bpf_link__destroy(s->mkdir_link);
	bpf_link__destroy(s->cpuhp_link);
	bpf_link__destroy(s->teardown_link);
	bpf_link__destroy(s->link);
	bpfmeter_bpf__destroy(s->skel);
	for (int i = 0; i < BM_NR_KINDS; i++) {
		if (s->acct[i].fd > 0)
			close(s->acct[i].fd);
		if (s->acct[i].old_fd > 0)
			close(s->acct[i].old_fd);
	}
	if (s->fds)
		for (int i = 0; i < s->nr_req * (s->topo ? s->topo->nr_cpus : 0); i++)
			if (s->fds[i] >= 0)
				close(s->fds[i]);
	free(s->fds);
	free(s->keys);
	free(s->vals);
	free(s->cpu_up);
	free(s->cpus.up);
	memset(s, 0, sizeof(*s));
}

/* The requested event at a BPF index. */
static const struct bm_event *bpf_event(const struct sensor *s, int e)
{
	for (int r = 0; r < s->nr_req; r++)
		if (s->bpf_index[r] == e)
			return &s->req[r];
	return NULL;
}

/* Close a CPU's perf fds, and empty its slots: the events array holds the events too. */
static void close_cpu(struct sensor *s, int cpu)
{
	int map_fd = bpf_map__fd(s->skel->maps.events);

	for (int e = 0; e < s->nr_events; e++) {
		__u32 slot = (__u32)(e * s->topo->nr_cpus + cpu);

		if (s->fds[slot] < 0)
			continue;
		bpf_map_delete_elem(map_fd, &slot);
		close(s->fds[slot]);
		s->fds[slot] = -1;
	}
}

/* Open a CPU's perf events into its slots; false when one would not open there. */
static bool open_cpu(struct sensor *s, int cpu)
{
	int map_fd = bpf_map__fd(s->skel->maps.events);
	bool ok = true;

	for (int e = 0; e < s->nr_events; e++) {
		const struct bm_event *ev = bpf_event(s, e);
		__u32 slot = (__u32)(e * s->topo->nr_cpus + cpu);
		int fd = perf_open(ev, cpu);

		if (fd >= 0 && bpf_map_update_elem(map_fd, &slot, &fd, BPF_ANY)) {
			close(fd);
			fd = -errno;
		}
		if (fd < 0) {
			bm_debug("cpu %d came online: event %s: %s", cpu, ev->name, strerror(-fd));
			ok = false;
			continue;
		}
		s->fds[slot] = fd;
	}
	return ok;
}

/* CPUs that went offline and came back since the last call: their bringup count moved. */
static void note_bringups(struct sensor *s)
{
	struct bm_stats *st = bm_calloc((size_t)s->topo->nr_cpus, sizeof(*st));

	if (!read_stats(s, st)) {
		for (int cpu = 0; cpu < s->topo->nr_cpus; cpu++) {
			if (st[cpu].cpu_up == s->cpu_up[cpu])
				continue;
			s->cpu_up[cpu] = st[cpu].cpu_up;
			if (s->topo->online[cpu])
				s->cpus.up[cpu] = true;
		}
	}
	free(st);
}

int sensor_update_cpus(struct sensor *s, const struct sensor_cpus **changes)
{
	struct sensor_cpus *c = &s->cpus;
	int err;

	*changes = c;
	c->nr_up = c->nr_down = c->nr_unknown = c->nr_no_counters = 0;
	memset(c->no_counters, 0, (size_t)s->topo->nr_cpus * sizeof(bool));
	memset(c->reset, 0, (size_t)s->topo->nr_cpus * sizeof(bool));
	err = topology_refresh(s->topo, c->up, c->down, c->unknown);
	if (err)
		return err;
	if (s->cpuhp_ok)
		note_bringups(s);
	for (int cpu = 0; cpu < s->topo->nr_cpus; cpu++) {
		/*
		 * Without the hook, what a CPU coming online charges first is its time away:
		 * left out where it came, and where it is offline, as it may come before the read.
		 */
		c->reset[cpu] =
			!s->cpuhp_ok && (c->up[cpu] || (!s->topo->online[cpu] && !c->down[cpu]));
		if (c->unknown[cpu]) {
			c->nr_unknown++;
			bm_debug("cpu %d came online in a package unknown at the start: not "
				 "measured",
				 cpu);
		}
		if (c->down[cpu]) {
			close_cpu(s, cpu);
			c->nr_down++;
			bm_debug("cpu %d went offline", cpu);
		}
		if (!c->up[cpu])
			continue;
		/* The events of before are dead, even where it came back within the interval. */
		close_cpu(s, cpu);
		c->no_counters[cpu] = !open_cpu(s, cpu);
		c->nr_no_counters += c->no_counters[cpu];
		c->nr_up++;
		bm_debug("cpu %d came online, on socket %d", cpu, s->topo->socket[cpu]);
	}
	return 0;
}

/*
 * The pairs found idle at the last read, for their CPUs' flushes of this round to remove (the
 * BPF side checks again that they are idle). Where no flush runs, on an offline CPU or without
 * the flush, nothing charges them now (or next to nothing: without the flush a CPU may still
 * be charging its last epoch): they go from here.
 */
static void reap_list(struct sensor *s)
{
	struct bm_reap *r = &s->reap;
	__u32 n = 0, zero = 0;

	for (__u32 i = 0; i < r->n; i++) {
		const struct bm_reap_key *k = &r->key[i];
		struct bm_key key = { .id = k->id, .cpu = k->cpu };

		if (s->flush_ok && k->cpu < (__u32)s->topo->nr_cpus && s->topo->online[k->cpu])
			r->key[n++] = *k;
		else
			bpf_map_delete_elem(s->acct[k->kind].fd, &key);
	}
	r->n = n;
	if ((n || s->reap_written) && !bpf_map_update_elem(s->reap_fd, &zero, r, BPF_ANY))
		s->reap_written = n > 0;
	r->n = 0;
}

int sensor_flush(struct sensor *s)
{
	/*
	 * A map to replace is replaced first: what the CPUs charge until their flush goes to the
	 * new one, in the generation this round closes, and the old one is read whole next.
	 */
	for (int kind = 0; kind < BM_NR_KINDS; kind++) {
		struct sensor_acct_map *m = &s->acct[kind];
		int err;

		if (!m->want || m->old_fd >= 0)
			continue;
		err = acct_map_replace(s, kind, m->want);
		if (err && !s->grow_warned) {
			bm_warn("cannot resize the accounting map to %u entries (%s): what does "
				"not "
				"fit is charged to \"overflow\"",
				m->want, strerror(-err));
			s->grow_warned = true;
		}
		if (!err)
			bm_debug("accounting map %d: %u pairs ran, now %u entries", kind, m->used,
				 m->want);
		m->want = 0;
	}
	reap_list(s);
	/* Every CPU from now on charges the next epoch: the one just closed is read next. */
	s->epoch = ++s->skel->bss->epoch;
	if (!s->flush_ok)
		return 0;
	for (int cpu = 0; cpu < s->topo->nr_cpus; cpu++) {
		LIBBPF_OPTS(bpf_test_run_opts, opts, .flags = BPF_F_TEST_RUN_ON_CPU,
			    .cpu = (__u32)cpu);

		if (!s->topo->online[cpu])
			continue;
		if (bpf_prog_test_run_opts(s->flush_fd, &opts)) {
			int err = -errno;

			/* A CPU that went offline since start: nothing runs there to charge. */
			if (err == -ENXIO)
				continue;
			bm_err("cannot flush CPU %d (BPF_PROG_TEST_RUN on a CPU needs Linux 5.10): "
			       "%s",
			       cpu, strerror(-err));
			return err;
		}
	}
	return 0;
}

/* What the drain of one accounting map found. */
struct drain_count {
	uint32_t entries; /* in the map */
	uint32_t ran; /* pairs that charged something in the closed epoch */
};

/*
 * One pair as read: the closed epoch's half into fn where the pair charged in it, and onto the
 * reap list where it charged nothing in it nor since (reap, for the map in use).
 */
static void take_pair(struct sensor *s, int kind, const struct bm_key *k, const void *val,
		      uint64_t closed, bool reap, sensor_entry_fn fn, void *ctx,
		      struct drain_count *c)
{
	const __u64 *stamp = val;
	unsigned int h = (unsigned int)(closed & 1);

	c->entries++;
	if (stamp[h] == closed) {
		c->ran++;
		if (fn)
			fn(k->id, (int)k->cpu,
			   (const void *)((const char *)val + BM_PAIR_STAMPS + h * s->acct_size),
			   ctx);
	} else if (reap && stamp[h ^ 1] < closed && s->reap.n < BM_REAP_MAX) {
		s->reap.key[s->reap.n++] =
			(struct bm_reap_key){ .id = k->id, .cpu = k->cpu, .kind = (__u32)kind };
	}
}

/* Without batch operations (before Linux 5.6): key after key. */
static int drain_one_by_one(struct sensor *s, int kind, int fd, uint64_t closed, bool reap,
			    sensor_entry_fn fn, void *ctx, struct drain_count *c)
{
	struct bm_key key, next;
	void *val = bm_calloc(1, s->value_size);
	int err = 0;

	for (bool first = true; !bpf_map_get_next_key(fd, first ? NULL : &key, &next);
	     first = false) {
		key = next;
		if (!bpf_map_lookup_elem(fd, &key, val))
			take_pair(s, kind, &key, val, closed, reap, fn, ctx, c);
	}
	if (errno != ENOENT)
		err = -errno;
	free(val);
	return err;
}

/* Room for cap entries in the batch buffers. */
static void batch_room(struct sensor *s, uint32_t cap)
{
	free(s->keys);
	free(s->vals);
	s->batch_cap = cap;
	s->keys = bm_calloc(cap, sizeof(*s->keys));
	s->vals = bm_calloc(cap, s->value_size);
}

/*
 * Read one accounting map's pairs (take_pair()), with batch operations where the kernel has
 * them: the closed epoch's halves, which nothing writes any more, while the CPUs charge the
 * other halves. Nothing is written back: the CPUs zero a half as they start on it.
 */
static int drain(struct sensor *s, int kind, int fd, uint64_t closed, bool reap, sensor_entry_fn fn,
		 void *ctx, struct drain_count *c)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct bm_key in_batch, out_batch;
	bool first = true;

	if (!s->batch_ok)
		return drain_one_by_one(s, kind, fd, closed, reap, fn, ctx, c);
	/* Batches of an eighth of the map, 256 to 4096 entries: few calls, small buffers. */
	if (!s->batch_cap || (s->batch_cap < 4096 && s->batch_cap * 8 < s->acct[0].entries))
		batch_room(s, s->acct[0].entries / 8 < 256    ? 256
			      : s->acct[0].entries / 8 > 4096 ? 4096
							      : s->acct[0].entries / 8);
	for (;;) {
		__u32 count = s->batch_cap;
		int err = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch, s->keys,
					       s->vals, &count, &opts);

		err = err ? -errno : 0;
		if (err == -ENOSPC && count == 0) {
			/* A hash bucket holds more keys than the buffer: grow it and retry. */
			batch_room(s, 2 * s->batch_cap);
			continue;
		}
		if (err && err != -ENOENT) {
			if (first && (err == -EINVAL || err == -ENOTSUP || err == -EOPNOTSUPP)) {
				bm_debug("batch map operations unavailable (%s): reading keys one "
					 "by one",
					 strerror(-err));
				s->batch_ok = false;
				return drain_one_by_one(s, kind, fd, closed, reap, fn, ctx, c);
			}
			bm_err("cannot read the accounting map: %s", strerror(-err));
			return err;
		}
		for (__u32 i = 0; i < count; i++)
			take_pair(s, kind, &s->keys[i],
				  (const char *)s->vals + (size_t)i * s->value_size, closed, reap,
				  fn, ctx, c);
		if (err == -ENOENT)
			return 0;
		in_batch = out_batch;
		first = false;
	}
}

/* Idle, steal and overflow of the epoch parity gen, per CPU, into fn; then back to zero. */
static int drain_fixed(struct sensor *s, int kind, int gen, sensor_entry_fn fn, void *ctx)
{
	static const uint64_t keys[BM_NR_FIXED] = {
		[BM_FIXED_IDLE] = BM_KEY_IDLE,
		[BM_FIXED_STEAL] = BM_KEY_STEAL,
		[BM_FIXED_OVERFLOW] = BM_KEY_OVERFLOW,
	};
	size_t size = (size_t)s->topo->nr_cpus * s->stride;
	char *val = bm_calloc(2, size), *zero = val + size;
	int err = 0;

	for (int w = 0; w < BM_NR_FIXED && !err; w++) {
		__u32 slot = BM_FIXED_SLOT(kind, gen, w);

		if (bpf_map_lookup_elem(s->fixed_fd, &slot, val) ||
		    bpf_map_update_elem(s->fixed_fd, &slot, zero, BPF_ANY)) {
			err = -errno;
			bm_err("cannot read the accounting map of idle, steal and overflow: %s",
			       strerror(-err));
			break;
		}
		for (int cpu = 0; fn && cpu < s->topo->nr_cpus; cpu++)
			fn(keys[w], cpu, (const void *)(val + (size_t)cpu * s->stride), ctx);
	}
	free(val);
	return err;
}

/*
 * After a read of a map that holds n pairs (those that ran lately, and not yet removed): a
 * map that was full (slices went to overflow) grows to 2.5 times, one past seven eighths gets
 * room for a quarter as many again, and one below a quarter for ACCTS_SHRINK_AFTER reads in a
 * row shrinks to that, so the kernel's memory follows the pairs that run: 1.1 to 1.25 times them,
 * once steady. The next flush puts the new map in place.
 */
static void plan_resize(struct sensor *s, int kind, uint32_t n)
{
	struct sensor_acct_map *m = &s->acct[kind];
	uint32_t want = m->entries;

	if (n >= m->entries)
		want = room_for(2 * (uint64_t)m->entries, s->max_entries);
	else if ((uint64_t)n * 8 >= (uint64_t)m->entries * 7)
		want = room_for(n, s->max_entries);
	else if ((uint64_t)n * 4 < m->entries && ++m->low >= ACCTS_SHRINK_AFTER)
		want = room_for(n, s->max_entries);
	if ((uint64_t)n * 4 >= m->entries)
		m->low = 0;
	m->want = want != m->entries ? want : 0;
}

static int read_kind(struct sensor *s, int kind, sensor_entry_fn fn, void *ctx)
{
	struct sensor_acct_map *m = &s->acct[kind];
	struct drain_count old = { 0 }, live = { 0 };
	uint64_t closed = s->epoch - 1;
	uint32_t n;
	int err = 0;

	/* A map replaced at the flush holds the closed epoch's pairs until then: read, away. */
	if (m->old_fd >= 0) {
		err = drain(s, kind, m->old_fd, closed, false, fn, ctx, &old);
		close(m->old_fd);
		m->old_fd = -1;
	}
	if (!err)
		err = drain(s, kind, m->fd, closed, true, fn, ctx, &live);
	if (!err)
		err = drain_fixed(s, kind, (int)(closed & 1), fn, ctx);
	n = live.entries > old.ran + live.ran ? live.entries : old.ran + live.ran;
	if (!err)
		plan_resize(s, kind, n);
	m->used = n;
	return err;
}

int sensor_read(struct sensor *s, sensor_entry_fn fn, void *ctx)
{
	return read_kind(s, BM_KIND_CGROUP, fn, ctx);
}

int sensor_read_procs(struct sensor *s, sensor_entry_fn fn, void *ctx)
{
	return read_kind(s, BM_KIND_PROC, fn, ctx);
}

/* Sum one field of the per-CPU statistics of the BPF side over the CPUs. */
static uint64_t stats_sum(struct sensor *s, size_t offset)
{
	struct bm_stats *st = bm_calloc((size_t)s->topo->nr_cpus, sizeof(*st));
	uint64_t sum = 0;

	if (!read_stats(s, st))
		for (int cpu = 0; cpu < s->topo->nr_cpus; cpu++)
			sum += *(const __u64 *)((const char *)&st[cpu] + offset);
	free(st);
	return sum;
}

uint64_t sensor_overflows(struct sensor *s)
{
	return stats_sum(s, offsetof(struct bm_stats, overflow));
}

uint64_t sensor_proc_overflows(struct sensor *s)
{
	return stats_sum(s, offsetof(struct bm_stats, overflow_procs));
}

uint64_t sensor_read_failures(struct sensor *s)
{
	return stats_sum(s, offsetof(struct bm_stats, read_fail));
}
