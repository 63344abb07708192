/*
 * ramfs_dir — directories: entries, the name hash, path resolution and
 * readdir.
 *
 * Everything here runs with the segment lock held (hdr->mutex guards the
 * dirent table, the hash buckets and every directory's entry list).
 *
 * Lookup: one hash table for the whole segment, keyed by (directory
 * node, name), chains through dirent.hnext: O(1) per component.
 *
 * Readdir positions: each entry gets a cookie from its directory's
 * counter when it is added (from RAMFS_COOKIE_FIRST up), so cookies only
 * grow along a directory's entry list.  Like tmpfs on 6.18, a listing
 * runs newest first: "." is position 0, ".." 1, then 2 stands for "from
 * the newest entry" and a cookie c for "the entries older than c"; an
 * entry's d_off is its own cookie.  An entry that exists throughout an
 * iteration keeps its cookie, so it is returned exactly once however
 * others come and go; an entry added meanwhile is newer than the cursor
 * and is not returned (as on tmpfs).  The description remembers the
 * dirent at its position (dir_hint) so that a sequential readdir does
 * not rescan the list.
 */
#include "vfs/ramfs_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>

/* ---- the name hash ---- */

uint32_t ramfs_name_hash(uint32_t dir, const char *name, size_t len)
{
	uint32_t h = 2166136261u ^ dir;         /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)name[i]) * 16777619u;
	return h ^ (h >> 15);
}

static uint32_t *ramfs_bucket(struct ramfs *fs, uint32_t hash)
{
	return &fs->buckets[hash & (fs->hdr->nbuckets - 1)];
}

uint32_t ramfs_dir_find(struct ramfs *fs, uint32_t dir, const char *name, size_t len)
{
	uint32_t h = ramfs_name_hash(dir, name, len);

	for (uint32_t d = *ramfs_bucket(fs, h); d; d = fs->dirents[d].hnext) {
		const struct ramfs_dirent *e = &fs->dirents[d];

		if (e->hash == h && e->dir == dir && e->namelen == len &&
		    memcmp(e->name, name, len) == 0)
			return d;
	}
	return 0;
}

void ramfs_hash_link(struct ramfs *fs, uint32_t de)
{
	uint32_t *b = ramfs_bucket(fs, fs->dirents[de].hash);

	fs->dirents[de].hnext = *b;
	*b = de;
}

static void ramfs_hash_unlink(struct ramfs *fs, uint32_t de)
{
	uint32_t *p = ramfs_bucket(fs, fs->dirents[de].hash);

	while (*p && *p != de)
		p = &fs->dirents[*p].hnext;
	if (*p)
		*p = fs->dirents[de].hnext;
}

/* Append to the directory's list (cookies grow toward the tail). */
void ramfs_dir_list_link(struct ramfs *fs, uint32_t de)
{
	struct ramfs_dirent *e = &fs->dirents[de];
	struct ramfs_node *d = &fs->nodes[e->dir];

	e->prev = d->last;
	e->next = 0;
	if (d->last)
		fs->dirents[d->last].next = de;
	else
		d->first = de;
	d->last = de;
}

static void ramfs_dir_list_unlink(struct ramfs *fs, uint32_t de)
{
	struct ramfs_dirent *e = &fs->dirents[de];
	struct ramfs_node *d = &fs->nodes[e->dir];

	if (e->prev)
		fs->dirents[e->prev].next = e->next;
	else
		d->first = e->next;
	if (e->next)
		fs->dirents[e->next].prev = e->prev;
	else
		d->last = e->prev;
}

/* Make de the newest entry of its directory (tmpfs gives both names of
 * a RENAME_EXCHANGE new offsets). */
void ramfs_dir_renew(struct ramfs *fs, uint32_t de)
{
	ramfs_dir_list_unlink(fs, de);
	fs->dirents[de].cookie = fs->nodes[fs->dirents[de].dir].cookie++;
	ramfs_dir_list_link(fs, de);
}

/* Add name -> node in dir; the caller has checked that name is free.
 * Publishes the entry with its dir field, after everything else: a
 * process that dies here leaves the name whole or absent.  *out (may be
 * NULL) gets the entry, written before it is published. */
int ramfs_dir_add_de(struct ramfs *fs, uint32_t dir, const char *name, uint32_t node,
		     uint32_t *out)
{
	size_t len = strlen(name);
	uint32_t de = ramfs_tab_get(fs, RAMFS_T_DIRENT);
	struct ramfs_dirent *e;

	if (!de)
		return -ENOSPC;
	if (out)
		*out = de;
	e = &fs->dirents[de];
	e->node = node;
	e->namelen = (uint32_t)len;
	memcpy(e->name, name, len + 1);
	e->hash = ramfs_name_hash(dir, name, len);
	e->cookie = fs->nodes[dir].cookie++;
	RAMFS_PUBLISH();
	e->dir = dir;
	ramfs_hash_link(fs, de);
	ramfs_dir_list_link(fs, de);
	fs->nodes[dir].entries++;
	if (S_ISDIR(fs->nodes[node].mode))
		fs->nodes[node].name_de = de;
	return 0;
}

