/*
 * The mman syscall layer: the per-page ownership vector and the memory
 * call handlers.
 *
 * Guarded by: mman.lock (LK_RANK_MMAN, recursive).  Each handler takes
 * the lock once and keeps it from its ownership check to its last
 * update, which closes the seed's race between the check and the update.
 * Host calls are made with the lock held, so the host's view and the
 * index change together.
 *
 * locking=legacy changes that (see mman.h): the ownership vector is read
 * under mman_shmem_lock before mman.lock is taken, and the handlers that
 * unmap or flush ramfs file mappings take lockfs while they hold
 * mman.lock.  Each handler reads the flag once, into a local.
 *
 * Handlers return a value >= 0 or -errno; shim/wrap_mman.c turns that into
 * the libc convention.  Ranges outside the arena (or parts of them) go to
 * the host unchanged.  Argument checks follow the kernel's order, so that
 * when several errors apply the kernel's errno wins (see the research
 * notes, libos-anchors.md 3.2).
 */
#include "mman/mman.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "shim/log.h"
#include "shim/options.h"
#include "shim/real.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE 0x08
#endif
#ifndef PROT_SEM
#define PROT_SEM 0x8
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif

#define PASS_FLAGS (MAP_HUGETLB | MAP_GROWSDOWN | MAP_32BIT)
#define KEEP_FLAGS (MAP_TYPE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_LOCKED)

static inline uintptr_t pg_up(uintptr_t x) { return (x + MMAN_PAGE_MASK) & ~MMAN_PAGE_MASK; }
static inline long neg_errno(void) { return -(long)errno; }

/*
 * Set while this thread is inside lk_lock(&mman.lock): the lock runtime
 * may capture a stack there, and the unwinder maps memory and probes it
 * with mincore through the PLT, which lands back here.  Such nested calls
 * go to the host.  Thread-local: no lock.
 */
static __thread int mman_locking __attribute__((tls_model("initial-exec")));

static void mman_enter(void)
{
	mman_locking = 1;
	lk_lock(&mman.lock);
	mman_locking = 0;
	mman.stats.calls++;
}

static long mman_leave(long r)
{
	if (shim_opt.mman_check) {
		char buf[256];
		if (mman_check(buf, sizeof(buf)))
			mman_check_failed(buf);
	}
	lk_unlock(&mman.lock);
	return r;
}

/* mman_leave, then (legacy flows only) drop lockfs: out of order, as
 * the seed released them. */
static long mman_leave_fs(bool fs, long r)
{
	r = mman_leave(r);
	if (fs)
		mman_legacy_fs.leave();
	return r;
}

/* The in-arena part of [s, e); empty (s >= e) when there is none. */
static void clip(uintptr_t s, uintptr_t e, uintptr_t *cs, uintptr_t *ce)
{
	*cs = s > mman.base ? s : mman.base;
	*ce = e < mman.end ? e : mman.end;
}

static bool touches_arena(uintptr_t s, uintptr_t e)
{
	return mman.ready && !mman_locking && s < mman.end && e > mman.base;
}

/* Syscall layer ownership: does [s, e) (in the arena) hold shim pages? */
static bool owned_by_shim(uintptr_t s, uintptr_t e)
{
	uintptr_t cs, ce;
	clip(s, e, &cs, &ce);
	if (cs >= ce)
		return false;
	return memchr(mman.owner_vec + mman_pgidx(cs), MMAN_OWNER_SHIM,
		      (ce - cs) >> MMAN_PAGE_SHIFT) != NULL;
}

/* ------------------------------------------------------ locking=legacy */

struct mman_legacy_fs mman_legacy_fs;   /* set once by vfs_init */

void mman_legacy_delay(void)
{
	int us = shim_opt.legacy_delay_us;
	if (us > 0) {
		struct timespec ts = { us / 1000000, (long)(us % 1000000) * 1000 };
		nanosleep(&ts, NULL);
	}
}

/*
 * The seed's ownership check: under the shared-memory lock, before the
 * handler takes mman.lock.  What it finds may be stale by the time the
 * handler acts (another thread can change the owners in between): the
 * check-then-act race that the fix closed.  TSan sees owner_vec read here
 * and written under mman.lock by other threads.
 */
static bool legacy_owned_by_shim(uintptr_t s, uintptr_t e)
{
	lk_lock(&mman_shmem_lock);
	bool r = owned_by_shim(s, e);
	lk_unlock(&mman_shmem_lock);
	mman_legacy_delay();     /* widens the window, legacy_delay_us= */
	return r;
}

/* Does [s, e) hold pages of a ramfs file mapping?  mman.lock held. */
static bool has_ramfs_map(uintptr_t s, uintptr_t e)
{
	uintptr_t cs, ce;
	clip(s, e, &cs, &ce);
	for (struct vad *v = vad_find_next(&mman.ix, cs); v && v->start < ce; v = v->next)
		if (v->kind == VAD_FILE && v->obj)
			return true;
	return false;
}

/*
 * The seed's file-mapping flows (munmap, shrinking mremap, msync, exit
 * flush): with mman.lock held, enter the filesystem, i.e. take lockfs.
 * That is mman -> lockfs, the inverse of the hierarchy; a thread mapping
 * a file holds lockfs and waits for mman.  True if lockfs was taken
 * (then mman_leave_fs must be used).
 */
static bool legacy_fs_enter(uintptr_t s, uintptr_t e)
{
	if (!mman_legacy_fs.enter || !has_ramfs_map(s, e))
		return false;
	mman_legacy_delay();
	mman_legacy_fs.enter();
	return true;
}

