/*
 * bench_plocks PATH [N] — uncontended fcntl record locks: N pairs of
 * F_SETLK F_WRLCK + F_SETLK F_UNLCK on one byte range of PATH (SQLite's
 * RESERVED byte), best of five rounds, printed as one JSON line:
 *   {"bench":"plocks","path":"...","pairs":N,"ns_per_pair":X,"ops_per_s":Y}
 * ops_per_s counts fcntl calls (two per pair).  Run it on tmpfs natively
 * and on /ramfs under the shim; `vadshim bench procs` compares the two.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: bench_plocks PATH [N]\n");
		return 2;
	}
	long n = argc == 3 ? atol(argv[2]) : 200000;
	if (n <= 0)
		n = 1;
	int fd = open(argv[1], O_RDWR | O_CREAT, 0644);
	if (fd < 0) {
		fprintf(stderr, "bench_plocks: open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	struct flock lk = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 1073741825,
			    .l_len = 1 };
	struct flock un = lk;
	un.l_type = F_UNLCK;
	double best = 1e30;
	for (int round = 0; round < 5; round++) {
		double t0 = now();
		for (long i = 0; i < n; i++) {
			if (fcntl(fd, F_SETLK, &lk) || fcntl(fd, F_SETLK, &un)) {
				fprintf(stderr, "bench_plocks: fcntl: %s\n", strerror(errno));
				return 1;
			}
		}
		double t = now() - t0;
		if (t < best)
			best = t;
	}
	close(fd);
	unlink(argv[1]);
	printf("{\"bench\":\"plocks\",\"path\":\"%s\",\"pairs\":%ld,\"ns_per_pair\":%.1f,"
	       "\"ops_per_s\":%.0f}\n", argv[1], n, best * 1e9 / n, 2.0 * n / best);
	return 0;
}
