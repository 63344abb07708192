/*
 * lk_report: what the lock runtime prints (internal to shim/lk*.c).
 * Violation reports (human or JSON lines), suppressions, the summary,
 * the order graph and the lockstat table at exit.  Reports symbolize
 * (libdw, which allocates) and run only when a violation is first seen,
 * at exit, or on request; they take no shim lock.
 *
 * Shared state: the suppression list (lk_report.c), written once by
 * lk_suppressions_load at init and read-only after: no lock.
 */
#ifndef VADSHIM_LK_REPORT_H
#define VADSHIM_LK_REPORT_H

#include <stdint.h>

#include "shim/lk.h"
#include "shim/lk_valid.h"

/* A thread's held list as the reports see it. */
struct lk_held_view {
	const struct lk_held *held;
	unsigned nheld, overflow;
};

/* Classes by id (lk.c). */
struct lk_class *lk_class_by_id(uint16_t id);
unsigned lk_nclasses(void);

/* Print (or suppress) a report; then halt if halt_on_error asks. */
void lk_report_order(const struct lk_held_view *hv, const struct lk_lock *l,
		     uint32_t stack, uintptr_t pc, uintptr_t entry,
		     const struct lk_verdict *v);
void lk_report_recursive(const struct lk_held_view *hv, const struct lk_lock *l,
			 uint32_t stack, uintptr_t pc, uintptr_t entry);
void lk_report_bad_unlock(const struct lk_lock *l, uintptr_t pc, uintptr_t entry);

/*
 * At exit: the summary of violations (human: only if any were printed),
 * and with report_format=json the summary, graph and lockstat objects;
 * lockstat=1 prints its table.  Returns true if a violation that was not
 * suppressed was reported (the exit code applies).
 */
bool lk_report_exit(void);

/* Halt after a report when halt_on_error asks (lk.c). */
void lk_halt_if_asked(void);

/* One line, once, when the graph or the violation table is full (lk.c). */
void lk_report_graph_full(void);
void lk_report_violations_full(void);

/* Retire a node (its edges go) under the runtime's graph lock (lk.c). */
void lk_graph_retire(uint32_t node);

/* Insert new edges (held -> node) under the runtime's graph lock (lk.c). */
void lk_graph_add_edges(const struct lk_held *held, unsigned nheld, uint32_t node, bool shared,
			const struct lk_edge_src *src, struct lk_verdict *v);

/*
 * The program's locks (lk_app.c).  Held entries name their lock by
 * address and node (0: not needed yet, named by address); the lock type
 * is in flags bits 8-11.
 */
void lk_report_app_order(const struct lk_held_view *hv, const void *lock, uint32_t node,
			 unsigned how, uint32_t stack, uintptr_t pc, const struct lk_verdict *v);
void lk_report_app_recursive(const struct lk_held_view *hv, const void *lock, uint32_t node,
			     unsigned type, unsigned how, const struct lk_held *h,
			     uint32_t stack, uintptr_t pc);
void lk_report_app_bad_unlock(const void *lock, uint32_t node, unsigned type, uintptr_t pc);

/* The name of a graph node: a class name, or a program lock's. */
const char *lk_node_name(uint32_t node);

#endif
