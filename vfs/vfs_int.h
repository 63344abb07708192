/*
 * Internal helpers shared by vfs/vfs_path.c and vfs/vfs_fd.c.
 * No shared state of its own (see vfs/vfs.h for the guards).
 */
#ifndef VADSHIM_VFS_INT_H
#define VADSHIM_VFS_INT_H

#include "vfs/vfs.h"
#include "vfs/vfs_sys.h"

/* lockfs: the global one, or under locking=legacy the mount's own (one
 * mount today); chosen once at init, so the fixed design pays no test. */
static inline void fs_lock(void)
{
	lk_lock(vfs.fs_lockp);
}

/* ramfs_fsck=1: check every mounted filesystem after each call (vfs.c). */
extern bool vfs_fsck_each;
void vfs_fsck_now(void);

static inline void fs_unlock(void)
{
	if (__builtin_expect(vfs_fsck_each, 0))
		vfs_fsck_now();
	lk_unlock(vfs.fs_lockp);
}

static inline struct vfs_mount *fd_mount(int fd)
{
	return &vfs.mounts[(unsigned)fd < VFS_FDT_MAX ? vfs.fdt[fd].mnt : 0];
}

/* The open description of fd, read with lockfs held (so a racing close
 * cannot drop it until we are done: close clears the entry first and
 * puts the description under lockfs).  0 if fd is not ours. */
static inline vfs_ofd fd_ofd(int fd)
{
	if ((unsigned)fd >= VFS_FDT_MAX)
		return 0;
	return atomic_load_explicit(&vfs.fdt[fd].ofd, memory_order_acquire);
}

/* utimensat's times as a setattr request (NULL: both now). */
static inline struct vfs_attr vfs_times_attr(const struct timespec ts[2])
{
	struct vfs_attr a = { .mask = VFS_ATTR_TIMES };
	if (ts) {
		a.times[0] = ts[0];
		a.times[1] = ts[1];
	} else {
		a.times[0].tv_nsec = a.times[1].tv_nsec = UTIME_NOW;
	}
	return a;
}

/* Make a kernel descriptor (lowest free >= minfd) for ofd of mount mi.
 * Called with fdt_lock held; takes over the caller's reference. */
long vfs_fd_install(int mi, vfs_ofd ofd, int minfd, int cloexec);

/* fd became ours without vfs_fd_install (adopted at exec). */
void vfs_fdt_note(int fd);

/* The cwd as one word: 0 = the host's, else (mount + 1) << 32 | node. */
extern _Atomic uint64_t vfs_cwd;

static inline int cwd_mount(uint64_t c)
{
	return c ? (int)(c >> 32) - 1 : -1;
}

/* The mount's segment, attached at the first call that needs it
 * (lockfs held); 0 or -ENOENT. */
int vfs_attach_locked(void);
bool vfs_attached(void);

/* Optional hook of the stdio wrappers: fd 0, 1 or 2 changed its kind. */
void shim_stdio_fd_changed(int fd) __attribute__((weak));

#endif
