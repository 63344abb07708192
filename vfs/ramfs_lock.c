/*
 * ramfs_lock — record locks shared by every process of the segment:
 * fcntl's process-associated locks (F_SETLK/F_SETLKW/F_GETLK), open file
 * description locks (F_OFD_*), and flock locks, with the semantics of
 * Linux's fs/locks.c.
 *
 * Guard: everything in the lock region (struct ramfs_lkhdr and the arrays
 * after it) is guarded by the segment lock ("ramfs_seg": fs->lock, then
 * hdr->mutex), like the rest of the segment; every function here runs
 * with it held.  The per-process owner identity (plk_me) is written with
 * the segment lock held and reset in a fork child.
 *
 * The region (hdr->off_locks):
 *
 *   struct ramfs_lkhdr      sizes, entry allocator (free list + hwm)
 *   struct ramfs_lknode     [nnodes]: the node's lock list head, how many
 *                           waiters sleep on it, and their futex word
 *   struct ramfs_plock      [nlocks]: one lock (node 0: free)
 *   struct ramfs_lkwait     [nwaits]: one sleeping F_SETLKW/flock caller
 *                           and the owner it waits for (EDEADLK walk)
 *
 * Owners.  A process-associated lock belongs to (pid, birth), birth being
 * the process start time (field 22 of /proc/PID/stat), so a recycled pid
 * is not mistaken for the dead owner.  OFD and flock locks belong to the
 * description (its index); they go when the description is freed
 * (ramfs_lk_ofd_gone, called where its last reference drops).
 *
 * Order of a node's list, as the kernel's: owners in the order they first
 * locked, each owner's locks sorted by start.  F_GETLK reports the first
 * conflict in that order, as Linux does.
 *
 * Dead owners.  When a request meets a conflicting lock, the owner is
 * checked: a process lock whose (pid, birth) no longer runs (or is a
 * zombie), or an OFD/flock lock whose description is free or refers to
 * another node, is dropped and the request goes on.  This costs a /proc
 * read, on contention only.
 *
 * Waiting.  A blocked F_SETLKW or flock registers in a waiter slot, bumps
 * the node's nwait, and returns -VFS_EWAIT with the node's futex word and
 * its value; the vfs drops lockfs and sleeps on it (a shared futex, with a
 * timeout so that a holder killed meanwhile is noticed), then calls again.
 * Whoever removes or weakens a lock of a node with waiters bumps the word
 * and wakes them all.  An uncontended lock or unlock makes no system call.
 *
 * Crash: a process that dies holding the segment lock may leave a list
 * half linked; ramfs_lk_repair rebuilds every list and the free list from
 * the entries themselves and drops what no longer has a valid owner.
 */
#include "vfs/ramfs_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PLK_MAXPOS INT64_MAX     /* OFFSET_MAX: "to the end of file" */
#define PLK_DEADLK_STEPS 10      /* the kernel's MAX_DEADLK_ITERATIONS */

struct ramfs_lkhdr {
	uint32_t nlocks;        /* entries, index 0 unused */
	uint32_t nwaits;        /* waiter slots, index 0 unused */
	uint32_t hwm, free, used;
	uint32_t pad;
	uint64_t off_nodes, off_locks, off_waits;   /* from the region start */
};

struct ramfs_lknode {
	uint32_t head;          /* first lock */
	uint32_t nwait;         /* waiters registered on this node */
	uint32_t seq;           /* the futex word waiters sleep on */
	uint32_t pad;
};

struct ramfs_plock {
	uint32_t node;          /* 0: free (next links the free list) */
	uint32_t next;
	uint8_t type;           /* F_RDLCK or F_WRLCK */
	uint8_t kind;           /* VFS_LK_POSIX, VFS_LK_OFD, VFS_LK_FLOCK */
	uint16_t pad;
	uint32_t ofd;           /* OFD, FLOCK: the owning description */
	int32_t pid;            /* POSIX: the owning process */
	int32_t taker;          /* OFD, FLOCK: the process that took it (0: not
				   known or already looked at), a hint for gc */
	uint64_t birth;         /* POSIX: its start time */
	int64_t start, end;     /* bytes [start, end]; end PLK_MAXPOS: to EOF */
};

struct ramfs_lkwait {
	int32_t pid;            /* 0: free */
	uint32_t node;
	uint64_t birth;
	uint32_t kind;          /* of the request */
	uint32_t bkind;         /* of the lock it waits for */
	int32_t bpid;           /* that lock's owner (POSIX) */
	uint32_t bofd;          /* or (OFD/FLOCK) */
	uint64_t bbirth;
};

