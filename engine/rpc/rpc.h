/*
 * rpc — the gRPC C-core server of reconnu.v1.Reconnu and
 * grpc.health.v1.Health/Check over one engine handle.
 *
 * Threads: N worker threads, each with its own completion queue on which
 * every method is armed once; a call is handled start to finish by the
 * thread whose queue received it (reads never hop threads; writes go
 * through the engine's own write lock). Each call is a small state machine
 * (struct rpc_call in rpc.c) with its own arena (codec_mem) freed when the
 * call ends.
 *
 * Lifecycle: rpc_server_start() → (caller preloads data) →
 * rpc_server_set_ready(s, 1) → ... → rpc_server_stop() (graceful:
 * in-flight calls finish, new ones are refused) → rpc_server_delete().
 * Until ready, Reconnu methods answer UNAVAILABLE and Health NOT_SERVING.
 */
#ifndef RECONNU_RPC_H
#define RECONNU_RPC_H

#include <stddef.h>

#include "reconnu.h"

/** Server settings (caller-owned; strings only read during start). */
struct rpc_options {
	const char *listen;	  /**< "host:port"; port 0 = any free port */
	unsigned threads;	  /**< completion-queue threads (>= 1) */
	size_t max_message_bytes; /**< GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH */
	unsigned grace_ms;	  /**< how long stop waits for in-flight
				       calls before cancelling them */
	int in_memory;		  /**< no storage: Snapshot is refused */
	const reconnu_recovery *recovery; /**< start-up recovery figures for
					       Stats (copied; may be NULL) */
};

struct rpc_server;

/** Creates the gRPC server, binds, starts the worker threads.
 *  engine is borrowed and must outlive the server; it may be NULL while
 *  the engine is still recovering (Health answers NOT_SERVING, the other
 *  methods UNAVAILABLE): attach it, then set the server ready.
 *  @return the server, or NULL (bind failure, out of memory) with a log
 *          line written. */
struct rpc_server *rpc_server_start(reconnu *engine,
				    const struct rpc_options *o);
/** Hands the recovered engine to a server started without one; call
 *  before rpc_server_set_ready (which publishes it to the workers). */
void rpc_server_attach(struct rpc_server *s, reconnu *engine,
		       const reconnu_recovery *recovery);
/** The bound TCP port. */
int rpc_server_port(const struct rpc_server *s);
/** Serve the Reconnu methods (1) or answer UNAVAILABLE (0). */
void rpc_server_set_ready(struct rpc_server *s, int ready);
/** Graceful stop: refuses new calls, waits up to grace_ms for in-flight
 *  ones, cancels the rest, joins the worker threads. Idempotent. */
void rpc_server_stop(struct rpc_server *s);
/** Frees a stopped server (stops it first if needed). NULL: no-op. */
void rpc_server_delete(struct rpc_server *s);

/** Takes a snapshot (reconnu_snapshot), one at a time, and logs
 *  `event=snapshot reason=<reason> lsn=... write_pause=...`. Callable from
 *  any thread but never from a signal handler.
 *  @retval 0, or the engine error with a message in err. */
int rpc_server_snapshot(struct rpc_server *s, const char *reason,
			reconnu_snapshot_info *info, char *err, size_t errlen);
/** Writes (upserts + deletes, counting ops replayed at start) not yet
 *  covered by a snapshot. */
uint64_t rpc_server_writes_since_snapshot(struct rpc_server *s);
/** Non-zero once the engine's storage failed (fail-stop). */
int rpc_server_failed(struct rpc_server *s);

/** Writes one structured log line to stderr:
 *  "ts=<unix ms> level=<level> event=<event> <fmt...>". fmt adds
 *  key=value pairs; never pass personal data. Thread-safe (one write). */
void rpc_log(const char *level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
