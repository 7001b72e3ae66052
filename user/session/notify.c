// SPDX-License-Identifier: BSD-2-Clause
/* Readiness through libsystemd's sd_notify(); notify_none.c in a build without it. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "notify.h"
#include "util.h"

static void notify_send(const char *state)
{
	int err = sd_notify(0, state);

	if (err < 0)
		bm_debug("sd_notify: %s", strerror(-err));
}

void notify_ready(const char *status)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status);
	notify_send(msg);
}

/* systemd 253 and later want the monotonic time of the reload's start with it. */
void notify_reloading(void)
{
	struct timespec ts;
	char msg[128];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reopening the outputs",
		 (unsigned long long)ts.tv_sec * 1000000ULL +
			 (unsigned long long)ts.tv_nsec / 1000);
	notify_send(msg);
}

void notify_stopping(void)
{
	notify_send("STOPPING=1\nSTATUS=stopping: keeping the models, flushing the outputs");
}
