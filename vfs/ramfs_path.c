/*
 * ramfs_path — the path operations of ramfs_ops: stat, open, mkdir,
 * mknod, unlink, link, symlink, readlink, access, setattr, lookup_dir,
 * node_path, node_hold, statfs.  Rename is in ramfs_rename.c, the
 * operations on open descriptions in ramfs_file.c.
 *
 * Each operation takes the segment lock (ramfs_seg.c) around a *_locked
 * body; the checks follow the order of the kernel's (fs/namei.c), so that
 * a call that breaks several rules gets the errno the kernel gives.
 */
#include "vfs/ramfs_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

/* stat and readlink take their credentials from the path (p->cred);
 * without them they resolve as root. */
const struct vfs_cred ramfs_cred_root = { .uid = 0, .gid = 0 };

static const struct vfs_cred *ramfs_path_cred(const struct vfs_path *p)
{
	return p->cred ? p->cred : &ramfs_cred_root;
}

/* ---- creating ---- */

/* May c add an entry to w->dir?  (may_create) */
int ramfs_may_create(struct ramfs *fs, const struct ramfs_walk *w, const struct vfs_cred *c)
{
	int r = ramfs_perm(&fs->nodes[w->dir], W_OK | X_OK, c);

	if (r < 0)
		return r;
	return fs->nodes[w->dir].nlink == 0 ? -ENOENT : 0;
}

/* filename_create: the last component must be new and not "." or "..";
 * a trailing slash is only for directories. */
static int ramfs_create_walk(struct ramfs *fs, const struct vfs_path *p, const struct vfs_cred *c,
			     bool isdir, struct ramfs_walk *w)
{
	int r = ramfs_walk(fs, p, (p->flags & ~VFS_EMPTY_PATH) | VFS_NOFOLLOW | RAMFS_WALK_PARENT,
			   c, w);

	if (r < 0)
		return r;
	if (w->node || w->dot)
		return -EEXIST;
	if (w->slash && !isdir)
		return -ENOENT;
	return 0;
}

/* A new node named w->name in w->dir. */
int ramfs_create_node(struct ramfs *fs, const struct ramfs_walk *w, mode_t mode,
		      const struct vfs_cred *c, uint32_t *out)
{
	uint32_t n = ramfs_node_new(fs, mode, c, w->dir);
	int r;

	if (!n)
		return -ENOSPC;
	r = ramfs_dir_add(fs, w->dir, w->name, n);
	if (r < 0) {
		fs->nodes[n].nlink = 0;
		ramfs_node_maybe_free(fs, n);
		return r;
	}
	if (S_ISDIR(mode))
		fs->nodes[w->dir].nlink++;
	ramfs_touch(&fs->nodes[w->dir], false, true, true);
	*out = n;
	return 0;
}

static int ramfs_mkdir_locked(struct ramfs *fs, const struct vfs_path *p, mode_t mode,
			      const struct vfs_cred *c)
{
	struct ramfs_walk w;
	uint32_t n;
	int r = ramfs_create_walk(fs, p, c, true, &w);

	if (r == 0)
		r = ramfs_may_create(fs, &w, c);
	if (r == 0)
		r = ramfs_create_node(fs, &w, S_IFDIR | (mode & 01777 & ~c->umask), c, &n);
	return r;
}

/* may_mknod: which types mknod makes (before any lookup). */
static int ramfs_mknod_kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case 0:
	case S_IFREG:
	case S_IFIFO:
	case S_IFSOCK:
	case S_IFCHR:
	case S_IFBLK:
		return 0;
	case S_IFDIR:
		return -EPERM;
	default:
		return -EINVAL;
	}
}

static int ramfs_mknod_locked(struct ramfs *fs, const struct vfs_path *p, mode_t mode, dev_t dev,
			      const struct vfs_cred *c)
{
	struct ramfs_walk w;
	uint32_t n;
	int r = ramfs_mknod_kind(mode);

	if (r == 0)
		r = ramfs_create_walk(fs, p, c, false, &w);
	if (r == 0)
		r = ramfs_may_create(fs, &w, c);
	if (r < 0)
		return r;
	/* vfs_mknod: devices need CAP_MKNOD, checked after may_create,
	 * except the 0:0 character device (an overlayfs whiteout) */
	if ((S_ISBLK(mode) || (S_ISCHR(mode) && dev != 0)) && c->uid != 0)
		return -EPERM;
	if ((mode & S_IFMT) == 0)
		mode |= S_IFREG;
	r = ramfs_create_node(fs, &w, (mode & S_IFMT) | (mode & 07777 & ~c->umask), c, &n);
	if (r == 0 && (S_ISCHR(mode) || S_ISBLK(mode)))
		fs->nodes[n].rdev = dev;
	return r;
}

