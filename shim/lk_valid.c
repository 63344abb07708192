/*
 * lk_valid: rank rule, observed-order graph with cycle search, and the
 * table of distinct violations.
 *
 * Shared state (lk_valid, lk_graph below) and its guards:
 *  - lk_valid.slot[] (violations): no lock.  A slot is claimed by
 *    compare-and-swap of its key from 0, its count bumped atomically, its
 *    suppressed mark set atomically; nothing is ever removed.
 *  - lk_graph.edge[], .nedges, .out[]: written only under the runtime's
 *    graph lock (held by whoever calls lk_valid_add_edges); edge records
 *    are immutable once published.
 *  - lk_graph.hash[]: written under the graph lock with release stores,
 *    read lock-free with acquire loads (the fast path).
 *  - lk_graph.mark[], .via[], .queue[], .epoch: scratch of the cycle
 *    search, under the graph lock.
 *  - lk_graph.dead[]: set by lk_valid_retire (under the graph lock, atomic
 *    byte stores), read by the search.
 *  - freed edges (lk_graph.free_head, .nlive): under the graph lock.  A
 *    retired node's edges are freed: the ones out of it at once, the ones
 *    into it when the search next walks past them (or a sweep when the
 *    table is full).  A freed edge leaves a tombstone in the hash (readers
 *    probe past it; an insert may take it) and its record is reused.
 *  - lk_graph.max_classes, .max_edges, .hash_mask, .max_nodes and the
 *    node array pointers: set once by lk_valid_set_limits and
 *    lk_valid_set_nodes before any thread runs.
 *
 * Why a hash of edges and not a chain-key cache as in lockdep: the held
 * list of a shim thread is short (one to four locks), so probing one slot
 * per held lock costs about as much as hashing the chain, and an edge
 * hash needs no second table that can fill up.
 */
#include "shim/lk_valid.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim/lk.h"

#define LK_EDGE_HASH_HARD (2 * LK_EDGES_HARD)

struct lk_valid_slot {
	uint64_t key;           /* 0 = free; see lk_valid_key() */
	uint32_t count;         /* occurrences, first one included */
	uint32_t suppressed;    /* 1: matched a suppression */
};

static struct {
	unsigned max, mask;     /* distinct violations at most; hash mask */
	struct lk_valid_slot slot[2 * LK_VIOLATIONS_HARD];
	unsigned distinct;      /* slots in use */
	unsigned nsuppressed;   /* of which suppressed */
	unsigned lost;          /* table full: violations neither kept nor reported */
} lk_valid = {
	.max = LK_VIOLATIONS_DEFAULT,
	.mask = 2 * LK_VIOLATIONS_DEFAULT - 1,
};

/*
 * The per-node arrays of the class-only graph; lk_valid_set_nodes swaps
 * in mapped ones.  The search state is a node and a bit (was the node
 * entered by a LK_EDGE_TO_SHARED edge), so mark, via and queue have two
 * entries per node: index node * 2 + bit.
 */
static uint32_t lk_node_out[LK_CLASSES_HARD + 1];
static uint32_t lk_node_mark[2 * (LK_CLASSES_HARD + 1)];
static uint32_t lk_node_via[2 * (LK_CLASSES_HARD + 1)];
static uint32_t lk_node_queue[2 * (LK_CLASSES_HARD + 1)];
static uint8_t lk_node_dead[LK_CLASSES_HARD + 1];

#define LK_VIA_BIT 0x80000000u  /* in via[]: the state bit of the node before */
#define LK_EDGE_TOMB 0xffffffffu        /* in hash[]: a freed edge was here */

static void lk_edge_free(uint32_t id);

