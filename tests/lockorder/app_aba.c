/*
 * ABA: lock a, lock b, lock a again.  A self-deadlock on a, to be reported
 * as recursive locking (not as a cycle a -> b -> a) before the hang.
 */
#include "app_common.h"

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;

SCENARIO void a_b_a(void)
{
	L(&a);
	L(&b);
	say("blocking");
	L(&a);          /* self-deadlock */
	say("not reached");
	KEEP();
}

int main(void)
{
	a_b_a();
	return 0;
}
