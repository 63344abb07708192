/*
 * Mappings of ramfs files: mmap of a ramfs descriptor maps the segment
 * pages that hold the file's bytes into the arena, so every mapping of
 * the file in every process and every read and write see the same bytes
 * at once.
 *
 * The flows follow the fixed design: mmap takes the fdtable lock, then
 * lockfs (the filesystem pins the pages and says where they are), then
 * mman (the arena maps them).  Once a process has mapped a ramfs file,
 * every memory call that can unmap takes lockfs before mman
 * (vfs_mman_enter), and the pages it unmapped are unpinned after mman is
 * released, still under lockfs.
 *
 * locking=legacy rebuilds the seed's flows instead: mmap takes lockfs
 * and then the fdtable lock (lockfs -> fdtable, inverted), and memory
 * calls take no lockfs up front; the ones that unmap or flush file
 * mappings take it inside mman.lock (mman -> lockfs, inverted) through
 * the hooks below, which also unpin.
 *
 * The part of a mapping beyond the end of the file is a shared mapping
 * of an empty memfd, so that touching it raises SIGBUS as the kernel's
 * would.
 *
 * Shared state: vfs_maps_made (atomic, only ever set) and eof_fd
 * (written once under fdt_lock + lockfs by the first mmap, read after).
 */
#include <errno.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mman/mman.h"
#include "shim/options.h"
#include "vfs/ramfs.h"
#include "vfs/vfs_int.h"

static _Atomic int vfs_maps_made;
static _Atomic int eof_fd = -1;

#define VFS_MAP_PIECES 64

static int get_eof_fd(void)
{
	int fd = atomic_load(&eof_fd);
	if (fd >= 0)
		return fd;
	long r = syscall(SYS_memfd_create, "vadshim-eof", MFD_CLOEXEC);
	if (r < 0)
		return -errno;
	long hi = syscall(SYS_fcntl, r, F_DUPFD_CLOEXEC, 900);
	if (hi >= 0) {
		syscall(SYS_close, r);
		r = hi;
	}
	atomic_store(&eof_fd, (int)r);
	return (int)r;
}

int vfs_eof_fd(void)
{
	return atomic_load(&eof_fd);
}

bool vfs_fd_is_eof(int fd)
{
	return fd >= 0 && fd == atomic_load(&eof_fd);
}

/* Unpin what the last memory call of this thread unmapped. */
static void apply_pin_deltas(void)
{
	struct mman_pin_delta d[MMAN_PIN_DELTAS];
	int n = mman_take_pin_deltas(d);
	for (int i = 0; i < n; i++)
		if (d[i].pages < 0 && vfs.nmounts)
			vfs.mounts[0].ops->unpin(&vfs.mounts[0], d[i].obj, 0,
						 (uint64_t)-d[i].pages << MMAN_PAGE_SHIFT);
}

bool vfs_mman_enter(void)
{
	if (!atomic_load_explicit(&vfs_maps_made, memory_order_relaxed))
		return false;
	if (shim_opt.locking_legacy)
		return false;   /* the seed takes lockfs later, inside mman */
	fs_lock();
	return true;
}

/* locking=legacy: mman's way into the filesystem, mman.lock held. */
static void legacy_fs_enter(void)
{
	fs_lock();
}

static void legacy_fs_leave(void)
{
	apply_pin_deltas();
	fs_unlock();
}

void vfs_map_legacy_init(void)
{
	mman_legacy_fs.enter = legacy_fs_enter;
	mman_legacy_fs.leave = legacy_fs_leave;
}

void vfs_mman_leave(bool entered)
{
	if (!entered)
		return;
	apply_pin_deltas();
	fs_unlock();
}

/* Map the eof mapping over [a, a+len) (fixed unless a is 0) and the
 * pieces over it; obj = node for all of it, so unmapping any part unpins
 * it.  mman.lock held (recursive).  Returns the address or -errno. */
