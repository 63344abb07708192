/*
 * Directory streams (the DIR API and scandir) for mounted filesystems.
 *
 * glibc's opendir/readdir read through its internal __getdents64, which
 * LD_PRELOAD cannot reach, so a ramfs directory needs a stream of the
 * shim's own.  Host directories keep glibc's DIR untouched: every call on
 * a DIR that is not one of ours goes to the next definition, so host
 * behaviour is exactly glibc's.
 *
 * A shim DIR is a slot of the static table dirs.slot[]; a DIR pointer is
 * ours iff it points at the start of a slot in use.  glibc's DIRs come
 * from malloc and can never lie inside the table, so the test is exact
 * and lock-free.  The directory buffer itself is malloc'd (as glibc
 * does): a stream is only created on behalf of a program's call, after
 * the shim is initialised (vfs_fd_mine is false before).
 *
 * Lock order:
 *     shim_dir.lock   (one per stream, rank DIRSTREAM: above the fdtable,
 *                      because a refill calls vfs_sys_getdents64 under it)
 *       ... vfs locks (fdtable, lockfs, segment, mman)
 *     dirs.lock       (leaf: slot allocation only, never held across a call)
 *
 * Guards:
 *   slot.used                  dirs.lock for writes; read lock-free (atomic)
 *   slot.fd                    written before used is published, read-only after
 *   slot.pos, len, filepos, buf  slot.lock
 */
#undef _FILE_OFFSET_BITS
#undef _FORTIFY_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim/lk.h"
#include "shim/real_fs.h"
#include "shim/shim.h"
#include "shim/wrap_dir.h"
#include "vfs/vfs.h"
#include "vfs/vfs_sys.h"

/* On x86-64 (and every LP64 target glibc supports) the two records are
 * the same; readdir and readdir64 can hand out the same bytes. */
_Static_assert(sizeof(struct dirent) == sizeof(struct dirent64), "dirent64");
_Static_assert(offsetof(struct dirent, d_name) == offsetof(struct dirent64, d_name), "d_name");

#define SHIM_DIR_MAX 1024
#define SHIM_DIR_BUF 32768

struct shim_dir {
	_Atomic int used;
	int fd;
	struct lk_lock lock;
	size_t pos, len;        /* next record at buf + pos; valid bytes: len */
	long filepos;           /* d_off of the last record returned */
	char *buf;
};

static struct lk_class dirs_class = LK_CLASS_INIT("shim_dirs", LK_RANK_LEAF + 10, false);
/* Above the fdtable: taken before any vfs lock, by the program's call only. */
static struct lk_class dirstream_class =
	LK_CLASS_INIT("shim_dirstream", LK_RANK_FDTABLE - 10, false);

static struct {
	struct lk_lock lock;
	_Atomic int fork_registered;
	struct shim_dir slot[SHIM_DIR_MAX];
} dirs = { .lock = LK_LOCK_INIT(&dirs_class, "shim_dirs") };

SHIM_REAL_DECL(opendir);
SHIM_REAL_DECL(fdopendir);
SHIM_REAL_DECL(readdir);
SHIM_REAL_DECL(readdir64);
SHIM_REAL_DECL(closedir);
SHIM_REAL_DECL(rewinddir);
SHIM_REAL_DECL(seekdir);
SHIM_REAL_DECL(telldir);
SHIM_REAL_DECL(dirfd);
SHIM_REAL_DECL(scandir);
SHIM_REAL_DECL(scandir64);
SHIM_REAL_DECL(scandirat);
SHIM_REAL_DECL(scandirat64);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
SHIM_REAL_DECL(readdir_r);
SHIM_REAL_DECL(readdir64_r);
#pragma GCC diagnostic pop

void shim_fork_register_once(_Atomic int *done, struct lk_lock *l)
{
	if (!atomic_load_explicit(done, memory_order_acquire) && !atomic_exchange(done, 1))
		lk_fork_register(l);
}

