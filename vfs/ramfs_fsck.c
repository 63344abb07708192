/*
 * ramfs_fsck — the invariant checker, and the repair that runs after a
 * process died holding the segment lock.
 *
 * Both run with the segment lock held and use the scratch areas of the
 * segment (a page bitmap and 2 * nnodes counters), never the heap.
 *
 * What is primary and what is derived: the node table (modes, sizes,
 * extent lists), the dirents (dir, node, name, cookie) and the open
 * descriptions are primary.  The page bitmap and free-page count, the
 * table free lists, the hash chains, the directories' entry lists and
 * counts, link counts and open counts are derived, and ramfs_repair
 * rebuilds all of them from the primary data, so an operation cut in half
 * by its process's death leaves at most its own change half visible.
 * Counts held by other processes (ofd refs, pins, cwd holds) cannot be
 * recomputed and are kept: they may over-count, never under-count; gc
 * gives back those of dead processes (ramfs_proc.c).  Before the rebuild
 * an interrupted rename is finished or undone, after it the bytes past
 * each file's EOF are cleared (ramfs_crash.c: why that makes every
 * operation whole).
 *
 * Known limit: pages cut from a pinned file while the extent table is
 * full are freed at once (ramfs_release); a mapping may then see them
 * reused.
 */
#include "vfs/ramfs_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct ramfs_ck {
	struct ramfs *fs;
	char *buf;
	size_t len;
};

__attribute__((format(printf, 2, 3)))
static int ramfs_bad(struct ramfs_ck *k, const char *fmt, ...)
{
	va_list ap;

	if (k->len) {
		va_start(ap, fmt);
		vsnprintf(k->buf, k->len, fmt, ap);
		va_end(ap);
	}
	return -EUCLEAN;
}

static bool ramfs_node_live(struct ramfs *fs, uint32_t n)
{
	return n > 0 && n < fs->hdr->tab[RAMFS_T_NODE].hwm && fs->nodes[n].mode != 0;
}

static bool ramfs_entry_used(struct ramfs *fs, int t, uint32_t i)
{
	switch (t) {
	case RAMFS_T_NODE:
		return fs->nodes[i].mode != 0;
	case RAMFS_T_DIRENT:
		return fs->dirents[i].dir != 0;
	case RAMFS_T_OFD:
		return fs->ofds[i].refs != 0;
	default:
		return fs->exts[i].used != 0;
	}
}

static size_t ramfs_bm_words(struct ramfs *fs)
{
	return (fs->hdr->data_pages + 63) / 64;
}

/* ---- checks ---- */

static int ramfs_ck_table(struct ramfs_ck *k, int t)
{
	struct ramfs *fs = k->fs;
	const struct ramfs_tab *tab = &fs->hdr->tab[t];
	uint32_t used = 0, nfree = 0, steps = 0;

	if (tab->hwm > tab->cap || tab->hwm == 0)
		return ramfs_bad(k, "table %d: hwm %u cap %u", t, tab->hwm, tab->cap);
	for (uint32_t i = 1; i < tab->hwm; i++)
		used += ramfs_entry_used(fs, t, i);
	if (used != tab->used)
		return ramfs_bad(k, "table %d: %u entries in use, counter says %u", t, used, tab->used);
	for (uint32_t i = tab->free; i; i = *ramfs_tab_link(fs, t, i)) {
		if (i >= tab->hwm || ramfs_entry_used(fs, t, i) || ++steps > tab->cap)
			return ramfs_bad(k, "table %d: bad free list at %u", t, i);
		nfree++;
	}
	if (nfree + used != tab->hwm - 1)
		return ramfs_bad(k, "table %d: %u free + %u used != %u", t, nfree, used, tab->hwm - 1);
	return 0;
}

/* Mark an extent's pages in scratch; they must be used and unshared. */
static int ramfs_ck_ext(struct ramfs_ck *k, uint32_t n, uint32_t e)
{
	struct ramfs *fs = k->fs;
	const struct ramfs_ext *x = &fs->exts[e];

	if (e >= fs->hdr->tab[RAMFS_T_EXT].hwm || !x->used || x->npages == 0 ||
	    (uint64_t)x->spage + x->npages > fs->hdr->data_pages)
		return ramfs_bad(k, "node %u: bad extent %u", n, e);
	for (uint32_t i = x->spage; i < x->spage + x->npages; i++) {
		if (ramfs_bit(fs->scratch, i))
			return ramfs_bad(k, "node %u: page %u in two extents", n, i);
		if (!ramfs_bit(fs->bitmap, i))
			return ramfs_bad(k, "node %u: page %u used but free in the bitmap", n, i);
		ramfs_bit_set(fs->scratch, i, true);
	}
	return 0;
}

