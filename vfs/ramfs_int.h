/*
 * ramfs internals: the segment layout and the helpers the ramfs_*.c files
 * share.  Nothing here is part of the vfs contract (vfs/ramfs.h is).
 *
 * The segment (one POSIX shm object, mapped MAP_SHARED by every process;
 * every reference inside it is an offset or a table index, never a
 * pointer, so each process may map it at a different address):
 *
 *   0          +--------------------------------------------+
 *              | header: magic, layout version, ready flag, |
 *              | sizes, table offsets, free-list heads,     |
 *              | counters, the robust mutex                 |
 *   off_nodes  +--------------------------------------------+
 *              | node table   [nnodes]   (index 0 unused,   |
 *              |                          1 = the root)     |
 *   off_dirents+--------------------------------------------+
 *              | dirent table [ndirents] (name inline)      |
 *   off_buckets+--------------------------------------------+
 *              | name hash    [nbuckets] -> dirent chains   |
 *   off_ofds   +--------------------------------------------+
 *              | open file descriptions [nofds]             |
 *   off_exts   +--------------------------------------------+
 *              | extent table [nexts]                       |
 *   off_bitmap +--------------------------------------------+
 *              | page bitmap: 1 bit per data page, 1 = used |
 *   off_unwrit +--------------------------------------------+
 *              | unwritten bitmap: 1 = allocated by         |
 *              | fallocate, not written yet (a hole for     |
 *              | SEEK_DATA, as tmpfs)                       |
 *   off_scratch+--------------------------------------------+
 *              | scratch bitmap for fsck and repair         |
 *   off_counts +--------------------------------------------+
 *              | scratch counters [2 * nnodes], same users  |
 *   off_procs  +--------------------------------------------+
 *              | process table [nprocs]: who holds which    |
 *              | references (ramfs_proc.c), for gc          |
 *   off_locks  +--------------------------------------------+
 *              | record locks (ramfs_lock.c): its header,   |
 *              | per node list head + wait word [nnodes],   |
 *              | lock entries [nlocks], waiters [nwaits]    |
 *   off_data   +--------------------------------------------+ page aligned
 *              | data pages: file extents, symlink targets  |
 *              | (free pages are punched holes: zero, no    |
 *              |  memory)                                   |
 *   size       +--------------------------------------------+
 *
 * Index 0 of every table is never used, so 0 means "none" in every link.
 *
 * Table sizes (ramfs_layout in ramfs_seg.c), from the capacity S:
 *   nodes = clamp(S / 16 KiB, 64, 2^24)   dirents = nodes * 3 / 2
 *   buckets = pow2 >= dirents             ofds = clamp(nodes / 4, 64, 65536)
 *   extents = nodes * 2                     procs = clamp(nodes / 64, 16, 256)
 * (1 GiB: 65536 nodes, 98304 names, 16384 open descriptions, 131072
 * extents; the tables take 42 MiB of the segment, touched only as used,
 * leaving 251431 data pages.)  A full node or dirent table
 * gives ENOSPC, a full ofd table ENFILE.
 *
 * Known differences from tmpfs (each needs something the contract does
 * not carry, or is not worth its cost yet):
 *  - stat and readlink resolve with p->cred (an addition to the
 *    contract); a vfs that leaves it NULL gets root's view.
 *  - rw, ftruncate and fallocate get no credentials: whether they drop
 *    setuid/setgid (file_remove_privs) follows the opener's uid, kept in
 *    the description; setfl does not check O_NOATIME's owner rule (open
 *    does).
 *  - FIFOs, sockets and device nodes can be created (mknod) but opening
 *    one gives ENXIO (tmpfs opens FIFOs and devices).
 *  - fs.protected_symlinks / protected_regular are not applied
 *    (protected_hardlinks is).
 *  - Listings run newest first as on tmpfs, but the d_off values differ.
 *  - A mapped hole gets its pages at map time, not at the first fault.
 *  - Bad user buffers fault in memcpy (SIGSEGV) instead of EFAULT.
 *
 * Locking: everything in the segment is guarded by the segment lock
 * ("ramfs_seg": struct ramfs.lock for this process's threads, then
 * hdr->mutex, the robust process-shared mutex, for all processes); see
 * ramfs_seg.c.  The only fields read without it are the immutable ones
 * written by the creator before hdr->ready is set (magic, version, sizes,
 * table offsets).  struct ramfs itself is per process and written only by
 * ramfs_attach.
 */
