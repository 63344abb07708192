/*
 * crash_writer — the workload of the crash loop (preload_crash.sh), and
 * its checker.  Both run under the shim.
 *
 *   crash_writer run DIR JOURNAL SEED THREADS RUN
 *       THREADS threads create, write (in random chunk order, over holes,
 *       with truncates and fallocate), append to, truncate, rename (also
 *       over another file and across directories), unlink files and make
 *       and remove directories under DIR/tN, until killed.  Every file's
 *       content is a function of a seed: byte i of file s is gen(s, i).
 *       JOURNAL (on the host) gets one line per step, appended by one
 *       write(2) after the call returned ("C", "R", ...), and for the steps
 *       on a file that was already closed, one line before it ("r", ...):
 *         C path seed size      created, written and closed
 *         r/R old new           rename (new may name a file it replaces)
 *         u/U path              unlink
 *         t/T path seed old new truncate of a closed file to new < old
 *         a/A path seed old new append: bytes [old, new) of gen(seed)
 *         m/M path, x/X path    mkdir, rmdir of an empty directory
 *       Names are never reused (RUN and a counter are in every name), and
 *       each thread works on its own files, so the journal alone says what
 *       must be there.  Exits 1 on any unexpected error (so the loop sees
 *       a workload that stopped before it was killed).
 *
 *   crash_writer check DIR JOURNAL SEED
 *       replays the journal; for the one step per thread that was in
 *       flight (a lower-case line with no upper-case one), accepts exactly
 *       the outcomes "not done" and "done" (a rename: one of the two names,
 *       never both, never none; an append: a prefix of the new bytes);
 *       every other file must exist with exactly its content, every name
 *       renamed or unlinked must be gone.  Prints the resolved state as a
 *       new journal on stdout, after removing about half of the files
 *       (SEED picks which) so that the set stays small.  Exit 1 on any
 *       difference, with the path and what was expected on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAXLIVE 24
#define PATHLEN 256

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* bytes [off, off + len) of file seed s */
static void gen(uint64_t s, uint64_t off, size_t len, unsigned char *out)
{
	for (size_t i = 0; i < len; i++) {
		uint64_t p = off + i;
		out[i] = (unsigned char)(mix(s ^ (p / 8) * 0x100000001b3ull) >> (8 * (p % 8)));
	}
}

static uint64_t rnd(uint64_t *st)
{
	*st = mix(*st);
	return *st;
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "crash_writer: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " (errno %d %s)\n", errno, strerror(errno));
	va_end(ap);
	exit(1);
}

/* ---- the workload ---- */

static const char *g_dir;
static int g_journal;
static int g_run;
static uint64_t g_seed;

static void jlog(const char *fmt, ...)
{
	char line[600];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	line[n++] = '\n';
	if (write(g_journal, line, (size_t)n) != n)
		die("journal write");
}

struct live {
	char path[PATHLEN];
	uint64_t seed, size;
};

struct thr {
	int id;
	uint64_t rng;
	unsigned counter;
	struct live files[MAXLIVE];
	int nfiles;
	char dirs[2][PATHLEN];
};

static void pwrite_all(int fd, const unsigned char *b, size_t len, off_t off, const char *p)
{
	while (len) {
		ssize_t k = pwrite(fd, b, len, off);
		if (k <= 0)
			die("pwrite %s", p);
		b += k;
		len -= (size_t)k;
		off += k;
	}
}

static void write_range(struct thr *t, int fd, uint64_t s, uint64_t from, uint64_t to,
			const char *p, bool ordered)
{
	/* chunks in random order: holes first, filled later */
	uint64_t len = to - from, chunk = 1 + rnd(&t->rng) % 20000;
	unsigned n = (unsigned)((len + chunk - 1) / chunk);
	unsigned start = n && !ordered ? (unsigned)(rnd(&t->rng) % n) : 0;
	unsigned char *buf = malloc(chunk);

	for (unsigned k = 0; k < n; k++) {
		uint64_t o = from + (uint64_t)((start + k) % n) * chunk;
		size_t l = (size_t)(o + chunk <= to ? chunk : to - o);
		gen(s, o, l, buf);
		pwrite_all(fd, buf, l, (off_t)o, p);
	}
	free(buf);
}