static long map_pieces(uintptr_t a, size_t len, int prot, int flags, uint64_t off,
		       const struct vfs_map_piece *pcs, int n, vfs_node node, int efd)
{
	mman_file_obj = node;
	long r = mman_sys_mmap((void *)a, len, prot, flags & ~MAP_POPULATE, efd, 0);
	if (r < 0 && r > -4096) {
		mman_file_obj = 0;
		return r;
	}
	uintptr_t at = (uintptr_t)r;
	int pflags = (flags & ~(MAP_FIXED_NOREPLACE | MAP_POPULATE)) | MAP_FIXED;
	for (int i = 0; i < n; i++) {
		long q = mman_sys_mmap((void *)(at + (pcs[i].file_off - off)), pcs[i].len, prot,
				       pflags, vfs_seg_fd(0), (off_t)pcs[i].seg_off);
		if (q < 0 && q > -4096) {
			mman_sys_munmap((void *)at, len);
			r = q;
			break;
		}
	}
	mman_file_obj = 0;
	return r;
}

static uint64_t pages_of(uint64_t len)
{
	return (len + MMAN_PAGE_MASK) >> MMAN_PAGE_SHIFT;
}

long vfs_sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (!len || (off & (off_t)MMAN_PAGE_MASK) || off < 0)
		return -EINVAL;
	if (len > ((size_t)1 << 47))
		return -ENOMEM;
	bool legacy = shim_opt.locking_legacy;
	if (legacy) {
		/* The seed before its fix: the file system first, then the
		 * fdtable to look the descriptor up (lockfs -> fdtable). */
		fs_lock();
		mman_legacy_delay();
		lk_lock(&vfs.fdt_lock);
	} else {
		lk_lock(&vfs.fdt_lock);
		fs_lock();
	}
	long r;
	vfs_ofd f = fd_ofd(fd);
	struct vfs_mount *m = fd_mount(fd);
	struct vfs_map_piece pcs[VFS_MAP_PIECES];
	vfs_node node = 0;
	int efd = get_eof_fd();
	/* ops->map pins every page of the range, inside EOF or not */
	int n = !f ? -EBADF : efd < 0 ? efd :
		m->ops->map(m, f, (uint64_t)off, len, prot, flags, pcs, VFS_MAP_PIECES, &node);
	if (n < 0) {
		r = n;
		goto out;
	}
	atomic_store(&vfs_maps_made, 1);
	lk_lock(&mman.lock);
	r = map_pieces((uintptr_t)addr, len, prot, flags, (uint64_t)off, pcs, n, node, efd);
	/* Adding the VADs counted their pages: the pins are ops->map's. */
	struct mman_pin_delta d[MMAN_PIN_DELTAS];
	mman_take_pin_deltas(d);
	lk_unlock(&mman.lock);
	if (r < 0 && r > -4096)
		m->ops->unpin(m, node, 0, pages_of(len) << MMAN_PAGE_SHIFT);
out:
	if (legacy) {
		lk_unlock(&vfs.fdt_lock);
		fs_unlock();
	} else {
		fs_unlock();
		lk_unlock(&vfs.fdt_lock);
	}
	return r;
}

/*
 * mremap that grows a ramfs mapping: the host would extend it over the
 * segment's next pages, which hold other data.  The old part keeps its
 * pages (a move keeps private copies); the new part is mapped from the
 * file's pieces like a fresh mmap.  Called with lockfs held
 * (vfs_mman_enter); 1 when it did not apply (not a ramfs mapping).
 */
