/*
 * lockorder scenarios for the order graph, reports and lockstat: one
 * program, one scenario per argument, checked from outside by
 * check_graph.py (which parses what a user sees: the report text or the
 * JSON lines, the exit code).
 *
 *   cycle3     three unranked classes A -> B, B -> C (two threads), then
 *              C -> A in a third: a cycle of three
 *   abba       two unranked classes, A -> B then B -> A in another thread
 *   dedup      abba five times: one report, five occurrences
 *   reentry    re-entering a held recursive lock adds no edge: silent
 *   trylock    A then trylock B; elsewhere B then A: cannot deadlock, silent
 *   condwait   unlock-for-wait / relock keeps the order right: silent
 *   relock     the relock after a wait is checked: M -> X, then X held
 *              while M is relocked closes a cycle
 *   gate       P -> Q and Q -> P, both only ever under G: reported, with
 *              a note naming G as a possible gate lock
 *   twocycles  abba, then the gate case: two distinct cycles (with
 *              max_violations=1 the second one fills the table)
 *   full       five new orders with max_edges=2: one line, keeps running
 *   lockstat   known workload: 1000 acquisitions at one site; two
 *              threads hammering one lock
 *
 * VADSHIM_OPTIONS is applied as the shim's constructor would (the
 * program links the core, not the preloaded library).  Threads run one
 * after another unless a scenario says otherwise, so nothing deadlocks.
 * The locks are this file's own; each scenario uses its own classes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim/lk.h"
#include "shim/log.h"
#include "shim/options.h"

/* Out of line and exported, so that every build can name the frames. */
#define SCENARIO __attribute__((noinline, visibility("default")))
#define KEEP() __asm__ volatile("")

#define CLASS(v, name) static struct lk_class v = LK_CLASS_INIT(name, LK_RANK_NONE, false)
#define LOCK(v, cls, name) static struct lk_lock v = LK_LOCK_INIT(&cls, name)

CLASS(cls_a, "A");
CLASS(cls_b, "B");
CLASS(cls_c, "C");
LOCK(lock_a, cls_a, "a");
LOCK(lock_b, cls_b, "b");
LOCK(lock_c, cls_c, "c");

static void run_thread(void *(*fn)(void *))
{
	pthread_t th;

	pthread_create(&th, NULL, fn, NULL);
	pthread_join(th, NULL);
}

SCENARIO void take_a_then_b(void)
{
	lk_lock(&lock_a);
	lk_lock(&lock_b);
	lk_unlock(&lock_b);
	lk_unlock(&lock_a);
	KEEP();
}

SCENARIO void take_b_then_c(void)
{
	lk_lock(&lock_b);
	lk_lock(&lock_c);
	lk_unlock(&lock_c);
	lk_unlock(&lock_b);
	KEEP();
}

SCENARIO void take_c_then_a(void)
{
	lk_lock(&lock_c);
	lk_lock(&lock_a);
	lk_unlock(&lock_a);
	lk_unlock(&lock_c);
	KEEP();
}

SCENARIO void take_b_then_a(void)
{
	lk_lock(&lock_b);
	lk_lock(&lock_a);
	lk_unlock(&lock_a);
	lk_unlock(&lock_b);
	KEEP();
}

static void *t_ab(void *arg) { (void)arg; take_a_then_b(); return NULL; }
static void *t_bc(void *arg) { (void)arg; take_b_then_c(); return NULL; }
static void *t_ca(void *arg) { (void)arg; take_c_then_a(); return NULL; }
static void *t_ba(void *arg) { (void)arg; take_b_then_a(); return NULL; }

static void cycle3(void)
{
	run_thread(t_ab);
	run_thread(t_bc);
	run_thread(t_ca);
}

static void abba(int times)
{
	for (int i = 0; i < times; i++) {
		run_thread(t_ab);
		run_thread(t_ba);
	}
}

/* ---- re-entry ---- */

static struct lk_class cls_r = LK_CLASS_INIT("R", LK_RANK_NONE, true);
CLASS(cls_x, "X");
LOCK(lock_r, cls_r, "r");
LOCK(lock_x, cls_x, "x");

SCENARIO void reentry(void)
{
	lk_lock(&lock_r);
	lk_lock(&lock_x);       /* R -> X */
	lk_lock(&lock_r);       /* re-entry under X: no X -> R */
	lk_unlock(&lock_r);
	lk_unlock(&lock_x);
	lk_unlock(&lock_r);
	KEEP();
}

