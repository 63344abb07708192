/*
 * Locks never passed to an init function (static initializers), found on
 * their first use with the type their initializer gave them: a recursive
 * mutex re-entered, an errorcheck and a normal mutex, a reader-preferring
 * rwlock read twice: all silent.  Then one inversion between the normal
 * mutex and the rwlock's write side: one cycle report, in static_ba.
 */
#include "app_common.h"

static pthread_mutex_t n = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t r = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static pthread_mutex_t e = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;

SCENARIO void static_silent(void)
{
	L(&n);
	U(&n);
	L(&r);
	L(&e);
	L(&r);          /* recursive: no edge e -> r */
	U(&r);
	U(&e);
	U(&r);
	pthread_rwlock_rdlock(&rw);
	pthread_rwlock_rdlock(&rw);     /* recursive read of a reader-preferring rwlock */
	pthread_rwlock_unlock(&rw);
	pthread_rwlock_unlock(&rw);
	KEEP();
}

SCENARIO void static_ab(void)
{
	L(&n);
	pthread_rwlock_wrlock(&rw);
	pthread_rwlock_unlock(&rw);
	U(&n);
	KEEP();
}

SCENARIO void static_ba(void)
{
	pthread_rwlock_wrlock(&rw);
	L(&n);
	U(&n);
	pthread_rwlock_unlock(&rw);
	KEEP();
}

int main(void)
{
	static_silent();
	static_ab();
	static_ba();
	say("done");
	return 0;
}
