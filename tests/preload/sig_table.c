/*
 * sig_table: a transcript of signal-disposition semantics (sigaction's old
 * action and flags, SA_RESETHAND, SA_NODEFER, sa_mask, SA_SIGINFO,
 * SA_RESTART, SIG_IGN/SIG_DFL, signal, sysv_signal, bsd_signal, sigset,
 * siginterrupt, signalfd, sigwait, bad signal numbers, fork).  Run natively
 * and under the shim: the transcripts must be equal (preload_signal.sh).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

extern __sighandler_t bsd_signal(int, __sighandler_t);
#define HINFO ((void (*)(int))(void (*)(void))hinfo)

#define SHOWN_FLAGS (SA_SIGINFO | SA_RESTART | SA_RESETHAND | SA_NODEFER | SA_ONSTACK | \
		     SA_NOCLDSTOP | SA_NOCLDWAIT | 0x04000000 /* SA_RESTORER */)

static volatile sig_atomic_t calls, last_sig, last_code, blocked_self, blocked_other, last_val;

static const char *name(void (*h)(int));

static void h1(int sig)
{
	sigset_t m;
	calls++;
	last_sig = sig;
	pthread_sigmask(SIG_BLOCK, NULL, &m);
	blocked_self = sigismember(&m, sig);
	blocked_other = sigismember(&m, SIGUSR2);
}

static void h2(int sig)
{
	h1(sig);
}

static void hinfo(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	h1(sig);
	last_code = si->si_code;
	last_val = si->si_value.sival_int;
}

static const char *name(void (*h)(int))
{
	if (h == SIG_DFL)
		return "SIG_DFL";
	if (h == SIG_IGN)
		return "SIG_IGN";
	if (h == SIG_ERR)
		return "SIG_ERR";
	if (h == SIG_HOLD)
		return "SIG_HOLD";
	if (h == h1)
		return "h1";
	if (h == h2)
		return "h2";
	if (h == HINFO)
		return "hinfo";
	return "other";
}

static void show(const char *what, int sig)
{
	struct sigaction o;
	int r = sigaction(sig, NULL, &o);
	printf("%s: query r=%d handler=%s flags=%#x mask:", what, r, name(o.sa_handler),
	       (unsigned)(o.sa_flags & SHOWN_FLAGS));
	for (int s = 1; s < 32; s++)
		if (sigismember(&o.sa_mask, s))
			printf(" %d", s);
	printf("\n");
}

static void act(const char *what, int sig, void (*h)(int), int flags, int masksig)
{
	struct sigaction a, o;
	memset(&a, 0, sizeof(a));
	memset(&o, 0, sizeof(o));
	a.sa_handler = h;
	a.sa_flags = flags;
	sigemptyset(&a.sa_mask);
	if (masksig)
		sigaddset(&a.sa_mask, masksig);
	errno = 0;
	int r = sigaction(sig, &a, &o);
	printf("%s: set r=%d errno=%d old=%s oldflags=%#x\n", what, r, r ? errno : 0,
	       name(o.sa_handler), (unsigned)(o.sa_flags & SHOWN_FLAGS));
}

static void fire(const char *what, int sig)
{
	calls = 0;
	last_code = 0;
	raise(sig);
	printf("%s: raise(%d) calls=%d sig=%d self_blocked=%d usr2_blocked=%d\n", what, sig,
	       (int)calls, (int)last_sig, (int)blocked_self, (int)blocked_other);
}

static int pipefd[2];

static void *late_writer(void *arg)
{
	(void)arg;
	usleep(300000);
	if (write(pipefd[1], "x", 1) != 1)
		perror("write");
	return NULL;
}

