/*
 * Rings: N locks taken in pairs (0,1), (1,2), ... (N-2,N-1), then
 * (N-1,0) closes a cycle of length N (liblockdep's ABBCCA for N=3 and
 * ABBCCDDA for N=4; TSan's mutex_cycle_long and Abseil's LongCycle for a
 * long ring).  One report, of a cycle of N locks, closed in close_ring.
 *
 * usage: app_ring N
 */
#include "app_common.h"

SCENARIO void ring_pair(pthread_mutex_t *x, pthread_mutex_t *y) { PAIR(x, y); }
SCENARIO void close_ring(pthread_mutex_t *last, pthread_mutex_t *first) { PAIR(last, first); }

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 3;
	pthread_mutex_t *m = calloc((size_t)n, sizeof *m);

	if (n < 2 || !m)
		return 2;
	for (int i = 0; i < n; i++)
		mutex_init(&m[i], PTHREAD_MUTEX_NORMAL);
	for (int i = 0; i + 1 < n; i++)
		ring_pair(&m[i], &m[i + 1]);
	close_ring(&m[n - 1], &m[0]);
	say("done");
	return 0;
}