static int ramfs_symlink_locked(struct ramfs *fs, const char *target, const struct vfs_path *p,
				const struct vfs_cred *c)
{
	size_t len = strnlen(target, PATH_MAX);
	struct ramfs_walk w;
	uint64_t got;
	uint32_t n;
	int r;

	if (len == 0)
		return -ENOENT;
	if (len >= PATH_MAX)
		return -ENAMETOOLONG;
	r = ramfs_create_walk(fs, p, c, false, &w);
	if (r == 0)
		r = ramfs_may_create(fs, &w, c);
	if (r < 0)
		return r;
	n = ramfs_node_new(fs, S_IFLNK | 0777, c, w.dir);
	if (!n)
		return -ENOSPC;
	/* the target before the name: a symlink is never seen without one */
	r = ramfs_data_reserve(fs, n, 0, 1, &got);
	if (r == 0)
		ramfs_data_write(fs, n, target, len, 0);
	if (r == 0)
		r = ramfs_dir_add(fs, w.dir, w.name, n);
	if (r < 0) {
		fs->nodes[n].nlink = 0;
		ramfs_node_maybe_free(fs, n);
		return r;
	}
	ramfs_touch(&fs->nodes[w.dir], false, true, true);
	return 0;
}

/* ---- removing ---- */

static int ramfs_rmdir_locked(struct ramfs *fs, const struct vfs_path *p, const struct vfs_cred *c)
{
	struct ramfs_walk w;
	int r = ramfs_walk(fs, p, VFS_NOFOLLOW | RAMFS_WALK_PARENT, c, &w);

	if (r < 0)
		return r;
	if (w.dot && strcmp(w.name, ".") == 0)
		return -EINVAL;
	if (w.dot && strcmp(w.name, "..") == 0)
		return -ENOTEMPTY;
	if (w.dot)
		return -EBUSY;                  /* the mount root */
	if (!w.node)
		return -ENOENT;
	r = ramfs_perm(&fs->nodes[w.dir], W_OK | X_OK, c);
	if (r == 0)
		r = ramfs_sticky_ok(fs, w.dir, w.node, c);
	if (r < 0)
		return r;
	if (!S_ISDIR(fs->nodes[w.node].mode))
		return -ENOTDIR;
	if (fs->nodes[w.node].entries)
		return -ENOTEMPTY;
	ramfs_dir_del(fs, w.de);
	fs->nodes[w.dir].nlink--;
	fs->nodes[w.node].nlink = 0;
	ramfs_touch(&fs->nodes[w.dir], false, true, true);
	ramfs_touch(&fs->nodes[w.node], false, false, true);
	ramfs_node_maybe_free(fs, w.node);
	return 0;
}

static int ramfs_unlink_locked(struct ramfs *fs, const struct vfs_path *p, const struct vfs_cred *c)
{
	struct ramfs_walk w;
	int r = ramfs_walk(fs, p, VFS_NOFOLLOW | RAMFS_WALK_PARENT, c, &w);

	if (r < 0)
		return r;
	if (w.dot)
		return -EISDIR;
	if (!w.node)
		return -ENOENT;
	if (w.slash)
		return S_ISDIR(fs->nodes[w.node].mode) ? -EISDIR : -ENOTDIR;
	r = ramfs_perm(&fs->nodes[w.dir], W_OK | X_OK, c);
	if (r == 0)
		r = ramfs_sticky_ok(fs, w.dir, w.node, c);
	if (r < 0)
		return r;
	if (S_ISDIR(fs->nodes[w.node].mode))
		return -EISDIR;
	ramfs_dir_del(fs, w.de);
	fs->nodes[w.node].nlink--;
	ramfs_touch(&fs->nodes[w.dir], false, true, true);
	ramfs_touch(&fs->nodes[w.node], false, false, true);
	ramfs_node_maybe_free(fs, w.node);
	return 0;
}

/* ---- links ---- */

/* fs.protected_hardlinks (on by default): linking a file one does not own
 * needs it to be a plain regular file one can read and write. */
