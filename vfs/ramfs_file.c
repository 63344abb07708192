/*
 * ramfs_file — open and the operations on open file descriptions: read
 * and write, seek, truncate, fallocate, flags, readdir, and the pieces of
 * a mapping.
 *
 * An open file description lives in the segment (struct ramfs_ofd), so
 * its offset and status flags are shared by every descriptor that refers
 * to it, in any process (dup, fork, exec: the vfs hands all of them the
 * same id and counts them with ofd_get/ofd_put).  Everything here runs
 * with the segment lock held.
 *
 * Data moves by memcpy between the caller's buffer and the mapped
 * segment, with no system call.  A bad user pointer therefore faults in
 * memcpy (SIGSEGV), as it would in a libc memcpy, where the kernel would
 * return EFAULT; the vfs may check buffers against the mman arena first.
 */
#include "vfs/ramfs_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The kernel's O_LARGEFILE: open forces it on 64-bit and F_GETFL shows
 * it, but glibc's x86_64 headers define O_LARGEFILE as 0. */
#define RAMFS_O_LARGEFILE 0100000
#define RAMFS_SETFL (O_APPEND | O_NONBLOCK | O_NOATIME | O_DIRECT | O_ASYNC)
#define RAMFS_RWF_KNOWN (RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT | RWF_APPEND)

int ramfs_ofd_check(struct ramfs *fs, vfs_ofd f, uint32_t *node)
{
	if (f == 0 || f >= fs->hdr->nofds || fs->ofds[f].refs == 0)
		return -EBADF;
	*node = fs->ofds[f].node;
	return 0;
}

/* A description usable for I/O (not O_PATH). */
static int ramfs_ofd_io(struct ramfs *fs, vfs_ofd f, struct ramfs_ofd **o)
{
	uint32_t n;
	int r = ramfs_ofd_check(fs, f, &n);

	if (r < 0)
		return r;
	if (fs->ofds[f].flags & O_PATH)
		return -EBADF;
	*o = &fs->ofds[f];
	return 0;
}

static int ramfs_ofd_new(struct ramfs *fs, uint32_t n, int flags, const struct vfs_cred *c,
			 vfs_ofd *out)
{
	uint32_t f = ramfs_tab_get(fs, RAMFS_T_OFD);

	if (!f)
		return -ENFILE;
	fs->ofds[f].node = n;
	fs->ofds[f].unpriv = c->uid != 0;
	flags &= ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC);
	fs->ofds[f].flags = (flags & O_PATH) ? O_PATH : flags | RAMFS_O_LARGEFILE;
	RAMFS_PUBLISH();
	fs->ofds[f].refs = 1;           /* publishes the description */
	fs->nodes[n].opens++;
	ramfs_proc_ref(fs, RAMFS_REF_OFD, f, 1);
	*out = f;
	return 0;
}

/* ---- open ---- */

static int ramfs_open_tmpfile(struct ramfs *fs, const struct vfs_path *p, int flags, mode_t mode,
			      const struct vfs_cred *c, vfs_ofd *out)
{
	struct ramfs_walk w;
	uint32_t n;
	int acc = flags & O_ACCMODE, r;

	if ((flags & O_CREAT) || (acc != O_WRONLY && acc != O_RDWR))
		return -EINVAL;
	r = ramfs_walk(fs, p, p->flags, c, &w);
	if (r < 0)
		return r;
	if (!S_ISDIR(fs->nodes[w.node].mode))
		return -ENOTDIR;
	r = ramfs_perm(&fs->nodes[w.node], W_OK | X_OK, c);
	if (r < 0)
		return r;
	if (fs->nodes[w.node].nlink == 0)
		return -ENOENT;
	n = ramfs_node_new(fs, S_IFREG | (mode & 07777 & ~c->umask), c, w.node);
	if (!n)
		return -ENOSPC;
	fs->nodes[n].nlink = 0;
	if (!(flags & O_EXCL))
		fs->nodes[n].flags |= RAMFS_NF_LINKABLE;
	r = ramfs_ofd_new(fs, n, flags & ~(O_TMPFILE & ~O_DIRECTORY), c, out);
	if (r < 0)
		ramfs_node_maybe_free(fs, n);
	return r;
}

