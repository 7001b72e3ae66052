// SPDX-License-Identifier: BSD-2-Clause
/*
 * rapl-sim: drive the energy_uj files of a powercap tree (a copy of one in
 * tests/fixtures/powercap) with power profiles whose energy is known exactly, so that energy
 * readings can be checked against ground truth on machines without RAPL.
 *
 * Every period it computes each zone's cumulative energy at the CLOCK_MONOTONIC time elapsed
 * since the start and writes energy_uj as the hardware would show it: the starting value plus
 * the energy, modulo max_energy_range_uj + 1. Writes go to a temporary file renamed over
 * energy_uj, so a reader never sees a half-written number. With --log it appends the unwrapped
 * energy with CLOCK_REALTIME stamps, from which a test interpolates the true energy of any
 * interval it measured. With --in-place it writes into the same file instead, as sysfs's
 * energy_uj stays the same file, for a reader that keeps it open: one pwrite of a fixed
 * width (zero-padded to max_energy_range_uj's digits), so its size never changes.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define EXIT_USAGE 2
#define NSEC_PER_SEC 1000000000LL
#define LOG_PERIOD_NS (10 * 1000000LL)
#define MAX_ZONES 64

enum profile_kind {
	PROF_CONST,
	PROF_STEPS,
	PROF_LOAD,
};

struct step {
	double watts;
	double until; /* seconds since the start; the last step holds past it */
};

struct cgroup {
	char *stat_path; /* CGDIR/cpu.stat */
	uint64_t usage0; /* usage_usec at the start */
	uint64_t usage; /* at the last read */
	bool warned;
};

struct zone {
	const char *arg; /* ZONE=PROFILE as given, for messages */
	char *name; /* ZONE: what the log calls it */
	char *dir;
	char *energy_path, *tmp_path;
	enum profile_kind kind;
	double watts; /* const; load: the base */
	double k; /* load: joules per CPU-second of the cgroups */
	struct step *steps;
	int nsteps;
	struct cgroup *cgs;
	int ncgs;
	uint64_t start_uj;
	uint64_t modulus; /* max_energy_range_uj + 1 */
	mode_t mode; /* of the fixture's energy_uj, kept across the renames */
	double joules; /* cumulative, at the last tick */
	uint64_t written; /* the value energy_uj holds */
	bool has_written;
	int fd; /* --in-place: energy_uj, open for writing */
	int width; /* --in-place: digits of max_energy_range_uj */
};

struct range_override {
	const char *arg;
	char *dir;
	uint64_t uj;
};

static const char *prog = "rapl-sim";
static bool in_place;
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* Bad arguments end the program with one line naming what was wrong, and status 2. */
__attribute__((format(printf, 1, 2), noreturn)) static void die_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_USAGE);
}

__attribute__((format(printf, 1, 2), noreturn)) static void die_runtime(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p)
		die_runtime("out of memory");
	return p;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		die_runtime("out of memory");
	return s;
}

static int64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

/* A whole string that is a finite number >= 0. */
static bool parse_nonneg(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return *s && !*end && !errno && isfinite(*out) && *out >= 0;
}

/* A whole string of decimal digits, as sysfs prints counters. */
static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return !*end && !errno;
}

/* Reads a file holding one decimal number; returns 0, -errno, or -EINVAL when it is none. */
static int read_u64_file(const char *path, uint64_t *out)
{
	char buf[64];
	int err = bm_read_file(path, buf, sizeof(buf));

	if (err)
		return err;
	return parse_u64(buf, out) ? 0 : -EINVAL;
}

static const char *err_str(int err)
{
	return err == -EINVAL ? "not a decimal number" : strerror(-err);
}

/* usage_usec from a cgroup's cpu.stat. Returns 0 or -errno. */
static int read_usage(const char *stat_path, uint64_t *usec)
{
	char buf[4096], *p;
	int err = bm_read_file(stat_path, buf, sizeof(buf));

	if (err)
		return err;
	for (p = buf; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncmp(p, "usage_usec ", 11)) {
			char *end;

			errno = 0;
			*usec = strtoull(p + 11, &end, 10);
			if (end == p + 11 || errno || (*end && *end != '\n'))
				return -EINVAL;
			return 0;
		}
	}
	return -ENOENT;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

/*
 * The directory of zone name under root: root/name in the flat /sys/class/powercap listing,
 * or root/intel-rapl:N/intel-rapl:N:M for a subzone in the nested layout of
 * /sys/devices/virtual/powercap/intel-rapl, so the same ZONE works on both kinds of tree.
 */
