/*
 * Wrappers of sendmsg, sendmmsg, recvmsg and recvmmsg: ramfs descriptors
 * in SCM_RIGHTS messages travel as tokens (vfs/vfs_xfer.h).
 *
 * Sending: when a message's control data carries a ramfs descriptor, the
 * message goes out with a copy of the control data in which each such
 * descriptor is replaced by a token (one more reference on its open
 * description).  If the call fails, or a message of sendmmsg is not sent,
 * the references are dropped; tokens of messages that were sent belong to
 * the receiver.  Receiving: every descriptor that arrived is checked
 * (one fcntl each) and a token is turned back, at the same number, into a
 * ramfs descriptor sharing the sender's description (offset, status
 * flags), close-on-exec under MSG_CMSG_CLOEXEC.
 *
 * No shared state here.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim/real_fs.h"
#include "shim/shim.h"
#include "vfs/vfs.h"
#include "vfs/vfs_xfer.h"

SHIM_REAL_DECL(sendmsg);
SHIM_REAL_DECL(sendmmsg);
SHIM_REAL_DECL(recvmsg);
SHIM_REAL_DECL(recvmmsg);

#define CTL_STACK 512

/*
 * A ramfs descriptor is a kernel O_PATH descriptor, which socket calls
 * answer with EBADF; the kernel's answer for a file is ENOTSOCK.  A
 * socket number that is not open must fail with EBADF before tokens are
 * made (a token could otherwise take its number).  0 when s may be a
 * socket, else -errno.
 */
static int sock_check(int s)
{
	if (vfs_fd_mine(s))
		return -ENOTSOCK;
	if (syscall(SYS_fcntl, s, F_GETFD) < 0)
		return -EBADF;
	return 0;
}

/* Does msg carry a descriptor of ours in SCM_RIGHTS? */
static bool msg_has_ours(const struct msghdr *msg)
{
	if (!vfs.ready || !msg || !msg->msg_control || msg->msg_controllen < sizeof(struct cmsghdr))
		return false;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		const int *fds = (const int *)CMSG_DATA(c);
		for (int i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, &fds[i], sizeof(fd));
			if (vfs_fd_mine(fd))
				return true;
		}
	}
	return false;
}

/*
 * Rewrite out (a copy of msg's control data, msg's layout) so that each
 * ramfs descriptor is a token.  Returns 0, or -errno after undoing the
 * tokens it made.
 */
static int make_tokens(struct msghdr *out)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(out); c; c = CMSG_NXTHDR(out, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		int *fds = (int *)CMSG_DATA(c);
		for (int i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, &fds[i], sizeof(fd));
			if (!vfs_fd_mine(fd))
				continue;
			int tok = vfs_xfer_token(fd);
			if (tok < 0) {
				/* undo: every token made so far is marked by
				 * being a token; the original fds are intact
				 * in the caller's message */
				memcpy(&fds[i], &fd, sizeof(fd));
				return tok;
			}
			memcpy(&fds[i], &tok, sizeof(tok));
		}
	}
	return 0;
}

/* After the call: the tokens in out (compared with the original orig)
 * were sent or not. */
static void end_tokens(struct msghdr *out, const struct msghdr *orig, bool sent)
{
	struct cmsghdr *c = CMSG_FIRSTHDR(out);
	struct cmsghdr *o = CMSG_FIRSTHDR((struct msghdr *)orig);
	for (; c && o; c = CMSG_NXTHDR(out, c), o = CMSG_NXTHDR((struct msghdr *)orig, o)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		int *fds = (int *)CMSG_DATA(c);
		const int *ofds = (const int *)CMSG_DATA(o);
		for (int i = 0; i < n; i++) {
			int fd, ofd;
			memcpy(&fd, &fds[i], sizeof(fd));
			memcpy(&ofd, &ofds[i], sizeof(ofd));
			if (fd == ofd)
				continue;
			if (sent)
				vfs_xfer_token_sent(fd);
			else
				vfs_xfer_token_unsent(fd);
		}
	}
}

/* A copy of msg with its own control buffer (buf if large enough). */
static int copy_msg(const struct msghdr *msg, struct msghdr *out, char *buf, size_t buflen)
{
	*out = *msg;
	void *ctl = msg->msg_controllen <= buflen ? buf : malloc(msg->msg_controllen);
	if (!ctl)
		return -ENOMEM;
	memcpy(ctl, msg->msg_control, msg->msg_controllen);
	out->msg_control = ctl;
	return 0;
}

