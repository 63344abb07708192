/*
 * Unit test of the lock runtime (shim/lk*.c, shim/log.c), linked
 * directly.  Reports are captured by pointing the log at a temporary file
 * and reading it back.  Each case uses its own static lock instances so
 * that ThreadSanitizer's own deadlock detector (which identifies mutexes
 * by address) sees no order that the case does not intend.
 *
 * Prints one line per check and "N passed, N failed"; exits 0 only if
 * every check passed.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim/lk.h"
#include "shim/lk_stack.h"
#include "shim/lk_valid.h"
#include "shim/log.h"

static int npass, nfail;

static void check(bool ok, const char *what)
{
	printf("%s: %s\n", ok ? "ok" : "FAIL", what);
	if (ok)
		npass++;
	else
		nfail++;
}

/* ---- the captured log ---- */

static char log_dir[] = "/tmp/test_lk.XXXXXX";
static char log_file[256];
static char log_text[1 << 16];

static void log_setup(void)
{
	char base[128];

	if (!mkdtemp(log_dir)) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(base, sizeof(base), "%s/log", log_dir);
	snprintf(log_file, sizeof(log_file), "%s.%d", base, (int)getpid());
	shim_log_open(base);
}

static void log_clear(void)
{
	int fd = open(log_file, O_WRONLY | O_TRUNC);

	if (fd >= 0)
		close(fd);
}

/* The log so far, also echoed to stdout (indented) for the reader. */
static const char *log_read(void)
{
	int fd = open(log_file, O_RDONLY);
	ssize_t n = fd < 0 ? 0 : read(fd, log_text, sizeof(log_text) - 1);

	if (fd >= 0)
		close(fd);
	log_text[n > 0 ? n : 0] = 0;
	for (const char *p = log_text; *p;) {
		const char *e = strchr(p, '\n');
		int len = e ? (int)(e - p) : (int)strlen(p);

		printf("    | %.*s\n", len, p);
		p += len + (e != NULL);
	}
	return log_text;
}

/*
 * A frame of function fn, as the report prints it: "fn+0x" with libdw;
 * without it dladdr cannot name static functions, so only "+0x".
 */
