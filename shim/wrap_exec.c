/*
 * Wrappers of exec and vfork.
 *
 * exec: ramfs descriptors are kernel placeholders, so the numbers survive
 * exec by themselves; which open description each one stands for does
 * not.  execve adds VADSHIM_FDS to the environment it passes (not to
 * environ: shells pass their own envp), and the new image's shim adopts
 * the descriptors at init.  glibc's exec helpers (execvp, execl, ...)
 * call its internal execve, which no preload can reach, so each of them
 * is re-implemented here on top of the wrapped execve; execveat and
 * fexecve go the same way.  The same place puts LD_PRELOAD and
 * VADSHIM_OPTIONS back into an envp that dropped them (preserve_env=1)
 * and runs programs stored in a mount, which the kernel cannot read
 * (exec_ramfs: an ELF binary from a memfd copy, a #! script through its
 * interpreter).
 *
 * system and popen are served with fork and the wrapped execve when the
 * ramfs is in play (below); posix_spawn in wrap_spawn.c.
 *
 * vfork: a vfork child shares the parent's memory, so anything the shim
 * does in the child (a dup2 before exec changes the fdtable) would change
 * the parent.  vfork is served as fork, which a correct vfork program
 * cannot tell apart.
 *
 * Shared state: popen_tab (FILE -> child pid of the shim's popen), guarded
 * by popen_lock, a leaf lock (rank LK_RANK_LEAF + 20); keep_var, written
 * once by the constructor before any thread and read-only after.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim/exec_int.h"
#include "shim/lk.h"
#include "shim/options.h"
#include "shim/real_fs.h"
#include "shim/shim.h"
#include "vfs/vfs_sys.h"

extern char **environ;

SHIM_REAL_DECL(execve);

#define EXEC_MAX_ENV 8192
#define EXEC_MAX_INTERP 5       /* #! levels the kernel follows (else ELOOP) */

/*
 * preserve_env: "LD_PRELOAD=..." and "VADSHIM_OPTIONS=..." as this
 * process started with them, put back into an envp that dropped them.
 * Written once by the constructor below (before any thread): no lock.
 */
static char *keep_var[2];

__attribute__((constructor(102))) static void exec_init(void)
{
	static const char *const names[2] = { "LD_PRELOAD", "VADSHIM_OPTIONS" };
	for (int i = 0; i < 2; i++) {
		const char *v = getenv(names[i]);
		if (!v)
			continue;
		size_t n = strlen(names[i]), l = strlen(v);
		char *s = malloc(n + l + 2);
		if (!s)
			continue;
		memcpy(s, names[i], n);
		s[n] = '=';
		memcpy(s + n + 1, v, l + 1);
		keep_var[i] = s;
	}
}

static bool env_has(char *const envp[], const char *var)
{
	size_t n = strcspn(var, "=") + 1;
	for (size_t i = 0; envp && envp[i]; i++)
		if (!strncmp(envp[i], var, n))
			return true;
	return false;
}

/* Would the wrapped execve add a variable to envp for preserve_env? */
bool env_needs_fix(char *const envp[])
{
	if (!shim_opt.preserve_env)
		return false;
	for (int i = 0; i < 2; i++)
		if (keep_var[i] && !env_has(envp, keep_var[i]))
			return true;
	return false;
}

/* Does an exec from this process need the shim's hand-over? */
bool exec_needs_shim(void)
{
	return vfs.ready && (vfs_fdt_hi() || vfs_cwd_mine());
}

/* Can a program of kernel's credentials cred run a file of mode st? */
static bool may_exec(const struct stat *st)
{
	const struct vfs_cred *c = &vfs.cred;
	mode_t m = st->st_mode;
	if (c->uid == 0)
		return (m & 0111) != 0;
	if (c->uid == st->st_uid)
		return m & 0100;
	bool in_group = c->gid == st->st_gid;
	for (unsigned i = 0; i < c->ngroups && !in_group; i++)
		in_group = c->groups[i] == st->st_gid;
	return in_group ? (m & 0010) : (m & 0001);
}

static long host_exec(int dirfd, const char *path, char *const argv[], char *const env[],
		      int flags)
{
	if (dirfd == AT_FDCWD && !flags)
		SHIM_REAL(execve)(path, argv, env);
	else
		syscall(SYS_execveat, dirfd, path, argv, env, flags);
	return -errno;
}

