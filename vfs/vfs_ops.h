/*
 * vfs_ops — the whole contract between the vfs and a filesystem (ramfs
 * now; hostfs bind mounts and ext2 images later), in the manner of
 * SQLite's sqlite3_io_methods: one table of function pointers, nothing
 * else crosses the boundary.
 *
 * Locking: the vfs calls every operation with the global lockfs held
 * (lk rank LK_RANK_LOCKFS, process-wide, recursive).  A filesystem whose
 * state is shared between processes (ramfs) takes its own per-segment
 * lock inside each operation (rank LK_RANK_RAMFS_SEG); it never takes the
 * fdtable lock and may take the mman lock (to map or unmap its own
 * memory).  So the order fdtable -> lockfs -> segment -> mman holds.
 *
 * Results: every operation returns >= 0 on success or -errno, with the
 * errno the Linux kernel gives on tmpfs for the same call.
 *
 * Identities: a filesystem names its nodes (inodes) and open file
 * descriptions by small integers (vfs_node, vfs_ofd), never by pointers,
 * so that they can live in shared memory and cross fork.  0 is never a
 * valid id.
 */
#ifndef VADSHIM_VFS_OPS_H
#define VADSHIM_VFS_OPS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <sys/uio.h>

typedef uint32_t vfs_node;      /* a node (inode) of one filesystem */
typedef uint32_t vfs_ofd;       /* an open file description of one filesystem */

/*
 * A record-lock request (fcntl F_SETLK/F_SETLKW/F_GETLK and their F_OFD_
 * forms, flock, lockf).  kind: whose lock it is -- the calling process's
 * (POSIX), the description's (OFD), or a flock lock of the description
 * (FLOCK: only fl->l_type is read, F_RDLCK/F_WRLCK/F_UNLCK).  get: test
 * only (F_GETLK), fl gets the first conflicting lock or F_UNLCK.  wait:
 * on a conflict the operation registers the caller as a waiter and
 * returns -VFS_EWAIT with *futex and futex_val set: the vfs drops every
 * lock, sleeps on that shared futex word while it still holds futex_val,
 * and calls again with the same request (slot names the registration;
 * 0 at the first call), or calls lock_cancel to give up.
 */
#define VFS_LK_POSIX 1
#define VFS_LK_OFD   2
#define VFS_LK_FLOCK 3
#define VFS_EWAIT 1026          /* not an errno: "sleep on *futex, then retry" */
struct flock;
struct vfs_lock_req {
	int kind;
	int get;
	int wait;
	struct flock *fl;
	uint32_t *futex;        /* out, with -VFS_EWAIT */
	uint32_t futex_val;
	uint32_t slot;          /* the waiter registration, 0: none */
};

/*
 * One mounted filesystem.  Written once when the mount table is built
 * (at init, before any thread of the program can enter the shim) and
 * read-only after: no lock.
 */
struct vfs_ops;
struct vfs_mount {
	const struct vfs_ops *ops;
	void *fs;               /* the filesystem's instance (struct ramfs *) */
	char prefix[256];       /* absolute, no trailing slash: "/ramfs" */
	size_t prefix_len;
	char parent[256];       /* the prefix's parent directory: "/" */
};

/* Who is asking: the permission checks of the kernel use these. */
#define VFS_MAX_GROUPS 64
struct vfs_cred {
	uid_t uid;              /* effective uid (fsuid) */
	gid_t gid;              /* effective gid (fsgid) */
	uid_t ruid;             /* real ids, for access() without AT_EACCESS */
	gid_t rgid;
	unsigned ngroups;
	gid_t groups[VFS_MAX_GROUPS];
	mode_t umask;
};

/*
 * A path to resolve inside one mount.
 *
 * path is relative to the directory start (0 = the mount root); a path
 * starting with '/' is relative to the mount root.  The vfs strips the
 * mount prefix: "/ramfs/a/b" arrives as "/a/b" with start 0, "x/y" with
 * the cwd's node as start.  Repeated slashes, "." and ".." are the
 * filesystem's to interpret; a trailing slash means the last component
 * must be a directory (after following it if it is a symlink).
 *
 * Leaving the mount: ".." at the mount root, or a symlink whose target
 * is absolute, makes the operation return -VFS_EESCAPE after writing to
 * escape[] (PATH_MAX bytes) the absolute path the vfs must resolve
 * instead (for "..": the mount's parent directory joined with the rest
 * of the path; for a symlink: its target joined with the rest).  The
 * vfs then dispatches that path again (to the host or to a mount).
 * *nlinks counts symlinks followed over the whole resolution, across
 * such restarts; more than VFS_MAX_SYMLINKS gives -ELOOP.
 */
