/*
 * stress_vfs — threads doing file I/O, renames and unlinks in /ramfs while
 * other threads map and unmap anonymous memory and ramfs files, and two
 * threads re-map and re-protect one scratch range (one with MAP_FIXED,
 * the other with mprotect: the same pages' owners are checked by one and
 * changed by the other), all through the vfs and mman handlers (the core
 * is linked directly, with its own segment).  Afterwards ramfs_fsck and
 * mman_check must be clean and the lock validator must have reported
 * nothing.  Built with TSan and ASan too.
 *
 * Usage: stress_vfs [seconds] [OPTIONS]   (default 3 s)
 * OPTIONS are VADSHIM_OPTIONS-style settings added to the test's own
 * (tests/stress/check_legacy.py passes locking=legacy and friends).  Under
 * locking=legacy the validator must report (the seed's inversions), and
 * the main thread prints "progress N" every 200 ms so that a driver can
 * tell a deadlock (N stops) from a slow run.
 * Prints the operation counts and finally "N passed, N failed".
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "mman/mman.h"
#include "shim/lk.h"
#include "shim/options.h"
#include "shim/real.h"
#include "vfs/ramfs.h"
#include "vfs/vfs_sys.h"

#define NFILE_THREADS 2
#define NMAP_THREADS 2
#define NLIST_THREADS 1
#define SCRATCH_PAGES 32

static atomic_int stop;
static atomic_long n_io, n_rename, n_unlink, n_map, n_list, n_scratch, n_bad;
static uintptr_t scratch;       /* SCRATCH_PAGES, mapped by main, never unmapped */
static char seg_name[64];

static void bad(const char *what, long r)
{
	fprintf(stderr, "stress_vfs: %s: %ld (%s)\n", what, r, r < 0 ? strerror((int)-r) : "");
	atomic_fetch_add(&n_bad, 1);
}

static long wr(int fd, const void *buf, size_t n, off_t off)
{
	struct iovec iov = { (void *)buf, n };
	return vfs_sys_rw(fd, &iov, 1, off, 1, 0);
}

static long rd(int fd, void *buf, size_t n, off_t off)
{
	struct iovec iov = { buf, n };
	return vfs_sys_rw(fd, &iov, 1, off, 0, 0);
}

static long open_(const char *p, int flags)
{
	struct vfs_hostpath hp;
	return vfs_sys_openat(AT_FDCWD, p, flags, 0644, &hp);
}

/* Files of its own (written, read back, verified) plus renames and
 * unlinks in a shared directory where the threads collide. */
static void *file_worker(void *arg)
{
	long id = (long)arg;
	unsigned seed = (unsigned)id * 7919u;
	char p[256], q[256];
	char buf[8192], back[8192];
	struct vfs_hostpath h1, h2;
	while (!atomic_load(&stop)) {
		int k = rand_r(&seed) % 16;
		snprintf(p, sizeof(p), "/ramfs/s/t%ld/f%d", id, k);
		long fd = open_(p, O_RDWR | O_CREAT);
		if (fd < 0) {
			if (fd != -ENOSPC)
				bad("open own", fd);
			continue;
		}
		size_t len = 1 + (size_t)(rand_r(&seed) % (int)sizeof(buf));
		memset(buf, 'a' + (int)(id * 16 + k) % 26, len);
		long r = wr((int)fd, buf, len, 0);
		if (r == (long)len) {
			r = rd((int)fd, back, len, 0);
			if (r != (long)len || memcmp(buf, back, len))
				bad("read back", r);
		} else if (r != -ENOSPC) {
			bad("write", r);
		}
		vfs_sys_close((int)fd);
		atomic_fetch_add(&n_io, 1);
		/* the shared directory */
		snprintf(p, sizeof(p), "/ramfs/s/shared/x%d", rand_r(&seed) % 8);
		snprintf(q, sizeof(q), "/ramfs/s/shared/x%d", rand_r(&seed) % 8);
		fd = open_(p, O_WRONLY | O_CREAT);
		if (fd >= 0) {
			wr((int)fd, "hello", 5, -1);
			vfs_sys_close((int)fd);
		}
		r = vfs_sys_renameat2(AT_FDCWD, p, AT_FDCWD, q, 0, &h1, &h2);
		if (r && r != -ENOENT)
			bad("rename", r);
		atomic_fetch_add(&n_rename, 1);
		if (rand_r(&seed) % 3 == 0) {
			r = vfs_sys_unlinkat(AT_FDCWD, q, 0, &h1);
			if (r && r != -ENOENT)
				bad("unlink", r);
			atomic_fetch_add(&n_unlink, 1);
		}
	}
	return NULL;
}

/* An anonymous mapping and a MAP_SHARED mapping of a ramfs file, written
 * through the mapping and read back through the descriptor. */
