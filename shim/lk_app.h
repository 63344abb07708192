/*
 * lk_app — the program's own locks (lockdep=app) in the lock runtime.
 *
 * The wrappers (shim/wrap_pthread.c) call the real pthread and C11
 * functions and tell this module what happened, by lock address; this
 * module knows nothing of pthreads beyond the kinds below.  It keeps:
 *
 *  - the identity of each lock: a record per address (found on first use
 *    whether or not init was called) with a generation; each generation
 *    (instance) of a lock that ever takes part in an order gets its own
 *    node of the validator's graph (lk_valid.c).  init, destroy, free()
 *    and munmap of the memory retire the instance: its node stays in the
 *    graph but is never walked again, so an old and a new lock at one
 *    address are never confused;
 *  - each thread's held list (thread-local, grows into a mapping beyond
 *    LK_APP_HELD_INLINE entries, up to LK_APP_HELD_MAX);
 *  - lockstat per lock (lockstat=1).
 *
 * Shared state and guards:
 *  - lk_app.slot[] (address -> record index): written under lk_app.lock
 *    (a bare futex word, taken only on a lock's first use, at node
 *    allocation and on retire; never held across a call out), read
 *    lock-free: a record is complete before its slot's address is
 *    published with a release store;
 *  - a record's node, gen and type: written under lk_app.lock, read
 *    with atomic loads;
 *  - a record's lockstat counters: atomic adds, lock-free;
 *  - the page filter (pages that ever held a lock): atomic ORs;
 *  - limits, the table mappings and lk_app.on: set once at init.
 */
#ifndef VADSHIM_LK_APP_H
#define VADSHIM_LK_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shim/lk.h"
#include "shim/lk_valid.h"

/* What kind of lock an address is, as far as ordering goes. */
enum lk_app_type {
	LK_APP_MUTEX = 0,        /* normal (and adaptive) mutex, C11 mtx_plain */
	LK_APP_MUTEX_RECURSIVE,  /* re-entry by the owner passes, no order */
	LK_APP_MUTEX_ERRORCHECK, /* re-entry gives EDEADLK: reported as relock */
	LK_APP_RWLOCK,           /* reader-preferring (glibc's default kinds) */
	LK_APP_RWLOCK_WRITER,    /* PREFER_WRITER_NONRECURSIVE: readers queue
				    behind waiting writers, so read-read waits */
	LK_APP_SPIN,
	LK_APP_NTYPES
};

/* How it is taken. */
#define LK_APP_TRY 1u            /* trylock: adds no edge into the lock */
#define LK_APP_READ 2u           /* rwlock read lock */
#define LK_APP_TIMED 4u          /* timed or clock lock: checked as blocking */
#define LK_APP_WAIT 8u           /* the relock inside a condition wait */

/* lk_app_before's answer. */
enum lk_app_go {
	LK_APP_GO = 0,           /* a new acquisition: call lk_app_acquired after */
	LK_APP_REENTER,          /* re-entry by the holder: lk_app_acquired counts it */
	LK_APP_SKIP,             /* already held, not re-entrant (reported): do not record */
};

#define LK_APP_HELD_INLINE 16
#define LK_APP_HELD_MAX 4096
#define LK_APP_LOCKS_DEFAULT (1u << 20)
#define LK_APP_LOCKS_HARD (1u << 24)

/* Turn checking of the program's locks on (init, before threads). */
int lk_app_enable(unsigned max_locks);
extern int lk_app_on;           /* read by every wrapper: the one flag */

/*
 * The calling thread's held list.  Internal to lk_app.c except for the
 * inline fast paths below, which the wrappers compile into themselves.
 */

struct lk_app_thread {
	unsigned n, cap, overflow;
	struct lk_held *held;           /* inl, or a mapping once grown */
	uintptr_t clean_a, clean_b;     /* last order found clean: a held, b taken */
	uint32_t clean_epoch;
	int tid;
	struct lk_held inl[LK_APP_HELD_INLINE];
};
extern __thread struct lk_app_thread lk_at __attribute__((tls_model("initial-exec")));
extern uint32_t lk_app_epoch;   /* bumped by every retire: invalidates clean pairs */

enum lk_app_go lk_app_before_slow(const void *lock, enum lk_app_type type, unsigned how,
				  uintptr_t pc);
void lk_app_acquired_slow(const void *lock, enum lk_app_type type, unsigned how,
			  enum lk_app_go go, uintptr_t pc, bool contended, uint64_t wait_ns);
bool lk_app_release_slow(const void *lock, enum lk_app_type type, int owner_tid, uintptr_t pc);

#define LK_HELD_TYPE_SHIFT 8    /* enum lk_app_type in lk_held.flags bits 8-11 */

static inline bool lk_app_shared(enum lk_app_type type, unsigned how)
{
	return (how & LK_APP_READ) && type == LK_APP_RWLOCK;
}

static inline uint16_t lk_app_held_flags(enum lk_app_type type, unsigned how)
{
	return (uint16_t)(((unsigned)type << LK_HELD_TYPE_SHIFT) | LK_HELD_APP |
			  (how & LK_APP_TRY ? LK_HELD_TRY : 0) |
			  (how & LK_APP_READ ? LK_HELD_READ : 0) |
			  (lk_app_shared(type, how) ? LK_HELD_SHARED : 0));
}