static const char *sym(const char *fn)
{
	return lk_sym_has_dwarf() ? fn : "+0x";
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/*
 * Does needle occur in the block of a report that starts at the line
 * containing from: that line and the deeper-indented (stack) lines after it?
 */
static bool block_has(const char *text, const char *from, const char *needle)
{
	const char *line = strstr(text, from);
	size_t nlen = strlen(needle);

	for (bool first = true; line && *line; first = false) {
		const char *end = strchrnul(line, '\n');

		if (!first && strncmp(line, "    ", 4) != 0)
			break;
		for (const char *p = line; p + nlen <= end; p++)
			if (!strncmp(p, needle, nlen))
				return true;
		line = *end ? end + 1 : end;
	}
	return false;
}

/* ---- classes ---- */

static struct lk_class c_fdt = LK_CLASS_INIT("fdtable", LK_RANK_FDTABLE, true);
static struct lk_class c_lockfs = LK_CLASS_INIT("lockfs", LK_RANK_LOCKFS, true);
static struct lk_class c_mman = LK_CLASS_INIT("mman", LK_RANK_MMAN, true);
static struct lk_class c_leaf = LK_CLASS_INIT("leaf", LK_RANK_LEAF, false);
static struct lk_class c_leaf2 = LK_CLASS_INIT("leaf2", LK_RANK_LEAF + 1, false);
static struct lk_class c_plain = LK_CLASS_INIT("plain", LK_RANK_NONE, false);
static struct lk_class c_self = LK_CLASS_INIT("selfish", LK_RANK_LEAF + 5, false);
static struct lk_class c_bad1 = LK_CLASS_INIT("bad1", LK_RANK_LEAF + 6, false);
static struct lk_class c_bad2 = LK_CLASS_INIT("bad2", LK_RANK_LEAF + 7, false);
static struct lk_class c_counter = LK_CLASS_INIT("counter", LK_RANK_LEAF + 8, true);
static struct lk_class c_tryhi = LK_CLASS_INIT("tryhi", LK_RANK_LEAF + 9, false);
static struct lk_class c_trylo = LK_CLASS_INIT("trylo", LK_RANK_LEAF + 3, false);

#define LOCK(cls, name) static struct lk_lock name = LK_LOCK_INIT(&cls, #name)

/* ---- cases ---- */

static void t_recursion(void)
{
	LOCK(c_mman, mman_r);

	log_clear();
	lk_lock(&mman_r);
	lk_lock(&mman_r);
	lk_lock(&mman_r);
	check(mman_r.depth == 3, "recursion: depth counts re-entries");
	check(lk_held(&mman_r) && lk_held_count() == 1, "recursion: one held entry for three levels");
	lk_unlock(&mman_r);
	lk_unlock(&mman_r);
	check(lk_held(&mman_r) && mman_r.depth == 1, "recursion: held until the last unlock");
	lk_unlock(&mman_r);
	check(!lk_held(&mman_r) && lk_held_count() == 0 && mman_r.word == 0,
	      "recursion: free after the last unlock");
	check(log_read()[0] == 0, "recursion: no report");
}

static void t_reentry_silent(void)
{
	LOCK(c_mman, mman_e);
	LOCK(c_leaf, leaf_e);
	unsigned before = lk_violation_count();

	log_clear();
	lk_lock(&mman_e);
	lk_lock(&leaf_e);
	lk_lock(&mman_e);       /* below leaf, but a re-entry: no check */
	lk_unlock(&mman_e);
	lk_unlock(&leaf_e);
	lk_unlock(&mman_e);
	check(log_read()[0] == 0 && lk_violation_count() == before,
	      "re-entry of a held recursive lock under a higher rank: no report");
}

static void t_order_silent(void)
{
	LOCK(c_fdt, fdt_o);
	LOCK(c_lockfs, lockfs_o);
	LOCK(c_mman, mman_o);
	LOCK(c_leaf, leaf_o);
	LOCK(c_leaf2, leaf2_o);
	LOCK(c_plain, plain_o);
	unsigned before = lk_violation_count();

	log_clear();
	lk_lock(&fdt_o);
	lk_lock(&lockfs_o);
	lk_lock(&mman_o);
	lk_lock(&plain_o);      /* unranked: no rank check either way */
	lk_lock(&leaf_o);
	lk_lock(&leaf2_o);
	check(lk_held_count() == 6, "hierarchy order: six held");
	lk_unlock(&leaf2_o);
	lk_unlock(&leaf_o);
	lk_unlock(&plain_o);
	lk_unlock(&mman_o);
	lk_unlock(&lockfs_o);
	lk_unlock(&fdt_o);
	check(log_read()[0] == 0 && lk_violation_count() == before,
	      "hierarchy order fdtable -> lockfs -> mman -> leaf: no report");
}

/* The report's stacks must name this function: keep it out of line. */
static __attribute__((noinline)) void t_rank_violation(void)
{
	LOCK(c_mman, mman_v);
	LOCK(c_fdt, fdtable_v);
	LOCK(c_lockfs, lockfs_v);
	unsigned before = lk_violation_count();
	const char *log;

	log_clear();
	for (int i = 0; i < 5; i++) {
		lk_lock(&mman_v);
		lk_lock(&fdtable_v);
		lk_unlock(&fdtable_v);
		lk_unlock(&mman_v);
	}
	lk_lock(&lockfs_v);     /* makes lockfs a known class for the hierarchy line */
	lk_unlock(&lockfs_v);
	log = log_read();
	check(count(log, "WARNING: lock-order violation (rank)") == 1,
	      "rank violation: reported exactly once for five occurrences");
	check(lk_violation_count() == before + 1, "rank violation: one distinct violation");
	check(lk_valid_occurrences(LK_VIOL_RANK, c_mman.id, c_fdt.id) == 5,
	      "rank violation: five occurrences counted");
	check(strstr(log, "acquiring \"fdtable_v\" (class fdtable, rank 100) at:") != NULL,
	      "rank violation: names the lock acquired");
	check(strstr(log, "while holding \"mman_v\" (class mman, rank 300), taken at:") != NULL,
	      "rank violation: names the lock held");
	check(block_has(log, "acquiring \"fdtable_v\"", sym("t_rank_violation+0x")),
	      "rank violation: acquisition stack symbolized");
	check(block_has(log, "while holding \"mman_v\"", sym("t_rank_violation+0x")),
	      "rank violation: held lock's stack symbolized");
	if (lk_sym_has_dwarf())
		check(block_has(log, "acquiring \"fdtable_v\"", "test_lk.c:"),
		      "rank violation: file:line from DWARF");
	check(block_has(log, "the opposite order fdtable -> mman was first seen in thread",
			sym("t_order_silent")),
	      "rank violation: where the opposite (right) order was first seen");
	check(strstr(log, "locks held by this thread (1): mman_v\n") != NULL,
	      "rank violation: held list");
	check(strstr(log, "hierarchy: fdtable -> lockfs -> mman (") != NULL,
	      "rank violation: hierarchy line");
	check(count(log, "==vadshim== end of report\n") == 1, "rank violation: report ends");
}

static void t_two_conflicts(void)
{
	LOCK(c_leaf, leaf_t);
	LOCK(c_leaf2, leaf2_t);
	LOCK(c_lockfs, lockfs_t);
	unsigned before = lk_violation_count();
	const char *log;

	log_clear();
	lk_lock(&leaf_t);
	lk_lock(&leaf2_t);
	lk_lock(&lockfs_t);
	lk_unlock(&lockfs_t);
	lk_unlock(&leaf2_t);
	lk_unlock(&leaf_t);
	log = log_read();
	check(count(log, "WARNING:") == 1 && count(log, "while holding") == 2,
	      "two held locks above the new one: one report naming both");
	check(lk_violation_count() == before + 2, "two held locks above: two distinct violations");
}

static void t_trylock(void)
{
	LOCK(c_leaf2, leaf2_y);
	LOCK(c_leaf, leaf_y);
	unsigned before = lk_violation_count();

	log_clear();
	lk_lock(&leaf2_y);
	check(lk_trylock(&leaf_y), "trylock below a held rank succeeds");
	check(lk_held_count() == 2 && lk_held(&leaf_y), "trylock: pushes a held entry");
	check(!lk_trylock(&leaf_y), "trylock of a held non-recursive lock fails, no deadlock");
	lk_unlock(&leaf_y);
	check(log_read()[0] == 0 && lk_violation_count() == before, "trylock: no order check");
	lk_lock(&leaf_y);       /* the same order, blocking: must report */
	lk_unlock(&leaf_y);
	lk_unlock(&leaf2_y);
	check(count(log_read(), "while holding \"leaf2_y\"") == 1,
	      "the same order by a blocking lock is reported");
}

static void t_trylock_held(void)
{
	LOCK(c_tryhi, tryhi_h);
	LOCK(c_trylo, trylo_h);
	const char *log;

	log_clear();
	check(lk_trylock(&tryhi_h), "trylock of a free lock succeeds");
	lk_lock(&trylo_h);      /* blocking, below a lock held by trylock */
	lk_unlock(&trylo_h);
	lk_unlock(&tryhi_h);
	log = log_read();
	check(count(log, "WARNING: lock-order violation") == 1 &&
	      strstr(log, "while holding \"tryhi_h\" (class tryhi, rank 809), taken by trylock at:"),
	      "a lock held by trylock still orders the blocking locks taken after it");
}

static void t_nonlifo(void)
{
	LOCK(c_fdt, fdt_n);
	LOCK(c_lockfs, lockfs_n);
	LOCK(c_mman, mman_n);
	LOCK(c_leaf, leaf_n);

	log_clear();
	lk_lock(&fdt_n);
	lk_lock(&lockfs_n);
	lk_lock(&mman_n);
	lk_unlock(&fdt_n);
	check(lk_held_count() == 2 && !lk_held(&fdt_n) && lk_held(&lockfs_n) && lk_held(&mman_n),
	      "non-LIFO unlock: removes the matching entry only");
	lk_lock(&leaf_n);
	lk_unlock(&lockfs_n);
	lk_unlock(&leaf_n);
	lk_unlock(&mman_n);
	check(lk_held_count() == 0 && log_read()[0] == 0, "non-LIFO unlock: all released, no report");
}

struct holder {
	struct lk_lock *l;
	pthread_barrier_t taken, release;
};

static void *holder_main(void *arg)
{
	struct holder *h = arg;

	lk_lock(h->l);
	pthread_barrier_wait(&h->taken);
	pthread_barrier_wait(&h->release);
	lk_unlock(h->l);
	return NULL;
}

static void t_unlock_not_held(void)
{
	LOCK(c_bad1, bad1_u);
	LOCK(c_bad2, bad2_u);
	struct holder h = { .l = &bad2_u };
	pthread_t th;
	const char *log;

	log_clear();
	lk_unlock(&bad1_u);
	log = log_read();
	check(count(log, "\n") == 1 && strstr(log, "WARNING: unlock of \"bad1_u\" (class bad1) not held by thread") &&
	      strstr(log, "(it is not locked)"), "unlock of a free lock: one-line report");
	check(bad1_u.word == 0 && lk_held_count() == 0, "unlock of a free lock: state unchanged");

	pthread_barrier_init(&h.taken, NULL, 2);
	pthread_barrier_init(&h.release, NULL, 2);
	pthread_create(&th, NULL, holder_main, &h);
	pthread_barrier_wait(&h.taken);
	log_clear();
	lk_unlock(&bad2_u);
	log = log_read();
	check(count(log, "\n") == 1 && strstr(log, "(another thread holds it)"),
	      "unlock of a lock another thread holds: one-line report");
	check(!lk_trylock(&bad2_u), "unlock of another thread's lock: it stays locked");
	pthread_barrier_wait(&h.release);
	pthread_join(th, NULL);
	check(lk_trylock(&bad2_u), "the owner's unlock frees it");
	lk_unlock(&bad2_u);
	pthread_barrier_destroy(&h.taken);
	pthread_barrier_destroy(&h.release);
}

static void t_recursive_self(void)
{
	LOCK(c_self, self_s);
	int status = 0;
	pid_t pid;
	const char *log;

	log_clear();
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		alarm(10);
		lk_config.halt_on_error = 1;
		lk_config.exitcode = 66;
		lk_lock(&self_s);
		lk_lock(&self_s);       /* reports, then halt_on_error exits */
		_exit(1);
	}
	waitpid(pid, &status, 0);
	log = log_read();
	check(WIFEXITED(status) && WEXITSTATUS(status) == 66,
	      "recursive locking of a non-recursive lock: halt_on_error exits with exitcode");
	check(count(log, "WARNING: recursive locking (self-deadlock)") == 1 &&
	      strstr(log, "which this thread already holds: \"self_s\"") &&
	      block_has(log, "acquiring \"self_s\"", sym("t_recursive_self+0x")),
	      "recursive locking: report names the lock and both stacks");
	check(strstr(log, "==vadshim== SUMMARY: ") != NULL, "halt_on_error: summary printed");
}