static int ramfs_ck_extents(struct ramfs_ck *k, uint32_t n, uint32_t *nexts)
{
	struct ramfs *fs = k->fs;
	const struct ramfs_node *nd = &fs->nodes[n];
	uint64_t pages = 0, end = 0;
	int r;

	for (uint32_t e = nd->ext; e; e = fs->exts[e].next) {
		if ((r = ramfs_ck_ext(k, n, e)) < 0)
			return r;
		if (pages && fs->exts[e].fpage < end)
			return ramfs_bad(k, "node %u: extents out of order", n);
		end = fs->exts[e].fpage + fs->exts[e].npages;
		pages += fs->exts[e].npages;
		(*nexts)++;
	}
	for (uint32_t e = nd->zombie; e; e = fs->exts[e].next) {
		if ((r = ramfs_ck_ext(k, n, e)) < 0)
			return r;
		(*nexts)++;
	}
	if (pages != nd->pages)
		return ramfs_bad(k, "node %u: %llu pages in extents, counter says %llu", n,
				 (unsigned long long)pages, (unsigned long long)nd->pages);
	if (nd->zombie && !nd->pinned)
		return ramfs_bad(k, "node %u: zombie pages but no pin", n);
	return 0;
}

static int ramfs_ck_pages(struct ramfs_ck *k)
{
	struct ramfs *fs = k->fs;
	uint32_t nexts = 0, used = 0;
	int r;

	memset(fs->scratch, 0, ramfs_bm_words(fs) * 8);
	for (uint32_t n = 1; n < fs->hdr->tab[RAMFS_T_NODE].hwm; n++)
		if (fs->nodes[n].mode && (r = ramfs_ck_extents(k, n, &nexts)) < 0)
			return r;
	if (nexts != fs->hdr->tab[RAMFS_T_EXT].used)
		return ramfs_bad(k, "%u extents reachable, %u in use", nexts,
				 fs->hdr->tab[RAMFS_T_EXT].used);
	for (size_t w = 0; w < ramfs_bm_words(fs); w++) {
		if (fs->unwritten[w] & ~fs->bitmap[w])
			return ramfs_bad(k, "pages %zu..%zu: unwritten but free", w * 64, w * 64 + 63);
		if (fs->bitmap[w] != fs->scratch[w])
			return ramfs_bad(k, "pages %zu..%zu: bitmap and extents disagree", w * 64,
					 w * 64 + 63);
		used += (uint32_t)__builtin_popcountll(fs->bitmap[w]);
	}
	if (used + fs->hdr->free_pages != fs->hdr->data_pages)
		return ramfs_bad(k, "%u pages used + %u free != %u", used, fs->hdr->free_pages,
				 fs->hdr->data_pages);
	return 0;
}

static int ramfs_ck_dirent(struct ramfs_ck *k, uint32_t d)
{
	struct ramfs *fs = k->fs;
	const struct ramfs_dirent *e = &fs->dirents[d];
	size_t len = strnlen(e->name, RAMFS_NAME_MAX + 1);

	if (!ramfs_node_live(fs, e->dir) || !S_ISDIR(fs->nodes[e->dir].mode))
		return ramfs_bad(k, "dirent %u: bad directory %u", d, e->dir);
	if (!ramfs_node_live(fs, e->node) || e->node == RAMFS_ROOT)
		return ramfs_bad(k, "dirent %u (%s): bad node %u", d, e->name, e->node);
	if (len != e->namelen || len == 0 || len > RAMFS_NAME_MAX || memchr(e->name, '/', len) ||
	    strcmp(e->name, ".") == 0 || strcmp(e->name, "..") == 0)
		return ramfs_bad(k, "dirent %u: bad name", d);
	if (e->hash != ramfs_name_hash(e->dir, e->name, len) ||
	    ramfs_dir_find(fs, e->dir, e->name, len) != d)
		return ramfs_bad(k, "dirent %u (%s): not found by its name", d, e->name);
	if (e->cookie < RAMFS_COOKIE_FIRST || e->cookie >= fs->nodes[e->dir].cookie)
		return ramfs_bad(k, "dirent %u (%s): bad cookie", d, e->name);
	fs->counts[e->node]++;
	if (S_ISDIR(fs->nodes[e->node].mode)) {
		fs->counts[fs->hdr->nnodes + e->dir]++;
		if (fs->nodes[e->node].name_de != d)
			return ramfs_bad(k, "directory %u: name_de is not dirent %u", e->node, d);
	}
	return 0;
}

