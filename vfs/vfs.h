/*
 * vfs — the mount table, path dispatch, the per-process fdtable and the
 * global lockfs; the handlers (vfs_sys.c) that the libc wrappers call.
 *
 * Lock order (the whole shim):
 *
 *     vfs.fdt_lock   (fdtable, per process, recursive)   <- fdtable, cwd
 *       vfs.lockfs   (global: one per process for every mount, recursive)
 *         ramfs_seg  (per segment, robust, shared between processes)
 *           mman.lock
 *
 * lockfs is the seed's single filesystem lock: every operation on every
 * mounted filesystem runs under it; host paths never take it.  It sits
 * above the per-segment robust mutex, so when a process mounts several
 * ramfs instances one lockfs still serialises all of them, as in the
 * fixed design.
 *
 * locking=legacy: each mount has its own lockfs instead (lockfs_inst[],
 * class "lockfs_instance", same rank), as the seed had before its fix;
 * fs_lockp (set once at init) says which one fs_lock() takes.  The
 * legacy flows also invert the order twice: mmap of a file takes
 * fdt_lock inside lockfs (vfs_map.c), and memory calls that unmap or
 * flush file mappings take lockfs inside mman.lock (mman_sys.c).
 *
 * Guards:
 *   mounts[].prefix/parent, nmounts   written at init, read-only after
 *   mounts[].ops/fs, placeholder_fd   written once, under lockfs, by the
 *                          attach (vfs.c), then published by attach_state
 *                          (atomic, release); read-only after
 *   cred                   written at init and by the set*id and umask
 *                          wrappers (plain word stores: a racing file call
 *                          sees the old or the new value, as with the
 *                          kernel's own credentials)
 *   vfs_fsck_each (vfs.c)  written at init, read-only after
 *   fdt[] entries          written under fdt_lock, read lock-free (atomic) by
 *                          the wrappers' "is this descriptor ours" test
 *   fdt_hi (vfs_fd.c)      atomic, only grows, raised with fdt_lock held
 *   vfs_cwd (vfs_path.c)  atomic word; changed with fdt_lock held
 */
#ifndef VADSHIM_VFS_H
#define VADSHIM_VFS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "shim/lk.h"
#include "vfs/vfs_ops.h"

#define VFS_MAX_MOUNTS 4
#define VFS_FDT_MAX 65536       /* descriptors >= this are never ours */

/* One descriptor that refers to a mounted filesystem's open description. */
struct vfs_fde {
	_Atomic uint32_t ofd;   /* 0: not ours (host or closed) */
	uint8_t mnt;            /* index into vfs.mounts */
	uint8_t cloexec;
};

struct vfs {
	struct lk_lock fdt_lock;
	struct lk_lock lockfs;
	struct lk_lock lockfs_inst[VFS_MAX_MOUNTS];     /* locking=legacy */
	struct lk_lock *fs_lockp;       /* &lockfs or &lockfs_inst[0]; set at init */
	struct vfs_mount mounts[VFS_MAX_MOUNTS];
	int nmounts;
	int placeholder_fd;     /* O_PATH descriptor that ramfs descriptors dup */
	struct vfs_cred cred;
	bool ready;
	struct vfs_fde fdt[VFS_FDT_MAX];
};

extern struct vfs vfs;

/* Is fd a descriptor of a mounted filesystem?  Lock-free, for wrappers. */
static inline bool vfs_fd_mine(int fd)
{
	return (unsigned)fd < VFS_FDT_MAX &&
	       atomic_load_explicit(&vfs.fdt[fd].ofd, memory_order_relaxed) != 0;
}

/* Does the path possibly name something under a mount (or is the cwd
 * inside one)?  A cheap test so that host paths cost a few ns. */
bool vfs_path_maybe_mine(const char *path);

/* The wrappers' gate for a (dirfd, path) call: false sends it straight to
 * the host. */
static inline bool vfs_call_maybe_mine(int dirfd, const char *path)
{
	return vfs.ready && path && (vfs_fd_mine(dirfd) || vfs_path_maybe_mine(path));
}

/* Mount the ramfs (options mount=, ramfs=, ramfs_size=) and adopt
 * descriptors handed over by exec.  Returns 0 or -errno (a message was
 * printed). */
int vfs_init(void);
void vfs_fork_child(void);

/* Credentials after set*id calls. */
void vfs_refresh_cred(void);

#endif
