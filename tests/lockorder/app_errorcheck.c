/*
 * Errorcheck mutexes, and unlocks of locks the thread does not hold.
 * glibc returns an error instead of hanging or corrupting the lock; the
 * checker reports each as what it is.
 *
 *   relock   lock e twice (EDEADLK): one recursive-locking report, in relock_e
 *   unlock   three unlocks that glibc refuses with EPERM, each a bad-unlock
 *            report: an errorcheck mutex nobody holds (unlock_free), an
 *            errorcheck mutex another thread holds (unlock_other), a
 *            recursive mutex unlocked once more than locked (unlock_extra)
 */
#include "app_common.h"

static pthread_mutex_t e, f, g, r;
static pthread_barrier_t bar;

SCENARIO void relock_e(void)
{
	L(&e);
	say("relock: %s", strerror(pthread_mutex_lock(&e)));
	U(&e);
	KEEP();
}

SCENARIO void unlock_free(void)
{
	say("unlock free: %s", strerror(pthread_mutex_unlock(&f)));
	KEEP();
}

static void *hold_g(void *arg)
{
	(void)arg;
	L(&g);
	pthread_barrier_wait(&bar);     /* main tries to unlock g */
	pthread_barrier_wait(&bar);
	U(&g);
	return NULL;
}

SCENARIO void unlock_other(void)
{
	say("unlock held by another thread: %s", strerror(pthread_mutex_unlock(&g)));
	KEEP();
}

SCENARIO void unlock_extra(void)
{
	L(&r);
	L(&r);
	U(&r);
	U(&r);
	say("unlock once more: %s", strerror(pthread_mutex_unlock(&r)));
	KEEP();
}

int main(int argc, char **argv)
{
	const char *a = argc > 1 ? argv[1] : "";
	pthread_t th;

	mutex_init(&e, PTHREAD_MUTEX_ERRORCHECK);
	mutex_init(&f, PTHREAD_MUTEX_ERRORCHECK);
	mutex_init(&g, PTHREAD_MUTEX_ERRORCHECK);
	mutex_init(&r, PTHREAD_MUTEX_RECURSIVE);
	if (!strcmp(a, "relock")) {
		relock_e();
	} else if (!strcmp(a, "unlock")) {
		unlock_free();
		pthread_barrier_init(&bar, NULL, 2);
		pthread_create(&th, NULL, hold_g, NULL);
		pthread_barrier_wait(&bar);
		unlock_other();
		pthread_barrier_wait(&bar);
		pthread_join(th, NULL);
		unlock_extra();
	} else {
		fprintf(stderr, "usage: app_errorcheck relock|unlock\n");
		return 2;
	}
	say("done");
	return 0;
}
