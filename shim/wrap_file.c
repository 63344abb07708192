/*
 * Wrappers of the descriptor family: open, close, the read/write family,
 * lseek, truncate, fallocate, sync, the stat family (both glibc ABIs and
 * statx), access, dup, fcntl, ioctl, kernel-side copies, lockf/flock.
 * Each one sends descriptors and paths of a mount to the vfs handlers
 * (vfs/vfs_sys.h) and everything else to the next definition unchanged.
 * No shared state.
 *
 * Both the plain and the "64" names are defined here: keep the headers
 * from renaming one into the other.
 */
#undef _FILE_OFFSET_BITS
#undef _FORTIFY_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <termios.h>
#include <unistd.h>

#include "shim/lk_stack.h"
#include "shim/real_fs.h"
#include "shim/shim.h"
#include "vfs/vfs_sys.h"

/* Might (dirfd, path) belong to a mount?  False for every host path
 * that cannot name one: those go straight to the host. */
#define path_ours vfs_call_maybe_mine

static inline bool fd_ours(int fd)
{
	return vfs_fd_mine(fd);
}

static inline mode_t open_mode(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & __O_TMPFILE) == __O_TMPFILE ?
		       (mode_t)va_arg(ap, int) : 0;
}

/* ---- open ---- */

SHIM_REAL_DECL(openat);

static int do_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	if (!path_ours(dirfd, path))
		return SHIM_REAL(openat)(dirfd, path, flags, mode);
	struct vfs_hostpath hp;
	long r = vfs_sys_openat(dirfd, path, flags, mode, &hp);
	if (r == VFS_PASS)
		return SHIM_REAL(openat)(dirfd, hp.path, flags, mode);
	return (int)shim_ret(r);
}

#define OPEN_BODY(dirfd_expr)                                    \
	va_list ap;                                              \
	va_start(ap, flags);                                     \
	mode_t mode = open_mode(flags, ap);                      \
	va_end(ap);                                              \
	return do_openat(dirfd_expr, path, flags, mode)

SHIM_EXPORT int open(const char *path, int flags, ...)
{
	OPEN_BODY(AT_FDCWD);
}

SHIM_EXPORT int open64(const char *path, int flags, ...)
{
	OPEN_BODY(AT_FDCWD);
}

SHIM_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	OPEN_BODY(dirfd);
}

SHIM_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	OPEN_BODY(dirfd);
}

SHIM_EXPORT int __open_2(const char *path, int flags)
{
	return do_openat(AT_FDCWD, path, flags, 0);
}

SHIM_EXPORT int __open64_2(const char *path, int flags)
{
	return do_openat(AT_FDCWD, path, flags, 0);
}

SHIM_EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	return do_openat(dirfd, path, flags, 0);
}

SHIM_EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	return do_openat(dirfd, path, flags, 0);
}

