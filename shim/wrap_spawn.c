/*
 * posix_spawn and posix_spawnp.
 *
 * glibc's spawn runs the child with clone(CLONE_VM | CLONE_VFORK), applies
 * the file actions with internal system calls and execs with an internal
 * execve: no preload reaches any of it, so a child would lose the ramfs
 * descriptors, a cwd inside a mount, a file action naming a ramfs path and
 * a program stored in the ramfs.  When any of those is in play (or when
 * preserve_env must put LD_PRELOAD back), the spawn is served here: fork
 * (the shim's fork handlers give the child its references), then the
 * attributes and file actions in glibc's order through the shim's own
 * wrappers, then the wrapped execve.  Otherwise glibc's spawn runs
 * unchanged (it is faster: no copy of the page tables).
 *
 * Errors are glibc's: the child's errno comes back through a close-on-exec
 * pipe, posix_spawn returns it (after reaping the child) and leaves *pid
 * alone; an exec that succeeds closes the pipe.
 *
 * The file actions are read from glibc's posix_spawn_file_actions_t, whose
 * array layout (struct spawn_action below) is glibc's since 2.35 and is
 * checked at start (an unknown tag sends the call to glibc's spawn).
 *
 * No shared state.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "shim/exec_int.h"
#include "shim/real_fs.h"
#include "shim/shim.h"
#include "vfs/vfs_sys.h"

extern char **environ;

SHIM_REAL_DECL(posix_spawn);
SHIM_REAL_DECL(posix_spawnp);

#ifndef POSIX_SPAWN_SETSID
#define POSIX_SPAWN_SETSID 0x80
#endif

/* glibc's struct __spawn_action (posix/spawn_int.h, 2.35 and later). */
struct spawn_action {
	enum {
		SA_CLOSE,
		SA_DUP2,
		SA_OPEN,
		SA_CHDIR,
		SA_FCHDIR,
		SA_CLOSEFROM,
		SA_TCSETPGRP,
	} tag;
	union {
		struct { int fd; } close_action;
		struct { int fd, newfd; } dup2_action;
		struct { int fd; char *path; int oflag; mode_t mode; } open_action;
		struct { char *path; } chdir_action;
		struct { int fd; } fchdir_action;
		struct { int from; } closefrom_action;
		struct { int fd; } setpgrp_action;
	} action;
};

struct spawn_fa {
	int allocated, used;
	struct spawn_action *actions;
};

_Static_assert(sizeof(struct spawn_action) == 32, "glibc's spawn action is 32 bytes");
_Static_assert(sizeof(posix_spawn_file_actions_t) >= sizeof(struct spawn_fa), "layout");

static const struct spawn_fa *fa_of(const posix_spawn_file_actions_t *fa)
{
	return (const struct spawn_fa *)fa;
}

/* Should this spawn be served by the shim?  -1: the actions are of a
 * layout this file does not know (glibc's spawn then). */
static int spawn_needs_shim(const char *file, bool use_path,
			    const posix_spawn_file_actions_t *fa, char *const envp[])
{
	const struct spawn_fa *f = fa ? fa_of(fa) : NULL;
	if (f)
		for (int i = 0; i < f->used; i++)
			if ((unsigned)f->actions[i].tag > SA_TCSETPGRP)
				return -1;
	if (exec_needs_shim() || env_needs_fix(envp))
		return 1;
	if (!vfs.ready)
		return 0;
	if (file && vfs_path_maybe_mine(file))
		return 1;
	if (use_path && file && !strchr(file, '/')) {
		const char *p = getenv("PATH");
		if (p && vfs_path_maybe_mine(p))
			return 1;
	}
	if (f)
		for (int i = 0; i < f->used; i++) {
			const struct spawn_action *a = &f->actions[i];
			const char *path = a->tag == SA_OPEN ? a->action.open_action.path :
					   a->tag == SA_CHDIR ? a->action.chdir_action.path : NULL;
			if (path && vfs_path_maybe_mine(path))
				return 1;
		}
	return 0;
}

