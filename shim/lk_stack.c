/*
 * lk_stack: stack capture, the stack depot, symbolization.
 *
 * Shared state: lk_stack_pipe (libunwind's validation pipe, atomic words
 * written once) and lk_depot (below).  No lock guards the depot, because capture
 * runs inside lk_lock, before the thread blocks, on every acquisition:
 *  - a record is reserved by compare-and-swap on lk_depot.used, written,
 *    then published by compare-and-swap of its id into an empty hash slot
 *    (release); readers load slots with acquire, so a published record is
 *    complete; records are never removed or changed;
 *  - two threads inserting the same new stack may both reserve a record;
 *    the loser finds the winner's id in the slot and its record is left
 *    unused (rare, bounded by the number of racing threads).
 * lk_gate (fork safety, below) is two atomic words, no lock.
 * Symbolization keeps its state (a Dwfl) in the caller's struct lk_sym.
 */
#include "shim/lk_stack.h"

#include <dlfcn.h>
#include <sched.h>
#include <stdio.h>              /* snprintf only: no FILE streams */
#include <string.h>
#include <unistd.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <unistd.h>
#include <unwind.h>

#ifdef HAVE_LIBDW
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#endif

#include "shim/lk.h"
#include "shim/log.h"

#define LK_DEPOT_SLOTS 16384    /* hash slots, power of two */
#define LK_DEPOT_WORDS (1u << 17) /* record storage: header + frames */
#define LK_STACK_SKIP 8         /* runtime frames above from_pc, at most */

static struct {
	uint32_t slot[LK_DEPOT_SLOTS];  /* stack id, 0 = empty */
	uint32_t used;                  /* words of rec[] reserved */
	uint32_t count;                 /* distinct stacks published */
	int full_said;                  /* "depot full" printed once */
	/* a record at offset o: rec[o] = hash << 32 | n; rec[o+1..o+n] = pcs;
	   its id is o + 1 */
	uint64_t rec[LK_DEPOT_WORDS];
} lk_depot;

static uint32_t lk_stack_hash(const uintptr_t *pcs, unsigned n)
{
	uint64_t h = 0xcbf29ce484222325ull ^ n;

	for (unsigned i = 0; i < n; i++) {
		h ^= pcs[i];
		h *= 0x100000001b3ull;
		h ^= h >> 29;
	}
	return (uint32_t)(h ^ (h >> 32));
}

static void lk_depot_full(void)
{
	if (__atomic_exchange_n(&lk_depot.full_said, 1, __ATOMIC_RELAXED) == 0)
		shim_log("==vadshim== stack depot full (%u stacks): further stacks are not recorded\n",
			 __atomic_load_n(&lk_depot.count, __ATOMIC_RELAXED));
}

