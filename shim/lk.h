/*
 * lk — the lock runtime every other part of vadshim uses.
 *
 * Every shim lock is a named lock (struct lk_lock) of a class (struct
 * lk_class) that carries a rank from the hierarchy:
 *
 *     fdtable (LK_RANK_FDTABLE, per process, recursive)
 *       -> lockfs (LK_RANK_LOCKFS, global, recursive)
 *         -> mman (LK_RANK_MMAN, per process, recursive)
 *           -> leaf locks (LK_RANK_LEAF + n)
 *
 * A thread may acquire a lock only if its rank is strictly above the rank
 * of every lock it already holds; re-entry of a recursive lock it already
 * holds passes with no check and adds no order.  A violation is reported
 * (unbuffered, before the thread blocks) and the acquisition then proceeds.
 *
 * The validator proper (lk_valid.c) knows nothing of futexes, pthreads or
 * the shim's subsystems: it sees class ids, ranks and stack ids only.  This
 * file is the seam between the two (compare compiler-rt's DDetector).
 *
 * Per-thread state (the held-lock stack) is thread-local and needs no lock.
 * The runtime's global tables (classes, fork registrations, and the order
 * graph when it comes) are guarded by lk_graph_lock, a bare futex word of
 * rank LK_RANK_INTERNAL (the highest), never held across a call out and
 * itself not validated; the validator's violation table and the stack
 * depot are lock-free.
 */
#ifndef VADSHIM_LK_H
#define VADSHIM_LK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum lk_rank {
	LK_RANK_NONE = 0,      /* no rank: checked by the order graph only */
	LK_RANK_FDTABLE = 100,
	LK_RANK_LOCKFS = 200,
	LK_RANK_RAMFS_SEG = 250, /* per-segment robust mutex, under lockfs */
	LK_RANK_MMAN = 300,
	LK_RANK_SHMEM = 310,    /* legacy only: the seed's separate shm lock */
	LK_RANK_LEAF = 800,     /* leaf locks: LK_RANK_LEAF + n */
	LK_RANK_INTERNAL = 1000 /* the lock runtime's own tables */
};

#define LK_MAX_CLASSES 256
#define LK_MAX_HELD 64
#define LK_STACK_MAX 32

struct lk_class {
	const char *name;
	int rank;
	bool recursive;
	bool pshared;            /* futex ops without FUTEX_PRIVATE_FLAG, for lock
				    words in shared memory; owner/depth are still
				    per process (a TLS address) */
	uint16_t id;             /* assigned at first use; 0 = unassigned */
};

#define LK_CLASS_INIT(nm, rk, rec) { .name = (nm), .rank = (rk), .recursive = (rec), .id = 0 }

/*
 * A lock: a futex word plus an owner for recursion.  Zero-initialised
 * memory with .cls set is a valid unlocked lock (LK_LOCK_INIT).
 * owner is the address of the owning thread's TLS block, which stays the
 * same in a fork child, so a lock taken in a prepare handler is released
 * normally in the child.
 */
struct lk_lock {
	uint32_t word;          /* 0 free, 1 locked, 2 locked with waiters */
	uint32_t depth;         /* recursion depth, owner only */
	void *_Atomic owner;
	struct lk_class *cls;
	const char *name;       /* instance name for reports (may be NULL) */
};

#define LK_LOCK_INIT(clsp, nm) { .word = 0, .depth = 0, .owner = (void *)0, .cls = (clsp), .name = (nm) }

void lk_init(struct lk_lock *l, struct lk_class *cls, const char *name);

/* Acquire / release.  lk_lock checks order before it can block. */
void lk_lock(struct lk_lock *l);
bool lk_trylock(struct lk_lock *l);
void lk_unlock(struct lk_lock *l);
bool lk_held(const struct lk_lock *l);     /* by the calling thread */
unsigned lk_held_count(void);              /* locks held by this thread */

/*
 * Fork: the shim's init registers one pthread_atfork triple that calls
 * these; subsystems register their locks (in hierarchy order) with
 * lk_fork_register so that prepare takes them all and parent/child
 * release them.
 */
void lk_fork_register(struct lk_lock *l);
void lk_fork_prepare(void);
void lk_fork_parent(void);
void lk_fork_child(void);

/* Configuration (from options): set once at init. */
struct lk_config {
	int lockdep;            /* 0 off, 1 shim locks (default) */
	int held_stacks;        /* capture a full stack at each acquisition */
	int stack_depth;        /* frames per stack, <= LK_STACK_MAX */
	int exitcode;           /* exit code at exit if a violation was reported */
	int halt_on_error;      /* _exit(exitcode) right after the first report */
};
extern struct lk_config lk_config;

/* Number of distinct violations reported so far (tests read it). */
unsigned lk_violation_count(void);

/*
 * Call once at process exit (the shim's destructor does): if violations
 * were reported, prints the summary line (distinct violations and how
 * often each occurred) and, if lk_config.exitcode != 0, calls
 * _exit(exitcode).  Later calls do nothing.  Programs that link the core
 * without the shim call it themselves.
 */
void lk_atexit(void);

#endif
