/*
 * lk_valid: the lock-order validator behind a small seam (compare
 * compiler-rt's DDetector).  It sees class ids, ranks, stack ids, PCs,
 * opaque thread numbers and a thread's held list, nothing else: no
 * futexes, no pthreads, no lock instances, no names.  lk.c feeds it and
 * prints the reports.
 *
 * Shared state and what guards it:
 *  - the table of distinct violations (dedup, repeat counts, suppressed
 *    marks): lock-free (slots claimed by compare-and-swap on the key,
 *    counts bumped atomically, nothing removed);
 *  - the observed-order graph: edge records, the edge hash and the
 *    per-class adjacency lists are WRITTEN only under the runtime's graph
 *    lock (lk_graph_lock in lk.c, which the caller of lk_valid_add_edges
 *    holds), and READ lock-free: a record is complete and immutable before
 *    its index is published into the hash with a release store, so the
 *    fast path (lk_valid_before_acquire) takes no lock;
 *  - the search scratch arrays (BFS marks, parents, queue): under the
 *    graph lock;
 *  - the limits: set once at init, before any thread runs.
 *
 * Memory is bounded and never comes from the allocator (the validator
 * may run inside the allocator's own calls).  The edge and violation
 * tables are static, sized for the hard maxima below, and only the part
 * the limits allow is ever touched.  The per-node arrays are static for
 * the shim's classes; lk_valid_set_nodes replaces them, once at init, by
 * anonymous mappings large enough for the program's locks (lockdep=app),
 * touched only where nodes are in use.
 *
 * Nodes: ids 1..LK_CLASSES_HARD are the runtime's lock classes; ids from
 * LK_NODE_APP_BASE up are whatever the caller makes of them (lk_app.c:
 * one node per instance of a program lock).  A node can be retired
 * (lk_valid_retire): its edges stay but the cycle search no longer walks
 * through it, so an old lock never closes a cycle with a new one.
 */
#ifndef VADSHIM_LK_VALID_H
#define VADSHIM_LK_VALID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One lock a thread holds, as the validator sees it. */
struct lk_held {
	const void *lock;       /* the runtime's identity; opaque here */
	uintptr_t pc;           /* caller of the acquisition */
	uintptr_t entry_pc;     /* return address into the program at the shim's
				   entry (lk_entry_set), 0 = unknown */
	uint64_t t_acq;         /* lockstat: when it was taken (ns), else 0 */
	uint32_t stack;         /* depot id of the acquisition stack, 0 = none */
	uint32_t site;          /* lockstat: site row + 1, 0 = none */
	uint32_t cls;           /* node (class id, or a program lock's node);
				   0 only in lk_app.c's lists before the node
				   is needed */
	uint16_t flags;         /* LK_HELD_* */
	uint16_t depth;         /* lk_app.c: re-entries of a recursive lock */
	int rank;               /* the class's rank, LK_RANK_NONE = unranked */
};

#define LK_HELD_TRY 1u          /* taken by a trylock: no order was checked */
#define LK_HELD_SHARED 2u       /* held in shared mode of a lock whose shared
				   acquisitions never wait for shared holders
				   (a reader-preferring rwlock) */
#define LK_HELD_READ 4u         /* lk_app.c: held for reading (any rwlock) */
#define LK_HELD_APP 8u          /* lk_app.c: a program lock; .lock is its address,
				   flags bits 8-11 its enum lk_app_type */

enum lk_viol_kind {
	LK_VIOL_NONE = 0,
	LK_VIOL_RANK,           /* acquired rank not above a held rank */
	LK_VIOL_RECURSIVE,      /* non-recursive lock re-acquired by its owner */
	LK_VIOL_BAD_UNLOCK,     /* unlock by a thread that does not hold it */
	LK_VIOL_CYCLE,          /* a new order closes a cycle in the graph */
	LK_VIOL_NKINDS
};

/* Hard maxima (static table sizes); the limits below pick the part in use. */
#define LK_CLASSES_HARD 65535u  /* class ids are uint16, 0 = none */
#define LK_NODE_APP_BASE 65536u /* first node id that is not a class */
#define LK_NODES_HARD (1u << 28)        /* node ids are below 2^28 */
#define LK_EDGES_HARD (1u << 20)
#define LK_EDGES_DEFAULT 65536u
#define LK_VIOLATIONS_HARD 65536u       /* distinct violations */
#define LK_VIOLATIONS_DEFAULT 4096u

