/*
 * real: the next definitions (dlsym RTLD_NEXT) of every function the shim
 * interposes, so that the arena's host calls go through whatever comes
 * after the shim in symbol order (libc, or a sanitizer runtime whose
 * interceptors must see every range mapped and unmapped).
 *
 * Resolved once in shim_real_init(); before that (calls from constructors
 * that run before ours) the accessors fall back to raw system calls.
 * The pointers are written once, before any other thread can exist in
 * the shim, and read-only after: no lock.
 */
#ifndef VADSHIM_REAL_H
#define VADSHIM_REAL_H

#include <stddef.h>
#include <sys/types.h>

struct shim_real {
	void *(*mmap)(void *, size_t, int, int, int, off_t);
	int (*munmap)(void *, size_t);
	void *(*mremap)(void *, size_t, size_t, int, ...);
	int (*mprotect)(void *, size_t, int);
	int (*pkey_mprotect)(void *, size_t, int, int);
	int (*msync)(void *, size_t, int);
	int (*madvise)(void *, size_t, int);
	int (*posix_madvise)(void *, size_t, int);
	int (*mlock)(const void *, size_t);
	int (*mlock2)(const void *, size_t, unsigned int);
	int (*munlock)(const void *, size_t);
	int (*mlockall)(int);
	int (*munlockall)(void);
	int (*mincore)(void *, size_t, unsigned char *);
};

extern struct shim_real shim_real;

void shim_real_init(void);

/*
 * Host calls used by the arena.  They return the kernel's result: a
 * pointer or MAP_FAILED / -1 with errno set, like the libc functions.
 */
void *host_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int host_munmap(void *addr, size_t len);
void *host_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr);
int host_mprotect(void *addr, size_t len, int prot);
int host_msync(void *addr, size_t len, int flags);
int host_madvise(void *addr, size_t len, int advice);
int host_mlock(const void *addr, size_t len);
int host_mlock2(const void *addr, size_t len, unsigned int flags);
int host_munlock(const void *addr, size_t len);
int host_mincore(void *addr, size_t len, unsigned char *vec);

#endif
