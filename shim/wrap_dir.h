/*
 * wrap_dir: the shim's own directory streams for mounted filesystems
 * (shim/wrap_dir.c).  No shared state here.
 */
#ifndef VADSHIM_WRAP_DIR_H
#define VADSHIM_WRAP_DIR_H

/* The shim's stream behind a DIR pointer, or NULL for glibc's DIRs. */
struct shim_dir;
struct shim_dir *shim_dir_of(void *dirp);

/*
 * Register a leaf lock of the wrappers for fork (lk_fork_register) on
 * its first use, once: by then the shim's constructor has registered the
 * vfs and mman locks, and lk_fork_prepare takes locks in registration
 * order, so the leaf comes after them (registering it from a constructor
 * of its own ran before them).
 */
#include <stdatomic.h>
struct lk_lock;
void shim_fork_register_once(_Atomic int *done, struct lk_lock *l);

#endif
