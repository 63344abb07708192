/*
 * Unit test of the program-lock runtime (shim/lk_app.c) driven through
 * its interface, with addresses standing for locks (no pthread call):
 * identity by address plus generation (retire on init/destroy, on a freed
 * range), recursion, self-deadlock, trylock, the rwlock read-read policy,
 * condition waits, many held locks, and the sliding window of 2^17 locks.
 * Each case says how many new distinct violations it must produce; the
 * graph's invariant checker runs after each.
 *
 * Single-threaded but for the last case (four threads at once, for the
 * TSan build).  Reports go to stderr (they are expected where a case
 * wants a violation).  Prints one line per failed check and "N passed,
 * N failed".
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim/lk.h"
#include "shim/lk_app.h"
#include "shim/lk_valid.h"

static int npass, nfail;

static void check(bool ok, const char *what)
{
	if (ok) {
		npass++;
		return;
	}
	nfail++;
	printf("FAIL: %s\n", what);
}

#define PC ((uintptr_t)__builtin_return_address(0))

static __attribute__((noinline)) void take(const void *l, enum lk_app_type type, unsigned how)
{
	enum lk_app_go go = lk_app_before(l, type, how, PC);

	lk_app_acquired(l, type, how, go, PC, false, 0);
}

static __attribute__((noinline)) void drop(const void *l, enum lk_app_type type)
{
	lk_app_release(l, type, 0, PC);
}

#define M LK_APP_MUTEX

/* Locks are addresses in these arrays (8-byte slots, like a mutex's alignment). */
static uint64_t locks[64][8];
static uint64_t window[1 << 17];
static uint64_t heap_like[16];

static void case_end(const char *name, unsigned before, unsigned want)
{
	char what[160];
	const char *why;
	unsigned got = lk_valid_distinct() - before;

	snprintf(what, sizeof(what), "%s: %u new distinct violations, want %u", name, got, want);
	check(got == want, what);
	snprintf(what, sizeof(what), "%s: nothing left held (%u)", name, lk_at.n);
	check(lk_at.n == 0, what);
	snprintf(what, sizeof(what), "%s: lk_valid_check", name);
	check(lk_valid_check(&why) == 0, what);
}

static void abba(void *a, void *b, enum lk_app_type ta, unsigned ha, enum lk_app_type tb,
		 unsigned hb)
{
	take(a, ta, ha);
	take(b, tb, hb);
	drop(b, tb);
	drop(a, ta);
	take(b, tb, hb);
	take(a, ta, ha);
	drop(a, ta);
	drop(b, tb);
}

/* Threads: consistent orders on shared locks, private locks retired and reused. */
static void *worker(void *arg)
{
	uintptr_t t = (uintptr_t)arg;

	for (unsigned k = 0; k < 20000; k++) {
		void *mine = &heap_like[12 + t % 4];

		if (k % 64 == 0 && t < 4)
			lk_app_retire(mine);
		take(locks[40], M, 0);
		if (t < 4)
			take(mine, M, 0);
		take(locks[41 + k % 8], M, 0);
		drop(locks[41 + k % 8], M);
		if (t < 4)
			drop(mine, M);
		drop(locks[40], M);
	}
	return NULL;
}

