/*
 * Condition variables: a wait releases its mutex and takes it again; the
 * relock is an acquisition like any other and is checked.
 *
 *   silent   a producer and a consumer pass 5 000 items through a
 *            one-slot buffer with pthread_cond_wait, _timedwait and
 *            _clockwait (always m alone, or outer o then m): silent; the
 *            items arrive in order; then the canary (one report)
 *   relock   lock m, lock w (m -> w), then wait on m while still holding
 *            w: the relock of m takes w -> m and closes a cycle, reported
 *            from the wait in wait_holding_w (a thread doing m then w
 *            would deadlock with it)
 */
#include "app_common.h"
#include <time.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER, o = PTHREAD_MUTEX_INITIALIZER,
		       w = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int slot, full, flag;            /* guarded by m */

enum { ITEMS = 5000 };

static void wait_on(int i)
{
	struct timespec ts;
	int err = 0;

	switch (i % 3) {
	case 0:
		err = pthread_cond_wait(&cv, &m);
		break;
	case 1:
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 10;
		err = pthread_cond_timedwait(&cv, &m, &ts);
		break;
	case 2:
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += 10;
		err = pthread_cond_clockwait(&cv, &m, CLOCK_MONOTONIC, &ts);
		break;
	}
	if (err)
		fail("condition wait", err);
}

SCENARIO void *producer(void *arg)
{
	(void)arg;
	for (int i = 1; i <= ITEMS; i++) {
		if (i % 2)
			L(&o);  /* o -> m sometimes, never m -> o */
		L(&m);
		while (full)
			wait_on(i);
		slot = i;
		full = 1;
		pthread_cond_broadcast(&cv);
		U(&m);
		if (i % 2)
			U(&o);
	}
	return NULL;
}

SCENARIO long consume(void)
{
	long sum = 0;

	for (int i = 1; i <= ITEMS; i++) {
		L(&m);
		while (!full)
			wait_on(i + 1);
		if (slot != i)
			fail("items out of order", EINVAL);
		sum += slot;
		full = 0;
		pthread_cond_broadcast(&cv);
		U(&m);
	}
	return sum;
}

static void *signaller(void *arg)
{
	(void)arg;
	L(&m);
	flag = 1;
	pthread_cond_signal(&cv);
	U(&m);
	return NULL;
}

SCENARIO void wait_holding_w(void)
{
	pthread_t th;

	L(&m);
	L(&w);
	pthread_create(&th, NULL, signaller, NULL);
	while (!flag)
		pthread_cond_wait(&cv, &m);     /* relock of m with w held */
	U(&w);
	U(&m);
	pthread_join(th, NULL);
	KEEP();
}

int main(int argc, char **argv)
{
	const char *s = argc > 1 ? argv[1] : "";
	pthread_t th;

	if (!strcmp(s, "silent")) {
		pthread_create(&th, NULL, producer, NULL);
		say("sum %ld", consume());
		pthread_join(th, NULL);
		canary();
	} else if (!strcmp(s, "relock")) {
		wait_holding_w();
	} else {
		fprintf(stderr, "usage: app_condwait silent|relock\n");
		return 2;
	}
	say("done");
	return 0;
}
