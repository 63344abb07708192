/*
 * Recursive mutexes (TSan's Test9, Helgrind's tc10).  Only the first
 * acquisition of a recursive mutex counts, and recursion hides nothing:
 *
 *   balanced   r locked 3 times and unlocked 3 times, with s taken under
 *              the inner levels (r -> s only): silent, then the canary
 *   inversion  L0 L0 L0 L1 U U U U, then L1 L1 L1 L0: one cycle report,
 *              closed in one_then_zero
 */
#include "app_common.h"

static pthread_mutex_t r, s, m0, m1;

SCENARIO void nest3(void)
{
	L(&r);
	L(&r);
	L(&s);
	L(&r);
	U(&r);
	U(&s);
	U(&r);
	U(&r);
	KEEP();
}

SCENARIO void zero_then_one(void)
{
	L(&m0);
	L(&m0);
	L(&m0);
	L(&m1);
	U(&m1);
	U(&m0);
	U(&m0);
	U(&m0);
	KEEP();
}

SCENARIO void one_then_zero(void)
{
	L(&m1);
	L(&m1);
	L(&m1);
	L(&m0);
	U(&m0);
	U(&m1);
	U(&m1);
	U(&m1);
	KEEP();
}

int main(int argc, char **argv)
{
	const char *a = argc > 1 ? argv[1] : "";

	mutex_init(&r, PTHREAD_MUTEX_RECURSIVE);
	mutex_init(&s, PTHREAD_MUTEX_RECURSIVE);
	mutex_init(&m0, PTHREAD_MUTEX_RECURSIVE);
	mutex_init(&m1, PTHREAD_MUTEX_RECURSIVE);
	if (!strcmp(a, "balanced")) {
		for (int i = 0; i < 3; i++)
			nest3();
		canary();
	} else if (!strcmp(a, "inversion")) {
		zero_then_one();
		one_then_zero();
	} else {
		fprintf(stderr, "usage: app_recursive balanced|inversion\n");
		return 2;
	}
	say("done");
	return 0;
}
