/*
 * mman_semantics.c — a deterministic walk through mmap-family behaviour.
 *
 * The output must be byte-identical natively and under
 * LD_PRELOAD=libvadshim.so (run_semantics.sh diffs the two).  So nothing here
 * prints an absolute address, a pid or a timing: addresses are printed
 * relative to a base ("+3p") or as "same"/"different", errnos by name, memory
 * contents as checksums.
 *
 * Sections: basic anonymous mappings; placement in a reserved range (hints,
 * MAP_FIXED, MAP_FIXED_NOREPLACE, mremap in all its forms); host files
 * (MAP_SHARED coherence with read/write, close, truncate and SIGBUS,
 * MAP_PRIVATE copy-on-write); fork (the child sees the parent's private pages
 * as they were, writes do not leak either way, MAP_SHARED anonymous memory is
 * shared, MADV_DONTFORK/WIPEONFORK, the child can unmap/re-protect/remap its
 * copies without touching the parent's); threads mapping and unmapping
 * concurrently with content checks; large mappings (1 GiB untouched, a few
 * pages touched, grown to 2 GiB by mremap).
 *
 * Lines ending in ": yes" are expectations about Linux; a "NO" there is a
 * failure natively as well, and the exit status is 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static size_t PS;
static int nbad;

#define SAY(...) (printf(__VA_ARGS__), putchar('\n'))

static void expect(int ok, const char *what)
{
	printf("%s: %s\n", what, ok ? "yes" : "NO");
	if (!ok)
		nbad++;
}

static const char *en(int e)
{
	const char *s = strerrorname_np(e);
	return s ? s : "E?";
}

/* "ok" for a 0 return, the errno name for -1. */
static const char *rc(long r)
{
	return r == -1 ? en(errno) : r == 0 ? "ok" : "ret!=0";
}

static const char *mrc(void *p)
{
	return p == MAP_FAILED ? en(errno) : "ok";
}

/* Address of p relative to base in pages (+bytes). */
static const char *rel(const void *p, const void *base)
{
	static char buf[4][48];
	static int k;
	char *b = buf[k++ & 3];
	long d = (long)((const char *)p - (const char *)base);
	if (p == MAP_FAILED)
		snprintf(b, 48, "failed(%s)", en(errno));
	else if (d % (long)PS)
		snprintf(b, 48, "%+ldp%+ld", d / (long)PS, d % (long)PS);
	else
		snprintf(b, 48, "%+ldp", d / (long)PS);
	return b;
}

static uint32_t csum(const void *p, size_t n)
{
	const unsigned char *c = p;
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 16777619u;
	return h;
}

/* The pattern of byte i of a region filled with seed. */
static unsigned char pat(size_t i, unsigned seed)
{
	return (unsigned char)(seed * 37 + i * 11 + (i >> 12) * 5 + 1);
}

static void fillpat(void *p, size_t n, unsigned seed)
{
	unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		c[i] = pat(i, seed);
}

/* Checksum of bytes [off, off+n) of a region filled with seed. */
static uint32_t patsum_at(size_t off, size_t n, unsigned seed)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ pat(off + i, seed)) * 16777619u;
	return h;
}

static uint32_t patsum(size_t n, unsigned seed)
{
	return patsum_at(0, n, seed);
}

static int is_zero(const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		if (c[i])
			return 0;
	return 1;
}

/* ---- page state probe ---------------------------------------------------- */

static __thread sigjmp_buf probe_env;
static __thread volatile sig_atomic_t probe_on;

