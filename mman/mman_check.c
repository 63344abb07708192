/*
 * mman_check: every invariant of the arena, for tests (after each step)
 * and for mman_check=1 at run time (after each memory call).
 *
 * Takes mman.lock (recursive, so callers may already hold it).
 */
#include "mman/mman.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "shim/log.h"

#define FAIL(...) do { snprintf(buf, buflen, __VA_ARGS__); return -EFAULT; } while (0)

static int check_vectors(const struct vad *v, char *buf, size_t buflen)
{
	size_t i = mman_pgidx(v->start), n = (v->end - v->start) >> MMAN_PAGE_SHIFT;
	for (size_t k = 0; k < n; k++) {
		if (mman.prot_vec[i + k] != (uint8_t)v->prot)
			FAIL("prot vector %u != VAD prot %u at %#lx",
			     mman.prot_vec[i + k], v->prot, v->start + (k << MMAN_PAGE_SHIFT));
		if (mman.owner_vec[i + k] != v->owner)
			FAIL("owner vector %u != VAD owner %u at %#lx",
			     mman.owner_vec[i + k], v->owner, v->start + (k << MMAN_PAGE_SHIFT));
	}
	return 0;
}

static int check_hole(uintptr_t s, uintptr_t e, char *buf, size_t buflen)
{
	size_t i = mman_pgidx(s), n = (e - s) >> MMAN_PAGE_SHIFT;
	for (size_t k = 0; k < n; k++)
		if (mman.prot_vec[i + k] || mman.owner_vec[i + k])
			FAIL("hole page %#lx has prot %u owner %u", s + (k << MMAN_PAGE_SHIFT),
			     mman.prot_vec[i + k], mman.owner_vec[i + k]);
	return 0;
}

static int check_vad(const struct vad *v, char *buf, size_t buflen)
{
	if (v->start < mman.base || v->end > mman.end)
		FAIL("VAD [%#lx,%#lx) outside the arena", v->start, v->end);
	if (v->kind < VAD_ANON || v->kind > VAD_RAMFS)
		FAIL("VAD [%#lx,%#lx) has bad kind %u", v->start, v->end, v->kind);
	if (v->kind == VAD_SHIM && v->owner != MMAN_OWNER_SHIM)
		FAIL("shim VAD [%#lx,%#lx) not owned by the shim", v->start, v->end);
	if (v->owner == MMAN_OWNER_APP && v->start < mman.map_lo)
		FAIL("program VAD [%#lx,%#lx) below map_lo", v->start, v->end);
	if ((v->kind == VAD_FILE) != (v->fmap >= 0))
		FAIL("VAD [%#lx,%#lx) kind %u with fmap %d", v->start, v->end, v->kind, v->fmap);
	bool shared = vad_is_shared(v);
	bool listed = false;
	for (const struct vad *s = mman.shared; s; s = s->snext)
		if (s == v)
			listed = true;
	if (shared != listed)
		FAIL("VAD [%#lx,%#lx) shared=%d but listed=%d", v->start, v->end, shared, listed);
	return check_vectors(v, buf, buflen);
}

static int check_locked(char *buf, size_t buflen)
{
	if (!mman.ready)
		return 0;
	int r = vad_check(&mman.ix, buf, buflen);
	if (r)
		return r;
	size_t fm[MMAN_MAX_FMAPS];
	memset(fm, 0, sizeof(fm));
	size_t mapped = 0, nshared = 0;
	uintptr_t at = mman.base;
	for (const struct vad *v = mman.ix.head; v; v = v->next) {
		if ((r = check_vad(v, buf, buflen)) || (r = check_hole(at, v->start, buf, buflen)))
			return r;
		if (v->fmap >= 0)
			fm[v->fmap] += (v->end - v->start) >> MMAN_PAGE_SHIFT;
		if (v->owner == MMAN_OWNER_APP)
			mapped += v->end - v->start;
		at = v->end;
	}
	if ((r = check_hole(at, mman.end, buf, buflen)))
		return r;
	for (const struct vad *s = mman.shared; s; s = s->snext)
		if (++nshared > mman.ix.count)
			FAIL("shared-mapping list longer than the VAD list");
	for (int i = 0; i < MMAN_MAX_FMAPS; i++)
		if (fm[i] != mman.fmaps[i].npages)
			FAIL("file-mapping record %d counts %zu pages, VADs map %zu",
			     i, mman.fmaps[i].npages, fm[i]);
	if (mapped != mman.stats.mapped_bytes)
		FAIL("mapped_bytes %zu != %zu mapped by VADs", mman.stats.mapped_bytes, mapped);
	return 0;
}

int mman_check(char *buf, size_t buflen)
{
	lk_lock(&mman.lock);
	int r = check_locked(buf, buflen);
	lk_unlock(&mman.lock);
	return r;
}

void mman_check_failed(const char *msg)
{
	shim_log("==vadshim== mman_check failed: %s\n", msg);
	abort();
}

void mman_print_stats(void)
{
	if (!mman.ready)
		return;
	lk_lock(&mman.lock);
	size_t vad_meta = mman.ix.count * sizeof(struct vad) +
			  2 * (mman.stats.mapped_bytes >> MMAN_PAGE_SHIFT);
	shim_log("vadshim: stats arena_size=%zu mapped_bytes=%zu vads=%zu peak_vads=%zu "
		 "metadata_bytes=%zu calls=%zu passthrough=%zu\n",
		 (size_t)(mman.end - mman.base), mman.stats.mapped_bytes, mman.ix.count,
		 mman.stats.peak_vads, vad_meta, mman.stats.calls, mman.stats.passthrough);
	lk_unlock(&mman.lock);
}