SHIM_EXPORT int creat(const char *path, mode_t mode)
{
	return do_openat(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

SHIM_EXPORT int creat64(const char *path, mode_t mode)
{
	return creat(path, mode);
}

/* ---- close ---- */

SHIM_REAL_DECL(close);
SHIM_REAL_DECL(close_range);

SHIM_EXPORT int close(int fd)
{
	if (vfs.ready && vfs_fd_is_shim(fd)) {
		errno = EBADF;
		return -1;
	}
	if (!fd_ours(fd))
		return SHIM_REAL(close)(fd);
	long r = vfs_sys_close(fd);
	if (r == VFS_PASS)
		return SHIM_REAL(close)(fd);
	return (int)shim_ret(r);
}

/* Close [first, last] on the host, skipping the shim's own descriptors. */
static int host_close_range(unsigned first, unsigned last, int flags)
{
	int own[VFS_SHIM_FDS];
	vfs_shim_fds(own);
	unsigned lo = first;
	while (lo <= last) {
		unsigned hi = last;
		for (int i = 0; i < VFS_SHIM_FDS; i++)
			if (own[i] >= 0 && (unsigned)own[i] >= lo && (unsigned)own[i] <= hi)
				hi = (unsigned)own[i] - 1 < hi ? (unsigned)own[i] - 1 : hi;
		bool skip = false;
		for (int i = 0; i < VFS_SHIM_FDS; i++)
			if (own[i] >= 0 && (unsigned)own[i] == lo)
				skip = true;
		if (skip) {
			if (lo == UINT_MAX)
				break;
			lo++;
			continue;
		}
		if (hi >= lo) {
			int r = SHIM_REAL(close_range)(lo, hi, flags);
			if (r)
				return r;
		}
		if (hi == last || hi == UINT_MAX)
			break;
		lo = hi + 1;
	}
	return 0;
}

SHIM_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	if (!vfs.ready)
		return SHIM_REAL(close_range)(first, last, flags);
	if (first > last || (flags & ~(CLOSE_RANGE_CLOEXEC | CLOSE_RANGE_UNSHARE))) {
		errno = EINVAL;
		return -1;
	}
	vfs_sys_close_range_ours(first, last, flags);
	return host_close_range(first, last, flags);
}

SHIM_EXPORT void closefrom(int lowfd)
{
	close_range(lowfd < 0 ? 0 : (unsigned)lowfd, ~0U, 0);
}

/* ---- read / write ---- */

SHIM_REAL_DECL(read);
SHIM_REAL_DECL(write);
SHIM_REAL_DECL(pread);
SHIM_REAL_DECL(pwrite);
SHIM_REAL_DECL(readv);
SHIM_REAL_DECL(writev);
SHIM_REAL_DECL(preadv);
SHIM_REAL_DECL(pwritev);
SHIM_REAL_DECL(preadv2);
SHIM_REAL_DECL(pwritev2);

static ssize_t rw1(int fd, const void *buf, size_t n, off_t off, int write)
{
	struct iovec iov = { (void *)buf, n };
	return (ssize_t)shim_ret(vfs_sys_rw(fd, &iov, 1, off, write, 0));
}

SHIM_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	if (!fd_ours(fd))
		return SHIM_REAL(read)(fd, buf, n);
	return rw1(fd, buf, n, -1, 0);
}

SHIM_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	if (n > buflen)
		__builtin_trap();
	return read(fd, buf, n);
}

SHIM_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	if (!fd_ours(fd))
		return SHIM_REAL(write)(fd, buf, n);
	return rw1(fd, buf, n, -1, 1);
}

#define PRW(name, real, type, write)                                        \
	SHIM_EXPORT ssize_t name(int fd, type buf, size_t n, off_t off)    \
	{                                                                   \
		if (!fd_ours(fd))                                           \
			return SHIM_REAL(real)(fd, buf, n, off);            \
		if (off < 0) {                                              \
			errno = EINVAL;                                     \
			return -1;                                          \
		}                                                           \
		return rw1(fd, buf, n, off, write);                         \
	}

PRW(pread, pread, void *, 0)
PRW(pread64, pread, void *, 0)
PRW(pwrite, pwrite, const void *, 1)
PRW(pwrite64, pwrite, const void *, 1)

SHIM_EXPORT ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	if (n > buflen)
		__builtin_trap();
	return pread(fd, buf, n, off);
}

SHIM_EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	return __pread_chk(fd, buf, n, off, buflen);
}

SHIM_EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	if (!fd_ours(fd))
		return SHIM_REAL(readv)(fd, iov, cnt);
	return (ssize_t)shim_ret(vfs_sys_rw(fd, iov, cnt, -1, 0, 0));
}

SHIM_EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	if (!fd_ours(fd))
		return SHIM_REAL(writev)(fd, iov, cnt);
	return (ssize_t)shim_ret(vfs_sys_rw(fd, iov, cnt, -1, 1, 0));
}

#define PRWV(name, real, write)                                                      \
	SHIM_EXPORT ssize_t name(int fd, const struct iovec *iov, int cnt, off_t off) \
	{                                                                            \
		if (!fd_ours(fd))                                                    \
			return SHIM_REAL(real)(fd, iov, cnt, off);                   \
		if (off < 0) {                                                       \
			errno = EINVAL;                                              \
			return -1;                                                   \
		}                                                                    \
		return (ssize_t)shim_ret(vfs_sys_rw(fd, iov, cnt, off, write, 0));   \
	}

PRWV(preadv, preadv, 0)
PRWV(preadv64, preadv, 0)
PRWV(pwritev, pwritev, 1)
PRWV(pwritev64, pwritev, 1)

