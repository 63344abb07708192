/*
 * ramfs_rename — renameat2 (flags 0, RENAME_NOREPLACE, RENAME_EXCHANGE)
 * within one ramfs, with the checks in the order of fs/namei.c
 * (do_renameat2, vfs_rename) so that the errno matches the kernel's.
 *
 * Runs with the segment lock held, so the whole rename is atomic for
 * every process; against its own process's death it records an intent
 * (ramfs_crash.c) that the next locker finishes or undoes.  A moved entry gets a new readdir cookie in its new
 * place, as on tmpfs; an exchange swaps the nodes under the two names and
 * renews both cookies, the old name's first (so the listing order is
 * tmpfs's).
 */
#include "vfs/ramfs_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct ramfs_rn {
	struct ramfs_walk o, n;
	unsigned flags;
};

/* Is a an ancestor of (or equal to) directory d? */
static bool ramfs_is_ancestor(struct ramfs *fs, uint32_t a, uint32_t d)
{
	for (;;) {
		if (d == a)
			return true;
		if (d == RAMFS_ROOT)
			return false;
		d = ramfs_dir_parent(fs, d);
	}
}

/* may_delete: may c remove (or replace) node v named in dir? */
static int ramfs_may_delete(struct ramfs *fs, uint32_t dir, uint32_t v, bool isdir,
			    const struct vfs_cred *c)
{
	int r = ramfs_perm(&fs->nodes[dir], W_OK | X_OK, c);

	if (r == 0)
		r = ramfs_sticky_ok(fs, dir, v, c);
	if (r < 0)
		return r;
	if (isdir && !S_ISDIR(fs->nodes[v].mode))
		return -ENOTDIR;
	if (!isdir && S_ISDIR(fs->nodes[v].mode))
		return -EISDIR;
	return 0;
}

/* The checks of do_renameat2 before vfs_rename. */
static int ramfs_rename_lookup(struct ramfs *fs, const struct vfs_path *from,
			       const struct vfs_path *to, struct ramfs_rn *rn,
			       const struct vfs_cred *c)
{
	unsigned f = rn->flags;
	bool odir;
	int r = ramfs_walk(fs, from, VFS_NOFOLLOW | RAMFS_WALK_PARENT, c, &rn->o);

	if (r < 0)
		return r;
	if (rn->o.dot)
		return -EBUSY;
	r = ramfs_walk(fs, to, VFS_NOFOLLOW | RAMFS_WALK_PARENT, c, &rn->n);
	if (r < 0)
		return r;
	if (rn->n.dot)
		return (f & RENAME_NOREPLACE) ? -EEXIST : -EBUSY;
	if (!rn->o.node)
		return -ENOENT;
	if ((f & RENAME_NOREPLACE) && rn->n.node)
		return -EEXIST;
	if ((f & RENAME_EXCHANGE) && !rn->n.node)
		return -ENOENT;
	odir = S_ISDIR(fs->nodes[rn->o.node].mode);
	if (!odir && (rn->o.slash || (!(f & RENAME_EXCHANGE) && rn->n.slash)))
		return -ENOTDIR;
	if ((f & RENAME_EXCHANGE) && !S_ISDIR(fs->nodes[rn->n.node].mode) && rn->n.slash)
		return -ENOTDIR;
	/* the source may not be an ancestor of the target, nor the reverse */
	if (odir && ramfs_is_ancestor(fs, rn->o.node, rn->n.dir))
		return -EINVAL;
	if (rn->n.node && S_ISDIR(fs->nodes[rn->n.node].mode) &&
	    ramfs_is_ancestor(fs, rn->n.node, rn->o.dir))
		return (f & RENAME_EXCHANGE) ? -EINVAL : -ENOTEMPTY;
	return 0;
}

/* The permission checks of vfs_rename. */
static int ramfs_rename_perm(struct ramfs *fs, struct ramfs_rn *rn, const struct vfs_cred *c)
{
	uint32_t o = rn->o.node, n = rn->n.node;
	bool odir = S_ISDIR(fs->nodes[o].mode), ndir = n && S_ISDIR(fs->nodes[n].mode);
	int r = ramfs_may_delete(fs, rn->o.dir, o, odir, c);

	if (r < 0)
		return r;
	if (!n)
		r = ramfs_may_create(fs, &rn->n, c);
	else
		r = ramfs_may_delete(fs, rn->n.dir, n,
				     (rn->flags & RENAME_EXCHANGE) ? ndir : odir, c);
	if (r < 0)
		return r;
	/* a directory changing parent rewrites its "..": needs write on it */
	if (rn->o.dir != rn->n.dir) {
		if (odir && (r = ramfs_perm(&fs->nodes[o], W_OK, c)) < 0)
			return r;
		if ((rn->flags & RENAME_EXCHANGE) && ndir &&
		    (r = ramfs_perm(&fs->nodes[n], W_OK, c)) < 0)
			return r;
	}
	if (!(rn->flags & RENAME_EXCHANGE) && ndir && fs->nodes[n].entries)
		return -ENOTEMPTY;
	return 0;
}

