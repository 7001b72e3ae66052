/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_COMMAND_H
#define BM_COMMAND_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* `bpfmeter -- CMD ARGS...`: the command in a cgroup of its own, measured until it ends. */
struct command {
	char *const *argv;
	char cgroup[4096]; /* its cgroup directory */
	char rel[4096]; /* the same below the cgroup2 mount: bpfmeter's target name */
	uint64_t cgroup_id;
	pid_t pid;
	int go_fd; /* the child waits on this pipe until measuring has begun */
	int status; /* from waitpid, once reaped */
	bool reaped;
	double started, ended; /* monotonic seconds */
};

/*
 * Make the cgroup under the cgroup2 mount and fork the command, which waits until
 * command_start(). As the invoking user when started through sudo (SUDO_UID, SUDO_GID).
 * Returns 0, or -1 after a one-line message.
 */
int command_prepare(struct command *c, const char *mount, char *const *argv);
/*
 * Remove the cgroups bpfmeter -- CMD made at the top of the cgroup2 mount for sessions that
 * are gone (killed outright), saying so for each; one still holding processes is named and
 * left. Returns how many were removed.
 */
int command_clean_stale(const char *mount);
/* Let the command run. */
void command_start(struct command *c);
/* Reap the command if it exited; true once it has and its cgroup holds no process. */
bool command_done(struct command *c);
/* Pass a signal on to the command. */
void command_forward(struct command *c, int sig);
/* Remove the cgroup. Returns the exit status to leave with: CMD's, or 128 + its signal. */
int command_finish(struct command *c);

#endif
