/*
 * Wrappers of the program's lock calls (lockdep=app): pthread mutexes,
 * rwlocks, spinlocks, condition waits, and C11 mtx_* / cnd_*.  Each one
 * calls the next definition and tells the lock runtime (shim/lk_app.c)
 * what happened, by lock address; the checks live there.  No shared
 * state here beyond the resolved pointers (written once, atomic).
 *
 * Without lockdep=app every wrapper is one flag read and a call through
 * the resolved pointer.  Calls made while the thread is inside the lock
 * runtime (capturing a stack, writing a report: libunwind, libdw and
 * dlsym take pthread locks) pass straight through as well, and so do the
 * shim's own pthread calls (vfs/ramfs_seg.c binds the next definition).
 *
 * Condition variables: glibc has two versions of pthread_cond_*, the
 * current GLIBC_2.3.2 and the old GLIBC_2.2.5 whose objects have another
 * layout.  The wrappers are exported as pthread_cond_*@@GLIBC_2.3.2 (the
 * shim's version script, shim/vadshim.map), so only references to the
 * current version reach them, and they bind the real functions of that
 * version with dlvsym; references to the old one go to glibc unchecked.
 *
 * glibc's own internal lock calls (stdio, malloc, the loader) do not go
 * through the PLT and are never seen: those are glibc's locks, not the
 * program's.
 */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <threads.h>
#include <time.h>

#include "shim/lk.h"
#include "shim/lk_app.h"
#include "shim/lk_stat.h"
#include "shim/real_fs.h"
#include "shim/shim.h"

#define WP_PC() ((uintptr_t)__builtin_return_address(0))

/* One flag read when off; inside the runtime, straight through. */
#define WP_ACTIVE() (__builtin_expect(lk_app_on, 0) && !lk_in_runtime)

SHIM_REAL_DECL(pthread_mutex_init);
SHIM_REAL_DECL(pthread_mutex_destroy);
SHIM_REAL_DECL(pthread_mutex_lock);
SHIM_REAL_DECL(pthread_mutex_trylock);
SHIM_REAL_DECL(pthread_mutex_timedlock);
SHIM_REAL_DECL(pthread_mutex_clocklock);
SHIM_REAL_DECL(pthread_mutex_unlock);
SHIM_REAL_DECL(pthread_rwlock_init);
SHIM_REAL_DECL(pthread_rwlock_destroy);
SHIM_REAL_DECL(pthread_rwlock_rdlock);
SHIM_REAL_DECL(pthread_rwlock_wrlock);
SHIM_REAL_DECL(pthread_rwlock_tryrdlock);
SHIM_REAL_DECL(pthread_rwlock_trywrlock);
SHIM_REAL_DECL(pthread_rwlock_timedrdlock);
SHIM_REAL_DECL(pthread_rwlock_timedwrlock);
SHIM_REAL_DECL(pthread_rwlock_clockrdlock);
SHIM_REAL_DECL(pthread_rwlock_clockwrlock);
SHIM_REAL_DECL(pthread_rwlock_unlock);
SHIM_REAL_DECL(pthread_spin_init);
SHIM_REAL_DECL(pthread_spin_destroy);
SHIM_REAL_DECL(pthread_spin_lock);
SHIM_REAL_DECL(pthread_spin_trylock);
SHIM_REAL_DECL(pthread_spin_unlock);
SHIM_REAL_DECL(mtx_init);
SHIM_REAL_DECL(mtx_destroy);
SHIM_REAL_DECL(mtx_lock);
SHIM_REAL_DECL(mtx_trylock);
SHIM_REAL_DECL(mtx_timedlock);
SHIM_REAL_DECL(mtx_unlock);
SHIM_REAL_DECL(cnd_wait);
SHIM_REAL_DECL(cnd_timedwait);

/* ---- condition variables: the current symbol version ---- */

