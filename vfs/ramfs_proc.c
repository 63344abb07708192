/*
 * ramfs_proc — who holds which references, so that what a killed process
 * held can be given back (`vadshim ramfs gc`, and automatically when an
 * allocation runs out of space or table entries).
 *
 * Everything here is guarded by the segment lock (hdr->mutex guards the
 * process table); struct ramfs.proc is written by this process only, at
 * attach and in a fork child, before any other thread exists there.
 *
 * A process's slot (struct ramfs_proc, layout in ramfs_int.h) is keyed by
 * pid and start time, so a reused pid is not mistaken for the dead
 * process.  It counts the references the process holds, per object:
 * open file descriptions (ofd refs), pinned pages of a node (mappings)
 * and cwd holds of a node.  The counts are kept inside the operations that
 * change the references, which all run under the segment lock anyway, so
 * the fast path (read, write, seek) is untouched and open/close make no
 * system call for it.
 *
 *   - a count goes up after the reference is taken and down before it is
 *     dropped, and never below 0: at every store, and so after a crash,
 *     a count is at most what the process really holds.  gc dropping a
 *     dead process's counts therefore never under-counts; a reference
 *     that was not recorded (table full, or taken by a process without a
 *     slot) stays: an over-count, as the issue allows.
 *   - fork: the child takes its own references (vfs_fork_child) after
 *     ramfs_forked gave it a slot of its own.
 *   - exec keeps the pid and the start time: the new image finds its
 *     slot, keeps the open descriptions it adopts (VADSHIM_FDS) and drops
 *     the pins and holds of the old image, whose mappings and cwd
 *     reference died with it (the new image takes its own).
 *   - a descriptor passed to another process (SCM_RIGHTS) is counted to
 *     nobody while in flight (ofd_own -1 after the sender's ofd_get) and
 *     to the receiver once it adopts it (ofd_own +1), so the sender's
 *     death never gives back the receiver's reference.
 *
 * Liveness: /proc/PID/stat (field 22, the start time); a process counts
 * as alive whenever that cannot be read for another reason than ENOENT,
 * so gc never reclaims from a process it cannot see.
 */
#include "vfs/ramfs_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

/* This image, as opposed to the one before an exec of the same process
 * (written once, at the first attach, single threaded). */
static uint64_t ramfs_image;

/* Start time of pid (clock ticks since boot); 0 if it does not exist,
 * UINT64_MAX if that cannot be told. */
static uint64_t ramfs_start_time(int pid)
{
	char path[64], buf[1024];
	long fd, n;
	char *p;
	unsigned long long st = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ESRCH ? 0 : UINT64_MAX;
	n = syscall(SYS_read, fd, buf, sizeof(buf) - 1);
	syscall(SYS_close, fd);
	if (n <= 0)
		return n == 0 || errno == ESRCH ? 0 : UINT64_MAX;
	buf[n] = 0;
	/* the command name may hold spaces and parentheses: skip to the last
	 * ')', then field 3 (state) ... field 22 (starttime) */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
			 "%*d %*d %*d %*d %llu", &st) != 1)
		return UINT64_MAX;
	return st;
}

bool ramfs_proc_alive(const struct ramfs_proc *p)
{
	uint64_t st = ramfs_start_time(p->pid);

	/* a zombie's stat still reads: it holds nothing any more, but it
	 * cannot take references either; counting it alive is safe */
	return st == UINT64_MAX || st == p->start;
}

/* ---- the per-process reference hash ---- */

static uint32_t ramfs_pref_home(uint32_t key)
{
	return (key * 2654435761u) >> (32 - 9) & (RAMFS_PROC_REFS - 1);
}

/* Slot of key, or of the empty entry where it would go; -1: full. */
static int ramfs_pref_find(const struct ramfs_proc *p, uint32_t key)
{
	uint32_t i = ramfs_pref_home(key);

	for (uint32_t n = 0; n < RAMFS_PROC_REFS; n++, i = (i + 1) & (RAMFS_PROC_REFS - 1))
		if (p->refs[i].key == key || p->refs[i].key == 0)
			return (int)i;
	return -1;
}