/* may_open: the checks on an existing node. */
static int ramfs_may_open(struct ramfs *fs, uint32_t n, int flags, const struct vfs_cred *c)
{
	const struct ramfs_node *nd = &fs->nodes[n];
	int acc = flags & O_ACCMODE, mask = 0, r;

	if (flags & O_PATH)
		return (flags & O_DIRECTORY) && !S_ISDIR(nd->mode) ? -ENOTDIR : 0;
	if (S_ISLNK(nd->mode))
		return -ELOOP;
	if ((flags & O_CREAT) && S_ISDIR(nd->mode))
		return -EISDIR;
	if ((flags & O_DIRECTORY) && !S_ISDIR(nd->mode))
		return -ENOTDIR;
	if (acc != O_WRONLY)
		mask |= R_OK;
	if (acc != O_RDONLY || (flags & O_TRUNC))
		mask |= W_OK;
	if (S_ISDIR(nd->mode) && (mask & W_OK))
		return -EISDIR;
	r = ramfs_perm(nd, mask, c);
	if (r < 0)
		return r;
	if ((flags & O_NOATIME) && c->uid != 0 && c->uid != nd->uid)
		return -EPERM;
	/* FIFOs, sockets and devices have no ramfs implementation */
	if (!S_ISREG(nd->mode) && !S_ISDIR(nd->mode))
		return -ENXIO;
	return 0;
}

static int ramfs_open_locked(struct ramfs *fs, const struct vfs_path *p, int flags, mode_t mode,
			     const struct vfs_cred *c, vfs_ofd *out)
{
	unsigned wf = p->flags;
	struct ramfs_walk w;
	uint32_t n;
	int r;

	/* build_open_flags: O_CREAT | O_DIRECTORY is refused since 6.4 */
	if ((flags & O_CREAT) && (flags & O_DIRECTORY))
		return -EINVAL;
	if (flags & O_PATH)
		flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	/* the description first, as the kernel's alloc_empty_file: a full
	 * table creates nothing (and the retry after gc finds no new file) */
	if (!fs->hdr->tab[RAMFS_T_OFD].free &&
	    fs->hdr->tab[RAMFS_T_OFD].hwm >= fs->hdr->tab[RAMFS_T_OFD].cap)
		return -ENFILE;
	if ((flags & O_TMPFILE) == O_TMPFILE)
		return ramfs_open_tmpfile(fs, p, flags, mode, c, out);
	if ((flags & O_NOFOLLOW) || (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL))
		wf |= VFS_NOFOLLOW;
	if (flags & O_CREAT)
		wf |= RAMFS_WALK_PARENT;
	r = ramfs_walk(fs, p, wf, c, &w);
	if (r < 0)
		return r;
	if ((flags & O_CREAT) && w.slash)
		return -EISDIR;
	n = w.node;
	if (!n) {
		r = ramfs_may_create(fs, &w, c);
		if (r == 0)
			r = ramfs_create_node(fs, &w, S_IFREG | (mode & 07777 & ~c->umask), c, &n);
		return r < 0 ? r : ramfs_ofd_new(fs, n, flags, c, out);
	}
	if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL))
		return -EEXIST;
	r = ramfs_may_open(fs, n, flags, c);
	if (r < 0)
		return r;
	if ((flags & O_TRUNC) && S_ISREG(fs->nodes[n].mode) && !(flags & O_PATH)) {
		ramfs_data_truncate(fs, n, 0);
		ramfs_touch(&fs->nodes[n], false, true, true);
		if (c->uid != 0)
			ramfs_kill_privs(&fs->nodes[n]);
	}
	return ramfs_ofd_new(fs, n, flags, c, out);
}

int ramfs_op_open(const struct vfs_path *p, int flags, mode_t mode, const struct vfs_cred *c,
		  vfs_ofd *out)
{
	RAMFS_LOCKED_GC(ramfs_of(p->mnt),
			ramfs_open_locked(ramfs_of(p->mnt), p, flags, mode, c, out));
}

/* ---- references ---- */

void ramfs_op_ofd_get(struct vfs_mount *m, vfs_ofd f)
{
	struct ramfs *fs = ramfs_of(m);
	uint32_t n;

	if (ramfs_lock(fs) < 0)
		return;
	if (ramfs_ofd_check(fs, f, &n) == 0) {
		fs->ofds[f].refs++;
		ramfs_proc_ref(fs, RAMFS_REF_OFD, f, 1);
	}
	ramfs_unlock(fs);
}

