/*
 * Wrappers of the namespace family: unlink, rmdir, remove, mkdir,
 * rename, link, symlink, readlink, chmod, chown, the utime family, mknod,
 * chdir, fchdir, getcwd, the xattr calls, umask and the set*id calls
 * (the vfs caches the caller's credentials).  No shared state.
 */
#undef _FILE_OFFSET_BITS
#undef _FORTIFY_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <grp.h>
#include <unistd.h>
#include <utime.h>

#include "shim/real_fs.h"
#include "shim/shim.h"
#include "vfs/vfs_sys.h"

#define path_ours vfs_call_maybe_mine

/*
 * One wrapper shape for path calls: ask the vfs, and on VFS_PASS call the
 * host with the (possibly rewritten) path.
 */
#define PATH_CALL(dirfd, path, handler_call, host_call)                  \
	do {                                                             \
		if (!path_ours(dirfd, path)) {                           \
			const char *hpath = path;                        \
			(void)hpath;                                     \
			return host_call;                                \
		}                                                        \
		struct vfs_hostpath hp;                                  \
		long r_ = handler_call;                                  \
		if (r_ == VFS_PASS) {                                    \
			const char *hpath = hp.path;                     \
			(void)hpath;                                     \
			return host_call;                                \
		}                                                        \
		return (int)shim_ret(r_);                                \
	} while (0)

/* ---- unlink, rmdir, remove, mkdir, mknod ---- */

SHIM_REAL_DECL(unlinkat);
SHIM_REAL_DECL(mkdirat);
SHIM_REAL_DECL(mknodat);
SHIM_REAL_DECL(remove);

SHIM_EXPORT int unlinkat(int dirfd, const char *path, int flags)
{
	PATH_CALL(dirfd, path, vfs_sys_unlinkat(dirfd, path, flags, &hp),
		  SHIM_REAL(unlinkat)(dirfd, hpath, flags));
}

SHIM_EXPORT int unlink(const char *path)
{
	return unlinkat(AT_FDCWD, path, 0);
}

SHIM_EXPORT int rmdir(const char *path)
{
	return unlinkat(AT_FDCWD, path, AT_REMOVEDIR);
}

/* remove: unlink, and rmdir when that says EISDIR (as glibc). */
SHIM_EXPORT int remove(const char *path)
{
	if (!path_ours(AT_FDCWD, path))
		return SHIM_REAL(remove)(path);
	int r = unlinkat(AT_FDCWD, path, 0);
	if (r && errno == EISDIR)
		r = unlinkat(AT_FDCWD, path, AT_REMOVEDIR);
	return r;
}

SHIM_EXPORT int mkdirat(int dirfd, const char *path, mode_t mode)
{
	PATH_CALL(dirfd, path, vfs_sys_mkdirat(dirfd, path, mode, &hp),
		  SHIM_REAL(mkdirat)(dirfd, hpath, mode));
}

SHIM_EXPORT int mkdir(const char *path, mode_t mode)
{
	return mkdirat(AT_FDCWD, path, mode);
}

SHIM_EXPORT int mknodat(int dirfd, const char *path, mode_t mode, dev_t dev)
{
	PATH_CALL(dirfd, path, vfs_sys_mknodat(dirfd, path, mode, dev, &hp),
		  SHIM_REAL(mknodat)(dirfd, hpath, mode, dev));
}

SHIM_EXPORT int mknod(const char *path, mode_t mode, dev_t dev)
{
	return mknodat(AT_FDCWD, path, mode, dev);
}

SHIM_EXPORT int mkfifoat(int dirfd, const char *path, mode_t mode)
{
	return mknodat(dirfd, path, (mode & 07777) | S_IFIFO, 0);
}

SHIM_EXPORT int mkfifo(const char *path, mode_t mode)
{
	return mkfifoat(AT_FDCWD, path, mode);
}

SHIM_EXPORT int __xmknod(int ver, const char *path, mode_t mode, dev_t *dev)
{
	(void)ver;
	return mknod(path, mode, dev ? *dev : 0);
}