static char *zone_dir(const char *root, const char *name, const char *arg)
{
	const char *last = strrchr(name, ':');
	char *dir, *real = NULL;

	if (!*name)
		die_usage("'%s': empty zone name", arg);
	dir = xasprintf("%s/%s", root, name);
	if (!is_dir(dir) && !strchr(name, '/') && last && strchr(name, ':') != last) {
		free(dir);
		dir = xasprintf("%s/%.*s/%s", root, (int)(last - name), name, name);
	}
	/* The real path, so that two spellings of one zone compare equal. */
	if (is_dir(dir))
		real = realpath(dir, NULL);
	free(dir);
	if (!real)
		die_usage("'%s': no zone directory %s under %s", arg, name, root);
	return real;
}

static void parse_steps(struct zone *z, char *spec)
{
	char *tok, *save = NULL;
	int cap = 0;

	for (tok = strtok_r(spec, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *at = strchr(tok, '@');
		struct step *s;

		if (z->nsteps && isinf(z->steps[z->nsteps - 1].until))
			die_usage("'%s': only the last step may leave out @T", z->arg);
		if (z->nsteps == cap) {
			cap = cap ? cap * 2 : 8;
			z->steps = realloc(z->steps, (size_t)cap * sizeof(*z->steps));
			if (!z->steps)
				die_runtime("out of memory");
		}
		s = &z->steps[z->nsteps];
		if (at)
			*at = '\0';
		if (!parse_nonneg(tok, &s->watts))
			die_usage("'%s': bad watts '%s' (want a number >= 0)", z->arg, tok);
		s->until = INFINITY;
		if (at) {
			if (!parse_nonneg(at + 1, &s->until) || s->until <= 0)
				die_usage("'%s': bad step end '%s' (want seconds > 0)", z->arg,
					  at + 1);
			if (z->nsteps && s->until <= z->steps[z->nsteps - 1].until)
				die_usage("'%s': step ends must increase (%g after %g)", z->arg,
					  s->until, z->steps[z->nsteps - 1].until);
		}
		z->nsteps++;
	}
	if (!z->nsteps)
		die_usage("'%s': steps: needs at least one W@T", z->arg);
}

/* load:BASE:K:CGDIR1[,CGDIR2...] */
static void parse_load(struct zone *z, char *spec)
{
	char *k = strchr(spec, ':'), *dirs = k ? strchr(k + 1, ':') : NULL;
	char *tok, *save = NULL;

	if (!dirs || !dirs[1])
		die_usage("'%s': want load:BASE:K:CGDIR[,CGDIR...]", z->arg);
	*k++ = '\0';
	*dirs++ = '\0';
	if (!parse_nonneg(spec, &z->watts))
		die_usage("'%s': bad base watts '%s' (want a number >= 0)", z->arg, spec);
	if (!parse_nonneg(k, &z->k))
		die_usage("'%s': bad K '%s' (want joules per CPU-second >= 0)", z->arg, k);
	for (tok = strtok_r(dirs, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct cgroup *cg;
		int err;

		z->cgs = realloc(z->cgs, (size_t)(z->ncgs + 1) * sizeof(*z->cgs));
		if (!z->cgs)
			die_runtime("out of memory");
		cg = &z->cgs[z->ncgs++];
		memset(cg, 0, sizeof(*cg));
		cg->stat_path = xasprintf("%s/cpu.stat", tok);
		err = read_usage(cg->stat_path, &cg->usage0);
		if (err)
			die_usage("'%s': cannot read usage_usec from %s: %s", z->arg, cg->stat_path,
				  err == -EINVAL ? "not a number" : strerror(-err));
		cg->usage = cg->usage0;
	}
	if (!z->ncgs)
		die_usage("'%s': want load:BASE:K:CGDIR[,CGDIR...]", z->arg);
}

static void parse_zone(struct zone *z, const char *root, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char *profile, *spec;

	z->arg = arg;
	if (!eq || eq == arg)
		die_usage("'%s': want ZONE=PROFILE", arg);
	z->name = strndup(arg, (size_t)(eq - arg));
	profile = strdup(eq + 1);
	if (!z->name || !profile)
		die_runtime("out of memory");
	spec = strchr(profile, ':');
	if (spec)
		*spec++ = '\0';
	if (spec && !strcmp(profile, "const")) {
		z->kind = PROF_CONST;
		if (!parse_nonneg(spec, &z->watts))
			die_usage("'%s': bad watts '%s' (want a number >= 0)", arg, spec);
	} else if (spec && !strcmp(profile, "steps")) {
		z->kind = PROF_STEPS;
		parse_steps(z, spec);
	} else if (spec && !strcmp(profile, "load")) {
		z->kind = PROF_LOAD;
		parse_load(z, spec);
	} else {
		die_usage("'%s': unknown profile '%s' (want const:W, steps:W@T,... or "
			  "load:BASE:K:CGDIR,...)",
			  arg, eq + 1);
	}
	free(profile);
	z->dir = zone_dir(root, z->name, arg);
}

/* Everything a zone needs from its files, checked before anything is written. */
static void open_zone(struct zone *z)
{
	char *range_path = xasprintf("%s/max_energy_range_uj", z->dir);
	struct stat st;
	uint64_t max;
	int err;

	z->energy_path = xasprintf("%s/energy_uj", z->dir);
	z->tmp_path = xasprintf("%s/.energy_uj.rapl-sim.%d", z->dir, (int)getpid());
	if (stat(z->energy_path, &st))
		die_usage("'%s': cannot read %s: %s", z->arg, z->energy_path, strerror(errno));
	z->mode = st.st_mode & 07777;
	err = read_u64_file(z->energy_path, &z->start_uj);
	if (err)
		die_usage("'%s': cannot read %s: %s", z->arg, z->energy_path, err_str(err));
	err = read_u64_file(range_path, &max);
	if (err)
		die_usage("'%s': cannot read %s: %s", z->arg, range_path, err_str(err));
	if (max == UINT64_MAX)
		die_usage("'%s': %s is too large", z->arg, range_path);
	z->modulus = max + 1;
	free(range_path);
	z->width = snprintf(NULL, 0, "%llu", (unsigned long long)max);
	z->fd = -1;
	if (in_place && (z->fd = open(z->energy_path, O_WRONLY | O_CLOEXEC)) < 0)
		die_usage("'%s': cannot write %s: %s", z->arg, z->energy_path, strerror(errno));
}

/* The energy in joules a zone has used t seconds after the start (exact, no integration). */
static double zone_energy(struct zone *z, double t)
{
	double e = 0, from = 0;
	uint64_t used = 0;

	switch (z->kind) {
	case PROF_CONST:
		return z->watts * t;
	case PROF_STEPS:
		for (int i = 0; i < z->nsteps; i++) {
			const struct step *s = &z->steps[i];

			if (i == z->nsteps - 1 || t < s->until)
				return e + s->watts * (t - from);
			e += s->watts * (s->until - from);
			from = s->until;
		}
		return e;
	case PROF_LOAD:
		for (int i = 0; i < z->ncgs; i++) {
			struct cgroup *cg = &z->cgs[i];
			uint64_t u;
			int err = read_usage(cg->stat_path, &u);

			/*
			 * A cgroup removed while we run has used what it used: hold its last
			 * reading, as the energy it caused stays spent.
			 */
			if (err && !cg->warned) {
				fprintf(stderr,
					"%s: warning: %s: cannot read %s: %s; holding %llu us\n",
					prog, z->name, cg->stat_path,
					err == -EINVAL ? "not a number" : strerror(-err),
					(unsigned long long)cg->usage);
				cg->warned = true;
			}
			/* usage_usec only grows; a smaller one would be a different cgroup. */
			if (!err && u > cg->usage)
				cg->usage = u;
			used += cg->usage - cg->usage0;
		}
		return z->watts * t + z->k * ((double)used / 1e6);
	}
	return 0;
}

static void write_zone(struct zone *z)
{
	/* Floor keeps the counter monotonic between wraps, as the hardware's is. */
	uint64_t total = (uint64_t)(z->joules * 1e6);
	uint64_t v = (z->start_uj % z->modulus + total % z->modulus) % z->modulus;
	char text[32];
	int err;

	/* Each write makes and renames an inode, costly on disk file systems: skip idle zones. */
	if (z->has_written && v == z->written)
		return;
	if (in_place) {
		int n = snprintf(text, sizeof(text), "%0*llu\n", z->width, (unsigned long long)v);

		err = pwrite(z->fd, text, (size_t)n, 0) == n ? 0 : -EIO;
		if (!err && !z->has_written && ftruncate(z->fd, n))
			err = -errno;
	} else {
		snprintf(text, sizeof(text), "%llu\n", (unsigned long long)v);
		err = bm_replace_file(z->energy_path, z->tmp_path, text, strlen(text), z->mode);
	}
	if (err)
		die_runtime("%s: cannot write %s: %s", z->name, z->energy_path, strerror(-err));
	z->written = v;
	z->has_written = true;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s --root DIR [--period-ms N] [--log FILE] [--duration S]\n"
		"          [--max-range ZONE=UJ]... ZONE=PROFILE...\n"
		"Drive the energy_uj files of the powercap tree DIR with known power.\n"
		"\n"
		"ZONE: a zone directory under DIR (intel-rapl:0, intel-rapl:0:0); a subzone\n"
		"is also found inside its parent, as /sys/devices/virtual/powercap nests it.\n"
		"PROFILE:\n"
		"  const:W                  W watts\n"
		"  steps:W1@T1,W2@T2,...    W1 watts until T1 s after the start, then W2\n"
		"                           until T2, ...; the last step holds (its @T may\n"
		"                           be left out)\n"
		"  load:BASE:K:CGDIR[,...]  BASE watts plus K joules per CPU-second that the\n"
		"                           cgroups use (usage_usec in CGDIR/cpu.stat)\n"
		"\n"
		"  -r, --root DIR           the tree (a copy of a fixture: it gets written)\n"
		"  -p, --period-ms N        write energy_uj every N ms (default 1)\n"
		"  -i, --in-place           write into energy_uj itself, not a new file renamed\n"
		"                           over it (zero-padded to a fixed width)\n"
		"  -l, --log FILE           append \"REALTIME_S ZONE JOULES\" (unwrapped)\n"
		"                           every 10 ms and at exit\n"
		"  -d, --duration S         stop after S seconds (default: SIGTERM, SIGINT)\n"
		"  -m, --max-range ZONE=UJ  set ZONE's max_energy_range_uj (to force wraps)\n"
		"\n"
		"energy_uj = (starting value + energy in uJ) mod (max_energy_range_uj + 1).\n"
		"Prints \"ready\" once every zone is written. Exit status: 0 when stopped,\n"
		"1 on a write error, 2 for bad arguments.\n",
		prog);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "period-ms", required_argument, NULL, 'p' },
		{ "in-place", no_argument, NULL, 'i' },
		{ "log", required_argument, NULL, 'l' },
		{ "duration", required_argument, NULL, 'd' },
		{ "max-range", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct range_override ranges[MAX_ZONES];
	const char *range_args[MAX_ZONES];
	int nranges = 0, nzones = 0, opt;
	const char *root = NULL, *log_path = NULL;
	int64_t period_ns = 1000000, dur_ns = 0, t0, next_log = 0;
	struct zone *zones;
	struct sigaction sa;
	FILE *log = NULL;
	bool ready = false;

	opterr = 0; /* our own one-line messages, with status 2 */
	while ((opt = getopt_long(argc, argv, ":r:p:il:d:m:h", opts, NULL)) != -1) {
		uint64_t u;
		double d;

		switch (opt) {
		case 'r':
			root = optarg;
			break;
		case 'p':
			if (!parse_u64(optarg, &u) || u < 1 || u > 10000)
				die_usage("--period-ms '%s': want whole milliseconds, 1 to 10000",
					  optarg);
			period_ns = (int64_t)u * 1000000;
			break;
		case 'i':
			in_place = true;
			break;
		case 'l':
			log_path = optarg;
			break;
		case 'd':
			if (!parse_nonneg(optarg, &d) || d <= 0 || d > 1e6)
				die_usage("--duration '%s': want seconds > 0", optarg);
			dur_ns = (int64_t)(d * 1e9);
			if (dur_ns < 1)
				dur_ns = 1;
			break;
		case 'm':
			if (nranges == MAX_ZONES)
				die_usage("--max-range: at most %d", MAX_ZONES);
			range_args[nranges++] = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			die_usage("option '%s' needs a value (see --help)", argv[optind - 1]);
		default:
			if (optopt)
				die_usage("unknown option '-%c' (see --help)", optopt);
			die_usage("unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
	if (!root)
		die_usage("--root DIR is required (see --help)");
	if (!is_dir(root))
		die_usage("--root '%s': not a directory", root);
	if (optind == argc)
		die_usage("nothing to simulate: give ZONE=PROFILE (see --help)");
	if (argc - optind > MAX_ZONES)
		die_usage("at most %d zones", MAX_ZONES);

	/* Check every argument and file before writing anything, so a bad call changes nothing. */
	zones = xcalloc((size_t)(argc - optind), sizeof(*zones));
	for (int i = optind; i < argc; i++) {
		struct zone *z = &zones[nzones++];

		parse_zone(z, root, argv[i]);
		open_zone(z);
		for (int j = 0; j < nzones - 1; j++) {
			if (!strcmp(zones[j].dir, z->dir))
				die_usage("'%s': zone %s is given twice", argv[i], z->dir);
		}
	}
	for (int i = 0; i < nranges; i++) {
		const char *arg = range_args[i], *eq = strchr(arg, '=');
		struct range_override *r = &ranges[i];
		char *name, *path;
		uint64_t cur;
		int err;

		r->arg = arg;
		if (!eq || eq == arg)
			die_usage("--max-range '%s': want ZONE=UJ", arg);
		if (!parse_u64(eq + 1, &r->uj) || r->uj < 1 || r->uj == UINT64_MAX)
			die_usage("--max-range '%s': want a whole number of microjoules >= 1", arg);
		name = strndup(arg, (size_t)(eq - arg));
		if (!name)
			die_runtime("out of memory");
		r->dir = zone_dir(root, name, arg);
		path = xasprintf("%s/max_energy_range_uj", r->dir);
		err = read_u64_file(path, &cur);
		if (err)
			die_usage("--max-range '%s': cannot read %s: %s", arg, path, err_str(err));
		free(path);
		free(name);
	}
	if (log_path) {
		log = fopen(log_path, "ae");
		if (!log)
			die_usage("--log '%s': %s", log_path, strerror(errno));
	}

	for (int i = 0; i < nranges; i++) {
		struct range_override *r = &ranges[i];
		char *path = xasprintf("%s/max_energy_range_uj", r->dir);
		char *tmp = xasprintf("%s/.max_energy_range_uj.rapl-sim.%d", r->dir, (int)getpid());
		char text[32];
		struct stat st;
		int err;

		snprintf(text, sizeof(text), "%llu\n", (unsigned long long)r->uj);
		err = stat(path, &st)
			      ? -errno
			      : bm_replace_file(path, tmp, text, strlen(text), st.st_mode & 07777);
		if (err)
			die_runtime("--max-range '%s': cannot write %s: %s", r->arg, path,
				    strerror(-err));
		for (int j = 0; j < nzones; j++) {
			if (!strcmp(zones[j].dir, r->dir))
				zones[j].modulus = r->uj + 1;
		}
		free(tmp);
		free(path);
	}
	/*
	 * A starting value beyond a forced range is where that counter would stand had it
	 * always had that range.
	 */
	for (int i = 0; i < nzones; i++)
		zones[i].start_uj %= zones[i].modulus;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: the sleep returns at once */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN); /* a reader of "ready" that went away must not stop us */

	t0 = clock_ns(CLOCK_MONOTONIC);
	for (;;) {
		int64_t el = clock_ns(CLOCK_MONOTONIC) - t0, rt = clock_ns(CLOCK_REALTIME);
		bool last = stop_requested || (dur_ns && el >= dur_ns);
		struct timespec ts;
		int64_t next;

		/*
		 * At --duration the counters show exactly S seconds of energy, and the log's
		 * stamp is moved back to the moment they stand for.
		 */
		if (dur_ns && el > dur_ns) {
			rt -= el - dur_ns;
			el = dur_ns;
		}
		for (int i = 0; i < nzones; i++) {
			zones[i].joules = zone_energy(&zones[i], (double)el / 1e9);
			write_zone(&zones[i]);
		}
		if (!ready) {
			fputs("ready\n", stdout);
			fflush(stdout);
			ready = true;
		}
		if (log && (el >= next_log || last)) {
			for (int i = 0; i < nzones; i++)
				fprintf(log, "%lld.%06lld %s %.6f\n",
					(long long)(rt / NSEC_PER_SEC),
					(long long)(rt % NSEC_PER_SEC / 1000), zones[i].name,
					zones[i].joules);
			if (fflush(log))
				die_runtime("--log '%s': %s", log_path, strerror(errno));
			next_log = (el / LOG_PERIOD_NS + 1) * LOG_PERIOD_NS;
		}
		if (last)
			break;
		/*
		 * The next tick on the grid t0 + k x period; after a stall it is the next one
		 * ahead, never a burst of catch-up writes (the energy comes from the clock).
		 */
		next = (el / period_ns + 1) * period_ns;
		if (dur_ns && next > dur_ns)
			next = dur_ns;
		ts.tv_sec = (t0 + next) / NSEC_PER_SEC;
		ts.tv_nsec = (t0 + next) % NSEC_PER_SEC;
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
	if (log && fclose(log))
		die_runtime("--log '%s': %s", log_path, strerror(errno));
	for (int i = 0; i < nzones; i++) {
		struct zone *z = &zones[i];

		for (int j = 0; j < z->ncgs; j++)
			free(z->cgs[j].stat_path);
		free(z->cgs);
		free(z->steps);
		free(z->name);
		free(z->dir);
		free(z->energy_path);
		free(z->tmp_path);
	}
	for (int i = 0; i < nranges; i++)
		free(ranges[i].dir);
	free(zones);
	return 0;
}