void ramfs_op_ofd_own(struct vfs_mount *m, vfs_ofd f, int delta)
{
	struct ramfs *fs = ramfs_of(m);
	uint32_t n;

	if (ramfs_lock(fs) < 0)
		return;
	if (ramfs_ofd_check(fs, f, &n) == 0)
		ramfs_proc_ref(fs, RAMFS_REF_OFD, f, delta);
	ramfs_unlock(fs);
}

/* With the segment lock held: the last reference to description f (of
 * node n) is gone, by close or by gc of a dead process. */
void ramfs_ofd_free(struct ramfs *fs, uint32_t f, uint32_t n)
{
	ramfs_lk_ofd_gone(fs, f, n);    /* its OFD and flock locks */
	ramfs_tab_put(fs, RAMFS_T_OFD, f);
	if (fs->nodes[n].opens)
		fs->nodes[n].opens--;
	ramfs_node_maybe_free(fs, n);
}

void ramfs_op_ofd_put(struct vfs_mount *m, vfs_ofd f)
{
	struct ramfs *fs = ramfs_of(m);
	uint32_t n;

	if (ramfs_lock(fs) < 0)
		return;
	if (ramfs_ofd_check(fs, f, &n) < 0) {
		ramfs_unlock(fs);
		return;
	}
	ramfs_proc_ref(fs, RAMFS_REF_OFD, f, -1);      /* before: never under */
	if (--fs->ofds[f].refs == 0)
		ramfs_ofd_free(fs, f, n);
	ramfs_unlock(fs);
}

/* ---- read and write ---- */

static long ramfs_iov_total(const struct iovec *iov, int iovcnt)
{
	size_t total = 0;

	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return -EINVAL;
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > (size_t)SSIZE_MAX - total)
			return -EINVAL;
		total += iov[i].iov_len;
	}
	return (long)total;
}

static long ramfs_read_iov(struct ramfs *fs, uint32_t n, const struct iovec *iov, int iovcnt,
			   uint64_t pos)
{
	long done = 0;

	for (int i = 0; i < iovcnt; i++) {
		long k = ramfs_data_read(fs, n, iov[i].iov_base, iov[i].iov_len, pos + (uint64_t)done);

		done += k;
		if ((size_t)k < iov[i].iov_len)
			break;
	}
	return done;
}

static long ramfs_write_iov(struct ramfs *fs, uint32_t n, const struct iovec *iov, int iovcnt,
			    uint64_t pos, size_t total)
{
	size_t done = 0;

	/* generic_write_check_limits: nothing at or past the maximum size */
	if (total && pos >= RAMFS_MAX_FILE)
		return -EFBIG;
	if (total > RAMFS_MAX_FILE - pos)
		total = (size_t)(RAMFS_MAX_FILE - pos);
	for (int i = 0; i < iovcnt && done < total; i++) {
		size_t want = iov[i].iov_len < total - done ? iov[i].iov_len : total - done;
		long k = ramfs_data_write(fs, n, iov[i].iov_base, want, pos + done);

		if (k < 0)
			return done ? (long)done : k;
		done += (size_t)k;
		if ((size_t)k < want)
			break;
	}
	return (long)done;
}

static long ramfs_rw_locked(struct ramfs *fs, vfs_ofd f, const struct iovec *iov, int iovcnt,
			    off_t off, int write, int rwf)
{
	struct ramfs_ofd *o;
	struct ramfs_node *nd;
	long total, r;
	uint64_t pos;
	int acc;

	r = ramfs_ofd_io(fs, f, &o);
	if (r < 0)
		return r;
	acc = o->flags & O_ACCMODE;
	if (write ? acc == O_RDONLY : acc == O_WRONLY)
		return -EBADF;
	nd = &fs->nodes[o->node];
	if (S_ISDIR(nd->mode))
		return -EISDIR;
	if (rwf & ~RAMFS_RWF_KNOWN)
		return -EOPNOTSUPP;
	if (off < -1)
		return -EINVAL;
	total = ramfs_iov_total(iov, iovcnt);
	if (total < 0)
		return total;
	pos = off == -1 ? (uint64_t)o->pos : (uint64_t)off;
	/* rw_verify_area: the range may not pass the largest offset */
	if ((uint64_t)total > (uint64_t)INT64_MAX - pos)
		return -EINVAL;
	if (!write) {
		r = ramfs_read_iov(fs, o->node, iov, iovcnt, pos);
		if (!(o->flags & O_NOATIME))
			ramfs_touch_atime(nd);
	} else {
		if ((o->flags & O_APPEND) || (rwf & RWF_APPEND))
			pos = nd->size;
		if (total == 0)
			return 0;
		ramfs_touch(nd, false, true, true);
		if (o->unpriv)
			ramfs_kill_privs(nd);
		r = ramfs_write_iov(fs, o->node, iov, iovcnt, pos, (size_t)total);
	}
	if (r > 0 && off == -1)
		o->pos = (int64_t)(pos + (uint64_t)r);
	return r;
}

