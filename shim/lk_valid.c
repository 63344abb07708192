/*
 * lk_valid: rank check and the table of distinct violations.
 *
 * Shared state: lk_valid (below).  No lock guards it: a slot is claimed
 * by compare-and-swap of its key from 0, its count is bumped with an
 * atomic add, and nothing is ever removed, so readers need no lock
 * either.  This keeps the rank check free of any global lock; only the
 * first sight of a violation writes shared memory.
 */
#include "shim/lk_valid.h"

#include <stddef.h>

#include "shim/lk.h"

#define LK_VALID_SLOTS 1024     /* power of two */

struct lk_valid_slot {
	uint64_t key;           /* 0 = free; see lk_valid_key() */
	uint32_t count;         /* occurrences, first one included */
};

static struct {
	struct lk_valid_slot slot[LK_VALID_SLOTS];
	unsigned distinct;      /* slots in use */
	unsigned lost;          /* table full: violations neither kept nor reported */
} lk_valid;

static uint64_t lk_valid_key(enum lk_viol_kind kind, uint16_t held_cls, uint16_t cls)
{
	return (uint64_t)kind << 32 | (uint64_t)held_cls << 16 | cls;
}

static unsigned lk_valid_hash(uint64_t key)
{
	key *= 0x9e3779b97f4a7c15ull;
	return (unsigned)(key >> 40) & (LK_VALID_SLOTS - 1);
}

/* Find or claim the slot of key; NULL when the table is full. */
static struct lk_valid_slot *lk_valid_slot(uint64_t key, bool *claimed)
{
	unsigned i = lk_valid_hash(key);

	*claimed = false;
	for (unsigned n = 0; n < LK_VALID_SLOTS; n++, i = (i + 1) & (LK_VALID_SLOTS - 1)) {
		struct lk_valid_slot *s = &lk_valid.slot[i];
		uint64_t cur = __atomic_load_n(&s->key, __ATOMIC_ACQUIRE);

		if (cur == 0 && __atomic_compare_exchange_n(&s->key, &cur, key, false,
				__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			*claimed = true;
			__atomic_fetch_add(&lk_valid.distinct, 1, __ATOMIC_RELAXED);
			return s;
		}
		if (cur == key)
			return s;
	}
	return NULL;
}

bool lk_valid_note(enum lk_viol_kind kind, uint16_t held_cls, uint16_t cls)
{
	bool claimed;
	struct lk_valid_slot *s = lk_valid_slot(lk_valid_key(kind, held_cls, cls), &claimed);

	if (!s) {
		__atomic_fetch_add(&lk_valid.lost, 1, __ATOMIC_RELAXED);
		return false;
	}
	__atomic_fetch_add(&s->count, 1, __ATOMIC_RELAXED);
	return claimed;
}

static void lk_valid_add(struct lk_verdict *v, enum lk_viol_kind kind,
			 const struct lk_held *held, unsigned i, uint16_t cls)
{
	if (!lk_valid_note(kind, held[i].cls, cls)) {
		v->nrepeat++;
		return;
	}
	if (v->nnew < LK_VERDICT_MAX)
		v->c[v->nnew] = (struct lk_conflict){ .kind = kind, .held = (uint8_t)i };
	v->nnew++;
}

/*
 * The rank rule: the new rank must be strictly above every held rank.
 * Unranked locks (LK_RANK_NONE) on either side are left to the order
 * graph.  A lock taken by trylock is held like any other: blocking on
 * something below it is still a violation.
 */
static void lk_valid_rank(const struct lk_held *held, unsigned nheld,
			  uint16_t cls, int rank, struct lk_verdict *v)
{
	if (rank == LK_RANK_NONE)
		return;
	for (unsigned i = 0; i < nheld; i++)
		if (held[i].rank != LK_RANK_NONE && held[i].rank >= rank)
			lk_valid_add(v, LK_VIOL_RANK, held, i, cls);
}

unsigned lk_valid_before_acquire(const struct lk_held *held, unsigned nheld,
				 uint16_t cls, int rank, uint32_t stack,
				 struct lk_verdict *v)
{
	(void)stack;            /* kept for the order graph's first-seen edges */
	v->nnew = 0;
	v->nrepeat = 0;
	lk_valid_rank(held, nheld, cls, rank, v);
	if (v->nnew > LK_VERDICT_MAX)
		v->nnew = LK_VERDICT_MAX;
	return v->nnew;
}

unsigned lk_valid_distinct(void)
{
	return __atomic_load_n(&lk_valid.distinct, __ATOMIC_RELAXED);
}

unsigned lk_valid_lost(void)
{
	return __atomic_load_n(&lk_valid.lost, __ATOMIC_RELAXED);
}

unsigned lk_valid_occurrences(enum lk_viol_kind kind, uint16_t held_cls, uint16_t cls)
{
	uint64_t key = lk_valid_key(kind, held_cls, cls);
	unsigned i = lk_valid_hash(key);

	for (unsigned n = 0; n < LK_VALID_SLOTS; n++, i = (i + 1) & (LK_VALID_SLOTS - 1)) {
		uint64_t cur = __atomic_load_n(&lk_valid.slot[i].key, __ATOMIC_ACQUIRE);

		if (cur == key)
			return __atomic_load_n(&lk_valid.slot[i].count, __ATOMIC_RELAXED);
		if (cur == 0)
			break;
	}
	return 0;
}

void lk_valid_foreach(lk_valid_visit_fn *fn, void *arg)
{
	for (unsigned i = 0; i < LK_VALID_SLOTS; i++) {
		uint64_t key = __atomic_load_n(&lk_valid.slot[i].key, __ATOMIC_ACQUIRE);

		if (key)
			fn((enum lk_viol_kind)(key >> 32), (uint16_t)(key >> 16),
			   (uint16_t)key,
			   __atomic_load_n(&lk_valid.slot[i].count, __ATOMIC_RELAXED), arg);
	}
}

const char *lk_valid_kind_name(enum lk_viol_kind kind)
{
	static const char *const names[LK_VIOL_NKINDS] = {
		[LK_VIOL_NONE] = "none",
		[LK_VIOL_RANK] = "rank",
		[LK_VIOL_RECURSIVE] = "recursive locking",
		[LK_VIOL_BAD_UNLOCK] = "bad unlock",
	};
	return (unsigned)kind < LK_VIOL_NKINDS ? names[kind] : "?";
}
