/*
 * Unit test of ramfs (vfs/ramfs*.c) through ramfs_ops, linked directly.
 *
 * The kernel is the oracle: each step of a table (and of a random walk)
 * is done on a real tmpfs directory (mkdtemp under /dev/shm) and through
 * ramfs_ops on a fresh test segment, and the results and errno must be
 * equal; stat fields that must agree are compared, times by ordering
 * only, listings as sets.  ramfs_fsck runs after every step.  Cases the
 * kernel cannot judge (readdir stability, ENOSPC, pins, the escape
 * protocol, crash repair, two processes) check ramfs alone.
 *
 * Prints one line per failed check (and per group), then
 * "N passed, N failed"; exits 0 only if every check passed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shim/lk.h"
#include "vfs/ramfs.h"
#include "vfs/ramfs_int.h"

static unsigned long passed, failed;
static bool verbose;

static bool check(bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		passed++;
		if (!verbose)
			return ok;
	} else {
		failed++;
	}
	printf("%s: ", ok ? "ok" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return ok;
}

/* ---- a test segment and its mount ---- */

struct tfs {
	struct ramfs *fs;
	struct vfs_mount m;
	char name[64];
};

static int seg_seq;

static void tfs_open(struct tfs *t, size_t size)
{
	struct ramfs_config cfg = { .size = size };
	char msg[256];
	int r;

	snprintf(t->name, sizeof(t->name), "test.%d.%d", (int)getpid(), seg_seq++);
	cfg.name = t->name;
	ramfs_remove(t->name);
	r = ramfs_attach(&cfg, &t->fs, msg, sizeof(msg));
	if (r < 0) {
		printf("FAIL: attach %s: %d %s\n", t->name, r, msg);
		exit(2);
	}
	memset(&t->m, 0, sizeof(t->m));
	t->m.ops = &ramfs_ops;
	t->m.fs = t->fs;
	strcpy(t->m.prefix, "/ramfs");
	t->m.prefix_len = 6;
	strcpy(t->m.parent, "/");
}

static void tfs_close(struct tfs *t)
{
	ramfs_test_detach(t->fs);
	ramfs_remove(t->name);
}

static bool tfs_fsck(struct tfs *t, const char *when)
{
	char buf[256];
	int r = ramfs_fsck(t->fs, buf, sizeof(buf));

	return check(r == 0, "fsck after %s: %s", when, buf);
}

static struct vfs_cred root_cred = { .uid = 0, .gid = 0, .ruid = 0, .rgid = 0, .umask = 022 };

/* A vfs_path for p relative to the root (or to start). */
struct tpath {
	struct vfs_path p;
	int nlinks;
	char escape[PATH_MAX];
};

static const struct vfs_path *tp(struct tpath *t, struct tfs *f, vfs_node start, const char *path,
				 unsigned flags)
{
	t->nlinks = 0;
	t->escape[0] = 0;
	t->p = (struct vfs_path){ .mnt = &f->m, .start = start, .path = path, .flags = flags,
				  .nlinks = &t->nlinks, .escape = t->escape };
	return &t->p;
}

/* ---- the oracle: one step on tmpfs and on ramfs ---- */

enum op {
	OP_END, OP_OPEN, OP_CLOSE, OP_MKDIR, OP_MKNOD, OP_UNLINK, OP_RMDIR, OP_RENAME, OP_LINK,
	OP_LINKF, OP_SYMLINK, OP_READLINK, OP_STAT, OP_LSTAT, OP_ACCESS, OP_EACCESS, OP_CHMOD,
	OP_CHOWN, OP_LCHOWN, OP_UTIMES, OP_UTNOW, OP_WRITE, OP_PWRITE, OP_READ, OP_PREAD,
	OP_SEEK, OP_TRUNC, OP_FALLOC, OP_FSTAT, OP_LIST, OP_GETFL, OP_SETFL, OP_SNAP, OP_TIMES,
	OP_LINKAT_FD, OP_FCHMOD, OP_STATTIME, OP_DIRSIZE, OP_PWRITEV2, OP_PREADV2, OP_IOVMANY,
	OP_UTRAW,
};

struct step {
	enum op op;
	const char *a, *b;
	long x, y, z;
	int slot;
};

#define NSLOT 8

struct env {
	struct tfs *t;
	int base;                       /* the tmpfs directory */
	struct vfs_cred cred;
	int kfd[NSLOT];
	vfs_ofd rfd[NSLOT];
	struct stat ksnap, rsnap;
	unsigned seed;
};

static long kerr(long r)
{
	return r < 0 ? -errno : r;
}

static void fill(char *buf, size_t len, long seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)('a' + (seed * 7 + (long)i * 13) % 26);
}

static bool same_stat(const struct stat *k, const struct stat *r, bool blocks)
{
	return k->st_mode == r->st_mode && k->st_nlink == r->st_nlink &&
	       k->st_size == r->st_size && k->st_uid == r->st_uid && k->st_gid == r->st_gid &&
	       k->st_rdev == r->st_rdev && k->st_blksize == r->st_blksize &&
	       (!blocks || k->st_blocks == r->st_blocks);
}

static void show_stat(const char *who, const struct stat *s)
{
	printf("    %s: mode %o nlink %lu size %ld blocks %ld uid %u gid %u\n", who,
	       s->st_mode, (unsigned long)s->st_nlink, (long)s->st_size, (long)s->st_blocks,
	       s->st_uid, s->st_gid);
}

/* Names in a directory, sorted, as "name/type" lines. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct listing {
	char names[512][264];
	char *sorted[512];
	int n;
};

static void listing_add(struct listing *l, const char *name, int type)
{
	if (l->n < 512) {
		snprintf(l->names[l->n], sizeof(l->names[0]), "%s/%d", name, type);
		l->sorted[l->n] = l->names[l->n];
		l->n++;
	}
}

static void listing_parse(struct listing *l, const char *buf, long n)
{
	for (long o = 0; o < n;) {
		const struct dirent64 *d = (const void *)(buf + o);

		listing_add(l, d->d_name, d->d_type);
		o += d->d_reclen;
	}
}

static long list_kernel(struct env *e, const char *path, struct listing *l)
{
	char buf[4096];
	long n;
	int fd = openat(e->base, path, O_RDONLY | O_DIRECTORY);

	if (fd < 0)
		return -errno;
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0)
		listing_parse(l, buf, n);
	close(fd);
	qsort(l->sorted, (size_t)l->n, sizeof(char *), cmp_str);
	return n < 0 ? -errno : l->n;
}

static long list_ramfs(struct env *e, const char *path, struct listing *l)
{
	struct tpath t;
	char buf[4096];
	vfs_ofd f;
	long n;
	int r = ramfs_ops.open(tp(&t, e->t, 0, path, 0), O_RDONLY | O_DIRECTORY, 0, &e->cred, &f);

	if (r < 0)
		return r;
	while ((n = ramfs_ops.getdents(&e->t->m, f, buf, sizeof(buf))) > 0)
		listing_parse(l, buf, n);
	ramfs_ops.ofd_put(&e->t->m, f);
	qsort(l->sorted, (size_t)l->n, sizeof(char *), cmp_str);
	return n < 0 ? n : l->n;
}

/* As sets; and in the same order (tmpfs lists newest first, so does
 * ramfs), which is checked separately to tell the two apart. */
static bool same_listing(const struct listing *a, const struct listing *b, bool *order)
{
	*order = a->n == b->n;
	for (int i = 0; i < a->n && *order; i++)
		*order = strcmp(a->names[i], b->names[i]) == 0;
	if (a->n != b->n)
		return false;
	for (int i = 0; i < a->n; i++)
		if (strcmp(a->sorted[i], b->sorted[i]) != 0)
			return false;
	return true;
}

static int at_flags(const struct step *s)
{
	return s->z & 1 ? AT_SYMLINK_NOFOLLOW : 0;
}

static long k_open(struct env *e, const struct step *s)
{
	int fd = openat(e->base, s->a, (int)s->x, (mode_t)s->y);

	if (fd < 0)
		return -errno;
	if (e->kfd[s->slot] >= 0)
		close(e->kfd[s->slot]);
	e->kfd[s->slot] = fd;
	return 0;
}

static long r_open(struct env *e, const struct step *s)
{
	struct tpath t;
	vfs_ofd f;
	int r = ramfs_ops.open(tp(&t, e->t, 0, s->a, 0), (int)s->x, (mode_t)s->y, &e->cred, &f);

	if (r < 0)
		return r;
	if (e->rfd[s->slot])
		ramfs_ops.ofd_put(&e->t->m, e->rfd[s->slot]);
	e->rfd[s->slot] = f;
	return 0;
}

static long k_io(struct env *e, const struct step *s, char *data)
{
	int fd = e->kfd[s->slot];

	switch (s->op) {
	case OP_WRITE:
		return kerr(write(fd, data, (size_t)s->x));
	case OP_PWRITE:
		return kerr(pwrite(fd, data, (size_t)s->x, s->y));
	case OP_READ:
		return kerr(read(fd, data, (size_t)s->x));
	default:
		return kerr(pread(fd, data, (size_t)s->x, s->y));
	}
}

static long r_io(struct env *e, const struct step *s, char *data)
{
	struct iovec iov = { data, (size_t)s->x };
	bool w = s->op == OP_WRITE || s->op == OP_PWRITE;
	off_t off = (s->op == OP_WRITE || s->op == OP_READ) ? -1 : s->y;

	return ramfs_ops.rw(&e->t->m, e->rfd[s->slot], &iov, 1, off, w, 0);
}

static long k_path_op(struct env *e, const struct step *s)
{
	struct timespec ts[2] = { { s->x, 0 }, { s->y, 0 } };

	switch (s->op) {
	case OP_MKDIR:
		return kerr(mkdirat(e->base, s->a, (mode_t)s->x));
	case OP_MKNOD:
		return kerr(mknodat(e->base, s->a, (mode_t)s->x, (dev_t)s->y));
	case OP_UNLINK:
		return kerr(unlinkat(e->base, s->a, 0));
	case OP_RMDIR:
		return kerr(unlinkat(e->base, s->a, AT_REMOVEDIR));
	case OP_RENAME:
		return kerr(syscall(SYS_renameat2, e->base, s->a, e->base, s->b, (unsigned)s->x));
	case OP_LINK:
		return kerr(linkat(e->base, s->a, e->base, s->b, 0));
	case OP_LINKF:
		return kerr(linkat(e->base, s->a, e->base, s->b, AT_SYMLINK_FOLLOW));
	case OP_SYMLINK:
		return kerr(symlinkat(s->a, e->base, s->b));
	case OP_ACCESS:
		return kerr(faccessat(e->base, s->a, (int)s->x, 0));
	case OP_EACCESS:
		return kerr(faccessat(e->base, s->a, (int)s->x, AT_EACCESS));
	case OP_CHMOD:
		return kerr(fchmodat(e->base, s->a, (mode_t)s->x, 0));
	case OP_CHOWN:
	case OP_LCHOWN:
		return kerr(fchownat(e->base, s->a, (uid_t)s->x, (gid_t)s->y,
				     s->op == OP_LCHOWN ? AT_SYMLINK_NOFOLLOW : 0));
	case OP_UTIMES:
		return kerr(utimensat(e->base, s->a, ts, at_flags(s)));
	case OP_UTNOW:
		return kerr(utimensat(e->base, s->a, NULL, 0));
	case OP_UTRAW: {
		struct timespec raw[2] = { { 1, s->x }, { 1, s->y } };

		return kerr(utimensat(e->base, s->a, raw, 0));
	}
	default:
		return -999;
	}
}

static long r_path_op(struct env *e, const struct step *s)
{
	struct tpath t, t2;
	struct vfs_attr a = { 0 };
	struct tfs *f = e->t;
	const struct vfs_cred *c = &e->cred;

	switch (s->op) {
	case OP_MKDIR:
		return ramfs_ops.mkdir(tp(&t, f, 0, s->a, 0), (mode_t)s->x, c);
	case OP_MKNOD:
		return ramfs_ops.mknod(tp(&t, f, 0, s->a, 0), (mode_t)s->x, (dev_t)s->y, c);
	case OP_UNLINK:
		return ramfs_ops.unlink(tp(&t, f, 0, s->a, 0), 0, c);
	case OP_RMDIR:
		return ramfs_ops.unlink(tp(&t, f, 0, s->a, 0), AT_REMOVEDIR, c);
	case OP_RENAME:
		return ramfs_ops.rename(tp(&t, f, 0, s->a, 0), tp(&t2, f, 0, s->b, 0),
					(unsigned)s->x, c);
	case OP_LINK:
	case OP_LINKF:
		return ramfs_ops.link(tp(&t, f, 0, s->a, s->op == OP_LINK ? VFS_NOFOLLOW : 0),
				      tp(&t2, f, 0, s->b, 0), c);
	case OP_SYMLINK:
		return ramfs_ops.symlink(s->a, tp(&t, f, 0, s->b, 0), c);
	case OP_ACCESS:
		return ramfs_ops.access(tp(&t, f, 0, s->a, 0), (int)s->x, 0, c);
	case OP_EACCESS:
		return ramfs_ops.access(tp(&t, f, 0, s->a, 0), (int)s->x, AT_EACCESS, c);
	case OP_CHMOD:
		a.mask = VFS_ATTR_MODE;
		a.mode = (mode_t)s->x;
		return ramfs_ops.setattr(tp(&t, f, 0, s->a, 0), 0, &a, c);
	case OP_CHOWN:
	case OP_LCHOWN:
		a.mask = VFS_ATTR_UID | VFS_ATTR_GID;
		a.uid = (uid_t)s->x;
		a.gid = (gid_t)s->y;
		return ramfs_ops.setattr(tp(&t, f, 0, s->a, s->op == OP_LCHOWN ? VFS_NOFOLLOW : 0),
					 0, &a, c);
	case OP_UTRAW:
		a.mask = VFS_ATTR_TIMES;
		a.times[0] = (struct timespec){ 1, s->x };
		a.times[1] = (struct timespec){ 1, s->y };
		return ramfs_ops.setattr(tp(&t, f, 0, s->a, 0), 0, &a, c);
	case OP_UTIMES:
	case OP_UTNOW:
		a.mask = VFS_ATTR_TIMES;
		a.times[0] = (struct timespec){ s->x, s->op == OP_UTNOW ? UTIME_NOW : 0 };
		a.times[1] = (struct timespec){ s->y, s->op == OP_UTNOW ? UTIME_NOW : 0 };
		return ramfs_ops.setattr(tp(&t, f, 0, s->a, (s->z & 1) ? VFS_NOFOLLOW : 0), 0, &a, c);
	default:
		return -999;
	}
}

static long k_stat(struct env *e, const struct step *s, struct stat *st)
{
	if (s->op == OP_FSTAT)
		return kerr(fstat(e->kfd[s->slot], st));
	return kerr(fstatat(e->base, s->a, st, s->op == OP_LSTAT ? AT_SYMLINK_NOFOLLOW : 0));
}

static long r_stat(struct env *e, const struct step *s, struct stat *st)
{
	struct tpath t;

	if (s->op == OP_FSTAT)
		return ramfs_ops.fstat(&e->t->m, e->rfd[s->slot], st);
	tp(&t, e->t, 0, s->a, s->op == OP_LSTAT ? VFS_NOFOLLOW : 0);
	t.p.cred = &e->cred;
	return ramfs_ops.stat(&t.p, st);
}

static bool ts_changed(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec != b->tv_sec || a->tv_nsec != b->tv_nsec;
}

/* Which of atime, mtime, ctime moved since the snapshot: a bit each. */
static int times_moved(const struct stat *old, const struct stat *now)
{
	return ts_changed(&old->st_atim, &now->st_atim) | ts_changed(&old->st_mtim, &now->st_mtim) << 1 |
	       ts_changed(&old->st_ctim, &now->st_ctim) << 2;
}