#ifndef VADSHIM_RAMFS_INT_H
#define VADSHIM_RAMFS_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "shim/lk.h"
#include "vfs/ramfs.h"

#define RAMFS_MAGIC 0x5346524d41524156ull   /* "VARAMRFS" */
#define RAMFS_PAGE 4096u
#define RAMFS_NAME_MAX 255
#define RAMFS_ROOT 1u
#define RAMFS_MAX_FILE ((uint64_t)INT64_MAX)
#define RAMFS_BOGO_DIRENT 20            /* tmpfs: dir size = 40 + 20 per entry */
#define RAMFS_SHORT_SYMLINK 128         /* tmpfs keeps shorter targets inline */
#define RAMFS_POS_NEWEST 2              /* readdir position after ".." */
#define RAMFS_COOKIE_FIRST 3            /* the oldest possible entry cookie */

struct ramfs_ts {
	int64_t sec;
	int64_t nsec;
};

/* One inode.  mode == 0: free (next_free links the free list). */
#define RAMFS_NF_LINKABLE 0x1u     /* O_TMPFILE without O_EXCL: linkat may name it */

struct ramfs_node {
	uint32_t mode;
	uint32_t nlink;
	uint32_t uid, gid;
	uint64_t size;
	uint64_t rdev;
	struct ramfs_ts atime, mtime, ctime;
	uint64_t pages;         /* data pages allocated (st_blocks / 8) */
	uint64_t pinned;        /* pages pinned by mappings (map - unpin) */
	uint32_t ext;           /* first extent, ordered by file page */
	uint32_t zombie;        /* extents cut off while pinned: freed at unpin */
	uint32_t opens;         /* open descriptions that reference it */
	uint32_t holds;         /* cwd references (node_hold) */
	uint32_t gen;
	uint32_t flags;         /* RAMFS_NF_* */
	uint32_t next_free;
	/* directories only */
	uint32_t name_de;       /* the dirent naming it (0 for the root) */
	uint32_t entries;       /* entries, "." and ".." excluded */
	uint32_t first, last;   /* dirents in readdir (cookie) order */
	uint64_t cookie;        /* next readdir position to hand out */
};

/* One name in a directory.  dir == 0: free (next links the free list). */
struct ramfs_dirent {
	uint32_t dir;           /* directory node that holds it */
	uint32_t node;          /* the node it names */
	uint32_t hnext;         /* hash chain */
	uint32_t prev, next;    /* readdir order within dir */
	uint32_t hash;
	uint32_t namelen;
	uint64_t cookie;        /* readdir position, increasing within a dir */
	char name[RAMFS_NAME_MAX + 1];
};

/* One open file description.  refs == 0: free (node links the free list). */
struct ramfs_ofd {
	uint32_t refs;
	uint32_t node;
	int32_t flags;          /* O_ACCMODE | status flags (O_APPEND ...) */
	uint32_t unpriv;        /* opened without CAP_FSETID (uid != 0): writes
				   drop setuid/setgid (file_remove_privs) */
	uint32_t dir_hint;      /* directories: dirent expected at pos */
	int64_t pos;            /* file offset, or readdir position */
};

/* File pages [fpage, fpage + npages) live at data page spage. */
struct ramfs_ext {
	uint64_t fpage;
	uint32_t spage;
	uint32_t npages;
	uint32_t next;          /* in the node's list, or the free list */
	uint32_t used;
};

/*
 * A table's allocator: entries below hwm have been used at least once
 * (free ones are on the free list); entries at and above hwm were never
 * touched, so their pages of the sparse segment cost no memory.
 */
enum { RAMFS_T_NODE, RAMFS_T_DIRENT, RAMFS_T_OFD, RAMFS_T_EXT, RAMFS_NTAB };
struct ramfs_tab {
	uint32_t cap;           /* entries, index 0 included (never used) */
	uint32_t hwm;
	uint32_t free;          /* free list head */
	uint32_t used;
};

/*
 * Crash safety (ramfs_crash.c): the intent of the one multi-step
 * operation that cannot be made safe by store order alone (rename),
 * written before its first store to primary data and cleared after its
 * last, so that repair can finish it or undo it.  op == 0: none.
 */
