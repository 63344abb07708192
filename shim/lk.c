/*
 * lk: named locks (a futex word plus owner and depth for recursion), the
 * per-thread held-lock stack, the feed into the validator (lk_valid.c)
 * and into lockstat (lk_stat.c), fork handling and the exit hook.  The
 * reports themselves are in lk_report.c.
 *
 * Lock order inside the runtime:
 *     any shim lock (the caller's)
 *       -> lk_graph_lock (bare futex word, LK_RANK_INTERNAL)
 * lk_graph_lock is taken only around short updates of lk_rt.classes,
 * lk_rt.fork and inserts into the order graph (lk_valid_add_edges), never
 * across a call out, and is itself not validated.
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
 *  - lk_self, lk_entry_pc: the thread's own, thread-local, no lock.
 *
 * The fast path of an acquisition whose order is already known: the
 * owner check, the rank rule over the held list, one lock-free edge-hash
 * probe per held lock, the futex compare-and-swap, and a push of {lock,
 * caller PC, entry PC} on the held list.  A stack is unwound only for a
 * new edge, a report, or with held_stacks=1.
 *
 * Nothing here allocates or uses stdio: lk_lock may be called from inside
 * the allocator's paths.  Reports symbolize through libdw, which does
 * allocate; they run only when a violation is first seen.
 */
#include "shim/lk.h"

#include <errno.h>
#include <link.h>
#include <stdio.h>              /* fflush at exit only */
#include <linux/futex.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim/lk_app.h"
#include "shim/lk_report.h"
#include "shim/lk_stack.h"
#include "shim/lk_stat.h"
#include "shim/lk_valid.h"
#include "shim/log.h"

#if defined(__SANITIZE_THREAD__)
#define LK_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LK_TSAN 1
#endif
#endif

#include <sanitizer/tsan_interface.h>

#ifdef LK_TSAN
#define LK_TSAN_ON 1
#else
/*
 * A program built with -fsanitize=thread may run with this (uninstrumented)
 * shim preloaded.  Its TSan runtime then defines these entry points, and
 * the shim's locks must be mutexes to it as well: otherwise the shim's
 * memset/memcpy of its own tables (which TSan intercepts) look like races
 * between the threads the locks serialize.  Weak, so null without TSan.
 */
#pragma weak __tsan_mutex_create
#pragma weak __tsan_mutex_pre_lock
#pragma weak __tsan_mutex_post_lock
#pragma weak __tsan_mutex_pre_unlock
#pragma weak __tsan_mutex_post_unlock
#define LK_TSAN_ON (__tsan_mutex_pre_lock != NULL)
#endif

#define LK_FORK_MAX 64
#define LK_SPIN 100             /* tries before sleeping on the futex */
#define LK_RET_ADDR() ((uintptr_t)__builtin_return_address(0))

struct lk_config lk_config = {
	.lockdep = 1,
	.held_stacks = 0,
	.stack_depth = 16,
	.exitcode = 66,
	.halt_on_error = 0,
	.json = 0,
	.lockstat = 0,
	.lockstat_sort = 0,
	.lockstat_max = 20,
};

const char *const lk_sort_keys[] = {
	"contentions", "acquisitions", "changes", "wait", "wait_max", "wait_avg",
	"hold", "hold_max", "hold_avg", NULL,
};

__thread uintptr_t lk_entry_pc __attribute__((tls_model("initial-exec")));
/* Capturing or reporting (shim and program locks): nested locks unchecked,
   the program's locks pass straight to the real functions. */
__thread int lk_in_runtime __attribute__((tls_model("initial-exec")));

/*
 * The shim's own code, for finding the program's call into the shim when
 * no wrapper set lk_entry_pc: lo..hi covers the executable segments of
 * the shared object that contains this file (set by a constructor below,
 * or by tests).  0..0 (a program that links the core itself) disables
 * the walk.  Written once before threads use it; read with relaxed
 * atomics.
 */
static struct {
	uintptr_t lo, hi;
} lk_text;

#define LK_ENTRY_WALK_MAX 24    /* shim frames between a wrapper and lk_lock, at most */

