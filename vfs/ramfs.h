/*
 * ramfs — the userspace in-memory filesystem shared by every process
 * that runs with the shim, in one POSIX shared-memory object per user and
 * name (/dev/shm/vadshim.<uid>.<name>, mode 0600).  Everything in the
 * segment is addressed by offsets, never by pointers; its header carries
 * a layout version, and a process with another version refuses to attach.
 *
 * Locks: every ramfs operation runs with the global lockfs held (taken by
 * the vfs, rank LK_RANK_LOCKFS) and takes the segment lock inside it: a
 * per-process lk lock of class "ramfs_seg" (rank LK_RANK_RAMFS_SEG) for
 * the validator and lockstat, backed by a process-shared robust mutex in
 * the segment header that serialises all processes.  Everything in the
 * segment is guarded by that robust mutex.  A process that dies holding
 * it leaves EOWNERDEAD to the next locker, which repairs the segment
 * (ramfs_repair) before it continues.
 *
 * Operations are reached through ramfs_ops (vfs/vfs_ops.h).
 */
#ifndef VADSHIM_RAMFS_H
#define VADSHIM_RAMFS_H

#include <stddef.h>
#include <sys/types.h>

#include "vfs/vfs_ops.h"

#define RAMFS_LAYOUT_VERSION 4

struct ramfs;

struct ramfs_config {
	const char *name;       /* "default": /dev/shm/vadshim.<uid>.default */
	size_t size;            /* capacity in bytes (ramfs_size=) for a new segment */
	/* Map the segment (fd, len) read-write shared and return its address
	 * or NULL; NULL here means a plain host mmap (unit tests).  The shim
	 * maps it inside the arena as shim memory, so the program cannot
	 * unmap it. */
	void *(*map)(int fd, size_t len);
};

/*
 * Attach to the segment, creating it if it does not exist.  On failure
 * returns -errno and writes one line for the user to msg (for example a
 * layout version mismatch names both versions and `vadshim ramfs rm`).
 */
int ramfs_attach(const struct ramfs_config *cfg, struct ramfs **out,
		 char *msg, size_t msglen);
/* Remove the segment (shm unlink) by name, as `vadshim ramfs rm`. */
int ramfs_remove(const char *name);
/* The segment's descriptor (kept open, moved to >= 900, close-on-exec):
 * file mappings map its pages. */
int ramfs_seg_fd(const struct ramfs *fs);
/* The st_dev reported for ramfs nodes. */
dev_t ramfs_dev(const struct ramfs *fs);

/*
 * Check every invariant of the segment (takes the segment lock): free
 * space accounting, extents inside the segment and disjoint, link counts
 * equal to directory references, directory hash chains, open-description
 * references, ...  Returns 0, or -EUCLEAN with a one-line description of
 * the first broken invariant in buf.
 */
int ramfs_fsck(struct ramfs *fs, char *buf, size_t buflen);

/* fsck, and if it finds a broken invariant, repair (as after a crash)
 * and check again: 0 when clean afterwards; buf gets what was broken
 * before (empty if nothing was). */
int ramfs_fsck_repair(struct ramfs *fs, char *buf, size_t buflen);

/* How long attach waits for a creator to finish (ms; the tools). */
void ramfs_ready_wait_ms_set(int ms);

/* Unmap a segment attached by this process and forget it (the tools). */
void ramfs_detach(struct ramfs *fs);

/* Usage figures for `vadshim ramfs df` and tests.  procs: slots of the
 * process table in use, the caller's own excluded; procs_live: those
 * whose process still runs. */
struct ramfs_usage {
	size_t size, used_bytes, files, max_files, ofds;
	size_t procs, procs_live, repairs;
	size_t procs_dead_refs;         /* dead, still holding references */
};
void ramfs_usage(struct ramfs *fs, struct ramfs_usage *u);

/*
 * gc: drop the references (open descriptions, mapping pins, cwd holds)
 * that processes which no longer run still hold, and free what that
 * releases.  Also run automatically when an allocation finds no space or
 * no free table entry.  Returns the number of dead processes reclaimed
 * or -errno; rep (may be NULL) says what was reclaimed.
 */
struct ramfs_gc_report {
	size_t procs, ofds, pins, holds;        /* references dropped */
	size_t freed_bytes, freed_nodes;
};
int ramfs_gc(struct ramfs *fs, struct ramfs_gc_report *rep);

/* In a fork child, before it takes references: the child is a new
 * process and gets its own slot in the process table. */
void ramfs_forked(struct ramfs *fs);

extern const struct vfs_ops ramfs_ops;

/* The vfs's mapping flows (vfs/ramfs_remap.c), with lockfs held:
 * pieces of node n's [off, off+len) for a mapping that grows (pins the
 * pages, as ops->map does); more pins for mappings a fork child
 * inherits; the file offset of a segment offset of node n. */
int ramfs_map_node(struct vfs_mount *m, vfs_node n, uint64_t off, uint64_t len,
		   struct vfs_map_piece *pieces, int max);
void ramfs_pin_node(struct vfs_mount *m, vfs_node n, uint64_t pages);
int ramfs_file_off(struct vfs_mount *m, vfs_node n, uint64_t seg_off, uint64_t *file_off);

#endif