void mman_legacy_exit_flush(void)
{
	if (!mman.ready || !shim_opt.locking_legacy)
		return;
	lk_lock(&mman.lock);
	bool fs = legacy_fs_enter(mman.map_lo, mman.end);
	lk_unlock(&mman.lock);
	if (fs)
		mman_legacy_fs.leave();
}

/* Are n VADs available?  Checked before anything changes, so that a call
 * refused for want of VADs changes nothing (the kernel checks its map
 * count the same way). */
static bool vads_avail(size_t n)
{
	struct vad_index *ix = &mman.ix;
	if (ix->end_vad - ix->next_vad >= n)
		return true;
	size_t k = ix->end_vad - ix->next_vad;
	for (struct vad *f = ix->free; f && k < n; f = f->free_next)
		k++;
	if (k >= n)
		return true;
	if (!mman.warned_vads) {
		mman.warned_vads = true;
		shim_log("==vadshim== out of VADs (max_vads=%zu); raise max_vads= in VADSHIM_OPTIONS\n",
			 ix->end_vad);
	}
	return false;
}

/* VADs that splitting at s and at e would add. */
static size_t splits_needed(uintptr_t s, uintptr_t e)
{
	struct vad *v = vad_find(&mman.ix, s), *w = vad_find(&mman.ix, e);
	return (v && v->start != s) + (w && w->start != e);
}

static void mark_flags(uintptr_t s, uintptr_t e, uint32_t set, uint32_t clear);
static bool advice_leaves_flags(int advice);

/* First address in [s, e) not covered by VADs, or e. */
static uintptr_t first_hole(uintptr_t s, uintptr_t e)
{
	struct vad *v = vad_find(&mman.ix, s);
	uintptr_t at = s;
	while (v && v->start <= at && at < e) {
		at = v->end;
		v = v->next;
	}
	return at < e ? at : e;
}

/* Remove [s, e) from the arena: host reservation and index.  Lock held. */
static long arena_unmap(uintptr_t s, uintptr_t e)
{
	struct vad *v = vad_find_next(&mman.ix, s);
	if (!v || v->start >= e)
		return 0;              /* nothing mapped: success, as the kernel */
	if (!vads_avail(splits_needed(s, e)) || mman_core_split_at(s) || mman_core_split_at(e))
		return -ENOMEM;
	/* One host call: a fresh PROT_NONE mapping releases the pages, drops
	 * every VMA flag and merges back into the reservation. */
	long r = mman_core_reserve(s, e);
	if (r)
		return r;
	mman_core_clear(s, e);
	return 0;
}

/* ------------------------------------------------------------------ mmap */

static long mmap_passthrough(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	__atomic_fetch_add(&mman.stats.passthrough, 1, __ATOMIC_RELAXED);
	void *p = host_mmap(addr, len, prot, flags, fd, off);
	return p == MAP_FAILED ? neg_errno() : (long)p;
}

/* An error found by the shim before the host saw the call: EBADF first. */
static long mmap_early_error(long err, int flags, int fd)
{
	if (!(flags & MAP_ANONYMOUS) && syscall(SYS_fcntl, fd, F_GETFD) < 0)
		return -EBADF;
	return err;
}

/* Choose where a non-fixed mapping goes.  0 when the arena is full. */
static uintptr_t mmap_place(uintptr_t hint, size_t alen, int prot, int flags,
			    int fd, off_t off, long *passed)
{
	*passed = 0;
	if (hint) {
		hint &= ~MMAN_PAGE_MASK;   /* the kernel rounds a hint down */
		if (hint >= mman.map_lo && hint <= mman.end - alen &&
		    vad_range_free(&mman.ix, hint, hint + alen))
			return hint;
		if (!touches_arena(hint, hint + alen) && hint < MMAN_TASK_SIZE) {
			/* The kernel honours a free hint outside the arena. */
			void *p = host_mmap((void *)hint, alen, prot, flags, fd, off);
			if (p == (void *)hint) {
				*passed = (long)p;
				__atomic_fetch_add(&mman.stats.passthrough, 1, __ATOMIC_RELAXED);
				return 0;
			}
			if (p != MAP_FAILED)
				host_munmap(p, alen);
		}
	}
	return mman_core_find_gap(alen);
}

