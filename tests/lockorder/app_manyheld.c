/*
 * Many held locks (TSan's many_held_mutex): 1000 mutexes held at once, in
 * index order, released in reverse order, then again released in the
 * order taken, three times.  The order is always the same: silent, and no
 * crash when the held set exceeds any table.  Then the canary.
 */
#include "app_common.h"

enum { N = 1000 };
static pthread_mutex_t m[N];

SCENARIO void hold_all(int fifo)
{
	for (int i = 0; i < N; i++)
		L(&m[i]);
	for (int i = 0; i < N; i++)
		U(&m[fifo ? i : N - 1 - i]);
	KEEP();
}

int main(void)
{
	for (int i = 0; i < N; i++)
		mutex_init(&m[i], PTHREAD_MUTEX_NORMAL);
	for (int k = 0; k < 3; k++) {
		hold_all(0);
		hold_all(1);
	}
	say("held %d at once", N);
	canary();
	say("done");
	return 0;
}