enum { RAMFS_OP_NONE, RAMFS_OP_MOVE, RAMFS_OP_REPLACE, RAMFS_OP_EXCHANGE };
struct ramfs_intent {
	uint32_t op;
	uint32_t de_old;        /* the entry the node leaves */
	uint32_t de_new;        /* the entry that names it afterwards */
	uint32_t node;          /* the node renamed */
	uint32_t node_b;        /* EXCHANGE: the other node */
	uint32_t pad;
};

/*
 * The process table (ramfs_proc.c): one slot per attached process, keyed
 * by pid and start time (/proc/PID/stat field 22, so a reused pid is a
 * different process), with the references it holds: a small open-address
 * hash of (kind, object) -> count.  A slot's counts never exceed what the
 * process really holds (they go up after the reference is taken and down
 * before it is dropped), so gc can drop a dead process's counts without
 * ever under-counting.
 */
#define RAMFS_PROC_REFS 512             /* power of two */
enum { RAMFS_REF_OFD = 1, RAMFS_REF_PIN = 2, RAMFS_REF_HOLD = 3 };
#define RAMFS_REF_KEY(kind, obj) ((uint32_t)(kind) << 28 | (obj))
struct ramfs_pref {
	uint32_t key;           /* kind << 28 | object index; 0: empty */
	uint32_t count;
};
struct ramfs_proc {
	int32_t pid;            /* 0: free slot */
	uint32_t nrefs;         /* keys in refs */
	uint64_t start;         /* start time in clock ticks */
	uint64_t image;         /* changes at exec: a new image has no mappings */
	uint32_t overflow;      /* references not recorded (table full) */
	uint32_t pad[9];
	struct ramfs_pref refs[RAMFS_PROC_REFS];
};

/* Store order matters where a process may die between two stores (the
 * next locker repairs what it finds): a fence keeps the publishing store
 * after the ones it publishes (on x86 a compiler barrier: stores stay in
 * order).  Each one is also a crash point for the tests: with
 * ramfs_crash_at = N the process dies at the Nth (tests/unit/
 * test_ramfs_crash.c enumerates them); otherwise one predictable branch. */
extern int ramfs_crash_at;
void ramfs_crash_hit(void);
#define RAMFS_PUBLISH()                                                 \
	do {                                                            \
		__atomic_thread_fence(__ATOMIC_RELEASE);                \
		if (__builtin_expect(ramfs_crash_at != 0, 0))           \
			ramfs_crash_hit();                              \
	} while (0)

struct ramfs_hdr {
	uint64_t magic;
	uint32_t version;
	uint32_t ready;         /* set by the creator once initialised */
	uint64_t size;
	uint32_t nnodes, ndirents, nbuckets, nofds, nexts;
	uint32_t data_pages;
	uint64_t off_nodes, off_dirents, off_buckets, off_ofds, off_exts;
	uint64_t off_bitmap, off_unwritten, off_scratch, off_counts, off_data;
	uint64_t dev;
	uint64_t off_locks;     /* the record-lock region (ramfs_lock.c) */
	/* guarded by mutex */
	uint32_t free_pages;
	uint32_t alloc_hint;
	struct ramfs_tab tab[RAMFS_NTAB];
	uint32_t gen;
	uint32_t repairs;       /* EOWNERDEAD repairs done so far */
	pthread_mutex_t mutex;
	/* crash safety (guarded by mutex, but nprocs and off_procs are
	 * immutable like the other sizes) */
	struct ramfs_intent intent;
	uint32_t nprocs;
	uint32_t pad_procs;
	uint64_t off_procs;
	uint64_t gc_runs, gc_procs; /* gc passes that reclaimed, processes reclaimed */
};

/* One attached segment, per process. */
struct ramfs {
	struct lk_lock lock;    /* this process's half of "ramfs_seg" */
	char *base;
	size_t size;
	int fd;
	struct ramfs_hdr *hdr;
	struct ramfs_node *nodes;
	struct ramfs_dirent *dirents;
	uint32_t *buckets;
	struct ramfs_ofd *ofds;
	struct ramfs_ext *exts;
	uint64_t *bitmap, *unwritten, *scratch;
	uint32_t *counts;       /* [2 * nnodes] */
	struct ramfs_proc *procs;
	char *data;
	uint32_t proc;          /* this process's slot in procs, 0: none */
	struct ramfs_lkhdr *lk;  /* the record-lock region */
	bool in_use;
};