static bool step_stat(struct env *e, const struct step *s, long *k, long *r)
{
	struct stat ks, rs;
	bool blocks = true;

	*k = k_stat(e, s, &ks);
	*r = r_stat(e, s, &rs);
	if (*k < 0 || *r < 0)
		return true;
	if (s->op == OP_SNAP) {
		struct timespec nap = { 0, 20 * 1000 * 1000 };

		e->ksnap = ks;
		e->rsnap = rs;
		nanosleep(&nap, NULL);  /* past a tick of the coarse clock */
		return true;
	}
	if (s->op == OP_TIMES) {
		int km = times_moved(&e->ksnap, &ks), rm = times_moved(&e->rsnap, &rs);

		if (km != rm)
			printf("    times moved: kernel %d ramfs %d (a=1 m=2 c=4)\n", km, rm);
		return km == rm;
	}
	if (s->op == OP_STATTIME)
		return !ts_changed(&ks.st_mtim, &rs.st_mtim) && ks.st_atim.tv_sec == rs.st_atim.tv_sec;
	if (S_ISDIR(ks.st_mode) && s->op != OP_DIRSIZE)
		rs.st_size = ks.st_size;   /* compared by OP_DIRSIZE only */
	if (!same_stat(&ks, &rs, blocks)) {
		show_stat("kernel", &ks);
		show_stat("ramfs ", &rs);
		return false;
	}
	return true;
}

static bool step_io(struct env *e, const struct step *s, long *k, long *r)
{
	static char kb[1 << 17], rb[1 << 17];
	bool w = s->op == OP_WRITE || s->op == OP_PWRITE;

	if (w) {
		fill(kb, (size_t)s->x, s->z);
		memcpy(rb, kb, (size_t)s->x);
	} else {
		memset(kb, 1, (size_t)s->x);
		memset(rb, 2, (size_t)s->x);
	}
	*k = k_io(e, s, kb);
	*r = r_io(e, s, rb);
	return w || *k <= 0 || *k != *r || memcmp(kb, rb, (size_t)*k) == 0;
}

static bool step_readlink(struct env *e, const struct step *s, long *k, long *r)
{
	char kb[PATH_MAX], rb[PATH_MAX];
	struct tpath t;

	*k = kerr(readlinkat(e->base, s->a, kb, (size_t)s->x));
	tp(&t, e->t, 0, s->a, 0);
	t.p.cred = &e->cred;
	*r = ramfs_ops.readlink(&t.p, rb, (size_t)s->x);
	return *k <= 0 || *k != *r || memcmp(kb, rb, (size_t)*k) == 0;
}

static bool step_list(struct env *e, const struct step *s, long *k, long *r)
{
	static struct listing kl, rl;

	kl.n = rl.n = 0;
	*k = list_kernel(e, s->a, &kl);
	*r = list_ramfs(e, s->a, &rl);
	bool order = true, same = *k < 0 || *r < 0 || same_listing(&kl, &rl, &order);

	if (!same || !order) {
		printf("    kernel:");
		for (int i = 0; i < kl.n; i++)
			printf(" %s", kl.names[i]);
		printf("\n    ramfs: ");
		for (int i = 0; i < rl.n; i++)
			printf(" %s", rl.names[i]);
		printf("\n");
	}
	check(!same || order, "listing %s in the kernel's order", s->a);
	return same;
}

static bool step_fd(struct env *e, const struct step *s, long *k, long *r)
{
	int fd = e->kfd[s->slot];
	vfs_ofd f = e->rfd[s->slot];
	struct vfs_mount *m = &e->t->m;

	switch (s->op) {
	case OP_SEEK:
		*k = kerr(lseek(fd, s->x, (int)s->y));
		*r = ramfs_ops.lseek(m, f, s->x, (int)s->y);
		break;
	case OP_TRUNC:
		*k = kerr(ftruncate(fd, s->x));
		*r = ramfs_ops.ftruncate(m, f, s->x);
		break;
	case OP_FALLOC:
		*k = kerr(fallocate(fd, (int)s->x, s->y, s->z));
		*r = ramfs_ops.fallocate(m, f, (int)s->x, s->y, s->z);
		break;
	case OP_GETFL:
		*k = kerr(fcntl(fd, F_GETFL));
		*r = ramfs_ops.getfl(m, f);
		break;
	case OP_SETFL:
		*k = kerr(fcntl(fd, F_SETFL, (int)s->x));
		*r = ramfs_ops.setfl(m, f, (int)s->x);
		break;
	case OP_FCHMOD: {
		struct vfs_attr a = { .mask = VFS_ATTR_MODE, .mode = (mode_t)s->x };
		struct tpath t;

		*k = kerr(fchmod(fd, (mode_t)s->x));
		*r = ramfs_ops.setattr(tp(&t, e->t, 0, "", 0), f, &a, &e->cred);
		break;
	}
	default: /* OP_CLOSE */
		*k = fd >= 0 ? kerr(close(fd)) : -EBADF;
		if (f)
			ramfs_ops.ofd_put(m, f);
		*r = f ? 0 : -EBADF;
		e->kfd[s->slot] = -1;
		e->rfd[s->slot] = 0;
	}
	return true;
}

/* preadv2/pwritev2 with the length x cut in three iovecs, offset y, rwf z;
 * OP_IOVMANY: x empty iovecs. */
static bool step_iov(struct env *e, const struct step *s, long *k, long *r)
{
	static char kb[1 << 16], rb[1 << 16];
	static struct iovec kv[1100], rv[1100];
	bool w = s->op == OP_PWRITEV2;
	size_t len = (size_t)s->x, cut[3] = { len / 4, len / 2, len - len / 4 - len / 2 };
	int n = 3;

	fill(kb, len, 42);
	memcpy(rb, kb, len);
	if (!w)
		memset(rb, 3, len);
	for (int i = 0, o = 0; i < 3; o += (int)cut[i], i++) {
		kv[i] = (struct iovec){ kb + o, cut[i] };
		rv[i] = (struct iovec){ rb + o, cut[i] };
	}
	if (s->op == OP_IOVMANY) {
		n = (int)s->x;
		for (int i = 0; i < n; i++)
			kv[i] = rv[i] = (struct iovec){ kb, 0 };
	}
	*k = kerr(w ? pwritev2(e->kfd[s->slot], kv, n, s->y, (int)s->z)
		    : preadv2(e->kfd[s->slot], kv, n, s->y, (int)s->z));
	*r = ramfs_ops.rw(&e->t->m, e->rfd[s->slot], rv, n, s->y, w, (int)s->z);
	return w || *k <= 0 || *k != *r || memcmp(kb, rb, (size_t)*k) == 0;
}

/* linkat(fd, "", dir, name, AT_EMPTY_PATH): the vfs names the node by
 * its inode number (st_ino is the ramfs node id). */
static bool step_linkat_fd(struct env *e, const struct step *s, long *k, long *r)
{
	struct stat st;
	struct tpath t, t2;

	*k = kerr(linkat(e->kfd[s->slot], "", e->base, s->b, AT_EMPTY_PATH));
	*r = ramfs_ops.fstat(&e->t->m, e->rfd[s->slot], &st);
	if (*r == 0)
		*r = ramfs_ops.link(tp(&t, e->t, (vfs_node)st.st_ino, "", VFS_EMPTY_PATH | VFS_NOFOLLOW),
				    tp(&t2, e->t, 0, s->b, 0), &e->cred);
	return true;
}

static const char *op_names[] = {
	"end", "open", "close", "mkdir", "mknod", "unlink", "rmdir", "rename", "link", "linkf",
	"symlink", "readlink", "stat", "lstat", "access", "eaccess", "chmod", "chown", "lchown",
	"utimes", "utnow", "write", "pwrite", "read", "pread", "seek", "trunc", "falloc", "fstat",
	"list", "getfl", "setfl", "snap", "times", "linkat_fd", "fchmod", "stattime", "dirsize",
	"pwritev2", "preadv2", "iovmany", "utraw",
};

static bool step_run(struct env *e, const struct step *s, int line)
{
	long k = 0, r = 0;
	bool same = true;
	char what[512];

	switch (s->op) {
	case OP_OPEN:
		k = k_open(e, s);
		r = r_open(e, s);
		break;
	case OP_STAT: case OP_LSTAT: case OP_FSTAT: case OP_SNAP: case OP_TIMES:
	case OP_STATTIME: case OP_DIRSIZE:
		same = step_stat(e, s, &k, &r);
		break;
	case OP_WRITE: case OP_PWRITE: case OP_READ: case OP_PREAD:
		same = step_io(e, s, &k, &r);
		break;
	case OP_READLINK:
		same = step_readlink(e, s, &k, &r);
		break;
	case OP_LIST:
		same = step_list(e, s, &k, &r);
		break;
	case OP_CLOSE: case OP_SEEK: case OP_TRUNC: case OP_FALLOC: case OP_GETFL: case OP_SETFL:
	case OP_FCHMOD:
		same = step_fd(e, s, &k, &r);
		break;
	case OP_LINKAT_FD:
		same = step_linkat_fd(e, s, &k, &r);
		break;
	case OP_PWRITEV2: case OP_PREADV2: case OP_IOVMANY:
		same = step_iov(e, s, &k, &r);
		break;
	default:
		k = k_path_op(e, s);
		r = r_path_op(e, s);
	}
	snprintf(what, sizeof(what), "line %d: %s %s %s %lx %ld %ld [%d]: kernel %ld ramfs %ld",
		 line, op_names[s->op], s->a ? s->a : "", s->b ? s->b : "", s->x, s->y, s->z,
		 s->slot, k, r);
	check(k == r && same, "%s", what);
	if (s->op != OP_SNAP)
		tfs_fsck(e->t, what);
	return k == r && same;
}

static void env_init(struct env *e, struct tfs *t, int base)
{
	memset(e, 0, sizeof(*e));
	e->t = t;
	e->base = base;
	e->cred = root_cred;
	for (int i = 0; i < NSLOT; i++)
		e->kfd[i] = -1;
}

static void env_fini(struct env *e)
{
	for (int i = 0; i < NSLOT; i++) {
		if (e->kfd[i] >= 0)
			close(e->kfd[i]);
		if (e->rfd[i])
			ramfs_ops.ofd_put(&e->t->m, e->rfd[i]);
		e->kfd[i] = -1;
		e->rfd[i] = 0;
	}
}

static void run_table(struct env *e, const struct step *tab, int first_line)
{
	for (int i = 0; tab[i].op != OP_END; i++)
		step_run(e, &tab[i], first_line + i);
}

/* ---- the kernel's directory ---- */

static char ktop[] = "/dev/shm/test_ramfs.XXXXXX";
static int kseq;

/* A fresh empty tmpfs directory (as the ramfs root is, but 0777). */
static int kdir_new(void)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%d", ktop, kseq++);
	if (mkdir(path, 0777) < 0 || chmod(path, 0777) < 0 ||
	    (fd = open(path, O_RDONLY | O_DIRECTORY)) < 0) {
		perror(path);
		exit(2);
	}
	return fd;
}

static void kdir_cleanup(void)
{
	char cmd[PATH_MAX + 32];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", ktop);
	if (system(cmd) != 0)
		printf("cleanup of %s failed\n", ktop);
}

/* ---- the tables ---- */

#define S(op, a, b, x, y, z, slot) { OP_##op, a, b, x, y, z, slot }
#define END { OP_END, NULL, NULL, 0, 0, 0, 0 }
#define RW (O_RDWR)
#define CR (O_CREAT | O_RDWR)

static const struct step tab_files[] = {
	S(OPEN, "f", NULL, CR, 0644, 0, 0),
	S(WRITE, NULL, NULL, 100, 0, 1, 0),
	S(FSTAT, NULL, NULL, 0, 0, 0, 0),
	S(STAT, "f", NULL, 0, 0, 0, 0),
	S(SEEK, NULL, NULL, 0, SEEK_SET, 0, 0),
	S(READ, NULL, NULL, 50, 0, 0, 0),
	S(READ, NULL, NULL, 100, 0, 0, 0),
	S(READ, NULL, NULL, 100, 0, 0, 0),
	S(PREAD, NULL, NULL, 10, 95, 0, 0),
	S(PREAD, NULL, NULL, 10, -5, 0, 0),
	S(PWRITE, NULL, NULL, 10, 5000, 2, 0),
	S(FSTAT, NULL, NULL, 0, 0, 0, 0),
	S(SEEK, NULL, NULL, 0, SEEK_DATA, 0, 0),
	S(SEEK, NULL, NULL, 4096, SEEK_DATA, 0, 0),
	S(SEEK, NULL, NULL, 0, SEEK_HOLE, 0, 0),
	S(SEEK, NULL, NULL, 4096, SEEK_HOLE, 0, 0),
	S(SEEK, NULL, NULL, 5010, SEEK_DATA, 0, 0),
	S(SEEK, NULL, NULL, -1, SEEK_SET, 0, 0),
	S(SEEK, NULL, NULL, 0, 99, 0, 0),
	S(SEEK, NULL, NULL, -10, SEEK_END, 0, 0),
	S(READ, NULL, NULL, 100, 0, 0, 0),
	S(PREAD, NULL, NULL, 200, 4000, 0, 0),
	S(PWRITE, NULL, NULL, 9000, 20000, 3, 0),
	S(PWRITE, NULL, NULL, 5000, 7000, 4, 0),
	S(FSTAT, NULL, NULL, 0, 0, 0, 0),
	S(PREAD, NULL, NULL, 30000, 0, 0, 0),
	S(SEEK, NULL, NULL, 13000, SEEK_DATA, 0, 0),
	S(SEEK, NULL, NULL, 13000, SEEK_HOLE, 0, 0),
	S(TRUNC, NULL, NULL, 3, 0, 0, 0),
	S(FSTAT, NULL, NULL, 0, 0, 0, 0),
	S(TRUNC, NULL, NULL, 10000, 0, 0, 0),
	S(FSTAT, NULL, NULL, 0, 0, 0, 0),
	S(PREAD, NULL, NULL, 100, 0, 0, 0),
	S(TRUNC, NULL, NULL, -1, 0, 0, 0),
	S(WRITE, NULL, NULL, 0, 0, 0, 0),
	S(OPEN, "f", NULL, O_RDONLY, 0, 0, 1),
	S(WRITE, NULL, NULL, 10, 0, 0, 1),
	S(TRUNC, NULL, NULL, 10, 0, 0, 1),
	S(FALLOC, NULL, NULL, 0, 0, 10, 1),
	S(GETFL, NULL, NULL, 0, 0, 0, 1),
	S(OPEN, "f", NULL, O_WRONLY, 0, 0, 2),
	S(READ, NULL, NULL, 10, 0, 0, 2),
	S(OPEN, "f", NULL, O_WRONLY | O_APPEND, 0, 0, 2),
	S(PWRITE, NULL, NULL, 10, 0, 5, 2),
	S(WRITE, NULL, NULL, 10, 0, 6, 2),
	S(SEEK, NULL, NULL, 0, SEEK_CUR, 0, 2),
	S(FSTAT, NULL, NULL, 0, 0, 0, 2),
	S(GETFL, NULL, NULL, 0, 0, 0, 2),
	S(SETFL, NULL, NULL, O_NONBLOCK | O_RDONLY, 0, 0, 2),
	S(GETFL, NULL, NULL, 0, 0, 0, 2),
	S(OPEN, "f", NULL, O_CREAT | O_EXCL | O_RDWR, 0644, 0, 3),
	S(OPEN, "nope", NULL, O_RDONLY, 0, 0, 3),
	S(OPEN, "f/", NULL, O_RDONLY, 0, 0, 3),
	S(OPEN, "f/x", NULL, O_RDONLY, 0, 0, 3),
	S(OPEN, "new/", NULL, CR, 0644, 0, 3),
	S(OPEN, "f", NULL, O_RDONLY | O_DIRECTORY, 0, 0, 3),
	S(OPEN, "f", NULL, O_WRONLY | O_TRUNC, 0, 0, 3),
	S(FSTAT, NULL, NULL, 0, 0, 0, 3),
	S(OPEN, "f", NULL, O_PATH, 0, 0, 4),
	S(FSTAT, NULL, NULL, 0, 0, 0, 4),
	S(READ, NULL, NULL, 10, 0, 0, 4),
	S(GETFL, NULL, NULL, 0, 0, 0, 4),
	S(SEEK, NULL, NULL, 0, SEEK_SET, 0, 4),
	S(TRUNC, NULL, NULL, 0, 0, 0, 4),
	S(OPEN, "f", NULL, O_PATH | O_CREAT | O_TRUNC, 0644, 0, 4),
	S(FSTAT, NULL, NULL, 0, 0, 0, 4),
	S(CLOSE, NULL, NULL, 0, 0, 0, 4),
	S(OPEN, "newd", NULL, O_CREAT | O_DIRECTORY | O_RDONLY, 0755, 0, 4),
	S(OPEN, "f", NULL, O_CREAT | O_DIRECTORY | O_RDONLY, 0755, 0, 4),
	S(OPEN, "f", NULL, O_RDWR | O_DIRECT | O_SYNC | O_NONBLOCK, 0, 0, 4),
	S(GETFL, NULL, NULL, 0, 0, 0, 4),
	S(PWRITE, NULL, NULL, 4096, 8192, 1, 4),
	S(PREAD, NULL, NULL, 4096, 8192, 0, 4),
	S(OPEN, "f", NULL, O_RDWR | O_NOATIME, 0, 0, 4),
	S(GETFL, NULL, NULL, 0, 0, 0, 4),
	S(SETFL, NULL, NULL, O_APPEND | O_DIRECT, 0, 0, 4),
	S(GETFL, NULL, NULL, 0, 0, 0, 4),
	S(CLOSE, NULL, NULL, 0, 0, 0, 4),
	S(OPEN, "m", NULL, CR, 06777, 0, 3),
	S(STAT, "m", NULL, 0, 0, 0, 0),
	S(CLOSE, NULL, NULL, 0, 0, 0, 0),
	S(CLOSE, NULL, NULL, 0, 0, 0, 1),
	S(CLOSE, NULL, NULL, 0, 0, 0, 2),
	S(CLOSE, NULL, NULL, 0, 0, 0, 3),
	END
};