static __typeof__(&pthread_cond_wait) _Atomic wp_cond_wait_p;
static __typeof__(&pthread_cond_timedwait) _Atomic wp_cond_timedwait_p;
static __typeof__(&pthread_cond_clockwait) _Atomic wp_cond_clockwait_p;

static void *wp_resolve_cond(const char *name, const char *version)
{
	void *p = dlvsym(RTLD_NEXT, name, version);

	return p ? p : shim_real_resolve(name);
}

#define WP_COND_REAL(var, name, version)                                          \
	({                                                                        \
		__typeof__(atomic_load(&var)) p_ = atomic_load_explicit(&var,    \
							memory_order_relaxed);    \
		if (__builtin_expect(!p_, 0)) {                                   \
			p_ = (__typeof__(p_))wp_resolve_cond(name, version);      \
			atomic_store_explicit(&var, p_, memory_order_relaxed);    \
		}                                                                 \
		p_;                                                               \
	})

/* ---- kinds, read from the lock itself (glibc's layout) ---- */

static inline enum lk_app_type wp_mutex_type(const pthread_mutex_t *m)
{
	switch (__atomic_load_n(&m->__data.__kind, __ATOMIC_RELAXED) & 3) {
	case PTHREAD_MUTEX_RECURSIVE_NP:
		return LK_APP_MUTEX_RECURSIVE;
	case PTHREAD_MUTEX_ERRORCHECK_NP:
		return LK_APP_MUTEX_ERRORCHECK;
	default:
		return LK_APP_MUTEX;
	}
}

static inline int wp_mutex_owner(const pthread_mutex_t *m)
{
	return __atomic_load_n(&m->__data.__owner, __ATOMIC_RELAXED);
}

/*
 * glibc's rwlock kinds: PREFER_READER (default) and PREFER_WRITER (which
 * glibc treats as reader-preferring) never make a reader wait for a
 * reader; PREFER_WRITER_NONRECURSIVE queues readers behind writers.
 */
static inline enum lk_app_type wp_rwlock_type(const pthread_rwlock_t *rw)
{
	return __atomic_load_n(&rw->__data.__flags, __ATOMIC_RELAXED) ==
		       PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP ?
		       LK_APP_RWLOCK_WRITER : LK_APP_RWLOCK;
}

static inline int wp_rwlock_writer(const pthread_rwlock_t *rw)
{
	return __atomic_load_n(&rw->__data.__cur_writer, __ATOMIC_RELAXED);
}

/* ---- the common acquisition path ---- */

static inline bool wp_acquired(int r)
{
	return r == 0 || r == EOWNERDEAD;
}

/*
 * Check, take (with lockstat: try first to see contention, as mutrace
 * does, and time the wait), record.  try_fn is NULL for calls that have
 * no separate try (timed locks are timed as a whole).
 */
#define WP_ACQUIRE(lock, type, how, pc, call, try_call, busy)                    \
	({                                                                       \
		enum lk_app_go go_ = lk_app_before((lock), (type), (how), (pc)); \
		bool cont_ = false;                                              \
		uint64_t wait_ = 0;                                              \
		int r_;                                                          \
		if (lk_config.lockstat && !((how) & LK_APP_TRY)) {               \
			r_ = (try_call);                                         \
			if (r_ == (busy)) {                                      \
				uint64_t t0_ = lk_stat_now();                    \
				cont_ = true;                                    \
				r_ = (call);                                     \
				wait_ = lk_stat_now() - t0_;                     \
			}                                                        \
		} else {                                                         \
			r_ = (call);                                             \
		}                                                                \
		if (wp_acquired(r_))                                             \
			lk_app_acquired((lock), (type), (how), go_, (pc), cont_, wait_); \
		r_;                                                              \
	})

/* ---- mutexes ---- */

SHIM_EXPORT int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *a)
{
	if (WP_ACTIVE())
		lk_app_retire(m);
	return SHIM_REAL(pthread_mutex_init)(m, a);
}

