/*
 * Options: parsed once at init from VADSHIM_OPTIONS, a ':'-separated list
 * of name=value pairs in the sanitizer style.  Read-only after init, so no
 * lock guards them.
 */
#ifndef VADSHIM_OPTIONS_H
#define VADSHIM_OPTIONS_H

#include <stddef.h>

struct shim_options {
	size_t arena_size;      /* bytes of address space reserved for the arena */
	size_t max_vads;        /* VAD array capacity */
	int mman_check;         /* run mman_check after every memory call */
	int lockdep;            /* lock-order checking: 0 off, 1 shim locks,
				   2 (lockdep=app) the program's locks too */
	unsigned max_app_locks; /* lockdep=app: program lock addresses tracked */
	unsigned lockstat_max;  /* lockstat: rows of program locks printed */
	int lockstat_sort;      /* lockstat: index into lk_sort_keys */
	int held_stacks;        /* full stack per held lock (default 0) */
	int report_json;        /* report_format=json */
	int lockstat;           /* lock statistics */
	unsigned max_classes;   /* lock classes the validator tracks */
	unsigned max_edges;     /* edges of the order graph */
	int max_edges_set;      /* given in VADSHIM_OPTIONS (else lockdep=app raises it) */
	unsigned max_violations;        /* distinct violations recorded */
	unsigned lockstat_sites;        /* lockstat acquisition sites */
	char suppressions[256]; /* "" = none */
	int stack_depth;
	int exitcode;
	int halt_on_error;
	int locking_legacy;     /* locking=legacy: the seed's old lock paths */
	int legacy_delay_us;    /* locking=legacy: sleep between the two
				   acquisitions of each legacy flow (tests) */
	int stats;              /* print arena statistics at exit */
	int verbose;
	char log_path[256];     /* "" = stderr; else PATH.PID */
	char mount[256];        /* ramfs mount prefix; "" = no mount */
	char ramfs[64];         /* segment name: /dev/shm/vadshim.<uid>.<ramfs> */
	size_t ramfs_size;      /* capacity of a new segment */
	int ramfs_fsck;         /* run ramfs_fsck after every file call */
	int preserve_env;       /* keep LD_PRELOAD and VADSHIM_OPTIONS across exec */
	int signal_defer;       /* program handlers behind the deferring trampoline */
};

extern struct shim_options shim_opt;

/*
 * Parse str (may be NULL) into shim_opt, after setting defaults.  On a bad
 * option or value, writes one line naming it to *err (static storage) and
 * returns -EINVAL; options before the bad one stay applied.
 */
int shim_options_parse(const char *str, const char **err);

#endif
