/*
 * stdio_oracle DIR — the directory, stdio, temp-file, realpath, ftw and
 * glob families on a tree built under DIR (an empty directory), printed
 * as a transcript that does not depend on the filesystem: DIR shows as
 * "$D", listings are sorted, random name parts are masked, errors are
 * errno names.  Run natively on tmpfs and under the shim on /ramfs, the
 * two transcripts must be identical (tests/preload/preload_stdio.sh).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <locale.h>
#include <wchar.h>

static const char *D;
static size_t dlen;

/* ---- transcript helpers ------------------------------------------------- */

#define MAXLINES 8192
static char *lines[MAXLINES];
static int nlines;

static const char *en(int e)
{
	const char *s = strerrorname_np(e);
	return s ? s : "E?";
}

/* A path with DIR shown as $D (into one of a few rotating buffers). */
static const char *rel(const char *p)
{
	static char buf[8][PATH_MAX + 8];
	static int k;
	char *b = buf[k++ % 8];
	if (!p)
		return "(null)";
	if (strncmp(p, D, dlen) == 0 && (p[dlen] == '/' || !p[dlen]))
		snprintf(b, PATH_MAX + 8, "$D%s", p + dlen);
	else
		snprintf(b, PATH_MAX + 8, "%s", p);
	return b;
}

static void out(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* Collect lines, print them sorted. */
static void col(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	if (nlines < MAXLINES)
		lines[nlines++] = s;
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void col_flush(const char *title)
{
	qsort(lines, nlines, sizeof *lines, cmpstr);
	out("%s (%d)", title, nlines);
	for (int i = 0; i < nlines; i++) {
		out("  %s", lines[i]);
		free(lines[i]);
	}
	nlines = 0;
}

static char *P(const char *fmt, ...)
{
	static char buf[8][PATH_MAX];
	static int k;
	char *b = buf[k++ % 8];
	int n = snprintf(b, PATH_MAX, "%s/", D);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b + n, PATH_MAX - n, fmt, ap);
	va_end(ap);
	return b;
}

static void mkfile(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd)) {
		perror(path);
		exit(2);
	}
}

static void must(int ok, const char *what)
{
	if (!ok) {
		perror(what);
		exit(2);
	}
}

static const char *type_name(unsigned char t)
{
	switch (t) {
	case DT_DIR: return "dir";
	case DT_REG: return "reg";
	case DT_LNK: return "lnk";
	case DT_UNKNOWN: return "unknown";
	default: return "other";
	}
}

/* ---- the tree ------------------------------------------------------------ */

static void build_tree(void)
{
	must(mkdir(P("t"), 0755) == 0, "mkdir t");
	must(mkdir(P("t/a"), 0755) == 0, "mkdir");
	must(mkdir(P("t/a/b"), 0755) == 0, "mkdir");
	must(mkdir(P("t/a/b/c"), 0755) == 0, "mkdir");
	must(mkdir(P("t/e"), 0755) == 0, "mkdir");
	mkfile(P("t/f1"), "hello\n");
	mkfile(P("t/a/f2"), "two\n");
	mkfile(P("t/a/b/f3"), "three\n");
	
	must(symlink("f1", P("t/ln_f1")) == 0, "symlink");
	must(symlink("nowhere", P("t/dang")) == 0, "symlink");
	must(symlink("../..", P("t/a/b/up")) == 0, "symlink");
	must(mkdir(P("many"), 0755) == 0, "mkdir many");
	for (int i = 0; i < 600; i++) {
		char name[64];
		snprintf(name, sizeof name, "many/m%03d_%s", i,
			 "padding_to_make_the_records_longer_than_usual");
		mkfile(P("%s", name), "");
	}
	must(mkdir(P("r"), 0755) == 0, "mkdir r");
	must(symlink("loop", P("r/loop")) == 0, "symlink");
	must(symlink("../t/a", P("r/ln_a")) == 0, "symlink");
	must(symlink("ln_a/b", P("r/deep")) == 0, "symlink");
	must(symlink(P("t/f1"), P("r/abs")) == 0, "symlink");
	must(mkdir(P("s"), 0755) == 0, "mkdir s");
	must(mkdir(P("tmp"), 0755) == 0, "mkdir tmp");
}

/* ---- DIR ------------------------------------------------------------------ */