/* The path walk's result (ramfs_dir.c). */
struct ramfs_walk {
	uint32_t dir;           /* directory of the last component */
	uint32_t node;          /* what the path names, 0 if it does not exist */
	uint32_t de;            /* dirent of node in dir (0: ".", "..", root) */
	bool slash;             /* the path ended in '/' */
	bool dot;               /* the last component is ".", ".." or none */
	char name[RAMFS_NAME_MAX + 1];
};

#define RAMFS_WALK_PARENT 0x100u   /* the last component may be missing */

static inline struct ramfs *ramfs_of(struct vfs_mount *m) { return m->fs; }
static inline bool ramfs_isdir(const struct ramfs_node *n) { return S_ISDIR(n->mode); }
static inline uint64_t ramfs_pages_for(uint64_t bytes)
{
	return (bytes + RAMFS_PAGE - 1) / RAMFS_PAGE;
}

/* ramfs_seg.c */
struct ramfs *ramfs_only(void);
/* The version word a segment of this build carries (ramfs_seg.c). */
uint32_t ramfs_layout_id(void);
int ramfs_lock(struct ramfs *fs);
void ramfs_unlock(struct ramfs *fs);
void ramfs_now(struct ramfs_ts *t);
int ramfs_host_fallocate(struct ramfs *fs, int mode, uint64_t off, uint64_t len);

/* ramfs_alloc.c: tables and data pages */
uint32_t ramfs_tab_get(struct ramfs *fs, int t);
void ramfs_tab_put(struct ramfs *fs, int t, uint32_t idx);
uint32_t *ramfs_tab_link(struct ramfs *fs, int t, uint32_t idx);
int ramfs_pages_alloc(struct ramfs *fs, uint32_t n, uint32_t want, uint32_t *out);
bool ramfs_pages_grow(struct ramfs *fs, uint32_t spage, uint32_t n);
void ramfs_pages_free(struct ramfs *fs, uint32_t spage, uint32_t n);
uint32_t ramfs_ext_new(struct ramfs *fs);
void ramfs_ext_del(struct ramfs *fs, uint32_t e);
void ramfs_bit_set(uint64_t *bm, uint32_t i, bool v);
bool ramfs_bit(const uint64_t *bm, uint32_t i);

/* ramfs_node.c */
uint32_t ramfs_node_new(struct ramfs *fs, mode_t mode, const struct vfs_cred *c,
			uint32_t dir);
void ramfs_node_maybe_free(struct ramfs *fs, uint32_t n);
int ramfs_perm(const struct ramfs_node *n, int mask, const struct vfs_cred *c);
int ramfs_perm_real(const struct ramfs_node *n, int mask, const struct vfs_cred *c);
bool ramfs_in_group(const struct vfs_cred *c, gid_t g);
void ramfs_fill_stat(struct ramfs *fs, uint32_t n, struct stat *st);
void ramfs_touch(struct ramfs_node *n, bool a, bool m, bool c);
void ramfs_kill_privs(struct ramfs_node *n);
void ramfs_touch_atime(struct ramfs_node *n);
int ramfs_utimes_precheck(const struct vfs_attr *a);
int ramfs_node_setattr(struct ramfs *fs, uint32_t n, const struct vfs_attr *a,
		       const struct vfs_cred *c);
int ramfs_sticky_ok(struct ramfs *fs, uint32_t dir, uint32_t n, const struct vfs_cred *c);

/* ramfs_dir.c */
uint32_t ramfs_dir_find(struct ramfs *fs, uint32_t dir, const char *name, size_t len);
int ramfs_dir_add(struct ramfs *fs, uint32_t dir, const char *name, uint32_t node);
int ramfs_dir_add_de(struct ramfs *fs, uint32_t dir, const char *name, uint32_t node,
		     uint32_t *out);