static void map_round(long id, unsigned *seedp)
{
	unsigned seed = *seedp;
	char p[256], back[64];
	snprintf(p, sizeof(p), "/ramfs/s/m%ld", id);
	do {
		size_t len = (size_t)(1 + rand_r(&seed) % 16) * 4096;
		bool in = vfs_mman_enter();
		long a = mman_sys_mmap(NULL, len, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		vfs_mman_leave(in);
		if (a < 0 && a > -4096) {
			bad("anon mmap", a);
			break;
		}
		memset((void *)a, 1, len);
		long fd = open_(p, O_RDWR | O_CREAT);
		if (fd < 0) {
			bad("open map file", fd);
		} else {
			long r = vfs_sys_ftruncate((int)fd, (off_t)len);
			long m = r ? r : vfs_sys_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
						      (int)fd, 0);
			if (m < 0 && m > -4096) {
				if (m != -ENOSPC)
					bad("file mmap", m);
			} else {
				char tag[32];
				int n = snprintf(tag, sizeof(tag), "tag-%ld-%u", id, seed);
				memcpy((char *)m + len - 4096, tag, (size_t)n);
				r = rd((int)fd, back, (size_t)n, (off_t)(len - 4096));
				if (r != n || memcmp(back, tag, (size_t)n))
					bad("pread after store", r);
				in = vfs_mman_enter();
				r = mman_sys_munmap((void *)m, len);
				vfs_mman_leave(in);
				if (r)
					bad("file munmap", r);
			}
			vfs_sys_close((int)fd);
		}
		in = vfs_mman_enter();
		long r = mman_sys_munmap((void *)a, len);
		vfs_mman_leave(in);
		if (r)
			bad("anon munmap", r);
		atomic_fetch_add(&n_map, 1);
	} while (0);
	*seedp = seed;
}

static void *map_worker(void *arg)
{
	long id = (long)arg;
	unsigned seed = (unsigned)id * 104729u;
	while (!atomic_load(&stop))
		map_round(id, &seed);
	return NULL;
}

/*
 * Two threads on one range: id 0 maps pieces of it again (MAP_FIXED
 * replaces), id 1 changes the protection of pieces of it.  Each call's
 * ownership check reads the owners of pages the other thread's call is
 * rewriting; under the fixed design both run entirely under mman.lock.
 * The range is always mapped, so no other thread's mapping lands in it.
 */