/* Reserve and fill a record; 0 when the storage is exhausted. */
static uint32_t lk_depot_new(const uintptr_t *pcs, unsigned n, uint32_t hash)
{
	uint32_t o = __atomic_load_n(&lk_depot.used, __ATOMIC_RELAXED);

	do {
		if (o + n + 1 > LK_DEPOT_WORDS)
			return 0;
	} while (!__atomic_compare_exchange_n(&lk_depot.used, &o, o + n + 1, true,
					      __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	lk_depot.rec[o] = (uint64_t)hash << 32 | n;
	for (unsigned i = 0; i < n; i++)
		lk_depot.rec[o + 1 + i] = pcs[i];
	return o + 1;
}

static bool lk_depot_match(uint32_t id, const uintptr_t *pcs, unsigned n, uint32_t hash)
{
	const uint64_t *r = &lk_depot.rec[id - 1];

	if (r[0] != ((uint64_t)hash << 32 | n))
		return false;
	for (unsigned i = 0; i < n; i++)
		if (r[1 + i] != pcs[i])
			return false;
	return true;
}

uint32_t lk_stack_put(const uintptr_t *pcs, unsigned n)
{
	uint32_t hash = lk_stack_hash(pcs, n), mine = 0;
	unsigned i = hash & (LK_DEPOT_SLOTS - 1);

	for (unsigned probe = 0; probe < LK_DEPOT_SLOTS; probe++, i = (i + 1) & (LK_DEPOT_SLOTS - 1)) {
		uint32_t id = __atomic_load_n(&lk_depot.slot[i], __ATOMIC_ACQUIRE);

		if (id == 0) {
			if (!mine && !(mine = lk_depot_new(pcs, n, hash)))
				break;
			if (__atomic_compare_exchange_n(&lk_depot.slot[i], &id, mine, false,
							__ATOMIC_RELEASE, __ATOMIC_ACQUIRE)) {
				__atomic_fetch_add(&lk_depot.count, 1, __ATOMIC_RELAXED);
				return mine;
			}
		}
		if (lk_depot_match(id, pcs, n, hash))
			return id;
	}
	lk_depot_full();
	return 0;
}

unsigned lk_stack_get(uint32_t id, const uintptr_t **pcs)
{
	if (id == 0 || id > LK_DEPOT_WORDS) {
		*pcs = NULL;
		return 0;
	}
	*pcs = (const uintptr_t *)&lk_depot.rec[id];
	return (unsigned)(lk_depot.rec[id - 1] & 0xffffffffu);
}

unsigned lk_stack_count(void)
{
	return __atomic_load_n(&lk_depot.count, __ATOMIC_RELAXED);
}

/*
 * In a process with ThreadSanitizer (our TSan builds, or a TSan-built
 * program running under the preloaded shim) libunwind's fast unw_backtrace
 * must not be used: it keeps a per-thread cache whose pthread-key
 * destructor locks a pthread mutex at thread exit, after TSan has torn the
 * thread down, and crashes there.  _Unwind_Backtrace keeps no per-thread
 * state; the dynamic linker binds it to libunwind's own implementation
 * (unw_step, ~10 us for 16 frames) or libgcc's (~3 us), whichever comes
 * first in symbol order; either is affordable under TSan.  The weak
 * reference is non-null exactly when a TSan runtime is loaded.
 */
extern void __tsan_init(void) __attribute__((weak));

struct lk_gcc_walk {
	void **buf;
	int n, max;
};

static _Unwind_Reason_Code lk_gcc_frame(struct _Unwind_Context *ctx, void *arg)
{
	struct lk_gcc_walk *w = arg;
	uintptr_t ip = _Unwind_GetIP(ctx);

	if (w->n >= w->max || ip == 0)
		return _URC_END_OF_STACK;
	w->buf[w->n++] = (void *)ip;
	return _URC_NO_REASON;
}

/*
 * libunwind opens a pipe the first time it unwinds (it validates
 * addresses by writing one byte from them into it), with pipe2 at the
 * lowest free numbers: in a program, that would shift the numbers of its
 * own later open()s and leave two descriptors a closefrom() can close
 * under libunwind's feet.  The shim's pipe2/pipe wrappers see this flag
 * and move such a pipe to numbers >= 900 (lk_stack_adopt_pipe), which the
 * shim then protects like its other descriptors.
 */
__thread int lk_stack_unwinding __attribute__((tls_model("initial-exec")));
static int lk_stack_pipe[2] = { -1, -1 };

void lk_stack_adopt_pipe(int fds[2])
{
	for (int i = 0; i < 2; i++) {
		long hi = syscall(SYS_fcntl, fds[i], F_DUPFD_CLOEXEC, 900);
		if (hi >= 0) {
			syscall(SYS_close, fds[i]);
			fds[i] = (int)hi;
		}
		__atomic_store_n(&lk_stack_pipe[i], fds[i], __ATOMIC_RELAXED);
	}
}

bool lk_stack_owns_fd(int fd)
{
	return fd >= 0 && (fd == __atomic_load_n(&lk_stack_pipe[0], __ATOMIC_RELAXED) ||
			   fd == __atomic_load_n(&lk_stack_pipe[1], __ATOMIC_RELAXED));
}

int lk_stack_pipe_fd(int i)
{
	return __atomic_load_n(&lk_stack_pipe[i], __ATOMIC_RELAXED);
}

static int lk_stack_unwind(void **buf, int max)
{
	struct lk_gcc_walk w = { .buf = buf, .n = 0, .max = max };

	if (!__tsan_init) {
		lk_stack_unwinding++;
		int n = unw_backtrace(buf, max);
		lk_stack_unwinding--;
		return n;
	}
	_Unwind_Backtrace(lk_gcc_frame, &w);
	return w.n;
}

/*
 * Fork safety.  The unwinders lock internal pthread mutexes (libunwind's
 * register-state cache and memory pools, taken with signals blocked); a
 * fork while another thread is inside one leaves the mutex locked in the
 * child, whose next capture then hangs.  So lk_stack_fork_prepare closes
 * a gate and waits until no thread is inside the unwinder; while it is
 * closed, captures return 0 (no stack) rather than wait, because the
 * capturing thread may hold a lock that the fork prepare handler is about
 * to take.  Dekker-style: enter increments then reads the gate, prepare
 * sets the gate then reads the count, both sequentially consistent.
 */
static struct {
	uint32_t closed;        /* a fork is being prepared */
	uint32_t inside;        /* threads inside the unwinder */
} lk_gate;

static bool lk_gate_enter(void)
{
	if (__atomic_load_n(&lk_gate.closed, __ATOMIC_RELAXED))
		return false;
	__atomic_fetch_add(&lk_gate.inside, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&lk_gate.closed, __ATOMIC_SEQ_CST))
		return true;
	__atomic_fetch_sub(&lk_gate.inside, 1, __ATOMIC_SEQ_CST);
	return false;
}

static void lk_gate_leave(void)
{
	__atomic_fetch_sub(&lk_gate.inside, 1, __ATOMIC_SEQ_CST);
}

/* Unwinds take microseconds and forks are rare: yielding is enough. */
void lk_stack_fork_prepare(void)
{
	__atomic_store_n(&lk_gate.closed, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&lk_gate.inside, __ATOMIC_SEQ_CST))
		sched_yield();
}

