/*
 * vadshim-ramfs: `vadshim ramfs ls|df|fsck|gc|rm|list` — look at and
 * manage the ramfs segments of this user from outside any program.  Links
 * the core and attaches a segment itself (plain host mapping, no arena);
 * attaching takes a slot in its process table like any process, which the
 * counts of attached processes leave out.
 *
 *   ls [PATH]           entries of a directory: type, mode, links, size, name
 *   df                  capacity, use, inodes, open descriptions, processes
 *   fsck [--repair]     exit 0 when clean, 1 with the broken invariant
 *   gc                  give back what dead processes held
 *   rm NAME [--force]   remove a segment (refused while processes run)
 *   list                every segment of this user
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vfs/ramfs.h"

static int usage(void)
{
	fprintf(stderr, "usage: vadshim ramfs [--name=NAME] ls [PATH] | df | fsck [--repair] | gc |\n"
			"                     rm [--force] [NAME] | list\n");
	return 2;
}

static int attach(const char *name, struct ramfs **fs, struct vfs_mount *m)
{
	struct ramfs_config cfg = { .name = name, .size = (size_t)1 << 30, .map = NULL };
	char msg[256] = "";
	int r = ramfs_attach(&cfg, fs, msg, sizeof(msg));
	if (r) {
		fprintf(stderr, "vadshim ramfs: %s\n", msg[0] ? msg : strerror(-r));
		return r;
	}
	memset(m, 0, sizeof(*m));
	m->ops = &ramfs_ops;
	m->fs = *fs;
	strcpy(m->prefix, "/ramfs");
	m->prefix_len = 6;
	strcpy(m->parent, "/");
	return 0;
}

static void seg_path(const char *name, char *p, size_t len)
{
	snprintf(p, len, "/dev/shm/vadshim.%u.%s", (unsigned)geteuid(), name);
}

static int segment_exists(const char *name)
{
	char p[512];
	seg_path(name, p, sizeof(p));
	return access(p, F_OK) == 0;
}

static char type_char(mode_t m)
{
	return S_ISDIR(m) ? 'd' : S_ISLNK(m) ? 'l' : S_ISFIFO(m) ? 'p' : S_ISSOCK(m) ? 's' :
	       S_ISCHR(m) ? 'c' : S_ISBLK(m) ? 'b' : '-';
}

static int cmd_ls(struct vfs_mount *m, const char *path)
{
	struct vfs_cred c = { .uid = 0, .gid = 0, .ruid = 0, .rgid = 0 };
	int nlinks = 0;
	char esc[4096];
	struct vfs_path p = { .mnt = m, .start = 0, .path = path, .flags = 0,
			      .nlinks = &nlinks, .escape = esc };
	vfs_ofd f;
	int r = m->ops->open(&p, O_RDONLY | O_DIRECTORY, 0, &c, &f);
	if (r < 0) {
		fprintf(stderr, "vadshim ramfs ls: %s: %s\n", path, strerror(-r));
		return 1;
	}
	char buf[8192], full[8192];
	long n;
	while ((n = m->ops->getdents(m, f, buf, sizeof(buf))) > 0) {
		for (long o = 0; o < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + o);
			struct stat st;
			o += d->d_reclen;
			if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
				continue;
			snprintf(full, sizeof(full), "%s/%s", path, d->d_name);
			struct vfs_path q = p;
			q.path = full;
			q.flags = VFS_NOFOLLOW;
			nlinks = 0;
			if (m->ops->stat(&q, &st) < 0) {
				printf("?          ? %12s %s\n", "?", d->d_name);
				continue;
			}
			printf("%c%04o %3lu %12lld %s\n", type_char(st.st_mode),
			       (unsigned)(st.st_mode & 07777), (unsigned long)st.st_nlink,
			       (long long)st.st_size, d->d_name);
		}
	}
	m->ops->ofd_put(m, f);
	return n < 0;
}

static void print_df(const char *name, struct ramfs *fs, int header)
{
	struct ramfs_usage u;
	ramfs_usage(fs, &u);
	if (header)
		printf("%-16s %12s %12s %12s %9s %9s %9s %6s %6s\n", "ramfs", "size", "used",
		       "avail", "inodes", "iused", "ifree", "open", "procs");
	printf("%-16s %12zu %12zu %12zu %9zu %9zu %9zu %6zu %6zu\n", name, u.size, u.used_bytes,
	       u.size - u.used_bytes, u.max_files, u.files, u.max_files - u.files, u.ofds,
	       u.procs_live);
	if (u.repairs)
		printf("  %zu repair(s) after a process died holding the segment lock\n", u.repairs);
	if (u.procs_dead_refs)
		printf("  %zu dead process(es) still hold references: `vadshim ramfs gc` gives "
		       "them back\n", u.procs_dead_refs);
}

static int cmd_list(void)
{
	char prefix[64];
	int plen = snprintf(prefix, sizeof(prefix), "vadshim.%u.", (unsigned)geteuid());
	DIR *d = opendir("/dev/shm");
	struct dirent *e;
	int header = 1, found = 0;
	if (!d) {
		perror("vadshim ramfs list: /dev/shm");
		return 1;
	}
	ramfs_ready_wait_ms_set(200);
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, prefix, (size_t)plen))
			continue;
		const char *name = e->d_name + plen;
		struct ramfs *fs;
		struct vfs_mount m;
		found++;
		if (attach(name, &fs, &m)) {
			printf("%-16s (cannot attach, see above)\n", name);
			continue;
		}
		print_df(name, fs, header);
		header = 0;
		ramfs_detach(fs);
	}
	closedir(d);
	if (!found)
		printf("no ramfs segments of uid %u in /dev/shm\n", (unsigned)geteuid());
	return 0;
}

static int cmd_rm(const char *name, int force)
{
	struct ramfs *fs;
	struct vfs_mount m;
	if (!segment_exists(name)) {
		fprintf(stderr, "vadshim ramfs rm: no ramfs named '%s'\n", name);
		return 1;
	}
	/* a segment this vadshim cannot attach (old layout, damaged) has no
	 * users of this version: remove it */
	ramfs_ready_wait_ms_set(200);
	if (attach(name, &fs, &m) == 0) {
		struct ramfs_usage u;
		ramfs_usage(fs, &u);
		ramfs_detach(fs);
		if (u.procs_live && !force) {
			fprintf(stderr, "vadshim ramfs rm: %s: %zu process(es) still attached; "
				"--force removes it anyway\n", name, u.procs_live);
			return 1;
		}
	}
	int r = ramfs_remove(name);
	if (r) {
		fprintf(stderr, "vadshim ramfs rm: %s: %s\n", name, strerror(-r));
		return 1;
	}
	return 0;
}

