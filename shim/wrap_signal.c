/*
 * Wrappers of signal disposition: sigaction, signal, bsd_signal, ssignal,
 * sysv_signal, __sysv_signal, sigset, siginterrupt.
 *
 * A program's handler is installed behind sig_tramp: the kernel calls the
 * trampoline with the program's mask and flags (SA_RESETHAND emulated,
 * SA_SIGINFO always on), and the trampoline either runs the program's
 * handler at once or, when the interrupted thread is inside a shim
 * critical section (lk_sig_deferring: it holds or is taking a shim lock),
 * records the siginfo and returns; the outermost release of a shim lock
 * sends it again to the thread (shim/lk_sig.c), and the kernel then
 * delivers it with the handler's own mask and flags.  Synchronous faults
 * (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS raised by the kernel,
 * si_code > 0) run at once.  SIG_IGN and SIG_DFL go to the kernel as
 * they are.  sigaction reports the program's own handler and flags, never
 * the trampoline.  Option signal_defer=0 leaves every call to libc.
 *
 * glibc's signal(), sysv_signal(), sigset() and siginterrupt() call an
 * internal sigaction the preload cannot see, so they are re-implemented
 * here on top of the wrapped sigaction.
 *
 * Shared state:
 *   sig_slots[sig]   the program's handler for sig, with its SA_SIGINFO
 *                    and SA_RESETHAND bits (0: no trampoline).  Written
 *                    under sig_lock (leaf "shim_signals") together with
 *                    the kernel's action; read lock-free (atomic) by the
 *                    trampoline, which may also clear it (compare-and-
 *                    swap) when it resets a SA_RESETHAND handler.
 *   sig_intr         siginterrupt's set (atomic bit mask), like glibc's
 *                    _sigintr.
 *   sig_on           written once at init, read-only after.
 * Order when switching: a handler's slot is written before the kernel's
 * action; SIG_IGN/SIG_DFL go to the kernel before the slot is cleared, so
 * a trampoline that finds an empty slot knows the kernel's action changed
 * (or a reset is in progress on this thread).
 */
/* sigset and siginterrupt are deprecated in the headers; wrapped all the same. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim/lk.h"
#include "shim/lk_sig.h"
#include "shim/options.h"
#include "shim/real_fs.h"
#include "shim/shim.h"

#define W_SIGINFO (1ull << 63)
#define W_RESET (1ull << 62)
#define W_PTR(w) ((uintptr_t)((w) & ~(W_SIGINFO | W_RESET)))

static _Atomic uint64_t sig_slots[_NSIG];
static _Atomic uint64_t sig_intr;
static bool sig_on;

static struct lk_class sig_class = LK_CLASS_INIT("shim_signals", LK_RANK_LEAF + 30, false);
static struct lk_lock sig_lock = LK_LOCK_INIT(&sig_class, "shim_signals");

SHIM_REAL_DECL(sigaction);
SHIM_REAL_DECL(signal);
SHIM_REAL_DECL(sysv_signal);
SHIM_REAL_DECL(sigset);
SHIM_REAL_DECL(siginterrupt);

static void sig_tramp(int sig, siginfo_t *si, void *uc);

void shim_signal_init(void)
{
	/* Resolve now: the trampoline may call it, and dlsym is not
	 * async-signal-safe. */
	(void)SHIM_REAL(sigaction);
	sig_on = shim_opt.signal_defer != 0;
}

static bool sig_sync(int sig, const siginfo_t *si)
{
	switch (sig) {
	case SIGSEGV:
	case SIGBUS:
	case SIGFPE:
	case SIGILL:
	case SIGTRAP:
	case SIGSYS:
		return si->si_code > 0;
	default:
		return false;
	}
}

static bool is_tramp(const struct sigaction *k)
{
	return (k->sa_flags & SA_SIGINFO) && k->sa_sigaction == sig_tramp;
}

/* The kernel's action for a SA_RESETHAND handler after its first
 * delivery: SIG_DFL with the flags and mask it was installed with. */
