/*
 * bench_mman: time the mmap family with many live mappings in the
 * background, natively or under LD_PRELOAD=libvadshim.so.
 *
 * A benchmark, not a test: tools/bench_mman.py runs it natively and under
 * the shim in alternating rounds and prints the table (`vadshim bench`).
 * It uses nothing but libc, so it builds in every configuration, and
 * compiles on its own: cc -O2 -o bench_mman bench_mman.c
 *
 *   bench_mman [-r REPS] [-p PRELOAD] [-x PROG] OP[,OP...] LIVE [ITERS]
 *
 * First LIVE background mappings are created (4 KiB, anonymous, private,
 * alternately PROT_READ|PROT_WRITE and PROT_READ, so that neither the
 * kernel nor the arena can merge neighbours into one region).  Then each
 * OP runs REPS timed batches of ITERS operations (ITERS 0 or absent:
 * calibrated to about 10 ms per batch) after a warm-up batch; before each
 * batch a PROT_NONE spacer of a different size shifts where the timed
 * mappings land (see run_op).  One line
 * per OP on stdout, key=value separated by spaces:
 *
 *   bench_mman op=mmap4k live=1000 iters=9000 reps=5 ns_per_op=812.4
 *              min_ns_per_op=790.2 shim=0
 *
 * ns_per_op is the median of the REPS batches; shim=1 when libvadshim is
 * mapped in this process (a check that the preload took effect).
 *
 * OPs (one "op" is the whole sequence listed):
 *   mmap4k        mmap 4 KiB RW, munmap
 *   mmap4k_touch  mmap 4 KiB RW, write one byte, munmap
 *   mmap1m        mmap 1 MiB RW, munmap
 *   mmap1m_touch  mmap 1 MiB RW, write one byte per page, munmap
 *   mprotect      on a 3-page RW mapping made before timing: mprotect the
 *                 middle page PROT_READ (split), then back to RW (merge)
 *   mremap        mmap 4 KiB, mremap to 256 KiB with MREMAP_MAYMOVE, munmap
 *   all           the six above, in that order
 *   idle          nothing: create the LIVE mappings and exit normally
 *                 (run with VADSHIM_OPTIONS=stats=1 to read the shim's
 *                 metadata size with LIVE mappings)
 *   exec          ITERS times (default 200), alternately: posix_spawn PROG
 *                 (default /bin/true) natively and, with -p, with
 *                 LD_PRELOAD=PRELOAD; wait4 for it.  The parent itself
 *                 should run natively.  Prints the median wall time per
 *                 spawn+wait and the median ru_maxrss of the child:
 *     bench_mman op=exec iters=200 native_ns=612000 native_maxrss_kib=1280
 *                shim_ns=700000 shim_maxrss_kib=2100 shim=0
 *
 * Exit status: 0 on success; 2 on bad usage; 3 when a system call fails
 * (the message names it) or a child under the preload exits non-zero.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define PAGE        4096UL
#define MAX_REPS    101
#define MAX_EXEC    100000
#define BATCH_NS    10000000.0      /* calibration target per batch */

static const char *prog_name = "bench_mman";

static void fail(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog_name, what, strerror(errno));
	exit(3);
}

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

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void *map_rw(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		fail("mmap");
	return p;
}

static void unmap(void *p, size_t len)
{
	if (munmap(p, len))
		fail("munmap");
}

/* Each function performs one "op" n times. */

static void op_mmap(long n, size_t len, int touch)
{
	for (long i = 0; i < n; i++) {
		volatile char *p = map_rw(len);
		if (touch)
			for (size_t off = 0; off < len; off += PAGE)
				p[off] = 1;
		unmap((void *)p, len);
	}
}

static void op_mmap4k(long n)       { op_mmap(n, PAGE, 0); }
static void op_mmap4k_touch(long n) { op_mmap(n, PAGE, 1); }
static void op_mmap1m(long n)       { op_mmap(n, 1UL << 20, 0); }
static void op_mmap1m_touch(long n) { op_mmap(n, 1UL << 20, 1); }

static char *mprotect_region;       /* 3 pages RW, made before timing */

static void op_mprotect(long n)
{
	char *mid = mprotect_region + PAGE;
	for (long i = 0; i < n; i++) {
		if (mprotect(mid, PAGE, PROT_READ))
			fail("mprotect (split)");
		if (mprotect(mid, PAGE, PROT_READ | PROT_WRITE))
			fail("mprotect (merge)");
	}
}

