/*
 * The temporary-file family (mkstemp and friends, mkdtemp, mktemp,
 * tmpfile) for templates under a mount.
 *
 * glibc makes the names in __gen_tempname with its internal open, mkdir
 * and lstat, which LD_PRELOAD cannot reach; so for a template that may
 * name something under a mount the name is generated here and tried with
 * the shim's open/mkdir/lstat.  Host templates go to glibc unchanged.
 * tempnam and tmpnam stay glibc's (they only build names; the directory
 * they choose comes from TMPDIR or P_tmpdir, checked on the host).
 *
 * Behaviour as glibc's: the template must end in "XXXXXX" (before
 * suffixlen bytes of suffix), else EINVAL with the template untouched; a
 * name is tried up to 62^3 times, then EEXIST; files are created 0600,
 * directories 0700.  The random part comes from getrandom, mixed with
 * the cycle counter when getrandom cannot answer; no allocation.
 *
 * No shared state (the generator's state is per call).
 */
#undef _FILE_OFFSET_BITS
#undef _FORTIFY_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shim/real_fs.h"
#include "shim/shim.h"
#include "shim/wrap_stdio.h"
#include "vfs/vfs.h"

#define TMP_ATTEMPTS (62 * 62 * 62)
#define TMP_XS 6

enum tmp_kind { TMP_FILE, TMP_DIR, TMP_NOCREATE };

SHIM_REAL_DECL(mkstemp);
SHIM_REAL_DECL(mkstemp64);
SHIM_REAL_DECL(mkostemp);
SHIM_REAL_DECL(mkostemp64);
SHIM_REAL_DECL(mkstemps);
SHIM_REAL_DECL(mkstemps64);
SHIM_REAL_DECL(mkostemps);
SHIM_REAL_DECL(mkostemps64);
SHIM_REAL_DECL(mkdtemp);
SHIM_REAL_DECL(tmpfile);
SHIM_REAL_DECL(tmpfile64);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
SHIM_REAL_DECL(mktemp);
#pragma GCC diagnostic pop

static const char tmp_letters[] =
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/* 64 random bits: getrandom when it answers at once, else a mix of the
 * cycle counter, the clock and the previous value (splitmix64 finaliser). */
static uint64_t tmp_random(uint64_t prev)
{
	uint64_t v;
	if (getrandom(&v, sizeof v, GRND_NONBLOCK) == (ssize_t)sizeof v)
		return v;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	v = prev ^ __builtin_ia32_rdtsc() ^ ((uint64_t)ts.tv_nsec << 20) ^
	    (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40);
	v += 0x9e3779b97f4a7c15ull;
	v = (v ^ (v >> 30)) * 0xbf58476d1ce4e5b9ull;
	v = (v ^ (v >> 27)) * 0x94d049bb133111ebull;
	return v ^ (v >> 31);
}

/*
 * Fill the Xs and try the name until it is free (TMP_NOCREATE), created
 * (TMP_FILE: returns the descriptor; TMP_DIR: 0), or an error other than
 * EEXIST occurs.  -1 + errno on failure.
 */
static int tmp_make(char *tmpl, int suffixlen, int flags, enum tmp_kind kind)
{
	size_t len = strlen(tmpl);
	if (suffixlen < 0 || len < (size_t)TMP_XS + (size_t)suffixlen ||
	    memcmp(tmpl + len - TMP_XS - suffixlen, "XXXXXX", TMP_XS) != 0) {
		errno = EINVAL;
		return -1;
	}
	char *xs = tmpl + len - TMP_XS - suffixlen;
	int saved = errno;
	uint64_t v = 0;
	for (unsigned n = 0; n < TMP_ATTEMPTS; n++) {
		v = tmp_random(v);
		uint64_t r = v;
		for (int i = 0; i < TMP_XS; i++, r /= 62)
			xs[i] = tmp_letters[r % 62];
		int fd;
		struct stat st;
		switch (kind) {
		case TMP_FILE:
			fd = open(tmpl, (flags & ~O_ACCMODE) | O_RDWR | O_CREAT | O_EXCL, 0600);
			if (fd >= 0) {
				errno = saved;
				return fd;
			}
			break;
		case TMP_DIR:
			if (mkdir(tmpl, 0700) == 0) {
				errno = saved;
				return 0;
			}
			break;
		case TMP_NOCREATE:
			if (lstat(tmpl, &st) == 0 || errno == EOVERFLOW) {
				errno = EEXIST;
			} else if (errno == ENOENT) {
				errno = saved;
				return 0;
			}
			break;
		}
		if (errno != EEXIST)
			return -1;
	}
	errno = EEXIST;
	return -1;
}

