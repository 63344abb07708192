/*
 * lock_oracle DIR — record locks between two processes, as a transcript.
 *
 * The parent and a worker process (forked, or forked and exec'd again
 * from this binary so that the worker is a fresh shimmed image) run the
 * same table of lock steps on one file in DIR: fcntl process-associated
 * and OFD locks, flock, lockf.  Each step prints its result, errno and,
 * for F_GETLK, the answer (l_pid mapped to "parent"/"worker"/-1).  The
 * test runs it on tmpfs natively (the kernel is the oracle) and on
 * /ramfs under the shim, and compares the transcripts.
 *
 * The worker obeys commands sent over a pipe and answers each on another;
 * a blocking command (F_SETLKW, flock without LOCK_NB) is sent first and
 * its answer read after the parent did what should release it.
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NSLOT 8
#define CMD_FD 100      /* the worker's command pipe (read end) */
#define ANS_FD 101      /* its answer pipe (write end) */

enum { OP_FCNTL, OP_FLOCK, OP_LOCKF, OP_OPEN, OP_CLOSE, OP_DUP2, OP_LSEEK, OP_SIG,
       OP_REEXEC, OP_CLOEXEC, OP_WRITE, OP_CLOSE_RANGE, OP_QUIT };

struct cmd {
	int op, slot, arg, arg2;
	struct flock fl;
	long len;
};

struct ans {
	int ret, err;
	struct flock fl;
};

static const char *path;
static int slots[NSLOT];                /* slot -> descriptor, -1 none */
static pid_t parent_pid, worker_pid;
static int cmd_w = -1, ans_r = -1;
static const char *self;

static const char *errname(int e)
{
	switch (e) {
	case 0: return "0";
	case EAGAIN: return "EAGAIN";
	case EACCES: return "EACCES";
	case EBADF: return "EBADF";
	case EINVAL: return "EINVAL";
	case EDEADLK: return "EDEADLK";
	case EINTR: return "EINTR";
	case EOVERFLOW: return "EOVERFLOW";
	case ENOLCK: return "ENOLCK";
	default: return strerrorname_np(e) ? strerrorname_np(e) : "?";
	}
}

static void on_sig(int sig)
{
	(void)sig;
}

/* Run one command in this process. */
static struct ans run(const struct cmd *c)
{
	struct ans a = { 0 };
	int fd = c->slot >= 0 && c->slot < NSLOT ? slots[c->slot] : -1;

	a.fl = c->fl;
	errno = 0;
	switch (c->op) {
	case OP_FCNTL:
		a.ret = fcntl(fd, c->arg, &a.fl);
		break;
	case OP_FLOCK:
		a.ret = flock(fd, c->arg);
		break;
	case OP_LOCKF:
		a.ret = lockf(fd, c->arg, c->len);
		break;
	case OP_OPEN:
		a.ret = open(path, c->arg, 0644);
		if (a.ret >= 0)
			slots[c->slot] = a.ret;
		break;
	case OP_CLOSE:
		a.ret = close(fd);
		slots[c->slot] = -1;
		break;
	case OP_DUP2: /* slot arg2 := dup2(slot, slots[arg2] or a new number) */
		a.ret = dup2(fd, slots[c->arg2] >= 0 ? slots[c->arg2] : 60 + c->arg2);
		if (a.ret >= 0)
			slots[c->arg2] = a.ret;
		break;
	case OP_CLOSE_RANGE:
		a.ret = close_range((unsigned)fd, (unsigned)fd, 0);
		slots[c->slot] = -1;
		break;
	case OP_LSEEK:
		a.ret = (int)lseek(fd, c->len, SEEK_SET);
		break;
	case OP_CLOEXEC:
		a.ret = fcntl(fd, F_SETFD, FD_CLOEXEC);
		break;
	case OP_WRITE: {
		char buf[4096];
		memset(buf, 'x', sizeof(buf));
		a.ret = (int)pwrite(fd, buf, (size_t)c->len, 0);
		break;
	}
	case OP_SIG: {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_sig;
		sa.sa_flags = c->arg ? SA_RESTART : 0;
		a.ret = sigaction(SIGUSR1, &sa, NULL);
		break;
	}
	default:
		a.ret = -1;
		errno = EINVAL;
	}
	a.err = a.ret < 0 ? errno : 0;
	return a;
}

static void worker_exec(void);

/* The worker's loop: commands from CMD_FD, answers to ANS_FD. */
static void worker_loop(void)
{
	struct cmd c;

	while (read(CMD_FD, &c, sizeof(c)) == sizeof(c)) {
		if (c.op == OP_QUIT)
			_exit(0);
		if (c.op == OP_REEXEC) {
			struct ans a = { 0 };
			if (write(ANS_FD, &a, sizeof(a)) != sizeof(a))
				_exit(3);
			worker_exec();
			_exit(4);
		}
		struct ans a = run(&c);
		if (write(ANS_FD, &a, sizeof(a)) != sizeof(a))
			_exit(3);
	}
	_exit(0);
}