static void test_dir(void)
{
	struct dirent *e;
	DIR *d = opendir(P("t"));
	must(d != NULL, "opendir t");
	while ((e = readdir(d)))
		col("%s %s", e->d_name, type_name(e->d_type));
	closedir(d);
	col_flush("readdir t");

	/* Many entries: several refills, positions, seekdir back. */
	static char names[700][NAME_MAX + 1];
	static long pos[700];
	int n = 0;
	d = opendir(P("many"));
	must(d != NULL, "opendir many");
	out("telldir at start: %ld", telldir(d));
	while ((e = readdir(d)) && n < 700) {
		snprintf(names[n], sizeof names[n], "%s", e->d_name);
		pos[n++] = telldir(d);
	}
	out("readdir many: %d entries", n);
	int bad = 0;
	for (int i = 0; i + 1 < n; i += 37) {
		seekdir(d, pos[i]);
		e = readdir(d);
		if (!e || strcmp(e->d_name, names[i + 1]))
			bad++;
		if (telldir(d) != pos[i + 1])
			bad++;
	}
	seekdir(d, pos[n - 1]);
	errno = 1234;
	e = readdir(d);
	out("seekdir/telldir mismatches: %d; after the last: %s, errno %d", bad,
	    e ? "an entry" : "NULL", errno);
	rewinddir(d);
	int m = 0;
	while (readdir(d))
		m++;
	out("after rewinddir: %d", m);
	struct stat st;
	out("dirfd is a directory: %d", fstat(dirfd(d), &st) == 0 && S_ISDIR(st.st_mode));
	out("closedir: %d", closedir(d));

	/* readdir64, readdir_r, readdir64_r */
	d = opendir(P("many"));
	m = 0;
	while (readdir64(d))
		m++;
	closedir(d);
	out("readdir64: %d", m);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	d = opendir(P("t/a"));
	struct dirent ent, *res;
	int r;
	while ((r = readdir_r(d, &ent, &res)) == 0 && res)
		col("%s", ent.d_name);
	col_flush("readdir_r t/a");
	out("readdir_r end: %d", r);
	closedir(d);
	d = opendir(P("t/a"));
	struct dirent64 ent64, *res64;
	m = 0;
	while (readdir64_r(d, &ent64, &res64) == 0 && res64)
		m++;
	closedir(d);
	out("readdir64_r: %d", m);
#pragma GCC diagnostic pop

	/* fdopendir */
	int fd = open(P("t/a"), O_RDONLY | O_DIRECTORY);
	d = fdopendir(fd);
	out("fdopendir: %s, dirfd same: %d", d ? "ok" : en(errno), d && dirfd(d) == fd);
	while (d && (e = readdir(d)))
		col("%s", e->d_name);
	col_flush("fdopendir t/a");
	closedir(d);
	out("fd closed by closedir: %s", fcntl(fd, F_GETFD) < 0 ? en(errno) : "no");
	fd = open(P("t/f1"), O_RDONLY);
	errno = 0;
	d = fdopendir(fd);
	out("fdopendir(file): %s", d ? "ok" : en(errno));
	close(fd);
	errno = 0;
	d = fdopendir(-1);
	out("fdopendir(-1): %s", d ? "ok" : en(errno));
	const char *badp[] = { "t/nosuch", "t/f1", "t/dang", "t/f1/x", "r/loop" };
	for (unsigned i = 0; i < sizeof badp / sizeof *badp; i++) {
		errno = 0;
		d = opendir(P("%s", badp[i]));
		out("opendir(%s): %s", badp[i], d ? "ok" : en(errno));
		if (d)
			closedir(d);
	}
	errno = 0;
	d = opendir(P("r/ln_a"));
	out("opendir(r/ln_a): %s", d ? "ok" : en(errno));
	if (d)
		closedir(d);
	errno = 0;
	out("opendir(\"\"): %s", opendir("") ? "ok" : en(errno));
}

static int only_f(const struct dirent *e)
{
	errno = EPERM;   /* a filter may set errno: no error */
	return e->d_name[0] == 'f';
}

