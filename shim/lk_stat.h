/*
 * lk_stat: lock statistics (lockstat=1), per lock class and per
 * acquisition site (the caller of lk_lock, with the class): acquisitions,
 * contentions (the first try found the lock taken), wait time and hold
 * time (total and max).  Printing lives in lk_report.c.
 *
 * Shared state: the site table and the class rows.  No lock guards them:
 * a site row is claimed by compare-and-swap of its key from 0 and never
 * removed; every counter is an atomic add (maxima a compare-and-swap
 * loop), so any thread updates them on its fast path without a lock.  The
 * limit is set once at init.
 */
#ifndef VADSHIM_LK_STAT_H
#define VADSHIM_LK_STAT_H

#include <stdbool.h>
#include <stdint.h>

#define LK_STAT_SITES_HARD 65536u
#define LK_STAT_SITES_DEFAULT 4096u

struct lk_stat_row {
	uint64_t key;           /* site: pc | class << 48; class row: class id */
	uint64_t acq, cont;     /* acquisitions; of which contended */
	uint64_t wait_ns, wait_max;
	uint64_t hold_ns, hold_max;
};

void lk_stat_set_limit(unsigned sites);
unsigned lk_stat_limit(void);

/* Monotonic nanoseconds. */
uint64_t lk_stat_now(void);

/* The row id (1-based) of site (pc, cls); 0 when the table is full. */
uint32_t lk_stat_site(uintptr_t pc, uint16_t cls);

void lk_stat_acquired(uint32_t site, uint16_t cls, bool contended, uint64_t wait_ns);
void lk_stat_released(uint32_t site, uint16_t cls, uint64_t hold_ns);

/* For printing: site rows 1..lk_stat_nsites(); class row of a class id. */
unsigned lk_stat_nsites(void);
unsigned lk_stat_sites_lost(void);
const struct lk_stat_row *lk_stat_site_row(uint32_t id);
const struct lk_stat_row *lk_stat_class_row(uint16_t cls);

static inline uintptr_t lk_stat_row_pc(const struct lk_stat_row *r)
{
	return (uintptr_t)(r->key & ((1ull << 48) - 1));
}

static inline uint16_t lk_stat_row_cls(const struct lk_stat_row *r)
{
	return (uint16_t)(r->key >> 48);
}

#endif
