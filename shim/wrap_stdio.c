/*
 * stdio streams over descriptors of mounted filesystems.
 *
 * A glibc FILE reads and writes through glibc's internal __read/__write,
 * which LD_PRELOAD cannot reach: on a ramfs descriptor (a placeholder in
 * the kernel) its bytes would be lost.  So a stream over a ramfs
 * descriptor is a glibc cookie stream (fopencookie) whose callbacks call
 * the shim's read/write/lseek/close, and every FILE function, _unlocked
 * and _chk variant included, works on it unchanged.  Streams over host
 * descriptors stay glibc's own.
 *
 * The cookie of a stream is a slot of the static table streams.slot[];
 * fileno() finds the slot from the FILE (glibc's cookie streams have a
 * negative _fileno, so host streams never pay for the search).
 *
 * The standard streams: when descriptor 0, 1 or 2 is ours (handed over by
 * exec, or made so by dup2 in a running process), the variable stdin,
 * stdout or stderr points at a shim stream over that descriptor; glibc's
 * original stream is kept in streams.orig[] and comes back when the
 * descriptor is the host's again.  Our streams are flushed by glibc's
 * exit-time cleanup (after the ELF destructors) and, earlier, by this
 * file's destructor.
 *
 * Lock order: streams.lock is a leaf (slot allocation, orig[]), never held
 * across a call out.  The FILE locks are glibc's; a cookie callback runs
 * under its FILE's lock and takes the vfs locks below it.
 *
 * Guards:
 *   slot.used, streams.hiwater, streams.orig[]   streams.lock (writes);
 *                                                used/hiwater read atomically
 *   slot.fp        atomic: published after fopencookie, cleared at close
 *   slot.fd, std, keep_fd, closing   the stream's FILE lock (callbacks) or
 *                  the thread that owns the stream (open/freopen)
 *   slot.wide      the stream's FILE lock (shim/wrap_wstdio.c)
 *   stdio_quiet    thread-local
 */
#undef _FILE_OFFSET_BITS
#undef _FORTIFY_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <string.h>
#include <unistd.h>

#include "shim/lk.h"
#include "shim/real_fs.h"
#include "shim/shim.h"
#include "shim/wrap_dir.h"
#include "shim/wrap_stdio.h"
#include "vfs/vfs.h"

#define SHIM_STREAM_MAX 1024

struct shim_stream {
	_Atomic int used;
	FILE *_Atomic fp;
	int fd;                 /* -1 after a failed freopen: I/O gives EBADF */
	int std;                /* 0..2: stands in for stdin/stdout/stderr; -1 */
	char base[3];           /* its fopencookie mode: "r", "w+", ... */
	bool keep_fd;           /* closing the stream leaves fd open */
	bool closing;           /* inside its close callback */
	struct shim_wide wide;  /* for the wide functions (wrap_wstdio.c) */
};

static struct lk_class streams_class = LK_CLASS_INIT("shim_streams", LK_RANK_LEAF + 11, false);

static struct {
	struct lk_lock lock;
	_Atomic int fork_registered;
	_Atomic int hiwater;    /* slots [0, hiwater) have been used */
	FILE *orig[3];          /* glibc's std streams while ours stand in */
	struct shim_stream slot[SHIM_STREAM_MAX];
} streams = { .lock = LK_LOCK_INIT(&streams_class, "shim_streams") };

/* Set while freopen rewires a std descriptor itself: the dup3 it makes
 * must not trigger the fd hook. */
static __thread int stdio_quiet __attribute__((tls_model("initial-exec")));

SHIM_REAL_DECL(fopen);
SHIM_REAL_DECL(fopen64);
SHIM_REAL_DECL(freopen);
SHIM_REAL_DECL(freopen64);
SHIM_REAL_DECL(fdopen);
SHIM_REAL_DECL(fileno);
SHIM_REAL_DECL(fileno_unlocked);

/* ---- slots -------------------------------------------------------------- */

static struct shim_stream *slot_alloc(void)
{
	struct shim_stream *s = NULL;
	shim_fork_register_once(&streams.fork_registered, &streams.lock);
	lk_lock(&streams.lock);
	for (int i = 0; i < SHIM_STREAM_MAX; i++) {
		if (!atomic_load_explicit(&streams.slot[i].used, memory_order_relaxed)) {
			s = &streams.slot[i];
			atomic_store_explicit(&s->used, 1, memory_order_relaxed);
			if (i >= atomic_load_explicit(&streams.hiwater, memory_order_relaxed))
				atomic_store_explicit(&streams.hiwater, i + 1, memory_order_release);
			break;
		}
	}
	lk_unlock(&streams.lock);
	return s;
}

