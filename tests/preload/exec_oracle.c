/*
 * exec_oracle DIR — a transcript of what crosses exec and posix_spawn:
 * descriptors (numbers, offsets and status flags shared with the parent,
 * close-on-exec), the cwd, file actions and attributes of posix_spawn(p),
 * fexecve and execveat, ELF binaries and #! scripts stored in DIR, and
 * the errors of each.  Run natively on tmpfs and under the shim in /ramfs:
 * the transcripts must be equal.  Paths are printed relative to DIR.
 *
 * The children are this program again ("exec_oracle -c WHAT ..."), a copy
 * of it stored in DIR, /bin/sh and scripts written into DIR.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *dir;
static char self[4096];

static const char *rel(const char *p)
{
	size_t n = strlen(dir);
	if (!strncmp(p, dir, n))
		return p[n] ? p + n : "/";
	return p;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

/* ---- child side ---- */

static int child(int argc, char **argv)
{
	const char *what = argv[2];
	if (!strcmp(what, "fds")) {
		/* which of the given fds are open, their offset and flags */
		for (int i = 3; i < argc; i++) {
			int fd = atoi(argv[i]);
			int fl = fcntl(fd, F_GETFL);
			if (fl < 0) {
				say("  child: fd %d closed (%s)\n", fd, strerrorname_np(errno));
				continue;
			}
			say("  child: fd %d open off=%ld append=%d acc=%d\n", fd,
			    (long)lseek(fd, 0, SEEK_CUR), !!(fl & O_APPEND), fl & O_ACCMODE);
		}
		return 0;
	}
	if (!strcmp(what, "write")) {
		/* write argv[4] to fd argv[3], then set O_APPEND on it */
		int fd = atoi(argv[3]);
		ssize_t n = write(fd, argv[4], strlen(argv[4]));
		say("  child: write %zd off=%ld\n", n, (long)lseek(fd, 0, SEEK_CUR));
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_APPEND);
		return 0;
	}
	if (!strcmp(what, "read")) {
		/* read from fd argv[3] at its offset */
		char buf[256];
		ssize_t n = read(atoi(argv[3]), buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = 0;
		say("  child: read %zd '%s'\n", n, buf);
		return 0;
	}
	if (!strcmp(what, "cwd")) {
		char buf[4096];
		if (!getcwd(buf, sizeof(buf)))
			say("  child: getcwd %s\n", strerrorname_np(errno));
		else
			say("  child: cwd %s\n", rel(buf));
		int fd = open(argv[3], O_RDONLY);
		if (fd < 0) {
			say("  child: open %s %s\n", argv[3], strerrorname_np(errno));
		} else {
			char b[64] = "";
			ssize_t n = read(fd, b, sizeof(b) - 1);
			b[n > 0 ? n : 0] = 0;
			say("  child: %s holds '%s'\n", argv[3], b);
			close(fd);
		}
		return 0;
	}
	if (!strcmp(what, "attr")) {
		sigset_t m;
		sigprocmask(SIG_SETMASK, NULL, &m);
		struct sigaction sa;
		sigaction(SIGUSR2, NULL, &sa);
		say("  child: usr1-blocked=%d usr2=%s own-pgrp=%d own-session=%d ids-real=%d "
		    "policy=%d\n", sigismember(&m, SIGUSR1),
		    sa.sa_handler == SIG_IGN ? "ign" : sa.sa_handler == SIG_DFL ? "dfl" : "handler",
		    getpgrp() == getpid(), getsid(0) == getpid(),
		    geteuid() == getuid() && getegid() == getgid(), sched_getscheduler(0));
		return 0;
	}
	if (!strcmp(what, "hello")) {
		/* also the open descriptors below 64: nothing stray */
		char open_fds[256] = "";
		for (int fd = 0; fd < 64; fd++)
			if (fcntl(fd, F_GETFD) >= 0)
				snprintf(open_fds + strlen(open_fds), sizeof(open_fds) - strlen(open_fds),
					 " %d", fd);
		say("  child: hello argv0-base=%s argc=%d fds:%s\n",
		    strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0], argc, open_fds);
		return 0;
	}
	say("  child: unknown %s\n", what);
	return 3;
}

