/*
 * vadshim-ramfs: `vadshim ramfs df|fsck|ls|rm [--name=N] [PATH]` — look at
 * and manage a ramfs segment from outside any program.  Links the core
 * and attaches the segment itself (plain host mapping, no arena).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vfs/ramfs.h"

static int usage(void)
{
	fprintf(stderr, "usage: vadshim ramfs df|fsck|ls|rm [--name=NAME] [PATH]\n");
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

static int segment_exists(const char *name)
{
	char p[256];
	snprintf(p, sizeof(p), "/dev/shm/vadshim.%d.%s", (int)getuid(), name);
	return access(p, F_OK) == 0;
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
	char buf[8192];
	long n;
	while ((n = m->ops->getdents(m, f, buf, sizeof(buf))) > 0) {
		for (long o = 0; o < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + o);
			printf("%s\n", d->d_name);
			o += d->d_reclen;
		}
	}
	m->ops->ofd_put(m, f);
	return n < 0;
}

int main(int argc, char **argv)
{
	const char *name = "default", *cmd = NULL, *path = "/";
	for (int i = 1; i < argc; i++) {
		if (!strncmp(argv[i], "--name=", 7))
			name = argv[i] + 7;
		else if (!cmd)
			cmd = argv[i];
		else
			path = argv[i];
	}
	if (!cmd)
		return usage();
	if (!strcmp(cmd, "rm")) {
		int r = ramfs_remove(name);
		if (r) {
			fprintf(stderr, "vadshim ramfs rm: %s: %s\n", name, strerror(-r));
			return 1;
		}
		return 0;
	}
	if (strcmp(cmd, "df") && strcmp(cmd, "fsck") && strcmp(cmd, "ls"))
		return usage();
	if (!segment_exists(name)) {
		fprintf(stderr, "vadshim ramfs %s: no ramfs named '%s' (/dev/shm/vadshim.%d.%s)\n",
			cmd, name, (int)getuid(), name);
		return 1;
	}
	struct ramfs *fs;
	struct vfs_mount m;
	if (attach(name, &fs, &m))
		return 1;
	if (!strcmp(cmd, "df")) {
		struct ramfs_usage u;
		ramfs_usage(fs, &u);
		printf("%-12s %14s %14s %10s %10s %8s\n", "ramfs", "size", "used", "files",
		       "max_files", "open");
		printf("%-12s %14zu %14zu %10zu %10zu %8zu\n", name, u.size, u.used_bytes, u.files,
		       u.max_files, u.ofds);
		return 0;
	}
	if (!strcmp(cmd, "fsck")) {
		char msg[256];
		int r = ramfs_fsck(fs, msg, sizeof(msg));
		if (r) {
			printf("vadshim ramfs fsck: %s: %s\n", name, msg);
			return 1;
		}
		printf("vadshim ramfs fsck: %s: clean\n", name);
		return 0;
	}
	return cmd_ls(&m, path);
}
