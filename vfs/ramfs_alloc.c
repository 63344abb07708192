/*
 * ramfs_alloc — the segment's allocators: the fixed tables (nodes,
 * dirents, open descriptions, extents) and the data pages.
 *
 * Everything here is guarded by the segment lock (hdr->mutex).
 *
 * Tables: a free list threaded through free entries plus a high-water
 * mark, so an entry's page is touched only when first handed out.
 *
 * Data pages: one bit per page in hdr->bitmap.  A run is searched first
 * fit from a roving hint (next fit), which places successive allocations
 * one after another and leaves room behind the newest extent, so that a
 * growing file can usually be extended in place.  A page is backed in the
 * shm object (fallocate) when allocated, so a full /dev/shm gives ENOSPC
 * now rather than SIGBUS at the first touch, and punched when freed: a
 * free page holds no memory and reads back as zero, which is what a newly
 * allocated page must contain.
 */
#include "vfs/ramfs_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>

/* ---- tables ---- */

static const size_t ramfs_tab_esz[RAMFS_NTAB] = {
	sizeof(struct ramfs_node), sizeof(struct ramfs_dirent),
	sizeof(struct ramfs_ofd), sizeof(struct ramfs_ext),
};

/* The field that links a free entry to the next one. */
uint32_t *ramfs_tab_link(struct ramfs *fs, int t, uint32_t idx)
{
	switch (t) {
	case RAMFS_T_NODE:
		return &fs->nodes[idx].next_free;
	case RAMFS_T_DIRENT:
		return &fs->dirents[idx].next;
	case RAMFS_T_OFD:
		return &fs->ofds[idx].node;
	default:
		return &fs->exts[idx].next;
	}
}

static void *ramfs_tab_entry(struct ramfs *fs, int t, uint32_t idx)
{
	static const size_t off[RAMFS_NTAB] = {
		offsetof(struct ramfs, nodes), offsetof(struct ramfs, dirents),
		offsetof(struct ramfs, ofds), offsetof(struct ramfs, exts),
	};
	char *base = *(char **)((char *)fs + off[t]);

	return base + (size_t)idx * ramfs_tab_esz[t];
}

/* A zeroed entry, or 0 when the table is full. */
uint32_t ramfs_tab_get(struct ramfs *fs, int t)
{
	struct ramfs_tab *tab = &fs->hdr->tab[t];
	uint32_t idx = tab->free;

	if (idx)
		tab->free = *ramfs_tab_link(fs, t, idx);
	else if (tab->hwm < tab->cap)
		idx = tab->hwm++;
	else
		return 0;
	memset(ramfs_tab_entry(fs, t, idx), 0, ramfs_tab_esz[t]);
	tab->used++;
	return idx;
}

/* The caller has already marked the entry free (its "in use" field 0). */
void ramfs_tab_put(struct ramfs *fs, int t, uint32_t idx)
{
	struct ramfs_tab *tab = &fs->hdr->tab[t];

	*ramfs_tab_link(fs, t, idx) = tab->free;
	tab->free = idx;
	tab->used--;
}

uint32_t ramfs_ext_new(struct ramfs *fs)
{
	uint32_t e = ramfs_tab_get(fs, RAMFS_T_EXT);

	if (e)
		fs->exts[e].used = 1;
	return e;
}

void ramfs_ext_del(struct ramfs *fs, uint32_t e)
{
	fs->exts[e].used = 0;
	ramfs_tab_put(fs, RAMFS_T_EXT, e);
}

/* ---- the page bitmap ---- */

bool ramfs_bit(const uint64_t *bm, uint32_t i)
{
	return bm[i / 64] >> (i % 64) & 1;
}

void ramfs_bit_set(uint64_t *bm, uint32_t i, bool v)
{
	if (v)
		bm[i / 64] |= 1ull << (i % 64);
	else
		bm[i / 64] &= ~(1ull << (i % 64));
}