static void restart_case(const char *what, int flags)
{
	char c;
	pthread_t t;
	struct itimerval it = { { 0, 0 }, { 0, 50000 } };
	act(what, SIGALRM, h1, flags, 0);
	if (pipe(pipefd))
		perror("pipe");
	pthread_create(&t, NULL, late_writer, NULL);
	calls = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	errno = 0;
	ssize_t n = read(pipefd[0], &c, 1);
	printf("%s: read=%zd errno=%d handler_calls=%d\n", what, n, n < 0 ? errno : 0, (int)calls);
	pthread_join(t, NULL);
	close(pipefd[0]);
	close(pipefd[1]);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* sigaction: old action, flags, mask */
	show("initial USR1", SIGUSR1);
	act("h1 SIGINFO-less RESTART mask USR2", SIGUSR1, h1, SA_RESTART, SIGUSR2);
	show("after h1", SIGUSR1);
	fire("h1", SIGUSR1);
	act("hinfo SIGINFO", SIGUSR1, HINFO, SA_SIGINFO, 0);
	show("after hinfo", SIGUSR1);
	union sigval v = { .sival_int = 4242 };
	calls = 0;
	sigqueue(getpid(), SIGUSR1, v);
	printf("sigqueue: calls=%d code_is_queue=%d value=%d\n", (int)calls,
	       last_code == SI_QUEUE, (int)last_val);
	act("h2 NODEFER", SIGUSR1, h2, SA_NODEFER, 0);
	fire("h2 NODEFER", SIGUSR1);
	show("after h2", SIGUSR1);
	/* SA_RESETHAND on a signal whose default is to ignore */
	act("h1 RESETHAND", SIGURG, h1, SA_RESETHAND, 0);
	show("RESETHAND before", SIGURG);
	fire("RESETHAND first", SIGURG);
	show("RESETHAND after", SIGURG);
	fire("RESETHAND second", SIGURG);
	act("hinfo RESETHAND|SIGINFO|NODEFER", SIGWINCH, HINFO,
	    SA_RESETHAND | SA_SIGINFO | SA_NODEFER, SIGUSR2);
	fire("RESETHAND|SIGINFO first", SIGWINCH);
	show("RESETHAND|SIGINFO after", SIGWINCH);
	/* SIG_IGN and SIG_DFL */
	act("ignore USR1", SIGUSR1, SIG_IGN, 0, 0);
	fire("ignored", SIGUSR1);
	act("default USR1", SIGUSR1, SIG_DFL, 0, 0);
	show("default", SIGUSR1);
	/* signal and friends */
	printf("signal h1: old=%s\n", name(signal(SIGUSR2, h1)));
	show("signal", SIGUSR2);
	printf("signal h2: old=%s\n", name(signal(SIGUSR2, h2)));
	fire("signal h2", SIGUSR2);
	printf("bsd_signal h1: old=%s\n", name(bsd_signal(SIGUSR2, h1)));
	printf("siginterrupt 1: r=%d\n", siginterrupt(SIGUSR2, 1));
	show("siginterrupt 1", SIGUSR2);
	printf("signal after siginterrupt: old=%s\n", name(signal(SIGUSR2, h2)));
	show("signal after siginterrupt", SIGUSR2);
	printf("siginterrupt 0: r=%d\n", siginterrupt(SIGUSR2, 0));
	show("siginterrupt 0", SIGUSR2);
	printf("sysv_signal h1: old=%s\n", name(sysv_signal(SIGURG, h1)));
	show("sysv_signal", SIGURG);
	fire("sysv first", SIGURG);
	show("sysv after", SIGURG);
	printf("sigset h1: old=%s\n", name(sigset(SIGUSR2, h1)));
	show("sigset", SIGUSR2);
	printf("sigset HOLD: old=%s\n", name(sigset(SIGUSR2, SIG_HOLD)));
	printf("sigset HOLD again: old=%s\n", name(sigset(SIGUSR2, SIG_HOLD)));
	printf("sigset h2 after HOLD: old=%s\n", name(sigset(SIGUSR2, h2)));
	fire("sigset h2", SIGUSR2);
	/* bad numbers */
	act("SIGKILL handler", SIGKILL, h1, 0, 0);
	act("signal 0", 0, h1, 0, 0);
	act("signal 65", 65, h1, 0, 0);
	act("signal 32 (glibc's)", 32, h1, 0, 0);
	printf("signal(SIGSTOP): %s errno=%d\n", name(signal(SIGSTOP, h1)), errno);
	printf("signal(SIG_ERR): %s errno=%d\n", name(signal(SIGUSR1, SIG_ERR)), errno);
	/* SA_RESTART against an interrupted read */
	restart_case("SA_RESTART read", SA_RESTART);
	restart_case("no SA_RESTART read", 0);
	/* signalfd and sigwait users */
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	act("h1 for signalfd", SIGUSR1, h1, 0, 0);
	sigprocmask(SIG_BLOCK, &m, NULL);
	int sfd = signalfd(-1, &m, SFD_CLOEXEC);
	calls = 0;
	raise(SIGUSR1);
	struct signalfd_siginfo ssi;
	ssize_t n = read(sfd, &ssi, sizeof(ssi));
	printf("signalfd: read=%zd signo=%u handler_calls=%d\n", n, ssi.ssi_signo, (int)calls);
	close(sfd);
	raise(SIGUSR1);
	int got = 0;
	int r = sigwait(&m, &got);
	printf("sigwait: r=%d sig=%d handler_calls=%d\n", r, got, (int)calls);
	sigprocmask(SIG_UNBLOCK, &m, NULL);
	/* fork: the child keeps the handler */
	act("h1 before fork", SIGUSR1, h1, 0, 0);
	pid_t pid = fork();
	if (pid == 0) {
		calls = 0;
		raise(SIGUSR1);
		_exit(calls == 1 ? 7 : 8);
	}
	int st;
	waitpid(pid, &st, 0);
	printf("fork child: exit=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	show("final USR1", SIGUSR1);
	return 0;
}