/* The child's end of the error pipe must stay clear of the file
 * actions' target numbers. */
static int move_errfd(int errfd, int target)
{
	if (errfd != target)
		return errfd;
	long n = syscall(SYS_fcntl, errfd, F_DUPFD_CLOEXEC, 3);
	if (n == target)        /* impossible: target is open */
		return errfd;
	if (n >= 0)
		syscall(SYS_close, errfd);
	return n >= 0 ? (int)n : errfd;
}

static bool errfd_in_later_target(const struct spawn_fa *f, int from, int errfd)
{
	for (int i = from; i < f->used; i++) {
		const struct spawn_action *a = &f->actions[i];
		if ((a->tag == SA_DUP2 && a->action.dup2_action.newfd == errfd) ||
		    (a->tag == SA_OPEN && a->action.open_action.fd == errfd))
			return true;
	}
	return false;
}

/* glibc's child: returns only on failure, with errno set. */
static void spawn_child(const char *file, bool use_path, const posix_spawn_file_actions_t *fa,
			const posix_spawnattr_t *attr, char *const argv[], char *const envp[],
			const sigset_t *oldmask, int *errfdp)
{
	short flags = 0;
	if (attr)
		posix_spawnattr_getflags(attr, &flags);

	/* Signal dispositions: SETSIGDEF's set to default; handlers of the
	 * parent (which would run in this child before exec) to default. */
	sigset_t sd;
	sigemptyset(&sd);
	if (attr && (flags & POSIX_SPAWN_SETSIGDEF))
		posix_spawnattr_getsigdefault(attr, &sd);
	for (int sig = 1; sig < _NSIG; sig++) {
		struct sigaction sa;
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (sigismember(&sd, sig) == 1) {
			memset(&sa, 0, sizeof(sa));
			sa.sa_handler = SIG_DFL;
		} else {
			if (sigaction(sig, NULL, &sa) != 0 || sa.sa_handler == SIG_IGN ||
			    sa.sa_handler == SIG_DFL)
				continue;
			sa.sa_handler = SIG_DFL;
			sa.sa_flags = 0;
		}
		sigaction(sig, &sa, NULL);
	}

	if (attr && (flags & (POSIX_SPAWN_SETSCHEDPARAM | POSIX_SPAWN_SETSCHEDULER))) {
		struct sched_param sp;
		posix_spawnattr_getschedparam(attr, &sp);
		if (flags & POSIX_SPAWN_SETSCHEDULER) {
			int pol;
			posix_spawnattr_getschedpolicy(attr, &pol);
			if (sched_setscheduler(0, pol, &sp) == -1)
				return;
		} else if (sched_setparam(0, &sp) == -1) {
			return;
		}
	}
	if ((flags & POSIX_SPAWN_SETSID) && setsid() < 0)
		return;
	if (flags & POSIX_SPAWN_SETPGROUP) {
		pid_t pg;
		posix_spawnattr_getpgroup(attr, &pg);
		if (setpgid(0, pg) != 0)
			return;
	}
	if ((flags & POSIX_SPAWN_RESETIDS) && (seteuid(getuid()) != 0 || setegid(getgid()) != 0))
		return;

	const struct spawn_fa *f = fa ? fa_of(fa) : NULL;
	for (int i = 0; f && i < f->used; i++) {
		const struct spawn_action *a = &f->actions[i];
		int errfd = *errfdp;
		switch (a->tag) {
		case SA_CLOSE:
			/* glibc ignores a failed close of a descriptor in range
			 * (the number was checked when the action was added). */
			if (a->action.close_action.fd != errfd)
				close(a->action.close_action.fd);
			break;
		case SA_OPEN: {
			int fd = a->action.open_action.fd;
			*errfdp = errfd = move_errfd(errfd, fd);
			/* POSIX: an open target is closed first. */
			close(fd);
			int nfd = open(a->action.open_action.path, a->action.open_action.oflag,
				       a->action.open_action.mode);
			if (nfd < 0)
				return;
			if (nfd != fd) {
				if (dup2(nfd, fd) != fd)
					return;
				if (close(nfd) != 0)
					return;
			}
			break;
		}
		case SA_DUP2: {
			int fd = a->action.dup2_action.fd, nfd = a->action.dup2_action.newfd;
			if (fd == errfd) {
				errno = EBADF;
				return;
			}
			*errfdp = errfd = move_errfd(errfd, nfd);
			if (fd == nfd) {
				/* POSIX 2024: dup2 onto itself clears close-on-exec. */
				int fl = fcntl(fd, F_GETFD);
				if (fl == -1 || fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC) == -1)
					return;
			} else if (dup2(fd, nfd) != nfd) {
				return;
			}
			break;
		}
		case SA_CHDIR:
			if (chdir(a->action.chdir_action.path) != 0)
				return;
			break;
		case SA_FCHDIR:
			if (fchdir(a->action.fchdir_action.fd) != 0)
				return;
			break;
		case SA_CLOSEFROM: {
			int from = a->action.closefrom_action.from;
			/* Keep the error pipe open unless a later action needs its
			 * number (it was not the program's to begin with). */
			if (errfd >= from && !errfd_in_later_target(f, i + 1, errfd)) {
				if (errfd > from && close_range((unsigned)from, (unsigned)errfd - 1, 0))
					return;
				if (close_range((unsigned)errfd + 1, ~0U, 0))
					return;
			} else if (close_range((unsigned)from, ~0U, 0)) {
				return;
			}
			break;
		}
		case SA_TCSETPGRP:
			if (tcsetpgrp(a->action.setpgrp_action.fd, getpgrp()) != 0)
				return;
			break;
		}
	}

	if (flags & POSIX_SPAWN_SETSIGMASK) {
		sigset_t ss;
		posix_spawnattr_getsigmask(attr, &ss);
		sigprocmask(SIG_SETMASK, &ss, NULL);
	} else {
		sigprocmask(SIG_SETMASK, oldmask, NULL);
	}
	if (use_path)
		shim_exec_search(file, argv, envp, false);
	else
		execve(file, argv, envp);
}

