/*
 * Start and end of the shim in a process: options, log, lock runtime,
 * arena, fork handlers, statistics at exit.
 *
 * Runs in the constructor, before the program's main and before any
 * thread of the program can enter the shim: no lock.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "mman/mman.h"
#include "shim/lk.h"
#include "shim/log.h"
#include "shim/options.h"
#include "shim/real.h"
#include "shim/shim.h"
#include "vfs/vfs.h"

/* The stdio wrappers' start-up (shim/wrap_stdio.c), when built in. */
void shim_stdio_init(void) __attribute__((weak));

static void apply_lock_config(void)
{
	lk_config.lockdep = shim_opt.lockdep;
	lk_config.held_stacks = shim_opt.held_stacks;
	lk_config.stack_depth = shim_opt.stack_depth;
	lk_config.exitcode = shim_opt.exitcode;
	lk_config.halt_on_error = shim_opt.halt_on_error;
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
	pthread_atfork(lk_fork_prepare, lk_fork_parent, fork_child);
	if (shim_stdio_init)
		shim_stdio_init();
}

__attribute__((destructor)) static void shim_fini(void)
{
	if (shim_opt.stats)
		mman_print_stats();
	lk_atexit();
}
