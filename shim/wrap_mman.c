/*
 * Wrappers of the mmap family.  Each one translates a libc call into a
 * syscall-layer handler (mman/mman_sys.c) and errno; no logic lives here.
 * No shared state.
 */
/* Both mmap and mmap64 are defined here: keep the headers from renaming
 * one into the other. */
#undef _FILE_OFFSET_BITS
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/mman.h>

#include "mman/mman.h"
#include "shim/lk_app.h"
#include "shim/real.h"
#include "shim/shim.h"
#include "vfs/vfs_sys.h"

/*
 * Once the process has mapped a ramfs file, calls that can unmap take
 * lockfs before mman (vfs_mman_enter), as the fixed design orders it.
 */
#define MMAN_CALL(call)                                  \
	({                                               \
		bool in_ = vfs_mman_enter();             \
		long r_ = (call);                        \
		vfs_mman_leave(in_);                     \
		r_;                                      \
	})

SHIM_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (!(flags & MAP_ANONYMOUS) && vfs_fd_mine(fd))
		return (void *)shim_ret(vfs_sys_mmap(addr, len, prot, flags, fd, off));
	return (void *)shim_ret(MMAN_CALL(mman_sys_mmap(addr, len, prot, flags, fd, off)));
}

SHIM_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return mmap(addr, len, prot, flags, fd, off);
}

SHIM_EXPORT int munmap(void *addr, size_t len)
{
	long r = MMAN_CALL(mman_sys_munmap(addr, len));

	if (r == 0 && lk_app_on)        /* lockdep=app: locks in the range are gone */
		lk_app_forget_range(addr, len);
	return (int)shim_ret(r);
}

SHIM_EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	void *new_addr = NULL;
	/* glibc reads the fifth argument for MREMAP_FIXED and, since 2.32,
	 * for MREMAP_DONTUNMAP (where it is a hint). */
	if (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) {
		va_list ap;
		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	bool in = vfs_mman_enter();
	/* vfs_sys_mremap passes at once unless a ramfs file was ever mapped;
	 * under locking=legacy it takes lockfs itself (in is false). */
	long r = vfs_sys_mremap(old, old_len, new_len, flags, new_addr);
	if (r == VFS_PASS)
		r = mman_sys_mremap(old, old_len, new_len, flags, new_addr);
	vfs_mman_leave(in);
	return (void *)shim_ret(r);
}

SHIM_EXPORT int mprotect(void *addr, size_t len, int prot)
{
	return (int)shim_ret(MMAN_CALL(mman_sys_mprotect(addr, len, prot, -1)));
}

SHIM_EXPORT int pkey_mprotect(void *addr, size_t len, int prot, int pkey)
{
	return (int)shim_ret(MMAN_CALL(mman_sys_mprotect(addr, len, prot, pkey)));
}

SHIM_EXPORT int msync(void *addr, size_t len, int flags)
{
	return (int)shim_ret(mman_sys_msync(addr, len, flags));
}

SHIM_EXPORT int madvise(void *addr, size_t len, int advice)
{
	return (int)shim_ret(MMAN_CALL(mman_sys_madvise(addr, len, advice)));
}

SHIM_EXPORT int posix_madvise(void *addr, size_t len, int advice)
{
	/* glibc ignores POSIX_MADV_DONTNEED: it may discard data, which
	 * POSIX does not allow for this advice. */
	if (advice == POSIX_MADV_DONTNEED)
		return 0;
	int saved = errno;
	long r = MMAN_CALL(mman_sys_madvise(addr, len, advice));
	errno = saved;   /* posix_madvise returns the error, errno untouched */
	return r < 0 ? (int)-r : 0;
}

SHIM_EXPORT int mlock(const void *addr, size_t len)
{
	return (int)shim_ret(MMAN_CALL(mman_sys_mlock(addr, len, MMAN_MLOCK, 0)));
}

SHIM_EXPORT int mlock2(const void *addr, size_t len, unsigned int flags)
{
	return (int)shim_ret(MMAN_CALL(mman_sys_mlock(addr, len, MMAN_MLOCK2, flags)));
}

SHIM_EXPORT int munlock(const void *addr, size_t len)
{
	return (int)shim_ret(MMAN_CALL(mman_sys_mlock(addr, len, MMAN_MUNLOCK, 0)));
}

/* mlockall and munlockall act on the whole address space: the host's. */
SHIM_EXPORT int mlockall(int flags)
{
	shim_real_init();
	return shim_real.mlockall(flags);
}

SHIM_EXPORT int munlockall(void)
{
	shim_real_init();
	return shim_real.munlockall();
}

SHIM_EXPORT int mincore(void *addr, size_t len, unsigned char *vec)
{
	return (int)shim_ret(mman_sys_mincore(addr, len, vec));
}
