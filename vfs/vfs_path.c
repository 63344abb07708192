/*
 * Path handlers: which filesystem a path belongs to, and the path-taking
 * calls (open, stat, unlink, mkdir, rename, link, symlink, readlink,
 * chmod, chown, utimensat, truncate, statfs, chdir, getcwd).
 *
 * Dispatch: an absolute path is walked lexically component by component
 * (".", "..", repeated slashes) until it names a mount prefix; the rest
 * goes to that filesystem, which resolves it under lockfs and may hand
 * back an absolute path to continue with (-VFS_EESCAPE: ".." above its
 * root, an absolute symlink).  A relative path starts at the cwd (the
 * host's, or a directory inside a mount) or at a directory descriptor.
 * Host paths that cannot name a mount cost one strchr scan and go to the
 * host unchanged.
 *
 * Locks: fdt_lock (only when a descriptor is made) -> lockfs around every
 * filesystem call.  The cwd word is atomic (vfs_cwd); changing it holds
 * fdt_lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vfs/vfs_int.h"

_Atomic uint64_t vfs_cwd;

bool vfs_cwd_mine(void)
{
	return atomic_load_explicit(&vfs_cwd, memory_order_relaxed) != 0;
}

/* Where a path goes. */
struct target {
	int mi;                 /* mount index */
	vfs_node start;         /* 0: the mount root */
	int dirfd;              /* >= 0: start at this descriptor's directory */
	const char *rel;
};

/* Lexically walk absolute path p until it names a mount.  Returns 1 with
 * t filled, or 0 for a host path. */
static int match_abs(const char *p, struct target *t)
{
	char norm[PATH_MAX];
	size_t n = 0;               /* norm holds "/a/b" without trailing slash */
	const char *s = p;
	for (;;) {
		while (*s == '/')
			s++;
		if (!*s)
			return 0;
		const char *e = s;
		while (*e && *e != '/')
			e++;
		size_t cl = (size_t)(e - s);
		if (cl == 1 && s[0] == '.') {
			/* nothing */
		} else if (cl == 2 && s[0] == '.' && s[1] == '.') {
			while (n > 0 && norm[n - 1] != '/')
				n--;
			if (n > 0)
				n--;
		} else {
			if (n + 1 + cl >= sizeof(norm))
				return 0;       /* the host gives ENAMETOOLONG */
			norm[n++] = '/';
			memcpy(norm + n, s, cl);
			n += cl;
			for (int i = 0; i < vfs.nmounts; i++) {
				struct vfs_mount *m = &vfs.mounts[i];
				if (m->prefix_len == n && !memcmp(m->prefix, norm, n)) {
					t->mi = i;
					t->start = 0;
					t->dirfd = -1;
					t->rel = *e ? e : "/";
					return 1;
				}
			}
		}
		s = e;
	}
}

