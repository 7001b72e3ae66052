// SPDX-License-Identifier: BSD-2-Clause
/*
 * split-scenario: a synthetic recording (the format bpfmeter --record writes, read by bpfmeter
 * replay) whose energy is made from known per-cgroup power, and beside it the truth, to judge
 * how the model splits the measured energy between cgroups (issue 20).
 *
 * One socket of NR_CPUS CPUs, 1 s intervals. Each interval a cgroup i runs u_i(t) of a CPU
 * (its scenario's shape, plus a little jitter); the package's energy is
 *
 *	E = (static(t) + sum_i w_i * cpu_s_i / dt) * dt + noise
 *
 * with static(t) = 15 W (drifting in one scenario), w_i = 10 W per CPU-second unless the
 * scenario gives each cgroup its own, and noise of 0.1 W (one standard deviation). The truth
 * of cgroup i is w_i * cpu_s_i / dt; idle's (the CPU time no cgroup ran) is static(t): with
 * --idle static the static power is idle's.
 *
 * Where the scenario has counters (diff-w-hw), the recording carries cycles and instructions
 * (hardware events: then they are the model's features) and the power is linear in them:
 * 3 nW per cycle per second and 2 nW per instruction per second at 2 GHz, so a cgroup of
 * IPC k draws 6 + 4 k W per CPU-second. Elsewhere only cpu-clock (a software event: the
 * model's feature is then CPU time).
 *
 * The truth file, CSV: timestamp (as bpfmeter's CSV output prints it), target (its name, or
 * "idle"), cpu_ns, true_w; one row per target row of the recording. Deterministic: the same
 * scenario and seed give the same bytes.
 *
 * Usage: split-scenario SCENARIO RECORDING TRUTH [--seed N] [--intervals N]
 *        split-scenario --list
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NR_CPUS 4
#define MAX_CG 64
#define T0_NS 1800000000000000000LL /* 2027-01-15: whole seconds, as printed to the ms */
#define NS 1e9
#define STATIC_W 15.0
#define NOISE_W 0.1
#define JITTER 0.01 /* of a CPU, one standard deviation */
#define GHZ 2.0

struct scenario {
	const char *name, *what;
	int intervals; /* default length */
	int ncg;
	bool hw; /* cycles and instructions in the recording */
};

static const struct scenario scenarios[] = {
	{ "steady-35", "two cgroups at 90% and 30% of a CPU from the start, 35 s (the issue's run)",
	  35, 2, false },
	{ "steady", "two cgroups at 90% and 30% of a CPU from the start, an hour", 3600, 2, false },
	{ "drift", "steady, the static power drifting from 15 to 18 W over the hour", 3600, 2,
	  false },
	{ "steps", "two cgroups stepping between levels (every 300 s and 420 s)", 3600, 2, false },
	{ "ramp", "one cgroup ramping from 5% to 100% of a CPU over the hour, one at 30%", 3600, 2,
	  false },
	{ "periodic", "two cgroups in sine waves of 120 s and 300 s", 3600, 2, false },
	{ "many", "50 small cgroups, 1% to 7% of a CPU each, steady", 3600, 50, false },
	{ "late", "steady (90%, 30%) for an hour, then a third cgroup at 60% for half an hour",
	  5400, 3, false },
	{ "diff-w", "steps of three cgroups drawing 8, 14 and 10 W per CPU-second; CPU time only",
	  3600, 3, false },
	{ "diff-w-hw", "diff-w with cycles and instructions recorded (IPC 0.5, 2, 1)", 3600, 3,
	  true },
};

static uint64_t rng_state;

/* splitmix64 */
static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double rng_uniform(void)
{
	return ((double)(rng_next() >> 11) + 0.5) / 9007199254740992.0;
}

static double rng_gauss(void)
{
	return sqrt(-2 * log(rng_uniform())) * cos(2 * M_PI * rng_uniform());
}

static double level(const double *levels, int n, int t, int period)
{
	return levels[(t / period) % n];
}

