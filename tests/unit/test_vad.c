/*
 * test_vad — unit test of the VAD index (mman/vad.c).
 *
 * Groups: directed edge cases; a checker that must catch corruption; VAD
 * pool exhaustion and reuse; 100,000 random operations checked against a
 * page-per-entry reference model (vad_check after every step); and a
 * 200,000-VAD scaling run that prints timings but asserts none.
 *
 * Usage: test_vad [seed]   (the seed of the random group; printed)
 * Prints one line per group and finally "N passed, N failed".
 * Single-threaded: the index is driven as the mman lock's holder would.
 */
#include "mman/vad.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PG ((uintptr_t)4096)

static unsigned long passed, failed;
static char ctx[160];           /* what the random group was doing */

#define CHECK(cond) check_at((cond) != 0, #cond, __LINE__)

static void check_at(int ok, const char *what, int line)
{
	if (ok) {
		passed++;
		return;
	}
	/* A broken index fails the same check many times; the first few
	 * failures carry the information. */
	if (++failed <= 20)
		fprintf(stderr, "test_vad.c:%d: CHECK(%s) failed %s\n", line, what, ctx);
}

static void check_index(const struct vad_index *ix)
{
	char msg[160];
	int err = vad_check(ix, msg, sizeof(msg));

	if (err && failed < 20)
		fprintf(stderr, "vad_check: %s %s\n", msg, ctx);
	CHECK(err == 0);
}

static void run_group(const char *name, void (*fn)(char *note, size_t len))
{
	unsigned long p0 = passed, f0 = failed;
	char note[320] = "";

	fn(note, sizeof(note));
	printf("%s%s%s: %lu passed, %lu failed\n", name, note[0] ? " " : "", note,
	       passed - p0, failed - f0);
	fflush(stdout);
}

/* ---- random numbers (splitmix64: tiny, seedable, good enough) ------- */

static uint64_t rng_state;

