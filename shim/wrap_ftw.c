/*
 * ftw, nftw (and their 64 twins) re-implemented over the shim's opendir,
 * readdir, stat, lstat and chdir, for trees that may lie under a mount;
 * other trees go to glibc unchanged.
 *
 * glibc's walk uses its internal opendir/getdents/fstatat, which
 * LD_PRELOAD cannot reach.  This walk follows glibc's rules (ftw.c as
 * documented and as it behaves):
 *   - the start: "" is ENOENT, trailing slashes are dropped, ftw.base is
 *     the offset of the last component; if the start cannot be stat'ed,
 *     -1 without a call (FTW_SLN for a dangling link when following);
 *   - each entry is stat'ed (lstat with FTW_PHYS); EACCES/ENOENT give
 *     FTW_NS (FTW_SLN for a dangling link without FTW_PHYS), any other
 *     error ends the walk with -1;
 *   - a directory that cannot be opened gives FTW_DNR for EACCES, else
 *     -1; directories are reported before their entries (FTW_D), or
 *     after them (FTW_DP) with FTW_DEPTH; without FTW_PHYS a directory
 *     already visited (same device and inode) is skipped silently;
 *   - FTW_MOUNT skips entries on another device (except FTW_NS ones);
 *   - FTW_CHDIR: the callback runs in the directory that holds the
 *     entry (in the directory itself for FTW_DP); the cwd is restored at
 *     the end;
 *   - a non-zero callback result ends the walk and is returned; with
 *     FTW_ACTIONRETVAL, FTW_SKIP_SUBTREE and FTW_SKIP_SIBLINGS steer it
 *     and FTW_STOP ends it;
 *   - ftw() reports FTW_SL as FTW_F, FTW_DP as FTW_D, FTW_SLN as FTW_NS.
 * Entries are taken in readdir order.  A directory is read whole before
 * its entries are visited (as glibc does once nopenfd streams are open),
 * so nopenfd bounds nothing here.
 *
 * No shared state: the walk's state is per call.
 */
#undef _FILE_OFFSET_BITS
#undef _FORTIFY_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <search.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim/real_fs.h"
#include "shim/shim.h"
#include "vfs/vfs.h"

#define WALK_FLAGS (FTW_PHYS | FTW_MOUNT | FTW_CHDIR | FTW_DEPTH | FTW_ACTIONRETVAL)

typedef int (*walk_nfn)(const char *, const struct stat *, int, struct FTW *);
typedef int (*walk_ofn)(const char *, const struct stat *, int);

struct walk {
	int flags;
	walk_nfn nfn;           /* nftw's callback, or NULL */
	walk_ofn ofn;           /* ftw's callback */
	char *path;             /* the current object's name, as the caller sees it */
	size_t cap;
	struct FTW ftw;
	dev_t dev;              /* the start's device, for FTW_MOUNT */
	void *seen;             /* tsearch tree of visited directories */
};

struct walk_id {
	dev_t dev;
	ino_t ino;
};

SHIM_REAL_DECL(ftw);
SHIM_REAL_DECL(ftw64);
SHIM_REAL_DECL(nftw);
SHIM_REAL_DECL(nftw64);

static int walk_call(struct walk *w, const struct stat *st, int flag)
{
	if (w->nfn)
		return w->nfn(w->path, st, flag, &w->ftw);
	if (flag == FTW_SL)
		flag = FTW_F;
	else if (flag == FTW_DP)
		flag = FTW_D;
	else if (flag == FTW_SLN)
		flag = FTW_NS;
	return w->ofn(w->path, st, flag);
}

static int walk_id_cmp(const void *a, const void *b)
{
	const struct walk_id *x = a, *y = b;
	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return 0;
}

static bool walk_seen(struct walk *w, const struct stat *st)
{
	struct walk_id id = { st->st_dev, st->st_ino };
	return tfind(&id, &w->seen, walk_id_cmp) != NULL;
}

static int walk_remember(struct walk *w, const struct stat *st)
{
	struct walk_id *id = malloc(sizeof *id);
	if (!id)
		return -1;
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	if (!tsearch(id, &w->seen, walk_id_cmp)) {
		free(id);
		return -1;
	}
	return 0;
}

/* Room in w->path for len bytes and a NUL. */
static int walk_room(struct walk *w, size_t len)
{
	if (len < w->cap)
		return 0;
	size_t ncap = w->cap * 2 > len + 1 ? w->cap * 2 : len + 256;
	char *p = realloc(w->path, ncap);
	if (!p)
		return -1;
	w->path = p;
	w->cap = ncap;
	return 0;
}