/* Join dir and rel into buf; 0 or -ENAMETOOLONG. */
static int join(char *buf, size_t len, const char *dir, const char *rel)
{
	int n = snprintf(buf, len, "%s/%s", dir, rel);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/*
 * Classify (dirfd, path).  Returns 1: a mount (t), 0: the host (hp->path),
 * or -errno.
 */
static int classify(int dirfd, const char *path, struct vfs_hostpath *hp, struct target *t)
{
	if (!path)
		return -EFAULT;
	hp->path = path;
	if (!vfs.nmounts)
		return 0;
	if (path[0] == '/')
		return match_abs(path, t);      /* exact; the gate in the wrappers
						   already sent most host paths away */
	if (dirfd == AT_FDCWD) {
		uint64_t c = atomic_load_explicit(&vfs_cwd, memory_order_acquire);
		if (c) {
			t->mi = cwd_mount(c);
			t->start = (vfs_node)c;
			t->dirfd = -1;
			t->rel = path;
			return 1;
		}
		if (!vfs_path_maybe_mine(path))
			return 0;
		char cwd[PATH_MAX];
		if (syscall(SYS_getcwd, cwd, sizeof(cwd)) < 0)
			return 0;
		char abs[PATH_MAX];
		if (join(abs, sizeof(abs), cwd, path))
			return 0;
		return match_abs(abs, t) ? (memcpy(hp->buf, abs, sizeof(abs)),
					    t->rel = hp->buf + (t->rel - abs), 1) : 0;
	}
	if (vfs_fd_mine(dirfd)) {
		t->mi = vfs.fdt[dirfd].mnt;
		t->start = 0;
		t->dirfd = dirfd;
		t->rel = path;
		return 1;
	}
	if (!vfs_path_maybe_mine(path) || dirfd < 0)
		return 0;
	char link[64], dir[PATH_MAX], abs[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
	long n = syscall(SYS_readlinkat, AT_FDCWD, link, dir, sizeof(dir) - 1);
	if (n <= 0 || dir[0] != '/')
		return 0;
	dir[n] = 0;
	if (join(abs, sizeof(abs), dir, path))
		return 0;
	if (!match_abs(abs, t))
		return 0;
	memcpy(hp->buf, abs, sizeof(abs));
	t->rel = hp->buf + (t->rel - abs);
	return 1;
}

/* Fill p for target t; lockfs held.  Returns 0 or -errno. */
static int make_path(struct target *t, struct vfs_path *p, unsigned vflags,
		     int *nlinks, char *esc)
{
	struct vfs_mount *m = &vfs.mounts[t->mi];
	int ar = vfs_attach_locked();
	if (ar)
		return ar;
	p->mnt = m;
	p->start = t->start;
	p->path = t->rel;
	p->flags = vflags;
	p->nlinks = nlinks;
	p->escape = esc;
	p->cred = &vfs.cred;
	if (t->dirfd >= 0) {
		vfs_ofd f = fd_ofd(t->dirfd);
		if (!f)
			return -EBADF;
		if (!t->rel[0] && (vflags & VFS_EMPTY_PATH))
			return 0;   /* the caller uses the descriptor itself */
		int r = m->ops->ofd_dir(m, f, &p->start);
		if (r < 0)
			return r;
	}
	if (!t->rel[0] && !(vflags & VFS_EMPTY_PATH))
		return -ENOENT;
	return 0;
}

typedef long path_fn(struct vfs_path *p, void *arg);

/*
 * Run fn on (dirfd, path) under lockfs, following escapes out of the
 * mount.  VFS_PASS when the path is (or became) a host path; then
 * hp->path is what the host must be given.  with_fdt: take fdt_lock
 * first (calls that make a descriptor).
 */
static long path_do(int dirfd, const char *path, unsigned vflags, struct vfs_hostpath *hp,
		    path_fn *fn, void *arg, bool with_fdt)
{
	struct target t;
	int nlinks = 0;
	char esc[PATH_MAX];
	int r = classify(dirfd, path, hp, &t);
	for (;;) {
		if (r < 0)
			return r;
		if (r == 0)
			return VFS_PASS;
		if (with_fdt)
			lk_lock(&vfs.fdt_lock);
		fs_lock();
		struct vfs_path p;
		long res = make_path(&t, &p, vflags, &nlinks, esc);
		if (res == 0)
			res = fn(&p, arg);
		fs_unlock();
		if (with_fdt)
			lk_unlock(&vfs.fdt_lock);
		if (res != -VFS_EESCAPE)
			return res;
		memcpy(hp->buf, esc, sizeof(esc));
		hp->path = hp->buf;
		r = match_abs(hp->buf, &t);
	}
}

/* ---- open ---- */

struct open_arg {
	int flags;
	mode_t mode;
	int mi;
};

static long open_fn(struct vfs_path *p, void *arg)
{
	struct open_arg *a = arg;
	vfs_ofd f;
	int r = p->mnt->ops->open(p, a->flags, a->mode & ~vfs.cred.umask & 07777, &vfs.cred, &f);
	if (r < 0)
		return r;
	return vfs_fd_install((int)(p->mnt - vfs.mounts), f, 0, a->flags & O_CLOEXEC);
}

long vfs_sys_openat(int dirfd, const char *path, int flags, mode_t mode,
		    struct vfs_hostpath *hp)
{
	struct open_arg a = { .flags = flags, .mode = mode };
	/* O_TMPFILE and O_CREAT take the umask; mode is ignored otherwise. */
	unsigned vf = (flags & O_NOFOLLOW) ? VFS_NOFOLLOW : 0;
	long r = path_do(dirfd, path, vf, hp, open_fn, &a, true);
	/* close(1); open("/ramfs/f") makes stdout a ramfs file: the std
	 * stream must follow (after every lock is released: the stdio
	 * wrappers' locks rank above lockfs and flush through the vfs). */
	if (r >= 0 && r <= 2 && shim_stdio_fd_changed)
		shim_stdio_fd_changed((int)r);
	return r;
}

/* ---- stat ---- */

static long stat_fn(struct vfs_path *p, void *arg)
{
	return p->mnt->ops->stat(p, arg);
}

long vfs_sys_fstatat(int dirfd, const char *path, struct stat *st, int flags,
		     struct vfs_hostpath *hp)
{
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT))
		return path && vfs_path_maybe_mine(path) ? -EINVAL : VFS_PASS;
	if (path && !path[0] && (flags & AT_EMPTY_PATH) && vfs_fd_mine(dirfd))
		return vfs_sys_fstat(dirfd, st);
	unsigned vf = (flags & AT_SYMLINK_NOFOLLOW) ? VFS_NOFOLLOW : 0;
	return path_do(dirfd, path, vf, hp, stat_fn, st, false);
}

