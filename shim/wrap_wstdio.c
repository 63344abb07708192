/*
 * Wide-character stdio on the shim's streams.
 *
 * A glibc cookie stream (fopencookie) has no wide-character state: glibc
 * gives it byte orientation for good, its fwprintf fails and its fgetws
 * dereferences the missing state and crashes.  A file of a mounted
 * filesystem must behave as a tmpfs file, so on the shim's streams (and
 * only there: every other stream goes to glibc) the wide functions are
 * rebuilt over the byte functions, converting with the locale's
 * multibyte encoding (wcrtomb/mbrtowc with a conversion state per
 * stream), under the FILE's own lock so that a call stays atomic.
 *
 * Orientation: fwide() on a shim stream records and reports an
 * orientation of its own (the wide functions set it to wide); byte
 * functions are glibc's and do not record it.  The wide scanf family
 * (fwscanf, whose headers redirect it to __isoc99_fwscanf) is not
 * rebuilt: on a shim stream it behaves as glibc's on any cookie stream.
 *
 * Shared state: the per-stream struct shim_wide lives in the stream's
 * slot (shim/wrap_stdio.c) and is guarded by the FILE's lock
 * (flockfile), which every function here holds while it uses it.
 */
#undef _FILE_OFFSET_BITS
#undef _FORTIFY_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "shim/real_fs.h"
#include "shim/shim.h"
#include "shim/wrap_stdio.h"

extern int __fwprintf_chk(FILE *fp, int flag, const wchar_t *fmt, ...);
extern int __vfwprintf_chk(FILE *fp, int flag, const wchar_t *fmt, va_list ap);
extern int __wprintf_chk(int flag, const wchar_t *fmt, ...);
extern int __vwprintf_chk(int flag, const wchar_t *fmt, va_list ap);
extern wchar_t *__fgetws_chk(wchar_t *buf, size_t size, int n, FILE *fp);
extern wchar_t *__fgetws_unlocked_chk(wchar_t *buf, size_t size, int n, FILE *fp);
extern void __chk_fail(void) __attribute__((noreturn));

SHIM_REAL_DECL(fwide);
SHIM_REAL_DECL(fputwc);
SHIM_REAL_DECL(putwc);
SHIM_REAL_DECL(fputwc_unlocked);
SHIM_REAL_DECL(putwc_unlocked);
SHIM_REAL_DECL(fputws);
SHIM_REAL_DECL(fputws_unlocked);
SHIM_REAL_DECL(fgetwc);
SHIM_REAL_DECL(getwc);
SHIM_REAL_DECL(fgetwc_unlocked);
SHIM_REAL_DECL(getwc_unlocked);
SHIM_REAL_DECL(fgetws);
SHIM_REAL_DECL(fgetws_unlocked);
SHIM_REAL_DECL(__fgetws_chk);
SHIM_REAL_DECL(__fgetws_unlocked_chk);
SHIM_REAL_DECL(ungetwc);
SHIM_REAL_DECL(vfwprintf);
SHIM_REAL_DECL(__vfwprintf_chk);

/* ---- the conversions (FILE lock held) ---------------------------------- */

static wint_t w_put(struct shim_wide *w, wchar_t wc, FILE *fp)
{
	char mb[MB_LEN_MAX];
	size_t n = wcrtomb(mb, wc, &w->out);
	if (n == (size_t)-1) {
		fp->_flags |= _IO_ERR_SEEN;     /* as glibc marks it */
		return WEOF;
	}
	w->orient = 1;
	if (fwrite_unlocked(mb, 1, n, fp) != n)
		return WEOF;
	return (wint_t)wc;
}

static wint_t w_get(struct shim_wide *w, FILE *fp)
{
	w->orient = 1;
	for (;;) {
		int c = getc_unlocked(fp);
		if (c == EOF)
			return WEOF;
		char b = (char)c;
		wchar_t wc;
		size_t r = mbrtowc(&wc, &b, 1, &w->in);
		if (r == (size_t)-2)
			continue;
		if (r == (size_t)-1) {
			memset(&w->in, 0, sizeof w->in);
			errno = EILSEQ;
			return WEOF;
		}
		return (wint_t)wc;
	}
}

static int w_puts(struct shim_wide *w, const wchar_t *s, FILE *fp)
{
	for (; *s; s++)
		if (w_put(w, *s, fp) == WEOF)
			return -1;
	return 1;
}

