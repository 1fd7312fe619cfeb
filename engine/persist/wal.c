/*
 * wal — write-ahead log: format, recovery, the WAL thread, the io_uring
 * backend. The byte layout and the recovery rules are in wal.h.
 *
 * The WAL thread takes everything queued (group commit: whatever arrived
 * while the previous write+sync was in flight), cuts it into batches
 * (at most WAL_BATCH_FRAMES frames, WAL_BATCH_BYTES bytes, and never
 * across a segment boundary), stamps salt, back and checksum into each
 * frame header, and issues one writev per batch, linked to an fdatasync in
 * WAL_SYNC_ALWAYS. A failed or short write, a failed or cancelled sync:
 * the log stops for good (an fsync is never retried: the kernel may have
 * dropped the dirty pages), the batch and everything queued after it
 * complete with the error, and the segment is cut back (best effort) to
 * the end of the last acknowledged frame.
 */
#define _GNU_SOURCE
#include "wal.h"
#include "le.h"
#include "wal_io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <liburing.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

#define WAL_FILE_MAGIC	 "RCNUWAL"
#define WAL_VERSION	 1u
#define WAL_FRAME_MAGIC	 0x57464e52u
#define WAL_HDR		 32u /* file header and frame header alike */
#define WAL_BATCH_FRAMES 1024u
#define WAL_BATCH_BYTES	 (64u << 20)
#define WAL_MAX_FRAME	 (1u << 30)
#define WAL_RBUF_MIN	 (256u << 10)
#define WAL_ZERO_CHUNK	 (1u << 20) /* spare zero-fill: write + fdatasync */
#define WAL_SPARE_TMP	 "spare.tmp"
#define WAL_SPARE	 "spare.zero"

/* ---- CRC32C ----------------------------------------------------------- */

static uint32_t crc_table[256];
static int crc_hw;
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_table[i] = c;
	}
#if defined(__x86_64__)
	crc_hw = __builtin_cpu_supports("sse4.2");
#endif
}

static uint32_t crc_sw(uint32_t c, const uint8_t *p, size_t n)
{
	while (n--)
		c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t
crc_sse42(uint32_t c, const uint8_t *p, size_t n)
{
	uint64_t c64 = c;
	for (; n >= 8; p += 8, n -= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		c64 = _mm_crc32_u64(c64, v);
	}
	c = (uint32_t)c64;
	while (n--)
		c = _mm_crc32_u8(c, *p++);
	return c;
}
#endif

/** CRC32C (Castagnoli) continuing from crc (0 to start); chains:
 *  crc(crc(0, a), b) == crc(0, a || b). */
uint32_t wal__crc32c(uint32_t crc, const void *p, size_t n)
{
	pthread_once(&crc_once, crc_init);
	crc = ~crc;
#if defined(__x86_64__)
	if (crc_hw)
		return ~crc_sse42(crc, p, n);
#endif
	return ~crc_sw(crc, p, n);
}

/* ---- little-endian fields --------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void fmt(char *buf, size_t cap, const char *f, ...)
    __attribute__((format(printf, 3, 4)));

static void fmt(char *buf, size_t cap, const char *f, ...)
{
	if (!buf || !cap)
		return;
	va_list ap;
	va_start(ap, f);
	vsnprintf(buf, cap, f, ap);
	va_end(ap);
}

/* ---- io_uring backend ------------------------------------------------- */

struct uring_io {
	struct wal_io io;
	struct io_uring ring;
};

static int sys_open(struct wal_io *io, const char *path, int flags, mode_t mode)
{
	(void)io;
	int fd = open(path, flags, mode);
	return fd < 0 ? -errno : fd;
}

static int sys_close(struct wal_io *io, int fd)
{
	(void)io;
	return close(fd) ? -errno : 0;
}

static int sys_rename(struct wal_io *io, const char *from, const char *to)
{
	(void)io;
	return rename(from, to) ? -errno : 0;
}

static int sys_fsync_dir(struct wal_io *io, int dirfd)
{
	(void)io;
	return fsync(dirfd) ? -errno : 0;
}

static int sys_ftruncate(struct wal_io *io, int fd, uint64_t size)
{
	(void)io;
	return ftruncate(fd, (off_t)size) ? -errno : 0;
}

/**
 * Zero-fills a spare segment. fallocate first so that a full disk fails
 * here and not halfway; then real zeros (fallocate alone leaves unwritten
 * extents, and the first write into each block would change metadata),
 * in chunks each fdatasync'ed so that the dirty data never piles up in
 * front of the log's own syncs. The zero pages stay in the page cache, so
 * the log's small writes into them need no read-modify-write.
 */
static int sys_prealloc(struct wal_io *io, const char *path, uint64_t size,
			const _Atomic int *cancel)
{
	(void)io;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	int rc = 0;
	uint8_t *z = calloc(1, WAL_ZERO_CHUNK);
	if (!z)
		rc = -ENOMEM;
	if (!rc && size && fallocate(fd, 0, 0, (off_t)size) &&
	    errno != EOPNOTSUPP && errno != ENOSYS)
		rc = -errno;
	for (uint64_t off = 0; !rc && off < size;) {
		if (atomic_load(cancel)) {
			rc = -ECANCELED;
			break;
		}
		size_t k = size - off < WAL_ZERO_CHUNK ? (size_t)(size - off)
						       : WAL_ZERO_CHUNK;
		ssize_t wr = pwrite(fd, z, k, (off_t)off);
		if (wr < 0 && errno == EINTR)
			continue;
		if (wr <= 0)
			rc = wr < 0 ? -errno : -ENOSPC;
		else if (fdatasync(fd))
			rc = -errno;
		else
			off += (uint64_t)wr;
	}
	free(z);
	if (close(fd) && !rc)
		rc = -errno;
	return rc;
}

/** Submits what is queued and reaps n completions into res[user_data].
 *  One io_uring_enter submits and waits for all n (a write completes at
 *  once but its linked fdatasync does not: separate submit and wait
 *  calls cost a second system call per batch). */
static int uring_run(struct io_uring *ring, int n, int *res)
{
	int rc;
	do
		rc = io_uring_submit_and_wait(ring, (unsigned)n);
	while (rc == -EINTR);
	if (rc < 0)
		return rc;
	if (rc != n)
		return -EIO;
	for (int i = 0; i < n; i++) {
		struct io_uring_cqe *cqe;
		do
			rc = io_uring_wait_cqe(ring, &cqe);
		while (rc == -EINTR);
		if (rc < 0)
			return rc;
		if (cqe->user_data < 2)
			res[cqe->user_data] = cqe->res;
		io_uring_cqe_seen(ring, cqe);
	}
	return 0;
}

static void uring_write_sync(struct wal_io *io, int fd, const struct iovec *iov,
			     int iovcnt, uint64_t off, int sync, int *wres,
			     int *sres)
{
	struct uring_io *u = (struct uring_io *)io;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
	int res[2] = {-EIO, -ECANCELED};
	io_uring_prep_writev(sqe, fd, iov, (unsigned)iovcnt, off);
	sqe->user_data = 0;
	if (sync) {
		sqe->flags |= IOSQE_IO_LINK;
		sqe = io_uring_get_sqe(&u->ring);
		io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
		sqe->user_data = 1;
	}
	int rc = uring_run(&u->ring, sync ? 2 : 1, res);
	if (rc < 0)
		res[0] = rc;
	*wres = res[0];
	if (sync)
		*sres = res[1];
}

static int uring_sync(struct wal_io *io, int fd)
{
	struct uring_io *u = (struct uring_io *)io;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
	int res[2] = {-EIO, -EIO};
	io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
	sqe->user_data = 0;
	int rc = uring_run(&u->ring, 1, res);
	return rc < 0 ? rc : res[0];
}

static void uring_destroy(struct wal_io *io)
{
	struct uring_io *u = (struct uring_io *)io;
	io_uring_queue_exit(&u->ring);
	free(u);
}

static const struct wal_io_ops uring_ops = {
    .open = sys_open,
    .close = sys_close,
    .rename = sys_rename,
    .fsync_dir = sys_fsync_dir,
    .ftruncate = sys_ftruncate,
    .write_sync = uring_write_sync,
    .sync = uring_sync,
    .prealloc = sys_prealloc,
    .destroy = uring_destroy,
};

struct wal_io *wal_io_uring_new(unsigned entries)
{
	struct uring_io *u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	int rc = io_uring_queue_init(entries ? entries : 8, &u->ring, 0);
	if (rc < 0) {
		free(u);
		errno = -rc;
		return NULL;
	}
	u->io.ops = &uring_ops;
	return &u->io;
}

/* ---- reading segments ------------------------------------------------- */

/** A read window over one file; grows only to the largest frame read. */
struct rbuf {
	int fd;
	uint8_t *p;
	size_t cap;
	uint64_t base; /**< file offset of p[0] */
	size_t len;    /**< valid bytes at p */
};

#ifdef RECONNU_ERRINJ
/** Largest read window ever allocated (tests check the frame cap). */
static _Atomic size_t wal__rbuf_peak;
#endif

/**
 * Bytes [off, off + n) of the file, borrowed until the next call.
 * NULL with *rc = 0 past EOF, *rc < 0 on error.
 */
static const uint8_t *rbuf_get(struct rbuf *r, uint64_t off, size_t n, int *rc)
{
	*rc = 0;
	if (off >= r->base && off + n <= r->base + r->len)
		return r->p + (off - r->base);
	size_t want = n > WAL_RBUF_MIN ? n : WAL_RBUF_MIN;
	if (want > r->cap) {
		uint8_t *p = realloc(r->p, want);
		if (!p) {
			*rc = -ENOMEM;
			return NULL;
		}
		r->p = p;
		r->cap = want;
#ifdef RECONNU_ERRINJ
		if (want > atomic_load(&wal__rbuf_peak))
			atomic_store(&wal__rbuf_peak, want);
#endif
	}
	size_t got = 0;
	while (got < want) {
		ssize_t k =
		    pread(r->fd, r->p + got, want - got, (off_t)(off + got));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r->len = 0;
			*rc = -errno;
			return NULL;
		}
		if (k == 0)
			break;
		got += (size_t)k;
	}
	r->base = off;
	r->len = got;
	return got >= n ? r->p : NULL;
}