static void test_scandir(void)
{
	struct dirent **v;
	int n = scandir(P("t"), &v, NULL, alphasort);
	out("scandir t: %d", n);
	for (int i = 0; i < n; i++) {
		out("  %s %s", v[i]->d_name, type_name(v[i]->d_type));
		free(v[i]);
	}
	free(v);
	errno = 0;
	n = scandir(P("t"), &v, only_f, alphasort);
	out("scandir t filter: %d errno %s", n, errno ? en(errno) : "0");
	for (int i = 0; i < n; i++) {
		out("  %s", v[i]->d_name);
		free(v[i]);
	}
	free(v);
	int dfd = open(P("t"), O_RDONLY | O_DIRECTORY);
	n = scandirat(dfd, "a", &v, NULL, alphasort);
	out("scandirat t a: %d", n);
	for (int i = 0; i < n; i++) {
		out("  %s", v[i]->d_name);
		free(v[i]);
	}
	free(v);
	close(dfd);
	struct dirent64 **v64;
	n = scandir64(P("many"), &v64, NULL, NULL);
	out("scandir64 many: %d", n);
	for (int i = 0; i < n; i++)
		free(v64[i]);
	free(v64);
	errno = 0;
	n = scandir(P("t/nosuch"), &v, NULL, NULL);
	out("scandir nosuch: %d %s", n, en(errno));
	errno = 0;
	n = scandir(P("t/f1"), &v, NULL, NULL);
	out("scandir file: %d %s", n, en(errno));
}

/* ---- stdio ----------------------------------------------------------------- */

static void show_file(const char *name)
{
	struct stat st;
	if (stat(P("%s", name), &st) < 0) {
		out("  %s: %s", name, en(errno));
		return;
	}
	FILE *f = fopen(P("%s", name), "r");
	unsigned long sum = 0;
	int c, nl = 0;
	while (f && (c = getc(f)) != EOF) {
		sum = sum * 31 + (unsigned)c;
		nl += c == '\n';
	}
	if (f)
		fclose(f);
	out("  %s: mode %04o size %ld lines %d sum %lx", name, st.st_mode & 07777,
	    (long)st.st_size, nl, sum);
}

static void try_fopen(const char *name, const char *mode)
{
	errno = 0;
	FILE *f = fopen(P("%s", name), mode);
	if (!f) {
		out("fopen(%s, %s): %s", name, mode, en(errno));
		return;
	}
	int fd = fileno(f);
	int fl = fcntl(fd, F_GETFL), fdf = fcntl(fd, F_GETFD);
	out("fopen(%s, %s): ok acc %d append %d cloexec %d ftell %ld", name, mode, fl & O_ACCMODE,
	    !!(fl & O_APPEND), !!(fdf & FD_CLOEXEC), ftell(f));
	fclose(f);
}

static void test_stdio(void)
{
	umask(022);
	FILE *f = fopen(P("s/one"), "w");
	must(f != NULL, "fopen w");
	for (int i = 0; i < 1000; i++)
		fprintf(f, "line %d %s\n", i, i % 7 ? "x" : "seven");
	out("fclose: %d", fclose(f));
	show_file("s/one");

	f = fopen(P("s/one"), "r");
	char buf[256];
	char *line = NULL;
	size_t cap = 0;
	out("fgets: %s", fgets(buf, sizeof buf, f) ? strtok(buf, "\n") : "NULL");
	out("getline: %zd", getline(&line, &cap, f));
	out("ftell: %ld", ftell(f));
	out("fseek end: %d ftell %ld", fseek(f, 0, SEEK_END), ftell(f));
	out("fseek 100: %d", fseek(f, 100, SEEK_SET));
	int a;
	char w[32];
	out("fscanf: %d", fscanf(f, "%31s %d", w, &a));
	int u = ungetc('Z', f);
	out("ungetc: %c getc %c", u, getc(f));
	rewind(f);
	size_t n = fread(buf, 1, 20, f);
	out("fread: %zu '%.*s'", n, (int)strcspn(buf, "\n"), buf);
	fseek(f, -3, SEEK_END);
	while (getc(f) != EOF)
		;
	out("feof %d ferror %d", feof(f), ferror(f));
	errno = 0;
	int pr = fputs("no", f);
	out("fputs on r: %d ferror %d", pr, ferror(f));
	fclose(f);
	free(line);

	try_fopen("s/one", "a");
	f = fopen(P("s/one"), "a");
	fputs("appended\n", f);
	out("a: ftell after write %ld", ftell(f));
	fclose(f);
	f = fopen(P("s/one"), "a+");
	out("a+: ftell at open %ld", ftell(f));
	out("a+: first line %s", fgets(buf, sizeof buf, f) ? strtok(buf, "\n") : "NULL");
	fseek(f, 0, SEEK_SET);
	fputs("also\n", f);
	out("a+: ftell after write %ld", ftell(f));
	fclose(f);
	show_file("s/one");
	f = fopen(P("s/one"), "r+");
	fputs("LINE", f);
	fclose(f);
	show_file("s/one");
	try_fopen("s/one", "w+");
	show_file("s/one");
	try_fopen("s/one", "wx");
	try_fopen("s/new", "wx");
	try_fopen("s/new", "re");
	try_fopen("s/new", "rb+");
	try_fopen("s/new", "z");
	try_fopen("s/nosuch", "r");
	try_fopen("s", "w");
	try_fopen("s/nosuchdir/x", "w");
	try_fopen("t/ln_f1", "r");
	try_fopen("t/dang", "w");
	show_file("t/nowhere");

	/* fdopen */
	int fd = open(P("s/fd"), O_WRONLY | O_CREAT, 0600);
	errno = 0;
	f = fdopen(fd, "r");
	out("fdopen(wronly, r): %s", f ? "ok" : en(errno));
	f = fdopen(fd, "a");
	out("fdopen(wronly, a): %s append %d fileno same %d", f ? "ok" : en(errno),
	    !!(fcntl(fd, F_GETFL) & O_APPEND), f && fileno(f) == fd);
	fputs("via fdopen\n", f);
	fclose(f);
	out("fd closed by fclose: %s", fcntl(fd, F_GETFD) < 0 ? en(errno) : "no");
	show_file("s/fd");
	errno = 0;
	out("fdopen(-1): %s", fdopen(-1, "r") ? "ok" : en(errno));

	/* freopen of an ordinary stream */
	f = fopen(P("s/re1"), "w");
	fputs("first\n", f);
	FILE *g = freopen(P("s/re2"), "w", f);
	out("freopen: %s", g ? "ok" : en(errno));
	fputs("second\n", g);
	fclose(g);
	show_file("s/re1");
	show_file("s/re2");
	f = fopen(P("s/re1"), "r");
	errno = 0;
	g = freopen(P("s/nosuch/x"), "r", f);
	out("freopen to a bad path: %s", g ? "ok" : en(errno));

	/* a big file through the buffer */
	f = fopen(P("s/big"), "w+");
	for (int i = 0; i < 200000; i++)
		fprintf(f, "%d\n", i * 7919 % 100003);
	fseek(f, 0, SEEK_SET);
	unsigned long sum = 0;
	while (fgets(buf, sizeof buf, f))
		sum += strtoul(buf, NULL, 10);
	out("big: sum %lu ftell %ld", sum, ftell(f));
	fclose(f);

	f = tmpfile();
	fputs("tmp", f);
	rewind(f);
	out("tmpfile: %s", fgets(buf, sizeof buf, f));
	fclose(f);
}

