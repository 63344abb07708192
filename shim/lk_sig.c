/*
 * lk_sig: the per-thread record of deferred signals and their delivery
 * (see shim/lk_sig.h).  Thread-local state only: no lock.
 */
#include "shim/lk_sig.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <sys/syscall.h>
#include <unistd.h>

__thread struct lk_sig_thread lk_sig_self __attribute__((tls_model("initial-exec")));

void lk_sig_defer(const siginfo_t *info, void *uc)
{
	struct lk_sig_thread *t = &lk_sig_self;
	/* Reserve a slot first: a nested handler that defers too gets the
	 * next one. */
	unsigned i = __atomic_fetch_add(&t->n, 1, __ATOMIC_RELAXED);

	if (i >= LK_SIG_QMAX) {
		/* Standard signals coalesce in the kernel as well; a burst of
		 * more than LK_SIG_QMAX queued real-time signals inside one
		 * shim call loses the excess (counted). */
		__atomic_fetch_add(&t->lost, 1, __ATOMIC_RELAXED);
	} else {
		memcpy(&t->q[i], info, sizeof(*info));
	}
	int sig = info->si_signo;
	if (uc && sig >= 1 && sig <= 64 && !sigismember(&((ucontext_t *)uc)->uc_sigmask, sig)) {
		sigaddset(&((ucontext_t *)uc)->uc_sigmask, sig);
		__atomic_fetch_or(&t->blocked, 1ull << (sig - 1), __ATOMIC_RELAXED);
	}
	atomic_signal_fence(memory_order_seq_cst);
	t->pending = 1;
}

void lk_sig_flush(void)
{
	struct lk_sig_thread *t = &lk_sig_self;
	int saved = errno;
	uint64_t all = ~0ull, old;

	/* Block everything while the queue is drained, so no handler can
	 * append to it meanwhile; the records go back to the kernel, which
	 * delivers them when the mask is restored. */
	syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, &old, sizeof(all));
	unsigned n = t->n < LK_SIG_QMAX ? t->n : LK_SIG_QMAX;
	/* Instances that arrived while a deferred signal was blocked wait in
	 * the kernel ahead of where the re-sent one would go: take them too,
	 * so that each signal's instances keep their order (real-time ones
	 * are delivered first in, first out). */
	for (int sig = 1; sig <= 64 && n < LK_SIG_QMAX; sig++) {
		if (!(t->blocked & (1ull << (sig - 1))))
			continue;
		uint64_t one = 1ull << (sig - 1);
		struct timespec zero = { 0, 0 };
		while (n < LK_SIG_QMAX &&
		       syscall(SYS_rt_sigtimedwait, &one, &t->q[n], &zero, sizeof(one)) == sig)
			n++;
	}
	pid_t pid = (pid_t)syscall(SYS_getpid), tid = (pid_t)syscall(SYS_gettid);
	for (unsigned i = 0; i < n; i++)
		syscall(SYS_rt_tgsigqueueinfo, pid, tid, t->q[i].si_signo, &t->q[i]);
	t->n = 0;
	t->pending = 0;
	old &= ~t->blocked;
	t->blocked = 0;
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, sizeof(old));
	errno = saved;
}

void lk_sig_fork_child(void)
{
	uint64_t b = lk_sig_self.blocked;

	lk_sig_self.n = 0;
	lk_sig_self.pending = 0;
	lk_sig_self.blocked = 0;
	if (b)
		syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &b, NULL, sizeof(b));
}