/* Cgroup i's share of a CPU at second t (before jitter); 0: not running. */
static double load(const struct scenario *sc, int i, int t, int n, const double *many)
{
	static const double sa[] = { 0.2, 0.9, 0.5, 0.05 }, sb[] = { 0.7, 0.3, 0.1, 0.8 },
			    sc3[] = { 0.4, 0.1, 0.6 };
	const char *s = sc->name;

	if (!strcmp(s, "steps") || !strncmp(s, "diff-w", 6)) {
		if (i == 0)
			return level(sa, 4, t, 300);
		if (i == 1)
			return level(sb, 4, t, 420);
		return level(sc3, 3, t, 540);
	}
	if (!strcmp(s, "ramp"))
		return i == 0 ? 0.05 + 0.95 * t / (n > 1 ? n - 1 : 1) : 0.3;
	if (!strcmp(s, "periodic"))
		return i == 0 ? 0.5 + 0.4 * sin(2 * M_PI * t / 120)
			      : 0.3 + 0.2 * sin(2 * M_PI * t / 300 + 1);
	if (!strcmp(s, "many"))
		return many[i];
	if (!strcmp(s, "late") && i == 2)
		return t >= 3600 ? 0.6 : 0;
	return i == 0 ? 0.9 : 0.3; /* steady, steady-35, drift, late's first two */
}

static double static_w(const struct scenario *sc, int t, int n)
{
	return !strcmp(sc->name, "drift") ? STATIC_W + 3.0 * t / n : STATIC_W;
}

/* Watts per CPU-second of cgroup i, and its instructions per cycle. */
static double ipc_of(const struct scenario *sc, int i)
{
	static const double ipc[] = { 0.5, 2.0, 1.0 };

	return !strncmp(sc->name, "diff-w", 6) ? ipc[i] : 1.0;
}

static double watts_per_cpu(const struct scenario *sc, int i)
{
	return !strncmp(sc->name, "diff-w", 6) ? 6 + 4 * ipc_of(sc, i) : 10.0;
}

static void name_of(const struct scenario *sc, int i, char *buf, size_t len)
{
	if (sc->ncg > 3)
		snprintf(buf, len, "/bench/c%02d", i + 1);
	else
		snprintf(buf, len, "/bench/%c", 'a' + i);
}

static int usage(void)
{
	fprintf(stderr, "usage: split-scenario SCENARIO RECORDING TRUTH [--seed N] "
			"[--intervals N]\n       split-scenario --list\n");
	return 2;
}

static void events(FILE *f, const struct scenario *sc)
{
	fputs(sc->hw ? ",," : ",", f);
}