/* Exec this binary as the worker, passing the slot table. */
static void worker_exec(void)
{
	char arg[256];
	int n = snprintf(arg, sizeof(arg), "%s", "");
	for (int i = 0; i < NSLOT; i++)
		n += snprintf(arg + n, sizeof(arg) - (size_t)n, "%d,", slots[i]);
	execl(self, self, "--worker", path, arg, (char *)NULL);
	_exit(5);
}

static void start_worker(int exec_it)
{
	int c[2], a[2];

	if (pipe(c) || pipe(a))
		exit(2);
	fflush(stdout);
	worker_pid = fork();
	if (worker_pid < 0)
		exit(2);
	if (worker_pid == 0) {
		dup2(c[0], CMD_FD);
		dup2(a[1], ANS_FD);
		close(c[0]);
		close(c[1]);
		close(a[0]);
		close(a[1]);
		if (exec_it)
			worker_exec();
		worker_loop();
	}
	close(c[0]);
	close(a[1]);
	cmd_w = c[1];
	ans_r = a[0];
}

static void stop_worker(int kill_it)
{
	if (worker_pid <= 0)
		return;
	if (kill_it) {
		kill(worker_pid, SIGKILL);
	} else {
		struct cmd q = { .op = OP_QUIT };
		if (write(cmd_w, &q, sizeof(q)) < 0)
			kill(worker_pid, SIGKILL);
	}
	waitpid(worker_pid, NULL, 0);
	close(cmd_w);
	close(ans_r);
	worker_pid = 0;
}

static const char *whom(pid_t p)
{
	static char buf[32];
	if (p == parent_pid)
		return "parent";
	if (p == worker_pid && p > 0)
		return "worker";
	snprintf(buf, sizeof(buf), "%d", (int)p);
	return p == -1 || p == 0 ? buf : "other";
}

static const char *tname(int t)
{
	return t == F_RDLCK ? "RD" : t == F_WRLCK ? "WR" : t == F_UNLCK ? "UN" : "?";
}

static void show(const char *who, const char *what, const struct cmd *c, const struct ans *a)
{
	int ret = (c->op == OP_OPEN || c->op == OP_DUP2) && a->ret >= 0 ? 0 : a->ret;
	printf("%-6s %-34s -> %d %s", who, what, ret, errname(a->err));
	if (c->op == OP_FCNTL && (c->arg == F_GETLK || c->arg == F_OFD_GETLK) && a->ret == 0) {
		if (a->fl.l_type == F_UNLCK)
			printf("  [UN]");
		else
			printf("  [%s %lld+%lld %s]", tname(a->fl.l_type), (long long)a->fl.l_start,
			       (long long)a->fl.l_len, whom(a->fl.l_pid));
	}
	printf("\n");
	fflush(stdout);
}

static void send_cmd(const struct cmd *c)
{
	if (write(cmd_w, c, sizeof(*c)) != sizeof(*c)) {
		printf("worker gone\n");
		exit(1);
	}
}

static struct ans recv_ans(void)
{
	struct ans a;
	if (read(ans_r, &a, sizeof(a)) != sizeof(a)) {
		printf("worker gone\n");
		exit(1);
	}
	return a;
}

/* P(...) in the parent, W(...) in the worker, WA(...) sent to the
 * worker without waiting (a blocking call), WR(...) its answer. */
static struct cmd pending;
static char pending_what[64];

static void P(const char *what, struct cmd c)
{
	struct ans a = run(&c);
	show("parent", what, &c, &a);
}

static void W(const char *what, struct cmd c)
{
	send_cmd(&c);
	struct ans a = recv_ans();
	show("worker", what, &c, &a);
}

static void WA(const char *what, struct cmd c)
{
	send_cmd(&c);
	pending = c;
	snprintf(pending_what, sizeof(pending_what), "%s", what);
}

static void WR(void)
{
	struct ans a = recv_ans();
	show("worker", pending_what, &pending, &a);
}

static void pause_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

static struct cmd LK(int slot, int cmd, int type, int whence, long start, long len)
{
	struct cmd c = { .op = OP_FCNTL, .slot = slot, .arg = cmd };
	c.fl.l_type = (short)type;
	c.fl.l_whence = (short)whence;
	c.fl.l_start = start;
	c.fl.l_len = len;
	return c;
}
#define SET(s, t, st, ln) LK(s, F_SETLK, t, SEEK_SET, st, ln)
#define SETW(s, t, st, ln) LK(s, F_SETLKW, t, SEEK_SET, st, ln)
#define GET(s, t, st, ln) LK(s, F_GETLK, t, SEEK_SET, st, ln)
#define OSET(s, t, st, ln) LK(s, F_OFD_SETLK, t, SEEK_SET, st, ln)
#define OSETW(s, t, st, ln) LK(s, F_OFD_SETLKW, t, SEEK_SET, st, ln)
#define OGET(s, t, st, ln) LK(s, F_OFD_GETLK, t, SEEK_SET, st, ln)

