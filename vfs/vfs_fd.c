/*
 * Descriptor handlers: close, the read/write family, lseek, fstat,
 * ftruncate, fallocate, fsync, getdents64, fcntl, ioctl, the dup family,
 * close_range, and the descriptor table handed to exec.
 *
 * Locks: calls that change the table (install, close, dup) hold fdt_lock
 * and take lockfs inside it; calls on an open description take lockfs
 * only and read the table entry under it (see fd_ofd in vfs_int.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/futex.h>
#include <signal.h>
#include <sys/file.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "shim/log.h"
#include "shim/lk_stack.h"
#include "vfs/vfs_int.h"

/* Highest descriptor number ever ours + 1 (fdt_lock; read racily as a
 * loop bound, which only ever grows). */
static _Atomic int fdt_hi;

long vfs_fd_install(int mi, vfs_ofd ofd, int minfd, int cloexec)
{
	struct vfs_mount *m = &vfs.mounts[mi];
	long fd = syscall(SYS_fcntl, vfs.placeholder_fd,
			  cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, minfd);
	if (fd >= VFS_FDT_MAX) {
		syscall(SYS_close, fd);
		fd = -1;
		errno = EMFILE;
	}
	if (fd < 0) {
		int e = errno;
		m->ops->ofd_put(m, ofd);
		return -e;
	}
	vfs.fdt[fd].mnt = (uint8_t)mi;
	atomic_store_explicit(&vfs.fdt[fd].ofd, ofd, memory_order_release);
	if (fd + 1 > atomic_load(&fdt_hi))
		atomic_store(&fdt_hi, (int)fd + 1);
	return fd;
}

void vfs_fdt_note(int fd)
{
	if (fd + 1 > atomic_load(&fdt_hi))
		atomic_store(&fdt_hi, fd + 1);
}

int vfs_fdt_hi(void)
{
	return atomic_load(&fdt_hi);
}

void vfs_shim_fds(int out[VFS_SHIM_FDS])
{
	out[0] = vfs.placeholder_fd;
	out[1] = vfs.nmounts ? vfs_seg_fd(0) : -1;
	out[2] = shim_log_fd() > 2 ? shim_log_fd() : -1;
	out[3] = vfs_eof_fd();
	out[4] = lk_stack_pipe_fd(0);
	out[5] = lk_stack_pipe_fd(1);
}

bool vfs_fd_is_shim(int fd)
{
	if (fd < 0)
		return false;
	if (fd == vfs.placeholder_fd || fd == shim_log_fd() || vfs_fd_is_eof(fd) ||
	    lk_stack_owns_fd(fd))
		return fd != 2;
	for (int i = 0; i < vfs.nmounts; i++)
		if (fd == vfs_seg_fd(i))
			return true;
	return false;
}

static void stdio_changed(int fd)
{
	if (fd <= 2 && shim_stdio_fd_changed)
		shim_stdio_fd_changed(fd);
}

long vfs_sys_close(int fd)
{
	lk_lock(&vfs.fdt_lock);
	vfs_ofd f = (unsigned)fd < VFS_FDT_MAX ? atomic_exchange(&vfs.fdt[fd].ofd, 0) : 0;
	if (!f) {
		lk_unlock(&vfs.fdt_lock);
		return VFS_PASS;
	}
	struct vfs_mount *m = fd_mount(fd);
	syscall(SYS_close, fd);
	fs_lock();
	m->ops->lock_close(m, f);
	m->ops->ofd_put(m, f);
	fs_unlock();
	lk_unlock(&vfs.fdt_lock);
	stdio_changed(fd);
	return 0;
}

/* Run one operation on fd's open description under lockfs. */
#define FD_OP(fd, call)                                   \
	({                                                \
		long r_;                                  \
		fs_lock();                                \
		vfs_ofd f = fd_ofd(fd);                   \
		struct vfs_mount *m = fd_mount(fd);       \
		(void)m;                                  \
		r_ = f ? (long)(call) : -EBADF;           \
		fs_unlock();                              \
		r_;                                       \
	})

long vfs_sys_rw(int fd, const struct iovec *iov, int iovcnt, off_t off, int write, int rwf)
{
	return FD_OP(fd, m->ops->rw(m, f, iov, iovcnt, off, write, rwf));
}

long vfs_sys_lseek(int fd, off_t off, int whence)
{
	return FD_OP(fd, m->ops->lseek(m, f, off, whence));
}