SHIM_EXPORT int pthread_mutex_destroy(pthread_mutex_t *m)
{
	int r = SHIM_REAL(pthread_mutex_destroy)(m);

	if (r == 0 && WP_ACTIVE())
		lk_app_retire(m);
	return r;
}

SHIM_EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
	if (!WP_ACTIVE())
		return SHIM_REAL(pthread_mutex_lock)(m);
	return WP_ACQUIRE(m, wp_mutex_type(m), 0, WP_PC(), SHIM_REAL(pthread_mutex_lock)(m),
			  SHIM_REAL(pthread_mutex_trylock)(m), EBUSY);
}

SHIM_EXPORT int pthread_mutex_trylock(pthread_mutex_t *m)
{
	if (!WP_ACTIVE())
		return SHIM_REAL(pthread_mutex_trylock)(m);
	return WP_ACQUIRE(m, wp_mutex_type(m), LK_APP_TRY, WP_PC(),
			  SHIM_REAL(pthread_mutex_trylock)(m), 0, 0);
}

SHIM_EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *t)
{
	if (!WP_ACTIVE())
		return SHIM_REAL(pthread_mutex_timedlock)(m, t);
	return WP_ACQUIRE(m, wp_mutex_type(m), LK_APP_TIMED, WP_PC(),
			  SHIM_REAL(pthread_mutex_timedlock)(m, t),
			  SHIM_REAL(pthread_mutex_trylock)(m), EBUSY);
}

SHIM_EXPORT int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t c, const struct timespec *t)
{
	if (!WP_ACTIVE())
		return SHIM_REAL(pthread_mutex_clocklock)(m, c, t);
	return WP_ACQUIRE(m, wp_mutex_type(m), LK_APP_TIMED, WP_PC(),
			  SHIM_REAL(pthread_mutex_clocklock)(m, c, t),
			  SHIM_REAL(pthread_mutex_trylock)(m), EBUSY);
}

/*
 * Unlock: the held list first (before the real unlock changes the owner),
 * with the owner tid the lock itself records, so that an unlock of a lock
 * taken before checking began is not called bad.
 */
SHIM_EXPORT int pthread_mutex_unlock(pthread_mutex_t *m)
{
	if (WP_ACTIVE())
		lk_app_release(m, wp_mutex_type(m), wp_mutex_owner(m), WP_PC());
	return SHIM_REAL(pthread_mutex_unlock)(m);
}

/* ---- rwlocks ---- */

SHIM_EXPORT int pthread_rwlock_init(pthread_rwlock_t *rw, const pthread_rwlockattr_t *a)
{
	if (WP_ACTIVE())
		lk_app_retire(rw);
	return SHIM_REAL(pthread_rwlock_init)(rw, a);
}

SHIM_EXPORT int pthread_rwlock_destroy(pthread_rwlock_t *rw)
{
	int r = SHIM_REAL(pthread_rwlock_destroy)(rw);

	if (r == 0 && WP_ACTIVE())
		lk_app_retire(rw);
	return r;
}

SHIM_EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *rw)
{
	if (!WP_ACTIVE())
		return SHIM_REAL(pthread_rwlock_rdlock)(rw);
	return WP_ACQUIRE(rw, wp_rwlock_type(rw), LK_APP_READ, WP_PC(),
			  SHIM_REAL(pthread_rwlock_rdlock)(rw),
			  SHIM_REAL(pthread_rwlock_tryrdlock)(rw), EBUSY);
}

SHIM_EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t *rw)
{
	if (!WP_ACTIVE())
		return SHIM_REAL(pthread_rwlock_wrlock)(rw);
	return WP_ACQUIRE(rw, wp_rwlock_type(rw), 0, WP_PC(),
			  SHIM_REAL(pthread_rwlock_wrlock)(rw),
			  SHIM_REAL(pthread_rwlock_trywrlock)(rw), EBUSY);
}

