/*
 * lk: named locks (a futex word plus owner and depth for recursion), the
 * per-thread held-lock stack, the feed into the validator (lk_valid.c),
 * the reports, fork handling and the exit summary.
 *
 * Lock order inside the runtime:
 *     any shim lock (the caller's)
 *       -> lk_graph_lock (bare futex word, LK_RANK_INTERNAL)
 * lk_graph_lock is taken only around short updates of lk_rt.classes and
 * lk_rt.fork, never across a call out, and is itself not validated.
 *
 * Shared state:
 *  - lk_rt.classes[], lk_rt.nclasses, lk_rt.fork[], lk_rt.nfork: written
 *    under lk_graph_lock; class ids and nclasses are published with
 *    release stores, so readers (reports) need no lock;
 *  - lk_rt.fork_taken, lk_rt.fork_skip: written by the forking thread in
 *    lk_fork_prepare under lk_graph_lock, which it holds until
 *    parent/child read them;
 *  - the *_said flags and lk_rt.exited: atomic exchanges;
 *  - lk_config: written once at init, read-only after;
 *  - a lock's owner is atomic; word is changed by atomics only; depth is
 *    touched by the owner only;
 *  - lk_self: the thread's own held stack, thread-local, no lock.
 *
 * Nothing here allocates or uses stdio: lk_lock may be called from inside
 * the allocator's paths.  Reports symbolize through libdw, which does
 * allocate; they run only when a violation is first seen.
 */
#include "shim/lk.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim/lk_stack.h"
#include "shim/lk_valid.h"
#include "shim/log.h"

#if defined(__SANITIZE_THREAD__)
#define LK_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LK_TSAN 1
#endif
#endif

#ifdef LK_TSAN
#include <sanitizer/tsan_interface.h>
#endif

#define LK_FORK_MAX 64
#define LK_SPIN 100             /* tries before sleeping on the futex */
#define LK_RET_ADDR() ((uintptr_t)__builtin_return_address(0))

struct lk_config lk_config = {
	.lockdep = 1,
	.held_stacks = 1,
	.stack_depth = 16,
	.exitcode = 66,
	.halt_on_error = 0,
};

/* Per thread; its address is the owner id of the locks the thread holds. */
struct lk_thread {
	unsigned nheld;
	unsigned overflow;      /* acquisitions not recorded: held[] was full */
	int in_runtime;         /* capturing or reporting: nested locks unchecked */
	struct lk_held held[LK_MAX_HELD];
};

static __thread struct lk_thread lk_self __attribute__((tls_model("initial-exec")));

static struct {
	uint32_t graph_lock;                    /* lk_graph_lock: bare futex word */
	uint32_t nclasses;                      /* ids 1..nclasses are in use */
	struct lk_class *classes[LK_MAX_CLASSES];
	unsigned nfork;
	struct lk_lock *fork[LK_FORK_MAX];
	unsigned fork_taken;                    /* prepare went through fork[0..fork_taken) */
	uint64_t fork_skip;                     /* bit i: fork[i] not taken by prepare */
	int classes_full_said, fork_full_said, overflow_said, exited;
} lk_rt;

/* ---- the futex word ---- */

static void lk_futex(uint32_t *w, int op, uint32_t val, bool pshared)
{
	syscall(SYS_futex, w, pshared ? op : op | FUTEX_PRIVATE_FLAG, val, NULL, NULL, 0);
}

