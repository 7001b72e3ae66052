// SPDX-License-Identifier: BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caps.h"
#include "cgroup.h"
#include "command.h"
#include "util.h"

/* The uid and gid to run as: sudo's caller, or our own. */
static int target_ids(uid_t *uid, gid_t *gid, bool *drop)
{
	const char *su = getenv("SUDO_UID"), *sg = getenv("SUDO_GID");
	uint64_t u, g;

	*drop = false;
	if (!su || !*su)
		return 0;
	if (bm_parse_u64(su, 0, UINT32_MAX - 1, &u) ||
	    (sg && *sg && bm_parse_u64(sg, 0, UINT32_MAX - 1, &g))) {
		bm_err("SUDO_UID/SUDO_GID are not numbers ('%s', '%s'): unset them or run through "
		       "sudo",
		       su, sg ? sg : "");
		return -1;
	}
	*uid = (uid_t)u;
	*gid = sg && *sg ? (gid_t)g : (gid_t)u;
	*drop = true;
	return 0;
}

static void child(struct command *c, int go, uid_t uid, gid_t gid, bool drop)
{
	char path[PATH_MAX + 32], b;
	int fd;

	/* Wait until bpfmeter measures; EOF means it gave up. */
	if (read(go, &b, 1) != 1)
		_exit(127);
	close(go);
	snprintf(path, sizeof(path), "%s/cgroup.procs", c->cgroup);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0", 1) != 1) {
		fprintf(stderr, "bpfmeter: cannot move the command into %s: %s\n", c->cgroup,
			strerror(errno));
		_exit(127);
	}
	close(fd);
	if (drop && (setgroups(0, NULL) || setgid(gid) || setuid(uid))) {
		fprintf(stderr, "bpfmeter: cannot become uid %u gid %u: %s\n", uid, gid,
			strerror(errno));
		_exit(127);
	}
	/* A user given capabilities for bpfmeter does not pass them on to the command. */
	if (caps_drop_for_command()) {
		fprintf(stderr, "bpfmeter: cannot drop the capabilities before running %s\n",
			c->argv[0]);
		_exit(127);
	}
	signal(SIGPIPE, SIG_DFL);
	execvp(c->argv[0], c->argv);
	fprintf(stderr, "bpfmeter: cannot run %s: %s\n", c->argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

/* A bpfmeter-cmd-PID cgroup's PID, when that process is gone or is no bpfmeter; else 0. */
static pid_t stale_owner(const char *name)
{
	char path[64], comm[32] = "";
	uint64_t pid;
	FILE *f;

	if (strncmp(name, "bpfmeter-cmd-", 13) || bm_parse_u64(name + 13, 1, INT32_MAX, &pid) ||
	    (pid_t)pid == getpid())
		return 0;
	snprintf(path, sizeof(path), "/proc/%llu/comm", (unsigned long long)pid);
	f = fopen(path, "r");
	if (f) {
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = '\0';
		fclose(f);
	}
	/* The binary may be bpfmeter, bpfmeter-static or bpfmeter-asan. */
	return strncmp(comm, "bpfmeter", 8) ? (pid_t)pid : 0;
}

int command_clean_stale(const char *mount)
{
	DIR *d = opendir(mount);
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char path[PATH_MAX];
		pid_t pid = stale_owner(de->d_name);

		if (!pid || de->d_type != DT_DIR)
			continue;
		snprintf(path, sizeof(path), "%s/%s", mount, de->d_name);
		if (!rmdir(path)) {
			bm_warn("removed the cgroup %s of bpfmeter -- CMD, left by process %d, "
				"which "
				"is gone",
				path, (int)pid);
			n++;
		} else if (errno == EACCES || errno == EPERM || errno == EROFS) {
			bm_debug("cannot remove the stale cgroup %s: %s", path, strerror(errno));
		} else {
			bm_warn("the cgroup %s of bpfmeter -- CMD, left by process %d, which is "
				"gone, "
				"cannot be removed (%s): processes of its command may still run "
				"there (see its cgroup.procs)",
				path, (int)pid, strerror(errno));
		}
	}
	closedir(d);
	return n;
}

int command_prepare(struct command *c, const char *mount, char *const *argv)
{
	int pipefd[2];
	bool drop;
	uid_t uid = 0;
	gid_t gid = 0;

	memset(c, 0, sizeof(*c));
	c->argv = argv;
	c->go_fd = -1;
	if (target_ids(&uid, &gid, &drop))
		return -1;
	snprintf(c->rel, sizeof(c->rel), "/bpfmeter-cmd-%d", (int)getpid());
	snprintf(c->cgroup, sizeof(c->cgroup), "%s%s", mount, c->rel);
	if (mkdir(c->cgroup, 0755)) {
		bm_err("cannot make the cgroup %s for the command: %s%s", c->cgroup,
		       strerror(errno),
		       errno == EACCES ? " (-- CMD makes its cgroup at the top of the cgroup2 "
					 "mount: run as root, e.g. sudo bpfmeter -- CMD)"
				       : "");
		return -1;
	}
	if (cgroup_id_of(c->cgroup, &c->cgroup_id) || pipe2(pipefd, O_CLOEXEC)) {
		bm_err("cannot set up the cgroup %s: %s", c->cgroup, strerror(errno));
		rmdir(c->cgroup);
		return -1;
	}
	c->pid = fork();
	if (c->pid < 0) {
		bm_err("cannot fork: %s", strerror(errno));
		rmdir(c->cgroup);
		return -1;
	}
	if (c->pid == 0) {
		close(pipefd[1]);
		child(c, pipefd[0], uid, gid, drop);
	}
	close(pipefd[0]);
	c->go_fd = pipefd[1];
	return 0;
}

void command_start(struct command *c)
{
	c->started = bm_now_mono();
	if (write(c->go_fd, "g", 1) != 1)
		bm_warn("cannot start the command: %s", strerror(errno));
	close(c->go_fd);
	c->go_fd = -1;
}

/* Whether the cgroup still holds a process (a child the command left behind). */
static bool populated(const struct command *c)
{
	char path[PATH_MAX + 32], buf[256], *p;

	snprintf(path, sizeof(path), "%s/cgroup.events", c->cgroup);
	if (bm_read_file(path, buf, sizeof(buf)))
		return false;
	p = strstr(buf, "populated ");
	return p && p[10] == '1';
}

bool command_done(struct command *c)
{
	if (!c->reaped && waitpid(c->pid, &c->status, WNOHANG) == c->pid) {
		c->reaped = true;
		c->ended = bm_now_mono();
	}
	return c->reaped && !populated(c);
}

void command_forward(struct command *c, int sig)
{
	if (!c->reaped)
		kill(c->pid, sig);
}

int command_finish(struct command *c)
{
	if (c->go_fd >= 0) {
		/* Never started: closing the pipe makes the child give up. */
		close(c->go_fd);
		c->go_fd = -1;
	}
	if (!c->reaped && c->pid > 0) {
		waitpid(c->pid, &c->status, 0);
		c->reaped = true;
		c->ended = bm_now_mono();
	}
	/* The last process may still be leaving the cgroup. */
	for (int i = 0; i < 100 && rmdir(c->cgroup) && errno == EBUSY; i++)
		usleep(10000);
	if (access(c->cgroup, F_OK) == 0)
		bm_warn("cannot remove the cgroup %s: %s", c->cgroup, strerror(errno));
	if (WIFSIGNALED(c->status))
		return 128 + WTERMSIG(c->status);
	return WIFEXITED(c->status) ? WEXITSTATUS(c->status) : 1;
}
