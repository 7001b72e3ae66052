// SPDX-License-Identifier: BSD-2-Clause
/*
 * cgload: the cgroup load of scripts/bench-scale.sh and scripts/bench-churn.sh.
 *
 *   cgload steady DIR N [PERIOD_MS [WORK_US]]
 *     One worker process in each of the cgroups DIR/0 .. DIR/N-1 (made by the caller), put
 *     there at its birth by clone3(CLONE_INTO_CGROUP) (fork and a write to cgroup.procs
 *     where clone3 cannot), at nice 10. Each wakes every PERIOD_MS (default 250) at a phase
 *     of its own, spins WORK_US (default 20) of CPU and sleeps again. Prints "ready N" once all
 * run, then waits for SIGTERM or SIGINT, kills and reaps the workers and exits 0.
 *
 *   cgload churn DIR RATE SECONDS [WORK_MS]
 *     RATE times a second for SECONDS: makes the cgroup DIR/gK, starts in it a child that
 *     spins WORK_MS (default 5) of CPU and exits, and once the child is reaped reads the
 *     cgroup's cpu.stat usage_usec and removes it. One line per removed cgroup on stdout:
 *     "gone PATH ID USAGE_USEC" (ID the cgroup id: the directory's inode), then
 *     "churned CREATED REMOVED". SIGTERM or SIGINT stops it early, cleaning up likewise.
 *
 * Workers die with their parent (PR_SET_PDEATHSIG). Exits 1 with a one-line error when it
 * cannot start its load, 2 for bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Spin until this thread has had ns of CPU. */
static void spin(uint64_t ns)
{
	uint64_t end = cpu_ns() + ns;

	while (cpu_ns() < end)
		;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = { .tv_sec = t / 1000000000ull, .tv_nsec = t % 1000000000ull };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !stop)
		;
}

/* A child in the cgroup open at cgfd (path cgpath for the fallback); 0 in the child. */
static pid_t spawn_into(int cgfd, const char *cgpath)
{
	struct clone_args args;
	char procs[4200], buf[32];
	pid_t pid;
	int fd, n;

	memset(&args, 0, sizeof(args));
	args.flags = CLONE_INTO_CGROUP;
	args.exit_signal = SIGCHLD;
	args.cgroup = (uint64_t)cgfd;
	pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid >= 0 || (errno != ENOSYS && errno != EINVAL && errno != E2BIG))
		return pid;
	/* No clone3 or no CLONE_INTO_CGROUP: fork, and the child moves itself. */
	pid = fork();
	if (pid != 0)
		return pid;
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cgpath);
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	fd = open(procs, O_WRONLY);
	if (fd < 0 || write(fd, buf, n) != n)
		_exit(3);
	close(fd);
	return 0;
}

static void child_setup(void)
{
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(0);
}

static int steady(const char *dir, long n, long period_ms, long work_us)
{
	uint64_t period = (uint64_t)period_ms * 1000000ull, t0 = now_ns();
	pid_t *pids = calloc(n, sizeof(*pids));
	char path[4096];
	long i, started = 0;
	int fd, rc = 0;

	if (!pids) {
		fprintf(stderr, "cgload: out of memory\n");
		return 1;
	}
	for (i = 0; i < n && !stop; i++) {
		snprintf(path, sizeof(path), "%s/%ld", dir, i);
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "cgload: cannot open %s: %s\n", path, strerror(errno));
			rc = 1;
			break;
		}
		pids[i] = spawn_into(fd, path);
		if (pids[i] == 0) {
			/* The worker: its phase spreads the N wake-ups over the period. */
			uint64_t next = t0 + period + period * (uint64_t)i / (uint64_t)n;

			child_setup();
			/* Below the parent and the tools measured: at 10,000 workers the wake-ups
			 * alone can take both CPUs of a small VM, and the parent must finish
			 * forking. */
			if (nice(10) == -1 && errno)
				_exit(3);
			while (!stop) {
				sleep_until(next);
				spin((uint64_t)work_us * 1000ull);
				next += period;
				if (next < now_ns())
					next = now_ns() + period;
			}
			_exit(0);
		}
		close(fd);
		if (pids[i] < 0) {
			fprintf(stderr, "cgload: cannot start a worker in %s: %s\n", path,
				strerror(errno));
			rc = 1;
			break;
		}
		started++;
	}
	if (!rc && !stop) {
		printf("ready %ld\n", started);
		fflush(stdout);
		while (!stop)
			pause();
	}
	for (i = 0; i < started; i++)
		kill(pids[i], SIGKILL);
	for (i = 0; i < started; i++)
		waitpid(pids[i], NULL, 0);
	free(pids);
	return rc;
}

