/*
 * test_arena — the VAD arena (mman/) driven through its syscall layer.
 *
 * The core is linked directly (no LD_PRELOAD): main calls shim_real_init,
 * shim_options_parse(NULL) and mman_init(ARENA_SIZE, MAX_VADS) itself, then
 * calls the mman_sys_* handlers, which return >= 0 or -errno.
 *
 * Groups:
 *   directed          placements only the arena can be steered into (the
 *                     top of the arena is still free): mremap into the gap
 *                     right below its own source;
 *   native vs arena   the same scripted calls in a native region (the
 *                     kernel) and in an arena region; every result, the
 *                     memory read back, and the final layout (mapped, prot,
 *                     shared, VMA/VAD boundaries) must agree;
 *   ownership         shim memory (mman_shim_alloc, the metadata) refuses
 *                     munmap/mprotect/mremap/MAP_FIXED and stays intact;
 *   random vs model   100,000 random calls against a page-per-entry model
 *                     (kernel rules, libos-anchors.md 3.2-3.3); after each:
 *                     mman_check, the VAD layout against the model, and
 *                     mapped-ness by msync around the touched ranges;
 *                     periodically: the whole arena by msync, the host's
 *                     view (/proc/self/maps), memory content (tag words)
 *                     and protection (reads probed under SIGSEGV);
 *   fork              the child's arena is sound and its own; the parent's
 *                     regions survive what the child does;
 *   exhaustion        arena full and out of VADs: -ENOMEM and one message.
 *
 * The model's rules are the kernel's (Linux 6.18, checked natively: hints
 * round down, mremap moves several VMAs and holes when the size stays, a
 * DONTUNMAP hint is checked and honoured, ...) with two exceptions, each
 * shown against the kernel by a native-vs-arena scenario instead:
 *   - a shared anonymous VAD never merges again once split (kernel_shm);
 *   - when mremap must grow or DONTUNMAP a range the host holds as two
 *     VMAs (anon_vma, VM_ACCOUNT or vm_pgoff differ), the host says EFAULT
 *     and the model accepts it ("host EFAULTs" in the group line; as
 *     ENOMEM when the arena answers that without MREMAP_MAYMOVE).
 *
 * Usage: test_arena [seed [steps]]   (seed of the random group; printed)
 * A failing random step prints the last calls and "reproduce: test_arena
 * SEED STEP"; TEST_ARENA_DEBUG=ADDR then also dumps the model and the
 * VADs around ADDR at the failure (or at the end).
 * Prints one line per group and finally "N passed, N failed".
 * Single-threaded (the fork child excepted).
 */
#include "mman/mman.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim/options.h"
#include "shim/real.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif
#ifndef PROT_SEM
#define PROT_SEM 0x8
#endif

#define PG ((uintptr_t)MMAN_PAGE)
#define ARENA_SIZE ((size_t)64 << 20)
#define MAX_VADS 4096
#define FILE_PAGES 64           /* size of each temp file */
#define BAD_FD 999

static unsigned long passed, failed;
static unsigned long shown;     /* failures printed in this group */
static char ctx[256];           /* what the current group is doing */

#define CHECK(cond) check_at((cond) != 0, #cond, __LINE__)
#define CHECK_EQ(got, want) check_eq((long)(got), (long)(want), #got, __LINE__)

static void check_at(int ok, const char *what, int line)
{
	if (ok) {
		passed++;
		return;
	}
	failed++;
	if (++shown <= 40)
		fprintf(stderr, "test_arena.c:%d: CHECK(%s) failed %s\n", line, what, ctx);
}

static void check_eq(long got, long want, const char *what, int line)
{
	if (got == want) {
		passed++;
		return;
	}
	failed++;
	if (++shown <= 40)
		fprintf(stderr, "test_arena.c:%d: %s = %ld (%#lx), want %ld (%#lx) %s\n",
			line, what, got, (unsigned long)got, want, (unsigned long)want, ctx);
}

static void fail_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail_msg(const char *fmt, ...)
{
	va_list ap;

	failed++;
	if (++shown > 40)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "test_arena.c: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " %s\n", ctx);
	va_end(ap);
}

static void check_arena(void)
{
	char msg[256];
	int err = mman_check(msg, sizeof(msg));

	if (err && shown < 40)
		fprintf(stderr, "mman_check: %s %s\n", msg, ctx);
	CHECK(err == 0);
}

static void run_group(const char *name, void (*fn)(char *note, size_t len))
{
	unsigned long p0 = passed, f0 = failed;
	char note[320] = "";

	ctx[0] = 0;
	shown = 0;
	fn(note, sizeof(note));
	ctx[0] = 0;
	printf("%s%s%s: %lu passed, %lu failed\n", name, note[0] ? " " : "", note,
	       passed - p0, failed - f0);
	fflush(stdout);
}

/* ---- random numbers (splitmix64) ------------------------------------- */

static uint64_t seed = 20240601;
static uint64_t rng_state;

