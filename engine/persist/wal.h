/*
 * wal — the write-ahead log: one frame per logical op, group commit on a
 * dedicated thread (io_uring: one writev linked to one fdatasync per
 * batch), recovery with torn-tail truncation, fail-stop on any I/O error.
 *
 * A write is answered only after its frame is durable: the engine appends
 * (wal_append copies the payload and returns at once with the frame's LSN)
 * and replies from the durable callback, or blocks in wal_wait.
 *
 * Files. DIR holds segments named by the LSN of their first frame,
 * "%020llu.wal" (e.g. 00000000000000000001.wal). A segment is created as
 * NAME.tmp, its header written and fdatasync'ed, renamed, and the
 * directory fsync'ed before any frame goes into it; the previous segment
 * is fdatasync'ed before the next one is created, so only the last
 * segment can ever hold unsynced bytes. Each wal_open starts a new
 * segment (an empty last segment with the same name is replaced).
 *
 * Preallocation. Appending to a growing file makes every fdatasync also
 * write the inode (file size, extents; on a journalled file system, a
 * journal commit), which doubles its cost and gives it long tails. So a
 * helper thread keeps one spare ready: "spare.tmp" filled with
 * segment_bytes of real zeros (written, not fallocate'd: unwritten
 * extents would need a metadata change at the first write of each
 * block), fdatasync'ed, then renamed "spare.zero". A new segment takes
 * the spare when there is one (renamed to NAME.tmp, then as above), so
 * frames overwrite zeros in place and each fdatasync is a data-only
 * flush. Without a spare (not ready yet, no room on the disk, no_prealloc)
 * the segment is created empty and grows, as before; the first segment of
 * a wal_open is switched to the spare as soon as it is ready and the log
 * is idle. A preallocated segment keeps a zero tail after its last frame
 * until it is trimmed to its last frame: by the helper after rotation, by
 * wal_close, or by recovery. A spare left by the previous run is reused.
 *
 * On-disk layout, all integers little-endian:
 *
 *   file header, 32 bytes
 *     0  u8[8] magic "RCNUWAL\0"
 *     8  u32   format version (1)
 *    12  u32   salt: random, non-zero, new for every file
 *    16  u64   start LSN: LSN of the first frame in the file
 *    24  u32   reserved, 0
 *    28  u32   CRC32C of bytes 0..27
 *
 *   frame, 32-byte header + len payload bytes, back to back from offset 32
 *     0  u32   magic 0x57464e52 ("RNFW" in file order)
 *     4  u32   len: payload bytes, 0..max_frame_bytes
 *     8  u64   lsn: file start LSN for the first frame, then +1 per frame
 *    16  u32   salt: the file's salt
 *    20  u32   back: lsn minus the last LSN known fdatasync'ed when this
 *              frame was written (saturating; >= 1)
 *    24  u8    type (opaque op type), then 3 bytes 0
 *    28  u32   CRC32C of header bytes 0..27 followed by the payload
 *
 * Recovery (wal_open) reads segments in LSN order and stops a segment at
 * its first invalid frame (bad magic, length over the cap or past EOF,
 * wrong salt, LSN not the expected one, non-zero pad, bad checksum). The
 * length is checked against max_frame_bytes before any buffer grows.
 * When every byte from there to EOF is zero, that is the segment's clean
 * end (a preallocated zero tail, in any segment: a segment that was not
 * trimmed yet is followed by one starting at the next LSN, and a gap in
 * LSNs is refused below); recovery trims it. Otherwise, in
 * the last segment, such a stop is a torn tail when no later valid frame
 * proves the damaged bytes had already been fdatasync'ed (a later frame
 * whose lsn - back reaches the damaged LSN): the tail is truncated and
 * reported. Anything else — damage in an earlier segment, a bad file
 * header, a gap or overlap of LSNs, damage followed by frames written
 * after it was synced — refuses to start with "FILE: offset N: reason",
 * unless force_recovery, which keeps the valid prefix and moves the rest
 * aside (NAME.OFFSET.corrupt, later segments NAME.corrupt).
 * Damage inside the last written batch cannot be told from a torn write:
 * it is truncated like one.
 *
 * Threads. wal_append, wal_wait, wal_durable_lsn, wal_failed, wal_stats
 * and wal_remove_before may be called from any thread concurrently.
 * wal_open and wal_close are not concurrent with anything else on the
 * same handle. Durable callbacks run on the WAL thread, one at a time, in
 * LSN order; they must not call wal_close or wal_wait.
 *
 * Errors are negative errno values (strerror(-rc)); wal_open also fills a
 * message. Nothing is printed.
 */
