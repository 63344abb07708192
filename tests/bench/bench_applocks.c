/*
 * bench_applocks: a lock-heavy program of the application's own, to time
 * what a lock checker costs per pthread lock operation.  It needs only libc
 * and pthreads, so the same source runs plain, under
 * LD_PRELOAD=libvadshim.so (lockdep=app), built with -fsanitize=thread, and
 * under valgrind --tool=helgrind (tools/bench_applocks.py does all four).
 *
 * usage: bench_applocks ROW ITERS [BATCHES]
 *   uncontended  lock+unlock of one mutex, one thread
 *   nested       lock a, lock b, unlock b, unlock a (one op = the four calls)
 *   contended    two threads, each ITERS lock+unlock pairs of one shared
 *                mutex around a counter increment
 * prints: bench_applocks row=ROW iters=N ns_per_op=X (the best batch)
 *
 * The counter is guarded by m; a and b guard nothing (their order is what
 * is measured).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static long counter;            /* guarded by m */
static long iters;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void uncontended(void)
{
	for (long i = 0; i < iters; i++) {
		pthread_mutex_lock(&m);
		counter++;
		pthread_mutex_unlock(&m);
	}
}

static void nested(void)
{
	for (long i = 0; i < iters; i++) {
		pthread_mutex_lock(&a);
		pthread_mutex_lock(&b);
		counter++;
		pthread_mutex_unlock(&b);
		pthread_mutex_unlock(&a);
	}
}

static pthread_barrier_t start;

static void *hammer(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&start);
	uncontended();
	return NULL;
}

static void contended(void)
{
	pthread_t th;

	pthread_create(&th, NULL, hammer, NULL);
	pthread_barrier_wait(&start);
	uncontended();
	pthread_join(th, NULL);
}

int main(int argc, char **argv)
{
	void (*fn)(void);
	int batches = argc > 3 ? atoi(argv[3]) : 5;
	double best = 0;
	long ops;

	if (argc < 3 || batches < 1)
		goto usage;
	iters = atol(argv[2]);
	if (!strcmp(argv[1], "uncontended"))
		fn = uncontended;
	else if (!strcmp(argv[1], "nested"))
		fn = nested;
	else if (!strcmp(argv[1], "contended"))
		fn = contended;
	else
		goto usage;
	pthread_barrier_init(&start, NULL, 2);
	ops = fn == contended ? 2 * iters : iters;
	for (int k = 0; k < batches; k++) {
		double t0 = now_ns(), ns;

		fn();
		ns = (now_ns() - t0) / (double)ops;
		if (k == 0 || ns < best)
			best = ns;
	}
	if (counter != (long)batches * ops) {
		printf("bench_applocks: counter %ld, expected %ld\n", counter, (long)batches * ops);
		return 1;
	}
	printf("bench_applocks row=%s iters=%ld ns_per_op=%.2f\n", argv[1], iters, best);
	return 0;
usage:
	fprintf(stderr, "usage: bench_applocks uncontended|nested|contended ITERS [BATCHES]\n");
	return 2;
}
