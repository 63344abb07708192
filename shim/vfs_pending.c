/*
 * vfs_pending — TEMPORARY weak stand-ins for the vfs entry points that the
 * stdio/dir/tmp/misc wrappers call, so that branch `stdio` builds and runs
 * (everything passes through to the host) before vfs/vfs.c and
 * vfs/vfs_sys.c are merged.  The real (strong) definitions replace these
 * at link time; this file is deleted once they are merged.
 *
 * For testing the wrappers before the ramfs exists (this file only):
 *   VADSHIM_PENDING_ALL=1  every path is "maybe ours": the re-implemented
 *                          functions (realpath, nftw, glob with
 *                          GLOB_ALTDIRFUNC, scandir, the temp family) run
 *                          on host paths, to be compared with glibc's;
 *   VADSHIM_PENDING_ALL=2  also every descriptor 0..1023 counts as ours,
 *                          served by the host's system calls: the shim's
 *                          own DIR and FILE streams run on host files
 *                          (and shim_stdio_init rewires the std streams).
 * No shared state beyond the stand-in `vfs`, written in the constructor.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vfs/vfs.h"
#include "vfs/vfs_sys.h"

void shim_stdio_init(void);

__attribute__((weak)) struct vfs vfs;

static int pending_mode(void)
{
	const char *e = getenv("VADSHIM_PENDING_ALL");
	return e ? atoi(e) : 0;
}

__attribute__((weak)) bool vfs_path_maybe_mine(const char *path)
{
	(void)path;
	return pending_mode() >= 1;
}

__attribute__((weak)) bool vfs_cwd_mine(void)
{
	return false;
}

__attribute__((weak)) long vfs_sys_getdents64(int fd, void *buf, size_t len)
{
	if (pending_mode() < 2)
		return -EBADF;
	long r = syscall(SYS_getdents64, fd, buf, len);
	return r < 0 ? -errno : r;
}

__attribute__((weak)) long vfs_sys_lseek(int fd, off_t off, int whence)
{
	if (pending_mode() < 2)
		return -EBADF;
	long r = syscall(SYS_lseek, fd, off, whence);
	return r < 0 ? -errno : r;
}

__attribute__((weak)) void vfs_pending_init(void);
__attribute__((constructor(200), weak)) void vfs_pending_init(void)
{
	if (pending_mode() < 2)
		return;
	for (int fd = 0; fd < 1024; fd++)
		atomic_store(&vfs.fdt[fd].ofd, 1);
	shim_stdio_init();
}
