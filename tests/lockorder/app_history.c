/*
 * No history eviction (TSan's Test3 and Test4): take a -> b, then, while
 * holding h, create, lock, unlock and destroy 20 000 short-lived mutexes
 * (h -> each of them: 20 000 orders whose locks then die), then take
 * b -> a.  The a -> b order must still be known: one cycle report, in
 * take_ba.  (TSan forgets it after 4096 used locks, its Test4.)
 */
#include "app_common.h"

enum { CHURN = 20000 };
static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER,
		       h = PTHREAD_MUTEX_INITIALIZER;

SCENARIO void take_ab(void) { PAIR(&a, &b); }
SCENARIO void take_ba(void) { PAIR(&b, &a); }

SCENARIO void churn(void)
{
	L(&h);
	for (int i = 0; i < CHURN; i++) {
		pthread_mutex_t *m = malloc(sizeof *m);

		mutex_init(m, i % 2 ? PTHREAD_MUTEX_NORMAL : PTHREAD_MUTEX_ERRORCHECK);
		L(m);
		U(m);
		pthread_mutex_destroy(m);
		free(m);
	}
	U(&h);
	KEEP();
}

int main(void)
{
	take_ab();
	churn();
	take_ba();
	say("done");
	return 0;
}