#define PRWV2(name, real, write)                                                       \
	SHIM_EXPORT ssize_t name(int fd, const struct iovec *iov, int cnt, off_t off,   \
				 int flags)                                             \
	{                                                                              \
		if (!fd_ours(fd))                                                      \
			return SHIM_REAL(real)(fd, iov, cnt, off, flags);              \
		if (off < -1) {                                                        \
			errno = EINVAL;                                                \
			return -1;                                                     \
		}                                                                      \
		return (ssize_t)shim_ret(vfs_sys_rw(fd, iov, cnt, off, write, flags)); \
	}

PRWV2(preadv2, preadv2, 0)
PRWV2(preadv64v2, preadv2, 0)
PRWV2(pwritev2, pwritev2, 1)
PRWV2(pwritev64v2, pwritev2, 1)

/* ---- lseek, truncate, allocation, sync ---- */

SHIM_REAL_DECL(lseek);
SHIM_REAL_DECL(ftruncate);
SHIM_REAL_DECL(truncate);
SHIM_REAL_DECL(fallocate);
SHIM_REAL_DECL(posix_fallocate);
SHIM_REAL_DECL(fsync);
SHIM_REAL_DECL(fdatasync);
SHIM_REAL_DECL(sync_file_range);
SHIM_REAL_DECL(syncfs);
SHIM_REAL_DECL(posix_fadvise);
SHIM_REAL_DECL(readahead);

SHIM_EXPORT off_t lseek(int fd, off_t off, int whence)
{
	if (!fd_ours(fd))
		return SHIM_REAL(lseek)(fd, off, whence);
	return (off_t)shim_ret(vfs_sys_lseek(fd, off, whence));
}

SHIM_EXPORT off_t lseek64(int fd, off_t off, int whence)
{
	return lseek(fd, off, whence);
}

SHIM_EXPORT int ftruncate(int fd, off_t len)
{
	if (!fd_ours(fd))
		return SHIM_REAL(ftruncate)(fd, len);
	if (len < 0) {
		errno = EINVAL;
		return -1;
	}
	return (int)shim_ret(vfs_sys_ftruncate(fd, len));
}

SHIM_EXPORT int ftruncate64(int fd, off_t len)
{
	return ftruncate(fd, len);
}

SHIM_EXPORT int truncate(const char *path, off_t len)
{
	if (!path_ours(AT_FDCWD, path))
		return SHIM_REAL(truncate)(path, len);
	struct vfs_hostpath hp;
	long r = vfs_sys_truncate(path, len, &hp);
	if (r == VFS_PASS)
		return SHIM_REAL(truncate)(hp.path, len);
	return (int)shim_ret(r);
}

SHIM_EXPORT int truncate64(const char *path, off_t len)
{
	return truncate(path, len);
}

SHIM_EXPORT int fallocate(int fd, int mode, off_t off, off_t len)
{
	if (!fd_ours(fd))
		return SHIM_REAL(fallocate)(fd, mode, off, len);
	return (int)shim_ret(vfs_sys_fallocate(fd, mode, off, len));
}

SHIM_EXPORT int fallocate64(int fd, int mode, off_t off, off_t len)
{
	return fallocate(fd, mode, off, len);
}

/* posix_fallocate returns the error number, not -1 + errno. */
SHIM_EXPORT int posix_fallocate(int fd, off_t off, off_t len)
{
	if (!fd_ours(fd))
		return SHIM_REAL(posix_fallocate)(fd, off, len);
	if (off < 0 || len <= 0)
		return EINVAL;
	long r = vfs_sys_fallocate(fd, 0, off, len);
	return r < 0 ? (int)-r : 0;
}

SHIM_EXPORT int posix_fallocate64(int fd, off_t off, off_t len)
{
	return posix_fallocate(fd, off, len);
}

SHIM_EXPORT int fsync(int fd)
{
	if (!fd_ours(fd))
		return SHIM_REAL(fsync)(fd);
	return (int)shim_ret(vfs_sys_fsync(fd));
}

SHIM_EXPORT int fdatasync(int fd)
{
	if (!fd_ours(fd))
		return SHIM_REAL(fdatasync)(fd);
	return (int)shim_ret(vfs_sys_fsync(fd));
}