int ramfs_dir_add(struct ramfs *fs, uint32_t dir, const char *name, uint32_t node)
{
	return ramfs_dir_add_de(fs, dir, name, node, NULL);
}

void ramfs_dir_del(struct ramfs *fs, uint32_t de)
{
	struct ramfs_dirent *e = &fs->dirents[de];

	ramfs_hash_unlink(fs, de);
	ramfs_dir_list_unlink(fs, de);
	fs->nodes[e->dir].entries--;
	if (fs->nodes[e->node].name_de == de)
		fs->nodes[e->node].name_de = 0;
	RAMFS_PUBLISH();
	e->dir = 0;                     /* the name is gone */
	ramfs_tab_put(fs, RAMFS_T_DIRENT, de);
}

uint32_t ramfs_dir_parent(struct ramfs *fs, uint32_t dir)
{
	uint32_t de = fs->nodes[dir].name_de;

	return dir == RAMFS_ROOT || !de ? RAMFS_ROOT : fs->dirents[de].dir;
}

/* ---- path resolution ---- */

/* dst = a joined with b by one slash; -ENAMETOOLONG past PATH_MAX. */
static int ramfs_join(char *dst, const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);

	while (alen > 1 && a[alen - 1] == '/')
		alen--;
	if (alen == 1 && a[0] == '/' && blen && b[0] == '/')
		alen = 0;
	if (alen + 1 + blen >= PATH_MAX)
		return -ENAMETOOLONG;
	memmove(dst + alen + (blen && b[0] != '/'), b, blen + 1);
	memcpy(dst, a, alen);
	if (blen && b[0] != '/')
		dst[alen] = '/';
	return 0;
}

struct ramfs_cursor {
	char buf[PATH_MAX];
	char *s;                /* the rest of the path */
	uint32_t cur;           /* the directory s is relative to */
	int nlinks;
};

static int ramfs_escape(const struct vfs_path *p, const char *base, size_t blen, const char *rest)
{
	int r = ramfs_join(p->escape, base, blen, rest);

	return r < 0 ? r : -VFS_EESCAPE;
}

/* Replace the cursor's path by the symlink's target followed by rest. */
static int ramfs_follow(struct ramfs *fs, const struct vfs_path *p, struct ramfs_cursor *k,
			uint32_t link, const char *rest)
{
	int *nl = p->nlinks ? p->nlinks : &k->nlinks;
	const struct ramfs_node *n = &fs->nodes[link];
	char tmp[PATH_MAX];
	uint64_t run;
	const char *target = ramfs_data_page(fs, link, 0, &run);
	int r;

	if (++*nl > VFS_MAX_SYMLINKS)
		return -ELOOP;
	if (n->size == 0 || !target)
		return -ENOENT;
	r = ramfs_join(tmp, target, n->size, rest);
	if (r < 0)
		return r;
	if (tmp[0] == '/')
		return ramfs_escape(p, tmp, strlen(tmp), "");
	memcpy(k->buf, tmp, strlen(tmp) + 1);
	k->s = k->buf;
	return 0;
}

static void ramfs_walk_done(struct ramfs_walk *w, uint32_t dir, uint32_t node, uint32_t de,
			    bool dot, bool slash)
{
	w->dir = dir;
	w->node = node;
	w->de = de;
	w->dot = dot;
	w->slash = slash;
}

/* Look up one component of length len in k->cur: node, dirent, dot. */
static int ramfs_step(struct ramfs *fs, const struct vfs_path *p, struct ramfs_cursor *k,
		      const char *s, size_t len, const char *after, uint32_t *node,
		      uint32_t *de, bool *dot)
{
	*de = 0;
	*dot = false;
	if (len == 1 && s[0] == '.') {
		*node = k->cur;
		*dot = true;
	} else if (len == 2 && s[0] == '.' && s[1] == '.') {
		if (k->cur == RAMFS_ROOT)
			return ramfs_escape(p, p->mnt->parent, strlen(p->mnt->parent), after);
		*node = ramfs_dir_parent(fs, k->cur);
		*dot = true;
	} else {
		*de = ramfs_dir_find(fs, k->cur, s, len);
		*node = *de ? fs->dirents[*de].node : 0;
	}
	return 0;
}

