/*
 * log: the shim's unbuffered output.
 *
 * Shared state: shim_log_state.fd only.  It is set by shim_log_open at
 * init (before other threads run in the shim) and read-only after, so no
 * lock guards it; it is accessed atomically so that a test re-opening the
 * log is not a data race either.  Everything else lives on the caller's
 * stack: no allocation, no stdio streams, no shim lock.
 *
 * Every system call here is made with syscall(2), not through libc's
 * wrappers, so that the shim's own wrappers of open/write/close/fcntl
 * (later) never see, and never re-enter on, the shim's log descriptor.
 */
#include "shim/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>              /* vsnprintf only: no FILE streams */
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Out of the way of programs that close or dup2 low descriptors. */
#define SHIM_LOG_FD_MIN 900
#define SHIM_LOG_LINE 1024

static struct {
	int fd;                 /* 2, or the log_path.PID file */
} shim_log_state = { .fd = 2 };

int shim_log_fd(void)
{
	return __atomic_load_n(&shim_log_state.fd, __ATOMIC_RELAXED);
}

/* Loop on partial writes and EINTR; keep the caller's errno. */
void shim_log_write(const char *buf, size_t len)
{
	int saved = errno;
	int fd = shim_log_fd();

	while (len > 0) {
		long n = syscall(SYS_write, fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		buf += n;
		len -= (size_t)n;
	}
	errno = saved;
}

void shim_vlog(const char *fmt, va_list ap)
{
	char line[SHIM_LOG_LINE];
	int n = vsnprintf(line, sizeof(line), fmt, ap);

	if (n < 0)
		return;
	shim_log_write(line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

void shim_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	shim_vlog(fmt, ap);
	va_end(ap);
}

/* Move fd to SHIM_LOG_FD_MIN or above if the limit allows. */
static int shim_log_move_high(int fd)
{
	long hi = syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, SHIM_LOG_FD_MIN);

	if (hi < 0)
		return fd;
	syscall(SYS_close, fd);
	return (int)hi;
}

static int shim_log_open_file(const char *log_path)
{
	char name[512];
	int n = snprintf(name, sizeof(name), "%s.%d", log_path, (int)getpid());
	long fd;

	if (n < 0 || (size_t)n >= sizeof(name)) {
		shim_log("==vadshim== log_path too long, logging to stderr\n");
		return 2;
	}
	fd = syscall(SYS_openat, AT_FDCWD, name,
		     O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		/* strerrordesc_np, unlike strerror, never allocates */
		const char *why = strerrordesc_np(errno);

		shim_log("==vadshim== cannot open log file %s: %s; logging to stderr\n",
			 name, why ? why : "unknown error");
		return 2;
	}
	return shim_log_move_high((int)fd);
}

void shim_log_open(const char *log_path)
{
	int fd = (log_path && *log_path) ? shim_log_open_file(log_path) : 2;
	int old = __atomic_exchange_n(&shim_log_state.fd, fd, __ATOMIC_RELAXED);

	if (old != 2 && old != fd)
		syscall(SYS_close, old);
}

static void shim_logbuf_vprintf(struct shim_logbuf *b, const char *fmt, va_list ap)
{
	size_t room = sizeof(b->buf) - b->len;
	va_list again;
	int n;

	va_copy(again, ap);
	n = vsnprintf(b->buf + b->len, room, fmt, ap);
	if (n >= 0 && (size_t)n >= room && b->len > 0) {
		shim_logbuf_flush(b);   /* did not fit: write what we have, retry */
		room = sizeof(b->buf);
		n = vsnprintf(b->buf, room, fmt, again);
	}
	va_end(again);
	if (n < 0)
		return;
	b->len += (size_t)n < room ? (size_t)n : room - 1;
	if (b->len == sizeof(b->buf) - 1)
		shim_logbuf_flush(b);   /* truncated: a longer piece is cut */
}

void shim_logbuf_printf(struct shim_logbuf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	shim_logbuf_vprintf(b, fmt, ap);
	va_end(ap);
}

void shim_logbuf_flush(struct shim_logbuf *b)
{
	shim_log_write(b->buf, b->len);
	b->len = 0;
}