static long mmap_arena(uintptr_t a, size_t alen, int prot, int flags, int fd,
		       off_t off, int fmap)
{
	struct vad tmpl = {
		.prot = (uint32_t)prot & (PROT_READ | PROT_WRITE | PROT_EXEC),
		.flags = (uint32_t)flags & KEEP_FLAGS,
		.owner = MMAN_OWNER_APP,
		.fmap = fmap,
		.offset = (uint64_t)off,
	};
	if (flags & MAP_ANONYMOUS)
		tmpl.kind = (flags & MAP_TYPE) == MAP_SHARED ? VAD_SHARED_ANON : VAD_ANON;
	else
		tmpl.kind = VAD_FILE;
	static uint32_t shared_objs;   /* guarded by mman.lock */
	if (tmpl.kind == VAD_ANON) {
		tmpl.offset = a;            /* the kernel's pgoff of new anon memory */
		if ((flags & MAP_TYPE) == MAP_PRIVATE) {
			tmpl.flags &= ~(uint32_t)MAP_NORESERVE;  /* always, see vad_plain_anon */
			flags |= MAP_NORESERVE;
		}
		if (flags & MAP_STACK)
			tmpl.flags |= VAD_F_STICKY;         /* the kernel marks it NOHUGEPAGE */
	} else if (tmpl.kind == VAD_SHARED_ANON) {
		tmpl.offset = 0;
		tmpl.obj = ++shared_objs;
	} else {
		tmpl.obj = mman_file_obj;   /* a ramfs node, or 0 */
	}
	uintptr_t e = a + alen;
	if (!vads_avail(splits_needed(a, e) + 1) || mman_core_split_at(a) || mman_core_split_at(e))
		return -ENOMEM;
	if (vad_plain_anon(&tmpl) && !(prot & ~7) && vad_range_free(&mman.ix, a, e) &&
	    !(flags & ~(MAP_TYPE | MAP_ANONYMOUS | MAP_FIXED | MAP_FIXED_NOREPLACE | MAP_NORESERVE))) {
		/* Fast path: the free range is clean reservation (PROT_NONE,
		 * no pages, no sticky flags); opening it up is the mapping. */
		if (prot && host_mprotect((void *)a, alen, prot) < 0)
			return neg_errno();
		mman_core_add(&tmpl, a, e);
		mman_core_merge_around(a, e);
		return (long)a;
	}
	int hflags = (flags & ~MAP_FIXED_NOREPLACE) | MAP_FIXED;
	void *p = host_mmap((void *)a, alen, prot, hflags, fd, off);
	if (p == MAP_FAILED) {
		long err = neg_errno();
		/* The kernel fails before touching the range on bad input; if
		 * it did unmap something, the old mapping is gone as natively. */
		if (host_msync((void *)a, alen, MS_ASYNC) < 0) {
			mman_core_reserve(a, e);
			mman_core_clear(a, e);
		}
		mman_core_merge_around(a, e);
		return err;
	}
	mman_core_clear(a, e);
	mman_core_add(&tmpl, a, e);
	mman_core_merge_around(a, e);
	return (long)a;
}

long mman_sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	uintptr_t a = (uintptr_t)addr;
	if (!mman.ready || mman_locking || (flags & PASS_FLAGS))
		return mmap_passthrough(addr, len, prot, flags, fd, off);
	if (off & (off_t)MMAN_PAGE_MASK)
		return -EINVAL;
	if (len == 0)
		return mmap_passthrough(addr, len, prot, flags, fd, off); /* EBADF or EINVAL */
	if (flags & MAP_ANONYMOUS)
		fd = -1;
	uintptr_t alen = pg_up(len);
	if (alen == 0 || alen > MMAN_TASK_SIZE)
		return mmap_early_error(-ENOMEM, flags, fd);
	bool fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE);
	if (fixed && (a & MMAN_PAGE_MASK))
		return mmap_early_error(-EINVAL, flags, fd);
	if (fixed && (a > MMAN_TASK_SIZE - alen))
		return mmap_early_error(-ENOMEM, flags, fd);
	if (fixed && !touches_arena(a, a + alen))
		return mmap_passthrough(addr, len, prot, flags, fd, off);

	bool legacy = shim_opt.locking_legacy;
	if (legacy && fixed && legacy_owned_by_shim(a, a + alen))
		return -EINVAL;
	mman_enter();
	bool fs = legacy && fixed && legacy_fs_enter(a, a + alen);
	int fmap = -1;
	if (!(flags & MAP_ANONYMOUS)) {
		fmap = mman_wrap_fmap_get(fd);
		if (fmap < 0)
			return mman_leave_fs(fs, fmap == -EBADF ? -EBADF : -ENFILE);
	}
	if (fixed) {
		if (!legacy && owned_by_shim(a, a + alen))
			return mman_leave_fs(fs, -EINVAL);
		if ((flags & MAP_FIXED_NOREPLACE) && !vad_range_free(&mman.ix, a, a + alen))
			return mman_leave_fs(fs, -EEXIST);
		/* MAP_SHARED_VALIDATE knows no MAP_FIXED_NOREPLACE; the host
		 * would say so, but it never sees that flag from us. */
		if ((flags & MAP_FIXED_NOREPLACE) && (flags & MAP_TYPE) == MAP_SHARED_VALIDATE)
			return mman_leave_fs(fs, (flags & MAP_ANONYMOUS) ? -EINVAL : -EOPNOTSUPP);
	} else {
		long passed;
		a = mmap_place(a, alen, prot, flags, fd, off, &passed);
		if (passed)
			return mman_leave_fs(fs, passed);
		if (!a)
			return mman_leave_fs(fs, -ENOMEM);
	}
	int type = flags & MAP_TYPE;
	if (type != MAP_SHARED && type != MAP_PRIVATE && type != MAP_SHARED_VALIDATE &&
	    type != MAP_DROPPABLE)
		return mman_leave_fs(fs, -EINVAL);
	if (a < mman.base || a + alen > mman.end) {
		/* A fixed range straddling the arena edge: the host maps it
		 * whole; the arena records its own part. */
		long r = mmap_passthrough((void *)a, alen, prot, flags, fd, off);
		if (r >= 0) {
			uintptr_t cs, ce;
			clip(a, a + alen, &cs, &ce);
			struct vad t = { .kind = VAD_FOREIGN, .owner = MMAN_OWNER_APP,
					 .prot = (uint32_t)prot & 7, .fmap = -1 };
			if (!mman_core_split_at(cs) && !mman_core_split_at(ce)) {
				mman_core_clear(cs, ce);
				mman_core_add(&t, cs, ce);
			}
		}
		return mman_leave_fs(fs, r);
	}
	return mman_leave_fs(fs, mmap_arena(a, alen, prot, flags, fd, off, fmap));
}

