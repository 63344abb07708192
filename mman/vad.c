/*
 * vad.c — the VAD index: array, free list, sorted active list and an
 * augmented AVL tree over the active VADs.
 *
 * Locking: none taken here.  Every function runs with the owning mman's
 * lock held (struct mman.lock, LK_RANK_MMAN); the caller takes it, so this
 * file neither takes nor checks a lock.
 *
 * Allocation: none.  The VAD array is handed in by the caller (lazily
 * committed arena memory), and this file sits under the shim's own mmap
 * and malloc paths, so it calls no allocator and no stdio; vad_check
 * formats its message by hand.
 *
 *      base                                                       end
 *       |<-gap0->[vad A]<-gap1->[vad B]<--gap2-->[vad C]<-tail gap->|
 *
 *                      B  gap_before = gap1
 *                     / \ max_gap    = max(gap0, gap1, gap2)
 *                    A   C
 *              gap0       gap2
 *
 * Each node keeps gap_before (the hole just below it) and max_gap (the
 * largest gap_before in its subtree), so a gap search skips any subtree
 * whose holes are all too small.  The tail gap belongs to no node; it is
 * ix->end - ix->tail->end and is looked at first, since search is
 * top-down.  Address 0 is never managed (mmap_min_addr), which is why
 * vad_find_gap may use 0 for "no gap".
 *
 * Cost: find, find_next, insert, remove, resize, range_free and find_gap
 * are O(log n); vad_check is O(n).
 */
#include "mman/vad.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define VAD_PAGE_SIZE ((uintptr_t)4096)
#define VAD_PAGE_MASK (VAD_PAGE_SIZE - 1)

/*
 * An AVL tree of n nodes is at most 1.44 log2(n + 2) high, below 93 for
 * any 64-bit count; a deeper walk in vad_check means a cycle.
 */
#define VAD_MAX_DEPTH 96

static inline uintptr_t vad_max(uintptr_t a, uintptr_t b)
{
	return a > b ? a : b;
}

static inline uintptr_t vad_min(uintptr_t a, uintptr_t b)
{
	return a < b ? a : b;
}

static inline int32_t vad_height(const struct vad *n)
{
	return n ? n->height : 0;
}

static inline uintptr_t vad_subtree_gap(const struct vad *n)
{
	return n ? n->max_gap : 0;
}

/* Where the hole below v begins: the previous VAD's end, or base. */
static inline uintptr_t vad_prev_end(const struct vad_index *ix, const struct vad *v)
{
	return v->prev ? v->prev->end : ix->base;
}

/* ---- init and the VAD pool ---------------------------------------- */

void vad_index_init(struct vad_index *ix, uintptr_t base, uintptr_t end,
		    struct vad *array, size_t capacity)
{
	memset(ix, 0, sizeof(*ix));
	ix->base = base;
	ix->end = end;
	ix->array = array;
	ix->end_vad = capacity;
}

struct vad *vad_alloc(struct vad_index *ix)
{
	struct vad *v;

	/* Reuse released slots first so the committed part of the array
	 * grows only when the live set does. */
	if (ix->free) {
		v = ix->free;
		ix->free = v->free_next;
	} else if (ix->next_vad < ix->end_vad) {
		v = &ix->array[ix->next_vad++];
	} else {
		return NULL;
	}
	memset(v, 0, sizeof(*v));
	v->fmap = -1;
	return v;
}

void vad_free(struct vad_index *ix, struct vad *v)
{
	/* Cleared so that vad_check can tell a freed VAD (end == 0) from one
	 * still in use, and stale links fault early rather than late. */
	if (ix->finger == v)
		ix->finger = NULL;
	memset(v, 0, sizeof(*v));
	v->free_next = ix->free;
	ix->free = v;
}

/* ---- lookups -------------------------------------------------------- */

/* The finger or one of its list neighbours, when it is the answer to
 * vad_find_next(addr): the first VAD with end > addr. */
