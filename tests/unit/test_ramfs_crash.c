/*
 * test_ramfs_crash — every crash point of every multi-step ramfs
 * operation, enumerated.
 *
 * Each publishing store of the ramfs (RAMFS_PUBLISH) is a crash point: a
 * process with ramfs_crash_at = N dies (exit_group, holding the segment
 * lock) at the Nth.  For each operation of the table, on a fresh segment
 * with the same starting tree, a fork child runs the operation with N =
 * 1, 2, ... until it completes without dying; after each death the parent
 * (the next locker: EOWNERDEAD, repair) checks that
 *   - fsck is clean;
 *   - the tree (names, types, modes, link counts, sizes, contents,
 *     symlink targets) is exactly the tree before the operation or the
 *     tree after it (both computed by running the operation without a
 *     crash): never two names after a rename, never none, never a file
 *     half truncated;
 *   - bytes past every file's end read as zero when the file grows again;
 *   - the filesystem works on (create, write, fsck).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vfs/ramfs.h"
#include "vfs/ramfs_int.h"

static unsigned long passed, failed;

__attribute__((format(printf, 2, 3)))
static bool check(bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		passed++;
		return true;
	}
	failed++;
	printf("FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return false;
}

struct tfs {
	struct ramfs *fs;
	struct vfs_mount m;
	char name[64];
};

static struct vfs_cred cred = { .uid = 0, .gid = 0, .ruid = 0, .rgid = 0, .umask = 022 };
static int seq;

static void t_open(struct tfs *t)
{
	struct ramfs_config cfg = { .size = 16 << 20 };
	char msg[256];

	snprintf(t->name, sizeof(t->name), "crashtest.%d.%d", (int)getpid(), seq++);
	cfg.name = t->name;
	ramfs_remove(t->name);
	if (ramfs_attach(&cfg, &t->fs, msg, sizeof(msg)) < 0) {
		printf("FAIL: attach: %s\n", msg);
		exit(2);
	}
	memset(&t->m, 0, sizeof(t->m));
	t->m.ops = &ramfs_ops;
	t->m.fs = t->fs;
	strcpy(t->m.prefix, "/ramfs");
	t->m.prefix_len = 6;
	strcpy(t->m.parent, "/");
}

static void t_close(struct tfs *t)
{
	ramfs_test_detach(t->fs);
	ramfs_remove(t->name);
}

struct tp {
	struct vfs_path p;
	int nlinks;
	char esc[4096];
};

static const struct vfs_path *P(struct tp *b, struct tfs *t, const char *path, unsigned flags)
{
	b->nlinks = 0;
	b->p = (struct vfs_path){ .mnt = &t->m, .path = path, .flags = flags, .nlinks = &b->nlinks,
				  .escape = b->esc };
	return &b->p;
}

static vfs_ofd t_openf(struct tfs *t, const char *path, int flags)
{
	struct tp b;
	vfs_ofd f = 0;
	int r = ramfs_ops.open(P(&b, t, path, 0), flags, 0644, &cred, &f);

	return r < 0 ? 0 : f;
}

static long t_pwrite(struct tfs *t, vfs_ofd f, const char *d, size_t len, off_t off)
{
	struct iovec iov = { (void *)d, len };

	return ramfs_ops.rw(&t->m, f, &iov, 1, off, 1, 0);
}

static void pattern(char *b, size_t len, unsigned seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		b[i] = (char)(x >> 16);
	}
}

static void t_file(struct tfs *t, const char *path, size_t len, unsigned seed)
{
	static char buf[1 << 20];
	vfs_ofd f = t_openf(t, path, O_CREAT | O_WRONLY | O_TRUNC);

	pattern(buf, len, seed);
	if (!f || t_pwrite(t, f, buf, len, 0) != (long)len) {
		printf("FAIL: setup %s\n", path);
		exit(2);
	}
	ramfs_ops.ofd_put(&t->m, f);
}

/* ---- the tree as text ---- */

static uint64_t fnv(const char *b, size_t n, uint64_t h)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)b[i]) * 0x100000001b3ull;
	return h;
}

