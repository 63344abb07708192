/*
 * vfs: the mount table, the global lockfs and the per-process fdtable;
 * set-up at init, fork handling, descriptors handed over by exec.
 *
 * Locks and what they guard: see vfs/vfs.h (fdt_lock, rank fdtable ->
 * lockfs, rank lockfs -> the filesystems' own locks -> mman).
 *
 * How a ramfs descriptor is made: the kernel must own the number (lowest
 * free, dup2 targets, close-on-exec, fork and exec inheritance), so each
 * ramfs descriptor is a kernel descriptor too: a dup of one O_PATH
 * descriptor of the segment file (vfs.placeholder_fd).  O_PATH makes any
 * read, write or mmap that reaches the kernel through code the shim does
 * not wrap fail with EBADF instead of touching the wrong bytes.  Which
 * open file description a number stands for is in vfs.fdt[]; across exec
 * the wrapper of execve hands the table over in VADSHIM_FDS.
 */
#include "vfs/vfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mman/mman.h"
#include "shim/log.h"
#include "shim/options.h"
#include "shim/real.h"
#include "vfs/ramfs.h"
#include "vfs/vfs_int.h"

static struct lk_class fdt_class = LK_CLASS_INIT("fdtable", LK_RANK_FDTABLE, true);
static struct lk_class lockfs_class = LK_CLASS_INIT("lockfs", LK_RANK_LOCKFS, true);
/* locking=legacy: a lockfs per filesystem instance, a class of its own so
 * that reports name it. */
static struct lk_class lockfs_inst_class = LK_CLASS_INIT("lockfs_instance", LK_RANK_LOCKFS, true);

struct vfs vfs = {
	.fdt_lock = LK_LOCK_INIT(&fdt_class, "fdtable"),
	.lockfs = LK_LOCK_INIT(&lockfs_class, "lockfs"),
	.lockfs_inst = { LK_LOCK_INIT(&lockfs_inst_class, "lockfs:0"),
			 LK_LOCK_INIT(&lockfs_inst_class, "lockfs:1"),
			 LK_LOCK_INIT(&lockfs_inst_class, "lockfs:2"),
			 LK_LOCK_INIT(&lockfs_inst_class, "lockfs:3") },
	.fs_lockp = &vfs.lockfs,
	.placeholder_fd = -1,
};

static const char *mount_base;     /* last component of the first mount */
static size_t mount_base_len;

bool vfs_path_maybe_mine(const char *path)
{
	if (!vfs.nmounts)
		return false;
	if (vfs_cwd_mine())
		return true;
	/* Any path that can reach the mount names its last component,
	 * except through host symlinks (see README, Limits). */
	const char *p = path;
	while ((p = strchr(p, mount_base[0])) != NULL) {
		if (!strncmp(p, mount_base, mount_base_len))
			return true;
		p++;
	}
	return false;
}

bool vfs_fsck_each;

/* With lockfs held: the filesystem's invariants after a call, or abort
 * with the broken one (ramfs_fsck=1, like mman_check=1). */
void vfs_fsck_now(void)
{
	char msg[256];
	if (!vfs_attached())
		return;
	for (int i = 0; i < vfs.nmounts; i++)
		if (ramfs_fsck(vfs.mounts[i].fs, msg, sizeof(msg))) {
			shim_log("==vadshim== ramfs_fsck failed after a file call: %s\n", msg);
			abort();
		}
}

int vfs_seg_fd(int mnt)
{
	return vfs_attached() ? ramfs_seg_fd(vfs.mounts[mnt].fs) : -1;
}

void vfs_refresh_cred(void)
{
	struct vfs_cred *c = &vfs.cred;
	uid_t r, e, s;
	gid_t rg, eg, sg;
	syscall(SYS_getresuid, &r, &e, &s);
	syscall(SYS_getresgid, &rg, &eg, &sg);
	c->uid = e;
	c->gid = eg;
	c->ruid = r;
	c->rgid = rg;
	long n = syscall(SYS_getgroups, VFS_MAX_GROUPS, c->groups);
	c->ngroups = n > 0 ? (unsigned)n : 0;
}

