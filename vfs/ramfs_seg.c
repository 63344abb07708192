/*
 * ramfs_seg — the shared segment: create or attach, size the tables,
 * and the segment lock.  (The segment's layout is drawn in ramfs_int.h.)
 *
 * The segment lock is the named lock "ramfs_seg" (rank LK_RANK_RAMFS_SEG,
 * under lockfs).  It has two halves, always taken in this order:
 *
 *     struct ramfs.lock   per process, an lk lock: the validator and
 *                         lockstat see it, and it orders this process's
 *                         threads;
 *       hdr->mutex        in the segment, a pthread mutex initialised
 *                         PTHREAD_PROCESS_SHARED + PTHREAD_MUTEX_ROBUST:
 *                         the cross-process half that serialises every
 *                         process using the segment.
 *
 * hdr->mutex guards everything in the segment except the immutable
 * header fields written before hdr->ready.  A holder that dies leaves
 * EOWNERDEAD to the next locker, which rebuilds every derived structure
 * (ramfs_repair) before it marks the mutex consistent: an operation cut
 * in half can lose at most its own effect, never data written before.
 *
 * Fork: the mapping is MAP_SHARED and inherited, and struct ramfs is
 * plain process memory copied by fork, so a child uses the segment as
 * is.  The vfs takes lockfs around fork, so no thread holds either half
 * of the segment lock at that moment.
 *
 * Host calls go through syscall(2): this file is linked into the preload
 * library, whose exported open/ftruncate/mmap/... wrappers would
 * otherwise catch them (shim/log.c does the same for the log).
 */
#include "vfs/ramfs_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "shim/real_fs.h"

/*
 * The robust mutex is taken through the next definition, not the shim's
 * own pthread wrappers (shim/wrap_pthread.c), which check the program's
 * locks: this one is the shim's, ordered by its lk half.
 */
SHIM_REAL_DECL(pthread_mutex_init);
SHIM_REAL_DECL(pthread_mutex_lock);
SHIM_REAL_DECL(pthread_mutex_unlock);

#define RAMFS_FD_MIN 900
#define RAMFS_MAX_MOUNTS 16

/* How long an attacher waits for the creator's "ready" before calling the
 * segment stale (tests shorten it).  Written before attaching only. */
int ramfs_ready_wait_ms = 5000;

void ramfs_ready_wait_ms_set(int ms)
{
	ramfs_ready_wait_ms = ms;
}

static struct lk_class ramfs_seg_class = LK_CLASS_INIT("ramfs_seg", LK_RANK_RAMFS_SEG, false);

/* Attached segments of this process: written by ramfs_attach only
 * (called by the vfs at init, single threaded, or by tests). */
static struct ramfs ramfs_mounts[RAMFS_MAX_MOUNTS];

/* ---- host calls ----
 *
 * syscall() is variadic: every 64-bit argument (offsets, lengths) is cast
 * to its full width, since an int leaves the upper half of the register
 * undefined (a mapping at a garbage offset faults with SIGBUS). */

static long ramfs_sys_ret(long r)
{
	return r < 0 ? -errno : r;
}

int ramfs_host_fallocate(struct ramfs *fs, int mode, uint64_t off, uint64_t len)
{
	long r;

	do
		r = syscall(SYS_fallocate, fs->fd, mode, (off_t)off, (off_t)len);
	while (r < 0 && errno == EINTR);
	/* Map the new pages into this process in one call: a first write
	 * would otherwise fault once per page, which makes a sequential
	 * write slower than tmpfs's (the kernel copies into its pages with no
	 * fault).  Only a hint: errors (old kernels: EINVAL) are ignored. */
	if (r == 0 && mode == 0)
		syscall(SYS_madvise, (char *)fs->hdr + off, (size_t)len, 23 /* MADV_POPULATE_WRITE */);
	return (int)ramfs_sys_ret(r);
}

static void ramfs_close(int fd)
{
	syscall(SYS_close, fd);
}

/* Out of the way of programs that close or dup2 low descriptors. */
static int ramfs_move_high(int fd)
{
	long hi = syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, RAMFS_FD_MIN);

	if (hi < 0)
		return fd;
	ramfs_close(fd);
	return (int)hi;
}