/* ---------------------------------------------------------------- munmap */

long mman_sys_munmap(void *addr, size_t len)
{
	uintptr_t a = (uintptr_t)addr;
	if ((a & MMAN_PAGE_MASK) || len == 0)
		return -EINVAL;
	uintptr_t alen = pg_up(len);
	if (alen == 0 || a > MMAN_TASK_SIZE || alen > MMAN_TASK_SIZE - a)
		return -EINVAL;
	uintptr_t e = a + alen;
	if (!touches_arena(a, e)) {
		__atomic_fetch_add(&mman.stats.passthrough, 1, __ATOMIC_RELAXED);
		return host_munmap(addr, len) < 0 ? neg_errno() : 0;
	}
	bool legacy = shim_opt.locking_legacy;
	if (legacy && legacy_owned_by_shim(a, e))
		return -EINVAL;
	mman_enter();
	if (!legacy && owned_by_shim(a, e))
		return mman_leave(-EINVAL);
	bool fs = legacy && legacy_fs_enter(a, e);
	if (a < mman.base && host_munmap(addr, mman.base - a) < 0)
		return mman_leave_fs(fs, neg_errno());
	if (e > mman.end && host_munmap((void *)mman.end, e - mman.end) < 0)
		return mman_leave_fs(fs, neg_errno());
	uintptr_t cs, ce;
	clip(a, e, &cs, &ce);
	return mman_leave_fs(fs, arena_unmap(cs, ce));
}

/* -------------------------------------------------------------- mprotect */

static int host_protect(uintptr_t s, uintptr_t e, int prot, int pkey)
{
	if (pkey == -1)
		return host_mprotect((void *)s, e - s, prot);
	if (!shim_real.pkey_mprotect) {
		errno = ENOSYS;
		return -1;
	}
	return shim_real.pkey_mprotect((void *)s, e - s, prot, pkey);
}

/* Apply prot to the VADs covering [s, e) (no holes), as the kernel does. */
static long protect_run(uintptr_t s, uintptr_t e, int prot, int pkey)
{
	if (!vads_avail(splits_needed(s, e)) || mman_core_split_at(s) || mman_core_split_at(e))
		return -ENOMEM;
	uint32_t vprot = (uint32_t)prot & (PROT_READ | PROT_WRITE | PROT_EXEC);
	long err = 0;
	if (host_protect(s, e, prot, pkey) == 0) {
		for (struct vad *v = vad_find(&mman.ix, s); v && v->start < e; v = v->next)
			mman_core_set_prot(v, vprot);
	} else {
		/* The kernel stopped at some VMA, with the ones before changed:
		 * find which, one VAD at a time. */
		for (struct vad *v = vad_find(&mman.ix, s); v && v->start < e; v = v->next) {
			if (host_protect(v->start, v->end, prot, pkey) < 0) {
				err = neg_errno();
				break;
			}
			mman_core_set_prot(v, vprot);
		}
	}
	mman_core_merge_around(s, e);
	if (pkey != -1 && !err)
		mark_flags(s, e, VAD_F_STICKY, 0);   /* the key stays on the VMA */
	return err;
}

long mman_sys_mprotect(void *addr, size_t len, int prot, int pkey)
{
	uintptr_t a = (uintptr_t)addr;
	if (a & MMAN_PAGE_MASK)
		return -EINVAL;
	if (len == 0)
		return 0;
	uintptr_t e = a + pg_up(len);
	if (e <= a)
		return -ENOMEM;
	const int valid = PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM | PROT_GROWSDOWN | PROT_GROWSUP;
	if ((prot & ~valid) || (prot & PROT_GROWSDOWN && prot & PROT_GROWSUP))
		return -EINVAL;
	if (!touches_arena(a, e)) {
		__atomic_fetch_add(&mman.stats.passthrough, 1, __ATOMIC_RELAXED);
		return host_protect(a, e, prot, pkey) < 0 ? neg_errno() : 0;
	}
	bool legacy = shim_opt.locking_legacy;
	if (legacy && legacy_owned_by_shim(a, e))
		return -EINVAL;
	mman_enter();
	if (!legacy && owned_by_shim(a, e))
		return mman_leave(-EINVAL);
	if (a < mman.base) {
		if (host_protect(a, mman.base, prot, pkey) < 0)
			return mman_leave(neg_errno());
		a = mman.base;
	}
	uintptr_t ce = e < mman.end ? e : mman.end;
	if (!vad_find(&mman.ix, a))
		return mman_leave(-ENOMEM);
	if (prot & (PROT_GROWSDOWN | PROT_GROWSUP))
		return mman_leave(-EINVAL);   /* arena VADs never grow down */
	uintptr_t hole = first_hole(a, ce);
	long r = protect_run(a, hole, prot, pkey);
	if (r)
		return mman_leave(r);
	if (hole < ce)
		return mman_leave(-ENOMEM);
	if (e > mman.end && host_protect(mman.end, e, prot, pkey) < 0)
		return mman_leave(neg_errno());
	return mman_leave(0);
}

/* ------------------------------------------- msync, madvise, mlock, mincore */

/*
 * Calls fn on each maximal run of mapped pages of [s, e) in address
 * order: arena runs from the index, parts outside the arena as they are
 * (the host judges those).  Stops at fn's first error.  *hole reports a
 * hole in the arena part; stop_at_hole makes a hole end the walk with
 * -ENOMEM (mincore) instead of being skipped (msync, madvise).
 */
typedef int (*run_fn)(uintptr_t s, uintptr_t e, void *ctx);

