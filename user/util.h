/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_UTIL_H
#define BM_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Where key's probe starts in an open-addressing table of mask + 1 slots (a power of two):
 * Fibonacci hashing, which spreads dense keys (cgroup inode numbers, addresses) evenly.
 */
static inline size_t bm_hash_slot(uint64_t key, size_t mask)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & mask;
}

extern bool bm_verbose;

/* "bpfmeter: " + message + newline on stderr. */
void bm_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void bm_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void bm_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Where a parser is in a file, and the first error it met there. */
struct bm_at {
	const char *path;
	int line; /* 1-based */
	char *err;
	size_t errlen;
	bool failed;
};

/*
 * The first error wins (it is the one to fix first): "PATH:LINE:COLUMN: message" into
 * at->err (col <= 0: no column), the form of every malformed-file error.
 */
void bm_fail_at(struct bm_at *at, int col, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * Strict number parsing: the whole string, no space or junk, in [min, max]. Return 0, -EINVAL
 * (not a number) or -ERANGE; *out is set only on success.
 */
/* Digits only, no sign; a leading 0 is never octal ("010" is ten): options, sysfs, files. */
int bm_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* The same, or hexadecimal digits after 0x: what the kernel and perf print in hex. */
int bm_parse_u64_or_hex(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int bm_parse_double(const char *s, double min, double max, double *out);
/* A duration: a number with an optional unit ms, s (default), m, h. */
int bm_parse_seconds(const char *s, double min, double max, double *out);

/* dir and the directories above it that are missing, with mode: 0 or -errno. */
int bm_mkdir_p(const char *dir, mode_t mode);
/*
 * Who may read what bpfmeter writes: energy per interval is a side channel on other tenants
 * (Platypus, CVE-2020-8694), so outputs and recordings are root's and a group's, the spool
 * and the model state root's alone.
 */
#define BM_OUTPUT_MODE 0640
#define BM_PRIVATE_MODE 0600
/*
 * Whether path may be followed by root: not a symlink, or one the kernel's protected_symlinks
 * would follow (owned by root or by the directory's owner, or in a directory that is not
 * sticky and world-writable), so that another user cannot point our output at a file of
 * root's. 0, or -1 with a reason in err.
 */
int bm_symlink_check(const char *path, char *err, size_t errlen);
/* All of buf to fd, over short writes and EINTR: 0, or -errno of the write that failed. */
int bm_write_all(int fd, const void *buf, size_t len);
/*
 * Replace path with len bytes of buf, mode as given (not the umask's): written to tmp (NULL:
 * ".<name>.tmp" beside path), then renamed over path, so that a reader opening path gets the
 * old content or the new, never a torn one. Returns 0 or -errno (tmp removed).
 */
int bm_replace_file(const char *path, const char *tmp, const void *buf, size_t len,
		    unsigned int mode);
/* Read a small text file into buf (NUL-terminated, trailing newline stripped). */
int bm_read_file(const char *path, char *buf, size_t size);
/* The same from an open file, from its start: a sysfs file gives its current value. */
int bm_pread_text(int fd, char *buf, size_t size);
/* Parse a CPU list such as "0-3,8,10-11" into a bitmap of nbits. Returns 0 or -EINVAL. */
int bm_parse_cpulist(const char *s, bool *set, int nbits);

/*
 * Numbers as text without printf's floating-point path, for the outputs' rows. Each writes
 * NUL-terminated text into buf and returns its length. bm_fmt_fixed is exactly
 * snprintf("%.*f", prec, v) for prec 0 to 9 (correctly rounded, ties to even, "-0.000" for a
 * negative that rounds to zero); |v| >= 2^53, NaN and infinities go through snprintf itself.
 */
#define BM_FMT_INT_MAX 21 /* buf size: "18446744073709551615" or "-9223372036854775808", NUL */
#define BM_FMT_FIXED_MAX 330 /* buf size: "%.9f" of -DBL_MAX and its NUL */
/*
 * s as a terminal may show it in width columns: control characters and bytes that are not
 * UTF-8 escaped (\t, \n, \xHH: a cgroup name cannot move the cursor or recolour the screen),
 * wide characters counted as two columns; too wide, "..." and the end of it. Into out (size at
 * least 4 x strlen(s) + 4). Returns the columns it takes.
 */
int bm_term_fit(char *out, size_t size, const char *s, int width);
/*
 * The same, too wide cut in the middle: the start, "...", and up to tail columns of the end
 * (the start keeps a third of the width at least; tail 0: the start and "..." alone).
 */
int bm_term_fit_middle(char *out, size_t size, const char *s, int width, int tail);
int bm_fmt_u64(char *buf, uint64_t v);
int bm_fmt_i64(char *buf, int64_t v);
int bm_fmt_fixed(char *buf, double v, int prec);

double bm_now_mono(void);
double bm_now_real(void);

/*
 * Allocations that do not fail: out of memory, or where n * size overflows, they print
 * "bpfmeter: out of memory" and exit 1.
 */
void *bm_calloc(size_t n, size_t size);
/* p grown or shrunk to n elements of size bytes, as realloc(3) keeps the contents. */
void *bm_realloc_array(void *p, size_t n, size_t size);
char *bm_strdup(const char *s);
char *bm_strndup(const char *s, size_t n);

#endif
