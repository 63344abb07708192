/*
 * vad — the core mman's address-space records and their index.
 *
 * Guarded by: the mman lock (struct mman.lock, LK_RANK_MMAN) of the
 * owning mman; nothing here takes a lock itself.
 *
 * Structures, as in the seed:
 *   - a VAD array (slots [0, next_vad) used at some time, [next_vad,
 *     end_vad) never used yet), lazily committed by the caller;
 *   - a singly linked free list of released VADs;
 *   - the active list, doubly linked and sorted by address;
 * and beyond the seed an AVL tree over the active VADs keyed by start,
 * each node augmented with the largest gap before any VAD of its subtree,
 * so find, gap search, insert, remove and resize are O(log n).
 *
 *      base                                                       end
 *       |<-gap0->[vad A]<-gap->[vad B]<--gap-->[vad C]<-tail gap->|
 *
 * gap_before(V) = V.start - (prev(V) ? prev(V).end : base); the tail gap
 * (end - last.end) is kept in struct vad_index.
 */
#ifndef VADSHIM_VAD_H
#define VADSHIM_VAD_H

#include <stddef.h>
#include <stdint.h>

enum vad_kind {
	VAD_ANON = 1,      /* anonymous private */
	VAD_SHARED_ANON,   /* anonymous shared */
	VAD_FILE,          /* host file, MAP_FIXED on the real descriptor */
	VAD_SHIM,          /* the shim's own memory */
	VAD_FOREIGN,       /* taken by the host behind our back; never handed out */
	VAD_RAMFS          /* reserved for ramfs file mappings */
};

struct vad {
	/* First cache line: what a tree walk touches. */
	uintptr_t start, end;       /* [start, end), page aligned, start < end */
	struct vad *left, *right, *parent; /* AVL tree by start */
	uintptr_t gap_before;       /* start - prev end (or base) */
	uintptr_t max_gap;          /* max gap_before in this subtree */
	int32_t height;
	uint32_t prot;              /* PROT_* */
	/* Second cache line. */
	uint32_t flags;             /* MAP_* bits the mapping was made with */
	uint8_t kind;               /* enum vad_kind */
	uint8_t owner;              /* MMAN_OWNER_* */
	int32_t fmap;               /* file-mapping record index, -1 if none */
	uint32_t obj;               /* VAD_SHARED_ANON: which shared object */
	uint64_t offset;            /* the kernel's pgoff, in bytes: file offset
				     * (FILE, RAMFS), offset in the object
				     * (SHARED_ANON), address at creation (ANON) */
	struct vad *prev, *next;    /* active list, sorted by address */
	struct vad *free_next;      /* free list link */
	struct vad *snext, *sprev;  /* shared-mapping list (wrapper layer) */
} __attribute__((aligned(64)));

struct vad_index {
	uintptr_t base, end;        /* the managed range */
	struct vad *array;          /* VAD array */
	size_t next_vad, end_vad;   /* next never-used slot, capacity */
	struct vad *free;           /* free list */
	struct vad *head, *tail;    /* active list */
	struct vad *root;           /* AVL root */
	struct vad *finger;         /* last VAD a lookup returned: one memory
				     * call looks up the same few VADs many
				     * times, and at 100 000 VADs each tree
				     * walk is ~20 cache misses */
	size_t count;               /* active VADs */
};

void vad_index_init(struct vad_index *ix, uintptr_t base, uintptr_t end,
		    struct vad *array, size_t capacity);

/* A zeroed VAD from the free list or the array; NULL when exhausted. */
struct vad *vad_alloc(struct vad_index *ix);
void vad_free(struct vad_index *ix, struct vad *v);

/* The VAD containing addr, or NULL. */
struct vad *vad_find(const struct vad_index *ix, uintptr_t addr);
/* The first VAD with end > addr (it may start above addr), or NULL. */
struct vad *vad_find_next(const struct vad_index *ix, uintptr_t addr);

/* Link v (start/end set, not overlapping any active VAD) into list and tree. */
void vad_insert(struct vad_index *ix, struct vad *v);
/* Unlink v from list and tree (the caller frees it). */
void vad_remove(struct vad_index *ix, struct vad *v);
/* Change v's bounds in place; must not overlap its neighbours. */
void vad_resize(struct vad_index *ix, struct vad *v, uintptr_t start, uintptr_t end);

/*
 * Highest address a with [a, a+len) free and inside [lo, hi); 0 when there
 * is none.  len is page aligned and non-zero.  Top-down, like the kernel.
 */
uintptr_t vad_find_gap(const struct vad_index *ix, size_t len, uintptr_t lo, uintptr_t hi);

/* The lowest such address (bottom-up first fit); 0 when there is none. */
uintptr_t vad_find_gap_low(const struct vad_index *ix, size_t len, uintptr_t lo, uintptr_t hi);

/* Is [start, end) free of active VADs? */
int vad_range_free(const struct vad_index *ix, uintptr_t start, uintptr_t end);

/*
 * Check every invariant of list and tree (sorted, disjoint, linked both
 * ways, AVL balance and heights, gap fields, count).  0 when sound, else
 * -EFAULT with a one-line description in buf.
 */
int vad_check(const struct vad_index *ix, char *buf, size_t buflen);

#endif