/** Parsed, validated file header. */
struct seg_head {
	uint32_t salt;
	uint64_t start_lsn;
};

static void head_encode(uint8_t *h, uint32_t salt, uint64_t start)
{
	memset(h, 0, WAL_HDR);
	memcpy(h, WAL_FILE_MAGIC, 8);
	le_put32(h + 8, WAL_VERSION);
	le_put32(h + 12, salt);
	le_put64(h + 16, start);
	le_put32(h + 28, wal__crc32c(0, h, 28));
}

/** @retval 1 valid, 0 invalid (why), < 0 errno. */
static int head_check(struct rbuf *r, struct seg_head *sh, char *why,
		      size_t whycap)
{
	int rc;
	const uint8_t *h = rbuf_get(r, 0, WAL_HDR, &rc);
	if (!h) {
		if (rc == 0)
			fmt(why, whycap, "file shorter than its header");
		return rc;
	}
	if (memcmp(h, WAL_FILE_MAGIC, 8) != 0) {
		fmt(why, whycap, "bad file magic");
		return 0;
	}
	if (le_get32(h + 28) != wal__crc32c(0, h, 28)) {
		fmt(why, whycap, "file header checksum mismatch");
		return 0;
	}
	if (le_get32(h + 8) != WAL_VERSION) {
		fmt(why, whycap, "unknown format version %" PRIu32,
		    le_get32(h + 8));
		return 0;
	}
	sh->salt = le_get32(h + 12);
	sh->start_lsn = le_get64(h + 16);
	if (sh->salt == 0 || sh->start_lsn == 0 || le_get32(h + 24) != 0) {
		fmt(why, whycap, "bad file header fields");
		return 0;
	}
	return 1;
}

/**
 * Validates the frame at off. want_lsn 0 accepts any LSN. On success fi
 * and *payload (borrowed from r) are set.
 * @retval 1 valid, 0 invalid (why), < 0 errno.
 */
static int frame_check(struct rbuf *r, uint64_t off, uint64_t size,
		       uint32_t cap, uint32_t salt, uint64_t want_lsn,
		       struct wal_frame_info *fi, const uint8_t **payload,
		       char *why, size_t whycap)
{
	int rc;
	if (size - off < WAL_HDR) {
		fmt(why, whycap, "incomplete frame header (%" PRIu64 " bytes)",
		    size - off);
		return 0;
	}
	const uint8_t *h = rbuf_get(r, off, WAL_HDR, &rc);
	if (!h)
		return rc ? rc : -EIO;
	uint32_t len = le_get32(h + 4);
	uint64_t lsn = le_get64(h + 8);
	if (le_get32(h) != WAL_FRAME_MAGIC) {
		fmt(why, whycap, "bad frame magic");
		return 0;
	}
	if (len > cap) {
		fmt(why, whycap,
		    "frame length %" PRIu32 " over the cap %" PRIu32, len, cap);
		return 0;
	}
	if (len > size - off - WAL_HDR) {
		fmt(why, whycap, "frame length %" PRIu32 " past end of file",
		    len);
		return 0;
	}
	if (le_get32(h + 16) != salt) {
		fmt(why, whycap, "frame salt does not match the file");
		return 0;
	}
	if (le_get32(h + 20) == 0 || h[25] || h[26] || h[27]) {
		fmt(why, whycap, "bad frame header fields");
		return 0;
	}
	if (want_lsn && lsn != want_lsn) {
		fmt(why, whycap, "LSN %" PRIu64 ", expected %" PRIu64, lsn,
		    want_lsn);
		return 0;
	}
	uint32_t stored = le_get32(h + 28);
	h = rbuf_get(r, off, WAL_HDR + (size_t)len, &rc);
	if (!h)
		return rc ? rc : -EIO;
	uint32_t crc = wal__crc32c(wal__crc32c(0, h, 28), h + WAL_HDR, len);
	if (crc != stored) {
		fmt(why, whycap, "frame checksum mismatch");
		return 0;
	}
	fi->offset = off;
	fi->lsn = lsn;
	fi->len = len;
	fi->type = h[24];
	fi->crc = stored;
	*payload = h + WAL_HDR;
	return 1;
}

/**
 * After invalid bytes at bad_off where LSN bad_lsn was expected: is there
 * a valid frame further on whose writer already knew bad_lsn synced? Then
 * the damage is not a torn write.
 * @retval 1 yes (corruption), 0 no (torn tail), < 0 errno.
 */
static int later_frame_proves_sync(struct rbuf *r, uint64_t bad_off,
				   uint64_t size, uint64_t nz_end, uint32_t cap,
				   uint32_t salt, uint64_t bad_lsn)
{
	uint8_t magic[4];
	le_put32(magic, WAL_FRAME_MAGIC);
	/* a frame starts with its (non-zero) magic: none starts in the zeros
	 * from nz_end on, which can be most of a preallocated segment */
	for (uint64_t off = bad_off + 1; off + WAL_HDR <= size && off < nz_end;
	     off++) {
		int rc;
		const uint8_t *p = rbuf_get(r, off, 4, &rc);
		if (!p)
			return rc;
		if (memcmp(p, magic, 4) != 0)
			continue;
		struct wal_frame_info fi;
		const uint8_t *pl;
		rc = frame_check(r, off, size, cap, salt, 0, &fi, &pl, NULL, 0);
		if (rc < 0)
			return rc;
		if (rc == 0 || fi.lsn < bad_lsn)
			continue;
		p = rbuf_get(r, off, WAL_HDR, &rc);
		if (!p)
			return rc ? rc : -EIO;
		if (fi.lsn - le_get32(p + 20) >= bad_lsn)
			return 1;
	}
	return 0;
}