void ramfs_dir_del(struct ramfs *fs, uint32_t de);
void ramfs_dir_renew(struct ramfs *fs, uint32_t de);
void ramfs_dir_link(struct ramfs *fs, uint32_t de);
void ramfs_hash_link(struct ramfs *fs, uint32_t de);
void ramfs_dir_list_link(struct ramfs *fs, uint32_t de);
uint32_t ramfs_name_hash(uint32_t dir, const char *name, size_t len);
uint32_t ramfs_dir_parent(struct ramfs *fs, uint32_t dir);
int ramfs_walk(struct ramfs *fs, const struct vfs_path *p, unsigned flags,
	       const struct vfs_cred *c, struct ramfs_walk *w);
long ramfs_readdir(struct ramfs *fs, struct ramfs_ofd *o, void *buf, size_t len);
off_t ramfs_dir_seek(struct ramfs *fs, struct ramfs_ofd *o, off_t off, int whence);

/* ramfs_data.c */
int ramfs_data_reserve(struct ramfs *fs, uint32_t n, uint64_t fpage, uint64_t npages,
		       uint64_t *got);
uint64_t ramfs_data_missing(struct ramfs *fs, uint32_t n, uint64_t fpage, uint64_t npages);
int ramfs_data_truncate(struct ramfs *fs, uint32_t n, uint64_t size);
void ramfs_data_punch(struct ramfs *fs, uint32_t n, uint64_t fpage, uint64_t npages);
void ramfs_data_free_all(struct ramfs *fs, uint32_t n);
void ramfs_data_unpin(struct ramfs *fs, uint32_t n, uint64_t pages);
char *ramfs_data_page(struct ramfs *fs, uint32_t n, uint64_t fpage, uint64_t *run);
long ramfs_data_read(struct ramfs *fs, uint32_t n, char *buf, size_t len, uint64_t off);
long ramfs_data_write(struct ramfs *fs, uint32_t n, const char *buf, size_t len,
		      uint64_t off);
void ramfs_written(struct ramfs *fs, const char *p, size_t len);
int ramfs_data_fallocate(struct ramfs *fs, uint32_t n, uint64_t fpage, uint64_t npages);
off_t ramfs_data_seek(struct ramfs *fs, uint32_t n, off_t off, int whence);
int ramfs_data_map(struct ramfs *fs, uint32_t n, uint64_t off, uint64_t len,
		   struct vfs_map_piece *pieces, int max);

/* ramfs_path.c, ramfs_file.c, ramfs_rename.c: the operations */
extern const struct vfs_cred ramfs_cred_root;
int ramfs_may_create(struct ramfs *fs, const struct ramfs_walk *w, const struct vfs_cred *c);
int ramfs_create_node(struct ramfs *fs, const struct ramfs_walk *w, mode_t mode,
		      const struct vfs_cred *c, uint32_t *out);
int ramfs_ofd_check(struct ramfs *fs, vfs_ofd f, uint32_t *node);
int ramfs_op_open(const struct vfs_path *p, int flags, mode_t mode, const struct vfs_cred *c,
		  vfs_ofd *out);
int ramfs_op_rename(const struct vfs_path *from, const struct vfs_path *to, unsigned flags,
		    const struct vfs_cred *c);
void ramfs_op_ofd_get(struct vfs_mount *m, vfs_ofd f);
void ramfs_op_ofd_put(struct vfs_mount *m, vfs_ofd f);
void ramfs_op_ofd_own(struct vfs_mount *m, vfs_ofd f, int delta);
void ramfs_ofd_free(struct ramfs *fs, uint32_t f, uint32_t n);
long ramfs_op_rw(struct vfs_mount *m, vfs_ofd f, const struct iovec *iov, int iovcnt, off_t off,
		 int write, int rwf);
off_t ramfs_op_lseek(struct vfs_mount *m, vfs_ofd f, off_t off, int whence);
int ramfs_op_fstat(struct vfs_mount *m, vfs_ofd f, struct stat *st);
int ramfs_op_ftruncate(struct vfs_mount *m, vfs_ofd f, off_t len);
int ramfs_op_fallocate(struct vfs_mount *m, vfs_ofd f, int mode, off_t off, off_t len);
int ramfs_op_fsync(struct vfs_mount *m, vfs_ofd f);
int ramfs_op_getfl(struct vfs_mount *m, vfs_ofd f);
int ramfs_op_setfl(struct vfs_mount *m, vfs_ofd f, int flags);
long ramfs_op_getdents(struct vfs_mount *m, vfs_ofd f, void *buf, size_t len);
int ramfs_op_ofd_dir(struct vfs_mount *m, vfs_ofd f, vfs_node *out);
long ramfs_op_ofd_remaining(struct vfs_mount *m, vfs_ofd f);
int ramfs_op_map(struct vfs_mount *m, vfs_ofd f, uint64_t off, uint64_t len, int prot, int flags,
		 struct vfs_map_piece *pieces, int max, vfs_node *node);