static void op_create(struct thr *t)
{
	struct live *f;
	uint64_t s = rnd(&t->rng), size = rnd(&t->rng) % 4 == 0 ? rnd(&t->rng) % 400000
								 : rnd(&t->rng) % 40000;
	int fd;

	if (t->nfiles == MAXLIVE)
		return;
	char name[PATHLEN];

	snprintf(name, PATHLEN, "%s/r%dt%dn%u", t->dirs[rnd(&t->rng) % 2], g_run, t->id,
		 t->counter++);
	f = &t->files[t->nfiles];
	memcpy(f->path, name, PATHLEN);
	fd = open(f->path, O_CREAT | O_EXCL | O_WRONLY, 0644);
	if (fd < 0)
		die("create %s", f->path);
	if (rnd(&t->rng) % 5 == 0 && size && fallocate(fd, 0, 0, (off_t)size) < 0)
		die("fallocate %s", f->path);
	write_range(t, fd, s, 0, size, f->path, false);
	if (rnd(&t->rng) % 3 == 0 && size > 2) {
		if (ftruncate(fd, (off_t)(size / 2)) < 0)
			die("ftruncate %s", f->path);
		write_range(t, fd, s, size / 2, size, f->path, false);
	}
	if (rnd(&t->rng) % 4 == 0 && fsync(fd) < 0)
		die("fsync %s", f->path);
	if (close(fd) < 0)
		die("close %s", f->path);
	f->seed = s;
	f->size = size;
	t->nfiles++;
	jlog("C %s %llu %llu", f->path, (unsigned long long)s, (unsigned long long)size);
}

static void drop(struct thr *t, int i)
{
	t->files[i] = t->files[--t->nfiles];
}

static void op_rename(struct thr *t)
{
	int i = (int)(rnd(&t->rng) % (uint64_t)t->nfiles), j = -1;
	char to[PATHLEN];

	if (t->nfiles > 1 && rnd(&t->rng) % 3 == 0) {
		j = (int)(rnd(&t->rng) % (uint64_t)t->nfiles);
		if (j == i)
			j = -1;
	}
	if (j >= 0)
		snprintf(to, PATHLEN, "%s", t->files[j].path);
	else
		snprintf(to, PATHLEN, "%s/r%dt%dn%u", t->dirs[rnd(&t->rng) % 2], g_run, t->id,
			 t->counter++);
	jlog("r %s %s", t->files[i].path, to);
	if (rename(t->files[i].path, to) < 0)
		die("rename %s %s", t->files[i].path, to);
	jlog("R %s %s", t->files[i].path, to);
	snprintf(t->files[i].path, PATHLEN, "%s", to);
	if (j >= 0)
		drop(t, j);
}

static void op_unlink(struct thr *t)
{
	int i = (int)(rnd(&t->rng) % (uint64_t)t->nfiles);

	jlog("u %s", t->files[i].path);
	if (unlink(t->files[i].path) < 0)
		die("unlink %s", t->files[i].path);
	jlog("U %s", t->files[i].path);
	drop(t, i);
}

static void op_truncate(struct thr *t)
{
	struct live *f = &t->files[rnd(&t->rng) % (uint64_t)t->nfiles];
	uint64_t to = f->size ? rnd(&t->rng) % f->size : 0;
	int fd;

	jlog("t %s %llu %llu %llu", f->path, (unsigned long long)f->seed,
	     (unsigned long long)f->size, (unsigned long long)to);
	fd = open(f->path, O_WRONLY);
	if (fd < 0 || ftruncate(fd, (off_t)to) < 0 || close(fd) < 0)
		die("truncate %s", f->path);
	jlog("T %s %llu %llu %llu", f->path, (unsigned long long)f->seed,
	     (unsigned long long)f->size, (unsigned long long)to);
	f->size = to;
}