static void slot_free(struct shim_stream *s)
{
	lk_lock(&streams.lock);
	atomic_store_explicit(&s->fp, NULL, memory_order_release);
	atomic_store_explicit(&s->used, 0, memory_order_release);
	lk_unlock(&streams.lock);
}

/* The shim stream behind fp, or NULL (glibc's streams, other cookies). */
static struct shim_stream *stream_of(FILE *fp)
{
	if (!fp || fp->_fileno >= 0)
		return NULL;
	int hi = atomic_load_explicit(&streams.hiwater, memory_order_acquire);
	for (int i = 0; i < hi; i++)
		if (atomic_load_explicit(&streams.slot[i].fp, memory_order_acquire) == fp)
			return &streams.slot[i];
	return NULL;
}

struct shim_wide *shim_stream_wide(FILE *fp)
{
	struct shim_stream *s = stream_of(fp);
	return s ? &s->wide : NULL;
}

/* ---- the cookie callbacks ---------------------------------------------- */

static ssize_t ck_read(void *c, char *buf, size_t n)
{
	struct shim_stream *s = c;
	return read(s->fd, buf, n);
}

/* glibc marks the stream in error on any short count, so write it all
 * (as its own file streams do) and stop only at an error. */
static ssize_t ck_write(void *c, const char *buf, size_t n)
{
	struct shim_stream *s = c;
	size_t done = 0;
	while (done < n) {
		ssize_t r = write(s->fd, buf + done, n - done);
		if (r <= 0)
			return done ? (ssize_t)done : -1;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

static int ck_seek(void *c, off64_t *off, int whence)
{
	struct shim_stream *s = c;
	off_t r = lseek(s->fd, *off, whence);
	if (r < 0)
		return -1;
	*off = r;
	return 0;
}

static int ck_close(void *c)
{
	struct shim_stream *s = c;
	int r = 0;
	s->closing = true;      /* the fd hook that close() runs ignores us */
	if (!s->keep_fd && s->fd >= 0)
		r = close(s->fd);
	slot_free(s);
	return r;
}

static const cookie_io_functions_t ck_funcs = {
	.read = ck_read, .write = ck_write, .seek = ck_seek, .close = ck_close,
};

/* ---- modes -------------------------------------------------------------- */

struct fmode {
	int oflags;             /* for open(2) */
	char base[3];           /* "r" "w" "a" with an optional "+": fopencookie's */
	bool seek_end;          /* "a" without "+": glibc starts at the end */
};

/* The mode string as glibc's fopen reads it: r/w/a, then up to six of
 * + x b m c e (others ignored), stopping at ',' (",ccs=" is not
 * supported on our streams: the encoding part is ignored). */
static int parse_mode(const char *mode, struct fmode *m)
{
	bool plus = false;
	switch (mode[0]) {
	case 'r': m->oflags = O_RDONLY; break;
	case 'w': m->oflags = O_WRONLY | O_CREAT | O_TRUNC; break;
	case 'a': m->oflags = O_WRONLY | O_CREAT | O_APPEND; break;
	default: return -EINVAL;
	}
	for (int i = 1; i < 7 && mode[i] && mode[i] != ','; i++) {
		if (mode[i] == '+')
			plus = true;
		else if (mode[i] == 'x')
			m->oflags |= O_EXCL;
		else if (mode[i] == 'e')
			m->oflags |= O_CLOEXEC;
	}
	if (plus)
		m->oflags = (m->oflags & ~O_ACCMODE) | O_RDWR;
	m->base[0] = mode[0];
	m->base[1] = plus ? '+' : '\0';
	m->base[2] = '\0';
	m->seek_end = mode[0] == 'a' && !plus;
	return 0;
}

/* ---- making streams ----------------------------------------------------- */

/* A shim stream over fd (ours), positioned as glibc positions a new one. */
static FILE *stream_new(int fd, const struct fmode *m, int std)
{
	if (m->seek_end && lseek(fd, 0, SEEK_END) < 0)
		return NULL;
	struct shim_stream *s = slot_alloc();
	if (!s) {
		errno = EMFILE;
		return NULL;
	}
	s->fd = fd;
	s->std = std;
	memcpy(s->base, m->base, sizeof s->base);
	s->keep_fd = false;
	s->closing = false;
	memset(&s->wide, 0, sizeof s->wide);
	FILE *fp = fopencookie(s, m->base, ck_funcs);
	if (!fp) {
		slot_free(s);
		return NULL;
	}
	atomic_store_explicit(&s->fp, fp, memory_order_release);
	return fp;
}

/* A stream over an open descriptor: ours, or glibc's for a host one. */
static FILE *stream_on_fd(int fd, const struct fmode *m, int std)
{
	if (vfs_fd_mine(fd))
		return stream_new(fd, m, std);
	/* glibc's fdopen does not move to the end as its fopen does. */
	if (m->seek_end && lseek(fd, 0, SEEK_END) < 0 && errno != ESPIPE)
		return NULL;
	return SHIM_REAL(fdopen)(fd, m->base);
}

FILE *shim_stream_fdopen(int fd, const char *mode)
{
	struct fmode m;
	if (parse_mode(mode, &m)) {
		errno = EINVAL;
		return NULL;
	}
	return stream_on_fd(fd, &m, -1);
}

static FILE *stream_open(const char *path, const char *mode)
{
	struct fmode m;
	if (parse_mode(mode, &m)) {
		errno = EINVAL;
		return NULL;
	}
	int fd = open(path, m.oflags, 0666);
	if (fd < 0)
		return NULL;
	FILE *fp = stream_on_fd(fd, &m, -1);
	if (!fp) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return fp;
}

SHIM_EXPORT FILE *fopen(const char *path, const char *mode)
{
	if (!vfs_path_maybe_mine(path))
		return SHIM_REAL(fopen)(path, mode);
	return stream_open(path, mode);
}

SHIM_EXPORT FILE *fopen64(const char *path, const char *mode)
{
	if (!vfs_path_maybe_mine(path))
		return SHIM_REAL(fopen64)(path, mode);
	return stream_open(path, mode);
}

/* fdopen as glibc checks it: the mode must fit the descriptor's access
 * mode (EINVAL), and "a" turns on O_APPEND if it is off. */
SHIM_EXPORT FILE *fdopen(int fd, const char *mode)
{
	if (!vfs_fd_mine(fd))
		return SHIM_REAL(fdopen)(fd, mode);
	struct fmode m;
	if (parse_mode(mode, &m)) {
		errno = EINVAL;
		return NULL;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return NULL;
	int acc = fl & O_ACCMODE, want = m.oflags & O_ACCMODE;
	if ((acc == O_RDONLY && want != O_RDONLY) || (acc == O_WRONLY && want != O_WRONLY)) {
		errno = EINVAL;
		return NULL;
	}
	if (mode[0] == 'a' && !(fl & O_APPEND) && fcntl(fd, F_SETFL, fl | O_APPEND) < 0)
		return NULL;
	return stream_new(fd, &m, -1);
}

SHIM_EXPORT int fileno(FILE *fp)
{
	struct shim_stream *s = stream_of(fp);
	if (!s)
		return SHIM_REAL(fileno)(fp);
	if (s->fd < 0) {
		errno = EBADF;
		return -1;
	}
	return s->fd;
}

SHIM_EXPORT int fileno_unlocked(FILE *fp)
{
	struct shim_stream *s = stream_of(fp);
	if (!s)
		return SHIM_REAL(fileno_unlocked)(fp);
	if (s->fd < 0) {
		errno = EBADF;
		return -1;
	}
	return s->fd;
}

/* ---- the standard streams ---------------------------------------------- */

static FILE **std_var(int fd)
{
	return fd == 0 ? &stdin : fd == 1 ? &stdout : &stderr;
}

static int std_index(FILE *fp)
{
	if (fp == stdin)
		return 0;
	if (fp == stdout)
		return 1;
	if (fp == stderr)
		return 2;
	return -1;
}

/* A shim stream standing in for std stream fd, buffered as glibc buffers
 * a std stream over a file: stderr unbuffered, the others fully. */
static FILE *std_stream_new(int fd)
{
	struct fmode m;
	parse_mode(fd == 0 ? "r" : "w", &m);
	m.oflags = 0;
	FILE *fp = stream_new(fd, &m, fd);
	if (fp && fd == 2)
		setvbuf(fp, NULL, _IONBF, 0);
	return fp;
}

/* Remember the glibc std stream that ours replaces (the latest one). */
static void std_save_orig(int fd, FILE *glibc_fp)
{
	lk_lock(&streams.lock);
	streams.orig[fd] = glibc_fp;
	lk_unlock(&streams.lock);
}

static FILE *std_orig(int fd)
{
	lk_lock(&streams.lock);
	FILE *o = streams.orig[fd];
	lk_unlock(&streams.lock);
	return o;
}

/* Output glibc's stream buffered for the old descriptor belongs, as it
 * would natively, to whatever the number refers to when it is flushed:
 * carry it into our stream (the old one would write to a placeholder). */
static void carry_pending(FILE *from, FILE *to)
{
	size_t n = __fpending(from);
	if (n && from->_IO_write_base)
		fwrite(from->_IO_write_base, 1, n, to);
	__fpurge(from);
}

void shim_stdio_fd_changed(int fd)
{
	if (fd < 0 || fd > 2 || stdio_quiet)
		return;
	int saved = errno;
	FILE **var = std_var(fd);
	FILE *cur = *var;
	struct shim_stream *s = stream_of(cur);
	if (s && s->closing)
		goto out;
	if (vfs_fd_mine(fd)) {
		if (s && s->fd == fd)
			goto out;       /* ours already; buffered data follows the fd */
		/* Only glibc's own stream over this number is replaced: a
		 * stream the program put in the variable stays its own. */
		if (!s && cur->_fileno != fd)
			goto out;
		FILE *nfp = std_stream_new(fd);
		if (!nfp)
			goto out;
		if (!s) {
			carry_pending(cur, nfp);
			std_save_orig(fd, cur);
		}
		*var = nfp;
	} else if (s && s->std == fd) {
		FILE *o = std_orig(fd);
		if (!o)
			goto out;
		fflush(cur);            /* to the host descriptor now behind fd */
		*var = o;
		s->keep_fd = true;
		fclose(cur);
	}
out:
	errno = saved;
}

void shim_stdio_init(void)
{
	for (int fd = 0; fd <= 2; fd++)
		if (vfs_fd_mine(fd))
			shim_stdio_fd_changed(fd);
}

/* ---- freopen ------------------------------------------------------------ */

/*
 * freopen where the stream or the new path is ours.  As glibc does: the
 * stream is flushed and its file closed, the path opened, and the new
 * file keeps the stream's descriptor number (dup3 onto it), which is what
 * makes freopen(path, "w", stdout) redirect fd 1 for children too.
 *
 * A shim stream is reused when the access mode stays the same; a glibc
 * stream cannot become a cookie stream, so a new FILE is returned (for
 * stdin/stdout/stderr the variable is updated; any other glibc stream
 * object is left behind, flushed, and its descriptor is not reused).
 */
static FILE *stream_reopen(const char *path, const char *mode, FILE *fp,
			   struct shim_stream *s)
{
	struct fmode m;
	if (parse_mode(mode, &m)) {
		errno = EINVAL;
		return NULL;
	}
	int stdi = std_index(fp);
	fflush(fp);
	int oldfd = s ? s->fd : SHIM_REAL(fileno)(fp);
	int fd;
	FILE *nfp = NULL;
	stdio_quiet++;
	if (!path) {
		/* The same file in a new mode: only O_APPEND can change. */
		fd = oldfd;
		if (fd < 0) {
			errno = EBADF;
			goto out;
		}
		int fl = fcntl(fd, F_GETFL);
		if (fl >= 0)
			fcntl(fd, F_SETFL, (fl & ~O_APPEND) | (m.oflags & O_APPEND));
	} else {
		if (oldfd >= 0)
			close(oldfd);
		if (s)
			s->fd = -1;
		fd = open(path, m.oflags, 0666);
		if (fd < 0)
			goto out;
		if (oldfd >= 0 && fd != oldfd && (s || stdi >= 0) &&
		    dup3(fd, oldfd, m.oflags & O_CLOEXEC) >= 0) {
			close(fd);
			fd = oldfd;
		}
	}
	if (s && strcmp(s->base, m.base) == 0 && vfs_fd_mine(fd)) {
		s->fd = fd;
		nfp = fp;
		fseeko(fp, 0, m.seek_end ? SEEK_END : SEEK_SET);
		clearerr(fp);
		goto out;
	}
	if (s)
		s->fd = -1;     /* the old FILE stays behind; I/O on it: EBADF */
	nfp = stream_on_fd(fd, &m, stdi);
	if (!nfp) {
		int e = errno;
		close(fd);
		errno = e;
		goto out;
	}
	if (stdi >= 0) {
		if (!s)
			std_save_orig(stdi, fp);
		*std_var(stdi) = nfp;
	}
out:
	stdio_quiet--;
	return nfp;
}

SHIM_EXPORT FILE *freopen(const char *path, const char *mode, FILE *fp)
{
	struct shim_stream *s = stream_of(fp);
	if (!s && !(path && vfs_path_maybe_mine(path)))
		return SHIM_REAL(freopen)(path, mode, fp);
	return stream_reopen(path, mode, fp, s);
}

SHIM_EXPORT FILE *freopen64(const char *path, const char *mode, FILE *fp)
{
	struct shim_stream *s = stream_of(fp);
	if (!s && !(path && vfs_path_maybe_mine(path)))
		return SHIM_REAL(freopen64)(path, mode, fp);
	return stream_reopen(path, mode, fp, s);
}

/* Flush our streams before the other destructors run; glibc's exit-time
 * cleanup flushes them again (after every destructor), so the vfs must
 * stay usable until the process ends. */
__attribute__((destructor)) static void stdio_fini(void)
{
	if (atomic_load_explicit(&streams.hiwater, memory_order_acquire))
		fflush(NULL);
}