static const struct step tab_iov[] = {
	S(OPEN, "v", NULL, CR, 0644, 0, 0),
	S(PWRITEV2, NULL, NULL, 300, 0, 0, 0),
	S(PREADV2, NULL, NULL, 300, 0, 0, 0),
	S(PREADV2, NULL, NULL, 1000, 10, 0, 0),
	S(PREADV2, NULL, NULL, 100, -1, 0, 0),
	S(SEEK, NULL, NULL, 0, SEEK_CUR, 0, 0),
	S(PWRITEV2, NULL, NULL, 50, -1, 0, 0),
	S(SEEK, NULL, NULL, 0, SEEK_CUR, 0, 0),
	S(PWRITEV2, NULL, NULL, 64, 0, RWF_APPEND, 0),
	S(FSTAT, NULL, NULL, 0, 0, 0, 0),
	S(PWRITEV2, NULL, NULL, 64, 0, 0x100000, 0),
	S(PREADV2, NULL, NULL, 64, 0, RWF_HIPRI, 0),
	S(PWRITEV2, NULL, NULL, 64, 0, RWF_DSYNC | RWF_SYNC, 0),
	S(PREADV2, NULL, NULL, 64, -7, 0, 0),
	S(IOVMANY, NULL, NULL, 1025, 0, 0, 0),
	S(IOVMANY, NULL, NULL, 1024, 0, 0, 0),
	S(PWRITE, NULL, NULL, 10, 0x7ffffffffffffffbL, 1, 0),
	S(PWRITE, NULL, NULL, 10, 0x7ffffffffffff000L, 1, 0),
	S(FSTAT, NULL, NULL, 0, 0, 0, 0),
	S(PREAD, NULL, NULL, 20, 0x7ffffffffffff000L, 0, 0),
	S(TRUNC, NULL, NULL, 0x7fffffffffffffffL, 0, 0, 0),
	S(FSTAT, NULL, NULL, 0, 0, 0, 0),
	S(SEEK, NULL, NULL, 0, SEEK_END, 0, 0),
	S(SEEK, NULL, NULL, 1, SEEK_CUR, 0, 0),
	S(WRITE, NULL, NULL, 10, 0, 1, 0),
	S(TRUNC, NULL, NULL, 100, 0, 0, 0),
	S(FSTAT, NULL, NULL, 0, 0, 0, 0),
	S(CLOSE, NULL, NULL, 0, 0, 0, 0),
	END
};

static const struct step tab_dirs[] = {
	S(OPEN, "f", NULL, CR, 0644, 0, 0),
	S(MKDIR, "d", NULL, 0755, 0, 0, 0),
	S(OPEN, "d", NULL, O_WRONLY, 0, 0, 1),
	S(OPEN, "d", NULL, O_RDWR, 0, 0, 1),
	S(OPEN, "d", NULL, O_RDONLY | O_TRUNC, 0, 0, 1),
	S(OPEN, "d", NULL, O_CREAT | O_RDONLY, 0644, 0, 1),
	S(OPEN, "d", NULL, O_RDONLY, 0, 0, 1),
	S(READ, NULL, NULL, 10, 0, 0, 1),
	S(GETFL, NULL, NULL, 0, 0, 0, 1),
	S(MKDIR, "d", NULL, 0755, 0, 0, 0),
	S(MKDIR, "f", NULL, 0755, 0, 0, 0),
	S(MKDIR, "f/", NULL, 0755, 0, 0, 0),
	S(MKDIR, "d/e/", NULL, 0700, 0, 0, 0),
	S(MKDIR, "x/y", NULL, 0755, 0, 0, 0),
	S(MKDIR, "f/y", NULL, 0755, 0, 0, 0),
	S(MKDIR, ".", NULL, 0755, 0, 0, 0),
	S(MKDIR, "d/..", NULL, 0755, 0, 0, 0),
	S(MKDIR, "d/s", NULL, 01777, 0, 0, 0),
	S(STAT, "d", NULL, 0, 0, 0, 0),
	S(STAT, "d/s", NULL, 0, 0, 0, 0),
	S(STAT, ".", NULL, 0, 0, 0, 0),
	S(DIRSIZE, "d", NULL, 0, 0, 0, 0),
	S(DIRSIZE, "d/e", NULL, 0, 0, 0, 0),
	S(STAT, "d//e", NULL, 0, 0, 0, 0),
	S(STAT, "./d/./e/", NULL, 0, 0, 0, 0),
	S(STAT, "d/e/../e//", NULL, 0, 0, 0, 0),
	S(STAT, "d/e/../../f", NULL, 0, 0, 0, 0),
	S(STAT, "f/..", NULL, 0, 0, 0, 0),
	S(STAT, "", NULL, 0, 0, 0, 0),
	S(LIST, ".", NULL, 0, 0, 0, 0),
	S(LIST, "d", NULL, 0, 0, 0, 0),
	S(LIST, "f", NULL, 0, 0, 0, 0),
	S(RMDIR, "d", NULL, 0, 0, 0, 0),
	S(RMDIR, "d/e/.", NULL, 0, 0, 0, 0),
	S(RMDIR, "d/e/..", NULL, 0, 0, 0, 0),
	S(RMDIR, "f", NULL, 0, 0, 0, 0),
	S(RMDIR, "f/", NULL, 0, 0, 0, 0),
	S(RMDIR, "nope", NULL, 0, 0, 0, 0),
	S(UNLINK, "d", NULL, 0, 0, 0, 0),
	S(UNLINK, "d/", NULL, 0, 0, 0, 0),
	S(UNLINK, "f/", NULL, 0, 0, 0, 0),
	S(UNLINK, "nope", NULL, 0, 0, 0, 0),
	S(UNLINK, "d/.", NULL, 0, 0, 0, 0),
	S(RMDIR, "d/e", NULL, 0, 0, 0, 0),
	S(RMDIR, "d/s/", NULL, 0, 0, 0, 0),
	S(STAT, "d", NULL, 0, 0, 0, 0),
	S(DIRSIZE, "d", NULL, 0, 0, 0, 0),
	S(MKDIR, "d/e", NULL, 0755, 0, 0, 0),
	S(OPEN, "d/e/in", NULL, CR, 0600, 0, 2),
	S(LIST, "d/e", NULL, 0, 0, 0, 0),
	S(STAT, "d/e/in", NULL, 0, 0, 0, 0),
	S(UNLINK, "d/e/in", NULL, 0, 0, 0, 0),
	S(FSTAT, NULL, NULL, 0, 0, 0, 2),
	S(CLOSE, NULL, NULL, 0, 0, 0, 2),
	S(CLOSE, NULL, NULL, 0, 0, 0, 1),
	S(CLOSE, NULL, NULL, 0, 0, 0, 0),
	S(MKNOD, "fifo", NULL, S_IFIFO | 0644, 0, 0, 0),
	S(MKNOD, "sock", NULL, S_IFSOCK | 0600, 0, 0, 0),
	S(MKNOD, "reg", NULL, 0640, 0, 0, 0),
	S(MKNOD, "dirn", NULL, S_IFDIR | 0755, 0, 0, 0),
	S(MKNOD, "bad", NULL, 0170000 | 0644, 0, 0, 0),
	S(MKNOD, "reg", NULL, 0640, 0, 0, 0),
	S(MKNOD, "reg2/", NULL, 0640, 0, 0, 0),
	S(MKNOD, "chr", NULL, S_IFCHR | 0600, 0, 0, 0),
	S(MKNOD, "null", NULL, S_IFCHR | 0600, 0x103, 0, 0),
	S(STAT, "null", NULL, 0, 0, 0, 0),
	S(STAT, "chr", NULL, 0, 0, 0, 0),
	S(STAT, "fifo", NULL, 0, 0, 0, 0),
	S(STAT, "sock", NULL, 0, 0, 0, 0),
	S(STAT, "reg", NULL, 0, 0, 0, 0),
	S(OPEN, "sock", NULL, O_RDONLY, 0, 0, 0),
	S(LIST, ".", NULL, 0, 0, 0, 0),
	END
};

static const struct step tab_links[] = {
	S(OPEN, "f", NULL, CR, 0644, 0, 0),
	S(WRITE, NULL, NULL, 300, 0, 7, 0),
	S(MKDIR, "d", NULL, 0755, 0, 0, 0),
	S(SYMLINK, "f", "l", 0, 0, 0, 0),
	S(LSTAT, "l", NULL, 0, 0, 0, 0),
	S(STAT, "l", NULL, 0, 0, 0, 0),
	S(READLINK, "l", NULL, 100, 0, 0, 0),
	S(READLINK, "l", NULL, 0, 0, 0, 0),
	S(READLINK, "f", NULL, 100, 0, 0, 0),
	S(READLINK, "nope", NULL, 100, 0, 0, 0),
	S(OPEN, "l", NULL, O_RDONLY, 0, 0, 1),
	S(READ, NULL, NULL, 400, 0, 0, 1),
	S(OPEN, "l", NULL, O_RDONLY | O_NOFOLLOW, 0, 0, 1),
	S(OPEN, "l", NULL, O_CREAT | O_EXCL | O_WRONLY, 0644, 0, 1),
	S(SYMLINK, "f", "l", 0, 0, 0, 0),
	S(SYMLINK, "f", "new/", 0, 0, 0, 0),
	S(SYMLINK, "", "empty", 0, 0, 0, 0),
	S(SYMLINK, "nowhere", "dl", 0, 0, 0, 0),
	S(STAT, "dl", NULL, 0, 0, 0, 0),
	S(OPEN, "dl", NULL, O_CREAT | O_WRONLY, 0600, 0, 1),
	S(STAT, "nowhere", NULL, 0, 0, 0, 0),
	S(SYMLINK, "loop", "loop", 0, 0, 0, 0),
	S(OPEN, "loop", NULL, O_RDONLY, 0, 0, 1),
	S(STAT, "loop", NULL, 0, 0, 0, 0),
	S(STAT, "loop/x", NULL, 0, 0, 0, 0),
	S(LSTAT, "loop", NULL, 0, 0, 0, 0),
	S(SYMLINK, "d", "ld", 0, 0, 0, 0),
	S(SYMLINK, "../f", "d/up", 0, 0, 0, 0),
	S(STAT, "d/up", NULL, 0, 0, 0, 0),
	S(STAT, "ld/", NULL, 0, 0, 0, 0),
	S(LSTAT, "ld/", NULL, 0, 0, 0, 0),
	S(LSTAT, "ld", NULL, 0, 0, 0, 0),
	S(STAT, "ld/up", NULL, 0, 0, 0, 0),
	S(STAT, "l/", NULL, 0, 0, 0, 0),
	S(UNLINK, "ld/", NULL, 0, 0, 0, 0),
	S(RMDIR, "ld/", NULL, 0, 0, 0, 0),
	S(MKDIR, "ld/", NULL, 0755, 0, 0, 0),
	S(STAT, "d", NULL, 0, 0, 0, 0),
	S(LINK, "f", "hl", 0, 0, 0, 0),
	S(STAT, "f", NULL, 0, 0, 0, 0),
	S(LINK, "d", "dlink", 0, 0, 0, 0),
	S(LINK, "nope", "x", 0, 0, 0, 0),
	S(LINK, "f", "hl", 0, 0, 0, 0),
	S(LINK, "f", "nodir/x", 0, 0, 0, 0),
	S(LINK, "f", "hl9/", 0, 0, 0, 0),
	S(LINK, "f/", "hl9", 0, 0, 0, 0),
	S(LINK, "l", "hl2", 0, 0, 0, 0),
	S(LSTAT, "hl2", NULL, 0, 0, 0, 0),
	S(LINKF, "l", "hl3", 0, 0, 0, 0),
	S(STAT, "f", NULL, 0, 0, 0, 0),
	S(LSTAT, "l", NULL, 0, 0, 0, 0),
	S(UNLINK, "hl", NULL, 0, 0, 0, 0),
	S(STAT, "hl3", NULL, 0, 0, 0, 0),
	S(UNLINK, "l", NULL, 0, 0, 0, 0),
	S(LSTAT, "hl2", NULL, 0, 0, 0, 0),
	S(LIST, ".", NULL, 0, 0, 0, 0),
	S(CLOSE, NULL, NULL, 0, 0, 0, 0),
	S(CLOSE, NULL, NULL, 0, 0, 0, 1),
	END
};

static const struct step tab_rename[] = {
	S(OPEN, "f", NULL, CR, 0644, 0, 0),
	S(WRITE, NULL, NULL, 5000, 0, 9, 0),
	S(CLOSE, NULL, NULL, 0, 0, 0, 0),
	S(LINK, "f", "h", 0, 0, 0, 0),
	S(MKDIR, "d", NULL, 0755, 0, 0, 0),
	S(MKDIR, "d/sub", NULL, 0755, 0, 0, 0),
	S(MKDIR, "e", NULL, 0755, 0, 0, 0),
	S(MKDIR, "e/x", NULL, 0755, 0, 0, 0),
	S(RENAME, "f", "g", 0, 0, 0, 0),
	S(STAT, "g", NULL, 0, 0, 0, 0),
	S(STAT, "f", NULL, 0, 0, 0, 0),
	S(RENAME, "g", "g", 0, 0, 0, 0),
	S(RENAME, "g", "h", 0, 0, 0, 0),
	S(STAT, "g", NULL, 0, 0, 0, 0),
	S(STAT, "h", NULL, 0, 0, 0, 0),
	S(RENAME, "d", "d/sub/x", 0, 0, 0, 0),
	S(RENAME, "d", "d/sub", 0, 0, 0, 0),
	S(RENAME, "d/sub", "d", 0, 0, 0, 0),
	S(RENAME, "d", "g", 0, 0, 0, 0),
	S(RENAME, "g", "d", 0, 0, 0, 0),
	S(RENAME, "d", "e", 0, 0, 0, 0),
	S(RENAME, "nope", "z", 0, 0, 0, 0),
	S(RENAME, "g", ".", 0, 0, 0, 0),
	S(RENAME, ".", "z", 0, 0, 0, 0),
	S(RENAME, "d/sub/..", "z", 0, 0, 0, 0),
	S(RENAME, "g", "nodir/z", 0, 0, 0, 0),
	S(RENAME, "g", "z/", 0, 0, 0, 0),
	S(RENAME, "g/", "z", 0, 0, 0, 0),
	S(RENAME, "d/", "dd/", 0, 0, 0, 0),
	S(RENAME, "dd", "d", 0, 0, 0, 0),
	S(RMDIR, "e/x", NULL, 0, 0, 0, 0),
	S(RENAME, "d", "e", 0, 0, 0, 0),
	S(STAT, "e", NULL, 0, 0, 0, 0),
	S(STAT, "e/sub", NULL, 0, 0, 0, 0),
	S(STAT, "d", NULL, 0, 0, 0, 0),
	S(STAT, ".", NULL, 0, 0, 0, 0),
	S(MKDIR, "d", NULL, 0755, 0, 0, 0),
	S(RENAME, "e/sub", "d/sub2", 0, 0, 0, 0),
	S(STAT, "e", NULL, 0, 0, 0, 0),
	S(STAT, "d", NULL, 0, 0, 0, 0),
	S(RENAME, "g", "h", RENAME_NOREPLACE, 0, 0, 0),
	S(RENAME, "g", "k", RENAME_NOREPLACE, 0, 0, 0),
	S(RENAME, "k", "g", RENAME_NOREPLACE | RENAME_EXCHANGE, 0, 0, 0),
	S(RENAME, "k", "nope", RENAME_EXCHANGE, 0, 0, 0),
	S(RENAME, "k", "d/sub2", RENAME_EXCHANGE, 0, 0, 0),
	S(STAT, "k", NULL, 0, 0, 0, 0),
	S(STAT, "d/sub2", NULL, 0, 0, 0, 0),
	S(STAT, "d", NULL, 0, 0, 0, 0),
	S(STAT, ".", NULL, 0, 0, 0, 0),
	S(RENAME, "k", "k/x", RENAME_EXCHANGE, 0, 0, 0),
	S(RENAME, "d", "e", RENAME_EXCHANGE, 0, 0, 0),
	S(RENAME, "d/sub2", "k", 0x40, 0, 0, 0),
	S(LIST, ".", NULL, 0, 0, 0, 0),
	S(LIST, "d", NULL, 0, 0, 0, 0),
	S(LIST, "e", NULL, 0, 0, 0, 0),
	S(MKDIR, "full", NULL, 0755, 0, 0, 0),
	S(MKDIR, "full/x", NULL, 0755, 0, 0, 0),
	S(RENAME, "full", "e", RENAME_NOREPLACE, 0, 0, 0),
	S(RENAME, "e", "full", 0, 0, 0, 0),
	END
};

