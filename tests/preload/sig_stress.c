/*
 * sig_stress DIR SECONDS: signal handlers that use the file system and
 * memory calls while the interrupted threads are inside those calls.
 *
 * Three workers loop on their own file in DIR (open, pwrite/pread of 16
 * blocks, read/write at the offset, a MAP_SHARED mapping written and read
 * back, anonymous mmap/munmap, close).  A signaller thread sends SIG_RT
 * to the workers with tgkill as fast as it can (a real-time signal, so
 * none may be merged: each worker's handler must run exactly as often as
 * a signal was queued for it), and an interval timer sends SIGALRM to
 * the process.  The handler (both signals, each blocked
 * in it) appends a numbered 32-byte record to DIR/log (O_APPEND),
 * writes, reads and maps its thread's file DIR/h<thread>, and maps and
 * unmaps anonymous memory.  At the end: every handler's record is in the
 * log exactly once, every file holds what was written last, and nothing
 * any thread read back differed.  Prints a short summary; exit 0 when
 * everything matched, 1 otherwise.  Natively on tmpfs this holds by the
 * kernel; under the shim it needs the deferral of signals raised inside
 * shim critical sections (option signal_defer=0 deadlocks or corrupts).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define NW 3
#define NBLK 16
#define BLK 4096
#define REC 32
#define MAXH (1u << 22)
#define SIG_RT (SIGRTMIN + 1)

static const char *dir;
static int logfd;
static atomic_int stop, stop_sig, bad;
static unsigned long sent[NW];
static atomic_ulong got_rt[NW + 1];
static atomic_uint hcount;
static atomic_int ready;
static pid_t wtid[NW];
static unsigned long witer[NW];
static __thread int tidx = NW;

static void fail(const char *what, long a, long b)
{
	if (!atomic_exchange(&bad, 1)) {
		char m[160];
		int n = snprintf(m, sizeof(m), "MISMATCH %s: %ld vs %ld (thread %d)\n", what, a, b, tidx);
		if (write(2, m, (size_t)n) < 0)
			_exit(3);
	}
}

static void handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	int e = errno;
	unsigned k = atomic_fetch_add(&hcount, 1);
	if (sig == SIG_RT)
		atomic_fetch_add(&got_rt[tidx], 1);
	char rec[REC + 1];
	snprintf(rec, sizeof(rec), "H%010u t%02d s%02d ........\n", k, tidx, sig);
	if (write(logfd, rec, REC) != REC)
		fail("handler log write", errno, 0);
	char path[256];
	snprintf(path, sizeof(path), "%s/h%d", dir, tidx);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fail("handler open", errno, 0);
		errno = e;
		return;
	}
	uint64_t v = k, r = 0;
	if (pwrite(fd, &v, 8, 0) != 8 || pread(fd, &r, 8, 0) != 8 || r != v)
		fail("handler pwrite/pread", (long)r, (long)v);
	uint64_t *p = mmap(NULL, BLK, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		fail("handler mmap", errno, 0);
	} else {
		if (p[0] != v)
			fail("handler mapping", (long)p[0], (long)v);
		p[1] = v * 3;
		munmap(p, BLK);
	}
	if (pread(fd, &r, 8, 8) != 8 || r != v * 3)
		fail("handler write through mapping", (long)r, (long)(v * 3));
	if (close(fd))
		fail("handler close", errno, 0);
	char *a = mmap(NULL, 2 * BLK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED) {
		fail("handler anonymous mmap", errno, 0);
	} else {
		a[0] = 1;
		a[BLK] = 2;
		if (munmap(a, 2 * BLK))
			fail("handler munmap", errno, 0);
	}
	errno = e;
}

static void pattern(unsigned char *b, int w, int blk, unsigned long it)
{
	for (int i = 0; i < BLK; i += 8) {
		uint64_t x = ((uint64_t)w << 56) ^ ((uint64_t)blk << 40) ^ (it << 8) ^ (uint64_t)i;
		memcpy(b + i, &x, 8);
	}
}

static void *worker(void *arg)
{
	int w = (int)(intptr_t)arg;
	tidx = w;
	wtid[w] = (pid_t)syscall(SYS_gettid);
	atomic_fetch_add(&ready, 1);
	char path[256];
	snprintf(path, sizeof(path), "%s/w%d", dir, w);
	static __thread unsigned char buf[BLK], got[BLK];
	unsigned long it;
	for (it = 1; !atomic_load(&stop) && !atomic_load(&bad); it++) {
		int fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			fail("worker open", errno, 0);
			break;
		}
		for (int b = 0; b < NBLK; b++) {
			pattern(buf, w, b, it);
			if (pwrite(fd, buf, BLK, (off_t)b * BLK) != BLK)
				fail("worker pwrite", errno, b);
		}
		int b = (int)(it % NBLK);
		pattern(buf, w, b, it);
		if (pread(fd, got, BLK, (off_t)b * BLK) != BLK || memcmp(got, buf, BLK))
			fail("worker pread", b, (long)it);
		if (lseek(fd, (off_t)b * BLK, SEEK_SET) != (off_t)b * BLK ||
		    read(fd, got, BLK) != BLK || memcmp(got, buf, BLK))
			fail("worker read", b, (long)it);
		if (lseek(fd, 0, SEEK_CUR) != (off_t)(b + 1) * BLK)
			fail("worker offset", (long)lseek(fd, 0, SEEK_CUR), (long)(b + 1) * BLK);
		unsigned char *m = mmap(NULL, NBLK * BLK, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED) {
			fail("worker mmap", errno, 0);
		} else {
			if (memcmp(m + b * BLK, buf, BLK))
				fail("worker mapping", b, (long)it);
			/* rewrite block b through the mapping: same bytes */
			memcpy(m + b * BLK, buf, BLK);
			if (munmap(m, NBLK * BLK))
				fail("worker munmap", errno, 0);
		}
		void *a = mmap(NULL, (size_t)(1 + it % 7) * BLK, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (a == MAP_FAILED)
			fail("worker anonymous mmap", errno, 0);
		else if (munmap(a, (size_t)(1 + it % 7) * BLK))
			fail("worker anonymous munmap", errno, 0);
		if (close(fd))
			fail("worker close", errno, 0);
	}
	witer[w] = it - 1;
	/* the signaller has stopped: one more system call delivers what is
	 * still queued for this thread before it exits */
	syscall(SYS_getppid);
	return NULL;
}