static int ramfs_may_link(struct ramfs *fs, uint32_t n, const struct vfs_cred *c)
{
	const struct ramfs_node *nd = &fs->nodes[n];

	if (c->uid == 0 || nd->uid == c->uid)
		return 0;
	if (S_ISREG(nd->mode) && !(nd->mode & S_ISUID) &&
	    (nd->mode & (S_ISGID | S_IXGRP)) != (S_ISGID | S_IXGRP) &&
	    ramfs_perm(nd, R_OK | W_OK, c) == 0)
		return 0;
	return -EPERM;
}

static int ramfs_link_locked(struct ramfs *fs, const struct vfs_path *from,
			     const struct vfs_path *to, const struct vfs_cred *c)
{
	struct ramfs_walk o, w;
	uint32_t n;
	int r = ramfs_walk(fs, from, from->flags, c, &o);

	if (r < 0)
		return r;
	n = o.node;
	r = ramfs_create_walk(fs, to, c, false, &w);
	if (r == 0)
		r = ramfs_may_link(fs, n, c);
	if (r == 0)
		r = ramfs_may_create(fs, &w, c);
	if (r < 0)
		return r;
	if (S_ISDIR(fs->nodes[n].mode))
		return -EPERM;
	if (fs->nodes[n].nlink == 0 && !(fs->nodes[n].flags & RAMFS_NF_LINKABLE))
		return -ENOENT;
	r = ramfs_dir_add(fs, w.dir, w.name, n);
	if (r < 0)
		return r;
	fs->nodes[n].nlink++;
	fs->nodes[n].flags &= ~RAMFS_NF_LINKABLE;
	ramfs_touch(&fs->nodes[n], false, false, true);
	ramfs_touch(&fs->nodes[w.dir], false, true, true);
	return 0;
}

static long ramfs_readlink_locked(struct ramfs *fs, const struct vfs_path *p, char *buf,
				  size_t len)
{
	struct ramfs_walk w;
	uint64_t run;
	int r = ramfs_walk(fs, p, p->flags | VFS_NOFOLLOW, ramfs_path_cred(p), &w);
	struct ramfs_node *n;

	if (r < 0)
		return r;
	n = &fs->nodes[w.node];
	if (!S_ISLNK(n->mode))
		return -EINVAL;
	if ((long)len <= 0)
		return -EINVAL;
	if (len > n->size)
		len = n->size;
	memcpy(buf, ramfs_data_page(fs, w.node, 0, &run), len);
	ramfs_touch_atime(n);
	return (long)len;
}

/* ---- attributes ---- */

static int ramfs_stat_locked(struct ramfs *fs, const struct vfs_path *p, struct stat *st)
{
	struct ramfs_walk w;
	int r = ramfs_walk(fs, p, p->flags, ramfs_path_cred(p), &w);

	if (r == 0)
		ramfs_fill_stat(fs, w.node, st);
	return r;
}

static int ramfs_access_locked(struct ramfs *fs, const struct vfs_path *p, int mode, int flags,
			       const struct vfs_cred *c)
{
	struct vfs_cred real = *c;
	struct ramfs_walk w;
	int r;

	if (mode & ~(R_OK | W_OK | X_OK))
		return -EINVAL;
	if (!(flags & AT_EACCESS)) {
		real.uid = c->ruid;
		real.gid = c->rgid;
	}
	r = ramfs_walk(fs, p, p->flags, &real, &w);
	if (r < 0 || mode == F_OK)
		return r;
	return ramfs_perm(&fs->nodes[w.node], mode, &real);
}

static int ramfs_setattr_locked(struct ramfs *fs, const struct vfs_path *p, vfs_ofd f,
				const struct vfs_attr *a, const struct vfs_cred *c)
{
	struct ramfs_walk w;
	uint32_t n;
	int r = ramfs_utimes_precheck(a);

	if (r != 0)
		return r < 0 ? r : 0;
	if (f) {
		r = ramfs_ofd_check(fs, f, &n);
		if (r < 0)
			return r;
	} else {
		r = ramfs_walk(fs, p, p->flags, c, &w);
		if (r < 0)
			return r;
		n = w.node;
	}
	return ramfs_node_setattr(fs, n, a, c);
}