static struct {
	unsigned max_classes, max_edges, hash_mask;
	unsigned max_nodes;                     /* node ids 1..max_nodes */
	uint32_t nedges;                        /* ids 1..nedges given out */
	uint32_t nlive;                         /* of which not freed */
	uint32_t free_head;                     /* freed ids, through .next */
	uint32_t lost;                          /* edges dropped: table full */
	uint32_t epoch;                         /* search generation */
	uint32_t *out;                          /* first edge id out of a node */
	uint32_t *mark;                         /* [node*2+bit] == epoch: visited */
	uint32_t *via;                          /* [node*2+bit]: edge id that reached it */
	uint32_t *queue;                        /* node*2+bit */
	uint8_t *dead;                          /* 1: retired */
	uint32_t end;                           /* the search's goal, node*2+bit */
	uint32_t hash[LK_EDGE_HASH_HARD];       /* edge id, 0 = empty */
	struct lk_edge edge[LK_EDGES_HARD];     /* id i at edge[i - 1] */
} lk_graph = {
	.max_classes = 4095,
	.max_edges = LK_EDGES_DEFAULT,
	.hash_mask = 2 * LK_EDGES_DEFAULT - 1,
	.max_nodes = LK_CLASSES_HARD,
	.out = lk_node_out,
	.mark = lk_node_mark,
	.via = lk_node_via,
	.queue = lk_node_queue,
	.dead = lk_node_dead,
};

/* ---- limits ---- */

static unsigned lk_pow2_at_least(unsigned n)
{
	unsigned p = 2;

	while (p < n)
		p <<= 1;
	return p;
}

void lk_valid_set_limits(unsigned max_classes, unsigned max_edges, unsigned max_violations)
{
	if (max_classes == 0)
		max_classes = lk_graph.max_classes;
	if (max_edges == 0)
		max_edges = lk_graph.max_edges;
	if (max_violations == 0)
		max_violations = lk_valid.max;
	if (max_violations > LK_VIOLATIONS_HARD)
		max_violations = LK_VIOLATIONS_HARD;
	lk_valid.max = max_violations;
	lk_valid.mask = lk_pow2_at_least(2 * max_violations) - 1;

	if (max_classes < 1)
		max_classes = 1;
	if (max_classes > LK_CLASSES_HARD)
		max_classes = LK_CLASSES_HARD;
	if (max_edges < 1)
		max_edges = 1;
	if (max_edges > LK_EDGES_HARD)
		max_edges = LK_EDGES_HARD;
	lk_graph.max_classes = max_classes;
	lk_graph.max_edges = max_edges;
	lk_graph.hash_mask = lk_pow2_at_least(2 * max_edges) - 1;   /* load at most 1/2 */
}

unsigned lk_valid_max_classes(void)
{
	return lk_graph.max_classes;
}

unsigned lk_valid_max_edges(void)
{
	return lk_graph.max_edges;
}

unsigned lk_valid_max_violations(void)
{
	return lk_valid.max;
}