SHIM_EXPORT int sync_file_range(int fd, off_t off, off_t n, unsigned flags)
{
	if (!fd_ours(fd))
		return SHIM_REAL(sync_file_range)(fd, off, n, flags);
	if (off < 0 || n < 0 || (flags & ~7u)) {
		errno = EINVAL;
		return -1;
	}
	return (int)shim_ret(vfs_sys_fsync(fd));
}

SHIM_EXPORT int syncfs(int fd)
{
	if (!fd_ours(fd))
		return SHIM_REAL(syncfs)(fd);
	return (int)shim_ret(vfs_sys_fsync(fd));
}

/* Advice is a hint; on ramfs there is nothing to prefetch. */
SHIM_EXPORT int posix_fadvise(int fd, off_t off, off_t len, int advice)
{
	if (!fd_ours(fd))
		return SHIM_REAL(posix_fadvise)(fd, off, len, advice);
	if (len < 0 || advice < 0 || advice > 5)
		return EINVAL;
	struct stat st;
	long r = vfs_sys_fstat(fd, &st);
	if (r < 0)
		return (int)-r;
	return S_ISFIFO(st.st_mode) ? ESPIPE : 0;
}

SHIM_EXPORT int posix_fadvise64(int fd, off_t off, off_t len, int advice)
{
	return posix_fadvise(fd, off, len, advice);
}

SHIM_EXPORT ssize_t readahead(int fd, off_t off, size_t n)
{
	if (!fd_ours(fd))
		return SHIM_REAL(readahead)(fd, off, n);
	struct stat st;
	long r = vfs_sys_fstat(fd, &st);
	if (r == 0 && !S_ISREG(st.st_mode))
		r = -EINVAL;
	return (ssize_t)shim_ret(r);
}

/* ---- stat family ---- */

SHIM_REAL_DECL(fstatat);
SHIM_REAL_DECL(fstat);
SHIM_REAL_DECL(statx);

static int do_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	if (!path_ours(dirfd, path))
		return SHIM_REAL(fstatat)(dirfd, path, st, flags);
	struct vfs_hostpath hp;
	long r = vfs_sys_fstatat(dirfd, path, st, flags, &hp);
	if (r == VFS_PASS)
		return SHIM_REAL(fstatat)(dirfd, hp.path, st, flags);
	return (int)shim_ret(r);
}

static int do_fstat(int fd, struct stat *st)
{
	if (!fd_ours(fd))
		return SHIM_REAL(fstat)(fd, st);
	return (int)shim_ret(vfs_sys_fstat(fd, st));
}

SHIM_EXPORT int stat(const char *path, struct stat *st)
{
	return do_fstatat(AT_FDCWD, path, st, 0);
}

SHIM_EXPORT int stat64(const char *path, struct stat64 *st)
{
	return do_fstatat(AT_FDCWD, path, (struct stat *)st, 0);
}

SHIM_EXPORT int lstat(const char *path, struct stat *st)
{
	return do_fstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

SHIM_EXPORT int lstat64(const char *path, struct stat64 *st)
{
	return do_fstatat(AT_FDCWD, path, (struct stat *)st, AT_SYMLINK_NOFOLLOW);
}

SHIM_EXPORT int fstat(int fd, struct stat *st)
{
	return do_fstat(fd, st);
}

SHIM_EXPORT int fstat64(int fd, struct stat64 *st)
{
	return do_fstat(fd, (struct stat *)st);
}

SHIM_EXPORT int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	return do_fstatat(dirfd, path, st, flags);
}

SHIM_EXPORT int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags)
{
	return do_fstatat(dirfd, path, (struct stat *)st, flags);
}

/* The pre-2.33 ABI, still exported for old binaries (version 1 on
 * x86-64 is the kernel's struct stat). */
SHIM_EXPORT int __xstat(int ver, const char *path, struct stat *st)
{
	(void)ver;
	return stat(path, st);
}

SHIM_EXPORT int __xstat64(int ver, const char *path, struct stat64 *st)
{
	(void)ver;
	return stat64(path, st);
}

SHIM_EXPORT int __lxstat(int ver, const char *path, struct stat *st)
{
	(void)ver;
	return lstat(path, st);
}

SHIM_EXPORT int __lxstat64(int ver, const char *path, struct stat64 *st)
{
	(void)ver;
	return lstat64(path, st);
}

SHIM_EXPORT int __fxstat(int ver, int fd, struct stat *st)
{
	(void)ver;
	return fstat(fd, st);
}

