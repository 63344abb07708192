/*
 * wrap_dir: the shim's own directory streams for mounted filesystems
 * (shim/wrap_dir.c).  No shared state here.
 */
#ifndef VADSHIM_WRAP_DIR_H
#define VADSHIM_WRAP_DIR_H

/* The shim's stream behind a DIR pointer, or NULL for glibc's DIRs. */
struct shim_dir;
struct shim_dir *shim_dir_of(void *dirp);

#endif
