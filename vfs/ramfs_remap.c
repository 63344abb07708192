/*
 * ramfs services for the vfs's mapping flows beyond the ops table: pin a
 * node's pages for a mapping that grows (mremap) or is inherited (fork),
 * and find which file offset a segment offset holds.
 *
 * Each takes the segment lock (ramfs_lock: the per-process lk lock
 * "ramfs_seg" and the robust mutex in the header), called with lockfs
 * held by the vfs, like every ramfs operation.
 */
#include "vfs/ramfs_int.h"

#include <errno.h>

static bool live_reg(struct ramfs *fs, vfs_node n)
{
	return n && n < fs->hdr->nnodes && fs->nodes[n].mode && S_ISREG(fs->nodes[n].mode);
}

int ramfs_map_node(struct vfs_mount *m, vfs_node n, uint64_t off, uint64_t len,
		   struct vfs_map_piece *pieces, int max)
{
	struct ramfs *fs = ramfs_of(m);
	int r = ramfs_lock(fs);
	if (r < 0)
		return r;
	r = live_reg(fs, n) ? ramfs_data_map(fs, n, off, len, pieces, max) : -ENODEV;
	ramfs_unlock(fs);
	return r;
}

void ramfs_pin_node(struct vfs_mount *m, vfs_node n, uint64_t pages)
{
	struct ramfs *fs = ramfs_of(m);
	if (ramfs_lock(fs) < 0)
		return;
	if (n && n < fs->hdr->nnodes && fs->nodes[n].mode) {
		fs->nodes[n].pinned += pages;
		ramfs_proc_ref(fs, RAMFS_REF_PIN, n, (int64_t)pages);
	}
	ramfs_unlock(fs);
}

int ramfs_file_off(struct vfs_mount *m, vfs_node n, uint64_t seg_off, uint64_t *file_off)
{
	struct ramfs *fs = ramfs_of(m);
	int r = ramfs_lock(fs);
	if (r < 0)
		return r;
	r = -ENOENT;
	if (live_reg(fs, n) && seg_off >= fs->hdr->off_data) {
		uint64_t sp = (seg_off - fs->hdr->off_data) / RAMFS_PAGE;
		for (uint32_t i = fs->nodes[n].ext; i; i = fs->exts[i].next) {
			const struct ramfs_ext *e = &fs->exts[i];
			if (sp >= e->spage && sp < (uint64_t)e->spage + e->npages) {
				*file_off = (e->fpage + (sp - e->spage)) * RAMFS_PAGE +
					    seg_off % RAMFS_PAGE;
				r = 0;
				break;
			}
		}
	}
	ramfs_unlock(fs);
	return r;
}