/* Conflicts seen for the first time, listed in a verdict, at most: */
#define LK_VERDICT_MAX 8
/* Edges of all cycles of one verdict, at most (longer ones are cut): */
#define LK_PATH_MAX 256

struct lk_conflict {
	uint8_t kind;           /* enum lk_viol_kind */
	uint8_t held;           /* index into the held list passed in */
	uint16_t cut;           /* LK_VIOL_CYCLE longer than the path kept: the
				   edges from path_total - path_len on were left
				   out before this index (both ends are kept);
				   0 = nothing left out */
	uint16_t path_off;      /* LK_VIOL_CYCLE: first edge in v->path */
	uint16_t path_len;      /* edges stored in v->path */
	uint32_t path_total;    /* edges in the whole cycle (>= path_len) */
};

struct lk_verdict {
	unsigned nnew;          /* new distinct violations: report these */
	unsigned nrepeat;       /* known violations: counted, not reported */
	uint64_t missing;       /* bit i: the edge held[i] -> new is not known */
	unsigned npath;
	bool full;              /* an edge was dropped: the table is full */
	bool lost;              /* a new violation was dropped: its table is full */
	struct lk_conflict c[LK_VERDICT_MAX];
	uint32_t path[LK_PATH_MAX];     /* edge ids, cycle order */
};

/* An edge of the observed-order graph; immutable once published. */
struct lk_edge {
	uint32_t from, to;      /* nodes: "to" was acquired while "from" was held */
	uint32_t flags;         /* LK_EDGE_* */
	uint32_t gate;          /* outermost other node held then, 0 = none */
	uint32_t stack;         /* acquisition stack when first seen, 0 = none */
	uint32_t held_stack;    /* stack where "from" was taken then, 0 = none */
	uint32_t next;          /* next edge id out of "from", 0 = end */
	int tid;                /* thread that first took this order */
	uintptr_t pc;           /* caller of the first acquisition of "to" */
	uintptr_t held_pc;      /* caller of the acquisition of "from" then */
	uintptr_t held_entry;   /* its entry into the shim, 0 = unknown */
};

#define LK_EDGE_RANKBAD 1u      /* against the ranks: the rank rule reports it,
				   the cycle search does not walk it */
#define LK_EDGE_CYCLE 2u        /* it closed a cycle when first seen */
#define LK_EDGE_TRYHELD 4u      /* "from" was held by trylock then */
#define LK_EDGE_FROM_SHARED 8u  /* "from" held shared (LK_HELD_SHARED) */
#define LK_EDGE_TO_SHARED 16u   /* "to" acquired shared, reader-preferring:
				   a cycle that enters a node by a TO_SHARED
				   edge and leaves it by a FROM_SHARED edge
				   does not wait there, so it is no deadlock */
#define LK_EDGE_MODES (LK_EDGE_FROM_SHARED | LK_EDGE_TO_SHARED)   /* part of the key */

/* Where a new edge is seen: the acquisition's context. */
struct lk_edge_src {
	uint32_t stack;
	uintptr_t pc;
	int tid;
};

/*
 * Limits (before any other call): classes ids 1..max_classes, at most
 * max_edges edges and max_violations distinct violations; values are
 * clamped to the hard maxima, 0 keeps the current one.
 */
void lk_valid_set_limits(unsigned max_classes, unsigned max_edges, unsigned max_violations);
unsigned lk_valid_max_classes(void);
unsigned lk_valid_max_edges(void);
unsigned lk_valid_max_violations(void);

/*
 * Room for node ids up to max_nodes (beyond the classes): maps the
 * per-node arrays once, before any thread runs (lockdep=app).  Returns 0
 * or -ENOMEM (the static class-sized arrays stay).
 */
int lk_valid_set_nodes(unsigned max_nodes);
unsigned lk_valid_max_nodes(void);

/*
 * Node id no longer stands for a live lock (with the graph lock held):
 * its edges are freed (those out of it now, those into it when the
 * search next passes them, or in a sweep when the table is full) and
 * the cycle search never enters it.
 */
void lk_valid_retire(uint32_t node);