#define VFS_MAX_SYMLINKS 40
#define VFS_EESCAPE 1024        /* not an errno: "resolve escape[] instead" */

#define VFS_NOFOLLOW    0x1u    /* do not follow a final symlink */
#define VFS_EMPTY_PATH  0x2u    /* "" names start itself (AT_EMPTY_PATH) */

struct vfs_path {
	struct vfs_mount *mnt;
	vfs_node start;
	const char *path;
	unsigned flags;
	int *nlinks;
	char *escape;
	/* Who resolves the path, for the search (x) permission of every
	 * directory on the way, in the operations that take no vfs_cred of
	 * their own (stat, readlink); NULL resolves as root.  Operations
	 * with a vfs_cred argument use that one. */
	const struct vfs_cred *cred;
};

/* Attribute changes (chmod, chown, utimensat).  Times use the utimensat
 * convention: UTIME_NOW, UTIME_OMIT or a value. */
#define VFS_ATTR_MODE  0x1u
#define VFS_ATTR_UID   0x2u
#define VFS_ATTR_GID   0x4u
#define VFS_ATTR_TIMES 0x8u
struct vfs_attr {
	unsigned mask;
	mode_t mode;
	uid_t uid;              /* (uid_t)-1: unchanged, as chown */
	gid_t gid;
	struct timespec times[2];   /* atime, mtime */
};

/* One contiguous piece of a file mapping: file bytes [file_off,
 * file_off + len) are segment bytes [seg_off, seg_off + len). */
struct vfs_map_piece {
	uint64_t file_off;
	uint64_t seg_off;
	uint64_t len;
};

struct vfs_ops {
	const char *name;

	/* --- paths --- */
	int (*stat)(const struct vfs_path *p, struct stat *st);
	/* open(2) with every O_* flag the kernel honours on tmpfs, O_TMPFILE
	 * included; the new description has one reference. */
	int (*open)(const struct vfs_path *p, int flags, mode_t mode,
		    const struct vfs_cred *c, vfs_ofd *out);
	int (*mkdir)(const struct vfs_path *p, mode_t mode, const struct vfs_cred *c);
	int (*mknod)(const struct vfs_path *p, mode_t mode, dev_t dev, const struct vfs_cred *c);
	/* unlinkat: flags 0 or AT_REMOVEDIR */
	int (*unlink)(const struct vfs_path *p, int flags, const struct vfs_cred *c);
	/* renameat2: flags 0, RENAME_NOREPLACE or RENAME_EXCHANGE; both
	 * paths in this mount (the vfs gives -EXDEV otherwise). */
	int (*rename)(const struct vfs_path *from, const struct vfs_path *to,
		      unsigned flags, const struct vfs_cred *c);
	/* linkat: from->flags has VFS_NOFOLLOW unless AT_SYMLINK_FOLLOW */
	int (*link)(const struct vfs_path *from, const struct vfs_path *to,
		    const struct vfs_cred *c);
	int (*symlink)(const char *target, const struct vfs_path *p, const struct vfs_cred *c);
	/* Returns the number of bytes placed in buf (not NUL-terminated). */
	long (*readlink)(const struct vfs_path *p, char *buf, size_t len);
	/* faccessat: mode F_OK or R_OK|W_OK|X_OK; flags AT_EACCESS */
	int (*access)(const struct vfs_path *p, int mode, int flags, const struct vfs_cred *c);
	/* chmod/chown/utimensat on a path, or on ofd when ofd != 0 (p NULL,
	 * or a vfs_path carrying just mnt: needed once there are several
	 * ramfs mounts). */
	int (*setattr)(const struct vfs_path *p, vfs_ofd ofd, const struct vfs_attr *a,
		       const struct vfs_cred *c);
	/* chdir: resolve a directory the caller may search; *out its node. */
	int (*lookup_dir)(const struct vfs_path *p, const struct vfs_cred *c, vfs_node *out);
	/* getcwd: the path of a directory node inside the mount ("/" for the
	 * root, "/a/b" below it); -ENOENT once it has been removed. */
	int (*node_path)(struct vfs_mount *m, vfs_node n, char *buf, size_t len);
	/* Reference a directory node (held by a cwd) or drop that reference. */
	void (*node_hold)(struct vfs_mount *m, vfs_node n, int delta);
	int (*statfs)(struct vfs_mount *m, struct statfs *sf);