static const struct step tab_attrs[] = {
	S(OPEN, "f", NULL, CR, 0644, 0, 0),
	S(MKDIR, "d", NULL, 0755, 0, 0, 0),
	S(SYMLINK, "f", "l", 0, 0, 0, 0),
	S(CHMOD, "f", NULL, 0700, 0, 0, 0),
	S(STAT, "f", NULL, 0, 0, 0, 0),
	S(CHMOD, "f", NULL, 06755, 0, 0, 0),
	S(CHOWN, "f", NULL, 1000, 2000, 0, 0),
	S(STAT, "f", NULL, 0, 0, 0, 0),
	S(CHMOD, "f", NULL, 02644, 0, 0, 0),
	S(CHOWN, "f", NULL, -1, -1, 0, 0),
	S(STAT, "f", NULL, 0, 0, 0, 0),
	S(CHMOD, "d", NULL, 07755, 0, 0, 0),
	S(CHOWN, "d", NULL, 5, 5, 0, 0),
	S(STAT, "d", NULL, 0, 0, 0, 0),
	S(LCHOWN, "l", NULL, 7, 8, 0, 0),
	S(LSTAT, "l", NULL, 0, 0, 0, 0),
	S(STAT, "l", NULL, 0, 0, 0, 0),
	S(FCHMOD, NULL, NULL, 0640, 0, 0, 0),
	S(FSTAT, NULL, NULL, 0, 0, 0, 0),
	S(UTIMES, "f", NULL, 1000, 2000, 0, 0),
	S(STATTIME, "f", NULL, 0, 0, 0, 0),
	S(UTIMES, "l", NULL, 3000, 4000, 1, 0),
	S(ACCESS, "f", NULL, R_OK | W_OK, 0, 0, 0),
	S(ACCESS, "f", NULL, X_OK, 0, 0, 0),
	S(ACCESS, "d", NULL, X_OK, 0, 0, 0),
	S(ACCESS, "f", NULL, F_OK, 0, 0, 0),
	S(ACCESS, "nope", NULL, F_OK, 0, 0, 0),
	S(ACCESS, "f", NULL, 8, 0, 0, 0),
	S(CHMOD, "f", NULL, 0010, 0, 0, 0),
	S(ACCESS, "f", NULL, X_OK, 0, 0, 0),
	S(EACCESS, "f", NULL, R_OK | X_OK, 0, 0, 0),
	S(CHMOD, "nope", NULL, 0644, 0, 0, 0),
	S(UTRAW, "nope", NULL, UTIME_OMIT, UTIME_OMIT, 0, 0),
	S(UTRAW, "nope", NULL, 2000000000, UTIME_OMIT, 0, 0),
	S(UTRAW, "f", NULL, -5, 0, 0, 0),
	S(SNAP, "f", NULL, 0, 0, 0, 0),
	S(UTRAW, "f", NULL, UTIME_OMIT, UTIME_OMIT, 0, 0),
	S(TIMES, "f", NULL, 0, 0, 0, 0),
	S(SNAP, "f", NULL, 0, 0, 0, 0),
	S(UTRAW, "f", NULL, UTIME_OMIT, 5, 0, 0),
	S(TIMES, "f", NULL, 0, 0, 0, 0),
	S(SNAP, "f", NULL, 0, 0, 0, 0),
	S(UTRAW, "f", NULL, UTIME_NOW, UTIME_OMIT, 0, 0),
	S(TIMES, "f", NULL, 0, 0, 0, 0),
	/* times: which of a, m, c move (ordering only) */
	S(CHMOD, "f", NULL, 0644, 0, 0, 0),
	S(SNAP, "f", NULL, 0, 0, 0, 0),
	S(WRITE, NULL, NULL, 10, 0, 1, 0),
	S(TIMES, "f", NULL, 0, 0, 0, 0),
	S(SNAP, "f", NULL, 0, 0, 0, 0),
	S(PREAD, NULL, NULL, 10, 0, 0, 0),
	S(TIMES, "f", NULL, 0, 0, 0, 0),
	S(SNAP, "f", NULL, 0, 0, 0, 0),
	S(PREAD, NULL, NULL, 10, 0, 0, 0),
	S(TIMES, "f", NULL, 0, 0, 0, 0),
	S(SNAP, "f", NULL, 0, 0, 0, 0),
	S(CHMOD, "f", NULL, 0600, 0, 0, 0),
	S(TIMES, "f", NULL, 0, 0, 0, 0),
	S(SNAP, "f", NULL, 0, 0, 0, 0),
	S(LINK, "f", "f2", 0, 0, 0, 0),
	S(TIMES, "f", NULL, 0, 0, 0, 0),
	S(SNAP, "f", NULL, 0, 0, 0, 0),
	S(TRUNC, NULL, NULL, 3, 0, 0, 0),
	S(TIMES, "f", NULL, 0, 0, 0, 0),
	S(SNAP, "f", NULL, 0, 0, 0, 0),
	S(UTNOW, "f", NULL, 0, 0, 0, 0),
	S(TIMES, "f", NULL, 0, 0, 0, 0),
	S(SNAP, "f", NULL, 0, 0, 0, 0),
	S(RENAME, "f2", "f3", 0, 0, 0, 0),
	S(TIMES, "f", NULL, 0, 0, 0, 0),
	S(SNAP, "d", NULL, 0, 0, 0, 0),
	S(MKDIR, "d/x", NULL, 0755, 0, 0, 0),
	S(TIMES, "d", NULL, 0, 0, 0, 0),
	S(SNAP, "d", NULL, 0, 0, 0, 0),
	S(RMDIR, "d/x", NULL, 0, 0, 0, 0),
	S(TIMES, "d", NULL, 0, 0, 0, 0),
	S(SNAP, "d", NULL, 0, 0, 0, 0),
	S(LIST, "d", NULL, 0, 0, 0, 0),
	S(TIMES, "d", NULL, 0, 0, 0, 0),
	S(SNAP, "f", NULL, 0, 0, 0, 0),
	S(OPEN, "f", NULL, O_WRONLY | O_TRUNC, 0, 0, 1),
	S(TIMES, "f", NULL, 0, 0, 0, 0),
	S(CLOSE, NULL, NULL, 0, 0, 0, 0),
	S(CLOSE, NULL, NULL, 0, 0, 0, 1),
	END
};

static const struct step tab_special[] = {
	/* O_TMPFILE */
	S(MKDIR, "d", NULL, 0755, 0, 0, 0),
	S(OPEN, "d", NULL, O_TMPFILE | O_RDWR, 0600, 0, 0),
	S(WRITE, NULL, NULL, 5000, 0, 3, 0),
	S(FSTAT, NULL, NULL, 0, 0, 0, 0),
	S(LIST, "d", NULL, 0, 0, 0, 0),
	S(LINKAT_FD, NULL, "d/named", 0, 0, 0, 0),
	S(STAT, "d/named", NULL, 0, 0, 0, 0),
	S(FSTAT, NULL, NULL, 0, 0, 0, 0),
	S(OPEN, "d", NULL, O_TMPFILE | O_RDONLY, 0600, 0, 1),
	S(OPEN, "d/named", NULL, O_TMPFILE | O_RDWR, 0600, 0, 1),
	S(OPEN, "d", NULL, O_TMPFILE | O_RDWR | O_CREAT, 0600, 0, 1),
	S(OPEN, "d", NULL, O_TMPFILE | O_RDWR | O_EXCL, 0600, 0, 1),
	S(LINKAT_FD, NULL, "d/excl", 0, 0, 0, 1),
	S(CLOSE, NULL, NULL, 0, 0, 0, 1),
	/* unlinked but open */
	S(OPEN, "u", NULL, CR, 0644, 0, 2),
	S(WRITE, NULL, NULL, 9000, 0, 4, 2),
	S(UNLINK, "u", NULL, 0, 0, 0, 0),
	S(FSTAT, NULL, NULL, 0, 0, 0, 2),
	S(PREAD, NULL, NULL, 9000, 0, 0, 2),
	S(PWRITE, NULL, NULL, 100, 20000, 5, 2),
	S(FSTAT, NULL, NULL, 0, 0, 0, 2),
	S(CLOSE, NULL, NULL, 0, 0, 0, 2),
	/* fallocate */
	S(OPEN, "fa", NULL, CR, 0644, 0, 3),
	S(WRITE, NULL, NULL, 20000, 0, 6, 3),
	S(FALLOC, NULL, NULL, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 4096, 3),
	S(FSTAT, NULL, NULL, 0, 0, 0, 3),
	S(PREAD, NULL, NULL, 20000, 0, 0, 3),
	S(SEEK, NULL, NULL, 4096, SEEK_DATA, 0, 3),
	S(SEEK, NULL, NULL, 0, SEEK_HOLE, 0, 3),
	S(FALLOC, NULL, NULL, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100, 50, 3),
	S(FALLOC, NULL, NULL, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 10000, 7000, 3),
	S(PREAD, NULL, NULL, 20000, 0, 0, 3),
	S(FSTAT, NULL, NULL, 0, 0, 0, 3),
	S(FALLOC, NULL, NULL, FALLOC_FL_PUNCH_HOLE, 0, 10, 3),
	S(FALLOC, NULL, NULL, 0, 0, 0, 3),
	S(FALLOC, NULL, NULL, 0, -1, 10, 3),
	S(FALLOC, NULL, NULL, FALLOC_FL_ZERO_RANGE, 0, 10, 3),
	S(FALLOC, NULL, NULL, 0, 30000, 10000, 3),
	S(FSTAT, NULL, NULL, 0, 0, 0, 3),
	S(FALLOC, NULL, NULL, FALLOC_FL_KEEP_SIZE, 50000, 10000, 3),
	S(FSTAT, NULL, NULL, 0, 0, 0, 3),
	S(TRUNC, NULL, NULL, 45000, 0, 0, 3),
	S(FSTAT, NULL, NULL, 0, 0, 0, 3),
	S(CLOSE, NULL, NULL, 0, 0, 0, 3),
	/* fallocated pages are holes for SEEK_DATA until written */
	S(OPEN, "fz", NULL, CR, 0644, 0, 3),
	S(FALLOC, NULL, NULL, 0, 0, 16384, 3),
	S(SEEK, NULL, NULL, 0, SEEK_DATA, 0, 3),
	S(SEEK, NULL, NULL, 0, SEEK_HOLE, 0, 3),
	S(PWRITE, NULL, NULL, 1, 8192, 1, 3),
	S(SEEK, NULL, NULL, 0, SEEK_DATA, 0, 3),
	S(SEEK, NULL, NULL, 0, SEEK_HOLE, 0, 3),
	S(SEEK, NULL, NULL, 8192, SEEK_HOLE, 0, 3),
	S(SEEK, NULL, NULL, 9000, SEEK_DATA, 0, 3),
	S(SEEK, NULL, NULL, 12288, SEEK_DATA, 0, 3),
	S(FSTAT, NULL, NULL, 0, 0, 0, 3),
	S(PREAD, NULL, NULL, 16384, 0, 0, 3),
	S(PWRITE, NULL, NULL, 100, 16000, 2, 3),
	S(SEEK, NULL, NULL, 9000, SEEK_DATA, 0, 3),
	S(SEEK, NULL, NULL, 12288, SEEK_HOLE, 0, 3),
	S(FALLOC, NULL, NULL, FALLOC_FL_KEEP_SIZE, 0, 40000, 3),
	S(FSTAT, NULL, NULL, 0, 0, 0, 3),
	S(SEEK, NULL, NULL, 0, SEEK_DATA, 0, 3),
	S(SEEK, NULL, NULL, 16000, SEEK_HOLE, 0, 3),
	S(FALLOC, NULL, NULL, 0, 0, 40000, 3),
	S(SEEK, NULL, NULL, 16384, SEEK_HOLE, 0, 3),
	S(SEEK, NULL, NULL, 20000, SEEK_DATA, 0, 3),
	S(FALLOC, NULL, NULL, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 8192, 4096, 3),
	S(SEEK, NULL, NULL, 0, SEEK_DATA, 0, 3),
	S(FSTAT, NULL, NULL, 0, 0, 0, 3),
	S(CLOSE, NULL, NULL, 0, 0, 0, 3),
	S(OPEN, "d", NULL, O_RDONLY, 0, 0, 3),
	S(FALLOC, NULL, NULL, 0, 0, 10, 3),
	S(CLOSE, NULL, NULL, 0, 0, 0, 3),
	S(CLOSE, NULL, NULL, 0, 0, 0, 0),
	END
};

/* Run as uid 1000, gid 1000, groups {1000, 2000}, after tab_perm_setup as
 * root. */
static const struct step tab_perm_setup[] = {
	S(MKDIR, "p", NULL, 0777, 0, 0, 0),
	S(CHMOD, "p", NULL, 0777, 0, 0, 0),
	S(OPEN, "p/r600", NULL, CR, 0600, 0, 0),
	S(OPEN, "p/r644", NULL, CR, 0644, 0, 0),
	S(OPEN, "p/r666", NULL, CR, 0666, 0, 0),
	S(CHMOD, "p/r666", NULL, 0666, 0, 0, 0),
	S(OPEN, "p/g060", NULL, CR, 0060, 0, 0),
	S(CHOWN, "p/g060", NULL, 0, 2000, 0, 0),
	S(OPEN, "p/o604", NULL, CR, 0604, 0, 0),
	S(MKDIR, "p/noexec", NULL, 0766, 0, 0, 0),
	S(CHMOD, "p/noexec", NULL, 0766, 0, 0, 0),
	S(OPEN, "p/noexec/x", NULL, CR, 0666, 0, 0),
	S(MKDIR, "p/r755", NULL, 0755, 0, 0, 0),
	S(OPEN, "p/r755/f", NULL, CR, 0666, 0, 0),
	S(MKDIR, "p/sticky", NULL, 01777, 0, 0, 0),
	S(CHMOD, "p/sticky", NULL, 01777, 0, 0, 0),
	S(OPEN, "p/sticky/rootf", NULL, CR, 0666, 0, 0),
	S(CHMOD, "p/sticky/rootf", NULL, 0666, 0, 0, 0),
	S(MKDIR, "p/sgid", NULL, 02777, 0, 0, 0),
	S(CHOWN, "p/sgid", NULL, 0, 2000, 0, 0),
	S(CHMOD, "p/sgid", NULL, 02777, 0, 0, 0),
	S(MKDIR, "p/sg3", NULL, 02777, 0, 0, 0),
	S(CHOWN, "p/sg3", NULL, 0, 3000, 0, 0),
	S(CHMOD, "p/sg3", NULL, 02777, 0, 0, 0),
	S(MKDIR, "p/mine", NULL, 0755, 0, 0, 0),
	S(CHOWN, "p/mine", NULL, 1000, 1000, 0, 0),
	S(CLOSE, NULL, NULL, 0, 0, 0, 0),
	END
};