SHIM_EXPORT int __xmknodat(int ver, int dirfd, const char *path, mode_t mode, dev_t *dev)
{
	(void)ver;
	return mknodat(dirfd, path, mode, dev ? *dev : 0);
}

/* ---- rename, link ---- */

SHIM_REAL_DECL(renameat2);

static int do_rename(int od, const char *old, int nd, const char *new_, unsigned flags)
{
	if (!path_ours(od, old) && !path_ours(nd, new_))
		return SHIM_REAL(renameat2)(od, old, nd, new_, flags);
	struct vfs_hostpath hp1, hp2;
	long r = vfs_sys_renameat2(od, old, nd, new_, flags, &hp1, &hp2);
	if (r == VFS_PASS)
		return SHIM_REAL(renameat2)(od, hp1.path, nd, hp2.path, flags);
	return (int)shim_ret(r);
}

SHIM_EXPORT int renameat2(int od, const char *old, int nd, const char *new_, unsigned flags)
{
	return do_rename(od, old, nd, new_, flags);
}

SHIM_EXPORT int renameat(int od, const char *old, int nd, const char *new_)
{
	return do_rename(od, old, nd, new_, 0);
}

SHIM_EXPORT int rename(const char *old, const char *new_)
{
	return do_rename(AT_FDCWD, old, AT_FDCWD, new_, 0);
}

SHIM_REAL_DECL(linkat);

SHIM_EXPORT int linkat(int od, const char *old, int nd, const char *new_, int flags)
{
	if (!path_ours(od, old) && !path_ours(nd, new_))
		return SHIM_REAL(linkat)(od, old, nd, new_, flags);
	struct vfs_hostpath hp1, hp2;
	long r = vfs_sys_linkat(od, old, nd, new_, flags, &hp1, &hp2);
	if (r == VFS_PASS)
		return SHIM_REAL(linkat)(od, hp1.path, nd, hp2.path, flags);
	return (int)shim_ret(r);
}

SHIM_EXPORT int link(const char *old, const char *new_)
{
	return linkat(AT_FDCWD, old, AT_FDCWD, new_, 0);
}

/* ---- symlink, readlink ---- */

SHIM_REAL_DECL(symlinkat);
SHIM_REAL_DECL(readlinkat);

SHIM_EXPORT int symlinkat(const char *target, int dirfd, const char *path)
{
	PATH_CALL(dirfd, path, vfs_sys_symlinkat(target, dirfd, path, &hp),
		  SHIM_REAL(symlinkat)(target, dirfd, hpath));
}

SHIM_EXPORT int symlink(const char *target, const char *path)
{
	return symlinkat(target, AT_FDCWD, path);
}

SHIM_EXPORT ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t len)
{
	if (!path_ours(dirfd, path))
		return SHIM_REAL(readlinkat)(dirfd, path, buf, len);
	struct vfs_hostpath hp;
	long r = vfs_sys_readlinkat(dirfd, path, buf, len, &hp);
	if (r == VFS_PASS)
		return SHIM_REAL(readlinkat)(dirfd, hp.path, buf, len);
	return (ssize_t)shim_ret(r);
}

SHIM_EXPORT ssize_t readlink(const char *path, char *buf, size_t len)
{
	return readlinkat(AT_FDCWD, path, buf, len);
}

SHIM_EXPORT ssize_t __readlink_chk(const char *path, char *buf, size_t len, size_t buflen)
{
	if (len > buflen)
		__builtin_trap();
	return readlink(path, buf, len);
}

SHIM_EXPORT ssize_t __readlinkat_chk(int dirfd, const char *path, char *buf, size_t len,
				     size_t buflen)
{
	if (len > buflen)
		__builtin_trap();
	return readlinkat(dirfd, path, buf, len);
}

/* ---- chmod, chown ---- */

SHIM_REAL_DECL(fchmodat);
SHIM_REAL_DECL(fchmod);
SHIM_REAL_DECL(fchownat);
SHIM_REAL_DECL(fchown);

SHIM_EXPORT int fchmodat(int dirfd, const char *path, mode_t mode, int flags)
{
	PATH_CALL(dirfd, path, vfs_sys_fchmodat(dirfd, path, mode, flags, &hp),
		  SHIM_REAL(fchmodat)(dirfd, hpath, mode, flags));
}

