/* snapshot — checksummed point-in-time files; see snapshot.h. */
#include "snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

enum { HDR = 32, FTR = 24, ITEM = 8, BUF = 1 << 20, CHUNK = 256 << 10 };
static const char MAGIC[8] = "RCNUSNAP";
static const char END[8] = "RCNUEND";

struct snap_writer {
	int fd;
	char tmp[4096], final[4096], dir[4096];
	XXH3_state_t hash;
	uint64_t items;
	size_t used;
	int err;
	unsigned char buf[BUF];
};

static int crash_at;
static uint32_t slice_records;
static void (*slice_between)(void *);
static void *slice_ctx;

void snap_errinj_crash_at(int step)
{
	crash_at = step;
}

void snap_errinj_slices(uint32_t records, void (*between)(void *ctx), void *ctx)
{
	slice_records = records;
	slice_between = between;
	slice_ctx = ctx;
}

uint32_t snap_slice_records(void)
{
	return slice_records ? slice_records : 1024;
}

void snap_between_slices(void)
{
	if (slice_between)
		slice_between(slice_ctx);
}

static enum snap_help load_help;

void snap_errinj_load_help(enum snap_help mode)
{
	load_help = mode;
}

uint32_t snap_load_ahead(void)
{
	return load_help == SNAP_HELP_ALWAYS  ? 0
	       : load_help == SNAP_HELP_NEVER ? UINT32_MAX
					      : 2;
}

static int write_all(int fd, const void *p, size_t n)
{
	const unsigned char *c = p;
	while (n) {
		ssize_t k = write(fd, c, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

static int flush(struct snap_writer *w)
{
	if (!w->err && w->used)
		w->err = write_all(w->fd, w->buf, w->used);
	w->used = 0;
	return w->err;
}

static int put_raw(struct snap_writer *w, const void *p, size_t n)
{
	XXH3_64bits_update(&w->hash, p, n);
	while (n && !w->err) {
		size_t k = BUF - w->used < n ? BUF - w->used : n;
		memcpy(w->buf + w->used, p, k);
		w->used += k;
		p = (const unsigned char *)p + k;
		n -= k;
		if (w->used == BUF)
			flush(w);
	}
	return w->err;
}

static void le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t rd64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

int snap_writer_open(const char *dir, uint64_t lsn, struct snap_writer **out)
{
	*out = NULL;
	if (mkdir(dir, 0750) && errno != EEXIST)
		return -errno;
	struct snap_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	snprintf(w->dir, sizeof(w->dir), "%s", dir);
	snprintf(w->tmp, sizeof(w->tmp), "%s/snap-%020" PRIu64 ".tmp", dir, lsn);
	snprintf(w->final, sizeof(w->final), "%s/snap-%020" PRIu64 ".snap", dir,
		 lsn);
	w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (w->fd < 0) {
		int rc = -errno;
		free(w);
		return rc;
	}
	XXH3_64bits_reset(&w->hash);
	unsigned char h[HDR] = {0};
	memcpy(h, MAGIC, 8);
	le32(h + 8, SNAP_VERSION);
	le64(h + 16, lsn);
	put_raw(w, h, HDR);
	*out = w;
	return 0;
}

int snap_put(struct snap_writer *w, uint8_t kind, const void *p, uint32_t n)
{
	unsigned char h[ITEM] = {kind, 0, 0, 0};
	le32(h + 4, n);
	put_raw(w, h, ITEM);
	put_raw(w, p, n);
	w->items++;
	return w->err;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) ? -errno : 0;
	close(fd);
	return rc;
}

void snap_writer_abort(struct snap_writer *w)
{
	if (!w)
		return;
	close(w->fd);
	unlink(w->tmp);
	free(w);
}

int snap_writer_commit(struct snap_writer *w)
{
	unsigned char f[FTR];
	memcpy(f, END, 8);
	le64(f + 8, w->items);
	le64(f + 16, XXH3_64bits_digest(&w->hash));
	int rc = 0;
	if (!w->err && w->used + FTR <= BUF) {
		memcpy(w->buf + w->used, f, FTR);
		w->used += FTR;
	} else if (!w->err) {
		flush(w);
		w->err = w->err ? w->err : write_all(w->fd, f, FTR);
	}
	if ((rc = flush(w)))
		goto fail;
	if (crash_at == 1)
		goto crash;
	if (fdatasync(w->fd)) {
		rc = -errno;
		goto fail;
	}
	if (crash_at == 2)
		goto crash;
	close(w->fd);
	w->fd = -1;
	if (rename(w->tmp, w->final)) {
		rc = -errno;
		goto fail;
	}
	if (crash_at == 3)
		goto crash;
	rc = fsync_dir(w->dir);
	free(w);
	return rc;
fail:
	snap_writer_abort(w);
	return rc;
crash:
	if (w->fd >= 0)
		close(w->fd);
	free(w);
	return -EINTR;
}

static int parse_name(const char *name, uint64_t *lsn)
{
	unsigned long long v;
	char tail[8];
	if (sscanf(name, "snap-%20llu.%6s", &v, tail) != 2 ||
	    strcmp(tail, "snap"))
		return 0;
	*lsn = v;
	return 1;
}

static int cmp_desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x < y) - (x > y);
}