/* An owner: a process (kind POSIX) or a description. */
struct plk_owner {
	int kind;
	uint32_t ofd;
	int32_t pid;
	uint64_t birth;
};

/* This process (pid 0: not read yet). */
static struct {
	int32_t pid;
	uint64_t birth;
	int atfork;
} plk_me;

static void plk_me_fork_child(void)
{
	plk_me.pid = 0;
}

/* ---- process identity ---- */

/* State and start time of pid from /proc/PID/stat: 0, or -ENOENT. */
static int plk_proc_stat(int32_t pid, char *state, uint64_t *birth)
{
	char path[64], buf[1024];
	long fd, n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT;
	n = syscall(SYS_read, fd, buf, sizeof(buf) - 1);
	syscall(SYS_close, fd);
	if (n <= 0)
		return -ENOENT;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -ENOENT;
	p += 2;
	*state = *p;
	/* field 3 is the state; field 22 the start time */
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -ENOENT;
		p++;
	}
	*birth = strtoull(p, NULL, 10);
	return 0;
}

static void plk_me_init(void)
{
	char st;

	if (plk_me.pid)
		return;
	if (!plk_me.atfork) {
		plk_me.atfork = 1;
		pthread_atfork(NULL, NULL, plk_me_fork_child);
	}
	plk_me.pid = (int32_t)syscall(SYS_getpid);
	if (plk_proc_stat(plk_me.pid, &st, &plk_me.birth) < 0)
		plk_me.birth = 0;
}

/* Is the process (pid, birth) still running (a zombie does not count)? */
static bool plk_proc_alive(int32_t pid, uint64_t birth)
{
	char st;
	uint64_t b;

	if (pid <= 0)
		return false;
	if (pid == plk_me.pid && birth == plk_me.birth)
		return true;
	if (plk_proc_stat(pid, &st, &b) < 0) {
		/* no /proc (or not ours to read): kill(pid, 0) says whether
		 * the pid runs, without the start time */
		return syscall(SYS_kill, pid, 0) == 0 || errno == EPERM;
	}
	return b == birth && st != 'Z' && st != 'X' && st != 'x';
}

/* ---- the region ---- */

static uint32_t plk_nlocks(const struct ramfs_hdr *h)
{
	uint64_t n = (uint64_t)h->nofds * 4;

	return (uint32_t)(n < 256 ? 256 : n > (1u << 20) ? (1u << 20) : n);
}

static uint32_t plk_nwaits(const struct ramfs_hdr *h)
{
	return h->nofds < 64 ? 64 : h->nofds > 1024 ? 1024 : h->nofds;
}

static uint64_t plk_align(uint64_t v)
{
	return (v + 63) / 64 * 64;
}

uint64_t ramfs_lk_size(const struct ramfs_hdr *h)
{
	uint64_t off = plk_align(sizeof(struct ramfs_lkhdr));

	off += plk_align((uint64_t)h->nnodes * sizeof(struct ramfs_lknode));
	off += plk_align((uint64_t)plk_nlocks(h) * sizeof(struct ramfs_plock));
	off += plk_align((uint64_t)plk_nwaits(h) * sizeof(struct ramfs_lkwait));
	return off;
}

void ramfs_lk_init(struct ramfs *fs)
{
	struct ramfs_lkhdr *l = fs->lk;
	uint64_t off = plk_align(sizeof(*l));

	l->nlocks = plk_nlocks(fs->hdr);
	l->nwaits = plk_nwaits(fs->hdr);
	l->hwm = 1;
	l->off_nodes = off;
	off += plk_align((uint64_t)fs->hdr->nnodes * sizeof(struct ramfs_lknode));
	l->off_locks = off;
	off += plk_align((uint64_t)l->nlocks * sizeof(struct ramfs_plock));
	l->off_waits = off;
}

static struct ramfs_lknode *plk_nodes(struct ramfs *fs)
{
	return (struct ramfs_lknode *)((char *)fs->lk + fs->lk->off_nodes);
}

static struct ramfs_plock *plk_locks(struct ramfs *fs)
{
	return (struct ramfs_plock *)((char *)fs->lk + fs->lk->off_locks);
}

static struct ramfs_lkwait *plk_waits(struct ramfs *fs)
{
	return (struct ramfs_lkwait *)((char *)fs->lk + fs->lk->off_waits);
}

static uint32_t plk_alloc(struct ramfs *fs)
{
	struct ramfs_lkhdr *l = fs->lk;
	uint32_t i = l->free;

	if (i) {
		l->free = plk_locks(fs)[i].next;
	} else if (l->hwm < l->nlocks) {
		i = l->hwm++;
	} else {
		return 0;
	}
	l->used++;
	memset(&plk_locks(fs)[i], 0, sizeof(struct ramfs_plock));
	return i;
}

