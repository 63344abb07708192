/*
 * Destroy and re-init at the same address (liblockdep's ABBA second half,
 * TSan's Test18): 200 rounds; each round takes a and b in one order, then
 * destroys and re-initialises both in place; the next round takes them in
 * the other order.  Within one life of the locks the order never inverts,
 * so no cycle may be reported between an old lock and a new one at the
 * same address.  Then the canary (one report).
 */
#include "app_common.h"

static pthread_mutex_t a, b;

SCENARIO void take_ab(void) { PAIR(&a, &b); }
SCENARIO void take_ba(void) { PAIR(&b, &a); }

int main(void)
{
	for (int i = 0; i < 200; i++) {
		mutex_init(&a, i % 3 ? PTHREAD_MUTEX_NORMAL : PTHREAD_MUTEX_ERRORCHECK);
		mutex_init(&b, PTHREAD_MUTEX_NORMAL);
		if (i % 2)
			take_ba();
		else
			take_ab();
		pthread_mutex_destroy(&a);
		pthread_mutex_destroy(&b);
	}
	say("no cycle");
	canary();
	say("done");
	return 0;
}