size_t snap_list(const char *dir, uint64_t *lsns, size_t cap)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	size_t n = 0;
	struct dirent *de;
	uint64_t all[256];
	while ((de = readdir(d)) && n < 256) {
		uint64_t lsn;
		if (parse_name(de->d_name, &lsn))
			all[n++] = lsn;
	}
	closedir(d);
	qsort(all, n, sizeof(*all), cmp_desc);
	if (n > cap)
		n = cap;
	memcpy(lsns, all, n * sizeof(*lsns));
	return n;
}

/*
 * Mapping the file costs more than reading it: MAP_POPULATE fills the page
 * tables in one call, yet on a VM the first touch of each 4 KiB page still
 * traps (a third of the pass that verifies the file, more than the hashing
 * itself). So while this thread hashes from the start, a helper touches
 * the pages from the end until the two meet: the traps of the two halves
 * are taken on two cores. Files below TOUCH_MIN are verified alone.
 */
enum { TOUCH_MIN = 32 << 20, PAGE = 4096, STREAM = 4096 };

static int helpers_always;

void snap_errinj_helpers(int always)
{
	helpers_always = always;
}

static int helpers_for(size_t size)
{
	return size >= TOUCH_MIN || helpers_always;
}

struct toucher {
	const unsigned char *m;
	size_t size;
	_Atomic size_t hashed; /**< the hashing thread is past this offset */
	pthread_t thread;
	int running;
};

static void *touch_main(void *arg)
{
	struct toucher *t = arg;
	unsigned sum = 0;
	for (size_t p = (t->size - 1) & ~(size_t)(PAGE - 1);
	     p >
	     atomic_load_explicit(&t->hashed, memory_order_relaxed) + 2 * CHUNK;
	     p -= PAGE)
		sum += *(const volatile unsigned char *)(t->m + p);
	return (void *)(uintptr_t)sum;
}

static void touch_start(struct toucher *t, const unsigned char *m, size_t size)
{
	t->m = m;
	t->size = size;
	atomic_init(&t->hashed, 0);
	t->running = helpers_for(size) &&
		     pthread_create(&t->thread, NULL, touch_main, t) == 0;
}

static void touch_stop(struct toucher *t)
{
	if (t->running)
		pthread_join(t->thread, NULL);
	t->running = 0;
}

/* Unmapping a large file takes a while too (every page table entry goes):
 * done by a detached thread, off the path to the first request. */
struct unmapping {
	void *p;
	size_t size;
};

static void *unmap_main(void *arg)
{
	struct unmapping *u = arg;
	munmap(u->p, u->size);
	free(u);
	return NULL;
}

static void unmap_later(void *p, size_t size)
{
	struct unmapping *u = helpers_for(size) ? malloc(sizeof(*u)) : NULL;
	pthread_attr_t a;
	pthread_t t;
	if (u && !pthread_attr_init(&a)) {
		u->p = p;
		u->size = size;
		int ok =
		    !pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED) &&
		    !pthread_create(&t, &a, unmap_main, u);
		pthread_attr_destroy(&a);
		if (ok)
			return;
	}
	free(u);
	munmap(p, size);
}