static int ramfs_ck_dir_list(struct ramfs_ck *k, uint32_t n)
{
	struct ramfs *fs = k->fs;
	const struct ramfs_node *nd = &fs->nodes[n];
	uint32_t cnt = 0, prev = 0;
	uint64_t last = 0;

	for (uint32_t d = nd->first; d; prev = d, d = fs->dirents[d].next) {
		const struct ramfs_dirent *e = &fs->dirents[d];

		if (e->dir != n || e->prev != prev || (cnt && e->cookie <= last) ||
		    ++cnt > nd->entries)
			return ramfs_bad(k, "directory %u: entry list broken at dirent %u", n, d);
		last = e->cookie;
	}
	if (cnt != nd->entries || nd->last != prev)
		return ramfs_bad(k, "directory %u: %u entries listed, counter says %u", n, cnt,
				 nd->entries);
	return 0;
}

static int ramfs_ck_hash(struct ramfs_ck *k)
{
	struct ramfs *fs = k->fs;
	uint32_t total = 0, mask = fs->hdr->nbuckets - 1;

	for (uint32_t b = 0; b < fs->hdr->nbuckets; b++)
		for (uint32_t d = fs->buckets[b]; d; d = fs->dirents[d].hnext) {
			if (!fs->dirents[d].dir || (fs->dirents[d].hash & mask) != b ||
			    ++total > fs->hdr->tab[RAMFS_T_DIRENT].used)
				return ramfs_bad(k, "hash bucket %u: bad chain at dirent %u", b, d);
		}
	if (total != fs->hdr->tab[RAMFS_T_DIRENT].used)
		return ramfs_bad(k, "%u dirents hashed, %u in use", total,
				 fs->hdr->tab[RAMFS_T_DIRENT].used);
	return 0;
}

static int ramfs_ck_node(struct ramfs_ck *k, uint32_t n)
{
	struct ramfs *fs = k->fs;
	const struct ramfs_node *nd = &fs->nodes[n];
	uint32_t names = fs->counts[n], subdirs = fs->counts[fs->hdr->nnodes + n];
	uint32_t want;

	switch (nd->mode & S_IFMT) {
	case S_IFREG: case S_IFDIR: case S_IFLNK: case S_IFIFO: case S_IFSOCK: case S_IFCHR:
	case S_IFBLK:
		break;
	default:
		return ramfs_bad(k, "node %u: bad mode %o", n, nd->mode);
	}
	if (!S_ISDIR(nd->mode) && (nd->entries || nd->first || nd->name_de))
		return ramfs_bad(k, "node %u: directory fields on a non-directory", n);
	if (S_ISLNK(nd->mode) && (nd->size >= RAMFS_PAGE || nd->pages != 1))
		return ramfs_bad(k, "symlink %u: size %llu in %llu pages", n,
				 (unsigned long long)nd->size, (unsigned long long)nd->pages);
	if (S_ISDIR(nd->mode)) {
		int r = ramfs_ck_dir_list(k, n);

		if (r < 0)
			return r;
		want = (n == RAMFS_ROOT || names) ? 2 + subdirs : 0;
		if (names > 1)
			return ramfs_bad(k, "directory %u has %u names", n, names);
	} else {
		want = names;
		if (S_ISLNK(nd->mode) && (nd->size == 0 || nd->pages == 0))
			return ramfs_bad(k, "symlink %u has no target", n);
	}
	if (nd->nlink != want)
		return ramfs_bad(k, "node %u: nlink %u, %u expected", n, nd->nlink, want);
	if (n != RAMFS_ROOT && !nd->nlink && !nd->opens && !nd->pinned && !nd->holds)
		return ramfs_bad(k, "node %u: unreferenced but not freed", n);
	return 0;
}