static void sig_reset_kernel(int sig, uint64_t w)
{
	struct sigaction k;

	if (SHIM_REAL(sigaction)(sig, NULL, &k) || !is_tramp(&k))
		return;
	k.sa_handler = SIG_DFL;
	k.sa_flags |= SA_RESETHAND;
	if (!(w & W_SIGINFO))
		k.sa_flags &= ~SA_SIGINFO;
	SHIM_REAL(sigaction)(sig, &k, NULL);
}

static void sig_tramp(int sig, siginfo_t *si, void *uc)
{
	if (lk_sig_deferring() && !sig_sync(sig, si)) {
		lk_sig_defer(si, uc);
		return;
	}
	int saved = errno;
	uint64_t w = atomic_load_explicit(&sig_slots[sig], memory_order_acquire);
	while (w & W_RESET) {
		if (atomic_compare_exchange_weak(&sig_slots[sig], &w, 0)) {
			sig_reset_kernel(sig, w);
			break;
		}
	}
	if (!W_PTR(w)) {
		/* The action changed under us (another thread, or a reset
		 * on this one): make sure the kernel no longer points here,
		 * then let it act on the signal again. */
		sig_reset_kernel(sig, 0);
		syscall(SYS_rt_tgsigqueueinfo, (pid_t)syscall(SYS_getpid),
			(pid_t)syscall(SYS_gettid), sig, si);
		errno = saved;
		return;
	}
	errno = saved;
	if (w & W_SIGINFO)
		((void (*)(int, siginfo_t *, void *))W_PTR(w))(sig, si, uc);
	else
		((void (*)(int))W_PTR(w))(sig);
}

/* What the program installed, from the kernel's action and the slot. */
static void user_view(const struct sigaction *k, uint64_t w, struct sigaction *out)
{
	*out = *k;
	if (!is_tramp(k) || !W_PTR(w))
		return;
	out->sa_handler = (void (*)(int))W_PTR(w);
	out->sa_flags = (k->sa_flags & ~(SA_SIGINFO | SA_RESETHAND)) |
			(w & W_SIGINFO ? SA_SIGINFO : 0) | (w & W_RESET ? SA_RESETHAND : 0);
}

SHIM_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *oact)
{
	if (!sig_on || sig < 1 || sig >= _NSIG)
		return SHIM_REAL(sigaction)(sig, act, oact);
	struct sigaction k, ko;
	int r;
	if (!act) {
		uint64_t w = atomic_load_explicit(&sig_slots[sig], memory_order_acquire);
		r = SHIM_REAL(sigaction)(sig, NULL, oact ? &ko : NULL);
		if (r == 0 && oact)
			user_view(&ko, w, oact);
		return r;
	}
	bool handler = act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN;
	lk_lock(&sig_lock);
	uint64_t prev = atomic_load_explicit(&sig_slots[sig], memory_order_relaxed);
	if (handler) {
		uint64_t w = (uint64_t)(uintptr_t)act->sa_handler |
			     (act->sa_flags & SA_SIGINFO ? W_SIGINFO : 0) |
			     (act->sa_flags & SA_RESETHAND ? W_RESET : 0);
		k = *act;
		k.sa_sigaction = sig_tramp;
		k.sa_flags = (act->sa_flags & ~SA_RESETHAND) | SA_SIGINFO;
		atomic_store_explicit(&sig_slots[sig], w, memory_order_release);
		r = SHIM_REAL(sigaction)(sig, &k, &ko);
		if (r)
			atomic_store_explicit(&sig_slots[sig], prev, memory_order_release);
	} else {
		r = SHIM_REAL(sigaction)(sig, act, &ko);
		if (r == 0)
			atomic_store_explicit(&sig_slots[sig], 0, memory_order_release);
	}
	lk_unlock(&sig_lock);
	if (r == 0 && oact)
		user_view(&ko, prev, oact);
	return r;
}


SHIM_EXPORT int __sigaction(int sig, const struct sigaction *act, struct sigaction *oact)
{
	return sigaction(sig, act, oact);
}

/* signal(): BSD semantics, as glibc's: the signal blocked in its handler,
 * SA_RESTART unless siginterrupt(sig, 1) was called. */