static int run_cmd(const char *cmd, const char *name, struct ramfs *fs, struct vfs_mount *mp,
		   const char *arg, int repair);

int main(int argc, char **argv)
{
	const char *name = "default", *cmd = NULL, *arg = NULL;
	int repair = 0, force = 0;
	for (int i = 1; i < argc; i++) {
		if (!strncmp(argv[i], "--name=", 7))
			name = argv[i] + 7;
		else if (!strcmp(argv[i], "--repair"))
			repair = 1;
		else if (!strcmp(argv[i], "--force"))
			force = 1;
		else if (argv[i][0] == '-' && argv[i][1])
			return usage();
		else if (!cmd)
			cmd = argv[i];
		else if (!arg)
			arg = argv[i];
		else
			return usage();
	}
	if (!cmd)
		return usage();
	if (!strcmp(cmd, "list"))
		return cmd_list();
	if (!strcmp(cmd, "rm"))
		return cmd_rm(arg ? arg : name, force);
	if (strcmp(cmd, "df") && strcmp(cmd, "fsck") && strcmp(cmd, "ls") && strcmp(cmd, "gc"))
		return usage();
	if (!segment_exists(name)) {
		fprintf(stderr, "vadshim ramfs %s: no ramfs named '%s' (/dev/shm/vadshim.%u.%s)\n",
			cmd, name, (unsigned)geteuid(), name);
		return 1;
	}
	struct ramfs *fs;
	struct vfs_mount m;
	if (attach(name, &fs, &m))
		return 1;
	int rc = run_cmd(cmd, name, fs, &m, arg, repair);
	ramfs_detach(fs);
	return rc;
}

static int run_cmd(const char *cmd, const char *name, struct ramfs *fs, struct vfs_mount *mp,
		   const char *arg, int repair)
{
	if (!strcmp(cmd, "df")) {
		print_df(name, fs, 1);
		return 0;
	}
	if (!strcmp(cmd, "gc")) {
		struct ramfs_gc_report g;
		int r = ramfs_gc(fs, &g);
		if (r < 0) {
			fprintf(stderr, "vadshim ramfs gc: %s: %s\n", name, strerror(-r));
			return 1;
		}
		printf("vadshim ramfs gc: %s: %zu dead process(es): dropped %zu open description "
		       "reference(s), %zu pinned page(s), %zu cwd hold(s); freed %zu bytes, %zu "
		       "file(s)\n", name, g.procs, g.ofds, g.pins, g.holds, g.freed_bytes,
		       g.freed_nodes);
		return 0;
	}
	if (!strcmp(cmd, "fsck")) {
		char msg[256];
		int r = repair ? ramfs_fsck_repair(fs, msg, sizeof(msg))
			       : ramfs_fsck(fs, msg, sizeof(msg));
		if (repair && msg[0])
			printf("vadshim ramfs fsck: %s: found: %s\n", name, msg);
		if (r) {
			printf("vadshim ramfs fsck: %s: %s\n", name,
			       repair ? "still broken after repair" : msg);
			return 1;
		}
		printf("vadshim ramfs fsck: %s: %s\n", name,
		       repair && msg[0] ? "repaired, clean" : "clean");
		return 0;
	}
	return cmd_ls(mp, arg ? arg : "/");
}