static int ramfs_ck_names(struct ramfs_ck *k)
{
	struct ramfs *fs = k->fs;
	uint32_t hwm = fs->hdr->tab[RAMFS_T_NODE].hwm;
	int r;

	memset(fs->counts, 0, 2 * (size_t)fs->hdr->nnodes * sizeof(uint32_t));
	if (!ramfs_node_live(fs, RAMFS_ROOT) || !S_ISDIR(fs->nodes[RAMFS_ROOT].mode))
		return ramfs_bad(k, "the root is not a directory");
	for (uint32_t d = 1; d < fs->hdr->tab[RAMFS_T_DIRENT].hwm; d++)
		if (fs->dirents[d].dir && (r = ramfs_ck_dirent(k, d)) < 0)
			return r;
	if ((r = ramfs_ck_hash(k)) < 0)
		return r;
	for (uint32_t n = 1; n < hwm; n++)
		if (fs->nodes[n].mode && (r = ramfs_ck_node(k, n)) < 0)
			return r;
	return 0;
}

static int ramfs_ck_ofds(struct ramfs_ck *k)
{
	struct ramfs *fs = k->fs;

	memset(fs->counts, 0, (size_t)fs->hdr->nnodes * sizeof(uint32_t));
	for (uint32_t f = 1; f < fs->hdr->tab[RAMFS_T_OFD].hwm; f++) {
		if (!fs->ofds[f].refs)
			continue;
		if (!ramfs_node_live(fs, fs->ofds[f].node))
			return ramfs_bad(k, "ofd %u: bad node %u", f, fs->ofds[f].node);
		if (fs->ofds[f].pos < 0)
			return ramfs_bad(k, "ofd %u: negative position", f);
		fs->counts[fs->ofds[f].node]++;
	}
	for (uint32_t n = 1; n < fs->hdr->tab[RAMFS_T_NODE].hwm; n++)
		if (fs->nodes[n].mode && fs->nodes[n].opens != fs->counts[n])
			return ramfs_bad(k, "node %u: %u opens counted, %u found", n,
					 fs->nodes[n].opens, fs->counts[n]);
	return 0;
}

int ramfs_fsck_locked(struct ramfs *fs, char *buf, size_t buflen)
{
	struct ramfs_ck k = { fs, buf, buflen };
	int r = 0;

	if (buflen)
		buf[0] = 0;
	if (fs->hdr->magic != RAMFS_MAGIC || fs->hdr->version != ramfs_layout_id())
		return ramfs_bad(&k, "bad magic or version");
	if (fs->nodes[RAMFS_ROOT].name_de || fs->hdr->alloc_hint >= fs->hdr->data_pages)
		return ramfs_bad(&k, "root has a name, or the allocation hint is out of range");
	if (fs->hdr->intent.op != RAMFS_OP_NONE)
		return ramfs_bad(&k, "an interrupted rename (intent %u) was not recovered",
				 fs->hdr->intent.op);
	if (fs->hdr->free_pages > fs->hdr->data_pages)
		return ramfs_bad(&k, "free pages %u > %u", fs->hdr->free_pages, fs->hdr->data_pages);
	for (int t = 0; t < RAMFS_NTAB && r == 0; t++)
		r = ramfs_ck_table(&k, t);
	if (r == 0)
		r = ramfs_ck_pages(&k);
	if (r == 0)
		r = ramfs_ck_names(&k);
	if (r == 0)
		r = ramfs_ck_ofds(&k);
	if (r == 0)
		r = ramfs_proc_check(fs, buf, buflen);
	if (r == 0)
		r = ramfs_lk_fsck(fs, buf, buflen);
	return r;
}

int ramfs_fsck(struct ramfs *fs, char *buf, size_t buflen)
{
	RAMFS_LOCKED(fs, ramfs_fsck_locked(fs, buf, buflen));
}

static int ramfs_fsck_repair_locked(struct ramfs *fs, char *buf, size_t buflen)
{
	char after[256];
	int r = ramfs_fsck_locked(fs, buf, buflen);

	if (r == 0)
		return 0;
	ramfs_repair(fs);
	fs->hdr->repairs++;
	return ramfs_fsck_locked(fs, after, sizeof(after));
}

int ramfs_fsck_repair(struct ramfs *fs, char *buf, size_t buflen)
{
	RAMFS_LOCKED(fs, ramfs_fsck_repair_locked(fs, buf, buflen));
}

