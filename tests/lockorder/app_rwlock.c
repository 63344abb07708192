/*
 * rwlock read/write mixes, by rwlock kind.  A read lock of a
 * reader-preferring rwlock (glibc's default) waits only while a writer
 * holds it, so a cycle through a read acquisition followed by a read hold
 * of the same lock cannot deadlock; a writer-preferring non-recursive
 * rwlock also makes readers wait behind a waiting writer, so read-read
 * inversions and read re-locks can deadlock there (lockdep's rwlock_t vs
 * rw_semaphore tables).  R = rdlock, W = wrlock.
 *
 *   reader-silent   reader-preferring: Ra Rb | Rb Ra;  Rc Wd | Wd Rc;
 *                   Re Re (recursive read); then the canary: one report
 *   reader-ww       reader-preferring: Rc Wd | Wd Wc (closed in wd_wc) and
 *                   Wa Wb | Wb Wa (closed in wb_wa): two cycle reports
 *   writer-rr       writer-preferring: Ra Rb | Rb Ra: a cycle, in rb_ra
 *   writer-rerd     writer-preferring: Re Re: recursive locking, in rerd
 *                   (no writer waits here, so it does not hang natively)
 *   wrelock         Wa Rb Wa (liblockdep's WW): glibc says EDEADLK;
 *                   recursive locking, in w_r_w
 */
#include "app_common.h"

static pthread_rwlock_t a, b, c, d, e;

ALWAYS void R(pthread_rwlock_t *l)
{
	int err = pthread_rwlock_rdlock(l);

	if (err)
		fail("pthread_rwlock_rdlock", err);
}

ALWAYS void W(pthread_rwlock_t *l)
{
	int err = pthread_rwlock_wrlock(l);

	if (err)
		fail("pthread_rwlock_wrlock", err);
}

ALWAYS void RU(pthread_rwlock_t *l)
{
	int err = pthread_rwlock_unlock(l);

	if (err)
		fail("pthread_rwlock_unlock", err);
}

static void init_all(int kind)
{
	pthread_rwlockattr_t at;
	pthread_rwlock_t *all[] = { &a, &b, &c, &d, &e };

	pthread_rwlockattr_init(&at);
	pthread_rwlockattr_setkind_np(&at, kind);
	for (unsigned i = 0; i < sizeof all / sizeof all[0]; i++)
		if (pthread_rwlock_init(all[i], &at))
			fail("pthread_rwlock_init", EINVAL);
	pthread_rwlockattr_destroy(&at);
}

SCENARIO void ra_rb(void) { R(&a); R(&b); RU(&b); RU(&a); KEEP(); }
SCENARIO void rb_ra(void) { R(&b); R(&a); RU(&a); RU(&b); KEEP(); }
SCENARIO void rc_wd(void) { R(&c); W(&d); RU(&d); RU(&c); KEEP(); }
SCENARIO void wd_rc(void) { W(&d); R(&c); RU(&c); RU(&d); KEEP(); }
SCENARIO void wd_wc(void) { W(&d); W(&c); RU(&c); RU(&d); KEEP(); }
SCENARIO void wa_wb(void) { W(&a); W(&b); RU(&b); RU(&a); KEEP(); }
SCENARIO void wb_wa(void) { W(&b); W(&a); RU(&a); RU(&b); KEEP(); }
SCENARIO void rerd(void) { R(&e); R(&e); RU(&e); RU(&e); KEEP(); }

SCENARIO void w_r_w(void)
{
	W(&a);
	R(&b);
	say("write relock: %s", strerror(pthread_rwlock_wrlock(&a)));
	RU(&b);
	RU(&a);
	KEEP();
}

int main(int argc, char **argv)
{
	const char *s = argc > 1 ? argv[1] : "";

	if (!strcmp(s, "reader-silent")) {
		init_all(PTHREAD_RWLOCK_PREFER_READER_NP);
		ra_rb();
		rb_ra();
		rc_wd();
		wd_rc();
		rerd();
		say("no cycle");
		canary();
	} else if (!strcmp(s, "reader-ww")) {
		init_all(PTHREAD_RWLOCK_PREFER_READER_NP);
		rc_wd();
		wd_wc();
		wa_wb();
		wb_wa();
	} else if (!strcmp(s, "writer-rr")) {
		init_all(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
		ra_rb();
		rb_ra();
	} else if (!strcmp(s, "writer-rerd")) {
		init_all(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
		rerd();
	} else if (!strcmp(s, "wrelock")) {
		init_all(PTHREAD_RWLOCK_PREFER_READER_NP);
		w_r_w();
	} else {
		fprintf(stderr, "usage: app_rwlock reader-silent|reader-ww|writer-rr|writer-rerd|wrelock\n");
		return 2;
	}
	say("done");
	return 0;
}
