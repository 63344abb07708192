/*
 * mman_oracle.c — the kernel is the oracle for the mmap family, in one process.
 *
 * Every case is a row: a name, a file size, and a short list of operations on
 * page offsets relative to a scratch base.  Each case runs twice:
 *
 *   libc run:   through mmap(), munmap(), mremap(), ... on scratch range A,
 *               obtained from libc mmap().  Under LD_PRELOAD=libvadshim.so these
 *               calls reach the VAD arena, and A lies inside the arena.
 *   kernel run: through raw syscall(SYS_mmap, ...) on scratch range B, obtained by
 *               a raw syscall: the host kernel, outside the arena.
 *
 * For every operation we compare success/failure, errno and the returned
 * address relative to the scratch base (or, where the kernel picks the address,
 * only "at the hint/old address" vs "elsewhere" plus the content found there).
 * After the last operation we compare the state of every scratch page: mapped
 * or not (msync(MS_ASYNC) -> ENOMEM means unmapped; libc msync for A, raw for
 * B), readable and writable (probed under a SIGSEGV/SIGBUS handler, so the
 * signal number is compared too), a checksum of its content, and the size and
 * checksum of the case's host file.
 *
 * Natively both runs are the kernel, so this program must pass 100% natively:
 * that validates the harness.  Under the shim it checks the arena.
 *
 * Layout of one scratch reservation (both A and B):
 *
 *     [guard][ 64 scratch pages ............................ ][guard]
 *      ^ PROT_NONE, never touched by cases        PROT_NONE ^
 *
 * Between cases the whole reservation is PROT_NONE (so nothing else in the
 * process can land in it); a case starts with the 64 scratch pages unmapped.
 * An address the kernel picks itself (no hint, a busy hint, mremap MAYMOVE) is
 * checksummed and released at once, so where it landed never matters.
 *
 * Usage: mman_oracle [-v] [-k substring]
 *   -v  print every kernel record and the final page map of every case
 *   -k  run only the cases whose name contains the substring
 * Last line: "N passed, M failed"; exit status 1 on any failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE 0x08
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#ifndef MADV_GUARD_REMOVE
#define MADV_GUARD_REMOVE 103
#endif

#define NPAGES 64  /* scratch pages per case */
#define MAXOPS 14
#define RECDESC 160

static size_t PS; /* page size */

/* ---- case description ---------------------------------------------------- */

enum lk { L_REL, L_ABS };
struct loc { int k; long pg, by; };  /* base + pg pages + by bytes, or absolute */
struct len { long pg, by; int max; }; /* pg pages + by bytes, or SIZE_MAX - by */

#define P(n)     { L_REL, (n), 0 }
#define PB(n, b) { L_REL, (n), (b) }
#define AB(v)    { L_ABS, 0, (long)(v) }
#define NUL      { L_ABS, 0, 0 }
#define N(n)     { (n), 0, 0 }
#define NB(n, b) { (n), (b), 0 }
#define NMAX     { 0, 0, 1 }

enum opk {
	O_END, O_MMAP, O_MUNMAP, O_MREMAP, O_MPROTECT, O_PKEY, O_MSYNC, O_MADVISE,
	O_PMADVISE, O_MLOCK, O_MLOCK2, O_MUNLOCK, O_MLOCKALL, O_MUNLOCKALL,
	O_MINCORE, O_FILL, O_TOUCH, O_CLOSE, O_PWRITE, O_FTRUNC,
};
static const char *const opname[] = {
	"end", "mmap", "munmap", "mremap", "mprotect", "pkey_mprotect", "msync",
	"madvise", "posix_madvise", "mlock", "mlock2", "munlock", "mlockall",
	"munlockall", "mincore", "fill", "touch", "close", "pwrite", "ftruncate",
};

/* Descriptors a case can name. */
enum fdsel { FD_NONE, FD_BAD, FD_RW, FD_RO, FD_WO, FD_RW2, FD_APPEND, FD_DIR,
	     FD_PIPE, FD_DEVZERO, FD_COUNT };
static const char *const fdname[] = { "-1", "bad", "rw", "ro", "wo", "rw2",
	"append", "dir", "pipe", "devzero" };

/* How a returned address is compared. */
enum res { R_REL, /* exactly, relative to the scratch base */
	   R_PICK /* kernel's choice: only "at the reference address" or not */ };

/* Which vector mincore gets. */
enum vecsel { V_OK, V_NULL, V_RO };

struct op {
	int k;
	struct loc a, b;    /* address; mremap: b = new address */
	struct len l, l2;   /* length; mremap: l2 = new size */
	struct len off;     /* mmap file offset; pwrite offset; ftruncate size */
	long x, y;          /* prot/flags/advice/seed; mmap flags; pkey */
	int fd;
	int res;
};

struct tcase {
	const char *name;
	struct len fsize; /* size of the case's host file */
	struct op ops[MAXOPS];
};

#define RW (PROT_READ | PROT_WRITE)
#define RO PROT_READ
#define PN PROT_NONE
#define PA (MAP_PRIVATE | MAP_ANONYMOUS)
#define SA (MAP_SHARED | MAP_ANONYMOUS)
#define FX MAP_FIXED
#define NR MAP_FIXED_NOREPLACE

#define MMAP(a_, l_, pr, fl, fd_, off_, res_) \
	{ .k = O_MMAP, .a = a_, .l = l_, .x = (pr), .y = (fl), .fd = (fd_), \
	  .off = off_, .res = (res_) }
#define MAPA(p, n, pr) MMAP(P(p), N(n), pr, PA | FX, FD_NONE, N(0), R_REL)
#define MAPS(p, n, pr) MMAP(P(p), N(n), pr, SA | FX, FD_NONE, N(0), R_REL)
#define MAPF(p, n, pr, fl, fd_, offp) \
	MMAP(P(p), N(n), pr, (fl) | FX, fd_, N(offp), R_REL)
#define MUNMAP(a_, l_) { .k = O_MUNMAP, .a = a_, .l = l_ }
#define MPROT(a_, l_, pr) { .k = O_MPROTECT, .a = a_, .l = l_, .x = (pr) }
#define PKEYP(a_, l_, pr, key) \
	{ .k = O_PKEY, .a = a_, .l = l_, .x = (pr), .y = (key) }
#define MREMAP(a_, l_, l2_, fl, b_, res_) \
	{ .k = O_MREMAP, .a = a_, .l = l_, .l2 = l2_, .x = (fl), .b = b_, \
	  .res = (res_) }
#define MSYNC(a_, l_, fl) { .k = O_MSYNC, .a = a_, .l = l_, .x = (fl) }
#define MADV(a_, l_, adv) { .k = O_MADVISE, .a = a_, .l = l_, .x = (adv) }
#define PMADV(a_, l_, adv) { .k = O_PMADVISE, .a = a_, .l = l_, .x = (adv) }
#define MLOCK(a_, l_) { .k = O_MLOCK, .a = a_, .l = l_ }
#define MLOCK2(a_, l_, fl) { .k = O_MLOCK2, .a = a_, .l = l_, .x = (fl) }
#define MUNLOCK(a_, l_) { .k = O_MUNLOCK, .a = a_, .l = l_ }
#define MLOCKALL(fl) { .k = O_MLOCKALL, .x = (fl) }
#define MUNLOCKALL() { .k = O_MUNLOCKALL }
#define MINCORE(a_, l_, v) { .k = O_MINCORE, .a = a_, .l = l_, .x = (v) }
#define FILL(p, n, s) { .k = O_FILL, .a = P(p), .l = N(n), .x = (s) }
#define TOUCH(p, n) { .k = O_TOUCH, .a = P(p), .l = N(n) }
#define CLOSE(fd_) { .k = O_CLOSE, .fd = (fd_) }
#define PWRITE(fd_, offb, lenb, s) \
	{ .k = O_PWRITE, .fd = (fd_), .off = NB(0, offb), .l = NB(0, lenb), \
	  .x = (s) }
#define FTRUNC(fd_, sz) { .k = O_FTRUNC, .fd = (fd_), .off = sz }

#define CASE(nm, fs, ...) { nm, fs, { __VA_ARGS__ } }
#define NOFILE N(0)

/* The table.  Expectations are not written down: the kernel run is the
 * expectation.  Comments note what the kernel (6.18) answered where that
 * was not obvious. */