/* All entries of an open stream but "." and "..", in readdir order. */
static char **walk_read(DIR *d, size_t *count)
{
	char **v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			char **nv = realloc(v, cap * sizeof *nv);
			if (!nv)
				goto nomem;
			v = nv;
		}
		if (!(v[n] = strdup(e->d_name)))
			goto nomem;
		n++;
	}
	*count = n;
	return v ? v : calloc(1, sizeof *v);
nomem:
	while (n)
		free(v[--n]);
	free(v);
	return NULL;
}

static int walk_entry(struct walk *w, const char *name, size_t base, DIR *here);

/*
 * A directory: w->path names it, oname is the name to open (relative to
 * the cwd under FTW_CHDIR), parent is the stream to return to (NULL at
 * the start: the cwd is restored by the caller then).
 */
static int walk_dir(struct walk *w, const struct stat *st, const char *oname, DIR *parent)
{
	int result = 0, e;
	DIR *d = opendir(oname);
	if (!d)
		return errno == EACCES ? walk_call(w, st, FTW_DNR) : -1;
	if (!(w->flags & FTW_DEPTH)) {
		result = walk_call(w, st, FTW_D);
		if (result != 0)
			goto out;
	}
	if ((w->flags & FTW_CHDIR) && fchdir(dirfd(d)) < 0) {
		result = -1;
		goto out;
	}
	size_t n;
	char **names = walk_read(d, &n);
	if (!names) {
		result = -1;
		goto out;
	}
	if (!(w->flags & FTW_CHDIR)) {
		closedir(d);
		d = NULL;
	}

	size_t len = strlen(w->path), plen = len;
	int prev_base = w->ftw.base;
	if (walk_room(w, len + 1) < 0) {
		result = -1;
	} else {
		if (w->path[len - 1] != '/')
			w->path[plen++] = '/';
		w->path[plen] = '\0';
		w->ftw.base = (int)plen;
		w->ftw.level++;
		for (size_t i = 0; i < n && result == 0; i++)
			result = walk_entry(w, names[i], plen, d);
		if ((w->flags & FTW_ACTIONRETVAL) && result == FTW_SKIP_SIBLINGS)
			result = 0;
		w->path[len] = '\0';
		w->ftw.level--;
		w->ftw.base = prev_base;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);

	if (result == 0 && (w->flags & FTW_DEPTH))
		result = walk_call(w, st, FTW_DP);
	if (parent && (w->flags & FTW_CHDIR) &&
	    (result == 0 || ((w->flags & FTW_ACTIONRETVAL) && result != -1 && result != FTW_STOP)) &&
	    fchdir(dirfd(parent)) < 0)
		result = -1;
out:
	e = errno;
	if (d)
		closedir(d);
	errno = e;
	return result;
}

/* Stat an object as the walk's flags say; fills *flag.  0, or -1 (an
 * error that ends the walk). */
static int walk_stat(struct walk *w, const char *sname, struct stat *st, int *flag)
{
	bool phys = w->flags & FTW_PHYS;
	if ((phys ? lstat(sname, st) : stat(sname, st)) < 0) {
		if (errno != EACCES && errno != ENOENT)
			return -1;
		*flag = FTW_NS;
		if (!phys && lstat(sname, st) == 0 && S_ISLNK(st->st_mode))
			*flag = FTW_SLN;
		return 0;
	}
	*flag = S_ISDIR(st->st_mode) ? FTW_D : S_ISLNK(st->st_mode) ? FTW_SL : FTW_F;
	return 0;
}

/* One entry, name, of the directory whose stream is here (open under
 * FTW_CHDIR only); w->path holds the directory's name up to base. */
static int walk_entry(struct walk *w, const char *name, size_t base, DIR *here)
{
	size_t nlen = strlen(name);
	if (walk_room(w, base + nlen) < 0)
		return -1;
	memcpy(w->path + base, name, nlen + 1);
	const char *sname = (w->flags & FTW_CHDIR) ? name : w->path;
	struct stat st;
	int flag, result = 0;
	memset(&st, 0, sizeof st);
	if (walk_stat(w, sname, &st, &flag) < 0)
		return -1;
	if (flag == FTW_NS || !(w->flags & FTW_MOUNT) || st.st_dev == w->dev) {
		if (flag == FTW_D) {
			if ((w->flags & FTW_PHYS) ||
			    (!walk_seen(w, &st) && (result = walk_remember(w, &st)) == 0))
				result = walk_dir(w, &st, sname, here);
		} else {
			result = walk_call(w, &st, flag);
		}
	}
	if ((w->flags & FTW_ACTIONRETVAL) && result == FTW_SKIP_SUBTREE)
		result = 0;
	return result;
}