#ifndef RECONNU_WAL_H
#define RECONNU_WAL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct wal;
struct wal_io;

/** When an appended frame counts as durable (callback status 0). */
enum wal_sync {
	/** After the fdatasync covering the frame completed (default).
	 *  Nothing acknowledged is lost on power loss. */
	WAL_SYNC_ALWAYS = 0,
	/** After the write reached the page cache; fdatasync every batch_ms.
	 *  A process crash loses nothing acknowledged; power loss or an OS
	 *  crash may lose up to batch_ms (plus one sync) of acknowledged
	 *  frames. A failed periodic fdatasync is fail-stop, but frames
	 *  acknowledged before it stay acknowledged. */
	WAL_SYNC_BATCH,
	/** After the write; fdatasync only at segment rotation and close.
	 *  Power loss may lose any acknowledged frame since the last one. */
	WAL_SYNC_NONE,
};

struct wal_options {
	/** Directory of the segments; created (one level) if missing.
	 *  Copied by wal_open. */
	const char *dir;
	enum wal_sync sync;
	/** WAL_SYNC_BATCH: period of the fdatasync, ms (0: 10). */
	uint32_t batch_ms;
	/** Rotate to a new segment once a segment reaches this size (0:
	 *  64 MiB). One batch may overshoot it. */
	uint64_t segment_bytes;
	/** Largest payload accepted by wal_append and by recovery (0: 16
	 *  MiB). Recovery never allocates more than this plus a header. */
	uint32_t max_frame_bytes;
	/** Replay frames with lsn >= from_lsn only: a snapshot's LSN + 1.
	 *  0 or 1: replay everything (the log must then start at LSN 1). */
	uint64_t from_lsn;
	/** Start even when damage is found outside a torn tail: keep the
	 *  valid prefix, move the rest aside (see above). */
	int force_recovery;
	/** I/O backend, NULL for io_uring. Borrowed until wal_close (tests
	 *  pass a power-loss simulator; see wal_io.h). */
	struct wal_io *io;
	/** 1: no zero-filled spare segments: segments grow as written (each
	 *  fdatasync then also writes the file's metadata). */
	int no_prealloc;
};

/**
 * Replay of one recovered frame, during wal_open, in LSN order. payload
 * is borrowed for the call only (NULL when len is 0). A non-zero return
 * aborts wal_open, which returns it.
 */
typedef int (*wal_replay_fn)(void *ctx, uint64_t lsn, uint8_t type,
			     const void *payload, size_t len);

/**
 * Outcome of one appended frame, on the WAL thread: status 0 once durable
 * (see enum wal_sync), or < 0 (negative errno) when it never can be. Called
 * exactly once per successful wal_append, before wal_close returns.
 */
typedef void (*wal_durable_fn)(void *ctx, uint64_t lsn, int status);

