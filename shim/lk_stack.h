/*
 * lk_stack: stacks as raw return addresses in a deduplicated depot, and
 * their symbolization at report time.
 *
 * Capture (lk_stack_capture) runs on the lock path: libunwind's
 * unw_backtrace into a stack buffer, then a lock-free insert into a static
 * depot; it never allocates.  The depot is lock-free (see lk_stack.c), so
 * no shim lock guards it.  A stack id is a uint32; 0 means no stack (not
 * captured, or the depot is full).
 *
 * Symbolization (lk_sym_*) happens only when a report is printed: it may
 * allocate (libdw) but takes no shim lock.  A session is per report and
 * per thread; nothing is shared between sessions.
 */
#ifndef VADSHIM_LK_STACK_H
#define VADSHIM_LK_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Capture the calling thread's stack, dropping the frames above the one
 * whose return address is from_pc (the runtime's own frames), keeping at
 * most depth frames (clamped to 1..LK_STACK_MAX).  The caller must not
 * re-enter it from code it calls (libunwind may call mmap, which the shim
 * wraps); lk.c guards that with its per-thread in-runtime flag.
 */
uint32_t lk_stack_capture(uintptr_t from_pc, int depth);

/*
 * Around fork (called by lk_fork_prepare, lk_fork_parent/child):
 * prepare waits until no other thread is inside the unwinder, whose
 * internal mutexes would stay locked in the child, and makes captures
 * return 0 until release.  Call prepare before taking any shim lock.
 */
void lk_stack_fork_prepare(void);
void lk_stack_fork_release(void);

/* Insert n frames (the depot copies them); returns the stack id. */
uint32_t lk_stack_put(const uintptr_t *pcs, unsigned n);

/* The frames of stack id; returns their number (0 for id 0). */
unsigned lk_stack_get(uint32_t id, const uintptr_t **pcs);

/* Number of distinct stacks stored. */
unsigned lk_stack_count(void);

/* A symbolizer session, on the caller's stack. */
struct lk_sym {
	void *dwfl;             /* Dwfl * with HAVE_LIBDW, else NULL */
};

void lk_sym_open(struct lk_sym *s);
void lk_sym_close(struct lk_sym *s);

/*
 * Write "func+0xOFF (module) file:line" for return address pc into out:
 * the parts that cannot be found are left out, "(module+0xOFF)" when
 * there is no symbol, "?" when nothing is known.
 */
void lk_sym_format(struct lk_sym *s, uintptr_t pc, char *out, size_t cap);

/* One resolved frame; strings point into the struct or the session. */
struct lk_frame {
	char func[256];         /* "" when unknown */
	unsigned long off;      /* pc - function start */
	char module[128];       /* basename, "" when unknown */
	unsigned long modoff;   /* pc - module base */
	const char *file;       /* NULL when unknown; valid until lk_sym_close */
	int line;
};

void lk_sym_resolve(struct lk_sym *s, uintptr_t pc, struct lk_frame *f);

/*
 * Whether symbolization reads symbol tables and DWARF (built with
 * HAVE_LIBDW).  Without it only dladdr is used: exported symbols only,
 * no file:line.
 */
bool lk_sym_has_dwarf(void);

/* libunwind's validation pipe, moved to high numbers (see lk_stack.c). */
extern __thread int lk_stack_unwinding __attribute__((tls_model("initial-exec")));
void lk_stack_adopt_pipe(int fds[2]);
bool lk_stack_owns_fd(int fd);
int lk_stack_pipe_fd(int i);

#endif
