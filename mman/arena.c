/*
 * The core mman: the arena reservation, VADs and the protection vector.
 *
 * Guarded by: mman.lock (LK_RANK_MMAN, recursive).  Every mman_core_*
 * function expects the caller to hold it; mman_init runs before any other
 * thread can reach the shim.  See mman/mman.h for the arena picture and
 * the whole lock order.  Under locking=legacy the owner vector written
 * here is also read without mman.lock (the seed's ownership check, see
 * mman_sys.c): that race is the point of the option.
 */
#include "mman/mman.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "shim/log.h"
#include "shim/options.h"
#include "shim/real.h"

static struct lk_class mman_class = LK_CLASS_INIT("mman", LK_RANK_MMAN, true);

struct mman mman = {
	.lock = LK_LOCK_INIT(&mman_class, "mman"),
};

static uintptr_t page_up(uintptr_t x)
{
	return (x + MMAN_PAGE_MASK) & ~MMAN_PAGE_MASK;
}

static void vec_set(uintptr_t s, uintptr_t e, uint8_t prot, uint8_t owner)
{
	size_t i = mman_pgidx(s), n = (e - s) >> MMAN_PAGE_SHIFT;
	memset(mman.prot_vec + i, prot, n);
	memset(mman.owner_vec + i, owner, n);
}