/* In the arena as shim memory (the program cannot unmap it), or, when
 * the arena is too small for it, outside the arena. */
static void *map_segment(int fd, size_t len)
{
	void *p = mman_shim_map(fd, len);
	if (!p) {
		p = host_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			p = NULL;
	}
	return p;
}

static int move_high(int fd)
{
	long hi = syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 900);
	if (hi < 0)
		return fd;
	syscall(SYS_close, fd);
	return (int)hi;
}

static int bad_mount_option(void)
{
	shim_log("vadshim: bad value '%s' for option 'mount' in VADSHIM_OPTIONS "
		 "(an absolute directory path other than /)\n", shim_opt.mount);
	_exit(2);
}

/* Descriptors handed over by exec: VADSHIM_FDS=fd:mnt:ofd:c,... where c
 * is 1 for a descriptor the kernel closed at exec (its reference is
 * dropped here). */
static void adopt_exec_fds(void)
{
	const char *s = getenv("VADSHIM_FDS");
	if (!s)
		return;
	struct stat ph, st;
	int have_ph = syscall(SYS_fstat, vfs.placeholder_fd, &ph) == 0;
	while (*s) {
		int fd, mnt, closed;
		unsigned ofd;
		int n = 0;
		if (sscanf(s, "%d:%d:%u:%d%n", &fd, &mnt, &ofd, &closed, &n) != 4 || n == 0)
			break;
		s += n;
		if (*s == ',')
			s++;
		if (mnt < 0 || mnt >= vfs.nmounts || ofd == 0)
			continue;
		struct vfs_mount *m = &vfs.mounts[mnt];
		/* A descriptor is adopted only if it is still a placeholder:
		 * the program may have replaced it between exec and here. */
		bool live = !closed && have_ph && (unsigned)fd < VFS_FDT_MAX &&
			    syscall(SYS_fstat, fd, &st) == 0 &&
			    st.st_dev == ph.st_dev && st.st_ino == ph.st_ino;
		if (live) {
			vfs.fdt[fd].mnt = (uint8_t)mnt;
			atomic_store(&vfs.fdt[fd].ofd, ofd);
			vfs_fdt_note(fd);
		} else {
			/* closed by the exec: the kernel released this
			 * process's record locks on the file then */
			fs_lock();
			m->ops->lock_close(m, ofd);
			m->ops->ofd_put(m, ofd);
			fs_unlock();
		}
	}
	unsetenv("VADSHIM_FDS");
}

/* The cwd handed over by exec (VADSHIM_CWD): a directory inside a mount. */
static void adopt_exec_cwd(void)
{
	const char *c = getenv("VADSHIM_CWD");
	if (!c)
		return;
	struct vfs_hostpath hp;
	vfs_sys_chdir(c, &hp);
	unsetenv("VADSHIM_CWD");
}

/*
 * Attach the segment of mount 0 (lockfs held).  Done once, at the first
 * call that needs it; a failure is reported once and leaves the mount
 * answering ENOENT, as an empty directory that does not exist would.
 */
static _Atomic int attach_state;        /* 0 not yet, 1 attached, -1 failed */

int vfs_attach_locked(void)
{
	int st = atomic_load_explicit(&attach_state, memory_order_acquire);
	if (st)
		return st > 0 ? 0 : -ENOENT;
	struct vfs_mount *m = &vfs.mounts[0];
	struct ramfs_config cfg = { .name = shim_opt.ramfs, .size = shim_opt.ramfs_size,
				    .map = mman.ready ? map_segment : NULL };
	struct ramfs *fs;
	char msg[256] = "";
	int r = ramfs_attach(&cfg, &fs, msg, sizeof(msg));
	if (r) {
		shim_log("==vadshim== %s: %s is not mounted\n",
			 msg[0] ? msg : strerrordesc_np(-r), m->prefix);
		atomic_store(&attach_state, -1);
		return -ENOENT;
	}
	m->ops = &ramfs_ops;
	m->fs = fs;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", ramfs_seg_fd(fs));
	long ph = syscall(SYS_openat, AT_FDCWD, path, O_PATH | O_CLOEXEC);
	if (ph < 0) {
		shim_log("==vadshim== cannot open a placeholder descriptor: %s; %s is not mounted\n",
			 strerrordesc_np(errno), m->prefix);
		atomic_store(&attach_state, -1);
		return -ENOENT;
	}
	vfs.placeholder_fd = move_high((int)ph);
	atomic_store_explicit(&attach_state, 1, memory_order_release);
	return 0;
}

