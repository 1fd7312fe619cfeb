/*
 * wal_io — the I/O layer under the WAL thread, so that tests can run the
 * log over a power-loss simulator (written vs synced bytes) instead of
 * io_uring. Recovery reads files with plain syscalls and does not go
 * through this layer.
 *
 * Every function returns >= 0 or a negative errno and is called from one
 * thread at a time (wal_open, then the WAL thread, then wal_close), except
 * that the WAL's helper thread (zero-filled spare segments, trimming
 * rotated ones) calls prealloc, rename, ftruncate, sync and close on its
 * own files concurrently with the WAL thread: a backend with shared state
 * must lock it.
 */
#ifndef RECONNU_WAL_IO_H
#define RECONNU_WAL_IO_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct wal_io;

struct wal_io_ops {
	/** open(2) of path; @retval fd >= 0 or -errno. */
	int (*open)(struct wal_io *io, const char *path, int flags,
		    mode_t mode);
	int (*close)(struct wal_io *io, int fd);
	int (*rename)(struct wal_io *io, const char *from, const char *to);
	/** fsync of the directory holding the segments. */
	int (*fsync_dir)(struct wal_io *io, int dirfd);
	int (*ftruncate)(struct wal_io *io, int fd, uint64_t size);
	/**
	 * Writes iov at off; when sync, then fdatasync(fd), ordered after
	 * the write (linked). *wres: bytes written or -errno; *sres: 0,
	 * -errno, or -ECANCELED when the write failed or was short (left
	 * untouched when !sync).
	 */
	void (*write_sync)(struct wal_io *io, int fd, const struct iovec *iov,
			   int iovcnt, uint64_t off, int sync, int *wres,
			   int *sres);
	/** fdatasync(fd) alone. */
	int (*sync)(struct wal_io *io, int fd);
	/**
	 * Creates path (truncated) as size zero bytes that are durable and
	 * really written, not merely allocated, so that later writes inside
	 * it change no file metadata and their fdatasync is a data-only
	 * flush; closes it. Stops early with -ECANCELED once *cancel is
	 * non-zero. On error the file may remain (the caller removes it).
	 */
	int (*prealloc)(struct wal_io *io, const char *path, uint64_t size,
			const _Atomic int *cancel);
	/** Frees the backend (called by wal_close for backends it made). */
	void (*destroy)(struct wal_io *io);
};

/** Embed first in a backend's own struct. */
struct wal_io {
	const struct wal_io_ops *ops;
};

/** The io_uring backend. NULL on failure (errno set). */
struct wal_io *wal_io_uring_new(unsigned entries);

#ifdef __cplusplus
}
#endif
#endif