static long for_each_run(uintptr_t s, uintptr_t e, run_fn fn, void *ctx,
			 bool stop_at_hole, bool *hole)
{
	*hole = false;
	if (s < mman.base) {
		uintptr_t pe = e < mman.base ? e : mman.base;
		if (fn(s, pe, ctx) < 0)
			return neg_errno();
		s = pe;
	}
	uintptr_t ce = e < mman.end ? e : mman.end;
	uintptr_t at = s;
	while (at < ce) {
		struct vad *v = vad_find(&mman.ix, at);
		if (!v) {
			*hole = true;
			if (stop_at_hole)
				return -ENOMEM;
			struct vad *nx = vad_find_next(&mman.ix, at);
			at = nx ? nx->start : ce;
			continue;
		}
		uintptr_t re = first_hole(at, ce);
		if (fn(at, re, ctx) < 0)
			return neg_errno();
		at = re;
	}
	if (e > mman.end && s < e) {
		uintptr_t ps = s > mman.end ? s : mman.end;
		if (fn(ps, e, ctx) < 0)
			return neg_errno();
	}
	return 0;
}

static int run_msync(uintptr_t s, uintptr_t e, void *ctx)
{
	return host_msync((void *)s, e - s, *(int *)ctx);
}

long mman_sys_msync(void *addr, size_t len, int flags)
{
	uintptr_t a = (uintptr_t)addr;
	if ((flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC)) || (a & MMAN_PAGE_MASK) ||
	    ((flags & MS_ASYNC) && (flags & MS_SYNC)))
		return -EINVAL;
	uintptr_t e = a + pg_up(len);
	if (e < a)
		return -ENOMEM;
	if (e == a)
		return 0;
	if (!touches_arena(a, e)) {
		__atomic_fetch_add(&mman.stats.passthrough, 1, __ATOMIC_RELAXED);
		return host_msync(addr, len, flags) < 0 ? neg_errno() : 0;
	}
	bool legacy = shim_opt.locking_legacy;
	mman_enter();
	bool fs = legacy && legacy_fs_enter(a, e);
	bool hole;
	long r = for_each_run(a, e, run_msync, &flags, false, &hole);
	return mman_leave_fs(fs, r ? r : hole ? -ENOMEM : 0);
}

static int run_madvise(uintptr_t s, uintptr_t e, void *ctx)
{
	return host_madvise((void *)s, e - s, *(int *)ctx);
}

long mman_sys_madvise(void *addr, size_t len, int advice)
{
	uintptr_t a = (uintptr_t)addr;
	if (a & MMAN_PAGE_MASK || len == 0)
		return host_madvise(addr, len, advice) < 0 ? neg_errno() : 0;
	uintptr_t e = a + pg_up(len);
	if (e <= a)
		return -EINVAL;
	if (!touches_arena(a, e)) {
		__atomic_fetch_add(&mman.stats.passthrough, 1, __ATOMIC_RELAXED);
		return host_madvise(addr, len, advice) < 0 ? neg_errno() : 0;
	}
	bool legacy = shim_opt.locking_legacy;
	if (legacy && legacy_owned_by_shim(a, e))
		return -EINVAL;
	mman_enter();
	if (!legacy && owned_by_shim(a, e))
		return mman_leave(-EINVAL);
	bool hole;
	long r = for_each_run(a, e, run_madvise, &advice, false, &hole);
	if (!advice_leaves_flags(advice) && r != -EINVAL) {
		uintptr_t cs, ce;
		clip(a, e, &cs, &ce);
		mark_flags(cs, ce, VAD_F_STICKY, 0);
	}
	if (r)
		return mman_leave(r);
	if (hole && host_madvise(addr, 0, advice) < 0)  /* is the advice valid? */
		return mman_leave(neg_errno());
	return mman_leave(hole ? -ENOMEM : 0);
}

struct mlock_ctx {
	int op;
	unsigned int flags;
};

/* Set or clear VAD flags over [s, e), splitting as the kernel splits
 * VMAs whose flags change.  MAP_LOCKED also tells mremap that growth must
 * be populated; VAD_F_STICKY keeps the mprotect fast path away. */
static void mark_flags(uintptr_t s, uintptr_t e, uint32_t set, uint32_t clear)
{
	if (!vads_avail(splits_needed(s, e)) || mman_core_split_at(s) || mman_core_split_at(e))
		return;
	for (struct vad *v = vad_find_next(&mman.ix, s); v && v->start < e; v = v->next)
		if (v->kind != VAD_SHIM)
			v->flags = (v->flags | set) & ~clear;
	mman_core_merge_around(s, e);
}

/* Advice that changes no VMA flag: anything else makes memory sticky. */
static bool advice_leaves_flags(int advice)
{
	switch (advice) {
	case MADV_NORMAL: case MADV_DONTNEED: case MADV_FREE: case MADV_WILLNEED: case MADV_REMOVE:
	case MADV_COLD: case MADV_PAGEOUT: case MADV_POPULATE_READ:
	case MADV_POPULATE_WRITE: case 24 /* MADV_DONTNEED_LOCKED */:
		return true;
	default:
		return false;
	}
}

static int run_mlock(uintptr_t s, uintptr_t e, void *ctx)
{
	struct mlock_ctx *c = ctx;
	switch (c->op) {
	case MMAN_MLOCK: return host_mlock((void *)s, e - s);
	case MMAN_MLOCK2: return host_mlock2((void *)s, e - s, c->flags);
	default: return host_munlock((void *)s, e - s);
	}
}

