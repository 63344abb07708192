/*
 * realpath, __realpath_chk, canonicalize_file_name and
 * get_current_dir_name, re-implemented over the shim's own readlink,
 * stat and getcwd; pathconf and fpathconf for files of mounted
 * filesystems (ttyname is in wrap_file.c).
 *
 * glibc resolves with its internal readlink/stat/getcwd, which LD_PRELOAD
 * cannot reach, so it could not follow a symlink into or inside /ramfs,
 * nor start from a cwd inside it.  realpath is re-implemented for every
 * path (a host symlink may lead into a mount); the rules are glibc's
 * (2.36, the gnulib canonicalize algorithm):
 *   - NULL: EINVAL; "": ENOENT; a relative name starts at getcwd();
 *   - "." is dropped and ".." removes the last component without any
 *     check; every other component is tried with readlink: a link is
 *     expanded (more than 40 links: ELOOP), EINVAL means "not a link",
 *     any other error ends the resolution;
 *   - a component that is not a link must be a directory only when a
 *     trailing "/" or a later "/." or "/.." follows it (checked by stat
 *     of "name/"); otherwise the next readlink reports ENOTDIR itself;
 *   - a result that does not fit PATH_MAX: ENAMETOOLONG (glibc has no
 *     limit when it allocates the result; this one always has);
 *   - on failure with ENOENT or EACCES and a caller's buffer, the part
 *     resolved so far (including the failing component) is left in it.
 *
 * No shared state.
 */
#undef _FILE_OFFSET_BITS
#undef _FORTIFY_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "shim/real_fs.h"
#include "shim/shim.h"
#include "vfs/vfs.h"
#include "vfs/vfs_sys.h"

#define RP_MAXLINKS 40

extern void __chk_fail(void) __attribute__((noreturn));

/* Does the rest of the name, END, force the component before it to be a
 * directory: a trailing slash, a trailing "/.", or a "/.." anywhere? */
static bool rp_needs_dir(const char *end)
{
	while (*end == '/') {
		while (*end == '/')
			end++;
		char c = *end++;
		if (c == '\0')
			return true;
		if (c != '.')
			return false;
		if (*end == '\0' || (*end == '.' && (end[1] == '\0' || end[1] == '/')))
			return true;
	}
	return false;
}

/* Drop the last component of out (never the leading "/"). */
static size_t rp_up(char *out, size_t len)
{
	while (len > 1 && out[len - 1] != '/')
		len--;
	if (len > 1)
		len--;
	out[len] = '\0';
	return len;
}

/* Resolve name into out[PATH_MAX]; 0, or -errno with out holding the
 * part resolved so far. */
static int rp_resolve(const char *name, char *out)
{
	char rest[2 * PATH_MAX], link[PATH_MAX];
	size_t len;
	int links = 0;

	out[0] = '\0';
	if (name[0] != '/') {
		if (!getcwd(out, PATH_MAX))
			return -errno;
		len = strlen(out);
	} else {
		out[0] = '/';
		out[1] = '\0';
		len = 1;
	}
	size_t nlen = strlen(name);
	if (nlen >= sizeof rest)
		return -ENAMETOOLONG;
	memcpy(rest, name, nlen + 1);

	char *p = rest;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		char *end = p;
		while (*end && *end != '/')
			end++;
		size_t clen = (size_t)(end - p);
		if (clen == 1 && p[0] == '.') {
			p = end;
			continue;
		}
		if (clen == 2 && p[0] == '.' && p[1] == '.') {
			len = rp_up(out, len);
			p = end;
			continue;
		}
		size_t sep = out[len - 1] != '/';
		if (len + sep + clen >= PATH_MAX)
			return -ENAMETOOLONG;
		if (sep)
			out[len++] = '/';
		memcpy(out + len, p, clen);
		len += clen;
		out[len] = '\0';

		ssize_t n = readlink(out, link, sizeof link - 1);
		if (n < 0) {
			if (errno != EINVAL)
				return -errno;
			if (rp_needs_dir(end)) {
				struct stat st;
				if (len + 1 >= PATH_MAX)
					return -ENAMETOOLONG;
				out[len] = '/';
				out[len + 1] = '\0';
				int r = stat(out, &st);
				out[len] = '\0';
				if (r < 0 && errno != EOVERFLOW)
					return -errno;
			}
			p = end;
			continue;
		}
		if (++links > RP_MAXLINKS)
			return -ELOOP;
		/* The link's text, then what was left after it. */
		size_t elen = strlen(end);
		if ((size_t)n + elen >= sizeof rest)
			return -ENAMETOOLONG;
		memmove(rest + n, end, elen + 1);
		memcpy(rest, link, (size_t)n);
		p = rest;
		if (link[0] == '/') {
			out[1] = '\0';
			len = 1;
		} else {
			len = rp_up(out, len);
		}
	}
	return 0;
}

