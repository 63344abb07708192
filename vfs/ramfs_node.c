/*
 * ramfs_node — inodes: creation and release, the kernel's permission
 * rules, stat, timestamps and attribute changes.
 *
 * Everything here runs with the segment lock held (hdr->mutex guards the
 * node table).
 *
 * A node lives while anything refers to it: directory entries (nlink),
 * open descriptions (opens), mappings (pinned pages) and cwds (holds).
 * ramfs_node_maybe_free is called whenever one of those drops.
 */
#include "vfs/ramfs_int.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static bool ramfs_is_root(const struct vfs_cred *c)
{
	return c->uid == 0;
}

bool ramfs_in_group(const struct vfs_cred *c, gid_t g)
{
	if (c->gid == g)
		return true;
	for (unsigned i = 0; i < c->ngroups && i < VFS_MAX_GROUPS; i++)
		if (c->groups[i] == g)
			return true;
	return false;
}

/*
 * generic_permission: root passes everything except executing a file
 * that has no x bit at all; others get the owner, group or other bits.
 * mask is R_OK | W_OK | X_OK (4, 2, 1), as MAY_READ etc.
 */
int ramfs_perm(const struct ramfs_node *n, int mask, const struct vfs_cred *c)
{
	unsigned m = n->mode;

	if (ramfs_is_root(c)) {
		if ((mask & X_OK) && !S_ISDIR(m) && !(m & 0111))
			return -EACCES;
		return 0;
	}
	if (n->uid == c->uid)
		m >>= 6;
	else if (ramfs_in_group(c, n->gid))
		m >>= 3;
	return ((int)m & mask) == mask ? 0 : -EACCES;
}

/* access() without AT_EACCESS checks the real ids. */
int ramfs_perm_real(const struct ramfs_node *n, int mask, const struct vfs_cred *c)
{
	struct vfs_cred r = *c;

	r.uid = c->ruid;
	r.gid = c->rgid;
	return ramfs_perm(n, mask, &r);
}

/* Sticky directories: only the owner of the entry or of the directory,
 * or root, may remove or rename it. */
int ramfs_sticky_ok(struct ramfs *fs, uint32_t dir, uint32_t n, const struct vfs_cred *c)
{
	const struct ramfs_node *d = &fs->nodes[dir];

	if (!(d->mode & S_ISVTX) || ramfs_is_root(c))
		return 0;
	if (fs->nodes[n].uid == c->uid || d->uid == c->uid)
		return 0;
	return -EPERM;
}

static void ramfs_ts_set(struct ramfs_ts *t, const struct ramfs_ts *now)
{
	*t = *now;
}

void ramfs_touch(struct ramfs_node *n, bool a, bool m, bool c)
{
	struct ramfs_ts now;

	ramfs_now(&now);
	if (a)
		ramfs_ts_set(&n->atime, &now);
	if (m)
		ramfs_ts_set(&n->mtime, &now);
	if (c)
		ramfs_ts_set(&n->ctime, &now);
}

/* should_remove_suid: what a write by a caller without CAP_FSETID drops. */
void ramfs_kill_privs(struct ramfs_node *n)
{
	if (!S_ISREG(n->mode))
		return;
	n->mode &= ~S_ISUID;
	if ((n->mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP))
		n->mode &= ~S_ISGID;
}

static int ramfs_ts_cmp(const struct ramfs_ts *a, const struct ramfs_ts *b)
{
	if (a->sec != b->sec)
		return a->sec < b->sec ? -1 : 1;
	return a->nsec < b->nsec ? -1 : a->nsec > b->nsec;
}

/* relatime, the default mount option: atime moves only if it is not
 * newer than mtime or ctime, or is a day old. */
void ramfs_touch_atime(struct ramfs_node *n)
{
	struct ramfs_ts now;

	ramfs_now(&now);
	if (ramfs_ts_cmp(&n->atime, &n->mtime) <= 0 || ramfs_ts_cmp(&n->atime, &n->ctime) <= 0 ||
	    now.sec - n->atime.sec >= 24 * 3600)
		n->atime = now;
}

