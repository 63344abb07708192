/*
 * Options from VADSHIM_OPTIONS ("name=value:name=value").
 *
 * shim_opt is written only by shim_options_parse(), which the shim's
 * constructor calls once before anything reads it: no lock.
 */
#include "shim/options.h"

#include "shim/lk.h"
#include "shim/lk_app.h"
#include "shim/lk_stat.h"
#include "shim/lk_valid.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct shim_options shim_opt;

enum opt_type { OPT_BOOL, OPT_INT, OPT_SIZE, OPT_STR, OPT_LOCKING, OPT_FORMAT, OPT_UINT,
		OPT_LOCKDEP, OPT_SORT };

struct opt_desc {
	const char *name;
	enum opt_type type;
	size_t offset;
	size_t strlen;      /* OPT_STR: buffer size; OPT_UINT: largest value */
};

#define OPT(n, t) { #n, t, offsetof(struct shim_options, n), 0 }
#define OPT_S(n) { #n, OPT_STR, offsetof(struct shim_options, n), sizeof(shim_opt.n) }
#define OPT_U(n, max) { #n, OPT_UINT, offsetof(struct shim_options, n), (max) }

static const struct opt_desc opt_table[] = {
	OPT(arena_size, OPT_SIZE),
	OPT(max_vads, OPT_SIZE),
	OPT(mman_check, OPT_BOOL),
	OPT(lockdep, OPT_LOCKDEP),
	OPT_U(max_app_locks, LK_APP_LOCKS_HARD),
	OPT_U(lockstat_max, 1000000),
	OPT(lockstat_sort, OPT_SORT),
	OPT(held_stacks, OPT_BOOL),
	OPT(stack_depth, OPT_INT),
	OPT(exitcode, OPT_INT),
	OPT(halt_on_error, OPT_BOOL),
	{ "report_format", OPT_FORMAT, offsetof(struct shim_options, report_json), 0 },
	OPT_S(suppressions),
	OPT(lockstat, OPT_BOOL),
	OPT_U(max_classes, LK_CLASSES_HARD),
	OPT_U(max_edges, LK_EDGES_HARD),
	OPT_U(max_violations, LK_VIOLATIONS_HARD),
	OPT_U(lockstat_sites, LK_STAT_SITES_HARD),
	{ "locking", OPT_LOCKING, offsetof(struct shim_options, locking_legacy), 0 },
	OPT(legacy_delay_us, OPT_INT),
	OPT(stats, OPT_BOOL),
	OPT(verbose, OPT_INT),
	OPT_S(log_path),
	OPT_S(mount),
	OPT_S(ramfs),
	OPT(ramfs_size, OPT_SIZE),
	OPT(ramfs_fsck, OPT_BOOL),
	OPT(preserve_env, OPT_BOOL),
	OPT(signal_defer, OPT_BOOL),
};

static void opt_defaults(void)
{
	memset(&shim_opt, 0, sizeof(shim_opt));
	shim_opt.arena_size = (size_t)64 << 30;
	shim_opt.max_vads = (size_t)1 << 20;
	shim_opt.lockdep = 1;
	shim_opt.held_stacks = 0;
	shim_opt.max_classes = 4095;
	shim_opt.max_edges = LK_EDGES_DEFAULT;
	shim_opt.max_violations = LK_VIOLATIONS_DEFAULT;
	shim_opt.lockstat_sites = LK_STAT_SITES_DEFAULT;
	shim_opt.max_app_locks = LK_APP_LOCKS_DEFAULT;
	shim_opt.lockstat_max = 20;
	shim_opt.lockstat_sort = 0;
	shim_opt.stack_depth = 16;
	shim_opt.exitcode = 66;
	strcpy(shim_opt.mount, "/ramfs");
	strcpy(shim_opt.ramfs, "default");
	shim_opt.ramfs_size = (size_t)1 << 30;
	shim_opt.preserve_env = 1;
	shim_opt.signal_defer = 1;
}