static const struct step tab_perm[] = {
	S(OPEN, "p/r600", NULL, O_RDONLY, 0, 0, 0),
	S(OPEN, "p/r644", NULL, O_RDONLY, 0, 0, 0),
	S(OPEN, "p/r644", NULL, O_WRONLY, 0, 0, 1),
	S(OPEN, "p/r644", NULL, O_RDONLY | O_TRUNC, 0, 0, 1),
	S(OPEN, "p/r644", NULL, O_RDONLY | O_NOATIME, 0, 0, 1),
	S(OPEN, "p/g060", NULL, O_RDWR, 0, 0, 1),
	S(OPEN, "p/o604", NULL, O_RDONLY, 0, 0, 2),
	S(OPEN, "p/noexec/x", NULL, O_RDONLY, 0, 0, 2),
	S(ACCESS, "p/noexec/x", NULL, F_OK, 0, 0, 0),
	S(LIST, "p/noexec", NULL, 0, 0, 0, 0),
	S(MKDIR, "p/r755/x", NULL, 0755, 0, 0, 0),
	S(UNLINK, "p/r755/f", NULL, 0, 0, 0, 0),
	S(RENAME, "p/r755/f", "p/moved", 0, 0, 0, 0),
	S(RENAME, "p/r644", "p/r755/x", 0, 0, 0, 0),
	S(CHMOD, "p/r644", NULL, 0777, 0, 0, 0),
	S(CHOWN, "p/r644", NULL, 1000, -1, 0, 0),
	S(UTNOW, "p/r666", NULL, 0, 0, 0, 0),
	S(UTIMES, "p/r666", NULL, 5, 5, 0, 0),
	S(UTNOW, "p/r644", NULL, 0, 0, 0, 0),
	S(ACCESS, "p/r644", NULL, W_OK, 0, 0, 0),
	S(ACCESS, "p/r644", NULL, R_OK, 0, 0, 0),
	S(EACCESS, "p/r600", NULL, R_OK, 0, 0, 0),
	S(LINK, "p/r600", "p/mylink", 0, 0, 0, 0),
	S(LINK, "p/r666", "p/mylink", 0, 0, 0, 0),
	S(OPEN, "p/own", NULL, CR, 02755, 0, 3),
	S(STAT, "p/own", NULL, 0, 0, 0, 0),
	S(CHOWN, "p/own", NULL, -1, 2000, 0, 0),
	S(STAT, "p/own", NULL, 0, 0, 0, 0),
	S(CHOWN, "p/own", NULL, -1, 3000, 0, 0),
	S(CHOWN, "p/own", NULL, 0, -1, 0, 0),
	S(CHMOD, "p/own", NULL, 02755, 0, 0, 0),
	S(STAT, "p/own", NULL, 0, 0, 0, 0),
	S(CHMOD, "p/own", NULL, 04711, 0, 0, 0),
	S(STAT, "p/own", NULL, 0, 0, 0, 0),
	S(OPEN, "p/sgid/f", NULL, CR, 02755, 0, 4),
	S(STAT, "p/sgid/f", NULL, 0, 0, 0, 0),
	S(MKDIR, "p/sgid/dd", NULL, 0755, 0, 0, 0),
	S(STAT, "p/sgid/dd", NULL, 0, 0, 0, 0),
	S(OPEN, "p/sg3/f", NULL, CR, 02755, 0, 4),
	S(STAT, "p/sg3/f", NULL, 0, 0, 0, 0),
	S(UNLINK, "p/sticky/rootf", NULL, 0, 0, 0, 0),
	S(RENAME, "p/sticky/rootf", "p/sticky/x", 0, 0, 0, 0),
	S(OPEN, "p/sticky/mine", NULL, CR, 0644, 0, 4),
	S(RENAME, "p/sticky/mine", "p/sticky/rootf", 0, 0, 0, 0),
	S(OPEN, "p/sticky/mine2", NULL, CR, 0644, 0, 4),
	S(UNLINK, "p/sticky/mine2", NULL, 0, 0, 0, 0),
	S(MKDIR, "p/mine/sub", NULL, 0555, 0, 0, 0),
	S(RENAME, "p/mine/sub", "p/msub", 0, 0, 0, 0),
	S(OPEN, "p/mine/sub/f", NULL, CR, 0644, 0, 4),
	S(RMDIR, "p/mine/sub", NULL, 0, 0, 0, 0),
	S(MKNOD, "p/chr", NULL, S_IFCHR | 0644, 0, 0, 0),
	S(MKNOD, "p/r755/chr", NULL, S_IFCHR | 0644, 0, 0, 0),
	S(MKNOD, "p/r644", NULL, S_IFCHR | 0644, 0, 0, 0),
	S(MKNOD, "p/null", NULL, S_IFCHR | 0644, 0x103, 0, 0),
	S(MKNOD, "p/blk", NULL, S_IFBLK | 0644, 0, 0, 0),
	S(MKNOD, "p/fifo", NULL, S_IFIFO | 0644, 0, 0, 0),
	S(STAT, "p/fifo", NULL, 0, 0, 0, 0),
	S(OPEN, "p", NULL, O_TMPFILE | O_RDWR, 0600, 0, 5),
	S(OPEN, "p/r755", NULL, O_TMPFILE | O_RDWR, 0600, 0, 5),
	S(LIST, "p", NULL, 0, 0, 0, 0),
	S(CLOSE, NULL, NULL, 0, 0, 0, 0),
	S(CLOSE, NULL, NULL, 0, 0, 0, 1),
	S(CLOSE, NULL, NULL, 0, 0, 0, 2),
	S(CLOSE, NULL, NULL, 0, 0, 0, 3),
	S(CLOSE, NULL, NULL, 0, 0, 0, 4),
	S(CLOSE, NULL, NULL, 0, 0, 0, 5),
	END
};

/* ---- running the tables against the kernel ---- */

static void ramfs_root_0777(struct tfs *t)
{
	struct vfs_attr a = { .mask = VFS_ATTR_MODE, .mode = 0777 };
	struct tpath p;

	ramfs_ops.setattr(tp(&p, t, 0, "/", 0), 0, &a, &root_cred);
}

static void group_table(const char *name, const struct step *tab)
{
	struct tfs t;
	struct env e;
	int base = kdir_new();

	printf("-- %s\n", name);
	tfs_open(&t, 64 << 20);
	ramfs_root_0777(&t);
	env_init(&e, &t, base);
	run_table(&e, tab, 0);
	env_fini(&e);
	tfs_fsck(&t, name);
	tfs_close(&t);
	close(base);
}

/* Send the child's counters to the parent through a pipe. */
static unsigned long fork_passed, fork_failed;     /* counters at fork */

static pid_t fork_counted(void)
{
	fflush(stdout);
	fork_passed = passed;
	fork_failed = failed;
	return fork();
}

static void child_report(int fd)
{
	unsigned long c[2] = { passed - fork_passed, failed - fork_failed };

	fflush(stdout);
	if (write(fd, c, sizeof(c)) != sizeof(c))
		_exit(3);
	_exit(0);
}

static void child_collect(int fd, pid_t pid, const char *what)
{
	unsigned long c[2] = { 0, 0 };
	int st;

	if (read(fd, c, sizeof(c)) != sizeof(c))
		c[1] = 1;
	waitpid(pid, &st, 0);
	passed += c[0];
	failed += c[1];
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: child exit status %d", what, st);
}

static void group_perm(void)
{
	gid_t groups[2] = { 1000, 2000 };
	struct tfs t;
	struct env e;
	int base = kdir_new(), pfd[2];
	pid_t pid;

	printf("-- permissions as uid 1000\n");
	if (geteuid() != 0) {
		printf("   (not root: skipped)\n");
		return;
	}
	tfs_open(&t, 64 << 20);
	ramfs_root_0777(&t);
	env_init(&e, &t, base);
	run_table(&e, tab_perm_setup, 0);
	if (pipe(pfd) < 0)
		exit(2);
	pid = fork_counted();
	if (pid == 0) {
		if (setgroups(2, groups) < 0 || setresgid(1000, 1000, 1000) < 0 ||
		    setresuid(1000, 1000, 1000) < 0)
			_exit(4);
		e.cred = (struct vfs_cred){ .uid = 1000, .gid = 1000, .ruid = 1000, .rgid = 1000,
					    .ngroups = 2, .groups = { 1000, 2000 }, .umask = 022 };
		run_table(&e, tab_perm, 0);
		env_fini(&e);
		child_report(pfd[1]);
	}
	child_collect(pfd[0], pid, "permissions");
	close(pfd[0]);
	close(pfd[1]);
	env_fini(&e);
	tfs_fsck(&t, "permissions");
	tfs_close(&t);
	close(base);
}

/* ---- random operations against the kernel ---- */

static unsigned rnd(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return (*s >> 8) % 100000;
}

static void rnd_path(unsigned *sd, char *buf)
{
	static const char *dirs[] = { "", "a/", "b/", "a/c/", "b/a/" };
	static const char *names[] = { "x", "y", "a", "b", "c", "z" };

	sprintf(buf, "%s%s", dirs[rnd(sd) % 5], names[rnd(sd) % 6]);
}

static void rnd_step(struct env *e, unsigned *sd, int i)
{
	static char pa[64], pb[64];
	static const unsigned rflags[] = { 0, 0, RENAME_NOREPLACE, RENAME_EXCHANGE };
	struct step s = { .a = pa, .b = pb };
	unsigned k = rnd(sd) % 21;

	rnd_path(sd, pa);
	rnd_path(sd, pb);
	switch (k) {
	case 0: case 1:
		s = (struct step){ OP_OPEN, pa, NULL, O_CREAT | O_RDWR, 0644, 0, 0 };
		step_run(e, &s, i);
		s = (struct step){ OP_PWRITE, NULL, NULL, rnd(sd) % 20000, rnd(sd) % 30000,
				   (long)rnd(sd), 0 };
		break;
	case 2: {
		static const char *dirs[] = { "a", "b", "a/c", "b/a", "a/c/y" };

		s = (struct step){ OP_MKDIR, rnd(sd) % 3 ? dirs[rnd(sd) % 5] : pa, NULL, 0755, 0, 0, 0 };
		break;
	}
	case 3: s = (struct step){ OP_UNLINK, pa, NULL, 0, 0, 0, 0 }; break;
	case 4: s = (struct step){ OP_RMDIR, pa, NULL, 0, 0, 0, 0 }; break;
	case 5: case 6:
		s = (struct step){ OP_RENAME, pa, pb, rflags[rnd(sd) % 4], 0, 0, 0 };
		break;
	case 7: s = (struct step){ OP_LINK, pa, pb, 0, 0, 0, 0 }; break;
	case 8:
		if (rnd(sd) % 3)
			return;
		s = (struct step){ OP_SYMLINK, rnd(sd) % 2 ? "x" : "a/x", pa, 0, 0, 0, 0 };
		break;
	case 9: s = (struct step){ OP_LSTAT, pa, NULL, 0, 0, 0, 0 }; break;
	case 10: s = (struct step){ OP_STAT, pa, NULL, 0, 0, 0, 0 }; break;
	case 11: s = (struct step){ OP_LIST, rnd(sd) % 2 ? "a" : ".", NULL, 0, 0, 0, 0 }; break;
	case 12:
		s = (struct step){ OP_OPEN, pa, NULL, O_RDWR, 0, 0, 0 };
		if (!step_run(e, &s, i) || e->kfd[0] < 0)
			return;
		s = (struct step){ OP_TRUNC, NULL, NULL, rnd(sd) % 40000, 0, 0, 0 };
		break;
	case 13: s = (struct step){ OP_PREAD, NULL, NULL, 30000, rnd(sd) % 10000, 0, 0 }; break;
	case 14: s = (struct step){ OP_READLINK, pa, NULL, 64, 0, 0, 0 }; break;
	case 15: s = (struct step){ OP_FSTAT, NULL, NULL, 0, 0, 0, 0 }; break;
	case 16:
		s = (struct step){ OP_FALLOC, NULL, NULL, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				   rnd(sd) % 30000, rnd(sd) % 20000 + 1, 0 };
		break;
	case 20:
		s = (struct step){ OP_FALLOC, NULL, NULL, rnd(sd) % 2 ? FALLOC_FL_KEEP_SIZE : 0,
				   rnd(sd) % 30000, rnd(sd) % 20000 + 1, 0 };
		break;
	case 17:
		s = (struct step){ OP_SEEK, NULL, NULL, rnd(sd) % 40000,
				   rnd(sd) % 2 ? SEEK_DATA : SEEK_HOLE, 0, 0 };
		break;
	case 18: s = (struct step){ OP_CHMOD, pa, NULL, rnd(sd) % 07777, 0, 0, 0 }; break;
	default: s = (struct step){ OP_CLOSE, NULL, NULL, 0, 0, 0, 0 }; break;
	}
	if ((s.op == OP_PWRITE || s.op == OP_PREAD || s.op == OP_FSTAT || s.op == OP_FALLOC ||
	     s.op == OP_SEEK || s.op == OP_CLOSE) && e->kfd[0] < 0)
		return;
	step_run(e, &s, i);
}

static void group_random(unsigned seed, int steps)
{
	struct tfs t;
	struct env e;
	int base = kdir_new();
	unsigned long f0 = failed;

	printf("-- random, seed %u, %d steps\n", seed, steps);
	tfs_open(&t, 64 << 20);
	ramfs_root_0777(&t);
	env_init(&e, &t, base);
	for (int i = 0; i < steps && failed - f0 < 20; i++)
		rnd_step(&e, &seed, i);
	env_fini(&e);
	tfs_fsck(&t, "random");
	tfs_close(&t);
	close(base);
}

/* Root builds a tree of mixed owners and modes; uid 1000 then walks it
 * at random (permission errors, sticky, setgid), the kernel judging. */
static const struct step tab_user_setup[] = {
	S(MKDIR, "a", NULL, 0755, 0, 0, 0),
	S(MKDIR, "b", NULL, 0777, 0, 0, 0),
	S(CHMOD, "b", NULL, 01777, 0, 0, 0),
	S(MKDIR, "b/a", NULL, 0777, 0, 0, 0),
	S(CHMOD, "b/a", NULL, 02777, 0, 0, 0),
	S(CHOWN, "b/a", NULL, 0, 2000, 0, 0),
	S(OPEN, "a/x", NULL, CR, 0644, 0, 0),
	S(OPEN, "b/y", NULL, CR, 0666, 0, 0),
	S(CHMOD, "b/y", NULL, 0666, 0, 0, 0),
	S(MKDIR, "a/c", NULL, 0777, 0, 0, 0),
	S(CHMOD, "a/c", NULL, 0777, 0, 0, 0),
	S(CLOSE, NULL, NULL, 0, 0, 0, 0),
	END
};

static void group_random_user(unsigned seed, int steps)
{
	gid_t groups[2] = { 1000, 2000 };
	struct tfs t;
	struct env e;
	int base = kdir_new(), pfd[2];
	pid_t pid;

	printf("-- random as uid 1000, seed %u, %d steps\n", seed, steps);
	if (geteuid() != 0) {
		printf("   (not root: skipped)\n");
		return;
	}
	tfs_open(&t, 64 << 20);
	ramfs_root_0777(&t);
	env_init(&e, &t, base);
	run_table(&e, tab_user_setup, 0);
	if (pipe(pfd) < 0)
		exit(2);
	pid = fork_counted();
	if (pid == 0) {
		unsigned long f0 = failed;

		if (setgroups(2, groups) < 0 || setresgid(1000, 1000, 1000) < 0 ||
		    setresuid(1000, 1000, 1000) < 0)
			_exit(4);
		e.cred = (struct vfs_cred){ .uid = 1000, .gid = 1000, .ruid = 1000, .rgid = 1000,
					    .ngroups = 2, .groups = { 1000, 2000 }, .umask = 022 };
		for (int i = 0; i < steps && failed - f0 < 20; i++)
			rnd_step(&e, &seed, i);
		env_fini(&e);
		child_report(pfd[1]);
	}
	child_collect(pfd[0], pid, "random as uid 1000");
	close(pfd[0]);
	close(pfd[1]);
	env_fini(&e);
	tfs_fsck(&t, "random as uid 1000");
	tfs_close(&t);
	close(base);
}