SHIM_EXPORT int __fxstat64(int ver, int fd, struct stat64 *st)
{
	(void)ver;
	return fstat64(fd, st);
}

SHIM_EXPORT int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags)
{
	(void)ver;
	return fstatat(dirfd, path, st, flags);
}

SHIM_EXPORT int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st,
			     int flags)
{
	(void)ver;
	return fstatat64(dirfd, path, st, flags);
}

SHIM_EXPORT int statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *stx)
{
	if (!path_ours(dirfd, path) && !fd_ours(dirfd))
		return SHIM_REAL(statx)(dirfd, path, flags, mask, stx);
	struct vfs_hostpath hp;
	long r = vfs_sys_statx(dirfd, path, flags, mask, stx, &hp);
	if (r == VFS_PASS)
		return SHIM_REAL(statx)(dirfd, hp.path, flags, mask, stx);
	return (int)shim_ret(r);
}

/* ---- access ---- */

SHIM_REAL_DECL(faccessat);

static int do_faccessat(int dirfd, const char *path, int mode, int flags)
{
	if (!path_ours(dirfd, path))
		return SHIM_REAL(faccessat)(dirfd, path, mode, flags);
	struct vfs_hostpath hp;
	long r = vfs_sys_faccessat(dirfd, path, mode, flags, &hp);
	if (r == VFS_PASS)
		return SHIM_REAL(faccessat)(dirfd, hp.path, mode, flags);
	return (int)shim_ret(r);
}

SHIM_EXPORT int access(const char *path, int mode)
{
	return do_faccessat(AT_FDCWD, path, mode, 0);
}

SHIM_EXPORT int faccessat(int dirfd, const char *path, int mode, int flags)
{
	return do_faccessat(dirfd, path, mode, flags);
}

SHIM_EXPORT int euidaccess(const char *path, int mode)
{
	return do_faccessat(AT_FDCWD, path, mode, AT_EACCESS);
}

SHIM_EXPORT int eaccess(const char *path, int mode)
{
	return do_faccessat(AT_FDCWD, path, mode, AT_EACCESS);
}

/* ---- dup, fcntl, ioctl ---- */

SHIM_REAL_DECL(dup);
SHIM_REAL_DECL(dup2);
SHIM_REAL_DECL(dup3);
SHIM_REAL_DECL(fcntl);
SHIM_REAL_DECL(ioctl);

SHIM_EXPORT int dup(int fd)
{
	if (!fd_ours(fd))
		return SHIM_REAL(dup)(fd);
	long r = vfs_sys_dupfd(fd, 0, 0);
	if (r == VFS_PASS)
		return SHIM_REAL(dup)(fd);
	return (int)shim_ret(r);
}

SHIM_EXPORT int dup2(int oldfd, int newfd)
{
	if (!vfs.ready)
		return SHIM_REAL(dup2)(oldfd, newfd);
	long r = vfs_sys_dup3(oldfd, newfd, 0, 1);
	if (r == VFS_PASS) {
		if (vfs_fd_is_shim(newfd)) {
			errno = EBADF;
			return -1;
		}
		return SHIM_REAL(dup2)(oldfd, newfd);
	}
	return (int)shim_ret(r);
}

SHIM_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	if (!vfs.ready)
		return SHIM_REAL(dup3)(oldfd, newfd, flags);
	long r = vfs_sys_dup3(oldfd, newfd, flags, 0);
	if (r == VFS_PASS) {
		if (vfs_fd_is_shim(newfd)) {
			errno = EBADF;
			return -1;
		}
		return SHIM_REAL(dup3)(oldfd, newfd, flags);
	}
	return (int)shim_ret(r);
}

/* fcntl's third argument is an int or a pointer: read it as a long,
 * which the x86-64 calling convention makes exact for both. */
static int do_fcntl(int fd, int cmd, long arg)
{
	if (fd_ours(fd)) {
		long r = vfs_sys_fcntl(fd, cmd, arg);
		if (r != VFS_PASS)
			return (int)shim_ret(r);
	}
	return SHIM_REAL(fcntl)(fd, cmd, arg);
}

SHIM_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	long arg = va_arg(ap, long);
	va_end(ap);
	return do_fcntl(fd, cmd, arg);
}