static int cmp_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t describe_dir(struct tfs *t, const char *dir, char **lines, size_t n)
{
	char buf[8192], path[512];
	vfs_ofd d = t_openf(t, dir, O_RDONLY | O_DIRECTORY);
	long k;

	if (!d)
		return n;
	while ((k = ramfs_ops.getdents(&t->m, d, buf, sizeof(buf))) > 0) {
		for (long o = 0; o < k;) {
			struct dirent64 *e = (struct dirent64 *)(buf + o);
			struct stat st;
			struct tp b;
			char line[700], data[4096];
			uint64_t h = 14695981039346656037ull;

			o += e->d_reclen;
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			snprintf(path, sizeof(path), "%s/%s", strcmp(dir, "/") ? dir : "", e->d_name);
			if (ramfs_ops.stat(P(&b, t, path, VFS_NOFOLLOW), &st) < 0)
				continue;
			if (S_ISREG(st.st_mode)) {
				vfs_ofd f = t_openf(t, path, O_RDONLY);
				struct iovec iov = { data, sizeof(data) };
				long r;

				while (f && (r = ramfs_ops.rw(&t->m, f, &iov, 1, -1, 0, 0)) > 0)
					h = fnv(data, (size_t)r, h);
				if (f)
					ramfs_ops.ofd_put(&t->m, f);
			} else if (S_ISLNK(st.st_mode)) {
				long r = ramfs_ops.readlink(P(&b, t, path, 0), data, sizeof(data));
				h = fnv(data, r > 0 ? (size_t)r : 0, h);
			}
			snprintf(line, sizeof(line), "%s %o %lu %lld %016llx", path,
				 (unsigned)st.st_mode, (unsigned long)st.st_nlink,
				 (long long)st.st_size, (unsigned long long)h);
			lines[n++] = strdup(line);
			if (S_ISDIR(st.st_mode))
				n = describe_dir(t, path, lines, n);
		}
	}
	ramfs_ops.ofd_put(&t->m, d);
	return n;
}

static char *describe(struct tfs *t)
{
	char *lines[512], *out;
	size_t n = describe_dir(t, "/", lines, 0), len = 1;

	qsort(lines, n, sizeof(*lines), cmp_lines);
	for (size_t i = 0; i < n; i++)
		len += strlen(lines[i]) + 1;
	out = calloc(1, len);
	for (size_t i = 0; i < n; i++) {
		strcat(out, lines[i]);
		strcat(out, "\n");
		free(lines[i]);
	}
	return out;
}

/* Grow every regular file by 3 pages: the new bytes must be zero. */
static bool tails_zero(struct tfs *t, const char *tree)
{
	char path[512], buf[3 * 4096];
	unsigned mode;
	unsigned long nl;
	long long size;
	const char *s = tree;
	int used;

	while (sscanf(s, "%511s %o %lu %lld %*s%n", path, &mode, &nl, &size, &used) == 4) {
		s += used + 1;
		if (!S_ISREG(mode))
			continue;
		vfs_ofd f = t_openf(t, path, O_RDWR);
		struct iovec iov = { buf, sizeof(buf) };
		bool ok = f && ramfs_ops.ftruncate(&t->m, f, size + (off_t)sizeof(buf)) == 0 &&
			  ramfs_ops.rw(&t->m, f, &iov, 1, size, 0, 0) == (long)sizeof(buf);

		for (size_t i = 0; ok && i < sizeof(buf); i++)
			ok = buf[i] == 0;
		if (f) {
			ramfs_ops.ftruncate(&t->m, f, size);
			ramfs_ops.ofd_put(&t->m, f);
		}
		if (!ok) {
			printf("  %s: bytes past the end of %lld are not zero\n", path, size);
			return false;
		}
	}
	return true;
}

/* ---- the operations ---- */

static void setup(struct tfs *t)
{
	struct tp b;

	ramfs_ops.mkdir(P(&b, t, "/d", 0), 0755, &cred);
	ramfs_ops.mkdir(P(&b, t, "/e", 0), 0755, &cred);
	ramfs_ops.mkdir(P(&b, t, "/g", 0), 0755, &cred);
	t_file(t, "/d/a", 200000, 1);   /* one extent, b right behind it */
	t_file(t, "/d/b", 5000, 2);
	t_file(t, "/e/x", 100, 3);
}

