/*
 * wrap_stdio: stdio streams over descriptors of mounted filesystems
 * (shim/wrap_stdio.c).  The two hooks below are the contract with the
 * descriptor wrappers (shim/wrap_file.c) and the shim's constructor.
 */
#ifndef VADSHIM_WRAP_STDIO_H
#define VADSHIM_WRAP_STDIO_H

/*
 * Called once by the shim's constructor after vfs_init has adopted the
 * descriptors handed over by exec: each of stdin/stdout/stderr whose
 * descriptor is ours becomes a stream of the shim over that descriptor
 * (stdout fully buffered, stderr unbuffered, as glibc does for a file).
 */
void shim_stdio_init(void);

/*
 * Called by dup2/dup3/close (and anything else that changes what
 * descriptor 0, 1 or 2 refers to) AFTER the change, with the descriptor:
 * when it became ours, the std stream of that number is rewired to a shim
 * stream (buffered output carried over); when it is the host's again,
 * glibc's original stream comes back.  Any fd other than 0..2 is ignored.
 * Never call it with a shim lock held (it may flush a stream).
 */
void shim_stdio_fd_changed(int fd);

/* For the shim's other wrappers (tmpfile): a stream over fd in a fopen
 * mode, the shim's own when fd is ours, glibc's otherwise.  NULL + errno. */
#include <stdio.h>
#include <wchar.h>
FILE *shim_stream_fdopen(int fd, const char *mode);

/* The wide-character state of a shim stream (shim/wrap_wstdio.c), or
 * NULL when fp is not one of the shim's streams.  Guarded by the FILE's
 * lock. */
struct shim_wide {
	int orient;             /* fwide(): 0 undecided, 1 wide, -1 bytes */
	mbstate_t in, out;      /* conversion states of reads and writes */
};
struct shim_wide *shim_stream_wide(FILE *fp);

#endif
