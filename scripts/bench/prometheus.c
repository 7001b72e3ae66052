// SPDX-License-Identifier: BSD-2-Clause
/*
 * What the Prometheus endpoint costs at 1,000 targets (containers with their labels, four
 * counted events, package and DRAM energy split by a model): in the measuring loop, one
 * interval into the counters plus the whole text (prom_state_update + prom_render); and one
 * scrape over loopback as a client sees it, from connect to the last byte, on a server that
 * serves the snapshot of those targets. Prints medians and 99th percentiles.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "prom.h"
#include "util.h"

#define TARGETS 1000
#define RENDERS 200
#define SCRAPES 300

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One GET /metrics on a new connection, read to the end: the bytes, or -1. */
static long scrape(int port)
{
	static const char req[] =
		"GET /metrics HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n";
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	char buf[1 << 16];
	long total = 0;
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    bm_write_all(fd, req, sizeof(req) - 1)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	close(fd);
	return total;
}

int main(void)
{
	static const struct bm_event events[] = {
		{ .name = "cycles" },
		{ .name = "instructions" },
		{ .name = "ref-cycles" },
		{ .name = "cache-misses" },
	};
	static const int sample_index[] = { 0, 1, 2, 3 }, package_id[] = { 0 };
	static struct bm_target targets[TARGETS];
	static struct bm_row rows[TARGETS];
	static double t_update[RENDERS], t_render[RENDERS], t_scrape[SCRAPES];
	struct bm_meta meta = {
		.host = "bench",
		.events = events,
		.nr_events = 4,
		.sample_index = sample_index,
		.nr_online = 64,
		.package_id = package_id,
		.hook = "tp_btf",
		.energy_source = "powercap",
	};
	struct energy_reading energy[] = { { 0, BM_DOMAIN_PACKAGE, 150 },
					   { 0, BM_DOMAIN_DRAM, 20 } };
	struct bm_interval iv = { .interval_s = 1,
				  .rows = rows,
				  .n = TARGETS,
				  .energy = energy,
				  .nenergy = 2,
				  .carbon_g_per_kwh = -1 };
	struct prom_state *ps = prom_state_new(300);
	struct prom_snapshot *snap = NULL;
	struct prom_server *srv;
	struct prom_addr addr;
	char err[512];
	size_t text_len = 0;
	long bytes = 0;
	int port;

	for (int i = 0; i < TARGETS; i++) {
		char name[256];

		snprintf(name, sizeof(name),
			 "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%08x_1234_"
			 "4321_abcd_%012x.slice/cri-containerd-%064x.scope",
			 i, i, i);
		targets[i].id = 1000 + (uint64_t)i;
		targets[i].kind = BM_TARGET_CGROUP;
		targets[i].name = bm_strdup(name);
		labels_parse(name, &targets[i].labels);
		rows[i] =
			(struct bm_row){ .target = &targets[i],
					 .domains = 1u << BM_DOMAIN_PACKAGE | 1u << BM_DOMAIN_DRAM,
					 .model_id = { 7, 0, 0, 7 } };
	}
	for (int r = 0; r < RENDERS; r++) {
		struct prom_buf b = { 0 };
		double t0;

		for (int i = 0; i < TARGETS; i++) {
			struct bm_sample *s = &rows[i].s;

			s->cpu_ns = 1000000 + (uint64_t)(i * 7919 + r * 104729) % 50000000;
			for (int e = 0; e < 4; e++)
				s->ev[e] = s->cpu_ns * (uint64_t)(e + 1) * 3;
			s->energy_j[BM_DOMAIN_PACKAGE] = (double)s->cpu_ns * 1e-8;
			s->energy_j[BM_DOMAIN_DRAM] = (double)s->cpu_ns * 1e-9;
		}
		t0 = now_ms();
		prom_state_update(ps, &meta, &iv);
		t_update[r] = now_ms() - t0;
		prom_render(&b, ps, &meta, NULL, 0);
		t_render[r] = now_ms() - t0;
		prom_snapshot_put(snap);
		text_len = b.len;
		snap = prom_snapshot_new(&b);
	}
	prom_parse_addr("127.0.0.1:0", &addr, err, sizeof(err));
	srv = prom_server_start(&addr, NULL, err, sizeof(err));
	if (!srv) {
		fprintf(stderr, "bench-prometheus: %s\n", err);
		return 1;
	}
	prom_server_publish(srv, snap);
	port = atoi(strrchr(prom_server_url(srv), ':') + 1);
	for (int r = 0; r < SCRAPES; r++) {
		double t0 = now_ms();

		bytes = scrape(port);
		t_scrape[r] = now_ms() - t0;
		if (bytes < (long)text_len) {
			fprintf(stderr, "bench-prometheus: a scrape got %ld bytes\n", bytes);
			return 1;
		}
	}
	prom_server_stop(srv);
	prom_snapshot_put(snap);
	prom_state_free(ps);
	qsort(t_update, RENDERS, sizeof(double), cmp);
	qsort(t_render, RENDERS, sizeof(double), cmp);
	qsort(t_scrape, SCRAPES, sizeof(double), cmp);
	/* Each: energy and power of two domains, CPU time, four events. */
	printf("targets %d (1 socket, package and dram, 4 events): %d target series\n", TARGETS,
	       TARGETS * 9);
	printf("exposition_bytes %zu (scrape %ld with headers and process metrics)\n", text_len,
	       bytes);
	printf("render_ms_median %.2f (update + text, in the loop, per interval)\n",
	       t_render[RENDERS / 2]);
	printf("render_ms_p99 %.2f\n", t_render[RENDERS * 99 / 100]);
	printf("update_ms_median %.2f (of which the counters alone)\n", t_update[RENDERS / 2]);
	printf("scrape_ms_median %.2f (loopback, new connection, to the last byte)\n",
	       t_scrape[SCRAPES / 2]);
	printf("scrape_ms_p99 %.2f\n", t_scrape[SCRAPES * 99 / 100]);
	printf("scrape_target_ms 10\n");
	printf("scrape_target_met %s\n", t_scrape[SCRAPES * 99 / 100] < 10 ? "yes" : "no");
	for (int i = 0; i < TARGETS; i++)
		free(targets[i].name);
	return 0;
}