/* freopen between $D and a host directory $H, and of the std streams. */
static void show_host(const char *h, const char *name)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/%s", h, name);
	FILE *f = fopen(p, "r");
	char buf[256] = "";
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	buf[n] = 0;
	for (char *c = buf; *c; c++)
		if (*c == '\n')
			*c = '|';
	out("  $H/%s: %s", name, f ? buf : en(errno));
	if (f)
		fclose(f);
}

static void test_freopen_cross(void)
{
	char h[] = "/dev/shm/stdio_oracle_host.XXXXXX", p[PATH_MAX];
	if (!mkdtemp(h)) {
		out("mkdtemp host: %s", en(errno));
		return;
	}
	snprintf(p, sizeof p, "%s/h1", h);
	FILE *f = fopen(p, "w");
	fputs("host first|", f);
	FILE *g = freopen(P("s/x1"), "w", f);
	out("freopen host->D: %s", g ? "ok" : en(errno));
	fputs("now in D\n", g);
	fclose(g);
	show_host(h, "h1");
	show_file("s/x1");

	f = fopen(P("s/x2"), "w");
	fputs("D first\n", f);
	snprintf(p, sizeof p, "%s/h2", h);
	g = freopen(p, "w", f);
	out("freopen D->host: %s", g ? "ok" : en(errno));
	fputs("now on the host\n", g);
	fclose(g);
	show_file("s/x2");
	show_host(h, "h2");

	f = fopen(P("s/x3"), "w");
	fputs("one\n", f);
	g = freopen(NULL, "a", f);
	out("freopen(NULL, a): %s append %d", g ? "ok" : en(errno),
	    g ? !!(fcntl(fileno(g), F_GETFL) & O_APPEND) : -1);
	if (g) {
		fseek(g, 0, SEEK_SET);
		fputs("two\n", g);
		fclose(g);
	}
	show_file("s/x3");

	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int total = 0, x;
		if (!freopen(P("s/nums"), "r", stdin))
			_exit(3);
		while (scanf("%d", &x) == 1)
			total += x;
		snprintf(p, sizeof p, "%s/sum", h);
		if (!freopen(p, "w", stdout))
			_exit(4);
		printf("sum %d eof %d\n", total, feof(stdin));
		if (!freopen(P("s/o1"), "w", stdout))
			_exit(5);
		printf("to D\n");
		fprintf(stderr, "%s", "");
		exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	out("freopen std streams child: %d", WEXITSTATUS(st));
	show_host(h, "sum");
	show_file("s/o1");
	snprintf(p, sizeof p, "rm -rf '%s'", h);
	if (system(p) != 0)
		out("cleanup failed");
}

