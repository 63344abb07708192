/*
 * The preload boundary: helpers shared by the wrapper families.
 * No shared state here.
 */
#ifndef VADSHIM_SHIM_H
#define VADSHIM_SHIM_H

#include <errno.h>

#define SHIM_EXPORT __attribute__((visibility("default")))

/* Turn a handler's >= 0 / -errno result into the libc convention. */
static inline long shim_ret(long r)
{
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

void shim_init(void);

/* libc headers declare many pointer arguments nonnull, but a wrapper must
 * give the kernel's answer (EFAULT, ENOENT) to a NULL: hide the pointer
 * from the compiler's nonnull reasoning before testing it. */
#define SHIM_LAUNDER(p) ({ __typeof__(p) q_ = (p); __asm__("" : "+r"(q_)); q_; })

#endif