static int do_spawn(pid_t *pidp, const char *file, const posix_spawn_file_actions_t *fa,
		    const posix_spawnattr_t *attr, char *const argv[], char *const envp[],
		    bool use_path)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		return errno;
	sigset_t all, oldmask;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &oldmask);
	pid_t pid = fork();
	if (pid == 0) {
		int errfd = p[1];
		syscall(SYS_close, p[0]);
		spawn_child(file, use_path, fa, attr, argv, envp, &oldmask, &errfd);
		int e = errno;
		while (syscall(SYS_write, errfd, &e, sizeof(e)) < 0 && errno == EINTR)
			;
		_exit(127);
	}
	int ec = 0;
	if (pid < 0)
		ec = errno;
	syscall(SYS_close, p[1]);
	if (pid > 0) {
		int e;
		long n;
		while ((n = syscall(SYS_read, p[0], &e, sizeof(e))) < 0 && errno == EINTR)
			;
		if (n == (long)sizeof(e)) {
			ec = e > 0 ? e : ECHILD;
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
		}
	}
	syscall(SYS_close, p[0]);
	pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
	if (ec == 0 && pidp)
		*pidp = pid;
	return ec;
}

SHIM_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			    const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	if (spawn_needs_shim(path, false, fa, envp) <= 0)
		return SHIM_REAL(posix_spawn)(pid, path, fa, attr, argv, envp);
	return do_spawn(pid, path, fa, attr, argv, envp, false);
}

SHIM_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			     const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	if (spawn_needs_shim(file, true, fa, envp) <= 0)
		return SHIM_REAL(posix_spawnp)(pid, file, fa, attr, argv, envp);
	return do_spawn(pid, file, fa, attr, argv, envp, true);
}