static struct cmd FL(int slot, int op)
{
	return (struct cmd){ .op = OP_FLOCK, .slot = slot, .arg = op };
}

static struct cmd LF(int slot, int op, long len)
{
	return (struct cmd){ .op = OP_LOCKF, .slot = slot, .arg = op, .len = len };
}

static struct cmd OPEN(int slot, int flags)
{
	return (struct cmd){ .op = OP_OPEN, .slot = slot, .arg = flags };
}

static struct cmd CLOSE(int slot)
{
	return (struct cmd){ .op = OP_CLOSE, .slot = slot };
}

static struct cmd SEEK(int slot, long off)
{
	return (struct cmd){ .op = OP_LSEEK, .slot = slot, .len = off };
}

/* A fresh file and worker for each scenario; slot 0 is opened O_RDWR
 * before the fork (one description shared with the worker). */
static void begin(const char *name, int exec_it)
{
	printf("== %s%s\n", name, exec_it ? " (exec'd worker)" : "");
	unlink(path);
	for (int i = 0; i < NSLOT; i++)
		slots[i] = -1;
	slots[0] = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (slots[0] < 0) {
		printf("open %s: %s\n", path, strerror(errno));
		exit(1);
	}
	start_worker(exec_it);
}

static void end(void)
{
	stop_worker(0);
	for (int i = 0; i < NSLOT; i++)
		if (slots[i] >= 0)
			close(slots[i]);
}

