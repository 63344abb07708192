/*
 * lk_stat: lockstat counters.
 *
 * Shared state: lk_stat (below).  No lock: site rows are claimed by
 * compare-and-swap of the key (index order = claim order, through
 * lk_stat.order[], published by a release store), counters are atomic
 * adds, maxima compare-and-swap loops.  lk_stat.limit is set at init.
 */
#include "shim/lk_stat.h"

#include <time.h>

#include "shim/log.h"
#include "shim/lk_valid.h"

/* Zero-initialised (.bss), apart from the struct that points at them. */
static uint32_t lk_stat_slots[2 * LK_STAT_SITES_HARD];
static struct lk_stat_row lk_stat_sites[LK_STAT_SITES_HARD];
static struct lk_stat_row lk_stat_cls[LK_CLASSES_HARD + 1];

static struct {
	unsigned limit, mask;           /* rows in use at most; hash mask */
	uint32_t nsites;                /* rows claimed */
	uint32_t lost;                  /* acquisitions at sites not recorded */
	int full_said;
	uint32_t *slot;                 /* [2 * LK_STAT_SITES_HARD] row id, 0 = empty */
	struct lk_stat_row *site;       /* [LK_STAT_SITES_HARD] id i at site[i - 1] */
	struct lk_stat_row *cls;        /* [LK_CLASSES_HARD + 1] */
} lk_stat = {
	.slot = lk_stat_slots,
	.site = lk_stat_sites,
	.cls = lk_stat_cls,
	.limit = LK_STAT_SITES_DEFAULT,
	.mask = 2 * LK_STAT_SITES_DEFAULT - 1,
};

void lk_stat_set_limit(unsigned sites)
{
	unsigned slots = 2;

	if (sites < 1)
		sites = 1;
	if (sites > LK_STAT_SITES_HARD)
		sites = LK_STAT_SITES_HARD;
	while (slots < 2 * sites)
		slots <<= 1;
	lk_stat.limit = sites;
	lk_stat.mask = slots - 1;
}

unsigned lk_stat_limit(void)
{
	return lk_stat.limit;
}

uint64_t lk_stat_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Claim a row id before publishing it in a slot; a thread that loses the
 * race for the slot to the same key leaves its row unused (key 0, never
 * listed: lk_stat_site_row skips it).
 */
uint32_t lk_stat_site(uintptr_t pc, uint16_t cls)
{
	uint64_t key = (uint64_t)(pc & ((1ull << 48) - 1)) | (uint64_t)cls << 48;
	unsigned mask = lk_stat.mask;
	unsigned i = (unsigned)((key * 0x9e3779b97f4a7c15ull) >> 40) & mask;
	uint32_t mine = 0;

	for (unsigned n = 0; n <= mask; n++, i = (i + 1) & mask) {
		uint32_t id = __atomic_load_n(&lk_stat.slot[i], __ATOMIC_ACQUIRE);

		if (id == 0) {
			if (!mine) {
				mine = __atomic_add_fetch(&lk_stat.nsites, 1, __ATOMIC_RELAXED);
				if (mine > lk_stat.limit) {
					__atomic_store_n(&lk_stat.nsites, lk_stat.limit, __ATOMIC_RELAXED);
					break;
				}
				__atomic_store_n(&lk_stat.site[mine - 1].key, key, __ATOMIC_RELAXED);
			}
			if (__atomic_compare_exchange_n(&lk_stat.slot[i], &id, mine, false,
							__ATOMIC_RELEASE, __ATOMIC_ACQUIRE))
				return mine;
		}
		if (__atomic_load_n(&lk_stat.site[id - 1].key, __ATOMIC_RELAXED) == key) {
			if (mine)
				__atomic_store_n(&lk_stat.site[mine - 1].key, 0, __ATOMIC_RELAXED);
			return id;
		}
	}
	__atomic_fetch_add(&lk_stat.lost, 1, __ATOMIC_RELAXED);
	if (!__atomic_exchange_n(&lk_stat.full_said, 1, __ATOMIC_RELAXED))
		shim_log("==vadshim== lockstat site table full (%u sites): further sites are counted per class only; raise lockstat_sites=\n",
			 lk_stat.limit);
	return 0;
}

static void lk_stat_max(uint64_t *m, uint64_t v)
{
	uint64_t cur = __atomic_load_n(m, __ATOMIC_RELAXED);

	while (v > cur && !__atomic_compare_exchange_n(m, &cur, v, true, __ATOMIC_RELAXED,
						       __ATOMIC_RELAXED))
		;
}

static void lk_stat_add_acq(struct lk_stat_row *r, bool contended, uint64_t wait_ns)
{
	__atomic_fetch_add(&r->acq, 1, __ATOMIC_RELAXED);
	if (!contended)
		return;
	__atomic_fetch_add(&r->cont, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&r->wait_ns, wait_ns, __ATOMIC_RELAXED);
	lk_stat_max(&r->wait_max, wait_ns);
}

static void lk_stat_add_hold(struct lk_stat_row *r, uint64_t hold_ns)
{
	__atomic_fetch_add(&r->hold_ns, hold_ns, __ATOMIC_RELAXED);
	lk_stat_max(&r->hold_max, hold_ns);
}

void lk_stat_acquired(uint32_t site, uint16_t cls, bool contended, uint64_t wait_ns)
{
	if (site)
		lk_stat_add_acq(&lk_stat.site[site - 1], contended, wait_ns);
	lk_stat_add_acq(&lk_stat.cls[cls], contended, wait_ns);
}

void lk_stat_released(uint32_t site, uint16_t cls, uint64_t hold_ns)
{
	if (site)
		lk_stat_add_hold(&lk_stat.site[site - 1], hold_ns);
	lk_stat_add_hold(&lk_stat.cls[cls], hold_ns);
}

unsigned lk_stat_nsites(void)
{
	return __atomic_load_n(&lk_stat.nsites, __ATOMIC_RELAXED);
}

unsigned lk_stat_sites_lost(void)
{
	return __atomic_load_n(&lk_stat.lost, __ATOMIC_RELAXED);
}

const struct lk_stat_row *lk_stat_site_row(uint32_t id)
{
	if (id == 0 || id > lk_stat_nsites() ||
	    __atomic_load_n(&lk_stat.site[id - 1].key, __ATOMIC_RELAXED) == 0)
		return NULL;
	return &lk_stat.site[id - 1];
}

const struct lk_stat_row *lk_stat_class_row(uint16_t cls)
{
	return &lk_stat.cls[cls];
}
