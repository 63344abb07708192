/*
 * Helpers shared by the application-lock scenarios (app_*.c), programs
 * that use plain pthread locks and know nothing of vadshim: app_check.py
 * runs each one natively (the oracle for what the program does: its
 * output, whether it finishes or really hangs) and under
 * LD_PRELOAD=libvadshim.so with VADSHIM_OPTIONS=lockdep=app.
 *
 * Conventions the driver relies on:
 *  - stdout lines are flushed as they are printed; a scenario that really
 *    deadlocks prints "blocking" (flushed) just before the call that hangs;
 *    a scenario that finishes prints "done" last;
 *  - the functions that take locks are SCENARIO: out of line, exported
 *    (export_dynamic) and never tail-called, so a report's stack names
 *    them and the driver can tell which acquisition was reported;
 *  - lock calls are inlined into those functions (always_inline helpers),
 *    so the first frame of an acquisition stack is the scenario function.
 *
 * No lock here guards shared state of the test itself beyond what each
 * scenario says.
 */
#ifndef APP_COMMON_H
#define APP_COMMON_H

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SCENARIO __attribute__((noinline, visibility("default")))
#define ALWAYS __attribute__((always_inline)) static inline
/* Keeps a lock call out of tail position and the function out of line. */
#define KEEP() __asm__ volatile("" ::: "memory")

static inline void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static inline _Noreturn void fail(const char *what, int err)
{
	printf("FAILED: %s: %s\n", what, strerror(err));
	fflush(stdout);
	exit(3);
}

/* Checked calls: a scenario that goes wrong natively says so and exits 3. */
ALWAYS void L(pthread_mutex_t *m)
{
	int e = pthread_mutex_lock(m);

	if (e)
		fail("pthread_mutex_lock", e);
}

ALWAYS void U(pthread_mutex_t *m)
{
	int e = pthread_mutex_unlock(m);

	if (e)
		fail("pthread_mutex_unlock", e);
}

ALWAYS int T(pthread_mutex_t *m)  /* 1 when taken */
{
	int e = pthread_mutex_trylock(m);

	if (e && e != EBUSY)
		fail("pthread_mutex_trylock", e);
	return e == 0;
}

ALWAYS void mutex_init(pthread_mutex_t *m, int type)
{
	pthread_mutexattr_t a;
	int e;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, type);
	e = pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
	if (e)
		fail("pthread_mutex_init", e);
}

/* lock x, lock y, unlock y, unlock x (liblockdep's LOCK_UNLOCK_2). */
#define PAIR(x, y) do { L(x); L(y); U(y); U(x); KEEP(); } while (0)

/*
 * The canary: a plain ABBA on two locks of its own, run last by the
 * scenarios that must otherwise stay silent.  Its one report proves the
 * checker was live through the whole scenario (a checker that switched
 * itself off, or was never loaded, gives no report and fails the test).
 */
SCENARIO void canary_ab(pthread_mutex_t *a, pthread_mutex_t *b);
SCENARIO void canary_ba(pthread_mutex_t *a, pthread_mutex_t *b);
SCENARIO void canary_ab(pthread_mutex_t *a, pthread_mutex_t *b) { PAIR(a, b); }
SCENARIO void canary_ba(pthread_mutex_t *a, pthread_mutex_t *b) { PAIR(b, a); }

static inline void canary(void)
{
	static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;

	canary_ab(&a, &b);
	canary_ba(&a, &b);
	say("canary");
}

static inline void run_thread(void *(*fn)(void *), void *arg)
{
	pthread_t th;
	int e = pthread_create(&th, NULL, fn, arg);

	if (e)
		fail("pthread_create", e);
	pthread_join(th, NULL);
}

#endif