static void statx_from_stat(struct statx *x, const struct stat *st)
{
	memset(x, 0, sizeof(*x));
	x->stx_mask = STATX_BASIC_STATS;
	x->stx_blksize = (uint32_t)st->st_blksize;
	x->stx_nlink = (uint32_t)st->st_nlink;
	x->stx_uid = st->st_uid;
	x->stx_gid = st->st_gid;
	x->stx_mode = (uint16_t)st->st_mode;
	x->stx_ino = st->st_ino;
	x->stx_size = (uint64_t)st->st_size;
	x->stx_blocks = (uint64_t)st->st_blocks;
	x->stx_atime.tv_sec = st->st_atim.tv_sec;
	x->stx_atime.tv_nsec = (uint32_t)st->st_atim.tv_nsec;
	x->stx_mtime.tv_sec = st->st_mtim.tv_sec;
	x->stx_mtime.tv_nsec = (uint32_t)st->st_mtim.tv_nsec;
	x->stx_ctime.tv_sec = st->st_ctim.tv_sec;
	x->stx_ctime.tv_nsec = (uint32_t)st->st_ctim.tv_nsec;
	x->stx_rdev_major = major(st->st_rdev);
	x->stx_rdev_minor = minor(st->st_rdev);
	x->stx_dev_major = major(st->st_dev);
	x->stx_dev_minor = minor(st->st_dev);
}

long vfs_sys_statx(int dirfd, const char *path, int flags, unsigned mask,
		   struct statx *stx, struct vfs_hostpath *hp)
{
	(void)mask;
	struct stat st;
	long r;
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT |
		      AT_STATX_SYNC_TYPE))
		return path && vfs_path_maybe_mine(path) ? -EINVAL : VFS_PASS;
	if (path && !path[0] && (flags & AT_EMPTY_PATH) && vfs_fd_mine(dirfd))
		r = vfs_sys_fstat(dirfd, &st);
	else
		r = path_do(dirfd, path, (flags & AT_SYMLINK_NOFOLLOW) ? VFS_NOFOLLOW : 0,
			    hp, stat_fn, &st, false);
	if (r == 0)
		statx_from_stat(stx, &st);
	return r;
}

/* ---- access ---- */

struct access_arg {
	int mode, flags;
};

static long access_fn(struct vfs_path *p, void *arg)
{
	struct access_arg *a = arg;
	return p->mnt->ops->access(p, a->mode, a->flags, &vfs.cred);
}

long vfs_sys_faccessat(int dirfd, const char *path, int mode, int flags,
		       struct vfs_hostpath *hp)
{
	if ((mode & ~(R_OK | W_OK | X_OK)) ||
	    (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)))
		return path && vfs_path_maybe_mine(path) ? -EINVAL : VFS_PASS;
	struct access_arg a = { mode, flags };
	unsigned vf = ((flags & AT_SYMLINK_NOFOLLOW) ? VFS_NOFOLLOW : 0) |
		      ((flags & AT_EMPTY_PATH) ? VFS_EMPTY_PATH : 0);
	return path_do(dirfd, path, vf, hp, access_fn, &a, false);
}

/* ---- namespace changes ---- */

static long unlink_fn(struct vfs_path *p, void *arg)
{
	return p->mnt->ops->unlink(p, *(int *)arg, &vfs.cred);
}

long vfs_sys_unlinkat(int dirfd, const char *path, int flags, struct vfs_hostpath *hp)
{
	if (flags & ~AT_REMOVEDIR)
		return path && vfs_path_maybe_mine(path) ? -EINVAL : VFS_PASS;
	return path_do(dirfd, path, VFS_NOFOLLOW, hp, unlink_fn, &flags, false);
}

static long mkdir_fn(struct vfs_path *p, void *arg)
{
	mode_t mode = *(mode_t *)arg & ~vfs.cred.umask & 07777;
	return p->mnt->ops->mkdir(p, mode, &vfs.cred);
}

