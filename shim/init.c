/*
 * Start and end of the shim in a process: options, log, lock runtime,
 * arena, fork handlers, statistics at exit.
 *
 * Runs in the constructor, before the program's main and before any
 * thread of the program can enter the shim: no lock.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "mman/mman.h"
#include "shim/lk.h"
#include "shim/lk_app.h"
#include "shim/lk_valid.h"
#include "shim/log.h"
#include "shim/options.h"
#include "shim/real.h"
#include "shim/shim.h"
#include "vfs/vfs.h"

/* The stdio wrappers' start-up (shim/wrap_stdio.c), when built in. */
void shim_stdio_init(void) __attribute__((weak));

static void apply_lock_config(void)
{
	lk_config.lockdep = shim_opt.lockdep ? 1 : 0;
	lk_config.lockstat_sort = shim_opt.lockstat_sort;
	lk_config.lockstat_max = shim_opt.lockstat_max;
	lk_config.held_stacks = shim_opt.held_stacks;
	lk_config.stack_depth = shim_opt.stack_depth;
	lk_config.exitcode = shim_opt.exitcode;
	lk_config.halt_on_error = shim_opt.halt_on_error;
	lk_config.json = shim_opt.report_json;
	lk_config.lockstat = shim_opt.lockstat;
	/* the program's locks are one node per lock: room for their orders */
	if (shim_opt.lockdep == 2 && !shim_opt.max_edges_set)
		shim_opt.max_edges = LK_EDGES_HARD;
	lk_set_limits(shim_opt.max_classes, shim_opt.max_edges, shim_opt.max_violations,
		      shim_opt.lockstat_sites);
	/* lockdep=app: the program's locks too (shim/wrap_pthread.c).  Not in a
	 * ThreadSanitizer program: its interceptors come first and check the
	 * locks themselves, and a report's symbolizer (libelf's fstat) would
	 * loop through TSan's interceptor back into the shim. */
	if (shim_opt.lockdep == 2 && dlsym(RTLD_DEFAULT, "__tsan_init")) {
		shim_log("==vadshim== lockdep=app is off in a ThreadSanitizer program: TSan checks its locks\n");
	} else if (shim_opt.lockdep == 2 && lk_app_enable(shim_opt.max_app_locks) != 0)
		shim_log("==vadshim== cannot map the tables for lockdep=app (max_app_locks=%u): the program's locks are not checked\n",
			 shim_opt.max_app_locks);
}

/* A suppressions file that cannot be used stops the program, like a bad option. */
static void load_suppressions(void)
{
	int bad_line, r;

	if (!shim_opt.suppressions[0])
		return;
	r = lk_suppressions_load(shim_opt.suppressions, &bad_line);
	if (r == 0)
		return;
	if (bad_line)
		shim_log("vadshim: option 'suppressions': %s line %d: expected lockorder:PATTERN (at most 128 lines)\n",
			 shim_opt.suppressions, bad_line);
	else
		shim_log("vadshim: option 'suppressions': cannot read %s: %s\n",
			 shim_opt.suppressions, r == -EFBIG ? "larger than 8 KiB" : strerrordesc_np(-r));
	_exit(2);
}

static void lockstat_signal(int sig)
{
	(void)sig;
	lk_lockstat_print_signal();
}

/*
 * lockstat=1: SIGUSR2 prints the table, unless the program already
 * handles (or ignores) SIGUSR2: its disposition is never replaced.
 */
static void install_lockstat_signal(void)
{
	struct sigaction old, sa;

	if (!shim_opt.lockstat || sigaction(SIGUSR2, NULL, &old) != 0 || old.sa_handler != SIG_DFL)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = lockstat_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
}

/* A fork child writes its reports to its own log_path.PID. */
static void fork_child(void)
{
	lk_fork_child();
	if (shim_opt.log_path[0])
		shim_log_open(shim_opt.log_path);
	vfs_fork_child();
}

__attribute__((constructor(101))) void shim_init(void)
{
	static int done;
	if (done++)
		return;
	shim_real_init();
	const char *err;
	if (shim_options_parse(getenv("VADSHIM_OPTIONS"), &err)) {
		shim_log_open(NULL);
		shim_log("%s\n", err);
		_exit(2);
	}
	shim_log_open(shim_opt.log_path);
	apply_lock_config();
	load_suppressions();
	install_lockstat_signal();
	int r = mman_init(shim_opt.arena_size, shim_opt.max_vads);
	if (r)
		shim_log("==vadshim== cannot reserve the arena (arena_size=%zu, max_vads=%zu): %s; "
			 "memory calls pass through to the host\n",
			 shim_opt.arena_size, shim_opt.max_vads,
			 r == -EINVAL ? "arena_size too small for its metadata (at least 1M)" :
			 strerrordesc_np(-r));
	/* Fork registrations go in hierarchy order: fdtable, lockfs (by
	 * vfs_init), then mman. */
	vfs_init();
	lk_fork_register(&mman.lock);
	if (shim_opt.locking_legacy)    /* the seed's shm lock, under mman */
		lk_fork_register(&mman_shmem_lock);
	pthread_atfork(lk_fork_prepare, lk_fork_parent, fork_child);
	if (shim_stdio_init)
		shim_stdio_init();
}

__attribute__((destructor)) static void shim_fini(void)
{
	if (shim_opt.stats)
		mman_print_stats();
	mman_legacy_exit_flush();       /* locking=legacy only */
	lk_atexit();
}