SHIM_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	long arg = va_arg(ap, long);
	va_end(ap);
	return do_fcntl(fd, cmd, arg);
}

SHIM_EXPORT int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (fd_ours(fd)) {
		long r = vfs_sys_ioctl(fd, req, arg);
		if (r != VFS_PASS)
			return (int)shim_ret(r);
	}
	return SHIM_REAL(ioctl)(fd, req, arg);
}

SHIM_REAL_DECL(isatty);

SHIM_EXPORT int isatty(int fd)
{
	if (!fd_ours(fd))
		return SHIM_REAL(isatty)(fd);
	errno = ENOTTY;
	return 0;
}

/* ---- record locks ---- */

SHIM_REAL_DECL(lockf);
SHIM_REAL_DECL(flock);

/* lockf as glibc builds it on fcntl (which it calls internally, out of
 * our reach): F_TEST reports EACCES when another process holds a lock. */
SHIM_EXPORT int lockf(int fd, int cmd, off_t len)
{
	if (!fd_ours(fd))
		return SHIM_REAL(lockf)(fd, cmd, len);
	struct flock fl = { .l_whence = SEEK_CUR, .l_start = 0, .l_len = len };
	switch (cmd) {
	case F_TEST:
		fl.l_type = F_RDLCK;
		if (shim_ret(vfs_sys_fcntl(fd, F_GETLK, (long)&fl)) < 0)
			return -1;
		if (fl.l_type == F_UNLCK || fl.l_pid == getpid())
			return 0;
		errno = EACCES;
		return -1;
	case F_ULOCK:
		fl.l_type = F_UNLCK;
		return (int)shim_ret(vfs_sys_fcntl(fd, F_SETLK, (long)&fl));
	case F_LOCK:
	case F_TLOCK:
		fl.l_type = F_WRLCK;
		return (int)shim_ret(vfs_sys_fcntl(fd, cmd == F_LOCK ? F_SETLKW : F_SETLK,
						   (long)&fl));
	default:
		errno = EINVAL;
		return -1;
	}
}

SHIM_EXPORT int lockf64(int fd, int cmd, off_t len)
{
	return lockf(fd, cmd, len);
}

/* flock on ramfs: the lock table of the segment (vfs/ramfs_lock.c). */
SHIM_EXPORT int flock(int fd, int op)
{
	if (!fd_ours(fd))
		return SHIM_REAL(flock)(fd, op);
	/* the kernel ignores the removed LOCK_MAND requests with success */
	if (op & 32 /* LOCK_MAND */) {
		struct stat st;
		return (int)shim_ret(vfs_sys_fstat(fd, &st));
	}
	return (int)shim_ret(vfs_sys_flock(fd, op));
}

/* ---- kernel-side copies, emulated when a side is ours ---- */

SHIM_REAL_DECL(copy_file_range);
SHIM_REAL_DECL(sendfile);
SHIM_REAL_DECL(splice);

/*
 * Copy up to n bytes from in to out through a buffer, with the offset
 * rules of copy_file_range/sendfile/splice: a non-NULL offset pointer is
 * used and advanced instead of the descriptor's offset.  Each side goes
 * through the shim's own read/write family, so either may be a ramfs or
 * a host descriptor (a pipe or a socket for splice and sendfile).
 * Returns the bytes copied, or -1 with errno if nothing was.
 */
static ssize_t copy_through(int in, off_t *inoff, int out, off_t *outoff, size_t n)
{
	char buf[65536];
	size_t done = 0;
	while (done < n) {
		size_t want = n - done < sizeof(buf) ? n - done : sizeof(buf);
		ssize_t got = inoff ? pread(in, buf, want, *inoff) : read(in, buf, want);
		if (got <= 0) {
			if (got < 0 && !done)
				return -1;
			break;
		}
		ssize_t put = 0;
		while (put < got) {
			ssize_t w = outoff ? pwrite(out, buf + put, (size_t)(got - put), *outoff + put)
					   : write(out, buf + put, (size_t)(got - put));
			if (w <= 0) {
				if (!done && !put)
					return -1;
				/* the bytes read but not written are given back */
				if (!inoff)
					lseek(in, put - got, SEEK_CUR);
				got = put;
				break;
			}
			put += w;
		}
		if (inoff)
			*inoff += got;
		if (outoff)
			*outoff += got;
		done += (size_t)got;
		if ((size_t)got < want)
			break;
	}
	return (ssize_t)done;
}