long mman_sys_mlock(const void *addr, size_t len, int op, unsigned int flags)
{
	if (op == MMAN_MLOCK2 && (flags & ~(unsigned)MLOCK_ONFAULT))
		return -EINVAL;
	uintptr_t a = (uintptr_t)addr;
	uintptr_t off = a & MMAN_PAGE_MASK;
	a -= off;
	uintptr_t e = a + pg_up(len + off);
	struct mlock_ctx c = { op, flags };
	if (e < a || len + off < len)
		return -EINVAL;
	if (e == a || !touches_arena(a, e)) {
		__atomic_fetch_add(&mman.stats.passthrough, 1, __ATOMIC_RELAXED);
		return run_mlock(a, e, &c) < 0 ? neg_errno() : 0;
	}
	mman_enter();
	uintptr_t cs, ce;
	clip(a, e, &cs, &ce);
	if (first_hole(cs, ce) < ce)
		return mman_leave(-ENOMEM);
	bool hole;
	long r = for_each_run(a, e, run_mlock, &c, true, &hole);
	if (r == 0)
		mark_flags(cs, ce, op != MMAN_MUNLOCK ? MAP_LOCKED : 0,
			   op != MMAN_MUNLOCK ? 0 : MAP_LOCKED);
	return mman_leave(r);
}

struct mincore_ctx {
	uintptr_t base;
	unsigned char *vec;
};

static int run_mincore(uintptr_t s, uintptr_t e, void *ctx)
{
	struct mincore_ctx *c = ctx;
	return host_mincore((void *)s, e - s, c->vec + ((s - c->base) >> MMAN_PAGE_SHIFT));
}

long mman_sys_mincore(void *addr, size_t len, unsigned char *vec)
{
	uintptr_t a = (uintptr_t)addr;
	if (a & MMAN_PAGE_MASK)
		return -EINVAL;
	if (len > MMAN_TASK_SIZE - a)
		return -ENOMEM;
	if (len == 0)
		return 0;
	uintptr_t e = a + pg_up(len);
	if (!touches_arena(a, e)) {
		__atomic_fetch_add(&mman.stats.passthrough, 1, __ATOMIC_RELAXED);
		return host_mincore(addr, len, vec) < 0 ? neg_errno() : 0;
	}
	mman_enter();
	struct mincore_ctx c = { a, vec };
	bool hole;
	return mman_leave(for_each_run(a, e, run_mincore, &c, true, &hole));
}

/* ---------------------------------------------------------------- mremap */

/* Hand [s, e) back to the reservation after the host moved its pages
 * away; if the host put something of its own there meanwhile, record it
 * as foreign so the arena never hands it out. */
static void rereserve_vacated(uintptr_t s, uintptr_t e)
{
	void *p = host_mmap((void *)s, e - s, PROT_NONE,
			    MAP_FIXED_NOREPLACE | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == (void *)s)
		return;
	if (p != MAP_FAILED)
		host_munmap(p, e - s);
	struct vad t = { .kind = VAD_FOREIGN, .owner = MMAN_OWNER_APP, .fmap = -1 };
	mman_core_add(&t, s, e);
}

/* Record a host range that now lies (partly) in the arena as foreign. */
static void record_foreign(uintptr_t s, uintptr_t e)
{
	uintptr_t cs, ce;
	clip(s, e, &cs, &ce);
	struct vad t = { .kind = VAD_FOREIGN, .owner = MMAN_OWNER_APP, .fmap = -1 };
	if (cs < ce && !mman_core_split_at(cs) && !mman_core_split_at(ce)) {
		mman_core_clear(cs, ce);
		mman_core_add(&t, cs, ce);
	}
}

static size_t count_vads(uintptr_t s, uintptr_t e)
{
	size_t n = 0;
	for (struct vad *v = vad_find_next(&mman.ix, s); v && v->start < e; v = v->next)
		n++;
	return n;
}

/*
 * Move [o, o+olen) to dest, growing to nlen.  The source may hold several
 * VADs and holes only when olen == nlen (the kernel moves such ranges
 * whole since 6.17; the arena's reservation moves along in the holes, so
 * holes stay holes at the destination).
 */
static long remap_move(uintptr_t o, size_t olen, size_t nlen, int flags, uintptr_t dest)
{
	if (!dest)
		return -ENOMEM;
	uintptr_t oe = o + olen;
	bool dest_in = dest >= mman.base && dest + nlen <= mman.end;
	size_t need = splits_needed(o, oe) + count_vads(o, oe) + 1 +
		      (dest_in ? splits_needed(dest, dest + nlen) : 0);
	if (!vads_avail(need) || mman_core_split_at(o) || mman_core_split_at(oe))
		return -ENOMEM;
	if (dest_in && (mman_core_split_at(dest) || mman_core_split_at(dest + nlen)))
		return -ENOMEM;
	int hflags = MREMAP_MAYMOVE | MREMAP_FIXED | (flags & MREMAP_DONTUNMAP);
	void *p = host_mremap((void *)o, olen, nlen, hflags, (void *)dest);
	if (p == MAP_FAILED && errno == EFAULT && nlen > olen && dest_in &&
	    count_vads(o, oe) == 1 && vad_plain_anon(vad_find(&mman.ix, o))) {
		/*
		 * One VAD, several host VMAs: anonymous VMAs merge only when
		 * their anon_vmas agree, which depends on history the arena
		 * does not see (the reservation lends its own to memory carved
		 * from it).  Move the pages whole (same size: the kernel moves
		 * several VMAs at once since 6.17), then add the growth.
		 */
		const struct vad *v = vad_find(&mman.ix, o);
		p = host_mremap((void *)o, olen, olen, hflags, (void *)dest);
		if (p != MAP_FAILED &&
		    host_mmap((void *)(dest + olen), nlen - olen, (int)v->prot,
			      MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0) == MAP_FAILED)
			p = MAP_FAILED;
	}
	if (p == MAP_FAILED) {
		long err = neg_errno();
		mman_core_merge_around(o, oe);
		if (dest_in)
			mman_core_merge_around(dest, dest + nlen);
		return err;
	}
	if (dest_in) {
		mman_core_clear(dest, dest + nlen);
		for (struct vad *v = vad_find_next(&mman.ix, o); v && v->start < oe; v = v->next) {
			uintptr_t ds = dest + (v->start - o);
			uintptr_t de = v->end == oe ? dest + nlen : dest + (v->end - o);
			struct vad t = *v;
			mman_core_add(&t, ds, de);
		}
	} else {
		record_foreign(dest, dest + nlen);
	}
	if (!(flags & MREMAP_DONTUNMAP)) {
		mman_core_clear(o, oe);
		rereserve_vacated(o, oe);
	}
	/* Merge only now: the destination may touch the old range. */
	if (dest_in)
		mman_core_merge_around(dest, dest + nlen);
	mman_core_merge_around(o, oe);
	return (long)dest;
}