static uint64_t rnd64(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0. */
static uint64_t rnd(uint64_t n)
{
	return rnd64() % n;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* A VAD of [start, end) from the pool, linked in; NULL if exhausted. */
static struct vad *add(struct vad_index *ix, uintptr_t start, uintptr_t end)
{
	struct vad *v = vad_alloc(ix);

	if (!v)
		return NULL;
	v->start = start;
	v->end = end;
	v->kind = VAD_ANON;
	vad_insert(ix, v);
	return v;
}

static void del(struct vad_index *ix, struct vad *v)
{
	vad_remove(ix, v);
	vad_free(ix, v);
}

/* ---- directed cases ------------------------------------------------- */

#define DBASE ((uintptr_t)0x10000000)
#define DPAGES 64
#define DEND (DBASE + DPAGES * PG)
#define P(n) (DBASE + (uintptr_t)(n) * PG)

static struct vad small_array[32];

static void group_empty(char *note, size_t len)
{
	struct vad_index ix;

	(void)note, (void)len;
	vad_index_init(&ix, DBASE, DEND, small_array, 32);
	check_index(&ix);
	CHECK(ix.count == 0 && !ix.head && !ix.tail && !ix.root);
	CHECK(vad_find(&ix, DBASE) == NULL);
	CHECK(vad_find(&ix, 0) == NULL);
	CHECK(vad_find_next(&ix, 0) == NULL);
	CHECK(vad_find_next(&ix, DEND) == NULL);
	CHECK(vad_range_free(&ix, DBASE, DEND));
	CHECK(vad_range_free(&ix, 0, UINTPTR_MAX));
	CHECK(vad_find_gap(&ix, PG, DBASE, DEND) == DEND - PG);
	CHECK(vad_find_gap(&ix, DPAGES * PG, DBASE, DEND) == DBASE);
	CHECK(vad_find_gap(&ix, (DPAGES + 1) * PG, DBASE, DEND) == 0);
	CHECK(vad_find_gap(&ix, DPAGES * PG, 0, UINTPTR_MAX) == DBASE);
	CHECK(vad_find_gap(&ix, PG, 0, UINTPTR_MAX) == DEND - PG);
	CHECK(vad_find_gap(&ix, PG, P(10), P(11)) == P(10));
	CHECK(vad_find_gap(&ix, PG, P(10), P(10)) == 0);         /* lo == hi */
	CHECK(vad_find_gap(&ix, PG, P(11), P(10)) == 0);         /* lo > hi */
	CHECK(vad_find_gap(&ix, PG, 0, DBASE) == 0);              /* below range */
	CHECK(vad_find_gap(&ix, PG, DEND, UINTPTR_MAX) == 0);     /* above range */
	CHECK(vad_find_gap(&ix, 0, DBASE, DEND) == 0);            /* len 0 */
	CHECK(vad_find_gap(&ix, SIZE_MAX - PG + 2, DBASE, DEND) == 0);
}

/*
 * Layout used below (pages):  0..3 free, [4,8) A, 8..9 free, [10,12) B,
 * [12,13) C adjacent to B, 13..19 free (7), [20,24) D, 24..63 free (40).
 */
static void build_layout(struct vad_index *ix, struct vad **out)
{
	static const uintptr_t b[][2] = { { 4, 8 }, { 10, 12 }, { 12, 13 }, { 20, 24 } };

	vad_index_init(ix, DBASE, DEND, small_array, 32);
	/* Inserted out of address order to exercise the descent. */
	out[3] = add(ix, P(b[3][0]), P(b[3][1]));
	out[0] = add(ix, P(b[0][0]), P(b[0][1]));
	out[2] = add(ix, P(b[2][0]), P(b[2][1]));
	out[1] = add(ix, P(b[1][0]), P(b[1][1]));
}

static void group_lookups(char *note, size_t len)
{
	struct vad_index ix;
	struct vad *v[4];

	(void)note, (void)len;
	build_layout(&ix, v);
	check_index(&ix);
	CHECK(ix.count == 4 && ix.head == v[0] && ix.tail == v[3]);
	CHECK(v[0]->next == v[1] && v[1]->next == v[2] && v[2]->next == v[3]);
	CHECK(v[0]->gap_before == 4 * PG && v[2]->gap_before == 0);
	CHECK(vad_find(&ix, P(4)) == v[0]);
	CHECK(vad_find(&ix, P(8) - 1) == v[0]);
	CHECK(vad_find(&ix, P(8)) == NULL);
	CHECK(vad_find(&ix, P(12)) == v[2]);
	CHECK(vad_find(&ix, P(12) - 1) == v[1]);
	CHECK(vad_find(&ix, P(3)) == NULL);
	CHECK(vad_find_next(&ix, 0) == v[0]);
	CHECK(vad_find_next(&ix, P(5) + 7) == v[0]);
	CHECK(vad_find_next(&ix, P(8)) == v[1]);                  /* at an end */
	CHECK(vad_find_next(&ix, P(12)) == v[2]);
	CHECK(vad_find_next(&ix, P(24) - 1) == v[3]);
	CHECK(vad_find_next(&ix, P(24)) == NULL);
	CHECK(vad_range_free(&ix, P(0), P(4)));
	CHECK(!vad_range_free(&ix, P(0), P(4) + 1));
	CHECK(vad_range_free(&ix, P(13), P(20)));
	CHECK(!vad_range_free(&ix, P(13), P(21)));
	CHECK(!vad_range_free(&ix, P(11), P(12)));
	CHECK(vad_range_free(&ix, P(8), P(8)));                   /* empty range */
	CHECK(vad_range_free(&ix, P(24), UINTPTR_MAX));
}

static void group_gaps(char *note, size_t len)
{
	struct vad_index ix;
	struct vad *v[4];

	(void)note, (void)len;
	build_layout(&ix, v);
	/* Top-down: the tail gap first. */
	CHECK(vad_find_gap(&ix, PG, DBASE, DEND) == P(63));
	CHECK(vad_find_gap(&ix, 40 * PG, DBASE, DEND) == P(24));  /* tail exact */
	CHECK(vad_find_gap(&ix, 41 * PG, DBASE, DEND) == 0);      /* larger than all */
	/* hi cuts the tail gap: the clipped part still fits exactly. */
	CHECK(vad_find_gap(&ix, 2 * PG, DBASE, P(26)) == P(24));
	CHECK(vad_find_gap(&ix, 3 * PG, DBASE, P(26)) == P(17));
	CHECK(vad_find_gap(&ix, 7 * PG, DBASE, P(26)) == P(13));  /* middle exact */
	CHECK(vad_find_gap(&ix, 8 * PG, DBASE, P(26)) == 0);
	CHECK(vad_find_gap(&ix, 5 * PG, DBASE, P(20)) == P(15));
	/* lo cuts the 7-page gap; hi below it. */
	CHECK(vad_find_gap(&ix, 7 * PG, P(14), P(26)) == 0);
	CHECK(vad_find_gap(&ix, 6 * PG, P(14), P(26)) == P(14));
	CHECK(vad_find_gap(&ix, 4 * PG, DBASE, P(13)) == P(0));   /* head exact */
	CHECK(vad_find_gap(&ix, 2 * PG, DBASE, P(13)) == P(8));
	CHECK(vad_find_gap(&ix, 2 * PG, DBASE, P(10)) == P(8));
	CHECK(vad_find_gap(&ix, 3 * PG, DBASE, P(10)) == P(1));
	CHECK(vad_find_gap(&ix, PG, P(4), P(8)) == 0);            /* inside A */
	CHECK(vad_find_gap(&ix, PG, P(12), P(13)) == 0);          /* inside C */
	CHECK(vad_find_gap(&ix, 5 * PG, 0, P(10)) == 0);          /* head too small */
	/* Unaligned bounds shrink to whole pages inside them. */
	CHECK(vad_find_gap(&ix, 2 * PG, P(8) + 1, P(10)) == 0);
	CHECK(vad_find_gap(&ix, PG, P(8) + 1, P(10)) == P(9));
	CHECK(vad_find_gap(&ix, PG, P(8), P(10) - 1) == P(8));
	CHECK(vad_find_gap(&ix, PG, P(8) + 1, P(10) - 1) == 0);
	/* Bounds beyond the managed range are clipped to it. */
	CHECK(vad_find_gap(&ix, 40 * PG, 0, UINTPTR_MAX) == P(24));
	CHECK(vad_find_gap(&ix, 4 * PG, 0, P(9)) == P(0));
	/* Filling the tail leaves the inner gaps as the answers. */
	CHECK(add(&ix, P(24), DEND) != NULL);
	check_index(&ix);
	CHECK(vad_find_gap(&ix, PG, DBASE, DEND) == P(19));
	CHECK(vad_find_gap(&ix, 7 * PG, DBASE, DEND) == P(13));
	CHECK(vad_find_gap(&ix, 8 * PG, DBASE, DEND) == 0);
}

static void group_resize(char *note, size_t len)
{
	struct vad_index ix;
	struct vad *v[4], *w;

	(void)note, (void)len;
	build_layout(&ix, v);
	vad_resize(&ix, v[3], P(13), P(30));                      /* grow both ends */
	check_index(&ix);
	CHECK(v[3]->gap_before == 0 && vad_find(&ix, P(29)) == v[3]);
	CHECK(vad_find_gap(&ix, 34 * PG, DBASE, DEND) == P(30));
	CHECK(vad_find_gap(&ix, 35 * PG, DBASE, DEND) == 0);
	vad_resize(&ix, v[0], P(6), P(7));                         /* shrink both ends */
	check_index(&ix);
	CHECK(v[0]->gap_before == 6 * PG && v[1]->gap_before == 3 * PG);
	CHECK(vad_find_gap(&ix, 6 * PG, DBASE, P(13)) == P(0));
	/* Split B into [10,11) and [11,12), like a partial munmap/mprotect. */
	vad_resize(&ix, v[1], P(10), P(11));
	w = add(&ix, P(11), P(12));
	check_index(&ix);
	CHECK(w && v[1]->next == w && w->next == v[2] && w->gap_before == 0);
	del(&ix, v[3]);
	check_index(&ix);
	CHECK(ix.tail == v[2] && vad_find_gap(&ix, 51 * PG, DBASE, DEND) == P(13));
	del(&ix, v[0]);
	del(&ix, v[1]);
	del(&ix, v[2]);
	del(&ix, w);
	check_index(&ix);
	CHECK(ix.count == 0 && !ix.root && !ix.head && !ix.tail);
	CHECK(vad_find_gap(&ix, DPAGES * PG, DBASE, DEND) == DBASE);
}

/* vad_check must notice each kind of damage, and pass once it is undone. */
static void group_checker(char *note, size_t len)
{
	struct vad_index ix;
	struct vad *v[4], *t;
	char msg[96];
	uintptr_t save;
	int32_t h;

	(void)note, (void)len;
	build_layout(&ix, v);
	CHECK(vad_check(&ix, msg, sizeof(msg)) == 0 && msg[0] == '\0');

	save = v[1]->gap_before;
	v[1]->gap_before += PG;
	CHECK(vad_check(&ix, msg, sizeof(msg)) == -EFAULT && strstr(msg, "gap_before"));
	v[1]->gap_before = save;

	save = ix.root->max_gap;
	ix.root->max_gap += PG;
	CHECK(vad_check(&ix, msg, sizeof(msg)) == -EFAULT && strstr(msg, "max_gap"));
	ix.root->max_gap = save;

	h = ix.root->height;
	ix.root->height++;
	CHECK(vad_check(&ix, msg, sizeof(msg)) == -EFAULT && strstr(msg, "height"));
	ix.root->height = h;

	v[2]->prev = v[0];
	CHECK(vad_check(&ix, msg, sizeof(msg)) == -EFAULT && strstr(msg, "prev"));
	v[2]->prev = v[1];

	ix.count++;
	CHECK(vad_check(&ix, msg, sizeof(msg)) == -EFAULT);
	ix.count--;

	v[0]->start += 1;
	CHECK(vad_check(&ix, msg, sizeof(msg)) == -EFAULT);
	v[0]->start -= 1;

	/* A VAD in the list but missing from the tree. */
	t = ix.root->left ? ix.root->left : ix.root->right;
	if (ix.root->left == t)
		ix.root->left = NULL;
	else
		ix.root->right = NULL;
	CHECK(vad_check(&ix, msg, sizeof(msg)) == -EFAULT);
	if (t->start < ix.root->start)
		ix.root->left = t;
	else
		ix.root->right = t;

	/* A short buffer is still terminated. */
	v[3]->height = 7;
	CHECK(vad_check(&ix, msg, 8) == -EFAULT && strlen(msg) == 7);
	v[3]->height = 1;
	CHECK(vad_check(&ix, msg, sizeof(msg)) == 0);
}

static void group_pool(char *note, size_t len)
{
	struct vad arr[4];
	struct vad_index ix;
	struct vad *v[4], *x;
	int i, zero;

	(void)note, (void)len;
	vad_index_init(&ix, DBASE, DEND, arr, 4);
	for (i = 0; i < 4; i++) {
		v[i] = add(&ix, P(2 * i), P(2 * i + 1));
		CHECK(v[i] == &arr[i]);
	}
	CHECK(vad_alloc(&ix) == NULL);                            /* exhausted */
	check_index(&ix);
	v[2]->prot = 7;
	v[2]->offset = 99;
	v[2]->snext = v[1];
	del(&ix, v[2]);
	check_index(&ix);
	x = vad_alloc(&ix);
	CHECK(x == v[2]);                                         /* reused */
	zero = x && x->start == 0 && x->end == 0 && x->prot == 0 && x->offset == 0 &&
	       !x->snext && !x->next && !x->free_next && x->fmap == -1;
	CHECK(zero);
	CHECK(vad_alloc(&ix) == NULL);
	if (!x)
		return;
	/* Two freed, two reused (LIFO), then exhausted again. */
	vad_free(&ix, x);
	del(&ix, v[0]);
	check_index(&ix);
	CHECK(vad_alloc(&ix) == v[0]);
	CHECK(vad_alloc(&ix) == v[2]);
	CHECK(vad_alloc(&ix) == NULL);
}

/* ---- random operations against a model ------------------------------ */

#define MPAGES 4096
#define MBASE ((uintptr_t)0x40000000)
#define MEND (MBASE + MPAGES * PG)
#define MSTEPS 100000

struct model {
	struct vad_index ix;
	struct vad array[MPAGES];
	struct vad *page[MPAGES];    /* page -> its VAD, NULL when free */
	struct vad *live[MPAGES];    /* active VADs, unordered */
	size_t livepos[MPAGES];      /* array slot -> index in live */
	size_t nlive, used_pages;
	unsigned long ops[4], gap_hits, gap_queries;
	size_t max_live;
};

static struct model m;

static size_t pg_of(uintptr_t a)
{
	return (a - MBASE) / PG;
}

static uintptr_t addr_of(size_t p)
{
	return MBASE + p * PG;
}

static void model_fill(size_t from, size_t to, struct vad *v)
{
	for (size_t p = from; p < to; p++) {
		m.used_pages += v ? 1 : 0;
		m.used_pages -= m.page[p] ? 1 : 0;
		m.page[p] = v;
	}
}

static size_t free_up(size_t p)
{
	size_t q = p;

	while (q < MPAGES && !m.page[q])
		q++;
	return q - p;
}

static size_t free_down(size_t p)
{
	size_t q = p;

	while (q > 0 && !m.page[q - 1])
		q--;
	return p - q;
}

static void live_add(struct vad *v)
{
	m.livepos[v - m.array] = m.nlive;
	m.live[m.nlive++] = v;
	if (m.nlive > m.max_live)
		m.max_live = m.nlive;
}

static void live_del(struct vad *v)
{
	size_t i = m.livepos[v - m.array];

	m.live[i] = m.live[--m.nlive];
	m.livepos[m.live[i] - m.array] = i;
}

static struct vad *model_add(size_t from, size_t to)
{
	struct vad *v = vad_alloc(&m.ix);
	int zero;

	CHECK(v != NULL);
	if (!v)
		return NULL;
	zero = v->start == 0 && v->end == 0 && !v->prev && !v->left &&
	       !v->free_next && v->max_gap == 0 && v->fmap == -1;
	CHECK(zero);
	v->start = addr_of(from);
	v->end = addr_of(to);
	vad_insert(&m.ix, v);
	model_fill(from, to, v);
	live_add(v);
	return v;
}

/* A length in pages: mostly small, sometimes large, bounded by room. */
static size_t pick_len(size_t room)
{
	static const size_t caps[] = { 1, 2, 4, 16, 64, 512 };
	size_t cap = caps[rnd(6)];

	return 1 + rnd(room < cap ? room : cap);
}

static void op_insert(void)
{
	for (int tries = 0; tries < 8; tries++) {
		size_t p = rnd(MPAGES);

		if (!m.page[p]) {
			model_add(p, p + pick_len(free_up(p)));
			return;
		}
	}
}

static void op_remove(void)
{
	struct vad *v;

	if (!m.nlive)
		return;
	v = m.live[rnd(m.nlive)];
	model_fill(pg_of(v->start), pg_of(v->end), NULL);
	live_del(v);
	del(&m.ix, v);
}

static void op_resize(void)
{
	struct vad *v;
	size_t s, e, room;

	if (!m.nlive)
		return;
	v = m.live[rnd(m.nlive)];
	s = pg_of(v->start);
	e = pg_of(v->end);
	switch (rnd(4)) {
	case 0:                                 /* grow down */
		room = free_down(s);
		if (!room)
			return;
		s -= pick_len(room);
		model_fill(s, pg_of(v->start), v);
		break;
	case 1:                                 /* shrink from below */
		if (e - s < 2)
			return;
		room = 1 + rnd(e - s - 1);
		model_fill(s, s + room, NULL);
		s += room;
		break;
	case 2:                                 /* grow up */
		room = e < MPAGES ? free_up(e) : 0;
		if (!room)
			return;
		room = pick_len(room);
		model_fill(e, e + room, v);
		e += room;
		break;
	default:                                /* shrink from above */
		if (e - s < 2)
			return;
		room = 1 + rnd(e - s - 1);
		model_fill(e - room, e, NULL);
		e -= room;
		break;
	}
	vad_resize(&m.ix, v, addr_of(s), addr_of(e));
}

/* Split a VAD in two, or punch a hole in it (munmap of a middle part). */
static void op_split(void)
{
	struct vad *v;
	size_t s, e, c1, c2;

	if (!m.nlive)
		return;
	v = m.live[rnd(m.nlive)];
	s = pg_of(v->start);
	e = pg_of(v->end);
	if (e - s < 2)
		return;
	c1 = s + 1 + rnd(e - s - 1);
	c2 = c1;
	if (rnd(2) && e - c1 >= 2)
		c2 = c1 + rnd(e - c1 - 1) + 1;
	vad_resize(&m.ix, v, addr_of(s), addr_of(c1));
	model_fill(c1, e, NULL);
	model_add(c2, e);
}

/* An address around the managed range, sometimes not page aligned. */
static uintptr_t pick_addr(void)
{
	uintptr_t a = MBASE - 8 * PG + rnd(MPAGES + 16) * PG;

	return rnd(4) ? a : a + rnd(PG);
}

static void q_find(void)
{
	uintptr_t a = pick_addr();
	struct vad *want = a >= MBASE && a < MEND ? m.page[pg_of(a)] : NULL;

	CHECK(vad_find(&m.ix, a) == want);
}

static void q_find_next(void)
{
	uintptr_t a = pick_addr();
	struct vad *want = NULL;
	size_t p = a < MBASE ? 0 : a >= MEND ? MPAGES : pg_of(a);

	while (p < MPAGES && !m.page[p])
		p++;
	if (p < MPAGES)
		want = m.page[p];
	CHECK(vad_find_next(&m.ix, a) == want);
}

static void q_range_free(void)
{
	uintptr_t a = pick_addr(), b = a + rnd(64) * PG + (rnd(2) ? rnd(PG) : 0);
	int want = 1;

	/* An empty range is free; else no page of the model may overlap it. */
	for (size_t p = 0; p < MPAGES && want && a < b; p++)
		if (m.page[p] && addr_of(p) < b && addr_of(p) + PG > a)
			want = 0;
	CHECK(vad_range_free(&m.ix, a, b) == want);
}

/* Brute force: the highest page a with [a, a+len) free and within [lo, hi). */
static uintptr_t model_gap(uintptr_t len, uintptr_t lo, uintptr_t hi)
{
	size_t need = len / PG, run = 0;

	for (size_t p = MPAGES; p-- > 0;) {
		uintptr_t a = addr_of(p);

		if (a < lo)
			break;
		run = !m.page[p] && a + PG <= hi ? run + 1 : 0;
		if (run >= need)
			return a;
	}
	return 0;
}

/* Brute force: the lowest page a with [a, a+len) free and within [lo, hi). */
static uintptr_t model_gap_low(uintptr_t len, uintptr_t lo, uintptr_t hi)
{
	size_t need = len / PG, run = 0;

	for (size_t p = 0; p < MPAGES; p++) {
		uintptr_t a = addr_of(p);

		if (a + PG > hi)
			break;
		run = !m.page[p] && a >= lo ? run + 1 : 0;
		if (run >= need)
			return a - (need - 1) * PG;
	}
	return 0;
}

static uintptr_t pick_bound(void)
{
	switch (rnd(8)) {
	case 0:
		return 0;
	case 1:
		return UINTPTR_MAX;
	default:
		return pick_addr();
	}
}

static void q_find_gap(void)
{
	static const uintptr_t caps[] = { 1, 4, 32, 256, 2048 };
	uintptr_t len = (1 + rnd(caps[rnd(5)])) * PG;
	uintptr_t lo = pick_bound(), hi = pick_bound(), want;

	if (rnd(2) && lo > hi) {
		uintptr_t t = lo;

		lo = hi;
		hi = t;
	}
	want = model_gap(len, lo, hi);
	m.gap_queries++;
	m.gap_hits += want != 0;
	CHECK(vad_find_gap(&m.ix, len, lo, hi) == want);
	CHECK(vad_find_gap_low(&m.ix, len, lo, hi) == model_gap_low(len, lo, hi));
}

/* The index's list against the model, page by page. */
static void compare_model(void)
{
	size_t pages = 0, n = 0;
	int ok = 1;

	for (struct vad *v = m.ix.head; v && n <= m.nlive; v = v->next, n++) {
		for (uintptr_t a = v->start; a < v->end && ok; a += PG)
			ok = a >= MBASE && a < MEND && m.page[pg_of(a)] == v;
		pages += (v->end - v->start) / PG;
	}
	CHECK(ok && n == m.nlive && m.ix.count == m.nlive && pages == m.used_pages);
}

/* Weights of insert/remove/resize/split by phase, so the index both fills
 * up (down to no free page) and drains (down to empty). */
static const unsigned weights[4][4] = {
	{ 50, 10, 25, 15 }, { 30, 30, 25, 15 }, { 5, 60, 25, 10 }, { 30, 30, 25, 15 },
};

static void random_step(unsigned long step)
{
	const unsigned *w = weights[(step / 5000) % 4];
	unsigned r = (unsigned)rnd(100);

	snprintf(ctx, sizeof(ctx), "(step %lu)", step);
	if (r < w[0])
		op_insert(), m.ops[0]++;
	else if ((r -= w[0]) < w[1])
		op_remove(), m.ops[1]++;
	else if ((r -= w[1]) < w[2])
		op_resize(), m.ops[2]++;
	else
		op_split(), m.ops[3]++;
	check_index(&m.ix);
	compare_model();
	q_find();
	q_find_next();
	q_range_free();
	q_find_gap();
	q_find_gap();
}

static uint64_t seed = 20240611;

static void group_random(char *note, size_t len)
{
	unsigned long f0 = failed;

	memset(&m, 0, sizeof(m));
	rng_state = seed;
	vad_index_init(&m.ix, MBASE, MEND, m.array, MPAGES);
	for (unsigned long step = 0; step < MSTEPS && failed - f0 < 20; step++)
		random_step(step);
	while (m.nlive)
		op_remove();
	ctx[0] = '\0';
	check_index(&m.ix);
	CHECK(m.ix.count == 0 && !m.ix.root);
	CHECK(vad_find_gap(&m.ix, MPAGES * PG, 0, UINTPTR_MAX) == MBASE);
	snprintf(note, len,
		 "(seed %" PRIu64 ", %d steps: %lu insert %lu remove %lu resize %lu split, "
		 "max %zu VADs, %lu/%lu gap hits)",
		 seed, MSTEPS, m.ops[0], m.ops[1], m.ops[2], m.ops[3], m.max_live,
		 m.gap_hits, m.gap_queries);
}

/* ---- scaling -------------------------------------------------------- */

#define SN 200000
#define SHEAD 64                /* pages free below the first VAD */

/* Reference gap search over the list, top-down: O(n). */
static uintptr_t list_gap(const struct vad_index *ix, uintptr_t len,
			  uintptr_t lo, uintptr_t hi)
{
	uintptr_t ge = ix->end;

	/* Only whole pages inside [lo, hi) count. */
	lo = lo < ix->base ? ix->base : (lo + PG - 1) & ~(PG - 1);
	hi &= ~(PG - 1);
	for (const struct vad *v = ix->tail;; v = v->prev) {
		uintptr_t gs = v ? v->end : ix->base;
		uintptr_t s = gs > lo ? gs : lo, e = ge < hi ? ge : hi;

		if (e > s && e - s >= len)
			return e - len;
		if (!v || gs <= lo)
			return 0;
		ge = v->start;
	}
}

struct scale {
	struct vad_index ix;
	struct vad *array;
	uintptr_t *starts, *ends;
	size_t *order;
	uintptr_t end;
};

/* VADs of 1..4 pages with holes of 1..8 pages; a bigger hole at the head. */
static void scale_layout(struct scale *s)
{
	uintptr_t a = (uintptr_t)1 << 32, base = a;

	a += SHEAD * PG;
	for (size_t i = 0; i < SN; i++) {
		s->starts[i] = a;
		s->ends[i] = a + (1 + rnd(4)) * PG;
		a = s->ends[i] + (1 + rnd(8)) * PG;
		s->order[i] = i;
	}
	s->end = a;
	for (size_t i = SN - 1; i > 0; i--) {
		size_t j = rnd(i + 1), t = s->order[i];

		s->order[i] = s->order[j];
		s->order[j] = t;
	}
	vad_index_init(&s->ix, base, s->end, s->array, SN);
}

static volatile uintptr_t sink;

static double time_find(struct scale *s, size_t n)
{
	uintptr_t span = s->end - s->ix.base;
	double t0 = now_ns();

	for (size_t i = 0; i < n; i++) {
		struct vad *v = vad_find(&s->ix, s->ix.base + rnd(span));

		sink += v ? v->start : 0;
	}
	return (now_ns() - t0) / (double)n;
}

static void random_window(struct scale *s, uintptr_t *len, uintptr_t *lo, uintptr_t *hi)
{
	uintptr_t span = s->end - s->ix.base;

	*len = (1 + rnd(9)) * PG;
	*lo = s->ix.base + rnd(span);
	*hi = *lo + rnd(span / 8);
}

static double time_gap(struct scale *s, size_t n, int by_list)
{
	uintptr_t len, lo, hi;
	double t = 0;

	for (size_t i = 0; i < n; i++) {
		double t0;

		random_window(s, &len, &lo, &hi);
		t0 = now_ns();
		sink += by_list ? list_gap(&s->ix, len, lo, hi) : vad_find_gap(&s->ix, len, lo, hi);
		t += now_ns() - t0;
	}
	return t / (double)n;
}

/* The only fitting hole is the lowest one: pruning must skip the rest. */
static double time_worst_gap(struct scale *s, size_t n)
{
	double t0 = now_ns();

	for (size_t i = 0; i < n; i++)
		sink += vad_find_gap(&s->ix, SHEAD * PG, 0, UINTPTR_MAX);
	return (now_ns() - t0) / (double)n;
}

static double time_churn(struct scale *s, size_t n)
{
	double t0 = now_ns();

	for (size_t i = 0; i < n; i++) {
		struct vad *v = &s->array[rnd(SN)];

		vad_remove(&s->ix, v);
		vad_insert(&s->ix, v);
	}
	return (now_ns() - t0) / (double)n;
}

static void scale_verify(struct scale *s)
{
	uintptr_t len, lo, hi;
	int ok = 1;

	for (int i = 0; i < 100 && ok; i++) {
		random_window(s, &len, &lo, &hi);
		ok = vad_find_gap(&s->ix, len, lo, hi) == list_gap(&s->ix, len, lo, hi);
	}
	CHECK(ok);
	for (int i = 0; i < 100000 && ok; i++) {
		uintptr_t a = s->ix.base + rnd(s->end - s->ix.base);
		struct vad *v = vad_find(&s->ix, a), *nx = vad_find_next(&s->ix, a);

		ok = v ? v->start <= a && a < v->end && nx == v
		       : !nx || nx->start > a;
	}
	CHECK(ok);
	CHECK(vad_find_gap(&s->ix, SHEAD * PG, 0, UINTPTR_MAX) == s->ix.base);
	CHECK(vad_find_gap(&s->ix, (SHEAD + 1) * PG, 0, UINTPTR_MAX) == 0);
}

static void group_scale(char *note, size_t len)
{
	struct scale s = { 0 };
	double t_ins, t_chk, t_find, t_gap, t_list, t_worst, t_churn;
	char msg[128];

	rng_state = seed ^ 0x5ca1e;
	s.array = calloc(SN, sizeof(*s.array));
	s.starts = calloc(SN, sizeof(*s.starts));
	s.ends = calloc(SN, sizeof(*s.ends));
	s.order = calloc(SN, sizeof(*s.order));
	CHECK(s.array && s.starts && s.ends && s.order);
	if (!s.array || !s.starts || !s.ends || !s.order)
		goto out;
	scale_layout(&s);
	t_ins = now_ns();
	for (size_t i = 0; i < SN; i++)
		add(&s.ix, s.starts[s.order[i]], s.ends[s.order[i]]);
	t_ins = (now_ns() - t_ins) / SN;
	t_chk = now_ns();
	CHECK(vad_check(&s.ix, msg, sizeof(msg)) == 0);
	t_chk = (now_ns() - t_chk) / 1e6;
	CHECK(s.ix.count == SN && s.ix.root->height <= 26);   /* 1.44 log2(200k) */
	scale_verify(&s);
	t_find = time_find(&s, 1000000);
	t_gap = time_gap(&s, 1000000, 0);
	t_list = time_gap(&s, 20, 1);
	t_worst = time_worst_gap(&s, 1000000);
	t_churn = time_churn(&s, 1000000);
	CHECK(vad_check(&s.ix, msg, sizeof(msg)) == 0);
	scale_verify(&s);
	snprintf(note, len,
		 "(%d VADs, height %d: insert %.0f ns, find %.0f ns, find_gap %.0f ns "
		 "(list walk %.0f ns), lowest-hole find_gap %.0f ns, remove+insert %.0f ns, "
		 "vad_check %.1f ms)",
		 SN, s.ix.root->height, t_ins, t_find, t_gap, t_list, t_worst, t_churn, t_chk);
out:
	free(s.array);
	free(s.starts);
	free(s.ends);
	free(s.order);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		seed = strtoull(argv[1], NULL, 0);
	printf("seed %" PRIu64 "\n", seed);
	run_group("empty index", group_empty);
	run_group("find, find_next, range_free", group_lookups);
	run_group("find_gap fit and clipping", group_gaps);
	run_group("resize, split, remove", group_resize);
	run_group("vad_check catches damage", group_checker);
	run_group("pool exhaustion and reuse", group_pool);
	run_group("random vs model", group_random);
	run_group("scaling", group_scale);
	printf("%lu passed, %lu failed\n", passed, failed);
	return failed ? 1 : 0;
}