/* ---- repair ---- */

/* Keep extent e of a list if sane and unshared; mark its pages. */
static bool ramfs_rp_ext_ok(struct ramfs *fs, uint32_t e)
{
	struct ramfs_ext *x = &fs->exts[e];

	if (e >= fs->hdr->tab[RAMFS_T_EXT].hwm || x->used || x->npages == 0 ||
	    (uint64_t)x->spage + x->npages > fs->hdr->data_pages)
		return false;
	for (uint32_t i = x->spage; i < x->spage + x->npages; i++)
		if (ramfs_bit(fs->bitmap, i))
			return false;
	for (uint32_t i = x->spage; i < x->spage + x->npages; i++)
		ramfs_bit_set(fs->bitmap, i, true);
	x->used = 1;
	return true;
}

/* Rebuild one extent list: cut it at the first bad link. */
static uint64_t ramfs_rp_list(struct ramfs *fs, uint32_t *head)
{
	uint64_t pages = 0, end = 0;

	for (uint32_t *l = head; *l; l = &fs->exts[*l].next) {
		if (!ramfs_rp_ext_ok(fs, *l) || (pages && fs->exts[*l].fpage < end)) {
			*l = 0;
			break;
		}
		end = fs->exts[*l].fpage + fs->exts[*l].npages;
		pages += fs->exts[*l].npages;
	}
	return pages;
}

static void ramfs_rp_free_list(struct ramfs *fs, int t)
{
	struct ramfs_tab *tab = &fs->hdr->tab[t];

	tab->free = 0;
	tab->used = 0;
	for (uint32_t i = tab->hwm; i-- > 1;) {
		if (ramfs_entry_used(fs, t, i)) {
			tab->used++;
		} else {
			*ramfs_tab_link(fs, t, i) = tab->free;
			tab->free = i;
		}
	}
}

/* The bitmap from the extents; free pages are punched so they read 0. */
static void ramfs_rp_pages(struct ramfs *fs)
{
	uint32_t hwm = fs->hdr->tab[RAMFS_T_NODE].hwm, used = 0, run = 0;

	memset(fs->bitmap, 0, ramfs_bm_words(fs) * 8);
	for (uint32_t e = 1; e < fs->hdr->tab[RAMFS_T_EXT].hwm; e++)
		fs->exts[e].used = 0;
	for (uint32_t n = 1; n < hwm; n++) {
		if (!fs->nodes[n].mode)
			continue;
		fs->nodes[n].pages = ramfs_rp_list(fs, &fs->nodes[n].ext);
		ramfs_rp_list(fs, &fs->nodes[n].zombie);
	}
	ramfs_rp_free_list(fs, RAMFS_T_EXT);
	for (size_t w = 0; w < ramfs_bm_words(fs); w++)
		fs->unwritten[w] &= fs->bitmap[w];
	for (uint32_t i = 0; i <= fs->hdr->data_pages; i++) {
		bool busy = i < fs->hdr->data_pages && ramfs_bit(fs->bitmap, i);

		used += busy;
		if (!busy && i < fs->hdr->data_pages) {
			run++;
			continue;
		}
		if (run)
			ramfs_host_fallocate(fs, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					     fs->hdr->off_data + (uint64_t)(i - run) * RAMFS_PAGE,
					     (uint64_t)run * RAMFS_PAGE);
		run = 0;
	}
	fs->hdr->free_pages = fs->hdr->data_pages - used;
	fs->hdr->alloc_hint = 0;
}

/* Insert dirent d into its directory's list by cookie. */
static void ramfs_rp_list_insert(struct ramfs *fs, uint32_t d)
{
	struct ramfs_dirent *e = &fs->dirents[d];
	struct ramfs_node *dir = &fs->nodes[e->dir];
	uint32_t after = dir->last;

	while (after && fs->dirents[after].cookie > e->cookie)
		after = fs->dirents[after].prev;
	e->prev = after;
	e->next = after ? fs->dirents[after].next : dir->first;
	if (e->next)
		fs->dirents[e->next].prev = d;
	else
		dir->last = d;
	if (after)
		fs->dirents[after].next = d;
	else
		dir->first = d;
	dir->entries++;
	if (e->cookie >= dir->cookie)
		dir->cookie = e->cookie + 1;
}

