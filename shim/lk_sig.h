/*
 * lk_sig — deferral of asynchronous signals while a thread is inside a
 * shim critical section.
 *
 * The lock runtime counts, per thread, the shim locks held or being
 * acquired (lk_sig_self.depth: raised before the first try of a blocking
 * or trying acquisition, so a handler can never run between the futex
 * word and the held-lock record; lowered after the word is released).
 * Re-entries of a recursive lock do not count: the lock is already held.
 *
 * The signal trampoline (shim/wrap_signal.c) asks lk_sig_deferring():
 * when the interrupted thread is inside, it records the siginfo with
 * lk_sig_defer() and returns at once, with the signal added to the mask
 * the interrupted code resumes with (uc_sigmask), so further instances
 * wait in the kernel (queued or coalesced as usual) instead of here.  The
 * release that brings depth back to 0 sees the pending word and calls
 * lk_sig_flush(), which sends every recorded signal back to the thread
 * itself (rt_tgsigqueueinfo with the saved siginfo) and unblocks what the
 * deferral blocked: the kernel then delivers each one normally, with the
 * handler's own mask and flags, as soon as the thread runs outside.
 *
 * Fast path cost: one thread-local increment per acquisition of a lock
 * not already held, one decrement and one load of the pending word per
 * release.  No system call unless a signal was deferred.
 *
 * State: all of it is the thread's own (TLS); it is modified by the
 * thread and by signal handlers running on it, never by another thread,
 * so no lock.  The record queue is appended to with a signal-atomic
 * fetch-add and drained with every signal blocked.
 */
#ifndef VADSHIM_LK_SIG_H
#define VADSHIM_LK_SIG_H

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

#define LK_SIG_QMAX 32

struct lk_sig_thread {
	unsigned depth;                 /* shim locks held or being taken */
	unsigned pending;               /* records in q[] to deliver */
	unsigned n;                     /* slots reserved in q[] (may exceed QMAX) */
	unsigned lost;                  /* records dropped: queue full */
	uint64_t blocked;               /* signals the deferral blocked (bit sig-1) */
	siginfo_t q[LK_SIG_QMAX];
};

extern __thread struct lk_sig_thread lk_sig_self __attribute__((tls_model("initial-exec")));

void lk_sig_flush(void);

static inline void lk_sig_enter(void)
{
	lk_sig_self.depth++;
	atomic_signal_fence(memory_order_seq_cst);
}

static inline void lk_sig_leave(void)
{
	atomic_signal_fence(memory_order_seq_cst);
	if (--lk_sig_self.depth == 0) {
		atomic_signal_fence(memory_order_seq_cst);
		if (__builtin_expect(lk_sig_self.pending != 0, 0))
			lk_sig_flush();
	}
}

/* From a signal handler: is the interrupted thread inside the shim? */
static inline int lk_sig_deferring(void)
{
	return lk_sig_self.depth != 0;
}

/* From a signal handler: record info for delivery at the outermost
 * release; uc (the handler's third argument, or NULL) gets the signal
 * blocked until then. */
void lk_sig_defer(const siginfo_t *info, void *uc);

/* Fork child: signals deferred in the parent are the parent's. */
void lk_sig_fork_child(void);

#endif