/* Wide-character functions on a file stream. */
static void test_wide(void)
{
	if (!setlocale(LC_CTYPE, "C.UTF-8")) {
		out("wide: no C.UTF-8 locale");
		return;
	}
	FILE *f = fopen(P("s/wide"), "w");
	int o0 = fwide(f, 0), o1 = fwide(f, 1);
	out("fwide(0) %d fwide(1) %d fwide(-1) %d", o0, o1, fwide(f, -1));
	out("fwprintf: %d", fwprintf(f, L"caf\u00e9 %d %ls\n", 42, L"\u263a"));
	out("fputws: %d", fputws(L"line two \u00fc\n", f) >= 0);
	out("fputwc: %d", (int)fputwc(L'\u00df', f));
	fputwc(L'\n', f);
	fclose(f);
	show_file("s/wide");
	f = fopen(P("s/wide"), "r");
	wchar_t buf[64];
	out("fgetws: %ls", fgetws(buf, 64, f) ? buf : L"(null)");
	wint_t c = fgetwc(f);
	wint_t u = ungetwc(c, f);
	out("fgetwc: %d ungetwc: %d fgetwc: %d", (int)c, (int)u, (int)fgetwc(f));
	out("fgetws: %ls", fgetws(buf, 64, f) ? buf : L"(null)");
	int n = 0;
	while (fgetwc(f) != WEOF)
		n++;
	out("rest: %d feof %d", n, feof(f));
	fclose(f);
	setlocale(LC_CTYPE, "C");
}