long vfs_sys_fstat(int fd, struct stat *st)
{
	return FD_OP(fd, m->ops->fstat(m, f, st));
}

long vfs_sys_ftruncate(int fd, off_t len)
{
	return FD_OP(fd, m->ops->ftruncate(m, f, len));
}

long vfs_sys_fallocate(int fd, int mode, off_t off, off_t len)
{
	return FD_OP(fd, m->ops->fallocate(m, f, mode, off, len));
}

long vfs_sys_fsync(int fd)
{
	return FD_OP(fd, m->ops->fsync(m, f));
}

long vfs_sys_getdents64(int fd, void *buf, size_t len)
{
	return FD_OP(fd, m->ops->getdents(m, f, buf, len));
}

long vfs_sys_fstatfs(int fd, struct statfs *sf)
{
	return FD_OP(fd, m->ops->statfs(m, sf));
}

static long fd_setattr(int fd, const struct vfs_attr *a)
{
	return FD_OP(fd, m->ops->setattr(NULL, f, a, &vfs.cred));
}

long vfs_sys_fchmod(int fd, mode_t mode)
{
	struct vfs_attr a = { .mask = VFS_ATTR_MODE, .mode = mode & 07777 };
	return fd_setattr(fd, &a);
}

long vfs_sys_fchown(int fd, uid_t uid, gid_t gid)
{
	struct vfs_attr a = { .mask = VFS_ATTR_UID | VFS_ATTR_GID, .uid = uid, .gid = gid };
	return fd_setattr(fd, &a);
}

long vfs_sys_futimens(int fd, const struct timespec ts[2])
{
	struct vfs_attr a = vfs_times_attr(ts);
	return fd_setattr(fd, &a);
}

/* ---- dup family ---- */

long vfs_sys_dupfd(int oldfd, int minfd, int cloexec)
{
	if (minfd < 0)
		return -EINVAL;
	lk_lock(&vfs.fdt_lock);
	long r;
	vfs_ofd f = fd_ofd(oldfd);
	if (!f) {
		r = VFS_PASS;
	} else {
		int mi = vfs.fdt[oldfd].mnt;
		fs_lock();
		vfs.mounts[mi].ops->ofd_get(&vfs.mounts[mi], f);
		r = vfs_fd_install(mi, f, minfd, cloexec);
		fs_unlock();
	}
	lk_unlock(&vfs.fdt_lock);
	if (r >= 0 && r <= 2)
		stdio_changed((int)r);
	return r;
}

long vfs_sys_dup3(int oldfd, int newfd, int flags, int is_dup2)
{
	if (!vfs_fd_mine(oldfd) && !vfs_fd_mine(newfd))
		return VFS_PASS;
	if (!is_dup2 && (flags & ~O_CLOEXEC))
		return -EINVAL;
	if (oldfd == newfd)
		return is_dup2 ? newfd : -EINVAL;
	if (vfs_fd_is_shim(newfd))
		return -EBADF;
	if (newfd < 0 || newfd >= VFS_FDT_MAX)
		return -EBADF;
	lk_lock(&vfs.fdt_lock);
	long r = syscall(SYS_dup3, oldfd, newfd, is_dup2 ? 0 : flags);
	if (r < 0) {
		r = -errno;
		lk_unlock(&vfs.fdt_lock);
		return r;
	}
	vfs_ofd replaced = atomic_exchange(&vfs.fdt[newfd].ofd, 0);
	struct vfs_mount *rm = fd_mount(newfd);
	vfs_ofd f = fd_ofd(oldfd);
	fs_lock();
	if (f) {
		int mi = vfs.fdt[oldfd].mnt;
		vfs.mounts[mi].ops->ofd_get(&vfs.mounts[mi], f);
		vfs.fdt[newfd].mnt = (uint8_t)mi;
		atomic_store(&vfs.fdt[newfd].ofd, f);
		if (newfd + 1 > atomic_load(&fdt_hi))
			atomic_store(&fdt_hi, newfd + 1);
	}
	if (replaced) {
		rm->ops->lock_close(rm, replaced);
		rm->ops->ofd_put(rm, replaced);
	}
	fs_unlock();
	lk_unlock(&vfs.fdt_lock);
	stdio_changed(newfd);
	return newfd;
}

