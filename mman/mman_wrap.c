/*
 * The mman wrapper layer: file-mapping records and the shared-mapping
 * list.
 *
 * Guarded by: mman.lock (LK_RANK_MMAN).  The seed kept the shared list
 * under its own lock; here it is merged into the mman lock (the fix), so
 * every function below runs with mman.lock held by the caller.
 *
 * locking=legacy: the shared list and the file-mapping records are also
 * guarded by mman_shmem_lock (class "shmem", LK_RANK_SHMEM), taken around
 * each change as the seed's sharedmem code took its own lock, and taken
 * alone by the legacy ownership check (mman_sys.c).  The flag is tested
 * only on the file and shared branches, so private anonymous memory (the
 * hot path) pays nothing for it.
 *
 * A file-mapping record names a host file (dev, ino, descriptor) and counts the
 * arena pages that map it; a record whose count drops to zero is free.
 * The kernel keeps host-file mappings coherent (they are MAP_FIXED on the
 * real descriptor), so the records serve bookkeeping and reports; ramfs
 * mappings will hang their write-back flows here.
 */
#include "mman/mman.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim/options.h"

static struct lk_class shmem_class = LK_CLASS_INIT("shmem", LK_RANK_SHMEM, true);
struct lk_lock mman_shmem_lock = LK_LOCK_INIT(&shmem_class, "shmem");

static inline void shm_lock(bool legacy)
{
	if (legacy)
		lk_lock(&mman_shmem_lock);
}

static inline void shm_unlock(bool legacy)
{
	if (legacy)
		lk_unlock(&mman_shmem_lock);
}

int mman_wrap_fmap_get(int fd)
{
	struct stat st;
	/* the host's fstat, not the shim's wrapper: never the vfs under mman.lock */
	if (syscall(SYS_fstat, fd, &st) < 0)
		return -errno;
	bool legacy = shim_opt.locking_legacy;
	shm_lock(legacy);
	int free_slot = -1;
	for (int i = 0; i < MMAN_MAX_FMAPS; i++) {
		struct mman_fmap *f = &mman.fmaps[i];
		if (f->npages && f->dev == st.st_dev && f->ino == st.st_ino && f->fd == fd) {
			shm_unlock(legacy);
			return i;
		}
		if (!f->npages && free_slot < 0)
			free_slot = i;
	}
	if (free_slot >= 0) {
		mman.fmaps[free_slot].dev = st.st_dev;
		mman.fmaps[free_slot].ino = st.st_ino;
		mman.fmaps[free_slot].fd = fd;
	}
	shm_unlock(legacy);
	return free_slot < 0 ? -ENFILE : free_slot;
}

static size_t pages(uintptr_t s, uintptr_t e)
{
	return (e - s) >> MMAN_PAGE_SHIFT;
}

/* Per thread, no lock: see mman.h. */
__thread uint32_t mman_file_obj;
static __thread struct mman_pin_delta pin_deltas[MMAN_PIN_DELTAS];
static __thread int pin_ndeltas, pin_lost;

static void pin_delta(const struct vad *v, long n)
{
	if (v->kind != VAD_FILE || !v->obj || !n)
		return;
	for (int i = 0; i < pin_ndeltas; i++)
		if (pin_deltas[i].obj == v->obj) {
			pin_deltas[i].pages += n;
			return;
		}
	if (pin_ndeltas == MMAN_PIN_DELTAS) {
		pin_lost = 1;
		return;
	}
	pin_deltas[pin_ndeltas].obj = v->obj;
	pin_deltas[pin_ndeltas++].pages = n;
}

int mman_take_pin_deltas(struct mman_pin_delta *out)
{
	int n = pin_ndeltas, lost = pin_lost;
	for (int i = 0; i < n; i++)
		out[i] = pin_deltas[i];
	pin_ndeltas = 0;
	pin_lost = 0;
	return lost ? -1 : n;
}

/* Add v to the shared list (if shared); under mman.lock (+ shmem, legacy). */
static void shared_link(struct vad *v)
{
	v->sprev = NULL;
	v->snext = mman.shared;
	if (mman.shared)
		mman.shared->sprev = v;
	mman.shared = v;
}

static void shared_unlink(struct vad *v)
{
	if (v->sprev)
		v->sprev->snext = v->snext;
	else
		mman.shared = v->snext;
	if (v->snext)
		v->snext->sprev = v->sprev;
	v->snext = v->sprev = NULL;
}

void mman_wrap_on_add(struct vad *v)
{
	pin_delta(v, (long)pages(v->start, v->end));
	bool shared = vad_is_shared(v);
	if (v->fmap < 0 && !shared)
		return;
	bool legacy = shim_opt.locking_legacy;
	shm_lock(legacy);
	if (v->fmap >= 0)
		mman.fmaps[v->fmap].npages += pages(v->start, v->end);
	if (shared)
		shared_link(v);
	shm_unlock(legacy);
}

void mman_wrap_on_drop(struct vad *v)
{
	pin_delta(v, -(long)pages(v->start, v->end));
	bool shared = vad_is_shared(v);
	if (v->fmap < 0 && !shared)
		return;
	bool legacy = shim_opt.locking_legacy;
	shm_lock(legacy);
	if (v->fmap >= 0)
		mman.fmaps[v->fmap].npages -= pages(v->start, v->end);
	if (shared)
		shared_unlink(v);
	shm_unlock(legacy);
}

void mman_wrap_on_resize(struct vad *v, uintptr_t old_s, uintptr_t old_e)
{
	pin_delta(v, (long)pages(v->start, v->end) - (long)pages(old_s, old_e));
	if (v->fmap < 0)
		return;
	bool legacy = shim_opt.locking_legacy;
	shm_lock(legacy);
	mman.fmaps[v->fmap].npages -= pages(old_s, old_e);
	mman.fmaps[v->fmap].npages += pages(v->start, v->end);
	shm_unlock(legacy);
}
