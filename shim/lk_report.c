/*
 * lk_report: the lock runtime's output.  Violation reports in two
 * formats (human, in the style of lockdep and TSan; JSON lines), the
 * suppression list, the summary, the order graph and the lockstat table
 * at exit.
 *
 * Shared state:
 *  - lk_supp (the suppression list): written once by lk_suppressions_load
 *    at init, before other threads run; read-only after, no lock;
 *  - lk_print.busy: an atomic flag that serializes the table printers
 *    (exit, SIGUSR2, lk_lockstat_print), whose sort scratch is static
 *    (order[], and top[]/top_key[] for the program-lock table); a printer
 *    that finds it taken skips its print;
 *  - lk_nbuf[], lk_cur_sym: thread-local (names of program locks, and the
 *    symbolizer session of the report the thread is writing).
 * Reports build their text on the caller's stack (struct shim_logbuf) and
 * take no shim lock; symbolization (libdw) runs here only.
 */
#include "shim/lk_report.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>              /* snprintf only: no FILE streams */
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim/lk_app.h"
#include "shim/lk_stack.h"
#include "shim/lk_stat.h"
#include "shim/log.h"

#define LK_SUPP_MAX 128
#define LK_SUPP_TEXT 8192

static struct {
	unsigned n;
	const char *pat[LK_SUPP_MAX];
	char text[LK_SUPP_TEXT];
} lk_supp;

#define LK_APP_TOP_MAX 10000     /* lockstat_max is clamped to it */

static struct {
	int busy;
	uint32_t order[LK_STAT_SITES_HARD > LK_CLASSES_HARD + 1 ?
		       LK_STAT_SITES_HARD : LK_CLASSES_HARD + 1];
	uint32_t top[LK_APP_TOP_MAX];                   /* program locks, best first */
	uint64_t top_key[LK_APP_TOP_MAX];
} lk_print;

static int lk_tid(void)
{
	return (int)syscall(SYS_gettid);
}

static const char *lk_name(const struct lk_lock *l)
{
	return l->name ? l->name : l->cls->name;
}

/* Names of program locks are built in a few rotating per-thread buffers. */
#define LK_NBUF 8
static __thread char lk_nbuf[LK_NBUF][160] __attribute__((tls_model("initial-exec")));
static __thread unsigned lk_nbuf_next __attribute__((tls_model("initial-exec")));

static char *lk_nbuf_take(void)
{
	return lk_nbuf[lk_nbuf_next++ % LK_NBUF];
}

/*
 * The symbolizer session of the report being written, if any: program
 * locks that are variables of a module (globals, statics) are then named
 * by their symbol as well ("mutex 0x55f1db9be180 (table_lock)").
 */
static __thread struct lk_sym *lk_cur_sym __attribute__((tls_model("initial-exec")));

/* " (name)" or " (name+off)" of a data address, "" when it has no symbol. */
static void lk_addr_symbol(uintptr_t addr, char *out, size_t cap)
{
	struct lk_frame f;

	out[0] = 0;
	if (!lk_cur_sym || !addr)
		return;
	lk_sym_resolve(lk_cur_sym, addr + 1, &f);       /* resolve takes return addresses */
	if (!f.func[0] || f.off == 0 || f.off - 1 > 4096)
		return;
	if (f.off == 1)
		snprintf(out, cap, " (%.60s)", f.func);
	else
		snprintf(out, cap, " (%.60s+%lu)", f.func, f.off - 1);
}

const char *lk_node_name(uint32_t id)
{
	if (lk_app_is_node(id)) {
		char *buf = lk_nbuf_take(), sym[80];
		size_t n;

		lk_app_node_name(id, buf, sizeof(lk_nbuf[0]));
		lk_addr_symbol(lk_app_node_addr(id), sym, sizeof(sym));
		n = strlen(buf);
		snprintf(buf + n, sizeof(lk_nbuf[0]) - n, "%s", sym);
		return buf;
	} else {
		const struct lk_class *c = lk_class_by_id((uint16_t)id);

		return c ? c->name : "?";
	}
}

static const char *lk_cname(uint32_t id)
{
	return lk_node_name(id);
}

/* A held entry of the program's locks (lk_app.c): by node, else by address. */
#define LK_HELD_APP_TYPE(h) (((h)->flags >> 8) & 15)

static bool hv_is_app(const struct lk_held *h)
{
	return (h->flags & LK_HELD_APP) != 0;
}

static const char *lk_app_held_name(const struct lk_held *h)
{
	char *buf;

	if (h->cls)
		return lk_node_name(h->cls);
	{
		char sym[80];

		buf = lk_nbuf_take();
		lk_addr_symbol((uintptr_t)h->lock, sym, sizeof(sym));
		snprintf(buf, sizeof(lk_nbuf[0]), "%s 0x%lx%s",
			 lk_app_type_name((enum lk_app_type)LK_HELD_APP_TYPE(h)), (unsigned long)h->lock, sym);
	}
	return buf;
}

/* ---- suppressions ---- */

