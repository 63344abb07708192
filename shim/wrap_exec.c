/*
 * Wrappers of exec and vfork.
 *
 * exec: ramfs descriptors are kernel placeholders, so the numbers survive
 * exec by themselves; which open description each one stands for does
 * not.  execve adds VADSHIM_FDS to the environment it passes (not to
 * environ: shells pass their own envp), and the new image's shim adopts
 * the descriptors at init.  glibc's exec helpers (execvp, execl, ...)
 * call its internal execve, which no preload can reach, so each of them
 * is re-implemented here on top of the wrapped execve.
 *
 * vfork: a vfork child shares the parent's memory, so anything the shim
 * does in the child (a dup2 before exec changes the fdtable) would change
 * the parent.  vfork is served as fork, which a correct vfork program
 * cannot tell apart.
 *
 * Shared state: popen_tab (FILE -> child pid of the shim's popen), guarded
 * by popen_lock, a leaf lock (rank LK_RANK_LEAF + 20).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim/lk.h"
#include "shim/real_fs.h"
#include "shim/shim.h"
#include "vfs/vfs_sys.h"

extern char **environ;

SHIM_REAL_DECL(execve);

#define EXEC_MAX_ENV 8192

SHIM_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	if (!vfs.ready || (!vfs_fdt_hi() && !vfs_cwd_mine()))
		return SHIM_REAL(execve)(path, argv, envp);
	static __thread char fds[16384];
	static __thread char cwd[PATH_MAX + 16];
	long n = vfs_fdt_hi() ? vfs_exec_fds(fds, sizeof(fds)) : 0;
	if (n < 0) {
		errno = E2BIG;
		return -1;
	}
	/* A cwd inside a mount goes over as a path the new image chdirs to. */
	bool have_cwd = false;
	if (vfs_cwd_mine()) {
		memcpy(cwd, "VADSHIM_CWD=", 12);
		long r = vfs_sys_getcwd(cwd + 12, sizeof(cwd) - 12);
		have_cwd = r > 0;
	}
	size_t cnt = 0;
	while (envp && envp[cnt])
		cnt++;
	if (cnt + 3 > EXEC_MAX_ENV) {
		errno = E2BIG;
		return -1;
	}
	char **env = alloca((cnt + 3) * sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; i < cnt; i++)
		if (strncmp(envp[i], "VADSHIM_FDS=", 12) && strncmp(envp[i], "VADSHIM_CWD=", 12))
			env[k++] = envp[i];
	if (n > 0)
		env[k++] = fds;
	if (have_cwd)
		env[k++] = cwd;
	env[k] = NULL;
	return SHIM_REAL(execve)(path, argv, env);
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

SHIM_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	if (!SHIM_LAUNDER(file) || !*file) {
		errno = ENOENT;
		return -1;
	}
	if (strchr(file, '/')) {
		execve(file, argv, envp);
		if (errno == ENOEXEC)
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

static bool exec_needs_shim(void)
{
	return vfs.ready && (vfs_fdt_hi() || vfs_cwd_mine());
}

SHIM_EXPORT int system(const char *cmd)
{
	if (!exec_needs_shim())
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
	if (!exec_needs_shim())
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
