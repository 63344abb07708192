/*
 * Unit test of the validator's order graph (shim/lk_valid.c), driven
 * through its seam only: class ids, ranks, held lists.  Random graphs
 * are built edge by edge; before each new edge a brute-force reference
 * (breadth-first search over an adjacency matrix) says whether the edge
 * closes a cycle and how long the shortest one is, and the validator
 * must agree: report exactly then, with a path that is a real cycle of
 * that length (2..N), made of recorded edges, starting with the new edge.
 * Ranked classes are mixed in: an edge against the ranks is the rank
 * rule's business and the cycle search must not walk it.
 *
 * lk_valid_check (the graph's invariant checker) runs every 50 graphs.
 *
 * Single-threaded; the validator's tables are its own.  Prints one line
 * per failed check and "N passed, N failed".
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim/lk.h"
#include "shim/lk_valid.h"

#define MAXN 24

static int npass, nfail;

static void check(bool ok, const char *what)
{
	if (ok) {
		npass++;
		return;
	}
	nfail++;
	printf("FAIL: %s\n", what);
}

/* The reference: adjacency over edges that obey the ranks. */
struct ref {
	int n;
	bool adj[MAXN][MAXN];   /* recorded edges */
	bool walk[MAXN][MAXN];  /* of which the search may walk */
	int rank[MAXN];
};

/* Shortest path length a ~> b over walkable edges, -1 if none. */
static int ref_dist(const struct ref *r, int a, int b)
{
	int dist[MAXN], q[MAXN], h = 0, t = 0;

	for (int i = 0; i < r->n; i++)
		dist[i] = -1;
	dist[a] = 0;
	q[t++] = a;
	while (h < t) {
		int x = q[h++];

		for (int y = 0; y < r->n; y++)
			if (r->walk[x][y] && dist[y] < 0) {
				dist[y] = dist[x] + 1;
				if (y == b)
					return dist[y];
				q[t++] = y;
			}
	}
	return -1;
}

static bool rank_bad(int held, int rank)
{
	return held != LK_RANK_NONE && rank != LK_RANK_NONE && held >= rank;
}

static unsigned lengths_seen[MAXN + 1];

/* One acquisition of class `to` while holding `from` (ids base+1..). */
static void step(struct ref *r, unsigned base, int from, int to)
{
	struct lk_held held = { .lock = r, .cls = (uint16_t)(base + 1 + from),
				.rank = r->rank[from], .pc = 0x1000 + (uintptr_t)from };
	struct lk_edge_src src = { .stack = 0, .pc = 0x2000 + (uintptr_t)to, .tid = 1 };
	struct lk_verdict v;
	uint16_t cto = (uint16_t)(base + 1 + to);
	bool bad = rank_bad(r->rank[from], r->rank[to]);
	bool known = r->adj[from][to];
	int d = (!known && !bad) ? ref_dist(r, to, from) : -1;
	char what[160];

	lk_valid_before_acquire(&held, 1, cto, r->rank[to], &v);
	snprintf(what, sizeof(what), "edge %d -> %d: missing iff new", from, to);
	check((v.missing != 0) == !known, what);
	if (v.missing) {
		lk_valid_add_edges(&held, 1, cto, r->rank[to], &src, &v);
		const struct lk_edge *e = lk_valid_edge(lk_valid_nedges());

		snprintf(what, sizeof(what), "edge %d -> %d: recorded, marked as closing a cycle iff it does",
			 from, to);
		check(e && e->from == held.cls && e->to == cto &&
		      !!(e->flags & LK_EDGE_CYCLE) == (d >= 0) &&
		      !!(e->flags & LK_EDGE_RANKBAD) == bad, what);
	}
	unsigned ncycle = 0;
	const struct lk_conflict *c = NULL;

	for (unsigned i = 0; i < v.nnew; i++)
		if (v.c[i].kind == LK_VIOL_CYCLE) {
			ncycle++;
			c = &v.c[i];
		}
	snprintf(what, sizeof(what), "edge %d -> %d: cycle reported iff the reference has one (dist %d)",
		 from, to, d);
	check((ncycle == 1) == (d >= 0) && ncycle <= 1, what);
	if (c && d >= 0) {
		snprintf(what, sizeof(what), "edge %d -> %d: cycle length %u == shortest %d", from, to,
			 c->path_total, d + 1);
		check(c->path_total == (unsigned)d + 1 && c->path_len == c->path_total, what);
		/* the path is a closed walk of recorded edges starting with the new one */
		uint16_t at = held.cls;
		bool ok = true;

		for (unsigned k = 0; k < c->path_len; k++) {
			const struct lk_edge *e = lk_valid_edge(v.path[c->path_off + k]);
			int ef, et;

			if (!e || e->from != at) {
				ok = false;
				break;
			}
			ef = e->from - (int)base - 1;
			et = e->to - (int)base - 1;
			ok &= (k == 0) ? (ef == from && et == to) : r->walk[ef][et];
			at = e->to;
		}
		ok &= at == held.cls;
		snprintf(what, sizeof(what), "edge %d -> %d: path is a cycle of recorded edges", from, to);
		check(ok, what);
		lengths_seen[c->path_total]++;
	}
	if (!known) {
		r->adj[from][to] = true;
		r->walk[from][to] = !bad;
	}
	/* a second pass over the same order: known, nothing new */
	lk_valid_before_acquire(&held, 1, cto, r->rank[to], &v);
	snprintf(what, sizeof(what), "edge %d -> %d: known the second time", from, to);
	check(v.missing == 0 && (v.nnew == 0 || bad), what);
}