struct shim_dir *shim_dir_of(void *d)
{
	uintptr_t p = (uintptr_t)d, lo = (uintptr_t)dirs.slot;
	if (p < lo || p >= lo + sizeof dirs.slot || (p - lo) % sizeof dirs.slot[0])
		return NULL;
	struct shim_dir *s = d;
	return atomic_load_explicit(&s->used, memory_order_acquire) ? s : NULL;
}

/* A stream over fd, which is ours and a directory.  NULL + errno. */
static DIR *dir_new(int fd)
{
	char *buf = malloc(SHIM_DIR_BUF);
	if (!buf)
		return NULL;
	struct shim_dir *s = NULL;
	shim_fork_register_once(&dirs.fork_registered, &dirs.lock);
	lk_lock(&dirs.lock);
	for (int i = 0; i < SHIM_DIR_MAX; i++) {
		if (!atomic_load_explicit(&dirs.slot[i].used, memory_order_relaxed)) {
			s = &dirs.slot[i];
			break;
		}
	}
	if (s) {
		lk_init(&s->lock, &dirstream_class, "shim_dirstream");
		s->fd = fd;
		s->pos = s->len = 0;
		s->filepos = 0;
		s->buf = buf;
		atomic_store_explicit(&s->used, 1, memory_order_release);
	}
	lk_unlock(&dirs.lock);
	if (!s) {
		free(buf);
		errno = EMFILE;
		return NULL;
	}
	return (DIR *)s;
}

static void dir_free(struct shim_dir *s)
{
	char *buf = s->buf;
	lk_lock(&dirs.lock);
	s->buf = NULL;
	s->fd = -1;
	atomic_store_explicit(&s->used, 0, memory_order_release);
	lk_unlock(&dirs.lock);
	free(buf);
}

/* fdopendir's checks, as glibc makes them: a directory, not write-only. */
static DIR *dir_from_fd(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return NULL;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return NULL;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return NULL;
	if ((fl & O_ACCMODE) == O_WRONLY) {
		errno = EINVAL;
		return NULL;
	}
	return dir_new(fd);
}

SHIM_EXPORT DIR *opendir(const char *path)
{
	if (!vfs_path_maybe_mine(path))
		return SHIM_REAL(opendir)(path);
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	/* The path may have left the mount (a symlink, ".."): glibc's own
	 * stream then, on the host descriptor we already hold. */
	DIR *d = vfs_fd_mine(fd) ? dir_new(fd) : SHIM_REAL(fdopendir)(fd);
	if (!d) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return d;
}

SHIM_EXPORT DIR *fdopendir(int fd)
{
	if (!vfs_fd_mine(fd))
		return SHIM_REAL(fdopendir)(fd);
	return dir_from_fd(fd);
}

/* The next record, or NULL at the end (errno untouched) or on error. */
static struct dirent64 *dir_next(struct shim_dir *s)
{
	struct dirent64 *d;
	lk_lock(&s->lock);
	do {
		if (s->pos >= s->len) {
			long n = vfs_sys_getdents64(s->fd, s->buf, SHIM_DIR_BUF);
			/* A directory removed while open reads as empty
			 * (POSIX); the end leaves errno alone. */
			if (n == -ENOENT)
				n = 0;
			if (n <= 0) {
				if (n < 0)
					errno = (int)-n;
				lk_unlock(&s->lock);
				return NULL;
			}
			s->len = (size_t)n;
			s->pos = 0;
		}
		d = (struct dirent64 *)(s->buf + s->pos);
		s->pos += d->d_reclen;
		s->filepos = d->d_off;
	} while (d->d_ino == 0);
	lk_unlock(&s->lock);
	return d;
}

SHIM_EXPORT struct dirent *readdir(DIR *dirp)
{
	struct shim_dir *s = shim_dir_of(dirp);
	if (!s)
		return SHIM_REAL(readdir)(dirp);
	return (struct dirent *)dir_next(s);
}

