/*
 * Free and reuse (Helgrind's tc15, Abseil's DeadlockIdBug): a lock in
 * memory that goes away without pthread_mutex_destroy (as std::mutex does
 * on glibc), then the same memory used as another lock, taken in the
 * opposite order against a partner.  The old and the new lock share an
 * address only; no cycle may be reported.  Three ways the memory goes and
 * comes back:
 *   malloc'd and initialised, freed; malloc'd again (same chunk), initialised
 *   malloc'd and initialised, freed; calloc'd again, used as zeroed
 *     (a static initializer's bytes), never initialised
 *   mmap'd page, munmap'd; mapped again at the same address (MAP_FIXED),
 *     used as zeroed
 * Each round prints whether the address was really reused (the native run
 * says so too, or the scenario tests nothing).  Then the canary.
 */
#include "app_common.h"
#include <stdint.h>
#include <sys/mman.h>

static pthread_mutex_t partner[3] = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
				      PTHREAD_MUTEX_INITIALIZER };

SCENARIO void old_then_partner(pthread_mutex_t *old, pthread_mutex_t *p) { PAIR(old, p); }
SCENARIO void partner_then_new(pthread_mutex_t *p, pthread_mutex_t *new) { PAIR(p, new); }

/* An object larger than glibc's per-thread cache, which calloc bypasses. */
struct big {
	pthread_mutex_t m;
	char pad[8192];
};

static void round_heap(int use_calloc)
{
	struct big *old = malloc(sizeof *old), *new;
	pthread_mutex_t *p = &partner[use_calloc];

	mutex_init(&old->m, PTHREAD_MUTEX_NORMAL);
	old_then_partner(&old->m, p);
	free(old);                      /* no destroy */
	if (use_calloc) {
		new = calloc(1, sizeof *new);
	} else {
		new = malloc(sizeof *new);
		mutex_init(&new->m, PTHREAD_MUTEX_NORMAL);
	}
	say("%s: address reused: %s", use_calloc ? "calloc" : "malloc", new == old ? "yes" : "no");
	partner_then_new(p, &new->m);
	free(new);
}

static void round_mmap(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	void *mem = mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *again;

	if (mem == MAP_FAILED)
		fail("mmap", errno);
	mutex_init(mem, PTHREAD_MUTEX_NORMAL);
	old_then_partner(mem, &partner[2]);
	munmap(mem, (size_t)pg);
	again = mmap(mem, (size_t)pg, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (again == MAP_FAILED)
		fail("mmap MAP_FIXED", errno);
	say("mmap: address reused: %s", again == mem ? "yes" : "no");
	partner_then_new(&partner[2], again);
	munmap(again, (size_t)pg);
}

int main(void)
{
	round_heap(0);
	round_heap(1);
	round_mmap();
	canary();
	say("done");
	return 0;
}