static void t_held_stacks_off(void)
{
	LOCK(c_mman, mman_s);
	LOCK(c_lockfs, lockfs_s);
	const char *log;

	log_clear();
	lk_config.held_stacks = 0;
	lk_lock(&mman_s);
	lk_lock(&lockfs_s);
	lk_unlock(&lockfs_s);
	lk_unlock(&mman_s);
	lk_config.held_stacks = 1;
	log = log_read();
	check(count(log, "WARNING: lock-order violation") == 1, "held_stacks=0: violation reported");
	check(block_has(log, "while holding \"mman_s\"", "(caller only"),
	      "held_stacks=0: held lock shows its caller only");
	check(block_has(log, "while holding \"mman_s\"", sym("t_held_stacks_off+0x")),
	      "held_stacks=0: the caller is symbolized");
	check(block_has(log, "acquiring \"lockfs_s\"", "#1 "),
	      "held_stacks=0: the acquisition still has a full stack");
}

/* A shim entry point: marks the program's call into the shim. */
static __attribute__((noinline)) void fake_wrapper(struct lk_lock *l)
{
	LK_ENTRY_SCOPE();
	lk_lock(l);
	__asm__ volatile("");
}

static __attribute__((noinline)) void t_entry_pc(void)
{
	static struct lk_class c_enhi = LK_CLASS_INIT("enhi", LK_RANK_LEAF + 21, false);
	static struct lk_class c_enlo = LK_CLASS_INIT("enlo", LK_RANK_LEAF + 20, false);
	LOCK(c_enhi, mman_en);          /* a new pair: not a repeat of another case */
	LOCK(c_enlo, fdt_en);
	const char *log;

	log_clear();
	lk_config.held_stacks = 0;
	check(lk_entry_pc == 0, "entry pc: unset outside the shim");
	fake_wrapper(&mman_en);         /* held record: caller + entry */
	check(lk_entry_pc == 0, "entry pc: restored when the wrapper returns");
	lk_lock(&fdt_en);               /* rank violation: prints the held record */
	lk_unlock(&fdt_en);
	lk_unlock(&mman_en);
	log = log_read();
	check(block_has(log, "while holding \"mman_en\"", sym("fake_wrapper")),
	      "entry pc: the held lock shows its caller (the wrapper)");
	check(block_has(log, "while holding \"mman_en\"", "(the program's call into the shim)") &&
	      block_has(log, "while holding \"mman_en\"", sym("t_entry_pc+0x")),
	      "entry pc: and the program's call into the shim");
}