void vfs_sys_close_range_ours(unsigned first, unsigned last, int flags)
{
	int hi = atomic_load(&fdt_hi);
	if (first >= (unsigned)hi)
		return;
	if (last >= (unsigned)hi)
		last = (unsigned)hi - 1;
	for (unsigned fd = first; fd <= last; fd++) {
		if (!vfs_fd_mine((int)fd))
			continue;
		if (flags & CLOSE_RANGE_CLOEXEC)
			syscall(SYS_fcntl, fd, F_SETFD, FD_CLOEXEC);
		else
			vfs_sys_close((int)fd);
	}
}

/* ---- fcntl, ioctl ---- */

/*
 * Record locks: the filesystem keeps them (ramfs_lock.c: one table in the
 * segment, shared by every process).  A request that must wait comes back
 * as -VFS_EWAIT with a futex word of the segment; we sleep on it with no
 * shim lock held (lockfs is dropped by FD_OP), then ask again.  The sleep
 * has a timeout so that a holder that died meanwhile is noticed (the
 * filesystem drops a dead owner's locks when a request meets them).
 */
#define LOCK_POLL_NS 113000000L        /* 113 ms: not a round number, so that
                                        * timeouts do not line up with a
                                        * caller's own periodic signals */

/*
 * After a signal handler interrupted the wait: would the kernel restart
 * F_SETLKW/flock (SA_RESTART) or fail with EINTR?  sigs: the signals
 * that were delivered, when known; else every signal not blocked, and we
 * restart only if all that have a handler were installed SA_RESTART.
 */
struct lock_ksigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

static bool lock_restart_ok(uint64_t sigs)
{
	for (int sig = 1; sig <= 64; sig++) {
		struct lock_ksigaction ka;

		if (!(sigs & (1ull << (sig - 1))) || sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (syscall(SYS_rt_sigaction, sig, NULL, &ka, sizeof(uint64_t)) < 0)
			continue;
		if (ka.handler == (void *)SIG_DFL || ka.handler == (void *)SIG_IGN)
			continue;
		if (!(ka.flags & SA_RESTART))
			return false;
	}
	return true;
}

/*
 * The wait loop.  The first request runs with the caller's signal mask
 * (an uncontended lock makes no system call).  Once it must wait, every
 * signal stays blocked except during the futex sleep itself, so that a
 * signal that arrives while a retry runs stays pending and is seen
 * (rt_sigpending) before the next sleep; unblocking delivers it, and the
 * call then fails with EINTR unless the handler has SA_RESTART.  What is
 * left unseen: a signal delivered in the few instructions between the
 * unblock and the futex call, or as the futex call returns on its
 * timeout, or while the first request ran (a documented limit).
 */
static long fd_lock(int fd, struct vfs_lock_req *rq)
{
	long r = FD_OP(fd, m->ops->lock(m, f, rq));
	if (r != -VFS_EWAIT)
		return r;
	uint64_t all = ~0ull, old = 0, pend = 0;
	syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, &old, sizeof(uint64_t));
	for (;;) {
		bool intr = false;
		pend = 0;
		syscall(SYS_rt_sigpending, &pend, sizeof(uint64_t));
		pend &= ~old;
		syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, sizeof(uint64_t));
		if (pend) {
			/* the handlers ran as the mask was restored */
			intr = !lock_restart_ok(pend);
		} else {
			struct timespec ts = { 0, LOCK_POLL_NS };
			long w = syscall(SYS_futex, rq->futex, FUTEX_WAIT, rq->futex_val, &ts,
					 NULL, 0);
			intr = w < 0 && errno == EINTR && !lock_restart_ok(~old);
		}
		if (intr) {
			fs_lock();
			struct vfs_mount *m = fd_mount(fd);
			m->ops->lock_cancel(m, rq);
			fs_unlock();
			return -EINTR;
		}
		syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, NULL, sizeof(uint64_t));
		r = FD_OP(fd, m->ops->lock(m, f, rq));
		if (r != -VFS_EWAIT) {
			if (rq->slot) {
				/* fd was closed meanwhile: the request never ran */
				fs_lock();
				struct vfs_mount *m = fd_mount(fd);
				m->ops->lock_cancel(m, rq);
				fs_unlock();
			}
			syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, sizeof(uint64_t));
			return r;
		}
	}
}

