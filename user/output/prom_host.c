// SPDX-License-Identifier: BSD-2-Clause
/*
 * What the Prometheus endpoint needs of the host: the address it listens on, parsed and
 * printed, and bpfmeter's own process figures, read from /proc/self. In every build: the
 * static one parses -o prometheus: to refuse it by name.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "prom.h"
#include "util.h"

/* Addresses */

int prom_parse_addr(const char *s, struct prom_addr *a, char *err, size_t errlen)
{
	const char *host = s, *host_end, *port;
	char name[INET6_ADDRSTRLEN + 1];
	bool v6 = false;
	uint64_t p;

	memset(a, 0, sizeof(*a));
	if (s[0] == '[') {
		host = s + 1;
		host_end = strchr(host, ']');
		if (!host_end || host_end[1] != ':') {
			snprintf(err, errlen, "an IPv6 address is [ADDR]:PORT");
			return -EINVAL;
		}
		port = host_end + 2;
		v6 = true;
	} else {
		host_end = strrchr(s, ':');
		if (!host_end) {
			snprintf(err, errlen, "no port: ADDR:PORT, or :PORT for every address");
			return -EINVAL;
		}
		port = host_end + 1;
		if (memchr(s, ':', (size_t)(host_end - s))) {
			snprintf(err, errlen, "an IPv6 address goes in brackets, as [::1]:9102");
			return -EINVAL;
		}
	}
	if (bm_parse_u64(port, 0, 65535, &p)) {
		snprintf(err, errlen, "the port '%s' is not a number from 0 to 65535", port);
		return -EINVAL;
	}
	if ((size_t)(host_end - host) >= sizeof(name)) {
		snprintf(err, errlen, "'%.*s' is not an IP address", (int)(host_end - host), host);
		return -EINVAL;
	}
	memcpy(name, host, (size_t)(host_end - host));
	name[host_end - host] = '\0';
	if (!name[0] && !v6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;

		a->any = true;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_any;
		sin6->sin6_port = htons((uint16_t)p);
		a->len = sizeof(*sin6);
		return 0;
	}
	if (v6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		a->len = sizeof(*sin6);
		if (inet_pton(AF_INET6, name, &sin6->sin6_addr) == 1)
			return 0;
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		a->len = sizeof(*sin);
		if (inet_pton(AF_INET, name, &sin->sin_addr) == 1)
			return 0;
	}
	snprintf(err, errlen, "'%s' is not an IP%s address", name, v6 ? "v6" : "v4");
	return -EINVAL;
}

void prom_addr_str(const struct sockaddr *sa, char *out, size_t outlen)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(out, outlen, "[%s]:%u", host, ntohs(sin6->sin6_port));
	} else {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(out, outlen, "%s:%u", host, ntohs(sin->sin_port));
	}
}

double prom_default_keep(double interval_s)
{
	return fmax(300, 3 * interval_s);
}

void prom_process_read(struct prom_process *p)
{
	long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	char buf[2048], *rp;
	unsigned long long utime, stime, start, vsize;
	long long rss;
	struct rlimit rl;
	double btime = 0;
	DIR *d;

	memset(p, 0, sizeof(*p));
	/* Fields 14, 15 (utime, stime), 22 (starttime), 23 (vsize), 24 (rss) of proc(5). */
	if (!bm_read_file("/proc/self/stat", buf, sizeof(buf)) && (rp = strrchr(buf, ')')) &&
	    sscanf(rp + 2,
		   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d "
		   "%*d %llu %llu %lld",
		   &utime, &stime, &start, &vsize, &rss) == 5 &&
	    tick > 0) {
		FILE *f = fopen("/proc/stat", "re");
		char *line = NULL;
		size_t cap = 0;

		while (f && getline(&line, &cap, f) > 0)
			if (sscanf(line, "btime %lf", &btime) == 1)
				break;
		free(line);
		if (f)
			fclose(f);
		p->cpu_s = (double)(utime + stime) / (double)tick;
		p->start_time_s = btime + (double)start / (double)tick;
		p->vsize_bytes = vsize;
		p->rss_bytes = rss > 0 ? (uint64_t)rss * (uint64_t)page : 0;
		p->have_stat = true;
	}
	d = opendir("/proc/self/fd");
	if (d) {
		struct dirent *de;

		while ((de = readdir(d)))
			if (de->d_name[0] != '.')
				p->open_fds++;
		closedir(d);
		p->open_fds--; /* the directory's own */
		p->have_fds = true;
	}
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY) {
		p->max_fds = rl.rlim_cur;
		p->have_max_fds = true;
	}
}