static void op_append(struct thr *t)
{
	struct live *f = &t->files[rnd(&t->rng) % (uint64_t)t->nfiles];
	uint64_t to = f->size + rnd(&t->rng) % 100000;
	int fd;

	jlog("a %s %llu %llu %llu", f->path, (unsigned long long)f->seed,
	     (unsigned long long)f->size, (unsigned long long)to);
	fd = open(f->path, O_WRONLY | O_APPEND);
	if (fd < 0)
		die("open %s", f->path);
	write_range(t, fd, f->seed, f->size, to, f->path, true);        /* O_APPEND */
	if (close(fd) < 0)
		die("close %s", f->path);
	jlog("A %s %llu %llu %llu", f->path, (unsigned long long)f->seed,
	     (unsigned long long)f->size, (unsigned long long)to);
	f->size = to;
}

static void op_dir(struct thr *t)
{
	char p[PATHLEN];

	snprintf(p, PATHLEN, "%s/d%dt%dn%u", t->dirs[rnd(&t->rng) % 2], g_run, t->id,
		 t->counter++);
	jlog("m %s", p);
	if (mkdir(p, 0755) < 0)
		die("mkdir %s", p);
	jlog("M %s", p);
	if (rnd(&t->rng) % 2) {
		jlog("x %s", p);
		if (rmdir(p) < 0)
			die("rmdir %s", p);
		jlog("X %s", p);
	}
}

static void *worker(void *arg)
{
	struct thr *t = arg;
	/* CRASH_OPS=N: stop after N steps (to check the workload without a kill) */
	const char *lim = getenv("CRASH_OPS");
	long left = lim ? atol(lim) : -1;

	while (left < 0 || left-- > 0) {
		unsigned op = (unsigned)(rnd(&t->rng) % 16);

		if (t->nfiles == 0 || op < 5)
			op_create(t);
		else if (op < 8)
			op_rename(t);
		else if (op < 10)
			op_unlink(t);
		else if (op < 12)
			op_truncate(t);
		else if (op < 14)
			op_append(t);
		else
			op_dir(t);
	}
	return NULL;
}

static int run(int argc, char **argv)
{
	int n;
	pthread_t th[16];
	static struct thr t[16];

	if (argc != 7)
		return 2;
	g_dir = argv[2];
	g_seed = strtoull(argv[4], NULL, 10);
	n = atoi(argv[5]);
	g_run = atoi(argv[6]);
	if (n < 1 || n > 16)
		return 2;
	g_journal = open(argv[3], O_WRONLY | O_APPEND | O_CREAT, 0644);
	if (g_journal < 0)
		die("journal %s", argv[3]);
	if (mkdir(g_dir, 0755) < 0 && errno != EEXIST)
		die("mkdir %s", g_dir);
	for (int i = 0; i < n; i++) {
		t[i].id = i;
		t[i].rng = g_seed * 1000003u + (uint64_t)i;
		snprintf(t[i].dirs[0], PATHLEN, "%s/t%d", g_dir, i);
		snprintf(t[i].dirs[1], PATHLEN, "%s/t%d/sub", g_dir, i);
		for (int d = 0; d < 2; d++)
			if (mkdir(t[i].dirs[d], 0755) < 0 && errno != EEXIST)
				die("mkdir %s", t[i].dirs[d]);
	}
	for (int i = 0; i < n; i++)
		pthread_create(&th[i], NULL, worker, &t[i]);
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	return 0;
}

/* ---- the checker ---- */

struct ent {
	char path[PATHLEN];
	char kind;              /* 'f' file, 'd' directory */
	uint64_t seed, size;
	bool gone;              /* must not exist */
};

static struct ent *ents;
static size_t nents, capents;
static int bad;

static struct ent *find(const char *p)
{
	for (size_t i = nents; i-- > 0;)
		if (!strcmp(ents[i].path, p))
			return &ents[i];
	return NULL;
}

static struct ent *put(const char *p, char kind, uint64_t seed, uint64_t size)
{
	struct ent *e = find(p);

	if (!e) {
		if (nents == capents) {
			capents = capents ? capents * 2 : 1024;
			ents = realloc(ents, capents * sizeof(*ents));
		}
		e = &ents[nents++];
		snprintf(e->path, PATHLEN, "%s", p);
	}
	e->kind = kind;
	e->seed = seed;
	e->size = size;
	e->gone = false;
	return e;
}

