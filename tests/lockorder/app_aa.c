/*
 * AA: lock a non-recursive lock twice in one thread.  The second lock
 * never returns (glibc's normal mutex does not detect it; a spinlock spins
 * for ever; a C11 mtx_plain is a normal mutex); the checker must have
 * written its recursive-locking report before the thread blocks.
 *
 * usage: app_aa [mutex|spin|mtx]
 */
#include "app_common.h"
#include <threads.h>

static pthread_mutex_t a;
static pthread_spinlock_t s;
static mtx_t x;

SCENARIO void relock_a(const char *kind)
{
	if (!strcmp(kind, "spin")) {
		pthread_spin_lock(&s);
		say("blocking");
		pthread_spin_lock(&s);          /* spins for ever */
	} else if (!strcmp(kind, "mtx")) {
		mtx_lock(&x);
		say("blocking");
		mtx_lock(&x);                   /* self-deadlock */
	} else {
		L(&a);
		say("blocking");
		L(&a);                          /* self-deadlock */
	}
	say("not reached");
	KEEP();
}

int main(int argc, char **argv)
{
	mutex_init(&a, PTHREAD_MUTEX_NORMAL);
	pthread_spin_init(&s, PTHREAD_PROCESS_PRIVATE);
	if (mtx_init(&x, mtx_plain))
		fail("mtx_init", EINVAL);
	relock_a(argc > 1 ? argv[1] : "mutex");
	return 0;
}
