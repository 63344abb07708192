/*
 * lk_sig: the per-thread record of deferred signals and their delivery
 * (see shim/lk_sig.h).  Thread-local state only: no lock.
 */
#include "shim/lk_sig.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

__thread struct lk_sig_thread lk_sig_self __attribute__((tls_model("initial-exec")));

void lk_sig_defer(const siginfo_t *info)
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
	atomic_signal_fence(memory_order_seq_cst);
	t->pending = 1;
}

void lk_sig_flush(void)
{
	struct lk_sig_thread *t = &lk_sig_self;
	int saved = errno;
	uint64_t all = ~0ull, old;
	siginfo_t q[LK_SIG_QMAX];

	/* Block everything while the queue is drained, so no handler can
	 * append to it meanwhile; the records go back to the kernel, which
	 * delivers them when the old mask is restored. */
	syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, &old, sizeof(all));
	unsigned n = t->n < LK_SIG_QMAX ? t->n : LK_SIG_QMAX;
	memcpy(q, t->q, n * sizeof(q[0]));
	t->n = 0;
	t->pending = 0;
	pid_t pid = (pid_t)syscall(SYS_getpid), tid = (pid_t)syscall(SYS_gettid);
	for (unsigned i = 0; i < n; i++)
		syscall(SYS_rt_tgsigqueueinfo, pid, tid, q[i].si_signo, &q[i]);
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, sizeof(old));
	errno = saved;
}

void lk_sig_fork_child(void)
{
	lk_sig_self.n = 0;
	lk_sig_self.pending = 0;
}
