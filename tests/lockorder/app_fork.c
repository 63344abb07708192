/*
 * fork in a threaded program: while 3 worker threads take a -> b and
 * a -> c in a loop and a sleeper thread holds s, the main thread forks 20
 * children, each time holding h (h -> a is the order everywhere).  A child
 * starts with only the forking thread: it unlocks h (it holds it), then
 * takes h -> ca -> cb in 2 new threads and in its main thread, 2000 times,
 * and exits 0; it never touches a, b, c or s (a thread that does not exist
 * in the child may have held them at the fork).  The children must neither hang nor report.  Then the
 * parent's canary: the one report of the run.
 */
#include "app_common.h"
#include <stdatomic.h>
#include <sys/wait.h>

static pthread_mutex_t h = PTHREAD_MUTEX_INITIALIZER, a = PTHREAD_MUTEX_INITIALIZER,
		       b = PTHREAD_MUTEX_INITIALIZER, c = PTHREAD_MUTEX_INITIALIZER,
		       s = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t ca = PTHREAD_MUTEX_INITIALIZER, cb = PTHREAD_MUTEX_INITIALIZER;
static atomic_int stop;
static pthread_barrier_t bar;

SCENARIO void h_a_b(void)
{
	L(&h);
	L(&a);
	L(&b);
	U(&b);
	U(&a);
	U(&h);
	KEEP();
}

static void *worker(void *arg)
{
	long n = 0;

	(void)arg;
	while (!atomic_load(&stop)) {
		PAIR(&a, n % 2 ? &b : &c);
		n++;
	}
	return NULL;
}

static void *sleeper(void *arg)
{
	(void)arg;
	L(&s);
	pthread_barrier_wait(&bar);     /* holds s ... */
	pthread_barrier_wait(&bar);     /* ... until every fork is done */
	U(&s);
	return NULL;
}

SCENARIO void *child_thread(void *arg)
{
	(void)arg;
	for (int i = 0; i < 2000; i++) {
		L(&h);
		L(&ca);
		L(&cb);
		U(&cb);
		U(&ca);
		U(&h);
	}
	return NULL;
}

static void child(void)
{
	pthread_t t[2];

	U(&h);
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, child_thread, NULL);
	child_thread(NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	exit(0);
}

int main(void)
{
	pthread_t w[3], sl;
	int ok = 0;

	pthread_barrier_init(&bar, NULL, 2);
	pthread_create(&sl, NULL, sleeper, NULL);
	pthread_barrier_wait(&bar);
	for (int i = 0; i < 3; i++)
		pthread_create(&w[i], NULL, worker, NULL);
	h_a_b();
	for (int i = 0; i < 20; i++) {
		int st;
		pid_t pid;

		fflush(stdout);
		L(&h);
		pid = fork();
		if (pid == 0)
			child();
		U(&h);
		if (pid < 0 || waitpid(pid, &st, 0) != pid)
			fail("fork/waitpid", errno);
		ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < 3; i++)
		pthread_join(w[i], NULL);
	pthread_barrier_wait(&bar);
	pthread_join(sl, NULL);
	say("children exited 0: %d of 20", ok);
	canary();
	say("done");
	return 0;
}
