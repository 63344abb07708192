/*
 * ramfs_data — file contents: extents of data pages, read and write by
 * memcpy, truncate, holes, and the pieces a mapping needs.
 *
 * Everything here runs with the segment lock held (hdr->mutex guards
 * every node's extent lists and the page bitmap).
 *
 * A node's data is a list of extents ordered by file page; file pages in
 * no extent are holes and read as zero.  Pages are allocated when first
 * written (or mapped, or fallocated), so st_blocks counts what tmpfs
 * counts.  To keep a growing file in few extents, a gap right after an
 * extent is filled by extending that extent in place when the following
 * segment pages are free, else by moving the extent to a larger run (the
 * allocator leaves room behind it, so the cost of the moves stays linear
 * in the file size) — unless the node is pinned by a mapping, whose view
 * of the old pages must stay valid: then a new extent is appended.
 *
 * Fallocated pages: fallocate marks the pages it adds in the unwritten
 * bitmap; they read as zero and count in st_blocks, but SEEK_DATA sees
 * holes there until they are written, mapped, or fallocated again
 * (shmem's fallocated folios that are not uptodate).  The bit belongs to
 * the segment page, so it travels with a moved extent.
 *
 * Pinned nodes: pages cut off by truncate or punch while some mapping
 * pins the node go to the node's zombie list instead of the allocator,
 * and are freed when the last pin goes (ramfs_data_unpin): a mapping never
 * sees its pages reused for other data.
 */
#include "vfs/ramfs_int.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define RAMFS_GAP_STEP (1u << 20)       /* pages filled per step */

static struct ramfs_ext *ramfs_ext(struct ramfs *fs, uint32_t e)
{
	return &fs->exts[e];
}

static uint64_t ramfs_ext_end(const struct ramfs_ext *e)
{
	return e->fpage + e->npages;
}

static char *ramfs_spage_ptr(struct ramfs *fs, uint64_t spage)
{
	return fs->data + spage * RAMFS_PAGE;
}

/* The bytes of file page fpage, or NULL for a hole; *run is the number of
 * pages from fpage that are alike (mapped contiguously, or all hole). */
char *ramfs_data_page(struct ramfs *fs, uint32_t n, uint64_t fpage, uint64_t *run)
{
	for (uint32_t i = fs->nodes[n].ext; i; i = fs->exts[i].next) {
		const struct ramfs_ext *e = ramfs_ext(fs, i);

		if (fpage < e->fpage) {
			*run = e->fpage - fpage;
			return NULL;
		}
		if (fpage < ramfs_ext_end(e)) {
			*run = ramfs_ext_end(e) - fpage;
			return ramfs_spage_ptr(fs, e->spage + (fpage - e->fpage));
		}
	}
	*run = UINT64_MAX;
	return NULL;
}

/* ---- giving pages back ---- */

static void ramfs_release(struct ramfs *fs, uint32_t n, uint32_t spage, uint32_t cnt)
{
	struct ramfs_node *nd = &fs->nodes[n];
	uint32_t z;

	nd->pages -= cnt;
	if (nd->pinned && (z = ramfs_ext_new(fs)) != 0) {
		fs->exts[z].spage = spage;
		fs->exts[z].npages = cnt;
		fs->exts[z].next = nd->zombie;
		nd->zombie = z;
		return;
	}
	/* Not pinned (or no extent left to remember the pages: then a
	 * mapping may see them reused; see the notes in ramfs_fsck.c). */
	ramfs_pages_free(fs, spage, cnt);
}

static void ramfs_free_zombies(struct ramfs *fs, uint32_t n)
{
	struct ramfs_node *nd = &fs->nodes[n];

	while (nd->zombie) {
		uint32_t z = nd->zombie;

		nd->zombie = fs->exts[z].next;
		ramfs_pages_free(fs, fs->exts[z].spage, fs->exts[z].npages);
		ramfs_ext_del(fs, z);
	}
}

/* A new extent {fpage, spage, npages, next}, not linked anywhere yet. */
static uint32_t ramfs_ext_make(struct ramfs *fs, uint64_t fpage, uint32_t spage, uint32_t npages,
			       uint32_t next)
{
	uint32_t t = ramfs_ext_new(fs);

	if (t) {
		fs->exts[t].fpage = fpage;
		fs->exts[t].spage = spage;
		fs->exts[t].npages = npages;
		fs->exts[t].next = next;
	}
	return t;
}

