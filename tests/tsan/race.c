/*
 * tsan/race: a program built with clang -fsanitize=thread, run under
 * LD_PRELOAD=libvadshim.so by run_tsan.sh.  "race": two threads write a
 * counter with no lock (TSan must still report the race with the shim
 * serving the program's mmap family).  "clean": the same under a pthread
 * mutex (no report, no hang).  Both also map, touch and unmap memory so
 * that the shim's arena (and TSan's view of it) is exercised.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static long counter;            /* guarded by mu in "clean"; racy in "race" */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int use_lock;

static void *worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < 2000; i++) {
		char *p = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			return (void *)1;
		memset(p, i, 1 << 16);
		munmap(p, 1 << 16);
		if (use_lock)
			pthread_mutex_lock(&mu);
		counter++;
		if (use_lock)
			pthread_mutex_unlock(&mu);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[2];
	void *r0, *r1;

	use_lock = argc > 1 && strcmp(argv[1], "clean") == 0;
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, worker, NULL);
	pthread_join(th[0], &r0);
	pthread_join(th[1], &r1);
	printf("counter %ld\n", counter);
	return r0 || r1;
}