static int ramfs_lookup_dir_locked(struct ramfs *fs, const struct vfs_path *p,
				   const struct vfs_cred *c, vfs_node *out)
{
	struct ramfs_walk w;
	int r = ramfs_walk(fs, p, p->flags, c, &w);

	if (r < 0)
		return r;
	if (!S_ISDIR(fs->nodes[w.node].mode))
		return -ENOTDIR;
	r = ramfs_perm(&fs->nodes[w.node], X_OK, c);
	if (r == 0)
		*out = w.node;
	return r;
}

/* The path of directory n from the mount root, built backwards. */
static int ramfs_node_path_locked(struct ramfs *fs, uint32_t n, char *buf, size_t len)
{
	char tmp[PATH_MAX];
	size_t at = sizeof(tmp) - 1;

	tmp[at] = 0;
	if (n == 0 || n >= fs->hdr->nnodes || !S_ISDIR(fs->nodes[n].mode))
		return -ENOENT;
	while (n != RAMFS_ROOT) {
		const struct ramfs_dirent *e;

		if (fs->nodes[n].nlink == 0 || !fs->nodes[n].name_de)
			return -ENOENT;
		e = &fs->dirents[fs->nodes[n].name_de];
		if (e->namelen + 1 > at)
			return -ENAMETOOLONG;
		at -= e->namelen;
		memcpy(tmp + at, e->name, e->namelen);
		tmp[--at] = '/';
		n = e->dir;
	}
	if (at == sizeof(tmp) - 1)
		tmp[--at] = '/';
	if (sizeof(tmp) - at > len)
		return -ERANGE;
	memcpy(buf, tmp + at, sizeof(tmp) - at);
	return 0;
}

static int ramfs_statfs_locked(struct ramfs *fs, struct statfs *sf)
{
	const struct ramfs_hdr *h = fs->hdr;

	memset(sf, 0, sizeof(*sf));
	sf->f_type = TMPFS_MAGIC;
	sf->f_bsize = RAMFS_PAGE;
	sf->f_frsize = RAMFS_PAGE;
	sf->f_blocks = h->data_pages;
	sf->f_bfree = h->free_pages;
	sf->f_bavail = h->free_pages;
	sf->f_files = h->nnodes - 1;
	sf->f_ffree = h->nnodes - 1 - h->tab[RAMFS_T_NODE].used;
	sf->f_namelen = RAMFS_NAME_MAX;
	sf->f_flags = 0x20;     /* ST_VALID: f_flags is filled in */
	memcpy(&sf->f_fsid, &h->dev, sizeof(sf->f_fsid) < sizeof(h->dev) ? sizeof(sf->f_fsid)
										: sizeof(h->dev));
	return 0;
}

/* ---- the locked entry points ---- */

static int ramfs_op_stat(const struct vfs_path *p, struct stat *st)
{
	RAMFS_LOCKED(ramfs_of(p->mnt), ramfs_stat_locked(ramfs_of(p->mnt), p, st));
}

static int ramfs_op_mkdir(const struct vfs_path *p, mode_t mode, const struct vfs_cred *c)
{
	RAMFS_LOCKED_GC(ramfs_of(p->mnt), ramfs_mkdir_locked(ramfs_of(p->mnt), p, mode, c));
}

static int ramfs_op_mknod(const struct vfs_path *p, mode_t mode, dev_t dev, const struct vfs_cred *c)
{
	RAMFS_LOCKED_GC(ramfs_of(p->mnt), ramfs_mknod_locked(ramfs_of(p->mnt), p, mode, dev, c));
}

static int ramfs_op_unlink(const struct vfs_path *p, int flags, const struct vfs_cred *c)
{
	struct ramfs *fs = ramfs_of(p->mnt);

	if (flags & ~AT_REMOVEDIR)
		return -EINVAL;
	if (flags & AT_REMOVEDIR)
		RAMFS_LOCKED(fs, ramfs_rmdir_locked(fs, p, c));
	RAMFS_LOCKED(fs, ramfs_unlink_locked(fs, p, c));
}

static int ramfs_op_link(const struct vfs_path *from, const struct vfs_path *to,
			 const struct vfs_cred *c)
{
	RAMFS_LOCKED_GC(ramfs_of(to->mnt), ramfs_link_locked(ramfs_of(to->mnt), from, to, c));
}