/* A punch that finds no free extent entry for the copies keeps the pages
 * but clears them: they read as zero and count as holes for SEEK_DATA. */
static int ramfs_zero_pages(struct ramfs *fs, uint32_t spage, uint32_t cnt)
{
	memset(ramfs_spage_ptr(fs, spage), 0, (size_t)cnt * RAMFS_PAGE);
	for (uint32_t i = 0; i < cnt; i++)
		ramfs_bit_set(fs->unwritten, spage + i, true);
	return 0;
}

/*
 * Cut file pages [p0, p1) out of one extent i (*link links to it).  Crash
 * safe at every store (ramfs_crash.c): a cut that moves the extent's start
 * builds the replacement extents first and swaps them in with one store
 * to *link; pages are given back only once no list reaches them.
 */
static int ramfs_cut_one(struct ramfs *fs, uint32_t n, uint32_t *link, uint32_t i,
			 uint64_t p0, uint64_t p1)
{
	struct ramfs_ext *e = ramfs_ext(fs, i);
	uint64_t end = ramfs_ext_end(e);
	uint32_t spage = e->spage, cnt, h, t;

	if (p0 <= e->fpage && p1 >= end) {              /* all of it */
		*link = e->next;
		RAMFS_PUBLISH();
		ramfs_release(fs, n, e->spage, e->npages);
		ramfs_ext_del(fs, i);
		return 0;
	}
	if (p0 <= e->fpage) {                           /* its head */
		cnt = (uint32_t)(p1 - e->fpage);
		t = ramfs_ext_make(fs, p1, spage + cnt, e->npages - cnt, e->next);
		if (!t)
			return ramfs_zero_pages(fs, spage, cnt);
		RAMFS_PUBLISH();
		*link = t;
		RAMFS_PUBLISH();
		ramfs_release(fs, n, spage, cnt);
		ramfs_ext_del(fs, i);
		return 0;
	}
	if (p1 < end) {                                 /* its middle: split */
		t = ramfs_ext_make(fs, p1, spage + (uint32_t)(p1 - e->fpage), (uint32_t)(end - p1),
				   e->next);
		h = t ? ramfs_ext_make(fs, e->fpage, spage, (uint32_t)(p0 - e->fpage), t) : 0;
		if (!h) {
			if (t)
				ramfs_ext_del(fs, t);
			return ramfs_zero_pages(fs, spage + (uint32_t)(p0 - e->fpage),
						(uint32_t)(p1 - p0));
		}
		e = ramfs_ext(fs, i);
		RAMFS_PUBLISH();
		*link = h;
		RAMFS_PUBLISH();
		ramfs_release(fs, n, spage + (uint32_t)(p0 - e->fpage), (uint32_t)(p1 - p0));
		ramfs_ext_del(fs, i);
		return 0;
	}
	cnt = (uint32_t)(end - p0);                     /* its tail */
	e->npages = (uint32_t)(p0 - e->fpage);
	RAMFS_PUBLISH();
	ramfs_release(fs, n, spage + e->npages, cnt);
	return 0;
}

static int ramfs_cut(struct ramfs *fs, uint32_t n, uint64_t p0, uint64_t p1)
{
	uint32_t *link = &fs->nodes[n].ext;

	while (*link) {
		uint32_t i = *link;
		struct ramfs_ext *e = ramfs_ext(fs, i);
		int r;

		if (e->fpage >= p1)
			break;
		if (ramfs_ext_end(e) <= p0) {
			link = &e->next;
			continue;
		}
		r = ramfs_cut_one(fs, n, link, i, p0, p1);
		if (r < 0)
			return r;
		if (*link == i)
			link = &fs->exts[i].next;
	}
	return 0;
}

void ramfs_data_punch(struct ramfs *fs, uint32_t n, uint64_t fpage, uint64_t npages)
{
	ramfs_cut(fs, n, fpage, fpage + npages);
}

void ramfs_data_free_all(struct ramfs *fs, uint32_t n)
{
	ramfs_cut(fs, n, 0, UINT64_MAX);
	ramfs_free_zombies(fs, n);
}

void ramfs_data_unpin(struct ramfs *fs, uint32_t n, uint64_t pages)
{
	struct ramfs_node *nd = &fs->nodes[n];

	nd->pinned -= pages < nd->pinned ? pages : nd->pinned;
	if (nd->pinned == 0) {
		ramfs_free_zombies(fs, n);
		ramfs_node_maybe_free(fs, n);
	}
}