/** What recovery found and did, for logging by the caller. */
struct wal_recovery {
	uint32_t segments;   /**< segment files read */
	uint64_t frames;     /**< valid frames found (replayed or skipped) */
	uint64_t replayed;   /**< frames passed to the replay callback */
	uint64_t first_lsn;  /**< first LSN present, 0 if none */
	uint64_t last_lsn;   /**< last valid LSN, 0 if none */
	uint64_t next_lsn;   /**< LSN the next append gets */
	int truncated;	     /**< 1: a torn tail was cut, 2: forced cut */
	uint64_t cut_offset; /**< where, in cut_file */
	uint64_t cut_bytes;  /**< bytes removed (moved aside when forced) */
	/** preallocated zero bytes trimmed after the last frame of segments
	 *  (not damage, not in cut_bytes) */
	uint64_t zero_tail_bytes;
	char cut_file[256];  /**< segment path ("" if nothing cut) */
	char note[512];	     /**< one-line human summary of the cut */
};

/**
 * Recovers DIR (replaying every valid frame with lsn >= from_lsn through
 * replay, which may be NULL), then starts the WAL thread on a new segment.
 * Frames are all validated before the first replay call: on refusal,
 * nothing was replayed.
 * @param rec optional, filled with what recovery found.
 * @param err optional, receives a message on failure ("FILE: offset N:
 *        reason" for damage).
 * @retval 0 ok, *out set (free with wal_close).
 * @retval -EUCLEAN damage outside a torn tail (and not force_recovery).
 * @retval other negative errno: I/O, ENOMEM, EINVAL options, or the
 *         replay callback's non-zero value.
 */
int wal_open(const struct wal_options *o, wal_replay_fn replay, void *ctx,
	     struct wal **out, struct wal_recovery *rec, char *err,
	     size_t errcap);

/**
 * Copies payload into a new frame, gives it the next LSN (*lsn, optional)
 * and queues it for the WAL thread. Never waits for the disk (only for a
 * short mutex). cb (optional) is called once with the outcome.
 * @retval 0 queued.
 * @retval -EMSGSIZE len > max_frame_bytes.
 * @retval -ENOMEM, -ESHUTDOWN (closing), or the fail-stop error (see
 *         wal_failed): nothing queued, cb not called.
 */
int wal_append(struct wal *w, uint8_t type, const void *payload, size_t len,
	       wal_durable_fn cb, void *cb_ctx, uint64_t *lsn);

/** One frame of wal_append_batch. payload is borrowed for the call. */
struct wal_item {
	uint8_t type;
	const void *payload;
	size_t len;
	wal_durable_fn cb; /**< optional, as for wal_append */
	void *cb_ctx;	   /**< borrowed until cb ran */
};

/**
 * Appends n frames as wal_append would one after the other, but under one
 * acquisition of the queue mutex and with at most one wake-up of the WAL
 * thread: they get consecutive LSNs (the last in *last_lsn, optional) and
 * the group commit writes them together. An item's cb (optional) is called
 * as wal_append's would be; frames become durable in LSN order, so one cb
 * on the last item covers the batch. All or nothing: on error none is
 * queued and no cb is called.
 * @retval 0 queued (n == 0: nothing to do, *last_lsn untouched).
 * @retval -EMSGSIZE an item is over max_frame_bytes.
 * @retval -ENOMEM, -ESHUTDOWN, or the fail-stop error.
 */
int wal_append_batch(struct wal *w, const struct wal_item *items, size_t n,
		     uint64_t *last_lsn);

/**
 * Blocks until the frame lsn is durable or can never be. On success its
 * callback has already run; on failure the log is stopped and its
 * callback (status < 0) may still be running.
 * @retval 0 durable, -EINVAL lsn not yet assigned, < 0 the fail-stop error.
 */
int wal_wait(struct wal *w, uint64_t lsn);

/** Highest LSN whose frame and all earlier ones are durable. */
uint64_t wal_durable_lsn(struct wal *w);

/** Fail-stop state: 0 while healthy, else the negative errno that stopped
 *  the log. Once set it never clears; reopen (recovery) to continue. */
int wal_failed(struct wal *w);

/**
 * Removes the segments whose frames all have LSNs below lsn (covered by a
 * snapshot taken at lsn - 1), never the segment being written.
 * @retval number of segments removed (>= 0), or negative errno.
 */