/* Remove entry i (backward shift: no tombstones).  A death in the middle
 * leaves an entry twice; gc counts only the copy that a lookup finds
 * first, the one nearer its home. */
static void ramfs_pref_del(struct ramfs_proc *p, uint32_t i)
{
	const uint32_t mask = RAMFS_PROC_REFS - 1;
	uint32_t j = i;

	for (;;) {
		p->refs[i].key = 0;
		p->refs[i].count = 0;
		for (;;) {
			uint32_t k;

			j = (j + 1) & mask;
			if (!p->refs[j].key) {
				p->nrefs--;
				return;
			}
			k = ramfs_pref_home(p->refs[j].key);
			if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
				continue;
			break;
		}
		p->refs[i].count = p->refs[j].count;
		RAMFS_PUBLISH();
		p->refs[i].key = p->refs[j].key;
		RAMFS_PUBLISH();
		i = j;
	}
}

void ramfs_proc_ref(struct ramfs *fs, unsigned kind, uint32_t obj, int64_t delta)
{
	struct ramfs_proc *p;
	uint32_t key = RAMFS_REF_KEY(kind, obj);
	int i;

	if (!fs->proc || !delta)
		return;
	p = &fs->procs[fs->proc];
	i = ramfs_pref_find(p, key);
	if (delta > 0) {
		if (i < 0 || (!p->refs[i].key && p->nrefs >= RAMFS_PROC_REFS * 7 / 8)) {
			p->overflow++;
			return;
		}
		if (!p->refs[i].key) {
			p->refs[i].count = 0;
			p->nrefs++;
			RAMFS_PUBLISH();
			p->refs[i].key = key;
		}
		if ((uint64_t)p->refs[i].count + (uint64_t)delta <= UINT32_MAX)
			p->refs[i].count += (uint32_t)delta;
		return;
	}
	if (i < 0 || !p->refs[i].key)
		return;
	if ((uint64_t)-delta >= p->refs[i].count)
		ramfs_pref_del(p, (uint32_t)i);
	else
		p->refs[i].count -= (uint32_t)-delta;
}

/* ---- slots ---- */

/* Drop one recorded reference kind of a slot: what a dead process, or the
 * image before an exec, no longer holds. */
static void ramfs_drop(struct ramfs *fs, struct ramfs_proc *p, uint32_t i,
		       struct ramfs_gc_report *rep)
{
	uint32_t key = p->refs[i].key, obj = key & 0x0fffffffu, cnt = p->refs[i].count;
	struct ramfs_node *nd;

	if (ramfs_pref_find(p, key) != (int)i)
		return;                 /* the second copy of a half-done shift */
	switch (key >> 28) {
	case RAMFS_REF_OFD: {
		struct ramfs_ofd *o = &fs->ofds[obj];
		uint32_t n = o->node;

		if (obj == 0 || obj >= fs->hdr->tab[RAMFS_T_OFD].hwm || !o->refs)
			return;
		cnt = cnt < o->refs ? cnt : o->refs;
		rep->ofds += cnt;
		o->refs -= cnt;
		if (o->refs == 0)
			ramfs_ofd_free(fs, obj, n);
		return;
	}
	case RAMFS_REF_PIN:
		if (obj == 0 || obj >= fs->hdr->tab[RAMFS_T_NODE].hwm || !fs->nodes[obj].mode)
			return;
		nd = &fs->nodes[obj];
		cnt = cnt < nd->pinned ? cnt : (uint32_t)nd->pinned;
		rep->pins += cnt;
		if (cnt)
			ramfs_data_unpin(fs, obj, cnt);
		return;
	case RAMFS_REF_HOLD:
		if (obj == 0 || obj >= fs->hdr->tab[RAMFS_T_NODE].hwm || !fs->nodes[obj].mode)
			return;
		nd = &fs->nodes[obj];
		cnt = cnt < nd->holds ? cnt : nd->holds;
		rep->holds += cnt;
		nd->holds -= cnt;
		ramfs_node_maybe_free(fs, obj);
		return;
	}
}