/* Names: component and path length limits, symlink chains. */
static void group_names(void)
{
	static char c255[300], c256[300], longp[PATH_MAX + 10], link[16], next[16];
	struct tfs t;
	struct env e;
	int base = kdir_new();

	printf("-- name limits and symlink chains\n");
	tfs_open(&t, 64 << 20);
	ramfs_root_0777(&t);
	env_init(&e, &t, base);
	memset(c255, 'n', 255);
	memset(c256, 'n', 256);
	for (int i = 0; i < PATH_MAX + 2; i += 2)
		memcpy(longp + i, "./", 2);
	step_run(&e, &(struct step){ OP_OPEN, c255, NULL, CR, 0644, 0, 0 }, 1);
	step_run(&e, &(struct step){ OP_STAT, c255, NULL, 0, 0, 0, 0 }, 2);
	step_run(&e, &(struct step){ OP_OPEN, c256, NULL, CR, 0644, 0, 0 }, 3);
	step_run(&e, &(struct step){ OP_MKDIR, c256, NULL, 0755, 0, 0, 0 }, 4);
	step_run(&e, &(struct step){ OP_STAT, c256, NULL, 0, 0, 0, 0 }, 5);
	step_run(&e, &(struct step){ OP_STAT, longp, NULL, 0, 0, 0, 0 }, 6);
	longp[PATH_MAX - 2] = 0;
	step_run(&e, &(struct step){ OP_STAT, longp, NULL, 0, 0, 0, 0 }, 7);
	step_run(&e, &(struct step){ OP_SYMLINK, longp, "longlink", 0, 0, 0, 0 }, 8);
	step_run(&e, &(struct step){ OP_READLINK, "longlink", NULL, PATH_MAX, 0, 0, 0 }, 9);
	step_run(&e, &(struct step){ OP_LSTAT, "longlink", NULL, 0, 0, 0, 0 }, 10);
	/* l0 -> l1 -> ... -> l41 -> target */
	step_run(&e, &(struct step){ OP_MKDIR, "target", NULL, 0755, 0, 0, 0 }, 11);
	for (int i = 41; i >= 0; i--) {
		snprintf(link, sizeof(link), "l%d", i);
		if (i == 41)
			snprintf(next, sizeof(next), "target");
		else
			snprintf(next, sizeof(next), "l%d", i + 1);
		step_run(&e, &(struct step){ OP_SYMLINK, next, link, 0, 0, 0, 0 }, 100 + i);
	}
	step_run(&e, &(struct step){ OP_STAT, "l0", NULL, 0, 0, 0, 0 }, 12);
	step_run(&e, &(struct step){ OP_STAT, "l1", NULL, 0, 0, 0, 0 }, 13);
	step_run(&e, &(struct step){ OP_STAT, "l2", NULL, 0, 0, 0, 0 }, 14);
	step_run(&e, &(struct step){ OP_STAT, "l2/", NULL, 0, 0, 0, 0 }, 15);
	env_fini(&e);
	tfs_close(&t);
	close(base);
}

/* ---- ramfs alone ---- */

static int r_create(struct tfs *t, const char *path, const char *data, size_t len)
{
	struct tpath p;
	struct iovec iov = { (void *)data, len };
	vfs_ofd f;
	long w;
	int r = ramfs_ops.open(tp(&p, t, 0, path, 0), O_CREAT | O_WRONLY | O_TRUNC, 0644,
			       &root_cred, &f);

	if (r < 0)
		return r;
	w = len ? ramfs_ops.rw(&t->m, f, &iov, 1, -1, 1, 0) : 0;
	ramfs_ops.ofd_put(&t->m, f);
	return w < 0 ? (int)w : (size_t)w == len ? 0 : -EIO;
}

static long r_slurp(struct tfs *t, const char *path, char *buf, size_t len)
{
	struct tpath p;
	struct iovec iov = { buf, len };
	vfs_ofd f;
	long n;
	int r = ramfs_ops.open(tp(&p, t, 0, path, 0), O_RDONLY, 0, &root_cred, &f);

	if (r < 0)
		return r;
	n = ramfs_ops.rw(&t->m, f, &iov, 1, -1, 0, 0);
	ramfs_ops.ofd_put(&t->m, f);
	return n;
}

static int r_mkdir(struct tfs *t, const char *path)
{
	struct tpath p;

	return ramfs_ops.mkdir(tp(&p, t, 0, path, 0), 0755, &root_cred);
}

static int r_unlink(struct tfs *t, const char *path)
{
	struct tpath p;

	return ramfs_ops.unlink(tp(&p, t, 0, path, 0), 0, &root_cred);
}

static int r_pstat(struct tfs *t, const char *path, struct stat *st)
{
	struct tpath p;

	return ramfs_ops.stat(tp(&p, t, 0, path, 0), st);
}

/* Entries present throughout an iteration are returned exactly once,
 * whatever else is added or removed meanwhile; d_off resumes. */
static void group_readdir(void)
{
	enum { N = 300 };
	static char seen[N + 1000];
	struct tfs t;
	struct tpath p;
	char buf[600], name[32];
	bool removed[N] = { false }, dup = false;
	int added = 0, gone_hi = N - 1, gone_lo = 0, calls = 0;
	vfs_ofd f;
	long n;

	printf("-- readdir positions under change\n");
	tfs_open(&t, 64 << 20);
	r_mkdir(&t, "s");
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "s/f%d", i);
		r_create(&t, name, NULL, 0);
	}
	memset(seen, 0, sizeof(seen));
	check(ramfs_ops.open(tp(&p, &t, 0, "s", 0), O_RDONLY | O_DIRECTORY, 0, &root_cred, &f) == 0,
	      "open dir");
	while ((n = ramfs_ops.getdents(&t.m, f, buf, sizeof(buf))) > 0) {
		for (long o = 0; o < n;) {
			const struct dirent64 *d = (const void *)(buf + o);
			int idx = -1;

			if (d->d_name[0] == 'f')
				idx = atoi(d->d_name + 1);
			else if (d->d_name[0] == 'n')
				idx = N + atoi(d->d_name + 1);
			if (idx >= 0 && idx < (int)sizeof(seen)) {
				if (seen[idx])
					printf("    twice: %s (off %lld)\n", d->d_name, (long long)d->d_off);
				dup |= seen[idx] != 0;
				seen[idx] = 1;
			}
			o += d->d_reclen;
		}
		/* remove two not yet seen (from the end) and one seen, add two */
		for (int k = 0; k < 2 && gone_hi > gone_lo; k++, gone_hi--) {
			snprintf(name, sizeof(name), "s/f%d", gone_hi);
			removed[gone_hi] = r_unlink(&t, name) == 0;
		}
		if (!removed[gone_lo]) {
			snprintf(name, sizeof(name), "s/f%d", gone_lo);
			removed[gone_lo] = r_unlink(&t, name) == 0;
			gone_lo++;
		}
		for (int k = 0; k < 2 && added < 400; k++) {
			snprintf(name, sizeof(name), "s/n%d", added++);
			r_create(&t, name, NULL, 0);
		}
		calls++;
	}
	check(n == 0, "getdents ends with 0 (%ld)", n);
	check(!dup, "no entry returned twice");
	{
		int missing = 0;

		for (int i = 0; i < N; i++)
			missing += !removed[i] && !seen[i];
		check(missing == 0, "every entry present throughout was returned (%d missing, %d calls)",
		      missing, calls);
	}
	ramfs_ops.ofd_put(&t.m, f);
	tfs_fsck(&t, "readdir under change");

	/* seeking back to a d_off resumes at the same entry */
	{
		char b1[600], b2[600];
		long n1, n2;
		off_t pos;
		const struct dirent64 *d;

		ramfs_ops.open(tp(&p, &t, 0, "s", 0), O_RDONLY | O_DIRECTORY, 0, &root_cred, &f);
		ramfs_ops.getdents(&t.m, f, b1, sizeof(b1));
		d = (const void *)b1;
		pos = d->d_off;                 /* after "." */
		n1 = ramfs_ops.getdents(&t.m, f, b1, sizeof(b1));
		check(ramfs_ops.lseek(&t.m, f, pos, SEEK_SET) == pos, "seek to a d_off");
		n2 = ramfs_ops.getdents(&t.m, f, b2, sizeof(b2));
		check(n1 > 0 && n2 > 0, "getdents after seek");
		check(strcmp(((const struct dirent64 *)b1)->d_name,
			     ((const struct dirent64 *)b2)->d_name) != 0 ||
		      n1 == n2, "resumed listing");
		check(ramfs_ops.lseek(&t.m, f, 0, SEEK_SET) == 0, "rewind");
		n2 = ramfs_ops.getdents(&t.m, f, b2, 24);
		check(n2 == 24, "small buffer fits one entry (%ld)", n2);
		n2 = ramfs_ops.getdents(&t.m, f, b2, 10);
		check(n2 == -EINVAL, "too small a buffer: EINVAL (%ld)", n2);
		check(ramfs_ops.lseek(&t.m, f, 0, SEEK_END) == -EINVAL, "SEEK_END on a dir: EINVAL");
		ramfs_ops.ofd_put(&t.m, f);
	}
	tfs_close(&t);
}

static void group_escape(void)
{
	struct tfs t;
	struct tpath p;
	struct stat st;
	char buf[PATH_MAX];
	vfs_node d, e;
	int r;

	printf("-- leaving the mount, start nodes, cwd holds\n");
	tfs_open(&t, 16 << 20);
	r_mkdir(&t, "d");
	r_mkdir(&t, "d/e");
	r_create(&t, "f", "x", 1);
	r = ramfs_ops.stat(tp(&p, &t, 0, "..", 0), &st);
	check(r == -VFS_EESCAPE && strcmp(p.escape, "/") == 0, "'..' at the root: escape %s", p.escape);
	r = ramfs_ops.stat(tp(&p, &t, 0, "/../etc/passwd", 0), &st);
	check(r == -VFS_EESCAPE && strcmp(p.escape, "/etc/passwd") == 0, "escape %s", p.escape);
	r = ramfs_ops.stat(tp(&p, &t, 0, "d/../../x/", 0), &st);
	check(r == -VFS_EESCAPE && strcmp(p.escape, "/x/") == 0, "escape keeps the slash: %s",
	      p.escape);
	strcpy(t.m.parent, "/mnt");
	r = ramfs_ops.stat(tp(&p, &t, 0, "../y", 0), &st);
	check(r == -VFS_EESCAPE && strcmp(p.escape, "/mnt/y") == 0, "escape to parent %s", p.escape);
	strcpy(t.m.parent, "/");
	check(ramfs_ops.symlink("/etc", tp(&p, &t, 0, "abs", 0), &root_cred) == 0, "symlink /etc");
	r = ramfs_ops.stat(tp(&p, &t, 0, "abs/passwd", 0), &st);
	check(r == -VFS_EESCAPE && strcmp(p.escape, "/etc/passwd") == 0 && p.nlinks == 1,
	      "absolute symlink: escape %s nlinks %d", p.escape, p.nlinks);
	check(ramfs_ops.stat(tp(&p, &t, 0, "abs", VFS_NOFOLLOW), &st) == 0 && S_ISLNK(st.st_mode),
	      "lstat of the absolute symlink");
	r = ramfs_ops.symlink("../../..", tp(&p, &t, 0, "d/e/up", 0), &root_cred);
	r = ramfs_ops.stat(tp(&p, &t, 0, "d/e/up/z", 0), &st);
	check(r == -VFS_EESCAPE && strcmp(p.escape, "/z") == 0, "relative symlink out: %s",
	      p.escape);
	check(ramfs_ops.lookup_dir(tp(&p, &t, 0, "d", 0), &root_cred, &d) == 0, "lookup_dir d");
	check(ramfs_ops.lookup_dir(tp(&p, &t, 0, "f", 0), &root_cred, &e) == -ENOTDIR,
	      "lookup_dir of a file");
	check(ramfs_ops.stat(tp(&p, &t, d, "../f", 0), &st) == 0 && S_ISREG(st.st_mode),
	      "relative to a start node");
	check(ramfs_ops.stat(tp(&p, &t, d, "/f", 0), &st) == 0, "absolute ignores start");
	check(ramfs_ops.stat(tp(&p, &t, d, "", VFS_EMPTY_PATH), &st) == 0 && st.st_ino == d,
	      "empty path names start");
	check(ramfs_ops.stat(tp(&p, &t, d, "", 0), &st) == -ENOENT, "empty path: ENOENT");
	ramfs_ops.lookup_dir(tp(&p, &t, 0, "d/e", 0), &root_cred, &e);
	check(ramfs_ops.node_path(&t.m, e, buf, sizeof(buf)) == 0 && strcmp(buf, "/d/e") == 0,
	      "node_path %s", buf);
	check(ramfs_ops.node_path(&t.m, e, buf, 4) == -ERANGE, "node_path: ERANGE");
	check(ramfs_ops.node_path(&t.m, RAMFS_ROOT, buf, sizeof(buf)) == 0 && strcmp(buf, "/") == 0,
	      "node_path of the root");
	ramfs_ops.node_hold(&t.m, e, 1);
	r_unlink(&t, "d/e/up");
	check(ramfs_ops.unlink(tp(&p, &t, 0, "d/e", 0), AT_REMOVEDIR, &root_cred) == 0, "rmdir cwd");
	check(ramfs_ops.node_path(&t.m, e, buf, sizeof(buf)) == -ENOENT, "node_path of removed: ENOENT");
	check(ramfs_ops.stat(tp(&p, &t, e, "", VFS_EMPTY_PATH), &st) == 0 && st.st_nlink == 0,
	      "removed cwd still stats (nlink %lu)", (unsigned long)st.st_nlink);
	check(ramfs_ops.open(tp(&p, &t, e, "new", 0), O_CREAT | O_WRONLY, 0644, &root_cred,
			     &(vfs_ofd){ 0 }) == -ENOENT, "create in removed dir: ENOENT");
	tfs_fsck(&t, "held removed dir");
	ramfs_ops.node_hold(&t.m, e, -1);
	tfs_fsck(&t, "released removed dir");
	check(ramfs_ops.stat(tp(&p, &t, e, "", VFS_EMPTY_PATH), &st) == -ENOENT,
	      "a freed start node: ENOENT");
	{
		struct tpath q;

		strcpy(p.escape, "stale");
		r = ramfs_ops.rename(tp(&p, &t, 0, "f", 0), tp(&q, &t, 0, "../y", 0), 0, &root_cred);
		check(r == -VFS_EESCAPE && p.escape[0] == 0 && strcmp(q.escape, "/y") == 0,
		      "rename: only the escaping path has escape[] set (%s)", q.escape);
	}
	check(ramfs_ops.unlink(tp(&p, &t, 0, "/", 0), AT_REMOVEDIR, &root_cred) == -EBUSY,
	      "rmdir of the mount root: EBUSY");
	check(ramfs_ops.rename(tp(&p, &t, 0, "/", 0), tp(&(struct tpath){ 0 }, &t, 0, "zz", 0), 0,
			       &root_cred) == -EBUSY, "rename of the mount root: EBUSY");
	{
		struct statfs sf;

		check(ramfs_ops.statfs(&t.m, &sf) == 0 && sf.f_type == 0x01021994 &&
		      sf.f_bsize == 4096 && sf.f_namelen == 255 && sf.f_blocks > 3000 &&
		      sf.f_bfree <= sf.f_blocks && sf.f_files > 0 && sf.f_ffree < sf.f_files,
		      "statfs");
	}
	check(ramfs_dev(t.fs) != 0 && ramfs_seg_fd(t.fs) >= 900, "dev and segment fd >= 900");
	tfs_close(&t);
}