SHIM_EXPORT struct dirent64 *readdir64(DIR *dirp)
{
	struct shim_dir *s = shim_dir_of(dirp);
	if (!s)
		return SHIM_REAL(readdir64)(dirp);
	return dir_next(s);
}

/* readdir_r: the record copied out; 0 with *result NULL at the end. */
static int dir_next_r(struct shim_dir *s, struct dirent64 *entry, struct dirent64 **result)
{
	int saved = errno;
	errno = 0;
	struct dirent64 *d = dir_next(s);
	int e = errno;
	errno = saved;
	if (!d) {
		*result = NULL;
		return e;
	}
	size_t n = d->d_reclen < sizeof *entry ? d->d_reclen : sizeof *entry;
	memcpy(entry, d, n);
	entry->d_name[sizeof entry->d_name - 1] = '\0';
	*result = entry;
	return 0;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
SHIM_EXPORT int readdir_r(DIR *dirp, struct dirent *entry, struct dirent **result)
{
	struct shim_dir *s = shim_dir_of(dirp);
	if (!s)
		return SHIM_REAL(readdir_r)(dirp, entry, result);
	return dir_next_r(s, (struct dirent64 *)entry, (struct dirent64 **)result);
}

SHIM_EXPORT int readdir64_r(DIR *dirp, struct dirent64 *entry, struct dirent64 **result)
{
	struct shim_dir *s = shim_dir_of(dirp);
	if (!s)
		return SHIM_REAL(readdir64_r)(dirp, entry, result);
	return dir_next_r(s, entry, result);
}
#pragma GCC diagnostic pop

SHIM_EXPORT int closedir(DIR *dirp)
{
	struct shim_dir *s = shim_dir_of(dirp);
	if (!s)
		return SHIM_REAL(closedir)(dirp);
	int fd = s->fd;
	dir_free(s);
	return close(fd);
}

/* Position the stream at a d_off (0: the start) and drop the buffer; as
 * glibc, the position is taken even if the seek fails. */
static void dir_seek(struct shim_dir *s, long loc)
{
	lk_lock(&s->lock);
	long r = vfs_sys_lseek(s->fd, loc, SEEK_SET);
	if (r < 0)
		errno = (int)-r;
	s->pos = s->len = 0;
	s->filepos = loc;
	lk_unlock(&s->lock);
}

SHIM_EXPORT void rewinddir(DIR *dirp)
{
	struct shim_dir *s = shim_dir_of(dirp);
	if (!s) {
		SHIM_REAL(rewinddir)(dirp);
		return;
	}
	dir_seek(s, 0);
}

SHIM_EXPORT void seekdir(DIR *dirp, long loc)
{
	struct shim_dir *s = shim_dir_of(dirp);
	if (!s) {
		SHIM_REAL(seekdir)(dirp, loc);
		return;
	}
	dir_seek(s, loc);
}

SHIM_EXPORT long telldir(DIR *dirp)
{
	struct shim_dir *s = shim_dir_of(dirp);
	if (!s)
		return SHIM_REAL(telldir)(dirp);
	lk_lock(&s->lock);
	long r = s->filepos;
	lk_unlock(&s->lock);
	return r;
}

SHIM_EXPORT int dirfd(DIR *dirp)
{
	struct shim_dir *s = shim_dir_of(dirp);
	if (!s)
		return SHIM_REAL(dirfd)(dirp);
	return s->fd;
}

/* ---- scandir ---------------------------------------------------------- */

typedef int (*dir_filter_fn)(const struct dirent64 *);
typedef int (*dir_cmp_fn)(const struct dirent64 **, const struct dirent64 **);

/*
 * The scandir loop over a stream of ours, as glibc behaves: entries in
 * readdir order, kept when the filter says so (the filter may set errno;
 * that is no error), copied to malloc'd records sized to the name, the
 * vector grown by doubling, sorted at the end.  On error everything is
 * freed and errno tells why; on success errno is as on entry.
 */
static int scan_stream(DIR *dp, struct dirent64 ***list, dir_filter_fn filter, dir_cmp_fn cmp)
{
	int saved = errno;
	struct dirent64 **v = NULL, *d;
	size_t n = 0, cap = 0;
	errno = 0;
	while ((d = readdir64(dp)) != NULL) {
		if (filter) {
			int keep = filter(d);
			errno = 0;
			if (!keep)
				continue;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 10;
			struct dirent64 **nv = realloc(v, ncap * sizeof *nv);
			if (!nv)
				break;
			v = nv;
			cap = ncap;
		}
		size_t sz = offsetof(struct dirent64, d_name) + strlen(d->d_name) + 1;
		struct dirent64 *c = malloc(sz);
		if (!c)
			break;
		memcpy(c, d, sz);
		v[n++] = c;
	}
	int e = errno;
	if (e) {
		while (n)
			free(v[--n]);
		free(v);
		closedir(dp);
		errno = e;
		return -1;
	}
	if (cmp && n > 1)
		qsort(v, n, sizeof *v, (int (*)(const void *, const void *))cmp);
	closedir(dp);
	errno = saved;
	*list = v;
	return (int)n;
}

static int scan_at(int dfd, const char *dir, struct dirent64 ***list,
		   dir_filter_fn filter, dir_cmp_fn cmp)
{
	int fd = openat(dfd, dir, O_RDONLY | O_NONBLOCK | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	DIR *dp = fdopendir(fd);
	if (!dp) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return scan_stream(dp, list, filter, cmp);
}

/* Does scandirat(dfd, dir) need the shim's streams? */
static bool scan_ours(int dfd, const char *dir)
{
	if (!dir)
		return false;
	if (dir[0] == '/' || dfd == AT_FDCWD)
		return vfs_path_maybe_mine(dir);
	return vfs_fd_mine(dfd);
}

SHIM_EXPORT int scandir(const char *dir, struct dirent ***list,
			int (*filter)(const struct dirent *),
			int (*cmp)(const struct dirent **, const struct dirent **))
{
	if (!scan_ours(AT_FDCWD, dir))
		return SHIM_REAL(scandir)(dir, list, filter, cmp);
	return scan_at(AT_FDCWD, dir, (struct dirent64 ***)list, (dir_filter_fn)filter,
		       (dir_cmp_fn)cmp);
}

SHIM_EXPORT int scandir64(const char *dir, struct dirent64 ***list,
			  int (*filter)(const struct dirent64 *),
			  int (*cmp)(const struct dirent64 **, const struct dirent64 **))
{
	if (!scan_ours(AT_FDCWD, dir))
		return SHIM_REAL(scandir64)(dir, list, filter, cmp);
	return scan_at(AT_FDCWD, dir, list, filter, cmp);
}

SHIM_EXPORT int scandirat(int dfd, const char *dir, struct dirent ***list,
			  int (*filter)(const struct dirent *),
			  int (*cmp)(const struct dirent **, const struct dirent **))
{
	if (!scan_ours(dfd, dir))
		return SHIM_REAL(scandirat)(dfd, dir, list, filter, cmp);
	return scan_at(dfd, dir, (struct dirent64 ***)list, (dir_filter_fn)filter,
		       (dir_cmp_fn)cmp);
}

SHIM_EXPORT int scandirat64(int dfd, const char *dir, struct dirent64 ***list,
			    int (*filter)(const struct dirent64 *),
			    int (*cmp)(const struct dirent64 **, const struct dirent64 **))
{
	if (!scan_ours(dfd, dir))
		return SHIM_REAL(scandirat64)(dfd, dir, list, filter, cmp);
	return scan_at(dfd, dir, list, filter, cmp);
}
