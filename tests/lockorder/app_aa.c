/*
 * AA: lock a normal mutex twice in one thread.  The second lock hangs for
 * ever (glibc's default mutex does not detect it); the checker must have
 * written its recursive-locking report before the thread blocks.
 */
#include "app_common.h"

static pthread_mutex_t a;

SCENARIO void relock_a(void)
{
	L(&a);
	say("blocking");
	L(&a);          /* self-deadlock */
	say("not reached");
	KEEP();
}

int main(void)
{
	mutex_init(&a, PTHREAD_MUTEX_NORMAL);
	relock_a();
	return 0;
}