/*
 * Fast path, before the thread blocks on class cls (rank): the rank rule
 * against held[0..nheld) (new violations in v->c, repeats counted), and
 * a lock-free lookup of every edge held[i] -> cls.  Unknown edges are
 * flagged in v->missing (the caller then captures a stack and calls
 * lk_valid_add_edges under the graph lock); known edges that once closed
 * a cycle count a repeat of that cycle.  Self edges (held class == cls)
 * are neither recorded nor checked: the rank rule covers ranked classes.
 * Returns v->nnew.
 */
unsigned lk_valid_before_acquire(const struct lk_held *held, unsigned nheld,
				 uint32_t cls, int rank, struct lk_verdict *v);

/*
 * The same, for an acquisition in shared mode (shared = true: a read
 * lock of a reader-preferring rwlock, which waits only for exclusive
 * holders): the edges looked up and added carry LK_EDGE_TO_SHARED, and
 * those out of held locks with LK_HELD_SHARED carry LK_EDGE_FROM_SHARED.
 */
unsigned lk_valid_before_acquire_mode(const struct lk_held *held, unsigned nheld,
				      uint32_t cls, int rank, bool shared,
				      struct lk_verdict *v);

/*
 * Slow path, with the graph lock held: insert the edges flagged in
 * v->missing, first-seen at src, and search each new edge that obeys the
 * ranks for a cycle (any length, shortest found).  A cycle is a new
 * distinct violation keyed by its closing edge (added to v->c with its
 * path); the edge is inserted all the same, so later passes count
 * repeats.  Returns v->nnew.
 */
unsigned lk_valid_add_edges(const struct lk_held *held, unsigned nheld,
			    uint32_t cls, int rank, const struct lk_edge_src *src,
			    struct lk_verdict *v);
unsigned lk_valid_add_edges_mode(const struct lk_held *held, unsigned nheld,
				 uint32_t cls, int rank, bool shared,
				 const struct lk_edge_src *src, struct lk_verdict *v);

/* The id of the edge from -> to (exclusive modes), 0 if it was never seen (lock-free). */
uint32_t lk_valid_find_edge(uint32_t from, uint32_t to);

/* Edge id (1-based) -> record, or NULL. */
const struct lk_edge *lk_valid_edge(uint32_t id);
/* Edges recorded; edges dropped because the table was full. */
unsigned lk_valid_nedges(void);
unsigned lk_valid_edges_lost(void);
/* Bytes of validator tables touched so far (graph and violation table). */
size_t lk_valid_memory(void);

/*
 * Record one occurrence of a violation found by the runtime itself
 * (recursive locking, bad unlock); held_cls is 0 when there is none.
 * Returns true the first time (print a report), false for a repeat.
 */
bool lk_valid_note(enum lk_viol_kind kind, uint32_t held_cls, uint32_t cls);

/* Mark a violation suppressed: counted, not reported, no exit code. */
void lk_valid_suppress(enum lk_viol_kind kind, uint32_t held_cls, uint32_t cls);

/*
 * Distinct violations recorded so far (suppressed ones included); the
 * suppressed ones among them; occurrences of one of them; and
 * occurrences dropped because the table was full.
 */
unsigned lk_valid_distinct(void);
unsigned lk_valid_suppressed(void);
unsigned lk_valid_lost(void);
unsigned lk_valid_occurrences(enum lk_viol_kind kind, uint32_t held_cls, uint32_t cls);

/* Visit every distinct violation (for the summary at exit). */
typedef void lk_valid_visit_fn(enum lk_viol_kind kind, uint32_t held_cls,
			       uint32_t cls, unsigned occurrences, bool suppressed,
			       void *arg);
void lk_valid_foreach(lk_valid_visit_fn *fn, void *arg);

const char *lk_valid_kind_name(enum lk_viol_kind kind);

/*
 * The graph's invariant checker: every edge is findable in the hash under
 * its own id and nowhere else, appears once in its source's adjacency
 * list, has two distinct non-zero ends and not both flags; the hash holds
 * exactly the edges.  Returns 0, or -EINVAL with *why set to a static
 * description.  Call it when no thread adds edges (tests do, after each
 * step).
 */
int lk_valid_check(const char **why);

/*
 * Reference check for tests: is there a path from class a to class b
 * over edges that obey the ranks?  Takes no lock; call it when no thread
 * adds edges.
 */
bool lk_valid_reaches(uint32_t a, uint32_t b);

#endif
