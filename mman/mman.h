/*
 * mman — the VAD arena that serves the program's mmap family.
 *
 * Lock order (the whole shim; this file's part is the last line):
 *
 *     fdtable lock (per process, recursive)
 *       lockfs (global, recursive)
 *         mman.lock (per process, recursive)      <- everything in struct mman
 *
 * Three layers, as in the seed:
 *   core (mman/arena.c)      VAD array, free list, active list + AVL index,
 *                            per-page protection vector, host calls;
 *   wrapper (mman/mman_wrap.c) file-mapping records, shared-mapping list;
 *   syscall (mman/mman_sys.c)  per-page ownership vector and the handlers.
 * Every handler runs entirely under mman.lock, ownership check included;
 * there is no separate shared-memory lock.  Every field of struct mman is
 * protected by mman.lock, except base/end/map_lo/npages/the vector
 * pointers, which are written once by mman_init and read-only after.
 *
 * locking=legacy (shim_opt.locking_legacy, read-only after init) rebuilds
 * the seed's design before its fix, to show its race and deadlock:
 *   - the ownership check reads owner_vec under mman_shmem_lock only,
 *     before mman.lock is taken (a check-then-act race: owner_vec is
 *     then written under mman.lock and read under another lock);
 *   - the shared-mapping list and the file-mapping records are guarded
 *     by mman_shmem_lock (class "shmem", LK_RANK_SHMEM) as well, taken
 *     on its own around each change;
 *   - memory calls that unmap or flush ramfs file mappings enter the
 *     filesystem (lockfs) with mman.lock held: mman -> lockfs, the
 *     inverse of the hierarchy above (mman_legacy_fs).
 *
 * Arena layout (one host reservation, PROT_NONE + MAP_NORESERVE):
 *
 *   base                 map_lo                                        end
 *   |[VAD array][prot vec][owner vec]|  mappings, bottom-up first fit -> |
 *   |<--- shim metadata (VAD_SHIM) ->|<-------- program mappings ------>|
 *
 * Metadata pages are committed lazily by the kernel as they are touched.
 * Unmapped parts of the arena are re-reserved PROT_NONE (pages released),
 * so the whole range stays ours.
 */
#ifndef VADSHIM_MMAN_H
#define VADSHIM_MMAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mman/vad.h"
#include "shim/lk.h"

#define MMAN_PAGE_SHIFT 12
#define MMAN_PAGE ((uintptr_t)1 << MMAN_PAGE_SHIFT)
#define MMAN_PAGE_MASK (MMAN_PAGE - 1)
#define MMAN_TASK_SIZE ((uintptr_t)0x7ffffffff000)

enum mman_owner {
	MMAN_OWNER_FREE = 0,
	MMAN_OWNER_APP = 1,
	MMAN_OWNER_SHIM = 2
};

/*
 * Wrapper layer: one record per mapped host file and descriptor.  The
 * kernel merges file VMAs only within one open file (struct file); the
 * descriptor number stands in for it, so two opens of one file (say
 * O_RDWR and O_RDONLY) never merge, as natively.
 */
#define MMAN_MAX_FMAPS 4096
struct mman_fmap {
	dev_t dev;
	ino_t ino;
	int fd;
	size_t npages;          /* pages of VADs referring to it; 0 = free slot */
};

struct mman_stats {
	size_t mapped_bytes;    /* program bytes mapped in the arena */
	size_t peak_vads;
	size_t calls;
	size_t passthrough;     /* calls or parts served by the host */
};

struct mman {
	struct lk_lock lock;
	struct vad_index ix;
	uintptr_t base, end;        /* the arena */
	uintptr_t map_lo;           /* program mappings live in [map_lo, end) */
	size_t npages;
	size_t meta_bytes;          /* [base, map_lo) */
	uint8_t *prot_vec;          /* per page: PROT_* of the VAD, 0 in holes */
	uint8_t *owner_vec;         /* per page: enum mman_owner */
	struct vad *shared;         /* wrapper: list of MAP_SHARED VADs */
	struct mman_fmap fmaps[MMAN_MAX_FMAPS];
	struct mman_stats stats;
	bool ready;
	bool warned_full, warned_vads;
};

extern struct mman mman;

/* Reserve the arena and lay out the metadata.  Returns 0 or -errno. */
int mman_init(size_t arena_size, size_t max_vads);

static inline bool mman_in_arena(uintptr_t a)
{
	return mman.ready && a >= mman.base && a < mman.end;
}

/*
 * VAD flag beyond the MAP_* bits: the host VMA carries flags the kernel
 * splits VMAs by (madvise DONTFORK, WIPEONFORK, HUGEPAGE, ..., a
 * protection key, MAP_STACK's NOHUGEPAGE).  Like those flags it keeps
 * VADs from merging, and it keeps the memory off the mprotect fast path.
 */
#define VAD_F_STICKY 0x40000000u

/*
 * Private anonymous arena memory that a new mapping may take from the
 * reservation by mprotect alone.  Unmapped memory is always re-reserved
 * with one fresh PROT_NONE host mapping, which releases the pages, drops
 * every VMA flag and merges back into the reservation, so a free range
 * is always clean reservation.  Every private anonymous host VMA in the
 * arena is MAP_NORESERVE, like the reservation, so that host merges agree
 * with the VADs.
 */
static inline bool vad_plain_anon(const struct vad *v)
{
	return v->kind == VAD_ANON && (v->flags & 0x0f) == 0x02 /* MAP_PRIVATE */ &&
	       !(v->flags & (0x02000 /* MAP_LOCKED */ | VAD_F_STICKY));
}

