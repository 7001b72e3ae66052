// SPDX-License-Identifier: BSD-2-Clause
#include <ctype.h>
#include <libgen.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

bool bm_verbose;

static void vmsg(const char *prefix, const char *fmt, va_list ap)
{
	fprintf(stderr, "bpfmeter: %s", prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void bm_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

void bm_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("warning: ", fmt, ap);
	va_end(ap);
}

void bm_debug(const char *fmt, ...)
{
	va_list ap;

	if (!bm_verbose)
		return;
	va_start(ap, fmt);
	vmsg("debug: ", fmt, ap);
	va_end(ap);
}

void bm_fail_at(struct bm_at *at, int col, const char *fmt, ...)
{
	size_t off;
	va_list ap;

	if (at->failed)
		return;
	at->failed = true;
	if (col > 0)
		off = (size_t)snprintf(at->err, at->errlen, "%s:%d:%d: ", at->path, at->line, col);
	else
		off = (size_t)snprintf(at->err, at->errlen, "%s:%d: ", at->path, at->line);
	if (off >= at->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(at->err + off, at->errlen - off, fmt, ap);
	va_end(ap);
}

/* strtoull alone would take spaces, a sign, octal, and in base 16 a second 0x. */
static int parse_u64(const char *s, bool hex, uint64_t min, uint64_t max, uint64_t *out)
{
	int base = 10;
	unsigned long long v;
	size_t n;

	if (!s)
		return -EINVAL;
	if (hex && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	n = strspn(s, base == 16 ? "0123456789abcdefABCDEF" : "0123456789");
	if (!n || s[n])
		return -EINVAL;
	errno = 0;
	v = strtoull(s, NULL, base);
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int bm_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	return parse_u64(s, false, min, max, out);
}

int bm_parse_u64_or_hex(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	return parse_u64(s, true, min, max, out);
}

int bm_parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	if (!s || !*s || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (*end || isnan(v))
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int bm_parse_seconds(const char *s, double min, double max, double *out)
{
	static const struct {
		const char *unit;
		double mult;
	} units[] = { { "ms", 1e-3 }, { "s", 1 }, { "m", 60 }, { "h", 3600 } };
	char num[64];
	size_t len, i, n;
	double v;
	int err;

	if (!s)
		return -EINVAL;
	len = strlen(s);
	for (i = 0; i < ARRAY_SIZE(units); i++) {
		n = strlen(units[i].unit);
		if (len > n && !strcmp(s + len - n, units[i].unit) &&
		    !isalpha((unsigned char)s[len - n - 1])) {
			if (len - n >= sizeof(num))
				return -EINVAL;
			memcpy(num, s, len - n);
			num[len - n] = '\0';
			err = bm_parse_double(num, 0, INFINITY, &v);
			if (err)
				return err;
			v *= units[i].mult;
			goto check;
		}
	}
	err = bm_parse_double(s, 0, INFINITY, &v);
	if (err)
		return err;
check:
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int bm_mkdir_p(const char *dir, mode_t mode)
{
	char *path = bm_strdup(dir);
	int err = 0;

	for (char *p = path + 1;; p++) {
		char c = *p;

		if (c != '/' && c)
			continue;
		*p = '\0';
		if (mkdir(path, mode) && errno != EEXIST) {
			err = -errno;
			break;
		}
		*p = c;
		if (!c)
			break;
	}
	free(path);
	return err;
}

int bm_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int bm_pread_text(int fd, char *buf, size_t size)
{
	ssize_t n = pread(fd, buf, size - 1, 0);

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

int bm_read_file(const char *path, char *buf, size_t size)
{
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = bm_pread_text(fd, buf, size);
	close(fd);
	return err;
}

int bm_parse_cpulist(const char *s, bool *set, int nbits)
{
	const char *p = s;
	long a, b;
	char *end;

	memset(set, 0, (size_t)nbits * sizeof(*set));
	if (!*p)
		return 0;
	for (;;) {
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		a = strtol(p, &end, 10);
		b = a;
		p = end;
		if (*p == '-') {
			p++;
			if (!isdigit((unsigned char)*p))
				return -EINVAL;
			b = strtol(p, &end, 10);
			p = end;
		}
		if (a > b || b >= nbits)
			return -EINVAL;
		for (long i = a; i <= b; i++)
			set[i] = true;
		if (*p == '\0' || *p == '\n')
			return 0;
		if (*p != ',')
			return -EINVAL;
		p++;
	}
}

static const char digit_pairs[201] = "00010203040506070809101112131415161718192021222324"
				     "25262728293031323334353637383940414243444546474849"
				     "50515253545556575859606162636465666768697071727374"
				     "75767778798081828384858687888990919293949596979899";

/*
 * The n digits of v (v < 10^n, zeros in front where it has fewer) backwards from end, two at
 * a time; in 32 bits where they fit, whose division by 100 is cheaper than 64 bits'.
 */
static inline void digits_backwards(char *end, uint64_t v, int n)
{
	uint32_t w;

	while (v > UINT32_MAX && n >= 2) {
		memcpy(end -= 2, digit_pairs + 2 * (v % 100), 2);
		v /= 100;
		n -= 2;
	}
	for (w = (uint32_t)v; n >= 2; n -= 2) {
		memcpy(end -= 2, digit_pairs + 2 * (w % 100), 2);
		w /= 100;
	}
	if (n)
		*--end = (char)('0' + w);
}

/* How many digits v has: from its bit length (x 1233 / 4096, about x log10(2)), then one
 * comparison with a power of 10. */
static inline int digit_count(uint64_t v)
{
	static const uint64_t pow10[] = {
		1e0,  1e1,  1e2,  1e3,	1e4,  1e5,  1e6,  1e7,	1e8,  1e9,
		1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19
	};
	uint64_t x = v | 1; /* 0 has a digit */
	int n = (64 - __builtin_clzll(x)) * 1233 >> 12;

	return n + 1 - (x < pow10[n]);
}

int bm_fmt_u64(char *buf, uint64_t v)
{
	int n = digit_count(v);

	digits_backwards(buf + n, v, n);
	buf[n] = '\0';
	return n;
}

int bm_fmt_i64(char *buf, int64_t v)
{
	if (v >= 0)
		return bm_fmt_u64(buf, (uint64_t)v);
	buf[0] = '-';
	/* In unsigned arithmetic, so that INT64_MIN has its magnitude too. */
	return 1 + bm_fmt_u64(buf + 1, -(uint64_t)v);
}

/*
 * The integer part is exact below 2^53, and so is the fraction (|v| minus it). The fraction
 * times 10^prec is rounded to an integer as printf does, on its exact value: the product is
 * hi + lo exactly (fma gives the product's rounding error), so the distance to the half
 * between two integers, (hi - trunc(hi) - 0.5) + lo, has the sign of the exact one.
 */
int bm_fmt_fixed(char *buf, double v, int prec)
{
	static const double scale[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9 };
	double a = fabs(v), frac, hi, lo, e;
	int64_t i, n, f;
	int len = 0;

	if (!(a < 0x1p53) || prec < 0 || prec > 9)
		return snprintf(buf, BM_FMT_FIXED_MAX, "%.*f", prec, v);
	/* Signed conversions, both ways: one instruction each, where unsigned ones branch. */
	i = (int64_t)a;
	frac = a - (double)i;
	hi = frac * scale[prec];
	n = (int64_t)hi;
	e = hi - (double)n - 0.5;
	/* |lo| is at most half an ulp of hi, 2^-24 below 10^9: only near a half can it decide. */
	if (fabs(e) < 0x1p-20) {
		lo = fma(frac, scale[prec], -hi);
		e += lo;
	}
	/* A tie goes to the even last digit: the fraction's, or with no digits the integer's. */
	f = n + (e > 0 || (e == 0 && (prec ? n : i) & 1));
	if (f == (int64_t)scale[prec]) {
		f = 0;
		i++;
	}
	if (signbit(v))
		buf[len++] = '-';
	if (i < 10)
		buf[len++] = (char)('0' + i);
	else
		len += bm_fmt_u64(buf + len, (uint64_t)i);
	if (prec) {
		/* f < 10^prec: zeros before its digits, up to prec of them. */
		buf[len] = '.';
		len += 1 + prec;
		digits_backwards(buf + len, (uint64_t)f, prec);
	}
	buf[len] = '\0';
	return len;
}

static double now(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double bm_now_mono(void)
{
	return now(CLOCK_MONOTONIC);
}

double bm_now_real(void)
{
	return now(CLOCK_REALTIME);
}

static void __attribute__((noreturn)) out_of_memory(void)
{
	bm_err("out of memory");
	exit(1);
}

void *bm_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		out_of_memory();
	return p;
}

void *bm_realloc_array(void *p, size_t n, size_t size)
{
	/*
	 * The overflow is checked here, not left to reallocarray(3): the sanitizers' reallocarray
	 * reports it as a fatal error of their own, and it should die the same way everywhere.
	 */
	if (size && n > SIZE_MAX / size)
		out_of_memory();
	p = realloc(p, n && size ? n * size : 1);
	if (!p)
		out_of_memory();
	return p;
}

char *bm_strdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		out_of_memory();
	return d;
}

char *bm_strndup(const char *s, size_t n)
{
	char *d = strndup(s, n);

	if (!d)
		out_of_memory();
	return d;
}

int bm_symlink_check(const char *path, char *err, size_t errlen)
{
	struct stat link, dir;
	char *copy, *parent;
	int ret = 0;

	if (lstat(path, &link) || !S_ISLNK(link.st_mode) || !link.st_uid)
		return 0;
	copy = strdup(path);
	if (!copy)
		return 0;
	parent = dirname(copy);
	if (!stat(parent, &dir) && (dir.st_mode & (S_ISVTX | S_IWOTH)) == (S_ISVTX | S_IWOTH) &&
	    dir.st_uid != link.st_uid) {
		snprintf(err, errlen,
			 "%s: a symlink of uid %u in the sticky world-writable directory %s, not "
			 "followed (another user may have put it there): give a path of your own",
			 path, (unsigned int)link.st_uid, parent);
		ret = -1;
	}
	free(copy);
	return ret;
}

int bm_replace_file(const char *path, const char *tmp, const void *buf, size_t len,
		    unsigned int mode)
{
	const char *slash = strrchr(path, '/');
	char beside[PATH_MAX];
	int fd, err;

	if (!tmp) {
		if (slash)
			snprintf(beside, sizeof(beside), "%.*s/.%s.tmp", (int)(slash - path), path,
				 slash + 1);
		else
			snprintf(beside, sizeof(beside), ".%s.tmp", path);
		tmp = beside;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	err = fchmod(fd, (mode_t)mode) ? -errno : bm_write_all(fd, buf, len);
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

/* The next UTF-8 character of s: its code point and length, or -1 for a byte that is none. */
static int32_t utf8_next(const unsigned char *s, int *len)
{
	int n = s[0] < 0x80		? 1
		: (s[0] & 0xe0) == 0xc0 ? 2
		: (s[0] & 0xf0) == 0xe0 ? 3
		: (s[0] & 0xf8) == 0xf0 ? 4
					: 0;
	int32_t c = n == 1 ? s[0] : n == 2 ? s[0] & 0x1f : n == 3 ? s[0] & 0x0f : s[0] & 0x07;

	*len = 1;
	if (!n)
		return -1;
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		c = (c << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and past U+10FFFF are no characters either. */
	if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return -1;
	*len = n;
	return c;
}

/* Columns a printable character takes on a terminal: 0 combining, 2 wide (East Asian, emoji). */
static int char_width(int32_t c)
{
	if ((c >= 0x300 && c <= 0x36f) || (c >= 0x200b && c <= 0x200f) ||
	    (c >= 0xfe00 && c <= 0xfe0f))
		return 0;
	if ((c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf) ||
	    (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) ||
	    (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) ||
	    (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x1f300 && c <= 0x1f64f) ||
	    (c >= 0x1f900 && c <= 0x1f9ff) || (c >= 0x20000 && c <= 0x3fffd))
		return 2;
	return 1;
}

/* s escaped for a terminal, unit by unit: where each unit's text starts in esc, its columns. */
struct term_units {
	char *esc;
	size_t *at;
	int *cols;
	size_t n, len, total;
};

static void term_units(struct term_units *u, const char *s)
{
	size_t n = strlen(s);

	u->esc = bm_calloc(4 * n + 1, 1);
	u->at = bm_calloc(n + 1, sizeof(*u->at));
	u->cols = bm_calloc(n + 1, sizeof(*u->cols));
	u->n = u->len = u->total = 0;
	for (size_t i = 0; i < n;) {
		int l;
		int32_t c = utf8_next((const unsigned char *)s + i, &l);

		u->at[u->n] = u->len;
		/* Control characters (C0, DEL, C1) and bytes that are no UTF-8: shown escaped. */
		if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0)) {
			unsigned char b = (unsigned char)s[i];

			u->len += (size_t)snprintf(u->esc + u->len, 5,
						   b == '\t'   ? "\\t"
						   : b == '\n' ? "\\n"
							       : "\\x%02x",
						   b);
			l = 1;
		} else {
			memcpy(u->esc + u->len, s + i, (size_t)l);
			u->len += (size_t)l;
		}
		u->cols[u->n] = c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0)
					? (int)(u->len - u->at[u->n])
					: char_width(c);
		u->total += (size_t)u->cols[u->n++];
		i += (size_t)l;
	}
	u->at[u->n] = u->len;
}

static void term_units_free(struct term_units *u)
{
	free(u->esc);
	free(u->at);
	free(u->cols);
}

int bm_term_fit(char *out, size_t size, const char *s, int width)
{
	struct term_units u;
	size_t first = 0;
	int used = 0, cut = 0;

	term_units(&u, s);
	/* Too wide: "..." and as much of the end as fits (the end names the container). */
	if (u.total > (size_t)width && width > 3) {
		first = u.n;
		while (first > 0 && used + u.cols[first - 1] <= width - 3)
			used += u.cols[--first];
		cut = 1;
	} else if (u.total > (size_t)width) {
		first = u.n;
	} else {
		used = (int)u.total;
	}
	snprintf(out, size, "%s%.*s", cut ? "..." : "", (int)(u.len - u.at[first]),
		 u.esc + u.at[first]);
	term_units_free(&u);
	return used + (cut ? 3 : 0);
}

int bm_term_fit_middle(char *out, size_t size, const char *s, int width, int tail)
{
	struct term_units u;
	size_t head = 0, first;
	int used = 0, avail = width - 3, tail_used = 0;

	if (width < 5)
		return bm_term_fit(out, size, s, width);
	term_units(&u, s);
	if (u.total <= (size_t)width) {
		snprintf(out, size, "%s", u.esc);
		term_units_free(&u);
		return (int)u.total;
	}
	/* The start keeps a third of the room at least. */
	if (tail > avail - avail / 3)
		tail = avail - avail / 3;
	first = u.n;
	while (first > 0 && tail_used + u.cols[first - 1] <= tail)
		tail_used += u.cols[--first];
	while (head < first && used + u.cols[head] <= avail - tail_used)
		used += u.cols[head++];
	snprintf(out, size, "%.*s...%.*s", (int)u.at[head], u.esc, (int)(u.len - u.at[first]),
		 u.esc + u.at[first]);
	term_units_free(&u);
	return used + 3 + tail_used;
}