/**
 * End of the last non-zero byte in [from, size) (from when all are zero).
 * @retval 0 or < 0 errno.
 */
static int nonzero_end(struct rbuf *r, uint64_t from, uint64_t size,
		       uint64_t *end)
{
	*end = from;
	for (uint64_t off = from; off < size;) {
		size_t n = size - off < WAL_RBUF_MIN ? (size_t)(size - off)
						     : WAL_RBUF_MIN;
		int rc;
		const uint8_t *p = rbuf_get(r, off, n, &rc);
		if (!p)
			return rc ? rc : -EIO; /* file shrank under us */
		size_t i = n;
		while (i >= 8) {
			uint64_t v;
			memcpy(&v, p + i - 8, 8);
			if (v)
				break;
			i -= 8;
		}
		while (i && !p[i - 1])
			i--;
		if (i)
			*end = off + i;
		off += n;
	}
	return 0;
}

/** Per-frame callback of seg_scan; payload borrowed for the call. */
typedef int (*seg_frame_fn)(void *ctx, const struct wal_frame_info *fi,
			    const uint8_t *payload);

/**
 * Validates (and with fn, walks) one open segment. rep is filled; a
 * non-zero fn return stops the walk and is returned.
 * @retval 0 (damage in rep), fn's value, or < 0 errno.
 */
static int seg_scan(struct rbuf *r, uint32_t cap, seg_frame_fn fn, void *ctx,
		    struct wal_file_report *rep)
{
	struct stat st;
	struct seg_head sh = {0, 0};
	memset(rep, 0, sizeof(*rep));
	if (fstat(r->fd, &st))
		return -errno;
	rep->size = (uint64_t)st.st_size;
	int rc = head_check(r, &sh, rep->reason, sizeof(rep->reason));
	if (rc < 0)
		return rc;
	if (rc == 0) {
		rep->damage = 2;
		return 0;
	}
	rep->header_ok = 1;
	rep->salt = sh.salt;
	rep->start_lsn = sh.start_lsn;
	uint64_t off = WAL_HDR, want = sh.start_lsn;
	rep->valid_end = off;
	while (off < rep->size) {
		struct wal_frame_info fi;
		const uint8_t *pl;
		rc = frame_check(r, off, rep->size, cap, sh.salt, want, &fi,
				 &pl, rep->reason, sizeof(rep->reason));
		if (rc < 0)
			return rc;
		if (rc == 0) {
			uint64_t nz;
			if ((rc = nonzero_end(r, off, rep->size, &nz)) < 0)
				return rc;
			if (nz == off) { /* preallocated zeros: clean end */
				rep->zero_tail = rep->size - off;
				rep->reason[0] = 0;
				return 0;
			}
			rc = later_frame_proves_sync(r, off, rep->size, nz, cap,
						     sh.salt, want);
			if (rc < 0)
				return rc;
			rep->damage = rc ? 2 : 1;
			return 0;
		}
		if (fn && (rc = fn(ctx, &fi, pl)) != 0)
			return rc;
		rep->frames++;
		rep->last_lsn = fi.lsn;
		off += WAL_HDR + fi.len;
		rep->valid_end = off;
		want++;
	}
	return 0;
}

struct inspect_ctx {
	wal_inspect_fn fn;
	void *ctx;
};

static int inspect_frame(void *ctx, const struct wal_frame_info *fi,
			 const uint8_t *payload)
{
	struct inspect_ctx *ic = ctx;
	(void)payload;
	return ic->fn ? ic->fn(ic->ctx, fi) : 0;
}

int wal_inspect_file(const char *path, uint32_t max_frame_bytes,
		     wal_inspect_fn fn, void *ctx, struct wal_file_report *rep)
{
	struct inspect_ctx ic = {fn, ctx};
	struct rbuf r = {.fd = open(path, O_RDONLY | O_CLOEXEC)};
	if (r.fd < 0)
		return -errno;
	uint32_t cap = max_frame_bytes ? max_frame_bytes : 16u << 20;
	int rc = seg_scan(&r, cap, inspect_frame, &ic, rep);
	close(r.fd);
	free(r.p);
	return rc < 0 ? rc : 0;
}

/* ---- the log ---------------------------------------------------------- */

/** One queued frame: the on-disk header followed by the payload, so that
 *  one iovec covers both. */
struct wal_frame {
	struct wal_frame *next;
	wal_durable_fn cb;
	void *cb_ctx;
	uint64_t lsn;
	uint32_t len;
	uint8_t type;
	uint8_t hdr[WAL_HDR];
	uint8_t payload[];
};

struct wal {
	struct wal_io *io;  /**< backend */
	int own_io;	    /**< io made by wal_open, destroyed by close */
	char *dir;	    /**< segment directory (owned copy) */
	int dirfd;	    /**< open on dir, for fsync and unlinkat */
	enum wal_sync sync; /**< from the options */
	uint64_t batch_ns;  /**< WAL_SYNC_BATCH period */
	uint64_t segment_bytes;
	uint32_t max_frame;

	pthread_mutex_t mu;
	pthread_cond_t wake; /**< WAL thread: frames queued or closing */
	pthread_cond_t done; /**< waiters: durable_lsn or failed moved */
	/* under mu */
	struct wal_frame *head, *tail; /**< queue, LSN order */
	uint64_t next_lsn;	       /**< LSN of the next append */
	int closing;		       /**< wal_close started */
	uint64_t *segs;		       /**< start LSNs of live segments */
	size_t nsegs, segcap;
	struct wal_stats st;
	_Atomic uint64_t durable_lsn;
	_Atomic int failed;  /**< fail-stop error, 0 while healthy */
	_Atomic int waiters; /**< threads in wal_wait */

	/* zero-filled spare segment (see wal.h), under mu */
	int spare_ready; /**< DIR/spare.zero is complete, not yet taken */
	int spare_off;	 /**< 1: preparing one failed, not again until the
			      next rotation; 2: never (no_prealloc) */
	int helper_stop; /**< wal_close: helper finishes the trims, exits */
	struct wal_trim {
		int fd;
		uint64_t size;
	} trims[4]; /**< rotated segments the helper trims */
	int ntrims;
	pthread_cond_t helper_wake; /**< helper: a spare or a trim is due */
	_Atomic int spare_cancel;   /**< stops a zero-fill in progress */
	pthread_t helper;
	int helper_started;

	pthread_t thr;
	int thr_started;
	/* WAL thread (or wal_open before it starts) only */
	int fd;		      /**< segment being written, -1 if none */
	uint64_t seg_size;    /**< its preallocated size, 0 if it grows */
	uint32_t salt;	      /**< its salt */
	uint64_t seg_off;     /**< bytes written to it */
	uint64_t good_off;    /**< end of its last acknowledged frame */
	uint64_t written_lsn; /**< last LSN written */
	uint64_t synced_lsn;  /**< last LSN covered by an fdatasync */
	uint64_t last_sync;   /**< now_ns() of the last fdatasync */

	_Atomic int inj_times[5];
	_Atomic uint32_t inj_arg[5];
};

#ifdef RECONNU_ERRINJ
void wal_errinj_set(struct wal *w, enum wal_errinj p, int times, uint32_t arg)
{
	if ((unsigned)p >= WAL_ERRINJ__COUNT)
		return;
	atomic_store(&w->inj_arg[p], arg);
	atomic_store(&w->inj_times[p], times);
}