SHIM_EXPORT int pthread_rwlock_tryrdlock(pthread_rwlock_t *rw)
{
	if (!WP_ACTIVE())
		return SHIM_REAL(pthread_rwlock_tryrdlock)(rw);
	return WP_ACQUIRE(rw, wp_rwlock_type(rw), LK_APP_READ | LK_APP_TRY, WP_PC(),
			  SHIM_REAL(pthread_rwlock_tryrdlock)(rw), 0, 0);
}

SHIM_EXPORT int pthread_rwlock_trywrlock(pthread_rwlock_t *rw)
{
	if (!WP_ACTIVE())
		return SHIM_REAL(pthread_rwlock_trywrlock)(rw);
	return WP_ACQUIRE(rw, wp_rwlock_type(rw), LK_APP_TRY, WP_PC(),
			  SHIM_REAL(pthread_rwlock_trywrlock)(rw), 0, 0);
}

SHIM_EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t *rw, const struct timespec *t)
{
	if (!WP_ACTIVE())
		return SHIM_REAL(pthread_rwlock_timedrdlock)(rw, t);
	return WP_ACQUIRE(rw, wp_rwlock_type(rw), LK_APP_READ | LK_APP_TIMED, WP_PC(),
			  SHIM_REAL(pthread_rwlock_timedrdlock)(rw, t),
			  SHIM_REAL(pthread_rwlock_tryrdlock)(rw), EBUSY);
}

SHIM_EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t *rw, const struct timespec *t)
{
	if (!WP_ACTIVE())
		return SHIM_REAL(pthread_rwlock_timedwrlock)(rw, t);
	return WP_ACQUIRE(rw, wp_rwlock_type(rw), LK_APP_TIMED, WP_PC(),
			  SHIM_REAL(pthread_rwlock_timedwrlock)(rw, t),
			  SHIM_REAL(pthread_rwlock_trywrlock)(rw), EBUSY);
}

SHIM_EXPORT int pthread_rwlock_clockrdlock(pthread_rwlock_t *rw, clockid_t c,
					   const struct timespec *t)
{
	if (!WP_ACTIVE())
		return SHIM_REAL(pthread_rwlock_clockrdlock)(rw, c, t);
	return WP_ACQUIRE(rw, wp_rwlock_type(rw), LK_APP_READ | LK_APP_TIMED, WP_PC(),
			  SHIM_REAL(pthread_rwlock_clockrdlock)(rw, c, t),
			  SHIM_REAL(pthread_rwlock_tryrdlock)(rw), EBUSY);
}

SHIM_EXPORT int pthread_rwlock_clockwrlock(pthread_rwlock_t *rw, clockid_t c,
					   const struct timespec *t)
{
	if (!WP_ACTIVE())
		return SHIM_REAL(pthread_rwlock_clockwrlock)(rw, c, t);
	return WP_ACQUIRE(rw, wp_rwlock_type(rw), LK_APP_TIMED, WP_PC(),
			  SHIM_REAL(pthread_rwlock_clockwrlock)(rw, c, t),
			  SHIM_REAL(pthread_rwlock_trywrlock)(rw), EBUSY);
}

SHIM_EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *rw)
{
	if (WP_ACTIVE())
		lk_app_release(rw, wp_rwlock_type(rw), wp_rwlock_writer(rw), WP_PC());
	return SHIM_REAL(pthread_rwlock_unlock)(rw);
}

/* ---- spinlocks ---- */

SHIM_EXPORT int pthread_spin_init(pthread_spinlock_t *s, int pshared)
{
	if (WP_ACTIVE())
		lk_app_retire((const void *)s);
	return SHIM_REAL(pthread_spin_init)(s, pshared);
}

SHIM_EXPORT int pthread_spin_destroy(pthread_spinlock_t *s)
{
	if (WP_ACTIVE())
		lk_app_retire((const void *)s);
	return SHIM_REAL(pthread_spin_destroy)(s);
}