	/* --- open file descriptions --- */
	/* A description is shared by dup, fork and exec: one reference per
	 * descriptor in any process.  put frees it at zero (and the node, if
	 * it was unlinked and has no other user). */
	void (*ofd_get)(struct vfs_mount *m, vfs_ofd f);
	void (*ofd_put)(struct vfs_mount *m, vfs_ofd f);
	/* Move the bookkeeping of one reference to (+1) or from (-1) this
	 * process, leaving the count itself alone: a reference in flight over
	 * a UNIX socket belongs to no process until a receiver adopts it, so
	 * that the sender's death never gives back a reference the receiver
	 * holds (gc may over-count, never under-count). */
	void (*ofd_own)(struct vfs_mount *m, vfs_ofd f, int delta);
	/* readv/writev/preadv2/pwritev2 in one: off -1 uses and advances the
	 * description's offset (O_APPEND writes at the end); rwf RWF_* flags. */
	long (*rw)(struct vfs_mount *m, vfs_ofd f, const struct iovec *iov, int iovcnt,
		   off_t off, int write, int rwf);
	off_t (*lseek)(struct vfs_mount *m, vfs_ofd f, off_t off, int whence);
	int (*fstat)(struct vfs_mount *m, vfs_ofd f, struct stat *st);
	int (*ftruncate)(struct vfs_mount *m, vfs_ofd f, off_t len);
	int (*fallocate)(struct vfs_mount *m, vfs_ofd f, int mode, off_t off, off_t len);
	int (*fsync)(struct vfs_mount *m, vfs_ofd f);
	int (*getfl)(struct vfs_mount *m, vfs_ofd f);              /* F_GETFL */
	int (*setfl)(struct vfs_mount *m, vfs_ofd f, int flags);   /* F_SETFL */
	/* getdents64: linux_dirent64 records with d_off = the position after
	 * the entry (lseek(SEEK_SET) to it resumes there, so telldir/seekdir
	 * work); positions stay valid while entries are added and removed. */
	long (*getdents)(struct vfs_mount *m, vfs_ofd f, void *buf, size_t len);
	/* The node of an open directory (fchdir, *at with a dirfd):
	 * -ENOTDIR when it is not a directory. */
	int (*ofd_dir)(struct vfs_mount *m, vfs_ofd f, vfs_node *out);
	/* Bytes from the offset to the end (FIONREAD). */
	long (*ofd_remaining)(struct vfs_mount *m, vfs_ofd f);

	/* --- mappings --- */
	/* mmap of [off, off+len) through f (access mode checked against prot
	 * and MAP_SHARED as the kernel does: -EACCES).  Fills at most max
	 * pieces covering the part of the range below EOF rounded up to a
	 * page, pins those segment pages (they are not reused for other data
	 * while mapped, even if the file is truncated) and returns the count
	 * of pieces. The node id is returned in *node for unpin. */
	int (*map)(struct vfs_mount *m, vfs_ofd f, uint64_t off, uint64_t len, int prot,
		   int flags, struct vfs_map_piece *pieces, int max, vfs_node *node);
	void (*unpin)(struct vfs_mount *m, vfs_node n, uint64_t file_off, uint64_t len);

	/* --- record locks (see struct vfs_lock_req) --- */
	int (*lock)(struct vfs_mount *m, vfs_ofd f, struct vfs_lock_req *rq);
	void (*lock_cancel)(struct vfs_mount *m, struct vfs_lock_req *rq);
	/* This process closed a descriptor of f: its process-associated
	 * record locks on f's file go (any close, as the kernel does). */
	void (*lock_close)(struct vfs_mount *m, vfs_ofd f);
};

#endif