static int inj_take(struct wal *w, enum wal_errinj p)
{
	int t = atomic_load(&w->inj_times[p]);
	for (;;) {
		if (t == 0)
			return 0;
		if (t < 0)
			return 1;
		if (atomic_compare_exchange_weak(&w->inj_times[p], &t, t - 1))
			return 1;
	}
}
#endif

/** Error injection on completion results (no-op without RECONNU_ERRINJ).
 *  wres/sres may be NULL when there was no write / no sync. */
static void inject(struct wal *w, size_t wlen, int *wres, int *sres)
{
#ifdef RECONNU_ERRINJ
	if (wres && *wres >= 0) {
		if (inj_take(w, WAL_ERRINJ_WRITE_ENOSPC)) {
			*wres = -ENOSPC;
			if (sres)
				*sres = -ECANCELED;
		} else if (inj_take(w, WAL_ERRINJ_WRITE_SHORT)) {
			*wres = (int)(wlen / 2);
			if (sres)
				*sres = -ECANCELED;
		}
	}
	if (sres && *sres == 0) {
		if (inj_take(w, WAL_ERRINJ_FSYNC_DELAY))
			usleep(
			    atomic_load(&w->inj_arg[WAL_ERRINJ_FSYNC_DELAY]));
		if (inj_take(w, WAL_ERRINJ_FSYNC_EIO))
			*sres = -EIO;
		else if (inj_take(w, WAL_ERRINJ_FSYNC_CANCEL))
			*sres = -ECANCELED;
	}
#else
	(void)w, (void)wlen, (void)wres, (void)sres;
#endif
}

static void seg_path(char *buf, size_t cap, const char *dir, uint64_t start,
		     const char *suffix)
{
	snprintf(buf, cap, "%s/%020" PRIu64 ".wal%s", dir, start, suffix);
}

/** fdatasync of the current segment (WAL thread). */
static int wal_sync_now(struct wal *w)
{
	int rc = w->io->ops->sync(w->io, w->fd);
	inject(w, 0, NULL, &rc);
	if (rc < 0)
		return rc;
	w->synced_lsn = w->written_lsn;
	w->last_sync = now_ns();
	pthread_mutex_lock(&w->mu);
	w->st.syncs++;
	w->st.synced_lsn = w->synced_lsn;
	pthread_mutex_unlock(&w->mu);
	return 0;
}

/** Trims a retired segment to its last frame (size) and closes it. Its
 *  zero tail is not data: recovery trims it too when this is lost. */
static void trim_close(struct wal *w, int fd, uint64_t size)
{
	const struct wal_io_ops *io = w->io->ops;
	if (io->ftruncate(w->io, fd, size) == 0)
		io->sync(w->io, fd);
	io->close(w->io, fd);
}

/** Closes a rotated segment: a preallocated one is trimmed to its last
 *  frame by the helper, off the log's path (here when its queue is full). */
static void wal_retire(struct wal *w, int fd, uint64_t seg_size, uint64_t end)
{
	if (!seg_size || end >= seg_size) {
		w->io->ops->close(w->io, fd);
		return;
	}
	pthread_mutex_lock(&w->mu);
	if (w->helper_started && w->ntrims < 4) {
		w->trims[w->ntrims++] = (struct wal_trim){fd, end};
		pthread_cond_signal(&w->helper_wake);
		fd = -1;
	}
	pthread_mutex_unlock(&w->mu);
	if (fd >= 0)
		trim_close(w, fd, end);
}

/** Takes the spare when one is ready: renamed to tmp and opened.
 *  @retval fd, or -1 (none, or it could not be taken: grow instead). */
static int spare_take(struct wal *w, const char *tmp)
{
	char spare[4200];
	int ready, fd = -1;
	pthread_mutex_lock(&w->mu);
	ready = w->spare_ready;
	pthread_mutex_unlock(&w->mu);
	if (!ready)
		return -1;
	/* the helper makes no new spare until spare_ready drops below, so
	 * this renames the one it announced */
	snprintf(spare, sizeof(spare), "%s/%s", w->dir, WAL_SPARE);
	if (w->io->ops->rename(w->io, spare, tmp) == 0)
		fd = w->io->ops->open(w->io, tmp, O_WRONLY | O_CLOEXEC, 0);
	pthread_mutex_lock(&w->mu);
	w->spare_ready = 0;
	pthread_cond_signal(&w->helper_wake);
	pthread_mutex_unlock(&w->mu);
	return fd < 0 ? -1 : fd;
}

/**
 * Closes the current segment (synced first) and starts one whose first
 * frame will be start: the zero-filled spare or a new file as NAME.tmp,
 * header, fdatasync, rename, fsync dir.
 */
