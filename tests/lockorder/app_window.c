/*
 * The sliding window stress (Abseil's StressTest): 2^17 mutexes taken in
 * index order with at most 5 held at once (lock i, then unlock i - 4), so
 * about 2^17 * 4 distinct orders, all consistent: silent, and quickly (the
 * driver prints the wall time; the native run takes a few ms).  Then the
 * canary.
 */
#include "app_common.h"

enum { N = 1 << 17, WINDOW = 5 };
static pthread_mutex_t m[N];

SCENARIO void slide(void)
{
	for (int i = 0; i < N; i++) {
		L(&m[i]);
		if (i >= WINDOW - 1)
			U(&m[i - (WINDOW - 1)]);
	}
	for (int i = N - (WINDOW - 1); i < N; i++)
		U(&m[i]);
	KEEP();
}

int main(void)
{
	for (int i = 0; i < N; i++)
		m[i] = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	slide();
	say("%d locks, window %d", N, WINDOW);
	canary();
	say("done");
	return 0;
}