int main(int argc, char **argv)
{
	const struct scenario *sc = NULL;
	uint64_t seed = 1;
	int n = 0;
	double many[MAX_CG], elapsed = 0;
	FILE *rec, *truth;

	if (argc == 2 && !strcmp(argv[1], "--list")) {
		for (size_t k = 0; k < sizeof(scenarios) / sizeof(scenarios[0]); k++)
			printf("%-10s %5d s  %s\n", scenarios[k].name, scenarios[k].intervals,
			       scenarios[k].what);
		return 0;
	}
	if (argc < 4)
		return usage();
	for (size_t k = 0; k < sizeof(scenarios) / sizeof(scenarios[0]); k++)
		if (!strcmp(argv[1], scenarios[k].name))
			sc = &scenarios[k];
	if (!sc) {
		fprintf(stderr, "split-scenario: no scenario \"%s\" (--list)\n", argv[1]);
		return 2;
	}
	for (int a = 4; a < argc; a++) {
		char *end;

		if (a + 1 >= argc)
			return usage();
		if (!strcmp(argv[a], "--seed"))
			seed = strtoull(argv[++a], &end, 0);
		else if (!strcmp(argv[a], "--intervals"))
			n = (int)strtol(argv[++a], &end, 0);
		else
			return usage();
		if (*end || n < 0)
			return usage();
	}
	if (!n)
		n = sc->intervals;
	rng_state = seed;
	for (int i = 0; i < sc->ncg; i++)
		many[i] = 0.01 + 0.06 * rng_uniform();
	rec = fopen(argv[2], "w");
	truth = fopen(argv[3], "w");
	if (!rec || !truth) {
		fprintf(stderr, "split-scenario: %s\n", strerror(errno));
		return 1;
	}
	fputs(sc->hw ? "kind,ts_ns,interval_s,socket,id,name,value,cpu_ns,cycles,instructions\n"
		     : "kind,ts_ns,interval_s,socket,id,name,value,cpu_ns,cpu-clock\n",
	      rec);
	fputs("meta,,,,,format,bpfmeter-recording-1,", rec);
	events(rec, sc);
	fputc('\n', rec);
	if (sc->hw)
		fputs("event,,,,1,cycles,0:0,,,\nevent,,,,1,instructions,0:1,,,\n", rec);
	else
		fputs("event,,,,1,cpu-clock,1:0,,\n", rec);
	{
		/* No model settings: the replay takes bpfmeter's defaults, the ones under test. */
		char nr[16];
		const char *meta[][2] = {
			{ "version", "split-scenario" },
			{ "host", sc->name },
			{ "hook", "tp_btf" },
			{ "nr_online", nr },
			{ "interval_s", "1" },
			{ "sockets", "1" },
			{ "package_ids", "0" },
			{ "energy_source", "powercap" },
			{ "domains", "package" },
			{ "base_mhz", "0" },
			{ "by", "cgroup" },
			{ "idle", "static" },
		};

		snprintf(nr, sizeof(nr), "%d", NR_CPUS);
		for (size_t k = 0; k < sizeof(meta) / sizeof(meta[0]); k++) {
			fprintf(rec, "meta,,,,,%s,%s,", meta[k][0], meta[k][1]);
			events(rec, sc);
			fputc('\n', rec);
		}
	}
	fputs("timestamp,target,cpu_ns,true_w\n", truth);
	for (int t = 0; t < n; t++) {
		int64_t ts = T0_NS + (int64_t)(t + 1) * 1000000000LL;
		double st = static_w(sc, t, n), dyn = 0, busy = 0, j;
		uint64_t cpu[MAX_CG];

		for (int i = 0; i < sc->ncg; i++) {
			double u = load(sc, i, t, n, many), noise = rng_gauss() * JITTER;

			/* Jitter drawn even for a cgroup not running: the stream stays aligned. */
			if (u > 0)
				u = fmin(fmax(u + noise, 0.001), 1.0);
			cpu[i] = (uint64_t)llround(u * NS);
			busy += (double)cpu[i];
			dyn += watts_per_cpu(sc, i) * (double)cpu[i] / NS;
		}
		j = st + dyn + NOISE_W * rng_gauss();
		fprintf(rec, "interval,%" PRId64 ",1,,,,0,", ts);
		events(rec, sc);
		fputc('\n', rec);
		fprintf(rec, "energy,%" PRId64 ",1,0,,package,%.17g,", ts, j);
		events(rec, sc);
		fputc('\n', rec);
		fprintf(rec, "target,%" PRId64 ",1,0,0,idle,,%" PRIu64 ",", ts,
			(uint64_t)llround(NR_CPUS * NS - busy));
		/* Idle runs no counters; cpu-clock counts its time as for any target. */
		if (sc->hw)
			fputs("0,0\n", rec);
		else
			fprintf(rec, "%" PRIu64 "\n", (uint64_t)llround(NR_CPUS * NS - busy));
		fprintf(truth, "%.3f,idle,%" PRIu64 ",%.9g\n", (double)ts / NS,
			(uint64_t)llround(NR_CPUS * NS - busy), st);
		for (int i = 0; i < sc->ncg; i++) {
			char name[32];

			if (!cpu[i])
				continue;
			name_of(sc, i, name, sizeof(name));
			fprintf(rec, "target,%" PRId64 ",1,0,%d,%s,,%" PRIu64 ",", ts, 1000 + i,
				name, cpu[i]);
			if (sc->hw) {
				uint64_t cyc = (uint64_t)llround((double)cpu[i] * GHZ);

				fprintf(rec, "%" PRIu64 ",%" PRIu64 "\n", cyc,
					(uint64_t)llround((double)cyc * ipc_of(sc, i)));
			} else {
				fprintf(rec, "%" PRIu64 "\n", cpu[i]);
			}
			fprintf(truth, "%.3f,%s,%" PRIu64 ",%.9g\n", (double)ts / NS, name, cpu[i],
				watts_per_cpu(sc, i) * (double)cpu[i] / NS);
		}
		elapsed += 1;
	}
	fprintf(rec, "end,,,,,,%.17g,", elapsed);
	events(rec, sc);
	fputc('\n', rec);
	if (fclose(rec) | fclose(truth)) {
		fprintf(stderr, "split-scenario: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}