static int ren(struct tfs *t, const char *a, const char *b, unsigned fl)
{
	struct tp x, y;

	return ramfs_ops.rename(P(&x, t, a, 0), P(&y, t, b, 0), fl, &cred);
}

static int op_move(struct tfs *t) { return ren(t, "/d/a", "/e/c", 0); }
static int op_move_same(struct tfs *t) { return ren(t, "/d/a", "/d/c", 0); }
static int op_replace(struct tfs *t) { return ren(t, "/d/a", "/d/b", 0); }
static int op_replace_across(struct tfs *t) { return ren(t, "/d/a", "/e/x", 0); }
static int op_exchange(struct tfs *t) { return ren(t, "/d/a", "/e/x", RENAME_EXCHANGE); }
static int op_exchange_dir(struct tfs *t) { return ren(t, "/d/b", "/e", RENAME_EXCHANGE); }
static int op_move_dir(struct tfs *t) { return ren(t, "/e", "/d/e2", 0); }
static int op_replace_dir(struct tfs *t) { return ren(t, "/e", "/g", 0); }

static int op_append(struct tfs *t)
{
	static char buf[300000];
	vfs_ofd f = t_openf(t, "/d/a", O_WRONLY | O_APPEND);

	pattern(buf, sizeof(buf), 9);
	long r = t_pwrite(t, f, buf, sizeof(buf), -1);
	ramfs_ops.ofd_put(&t->m, f);
	return r == (long)sizeof(buf) ? 0 : -EIO;
}

static int op_write_hole(struct tfs *t)
{
	char buf[10000];
	vfs_ofd f = t_openf(t, "/d/b", O_WRONLY);

	pattern(buf, sizeof(buf), 10);
	long r = t_pwrite(t, f, buf, sizeof(buf), 1 << 20);
	ramfs_ops.ofd_put(&t->m, f);
	return r == (long)sizeof(buf) ? 0 : -EIO;
}

static int op_ftruncate(struct tfs *t, const char *path, off_t len)
{
	vfs_ofd f = t_openf(t, path, O_WRONLY);
	int r = ramfs_ops.ftruncate(&t->m, f, len);

	ramfs_ops.ofd_put(&t->m, f);
	return r;
}

static int op_trunc_down(struct tfs *t) { return op_ftruncate(t, "/d/a", 5000); }
static int op_trunc_up(struct tfs *t) { return op_ftruncate(t, "/d/b", 100000); }

static int op_fallocate(struct tfs *t, int mode, off_t off, off_t len, const char *path)
{
	vfs_ofd f = t_openf(t, path, O_WRONLY);
	int r = ramfs_ops.fallocate(&t->m, f, mode, off, len);

	ramfs_ops.ofd_put(&t->m, f);
	return r;
}

static int op_punch_mid(struct tfs *t)
{
	return op_fallocate(t, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 8192, 65536, "/d/a");
}

static int op_punch_head(struct tfs *t)
{
	return op_fallocate(t, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 65536, "/d/a");
}

static int op_falloc(struct tfs *t) { return op_fallocate(t, 0, 0, 1 << 20, "/d/b"); }

static int op_unlink(struct tfs *t)
{
	struct tp b;

	return ramfs_ops.unlink(P(&b, t, "/d/a", 0), 0, &cred);
}

static int op_rmdir(struct tfs *t)
{
	struct tp b;

	return ramfs_ops.unlink(P(&b, t, "/g", 0), AT_REMOVEDIR, &cred);
}

static int op_mkdir(struct tfs *t)
{
	struct tp b;

	return ramfs_ops.mkdir(P(&b, t, "/d/m", 0), 0755, &cred);
}

static int op_create(struct tfs *t)
{
	vfs_ofd f = t_openf(t, "/d/n", O_CREAT | O_EXCL | O_WRONLY);

	if (f)
		ramfs_ops.ofd_put(&t->m, f);
	return f ? 0 : -EIO;
}