static int wal_rotate(struct wal *w, uint64_t start)
{
	char tmp[4200], path[4200];
	uint8_t h[WAL_HDR];
	const struct wal_io_ops *io = w->io->ops;
	int rc, wres, sres = 0;
	if (w->fd >= 0) {
		if (w->written_lsn > w->synced_lsn && (rc = wal_sync_now(w)))
			return rc;
		wal_retire(w, w->fd, w->seg_size, w->seg_off);
		w->fd = -1;
	}
	pthread_mutex_lock(&w->mu);
	if (w->spare_off == 1) { /* a failed spare: try again from now on */
		w->spare_off = 0;
		pthread_cond_signal(&w->helper_wake);
	}
	pthread_mutex_unlock(&w->mu);
	uint32_t salt = 0;
	while (salt == 0)
		if (getrandom(&salt, sizeof(salt), 0) != sizeof(salt))
			salt = (uint32_t)now_ns() ^ (uint32_t)getpid();
	head_encode(h, salt, start);
	seg_path(tmp, sizeof(tmp), w->dir, start, ".tmp");
	seg_path(path, sizeof(path), w->dir, start, "");
	int fd = spare_take(w, tmp);
	uint64_t seg_size = fd >= 0 ? w->segment_bytes : 0;
	if (fd < 0)
		fd = io->open(w->io, tmp,
			      O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return fd;
	struct iovec iov = {h, WAL_HDR};
	io->write_sync(w->io, fd, &iov, 1, 0, 1, &wres, &sres);
	inject(w, WAL_HDR, &wres, &sres);
	rc = wres < 0 ? wres : wres != WAL_HDR ? -ENOSPC : sres;
	if (!rc)
		rc = io->rename(w->io, tmp, path);
	if (!rc)
		rc = io->fsync_dir(w->io, w->dirfd);
	if (rc) {
		io->close(w->io, fd);
		unlink(tmp);
		return rc;
	}
	w->fd = fd;
	w->seg_size = seg_size;
	w->salt = salt;
	w->seg_off = w->good_off = WAL_HDR;
	pthread_mutex_lock(&w->mu);
	w->st.prealloc_segments += seg_size != 0;
	if (!w->nsegs || w->segs[w->nsegs - 1] != start) {
		if (w->nsegs == w->segcap) {
			size_t cap = w->segcap ? 2 * w->segcap : 16;
			uint64_t *s = realloc(w->segs, cap * sizeof(*s));
			if (!s) {
				pthread_mutex_unlock(&w->mu);
				return -ENOMEM;
			}
			w->segs = s;
			w->segcap = cap;
		}
		w->segs[w->nsegs++] = start;
	}
	w->st.segments++;
	pthread_mutex_unlock(&w->mu);
	return 0;
}

/** Calls and frees the callbacks of a list of n frames. */
static void complete(struct wal_frame *f, size_t n, int status)
{
	while (f && n--) {
		struct wal_frame *next = f->next;
		if (f->cb)
			f->cb(f->cb_ctx, f->lsn, status);
		free(f);
		f = next;
	}
}

/** Enters fail-stop with err (first error wins) and wakes waiters. */
static void wal_fail(struct wal *w, int err)
{
	int zero = 0;
	atomic_compare_exchange_strong(&w->failed, &zero, err);
	/* A failed write may still have put bytes on disk. */
	if (w->fd >= 0)
		w->io->ops->ftruncate(w->io, w->fd, w->good_off);
	pthread_mutex_lock(&w->mu);
	pthread_cond_broadcast(&w->done);
	pthread_mutex_unlock(&w->mu);
}

static void frame_stamp(struct wal *w, struct wal_frame *f)
{
	uint8_t *h = f->hdr;
	uint64_t back = f->lsn - w->synced_lsn;
	le_put32(h, WAL_FRAME_MAGIC);
	le_put32(h + 4, f->len);
	le_put64(h + 8, f->lsn);
	le_put32(h + 16, w->salt);
	le_put32(h + 20, back > UINT32_MAX ? UINT32_MAX : (uint32_t)back);
	h[24] = f->type;
	h[25] = h[26] = h[27] = 0;
	le_put32(h + 28, wal__crc32c(wal__crc32c(0, h, 28), f->payload, f->len));
}

/**
 * Writes the n frames from first (already cut to fit the segment) as one
 * batch, syncs it when the mode says so, and completes the frames.
 */
static void wal_write_batch(struct wal *w, struct wal_frame *first, size_t n,
			    size_t bytes)
{
	struct iovec iov[WAL_BATCH_FRAMES];
	struct wal_frame *f = first;
	uint64_t last = first->lsn;
	int err = atomic_load(&w->failed);
	if (err) {
		complete(first, n, err);
		return;
	}
	for (size_t i = 0; i < n; i++, f = f->next) {
		frame_stamp(w, f);
		iov[i].iov_base = f->hdr;
		iov[i].iov_len = WAL_HDR + f->len;
		last = f->lsn;
	}
	int sync = w->sync == WAL_SYNC_ALWAYS, wres, sres = 0;
	w->io->ops->write_sync(w->io, w->fd, iov, (int)n, w->seg_off, sync,
			       &wres, &sres);
	inject(w, bytes, &wres, sync ? &sres : NULL);
	w->seg_off += wres > 0 ? (uint64_t)wres : 0;
	/* A short write means the disk is full (as Redis reports it). */
	err = wres < 0 ? wres : (size_t)wres != bytes ? -ENOSPC : sres;
	if (err) {
		wal_fail(w, err);
		complete(first, n, err);
		return;
	}
	w->good_off = w->seg_off;
	w->written_lsn = last;
	if (sync) {
		w->synced_lsn = last;
		w->last_sync = now_ns();
	}
	/* Stats first, callbacks (the replies) next, then durable_lsn: the
	 * next write of a client, which follows its reply, does not find mu
	 * held by this thread, and a waiter is woken only if there is one. */
	pthread_mutex_lock(&w->mu);
	w->st.frames += n;
	w->st.bytes += bytes;
	w->st.batches++;
	w->st.syncs += (uint64_t)sync;
	if (n > w->st.max_batch)
		w->st.max_batch = n;
	int b = 0;
	while (b < 11 && (n >> (b + 1)))
		b++;
	w->st.batch_hist[b]++;
	w->st.synced_lsn = w->synced_lsn;
	pthread_mutex_unlock(&w->mu);
	complete(first, n, 0);
	/* wal_wait: durable_lsn only after the callbacks ran. A waiter bumps
	 * waiters under mu before it checks durable_lsn (both seq_cst): it
	 * sees the new LSN or is seen here, and mu is taken only then. */
	atomic_store(&w->durable_lsn, last);
	if (atomic_load(&w->waiters)) {
		pthread_mutex_lock(&w->mu);
		pthread_cond_broadcast(&w->done);
		pthread_mutex_unlock(&w->mu);
	}
}

/** Writes a whole dequeued list, batch by batch. */
static void wal_write_list(struct wal *w, struct wal_frame *list)
{
	while (list) {
		int err = atomic_load(&w->failed);
		if (!err && w->seg_off >= w->segment_bytes &&
		    (err = wal_rotate(w, list->lsn)))
			wal_fail(w, err);
		if (err) {
			complete(list, SIZE_MAX, err);
			return;
		}
		struct wal_frame *f = list;
		size_t n = 0, bytes = 0;
		while (f) {
			size_t sz = WAL_HDR + f->len;
			if (n && (n == WAL_BATCH_FRAMES ||
				  bytes + sz > WAL_BATCH_BYTES ||
				  w->seg_off + bytes + sz > w->segment_bytes))
				break;
			n++;
			bytes += sz;
			f = f->next;
		}
		wal_write_batch(w, list, n, bytes);
		list = f;
	}
}

/** Makes DIR/spare.zero (helper thread). @retval 0 or -errno. */
static int spare_make(struct wal *w)
{
	char tmp[4200], spare[4200];
	struct statvfs vs;
	snprintf(tmp, sizeof(tmp), "%s/%s", w->dir, WAL_SPARE_TMP);
	snprintf(spare, sizeof(spare), "%s/%s", w->dir, WAL_SPARE);
	/* room for the spare and for the segment being written: never let
	 * the zero-fill be what fills the disk under the log */
	if (fstatvfs(w->dirfd, &vs) == 0 &&
	    (uint64_t)vs.f_bavail * vs.f_frsize < 2 * w->segment_bytes)
		return -ENOSPC;
	int rc = w->io->ops->prealloc(w->io, tmp, w->segment_bytes,
				      &w->spare_cancel);
	if (!rc)
		rc = w->io->ops->rename(w->io, tmp, spare);
	if (rc)
		unlink(tmp);
	return rc;
}

/** Helper thread: trims rotated segments, keeps one spare ready. */
static void *wal_helper(void *arg)
{
	struct wal *w = arg;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		if (w->ntrims) {
			struct wal_trim t = w->trims[--w->ntrims];
			pthread_mutex_unlock(&w->mu);
			trim_close(w, t.fd, t.size);
			pthread_mutex_lock(&w->mu);
			continue;
		}
		if (w->helper_stop)
			break;
		if (!w->spare_ready && !w->spare_off &&
		    !atomic_load(&w->failed)) {
			pthread_mutex_unlock(&w->mu);
			int rc = spare_make(w);
			pthread_mutex_lock(&w->mu);
			if (rc)
				w->spare_off = 1;
			else
				w->spare_ready = 1;
			/* the log thread may be idle on a growing segment */
			pthread_cond_signal(&w->wake);
			continue;
		}
		pthread_cond_wait(&w->helper_wake, &w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void *wal_thread(void *arg)
{
	struct wal *w = arg;
	for (;;) {
		pthread_mutex_lock(&w->mu);
		int due = 0, early = 0;
		while (!w->head && !w->closing) {
			/* idle on a growing segment with a spare ready: switch
			 * now, so that later writers get the fast syncs */
			if (w->spare_ready && !w->seg_size &&
			    !atomic_load(&w->failed)) {
				early = 1;
				break;
			}
			int pending = w->sync == WAL_SYNC_BATCH &&
				      w->written_lsn > w->synced_lsn &&
				      !atomic_load(&w->failed);
			if (!pending) {
				pthread_cond_wait(&w->wake, &w->mu);
				continue;
			}
			uint64_t at = w->last_sync + w->batch_ns;
			if (now_ns() >= at) {
				due = 1;
				break;
			}
			struct timespec ts = {(time_t)(at / 1000000000u),
					      (long)(at % 1000000000u)};
			pthread_cond_timedwait(&w->wake, &w->mu, &ts);
		}
		struct wal_frame *list = w->head;
		int closing = w->closing;
		w->head = w->tail = NULL;
		pthread_mutex_unlock(&w->mu);
		if (early && !list) {
			/* every dequeued frame is written: the next is
			 * written_lsn + 1 (an empty segment is replaced) */
			int rc = wal_rotate(w, w->written_lsn + 1);
			if (rc)
				wal_fail(w, rc);
			continue;
		}
		if (list)
			wal_write_list(w, list);
		if (w->sync == WAL_SYNC_BATCH && !atomic_load(&w->failed) &&
		    w->written_lsn > w->synced_lsn &&
		    (due || now_ns() >= w->last_sync + w->batch_ns)) {
			int rc = wal_sync_now(w);
			if (rc)
				wal_fail(w, rc);
		}
		if (closing && !list)
			break;
	}
	if (!atomic_load(&w->failed) && w->written_lsn > w->synced_lsn) {
		int rc = wal_sync_now(w);
		if (rc)
			wal_fail(w, rc);
	}
	return NULL;
}

/* ---- recovery --------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/** Removes leftover NAME.tmp files and lists the segments, sorted. */
static int list_segments(struct wal *w, uint64_t **out, size_t *n)
{
	int fd = dup(w->dirfd);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	rewinddir(d);
	uint64_t *v = NULL;
	size_t cnt = 0, cap = 0;
	int rc = 0, removed = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		const char *s = e->d_name;
		size_t len = strlen(s), k = 0;
		while (k < len && s[k] >= '0' && s[k] <= '9')
			k++;
		if (k != 20 || strncmp(s + 20, ".wal", 4) != 0)
			continue;
		if (strcmp(s + 24, ".tmp") == 0) {
			unlinkat(w->dirfd, s, 0);
			removed = 1;
			continue;
		}
		if (s[24])
			continue;
		if (cnt == cap) {
			cap = cap ? 2 * cap : 16;
			uint64_t *nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				rc = -ENOMEM;
				break;
			}
			v = nv;
		}
		v[cnt++] = strtoull(s, NULL, 10);
	}
	closedir(d);
	if (removed && !rc && fsync(w->dirfd))
		rc = -errno;
	if (rc) {
		free(v);
		return rc;
	}
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_u64);
	*out = v;
	*n = cnt;
	return 0;
}