long ramfs_op_rw(struct vfs_mount *m, vfs_ofd f, const struct iovec *iov, int iovcnt, off_t off,
		 int write, int rwf)
{
	if (!write)
		RAMFS_LOCKED(ramfs_of(m), ramfs_rw_locked(ramfs_of(m), f, iov, iovcnt, off, 0, rwf));
	RAMFS_LOCKED_GC(ramfs_of(m), ramfs_rw_locked(ramfs_of(m), f, iov, iovcnt, off, 1, rwf));
}

/* ---- seek, stat, truncate, allocate ---- */

static off_t ramfs_lseek_locked(struct ramfs *fs, vfs_ofd f, off_t off, int whence)
{
	struct ramfs_ofd *o;
	struct ramfs_node *nd;
	int64_t base;
	int r = ramfs_ofd_io(fs, f, &o);

	if (r < 0)
		return r;
	nd = &fs->nodes[o->node];
	if (S_ISDIR(nd->mode))
		return ramfs_dir_seek(fs, o, off, whence);
	switch (whence) {
	case SEEK_SET:
		base = 0;
		break;
	case SEEK_CUR:
		base = o->pos;
		break;
	case SEEK_END:
		base = (int64_t)nd->size;
		break;
	case SEEK_DATA:
	case SEEK_HOLE:
		off = ramfs_data_seek(fs, o->node, off, whence);
		if (off >= 0)
			o->pos = off;
		return off;
	default:
		return -EINVAL;
	}
	if (__builtin_add_overflow(base, off, &base) || base < 0)
		return -EINVAL;
	o->pos = base;
	return base;
}

off_t ramfs_op_lseek(struct vfs_mount *m, vfs_ofd f, off_t off, int whence)
{
	RAMFS_LOCKED(ramfs_of(m), ramfs_lseek_locked(ramfs_of(m), f, off, whence));
}

static int ramfs_fstat_locked(struct ramfs *fs, vfs_ofd f, struct stat *st)
{
	uint32_t n;
	int r = ramfs_ofd_check(fs, f, &n);

	if (r == 0)
		ramfs_fill_stat(fs, n, st);
	return r;
}

int ramfs_op_fstat(struct vfs_mount *m, vfs_ofd f, struct stat *st)
{
	RAMFS_LOCKED(ramfs_of(m), ramfs_fstat_locked(ramfs_of(m), f, st));
}

static int ramfs_ftruncate_locked(struct ramfs *fs, vfs_ofd f, off_t len)
{
	struct ramfs_ofd *o;
	int r;

	if (len < 0)
		return -EINVAL;
	r = ramfs_ofd_io(fs, f, &o);
	if (r < 0)
		return r;
	if (!S_ISREG(fs->nodes[o->node].mode) || (o->flags & O_ACCMODE) == O_RDONLY)
		return -EINVAL;
	ramfs_data_truncate(fs, o->node, (uint64_t)len);
	ramfs_touch(&fs->nodes[o->node], false, true, true);
	if (o->unpriv)
		ramfs_kill_privs(&fs->nodes[o->node]);
	return 0;
}

int ramfs_op_ftruncate(struct vfs_mount *m, vfs_ofd f, off_t len)
{
	RAMFS_LOCKED(ramfs_of(m), ramfs_ftruncate_locked(ramfs_of(m), f, len));
}

/* Zero the bytes of [off, end) that lie in allocated pages. */
static void ramfs_zero_range(struct ramfs *fs, uint32_t n, uint64_t off, uint64_t end)
{
	while (off < end) {
		uint64_t run, k;
		char *pg = ramfs_data_page(fs, n, off / RAMFS_PAGE, &run);

		k = RAMFS_PAGE - off % RAMFS_PAGE;
		if (k > end - off)
			k = end - off;
		if (pg)
			memset(pg + off % RAMFS_PAGE, 0, k);
		off += k;
	}
}

