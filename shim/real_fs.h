/*
 * real_fs: the next definitions (dlsym RTLD_NEXT) of the file-family
 * functions the shim interposes, resolved lazily on first use.
 *
 * SHIM_REAL(name) evaluates to a pointer of the same type as the libc
 * function `name`.  Each pointer is written once (racing threads store
 * the same value; the store is atomic) and read-only after: no lock.
 * Wrappers of one family declare the pointers they need with
 * SHIM_REAL_DECL(name) at file scope.
 */
#ifndef VADSHIM_REAL_FS_H
#define VADSHIM_REAL_FS_H

#include <dlfcn.h>
#include <stdatomic.h>

void *shim_real_resolve(const char *name);

#define SHIM_REAL_DECL(name) \
	static __typeof__(&name) _Atomic shim_real_##name##_p

#define SHIM_REAL(name)                                                          \
	({                                                                       \
		__typeof__(&name) p_ = atomic_load_explicit(&shim_real_##name##_p, \
							    memory_order_relaxed); \
		if (__builtin_expect(!p_, 0)) {                                  \
			p_ = (__typeof__(&name))shim_real_resolve(#name);        \
			atomic_store_explicit(&shim_real_##name##_p, p_,          \
					      memory_order_relaxed);             \
		}                                                                \
		p_;                                                              \
	})

#endif
