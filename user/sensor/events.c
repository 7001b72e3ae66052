// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "events.h"
#include "util.h"

static const struct {
	const char *name;
	uint32_t type;
	uint64_t config;
} known[] = {
	{ "cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES },
	{ "cpu-cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES },
	{ "instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS },
	{ "cache-references", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_REFERENCES },
	{ "cache-misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES },
	{ "branch-instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_INSTRUCTIONS },
	{ "branches", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_INSTRUCTIONS },
	{ "branch-misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_MISSES },
	{ "bus-cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BUS_CYCLES },
	{ "stalled-cycles-frontend", PERF_TYPE_HARDWARE, PERF_COUNT_HW_STALLED_CYCLES_FRONTEND },
	{ "stalled-cycles-backend", PERF_TYPE_HARDWARE, PERF_COUNT_HW_STALLED_CYCLES_BACKEND },
	{ "ref-cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_REF_CPU_CYCLES },
	{ "cpu-clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK },
	{ "task-clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK },
	{ "page-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS },
	{ "faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS },
	{ "context-switches", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES },
	{ "cs", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES },
	{ "cpu-migrations", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS },
	{ "migrations", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS },
	{ "minor-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MIN },
	{ "major-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MAJ },
	{ "alignment-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_ALIGNMENT_FAULTS },
	{ "emulation-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_EMULATION_FAULTS },
};

const char *events_known_names(void)
{
	static char buf[1024];
	size_t off = 0;

	if (buf[0])
		return buf;
	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? ", " : "",
					known[i].name);
	return buf;
}

/* "TYPE:CONFIG" (decimal type, decimal or 0x config) or perf's "rHEX" raw form. */
static int parse_raw(const char *s, struct bm_event *ev)
{
	uint64_t type, config;
	char tbuf[32];
	const char *colon;

	if (s[0] == 'r' && s[1] && strspn(s + 1, "0123456789abcdefABCDEF") == strlen(s + 1)) {
		char hex[BM_EVENT_NAME_MAX + 2];

		snprintf(hex, sizeof(hex), "0x%s", s + 1);
		if (bm_parse_u64_or_hex(hex, 0, UINT64_MAX, &config))
			return -EINVAL;
		ev->type = PERF_TYPE_RAW;
		ev->config = config;
		return 0;
	}
	colon = strchr(s, ':');
	if (!colon || (size_t)(colon - s) >= sizeof(tbuf))
		return -EINVAL;
	memcpy(tbuf, s, (size_t)(colon - s));
	tbuf[colon - s] = '\0';
	if (bm_parse_u64(tbuf, 0, UINT32_MAX, &type) ||
	    bm_parse_u64_or_hex(colon + 1, 0, UINT64_MAX, &config))
		return -EINVAL;
	ev->type = (uint32_t)type;
	ev->config = config;
	return 0;
}

int events_parse(const char *list, struct bm_event *out, int max, char *err, size_t errlen)
{
	char *copy, *tok, *p;
	int n = 0;

	copy = strdup(list);
	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* strsep keeps empty fields, so "a,,b" and a trailing comma are errors, not skipped. */
	p = copy;
	while ((tok = strsep(&p, ",")) != NULL) {
		struct bm_event ev = { 0 };
		size_t i;

		if (!*tok) {
			if (n == 0 && !p && !*list)
				break; /* "" means no counters: on-CPU time only */
			snprintf(err, errlen, "empty event name in '%s'", list);
			goto fail;
		}
		if (strlen(tok) >= BM_EVENT_NAME_MAX) {
			snprintf(err, errlen, "event name '%.20s...' is too long", tok);
			goto fail;
		}
		for (i = 0; i < ARRAY_SIZE(known); i++)
			if (!strcmp(tok, known[i].name))
				break;
		if (i < ARRAY_SIZE(known)) {
			ev.type = known[i].type;
			ev.config = known[i].config;
		} else if (parse_raw(tok, &ev)) {
			snprintf(err, errlen,
				 "unknown event '%s': use a perf name (cycles, instructions, "
				 "cpu-clock, ...; see --help), rHEX or TYPE:CONFIG",
				 tok);
			goto fail;
		}
		for (int j = 0; j < n; j++) {
			if (!strcmp(out[j].name, tok)) {
				snprintf(err, errlen, "event '%s' is listed twice", tok);
				goto fail;
			}
		}
		if (n == max) {
			snprintf(err, errlen, "too many events: at most %d", max);
			goto fail;
		}
		strcpy(ev.name, tok);
		out[n++] = ev;
	}
	free(copy);
	return n;
fail:
	free(copy);
	return -1;
}

int bm_perf_event_open(struct perf_event_attr *attr, pid_t pid, int cpu, int group_fd,
		       unsigned long flags)
{
	long fd;

	attr->size = sizeof(*attr);
	fd = syscall(__NR_perf_event_open, attr, pid, cpu, group_fd, flags | PERF_FLAG_FD_CLOEXEC);
	return fd < 0 ? -errno : (int)fd;
}
