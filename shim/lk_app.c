/*
 * lk_app: the program's locks (lockdep=app) — identity, held lists, the
 * feed into the validator, lockstat.  See lk_app.h for the model and the
 * guards; in short:
 *
 *     lk_app.lock (bare futex word, not validated, never held across a
 *     call out): inserts into the address table, node allocation, retire
 *       -> lk_graph_lock (lk.c): inserts into the order graph
 *
 * Layout (all mapped at lk_app_enable, zero pages touched on use):
 *
 *     slot[2^k]    {addr, rec}   open addressing by address, load <= 1/2
 *     rec[max+1]   one per address: node, gen, type, first site, lockstat
 *     pages[]      one bit per 4 KiB page that ever held a lock: free()
 *                  of memory with no lock in it costs a bit test
 *
 * Identity: the record of an address lives as long as the process; its
 * node is the graph node of the current instance, given out on the first
 * order the instance takes part in (most locks are never nested and never
 * get one).  Retire (init, destroy, free, munmap) marks the node retired
 * in the graph and clears it, so the next use gets a new node: an old
 * and a new lock at one address never share edges.  Node ids are never
 * reused; when they run out (4 x max_app_locks instances took part in
 * orders) new instances are not checked and one line says so.
 *
 * The fast path of an acquisition with nothing held: scan the (empty)
 * held list, push.  With locks held and an order seen before: the same
 * thread's last clean pair of addresses, else a lock-free table probe per
 * lock and one edge-hash probe per held lock.  No system call, no global
 * lock, no unwind.
 */
#include "shim/lk_app.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim/lk.h"
#include "shim/lk_report.h"
#include "shim/lk_stack.h"
#include "shim/lk_stat.h"
#include "shim/lk_valid.h"
#include "shim/log.h"

#define LK_APP_PAGE_BITS (1u << 22)     /* page filter: 4M bits = 512 KiB */

struct lk_app_slot {
	uintptr_t addr;         /* 0 = empty; published last (release) */
	uint32_t rec;
};

struct lk_app_rec {
	uintptr_t addr;
	uint32_t node;          /* current instance's node, 0 = none yet */
	uint32_t gen;           /* instances before the current one */
	uint8_t type;           /* enum lk_app_type, as last seen */
	int last_tid;           /* lockstat: the last owner */
	uintptr_t site;         /* first acquisition's pc (lockstat's name) */
	uint64_t acq, cont, changes, wait_ns, wait_max, hold_ns, hold_max;
};

int lk_app_on;
uint32_t lk_app_epoch;

static struct {
	uint32_t lock;                  /* bare futex word, see the top */
	unsigned max_locks, mask;
	struct lk_app_slot *slot;
	struct lk_app_rec *rec;         /* ids 1..nrecs */
	uint32_t nrecs;
	uint32_t next_node, end_node;   /* nodes given out: [LK_NODE_APP_BASE, next) */
	uint64_t *pages;
	uint32_t *node_rec;             /* [node - LK_NODE_APP_BASE]: its record */
	uint32_t *node_gen;             /* ...and the record's gen then */
	int full_said, nodes_said, held_said;
} lk_app;

__thread struct lk_app_thread lk_at __attribute__((tls_model("initial-exec")));