static wchar_t *w_gets(struct shim_wide *w, wchar_t *buf, int n, FILE *fp)
{
	if (n <= 0) {
		errno = EINVAL;
		return NULL;
	}
	int i = 0;
	while (i < n - 1) {
		wint_t c = w_get(w, fp);
		if (c == WEOF) {
			if (i == 0 || ferror_unlocked(fp))
				return NULL;
			break;
		}
		buf[i++] = (wchar_t)c;
		if (c == L'\n')
			break;
	}
	buf[i] = L'\0';
	return buf;
}

/* Format into a growing wide buffer, then write it converted. */
static int w_vprintf(struct shim_wide *w, FILE *fp, const wchar_t *fmt, va_list ap)
{
	wchar_t small[512], *buf = small;
	size_t cap = sizeof small / sizeof *small;
	int n;
	for (;;) {
		va_list aq;
		va_copy(aq, ap);
		n = vswprintf(buf, cap, fmt, aq);
		va_end(aq);
		if (n >= 0 || cap >= (1u << 24))
			break;
		cap *= 4;
		wchar_t *nb = buf == small ? malloc(cap * sizeof *nb) : realloc(buf, cap * sizeof *nb);
		if (!nb) {
			n = -1;
			break;
		}
		buf = nb;
	}
	if (n >= 0) {
		for (int i = 0; i < n; i++)
			if (w_put(w, buf[i], fp) == WEOF) {
				n = -1;
				break;
			}
	}
	if (buf != small)
		free(buf);
	return n;
}

/* ---- the wrappers ------------------------------------------------------ */

/* Run BODY with w = the stream's wide state under the FILE lock, or call
 * the real function when the stream is not the shim's. */
#define WIDE_CALL(fp, real_call, T, body)               \
	do {                                            \
		struct shim_wide *w = shim_stream_wide(fp); \
		if (!w)                                 \
			return real_call;               \
		flockfile(fp);                          \
		T r_ = body;                            \
		funlockfile(fp);                        \
		return r_;                              \
	} while (0)

/* The same without taking the lock (the _unlocked variants). */
#define WIDE_CALL_UNLOCKED(fp, real_call, body)         \
	do {                                            \
		struct shim_wide *w = shim_stream_wide(fp); \
		if (!w)                                 \
			return real_call;               \
		return body;                            \
	} while (0)

SHIM_EXPORT int fwide(FILE *fp, int mode)
{
	struct shim_wide *w = shim_stream_wide(fp);
	if (!w)
		return SHIM_REAL(fwide)(fp, mode);
	flockfile(fp);
	if (w->orient == 0 && mode != 0)
		w->orient = mode > 0 ? 1 : -1;
	int r = w->orient;
	funlockfile(fp);
	return r;
}

SHIM_EXPORT wint_t fputwc(wchar_t wc, FILE *fp)
{
	WIDE_CALL(fp, SHIM_REAL(fputwc)(wc, fp), wint_t, w_put(w, wc, fp));
}

SHIM_EXPORT wint_t putwc(wchar_t wc, FILE *fp)
{
	WIDE_CALL(fp, SHIM_REAL(putwc)(wc, fp), wint_t, w_put(w, wc, fp));
}

SHIM_EXPORT wint_t fputwc_unlocked(wchar_t wc, FILE *fp)
{
	WIDE_CALL_UNLOCKED(fp, SHIM_REAL(fputwc_unlocked)(wc, fp), w_put(w, wc, fp));
}

SHIM_EXPORT wint_t putwc_unlocked(wchar_t wc, FILE *fp)
{
	WIDE_CALL_UNLOCKED(fp, SHIM_REAL(putwc_unlocked)(wc, fp), w_put(w, wc, fp));
}

SHIM_EXPORT wint_t putwchar(wchar_t wc)
{
	return fputwc(wc, stdout);
}

SHIM_EXPORT wint_t putwchar_unlocked(wchar_t wc)
{
	return fputwc_unlocked(wc, stdout);
}

SHIM_EXPORT int fputws(const wchar_t *s, FILE *fp)
{
	WIDE_CALL(fp, SHIM_REAL(fputws)(s, fp), int, w_puts(w, s, fp));
}

SHIM_EXPORT int fputws_unlocked(const wchar_t *s, FILE *fp)
{
	WIDE_CALL_UNLOCKED(fp, SHIM_REAL(fputws_unlocked)(s, fp), w_puts(w, s, fp));
}

SHIM_EXPORT wint_t fgetwc(FILE *fp)
{
	WIDE_CALL(fp, SHIM_REAL(fgetwc)(fp), wint_t, w_get(w, fp));
}

SHIM_EXPORT wint_t getwc(FILE *fp)
{
	WIDE_CALL(fp, SHIM_REAL(getwc)(fp), wint_t, w_get(w, fp));
}

