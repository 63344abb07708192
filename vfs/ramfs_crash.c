/*
 * ramfs_crash — what makes an operation cut short by its process's death
 * come out whole: the rename intent, and the repair steps that finish or
 * undo an interrupted operation before ramfs_repair rebuilds the derived
 * structures.  Guarded by the segment lock (hdr->mutex guards hdr->intent;
 * repair runs as the EOWNERDEAD locker).
 *
 * The design (README, "Crash safety"): most operations need no log,
 * because each of them changes the primary data (ramfs_fsck.c says what is
 * primary) with ONE publishing store, after the stores it publishes
 * (RAMFS_PUBLISH), and everything derived is rebuilt by repair:
 *
 *   create, mkdir, mknod, link   a dirent is filled, then published by
 *                                its dir field: the name exists or not;
 *   symlink                      target written before the name;
 *   unlink, rmdir                dirent.dir = 0; a node left with no name
 *                                and no reference is freed by repair;
 *   open, close                  ofd.refs = 1 / 0;
 *   extents                      copy on write: a changed extent is built
 *                                as a new entry and swapped in by one link
 *                                store; pages are freed only after no list
 *                                reaches them; a moved extent points at its
 *                                copy before the old run is freed;
 *   write, fallocate             pages are linked (each link a publish),
 *                                then data copied, then the size stored;
 *   truncate (shrink)            the size is stored first, then the pages
 *                                past it are cut;
 *
 * and repair clears every byte past EOF (ramfs_rp_eof), so a write or a
 * truncate cut short leaves the old size with the old bytes (the bytes a
 * write had copied over existing data stay: a write in progress is not
 * atomic on a crash, as on a kernel filesystem), and a truncate whose
 * size was stored is finished.  Rename is the one operation that must
 * change two names: it records an intent (op, the two dirents, the
 * nodes) before its first store and clears it after its last, and repair
 * finishes it if its publishing store happened, else undoes it:
 *
 *   MOVE     new dirent published naming the node -> old dirent freed;
 *   REPLACE  the target's dirent retargeted to the node -> old freed;
 *   EXCHANGE first name retargeted -> second name retargeted too.
 */
#include "vfs/ramfs_int.h"

#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Test-only crash points (RAMFS_PUBLISH): written by a test before the
 * operation it cuts short, in a child process. */
int ramfs_crash_at;

void ramfs_crash_hit(void)
{
	if (--ramfs_crash_at == 0)
		syscall(SYS_exit_group, 77);    /* dies holding the segment lock */
}

void ramfs_intent_begin(struct ramfs *fs, uint32_t op, uint32_t de_old, uint32_t de_new,
			uint32_t node, uint32_t node_b)
{
	struct ramfs_intent *in = &fs->hdr->intent;

	in->de_old = de_old;
	in->de_new = de_new;
	in->node = node;
	in->node_b = node_b;
	RAMFS_PUBLISH();
	in->op = op;
	RAMFS_PUBLISH();
}

void ramfs_intent_end(struct ramfs *fs)
{
	RAMFS_PUBLISH();
	fs->hdr->intent.op = RAMFS_OP_NONE;
}

static bool ramfs_de_names(struct ramfs *fs, uint32_t de, uint32_t node)
{
	return de && de < fs->hdr->tab[RAMFS_T_DIRENT].hwm && fs->dirents[de].dir &&
	       fs->dirents[de].node == node;
}

/* Before the rebuild: finish or undo the interrupted rename. */
void ramfs_intent_recover(struct ramfs *fs)
{
	struct ramfs_intent *in = &fs->hdr->intent;

	switch (in->op) {
	case RAMFS_OP_MOVE:
	case RAMFS_OP_REPLACE:
		/* published: the node has its new name; drop the old one */
		if (ramfs_de_names(fs, in->de_new, in->node) && in->de_old != in->de_new &&
		    ramfs_de_names(fs, in->de_old, in->node))
			fs->dirents[in->de_old].dir = 0;
		break;
	case RAMFS_OP_EXCHANGE:
		/* the first name was retargeted: retarget the second */
		if (ramfs_de_names(fs, in->de_old, in->node_b) &&
		    ramfs_de_names(fs, in->de_new, in->node_b))
			fs->dirents[in->de_new].node = in->node;
		break;
	}
	ramfs_intent_end(fs);
}

/*
 * After the rebuild, for each regular file: bytes past EOF must read as
 * zero when the file grows again (truncate zeroes only the partial last
 * page).  A write or a truncate cut short may have left data there.
 * Pages still marked unwritten (fallocated) are zero already.
 */
void ramfs_rp_eof(struct ramfs *fs, uint32_t n)
{
	const struct ramfs_node *nd = &fs->nodes[n];
	uint64_t eofp = nd->size / RAMFS_PAGE;

	if (!S_ISREG(nd->mode))
		return;
	for (uint32_t i = nd->ext; i; i = fs->exts[i].next) {
		const struct ramfs_ext *e = &fs->exts[i];

		for (uint64_t p = e->fpage > eofp ? e->fpage : eofp; p < e->fpage + e->npages; p++) {
			uint32_t sp = e->spage + (uint32_t)(p - e->fpage);
			char *pg = fs->data + (uint64_t)sp * RAMFS_PAGE;
			size_t from = p == eofp ? nd->size % RAMFS_PAGE : 0;

			if (!ramfs_bit(fs->unwritten, sp))
				memset(pg + from, 0, RAMFS_PAGE - from);
		}
	}
}