static int ramfs_punch(struct ramfs *fs, uint32_t n, uint64_t off, uint64_t len)
{
	uint64_t end = off + len, p0 = ramfs_pages_for(off), p1 = end / RAMFS_PAGE;

	if (p0 >= p1) {
		ramfs_zero_range(fs, n, off, end);
		return 0;
	}
	ramfs_zero_range(fs, n, off, p0 * RAMFS_PAGE);
	ramfs_zero_range(fs, n, p1 * RAMFS_PAGE, end);
	ramfs_data_punch(fs, n, p0, p1 - p0);
	return 0;
}

static int ramfs_fallocate_checks(struct ramfs *fs, vfs_ofd f, int mode, off_t off, off_t len,
				  struct ramfs_ofd **o)
{
	const int known = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_NO_HIDE_STALE |
			  FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_ZERO_RANGE |
			  FALLOC_FL_INSERT_RANGE | FALLOC_FL_UNSHARE_RANGE;
	int r;

	if (off < 0 || len <= 0)
		return -EINVAL;
	if (mode & ~known)
		return -EOPNOTSUPP;
	if ((mode & FALLOC_FL_PUNCH_HOLE) && !(mode & FALLOC_FL_KEEP_SIZE))
		return -EOPNOTSUPP;
	r = ramfs_ofd_io(fs, f, o);
	if (r < 0)
		return r;
	if (((*o)->flags & O_ACCMODE) == O_RDONLY)
		return -EBADF;
	if (S_ISDIR(fs->nodes[(*o)->node].mode))
		return -EISDIR;
	if (!S_ISREG(fs->nodes[(*o)->node].mode))
		return -ENODEV;
	if (off + len < 0)
		return -EFBIG;
	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE))
		return -EOPNOTSUPP;
	return 0;
}

static int ramfs_fallocate_locked(struct ramfs *fs, vfs_ofd f, int mode, off_t off, off_t len)
{
	struct ramfs_ofd *o;
	uint64_t p0, np, end = (uint64_t)off + (uint64_t)len;
	uint32_t n;
	int r = ramfs_fallocate_checks(fs, f, mode, off, len, &o);

	if (r < 0)
		return r;
	n = o->node;
	if (mode & FALLOC_FL_PUNCH_HOLE) {
		r = ramfs_punch(fs, n, (uint64_t)off, (uint64_t)len);
	} else {
		p0 = (uint64_t)off / RAMFS_PAGE;
		np = ramfs_pages_for(end) - p0;
		/* all or nothing, as shmem_fallocate (which undoes a partial
		 * allocation): refuse up front what cannot fit */
		if (ramfs_data_missing(fs, n, p0, np) > fs->hdr->free_pages)
			return -ENOSPC;
		r = ramfs_data_fallocate(fs, n, p0, np);
		if (r == 0 && !(mode & FALLOC_FL_KEEP_SIZE) && end > fs->nodes[n].size)
			ramfs_data_truncate(fs, n, end);
	}
	if (r == 0) {
		ramfs_touch(&fs->nodes[n], false, true, true);
		if (o->unpriv)
			ramfs_kill_privs(&fs->nodes[n]);
	}
	return r;
}

int ramfs_op_fallocate(struct vfs_mount *m, vfs_ofd f, int mode, off_t off, off_t len)
{
	RAMFS_LOCKED_GC(ramfs_of(m), ramfs_fallocate_locked(ramfs_of(m), f, mode, off, len));
}

/* ---- flags ---- */

static int ramfs_fsync_locked(struct ramfs *fs, vfs_ofd f)
{
	struct ramfs_ofd *o;

	return ramfs_ofd_io(fs, f, &o);
}

int ramfs_op_fsync(struct vfs_mount *m, vfs_ofd f)
{
	RAMFS_LOCKED(ramfs_of(m), ramfs_fsync_locked(ramfs_of(m), f));
}

static int ramfs_getfl_locked(struct ramfs *fs, vfs_ofd f)
{
	uint32_t n;
	int r = ramfs_ofd_check(fs, f, &n);

	return r < 0 ? r : fs->ofds[f].flags;
}

int ramfs_op_getfl(struct vfs_mount *m, vfs_ofd f)
{
	RAMFS_LOCKED(ramfs_of(m), ramfs_getfl_locked(ramfs_of(m), f));
}

static int ramfs_setfl_locked(struct ramfs *fs, vfs_ofd f, int flags)
{
	struct ramfs_ofd *o;
	int r = ramfs_ofd_io(fs, f, &o);

	if (r < 0)
		return r;
	o->flags = (o->flags & ~RAMFS_SETFL) | (flags & RAMFS_SETFL);
	return 0;
}