/* A copy of ramfs file fd (an open description of ours) in a memfd. */
static int copy_to_memfd(int fd, const char *name, bool cloexec)
{
	const char *base = strrchr(name, '/');
	base = base && base[1] ? base + 1 : (name[0] ? name : "vadshim-exec");
	int mfd = (int)syscall(SYS_memfd_create, base, cloexec ? MFD_CLOEXEC : 0);
	if (mfd < 0)
		return -errno;
	char buf[32768];
	off_t off = 0;
	for (;;) {
		struct iovec v = { buf, sizeof(buf) };
		long n = vfs_sys_rw(fd, &v, 1, off, 0, 0);
		if (n < 0) {
			syscall(SYS_close, mfd);
			return (int)n;
		}
		if (n == 0)
			break;
		for (long w = 0; w < n;) {
			long k = syscall(SYS_write, mfd, buf + w, (size_t)(n - w));
			if (k < 0) {
				k = -errno;
				syscall(SYS_close, mfd);
				return (int)k;
			}
			w += k;
		}
		off += n;
	}
	return mfd;
}

static long exec_at(int dirfd, const char *path, char *const argv[], char *const env[],
		    int flags, int depth);

/*
 * A program stored in a mount: the kernel cannot read it, so the shim
 * does what the kernel's binfmt handlers would.  An ELF binary is copied
 * to a close-on-exec memfd and run with execveat(AT_EMPTY_PATH) (the
 * memfd closes at exec: nothing leaks into the new image); a #! script
 * runs its interpreter with the script's path, as the kernel does, and
 * the interpreter (shimmed) opens the script through the shim.  A script
 * named by a descriptor or relative to a directory descriptor goes over
 * as /dev/fd/N of a memfd copy, left open as the kernel leaves its
 * /dev/fd/N.
 */