/* Glob with * and ?, iterative with one backtrack point. */
static bool lk_glob(const char *p, const char *s)
{
	const char *star = NULL, *resume = NULL;

	while (*s) {
		if (*p == '*') {
			star = p++;
			resume = s;
		} else if (*p == '?' || *p == *s) {
			p++;
			s++;
		} else if (star) {
			p = star + 1;
			s = ++resume;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return *p == 0;
}

int lk_suppressions_load(const char *path, int *bad_line)
{
	long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	int lineno = 0;
	char *p;

	*bad_line = 0;
	if (fd < 0)
		return -errno;
	for (;;) {
		long n = syscall(SYS_read, fd, lk_supp.text + len, sizeof(lk_supp.text) - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof(lk_supp.text) - 1)
			break;
	}
	syscall(SYS_close, fd);
	if (len == sizeof(lk_supp.text) - 1)
		return -EFBIG;
	lk_supp.text[len] = 0;
	for (p = lk_supp.text; *p;) {
		char *nl = strchrnul(p, '\n'), *end = nl;
		char *next = *nl ? nl + 1 : nl;

		lineno++;
		*nl = 0;
		while (*p == ' ' || *p == '\t')
			p++;
		while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
			*--end = 0;
		if (*p && *p != '#') {
			if (strncmp(p, "lockorder:", 10) != 0 || !p[10] || lk_supp.n == LK_SUPP_MAX) {
				*bad_line = lineno;
				return -EINVAL;
			}
			lk_supp.pat[lk_supp.n++] = p + 10;
		}
		p = next;
	}
	return 0;
}

static bool lk_supp_pc(struct lk_sym *sym, uintptr_t pc)
{
	struct lk_frame f;

	if (!pc)
		return false;
	lk_sym_resolve(sym, pc, &f);
	for (unsigned i = 0; i < lk_supp.n; i++)
		if (f.func[0] && lk_glob(lk_supp.pat[i], f.func))
			return true;
	return false;
}

static bool lk_supp_stack(struct lk_sym *sym, uint32_t stack, uintptr_t pc, uintptr_t entry)
{
	const uintptr_t *pcs;
	unsigned n = lk_stack_get(stack, &pcs);

	for (unsigned i = 0; i < n; i++)
		if (lk_supp_pc(sym, pcs[i]))
			return true;
	return lk_supp_pc(sym, pc) || lk_supp_pc(sym, entry);
}

/* Does any frame of the report match a suppression? */
static bool lk_supp_order(struct lk_sym *sym, const struct lk_held_view *hv, uint32_t stack,
			  uintptr_t pc, uintptr_t entry, const struct lk_verdict *v)
{
	if (!lk_supp.n)
		return false;
	if (lk_supp_stack(sym, stack, pc, entry))
		return true;
	for (unsigned i = 0; i < v->nnew; i++) {
		const struct lk_conflict *c = &v->c[i];
		const struct lk_held *h = &hv->held[c->held];

		if (lk_supp_stack(sym, h->stack, h->pc, h->entry_pc))
			return true;
		for (unsigned k = 0; c->kind == LK_VIOL_CYCLE && k < c->path_len; k++) {
			const struct lk_edge *e = lk_valid_edge(v->path[c->path_off + k]);

			if (e && (lk_supp_stack(sym, e->stack, e->pc, 0) ||
				  lk_supp_stack(sym, e->held_stack, e->held_pc, e->held_entry)))
				return true;
		}
	}
	return false;
}

/* ---- JSON pieces ---- */

static void lk_json_str(struct shim_logbuf *b, const char *s)
{
	char out[600];
	size_t n = 0;

	if (!s) {
		shim_logbuf_printf(b, "null");
		return;
	}
	out[n++] = '"';
	for (; *s && n < sizeof(out) - 8; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\') {
			out[n++] = '\\';
			out[n++] = (char)ch;
		} else if (ch < 0x20) {
			n += (size_t)snprintf(out + n, sizeof(out) - n, "\\u%04x", ch);
		} else {
			out[n++] = (char)ch;
		}
	}
	out[n++] = '"';
	out[n] = 0;
	shim_logbuf_printf(b, "%s", out);
}

static void lk_json_frame(struct shim_logbuf *b, struct lk_sym *sym, uintptr_t pc)
{
	struct lk_frame f;

	lk_sym_resolve(sym, pc, &f);
	shim_logbuf_printf(b, "{\"pc\":\"0x%lx\",\"func\":", (unsigned long)pc);
	lk_json_str(b, f.func[0] ? f.func : NULL);
	shim_logbuf_printf(b, ",\"off\":%lu,\"module\":", f.off);
	lk_json_str(b, f.module[0] ? f.module : NULL);
	shim_logbuf_printf(b, ",\"file\":");
	lk_json_str(b, f.file);
	shim_logbuf_printf(b, ",\"line\":%d}", f.file ? f.line : 0);
}

/* "stack":[...] with the frames of stack, or pc (and entry) alone. */
static void lk_json_stack(struct shim_logbuf *b, struct lk_sym *sym, const char *key,
			  uint32_t stack, uintptr_t pc, uintptr_t entry)
{
	const uintptr_t *pcs;
	unsigned n = lk_stack_get(stack, &pcs);

	shim_logbuf_printf(b, "\"%s\":[", key);
	if (n == 0) {
		if (pc)
			lk_json_frame(b, sym, pc);
		if (pc && entry) {
			shim_logbuf_printf(b, ",");
			lk_json_frame(b, sym, entry);
		}
	}
	for (unsigned i = 0; i < n; i++) {
		if (i)
			shim_logbuf_printf(b, ",");
		lk_json_frame(b, sym, pcs[i]);
	}
	shim_logbuf_printf(b, "],\"%s_complete\":%s", key, n ? "true" : "false");
}

static void lk_json_lock(struct shim_logbuf *b, const struct lk_lock *l)
{
	shim_logbuf_printf(b, "\"lock\":");
	lk_json_str(b, lk_name(l));
	shim_logbuf_printf(b, ",\"class\":");
	lk_json_str(b, l->cls->name);
	if (l->cls->rank == LK_RANK_NONE)
		shim_logbuf_printf(b, ",\"rank\":null");
	else
		shim_logbuf_printf(b, ",\"rank\":%d", l->cls->rank);
}

/* A program lock: its name, type as the class, no rank, address, mode. */
static void lk_json_app_lock(struct shim_logbuf *b, const char *name, unsigned type,
			     const void *addr, bool read)
{
	shim_logbuf_printf(b, "\"lock\":");
	lk_json_str(b, name);
	shim_logbuf_printf(b, ",\"class\":");
	lk_json_str(b, lk_app_type_name((enum lk_app_type)type));
	shim_logbuf_printf(b, ",\"rank\":null,\"addr\":\"0x%lx\",\"mode\":\"%s\"",
			   (unsigned long)addr, read ? "read" : "write");
}

/* ---- human pieces ---- */

static void lk_put_lock(struct shim_logbuf *b, const char *what, const struct lk_lock *l,
			const char *tail)
{
	if (l->cls->rank == LK_RANK_NONE)
		shim_logbuf_printf(b, "  %s\"%s\" (class %s, unranked)%s\n", what, lk_name(l),
				   l->cls->name, tail);
	else
		shim_logbuf_printf(b, "  %s\"%s\" (class %s, rank %d)%s\n", what, lk_name(l),
				   l->cls->name, l->cls->rank, tail);
}

/*
 * The frames of stack; without one, the caller pc and the program's call
 * into the shim (entry), which is what the cheap held records keep.
 */
static void lk_put_stack(struct shim_logbuf *b, struct lk_sym *sym, uint32_t stack,
			 uintptr_t pc, uintptr_t entry)
{
	const uintptr_t *pcs;
	unsigned n = lk_stack_get(stack, &pcs);
	char line[512];

	if (n == 0) {
		lk_sym_format(sym, pc, line, sizeof(line));
		shim_logbuf_printf(b, "    #0 0x%012lx %s\n", (unsigned long)pc, line);
		if (entry) {
			lk_sym_format(sym, entry, line, sizeof(line));
			shim_logbuf_printf(b, "    from 0x%012lx %s (the program's call into the shim)\n",
					   (unsigned long)entry, line);
		}
		shim_logbuf_printf(b, "    (caller only: no stack was captured, see held_stacks)\n");
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		lk_sym_format(sym, pcs[i], line, sizeof(line));
		shim_logbuf_printf(b, "    #%u 0x%012lx %s\n", i, (unsigned long)pcs[i], line);
	}
}

static void lk_put_held_entry(struct shim_logbuf *b, struct lk_sym *sym,
			      const struct lk_held *h, const char *what)
{
	if (hv_is_app(h)) {
		shim_logbuf_printf(b, "  %s\"%s\"%s%s\n", what, lk_app_held_name(h),
				   h->flags & LK_HELD_READ ? " (for reading)" : "",
				   h->flags & LK_HELD_TRY ? ", taken by trylock at:" : ", taken at:");
		lk_put_stack(b, sym, h->stack, h->pc, 0);
		return;
	}
	lk_put_lock(b, what, h->lock,
		    h->flags & LK_HELD_TRY ? ", taken by trylock at:" : ", taken at:");
	lk_put_stack(b, sym, h->stack, h->pc, h->entry_pc);
}

/* Long held lists name the first and the last locks only. */
#define LK_HELD_LIST_MAX 16

static void lk_put_held_list(struct shim_logbuf *b, const struct lk_held_view *hv)
{
	shim_logbuf_printf(b, "  locks held by this thread (%u):", hv->nheld + hv->overflow);
	for (unsigned i = 0; i < hv->nheld; i++) {
		if (hv->nheld > LK_HELD_LIST_MAX && i == LK_HELD_LIST_MAX / 2) {
			shim_logbuf_printf(b, ", ... %u more ...", hv->nheld - LK_HELD_LIST_MAX);
			i = hv->nheld - LK_HELD_LIST_MAX / 2;
		}
		shim_logbuf_printf(b, "%s %s", i ? "," : "",
				   hv_is_app(&hv->held[i]) ? lk_app_held_name(&hv->held[i]) :
				   lk_name((const struct lk_lock *)hv->held[i].lock));
	}
	if (hv->overflow)
		shim_logbuf_printf(b, ", and %u not recorded", hv->overflow);
	shim_logbuf_printf(b, "\n");
}

/* The known ranked classes from rank lo to rank hi, in order. */
static unsigned lk_hierarchy(struct lk_class **c, int lo, int hi)
{
	unsigned n = lk_nclasses(), k = 0;

	for (unsigned id = 1; id <= n && k < 64; id++) {
		struct lk_class *x = lk_class_by_id((uint16_t)id);
		unsigned j;

		if (!x || x->rank == LK_RANK_NONE || x->rank < lo || x->rank > hi)
			continue;
		for (j = k++; j > 0 && c[j - 1]->rank > x->rank; j--)
			c[j] = c[j - 1];
		c[j] = x;
	}
	return k;
}

static void lk_put_hierarchy(struct shim_logbuf *b, int lo, int hi)
{
	struct lk_class *c[64];
	unsigned k = lk_hierarchy(c, lo, hi);

	shim_logbuf_printf(b, "  hierarchy:");
	for (unsigned i = 0; i < k; i++)
		shim_logbuf_printf(b, "%s %s", i ? " ->" : "", c[i]->name);
	shim_logbuf_printf(b, " (a lock may only be taken below the locks held)\n");
}

/* The gate class shared by every edge of a cycle, 0 if none. */
static uint32_t lk_cycle_gate(const struct lk_verdict *v, const struct lk_conflict *c)
{
	uint32_t gate = 0;

	if (c->path_len < c->path_total)
		return 0;
	for (unsigned k = 0; k < c->path_len; k++) {
		const struct lk_edge *e = lk_valid_edge(v->path[c->path_off + k]);

		if (!e || !e->gate || (gate && e->gate != gate))
			return 0;
		gate = e->gate;
	}
	return gate;
}

/*
 * Long cycles stay readable: the lock line names the first and the last
 * LK_CYCLE_ENDS locks with a count between, and first-seen stacks are
 * printed for the first LK_CYCLE_STACKS - 1 edges after this one and the
 * last one; the other edges are listed by name only.
 */
#define LK_CYCLE_ENDS 6
#define LK_CYCLE_STACKS 4

static void lk_put_cycle(struct shim_logbuf *b, struct lk_sym *sym, const struct lk_verdict *v,
			 const struct lk_conflict *c)
{
	const struct lk_edge *first = lk_valid_edge(v->path[c->path_off]);
	uint32_t gate = lk_cycle_gate(v, c);
	unsigned elided = 0;

	if (!first)
		return;
	shim_logbuf_printf(b, "  cycle of %u %s: %s", c->path_total,
			   lk_app_is_node(first->from) ? "locks" : "lock classes", lk_cname(first->from));
	for (unsigned k = 0; k < c->path_len; k++) {
		const struct lk_edge *e = lk_valid_edge(v->path[c->path_off + k]);

		if (c->path_len > 2 * LK_CYCLE_ENDS && k == LK_CYCLE_ENDS) {
			shim_logbuf_printf(b, " -> ... (%u more) ...",
					   (c->cut ? c->path_total : c->path_len) - 2 * LK_CYCLE_ENDS);
			k = c->path_len - LK_CYCLE_ENDS;
			e = lk_valid_edge(v->path[c->path_off + k]);
		}
		shim_logbuf_printf(b, " -> %s", e ? lk_cname(e->to) : "?");
	}
	if (c->path_len < c->path_total && !c->cut)
		shim_logbuf_printf(b, " ... (%u more edges)", c->path_total - c->path_len);
	shim_logbuf_printf(b, "\n  edge %s -> %s: this acquisition (stacks above)\n",
			   lk_cname(first->from), lk_cname(first->to));
	for (unsigned k = 1; k < c->path_len; k++) {
		const struct lk_edge *e = lk_valid_edge(v->path[c->path_off + k]);

		if (!e)
			continue;
		if (k >= LK_CYCLE_STACKS && k + 1 < c->path_len) {
			if (!elided++)
				shim_logbuf_printf(b, "  edges %u to %u of the cycle: first-seen stacks not shown\n",
						   k + 1, (c->cut ? c->path_total : c->path_len) - 1);
			continue;
		}
		shim_logbuf_printf(b, "  edge %s -> %s, first seen in thread %d, %s acquired at:\n",
				   lk_cname(e->from), lk_cname(e->to), e->tid, lk_cname(e->to));
		lk_put_stack(b, sym, e->stack, e->pc, 0);
		shim_logbuf_printf(b, "  edge %s -> %s, first seen in thread %d, %s %s at:\n",
				   lk_cname(e->from), lk_cname(e->to), e->tid, lk_cname(e->from),
				   e->flags & LK_EDGE_TRYHELD ? "held (taken by trylock)" : "held, taken");
		lk_put_stack(b, sym, e->held_stack, e->held_pc, e->held_entry);
	}
	if (gate)
		shim_logbuf_printf(b, "  note: every edge of this cycle was first seen while a lock of class %s was held; "
				   "if every path takes it first (a gate lock), this cannot deadlock: "
				   "suppress it with lockorder:FUNCTION\n", lk_cname(gate));
}

/* A rank violation held -> cls: where the right order cls -> held was first seen, if ever. */
static void lk_put_opposite(struct shim_logbuf *b, struct lk_sym *sym, uint32_t held, uint32_t cls)
{
	const struct lk_edge *e = lk_valid_edge(lk_valid_find_edge(cls, held));

	if (!e)
		return;
	shim_logbuf_printf(b, "  the opposite order %s -> %s was first seen in thread %d, %s acquired at:\n",
			   lk_cname(cls), lk_cname(held), e->tid, lk_cname(held));
	lk_put_stack(b, sym, e->stack, e->pc, 0);
}

static void lk_report_end(struct shim_logbuf *b, struct lk_sym *sym)
{
	if (!lk_config.json)
		shim_logbuf_printf(b, "==vadshim== end of report\n");
	shim_logbuf_flush(b);
	lk_cur_sym = NULL;
	lk_sym_close(sym);
	lk_halt_if_asked();
}

/* ---- order violations ---- */

static void lk_human_order(struct shim_logbuf *b, struct lk_sym *sym,
			   const struct lk_held_view *hv, const struct lk_lock *l,
			   uint32_t stack, uintptr_t pc, uintptr_t entry,
			   const struct lk_verdict *v)
{
	bool rank = false, shown[LK_MAX_HELD] = { false };
	int hi = l->cls->rank;

	for (unsigned i = 0; i < v->nnew; i++)
		rank |= v->c[i].kind == LK_VIOL_RANK;
	shim_logbuf_printf(b, "==vadshim== WARNING: lock-order violation (%s) in thread %d\n",
			   rank ? "rank" : "cycle", lk_tid());
	lk_put_lock(b, "acquiring ", l, " at:");
	lk_put_stack(b, sym, stack, pc, entry);
	for (unsigned i = 0; i < v->nnew; i++) {
		const struct lk_held *h = &hv->held[v->c[i].held];

		if (!shown[v->c[i].held])
			lk_put_held_entry(b, sym, h, "while holding ");
		shown[v->c[i].held] = true;
		if (v->c[i].kind == LK_VIOL_CYCLE) {
			lk_put_cycle(b, sym, v, &v->c[i]);
			continue;
		}
		if (h->rank > hi)
			hi = h->rank;
		lk_put_opposite(b, sym, h->cls, l->cls->id);
	}
	lk_put_held_list(b, hv);
	for (unsigned i = 0; i < hv->nheld; i++)
		if (!shown[i])
			lk_put_held_entry(b, sym, &hv->held[i], "also holding ");
	if (rank)
		lk_put_hierarchy(b, l->cls->rank, hi);
}

static void lk_json_edge(struct shim_logbuf *b, struct lk_sym *sym, const struct lk_edge *e,
			 bool fresh)
{
	shim_logbuf_printf(b, "{\"from\":");
	lk_json_str(b, lk_cname(e->from));
	shim_logbuf_printf(b, ",\"to\":");
	lk_json_str(b, lk_cname(e->to));
	shim_logbuf_printf(b, ",\"tid\":%d,\"new\":%s,", e->tid, fresh ? "true" : "false");
	lk_json_stack(b, sym, "stack", e->stack, e->pc, 0);
	shim_logbuf_printf(b, ",");
	lk_json_stack(b, sym, "held_stack", e->held_stack, e->held_pc, e->held_entry);
	shim_logbuf_printf(b, "}");
}

static void lk_json_held(struct shim_logbuf *b, struct lk_sym *sym, const struct lk_held_view *hv)
{
	shim_logbuf_printf(b, "\"held\":[");
	for (unsigned i = 0; i < hv->nheld; i++) {
		const struct lk_held *h = &hv->held[i];

		shim_logbuf_printf(b, "%s{", i ? "," : "");
		if (hv_is_app(h))
			lk_json_app_lock(b, lk_app_held_name(h), LK_HELD_APP_TYPE(h), h->lock,
					 h->flags & LK_HELD_READ);
		else
			lk_json_lock(b, h->lock);
		shim_logbuf_printf(b, ",\"trylock\":%s,", h->flags & LK_HELD_TRY ? "true" : "false");
		lk_json_stack(b, sym, "stack", h->stack, h->pc, hv_is_app(h) ? 0 : h->entry_pc);
		shim_logbuf_printf(b, "}");
	}
	shim_logbuf_printf(b, "],\"held_not_recorded\":%u", hv->overflow);
}

static void lk_json_order(struct shim_logbuf *b, struct lk_sym *sym,
			  const struct lk_held_view *hv, const struct lk_lock *l,
			  uint32_t stack, uintptr_t pc, uintptr_t entry,
			  const struct lk_verdict *v)
{
	bool rank = false;
	int hi = l->cls->rank;

	for (unsigned i = 0; i < v->nnew; i++)
		rank |= v->c[i].kind == LK_VIOL_RANK;
	shim_logbuf_printf(b, "{\"type\":\"violation\",\"kind\":\"%s\",\"pid\":%d,\"tid\":%d,\"acquiring\":{",
			   rank ? "rank" : "cycle", (int)getpid(), lk_tid());
	lk_json_lock(b, l);
	shim_logbuf_printf(b, ",");
	lk_json_stack(b, sym, "stack", stack, pc, entry);
	shim_logbuf_printf(b, "},");
	lk_json_held(b, sym, hv);
	shim_logbuf_printf(b, ",\"conflicts\":[");
	for (unsigned i = 0; i < v->nnew; i++) {
		const struct lk_conflict *c = &v->c[i];
		const struct lk_held *h = &hv->held[c->held];

		shim_logbuf_printf(b, "%s{\"kind\":\"%s\",\"held\":", i ? "," : "",
				   c->kind == LK_VIOL_RANK ? "rank" : "cycle");
		lk_json_str(b, lk_name(h->lock));
		shim_logbuf_printf(b, ",\"held_class\":");
		lk_json_str(b, lk_cname(h->cls));
		if (c->kind == LK_VIOL_RANK) {
			const struct lk_edge *e = lk_valid_edge(lk_valid_find_edge(l->cls->id, h->cls));

			if (h->rank > hi)
				hi = h->rank;
			shim_logbuf_printf(b, ",\"opposite\":");
			if (e)
				lk_json_edge(b, sym, e, false);
			else
				shim_logbuf_printf(b, "null");
		}
		if (c->kind == LK_VIOL_CYCLE) {
			uint32_t gate = lk_cycle_gate(v, c);

			shim_logbuf_printf(b, ",\"length\":%u,\"gate\":", c->path_total);
			lk_json_str(b, gate ? lk_cname(gate) : NULL);
			shim_logbuf_printf(b, ",\"edges\":[");
			for (unsigned k = 0; k < c->path_len; k++) {
				const struct lk_edge *e = lk_valid_edge(v->path[c->path_off + k]);

				if (k)
					shim_logbuf_printf(b, ",");
				if (e)
					lk_json_edge(b, sym, e, k == 0);
			}
			shim_logbuf_printf(b, "]");
		}
		shim_logbuf_printf(b, "}");
	}
	shim_logbuf_printf(b, "],\"hierarchy\":[");
	if (rank) {
		struct lk_class *c[64];
		unsigned k = lk_hierarchy(c, l->cls->rank, hi);

		for (unsigned i = 0; i < k; i++) {
			if (i)
				shim_logbuf_printf(b, ",");
			lk_json_str(b, c[i]->name);
		}
	}
	shim_logbuf_printf(b, "]}\n");
}

static void lk_suppress_all(const struct lk_held_view *hv, const struct lk_verdict *v,
			    uint32_t cls)
{
	for (unsigned i = 0; i < v->nnew; i++) {
		const struct lk_conflict *c = &v->c[i];

		if (c->kind == LK_VIOL_CYCLE) {
			const struct lk_edge *e = lk_valid_edge(v->path[c->path_off]);

			if (e)
				lk_valid_suppress(LK_VIOL_CYCLE, e->from, e->to);
		} else {
			lk_valid_suppress((enum lk_viol_kind)c->kind, hv->held[c->held].cls, cls);
		}
	}
}

void lk_report_order(const struct lk_held_view *hv, const struct lk_lock *l,
		     uint32_t stack, uintptr_t pc, uintptr_t entry,
		     const struct lk_verdict *v)
{
	struct shim_logbuf b = { .len = 0 };
	struct lk_sym sym;

	lk_sym_open(&sym);
	if (lk_supp_order(&sym, hv, stack, pc, entry, v)) {
		lk_suppress_all(hv, v, l->cls->id);
		lk_sym_close(&sym);
		return;
	}
	if (lk_config.json)
		lk_json_order(&b, &sym, hv, l, stack, pc, entry, v);
	else
		lk_human_order(&b, &sym, hv, l, stack, pc, entry, v);
	lk_report_end(&b, &sym);
}

/* ---- recursive locking, bad unlock ---- */

void lk_report_recursive(const struct lk_held_view *hv, const struct lk_lock *l,
			 uint32_t stack, uintptr_t pc, uintptr_t entry)
{
	struct shim_logbuf b = { .len = 0 };
	const struct lk_held *h = NULL;
	struct lk_sym sym;

	for (unsigned i = hv->nheld; i-- > 0 && !h;)
		if (hv->held[i].lock == l)
			h = &hv->held[i];
	lk_sym_open(&sym);
	if (lk_supp.n && (lk_supp_stack(&sym, stack, pc, entry) ||
			  (h && lk_supp_stack(&sym, h->stack, h->pc, h->entry_pc)))) {
		lk_valid_suppress(LK_VIOL_RECURSIVE, l->cls->id, l->cls->id);
		lk_sym_close(&sym);
		return;
	}
	if (lk_config.json) {
		shim_logbuf_printf(&b, "{\"type\":\"violation\",\"kind\":\"recursive\",\"pid\":%d,\"tid\":%d,\"acquiring\":{",
				   (int)getpid(), lk_tid());
		lk_json_lock(&b, l);
		shim_logbuf_printf(&b, ",");
		lk_json_stack(&b, &sym, "stack", stack, pc, entry);
		shim_logbuf_printf(&b, "},");
		lk_json_held(&b, &sym, hv);
		shim_logbuf_printf(&b, "}\n");
		lk_report_end(&b, &sym);
		return;
	}
	shim_logbuf_printf(&b, "==vadshim== WARNING: recursive locking (self-deadlock) in thread %d\n",
			   lk_tid());
	lk_put_lock(&b, "acquiring ", l, " at:");
	lk_put_stack(&b, &sym, stack, pc, entry);
	if (h)
		lk_put_held_entry(&b, &sym, h, "which this thread already holds: ");
	else
		lk_put_lock(&b, "which this thread already holds: ", l, " (not recorded)");
	shim_logbuf_printf(&b, "  class %s is not recursive: this thread will wait for itself\n",
			   l->cls->name);
	lk_put_held_list(&b, hv);
	lk_report_end(&b, &sym);
}

void lk_report_bad_unlock(const struct lk_lock *l, uintptr_t pc, uintptr_t entry)
{
	struct shim_logbuf b = { .len = 0 };
	struct lk_sym sym;
	char where[512];
	const char *why = atomic_load_explicit(&l->owner, memory_order_relaxed) ?
		"another thread holds it" : "it is not locked";

	lk_sym_open(&sym);
	if (lk_supp.n && lk_supp_stack(&sym, 0, pc, entry)) {
		lk_valid_suppress(LK_VIOL_BAD_UNLOCK, 0, l->cls->id);
		lk_sym_close(&sym);
		return;
	}
	if (lk_config.json) {
		shim_logbuf_printf(&b, "{\"type\":\"violation\",\"kind\":\"bad_unlock\",\"pid\":%d,\"tid\":%d,\"why\":\"%s\",\"unlocking\":{",
				   (int)getpid(), lk_tid(), why);
		lk_json_lock(&b, l);
		shim_logbuf_printf(&b, ",");
		lk_json_stack(&b, &sym, "stack", 0, pc, entry);
		shim_logbuf_printf(&b, "}}\n");
	} else {
		lk_sym_format(&sym, pc, where, sizeof(where));
		shim_logbuf_printf(&b, "==vadshim== WARNING: unlock of \"%s\" (class %s) not held by thread %d (%s) at 0x%lx %s\n",
				   lk_name(l), l->cls->name, lk_tid(), why, (unsigned long)pc, where);
	}
	shim_logbuf_flush(&b);
	lk_sym_close(&sym);
	lk_halt_if_asked();
}

/* ---- the program's locks (lockdep=app) ---- */

static int lk_app_report_begin(struct lk_sym *sym, const struct lk_held_view *hv, uint32_t stack,
			       uintptr_t pc, const struct lk_verdict *v)
{
	lk_sym_open(sym);
	lk_cur_sym = sym;
	if (v ? lk_supp_order(sym, hv, stack, pc, 0, v) : (lk_supp.n && lk_supp_stack(sym, stack, pc, 0))) {
		lk_sym_close(sym);
		return -1;
	}
	return 0;
}

void lk_report_app_order(const struct lk_held_view *hv, const void *lock, uint32_t node,
			 unsigned how, uint32_t stack, uintptr_t pc, const struct lk_verdict *v)
{
	struct shim_logbuf b = { .len = 0 };
	bool shown[64] = { false };
	struct lk_sym sym;

	if (lk_app_report_begin(&sym, hv, stack, pc, v) != 0) {
		lk_cur_sym = NULL;
		lk_suppress_all(hv, v, node);
		return;
	}
	if (lk_config.json) {
		shim_logbuf_printf(&b, "{\"type\":\"violation\",\"kind\":\"cycle\",\"program_lock\":true,\"pid\":%d,\"tid\":%d,\"acquiring\":{",
				   (int)getpid(), lk_tid());
		lk_json_app_lock(&b, lk_node_name(node), lk_app_type_of_node(node), lock,
				 how & LK_APP_READ);
		shim_logbuf_printf(&b, ",\"cond_wait\":%s,", how & LK_APP_WAIT ? "true" : "false");
		lk_json_stack(&b, &sym, "stack", stack, pc, 0);
		shim_logbuf_printf(&b, "},");
		lk_json_held(&b, &sym, hv);
		shim_logbuf_printf(&b, ",\"conflicts\":[");
		for (unsigned i = 0; i < v->nnew; i++) {
			const struct lk_conflict *c = &v->c[i];

			shim_logbuf_printf(&b, "%s{\"kind\":\"cycle\",\"held\":", i ? "," : "");
			lk_json_str(&b, lk_app_held_name(&hv->held[c->held]));
			shim_logbuf_printf(&b, ",\"held_class\":");
			lk_json_str(&b, lk_app_type_name((enum lk_app_type)LK_HELD_APP_TYPE(&hv->held[c->held])));
			shim_logbuf_printf(&b, ",\"length\":%u,\"edges_left_out\":%u,\"left_out_at\":%u,\"gate\":",
					   c->path_total, c->path_total - c->path_len, c->cut);
			lk_json_str(&b, lk_cycle_gate(v, c) ? lk_cname(lk_cycle_gate(v, c)) : NULL);
			shim_logbuf_printf(&b, ",\"edges\":[");
			for (unsigned k = 0; k < c->path_len; k++) {
				const struct lk_edge *e = lk_valid_edge(v->path[c->path_off + k]);

				if (k)
					shim_logbuf_printf(&b, ",");
				if (e)
					lk_json_edge(&b, &sym, e, k == 0);
			}
			shim_logbuf_printf(&b, "]}");
		}
		shim_logbuf_printf(&b, "],\"hierarchy\":[]}\n");
		lk_report_end(&b, &sym);
		return;
	}
	shim_logbuf_printf(&b, "==vadshim== WARNING: lock-order violation (cycle) in thread %d\n", lk_tid());
	shim_logbuf_printf(&b, "  acquiring \"%s\"%s (program lock%s) at:\n", lk_node_name(node),
			   how & LK_APP_READ ? " for reading" : "",
			   how & LK_APP_WAIT ? "; the relock at the end of a condition wait" : "");
	lk_put_stack(&b, &sym, stack, pc, 0);
	for (unsigned i = 0; i < v->nnew; i++) {
		unsigned k = v->c[i].held;

		if (k < 64 && !shown[k])
			lk_put_held_entry(&b, &sym, &hv->held[k], "while holding ");
		if (k < 64)
			shown[k] = true;
		lk_put_cycle(&b, &sym, v, &v->c[i]);
	}
	lk_put_held_list(&b, hv);
	for (unsigned i = 0, extra = 0; i < hv->nheld && i < 64; i++) {
		if (shown[i])
			continue;
		if (extra++ == 4) {
			shim_logbuf_printf(&b, "  (where the other held locks were taken: not shown)\n");
			break;
		}
		lk_put_held_entry(&b, &sym, &hv->held[i], "also holding ");
	}
	lk_report_end(&b, &sym);
}

static const char *lk_app_self_why(unsigned type, unsigned how, const struct lk_held *h)
{
	bool held_read = h && (h->flags & LK_HELD_READ), read = how & LK_APP_READ;

	switch ((enum lk_app_type)type) {
	case LK_APP_MUTEX_ERRORCHECK:
		return "an errorcheck mutex locked again by its owner: the call fails with EDEADLK";
	case LK_APP_RWLOCK:
	case LK_APP_RWLOCK_WRITER:
		if (!held_read)
			return "this thread holds it for writing: the call fails with EDEADLK";
		if (!read)
			return "this thread holds it for reading: a write lock waits for this thread itself";
		return "a writer-preferring rwlock read-locked again: it waits behind any queued writer, which waits for this thread";
	case LK_APP_SPIN:
		return "a spinlock is not recursive: this thread will spin on itself";
	default:
		return "the mutex is not recursive: this thread will wait for itself";
	}
}

void lk_report_app_recursive(const struct lk_held_view *hv, const void *lock, uint32_t node,
			     unsigned type, unsigned how, const struct lk_held *h,
			     uint32_t stack, uintptr_t pc)
{
	struct shim_logbuf b = { .len = 0 };
	struct lk_sym sym;
	bool errck = type == LK_APP_MUTEX_ERRORCHECK;

	lk_sym_open(&sym);
	lk_cur_sym = &sym;
	if (lk_supp.n && (lk_supp_stack(&sym, stack, pc, 0) ||
			  (h && lk_supp_stack(&sym, h->stack, h->pc, 0)))) {
		lk_valid_suppress(LK_VIOL_RECURSIVE, node, node);
		lk_cur_sym = NULL;
		lk_sym_close(&sym);
		return;
	}
	if (lk_config.json) {
		shim_logbuf_printf(&b, "{\"type\":\"violation\",\"kind\":\"recursive\",\"program_lock\":true,\"errorcheck\":%s,\"pid\":%d,\"tid\":%d,\"why\":",
				   errck ? "true" : "false", (int)getpid(), lk_tid());
		lk_json_str(&b, lk_app_self_why(type, how, h));
		shim_logbuf_printf(&b, ",\"acquiring\":{");
		lk_json_app_lock(&b, lk_node_name(node), type, lock, how & LK_APP_READ);
		shim_logbuf_printf(&b, ",");
		lk_json_stack(&b, &sym, "stack", stack, pc, 0);
		shim_logbuf_printf(&b, "},");
		lk_json_held(&b, &sym, hv);
		shim_logbuf_printf(&b, "}\n");
		lk_report_end(&b, &sym);
		return;
	}
	shim_logbuf_printf(&b, "==vadshim== WARNING: %s in thread %d\n",
			   errck ? "relock of an errorcheck mutex" : "recursive locking (self-deadlock)",
			   lk_tid());
	shim_logbuf_printf(&b, "  acquiring \"%s\"%s (program lock) at:\n", lk_node_name(node),
			   how & LK_APP_READ ? " for reading" : "");
	lk_put_stack(&b, &sym, stack, pc, 0);
	if (h)
		lk_put_held_entry(&b, &sym, h, "which this thread already holds: ");
	shim_logbuf_printf(&b, "  %s\n", lk_app_self_why(type, how, h));
	lk_put_held_list(&b, hv);
	lk_report_end(&b, &sym);
}

void lk_report_app_bad_unlock(const void *lock, uint32_t node, unsigned type, uintptr_t pc)
{
	struct shim_logbuf b = { .len = 0 };
	struct lk_sym sym;
	char where[512];
	const char *why = type == LK_APP_MUTEX_ERRORCHECK ?
		"not held by this thread: the call fails with EPERM" : "not held by this thread";

	lk_sym_open(&sym);
	lk_cur_sym = &sym;
	if (lk_supp.n && lk_supp_stack(&sym, 0, pc, 0)) {
		lk_valid_suppress(LK_VIOL_BAD_UNLOCK, 0, node);
		lk_cur_sym = NULL;
		lk_sym_close(&sym);
		return;
	}
	if (lk_config.json) {
		shim_logbuf_printf(&b, "{\"type\":\"violation\",\"kind\":\"bad_unlock\",\"program_lock\":true,\"pid\":%d,\"tid\":%d,\"why\":\"%s\",\"unlocking\":{",
				   (int)getpid(), lk_tid(), why);
		lk_json_app_lock(&b, lk_node_name(node), type, lock, false);
		shim_logbuf_printf(&b, ",");
		lk_json_stack(&b, &sym, "stack", 0, pc, 0);
		shim_logbuf_printf(&b, "}}\n");
	} else {
		lk_sym_format(&sym, pc, where, sizeof(where));
		shim_logbuf_printf(&b, "==vadshim== WARNING: unlock of \"%s\" (program lock) in thread %d, %s, at 0x%lx %s\n",
				   lk_node_name(node), lk_tid(), why, (unsigned long)pc, where);
	}
	shim_logbuf_flush(&b);
	lk_cur_sym = NULL;
	lk_sym_close(&sym);
	lk_halt_if_asked();
}

/* ---- the summary ---- */

struct lk_summary {
	struct shim_logbuf *b;      /* NULL: count only */
	bool json;
	unsigned occurrences, supp_occurrences, listed;
};

static void lk_summary_visit(enum lk_viol_kind kind, uint32_t held_cls, uint32_t cls,
			     unsigned occurrences, bool suppressed, void *arg)
{
	struct lk_summary *s = arg;
	const char *sep = s->listed ? "," : "";

	if (!s->b) {
		if (suppressed)
			s->supp_occurrences += occurrences;
		else
			s->occurrences += occurrences;
		return;
	}
	if (s->json) {
		shim_logbuf_printf(s->b, "%s{\"kind\":\"%s\",\"held_class\":", sep,
				   kind == LK_VIOL_BAD_UNLOCK ? "bad_unlock" :
				   kind == LK_VIOL_RECURSIVE ? "recursive" : lk_valid_kind_name(kind));
		lk_json_str(s->b, held_cls ? lk_cname(held_cls) : NULL);
		shim_logbuf_printf(s->b, ",\"class\":");
		lk_json_str(s->b, lk_cname(cls));
		shim_logbuf_printf(s->b, ",\"count\":%u,\"suppressed\":%s}", occurrences,
				   suppressed ? "true" : "false");
		s->listed++;
		return;
	}
	if (suppressed)
		return;
	s->listed++;
	if (kind == LK_VIOL_RANK || kind == LK_VIOL_CYCLE)
		shim_logbuf_printf(s->b, "%s %s %s -> %s x%u", sep, lk_valid_kind_name(kind),
				   lk_cname(held_cls), lk_cname(cls), occurrences);
	else
		shim_logbuf_printf(s->b, "%s %s of %s x%u", sep, lk_valid_kind_name(kind),
				   lk_cname(cls), occurrences);
}

static void lk_print_summary(void)
{
	struct shim_logbuf b = { .len = 0 };
	struct lk_summary s = { .b = NULL };
	unsigned distinct = lk_valid_distinct() - lk_valid_suppressed();

	lk_valid_foreach(lk_summary_visit, &s);
	if (lk_config.json) {
		shim_logbuf_printf(&b, "{\"type\":\"summary\",\"pid\":%d,\"distinct\":%u,\"occurrences\":%u,"
				   "\"suppressed\":%u,\"suppressed_occurrences\":%u,\"lost\":%u,"
				   "\"edges\":%u,\"edges_lost\":%u,\"violations\":[",
				   (int)getpid(), distinct, s.occurrences, lk_valid_suppressed(),
				   s.supp_occurrences, lk_valid_lost(), lk_valid_nedges(),
				   lk_valid_edges_lost());
		s.b = &b;
		s.json = true;
		lk_valid_foreach(lk_summary_visit, &s);
		shim_logbuf_printf(&b, "]}\n");
		shim_logbuf_flush(&b);
		return;
	}
	if (!distinct && !lk_valid_lost())
		return;
	shim_logbuf_printf(&b, "==vadshim== SUMMARY: %u distinct lock violation%s (%u occurrence%s):",
			   distinct, distinct == 1 ? "" : "s", s.occurrences,
			   s.occurrences == 1 ? "" : "s");
	s.b = &b;
	lk_valid_foreach(lk_summary_visit, &s);
	if (lk_valid_lost())
		shim_logbuf_printf(&b, "; %u more not recorded (table full)", lk_valid_lost());
	if (lk_valid_suppressed())
		shim_logbuf_printf(&b, "; %u suppressed (%u occurrence%s)", lk_valid_suppressed(),
				   s.supp_occurrences, s.supp_occurrences == 1 ? "" : "s");
	shim_logbuf_printf(&b, "\n");
	shim_logbuf_flush(&b);
}

/* ---- the graph (JSON) ---- */

/* Edges between program locks listed in the graph at most (violations always). */
#define LK_GRAPH_APP_EDGES 2000

static void lk_print_graph(struct lk_sym *sym)
{
	struct shim_logbuf b = { .len = 0 };
	unsigned nc = lk_nclasses(), ne = lk_valid_nedges(), app_edges = 0, app_listed = 0;

	shim_logbuf_printf(&b, "{\"type\":\"graph\",\"pid\":%d,\"nodes\":[", (int)getpid());
	for (unsigned id = 1; id <= nc; id++) {
		const struct lk_class *c = lk_class_by_id((uint16_t)id);
		const struct lk_stat_row *r = lk_stat_class_row((uint16_t)id);

		shim_logbuf_printf(&b, "%s{\"id\":%u,\"class\":", id > 1 ? "," : "", id);
		lk_json_str(&b, c ? c->name : "?");
		if (!c || c->rank == LK_RANK_NONE)
			shim_logbuf_printf(&b, ",\"rank\":null");
		else
			shim_logbuf_printf(&b, ",\"rank\":%d", c->rank);
		shim_logbuf_printf(&b, ",\"acquisitions\":%llu}",
				   (unsigned long long)__atomic_load_n(&r->acq, __ATOMIC_RELAXED));
	}
	shim_logbuf_printf(&b, "],\"edges\":[");
	for (unsigned id = 1, listed = 0; id <= ne; id++) {
		const struct lk_edge *e = lk_valid_edge(id);
		unsigned occ = 0;
		const char *viol = NULL;

		if (!e)
			continue;       /* freed: its program lock is gone */
		/* program locks: the edges of violations, and the first others */
		if (lk_app_is_node(e->from) || lk_app_is_node(e->to)) {
			app_edges++;
			if (!(e->flags & LK_EDGE_CYCLE) && app_listed >= LK_GRAPH_APP_EDGES)
				continue;
			app_listed++;
		}

		if (e->flags & LK_EDGE_CYCLE) {
			viol = "cycle";
			occ = lk_valid_occurrences(LK_VIOL_CYCLE, e->from, e->to);
		} else if (e->flags & LK_EDGE_RANKBAD) {
			viol = "rank";
			occ = lk_valid_occurrences(LK_VIOL_RANK, e->from, e->to);
		}
		shim_logbuf_printf(&b, "%s{\"from\":%u,\"to\":%u,\"from_class\":", listed++ ? "," : "",
				   e->from, e->to);
		lk_json_str(&b, lk_cname(e->from));
		shim_logbuf_printf(&b, ",\"to_class\":");
		lk_json_str(&b, lk_cname(e->to));
		shim_logbuf_printf(&b, ",\"tid\":%d,\"violation\":", e->tid);
		lk_json_str(&b, viol);
		shim_logbuf_printf(&b, ",\"violations\":%u,\"trylock_held\":%s,\"site\":", occ,
				   e->flags & LK_EDGE_TRYHELD ? "true" : "false");
		lk_json_frame(&b, sym, e->pc);
		shim_logbuf_printf(&b, "}");
	}
	shim_logbuf_printf(&b, "],\"edges_lost\":%u,\"max_edges\":%u,\"app_edges\":%u,\"app_edges_omitted\":%u}\n",
			   lk_valid_edges_lost(), lk_valid_max_edges(), app_edges, app_edges - app_listed);
	shim_logbuf_flush(&b);
}

/* ---- lockstat ---- */

struct lk_row_copy {
	uint64_t acq, cont, wait_ns, wait_max, hold_ns, hold_max;
};

static struct lk_row_copy lk_row_load(const struct lk_stat_row *r)
{
	return (struct lk_row_copy){
		.acq = __atomic_load_n(&r->acq, __ATOMIC_RELAXED),
		.cont = __atomic_load_n(&r->cont, __ATOMIC_RELAXED),
		.wait_ns = __atomic_load_n(&r->wait_ns, __ATOMIC_RELAXED),
		.wait_max = __atomic_load_n(&r->wait_max, __ATOMIC_RELAXED),
		.hold_ns = __atomic_load_n(&r->hold_ns, __ATOMIC_RELAXED),
		.hold_max = __atomic_load_n(&r->hold_max, __ATOMIC_RELAXED),
	};
}

/* Sort key: contentions, then wait time, then acquisitions. */
static bool lk_row_before(const struct lk_stat_row *a, const struct lk_stat_row *b)
{
	struct lk_row_copy x = lk_row_load(a), y = lk_row_load(b);

	if (x.cont != y.cont)
		return x.cont > y.cont;
	if (x.wait_ns != y.wait_ns)
		return x.wait_ns > y.wait_ns;
	return x.acq > y.acq;
}

static const struct lk_stat_row *lk_row_of(bool site, uint32_t id)
{
	return site ? lk_stat_site_row(id) : lk_stat_class_row((uint16_t)id);
}

/* lk_print.order[0..n) = ids with acquisitions, sorted (insertion sort:
   printed rarely, on few rows). */
static unsigned lk_sort_rows(bool site)
{
	unsigned max = site ? lk_stat_nsites() : lk_nclasses(), n = 0;

	for (uint32_t id = 1; id <= max; id++) {
		const struct lk_stat_row *r = lk_row_of(site, id);
		unsigned j;

		if (!r || !__atomic_load_n(&r->acq, __ATOMIC_RELAXED))
			continue;
		for (j = n++; j > 0 && lk_row_before(r, lk_row_of(site, lk_print.order[j - 1])); j--)
			lk_print.order[j] = lk_print.order[j - 1];
		lk_print.order[j] = id;
	}
	return n;
}

static void lk_put_row(struct shim_logbuf *b, const struct lk_row_copy *c)
{
	shim_logbuf_printf(b, " %12llu %10llu %6.2f %12.3f %10.3f %10.3f %12.3f %10.3f %10.3f",
			   (unsigned long long)c->acq, (unsigned long long)c->cont,
			   c->acq ? 100.0 * (double)c->cont / (double)c->acq : 0.0,
			   (double)c->wait_ns / 1e6, c->cont ? (double)c->wait_ns / (double)c->cont / 1e3 : 0.0,
			   (double)c->wait_max / 1e3,
			   (double)c->hold_ns / 1e6, c->acq ? (double)c->hold_ns / (double)c->acq / 1e3 : 0.0,
			   (double)c->hold_max / 1e3);
}

static void lk_json_row(struct shim_logbuf *b, const struct lk_row_copy *c)
{
	shim_logbuf_printf(b, "\"acquisitions\":%llu,\"contentions\":%llu,\"wait_ns\":%llu,\"wait_max_ns\":%llu,"
			   "\"hold_ns\":%llu,\"hold_max_ns\":%llu",
			   (unsigned long long)c->acq, (unsigned long long)c->cont,
			   (unsigned long long)c->wait_ns, (unsigned long long)c->wait_max,
			   (unsigned long long)c->hold_ns, (unsigned long long)c->hold_max);
}

#define LK_TOP_SITES 10

/* ---- lockstat of the program's locks (mutrace style) ---- */

static const char *const lk_app_kind_short[LK_APP_NTYPES] = {
	[LK_APP_MUTEX] = "mutex",
	[LK_APP_MUTEX_RECURSIVE] = "mutex-rec",
	[LK_APP_MUTEX_ERRORCHECK] = "mutex-errchk",
	[LK_APP_RWLOCK] = "rwlock",
	[LK_APP_RWLOCK_WRITER] = "rwlock-wpref",
	[LK_APP_SPIN] = "spin",
};

static const char *lk_app_kind(unsigned type)
{
	return type < LK_APP_NTYPES ? lk_app_kind_short[type] : "?";
}

/* The sort key of lockstat_sort= (lk_sort_keys order). */
static uint64_t lk_app_sort_key(const struct lk_app_stat *st)
{
	switch (lk_config.lockstat_sort) {
	case 1: return st->acq;
	case 2: return st->changes;
	case 3: return st->wait_ns;
	case 4: return st->wait_max;
	case 5: return st->cont ? st->wait_ns / st->cont : 0;
	case 6: return st->hold_ns;
	case 7: return st->hold_max;
	case 8: return st->acq ? st->hold_ns / st->acq : 0;
	default: return st->cont;
	}
}

/*
 * lk_print.top[0..n): the records with acquisitions, best first by the
 * sort key (ties: more acquisitions, then older record), at most max;
 * *total: records with acquisitions.
 */
static unsigned lk_app_top(unsigned max, unsigned *total)
{
	unsigned nrecs = lk_app_nrecs(), n = 0;
	struct lk_app_stat st;

	*total = 0;
	if (max > LK_APP_TOP_MAX)
		max = LK_APP_TOP_MAX;
	for (uint32_t r = 1; r <= nrecs; r++) {
		uint64_t key;
		unsigned j;

		if (!lk_app_stat_get(r, &st))
			continue;
		(*total)++;
		key = lk_app_sort_key(&st);
		if (n == max && key <= lk_print.top_key[n - 1])
			continue;
		j = n < max ? n++ : n - 1;
		for (; j > 0 && key > lk_print.top_key[j - 1]; j--) {
			lk_print.top[j] = lk_print.top[j - 1];
			lk_print.top_key[j] = lk_print.top_key[j - 1];
		}
		lk_print.top[j] = r;
		lk_print.top_key[j] = key;
	}
	return n;
}

static void lk_put_app_row(struct shim_logbuf *b, const struct lk_app_stat *c)
{
	shim_logbuf_printf(b, " %12llu %10llu %6.2f %9llu %12.3f %10.3f %10.3f %12.3f %10.3f %10.3f",
			   (unsigned long long)c->acq, (unsigned long long)c->cont,
			   c->acq ? 100.0 * (double)c->cont / (double)c->acq : 0.0,
			   (unsigned long long)c->changes,
			   (double)c->wait_ns / 1e6, c->cont ? (double)c->wait_ns / (double)c->cont / 1e3 : 0.0,
			   (double)c->wait_max / 1e3,
			   (double)c->hold_ns / 1e6, c->acq ? (double)c->hold_ns / (double)c->acq / 1e3 : 0.0,
			   (double)c->hold_max / 1e3);
}

static void lk_print_app_lockstat_human(struct shim_logbuf *b, struct lk_sym *sym, const char *why)
{
	unsigned total, n = lk_app_top(lk_config.lockstat_max, &total);
	char where[512];

	shim_logbuf_printf(b, "==vadshim== lockstat (%s): program locks: top %u of %u locked, sorted by %s; times in ms (totals) and us\n",
			   why, n, total, lk_sort_keys[lk_config.lockstat_sort]);
	shim_logbuf_printf(b, "  %-4s %-18s %-12s %12s %10s %6s %9s %12s %10s %10s %12s %10s %10s  %s\n",
			   "#", "lock", "kind", "acquired", "contended", "cont%", "changes",
			   "wait_total", "wait_avg", "wait_max", "hold_total", "hold_avg", "hold_max",
			   "first locked at");
	for (unsigned i = 0; i < n; i++) {
		struct lk_app_stat st;

		char name[80];

		lk_app_stat_get(lk_print.top[i], &st);
		lk_sym_format(sym, st.site, where, sizeof(where));
		lk_cur_sym = sym->dwfl ? sym : NULL;
		lk_addr_symbol(st.addr, name, sizeof(name));
		lk_cur_sym = NULL;
		shim_logbuf_printf(b, "  %-4u 0x%-16lx %-12s", i + 1, (unsigned long)st.addr,
				   lk_app_kind(st.type));
		lk_put_app_row(b, &st);
		shim_logbuf_printf(b, "  %s%s%s\n", where, st.gens > 1 ? " (several locks at this address)" : "",
				   name[0] ? name : "");
	}
	if (total > n)
		shim_logbuf_printf(b, "  (%u more locks not shown: raise lockstat_max=)\n", total - n);
}

static void lk_print_app_lockstat_json(struct shim_logbuf *b, struct lk_sym *sym)
{
	unsigned total, n = lk_app_top(lk_config.lockstat_max, &total);

	shim_logbuf_printf(b, ",\"sort\":\"%s\",\"locks_total\":%u,\"locks\":[",
			   lk_sort_keys[lk_config.lockstat_sort], total);
	for (unsigned i = 0; i < n; i++) {
		struct lk_app_stat st;

		char name[80];

		lk_app_stat_get(lk_print.top[i], &st);
		lk_cur_sym = sym->dwfl ? sym : NULL;
		lk_addr_symbol(st.addr, name, sizeof(name));
		lk_cur_sym = NULL;
		shim_logbuf_printf(b, "%s{\"addr\":\"0x%lx\",\"name\":", i ? "," : "", (unsigned long)st.addr);
		if (name[0]) {  /* " (sym)" -> "sym" */
			name[strlen(name) - 1] = 0;
			lk_json_str(b, name + 2);
		} else {
			lk_json_str(b, NULL);
		}
		shim_logbuf_printf(b, ",\"kind\":\"%s\",\"instances\":%u,\"site\":",
				   lk_app_kind(st.type), st.gens);
		lk_json_frame(b, sym, st.site);
		shim_logbuf_printf(b, ",\"acquisitions\":%llu,\"contentions\":%llu,\"changes\":%llu,"
				   "\"wait_ns\":%llu,\"wait_max_ns\":%llu,\"hold_ns\":%llu,\"hold_max_ns\":%llu}",
				   (unsigned long long)st.acq, (unsigned long long)st.cont,
				   (unsigned long long)st.changes, (unsigned long long)st.wait_ns,
				   (unsigned long long)st.wait_max, (unsigned long long)st.hold_ns,
				   (unsigned long long)st.hold_max);
	}
	shim_logbuf_printf(b, "]");
}

static void lk_print_lockstat(struct lk_sym *sym, const char *why)
{
	struct shim_logbuf b = { .len = 0 };
	unsigned n = lk_sort_rows(false);
	char where[512];

	if (lk_config.json) {
		shim_logbuf_printf(&b, "{\"type\":\"lockstat\",\"pid\":%d,\"when\":\"%s\",\"classes\":[",
				   (int)getpid(), why);
		for (unsigned i = 0; i < n; i++) {
			struct lk_row_copy c = lk_row_load(lk_stat_class_row((uint16_t)lk_print.order[i]));

			shim_logbuf_printf(&b, "%s{\"class\":", i ? "," : "");
			lk_json_str(&b, lk_cname((uint16_t)lk_print.order[i]));
			shim_logbuf_printf(&b, ",");
			lk_json_row(&b, &c);
			shim_logbuf_printf(&b, "}");
		}
		shim_logbuf_printf(&b, "],\"sites\":[");
		n = lk_sort_rows(true);
		for (unsigned i = 0; i < n; i++) {
			const struct lk_stat_row *r = lk_stat_site_row(lk_print.order[i]);
			struct lk_row_copy c = lk_row_load(r);

			shim_logbuf_printf(&b, "%s{\"class\":", i ? "," : "");
			lk_json_str(&b, lk_cname(lk_stat_row_cls(r)));
			shim_logbuf_printf(&b, ",\"site\":");
			lk_json_frame(&b, sym, lk_stat_row_pc(r));
			shim_logbuf_printf(&b, ",");
			lk_json_row(&b, &c);
			shim_logbuf_printf(&b, "}");
		}
		shim_logbuf_printf(&b, "],\"sites_lost\":%u", lk_stat_sites_lost());
		if (lk_app_on)
			lk_print_app_lockstat_json(&b, sym);
		shim_logbuf_printf(&b, "}\n");
		shim_logbuf_flush(&b);
		return;
	}
	if (lk_app_on) {
		lk_print_app_lockstat_human(&b, sym, why);
		if (n == 0) {   /* the shim's own locks were not used: no empty tables */
			shim_logbuf_flush(&b);
			return;
		}
	}
	shim_logbuf_printf(&b, "==vadshim== lockstat (%s): %u lock classes, sorted by contentions; times in ms (totals) and us\n",
			   why, n);
	shim_logbuf_printf(&b, "  %-20s %12s %10s %6s %12s %10s %10s %12s %10s %10s\n", "class",
			   "acquired", "contended", "cont%", "wait_total", "wait_avg", "wait_max",
			   "hold_total", "hold_avg", "hold_max");
	for (unsigned i = 0; i < n; i++) {
		struct lk_row_copy c = lk_row_load(lk_stat_class_row((uint16_t)lk_print.order[i]));

		shim_logbuf_printf(&b, "  %-20.20s", lk_cname((uint16_t)lk_print.order[i]));
		lk_put_row(&b, &c);
		shim_logbuf_printf(&b, "\n");
	}
	n = lk_sort_rows(true);
	shim_logbuf_printf(&b, "==vadshim== lockstat: top %u of %u acquisition sites\n",
			   n < LK_TOP_SITES ? n : LK_TOP_SITES, n);
	shim_logbuf_printf(&b, "  %-20s %12s %10s %6s %12s %10s %10s %12s %10s %10s  %s\n", "class",
			   "acquired", "contended", "cont%", "wait_total", "wait_avg", "wait_max",
			   "hold_total", "hold_avg", "hold_max", "site");
	for (unsigned i = 0; i < n && i < LK_TOP_SITES; i++) {
		const struct lk_stat_row *r = lk_stat_site_row(lk_print.order[i]);
		struct lk_row_copy c = lk_row_load(r);

		lk_sym_format(sym, lk_stat_row_pc(r), where, sizeof(where));
		shim_logbuf_printf(&b, "  %-20.20s", lk_cname(lk_stat_row_cls(r)));
		lk_put_row(&b, &c);
		shim_logbuf_printf(&b, "  %s\n", where);
	}
	if (lk_stat_sites_lost())
		shim_logbuf_printf(&b, "  (%u acquisitions at sites not recorded: raise lockstat_sites=)\n",
				   lk_stat_sites_lost());
	shim_logbuf_flush(&b);
}

static bool lk_print_enter(void)
{
	return !__atomic_exchange_n(&lk_print.busy, 1, __ATOMIC_ACQUIRE);
}

static void lk_print_leave(void)
{
	__atomic_store_n(&lk_print.busy, 0, __ATOMIC_RELEASE);
}

/*
 * On request (tests; the shim's SIGUSR2 handler).  From a signal handler
 * libdw is not safe (it allocates): without DWARF the sites are named by
 * dladdr alone, which only takes the dynamic linker's recursive lock.
 */
static void lk_lockstat_print_mode(bool dwarf)
{
	struct lk_sym sym = { .dwfl = NULL };
	int saved = errno;

	if (!lk_print_enter())
		return;
	if (dwarf)
		lk_sym_open(&sym);
	lk_print_lockstat(&sym, dwarf ? "on request" : "SIGUSR2");
	lk_sym_close(&sym);
	lk_print_leave();
	errno = saved;
}

void lk_lockstat_print(void)
{
	lk_lockstat_print_mode(true);
}

void lk_lockstat_print_signal(void)
{
	lk_lockstat_print_mode(false);
}

bool lk_report_exit(void)
{
	bool fail = lk_valid_distinct() > lk_valid_suppressed() || lk_valid_lost();
	bool need_sym = lk_config.json || lk_config.lockstat || (lk_app_on && lk_valid_distinct());
	struct lk_sym sym = { .dwfl = NULL };

	if (!lk_print_enter())
		return fail;
	if (need_sym) {
		lk_sym_open(&sym);
		lk_cur_sym = lk_app_on ? &sym : NULL;
	}
	lk_print_summary();
	if (lk_config.json)
		lk_print_graph(&sym);
	if (lk_config.lockstat)
		lk_print_lockstat(&sym, "at exit");
	lk_cur_sym = NULL;
	if (need_sym)
		lk_sym_close(&sym);
	lk_print_leave();
	return fail;
}