static bool is_regular_or_dir(int fd, bool *dir)
{
	struct stat st;
	if (fstat(fd, &st))
		return false;
	*dir = S_ISDIR(st.st_mode);
	return S_ISREG(st.st_mode);
}

SHIM_EXPORT ssize_t copy_file_range(int in, off_t *inoff, int out, off_t *outoff, size_t n,
				    unsigned flags)
{
	if (!fd_ours(in) && !fd_ours(out))
		return SHIM_REAL(copy_file_range)(in, inoff, out, outoff, n, flags);
	bool din = false, dout = false;
	if (flags) {
		errno = EINVAL;
		return -1;
	}
	if (!is_regular_or_dir(in, &din) || !is_regular_or_dir(out, &dout)) {
		errno = (din || dout) ? EISDIR : (errno == EBADF ? EBADF : EINVAL);
		return -1;
	}
	if ((inoff && *inoff < 0) || (outoff && *outoff < 0)) {
		errno = EINVAL;
		return -1;
	}
	int fl_in = fcntl(in, F_GETFL), fl_out = fcntl(out, F_GETFL);
	if ((fl_in & O_ACCMODE) == O_WRONLY || (fl_out & O_ACCMODE) == O_RDONLY ||
	    (fl_out & O_APPEND)) {
		errno = EBADF;
		return -1;
	}
	return copy_through(in, inoff, out, outoff, n);
}

SHIM_EXPORT ssize_t sendfile(int out, int in, off_t *off, size_t n)
{
	if (!fd_ours(in) && !fd_ours(out))
		return SHIM_REAL(sendfile)(out, in, off, n);
	if (off && *off < 0) {
		errno = EINVAL;
		return -1;
	}
	if (fd_ours(in)) {
		bool d = false;
		if (!is_regular_or_dir(in, &d)) {
			errno = EINVAL;
			return -1;
		}
	}
	/* sendfile with an offset leaves the input's file offset alone */
	return copy_through(in, off, out, NULL, n);
}

SHIM_EXPORT ssize_t sendfile64(int out, int in, off_t *off, size_t n)
{
	return sendfile(out, in, off, n);
}

SHIM_EXPORT ssize_t splice(int in, loff_t *inoff, int out, loff_t *outoff, size_t n,
			   unsigned flags)
{
	if (!fd_ours(in) && !fd_ours(out))
		return SHIM_REAL(splice)(in, inoff, out, outoff, n, flags);
	/* one side must be a pipe, and a pipe takes no offset */
	struct stat si, so;
	if (fstat(in, &si) || fstat(out, &so))
		return -1;
	bool pin = S_ISFIFO(si.st_mode), pout = S_ISFIFO(so.st_mode);
	if ((!pin && !pout) || (pin && inoff) || (pout && outoff)) {
		errno = pin || pout ? ESPIPE : EINVAL;
		return -1;
	}
	if ((inoff && *inoff < 0) || (outoff && *outoff < 0)) {
		errno = EINVAL;
		return -1;
	}
	return copy_through(in, (off_t *)inoff, out, (off_t *)outoff, n);
}

/* ---- statfs ---- */

SHIM_REAL_DECL(statfs);
SHIM_REAL_DECL(fstatfs);
SHIM_REAL_DECL(statvfs);
SHIM_REAL_DECL(fstatvfs);

SHIM_EXPORT int statfs(const char *path, struct statfs *sf)
{
	if (!path_ours(AT_FDCWD, path))
		return SHIM_REAL(statfs)(path, sf);
	struct vfs_hostpath hp;
	long r = vfs_sys_statfs(path, sf, &hp);
	if (r == VFS_PASS)
		return SHIM_REAL(statfs)(hp.path, sf);
	return (int)shim_ret(r);
}

SHIM_EXPORT int statfs64(const char *path, struct statfs64 *sf)
{
	return statfs(path, (struct statfs *)sf);
}

SHIM_EXPORT int fstatfs(int fd, struct statfs *sf)
{
	if (!fd_ours(fd))
		return SHIM_REAL(fstatfs)(fd, sf);
	return (int)shim_ret(vfs_sys_fstatfs(fd, sf));
}

SHIM_EXPORT int fstatfs64(int fd, struct statfs64 *sf)
{
	return fstatfs(fd, (struct statfs *)sf);
}

