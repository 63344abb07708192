/*
 * Threads with private and consistently nested locks (TSan's Test6, 10,
 * 11, 12): 4 threads, each 20 000 times: its own outer mutex, then its 3
 * own inner mutexes in index order, then two shared reader-preferring
 * rwlocks read in the same order by all, then one shared mutex as the
 * innermost lock.  Every order agrees: silent; the shared counter adds up.
 * Then the canary.
 */
#include "app_common.h"

enum { THREADS = 4, ROUNDS = 20000 };
static pthread_mutex_t own[THREADS][4];
static pthread_rwlock_t r1 = PTHREAD_RWLOCK_INITIALIZER, r2 = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t shared = PTHREAD_MUTEX_INITIALIZER;
static long total;              /* guarded by shared */

SCENARIO void *worker(void *arg)
{
	pthread_mutex_t *m = own[(long)arg];

	for (int k = 0; k < ROUNDS; k++) {
		for (int i = 0; i < 4; i++)
			L(&m[i]);
		pthread_rwlock_rdlock(&r1);
		pthread_rwlock_rdlock(&r2);
		L(&shared);
		total++;
		U(&shared);
		pthread_rwlock_unlock(&r2);
		pthread_rwlock_unlock(&r1);
		for (int i = 3; i >= 0; i--)
			U(&m[i]);
	}
	KEEP();
	return NULL;
}

int main(void)
{
	pthread_t th[THREADS];

	for (long t = 0; t < THREADS; t++)
		for (int i = 0; i < 4; i++)
			mutex_init(&own[t][i], PTHREAD_MUTEX_NORMAL);
	for (long t = 0; t < THREADS; t++)
		pthread_create(&th[t], NULL, worker, (void *)t);
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	say("total %ld", total);
	canary();
	say("done");
	return 0;
}
