/*
 * glob and glob64 for patterns that may reach a mount.
 *
 * glibc's glob reads directories with its internal opendir/readdir and
 * stats with its internal lstat/stat, unless the caller passes
 * GLOB_ALTDIRFUNC with functions of its own.  So for a pattern that may
 * touch a mount (the cwd is inside one, the pattern names a mount prefix
 * or a path the vfs may own, or it starts with a "~" that GLOB_TILDE
 * expands) glibc's glob is called with
 * GLOB_ALTDIRFUNC and the shim's opendir/readdir/closedir/lstat/stat,
 * which serve host directories as glibc would.  Everything else, and any
 * caller that brings its own GLOB_ALTDIRFUNC, goes to glibc unchanged.
 * The caller's glob_t keeps the flag and the function pointers set
 * afterwards (globfree ignores them).
 *
 * No shared state (vfs.mounts[] is read-only after init).
 */
#undef _FILE_OFFSET_BITS
#undef _FORTIFY_SOURCE
#include <dirent.h>
#include <glob.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include "shim/real_fs.h"
#include "shim/shim.h"
#include "vfs/vfs.h"
#include "vfs/vfs_sys.h"

SHIM_REAL_DECL(glob);
SHIM_REAL_DECL(glob64);

/* GLOB_ALTDIRFUNC's signatures over the shim's directory streams. */
static void *glob_opendir(const char *path)
{
	return opendir(path);
}

static struct dirent *glob_readdir(void *d)
{
	return readdir(d);
}

static struct dirent64 *glob_readdir64(void *d)
{
	return readdir64(d);
}

static void glob_closedir(void *d)
{
	closedir(d);
}

static bool glob_ours(const char *pat, int flags)
{
	if (vfs_cwd_mine() || vfs_path_maybe_mine(pat))
		return true;
	/* "~" may expand to a home under a mount: glibc's own functions
	 * serve host directories anyway, so any tilde pattern takes them. */
	if ((flags & (GLOB_TILDE | GLOB_TILDE_CHECK)) && strchr(pat, '~'))
		return true;
	for (int i = 0; i < vfs.nmounts; i++)
		if (vfs.mounts[i].prefix_len && strstr(pat, vfs.mounts[i].prefix))
			return true;
	return false;
}

SHIM_EXPORT int glob(const char *pat, int flags, int (*errfunc)(const char *, int),
		     glob_t *g)
{
	if ((flags & GLOB_ALTDIRFUNC) || !glob_ours(pat, flags))
		return SHIM_REAL(glob)(pat, flags, errfunc, g);
	g->gl_opendir = glob_opendir;
	g->gl_readdir = glob_readdir;
	g->gl_closedir = glob_closedir;
	g->gl_lstat = lstat;
	g->gl_stat = stat;
	return SHIM_REAL(glob)(pat, flags | GLOB_ALTDIRFUNC, errfunc, g);
}

SHIM_EXPORT int glob64(const char *pat, int flags, int (*errfunc)(const char *, int),
		       glob64_t *g)
{
	if ((flags & GLOB_ALTDIRFUNC) || !glob_ours(pat, flags))
		return SHIM_REAL(glob64)(pat, flags, errfunc, g);
	g->gl_opendir = glob_opendir;
	g->gl_readdir = glob_readdir64;
	g->gl_closedir = glob_closedir;
	g->gl_lstat = lstat64;
	g->gl_stat = stat64;
	return SHIM_REAL(glob64)(pat, flags | GLOB_ALTDIRFUNC, errfunc, g);
}
