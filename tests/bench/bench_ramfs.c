/*
 * bench_ramfs DIR OP [N]: time one file operation N times in DIR and print
 * "OP ns_per_op".  tools/bench_ramfs.py runs it natively on tmpfs and
 * under the shim on /ramfs in the same run.  Needs only libc.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static char path[4096];

static const char *in(const char *dir, const char *name)
{
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: bench_ramfs DIR OP [N]\n");
		return 2;
	}
	const char *dir = argv[1], *op = argv[2];
	long n = argc > 3 ? atol(argv[3]) : 100000;
	static char buf[1 << 20];
	memset(buf, 'x', sizeof(buf));
	double t0, t1;
	if (!strncmp(op, "pread", 5) || !strncmp(op, "pwrite", 6)) {
		size_t sz = strstr(op, "4k") ? 4096 : 64;
		int fd = open(in(dir, "rw"), O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || pwrite(fd, buf, 1 << 20, 0) != 1 << 20)
			die("setup");
		int w = op[1] == 'w';
		t0 = now_ns();
		for (long i = 0; i < n; i++) {
			off_t off = (off_t)((i * 4096) & ((1 << 20) - 1));
			ssize_t r = w ? pwrite(fd, buf, sz, off) : pread(fd, buf, sz, off);
			if (r != (ssize_t)sz)
				die(op);
		}
		t1 = now_ns();
		close(fd);
		unlink(in(dir, "rw"));
	} else if (!strcmp(op, "stat")) {
		int fd = open(in(dir, "st"), O_RDWR | O_CREAT, 0644);
		close(fd);
		struct stat st;
		char p[4096];
		snprintf(p, sizeof(p), "%s/st", dir);
		t0 = now_ns();
		for (long i = 0; i < n; i++)
			if (stat(p, &st))
				die("stat");
		t1 = now_ns();
		unlink(p);
	} else if (!strcmp(op, "create")) {
		char p[4096];
		snprintf(p, sizeof(p), "%s/cr", dir);
		t0 = now_ns();
		for (long i = 0; i < n; i++) {
			int fd = open(p, O_RDWR | O_CREAT | O_EXCL, 0644);
			if (fd < 0 || close(fd) || unlink(p))
				die("create");
		}
		t1 = now_ns();
	} else if (!strcmp(op, "openclose")) {
		char p[4096];
		snprintf(p, sizeof(p), "%s/oc", dir);
		close(open(p, O_RDWR | O_CREAT, 0644));
		t0 = now_ns();
		for (long i = 0; i < n; i++) {
			int fd = open(p, O_RDONLY);
			if (fd < 0 || close(fd))
				die("openclose");
		}
		t1 = now_ns();
		unlink(p);
	} else if (!strcmp(op, "readdir")) {
		char d[4096], p[4200];
		snprintf(d, sizeof(d), "%s/rd", dir);
		mkdir(d, 0755);
		for (int i = 0; i < 10000; i++) {
			snprintf(p, sizeof(p), "%s/f%05d", d, i);
			close(open(p, O_WRONLY | O_CREAT, 0644));
		}
		t0 = now_ns();
		for (long i = 0; i < n; i++) {
			DIR *dp = opendir(d);
			if (!dp)
				die("opendir");
			long cnt = 0;
			while (readdir(dp))
				cnt++;
			closedir(dp);
			if (cnt != 10002)
				die("readdir count");
		}
		t1 = now_ns();
		for (int i = 0; i < 10000; i++) {
			snprintf(p, sizeof(p), "%s/f%05d", d, i);
			unlink(p);
		}
		rmdir(d);
	} else if (!strcmp(op, "seqwrite") || !strcmp(op, "seqread")) {
		/* n MiB written, then read, in 1 MiB calls */
		int fd = open(in(dir, "seq"), O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			die("open seq");
		double tw0 = now_ns();
		for (long i = 0; i < n; i++)
			if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
				die("write");
		double tw1 = now_ns();
		lseek(fd, 0, SEEK_SET);
		double tr0 = now_ns();
		for (long i = 0; i < n; i++)
			if (read(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
				die("read");
		double tr1 = now_ns();
		close(fd);
		unlink(in(dir, "seq"));
		int w = !strcmp(op, "seqwrite");
		t0 = w ? tw0 : tr0;
		t1 = w ? tw1 : tr1;
	} else {
		fprintf(stderr, "bench_ramfs: unknown op %s\n", op);
		return 2;
	}
	printf("%s %.1f\n", op, (t1 - t0) / (double)n);
	return 0;
}