/*
 * A new node with one link (two for a directory: its own "."), owned by
 * the caller; in a setgid directory it takes the directory's group (and
 * a new directory keeps the setgid bit).  mode carries the type and the
 * permission bits with the umask already applied.  0 when the table is
 * full.
 */
uint32_t ramfs_node_new(struct ramfs *fs, mode_t mode, const struct vfs_cred *c, uint32_t dir)
{
	uint32_t i = ramfs_tab_get(fs, RAMFS_T_NODE);
	struct ramfs_node *n;

	if (!i)
		return 0;
	n = &fs->nodes[i];
	n->uid = c->uid;
	n->gid = c->gid;
	if (dir && (fs->nodes[dir].mode & S_ISGID)) {
		n->gid = fs->nodes[dir].gid;
		if (S_ISDIR(mode))
			mode |= S_ISGID;
	}
	/* mode_strip_sgid: a non-member cannot create a setgid-exec file */
	if (!S_ISDIR(mode) && (mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP) &&
	    !ramfs_is_root(c) && !ramfs_in_group(c, n->gid))
		mode &= ~S_ISGID;
	n->mode = mode;
	n->nlink = S_ISDIR(mode) ? 2 : 1;
	n->gen = ++fs->hdr->gen;
	n->cookie = RAMFS_COOKIE_FIRST;
	ramfs_touch(n, true, true, true);
	return i;
}

void ramfs_node_maybe_free(struct ramfs *fs, uint32_t i)
{
	struct ramfs_node *n = &fs->nodes[i];

	if (i == RAMFS_ROOT || n->nlink || n->opens || n->pinned || n->holds)
		return;
	ramfs_data_free_all(fs, i);
	ramfs_lk_node_gone(fs, i);
	RAMFS_PUBLISH();
	n->mode = 0;                    /* free: repair finishes a free cut short */
	ramfs_tab_put(fs, RAMFS_T_NODE, i);
}

static blkcnt_t ramfs_blocks(const struct ramfs_node *n)
{
	/* tmpfs keeps short symlink targets in the inode */
	if (S_ISLNK(n->mode) && n->size < RAMFS_SHORT_SYMLINK)
		return 0;
	return (blkcnt_t)n->pages * (RAMFS_PAGE / 512);
}

void ramfs_fill_stat(struct ramfs *fs, uint32_t i, struct stat *st)
{
	const struct ramfs_node *n = &fs->nodes[i];

	memset(st, 0, sizeof(*st));
	st->st_dev = (dev_t)fs->hdr->dev;
	st->st_ino = i;
	st->st_mode = n->mode;
	st->st_nlink = n->nlink;
	st->st_uid = n->uid;
	st->st_gid = n->gid;
	st->st_rdev = (dev_t)n->rdev;
	st->st_size = S_ISDIR(n->mode) ? 2 * RAMFS_BOGO_DIRENT + RAMFS_BOGO_DIRENT * (off_t)n->entries
				       : (off_t)n->size;
	st->st_blksize = RAMFS_PAGE;
	st->st_blocks = ramfs_blocks(n);
	st->st_atim = (struct timespec){ n->atime.sec, n->atime.nsec };
	st->st_mtim = (struct timespec){ n->mtime.sec, n->mtime.nsec };
	st->st_ctim = (struct timespec){ n->ctime.sec, n->ctime.nsec };
}

/* ---- attribute changes (notify_change) ---- */

static int ramfs_chmod(struct ramfs_node *n, mode_t mode, const struct vfs_cred *c)
{
	if (!ramfs_is_root(c) && c->uid != n->uid)
		return -EPERM;
	mode &= 07777;
	if (!ramfs_is_root(c) && !ramfs_in_group(c, n->gid))
		mode &= ~S_ISGID;
	n->mode = (n->mode & S_IFMT) | mode;
	return 0;
}

