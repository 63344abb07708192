/*
 * stress_mman — threads racing on the arena through mman_sys_*.
 *
 * The core is linked directly: main calls shim_real_init,
 * shim_options_parse(NULL) and mman_init itself, then starts NTHREADS
 * workers for a fixed time.  Each worker mixes:
 *
 *   own regions   mappings it made without MAP_FIXED (private or shared
 *                 anonymous) and only it touches: mmap, munmap (whole or
 *                 tail), mremap (shrink, grow with MREMAP_MAYMOVE),
 *                 mprotect (to read-only and back), MADV_DONTNEED; the
 *                 first word of every page carries a tag the worker
 *                 wrote, checked after every move and periodically;
 *   the window    a range low in the arena that all workers hit at random
 *                 with MAP_FIXED, MAP_FIXED_NOREPLACE, munmap, mprotect,
 *                 mremap (in place, MREMAP_FIXED within the window),
 *                 madvise, msync, mincore: one worker unmaps or replaces
 *                 what another just mapped.  Results are checked against
 *                 the set of answers a racing kernel could give; window
 *                 memory is never touched;
 *   host calls    ranges outside the arena (passed through to the host);
 *   mman_check    now and then, concurrently with the others.
 *
 * The window lies at the end of the arena opposite to where mappings
 * without a hint go (the arena's placement policy, probed at start), so
 * MAP_FIXED in the window never hits a worker's own region.
 *
 * Usage: stress_mman [seconds [seed]]   (default 3 s)
 * Prints ops/s and finally "N passed, N failed".  Meant to run clean under
 * ThreadSanitizer and ASan+UBSan.
 */
#include "mman/mman.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "shim/options.h"
#include "shim/real.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define NTHREADS 4
#define ARENA_SIZE ((size_t)1 << 30)
#define MAX_VADS 16384
#define WIN_PAGES 1024
#define MAX_REGIONS 48
#define MAX_RPAGES 48
#define PG MMAN_PAGE

static atomic_int stop;
static pthread_barrier_t start_line;
static uintptr_t win_lo, win_hi;        /* written before the workers start */

static bool in_window(uintptr_t a, size_t len)
{
	return a < win_hi && a + len > win_lo;
}

struct region {
	uintptr_t addr;
	size_t npages;
	int shared;                     /* MAP_SHARED | MAP_ANONYMOUS */
	int prot;
	size_t backed;                  /* shared: pages of the object (more SIGBUS) */
	uint64_t tags[MAX_RPAGES];      /* first word of each page; 0 = zero page */
};

struct worker {
	int id;
	pthread_t th;
	uint64_t rng;
	struct region reg[MAX_REGIONS];
	int nreg;
	uint64_t next_tag;
	unsigned long ops, own_ops, win_ops, host_ops, checks;
	unsigned long passed, failed, shown;
	char what[160];                 /* the current call, for reports */
};

static struct worker workers[NTHREADS];

/* ---- per-worker results (summed at the end, no shared counters) ------ */

static void ok(struct worker *w, int cond, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void ok(struct worker *w, int cond, const char *fmt, ...)
{
	va_list ap;

	if (cond) {
		w->passed++;
		return;
	}
	w->failed++;
	if (++w->shown > 10)
		return;
	char line[320];
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "stress_mman: thread %d: %s [%s]\n", w->id, line, w->what);
}