static void on_fault(int sig)
{
	if (probe_on) {
		probe_on = 0;
		siglongjmp(probe_env, sig);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static int try_read(const volatile unsigned char *p)
{
	int sig = sigsetjmp(probe_env, 1);
	if (sig)
		return sig;
	probe_on = 1;
	(void)*p;
	probe_on = 0;
	return 0;
}

static int try_write(volatile unsigned char *p)
{
	int sig = sigsetjmp(probe_env, 1);
	if (sig)
		return sig;
	probe_on = 1;
	*p = *p;
	probe_on = 0;
	return 0;
}

/* "unmapped", "none", "ro", "rw" or "SIGBUS" */
static const char *state(void *page)
{
	int saved = errno;
	int m = msync(page, PS, MS_ASYNC);
	int merr = errno;
	errno = saved;
	if (m != 0)
		return merr == ENOMEM ? "unmapped" : "msync-error";
	int r = try_read(page);
	if (r == SIGBUS)
		return "SIGBUS";
	if (r)
		return "none";
	return try_write(page) ? "ro" : "rw";
}

/* the states of n pages, as one string */
static const char *states(void *p, int n)
{
	static char buf[512];
	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		strcat(buf, i ? " " : "");
		strcat(buf, state((char *)p + (size_t)i * PS));
	}
	return buf;
}

/* ---- sections ------------------------------------------------------------- */

static void basic(void)
{
	SAY("== basic anonymous mappings");
	char *p = mmap(NULL, 4 * PS, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	SAY("mmap 4p rw: %s", mrc(p));
	expect(is_zero(p, 4 * PS), "fresh anonymous memory reads zero");
	expect(((uintptr_t)p & (PS - 1)) == 0, "page aligned");
	fillpat(p, 4 * PS, 1);
	SAY("checksum %08x", csum(p, 4 * PS));
	SAY("mprotect +1p 2p ro: %s", rc(mprotect(p + PS, 2 * PS, PROT_READ)));
	SAY("states: %s", states(p, 4));
	SAY("mprotect +2p 1p none: %s", rc(mprotect(p + 2 * PS, PS, PROT_NONE)));
	SAY("states: %s", states(p, 4));
	SAY("mprotect all rw: %s", rc(mprotect(p, 4 * PS, PROT_READ | PROT_WRITE)));
	expect(csum(p, 4 * PS) == patsum(4 * PS, 1), "content survives mprotect");
	SAY("madvise +1p dontneed: %s", rc(madvise(p + PS, PS, MADV_DONTNEED)));
	expect(is_zero(p + PS, PS), "dontneed page reads zero");
	expect(csum(p, PS) == patsum(PS, 1) &&
	       csum(p + 2 * PS, 2 * PS) == patsum_at(2 * PS, 2 * PS, 1),
	       "other pages untouched");
	unsigned char vec[4];
	SAY("mincore: %s", rc(mincore(p, 4 * PS, vec)));
	SAY("resident: %d%d%d%d", vec[0] & 1, vec[1] & 1, vec[2] & 1, vec[3] & 1);
	SAY("mlock 2p: %s", rc(mlock(p, 2 * PS)));
	SAY("munlock 2p: %s", rc(munlock(p, 2 * PS)));
	SAY("msync: %s", rc(msync(p, 4 * PS, MS_SYNC)));
	SAY("munmap +1p 2p: %s", rc(munmap(p + PS, 2 * PS)));
	SAY("states: %s", states(p, 4));
	SAY("msync over hole: %s", rc(msync(p, 4 * PS, MS_SYNC)));
	SAY("mprotect over hole: %s", rc(mprotect(p, 4 * PS, PROT_READ)));
	SAY("states: %s", states(p, 4));
	SAY("munmap all: %s", rc(munmap(p, 4 * PS)));
	SAY("munmap again: %s", rc(munmap(p, 4 * PS)));
	SAY("states: %s", states(p, 4));
	errno = 0;
	SAY("mmap len 0: %s", mrc(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)));
	SAY("mmap len SIZE_MAX: %s",
	    mrc(mmap(NULL, SIZE_MAX, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)));
	SAY("mmap no type: %s", mrc(mmap(NULL, PS, PROT_READ, MAP_ANONYMOUS, -1, 0)));
	SAY("mmap bad fd: %s", mrc(mmap(NULL, PS, PROT_READ, MAP_SHARED, 12345, 0)));
	SAY("munmap unaligned: %s", rc(munmap((char *)p + 1, PS)));
	SAY("munmap NULL: %s", rc(munmap(NULL, PS)));
	SAY("mprotect NULL 0: %s", rc(mprotect(NULL, 0, PROT_READ)));
	SAY("madvise bogus: %s", rc(madvise(p, 0, 999)));
	SAY("mremap NULL: %s", mrc(mremap(NULL, PS, 2 * PS, MREMAP_MAYMOVE)));
	SAY("posix_madvise bogus: %d", posix_madvise(p, PS, 999) == EINVAL);
}

static void placement(void)
{
	SAY("== placement in a reserved range");
	const size_t n = 64;
	char *r = mmap(NULL, n * PS, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	SAY("reserve 64p: %s", mrc(r));
	SAY("states +0..3: %s", states(r, 4));
	/* Keep the first and last page as fences, free the middle. */
	SAY("munmap +1p 62p: %s", rc(munmap(r + PS, (n - 2) * PS)));
	char *a = mmap(r + 4 * PS, 4 * PS, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	SAY("fixed at +4p: %s", rel(a, r));
	fillpat(a, 4 * PS, 2);
	char *h = mmap(r + 10 * PS, 2 * PS, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	SAY("hint +10p free: %s", rel(h, r));
	char *h2 = mmap(r + 10 * PS, 2 * PS, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	SAY("hint +10p busy: %s", h2 == r + 10 * PS ? "same" : h2 == MAP_FAILED ? "failed" : "different");
	expect(is_zero(h, 2 * PS) && is_zero(h2, 2 * PS), "both read zero");
	munmap(h2, 2 * PS);
	char *nr = mmap(r + 5 * PS, 2 * PS, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS |
			MAP_FIXED_NOREPLACE, -1, 0);
	SAY("noreplace over +5p: %s", rel(nr, r));
	nr = mmap(r + 8 * PS, 2 * PS, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS |
		  MAP_FIXED_NOREPLACE, -1, 0);
	SAY("noreplace at +8p: %s", rel(nr, r));
	SAY("states +4..11: %s", states(r + 4 * PS, 8));
	expect(csum(a, 4 * PS) == patsum(4 * PS, 2), "neighbour intact");
	char *f = mmap(r + 5 * PS, 2 * PS, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS |
		       MAP_FIXED, -1, 0);
	SAY("fixed replace +5p 2p ro: %s", rel(f, r));
	SAY("states +4..7: %s", states(r + 4 * PS, 4));
	expect(is_zero(r + 5 * PS, 2 * PS), "replaced pages read zero");
	SAY("munmap +4p 8p: %s", rc(munmap(r + 4 * PS, 8 * PS)));

	SAY("-- mremap");
	a = mmap(r + 4 * PS, 2 * PS, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	fillpat(a, 2 * PS, 3);
	char *m = mremap(a, 2 * PS, 4 * PS, 0);
	SAY("grow in place 2p->4p: %s", rel(m, r));
	expect(csum(m, 2 * PS) == patsum(2 * PS, 3) && is_zero(m + 2 * PS, 2 * PS),
	       "content kept, tail zero");
	char *blk = mmap(r + 8 * PS, PS, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
			 -1, 0);
	SAY("blocker at +8p: %s", rel(blk, r));
	m = mremap(a, 4 * PS, 6 * PS, 0);
	SAY("grow blocked, no maymove: %s", rel(m, r));
	m = mremap(a, 4 * PS, 6 * PS, MREMAP_MAYMOVE);
	SAY("grow blocked, maymove: %s", m == a ? "same" : m == MAP_FAILED ? "failed" : "different");
	expect(csum(m, 2 * PS) == patsum(2 * PS, 3), "content carried");
	SAY("old range: %s", states(a, 4));
	char *x = mremap(m, 6 * PS, 3 * PS, MREMAP_MAYMOVE | MREMAP_FIXED, r + 20 * PS);
	SAY("fixed move to +20p, shrink to 3p: %s", rel(x, r));
	expect(csum(x, 2 * PS) == patsum(2 * PS, 3), "content carried");
	char *d = mremap(x, 3 * PS, 3 * PS, MREMAP_MAYMOVE | MREMAP_DONTUNMAP | MREMAP_FIXED,
			 r + 30 * PS);
	SAY("dontunmap to +30p: %s", rel(d, r));
	SAY("source: %s", states(x, 3));
	expect(is_zero(x, 3 * PS), "source reads zero");
	expect(csum(d, 2 * PS) == patsum(2 * PS, 3), "destination has the content");
	SAY("fixed overlapping: %s",
	    rel(mremap(d, 3 * PS, 3 * PS, MREMAP_MAYMOVE | MREMAP_FIXED, d + PS), r));
	SAY("dontunmap size change: %s",
	    rel(mremap(d, 3 * PS, 4 * PS, MREMAP_MAYMOVE | MREMAP_DONTUNMAP), r));
	SAY("no mapping at old: %s",
	    rel(mremap(r + 40 * PS, PS, 2 * PS, MREMAP_MAYMOVE), r));
	SAY("fixed over existing +20p: %s",
	    rel(mremap(d, 3 * PS, 3 * PS, MREMAP_MAYMOVE | MREMAP_FIXED, r + 20 * PS), r));
	expect(csum(r + 20 * PS, 2 * PS) == patsum(2 * PS, 3), "content carried");
	SAY("states +20..23: %s", states(r + 20 * PS, 4));
	SAY("states +30..33: %s", states(r + 30 * PS, 4));
	SAY("munmap +1p 62p: %s", rc(munmap(r + PS, (n - 2) * PS)));
	SAY("states +0..1: %s", states(r, 2));
	SAY("states +62..63: %s", states(r + 62 * PS, 2));
	SAY("munmap all: %s", rc(munmap(r, n * PS)));
}

static const char *tmpdir(void)
{
	const char *t = getenv("TMPDIR");
	return t && *t ? t : "/tmp";
}

static void files(void)
{
	SAY("== host files");
	char path[256];
	snprintf(path, sizeof path, "%s/mman_semantics.%d", tmpdir(), (int)getpid());
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	SAY("open: %s", fd >= 0 ? "ok" : en(errno));
	static unsigned char buf[1 << 16];
	fillpat(buf, 3 * PS, 4);
	SAY("write 3p: %s", pwrite(fd, buf, 3 * PS, 0) == (ssize_t)(3 * PS) ? "ok" : en(errno));
	char *s = mmap(NULL, 3 * PS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	SAY("mmap shared 3p: %s", mrc(s));
	expect(csum(s, 3 * PS) == patsum(3 * PS, 4), "mapping shows file content");
	memset(s + 100, 'M', 50);
	unsigned char rb[50];
	SAY("pread: %s", pread(fd, rb, 50, 100) == 50 ? "ok" : en(errno));
	expect(memcmp(rb, "MMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMM", 50) == 0,
	       "write through mapping visible to pread");
	SAY("pwrite: %s", pwrite(fd, "hello", 5, PS + 7) == 5 ? "ok" : en(errno));
	expect(memcmp(s + PS + 7, "hello", 5) == 0, "pwrite visible in mapping");
	char *p = mmap(NULL, 3 * PS, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	SAY("mmap private 3p: %s", mrc(p));
	memset(p + 2 * PS, 'P', 10);
	SAY("pwrite page 0 and 2: %s",
	    pwrite(fd, "xyz", 3, 0) == 3 && pwrite(fd, "uvw", 3, 2 * PS) == 3 ? "ok" : en(errno));
	expect(memcmp(p, "xyz", 3) == 0, "untouched private page follows the file");
	expect(memcmp(p + 2 * PS, "PPP", 3) == 0, "copied private page does not");
	SAY("pread page 2: %s", pread(fd, rb, 3, 2 * PS) == 3 ? "ok" : en(errno));
	expect(memcmp(rb, "uvw", 3) == 0, "private write did not reach the file");
	SAY("msync shared: %s", rc(msync(s, 3 * PS, MS_SYNC)));
	SAY("close: %s", rc(close(fd)));
	expect(memcmp(s + PS + 7, "hello", 5) == 0, "mapping readable after close");
	fd = open(path, O_RDWR);
	SAY("reopen: %s", fd >= 0 ? "ok" : en(errno));
	SAY("pwrite after close: %s", pwrite(fd, "again", 5, 200) == 5 ? "ok" : en(errno));
	expect(memcmp(s + 200, "again", 5) == 0, "coherent after close");
	SAY("ftruncate 1p+10: %s", rc(ftruncate(fd, (off_t)PS + 10)));
	SAY("shared states: %s", states(s, 3));
	SAY("private states: %s", states(p, 3));
	expect(is_zero(s + PS + 10, PS - 10), "tail of last page reads zero");
	SAY("mremap shared grow 3p->5p: %s",
	    mrc(s = mremap(s, 3 * PS, 5 * PS, MREMAP_MAYMOVE)));
	SAY("states: %s", states(s, 5));
	SAY("ftruncate 5p: %s", rc(ftruncate(fd, 5 * (off_t)PS)));
	SAY("states: %s", states(s, 5));
	expect(is_zero(s + 2 * PS, 3 * PS), "extended file reads zero");
	int ro = open(path, O_RDONLY);
	SAY("mmap shared rw on O_RDONLY: %s",
	    mrc(mmap(NULL, PS, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0)));
	char *q = mmap(NULL, PS, PROT_READ, MAP_SHARED, ro, 0);
	SAY("mmap shared ro on O_RDONLY: %s", mrc(q));
	SAY("mprotect it rw: %s", rc(mprotect(q, PS, PROT_READ | PROT_WRITE)));
	int wo = open(path, O_WRONLY);
	SAY("mmap on O_WRONLY: %s", mrc(mmap(NULL, PS, PROT_READ, MAP_SHARED, wo, 0)));
	SAY("mmap offset unaligned: %s", mrc(mmap(NULL, PS, PROT_READ, MAP_SHARED, ro, 1)));
	close(ro);
	close(wo);
	SAY("munmap: %s %s %s", rc(munmap(s, 5 * PS)), rc(munmap(p, 3 * PS)),
	    rc(munmap(q, PS)));
	close(fd);
	unlink(path);
}

static void forks(void)
{
	SAY("== fork");
	const size_t n = 8;
	char *priv = mmap(NULL, n * PS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	char *shr = mmap(NULL, 2 * PS, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			 -1, 0);
	char *dfk = mmap(NULL, 2 * PS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	char *wip = mmap(NULL, 2 * PS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	char *ro = mmap(NULL, PS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	SAY("mmaps: %s %s %s %s %s", mrc(priv), mrc(shr), mrc(dfk), mrc(wip), mrc(ro));
	fillpat(priv, n * PS, 5);
	fillpat(shr, 2 * PS, 6);
	fillpat(dfk, 2 * PS, 7);
	fillpat(wip, 2 * PS, 8);
	fillpat(ro, PS, 9);
	SAY("mprotect ro: %s", rc(mprotect(ro, PS, PROT_READ)));
	SAY("madvise dontfork: %s", rc(madvise(dfk, 2 * PS, MADV_DONTFORK)));
	SAY("madvise wipeonfork: %s", rc(madvise(wip, 2 * PS, MADV_WIPEONFORK)));
	/* a page the parent unmaps before the fork must be absent in the child */
	SAY("munmap priv +7p: %s", rc(munmap(priv + 7 * PS, PS)));
	int go[2], back[2];
	if (pipe(go) || pipe(back))
		abort();
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		if (read(go[0], &c, 1) != 1)
			_exit(3);
		SAY("child: private content as at fork");
		expect(csum(priv, PS) == patsum(PS, 5) &&
		       csum(priv + 2 * PS, 5 * PS) == patsum_at(2 * PS, 5 * PS, 5),
		       "child: private pages as they were");
		SAY("child: priv states: %s", states(priv, 8));
		expect(memcmp(shr, "parent", 6) == 0, "child: sees the parent's shared write");
		expect(memcmp(priv + PS, "pppp", 4) != 0, "child: parent's private write not seen");
		SAY("child: dontfork region: %s", states(dfk, 2));
		SAY("child: wipeonfork region: %s", states(wip, 2));
		expect(is_zero(wip, 2 * PS), "child: wipeonfork reads zero");
		SAY("child: read-only page: %s", states(ro, 1));
		expect(csum(ro, PS) == patsum(PS, 9), "child: read-only page content");
		memset(priv, 'c', 10);
		memcpy(shr + PS, "child", 5);
		SAY("child: munmap priv +2p: %s", rc(munmap(priv + 2 * PS, PS)));
		SAY("child: mprotect priv +3p ro: %s", rc(mprotect(priv + 3 * PS, PS, PROT_READ)));
		SAY("child: madvise dontneed priv +4p: %s",
		    rc(madvise(priv + 4 * PS, PS, MADV_DONTNEED)));
		expect(is_zero(priv + 4 * PS, PS), "child: dontneed zeroes its copy");
		char *g = mremap(priv + 5 * PS, 2 * PS, 6 * PS, MREMAP_MAYMOVE);
		SAY("child: mremap priv +5p 2p->6p: %s", mrc(g));
		expect(g != MAP_FAILED && csum(g, 2 * PS) == patsum_at(5 * PS, 2 * PS, 5) &&
		       is_zero(g + 2 * PS, 4 * PS), "child: moved copy carries content");
		SAY("child: priv states: %s", states(priv, 8));
		char *cm = mmap(NULL, 3 * PS, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		SAY("child: new mmap: %s", mrc(cm));
		fillpat(cm, 3 * PS, 10);
		expect(csum(cm, 3 * PS) == patsum(3 * PS, 10), "child: new mapping works");
		SAY("child: munmap new: %s", rc(munmap(cm, 3 * PS)));
		SAY("child: mprotect ro page rw: %s", rc(mprotect(ro, PS, PROT_READ | PROT_WRITE)));
		ro[0] = 'c';
		fflush(stdout);
		if (write(back[1], "x", 1) != 1)
			_exit(3);
		_exit(nbad ? 1 : 0);
	}
	/* parent: write after the fork, then let the child look */
	memcpy(shr, "parent", 6);
	memset(priv + PS, 'p', 10);
	if (write(go[1], "x", 1) != 1)
		abort();
	char c;
	if (read(back[0], &c, 1) != 1)
		abort();
	int st = 0;
	waitpid(pid, &st, 0);
	SAY("child exit: %d", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		nbad++;
	expect(memcmp(priv, "cccc", 4) != 0 && csum(priv, PS) == patsum(PS, 5),
	       "parent: child's private write did not leak back");
	expect(memcmp(shr + PS, "child", 5) == 0, "parent: sees the child's shared write");
	SAY("parent: priv states: %s", states(priv, 8));
	expect(csum(priv + 2 * PS, 5 * PS) == patsum_at(2 * PS, 5 * PS, 5),
	       "parent: pages the child changed are intact");
	SAY("parent: dontfork region: %s", states(dfk, 2));
	expect(csum(dfk, 2 * PS) == patsum(2 * PS, 7), "parent: dontfork content");
	expect(csum(wip, 2 * PS) == patsum(2 * PS, 8), "parent: wipeonfork content");
	SAY("parent: read-only page: %s", states(ro, 1));
	expect(csum(ro, PS) == patsum(PS, 9), "parent: read-only page unchanged");

	/* A second generation: the child forks again; all three share shr. */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		pid_t g = fork();
		if (g == 0) {
			memcpy(shr, "grandchild", 10);
			expect(memcmp(priv + PS, "pppp", 4) == 0, "grandchild: private as at fork");
			fflush(stdout);
			_exit(nbad ? 1 : 0);
		}
		int gs = 0;
		waitpid(g, &gs, 0);
		SAY("child: grandchild exit %d", WIFEXITED(gs) ? WEXITSTATUS(gs) : 99);
		expect(memcmp(shr, "grandchild", 10) == 0, "child: sees grandchild's write");
		SAY("child: munmap shared: %s", rc(munmap(shr, 2 * PS)));
		fflush(stdout);
		_exit(nbad ? 1 : 0);
	}
	waitpid(pid, &st, 0);
	SAY("child exit: %d", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		nbad++;
	expect(memcmp(shr, "grandchild", 10) == 0, "parent: sees grandchild's write");
	SAY("parent: shared still mapped: %s", states(shr, 2));
	close(go[0]);
	close(go[1]);
	close(back[0]);
	close(back[1]);
	SAY("munmap: %s %s %s %s %s", rc(munmap(priv, n * PS)), rc(munmap(shr, 2 * PS)),
	    rc(munmap(dfk, 2 * PS)), rc(munmap(wip, 2 * PS)), rc(munmap(ro, PS)));
}

/* ---- threads ----------------------------------------------------------------- */

#define NTHREADS 4
#define ITERS 300
#define LIVE 8

struct handoff {
	char *p;
	size_t len;
	unsigned seed;
};

static pthread_mutex_t hand_mu = PTHREAD_MUTEX_INITIALIZER;
static struct handoff hand[NTHREADS * ITERS];
static int nhand;
static pthread_barrier_t bar;

struct tres {
	int id;
	long maps, unmaps, remaps, protects, checks, bad, handed, taken;
};

static unsigned lcg(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static void check_region(struct tres *t, char *p, size_t len, unsigned seed)
{
	t->checks++;
	if (csum(p, len) != patsum(len, seed))
		t->bad++;
}

static void *worker(void *arg)
{
	struct tres *t = arg;
	unsigned s = 1234u + (unsigned)t->id * 77u;
	struct handoff live[LIVE];
	memset(live, 0, sizeof live);
	pthread_barrier_wait(&bar);
	for (int i = 0; i < ITERS; i++) {
		int slot = (int)(lcg(&s) % LIVE);
		struct handoff *h = &live[slot];
		if (h->p) {
			check_region(t, h->p, h->len, h->seed);
			switch (lcg(&s) % 4) {
			case 0: { /* grow, maybe moving */
				size_t nl = h->len + (1 + lcg(&s) % 4) * PS;
				char *q = mremap(h->p, h->len, nl, MREMAP_MAYMOVE);
				t->remaps++;
				if (q == MAP_FAILED) {
					t->bad++;
					break;
				}
				if (!is_zero(q + h->len, nl - h->len))
					t->bad++;
				check_region(t, q, h->len, h->seed);
				munmap(q + h->len, nl - h->len);
				h->p = q;
				break;
			}
			case 1: /* read-only round trip */
				t->protects++;
				if (mprotect(h->p, h->len, PROT_READ) ||
				    mprotect(h->p, h->len, PROT_READ | PROT_WRITE))
					t->bad++;
				check_region(t, h->p, h->len, h->seed);
				break;
			case 2: /* hand it to whoever comes next */
				pthread_mutex_lock(&hand_mu);
				hand[nhand++] = *h;
				pthread_mutex_unlock(&hand_mu);
				t->handed++;
				h->p = NULL;
				break;
			default:
				if (munmap(h->p, h->len))
					t->bad++;
				t->unmaps++;
				h->p = NULL;
			}
			continue;
		}
		/* take over someone's mapping, or make a new one */
		struct handoff got = { 0, 0, 0 };
		unsigned coin = lcg(&s) % 2; /* drawn always: the sequence must not
					      * depend on scheduling */
		pthread_mutex_lock(&hand_mu);
		if (nhand && coin)
			got = hand[--nhand];
		pthread_mutex_unlock(&hand_mu);
		if (got.p) {
			check_region(t, got.p, got.len, got.seed);
			if (munmap(got.p, got.len))
				t->bad++;
			t->taken++;
			t->unmaps++;
		}
		size_t len = (1 + lcg(&s) % 16) * PS;
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);
		t->maps++;
		if (p == MAP_FAILED) {
			t->bad++;
			continue;
		}
		if (!is_zero(p, len))
			t->bad++;
		h->p = p;
		h->len = len;
		h->seed = lcg(&s) % 251;
		fillpat(p, len, h->seed);
	}
	for (int i = 0; i < LIVE; i++)
		if (live[i].p) {
			check_region(t, live[i].p, live[i].len, live[i].seed);
			if (munmap(live[i].p, live[i].len))
				t->bad++;
			t->unmaps++;
		}
	return NULL;
}

static void threads(void)
{
	SAY("== threads");
	pthread_t th[NTHREADS];
	static struct tres res[NTHREADS];
	pthread_barrier_init(&bar, NULL, NTHREADS);
	for (int i = 0; i < NTHREADS; i++) {
		res[i].id = i;
		pthread_create(&th[i], NULL, worker, &res[i]);
	}
	long maps = 0, unmaps = 0, handed = 0, taken = 0, checks = 0, bad = 0;
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		/* per-thread counts that do not depend on scheduling */
		SAY("thread %d: maps=%ld remaps=%ld protects=%ld handed=%ld bad=%ld", i,
		    res[i].maps, res[i].remaps, res[i].protects, res[i].handed, res[i].bad);
		maps += res[i].maps;
		unmaps += res[i].unmaps;
		handed += res[i].handed;
		taken += res[i].taken;
		checks += res[i].checks;
		bad += res[i].bad;
	}
	while (nhand) {
		struct handoff h = hand[--nhand];
		checks++;
		if (csum(h.p, h.len) != patsum(h.len, h.seed))
			bad++;
		if (munmap(h.p, h.len))
			bad++;
		unmaps++;
		taken++;
	}
	SAY("total: maps=%ld unmaps=%ld handed=%ld taken=%ld", maps, unmaps, handed, taken);
	expect(maps == unmaps && handed == taken, "every mapping unmapped once");
	expect(bad == 0, "no content or call errors");
	(void)checks;
	pthread_barrier_destroy(&bar);
}

struct fx {
	char *r;
	int id;
	long bad;
};

static void *fixer(void *arg)
{
	struct fx *f = arg;
	char *mine = f->r + (size_t)f->id * 16 * PS;
	for (int i = 0; i < 500; i++) {
		char *p = mmap(mine, 16 * PS, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (p != mine || !is_zero(p, 16 * PS)) {
			f->bad++;
			continue;
		}
		fillpat(p, 16 * PS, (unsigned)(f->id + i));
		if (csum(p, 16 * PS) != patsum(16 * PS, (unsigned)(f->id + i)))
			f->bad++;
		if (i % 3 == 0 && munmap(p + 4 * PS, 4 * PS))
			f->bad++;
		if (i % 5 == 0 && mprotect(p, 4 * PS, PROT_READ))
			f->bad++;
	}
	return NULL;
}

/* Four threads re-map, unmap and re-protect MAP_FIXED ranges side by side in
 * one reserved range: every call must succeed and every page must end in a
 * known state. */
static void fixed_race(void)
{
	SAY("-- MAP_FIXED side by side");
	char *r = mmap(NULL, 64 * PS, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	SAY("reserve: %s", mrc(r));
	pthread_t th[4];
	static struct fx f[4];
	for (int i = 0; i < 4; i++) {
		f[i].r = r;
		f[i].id = i;
		pthread_create(&th[i], NULL, fixer, &f[i]);
	}
	long bad = 0;
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		bad += f[i].bad;
	}
	expect(bad == 0, "fixed mappings in parallel");
	/* last iteration i=499: not %3, not %5 -> 16 rw pages each */
	SAY("states +0..3: %s", states(r, 4));
	SAY("states +16..19: %s", states(r + 16 * PS, 4));
	SAY("munmap: %s", rc(munmap(r, 64 * PS)));
}

/* ---- large mappings ------------------------------------------------------------ */

static void large(void)
{
	SAY("== large mappings");
	const size_t G = 1UL << 30;
	char *p = mmap(NULL, G, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	SAY("mmap 1 GiB: %s", mrc(p));
	if (p == MAP_FAILED)
		return;
	size_t offs[] = { 0, PS, G / 2, G / 2 + 123 * PS, G - PS };
	for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++)
		fillpat(p + offs[i], PS, (unsigned)i + 20);
	unsigned char v = 0;
	int res = 0;
	for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
		if (mincore(p + offs[i], PS, &v) == 0 && (v & 1))
			res++;
	}
	SAY("touched pages resident: %d of 5", res);
	expect(is_zero(p + G / 4, PS) && is_zero(p + 3 * (G / 4), PS),
	       "untouched pages read zero");
	SAY("mprotect 1 MiB in the middle ro: %s",
	    rc(mprotect(p + G / 2 - (1 << 19), 1 << 20, PROT_READ)));
	SAY("states around it: %s", states(p + G / 2 - (1 << 19) - PS, 2));
	SAY("states at its end: %s", states(p + G / 2 + (1 << 19) - PS, 2));
	SAY("munmap second quarter: %s", rc(munmap(p + G / 4, G / 4)));
	SAY("states: %s", states(p + G / 4 - PS, 2));
	char *q = mremap(p, G / 4, G, MREMAP_MAYMOVE);
	SAY("mremap first quarter to 1 GiB: %s", mrc(q));
	if (q != MAP_FAILED) {
		expect(csum(q, PS) == patsum(PS, 20) && csum(q + PS, PS) == patsum(PS, 21),
		       "content carried");
		expect(is_zero(q + G / 2, PS), "grown part reads zero");
		SAY("munmap: %s", rc(munmap(q, G)));
	}
	SAY("munmap rest: %s", rc(munmap(p + G / 2, G / 2)));
	expect(q == p || strcmp(state(p), "unmapped") == 0, "old head gone when moved");

	/* a 1 GiB PROT_NONE reservation with a window opened inside */
	char *r = mmap(NULL, G, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	SAY("reserve 1 GiB none: %s", mrc(r));
	SAY("mprotect window rw: %s", rc(mprotect(r + G / 3 / PS * PS, 64 * PS,
					      PROT_READ | PROT_WRITE)));
	fillpat(r + G / 3 / PS * PS, 64 * PS, 30);
	expect(csum(r + G / 3 / PS * PS, 64 * PS) == patsum(64 * PS, 30), "window works");
	SAY("states: %s", states(r + G / 3 / PS * PS - PS, 2));
	char *g = mremap(r, G, 2 * G, MREMAP_MAYMOVE);
	SAY("mremap 1 GiB (3 pieces) -> 2 GiB: %s", mrc(g));
	if (g != MAP_FAILED)
		r = g;
	SAY("mprotect window back to none: %s",
	    rc(mprotect(r + G / 3 / PS * PS, 64 * PS, PROT_NONE)));
	g = mremap(r, G, 2 * G, MREMAP_MAYMOVE);
	SAY("mremap 1 GiB (merged) -> 2 GiB: %s", mrc(g));
	if (g != MAP_FAILED) {
		SAY("mprotect window rw: %s", rc(mprotect(g + G / 3 / PS * PS, 64 * PS,
							  PROT_READ | PROT_WRITE)));
		expect(csum(g + G / 3 / PS * PS, 64 * PS) == patsum(64 * PS, 30),
		       "window carried");
		SAY("states at 1 GiB: %s", states(g + G - PS, 2));
		SAY("munmap 2 GiB: %s", rc(munmap(g, 2 * G)));
	} else {
		SAY("munmap 1 GiB: %s", rc(munmap(r, G)));
	}
}

int main(void)
{
	PS = (size_t)sysconf(_SC_PAGESIZE);
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_fault;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);

	basic();
	placement();
	files();
	forks();
	threads();
	fixed_race();
	large();
	SAY("== %d expectation(s) failed", nbad);
	fflush(stdout);
	return nbad ? 1 : 0;
}