/* The start of a walk (glibc's ftw_startup). */
static int walk_start(const char *dir, walk_nfn nfn, walk_ofn ofn, int flags)
{
	struct walk w = { .flags = flags, .nfn = nfn, .ofn = ofn };
	int result = 0, cwdfd = -1;
	char *cwd = NULL;

	if (flags & ~WALK_FLAGS) {
		errno = EINVAL;
		return -1;
	}
	if (!dir[0]) {
		errno = ENOENT;
		return -1;
	}
	size_t len = strlen(dir);
	if (walk_room(&w, len + 1) < 0)
		return -1;
	memcpy(w.path, dir, len + 1);
	while (len > 1 && w.path[len - 1] == '/')
		w.path[--len] = '\0';
	size_t base = len;
	while (base > 0 && w.path[base - 1] != '/')
		base--;
	w.ftw.base = (int)base;
	w.ftw.level = 0;

	if (flags & FTW_CHDIR) {
		cwdfd = open(".", O_RDONLY | O_DIRECTORY);
		if (cwdfd < 0) {
			/* An executable but unreadable cwd: remember its name. */
			if (errno == EACCES)
				cwd = getcwd(NULL, 0);
			if (!cwd) {
				free(w.path);
				return -1;
			}
		}
		if (base == 1) {
			result = chdir("/");
		} else if (base > 1) {
			char c = w.path[base - 1];
			w.path[base - 1] = '\0';
			result = chdir(w.path);
			w.path[base - 1] = c;
		}
	}

	if (result == 0) {
		const char *name = (flags & FTW_CHDIR) ? w.path + base : w.path;
		struct stat st;
		memset(&st, 0, sizeof st);
		bool phys = flags & FTW_PHYS;
		if ((phys ? lstat(name, &st) : stat(name, &st)) < 0) {
			if (!phys && errno == ENOENT && lstat(name, &st) == 0 && S_ISLNK(st.st_mode))
				result = walk_call(&w, &st, FTW_SLN);
			else
				result = -1;
		} else if (S_ISDIR(st.st_mode)) {
			w.dev = st.st_dev;
			if (!phys)
				result = walk_remember(&w, &st);
			if (result == 0)
				result = walk_dir(&w, &st, name, NULL);
		} else {
			result = walk_call(&w, &st, S_ISLNK(st.st_mode) ? FTW_SL : FTW_F);
		}
		if ((flags & FTW_ACTIONRETVAL) &&
		    (result == FTW_SKIP_SUBTREE || result == FTW_SKIP_SIBLINGS))
			result = 0;
	}

	int e = errno;
	if (cwdfd >= 0) {
		fchdir(cwdfd);
		close(cwdfd);
	} else if (cwd) {
		if (chdir(cwd) < 0)
			e = errno;
		free(cwd);
	}
	tdestroy(w.seen, free);
	free(w.path);
	errno = e;
	return result;
}

SHIM_EXPORT int nftw(const char *dir, walk_nfn fn, int nopenfd, int flags)
{
	if (!vfs_path_maybe_mine(dir))
		return SHIM_REAL(nftw)(dir, fn, nopenfd, flags);
	return walk_start(dir, fn, NULL, flags);
}

SHIM_EXPORT int nftw64(const char *dir,
		       int (*fn)(const char *, const struct stat64 *, int, struct FTW *),
		       int nopenfd, int flags)
{
	if (!vfs_path_maybe_mine(dir))
		return SHIM_REAL(nftw64)(dir, fn, nopenfd, flags);
	return walk_start(dir, (walk_nfn)fn, NULL, flags);
}

SHIM_EXPORT int ftw(const char *dir, walk_ofn fn, int nopenfd)
{
	if (!vfs_path_maybe_mine(dir))
		return SHIM_REAL(ftw)(dir, fn, nopenfd);
	return walk_start(dir, NULL, fn, 0);
}

SHIM_EXPORT int ftw64(const char *dir, int (*fn)(const char *, const struct stat64 *, int),
		      int nopenfd)
{
	if (!vfs_path_maybe_mine(dir))
		return SHIM_REAL(ftw64)(dir, fn, nopenfd);
	return walk_start(dir, NULL, (walk_ofn)fn, 0);
}