static bool ramfs_rp_dirent_ok(struct ramfs *fs, uint32_t d)
{
	struct ramfs_dirent *e = &fs->dirents[d];

	e->name[RAMFS_NAME_MAX] = 0;
	e->namelen = (uint32_t)strlen(e->name);
	e->hash = ramfs_name_hash(e->dir, e->name, e->namelen);
	return ramfs_node_live(fs, e->dir) && S_ISDIR(fs->nodes[e->dir].mode) &&
	       ramfs_node_live(fs, e->node) && e->node != RAMFS_ROOT && e->namelen &&
	       (!S_ISDIR(fs->nodes[e->node].mode) || !fs->counts[e->node]) &&
	       !ramfs_dir_find(fs, e->dir, e->name, e->namelen);
}

/* Hash chains, entry lists, counts and link counts from the dirents. */
static void ramfs_rp_names(struct ramfs *fs)
{
	uint32_t hwm = fs->hdr->tab[RAMFS_T_NODE].hwm, nn = fs->hdr->nnodes;

	memset(fs->buckets, 0, (size_t)fs->hdr->nbuckets * sizeof(uint32_t));
	memset(fs->counts, 0, 2 * (size_t)nn * sizeof(uint32_t));
	for (uint32_t n = 1; n < hwm; n++)
		fs->nodes[n].first = fs->nodes[n].last = fs->nodes[n].entries =
			fs->nodes[n].name_de = 0;
	for (uint32_t d = 1; d < fs->hdr->tab[RAMFS_T_DIRENT].hwm; d++) {
		struct ramfs_dirent *e = &fs->dirents[d];

		if (!e->dir)
			continue;
		if (!ramfs_rp_dirent_ok(fs, d)) {
			e->dir = 0;
			continue;
		}
		ramfs_hash_link(fs, d);
		ramfs_rp_list_insert(fs, d);
		fs->counts[e->node]++;
		if (S_ISDIR(fs->nodes[e->node].mode)) {
			fs->nodes[e->node].name_de = d;
			fs->counts[nn + e->dir]++;
		}
	}
	ramfs_rp_free_list(fs, RAMFS_T_DIRENT);
	for (uint32_t n = 1; n < hwm; n++) {
		struct ramfs_node *nd = &fs->nodes[n];

		if (!nd->mode)
			continue;
		if (S_ISDIR(nd->mode))
			nd->nlink = (n == RAMFS_ROOT || fs->counts[n]) ? 2 + fs->counts[nn + n] : 0;
		else
			nd->nlink = fs->counts[n];
	}
}

static void ramfs_rp_ofds(struct ramfs *fs)
{
	uint32_t hwm = fs->hdr->tab[RAMFS_T_NODE].hwm;

	for (uint32_t n = 1; n < hwm; n++)
		fs->nodes[n].opens = 0;
	for (uint32_t f = 1; f < fs->hdr->tab[RAMFS_T_OFD].hwm; f++) {
		struct ramfs_ofd *o = &fs->ofds[f];

		if (!o->refs)
			continue;
		if (ramfs_node_live(fs, o->node))
			fs->nodes[o->node].opens++;
		else
			o->refs = 0;
	}
	ramfs_rp_free_list(fs, RAMFS_T_OFD);
}

void ramfs_repair(struct ramfs *fs)
{
	uint32_t hwm = fs->hdr->tab[RAMFS_T_NODE].hwm;

	ramfs_intent_recover(fs);       /* finish or undo a rename first */
	/* twice: first so that freeing nodes below walks sane lock lists,
	 * last to drop locks whose description or node was dropped */
	ramfs_lk_repair(fs);
	ramfs_rp_free_list(fs, RAMFS_T_NODE);
	ramfs_rp_pages(fs);
	ramfs_rp_names(fs);
	ramfs_rp_ofds(fs);
	ramfs_proc_repair(fs);  /* before frees: the table names live objects */
	for (uint32_t n = 1; n < hwm; n++) {
		if (!fs->nodes[n].mode)
			continue;
		if (!fs->nodes[n].pinned && fs->nodes[n].zombie) {
			/* freed by the normal path, with the pin count at zero */
			fs->nodes[n].pinned = 1;
			ramfs_data_unpin(fs, n, 1);
		}
		ramfs_node_maybe_free(fs, n);
		if (fs->nodes[n].mode)
			ramfs_rp_eof(fs, n);
	}
	ramfs_lk_repair(fs);
}
