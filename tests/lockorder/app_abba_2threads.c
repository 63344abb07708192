/*
 * ABBA with two threads and a real deadlock (liblockdep's ABBA_2threads):
 * static initializers only (never passed to pthread_mutex_init), main holds
 * a, the thread holds b, both meet at a barrier, then main locks b and the
 * thread locks a.  Both block for ever; the cycle report must be written
 * by whichever acquisition closes the cycle, before it blocks.
 */
#include "app_common.h"

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t bar;

SCENARIO void *hold_b_want_a(void *arg)
{
	(void)arg;
	L(&b);
	pthread_barrier_wait(&bar);
	say("blocking");
	L(&a);
	say("not reached");
	KEEP();
	return NULL;
}

SCENARIO void hold_a_want_b(void)
{
	L(&a);
	pthread_barrier_wait(&bar);
	say("blocking");
	L(&b);
	say("not reached");
	KEEP();
}

int main(void)
{
	pthread_t th;

	pthread_barrier_init(&bar, NULL, 2);
	pthread_create(&th, NULL, hold_b_want_a, NULL);
	hold_a_want_b();
	pthread_join(th, NULL);
	return 0;
}