/* ---- parent side ---- */

static void wait_for(pid_t pid)
{
	int st;
	if (waitpid(pid, &st, 0) < 0)
		say("  waitpid %s\n", strerrorname_np(errno));
	else if (WIFEXITED(st))
		say("  exit %d\n", WEXITSTATUS(st));
	else
		say("  signal %d\n", WTERMSIG(st));
}

/* SPAWN(label, call): the label first (the child's output follows). */
#define SPAWN(label, call)                                              \
	do {                                                            \
		say("%s:\n", label);                                    \
		int r_ = (call);                                        \
		if (r_)                                                 \
			say("  posix_spawn -> %s\n", strerrorname_np(r_)); \
		else                                                    \
			wait_for(pid);                                  \
	} while (0)

static char *path_in(const char *name)
{
	static char buf[8][4096];
	static int k;
	char *b = buf[k++ & 7];
	snprintf(b, 4096, "%s/%s", dir, name);
	return b;
}

static void show_file(const char *name)
{
	char b[512] = "";
	int fd = open(path_in(name), O_RDONLY);
	if (fd < 0) {
		say("  %s: %s\n", name, strerrorname_np(errno));
		return;
	}
	ssize_t n = read(fd, b, sizeof(b) - 1);
	close(fd);
	b[n > 0 ? n : 0] = 0;
	for (char *p = b; *p; p++)
		if (*p == '\n')
			*p = '|';
	say("  %s: '%s'\n", name, b);
}

static void write_file(const char *name, const char *text, mode_t mode)
{
	int fd = open(path_in(name), O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0 || write(fd, text, strlen(text)) < 0)
		say("write_file %s: %s\n", name, strerrorname_np(errno));
	close(fd);
	chmod(path_in(name), mode);
}

/* Fork, run fn in the child (it execs), report the exec error or status. */
static void fork_exec(const char *label, void (*fn)(void *), void *arg)
{
	say("%s:\n", label);
	pid_t pid = fork();
	if (pid == 0) {
		fn(arg);
		say("  exec -> %s\n", strerrorname_np(errno));
		_exit(0);
	}
	wait_for(pid);
}

struct ex {
	int dirfd;
	const char *path;
	char **argv;
	int flags;
	int how;        /* 0 execve, 1 execveat, 2 fexecve, 3 execvp, 4 execl */
};

static void run_ex(void *p)
{
	struct ex *e = p;
	switch (e->how) {
	case 0: execve(e->path, e->argv, environ); break;
	case 1: execveat(e->dirfd, e->path, e->argv, environ, e->flags); break;
	case 2: fexecve(e->dirfd, e->argv, environ); break;
	case 3: execvp(e->path, e->argv); break;
	case 4: execl(e->path, e->argv[0], e->argv[1], e->argv[2], e->argv[3], (char *)NULL); break;
	}
}

static void copy_self(const char *name)
{
	int in = open(self, O_RDONLY), out = open(path_in(name), O_WRONLY | O_CREAT | O_TRUNC, 0755);
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			break;
	close(in);
	close(out);
}

/*
 * posix_spawn from a process that has no descriptor of DIR open and its
 * cwd elsewhere: only the file action's path, the program's path or PATH
 * names DIR (under the shim, each alone must send the spawn to the shim).
 */