static void *signaller(void *arg)
{
	(void)arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pid_t pid = getpid();
	unsigned long n = 0;
	while (!atomic_load(&stop_sig)) {
		for (int w = 0; w < NW; w++)
			if (syscall(SYS_tgkill, pid, wtid[w], SIG_RT) == 0)
				sent[w]++;
		if (++n % 4 == 0)
			sched_yield();
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: sig_stress DIR SECONDS\n");
		return 2;
	}
	dir = argv[1];
	double secs = atof(argv[2]);
	char path[256];
	snprintf(path, sizeof(path), "%s/log", dir);
	logfd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	if (logfd < 0) {
		perror(path);
		return 2;
	}
	for (int t = 0; t <= NW; t++) {
		snprintf(path, sizeof(path), "%s/h%d", dir, t);
		int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || ftruncate(fd, BLK)) {
			perror(path);
			return 2;
		}
		close(fd);
		snprintf(path, sizeof(path), "%s/w%d", dir, t);
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		close(fd);
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIG_RT);
	sigaddset(&sa.sa_mask, SIGALRM);
	if (sigaction(SIG_RT, &sa, NULL) || sigaction(SIGALRM, &sa, NULL)) {
		perror("sigaction");
		return 2;
	}
	pthread_t wt[NW], st;
	for (int w = 0; w < NW; w++)
		pthread_create(&wt[w], NULL, worker, (void *)(intptr_t)w);
	while (atomic_load(&ready) < NW)
		sched_yield();
	pthread_create(&st, NULL, signaller, NULL);
	struct itimerval it = { { 0, 500 }, { 0, 500 } };
	setitimer(ITIMER_REAL, &it, NULL);
	struct timespec ts = { (time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9) };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	atomic_store(&stop_sig, 1);
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &off, NULL);
	pthread_join(st, NULL);
	atomic_store(&stop, 1);
	for (int w = 0; w < NW; w++)
		pthread_join(wt[w], NULL);
	sigset_t blk;
	sigemptyset(&blk);
	sigaddset(&blk, SIG_RT);
	sigaddset(&blk, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &blk, NULL);

	/* the log: every record once */
	unsigned n = atomic_load(&hcount);
	struct stat stl;
	fstat(logfd, &stl);
	if (stl.st_size != (off_t)n * REC)
		fail("log size", (long)stl.st_size, (long)n * REC);
	close(logfd);
	snprintf(path, sizeof(path), "%s/log", dir);
	int fd = open(path, O_RDONLY);
	unsigned char *seen = calloc(n + 1, 1);
	char rec[REC];
	unsigned recs = 0;
	while (read(fd, rec, REC) == REC) {
		unsigned k;
		if (sscanf(rec, "H%10u", &k) != 1 || k >= n || seen[k]++)
			fail("log record", recs, k);
		recs++;
	}
	close(fd);
	free(seen);
	/* the workers' files: the last iteration's blocks */
	unsigned long total = 0;
	static unsigned char buf[BLK], got[BLK];
	for (int w = 0; w < NW; w++) {
		snprintf(path, sizeof(path), "%s/w%d", dir, w);
		fd = open(path, O_RDONLY);
		for (int b = 0; b < NBLK && witer[w]; b++) {
			pattern(buf, w, b, witer[w]);
			if (pread(fd, got, BLK, (off_t)b * BLK) != BLK || memcmp(got, buf, BLK))
				fail("final file content", w, b);
		}
		close(fd);
		total += witer[w];
	}
	unsigned long nsent = 0;
	for (int w = 0; w < NW; w++) {
		if (atomic_load(&got_rt[w]) != sent[w])
			fail("real-time signals handled vs queued", (long)atomic_load(&got_rt[w]),
			     (long)sent[w]);
		nsent += sent[w];
	}
	printf("workers: %lu iterations; real-time signals queued: %lu, all handled: %s; "
	       "handlers: %u; log records: %u; %s\n", total, nsent,
	       atomic_load(&bad) ? "?" : "yes", n, recs,
	       atomic_load(&bad) ? "MISMATCH" : "all content as expected");
	return atomic_load(&bad) || !n || !total ? 1 : 0;
}
