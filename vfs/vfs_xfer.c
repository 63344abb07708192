/*
 * vfs_xfer: tokens for ramfs descriptors passed over UNIX sockets (see
 * vfs/vfs_xfer.h).  Host calls are raw system calls: this runs inside the
 * wrappers of sendmsg/recvmsg and must not re-enter the shim.
 *
 * Locks: fdt_lock (the table), then lockfs (references), as every other
 * descriptor call.  The token's claim word is shared between processes
 * and changed by one atomic compare-and-swap only.
 */
#include "vfs/vfs_xfer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vfs/vfs_int.h"

#define XFER_MAGIC "vadshim-fd v1"
#define XFER_SIZE 4096
#define XFER_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

struct xfer_token {
	char magic[16];
	uint64_t dev, ino;      /* the segment's shm file */
	uint32_t mnt, ofd;
	uint32_t sender;        /* pid, for diagnostics */
	uint32_t claimed;       /* 0 until a receiver adopts it: then its pid */
};

static int seg_ident(int mnt, uint64_t *dev, uint64_t *ino)
{
	struct stat st;
	int sfd = vfs_seg_fd(mnt);
	if (sfd < 0 || syscall(SYS_fstat, sfd, &st) < 0)
		return -EBADF;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 0;
}

int vfs_xfer_token(int fd)
{
	struct xfer_token t;
	memset(&t, 0, sizeof(t));
	memcpy(t.magic, XFER_MAGIC, sizeof(XFER_MAGIC));
	t.sender = (uint32_t)syscall(SYS_getpid);

	lk_lock(&vfs.fdt_lock);
	vfs_ofd f = fd_ofd(fd);
	int mi = (unsigned)fd < VFS_FDT_MAX ? vfs.fdt[fd].mnt : 0;
	if (!f || seg_ident(mi, &t.dev, &t.ino)) {
		lk_unlock(&vfs.fdt_lock);
		return -EBADF;
	}
	struct vfs_mount *m = &vfs.mounts[mi];
	fs_lock();
	m->ops->ofd_get(m, f);
	if (m->ops->ofd_own)
		m->ops->ofd_own(m, f, -1);      /* in flight: nobody's */
	fs_unlock();
	lk_unlock(&vfs.fdt_lock);
	t.mnt = (uint32_t)mi;
	t.ofd = f;

	long tok = syscall(SYS_memfd_create, "vadshim-fd", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int e = errno;
	if (tok >= 0 && (syscall(SYS_ftruncate, tok, (off_t)XFER_SIZE) < 0 ||
			 syscall(SYS_pwrite64, tok, &t, sizeof(t), (off_t)0) != (long)sizeof(t) ||
			 syscall(SYS_fcntl, tok, F_ADD_SEALS, XFER_SEALS) < 0)) {
		e = errno;
		syscall(SYS_close, tok);
		tok = -1;
	}
	if (tok < 0) {
		fs_lock();
		if (m->ops->ofd_own)
			m->ops->ofd_own(m, f, 1);
		m->ops->ofd_put(m, f);
		fs_unlock();
		return -e;
	}
	return (int)tok;
}

static int token_read(int tok, struct xfer_token *t)
{
	if (syscall(SYS_pread64, tok, t, sizeof(*t), (off_t)0) != (long)sizeof(*t) ||
	    memcmp(t->magic, XFER_MAGIC, sizeof(XFER_MAGIC)))
		return -EINVAL;
	return 0;
}

void vfs_xfer_token_unsent(int tok)
{
	struct xfer_token t;
	if (token_read(tok, &t) == 0 && (int)t.mnt < vfs.nmounts) {
		struct vfs_mount *m = &vfs.mounts[t.mnt];
		fs_lock();
		if (m->ops->ofd_own)
			m->ops->ofd_own(m, t.ofd, 1);
		m->ops->ofd_put(m, t.ofd);
		fs_unlock();
	}
	syscall(SYS_close, tok);
}

void vfs_xfer_token_sent(int tok)
{
	syscall(SYS_close, tok);
}

/*
 * One claim per token: the first receiver that swaps its pid into the
 * claim word takes over the sender's reference (1).  A token this process
 * claimed already (MSG_PEEK installs the descriptors too, then the real
 * receive does again) is adopted with a reference of its own (2).  0: not
 * ours to adopt.
 */
static int token_claim(int tok)
{
	void *p = (void *)syscall(SYS_mmap, NULL, (size_t)XFER_SIZE, PROT_READ | PROT_WRITE,
				  MAP_SHARED, tok, (off_t)0);
	if ((uintptr_t)p >= (uintptr_t)-4095)
		return 0;
	uint32_t seen = 0, me = (uint32_t)syscall(SYS_getpid);
	int r = __atomic_compare_exchange_n(&((struct xfer_token *)p)->claimed, &seen, me, false,
					    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) ? 1 :
		seen == me ? 2 : 0;
	syscall(SYS_munmap, p, (size_t)XFER_SIZE);
	return r;
}

bool vfs_xfer_adopt(int fd, bool cloexec)
{
	/* Cheap test first: only a memfd with exactly our seals can be one. */
	if (!vfs.ready || (unsigned)fd >= VFS_FDT_MAX ||
	    syscall(SYS_fcntl, fd, F_GET_SEALS) != XFER_SEALS)
		return false;
	struct xfer_token t;
	if (token_read(fd, &t) || t.mnt >= (uint32_t)vfs.nmounts || !t.ofd)
		return false;
	int saved = errno;
	bool done = false;
	int claim = 0;
	lk_lock(&vfs.fdt_lock);
	fs_lock();
	uint64_t dev, ino;
	if (vfs_attach_locked() == 0 && seg_ident((int)t.mnt, &dev, &ino) == 0 &&
	    dev == t.dev && ino == t.ino && !fd_ofd(fd) && (claim = token_claim(fd)) != 0 &&
	    syscall(SYS_dup3, vfs.placeholder_fd, fd, cloexec ? O_CLOEXEC : 0) == fd) {
		struct vfs_mount *m = &vfs.mounts[t.mnt];
		if (claim == 2)
			m->ops->ofd_get(m, t.ofd);
		else if (m->ops->ofd_own)
			m->ops->ofd_own(m, t.ofd, 1);   /* the sender's, now ours */
		vfs.fdt[fd].mnt = (uint8_t)t.mnt;
		atomic_store_explicit(&vfs.fdt[fd].ofd, t.ofd, memory_order_release);
		vfs_fdt_note(fd);
		done = true;
	}
	fs_unlock();
	lk_unlock(&vfs.fdt_lock);
	if (done && fd <= 2 && shim_stdio_fd_changed)
		shim_stdio_fd_changed(fd);
	errno = saved;
	return done;
}