static const struct tcase cases[] = {
	/* ---- mmap: argument validation ---- */
	CASE("mmap len 0", NOFILE,
	     MMAP(NUL, N(0), RW, PA, FD_NONE, N(0), R_PICK)),
	CASE("mmap len 0 fixed", NOFILE,
	     MMAP(P(0), N(0), RW, PA | FX, FD_NONE, N(0), R_REL)),
	CASE("mmap anon offset unaligned", NOFILE,
	     MMAP(P(0), N(1), RW, PA | FX, FD_NONE, NB(0, 100), R_REL)),
	CASE("mmap file offset unaligned", N(2),
	     MMAP(P(0), N(1), RW, MAP_SHARED | FX, FD_RW, NB(0, 100), R_REL)),
	CASE("mmap fixed addr unaligned", NOFILE,
	     MMAP(PB(2, 100), N(1), RW, PA | FX, FD_NONE, N(0), R_REL)),
	CASE("mmap noreplace addr unaligned", NOFILE,
	     MMAP(PB(2, 100), N(1), RW, PA | NR, FD_NONE, N(0), R_REL)),
	CASE("mmap no type", NOFILE,
	     MMAP(NUL, N(1), RW, MAP_ANONYMOUS, FD_NONE, N(0), R_PICK)),
	CASE("mmap no type fixed over mapping keeps it", NOFILE,
	     MAPA(0, 4, RW), FILL(0, 4, 1),
	     MMAP(P(1), N(2), RW, MAP_ANONYMOUS | FX, FD_NONE, N(0), R_REL)),
	CASE("mmap unknown type 5", NOFILE,
	     MMAP(NUL, N(1), RW, 0x05 | MAP_ANONYMOUS, FD_NONE, N(0), R_PICK)),
	CASE("mmap type MAP_DROPPABLE", NOFILE,
	     MMAP(NUL, N(2), RW, MAP_DROPPABLE | MAP_ANONYMOUS, FD_NONE, N(0),
		  R_PICK)),
	/* anonymous: the type switch has no MAP_SHARED_VALIDATE case: EINVAL */
	CASE("mmap shared_validate anon", NOFILE,
	     MMAP(P(0), N(2), RW, MAP_SHARED_VALIDATE | MAP_ANONYMOUS | FX, FD_NONE,
		  N(0), R_REL)),
	CASE("mmap shared_validate anon unknown flag", NOFILE,
	     MMAP(P(0), N(2), RW, MAP_SHARED_VALIDATE | MAP_ANONYMOUS | FX | 0x800000,
		  FD_NONE, N(0), R_REL)),
	CASE("mmap shared_validate file", N(2),
	     MMAP(P(0), N(2), RW, MAP_SHARED_VALIDATE | FX, FD_RW, N(0), R_REL)),
	CASE("mmap shared_validate file unknown flag", N(2),
	     MMAP(P(0), N(2), RW, MAP_SHARED_VALIDATE | FX | 0x800000, FD_RW, N(0),
		  R_REL)),
	CASE("mmap shared_validate file MAP_SYNC", N(2),
	     MMAP(P(0), N(2), RW, MAP_SHARED_VALIDATE | FX | MAP_SYNC, FD_RW, N(0),
		  R_REL)),
	/* MAP_FIXED_NOREPLACE is not in LEGACY_MAP_MASK: EOPNOTSUPP */
	CASE("mmap shared_validate file noreplace", N(2),
	     MMAP(P(0), N(2), RW, MAP_SHARED_VALIDATE | NR, FD_RW, N(0), R_REL)),
	CASE("mmap shared file unknown flag ignored", N(2),
	     MMAP(P(0), N(2), RW, MAP_SHARED | FX | 0x800000, FD_RW, N(0), R_REL)),
	CASE("mmap private unknown flag ignored", NOFILE,
	     MMAP(P(0), N(2), RW, PA | FX | 0x800000, FD_NONE, N(0), R_REL)),
	/* mmap ignores unknown prot bits (mprotect rejects them) */
	CASE("mmap invalid prot bit", NOFILE,
	     MMAP(P(0), N(2), 0x10 | RW, PA | FX, FD_NONE, N(0), R_REL)),
	CASE("mmap len SIZE_MAX", NOFILE,
	     MMAP(NUL, NMAX, RW, PA, FD_NONE, N(0), R_PICK)),
	CASE("mmap len SIZE_MAX fixed", NOFILE,
	     MMAP(P(0), NMAX, RW, PA | FX, FD_NONE, N(0), R_REL)),
	CASE("mmap len 2^47", NOFILE,
	     MMAP(NUL, NB(0, 1L << 47), RW, PA, FD_NONE, N(0), R_PICK)),
	CASE("mmap no type len SIZE_MAX", NOFILE,
	     MMAP(NUL, NMAX, RW, MAP_ANONYMOUS, FD_NONE, N(0), R_PICK)),
	CASE("mmap fixed beyond TASK_SIZE", NOFILE,
	     MMAP(AB(0x7ffffffff000L), N(2), RW, PA | FX, FD_NONE, N(0), R_REL)),
	CASE("mmap hugetlb", NOFILE,
	     MMAP(NUL, NB(0, 2L << 20), RW, PA | MAP_HUGETLB, FD_NONE, N(0), R_PICK)),
	CASE("mmap MAP_32BIT", NOFILE,
	     MMAP(NUL, N(2), RW, PA | MAP_32BIT, FD_NONE, N(0), R_PICK)),

	/* ---- mmap: placement ---- */
	CASE("mmap fixed replaces, zero after", NOFILE,
	     MAPA(0, 8, RW), FILL(0, 8, 2), MAPA(2, 3, RW)),
	CASE("mmap fixed replaces with other prot", NOFILE,
	     MAPA(0, 8, RW), FILL(0, 8, 3), MAPA(3, 2, RO), MAPA(6, 1, PN)),
	CASE("mmap fixed over mapping and hole", NOFILE,
	     MAPA(0, 2, RW), MAPA(4, 2, RW), FILL(0, 2, 4), FILL(4, 2, 5),
	     MAPA(1, 4, RO)),
	CASE("mmap fixed shared over private", NOFILE,
	     MAPA(0, 4, RW), FILL(0, 4, 6), MAPS(1, 2, RW), FILL(1, 1, 7)),
	CASE("mmap noreplace over mapping", NOFILE,
	     MAPA(4, 2, RW), FILL(4, 2, 8),
	     MMAP(P(3), N(2), RW, PA | NR, FD_NONE, N(0), R_REL)),
	CASE("mmap noreplace exact over mapping", NOFILE,
	     MAPA(4, 2, RW),
	     MMAP(P(4), N(2), RW, PA | NR, FD_NONE, N(0), R_REL)),
	CASE("mmap noreplace free", NOFILE,
	     MMAP(P(10), N(3), RW, PA | NR, FD_NONE, N(0), R_REL), FILL(10, 3, 9)),
	CASE("mmap noreplace adjacent", NOFILE,
	     MAPA(0, 2, RW), MMAP(P(2), N(2), RW, PA | NR, FD_NONE, N(0), R_REL)),
	CASE("mmap noreplace with fixed", NOFILE,
	     MAPA(4, 2, RW), FILL(4, 2, 10),
	     MMAP(P(4), N(2), RW, PA | NR | FX, FD_NONE, N(0), R_REL)),
	CASE("mmap hint free honoured", NOFILE,
	     MMAP(P(20), N(4), RW, PA, FD_NONE, N(0), R_REL), FILL(20, 4, 11)),
	/* x86 rounds a hint down to its page: the result is +20p */
	CASE("mmap hint unaligned free", NOFILE,
	     MMAP(PB(20, 100), N(2), RW, PA, FD_NONE, N(0), R_REL)),
	CASE("mmap hint busy", NOFILE,
	     MAPA(20, 4, RW), FILL(20, 4, 12),
	     MMAP(P(20), N(4), RW, PA, FD_NONE, N(0), R_PICK)),
	CASE("mmap hint partly busy", NOFILE,
	     MAPA(22, 1, RW),
	     MMAP(P(20), N(4), RW, PA, FD_NONE, N(0), R_PICK)),
	CASE("mmap hint adjacent to mapping", NOFILE,
	     MAPA(10, 2, RW), MMAP(P(12), N(2), RW, PA, FD_NONE, N(0), R_REL),
	     MREMAP(P(10), N(4), N(4), 0, NUL, R_REL)),
	CASE("mmap no hint", NOFILE,
	     MMAP(NUL, N(3), RW, PA, FD_NONE, N(0), R_PICK)),
	CASE("mmap prot none", NOFILE, MAPA(0, 3, PN)),
	CASE("mmap prot exec", NOFILE, MAPA(0, 2, RO | PROT_EXEC)),
	CASE("mmap populate resident", NOFILE,
	     MMAP(P(0), N(4), RW, PA | FX | MAP_POPULATE, FD_NONE, N(0), R_REL),
	     MINCORE(P(0), N(4), V_OK)),
	CASE("mmap locked resident", NOFILE,
	     MMAP(P(0), N(4), RW, PA | FX | MAP_LOCKED, FD_NONE, N(0), R_REL),
	     MINCORE(P(0), N(4), V_OK)),
	CASE("mmap noreserve|stack flags", NOFILE,
	     MMAP(P(0), N(2), RW, PA | FX | MAP_NORESERVE | MAP_STACK, FD_NONE,
		  N(0), R_REL)),
	CASE("mmap shared anon", NOFILE, MAPS(0, 3, RW), FILL(0, 3, 13)),

	/* ---- mmap: descriptors and files ---- */
	CASE("mmap bad fd", NOFILE,
	     MMAP(P(0), N(1), RW, MAP_SHARED | FX, FD_BAD, N(0), R_REL)),
	CASE("mmap fd -1 not anonymous", NOFILE,
	     MMAP(P(0), N(1), RW, MAP_PRIVATE | FX, FD_NONE, N(0), R_REL)),
	CASE("mmap bad fd len 0", NOFILE,
	     MMAP(NUL, N(0), RW, MAP_SHARED, FD_BAD, N(0), R_PICK)),
	CASE("mmap bad fd offset unaligned", NOFILE,
	     MMAP(NUL, N(1), RW, MAP_SHARED, FD_BAD, NB(0, 1), R_PICK)),
	CASE("mmap bad fd no type", NOFILE,
	     MMAP(NUL, N(1), RW, 0, FD_BAD, N(0), R_PICK)),
	CASE("mmap anon ignores fd", NOFILE,
	     MMAP(P(0), N(1), RW, PA | FX, FD_BAD, N(0), R_REL)),
	CASE("mmap file O_WRONLY shared", N(2),
	     MMAP(P(0), N(2), RO, MAP_SHARED | FX, FD_WO, N(0), R_REL)),
	CASE("mmap file O_WRONLY private", N(2),
	     MMAP(P(0), N(2), RO, MAP_PRIVATE | FX, FD_WO, N(0), R_REL)),
	CASE("mmap file O_RDONLY shared write", N(2),
	     MMAP(P(0), N(2), RW, MAP_SHARED | FX, FD_RO, N(0), R_REL)),
	CASE("mmap file O_RDONLY private write", N(2),
	     MAPF(0, 2, RW, MAP_PRIVATE, FD_RO, 0), FILL(0, 1, 14)),
	CASE("mmap file O_APPEND shared write", N(2),
	     MAPF(0, 2, RW, MAP_SHARED, FD_APPEND, 0), FILL(1, 1, 15)),
	CASE("mmap file O_RDONLY shared read, mprotect", N(2),
	     MAPF(0, 2, RO, MAP_SHARED, FD_RO, 0), MPROT(P(0), N(2), RW),
	     MPROT(P(0), N(1), RO | PROT_EXEC), MPROT(P(1), N(1), PN)),
	CASE("mmap file shared, close, pwrite coherent", N(2),
	     MAPF(4, 2, RW, MAP_SHARED, FD_RW, 0), CLOSE(FD_RW),
	     PWRITE(FD_RW2, 100, 300, 16), FILL(5, 1, 17), TOUCH(4, 2)),
	CASE("mmap file private copy-on-write", N(3),
	     MAPF(0, 3, RW, MAP_PRIVATE, FD_RW, 0), FILL(1, 1, 18),
	     PWRITE(FD_RW2, 10, 100, 19), PWRITE(FD_RW2, 4096 + 10, 100, 20),
	     CLOSE(FD_RW)),
	CASE("mmap file shared writes reach file", N(3),
	     MAPF(0, 3, RW, MAP_SHARED, FD_RW, 0), FILL(0, 3, 21),
	     MSYNC(P(0), N(3), MS_SYNC)),
	CASE("mmap file offset", N(4),
	     MAPF(0, 2, RO, MAP_SHARED, FD_RO, 2)),
	CASE("mmap file beyond EOF", N(2),
	     MAPF(0, 4, RW, MAP_SHARED, FD_RW, 0), TOUCH(0, 4)),
	CASE("mmap file partial last page", NB(1, 100),
	     MAPF(0, 3, RO, MAP_PRIVATE, FD_RO, 0)),
	CASE("mmap file offset beyond EOF", N(1),
	     MAPF(0, 2, RO, MAP_SHARED, FD_RO, 4)),
	CASE("mmap file truncated under mapping", N(3),
	     MAPF(0, 3, RW, MAP_SHARED, FD_RW, 0), FTRUNC(FD_RW2, NB(1, 10))),
	CASE("mmap file offset negative", N(1),
	     MMAP(P(0), N(1), RO, MAP_SHARED | FX, FD_RO, N(-1), R_REL)),
	CASE("mmap file offset 2^62", N(1),
	     MMAP(P(0), N(1), RO, MAP_SHARED | FX, FD_RO, NB(0, 1L << 62), R_REL)),
	CASE("mmap file offset + len overflows", N(1),
	     MMAP(P(0), N(4), RO, MAP_SHARED | FX, FD_RO,
		  NB(0, 0x7ffffffffffff000L), R_REL)),
	CASE("mmap directory fd", NOFILE,
	     MMAP(P(0), N(1), RO, MAP_PRIVATE | FX, FD_DIR, N(0), R_REL)),
	CASE("mmap pipe fd", NOFILE,
	     MMAP(P(0), N(1), RO, MAP_PRIVATE | FX, FD_PIPE, N(0), R_REL)),
	CASE("mmap /dev/zero shared", NOFILE,
	     MAPF(0, 2, RW, MAP_SHARED, FD_DEVZERO, 0), FILL(0, 1, 22)),
	CASE("mmap /dev/zero private", NOFILE,
	     MAPF(0, 2, RW, MAP_PRIVATE, FD_DEVZERO, 0), FILL(1, 1, 23)),
	CASE("mmap file over anon fixed", N(2),
	     MAPA(0, 4, RW), FILL(0, 4, 24), MAPF(1, 2, RO, MAP_SHARED, FD_RO, 0)),

	/* ---- munmap ---- */
	CASE("munmap unaligned", NOFILE,
	     MAPA(0, 2, RW), MUNMAP(PB(0, 1), N(1))),
	CASE("munmap len 0", NOFILE, MAPA(0, 2, RW), MUNMAP(P(0), N(0))),
	CASE("munmap len 0 unaligned", NOFILE, MUNMAP(PB(0, 8), N(0))),
	CASE("munmap over holes", NOFILE,
	     MAPA(0, 2, RW), MAPA(4, 2, RW), MAPA(7, 1, RO), MUNMAP(P(0), N(8))),
	CASE("munmap nothing mapped", NOFILE, MUNMAP(P(10), N(4))),
	CASE("munmap part splits", NOFILE,
	     MAPA(0, 6, RW), FILL(0, 6, 25), MUNMAP(P(2), N(2)),
	     MREMAP(P(4), N(2), N(3), 0, NUL, R_REL)),
	CASE("munmap head and tail", NOFILE,
	     MAPA(0, 6, RW), FILL(0, 6, 26), MUNMAP(P(0), N(1)),
	     MUNMAP(P(5), N(1))),
	CASE("munmap NULL", NOFILE, MUNMAP(NUL, N(1))),
	CASE("munmap len unaligned rounds up", NOFILE,
	     MAPA(0, 4, RW), FILL(0, 4, 27), MUNMAP(P(1), NB(1, 1))),
	CASE("munmap len SIZE_MAX", NOFILE, MAPA(0, 1, RW), MUNMAP(P(0), NMAX)),
	CASE("munmap beyond TASK_SIZE", NOFILE,
	     MUNMAP(AB(0x7ffffffff000L), N(2))),
	CASE("munmap file mapping", N(2),
	     MAPF(0, 2, RW, MAP_SHARED, FD_RW, 0), FILL(0, 2, 28),
	     MUNMAP(P(0), N(1))),

	/* ---- mprotect / pkey_mprotect ---- */
	CASE("mprotect unaligned", NOFILE,
	     MAPA(0, 2, RW), MPROT(PB(0, 1), N(1), RO)),
	CASE("mprotect unaligned len 0", NOFILE,
	     MAPA(0, 2, RW), MPROT(PB(0, 1), N(0), RO)),
	CASE("mprotect len 0", NOFILE, MPROT(P(3), N(0), RO)),
	CASE("mprotect invalid prot bit", NOFILE,
	     MAPA(0, 2, RW), MPROT(P(0), N(1), 0x10 | RO)),
	CASE("mprotect growsdown|growsup", NOFILE,
	     MAPA(0, 2, RW),
	     MPROT(P(0), N(1), RO | PROT_GROWSDOWN | PROT_GROWSUP)),
	CASE("mprotect growsdown on normal mapping", NOFILE,
	     MAPA(0, 2, RW), MPROT(P(1), N(1), RO | PROT_GROWSDOWN)),
	CASE("mprotect range with hole", NOFILE,
	     MAPA(0, 2, RW), MAPA(3, 2, RW), FILL(0, 5, 29),
	     MPROT(P(0), N(5), RO)),
	CASE("mprotect starts in hole", NOFILE,
	     MAPA(1, 2, RW), MPROT(P(0), N(3), RO)),
	CASE("mprotect unmapped", NOFILE, MPROT(P(10), N(1), RO)),
	CASE("mprotect split and merge back", NOFILE,
	     MAPA(0, 6, RW), FILL(0, 6, 30), MPROT(P(2), N(2), RO),
	     MPROT(P(2), N(2), RW), MREMAP(P(0), N(6), N(8), 0, NUL, R_REL)),
	CASE("mprotect split then mremap whole", NOFILE,
	     MAPA(0, 6, RW), FILL(0, 6, 31), MPROT(P(2), N(2), RO),
	     MREMAP(P(0), N(6), N(8), 0, NUL, R_REL)),
	CASE("mprotect none and back keeps content", NOFILE,
	     MAPA(0, 3, RW), FILL(0, 3, 32), MPROT(P(0), N(3), PN), TOUCH(0, 1),
	     MPROT(P(0), N(3), RW)),
	CASE("mprotect len unaligned rounds up", NOFILE,
	     MAPA(0, 4, RW), MPROT(P(1), NB(1, 1), RO)),
	CASE("mprotect across two mappings", N(2),
	     MAPA(0, 2, RW), MAPF(2, 2, RW, MAP_PRIVATE, FD_RO, 0),
	     MPROT(P(1), N(2), RO)),
	CASE("mprotect shared O_RDONLY file write", N(2),
	     MAPF(0, 2, RO, MAP_SHARED, FD_RO, 0), MPROT(P(0), N(2), RW)),
	CASE("mprotect shared O_RDONLY after anon part", N(2),
	     MAPA(0, 2, RO), MAPF(2, 2, RO, MAP_SHARED, FD_RO, 0),
	     MPROT(P(0), N(4), RW)),
	CASE("mprotect private O_RDONLY file write", N(2),
	     MAPF(0, 2, RO, MAP_PRIVATE, FD_RO, 0), MPROT(P(0), N(2), RW),
	     FILL(0, 1, 33)),
	CASE("mprotect write-only", NOFILE,
	     MAPA(0, 2, PN), MPROT(P(0), N(2), PROT_WRITE)),
	CASE("pkey_mprotect key -1", NOFILE,
	     MAPA(0, 2, RW), PKEYP(P(0), N(1), RO, -1)),
	CASE("pkey_mprotect unallocated key", NOFILE,
	     MAPA(0, 2, RW), PKEYP(P(0), N(1), RO, 7)),
	CASE("pkey_mprotect hole", NOFILE,
	     MAPA(0, 1, RW), PKEYP(P(0), N(2), RO, -1)),

	/* ---- mremap: argument validation ---- */
	CASE("mremap bad flags", NOFILE,
	     MAPA(0, 2, RW), MREMAP(P(0), N(2), N(3), 0x10, NUL, R_REL)),
	CASE("mremap bad flags with maymove", NOFILE,
	     MAPA(0, 2, RW),
	     MREMAP(P(0), N(2), N(3), MREMAP_MAYMOVE | 0x10, NUL, R_PICK)),
	CASE("mremap fixed without maymove", NOFILE,
	     MAPA(0, 2, RW), MREMAP(P(0), N(2), N(2), MREMAP_FIXED, P(10), R_REL)),
	CASE("mremap dontunmap without maymove", NOFILE,
	     MAPA(0, 2, RW),
	     MREMAP(P(0), N(2), N(2), MREMAP_DONTUNMAP, P(10), R_REL)),
	CASE("mremap dontunmap different sizes", NOFILE,
	     MAPA(0, 2, RW),
	     MREMAP(P(0), N(2), N(3), MREMAP_MAYMOVE | MREMAP_DONTUNMAP, P(10),
		    R_PICK)),
	CASE("mremap new size 0", NOFILE,
	     MAPA(0, 2, RW), MREMAP(P(0), N(2), N(0), MREMAP_MAYMOVE, NUL, R_PICK)),
	CASE("mremap old unaligned", NOFILE,
	     MAPA(0, 2, RW),
	     MREMAP(PB(0, 1), N(1), N(2), MREMAP_MAYMOVE, NUL, R_PICK)),
	CASE("mremap fixed new unaligned", NOFILE,
	     MAPA(0, 2, RW),
	     MREMAP(P(0), N(2), N(2), MREMAP_MAYMOVE | MREMAP_FIXED, PB(10, 1),
		    R_REL)),
	CASE("mremap fixed overlapping", NOFILE,
	     MAPA(0, 3, RW), FILL(0, 3, 34),
	     MREMAP(P(0), N(3), N(3), MREMAP_MAYMOVE | MREMAP_FIXED, P(1), R_REL)),
	CASE("mremap fixed overlapping below", NOFILE,
	     MAPA(4, 3, RW),
	     MREMAP(P(4), N(3), N(3), MREMAP_MAYMOVE | MREMAP_FIXED, P(2), R_REL)),
	CASE("mremap fixed same address", NOFILE,
	     MAPA(4, 3, RW),
	     MREMAP(P(4), N(3), N(3), MREMAP_MAYMOVE | MREMAP_FIXED, P(4), R_REL)),
	CASE("mremap no mapping", NOFILE,
	     MREMAP(P(0), N(2), N(3), MREMAP_MAYMOVE, NUL, R_PICK)),
	CASE("mremap no mapping fixed", NOFILE,
	     MREMAP(P(0), N(2), N(2), MREMAP_MAYMOVE | MREMAP_FIXED, P(10), R_REL)),
	CASE("mremap old range runs past mapping", NOFILE,
	     MAPA(0, 2, RW), MREMAP(P(0), N(4), N(6), MREMAP_MAYMOVE, NUL, R_PICK)),
	CASE("mremap new size SIZE_MAX", NOFILE,
	     MAPA(0, 2, RW), MREMAP(P(0), N(2), NMAX, MREMAP_MAYMOVE, NUL, R_PICK)),
	/* EINVAL (new_len > TASK_SIZE), not ENOMEM */
	CASE("mremap new size 2^47", NOFILE,
	     MAPA(0, 2, RW),
	     MREMAP(P(0), N(2), NB(0, 1L << 47), MREMAP_MAYMOVE, NUL, R_PICK)),
	CASE("mremap old size 0 private", NOFILE,
	     MAPA(0, 2, RW), MREMAP(P(0), N(0), N(2), MREMAP_MAYMOVE, NUL, R_PICK)),
	/* old_size 0 on a shared mapping makes a second mapping of the same
	 * pages: writes through either are seen through both */
	CASE("mremap old size 0 shared duplicates", NOFILE,
	     MAPS(0, 2, RW), FILL(0, 2, 35),
	     MREMAP(P(0), N(0), N(2), MREMAP_MAYMOVE | MREMAP_FIXED, P(10), R_REL),
	     FILL(0, 1, 36), FILL(11, 1, 37)),
	/* ENOMEM, not EINVAL */
	CASE("mremap old size 0 shared no maymove", NOFILE,
	     MAPS(0, 2, RW), MREMAP(P(0), N(0), N(2), 0, NUL, R_REL)),

	/* ---- mremap: shrink, grow, move ---- */
	CASE("mremap shrink", NOFILE,
	     MAPA(0, 6, RW), FILL(0, 6, 38), MREMAP(P(0), N(6), N(2), 0, NUL, R_REL)),
	CASE("mremap shrink unaligned new size", NOFILE,
	     MAPA(0, 6, RW), FILL(0, 6, 39),
	     MREMAP(P(0), N(6), NB(2, 1), 0, NUL, R_REL)),
	CASE("mremap shrink middle of mapping", NOFILE,
	     MAPA(0, 6, RW), FILL(0, 6, 40), MREMAP(P(1), N(3), N(1), 0, NUL, R_REL)),
	CASE("mremap same size", NOFILE,
	     MAPA(0, 2, RW), FILL(0, 2, 41), MREMAP(P(0), N(2), N(2), 0, NUL, R_REL)),
	CASE("mremap grow in place", NOFILE,
	     MAPA(0, 2, RW), FILL(0, 2, 42), MREMAP(P(0), N(2), N(5), 0, NUL, R_REL)),
	CASE("mremap grow in place with maymove", NOFILE,
	     MAPA(0, 2, RW), FILL(0, 2, 43),
	     MREMAP(P(0), N(2), N(5), MREMAP_MAYMOVE, NUL, R_REL)),
	CASE("mremap grow in place unaligned old size", NOFILE,
	     MAPA(0, 2, RW), FILL(0, 2, 44),
	     MREMAP(P(0), NB(1, 1), N(4), 0, NUL, R_REL)),
	CASE("mremap grow tail of mapping", NOFILE,
	     MAPA(0, 4, RW), FILL(0, 4, 45), MREMAP(P(2), N(2), N(4), 0, NUL, R_REL)),
	CASE("mremap grow blocked", NOFILE,
	     MAPA(0, 2, RW), MAPA(3, 1, RO), FILL(0, 2, 46),
	     MREMAP(P(0), N(2), N(4), 0, NUL, R_REL)),
	CASE("mremap grow blocked maymove moves", NOFILE,
	     MAPA(0, 2, RW), MAPA(3, 1, RO), FILL(0, 2, 47),
	     MREMAP(P(0), N(2), N(4), MREMAP_MAYMOVE, NUL, R_PICK)),
	CASE("mremap grow middle of mapping maymove", NOFILE,
	     MAPA(0, 6, RW), FILL(0, 6, 48),
	     MREMAP(P(1), N(2), N(4), MREMAP_MAYMOVE, NUL, R_PICK)),
	CASE("mremap grow into partial gap", NOFILE,
	     MAPA(0, 2, RW), MAPA(5, 1, RW), MREMAP(P(0), N(2), N(5), 0, NUL, R_REL),
	     MREMAP(P(0), N(5), N(6), 0, NUL, R_REL)),
	CASE("mremap fixed to free", NOFILE,
	     MAPA(0, 3, RW), FILL(0, 3, 49),
	     MREMAP(P(0), N(3), N(3), MREMAP_MAYMOVE | MREMAP_FIXED, P(10), R_REL)),
	CASE("mremap fixed and grow", NOFILE,
	     MAPA(0, 3, RW), FILL(0, 3, 50),
	     MREMAP(P(0), N(3), N(5), MREMAP_MAYMOVE | MREMAP_FIXED, P(10), R_REL)),
	CASE("mremap fixed and shrink", NOFILE,
	     MAPA(0, 3, RW), FILL(0, 3, 51),
	     MREMAP(P(0), N(3), N(1), MREMAP_MAYMOVE | MREMAP_FIXED, P(10), R_REL)),
	CASE("mremap fixed over existing", NOFILE,
	     MAPA(0, 3, RW), FILL(0, 3, 52), MAPA(10, 6, RO),
	     MREMAP(P(0), N(3), N(3), MREMAP_MAYMOVE | MREMAP_FIXED, P(10), R_REL)),
	CASE("mremap fixed part of mapping", NOFILE,
	     MAPA(0, 6, RW), FILL(0, 6, 53),
	     MREMAP(P(2), N(2), N(2), MREMAP_MAYMOVE | MREMAP_FIXED, P(20), R_REL)),
	CASE("mremap fixed keeps prot", NOFILE,
	     MAPA(0, 2, RW), FILL(0, 2, 54), MPROT(P(0), N(2), RO),
	     MREMAP(P(0), N(2), N(3), MREMAP_MAYMOVE | MREMAP_FIXED, P(10), R_REL)),
	CASE("mremap prot none moves", NOFILE,
	     MAPA(0, 2, PN),
	     MREMAP(P(0), N(2), N(2), MREMAP_MAYMOVE | MREMAP_FIXED, P(10), R_REL)),
	/* growing shared anonymous memory does not grow the object: the new
	 * pages raise SIGBUS */
	CASE("mremap shared anon move", NOFILE,
	     MAPS(0, 2, RW), FILL(0, 2, 55),
	     MREMAP(P(0), N(2), N(4), MREMAP_MAYMOVE | MREMAP_FIXED, P(10), R_REL)),
	CASE("mremap file grow beyond EOF", N(2),
	     MAPF(0, 2, RW, MAP_SHARED, FD_RW, 0),
	     MREMAP(P(0), N(2), N(4), 0, NUL, R_REL)),
	CASE("mremap file move", N(3),
	     MAPF(0, 3, RW, MAP_SHARED, FD_RW, 0), FILL(0, 1, 56),
	     MREMAP(P(1), N(2), N(2), MREMAP_MAYMOVE | MREMAP_FIXED, P(10), R_REL),
	     FILL(11, 1, 57)),
	CASE("mremap locked grow populates", NOFILE,
	     MAPA(0, 2, RW), MLOCK(P(0), N(2)),
	     MREMAP(P(0), N(2), N(4), 0, NUL, R_REL), MINCORE(P(0), N(4), V_OK)),

	/* ---- mremap: DONTUNMAP ---- */
	CASE("mremap dontunmap fixed", NOFILE,
	     MAPA(0, 3, RW), FILL(0, 3, 58),
	     MREMAP(P(0), N(3), N(3), MREMAP_MAYMOVE | MREMAP_DONTUNMAP | MREMAP_FIXED,
		    P(10), R_REL)),
	CASE("mremap dontunmap no hint", NOFILE,
	     MAPA(0, 3, RW), FILL(0, 3, 59),
	     MREMAP(P(0), N(3), N(3), MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NUL,
		    R_PICK)),
	CASE("mremap dontunmap hint honoured", NOFILE,
	     MAPA(0, 3, RW), FILL(0, 3, 60),
	     MREMAP(P(0), N(3), N(3), MREMAP_MAYMOVE | MREMAP_DONTUNMAP, P(20),
		    R_REL)),
	CASE("mremap dontunmap fixed over existing", NOFILE,
	     MAPA(0, 2, RW), FILL(0, 2, 61), MAPA(10, 4, RW), FILL(10, 4, 62),
	     MREMAP(P(0), N(2), N(2), MREMAP_MAYMOVE | MREMAP_DONTUNMAP | MREMAP_FIXED,
		    P(11), R_REL)),
	CASE("mremap dontunmap shared anon", NOFILE,
	     MAPS(0, 2, RW), FILL(0, 2, 63),
	     MREMAP(P(0), N(2), N(2), MREMAP_MAYMOVE | MREMAP_DONTUNMAP | MREMAP_FIXED,
		    P(10), R_REL)),
	/* the source of a private file mapping reads the file again */
	CASE("mremap dontunmap private file", N(2),
	     MAPF(0, 2, RW, MAP_PRIVATE, FD_RW, 0), FILL(0, 1, 64),
	     MREMAP(P(0), N(2), N(2), MREMAP_MAYMOVE | MREMAP_DONTUNMAP | MREMAP_FIXED,
		    P(10), R_REL)),
	CASE("mremap dontunmap read-only source", NOFILE,
	     MAPA(0, 2, RW), FILL(0, 2, 65), MPROT(P(0), N(2), RO),
	     MREMAP(P(0), N(2), N(2), MREMAP_MAYMOVE | MREMAP_DONTUNMAP | MREMAP_FIXED,
		    P(10), R_REL)),

	/* ---- mremap: old range spanning several mappings (kernel decides) ----
	 * On 6.18 (since 6.17) a MREMAP_FIXED or DONTUNMAP move of the same
	 * size may span several mappings and even holes, which move along;
	 * growing, and moving while shrinking, still give EFAULT; a shrink in
	 * place is an munmap of the tail and works. */
	CASE("mremap span two vmas grow", NOFILE,
	     MAPA(0, 2, RW), MAPA(2, 2, RO), FILL(0, 2, 66),
	     MREMAP(P(0), N(4), N(6), MREMAP_MAYMOVE, NUL, R_PICK)),
	CASE("mremap span two vmas same size fixed", NOFILE,
	     MAPA(0, 2, RW), MAPA(2, 2, RO), FILL(0, 2, 67),
	     MREMAP(P(0), N(4), N(4), MREMAP_MAYMOVE | MREMAP_FIXED, P(20), R_REL)),
	CASE("mremap span two vmas shrink", NOFILE,
	     MAPA(0, 2, RW), MAPA(2, 2, RO), FILL(0, 2, 68),
	     MREMAP(P(0), N(4), N(3), 0, NUL, R_REL)),
	CASE("mremap span two vmas shrink fixed", NOFILE,
	     MAPA(0, 2, RW), MAPA(2, 2, RO), FILL(0, 2, 69),
	     MREMAP(P(0), N(4), N(3), MREMAP_MAYMOVE | MREMAP_FIXED, P(20), R_REL)),
	CASE("mremap span two vmas dontunmap", NOFILE,
	     MAPA(0, 2, RW), MAPA(2, 2, RO), FILL(0, 2, 70),
	     MREMAP(P(0), N(4), N(4), MREMAP_MAYMOVE | MREMAP_DONTUNMAP | MREMAP_FIXED,
		    P(20), R_REL)),
	CASE("mremap span hole fixed", NOFILE,
	     MAPA(0, 1, RW), MAPA(2, 1, RW), FILL(0, 1, 71),
	     MREMAP(P(0), N(3), N(3), MREMAP_MAYMOVE | MREMAP_FIXED, P(20), R_REL)),
	CASE("mremap span anon and file", N(2),
	     MAPA(0, 2, RW), MAPF(2, 2, RW, MAP_SHARED, FD_RW, 0), FILL(0, 4, 72),
	     MREMAP(P(0), N(4), N(4), MREMAP_MAYMOVE | MREMAP_FIXED, P(20), R_REL)),

	/* ---- msync ---- */
	CASE("msync unaligned", NOFILE,
	     MAPA(0, 2, RW), MSYNC(PB(0, 1), N(1), MS_ASYNC)),
	CASE("msync sync|async", NOFILE,
	     MAPA(0, 2, RW), MSYNC(P(0), N(1), MS_SYNC | MS_ASYNC)),
	CASE("msync bad flags", NOFILE,
	     MAPA(0, 2, RW), MSYNC(P(0), N(1), 0x100)),
	CASE("msync bad flags unmapped", NOFILE, MSYNC(P(0), N(1), 0x100)),
	CASE("msync hole", NOFILE,
	     MAPA(0, 1, RW), MAPA(2, 1, RW), MSYNC(P(0), N(3), MS_ASYNC)),
	CASE("msync unmapped", NOFILE, MSYNC(P(0), N(3), MS_SYNC)),
	CASE("msync len 0", NOFILE, MSYNC(P(0), N(0), MS_SYNC)),
	CASE("msync len 0 unaligned", NOFILE, MSYNC(PB(0, 1), N(0), MS_SYNC)),
	CASE("msync flags 0", NOFILE, MAPA(0, 2, RW), MSYNC(P(0), N(2), 0)),
	CASE("msync invalidate", NOFILE,
	     MAPA(0, 2, RW), MSYNC(P(0), N(2), MS_INVALIDATE)),
	CASE("msync invalidate locked", NOFILE,
	     MAPA(0, 2, RW), MLOCK(P(0), N(2)), MSYNC(P(0), N(2), MS_INVALIDATE),
	     MSYNC(P(0), N(2), MS_SYNC), MUNLOCK(P(0), N(2)),
	     MSYNC(P(0), N(2), MS_INVALIDATE)),
	/* the length rounds up to 0: success */
	CASE("msync len SIZE_MAX", NOFILE,
	     MAPA(0, 2, RW), MSYNC(P(0), NMAX, MS_ASYNC)),
	CASE("msync shared file", N(2),
	     MAPF(0, 2, RW, MAP_SHARED, FD_RW, 0), FILL(0, 2, 73),
	     MSYNC(P(0), N(2), MS_SYNC), MSYNC(P(0), N(2), MS_ASYNC | MS_INVALIDATE)),
	CASE("msync prot none", NOFILE, MAPA(0, 2, PN), MSYNC(P(0), N(2), MS_SYNC)),

	/* ---- madvise / posix_madvise ---- */
	CASE("madvise unknown advice len 0", NOFILE,
	     MADV(P(0), N(0), 12345)),
	CASE("madvise unknown advice unaligned", NOFILE,
	     MADV(PB(0, 1), N(1), 12345)),
	CASE("madvise len 0", NOFILE, MADV(P(0), N(0), MADV_DONTNEED)),
	CASE("madvise len 0 unaligned", NOFILE, MADV(PB(0, 1), N(0), MADV_NORMAL)),
	CASE("madvise unaligned", NOFILE,
	     MAPA(0, 2, RW), MADV(PB(0, 1), N(1), MADV_NORMAL)),
	CASE("madvise unmapped", NOFILE, MADV(P(0), N(2), MADV_NORMAL)),
	CASE("madvise hole, applied to mapped parts", NOFILE,
	     MAPA(0, 2, RW), MAPA(3, 2, RW), FILL(0, 5, 74),
	     MADV(P(0), N(5), MADV_DONTNEED)),
	CASE("madvise dontneed private anon zeroes", NOFILE,
	     MAPA(0, 4, RW), FILL(0, 4, 75), MADV(P(1), N(2), MADV_DONTNEED)),
	CASE("madvise dontneed shared anon keeps", NOFILE,
	     MAPS(0, 4, RW), FILL(0, 4, 76), MADV(P(1), N(2), MADV_DONTNEED)),
	CASE("madvise dontneed private file reverts", N(3),
	     MAPF(0, 3, RW, MAP_PRIVATE, FD_RW, 0), FILL(0, 3, 77),
	     MADV(P(0), N(2), MADV_DONTNEED)),
	CASE("madvise dontneed locked", NOFILE,
	     MAPA(0, 2, RW), MLOCK(P(0), N(2)), MADV(P(0), N(2), MADV_DONTNEED),
	     MADV(P(0), N(2), MADV_DONTNEED_LOCKED)),
	CASE("madvise dontneed len unaligned", NOFILE,
	     MAPA(0, 4, RW), FILL(0, 4, 78), MADV(P(0), NB(1, 1), MADV_DONTNEED)),
	CASE("madvise free private anon", NOFILE,
	     MAPA(0, 4, RW), FILL(0, 4, 79), MADV(P(0), N(4), MADV_FREE),
	     FILL(0, 4, 80)),
	CASE("madvise free file", N(2),
	     MAPF(0, 2, RW, MAP_PRIVATE, FD_RW, 0), MADV(P(0), N(2), MADV_FREE)),
	CASE("madvise free shared anon", NOFILE,
	     MAPS(0, 2, RW), MADV(P(0), N(2), MADV_FREE)),
	CASE("madvise remove private", NOFILE,
	     MAPA(0, 2, RW), MADV(P(0), N(2), MADV_REMOVE)),
	CASE("madvise remove shared anon", NOFILE,
	     MAPS(0, 3, RW), FILL(0, 3, 81), MADV(P(1), N(1), MADV_REMOVE)),
	CASE("madvise remove shared file", N(3),
	     MAPF(0, 3, RW, MAP_SHARED, FD_RW, 0), MADV(P(1), N(1), MADV_REMOVE)),
	CASE("madvise hints", NOFILE,
	     MAPA(0, 4, RW), FILL(0, 4, 82), MADV(P(0), N(4), MADV_NORMAL),
	     MADV(P(0), N(4), MADV_RANDOM), MADV(P(0), N(4), MADV_SEQUENTIAL),
	     MADV(P(0), N(4), MADV_WILLNEED), MADV(P(0), N(4), MADV_COLD),
	     MADV(P(0), N(4), MADV_PAGEOUT), MADV(P(0), N(4), MADV_HUGEPAGE),
	     MADV(P(0), N(4), MADV_NOHUGEPAGE), MADV(P(0), N(4), MADV_DONTDUMP),
	     MADV(P(0), N(4), MADV_DODUMP)),
	CASE("madvise fork advice", NOFILE,
	     MAPA(0, 4, RW), MADV(P(0), N(2), MADV_DONTFORK),
	     MADV(P(0), N(2), MADV_DOFORK), MADV(P(2), N(2), MADV_WIPEONFORK),
	     MADV(P(2), N(2), MADV_KEEPONFORK)),
	CASE("madvise wipeonfork file", N(2),
	     MAPF(0, 2, RW, MAP_PRIVATE, FD_RW, 0), MADV(P(0), N(2), MADV_WIPEONFORK)),
	CASE("madvise wipeonfork shared anon", NOFILE,
	     MAPS(0, 2, RW), MADV(P(0), N(2), MADV_WIPEONFORK)),
	CASE("madvise willneed file", N(2),
	     MAPF(0, 2, RO, MAP_SHARED, FD_RO, 0), MADV(P(0), N(2), MADV_WILLNEED)),
	CASE("madvise populate read", NOFILE,
	     MAPA(0, 4, RW), MADV(P(0), N(4), MADV_POPULATE_READ),
	     MINCORE(P(0), N(4), V_OK)),
	CASE("madvise populate write", NOFILE,
	     MAPA(0, 4, RW), MADV(P(0), N(4), MADV_POPULATE_WRITE),
	     MINCORE(P(0), N(4), V_OK)),
	/* EINVAL for a mapping that does not allow the access; EFAULT only when
	 * the fault itself fails (SIGBUS beyond EOF) */
	CASE("madvise populate write read-only", NOFILE,
	     MAPA(0, 2, RO), MADV(P(0), N(2), MADV_POPULATE_WRITE)),
	CASE("madvise populate read prot none", NOFILE,
	     MAPA(0, 2, PN), MADV(P(0), N(2), MADV_POPULATE_READ)),
	CASE("madvise populate hole", NOFILE,
	     MAPA(0, 1, RW), MADV(P(0), N(2), MADV_POPULATE_READ)),
	CASE("madvise populate beyond EOF", N(1),
	     MAPF(0, 2, RO, MAP_SHARED, FD_RO, 0), MADV(P(0), N(2), MADV_POPULATE_READ)),
	CASE("madvise collapse small", NOFILE,
	     MAPA(0, 4, RW), FILL(0, 4, 83), MADV(P(0), N(4), MADV_COLLAPSE)),
	CASE("madvise guard install/remove", NOFILE,
	     MAPA(0, 4, RW), FILL(0, 4, 84), MADV(P(1), N(1), MADV_GUARD_INSTALL),
	     TOUCH(0, 4), MADV(P(2), N(1), MADV_GUARD_INSTALL),
	     MADV(P(2), N(1), MADV_GUARD_REMOVE)),
	CASE("posix_madvise dontneed is a no-op", NOFILE,
	     MAPA(0, 2, RW), FILL(0, 2, 85), PMADV(P(0), N(2), POSIX_MADV_DONTNEED)),
	CASE("posix_madvise unknown", NOFILE,
	     MAPA(0, 2, RW), PMADV(P(0), N(2), 12345)),
	CASE("posix_madvise hole", NOFILE,
	     MAPA(0, 1, RW), PMADV(P(0), N(2), POSIX_MADV_WILLNEED)),
	CASE("posix_madvise unaligned", NOFILE,
	     MAPA(0, 2, RW), PMADV(PB(0, 1), N(1), POSIX_MADV_RANDOM),
	     PMADV(P(0), N(2), POSIX_MADV_SEQUENTIAL)),

	/* ---- mlock family ---- */
	CASE("mlock unaligned rounds", NOFILE,
	     MAPA(0, 3, RW), MLOCK(PB(1, 5), N(1)), MINCORE(P(0), N(3), V_OK),
	     MUNLOCK(PB(1, 5), N(1))),
	CASE("mlock hole", NOFILE,
	     MAPA(0, 1, RW), MAPA(2, 1, RW), MLOCK(P(0), N(3)),
	     MINCORE(P(0), N(1), V_OK)),
	CASE("mlock unmapped", NOFILE, MLOCK(P(0), N(2))),
	CASE("mlock len 0", NOFILE, MLOCK(P(0), N(0))),
	/* the length rounds up to 0: success, not EINVAL */
	CASE("mlock len SIZE_MAX", NOFILE, MAPA(0, 1, RW), MLOCK(P(0), NMAX)),
	/* ENOMEM: populating PROT_NONE pages fails (mlockall with ONFAULT works) */
	CASE("mlock prot none", NOFILE,
	     MAPA(0, 2, PN), MLOCK(P(0), N(2)), MINCORE(P(0), N(2), V_OK)),
	CASE("mlock populates", NOFILE,
	     MAPA(0, 4, RW), MLOCK(P(1), N(2)), MINCORE(P(0), N(4), V_OK)),
	CASE("mlock2 bad flags", NOFILE,
	     MAPA(0, 2, RW), MLOCK2(P(0), N(2), 0x10)),
	CASE("mlock2 onfault", NOFILE,
	     MAPA(0, 4, RW), MLOCK2(P(0), N(4), MLOCK_ONFAULT),
	     MINCORE(P(0), N(4), V_OK), TOUCH(1, 1), MINCORE(P(0), N(4), V_OK)),
	CASE("mlock2 flags 0 hole", NOFILE,
	     MAPA(0, 1, RW), MLOCK2(P(0), N(2), 0)),
	CASE("munlock unaligned", NOFILE,
	     MAPA(0, 2, RW), MLOCK(P(0), N(2)), MUNLOCK(PB(0, 9), N(1))),
	CASE("munlock hole", NOFILE,
	     MAPA(0, 1, RW), MUNLOCK(P(0), N(2))),
	CASE("munlock not locked", NOFILE, MAPA(0, 1, RW), MUNLOCK(P(0), N(1))),
	CASE("mlockall bad flags", NOFILE,
	     MLOCKALL(0), MLOCKALL(0x100), MLOCKALL(MCL_ONFAULT)),
	CASE("mlockall onfault, munlockall", NOFILE,
	     MAPA(0, 2, RW), MLOCKALL(MCL_CURRENT | MCL_ONFAULT),
	     MINCORE(P(0), N(2), V_OK), MUNLOCKALL()),
	CASE("munlockall", NOFILE, MUNLOCKALL()),

	/* ---- mincore ---- */
	CASE("mincore unaligned", NOFILE,
	     MAPA(0, 2, RW), MINCORE(PB(0, 1), N(1), V_OK)),
	CASE("mincore unaligned bad vec", NOFILE,
	     MAPA(0, 2, RW), MINCORE(PB(0, 1), N(1), V_NULL)),
	CASE("mincore hole", NOFILE,
	     MAPA(0, 1, RW), MAPA(2, 1, RW), MINCORE(P(0), N(3), V_OK)),
	CASE("mincore hole bad vec", NOFILE,
	     MAPA(0, 1, RW), MINCORE(P(1), N(1), V_NULL)),
	CASE("mincore unmapped", NOFILE, MINCORE(P(0), N(2), V_OK)),
	CASE("mincore vec NULL", NOFILE,
	     MAPA(0, 2, RW), MINCORE(P(0), N(2), V_NULL)),
	CASE("mincore vec read-only", NOFILE,
	     MAPA(0, 2, RW), MINCORE(P(0), N(2), V_RO)),
	CASE("mincore residency after touching", NOFILE,
	     MAPA(0, 6, RW), FILL(0, 1, 86), TOUCH(2, 1), FILL(5, 1, 87),
	     MINCORE(P(0), N(6), V_OK)),
	CASE("mincore after dontneed", NOFILE,
	     MAPA(0, 4, RW), FILL(0, 4, 88), MADV(P(1), N(2), MADV_DONTNEED),
	     MINCORE(P(0), N(4), V_OK)),
	CASE("mincore len 0", NOFILE, MINCORE(P(0), N(0), V_OK)),
	CASE("mincore len unaligned", NOFILE,
	     MAPA(0, 3, RW), FILL(0, 3, 89), MINCORE(P(0), NB(1, 1), V_OK)),
	CASE("mincore len SIZE_MAX", NOFILE,
	     MAPA(0, 1, RW), MINCORE(P(0), NMAX, V_OK)),
	CASE("mincore prot none", NOFILE,
	     MAPA(0, 2, PN), MINCORE(P(0), N(2), V_OK)),
	CASE("mincore file page cache", N(2),
	     MAPF(0, 2, RO, MAP_SHARED, FD_RO, 0), MINCORE(P(0), N(2), V_OK)),
	CASE("mincore shared anon", NOFILE,
	     MAPS(0, 3, RW), FILL(1, 1, 90), MINCORE(P(0), N(3), V_OK)),
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* ---- the two backends ------------------------------------------------------ */

struct be {
	const char *name;
	void *(*mmap)(void *, size_t, int, int, int, off_t);
	int (*munmap)(void *, size_t);
	void *(*mremap)(void *, size_t, size_t, int, void *);
	int (*mprotect)(void *, size_t, int);
	int (*pkey_mprotect)(void *, size_t, int, int);
	int (*msync)(void *, size_t, int);
	int (*madvise)(void *, size_t, int);
	int (*posix_madvise)(void *, size_t, int);
	int (*mlock)(const void *, size_t);
	int (*mlock2)(const void *, size_t, unsigned);
	int (*munlock)(const void *, size_t);
	int (*mlockall)(int);
	int (*munlockall)(void);
	int (*mincore)(void *, size_t, unsigned char *);
};

/* libc: every call below goes through the PLT, so the preloaded shim sees it. */
static void *l_mmap(void *a, size_t l, int p, int f, int fd, off_t o)
{ return mmap(a, l, p, f, fd, o); }
static int l_munmap(void *a, size_t l) { return munmap(a, l); }
static void *l_mremap(void *a, size_t ol, size_t nl, int f, void *na)
{ return mremap(a, ol, nl, f, na); }
static int l_mprotect(void *a, size_t l, int p) { return mprotect(a, l, p); }
static int l_pkey_mprotect(void *a, size_t l, int p, int k)
{ return pkey_mprotect(a, l, p, k); }
static int l_msync(void *a, size_t l, int f) { return msync(a, l, f); }
static int l_madvise(void *a, size_t l, int v) { return madvise(a, l, v); }
static int l_posix_madvise(void *a, size_t l, int v)
{ return posix_madvise(a, l, v); }
static int l_mlock(const void *a, size_t l) { return mlock(a, l); }
static int l_mlock2(const void *a, size_t l, unsigned f) { return mlock2(a, l, f); }
static int l_munlock(const void *a, size_t l) { return munlock(a, l); }
static int l_mlockall(int f) { return mlockall(f); }
static int l_munlockall(void) { return munlockall(); }
static int l_mincore(void *a, size_t l, unsigned char *v) { return mincore(a, l, v); }

/* kernel: raw system calls, never seen by the shim. */
static void *k_mmap(void *a, size_t l, int p, int f, int fd, off_t o)
{ return (void *)syscall(SYS_mmap, a, l, p, f, fd, o); }
static int k_munmap(void *a, size_t l) { return (int)syscall(SYS_munmap, a, l); }
static void *k_mremap(void *a, size_t ol, size_t nl, int f, void *na)
{ return (void *)syscall(SYS_mremap, a, ol, nl, f, na); }
static int k_mprotect(void *a, size_t l, int p)
{ return (int)syscall(SYS_mprotect, a, l, p); }
static int k_pkey_mprotect(void *a, size_t l, int p, int k)
{ return (int)syscall(SYS_pkey_mprotect, a, l, p, k); }
static int k_msync(void *a, size_t l, int f) { return (int)syscall(SYS_msync, a, l, f); }
static int k_madvise(void *a, size_t l, int v)
{ return (int)syscall(SYS_madvise, a, l, v); }
/* glibc's posix_madvise: DONTNEED is ignored (it would destroy data, which
 * POSIX does not allow); other advice is madvise, returning the error number
 * instead of setting errno. */
static int k_posix_madvise(void *a, size_t l, int v)
{
	if (v == POSIX_MADV_DONTNEED)
		return 0;
	int saved = errno;
	long r = syscall(SYS_madvise, a, l, v);
	int e = errno;
	errno = saved;
	return r < 0 ? e : 0;
}
static int k_mlock(const void *a, size_t l) { return (int)syscall(SYS_mlock, a, l); }
static int k_mlock2(const void *a, size_t l, unsigned f)
{ return (int)syscall(SYS_mlock2, a, l, f); }
static int k_munlock(const void *a, size_t l) { return (int)syscall(SYS_munlock, a, l); }
static int k_mlockall(int f) { return (int)syscall(SYS_mlockall, f); }
static int k_munlockall(void) { return (int)syscall(SYS_munlockall); }
static int k_mincore(void *a, size_t l, unsigned char *v)
{ return (int)syscall(SYS_mincore, a, l, v); }

static const struct be be_libc = {
	"libc", l_mmap, l_munmap, l_mremap, l_mprotect, l_pkey_mprotect, l_msync,
	l_madvise, l_posix_madvise, l_mlock, l_mlock2, l_munlock, l_mlockall,
	l_munlockall, l_mincore,
};
static const struct be be_kernel = {
	"kernel", k_mmap, k_munmap, k_mremap, k_mprotect, k_pkey_mprotect, k_msync,
	k_madvise, k_posix_madvise, k_mlock, k_mlock2, k_munlock, k_mlockall,
	k_munlockall, k_mincore,
};

/* ---- per-run context and results -------------------------------------------- */

struct ctx {
	const struct be *be;
	uintptr_t resv;        /* reservation: guard page + NPAGES + guard page */
	uintptr_t base;        /* resv + one page */
	unsigned char *ro_page; /* a PROT_READ page for mincore's vec */
	int fd[FD_COUNT];
	int fd_keep;           /* the case file, never closed by a case */
	int pipe_w;
	char path[256];
};

struct rec {
	long ret;
	int err;
	char desc[RECDESC];
};

struct pst {
	int mapped;   /* 1, 0, or -errno from msync */
	int rd, wr;   /* 0 or the signal */
	uint64_t sum; /* content checksum if readable */
};

struct run {
	struct rec rec[MAXOPS];
	int nrec;
	struct pst pg[NPAGES];
	long fsize;
	uint64_t fsum;
};

/* ---- fault probes ---------------------------------------------------------- */

static sigjmp_buf probe_env;
static volatile sig_atomic_t probe_on;

static void on_fault(int sig)
{
	if (probe_on) {
		probe_on = 0;
		siglongjmp(probe_env, sig);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

#define FNV0 0xcbf29ce484222325ULL
#define FNVP 0x100000001b3ULL

/* Checksum n bytes at p; returns 0, or the signal that reading raised. */
static int probe_read(const volatile unsigned char *p, size_t n, uint64_t *sum)
{
	volatile uint64_t h = FNV0;
	int sig = sigsetjmp(probe_env, 1);
	if (sig)
		return sig;
	probe_on = 1;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * FNVP;
	probe_on = 0;
	*sum = h;
	return 0;
}

/* Writes v to *p; returns 0 or the signal. */
static int probe_write(volatile unsigned char *p, unsigned char v)
{
	int sig = sigsetjmp(probe_env, 1);
	if (sig)
		return sig;
	probe_on = 1;
	*p = v;
	probe_on = 0;
	return 0;
}

/* The pattern a FILL writes: a function of the offset from the scratch base
 * (so it is the same in both runs) and the seed. */
static unsigned char pat(long rel, long seed)
{
	return (unsigned char)(seed * 31 + rel * 7 + (rel >> 12) * 13 + 1);
}

/* Fills [p, p+n); returns 0 or (signal << 16 | page index) of the fault. */
static int fill(volatile unsigned char *p, size_t n, long rel, long seed)
{
	volatile size_t i = 0;
	int sig = sigsetjmp(probe_env, 1);
	if (sig)
		return sig << 16 | (int)(i / PS);
	probe_on = 1;
	for (i = 0; i < n; i++)
		p[i] = pat(rel + (long)i, seed);
	probe_on = 0;
	return 0;
}

/* Reads one byte per page; returns 0 or (signal << 16 | page index). */
static int touch(const volatile unsigned char *p, size_t n)
{
	volatile size_t i = 0;
	volatile unsigned char sink = 0;
	int sig = sigsetjmp(probe_env, 1);
	if (sig)
		return sig << 16 | (int)(i / PS);
	probe_on = 1;
	for (i = 0; i < n; i += PS)
		sink ^= p[i];
	probe_on = 0;
	(void)sink;
	return 0;
}

static struct pst probe_page(const struct ctx *c, uintptr_t a)
{
	struct pst s = { 0, 0, 0, 0 };
	int saved = errno;
	if (c->be->msync((void *)a, PS, MS_ASYNC) == 0)
		s.mapped = 1;
	else
		s.mapped = errno == ENOMEM ? 0 : -errno;
	errno = saved;
	volatile unsigned char *p = (volatile unsigned char *)a;
	s.rd = probe_read(p, PS, &s.sum);
	/* Write back what is there so the probe changes nothing (a private file
	 * page gets its copy, which reads the same). */
	s.wr = probe_write(p, s.rd ? 0 : p[0]);
	if (s.rd)
		s.sum = 0;
	return s;
}

static char pst_char(const struct pst *s)
{
	if (s->mapped < 0)
		return '?';
	if (!s->mapped)
		return s->rd ? '.' : '!'; /* '!': "unmapped" but readable */
	if (s->rd == SIGBUS)
		return 'B';
	if (s->rd)
		return 'n';
	return s->wr ? 'r' : 'w';
}

/* ---- formatting ------------------------------------------------------------ */

static const char *errname(int e)
{
	const char *s = e ? strerrorname_np(e) : "0";
	return s ? s : "E?";
}

static const char *signame(int s)
{
	return s == SIGSEGV ? "SIGSEGV" : s == SIGBUS ? "SIGBUS" : s ? "SIG?" : "ok";
}

static void catf(char *buf, size_t sz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void catf(char *buf, size_t sz, const char *fmt, ...)
{
	size_t n = strlen(buf);
	if (n >= sz)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + n, sz - n, fmt, ap);
	va_end(ap);
}

static void fmt_loc(char *b, size_t sz, struct loc l)
{
	if (l.k == L_REL && l.by)
		catf(b, sz, "+%ldp+%ld", l.pg, l.by);
	else if (l.k == L_REL)
		catf(b, sz, "+%ldp", l.pg);
	else
		catf(b, sz, "%#lx", (unsigned long)(l.by + l.pg * (long)PS));
}

static void fmt_len(char *b, size_t sz, struct len l)
{
	if (l.max)
		catf(b, sz, "SIZE_MAX");
	else if (l.pg && l.by)
		catf(b, sz, "%ldp+%ld", l.pg, l.by);
	else if (l.by)
		catf(b, sz, "%#lx", (unsigned long)l.by);
	else
		catf(b, sz, "%ldp", l.pg);
}

static void fmt_op(char *b, size_t sz, const struct op *o)
{
	b[0] = '\0';
	catf(b, sz, "%s(", opname[o->k]);
	switch (o->k) {
	case O_MUNLOCKALL:
		break;
	case O_MLOCKALL:
		catf(b, sz, "%#lx", o->x);
		break;
	case O_CLOSE:
		catf(b, sz, "fd=%s", fdname[o->fd]);
		break;
	case O_PWRITE:
		catf(b, sz, "fd=%s, off=%ld, len=%ld", fdname[o->fd], o->off.by, o->l.by);
		break;
	case O_FTRUNC:
		catf(b, sz, "fd=%s, ", fdname[o->fd]);
		fmt_len(b, sz, o->off);
		break;
	default:
		fmt_loc(b, sz, o->a);
		catf(b, sz, ", ");
		fmt_len(b, sz, o->l);
		if (o->k == O_MREMAP) {
			catf(b, sz, ", ");
			fmt_len(b, sz, o->l2);
			catf(b, sz, ", %#lx, ", o->x);
			fmt_loc(b, sz, o->b);
		} else if (o->k == O_MMAP) {
			catf(b, sz, ", prot=%#lx, flags=%#lx, fd=%s, off=", o->x, o->y,
			     fdname[o->fd]);
			fmt_len(b, sz, o->off);
		} else if (o->k == O_PKEY) {
			catf(b, sz, ", %#lx, key=%ld", o->x, o->y);
		} else if (o->k == O_MINCORE) {
			catf(b, sz, ", vec=%s", o->x == V_OK ? "ok" : o->x == V_NULL ? "NULL" : "ro");
		} else if (o->k != O_MUNMAP && o->k != O_MLOCK && o->k != O_MUNLOCK &&
			   o->k != O_TOUCH) {
			catf(b, sz, ", %#lx", o->x);
		}
	}
	catf(b, sz, ")");
}

static void fmt_rec(char *b, size_t sz, const struct rec *r)
{
	b[0] = '\0';
	catf(b, sz, "ret=%ld", r->ret);
	if (r->err)
		catf(b, sz, " errno=%s", errname(r->err));
	if (r->desc[0])
		catf(b, sz, " %s", r->desc);
}

/* ---- running one case ------------------------------------------------------- */

static uintptr_t loc_addr(const struct ctx *c, struct loc l)
{
	if (l.k == L_REL)
		return c->base + (uintptr_t)(l.pg * (long)PS + l.by);
	return (uintptr_t)(l.by + l.pg * (long)PS);
}

static size_t len_val(struct len l)
{
	return l.max ? SIZE_MAX - (size_t)l.by : (size_t)(l.pg * (long)PS + l.by);
}

static int in_resv(const struct ctx *c, uintptr_t a)
{
	return a >= c->resv && a < c->resv + (NPAGES + 2) * PS;
}

/* A region the kernel placed: describe its content, then give it back. */
static void pick_region(const struct ctx *c, struct rec *r, uintptr_t p,
			size_t len, uintptr_t ref, int lowflag)
{
	size_t n = (len + PS - 1) / PS;
	if (p == ref) {
		catf(r->desc, RECDESC, "at-ref");
		return;
	}
	uint64_t h = FNV0;
	for (size_t i = 0; i < n && i < 4096; i++) {
		struct pst s = probe_page(c, p + i * PS);
		h = (h ^ (uint64_t)(s.mapped * 7 + s.rd * 3 + s.wr)) * FNVP;
		h = (h ^ s.sum) * FNVP;
	}
	catf(r->desc, RECDESC, "elsewhere pages=%zu content=%016llx", n,
	     (unsigned long long)h);
	if (lowflag)
		catf(r->desc, RECDESC, " below4G=%d", p + len <= (1UL << 32));
	c->be->munmap((void *)p, n * PS);
}

static void addr_result(const struct ctx *c, const struct op *o, struct rec *r,
			void *ret, uintptr_t ref, size_t len)
{
	if (ret == MAP_FAILED) {
		r->ret = -1;
		r->err = errno;
		return;
	}
	r->ret = 0;
	uintptr_t p = (uintptr_t)ret;
	if (o->res == R_PICK) {
		pick_region(c, r, p, len, ref, o->k == O_MMAP && (o->y & MAP_32BIT));
	} else if (in_resv(c, p)) {
		catf(r->desc, RECDESC, "at %+ldp%+ld", ((long)(p - c->base)) / (long)PS,
		     ((long)(p - c->base)) % (long)PS);
	} else {
		pick_region(c, r, p, len, 1, 0);
	}
}

static void int_result(struct rec *r, int ret)
{
	r->ret = ret;
	r->err = ret == -1 ? errno : 0;
}

static void run_op(struct ctx *c, const struct op *o, struct rec *r)
{
	static unsigned char vec[8192];
	const struct be *be = c->be;
	void *a = (void *)loc_addr(c, o->a);
	size_t l = len_val(o->l);
	memset(r, 0, sizeof *r);
	errno = 0;
	switch (o->k) {
	case O_MMAP: {
		int fd = o->fd == FD_NONE ? -1 : c->fd[o->fd];
		off_t off = (off_t)(o->off.pg * (long)PS + o->off.by);
		void *p = be->mmap(a, l, (int)o->x, (int)o->y, fd, off);
		addr_result(c, o, r, p, (uintptr_t)a, l);
		break;
	}
	case O_MREMAP: {
		size_t nl = len_val(o->l2);
		void *p = be->mremap(a, l, nl, (int)o->x, (void *)loc_addr(c, o->b));
		addr_result(c, o, r, p, (uintptr_t)a, nl);
		break;
	}
	case O_MUNMAP:
		int_result(r, be->munmap(a, l));
		break;
	case O_MPROTECT:
		int_result(r, be->mprotect(a, l, (int)o->x));
		break;
	case O_PKEY:
		int_result(r, be->pkey_mprotect(a, l, (int)o->x, (int)o->y));
		break;
	case O_MSYNC:
		int_result(r, be->msync(a, l, (int)o->x));
		break;
	case O_MADVISE:
		int_result(r, be->madvise(a, l, (int)o->x));
		break;
	case O_PMADVISE:
		/* returns the error number; errno must be left alone */
		r->ret = be->posix_madvise(a, l, (int)o->x);
		r->err = errno;
		break;
	case O_MLOCK:
		int_result(r, be->mlock(a, l));
		break;
	case O_MLOCK2:
		int_result(r, be->mlock2(a, l, (unsigned)o->x));
		break;
	case O_MUNLOCK:
		int_result(r, be->munlock(a, l));
		break;
	case O_MLOCKALL:
		int_result(r, be->mlockall((int)o->x));
		break;
	case O_MUNLOCKALL:
		int_result(r, be->munlockall());
		break;
	case O_MINCORE: {
		unsigned char *v = o->x == V_OK ? vec : o->x == V_NULL ? NULL : c->ro_page;
		memset(vec, 0xaa, sizeof vec);
		int ret = be->mincore(a, l, v);
		int_result(r, ret);
		if (ret == 0 && v == vec) {
			size_t n = l >= sizeof vec * PS ? sizeof vec : (l + PS - 1) / PS;
			catf(r->desc, RECDESC, "vec=");
			for (size_t i = 0; i < n && i < 64; i++)
				catf(r->desc, RECDESC, "%x", vec[i] & 0xf);
		}
		break;
	}
	case O_FILL: {
		int f = fill((volatile unsigned char *)a, l, (long)((uintptr_t)a - c->base),
			     o->x);
		r->ret = f ? -1 : 0;
		if (f)
			catf(r->desc, RECDESC, "%s at page %d", signame(f >> 16), f & 0xffff);
		break;
	}
	case O_TOUCH: {
		int f = touch((volatile unsigned char *)a, l);
		r->ret = f ? -1 : 0;
		if (f)
			catf(r->desc, RECDESC, "%s at page %d", signame(f >> 16), f & 0xffff);
		break;
	}
	case O_CLOSE:
		int_result(r, close(c->fd[o->fd]));
		c->fd[o->fd] = -1;
		break;
	case O_PWRITE: {
		static unsigned char buf[65536];
		size_t n = (size_t)o->l.by;
		for (size_t i = 0; i < n; i++)
			buf[i] = (unsigned char)(o->x * 31 + (o->off.by + (long)i) * 5);
		int_result(r, (int)pwrite(c->fd[o->fd], buf, n, o->off.by));
		break;
	}
	case O_FTRUNC:
		int_result(r, ftruncate(c->fd[o->fd], (off_t)len_val(o->off)));
		break;
	}
}

static void die(const char *what)
{
	fprintf(stdout, "fatal: %s: %s\n", what, strerror(errno));
	fflush(stdout);
	exit(2);
}

static void reserve(struct ctx *c)
{
	void *p = c->be->mmap((void *)c->resv, (NPAGES + 2) * PS, PROT_NONE,
			      PA | MAP_FIXED | MAP_NORESERVE, -1, 0);
	if (p != (void *)c->resv)
		die("re-reserving the scratch range");
}

static void open_files(struct ctx *c, const struct tcase *t)
{
	static unsigned char buf[65536];
	size_t size = len_val(t->fsize);
	int fd = open(c->path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		die("creating the case file");
	for (size_t off = 0; off < size; off += sizeof buf) {
		size_t n = size - off < sizeof buf ? size - off : sizeof buf;
		for (size_t i = 0; i < n; i++)
			buf[i] = (unsigned char)(0x5a + (off + i) * 3 + ((off + i) >> 12) * 17);
		if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n)
			die("writing the case file");
	}
	c->fd_keep = fd;
	c->fd[FD_NONE] = -1;
	c->fd[FD_BAD] = 999;
	close(999);
	c->fd[FD_RW] = open(c->path, O_RDWR);
	c->fd[FD_RO] = open(c->path, O_RDONLY);
	c->fd[FD_WO] = open(c->path, O_WRONLY);
	c->fd[FD_RW2] = open(c->path, O_RDWR);
	c->fd[FD_APPEND] = open(c->path, O_RDWR | O_APPEND);
	c->fd[FD_DIR] = open("/", O_RDONLY | O_DIRECTORY);
	c->fd[FD_DEVZERO] = open("/dev/zero", O_RDWR);
	int pp[2];
	if (pipe(pp) != 0)
		die("pipe");
	c->fd[FD_PIPE] = pp[0];
	c->pipe_w = pp[1];
	for (int i = FD_RW; i < FD_COUNT; i++)
		if (c->fd[i] < 0)
			die("opening the case descriptors");
	unlink(c->path); /* the descriptors keep it; nothing is left behind */
}

static void close_files(struct ctx *c, struct run *out)
{
	static unsigned char buf[65536];
	struct stat st;
	if (fstat(c->fd_keep, &st) != 0)
		die("fstat");
	out->fsize = (long)st.st_size;
	uint64_t h = FNV0;
	for (off_t off = 0; off < st.st_size; off += (off_t)sizeof buf) {
		ssize_t n = pread(c->fd_keep, buf, sizeof buf, off);
		if (n <= 0)
			die("pread");
		for (ssize_t i = 0; i < n; i++)
			h = (h ^ buf[i]) * FNVP;
	}
	out->fsum = h;
	for (int i = FD_RW; i < FD_COUNT; i++)
		if (c->fd[i] >= 0)
			close(c->fd[i]);
	close(c->pipe_w);
	close(c->fd_keep);
}

static void run_case(struct ctx *c, const struct tcase *t, struct run *out)
{
	memset(out, 0, sizeof *out);
	open_files(c, t);
	if (c->be->munmap((void *)c->base, NPAGES * PS) != 0)
		die("freeing the scratch range");
	for (int i = 0; i < MAXOPS && t->ops[i].k != O_END; i++) {
		run_op(c, &t->ops[i], &out->rec[i]);
		out->nrec = i + 1;
	}
	for (int i = 0; i < NPAGES; i++)
		out->pg[i] = probe_page(c, c->base + (uintptr_t)i * PS);
	close_files(c, out);
	reserve(c);
}

/* ---- comparing ---------------------------------------------------------------- */

static int verbose;

static void page_map(const struct run *r, char *b)
{
	for (int i = 0; i < NPAGES; i++)
		b[i] = pst_char(&r->pg[i]);
	b[NPAGES] = '\0';
}

static void fmt_pst(char *b, size_t sz, const struct pst *s)
{
	b[0] = '\0';
	if (s->mapped < 0)
		catf(b, sz, "msync=%s", errname(-s->mapped));
	else
		catf(b, sz, "%s", s->mapped ? "mapped" : "unmapped");
	catf(b, sz, " read=%s write=%s", signame(s->rd), signame(s->wr));
	if (!s->rd)
		catf(b, sz, " sum=%016llx", (unsigned long long)s->sum);
}

static int compare(const struct tcase *t, const struct run *a, const struct run *k)
{
	int bad = 0;
	char x[512], y[512];
	for (int i = 0; i < k->nrec; i++) {
		const struct rec *ra = &a->rec[i], *rk = &k->rec[i];
		if (ra->ret == rk->ret && ra->err == rk->err &&
		    strcmp(ra->desc, rk->desc) == 0)
			continue;
		fmt_op(x, sizeof x, &t->ops[i]);
		printf("FAIL %s: op %d %s\n", t->name, i + 1, x);
		fmt_rec(x, sizeof x, ra);
		fmt_rec(y, sizeof y, rk);
		printf("     libc: %s vs kernel: %s\n", x, y);
		bad++;
	}
	int shown = 0, diff = 0;
	for (int i = 0; i < NPAGES; i++) {
		const struct pst *pa = &a->pg[i], *pk = &k->pg[i];
		if (pa->mapped == pk->mapped && pa->rd == pk->rd && pa->wr == pk->wr &&
		    pa->sum == pk->sum)
			continue;
		diff++;
		if (shown++ >= 8)
			continue;
		fmt_pst(x, sizeof x, pa);
		fmt_pst(y, sizeof y, pk);
		printf("FAIL %s: page +%d: libc: %s vs kernel: %s\n", t->name, i, x, y);
	}
	if (diff) {
		page_map(a, x);
		page_map(k, y);
		printf("     %d page(s) differ; map libc:   %s\n", diff, x);
		printf("                        map kernel: %s\n", y);
		bad++;
	}
	if (a->fsize != k->fsize || a->fsum != k->fsum) {
		printf("FAIL %s: file: libc: size=%ld sum=%016llx vs kernel: size=%ld "
		       "sum=%016llx\n", t->name, a->fsize, (unsigned long long)a->fsum,
		       k->fsize, (unsigned long long)k->fsum);
		bad++;
	}
	return bad;
}

static void dump(const struct tcase *t, const struct run *k)
{
	char x[512];
	printf("---- %s\n", t->name);
	for (int i = 0; i < k->nrec; i++) {
		fmt_op(x, sizeof x, &t->ops[i]);
		printf("  %-70s ", x);
		fmt_rec(x, sizeof x, &k->rec[i]);
		printf("%s\n", x);
	}
	page_map(k, x);
	x[24] = '\0'; /* cases use the low pages; the rest is in the summary */
	printf("  pages 0-23: %s  (w=rw r=ro n=no access B=SIGBUS .=unmapped)\n", x);
}

static void setup_ctx(struct ctx *c, const struct be *be, unsigned char *ro)
{
	memset(c, 0, sizeof *c);
	c->be = be;
	void *p = be->mmap(NULL, (NPAGES + 2) * PS, PROT_NONE,
			   PA | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		die("reserving scratch");
	c->resv = (uintptr_t)p;
	c->base = c->resv + PS;
	c->ro_page = ro;
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = "/tmp";
	snprintf(c->path, sizeof c->path, "%s/mman_oracle.%d.%s", tmp, (int)getpid(),
		 be->name);
}

int main(int argc, char **argv)
{
	static char outbuf[1 << 16];
	const char *only = NULL;
	setvbuf(stdout, outbuf, _IOLBF, sizeof outbuf);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0)
			verbose = 1;
		else if (strcmp(argv[i], "-k") == 0 && i + 1 < argc)
			only = argv[++i];
		else {
			fprintf(stderr, "usage: %s [-v] [-k substring]\n", argv[0]);
			return 2;
		}
	}
	PS = (size_t)sysconf(_SC_PAGESIZE);

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_fault;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);

	/* Read-only vectors for mincore: one from each side. */
	unsigned char *ro_l = mmap(NULL, PS, PROT_READ, PA, -1, 0);
	unsigned char *ro_k = k_mmap(NULL, PS, PROT_READ, PA, -1, 0);
	if (ro_l == MAP_FAILED || ro_k == MAP_FAILED)
		die("mapping read-only vectors");

	static struct ctx cl, ck;
	setup_ctx(&cl, &be_libc, ro_l);
	setup_ctx(&ck, &be_kernel, ro_k);

	static struct run ra, rk;
	int passed = 0, failed = 0;
	for (size_t i = 0; i < NCASES; i++) {
		const struct tcase *t = &cases[i];
		if (only && !strstr(t->name, only))
			continue;
		run_case(&cl, t, &ra);
		run_case(&ck, t, &rk);
		if (verbose)
			dump(t, &rk);
		if (compare(t, &ra, &rk)) {
			failed++;
		} else {
			passed++;
			if (!verbose)
				printf("ok   %s\n", t->name);
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	fflush(stdout);
	return failed ? 1 : 0;
}