static uint64_t rnd(struct worker *w, uint64_t n)
{
	uint64_t z = (w->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (z ^ (z >> 31)) % n;
}

static uint64_t new_tag(struct worker *w)
{
	return ((uint64_t)(w->id + 1) << 56) | ++w->next_tag;
}

static volatile uint64_t *word(uintptr_t a)
{
	return (volatile uint64_t *)a;
}

/* ---- own regions ------------------------------------------------------ */

static void tag_pages(struct worker *w, struct region *r, size_t from, size_t to)
{
	if ((r->prot & (PROT_READ | PROT_WRITE)) != (PROT_READ | PROT_WRITE))
		return;
	for (size_t i = from; i < to && i < r->backed; i++) {
		r->tags[i] = new_tag(w);
		*word(r->addr + i * PG) = r->tags[i];
	}
}

static void verify_region(struct worker *w, const struct region *r)
{
	if (!(r->prot & PROT_READ))
		return;
	for (size_t i = 0; i < r->npages && i < r->backed; i++) {
		uint64_t v = *word(r->addr + i * PG);
		ok(w, v == r->tags[i], "page %zu of region %#lx (%zu pages, %s) holds %#" PRIx64
		   ", want %#" PRIx64, i, r->addr, r->npages, r->shared ? "shared" : "private",
		   v, r->tags[i]);
	}
}

/* Private pages cut off are gone; a shared object keeps them. */
static void forget_tail(struct region *r)
{
	if (!r->shared)
		memset(r->tags + r->npages, 0, (MAX_RPAGES - r->npages) * sizeof(r->tags[0]));
}

static void drop_region(struct worker *w, int k)
{
	w->reg[k] = w->reg[--w->nreg];
}

static void own_mmap(struct worker *w)
{
	if (w->nreg == MAX_REGIONS)
		return;
	struct region *r = &w->reg[w->nreg];
	size_t n = 1 + rnd(w, 16);
	int shared = rnd(w, 4) == 0;
	int prot = rnd(w, 5) ? PROT_READ | PROT_WRITE : PROT_READ;

	snprintf(w->what, sizeof(w->what), "mmap(NULL, %zu pages, %d, %s)", n, prot,
		 shared ? "shared" : "private");
	long a = mman_sys_mmap(NULL, n * PG, prot, (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS,
			       -1, 0);
	ok(w, a > 0 && !in_window((uintptr_t)a, n * PG) && (uintptr_t)a + n * PG <= mman.end,
	   "= %ld: not a fresh place outside the window", a);
	if (a <= 0)
		return;
	memset(r, 0, sizeof(*r));
	r->addr = (uintptr_t)a;
	r->npages = n;
	r->shared = shared;
	r->prot = prot;
	r->backed = shared ? n : MAX_RPAGES;
	w->nreg++;
	tag_pages(w, r, 0, n);
	verify_region(w, r);
}

static void own_munmap(struct worker *w, int k)
{
	struct region *r = &w->reg[k];

	if (r->npages > 1 && rnd(w, 2)) {
		size_t keep = 1 + rnd(w, r->npages - 1);
		snprintf(w->what, sizeof(w->what), "munmap tail of %#lx: keep %zu of %zu pages",
			 r->addr, keep, r->npages);
		long e = mman_sys_munmap((void *)(r->addr + keep * PG), (r->npages - keep) * PG);
		ok(w, e == 0, "= %ld", e);
		r->npages = keep;
		forget_tail(r);
		verify_region(w, r);
		return;
	}
	snprintf(w->what, sizeof(w->what), "munmap(%#lx, %zu pages)", r->addr, r->npages);
	long e = mman_sys_munmap((void *)r->addr, r->npages * PG);
	ok(w, e == 0, "= %ld", e);
	drop_region(w, k);
}

static void own_mremap(struct worker *w, int k)
{
	struct region *r = &w->reg[k];

	if (rnd(w, 3) == 0 && r->npages > 1) {
		size_t n = 1 + rnd(w, r->npages - 1);
		snprintf(w->what, sizeof(w->what), "mremap shrink %#lx %zu -> %zu pages", r->addr,
			 r->npages, n);
		long a = mman_sys_mremap((void *)r->addr, r->npages * PG, n * PG, 0, NULL);
		ok(w, a == (long)r->addr, "= %#lx", a);
		r->npages = n;
		forget_tail(r);
		verify_region(w, r);
		return;
	}
	size_t n = r->npages + 1 + rnd(w, 8);
	if (n > MAX_RPAGES)
		return;
	snprintf(w->what, sizeof(w->what), "mremap grow %#lx %zu -> %zu pages MAYMOVE", r->addr,
		 r->npages, n);
	long a = mman_sys_mremap((void *)r->addr, r->npages * PG, n * PG, MREMAP_MAYMOVE, NULL);
	ok(w, a > 0 && !in_window((uintptr_t)a, n * PG), "= %ld", a);
	if (a <= 0)
		return;
	size_t old = r->npages;
	r->addr = (uintptr_t)a;
	r->npages = n;
	verify_region(w, r);            /* carried along, new pages zero */
	tag_pages(w, r, old, n);
}

static void own_mprotect(struct worker *w, int k)
{
	struct region *r = &w->reg[k];

	snprintf(w->what, sizeof(w->what), "mprotect(%#lx, %zu pages) read-only and back", r->addr,
		 r->npages);
	long e = mman_sys_mprotect((void *)r->addr, r->npages * PG, PROT_READ, -1);
	ok(w, e == 0, "= %ld", e);
	int was = r->prot;
	r->prot = PROT_READ;
	verify_region(w, r);
	if (was & PROT_WRITE) {
		e = mman_sys_mprotect((void *)r->addr, r->npages * PG, was, -1);
		ok(w, e == 0, "back = %ld", e);
		r->prot = was;
		tag_pages(w, r, 0, 1);
	}
}

static void own_dontneed(struct worker *w, int k)
{
	struct region *r = &w->reg[k];

	snprintf(w->what, sizeof(w->what), "madvise(%#lx, %zu pages, DONTNEED) %s", r->addr,
		 r->npages, r->shared ? "shared" : "private");
	long e = mman_sys_madvise((void *)r->addr, r->npages * PG, MADV_DONTNEED);
	ok(w, e == 0, "= %ld", e);
	if (!r->shared)
		memset(r->tags, 0, sizeof(r->tags));
	verify_region(w, r);
	tag_pages(w, r, 0, r->npages);
}

static void own_op(struct worker *w)
{
	w->own_ops++;
	if (w->nreg == 0 || rnd(w, 100) < 18) {
		own_mmap(w);
		return;
	}
	int k = (int)rnd(w, (uint64_t)w->nreg);
	switch (rnd(w, 10)) {
	case 0: case 1: own_munmap(w, k); break;
	case 2: case 3: case 4: own_mremap(w, k); break;
	case 5: case 6: own_mprotect(w, k); break;
	case 7: own_dontneed(w, k); break;
	default:
		snprintf(w->what, sizeof(w->what), "verify %#lx (%zu pages)", w->reg[k].addr,
			 w->reg[k].npages);
		verify_region(w, &w->reg[k]);
		break;
	}
}

/* ---- the window: everybody's, racing -------------------------------- */

static int one_of(long r, const long *set, int n)
{
	for (int i = 0; i < n; i++)
		if (r == set[i])
			return 1;
	return 0;
}

static void win_op(struct worker *w)
{
	size_t np = 1 + rnd(w, 16);
	uintptr_t a = win_lo + rnd(w, WIN_PAGES - np) * PG;
	size_t len = np * PG;
	static const int prots[] = { PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE };
	int prot = prots[rnd(w, 3)];
	long r;

	w->win_ops++;
	switch (rnd(w, 10)) {
	case 0: case 1: {
		int fl = (rnd(w, 4) ? MAP_PRIVATE : MAP_SHARED) | MAP_ANONYMOUS | MAP_FIXED;
		snprintf(w->what, sizeof(w->what), "window mmap(%#lx, %zu pages, %d, %#x)", a, np, prot, fl);
		r = mman_sys_mmap((void *)a, len, prot, fl, -1, 0);
		ok(w, r == (long)a, "= %ld", r);
		break;
	}
	case 2:
		snprintf(w->what, sizeof(w->what), "window mmap NOREPLACE(%#lx, %zu pages)", a, np);
		r = mman_sys_mmap((void *)a, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		ok(w, r == (long)a || r == -EEXIST, "= %ld", r);
		break;
	case 3: case 4:
		snprintf(w->what, sizeof(w->what), "window munmap(%#lx, %zu pages)", a, np);
		r = mman_sys_munmap((void *)a, len);
		ok(w, r == 0, "= %ld", r);
		break;
	case 5:
		snprintf(w->what, sizeof(w->what), "window mprotect(%#lx, %zu pages, %d)", a, np, prot);
		r = mman_sys_mprotect((void *)a, len, prot, -1);
		ok(w, r == 0 || r == -ENOMEM, "= %ld", r);
		break;
	case 6: {
		/* in place (shrink or grow), or MREMAP_FIXED elsewhere in the window */
		size_t nn = 1 + rnd(w, 16);
		uintptr_t n = win_lo + rnd(w, WIN_PAGES - nn) * PG;
		int fixed = rnd(w, 2) && (n >= a + len || n + nn * PG <= a);
		if (!fixed && a + nn * PG > win_hi)
			nn = np;
		snprintf(w->what, sizeof(w->what), "window mremap(%#lx, %zu -> %zu pages, %s%#lx)", a, np,
			 nn, fixed ? "FIXED " : "", fixed ? n : 0);
		r = mman_sys_mremap((void *)a, len, nn * PG, fixed ? MREMAP_MAYMOVE | MREMAP_FIXED : 0,
				    (void *)(fixed ? n : 0));
		const long okset[] = { fixed ? (long)n : (long)a, -EFAULT, -ENOMEM };
		ok(w, one_of(r, okset, fixed ? 2 : 3), "= %ld", r);
		break;
	}
	case 7:
		snprintf(w->what, sizeof(w->what), "window madvise(%#lx, %zu pages, DONTNEED)", a, np);
		r = mman_sys_madvise((void *)a, len, MADV_DONTNEED);
		ok(w, r == 0 || r == -ENOMEM, "= %ld", r);
		break;
	case 8:
		snprintf(w->what, sizeof(w->what), "window msync(%#lx, %zu pages)", a, np);
		r = mman_sys_msync((void *)a, len, MS_ASYNC);
		ok(w, r == 0 || r == -ENOMEM, "= %ld", r);
		break;
	default: {
		unsigned char vec[16];
		snprintf(w->what, sizeof(w->what), "window mincore(%#lx, %zu pages)", a, np);
		r = mman_sys_mincore((void *)a, len, vec);
		ok(w, r == 0 || r == -ENOMEM, "= %ld", r);
		break;
	}
	}
}

/* ---- calls the arena passes to the host -------------------------------- */

static void host_op(struct worker *w)
{
	static __thread uint64_t page[2 * PG / 8];
	uintptr_t p = ((uintptr_t)page + PG - 1) & ~MMAN_PAGE_MASK;
	unsigned char vec[1];
	long r;

	w->host_ops++;
	snprintf(w->what, sizeof(w->what), "host msync/mincore/madvise of a TLS page");
	r = mman_sys_msync((void *)p, PG, MS_ASYNC);
	ok(w, r == 0, "msync = %ld", r);
	r = mman_sys_mincore((void *)p, PG, vec);
	ok(w, r == 0, "mincore = %ld", r);
	r = mman_sys_madvise((void *)p, PG, MADV_NORMAL);
	ok(w, r == 0, "madvise = %ld", r);
}

/*
 * A fault means the arena lost track of a worker's own memory (or handed
 * it to someone else): say which call was running, then stop.
 */
static __thread struct worker *self;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	char line[320];
	struct worker *w = self;
	int n = snprintf(line, sizeof(line), "stress_mman: thread %d: signal %d at %p during [%s]\n"
			 "stress_mman: the arena lost track of memory; stopping\n",
			 w ? w->id : -1, sig, si->si_addr, w ? w->what : "main");

	(void)uc;
	if (write(2, line, (size_t)n) < 0)
		_exit(3);
	_exit(2);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	self = w;

	/* A burst of calls the arena passes through, all workers at once and
	 * with no arena lock between them, so that their passes overlap. */
	pthread_barrier_wait(&start_line);
	for (int i = 0; i < 200; i++)
		host_op(w);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		uint64_t r = rnd(w, 1000);
		w->ops++;
		if (r < 450)
			own_op(w);
		else if (r < 980)
			win_op(w);
		else if (r < 995)
			host_op(w);
		else {
			char msg[256];
			w->checks++;
			snprintf(w->what, sizeof(w->what), "mman_check while others run");
			int e = mman_check(msg, sizeof(msg));
			ok(w, e == 0, "mman_check: %s", msg);
		}
	}
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 3.0;
	uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 20240601;
	const char *err;
	char msg[256];
	unsigned long passed = 0, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	shim_real_init();
	if (shim_options_parse(NULL, &err)) {
		fprintf(stderr, "options: %s\n", err);
		return 2;
	}
	int e = mman_init(ARENA_SIZE, MAX_VADS);
	if (e) {
		fprintf(stderr, "mman_init: %s\n", strerror(-e));
		return 2;
	}
	long probe = mman_sys_mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mman_sys_munmap((void *)probe, PG);
	if ((uintptr_t)probe - mman.map_lo > mman.end - (uintptr_t)probe)
		win_lo = mman.map_lo + 16 * PG;         /* top-down placement */
	else
		win_lo = mman.end - (16 + WIN_PAGES) * PG;
	win_hi = win_lo + WIN_PAGES * PG;
	printf("stress_mman: %d threads, %.1f s, seed %" PRIu64 "\n", NTHREADS, secs, seed);

	/* Sound before the race.  (This also takes the arena lock once on
	 * one thread: the lock runtime's first stack capture initialises the
	 * unwinder, whose one-time setup is not thread-safe under TSan.) */
	e = mman_check(msg, sizeof(msg));
	if (e)
		fprintf(stderr, "stress_mman: mman_check before the run: %s\n", msg);
	passed += e == 0;
	failed += e != 0;

	pthread_barrier_init(&start_line, NULL, NTHREADS);
	double t0 = now();
	for (int i = 0; i < NTHREADS; i++) {
		workers[i].id = i;
		workers[i].rng = seed * (uint64_t)(i + 1) + (uint64_t)i;
		pthread_create(&workers[i].th, NULL, worker_main, &workers[i]);
	}
	struct timespec ts = { (time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9) };
	nanosleep(&ts, NULL);
	atomic_store(&stop, 1);
	unsigned long ops = 0, own = 0, win = 0, host = 0, checks = 0;
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(workers[i].th, NULL);
	double dt = now() - t0;

	/* After the race: the index is sound and every region holds its tags. */
	e = mman_check(msg, sizeof(msg));
	if (e)
		fprintf(stderr, "stress_mman: mman_check after the run: %s\n", msg);
	passed += e == 0;
	failed += e != 0;
	for (int i = 0; i < NTHREADS; i++) {
		struct worker *w = &workers[i];
		snprintf(w->what, sizeof(w->what), "final check of own regions");
		for (int k = 0; k < w->nreg; k++) {
			verify_region(w, &w->reg[k]);
			long r = mman_sys_msync((void *)w->reg[k].addr, w->reg[k].npages * PG, MS_ASYNC);
			ok(w, r == 0, "region %#lx not mapped any more (%ld)", w->reg[k].addr, r);
		}
		for (int k = 0; k < w->nreg; k++)
			mman_sys_munmap((void *)w->reg[k].addr, w->reg[k].npages * PG);
		ops += w->ops;
		own += w->own_ops;
		win += w->win_ops;
		host += w->host_ops;
		checks += w->checks;
		passed += w->passed;
		failed += w->failed;
	}
	long r = mman_sys_munmap((void *)win_lo, WIN_PAGES * PG);
	passed += r == 0;
	failed += r != 0;
	e = mman_check(msg, sizeof(msg));
	if (e)
		fprintf(stderr, "stress_mman: mman_check after cleanup: %s\n", msg);
	passed += e == 0 && mman.stats.mapped_bytes == 0;
	failed += !(e == 0 && mman.stats.mapped_bytes == 0);
	if (mman.stats.mapped_bytes)
		fprintf(stderr, "stress_mman: %zu bytes still mapped after cleanup\n", mman.stats.mapped_bytes);

	printf("stress_mman: %lu ops in %.2f s: %.0f ops/s (own %lu, window %lu, host %lu, checks %lu; "
	       "peak VADs %zu)\n", ops, dt, (double)ops / dt, own, win, host, checks,
	       mman.stats.peak_vads);
	printf("%lu passed, %lu failed\n", passed, failed);
	return failed ? 1 : 0;
}