static long exec_ramfs(int dirfd, const char *path, const struct stat *st,
		       char *const argv[], char *const env[], int flags, int depth)
{
	if (S_ISLNK(st->st_mode) && (flags & AT_SYMLINK_NOFOLLOW))
		return -ELOOP;
	if (!S_ISREG(st->st_mode) || !may_exec(st))
		return -EACCES;
	bool by_fd = !path[0];
	int fd = dirfd;
	if (!by_fd) {
		struct vfs_hostpath hp;
		int of = O_RDONLY | O_CLOEXEC | ((flags & AT_SYMLINK_NOFOLLOW) ? O_NOFOLLOW : 0);
		long r = vfs_sys_openat(dirfd, path, of, 0, &hp);
		if (r == VFS_PASS)
			return -ENOENT;
		if (r < 0)
			return r;
		fd = (int)r;
	}
	char hdr[256];
	struct iovec v = { hdr, sizeof(hdr) - 1 };
	long n = vfs_sys_rw(fd, &v, 1, 0, 0, 0);
	long ret;
	if (n >= 4 && !memcmp(hdr, "\177ELF", 4)) {
		int mfd = copy_to_memfd(fd, path[0] ? path : "vadshim-exec", true);
		if (!by_fd)
			vfs_sys_close(fd);
		if (mfd < 0)
			return mfd;
		syscall(SYS_execveat, mfd, "", argv, env, AT_EMPTY_PATH);
		ret = -errno;
		syscall(SYS_close, mfd);
		return ret;
	}
	if (n < 2 || hdr[0] != '#' || hdr[1] != '!') {
		if (!by_fd)
			vfs_sys_close(fd);
		return n < 0 ? n : -ENOEXEC;
	}
	/* The kernel's #! line: "#!" blanks INTERP [blanks ARG] blanks, one
	 * line within the first 256 bytes; no interpreter is ENOEXEC. */
	hdr[n] = 0;
	char *nl = memchr(hdr, '\n', (size_t)n);
	if (nl)
		*nl = 0;
	char *ip = hdr + 2;
	while (*ip == ' ' || *ip == '\t')
		ip++;
	char *ie = ip;
	while (*ie && *ie != ' ' && *ie != '\t')
		ie++;
	if (ie == ip || (!nl && !*ie && n == (long)sizeof(hdr) - 1)) {
		if (!by_fd)
			vfs_sys_close(fd);
		return -ENOEXEC;
	}
	char *arg = ie;
	if (*arg) {
		*arg++ = 0;
		while (*arg == ' ' || *arg == '\t')
			arg++;
		char *e = arg + strlen(arg);
		while (e > arg && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = 0;
	}
	char fdname[32];
	const char *script = path;
	int mfd = -1;
	if (by_fd || (dirfd != AT_FDCWD && path[0] != '/')) {
		/* The kernel names such a script /dev/fd/N[/path], which a
		 * close-on-exec N cannot give the interpreter: ENOENT. */
		long fl = syscall(SYS_fcntl, dirfd, F_GETFD);
		mfd = fl >= 0 && (fl & FD_CLOEXEC) ? -ENOENT : copy_to_memfd(fd, path, false);
		if (mfd < 0) {
			if (!by_fd)
				vfs_sys_close(fd);
			return mfd;
		}
		snprintf(fdname, sizeof(fdname), "/dev/fd/%d", mfd);
		script = fdname;
	}
	if (!by_fd)
		vfs_sys_close(fd);
	size_t argc = 0;
	while (argv && argv[argc])
		argc++;
	char **nargv = alloca((argc + 4) * sizeof(char *));
	size_t k = 0;
	nargv[k++] = ip;
	if (*arg)
		nargv[k++] = arg;
	nargv[k++] = (char *)script;
	for (size_t i = 1; i < argc; i++)
		nargv[k++] = argv[i];
	nargv[k] = NULL;
	ret = exec_at(AT_FDCWD, ip, nargv, env, 0, depth + 1);
	if (mfd >= 0)
		syscall(SYS_close, mfd);
	return ret;     /* a missing or refused interpreter: its own error */
}

/* exec of (dirfd, path) with env already prepared; returns -errno. */
static long exec_at(int dirfd, const char *path, char *const argv[], char *const env[],
		    int flags, int depth)
{
	if (depth > EXEC_MAX_INTERP)
		return -ELOOP;
	struct vfs_hostpath hp;
	if (vfs.ready && path &&
	    (vfs_fd_mine(dirfd) || (path[0] && vfs_path_maybe_mine(path)))) {
		struct stat st;
		long r = vfs_sys_fstatat(dirfd, path, &st,
					 flags & (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH), &hp);
		if (r != VFS_PASS)
			return r < 0 ? r : exec_ramfs(dirfd, path, &st, argv, env, flags, depth);
		path = hp.path;
	}
	return host_exec(dirfd, path, argv, env, flags);
}

/*
 * Every exec of the shim goes through here: the environment for the new
 * image is envp without stale hand-over variables, plus VADSHIM_FDS (the
 * descriptor table), VADSHIM_CWD (a cwd inside a mount) and, with
 * preserve_env=1, LD_PRELOAD and VADSHIM_OPTIONS when envp dropped them.
 */
static int do_exec(int dirfd, const char *path, char *const argv[], char *const envp[],
		   int flags)
{
	if (!exec_needs_shim() && !env_needs_fix(envp) &&
	    !(vfs.ready && path && (vfs_fd_mine(dirfd) || vfs_path_maybe_mine(path)))) {
		errno = (int)-host_exec(dirfd, path, argv, envp, flags);
		return -1;
	}
	static __thread char fds[16384];
	static __thread char cwd[PATH_MAX + 16];
	long n = vfs.ready && vfs_fdt_hi() ? vfs_exec_fds(fds, sizeof(fds)) : 0;
	if (n < 0) {
		errno = E2BIG;
		return -1;
	}
	/* A cwd inside a mount goes over as a path the new image chdirs to. */
	bool have_cwd = false;
	if (vfs.ready && vfs_cwd_mine()) {
		memcpy(cwd, "VADSHIM_CWD=", 12);
		long r = vfs_sys_getcwd(cwd + 12, sizeof(cwd) - 12);
		have_cwd = r > 0;
	}
	size_t cnt = 0;
	while (envp && envp[cnt])
		cnt++;
	if (cnt + 5 > EXEC_MAX_ENV) {
		errno = E2BIG;
		return -1;
	}
	char **env = alloca((cnt + 5) * sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; i < cnt; i++)
		if (strncmp(envp[i], "VADSHIM_FDS=", 12) && strncmp(envp[i], "VADSHIM_CWD=", 12))
			env[k++] = envp[i];
	if (shim_opt.preserve_env)
		for (int i = 0; i < 2; i++)
			if (keep_var[i] && !env_has(envp, keep_var[i]))
				env[k++] = keep_var[i];
	if (n > 0)
		env[k++] = fds;
	if (have_cwd)
		env[k++] = cwd;
	env[k] = NULL;
	errno = (int)-exec_at(dirfd, path, argv, env, flags, 0);
	return -1;
}

SHIM_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	return do_exec(AT_FDCWD, path, argv, envp, 0);
}