SHIM_EXPORT int chmod(const char *path, mode_t mode)
{
	return fchmodat(AT_FDCWD, path, mode, 0);
}

SHIM_EXPORT int lchmod(const char *path, mode_t mode)
{
	return fchmodat(AT_FDCWD, path, mode, AT_SYMLINK_NOFOLLOW);
}

SHIM_EXPORT int fchmod(int fd, mode_t mode)
{
	if (!vfs_fd_mine(fd))
		return SHIM_REAL(fchmod)(fd, mode);
	return (int)shim_ret(vfs_sys_fchmod(fd, mode));
}

SHIM_EXPORT int fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
	PATH_CALL(dirfd, path, vfs_sys_fchownat(dirfd, path, uid, gid, flags, &hp),
		  SHIM_REAL(fchownat)(dirfd, hpath, uid, gid, flags));
}

SHIM_EXPORT int chown(const char *path, uid_t uid, gid_t gid)
{
	return fchownat(AT_FDCWD, path, uid, gid, 0);
}

SHIM_EXPORT int lchown(const char *path, uid_t uid, gid_t gid)
{
	return fchownat(AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW);
}

SHIM_EXPORT int fchown(int fd, uid_t uid, gid_t gid)
{
	if (!vfs_fd_mine(fd))
		return SHIM_REAL(fchown)(fd, uid, gid);
	return (int)shim_ret(vfs_sys_fchown(fd, uid, gid));
}

/* ---- times ---- */

SHIM_REAL_DECL(utimensat);
SHIM_REAL_DECL(futimens);

SHIM_EXPORT int utimensat(int dirfd, const char *path_, const struct timespec ts[2], int flags)
{
	const char *path = SHIM_LAUNDER(path_);
	if (!path_ours(dirfd, path) && !(vfs.ready && vfs_fd_mine(dirfd)))
		return SHIM_REAL(utimensat)(dirfd, path, ts, flags);
	struct vfs_hostpath hp;
	long r = vfs_sys_utimensat(dirfd, path, ts, flags, &hp);
	if (r == VFS_PASS)
		return SHIM_REAL(utimensat)(dirfd, hp.path, ts, flags);
	return (int)shim_ret(r);
}

SHIM_EXPORT int futimens(int fd, const struct timespec ts[2])
{
	if (!vfs_fd_mine(fd))
		return SHIM_REAL(futimens)(fd, ts);
	return (int)shim_ret(vfs_sys_futimens(fd, ts));
}

static int tv_to_ts(const struct timeval tv[2], struct timespec ts[2])
{
	for (int i = 0; i < 2; i++) {
		if (tv[i].tv_usec < 0 || tv[i].tv_usec >= 1000000) {
			errno = EINVAL;
			return -1;
		}
		ts[i].tv_sec = tv[i].tv_sec;
		ts[i].tv_nsec = tv[i].tv_usec * 1000;
	}
	return 0;
}

SHIM_EXPORT int utimes(const char *path, const struct timeval tv[2])
{
	struct timespec ts[2];
	if (tv && tv_to_ts(tv, ts))
		return -1;
	return utimensat(AT_FDCWD, path, tv ? ts : NULL, 0);
}

SHIM_EXPORT int lutimes(const char *path, const struct timeval tv[2])
{
	struct timespec ts[2];
	if (tv && tv_to_ts(tv, ts))
		return -1;
	return utimensat(AT_FDCWD, path, tv ? ts : NULL, AT_SYMLINK_NOFOLLOW);
}

SHIM_EXPORT int futimes(int fd, const struct timeval tv[2])
{
	struct timespec ts[2];
	if (tv && tv_to_ts(tv, ts))
		return -1;
	return futimens(fd, tv ? ts : NULL);
}

SHIM_EXPORT int futimesat(int dirfd, const char *path, const struct timeval tv[2])
{
	struct timespec ts[2];
	if (tv && tv_to_ts(tv, ts))
		return -1;
	if (!SHIM_LAUNDER(path))
		return futimens(dirfd, tv ? ts : NULL);
	return utimensat(dirfd, path, tv ? ts : NULL, 0);
}