static void ramfs_zero_tail(struct ramfs *fs, uint32_t n, uint64_t size)
{
	uint64_t run;
	char *pg;

	if (size % RAMFS_PAGE == 0)
		return;
	pg = ramfs_data_page(fs, n, size / RAMFS_PAGE, &run);
	if (pg)
		memset(pg + size % RAMFS_PAGE, 0, RAMFS_PAGE - size % RAMFS_PAGE);
}

int ramfs_data_truncate(struct ramfs *fs, uint32_t n, uint64_t size)
{
	struct ramfs_node *nd = &fs->nodes[n];

	if (size < nd->size) {
		/* the size first: if this process dies before the cut is done,
		 * repair clears what lies past it (ramfs_crash.c) */
		nd->size = size;
		RAMFS_PUBLISH();
		ramfs_cut(fs, n, ramfs_pages_for(size), UINT64_MAX);
		ramfs_zero_tail(fs, n, size);
		return 0;
	}
	/* bytes a shared mapping wrote past the old end must not show */
	ramfs_zero_tail(fs, n, nd->size);
	RAMFS_PUBLISH();
	nd->size = size;
	return 0;
}

/* ---- allocating ---- */

/* Grow extent i (ending at file page p) by k pages, in place or moved. */
static bool ramfs_grow_ext(struct ramfs *fs, uint32_t n, uint32_t i, uint32_t k)
{
	struct ramfs_ext *e = ramfs_ext(fs, i);
	uint32_t at, old, total = e->npages + k;

	if (ramfs_pages_grow(fs, e->spage + e->npages, k)) {
		e->npages += k;
		return true;
	}
	if (fs->nodes[n].pinned || (uint64_t)total * 2 > UINT32_MAX ||
	    ramfs_pages_alloc(fs, total, total * 2, &at) < 0)
		return false;
	memcpy(ramfs_spage_ptr(fs, at), ramfs_spage_ptr(fs, e->spage),
	       (size_t)e->npages * RAMFS_PAGE);
	for (uint32_t i = 0; i < e->npages; i++)      /* fallocated pages move as such */
		ramfs_bit_set(fs->unwritten, at + i, ramfs_bit(fs->unwritten, e->spage + i));
	/* point at the copy, then grow, then free the old run: each step
	 * leaves a valid extent if this process dies there */
	old = e->spage;
	RAMFS_PUBLISH();
	e->spage = at;
	RAMFS_PUBLISH();
	e->npages = total;
	RAMFS_PUBLISH();
	ramfs_pages_free(fs, old, total - k);
	return true;
}

/* A new extent for file pages [p, p + k), k as large as space allows. */
static int ramfs_new_ext(struct ramfs *fs, uint32_t *link, uint64_t p, uint32_t k,
			 uint32_t *filled)
{
	uint32_t at, i;

	if (k > fs->hdr->free_pages)
		k = fs->hdr->free_pages;
	while (k > 0 && ramfs_pages_alloc(fs, k, k * 2 > k ? k * 2 : k, &at) < 0)
		k /= 2;
	if (k == 0)
		return -ENOSPC;
	i = ramfs_ext_new(fs);
	if (!i) {
		ramfs_pages_free(fs, at, k);
		return -ENOSPC;
	}
	fs->exts[i].fpage = p;
	fs->exts[i].spage = at;
	fs->exts[i].npages = k;
	fs->exts[i].next = *link;
	RAMFS_PUBLISH();
	*link = i;
	*filled = k;
	return 0;
}

/* Fill the hole [p, p + len) that follows extent prev (0: none). */
static int ramfs_fill_gap(struct ramfs *fs, uint32_t n, uint32_t prev, uint64_t p,
			  uint32_t len, uint32_t *filled)
{
	uint32_t *link = prev ? &fs->exts[prev].next : &fs->nodes[n].ext;

	if (prev && ramfs_ext_end(ramfs_ext(fs, prev)) == p && ramfs_grow_ext(fs, n, prev, len)) {
		*filled = len;
		return 0;
	}
	return ramfs_new_ext(fs, link, p, len, filled);
}

/*
 * Make file pages [fpage, fpage + npages) exist.  *got: how many pages
 * from fpage exist afterwards (all of them, or fewer with -ENOSPC).
 */
