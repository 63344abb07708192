/*
 * ABBA in one thread: (a, b), then (b, a).  It cannot hang here (one
 * thread), but two threads running these two functions can: one cycle
 * report, closed in take_ba, with the edge a -> b first seen in take_ab.
 */
#include "app_common.h"

static pthread_mutex_t a, b;

SCENARIO void take_ab(void) { PAIR(&a, &b); }
SCENARIO void take_ba(void) { PAIR(&b, &a); }

int main(void)
{
	mutex_init(&a, PTHREAD_MUTEX_DEFAULT);
	mutex_init(&b, PTHREAD_MUTEX_DEFAULT);
	take_ab();
	take_ba();
	pthread_mutex_destroy(&a);
	pthread_mutex_destroy(&b);
	say("done");
	return 0;
}