SHIM_EXPORT char *realpath(const char *name, char *resolved)
{
	char out[PATH_MAX];
	if (!name) {
		errno = EINVAL;
		return NULL;
	}
	if (!name[0]) {
		errno = ENOENT;
		return NULL;
	}
	int saved = errno;
	int r = rp_resolve(name, out);
	if (r < 0) {
		if (resolved && (r == -ENOENT || r == -EACCES))
			strcpy(resolved, out);
		errno = -r;
		return NULL;
	}
	errno = saved;
	if (resolved)
		return strcpy(resolved, out);
	char *m = strdup(out);
	if (!m)
		errno = ENOMEM;
	return m;
}

SHIM_EXPORT char *__realpath_chk(const char *name, char *resolved, size_t resolvedlen)
{
	if (resolvedlen < PATH_MAX)
		__chk_fail();
	return realpath(name, resolved);
}

SHIM_EXPORT char *canonicalize_file_name(const char *name)
{
	return realpath(name, NULL);
}

/* ---- the current directory's name ---------------------------------------- */

SHIM_REAL_DECL(get_current_dir_name);

/*
 * $PWD when it names the current directory (same device and inode as "."
 * through the shim's stat), else getcwd's answer in a malloc'd buffer.
 * Host cwds keep glibc's answer (its internal stat and getcwd are right
 * for them).
 */
SHIM_EXPORT char *get_current_dir_name(void)
{
	if (!vfs_cwd_mine())
		return SHIM_REAL(get_current_dir_name)();
	const char *pwd = getenv("PWD");
	struct stat dot, st;
	if (pwd && stat(".", &dot) == 0 && stat(pwd, &st) == 0 &&
	    dot.st_dev == st.st_dev && dot.st_ino == st.st_ino)
		return strdup(pwd);
	char buf[PATH_MAX];
	if (!getcwd(buf, sizeof buf))
		return NULL;
	return strdup(buf);
}

/* ---- pathconf -------------------------------------------------- */

SHIM_REAL_DECL(pathconf);
SHIM_REAL_DECL(fpathconf);

/*
 * glibc answers some names with constants and the others from its
 * internal statfs/stat of the file (by f_type, and f_namelen for
 * _PC_NAME_MAX), failing as they fail.  Which kind a name is shows by
 * asking glibc about a path that does not exist (a constant comes back
 * anyway).  For the others, the shim's statfs checks the file (its
 * errno); a mounted filesystem reports itself as tmpfs, so the answer is
 * then glibc's for a tmpfs directory: the one that holds the ramfs
 * segments, which exists wherever the shim runs.
 */
#define MISC_TMPFS_DIR "/dev/shm"
#define MISC_NO_SUCH_PATH MISC_TMPFS_DIR "/.vadshim-no-such-dir/x"

/* The constant glibc gives for name, or -1 if it depends on the file. */
static long conf_constant(int name)
{
	int saved = errno;
	errno = 0;
	long v = SHIM_REAL(pathconf)(MISC_NO_SUCH_PATH, name);
	bool constant = v != -1 || errno == 0 || errno == EINVAL;
	errno = saved;
	return constant ? v : -2;
}

static long conf_of(const struct statfs *sf, int name)
{
	if (name == _PC_NAME_MAX)
		return sf->f_namelen;
	return SHIM_REAL(pathconf)(MISC_TMPFS_DIR, name);
}

SHIM_EXPORT long pathconf(const char *path, int name)
{
	if (!vfs_path_maybe_mine(path))
		return SHIM_REAL(pathconf)(path, name);
	if (conf_constant(name) != -2)     /* again, for glibc's errno too */
		return SHIM_REAL(pathconf)(MISC_NO_SUCH_PATH, name);
	struct statfs sf;
	struct vfs_hostpath hp;
	long r = vfs_sys_statfs(path, &sf, &hp);
	if (r == VFS_PASS)
		return SHIM_REAL(pathconf)(hp.path, name);
	if (r < 0)
		return shim_ret(r);
	return conf_of(&sf, name);
}

SHIM_EXPORT long fpathconf(int fd, int name)
{
	if (!vfs_fd_mine(fd))
		return SHIM_REAL(fpathconf)(fd, name);
	struct statfs sf;
	long r = vfs_sys_fstatfs(fd, &sf);
	if (r < 0)
		return shim_ret(r);
	return conf_of(&sf, name);
}