/*
 * Before an acquisition of lock (type, how) by the calling thread: the
 * recursion check, then (blocking kinds only) the order check against
 * the locks the thread holds.  Reports are written before returning,
 * i.e. before the thread can block.  pc: the program's call site.
 * Holding nothing, there is nothing to check.
 */
static inline enum lk_app_go lk_app_before(const void *lock, enum lk_app_type type,
					   unsigned how, uintptr_t pc)
{
	struct lk_app_thread *t = &lk_at;

	if (__builtin_expect(t->n == 0, 1))
		return LK_APP_GO;
	/* one lock held and this order found clean before (lk_app_check) */
	if (t->n == 1 && t->clean_b == (uintptr_t)lock && t->held[0].lock != lock &&
	    t->clean_a == (uintptr_t)t->held[0].lock && !(how & LK_APP_READ) &&
	    t->clean_epoch == __atomic_load_n(&lk_app_epoch, __ATOMIC_RELAXED))
		return LK_APP_GO;
	return lk_app_before_slow(lock, type, how, pc);
}

/*
 * After the real call: acquired (0 or the robust EOWNERDEAD) or not.
 * go is lk_app_before's answer.  With lockstat, contended and wait_ns
 * (the wait after a failed first try) are counted.  The common case (a
 * new acquisition, room in the list, no lockstat) fills the next entry
 * in place.
 */
static inline void lk_app_acquired(const void *lock, enum lk_app_type type, unsigned how,
				   enum lk_app_go go, uintptr_t pc, bool contended,
				   uint64_t wait_ns)
{
	struct lk_app_thread *t = &lk_at;
	struct lk_held *h;

	if (__builtin_expect(go != LK_APP_GO || lk_config.lockstat || lk_config.held_stacks ||
			     !t->held || t->n >= t->cap, 0)) {
		lk_app_acquired_slow(lock, type, how, go, pc, contended, wait_ns);
		return;
	}
	h = &t->held[t->n];
	*h = (struct lk_held){ .lock = lock, .pc = pc, .flags = lk_app_held_flags(type, how),
			       .rank = LK_RANK_NONE };
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	t->n++;
}

/*
 * Release by the calling thread.  owner_tid: the owner the lock itself
 * records (a mutex's owner tid, an rwlock's writer; 0 = unknown): when it
 * is the calling thread, an unlock the held list does not know (taken
 * before checking began) is no error.  Returns false when the lock was
 * not held by the thread (then reported as a bad unlock).
 */
static inline bool lk_app_release(const void *lock, enum lk_app_type type, int owner_tid,
				  uintptr_t pc)
{
	struct lk_app_thread *t = &lk_at;

	/* the common case: the last lock taken, taken once, not timed */
	if (__builtin_expect(t->n != 0, 1)) {
		struct lk_held *h = &t->held[t->n - 1];

		if (h->lock == lock && !h->depth && !h->t_acq) {
			t->n--;
			return true;
		}
	}
	return lk_app_release_slow(lock, type, owner_tid, pc);
}

/*
 * Condition waits: the mutex is released for the wait and taken back
 * inside the real call, so before it: the relock is checked against the
 * other held locks as a blocking acquisition (reports before sleeping),
 * and the mutex leaves the held list; after it, lk_app_wait_end puts it
 * back with the saved state.
 */
struct lk_app_wait {
	bool held;
	uint16_t flags, depth;
	uint32_t node, stack, site;
	uintptr_t pc;
};
void lk_app_wait_begin(const void *mutex, enum lk_app_type type, uintptr_t pc,
		       struct lk_app_wait *w);
void lk_app_wait_end(const void *mutex, const struct lk_app_wait *w);

/* init or destroy of the lock at addr: a new instance begins (type). */
void lk_app_retire(const void *lock);

/* Memory [p, p+n) goes away (free, munmap): retire the locks in it. */
void lk_app_forget_range(const void *p, size_t n);

/* Fork (called from lk_fork_prepare / parent / child). */
void lk_app_fork_prepare(void);
void lk_app_fork_parent(void);
void lk_app_fork_child(void);

/* Is the calling thread inside the checker (or the shim's lock runtime)? */
bool lk_app_busy(void);

/* ---- for reports and lockstat (lk_report.c) ---- */

/* Nodes at or above LK_NODE_APP_BASE are program locks. */
bool lk_app_is_node(uint32_t node);

/* "mutex 0x55d0c8e4a040" (type and address of the node's lock). */
void lk_app_node_name(uint32_t node, char *buf, size_t cap);
unsigned lk_app_type_of_node(uint32_t node);    /* enum lk_app_type */
uintptr_t lk_app_node_addr(uint32_t node);      /* 0 if unknown */

struct lk_app_stat {
	uintptr_t addr;
	uintptr_t site;          /* pc of the first acquisition */
	uint8_t type;            /* enum lk_app_type */
	uint32_t gens;           /* instances seen at this address */
	uint64_t acq, cont, changes, wait_ns, wait_max, hold_ns, hold_max;
};

/* Records 1..lk_app_nrecs(); false when record i has no acquisition. */
unsigned lk_app_nrecs(void);
bool lk_app_stat_get(uint32_t i, struct lk_app_stat *out);
unsigned lk_app_max_locks(void);
const char *lk_app_type_name(enum lk_app_type type);

#endif