static uint32_t plk_spare(struct ramfs *fs)
{
	struct ramfs_lkhdr *l = fs->lk;

	return l->nlocks - 1 - l->used;
}

static void plk_free(struct ramfs *fs, uint32_t i)
{
	struct ramfs_plock *p = &plk_locks(fs)[i];

	p->node = 0;
	p->next = fs->lk->free;
	fs->lk->free = i;
	fs->lk->used--;
}

/* Wake everyone sleeping on node n (only if someone is). */
static void plk_wake(struct ramfs *fs, uint32_t n)
{
	struct ramfs_lknode *ln = &plk_nodes(fs)[n];

	if (!ln->nwait)
		return;
	__atomic_add_fetch(&ln->seq, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &ln->seq, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* ---- owners ---- */

static bool plk_owns(const struct ramfs_plock *p, const struct plk_owner *o)
{
	if (o->kind == VFS_LK_POSIX)
		return p->kind == VFS_LK_POSIX && p->pid == o->pid && p->birth == o->birth;
	return p->kind != VFS_LK_POSIX && p->ofd == o->ofd && (p->kind == VFS_LK_FLOCK) ==
	       (o->kind == VFS_LK_FLOCK);
}

/* Has process pid ended (gone, or a zombie)?  Without its start time a
 * recycled pid reads as alive: only a hint (see plk_find_conflict). */
static bool plk_pid_gone(int32_t pid)
{
	char st;
	uint64_t b;

	if (plk_proc_stat(pid, &st, &b) < 0)
		return syscall(SYS_kill, pid, 0) < 0 && errno == ESRCH;
	return st == 'Z' || st == 'X' || st == 'x';
}

/* Does lock p still have an owner?  (Checked on contention only.) */
static bool plk_owner_valid(struct ramfs *fs, const struct ramfs_plock *p)
{
	if (p->kind == VFS_LK_POSIX)
		return plk_proc_alive(p->pid, p->birth);
	return p->ofd > 0 && p->ofd < fs->hdr->nofds && fs->ofds[p->ofd].refs != 0 &&
	       fs->ofds[p->ofd].node == p->node;
}

/* Unlink and free the lock at *link. */
static void plk_unlink(struct ramfs *fs, uint32_t *link)
{
	uint32_t i = *link;

	*link = plk_locks(fs)[i].next;
	plk_free(fs, i);
}

/* Drop every lock of node n that the owner no longer holds (dead). */
static bool plk_reap(struct ramfs *fs, uint32_t n, const struct ramfs_plock *dead)
{
	struct ramfs_plock *L = plk_locks(fs);
	struct ramfs_plock d = *dead;
	uint32_t *link = &plk_nodes(fs)[n].head;
	bool any = false;

	while (*link) {
		struct ramfs_plock *p = &L[*link];

		if (p->kind == d.kind && p->pid == d.pid && p->birth == d.birth && p->ofd == d.ofd) {
			plk_unlink(fs, link);
			any = true;
		} else {
			link = &p->next;
		}
	}
	return any;
}

/* ---- process-associated and OFD locks ---- */

static bool plk_conflicts(const struct ramfs_plock *p, int type, int64_t start, int64_t end)
{
	if (p->start > end || p->end < start)
		return false;
	return p->type == F_WRLCK || type == F_WRLCK;
}

/*
 * The first lock of node n that conflicts with (o, type, [start, end])
 * in the given family (fcntl locks or flock locks), dropping locks of
 * dead owners on the way; 0 if none.
 */
static uint32_t plk_find_conflict(struct ramfs *fs, uint32_t n, const struct plk_owner *o, int type,
				 int64_t start, int64_t end)
{
	struct ramfs_plock *L = plk_locks(fs);
	bool flock_family = o->kind == VFS_LK_FLOCK;

again:
	for (uint32_t i = plk_nodes(fs)[n].head; i; i = L[i].next) {
		struct ramfs_plock *p = &L[i];

		if ((p->kind == VFS_LK_FLOCK) != flock_family || plk_owns(p, o))
			continue;
		if (!plk_conflicts(p, type, start, end))
			continue;
		if (!plk_owner_valid(fs, p)) {
			plk_reap(fs, n, p);
			plk_wake(fs, n);
			goto again;
		}
		/* An OFD or flock lock lives as long as its description, and
		 * a description that only killed processes referenced stays
		 * counted until gc.  When the process that took the lock has
		 * ended, gc once for this lock: if that frees the description,
		 * its locks go with it (ramfs_lk_ofd_gone) as the kernel would
		 * have dropped them at the kill. */
		if (p->kind != VFS_LK_POSIX && p->taker > 0 && plk_pid_gone(p->taker)) {
			p->taker = 0;           /* p may be freed by the gc */
			if (ramfs_gc_locked(fs, NULL) > 0)
				goto again;
		}
		return i;
	}
	return 0;
}

/* Insert lock i for owner o keeping the kernel's order (see top). */
static void plk_insert(struct ramfs *fs, uint32_t n, uint32_t i, const struct plk_owner *o)
{
	struct ramfs_plock *L = plk_locks(fs);
	uint32_t *link = &plk_nodes(fs)[n].head;
	uint32_t *after_mine = NULL;

	while (*link) {
		struct ramfs_plock *p = &L[*link];

		if (plk_owns(p, o)) {
			if (p->start > L[i].start)
				break;
			after_mine = &p->next;
		} else if (after_mine) {
			break;
		}
		link = &p->next;
	}
	L[i].next = *link;
	*link = i;
}

/* Adjacent or overlapping (a before or after b, no gap). */
static bool plk_touch(int64_t as, int64_t ae, int64_t bs, int64_t be)
{
	bool a_reaches = ae == PLK_MAXPOS || ae + 1 >= bs;
	bool b_reaches = be == PLK_MAXPOS || be + 1 >= as;

	return a_reaches && b_reaches;
}

/*
 * Apply (o, type, [start, end]) to o's own locks of node n, as
 * posix_lock_inode does: same-type locks that touch it merge into it,
 * other-type locks it overlaps lose the overlap (one may split in two);
 * F_UNLCK only cuts.  The caller checked conflicts.  -ENOLCK if the table
 * cannot hold the result (nothing changed then).
 */
static int plk_apply(struct ramfs *fs, uint32_t n, const struct plk_owner *o, int type,
		    int64_t start, int64_t end)
{
	struct ramfs_plock *L = plk_locks(fs);
	uint32_t *link;
	bool changed = false;

	/* worst case: one split and the new lock */
	if (plk_spare(fs) < (uint32_t)(type != F_UNLCK) + (start > 0 || end < PLK_MAXPOS))
		return -ENOLCK;
	link = &plk_nodes(fs)[n].head;
	while (*link) {
		uint32_t i = *link;
		struct ramfs_plock *p = &L[i];

		if (!plk_owns(p, o)) {
			link = &p->next;
			continue;
		}
		if (type == p->type) {
			if (!plk_touch(p->start, p->end, start, end)) {
				link = &p->next;
				continue;
			}
			if (p->start <= start && p->end >= end)
				return 0;       /* already held */
			if (p->start < start)
				start = p->start;
			if (p->end > end)
				end = p->end;
			plk_unlink(fs, link);
			changed = true;
			continue;
		}
		if (p->end < start || p->start > end) {
			link = &p->next;
			continue;
		}
		changed = true;
		if (p->start < start && p->end > end) {
			/* split: p keeps the head, a new lock the tail */
			uint32_t t = plk_alloc(fs);
			L[t] = *p;
			L[t].start = end + 1;
			L[t].next = 0;
			p->end = start - 1;
			link = &p->next;
			plk_insert(fs, n, t, o);
			continue;
		}
		if (p->start < start) {
			p->end = start - 1;
			link = &p->next;
		} else if (p->end > end) {
			/* keeps its tail: the start moves, the order may too */
			p->start = end + 1;
			*link = p->next;
			plk_insert(fs, n, i, o);
		} else {
			plk_unlink(fs, link);
		}
	}
	if (type != F_UNLCK) {
		uint32_t i = plk_alloc(fs);
		struct ramfs_plock *p = &L[i];

		p->type = (uint8_t)type;
		p->kind = (uint8_t)o->kind;
		p->ofd = o->ofd;
		p->pid = o->pid;
		p->taker = o->kind == VFS_LK_POSIX ? 0 : plk_me.pid;
		p->birth = o->birth;
		p->start = start;
		p->end = end;
		p->node = n;
		plk_insert(fs, n, i, o);
	}
	if (changed)
		plk_wake(fs, n);
	return 0;
}

/* ---- waiting ---- */

static void plk_unwait(struct ramfs *fs, uint32_t slot)
{
	struct ramfs_lkwait *w;

	if (!slot || slot >= fs->lk->nwaits)
		return;
	w = &plk_waits(fs)[slot];
	if (w->pid && w->node < fs->hdr->nnodes && plk_nodes(fs)[w->node].nwait)
		plk_nodes(fs)[w->node].nwait--;
	memset(w, 0, sizeof(*w));
}

/* A free waiter slot, reclaiming those of dead processes if needed. */
static uint32_t plk_wait_slot(struct ramfs *fs)
{
	struct ramfs_lkwait *W = plk_waits(fs);

	for (uint32_t s = 1; s < fs->lk->nwaits; s++)
		if (!W[s].pid)
			return s;
	for (uint32_t s = 1; s < fs->lk->nwaits; s++)
		if (!plk_proc_alive(W[s].pid, W[s].birth)) {
			plk_unwait(fs, s);
			return s;
		}
	return 0;
}

/*
 * posix_locks_deadlock: follow "the owner of the blocking lock waits for
 * the owner of another lock" through the waiter slots; reaching the
 * caller means EDEADLK.  Only process-associated requests and holders
 * take part, as in the kernel.
 */
static bool plk_deadlock(struct ramfs *fs, const struct plk_owner *me, const struct ramfs_plock *b)
{
	struct ramfs_lkwait *W = plk_waits(fs);
	int32_t pid = b->pid;
	uint64_t birth = b->birth;

	if (me->kind != VFS_LK_POSIX || b->kind != VFS_LK_POSIX)
		return false;
	for (int step = 0; step <= PLK_DEADLK_STEPS; step++) {
		uint32_t s;

		for (s = 1; s < fs->lk->nwaits; s++)
			if (W[s].pid == pid && W[s].birth == birth && W[s].kind == VFS_LK_POSIX)
				break;
		if (s == fs->lk->nwaits || W[s].bkind != VFS_LK_POSIX)
			return false;
		if (!plk_proc_alive(W[s].pid, W[s].birth)) {
			plk_unwait(fs, s);
			return false;
		}
		pid = W[s].bpid;
		birth = W[s].bbirth;
		if (pid == me->pid && birth == me->birth)
			return true;
	}
	return false;
}

static int plk_block(struct ramfs *fs, uint32_t n, const struct plk_owner *o,
		    const struct ramfs_plock *b, struct vfs_lock_req *rq)
{
	struct ramfs_lkwait *w;
	uint32_t s;

	if (plk_deadlock(fs, o, b))
		return -EDEADLK;
	/* sleepers of this node that were killed would make every unlock
	 * of it pay a futex wake: forget them */
	for (s = 1; s < fs->lk->nwaits; s++) {
		struct ramfs_lkwait *x = &plk_waits(fs)[s];

		if (x->pid && x->node == n && x->pid != plk_me.pid &&
		    !plk_proc_alive(x->pid, x->birth))
			plk_unwait(fs, s);
	}
	s = plk_wait_slot(fs);
	if (!s)
		return -ENOLCK;
	w = &plk_waits(fs)[s];
	w->pid = plk_me.pid;
	w->birth = plk_me.birth;
	w->node = n;
	w->kind = (uint32_t)o->kind;
	w->bkind = b->kind;
	w->bpid = b->pid;
	w->bbirth = b->birth;
	w->bofd = b->ofd;
	plk_nodes(fs)[n].nwait++;
	rq->slot = s;
	rq->futex = &plk_nodes(fs)[n].seq;
	rq->futex_val = __atomic_load_n(rq->futex, __ATOMIC_ACQUIRE);
	return -VFS_EWAIT;
}

/* ---- the requests ---- */

/* flock64_to_posix_lock: the byte range of fl for description f. */
static int plk_range(struct ramfs *fs, struct ramfs_ofd *of, const struct flock *fl,
		    int64_t *start, int64_t *end)
{
	int64_t base;

	switch (fl->l_whence) {
	case SEEK_SET:
		base = 0;
		break;
	case SEEK_CUR:
		base = of->pos;
		break;
	case SEEK_END:
		base = (int64_t)fs->nodes[of->node].size;
		break;
	default:
		return -EINVAL;
	}
	if (fl->l_start > PLK_MAXPOS - base)
		return -EOVERFLOW;
	base += fl->l_start;
	if (base < 0)
		return -EINVAL;
	if (fl->l_len > 0) {
		if (fl->l_len - 1 > PLK_MAXPOS - base)
			return -EOVERFLOW;
		*start = base;
		*end = base + fl->l_len - 1;
	} else if (fl->l_len < 0) {
		if (base + fl->l_len < 0)
			return -EINVAL;
		*start = base + fl->l_len;
		*end = base - 1;
	} else {
		*start = base;
		*end = PLK_MAXPOS;
	}
	return 0;
}

static void plk_report(const struct ramfs_plock *p, struct flock *fl)
{
	fl->l_type = p->type;
	fl->l_whence = SEEK_SET;
	fl->l_start = p->start;
	fl->l_len = p->end == PLK_MAXPOS ? 0 : p->end - p->start + 1;
	fl->l_pid = p->kind == VFS_LK_POSIX ? p->pid : -1;
}

static int plk_fcntl(struct ramfs *fs, vfs_ofd f, struct vfs_lock_req *rq)
{
	struct ramfs_ofd *of = &fs->ofds[f];
	struct flock *fl = rq->fl;
	struct plk_owner o = { .kind = rq->kind };
	int64_t start, end;
	int type = fl->l_type, r, acc;
	uint32_t n = of->node, c;

	if (rq->get) {
		if (type != F_RDLCK && type != F_WRLCK)
			return -EINVAL;
		r = plk_range(fs, of, fl, &start, &end);
		if (r < 0)
			return r;
	} else {
		r = plk_range(fs, of, fl, &start, &end);
		if (r < 0)
			return r;
		if (type != F_RDLCK && type != F_WRLCK && type != F_UNLCK)
			return -EINVAL;
		acc = of->flags & O_ACCMODE;
		if ((type == F_RDLCK && acc == O_WRONLY) || (type == F_WRLCK && acc == O_RDONLY))
			return -EBADF;
	}
	if (rq->kind == VFS_LK_OFD) {
		if (fl->l_pid != 0)
			return -EINVAL;
		o.ofd = f;
	} else {
		o.pid = plk_me.pid;
		o.birth = plk_me.birth;
	}
	if (rq->get) {
		c = plk_find_conflict(fs, n, &o, type, start, end);
		if (c)
			plk_report(&plk_locks(fs)[c], fl);
		else
			fl->l_type = F_UNLCK;
		return 0;
	}
	if (type != F_UNLCK) {
		c = plk_find_conflict(fs, n, &o, type, start, end);
		if (c) {
			if (!rq->wait)
				return -EAGAIN;
			return plk_block(fs, n, &o, &plk_locks(fs)[c], rq);
		}
	}
	return plk_apply(fs, n, &o, type, start, end);
}

/* flock_lock_inode: conversion drops the old lock first, as Linux does. */
static int plk_flock(struct ramfs *fs, vfs_ofd f, struct vfs_lock_req *rq)
{
	struct ramfs_plock *L = plk_locks(fs);
	struct plk_owner o = { .kind = VFS_LK_FLOCK, .ofd = f };
	uint32_t n = fs->ofds[f].node, *link, c;
	int type = rq->fl->l_type;

	for (link = &plk_nodes(fs)[n].head; *link; link = &L[*link].next) {
		if (!plk_owns(&L[*link], &o))
			continue;
		if (L[*link].type == type)
			return 0;
		plk_unlink(fs, link);
		plk_wake(fs, n);
		break;
	}
	if (type == F_UNLCK)
		return 0;
	c = plk_find_conflict(fs, n, &o, type, 0, PLK_MAXPOS);
	if (c) {
		if (!rq->wait)
			return -EWOULDBLOCK;
		return plk_block(fs, n, &o, &L[c], rq);
	}
	return plk_apply(fs, n, &o, type, 0, PLK_MAXPOS);
}

static int plk_request(struct ramfs *fs, vfs_ofd f, struct vfs_lock_req *rq)
{
	uint32_t n;
	int r = ramfs_ofd_check(fs, f, &n);

	plk_unwait(fs, rq->slot);
	rq->slot = 0;
	if (r < 0)
		return r;
	if (fs->ofds[f].flags & O_PATH)    /* flock(LOCK_UN) passes, as in Linux */
		return rq->kind == VFS_LK_FLOCK && rq->fl->l_type == F_UNLCK ? 0 : -EBADF;
	plk_me_init();
	if (rq->kind == VFS_LK_FLOCK)
		return plk_flock(fs, f, rq);
	return plk_fcntl(fs, f, rq);
}

int ramfs_op_lock(struct vfs_mount *m, vfs_ofd f, struct vfs_lock_req *rq)
{
	RAMFS_LOCKED(ramfs_of(m), plk_request(ramfs_of(m), f, rq));
}

void ramfs_op_lock_cancel(struct vfs_mount *m, struct vfs_lock_req *rq)
{
	struct ramfs *fs = ramfs_of(m);

	if (!rq->slot || ramfs_lock(fs) < 0)
		return;
	plk_unwait(fs, rq->slot);
	rq->slot = 0;
	ramfs_unlock(fs);
}

void ramfs_op_lock_close(struct vfs_mount *m, vfs_ofd f)
{
	struct ramfs *fs = ramfs_of(m);
	uint32_t n;

	if (ramfs_lock(fs) < 0)
		return;
	if (ramfs_ofd_check(fs, f, &n) == 0 && plk_nodes(fs)[n].head) {
		struct plk_owner o = { .kind = VFS_LK_POSIX };

		plk_me_init();
		o.pid = plk_me.pid;
		o.birth = plk_me.birth;
		plk_apply(fs, n, &o, F_UNLCK, 0, PLK_MAXPOS);
	}
	ramfs_unlock(fs);
}

/* Description f (of node n) was freed: its OFD and flock locks go. */
void ramfs_lk_ofd_gone(struct ramfs *fs, uint32_t f, uint32_t n)
{
	struct ramfs_plock *L = plk_locks(fs);
	uint32_t *link, steps = 0;
	bool any = false;

	if (!n || n >= fs->hdr->nnodes)
		return;
	link = &plk_nodes(fs)[n].head;
	while (*link && steps++ < fs->lk->nlocks) {
		struct ramfs_plock *p = &L[*link];

		if (p->kind != VFS_LK_POSIX && p->ofd == f) {
			plk_unlink(fs, link);
			any = true;
		} else {
			link = &p->next;
		}
	}
	if (any)
		plk_wake(fs, n);
}

/* Node n is being freed: no lock may outlive it. */
void ramfs_lk_node_gone(struct ramfs *fs, uint32_t n)
{
	struct ramfs_lknode *ln;
	uint32_t steps = 0;

	if (!n || n >= fs->hdr->nnodes)
		return;
	ln = &plk_nodes(fs)[n];
	while (ln->head && ln->head < fs->lk->nlocks && steps++ < fs->lk->nlocks)
		plk_unlink(fs, &ln->head);
	ln->head = 0;
	plk_wake(fs, n);
}

/* ---- fsck and repair ---- */

static bool plk_node_live(struct ramfs *fs, uint32_t n)
{
	return n > 0 && n < fs->hdr->tab[RAMFS_T_NODE].hwm && fs->nodes[n].mode != 0;
}

/* Can lock i stand as it is (fields in range, owner description valid)? */
static const char *plk_entry_bad(struct ramfs *fs, uint32_t i)
{
	struct ramfs_plock *p = &plk_locks(fs)[i];

	if (!plk_node_live(fs, p->node))
		return "node not in use";
	if (p->type != F_RDLCK && p->type != F_WRLCK)
		return "bad type";
	if (p->kind != VFS_LK_POSIX && p->kind != VFS_LK_OFD && p->kind != VFS_LK_FLOCK)
		return "bad kind";
	if (p->start < 0 || p->end < p->start)
		return "bad range";
	if (p->kind == VFS_LK_POSIX && p->pid <= 0)
		return "bad owner pid";
	if (p->kind != VFS_LK_POSIX &&
	    (p->ofd == 0 || p->ofd >= fs->hdr->nofds || fs->ofds[p->ofd].refs == 0 ||
	     fs->ofds[p->ofd].node != p->node))
		return "owner description not open on this file";
	if (p->kind == VFS_LK_FLOCK && (p->start != 0 || p->end != PLK_MAXPOS))
		return "flock lock not whole-file";
	return NULL;
}

static bool plk_same_owner(const struct ramfs_plock *a, const struct ramfs_plock *b)
{
	return a->kind == b->kind && a->pid == b->pid && a->birth == b->birth && a->ofd == b->ofd;
}

/* Two locks of one node that cannot both stand. */
static const char *plk_pair_bad(const struct ramfs_plock *a, const struct ramfs_plock *b)
{
	if ((a->kind == VFS_LK_FLOCK) != (b->kind == VFS_LK_FLOCK))
		return NULL;
	if (plk_same_owner(a, b))
		return a->end < b->start || b->end < a->start ? NULL : "one owner's locks overlap";
	if (plk_conflicts(a, b->type, b->start, b->end))
		return "conflicting locks of two owners";
	return NULL;
}

int ramfs_lk_fsck(struct ramfs *fs, char *buf, size_t buflen)
{
	struct ramfs_lkhdr *l = fs->lk;
	struct ramfs_plock *L = plk_locks(fs);
	uint32_t seen = 0, nfree = 0;
	const char *why;

#define PLK_BAD(...) (snprintf(buf, buflen, __VA_ARGS__), -EUCLEAN)
	if (l->hwm < 1 || l->hwm > l->nlocks || l->nlocks != plk_nlocks(fs->hdr))
		return PLK_BAD("locks: bad table header");
	for (uint32_t i = 1; i < l->hwm; i++) {
		if (!L[i].node)
			continue;
		why = plk_entry_bad(fs, i);
		if (why)
			return PLK_BAD("lock %u: %s", i, why);
	}
	for (uint32_t n = 1; n < fs->hdr->tab[RAMFS_T_NODE].hwm; n++) {
		uint32_t steps = 0;

		for (uint32_t i = plk_nodes(fs)[n].head; i; i = L[i].next) {
			if (i >= l->hwm || L[i].node != n || ++steps > l->used)
				return PLK_BAD("locks: list of node %u broken at %u", n, i);
			for (uint32_t j = L[i].next; j && j < l->hwm; j = L[j].next) {
				why = plk_pair_bad(&L[i], &L[j]);
				if (why)
					return PLK_BAD("locks %u and %u of node %u: %s", i, j, n, why);
			}
		}
		seen += steps;
	}

	for (uint32_t i = l->free; i; i = L[i].next) {
		if (i >= l->hwm || L[i].node || ++nfree > l->hwm)
			return PLK_BAD("locks: free list broken at %u", i);
	}
	if (seen != l->used || seen + nfree != l->hwm - 1)
		return PLK_BAD("locks: %u listed, %u free, %u counted used, hwm %u", seen, nfree,
			      l->used, l->hwm);
	for (uint32_t s = 1; s < l->nwaits; s++) {
		struct ramfs_lkwait *w = &plk_waits(fs)[s];

		if (w->pid && (w->pid < 0 || w->node == 0 || w->node >= fs->hdr->nnodes))
			return PLK_BAD("lock waiter %u: bad node %u", s, w->node);
	}
#undef PLK_BAD
	return 0;
}

/*
 * Rebuild the lock lists, the free list and the waiter counts from the
 * entries alone, keeping each lock that still has a valid owner and does
 * not clash with one kept before it.  Process-associated locks of dead
 * processes are dropped here too (the crashed holder's among them).
 */
void ramfs_lk_repair(struct ramfs *fs)
{
	struct ramfs_lkhdr *l = fs->lk;
	struct ramfs_plock *L = plk_locks(fs);
	struct ramfs_lknode *N = plk_nodes(fs);
	struct ramfs_lkwait *W = plk_waits(fs);

	plk_me_init();
	if (l->hwm < 1 || l->hwm > l->nlocks)
		l->hwm = l->nlocks;
	for (uint32_t n = 0; n < fs->hdr->nnodes; n++) {
		N[n].head = 0;
		N[n].nwait = 0;
	}
	l->free = 0;
	l->used = 0;
	for (uint32_t i = l->hwm - 1; i >= 1; i--) {
		struct ramfs_plock *p = &L[i];
		bool keep = p->node && !plk_entry_bad(fs, i) &&
			    (p->kind != VFS_LK_POSIX || plk_proc_alive(p->pid, p->birth));

		for (uint32_t j = keep ? N[p->node].head : 0; j; j = L[j].next)
			if (plk_pair_bad(p, &L[j]))
				keep = false;
		if (keep) {
			struct plk_owner o = { .kind = p->kind, .ofd = p->ofd, .pid = p->pid,
					      .birth = p->birth };
			l->used++;
			plk_insert(fs, p->node, i, &o);
		} else {
			p->node = 0;
			p->next = l->free;
			l->free = i;
		}
	}
	for (uint32_t s = 1; s < l->nwaits; s++) {
		struct ramfs_lkwait *w = &W[s];

		if (!w->pid)
			continue;
		if (w->pid < 0 || !w->node || w->node >= fs->hdr->nnodes)
			memset(w, 0, sizeof(*w));
		else
			N[w->node].nwait++;
	}
	/* wake every sleeper: what it waited for may be gone */
	for (uint32_t n = 1; n < fs->hdr->nnodes; n++)
		plk_wake(fs, n);
}

/* Test-only: damage the table as a crash in the middle of an operation
 * could (kind 0: a node's list head lost; 1: a second owner's conflicting
 * lock on the first lock's range; 2: the free list broken).  Call with
 * the segment lock held, then ramfs_fsck must fail. */
void ramfs_lk_test_damage(struct ramfs *fs, int kind)
{
	struct ramfs_lkhdr *l = fs->lk;
	struct ramfs_plock *L = plk_locks(fs);
	uint32_t i = 1;

	while (i < l->hwm && !L[i].node)
		i++;
	switch (kind) {
	case 0:
		if (i < l->hwm)
			plk_nodes(fs)[L[i].node].head = 0;
		break;
	case 1:
		if (i < l->hwm) {
			uint32_t j = plk_alloc(fs);
			L[j] = L[i];
			L[j].type = F_WRLCK;
			L[j].pid = L[i].pid + 1;
			L[j].kind = VFS_LK_POSIX;
			L[j].ofd = 0;
			L[j].next = plk_nodes(fs)[L[i].node].head;
			plk_nodes(fs)[L[i].node].head = j;
		}
		break;
	default:
		l->free = l->hwm + 5;
		break;
	}
}
