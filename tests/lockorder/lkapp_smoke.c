/*
 * Smoke program for lockdep=app through the real preload path (driven by
 * check_lkapp.py): each mode does one thing with pthread locks and prints
 * what the program itself sees; the checker reads the shim's JSON log.
 *   abba     one thread, a -> b then b -> a (a cycle, no deadlock)
 *   good     a -> b twice (silence)
 *   self     lock a twice (a self-deadlock: alarm(2) ends it)
 *   stat     lock s 1000 times (lockstat counts)
 *   cond     a timed condition wait that times out (ETIMEDOUT through the
 *            versioned wrapper), then unlock
 *   fork     a thread holds b while main forks; the child locks a, b, c
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t c = PTHREAD_MUTEX_INITIALIZER, s = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static void *hold_b(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&b);
	usleep(300000);
	pthread_mutex_unlock(&b);
	return NULL;
}

static void pair(pthread_mutex_t *x, pthread_mutex_t *y)
{
	pthread_mutex_lock(x);
	pthread_mutex_lock(y);
	pthread_mutex_unlock(y);
	pthread_mutex_unlock(x);
}

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";

	printf("a=%p b=%p s=%p\n", (void *)&a, (void *)&b, (void *)&s);
	fflush(stdout);
	if (!strcmp(m, "abba")) {
		pair(&a, &b);
		pair(&b, &a);
	} else if (!strcmp(m, "good")) {
		pair(&a, &b);
		pair(&a, &b);
	} else if (!strcmp(m, "self")) {
		alarm(2);
		pthread_mutex_lock(&a);
		pthread_mutex_lock(&a);
	} else if (!strcmp(m, "stat")) {
		for (int i = 0; i < 1000; i++) {
			pthread_mutex_lock(&s);
			pthread_mutex_unlock(&s);
		}
	} else if (!strcmp(m, "cond")) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_mutex_lock(&a);
		printf("timedwait %s\n", pthread_cond_timedwait(&cv, &a, &ts) == ETIMEDOUT ? "ETIMEDOUT" : "other");
		printf("unlock %d\n", pthread_mutex_unlock(&a));
	} else if (!strcmp(m, "fork")) {
		pthread_t t;
		pid_t p;
		int st = 0;

		pthread_create(&t, NULL, hold_b, NULL);
		usleep(100000);
		p = fork();
		if (p == 0) {
			pthread_mutex_lock(&a);
			pthread_mutex_lock(&c);
			pthread_mutex_unlock(&c);
			pthread_mutex_unlock(&a);
			_exit(7);
		}
		waitpid(p, &st, 0);
		printf("child exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		pthread_join(t, NULL);
	}
	printf("done\n");
	return 0;
}