int snap_read(const char *dir, uint64_t lsn, uint32_t *version, snap_item_fn fn,
	      int (*end)(void *ctx), void *ctx)
{
	return snap_read_ahead(dir, lsn, version, fn, NULL, end, ctx);
}

int snap_read_ahead(const char *dir, uint64_t lsn, uint32_t *version,
		    snap_item_fn fn, snap_item_fn ahead, int (*end)(void *ctx),
		    void *ctx)
{
	*version = 0;
	char path[4096];
	snprintf(path, sizeof(path), "%s/snap-%020" PRIu64 ".snap", dir, lsn);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) || st.st_size < HDR + FTR) {
		close(fd);
		return -EBADMSG;
	}
	size_t size = (size_t)st.st_size;
	/* populated: one call maps the whole file, not a fault per page */
	const unsigned char *m =
	    mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return -errno;
	const unsigned char *f = m + size - FTR;
	int rc = -EBADMSG;
	if (memcmp(m, MAGIC, 8) || rd64(m + 16) != lsn || memcmp(f, END, 8))
		goto out;
	/* one pass, a cache-sized chunk at a time: the checksum, and the item
	 * framing of what was just hashed; then the items are handed out */
	XXH3_state_t hs;
	XXH3_64bits_reset(&hs);
	uint64_t items = 0;
	size_t off = HDR, body = size - FTR;
	int framed = 1;
	struct toucher t;
	touch_start(&t, m, size);
	for (size_t pos = 0; pos < body; pos += CHUNK) {
		size_t len = body - pos < CHUNK ? body - pos : CHUNK;
		atomic_store_explicit(&t.hashed, pos + len,
				      memory_order_relaxed);
		XXH3_64bits_update(&hs, m + pos, len);
		for (; framed && off < pos + len && off < body; items++) {
			uint32_t n = body - off < ITEM ? 0 : rd32(m + off + 4);
			if (body - off < ITEM || n > body - off - ITEM)
				framed = 0;
			off += ITEM + n;
		}
	}
	touch_stop(&t);
	if (XXH3_64bits_digest(&hs) != rd64(f + 16))
		goto out;
	*version = rd32(m + 8);
	if (*version < SNAP_VERSION_OLDEST || *version > SNAP_VERSION) {
		rc = -ENOTSUP; /* whole, but not a format this build reads */
		goto out;
	}
	if (!framed || items != rd64(f + 8))
		goto out;
	rc = 0;
	/* the look-ahead: lead items in front of off; and the bytes up to
	 * STREAM in front of it are asked for ahead of time (hardware
	 * prefetchers stop at each 4 KiB page of the mapping) */
	size_t ah = HDR, fetched = HDR;
	uint32_t lead = 0;
	for (off = HDR; off < body && !rc;) {
		for (; ahead && lead < SNAP_AHEAD && ah < body; lead++) {
			uint32_t an = rd32(m + ah + 4);
			ahead(ctx, m[ah], m + ah + ITEM, an);
			ah += ITEM + an;
		}
		for (size_t to = (ah > off ? ah : off) + STREAM;
		     fetched < to && fetched < body; fetched += 64)
			__builtin_prefetch(m + fetched);
		uint32_t n = rd32(m + off + 4);
		rc = fn(ctx, m[off], m + off + ITEM, n);
		off += ITEM + n;
		lead -= lead > 0;
	}
	if (end) {
		int erc = end(ctx);
		rc = rc ? rc : erc;
	}
out:
	unmap_later((void *)m, size);
	return rc;
}

uint64_t snap_prune(const char *dir, size_t keep)
{
	uint64_t lsns[256];
	size_t n = snap_list(dir, lsns, 256);
	char path[4096];
	for (size_t i = keep; i < n; i++) {
		snprintf(path, sizeof(path), "%s/snap-%020" PRIu64 ".snap", dir,
			 lsns[i]);
		unlink(path);
	}
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l > 4 && !strcmp(de->d_name + l - 4, ".tmp") &&
		    !strncmp(de->d_name, "snap-", 5)) {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path);
		}
	}
	if (d)
		closedir(d);
	size_t kept = n < keep ? n : keep;
	return kept ? lsns[kept - 1] : 0;
}
