/*
 * fd_pass DIR: descriptors passed over UNIX sockets (SCM_RIGHTS), a
 * transcript.  Run natively on tmpfs and under the shim in /ramfs: the
 * transcripts must be equal (preload_fdpass.sh).
 *
 *  1. socketpair + fork: the parent sends a file descriptor and a pipe's
 *     write end in one message; the child writes through both, moves the
 *     offset and sets O_APPEND; the parent sees the shared offset and
 *     flags (one open file description) and the child's bytes.
 *  2. MSG_CMSG_CLOEXEC on the receiving side.
 *  3. sendmmsg/recvmmsg: two messages with a file each.
 *  4. a receiver started with exec (it inherits only the socket), which
 *     gets a file opened after the exec.
 *  5. errors: sendmsg on a bad socket and on a closed peer.
 *  6. host descriptors only.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void send_fds(int s, const int *fds, int n, const char *tag)
{
	char ctl[CMSG_SPACE(8 * sizeof(int))];
	memset(ctl, 0, sizeof(ctl));
	struct iovec iov = { (void *)tag, strlen(tag) + 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			    .msg_controllen = CMSG_SPACE(n * sizeof(int)) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(c), fds, n * sizeof(int));
	ssize_t r = sendmsg(s, &m, 0);
	printf("sendmsg %s: %zd%s%s\n", tag, r, r < 0 ? " " : "", r < 0 ? strerror(errno) : "");
}

/* go: wait for the sender's one-byte "printed" mark before printing */
static int recv_fds_go(int s, int *fds, int max, int flags, int go)
{
	char ctl[CMSG_SPACE(8 * sizeof(int))];
	char tag[64] = "";
	struct iovec iov = { tag, sizeof(tag) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			    .msg_controllen = sizeof(ctl) };
	ssize_t r = recvmsg(s, &m, flags);
	int n = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); r > 0 && c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			if (n > max)
				n = max;
			memcpy(fds, CMSG_DATA(c), n * sizeof(int));
		}
	char g;
	if (go && read(s, &g, 1) != 1)
		return -1;
	printf("recvmsg %s: %zd bytes, %d fds:", tag, r, n);
	for (int i = 0; i < n; i++)
		printf(" %d", fds[i]);
	printf("\n");
	return n;
}

static int recv_fds(int s, int *fds, int max, int flags)
{
	return recv_fds_go(s, fds, max, flags, 0);
}

static void show_file(const char *what, int fd)
{
	char buf[128] = "";
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	int fl = fcntl(fd, F_GETFL);
	printf("%s: fd %d offset %ld append %d content(%zd) '%s'\n", what, fd,
	       (long)lseek(fd, 0, SEEK_CUR), fl >= 0 && (fl & O_APPEND) ? 1 : 0, n,
	       n > 0 ? buf : "");
}

static int open_file(const char *dir, const char *name, const char *content)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, content, strlen(content)) != (ssize_t)strlen(content)) {
		perror(path);
		exit(2);
	}
	return fd;
}