long vfs_sys_mkdirat(int dirfd, const char *path, mode_t mode, struct vfs_hostpath *hp)
{
	return path_do(dirfd, path, VFS_NOFOLLOW, hp, mkdir_fn, &mode, false);
}

struct mknod_arg {
	mode_t mode;
	dev_t dev;
};

static long mknod_fn(struct vfs_path *p, void *arg)
{
	struct mknod_arg *a = arg;
	mode_t mode = (a->mode & S_IFMT) | (a->mode & ~vfs.cred.umask & 07777);
	return p->mnt->ops->mknod(p, mode, a->dev, &vfs.cred);
}

long vfs_sys_mknodat(int dirfd, const char *path, mode_t mode, dev_t dev,
		     struct vfs_hostpath *hp)
{
	struct mknod_arg a = { mode, dev };
	return path_do(dirfd, path, VFS_NOFOLLOW, hp, mknod_fn, &a, false);
}

static long symlink_fn(struct vfs_path *p, void *arg)
{
	return p->mnt->ops->symlink(arg, p, &vfs.cred);
}

long vfs_sys_symlinkat(const char *target, int dirfd, const char *path,
		       struct vfs_hostpath *hp)
{
	if (!target)
		return -EFAULT;
	return path_do(dirfd, path, VFS_NOFOLLOW, hp, symlink_fn, (void *)target, false);
}

struct readlink_arg {
	char *buf;
	size_t len;
};

static long readlink_fn(struct vfs_path *p, void *arg)
{
	struct readlink_arg *a = arg;
	return p->mnt->ops->readlink(p, a->buf, a->len);
}

long vfs_sys_readlinkat(int dirfd, const char *path, char *buf, size_t len,
			struct vfs_hostpath *hp)
{
	struct readlink_arg a = { buf, len };
	if ((ssize_t)len <= 0)
		return path && vfs_path_maybe_mine(path) ? -EINVAL : VFS_PASS;
	return path_do(dirfd, path, VFS_NOFOLLOW | VFS_EMPTY_PATH, hp, readlink_fn, &a, false);
}

static long setattr_fn(struct vfs_path *p, void *arg)
{
	return p->mnt->ops->setattr(p, 0, arg, &vfs.cred);
}

long vfs_sys_fchmodat(int dirfd, const char *path, mode_t mode, int flags,
		      struct vfs_hostpath *hp)
{
	struct vfs_attr a = { .mask = VFS_ATTR_MODE, .mode = mode & 07777 };
	if (flags & ~AT_SYMLINK_NOFOLLOW)
		return path && vfs_path_maybe_mine(path) ? -EINVAL : VFS_PASS;
	/* Linux has no lchmod: AT_SYMLINK_NOFOLLOW on a symlink is
	 * EOPNOTSUPP; on anything else it is a plain chmod. */
	unsigned vf = (flags & AT_SYMLINK_NOFOLLOW) ? VFS_NOFOLLOW : 0;
	if (vf) {
		struct stat st;
		long r = path_do(dirfd, path, vf, hp, stat_fn, &st, false);
		if (r == 0 && S_ISLNK(st.st_mode))
			return -EOPNOTSUPP;
		if (r < 0 || r == VFS_PASS)
			return r;
	}
	return path_do(dirfd, path, vf, hp, setattr_fn, &a, false);
}

long vfs_sys_fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags,
		      struct vfs_hostpath *hp)
{
	struct vfs_attr a = { .mask = VFS_ATTR_UID | VFS_ATTR_GID, .uid = uid, .gid = gid };
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return path && vfs_path_maybe_mine(path) ? -EINVAL : VFS_PASS;
	if (path && !path[0] && (flags & AT_EMPTY_PATH) && vfs_fd_mine(dirfd))
		return vfs_sys_fchown(dirfd, uid, gid);
	unsigned vf = (flags & AT_SYMLINK_NOFOLLOW) ? VFS_NOFOLLOW : 0;
	return path_do(dirfd, path, vf, hp, setattr_fn, &a, false);
}

long vfs_sys_utimensat(int dirfd, const char *path, const struct timespec ts[2],
		       int flags, struct vfs_hostpath *hp)
{
	struct vfs_attr a = vfs_times_attr(ts);
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return (path && vfs_path_maybe_mine(path)) || vfs_fd_mine(dirfd) ? -EINVAL
										: VFS_PASS;
	/* utimensat(fd, NULL, ...) is futimens(fd) */
	if ((!path || (!path[0] && (flags & AT_EMPTY_PATH))) && vfs_fd_mine(dirfd))
		return vfs_sys_futimens(dirfd, ts);
	unsigned vf = (flags & AT_SYMLINK_NOFOLLOW) ? VFS_NOFOLLOW : 0;
	return path_do(dirfd, path, vf, hp, setattr_fn, &a, false);
}