/*
 * Without LK_ENTRY_SCOPE the runtime walks the shim's frames: make two
 * functions "the shim" by putting them in their own section and giving
 * its bounds as the shim's text.
 */
#define FAKE_SHIM __attribute__((noinline, section("lk_fake_shim")))
extern char __start_lk_fake_shim[], __stop_lk_fake_shim[];

FAKE_SHIM void fake_shim_inner(struct lk_lock *l)
{
	lk_lock(l);
	__asm__ volatile("");
}

FAKE_SHIM void fake_shim_entry(struct lk_lock *l)
{
	fake_shim_inner(l);
	__asm__ volatile("");
}

static __attribute__((noinline)) void t_entry_walk(void)
{
	static struct lk_class c_wkhi = LK_CLASS_INIT("wkhi", LK_RANK_LEAF + 23, false);
	static struct lk_class c_wklo = LK_CLASS_INIT("wklo", LK_RANK_LEAF + 22, false);
	LOCK(c_wkhi, hi_wk);
	LOCK(c_wklo, lo_wk);
	const char *log;

	log_clear();
	lk_config.held_stacks = 0;
	lk_set_entry_text((uintptr_t)__start_lk_fake_shim, (uintptr_t)__stop_lk_fake_shim);
	fake_shim_entry(&hi_wk);        /* held record: caller fake_shim_inner, entry here */
	lk_set_entry_text(0, 0);
	lk_lock(&lo_wk);
	lk_unlock(&lo_wk);
	lk_unlock(&hi_wk);
	log = log_read();
	check(block_has(log, "while holding \"hi_wk\"", sym("fake_shim_inner")),
	      "entry walk: the held lock shows its caller");
	check(block_has(log, "while holding \"hi_wk\"", "(the program's call into the shim)") &&
	      block_has(log, "while holding \"hi_wk\"", sym("t_entry_walk+0x")),
	      "entry walk: the first frame outside the shim is the program's call");
}

