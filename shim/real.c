/*
 * real: the next definitions of the interposed functions.
 *
 * shim_real is written once by shim_real_init() (from the shim's
 * constructor, before the program's main and so before any thread the
 * program makes) and read-only afterwards: no lock.  Until it is written,
 * host_* fall back to raw system calls, which covers constructors of
 * other libraries that run before ours.
 */
#include "shim/real.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

struct shim_real shim_real;

#define RESOLVE(name) \
	(shim_real.name = (__typeof__(shim_real.name))dlsym(RTLD_NEXT, #name))

void shim_real_init(void)
{
	if (shim_real.mmap)
		return;
	RESOLVE(munmap);
	RESOLVE(mremap);
	RESOLVE(mprotect);
	RESOLVE(pkey_mprotect);
	RESOLVE(msync);
	RESOLVE(madvise);
	RESOLVE(posix_madvise);
	RESOLVE(mlock);
	RESOLVE(mlock2);
	RESOLVE(munlock);
	RESOLVE(mlockall);
	RESOLVE(munlockall);
	RESOLVE(mincore);
	/* mmap last: it is the "resolved" flag. */
	RESOLVE(mmap);
}


void *host_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (shim_real.mmap)
		return shim_real.mmap(addr, len, prot, flags, fd, off);
	long r = syscall(SYS_mmap, addr, len, prot, flags, fd, off);
	return (void *)r;  /* syscall() already set errno and returned -1 */
}

int host_munmap(void *addr, size_t len)
{
	if (shim_real.munmap)
		return shim_real.munmap(addr, len);
	return (int)syscall(SYS_munmap, addr, len);
}

void *host_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr)
{
	if (shim_real.mremap)
		return shim_real.mremap(old, old_len, new_len, flags, new_addr);
	return (void *)syscall(SYS_mremap, old, old_len, new_len, flags, new_addr);
}

int host_mprotect(void *addr, size_t len, int prot)
{
	if (shim_real.mprotect)
		return shim_real.mprotect(addr, len, prot);
	return (int)syscall(SYS_mprotect, addr, len, prot);
}

int host_msync(void *addr, size_t len, int flags)
{
	if (shim_real.msync)
		return shim_real.msync(addr, len, flags);
	return (int)syscall(SYS_msync, addr, len, flags);
}

int host_madvise(void *addr, size_t len, int advice)
{
	if (shim_real.madvise)
		return shim_real.madvise(addr, len, advice);
	return (int)syscall(SYS_madvise, addr, len, advice);
}

int host_mlock(const void *addr, size_t len)
{
	if (shim_real.mlock)
		return shim_real.mlock(addr, len);
	return (int)syscall(SYS_mlock, addr, len);
}

int host_mlock2(const void *addr, size_t len, unsigned int flags)
{
	if (shim_real.mlock2)
		return shim_real.mlock2(addr, len, flags);
	return (int)syscall(SYS_mlock2, addr, len, flags);
}

int host_munlock(const void *addr, size_t len)
{
	if (shim_real.munlock)
		return shim_real.munlock(addr, len);
	return (int)syscall(SYS_munlock, addr, len);
}

int host_mincore(void *addr, size_t len, unsigned char *vec)
{
	if (shim_real.mincore)
		return shim_real.mincore(addr, len, vec);
	return (int)syscall(SYS_mincore, addr, len, vec);
}


/* Lazily resolved file-family functions (shim/real_fs.h).  A missing
 * symbol is fatal: the wrapper could only guess an answer. */
void *shim_real_resolve(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);
	if (!p) {
		static const char msg[] = "==vadshim== cannot resolve a libc function: ";
		syscall(SYS_write, 2, msg, sizeof msg - 1);
		size_t n = 0;
		while (name[n])
			n++;
		syscall(SYS_write, 2, name, n);
		syscall(SYS_write, 2, "\n", 1);
		_exit(127);
	}
	return p;
}