static long fd_record_lock(int fd, int cmd, struct flock *fl)
{
	if (!fl)
		return -EFAULT;
	struct vfs_lock_req rq = {
		.kind = (cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW || cmd == F_OFD_GETLK)
				? VFS_LK_OFD : VFS_LK_POSIX,
		.get = cmd == F_GETLK || cmd == F_OFD_GETLK,
		.wait = cmd == F_SETLKW || cmd == F_OFD_SETLKW,
		.fl = fl,
	};
	return fd_lock(fd, &rq);
}

long vfs_sys_flock(int fd, int op)
{
	struct flock fl = { 0 };
	switch (op & ~LOCK_NB) {
	case LOCK_SH:
		fl.l_type = F_RDLCK;
		break;
	case LOCK_EX:
		fl.l_type = F_WRLCK;
		break;
	case LOCK_UN:
		fl.l_type = F_UNLCK;
		break;
	default:
		return -EINVAL;
	}
	struct vfs_lock_req rq = { .kind = VFS_LK_FLOCK, .wait = !(op & LOCK_NB), .fl = &fl };
	return fd_lock(fd, &rq);
}

long vfs_sys_fcntl(int fd, int cmd, long arg)
{
	switch (cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		return vfs_sys_dupfd(fd, (int)arg, cmd == F_DUPFD_CLOEXEC);
	case F_GETFD:
	case F_SETFD:
		return VFS_PASS;        /* the placeholder carries the flag */
	case F_GETFL: {
		long r = FD_OP(fd, m->ops->getfl(m, f));
		return r;
	}
	case F_SETFL:
		return FD_OP(fd, m->ops->setfl(m, f, (int)arg));
	case F_GETLK:
	case F_SETLK:
	case F_SETLKW:
	case F_OFD_GETLK:
	case F_OFD_SETLK:
	case F_OFD_SETLKW:
		return fd_record_lock(fd, cmd, (struct flock *)arg);
	case F_GETOWN:
		return 0;
	case F_SETOWN:
		return 0;
	case F_GETLEASE:
		return F_UNLCK;
	case F_ADD_SEALS:
	case F_GET_SEALS:
		return -EINVAL;
	case F_GETPIPE_SZ:
	case F_SETPIPE_SZ:
		return -EBADF;
	default:
		return -EINVAL;
	}
}

long vfs_sys_ioctl(int fd, unsigned long req, void *arg)
{
	switch (req) {
	case FIOCLEX:
	case FIONCLEX: {
		/* The kernel answers ioctl on an O_PATH placeholder with EBADF;
		 * F_SETFD works on it. */
		long r = FD_OP(fd, 0);
		if (r == 0 && syscall(SYS_fcntl, fd, F_SETFD, req == FIOCLEX ? FD_CLOEXEC : 0))
			r = -errno;
		return r;
	}
	case FIONREAD: {
		long r = FD_OP(fd, m->ops->ofd_remaining(m, f));
		if (r >= 0) {
			if (!arg)
				return -EFAULT;
			*(int *)arg = r > 0x7fffffff ? 0x7fffffff : (int)r;
			r = 0;
		}
		return r;
	}
	case FICLONE:
	case FICLONERANGE:
	case FIDEDUPERANGE:
		return -EOPNOTSUPP;
	default: {
		long r = FD_OP(fd, 0);  /* EBADF if closed meanwhile */
		return r < 0 ? r : -ENOTTY;
	}
	}
}

/* ---- exec ---- */

/*
 * "VADSHIM_FDS=fd:mnt:ofd:closed,..." for the new image: every
 * descriptor of ours; those the kernel closes at exec are marked, so the
 * new image drops their references (this image cannot: if execve failed
 * they would still be in use).  Returns the length, or -ENAMETOOLONG.
 */
long vfs_exec_fds(char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "VADSHIM_FDS=");
	int hi = atomic_load(&fdt_hi);
	for (int fd = 0; fd < hi; fd++) {
		vfs_ofd f = fd_ofd(fd);
		if (!f)
			continue;
		long fl = syscall(SYS_fcntl, fd, F_GETFD);
		int closed = fl < 0 || (fl & FD_CLOEXEC);
		int k = snprintf(buf + n, len - n, "%s%d:%d:%u:%d", n > 12 ? "," : "", fd,
				 vfs.fdt[fd].mnt, f, closed);
		if (k < 0 || (size_t)k >= len - n)
			return -ENAMETOOLONG;
		n += (size_t)k;
	}
	return n > 12 ? (long)n : 0;
}
