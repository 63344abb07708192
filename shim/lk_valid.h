/*
 * lk_valid: the lock-order validator behind a small seam (compare
 * compiler-rt's DDetector).  It sees class ids, ranks, stack ids and a
 * thread's held list, nothing else: no futexes, no pthreads, no lock
 * instances, no names.  lk.c feeds it and prints the reports.
 *
 * Shared state: the table of distinct violations (dedup and repeat
 * counts).  It is lock-free (slots claimed by compare-and-swap on the
 * key, counts bumped atomically), so no lock guards it and the rank check
 * can run on any thread without a global lock.  The observed-order graph
 * (next issue) will be guarded by lk_graph_lock, which lk.c takes around
 * the calls that need it; lk_valid_before_acquire keeps its signature.
 */
#ifndef VADSHIM_LK_VALID_H
#define VADSHIM_LK_VALID_H

#include <stdbool.h>
#include <stdint.h>

/* One lock a thread holds, as the validator sees it. */
struct lk_held {
	const void *lock;       /* the runtime's identity; opaque here */
	uintptr_t pc;           /* caller of the acquisition */
	uint32_t stack;         /* depot id of the acquisition stack, 0 = none */
	uint16_t cls;           /* class id, never 0 in a held list */
	uint16_t flags;         /* LK_HELD_* */
	int rank;               /* the class's rank, LK_RANK_NONE = unranked */
};

#define LK_HELD_TRY 1u          /* taken by a trylock: no order was checked */

enum lk_viol_kind {
	LK_VIOL_NONE = 0,
	LK_VIOL_RANK,           /* acquired rank not above a held rank */
	LK_VIOL_RECURSIVE,      /* non-recursive lock re-acquired by its owner */
	LK_VIOL_BAD_UNLOCK,     /* unlock by a thread that does not hold it */
	LK_VIOL_NKINDS
};

/* Conflicts seen for the first time, listed in a verdict, at most: */
#define LK_VERDICT_MAX 8

struct lk_conflict {
	uint8_t kind;           /* enum lk_viol_kind */
	uint8_t held;           /* index into the held list passed in */
};

struct lk_verdict {
	unsigned nnew;          /* new distinct violations: report these */
	unsigned nrepeat;       /* known violations: counted, not reported */
	struct lk_conflict c[LK_VERDICT_MAX];
};

/*
 * Check acquiring class cls (rank) on top of held[0..nheld) before the
 * thread blocks.  stack is the acquisition's depot id (0 if not captured).
 * Fills *v; returns v->nnew (non-zero: print a report).
 */
unsigned lk_valid_before_acquire(const struct lk_held *held, unsigned nheld,
				 uint16_t cls, int rank, uint32_t stack,
				 struct lk_verdict *v);

/*
 * Record one occurrence of a violation found by the runtime itself
 * (recursive locking, bad unlock); held_cls is 0 when there is none.
 * Returns true the first time (print a report), false for a repeat.
 */
bool lk_valid_note(enum lk_viol_kind kind, uint16_t held_cls, uint16_t cls);

/*
 * Distinct violations recorded so far; occurrences of one of them; and
 * occurrences dropped because the table was full (neither kept nor
 * reported).
 */
unsigned lk_valid_distinct(void);
unsigned lk_valid_lost(void);
unsigned lk_valid_occurrences(enum lk_viol_kind kind, uint16_t held_cls, uint16_t cls);

/* Visit every distinct violation (for the summary at exit). */
typedef void lk_valid_visit_fn(enum lk_viol_kind kind, uint16_t held_cls,
			       uint16_t cls, unsigned occurrences, void *arg);
void lk_valid_foreach(lk_valid_visit_fn *fn, void *arg);

const char *lk_valid_kind_name(enum lk_viol_kind kind);

#endif
