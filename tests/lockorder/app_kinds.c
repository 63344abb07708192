/*
 * The other lock kinds the checker interposes, each in an ABBA that one
 * more thread could turn into a deadlock: one cycle report per kind, closed
 * in the function named.
 *
 *   timed_ba    pthread_mutex_timedlock and _clocklock (a lock that can time
 *               out is checked as blocking: the inversion is latent)
 *   spin_ba     pthread_spin_lock
 *   mtx_ba      C11 mtx_lock (and a recursive mtx_t re-entered: silent)
 *   rwtimed_ba  pthread_rwlock_timedwrlock and _clockwrlock
 */
#include "app_common.h"
#include <threads.h>
#include <time.h>

static pthread_mutex_t ta = PTHREAD_MUTEX_INITIALIZER, tb = PTHREAD_MUTEX_INITIALIZER;
static pthread_spinlock_t sa, sb;
static mtx_t ma, mb, mr;
static pthread_rwlock_t ra = PTHREAD_RWLOCK_INITIALIZER, rb = PTHREAD_RWLOCK_INITIALIZER;

static struct timespec in_10s(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	ts.tv_sec += 10;
	return ts;
}

SCENARIO void timed_ab(void)
{
	struct timespec ts = in_10s(CLOCK_REALTIME);

	L(&ta);
	if (pthread_mutex_timedlock(&tb, &ts))
		fail("pthread_mutex_timedlock", EINVAL);
	U(&tb);
	U(&ta);
	KEEP();
}

SCENARIO void timed_ba(void)
{
	struct timespec ts = in_10s(CLOCK_MONOTONIC);

	L(&tb);
	if (pthread_mutex_clocklock(&ta, CLOCK_MONOTONIC, &ts))
		fail("pthread_mutex_clocklock", EINVAL);
	U(&ta);
	U(&tb);
	KEEP();
}

SCENARIO void spin_ab(void)
{
	pthread_spin_lock(&sa);
	pthread_spin_lock(&sb);
	pthread_spin_unlock(&sb);
	pthread_spin_unlock(&sa);
	KEEP();
}

SCENARIO void spin_ba(void)
{
	pthread_spin_lock(&sb);
	pthread_spin_lock(&sa);
	pthread_spin_unlock(&sa);
	pthread_spin_unlock(&sb);
	KEEP();
}

SCENARIO void mtx_ab(void)
{
	mtx_lock(&mr);
	mtx_lock(&ma);
	mtx_lock(&mr);          /* recursive re-entry: no ma -> mr */
	mtx_lock(&mb);
	mtx_unlock(&mb);
	mtx_unlock(&mr);
	mtx_unlock(&ma);
	mtx_unlock(&mr);
	KEEP();
}

SCENARIO void mtx_ba(void)
{
	mtx_lock(&mb);
	mtx_lock(&ma);
	mtx_unlock(&ma);
	mtx_unlock(&mb);
	KEEP();
}

SCENARIO void rwtimed_ab(void)
{
	struct timespec ts = in_10s(CLOCK_REALTIME);

	pthread_rwlock_wrlock(&ra);
	if (pthread_rwlock_timedwrlock(&rb, &ts))
		fail("pthread_rwlock_timedwrlock", EINVAL);
	pthread_rwlock_unlock(&rb);
	pthread_rwlock_unlock(&ra);
	KEEP();
}

SCENARIO void rwtimed_ba(void)
{
	struct timespec ts = in_10s(CLOCK_MONOTONIC);

	pthread_rwlock_wrlock(&rb);
	if (pthread_rwlock_clockwrlock(&ra, CLOCK_MONOTONIC, &ts))
		fail("pthread_rwlock_clockwrlock", EINVAL);
	pthread_rwlock_unlock(&ra);
	pthread_rwlock_unlock(&rb);
	KEEP();
}

int main(void)
{
	pthread_spin_init(&sa, PTHREAD_PROCESS_PRIVATE);
	pthread_spin_init(&sb, PTHREAD_PROCESS_PRIVATE);
	if (mtx_init(&ma, mtx_plain) || mtx_init(&mb, mtx_plain) ||
	    mtx_init(&mr, mtx_plain | mtx_recursive))
		fail("mtx_init", EINVAL);
	timed_ab();
	timed_ba();
	spin_ab();
	spin_ba();
	mtx_ab();
	mtx_ba();
	rwtimed_ab();
	rwtimed_ba();
	say("done");
	return 0;
}