/* Zeroed pages, never from the allocator; touched only where used. */
static void *lk_valid_map(size_t bytes)
{
	long p = syscall(SYS_mmap, NULL, bytes, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p < 0 && p > -4096 ? NULL : (void *)p;
}

int lk_valid_set_nodes(unsigned max_nodes)
{
	size_t n;
	char *m;

	if (max_nodes >= LK_NODES_HARD)
		max_nodes = LK_NODES_HARD - 1;
	if (max_nodes <= lk_graph.max_nodes)
		return 0;
	n = (size_t)max_nodes + 1;
	m = lk_valid_map(n * (4 + 3 * 2 * 4 + 1));
	if (!m)
		return -ENOMEM;
	lk_graph.out = (uint32_t *)m;
	lk_graph.mark = (uint32_t *)(m + n * 4);
	lk_graph.via = (uint32_t *)(m + n * 12);
	lk_graph.queue = (uint32_t *)(m + n * 20);
	lk_graph.dead = (uint8_t *)(m + n * 28);
	lk_graph.max_nodes = max_nodes;
	return 0;
}

unsigned lk_valid_max_nodes(void)
{
	return lk_graph.max_nodes;
}

void lk_valid_retire(uint32_t node)
{
	if (!node || node > lk_graph.max_nodes)
		return;
	__atomic_store_n(&lk_graph.dead[node], 1, __ATOMIC_RELAXED);
	for (uint32_t id = lk_graph.out[node], next; id; id = next) {
		next = lk_graph.edge[id - 1].next;
		lk_edge_free(id);
	}
	__atomic_store_n(&lk_graph.out[node], 0, __ATOMIC_RELAXED);
}

/* ---- the table of distinct violations ---- */

#define LK_NODE_BITS 30
#define LK_NODE_MASK ((1ull << LK_NODE_BITS) - 1)

static uint64_t lk_valid_key(enum lk_viol_kind kind, uint32_t held_cls, uint32_t cls)
{
	return (uint64_t)kind << 60 | (uint64_t)held_cls << LK_NODE_BITS | cls;
}

static unsigned lk_valid_hash(uint64_t key)
{
	key *= 0x9e3779b97f4a7c15ull;
	return (unsigned)(key >> 40) & lk_valid.mask;
}

/*
 * Find or claim the slot of key; NULL when max distinct violations are
 * recorded already (the hash has twice as many slots, so probing ends).
 */
static struct lk_valid_slot *lk_valid_slot(uint64_t key, bool *claimed)
{
	unsigned mask = lk_valid.mask, i = lk_valid_hash(key);

	*claimed = false;
	for (unsigned n = 0; n <= mask; n++, i = (i + 1) & mask) {
		struct lk_valid_slot *s = &lk_valid.slot[i];
		uint64_t cur = __atomic_load_n(&s->key, __ATOMIC_ACQUIRE);

		if (cur == 0) {
			if (__atomic_load_n(&lk_valid.distinct, __ATOMIC_RELAXED) >= lk_valid.max)
				return NULL;
			if (__atomic_compare_exchange_n(&s->key, &cur, key, false,
							__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
				*claimed = true;
				__atomic_fetch_add(&lk_valid.distinct, 1, __ATOMIC_RELAXED);
				return s;
			}
		}
		if (cur == key)
			return s;
	}
	return NULL;
}

static struct lk_valid_slot *lk_valid_find(uint64_t key)
{
	unsigned mask = lk_valid.mask, i = lk_valid_hash(key);

	for (unsigned n = 0; n <= mask; n++, i = (i + 1) & mask) {
		uint64_t cur = __atomic_load_n(&lk_valid.slot[i].key, __ATOMIC_ACQUIRE);

		if (cur == key)
			return &lk_valid.slot[i];
		if (cur == 0)
			break;
	}
	return NULL;
}

bool lk_valid_note(enum lk_viol_kind kind, uint32_t held_cls, uint32_t cls)
{
	bool claimed;
	struct lk_valid_slot *s = lk_valid_slot(lk_valid_key(kind, held_cls, cls), &claimed);

	if (!s) {
		__atomic_fetch_add(&lk_valid.lost, 1, __ATOMIC_RELAXED);
		return false;
	}
	__atomic_fetch_add(&s->count, 1, __ATOMIC_RELAXED);
	return claimed;
}

void lk_valid_suppress(enum lk_viol_kind kind, uint32_t held_cls, uint32_t cls)
{
	struct lk_valid_slot *s = lk_valid_find(lk_valid_key(kind, held_cls, cls));

	if (s && !__atomic_exchange_n(&s->suppressed, 1, __ATOMIC_RELAXED))
		__atomic_fetch_add(&lk_valid.nsuppressed, 1, __ATOMIC_RELAXED);
}

static void lk_verdict_add(struct lk_verdict *v, enum lk_viol_kind kind,
			   unsigned i, uint32_t held_cls, uint32_t cls)
{
	if (!lk_valid_note(kind, held_cls, cls)) {
		v->nrepeat++;
		v->lost |= lk_valid_occurrences(kind, held_cls, cls) == 0;
		return;
	}
	if (v->nnew < LK_VERDICT_MAX)
		v->c[v->nnew] = (struct lk_conflict){ .kind = kind, .held = (uint8_t)i };
	v->nnew++;
}

/* ---- the edge hash (lock-free readers) ---- */

/* An edge is known by its ends and its modes (LK_EDGE_MODES). */
static inline uint64_t lk_edge_key(uint32_t from, uint32_t to, uint32_t modes)
{
	return (uint64_t)from << 34 | (uint64_t)to << 4 | (modes & LK_EDGE_MODES) >> 3;
}

static inline unsigned lk_edge_hash(uint64_t key)
{
	return (unsigned)(((key ^ (key >> 29)) * 0x9e3779b97f4a7c15ull) >> 32);
}

/* The id of edge from -> to with modes, 0 if unknown (lock-free). */
static inline uint32_t lk_edge_find_mode(uint32_t from, uint32_t to, uint32_t modes)
{
	uint64_t key = lk_edge_key(from, to, modes);
	unsigned mask = lk_graph.hash_mask, i = lk_edge_hash(key) & mask;

	modes &= LK_EDGE_MODES;
	for (;; i = (i + 1) & mask) {
		uint32_t id = __atomic_load_n(&lk_graph.hash[i], __ATOMIC_ACQUIRE);
		const struct lk_edge *e;

		if (id == 0)
			return 0;
		if (id == LK_EDGE_TOMB)
			continue;
		e = &lk_graph.edge[id - 1];
		if (e->from == from && e->to == to && (e->flags & LK_EDGE_MODES) == modes)
			return id;
	}
}

static inline uint32_t lk_edge_find(uint32_t from, uint32_t to)
{
	return lk_edge_find_mode(from, to, 0);
}

/* Under the graph lock: publish a complete record (the table never fills:
   it has at least twice as many slots as edges). */
static void lk_edge_publish(uint32_t id)
{
	const struct lk_edge *e = &lk_graph.edge[id - 1];
	unsigned mask = lk_graph.hash_mask;
	unsigned i = lk_edge_hash(lk_edge_key(e->from, e->to, e->flags)) & mask;

	for (;;) {
		uint32_t cur = __atomic_load_n(&lk_graph.hash[i], __ATOMIC_RELAXED);

		if (cur == 0 || cur == LK_EDGE_TOMB)
			break;
		i = (i + 1) & mask;
	}
	__atomic_store_n(&lk_graph.hash[i], id, __ATOMIC_RELEASE);
}

/*
 * Under the graph lock: take edge id out of the hash (a tombstone; when
 * the next slot is empty, the tombstones before it become empty too: no
 * reader can be looking for a key beyond an empty slot) and put its
 * record on the free list.
 */
static void lk_edge_free(uint32_t id)
{
	struct lk_edge *e = &lk_graph.edge[id - 1];
	unsigned mask = lk_graph.hash_mask;
	unsigned i = lk_edge_hash(lk_edge_key(e->from, e->to, e->flags)) & mask;

	while (__atomic_load_n(&lk_graph.hash[i], __ATOMIC_RELAXED) != id)
		i = (i + 1) & mask;
	__atomic_store_n(&lk_graph.hash[i], LK_EDGE_TOMB, __ATOMIC_RELEASE);
	if (__atomic_load_n(&lk_graph.hash[(i + 1) & mask], __ATOMIC_RELAXED) == 0)
		for (; __atomic_load_n(&lk_graph.hash[i], __ATOMIC_RELAXED) == LK_EDGE_TOMB;
		     i = (i - 1) & mask)
			__atomic_store_n(&lk_graph.hash[i], 0, __ATOMIC_RELEASE);
	__atomic_store_n(&e->from, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&e->to, 0, __ATOMIC_RELAXED);
	e->next = lk_graph.free_head;
	lk_graph.free_head = id;
	lk_graph.nlive--;
}

static inline bool lk_is_dead(uint32_t n)
{
	return __atomic_load_n(&lk_graph.dead[n], __ATOMIC_RELAXED) != 0;
}

/* Under the graph lock: free the edges of node c's list that lead to retired nodes. */
static void lk_edges_prune(uint32_t c)
{
	uint32_t *prev = &lk_graph.out[c];

	while (*prev) {
		uint32_t id = *prev;
		struct lk_edge *e = &lk_graph.edge[id - 1];

		if (lk_is_dead(e->to)) {
			*prev = e->next;
			lk_edge_free(id);
		} else {
			prev = &e->next;
		}
	}
}

/* Under the graph lock: a free edge id, 0 when the table is full even after a sweep. */
static uint32_t lk_edge_alloc(void)
{
	uint32_t id = lk_graph.free_head;

	if (!id && lk_graph.nedges >= lk_graph.max_edges && lk_graph.max_nodes > LK_CLASSES_HARD) {
		for (uint32_t c = 1; c <= lk_graph.max_nodes; c++)
			if (lk_graph.out[c])
				lk_edges_prune(c);
		id = lk_graph.free_head;
	}
	if (id) {
		lk_graph.free_head = lk_graph.edge[id - 1].next;
	} else if (lk_graph.nedges < lk_graph.max_edges) {
		id = lk_graph.nedges + 1;
	} else {
		return 0;
	}
	lk_graph.nlive++;
	return id;
}

uint32_t lk_valid_find_edge(uint32_t from, uint32_t to)
{
	return lk_edge_find(from, to);
}

const struct lk_edge *lk_valid_edge(uint32_t id)
{
	if (id == 0 || id > __atomic_load_n(&lk_graph.nedges, __ATOMIC_ACQUIRE) ||
	    !__atomic_load_n(&lk_graph.edge[id - 1].from, __ATOMIC_RELAXED))
		return NULL;    /* never given out, or freed */
	return &lk_graph.edge[id - 1];
}

unsigned lk_valid_nedges(void)
{
	return __atomic_load_n(&lk_graph.nedges, __ATOMIC_ACQUIRE);
}

unsigned lk_valid_edges_lost(void)
{
	return __atomic_load_n(&lk_graph.lost, __ATOMIC_RELAXED);
}

size_t lk_valid_memory(void)
{
	unsigned n = lk_valid_nedges();
	size_t classes = 0;

	for (unsigned c = 1; c <= lk_graph.max_classes && c <= LK_CLASSES_HARD; c++)
		if (__atomic_load_n(&lk_graph.out[c], __ATOMIC_RELAXED))
			classes = c;
	if (lk_graph.max_nodes > LK_CLASSES_HARD)
		classes = lk_graph.max_nodes;  /* mapped: count what may be touched */
	return ((size_t)lk_valid.mask + 1) * sizeof(struct lk_valid_slot)
		+ (size_t)n * sizeof(struct lk_edge)
		+ ((size_t)lk_graph.hash_mask + 1) * sizeof(uint32_t)
		+ (classes + 1) * (7 * sizeof(uint32_t) + 1);
}

/* ---- the fast path ---- */

/*
 * The rank rule: the new rank must be strictly above every held rank.
 * Unranked locks (LK_RANK_NONE) on either side are left to the order
 * graph.  A lock taken by trylock is held like any other: blocking on
 * something below it is still a violation.
 */
static inline bool lk_rank_bad(int held_rank, int rank)
{
	return rank != LK_RANK_NONE && held_rank != LK_RANK_NONE && held_rank >= rank;
}

/* The modes of the edge held -> new. */
static inline uint32_t lk_edge_modes(const struct lk_held *h, bool shared)
{
	return (h->flags & LK_HELD_SHARED ? LK_EDGE_FROM_SHARED : 0) |
	       (shared ? LK_EDGE_TO_SHARED : 0);
}

unsigned lk_valid_before_acquire(const struct lk_held *held, unsigned nheld,
				 uint32_t cls, int rank, struct lk_verdict *v)
{
	return lk_valid_before_acquire_mode(held, nheld, cls, rank, false, v);
}

unsigned lk_valid_before_acquire_mode(const struct lk_held *held, unsigned nheld,
				      uint32_t cls, int rank, bool shared,
				      struct lk_verdict *v)
{
	bool full = __atomic_load_n(&lk_graph.nlive, __ATOMIC_RELAXED) >= lk_graph.max_edges;

	v->nnew = 0;
	v->nrepeat = 0;
	v->missing = 0;
	v->npath = 0;
	v->full = false;
	v->lost = false;
	for (unsigned i = 0; i < nheld; i++) {
		uint32_t h = held[i].cls;
		uint32_t id;

		if (h == 0)
			continue;       /* not a node (its table was full): not checked */
		if (lk_rank_bad(held[i].rank, rank))
			lk_verdict_add(v, LK_VIOL_RANK, i, h, cls);
		if (h == cls || i >= 64)
			continue;
		id = lk_edge_find_mode(h, cls, lk_edge_modes(&held[i], shared));
		if (id == 0) {
			if (full)
				v->full = true;
			else
				v->missing |= 1ull << i;
		} else if (lk_graph.edge[id - 1].flags & LK_EDGE_CYCLE) {
			lk_valid_note(LK_VIOL_CYCLE, h, cls);
			v->nrepeat++;
		}
	}
	if (v->nnew > LK_VERDICT_MAX)
		v->nnew = LK_VERDICT_MAX;
	return v->nnew;
}

/* ---- the slow path: insert, search ---- */

/*
 * Breadth-first from `from` to `to` over edges that obey the ranks and
 * lead to live nodes, on states (node, entered shared).  A node entered
 * by a LK_EDGE_TO_SHARED edge cannot be left by a LK_EDGE_FROM_SHARED
 * one: the waiter would share the lock with the holder, not wait.  The
 * search starts in state from_bit and must reach `to` in a state other
 * than end_forbid (bit 1 forbidden when the closing edge leaves `to`
 * shared; end_forbid 2: any state).  On success lk_graph.end is the
 * state reached and lk_graph.via[] points back along the shortest path
 * (the previous state in LK_VIA_BIT).
 */
static bool lk_graph_bfs_mode(uint32_t from, unsigned from_bit, uint32_t to, unsigned end_forbid)
{
	unsigned head = 0, tail = 0;
	uint32_t ep;

	if (++lk_graph.epoch == 0) {    /* wrapped: clear the marks once */
		for (size_t c = 0; c < 2 * ((size_t)lk_graph.max_nodes + 1); c++)
			lk_graph.mark[c] = 0;
		lk_graph.epoch = 1;
	}
	ep = lk_graph.epoch;
	lk_graph.mark[from * 2 + from_bit] = ep;
	lk_graph.via[from * 2 + from_bit] = 0;
	lk_graph.queue[tail++] = from * 2 + from_bit;
	while (head < tail) {
		uint32_t st = lk_graph.queue[head++], c = st >> 1, bit = st & 1;

		if (lk_graph.max_nodes > LK_CLASSES_HARD)
			lk_edges_prune(c);      /* edges into retired program locks go */
		for (uint32_t id = lk_graph.out[c]; id; id = lk_graph.edge[id - 1].next) {
			const struct lk_edge *e = &lk_graph.edge[id - 1];
			uint32_t nb = (e->flags & LK_EDGE_TO_SHARED) ? 1 : 0, ns = e->to * 2 + nb;

			if ((e->flags & LK_EDGE_RANKBAD) ||
			    (bit && (e->flags & LK_EDGE_FROM_SHARED)) ||
			    lk_graph.mark[ns] == ep ||
			    (nb && lk_graph.mark[e->to * 2] == ep) ||  /* entered exclusive already: stronger */
			    (e->to != to && lk_is_dead(e->to)))
				continue;
			lk_graph.mark[ns] = ep;
			lk_graph.via[ns] = id | (bit ? LK_VIA_BIT : 0);
			if (e->to == to && nb != end_forbid) {
				lk_graph.end = ns;
				return true;
			}
			if (e->to != to)
				lk_graph.queue[tail++] = ns;
		}
	}
	return false;
}

static bool lk_graph_bfs(uint32_t from, uint32_t to)
{
	return lk_graph_bfs_mode(from, 0, to, 2);
}

bool lk_valid_reaches(uint32_t a, uint32_t b)
{
	return lk_graph_bfs(a, b);
}

/*
 * The new edge id (held -> cls) closed a cycle: store the cycle in
 * v->path as the new edge, then the path cls ~> held found by the search.
 */
static void lk_verdict_cycle(struct lk_verdict *v, unsigned i, uint32_t id)
{
	enum { HALF = (LK_PATH_MAX - 1) / 2 };
	const struct lk_edge *e = &lk_graph.edge[id - 1];
	uint32_t near_held[HALF], near_cls[HALF];       /* the latter a ring */
	unsigned n = 0, total = 1, room;
	struct lk_conflict *c;

	if (!lk_valid_note(LK_VIOL_CYCLE, e->from, e->to)) {
		v->nrepeat++;
		v->lost |= lk_valid_occurrences(LK_VIOL_CYCLE, e->from, e->to) == 0;
		return;
	}
	if (v->nnew >= LK_VERDICT_MAX) {
		v->nnew++;
		return;
	}
	/* the search's path, walked back from held to cls: keep both ends */
	for (uint32_t st = lk_graph.end; (st >> 1) != e->to; n++) {
		uint32_t via = lk_graph.via[st], vid = via & ~LK_VIA_BIT;

		if (n < HALF)
			near_held[n] = vid;
		else
			near_cls[(n - HALF) % HALF] = vid;
		total++;
		st = lk_graph.edge[vid - 1].from * 2 + (via & LK_VIA_BIT ? 1 : 0);
	}
	c = &v->c[v->nnew++];
	*c = (struct lk_conflict){ .kind = LK_VIOL_CYCLE, .held = (uint8_t)i,
				   .path_off = (uint16_t)v->npath, .path_total = total };
	room = LK_PATH_MAX - v->npath;
	if (room == 0)
		return;
	v->path[v->npath++] = id;
	room--;
	/* cls side first (the ring, newest first), then the held side reversed */
	if (n > HALF) {
		unsigned m = n - HALF < HALF ? n - HALF : HALF;

		for (unsigned k = 0; k < m && room; k++, room--)
			v->path[v->npath++] = near_cls[(n - HALF - 1 - k) % HALF];
		if (n > 2 * HALF)
			c->cut = (uint16_t)(v->npath - c->path_off);
	}
	for (unsigned k = n < HALF ? n : HALF; k-- > 0 && room; room--)
		v->path[v->npath++] = near_held[k];
	c->path_len = (uint16_t)(v->npath - c->path_off);
}

/* The outermost held class other than the edge's ends: a possible gate lock. */
static uint32_t lk_gate_of(const struct lk_held *held, unsigned nheld, uint32_t from,
			   uint32_t to)
{
	for (unsigned i = 0; i < nheld; i++)
		if (held[i].cls != from && held[i].cls != to)
			return held[i].cls;
	return 0;
}

unsigned lk_valid_add_edges(const struct lk_held *held, unsigned nheld,
			    uint32_t cls, int rank, const struct lk_edge_src *src,
			    struct lk_verdict *v)
{
	return lk_valid_add_edges_mode(held, nheld, cls, rank, false, src, v);
}

unsigned lk_valid_add_edges_mode(const struct lk_held *held, unsigned nheld,
				 uint32_t cls, int rank, bool shared,
				 const struct lk_edge_src *src, struct lk_verdict *v)
{
	for (unsigned i = 0; i < nheld && i < 64; i++) {
		uint32_t h = held[i].cls, modes = lk_edge_modes(&held[i], shared);
		uint32_t id;
		struct lk_edge *e;

		if (!h || !(v->missing & (1ull << i)) || lk_edge_find_mode(h, cls, modes))
			continue;       /* another thread (or entry) added it */
		id = lk_edge_alloc();
		if (!id) {
			lk_graph.lost++;
			v->full = true;
			continue;
		}
		e = &lk_graph.edge[id - 1];
		*e = (struct lk_edge){
			.from = h, .to = cls,
			.gate = lk_gate_of(held, nheld, h, cls),
			.stack = src->stack, .held_stack = held[i].stack,
			.tid = src->tid, .pc = src->pc,
			.held_pc = held[i].pc, .held_entry = held[i].entry_pc,
			.flags = modes,
		};
		if (held[i].flags & LK_HELD_TRY)
			e->flags |= LK_EDGE_TRYHELD;
		if (lk_rank_bad(held[i].rank, rank))
			e->flags |= LK_EDGE_RANKBAD;
		else if (lk_graph_bfs_mode(cls, shared ? 1 : 0, h,
					   (modes & LK_EDGE_FROM_SHARED) ? 1 : 2))
			e->flags |= LK_EDGE_CYCLE;
		e->next = lk_graph.out[h];
		__atomic_store_n(&lk_graph.out[h], id, __ATOMIC_RELAXED);   /* read by lk_valid_memory */
		if (id > lk_graph.nedges)
			__atomic_store_n(&lk_graph.nedges, id, __ATOMIC_RELEASE);
		lk_edge_publish(id);
		if (e->flags & LK_EDGE_CYCLE)
			lk_verdict_cycle(v, i, id);
	}
	if (v->nnew > LK_VERDICT_MAX)
		v->nnew = LK_VERDICT_MAX;
	return v->nnew;
}

/* ---- the invariant checker ---- */

int lk_valid_check(const char **why)
{
	unsigned n = lk_valid_nedges(), live = 0, in_hash = 0, in_lists = 0, nfree = 0;

	*why = NULL;
	if (n > lk_graph.max_edges)
		*why = "more edges than max_edges";
	for (uint32_t id = 1; id <= n && !*why; id++) {
		const struct lk_edge *e = &lk_graph.edge[id - 1];

		if (!e->from && !e->to)
			continue;       /* freed */
		live++;
		if (!e->from || !e->to || e->from == e->to)
			*why = "an edge with a zero or self end";
		else if (lk_edge_find_mode(e->from, e->to, e->flags) != id)
			*why = "an edge not found in the hash under its own id";
		else if ((e->flags & LK_EDGE_CYCLE) && (e->flags & LK_EDGE_RANKBAD))
			*why = "an edge both against the ranks and closing a cycle";
	}
	for (uint32_t id = lk_graph.free_head; id && !*why && nfree <= n; id = lk_graph.edge[id - 1].next)
		nfree++;
	if (!*why && (live != lk_graph.nlive || nfree + live != n))
		*why = "live and freed edges do not add up";
	for (unsigned i = 0; i <= lk_graph.hash_mask && !*why; i++) {
		uint32_t id = __atomic_load_n(&lk_graph.hash[i], __ATOMIC_ACQUIRE);

		in_hash += id != 0 && id != LK_EDGE_TOMB;
	}
	for (unsigned c = 1; c <= lk_graph.max_nodes && !*why; c++)
		for (uint32_t id = lk_graph.out[c]; id && !*why; id = lk_graph.edge[id - 1].next) {
			if (id > n || lk_graph.edge[id - 1].from != c)
				*why = "an adjacency list holds a foreign edge";
			in_lists++;
		}
	if (!*why && in_hash != live)
		*why = "the hash holds more or fewer ids than edges";
	if (!*why && in_lists != live)
		*why = "the adjacency lists hold more or fewer edges than recorded";
	return *why ? -EINVAL : 0;
}

/* ---- queries ---- */

unsigned lk_valid_distinct(void)
{
	return __atomic_load_n(&lk_valid.distinct, __ATOMIC_RELAXED);
}

unsigned lk_valid_suppressed(void)
{
	return __atomic_load_n(&lk_valid.nsuppressed, __ATOMIC_RELAXED);
}

unsigned lk_valid_lost(void)
{
	return __atomic_load_n(&lk_valid.lost, __ATOMIC_RELAXED);
}

unsigned lk_valid_occurrences(enum lk_viol_kind kind, uint32_t held_cls, uint32_t cls)
{
	struct lk_valid_slot *s = lk_valid_find(lk_valid_key(kind, held_cls, cls));

	return s ? __atomic_load_n(&s->count, __ATOMIC_RELAXED) : 0;
}

void lk_valid_foreach(lk_valid_visit_fn *fn, void *arg)
{
	for (unsigned i = 0; i <= lk_valid.mask; i++) {
		struct lk_valid_slot *s = &lk_valid.slot[i];
		uint64_t key = __atomic_load_n(&s->key, __ATOMIC_ACQUIRE);

		if (key)
			fn((enum lk_viol_kind)(key >> 60), (uint32_t)((key >> LK_NODE_BITS) & LK_NODE_MASK),
			   (uint32_t)(key & LK_NODE_MASK), __atomic_load_n(&s->count, __ATOMIC_RELAXED),
			   __atomic_load_n(&s->suppressed, __ATOMIC_RELAXED) != 0, arg);
	}
}

const char *lk_valid_kind_name(enum lk_viol_kind kind)
{
	static const char *const names[LK_VIOL_NKINDS] = {
		[LK_VIOL_NONE] = "none",
		[LK_VIOL_RANK] = "rank",
		[LK_VIOL_RECURSIVE] = "recursive locking",
		[LK_VIOL_BAD_UNLOCK] = "bad unlock",
		[LK_VIOL_CYCLE] = "cycle",
	};
	return (unsigned)kind < LK_VIOL_NKINDS ? names[kind] : "?";
}
