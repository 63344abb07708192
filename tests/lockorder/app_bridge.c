/*
 * Cycles closed by bridging edges that were disjoint when taken, and one
 * with a distractor edge (liblockdep's ABCABC, ABCDBCDA, ABCDBDDA).  The
 * cycle is only found by a transitive search, never by looking for the
 * direct reverse edge.  The last pair closes it, in close_bridge.
 *
 *   abcabc    (a,b) (c,a) | (b,c)          cycle a -> b -> c -> a, 3 locks
 *   abcdbcda  (a,b) (c,d) (b,c) | (d,a)    cycle of 4
 *   abcdbdda  (a,b) (c,d) (b,d) | (d,a)    cycle a -> b -> d -> a, 3 locks;
 *                                          c -> d is a distractor
 */
#include "app_common.h"

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER,
		       c = PTHREAD_MUTEX_INITIALIZER, d = PTHREAD_MUTEX_INITIALIZER;

SCENARIO void pair(pthread_mutex_t *x, pthread_mutex_t *y) { PAIR(x, y); }
SCENARIO void close_bridge(pthread_mutex_t *x, pthread_mutex_t *y) { PAIR(x, y); }

int main(int argc, char **argv)
{
	const char *s = argc > 1 ? argv[1] : "";

	if (!strcmp(s, "abcabc")) {
		pair(&a, &b);
		pair(&c, &a);
		close_bridge(&b, &c);
	} else if (!strcmp(s, "abcdbcda")) {
		pair(&a, &b);
		pair(&c, &d);
		pair(&b, &c);
		close_bridge(&d, &a);
	} else if (!strcmp(s, "abcdbdda")) {
		pair(&a, &b);
		pair(&c, &d);
		pair(&b, &d);
		close_bridge(&d, &a);
	} else {
		fprintf(stderr, "usage: app_bridge abcabc|abcdbcda|abcdbdda\n");
		return 2;
	}
	say("done");
	return 0;
}
