/*
 * bench_locks: cost of the lock runtime's fast path, linked with the core.
 *
 * A benchmark, not a test: tools/bench_locks.py runs it (`vadshim bench
 * locks`) and prints the ratio table.  One line per measurement on
 * stdout, key=value separated by spaces:
 *
 *   bench_locks case=lock_unlock held=0 lockdep=1 held_stacks=0 lockstat=0 entry_walk=0 ns=14.2
 *   bench_locks case=memory orders=1000 acquisitions=1000000 edges=1000
 *               validator_bytes=... rss_delta_kib=... stacks=...
 *
 * Cases: lock_unlock with 0 or 1 other locks held (the order held -> new
 * already known: the fast path), for lockdep=0/1, held_stacks=0/1,
 * lockstat=0/1, and with the entry walk on (as in the preloaded shim,
 * where lk_lock finds the program's call by walking the shim's frames;
 * here one frame); and the validator's memory after 1 000 000 acquisitions
 * that take 1 000 distinct orders (50 outer classes x 20 inner ones).
 * Each ns figure is the median of 7 batches.  Single-threaded; the locks
 * are this file's own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shim/lk.h"
#include "shim/lk_stack.h"
#include "shim/lk_valid.h"

#define BATCH 200000
#define REPS 7

static struct lk_class c_outer = LK_CLASS_INIT("outer", LK_RANK_NONE, true);
static struct lk_class c_inner = LK_CLASS_INIT("inner", LK_RANK_NONE, false);
static struct lk_lock outer = LK_LOCK_INIT(&c_outer, "outer");
static struct lk_lock inner = LK_LOCK_INIT(&c_inner, "inner");

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* In its own section, so that it can play "the shim's text" for the
   entry walk (lk_set_entry_text): then every acquisition walks one frame. */
extern char __start_bench_shim[], __stop_bench_shim[];

static __attribute__((noinline, section("bench_shim"))) void loop(int n)
{
	for (int i = 0; i < n; i++) {
		lk_lock(&inner);
		lk_unlock(&inner);
	}
	__asm__ volatile("");
}

static void measure(int held, int lockdep, int held_stacks, int lockstat, int walk)
{
	double t[REPS];

	lk_set_entry_text(walk ? (uintptr_t)__start_bench_shim : 0,
			  walk ? (uintptr_t)__stop_bench_shim : 0);
	lk_config.lockdep = lockdep;
	lk_config.held_stacks = held_stacks;
	lk_config.lockstat = lockstat;
	if (held)
		lk_lock(&outer);
	loop(BATCH / 10);       /* warm-up: the edge and stacks are known */
	for (int r = 0; r < REPS; r++) {
		double t0 = now_ns();

		loop(BATCH);
		t[r] = (now_ns() - t0) / BATCH;
	}
	if (held)
		lk_unlock(&outer);
	qsort(t, REPS, sizeof(t[0]), cmp_double);
	lk_set_entry_text(0, 0);
	printf("bench_locks case=lock_unlock held=%d lockdep=%d held_stacks=%d lockstat=%d entry_walk=%d ns=%.2f\n",
	       held, lockdep, held_stacks, lockstat, walk, t[REPS / 2]);
}

static long rss_kib(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

#define NOUT 50
#define NIN 20

static void memory(void)
{
	static struct lk_class oc[NOUT], ic[NIN];
	static struct lk_lock ol[NOUT], il[NIN];
	static char names[NOUT + NIN][16];
	size_t before = lk_valid_memory();
	unsigned e0 = lk_valid_nedges(), s0 = lk_stack_count();
	long rss0 = rss_kib();
	long n = 0;

	lk_config.lockdep = 1;
	lk_config.held_stacks = 0;
	lk_config.lockstat = 0;
	for (int i = 0; i < NOUT; i++) {
		snprintf(names[i], sizeof(names[i]), "o%d", i);
		oc[i] = (struct lk_class)LK_CLASS_INIT(names[i], LK_RANK_NONE, false);
		lk_init(&ol[i], &oc[i], names[i]);
	}
	for (int i = 0; i < NIN; i++) {
		snprintf(names[NOUT + i], sizeof(names[0]), "i%d", i);
		ic[i] = (struct lk_class)LK_CLASS_INIT(names[NOUT + i], LK_RANK_NONE, false);
		lk_init(&il[i], &ic[i], names[NOUT + i]);
	}
	while (n < 1000000) {
		for (int o = 0; o < NOUT && n < 1000000; o++) {
			lk_lock(&ol[o]);
			for (int i = 0; i < NIN; i++) {
				lk_lock(&il[i]);
				lk_unlock(&il[i]);
			}
			lk_unlock(&ol[o]);
			n += NIN + 1;
		}
	}
	printf("bench_locks case=memory orders=%u acquisitions=%ld validator_bytes=%zu "
	       "validator_bytes_before=%zu rss_delta_kib=%ld stacks=%u\n",
	       lk_valid_nedges() - e0, n, lk_valid_memory(), before, rss_kib() - rss0,
	       lk_stack_count() - s0);
}

int main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : "all";

	lk_config.exitcode = 0;
	if (!strcmp(only, "all") || !strcmp(only, "fast")) {
		loop(20 * BATCH);       /* warm-up: CPU frequency, caches */
		for (int held = 0; held <= 1; held++) {
			measure(held, 0, 0, 0, 0);
			measure(held, 1, 0, 0, 0);
			measure(held, 1, 0, 0, 1);
			measure(held, 1, 1, 0, 0);
			measure(held, 1, 0, 1, 0);
		}
	}
	if (!strcmp(only, "all") || !strcmp(only, "memory"))
		memory();
	return 0;
}