static void free_msg(struct msghdr *out, char *buf)
{
	if (out->msg_control != buf)
		free(out->msg_control);
}

SHIM_EXPORT ssize_t sendmsg(int s, const struct msghdr *msg, int flags)
{
	if (vfs_fd_mine(s)) {
		errno = ENOTSOCK;
		return -1;
	}
	if (!msg_has_ours(msg))
		return SHIM_REAL(sendmsg)(s, msg, flags);
	char buf[CTL_STACK] __attribute__((aligned(8)));
	struct msghdr m2;
	int r = sock_check(s);
	if (r) {
		errno = -r;
		return -1;
	}
	r = copy_msg(msg, &m2, buf, sizeof(buf));
	if (r == 0 && (r = make_tokens(&m2)) != 0)
		end_tokens(&m2, msg, false);
	if (r) {
		free_msg(&m2, buf);
		errno = -r;
		return -1;
	}
	ssize_t n = SHIM_REAL(sendmsg)(s, &m2, flags);
	int e = errno;
	end_tokens(&m2, msg, n >= 0);
	free_msg(&m2, buf);
	errno = e;
	return n;
}

SHIM_EXPORT int sendmmsg(int s, struct mmsghdr *vec, unsigned int vlen, int flags)
{
	bool any = false;
	for (unsigned i = 0; vec && i < vlen && !any; i++)
		any = msg_has_ours(&vec[i].msg_hdr);
	int r = any ? sock_check(s) : vfs_fd_mine(s) ? -ENOTSOCK : 0;
	if (r) {
		errno = -r;
		return -1;
	}
	if (!any)
		return SHIM_REAL(sendmmsg)(s, vec, vlen, flags);
	if (vlen > 1024)
		vlen = 1024;    /* the kernel's UIO_MAXIOV cap */
	struct mmsghdr *v2 = malloc(vlen * sizeof(*v2));
	if (!v2) {
		errno = ENOMEM;
		return -1;
	}
	unsigned made = 0;
	for (; made < vlen; made++) {
		v2[made] = vec[made];
		if (!msg_has_ours(&vec[made].msg_hdr))
			continue;
		r = copy_msg(&vec[made].msg_hdr, &v2[made].msg_hdr, NULL, 0);
		if (r == 0 && (r = make_tokens(&v2[made].msg_hdr)) != 0) {
			end_tokens(&v2[made].msg_hdr, &vec[made].msg_hdr, false);
			free(v2[made].msg_hdr.msg_control);
		}
		if (r)
			break;
	}
	int n = -1, e = -r;
	if (!r) {
		n = SHIM_REAL(sendmmsg)(s, v2, vlen, flags);
		e = errno;
	}
	for (unsigned i = 0; i < made; i++) {
		if (v2[i].msg_hdr.msg_control == vec[i].msg_hdr.msg_control)
			continue;
		end_tokens(&v2[i].msg_hdr, &vec[i].msg_hdr, n >= 0 && i < (unsigned)n);
		free(v2[i].msg_hdr.msg_control);
	}
	for (unsigned i = 0; n > 0 && i < (unsigned)n; i++)
		vec[i].msg_len = v2[i].msg_len;
	free(v2);
	errno = e;
	return n;
}

static void adopt_received(struct msghdr *msg, int flags)
{
	if (!vfs.ready || !msg->msg_control || msg->msg_controllen < sizeof(struct cmsghdr))
		return;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		const int *fds = (const int *)CMSG_DATA(c);
		for (int i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, &fds[i], sizeof(fd));
			vfs_xfer_adopt(fd, flags & MSG_CMSG_CLOEXEC);
		}
	}
}

SHIM_EXPORT ssize_t recvmsg(int s, struct msghdr *msg, int flags)
{
	if (vfs_fd_mine(s)) {
		errno = ENOTSOCK;
		return -1;
	}
	ssize_t n = SHIM_REAL(recvmsg)(s, msg, flags);
	if (n >= 0) {
		int e = errno;
		adopt_received(msg, flags);
		errno = e;
	}
	return n;
}

SHIM_EXPORT int recvmmsg(int s, struct mmsghdr *vec, unsigned int vlen, int flags,
			 struct timespec *timeout)
{
	if (vfs_fd_mine(s)) {
		errno = ENOTSOCK;
		return -1;
	}
	int n = SHIM_REAL(recvmmsg)(s, vec, vlen, flags, timeout);
	if (n > 0) {
		int e = errno;
		for (int i = 0; i < n; i++)
			adopt_received(&vec[i].msg_hdr, flags);
		errno = e;
	}
	return n;
}