/* Drop every reference the slot records of the given kinds (mask of
 * 1 << kind), keeping the others. */
static void ramfs_proc_drop(struct ramfs *fs, struct ramfs_proc *p, unsigned kinds,
			    struct ramfs_gc_report *rep)
{
	for (uint32_t i = 0; i < RAMFS_PROC_REFS; i++)
		if (p->refs[i].key && (kinds >> (p->refs[i].key >> 28) & 1))
			ramfs_drop(fs, p, i, rep);
	/* rebuild the hash without the dropped kinds (in place is subtle
	 * with backward shift; this path is rare) */
	for (uint32_t i = 0; i < RAMFS_PROC_REFS; i++) {
		uint32_t key = p->refs[i].key;
		int k;

		if (key && (kinds >> (key >> 28) & 1) && (k = ramfs_pref_find(p, key)) >= 0 &&
		    p->refs[k].key == key) {
			ramfs_pref_del(p, (uint32_t)k);
			i = (uint32_t)-1;       /* entries moved: start over */
		}
	}
}

static void ramfs_proc_free(struct ramfs_proc *p)
{
	p->pid = 0;
	RAMFS_PUBLISH();
	memset(p->refs, 0, sizeof(p->refs));
	p->nrefs = 0;
	p->overflow = 0;
}

/* Detach: give up this process's slot if it records no reference. */
void ramfs_proc_release(struct ramfs *fs)
{
	struct ramfs_proc *p = &fs->procs[fs->proc];

	if (fs->proc && !p->nrefs && !p->overflow)
		ramfs_proc_free(p);
	fs->proc = 0;
}

static void ramfs_register_locked(struct ramfs *fs)
{
	int pid = (int)syscall(SYS_getpid);
	uint64_t start = ramfs_start_time(pid);
	struct ramfs_proc *p;
	uint32_t freeslot = 0;

	fs->proc = 0;
	if (start == 0 || start == UINT64_MAX)
		return;                 /* no /proc: references are not recorded */
	for (uint32_t i = 1; i < fs->hdr->nprocs; i++) {
		p = &fs->procs[i];
		if (p->pid == pid && p->start == start) {
			if (p->image != ramfs_image) {
				/* exec: the old image's mappings and cwd are gone */
				struct ramfs_gc_report rep = { 0 };

				ramfs_proc_drop(fs, p, 1u << RAMFS_REF_PIN | 1u << RAMFS_REF_HOLD,
						&rep);
				p->image = ramfs_image;
			}
			fs->proc = i;
			return;
		}
		if (!p->pid && !freeslot)
			freeslot = i;
	}
	if (!freeslot && ramfs_gc_locked(fs, NULL) > 0)
		for (uint32_t i = 1; i < fs->hdr->nprocs && !freeslot; i++)
			if (!fs->procs[i].pid)
				freeslot = i;
	if (!freeslot)
		return;                 /* table full: this process goes unrecorded */
	p = &fs->procs[freeslot];
	memset(p, 0, sizeof(*p));
	p->start = start;
	p->image = ramfs_image;
	RAMFS_PUBLISH();
	p->pid = pid;
	fs->proc = freeslot;
}

void ramfs_proc_register(struct ramfs *fs)
{
	while (!ramfs_image) {
		if (getrandom(&ramfs_image, sizeof(ramfs_image), GRND_NONBLOCK) != sizeof(ramfs_image))
			ramfs_image = (uint64_t)(uintptr_t)&ramfs_image ^ (uint64_t)time(NULL) << 20;
	}
	if (ramfs_lock(fs) < 0)
		return;
	ramfs_register_locked(fs);
	ramfs_unlock(fs);
}

void ramfs_forked(struct ramfs *fs)
{
	fs->proc = 0;
	ramfs_proc_register(fs);
}

/* ---- gc ---- */