/* ---- trylock ---- */

CLASS(cls_t1, "T1");
CLASS(cls_t2, "T2");
CLASS(cls_t3, "T3");
LOCK(lock_t1, cls_t1, "t1");
LOCK(lock_t2, cls_t2, "t2");
LOCK(lock_t3, cls_t3, "t3");

SCENARIO void t1_then_try_t2(void)
{
	lk_lock(&lock_t1);
	if (lk_trylock(&lock_t2)) {     /* no edge T1 -> T2 */
		lk_lock(&lock_t3);      /* but T2 -> T3 (and T1 -> T3) */
		lk_unlock(&lock_t3);
		lk_unlock(&lock_t2);
	}
	lk_unlock(&lock_t1);
	KEEP();
}

SCENARIO void t2_then_t1(void)
{
	lk_lock(&lock_t2);
	lk_lock(&lock_t1);      /* T2 -> T1: no cycle, T1 -> T2 was a trylock */
	lk_unlock(&lock_t1);
	lk_unlock(&lock_t2);
	KEEP();
}

static void *t_try(void *arg) { (void)arg; t1_then_try_t2(); return NULL; }
static void *t_t21(void *arg) { (void)arg; t2_then_t1(); return NULL; }

/* ---- condition-variable style waits ---- */

static struct lk_class cls_m = LK_CLASS_INIT("M", LK_RANK_NONE, true);
CLASS(cls_w, "W");
LOCK(lock_m, cls_m, "m");
LOCK(lock_w, cls_w, "w");

/* M is released for the wait, W is taken meanwhile: no M -> W. */
SCENARIO int wait_then_work(void)
{
	unsigned d;
	int ok;

	lk_lock(&lock_m);
	lk_lock(&lock_m);
	d = lk_unlock_for_wait(&lock_m);
	ok = d == 2 && !lk_held(&lock_m) && lk_held_count() == 0;
	lk_lock(&lock_w);
	lk_unlock(&lock_w);
	lk_relock_after_wait(&lock_m, d);
	ok = ok && lk_held(&lock_m) && lk_held_count() == 1 && lock_m.depth == 2;
	lk_unlock(&lock_m);
	lk_unlock(&lock_m);
	KEEP();
	return ok && lk_held_count() == 0;
}

SCENARIO void w_then_m(void)
{
	lk_lock(&lock_w);
	lk_lock(&lock_m);       /* W -> M: fine, M -> W was never held */
	lk_unlock(&lock_m);
	lk_unlock(&lock_w);
	KEEP();
}

SCENARIO void m_then_w(void)
{
	lk_lock(&lock_m);
	lk_lock(&lock_w);       /* M -> W */
	lk_unlock(&lock_w);
	lk_unlock(&lock_m);
	KEEP();
}

/* W is held across the wait: the relock of M below W closes W -> M -> W. */
SCENARIO void relock_under_w(void)
{
	unsigned d;

	lk_lock(&lock_m);
	d = lk_unlock_for_wait(&lock_m);
	lk_lock(&lock_w);
	lk_relock_after_wait(&lock_m, d);
	lk_unlock(&lock_w);
	lk_unlock(&lock_m);
	KEEP();
}

/* ---- a gate lock: both orders of P and Q are only ever taken under G ---- */

CLASS(cls_g, "G");
CLASS(cls_p, "P");
CLASS(cls_q, "Q");
LOCK(lock_g, cls_g, "g");
LOCK(lock_p, cls_p, "p");
LOCK(lock_q, cls_q, "q");

SCENARIO void gated(struct lk_lock *first, struct lk_lock *second)
{
	lk_lock(&lock_g);
	lk_lock(first);
	lk_lock(second);
	lk_unlock(second);
	lk_unlock(first);
	lk_unlock(&lock_g);
	KEEP();
}

static void *t_gpq(void *arg) { (void)arg; gated(&lock_p, &lock_q); return NULL; }
static void *t_gqp(void *arg) { (void)arg; gated(&lock_q, &lock_p); return NULL; }

/* ---- a full edge table ---- */

static struct lk_class cls_f[6] = {
	LK_CLASS_INIT("F0", LK_RANK_NONE, false), LK_CLASS_INIT("F1", LK_RANK_NONE, false),
	LK_CLASS_INIT("F2", LK_RANK_NONE, false), LK_CLASS_INIT("F3", LK_RANK_NONE, false),
	LK_CLASS_INIT("F4", LK_RANK_NONE, false), LK_CLASS_INIT("F5", LK_RANK_NONE, false),
};