static int op_otrunc(struct tfs *t)
{
	vfs_ofd f = t_openf(t, "/d/a", O_WRONLY | O_TRUNC);

	if (f)
		ramfs_ops.ofd_put(&t->m, f);
	return f ? 0 : -EIO;
}

static int op_symlink(struct tfs *t)
{
	struct tp b;

	return ramfs_ops.symlink("a-target-name", P(&b, t, "/d/l", 0), &cred);
}

static int op_link(struct tfs *t)
{
	struct tp x, y;

	return ramfs_ops.link(P(&x, t, "/d/a", 0), P(&y, t, "/e/h", 0), &cred);
}

static const struct crash_case {
	const char *name;
	int (*op)(struct tfs *t);
} cases[] = {
	{ "rename to a new name in another directory", op_move },
	{ "rename to a new name in the same directory", op_move_same },
	{ "rename over a file", op_replace },
	{ "rename over a file in another directory", op_replace_across },
	{ "RENAME_EXCHANGE of two files", op_exchange },
	{ "RENAME_EXCHANGE of a file and a directory", op_exchange_dir },
	{ "rename of a directory into another", op_move_dir },
	{ "rename of a directory over an empty one", op_replace_dir },
	{ "append that moves the extent", op_append },
	{ "write past the end, over a hole", op_write_hole },
	{ "truncate down", op_trunc_down },
	{ "truncate up", op_trunc_up },
	{ "punch in the middle (split)", op_punch_mid },
	{ "punch the head", op_punch_head },
	{ "fallocate past the end", op_falloc },
	{ "open O_TRUNC", op_otrunc },
	{ "unlink", op_unlink },
	{ "rmdir", op_rmdir },
	{ "mkdir", op_mkdir },
	{ "create", op_create },
	{ "symlink", op_symlink },
	{ "link", op_link },
};

static void run_case(const struct crash_case *c)
{
	struct tfs t;
	char *before, *after, msg[256];
	int points = 0, bad = 0;

	t_open(&t);
	setup(&t);
	before = describe(&t);
	check(c->op(&t) == 0, "%s: the operation works", c->name);
	after = describe(&t);
	check(strcmp(before, after) != 0, "%s: the operation changes the tree", c->name);
	t_close(&t);
	for (int n = 1; n < 1000; n++) {
		pid_t pid;
		int status;
		char *now;

		t_open(&t);
		setup(&t);
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			ramfs_crash_at = n;
			c->op(&t);
			_exit(0);
		}
		waitpid(pid, &status, 0);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			now = describe(&t);
			check(!strcmp(now, after), "%s: run to the end in a child", c->name);
			free(now);
			t_close(&t);
			break;
		}
		if (!check(WIFEXITED(status) && WEXITSTATUS(status) == 77, "%s: point %d: died",
			   c->name, n)) {
			t_close(&t);
			break;
		}
		points++;
		/* the next locker repairs */
		int r = ramfs_fsck(t.fs, msg, sizeof(msg));
		bad += !check(r == 0 && t.fs->hdr->repairs == 1,
			      "%s: point %d: fsck after the repair: %s (repairs %u)", c->name, n,
			      msg, t.fs->hdr->repairs);
		now = describe(&t);
		if (!check(!strcmp(now, before) || !strcmp(now, after),
			   "%s: point %d: the tree is neither the old nor the new one", c->name, n)) {
			printf("--- old\n%s--- new\n%s--- after the crash\n%s", before, after, now);
			bad++;
		}
		bad += !check(tails_zero(&t, now), "%s: point %d: bytes past EOF", c->name, n);
		free(now);
		t_file(&t, "/d/later", 9000, 7);
		bad += !check(ramfs_fsck(t.fs, msg, sizeof(msg)) == 0, "%s: point %d: works on: %s",
			      c->name, n, msg);
		t_close(&t);
		if (bad > 3)
			break;
	}
	printf("  %-48s %3d crash points%s\n", c->name, points, bad ? "  FAILED" : "");
	check(points > 0, "%s: has crash points", c->name);
	free(before);
	free(after);
}