static int parse_size(const char *s, size_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	unsigned shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	}
	if (*end || (shift && v > (~0ULL >> shift)))
		return -EINVAL;
	*out = (size_t)(v << shift);
	return 0;
}

static int parse_int(const char *s, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 0);
	if (errno || end == s || *end || v < -1000000 || v > 1000000)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

static int opt_set(const struct opt_desc *d, const char *val)
{
	void *field = (char *)&shim_opt + d->offset;
	switch (d->type) {
	case OPT_BOOL: {
		int v;
		if (parse_int(val, &v) || (v != 0 && v != 1))
			return -EINVAL;
		*(int *)field = v;
		return 0;
	}
	case OPT_INT:
		return parse_int(val, (int *)field);
	case OPT_SIZE:
		return parse_size(val, (size_t *)field);
	case OPT_STR:
		if (strlen(val) >= d->strlen)
			return -EINVAL;
		strcpy(field, val);
		return 0;
	case OPT_UINT: {
		size_t v;
		if (parse_size(val, &v) || v < 1 || v > d->strlen)
			return -EINVAL;
		*(unsigned *)field = (unsigned)v;
		return 0;
	}
	case OPT_FORMAT:
		if (!strcmp(val, "json"))
			*(int *)field = 1;
		else if (!strcmp(val, "human"))
			*(int *)field = 0;
		else
			return -EINVAL;
		return 0;
	case OPT_LOCKDEP:
		if (!strcmp(val, "app")) {
			*(int *)field = 2;
			return 0;
		}
		if (parse_int(val, (int *)field) || *(int *)field < 0 || *(int *)field > 2)
			return -EINVAL;
		return 0;
	case OPT_SORT:
		for (int k = 0; lk_sort_keys[k]; k++) {
			if (!strcmp(val, lk_sort_keys[k])) {
				*(int *)field = k;
				return 0;
			}
		}
		return -EINVAL;
	case OPT_LOCKING:
		if (!strcmp(val, "legacy"))
			*(int *)field = 1;
		else if (!strcmp(val, "fixed") || !strcmp(val, "default"))
			*(int *)field = 0;
		else
			return -EINVAL;
		return 0;
	}
	return -EINVAL;
}

static char opt_err[400];

static int opt_one(const char *item, size_t len, const char **err)
{
	char buf[512];
	if (len == 0)
		return 0;
	if (len >= sizeof(buf)) {
		snprintf(opt_err, sizeof(opt_err), "vadshim: option too long in VADSHIM_OPTIONS");
		*err = opt_err;
		return -EINVAL;
	}
	memcpy(buf, item, len);
	buf[len] = 0;
	char *eq = strchr(buf, '=');
	const char *val = eq ? eq + 1 : "1";
	if (eq)
		*eq = 0;
	for (size_t i = 0; i < sizeof(opt_table) / sizeof(opt_table[0]); i++) {
		if (strcmp(opt_table[i].name, buf))
			continue;
		if (opt_set(&opt_table[i], val) == 0) {
			if (!strcmp(buf, "max_edges"))
				shim_opt.max_edges_set = 1;
			return 0;
		}
		snprintf(opt_err, sizeof(opt_err),
			 "vadshim: bad value '%.100s' for option '%.40s' in VADSHIM_OPTIONS", val, buf);
		*err = opt_err;
		return -EINVAL;
	}
	snprintf(opt_err, sizeof(opt_err),
		 "vadshim: unknown option '%.100s' in VADSHIM_OPTIONS (see README, Options)", buf);
	*err = opt_err;
	return -EINVAL;
}

int shim_options_parse(const char *str, const char **err)
{
	opt_defaults();
	*err = NULL;
	if (!str)
		return 0;
	while (*str) {
		const char *colon = strchr(str, ':');
		size_t len = colon ? (size_t)(colon - str) : strlen(str);
		int r = opt_one(str, len, err);
		if (r)
			return r;
		str += len;
		if (*str == ':')
			str++;
	}
	return 0;
}
