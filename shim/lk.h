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
 * Unranked classes (LK_RANK_NONE) are checked by the observed-order
 * graph instead: every blocking acquisition adds the edges held -> new
 * (class level) the first time they are seen, with the stack that first
 * took them, and an edge that closes a cycle of any length is reported.
 * The order already seen costs a lock-free hash probe per held lock: no
 * global lock, no unwind.
 *
 * Per-thread state (the held-lock stack) is thread-local and needs no lock.
 * The runtime's global tables (classes, fork registrations, inserts into
 * the order graph) are guarded by lk_graph_lock, a bare futex word of
 * rank LK_RANK_INTERNAL (the highest), never held across a call out and
 * itself not validated; the validator's violation table, the graph's
 * readers, lockstat and the stack depot are lock-free.
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
 * Condition-variable style waits: release l completely (whatever its
 * recursion depth) before sleeping, and take it back after.  The relock
 * is a blocking acquisition like lk_lock: its order against the locks
 * still held is checked (and recorded) again.
 *     unsigned d = lk_unlock_for_wait(&l);  ...wait...  lk_relock_after_wait(&l, d);
 * Returns the depth to restore (0 if the caller did not hold l: then
 * lk_relock_after_wait does nothing).
 */
unsigned lk_unlock_for_wait(struct lk_lock *l);
void lk_relock_after_wait(struct lk_lock *l, unsigned depth);

/*
 * Cheap held-lock records.  By default an acquisition records no stack,
 * only two PCs: the caller of lk_lock and the return address into the
 * program where the thread entered the shim.  Wrappers may mark their
 * entry with LK_ENTRY_SCOPE() as their first statement (nesting-safe: the
 * outermost entry wins, the previous value is restored on return); when
 * none did, the runtime walks the frame-pointer chain through the shim's
 * own frames (the text range of the preloaded library, found at load
 * time; lk_set_entry_text sets it, 0, 0 disables the walk).
 */
void lk_set_entry_text(uintptr_t lo, uintptr_t hi);

/* Non-zero while the thread captures a stack or writes a report. */
extern __thread int lk_in_runtime __attribute__((tls_model("initial-exec")));

/*
 * A bare futex word (0 free), private to the process, not validated: for
 * the runtime's own short critical sections (lk_app.c's tables).
 */
void lk_raw_lock(uint32_t *w);
void lk_raw_unlock(uint32_t *w);

extern __thread uintptr_t lk_entry_pc __attribute__((tls_model("initial-exec")));

static inline void lk_entry_restore(uintptr_t *saved)
{
	lk_entry_pc = *saved;
}

#define LK_ENTRY_SCOPE() \
	uintptr_t lk_entry_saved_ __attribute__((cleanup(lk_entry_restore), unused)) = \
		lk_entry_pc ? lk_entry_pc \
			    : (lk_entry_pc = (uintptr_t)__builtin_return_address(0), 0)

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
	int held_stacks;        /* capture a full stack at each acquisition
				   (default 0: caller and entry PCs only) */
	int stack_depth;        /* frames per stack, <= LK_STACK_MAX */
	int exitcode;           /* exit code at exit if a violation was reported */
	int halt_on_error;      /* _exit(exitcode) right after the first report */
	int json;               /* report_format=json: JSON lines */
	int lockstat;           /* per class / per site lock statistics */
	int lockstat_sort;      /* program locks: sort key, index into lk_sort_keys */
	unsigned lockstat_max;  /* program locks: rows printed (top N) */
};

/*
 * lockstat_sort= keys for the program-lock table (NULL-terminated):
 * contentions (default), acquisitions, changes (owner changes), wait
 * (total), wait_max, wait_avg, hold (total), hold_max, hold_avg.
 */
extern const char *const lk_sort_keys[];
extern struct lk_config lk_config;

/*
 * Table limits (before the first lock is taken): classes, edges of the
 * order graph, distinct violations, lockstat sites.  0 keeps a default.
 */
void lk_set_limits(unsigned max_classes, unsigned max_edges, unsigned max_violations,
		   unsigned lockstat_sites);

/*
 * Suppressions: read FILE (lines "lockorder:PATTERN", '#' comments; glob
 * with * and ?).  A violation whose report has a frame whose function
 * matches is counted but not printed and sets no exit code.  Returns 0 or
 * -errno; a line it cannot use gives -EINVAL and *bad_line its number.
 */
int lk_suppressions_load(const char *path, int *bad_line);

/* Number of distinct violations reported (not suppressed) so far. */
unsigned lk_violation_count(void);

/*
 * lockstat=1: print the table now, symbolized with DWARF (tests, callers
 * outside signal handlers); lk_lockstat_print_signal is the variant for
 * a signal handler (SIGUSR2): sites named by dladdr only, no allocation.
 */
void lk_lockstat_print(void);
void lk_lockstat_print_signal(void);

/*
 * Call once at process exit (the shim's destructor does): if violations
 * were reported, prints the summary line (distinct violations and how
 * often each occurred) and, if lk_config.exitcode != 0, calls
 * _exit(exitcode).  Later calls do nothing.  Programs that link the core
 * without the shim call it themselves.
 */
void lk_atexit(void);

#endif