static void op_mremap(long n)
{
	for (long i = 0; i < n; i++) {
		void *p = map_rw(PAGE);
		void *q = mremap(p, PAGE, 256 * 1024, MREMAP_MAYMOVE);
		if (q == MAP_FAILED)
			fail("mremap");
		unmap(q, 256 * 1024);
	}
}

struct op {
	const char *name;
	void (*run)(long n);
};

static const struct op ops[] = {
	{ "mmap4k", op_mmap4k },
	{ "mmap4k_touch", op_mmap4k_touch },
	{ "mmap1m", op_mmap1m },
	{ "mmap1m_touch", op_mmap1m_touch },
	{ "mprotect", op_mprotect },
	{ "mremap", op_mremap },
};
#define NOPS (sizeof(ops) / sizeof(ops[0]))

static int shim_loaded(void)
{
	char line[512];
	int found = 0;
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, "libvadshim") != NULL;
	fclose(f);
	return found;
}

static void make_background(long live)
{
	for (long i = 0; i < live; i++) {
		int prot = i % 2 ? PROT_READ : PROT_READ | PROT_WRITE;
		void *p = mmap(NULL, PAGE, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			int e = errno;
			char max[32] = "?";
			FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
			if (f) {
				if (!fgets(max, sizeof(max), f))
					strcpy(max, "?");
				max[strcspn(max, "\n")] = 0;
				fclose(f);
			}
			fprintf(stderr, "%s: created only %ld of %ld background mappings: "
				"%s (vm.max_map_count=%s)\n", prog_name, i, live,
				strerror(e), max);
			exit(3);
		}
	}
}

static long calibrate(const struct op *op)
{
	long n = 1;
	for (;;) {
		double t0 = now_ns();
		op->run(n);
		double dt = now_ns() - t0;
		if (dt >= BATCH_NS / 4 || n >= (1L << 30))
			return dt > 0 ? (long)((double)n * BATCH_NS / dt) + 1 : n;
		n *= 2;
	}
}

static void run_op(const struct op *op, long live, long iters, int reps, int shim)
{
	double per_op[MAX_REPS];

	if (iters <= 0)
		iters = calibrate(op);  /* doubles as the warm-up */
	else
		op->run(iters / 10 + 1);
	for (int r = 0; r < reps; r++) {
		/*
		 * A PROT_NONE spacer of a different size before each batch moves
		 * where the timed mappings land relative to 2 MiB page-table
		 * boundaries (and adds a VMA): mremap in particular costs up to
		 * +30% at some offsets, which would otherwise be one random draw
		 * per run.  PROT_NONE keeps it from merging with the timed ones.
		 */
		size_t spacer = (1 + (size_t)r * 97 % 512) * PAGE;
		if (mmap(NULL, spacer, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
		    == MAP_FAILED)
			fail("mmap (spacer)");
		double t0 = now_ns();
		op->run(iters);
		per_op[r] = (now_ns() - t0) / (double)iters;
	}
	double med = median(per_op, (size_t)reps);  /* sorts: per_op[0] is the min */
	printf("bench_mman op=%s live=%ld iters=%ld reps=%d ns_per_op=%.1f "
	       "min_ns_per_op=%.1f shim=%d\n", op->name, live, iters, reps, med,
	       per_op[0], shim);
	fflush(stdout);
}

/* environ without LD_PRELOAD, plus LD_PRELOAD=preload when given. */
static char **child_env(const char *preload)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = calloc(n + 2, sizeof(*env));
	if (!env)
		fail("calloc");
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11))
			env[k++] = environ[i];
	if (preload) {
		size_t len = strlen(preload) + sizeof("LD_PRELOAD=");
		char *s = malloc(len);
		if (!s)
			fail("malloc");
		snprintf(s, len, "LD_PRELOAD=%s", preload);
		env[k++] = s;
	}
	env[k] = NULL;
	return env;
}