void lk_stack_fork_release(void)
{
	__atomic_store_n(&lk_gate.closed, 0, __ATOMIC_SEQ_CST);
}

uint32_t lk_stack_capture(uintptr_t from_pc, int depth)
{
	void *buf[LK_STACK_MAX + LK_STACK_SKIP];
	uintptr_t pcs[LK_STACK_MAX];
	int n, start = 0;

	if (depth < 1)
		depth = 1;
	if (depth > LK_STACK_MAX)
		depth = LK_STACK_MAX;
	if (!lk_gate_enter())
		return 0;
	n = lk_stack_unwind(buf, depth + LK_STACK_SKIP);
	lk_gate_leave();
	for (int i = 0; i < n && i < LK_STACK_SKIP; i++)
		if ((uintptr_t)buf[i] == from_pc) {
			start = i;
			break;
		}
	n -= start;
	if (n > depth)
		n = depth;
	for (int i = 0; i < n; i++)
		pcs[i] = (uintptr_t)buf[start + i];
	return n > 0 ? lk_stack_put(pcs, (unsigned)n) : 0;
}

/* ---- symbolization (report time only) ---- */

static const char *lk_sym_basename(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

#ifdef HAVE_LIBDW
static char *lk_sym_debuginfo_path;

static const Dwfl_Callbacks lk_sym_callbacks = {
	.find_elf = dwfl_linux_proc_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.debuginfo_path = &lk_sym_debuginfo_path,
};

void lk_sym_open(struct lk_sym *s)
{
	Dwfl *d = dwfl_begin(&lk_sym_callbacks);

	s->dwfl = NULL;
	if (!d)
		return;
	dwfl_report_begin(d);
	if (dwfl_linux_proc_report(d, getpid()) != 0 || dwfl_report_end(d, NULL, NULL) != 0) {
		dwfl_end(d);
		return;
	}
	s->dwfl = d;
}

void lk_sym_close(struct lk_sym *s)
{
	if (s->dwfl)
		dwfl_end(s->dwfl);
	s->dwfl = NULL;
}

/*
 * The line of pc (module-relative to the Dwfl).  libdw 0.188 finds a CU
 * only through .debug_aranges, which clang does not emit by default: then
 * walk the CUs and ask each whether it covers pc.
 */
static const char *lk_sym_line(Dwfl_Module *m, uintptr_t pc, int *lineno)
{
	Dwfl_Line *line = dwfl_module_getsrc(m, pc);
	Dwarf_Die *cu = NULL;
	Dwarf_Addr bias;

	if (line)
		return dwfl_lineinfo(line, NULL, lineno, NULL, NULL, NULL);
	while ((cu = dwfl_module_nextcu(m, cu, &bias))) {
		Dwarf_Line *l;

		if (dwarf_haspc(cu, pc - bias) != 1)
			continue;
		if (!(l = dwarf_getsrc_die(cu, pc - bias)) || dwarf_lineno(l, lineno) != 0)
			return NULL;
		return dwarf_linesrc(l, NULL, NULL);
	}
	return NULL;
}

/* Symbol and file:line from the symbol table and DWARF; false if no module. */
static bool lk_sym_dwfl(struct lk_sym *s, uintptr_t pc, struct lk_frame *f)
{
	Dwfl_Module *m = s->dwfl ? dwfl_addrmodule(s->dwfl, pc - 1) : NULL;
	const char *mod, *name;
	Dwarf_Addr start = 0;
	GElf_Off off = 0;
	GElf_Sym sym;

	if (!m)
		return false;
	mod = dwfl_module_info(m, NULL, &start, NULL, NULL, NULL, NULL, NULL);
	name = dwfl_module_addrinfo(m, pc - 1, &off, &sym, NULL, NULL, NULL);
	f->file = lk_sym_line(m, pc - 1, &f->line);
	snprintf(f->module, sizeof(f->module), "%s", mod ? lk_sym_basename(mod) : "?");
	f->modoff = (unsigned long)(pc - start);
	if (name) {     /* "f@@GLIBC_2.34" -> "f" */
		snprintf(f->func, sizeof(f->func), "%.*s", (int)strcspn(name, "@"), name);
		f->off = (unsigned long)off + 1;
	}
	return true;
}
#else
void lk_sym_open(struct lk_sym *s)
{
	s->dwfl = NULL;
}

void lk_sym_close(struct lk_sym *s)
{
	s->dwfl = NULL;
}
#endif

/* Exported symbols only (no file:line): the fallback without libdw. */
static void lk_sym_dladdr(uintptr_t pc, struct lk_frame *f)
{
	Dl_info info;

	if (!dladdr((void *)(pc - 1), &info) || !info.dli_fname)
		return;
	snprintf(f->module, sizeof(f->module), "%s", lk_sym_basename(info.dli_fname));
	f->modoff = (unsigned long)(pc - (uintptr_t)info.dli_fbase);
	if (info.dli_sname && info.dli_saddr) {
		snprintf(f->func, sizeof(f->func), "%s", info.dli_sname);
		f->off = (unsigned long)(pc - (uintptr_t)info.dli_saddr);
	}
}

bool lk_sym_has_dwarf(void)
{
#ifdef HAVE_LIBDW
	return true;
#else
	return false;
#endif
}

void lk_sym_resolve(struct lk_sym *s, uintptr_t pc, struct lk_frame *f)
{
	f->func[0] = 0;
	f->module[0] = 0;
	f->off = f->modoff = 0;
	f->file = NULL;
	f->line = 0;
#ifdef HAVE_LIBDW
	if (lk_sym_dwfl(s, pc, f))
		return;
#else
	(void)s;
#endif
	lk_sym_dladdr(pc, f);
}

void lk_sym_format(struct lk_sym *s, uintptr_t pc, char *out, size_t cap)
{
	struct lk_frame f;
	int n;

	lk_sym_resolve(s, pc, &f);
	if (f.func[0])
		n = snprintf(out, cap, "%s+0x%lx (%s)", f.func, f.off, f.module);
	else if (f.module[0])
		n = snprintf(out, cap, "(%s+0x%lx)", f.module, f.modoff);
	else
		n = snprintf(out, cap, "?");
	if (f.file && n >= 0 && (size_t)n < cap)
		snprintf(out + n, cap - (size_t)n, " %s:%d", f.file, f.line);
}
