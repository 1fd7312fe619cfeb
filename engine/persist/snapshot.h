/*
 * snapshot — point-in-time image files for cold start.
 *
 * A snapshot is a sequence of typed items written through a buffered,
 * checksummed writer and published atomically:
 *   snap-<lsn>.tmp → fdatasync → rename to snap-<lsn>.snap → fsync(dir)
 * so a crash at any step leaves either the previous snapshots or the new
 * one complete. A reader verifies the whole file (magic, version, footer,
 * XXH3-64 over everything before the footer) before handing out a single
 * item: a damaged snapshot is never loaded.
 *
 * Layout (little-endian):
 *   header  32 bytes: "RCNUSNAP" | u32 version | u32 0 | u64 lsn | u64 0
 *   items   u8 kind | u8[3] 0 | u32 len | len bytes
 *   footer  24 bytes: "RCNUEND\0" | u64 item count | u64 XXH3-64(header+items)
 *
 * What the items mean is the caller's business (the engine writes records,
 * entities, edges and counters); the version in the header says which
 * meaning: version 1 held raw records, version 2 holds the images of
 * image.h. A reader is told the version before the first item and may
 * refuse it; a version outside SNAP_VERSION_OLDEST..SNAP_VERSION is
 * refused here.
 */
#ifndef RECONNU_SNAPSHOT_H
#define RECONNU_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

/** Format written; formats read: SNAP_VERSION_OLDEST to SNAP_VERSION. */
#define SNAP_VERSION	    2
#define SNAP_VERSION_OLDEST 1

struct snap_writer;

/** Starts dir/snap-<lsn>.tmp. @retval 0 or -errno. */
int snap_writer_open(const char *dir, uint64_t lsn, struct snap_writer **out);
/** Appends one item. @retval 0 or -errno (the writer is then only good
 *  for snap_writer_abort). */
int snap_put(struct snap_writer *w, uint8_t kind, const void *p, uint32_t n);
/** Footer, fdatasync, rename, fsync of the directory; frees w.
 *  @retval 0 or -errno (the .tmp is removed). */
int snap_writer_commit(struct snap_writer *w);
/** Removes the .tmp and frees w. */
void snap_writer_abort(struct snap_writer *w);

/** Test hook (RECONNU_ERRINJ builds): make the next commit stop after
 *  step 1 (footer written), 2 (synced) or 3 (renamed, directory not
 *  synced), as a crash there would; 0 disables. */
void snap_errinj_crash_at(int step);

/** How many records a snapshot writes per read-lock slice (the engine
 *  holds writers one slice at a time; default 1024), and a function it
 *  calls between slices, outside the lock. Test hook: records 0 restores
 *  the default, between NULL calls nothing. */
void snap_errinj_slices(uint32_t records, void (*between)(void *ctx),
			void *ctx);
uint32_t snap_slice_records(void);
void snap_between_slices(void);

/** How a snapshot load shares building records between the loading
 *  thread and its indexer thread: the loader builds a batch itself when
 *  the indexer is at least snap_load_ahead() batches behind (default 2).
 *  Test hook: SNAP_HELP_ALWAYS / SNAP_HELP_NEVER fix the split, so that
 *  both paths can be checked; SNAP_HELP_AUTO restores the default. */
enum snap_help { SNAP_HELP_AUTO, SNAP_HELP_ALWAYS, SNAP_HELP_NEVER };
void snap_errinj_load_help(enum snap_help mode);
uint32_t snap_load_ahead(void);

/** Test hook: 1 makes snap_read use its helper threads (one touching
 *  the mapped pages while the file is verified, one unmapping it
 *  afterwards) whatever the file's size; 0 restores the default (files of
 *  32 MiB and more). */
void snap_errinj_helpers(int always);

/** Snapshots in dir, newest first: their LSNs (at most cap). */
size_t snap_list(const char *dir, uint64_t *lsns, size_t cap);

typedef int (*snap_item_fn)(void *ctx, uint8_t kind, const void *p,
			    uint32_t n);
/** Verifies dir/snap-<lsn>.snap whole, sets *version, then calls fn for
 *  every item, then end (if not NULL) once, even when fn failed.
 *  Item bytes are borrowed: valid until end returns (so work handed to
 *  another thread can still read them; end waits for it).
 *  @retval 0, -EBADMSG damaged (nothing was handed out), -ENOTSUP whole
 *  but of a format version this build does not read (*version says
 *  which; nothing was handed out), -errno, fn's non-zero return, or
 *  end's. */
int snap_read(const char *dir, uint64_t lsn, uint32_t *version, snap_item_fn fn,
	      int (*end)(void *ctx), void *ctx);

/** snap_read with a look-ahead: ahead (if not NULL) sees every item
 *  (same arguments as fn) SNAP_AHEAD items before fn does, so that it can
 *  start loading into the cache what fn will touch (a table slot the item
 *  names, say); it must not change anything. */
enum { SNAP_AHEAD = 8 };
int snap_read_ahead(const char *dir, uint64_t lsn, uint32_t *version,
		    snap_item_fn fn, snap_item_fn ahead, int (*end)(void *ctx),
		    void *ctx);

/** Keeps the newest keep snapshots, removes older ones and stray .tmp
 *  files. @retval LSN of the oldest snapshot kept (0 if none). */
uint64_t snap_prune(const char *dir, size_t keep);

#endif