static int ramfs_chown(struct ramfs_node *n, const struct vfs_attr *a, const struct vfs_cred *c)
{
	uid_t uid = (a->mask & VFS_ATTR_UID) ? a->uid : (uid_t)-1;
	gid_t gid = (a->mask & VFS_ATTR_GID) ? a->gid : (gid_t)-1;

	if (!ramfs_is_root(c)) {
		if (uid != (uid_t)-1 && (uid != n->uid || c->uid != n->uid))
			return -EPERM;
		if (gid != (gid_t)-1 && gid != n->gid &&
		    (c->uid != n->uid || !ramfs_in_group(c, gid)))
			return -EPERM;
		if (gid != (gid_t)-1 && gid == n->gid && c->uid != n->uid)
			return -EPERM;
	}
	if (uid != (uid_t)-1)
		n->uid = uid;
	if (gid != (gid_t)-1)
		n->gid = gid;
	/* chown of a non-directory drops setuid, and setgid-with-exec */
	if (!S_ISDIR(n->mode)) {
		n->mode &= ~S_ISUID;
		if (n->mode & S_IXGRP)
			n->mode &= ~S_ISGID;
	}
	return 0;
}

static bool ramfs_time_omit(const struct timespec *t)
{
	return t->tv_nsec == UTIME_OMIT;
}

static bool ramfs_time_now(const struct timespec *t)
{
	return t->tv_nsec == UTIME_NOW;
}

static int ramfs_utimes(struct ramfs_node *n, const struct vfs_attr *a, const struct vfs_cred *c)
{
	const struct timespec *t = a->times;
	bool both_now = ramfs_time_now(&t[0]) && ramfs_time_now(&t[1]);
	struct ramfs_ts now;

	for (int i = 0; i < 2; i++)
		if (!ramfs_time_omit(&t[i]) && !ramfs_time_now(&t[i]) &&
		    (t[i].tv_nsec < 0 || t[i].tv_nsec >= 1000000000))
			return -EINVAL;
	if (!ramfs_is_root(c) && c->uid != n->uid) {
		/* setting both to now needs only write permission */
		if (!both_now)
			return -EPERM;
		if (ramfs_perm(n, W_OK, c) < 0)
			return -EACCES;
	}
	ramfs_now(&now);
	for (int i = 0; i < 2; i++) {
		struct ramfs_ts *dst = i ? &n->mtime : &n->atime;

		if (ramfs_time_now(&t[i]))
			*dst = now;
		else if (!ramfs_time_omit(&t[i]))
			*dst = (struct ramfs_ts){ t[i].tv_sec, t[i].tv_nsec };
	}
	return 0;
}

/*
 * do_utimes: omitting both times is a successful no-op, decided before
 * the path is resolved (so even for a path that does not exist).  1 for
 * that no-op, 0 to go on.  Bad nanoseconds are EINVAL only after the
 * lookup (ramfs_utimes).
 */
int ramfs_utimes_precheck(const struct vfs_attr *a)
{
	const struct timespec *t = a->times;

	return a->mask == VFS_ATTR_TIMES && ramfs_time_omit(&t[0]) && ramfs_time_omit(&t[1]);
}

int ramfs_node_setattr(struct ramfs *fs, uint32_t i, const struct vfs_attr *a,
		       const struct vfs_cred *c)
{
	struct ramfs_node *n = &fs->nodes[i];
	int r = 0;

	if (a->mask & VFS_ATTR_TIMES) {
		r = ramfs_utimes(n, a, c);
		if (r < 0 || (ramfs_time_omit(&a->times[0]) && ramfs_time_omit(&a->times[1])))
			return r;
	}
	if (a->mask & (VFS_ATTR_UID | VFS_ATTR_GID))
		r = ramfs_chown(n, a, c);
	if (r == 0 && (a->mask & VFS_ATTR_MODE))
		r = ramfs_chmod(n, a->mode, c);
	if (r == 0)
		ramfs_touch(n, false, false, true);
	return r;
}