/* One posix_spawn + wait4; returns wall ns, stores ru_maxrss (KiB). */
static double spawn_once(const char *prog, char **env, double *maxrss, int shim)
{
	char *argv[] = { (char *)prog, NULL };
	struct rusage ru;
	int status;
	pid_t pid;

	double t0 = now_ns();
	int e = posix_spawn(&pid, prog, NULL, NULL, argv, env);
	if (e) {
		errno = e;
		fail("posix_spawn");
	}
	if (wait4(pid, &status, 0, &ru) != pid)
		fail("wait4");
	double dt = now_ns() - t0;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "%s: %s %s: %s %d\n", prog_name, prog,
			shim ? "under the preload" : "natively",
			WIFEXITED(status) ? "exited with status" : "killed by signal",
			WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		exit(3);
	}
	*maxrss = (double)ru.ru_maxrss;
	return dt;
}

static void run_exec(const char *prog, const char *preload, long iters, int shim)
{
	if (iters <= 0)
		iters = 200;
	if (iters > MAX_EXEC)
		iters = MAX_EXEC;
	char **native_env = child_env(NULL);
	char **shim_env = preload ? child_env(preload) : NULL;
	double *t[2], *rss[2];
	for (int s = 0; s < 2; s++) {
		t[s] = calloc((size_t)iters, sizeof(double));
		rss[s] = calloc((size_t)iters, sizeof(double));
		if (!t[s] || !rss[s])
			fail("calloc");
	}
	double dummy;
	for (int w = 0; w < 5; w++) {   /* warm the page cache for both */
		spawn_once(prog, native_env, &dummy, 0);
		if (shim_env)
			spawn_once(prog, shim_env, &dummy, 1);
	}
	for (long i = 0; i < iters; i++) {
		/* Alternate which goes first so neither always follows the other. */
		int first = (int)(i & 1);
		for (int k = 0; k < 2; k++) {
			int s = first ^ k;
			if (s == 1 && !shim_env)
				continue;
			t[s][i] = spawn_once(prog, s ? shim_env : native_env, &rss[s][i], s);
		}
	}
	printf("bench_mman op=exec iters=%ld native_ns=%.0f native_maxrss_kib=%.0f",
	       iters, median(t[0], (size_t)iters), median(rss[0], (size_t)iters));
	if (shim_env)
		printf(" shim_ns=%.0f shim_maxrss_kib=%.0f",
		       median(t[1], (size_t)iters), median(rss[1], (size_t)iters));
	printf(" shim=%d\n", shim);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: %s [-r REPS] [-p PRELOAD] [-x PROG] OP[,OP...] LIVE [ITERS]\n"
		"  OP: mmap4k mmap4k_touch mmap1m mmap1m_touch mprotect mremap all"
		" idle exec\n", prog_name);
	exit(2);
}

static long parse_long(const char *s, long min)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	const char *preload = NULL, *prog = "/bin/true";
	int reps = 5, c;

	while ((c = getopt(argc, argv, "r:p:x:")) != -1) {
		switch (c) {
		case 'r': reps = (int)parse_long(optarg, 1); break;
		case 'p': preload = optarg; break;
		case 'x': prog = optarg; break;
		default: usage();
		}
	}
	if (reps > MAX_REPS)
		reps = MAX_REPS;
	if (argc - optind < 2 || argc - optind > 3)
		usage();
	char *oplist = argv[optind];
	long live = parse_long(argv[optind + 1], 0);
	long iters = argc - optind == 3 ? parse_long(argv[optind + 2], 0) : 0;
	int shim = shim_loaded();

	if (!strcmp(oplist, "exec")) {
		run_exec(prog, preload, iters, shim);
		return 0;
	}

	/* Validate every name before the (slow) background setup. */
	const struct op *todo[64];
	size_t ntodo = 0;
	int idle = 0;
	for (char *save = NULL, *name = strtok_r(oplist, ",", &save); name;
	     name = strtok_r(NULL, ",", &save)) {
		int all = !strcmp(name, "all"), found = all;
		if (!strcmp(name, "idle")) {
			idle = found = 1;
			continue;
		}
		for (size_t i = 0; i < NOPS; i++) {
			if ((all || !strcmp(name, ops[i].name)) && ntodo < 64) {
				todo[ntodo++] = &ops[i];
				found = 1;
			}
		}
		if (!found) {
			fprintf(stderr, "%s: unknown operation '%s'\n", prog_name, name);
			usage();
		}
	}

	make_background(live);
	mprotect_region = map_rw(3 * PAGE);
	for (size_t i = 0; i < ntodo; i++)
		run_op(todo[i], live, iters, reps, shim);
	if (idle)
		printf("bench_mman op=idle live=%ld shim=%d\n", live, shim);
	return 0;
}