static void ramfs_rename_times(struct ramfs *fs, struct ramfs_rn *rn)
{
	ramfs_touch(&fs->nodes[rn->o.dir], false, true, true);
	ramfs_touch(&fs->nodes[rn->n.dir], false, true, true);
	ramfs_touch(&fs->nodes[rn->o.node], false, false, true);
	if (rn->n.node && fs->nodes[rn->n.node].mode)
		ramfs_touch(&fs->nodes[rn->n.node], false, false, true);
}

/*
 * The two retargets are the intent's EXCHANGE: after the first, repair
 * does the second (ramfs_crash.c).  Cookies and counts are derived or
 * harmless either way.
 */
static void ramfs_exchange(struct ramfs *fs, struct ramfs_rn *rn)
{
	struct ramfs_dirent *a = &fs->dirents[rn->o.de], *b = &fs->dirents[rn->n.de];
	uint32_t na = a->node, nb = b->node;
	bool adir = S_ISDIR(fs->nodes[na].mode), bdir = S_ISDIR(fs->nodes[nb].mode);

	ramfs_intent_begin(fs, RAMFS_OP_EXCHANGE, rn->o.de, rn->n.de, na, nb);
	a->node = nb;
	RAMFS_PUBLISH();
	b->node = na;
	ramfs_intent_end(fs);
	if (bdir)
		fs->nodes[nb].name_de = rn->o.de;
	if (adir)
		fs->nodes[na].name_de = rn->n.de;
	/* listed newest first afterwards, the new name before the old one */
	ramfs_dir_renew(fs, rn->o.de);
	ramfs_dir_renew(fs, rn->n.de);
	if (adir != bdir && rn->o.dir != rn->n.dir) {
		uint32_t gain = adir ? rn->n.dir : rn->o.dir, lose = adir ? rn->o.dir : rn->n.dir;

		fs->nodes[gain].nlink++;
		fs->nodes[lose].nlink--;
	}
}

/*
 * Move o to the new name.  The old name goes only after the new one is
 * published, under the intent MOVE (a new entry) or REPLACE (the
 * target's entry retargeted to o, in place), so that a death in between
 * is finished by repair: never two names, never none.  Moving needs a
 * free dirent while both names exist (ENOSPC when the table is full).
 */
static int ramfs_move(struct ramfs *fs, struct ramfs_rn *rn)
{
	uint32_t o = rn->o.node, n = rn->n.node, de;
	bool odir = S_ISDIR(fs->nodes[o].mode);
	int r;

	if (n) {                        /* the replaced node loses its name */
		de = rn->n.de;
		ramfs_intent_begin(fs, RAMFS_OP_REPLACE, rn->o.de, de, o, n);
		ramfs_dir_renew(fs, de);        /* new in its place, as tmpfs */
		RAMFS_PUBLISH();
		fs->dirents[de].node = o;
		RAMFS_PUBLISH();
		if (S_ISDIR(fs->nodes[n].mode)) {
			fs->nodes[n].name_de = 0;
			fs->nodes[n].nlink = 0;
			fs->nodes[rn->n.dir].nlink--;
		} else {
			fs->nodes[n].nlink--;
		}
		if (odir)
			fs->nodes[o].name_de = de;
	} else {
		ramfs_intent_begin(fs, RAMFS_OP_MOVE, rn->o.de, 0, o, 0);
		r = ramfs_dir_add_de(fs, rn->n.dir, rn->n.name, o, &fs->hdr->intent.de_new);
		if (r < 0) {
			ramfs_intent_end(fs);
			return r;
		}
		de = fs->hdr->intent.de_new;
		RAMFS_PUBLISH();
	}
	ramfs_dir_del(fs, rn->o.de);
	ramfs_intent_end(fs);
	if (odir) {
		fs->nodes[o].name_de = de;
		if (rn->o.dir != rn->n.dir) {
			fs->nodes[rn->o.dir].nlink--;
			fs->nodes[rn->n.dir].nlink++;
		}
	}
	return 0;
}

static int ramfs_rename_locked(struct ramfs *fs, const struct vfs_path *from,
			       const struct vfs_path *to, unsigned flags, const struct vfs_cred *c)
{
	struct ramfs_rn rn = { .flags = flags };
	int r = ramfs_rename_lookup(fs, from, to, &rn, c);

	if (r < 0)
		return r;
	if (rn.o.node == rn.n.node)
		return 0;               /* same inode: nothing to do, no error */
	r = ramfs_rename_perm(fs, &rn, c);
	if (r < 0)
		return r;
	if (flags & RENAME_EXCHANGE)
		ramfs_exchange(fs, &rn);
	else
		r = ramfs_move(fs, &rn);
	ramfs_rename_times(fs, &rn);
	if (rn.n.node && !(flags & RENAME_EXCHANGE))
		ramfs_node_maybe_free(fs, rn.n.node);
	return r;
}

int ramfs_op_rename(const struct vfs_path *from, const struct vfs_path *to, unsigned flags,
		    const struct vfs_cred *c)
{
	struct ramfs *fs = ramfs_of(from->mnt);

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT))
		return -EINVAL;
	if ((flags & (RENAME_NOREPLACE | RENAME_WHITEOUT)) && (flags & RENAME_EXCHANGE))
		return -EINVAL;
	if (flags & RENAME_WHITEOUT)
		return -EINVAL;         /* overlayfs's; not provided */
	RAMFS_LOCKED_GC(fs, ramfs_rename_locked(fs, from, to, flags, c));
}
