/*
 * Wrappers of dlopen, dlmopen and dlerror: shared objects stored in the
 * ramfs.
 *
 * The dynamic loader opens and maps files with its own system calls, so
 * a path in /ramfs does not exist for it.  A dlopen whose path names a
 * ramfs file copies the file into a memfd and loads "/proc/self/fd/N";
 * the memfd is closed after the load (the loader keeps its mappings).
 * The same file opened again (by the same or another path: keyed by the
 * ramfs device and inode, and the link-map namespace) must give the same
 * handle, as the loader's own name and inode checks give natively: the
 * table below remembers under which name each file was loaded, and that
 * name is given to the loader again while the object is still loaded
 * (it then matches by name without opening anything).  A new load checks
 * with RTLD_NOLOAD that no other object was loaded under the same
 * "/proc/self/fd/N" name (the number of an earlier, closed memfd) and
 * moves its memfd to another number if one was.  dlerror() reports the
 * program's path instead of the memfd's name.
 *
 * Shared state: dl_tab[] (the loaded ramfs objects) under dl_lock (leaf
 * "shim_dl"), never held across a call into the loader (constructors of
 * the loaded object run there and may call anything).  dl_err is per
 * thread.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim/lk.h"
#include "shim/real_fs.h"
#include "shim/shim.h"
#include "vfs/vfs.h"

#define DL_TAB 64
#define DL_NAME 40

struct dl_ent {
	dev_t dev;
	ino_t ino;
	Lmid_t lmid;
	void *handle;
	char name[DL_NAME];     /* "/proc/self/fd/N" it was loaded under; "" = free */
	char path[256];         /* the program's path, for dlerror ("" if longer) */
};

static struct lk_class dl_class = LK_CLASS_INIT("shim_dl", LK_RANK_LEAF + 31, false);
static struct lk_lock dl_lock = LK_LOCK_INIT(&dl_class, "shim_dl");
static struct dl_ent dl_tab[DL_TAB];
static unsigned dl_next;        /* round-robin victim when the table is full */

/* The last failed load of this thread: the memfd name and the program's path. */
static __thread struct {
	char tmp[DL_NAME];
	char path[PATH_MAX];
	char msg[PATH_MAX + 256];
} dl_err;

SHIM_REAL_DECL(dlopen);
SHIM_REAL_DECL(dlmopen);
SHIM_REAL_DECL(dlerror);
SHIM_REAL_DECL(dlclose);

static void *real_open(Lmid_t lmid, bool m, const char *name, int mode)
{
	return m ? SHIM_REAL(dlmopen)(lmid, name, mode) : SHIM_REAL(dlopen)(name, mode);
}

/* A copy of ramfs descriptor fd in a fresh memfd; -errno. */
static int copy_to_memfd(int fd, const char *path)
{
	const char *base = strrchr(path, '/');
	char nm[64];
	snprintf(nm, sizeof(nm), "vadshim-dl:%s", base ? base + 1 : path);
	int mfd = (int)syscall(SYS_memfd_create, nm, MFD_CLOEXEC);
	if (mfd < 0)
		return -errno;
	char buf[16384];
	off_t off = 0;
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf), off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				return mfd;
			int e = errno;
			syscall(SYS_close, mfd);
			return -e;
		}
		for (ssize_t done = 0; done < n;) {
			long w = syscall(SYS_pwrite64, mfd, buf + done, (size_t)(n - done), off + done);
			if (w < 0) {
				int e = errno;
				syscall(SYS_close, mfd);
				return -e;
			}
			done += w;
		}
		off += n;
	}
}

/* The table entry of (dev, ino, lmid), or NULL (dl_lock held). */
static struct dl_ent *dl_find(dev_t dev, ino_t ino, Lmid_t lmid)
{
	for (int i = 0; i < DL_TAB; i++)
		if (dl_tab[i].name[0] && dl_tab[i].dev == dev && dl_tab[i].ino == ino &&
		    dl_tab[i].lmid == lmid)
			return &dl_tab[i];
	return NULL;
}