SHIM_EXPORT int execveat(int dirfd, const char *path, char *const argv[],
			 char *const envp[], int flags)
{
	if (flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) {
		errno = EINVAL;
		return -1;
	}
	return do_exec(dirfd, path, argv, envp, flags);
}

SHIM_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	if (fd < 0 || !SHIM_LAUNDER(argv) || !SHIM_LAUNDER(envp)) {
		errno = EINVAL;
		return -1;
	}
	return do_exec(fd, "", argv, envp, AT_EMPTY_PATH);
}

SHIM_EXPORT int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

/* A file found but not executable as a binary: run it with /bin/sh, as
 * glibc's execvp does for ENOEXEC. */
static int exec_script(const char *file, char *const argv[], char *const envp[])
{
	size_t argc = 0;
	while (argv[argc])
		argc++;
	char **nargv = alloca((argc + 2) * sizeof(char *));
	nargv[0] = (char *)"/bin/sh";
	nargv[1] = (char *)file;
	for (size_t i = 1; i <= argc; i++)
		nargv[i + 1] = argv[i];
	if (argc == 0)
		nargv[2] = NULL;
	return execve("/bin/sh", nargv, envp);
}

/* execvp's search of PATH; script: run a file the kernel refuses with
 * ENOEXEC with /bin/sh (execvp does, posix_spawnp does not). */
int shim_exec_search(const char *file, char *const argv[], char *const envp[], bool script)
{
	if (!SHIM_LAUNDER(file) || !*file) {
		errno = ENOENT;
		return -1;
	}
	if (strchr(file, '/')) {
		execve(file, argv, envp);
		if (errno == ENOEXEC && script)
			exec_script(file, argv, envp);
		return -1;
	}
	const char *path = getenv("PATH");
	if (!path)
		path = "/bin:/usr/bin";
	size_t flen = strlen(file);
	if (flen > NAME_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int got_eacces = 0;
	char buf[PATH_MAX];
	for (const char *p = path;; p++) {
		const char *e = strchrnul(p, ':');
		size_t dl = (size_t)(e - p);
		if (dl + flen + 2 <= sizeof(buf)) {
			memcpy(buf, p, dl);
			size_t o = dl;
			if (dl)
				buf[o++] = '/';
			memcpy(buf + o, file, flen + 1);
			execve(buf, argv, envp);
			switch (errno) {
			case EACCES:
				got_eacces = 1;
				break;
			case ENOENT:
			case ESTALE:
			case ENOTDIR:
			case ENODEV:
			case ETIMEDOUT:
				break;
			case ENOEXEC:
				if (script)
					exec_script(buf, argv, envp);
				return -1;
			default:
				return -1;
			}
		}
		if (!*e)
			break;
		p = e;
	}
	if (got_eacces)
		errno = EACCES;
	return -1;
}

SHIM_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	return shim_exec_search(file, argv, envp, true);
}

SHIM_EXPORT int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

/* The list forms: collect the arguments into an array on the stack. */
#define COLLECT_ARGS(arg0, last, argv, extra)                             \
	va_list ap;                                                       \
	size_t n_ = 1;                                                    \
	va_start(ap, arg0);                                               \
	while (va_arg(ap, char *))                                        \
		n_++;                                                     \
	va_end(ap);                                                       \
	char **argv = alloca((n_ + 1) * sizeof(char *));                  \
	argv[0] = (char *)(arg0);                                         \
	va_start(ap, arg0);                                               \
	for (size_t i_ = 1; i_ <= n_; i_++)                               \
		argv[i_] = va_arg(ap, char *);                            \
	extra;                                                            \
	va_end(ap)

SHIM_EXPORT int execl(const char *path, const char *arg, ...)
{
	COLLECT_ARGS(arg, NULL, argv, (void)0);
	return execve(path, argv, environ);
}

SHIM_EXPORT int execlp(const char *file, const char *arg, ...)
{
	COLLECT_ARGS(arg, NULL, argv, (void)0);
	return execvpe(file, argv, environ);
}

SHIM_EXPORT int execle(const char *path, const char *arg, ...)
{
	char *const *envp;
	COLLECT_ARGS(arg, NULL, argv, envp = va_arg(ap, char *const *));
	return execve(path, argv, envp);
}

SHIM_EXPORT pid_t vfork(void)
{
	return fork();
}