struct churned {
	pid_t pid;
	long k;
	uint64_t id;
};

static long usage_usec(const char *cg)
{
	char path[4200], key[64];
	long long v;
	long usage = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cpu.stat", cg);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld", key, &v) == 2)
		if (!strcmp(key, "usage_usec"))
			usage = v;
	fclose(f);
	return usage;
}

/* Reads the usage of the cgroup of c, removes it and reports it; 0 when removed. */
static int retire(const char *dir, const struct churned *c)
{
	char path[4096];
	long usage;

	snprintf(path, sizeof(path), "%s/g%ld", dir, c->k);
	usage = usage_usec(path);
	if (rmdir(path) && errno != ENOENT)
		return -1;
	printf("gone %s %llu %ld\n", path, (unsigned long long)c->id, usage);
	return 0;
}

static int churn(const char *dir, long rate, long seconds, long work_ms)
{
	uint64_t step = 1000000000ull / (uint64_t)rate, next = now_ns();
	long total = rate * seconds, created = 0, removed = 0, live = 0, lo = 0, k, i;
	struct churned *cs = calloc(total ? total : 1, sizeof(*cs));
	char path[4096];
	struct stat st;
	int fd, rc = 0, status;
	pid_t pid;

	if (!cs) {
		fprintf(stderr, "cgload: out of memory\n");
		return 1;
	}
	for (k = 0; !stop && (k < total || live > 0);) {
		/* Reap what exited, then retire its cgroup (and any earlier one rmdir refused). */
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			for (i = lo; i < k; i++)
				if (cs[i].pid == pid) {
					cs[i].pid = -1;
					break;
				}
		for (i = lo; i < k; i++)
			if (cs[i].pid == -1 && retire(dir, &cs[i]) == 0) {
				cs[i].pid = 0;
				removed++;
				live--;
			}
		/* cs[lo..k) holds every cgroup not removed yet. */
		while (lo < k && cs[lo].pid == 0)
			lo++;
		if (k >= total) {
			usleep(1000);
			continue;
		}
		sleep_until(next);
		next += step;
		if (stop)
			break;
		snprintf(path, sizeof(path), "%s/g%ld", dir, k);
		if (mkdir(path, 0755) ||
		    (fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
			fprintf(stderr, "cgload: cannot make %s: %s\n", path, strerror(errno));
			rc = 1;
			break;
		}
		fstat(fd, &st);
		cs[k].k = k;
		cs[k].id = st.st_ino;
		pid = spawn_into(fd, path);
		if (pid == 0) {
			child_setup();
			spin((uint64_t)work_ms * 1000000ull);
			_exit(0);
		}
		close(fd);
		if (pid < 0) {
			fprintf(stderr, "cgload: cannot start a child in %s: %s\n", path,
				strerror(errno));
			rmdir(path);
			rc = 1;
			break;
		}
		cs[k].pid = pid;
		created++;
		live++;
		k++;
	}
	/* Stopped early or failed: the children still running go, and their cgroups. */
	for (i = 0; i < k; i++)
		if (cs[i].pid > 0)
			kill(cs[i].pid, SIGKILL);
	for (i = 0; i < k; i++) {
		if (cs[i].pid > 0)
			waitpid(cs[i].pid, NULL, 0);
		if (cs[i].pid != 0 && retire(dir, &cs[i]) == 0)
			removed++;
	}
	printf("churned %ld %ld\n", created, removed);
	free(cs);
	return rc;
}

static long arg(const char *s, long min)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min) {
		fprintf(stderr, "cgload: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 4 && argc <= 6 && !strcmp(argv[1], "steady"))
		return steady(argv[2], arg(argv[3], 1), argc > 4 ? arg(argv[4], 1) : 250,
			      argc > 5 ? arg(argv[5], 0) : 20);
	if (argc >= 5 && argc <= 6 && !strcmp(argv[1], "churn"))
		return churn(argv[2], arg(argv[3], 1), arg(argv[4], 1),
			     argc > 5 ? arg(argv[5], 0) : 5);
	fprintf(stderr, "usage: cgload steady DIR N [PERIOD_MS [WORK_US]]\n"
			"       cgload churn DIR RATE SECONDS [WORK_MS]\n");
	return 2;
}