static void check_invariants(const char *when)
{
	const char *why;
	char what[200];

	snprintf(what, sizeof(what), "lk_valid_check after %s: %s", when, "ok");
	if (lk_valid_check(&why) != 0)
		snprintf(what, sizeof(what), "lk_valid_check after %s: %s", when, why);
	check(why == NULL, what);
}

static unsigned next_base = 100;

static void random_graph(unsigned seed, int n, int steps, bool ranked)
{
	struct ref r;
	unsigned base = next_base;

	next_base += (unsigned)n + 1;
	memset(&r, 0, sizeof(r));
	r.n = n;
	srand(seed);
	for (int i = 0; i < n; i++)
		r.rank[i] = ranked && rand() % 2 ? 100 + rand() % 8 : LK_RANK_NONE;
	for (int s = 0; s < steps; s++) {
		int a = rand() % n, b = rand() % n;

		if (a != b)
			step(&r, base, a, b);
	}
}

/* A ring 0 -> 1 -> ... -> n-1, closed by n-1 -> 0: a cycle of exactly n. */
static void ring(int n)
{
	struct ref r;
	unsigned base = next_base;

	next_base += (unsigned)n + 1;
	memset(&r, 0, sizeof(r));
	r.n = n;
	for (int i = 0; i + 1 < n; i++)
		step(&r, base, i, i + 1);
	unsigned before = lengths_seen[n];

	step(&r, base, n - 1, 0);
	check(lengths_seen[n] == before + 1, "ring: closing edge reports a cycle of n");
}

int main(void)
{
	lk_valid_set_limits(LK_CLASSES_HARD, LK_EDGES_HARD, LK_VIOLATIONS_HARD);
	for (int n = 2; n <= MAXN; n++)
		ring(n);
	check_invariants("the rings");
	for (unsigned seed = 1; seed <= 200; seed++) {
		random_graph(seed, 3 + (int)(seed % 10), 40, false);
		if (seed % 50 == 0)
			check_invariants("unranked random graphs");
	}
	for (unsigned seed = 1000; seed <= 1100; seed++) {
		random_graph(seed, 4 + (int)(seed % 8), 50, true);
		if (seed % 50 == 0)
			check_invariants("ranked random graphs");
	}
	printf("cycle lengths found:");
	for (int i = 2; i <= MAXN; i++)
		if (lengths_seen[i])
			printf(" %d:%u", i, lengths_seen[i]);
	printf("\nedges %u, validator memory %zu bytes\n", lk_valid_nedges(), lk_valid_memory());
	for (int i = 2; i <= 6; i++)
		check(lengths_seen[i] > 0, "random graphs produced cycles of lengths 2..6");
	check(lk_valid_lost() == 0, "the violation table did not fill up");
	printf("%d passed, %d failed\n", npass, nfail);
	return nfail ? 1 : 0;
}
