/*
 * The shared library of app_shlib: its own static locks x and y, taken
 * through this library's PLT, and a function that takes the program's lock
 * under x.
 */
#include "app_common.h"

static pthread_mutex_t x = PTHREAD_MUTEX_INITIALIZER, y = PTHREAD_MUTEX_INITIALIZER;

SCENARIO void lib_xy(void) { PAIR(&x, &y); }
SCENARIO void lib_yx(void) { PAIR(&y, &x); }

/* x, then the caller's lock: x -> outer */
SCENARIO void lib_x_then(pthread_mutex_t *outer) { PAIR(&x, outer); }

/* the caller holds outer: outer -> x */
SCENARIO void lib_take_x(void)
{
	L(&x);
	U(&x);
	KEEP();
}