int ramfs_data_reserve(struct ramfs *fs, uint32_t n, uint64_t fpage, uint64_t npages,
		       uint64_t *got)
{
	uint64_t p = fpage, end = fpage + npages;
	int r = 0;

	while (p < end && r == 0) {
		uint32_t prev = 0, next = fs->nodes[n].ext, filled = 0;
		uint64_t gend;

		while (next && fs->exts[next].fpage <= p) {
			prev = next;
			next = fs->exts[next].next;
		}
		if (prev && p < ramfs_ext_end(ramfs_ext(fs, prev))) {
			p = ramfs_ext_end(ramfs_ext(fs, prev));
			continue;
		}
		gend = next && fs->exts[next].fpage < end ? fs->exts[next].fpage : end;
		if (gend - p > RAMFS_GAP_STEP)
			gend = p + RAMFS_GAP_STEP;
		r = ramfs_fill_gap(fs, n, prev, p, (uint32_t)(gend - p), &filled);
		fs->nodes[n].pages += filled;
		p += filled;
	}
	*got = (p < end ? p : end) - fpage;
	return r;
}

/* Pages of [fpage, fpage + npages) not allocated yet. */
uint64_t ramfs_data_missing(struct ramfs *fs, uint32_t n, uint64_t fpage, uint64_t npages)
{
	uint64_t have = 0, end = fpage + npages;

	for (uint32_t i = fs->nodes[n].ext; i; i = fs->exts[i].next) {
		const struct ramfs_ext *e = ramfs_ext(fs, i);
		uint64_t s = e->fpage > fpage ? e->fpage : fpage;
		uint64_t t = ramfs_ext_end(e) < end ? ramfs_ext_end(e) : end;

		if (s < t)
			have += t - s;
	}
	return npages - have;
}

/* ---- fallocated pages ---- */

static uint32_t ramfs_spage_of(struct ramfs *fs, const char *p)
{
	return (uint32_t)((size_t)(p - fs->data) / RAMFS_PAGE);
}

/* Bytes [p, p + len) of the segment now hold data: their pages are no
 * longer unwritten. */
void ramfs_written(struct ramfs *fs, const char *p, size_t len)
{
	uint32_t first = ramfs_spage_of(fs, p), last = ramfs_spage_of(fs, p + len - 1);

	for (uint32_t i = first; len && i <= last; i++)
		ramfs_bit_set(fs->unwritten, i, false);
}

static void ramfs_mark_unwritten(struct ramfs *fs, uint32_t n, uint64_t fpage, uint64_t cnt)
{
	while (cnt) {
		uint64_t run, k;
		char *pg = ramfs_data_page(fs, n, fpage, &run);

		k = run < cnt ? run : cnt;
		for (uint64_t i = 0; pg && i < k; i++)
			ramfs_bit_set(fs->unwritten, ramfs_spage_of(fs, pg) + (uint32_t)i, true);
		fpage += k;
		cnt -= k;
	}
}

/*
 * fallocate: fill the holes of the range with pages that stay holes for
 * SEEK_DATA until written (tmpfs's fallocated, not uptodate, folios).
 * Pages an earlier fallocate left unwritten become data now: shmem
 * initialises them on a second fallocate.
 */
int ramfs_data_fallocate(struct ramfs *fs, uint32_t n, uint64_t fpage, uint64_t npages)
{
	uint64_t p = fpage, end = fpage + npages;

	while (p < end) {
		uint64_t run, k, got;
		char *pg = ramfs_data_page(fs, n, p, &run);
		int r;

		k = run < end - p ? run : end - p;
		if (pg) {
			ramfs_written(fs, pg, (size_t)k * RAMFS_PAGE);
			p += k;
			continue;
		}
		r = ramfs_data_reserve(fs, n, p, k, &got);
		ramfs_mark_unwritten(fs, n, p, got);
		if (r < 0)
			return r;
		p += got;
	}
	return 0;
}

/* ---- bytes ---- */

long ramfs_data_read(struct ramfs *fs, uint32_t n, char *buf, size_t len, uint64_t off)
{
	uint64_t size = fs->nodes[n].size;
	size_t done = 0;

	if (off >= size)
		return 0;
	if (len > size - off)
		len = (size_t)(size - off);
	while (done < len) {
		uint64_t pos = off + done, run;
		char *pg = ramfs_data_page(fs, n, pos / RAMFS_PAGE, &run);
		uint64_t avail = run == UINT64_MAX ? len - done
				 : run * RAMFS_PAGE - pos % RAMFS_PAGE;
		size_t k = avail < len - done ? (size_t)avail : len - done;

		if (pg)
			memcpy(buf + done, pg + pos % RAMFS_PAGE, k);
		else
			memset(buf + done, 0, k);
		done += k;
	}
	return (long)done;
}