static void scenarios(int ex)
{
	begin("conflicts", ex);
	P("WR 0+10", SET(0, F_WRLCK, 0, 10));
	W("RD 5+1", SET(0, F_RDLCK, 5, 1));
	W("GETLK WR 0+0", GET(0, F_WRLCK, 0, 0));
	W("WR 10+10", SET(0, F_WRLCK, 10, 10));
	P("GETLK WR 0+100", GET(0, F_WRLCK, 0, 100));
	P("GETLK RD 20+5", GET(0, F_RDLCK, 20, 5));
	W("RD 30+0 (to EOF)", SET(0, F_RDLCK, 30, 0));
	P("RD 40+5 shared", SET(0, F_RDLCK, 40, 5));
	P("WR 50+5 blocked", SET(0, F_WRLCK, 50, 5));
	P("GETLK WR 1000+1", GET(0, F_WRLCK, 1000, 1));
	P("UN 0+0", SET(0, F_UNLCK, 0, 0));
	W("GETLK WR 0+0", GET(0, F_WRLCK, 0, 0));
	W("WR 0+10 now free", SET(0, F_WRLCK, 0, 10));
	end();

	begin("split, merge, convert", ex);
	P("WR 0+100", SET(0, F_WRLCK, 0, 100));
	P("UN 40+10 (split)", SET(0, F_UNLCK, 40, 10));
	W("GETLK WR 0+0", GET(0, F_WRLCK, 0, 0));
	W("GETLK WR 45+0", GET(0, F_WRLCK, 45, 0));
	W("GETLK WR 40+10", GET(0, F_WRLCK, 40, 10));
	W("WR 40+10 in the hole", SET(0, F_WRLCK, 40, 10));
	W("UN 40+10", SET(0, F_UNLCK, 40, 10));
	P("RD 60+10 (convert middle)", SET(0, F_RDLCK, 60, 10));
	W("RD 62+2", SET(0, F_RDLCK, 62, 2));
	W("GETLK WR 50+100", GET(0, F_WRLCK, 50, 100));
	W("GETLK RD 55+10", GET(0, F_RDLCK, 55, 10));
	W("UN 62+2", SET(0, F_UNLCK, 62, 2));
	P("RD 200+10", SET(0, F_RDLCK, 200, 10));
	P("RD 210+10 (adjacent: merge)", SET(0, F_RDLCK, 210, 10));
	W("GETLK WR 205+10", GET(0, F_WRLCK, 205, 10));
	P("WR 220+10 (adjacent other type)", SET(0, F_WRLCK, 220, 10));
	W("GETLK WR 215+20", GET(0, F_WRLCK, 215, 20));
	W("GETLK RD 215+20", GET(0, F_RDLCK, 215, 20));
	P("WR 0+0 (all)", SET(0, F_WRLCK, 0, 0));
	W("GETLK RD 500+1", GET(0, F_RDLCK, 500, 1));
	P("UN 100+0", SET(0, F_UNLCK, 100, 0));
	W("GETLK RD 50+100", GET(0, F_RDLCK, 50, 100));
	P("RD 0+0 (downgrade all)", SET(0, F_RDLCK, 0, 0));
	W("RD 0+1000", SET(0, F_RDLCK, 0, 1000));
	P("WR 10+1 upgrade blocked", SET(0, F_WRLCK, 10, 1));
	P("GETLK WR 10+1", GET(0, F_WRLCK, 10, 1));
	end();

	begin("whence and ranges", ex);
	P("write 100 bytes", ((struct cmd){ .op = OP_WRITE, .slot = 0, .len = 100 }));
	P("seek 50", SEEK(0, 50));
	P("WR SEEK_CUR -10+5", LK(0, F_SETLK, F_WRLCK, SEEK_CUR, -10, 5));
	P("WR SEEK_END 0+0", LK(0, F_SETLK, F_WRLCK, SEEK_END, 0, 0));
	P("WR SEEK_END -5 len -5", LK(0, F_SETLK, F_WRLCK, SEEK_END, -5, -5));
	W("GETLK RD 0+0", GET(0, F_RDLCK, 0, 0));
	W("GETLK RD 41+0", GET(0, F_RDLCK, 41, 0));
	W("GETLK RD 45+50", GET(0, F_RDLCK, 45, 50));
	W("GETLK RD SEEK_END -1+1", LK(0, F_GETLK, F_RDLCK, SEEK_END, -1, 1));
	W("GETLK RD SEEK_CUR 0 len -20", LK(0, F_GETLK, F_RDLCK, SEEK_CUR, 0, -20));
	P("bad whence 7", LK(0, F_SETLK, F_WRLCK, 7, 0, 1));
	P("bad type 9", SET(0, 9, 0, 1));
	P("GETLK type UN", GET(0, F_UNLCK, 0, 1));
	P("GETLK bad type 9", GET(0, 9, 0, 1));
	P("start -1", SET(0, F_WRLCK, -1, 1));
	P("len -11 at 10", SET(0, F_WRLCK, 10, -11));
	P("len -10 at 10", SET(0, F_RDLCK, 10, -10));
	P("start max len 2", SET(0, F_WRLCK, INT64_MAX, 2));
	P("start max len 1", SET(0, F_WRLCK, INT64_MAX, 1));
	P("SEEK_END start max", LK(0, F_SETLK, F_WRLCK, SEEK_END, INT64_MAX, 1));
	P("SEEK_CUR start -51", LK(0, F_SETLK, F_WRLCK, SEEK_CUR, -51, 1));
	P("bad whence GETLK", LK(0, F_GETLK, F_WRLCK, 3, 0, 1));
	end();

	begin("open modes", ex);
	P("open O_RDONLY -> 1", OPEN(1, O_RDONLY));
	P("open O_WRONLY -> 2", OPEN(2, O_WRONLY));
	P("WR on O_RDONLY", SET(1, F_WRLCK, 0, 1));
	P("RD on O_WRONLY", SET(2, F_RDLCK, 0, 1));
	P("UN on O_RDONLY", SET(1, F_UNLCK, 0, 1));
	P("RD on O_RDONLY", SET(1, F_RDLCK, 0, 1));
	P("WR on O_WRONLY", SET(2, F_WRLCK, 5, 1));
	P("GETLK RD on O_WRONLY", GET(2, F_RDLCK, 0, 1));
	P("OFD WR on O_RDONLY", OSET(1, F_WRLCK, 0, 1));
	W("GETLK WR 0+0", GET(0, F_WRLCK, 0, 0));
	P("flock EX on O_RDONLY", FL(1, LOCK_EX | LOCK_NB));
	P("flock bad op 0", FL(1, 0));
	P("flock bad op SH|EX", FL(1, LOCK_SH | LOCK_EX));
	P("flock UN", FL(1, LOCK_UN));
	end();

	begin("SQLite's ranges near 1 GiB", ex);
	P("RD 1073741824+1 (PENDING)", SET(0, F_RDLCK, 1073741824, 1));
	P("RD 1073741826+510 (SHARED)", SET(0, F_RDLCK, 1073741826, 510));
	P("UN 1073741824+1", SET(0, F_UNLCK, 1073741824, 1));
	W("RD 1073741824+1", SET(0, F_RDLCK, 1073741824, 1));
	W("RD 1073741826+510", SET(0, F_RDLCK, 1073741826, 510));
	W("UN 1073741824+1", SET(0, F_UNLCK, 1073741824, 1));
	P("WR 1073741825+1 (RESERVED)", SET(0, F_WRLCK, 1073741825, 1));
	W("WR 1073741825+1 busy", SET(0, F_WRLCK, 1073741825, 1));
	P("WR 1073741824+1 (PENDING)", SET(0, F_WRLCK, 1073741824, 1));
	P("WR 1073741826+510 (EXCLUSIVE) busy", SET(0, F_WRLCK, 1073741826, 510));
	W("GETLK WR 1073741824+512", GET(0, F_WRLCK, 1073741824, 512));
	W("UN 1073741826+510", SET(0, F_UNLCK, 1073741826, 510));
	P("WR 1073741826+510 (EXCLUSIVE)", SET(0, F_WRLCK, 1073741826, 510));
	W("GETLK RD 1073741826+510", GET(0, F_RDLCK, 1073741826, 510));
	W("RD 1073741824+1 busy", SET(0, F_RDLCK, 1073741824, 1));
	P("UN 0+0", SET(0, F_UNLCK, 0, 0));
	W("GETLK WR 0+0", GET(0, F_WRLCK, 0, 0));
	end();

	begin("close of any descriptor releases", ex);
	P("open O_RDWR -> 1", OPEN(1, O_RDWR));
	P("WR 0+10 via 0", SET(0, F_WRLCK, 0, 10));
	P("RD 20+10 via 1", SET(1, F_RDLCK, 20, 10));
	W("GETLK WR 0+0", GET(0, F_WRLCK, 0, 0));
	P("close 1", CLOSE(1));
	W("GETLK WR 0+0 after close", GET(0, F_WRLCK, 0, 0));
	P("WR 0+10 again", SET(0, F_WRLCK, 0, 10));
	P("dup2 0 -> 3", ((struct cmd){ .op = OP_DUP2, .slot = 0, .arg2 = 3 }));
	P("close 3 (a dup)", CLOSE(3));
	W("GETLK WR 0+0", GET(0, F_WRLCK, 0, 0));
	P("WR 0+10 again", SET(0, F_WRLCK, 0, 10));
	P("open O_RDONLY -> 4", OPEN(4, O_RDONLY));
	P("open O_RDONLY -> 5", OPEN(5, O_RDONLY));
	P("dup2 4 over 5", ((struct cmd){ .op = OP_DUP2, .slot = 4, .arg2 = 5 }));
	W("GETLK WR 0+0 after dup2-over", GET(0, F_WRLCK, 0, 0));
	P("WR 0+10 again", SET(0, F_WRLCK, 0, 10));
	P("open O_RDONLY -> 6", OPEN(6, O_RDONLY));
	P("close_range(6, 6)", ((struct cmd){ .op = OP_CLOSE_RANGE, .slot = 6 }));
	W("GETLK WR 0+0 after close_range", GET(0, F_WRLCK, 0, 0));
	P("WR 0+10 again", SET(0, F_WRLCK, 0, 10));
	W("open O_RDWR -> 1 (worker)", OPEN(1, O_RDWR));
	W("close 1 (worker)", CLOSE(1));
	W("GETLK WR 0+0 (worker's close: no effect)", GET(0, F_WRLCK, 0, 0));
	end();

	begin("fork does not inherit", ex);
	P("WR 0+10", SET(0, F_WRLCK, 0, 10));
	stop_worker(0);
	start_worker(ex);
	W("GETLK WR 0+0 (new worker)", GET(0, F_WRLCK, 0, 0));
	W("UN 0+0 (not its lock)", SET(0, F_UNLCK, 0, 0));
	W("GETLK WR 0+0", GET(0, F_WRLCK, 0, 0));
	W("WR 0+10 busy", SET(0, F_WRLCK, 0, 10));
	end();

	begin("OFD locks", ex);
	P("open O_RDWR -> 1", OPEN(1, O_RDWR));
	P("OFD WR 0+10 via 0", OSET(0, F_WRLCK, 0, 10));
	P("process WR 5+10 via 1 busy", SET(1, F_WRLCK, 5, 10));
	P("OFD WR 5+10 via 1 busy", OSET(1, F_WRLCK, 5, 10));
	P("GETLK WR 0+0", GET(1, F_WRLCK, 0, 0));
	P("OFD GETLK WR 0+0 via 1", OGET(1, F_WRLCK, 0, 0));
	P("OFD GETLK WR 0+0 via 0 (own)", OGET(0, F_WRLCK, 0, 0));
	W("OFD WR 0+20 via 0 (same description)", OSET(0, F_WRLCK, 0, 20));
	W("GETLK RD 0+0", GET(0, F_RDLCK, 0, 0));
	struct cmd bad = OSET(0, F_WRLCK, 0, 1);
	bad.fl.l_pid = 1;
	P("OFD SETLK l_pid 1", bad);
	bad = OGET(0, F_WRLCK, 0, 1);
	bad.fl.l_pid = 1;
	P("OFD GETLK l_pid 1", bad);
	P("close 1 (OFD lock of 0 stays)", CLOSE(1));
	W("GETLK RD 0+0", GET(0, F_RDLCK, 0, 0));
	W("open O_RDWR -> 2", OPEN(2, O_RDWR));
	W("OFD UN 5+5 via 0", OSET(0, F_UNLCK, 5, 5));
	W("OFD GETLK WR 0+0 via 2", OGET(2, F_WRLCK, 0, 0));
	W("OFD GETLK WR 7+1 via 2", OGET(2, F_WRLCK, 7, 1));
	P("close 0", CLOSE(0));
	W("close 0 (last reference)", CLOSE(0));
	W("OFD GETLK WR 0+0 via 2", OGET(2, F_WRLCK, 0, 0));
	W("OFD WR 0+0 via 2", OSET(2, F_WRLCK, 0, 0));
	end();

	begin("flock", ex);
	P("flock SH", FL(0, LOCK_SH));
	W("open O_RDONLY -> 1", OPEN(1, O_RDONLY));
	W("flock SH via 1", FL(1, LOCK_SH | LOCK_NB));
	W("flock EX|NB via 1 busy", FL(1, LOCK_EX | LOCK_NB));
	W("flock EX|NB via 0 (shared description)", FL(0, LOCK_EX | LOCK_NB));
	P("flock UN", FL(0, LOCK_UN));
	W("flock EX|NB via 1 (its SH went on the failed try)", FL(1, LOCK_EX | LOCK_NB));
	P("flock SH|NB busy", FL(0, LOCK_SH | LOCK_NB));
	P("fcntl WR 0+0 (flock is separate)", SET(0, F_WRLCK, 0, 0));
	W("flock SH via 1 (convert)", FL(1, LOCK_SH));
	P("flock SH|NB", FL(0, LOCK_SH | LOCK_NB));
	P("flock EX|NB busy", FL(0, LOCK_EX | LOCK_NB));
	W("close 1", CLOSE(1));
	P("flock EX|NB", FL(0, LOCK_EX | LOCK_NB));
	P("open O_RDONLY -> 2", OPEN(2, O_RDONLY));
	P("flock EX|NB via 2 busy (own other description)", FL(2, LOCK_EX | LOCK_NB));
	end();

	begin("lockf", ex);
	P("seek 100", SEEK(0, 100));
	P("F_LOCK 10", LF(0, F_LOCK, 10));
	W("open O_RDWR -> 1", OPEN(1, O_RDWR));
	W("seek 105", SEEK(1, 105));
	W("F_TEST 1", LF(1, F_TEST, 1));
	W("F_TLOCK 1", LF(1, F_TLOCK, 1));
	W("F_TLOCK 0 (to EOF) busy", LF(1, F_TLOCK, 0));
	W("seek 110", SEEK(1, 110));
	W("F_TEST 0", LF(1, F_TEST, 0));
	W("F_TLOCK 0", LF(1, F_TLOCK, 0));
	P("seek 0", SEEK(0, 0));
	P("F_TEST 0", LF(0, F_TEST, 0));
	P("F_TLOCK -5 at 0", LF(0, F_TLOCK, -5));
	P("seek 110", SEEK(0, 110));
	P("F_TLOCK -5 at 110 (own range)", LF(0, F_TLOCK, -5));
	P("F_ULOCK -20 at 110", LF(0, F_ULOCK, -20));
	W("seek 90", SEEK(1, 90));
	W("F_TEST 20", LF(1, F_TEST, 20));
	P("lockf bad cmd", LF(0, 99, 0));
	end();

	begin("F_SETLKW woken by unlock", ex);
	P("WR 0+0", SET(0, F_WRLCK, 0, 0));
	WA("SETLKW RD 10+10", SETW(0, F_RDLCK, 10, 10));
	pause_ms(200);
	P("UN 0+15", SET(0, F_UNLCK, 0, 15));
	pause_ms(100);
	P("GETLK WR 0+0", GET(0, F_WRLCK, 0, 0));
	P("UN 0+0", SET(0, F_UNLCK, 0, 0));
	WR();
	P("GETLK WR 0+0", GET(0, F_WRLCK, 0, 0));
	P("flock EX", FL(0, LOCK_EX));
	W("open O_RDWR -> 1", OPEN(1, O_RDWR));
	WA("flock SH via 1 (waits)", FL(1, LOCK_SH));
	pause_ms(200);
	P("flock UN", FL(0, LOCK_UN));
	WR();
	P("flock EX|NB busy", FL(0, LOCK_EX | LOCK_NB));
	P("open O_RDWR -> 2", OPEN(2, O_RDWR));
	P("OFD WR 100+0 via 2", OSET(2, F_WRLCK, 100, 0));
	WA("OFD SETLKW RD 100+1 via 1", OSETW(1, F_RDLCK, 100, 1));
	pause_ms(200);
	P("close 2 (last reference: OFD lock goes)", CLOSE(2));
	WR();
	P("OFD GETLK WR 0+0 via 0", OGET(0, F_WRLCK, 0, 0));
	end();

	begin("EDEADLK", ex);
	P("WR 0+1", SET(0, F_WRLCK, 0, 1));
	W("WR 1+1", SET(0, F_WRLCK, 1, 1));
	WA("SETLKW WR 0+1 (waits for parent)", SETW(0, F_WRLCK, 0, 1));
	pause_ms(200);
	P("SETLKW WR 1+1 (deadlock)", SETW(0, F_WRLCK, 1, 1));
	P("OFD GETLK WR 0+0", OGET(0, F_WRLCK, 0, 0));
	P("UN 0+1", SET(0, F_UNLCK, 0, 1));
	WR();
	P("GETLK WR 0+0", GET(0, F_WRLCK, 0, 0));
	end();

	begin("signals", ex);
	W("handler without SA_RESTART", ((struct cmd){ .op = OP_SIG, .arg = 0 }));
	P("WR 0+0", SET(0, F_WRLCK, 0, 0));
	WA("SETLKW WR 0+1", SETW(0, F_WRLCK, 0, 1));
	pause_ms(200);
	kill(worker_pid, SIGUSR1);
	WR();
	W("open O_RDWR -> 1", OPEN(1, O_RDWR));
	P("flock EX", FL(0, LOCK_EX));
	WA("flock EX via 1", FL(1, LOCK_EX));
	pause_ms(200);
	kill(worker_pid, SIGUSR1);
	WR();
	W("handler with SA_RESTART", ((struct cmd){ .op = OP_SIG, .arg = 1 }));
	WA("SETLKW WR 0+1", SETW(0, F_WRLCK, 0, 1));
	pause_ms(200);
	kill(worker_pid, SIGUSR1);
	pause_ms(200);
	P("UN 0+0", SET(0, F_UNLCK, 0, 0));
	WR();
	WA("flock EX via 1", FL(1, LOCK_EX));
	pause_ms(200);
	kill(worker_pid, SIGUSR1);
	pause_ms(200);
	P("flock UN", FL(0, LOCK_UN));
	WR();
	P("GETLK RD 0+0", GET(0, F_RDLCK, 0, 0));
	end();

	begin("dead holder", ex);
	W("WR 0+10", SET(0, F_WRLCK, 0, 10));
	W("RD 100+0", SET(0, F_RDLCK, 100, 0));
	P("WR 5+1 busy", SET(0, F_WRLCK, 5, 1));
	stop_worker(1);
	printf("(worker killed with SIGKILL)\n");
	P("GETLK WR 0+0", GET(0, F_WRLCK, 0, 0));
	P("WR 0+0", SET(0, F_WRLCK, 0, 0));
	start_worker(ex);
	W("WR 1+1 busy", SET(0, F_WRLCK, 1, 1));
	W("GETLK WR 0+0", GET(0, F_WRLCK, 0, 0));
	P("UN 0+0", SET(0, F_UNLCK, 0, 0));
	/* a third process holds a lock; the worker waits for it; it is
	 * killed: the waiter gets the lock */
	int hp[2];
	if (pipe(hp))
		exit(2);
	fflush(stdout);
	pid_t holder = fork();
	if (holder == 0) {
		struct flock h = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0,
				   .l_len = 0 };
		char ok = fcntl(slots[0], F_SETLK, &h) == 0 ? 'y' : 'n';
		if (write(hp[1], &ok, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	char ok = 0;
	if (read(hp[0], &ok, 1) != 1)
		ok = '?';
	close(hp[0]);
	close(hp[1]);
	printf("(a third process took WR 0+0: %c)\n", ok);
	WA("SETLKW WR 5+1 (waits for the third)", SETW(0, F_WRLCK, 5, 1));
	pause_ms(200);
	kill(holder, SIGKILL);
	waitpid(holder, NULL, 0);
	printf("(the third process killed with SIGKILL)\n");
	WR();
	P("GETLK WR 0+0", GET(0, F_WRLCK, 0, 0));
	P("UN 0+0", SET(0, F_UNLCK, 0, 0));
	/* OFD and flock locks on a description only the killed worker
	 * held: the kernel drops them with its last reference */
	W("open O_RDWR -> 1", OPEN(1, O_RDWR));
	W("flock EX via 1", FL(1, LOCK_EX));
	W("OFD WR 200+1 via 1", OSET(1, F_WRLCK, 200, 1));
	P("flock EX|NB busy", FL(0, LOCK_EX | LOCK_NB));
	P("OFD WR 200+1 busy", OSET(0, F_WRLCK, 200, 1));
	stop_worker(1);
	printf("(worker killed with SIGKILL)\n");
	P("flock EX|NB", FL(0, LOCK_EX | LOCK_NB));
	P("OFD GETLK WR 0+0", OGET(0, F_WRLCK, 0, 0));
	P("OFD WR 200+1", OSET(0, F_WRLCK, 200, 1));
	P("flock UN", FL(0, LOCK_UN));
	P("OFD UN 200+1", OSET(0, F_UNLCK, 200, 1));
	start_worker(ex);
	end();
}

static void exec_scenarios(void)
{
	begin("locks across exec", 1);
	W("WR 0+10", SET(0, F_WRLCK, 0, 10));
	W("open O_RDWR -> 1", OPEN(1, O_RDWR));
	W("RD 50+10 via 1", SET(1, F_RDLCK, 50, 10));
	W("re-exec", ((struct cmd){ .op = OP_REEXEC }));
	W("seek 0 (the new image answers)", SEEK(0, 0));
	P("GETLK WR 0+0 (kept by exec)", GET(0, F_WRLCK, 0, 0));
	W("FD_CLOEXEC on 1", ((struct cmd){ .op = OP_CLOEXEC, .slot = 1 }));
	W("re-exec (closes 1)", ((struct cmd){ .op = OP_REEXEC }));
	W("seek 0 (the new image answers)", SEEK(0, 0));
	W("GETLK WR 0+0 via 0 (the worker's view)", GET(0, F_WRLCK, 0, 0));
	P("GETLK WR 0+0 (released by the exec's close)", GET(0, F_WRLCK, 0, 0));
	end();
}

/*
 * --contend DIR: 4 processes x 2000 increments of a counter kept in a
 * file, each under a blocking lock: with fcntl (process F_SETLKW and OFD
 * F_OFD_SETLKW on each process's own description, alternating: the two
 * kinds exclude each other), then with flock (which is apart from fcntl
 * locks).  Prints the final counters (8000 when the locks exclude, fewer
 * if an update was lost) and how many processes failed.
 */
static int contend_one(const char *dir, int use_flock)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/counter", dir);
	int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
	unsigned zero = 0;
	if (fd < 0 || pwrite(fd, &zero, sizeof(zero), 0) != sizeof(zero))
		return 1;
	close(fd);
	enum { PROCS = 4, ROUNDS = 2000 };
	pid_t kids[PROCS];
	fflush(stdout);
	for (int k = 0; k < PROCS; k++) {
		kids[k] = fork();
		if (kids[k] == 0) {
			int f = open(p, O_RDWR);
			if (f < 0)
				_exit(2);
			for (int i = 0; i < ROUNDS; i++) {
				int how = use_flock ? 2 : (i + k) % 2;
				struct flock l = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
						   .l_start = 0, .l_len = 0 };
				int r = how == 0 ? fcntl(f, F_SETLKW, &l)
				      : how == 1 ? fcntl(f, F_OFD_SETLKW, &l) : flock(f, LOCK_EX);
				if (r)
					_exit(3);
				unsigned v;
				if (pread(f, &v, sizeof(v), 0) != sizeof(v))
					_exit(4);
				v++;
				if (i % 7 == 0)
					sched_yield();
				if (pwrite(f, &v, sizeof(v), 0) != sizeof(v))
					_exit(5);
				l.l_type = F_UNLCK;
				r = how == 0 ? fcntl(f, F_SETLK, &l)
				  : how == 1 ? fcntl(f, F_OFD_SETLK, &l) : flock(f, LOCK_UN);
				if (r)
					_exit(6);
			}
			_exit(0);
		}
	}
	int bad = 0;
	for (int k = 0; k < PROCS; k++) {
		int st;
		waitpid(kids[k], &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			bad++;
	}
	unsigned v = 0;
	fd = open(p, O_RDONLY);
	if (fd < 0 || pread(fd, &v, sizeof(v), 0) != sizeof(v))
		v = 0;
	close(fd);
	unlink(p);
	printf("contend %s: %d processes failed, counter %u\n", use_flock ? "flock" : "fcntl",
	       bad, v);
	return 0;
}

static int contend(const char *dir)
{
	return contend_one(dir, 0) | contend_one(dir, 1);
}

int main(int argc, char **argv)
{
	self = "/proc/self/exe";
	if (argc == 4 && !strcmp(argv[1], "--worker")) {
		path = argv[2];
		char *s = argv[3];
		for (int i = 0; i < NSLOT; i++) {
			slots[i] = (int)strtol(s, &s, 10);
			if (*s == ',')
				s++;
		}
		worker_loop();
	}
	if (argc == 3 && !strcmp(argv[1], "--contend"))
		return contend(argv[2]);
	if (argc != 2) {
		fprintf(stderr, "usage: lock_oracle [--contend] DIR\n");
		return 2;
	}
	static char pbuf[4096];
	snprintf(pbuf, sizeof(pbuf), "%s/lockfile", argv[1]);
	path = pbuf;
	parent_pid = getpid();
	signal(SIGPIPE, SIG_IGN);
	scenarios(0);
	scenarios(1);
	exec_scenarios();
	unlink(path);
	return 0;
}
