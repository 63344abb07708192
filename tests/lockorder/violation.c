/*
 * lockorder scenario "rank violation": take a lock of rank mman, then one
 * of rank fdtable under it (three times), against the hierarchy
 * fdtable -> lockfs -> mman.  check_report.py asserts the report: both
 * lock names, the acquisition stack (then_fdtable called from
 * take_mman_first) and the stack where mman was taken (take_mman_first),
 * one report for the three occurrences, the summary and exit code 66.
 *
 * With the argument "good" it takes the same locks in hierarchy order
 * and must print nothing and exit 0.
 *
 * Single-threaded; the locks are this file's own, guarded by themselves.
 */
#include <string.h>

#include "shim/lk.h"

/* Out of line and exported, so that every build can name the frames. */
#define SCENARIO __attribute__((noinline, visibility("default")))

static struct lk_class mman_class = LK_CLASS_INIT("mman", LK_RANK_MMAN, true);
static struct lk_class fdtable_class = LK_CLASS_INIT("fdtable", LK_RANK_FDTABLE, true);
static struct lk_lock mman = LK_LOCK_INIT(&mman_class, "mman");
static struct lk_lock fdtable = LK_LOCK_INIT(&fdtable_class, "fdtable");

SCENARIO void then_fdtable(void)
{
	lk_lock(&fdtable);
	lk_unlock(&fdtable);
	__asm__ volatile("");   /* keep the unlock from becoming a tail jump */
}

SCENARIO void take_mman_first(void)
{
	lk_lock(&mman);
	then_fdtable();
	lk_unlock(&mman);
	__asm__ volatile("");
}

SCENARIO void then_mman(void)
{
	lk_lock(&mman);
	lk_unlock(&mman);
	__asm__ volatile("");
}

SCENARIO void take_fdtable_first(void)
{
	lk_lock(&fdtable);
	then_mman();
	lk_unlock(&fdtable);
	__asm__ volatile("");
}

int main(int argc, char **argv)
{
	int good = argc > 1 && strcmp(argv[1], "good") == 0;

	for (int i = 0; i < 3; i++) {
		if (good)
			take_fdtable_first();
		else
			take_mman_first();
	}
	lk_atexit();            /* the shim's destructor does this under LD_PRELOAD */
	return 0;
}