static int ramfs_op_symlink(const char *target, const struct vfs_path *p, const struct vfs_cred *c)
{
	RAMFS_LOCKED_GC(ramfs_of(p->mnt), ramfs_symlink_locked(ramfs_of(p->mnt), target, p, c));
}

static long ramfs_op_readlink(const struct vfs_path *p, char *buf, size_t len)
{
	RAMFS_LOCKED(ramfs_of(p->mnt), ramfs_readlink_locked(ramfs_of(p->mnt), p, buf, len));
}

static int ramfs_op_access(const struct vfs_path *p, int mode, int flags, const struct vfs_cred *c)
{
	RAMFS_LOCKED(ramfs_of(p->mnt), ramfs_access_locked(ramfs_of(p->mnt), p, mode, flags, c));
}

static int ramfs_op_setattr(const struct vfs_path *p, vfs_ofd f, const struct vfs_attr *a,
			    const struct vfs_cred *c)
{
	/* With an ofd the contract lets p be NULL: then the mount is the only
	 * ramfs attached (a vfs_path carrying just mnt is better). */
	struct ramfs *fs = p && p->mnt ? ramfs_of(p->mnt) : ramfs_only();

	if (!fs)
		return -EBADF;
	RAMFS_LOCKED(fs, ramfs_setattr_locked(fs, p, f, a, c));
}

static int ramfs_op_lookup_dir(const struct vfs_path *p, const struct vfs_cred *c, vfs_node *out)
{
	RAMFS_LOCKED(ramfs_of(p->mnt), ramfs_lookup_dir_locked(ramfs_of(p->mnt), p, c, out));
}

static int ramfs_op_node_path(struct vfs_mount *m, vfs_node n, char *buf, size_t len)
{
	RAMFS_LOCKED(ramfs_of(m), ramfs_node_path_locked(ramfs_of(m), n, buf, len));
}

static void ramfs_op_node_hold(struct vfs_mount *m, vfs_node n, int delta)
{
	struct ramfs *fs = ramfs_of(m);

	if (ramfs_lock(fs) < 0)
		return;
	if (n && n < fs->hdr->nnodes && fs->nodes[n].mode) {
		if (delta < 0)
			ramfs_proc_ref(fs, RAMFS_REF_HOLD, (uint32_t)n, delta);
		fs->nodes[n].holds += (uint32_t)delta;
		if (delta > 0)
			ramfs_proc_ref(fs, RAMFS_REF_HOLD, (uint32_t)n, delta);
		ramfs_node_maybe_free(fs, n);
	}
	ramfs_unlock(fs);
}

static int ramfs_op_statfs(struct vfs_mount *m, struct statfs *sf)
{
	RAMFS_LOCKED(ramfs_of(m), ramfs_statfs_locked(ramfs_of(m), sf));
}

const struct vfs_ops ramfs_ops = {
	.name = "ramfs",
	.stat = ramfs_op_stat,
	.open = ramfs_op_open,
	.mkdir = ramfs_op_mkdir,
	.mknod = ramfs_op_mknod,
	.unlink = ramfs_op_unlink,
	.rename = ramfs_op_rename,
	.link = ramfs_op_link,
	.symlink = ramfs_op_symlink,
	.readlink = ramfs_op_readlink,
	.access = ramfs_op_access,
	.setattr = ramfs_op_setattr,
	.lookup_dir = ramfs_op_lookup_dir,
	.node_path = ramfs_op_node_path,
	.node_hold = ramfs_op_node_hold,
	.statfs = ramfs_op_statfs,
	.ofd_get = ramfs_op_ofd_get,
	.ofd_put = ramfs_op_ofd_put,
	.ofd_own = ramfs_op_ofd_own,
	.rw = ramfs_op_rw,
	.lseek = ramfs_op_lseek,
	.fstat = ramfs_op_fstat,
	.ftruncate = ramfs_op_ftruncate,
	.fallocate = ramfs_op_fallocate,
	.fsync = ramfs_op_fsync,
	.getfl = ramfs_op_getfl,
	.setfl = ramfs_op_setfl,
	.getdents = ramfs_op_getdents,
	.ofd_dir = ramfs_op_ofd_dir,
	.ofd_remaining = ramfs_op_ofd_remaining,
	.map = ramfs_op_map,
	.unpin = ramfs_op_unpin,
	.lock = ramfs_op_lock,
	.lock_cancel = ramfs_op_lock_cancel,
	.lock_close = ramfs_op_lock_close,
};