static void statvfs_from_statfs(struct statvfs *v, const struct statfs *f)
{
	memset(v, 0, sizeof(*v));
	v->f_bsize = (unsigned long)f->f_bsize;
	v->f_frsize = (unsigned long)(f->f_frsize ? f->f_frsize : f->f_bsize);
	v->f_blocks = f->f_blocks;
	v->f_bfree = f->f_bfree;
	v->f_bavail = f->f_bavail;
	v->f_files = f->f_files;
	v->f_ffree = f->f_ffree;
	v->f_favail = f->f_ffree;
	memcpy(&v->f_fsid, &f->f_fsid, sizeof(v->f_fsid) < sizeof(f->f_fsid) ?
					     sizeof(v->f_fsid) : sizeof(f->f_fsid));
	v->f_flag = (unsigned long)f->f_flags & ~0x20ul; /* ST_VALID is not for users */
	v->f_namemax = (unsigned long)f->f_namelen;
}

SHIM_EXPORT int statvfs(const char *path, struct statvfs *v)
{
	if (!path_ours(AT_FDCWD, path))
		return SHIM_REAL(statvfs)(path, v);
	struct statfs sf;
	struct vfs_hostpath hp;
	long r = vfs_sys_statfs(path, &sf, &hp);
	if (r == VFS_PASS)
		return SHIM_REAL(statvfs)(hp.path, v);
	if (r == 0)
		statvfs_from_statfs(v, &sf);
	return (int)shim_ret(r);
}

SHIM_EXPORT int statvfs64(const char *path, struct statvfs64 *v)
{
	return statvfs(path, (struct statvfs *)v);
}

SHIM_EXPORT int fstatvfs(int fd, struct statvfs *v)
{
	if (!fd_ours(fd))
		return SHIM_REAL(fstatvfs)(fd, v);
	struct statfs sf;
	long r = vfs_sys_fstatfs(fd, &sf);
	if (r == 0)
		statvfs_from_statfs(v, &sf);
	return (int)shim_ret(r);
}

SHIM_EXPORT int fstatvfs64(int fd, struct statvfs64 *v)
{
	return fstatvfs(fd, (struct statvfs *)v);
}

/* ---- getdents64 (glibc >= 2.30 exports it) ---- */

SHIM_REAL_DECL(getdents64);

SHIM_EXPORT ssize_t getdents64(int fd, void *buf, size_t n)
{
	if (!fd_ours(fd))
		return SHIM_REAL(getdents64)(fd, buf, n);
	return (ssize_t)shim_ret(vfs_sys_getdents64(fd, buf, n));
}

/* ---- pipe: libunwind's validation pipe goes high (shim/lk_stack.c) ---- */

SHIM_REAL_DECL(pipe2);
SHIM_REAL_DECL(pipe);

SHIM_EXPORT int pipe2(int fds[2], int flags)
{
	int r = SHIM_REAL(pipe2)(fds, flags);
	if (r == 0 && lk_stack_unwinding)
		lk_stack_adopt_pipe(fds);
	return r;
}

SHIM_EXPORT int pipe(int fds[2])
{
	int r = SHIM_REAL(pipe)(fds);
	if (r == 0 && lk_stack_unwinding)
		lk_stack_adopt_pipe(fds);
	return r;
}

/* ---- terminals: a ramfs file is none (glibc asks with an internal
 * ioctl, which the O_PATH placeholder would answer EBADF) ---- */

SHIM_REAL_DECL(tcgetattr);
SHIM_REAL_DECL(ttyname);
SHIM_REAL_DECL(ttyname_r);

SHIM_EXPORT int tcgetattr(int fd, struct termios *t)
{
	if (!fd_ours(fd))
		return SHIM_REAL(tcgetattr)(fd, t);
	errno = ENOTTY;
	return -1;
}

SHIM_EXPORT char *ttyname(int fd)
{
	if (!fd_ours(fd))
		return SHIM_REAL(ttyname)(fd);
	errno = ENOTTY;
	return NULL;
}

SHIM_EXPORT int ttyname_r(int fd, char *buf, size_t len)
{
	if (!fd_ours(fd))
		return SHIM_REAL(ttyname_r)(fd, buf, len);
	return ENOTTY;
}