SHIM_EXPORT int pthread_spin_lock(pthread_spinlock_t *s)
{
	if (!WP_ACTIVE())
		return SHIM_REAL(pthread_spin_lock)(s);
	return WP_ACQUIRE((const void *)s, LK_APP_SPIN, 0, WP_PC(), SHIM_REAL(pthread_spin_lock)(s),
			  SHIM_REAL(pthread_spin_trylock)(s), EBUSY);
}

SHIM_EXPORT int pthread_spin_trylock(pthread_spinlock_t *s)
{
	if (!WP_ACTIVE())
		return SHIM_REAL(pthread_spin_trylock)(s);
	return WP_ACQUIRE((const void *)s, LK_APP_SPIN, LK_APP_TRY, WP_PC(),
			  SHIM_REAL(pthread_spin_trylock)(s), 0, 0);
}

SHIM_EXPORT int pthread_spin_unlock(pthread_spinlock_t *s)
{
	if (WP_ACTIVE())
		lk_app_release((const void *)s, LK_APP_SPIN, 0, WP_PC());
	return SHIM_REAL(pthread_spin_unlock)(s);
}

/* ---- condition waits: unlock, then a checked relock ---- */

SHIM_EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	struct lk_app_wait w;
	int r;

	if (!WP_ACTIVE())
		return WP_COND_REAL(wp_cond_wait_p, "pthread_cond_wait", "GLIBC_2.3.2")(c, m);
	lk_app_wait_begin(m, wp_mutex_type(m), WP_PC(), &w);
	r = WP_COND_REAL(wp_cond_wait_p, "pthread_cond_wait", "GLIBC_2.3.2")(c, m);
	lk_app_wait_end(m, &w);
	return r;
}

SHIM_EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
				       const struct timespec *t)
{
	struct lk_app_wait w;
	int r;

	if (!WP_ACTIVE())
		return WP_COND_REAL(wp_cond_timedwait_p, "pthread_cond_timedwait", "GLIBC_2.3.2")(c, m, t);
	lk_app_wait_begin(m, wp_mutex_type(m), WP_PC(), &w);
	r = WP_COND_REAL(wp_cond_timedwait_p, "pthread_cond_timedwait", "GLIBC_2.3.2")(c, m, t);
	lk_app_wait_end(m, &w);
	return r;
}

SHIM_EXPORT int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t k,
				       const struct timespec *t)
{
	struct lk_app_wait w;
	int r;

	if (!WP_ACTIVE())
		return WP_COND_REAL(wp_cond_clockwait_p, "pthread_cond_clockwait", "GLIBC_2.30")(c, m, k, t);
	lk_app_wait_begin(m, wp_mutex_type(m), WP_PC(), &w);
	r = WP_COND_REAL(wp_cond_clockwait_p, "pthread_cond_clockwait", "GLIBC_2.30")(c, m, k, t);
	lk_app_wait_end(m, &w);
	return r;
}

/* ---- C11 threads: mtx_t has pthread_mutex_t's layout in glibc ---- */

static inline pthread_mutex_t *wp_mtx(mtx_t *m)
{
	return (pthread_mutex_t *)(void *)m;
}

SHIM_EXPORT int mtx_init(mtx_t *m, int type)
{
	if (WP_ACTIVE())
		lk_app_retire(m);
	return SHIM_REAL(mtx_init)(m, type);
}

SHIM_EXPORT void mtx_destroy(mtx_t *m)
{
	SHIM_REAL(mtx_destroy)(m);
	if (WP_ACTIVE())
		lk_app_retire(m);
}

SHIM_EXPORT int mtx_lock(mtx_t *m)
{
	if (!WP_ACTIVE())
		return SHIM_REAL(mtx_lock)(m);
	return WP_ACQUIRE(m, wp_mutex_type(wp_mtx(m)), 0, WP_PC(), SHIM_REAL(mtx_lock)(m),
			  SHIM_REAL(mtx_trylock)(m), thrd_busy);
}