/*
 * system and popen: glibc runs the shell through its internal
 * posix_spawn, which passes no descriptor table, so a child would find
 * its inherited ramfs descriptors (a redirected stdout, say) dead.  When
 * the process has ramfs descriptors or a cwd inside a mount, they are
 * served here with fork and the wrapped execve; otherwise glibc's own run
 * unchanged.  The popen registry (FILE -> child pid) is guarded by
 * popen_lock, a leaf lock (never held across fork or a call into the
 * vfs: fdopen and fclose run outside it).
 */
SHIM_REAL_DECL(system);
SHIM_REAL_DECL(popen);
SHIM_REAL_DECL(pclose);

SHIM_EXPORT int system(const char *cmd)
{
	if (!exec_needs_shim() && !env_needs_fix(environ))
		return SHIM_REAL(system)(cmd);
	if (!SHIM_LAUNDER(cmd))
		return 1;       /* a shell is available */
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_int, old_quit;
	sigset_t block, old_mask;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &old_mask);
	int status = -1;
	pid_t pid = fork();
	if (pid == 0) {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGQUIT, &old_quit, NULL);
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
		char *argv[] = { (char *)"sh", (char *)"-c", (char *)cmd, NULL };
		execve("/bin/sh", argv, environ);
		_exit(127);
	}
	if (pid > 0) {
		while (waitpid(pid, &status, 0) < 0) {
			if (errno != EINTR) {
				status = -1;
				break;
			}
		}
	}
	int saved = errno;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	errno = saved;
	return status;
}

#define POPEN_MAX 256
static struct lk_class popen_class = LK_CLASS_INIT("shim_popen", LK_RANK_LEAF + 20, false);
static struct lk_lock popen_lock = LK_LOCK_INIT(&popen_class, "popen registry");
static struct {
	FILE *f;
	pid_t pid;
} popen_tab[POPEN_MAX];

SHIM_EXPORT FILE *popen(const char *cmd, const char *mode)
{
	if (!exec_needs_shim() && !env_needs_fix(environ))
		return SHIM_REAL(popen)(cmd, mode);
	bool rd = mode && mode[0] == 'r', wr = mode && mode[0] == 'w';
	bool cloexec = mode && strchr(mode, 'e');
	if ((!rd && !wr) || (mode[1] && mode[1] != 'e')) {
		errno = EINVAL;
		return NULL;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		return NULL;
	int mine = rd ? p[0] : p[1], theirs = rd ? p[1] : p[0];
	/* Not under popen_lock: fork's handlers take the fdtable lock and
	 * lockfs, which rank below it. */
	pid_t pid = fork();
	if (pid == 0) {
		/* POSIX: the child closes the streams of earlier popens (the
		 * table as the parent last wrote it; the child has one thread) */
		for (int i = 0; i < POPEN_MAX; i++)
			if (popen_tab[i].f)
				close(fileno(popen_tab[i].f));
		int want = rd ? 1 : 0;
		if (theirs != want) {
			dup2(theirs, want);
		} else {
			fcntl(theirs, F_SETFD, 0);
		}
		char *argv[] = { (char *)"sh", (char *)"-c", (char *)cmd, NULL };
		execve("/bin/sh", argv, environ);
		_exit(127);
	}
	int e = errno;
	close(theirs);
	if (pid < 0) {
		close(mine);
		errno = e;
		return NULL;
	}
	if (!cloexec)
		fcntl(mine, F_SETFD, 0);
	FILE *f = fdopen(mine, rd ? "r" : "w");
	int slot = -1;
	if (f) {
		lk_lock(&popen_lock);
		for (int i = 0; i < POPEN_MAX; i++)
			if (!popen_tab[i].f) {
				slot = i;
				popen_tab[i].f = f;
				popen_tab[i].pid = pid;
				break;
			}
		lk_unlock(&popen_lock);
	}
	if (slot < 0) {
		e = f ? EMFILE : errno;
		if (f)
			fclose(f);
		else
			close(mine);
		waitpid(pid, NULL, 0);
		errno = e;
		return NULL;
	}
	return f;
}

SHIM_EXPORT int pclose(FILE *f)
{
	pid_t pid = -1;
	lk_lock(&popen_lock);
	for (int i = 0; i < POPEN_MAX; i++)
		if (popen_tab[i].f == f) {
			pid = popen_tab[i].pid;
			popen_tab[i].f = NULL;
			break;
		}
	lk_unlock(&popen_lock);
	if (pid < 0)
		return SHIM_REAL(pclose)(f);
	fclose(f);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}