/* Is the object loaded under name still the one the entry recorded? */
static bool still_loaded(const char *name, Lmid_t lmid, bool m, void *handle)
{
	void *h = real_open(lmid, m, name, RTLD_LAZY | RTLD_NOLOAD);
	if (!h)
		return false;
	SHIM_REAL(dlclose)(h);
	return h == handle;
}

static void *dl_ramfs(Lmid_t lmid, bool m, const char *path, int fd, int mode)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return NULL;
	char name[DL_NAME] = "";
	void *handle = NULL;

	/* Loaded already: give the loader the name it knows. */
	lk_lock(&dl_lock);
	struct dl_ent *e = dl_find(st.st_dev, st.st_ino, lmid);
	if (e) {
		memcpy(name, e->name, sizeof(name));
		handle = e->handle;
	}
	lk_unlock(&dl_lock);
	if (name[0] && still_loaded(name, lmid, m, handle))
		return real_open(lmid, m, name, mode);
	if (mode & RTLD_NOLOAD)
		return NULL;

	int mfd = copy_to_memfd(fd, path);
	if (mfd < 0) {
		errno = -mfd;
		return NULL;
	}
	/* A name no loaded object has: the loader would otherwise match an
	 * object loaded from an earlier memfd of the same number. */
	for (int tries = 0; tries < 8; tries++) {
		snprintf(name, sizeof(name), "/proc/self/fd/%d", mfd);
		void *h = real_open(lmid, m, name, RTLD_LAZY | RTLD_NOLOAD);
		if (!h)
			break;
		SHIM_REAL(dlclose)(h);
		int other = (int)syscall(SYS_fcntl, mfd, F_DUPFD_CLOEXEC, mfd + 1);
		syscall(SYS_close, mfd);
		if (other < 0)
			return NULL;
		mfd = other;
	}
	(void)SHIM_REAL(dlerror)();     /* the NOLOAD probe's "not loaded" */
	handle = real_open(lmid, m, name, mode);
	syscall(SYS_close, mfd);
	if (!handle) {
		memcpy(dl_err.tmp, name, sizeof(name));
		snprintf(dl_err.path, sizeof(dl_err.path), "%s", path);
		return NULL;
	}
	lk_lock(&dl_lock);
	/* the name now belongs to this object only */
	for (int i = 0; i < DL_TAB; i++)
		if (!strcmp(dl_tab[i].name, name) && dl_tab[i].lmid == lmid)
			dl_tab[i].name[0] = 0;
	e = dl_find(st.st_dev, st.st_ino, lmid);
	if (!e) {
		for (int i = 0; i < DL_TAB && !e; i++)
			if (!dl_tab[i].name[0])
				e = &dl_tab[i];
		if (!e)
			e = &dl_tab[dl_next++ % DL_TAB];
	}
	*e = (struct dl_ent){ .dev = st.st_dev, .ino = st.st_ino, .lmid = lmid, .handle = handle };
	memcpy(e->name, name, sizeof(name));
	if (strlen(path) < sizeof(e->path))
		strcpy(e->path, path);
	lk_unlock(&dl_lock);
	return handle;
}

/* Does path name a file in a mount?  Decides the route before the loader
 * is called; a host path (or none, or a bare name) goes to the loader. */
static bool dl_is_ramfs(const char *path)
{
	struct stat st;
	if (!path || !strchr(path, '/') || !vfs_call_maybe_mine(AT_FDCWD, path))
		return false;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool mine = vfs_fd_mine(fd) && fstat(fd, &st) == 0;
	close(fd);
	return mine;
}

static void *dl_common(Lmid_t lmid, bool m, const char *path, int mode)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || !vfs_fd_mine(fd)) {
		/* replaced by a host file meanwhile, or gone */
		if (fd >= 0)
			close(fd);
		return real_open(lmid, m, path, mode);
	}
	struct stat st;
	if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
		/* the loader's message for a directory, named after path */
		close(fd);
		strcpy(dl_err.tmp, "/");
		snprintf(dl_err.path, sizeof(dl_err.path), "%s", path);
		return real_open(lmid, m, "/", mode);
	}
	void *h = dl_ramfs(lmid, m, path, fd, mode);
	int e = errno;
	close(fd);
	errno = e;
	return h;
}

