/*
 * static_probe PATH FD — linked statically, so LD_PRELOAD never loads the
 * shim into it: what a program without the shim sees of /ramfs.  Prints
 * the result of open(PATH) and of a read from the inherited descriptor
 * FD, as errno names.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: static_probe PATH FD\n");
		return 2;
	}
	int fd = open(argv[1], O_RDONLY);
	printf("open: %s\n", fd < 0 ? strerrorname_np(errno) : "opened");
	char c;
	ssize_t n = read(atoi(argv[2]), &c, 1);
	printf("read inherited: %s\n", n < 0 ? strerrorname_np(errno) : "data");
	return 0;
}