static void *scratch_worker(void *arg)
{
	long id = (long)arg;
	unsigned seed = (unsigned)id * 15485863u + 1;
	while (!atomic_load(&stop)) {
		size_t k = (size_t)(rand_r(&seed) % (SCRATCH_PAGES - 8));
		size_t n = (size_t)(1 + rand_r(&seed) % 8);
		uintptr_t a = scratch + k * 4096;
		bool in = vfs_mman_enter();
		long r;
		if (id == 0) {
			r = mman_sys_mmap((void *)a, n * 4096, PROT_READ | PROT_WRITE,
					  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			r = r == (long)a ? 0 : r;
		} else {
			r = mman_sys_mprotect((void *)a, n * 4096,
					      rand_r(&seed) % 2 ? PROT_READ : PROT_READ | PROT_WRITE, -1);
		}
		vfs_mman_leave(in);
		if (r)
			bad(id == 0 ? "scratch mmap fixed" : "scratch mprotect", r);
		atomic_fetch_add(&n_scratch, 1);
	}
	return NULL;
}

/* Directory listings and stats of the shared directory. */
static void *list_worker(void *arg)
{
	(void)arg;
	char buf[4096];
	while (!atomic_load(&stop)) {
		long fd = open_("/ramfs/s/shared", O_RDONLY | O_DIRECTORY);
		if (fd < 0) {
			bad("open dir", fd);
			continue;
		}
		long n;
		while ((n = vfs_sys_getdents64((int)fd, buf, sizeof(buf))) > 0)
			;
		if (n < 0)
			bad("getdents", n);
		vfs_sys_close((int)fd);
		struct stat st;
		struct vfs_hostpath hp;
		long r = vfs_sys_fstatat(AT_FDCWD, "/ramfs/s/shared/x1", &st, 0, &hp);
		if (r && r != -ENOENT)
			bad("stat", r);
		atomic_fetch_add(&n_list, 1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int secs = argc > 1 ? atoi(argv[1]) : 3;
	int passed = 0, failed = 0;
	snprintf(seg_name, sizeof(seg_name), "stress%d", (int)getpid());
	char opts[512];
	snprintf(opts, sizeof(opts), "ramfs=%s:ramfs_size=64M%s%.400s", seg_name,
		 argc > 2 ? ":" : "", argc > 2 ? argv[2] : "");
	const char *err;
	shim_real_init();
	if (shim_options_parse(opts, &err)) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	/* As the shim's constructor applies them; the exit code stays 0:
	 * this program judges the reports itself. */
	lk_config.lockdep = 1;
	lk_config.exitcode = 0;
	lk_config.held_stacks = shim_opt.held_stacks;
	lk_config.stack_depth = shim_opt.stack_depth;
	lk_config.json = shim_opt.report_json;
	bool legacy = shim_opt.locking_legacy;
	if (mman_init((size_t)1 << 30, 16384) || vfs_init() || !vfs.ready) {
		fprintf(stderr, "stress_vfs: cannot set up the arena and the ramfs\n");
		return 1;
	}
	struct vfs_hostpath hp;
	vfs_sys_mkdirat(AT_FDCWD, "/ramfs/s", 0755, &hp);
	vfs_sys_mkdirat(AT_FDCWD, "/ramfs/s/shared", 0755, &hp);
	for (long i = 0; i < NFILE_THREADS; i++) {
		char p[64];
		snprintf(p, sizeof(p), "/ramfs/s/t%ld", i);
		vfs_sys_mkdirat(AT_FDCWD, p, 0755, &hp);
	}
	scratch = (uintptr_t)mman_sys_mmap(NULL, SCRATCH_PAGES * 4096, PROT_READ | PROT_WRITE,
					   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if ((long)scratch < 0 && (long)scratch > -4096) {
		fprintf(stderr, "stress_vfs: cannot map the scratch range\n");
		return 1;
	}
	/* One round before the threads start: every lock path of the
	 * workload is taken once without contention, so that under
	 * locking=legacy each inversion is reported even if the run
	 * deadlocks at its first contended round. */
	unsigned seed0 = 1;
	map_round(NMAP_THREADS, &seed0);
	pthread_t th[NFILE_THREADS + NMAP_THREADS + NLIST_THREADS + 2];
	int nt = 0;
	/* The scratch pair first: under locking=legacy the others deadlock
	 * soon, possibly holding mman.lock, which the pair needs too; give
	 * it a moment alone so that TSan sees its race either way. */
	for (long i = 0; i < 2; i++)
		pthread_create(&th[nt++], NULL, scratch_worker, (void *)i);
	if (legacy)
		usleep(200000);
	for (long i = 0; i < NFILE_THREADS; i++)
		pthread_create(&th[nt++], NULL, file_worker, (void *)i);
	for (long i = 0; i < NMAP_THREADS; i++)
		pthread_create(&th[nt++], NULL, map_worker, (void *)i);
	for (long i = 0; i < NLIST_THREADS; i++)
		pthread_create(&th[nt++], NULL, list_worker, (void *)i);
	if (legacy) {
		/* The heartbeat: the main thread takes no lock, so it goes on
		 * printing when the workers are deadlocked. */
		setvbuf(stdout, NULL, _IOLBF, 0);
		for (int t = 0; t < secs * 5; t++) {
			usleep(200000);
			/* the scratch threads take no filesystem lock: they
			 * go on after a deadlock, so they do not count */
			printf("progress %ld\n", atomic_load(&n_io) + atomic_load(&n_map) +
			       atomic_load(&n_list));
		}
	} else {
		sleep((unsigned)secs);
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < nt; i++)
		pthread_join(th[i], NULL);
	printf("stress_vfs: %ld file i/o, %ld renames, %ld unlinks, %ld map rounds, %ld listings, "
	       "%ld scratch calls\n",
	       atomic_load(&n_io), atomic_load(&n_rename), atomic_load(&n_unlink),
	       atomic_load(&n_map), atomic_load(&n_list), atomic_load(&n_scratch));

	char msg[256];
	int r = ramfs_fsck(vfs.mounts[0].fs, msg, sizeof(msg));
	if (r) {
		printf("FAIL ramfs_fsck: %s\n", msg);
		failed++;
	} else {
		printf("PASS ramfs_fsck clean\n");
		passed++;
	}
	r = mman_check(msg, sizeof(msg));
	if (r) {
		printf("FAIL mman_check: %s\n", msg);
		failed++;
	} else {
		printf("PASS mman_check clean\n");
		passed++;
	}
	if (legacy) {
		/* The reports themselves are checked by check_legacy.py. */
		if (lk_violation_count()) {
			printf("PASS locking=legacy: the lock validator reported %u violation(s)\n",
			       lk_violation_count());
			passed++;
		} else {
			printf("FAIL locking=legacy: no lock-order report\n");
			failed++;
		}
	} else if (lk_violation_count()) {
		printf("FAIL the lock validator reported %u violation(s)\n", lk_violation_count());
		failed++;
	} else {
		printf("PASS no lock-order report\n");
		passed++;
	}
	if (atomic_load(&n_bad)) {
		printf("FAIL %ld unexpected results (above)\n", atomic_load(&n_bad));
		failed++;
	} else {
		printf("PASS every result was one a kernel could give\n");
		passed++;
	}
	if (!atomic_load(&n_io) || !atomic_load(&n_map) || !atomic_load(&n_list) ||
	    !atomic_load(&n_scratch)) {
		printf("FAIL some worker made no progress\n");
		failed++;
	} else {
		passed++;
	}
	ramfs_remove(seg_name);
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