SHIM_EXPORT int utime(const char *path, const struct utimbuf *ut)
{
	struct timespec ts[2];
	if (ut) {
		ts[0].tv_sec = ut->actime;
		ts[0].tv_nsec = 0;
		ts[1].tv_sec = ut->modtime;
		ts[1].tv_nsec = 0;
	}
	return utimensat(AT_FDCWD, path, ut ? ts : NULL, 0);
}

/* ---- cwd ---- */

SHIM_REAL_DECL(chdir);
SHIM_REAL_DECL(fchdir);
SHIM_REAL_DECL(getcwd);

SHIM_EXPORT int chdir(const char *path)
{
	if (!path_ours(AT_FDCWD, path))
		return SHIM_REAL(chdir)(path);
	struct vfs_hostpath hp;
	return (int)shim_ret(vfs_sys_chdir(path, &hp));
}

SHIM_EXPORT int fchdir(int fd)
{
	if (vfs_fd_mine(fd))
		return (int)shim_ret(vfs_sys_fchdir(fd));
	int r = SHIM_REAL(fchdir)(fd);
	if (r == 0 && vfs.ready && vfs_cwd_mine())
		vfs_cwd_to_host();
	return r;
}

SHIM_EXPORT char *getcwd(char *buf, size_t size)
{
	if (!vfs.ready || !vfs_cwd_mine())
		return SHIM_REAL(getcwd)(buf, size);
	if (buf && size == 0) {
		errno = EINVAL;
		return NULL;
	}
	char tmp[PATH_MAX];
	long r = vfs_sys_getcwd(tmp, sizeof(tmp));
	if (r == VFS_PASS)
		return SHIM_REAL(getcwd)(buf, size);
	if (r < 0) {
		errno = (int)-r;
		return NULL;
	}
	if (!buf) {
		/* glibc extension: allocate size bytes, or as many as needed */
		size_t n = size ? size : (size_t)r;
		if (n < (size_t)r) {
			errno = ERANGE;
			return NULL;
		}
		buf = malloc(n);
		if (!buf)
			return NULL;
	} else if (size < (size_t)r) {
		errno = ERANGE;
		return NULL;
	}
	memcpy(buf, tmp, (size_t)r);
	return buf;
}

SHIM_EXPORT char *__getcwd_chk(char *buf, size_t size, size_t buflen)
{
	if (size > buflen)
		__builtin_trap();
	return getcwd(buf, size);
}

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
SHIM_EXPORT char *getwd(char *buf)
{
	char tmp[PATH_MAX];
	if (!getcwd(tmp, sizeof(tmp))) {
		snprintf(buf, PATH_MAX, "%s", strerror(errno));
		return NULL;
	}
	return strcpy(buf, tmp);
}

SHIM_EXPORT char *__getwd_chk(char *buf, size_t buflen)
{
	(void)buflen;
	return getwd(buf);
}

/* ---- xattr: ramfs keeps none ---- */

#define XATTR_PATH(name, set, ret, params, args)                              \
	SHIM_REAL_DECL(name);                                                 \
	SHIM_EXPORT ret name params                                           \
	{                                                                     \
		if (!path_ours(AT_FDCWD, path))                               \
			return SHIM_REAL(name) args;                          \
		struct vfs_hostpath hp;                                       \
		long r_ = vfs_sys_xattr_path(path, set, &hp);                 \
		if (r_ == VFS_PASS) {                                         \
			path = hp.path;                                       \
			return SHIM_REAL(name) args;                          \
		}                                                             \
		return (ret)shim_ret(r_);                                     \
	}

#define XATTR_FD(name, set, ret, params, args)                                \
	SHIM_REAL_DECL(name);                                                 \
	SHIM_EXPORT ret name params                                           \
	{                                                                     \
		if (!vfs_fd_mine(fd))                                         \
			return SHIM_REAL(name) args;                          \
		struct stat st;                                               \
		long r_ = vfs_sys_fstat(fd, &st);                             \
		return (ret)shim_ret(r_ < 0 ? r_ : (set) ? -ENOTSUP : -ENODATA); \
	}