int ramfs_op_setfl(struct vfs_mount *m, vfs_ofd f, int flags)
{
	RAMFS_LOCKED(ramfs_of(m), ramfs_setfl_locked(ramfs_of(m), f, flags));
}

/* ---- directories ---- */

static long ramfs_getdents_locked(struct ramfs *fs, vfs_ofd f, void *buf, size_t len)
{
	struct ramfs_ofd *o;
	int r = ramfs_ofd_io(fs, f, &o);

	if (r < 0)
		return r;
	if (!S_ISDIR(fs->nodes[o->node].mode))
		return -ENOTDIR;
	return ramfs_readdir(fs, o, buf, len);
}

long ramfs_op_getdents(struct vfs_mount *m, vfs_ofd f, void *buf, size_t len)
{
	RAMFS_LOCKED(ramfs_of(m), ramfs_getdents_locked(ramfs_of(m), f, buf, len));
}

static int ramfs_ofd_dir_locked(struct ramfs *fs, vfs_ofd f, vfs_node *out)
{
	uint32_t n;
	int r = ramfs_ofd_check(fs, f, &n);

	if (r < 0)
		return r;
	if (!S_ISDIR(fs->nodes[n].mode))
		return -ENOTDIR;
	*out = n;
	return 0;
}

int ramfs_op_ofd_dir(struct vfs_mount *m, vfs_ofd f, vfs_node *out)
{
	RAMFS_LOCKED(ramfs_of(m), ramfs_ofd_dir_locked(ramfs_of(m), f, out));
}

static long ramfs_remaining_locked(struct ramfs *fs, vfs_ofd f)
{
	struct ramfs_ofd *o;
	int r = ramfs_ofd_io(fs, f, &o);
	uint64_t size;

	if (r < 0)
		return r;
	if (!S_ISREG(fs->nodes[o->node].mode))
		return -ENOTTY;
	size = fs->nodes[o->node].size;
	return (uint64_t)o->pos < size ? (long)(size - (uint64_t)o->pos) : 0;
}

long ramfs_op_ofd_remaining(struct vfs_mount *m, vfs_ofd f)
{
	RAMFS_LOCKED(ramfs_of(m), ramfs_remaining_locked(ramfs_of(m), f));
}

/* ---- mappings ---- */

static int ramfs_map_locked(struct ramfs *fs, vfs_ofd f, uint64_t off, uint64_t len, int prot,
			    int flags, struct vfs_map_piece *pieces, int max, vfs_node *node)
{
	struct ramfs_ofd *o;
	int r = ramfs_ofd_io(fs, f, &o), acc, shared;

	if (r < 0)
		return r;
	if (!S_ISREG(fs->nodes[o->node].mode))
		return -ENODEV;
	acc = o->flags & O_ACCMODE;
	shared = (flags & MAP_TYPE) == MAP_SHARED || (flags & MAP_TYPE) == MAP_SHARED_VALIDATE;
	if (acc == O_WRONLY)
		return -EACCES;
	if (shared && (prot & PROT_WRITE) && (acc != O_RDWR || (o->flags & O_APPEND)))
		return -EACCES;
	r = ramfs_data_map(fs, o->node, off, len, pieces, max);
	if (r >= 0)
		*node = o->node;
	return r;
}

int ramfs_op_map(struct vfs_mount *m, vfs_ofd f, uint64_t off, uint64_t len, int prot, int flags,
		 struct vfs_map_piece *pieces, int max, vfs_node *node)
{
	RAMFS_LOCKED(ramfs_of(m), ramfs_map_locked(ramfs_of(m), f, off, len, prot, flags, pieces,
						   max, node));
}

void ramfs_op_unpin(struct vfs_mount *m, vfs_node n, uint64_t file_off, uint64_t len)
{
	struct ramfs *fs = ramfs_of(m);

	if (ramfs_lock(fs) < 0)
		return;
	if (n && n < fs->hdr->nnodes && fs->nodes[n].mode) {
		uint64_t pages = ramfs_pages_for(file_off + len) - file_off / RAMFS_PAGE;

		ramfs_proc_ref(fs, RAMFS_REF_PIN, n, -(int64_t)pages);
		ramfs_data_unpin(fs, n, pages);
	}
	ramfs_unlock(fs);
}