SHIM_EXPORT int mtx_trylock(mtx_t *m)
{
	if (!WP_ACTIVE())
		return SHIM_REAL(mtx_trylock)(m);
	return WP_ACQUIRE(m, wp_mutex_type(wp_mtx(m)), LK_APP_TRY, WP_PC(),
			  SHIM_REAL(mtx_trylock)(m), 0, 0);
}

SHIM_EXPORT int mtx_timedlock(mtx_t *restrict m, const struct timespec *restrict t)
{
	if (!WP_ACTIVE())
		return SHIM_REAL(mtx_timedlock)(m, t);
	return WP_ACQUIRE(m, wp_mutex_type(wp_mtx(m)), LK_APP_TIMED, WP_PC(),
			  SHIM_REAL(mtx_timedlock)(m, t), SHIM_REAL(mtx_trylock)(m), thrd_busy);
}

SHIM_EXPORT int mtx_unlock(mtx_t *m)
{
	if (WP_ACTIVE())
		lk_app_release(m, wp_mutex_type(wp_mtx(m)), wp_mutex_owner(wp_mtx(m)), WP_PC());
	return SHIM_REAL(mtx_unlock)(m);
}

SHIM_EXPORT int cnd_wait(cnd_t *c, mtx_t *m)
{
	struct lk_app_wait w;
	int r;

	if (!WP_ACTIVE())
		return SHIM_REAL(cnd_wait)(c, m);
	lk_app_wait_begin(m, wp_mutex_type(wp_mtx(m)), WP_PC(), &w);
	r = SHIM_REAL(cnd_wait)(c, m);
	lk_app_wait_end(m, &w);
	return r;
}

SHIM_EXPORT int cnd_timedwait(cnd_t *restrict c, mtx_t *restrict m,
			      const struct timespec *restrict t)
{
	struct lk_app_wait w;
	int r;

	if (!WP_ACTIVE())
		return SHIM_REAL(cnd_timedwait)(c, m, t);
	lk_app_wait_begin(m, wp_mutex_type(wp_mtx(m)), WP_PC(), &w);
	r = SHIM_REAL(cnd_timedwait)(c, m, t);
	lk_app_wait_end(m, &w);
	return r;
}

/* ---- memory that goes away: free and realloc retire the locks in it ---- */

/*
 * free() is resolved by hand: dlsym may itself free, and a nested free
 * while this thread resolves is dropped (a few bytes leaked once) rather
 * than recursing.  Without lockdep=app a free costs the pointer load and
 * the flag read; with it, malloc_usable_size and a bit test of the page
 * filter (lk_app_forget_range) unless the memory ever held a lock.
 */
static void (*_Atomic wp_free_p)(void *);
static void *(*_Atomic wp_realloc_p)(void *, size_t);
static __thread int wp_resolving __attribute__((tls_model("initial-exec")));

static void *wp_resolve_alloc(const char *name)
{
	void *p;

	if (wp_resolving)
		return NULL;
	wp_resolving = 1;
	p = dlsym(RTLD_NEXT, name);
	wp_resolving = 0;
	return p;
}

SHIM_EXPORT void free(void *p)
{
	void (*f)(void *) = atomic_load_explicit(&wp_free_p, memory_order_relaxed);

	if (__builtin_expect(!f, 0)) {
		f = (void (*)(void *))wp_resolve_alloc("free");
		if (!f)
			return;
		atomic_store_explicit(&wp_free_p, f, memory_order_relaxed);
	}
	if (p && WP_ACTIVE())
		lk_app_forget_range(p, malloc_usable_size(p));
	f(p);
}