static void t_lockdep_off(void)
{
	LOCK(c_mman, mman_d);
	LOCK(c_leaf, leaf_d);
	unsigned before = lk_violation_count();

	log_clear();
	lk_config.lockdep = 0;
	lk_lock(&leaf_d);
	lk_lock(&mman_d);
	check(lk_held_count() == 2, "lockdep=0: held locks still tracked");
	lk_unlock(&mman_d);
	lk_unlock(&leaf_d);
	lk_config.lockdep = 1;
	check(log_read()[0] == 0 && lk_violation_count() == before, "lockdep=0: no report");
}

#if defined(__SANITIZE_THREAD__)
#define TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TEST_TSAN 1
#endif
#endif

static void t_overflow(void)
{
	static struct lk_lock many[LK_MAX_HELD + 6];
	int n = LK_MAX_HELD + 6;
	const char *log;

#ifdef TEST_TSAN
	/* TSan's deadlock detector CHECK-fails beyond 64 mutexes held by one thread */
	printf("skip: overflow (ThreadSanitizer holds at most 64 locks per thread)\n");
	return;
#endif
	log_clear();
	for (int i = 0; i < n; i++)
		lk_init(&many[i], &c_plain, "many");
	for (int i = 0; i < n; i++)
		lk_lock(&many[i]);
	check(lk_held_count() == (unsigned)n, "overflow: count includes unrecorded locks");
	for (int i = n; i-- > 0;)
		lk_unlock(&many[i]);
	check(lk_held_count() == 0, "overflow: LIFO release balances");
	for (int i = 0; i < n; i++)
		lk_lock(&many[i]);
	for (int i = 0; i < n; i++)
		lk_unlock(&many[i]);
	check(lk_held_count() == 0, "overflow: FIFO release balances");
	log = log_read();
	check(count(log, "\n") == 1 && strstr(log, "holds more than 64 locks"),
	      "overflow: one line, once");
}