static uint64_t rnd64(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rnd(uint64_t n)
{
	return rnd64() % n;
}

/* ---- probed memory access (SIGSEGV/SIGBUS caught) --------------------- */

static sigjmp_buf probe_jb;
static volatile sig_atomic_t probing;

static void probe_handler(int sig)
{
	if (probing) {
		/* SA_NODEFER keeps the signal unblocked, but a sanitizer's
		 * wrapper around this handler may have blocked it. */
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGSEGV);
		sigaddset(&set, SIGBUS);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		siglongjmp(probe_jb, sig);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void probe_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = probe_handler;
	sa.sa_flags = SA_NODEFER;       /* so siglongjmp needs no mask restore */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

/* 0 and *out on success, else the signal number. */
static int probe_read(uintptr_t a, uint64_t *out)
{
	int sig;

	probing = 1;
	sig = sigsetjmp(probe_jb, 0);
	if (sig == 0)
		*out = *(volatile uint64_t *)a;
	probing = 0;
	return sig;
}

static int probe_write(uintptr_t a, uint64_t v)
{
	int sig;

	probing = 1;
	sig = sigsetjmp(probe_jb, 0);
	if (sig == 0)
		*(volatile uint64_t *)a = v;
	probing = 0;
	return sig;
}

/* ---- the host's view: /proc/self/maps -------------------------------- */

struct hpage {
	uint8_t present, prot, shared, start;   /* start: a VMA begins here */
	uint64_t ino, off;
};

static char maps_buf[1 << 22];

/* Fill out[0..n) for the pages at lo. */
static void host_view(uintptr_t lo, size_t n, struct hpage *out)
{
	memset(out, 0, n * sizeof(*out));
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	size_t len = 0;
	for (;;) {
		ssize_t r = read(fd, maps_buf + len, sizeof(maps_buf) - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	maps_buf[len] = 0;
	uintptr_t hi = lo + n * PG;
	for (char *line = maps_buf; line && *line;) {
		char *nl = strchr(line, '\n');
		unsigned long s, e, off, ino;
		char perms[8];
		unsigned dmaj, dmin;
		if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu", &s, &e, perms, &off, &dmaj, &dmin,
			   &ino) == 7 && e > lo && s < hi) {
			for (uintptr_t a = s > lo ? s : lo; a < e && a < hi; a += PG) {
				struct hpage *h = &out[(a - lo) / PG];
				h->present = 1;
				h->prot = (uint8_t)((perms[0] == 'r' ? PROT_READ : 0) |
						    (perms[1] == 'w' ? PROT_WRITE : 0) |
						    (perms[2] == 'x' ? PROT_EXEC : 0));
				h->shared = perms[3] == 's';
				h->start = a == s;
				h->ino = ino;
				h->off = off + (a - s);
			}
		}
		line = nl ? nl + 1 : NULL;
	}
}

/* Does the host have more than one VMA over [s, e)? */
static bool host_split_inside(uintptr_t s, uintptr_t e)
{
	size_t n = (e - s) / PG;
	struct hpage *h = calloc(n, sizeof(*h));
	bool split = false;

	host_view(s, n, h);
	for (size_t i = 1; i < n; i++)
		if (h[i].start || !h[i].present)
			split = true;
	free(h);
	return split;
}

/* ---- shim-log capture (messages go to fd 2 by default) ---------------- */

static int cap_fd = -1, cap_saved = -1;

static void capture_begin(void)
{
	fflush(stderr);
	cap_fd = memfd_create("test_arena_log", 0);
	cap_saved = dup(2);
	dup2(cap_fd, 2);
}

/* The captured text (static buffer); stderr restored. */
static const char *capture_end(void)
{
	static char text[4096];
	ssize_t n;

	dup2(cap_saved, 2);
	close(cap_saved);
	n = pread(cap_fd, text, sizeof(text) - 1, 0);
	close(cap_fd);
	text[n > 0 ? n : 0] = 0;
	return text;
}

/* ---- temp files --------------------------------------------------------- */

/*
 * Two host files of FILE_PAGES pages; the first word of page p of file f is
 * FILE_TAG(f, p).  The tests never write to file mappings, so these words
 * never change.  fd_rw maps file 0 read-write; fd_ro maps file 1 read-only
 * (a separate inode, so the kernel and the arena agree on granularity);
 * fd_ro0 opens file 0 read-only (same inode as fd_rw: the native-vs-arena
 * group uses it).
 */
#define FILE_TAG(f, p) (0x5151000000000000ull | ((uint64_t)(f) << 32) | (uint64_t)(p))

static struct tfile {
	int fd;
	ino_t ino;
	char path[64];
} files[2];
static int fd_ro0 = -1;

static void files_create(void)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	uint64_t page[PG / 8];

	for (int f = 0; f < 2; f++) {
		snprintf(files[f].path, sizeof(files[f].path), "%.40s/test_arena.XXXXXX", dir);
		int fd = mkstemp(files[f].path);
		if (fd < 0) {
			perror("mkstemp");
			exit(2);
		}
		memset(page, 0, sizeof(page));
		for (int p = 0; p < FILE_PAGES; p++) {
			page[0] = FILE_TAG(f, p);
			if (pwrite(fd, page, sizeof(page), (off_t)p * (off_t)PG) != (ssize_t)sizeof(page)) {
				perror("pwrite");
				exit(2);
			}
		}
		if (f == 1) {
			close(fd);
			fd = open(files[f].path, O_RDONLY | O_CLOEXEC);
		} else {
			fd_ro0 = open(files[f].path, O_RDONLY | O_CLOEXEC);
		}
		struct stat st;
		fstat(fd, &st);
		files[f].fd = fd;
		files[f].ino = st.st_ino;
		unlink(files[f].path);
	}
}

/* Unmap every program VAD (what a group left behind); -errno of the first failure. */
static long unmap_all_app(void)
{
	for (;;) {
		uintptr_t r[64][2];
		int n = 0;
		lk_lock(&mman.lock);
		for (const struct vad *v = mman.ix.head; v && n < 64; v = v->next)
			if (v->owner == MMAN_OWNER_APP) {
				r[n][0] = v->start;
				r[n++][1] = v->end;
			}
		lk_unlock(&mman.lock);
		if (n == 0)
			return 0;
		for (int i = 0; i < n; i++) {
			long e = mman_sys_munmap((void *)r[i][0], r[i][1] - r[i][0]);
			if (e)
				return e;
		}
	}
}

/* ====================================================================== */
/*  native vs arena: the kernel's answer is the expectation                */
/* ====================================================================== */

#define ENV_PAGES 32
#define ENV_MAXREC 128
#define TAGV(i) (0x7a7a000000000000ull | (uint64_t)(i))

struct env {
	int arena;                  /* 1: mman_sys_*, 0: the host kernel */
	uintptr_t base;             /* ENV_PAGES pages, free on entry */
	int nrec;
	long rec[ENV_MAXREC];
	const char *what[ENV_MAXREC];
};

#define A(i) ((void *)(e->base + (uintptr_t)(i) * PG))

/* Results compare across the two runs: addresses become page numbers. */
static long norm(const struct env *e, long r)
{
	if (r < 0 && r > -4096)
		return r;
	if ((uintptr_t)r >= e->base && (uintptr_t)r < e->base + ENV_PAGES * PG)
		return 1000000 + (long)(((uintptr_t)r - e->base) & ~MMAN_PAGE_MASK) / (long)PG;
	return r == 0 ? 0 : 999999;     /* success elsewhere */
}

static void rec(struct env *e, const char *what, long r)
{
	if (e->nrec < ENV_MAXREC) {
		e->what[e->nrec] = what;
		e->rec[e->nrec++] = norm(e, r);
	}
}

static long h_ret(long r)
{
	return r == -1 ? -errno : r;
}

static long e_mmap(struct env *e, void *a, size_t len, int prot, int flags, int fd, off_t off)
{
	if (e->arena)
		return mman_sys_mmap(a, len, prot, flags, fd, off);
	void *p = mmap(a, len, prot, flags, fd, off);
	return p == MAP_FAILED ? -errno : (long)p;
}

static long e_munmap(struct env *e, void *a, size_t len)
{
	return e->arena ? mman_sys_munmap(a, len) : h_ret(munmap(a, len));
}

static long e_mprotect(struct env *e, void *a, size_t len, int prot)
{
	return e->arena ? mman_sys_mprotect(a, len, prot, -1) : h_ret(mprotect(a, len, prot));
}

static long e_mremap(struct env *e, void *o, size_t olen, size_t nlen, int flags, void *n)
{
	if (e->arena)
		return mman_sys_mremap(o, olen, nlen, flags, n);
	void *p = mremap(o, olen, nlen, flags, n);
	return p == MAP_FAILED ? -errno : (long)p;
}

static long e_msync(struct env *e, void *a, size_t len, int flags)
{
	return e->arena ? mman_sys_msync(a, len, flags) : h_ret(msync(a, len, flags));
}

static long e_madvise(struct env *e, void *a, size_t len, int advice)
{
	return e->arena ? mman_sys_madvise(a, len, advice) : h_ret(madvise(a, len, advice));
}

static long e_mincore(struct env *e, void *a, size_t len, unsigned char *vec)
{
	return e->arena ? mman_sys_mincore(a, len, vec) : h_ret(mincore(a, len, vec));
}

/* Memory: the word, or -1000 - signal (recorded as is, not as an address). */
static void e_read(struct env *e, const char *what, int i)
{
	uint64_t v;
	int sig = probe_read((uintptr_t)A(i), &v);

	if (e->nrec < ENV_MAXREC) {
		e->what[e->nrec] = what;
		e->rec[e->nrec++] = sig ? -1000 - sig : (long)(v & 0x7fffffffffffffffull);
	}
}

static void e_tag(struct env *e, int from, int to)
{
	for (int i = from; i < to; i++)
		probe_write((uintptr_t)A(i), TAGV(i));
}

#define REC(x) rec(e, #x, (x))

/* Argument checks of every call, in the kernel's order (table 3.3). */
static void sc_args(struct env *e)
{
	static unsigned char vec[64];
	const int RW = PROT_READ | PROT_WRITE, PA = MAP_PRIVATE | MAP_ANONYMOUS;
	const int fd = files[0].fd;

	REC(e_mmap(e, A(0), 4 * PG, RW, PA | MAP_FIXED, -1, 0));
	REC(e_mmap(e, A(6), 2 * PG, PROT_READ, PA | MAP_FIXED, -1, 0));
	/* mmap */
	REC(e_mmap(e, A(10), 0, RW, PA | MAP_FIXED, -1, 0));
	REC(e_mmap(e, A(10), PG, RW, PA | MAP_FIXED, -1, 100));
	REC(e_mmap(e, (char *)A(10) + 8, PG, RW, PA | MAP_FIXED, -1, 0));
	REC(e_mmap(e, A(10), PG, RW, MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	REC(e_mmap(e, A(0), PG, RW, PA | MAP_FIXED_NOREPLACE, -1, 0));
	REC(e_mmap(e, A(4), 4 * PG, RW, PA | MAP_FIXED_NOREPLACE, -1, 0));
	REC(e_mmap(e, A(1), PG, RW, PA | MAP_FIXED | MAP_FIXED_NOREPLACE, -1, 0));
	REC(e_mmap(e, A(10), PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, -1, 0));
	REC(e_mmap(e, A(10), PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, BAD_FD, 0));
	REC(e_mmap(e, A(10), 0, PROT_READ, MAP_PRIVATE | MAP_FIXED, BAD_FD, 0));
	REC(e_mmap(e, (char *)A(10) + 8, PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, BAD_FD, 0));
	REC(e_mmap(e, A(10), PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 100));
	REC(e_mmap(e, A(10), PG, RW, MAP_SHARED | MAP_FIXED, fd_ro0, 0));
	REC(e_mmap(e, A(10), PG, PROT_READ, MAP_SHARED_VALIDATE | MAP_SYNC | MAP_FIXED, fd, 0));
	REC(e_mmap(e, A(10), PG, RW, MAP_PRIVATE | MAP_FIXED, fd, 0));
	REC(e_mmap(e, A(11), PG, PROT_READ, MAP_SHARED | MAP_FIXED, fd_ro0, PG));
	REC(e_mmap(e, A(4), 2 * PG, RW, PA, -1, 0));            /* free hint: taken */
	/* munmap */
	REC(e_munmap(e, (char *)A(0) + 8, PG));
	REC(e_munmap(e, A(0), 0));
	REC(e_munmap(e, A(14), PG));
	/* mprotect */
	REC(e_mprotect(e, (char *)A(0) + 8, 0, PROT_READ));
	REC(e_mprotect(e, A(0), 0, PROT_READ));
	REC(e_mprotect(e, A(0), PG, 0x40));
	REC(e_mprotect(e, A(0), PG, PROT_READ | PROT_GROWSDOWN | PROT_GROWSUP));
	REC(e_mprotect(e, A(0), PG, PROT_READ | PROT_GROWSDOWN));
	REC(e_mprotect(e, A(13), PG, PROT_READ));
	REC(e_mprotect(e, A(2), 8 * PG, PROT_READ));            /* hole at 8: leading part changed */
	REC(e_mprotect(e, A(11), PG, RW));                      /* shared, read-only fd */
	REC(e_mprotect(e, A(10), 2 * PG, RW));
	/* msync */
	REC(e_msync(e, (char *)A(0) + 8, PG, MS_ASYNC));
	REC(e_msync(e, A(0), PG, MS_ASYNC | MS_SYNC));
	REC(e_msync(e, A(0), PG, 0x100));
	REC(e_msync(e, A(0), 0, MS_ASYNC));
	REC(e_msync(e, A(0), 10 * PG, MS_ASYNC));
	REC(e_msync(e, A(0), PG, 0));
	REC(e_msync(e, A(8), 2 * PG, MS_SYNC));
	/* madvise */
	REC(e_madvise(e, A(0), PG, 12345));
	REC(e_madvise(e, A(8), PG, 12345));
	REC(e_madvise(e, (char *)A(0) + 8, PG, MADV_DONTNEED));
	REC(e_madvise(e, A(0), 0, MADV_DONTNEED));
	REC(e_madvise(e, A(0), 0, 12345));
	REC(e_madvise(e, A(0), 10 * PG, MADV_DONTNEED));
	REC(e_madvise(e, A(8), 2 * PG, MADV_NORMAL));
	/* mincore */
	REC(e_mincore(e, (char *)A(0) + 8, PG, vec));
	REC(e_mincore(e, A(0), 0, vec));
	REC(e_mincore(e, A(0), 10 * PG, vec));
	REC(e_mincore(e, A(0), 8 * PG, vec));
	REC(e_mincore(e, A(0), PG, (unsigned char *)8));
	/* mremap */
	REC(e_mremap(e, A(0), PG, PG, 0x80, NULL));
	REC(e_mremap(e, A(0), PG, PG, MREMAP_FIXED, A(20)));
	REC(e_mremap(e, A(0), PG, PG, MREMAP_DONTUNMAP, NULL));
	REC(e_mremap(e, (char *)A(0) + 8, PG, PG, 0, NULL));
	REC(e_mremap(e, A(0), PG, 0, 0, NULL));
	REC(e_mremap(e, A(0), PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL));
	REC(e_mremap(e, A(0), PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED, (char *)A(20) + 8));
	REC(e_mremap(e, A(0), 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, A(1)));
	REC(e_mremap(e, A(8), PG, PG, 0, NULL));
	REC(e_mremap(e, A(6), 4 * PG, 8 * PG, MREMAP_MAYMOVE, NULL));
	REC(e_mremap(e, A(0), 0, PG, MREMAP_MAYMOVE, NULL));
	REC(e_mremap(e, A(10), PG, PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP | MREMAP_FIXED, A(20)));
	REC(e_mremap(e, A(11), 0, PG, MREMAP_MAYMOVE | MREMAP_FIXED, A(20)));
	/* DONTUNMAP without FIXED: new_address is checked and is a hint */
	REC(e_mremap(e, A(20), PG, PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, (char *)A(24) + 8));
	REC(e_mremap(e, A(20), PG, PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, A(20)));
	REC(e_mremap(e, A(20), PG, PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, A(27)));
	REC(e_mremap(e, A(6), 4 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, A(28)));
	REC(e_mremap(e, A(0), 2 * PG, 4 * PG, 0, NULL));
	REC(e_mremap(e, A(2), 2 * PG, 4 * PG, 0, NULL));
	REC(e_mremap(e, A(2), 2 * PG, PG, 0, NULL));
	e_read(e, "read page 20", 20);
	e_read(e, "read page 11", 11);
}

/* A shared anonymous mapping split by mprotect and joined again. */
static void sc_shm_rejoin(struct env *e)
{
	REC(e_mmap(e, A(0), 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	e_tag(e, 0, 4);
	REC(e_mprotect(e, A(1), PG, PROT_READ));
	REC(e_mprotect(e, A(1), PG, PROT_READ | PROT_WRITE));
	REC(e_mremap(e, A(0), 4 * PG, 6 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, A(8)));
	e_read(e, "read page 9", 9);
}

/* mprotect that changes nothing must not split a shared mapping. */
static void sc_shm_sameprot(struct env *e)
{
	REC(e_mmap(e, A(0), 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	e_tag(e, 0, 4);
	REC(e_mprotect(e, A(1), PG, PROT_READ | PROT_WRITE));
	REC(e_mremap(e, A(0), 4 * PG, 6 * PG, 0, NULL));
	e_read(e, "read page 2", 2);
}

/* One file through two descriptors (rw, ro): two VMAs for the kernel. */
static void sc_two_fds(struct env *e)
{
	REC(e_mmap(e, A(0), 2 * PG, PROT_READ, MAP_SHARED | MAP_FIXED, files[0].fd, 0));
	REC(e_mmap(e, A(2), 2 * PG, PROT_READ, MAP_SHARED | MAP_FIXED, fd_ro0, 2 * PG));
	REC(e_mprotect(e, A(0), 4 * PG, PROT_READ | PROT_WRITE));
	REC(e_mremap(e, A(0), 4 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, A(8)));
}

/* A MAP_FIXED refused by the host must leave the mapping as it was. */
static void sc_failed_fixed(struct env *e)
{
	REC(e_mmap(e, A(0), 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	REC(e_mmap(e, A(2), 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd_ro0, 0));
	REC(e_mremap(e, A(0), 8 * PG, 10 * PG, 0, NULL));
}

/* MREMAP_DONTUNMAP keeps the source range one mapping. */
static void sc_dontunmap(struct env *e)
{
	REC(e_mmap(e, A(0), 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	e_tag(e, 0, 8);
	REC(e_mremap(e, A(2), 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP | MREMAP_FIXED, A(12)));
	e_read(e, "read page 2", 2);
	e_read(e, "read page 12", 12);
	e_read(e, "read page 13", 13);
	REC(e_mremap(e, A(0), 8 * PG, 10 * PG, 0, NULL));
	e_read(e, "read page 1", 1);
}

/* Growing a moved mapping in place keeps it one mapping: it can grow again. */
static void sc_grow_after_move(struct env *e)
{
	REC(e_mmap(e, A(0), 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	e_tag(e, 0, 2);
	REC(e_mremap(e, A(0), 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, A(8)));
	REC(e_mremap(e, A(8), 2 * PG, 4 * PG, 0, NULL));
	e_tag(e, 10, 12);
	REC(e_mremap(e, A(8), 4 * PG, 6 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, A(20)));
	e_read(e, "read page 20", 20);
	e_read(e, "read page 23", 23);
}

/* Content: MAP_FIXED replacement and DONTNEED zero private memory, shared
 * memory keeps its pages, mremap carries them. */
static void sc_content(struct env *e)
{
	const int RW = PROT_READ | PROT_WRITE;

	REC(e_mmap(e, A(0), 4 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	e_tag(e, 0, 4);
	REC(e_mmap(e, A(1), PG, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	REC(e_madvise(e, A(2), PG, MADV_DONTNEED));
	e_read(e, "read page 0", 0);
	e_read(e, "read page 1", 1);
	e_read(e, "read page 2", 2);
	e_read(e, "read page 3", 3);
	REC(e_mmap(e, A(6), 2 * PG, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	e_tag(e, 6, 8);
	REC(e_madvise(e, A(6), 2 * PG, MADV_DONTNEED));
	e_read(e, "read page 6", 6);
	REC(e_mprotect(e, A(3), PG, PROT_NONE));
	e_read(e, "read page 3", 3);
	REC(e_mremap(e, A(0), 4 * PG, 8 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, A(20)));
	e_read(e, "read page 0", 0);
	e_read(e, "read page 20", 20);
	e_read(e, "read page 21", 21);
	e_read(e, "read page 23", 23);
	e_read(e, "read page 24", 24);
	REC(e_mprotect(e, A(23), PG, PROT_READ));
	e_read(e, "read page 23", 23);
	REC(e_mmap(e, A(10), 2 * PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, files[0].fd, 3 * PG));
	e_read(e, "read page 11", 11);
	REC(e_mremap(e, A(10), 2 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, A(26)));
	e_read(e, "read page 27", 27);
	e_read(e, "read page 28", 28);
}

struct scenario {
	const char *name;
	void (*fn)(struct env *);
};

static const struct scenario scenarios[] = {
	{ "argument checks", sc_args },
	{ "shared anon split and rejoined", sc_shm_rejoin },
	{ "shared anon mprotect to same prot", sc_shm_sameprot },
	{ "one file through rw and ro descriptors", sc_two_fds },
	{ "MAP_FIXED refused by the host", sc_failed_fixed },
	{ "MREMAP_DONTUNMAP source", sc_dontunmap },
	{ "grow in place after a move, then grow again", sc_grow_after_move },
	{ "content through fixed, DONTNEED, mremap", sc_content },
};

/* Does the arena place a mapping without a hint near its end (top down)? */
static bool placement_top_down(void)
{
	long a = mman_sys_mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	mman_sys_munmap((void *)a, PG);
	return (uintptr_t)a - mman.map_lo > mman.end - (uintptr_t)a;
}

/* What a run leaves behind, per page. */
struct snap {
	uint8_t mapped, prot, shared, start, shimprot;
};

static void snapshot(struct env *e, struct snap *s)
{
	struct hpage h[ENV_PAGES + 1];

	host_view(e->base, ENV_PAGES, h);
	for (int i = 0; i < ENV_PAGES; i++) {
		s[i].prot = h[i].prot;
		s[i].shared = h[i].shared;
		if (!e->arena) {
			s[i].mapped = h[i].present;
			s[i].start = h[i].start || (i > 0 && !h[i - 1].present);
			s[i].shimprot = h[i].prot;
			continue;
		}
		uintptr_t a = (uintptr_t)A(i);
		s[i].mapped = mman_sys_msync(A(i), PG, MS_ASYNC) == 0;
		s[i].shimprot = mman.prot_vec[mman_pgidx(a)];
		lk_lock(&mman.lock);
		struct vad *v = vad_find(&mman.ix, a);
		s[i].start = v && v->start == a;
		lk_unlock(&mman.lock);
	}
}

static void run_env(struct env *e, const struct scenario *sc, struct snap *s)
{
	e->nrec = 0;
	sc->fn(e);
	snapshot(e, s);
	e_munmap(e, A(0), ENV_PAGES * PG);
}

static void group_native(char *note, size_t len)
{
	static struct env nat, arn;
	struct snap sn[ENV_PAGES], sa[ENV_PAGES];
	int nfail = 0;

	/* A native region with a free page either side. */
	void *p = mmap(NULL, (ENV_PAGES + 2) * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(p, (ENV_PAGES + 2) * PG);
	nat.arena = 0;
	nat.base = (uintptr_t)p + PG;
	long a = mman_sys_mmap(NULL, (ENV_PAGES + 2) * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(a > 0);
	mman_sys_munmap((void *)a, (ENV_PAGES + 2) * PG);
	arn.arena = 1;
	arn.base = (uintptr_t)a + PG;

	for (size_t k = 0; k < sizeof(scenarios) / sizeof(scenarios[0]); k++) {
		const struct scenario *sc = &scenarios[k];
		unsigned long f0 = failed;

		snprintf(ctx, sizeof(ctx), "[native vs arena: %s]", sc->name);
		run_env(&nat, sc, sn);
		run_env(&arn, sc, sa);
		check_arena();
		CHECK_EQ(arn.nrec, nat.nrec);
		for (int i = 0; i < nat.nrec && i < arn.nrec; i++) {
			if (arn.rec[i] == nat.rec[i]) {
				passed++;
				continue;
			}
			fail_msg("%s: arena %ld, native %ld", nat.what[i], arn.rec[i], nat.rec[i]);
		}
		for (int i = 0; i < ENV_PAGES; i++) {
			const struct snap *n = &sn[i], *r = &sa[i];
			if (n->mapped != r->mapped)
				fail_msg("page %d: mapped arena %d, native %d", i, r->mapped, n->mapped);
			else if (n->mapped && n->prot != r->prot)
				fail_msg("page %d: host prot arena %d, native %d", i, r->prot, n->prot);
			else if (n->mapped && n->prot != r->shimprot)
				fail_msg("page %d: arena records prot %d, the page has %d (native %d)",
					 i, r->shimprot, r->prot, n->prot);
			else if (n->mapped && n->shared != r->shared)
				fail_msg("page %d: shared arena %d, native %d", i, r->shared, n->shared);
			else if (n->mapped && n->start != r->start)
				fail_msg("page %d: %s", i, r->start ?
					 "arena VAD boundary inside one native VMA" :
					 "native VMA boundary inside one arena VAD");
			else
				passed++;
		}
		if (failed != f0)
			nfail++;
	}
	CHECK_EQ(unmap_all_app(), 0);
	check_arena();
	snprintf(note, len, "(%zu scenarios, %d differ)",
		 sizeof(scenarios) / sizeof(scenarios[0]), nfail);
}

/* ====================================================================== */
/*  directed: placements only the arena can be made to choose             */
/* ====================================================================== */

/* Run first, while the top of the arena is free. */
static void group_directed(char *note, size_t len)
{
	const int RW = PROT_READ | PROT_WRITE, PA = MAP_PRIVATE | MAP_ANONYMOUS;
	const uintptr_t top = mman.end;

	/* mremap that moves part of a mapping (growing it) into the gap right
	 * below the rest of it: source rest, destination and index agree. */
	snprintf(ctx, sizeof(ctx), "[directed: move next to the rest of the source]");
	CHECK_EQ(mman_sys_mmap((void *)(top - 15 * PG), 15 * PG, RW, PA | MAP_FIXED, -1, 0),
		 top - 15 * PG);
	for (int i = 0; i < 15; i++)
		*(volatile uint64_t *)(top - (15 - (uintptr_t)i) * PG) = TAGV(i);
	long d = mman_sys_mremap((void *)(top - 2 * PG), 2 * PG, 6 * PG,
				 MREMAP_MAYMOVE | MREMAP_FIXED, (void *)(top - 21 * PG));
	CHECK_EQ(d, top - 21 * PG);
	CHECK_EQ(mman_sys_msync((void *)(top - 15 * PG), 13 * PG, MS_ASYNC), 0);
	CHECK_EQ(mman_sys_msync((void *)(top - 21 * PG), 6 * PG, MS_ASYNC), 0);
	CHECK_EQ(mman_sys_msync((void *)(top - 2 * PG), 2 * PG, MS_ASYNC), -ENOMEM);
	CHECK_EQ(mman.stats.mapped_bytes, 19 * PG);
	uint64_t v = 0;
	CHECK(probe_read(top - 21 * PG, &v) == 0 && v == TAGV(13));
	CHECK(probe_read(top - 15 * PG, &v) == 0 && v == TAGV(0));
	check_arena();
	/* What the index forgot would be handed out again: fill what is free
	 * with fixed-size pieces and see that none lands on live memory. */
	for (int k = 0; k < 64; k++) {
		long a = mman_sys_mmap(NULL, 4 * PG, PROT_READ, PA, -1, 0);
		CHECK(a > 0 && ((uintptr_t)a + 4 * PG <= top - 21 * PG || (uintptr_t)a >= top - 2 * PG));
	}
	CHECK_EQ(unmap_all_app(), 0);
	check_arena();

	/* The same with MREMAP_DONTUNMAP: the source stays one mapping; the
	 * destination does not join it, as natively (/proc/self/maps shows
	 * two VMAs: the moved piece keeps its pgoff, which is not contiguous
	 * with its new neighbour's). */
	snprintf(ctx, sizeof(ctx), "[directed: DONTUNMAP next to the source]");
	CHECK_EQ(mman_sys_mmap((void *)(top - 8 * PG), 8 * PG, RW, PA | MAP_FIXED, -1, 0), top - 8 * PG);
	d = mman_sys_mremap((void *)(top - 2 * PG), 2 * PG, 2 * PG,
			    MREMAP_MAYMOVE | MREMAP_DONTUNMAP | MREMAP_FIXED, (void *)(top - 10 * PG));
	CHECK_EQ(d, top - 10 * PG);
	CHECK_EQ(mman_sys_msync((void *)(top - 10 * PG), 10 * PG, MS_ASYNC), 0);
	CHECK_EQ(mman.stats.mapped_bytes, 10 * PG);
	lk_lock(&mman.lock);
	const struct vad *vd = vad_find(&mman.ix, top - PG);
	CHECK(vd && vd->start == top - 8 * PG && vd->end == top);
	vd = vad_find(&mman.ix, top - 10 * PG);
	CHECK(vd && vd->start == top - 10 * PG && vd->end == top - 8 * PG);
	lk_unlock(&mman.lock);
	check_arena();
	CHECK_EQ(unmap_all_app(), 0);
	check_arena();
	snprintf(note, len, "(top of the arena at %#lx)", top);
}

/* ====================================================================== */
/*  ownership: the shim's memory is not the program's                      */
/* ====================================================================== */

static bool pattern_intact(const uint64_t *p, size_t words, uint64_t salt)
{
	for (size_t i = 0; i < words; i++)
		if (p[i] != (salt ^ i))
			return false;
	return true;
}

static void group_ownership(char *note, size_t len)
{
	const int RW = PROT_READ | PROT_WRITE, PA = MAP_PRIVATE | MAP_ANONYMOUS;
	const size_t words = 4 * PG / 8;
	const uint64_t salt = 0x5a17ull << 40;

	snprintf(ctx, sizeof(ctx), "[ownership]");
	uint64_t *p = mman_shim_alloc(4 * PG);
	CHECK(p != NULL);
	if (!p)
		return;
	uintptr_t s = (uintptr_t)p;
	CHECK(s >= mman.map_lo && s + 4 * PG <= mman.end);
	for (size_t i = 0; i < words; i++)
		p[i] = salt ^ i;
	long app = mman_sys_mmap(NULL, 2 * PG, RW, PA, -1, 0);
	CHECK(app > 0);
	check_arena();

	struct { const char *what; long got; } rows[] = {
		{ "munmap all", mman_sys_munmap(p, 4 * PG) },
		{ "munmap one page", mman_sys_munmap((char *)p + PG, PG) },
		{ "munmap straddling", mman_sys_munmap((char *)p - PG, 2 * PG) },
		{ "munmap around", mman_sys_munmap((char *)p - 8 * PG, 16 * PG) },
		{ "mprotect all", mman_sys_mprotect(p, 4 * PG, PROT_READ, -1) },
		{ "mprotect one page", mman_sys_mprotect((char *)p + 2 * PG, PG, PROT_NONE, -1) },
		{ "mremap grow", mman_sys_mremap(p, 4 * PG, 8 * PG, MREMAP_MAYMOVE, NULL) },
		{ "mremap shrink", mman_sys_mremap(p, 4 * PG, 2 * PG, 0, NULL) },
		{ "mremap move", mman_sys_mremap(p, 4 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_FIXED,
						 (void *)(app - 8 * (long)PG)) },
		{ "mremap onto", mman_sys_mremap((void *)app, PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED,
						 (char *)p + PG) },
		{ "mremap dup", mman_sys_mremap(p, 0, PG, MREMAP_MAYMOVE, NULL) },
		{ "MAP_FIXED", mman_sys_mmap(p, 4 * PG, RW, PA | MAP_FIXED, -1, 0) },
		{ "MAP_FIXED straddling", mman_sys_mmap((char *)p - PG, 2 * PG, RW, PA | MAP_FIXED, -1, 0) },
		{ "MAP_FIXED_NOREPLACE", mman_sys_mmap((char *)p + PG, PG, RW, PA | MAP_FIXED_NOREPLACE, -1, 0) },
		{ "MAP_FIXED file", mman_sys_mmap(p, PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, files[0].fd, 0) },
		{ "metadata munmap", mman_sys_munmap((void *)mman.base, PG) },
		{ "metadata mprotect", mman_sys_mprotect((void *)mman.base, PG, PROT_NONE, -1) },
		{ "metadata MAP_FIXED", mman_sys_mmap((void *)mman.base, PG, RW, PA | MAP_FIXED, -1, 0) },
		{ "metadata mremap", mman_sys_mremap((void *)mman.base, PG, 2 * PG, MREMAP_MAYMOVE, NULL) },
	};
	int bad = 0;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(ctx, sizeof(ctx), "[ownership: %s]", rows[i].what);
		CHECK_EQ(rows[i].got, -EINVAL);
		bad += rows[i].got != -EINVAL;
	}
	snprintf(ctx, sizeof(ctx), "[ownership]");
	CHECK(pattern_intact(p, words, salt));
	CHECK(mman_sys_msync((void *)app, 2 * PG, MS_ASYNC) == 0);   /* the program's survived */
	lk_lock(&mman.lock);
	struct vad *v = vad_find(&mman.ix, s);
	CHECK(v && v->kind == VAD_SHIM && v->start <= s && v->end >= s + 4 * PG);
	lk_unlock(&mman.lock);
	check_arena();

	/* Advice that discards pages must not reach the shim's memory either. */
	snprintf(ctx, sizeof(ctx), "[ownership: madvise DONTNEED over shim memory]");
	long r = mman_sys_madvise(p, 4 * PG, MADV_DONTNEED);
	CHECK(pattern_intact(p, words, salt));
	if (!pattern_intact(p, words, salt))
		fprintf(stderr, "  (madvise returned %ld; the shim's pages were discarded)\n", r);
	/* The same over the metadata (the VAD array) ruins the arena: try it
	 * in a child, so that the groups after still have one. */
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		char msg[256];
		mman_sys_madvise((void *)mman.base, mman.map_lo - mman.base, MADV_DONTNEED);
		_exit(mman_check(msg, sizeof(msg)) ? 1 : 0);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	snprintf(ctx, sizeof(ctx), "[ownership: madvise DONTNEED over the metadata (child)]");
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	mman_sys_munmap((void *)app, 2 * PG);
	check_arena();
	snprintf(note, len, "(%zu calls refused as the shim's)", sizeof(rows) / sizeof(rows[0]) - (size_t)bad);
}

/* ====================================================================== */
/*  the reference model                                                    */
/* ====================================================================== */

enum { K_FREE, K_ANON, K_SHM, K_FILE, K_SHIM };

struct mpage {
	uint8_t kind, prot, shared;
	uint32_t obj;           /* K_FILE: file; K_SHM: segment; K_SHIM: allocation */
	uint32_t unit;          /* K_SHM: which VAD (for the arena's own granularity) */
	uint64_t pgoff;         /* page offset in the file or segment */
	uint64_t tag;           /* K_ANON: the first word of the page */
};

struct seg {
	uint64_t npages;        /* object size: pages at or beyond it SIGBUS */
	uint64_t *tags;
};

static struct {
	struct mpage *pg;       /* one per arena page */
	size_t n;
	uintptr_t base, end, lo;        /* the arena and map_lo */
	uintptr_t wlo, whi;             /* where random addresses fall */
	size_t mapped;                  /* pages of K_ANON/K_SHM/K_FILE/K_SHIM */
	uint32_t next_unit, next_shim;
	uint64_t next_tag;
	struct seg *segs;
	size_t nsegs, capsegs;
	/* undo log: a mismatch the host explains is rolled back */
	bool logging;
	size_t nundo, capundo;
	struct { size_t i; struct mpage p; } *undo;
	/* ranges touched by the current step, for the msync oracle */
	int ntouch;
	uintptr_t touch[8][2];
} m;

/*
 * The arena's VAD for a shared anonymous mapping never merges with its
 * neighbours (mergeable() in arena.c), where the kernel joins pieces of
 * one shmem object at contiguous offsets again.  kernel_shm selects the
 * kernel's rule (the native-vs-arena group shows the difference); the
 * random group follows the arena's rule so that it keeps testing.
 */
static bool kernel_shm = true;

#define MI(a) (((a) - m.base) >> MMAN_PAGE_SHIFT)
#define MA(i) (m.base + ((uintptr_t)(i) << MMAN_PAGE_SHIFT))

static void m_put(size_t i, const struct mpage *p)
{
	if (m.logging) {
		if (m.nundo == m.capundo) {
			m.capundo = m.capundo ? 2 * m.capundo : 1024;
			m.undo = realloc(m.undo, m.capundo * sizeof(*m.undo));
		}
		m.undo[m.nundo].i = i;
		m.undo[m.nundo++].p = m.pg[i];
	}
	m.mapped -= m.pg[i].kind != K_FREE;
	m.mapped += p->kind != K_FREE;
	m.pg[i] = *p;
}

static void m_begin(void)
{
	m.logging = true;
	m.nundo = 0;
}

static void m_rollback(void)
{
	m.logging = false;
	while (m.nundo) {
		m.nundo--;
		size_t i = m.undo[m.nundo].i;
		m.mapped -= m.pg[i].kind != K_FREE;
		m.mapped += m.undo[m.nundo].p.kind != K_FREE;
		m.pg[i] = m.undo[m.nundo].p;
	}
}

static void m_touch(uintptr_t s, uintptr_t e)
{
	if (m.ntouch < 8 && s < e) {
		m.touch[m.ntouch][0] = s;
		m.touch[m.ntouch++][1] = e;
	}
}

static void m_clear(uintptr_t s, uintptr_t e)
{
	static const struct mpage free_page;

	for (uintptr_t a = s; a < e; a += PG)
		if (m.pg[MI(a)].kind != K_FREE)
			m_put(MI(a), &free_page);
}

static bool m_free(uintptr_t s, uintptr_t e)
{
	for (uintptr_t a = s; a < e; a += PG)
		if (m.pg[MI(a)].kind != K_FREE)
			return false;
	return true;
}

static bool m_any(uintptr_t s, uintptr_t e, int kind)
{
	for (uintptr_t a = s; a < e; a += PG)
		if (a >= m.base && a < m.end && m.pg[MI(a)].kind == kind)
			return true;
	return false;
}

static bool m_mergeable(const struct mpage *a, const struct mpage *b)
{
	if (a->kind == K_FREE || a->kind != b->kind || a->prot != b->prot || a->shared != b->shared)
		return false;
	switch (a->kind) {
	case K_ANON:            /* the kernel's pgoff: address at creation, moves along */
		return b->pgoff == a->pgoff + 1;
	case K_FILE:
		return a->obj == b->obj && b->pgoff == a->pgoff + 1;
	case K_SHM:
		if (kernel_shm)
			return a->obj == b->obj && b->pgoff == a->pgoff + 1;
		return a->unit == b->unit;
	case K_SHIM:
		return a->obj == b->obj;
	}
	return false;
}

/* The arena made a VAD boundary at a (arena granularity for K_SHM). */
static void m_split(uintptr_t a)
{
	if (a <= m.base || a >= m.end)
		return;
	size_t i = MI(a);
	const struct mpage *l = &m.pg[i - 1];
	if (l->kind != K_SHM || m.pg[i].kind != K_SHM || l->unit != m.pg[i].unit)
		return;
	uint32_t old = l->unit, nu = m.next_unit++;
	for (; i < m.n && m.pg[i].kind == K_SHM && m.pg[i].unit == old; i++) {
		struct mpage p = m.pg[i];
		p.unit = nu;
		m_put(i, &p);
	}
}

/* The VMA (model granularity) containing a: [*s, *e). */
static void m_vma(uintptr_t a, uintptr_t *s, uintptr_t *e)
{
	size_t i = MI(a), j = i;

	while (i > 0 && m_mergeable(&m.pg[i - 1], &m.pg[i]))
		i--;
	while (j + 1 < m.n && m_mergeable(&m.pg[j], &m.pg[j + 1]))
		j++;
	*s = MA(i);
	*e = MA(j + 1);
}

/* Highest free [a, a+len) in [lo, end); 0 when none. */
static uintptr_t m_gap(size_t len)
{
	size_t need = len / PG, run = 0;

	for (size_t i = m.n; i-- > MI(m.lo);) {
		if (m.pg[i].kind != K_FREE) {
			run = 0;
			continue;
		}
		if (++run == need)
			return MA(i);
	}
	return 0;
}

/*
 * Where a mapping without a usable hint goes is the arena's policy (top
 * down or bottom up); the model only requires a free fit in [lo, end).
 * m_chosen is the address the arena returned: taken when it qualifies,
 * else some fit (the results then differ and the step fails); 0 when
 * nothing fits.
 */
static uintptr_t m_chosen;

static uintptr_t m_fit(size_t len)
{
	uintptr_t a = m_chosen;

	if (a && !(a & MMAN_PAGE_MASK) && a >= m.lo && a + len > a && a + len <= m.end &&
	    m_free(a, a + len))
		return a;
	return m_gap(len);
}

/* A free hint at or below n (rounded down) is taken, as by the kernel. */
static uintptr_t m_place(uintptr_t n, size_t len)
{
	n &= ~MMAN_PAGE_MASK;
	if (n && n >= m.lo && n + len <= m.end && m_free(n, n + len))
		return n;
	return m_fit(len);
}

static uint64_t m_newtag(void)
{
	return 0xa5a5000000000000ull | m.next_tag++;
}

static uint32_t m_newseg(uint64_t npages)
{
	if (m.nsegs == m.capsegs) {
		m.capsegs = m.capsegs ? 2 * m.capsegs : 256;
		m.segs = realloc(m.segs, m.capsegs * sizeof(*m.segs));
	}
	m.segs[m.nsegs].npages = npages;
	m.segs[m.nsegs].tags = calloc(npages, sizeof(uint64_t));
	return (uint32_t)m.nsegs++;
}

/* Expected first word of page i; false when it cannot be read (SIGBUS). */
static bool m_expect(size_t i, uint64_t *v)
{
	const struct mpage *p = &m.pg[i];

	switch (p->kind) {
	case K_ANON:
		*v = p->tag;
		return true;
	case K_SHM:
		if (p->pgoff >= m.segs[p->obj].npages)
			return false;
		*v = m.segs[p->obj].tags[p->pgoff];
		return true;
	case K_FILE:
		if (p->pgoff >= FILE_PAGES)
			return false;
		*v = FILE_TAG(p->obj, p->pgoff);
		return true;
	}
	return false;
}

/* Write a fresh tag into page a if it is writable program memory. */
static void m_write_tag(uintptr_t a)
{
	size_t i = MI(a);
	struct mpage p = m.pg[i];
	uint64_t t = m_newtag();

	if ((p.prot & (PROT_READ | PROT_WRITE)) != (PROT_READ | PROT_WRITE))
		return;
	if (p.kind == K_ANON) {
		if (probe_write(a, t)) {
			fail_msg("write to page %#lx faulted (model: prot %d)", a, p.prot);
			return;
		}
		p.tag = t;
		m_put(i, &p);
	} else if (p.kind == K_SHM && p.pgoff < m.segs[p.obj].npages) {
		if (probe_write(a, t)) {
			fail_msg("write to shared page %#lx faulted (model: prot %d)", a, p.prot);
			return;
		}
		m.segs[p.obj].tags[p.pgoff] = t;
	}
}

static void m_init(void)
{
	m.base = mman.base;
	m.end = mman.end;
	m.lo = mman.map_lo;
	m.n = (m.end - m.base) / PG;
	m.pg = calloc(m.n, sizeof(*m.pg));
	m.next_unit = m.next_shim = 1;
	m.next_tag = 1;
	m.mapped = 0;
	/* Everything already in the arena: the metadata and the earlier
	 * groups' shim allocations (K_SHIM, one object per VAD). */
	lk_lock(&mman.lock);
	for (struct vad *v = mman.ix.head; v; v = v->next) {
		struct mpage p = { .kind = K_SHIM, .prot = (uint8_t)v->prot, .obj = m.next_shim++ };
		if (v->kind != VAD_SHIM)
			fprintf(stderr, "test_arena: program VAD [%#lx,%#lx) left before the random group\n",
				v->start, v->end);
		for (uintptr_t a = v->start; a < v->end; a += PG)
			m_put(MI(a), &p);
	}
	lk_unlock(&mman.lock);
}

/* ---- the model of each call: expected result, state updated ---------- */

static long m_mmap(uintptr_t a, size_t len, int prot, int flags, int fd, off_t off)
{
	bool anon = flags & MAP_ANONYMOUS;
	int fidx = -1;

	if (off & (off_t)MMAN_PAGE_MASK)
		return -EINVAL;
	if (!anon) {
		for (int f = 0; f < 2; f++)
			if (files[f].fd == fd)
				fidx = f;
		if (fidx < 0)
			return -EBADF;
	}
	if (len == 0)
		return -EINVAL;
	size_t alen = (len + PG - 1) & ~MMAN_PAGE_MASK;
	bool fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE);
	if (fixed && (a & MMAN_PAGE_MASK))
		return -EINVAL;
	if (fixed) {
		if (m_any(a, a + alen, K_SHIM))
			return -EINVAL;
		if ((flags & MAP_FIXED_NOREPLACE) && !m_free(a, a + alen))
			return -EEXIST;
	} else {
		a = m_place(a, alen);   /* the kernel rounds a hint down */
		if (!a)
			return -ENOMEM;
	}
	int type = flags & MAP_TYPE;
	if (type != MAP_SHARED && type != MAP_PRIVATE)
		return -EINVAL;
	if (fidx == 1 && type == MAP_SHARED && (prot & PROT_WRITE)) {
		m_split(a);             /* the arena split before asking the host */
		m_split(a + alen);
		return -EACCES;
	}
	m_split(a);
	m_split(a + alen);
	struct mpage p = {
		.kind = (uint8_t)(anon ? (type == MAP_PRIVATE ? K_ANON : K_SHM) : K_FILE),
		.prot = (uint8_t)(prot & 7),
		.shared = type == MAP_SHARED,
		.unit = m.next_unit++,
	};
	if (p.kind == K_SHM)
		p.obj = m_newseg(alen / PG);
	if (p.kind == K_FILE) {
		p.obj = (uint32_t)fidx;
		p.pgoff = (uint64_t)off / PG;
	}
	if (p.kind == K_ANON)
		p.pgoff = a / PG;
	for (uintptr_t x = a; x < a + alen; x += PG) {
		m_put(MI(x), &p);
		p.pgoff++;
	}
	m_touch(a, a + alen);
	return (long)a;
}

static long m_munmap(uintptr_t a, size_t len)
{
	if ((a & MMAN_PAGE_MASK) || len == 0)
		return -EINVAL;
	uintptr_t e = a + ((len + PG - 1) & ~MMAN_PAGE_MASK);
	if (m_any(a, e, K_SHIM))
		return -EINVAL;
	m_split(a);
	m_split(e);
	m_clear(a, e);
	m_touch(a, e);
	return 0;
}

static long m_mprotect(uintptr_t a, size_t len, int prot)
{
	if (a & MMAN_PAGE_MASK)
		return -EINVAL;
	if (len == 0)
		return 0;
	uintptr_t e = a + ((len + PG - 1) & ~MMAN_PAGE_MASK);
	if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM | PROT_GROWSDOWN | PROT_GROWSUP))
		return -EINVAL;
	if (m_any(a, e, K_SHIM))
		return -EINVAL;
	if (m.pg[MI(a)].kind == K_FREE)
		return -ENOMEM;
	if (prot & (PROT_GROWSDOWN | PROT_GROWSUP))
		return -EINVAL;
	uintptr_t x = a;
	while (x < e && m.pg[MI(x)].kind != K_FREE)
		x += PG;
	m_split(a);
	m_split(x);
	m_touch(a, x);
	for (uintptr_t y = a; y < x; y += PG) {
		struct mpage p = m.pg[MI(y)];
		if (p.kind == K_FILE && p.obj == 1 && p.shared && (prot & PROT_WRITE))
			return -EACCES;
		p.prot = (uint8_t)(prot & 7);
		m_put(MI(y), &p);
	}
	return x < e ? -ENOMEM : 0;
}

/*
 * Move [o, o+olen) to dest as nlen bytes.  The source may hold several
 * mappings and holes when olen == nlen (Linux 6.17+): holes stay holes at
 * dest.  Beyond olen the mapping continues (single mapping only).
 */
static long m_move(uintptr_t o, size_t olen, size_t nlen, uintptr_t dest, bool dontunmap)
{
	size_t n = olen / PG;
	struct mpage *src = malloc((nlen / PG) * sizeof(*src));
	uint32_t unit = 0;

	for (size_t k = 0; k < nlen / PG; k++) {
		src[k] = m.pg[MI(o) + (k < n ? k : n - 1)];
		if (k >= n) {
			src[k].pgoff += k - (n - 1);
			src[k].tag = 0;
		}
		/* each moved VAD is a new VAD */
		if (k == 0 || (k < n && (src[k].kind != m.pg[MI(o) + k - 1].kind ||
					 m.pg[MI(o) + k].unit != m.pg[MI(o) + k - 1].unit)))
			unit = m.next_unit++;
		src[k].unit = unit;
	}
	m_split(o);
	m_split(o + olen);
	m_split(dest);
	m_split(dest + nlen);
	if (dontunmap) {
		for (uintptr_t x = o; x < o + olen; x += PG) {
			struct mpage p = m.pg[MI(x)];
			if (p.kind == K_ANON && p.tag) {
				p.tag = 0;
				m_put(MI(x), &p);
			}
		}
	} else {
		m_clear(o, o + olen);
	}
	static const struct mpage free_page;
	for (size_t k = 0; k < nlen / PG; k++)
		m_put(MI(dest) + k, src[k].kind == K_FREE ? &free_page : &src[k]);
	free(src);
	m_touch(o, o + olen);
	m_touch(dest, dest + nlen);
	return (long)dest;
}

/* mremap as Linux 6.18 does it (checked natively, see group_native). */
static long m_mremap(uintptr_t o, size_t old_len, size_t new_len, int flags, uintptr_t n)
{
	if (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP))
		return -EINVAL;
	if ((flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) && !(flags & MREMAP_MAYMOVE))
		return -EINVAL;
	if (o & MMAN_PAGE_MASK)
		return -EINVAL;
	size_t olen = (old_len + PG - 1) & ~MMAN_PAGE_MASK, nlen = (new_len + PG - 1) & ~MMAN_PAGE_MASK;
	if (nlen == 0)
		return -EINVAL;
	if ((flags & MREMAP_DONTUNMAP) && olen != nlen)
		return -EINVAL;
	if ((flags & MREMAP_FIXED) || ((flags & MREMAP_DONTUNMAP) && n)) {
		if (n & MMAN_PAGE_MASK)
			return -EINVAL;
		if (n < o + olen && o < n + nlen)
			return -EINVAL;
	}
	const struct mpage *op = &m.pg[MI(o)];
	if (op->kind == K_FREE)
		return -EFAULT;
	if (m_any(o, o + (olen ? olen : PG), K_SHIM) ||
	    ((flags & MREMAP_FIXED) && m_any(n, n + nlen, K_SHIM)))
		return -EINVAL;
	uintptr_t vs, ve;
	m_vma(o, &vs, &ve);
	if (olen == 0) {
		if (!op->shared)
			return -EINVAL;
		if (!(flags & MREMAP_MAYMOVE))
			return -ENOMEM;
		/* new_address is no hint here (only with FIXED or DONTUNMAP) */
		uintptr_t dest = (flags & MREMAP_FIXED) ? n : m_fit(nlen);
		if (!dest)
			return -ENOMEM;
		struct mpage p = *op;
		p.unit = m.next_unit++;
		m_split(dest);
		m_split(dest + nlen);
		for (uintptr_t x = dest; x < dest + nlen; x += PG) {
			m_put(MI(x), &p);
			p.pgoff++;
		}
		m_touch(dest, dest + nlen);
		return (long)dest;
	}
	bool single = o + olen <= ve;
	if (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) {
		if (nlen != olen && !single)
			return -EFAULT;
		if ((flags & MREMAP_DONTUNMAP) && !(flags & MREMAP_FIXED) && !single)
			return -EFAULT;
		uintptr_t dest = (flags & MREMAP_FIXED) ? n : m_place(n, nlen);
		if (nlen < olen) {
			m_split(o + nlen);
			m_clear(o + nlen, o + olen);
			m_touch(o + nlen, o + olen);
			olen = nlen;
		}
		if (!dest)
			return -ENOMEM;
		return m_move(o, olen, nlen, dest, flags & MREMAP_DONTUNMAP);
	}
	if (nlen <= olen) {
		if (nlen < olen) {
			m_split(o + nlen);
			m_clear(o + nlen, o + olen);
			m_touch(o + nlen, o + olen);
		}
		return (long)o;
	}
	if (!single)
		return -EFAULT;
	if (o + olen == ve && o + nlen <= m.end && m_free(o + olen, o + nlen)) {
		struct mpage p = m.pg[MI(o + olen) - 1];
		for (uintptr_t x = o + olen; x < o + nlen; x += PG) {
			p.pgoff++;
			p.tag = 0;
			m_put(MI(x), &p);
		}
		m_touch(o, o + nlen);
		return (long)o;
	}
	if (!(flags & MREMAP_MAYMOVE))
		return -ENOMEM;
	uintptr_t dest = m_fit(nlen);
	if (!dest)
		return -ENOMEM;
	return m_move(o, olen, nlen, dest, false);
}

static long m_madvise(uintptr_t a, size_t len, int advice)
{
	bool valid = advice == MADV_DONTNEED || advice == MADV_WILLNEED || advice == MADV_NORMAL;

	if (!valid || (a & MMAN_PAGE_MASK))
		return -EINVAL;
	if (len == 0)
		return 0;
	uintptr_t e = a + ((len + PG - 1) & ~MMAN_PAGE_MASK);
	bool hole = false;
	for (uintptr_t x = a; x < e; x += PG) {
		struct mpage p = m.pg[MI(x)];
		if (p.kind == K_FREE)
			hole = true;
		else if (advice == MADV_DONTNEED && p.kind == K_ANON && p.tag) {
			p.tag = 0;
			m_put(MI(x), &p);
		}
	}
	m_touch(a, e);
	return hole ? -ENOMEM : 0;
}

static long m_msync(uintptr_t a, size_t len, int flags)
{
	if ((flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC)) || (a & MMAN_PAGE_MASK) ||
	    ((flags & MS_ASYNC) && (flags & MS_SYNC)))
		return -EINVAL;
	uintptr_t e = a + ((len + PG - 1) & ~MMAN_PAGE_MASK);
	if (len == 0)
		return 0;
	m_touch(a, e);
	return m_any(a, e, K_FREE) ? -ENOMEM : 0;
}

/* ---- checks of the arena against the model --------------------------- */

static int vad_kind_of(int k)
{
	switch (k) {
	case K_ANON: return VAD_ANON;
	case K_SHM: return VAD_SHARED_ANON;
	case K_FILE: return VAD_FILE;
	default: return VAD_SHIM;
	}
}

/* Every VAD against the model: attributes and granularity. */
static bool verify_layout(void)
{
	size_t vad_pages = 0;
	bool ok = true;

	lk_lock(&mman.lock);
	for (const struct vad *v = mman.ix.head; v && ok; v = v->next) {
		size_t s = MI(v->start), e = MI(v->end);
		const char *why = NULL;
		vad_pages += e - s;
		for (size_t i = s; i < e && !why; i++) {
			const struct mpage *p = &m.pg[i];
			if (p->kind == K_FREE)
				why = "VAD over pages the model has free";
			else if (v->kind != vad_kind_of(p->kind))
				why = "kind differs";
			else if (v->prot != p->prot)
				why = "prot differs";
			else if (p->kind != K_SHIM && ((v->flags & MAP_TYPE) != MAP_PRIVATE) != p->shared)
				why = "shared flag differs";
			else if (p->kind == K_FILE && (v->fmap < 0 ||
				 mman.fmaps[v->fmap].ino != files[p->obj].ino))
				why = "file differs";
			else if (p->kind == K_FILE && v->offset + (i - s) * PG != p->pgoff * PG)
				why = "file offset differs";
			else if (i + 1 < e && !m_mergeable(p, p + 1))
				why = "one VAD where the model has two mappings";
		}
		if (!why && s > 0 && m_mergeable(&m.pg[s - 1], &m.pg[s]))
			why = "VAD not merged with its mergeable predecessor";
		if (why) {
			fail_msg("VAD [%#lx,%#lx) kind %u prot %u: %s", v->start, v->end, v->kind,
				 v->prot, why);
			ok = false;
		}
	}
	lk_unlock(&mman.lock);
	if (ok && vad_pages != m.mapped) {
		fail_msg("VADs cover %zu pages, the model maps %zu", vad_pages, m.mapped);
		ok = false;
	}
	if (ok)
		passed++;
	return ok;
}

/* Mapped-ness as the syscall layer reports it (msync). */
static bool verify_msync(uintptr_t s, uintptr_t e)
{
	s = s < m.lo + PG ? m.lo : s - PG;
	e = e + PG > m.end ? m.end : e + PG;
	for (uintptr_t a = s; a < e; a += PG) {
		long r = mman_sys_msync((void *)a, PG, MS_ASYNC);
		long want = m.pg[MI(a)].kind == K_FREE ? -ENOMEM : 0;
		if (r != want) {
			fail_msg("msync(%#lx, 1 page) = %ld, model %ld", a, r, want);
			return false;
		}
	}
	passed++;
	return true;
}

/* The host's view of [lo, end): prot, sharing, file, reservation. */
static bool verify_host(void)
{
	size_t n = (m.end - m.lo) / PG;
	struct hpage *h = malloc(n * sizeof(*h));
	bool ok = true;

	host_view(m.lo, n, h);
	for (size_t k = 0; k < n && ok; k++) {
		const struct mpage *p = &m.pg[MI(m.lo) + k];
		uintptr_t a = m.lo + k * PG;
		if (!h[k].present) {
			fail_msg("page %#lx is not mapped on the host at all (left the reservation)", a);
			ok = false;
		} else if (p->kind == K_FREE && (h[k].prot || h[k].shared)) {
			fail_msg("free page %#lx has host prot %d shared %d", a, h[k].prot, h[k].shared);
			ok = false;
		} else if (p->kind != K_FREE && h[k].prot != p->prot) {
			fail_msg("page %#lx: host prot %d, model %d", a, h[k].prot, p->prot);
			ok = false;
		} else if (p->kind != K_FREE && p->kind != K_SHIM && h[k].shared != p->shared) {
			fail_msg("page %#lx: host shared %d, model %d", a, h[k].shared, p->shared);
			ok = false;
		} else if (p->kind == K_FILE && (h[k].ino != files[p->obj].ino ||
			   h[k].off != p->pgoff * PG)) {
			fail_msg("page %#lx: host file %lu@%#lx, model %lu@%#lx", a,
				 (unsigned long)h[k].ino, (unsigned long)h[k].off,
				 (unsigned long)files[p->obj].ino, (unsigned long)(p->pgoff * PG));
			ok = false;
		}
	}
	free(h);
	if (ok)
		passed++;
	return ok;
}

/* Content of every readable page the model knows. */
static bool verify_content(void)
{
	for (size_t i = MI(m.lo); i < m.n; i++) {
		const struct mpage *p = &m.pg[i];
		uint64_t want, got;
		if (p->kind == K_FREE || p->kind == K_SHIM || !(p->prot & PROT_READ) || !m_expect(i, &want))
			continue;
		int sig = probe_read(MA(i), &got);
		if (sig) {
			fail_msg("read of page %#lx (prot %d) took signal %d", MA(i), p->prot, sig);
			return false;
		}
		if (got != want) {
			fail_msg("page %#lx (kind %d) holds %#" PRIx64 ", model %#" PRIx64,
				 MA(i), p->kind, got, want);
			return false;
		}
	}
	passed++;
	return true;
}

/* Protection by probing: PROT_NONE and free pages fault, readable ones do not. */
static bool verify_probe(int count)
{
	for (int k = 0; k < count; k++) {
		uintptr_t a = m.wlo + rnd((m.whi - m.wlo) / PG) * PG;
		const struct mpage *p = &m.pg[MI(a)];
		uint64_t v, want;
		int sig = probe_read(a, &v);
		if ((p->kind == K_FREE || p->prot == PROT_NONE) && sig != SIGSEGV) {
			fail_msg("read of %s page %#lx did not fault (signal %d)",
				 p->kind == K_FREE ? "free" : "PROT_NONE", a, sig);
			return false;
		}
		if ((p->prot & PROT_READ) && m_expect(MI(a), &want) && sig) {
			fail_msg("read of readable page %#lx faulted (%d)", a, sig);
			return false;
		}
		if (p->kind != K_FREE && (p->prot & PROT_READ) && !(p->prot & PROT_WRITE) &&
		    m_expect(MI(a), &want) && probe_write(a, v) != SIGSEGV) {
			fail_msg("write to read-only page %#lx did not fault", a);
			return false;
		}
	}
	passed++;
	return true;
}

/* ---- the random group -------------------------------------------------- */

static char oplog[16][200];
static unsigned long opno, host_enomem;
static bool swap_on;            /* written pages may leave memory */

static void logop(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logop(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(oplog[opno % 16], sizeof(oplog[0]), fmt, ap);
	va_end(ap);
}

static uintptr_t r_addr(void)
{
	return m.wlo + rnd((m.whi - m.wlo) / PG) * PG;
}

static size_t r_pages(void)
{
	uint64_t r = rnd(100);

	return r < 70 ? 1 + rnd(4) : r < 95 ? 1 + rnd(16) : 1 + rnd(64);
}

static size_t r_len(size_t pages)
{
	return pages * PG - (rnd(8) == 0 ? 1 + rnd(PG - 1) : 0);
}

static int r_prot(bool exec_ok)
{
	static const int prots[] = { PROT_NONE, PROT_READ, PROT_READ, PROT_READ | PROT_WRITE,
				     PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE,
				     PROT_READ | PROT_WRITE, PROT_READ | PROT_EXEC };
	int p = prots[rnd(8)];

	return (p & PROT_EXEC) && !exec_ok ? PROT_READ : p;
}

static const char *ename(long r)
{
	static char bufs[4][32];
	static unsigned k;
	char *b = bufs[k++ % 4];

	if (r >= 0)
		snprintf(b, sizeof(bufs[0]), "%#lx", r);
	else
		snprintf(b, sizeof(bufs[0]), "-%s", strerrorname_np((int)-r) ? strerrorname_np((int)-r) : "?");
	return b;
}

/* Tag a fresh RW anonymous or shared mapping, most of the time. */
static void tag_range(uintptr_t s, uintptr_t e)
{
	if (rnd(4) == 0)
		return;
	for (uintptr_t a = s; a < e; a += PG)
		m_write_tag(a);
}

static long op_mmap(void)
{
	int sel = (int)rnd(10), flags, fd = -1, fidx = -1;
	size_t pages = r_pages(), len = r_len(pages);
	off_t off = 0;

	if (sel < 6)
		flags = MAP_PRIVATE | MAP_ANONYMOUS;
	else if (sel < 8)
		flags = MAP_SHARED | MAP_ANONYMOUS;
	else {
		fidx = (int)rnd(2);
		fd = files[fidx].fd;
		flags = rnd(2) ? MAP_SHARED : MAP_PRIVATE;
		off = (off_t)(rnd(FILE_PAGES + 8) * PG);
	}
	int prot = r_prot(fidx < 0);
	uintptr_t a = 0;
	switch (rnd(10)) {
	case 0: case 1: case 2: break;
	case 3: case 4: a = r_addr() + (rnd(4) == 0 ? rnd(PG) : 0); break;
	case 5: case 6: case 7: a = r_addr(); flags |= MAP_FIXED; break;
	default: a = r_addr(); flags |= MAP_FIXED_NOREPLACE; break;
	}
	switch (rnd(200)) {   /* errors */
	case 0: off += 100; break;
	case 1: len = 0; break;
	case 2: if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) a += 8; break;
	case 3: flags &= ~MAP_TYPE; break;
	case 4: if (fidx >= 0) fd = BAD_FD; break;
	case 5: if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) a = m.lo - PG; break;
	}
	if (a && a + len > m.end)
		a = m.end - ((len + PG - 1) & ~MMAN_PAGE_MASK);
	logop("mmap(%#lx, %#zx, %d, %#x, %d, %#lx)", a, len, prot, flags, fd, (long)off);
	long got = mman_sys_mmap((void *)a, len, prot, flags, fd, off);
	m_chosen = got > 0 ? (uintptr_t)got : 0;
	long want = m_mmap(a, len, prot, flags, fd, off);
	if (got == want && got > 0 && (flags & MAP_ANONYMOUS))
		tag_range((uintptr_t)got, (uintptr_t)got + ((len + PG - 1) & ~MMAN_PAGE_MASK));
	return got == want ? 0 : (fail_msg("%s = %s, model %s", oplog[opno % 16], ename(got),
					   ename(want)), -1);
}

static long op_munmap(void)
{
	uintptr_t a = r_addr();
	size_t len = r_len(r_pages());

	if (rnd(100) == 0)
		a += 8;
	if (rnd(200) == 0)
		len = 0;
	if (a + len > m.end)
		len = m.end - a;
	logop("munmap(%#lx, %#zx)", a, len);
	long want = m_munmap(a, len);
	long got = mman_sys_munmap((void *)a, len);
	return got == want ? 0 : (fail_msg("%s = %s, model %s", oplog[opno % 16], ename(got),
					   ename(want)), -1);
}

static long op_mprotect(void)
{
	uintptr_t a = r_addr();
	size_t len = r_len(r_pages());

	if (a + len > m.end)
		len = m.end - a;
	int prot = r_prot(!m_any(a, a + len, K_FILE));
	switch (rnd(200)) {
	case 0: a += 8; break;
	case 1: len = 0; break;
	case 2: prot |= 0x40; break;
	case 3: prot |= PROT_GROWSDOWN; break;
	case 4: prot |= PROT_SEM; break;
	}
	logop("mprotect(%#lx, %#zx, %#x)", a, len, prot);
	long want = m_mprotect(a, len, prot);
	long got = mman_sys_mprotect((void *)a, len, prot, -1);
	return got == want ? 0 : (fail_msg("%s = %s, model %s", oplog[opno % 16], ename(got),
					   ename(want)), -1);
}

/* Start of a random mapped run (most mremaps should find something). */
static uintptr_t r_mapped(void)
{
	for (int k = 0; k < 16; k++) {
		uintptr_t a = r_addr();
		if (m.pg[MI(a)].kind != K_FREE && m.pg[MI(a)].kind != K_SHIM) {
			if (rnd(2)) {
				uintptr_t s, e;
				m_vma(a, &s, &e);
				return s;
			}
			return a;
		}
	}
	return r_addr();
}

static long op_mremap(void)
{
	uintptr_t o = r_mapped(), n = 0;
	size_t olen, nlen;
	int flags;

	uintptr_t vs = o, ve = o + PG;
	if (m.pg[MI(o)].kind != K_FREE)
		m_vma(o, &vs, &ve);
	olen = rnd(4) ? ve - o : r_pages() * PG;
	if (olen == 0)
		olen = PG;
	switch (rnd(8)) {
	case 0: case 1: nlen = olen > PG ? PG * (1 + rnd(olen / PG - 1)) : PG; flags = 0; break;
	case 2: nlen = olen + r_pages() * PG; flags = 0; break;
	case 3: case 4: nlen = olen + r_pages() * PG; flags = MREMAP_MAYMOVE; break;
	case 5: case 6:
		nlen = rnd(3) ? olen : r_pages() * PG;
		flags = MREMAP_MAYMOVE | MREMAP_FIXED;
		n = r_addr();
		break;
	default:
		nlen = olen;
		flags = MREMAP_MAYMOVE | MREMAP_DONTUNMAP | (rnd(2) ? MREMAP_FIXED : 0);
		n = (flags & MREMAP_FIXED) || rnd(2) ? r_addr() : 0;
		/* an invalid hint (unaligned, overlapping) is native-vs-arena's */
		if (!(flags & MREMAP_FIXED) && n < o + olen && o < n + nlen)
			n = 0;
		break;
	}
	switch (rnd(100)) {
	case 0: olen = 0; break;          /* duplicate a shared mapping */
	case 1: flags |= 0x40; break;
	case 2: flags &= ~MREMAP_MAYMOVE; break;
	}
	if (o + olen > m.end)
		olen = m.end - o;
	if (n && n + nlen > m.end)
		n = m.end - nlen;
	if (n && n < m.lo)
		n = m.lo;
	logop("mremap(%#lx, %#zx, %#zx, %#x, %#lx)", o, olen, nlen, flags, n);
	long got = mman_sys_mremap((void *)o, olen, nlen, flags, (void *)n);
	m_chosen = got > 0 ? (uintptr_t)got : 0;
	m_begin();
	long want = m_mremap(o, olen, nlen, flags, n);
	m.logging = false;
	if (got == want) {
		if (got > 0 && nlen > olen && olen) {
			uintptr_t tail = (uintptr_t)got + olen;
			tag_range(tail, tail + (nlen - olen));
		}
		return 0;
	}
	/*
	 * The host refuses to grow (or DONTUNMAP) a range that spans two of
	 * its VMAs, and keeps two VMAs where the arena merged one VAD when
	 * their anon_vmas differ.  Native would fail the same way: accept it
	 * when the host really has a boundary inside the old range.
	 */
	/*
	 * (When the arena grows a VAD in place through the host and the host
	 * refuses, the arena answers ENOMEM without MREMAP_MAYMOVE where the
	 * kernel says EFAULT: accepted, but counted apart as host_enomem.)
	 */
	bool grow_enomem = got == -ENOMEM && !(flags & MREMAP_MAYMOVE) && nlen > olen;
	if ((got == -EFAULT || grow_enomem) && want >= 0 && olen &&
	    (nlen > olen || (flags & MREMAP_DONTUNMAP)) && host_split_inside(o, o + olen)) {
		host_enomem += grow_enomem;
		m_rollback();
		/* as the arena did before asking the host */
		uintptr_t dest = (flags & MREMAP_FIXED) ? n : m_place(n, nlen);
		m_split(o);
		m_split(o + olen);
		if (dest) {
			m_split(dest);
			m_split(dest + nlen);
		}
		return 1;
	}
	const struct mpage *op = &m.pg[MI(o)];
	fail_msg("%s = %s, model %s (model page: kind %d prot %d shared %d)", oplog[opno % 16],
		 ename(got), ename(want), op->kind, op->prot, op->shared);
	return -1;
}

static long op_madvise(void)
{
	uintptr_t a = r_addr();
	size_t len = r_len(r_pages());
	static const int adv[] = { MADV_DONTNEED, MADV_DONTNEED, MADV_DONTNEED, MADV_WILLNEED, MADV_NORMAL };
	int advice = adv[rnd(5)];

	if (a + len > m.end)
		len = m.end - a;
	if (m_any(a, a + len, K_SHIM))
		return 0;       /* the ownership group covers shim memory */
	switch (rnd(100)) {
	case 0: advice = 12345; break;
	case 1: a += 8; break;
	case 2: len = 0; break;
	}
	logop("madvise(%#lx, %#zx, %d)", a, len, advice);
	long want = m_madvise(a, len, advice);
	long got = mman_sys_madvise((void *)a, len, advice);
	return got == want ? 0 : (fail_msg("%s = %s, model %s", oplog[opno % 16], ename(got),
					   ename(want)), -1);
}

static long op_msync(void)
{
	uintptr_t a = r_addr();
	size_t len = r_len(r_pages());
	static const int fl[] = { MS_ASYNC, MS_SYNC, MS_ASYNC | MS_INVALIDATE, 0 };
	int flags = fl[rnd(4)];

	if (a + len > m.end)
		len = m.end - a;
	switch (rnd(100)) {
	case 0: flags = MS_ASYNC | MS_SYNC; break;
	case 1: a += 8; break;
	case 2: len = 0; break;
	case 3: flags = 0x100; break;
	}
	logop("msync(%#lx, %#zx, %d)", a, len, flags);
	long want = m_msync(a, len, flags);
	long got = mman_sys_msync((void *)a, len, flags);
	return got == want ? 0 : (fail_msg("%s = %s, model %s", oplog[opno % 16], ename(got),
					   ename(want)), -1);
}

static bool swap_active(void)
{
	char buf[256];
	int fd = open("/proc/swaps", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return true;
	buf[n] = 0;
	char *nl = strchr(buf, '\n');      /* a header line, then one per swap area */
	return nl && nl[1];
}

static long op_mincore(void)
{
	static unsigned char vec[256];
	uintptr_t a = rnd(2) ? r_mapped() : r_addr();
	size_t pages = r_pages(), len = r_len(pages);

	if (a + len > m.end)
		len = m.end - a;
	if (rnd(100) == 0)
		a += 8;
	logop("mincore(%#lx, %#zx)", a, len);
	long want;
	if (a & MMAN_PAGE_MASK)
		want = -EINVAL;
	else if (len == 0)
		want = 0;
	else
		want = m_any(a, a + len, K_FREE) ? -ENOMEM : 0;
	memset(vec, 0xff, sizeof(vec));
	long got = mman_sys_mincore((void *)a, len, vec);
	if (got != want) {
		fail_msg("%s = %s, model %s", oplog[opno % 16], ename(got), ename(want));
		return -1;
	}
	for (size_t k = 0; got == 0 && k < (len + PG - 1) / PG; k++) {
		const struct mpage *p = &m.pg[MI(a) + k];
		if (vec[k] & ~1u) {
			fail_msg("mincore vec[%zu] = %#x", k, vec[k]);
			return -1;
		}
		if (p->kind == K_ANON && p->tag && !swap_on && !(vec[k] & 1)) {
			fail_msg("mincore: written page %#lx not resident", a + k * PG);
			return -1;
		}
	}
	return 0;
}

static long op_retag(void)
{
	uintptr_t a = r_mapped();
	size_t pages = r_pages();

	logop("retag(%#lx, %zu pages)", a, pages);
	for (size_t k = 0; k < pages && a + k * PG < m.end; k++)
		if (m.pg[MI(a) + k].kind != K_SHIM)
			m_write_tag(a + k * PG);
	return 0;
}

/* TEST_ARENA_DEBUG=ADDR: the model and the VADs around ADDR. */
static void debug_dump(void)
{
	const char *d = getenv("TEST_ARENA_DEBUG");
	uintptr_t at = d ? strtoul(d, NULL, 0) : 0;

	if (!at)
		return;
	at &= ~MMAN_PAGE_MASK;
	for (uintptr_t a = at - 8 * PG; a < at + 8 * PG; a += PG) {
		const struct mpage *p = &m.pg[MI(a)];
		lk_lock(&mman.lock);
		const struct vad *v = vad_find(&mman.ix, a);
		fprintf(stderr, "  %#lx model kind %d prot %d obj %u unit %u pgoff %lu | VAD %s%#lx-%#lx kind %d prot %u\n",
			a, p->kind, p->prot, p->obj, p->unit, (unsigned long)p->pgoff,
			v && v->start == a ? "*" : " ", v ? v->start : 0, v ? v->end : 0,
			v ? v->kind : 0, v ? v->prot : 0);
		lk_unlock(&mman.lock);
	}
}

static void print_oplog(void)
{
	debug_dump();
	unsigned long first = opno >= 12 ? opno - 11 : 1;

	fprintf(stderr, "  last calls (step: call):\n");
	for (unsigned long k = first; k <= opno; k++)
		fprintf(stderr, "    %lu: %s\n", k, oplog[k % 16]);
}

static unsigned long random_steps = 100000;

static void group_random(char *note, size_t len)
{
	unsigned long ops[8] = { 0 }, host_efault = 0, f0 = failed;
	long (*const fns[])(void) = { op_mmap, op_munmap, op_mprotect, op_mremap,
				      op_madvise, op_msync, op_mincore, op_retag };
	/* weights out of 100 */
	static const int weight[] = { 28, 20, 16, 16, 7, 5, 5, 3 };

	rng_state = seed;
	swap_on = swap_active();
	m_init();
	/* The window lies where the arena puts mappings without a hint, so
	 * that those meet the fixed ones. */
	if (placement_top_down()) {
		m.whi = m.end;
		m.wlo = m.end - 2048 * PG;
	} else {
		m.wlo = m.lo;
		m.whi = m.lo + 2048 * PG;
	}
	for (opno = 1; opno <= random_steps; opno++) {
		int r = (int)rnd(100), k = 0;
		while (r >= weight[k])
			r -= weight[k++];
		/* keep the window about half full */
		if (k == 0 && m.mapped > (m.whi - m.wlo) / PG / 2 + MI(m.lo) && rnd(2))
			k = 1;
		m.ntouch = 0;
		snprintf(ctx, sizeof(ctx), "[random seed %" PRIu64 " step %lu]", seed, opno);
		long res = fns[k](), bad = res < 0;
		ops[k]++;
		host_efault += res == 1;
		char msg[256];
		if (mman_check(msg, sizeof(msg))) {
			fail_msg("mman_check: %s", msg);
			bad = 1;
		} else {
			passed++;
		}
		bad = bad || !verify_layout();
		for (int t = 0; t < m.ntouch && !bad; t++)
			bad = !verify_msync(m.touch[t][0], m.touch[t][1]);
		if (!bad && opno % 200 == 0)
			bad = !verify_content();
		if (!bad && opno % 500 == 0)
			bad = !verify_host() || !verify_probe(64);
		if (!bad && opno % 5000 == 0)
			bad = !verify_msync(m.lo, m.end);
		if (bad) {
			print_oplog();
			fprintf(stderr, "  reproduce: test_arena %" PRIu64 " %lu\n", seed, opno);
			break;
		}
	}
	if (failed == f0) {
		debug_dump();
		verify_content();
		verify_host();
		verify_msync(m.lo, m.end);
	}
	snprintf(note, len, "(seed %" PRIu64 ", %lu steps: %lu mmap %lu munmap %lu mprotect %lu mremap "
		 "%lu madvise %lu msync %lu mincore; %lu host EFAULTs, %lu as ENOMEM)", seed,
		 opno > random_steps ? random_steps : opno, ops[0], ops[1], ops[2], ops[3], ops[4],
		 ops[5], ops[6], host_efault, host_enomem);
	/* Leave the arena empty for the groups after. */
	CHECK_EQ(unmap_all_app(), 0);
	check_arena();
}

/* ====================================================================== */
/*  fork                                                                   */
/* ====================================================================== */

static void group_fork(char *note, size_t len)
{
	const int RW = PROT_READ | PROT_WRITE;
	snprintf(ctx, sizeof(ctx), "[fork]");
	long anon = mman_sys_mmap(NULL, 8 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	long shm = mman_sys_mmap(NULL, 2 * PG, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	long file = mman_sys_mmap(NULL, 2 * PG, PROT_READ, MAP_PRIVATE, files[0].fd, 4 * PG);
	long ro = mman_sys_mmap(NULL, 2 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(anon > 0 && shm > 0 && file > 0 && ro > 0);
	if (anon <= 0 || shm <= 0 || file <= 0 || ro <= 0)
		return;
	uint64_t *pa = (uint64_t *)anon, *ps = (uint64_t *)shm;
	for (int i = 0; i < 8; i++)
		pa[i * PG / 8] = 0xf0f0 + (uint64_t)i;
	ps[0] = 0x5e5e;
	check_arena();
	fflush(stdout);
	fflush(stderr);

	pid_t pid = fork();
	if (pid == 0) {
		unsigned long f0 = failed;
		snprintf(ctx, sizeof(ctx), "[fork: child]");
		check_arena();
		for (int i = 0; i < 8; i++)
			CHECK_EQ(pa[i * PG / 8], 0xf0f0 + i);
		CHECK_EQ(ps[0], 0x5e5e);
		CHECK_EQ(*(uint64_t *)file, FILE_TAG(0, 4));
		CHECK_EQ(mman_sys_munmap((void *)(anon + 2 * (long)PG), 2 * PG), 0);
		CHECK_EQ(mman_sys_mprotect((void *)anon, 2 * PG, PROT_NONE, -1), 0);
		CHECK_EQ(mman_sys_mprotect((void *)ro, 2 * PG, RW, -1), 0);
		*(uint64_t *)ro = 0xbad;
		pa[6 * PG / 8] = 0xbad;
		ps[PG / 8] = 0xc41d;
		CHECK_EQ(mman_sys_munmap((void *)file, 2 * PG), 0);
		long again = mman_sys_mmap(NULL, 4 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(again > 0);
		check_arena();
		fflush(stderr);
		_exit(failed != f0 ? 1 : 0);
	}
	CHECK(pid > 0);
	int st = 0;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	for (int i = 0; i < 8; i++)
		CHECK_EQ(mman_sys_msync((void *)(anon + i * (long)PG), PG, MS_ASYNC), 0);
	for (int i = 0; i < 8; i++)
		CHECK_EQ(pa[i * PG / 8], 0xf0f0 + i);
	CHECK_EQ(ps[PG / 8], 0xc41d);           /* shared memory is shared */
	CHECK_EQ(*(uint64_t *)file, FILE_TAG(0, 4));
	CHECK_EQ(*(uint64_t *)ro, 0);
	CHECK_EQ(probe_write((uintptr_t)ro, 1), SIGSEGV);
	CHECK_EQ(mman.prot_vec[mman_pgidx((uintptr_t)ro)], PROT_READ);
	check_arena();
	mman_sys_munmap((void *)anon, 8 * PG);
	mman_sys_munmap((void *)shm, 2 * PG);
	mman_sys_munmap((void *)file, 2 * PG);
	mman_sys_munmap((void *)ro, 2 * PG);
	check_arena();
	snprintf(note, len, "(child exit status %d)", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

/* ====================================================================== */
/*  exhaustion                                                             */
/* ====================================================================== */

static void group_exhaust(char *note, size_t len)
{
	const int RW = PROT_READ | PROT_WRITE, PA = MAP_PRIVATE | MAP_ANONYMOUS;
	size_t chunks = 0, singles = 0, vads = 0;

	/* The arena: one mapping too large, then fill it up. */
	snprintf(ctx, sizeof(ctx), "[exhaustion: arena]");
	capture_begin();
	long r = mman_sys_mmap(NULL, ARENA_SIZE, RW, PA, -1, 0);
	const char *log = capture_end();
	CHECK_EQ(r, -ENOMEM);
	CHECK(strstr(log, "arena exhausted") != NULL);
	long small = mman_sys_mmap(NULL, 4 * PG, RW, PA, -1, 0);
	CHECK(small > 0);
	long big[512];
	while (chunks < 512 && (big[chunks] = mman_sys_mmap(NULL, 1 << 20, PROT_READ, PA, -1, 0)) > 0)
		chunks++;
	CHECK(chunks > 0 && chunks < 512);
	capture_begin();
	while (mman_sys_mmap(NULL, PG, singles % 2 ? PROT_READ : PROT_NONE, PA, -1, 0) > 0)
		singles++;
	log = capture_end();
	CHECK_EQ(mman_sys_mmap(NULL, PG, RW, PA, -1, 0), -ENOMEM);
	CHECK_EQ(mman_sys_mremap((void *)small, 4 * PG, 64 * PG, MREMAP_MAYMOVE, NULL), -ENOMEM);
	CHECK_EQ(mman_sys_mmap((void *)small, 4 * PG, PROT_READ, PA | MAP_FIXED, -1, 0), small);
	CHECK(strstr(log, "arena exhausted") == NULL);      /* said once */
	check_arena();
	for (size_t i = 0; i < chunks; i++)
		CHECK_EQ(mman_sys_munmap((void *)big[i], 1 << 20), 0);
	CHECK_EQ(unmap_all_app(), 0);
	check_arena();


	/* VADs: single pages of alternating protection cannot merge. */
	snprintf(ctx, sizeof(ctx), "[exhaustion: VADs]");
	static long single[MAX_VADS];
	long three = mman_sys_mmap(NULL, 3 * PG, RW, PA, -1, 0);
	long spare = mman_sys_mmap(NULL, 3 * PG, RW, PA, -1, 0);
	CHECK(three > 0 && spare > 0);
	capture_begin();
	for (;;) {
		long a = mman_sys_mmap(NULL, PG, vads % 2 ? PROT_READ : PROT_NONE, PA, -1, 0);
		if (a < 0 || vads == MAX_VADS) {
			r = a;
			break;
		}
		single[vads++] = a;
	}
	/* mmap refuses while a split could still need more VADs than are
	 * free, so a few are left: splitting the middle of spare takes two. */
	size_t left = mman.ix.end_vad - mman.ix.count;
	CHECK(left < 3);
	if (left >= 2) {
		CHECK_EQ(mman_sys_mprotect((void *)(spare + (long)PG), PG, PROT_READ, -1), 0);
		left = mman.ix.end_vad - mman.ix.count;
	}
	log = capture_end();
	CHECK_EQ(r, -ENOMEM);
	CHECK(strstr(log, "out of VADs") != NULL);
	if (!strstr(log, "out of VADs"))
		fprintf(stderr, "  (no message when mmap ran out of VADs; log: \"%s\")\n", log);
	CHECK(left < 2);
	/* Out of VADs, every call that must split fails and changes nothing.
	 * three may have merged with a neighbour (as its VMA would): compare
	 * with the VAD that holds it now. */
	lk_lock(&mman.lock);
	const struct vad *tv0 = vad_find(&mman.ix, (uintptr_t)three);
	uintptr_t three_s = tv0 ? tv0->start : 0, three_e = tv0 ? tv0->end : 0;
	lk_unlock(&mman.lock);
	CHECK_EQ(mman_sys_mprotect((void *)(three + (long)PG), PG, PROT_READ, -1), -ENOMEM);
	CHECK_EQ(mman_sys_munmap((void *)(three + (long)PG), PG), -ENOMEM);
	CHECK_EQ(mman_sys_mremap((void *)(three + (long)PG), PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED,
				 (void *)single[0]), -ENOMEM);
	CHECK_EQ(mman_sys_mremap((void *)three, 3 * PG, 2 * PG, 0, NULL), -ENOMEM);
	CHECK_EQ(mman_sys_mmap((void *)(three + (long)PG), PG, PROT_READ, PA | MAP_FIXED, -1, 0), -ENOMEM);
	CHECK_EQ(mman_sys_mmap(NULL, PG, PROT_READ, PA, -1, 0), -ENOMEM);
	/* One VAD free: still not enough to cut a page out of three, and the
	 * refused munmap must change nothing (the kernel checks first). */
	if (left == 0 && vads > 0)
		CHECK_EQ(mman_sys_munmap((void *)single[--vads], PG), 0);
	CHECK_EQ(mman.ix.end_vad - mman.ix.count, 1);
	CHECK_EQ(mman_sys_munmap((void *)(three + (long)PG), PG), -ENOMEM);
	CHECK_EQ(mman_sys_msync((void *)three, 3 * PG, MS_ASYNC), 0);
	lk_lock(&mman.lock);
	struct vad *tv = vad_find(&mman.ix, (uintptr_t)three);
	CHECK(tv && tv->start == three_s && tv->end == three_e);
	if (!(tv && tv->start == three_s && tv->end == three_e))
		fprintf(stderr, "  (a failed munmap left the VAD split: [%#lx,%#lx))\n",
			tv ? tv->start : 0, tv ? tv->end : 0);
	lk_unlock(&mman.lock);
	CHECK_EQ(*(volatile uint64_t *)three, 0);
	check_arena();
	/* Unmapping whole VADs needs no new one; then everything works again. */
	for (size_t i = 0; i < vads; i++)
		CHECK_EQ(mman_sys_munmap((void *)single[i], PG), 0);
	CHECK_EQ(mman_sys_mprotect((void *)(three + (long)PG), PG, PROT_READ, -1), 0);
	CHECK(mman_sys_mmap(NULL, PG, RW, PA, -1, 0) > 0);
	check_arena();
	CHECK_EQ(unmap_all_app(), 0);
	check_arena();
	snprintf(note, len, "(%zu MiB + %zu pages to fill the arena; %zu VADs)", chunks, singles, vads);
}

int main(int argc, char **argv)
{
	const char *err;

	if (argc > 1)
		seed = strtoull(argv[1], NULL, 0);
	if (argc > 2)
		random_steps = strtoul(argv[2], NULL, 0);
	setvbuf(stdout, NULL, _IOLBF, 0);
	shim_real_init();
	if (shim_options_parse(NULL, &err)) {
		fprintf(stderr, "options: %s\n", err);
		return 2;
	}
	int r = mman_init(ARENA_SIZE, MAX_VADS);
	if (r) {
		fprintf(stderr, "mman_init: %s\n", strerror(-r));
		return 2;
	}
	probe_install();
	files_create();
	printf("seed %" PRIu64 "\n", seed);
	check_arena();
	run_group("directed", group_directed);
	run_group("native vs arena", group_native);
	run_group("ownership", group_ownership);
	run_group("random vs model", group_random);
	run_group("fork", group_fork);
	run_group("exhaustion", group_exhaust);
	printf("%lu passed, %lu failed\n", passed, failed);
	return failed ? 1 : 0;
}