int ramfs_gc_locked(struct ramfs *fs, struct ramfs_gc_report *rep)
{
	struct ramfs_gc_report local = { 0 };
	uint32_t free0 = fs->hdr->free_pages, nodes0 = fs->hdr->tab[RAMFS_T_NODE].used;
	int dead = 0;

	if (!rep)
		rep = &local;
	memset(rep, 0, sizeof(*rep));
	for (uint32_t i = 1; i < fs->hdr->nprocs; i++) {
		struct ramfs_proc *p = &fs->procs[i];

		if (!p->pid || i == fs->proc || ramfs_proc_alive(p))
			continue;
		for (uint32_t k = 0; k < RAMFS_PROC_REFS; k++)
			if (p->refs[k].key)
				ramfs_drop(fs, p, k, rep);
		ramfs_proc_free(p);
		dead++;
	}
	rep->procs = (size_t)dead;
	rep->freed_bytes = (size_t)(fs->hdr->free_pages - free0) * RAMFS_PAGE;
	rep->freed_nodes = nodes0 - fs->hdr->tab[RAMFS_T_NODE].used;
	if (dead) {
		fs->hdr->gc_runs++;
		fs->hdr->gc_procs += (uint64_t)dead;
	}
	return dead;
}

int ramfs_gc(struct ramfs *fs, struct ramfs_gc_report *rep)
{
	RAMFS_LOCKED(fs, ramfs_gc_locked(fs, rep));
}

/* ---- fsck and repair of the table ---- */

/* What the process table may count for (kind, obj) at most: what the
 * segment counts; 0 for an object that does not exist. */
static uint64_t ramfs_ref_real(struct ramfs *fs, uint32_t key)
{
	uint32_t obj = key & 0x0fffffffu;

	switch (key >> 28) {
	case RAMFS_REF_OFD:
		return obj && obj < fs->hdr->tab[RAMFS_T_OFD].hwm ? fs->ofds[obj].refs : 0;
	case RAMFS_REF_PIN:
	case RAMFS_REF_HOLD:
		if (!obj || obj >= fs->hdr->tab[RAMFS_T_NODE].hwm || !fs->nodes[obj].mode)
			return 0;
		return key >> 28 == RAMFS_REF_PIN ? fs->nodes[obj].pinned : fs->nodes[obj].holds;
	}
	return 0;
}

/* Zero fs->counts (scratch) at the objects of kind that slots name: the
 * table is small next to the counters (fsck may run after every call). */
static void ramfs_ref_zero(struct ramfs *fs, unsigned kind)
{
	for (uint32_t s = 1; s < fs->hdr->nprocs; s++) {
		const struct ramfs_proc *p = &fs->procs[s];

		for (uint32_t i = 0; p->pid && p->nrefs && i < RAMFS_PROC_REFS; i++) {
			uint32_t key = p->refs[i].key, obj = key & 0x0fffffffu;

			if (key && key >> 28 == kind && obj < 2 * fs->hdr->nnodes)
				fs->counts[obj] = 0;
		}
	}
}

/* Sum of the counts of kind across slots, in fs->counts at each object
 * that a slot names (scratch). */
static void ramfs_ref_sums(struct ramfs *fs, unsigned kind, bool clamp)
{
	ramfs_ref_zero(fs, kind);
	for (uint32_t s = 1; s < fs->hdr->nprocs; s++) {
		struct ramfs_proc *p = &fs->procs[s];

		for (uint32_t i = 0; p->pid && i < RAMFS_PROC_REFS; i++) {
			uint32_t key = p->refs[i].key, obj = key & 0x0fffffffu;
			uint64_t real, have;

			if (!key || key >> 28 != kind || obj >= 2 * fs->hdr->nnodes)
				continue;
			real = ramfs_ref_real(fs, key);
			have = fs->counts[obj];
			if (clamp && have + p->refs[i].count > real)
				p->refs[i].count = (uint32_t)(real > have ? real - have : 0);
			fs->counts[obj] += p->refs[i].count;
		}
	}
}

/*
 * Repair: each slot rebuilt without the second copy a death in the middle
 * of a removal leaves, without entries for objects that are gone, and
 * with every object's total clamped to what the segment counts (a count
 * may only over-state what a process holds by being dropped later).
 */