bool vfs_attached(void)
{
	return atomic_load_explicit(&attach_state, memory_order_acquire) > 0;
}

int vfs_init(void)
{
	vfs_refresh_cred();
	mode_t um = (mode_t)syscall(SYS_umask, 022);
	syscall(SYS_umask, um);
	vfs.cred.umask = um;
	if (shim_opt.locking_legacy) {
		vfs.fs_lockp = &vfs.lockfs_inst[0];
		vfs_map_legacy_init();
	}
	const char *mp = shim_opt.mount;
	if (!mp[0])
		return 0;
	size_t len = strlen(mp);
	while (len > 1 && mp[len - 1] == '/')
		len--;
	if (mp[0] != '/' || len <= 1 || len >= sizeof(vfs.mounts[0].prefix) ||
	    strstr(mp, "/./") || strstr(mp, "/../") || strstr(mp, "//"))
		bad_mount_option();
	struct vfs_mount *m = &vfs.mounts[0];
	memcpy(m->prefix, mp, len);
	m->prefix[len] = 0;
	m->prefix_len = len;
	const char *slash = strrchr(m->prefix, '/');
	if (slash == m->prefix)
		strcpy(m->parent, "/");
	else
		snprintf(m->parent, sizeof(m->parent), "%.*s", (int)(slash - m->prefix), m->prefix);
	mount_base = slash + 1;
	mount_base_len = strlen(mount_base);
	if (!mount_base_len)
		bad_mount_option();

	vfs.nmounts = 1;
	vfs_fsck_each = shim_opt.ramfs_fsck;
	vfs.ready = true;
	lk_fork_register(&vfs.fdt_lock);
	lk_fork_register(vfs.fs_lockp);
	/* Descriptors or a cwd handed over by exec need the segment now;
	 * otherwise it is attached by the first call that reaches /ramfs, so
	 * that programs that never touch it pay nothing at start-up. */
	if (getenv("VADSHIM_FDS") || getenv("VADSHIM_CWD")) {
		fs_lock();
		int r = vfs_attach_locked();
		fs_unlock();
		if (r == 0) {
			adopt_exec_fds();
			adopt_exec_cwd();
		}
	}
	return 0;
}

/*
 * fork: the child shares every open file description of the parent, so
 * each descriptor of ours gains one reference.  The prepare handler
 * already holds fdt_lock and lockfs (lk_fork_register), so the table
 * cannot change between the fork and here.
 */
void vfs_fork_child(void)
{
	if (!vfs.ready || !vfs_attached())
		return;
	lk_lock(&vfs.fdt_lock);
	fs_lock();
	/* a slot of its own in the process table before it takes references */
	ramfs_forked(vfs.mounts[0].fs);
	int hi = vfs_fdt_hi();
	for (int fd = 0; fd < hi; fd++) {
		uint32_t ofd = atomic_load_explicit(&vfs.fdt[fd].ofd, memory_order_relaxed);
		if (ofd) {
			struct vfs_mount *m = &vfs.mounts[vfs.fdt[fd].mnt];
			m->ops->ofd_get(m, ofd);
		}
	}
	uint64_t c = atomic_load(&vfs_cwd);
	if (c)
		vfs.mounts[cwd_mount(c)].ops->node_hold(&vfs.mounts[cwd_mount(c)], (vfs_node)c, 1);
	vfs_map_fork_child();
	fs_unlock();
	lk_unlock(&vfs.fdt_lock);
}