long ramfs_data_write(struct ramfs *fs, uint32_t n, const char *buf, size_t len, uint64_t off)
{
	uint64_t first = off / RAMFS_PAGE, need, got;
	size_t done = 0;
	int r;

	if (len == 0)
		return 0;
	need = (off + len - 1) / RAMFS_PAGE + 1 - first;
	r = ramfs_data_reserve(fs, n, first, need, &got);
	if (got < need) {
		uint64_t avail = got * RAMFS_PAGE - off % RAMFS_PAGE;

		if (got == 0)
			return r < 0 ? r : -ENOSPC;
		if (avail < len)
			len = (size_t)avail;
	}
	while (done < len) {
		uint64_t pos = off + done, run;
		char *pg = ramfs_data_page(fs, n, pos / RAMFS_PAGE, &run);
		uint64_t avail = run * RAMFS_PAGE - pos % RAMFS_PAGE;
		size_t k = avail < len - done ? (size_t)avail : len - done;

		memcpy(pg + pos % RAMFS_PAGE, buf + done, k);
		ramfs_written(fs, pg + pos % RAMFS_PAGE, k);
		done += k;
	}
	RAMFS_PUBLISH();                /* the data before the size */
	if (off + len > fs->nodes[n].size)
		fs->nodes[n].size = off + len;
	return (long)len;
}

/* SEEK_DATA / SEEK_HOLE: written pages are data; holes and fallocated,
 * unwritten pages are holes. */
off_t ramfs_data_seek(struct ramfs *fs, uint32_t n, off_t off, int whence)
{
	uint64_t size = fs->nodes[n].size, pos = (uint64_t)off, p, eof;
	bool want_data = whence == SEEK_DATA;

	if (off < 0 || pos >= size)
		return -ENXIO;
	eof = ramfs_pages_for(size);
	for (p = pos / RAMFS_PAGE; p < eof;) {
		uint64_t run;
		char *pg = ramfs_data_page(fs, n, p, &run);

		for (uint64_t i = 0; i < run && p + i < eof; i++) {
			bool data = pg && !ramfs_bit(fs->unwritten, ramfs_spage_of(fs, pg) + (uint32_t)i);
			uint64_t at = (p + i) * RAMFS_PAGE;

			if (data == want_data)
				return (off_t)(at > pos ? at : pos);
			if (!pg)
				break;          /* a hole run: skip it whole */
		}
		if (run >= eof - p)
			break;
		p += run;
	}
	return want_data ? -ENXIO : (off_t)size;
}

/* Pieces of [off, off + len) below EOF (rounded up to a page); holes there
 * get pages first, as a fault would.  Pins the whole requested range. */
int ramfs_data_map(struct ramfs *fs, uint32_t n, uint64_t off, uint64_t len,
		   struct vfs_map_piece *pieces, int max)
{
	uint64_t p0 = off / RAMFS_PAGE, p1 = ramfs_pages_for(off + len), eof;
	uint64_t got;
	int cnt = 0, r;

	eof = ramfs_pages_for(fs->nodes[n].size);
	if (p1 > eof)
		p1 = eof;
	if (p0 < p1) {
		r = ramfs_data_reserve(fs, n, p0, p1 - p0, &got);
		if (r < 0)
			return -ENOMEM;
	}
	for (uint32_t i = fs->nodes[n].ext; i && p0 < p1; i = fs->exts[i].next) {
		const struct ramfs_ext *e = ramfs_ext(fs, i);
		uint64_t s = e->fpage > p0 ? e->fpage : p0;
		uint64_t t = ramfs_ext_end(e) < p1 ? ramfs_ext_end(e) : p1;

		if (s >= t)
			continue;
		if (cnt == max)
			return -ENOMEM;
		/* a mapping may write them: count them as data */
		ramfs_written(fs, ramfs_spage_ptr(fs, e->spage + (s - e->fpage)),
			      (size_t)(t - s) * RAMFS_PAGE);
		pieces[cnt].file_off = s * RAMFS_PAGE;
		pieces[cnt].seg_off = fs->hdr->off_data + (e->spage + (s - e->fpage)) * RAMFS_PAGE;
		pieces[cnt].len = (t - s) * RAMFS_PAGE;
		cnt++;
	}
	fs->nodes[n].pinned += ramfs_pages_for(off + len) - p0;
	ramfs_proc_ref(fs, RAMFS_REF_PIN, n, (int64_t)(ramfs_pages_for(off + len) - p0));
	return cnt;
}
