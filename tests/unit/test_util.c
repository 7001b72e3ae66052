// SPDX-License-Identifier: BSD-2-Clause
/* The shared helpers: number parsing, writing whole buffers, allocations that do not fail. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "util.h"

static void test_u64_decimal_never_octal(void)
{
	uint64_t v = 0;

	CHECK(bm_parse_u64("010", 0, UINT64_MAX, &v) == 0);
	CHECK_EQ_U64(v, 10);
	CHECK(bm_parse_u64("08", 0, UINT64_MAX, &v) == 0);
	CHECK_EQ_U64(v, 8);
	CHECK(bm_parse_u64("18446744073709551615", 0, UINT64_MAX, &v) == 0);
	CHECK_EQ_U64(v, UINT64_MAX);
	CHECK(bm_parse_u64_or_hex("010", 0, UINT64_MAX, &v) == 0);
	CHECK_EQ_U64(v, 10);
	/* Hexadecimal only where the caller takes it. */
	CHECK(bm_parse_u64("0x10", 0, UINT64_MAX, &v) == -EINVAL);
	CHECK(bm_parse_u64_or_hex("0x10", 0, UINT64_MAX, &v) == 0);
	CHECK_EQ_U64(v, 16);
	CHECK(bm_parse_u64_or_hex("0XfF", 0, UINT64_MAX, &v) == 0);
	CHECK_EQ_U64(v, 255);
}

static void test_u64_rejects_junk_and_range(void)
{
	static const char *const junk[] = { "",	   " 1",  "1 ", "+1",	 "-1",	 "1x",	 "x1",
					    "1.0", "1e3", "0x", "0x0x5", "0x-1", "0x 1", "\t7" };
	uint64_t v = 42;

	for (size_t i = 0; i < ARRAY_SIZE(junk); i++) {
		int dec = bm_parse_u64(junk[i], 0, UINT64_MAX, &v),
		    hex = bm_parse_u64_or_hex(junk[i], 0, UINT64_MAX, &v);

		if (dec != -EINVAL || hex != -EINVAL)
			printf("    \"%s\": %d, %d\n", junk[i], dec, hex);
		CHECK(dec == -EINVAL && hex == -EINVAL);
	}
	CHECK(bm_parse_u64(NULL, 0, UINT64_MAX, &v) == -EINVAL);
	CHECK(bm_parse_u64("18446744073709551616", 0, UINT64_MAX, &v) == -ERANGE);
	CHECK(bm_parse_u64_or_hex("0x10000000000000000", 0, UINT64_MAX, &v) == -ERANGE);
	CHECK(bm_parse_u64("9", 10, 20, &v) == -ERANGE);
	CHECK(bm_parse_u64("21", 10, 20, &v) == -ERANGE);
	/* A failed parse leaves the output alone. */
	CHECK_EQ_U64(v, 42);
}

struct drain {
	int fd;
	size_t got;
	bool in_order;
};

/* Reads slowly, so the writer keeps finding the pipe full. */
static void *drain(void *arg)
{
	struct drain *d = arg;
	unsigned char buf[4096];
	ssize_t n;

	while ((n = read(d->fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			d->in_order &= buf[i] == (unsigned char)((d->got + (size_t)i) % 251);
		d->got += (size_t)n;
		usleep(50);
	}
	return NULL;
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/*
 * A blocked write to a full pipe that a signal without SA_RESTART interrupts returns what it
 * wrote so far (a short write), or fails with EINTR when that was nothing.
 */
static void test_write_all_short_writes_and_eintr(void)
{
	enum {
		LEN = 4 << 20
	};
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	struct itimerval tick = { { 0, 200 }, { 0, 200 } }, off = { 0 };
	unsigned char *buf = malloc(LEN);
	struct drain d = { .in_order = true };
	sigset_t alrm;
	pthread_t t;
	int p[2], ret;

	if (!buf || pipe(p)) {
		printf("    cannot set up: %s\n", strerror(errno));
		unit_failed_checks++;
		free(buf);
		return;
	}
	for (size_t i = 0; i < LEN; i++)
		buf[i] = (unsigned char)(i % 251);
	d.fd = p[0];
	/* The signals go to the writer: the reader is started with them blocked. */
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &alrm, NULL);
	CHECK(pthread_create(&t, NULL, drain, &d) == 0);
	pthread_sigmask(SIG_UNBLOCK, &alrm, NULL);
	sigaction(SIGALRM, &sa, &old);
	alarms = 0;
	setitimer(ITIMER_REAL, &tick, NULL);
	ret = bm_write_all(p[1], buf, LEN);
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old, NULL);
	close(p[1]);
	pthread_join(t, NULL);
	close(p[0]);
	CHECK(ret == 0);
	CHECK(alarms > 0);
	CHECK_EQ_U64(d.got, LEN);
	CHECK(d.in_order);
	free(buf);

	CHECK(bm_write_all(-1, "x", 1) == -EBADF);
	CHECK(bm_write_all(-1, "", 0) == 0);
}

static void test_realloc_array_and_strdup(void)
{
	int *v = bm_realloc_array(NULL, 4, sizeof(*v));
	char *s;

	for (int i = 0; i < 4; i++)
		v[i] = i * 7;
	v = bm_realloc_array(v, 100000, sizeof(*v));
	for (int i = 0; i < 4; i++)
		CHECK(v[i] == i * 7);
	v[99999] = 1;
	/* Zero elements is still a pointer to free, not a free behind the caller's back. */
	v = bm_realloc_array(v, 0, sizeof(*v));
	CHECK(v != NULL);
	free(v);
	s = bm_strdup("cgroup");
	CHECK_STR(s, "cgroup");
	free(s);
	s = bm_strndup("package-0", 7);
	CHECK_STR(s, "package");
	free(s);
}

/* What a child that grows an array of n elements of size bytes says on stderr, and its status. */
static int grow_in_child(size_t n, size_t size, char *msg, size_t msglen)
{
	int p[2], status = -1;
	size_t off = 0;
	ssize_t len;
	pid_t pid;

	msg[0] = '\0';
	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], STDERR_FILENO);
		free(bm_realloc_array(NULL, n, size));
		_exit(0);
	}
	close(p[1]);
	/* stderr is unbuffered: the message comes in pieces. */
	while (pid > 0 && off < msglen - 1 && (len = read(p[0], msg + off, msglen - 1 - off)) > 0)
		off += (size_t)len;
	msg[off] = '\0';
	close(p[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	return status;
}

static void test_realloc_array_overflow_dies(void)
{
	char msg[128];
	int status;

	status = grow_in_child(SIZE_MAX / 8 + 1, 8, msg, sizeof(msg));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	CHECK_STR(msg, "bpfmeter: out of memory\n");
	status = grow_in_child(16, 8, msg, sizeof(msg));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_STR(msg, "");
}

const struct unit_test util_tests[] = {
	{ "util/u64_decimal_never_octal_hex_where_asked", test_u64_decimal_never_octal },
	{ "util/u64_rejects_sign_space_junk_empty_overflow", test_u64_rejects_junk_and_range },
	{ "util/write_all_over_short_writes_and_eintr", test_write_all_short_writes_and_eintr },
	{ "util/realloc_array_keeps_contents_strdup_copies", test_realloc_array_and_strdup },
	{ "util/realloc_array_overflow_says_out_of_memory_exits_1",
	  test_realloc_array_overflow_dies },
	{ NULL, NULL },
};