static void *lk_app_map(size_t bytes)
{
	long p = syscall(SYS_mmap, NULL, bytes, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p < 0 && p > -4096 ? NULL : (void *)p;
}

int lk_app_enable(unsigned max_locks)
{
	unsigned slots = 2;

	if (max_locks < 16)
		max_locks = 16;
	if (max_locks > LK_APP_LOCKS_HARD)
		max_locks = LK_APP_LOCKS_HARD;
	while (slots < 2 * max_locks)
		slots <<= 1;
	lk_app.slot = lk_app_map((size_t)slots * sizeof(struct lk_app_slot));
	lk_app.rec = lk_app_map(((size_t)max_locks + 1) * sizeof(struct lk_app_rec));
	lk_app.pages = lk_app_map(LK_APP_PAGE_BITS / 8);
	lk_app.node_rec = lk_app_map(4 * (size_t)max_locks * sizeof(uint32_t));
	lk_app.node_gen = lk_app_map(4 * (size_t)max_locks * sizeof(uint32_t));
	if (!lk_app.slot || !lk_app.rec || !lk_app.pages || !lk_app.node_rec || !lk_app.node_gen)
		return -ENOMEM;
	if (lk_valid_set_nodes(LK_NODE_APP_BASE + 4 * max_locks) != 0)
		return -ENOMEM;
	lk_app.max_locks = max_locks;
	lk_app.mask = slots - 1;
	lk_app.next_node = LK_NODE_APP_BASE;
	lk_app.end_node = lk_valid_max_nodes() + 1;
	lk_app_on = 1;
	return 0;
}

unsigned lk_app_max_locks(void)
{
	return lk_app.max_locks;
}

bool lk_app_busy(void)
{
	return lk_in_runtime != 0;
}

static int lk_app_tid(struct lk_app_thread *t)
{
	if (!t->tid)
		t->tid = (int)syscall(SYS_gettid);
	return t->tid;
}

/* ---- the address table ---- */

static inline unsigned lk_app_hash(uintptr_t a)
{
	return (unsigned)(((a >> 3) * 0x9e3779b97f4a7c15ull) >> 32);
}

/* The record of addr, 0 if the address was never seen (lock-free). */
static inline uint32_t lk_app_find(uintptr_t a)
{
	unsigned mask = lk_app.mask, i = lk_app_hash(a) & mask;

	for (;; i = (i + 1) & mask) {
		uintptr_t cur = __atomic_load_n(&lk_app.slot[i].addr, __ATOMIC_ACQUIRE);

		if (cur == a)
			return lk_app.slot[i].rec;
		if (cur == 0)
			return 0;
	}
}

static void lk_app_page_mark(uintptr_t a)
{
	uint64_t bit = (a >> 12) & (LK_APP_PAGE_BITS - 1);

	if (!(__atomic_load_n(&lk_app.pages[bit / 64], __ATOMIC_RELAXED) & (1ull << (bit % 64))))
		__atomic_fetch_or(&lk_app.pages[bit / 64], 1ull << (bit % 64), __ATOMIC_RELAXED);
}

static bool lk_app_page_has(uintptr_t a)
{
	uint64_t bit = (a >> 12) & (LK_APP_PAGE_BITS - 1);

	return __atomic_load_n(&lk_app.pages[bit / 64], __ATOMIC_RELAXED) & (1ull << (bit % 64));
}

/* The record of addr, created if needed; 0 when the table is full. */
static uint32_t lk_app_rec_of(uintptr_t a, enum lk_app_type type)
{
	uint32_t r = lk_app_find(a);
	bool full = false;

	if (r)
		return r;
	lk_raw_lock(&lk_app.lock);
	r = lk_app_find(a);
	if (!r && lk_app.nrecs < lk_app.max_locks) {
		unsigned mask = lk_app.mask, i = lk_app_hash(a) & mask;
		struct lk_app_rec *rec;

		r = ++lk_app.nrecs;
		rec = &lk_app.rec[r];
		rec->addr = a;
		rec->type = (uint8_t)type;
		while (__atomic_load_n(&lk_app.slot[i].addr, __ATOMIC_RELAXED))
			i = (i + 1) & mask;
		lk_app.slot[i].rec = r;
		lk_app_page_mark(a);
		__atomic_store_n(&lk_app.slot[i].addr, a, __ATOMIC_RELEASE);
	} else if (!r) {
		full = true;
	}
	lk_raw_unlock(&lk_app.lock);
	if (full && !__atomic_exchange_n(&lk_app.full_said, 1, __ATOMIC_RELAXED))
		shim_log("==vadshim== more than %u program locks: later ones are not checked; raise max_app_locks=\n",
			 lk_app.max_locks);
	return r;
}

/* The node of the current instance at addr, given out on first need; 0 = not checked. */
static uint32_t lk_app_node_of(uintptr_t a, enum lk_app_type type)
{
	uint32_t r = lk_app_rec_of(a, type), node;
	bool out = false;

	if (!r)
		return 0;
	node = __atomic_load_n(&lk_app.rec[r].node, __ATOMIC_ACQUIRE);
	if (node)
		return node;
	lk_raw_lock(&lk_app.lock);
	node = lk_app.rec[r].node;
	if (!node && lk_app.next_node < lk_app.end_node) {
		node = lk_app.next_node++;
		lk_app.rec[r].type = (uint8_t)type;
		lk_app.node_rec[node - LK_NODE_APP_BASE] = r;
		lk_app.node_gen[node - LK_NODE_APP_BASE] = lk_app.rec[r].gen;
		__atomic_store_n(&lk_app.rec[r].node, node, __ATOMIC_RELEASE);
	} else if (!node) {
		out = true;
	}
	lk_raw_unlock(&lk_app.lock);
	if (out && !__atomic_exchange_n(&lk_app.nodes_said, 1, __ATOMIC_RELAXED))
		shim_log("==vadshim== more than %u program lock instances took part in lock orders: later ones are not checked; raise max_app_locks=\n",
			 lk_app.end_node - LK_NODE_APP_BASE);
	return node;
}

/* ---- held lists ---- */


static inline enum lk_app_type lk_held_type(const struct lk_held *h)
{
	return (enum lk_app_type)((h->flags >> LK_HELD_TYPE_SHIFT) & 15);
}

static inline struct lk_held *lk_app_held_find(struct lk_app_thread *t, const void *lock)
{
	for (unsigned i = t->n; i-- > 0;)
		if (t->held[i].lock == lock)
			return &t->held[i];
	return NULL;
}

static bool lk_app_held_grow(struct lk_app_thread *t)
{
	struct lk_held *h;

	if (t->cap >= LK_APP_HELD_MAX)
		return false;
	h = lk_app_map(LK_APP_HELD_MAX * sizeof(*h));
	if (!h)
		return false;
	memcpy(h, t->held, t->n * sizeof(*h));
	t->held = h;
	t->cap = LK_APP_HELD_MAX;
	return true;
}

static inline struct lk_app_thread *lk_app_self(void)
{
	struct lk_app_thread *t = &lk_at;

	if (__builtin_expect(!t->held, 0)) {
		t->held = t->inl;
		t->cap = LK_APP_HELD_INLINE;
	}
	return t;
}

static void lk_app_push(struct lk_app_thread *t, const struct lk_held *h)
{
	if (t->n == t->cap && !lk_app_held_grow(t)) {
		if (!t->overflow++ && !__atomic_exchange_n(&lk_app.held_said, 1, __ATOMIC_RELAXED))
			shim_log("==vadshim== thread %d holds more than %d program locks: further ones are not checked\n",
				 lk_app_tid(t), LK_APP_HELD_MAX);
		return;
	}
	t->held[t->n] = *h;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	t->n++;
}

static void lk_app_stat_release(struct lk_held *h);

static void lk_app_remove(struct lk_app_thread *t, struct lk_held *h)
{
	unsigned i = (unsigned)(h - t->held);

	lk_app_stat_release(h);
	memmove(&t->held[i], &t->held[i + 1], (t->n - i - 1) * sizeof(t->held[0]));
	t->n--;
}

/* ---- order checks ---- */


static bool lk_app_reentrant(const struct lk_held *h, enum lk_app_type type, unsigned how)
{
	if (type == LK_APP_MUTEX_RECURSIVE)
		return true;
	/* a reader-preferring rwlock read-locked again for reading never waits */
	return type == LK_APP_RWLOCK && (how & LK_APP_READ) && (h->flags & LK_HELD_READ);
}

static void lk_app_view(struct lk_app_thread *t, unsigned from, unsigned n,
			struct lk_held_view *hv)
{
	*hv = (struct lk_held_view){ .held = t->held + from, .nheld = n, .overflow = 0 };
}

/*
 * The slow path: a new order (or a violation) between the held locks
 * held[from..from+n) and node.  Captures the stack once (*stack), inserts
 * the edges under the graph lock, reports.
 */
static void lk_app_check_slow(struct lk_app_thread *t, unsigned from, unsigned n,
			      const void *lock, uint32_t node, bool shared, unsigned how,
			      uintptr_t pc, uint32_t *stack, struct lk_verdict *v)
{
	lk_in_runtime = 1;
	if (!*stack)
		*stack = lk_stack_capture(pc, lk_config.stack_depth);
	if (v->missing) {
		struct lk_edge_src src = { .stack = *stack, .pc = pc, .tid = lk_app_tid(t) };

		lk_graph_add_edges(t->held + from, n, node, shared, &src, v);
	}
	if (v->full)
		lk_report_graph_full();
	if (v->lost)
		lk_report_violations_full();
	if (v->nnew) {
		struct lk_held_view hv;

		lk_app_view(t, from, n, &hv);
		lk_report_app_order(&hv, lock, node, how, *stack, pc, v);
	}
	lk_in_runtime = 0;
}

/* Give every held lock a node (they get one only when an order needs it). */
static void lk_app_resolve_held(struct lk_app_thread *t)
{
	for (unsigned i = 0; i < t->n; i++)
		if (!t->held[i].cls)
			t->held[i].cls = lk_app_node_of((uintptr_t)t->held[i].lock,
							lk_held_type(&t->held[i]));
}

/* Before a blocking acquisition of lock by t, which holds others. Returns the stack id. */
static uint32_t lk_app_check(struct lk_app_thread *t, const void *lock, enum lk_app_type type,
			     unsigned how, uintptr_t pc)
{
	uint32_t epoch = __atomic_load_n(&lk_app_epoch, __ATOMIC_RELAXED), node, stack = 0;
	bool shared = lk_app_shared(type, how);
	const void *top = t->held[t->n - 1].lock;
	struct lk_verdict v;
	bool clean = true;

	if (t->clean_b == (uintptr_t)lock && t->clean_a == (uintptr_t)top &&
	    t->clean_epoch == epoch && t->n == 1 && !shared)
		return 0;
	node = lk_app_node_of((uintptr_t)lock, type);
	if (!node)
		return 0;
	lk_app_resolve_held(t);
	for (unsigned from = 0; from < t->n; from += 64) {
		unsigned n = t->n - from < 64 ? t->n - from : 64;

		lk_valid_before_acquire_mode(t->held + from, n, node, LK_RANK_NONE, shared, &v);
		clean &= !v.missing && !v.nnew && !v.nrepeat && !v.full && !v.lost;
		if (v.missing || v.nnew)
			lk_app_check_slow(t, from, n, lock, node, shared, how, pc, &stack, &v);
		else if (v.full)
			lk_report_graph_full();
	}
	if (clean && t->n == 1 && !shared) {
		t->clean_a = (uintptr_t)top;
		t->clean_b = (uintptr_t)lock;
		t->clean_epoch = epoch;
	}
	return stack;
}

/* lock is held by t and cannot be re-entered: report (once per lock instance pair). */
static void lk_app_self_deadlock(struct lk_app_thread *t, struct lk_held *h, const void *lock,
				 enum lk_app_type type, unsigned how, uintptr_t pc)
{
	uint32_t node;
	struct lk_held_view hv;

	if (how & LK_APP_TRY)
		return;         /* a trylock fails (EBUSY) or returns: no wait */
	node = lk_app_node_of((uintptr_t)lock, type);
	if (!node || !lk_valid_note(LK_VIOL_RECURSIVE, node, node))
		return;
	lk_in_runtime = 1;
	lk_app_resolve_held(t);
	lk_app_view(t, 0, t->n, &hv);
	lk_report_app_recursive(&hv, lock, node, type, how, h,
				lk_stack_capture(pc, lk_config.stack_depth), pc);
	lk_in_runtime = 0;
}

enum lk_app_go lk_app_before_slow(const void *lock, enum lk_app_type type, unsigned how,
				  uintptr_t pc)
{
	struct lk_app_thread *t = lk_app_self();
	struct lk_held *h = t->n ? lk_app_held_find(t, lock) : NULL;
	int saved;

	if (h) {
		if (lk_app_reentrant(h, type, how))
			return LK_APP_REENTER;
		saved = errno;
		lk_app_self_deadlock(t, h, lock, type, how, pc);
		errno = saved;
		/* A read re-lock of a writer-preferring rwlock is reported (it
		 * waits as soon as a writer queues) but succeeds when none does:
		 * count it as held again, so that its unlock is not a bad one. */
		if (type == LK_APP_RWLOCK_WRITER && (how & LK_APP_READ) && (h->flags & LK_HELD_READ))
			return LK_APP_REENTER;
		return LK_APP_SKIP;
	}
	if (t->n == 0 || (how & LK_APP_TRY))
		return LK_APP_GO;
	saved = errno;
	/* the stack is not kept: held records keep the caller's pc only */
	(void)lk_app_check(t, lock, type, how, pc);
	errno = saved;
	return LK_APP_GO;
}

/* ---- lockstat ---- */

static void lk_app_max(uint64_t *m, uint64_t v)
{
	uint64_t cur = __atomic_load_n(m, __ATOMIC_RELAXED);

	while (v > cur && !__atomic_compare_exchange_n(m, &cur, v, true, __ATOMIC_RELAXED,
						       __ATOMIC_RELAXED))
		;
}

static uint32_t lk_app_stat_acquired(struct lk_app_thread *t, const void *lock,
				     enum lk_app_type type, uintptr_t pc, bool contended,
				     uint64_t wait_ns)
{
	uint32_t r = lk_app_rec_of((uintptr_t)lock, type);
	struct lk_app_rec *rec;
	int tid = lk_app_tid(t);

	if (!r)
		return 0;
	rec = &lk_app.rec[r];
	if (!__atomic_load_n(&rec->site, __ATOMIC_RELAXED)) {
		uintptr_t zero = 0;

		__atomic_compare_exchange_n(&rec->site, &zero, pc, false, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED);
	}
	__atomic_fetch_add(&rec->acq, 1, __ATOMIC_RELAXED);
	if (contended) {
		__atomic_fetch_add(&rec->cont, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&rec->wait_ns, wait_ns, __ATOMIC_RELAXED);
		lk_app_max(&rec->wait_max, wait_ns);
	}
	if (__atomic_exchange_n(&rec->last_tid, tid, __ATOMIC_RELAXED) != tid)
		__atomic_fetch_add(&rec->changes, 1, __ATOMIC_RELAXED);
	return r;
}

static void lk_app_stat_release(struct lk_held *h)
{
	struct lk_app_rec *rec;
	uint64_t d;

	if (!h->site || !h->t_acq)
		return;
	rec = &lk_app.rec[h->site];
	d = lk_stat_now() - h->t_acq;
	__atomic_fetch_add(&rec->hold_ns, d, __ATOMIC_RELAXED);
	lk_app_max(&rec->hold_max, d);
}

void lk_app_acquired_slow(const void *lock, enum lk_app_type type, unsigned how,
			  enum lk_app_go go, uintptr_t pc, bool contended, uint64_t wait_ns)
{
	struct lk_app_thread *t = lk_app_self();
	uint16_t flags;
	struct lk_held *h;

	if (go == LK_APP_SKIP)
		return;
	if (go == LK_APP_REENTER) {
		struct lk_held *e = lk_app_held_find(t, lock);

		if (e)
			e->depth++;
		return;
	}
	flags = lk_app_held_flags(type, how);
	if (__builtin_expect(lk_config.lockstat || lk_config.held_stacks || t->n == t->cap, 0)) {
		struct lk_held e = { .lock = lock, .pc = pc, .rank = LK_RANK_NONE, .flags = flags };

		if (lk_config.held_stacks) {
			int saved = errno;

			lk_in_runtime = 1;
			e.stack = lk_stack_capture(pc, lk_config.stack_depth);
			lk_in_runtime = 0;
			errno = saved;
		}
		if (lk_config.lockstat) {
			int saved = errno;

			e.site = lk_app_stat_acquired(t, lock, type, pc, contended, wait_ns);
			e.t_acq = lk_stat_now() | 1;
			errno = saved;
		}
		lk_app_push(t, &e);
		return;
	}
	/* the common case: fill the next entry in place */
	h = &t->held[t->n];
	h->lock = lock;
	h->pc = pc;
	h->entry_pc = 0;
	h->t_acq = 0;
	h->stack = 0;
	h->site = 0;
	h->cls = 0;
	h->flags = flags;
	h->depth = 0;
	h->rank = LK_RANK_NONE;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	t->n++;
}

/* ---- release ---- */

bool lk_app_release_slow(const void *lock, enum lk_app_type type, int owner_tid, uintptr_t pc)
{
	struct lk_app_thread *t = lk_app_self();
	struct lk_held *h;
	uint32_t node;
	int saved;

	/* the common case: the last lock taken, taken once, not timed */
	if (t->n && t->held[t->n - 1].lock == lock && !t->held[t->n - 1].depth &&
	    !t->held[t->n - 1].t_acq) {
		t->n--;
		return true;
	}
	h = t->n ? lk_app_held_find(t, lock) : NULL;
	if (h) {
		if (h->depth)
			h->depth--;
		else
			lk_app_remove(t, h);
		return true;
	}
	if (t->overflow) {
		t->overflow--;
		return true;
	}
	if (owner_tid && owner_tid == lk_app_tid(t))
		return true;
	saved = errno;
	node = lk_app_node_of((uintptr_t)lock, type);
	if (node && lk_valid_note(LK_VIOL_BAD_UNLOCK, 0, node)) {
		lk_in_runtime = 1;
		lk_report_app_bad_unlock(lock, node, type, pc);
		lk_in_runtime = 0;
	}
	errno = saved;
	return false;
}

/* ---- condition waits ---- */

void lk_app_wait_begin(const void *mutex, enum lk_app_type type, uintptr_t pc,
		       struct lk_app_wait *w)
{
	struct lk_app_thread *t = lk_app_self();
	struct lk_held *h = t->n ? lk_app_held_find(t, mutex) : NULL;
	int saved = errno;

	*w = (struct lk_app_wait){ .held = false };
	if (!h)
		return;
	*w = (struct lk_app_wait){ .held = true, .flags = h->flags, .depth = h->depth,
				   .node = h->cls, .stack = h->stack, .site = h->site, .pc = h->pc };
	lk_app_remove(t, h);
	/* the relock inside the wait: checked now, before the thread sleeps */
	if (t->n)
		(void)lk_app_check(t, mutex, type, LK_APP_WAIT, pc);
	errno = saved;
}

void lk_app_wait_end(const void *mutex, const struct lk_app_wait *w)
{
	struct lk_app_thread *t = lk_app_self();
	struct lk_held h;

	if (!w->held)
		return;
	h = (struct lk_held){
		.lock = mutex, .pc = w->pc, .rank = LK_RANK_NONE, .cls = w->node,
		.flags = w->flags & (uint16_t)~LK_HELD_TRY, .depth = w->depth,
		.stack = w->stack, .site = w->site,
	};
	if (lk_config.lockstat && w->site) {
		int saved = errno;

		__atomic_fetch_add(&lk_app.rec[w->site].acq, 1, __ATOMIC_RELAXED);
		h.t_acq = lk_stat_now() | 1;
		errno = saved;
	}
	lk_app_push(t, &h);
}

/* ---- identity: retire ---- */

static void lk_app_retire_rec(uint32_t r)
{
	struct lk_app_rec *rec = &lk_app.rec[r];

	lk_raw_lock(&lk_app.lock);
	if (rec->node) {
		lk_graph_retire(rec->node);
		__atomic_store_n(&rec->node, 0, __ATOMIC_RELEASE);
		__atomic_fetch_add(&lk_app_epoch, 1, __ATOMIC_RELAXED);
	}
	rec->gen++;
	lk_raw_unlock(&lk_app.lock);
}

void lk_app_retire(const void *lock)
{
	uint32_t r = lk_app_find((uintptr_t)lock);

	if (r)
		lk_app_retire_rec(r);
}

void lk_app_forget_range(const void *p, size_t n)
{
	uintptr_t a = (uintptr_t)p, end = a + n;
	unsigned nrecs = __atomic_load_n(&lk_app.nrecs, __ATOMIC_ACQUIRE);
	bool any = false;

	if (!nrecs || n == 0 || end < a)
		return;
	/* cost: min(pages, records) bit tests, then min(n / 4, records) probes */
	if (n / 4096 + 1 > nrecs)
		any = true;
	for (uintptr_t pg = a & ~(uintptr_t)4095; pg < end && !any; pg += 4096)
		any = lk_app_page_has(pg);
	if (!any)
		return;
	if (n / 4 <= nrecs) {
		/* locks are at least 4-byte aligned */
		for (uintptr_t x = (a + 3) & ~(uintptr_t)3; x < end; x += 4) {
			uint32_t r = lk_app_find(x);

			if (r && __atomic_load_n(&lk_app.rec[r].node, __ATOMIC_RELAXED))
				lk_app_retire_rec(r);
		}
		return;
	}
	for (uint32_t r = 1; r <= nrecs; r++) {
		uintptr_t x = lk_app.rec[r].addr;

		if (x >= a && x < end && __atomic_load_n(&lk_app.rec[r].node, __ATOMIC_RELAXED))
			lk_app_retire_rec(r);
	}
}

/* ---- fork ---- */

void lk_app_fork_prepare(void)
{
	if (lk_app_on)
		lk_raw_lock(&lk_app.lock);
}

void lk_app_fork_parent(void)
{
	if (lk_app_on)
		lk_raw_unlock(&lk_app.lock);
}

/*
 * The child has one thread, the forking one, whose held list (thread-
 * local) carried over; the other threads' lists are in memory nobody
 * reads any more, so their locks are simply not held by anyone the child
 * checks.  The graph and tables are consistent: their lock was taken in
 * prepare.
 */
void lk_app_fork_child(void)
{
	if (!lk_app_on)
		return;
	lk_at.tid = 0;
	lk_raw_unlock(&lk_app.lock);
}

/* ---- for reports and lockstat ---- */

bool lk_app_is_node(uint32_t node)
{
	return node >= LK_NODE_APP_BASE;
}

const char *lk_app_type_name(enum lk_app_type type)
{
	static const char *const names[LK_APP_NTYPES] = {
		[LK_APP_MUTEX] = "mutex",
		[LK_APP_MUTEX_RECURSIVE] = "recursive mutex",
		[LK_APP_MUTEX_ERRORCHECK] = "errorcheck mutex",
		[LK_APP_RWLOCK] = "rwlock",
		[LK_APP_RWLOCK_WRITER] = "rwlock (writer-preferring)",
		[LK_APP_SPIN] = "spinlock",
	};
	return (unsigned)type < LK_APP_NTYPES ? names[type] : "lock";
}

/* Which record had this node (its lock may since be gone). */
static const struct lk_app_rec *lk_app_rec_by_node(uint32_t node)
{
	uint32_t r;

	if (node < LK_NODE_APP_BASE || node >= __atomic_load_n(&lk_app.next_node, __ATOMIC_ACQUIRE))
		return NULL;
	r = lk_app.node_rec[node - LK_NODE_APP_BASE];
	return r ? &lk_app.rec[r] : NULL;
}

uintptr_t lk_app_node_addr(uint32_t node)
{
	const struct lk_app_rec *rec = lk_app_rec_by_node(node);

	return rec ? rec->addr : 0;
}

unsigned lk_app_type_of_node(uint32_t node)
{
	const struct lk_app_rec *rec = lk_app_rec_by_node(node);

	return rec ? rec->type : LK_APP_MUTEX;
}

void lk_app_node_name(uint32_t node, char *buf, size_t cap)
{
	const struct lk_app_rec *rec = lk_app_rec_by_node(node);
	int n;

	uint32_t gen = node >= LK_NODE_APP_BASE && rec ? lk_app.node_gen[node - LK_NODE_APP_BASE] : 0;

	if (!rec) {
		n = snprintf(buf, cap, "lock #%u", node - LK_NODE_APP_BASE + 1);
	} else if (gen) {
		/* an address used by several locks in turn: say which one */
		n = snprintf(buf, cap, "%s 0x%lx (instance %u)", lk_app_type_name(rec->type),
			     (unsigned long)rec->addr, gen + 1);
	} else {
		n = snprintf(buf, cap, "%s 0x%lx", lk_app_type_name(rec->type),
			     (unsigned long)rec->addr);
	}
	(void)n;
}

unsigned lk_app_nrecs(void)
{
	return __atomic_load_n(&lk_app.nrecs, __ATOMIC_ACQUIRE);
}

bool lk_app_stat_get(uint32_t i, struct lk_app_stat *out)
{
	const struct lk_app_rec *rec;

	if (i == 0 || i > lk_app_nrecs())
		return false;
	rec = &lk_app.rec[i];
	*out = (struct lk_app_stat){
		.addr = rec->addr, .site = rec->site, .type = rec->type, .gens = rec->gen + 1,
		.acq = __atomic_load_n(&rec->acq, __ATOMIC_RELAXED),
		.cont = __atomic_load_n(&rec->cont, __ATOMIC_RELAXED),
		.changes = __atomic_load_n(&rec->changes, __ATOMIC_RELAXED),
		.wait_ns = __atomic_load_n(&rec->wait_ns, __ATOMIC_RELAXED),
		.wait_max = __atomic_load_n(&rec->wait_max, __ATOMIC_RELAXED),
		.hold_ns = __atomic_load_n(&rec->hold_ns, __ATOMIC_RELAXED),
		.hold_max = __atomic_load_n(&rec->hold_max, __ATOMIC_RELAXED),
	};
	return out->acq != 0;
}
