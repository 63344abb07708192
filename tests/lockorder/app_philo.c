/*
 * Dining philosophers (Helgrind's tc14): 5 threads, philosopher i takes
 * chopstick i then chopstick (i+1) % 5, 1000 meals each.  A semaphore (not
 * a lock the checker sees) seats at most 4 at once, so this run never
 * deadlocks, but the order graph has the 5-cycle.  One report (a cycle of
 * 5, closed by whichever philosopher sat down last, at its first meal) and
 * a repeat count: that philosopher takes the closing order 1000 times.
 */
#include "app_common.h"
#include <semaphore.h>

enum { P = 5, MEALS = 1000 };
static pthread_mutex_t chop[P];
static sem_t seats;
static int meals[P];    /* meals[i] written by philosopher i only */

SCENARIO void *philosopher(void *arg)
{
	int i = (int)(long)arg;

	for (int k = 0; k < MEALS; k++) {
		while (sem_wait(&seats))
			;
		L(&chop[i]);
		L(&chop[(i + 1) % P]);
		meals[i]++;
		U(&chop[(i + 1) % P]);
		U(&chop[i]);
		sem_post(&seats);
	}
	KEEP();
	return NULL;
}

int main(void)
{
	pthread_t th[P];
	int total = 0;

	sem_init(&seats, 0, P - 1);
	for (int i = 0; i < P; i++)
		mutex_init(&chop[i], PTHREAD_MUTEX_NORMAL);
	for (int i = 0; i < P; i++)
		pthread_create(&th[i], NULL, philosopher, (void *)(long)i);
	for (int i = 0; i < P; i++) {
		pthread_join(th[i], NULL);
		total += meals[i];
	}
	say("meals %d", total);
	say("done");
	return 0;
}