/** Copies bytes [off, EOF) of fd into path (force_recovery evidence). */
static int save_tail(int fd, uint64_t off, const char *path)
{
	int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0)
		return -errno;
	char buf[65536];
	int rc = 0;
	for (;;) {
		ssize_t k = pread(fd, buf, sizeof(buf), (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			rc = k < 0 ? -errno : 0;
			break;
		}
		if (write(out, buf, (size_t)k) != k) {
			rc = -EIO;
			break;
		}
		off += (uint64_t)k;
	}
	if (!rc && fsync(out))
		rc = -errno;
	close(out);
	return rc;
}

/** Cuts the file at path to size bytes and fsyncs it, after copying what
 *  is cut into aside when aside is not NULL. @retval 0 or -errno. */
static int cut_file(const char *path, uint64_t size, const char *aside)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = aside ? save_tail(fd, size, aside) : 0;
	if (!rc && (ftruncate(fd, (off_t)size) || fsync(fd)))
		rc = -errno;
	close(fd);
	return rc;
}

struct replay_ctx {
	wal_replay_fn fn;
	void *ctx;
	uint64_t from;
	struct wal_recovery *rec;
};

static int replay_frame(void *ctx, const struct wal_frame_info *fi,
			const uint8_t *payload)
{
	struct replay_ctx *rc = ctx;
	rc->rec->frames++;
	if (!rc->rec->first_lsn)
		rc->rec->first_lsn = fi->lsn;
	rc->rec->last_lsn = fi->lsn;
	if (fi->lsn < rc->from || !rc->fn)
		return 0;
	rc->rec->replayed++;
	return rc->fn(rc->ctx, fi->lsn, fi->type, fi->len ? payload : NULL,
		      fi->len);
}

/**
 * Validates every segment, cuts a torn tail (or, forced, the damage),
 * then replays. Leaves w->segs listing the live segments and w->next_lsn.
 */