/* Children: std streams redirected by freopen and by dup2. */
static void test_std_streams(const char *self)
{
	fflush(stdout);
	pid_t p = fork();
	if (p == 0) {
		if (!freopen(P("s/stdout"), "w", stdout))
			_exit(3);
		for (int i = 0; i < 5000; i++)
			printf("child %d\n", i);
		fflush(stdout);
		if (write(1, "raw write\n", 10) != 10)
			_exit(4);
		puts("last");
		exit(0);
	}
	int st;
	waitpid(p, &st, 0);
	out("freopen(stdout) child: %d", WEXITSTATUS(st));
	show_file("s/stdout");

	fflush(stdout);
	p = fork();
	if (p == 0) {
		int save = dup(1);
		printf("pending ");
		int fd = open(P("s/dup2"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		close(fd);
		printf("after dup2\n");
		fflush(stdout);
		printf("unflushed ");
		dup2(save, 1);
		close(save);
		printf("back on the pipe\n");
		exit(0);
	}
	waitpid(p, &st, 0);
	out("dup2 child: %d", WEXITSTATUS(st));
	show_file("s/dup2");

	/* exec with fd 1 on a file: what a shell does for `prog > file` */
	fflush(stdout);
	p = fork();
	if (p == 0) {
		int fd = open(P("s/exec"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		close(fd);
		execl(self, self, "--print", "100000", (char *)NULL);
		_exit(127);
	}
	waitpid(p, &st, 0);
	out("exec child: %d", WEXITSTATUS(st));
	show_file("s/exec");
}

/* ---- temp files ------------------------------------------------------------- */

static const char *masked(const char *path, int suffixlen)
{
	static char b[PATH_MAX];
	snprintf(b, sizeof b, "%s", rel(path));
	size_t n = strlen(b);
	if (n >= 6 + (size_t)suffixlen) {
		char *x = b + n - 6 - suffixlen;
		int okchars = 1;
		for (int i = 0; i < 6; i++)
			okchars &= !!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", x[i]);
		memcpy(x, okchars ? "??????" : "!!!!!!", 6);
	}
	return b;
}

static void show_fd(const char *what, int fd, const char *path, int suffixlen)
{
	if (fd < 0) {
		out("%s: %s", what, en(errno));
		return;
	}
	struct stat st;
	fstat(fd, &st);
	out("%s: %s mode %04o cloexec %d append %d", what, masked(path, suffixlen),
	    st.st_mode & 07777, !!(fcntl(fd, F_GETFD) & FD_CLOEXEC),
	    !!(fcntl(fd, F_GETFL) & O_APPEND));
	close(fd);
}

static void test_tmp(void)
{
	char t[PATH_MAX];
	umask(022);
	snprintf(t, sizeof t, "%s/tmp/aXXXXXX", D);
	show_fd("mkstemp", mkstemp(t), t, 0);
	snprintf(t, sizeof t, "%s/tmp/bXXXXXX", D);
	show_fd("mkostemp", mkostemp(t, O_CLOEXEC | O_APPEND), t, 0);
	snprintf(t, sizeof t, "%s/tmp/cXXXXXX.txt", D);
	show_fd("mkstemps", mkstemps(t, 4), t, 4);
	snprintf(t, sizeof t, "%s/tmp/dXXXXXX.c", D);
	show_fd("mkostemps", mkostemps(t, 2, O_CLOEXEC), t, 2);
	snprintf(t, sizeof t, "%s/tmp/eXXXXXX", D);
	show_fd("mkstemp64", mkstemp64(t), t, 0);
	snprintf(t, sizeof t, "%s/tmp/fXXXXXX", D);
	char *r = mkdtemp(t);
	struct stat st;
	out("mkdtemp: %s mode %04o", r ? masked(r, 0) : en(errno),
	    r && stat(r, &st) == 0 ? st.st_mode & 07777 : 0);
	snprintf(t, sizeof t, "%s/tmp/gXXXXXX", D);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	r = mktemp(t);
	out("mktemp: %s exists %d", masked(r, 0), stat(r, &st) == 0);
	snprintf(t, sizeof t, "%s/tmp/gXXXXX", D);
	errno = 0;
	r = mktemp(t);
	out("mktemp 5 Xs: '%s' %s", r, en(errno));
#pragma GCC diagnostic pop
	const char *bad[] = { "tmp/XXXXX", "tmp/aXXXXXXb", "tmp/nosuch/XXXXXX", "t/f1/XXXXXX" };
	for (unsigned i = 0; i < sizeof bad / sizeof *bad; i++) {
		snprintf(t, sizeof t, "%s/%s", D, bad[i]);
		errno = 0;
		int fd = mkstemp(t);
		out("mkstemp(%s): %s template %s", bad[i], fd < 0 ? en(errno) : "ok",
		    strstr(t, "XXXXX") ? "kept" : "changed");
		snprintf(t, sizeof t, "%s/%s", D, bad[i]);
		errno = 0;
		r = mkdtemp(t);
		out("mkdtemp(%s): %s", bad[i], r ? "ok" : en(errno));
	}
	snprintf(t, sizeof t, "%s/tmp/hXXXXXX.x", D);
	errno = 0;
	out("mkstemps(suffixlen 3 on 2): %s", mkstemps(t, 3) < 0 ? en(errno) : "ok");
	errno = 0;
	out("mkstemps(suffixlen 20): %s", mkstemps(t, 20) < 0 ? en(errno) : "ok");
	DIR *d = opendir(P("tmp"));
	int n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	out("tmp entries: %d", n);
}

/* ---- realpath ------------------------------------------------------------------ */

static void test_realpath(void)
{
	const char *names[] = {
		".", "t", "r/ln_a/b", "t/a/b/up", "t/a/b/up/f1", "t/ln_f1", "t/dang",
		"t/dang/", "r/loop", "r/loop/x", "r/deep", "r/deep/../f2", "r/abs",
		"t/f1/", "t/f1/.", "t/f1/..", "t/f1/x", "t/./a/../a/b/c/", "nosuch",
		"nosuch/..", "t//a///b", "t/a/../..",
	};
	char buf[PATH_MAX];
	must(chdir(D) == 0, "chdir D");
	for (unsigned i = 0; i < sizeof names / sizeof *names; i++) {
		strcpy(buf, "<untouched>");
		errno = 0;
		char *r = realpath(names[i], buf);
		const char *rr = r ? rel(r) : en(errno);
		char *m = canonicalize_file_name(names[i]);
		out("realpath(%s): %s [buf %s] canon %s", names[i], rr, rel(buf),
		    m ? rel(m) : en(errno));
		free(m);
	}
	char abs[PATH_MAX];
	snprintf(abs, sizeof abs, "%s/r/ln_a/../ln_f1", D);
	char *r = realpath(abs, NULL);
	out("realpath(abs): %s", r ? rel(r) : en(errno));
	free(r);
	errno = 0;
	out("realpath(\"\"): %s", realpath("", buf) ? "ok" : en(errno));

	must(chdir("t/a") == 0, "chdir t/a");
	out("getcwd: %s", rel(getcwd(buf, sizeof buf)));
	setenv("PWD", P("r/ln_a"), 1);
	char *c = get_current_dir_name();
	out("get_current_dir_name (PWD via a link): %s", rel(c));
	free(c);
	setenv("PWD", P("t"), 1);
	c = get_current_dir_name();
	out("get_current_dir_name (PWD wrong): %s", rel(c));
	free(c);
	unsetenv("PWD");
	c = get_current_dir_name();
	out("get_current_dir_name (no PWD): %s", rel(c));
	free(c);
	out("realpath(..) from t/a: %s", rel(realpath("..", buf)));
	must(chdir(D) == 0, "chdir D");
}

/* ---- ftw ------------------------------------------------------------------------- */

static int walk_flags;
static int walk_stop_at;        /* 1: FTW_STOP at the first file */
static char walk_seq[256][PATH_MAX];
static int walk_seq_type[256];
static int walk_n;

static const char *ftype(int f)
{
	switch (f) {
	case FTW_F: return "F";
	case FTW_D: return "D";
	case FTW_DNR: return "DNR";
	case FTW_NS: return "NS";
	case FTW_SL: return "SL";
	case FTW_DP: return "DP";
	case FTW_SLN: return "SLN";
	default: return "?";
	}
}

static int walk_fn(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	char cwd[PATH_MAX] = "-";
	if (walk_flags & FTW_CHDIR) {
		if (!getcwd(cwd, sizeof cwd))
			strcpy(cwd, "?");
	}
	/* base as an offset from $D when the path starts with it */
	int base = ftw->base - (strncmp(path, D, dlen) == 0 ? (int)dlen : 0);
	col("%s %s level %d base %d (%s) mode %o cwd %s", rel(path), ftype(flag), ftw->level,
	    base, path + ftw->base,
	    flag == FTW_NS ? 0 : (unsigned)(st->st_mode & S_IFMT) >> 12, rel(cwd));
	if (walk_n < 256) {
		snprintf(walk_seq[walk_n], PATH_MAX, "%s", path);
		walk_seq_type[walk_n++] = flag;
	}
	if (walk_flags & FTW_ACTIONRETVAL) {
		if (walk_stop_at && flag == FTW_F)
			return FTW_STOP;
		if (flag == FTW_D && strcmp(path + ftw->base, "a") == 0)
			return FTW_SKIP_SUBTREE;
	}
	return 0;
}

/* Pre-order: a directory before everything under it; post-order: after. */
static const char *walk_order(void)
{
	for (int i = 0; i < walk_n; i++) {
		if (walk_seq_type[i] != FTW_D && walk_seq_type[i] != FTW_DP)
			continue;
		size_t l = strlen(walk_seq[i]);
		for (int j = 0; j < walk_n; j++) {
			if (strncmp(walk_seq[j], walk_seq[i], l) || walk_seq[j][l] != '/')
				continue;
			if ((walk_seq_type[i] == FTW_D) != (i < j))
				return "BAD";
		}
	}
	return "ok";
}

static int oldwalk_fn(const char *path, const struct stat *st, int flag)
{
	col("%s %s mode %o", rel(path), ftype(flag),
	    flag == FTW_NS ? 0 : (unsigned)(st->st_mode & S_IFMT) >> 12);
	return 0;
}

static void test_ftw(void)
{
	static const struct { int flags; const char *name; } cases[] = {
		{ 0, "0" },
		{ FTW_PHYS, "PHYS" },
		{ FTW_DEPTH, "DEPTH" },
		{ FTW_PHYS | FTW_DEPTH, "PHYS|DEPTH" },
		{ FTW_CHDIR, "CHDIR" },
		{ FTW_CHDIR | FTW_PHYS | FTW_DEPTH, "CHDIR|PHYS|DEPTH" },
		{ FTW_MOUNT | FTW_PHYS, "MOUNT|PHYS" },
		{ FTW_ACTIONRETVAL, "ACTIONRETVAL (skip a)" },
		{ FTW_ACTIONRETVAL | FTW_DEPTH | FTW_PHYS, "ACTIONRETVAL|DEPTH|PHYS" },
	};
	char title[128];
	for (unsigned i = 0; i < sizeof cases / sizeof *cases; i++) {
		walk_flags = cases[i].flags;
		walk_n = 0;
		int r = nftw(P("t"), walk_fn, 4, walk_flags);
		snprintf(title, sizeof title, "nftw %s: %d order %s", cases[i].name, r, walk_order());
		col_flush(title);
	}
	/* relative start, with FTW_CHDIR: the cwd comes back */
	walk_flags = FTW_CHDIR | FTW_PHYS;
	walk_n = 0;
	int r = nftw("t/a", walk_fn, 1, walk_flags);
	char cwd[PATH_MAX];
	snprintf(title, sizeof title, "nftw relative CHDIR|PHYS: %d cwd after %s", r,
		 rel(getcwd(cwd, sizeof cwd)));
	col_flush(title);
	walk_flags = FTW_ACTIONRETVAL;
	walk_stop_at = 1;
	r = nftw(P("t"), walk_fn, 4, walk_flags);
	walk_stop_at = 0;
	out("nftw FTW_STOP: %d", r);
	nlines = 0;
	walk_flags = 0;
	r = nftw(P("t/f1"), walk_fn, 4, 0);
	col_flush("nftw on a file");
	out("  -> %d", r);
	r = nftw(P("t/dang"), walk_fn, 4, 0);
	col_flush("nftw on a dangling link");
	out("  -> %d", r);
	errno = 0;
	r = nftw(P("t/nosuch"), walk_fn, 4, 0);
	out("nftw nosuch: %d %s", r, en(errno));
	errno = 0;
	r = nftw("", walk_fn, 4, 0);
	out("nftw \"\": %d %s", r, en(errno));
	errno = 0;
	r = nftw(P("t"), walk_fn, 4, 1 << 12);
	out("nftw bad flags: %d %s", r, en(errno));
	r = ftw(P("t"), oldwalk_fn, 2);
	snprintf(title, sizeof title, "ftw: %d", r);
	col_flush(title);
	r = nftw64(P("t/a"), (int (*)(const char *, const struct stat64 *, int, struct FTW *))walk_fn,
		   4, FTW_PHYS);
	snprintf(title, sizeof title, "nftw64: %d", r);
	col_flush(title);
}

/* ---- glob ------------------------------------------------------------------------ */

static void show_glob(const char *pat, int flags)
{
	glob_t g;
	int r = glob(pat, flags, NULL, &g);
	out("glob(%s, %#x): %d", rel(pat), flags, r);
	if (r == 0 || r == GLOB_NOMATCH)
		for (size_t i = 0; i < g.gl_pathc; i++)
			out("  %s", rel(g.gl_pathv[i]));
	if (r == 0)
		globfree(&g);
}

static void test_glob(void)
{
	show_glob(P("t/*"), 0);
	show_glob(P("t/*"), GLOB_MARK);
	show_glob(P("t/*/*"), 0);
	show_glob(P("t/?n*"), 0);
	show_glob(P("t/[a-e]"), GLOB_MARK);
	show_glob(P("t/a/b/up/f*"), 0);
	show_glob(P("t/.*"), 0);
	show_glob(P("t/*"), GLOB_PERIOD);
	show_glob(P("t/nomatch*"), 0);
	show_glob(P("t/nomatch*"), GLOB_NOCHECK);
	show_glob(P("t/f1"), 0);
	show_glob(P("t/nosuch"), 0);
	show_glob(P("t/{a,e}"), GLOB_BRACE);
	show_glob(P("many/m59*"), 0);
	show_glob(P("t/*"), GLOB_ONLYDIR | GLOB_MARK);
	show_glob(P("t/a/b/*/"), 0);
	setenv("HOME", D, 1);
	show_glob("~/t/a/*", GLOB_TILDE);
	show_glob("~/t/nomatch", GLOB_TILDE_CHECK | GLOB_NOCHECK);
	must(chdir(D) == 0, "chdir");
	show_glob("t/a/*", 0);
	glob64_t g;
	int r = glob64(P("t/a/*"), 0, NULL, &g);
	out("glob64: %d %zu", r, r ? 0 : g.gl_pathc);
	if (!r)
		globfree64(&g);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--print") == 0) {
		int n = atoi(argv[2]);
		for (int i = 1; i <= n; i++)
			printf("%d\n", i);
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: stdio_oracle EMPTY_DIR\n");
		return 2;
	}
	static char self[PATH_MAX];
	if (!realpath(argv[0], self))
		return 2;
	D = argv[1];
	dlen = strlen(D);
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	build_tree();
	test_dir();
	test_scandir();
	test_stdio();
	FILE *f = fopen(P("s/nums"), "w");
	for (int i = 1; i <= 100; i++)
		fprintf(f, "%d\n", i);
	fclose(f);
	test_freopen_cross();
	test_wide();
	test_std_streams(self);
	test_tmp();
	test_realpath();
	test_ftw();
	test_glob();
	out("end");
	return 0;
}
