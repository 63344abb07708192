/*
 * Locks in a shared library (libapp_shlib_lib.so, built with the test):
 * an inversion inside the library (x, y) is reported in lib_yx; an
 * inversion between the program's lock m and the library's x (m -> x from
 * the program, x -> m inside the library) is reported in lib_x_then.  Two
 * reports; the library's frames are named from its own symbols.
 */
#include "app_common.h"

void lib_xy(void);
void lib_yx(void);
void lib_x_then(pthread_mutex_t *outer);
void lib_take_x(void);

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

SCENARIO void m_then_lib(void)
{
	L(&m);
	lib_take_x();
	U(&m);
	KEEP();
}

int main(void)
{
	lib_xy();
	lib_yx();
	m_then_lib();
	lib_x_then(&m);
	say("done");
	return 0;
}