static void group_enospc(void)
{
	static char chunk[65536], back[1 << 20];
	struct tfs t;
	struct tpath p;
	struct statfs sf0, sf;
	struct stat st;
	vfs_ofd f, ofds[100];
	size_t total = 0;
	long w = 0;
	int r, nf = 0, i;
	char name[32];

	printf("-- ENOSPC and ENFILE on a tiny segment\n");
	tfs_open(&t, 1 << 20);
	ramfs_ops.statfs(&t.m, &sf0);
	check(r_create(&t, "small", "hello", 5) == 0, "small file");
	ramfs_ops.open(tp(&p, &t, 0, "big", 0), O_CREAT | O_WRONLY, 0644, &root_cred, &f);
	for (;;) {
		struct iovec iov = { chunk, sizeof(chunk) };

		fill(chunk, sizeof(chunk), (long)total);
		w = ramfs_ops.rw(&t.m, f, &iov, 1, -1, 1, 0);
		if (w <= 0)
			break;
		total += (size_t)w;
		if ((size_t)w < sizeof(chunk))
			continue;       /* the next one must fail */
	}
	check(w == -ENOSPC && total > 0 && total % 4096 == 0, "fill: %zu bytes then %ld", total, w);
	ramfs_ops.statfs(&t.m, &sf);
	check(sf.f_bfree == 0, "statfs: no block free (%lu)", (unsigned long)sf.f_bfree);
	tfs_fsck(&t, "full");
	ramfs_ops.ofd_put(&t.m, f);
	check(r_slurp(&t, "small", back, sizeof(back)) == 5 && memcmp(back, "hello", 5) == 0,
	      "data written before is intact");
	check(r_slurp(&t, "big", back, sizeof(back)) == (long)total, "big reads back");
	{
		bool ok = true;

		for (size_t o = 0; o < total; o += sizeof(chunk)) {
			fill(chunk, sizeof(chunk), (long)o);
			ok &= memcmp(back + o, chunk, total - o < sizeof(chunk) ? total - o
										 : sizeof(chunk)) == 0;
		}
		check(ok, "big content");
	}
	check(ramfs_ops.symlink("some/target", tp(&p, &t, 0, "sl", 0), &root_cred) == -ENOSPC,
	      "symlink when full: ENOSPC");
	ramfs_ops.open(tp(&p, &t, 0, "small", 0), O_RDWR, 0, &root_cred, &f);
	check(ramfs_ops.fallocate(&t.m, f, 0, 0, 1 << 20) == -ENOSPC, "fallocate when full: ENOSPC");
	check(ramfs_ops.fstat(&t.m, f, &st) == 0 && st.st_size == 5 && st.st_blocks == 8,
	      "a failed fallocate changes nothing");
	ramfs_ops.ofd_put(&t.m, f);
	r_unlink(&t, "big");
	ramfs_ops.statfs(&t.m, &sf);
	check(sf.f_bfree == sf0.f_bfree - 1, "space back after unlink (%lu of %lu)",
	      (unsigned long)sf.f_bfree, (unsigned long)sf0.f_bfree);
	tfs_fsck(&t, "after unlink of big");
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		r = r_create(&t, name, NULL, 0);
		if (r < 0)
			break;
	}
	check(r == -ENOSPC, "node table full: %d after %d files", r, i);
	check(r_mkdir(&t, "dd") == -ENOSPC, "mkdir when the node table is full: ENOSPC");
	tfs_fsck(&t, "node table full");
	for (nf = 0; nf < 100; nf++) {
		r = ramfs_ops.open(tp(&p, &t, 0, "small", 0), O_RDONLY, 0, &root_cred, &ofds[nf]);
		if (r < 0)
			break;
	}
	check(r == -ENFILE, "ofd table full: %d after %d", r, nf);
	tfs_fsck(&t, "ofd table full");
	for (i = 0; i < nf; i++)
		ramfs_ops.ofd_put(&t.m, ofds[i]);
	tfs_fsck(&t, "ofds closed");
	tfs_close(&t);
}

static void group_pins(void)
{
	static char pat[3 * 4096], pat2[3 * 4096];
	struct vfs_map_piece pc[4];
	struct tfs t;
	struct tpath p;
	struct statfs sf0, sf1;
	struct iovec iov = { pat, sizeof(pat) }, iov2 = { pat2, sizeof(pat2) };
	vfs_node node;
	vfs_ofd f;
	char *map;
	int n;

	printf("-- mappings pin pages\n");
	tfs_open(&t, 16 << 20);
	fill(pat, sizeof(pat), 11);
	fill(pat2, sizeof(pat2), 12);
	ramfs_ops.open(tp(&p, &t, 0, "p", 0), O_CREAT | O_RDWR, 0644, &root_cred, &f);
	ramfs_ops.rw(&t.m, f, &iov, 1, -1, 1, 0);
	ramfs_ops.statfs(&t.m, &sf0);
	n = ramfs_ops.map(&t.m, f, 0, sizeof(pat), PROT_READ | PROT_WRITE, MAP_SHARED, pc, 4, &node);
	check(n >= 1 && pc[0].file_off == 0, "map: %d pieces", n);
	check(n == 1 && pc[0].len == sizeof(pat) && pc[0].seg_off % 4096 == 0, "one piece, aligned");
	map = mmap(NULL, sizeof(pat), PROT_READ, MAP_SHARED, ramfs_seg_fd(t.fs), (off_t)pc[0].seg_off);
	check(map != MAP_FAILED && memcmp(map, pat, sizeof(pat)) == 0, "mapped bytes are the file's");
	{
		char *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ramfs_seg_fd(t.fs),
			       (off_t)pc[0].seg_off + 4096);
		char back[16];
		struct iovec io = { back, sizeof(back) };

		memcpy(w + 100, "through the map", 16);
		check(ramfs_ops.rw(&t.m, f, &io, 1, 4096 + 100, 0, 0) == 16 &&
		      memcmp(back, "through the map", 16) == 0, "a store through the mapping is read back");
		memcpy(back, "through a write", 16);
		ramfs_ops.rw(&t.m, f, &io, 1, 4096 + 200, 1, 0);
		check(memcmp(w + 200, "through a write", 16) == 0, "a write shows in the mapping");
		memcpy(pat + 4096 + 100, "through the map", 16);
		memcpy(pat + 4096 + 200, "through a write", 16);
		munmap(w, 4096);
	}
	check(ramfs_ops.ftruncate(&t.m, f, 0) == 0, "truncate while mapped");
	ramfs_ops.rw(&t.m, f, &iov2, 1, 0, 1, 0);
	check(memcmp(map, pat, sizeof(pat)) == 0, "pinned pages not reused after truncate");
	tfs_fsck(&t, "pinned after truncate");
	ramfs_ops.statfs(&t.m, &sf1);
	check(sf1.f_bfree == sf0.f_bfree - 3, "pinned pages still counted (%lu vs %lu)",
	      (unsigned long)sf1.f_bfree, (unsigned long)sf0.f_bfree);
	ramfs_ops.unpin(&t.m, node, 0, sizeof(pat));
	ramfs_ops.statfs(&t.m, &sf1);
	check(sf1.f_bfree == sf0.f_bfree, "unpin frees them");
	tfs_fsck(&t, "unpinned");
	munmap(map, sizeof(pat));

	/* unlinked and closed while mapped: lives until unpinned */
	n = ramfs_ops.map(&t.m, f, 0, sizeof(pat), PROT_READ, MAP_SHARED, pc, 4, &node);
	r_unlink(&t, "p");
	ramfs_ops.ofd_put(&t.m, f);
	tfs_fsck(&t, "unlinked, closed, mapped");
	{
		struct ramfs_usage u;

		ramfs_usage(t.fs, &u);
		check(u.files == 2 && u.used_bytes == sizeof(pat), "the node lives while pinned (%zu, %zu)",
		      u.files, u.used_bytes);
		ramfs_ops.unpin(&t.m, node, 0, sizeof(pat));
		ramfs_usage(t.fs, &u);
		check(u.files == 1 && u.used_bytes == 0, "and goes with the last unpin (%zu, %zu)",
		      u.files, u.used_bytes);
	}
	tfs_fsck(&t, "last unpin");

	/* access modes */
	r_create(&t, "q", "abc", 3);
	ramfs_ops.open(tp(&p, &t, 0, "q", 0), O_RDONLY, 0, &root_cred, &f);
	check(ramfs_ops.map(&t.m, f, 0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, pc, 4, &node) ==
	      -EACCES, "shared writable map of a read-only ofd: EACCES");
	n = ramfs_ops.map(&t.m, f, 0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, pc, 4, &node);
	check(n == 1 && pc[0].len == 4096, "private map: pieces end at EOF rounded up");
	ramfs_ops.unpin(&t.m, node, 0, 8192);
	ramfs_ops.ofd_put(&t.m, f);
	ramfs_ops.open(tp(&p, &t, 0, "q", 0), O_WRONLY, 0, &root_cred, &f);
	check(ramfs_ops.map(&t.m, f, 0, 4096, PROT_READ, MAP_SHARED, pc, 4, &node) == -EACCES,
	      "map of a write-only ofd: EACCES");
	ramfs_ops.ofd_put(&t.m, f);
	ramfs_ops.open(tp(&p, &t, 0, "/", 0), O_RDONLY, 0, &root_cred, &f);
	check(ramfs_ops.map(&t.m, f, 0, 4096, PROT_READ, MAP_SHARED, pc, 4, &node) == -ENODEV,
	      "map of a directory: ENODEV");
	ramfs_ops.ofd_put(&t.m, f);
	tfs_fsck(&t, "map modes");
	tfs_close(&t);
}

static int count_extents(struct tfs *t, vfs_node n)
{
	int c = 0;

	for (uint32_t e = t->fs->nodes[n].ext; e; e = t->fs->exts[e].next)
		c++;
	return c;
}

/* Files growing side by side stay in few extents; a pinned file is not
 * moved (its mapping stays valid), it gets a new extent instead. */
static void group_growth(void)
{
	enum { PAGES = 2000 };
	static char page[4096], back[4096];
	struct vfs_map_piece pc[8];
	struct tfs t;
	struct tpath p;
	struct stat sa, sb;
	vfs_ofd fa, fb;
	vfs_node node;
	bool ok = true;
	int n;

	printf("-- growth keeps files in few extents\n");
	tfs_open(&t, 64 << 20);
	ramfs_ops.open(tp(&p, &t, 0, "a", 0), O_CREAT | O_RDWR, 0644, &root_cred, &fa);
	ramfs_ops.open(tp(&p, &t, 0, "b", 0), O_CREAT | O_RDWR, 0644, &root_cred, &fb);
	for (int i = 0; i < PAGES; i++) {
		struct iovec iov = { page, sizeof(page) };

		fill(page, sizeof(page), i);
		ok &= ramfs_ops.rw(&t.m, fa, &iov, 1, -1, 1, 0) == sizeof(page);
		fill(page, sizeof(page), -i);
		ok &= ramfs_ops.rw(&t.m, fb, &iov, 1, -1, 1, 0) == sizeof(page);
	}
	check(ok, "interleaved appends");
	ramfs_ops.fstat(&t.m, fa, &sa);
	ramfs_ops.fstat(&t.m, fb, &sb);
	check(count_extents(&t, (vfs_node)sa.st_ino) <= 16 && count_extents(&t, (vfs_node)sb.st_ino) <= 16,
	      "extents: %d and %d for %d pages each", count_extents(&t, (vfs_node)sa.st_ino),
	      count_extents(&t, (vfs_node)sb.st_ino), PAGES);
	check(sa.st_blocks == PAGES * 8, "blocks %ld", (long)sa.st_blocks);
	for (int i = 0; i < PAGES; i += 97) {
		struct iovec iov = { back, sizeof(back) };

		fill(page, sizeof(page), i);
		ramfs_ops.rw(&t.m, fa, &iov, 1, (off_t)i * 4096, 0, 0);
		ok &= memcmp(page, back, sizeof(page)) == 0;
	}
	check(ok, "content survives the moves");
	tfs_fsck(&t, "growth");

	/* pinned: appending does not move the mapped extent */
	n = ramfs_ops.map(&t.m, fb, 0, 4096, PROT_READ, MAP_SHARED, pc, 8, &node);
	{
		uint64_t seg0 = pc[0].seg_off;
		int ext0 = count_extents(&t, node);
		struct iovec iov = { page, sizeof(page) };
		vfs_ofd fc;

		/* take the pages after b's extent so it cannot grow in place */
		ramfs_ops.open(tp(&p, &t, 0, "c", 0), O_CREAT | O_RDWR, 0644, &root_cred, &fc);
		for (int i = 0; i < 64 && ok; i++)
			ok &= ramfs_ops.rw(&t.m, fc, &iov, 1, -1, 1, 0) == sizeof(page);
		ramfs_ops.ofd_put(&t.m, fc);
		for (int i = 0; i < 64 && ok; i++)
			ok &= ramfs_ops.rw(&t.m, fb, &iov, 1, -1, 1, 0) == sizeof(page);
		n = ramfs_ops.map(&t.m, fb, 0, 4096, PROT_READ, MAP_SHARED, pc, 8, &node);
		check(n == 1 && pc[0].seg_off == seg0, "a pinned extent is not moved");
		check(count_extents(&t, node) >= ext0, "appended in a new extent (%d -> %d)", ext0,
		      count_extents(&t, node));
		ramfs_ops.unpin(&t.m, node, 0, 4096);
		ramfs_ops.unpin(&t.m, node, 0, 4096);
	}
	tfs_fsck(&t, "pinned growth");
	ramfs_ops.ofd_put(&t.m, fa);
	ramfs_ops.ofd_put(&t.m, fb);
	tfs_close(&t);
}

static void group_attach(void)
{
	struct ramfs_config cfg = { .size = 4 << 20 };
	struct ramfs *other;
	struct tfs t;
	char msg[256], back[16];
	struct tpath p;
	struct tfs t2;
	int r;

	printf("-- attach, version mismatch, remove\n");
	tfs_open(&t, 4 << 20);
	cfg.name = t.name;
	r_create(&t, "shared", "12345", 5);
	r = ramfs_attach(&cfg, &other, msg, sizeof(msg));
	check(r == 0, "second attach: %d %s", r, msg);
	if (r == 0) {
		t2 = t;
		t2.fs = other;
		t2.m.fs = other;
		check(r_slurp(&t2, "shared", back, sizeof(back)) == 5 && memcmp(back, "12345", 5) == 0,
		      "the second mapping sees the first's file");
		ramfs_test_detach(other);
	}
	uint32_t saved_version = t.fs->hdr->version;
	char want[32];
	snprintf(want, sizeof(want), "version %u.", RAMFS_LAYOUT_VERSION);
	t.fs->hdr->version = 99;
	r = ramfs_attach(&cfg, &other, msg, sizeof(msg));
	check(r == -EPROTO && strstr(msg, "version 0.99") && strstr(msg, want) &&
	      strstr(msg, "vadshim ramfs rm") && !strchr(msg, '\n'),
	      "version mismatch refused: %d \"%s\"", r, msg);
	t.fs->hdr->version = saved_version;
	r = ramfs_ops.stat(tp(&p, &t, 0, "shared", 0), &(struct stat){ 0 });
	check(r == 0, "the first mapping still works");
	tfs_close(&t);
	check(ramfs_remove(t.name) == -ENOENT, "remove twice: ENOENT");
	check(ramfs_remove("a/b") == -EINVAL, "remove with a slash: EINVAL");
	/* racing creators: one initialises, the others wait for "ready" */
	{
		char nm[64];
		pid_t kids[4];
		int ok = 0, st;

		snprintf(nm, sizeof(nm), "test.%d.race", (int)getpid());
		cfg.name = nm;
		ramfs_remove(nm);
		fflush(stdout);
		for (int i = 0; i < 4; i++) {
			kids[i] = fork();
			if (kids[i] == 0) {
				struct ramfs *fs;
				struct tfs k;
				char nmk[16];

				if (ramfs_attach(&cfg, &fs, msg, sizeof(msg)) < 0)
					_exit(1);
				k.fs = fs;
				k.m = (struct vfs_mount){ .ops = &ramfs_ops, .fs = fs, .parent = "/" };
				snprintf(nmk, sizeof(nmk), "k%d", i);
				_exit(r_create(&k, nmk, "z", 1) == 0 &&
				      ramfs_fsck(fs, msg, sizeof(msg)) == 0 ? 0 : 2);
			}
		}
		for (int i = 0; i < 4; i++) {
			waitpid(kids[i], &st, 0);
			ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
		}
		check(ok == 4, "four racing attaches of a new segment: %d ok", ok);
		r = ramfs_attach(&cfg, &other, msg, sizeof(msg));
		if (r == 0) {
			struct statfs sf;
			struct ramfs_usage u;

			ramfs_usage(other, &u);
			check(u.files == 5, "one segment, four files (%zu nodes)", u.files);
			t2.fs = other;
			t2.m = (struct vfs_mount){ .ops = &ramfs_ops, .fs = other, .parent = "/" };
			check(ramfs_ops.statfs(&t2.m, &sf) == 0, "statfs");
			ramfs_test_detach(other);
		}
		ramfs_remove(nm);
	}
	/* a creator that died before "ready": refused, with the way out */
	{
		char nm[64], path[128];
		int fd, saved = ramfs_ready_wait_ms;

		snprintf(nm, sizeof(nm), "test.%d.stale", (int)getpid());
		snprintf(path, sizeof(path), "/dev/shm/vadshim.%u.%s", (unsigned)geteuid(), nm);
		fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
		check(fd >= 0 && ftruncate(fd, 1 << 20) == 0, "a half-made segment");
		close(fd);
		cfg.name = nm;
		ramfs_ready_wait_ms = 50;
		r = ramfs_attach(&cfg, &other, msg, sizeof(msg));
		ramfs_ready_wait_ms = saved;
		check(r == -EIO && strstr(msg, "never initialised") && strstr(msg, "vadshim ramfs rm"),
		      "stale segment refused: %d \"%s\"", r, msg);
		check(ramfs_remove(nm) == 0, "and removed");
	}
	cfg.size = 8192;
	cfg.name = "test.tiny";
	check(ramfs_attach(&cfg, &other, msg, sizeof(msg)) == -EINVAL, "too small: %s", msg);
}