/* Per thread; its address is the owner id of the locks the thread holds. */
struct lk_thread {
	unsigned nheld;
	unsigned overflow;      /* acquisitions not recorded: held[] was full */
	/* The last order checked clean with one lock held (held class ->
	 * acquired class): the rank pair is fine, the edge is in the graph
	 * and not on a cycle.  An edge's flags are set once, when it is
	 * inserted, so such an order stays clean and needs no second check
	 * (the common case: lockfs -> ramfs_seg on every file call). */
	uint16_t clean_from, clean_to;
	struct lk_held held[LK_MAX_HELD];
};

static __thread struct lk_thread lk_self __attribute__((tls_model("initial-exec")));

static struct {
	uint32_t graph_lock;                    /* lk_graph_lock: bare futex word */
	uint32_t nclasses;                      /* ids 1..nclasses are in use */
	struct lk_class *classes[LK_CLASSES_HARD + 1];
	unsigned nfork;
	struct lk_lock *fork[LK_FORK_MAX];
	unsigned fork_taken;                    /* prepare went through fork[0..fork_taken) */
	uint64_t fork_skip;                     /* bit i: fork[i] not taken by prepare */
	int classes_full_said, fork_full_said, overflow_said, graph_full_said;
	int viol_full_said, exited;
	int halting;                            /* halt_on_error: exiting from a report */
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

void lk_raw_lock(uint32_t *w)
{
	lk_word_lock(w, false);
}

void lk_raw_unlock(uint32_t *w)
{
	lk_word_unlock(w, false);
}

/* ---- ThreadSanitizer: the futex lock is a mutex ---- */

static unsigned lk_tsan_kind(const struct lk_lock *l)
{
	return l->cls->recursive ? __tsan_mutex_write_reentrant : 0;
}
#define LK_TSAN_DO(x) do { if (LK_TSAN_ON) { x; } } while (0)
#define lk_tsan_create(l) LK_TSAN_DO(__tsan_mutex_create((l), lk_tsan_kind(l)))
#define lk_tsan_pre_lock(l, f) LK_TSAN_DO(__tsan_mutex_pre_lock((l), lk_tsan_kind(l) | (f)))
#define lk_tsan_post_lock(l, f) LK_TSAN_DO(__tsan_mutex_post_lock((l), lk_tsan_kind(l) | (f), 0))
#define lk_tsan_pre_unlock(l) LK_TSAN_DO(__tsan_mutex_pre_unlock((l), 0))
#define lk_tsan_post_unlock(l) LK_TSAN_DO(__tsan_mutex_post_unlock((l), 0))
#define LK_TSAN_TRY __tsan_mutex_try_lock
#define LK_TSAN_TRY_FAILED (__tsan_mutex_try_lock | __tsan_mutex_try_lock_failed)

/* ---- classes ---- */

static struct lk_class *lk_class_of(uint16_t id)
{
	return id && id <= lk_nclasses() ? lk_rt.classes[id] : NULL;
}

struct lk_class *lk_class_by_id(uint16_t id)
{
	return lk_class_of(id);
}

unsigned lk_nclasses(void)
{
	return __atomic_load_n(&lk_rt.nclasses, __ATOMIC_ACQUIRE);
}

void lk_set_limits(unsigned max_classes, unsigned max_edges, unsigned max_violations,
		   unsigned lockstat_sites)
{
	lk_valid_set_limits(max_classes, max_edges, max_violations);
	if (lockstat_sites)
		lk_stat_set_limit(lockstat_sites);
}

static uint16_t lk_class_register(struct lk_class *c)
{
	uint16_t id;

	lk_word_lock(&lk_rt.graph_lock, false);
	id = __atomic_load_n(&c->id, __ATOMIC_RELAXED);
	if (!id && lk_rt.nclasses < lk_valid_max_classes()) {
		id = (uint16_t)(lk_rt.nclasses + 1);
		lk_rt.classes[id] = c;
		__atomic_store_n(&lk_rt.nclasses, id, __ATOMIC_RELEASE);
		__atomic_store_n(&c->id, id, __ATOMIC_RELEASE);
	}
	lk_word_unlock(&lk_rt.graph_lock, false);
	if (!id && !__atomic_exchange_n(&lk_rt.classes_full_said, 1, __ATOMIC_RELAXED))
		shim_log("==vadshim== more than %u lock classes: class \"%s\" and later ones are not checked; raise max_classes=\n",
			 lk_valid_max_classes(), c->name);
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

static void lk_push(struct lk_thread *t, struct lk_lock *l, uint16_t id, uintptr_t pc,
		    uintptr_t entry, uint32_t stack, uint16_t flags, uint64_t t_acq, uint32_t site)
{
	if (t->nheld == LK_MAX_HELD) {
		if (!t->overflow++ && !__atomic_exchange_n(&lk_rt.overflow_said, 1, __ATOMIC_RELAXED))
			shim_log("==vadshim== thread %d holds more than %d locks: further ones are not checked\n",
				 (int)syscall(SYS_gettid), LK_MAX_HELD);
		return;
	}
	t->held[t->nheld] = (struct lk_held){
		.lock = l, .pc = pc, .entry_pc = entry, .t_acq = t_acq,
		.stack = stack, .site = site, .cls = id, .flags = flags,
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
		if (t->held[i].t_acq)
			lk_stat_released(t->held[i].site, t->held[i].cls,
					 lk_stat_now() - t->held[i].t_acq);
		memmove(&t->held[i], &t->held[i + 1], (t->nheld - i - 1) * sizeof(t->held[0]));
		t->nheld--;
		return;
	}
	if (t->overflow)
		t->overflow--;
}

static int lk_tid(void)
{
	return (int)syscall(SYS_gettid);
}

static struct lk_held_view lk_view(const struct lk_thread *t)
{
	return (struct lk_held_view){ .held = t->held, .nheld = t->nheld,
				      .overflow = t->overflow };
}

void lk_halt_if_asked(void)
{
	if (lk_config.halt_on_error) {
		__atomic_store_n(&lk_rt.halting, 1, __ATOMIC_RELAXED);
		lk_atexit();
		_exit(lk_config.exitcode);
	}
}

/* ---- validation feed ---- */

static uint32_t lk_capture(uintptr_t pc)
{
	int saved = errno;
	uint32_t stack = lk_stack_capture(pc, lk_config.stack_depth);

	errno = saved;
	return stack;
}

void lk_report_violations_full(void)
{
	if (!__atomic_exchange_n(&lk_rt.viol_full_said, 1, __ATOMIC_RELAXED))
		shim_log("==vadshim== more than %u distinct lock violations: new ones are counted in the summary, not reported; raise max_violations=\n",
			 lk_valid_max_violations());
}

/* A violation the runtime found itself: true to report it (first sight). */
static bool lk_note(enum lk_viol_kind kind, uint16_t held_cls, uint16_t cls)
{
	if (lk_valid_note(kind, held_cls, cls))
		return true;
	if (!lk_valid_occurrences(kind, held_cls, cls))
		lk_report_violations_full();
	return false;
}

void lk_report_graph_full(void)
{
	if (!__atomic_exchange_n(&lk_rt.graph_full_said, 1, __ATOMIC_RELAXED))
		shim_log("==vadshim== lock order graph full (%u edges): new orders are not checked; raise max_edges=\n",
			 lk_valid_max_edges());
}

void lk_graph_add_edges(const struct lk_held *held, unsigned nheld, uint32_t node, bool shared,
			const struct lk_edge_src *src, struct lk_verdict *v)
{
	lk_word_lock(&lk_rt.graph_lock, false);
	lk_valid_add_edges_mode(held, nheld, node, LK_RANK_NONE, shared, src, v);
	lk_word_unlock(&lk_rt.graph_lock, false);
}

void lk_graph_retire(uint32_t node)
{
	lk_word_lock(&lk_rt.graph_lock, false);
	lk_valid_retire(node);
	lk_word_unlock(&lk_rt.graph_lock, false);
}

/*
 * The slow path of a check: a new order or a new violation.  Captures
 * the acquisition stack (once), inserts the new edges under
 * lk_graph_lock, and reports.  Returns the stack id.
 */
static __attribute__((noinline)) uint32_t lk_check_slow(struct lk_thread *t, struct lk_lock *l,
							uint16_t id, uintptr_t pc, uintptr_t entry,
							struct lk_verdict *v)
{
	int saved = errno;
	uint32_t stack;

	lk_in_runtime = 1;
	stack = lk_capture(pc);
	if (v->missing) {
		struct lk_edge_src src = { .stack = stack, .pc = pc, .tid = lk_tid() };

		lk_word_lock(&lk_rt.graph_lock, false);
		lk_valid_add_edges(t->held, t->nheld, id, l->cls->rank, &src, v);
		lk_word_unlock(&lk_rt.graph_lock, false);
	}
	if (v->full)
		lk_report_graph_full();
	if (v->lost)
		lk_report_violations_full();
	if (v->nnew) {
		struct lk_held_view hv = lk_view(t);

		lk_report_order(&hv, l, stack, pc, entry, v);
	}
	lk_in_runtime = 0;
	errno = saved;
	return stack;
}

/* Before a blocking acquisition of l (not held by t): returns the stack id to record. */
static inline uint32_t lk_check(struct lk_thread *t, struct lk_lock *l, uint16_t id,
				uintptr_t pc, uintptr_t entry)
{
	struct lk_verdict v;

	if (!id)
		return 0;
	if (t->nheld == 0 && !lk_config.held_stacks)
		return 0;       /* nothing held: no order, no rank to check */
	if (t->nheld == 1 && !lk_config.held_stacks && t->held[0].cls == t->clean_from &&
	    id == t->clean_to)
		return 0;
	lk_valid_before_acquire(t->held, t->nheld, id, l->cls->rank, &v);
	if (t->nheld == 1 && t->held[0].cls && !v.missing && !v.nnew && !v.nrepeat &&
	    !v.full && !v.lost) {
		t->clean_from = t->held[0].cls;
		t->clean_to = id;
	}
	if (v.missing || v.nnew)
		return lk_check_slow(t, l, id, pc, entry, &v);
	if (v.full)
		lk_report_graph_full();
	if (v.lost)
		lk_report_violations_full();
	if (!lk_config.held_stacks)
		return 0;
	lk_in_runtime = 1;
	uint32_t stack = lk_capture(pc);
	lk_in_runtime = 0;
	return stack;
}

/* l is held by t and its class is not recursive: t is about to wait for itself. */
static void lk_check_self(struct lk_thread *t, struct lk_lock *l, uintptr_t pc, uintptr_t entry)
{
	uint16_t id = lk_class_id(l->cls);
	int saved = errno;

	if (!id || lk_in_runtime || !lk_note(LK_VIOL_RECURSIVE, id, id))
		return;
	lk_in_runtime = 1;
	struct lk_held_view hv = lk_view(t);
	lk_report_recursive(&hv, l, lk_capture(pc), pc, entry);
	lk_in_runtime = 0;
	errno = saved;
}

static void lk_check_unlock(struct lk_lock *l, uintptr_t pc, uintptr_t entry)
{
	uint16_t id = lk_class_id(l->cls);
	int saved = errno;

	if (!id || lk_in_runtime || !lk_note(LK_VIOL_BAD_UNLOCK, 0, id))
		return;
	lk_in_runtime = 1;
	lk_report_bad_unlock(l, pc, entry);
	lk_in_runtime = 0;
	errno = saved;
}

/* ---- the program's call into the shim ---- */

void lk_set_entry_text(uintptr_t lo, uintptr_t hi)
{
	__atomic_store_n(&lk_text.lo, lo, __ATOMIC_RELAXED);
	__atomic_store_n(&lk_text.hi, hi, __ATOMIC_RELAXED);
}

/*
 * lk_entry_pc if a wrapper set it; else walk the frame-pointer chain from
 * the public entry (lk_lock, always inlined into it) while the return
 * addresses stay inside the shim's text: the first one outside is the
 * program's call.  Only frames of the shim's own code are dereferenced,
 * and the shim is built with frame pointers, so the walk never reads a
 * foreign frame; it gives up (0) on a chain that does not grow upwards.
 */
static inline __attribute__((always_inline)) uintptr_t lk_entry_here(void)
{
	uintptr_t lo, hi;
	const uintptr_t *fp;

	if (lk_entry_pc)
		return lk_entry_pc;
	hi = __atomic_load_n(&lk_text.hi, __ATOMIC_RELAXED);
	if (!hi)
		return 0;
	lo = __atomic_load_n(&lk_text.lo, __ATOMIC_RELAXED);
	fp = __builtin_frame_address(0);
	for (int i = 0; i < LK_ENTRY_WALK_MAX; i++) {
		uintptr_t ret = fp[1];
		const uintptr_t *next;

		if (ret < lo || ret >= hi)
			return ret;
		next = (const uintptr_t *)fp[0];
		if (next <= fp || (uintptr_t)next - (uintptr_t)fp > (1u << 20) ||
		    ((uintptr_t)next & 7))
			return 0;
		fp = next;
	}
	return 0;
}

struct lk_text_find {
	uintptr_t addr, lo, hi;
};

static int lk_text_visit(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct lk_text_find *f = arg;
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	bool mine = false;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t a = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		if (a < lo)
			lo = a;
		if (a + ph->p_memsz > hi)
			hi = a + ph->p_memsz;
		mine |= f->addr >= a && f->addr < a + ph->p_memsz;
	}
	if (!mine)
		return 0;
	/* the main program links the core itself: its own code is not "the shim" */
	if (info->dlpi_name && info->dlpi_name[0]) {
		f->lo = lo;
		f->hi = hi;
	}
	return 1;
}

__attribute__((constructor)) static void lk_entry_text_detect(void)
{
	struct lk_text_find f = { .addr = (uintptr_t)&lk_lock };

	dl_iterate_phdr(lk_text_visit, &f);
	if (f.hi)
		lk_set_entry_text(f.lo, f.hi);
}

/* ---- the lock ---- */

void lk_init(struct lk_lock *l, struct lk_class *cls, const char *name)
{
	*l = (struct lk_lock)LK_LOCK_INIT(cls, name);
	lk_tsan_create(l);
}

/*
 * Take the futex word (blocking) and make t the owner at depth rec.  With
 * lockstat, contention is detected by trying first (as mutrace does) and
 * the wait is timed; the acquisition is recorded against its site.
 */
static inline void lk_take(struct lk_thread *t, struct lk_lock *l, uint16_t id,
			   uintptr_t pc, uintptr_t entry, uint32_t stack, unsigned rec)
{
	uint64_t t_acq = 0;
	uint32_t site = 0;

	lk_tsan_pre_lock(l, 0);
	if (lk_config.lockstat && id && !lk_in_runtime) {
		uint64_t t0 = lk_stat_now();
		bool contended = !lk_word_trylock(&l->word);

		if (contended)
			lk_word_lock_slow(&l->word, l->cls->pshared);
		t_acq = contended ? lk_stat_now() : t0;
		site = lk_stat_site(pc, id);
		lk_stat_acquired(site, id, contended, t_acq - t0);
		t_acq |= 1;     /* never 0: 0 means "not timed" */
	} else {
		lk_word_lock(&l->word, l->cls->pshared);
		if (lk_config.json && id)
			lk_stat_acquired(0, id, false, 0);
	}
	atomic_store_explicit(&l->owner, t, memory_order_relaxed);
	l->depth = rec;
	if (rec > 1)
		LK_TSAN_DO(__tsan_mutex_post_lock(l, lk_tsan_kind(l) | __tsan_mutex_recursive_lock,
						  (int)rec));
	else
		lk_tsan_post_lock(l, 0);
	lk_push(t, l, id, pc, entry, stack, 0, t_acq, site);
}

static inline void lk_reenter(struct lk_lock *l, unsigned tsan_flags)
{
	lk_tsan_pre_lock(l, tsan_flags);
	l->depth++;
	lk_tsan_post_lock(l, tsan_flags);
}

static inline void lk_lock_at(struct lk_lock *l, uintptr_t pc, uintptr_t entry, unsigned rec)
{
	struct lk_thread *t = &lk_self;
	uint32_t stack = 0;
	uint16_t id;

	if (lk_owner(l) == t) {
		if (l->cls->recursive) {
			lk_reenter(l, 0);
			return;
		}
		if (lk_config.lockdep)
			lk_check_self(t, l, pc, entry);
	} else if (lk_config.lockdep && !lk_in_runtime) {
		id = lk_class_id(l->cls);
		stack = lk_check(t, l, id, pc, entry);
		lk_take(t, l, id, pc, entry, stack, rec);
		return;
	}
	lk_take(t, l, lk_class_id(l->cls), pc, entry, stack, rec);
}

void lk_lock(struct lk_lock *l)
{
	lk_lock_at(l, LK_RET_ADDR(), lk_entry_here(), 1);
}

bool lk_trylock(struct lk_lock *l)
{
	struct lk_thread *t = &lk_self;
	uintptr_t pc = LK_RET_ADDR();
	uint32_t stack = 0, site = 0;
	uint64_t t_acq = 0;
	uint16_t id;

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
	id = lk_class_id(l->cls);
	if (lk_config.lockdep && lk_config.held_stacks && !lk_in_runtime) {
		lk_in_runtime = 1;
		stack = lk_capture(pc);
		lk_in_runtime = 0;
	}
	if (lk_config.lockstat && id && !lk_in_runtime) {
		t_acq = lk_stat_now() | 1;
		site = lk_stat_site(pc, id);
		lk_stat_acquired(site, id, false, 0);
	} else if (lk_config.json && id) {
		lk_stat_acquired(0, id, false, 0);
	}
	lk_push(t, l, id, pc, lk_entry_here(), stack, LK_HELD_TRY, t_acq, site);
	return true;
}

/* Release l completely; the caller owns it. */
static inline void lk_release(struct lk_thread *t, struct lk_lock *l)
{
	lk_pop(t, l);
	atomic_store_explicit(&l->owner, NULL, memory_order_relaxed);
	lk_word_unlock(&l->word, l->cls->pshared);
}

void lk_unlock(struct lk_lock *l)
{
	struct lk_thread *t = &lk_self;

	if (lk_owner(l) != t) {
		if (lk_config.lockdep)
			lk_check_unlock(l, LK_RET_ADDR(), lk_entry_here());
		return;
	}
	lk_tsan_pre_unlock(l);
	if (--l->depth == 0)
		lk_release(t, l);
	lk_tsan_post_unlock(l);
}

unsigned lk_unlock_for_wait(struct lk_lock *l)
{
	struct lk_thread *t = &lk_self;
	unsigned depth;

	if (lk_owner(l) != t) {
		if (lk_config.lockdep)
			lk_check_unlock(l, LK_RET_ADDR(), lk_entry_here());
		return 0;
	}
	depth = l->depth;
	LK_TSAN_DO(__tsan_mutex_pre_unlock(l, __tsan_mutex_recursive_unlock));
	l->depth = 0;
	lk_release(t, l);
	LK_TSAN_DO(__tsan_mutex_post_unlock(l, __tsan_mutex_recursive_unlock));
	return depth;
}

void lk_relock_after_wait(struct lk_lock *l, unsigned depth)
{
	if (depth)
		lk_lock_at(l, LK_RET_ADDR(), lk_entry_here(), depth);
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
			 LK_FORK_MAX, l->name ? l->name : l->cls->name);
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
	lk_app_fork_prepare();
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
	lk_app_fork_parent();
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
	lk_app_fork_child();
}

/* ---- exit ---- */

unsigned lk_violation_count(void)
{
	return lk_valid_distinct() - lk_valid_suppressed();
}

void lk_atexit(void)
{
	if (__atomic_exchange_n(&lk_rt.exited, 1, __ATOMIC_RELAXED))
		return;
	lk_in_runtime = 1;
	if (lk_report_exit() && lk_config.exitcode) {
		/*
		 * At a normal exit (the shim's destructor, inside exit()), the
		 * program's stdio buffers are flushed first, as exit() would
		 * have: a program whose output goes to a pipe keeps it.  Not
		 * when halting from a report, where the reporting thread may
		 * hold a stream's lock.
		 */
		if (!__atomic_load_n(&lk_rt.halting, __ATOMIC_RELAXED))
			fflush(NULL);
		_exit(lk_config.exitcode);
	}
	lk_in_runtime = 0;
}