/* ---- two paths ---- */

struct two {
	struct target t1, t2;
	int r1, r2;
};

static int classify_two(int d1, const char *p1, int d2, const char *p2,
			struct vfs_hostpath *hp1, struct vfs_hostpath *hp2, struct two *w)
{
	w->r1 = classify(d1, p1, hp1, &w->t1);
	if (w->r1 < 0)
		return w->r1;
	w->r2 = classify(d2, p2, hp2, &w->t2);
	if (w->r2 < 0)
		return w->r2;
	if (!w->r1 && !w->r2)
		return 0;
	if (w->r1 != w->r2 || w->t1.mi != w->t2.mi)
		return -EXDEV;
	return 1;
}

typedef long two_fn(struct vfs_path *a, struct vfs_path *b, void *arg);

static long two_do(int d1, const char *p1, int d2, const char *p2, unsigned vf1, unsigned vf2,
		   struct vfs_hostpath *hp1, struct vfs_hostpath *hp2, two_fn *fn, void *arg)
{
	struct two w;
	int nlinks = 0;
	char esc1[PATH_MAX], esc2[PATH_MAX];
	int r = classify_two(d1, p1, d2, p2, hp1, hp2, &w);
	for (int round = 0; round < VFS_MAX_SYMLINKS; round++) {
		if (r < 0)
			return r;
		if (r == 0)
			return VFS_PASS;
		fs_lock();
		struct vfs_path a, b;
		esc1[0] = esc2[0] = 0;
		long res = make_path(&w.t1, &a, vf1, &nlinks, esc1);
		if (res == 0)
			res = make_path(&w.t2, &b, vf2, &nlinks, esc2);
		if (res == 0)
			res = fn(&a, &b, arg);
		fs_unlock();
		if (res != -VFS_EESCAPE)
			return res;
		/* One side left the mount: continue with it as an absolute
		 * path (the other keeps its target). */
		if (esc1[0]) {
			memcpy(hp1->buf, esc1, sizeof(esc1));
			hp1->path = hp1->buf;
			w.r1 = match_abs(hp1->buf, &w.t1);
		}
		if (esc2[0]) {
			memcpy(hp2->buf, esc2, sizeof(esc2));
			hp2->path = hp2->buf;
			w.r2 = match_abs(hp2->buf, &w.t2);
		}
		if (!w.r1 && !w.r2)
			return VFS_PASS;
		r = (w.r1 != w.r2 || w.t1.mi != w.t2.mi) ? -EXDEV : 1;
	}
	return -ELOOP;
}

static long rename_fn(struct vfs_path *a, struct vfs_path *b, void *arg)
{
	return a->mnt->ops->rename(a, b, *(unsigned *)arg, &vfs.cred);
}

long vfs_sys_renameat2(int odfd, const char *old, int ndfd, const char *new_,
		       unsigned flags, struct vfs_hostpath *hp1, struct vfs_hostpath *hp2)
{
	return two_do(odfd, old, ndfd, new_, VFS_NOFOLLOW, VFS_NOFOLLOW, hp1, hp2,
		      rename_fn, &flags);
}

static long link_fn(struct vfs_path *a, struct vfs_path *b, void *arg)
{
	(void)arg;
	return a->mnt->ops->link(a, b, &vfs.cred);
}

long vfs_sys_linkat(int odfd, const char *old, int ndfd, const char *new_, int flags,
		    struct vfs_hostpath *hp1, struct vfs_hostpath *hp2)
{
	if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	unsigned vf1 = (flags & AT_SYMLINK_FOLLOW) ? 0 : VFS_NOFOLLOW;
	if (flags & AT_EMPTY_PATH)
		vf1 |= VFS_EMPTY_PATH;
	return two_do(odfd, old, ndfd, new_, vf1, VFS_NOFOLLOW, hp1, hp2, link_fn, NULL);
}

/* ---- truncate, statfs, xattr ---- */

static long truncate_fn(struct vfs_path *p, void *arg)
{
	vfs_ofd f;
	int r = p->mnt->ops->open(p, O_WRONLY, 0, &vfs.cred, &f);
	if (r < 0)
		return r;
	r = p->mnt->ops->ftruncate(p->mnt, f, *(off_t *)arg);
	p->mnt->ops->ofd_put(p->mnt, f);
	return r;
}