static void full(void)
{
	static struct lk_lock f[6];

	for (int i = 0; i < 6; i++)
		lk_init(&f[i], &cls_f[i], cls_f[i].name);
	for (int round = 0; round < 3; round++)
		for (int i = 1; i < 6; i++) {   /* F0 -> F1 ... F0 -> F5 */
			lk_lock(&f[0]);
			lk_lock(&f[i]);
			lk_unlock(&f[i]);
			lk_unlock(&f[0]);
		}
}

/* ---- lockstat ---- */

#define STAT_N 1000
#define HAMMER_N 100000

CLASS(cls_s, "S");
CLASS(cls_h, "H");
LOCK(lock_s, cls_s, "s");
LOCK(lock_h, cls_h, "h");
static unsigned long hammered;  /* guarded by lock_h */
static pthread_barrier_t hammer_start;

SCENARIO void stat_site_loop(void)
{
	for (int i = 0; i < STAT_N; i++) {
		lk_lock(&lock_s);
		lk_unlock(&lock_s);
	}
	KEEP();
}

static void *hammer(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&hammer_start);    /* both hammer at once */
	for (int i = 0; i < HAMMER_N; i++) {
		lk_lock(&lock_h);
		hammered++;
		for (volatile int k = 0; k < 20; k++)
			;
		lk_unlock(&lock_h);
	}
	return NULL;
}

static void lockstat(void)
{
	pthread_t th[2];

	stat_site_loop();
	pthread_barrier_init(&hammer_start, NULL, 2);
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, hammer, NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	printf("hammered %lu\n", hammered);
}

/* ---- options, as the shim's constructor applies them ---- */

static void apply_options(void)
{
	const char *err;
	int bad;

	if (shim_options_parse(getenv("VADSHIM_OPTIONS"), &err)) {
		fprintf(stderr, "%s\n", err);
		exit(2);
	}
	shim_log_open(shim_opt.log_path);
	lk_config.lockdep = shim_opt.lockdep;
	lk_config.held_stacks = shim_opt.held_stacks;
	lk_config.stack_depth = shim_opt.stack_depth;
	lk_config.exitcode = shim_opt.exitcode;
	lk_config.halt_on_error = shim_opt.halt_on_error;
	lk_config.json = shim_opt.report_json;
	lk_config.lockstat = shim_opt.lockstat;
	lk_set_limits(shim_opt.max_classes, shim_opt.max_edges, shim_opt.max_violations,
		      shim_opt.lockstat_sites);
	if (shim_opt.suppressions[0] && lk_suppressions_load(shim_opt.suppressions, &bad)) {
		fprintf(stderr, "bad suppressions file (line %d)\n", bad);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	const char *s = argc > 1 ? argv[1] : "";
	int rc = 0;

	apply_options();
	if (!strcmp(s, "cycle3")) {
		cycle3();
	} else if (!strcmp(s, "abba")) {
		abba(1);
	} else if (!strcmp(s, "dedup")) {
		abba(5);
	} else if (!strcmp(s, "reentry")) {
		reentry();
		take_a_then_b();        /* and the graph still works */
	} else if (!strcmp(s, "trylock")) {
		run_thread(t_try);
		run_thread(t_t21);
	} else if (!strcmp(s, "condwait")) {
		rc = wait_then_work() ? 0 : 3;
		w_then_m();
	} else if (!strcmp(s, "relock")) {
		m_then_w();
		relock_under_w();
	} else if (!strcmp(s, "gate")) {
		run_thread(t_gpq);
		run_thread(t_gqp);
	} else if (!strcmp(s, "twocycles")) {
		abba(1);
		run_thread(t_gpq);
		run_thread(t_gqp);
	} else if (!strcmp(s, "full")) {
		full();
		printf("still running\n");
	} else if (!strcmp(s, "lockstat")) {
		lockstat();
	} else {
		fprintf(stderr, "usage: scenarios cycle3|abba|dedup|reentry|trylock|condwait|relock|gate|twocycles|full|lockstat\n");
		return 2;
	}
	fflush(stdout);
	lk_atexit();            /* the shim's destructor does this under LD_PRELOAD */
	return rc;
}