SHIM_EXPORT wint_t fgetwc_unlocked(FILE *fp)
{
	WIDE_CALL_UNLOCKED(fp, SHIM_REAL(fgetwc_unlocked)(fp), w_get(w, fp));
}

SHIM_EXPORT wint_t getwc_unlocked(FILE *fp)
{
	WIDE_CALL_UNLOCKED(fp, SHIM_REAL(getwc_unlocked)(fp), w_get(w, fp));
}

SHIM_EXPORT wint_t getwchar(void)
{
	return fgetwc(stdin);
}

SHIM_EXPORT wint_t getwchar_unlocked(void)
{
	return fgetwc_unlocked(stdin);
}

SHIM_EXPORT wchar_t *fgetws(wchar_t *buf, int n, FILE *fp)
{
	WIDE_CALL(fp, SHIM_REAL(fgetws)(buf, n, fp), wchar_t *, w_gets(w, buf, n, fp));
}

SHIM_EXPORT wchar_t *fgetws_unlocked(wchar_t *buf, int n, FILE *fp)
{
	WIDE_CALL_UNLOCKED(fp, SHIM_REAL(fgetws_unlocked)(buf, n, fp), w_gets(w, buf, n, fp));
}

SHIM_EXPORT wchar_t *__fgetws_chk(wchar_t *buf, size_t size, int n, FILE *fp)
{
	if (shim_stream_wide(fp) && (size_t)n > size)
		__chk_fail();
	WIDE_CALL(fp, SHIM_REAL(__fgetws_chk)(buf, size, n, fp), wchar_t *,
		  w_gets(w, buf, n, fp));
}

SHIM_EXPORT wchar_t *__fgetws_unlocked_chk(wchar_t *buf, size_t size, int n, FILE *fp)
{
	if (shim_stream_wide(fp) && (size_t)n > size)
		__chk_fail();
	WIDE_CALL_UNLOCKED(fp, SHIM_REAL(__fgetws_unlocked_chk)(buf, size, n, fp),
			   w_gets(w, buf, n, fp));
}

/* ungetwc: the character's bytes go back in reverse order. */
static wint_t w_unget(struct shim_wide *w, wint_t wc, FILE *fp)
{
	char mb[MB_LEN_MAX];
	mbstate_t st;
	if (wc == WEOF)
		return WEOF;
	memset(&st, 0, sizeof st);
	size_t n = wcrtomb(mb, (wchar_t)wc, &st);
	if (n == (size_t)-1)
		return WEOF;
	w->orient = 1;
	while (n)
		if (ungetc((unsigned char)mb[--n], fp) == EOF)
			return WEOF;
	return wc;
}

SHIM_EXPORT wint_t ungetwc(wint_t wc, FILE *fp)
{
	WIDE_CALL(fp, SHIM_REAL(ungetwc)(wc, fp), wint_t, w_unget(w, wc, fp));
}

SHIM_EXPORT int vfwprintf(FILE *fp, const wchar_t *fmt, va_list ap)
{
	WIDE_CALL(fp, SHIM_REAL(vfwprintf)(fp, fmt, ap), int, w_vprintf(w, fp, fmt, ap));
}

SHIM_EXPORT int __vfwprintf_chk(FILE *fp, int flag, const wchar_t *fmt, va_list ap)
{
	WIDE_CALL(fp, SHIM_REAL(__vfwprintf_chk)(fp, flag, fmt, ap), int,
		  w_vprintf(w, fp, fmt, ap));
}

SHIM_EXPORT int fwprintf(FILE *fp, const wchar_t *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vfwprintf(fp, fmt, ap);
	va_end(ap);
	return r;
}

SHIM_EXPORT int __fwprintf_chk(FILE *fp, int flag, const wchar_t *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = __vfwprintf_chk(fp, flag, fmt, ap);
	va_end(ap);
	return r;
}

SHIM_EXPORT int vwprintf(const wchar_t *fmt, va_list ap)
{
	return vfwprintf(stdout, fmt, ap);
}

SHIM_EXPORT int __vwprintf_chk(int flag, const wchar_t *fmt, va_list ap)
{
	return __vfwprintf_chk(stdout, flag, fmt, ap);
}

SHIM_EXPORT int wprintf(const wchar_t *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vfwprintf(stdout, fmt, ap);
	va_end(ap);
	return r;
}

SHIM_EXPORT int __wprintf_chk(int flag, const wchar_t *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = __vfwprintf_chk(stdout, flag, fmt, ap);
	va_end(ap);
	return r;
}