/*
 * The process table: a child with its own slot opens 600 files (more than
 * a slot records), dups and closes some in random order (hash removals),
 * and dies with the rest open.  fsck (which checks that no object is
 * counted for more than it has, and that every entry is found by its key)
 * is clean throughout; gc gives back exactly what the slot recorded.
 */
static void group_proc_table(void)
{
	struct tfs t;
	struct ramfs_usage u0, u1, u2;
	struct ramfs_gc_report g;
	char msg[256];
	int status;
	pid_t pid;

	printf("-- the process table and gc\n");
	t_open(&t);
	ramfs_usage(t.fs, &u0);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		static vfs_ofd f[600];
		char path[64];
		uint32_t x = 12345;

		ramfs_forked(t.fs);
		for (int i = 0; i < 600; i++) {
			snprintf(path, sizeof(path), "/f%d", i);
			f[i] = t_openf(&t, path, O_CREAT | O_RDWR);
			if (i % 3 == 0)
				ramfs_ops.ofd_get(&t.m, f[i]);          /* a dup */
		}
		for (int i = 0; i < 600; i++) {
			x = x * 1103515245u + 12345u;
			int k = (int)(x >> 8) % 600;
			if (f[k]) {
				ramfs_ops.ofd_put(&t.m, f[k]);
				if (k % 3)
					f[k] = 0;
			}
		}
		_exit(ramfs_fsck(t.fs, msg, sizeof(msg)) == 0 ? 0 : 3);
	}
	waitpid(pid, &status, 0);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child's table stays consistent");
	check(ramfs_fsck(t.fs, msg, sizeof(msg)) == 0, "fsck after the child died: %s", msg);
	ramfs_usage(t.fs, &u1);
	check(ramfs_gc(t.fs, &g) == 1 && g.procs == 1, "gc finds the dead child (%zu)", g.procs);
	ramfs_usage(t.fs, &u2);
	check(g.ofds > 0 && u1.ofds - u2.ofds > 0 && u2.ofds < u1.ofds,
	      "gc drops the child's descriptions: %zu before, %zu after (%zu references)", u1.ofds,
	      u2.ofds, g.ofds);
	/* a slot records 448 objects; what it could not record stays */
	check(u2.ofds <= 600 - 448, "at most the unrecorded ones stay: %zu", u2.ofds);
	check(ramfs_fsck(t.fs, msg, sizeof(msg)) == 0, "fsck after gc: %s", msg);
	check(ramfs_gc(t.fs, &g) == 0 && g.ofds == 0, "a second gc finds nothing");

	/* a count above what the description has is an fsck error that
	 * repair clamps */
	vfs_ofd f = t_openf(&t, "/mine", O_CREAT | O_RDWR);
	struct ramfs_proc *me = &t.fs->procs[t.fs->proc];
	uint32_t key = RAMFS_REF_KEY(RAMFS_REF_OFD, (uint32_t)f), found = 0;

	for (uint32_t i = 0; i < RAMFS_PROC_REFS; i++)
		if (me->refs[i].key == key) {
			found = me->refs[i].count;
			me->refs[i].count = 5;
		}
	check(found == 1, "this process's slot records its open: %u", found);
	check(ramfs_fsck(t.fs, msg, sizeof(msg)) == -EUCLEAN && strstr(msg, "process table"),
	      "fsck sees an over-count of the table: %s", msg);
	check(ramfs_fsck_repair(t.fs, msg, sizeof(msg)) == 0 &&
	      ramfs_fsck(t.fs, msg, sizeof(msg)) == 0, "repair clamps it: %s", msg);
	for (uint32_t i = 0; i < RAMFS_PROC_REFS; i++)
		if (me->refs[i].key == key)
			found = me->refs[i].count;
	check(found == 1, "clamped to 1: %u", found);
	ramfs_ops.ofd_put(&t.m, f);
	t_close(&t);
	(void)u0;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	umask(022);
	printf("-- every crash point of every multi-step operation\n");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
	group_proc_table();
	printf("%lu passed, %lu failed\n", passed, failed);
	return failed ? 1 : 0;
}
