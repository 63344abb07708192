/*
 * log: unbuffered output of the shim (reports, statistics, messages).
 * Never allocates; safe to call with shim locks held.  The log descriptor
 * is opened once at init (stderr, or log_path.PID) and never changes
 * after, so no lock guards it; each message goes out in one write(2)
 * where it fits the buffer.
 */
#ifndef VADSHIM_LOG_H
#define VADSHIM_LOG_H

#include <stdarg.h>
#include <stddef.h>

void shim_log_open(const char *log_path);   /* "" or NULL: stderr */
void shim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void shim_vlog(const char *fmt, va_list ap);
void shim_log_write(const char *buf, size_t len);
int shim_log_fd(void);

/*
 * A multi-line message (a report) assembled on the caller's stack and
 * written in as few write(2)s as the buffer allows, so that two threads'
 * reports do not interleave line by line.  Text that does not fit is
 * written out early, never dropped.  Usage:
 *     struct shim_logbuf b = { .len = 0 };
 *     shim_logbuf_printf(&b, ...); ...; shim_logbuf_flush(&b);
 */
#define SHIM_LOGBUF_SIZE 8192

struct shim_logbuf {
	size_t len;
	char buf[SHIM_LOGBUF_SIZE];
};

void shim_logbuf_printf(struct shim_logbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void shim_logbuf_flush(struct shim_logbuf *b);

#endif