static __sighandler_t bsd_signal_(int sig, __sighandler_t h)
{
	struct sigaction a, o;

	if (h == SIG_ERR || sig < 1 || sig >= NSIG) {
		errno = EINVAL;
		return SIG_ERR;
	}
	memset(&a, 0, sizeof(a));
	a.sa_handler = h;
	sigemptyset(&a.sa_mask);
	sigaddset(&a.sa_mask, sig);
	a.sa_flags = (atomic_load(&sig_intr) >> (sig - 1)) & 1 ? 0 : SA_RESTART;
	if (sigaction(sig, &a, &o) < 0)
		return SIG_ERR;
	return o.sa_handler;
}

SHIM_EXPORT __sighandler_t signal(int sig, __sighandler_t h)
{
	if (!sig_on)
		return SHIM_REAL(signal)(sig, h);
	return bsd_signal_(sig, h);
}

SHIM_EXPORT __sighandler_t bsd_signal(int sig, __sighandler_t h)
{
	return signal(sig, h);
}

SHIM_EXPORT __sighandler_t ssignal(int sig, __sighandler_t h)
{
	return signal(sig, h);
}

/* System V semantics: reset to SIG_DFL on delivery, not blocked, no restart. */
SHIM_EXPORT __sighandler_t sysv_signal(int sig, __sighandler_t h)
{
	if (!sig_on)
		return SHIM_REAL(sysv_signal)(sig, h);
	struct sigaction a, o;
	if (h == SIG_ERR || sig < 1 || sig >= NSIG) {
		errno = EINVAL;
		return SIG_ERR;
	}
	memset(&a, 0, sizeof(a));
	a.sa_handler = h;
	sigemptyset(&a.sa_mask);
	a.sa_flags = SA_RESETHAND | SA_NODEFER;
	if (sigaction(sig, &a, &o) < 0)
		return SIG_ERR;
	return o.sa_handler;
}

SHIM_EXPORT __sighandler_t __sysv_signal(int sig, __sighandler_t h)
{
	return sysv_signal(sig, h);
}

SHIM_EXPORT __sighandler_t sigset(int sig, __sighandler_t h)
{
	if (!sig_on)
		return SHIM_REAL(sigset)(sig, h);
	struct sigaction a, o;
	sigset_t set, old;
	if (h == SIG_ERR || sig < 1 || sig >= NSIG) {
		errno = EINVAL;
		return SIG_ERR;
	}
	sigemptyset(&set);
	sigaddset(&set, sig);
	if (h == SIG_HOLD) {
		if (sigprocmask(SIG_BLOCK, &set, &old) < 0)
			return SIG_ERR;
		if (sigismember(&old, sig))
			return SIG_HOLD;
		if (sigaction(sig, NULL, &o) < 0)
			return SIG_ERR;
		return o.sa_handler;
	}
	memset(&a, 0, sizeof(a));
	a.sa_handler = h;
	sigemptyset(&a.sa_mask);
	if (sigaction(sig, &a, &o) < 0)
		return SIG_ERR;
	if (sigprocmask(SIG_UNBLOCK, &set, &old) < 0)
		return SIG_ERR;
	return sigismember(&old, sig) ? SIG_HOLD : o.sa_handler;
}

SHIM_EXPORT int siginterrupt(int sig, int interrupt)
{
	if (!sig_on)
		return SHIM_REAL(siginterrupt)(sig, interrupt);
	struct sigaction a;
	if (sig < 1 || sig >= NSIG) {
		errno = EINVAL;
		return -1;
	}
	if (sigaction(sig, NULL, &a) < 0)
		return -1;
	if (interrupt) {
		atomic_fetch_or(&sig_intr, 1ull << (sig - 1));
		a.sa_flags &= ~SA_RESTART;
	} else {
		atomic_fetch_and(&sig_intr, ~(1ull << (sig - 1)));
		a.sa_flags |= SA_RESTART;
	}
	return sigaction(sig, &a, NULL) < 0 ? -1 : 0;
}