static inline bool lk_word_trylock(uint32_t *w)
{
	uint32_t c = 0;

	return __atomic_compare_exchange_n(w, &c, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static inline void lk_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Drepper's mutex ("Futexes are tricky", mutex 3): 2 = maybe waiters. */
static void lk_word_lock_slow(uint32_t *w, bool pshared)
{
	int saved = errno;
	uint32_t c;

	for (int i = 0; i < LK_SPIN; i++) {
		if (__atomic_load_n(w, __ATOMIC_RELAXED) == 0 && lk_word_trylock(w))
			return;
		lk_cpu_relax();
	}
	while ((c = __atomic_exchange_n(w, 2, __ATOMIC_ACQUIRE)) != 0)
		lk_futex(w, FUTEX_WAIT, 2, pshared);
	errno = saved;
}

static inline void lk_word_lock(uint32_t *w, bool pshared)
{
	if (!lk_word_trylock(w))
		lk_word_lock_slow(w, pshared);
}

static inline void lk_word_unlock(uint32_t *w, bool pshared)
{
	if (__atomic_exchange_n(w, 0, __ATOMIC_RELEASE) == 2) {
		int saved = errno;

		lk_futex(w, FUTEX_WAKE, 1, pshared);
		errno = saved;
	}
}

/* ---- ThreadSanitizer: the futex lock is a mutex ---- */

#ifdef LK_TSAN
static unsigned lk_tsan_kind(const struct lk_lock *l)
{
	return l->cls->recursive ? __tsan_mutex_write_reentrant : 0;
}
#define lk_tsan_create(l) __tsan_mutex_create((l), lk_tsan_kind(l))
#define lk_tsan_pre_lock(l, f) __tsan_mutex_pre_lock((l), lk_tsan_kind(l) | (f))
#define lk_tsan_post_lock(l, f) __tsan_mutex_post_lock((l), lk_tsan_kind(l) | (f), 0)
#define lk_tsan_pre_unlock(l) __tsan_mutex_pre_unlock((l), 0)
#define lk_tsan_post_unlock(l) __tsan_mutex_post_unlock((l), 0)
#define LK_TSAN_TRY __tsan_mutex_try_lock
#define LK_TSAN_TRY_FAILED (__tsan_mutex_try_lock | __tsan_mutex_try_lock_failed)
#else
#define LK_TSAN_TRY 0
#define LK_TSAN_TRY_FAILED 0
#define lk_tsan_create(l) ((void)(l))
#define lk_tsan_pre_lock(l, f) ((void)(l))
#define lk_tsan_post_lock(l, f) ((void)(l))
#define lk_tsan_pre_unlock(l) ((void)(l))
#define lk_tsan_post_unlock(l) ((void)(l))
#endif

/* ---- classes ---- */

static struct lk_class *lk_class_of(uint16_t id)
{
	return id ? lk_rt.classes[id] : NULL;
}

static uint16_t lk_class_register(struct lk_class *c)
{
	uint16_t id;

	lk_word_lock(&lk_rt.graph_lock, false);
	id = __atomic_load_n(&c->id, __ATOMIC_RELAXED);
	if (!id && lk_rt.nclasses + 1 < LK_MAX_CLASSES) {
		id = (uint16_t)(lk_rt.nclasses + 1);
		lk_rt.classes[id] = c;
		__atomic_store_n(&lk_rt.nclasses, id, __ATOMIC_RELEASE);
		__atomic_store_n(&c->id, id, __ATOMIC_RELEASE);
	}
	lk_word_unlock(&lk_rt.graph_lock, false);
	if (!id && !__atomic_exchange_n(&lk_rt.classes_full_said, 1, __ATOMIC_RELAXED))
		shim_log("==vadshim== more than %d lock classes: class \"%s\" and later ones are not checked\n",
			 LK_MAX_CLASSES - 1, c->name);
	return id;
}

static inline uint16_t lk_class_id(struct lk_class *c)
{
	uint16_t id = __atomic_load_n(&c->id, __ATOMIC_ACQUIRE);

	return id ? id : lk_class_register(c);
}

/* ---- the held-lock stack ---- */

static inline void *lk_owner(const struct lk_lock *l)
{
	return atomic_load_explicit(&l->owner, memory_order_relaxed);
}

static void lk_push(struct lk_thread *t, struct lk_lock *l, uintptr_t pc,
		    uint32_t stack, uint16_t flags)
{
	uint16_t id = lk_class_id(l->cls);

	if (t->nheld == LK_MAX_HELD) {
		if (!t->overflow++ && !__atomic_exchange_n(&lk_rt.overflow_said, 1, __ATOMIC_RELAXED))
			shim_log("==vadshim== thread %d holds more than %d locks: further ones are not checked\n",
				 (int)syscall(SYS_gettid), LK_MAX_HELD);
		return;
	}
	t->held[t->nheld] = (struct lk_held){
		.lock = l, .pc = pc, .stack = stack, .cls = id, .flags = flags,
		.rank = id ? l->cls->rank : LK_RANK_NONE,
	};
	atomic_signal_fence(memory_order_seq_cst);     /* entry before count */
	t->nheld++;
}

/* Remove l's entry wherever it is: release need not be LIFO. */
static void lk_pop(struct lk_thread *t, const struct lk_lock *l)
{
	for (unsigned i = t->nheld; i-- > 0;) {
		if (t->held[i].lock != l)
			continue;
		memmove(&t->held[i], &t->held[i + 1], (t->nheld - i - 1) * sizeof(t->held[0]));
		t->nheld--;
		return;
	}
	if (t->overflow)
		t->overflow--;
}

static const struct lk_held *lk_find_held(const struct lk_thread *t, const struct lk_lock *l)
{
	for (unsigned i = t->nheld; i-- > 0;)
		if (t->held[i].lock == l)
			return &t->held[i];
	return NULL;
}

/* ---- reports ---- */

static int lk_tid(void)
{
	return (int)syscall(SYS_gettid);
}

static const char *lk_name(const struct lk_lock *l)
{
	return l->name ? l->name : l->cls->name;
}

static void lk_put_lock(struct shim_logbuf *b, const char *what, const struct lk_lock *l,
			const char *tail)
{
	if (l->cls->rank == LK_RANK_NONE)
		shim_logbuf_printf(b, "  %s\"%s\" (class %s, unranked)%s\n", what, lk_name(l),
				   l->cls->name, tail);
	else
		shim_logbuf_printf(b, "  %s\"%s\" (class %s, rank %d)%s\n", what, lk_name(l),
				   l->cls->name, l->cls->rank, tail);
}

/* The frames of stack, or pc alone when no stack was captured. */
static void lk_put_stack(struct shim_logbuf *b, struct lk_sym *sym, uint32_t stack,
			 uintptr_t pc)
{
	const uintptr_t *pcs;
	unsigned n = lk_stack_get(stack, &pcs);
	char line[512];

	if (n == 0) {
		pcs = &pc;
		n = 1;
	}
	for (unsigned i = 0; i < n; i++) {
		lk_sym_format(sym, pcs[i], line, sizeof(line));
		shim_logbuf_printf(b, "    #%u 0x%012lx %s\n", i, (unsigned long)pcs[i], line);
	}
	if (stack == 0)
		shim_logbuf_printf(b, "    (caller only: no stack was captured, see held_stacks)\n");
}

static void lk_put_held_entry(struct shim_logbuf *b, struct lk_sym *sym,
			      const struct lk_held *h, const char *what)
{
	lk_put_lock(b, what, h->lock,
		    h->flags & LK_HELD_TRY ? ", taken by trylock at:" : ", taken at:");
	lk_put_stack(b, sym, h->stack, h->pc);
}

static void lk_put_held_list(struct shim_logbuf *b, const struct lk_thread *t)
{
	shim_logbuf_printf(b, "  locks held by this thread (%u):", t->nheld + t->overflow);
	for (unsigned i = 0; i < t->nheld; i++)
		shim_logbuf_printf(b, "%s %s", i ? "," : "", lk_name(t->held[i].lock));
	if (t->overflow)
		shim_logbuf_printf(b, ", and %u not recorded", t->overflow);
	shim_logbuf_printf(b, "\n");
}

/* The known ranked classes from rank lo to rank hi, in order. */
static void lk_put_hierarchy(struct shim_logbuf *b, int lo, int hi)
{
	unsigned n = __atomic_load_n(&lk_rt.nclasses, __ATOMIC_ACQUIRE), k = 0;
	struct lk_class *c[LK_MAX_CLASSES];

	for (unsigned id = 1; id <= n; id++) {
		struct lk_class *x = lk_rt.classes[id];
		unsigned j;

		if (x->rank == LK_RANK_NONE || x->rank < lo || x->rank > hi)
			continue;
		for (j = k++; j > 0 && c[j - 1]->rank > x->rank; j--)
			c[j] = c[j - 1];
		c[j] = x;
	}
	shim_logbuf_printf(b, "  hierarchy:");
	for (unsigned i = 0; i < k; i++)
		shim_logbuf_printf(b, "%s %s", i ? " ->" : "", c[i]->name);
	shim_logbuf_printf(b, " (a lock may only be taken below the locks held)\n");
}

static void lk_halt_if_asked(void)
{
	if (lk_config.halt_on_error) {
		lk_atexit();
		_exit(lk_config.exitcode);
	}
}

static void lk_report_end(struct shim_logbuf *b, struct lk_sym *sym)
{
	shim_logbuf_printf(b, "==vadshim== end of report\n");
	shim_logbuf_flush(b);
	lk_sym_close(sym);
	lk_halt_if_asked();
}

static void lk_report_order(const struct lk_thread *t, const struct lk_lock *l,
			    uint32_t stack, uintptr_t pc, const struct lk_verdict *v)
{
	struct shim_logbuf b = { .len = 0 };
	struct lk_sym sym;
	int hi = l->cls->rank;

	lk_sym_open(&sym);
	shim_logbuf_printf(&b, "==vadshim== WARNING: lock-order violation (rank) in thread %d\n",
			   lk_tid());
	lk_put_lock(&b, "acquiring ", l, " at:");
	lk_put_stack(&b, &sym, stack, pc);
	for (unsigned i = 0; i < v->nnew; i++) {
		const struct lk_held *h = &t->held[v->c[i].held];

		lk_put_held_entry(&b, &sym, h, "while holding ");
		if (h->rank > hi)
			hi = h->rank;
	}
	lk_put_held_list(&b, t);
	lk_put_hierarchy(&b, l->cls->rank, hi);
	lk_report_end(&b, &sym);
}

static void lk_report_recursive(const struct lk_thread *t, const struct lk_lock *l,
				uint32_t stack, uintptr_t pc)
{
	struct shim_logbuf b = { .len = 0 };
	const struct lk_held *h = lk_find_held(t, l);
	struct lk_sym sym;

	lk_sym_open(&sym);
	shim_logbuf_printf(&b, "==vadshim== WARNING: recursive locking (self-deadlock) in thread %d\n",
			   lk_tid());
	lk_put_lock(&b, "acquiring ", l, " at:");
	lk_put_stack(&b, &sym, stack, pc);
	if (h)
		lk_put_held_entry(&b, &sym, h, "which this thread already holds: ");
	else
		lk_put_lock(&b, "which this thread already holds: ", l, " (not recorded)");
	shim_logbuf_printf(&b, "  class %s is not recursive: this thread will wait for itself\n",
			   l->cls->name);
	lk_put_held_list(&b, t);
	lk_report_end(&b, &sym);
}

static void lk_report_bad_unlock(const struct lk_lock *l, uintptr_t pc)
{
	struct shim_logbuf b = { .len = 0 };
	struct lk_sym sym;
	char where[512];

	lk_sym_open(&sym);
	lk_sym_format(&sym, pc, where, sizeof(where));
	shim_logbuf_printf(&b, "==vadshim== WARNING: unlock of \"%s\" (class %s) not held by thread %d (%s) at 0x%lx %s\n",
			   lk_name(l), l->cls->name, lk_tid(),
			   lk_owner(l) ? "another thread holds it" : "it is not locked",
			   (unsigned long)pc, where);
	shim_logbuf_flush(&b);
	lk_sym_close(&sym);
	lk_halt_if_asked();
}

/* ---- validation feed ---- */

static uint32_t lk_capture(uintptr_t pc)
{
	int saved = errno;
	uint32_t stack = lk_stack_capture(pc, lk_config.stack_depth);

	errno = saved;
	return stack;
}

/* Before a blocking acquisition of l (not held by t): returns the stack id to record. */
static uint32_t lk_check(struct lk_thread *t, struct lk_lock *l, uintptr_t pc)
{
	uint16_t id = lk_class_id(l->cls);
	uint32_t stack = 0;
	struct lk_verdict v;

	if (!id)
		return 0;
	t->in_runtime = 1;
	if (lk_config.held_stacks)
		stack = lk_capture(pc);
	if (lk_valid_before_acquire(t->held, t->nheld, id, l->cls->rank, stack, &v)) {
		int saved = errno;

		if (!stack)
			stack = lk_capture(pc);
		lk_report_order(t, l, stack, pc, &v);
		errno = saved;
	}
	t->in_runtime = 0;
	return stack;
}

/* l is held by t and its class is not recursive: t is about to wait for itself. */
static void lk_check_self(struct lk_thread *t, struct lk_lock *l, uintptr_t pc)
{
	uint16_t id = lk_class_id(l->cls);
	int saved = errno;

	if (!id || t->in_runtime || !lk_valid_note(LK_VIOL_RECURSIVE, id, id))
		return;
	t->in_runtime = 1;
	lk_report_recursive(t, l, lk_capture(pc), pc);
	t->in_runtime = 0;
	errno = saved;
}

static void lk_check_unlock(struct lk_thread *t, struct lk_lock *l, uintptr_t pc)
{
	uint16_t id = lk_class_id(l->cls);
	int saved = errno;

	if (!id || t->in_runtime || !lk_valid_note(LK_VIOL_BAD_UNLOCK, 0, id))
		return;
	t->in_runtime = 1;
	lk_report_bad_unlock(l, pc);
	t->in_runtime = 0;
	errno = saved;
}

/* ---- the lock ---- */

void lk_init(struct lk_lock *l, struct lk_class *cls, const char *name)
{
	*l = (struct lk_lock)LK_LOCK_INIT(cls, name);
	lk_tsan_create(l);
}

static inline void lk_take(struct lk_thread *t, struct lk_lock *l)
{
	lk_tsan_pre_lock(l, 0);
	lk_word_lock(&l->word, l->cls->pshared);
	atomic_store_explicit(&l->owner, t, memory_order_relaxed);
	l->depth = 1;
	lk_tsan_post_lock(l, 0);
}

static inline void lk_reenter(struct lk_lock *l, unsigned tsan_flags)
{
	(void)tsan_flags;
	lk_tsan_pre_lock(l, tsan_flags);
	l->depth++;
	lk_tsan_post_lock(l, tsan_flags);
}

void lk_lock(struct lk_lock *l)
{
	struct lk_thread *t = &lk_self;
	uintptr_t pc = LK_RET_ADDR();
	uint32_t stack = 0;

	if (lk_owner(l) == t) {
		if (l->cls->recursive) {
			lk_reenter(l, 0);
			return;
		}
		if (lk_config.lockdep)
			lk_check_self(t, l, pc);
	} else if (lk_config.lockdep && !t->in_runtime) {
		stack = lk_check(t, l, pc);
	}
	lk_take(t, l);
	lk_push(t, l, pc, stack, 0);
}

bool lk_trylock(struct lk_lock *l)
{
	struct lk_thread *t = &lk_self;
	uintptr_t pc = LK_RET_ADDR();
	uint32_t stack = 0;

	if (lk_owner(l) == t) {
		if (!l->cls->recursive)
			return false;
		lk_reenter(l, LK_TSAN_TRY);
		return true;
	}
	lk_tsan_pre_lock(l, LK_TSAN_TRY);
	if (!lk_word_trylock(&l->word)) {
		lk_tsan_post_lock(l, LK_TSAN_TRY_FAILED);
		return false;
	}
	atomic_store_explicit(&l->owner, t, memory_order_relaxed);
	l->depth = 1;
	lk_tsan_post_lock(l, LK_TSAN_TRY);
	if (lk_config.lockdep && lk_config.held_stacks && !t->in_runtime) {
		t->in_runtime = 1;
		stack = lk_capture(pc);
		t->in_runtime = 0;
	}
	lk_push(t, l, pc, stack, LK_HELD_TRY);
	return true;
}

void lk_unlock(struct lk_lock *l)
{
	struct lk_thread *t = &lk_self;

	if (lk_owner(l) != t) {
		if (lk_config.lockdep)
			lk_check_unlock(t, l, LK_RET_ADDR());
		return;
	}
	lk_tsan_pre_unlock(l);
	if (--l->depth == 0) {
		lk_pop(t, l);
		atomic_store_explicit(&l->owner, NULL, memory_order_relaxed);
		lk_word_unlock(&l->word, l->cls->pshared);
	}
	lk_tsan_post_unlock(l);
}

bool lk_held(const struct lk_lock *l)
{
	return lk_owner(l) == &lk_self;
}

unsigned lk_held_count(void)
{
	return lk_self.nheld + lk_self.overflow;
}

/* ---- fork ---- */

void lk_fork_register(struct lk_lock *l)
{
	bool full = false;

	lk_word_lock(&lk_rt.graph_lock, false);
	for (unsigned i = 0; i < lk_rt.nfork; i++)
		if (lk_rt.fork[i] == l)
			goto out;
	if (lk_rt.nfork < LK_FORK_MAX)
		lk_rt.fork[lk_rt.nfork++] = l;
	else
		full = true;
out:
	lk_word_unlock(&lk_rt.graph_lock, false);
	if (full && !__atomic_exchange_n(&lk_rt.fork_full_said, 1, __ATOMIC_RELAXED))
		shim_log("==vadshim== more than %d locks registered for fork: \"%s\" is not taken across fork\n",
			 LK_FORK_MAX, lk_name(l));
}

/*
 * Wait until no thread is inside the unwinder (lk_stack_fork_prepare:
 * first, while we hold no lock a capturing thread could wait for), then
 * take every registered lock in registration (hierarchy) order, then
 * lk_graph_lock, so that nothing is mid-update in the child.  A
 * non-recursive lock the forking thread already holds is skipped (taking
 * it again would wait for ourselves) and stays held on both sides.
 * Locks taken from here to the release record no stack.
 */
void lk_fork_prepare(void)
{
	unsigned n;
	uint64_t skip = 0;

	lk_stack_fork_prepare();
	lk_word_lock(&lk_rt.graph_lock, false);
	n = lk_rt.nfork;
	lk_word_unlock(&lk_rt.graph_lock, false);
	for (unsigned i = 0; i < n; i++) {
		struct lk_lock *l = lk_rt.fork[i];

		if (lk_held(l) && !l->cls->recursive)
			skip |= 1ull << i;
		else
			lk_lock(l);
	}
	lk_word_lock(&lk_rt.graph_lock, false);
	lk_rt.fork_taken = n;
	lk_rt.fork_skip = skip;
}

/* Release in reverse; owner ids are TLS addresses, the same in the child. */
static void lk_fork_release(void)
{
	uint64_t skip = lk_rt.fork_skip;
	unsigned n = lk_rt.fork_taken;

	lk_word_unlock(&lk_rt.graph_lock, false);
	for (unsigned i = n; i-- > 0;)
		if (!(skip & (1ull << i)))
			lk_unlock(lk_rt.fork[i]);
	lk_stack_fork_release();
}

void lk_fork_parent(void)
{
	lk_fork_release();
}

/*
 * The child has only the forking thread, whose thread-local held stack
 * and owner id carried over; releasing what prepare took leaves it as it
 * was before fork.  Locks that other threads held and that are not
 * registered stay locked in the child, as with any mutex.
 */
void lk_fork_child(void)
{
	lk_fork_release();
}

/* ---- exit ---- */

unsigned lk_violation_count(void)
{
	return lk_valid_distinct();
}

struct lk_summary {
	struct shim_logbuf *b;      /* NULL: count occurrences only */
	unsigned occurrences, listed;
};

/* "rank mman -> fdtable x6", "recursive locking of m x1" */
static void lk_summary_visit(enum lk_viol_kind kind, uint16_t held_cls, uint16_t cls,
			     unsigned occurrences, void *arg)
{
	struct lk_summary *s = arg;
	const struct lk_class *h = lk_class_of(held_cls), *c = lk_class_of(cls);
	const char *sep = s->listed++ ? "," : "";

	if (!s->b)
		s->occurrences += occurrences;
	else if (kind == LK_VIOL_RANK && h && c)
		shim_logbuf_printf(s->b, "%s %s %s -> %s x%u", sep, lk_valid_kind_name(kind),
				   h->name, c->name, occurrences);
	else
		shim_logbuf_printf(s->b, "%s %s of %s x%u", sep, lk_valid_kind_name(kind),
				   c ? c->name : "?", occurrences);
}

static void lk_print_summary(unsigned distinct)
{
	struct shim_logbuf b = { .len = 0 };
	struct lk_summary s = { .b = NULL };

	lk_valid_foreach(lk_summary_visit, &s);
	shim_logbuf_printf(&b, "==vadshim== SUMMARY: %u distinct lock violation%s (%u occurrences):",
			   distinct, distinct == 1 ? "" : "s", s.occurrences);
	s.b = &b;
	s.listed = 0;
	lk_valid_foreach(lk_summary_visit, &s);
	if (lk_valid_lost())
		shim_logbuf_printf(&b, "; %u more not recorded (table full)", lk_valid_lost());
	shim_logbuf_printf(&b, "\n");
	shim_logbuf_flush(&b);
}

void lk_atexit(void)
{
	unsigned distinct = lk_valid_distinct();

	if (__atomic_exchange_n(&lk_rt.exited, 1, __ATOMIC_RELAXED))
		return;
	if (!distinct && !lk_valid_lost())
		return;
	lk_print_summary(distinct);
	if (lk_config.exitcode)
		_exit(lk_config.exitcode);
}