/* The component at k->s: where it is, how long, and what follows. */
struct ramfs_comp {
	char *s, *e, *rest;     /* start, end, the next component */
	size_t len;
	bool last, slash;
};

static void ramfs_comp(struct ramfs_cursor *k, struct ramfs_comp *cp)
{
	cp->s = k->s;
	while (*cp->s == '/')
		cp->s++;
	for (cp->e = cp->s; *cp->e && *cp->e != '/'; cp->e++)
		;
	cp->len = (size_t)(cp->e - cp->s);
	for (cp->rest = cp->e; *cp->rest == '/'; cp->rest++)
		;
	cp->last = !*cp->rest;
	cp->slash = *cp->e == '/';
}

/* May the walk look up a name in k->cur? */
static int ramfs_may_lookup(struct ramfs *fs, uint32_t dir, size_t len, const struct vfs_cred *c)
{
	int r;

	if (!S_ISDIR(fs->nodes[dir].mode))
		return -ENOTDIR;
	r = ramfs_perm(&fs->nodes[dir], X_OK, c);
	if (r < 0)
		return r;
	if (len > RAMFS_NAME_MAX)
		return -ENAMETOOLONG;
	if (fs->nodes[dir].nlink == 0)
		return -ENOENT;         /* a removed directory has no entries */
	return 0;
}

/* The last component is resolved: fill w. */
static int ramfs_walk_last(struct ramfs *fs, unsigned flags, const struct ramfs_comp *cp,
			   uint32_t dir, uint32_t node, uint32_t de, bool dot, struct ramfs_walk *w)
{
	ramfs_walk_done(w, dir, node, de, dot, cp->slash);
	memcpy(w->name, cp->s, cp->len);
	w->name[cp->len] = 0;
	if (!node)
		return (flags & RAMFS_WALK_PARENT) ? 0 : -ENOENT;
	if (cp->slash && !S_ISDIR(fs->nodes[node].mode) && !(flags & RAMFS_WALK_PARENT))
		return -ENOTDIR;
	return 0;
}

/* One component: 1 to go on, 0 when w is filled, or -errno. */
static int ramfs_walk_one(struct ramfs *fs, const struct vfs_path *p, unsigned flags,
			  const struct vfs_cred *c, struct ramfs_cursor *k, struct ramfs_walk *w)
{
	struct ramfs_comp cp;
	uint32_t node, de;
	bool dot;
	int r;

	ramfs_comp(k, &cp);
	if (cp.len == 0) {              /* "/" or nothing after a followed link */
		ramfs_walk_done(w, k->cur, k->cur, 0, true, true);
		return 0;
	}
	r = ramfs_may_lookup(fs, k->cur, cp.len, c);
	if (r == 0)
		r = ramfs_step(fs, p, k, cp.s, cp.len, cp.e, &node, &de, &dot);
	if (r < 0)
		return r;
	/* A trailing slash follows a final symlink, except for the calls
	 * that act on the name itself (unlink, rmdir, rename, mkdir:
	 * RAMFS_WALK_PARENT with VFS_NOFOLLOW). */
	if (node && S_ISLNK(fs->nodes[node].mode) &&
	    (!cp.last || !(flags & VFS_NOFOLLOW) || (cp.slash && !(flags & RAMFS_WALK_PARENT)))) {
		r = ramfs_follow(fs, p, k, node, cp.e);
		return r < 0 ? r : 1;
	}
	if (cp.last)
		return ramfs_walk_last(fs, flags, &cp, k->cur, node, de, dot, w);
	if (!node)
		return -ENOENT;
	if (!S_ISDIR(fs->nodes[node].mode))
		return -ENOTDIR;
	k->cur = node;
	k->s = cp.rest;
	return 1;
}

/*
 * Resolve p.  flags: VFS_NOFOLLOW (a final symlink is not followed),
 * VFS_EMPTY_PATH, RAMFS_WALK_PARENT (the last component may be missing:
 * w->node is then 0 and w->dir, w->name say where to create it).
 * A trailing slash after an existing non-directory gives -ENOTDIR unless
 * RAMFS_WALK_PARENT is given (creating calls report EEXIST first).
 */