static struct vad *vad_near(const struct vad_index *ix, uintptr_t addr)
{
	struct vad *f = ix->finger;

	if (!f)
		return NULL;
	for (int i = 0; i < 2 && f; i++, f = f->next)
		if (f->end > addr && (!f->prev || f->prev->end <= addr))
			return f;
	f = ix->finger->prev;
	if (f && f->end > addr && (!f->prev || f->prev->end <= addr))
		return f;
	return NULL;
}

/* The finger is a cache, not state: lookups stay logically const. */
static void vad_set_finger(const struct vad_index *ix, struct vad *v)
{
	if (v)
		((struct vad_index *)ix)->finger = v;
}

struct vad *vad_find(const struct vad_index *ix, uintptr_t addr)
{
	struct vad *n = vad_near(ix, addr);

	if (n)
		return n->start <= addr ? n : NULL;
	n = ix->root;
	while (n) {
		if (addr < n->start)
			n = n->left;
		else if (addr >= n->end)
			n = n->right;
		else
			break;
	}
	vad_set_finger(ix, n);
	return n;
}

struct vad *vad_find_next(const struct vad_index *ix, uintptr_t addr)
{
	struct vad *n = vad_near(ix, addr), *best = NULL;

	if (n)
		return n;
	n = ix->root;
	/* VADs are disjoint, so ends are ordered like starts and the tree
	 * can be searched by end as well. */
	while (n) {
		if (n->end > addr) {
			best = n;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	vad_set_finger(ix, best);
	return best;
}

int vad_range_free(const struct vad_index *ix, uintptr_t start, uintptr_t end)
{
	const struct vad *v;

	if (start >= end)
		return 1;
	v = vad_find_next(ix, start);
	return !v || v->start >= end;
}

/* ---- tree maintenance ----------------------------------------------- */

/* Recompute n's derived fields from its children; nonzero if they changed. */
static int vad_update(struct vad *n)
{
	int32_t hl = vad_height(n->left), hr = vad_height(n->right);
	int32_t h = 1 + (hl > hr ? hl : hr);
	uintptr_t g = vad_max(n->gap_before,
			      vad_max(vad_subtree_gap(n->left), vad_subtree_gap(n->right)));
	int changed = h != n->height || g != n->max_gap;

	n->height = h;
	n->max_gap = g;
	return changed;
}

static void vad_replace_child(struct vad_index *ix, struct vad *parent,
			      struct vad *old, struct vad *repl)
{
	if (!parent)
		ix->root = repl;
	else if (parent->left == old)
		parent->left = repl;
	else
		parent->right = repl;
}

/* x's right child y becomes the subtree root; returns y. */
static struct vad *vad_rotate_left(struct vad_index *ix, struct vad *x)
{
	struct vad *y = x->right;

	x->right = y->left;
	if (y->left)
		y->left->parent = x;
	y->parent = x->parent;
	vad_replace_child(ix, x->parent, x, y);
	y->left = x;
	x->parent = y;
	vad_update(x);
	vad_update(y);
	return y;
}

/* x's left child y becomes the subtree root; returns y. */
static struct vad *vad_rotate_right(struct vad_index *ix, struct vad *x)
{
	struct vad *y = x->left;

	x->left = y->right;
	if (y->right)
		y->right->parent = x;
	y->parent = x->parent;
	vad_replace_child(ix, x->parent, x, y);
	y->right = x;
	x->parent = y;
	vad_update(x);
	vad_update(y);
	return y;
}

/* Restore balance at n (children already sound); returns the subtree root. */
static struct vad *vad_balance(struct vad_index *ix, struct vad *n)
{
	int32_t bf = vad_height(n->left) - vad_height(n->right);

	if (bf > 1) {
		if (vad_height(n->left->left) < vad_height(n->left->right))
			vad_rotate_left(ix, n->left);
		return vad_rotate_right(ix, n);
	}
	if (bf < -1) {
		if (vad_height(n->right->right) < vad_height(n->right->left))
			vad_rotate_right(ix, n->right);
		return vad_rotate_left(ix, n);
	}
	vad_update(n);
	return n;
}

/*
 * Walk from n to the root rebalancing.  The walk never stops early: a
 * changed gap below may alter max_gap above even where heights settle.
 */
static void vad_rebalance(struct vad_index *ix, struct vad *n)
{
	while (n)
		n = vad_balance(ix, n)->parent;
}

/*
 * n's gap_before changed but the shape did not: refresh max_gap upwards.
 * Once a node's fields come out unchanged its ancestors cannot change.
 */
static void vad_propagate(struct vad *n)
{
	while (n && vad_update(n))
		n = n->parent;
}

/* ---- insert, remove, resize ----------------------------------------- */

static void vad_list_link(struct vad_index *ix, struct vad *v,
			  struct vad *pred, struct vad *succ)
{
	v->prev = pred;
	v->next = succ;
	if (pred)
		pred->next = v;
	else
		ix->head = v;
	if (succ)
		succ->prev = v;
	else
		ix->tail = v;
}

static void vad_list_unlink(struct vad_index *ix, struct vad *v)
{
	if (v->prev)
		v->prev->next = v->next;
	else
		ix->head = v->next;
	if (v->next)
		v->next->prev = v->prev;
	else
		ix->tail = v->prev;
}

void vad_insert(struct vad_index *ix, struct vad *v)
{
	struct vad **link = &ix->root;
	struct vad *parent = NULL, *pred = NULL, *succ = NULL;

	/* The last nodes where the descent turned right and left are v's
	 * list neighbours, so the list needs no walk of its own. */
	while (*link) {
		parent = *link;
		if (v->start < parent->start) {
			succ = parent;
			link = &parent->left;
		} else {
			pred = parent;
			link = &parent->right;
		}
	}
	*link = v;
	v->parent = parent;
	v->left = v->right = NULL;
	vad_list_link(ix, v, pred, succ);

	v->gap_before = v->start - vad_prev_end(ix, v);
	if (succ)
		succ->gap_before = succ->start - v->end;
	vad_rebalance(ix, v);
	/* succ is an ancestor of v and was refreshed above; this is cheap
	 * insurance that stops at once. */
	vad_propagate(succ);
	ix->count++;
}

/*
 * Take v out of the tree; returns the lowest node whose subtree changed
 * (where rebalancing starts), NULL if the tree is now empty.
 */
static struct vad *vad_tree_unlink(struct vad_index *ix, struct vad *v)
{
	struct vad *s, *from;

	if (!v->left || !v->right) {
		struct vad *child = v->left ? v->left : v->right;

		if (child)
			child->parent = v->parent;
		vad_replace_child(ix, v->parent, v, child);
		return v->parent;
	}
	/* Two children: v's successor s, leftmost of the right subtree,
	 * has no left child and takes v's place. */
	s = v->right;
	while (s->left)
		s = s->left;
	if (s == v->right) {
		from = s;
	} else {
		from = s->parent;
		from->left = s->right;
		if (s->right)
			s->right->parent = from;
		s->right = v->right;
		v->right->parent = s;
	}
	s->left = v->left;
	v->left->parent = s;
	s->parent = v->parent;
	vad_replace_child(ix, v->parent, v, s);
	return from;
}

void vad_remove(struct vad_index *ix, struct vad *v)
{
	struct vad *next = v->next;

	if (ix->finger == v)
		ix->finger = NULL;
	vad_list_unlink(ix, v);
	/* v's hole and v itself merge into the hole below next. */
	if (next)
		next->gap_before = next->start - vad_prev_end(ix, next);
	vad_rebalance(ix, vad_tree_unlink(ix, v));
	/* Rotations may have read next's stale max_gap; fix it and upwards. */
	vad_propagate(next);
	v->prev = v->next = v->left = v->right = v->parent = NULL;
	ix->count--;
}

void vad_resize(struct vad_index *ix, struct vad *v, uintptr_t start, uintptr_t end)
{
	/* Neighbours do not move and v may not cross them, so the key order
	 * holds; only the two gaps touching v change. */
	v->start = start;
	v->end = end;
	v->gap_before = start - vad_prev_end(ix, v);
	vad_propagate(v);
	if (v->next) {
		v->next->gap_before = v->next->start - end;
		vad_propagate(v->next);
	}
}

/* ---- gap search ----------------------------------------------------- */

/* The highest a with [a, a+len) inside [gs, ge) and [lo, hi), or 0. */
static uintptr_t vad_gap_fit(uintptr_t gs, uintptr_t ge, uintptr_t len,
			     uintptr_t lo, uintptr_t hi)
{
	gs = vad_max(gs, lo);
	ge = vad_min(ge, hi);
	return ge > gs && ge - gs >= len ? ge - len : 0;
}

/*
 * Reverse in-order walk (right, self, left) for the highest fitting hole.
 * max_gap ignores [lo, hi), so it only proves a subtree too small; the key
 * tests prune subtrees whose holes lie wholly above hi or below lo.  Only
 * the holes containing lo or hi are clipped, and both lie on one root path
 * each, so any other subtree entered with max_gap >= len is wholly inside
 * the window and succeeds: the walk is O(log n).
 */
static uintptr_t vad_gap_search(const struct vad *n, uintptr_t len,
				uintptr_t lo, uintptr_t hi)
{
	uintptr_t a;

	if (!n || n->max_gap < len)
		return 0;
	/* Holes right of n begin at or above n->end. */
	if (n->end < hi) {
		a = vad_gap_search(n->right, len, lo, hi);
		if (a)
			return a;
	}
	a = vad_gap_fit(n->start - n->gap_before, n->start, len, lo, hi);
	if (a)
		return a;
	/* Holes left of n end below n->start. */
	if (n->start > lo)
		return vad_gap_search(n->left, len, lo, hi);
	return 0;
}

/* Clip [lo, hi) to the index and round to pages; false when nothing fits. */
static bool vad_gap_window(const struct vad_index *ix, size_t *len, uintptr_t *lo, uintptr_t *hi)
{
	*lo = vad_max(*lo, ix->base);
	*hi = vad_min(*hi, ix->end);
	if (*len == 0 || *hi <= *lo || *len > *hi - *lo)
		return false;
	/* Callers pass pages; rounding keeps a stray value page aligned.
	 * lo < hi <= end (page aligned) so neither rounding overflows. */
	*len = (*len + VAD_PAGE_MASK) & ~VAD_PAGE_MASK;
	*lo = (*lo + VAD_PAGE_MASK) & ~VAD_PAGE_MASK;
	*hi &= ~VAD_PAGE_MASK;
	return true;
}

uintptr_t vad_find_gap(const struct vad_index *ix, size_t len, uintptr_t lo, uintptr_t hi)
{
	uintptr_t top, tail_start;

	if (!vad_gap_window(ix, &len, &lo, &hi))
		return 0;
	tail_start = ix->tail ? ix->tail->end : ix->base;
	top = vad_gap_fit(tail_start, ix->end, len, lo, hi);
	if (top)
		return top;
	return vad_gap_search(ix->root, len, lo, hi);
}

/* The lowest a with [a, a+len) inside [gs, ge) and [lo, hi), or 0. */
static uintptr_t vad_gap_fit_low(uintptr_t gs, uintptr_t ge, uintptr_t len,
				 uintptr_t lo, uintptr_t hi)
{
	gs = vad_max(gs, lo);
	ge = vad_min(ge, hi);
	return ge > gs && ge - gs >= len ? gs : 0;
}

/* In-order walk (left, self, right) for the lowest fitting hole; the
 * mirror of vad_gap_search, with the same pruning and cost. */
static uintptr_t vad_gap_search_low(const struct vad *n, uintptr_t len,
				    uintptr_t lo, uintptr_t hi)
{
	uintptr_t a;

	if (!n || n->max_gap < len)
		return 0;
	if (n->start > lo) {
		a = vad_gap_search_low(n->left, len, lo, hi);
		if (a)
			return a;
	}
	a = vad_gap_fit_low(n->start - n->gap_before, n->start, len, lo, hi);
	if (a)
		return a;
	if (n->end < hi)
		return vad_gap_search_low(n->right, len, lo, hi);
	return 0;
}

uintptr_t vad_find_gap_low(const struct vad_index *ix, size_t len, uintptr_t lo, uintptr_t hi)
{
	uintptr_t a, tail_start;

	if (!vad_gap_window(ix, &len, &lo, &hi))
		return 0;

	a = vad_gap_search_low(ix->root, len, lo, hi);
	if (a)
		return a;
	tail_start = ix->tail ? ix->tail->end : ix->base;
	return vad_gap_fit_low(tail_start, ix->end, len, lo, hi);
}

/* ---- invariant check ------------------------------------------------ */

struct vad_checker {
	const struct vad_index *ix;
	const struct vad *cursor;   /* list element the in-order walk meets next */
	size_t seen;                /* tree nodes visited */
	char *buf;
	size_t buflen, pos;
};

static void vad_put(struct vad_checker *c, const char *s)
{
	while (*s && c->pos + 1 < c->buflen)
		c->buf[c->pos++] = *s++;
	if (c->buflen)
		c->buf[c->pos] = '\0';
}

static void vad_put_hex(struct vad_checker *c, uintptr_t x)
{
	char tmp[2 + 2 * sizeof(x) + 1];
	int i = (int)sizeof(tmp) - 1;

	tmp[i] = '\0';
	do {
		tmp[--i] = "0123456789abcdef"[x & 15];
		x >>= 4;
	} while (x);
	tmp[--i] = 'x';
	tmp[--i] = '0';
	vad_put(c, tmp + i);
}

/* Record "vad_check: what [start, end)" and return -EFAULT. */
static int vad_fail(struct vad_checker *c, const char *what, const struct vad *v)
{
	c->pos = 0;
	vad_put(c, "vad_check: ");
	vad_put(c, what);
	if (v) {
		vad_put(c, " at [");
		vad_put_hex(c, v->start);
		vad_put(c, ", ");
		vad_put_hex(c, v->end);
		vad_put(c, ")");
	}
	return -EFAULT;
}

/* Is v a slot of the array that has been handed out at some time? */
static int vad_in_array(const struct vad_index *ix, const struct vad *v)
{
	uintptr_t off = (uintptr_t)v - (uintptr_t)ix->array;

	return (uintptr_t)v >= (uintptr_t)ix->array &&
	       off / sizeof(*v) < ix->next_vad && off % sizeof(*v) == 0;
}

static int vad_check_index(struct vad_checker *c)
{
	const struct vad_index *ix = c->ix;

	if (ix->base > ix->end || ((ix->base | ix->end) & VAD_PAGE_MASK))
		return vad_fail(c, "managed range unaligned or inverted", NULL);
	if (ix->next_vad > ix->end_vad || (ix->end_vad && !ix->array))
		return vad_fail(c, "array bounds wrong", NULL);
	return 0;
}

static int vad_check_free_list(struct vad_checker *c)
{
	const struct vad_index *ix = c->ix;
	const struct vad *v;
	size_t n = 0;

	for (v = ix->free; v; v = v->free_next) {
		if (++n + ix->count > ix->next_vad)
			return vad_fail(c, "free list too long or cyclic", NULL);
		if (!vad_in_array(ix, v))
			return vad_fail(c, "free VAD outside the array", NULL);
		/* vad_free clears the VAD: bounds here mean it is in use. */
		if (v->end != 0)
			return vad_fail(c, "free VAD has bounds", v);
	}
	return 0;
}

static int vad_check_one(struct vad_checker *c, const struct vad *v,
			 const struct vad *prev)
{
	const struct vad_index *ix = c->ix;
	uintptr_t prev_end = prev ? prev->end : ix->base;

	if (!vad_in_array(ix, v))
		return vad_fail(c, "active VAD outside the array", NULL);
	if (v->prev != prev)
		return vad_fail(c, "prev link wrong", v);
	if (v->start >= v->end)
		return vad_fail(c, "empty or inverted VAD", v);
	if ((v->start | v->end) & VAD_PAGE_MASK)
		return vad_fail(c, "VAD unaligned", v);
	if (v->start < prev_end)
		return vad_fail(c, "VAD unsorted or overlapping", v);
	if (v->end > ix->end)
		return vad_fail(c, "VAD beyond the managed range", v);
	if (v->gap_before != v->start - prev_end)
		return vad_fail(c, "gap_before wrong", v);
	return 0;
}

static int vad_check_list(struct vad_checker *c)
{
	const struct vad_index *ix = c->ix;
	const struct vad *v, *prev = NULL;
	size_t n = 0;
	int err;

	for (v = ix->head; v; prev = v, v = v->next) {
		if (++n > ix->count)
			return vad_fail(c, "list longer than count", v);
		err = vad_check_one(c, v, prev);
		if (err)
			return err;
	}
	if (n != ix->count)
		return vad_fail(c, "list shorter than count", NULL);
	if (ix->tail != prev)
		return vad_fail(c, "tail is not the last VAD", ix->tail);
	return 0;
}

/* Derived fields and links of n, its subtrees already checked. */
static int vad_check_node(struct vad_checker *c, const struct vad *n)
{
	int32_t hl = vad_height(n->left), hr = vad_height(n->right);
	uintptr_t g = vad_max(n->gap_before,
			      vad_max(vad_subtree_gap(n->left), vad_subtree_gap(n->right)));

	if (n->height != 1 + (hl > hr ? hl : hr))
		return vad_fail(c, "height wrong", n);
	if (hl - hr > 1 || hr - hl > 1)
		return vad_fail(c, "AVL balance broken", n);
	if (n->max_gap != g)
		return vad_fail(c, "max_gap wrong", n);
	return 0;
}

/*
 * In-order walk matched node by node against the sorted list: this proves
 * BST order and that list and tree hold the same VADs.
 */
static int vad_check_tree(struct vad_checker *c, const struct vad *n,
			  const struct vad *parent, int depth)
{
	int err;

	if (!n)
		return 0;
	if (depth > VAD_MAX_DEPTH || c->seen >= c->ix->count)
		return vad_fail(c, "tree too deep or cyclic", NULL);
	if (n->parent != parent)
		return vad_fail(c, "parent link wrong", n);
	err = vad_check_tree(c, n->left, n, depth + 1);
	if (err)
		return err;
	if (n != c->cursor)
		return vad_fail(c, "tree order differs from list", n);
	c->cursor = n->next;
	c->seen++;
	err = vad_check_tree(c, n->right, n, depth + 1);
	if (err)
		return err;
	return vad_check_node(c, n);
}

int vad_check(const struct vad_index *ix, char *buf, size_t buflen)
{
	struct vad_checker c = { .ix = ix, .cursor = ix->head, .buf = buf, .buflen = buflen };
	int err;

	if (buflen)
		buf[0] = '\0';
	err = vad_check_index(&c);
	if (!err)
		err = vad_check_free_list(&c);
	if (!err)
		err = vad_check_list(&c);
	if (!err && ix->root && ix->root->parent)
		err = vad_fail(&c, "root has a parent", ix->root);
	if (!err)
		err = vad_check_tree(&c, ix->root, NULL, 0);
	if (!err && c.seen != ix->count)
		err = vad_fail(&c, "tree holds fewer VADs than the list", NULL);
	return err;
}