/* Grow v in place over the free range [o+olen, o+nlen); false if the
 * host refused (the range then stays reserved). */
static bool remap_grow_in_place(struct vad *v, uintptr_t o, size_t olen, size_t nlen)
{
	uintptr_t ts = o + olen, te = o + nlen;
	if (vad_plain_anon(v)) {
		/* A fresh anonymous VMA over the reservation grows the mapping
		 * atomically.  The host merges it into the VMA below when the
		 * pgoffs are contiguous (not after a move); where it does not,
		 * the VAD still spans both, and remap_move copes with a source
		 * of several host VMAs. */
		int fl = MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
		if (host_mmap((void *)ts, te - ts, (int)v->prot, fl, -1, 0) == MAP_FAILED)
			return false;
	} else {
		/* Shared, file-backed or locked memory: the host must grow
		 * the VMA itself, so the reservation steps aside first. */
		if (host_munmap((void *)ts, te - ts) < 0)
			return false;
		void *p = host_mremap((void *)o, olen, nlen, 0, NULL);
		if (p != (void *)o) {
			rereserve_vacated(ts, te);
			return false;
		}
	}
	mman_core_extend(v, te);
	mman_core_merge_around(o, te);
	return true;
}

/* old_len 0: a second mapping of the same shared pages. */
static long remap_dup_shared(struct vad *v, uintptr_t o, size_t nlen, int flags, uintptr_t dest)
{
	if (!vad_is_shared(v))
		return -EINVAL;
	if (!(flags & MREMAP_MAYMOVE))
		return -ENOMEM;
	if (!dest)
		return -ENOMEM;
	if (dest < mman.base || dest + nlen > mman.end)
		return -EINVAL;
	if (!vads_avail(3) || mman_core_split_at(dest) || mman_core_split_at(dest + nlen))
		return -ENOMEM;
	void *p = host_mremap((void *)o, 0, nlen, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)dest);
	if (p == MAP_FAILED) {
		long err = neg_errno();
		mman_core_merge_around(dest, dest + nlen);
		return err;
	}
	struct vad tmpl = *v;
	tmpl.offset = v->offset + (o - v->start);
	mman_core_clear(dest, dest + nlen);
	mman_core_add(&tmpl, dest, dest + nlen);
	return (long)dest;
}

/* Where a moving mremap goes: MREMAP_FIXED's address, a free hint
 * (DONTUNMAP passes one), or the highest free gap. */
static uintptr_t remap_dest(int flags, uintptr_t n, size_t nlen)
{
	if (flags & MREMAP_FIXED)
		return n;
	n &= ~MMAN_PAGE_MASK;
	if (n && n >= mman.map_lo && n <= mman.end - nlen &&
	    vad_range_free(&mman.ix, n, n + nlen))
		return n;
	return mman_core_find_gap(nlen);
}

/* owned: the legacy check's answer (made before mman.lock), or -1 to
 * check here, under the lock. */
static long remap_checked(uintptr_t o, size_t olen, size_t nlen, int flags, uintptr_t n,
			  int owned)
{
	struct vad *v = vad_find(&mman.ix, o);
	if (!v)
		return -EFAULT;
	if (owned < 0 ? owned_by_shim(o, o + (olen ? olen : MMAN_PAGE)) ||
			((flags & MREMAP_FIXED) && owned_by_shim(n, n + nlen))
		      : owned)
		return -EINVAL;
	if (olen == 0) {
		uintptr_t dest = (flags & MREMAP_MAYMOVE) ? remap_dest(flags, n, nlen) : 0;
		return remap_dup_shared(v, o, nlen, flags, dest);
	}
	bool single = o + olen <= v->end;
	if (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) {
		if (nlen != olen && !single)
			return -EFAULT;
		/* Without MREMAP_FIXED the kernel moves one VMA only. */
		if (!(flags & MREMAP_FIXED) && !single)
			return -EFAULT;
		if (nlen < olen) {
			long r = arena_unmap(o + nlen, o + olen);
			if (r)
				return r;
			olen = nlen;
		}
		return remap_move(o, olen, nlen, flags, remap_dest(flags, n, nlen));
	}
	if (nlen <= olen) {
		long r = nlen < olen ? arena_unmap(o + nlen, o + olen) : 0;
		return r ? r : (long)o;
	}
	if (!single)
		return -EFAULT;
	if (o + olen == v->end && o + nlen <= mman.end && o + nlen > o &&
	    vad_range_free(&mman.ix, o + olen, o + nlen) &&
	    remap_grow_in_place(v, o, olen, nlen))
		return (long)o;
	if (!(flags & MREMAP_MAYMOVE))
		return -ENOMEM;
	return remap_move(o, olen, nlen, flags, mman_core_find_gap(nlen));
}