int ramfs_walk(struct ramfs *fs, const struct vfs_path *p, unsigned flags,
	       const struct vfs_cred *c, struct ramfs_walk *w)
{
	/* per thread, not on the stack: PATH_MAX bytes.  initial-exec like
	 * the lock runtime's TLS: no lazy allocation inside the shim */
	static __thread struct ramfs_cursor k __attribute__((tls_model("initial-exec")));
	size_t plen = strnlen(p->path, PATH_MAX);
	int r;

	memset(w, 0, sizeof(*w));
	/* empty unless this path escapes: for rename and link the vfs tells
	 * which of the two paths left the mount by this */
	if (p->escape)
		p->escape[0] = 0;
	if (plen >= PATH_MAX)
		return -ENAMETOOLONG;
	if (p->start >= fs->hdr->nnodes || (p->start && !fs->nodes[p->start].mode))
		return -ENOENT;         /* a start node that no longer exists */
	k.cur = p->start && p->path[0] != '/' ? p->start : RAMFS_ROOT;
	k.nlinks = 0;
	if (plen == 0) {
		if (!(flags & VFS_EMPTY_PATH))
			return -ENOENT;
		ramfs_walk_done(w, k.cur, k.cur, 0, true, false);
		return 0;
	}
	memcpy(k.buf, p->path, plen + 1);
	k.s = k.buf;
	while ((r = ramfs_walk_one(fs, p, flags, c, &k, w)) == 1)
		;
	return r;
}

/* ---- readdir ---- */

struct ramfs_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static size_t ramfs_reclen(size_t namelen)
{
	return (offsetof(struct ramfs_dirent64, d_name) + namelen + 1 + 7) & ~(size_t)7;
}

static bool ramfs_emit(char *buf, size_t len, size_t *used, uint64_t ino, int64_t off,
		       unsigned type, const char *name, size_t namelen)
{
	size_t rl = ramfs_reclen(namelen);
	struct ramfs_dirent64 *d = (struct ramfs_dirent64 *)(buf + *used);

	if (*used + rl > len)
		return false;
	memset(d, 0, rl);
	d->d_ino = ino;
	d->d_off = off;
	d->d_reclen = (unsigned short)rl;
	d->d_type = (unsigned char)type;
	memcpy(d->d_name, name, namelen);
	*used += rl;
	return true;
}

/* The entry to list at pos: the newest one older than the bound pos
 * stands for (2: no bound; c: cookies below c). */
static uint32_t ramfs_dir_at(struct ramfs *fs, uint32_t dir, uint32_t hint, int64_t pos)
{
	uint64_t bound = pos <= RAMFS_POS_NEWEST ? UINT64_MAX : (uint64_t)pos;
	const struct ramfs_dirent *h = &fs->dirents[hint];
	uint32_t d;

	if (hint && h->dir == dir && h->cookie < bound &&
	    (!h->next || fs->dirents[h->next].cookie >= bound))
		return hint;
	for (d = fs->nodes[dir].last; d && fs->dirents[d].cookie >= bound; d = fs->dirents[d].prev)
		;
	return d;
}

static bool ramfs_emit_entry(struct ramfs *fs, const struct ramfs_dirent *e, char *buf,
			     size_t len, size_t *used)
{
	return ramfs_emit(buf, len, used, e->node, (int64_t)e->cookie,
			  (fs->nodes[e->node].mode & S_IFMT) >> 12, e->name, e->namelen);
}

long ramfs_readdir(struct ramfs *fs, struct ramfs_ofd *o, void *vbuf, size_t len)
{
	uint32_t dir = o->node, d;
	size_t used = 0;
	char *buf = vbuf;

	if (fs->nodes[dir].nlink == 0)
		return -ENOENT;
	if (o->pos == 0) {
		if (!ramfs_emit(buf, len, &used, dir, 1, DT_DIR, ".", 1))
			return -EINVAL;
		o->pos = 1;
	}
	if (o->pos == 1) {
		if (!ramfs_emit(buf, len, &used, ramfs_dir_parent(fs, dir), RAMFS_POS_NEWEST, DT_DIR,
				"..", 2))
			return used ? (long)used : -EINVAL;
		o->pos = RAMFS_POS_NEWEST;
	}
	for (d = ramfs_dir_at(fs, dir, o->dir_hint, o->pos); d; d = fs->dirents[d].prev) {
		if (!ramfs_emit_entry(fs, &fs->dirents[d], buf, len, &used))
			break;
		o->pos = (int64_t)fs->dirents[d].cookie;
	}
	o->dir_hint = d;
	if (d && used == 0)
		return -EINVAL;
	if (!(o->flags & O_NOATIME))
		ramfs_touch_atime(&fs->nodes[dir]);
	return (long)used;
}

off_t ramfs_dir_seek(struct ramfs *fs, struct ramfs_ofd *o, off_t off, int whence)
{
	(void)fs;
	if (whence == SEEK_CUR)
		off += o->pos;
	else if (whence != SEEK_SET)
		return -EINVAL;
	if (off < 0)
		return -EINVAL;
	o->pos = off;
	o->dir_hint = 0;
	return off;
}