static long grow_ramfs(uintptr_t old, size_t old_len, size_t new_len, int flags, uintptr_t na)
{
	struct vad v;
	if (!mman_vad_at(old, &v) || v.kind != VAD_FILE || !v.obj)
		return 1;
	struct vfs_mount *m = &vfs.mounts[0];
	uint64_t foff;
	if (v.fmap >= 0 && mman.fmaps[v.fmap].fd != vfs_seg_fd(0)) {
		/* the eof part: offset 0 of the empty file; where the file
		 * part would start is not known from it */
		return -EFAULT;
	}
	if (ramfs_file_off(m, v.obj, v.offset + (old - v.start), &foff) < 0)
		return -EFAULT;
	old_len = (old_len + MMAN_PAGE_MASK) & ~(size_t)MMAN_PAGE_MASK;
	new_len = (new_len + MMAN_PAGE_MASK) & ~(size_t)MMAN_PAGE_MASK;
	size_t add = new_len - old_len;
	struct vfs_map_piece pcs[VFS_MAP_PIECES];
	int n = ramfs_map_node(m, v.obj, foff + old_len, add, pcs, VFS_MAP_PIECES);
	if (n < 0)
		return n;
	int efd = get_eof_fd();
	int type = (int)(v.flags & MAP_TYPE);
	long r;
	lk_lock(&mman.lock);
	uintptr_t at = old;
	if (flags & MREMAP_FIXED) {
		r = mman_sys_mremap((void *)old, old_len, old_len, MREMAP_MAYMOVE | MREMAP_FIXED,
				    (void *)na);
		at = na;
	} else {
		/* in place if the range after it is free, else moved */
		r = map_pieces(old + old_len, add, (int)v.prot, type | MAP_FIXED_NOREPLACE,
			       foff + old_len, pcs, n, v.obj, efd);
		if (r >= 0 || r <= -4096) {
			r = (long)old;
			goto done;
		}
		if (!(flags & MREMAP_MAYMOVE)) {
			r = -ENOMEM;
			goto done;
		}
		long res = mman_sys_mmap(NULL, new_len, PROT_NONE,
					 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (res < 0 && res > -4096) {
			r = res;
			goto done;
		}
		at = (uintptr_t)res;
		r = mman_sys_mremap((void *)old, old_len, old_len, MREMAP_MAYMOVE | MREMAP_FIXED,
				    (void *)at);
		if (r < 0 && r > -4096)
			mman_sys_munmap((void *)at, new_len);
	}
	if (r >= 0 || r <= -4096) {
		r = map_pieces(at + old_len, add, (int)v.prot, type | MAP_FIXED, foff + old_len,
			       pcs, n, v.obj, efd);
		if (r >= 0 || r <= -4096)
			r = (long)at;
	}
done:;
	/* The new part's pins are ramfs_map_node's; a failure unpins it. */
	struct mman_pin_delta d[MMAN_PIN_DELTAS];
	mman_take_pin_deltas(d);
	lk_unlock(&mman.lock);
	if (r < 0 && r > -4096)
		m->ops->unpin(m, v.obj, 0, add);
	return r;
}

long vfs_sys_mremap(void *old, size_t old_len, size_t new_len, int flags, void *na)
{
	if (!atomic_load_explicit(&vfs_maps_made, memory_order_relaxed) || !old_len ||
	    new_len <= old_len || (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED)) ||
	    ((uintptr_t)old & MMAN_PAGE_MASK) || !mman_range_has_obj((uintptr_t)old, old_len))
		return VFS_PASS;
	if ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE))
		return -EINVAL;
	/* Under locking=legacy no lockfs was taken before (vfs_mman_enter):
	 * growing takes it here, before mman, as the seed's mmap path did. */
	bool legacy = shim_opt.locking_legacy;
	if (legacy)
		fs_lock();
	long r = grow_ramfs((uintptr_t)old, old_len, new_len, flags, (uintptr_t)na);
	if (legacy) {
		apply_pin_deltas();
		fs_unlock();
	}
	return r == 1 ? VFS_PASS : r;
}

/* fork: the child's mappings of ramfs files are new users of the pages. */
struct fork_pins {
	int n;
	struct mman_pin_delta d[256];
};

static void collect_pin(uint32_t obj, size_t pages, void *arg)
{
	struct fork_pins *fp = arg;
	for (int i = 0; i < fp->n; i++)
		if (fp->d[i].obj == obj) {
			fp->d[i].pages += (long)pages;
			return;
		}
	if (fp->n < 256) {
		fp->d[fp->n].obj = obj;
		fp->d[fp->n++].pages = (long)pages;
	}
}

void vfs_map_fork_child(void)
{
	if (!atomic_load(&vfs_maps_made) || !vfs.nmounts)
		return;
	static struct fork_pins fp;     /* the child has one thread here */
	fp.n = 0;
	mman_for_each_obj(collect_pin, &fp);
	for (int i = 0; i < fp.n; i++)
		ramfs_pin_node(&vfs.mounts[0], fp.d[i].obj, (uint64_t)fp.d[i].pages);
}