static int wal_recover(struct wal *w, const struct wal_options *o,
		       wal_replay_fn replay, void *ctx,
		       struct wal_recovery *rec, char *err, size_t errcap)
{
	uint64_t *segs = NULL, *ztail = NULL, *before = NULL,
		 from = o->from_lsn ? o->from_lsn : 1;
	size_t n = 0, keep;
	struct rbuf r = {.fd = -1};
	struct wal_file_report rep;
	char path[4200], aside[4300];
	int rc = list_segments(w, &segs, &n);
	if (rc) {
		fmt(err, errcap, "%s: cannot list: %s", w->dir, strerror(-rc));
		return rc;
	}
	/* Pass 1: find the end of the usable log. ztail[i]: where segment i's
	 * preallocated zero tail starts (0: none), trimmed once pass 1 has
	 * accepted the log. before[i]: frames of segment i when all of them
	 * are older than from and the segment is clean (pass 2 need not read
	 * it again: a snapshot covers it), else UINT64_MAX. */
	if (n && (!(ztail = calloc(n, sizeof(*ztail))) ||
		  !(before = malloc(n * sizeof(*before))))) {
		rc = -ENOMEM;
		fmt(err, errcap, "out of memory");
		goto out;
	}
	uint64_t expect = 1, cut_off = 0;
	int cut = 0; /* 0 none, 1 torn tail, 2 forced */
	char why[300] = "";
	for (keep = 0; keep < n; keep++) {
		seg_path(path, sizeof(path), w->dir, segs[keep], "");
		r.fd = open(path, O_RDONLY | O_CLOEXEC);
		if (r.fd < 0) {
			rc = -errno;
			fmt(err, errcap, "%s: %s", path, strerror(-rc));
			goto out;
		}
		r.len = 0;
		rc = seg_scan(&r, w->max_frame, NULL, NULL, &rep);
		close(r.fd);
		r.fd = -1;
		if (rc < 0) {
			fmt(err, errcap, "%s: %s", path, strerror(-rc));
			goto out;
		}
		if (rep.header_ok && rep.start_lsn != segs[keep]) {
			rep.damage = 2;
			rep.valid_end = 0;
			fmt(rep.reason, sizeof(rep.reason),
			    "header start LSN %" PRIu64
			    " differs from the name",
			    rep.start_lsn);
		} else if (rep.header_ok && rep.start_lsn != expect &&
			   (rep.start_lsn < expect || rep.start_lsn > from)) {
			rep.damage = 2;
			rep.valid_end = 0;
			fmt(rep.reason, sizeof(rep.reason),
			    "starts at LSN %" PRIu64 " but LSN %" PRIu64
			    " was expected (%s)",
			    rep.start_lsn, expect,
			    rep.start_lsn < expect ? "overlap"
						   : "missing frames");
		}
		if (rep.damage == 2 || (rep.damage == 1 && keep + 1 < n)) {
			fmt(why, sizeof(why), "%s: offset %" PRIu64 ": %s",
			    path, rep.valid_end, rep.reason);
			if (!o->force_recovery) {
				rc = -EUCLEAN;
				fmt(err, errcap,
				    "%s (damage before the end of the log; "
				    "force_recovery keeps the prefix)",
				    why);
				goto out;
			}
			cut = 2;
		} else if (rep.damage == 1) {
			cut = 1;
			fmt(why, sizeof(why), "%s: offset %" PRIu64 ": %s",
			    path, rep.valid_end, rep.reason);
		}
		before[keep] =
		    !rep.damage && (!rep.frames || rep.last_lsn < from)
			? rep.frames
			: UINT64_MAX;
		if (cut) {
			cut_off = rep.valid_end;
			rec->cut_bytes = rep.size - rep.valid_end;
			break;
		}
		if (rep.zero_tail) {
			ztail[keep] = rep.valid_end;
			rec->zero_tail_bytes += rep.zero_tail;
		}
		expect = rep.frames ? rep.last_lsn + 1 : rep.start_lsn;
	}
	/* Trim the zero tails: every segment found here is an old one now
	 * (a new one starts below), and old segments end at their last frame.
	 */
	for (size_t i = 0; i < keep; i++) {
		if (!ztail[i])
			continue;
		seg_path(path, sizeof(path), w->dir, segs[i], "");
		if ((rc = cut_file(path, ztail[i], NULL)))
			goto io_fail;
	}
	/* Apply the cut: truncate (torn) or move aside (forced). */
	if (cut) {
		seg_path(path, sizeof(path), w->dir, segs[keep], "");
		fmt(rec->cut_file, sizeof(rec->cut_file), "%s", path);
		rec->cut_offset = cut_off;
		rec->truncated = cut;
		for (size_t i = keep + 1; i < n; i++) {
			seg_path(path, sizeof(path), w->dir, segs[i], "");
			snprintf(aside, sizeof(aside), "%s.corrupt", path);
			if (rename(path, aside)) {
				rc = -errno;
				goto io_fail;
			}
		}
		seg_path(path, sizeof(path), w->dir, segs[keep], "");
		if (cut_off < WAL_HDR) {
			snprintf(aside, sizeof(aside), "%s.corrupt", path);
			if (rename(path, aside)) {
				rc = -errno;
				goto io_fail;
			}
		} else {
			snprintf(aside, sizeof(aside), "%s.%" PRIu64 ".corrupt",
				 path, cut_off);
			if ((rc = cut_file(path, cut_off,
					   cut == 2 ? aside : NULL)))
				goto io_fail;
			keep++;
		}
		if (fsync(w->dirfd)) {
			rc = -errno;
			goto io_fail;
		}
		fmt(rec->note, sizeof(rec->note), "%s %" PRIu64 " bytes at %s",
		    cut == 1 ? "torn tail truncated:" : "forced recovery cut",
		    rec->cut_bytes, why);
	}
	/* Pass 2: replay the kept segments. */
	struct replay_ctx rc_ctx = {replay, ctx, from, rec};
	for (size_t i = 0; i < keep; i++) {
		seg_path(path, sizeof(path), w->dir, segs[i], "");
		r.fd = open(path, O_RDONLY | O_CLOEXEC);
		if (r.fd < 0) {
			rc = -errno;
			fmt(err, errcap, "%s: %s", path, strerror(-rc));
			goto out;
		}
		if (before[i] != UINT64_MAX) { /* nothing to replay */
			if (before[i]) {
				rec->first_lsn =
				    rec->first_lsn ? rec->first_lsn : segs[i];
				rec->last_lsn = segs[i] + before[i] - 1;
				rec->frames += before[i];
			}
			rc = fdatasync(r.fd) ? -errno : 0;
			close(r.fd);
			r.fd = -1;
			if (rc) {
				fmt(err, errcap, "%s: %s", path, strerror(-rc));
				goto out;
			}
			rec->segments++;
			continue;
		}
		r.len = 0;
		uint64_t found = rec->frames;
		rc = seg_scan(&r, w->max_frame, replay_frame, &rc_ctx, &rep);
		/* Recovered bytes may sit unsynced in the page cache (a crash
		 * in batch/none mode): make them durable before new frames
		 * claim, through their back field, that they are. */
		if (!rc && fdatasync(r.fd))
			rc = -errno;
		close(r.fd);
		r.fd = -1;
		if (rc) {
			fmt(err, errcap, "%s: replay stopped at LSN %" PRIu64,
			    path, rec->last_lsn + 1);
			goto out;
		}
		if (rep.damage || rec->frames - found != rep.frames) {
			rc = -EIO;
			fmt(err, errcap, "%s: changed during recovery", path);
			goto out;
		}
		rec->segments++;
	}
	if (rec->first_lsn > from && !o->force_recovery) {
		rc = -EUCLEAN;
		fmt(err, errcap,
		    "%s: log starts at LSN %" PRIu64
		    ", replay from LSN %" PRIu64 " needs missing frames",
		    w->dir, rec->first_lsn, from);
		goto out;
	}
	w->next_lsn = rec->last_lsn + 1 > from ? rec->last_lsn + 1 : from;
	if (!rec->last_lsn && keep)
		w->next_lsn = expect > from ? expect : from;
	rec->next_lsn = w->next_lsn;
	w->segs = segs;
	w->nsegs = w->segcap = keep;
	segs = NULL;
	rc = 0;
	goto out;
io_fail:
	fmt(err, errcap, "%s: cutting damaged log: %s", path, strerror(-rc));
out:
	free(before);
	free(ztail);
	free(segs);
	free(r.p);
	return rc;
}

/* ---- public API ------------------------------------------------------- */

/** wal_open: removes a half-made spare; keeps a complete one of the right
 *  size from the previous run (its zeros were fdatasync'ed before it got
 *  its name), so that the first segment is preallocated at once. */
static void spare_adopt(struct wal *w, int no_prealloc)
{
	struct stat st;
	unlinkat(w->dirfd, WAL_SPARE_TMP, 0);
	if (no_prealloc) {
		w->spare_off = 2;
		unlinkat(w->dirfd, WAL_SPARE, 0);
	} else if (fstatat(w->dirfd, WAL_SPARE, &st, 0) == 0) {
		if (S_ISREG(st.st_mode) &&
		    (uint64_t)st.st_size == w->segment_bytes)
			w->spare_ready = 1;
		else
			unlinkat(w->dirfd, WAL_SPARE, 0);
	}
}

static void wal_free(struct wal *w)
{
	if (w->fd >= 0)
		w->io->ops->close(w->io, w->fd);
	if (w->own_io && w->io)
		w->io->ops->destroy(w->io);
	if (w->dirfd >= 0)
		close(w->dirfd);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->wake);
	pthread_cond_destroy(&w->done);
	pthread_cond_destroy(&w->helper_wake);
	free(w->segs);
	free(w->dir);
	free(w);
}

int wal_open(const struct wal_options *o, wal_replay_fn replay, void *ctx,
	     struct wal **out, struct wal_recovery *rec, char *err,
	     size_t errcap)
{
	struct wal_recovery rec_local;
	struct wal *w;
	pthread_condattr_t ca;
	int rc;
	*out = NULL;
	if (!rec)
		rec = &rec_local;
	memset(rec, 0, sizeof(*rec));
	fmt(err, errcap, "%s", "");
	if (!o || !o->dir || !*o->dir || o->sync > WAL_SYNC_NONE ||
	    o->max_frame_bytes > WAL_MAX_FRAME) {
		fmt(err, errcap, "invalid WAL options");
		return -EINVAL;
	}
	if (!(w = calloc(1, sizeof(*w)))) {
		fmt(err, errcap, "out of memory");
		return -ENOMEM;
	}
	w->fd = w->dirfd = -1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->wake, &ca);
	pthread_cond_init(&w->done, NULL);
	pthread_cond_init(&w->helper_wake, NULL);
	pthread_condattr_destroy(&ca);
	w->sync = o->sync;
	w->batch_ns = (uint64_t)(o->batch_ms ? o->batch_ms : 10) * 1000000u;
	w->segment_bytes = o->segment_bytes ? o->segment_bytes : 64u << 20;
	w->max_frame = o->max_frame_bytes ? o->max_frame_bytes : 16u << 20;
	if (!(w->dir = strdup(o->dir))) {
		rc = -ENOMEM;
		fmt(err, errcap, "out of memory");
		goto fail;
	}
	if (mkdir(w->dir, 0755) && errno != EEXIST) {
		rc = -errno;
		fmt(err, errcap, "%s: mkdir: %s", w->dir, strerror(errno));
		goto fail;
	}
	w->dirfd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->dirfd < 0) {
		rc = -errno;
		fmt(err, errcap, "%s: %s", w->dir, strerror(errno));
		goto fail;
	}
	if ((rc = wal_recover(w, o, replay, ctx, rec, err, errcap)))
		goto fail;
	w->io = o->io;
	if (!w->io) {
		if (!(w->io = wal_io_uring_new(8))) {
			rc = -errno;
			fmt(err, errcap, "io_uring: %s", strerror(errno));
			goto fail;
		}
		w->own_io = 1;
	}
	spare_adopt(w, o->no_prealloc);
	w->written_lsn = w->synced_lsn = w->next_lsn - 1;
	atomic_store(&w->durable_lsn, w->next_lsn - 1);
	w->last_sync = now_ns();
	if ((rc = wal_rotate(w, w->next_lsn))) {
		fmt(err, errcap, "%s: new segment: %s", w->dir, strerror(-rc));
		goto fail;
	}
	w->st.durable_lsn = w->st.synced_lsn = w->next_lsn - 1;
	if ((rc = -pthread_create(&w->thr, NULL, wal_thread, w))) {
		fmt(err, errcap, "WAL thread: %s", strerror(-rc));
		goto fail;
	}
	w->thr_started = 1;
	if (!w->spare_off &&
	    pthread_create(&w->helper, NULL, wal_helper, w) == 0)
		w->helper_started = 1; /* else: segments grow, as without */
	*out = w;
	return 0;