long mman_sys_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr)
{
	uintptr_t o = (uintptr_t)old, n = (uintptr_t)new_addr;
	if (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP))
		return -EINVAL;
	if ((flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) && !(flags & MREMAP_MAYMOVE))
		return -EINVAL;
	if (o & MMAN_PAGE_MASK)
		return -EINVAL;
	size_t olen = pg_up(old_len), nlen = pg_up(new_len);
	if (nlen == 0 || nlen > MMAN_TASK_SIZE || olen > MMAN_TASK_SIZE)
		return -EINVAL;
	if ((flags & MREMAP_DONTUNMAP) && olen != nlen)
		return -EINVAL;
	if ((flags & MREMAP_FIXED) || ((flags & MREMAP_DONTUNMAP) && n)) {
		if ((n & MMAN_PAGE_MASK) || n > MMAN_TASK_SIZE - nlen)
			return -EINVAL;
		if (n < o + olen && o < n + nlen)
			return -EINVAL;
	}
	bool old_in = touches_arena(o, o + (olen ? olen : 1));
	bool new_in = (flags & MREMAP_FIXED) && touches_arena(n, n + nlen);
	if (!old_in && !new_in) {
		__atomic_fetch_add(&mman.stats.passthrough, 1, __ATOMIC_RELAXED);
		void *p = host_mremap(old, old_len, new_len, flags, new_addr);
		return p == MAP_FAILED ? neg_errno() : (long)p;
	}
	bool legacy = shim_opt.locking_legacy;
	int owned = -1;
	if (legacy)
		owned = !old_in ? legacy_owned_by_shim(n, n + nlen) :
			legacy_owned_by_shim(o, o + (olen ? olen : MMAN_PAGE)) ||
			((flags & MREMAP_FIXED) && legacy_owned_by_shim(n, n + nlen));
	mman_enter();
	if (!old_in) {
		/* A host mapping moved into the arena: the host does it, the
		 * arena records the destination as foreign. */
		if (owned < 0 ? owned_by_shim(n, n + nlen) : owned)
			return mman_leave(-EINVAL);
		void *p = host_mremap(old, old_len, new_len, flags, new_addr);
		if (p == MAP_FAILED)
			return mman_leave(neg_errno());
		record_foreign(n, n + nlen);
		return mman_leave((long)p);
	}
	bool fs = legacy && legacy_fs_enter(o, o + (olen ? olen : MMAN_PAGE));
	return mman_leave_fs(fs, remap_checked(o, olen, nlen, flags, n, owned));
}

/* ------------------------------------------------------------- shim alloc */

void *mman_shim_alloc(size_t len)
{
	return mman_shim_map(-1, len);
}

void *mman_shim_map(int fd, size_t len)
{
	uintptr_t alen = pg_up(len);
	if (!mman.ready || alen == 0)
		return NULL;
	int flags = fd < 0 ? MAP_PRIVATE | MAP_ANONYMOUS : MAP_SHARED;
	lk_lock(&mman.lock);
	/* The shim's own memory may go elsewhere: no "arena exhausted". */
	uintptr_t a = vad_find_gap_low(&mman.ix, alen, mman.map_lo, mman.end);
	void *r = NULL;
	if (a && vads_avail(1) &&
	    host_mmap((void *)a, alen, PROT_READ | PROT_WRITE,
		      MAP_FIXED | flags, fd, 0) != MAP_FAILED) {
		struct vad t = { .kind = VAD_SHIM, .owner = MMAN_OWNER_SHIM,
				 .prot = PROT_READ | PROT_WRITE,
				 .flags = (uint32_t)flags, .fmap = -1 };
		mman_core_add(&t, a, a + alen);
		r = (void *)a;
	}
	lk_unlock(&mman.lock);
	return r;
}

bool mman_range_has_obj(uintptr_t a, size_t len)
{
	if (!mman.ready)
		return false;
	bool r = false;
	lk_lock(&mman.lock);
	for (struct vad *v = vad_find_next(&mman.ix, a); v && v->start < a + len; v = v->next)
		if (v->kind == VAD_FILE && v->obj) {
			r = true;
			break;
		}
	lk_unlock(&mman.lock);
	return r;
}

bool mman_vad_at(uintptr_t a, struct vad *copy)
{
	if (!mman.ready)
		return false;
	lk_lock(&mman.lock);
	struct vad *v = vad_find(&mman.ix, a);
	if (v)
		*copy = *v;
	lk_unlock(&mman.lock);
	return v != NULL;
}

void mman_for_each_obj(void (*fn)(uint32_t obj, size_t pages, void *arg), void *arg)
{
	if (!mman.ready)
		return;
	lk_lock(&mman.lock);
	for (struct vad *v = vad_find_next(&mman.ix, mman.map_lo); v; v = v->next)
		if (v->kind == VAD_FILE && v->obj)
			fn(v->obj, (v->end - v->start) >> MMAN_PAGE_SHIFT, arg);
	lk_unlock(&mman.lock);
}
