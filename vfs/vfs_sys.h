/*
 * vfs_sys — the handlers behind the file wrappers (shim/wrap_file.c,
 * wrap_path.c, wrap_dir.c, wrap_stdio.c, ...).  Each returns >= 0 or
 * -errno, or VFS_PASS: "not a mounted filesystem; call the host with
 * hp->path" (which may differ from the caller's path when resolution
 * left a mount through ".." or a symlink).
 *
 * Descriptor handlers (fd argument) are called only for descriptors for
 * which vfs_fd_mine() is true; they return -EBADF if the descriptor was
 * closed meanwhile.
 */
#ifndef VADSHIM_VFS_SYS_H
#define VADSHIM_VFS_SYS_H

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "vfs/vfs.h"

#define VFS_PASS (-1025L)

struct vfs_hostpath {
	const char *path;       /* what the host should get */
	char buf[PATH_MAX];
};

/* ---- paths (dirfd may be AT_FDCWD, a host or a ramfs descriptor) ---- */
long vfs_sys_openat(int dirfd, const char *path, int flags, mode_t mode,
		    struct vfs_hostpath *hp);
long vfs_sys_fstatat(int dirfd, const char *path, struct stat *st, int flags,
		     struct vfs_hostpath *hp);
long vfs_sys_statx(int dirfd, const char *path, int flags, unsigned mask,
		   struct statx *stx, struct vfs_hostpath *hp);
long vfs_sys_faccessat(int dirfd, const char *path, int mode, int flags,
		       struct vfs_hostpath *hp);
long vfs_sys_unlinkat(int dirfd, const char *path, int flags, struct vfs_hostpath *hp);
long vfs_sys_mkdirat(int dirfd, const char *path, mode_t mode, struct vfs_hostpath *hp);
long vfs_sys_mknodat(int dirfd, const char *path, mode_t mode, dev_t dev,
		     struct vfs_hostpath *hp);
/* Two paths: VFS_PASS only when both are host paths (hp1, hp2 set);
 * one on each side gives -EXDEV. */
long vfs_sys_renameat2(int odfd, const char *old, int ndfd, const char *new_,
		       unsigned flags, struct vfs_hostpath *hp1, struct vfs_hostpath *hp2);
long vfs_sys_linkat(int odfd, const char *old, int ndfd, const char *new_, int flags,
		    struct vfs_hostpath *hp1, struct vfs_hostpath *hp2);
long vfs_sys_symlinkat(const char *target, int dirfd, const char *path,
		       struct vfs_hostpath *hp);
long vfs_sys_readlinkat(int dirfd, const char *path, char *buf, size_t len,
			struct vfs_hostpath *hp);
long vfs_sys_fchmodat(int dirfd, const char *path, mode_t mode, int flags,
		      struct vfs_hostpath *hp);
long vfs_sys_fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags,
		      struct vfs_hostpath *hp);
long vfs_sys_utimensat(int dirfd, const char *path, const struct timespec ts[2],
		       int flags, struct vfs_hostpath *hp);
long vfs_sys_truncate(const char *path, off_t len, struct vfs_hostpath *hp);
long vfs_sys_statfs(const char *path, struct statfs *sf, struct vfs_hostpath *hp);
long vfs_sys_chdir(const char *path, struct vfs_hostpath *hp);
/* getcwd: the length written including the NUL, or VFS_PASS when the
 * cwd is the host's. */
long vfs_sys_getcwd(char *buf, size_t size);
/* Is the cwd inside a mount? */
bool vfs_cwd_mine(void);
/* xattr calls on a path: -ENOTSUP/-ENODATA on ramfs, VFS_PASS otherwise */
long vfs_sys_xattr_path(const char *path, int set, struct vfs_hostpath *hp);

/* ---- descriptors ---- */
long vfs_sys_close(int fd);
long vfs_sys_rw(int fd, const struct iovec *iov, int iovcnt, off_t off, int write, int rwf);
long vfs_sys_lseek(int fd, off_t off, int whence);
long vfs_sys_fstat(int fd, struct stat *st);
long vfs_sys_ftruncate(int fd, off_t len);
long vfs_sys_fallocate(int fd, int mode, off_t off, off_t len);
long vfs_sys_fsync(int fd);
long vfs_sys_getdents64(int fd, void *buf, size_t len);
long vfs_sys_fcntl(int fd, int cmd, long arg);
/* flock(2) on a descriptor of ours (op: LOCK_SH/EX/UN [| LOCK_NB]). */
long vfs_sys_flock(int fd, int op);
long vfs_sys_ioctl(int fd, unsigned long req, void *arg);
long vfs_sys_fchdir(int fd);
long vfs_sys_fstatfs(int fd, struct statfs *sf);
long vfs_sys_fchmod(int fd, mode_t mode);
long vfs_sys_fchown(int fd, uid_t uid, gid_t gid);
long vfs_sys_futimens(int fd, const struct timespec ts[2]);

/*
 * dup family, where either side may be ours.  Returns the new fd, or
 * VFS_PASS when neither descriptor is ours.
 *   dup(oldfd):            newfd = -1, flags = 0
 *   dup2/dup3:             newfd >= 0, flags = 0 or O_CLOEXEC (dup3)
 *   fcntl(F_DUPFD[_CLOEXEC], min): vfs_sys_dupfd
 */
long vfs_sys_dup3(int oldfd, int newfd, int flags, int is_dup2);
long vfs_sys_dupfd(int oldfd, int minfd, int cloexec);
/* close_range: closes our descriptors in the range, returns VFS_PASS so
 * the host closes the rest (skipping the shim's own descriptors). */
void vfs_sys_close_range_ours(unsigned first, unsigned last, int flags);
/* The shim's own descriptors (log, segment, placeholder) are refused to
 * close and dup2-over: -EBADF. */
bool vfs_fd_is_shim(int fd);
/* Every descriptor of the shim itself (-1 where none), for close_range. */
#define VFS_SHIM_FDS 6
void vfs_shim_fds(int out[VFS_SHIM_FDS]);

/* The cwd became the host's again (a host fchdir succeeded). */
void vfs_cwd_to_host(void);

/* ---- exec: descriptors handed to the new image ---- */
/* "VADSHIM_FDS=..." into buf (see vfs_fd.c); its length, 0 when there is
 * nothing to hand over, or -ENAMETOOLONG. */
long vfs_exec_fds(char *buf, size_t len);
/* Highest descriptor number ever ours + 1. */
int vfs_fdt_hi(void);

/* ---- mappings (vfs_map.c) ---- */
/* mmap of a descriptor of ours: fdtable -> lockfs -> mman. */
long vfs_sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
/* Around every other memory call: lockfs first once the process has
 * mapped a ramfs file; leaving unpins what the call unmapped. */
bool vfs_mman_enter(void);
void vfs_mman_leave(bool entered);
/* mremap growing a ramfs mapping (with lockfs held, inside
 * vfs_mman_enter); VFS_PASS for everything else (mman serves it). */
long vfs_sys_mremap(void *old, size_t old_len, size_t new_len, int flags, void *na);
/* fork child: pin the pages of inherited ramfs mappings again. */
void vfs_map_fork_child(void);
/* locking=legacy: give mman the way into the filesystem (vfs_init). */
void vfs_map_legacy_init(void);
bool vfs_fd_is_eof(int fd);
int vfs_eof_fd(void);
int vfs_seg_fd(int mnt);

#endif