static int ramfs_seg_path(const char *name, char *buf, size_t len)
{
	int n;

	if (!name || !*name || strchr(name, '/'))
		return -EINVAL;
	n = snprintf(buf, len, "/dev/shm/vadshim.%u.%s", (unsigned)geteuid(), name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

void ramfs_now(struct ramfs_ts *t)
{
	struct timespec ts;

	/* tmpfs stamps with the coarse clock (current_time()). */
	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	t->sec = ts.tv_sec;
	t->nsec = ts.tv_nsec;
}

/* ---- sizing ---- */

static uint64_t ramfs_clamp(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static uint64_t ramfs_align(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

/*
 * Table sizes from the capacity S (bytes):
 *   nodes    = clamp(S / 16 KiB, 64, 2^24)      1 GiB -> 65536
 *   dirents  = nodes * 3 / 2                   (hard links)
 *   buckets  = the power of two >= dirents
 *   ofds     = clamp(nodes / 4, 64, 65536)      1 GiB -> 16384
 *   extents  = nodes * 2
 * The tables are reserved in the segment but their pages cost memory
 * only once used (the object is sparse and entries are handed out from
 * a high-water mark).  For 1 GiB they reserve 42 MiB; the rest is data
 * pages (statfs f_blocks).
 */
static int ramfs_layout(struct ramfs_hdr *h, uint64_t size)
{
	uint64_t off = RAMFS_PAGE, bm;

	h->nnodes = (uint32_t)ramfs_clamp(size / 16384, 64, 1u << 24);
	h->ndirents = h->nnodes + h->nnodes / 2;
	h->nbuckets = 1;
	while (h->nbuckets < h->ndirents)
		h->nbuckets <<= 1;
	h->nofds = (uint32_t)ramfs_clamp(h->nnodes / 4, 64, 65536);
	h->nexts = h->nnodes * 2;
	h->off_nodes = off;
	off += (uint64_t)h->nnodes * sizeof(struct ramfs_node);
	h->off_dirents = off = ramfs_align(off, 64);
	off += (uint64_t)h->ndirents * sizeof(struct ramfs_dirent);
	h->off_buckets = off = ramfs_align(off, 64);
	off += (uint64_t)h->nbuckets * sizeof(uint32_t);
	h->off_ofds = off = ramfs_align(off, 64);
	off += (uint64_t)h->nofds * sizeof(struct ramfs_ofd);
	h->off_exts = off = ramfs_align(off, 64);
	off += (uint64_t)h->nexts * sizeof(struct ramfs_ext);
	/* the bitmaps cover at most every page after the tables */
	bm = ramfs_align((size / RAMFS_PAGE + 63) / 64 * 8, 64);
	h->off_bitmap = off = ramfs_align(off, 64);
	h->off_unwritten = off += bm;
	h->off_scratch = off += bm;
	off += bm;
	h->off_counts = off = ramfs_align(off, 64);
	off += 2 * (uint64_t)h->nnodes * sizeof(uint32_t);
	/* the process table (ramfs_proc.c) */
	h->nprocs = (uint32_t)ramfs_clamp(h->nnodes / 64, 16, 256);
	h->off_procs = off = ramfs_align(off, 64);
	off += (uint64_t)h->nprocs * sizeof(struct ramfs_proc);
	h->off_locks = off = ramfs_align(off, 64);
	off += ramfs_lk_size(h);
	h->off_data = off = ramfs_align(off, RAMFS_PAGE);
	if (off + 4 * RAMFS_PAGE > size || (size - off) / RAMFS_PAGE > UINT32_MAX)
		return -EINVAL;
	h->data_pages = (uint32_t)((size - off) / RAMFS_PAGE);
	h->size = size;
	return 0;
}

static void ramfs_bind(struct ramfs *fs, char *base, size_t size, int fd)
{
	struct ramfs_hdr *h = (struct ramfs_hdr *)base;

	fs->base = base;
	fs->size = size;
	fs->fd = fd;
	fs->hdr = h;
	fs->nodes = (struct ramfs_node *)(base + h->off_nodes);
	fs->dirents = (struct ramfs_dirent *)(base + h->off_dirents);
	fs->buckets = (uint32_t *)(base + h->off_buckets);
	fs->ofds = (struct ramfs_ofd *)(base + h->off_ofds);
	fs->exts = (struct ramfs_ext *)(base + h->off_exts);
	fs->bitmap = (uint64_t *)(base + h->off_bitmap);
	fs->unwritten = (uint64_t *)(base + h->off_unwritten);
	fs->scratch = (uint64_t *)(base + h->off_scratch);
	fs->counts = (uint32_t *)(base + h->off_counts);
	fs->procs = (struct ramfs_proc *)(base + h->off_procs);
	fs->data = base + h->off_data;
	fs->lk = (struct ramfs_lkhdr *)(base + h->off_locks);
}

/* ---- creation ---- */

static int ramfs_mutex_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;
	int r;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	r = SHIM_REAL(pthread_mutex_init)(m, &a);
	pthread_mutexattr_destroy(&a);
	return -r;
}

static void ramfs_init_root(struct ramfs *fs)
{
	struct vfs_cred c = { .uid = geteuid(), .gid = getegid() };
	uint32_t root = ramfs_node_new(fs, S_IFDIR | 01777, &c, 0);

	/* like a tmpfs mounted on /dev/shm or /tmp: world-writable, sticky */
	fs->nodes[root].nlink = 2;
	fs->nodes[root].uid = 0;
	fs->nodes[root].gid = 0;
}

/*
 * The layout version stored in a segment: RAMFS_LAYOUT_VERSION in the high
 * half, and in the low half a fingerprint of the sizes of the structures
 * that live in the segment, so that a changed structure is refused even
 * if whoever changed it forgot to bump the version.
 */
uint32_t ramfs_layout_id(void)
{
	uint32_t f = (uint32_t)(sizeof(struct ramfs_hdr) + 7 * sizeof(struct ramfs_node) +
				13 * sizeof(struct ramfs_dirent) + 31 * sizeof(struct ramfs_ofd) +
				61 * sizeof(struct ramfs_ext) + 3 * sizeof(struct ramfs_proc));
	return ((uint32_t)RAMFS_LAYOUT_VERSION << 16) | (f & 0xffff);
}

static int ramfs_create(struct ramfs *fs, int fd, const struct ramfs_config *cfg, char *msg,
			size_t msglen)
{
	struct ramfs_hdr h0;
	char *base;
	int r, t;

	memset(&h0, 0, sizeof(h0));
	r = ramfs_layout(&h0, ramfs_align(cfg->size, RAMFS_PAGE));
	if (r < 0) {
		snprintf(msg, msglen, "vadshim: ramfs size %zu is too small", cfg->size);
		return r;
	}
	if (syscall(SYS_ftruncate, fd, (off_t)h0.size) < 0) {
		r = -errno;
		snprintf(msg, msglen, "vadshim: cannot size the ramfs segment: %s",
			 strerrordesc_np(errno));
		return r;
	}
	base = cfg->map ? cfg->map(fd, h0.size)
			: (char *)syscall(SYS_mmap, NULL, h0.size, PROT_READ | PROT_WRITE,
					  MAP_SHARED, fd, (off_t)0);
	if (!base || base == MAP_FAILED) {
		snprintf(msg, msglen, "vadshim: cannot map the ramfs segment");
		return -ENOMEM;
	}
	memcpy(base, &h0, sizeof(h0));
	ramfs_bind(fs, base, h0.size, fd);
	r = ramfs_mutex_init(&fs->hdr->mutex);
	if (r < 0)
		return r;
	fs->hdr->magic = RAMFS_MAGIC;
	fs->hdr->version = ramfs_layout_id();
	fs->hdr->tab[RAMFS_T_NODE].cap = h0.nnodes;
	fs->hdr->tab[RAMFS_T_DIRENT].cap = h0.ndirents;
	fs->hdr->tab[RAMFS_T_OFD].cap = h0.nofds;
	fs->hdr->tab[RAMFS_T_EXT].cap = h0.nexts;
	for (t = 0; t < RAMFS_NTAB; t++)
		fs->hdr->tab[t].hwm = 1;
	fs->hdr->free_pages = h0.data_pages;
	fs->hdr->dev = makedev(0, 0x4000 | ((uint32_t)syscall(SYS_getpid) & 0x3fff));
	ramfs_init_root(fs);
	ramfs_lk_init(fs);
	__atomic_store_n(&fs->hdr->ready, 1, __ATOMIC_RELEASE);
	return 0;
}

/* ---- attaching to an existing segment ---- */

static void ramfs_sleep_ms(int ms)
{
	struct timespec ts = { 0, (long)ms * 1000000 };

	syscall(SYS_nanosleep, &ts, NULL);
}

static int ramfs_check_hdr(const struct ramfs_hdr *h, const char *name, char *msg,
			   size_t msglen)
{
	if (h->magic != RAMFS_MAGIC) {
		snprintf(msg, msglen, "vadshim: /dev/shm/vadshim.%u.%s is not a ramfs segment; "
			 "remove it with `vadshim ramfs rm %s`", (unsigned)geteuid(), name, name);
		return -EINVAL;
	}
	if (h->version != ramfs_layout_id()) {
		snprintf(msg, msglen, "vadshim: ramfs segment %s has layout version %u.%u but this "
			 "vadshim uses version %u.%u; remove it with `vadshim ramfs rm %s`",
			 name, h->version >> 16, h->version & 0xffff, ramfs_layout_id() >> 16,
			 ramfs_layout_id() & 0xffff, name);
		return -EPROTO;
	}
	return 0;
}

/* The creator sizes, maps and initialises; wait for its ready flag. */
static int ramfs_join(struct ramfs *fs, int fd, const struct ramfs_config *cfg, char *msg,
		      size_t msglen)
{
	struct stat st;
	struct ramfs_hdr *h;
	char *base;
	int waited = 0, r;

	for (;;) {
		if (syscall(SYS_fstat, fd, &st) < 0)
			return -errno;
		/* /dev/shm is world-writable: anyone may create our name
		 * first.  Only a segment that we own and that nobody else
		 * can open is ours. */
		if (st.st_uid != geteuid() || (st.st_mode & 077) || !S_ISREG(st.st_mode)) {
			snprintf(msg, msglen, "vadshim: refusing ramfs segment /dev/shm/vadshim.%u.%s: "
				 "owned by uid %u with mode %03o (must be ours, mode 600)",
				 (unsigned)geteuid(), cfg->name, (unsigned)st.st_uid,
				 (unsigned)(st.st_mode & 0777));
			return -EACCES;
		}
		if (st.st_size >= RAMFS_PAGE)
			break;
		if (waited++ > ramfs_ready_wait_ms)
			goto stale;
		ramfs_sleep_ms(1);
	}
	base = cfg->map ? cfg->map(fd, st.st_size)
			: (char *)syscall(SYS_mmap, NULL, st.st_size, PROT_READ | PROT_WRITE,
					  MAP_SHARED, fd, (off_t)0);
	if (!base || base == MAP_FAILED) {
		snprintf(msg, msglen, "vadshim: cannot map the ramfs segment");
		return -ENOMEM;
	}
	h = (struct ramfs_hdr *)base;
	while (!__atomic_load_n(&h->ready, __ATOMIC_ACQUIRE)) {
		if (waited++ > ramfs_ready_wait_ms)
			goto stale;
		ramfs_sleep_ms(1);
	}
	r = ramfs_check_hdr(h, cfg->name, msg, msglen);
	if (r == 0 && h->size != (uint64_t)st.st_size) {
		snprintf(msg, msglen, "vadshim: ramfs segment %s is damaged (size); remove it "
			 "with `vadshim ramfs rm %s`", cfg->name, cfg->name);
		r = -EINVAL;
	}
	if (r < 0) {
		if (!cfg->map)
			syscall(SYS_munmap, base, st.st_size);
		return r;
	}
	ramfs_bind(fs, base, st.st_size, fd);
	return 0;
stale:
	snprintf(msg, msglen, "vadshim: ramfs segment %s was never initialised; remove it "
		 "with `vadshim ramfs rm %s`", cfg->name, cfg->name);
	return -EIO;
}

static struct ramfs *ramfs_slot(void)
{
	for (int i = 0; i < RAMFS_MAX_MOUNTS; i++)
		if (!ramfs_mounts[i].in_use)
			return &ramfs_mounts[i];
	return NULL;
}

int ramfs_attach(const struct ramfs_config *cfg, struct ramfs **out, char *msg, size_t msglen)
{
	struct ramfs *fs = ramfs_slot();
	char path[PATH_MAX];
	long fd;
	int r;

	if (msglen)
		msg[0] = 0;
	r = ramfs_seg_path(cfg->name, path, sizeof(path));
	if (r < 0 || !fs) {
		snprintf(msg, msglen, "vadshim: bad ramfs name or too many ramfs mounts");
		return r < 0 ? r : -EMFILE;
	}
	memset(fs, 0, sizeof(*fs));
	fd = syscall(SYS_openat, AT_FDCWD, path,
		     O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0) {
		fd = ramfs_move_high((int)fd);
		r = ramfs_create(fs, (int)fd, cfg, msg, msglen);
		if (r < 0)
			syscall(SYS_unlinkat, AT_FDCWD, path, 0);
	} else if (errno == EEXIST) {
		fd = syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			r = -errno;
			snprintf(msg, msglen, "vadshim: cannot open %s: %s", path,
				 strerrordesc_np(errno));
			return r;
		}
		fd = ramfs_move_high((int)fd);
		r = ramfs_join(fs, (int)fd, cfg, msg, msglen);
	} else {
		r = -errno;
		snprintf(msg, msglen, "vadshim: cannot create %s: %s", path, strerrordesc_np(errno));
		return r;
	}
	if (r < 0) {
		ramfs_close((int)fd);
		return r;
	}
	lk_init(&fs->lock, &ramfs_seg_class, "ramfs_seg");
	fs->in_use = true;
	ramfs_proc_register(fs);
	*out = fs;
	return 0;
}

int ramfs_remove(const char *name)
{
	char path[PATH_MAX];
	int r = ramfs_seg_path(name, path, sizeof(path));

	if (r < 0)
		return r;
	return (int)ramfs_sys_ret(syscall(SYS_unlinkat, AT_FDCWD, path, 0));
}

/* The attached segment when there is exactly one, else NULL. */
struct ramfs *ramfs_only(void)
{
	struct ramfs *one = NULL;

	for (int i = 0; i < RAMFS_MAX_MOUNTS; i++) {
		if (!ramfs_mounts[i].in_use)
			continue;
		if (one)
			return NULL;
		one = &ramfs_mounts[i];
	}
	return one;
}

int ramfs_seg_fd(const struct ramfs *fs)
{
	return fs->fd;
}

dev_t ramfs_dev(const struct ramfs *fs)
{
	return (dev_t)fs->hdr->dev;
}

/* ---- the segment lock ---- */

int ramfs_lock(struct ramfs *fs)
{
	int r;

	lk_lock(&fs->lock);
	r = SHIM_REAL(pthread_mutex_lock)(&fs->hdr->mutex);
	if (r == EOWNERDEAD) {
		/* The holder died inside an operation: rebuild what it may
		 * have left half done, then let everyone continue. */
		ramfs_repair(fs);
		fs->hdr->repairs++;
		pthread_mutex_consistent(&fs->hdr->mutex);
		r = 0;
	}
	if (r != 0) {
		lk_unlock(&fs->lock);
		return -r;
	}
	return 0;
}

void ramfs_unlock(struct ramfs *fs)
{
	SHIM_REAL(pthread_mutex_unlock)(&fs->hdr->mutex);
	lk_unlock(&fs->lock);
}

int ramfs_test_lock(struct ramfs *fs)
{
	return ramfs_lock(fs);
}

void ramfs_test_unlock(struct ramfs *fs)
{
	ramfs_unlock(fs);
}

void ramfs_test_detach(struct ramfs *fs)
{
	ramfs_detach(fs);
}

void ramfs_detach(struct ramfs *fs)
{
	/* a slot that records nothing can go now rather than at the next gc */
	if (fs->proc && ramfs_lock(fs) == 0) {
		ramfs_proc_release(fs);
		ramfs_unlock(fs);
	}
	syscall(SYS_munmap, fs->base, fs->size);
	ramfs_close(fs->fd);
	fs->in_use = false;
}

void ramfs_usage(struct ramfs *fs, struct ramfs_usage *u)
{
	if (ramfs_lock(fs) < 0) {
		memset(u, 0, sizeof(*u));
		return;
	}
	u->size = fs->size;
	u->used_bytes = (size_t)(fs->hdr->data_pages - fs->hdr->free_pages) * RAMFS_PAGE;
	u->files = fs->hdr->tab[RAMFS_T_NODE].used;
	u->max_files = fs->hdr->nnodes - 1;
	u->ofds = fs->hdr->tab[RAMFS_T_OFD].used;
	u->repairs = fs->hdr->repairs;
	u->procs = u->procs_live = u->procs_dead_refs = 0;
	for (uint32_t i = 1; i < fs->hdr->nprocs; i++) {
		if (!fs->procs[i].pid || i == fs->proc)
			continue;
		u->procs++;
		if (ramfs_proc_alive(&fs->procs[i]))
			u->procs_live++;
		else if (fs->procs[i].nrefs)
			u->procs_dead_refs++;
	}
	ramfs_unlock(fs);
}