void ramfs_proc_repair(struct ramfs *fs)
{
	struct ramfs_pref keep[RAMFS_PROC_REFS];        /* 4 KiB of stack */

	for (uint32_t s = 1; s < fs->hdr->nprocs; s++) {
		struct ramfs_proc *p = &fs->procs[s];
		uint32_t n = 0;

		if (!p->pid)
			continue;
		for (uint32_t i = 0; i < RAMFS_PROC_REFS; i++) {
			uint32_t key = p->refs[i].key, kind = key >> 28;

			if (key && kind >= RAMFS_REF_OFD && kind <= RAMFS_REF_HOLD &&
			    (key & 0x0fffffffu) < 2 * fs->hdr->nnodes &&
			    ramfs_pref_find(p, key) == (int)i && p->refs[i].count)
				keep[n++] = p->refs[i];
		}
		memset(p->refs, 0, sizeof(p->refs));
		p->nrefs = 0;
		for (uint32_t i = 0; i < n; i++) {
			int k = ramfs_pref_find(p, keep[i].key);

			p->refs[k] = keep[i];
			p->nrefs++;
		}
	}
	for (unsigned kind = RAMFS_REF_OFD; kind <= RAMFS_REF_HOLD; kind++)
		ramfs_ref_sums(fs, kind, true);
	/* entries clamped to 0 go */
	for (uint32_t s = 1; s < fs->hdr->nprocs; s++) {
		struct ramfs_proc *p = &fs->procs[s];

		for (uint32_t i = 0; p->pid && i < RAMFS_PROC_REFS; i++)
			if (p->refs[i].key && !p->refs[i].count) {
				ramfs_pref_del(p, i);
				i = (uint32_t)-1;
			}
	}
}

/* Does slot p name an object of kind that the slots count for more than
 * it has (sums in fs->counts)? */
static bool ramfs_ref_over(struct ramfs *fs, const struct ramfs_proc *p, unsigned kind, char *buf,
			   size_t len)
{
	for (uint32_t i = 0; i < RAMFS_PROC_REFS; i++) {
		uint32_t key = p->refs[i].key, o = key & 0x0fffffffu;
		uint64_t real;

		if (!key || key >> 28 != kind)
			continue;
		real = ramfs_ref_real(fs, key);
		if (fs->counts[o] > real) {
			snprintf(buf, len, "the process table counts %u %s references to %u, which "
				 "has %llu", fs->counts[o], kind == RAMFS_REF_OFD ? "description" :
				 kind == RAMFS_REF_PIN ? "pin" : "cwd", o, (unsigned long long)real);
			return true;
		}
	}
	return false;
}

/* fsck: no object is counted by the table for more than it has. */
int ramfs_proc_check(struct ramfs *fs, char *buf, size_t len)
{
	for (uint32_t s = 1; s < fs->hdr->nprocs; s++) {
		const struct ramfs_proc *p = &fs->procs[s];
		uint32_t keys = 0;

		for (uint32_t i = 0; p->pid && i < RAMFS_PROC_REFS; i++) {
			uint32_t key = p->refs[i].key, kind = key >> 28;

			if (!key)
				continue;
			keys++;
			if (kind < RAMFS_REF_OFD || kind > RAMFS_REF_HOLD ||
			    (key & 0x0fffffffu) >= 2 * fs->hdr->nnodes ||
			    ramfs_pref_find(p, key) != (int)i) {
				snprintf(buf, len, "process slot %u (pid %d): bad reference entry %u", s,
					 p->pid, i);
				return -EUCLEAN;
			}
		}
		if (p->pid && keys != p->nrefs) {
			snprintf(buf, len, "process slot %u (pid %d): %u entries, counter says %u", s,
				 p->pid, keys, p->nrefs);
			return -EUCLEAN;
		}
	}
	for (unsigned kind = RAMFS_REF_OFD; kind <= RAMFS_REF_HOLD; kind++) {
		ramfs_ref_sums(fs, kind, false);
		for (uint32_t s = 1; s < fs->hdr->nprocs; s++)
			if (fs->procs[s].pid && ramfs_ref_over(fs, &fs->procs[s], kind, buf, len))
				return -EUCLEAN;
	}
	return 0;
}