int wal_remove_before(struct wal *w, uint64_t lsn);

/**
 * Drains (every appended frame becomes durable or failed, its callback
 * called), syncs, stops the WAL thread and frees w. NULL is a no-op.
 */
void wal_close(struct wal *w);

struct wal_stats {
	uint64_t frames;    /**< frames written */
	uint64_t bytes;	    /**< bytes written, headers included */
	uint64_t batches;   /**< writes (one per batch) */
	uint64_t syncs;	    /**< fdatasyncs completed */
	uint64_t max_batch; /**< most frames in one batch */
	/** batch_hist[i]: batches of [2^i, 2^(i+1)) frames (last: more) */
	uint64_t batch_hist[12];
	uint64_t segments;    /**< segments created */
	uint64_t prealloc_segments; /**< of them, taken from a zero spare */
	uint64_t next_lsn;    /**< LSN of the next append */
	uint64_t durable_lsn; /**< as wal_durable_lsn */
	uint64_t synced_lsn;  /**< last LSN covered by an fdatasync */
};
void wal_stats(struct wal *w, struct wal_stats *st);

/* ---- read-only inspection, for reconnu-check-wal ---------------------- */

/** One frame seen by wal_inspect_file. */
struct wal_frame_info {
	uint64_t offset; /**< of the frame header in the file */
	uint64_t lsn;
	uint32_t len;
	uint8_t type;
	uint32_t crc; /**< as stored */
};

/** What wal_inspect_file found in one segment. */
struct wal_file_report {
	int header_ok;	    /**< file header valid */
	uint32_t salt;	    /**< from the header */
	uint64_t start_lsn; /**< from the header */
	uint64_t frames;    /**< valid frames before the first damage */
	uint64_t last_lsn;  /**< of the last valid frame (0 if none) */
	uint64_t size;	    /**< file size */
	uint64_t valid_end; /**< offset just past the last valid frame */
	/** bytes from valid_end to EOF when they are all zero (a
	 *  preallocated tail: a clean end, damage 0), else 0 */
	uint64_t zero_tail;
	/** 0: clean to EOF; 1: damage that is a torn tail (no later frame
	 *  proves it was synced); 2: corruption (a later valid frame was
	 *  written after the damaged bytes were synced, or a bad header) */
	int damage;
	char reason[160]; /**< why the first invalid frame is invalid */
};

/** Called for every valid frame, in file order; non-zero stops. */
typedef int (*wal_inspect_fn)(void *ctx, const struct wal_frame_info *fi);

/**
 * Validates one segment file without changing it.
 * @retval 0 (see rep->damage), or negative errno on I/O error.
 */
int wal_inspect_file(const char *path, uint32_t max_frame_bytes,
		     wal_inspect_fn fn, void *ctx, struct wal_file_report *rep);

#ifdef RECONNU_ERRINJ
/** Error-injection points on completion results (test builds). */
enum wal_errinj {
	WAL_ERRINJ_WRITE_ENOSPC, /**< write completes with -ENOSPC */
	WAL_ERRINJ_WRITE_SHORT,	 /**< write completes with half its bytes (a
				    short write fails the log with -ENOSPC, as
				    Redis reports it) */
	WAL_ERRINJ_FSYNC_EIO,	 /**< fdatasync completes with -EIO */
	WAL_ERRINJ_FSYNC_CANCEL, /**< fdatasync completes with -ECANCELED */
	WAL_ERRINJ_FSYNC_DELAY,	 /**< fdatasync completion held back */
	WAL_ERRINJ__COUNT
};
/**
 * Arms point p for the next `times` matching completions (-1: for ever,
 * 0: disarm). For WAL_ERRINJ_FSYNC_DELAY, arg is the delay in µs.
 */
void wal_errinj_set(struct wal *w, enum wal_errinj p, int times, uint32_t arg);
#endif

#ifdef __cplusplus
}
#endif
#endif