XATTR_PATH(getxattr, 0, ssize_t, (const char *path, const char *n, void *v, size_t s),
	   (path, n, v, s))
XATTR_PATH(lgetxattr, 0, ssize_t, (const char *path, const char *n, void *v, size_t s),
	   (path, n, v, s))
XATTR_PATH(setxattr, 1, int,
	   (const char *path, const char *n, const void *v, size_t s, int f),
	   (path, n, v, s, f))
XATTR_PATH(lsetxattr, 1, int,
	   (const char *path, const char *n, const void *v, size_t s, int f),
	   (path, n, v, s, f))
XATTR_PATH(removexattr, 0, int, (const char *path, const char *n), (path, n))
XATTR_PATH(lremovexattr, 0, int, (const char *path, const char *n), (path, n))
XATTR_FD(fgetxattr, 0, ssize_t, (int fd, const char *n, void *v, size_t s), (fd, n, v, s))
XATTR_FD(fsetxattr, 1, int, (int fd, const char *n, const void *v, size_t s, int f),
	 (fd, n, v, s, f))
XATTR_FD(fremovexattr, 0, int, (int fd, const char *n), (fd, n))

/* listxattr: an empty list. */
SHIM_REAL_DECL(listxattr);
SHIM_REAL_DECL(llistxattr);
SHIM_REAL_DECL(flistxattr);

static ssize_t list_none(long r)
{
	return r < 0 ? (ssize_t)shim_ret(r) : 0;
}

SHIM_EXPORT ssize_t listxattr(const char *path, char *list, size_t size)
{
	if (!path_ours(AT_FDCWD, path))
		return SHIM_REAL(listxattr)(path, list, size);
	struct vfs_hostpath hp;
	struct stat st;
	long r = vfs_sys_fstatat(AT_FDCWD, path, &st, 0, &hp);
	if (r == VFS_PASS)
		return SHIM_REAL(listxattr)(hp.path, list, size);
	return list_none(r);
}

SHIM_EXPORT ssize_t llistxattr(const char *path, char *list, size_t size)
{
	if (!path_ours(AT_FDCWD, path))
		return SHIM_REAL(llistxattr)(path, list, size);
	struct vfs_hostpath hp;
	struct stat st;
	long r = vfs_sys_fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW, &hp);
	if (r == VFS_PASS)
		return SHIM_REAL(llistxattr)(hp.path, list, size);
	return list_none(r);
}

SHIM_EXPORT ssize_t flistxattr(int fd, char *list, size_t size)
{
	if (!vfs_fd_mine(fd))
		return SHIM_REAL(flistxattr)(fd, list, size);
	struct stat st;
	return list_none(vfs_sys_fstat(fd, &st));
}

/* ---- umask and credentials ---- */

SHIM_REAL_DECL(umask);

SHIM_EXPORT mode_t umask(mode_t mask)
{
	mode_t old = SHIM_REAL(umask)(mask);
	vfs.cred.umask = mask & 0777;
	return old;
}

#define CRED_CALL(name, params, args)                 \
	SHIM_REAL_DECL(name);                         \
	SHIM_EXPORT int name params                   \
	{                                             \
		int rc_ = SHIM_REAL(name) args;       \
		if (rc_ == 0 && vfs.ready)            \
			vfs_refresh_cred();           \
		return rc_;                           \
	}

CRED_CALL(setuid, (uid_t u), (u))
CRED_CALL(seteuid, (uid_t u), (u))
CRED_CALL(setreuid, (uid_t r, uid_t e), (r, e))
CRED_CALL(setresuid, (uid_t r, uid_t e, uid_t s), (r, e, s))
CRED_CALL(setgid, (gid_t g), (g))
CRED_CALL(setegid, (gid_t g), (g))
CRED_CALL(setregid, (gid_t r, gid_t e), (r, e))
CRED_CALL(setresgid, (gid_t r, gid_t e, gid_t s), (r, e, s))
CRED_CALL(setgroups, (size_t n, const gid_t *l), (n, l))
