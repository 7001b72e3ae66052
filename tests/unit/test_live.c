// SPDX-License-Identifier: BSD-2-Clause
/* The live view's pure pieces: names cut in the middle, sorting, the tree's totals, the screen. */
#include <stdlib.h>
#include <string.h>

#include "live.h"
#include "unit.h"
#include "util.h"

static struct live_row *row(struct live_rows *r, const char *name, double cpu, double watts,
			    double joules)
{
	struct live_row *x = live_rows_add(r, name, NULL);

	x->path = name[0] == '/';
	x->cpu_pct = cpu;
	x->watts[BM_DOMAIN_PACKAGE] = watts;
	x->power_w = watts;
	x->energy_j = joules;
	return x;
}

static const struct live_row *find(const struct live_rows *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->v[i].name, name))
			return &r->v[i];
	return NULL;
}

static void test_fit_middle(void)
{
	const char *path = "/system.slice/docker-0123456789abcdef0123456789abcdef.scope/"
			   "worker.service";
	char out[512];
	int cols;

	/* The start (the container id's first digits) and the leaf, "..." between. */
	cols = live_fit_middle(out, sizeof(out), path, 50);
	CHECK_EQ_U64(cols, 50);
	CHECK_EQ_U64(strlen(out), 50);
	CHECK(!strncmp(out, "/system.slice/docker-0123", 25));
	CHECK(strstr(out, ".../worker.service") &&
	      !strcmp(strstr(out, "/worker.service"), "/worker.service"));
	/* Short enough: as it is. */
	cols = live_fit_middle(out, sizeof(out), "/a/b", 50);
	CHECK_STR(out, "/a/b");
	CHECK_EQ_U64(cols, 4);
	/* A leaf longer than the room keeps a third of the width for the start. */
	cols = live_fit_middle(out, sizeof(out),
			       "/s/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 21);
	CHECK_EQ_U64(cols, 21);
	CHECK(!strncmp(out, "/s/aaa...", 9));
	/* Escaped and measured as shown: a TAB is "\t", a wide character two columns. */
	cols = live_fit_middle(out, sizeof(out), "/x\t\xe4\xb8\xad", 10);
	CHECK_STR(out, "/x\\t\xe4\xb8\xad");
	CHECK_EQ_U64(cols, 6);
	cols = live_fit_middle(out, sizeof(out),
			       "/\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad/leaf",
			       12);
	CHECK(cols <= 12);
	CHECK(strstr(out, "...") && strstr(out, "/leaf"));
	/* Never wider than asked, however narrow. */
	for (int w = 1; w < 20; w++)
		CHECK(live_fit_middle(out, sizeof(out), path, w) <= w);
}

static void test_header_cut(void)
{
	char out[256];
	int cols;

	/* tail 0: a header line keeps its start, "..." at the end. */
	cols = bm_term_fit_middle(out, sizeof(out),
				  "power (powercap): package 12.00 W, dram 1.00 W", 20, 0);
	CHECK_EQ_U64(cols, 20);
	CHECK_STR(out, "power (powercap):...");
}

static void test_missing_line(void)
{
	char out[512];

	live_missing_line(
		"cycles (no PMU (this machine has none: most VMs)), instructions (no PMU "
		"(this machine has none: most VMs)), ref-cycles (no PMU (this machine has "
		"none: most VMs)), cache-misses (no PMU (this machine has none: most VMs))",
		out, sizeof(out));
	CHECK_STR(out, "no PMU: cycles, instructions, ref-cycles, cache-misses");
	live_missing_line("cycles (permission denied (needs CAP_PERFMON)), branch-misses (no PMU "
			  "(this machine has none: most VMs))",
			  out, sizeof(out));
	CHECK_STR(out, "permission denied: cycles; no PMU: branch-misses");
	live_missing_line("cache-misses (not counted by this CPU's PMU (it has no such event)), "
			  "ref-cycles (not counted by this CPU's PMU (it has no such event))",
			  out, sizeof(out));
	CHECK_STR(out, "not counted by this CPU's PMU: cache-misses, ref-cycles");
}

static void test_energy_text(void)
{
	char out[32];

	live_energy_text(out, sizeof(out), 12.34);
	CHECK_STR(out, "12.3 J");
	live_energy_text(out, sizeof(out), 3599);
	CHECK_STR(out, "3599.0 J");
	live_energy_text(out, sizeof(out), 7200);
	CHECK_STR(out, "2.00 Wh");
}

static void test_sort_keys(void)
{
	struct live_rows r = { 0 };

	row(&r, "/b", 10, 3, 100);
	row(&r, "/a", 30, 1, 50);
	row(&r, "/c", 20, 2, 10);
	live_sort(r.v, r.n, LIVE_SORT_NAME, false);
	CHECK_STR(r.v[0].name, "/a");
	CHECK_STR(r.v[2].name, "/c");
	live_sort(r.v, r.n, LIVE_SORT_NAME, true);
	CHECK_STR(r.v[0].name, "/c");
	CHECK_STR(r.v[2].name, "/a");
	live_sort(r.v, r.n, LIVE_SORT_CPU, false);
	CHECK_STR(r.v[0].name, "/a");
	CHECK_STR(r.v[1].name, "/c");
	live_sort(r.v, r.n, LIVE_SORT_POWER, false);
	CHECK_STR(r.v[0].name, "/b");
	CHECK_STR(r.v[1].name, "/c");
	live_sort(r.v, r.n, LIVE_SORT_ENERGY, false);
	CHECK_STR(r.v[0].name, "/b");
	CHECK_STR(r.v[1].name, "/a");
	live_sort(r.v, r.n, LIVE_SORT_ENERGY, true);
	CHECK_STR(r.v[0].name, "/c");
	/* Without energy, power ties: CPU time decides. */
	for (size_t i = 0; i < r.n; i++)
		r.v[i].power_w = 0;
	live_sort(r.v, r.n, LIVE_SORT_POWER, false);
	CHECK_STR(r.v[0].name, "/a");
	live_rows_free(&r);
}

static void test_keys(void)
{
	struct live_view v;

	live_view_init(&v, GROUP_BY_CGROUP, 0, true, false);
	CHECK(live_view_key(&v, 'n') == LIVE_REDRAW && v.sort == LIVE_SORT_NAME && !v.reverse);
	CHECK(live_view_key(&v, 'n') == LIVE_REDRAW && v.reverse);
	CHECK(live_view_key(&v, 'c') == LIVE_REDRAW && v.sort == LIVE_SORT_CPU && !v.reverse);
	CHECK(live_view_key(&v, 't') == LIVE_REDRAW && v.tree);
	CHECK(live_view_key(&v, 'g') == LIVE_REDRAW && v.group == GROUP_BY_CONTAINER);
	CHECK(live_view_key(&v, 'g') == LIVE_REDRAW && v.group == GROUP_BY_POD);
	CHECK(live_view_key(&v, 'g') == LIVE_REDRAW && v.group == GROUP_BY_UNIT);
	CHECK(live_view_key(&v, 'g') == LIVE_REDRAW && v.group == GROUP_BY_CGROUP);
	CHECK(live_view_key(&v, '?') == LIVE_REDRAW && v.help);
	CHECK(live_view_key(&v, 'h') == LIVE_REDRAW && !v.help);
	CHECK(live_view_key(&v, ' ') == LIVE_REFRESH);
	CHECK(live_view_key(&v, 'x') == LIVE_NONE);
	CHECK(live_view_key(&v, 'q') == LIVE_QUIT);
	live_view_free(&v);
	/* Rows the pipeline grouped already: g does nothing. */
	live_view_init(&v, GROUP_BY_UNIT, 0, false, false);
	CHECK(v.group == GROUP_BY_CGROUP);
	CHECK(live_view_key(&v, 'g') == LIVE_NONE && v.group == GROUP_BY_CGROUP);
	live_view_free(&v);
}

/* A parent with processes of its own and two children: its total is the three together. */
static void test_tree_totals(void)
{
	struct live_rows in = { 0 }, out = { 0 };
	const struct live_row *p, *a, *b, *q;

	row(&in, "/p", 10, 1, 5)->est = LIVE_EST_PROVISIONAL;
	row(&in, "/p/a", 20, 2, 7);
	row(&in, "/p/b", 30, 4, 11);
	row(&in, "/q/x/y", 5, 0.5, 1);
	row(&in, "idle", 50, 8, 40);
	live_tree(&in, &out, LIVE_SORT_CPU, false);
	CHECK_EQ_U64(out.n, 7);
	p = find(&out, "/p");
	a = find(&out, "/p/a");
	b = find(&out, "/p/b");
	q = find(&out, "/q");
	CHECK(p && a && b && q && find(&out, "/q/x"));
	if (!p || !a || !b || !q)
		goto out;
	CHECK(fabs(p->cpu_pct - 60) < 1e-9);
	CHECK(fabs(p->power_w - 7) < 1e-9 && fabs(p->watts[BM_DOMAIN_PACKAGE] - 7) < 1e-9);
	CHECK(fabs(p->energy_j - 23) < 1e-9);
	CHECK(p->est == LIVE_EST_PROVISIONAL);
	CHECK(p->parent && p->depth == 0 && a->depth == 1 && !a->parent);
	CHECK_STR(a->label, "a");
	/* A made ancestor: the sum of what is below it. */
	CHECK(fabs(q->cpu_pct - 5) < 1e-9 && q->parent);
	CHECK_EQ_U64(find(&out, "/q/x/y")->depth, 2);
	/* Display order: by CPU, each subtree under its root, children sorted too. */
	CHECK_STR(out.v[0].name, "/p");
	CHECK_STR(out.v[1].name, "/p/b");
	CHECK_STR(out.v[2].name, "/p/a");
	CHECK_STR(out.v[3].name, "idle");
	CHECK_STR(out.v[4].name, "/q");
	CHECK_STR(out.v[5].name, "/q/x");
	CHECK_STR(out.v[6].name, "/q/x/y");
	/* The root as a row of its own is everything's parent; the rest hangs under it. */
	row(&in, "/", 1, 0, 0);
	live_tree(&in, &out, LIVE_SORT_NAME, false);
	p = find(&out, "/");
	CHECK(p && fabs(p->cpu_pct - 66) < 1e-9 && p->depth == 0);
	CHECK(find(&out, "/p") && find(&out, "/p")->depth == 1);
	CHECK(find(&out, "idle") && find(&out, "idle")->depth == 0);
out:
	live_rows_free(&in);
	live_rows_free(&out);
}

static void test_group_rows(void)
{
	struct live_rows in = { 0 }, out = { 0 };
	const struct live_row *g;

	row(&in, "/p/a", 20, 2, 7);
	row(&in, "/p/b", 30, 4, 11);
	row(&in, "/q", 5, 1, 1);
	row(&in, "idle", 50, 8, 40);
	live_group(&in, &out, GROUP_BY_DEPTH, 1);
	CHECK_EQ_U64(out.n, 3);
	g = find(&out, "/p");
	CHECK(g && fabs(g->cpu_pct - 50) < 1e-9 && fabs(g->energy_j - 18) < 1e-9);
	CHECK(find(&out, "idle") && find(&out, "/q"));
	live_group(&in, &out, GROUP_BY_CGROUP, 0);
	CHECK_EQ_U64(out.n, 4);
	live_rows_free(&in);
	live_rows_free(&out);
}

/* The screen's lines, the escapes of its drawing taken out. */
static int screen_lines(const char *s, char lines[][512], int max)
{
	int n = 0, len = 0;

	for (; *s && n < max; s++) {
		if (*s == '\033') {
			s++;
			if (*s == '[')
				while (s[1] && !(s[1] >= '@' && s[1] <= '~'))
					s++;
			s++;
			continue;
		}
		if (*s == '\n') {
			lines[n++][len] = '\0';
			len = 0;
			continue;
		}
		if (len < 511)
			lines[n][len++] = *s;
	}
	if (n < max)
		lines[n++][len] = '\0';
	return n;
}

static void test_screen_fits(void)
{
	static char lines[64][512];
	struct live_view v;
	int n, w;

	live_view_init(&v, GROUP_BY_CGROUP, 0, true, true);
	for (int i = 0; i < 30; i++) {
		char name[128];

		snprintf(name, sizeof(name),
			 "/system.slice/docker-%02d0123456789abcdef.scope/app/%d", i, i);
		row(&v.snap, name, i, i / 10.0, i)->est = i % 2 ? LIVE_EST_ESTIMATED : 0;
	}
	v.header[0] = bm_strdup("bpfmeter on a-rather-long-host-name: 64 CPUs, interval 1.00 s");
	v.header[1] = bm_strdup("power (powercap): package 120.00 W, dram 10.00 W, psys 150.00 W");
	v.header[2] = bm_strdup("model: package #3, 120 samples, error +30.00 W");
	v.header_alert[2] = true;
	v.header[3] = bm_strdup("no PMU: cycles, instructions, ref-cycles, cache-misses");
	v.domains = 1u << BM_DOMAIN_PACKAGE;
	v.have_interval = true;
	for (w = 20; w <= 200; w += 30) {
		live_view_render(&v, w, 12);
		CHECK(!strncmp(v.screen.p, "\033[H", 3));
		CHECK(!memchr(v.screen.p, '\r', v.screen.len));
		n = screen_lines(v.screen.p, lines, 64);
		CHECK_EQ_U64(n, 12);
		for (int i = 0; i < n; i++)
			if (strlen(lines[i]) > (size_t)w)
				CHECK(!"a line wider than the screen");
		CHECK(!strncmp(lines[11], "+", 1) && strstr(lines[11], " more"));
	}
	/* At 30 lines: the header, a blank and the columns take 6, 23 rows, "+7 more". */
	live_view_render(&v, 100, 30);
	n = screen_lines(v.screen.p, lines, 64);
	CHECK_EQ_U64(n, 30);
	CHECK_STR(lines[29], "+7 more");
	/* Dimmed: the estimated rows; highlighted: the model's large error. */
	CHECK(strstr(v.screen.p, "\033[2m") && strstr(v.screen.p, "\033[1;31mmodel:"));
	CHECK(strstr(v.screen.p, "ESTIMATE") && strstr(v.screen.p, "estimated"));
	/* Without colour, no escapes but the drawing's. */
	v.color = false;
	live_view_render(&v, 100, 30);
	CHECK(!strstr(v.screen.p, "\033[2m") && !strstr(v.screen.p, "\033[1;31m"));
	/* IPC where cycles and instructions are counted; "-" for a row without cycles. */
	v.ipc = true;
	v.snap.v[29].cycles = 1000;
	v.snap.v[29].instructions = 2500;
	live_view_render(&v, 120, 30);
	n = screen_lines(v.screen.p, lines, 64);
	CHECK(strstr(lines[5], " IPC "));
	CHECK(strstr(lines[6], " 2.50 "));
	CHECK(strstr(lines[7], "  - "));
	/* A tiny screen: never more lines than it has. */
	live_view_render(&v, 10, 3);
	CHECK_EQ_U64(screen_lines(v.screen.p, lines, 64), 3);
	live_view_free(&v);
}

/* A row of the view with a standard error of its package watts (err < 0: none). */
static struct live_row *row_err(struct live_rows *r, const char *name, double watts, double err)
{
	struct live_row *x = row(r, name, 1, watts, 1);

	if (err >= 0) {
		x->watts_err[BM_DOMAIN_PACKAGE] = err;
		x->err_have = 1u << BM_DOMAIN_PACKAGE;
	} else {
		x->err_missing = 1u << BM_DOMAIN_PACKAGE;
	}
	return x;
}

/* Errors add over a group and a tree; one part without one leaves the sum without one. */
static void test_err_sums(void)
{
	struct live_rows in = { 0 }, out = { 0 };
	const struct live_row *g;
	const unsigned int pkg = 1u << BM_DOMAIN_PACKAGE;

	row_err(&in, "/p/a", 2, 0.25);
	row_err(&in, "/p/b", 4, 0.5);
	row_err(&in, "/q/a", 2, 0.25);
	row_err(&in, "/q/b", 4, -1);
	live_group(&in, &out, GROUP_BY_DEPTH, 1);
	g = find(&out, "/p");
	CHECK(g && live_row_err_known(g) == pkg &&
	      fabs(g->watts_err[BM_DOMAIN_PACKAGE] - 0.75) < 1e-12);
	g = find(&out, "/q");
	CHECK(g && !live_row_err_known(g));
	/* The tree: a made ancestor has its children's sum; /q stays unknown. */
	live_tree(&in, &out, LIVE_SORT_NAME, false);
	g = find(&out, "/p");
	CHECK(g && live_row_err_known(g) == pkg &&
	      fabs(g->watts_err[BM_DOMAIN_PACKAGE] - 0.75) < 1e-12);
	g = find(&out, "/p/a");
	CHECK(g && live_row_err_known(g) == pkg &&
	      fabs(g->watts_err[BM_DOMAIN_PACKAGE] - 0.25) < 1e-12);
	g = find(&out, "/q");
	CHECK(g && !live_row_err_known(g));
	g = find(&out, "/q/a");
	CHECK(g && live_row_err_known(g) == pkg);
	live_rows_free(&in);
	live_rows_free(&out);
}

/* The rows of an interval: "±" beside the watts where the row has a standard error only. */
static void test_err_shown(void)
{
	static const int package_id[] = { 0 };
	static char lines[64][512];
	struct bm_target a = { .id = 1, .kind = BM_TARGET_CGROUP, .name = "/a" };
	struct bm_target b = { .id = 2, .kind = BM_TARGET_CGROUP, .name = "/b" };
	struct bm_meta m = { .host = "h",
			     .hook = "tp_btf",
			     .energy_source = "powercap",
			     .package_id = package_id,
			     .cycles_idx = -1,
			     .instructions_idx = -1,
			     .ref_cycles_idx = -1 };
	struct bm_row rows[2] = {
		{ .target = &a, .socket = -1, .domains = 1u << BM_DOMAIN_PACKAGE },
		{ .target = &b, .socket = -1, .domains = 1u << BM_DOMAIN_PACKAGE },
	};
	struct bm_interval iv = { .interval_s = 2, .rows = rows, .n = 2, .nr_online = 2 };
	struct live_view v;
	const char *la = NULL, *lb = NULL, *head = NULL;
	int n;

	rows[0].s.energy_j[BM_DOMAIN_PACKAGE] = 24;
	rows[0].model_id[BM_DOMAIN_PACKAGE] = 1;
	rows[0].power_err_w[BM_DOMAIN_PACKAGE] = 1.5;
	rows[0].err_domains = 1u << BM_DOMAIN_PACKAGE;
	rows[1].s.energy_j[BM_DOMAIN_PACKAGE] = 8;
	rows[1].model_id[BM_DOMAIN_PACKAGE] = 1;
	rows[1].power_err_w[BM_DOMAIN_PACKAGE] = 7; /* not one: no bit */
	live_view_init(&v, GROUP_BY_CGROUP, 0, true, false);
	live_view_update(&v, &m, &iv);
	live_view_render(&v, 100, 20);
	n = screen_lines(v.screen.p, lines, 64);
	for (int i = 0; i < n; i++) {
		if (!strncmp(lines[i], "TARGET", 6))
			head = lines[i];
		else if (!strncmp(lines[i], "/a ", 3))
			la = lines[i];
		else if (!strncmp(lines[i], "/b ", 3))
			lb = lines[i];
	}
	CHECK(head && la && lb);
	if (head && la && lb) {
		CHECK(strstr(head, "package W \xc2\xb1W ") != NULL);
		CHECK(strstr(la, " 12.00 \xc2\xb1"
				 "1.50 ") != NULL);
		CHECK(strstr(lb, " 4.00 ") != NULL && !strstr(lb, "\xc2\xb1"));
		/* The columns after it stay in line: "±1.50" and the blank are as wide. */
		CHECK_EQ_U64(strlen(la) - 1, strlen(lb));
	}
	/* Narrow to wide: never a line wider than the screen (the "±" one column). */
	for (int w = 20; w <= 200; w += 30) {
		live_view_render(&v, w, 12);
		n = screen_lines(v.screen.p, lines, 64);
		for (int i = 0; i < n; i++) {
			size_t cols = 0;

			for (const char *c = lines[i]; *c; c++)
				cols += ((unsigned char)*c & 0xc0) != 0x80;
			if (cols > (size_t)w)
				CHECK(!"a line wider than the screen");
		}
	}
	/* No row with one: no column, no "±". */
	rows[0].err_domains = 0;
	live_view_update(&v, &m, &iv);
	live_view_render(&v, 100, 20);
	CHECK(!strstr(v.screen.p, "\xc2\xb1"));
	live_view_free(&v);
}

const struct unit_test live_tests[] = {
	{ "live/fit_middle_keeps_start_and_leaf", test_fit_middle },
	{ "live/header_cut_to_width", test_header_cut },
	{ "live/missing_events_one_line", test_missing_line },
	{ "live/energy_in_joules_then_wh", test_energy_text },
	{ "live/sort_keys_and_reverse", test_sort_keys },
	{ "live/keys", test_keys },
	{ "live/tree_parent_totals_are_own_plus_children", test_tree_totals },
	{ "live/group_by_rolls_rows_up", test_group_rows },
	{ "live/screen_fits_width_and_height", test_screen_fits },
	{ "live/power_errors_add_and_unknown_stays_unknown", test_err_sums },
	{ "live/power_error_beside_watts_only_where_known", test_err_shown },
	{ NULL, NULL },
};