long vfs_sys_truncate(const char *path, off_t len, struct vfs_hostpath *hp)
{
	if (len < 0 && path && vfs_path_maybe_mine(path))
		return -EINVAL;
	return path_do(AT_FDCWD, path, 0, hp, truncate_fn, &len, false);
}

static long statfs_fn(struct vfs_path *p, void *arg)
{
	struct stat st;
	int r = p->mnt->ops->stat(p, &st);
	if (r < 0)
		return r;
	return p->mnt->ops->statfs(p->mnt, arg);
}

long vfs_sys_statfs(const char *path, struct statfs *sf, struct vfs_hostpath *hp)
{
	return path_do(AT_FDCWD, path, 0, hp, statfs_fn, sf, false);
}

long vfs_sys_xattr_path(const char *path, int set, struct vfs_hostpath *hp)
{
	struct stat st;
	long r = path_do(AT_FDCWD, path, 0, hp, stat_fn, &st, false);
	if (r < 0 || r == VFS_PASS)
		return r;
	return set ? -ENOTSUP : -ENODATA;
}

/* ---- cwd ---- */

static void set_cwd(uint64_t c)
{
	/* fdt_lock held */
	uint64_t old = atomic_exchange(&vfs_cwd, c);
	if (old) {
		struct vfs_mount *m = &vfs.mounts[cwd_mount(old)];
		fs_lock();
		m->ops->node_hold(m, (vfs_node)old, -1);
		fs_unlock();
	}
}

static long chdir_fn(struct vfs_path *p, void *arg)
{
	vfs_node n;
	int r = p->mnt->ops->lookup_dir(p, &vfs.cred, &n);
	if (r < 0)
		return r;
	p->mnt->ops->node_hold(p->mnt, n, 1);
	*(uint64_t *)arg = ((uint64_t)(p->mnt - vfs.mounts + 1) << 32) | n;
	return 0;
}

long vfs_sys_chdir(const char *path, struct vfs_hostpath *hp)
{
	uint64_t c = 0;
	lk_lock(&vfs.fdt_lock);
	long r = path_do(AT_FDCWD, path, 0, hp, chdir_fn, &c, false);
	if (r == VFS_PASS) {
		/* The host's chdir: done here, under fdt_lock, so that the
		 * cwd word and the kernel's cwd change together. */
		r = syscall(SYS_chdir, hp->path) ? -errno : 0;
		if (r == 0)
			set_cwd(0);
	} else if (r == 0) {
		set_cwd(c);
	}
	lk_unlock(&vfs.fdt_lock);
	return r;
}

long vfs_sys_fchdir(int fd)
{
	lk_lock(&vfs.fdt_lock);
	fs_lock();
	long r;
	vfs_ofd f = fd_ofd(fd);
	vfs_node n = 0;
	struct vfs_mount *m = fd_mount(fd);
	if (!f)
		r = -EBADF;
	else
		r = m->ops->ofd_dir(m, f, &n);
	if (r == 0)
		m->ops->node_hold(m, n, 1);
	fs_unlock();
	if (r == 0)
		set_cwd(((uint64_t)(vfs.fdt[fd].mnt + 1) << 32) | n);
	lk_unlock(&vfs.fdt_lock);
	return r;
}

/* Called by the fchdir wrapper when a host fchdir succeeded. */
void vfs_cwd_to_host(void)
{
	lk_lock(&vfs.fdt_lock);
	set_cwd(0);
	lk_unlock(&vfs.fdt_lock);
}

long vfs_sys_getcwd(char *buf, size_t size)
{
	uint64_t c = atomic_load(&vfs_cwd);
	if (!c)
		return VFS_PASS;
	struct vfs_mount *m = &vfs.mounts[cwd_mount(c)];     /* attached: it has a cwd */
	char rel[PATH_MAX];
	fs_lock();
	int r = m->ops->node_path(m, (vfs_node)c, rel, sizeof(rel));
	fs_unlock();
	if (r < 0)
		return r;
	const char *tail = strcmp(rel, "/") ? rel : "";
	size_t need = m->prefix_len + strlen(tail) + 1;
	if (need > PATH_MAX)
		return -ENAMETOOLONG;
	if (size < need)
		return -ERANGE;
	memcpy(buf, m->prefix, m->prefix_len);
	strcpy(buf + m->prefix_len, tail);
	return (long)need;
}
