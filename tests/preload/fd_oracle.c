/*
 * fd_oracle DIR: descriptor semantics on files in DIR, printed as a
 * transcript that must be the same natively on tmpfs and under the shim
 * in /ramfs (preload_fd.sh diffs them).  Covers: lowest free numbers,
 * dup/dup2/dup3/F_DUPFD(_CLOEXEC), close-on-exec flags, the offset and
 * status flags shared after dup and fork, O_APPEND, lseek (SEEK_DATA,
 * SEEK_HOLE), pread/pwrite/readv/writev/preadv2, ftruncate, fstat after
 * unlink, ioctl FIONREAD/FIOCLEX/TCGETS, fcntl F_GETFL/F_SETFL, isatty,
 * record locks within one process, errno for bad descriptors and bad
 * arguments, exec inheritance (a child re-executes this program to read
 * an inherited descriptor), and mmap coherence with read/write.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static const char *dir;

static const char *P(const char *name)
{
	static char buf[4][4096];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
	return buf[k];
}

#define SHOW(expr)                                                            \
	do {                                                                  \
		errno = 0;                                                    \
		long r_ = (long)(expr);                                       \
		int e_ = errno;                                               \
		if (r_ < 0)                                                   \
			printf("%-48s -> -1 %s\n", #expr, strerrorname_np(e_)); \
		else                                                          \
			printf("%-48s -> %ld\n", #expr, r_);                  \
	} while (0)

static void show_buf(const char *what, const char *b, long n)
{
	printf("%-48s -> [%.*s]\n", what, n > 0 ? (int)n : 0, b);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--child")) {
		/* exec'd with an inherited descriptor number */
		int fd = atoi(argv[2]);
		char b[32] = "";
		long n = read(fd, b, sizeof(b) - 1);
		printf("child read %ld [%.*s] offset %ld\n", n, n > 0 ? (int)n : 0, b,
		       (long)lseek(fd, 0, SEEK_CUR));
		printf("child cloexec fd %d: %s\n", fd + 1,
		       fcntl(fd + 1, F_GETFD) < 0 ? strerrorname_np(errno) : "open");
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: fd_oracle DIR\n");
		return 2;
	}
	dir = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	char b[256];

	int a = open(P("a"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	int lowest = open(P("b"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	printf("numbers: b = a + %d\n", lowest - a);
	close(a);
	int c = open(P("c"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	printf("lowest free reused: %s\n", c == a ? "yes" : "no");
	SHOW(write(c, "hello world", 11));
	int d = dup(c);
	SHOW(lseek(d, 0, SEEK_CUR));
	SHOW(lseek(c, 6, SEEK_SET));
	SHOW(lseek(d, 0, SEEK_CUR));
	SHOW(read(d, b, 5));
	show_buf("after read through dup", b, 5);
	SHOW(fcntl(c, F_GETFD));
	int e = fcntl(c, F_DUPFD_CLOEXEC, 20);
	printf("F_DUPFD_CLOEXEC 20 -> >= 20: %s\n", e >= 20 ? "yes" : "no");
	SHOW(fcntl(e, F_GETFD));
	SHOW(fcntl(e, F_SETFD, 0));
	SHOW(fcntl(e, F_GETFD));
	SHOW(ioctl(e, FIOCLEX));
	SHOW(fcntl(e, F_GETFD));
	SHOW(dup2(c, 40));
	SHOW(lseek(40, 0, SEEK_CUR));
	SHOW(dup3(c, 41, O_CLOEXEC));
	SHOW(fcntl(41, F_GETFD));
	SHOW(dup3(c, c, 0));
	SHOW(dup2(c, c));
	SHOW(dup3(c, 42, O_APPEND));
	SHOW(dup2(9999, 43));
	SHOW(dup2(c, -1));

	/* status flags are per description */
	SHOW(fcntl(c, F_GETFL) & (O_ACCMODE | O_APPEND | O_NONBLOCK));
	SHOW(fcntl(d, F_SETFL, O_APPEND | O_NONBLOCK));
	SHOW(fcntl(c, F_GETFL) & (O_ACCMODE | O_APPEND | O_NONBLOCK));
	SHOW(write(c, "!", 1));
	SHOW(lseek(c, 0, SEEK_CUR));
	SHOW(fcntl(d, F_SETFL, 0));

	/* fork shares the description */
	SHOW(lseek(c, 0, SEEK_SET));
	pid_t pid = fork();
	if (pid == 0) {
		lseek(c, 3, SEEK_SET);
		(void)write(c, "XY", 2);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	SHOW(lseek(c, 0, SEEK_CUR));
	SHOW(pread(c, b, 12, 0));
	show_buf("after the child wrote", b, 12);

	/* vectors, pread/pwrite, truncate, holes */
	struct iovec iov[2] = { { (void *)"ab", 2 }, { (void *)"cd", 2 } };
	SHOW(pwritev(c, iov, 2, 100));
	char x1[3] = "", x2[3] = "";
	struct iovec rv[2] = { { x1, 2 }, { x2, 2 } };
	SHOW(preadv2(c, rv, 2, 100, 0));
	printf("%-48s -> [%s][%s]\n", "preadv2 pieces", x1, x2);
	SHOW(pread(c, b, 10, -1));
	SHOW(pwrite(c, b, 1, -5));
	SHOW(ftruncate(c, 1 << 20));
	SHOW(pwrite(c, "z", 1, 900000));
	SHOW(lseek(c, 0, SEEK_DATA));
	SHOW(lseek(c, 0, SEEK_END));
	SHOW(lseek(c, 2000000, SEEK_DATA));
	SHOW(lseek(c, -1, SEEK_SET));
	SHOW(lseek(c, 0, 99));
	SHOW(ftruncate(c, -1));
	int ro = open(P("c"), O_RDONLY);
	SHOW(write(ro, "x", 1));
	SHOW(ftruncate(ro, 0));
	int n = 0;
	SHOW(lseek(ro, 1048570, SEEK_SET));
	SHOW(ioctl(ro, FIONREAD, &n));
	printf("FIONREAD -> %d\n", n);
	struct termios tio;
	SHOW(ioctl(ro, TCGETS, &tio));
	SHOW(isatty(ro));
	SHOW(tcgetattr(ro, &tio));
	close(ro);

	/* an unlinked file stays readable through its descriptor */
	SHOW(unlink(P("c")));
	struct stat st;
	SHOW(fstat(c, &st));
	printf("fstat after unlink: nlink %lu size %ld\n", (unsigned long)st.st_nlink,
	       (long)st.st_size);
	SHOW(pread(c, b, 5, 0));
	show_buf("pread after unlink", b, 5);

	/* record locks within one process */
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10 };
	SHOW(fcntl(lowest, F_SETLK, &fl));
	fl.l_type = F_RDLCK;
	SHOW(fcntl(lowest, F_GETLK, &fl));
	printf("F_GETLK type %s\n", fl.l_type == F_UNLCK ? "F_UNLCK" : "locked");
	fl.l_type = 77;
	SHOW(fcntl(lowest, F_SETLK, &fl));
	SHOW(lockf(lowest, F_TLOCK, 0));
	SHOW(flock(lowest, LOCK_EX));
	SHOW(flock(lowest, LOCK_UN));
	SHOW(flock(lowest, 99));

	/* bad descriptors */
	SHOW(read(9999, b, 1));
	SHOW(close(9999));
	SHOW(fstat(-1, &st));
	SHOW(lseek(9999, 0, SEEK_SET));

	/* O_APPEND through a second open */
	int ap = open(P("b"), O_WRONLY | O_APPEND);
	SHOW(write(lowest, "12345", 5));
	SHOW(write(ap, "ab", 2));
	SHOW(pread(lowest, b, 7, 0));
	show_buf("append", b, 7);
	close(ap);

	/* mmap coherence */
	int m = open(P("m"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	SHOW(ftruncate(m, 8192));
	char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
	printf("mmap shared: %s\n", p == MAP_FAILED ? strerrorname_np(errno) : "ok");
	if (p != MAP_FAILED) {
		memcpy(p + 4096, "mapped", 6);
		SHOW(pread(m, b, 6, 4096));
		show_buf("pread sees the store", b, 6);
		SHOW(pwrite(m, "WRITE", 5, 10));
		printf("%-48s -> [%.5s]\n", "mapping sees the write", p + 10);
		char *q = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, m, 0);
		memcpy(q + 10, "priv", 4);
		SHOW(pread(m, b, 5, 10));
		show_buf("private store not in file", b, 5);
		munmap(q, 4096);
		SHOW(msync(p, 8192, MS_SYNC));
		SHOW(munmap(p, 8192));
	}
	int wo = open(P("m"), O_WRONLY);
	errno = 0;
	void *bad = mmap(NULL, 4096, PROT_READ, MAP_SHARED, wo, 0);
	printf("mmap of O_WRONLY: %s\n", bad == MAP_FAILED ? strerrorname_np(errno) : "mapped");
	int rdo = open(P("m"), O_RDONLY);
	bad = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, rdo, 0);
	printf("mmap RW shared of O_RDONLY: %s\n",
	       bad == MAP_FAILED ? strerrorname_np(errno) : "mapped");
	bad = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, rdo, 0);
	printf("mmap RW private of O_RDONLY: %s\n",
	       bad == MAP_FAILED ? strerrorname_np(errno) : "mapped");

	/* exec inherits a descriptor with its offset; close-on-exec ones go */
	int inh = open(P("b"), O_RDONLY);
	int ce = open(P("b"), O_RDONLY | O_CLOEXEC);
	if (ce != inh + 1) {
		dup2(ce, inh + 1);
		close(ce);
		fcntl(inh + 1, F_SETFD, FD_CLOEXEC);
	}
	lseek(inh, 2, SEEK_SET);
	pid = fork();
	if (pid == 0) {
		char num[16];
		snprintf(num, sizeof(num), "%d", inh);
		execl("/proc/self/exe", argv[0], "--child", num, (char *)NULL);
		_exit(127);
	}
	int status;
	waitpid(pid, &status, 0);
	printf("child exit %d\n", WEXITSTATUS(status));
	return 0;
}