/* Shared mappings are on the wrapper's shared-mapping list. */
static inline bool vad_is_shared(const struct vad *v)
{
	int type = (int)(v->flags & 0x0f);   /* MAP_TYPE */
	return v->kind != VAD_SHIM && (type == 0x01 || type == 0x03); /* SHARED, SHARED_VALIDATE */
}

static inline size_t mman_pgidx(uintptr_t a)
{
	return (a - mman.base) >> MMAN_PAGE_SHIFT;
}

/* ---- core (arena.c); all with mman.lock held ---- */

/* Make addr a VAD boundary (split the VAD containing it). -ENOMEM if out of VADs. */
int mman_core_split_at(uintptr_t addr);
/* Drop every VAD inside [s, e) from the index (bounds must be boundaries). */
void mman_core_clear(uintptr_t s, uintptr_t e);
/* Insert a VAD like tmpl over the free range [s, e); -ENOMEM when out of VADs. */
int mman_core_add(const struct vad *tmpl, uintptr_t s, uintptr_t e);
/* Set the protection of VAD v (index and vector only). */
void mman_core_set_prot(struct vad *v, uint32_t prot);
/* Merge VADs touching s and e with compatible neighbours. */
void mman_core_merge_around(uintptr_t s, uintptr_t e);
/* Give [s, e) back to the reservation on the host (pages released). */
int mman_core_reserve(uintptr_t s, uintptr_t e);
/* Highest free arena range of len bytes; 0 when the arena is full. */
uintptr_t mman_core_find_gap(size_t len);
/* Grow VAD v upwards to new_end over a free range. */
void mman_core_extend(struct vad *v, uintptr_t new_end);

/* ---- wrapper (mman_wrap.c) ---- */
/*
 * Mappings of ramfs files are VAD_FILE VADs of the segment descriptor
 * whose obj names the file's node (never 0).  Pages of such VADs that
 * come and go inside one memory call are summed per node in a per-thread
 * list; the vfs takes the list after the call (mman.lock released,
 * lockfs still held) and unpins what was unmapped, which keeps the order
 * lockfs -> ramfs segment -> mman.
 */
struct mman_pin_delta {
	uint32_t obj;
	long pages;
};
#define MMAN_PIN_DELTAS 64
/* Obj for VAD_FILE VADs the calling thread creates next (0: host file). */
extern __thread uint32_t mman_file_obj;
/* Move the calling thread's deltas to out; returns their count, or -1 if
 * some were lost (the caller then keeps every pin: over-counting is
 * safe, under-counting is not). */
int mman_take_pin_deltas(struct mman_pin_delta *out);

int mman_wrap_fmap_get(int fd);             /* record index, or -errno */
void mman_wrap_on_add(struct vad *v);       /* after a VAD joins the index */
void mman_wrap_on_drop(struct vad *v);      /* before a VAD leaves it */
void mman_wrap_on_resize(struct vad *v, uintptr_t old_s, uintptr_t old_e);

/* ---- syscall layer (mman_sys.c): return >= 0 or -errno ---- */
long mman_sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
long mman_sys_munmap(void *addr, size_t len);
long mman_sys_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr);
long mman_sys_mprotect(void *addr, size_t len, int prot, int pkey);
long mman_sys_msync(void *addr, size_t len, int flags);
long mman_sys_madvise(void *addr, size_t len, int advice);
long mman_sys_mlock(const void *addr, size_t len, int op, unsigned int flags);
long mman_sys_mincore(void *addr, size_t len, unsigned char *vec);
/* Shim-owned memory carved from the arena (owner SHIM). */
void *mman_shim_alloc(size_t len);
/* A shared mapping of fd (from offset 0) as shim memory; NULL on failure. */
void *mman_shim_map(int fd, size_t len);
/* Does [a, a+len) touch a VAD_FILE VAD with a non-zero obj (a ramfs file)? */
bool mman_range_has_obj(uintptr_t a, size_t len);
/* A copy of the VAD containing a; false if none. */
bool mman_vad_at(uintptr_t a, struct vad *copy);
/* Call fn for every VAD_FILE VAD with a non-zero obj (pages of it). */
void mman_for_each_obj(void (*fn)(uint32_t obj, size_t pages, void *arg), void *arg);

enum { MMAN_MLOCK, MMAN_MLOCK2, MMAN_MUNLOCK };

/* ---- locking=legacy (see the top of this file) ---- */
extern struct lk_lock mman_shmem_lock;
/*
 * How a legacy flow enters the filesystem with mman.lock held; set by the
 * vfs at init (mman does not call the vfs otherwise).  enter takes
 * lockfs; leave, called after mman.lock is released (the seed released
 * its locks out of order too), unpins what the call unmapped and drops
 * lockfs.
 */
struct mman_legacy_fs {
	void (*enter)(void);
	void (*leave)(void);
};
extern struct mman_legacy_fs mman_legacy_fs;
/* Sleep legacy_delay_us between the two acquisitions of a legacy flow. */
void mman_legacy_delay(void);
/* Process exit under locking=legacy: flush (enter the filesystem for)
 * the ramfs file mappings with mman.lock held, as the seed did. */
void mman_legacy_exit_flush(void);

/* ---- checks and statistics (mman_check.c) ---- */
/* Every invariant; 0 or -EFAULT with a one-line message in buf. Takes the lock. */
int mman_check(char *buf, size_t buflen);
/* Print the failed invariant and abort (mman_check=1 at run time). */
void mman_check_failed(const char *msg) __attribute__((noreturn));
void mman_print_stats(void);

#endif