fail:
	wal_free(w);
	return rc;
}

/* Queues the numbered frames head..tail for the log thread. Caller holds
 * w->mu. @retval 1 when the queue was empty: the caller then signals
 * w->wake, after unlocking mu, so that the woken log thread does not at
 * once block on the mutex still held here (a second wake-up). */
static int enqueue_locked(struct wal *w, struct wal_frame *head,
			  struct wal_frame *tail)
{
	int was_empty = !w->tail;
	if (w->tail)
		w->tail->next = head;
	else
		w->head = head;
	w->tail = tail;
	return was_empty;
}

int wal_append(struct wal *w, uint8_t type, const void *payload, size_t len,
	       wal_durable_fn cb, void *cb_ctx, uint64_t *lsn)
{
	if (len > w->max_frame)
		return -EMSGSIZE;
	int err = atomic_load(&w->failed);
	if (err)
		return err;
	struct wal_frame *f = malloc(sizeof(*f) + len);
	if (!f)
		return -ENOMEM;
	f->next = NULL;
	f->cb = cb;
	f->cb_ctx = cb_ctx;
	f->len = (uint32_t)len;
	f->type = type;
	if (len)
		memcpy(f->payload, payload, len);
	pthread_mutex_lock(&w->mu);
	if ((err = atomic_load(&w->failed)) || w->closing) {
		pthread_mutex_unlock(&w->mu);
		free(f);
		return err ? err : -ESHUTDOWN;
	}
	f->lsn = w->next_lsn++;
	int wake = enqueue_locked(w, f, f);
	if (lsn)
		*lsn = f->lsn;
	pthread_mutex_unlock(&w->mu);
	if (wake)
		pthread_cond_signal(&w->wake);
	return 0;
}

int wal_append_batch(struct wal *w, const struct wal_item *items, size_t n,
		     uint64_t *last_lsn)
{
	struct wal_frame *head = NULL, *tail = NULL;
	int err = 0;
	if (!n)
		return 0;
	if ((err = atomic_load(&w->failed)))
		return err;
	for (size_t i = 0; i < n && !err; i++) {
		const struct wal_item *it = &items[i];
		struct wal_frame *f;
		if (it->len > w->max_frame)
			err = -EMSGSIZE;
		else if (!(f = malloc(sizeof(*f) + it->len)))
			err = -ENOMEM;
		if (err)
			break;
		f->next = NULL;
		f->cb = it->cb;
		f->cb_ctx = it->cb_ctx;
		f->len = (uint32_t)it->len;
		f->type = it->type;
		if (it->len)
			memcpy(f->payload, it->payload, it->len);
		if (tail)
			tail->next = f;
		else
			head = f;
		tail = f;
	}
	pthread_mutex_lock(&w->mu);
	if (!err && ((err = atomic_load(&w->failed)) || w->closing))
		err = err ? err : -ESHUTDOWN;
	if (err) {
		pthread_mutex_unlock(&w->mu);
		while (head) {
			struct wal_frame *next = head->next;
			free(head);
			head = next;
		}
		return err;
	}
	for (struct wal_frame *f = head; f; f = f->next)
		f->lsn = w->next_lsn++;
	int wake = enqueue_locked(w, head, tail);
	if (last_lsn)
		*last_lsn = tail->lsn;
	pthread_mutex_unlock(&w->mu);
	if (wake)
		pthread_cond_signal(&w->wake);
	return 0;
}

int wal_wait(struct wal *w, uint64_t lsn)
{
	int rc;
	pthread_mutex_lock(&w->mu);
	if (lsn >= w->next_lsn) {
		pthread_mutex_unlock(&w->mu);
		return -EINVAL;
	}
	atomic_fetch_add(&w->waiters, 1);
	while (atomic_load(&w->durable_lsn) < lsn && !atomic_load(&w->failed))
		pthread_cond_wait(&w->done, &w->mu);
	atomic_fetch_sub(&w->waiters, 1);
	rc = atomic_load(&w->durable_lsn) >= lsn ? 0 : atomic_load(&w->failed);
	pthread_mutex_unlock(&w->mu);
	return rc;
}

uint64_t wal_durable_lsn(struct wal *w)
{
	return atomic_load(&w->durable_lsn);
}

int wal_failed(struct wal *w)
{
	return atomic_load(&w->failed);
}

int wal_remove_before(struct wal *w, uint64_t lsn)
{
	char path[4200];
	int removed = 0, rc = 0;
	pthread_mutex_lock(&w->mu);
	size_t k = 0;
	while (k + 1 < w->nsegs && w->segs[k + 1] <= lsn)
		k++;
	for (size_t i = 0; i < k; i++) {
		seg_path(path, sizeof(path), w->dir, w->segs[i], "");
		if (unlink(path) && errno != ENOENT) {
			rc = -errno;
			break;
		}
		removed++;
	}
	memmove(w->segs, w->segs + removed,
		(w->nsegs - (size_t)removed) * sizeof(*w->segs));
	w->nsegs -= (size_t)removed;
	pthread_mutex_unlock(&w->mu);
	if (removed && fsync(w->dirfd) && !rc)
		rc = -errno;
	return rc ? rc : removed;
}

void wal_stats(struct wal *w, struct wal_stats *st)
{
	pthread_mutex_lock(&w->mu);
	*st = w->st;
	st->next_lsn = w->next_lsn;
	st->durable_lsn = atomic_load(&w->durable_lsn);
	pthread_mutex_unlock(&w->mu);
}

void wal_close(struct wal *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->closing = 1;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->mu);
	if (w->thr_started)
		pthread_join(w->thr, NULL);
	pthread_mutex_lock(&w->mu);
	w->helper_stop = 1;
	atomic_store(&w->spare_cancel, 1);
	pthread_cond_signal(&w->helper_wake);
	pthread_mutex_unlock(&w->mu);
	if (w->helper_started)
		pthread_join(w->helper, NULL);
	/* the last segment ends at its last frame after a clean close (after
	 * a failure, wal_fail already cut it there) */
	if (w->fd >= 0 && w->seg_size > w->good_off && !atomic_load(&w->failed))
		trim_close(w, w->fd, w->good_off);
	else if (w->fd >= 0)
		w->io->ops->close(w->io, w->fd);
	w->fd = -1;
	wal_free(w);
}