SHIM_EXPORT void *realloc(void *p, size_t n)
{
	void *(*f)(void *, size_t) = atomic_load_explicit(&wp_realloc_p, memory_order_relaxed);
	size_t old;
	void *q;

	if (__builtin_expect(!f, 0)) {
		f = (void *(*)(void *, size_t))wp_resolve_alloc("realloc");
		if (!f)
			return NULL;
		atomic_store_explicit(&wp_realloc_p, f, memory_order_relaxed);
	}
	if (!p || !WP_ACTIVE())
		return f(p, n);
	old = malloc_usable_size(p);
	q = f(p, n);
	if (q != p && (q || n == 0))
		lk_app_forget_range(p, old);
	else if (q == p && n < old)
		lk_app_forget_range((char *)p + n, old - n);
	return q;
}

/*
 * Resolve every next definition before the program runs, while it has
 * one thread: a first lock call must not run dlsym, which may allocate,
 * and an allocator's lock would come back here.  A function this glibc
 * does not have (or has in a library the program did not load) stays
 * unresolved: only a call to it, which cannot happen then, would look
 * again.
 */
#define WP_PRIME(name)                                                                 \
	do {                                                                           \
		void *p_ = dlsym(RTLD_NEXT, #name);                                    \
		if (p_)                                                                \
			atomic_store_explicit(&shim_real_##name##_p, (__typeof__(&name))p_, \
					      memory_order_relaxed);                   \
	} while (0)
#define WP_PRIME_COND(var, name, version)                                              \
	do {                                                                           \
		void *p_ = dlvsym(RTLD_NEXT, name, version);                           \
		if (p_)                                                                \
			atomic_store_explicit(&var, (__typeof__(atomic_load(&var)))p_,    \
					      memory_order_relaxed);                   \
	} while (0)

__attribute__((constructor(102))) static void wp_resolve_early(void)
{
	void *f = wp_resolve_alloc("free"), *r = wp_resolve_alloc("realloc");

	if (f)
		atomic_store_explicit(&wp_free_p, (void (*)(void *))f, memory_order_relaxed);
	if (r)
		atomic_store_explicit(&wp_realloc_p, (void *(*)(void *, size_t))r, memory_order_relaxed);
	WP_PRIME(pthread_mutex_init);
	WP_PRIME(pthread_mutex_destroy);
	WP_PRIME(pthread_mutex_lock);
	WP_PRIME(pthread_mutex_trylock);
	WP_PRIME(pthread_mutex_timedlock);
	WP_PRIME(pthread_mutex_clocklock);
	WP_PRIME(pthread_mutex_unlock);
	WP_PRIME(pthread_rwlock_init);
	WP_PRIME(pthread_rwlock_destroy);
	WP_PRIME(pthread_rwlock_rdlock);
	WP_PRIME(pthread_rwlock_wrlock);
	WP_PRIME(pthread_rwlock_tryrdlock);
	WP_PRIME(pthread_rwlock_trywrlock);
	WP_PRIME(pthread_rwlock_timedrdlock);
	WP_PRIME(pthread_rwlock_timedwrlock);
	WP_PRIME(pthread_rwlock_clockrdlock);
	WP_PRIME(pthread_rwlock_clockwrlock);
	WP_PRIME(pthread_rwlock_unlock);
	WP_PRIME(pthread_spin_init);
	WP_PRIME(pthread_spin_destroy);
	WP_PRIME(pthread_spin_lock);
	WP_PRIME(pthread_spin_trylock);
	WP_PRIME(pthread_spin_unlock);
	WP_PRIME(mtx_init);
	WP_PRIME(mtx_destroy);
	WP_PRIME(mtx_lock);
	WP_PRIME(mtx_trylock);
	WP_PRIME(mtx_timedlock);
	WP_PRIME(mtx_unlock);
	WP_PRIME(cnd_wait);
	WP_PRIME(cnd_timedwait);
	WP_PRIME_COND(wp_cond_wait_p, "pthread_cond_wait", "GLIBC_2.3.2");
	WP_PRIME_COND(wp_cond_timedwait_p, "pthread_cond_timedwait", "GLIBC_2.3.2");
	WP_PRIME_COND(wp_cond_clockwait_p, "pthread_cond_clockwait", "GLIBC_2.30");
}