static int fresh_spawns(const char *d)
{
	dir = d;
	pid_t pid;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, path_in("fresh.out"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	char *av[] = { "echo", "fresh-addopen", NULL };
	SPAWN("fresh process: addopen names DIR", posix_spawn(&pid, "/bin/echo", &fa, NULL, av, environ));
	posix_spawn_file_actions_destroy(&fa);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, path_in("fresh.out"), O_RDONLY, 0);
	char *av2[] = { "cat", NULL };
	SPAWN("fresh process: addopen DIR onto stdin", posix_spawn(&pid, "/bin/cat", &fa, NULL, av2, environ));
	posix_spawn_file_actions_destroy(&fa);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addchdir_np(&fa, path_in("sub"));
	char *av3[] = { "cat", "rel.txt", NULL };
	SPAWN("fresh process: addchdir_np into DIR", posix_spawn(&pid, "/bin/cat", &fa, NULL, av3, environ));
	posix_spawn_file_actions_destroy(&fa);
	char *av4[] = { "prog", "-c", "hello", NULL };
	SPAWN("fresh process: program in DIR", posix_spawn(&pid, path_in("prog"), NULL, NULL, av4, environ));
	char np[8192];
	snprintf(np, sizeof(np), "%s:/usr/bin:/bin", dir);
	setenv("PATH", np, 1);
	SPAWN("fresh process: posix_spawnp through PATH into DIR",
	      posix_spawnp(&pid, "prog", NULL, NULL, av4, environ));
	char *av5[] = { "eo-script", "x", NULL };
	SPAWN("fresh process: posix_spawnp script through PATH",
	      posix_spawnp(&pid, "eo-script", NULL, NULL, av5, environ));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "-s"))
		return fresh_spawns(argv[2]);
	if (argc >= 3 && !strcmp(argv[1], "-c")) {
		dir = getenv("EXEC_ORACLE_DIR") ? getenv("EXEC_ORACLE_DIR") : "";
		return child(argc, argv);
	}
	if (argc != 2) {
		fprintf(stderr, "usage: exec_oracle DIR\n");
		return 2;
	}
	dir = argv[1];
	setenv("EXEC_ORACLE_DIR", dir, 1);
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl < 0)
		return 2;
	self[sl] = 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	mkdir(path_in("sub"), 0755);
	write_file("sub/rel.txt", "in-sub", 0644);
	write_file("data", "0123456789", 0644);
	pid_t pid;
	int r;

	/* ---- descriptors across exec (fork + execve) ---- */
	int fd = open(path_in("shared"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	int fdc = open(path_in("data"), O_RDONLY | O_CLOEXEC);
	int fdr = open(path_in("data"), O_RDONLY);
	lseek(fdr, 3, SEEK_SET);
	if (write(fd, "abc", 3) != 3)
		return 2;
	char fds[3][16];
	snprintf(fds[0], 16, "%d", fd);
	snprintf(fds[1], 16, "%d", fdc);
	snprintf(fds[2], 16, "%d", fdr);
	{
		char *av[] = { self, "-c", "fds", fds[0], fds[1], fds[2], NULL };
		struct ex e = { AT_FDCWD, self, av, 0, 0 };
		fork_exec("execve keeps descriptors (cloexec one closed)", run_ex, &e);
	}
	{
		char *av[] = { self, "-c", "write", fds[0], "XYZ", NULL };
		struct ex e = { AT_FDCWD, self, av, 0, 0 };
		fork_exec("offset and flags shared after exec", run_ex, &e);
		say("  parent: off=%ld append=%d\n", (long)lseek(fd, 0, SEEK_CUR),
		    !!(fcntl(fd, F_GETFL) & O_APPEND));
		show_file("shared");
	}
	{
		char *av[] = { self, "-c", "read", fds[2], NULL };
		struct ex e = { AT_FDCWD, self, av, 0, 0 };
		fork_exec("read at the inherited offset", run_ex, &e);
		say("  parent: off=%ld\n", (long)lseek(fdr, 0, SEEK_CUR));
	}
	{
		char *av[] = { "exec_oracle", "-c", "fds", fds[0], NULL };
		struct ex e = { AT_FDCWD, self, av, 0, 4 };
		fork_exec("execl", run_ex, &e);
	}
	{
		say("vfork + execve:\n");
		pid = vfork();
		if (pid == 0) {
			char *av[] = { self, "-c", "fds", fds[0], fds[2], NULL };
			execve(self, av, environ);
			_exit(127);
		}
		wait_for(pid);
	}

	/* ---- cwd across exec ---- */
	{
		say("chdir + execv:\n");
		pid = fork();
		if (pid == 0) {
			if (chdir(path_in("sub")))
				_exit(9);
			char *av[] = { self, "-c", "cwd", "rel.txt", NULL };
			execv(self, av);
			_exit(127);
		}
		wait_for(pid);
		say("chdir + sh -c:\n");
		pid = fork();
		if (pid == 0) {
			if (chdir(path_in("sub")))
				_exit(9);
			execl("/bin/sh", "sh", "-c", "cat rel.txt; echo; ls", (char *)NULL);
			_exit(127);
		}
		wait_for(pid);
	}

	/* ---- posix_spawn file actions ---- */
	posix_spawn_file_actions_t fa;
	{
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 1, path_in("out1"), O_WRONLY | O_CREAT | O_TRUNC, 0640);
		char *av[] = { "echo", "to-out1", NULL };
		SPAWN("addopen onto 1", posix_spawn(&pid, "/bin/echo", &fa, NULL, av, environ));
		show_file("out1");
		struct stat st;
		stat(path_in("out1"), &st);
		say("  mode %o\n", st.st_mode & 0777);
		posix_spawn_file_actions_destroy(&fa);
	}
	{
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 7, path_in("data"), O_RDONLY, 0);
		char *av[] = { self, "-c", "read", "7", NULL };
		SPAWN("addopen onto 7 (a free number)", posix_spawn(&pid, self, &fa, NULL, av, environ));
		posix_spawn_file_actions_destroy(&fa);
	}
	{
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, fd, 1);
		char *av[] = { "sh", "-c", "echo via-dup2", NULL };
		SPAWN("adddup2 ramfs fd onto 1 (spawnp)", posix_spawnp(&pid, "sh", &fa, NULL, av, environ));
		say("  parent: off=%ld\n", (long)lseek(fd, 0, SEEK_CUR));
		show_file("shared");
		posix_spawn_file_actions_destroy(&fa);
	}
	{
		int cfd = open(path_in("data"), O_RDONLY | O_CLOEXEC);
		char s[16];
		snprintf(s, 16, "%d", cfd);
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, cfd, cfd);
		posix_spawn_file_actions_addclose(&fa, fd);
		posix_spawn_file_actions_addclose(&fa, 45);     /* not open: ignored */
		char *av[] = { self, "-c", "fds", s, fds[0], fds[2], NULL };
		SPAWN("adddup2 onto itself clears cloexec, addclose", posix_spawn(&pid, self, &fa, NULL, av, environ));
		posix_spawn_file_actions_destroy(&fa);
		close(cfd);
	}
	{
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addchdir_np(&fa, path_in("sub"));
		char *av[] = { self, "-c", "cwd", "rel.txt", NULL };
		SPAWN("addchdir_np", posix_spawn(&pid, self, &fa, NULL, av, environ));
		posix_spawn_file_actions_destroy(&fa);
	}
	{
		int dfd = open(path_in("sub"), O_RDONLY | O_DIRECTORY);
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addfchdir_np(&fa, dfd);
		char *av[] = { self, "-c", "cwd", "rel.txt", NULL };
		SPAWN("addfchdir_np", posix_spawn(&pid, self, &fa, NULL, av, environ));
		posix_spawn_file_actions_destroy(&fa);
		close(dfd);
	}
	{
		int a = open(path_in("data"), O_RDONLY);
		int hi = dup2(a, 40);
		char s1[16], s2[16];
		snprintf(s1, 16, "%d", a);
		snprintf(s2, 16, "%d", hi);
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addclosefrom_np(&fa, 40);
		char *av[] = { self, "-c", "fds", s1, s2, NULL };
		SPAWN("addclosefrom_np 40", posix_spawn(&pid, self, &fa, NULL, av, environ));
		posix_spawn_file_actions_destroy(&fa);
		close(a);
		close(hi);
	}
	{
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 5, path_in("nodir/x"), O_RDONLY, 0);
		char *av[] = { "true", NULL };
		pid = -42;
		r = posix_spawn(&pid, "/bin/true", &fa, NULL, av, environ);
		say("addopen of a missing path: %s pid-untouched=%d\n", strerrorname_np(r), pid == -42);
		posix_spawn_file_actions_destroy(&fa);
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addchdir_np(&fa, path_in("data"));
		r = posix_spawn(&pid, "/bin/true", &fa, NULL, av, environ);
		say("addchdir_np to a file: %s\n", strerrorname_np(r));
		posix_spawn_file_actions_destroy(&fa);
	}

	/* ---- posix_spawn errors and programs in DIR ---- */
	copy_self("prog");
	write_file("noexec", "#!/bin/sh\necho hi\n", 0644);
	write_file("garbage", "\x01\x02garbage\n", 0755);
	write_file("eo-script", "#!/bin/sh\necho script-ran \"$@\"\n", 0755);
	write_file("script-arg", "#!/bin/sh -e\necho with-arg \"$@\"; false; echo not-reached\n", 0755);
	write_file("script-nointerp", "#!/nonexistent/interp\n", 0755);
	write_file("script-empty", "#!\n", 0755);
	write_file("script-base", "#!/bin/sh\necho base-ran ${1##*/} \"$2\" \"$3\"\n", 0755);
	{
		char *av[] = { "x", "-c", "hello", NULL };
		const char *progs[] = { "missing", "noexec", "garbage", "prog", "eo-script",
					"script-nointerp", "script-empty", "sub" };
		for (unsigned i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
			char label[64];
			snprintf(label, sizeof(label), "posix_spawn %s", progs[i]);
			pid = -42;
			SPAWN(label, posix_spawn(&pid, path_in(progs[i]), NULL, NULL, av, environ));
		}
		char *av2[] = { "no-such-program-xyz", NULL };
		r = posix_spawnp(&pid, "no-such-program-xyz", NULL, NULL, av2, environ);
		say("posix_spawnp missing: %s\n", strerrorname_np(r));
	}
	{
		/* PATH search into DIR */
		char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
		char np[8192];
		snprintf(np, sizeof(np), "%s:%s", path_in("sub"), dir);
		setenv("PATH", np, 1);
		char *av[] = { "prog", "-c", "hello", NULL };
		SPAWN("posix_spawnp found in DIR through PATH", posix_spawnp(&pid, "prog", NULL, NULL, av, environ));
		struct ex e = { AT_FDCWD, "eo-script", (char *[]){ "eo-script", "p1", NULL }, 0, 3 };
		fork_exec("execvp script through PATH", run_ex, &e);
		if (old)
			setenv("PATH", old, 1);
		free(old);
	}

	/* ---- attributes ---- */
	{
		posix_spawnattr_t at;
		char *av[] = { self, "-c", "attr", NULL };
		signal(SIGUSR2, SIG_IGN);
		SPAWN("no attributes (SIGUSR2 ignored by the parent)", posix_spawn(&pid, self, NULL, NULL, av, environ));
		short allflags[] = { POSIX_SPAWN_SETSIGMASK, POSIX_SPAWN_SETSIGDEF,
				     POSIX_SPAWN_SETPGROUP, POSIX_SPAWN_SETSID, POSIX_SPAWN_RESETIDS,
				     POSIX_SPAWN_SETSCHEDPARAM, POSIX_SPAWN_SETSCHEDULER,
				     POSIX_SPAWN_USEVFORK };
		const char *names[] = { "SETSIGMASK", "SETSIGDEF", "SETPGROUP", "SETSID",
					"RESETIDS", "SETSCHEDPARAM", "SETSCHEDULER", "USEVFORK" };
		for (unsigned i = 0; i < 8; i++) {
			posix_spawnattr_init(&at);
			posix_spawnattr_setflags(&at, allflags[i]);
			sigset_t s;
			sigemptyset(&s);
			sigaddset(&s, SIGUSR1);
			posix_spawnattr_setsigmask(&at, &s);
			sigemptyset(&s);
			sigaddset(&s, SIGUSR2);
			posix_spawnattr_setsigdefault(&at, &s);
			posix_spawnattr_setpgroup(&at, 0);
			struct sched_param sp = { .sched_priority = 0 };
			posix_spawnattr_setschedparam(&at, &sp);
			posix_spawnattr_setschedpolicy(&at, SCHED_BATCH);
			char label[64];
			snprintf(label, sizeof(label), "attr %s", names[i]);
			SPAWN(label, posix_spawn(&pid, self, NULL, &at, av, environ));
			posix_spawnattr_destroy(&at);
		}
		posix_spawnattr_init(&at);
		posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
		posix_spawnattr_setpgroup(&at, 1);      /* init's group: EPERM */
		SPAWN("attr SETPGROUP to another session's group", posix_spawn(&pid, self, NULL, &at, av, environ));
		posix_spawnattr_destroy(&at);
		posix_spawnattr_init(&at);
		posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSCHEDULER);
		posix_spawnattr_setschedpolicy(&at, 12345);
		SPAWN("attr SETSCHEDULER bad policy", posix_spawn(&pid, self, NULL, &at, av, environ));
		posix_spawnattr_destroy(&at);
		/* errors of the scheduling attributes come back from the child */
		posix_spawnattr_init(&at);
		posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSCHEDPARAM);
		struct sched_param sp5 = { .sched_priority = 5 };
		posix_spawnattr_setschedparam(&at, &sp5);
		SPAWN("attr SETSCHEDPARAM priority 5 under SCHED_OTHER", posix_spawn(&pid, self, NULL, &at, av, environ));
		posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSCHEDULER);
		posix_spawnattr_setschedpolicy(&at, SCHED_FIFO);
		struct sched_param sp0 = { .sched_priority = 0 };
		posix_spawnattr_setschedparam(&at, &sp0);
		SPAWN("attr SETSCHEDULER SCHED_FIFO priority 0", posix_spawn(&pid, self, NULL, &at, av, environ));
		posix_spawnattr_destroy(&at);
		signal(SIGUSR2, SIG_DFL);
	}

	/* ---- fexecve, execveat, programs in DIR ---- */
	{
		char *av[] = { "prog", "-c", "hello", NULL };
		struct ex e = { AT_FDCWD, path_in("prog"), av, 0, 0 };
		fork_exec("execve ELF stored in DIR", run_ex, &e);
		int pfd = open(path_in("prog"), O_RDONLY);
		e = (struct ex){ pfd, "", av, 0, 2 };
		fork_exec("fexecve ELF", run_ex, &e);
		e = (struct ex){ pfd, "", av, AT_EMPTY_PATH, 1 };
		fork_exec("execveat AT_EMPTY_PATH ELF", run_ex, &e);
		close(pfd);
		int dfd = open(dir, O_RDONLY | O_DIRECTORY);
		e = (struct ex){ dfd, "prog", av, 0, 1 };
		fork_exec("execveat dirfd-relative ELF", run_ex, &e);
		symlink("prog", path_in("link"));
		e = (struct ex){ dfd, "link", av, 0, 1 };
		fork_exec("execveat through a symlink", run_ex, &e);
		e = (struct ex){ dfd, "link", av, AT_SYMLINK_NOFOLLOW, 1 };
		fork_exec("execveat AT_SYMLINK_NOFOLLOW on a symlink", run_ex, &e);
		e = (struct ex){ dfd, "prog", av, 0x4000, 1 };
		fork_exec("execveat bad flag", run_ex, &e);
		e = (struct ex){ dfd, "", av, 0, 1 };
		fork_exec("execveat empty path without AT_EMPTY_PATH", run_ex, &e);
		char *sv[] = { "eo-script", "s1", "s2", NULL };
		e = (struct ex){ dfd, "eo-script", sv, 0, 1 };
		fork_exec("execveat dirfd-relative script", run_ex, &e);
		close(dfd);
		e = (struct ex){ AT_FDCWD, path_in("eo-script"), sv, 0, 0 };
		fork_exec("execve #! script", run_ex, &e);
		e = (struct ex){ AT_FDCWD, path_in("script-arg"), sv, 0, 0 };
		fork_exec("execve #! script with an interpreter argument", run_ex, &e);
		const char *bad[] = { "noexec", "garbage", "script-nointerp", "script-empty",
				      "sub", "missing", "data/x" };
		for (unsigned i = 0; i < 7; i++) {
			char label[64];
			snprintf(label, sizeof(label), "execve %s", bad[i]);
			e = (struct ex){ AT_FDCWD, path_in(bad[i]), sv, 0, 0 };
			fork_exec(label, run_ex, &e);
		}
		int sfd = open(path_in("eo-script"), O_RDONLY);
		e = (struct ex){ sfd, "", sv, 0, 2 };
		fork_exec("fexecve script", run_ex, &e);
		close(sfd);
		sfd = open(path_in("eo-script"), O_RDONLY | O_CLOEXEC);
		e = (struct ex){ sfd, "", sv, 0, 2 };
		fork_exec("fexecve close-on-exec script", run_ex, &e);
		close(sfd);
		/* a script that runs another script stored in DIR */
		char text[8192];
		snprintf(text, sizeof(text), "#!%s\n", path_in("script-base"));
		write_file("script-nested", text, 0755);
		e = (struct ex){ AT_FDCWD, path_in("script-nested"), sv, 0, 0 };
		fork_exec("execve script whose interpreter is a script", run_ex, &e);
		/* relative program names with the cwd in DIR */
		say("execl ./eo-script with the cwd in DIR:\n");
		pid = fork();
		if (pid == 0) {
			if (chdir(dir))
				_exit(9);
			execl("./eo-script", "eo-script", "rel", (char *)NULL);
			_exit(127);
		}
		wait_for(pid);
	}
	{
		/* system() with the cwd in DIR */
		say("system with the cwd in DIR:\n");
		pid = fork();
		if (pid == 0) {
			if (chdir(path_in("sub")))
				_exit(9);
			int s = system("cat rel.txt; echo; pwd | sed 's|.*/||'");
			_exit(WEXITSTATUS(s));
		}
		wait_for(pid);
	}
	{
		/* posix_spawn and popen with the cwd in DIR */
		say("posix_spawn and popen with the cwd in DIR:\n");
		pid = fork();
		if (pid == 0) {
			if (chdir(path_in("sub")))
				_exit(9);
			char *av[] = { self, "-c", "cwd", "rel.txt", NULL };
			pid_t p2;
			if (posix_spawn(&p2, self, NULL, NULL, av, environ) == 0)
				waitpid(p2, NULL, 0);
			char *av2[] = { "sh", "-c", "cat rel.txt; echo; ls ..", NULL };
			if (posix_spawnp(&p2, "sh", NULL, NULL, av2, environ) == 0)
				waitpid(p2, NULL, 0);
			FILE *f = popen("cat rel.txt", "r");
			char b[64] = "";
			if (f && fgets(b, sizeof(b), f))
				say("  popen read '%s'\n", b);
			if (f)
				say("  pclose %d\n", pclose(f));
			f = popen("cat > from-popen", "w");
			if (f) {
				fputs("written through popen", f);
				say("  pclose %d\n", pclose(f));
			}
			_exit(0);
		}
		wait_for(pid);
		show_file("sub/from-popen");
	}
	{
		/* a fresh process: every descriptor of DIR closed, cwd on the host */
		say("fresh process:\n");
		pid = fork();
		if (pid == 0) {
			if (chdir("/"))
				_exit(9);
			close_range(3, ~0U, 0);
			char *av[] = { self, "-s", (char *)dir, NULL };
			execv(self, av);
			_exit(127);
		}
		wait_for(pid);
	}
	close(fd);
	close(fdc);
	close(fdr);
	say("done\n");
	return 0;
}
