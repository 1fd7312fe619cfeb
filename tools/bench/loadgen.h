/*
 * loadgen.h — the gRPC load generator behind reconnu-bench and
 * `reconnu bench`: drives reconnu-server over N connections (one channel,
 * one completion queue and one thread each) and reports latency
 * percentiles, throughput and errors by status code, always next to a
 * Health/Check baseline measured in the same run.
 *
 * Modes
 *  - closed loop: `clients` calls are outstanding at all times, spread
 *    over the connections; each client issues its next call when the
 *    previous one ended. Latency is measured from the actual send.
 *  - open loop: calls are sent at a fixed rate (`rate` calls/s, evenly
 *    spaced, round robin over the connections) whether or not earlier
 *    ones have ended, by a pacing thread. Latency is measured from the
 *    *scheduled* send time, so a stall of the server (or of the client)
 *    shows up in the latency of every call that should have been sent
 *    meanwhile instead of being hidden by fewer sends (coordinated
 *    omission). The lag of actual sends behind the schedule is reported.
 *
 * A run is phases in order: the Health/Check baseline, then the workload
 * (skipped for the baseline when the workload is health alone). Each
 * phase runs `warmup` seconds unmeasured, then `duration` seconds
 * measured; calls started in the measured window count, even when they
 * end after it. Every call has a deadline. SIGINT or SIGTERM ends the
 * current phase early and skips the rest; what was measured is reported.
 *
 * Requests come from a caller-provided generator (struct loadgen_gen), so
 * the load generator knows nothing of records.
 */
#ifndef RECONNU_LOADGEN_H
#define RECONNU_LOADGEN_H

#include <stdint.h>
#include <stdio.h>

#include <grpc/grpc.h>

/** What one call is. */
enum loadgen_kind {
	LOADGEN_HEALTH,	  /**< grpc.health.v1.Health/Check, empty request */
	LOADGEN_IDENTIFY, /**< reconnu.v1.Reconnu/Identify */
	LOADGEN_UPSERT,	  /**< reconnu.v1.Reconnu/Upsert */
	LOADGEN_STATS,	  /**< reconnu.v1.Reconnu/Stats */
	LOADGEN_BULK,	  /**< reconnu.v1.Reconnu/UpsertStream: one call =
			       one stream of `batch` records */
	LOADGEN_N_KINDS,
};

/** Name of a kind ("health", "identify", "upsert", "stats", "bulk"). */
const char *loadgen_kind_name(enum loadgen_kind k);
/** Kind of a name, or -1. */
int loadgen_kind_of(const char *name);

enum loadgen_mode { LOADGEN_CLOSED, LOADGEN_OPEN };

/** Source of requests. next() is called from several threads at once
 *  (never twice at once with the same rng) and returns a new buffer that
 *  the load generator sends and destroys, or NULL when there is nothing
 *  more to send (the client stops). For LOADGEN_BULK it returns one
 *  serialised UpsertStreamRequest, called once per record. rng is the
 *  caller's per-thread random state (seeded by the load generator). */
struct loadgen_gen {
	grpc_byte_buffer *(*next)(void *ctx, enum loadgen_kind k,
				  uint64_t *rng);
	void *ctx;
};

/** A run. Strings are borrowed for the duration of loadgen_run. */
struct loadgen_opts {
	const char *server;   /**< host:port */
	const char *workload; /**< name shown for the workload phase */
	enum loadgen_mode mode;
	unsigned connections; /**< channels (TCP connections), ≥ 1 */
	unsigned clients;     /**< closed loop: outstanding calls (0 = one
				   per connection) */
	double rate;	      /**< open loop: calls/s, > 0 */
	double duration;      /**< measured seconds per phase */
	double warmup;	      /**< unmeasured seconds before each phase */
	long deadline_ms;     /**< per unary call (streams: ×10, ≥ 60 s) */
	unsigned weight[LOADGEN_N_KINDS]; /**< workload mix (relative) */
	unsigned batch;			  /**< bulk: records per stream */
	int no_baseline; /**< skip the health phase (not from reconnu-bench) */
	uint64_t seed;	 /**< of the per-thread random states */
	struct loadgen_gen gen;
	/** Optional setup before the measured phases, unmeasured and
	 *  closed loop: calls of kind setup_kind until gen returns NULL
	 *  (e.g. upserting a population to identify later); 0 calls = none */
	int setup;
	enum loadgen_kind setup_kind;
	struct loadgen_gen setup_gen;
};

/** Results of a run (opaque): free with loadgen_result_delete. */
struct loadgen_result;

/** Runs the phases. On success *out is the result (also when some calls
 *  failed: see loadgen_result_errors).
 *  @retval 0 ran
 *  @retval -1 bad options, or the server never answered Health SERVING
 *          within the deadline; message on stderr */
int loadgen_run(const struct loadgen_opts *o, struct loadgen_result **out);
void loadgen_result_delete(struct loadgen_result *r);
/** Failed calls (and rejected stream records) over the measured phases. */
uint64_t loadgen_result_errors(const struct loadgen_result *r);

/** Prints the table: one row per phase and kind (an `all` row for a
 *  mix), the workload/health ratio of p50 and p99, errors by code, and in
 *  open loop the send lag. */
void loadgen_print_table(const struct loadgen_result *r, FILE *f);
/** One JSON object (one line) with the same figures. */
void loadgen_print_json(const struct loadgen_result *r, FILE *f);
/** CSV: a header, then `second` rows (per phase and measured second: calls
 *  ended in it, all kinds together) and `summary` rows (one per table
 *  row). @retval 0 or -1 (cannot write, message on stderr) */
int loadgen_write_csv(const struct loadgen_result *r, const char *path);
/** PNGs through gnuplot: PREFIX-latency.png (p50/p99/p99.9 per second,
 *  health and workload) and PREFIX-cdf.png (latency CDF, log x axis,
 *  health vs workload). @retval 0 or -1 (gnuplot missing or failed) */
int loadgen_plot(const struct loadgen_result *r, const char *prefix);

#endif