static int receiver(int s)
{
	int fds[4];
	int n = recv_fds_go(s, fds, 4, 0, 1);
	if (n != 1)
		return 3;
	show_file("exec'd receiver got", fds[0]);
	if (write(fds[0], " +exec", 6) != 6)
		perror("write");
	show_file("exec'd receiver after write", fds[0]);
	close(fds[0]);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc == 3 && !strcmp(argv[1], "--receiver"))
		return receiver(atoi(argv[2]));
	if (argc != 2) {
		fprintf(stderr, "usage: fd_pass DIR\n");
		return 2;
	}
	const char *dir = argv[1];
	int sv[2], p[2];

	/* 1. fork, file + pipe in one message */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) || pipe(p))
		return 2;
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		close(p[1]);
		close(p[0]);
		int fds[4];
		int n = recv_fds_go(sv[1], fds, 4, 0, 1);
		if (n != 2)
			_exit(3);
		int cl = fcntl(fds[0], F_GETFD);
		show_file("child got file", fds[0]);
		printf("child: cloexec %d\n", cl & FD_CLOEXEC);
		if (write(fds[0], " world", 6) != 6 || write(fds[1], "pipe-ok", 7) != 7)
			perror("child write");
		fcntl(fds[0], F_SETFL, O_APPEND);
		show_file("child after write", fds[0]);
		close(fds[0]);
		close(fds[1]);
		_exit(0);
	}
	close(sv[1]);
	int fd = open_file(dir, "a", "hello");
	int two[2] = { fd, p[1] };
	send_fds(sv[0], two, 2, "file+pipe");
	if (write(sv[0], "g", 1) != 1)
		return 2;
	close(p[1]);
	int st;
	waitpid(pid, &st, 0);
	printf("child exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	show_file("parent after child", fd);
	char pbuf[32] = "";
	ssize_t pn = read(p[0], pbuf, sizeof(pbuf) - 1);
	printf("parent pipe: %zd '%s'\n", pn, pn > 0 ? pbuf : "");
	close(p[0]);
	close(sv[0]);

	/* 2. MSG_CMSG_CLOEXEC, same process */
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv))
		return 2;
	send_fds(sv[0], &fd, 1, "self");
	int got[4];
	if (recv_fds(sv[1], got, 4, MSG_CMSG_CLOEXEC) == 1) {
		printf("self: cloexec %d\n", fcntl(got[0], F_GETFD) & FD_CLOEXEC);
		lseek(got[0], 2, SEEK_SET);
		show_file("original after lseek on the received copy", fd);
		close(got[0]);
	}
	/* MSG_PEEK first, then the real receive */
	send_fds(sv[0], &fd, 1, "peeked");
	int pk[4];
	if (recv_fds(sv[1], pk, 4, MSG_PEEK) == 1) {
		show_file("peeked copy", pk[0]);
		close(pk[0]);
	}
	if (recv_fds(sv[1], pk, 4, 0) == 1) {
		show_file("received after peek", pk[0]);
		close(pk[0]);
	}

	/* 3. sendmmsg / recvmmsg */
	int fb = open_file(dir, "b", "bee"), fc = open_file(dir, "c", "sea");
	{
		char ctl[2][CMSG_SPACE(sizeof(int))];
		struct mmsghdr mm[2];
		struct iovec iov[2] = { { "m1", 3 }, { "m2", 3 } };
		int fx[2] = { fb, fc };
		memset(mm, 0, sizeof(mm));
		memset(ctl, 0, sizeof(ctl));
		for (int i = 0; i < 2; i++) {
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
			mm[i].msg_hdr.msg_control = ctl[i];
			mm[i].msg_hdr.msg_controllen = sizeof(ctl[i]);
			struct cmsghdr *c = CMSG_FIRSTHDR(&mm[i].msg_hdr);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &fx[i], sizeof(int));
		}
		printf("sendmmsg: %d\n", sendmmsg(sv[0], mm, 2, 0));
		char rctl[2][CMSG_SPACE(sizeof(int))];
		char rb[2][8];
		struct iovec riov[2] = { { rb[0], 8 }, { rb[1], 8 } };
		struct mmsghdr rm[2];
		memset(rm, 0, sizeof(rm));
		for (int i = 0; i < 2; i++) {
			rm[i].msg_hdr.msg_iov = &riov[i];
			rm[i].msg_hdr.msg_iovlen = 1;
			rm[i].msg_hdr.msg_control = rctl[i];
			rm[i].msg_hdr.msg_controllen = sizeof(rctl[i]);
		}
		int n = recvmmsg(sv[1], rm, 2, 0, NULL);
		printf("recvmmsg: %d\n", n);
		for (int i = 0; i < n; i++) {
			struct cmsghdr *c = CMSG_FIRSTHDR(&rm[i].msg_hdr);
			int rfd;
			memcpy(&rfd, CMSG_DATA(c), sizeof(int));
			show_file(rb[i], rfd);
			close(rfd);
		}
	}
	close(sv[0]);
	close(sv[1]);

	/* 4. a receiver started by exec; the file is opened after the exec */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return 2;
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		char sfd[16];
		snprintf(sfd, sizeof(sfd), "%d", sv[1]);
		execl("/proc/self/exe", argv[0], "--receiver", sfd, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	int fe = open_file(dir, "e", "exec");
	send_fds(sv[0], &fe, 1, "to exec'd");
	if (write(sv[0], "g", 1) != 1)
		return 2;
	waitpid(pid, &st, 0);
	printf("exec'd receiver exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	show_file("sender after exec'd receiver", fe);
	close(sv[0]);

	/* 5. errors */
	signal(SIGPIPE, SIG_IGN);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return 2;
	close(sv[1]);
	send_fds(sv[0], &fd, 1, "closed peer");
	close(sv[0]);
	send_fds(sv[0], &fd, 1, "bad socket");
	send_fds(fd, &fd, 1, "file as socket");

	/* 6. host descriptors only */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) || pipe(p))
		return 2;
	send_fds(sv[0], &p[1], 1, "host pipe");
	if (recv_fds(sv[1], got, 4, 0) == 1) {
		if (write(got[0], "hp", 2) != 2)
			perror("write");
		close(got[0]);
		close(p[1]);
		char hb[8] = "";
		printf("host pipe read: %zd '%s'\n", read(p[0], hb, 7), hb);
	}
	close(p[0]);
	close(sv[0]);
	close(sv[1]);
	close(fd);
	close(fb);
	close(fc);
	close(fe);
	return 0;
}