/* Two processes at once on one segment. */
static void fork_worker(struct tfs *t, char who, int iters)
{
	char name[64], to[64], data[1000], back[1000];
	struct tpath p, p2;
	vfs_ofd f;

	for (int i = 0; i < iters; i++) {
		snprintf(name, sizeof(name), "w%c%d", who, i);
		snprintf(to, sizeof(to), "r%c%d", who, i);
		fill(data, sizeof(data), i + who);
		if (r_create(t, name, data, sizeof(data)) < 0)
			printf("FAIL: %c create %s\n", who, name);
		if (ramfs_ops.rename(tp(&p, t, 0, name, 0), tp(&p2, t, 0, to, 0), 0, &root_cred) < 0)
			printf("FAIL: %c rename %s\n", who, name);
		if (i % 3 == 0)
			r_unlink(t, to);
		else if (r_slurp(t, to, back, sizeof(back)) != sizeof(back) ||
			 memcmp(back, data, sizeof(back)) != 0)
			printf("FAIL: %c content of %s\n", who, to);
		snprintf(name, sizeof(name), "shared/%d", i % 5);
		if (i % 2)
			r_mkdir(t, name);
		else
			ramfs_ops.unlink(tp(&p, t, 0, name, 0), AT_REMOVEDIR, &root_cred);
		if (ramfs_ops.open(tp(&p, t, 0, "common", 0), O_WRONLY | O_APPEND, 0, &root_cred,
				   &f) == 0) {
			struct iovec iov = { data, 100 };

			ramfs_ops.rw(&t->m, f, &iov, 1, -1, 1, 0);
			ramfs_ops.ofd_put(&t->m, f);
		}
	}
}

static void group_fork(void)
{
	enum { ITERS = 300 };
	struct tfs t;
	struct stat st;
	int pfd[2], bad = 0;
	pid_t pid;
	char name[64];

	printf("-- two processes on one segment\n");
	tfs_open(&t, 64 << 20);
	r_mkdir(&t, "shared");
	r_create(&t, "common", NULL, 0);
	if (pipe(pfd) < 0)
		exit(2);
	pid = fork_counted();
	if (pid == 0) {
		fork_worker(&t, 'c', ITERS);
		tfs_fsck(&t, "child done");
		child_report(pfd[1]);
	}
	fork_worker(&t, 'p', ITERS);
	child_collect(pfd[0], pid, "fork");
	close(pfd[0]);
	close(pfd[1]);
	tfs_fsck(&t, "both done");
	check(r_pstat(&t, "common", &st) == 0 && st.st_size == 2 * ITERS * 100,
	      "appends from both processes: %ld", (long)st.st_size);
	for (int i = 0; i < ITERS; i++) {
		snprintf(name, sizeof(name), "rc%d", i);
		bad += (r_pstat(&t, name, &st) == 0) != (i % 3 != 0);
		snprintf(name, sizeof(name), "rp%d", i);
		bad += (r_pstat(&t, name, &st) == 0) != (i % 3 != 0);
	}
	check(bad == 0, "the expected files exist (%d wrong)", bad);
	tfs_close(&t);
}

/* fsck notices each kind of damage, and the repair undoes it. */
static void damage(struct tfs *t, int kind, vfs_node f, vfs_node d)
{
	struct ramfs *fs = t->fs;

	switch (kind) {
	case 0: fs->hdr->free_pages--; break;
	case 1: ramfs_bit_set(fs->bitmap, fs->exts[fs->nodes[f].ext].spage, false); break;
	case 2: fs->nodes[f].nlink++; break;
	case 3: memset(fs->buckets, 0, fs->hdr->nbuckets * sizeof(uint32_t)); break;
	case 4: fs->nodes[d].entries++; break;
	case 5: fs->nodes[f].opens += 2; break;
	case 6: fs->nodes[f].pages++; break;
	case 7: fs->hdr->tab[RAMFS_T_DIRENT].used++; break;
	case 8: fs->nodes[d].first = 0; break;
	case 9: fs->nodes[d].nlink = 7; break;
	default: fs->hdr->tab[RAMFS_T_NODE].free = 9999; break;
	}
}

static void group_fsck_damage(void)
{
	static char data[10000], back[10000];
	struct tfs t;
	struct stat st;
	char msg[256];
	vfs_node f, d;
	vfs_ofd o;
	struct tpath p;

	printf("-- fsck catches damage, repair undoes it\n");
	fill(data, sizeof(data), 5);
	for (int kind = 0; kind <= 10; kind++) {
		tfs_open(&t, 16 << 20);
		r_mkdir(&t, "d");
		r_create(&t, "d/a", data, sizeof(data));
		r_create(&t, "d/b", "b", 1);
		ramfs_ops.open(tp(&p, &t, 0, "d/a", 0), O_RDONLY, 0, &root_cred, &o);
		r_pstat(&t, "d/a", &st);
		f = (vfs_node)st.st_ino;
		r_pstat(&t, "d", &st);
		d = (vfs_node)st.st_ino;
		damage(&t, kind, f, d);
		check(ramfs_fsck(t.fs, msg, sizeof(msg)) == -EUCLEAN && msg[0],
		      "damage %d found: %s", kind, msg);
		ramfs_test_lock(t.fs);
		ramfs_repair(t.fs);
		ramfs_test_unlock(t.fs);
		check(ramfs_fsck(t.fs, msg, sizeof(msg)) == 0, "damage %d repaired: %s", kind, msg);
		check(r_slurp(&t, "d/a", back, sizeof(back)) == sizeof(data) &&
		      memcmp(back, data, sizeof(data)) == 0, "damage %d: data intact", kind);
		ramfs_ops.ofd_put(&t.m, o);
		check(r_unlink(&t, "d/a") == 0 && r_unlink(&t, "d/b") == 0 && r_mkdir(&t, "d/c") == 0,
		      "damage %d: the fs works on", kind);
		tfs_fsck(&t, "after repair and more work");
		tfs_close(&t);
	}
}

/* A process dies holding the segment lock, with derived state damaged. */
static void group_ownerdead(void)
{
	struct tfs t;
	struct stat st;
	char back[64];
	uint32_t repairs;
	pid_t pid;
	int status;

	printf("-- a holder of the segment lock dies\n");
	tfs_open(&t, 16 << 20);
	r_mkdir(&t, "d");
	check(r_create(&t, "d/keep", "precious data", 13) == 0, "write before");
	repairs = t.fs->hdr->repairs;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct ramfs_hdr *h = t.fs->hdr;

		ramfs_test_lock(t.fs);
		/* an operation cut in half: counters and lists left wrong */
		h->free_pages -= 3;
		t.fs->nodes[RAMFS_ROOT].entries += 1;
		t.fs->nodes[RAMFS_ROOT].nlink += 4;
		h->tab[RAMFS_T_NODE].used += 2;
		h->tab[RAMFS_T_DIRENT].free = 0;
		_exit(0);
	}
	waitpid(pid, &status, 0);
	check(r_pstat(&t, "d/keep", &st) == 0 && st.st_size == 13, "the next operation succeeds");
	check(t.fs->hdr->repairs == repairs + 1, "one repair ran");
	tfs_fsck(&t, "after repair");
	check(r_slurp(&t, "d/keep", back, sizeof(back)) == 13 && memcmp(back, "precious data", 13) == 0,
	      "data written before is intact");
	check(r_create(&t, "d/new", "x", 1) == 0 && r_mkdir(&t, "d/sub") == 0, "and the fs works on");
	tfs_fsck(&t, "after more work");
	tfs_close(&t);
}

/* ---- record locks (the lock table, ramfs_lock.c) ---- */

static int lk_req(struct tfs *t, vfs_ofd o, int kind, int get, int type, off_t start, off_t len,
		  struct flock *out)
{
	struct flock fl = { .l_type = (short)type, .l_whence = SEEK_SET, .l_start = start,
			    .l_len = len };
	struct vfs_lock_req rq = { .kind = kind, .get = get, .fl = &fl };
	int r = ramfs_ops.lock(&t->m, o, &rq);

	if (out)
		*out = fl;
	return r;
}

/* Within one process: process locks never conflict, OFD and flock locks
 * of two descriptions do; fsck sees damage to the table and repair
 * rebuilds it; a holder that dies with the segment lock leaves its
 * process locks to be dropped and its descriptions' locks in place. */
static void group_locks(void)
{
	struct tfs t;
	struct tpath p;
	struct flock fl;
	char msg[256];
	vfs_ofd a, b, c;
	pid_t pid;
	int status;

	printf("-- record locks\n");
	tfs_open(&t, 16 << 20);
	check(r_create(&t, "f", "0123456789", 10) == 0, "create");
	ramfs_ops.open(tp(&p, &t, 0, "f", 0), O_RDWR, 0, &root_cred, &a);
	ramfs_ops.open(tp(&p, &t, 0, "f", 0), O_RDWR, 0, &root_cred, &b);
	check(lk_req(&t, a, VFS_LK_POSIX, 0, F_WRLCK, 0, 10, NULL) == 0, "process WR via a");
	check(lk_req(&t, b, VFS_LK_POSIX, 0, F_WRLCK, 5, 10, NULL) == 0, "process WR via b: same owner");
	check(lk_req(&t, a, VFS_LK_OFD, 0, F_RDLCK, 0, 1, NULL) == -EAGAIN, "OFD RD vs own process WR");
	check(lk_req(&t, a, VFS_LK_POSIX, 0, F_UNLCK, 0, 0, NULL) == 0, "unlock all");
	check(lk_req(&t, a, VFS_LK_OFD, 0, F_WRLCK, 100, 10, NULL) == 0, "OFD WR via a");
	check(lk_req(&t, b, VFS_LK_OFD, 1, F_RDLCK, 0, 0, &fl) == 0 && fl.l_type == F_WRLCK &&
	      fl.l_start == 100 && fl.l_len == 10 && fl.l_pid == -1, "OFD GETLK via b sees it");
	check(lk_req(&t, a, VFS_LK_FLOCK, 0, F_RDLCK, 0, 0, NULL) == 0, "flock SH via a");
	check(lk_req(&t, b, VFS_LK_FLOCK, 0, F_WRLCK, 0, 0, NULL) == -EWOULDBLOCK, "flock EX via b");
	check(lk_req(&t, b, VFS_LK_POSIX, 0, F_RDLCK, 1073741824, 1, NULL) == 0 &&
	      lk_req(&t, b, VFS_LK_POSIX, 0, F_RDLCK, 1073741826, 510, NULL) == 0, "SQLite ranges");
	tfs_fsck(&t, "locks taken");

	for (int kind = 0; kind < 3; kind++) {
		ramfs_test_lock(t.fs);
		ramfs_lk_test_damage(t.fs, kind);
		ramfs_test_unlock(t.fs);
		check(ramfs_fsck(t.fs, msg, sizeof(msg)) == -EUCLEAN && msg[0],
		      "lock damage %d found: %s", kind, msg);
		ramfs_test_lock(t.fs);
		ramfs_repair(t.fs);
		ramfs_test_unlock(t.fs);
		tfs_fsck(&t, "lock damage repaired");
		check(lk_req(&t, a, VFS_LK_OFD, 1, F_WRLCK, 0, 0, &fl) == 0 &&
		      fl.l_type == F_RDLCK && fl.l_start == 1073741824 && fl.l_pid == getpid(),
		      "lock damage %d: this process's locks kept (%d %lld)", kind, fl.l_type,
		      (long long)fl.l_start);
	}

	/* a child takes locks, then dies holding the segment lock with a
	 * lock list cut */
	ramfs_ops.open(tp(&p, &t, 0, "f", 0), O_RDWR, 0, &root_cred, &c);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (lk_req(&t, c, VFS_LK_POSIX, 0, F_WRLCK, 200, 10, NULL) ||
		    lk_req(&t, c, VFS_LK_OFD, 0, F_WRLCK, 300, 10, NULL))
			_exit(1);
		ramfs_test_lock(t.fs);
		ramfs_lk_test_damage(t.fs, 0);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child locked");
	check(lk_req(&t, a, VFS_LK_POSIX, 1, F_WRLCK, 200, 10, &fl) == 0 && fl.l_type == F_UNLCK,
	      "the dead child's process lock is gone");
	check(lk_req(&t, a, VFS_LK_POSIX, 1, F_WRLCK, 300, 10, &fl) == 0 && fl.l_type == F_WRLCK &&
	      fl.l_pid == -1, "its description's OFD lock stays while the description lives");
	tfs_fsck(&t, "holder died");
	ramfs_ops.ofd_put(&t.m, c);
	check(lk_req(&t, a, VFS_LK_POSIX, 1, F_WRLCK, 300, 10, &fl) == 0 && fl.l_type == F_UNLCK,
	      "freeing the description drops it");
	ramfs_ops.lock_close(&t.m, b);
	check(lk_req(&t, b, VFS_LK_OFD, 1, F_WRLCK, 1073741824, 1000, &fl) == 0 &&
	      fl.l_type == F_UNLCK, "lock_close dropped the process locks");
	check(lk_req(&t, b, VFS_LK_OFD, 1, F_WRLCK, 0, 0, &fl) == 0 && fl.l_type == F_WRLCK &&
	      fl.l_start == 100 && fl.l_pid == -1, "but not the OFD lock of a");
	check(lk_req(&t, b, VFS_LK_FLOCK, 0, F_WRLCK, 0, 0, NULL) == -EWOULDBLOCK,
	      "nor the flock lock of a");
	ramfs_ops.ofd_put(&t.m, a);
	ramfs_ops.ofd_put(&t.m, b);
	tfs_fsck(&t, "all closed");
	check(r_unlink(&t, "f") == 0, "unlink");
	tfs_fsck(&t, "file gone");
	tfs_close(&t);
}

/* The segment lock sits under lockfs in the hierarchy: an operation
 * called with a lockfs-ranked lock held adds no violation. */
static void group_lock_order(void)
{
	static struct lk_class lockfs_cls = LK_CLASS_INIT("lockfs_test", LK_RANK_LOCKFS, true);
	static struct lk_lock lockfs = LK_LOCK_INIT(&lockfs_cls, "lockfs_test");
	unsigned before = lk_violation_count();
	struct tfs t;
	struct stat st;

	printf("-- lock order\n");
	tfs_open(&t, 4 << 20);
	lk_lock(&lockfs);
	check(r_create(&t, "f", "x", 1) == 0 && r_pstat(&t, "f", &st) == 0, "ops under lockfs");
	check(lk_held_count() == 1, "the segment lock is released after each operation");
	lk_unlock(&lockfs);
	check(lk_violation_count() == before, "no lock-order violation");
	tfs_close(&t);
}

int main(int argc, char **argv)
{
	unsigned seed = (unsigned)time(NULL);

	if (argc > 1)
		seed = (unsigned)strtoul(argv[1], NULL, 0);
	verbose = getenv("TEST_RAMFS_VERBOSE") != NULL;
	setvbuf(stdout, NULL, _IOLBF, 0);
	umask(022);
	if (!mkdtemp(ktop)) {
		perror("mkdtemp");
		return 2;
	}
	group_table("files", tab_files);
	group_table("vectors and limits", tab_iov);
	group_table("directories", tab_dirs);
	group_table("links", tab_links);
	group_table("rename", tab_rename);
	group_table("attributes and times", tab_attrs);
	group_table("tmpfile, unlinked open, fallocate", tab_special);
	group_perm();
	group_names();
	for (int i = 0; i < 3; i++)
		group_random(seed + (unsigned)i, 1500);
	for (int i = 0; i < 2; i++)
		group_random_user(seed + 10 + (unsigned)i, 1500);
	group_readdir();
	group_escape();
	group_enospc();
	group_pins();
	group_growth();
	group_attach();
	group_fork();
	group_fsck_damage();
	group_ownerdead();
	group_locks();
	group_lock_order();
	kdir_cleanup();
	printf("%lu passed, %lu failed\n", passed, failed);
	return failed ? 1 : 0;
}