int main(void)
{
	unsigned v0;

	lk_valid_set_limits(0, LK_EDGES_HARD, 0);
	check(lk_app_enable(1u << 18) == 0, "lk_app_enable maps its tables");

	/* ABBA, repeated 1000 times: one distinct violation */
	v0 = lk_valid_distinct();
	for (int i = 0; i < 1000; i++)
		abba(locks[0], locks[1], M, 0, M, 0);
	case_end("abba x1000", v0, 1);

	/* the same addresses, retired (destroy + init) between the orders: silent */
	v0 = lk_valid_distinct();
	take(locks[2], M, 0);
	take(locks[3], M, 0);
	drop(locks[3], M);
	drop(locks[2], M);
	lk_app_retire(locks[2]);
	lk_app_retire(locks[3]);
	take(locks[3], M, 0);
	take(locks[2], M, 0);
	drop(locks[2], M);
	drop(locks[3], M);
	case_end("retire between orders", v0, 0);

	/* a freed range retires what is in it, and only that */
	v0 = lk_valid_distinct();
	take(&heap_like[0], M, 0);
	take(locks[4], M, 0);
	drop(locks[4], M);
	drop(&heap_like[0], M);
	take(locks[5], M, 0);
	take(locks[4], M, 0);
	drop(locks[4], M);
	drop(locks[5], M);
	lk_app_forget_range(heap_like, sizeof(heap_like));
	take(locks[4], M, 0);
	take(&heap_like[0], M, 0);      /* new instance: no cycle with the old one */
	drop(&heap_like[0], M);
	take(locks[5], M, 0);           /* locks[4] -> locks[5]: closes 5 -> 4 -> 5 */
	drop(locks[5], M);
	drop(locks[4], M);
	case_end("free retires the range only", v0, 1);

	/* recursion: only the first acquisition counts, and it hides no inversion */
	v0 = lk_valid_distinct();
	take(locks[6], LK_APP_MUTEX_RECURSIVE, 0);
	take(locks[6], LK_APP_MUTEX_RECURSIVE, 0);
	take(locks[7], M, 0);
	take(locks[6], LK_APP_MUTEX_RECURSIVE, 0);
	drop(locks[6], LK_APP_MUTEX_RECURSIVE);
	drop(locks[7], M);
	drop(locks[6], LK_APP_MUTEX_RECURSIVE);
	drop(locks[6], LK_APP_MUTEX_RECURSIVE);
	case_end("recursive re-entry", v0, 0);
	v0 = lk_valid_distinct();
	take(locks[7], M, 0);
	take(locks[6], LK_APP_MUTEX_RECURSIVE, 0);
	drop(locks[6], LK_APP_MUTEX_RECURSIVE);
	drop(locks[7], M);
	case_end("recursion hides no inversion", v0, 1);

	/* self-deadlock: A; A and A; B; A are recursive locking, not cycles */
	v0 = lk_valid_distinct();
	take(locks[8], M, 0);
	check(lk_app_before(locks[8], M, 0, PC) == LK_APP_SKIP, "AA: the second lock is not recorded");
	take(locks[9], M, 0);
	check(lk_app_before(locks[8], M, 0, PC) == LK_APP_SKIP, "ABA: not recorded");
	drop(locks[9], M);
	drop(locks[8], M);
	case_end("AA and ABA: one recursive-locking violation", v0, 1);
	v0 = lk_valid_distinct();
	take(locks[10], LK_APP_MUTEX_ERRORCHECK, 0);
	check(lk_app_before(locks[10], LK_APP_MUTEX_ERRORCHECK, 0, PC) == LK_APP_SKIP,
	      "errorcheck relock: not recorded");
	drop(locks[10], LK_APP_MUTEX_ERRORCHECK);
	check(!lk_app_release(locks[10], LK_APP_MUTEX_ERRORCHECK, 0, PC), "errorcheck: bad unlock seen");
	case_end("errorcheck relock and bad unlock", v0, 2);

	/* trylock adds no edge into the lock, in both directions */
	v0 = lk_valid_distinct();
	abba(locks[11], locks[12], M, 0, M, LK_APP_TRY);
	take(locks[12], M, 0);
	take(locks[11], M, LK_APP_TRY);
	drop(locks[11], M);
	drop(locks[12], M);
	case_end("trylock both ways", v0, 0);
	/* but a lock held by trylock orders what is taken after it */
	v0 = lk_valid_distinct();
	take(locks[13], M, LK_APP_TRY);
	take(locks[14], M, 0);
	drop(locks[14], M);
	drop(locks[13], M);
	take(locks[14], M, 0);
	take(locks[13], M, 0);
	drop(locks[13], M);
	drop(locks[14], M);
	case_end("trylock-held orders later locks", v0, 1);

	/* rwlocks: read-read cannot deadlock on reader-preferring ones */
	v0 = lk_valid_distinct();
	abba(locks[15], locks[16], LK_APP_RWLOCK, LK_APP_READ, LK_APP_RWLOCK, LK_APP_READ);
	case_end("reader-preferring read/read", v0, 0);
	v0 = lk_valid_distinct();
	take(locks[17], LK_APP_RWLOCK, 0);              /* write A, read B */
	take(locks[18], LK_APP_RWLOCK, LK_APP_READ);
	drop(locks[18], LK_APP_RWLOCK);
	drop(locks[17], LK_APP_RWLOCK);
	take(locks[18], LK_APP_RWLOCK, LK_APP_READ);    /* read B, write A */
	take(locks[17], LK_APP_RWLOCK, 0);
	drop(locks[17], LK_APP_RWLOCK);
	drop(locks[18], LK_APP_RWLOCK);
	case_end("reader-preferring write/read vs read/write", v0, 0);
	v0 = lk_valid_distinct();
	abba(locks[19], locks[20], LK_APP_RWLOCK, LK_APP_READ, LK_APP_RWLOCK, 0);
	case_end("reader-preferring read A, write B / write B, read A", v0, 0);
	v0 = lk_valid_distinct();
	take(locks[26], LK_APP_RWLOCK, LK_APP_READ);    /* read A, write B */
	take(locks[27], LK_APP_RWLOCK, 0);
	drop(locks[27], LK_APP_RWLOCK);
	drop(locks[26], LK_APP_RWLOCK);
	take(locks[27], LK_APP_RWLOCK, LK_APP_READ);    /* read B, write A: each waits for the other's reader */
	take(locks[26], LK_APP_RWLOCK, 0);
	drop(locks[26], LK_APP_RWLOCK);
	drop(locks[27], LK_APP_RWLOCK);
	case_end("reader-preferring read A, write B / read B, write A", v0, 1);
	v0 = lk_valid_distinct();
	abba(locks[21], locks[22], LK_APP_RWLOCK_WRITER, LK_APP_READ, LK_APP_RWLOCK_WRITER,
	     LK_APP_READ);
	case_end("writer-preferring read/read", v0, 1);
	v0 = lk_valid_distinct();
	take(locks[23], LK_APP_RWLOCK, LK_APP_READ);
	check(lk_app_before(locks[23], LK_APP_RWLOCK, LK_APP_READ, PC) == LK_APP_REENTER,
	      "reader-preferring: read again is a re-entry");
	lk_app_acquired(locks[23], LK_APP_RWLOCK, LK_APP_READ, LK_APP_REENTER, PC, false, 0);
	drop(locks[23], LK_APP_RWLOCK);
	drop(locks[23], LK_APP_RWLOCK);
	case_end("reader-preferring recursive read", v0, 0);

	/* condition wait: the relock is checked against the other held locks */
	v0 = lk_valid_distinct();
	{
		struct lk_app_wait w;

		take(locks[24], M, 0);
		take(locks[25], M, 0);
		lk_app_wait_begin(locks[25], M, PC, &w);        /* 24 -> 25 again: known */
		lk_app_wait_end(locks[25], &w);
		drop(locks[25], M);
		drop(locks[24], M);
		take(locks[25], M, 0);
		take(locks[24], M, 0);                          /* 25 -> 24 closes it */
		lk_app_wait_begin(locks[25], M, PC, &w);        /* relock 25 under 24 */
		lk_app_wait_end(locks[25], &w);
		drop(locks[24], M);
		drop(locks[25], M);
	}
	case_end("cond wait relock", v0, 1);

	/* 1000 held at once, then released in any order */
	v0 = lk_valid_distinct();
	for (int i = 0; i < 1000; i++)
		take(&window[i], M, 0);
	check(lk_at.n == 1000, "1000 held");
	for (int i = 0; i < 1000; i += 2)
		drop(&window[i], M);
	for (int i = 999; i > 0; i -= 2)
		drop(&window[i], M);
	case_end("1000 held", v0, 0);
	for (int i = 0; i < 1000; i++)
		lk_app_retire(&window[i]);

	/* 2^17 locks in a sliding window of 5: silent, bounded */
	v0 = lk_valid_distinct();
	for (unsigned i = 0; i < (1u << 17); i++) {
		take(&window[i], M, 0);
		if (i >= 4)
			drop(&window[i - 4], M);
	}
	for (unsigned i = (1u << 17) - 4; i < (1u << 17); i++)
		drop(&window[i], M);
	case_end("sliding window of 5 over 2^17 locks", v0, 0);
	check(lk_valid_edges_lost() == 0, "window: no edge dropped");

	/* churn: locks created and destroyed at a few addresses, each nested with a
	   long-lived one in both orders: the retired instances' edges are reused */
	v0 = lk_valid_distinct();
	{
		unsigned hw = lk_valid_nedges();

		for (unsigned k = 0; k < 100000; k++) {
			void *x = &heap_like[8 + k % 4];

			lk_app_retire(x);
			if (k & 1) {
				take(x, M, 0);
				take(locks[30], M, 0);
				drop(locks[30], M);
				drop(x, M);
			} else {
				take(locks[30], M, 0);
				take(x, M, 0);
				drop(x, M);
				drop(locks[30], M);
			}
		}
		char what[120];

		snprintf(what, sizeof(what), "churn: edge ids reused (%u given out for 100000 instances)",
			 lk_valid_nedges() - hw);
		check(lk_valid_nedges() - hw < 1000, what);
	}
	case_end("churn of destroyed locks in both orders", v0, 0);

	/* four threads at once: table inserts, node allocation, retire, graph inserts */
	v0 = lk_valid_distinct();
	{
		pthread_t th[4];

		for (uintptr_t t = 0; t < 4; t++)
			pthread_create(&th[t], NULL, worker, (void *)t);
		for (int t = 0; t < 4; t++)
			pthread_join(th[t], NULL);
	}
	case_end("four threads, consistent orders, private locks retired", v0, 0);

	printf("%d passed, %d failed\n", npass, nfail);
	return nfail != 0;
}