void ramfs_op_unpin(struct vfs_mount *m, vfs_node n, uint64_t file_off, uint64_t len);

/* Run expr (an int or long) under the segment lock and return it. */
#define RAMFS_LOCKED(fs, expr)                                  \
	do {                                                    \
		int lr_ = ramfs_lock(fs);                       \
		if (lr_ < 0)                                    \
			return lr_;                             \
		long r_ = (expr);                               \
		ramfs_unlock(fs);                               \
		return r_;                                      \
	} while (0)

/* ramfs_proc.c: the process table and gc */
void ramfs_proc_register(struct ramfs *fs);
bool ramfs_proc_alive(const struct ramfs_proc *p);
void ramfs_proc_release(struct ramfs *fs);
void ramfs_proc_repair(struct ramfs *fs);
int ramfs_proc_check(struct ramfs *fs, char *buf, size_t len);
void ramfs_proc_ref(struct ramfs *fs, unsigned kind, uint32_t obj, int64_t delta);
struct ramfs_gc_report;
int ramfs_gc_locked(struct ramfs *fs, struct ramfs_gc_report *rep);
/* Run expr under the segment lock; if it failed for want of space or
 * table entries, reclaim what dead processes held and try once more. */
#define RAMFS_LOCKED_GC(fs, expr)                                       \
	do {                                                            \
		int lr_ = ramfs_lock(fs);                               \
		if (lr_ < 0)                                            \
			return lr_;                                     \
		long r_ = (expr);                                       \
		if ((r_ == -ENOSPC || r_ == -ENFILE) && ramfs_gc_locked(fs, NULL) > 0) \
			r_ = (expr);                                    \
		ramfs_unlock(fs);                                       \
		return r_;                                              \
	} while (0)

/* ramfs_crash.c: the rename intent and what repair does with it */
void ramfs_intent_begin(struct ramfs *fs, uint32_t op, uint32_t de_old, uint32_t de_new,
			uint32_t node, uint32_t node_b);
void ramfs_intent_end(struct ramfs *fs);
void ramfs_intent_recover(struct ramfs *fs);
void ramfs_rp_eof(struct ramfs *fs, uint32_t n);
/* ramfs_lock.c: the record-lock table */
struct ramfs_lkhdr;
uint64_t ramfs_lk_size(const struct ramfs_hdr *h);
void ramfs_lk_init(struct ramfs *fs);
void ramfs_lk_ofd_gone(struct ramfs *fs, uint32_t f, uint32_t n);
void ramfs_lk_node_gone(struct ramfs *fs, uint32_t n);
int ramfs_lk_fsck(struct ramfs *fs, char *buf, size_t buflen);
void ramfs_lk_repair(struct ramfs *fs);
int ramfs_op_lock(struct vfs_mount *m, vfs_ofd f, struct vfs_lock_req *rq);
void ramfs_op_lock_cancel(struct vfs_mount *m, struct vfs_lock_req *rq);
void ramfs_op_lock_close(struct vfs_mount *m, vfs_ofd f);
void ramfs_lk_test_damage(struct ramfs *fs, int kind);     /* tests only */

/* ramfs_fsck.c */
void ramfs_repair(struct ramfs *fs);
int ramfs_fsck_locked(struct ramfs *fs, char *buf, size_t buflen);

/* How long attach waits for a creator (ms); tests shorten it. */
extern int ramfs_ready_wait_ms;

/* Test-only: take the segment lock (as an operation does) without
 * releasing it, so a test child can die holding it. */
int ramfs_test_lock(struct ramfs *fs);
void ramfs_test_unlock(struct ramfs *fs);
/* Test-only: unmap and forget a segment attached with a NULL cfg->map. */
void ramfs_test_detach(struct ramfs *fs);

#endif