/* ---- fork from a multi-threaded process ---- */

LOCK(c_fdt, fdt_f);
LOCK(c_lockfs, lockfs_f);
LOCK(c_mman, mman_f);
static int fork_stop;

static void *fork_worker(void *arg)
{
	unsigned long n = 0;

	(void)arg;
	while (!__atomic_load_n(&fork_stop, __ATOMIC_RELAXED)) {
		lk_lock(&fdt_f);
		lk_lock(&lockfs_f);
		lk_lock(&mman_f);
		lk_unlock(&lockfs_f);   /* non-LIFO on purpose */
		lk_unlock(&mman_f);
		lk_unlock(&fdt_f);
		n++;
	}
	return (void *)n;
}

static int fork_child(void)
{
	alarm(10);
	if (lk_held_count() != 0 || lk_held(&fdt_f) || lk_held(&mman_f))
		return 3;
	lk_lock(&fdt_f);
	lk_lock(&lockfs_f);
	lk_lock(&mman_f);
	if (lk_held_count() != 3)
		return 4;
	lk_unlock(&mman_f);
	lk_unlock(&lockfs_f);
	lk_unlock(&fdt_f);
	return lk_held_count() == 0 ? 0 : 5;
}

static void t_fork(void)
{
	pthread_t th;
	int bad = 0, forks = 50;
	void *iters;

	log_clear();
	lk_fork_register(&fdt_f);
	lk_fork_register(&lockfs_f);
	lk_fork_register(&mman_f);
	lk_fork_register(&mman_f);      /* twice: ignored */
	pthread_atfork(lk_fork_prepare, lk_fork_parent, lk_fork_child);
	pthread_create(&th, NULL, fork_worker, NULL);
	for (int i = 0; i < forks; i++) {
		int status = 0;
		pid_t pid;

		fflush(stdout);
		pid = fork();
		if (pid == 0)
			_exit(fork_child());
		waitpid(pid, &status, 0);
		bad += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		if (lk_held_count() != 0)
			bad++;
	}
	__atomic_store_n(&fork_stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, &iters);
	printf("    fork: worker did %lu rounds during %d forks\n", (unsigned long)iters, forks);
	check(bad == 0, "fork while another thread takes the registered locks: child can lock all");
	check(log_read()[0] == 0, "fork: no report");
}

