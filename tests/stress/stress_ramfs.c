/*
 * Stress of ramfs: threads of one process and a forked process racing on
 * one segment through ramfs_ops (the segment lock serialises them: the
 * per-process lk lock, then the robust process-shared mutex).  Each
 * worker also owns a private file whose content it checks after every
 * write.  ramfs_fsck must be clean at the end.  Built with TSan and ASan
 * too.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vfs/ramfs.h"

enum { THREADS = 4, OPS = 20000 };

static struct vfs_mount mnt;
static struct vfs_cred cred = { .umask = 022 };
static int bad;                 /* atomic */

static void fail(const char *what, long r)
{
	printf("FAIL: %s: %ld\n", what, r);
	__atomic_add_fetch(&bad, 1, __ATOMIC_RELAXED);
}

static const struct vfs_path *mkp(struct vfs_path *p, const char *path, int *nl, char *esc)
{
	*p = (struct vfs_path){ .mnt = &mnt, .path = path, .nlinks = nl, .escape = esc };
	return p;
}

/* Errors a racing namespace may give; anything else is a bug. */
static bool expected(long r)
{
	return r >= 0 || r == -ENOENT || r == -EEXIST || r == -ENOTEMPTY || r == -ENOTDIR ||
	       r == -EISDIR || r == -EINVAL;
}

static void private_file(unsigned id, unsigned i)
{
	char name[32], buf[512], back[512];
	struct vfs_path p;
	struct iovec w = { buf, sizeof(buf) }, rd = { back, sizeof(back) };
	char esc[4096];
	int nl = 0;
	vfs_ofd f;
	long r;

	snprintf(name, sizeof(name), "own%u", id);
	memset(buf, (int)('a' + (id + i) % 26), sizeof(buf));
	r = ramfs_ops.open(mkp(&p, name, &nl, esc), O_CREAT | O_RDWR, 0644, &cred, &f);
	if (r < 0)
		return fail("open own", r);
	if ((r = ramfs_ops.rw(&mnt, f, &w, 1, (off_t)(i % 16) * 512, 1, 0)) != sizeof(buf))
		fail("write own", r);
	if ((r = ramfs_ops.rw(&mnt, f, &rd, 1, (off_t)(i % 16) * 512, 0, 0)) != sizeof(back) ||
	    memcmp(buf, back, sizeof(buf)) != 0)
		fail("read own back", r);
	ramfs_ops.ofd_put(&mnt, f);
}

static void shared_op(unsigned *seed)
{
	static const char *names[] = { "x", "y", "d", "d/x", "d/y", "e", "e/d" };
	const char *a = names[rand_r(seed) % 7], *b = names[rand_r(seed) % 7];
	struct vfs_path p, q;
	char esc[4096], buf[4096];
	struct iovec iov = { buf, 1000 };
	struct stat st;
	int nl = 0;
	vfs_ofd f;
	long r = 0;

	switch (rand_r(seed) % 7) {
	case 0:
		r = ramfs_ops.open(mkp(&p, a, &nl, esc), O_CREAT | O_WRONLY, 0644, &cred, &f);
		if (r == 0) {
			r = ramfs_ops.rw(&mnt, f, &iov, 1, -1, 1, 0);
			ramfs_ops.ofd_put(&mnt, f);
		}
		break;
	case 1: r = ramfs_ops.mkdir(mkp(&p, a, &nl, esc), 0755, &cred); break;
	case 2: r = ramfs_ops.unlink(mkp(&p, a, &nl, esc), 0, &cred); break;
	case 3: r = ramfs_ops.unlink(mkp(&p, a, &nl, esc), AT_REMOVEDIR, &cred); break;
	case 4: r = ramfs_ops.rename(mkp(&p, a, &nl, esc), mkp(&q, b, &nl, esc), 0, &cred); break;
	case 5: r = ramfs_ops.stat(mkp(&p, a, &nl, esc), &st); break;
	default:
		r = ramfs_ops.open(mkp(&p, "d", &nl, esc), O_RDONLY | O_DIRECTORY, 0, &cred, &f);
		if (r == 0) {
			while ((r = ramfs_ops.getdents(&mnt, f, buf, sizeof(buf))) > 0)
				;
			ramfs_ops.ofd_put(&mnt, f);
		}
	}
	if (!expected(r))
		fail("shared op", r);
}

static void *worker(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg, seed = id * 7919;

	for (unsigned i = 0; i < OPS; i++) {
		if (i % 4 == 0)
			private_file(id, i);
		else
			shared_op(&seed);
	}
	return NULL;
}

static void run_threads(unsigned base)
{
	pthread_t th[THREADS];

	for (unsigned i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)(base + i));
	for (unsigned i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
}

int main(void)
{
	struct ramfs_config cfg = { .size = 64 << 20 };
	struct ramfs *fs;
	char name[64], msg[256];
	int r, st;
	pid_t pid;

	snprintf(name, sizeof(name), "stress.%d", (int)getpid());
	cfg.name = name;
	r = ramfs_attach(&cfg, &fs, msg, sizeof(msg));
	if (r < 0) {
		printf("attach: %d %s\n", r, msg);
		return 2;
	}
	mnt = (struct vfs_mount){ .ops = &ramfs_ops, .fs = fs, .prefix = "/ramfs",
				  .prefix_len = 6, .parent = "/" };
	/* Sound before the race.  (This also takes the segment lock once on
	 * one thread: the lock runtime's first stack capture initialises the
	 * unwinder, whose one-time setup is not thread-safe under TSan.) */
	r = ramfs_fsck(fs, msg, sizeof(msg));
	if (r < 0)
		fail(msg, r);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		worker((void *)(uintptr_t)100);
		_exit(bad ? 1 : 0);
	}
	run_threads(0);
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail("child", st);
	r = ramfs_fsck(fs, msg, sizeof(msg));
	if (r < 0)
		fail(msg, r);
	ramfs_remove(name);
	printf("%d threads and a process, %d ops each: %s\n", THREADS, OPS, bad ? "FAIL" : "ok");
	return bad ? 1 : 0;
}
