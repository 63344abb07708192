/*
 * test_lk_sig: the lock runtime's deferral of signals (shim/lk_sig.h).
 * A handler in the trampoline's style (defer while the thread is inside a
 * shim lock, run otherwise) gets signals sent to the thread while it
 * holds locks: none may run before the outermost release, each must run
 * after it with its own siginfo, once.
 */
#include <assert.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__SANITIZE_THREAD__)
#define TSAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TSAN_BUILD 1
#endif
#endif
#ifndef TSAN_BUILD
#define TSAN_BUILD 0
#endif

#include "shim/lk.h"
#include "shim/lk_sig.h"

static struct lk_class c_a = LK_CLASS_INIT("sig_a", LK_RANK_LEAF + 1, false);
static struct lk_class c_b = LK_CLASS_INIT("sig_b", LK_RANK_LEAF + 2, false);
static struct lk_class c_r = LK_CLASS_INIT("sig_r", LK_RANK_LEAF + 3, true);
static struct lk_lock la = LK_LOCK_INIT(&c_a, "a");
static struct lk_lock lb = LK_LOCK_INIT(&c_b, "b");
static struct lk_lock lr = LK_LOCK_INIT(&c_r, "r");

static volatile sig_atomic_t ran[65], deferred, last_val;

static void handler(int sig, siginfo_t *si, void *uc)
{
	if (lk_sig_deferring()) {
		lk_sig_defer(si, uc);
		deferred++;
		return;
	}
	ran[sig]++;
	last_val = si->si_value.sival_int;
}

static int held_by_other, release_other;

static void *holder(void *arg)
{
	(void)arg;
	lk_lock(&lb);
	__atomic_store_n(&held_by_other, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&release_other, __ATOMIC_ACQUIRE))
		usleep(100);
	lk_unlock(&lb);
	return NULL;
}

static void send(int sig, int val)
{
	union sigval v = { .sival_int = val };
	assert(pthread_sigqueue(pthread_self(), sig, v) == 0);
}

/* Under TSan the runtime itself may hold a signal until its next
 * interceptor: give it a few chances. */
static void settle(int sig, int want)
{
	for (int i = 0; i < 200 && ran[sig] < want; i++)
		usleep(1000);
}

static void reset(void)
{
	memset((void *)ran, 0, sizeof(ran));
	deferred = 0;
	last_val = 0;
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	int rt = SIGRTMIN + 2;
	assert(sigaction(SIGUSR1, &sa, NULL) == 0);
	assert(sigaction(SIGUSR2, &sa, NULL) == 0);
	assert(sigaction(rt, &sa, NULL) == 0);

	/* outside any lock: at once */
	send(SIGUSR1, 5);
	settle(SIGUSR1, 1);
	assert(ran[SIGUSR1] == 1 && last_val == 5 && deferred == 0);

	/* inside two nested locks: held back until the outer release */
	reset();
	lk_lock(&la);
	send(SIGUSR1, 77);
	usleep(2000);
	assert(ran[SIGUSR1] == 0);
	lk_lock(&lb);
	send(SIGUSR2, 78);
	lk_unlock(&lb);
	usleep(2000);
	assert(ran[SIGUSR1] == 0 && ran[SIGUSR2] == 0);
	lk_unlock(&la);
	settle(SIGUSR1, 1);
	settle(SIGUSR2, 1);
	assert(ran[SIGUSR1] == 1 && ran[SIGUSR2] == 1);
	printf("nested locks: deferred %d, delivered after the release\n", (int)deferred);

	/* re-entry of a recursive lock does not release anything */
	reset();
	lk_lock(&lr);
	lk_lock(&lr);
	send(rt, 91);
	lk_unlock(&lr);
	usleep(2000);
	assert(ran[rt] == 0);
	lk_unlock(&lr);
	settle(rt, 1);
	assert(ran[rt] == 1 && last_val == 91);

	/* real-time signals queue: three of them, three deliveries */
	reset();
	lk_lock(&la);
	send(rt, 1);
	send(rt, 2);
	send(rt, 3);
	lk_unlock(&la);
	settle(rt, 3);
#if TSAN_BUILD
	/* TSan keeps one pending instance per signal number in its own
	 * handler: queued real-time instances merge there. */
	assert(ran[rt] >= 1);
#else
	assert(ran[rt] == 3 && last_val == 3);
#endif

	/* a condition-style wait releases the lock completely: delivery */
	reset();
	lk_lock(&lr);
	lk_lock(&lr);
	send(SIGUSR1, 12);
	unsigned d = lk_unlock_for_wait(&lr);
	settle(SIGUSR1, 1);
	assert(ran[SIGUSR1] == 1);
	lk_relock_after_wait(&lr, d);
	lk_unlock(&lr);
	lk_unlock(&lr);

	/* a failed trylock leaves the thread outside */
	reset();
	pthread_t t;
	assert(pthread_create(&t, NULL, holder, NULL) == 0);
	while (!__atomic_load_n(&held_by_other, __ATOMIC_ACQUIRE))
		usleep(100);
	assert(!lk_trylock(&lb));
	assert(lk_sig_self.depth == 0);
	send(SIGUSR1, 3);
	settle(SIGUSR1, 1);
	assert(ran[SIGUSR1] == 1 && deferred == 0);
	__atomic_store_n(&release_other, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	assert(lk_trylock(&lb));
	lk_unlock(&lb);
	assert(lk_sig_self.depth == 0 && lk_held_count() == 0);
	printf("lk_sig: all cases passed\n");
	return 0;
}