/* ---- contention ---- */

#define CONT_THREADS 2
#define CONT_ITERS 100000

LOCK(c_counter, counter_c);
static unsigned long counter;  /* guarded by counter_c */

static void *cont_main(void *arg)
{
	unsigned long busy = 0;

	(void)arg;
	for (int i = 0; i < CONT_ITERS; i++) {
		if (i % 16 == 0 && !lk_trylock(&counter_c)) {
			busy++;
			lk_lock(&counter_c);
		} else if (i % 16 != 0) {
			lk_lock(&counter_c);
		}
		lk_lock(&counter_c);    /* recursive re-entry */
		counter++;
		lk_unlock(&counter_c);
		lk_unlock(&counter_c);
	}
	return (void *)busy;
}

static void t_contention(void)
{
	pthread_t th[CONT_THREADS];

	log_clear();
	for (int i = 0; i < CONT_THREADS; i++)
		pthread_create(&th[i], NULL, cont_main, NULL);
	for (int i = 0; i < CONT_THREADS; i++) {
		void *busy;

		pthread_join(th[i], &busy);
		printf("    contention: thread %d found the lock busy on %lu of %d trylocks\n",
		       i, (unsigned long)busy, CONT_ITERS / 16);
	}
	check(counter == (unsigned long)CONT_THREADS * CONT_ITERS,
	      "contention: counter under the lock reaches the exact total");
	check(counter_c.word == 0 && counter_c.owner == NULL, "contention: lock free at the end");
	check(log_read()[0] == 0, "contention: no report");
}

/* ---- the summary at exit ---- */

static void t_summary(void)
{
	const char *log;

	log_clear();
	lk_config.exitcode = 0;
	lk_atexit();
	log = log_read();
	check(count(log, "==vadshim== SUMMARY: ") == 1 && count(log, "\n") == 1,
	      "lk_atexit: one summary line");
	check(strstr(log, "rank mman -> fdtable x5") != NULL,
	      "summary: repeats of the rank violation counted");
	check(strstr(log, "bad unlock of bad1 x1") != NULL, "summary: bad unlock listed");
	log_clear();
	lk_atexit();
	check(log_read()[0] == 0, "lk_atexit: second call does nothing");
}

static void t_log_errno(void)
{
	errno = 1234;
	shim_log("%s", "");
	check(errno == 1234, "shim_log keeps errno");
	check(shim_log_fd() >= 900, "log descriptor moved to 900 or above");
}

static const struct {
	const char *name;
	void (*fn)(void);
} cases[] = {
	{ "recursion", t_recursion },
	{ "reentry_silent", t_reentry_silent },
	{ "order_silent", t_order_silent },
	{ "rank_violation", t_rank_violation },
	{ "two_conflicts", t_two_conflicts },
	{ "trylock", t_trylock },
	{ "trylock_held", t_trylock_held },
	{ "nonlifo", t_nonlifo },
	{ "unlock_not_held", t_unlock_not_held },
	{ "held_stacks_off", t_held_stacks_off },
	{ "entry_pc", t_entry_pc },
	{ "entry_walk", t_entry_walk },
	{ "lockdep_off", t_lockdep_off },
	{ "overflow", t_overflow },
	{ "recursive_self", t_recursive_self },
	{ "fork", t_fork },
	{ "contention", t_contention },
	{ "log_errno", t_log_errno },
	{ "summary", t_summary },
};

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	lk_config.exitcode = 0;
	log_setup();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		printf("-- %s\n", cases[i].name);
		cases[i].fn();
	}
	if (nfail) {
		printf("log kept in %s\n", log_file);
	} else {
		unlink(log_file);
		rmdir(log_dir);
	}
	printf("%d passed, %d failed\n", npass, nfail);
	return nfail ? 1 : 0;
}
