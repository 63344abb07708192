/*
 * Trylock in both directions (TSan's Test7, Abseil's BazelWarning, Darwin's
 * trylock_no_deadlock).  A trylock cannot block, so it adds no edge *into*
 * the lock it takes; a lock held by a successful trylock still orders the
 * blocking locks taken after it.
 *
 *   silent    L0 T1 | T1 L0      only 1 -> 0 exists: no cycle
 *             T2 L3 | L3 T2      only 2 -> 3 exists: no cycle
 *             then the canary (one report, in canary_ba)
 *   outbound  T4 L5 | L5 L4      4 -> 5 then 5 -> 4: cycle, closed in l5_l4
 *             L7 L6 | T6 L7      7 -> 6 then 6 -> 7: cycle, closed in t6_l7
 *             two distinct reports
 */
#include "app_common.h"

static pthread_mutex_t m[8] = {
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
};

/* x blocking, then y by trylock (or the reverse), released in reverse. */
SCENARIO void lock_try(pthread_mutex_t *x, pthread_mutex_t *y)
{
	L(x);
	if (!T(y))
		fail("trylock of a free mutex", EBUSY);
	U(y);
	U(x);
	KEEP();
}

SCENARIO void try_lock(pthread_mutex_t *x, pthread_mutex_t *y)
{
	if (!T(x))
		fail("trylock of a free mutex", EBUSY);
	L(y);
	U(y);
	U(x);
	KEEP();
}

SCENARIO void l5_l4(void) { PAIR(&m[5], &m[4]); }
SCENARIO void l7_l6(void) { PAIR(&m[7], &m[6]); }

SCENARIO void t6_l7(void)
{
	try_lock(&m[6], &m[7]);
	KEEP();
}

int main(int argc, char **argv)
{
	const char *s = argc > 1 ? argv[1] : "";

	if (!strcmp(s, "silent")) {
		lock_try(&m[0], &m[1]);
		try_lock(&m[1], &m[0]);
		try_lock(&m[2], &m[3]);
		lock_try(&m[3], &m[2]);
		say("no cycle");
		canary();
	} else if (!strcmp(s, "outbound")) {
		try_lock(&m[4], &m[5]);
		l5_l4();
		l7_l6();
		t6_l7();
	} else {
		fprintf(stderr, "usage: app_trylock silent|outbound\n");
		return 2;
	}
	say("done");
	return 0;
}