static void gone(const char *p)
{
	struct ent *e = find(p);

	if (!e)
		e = put(p, 'f', 0, 0);
	e->gone = true;
}

__attribute__((format(printf, 1, 2)))
static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "crash check: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	bad = 1;
}

/* Does path hold exactly gen(seed)[0, size)?  -1: no such file. */
static int holds(const char *p, uint64_t seed, uint64_t size)
{
	int fd = open(p, O_RDONLY);
	unsigned char buf[65536], want[65536];
	uint64_t off = 0;
	struct stat st;

	if (fd < 0)
		return errno == ENOENT ? -1 : 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != size) {
		close(fd);
		return 0;
	}
	for (;;) {
		ssize_t k = read(fd, buf, sizeof(buf));
		if (k < 0) {
			close(fd);
			return 0;
		}
		if (k == 0)
			break;
		gen(seed, off, (size_t)k, want);
		if (memcmp(buf, want, (size_t)k)) {
			close(fd);
			return 0;
		}
		off += (uint64_t)k;
	}
	close(fd);
	return off == size;
}

static uint64_t file_size(const char *p, int *exists)
{
	struct stat st;

	*exists = lstat(p, &st) == 0;
	return *exists ? (uint64_t)st.st_size : 0;
}

static bool is_dir(const char *p)
{
	struct stat st;

	return lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The in-flight step of a killed run: accept "not done" or "done". */
static void resolve(char op, const char *a, const char *b, uint64_t seed, uint64_t from,
		    uint64_t to)
{
	struct ent *ea = find(a), *eb = b ? find(b) : NULL;
	int ex;

	if (!ea && op != 'm') {
		fail("in-flight step %c on %s, a name the journal does not know", op, a);
		return;
	}
	switch (op) {
	case 'r': {
		struct ent sa = *ea;
		int ha = holds(a, sa.seed, sa.size);
		int hb = holds(b, sa.seed, sa.size);
		bool target = eb && !eb->gone;
		int hb_old = target ? holds(b, eb->seed, eb->size) : -1;

		if (ha == -1 && hb == 1) {              /* done */
			gone(a);
			put(b, 'f', sa.seed, sa.size);
		} else if (ha == 1 && hb_old == (target ? 1 : -1)) {
			/* not done: a as it was, b as it was */
		} else {
			fail("rename %s -> %s in flight: old name %s, new name %s", a, b,
			     ha == 1 ? "has the file" : ha == -1 ? "missing" : "wrong content",
			     hb == 1 ? "has the file" : hb == -1 ? "missing" : "other content");
		}
		break;
	}
	case 'u':
		if (holds(a, ea->seed, ea->size) == -1)
			gone(a);
		else if (holds(a, ea->seed, ea->size) != 1)
			fail("unlink %s in flight: content changed", a);
		break;
	case 't': {
		int h_old = holds(a, seed, from), h_new = holds(a, seed, to);
		if (h_new == 1)
			ea->size = to;
		else if (h_old != 1)
			fail("truncate %s %llu -> %llu in flight: neither", a,
			     (unsigned long long)from, (unsigned long long)to);
		break;
	}
	case 'a': {
		uint64_t s = file_size(a, &ex);
		if (ex && s >= from && s <= to && holds(a, seed, s) == 1)
			ea->size = s;
		else
			fail("append %s %llu -> %llu in flight: size %llu or content wrong", a,
			     (unsigned long long)from, (unsigned long long)to, (unsigned long long)s);
		break;
	}
	case 'm':
		if (is_dir(a))
			put(a, 'd', 0, 0);
		break;
	case 'x':
		if (!is_dir(a))
			gone(a);
		break;
	}
}

struct pend {
	char op;
	char a[PATHLEN], b[PATHLEN];
	uint64_t seed, from, to;
};

static int check(int argc, char **argv)
{
	FILE *j;
	char line[1024];
	static struct pend pend[4096];
	size_t npend = 0;
	uint64_t rng;

	if (argc != 5)
		return 2;
	rng = strtoull(argv[4], NULL, 10) ^ 0xc0ffee;
	j = fopen(argv[3], "r");
	if (!j) {
		fprintf(stderr, "crash check: no journal %s\n", argv[3]);
		return 1;
	}
	while (fgets(line, sizeof(line), j)) {
		char op, a[PATHLEN], b[PATHLEN];
		unsigned long long x = 0, y = 0, z = 0;

		if (sscanf(line, "%c %255s", &op, a) != 2) {
			fprintf(stderr, "crash check: bad journal line: %s", line);
			return 1;
		}
		switch (op) {
		case 'C':
			sscanf(line, "%c %255s %llu %llu", &op, a, &x, &y);
			put(a, 'f', x, y);
			break;
		case 'D':
			put(a, 'd', 0, 0);
			break;
		case 'r': case 'u': case 't': case 'a': case 'm': case 'x': {
			struct pend *p = &pend[npend++ % 4096];
			memset(p, 0, sizeof(*p));
			p->op = op;
			sscanf(line, "%c %255s %255s", &op, p->a, p->b);
			if (op == 't' || op == 'a')
				sscanf(line, "%c %255s %llu %llu %llu", &op, p->a, &x, &y, &z);
			snprintf(p->a, PATHLEN, "%s", a);
			p->seed = x;
			p->from = y;
			p->to = z;
			break;
		}
		default:
			/* a completion: apply it, and forget its pending line */
			for (size_t i = npend; i-- > 0;) {
				struct pend *p = &pend[i % 4096];
				if (p->op == op - 'A' + 'a' && !strcmp(p->a, a)) {
					p->op = 0;
					break;
				}
			}
			if (op == 'R') {
				sscanf(line, "%c %255s %255s", &op, a, b);
				struct ent *e = find(a);
				if (!e) {
					fprintf(stderr, "crash check: rename of unknown %s\n", a);
					return 1;
				}
				uint64_t s = e->seed, sz = e->size;
				gone(a);
				put(b, 'f', s, sz);
			} else if (op == 'U' || op == 'X') {
				gone(a);
			} else if (op == 'T' || op == 'A') {
				sscanf(line, "%c %255s %llu %llu %llu", &op, a, &x, &y, &z);
				put(a, 'f', x, z);
			} else if (op == 'M') {
				put(a, 'd', 0, 0);
			}
		}
	}
	fclose(j);
	for (size_t i = 0; i < npend && i < 4096; i++)
		if (pend[i].op) {
			/* skip the checks below for the names of in-flight steps */
			resolve(pend[i].op, pend[i].a, pend[i].b[0] ? pend[i].b : NULL, pend[i].seed,
				pend[i].from, pend[i].to);
		}
	size_t files = 0, dirs = 0;
	for (size_t i = 0; i < nents; i++) {
		struct ent *e = &ents[i];
		int ex;

		if (e->gone) {
			file_size(e->path, &ex);
			if (ex)
				fail("%s exists but was renamed or removed", e->path);
			continue;
		}
		if (e->kind == 'd') {
			if (!is_dir(e->path))
				fail("directory %s is missing", e->path);
			dirs++;
			continue;
		}
		int h = holds(e->path, e->seed, e->size);
		if (h != 1)
			fail("%s: %s (want %llu bytes of seed %llu)", e->path,
			     h < 0 ? "missing" : "wrong size or content", (unsigned long long)e->size,
			     (unsigned long long)e->seed);
		files++;
	}
	if (bad)
		return 1;
	/* the new journal: what is there, less about half of it */
	for (size_t i = 0; i < nents; i++) {
		struct ent *e = &ents[i];

		if (e->gone)
			continue;
		if (e->kind == 'd') {
			if (rnd(&rng) % 2 && rmdir(e->path) == 0)
				continue;
			printf("D %s\n", e->path);
		} else {
			if (rnd(&rng) % 2 && unlink(e->path) == 0)
				continue;
			printf("C %s %llu %llu\n", e->path, (unsigned long long)e->seed,
			       (unsigned long long)e->size);
		}
	}
	fprintf(stderr, "crash check: %zu files and %zu directories as journaled\n", files, dirs);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "run"))
		return run(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "check"))
		return check(argc, argv);
	fprintf(stderr, "usage: crash_writer run DIR JOURNAL SEED THREADS RUN | "
			"check DIR JOURNAL SEED\n");
	return 2;
}