static inline bool tmp_ours(const char *tmpl)
{
	return vfs_path_maybe_mine(tmpl);
}

SHIM_EXPORT int mkstemp(char *tmpl)
{
	if (!tmp_ours(tmpl))
		return SHIM_REAL(mkstemp)(tmpl);
	return tmp_make(tmpl, 0, 0, TMP_FILE);
}

SHIM_EXPORT int mkstemp64(char *tmpl)
{
	if (!tmp_ours(tmpl))
		return SHIM_REAL(mkstemp64)(tmpl);
	return tmp_make(tmpl, 0, 0, TMP_FILE);
}

SHIM_EXPORT int mkostemp(char *tmpl, int flags)
{
	if (!tmp_ours(tmpl))
		return SHIM_REAL(mkostemp)(tmpl, flags);
	return tmp_make(tmpl, 0, flags, TMP_FILE);
}

SHIM_EXPORT int mkostemp64(char *tmpl, int flags)
{
	if (!tmp_ours(tmpl))
		return SHIM_REAL(mkostemp64)(tmpl, flags);
	return tmp_make(tmpl, 0, flags, TMP_FILE);
}

SHIM_EXPORT int mkstemps(char *tmpl, int suffixlen)
{
	if (!tmp_ours(tmpl))
		return SHIM_REAL(mkstemps)(tmpl, suffixlen);
	return tmp_make(tmpl, suffixlen, 0, TMP_FILE);
}

SHIM_EXPORT int mkstemps64(char *tmpl, int suffixlen)
{
	if (!tmp_ours(tmpl))
		return SHIM_REAL(mkstemps64)(tmpl, suffixlen);
	return tmp_make(tmpl, suffixlen, 0, TMP_FILE);
}

SHIM_EXPORT int mkostemps(char *tmpl, int suffixlen, int flags)
{
	if (!tmp_ours(tmpl))
		return SHIM_REAL(mkostemps)(tmpl, suffixlen, flags);
	return tmp_make(tmpl, suffixlen, flags, TMP_FILE);
}

SHIM_EXPORT int mkostemps64(char *tmpl, int suffixlen, int flags)
{
	if (!tmp_ours(tmpl))
		return SHIM_REAL(mkostemps64)(tmpl, suffixlen, flags);
	return tmp_make(tmpl, suffixlen, flags, TMP_FILE);
}

SHIM_EXPORT char *mkdtemp(char *tmpl)
{
	if (!tmp_ours(tmpl))
		return SHIM_REAL(mkdtemp)(tmpl);
	return tmp_make(tmpl, 0, 0, TMP_DIR) == 0 ? tmpl : NULL;
}

/* mktemp reports failure by an empty template. */
SHIM_EXPORT char *mktemp(char *tmpl)
{
	if (!tmp_ours(tmpl)) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
		return SHIM_REAL(mktemp)(tmpl);
#pragma GCC diagnostic pop
	}
	if (tmp_make(tmpl, 0, 0, TMP_NOCREATE) < 0)
		tmpl[0] = '\0';
	return tmpl;
}

/*
 * tmpfile: glibc's directory (P_tmpdir, never TMPDIR), an O_TMPFILE file
 * when the filesystem can, else a named file unlinked at once; the
 * stream is opened "w+".  Only when P_tmpdir lies under a mount (mount=
 * can be /tmp) is this the shim's business.
 */
static FILE *tmp_file(void)
{
	int fd = open(P_tmpdir, O_RDWR | O_TMPFILE | O_EXCL, 0600);
	if (fd < 0) {
		char name[] = P_tmpdir "/tmpfXXXXXX";
		fd = tmp_make(name, 0, 0, TMP_FILE);
		if (fd < 0)
			return NULL;
		unlink(name);
	}
	FILE *fp = shim_stream_fdopen(fd, "w+");
	if (!fp) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return fp;
}

SHIM_EXPORT FILE *tmpfile(void)
{
	if (!vfs_path_maybe_mine(P_tmpdir "/"))
		return SHIM_REAL(tmpfile)();
	return tmp_file();
}

SHIM_EXPORT FILE *tmpfile64(void)
{
	if (!vfs_path_maybe_mine(P_tmpdir "/"))
		return SHIM_REAL(tmpfile64)();
	return tmp_file();
}