__attribute__((used)) void *vadshim_dl_ramfs_open(const char *path, int mode)
{
	return dl_common(LM_ID_BASE, false, path, mode);
}

__attribute__((used)) void *vadshim_dl_ramfs_mopen(Lmid_t lmid, const char *path, int mode)
{
	return dl_common(lmid, true, path, mode);
}

/*
 * The loader takes the caller of dlopen from its return address: the
 * caller's namespace, its RUNPATH for bare names, $ORIGIN.  So the
 * exported entry points are tail jumps that keep the program's return
 * address: a small routine picks the target (the loader's dlopen, or the
 * ramfs path above) and the entry jumps there with the arguments intact.
 */
__attribute__((used)) void *vadshim_dl_route(const char *path)
{
	dl_err.tmp[0] = 0;
	return dl_is_ramfs(path) ? (void *)vadshim_dl_ramfs_open : (void *)SHIM_REAL(dlopen);
}

__attribute__((used)) void *vadshim_dl_mroute(const char *path)
{
	dl_err.tmp[0] = 0;
	return dl_is_ramfs(path) ? (void *)vadshim_dl_ramfs_mopen : (void *)SHIM_REAL(dlmopen);
}

#if defined(__x86_64__)
/* dlopen(path, mode): path in rdi.  dlmopen(lmid, path, mode): path in rsi. */
__asm__(
	"	.text\n"
	"	.globl dlopen\n"
	"	.type dlopen, @function\n"
	"dlopen:\n"
	"	.cfi_startproc\n"
	"	push %rdi\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	push %rsi\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	sub $8, %rsp\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	call vadshim_dl_route\n"
	"	add $8, %rsp\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	pop %rsi\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	pop %rdi\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	jmp *%rax\n"
	"	.cfi_endproc\n"
	"	.size dlopen, .-dlopen\n"
	"	.globl dlmopen\n"
	"	.type dlmopen, @function\n"
	"dlmopen:\n"
	"	.cfi_startproc\n"
	"	push %rdi\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	push %rsi\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	push %rdx\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	mov %rsi, %rdi\n"
	"	call vadshim_dl_mroute\n"
	"	pop %rdx\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	pop %rsi\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	pop %rdi\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	jmp *%rax\n"
	"	.cfi_endproc\n"
	"	.size dlmopen, .-dlmopen\n");
#else
/* Elsewhere the loader sees the shim as the caller (README, Limits). */
SHIM_EXPORT void *dlopen(const char *path, int mode)
{
	void *(*f)(const char *, int) = (void *(*)(const char *, int))vadshim_dl_route(path);
	return f(path, mode);
}

SHIM_EXPORT void *dlmopen(Lmid_t lmid, const char *path, int mode)
{
	void *(*f)(Lmid_t, const char *, int) =
		(void *(*)(Lmid_t, const char *, int))vadshim_dl_mroute(path);
	return f(lmid, path, mode);
}
#endif

/* A message about an object loaded from the ramfs names its memfd: name
 * the program's path instead. */
static bool dl_rename_loaded(const char *s)
{
	bool done = false;
	lk_lock(&dl_lock);
	for (int i = 0; i < DL_TAB && !done; i++) {
		size_t n = strlen(dl_tab[i].name);
		if (n && dl_tab[i].path[0] && !strncmp(s, dl_tab[i].name, n) && s[n] == ':') {
			snprintf(dl_err.msg, sizeof(dl_err.msg), "%s%s", dl_tab[i].path, s + n);
			done = true;
		}
	}
	lk_unlock(&dl_lock);
	return done;
}

SHIM_EXPORT char *dlerror(void)
{
	char *s = SHIM_REAL(dlerror)();
	size_t n = strlen(dl_err.tmp);
	if (s && n && !strncmp(s, dl_err.tmp, n) && (s[n] == ':' || s[n] == 0)) {
		snprintf(dl_err.msg, sizeof(dl_err.msg), "%s%s", dl_err.path, s + n);
		s = dl_err.msg;
	} else if (s && !strncmp(s, "/proc/self/fd/", 14) && dl_rename_loaded(s)) {
		s = dl_err.msg;
	}
	dl_err.tmp[0] = 0;
	return s;
}