/* Length of the free run at i, up to max. */
static uint32_t ramfs_free_run(struct ramfs *fs, uint32_t i, uint32_t max)
{
	uint32_t n = 0, end = fs->hdr->data_pages;

	while (n < max && i + n < end) {
		uint32_t j = i + n;

		if ((j % 64) == 0 && n + 64 <= max && j + 64 <= end && fs->bitmap[j / 64] == 0) {
			n += 64;
			continue;
		}
		if (ramfs_bit(fs->bitmap, j))
			break;
		n++;
	}
	return n;
}

/* First run of at least n free pages at or after from, before end. */
static bool ramfs_find_run(struct ramfs *fs, uint32_t from, uint32_t end, uint32_t n,
			   uint32_t *out)
{
	uint32_t i = from;

	while (i + n <= end) {
		uint32_t run;

		if ((i % 64) == 0 && fs->bitmap[i / 64] == ~0ull) {
			i += 64;
			continue;
		}
		run = ramfs_free_run(fs, i, n);
		if (run >= n) {
			*out = i;
			return true;
		}
		i += run + 1;
	}
	return false;
}

static int ramfs_back(struct ramfs *fs, uint32_t spage, uint32_t n)
{
	return ramfs_host_fallocate(fs, 0, fs->hdr->off_data + (uint64_t)spage * RAMFS_PAGE,
				    (uint64_t)n * RAMFS_PAGE);
}

static void ramfs_mark(struct ramfs *fs, uint32_t spage, uint32_t n, bool used)
{
	for (uint32_t i = 0; i < n; i++) {
		ramfs_bit_set(fs->bitmap, spage + i, used);
		ramfs_bit_set(fs->unwritten, spage + i, false);
	}
	if (used)
		fs->hdr->free_pages -= n;
	else
		fs->hdr->free_pages += n;
}

/*
 * Allocate n contiguous pages, preferring a place where want (>= n)
 * pages are free so that the extent can grow in place later.
 */
int ramfs_pages_alloc(struct ramfs *fs, uint32_t n, uint32_t want, uint32_t *out)
{
	struct ramfs_hdr *h = fs->hdr;
	uint32_t at;
	int r;

	if (n == 0 || n > h->free_pages)
		return -ENOSPC;
	if (want < n || want > h->free_pages)
		want = n;
	if (!ramfs_find_run(fs, h->alloc_hint, h->data_pages, want, &at) &&
	    !ramfs_find_run(fs, 0, h->data_pages, want, &at) &&
	    !ramfs_find_run(fs, 0, h->data_pages, n, &at))
		return -ENOSPC;
	r = ramfs_back(fs, at, n);
	if (r < 0 && r != -EOPNOTSUPP)
		return r;
	ramfs_mark(fs, at, n, true);
	h->alloc_hint = at + want < h->data_pages ? at + want : 0;
	*out = at;
	return 0;
}

/* Take the n pages right after an extent ending at spage, if free. */
bool ramfs_pages_grow(struct ramfs *fs, uint32_t spage, uint32_t n)
{
	if (spage + n > fs->hdr->data_pages || ramfs_free_run(fs, spage, n) < n)
		return false;
	int r = ramfs_back(fs, spage, n);

	if (r < 0 && r != -EOPNOTSUPP)
		return false;
	ramfs_mark(fs, spage, n, true);
	if (fs->hdr->alloc_hint >= spage && fs->hdr->alloc_hint < spage + n)
		fs->hdr->alloc_hint = spage + n < fs->hdr->data_pages ? spage + n : 0;
	return true;
}

void ramfs_pages_free(struct ramfs *fs, uint32_t spage, uint32_t n)
{
	if (n == 0)
		return;
	ramfs_host_fallocate(fs, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			     fs->hdr->off_data + (uint64_t)spage * RAMFS_PAGE,
			     (uint64_t)n * RAMFS_PAGE);
	ramfs_mark(fs, spage, n, false);
}