int mman_init(size_t arena_size, size_t max_vads)
{
	uintptr_t size = page_up(arena_size);
	size_t npages = size >> MMAN_PAGE_SHIFT;
	/* A VAD covers at least one page: more VADs than pages never help. */
	if (max_vads > npages)
		max_vads = npages;
	uintptr_t vad_bytes = page_up(max_vads * sizeof(struct vad));
	uintptr_t meta = vad_bytes + 2 * page_up(npages);

	if (max_vads < 16 || meta + 16 * MMAN_PAGE > size)
		return -EINVAL;
	void *p = host_mmap(NULL, size, PROT_NONE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	uintptr_t base = (uintptr_t)p;
	if (host_mmap(p, meta, PROT_READ | PROT_WRITE,
		      MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0) == MAP_FAILED) {
		int e = errno;
		host_munmap(p, size);
		return -e;
	}
	mman.base = base;
	mman.end = base + size;
	mman.npages = npages;
	mman.meta_bytes = meta;
	mman.map_lo = base + meta;
	mman.prot_vec = (uint8_t *)(base + vad_bytes);
	mman.owner_vec = (uint8_t *)(base + vad_bytes + page_up(npages));
	vad_index_init(&mman.ix, mman.base, mman.end, (struct vad *)base, max_vads);
	mman.ready = true;

	struct vad tmpl = { .kind = VAD_SHIM, .owner = MMAN_OWNER_SHIM,
			    .prot = PROT_READ | PROT_WRITE,
			    .flags = MAP_PRIVATE | MAP_ANONYMOUS, .fmap = -1 };
	return mman_core_add(&tmpl, base, base + meta);
}

static void copy_attrs(struct vad *dst, const struct vad *src)
{
	dst->prot = src->prot;
	dst->flags = src->flags;
	dst->kind = src->kind;
	dst->owner = src->owner;
	dst->fmap = src->fmap;
	dst->obj = src->obj;
	dst->offset = src->offset;
}

static struct vad *alloc_vad(void)
{
	struct vad *v = vad_alloc(&mman.ix);
	if (!v && !mman.warned_vads) {
		mman.warned_vads = true;
		shim_log("==vadshim== out of VADs (max_vads=%zu); raise max_vads= in VADSHIM_OPTIONS\n",
			 mman.ix.end_vad);
	}
	return v;
}

int mman_core_split_at(uintptr_t addr)
{
	struct vad *v = vad_find(&mman.ix, addr);
	if (!v || v->start == addr)
		return 0;
	struct vad *nv = alloc_vad();
	if (!nv)
		return -ENOMEM;
	uintptr_t old_s = v->start, old_e = v->end;
	copy_attrs(nv, v);
	nv->offset = v->offset + (addr - v->start);
	nv->start = addr;
	nv->end = old_e;
	vad_resize(&mman.ix, v, old_s, addr);
	mman_wrap_on_resize(v, old_s, old_e);
	vad_insert(&mman.ix, nv);
	if (mman.ix.count > mman.stats.peak_vads)
		mman.stats.peak_vads = mman.ix.count;
	mman_wrap_on_add(nv);
	return 0;
}

void mman_core_clear(uintptr_t s, uintptr_t e)
{
	struct vad *v = vad_find_next(&mman.ix, s);
	while (v && v->start < e) {
		struct vad *next = v->next;
		mman_wrap_on_drop(v);
		if (v->owner == MMAN_OWNER_APP)
			mman.stats.mapped_bytes -= v->end - v->start;
		vec_set(v->start, v->end, 0, MMAN_OWNER_FREE);
		vad_remove(&mman.ix, v);
		vad_free(&mman.ix, v);
		v = next;
	}
}

int mman_core_add(const struct vad *tmpl, uintptr_t s, uintptr_t e)
{
	struct vad *v = alloc_vad();
	if (!v)
		return -ENOMEM;
	copy_attrs(v, tmpl);
	v->start = s;
	v->end = e;
	vad_insert(&mman.ix, v);
	vec_set(s, e, (uint8_t)v->prot, v->owner);
	if (v->owner == MMAN_OWNER_APP)
		mman.stats.mapped_bytes += e - s;
	if (mman.ix.count > mman.stats.peak_vads)
		mman.stats.peak_vads = mman.ix.count;
	mman_wrap_on_add(v);
	return 0;
}

void mman_core_set_prot(struct vad *v, uint32_t prot)
{
	v->prot = prot;
	memset(mman.prot_vec + mman_pgidx(v->start), (uint8_t)prot,
	       (v->end - v->start) >> MMAN_PAGE_SHIFT);
}

void mman_core_extend(struct vad *v, uintptr_t new_end)
{
	uintptr_t old_s = v->start, old_e = v->end;
	vad_resize(&mman.ix, v, old_s, new_end);
	vec_set(old_e, new_end, (uint8_t)v->prot, v->owner);
	if (v->owner == MMAN_OWNER_APP)
		mman.stats.mapped_bytes += new_end - old_e;
	mman_wrap_on_resize(v, old_s, old_e);
}

/*
 * Adjacent VADs merge when the kernel would merge the VMAs: equal
 * protection and flags, the same backing object (private anonymous
 * memory, one shared anonymous object, one file record) and contiguous
 * pgoff.  An anonymous VMA's pgoff is its address at creation and moves
 * with it, so a moved mapping does not merge with a neighbour made in
 * place.  Keeping the kernel's granularity matters for mremap, which
 * refuses a range spanning two VMAs.
 */
static bool mergeable(const struct vad *a, const struct vad *b)
{
	if (a->end != b->start || a->kind != b->kind || a->prot != b->prot ||
	    a->flags != b->flags || a->owner != b->owner)
		return false;
	if (a->offset + (a->end - a->start) != b->offset)
		return false;
	switch (a->kind) {
	case VAD_ANON: return true;
	case VAD_SHARED_ANON: return a->obj == b->obj;
	case VAD_FILE: return a->fmap == b->fmap && a->obj == b->obj;
	default: return false;
	}
}

void mman_core_merge_around(uintptr_t s, uintptr_t e)
{
	struct vad *v = s > mman.base ? vad_find(&mman.ix, s - 1) : NULL;
	if (!v)
		v = vad_find_next(&mman.ix, s);
	while (v && v->start <= e) {
		struct vad *nx = v->next;
		if (nx && mergeable(v, nx)) {
			uintptr_t old_s = v->start, old_e = v->end, ne = nx->end;
			mman_wrap_on_drop(nx);
			vad_remove(&mman.ix, nx);
			vad_free(&mman.ix, nx);
			vad_resize(&mman.ix, v, old_s, ne);
			mman_wrap_on_resize(v, old_s, old_e);
			continue;
		}
		v = nx;
	}
}

int mman_core_reserve(uintptr_t s, uintptr_t e)
{
	if (host_mmap((void *)s, e - s, PROT_NONE,
		      MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0) == MAP_FAILED)
		return -errno;
	return 0;
}

/*
 * Bottom-up first fit, as the seed fills holes from the low end.  The
 * kernel goes top-down, where the newest mapping always has an older one
 * right above it; bottom-up leaves the newest mapping free room above, so
 * a growing mremap usually stays in place (one host mmap over the
 * reservation instead of a move and a re-reservation).
 */
uintptr_t mman_core_find_gap(size_t len)
{
	uintptr_t a = vad_find_gap_low(&mman.ix, len, mman.map_lo, mman.end);
	if (!a && !mman.warned_full) {
		mman.warned_full = true;
		shim_log("==vadshim== arena exhausted (arena_size=%zu bytes, %zu mapped); "
			 "raise arena_size= in VADSHIM_OPTIONS\n",
			 (size_t)(mman.end - mman.base), mman.stats.mapped_bytes);
	}
	return a;
}
