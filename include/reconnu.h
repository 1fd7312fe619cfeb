/*
 * reconnu.h — public C API of the Reconnu identity-resolution engine.
 *
 * Reconnu keeps source records in memory, decides which ones describe the
 * same person, keeps the identity graph of those decisions and serves a
 * golden record per person (entity).
 *
 * Conventions
 *  - Every function returns 0 (RECONNU_OK) or a negative RECONNU_E* code;
 *    reconnu_last_error() gives a human-readable message for the calling
 *    thread (valid until the next call on that thread). Library code never
 *    prints.
 *  - Input structs are caller-owned and only borrowed for the duration of
 *    the call: the engine copies what it keeps.
 *  - Result objects are allocated by the engine and freed by the caller
 *    with the matching *_free() function. They are snapshots: they stay
 *    valid after later writes.
 *  - Thread safety: any number of concurrent readers (identify, get,
 *    explain, stats) alongside writers; writes (upsert, delete, config) are
 *    serialised internally.
 *  - Strings are UTF-8, NUL-terminated; NULL and "" both mean "absent".
 */
#ifndef RECONNU_H
#define RECONNU_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RECONNU_VERSION_MAJOR 0
#define RECONNU_VERSION_MINOR 1
#define RECONNU_VERSION_PATCH 0
#define RECONNU_VERSION_STRING "0.1.0"

/* ---- error codes ---------------------------------------------------- */
enum reconnu_err {
	RECONNU_OK = 0,
	RECONNU_EINVAL = -1,    /**< bad input; message names the field */
	RECONNU_ENOTFOUND = -2, /**< unknown record, entity or alias */
	RECONNU_ENOMEM = -3,    /**< out of memory; nothing changed */
	RECONNU_ELIMIT = -4,    /**< a configured limit would be exceeded */
	RECONNU_EIO = -5,       /**< storage failure (persistence layer) */
	RECONNU_ESTATE = -6,    /**< engine not in a state to serve this */
};

/** Message for the last failing call on this thread ("" if none). */
const char *reconnu_last_error(void);
/** Static name of an error code, e.g. "RECONNU_EINVAL". */
const char *reconnu_strerror(int err);

/* ---- input limits (validation caps, documented in README) ----------- */
#define RECONNU_MAX_KEY_LEN 256       /**< source, source_id, id types */
#define RECONNU_MAX_FIELD_LEN 1024    /**< any other single string */
#define RECONNU_MAX_LIST 64           /**< emails, phones, addresses, ... */
#define RECONNU_MAX_ATTRIBUTES 128    /**< free attributes per record */

/* ---- input record --------------------------------------------------- */
typedef struct reconnu_address {
	const char *line1;
	const char *line2;
	const char *city;
	const char *postcode;
	const char *region;
	const char *country; /**< ISO 3166-1 alpha-2, e.g. "FR" */
} reconnu_address;

typedef struct reconnu_identifier {
	const char *type;  /**< e.g. "loyalty", "account", "national_id" */
	const char *value; /**< exact-match evidence within the same type */
} reconnu_identifier;

typedef struct reconnu_consent {
	const char *channel; /**< e.g. "email", "sms", "phone", "post" */
	int granted;         /**< 1 = opt-in, 0 = opt-out */
	int64_t at;          /**< statement time, unix milliseconds */
} reconnu_consent;

typedef struct reconnu_attr {
	const char *key;
	const char *value;
} reconnu_attr;

typedef struct reconnu_record {
	const char *source;    /**< required: the source system, e.g. "eshop-fr" */
	const char *source_id; /**< required: the record key in that source */
	const char *given_name;
	const char *family_name;
	const char *full_name; /**< used when given/family are absent */
	/** "YYYY", "YYYY-MM", "YYYY-MM-DD" or "YYYYMMDD" (partial precision) */
	const char *birth_date;
	const char *gender; /**< "M", "F", "X" or absent */
	/** default country (ISO alpha-2) for phones without an international
	 *  prefix; falls back to the first address's country. */
	const char *country;
	const char *const *emails;
	size_t n_emails;
	const char *const *phones;
	size_t n_phones;
	const reconnu_address *addresses;
	size_t n_addresses;
	const reconnu_identifier *identifiers;
	size_t n_identifiers;
	const reconnu_consent *consents;
	size_t n_consents;
	const reconnu_attr *attributes;
	size_t n_attributes;
	/** last change in the source, unix ms; 0 = unknown (then the order of
	 *  upserts decides recency). */
	int64_t updated_at;
} reconnu_record;

/* ---- decisions, explanations ---------------------------------------- */
typedef enum reconnu_decision {
	RECONNU_NO_MATCH = 0,
	RECONNU_POSSIBLE = 1, /**< to be reviewed by a person */
	RECONNU_MATCH = 2,    /**< linked automatically */
} reconnu_decision;

const char *reconnu_decision_name(reconnu_decision d);

/** One compared attribute: the evidence behind a score. */
typedef struct reconnu_feature {
	const char *attribute; /**< "given_name", "birth_date", "email", ... */
	const char *left;      /**< normalised value compared (may be "") */
	const char *right;
	const char *level;     /**< "exact", "nickname", "close", "far", "missing", ... */
	double similarity;     /**< 0..1 where a similarity applies, else -1 */
	double weight;         /**< log2 Bayes factor contributed */
	/** Part of weight due to the value's frequency (exact agreements on
	 *  names, city, postcode: rare values weigh more, common ones less). */
	double tf_adjustment;
} reconnu_feature;

typedef struct reconnu_explanation {
	double prior_weight; /**< log2 prior odds */
	double total_weight; /**< prior + sum of feature weights */
	double probability;
	reconnu_decision decision;
	reconnu_feature *features;
	size_t n_features;
} reconnu_explanation;

/* ---- golden record --------------------------------------------------- */
/** A value with its provenance (the source record that gave it). */
typedef struct reconnu_value {
	const char *value;
	const char *source;
	const char *source_id;
	int64_t updated_at;
	uint32_t count; /**< member records carrying this (normalised) value */
} reconnu_value;

typedef struct reconnu_golden_address {
	reconnu_address address;
	const char *source;
	const char *source_id;
	int64_t updated_at;
	uint32_t count;
} reconnu_golden_address;

typedef struct reconnu_golden_consent {
	const char *channel;
	int granted; /**< the most recent statement across all sources wins */
	int64_t at;
	const char *source;
	const char *source_id;
} reconnu_golden_consent;

typedef struct reconnu_record_key {
	const char *source;
	const char *source_id;
} reconnu_record_key;

typedef struct reconnu_golden {
	uint64_t entity_id;
	uint64_t version; /**< bumped by every change to the entity */
	reconnu_value given_name;  /**< .value NULL when unknown */
	reconnu_value family_name;
	reconnu_value full_name;
	reconnu_value birth_date;
	reconnu_value gender;
	reconnu_value *emails; /**< every distinct value, most recent first */
	size_t n_emails;
	reconnu_value *phones; /**< E.164 */
	size_t n_phones;
	reconnu_golden_address *addresses;
	size_t n_addresses;
	reconnu_value *identifiers; /**< value is "type:value" */
	size_t n_identifiers;
	reconnu_golden_consent *consents;
	size_t n_consents;
	reconnu_attr *attributes;
	reconnu_value *attribute_provenance; /**< parallel to attributes */
	size_t n_attributes;
	reconnu_record_key *members; /**< the source records, oldest first */
	size_t n_members;
	uint64_t *aliases; /**< absorbed entity ids that resolve here */
	size_t n_aliases;
} reconnu_golden;

/** Frees a golden record returned by the engine (NULL is a no-op). */
void reconnu_golden_free(reconnu_golden *g);

/* ---- engine --------------------------------------------------------- */
typedef struct reconnu reconnu; /**< opaque engine handle */

typedef struct reconnu_config {
	double match_threshold;    /**< auto-link at >= (default 0.96) */
	double possible_threshold; /**< review band lower bound (default 0.90) */
	uint32_t block_cap;        /**< posting list size past which a key stops
	                                producing candidates (default 1000) */
	uint32_t max_candidates;   /**< records scored per query, those sharing
	                                the most blocking keys (default 32) */
	/** optional directory with given-name variant CSV files (columns
	 *  original_name, alt_name); NULL = built-in table only */
	const char *nicknames_dir;
	/** source names in priority order for survivorship (highest first);
	 *  NULL = most recent non-empty value wins */
	const char *const *source_priority;
	size_t n_source_priority;
} reconnu_config;

/** Fills *cfg with the defaults. */
void reconnu_config_default(reconnu_config *cfg);

/** Creates an empty in-memory engine. cfg may be NULL (defaults).
 *  @retval 0 ok, *out owns the engine (free with reconnu_close). */
int reconnu_open(const reconnu_config *cfg, reconnu **out);
void reconnu_close(reconnu *r);

/** Result of an upsert. */
typedef struct reconnu_upsert_result {
	uint64_t entity_id;       /**< entity now holding the record */
	uint64_t entity_version;
	reconnu_decision decision; /**< how the record was resolved */
	double probability;        /**< best link probability (0 if none) */
	int created;               /**< 1 new record, 0 replaced a known key */
	uint32_t n_merged;         /**< entities absorbed into entity_id */
	uint32_t n_split;          /**< entities split off by the update */
} reconnu_upsert_result;

/** Adds or replaces the record with key (source, source_id) and resolves
 *  it. On error nothing changed. res may be NULL. */
int reconnu_upsert(reconnu *r, const reconnu_record *rec,
		   reconnu_upsert_result *res);

/** Removes a record; its entity is re-resolved (it may split or vanish).
 *  @retval RECONNU_ENOTFOUND unknown key. */
int reconnu_delete(reconnu *r, const char *source, const char *source_id,
		   reconnu_upsert_result *res);

typedef struct reconnu_candidate {
	uint64_t entity_id;
	double probability;
	reconnu_decision decision;
	reconnu_record_key best_record; /**< the member that scored best */
} reconnu_candidate;

typedef struct reconnu_match {
	reconnu_decision decision;
	uint64_t entity_id;   /**< best entity, 0 when there is no candidate */
	double probability;
	reconnu_golden *golden; /**< of the best entity; NULL if none */
	reconnu_candidate *candidates; /**< ranked, best first */
	size_t n_candidates;
	reconnu_explanation explanation; /**< query vs the best member */
} reconnu_match;

/** Read-only: which entity would this record belong to?
 *  The record's source/source_id may be absent. max_candidates 0 = 10.
 *  *out is owned by the caller: free with reconnu_match_free. */
int reconnu_identify(reconnu *r, const reconnu_record *rec,
		     size_t max_candidates, reconnu_match **out);
void reconnu_match_free(reconnu_match *m);

/** Golden record of an entity by id or by an absorbed id (alias).
 *  @retval RECONNU_ENOTFOUND unknown id. */
int reconnu_get_entity(reconnu *r, uint64_t entity_id, reconnu_golden **out);
/** Golden record of the entity holding the record (source, source_id). */
int reconnu_get_entity_by_key(reconnu *r, const char *source,
			      const char *source_id, reconnu_golden **out);

/** Explains the comparison of two records (neither is stored).
 *  *out owned by caller: reconnu_explanation_free. */
int reconnu_explain_records(reconnu *r, const reconnu_record *a,
			    const reconnu_record *b,
			    reconnu_explanation **out);
/** Explains a record against an entity (its best-scoring member). */
int reconnu_explain_entity(reconnu *r, const reconnu_record *a,
			   uint64_t entity_id, reconnu_explanation **out);
void reconnu_explanation_free(reconnu_explanation *e);

typedef struct reconnu_stats {
	uint64_t records;
	uint64_t entities;
	uint64_t aliases;
	uint64_t edges;
	uint64_t upserts;        /**< accepted upserts since open */
	uint64_t deletes;
	uint64_t identifies;
	uint64_t rejected;       /**< writes refused by validation */
	uint64_t merges;
	uint64_t splits;
	uint64_t possible_pairs; /**< POSSIBLE decisions recorded for review */
	uint64_t blocking_keys;
	uint64_t oversized_keys; /**< keys past block_cap (no candidates) */
	uint64_t memory_bytes;   /**< approximate engine heap */
} reconnu_stats;

int reconnu_get_stats(reconnu *r, reconnu_stats *out);

/* ---- durable storage -------------------------------------------------- */
/**
 * With storage, every accepted write is first logged to a write-ahead log
 * in dir/wal/ and answered only when durable (sync mode ALWAYS: its frame
 * is covered by a completed fdatasync). Opening replays the log, so the
 * same entities, ids, aliases and versions come back. A failed write or
 * fsync is fail-stop: the write is not acknowledged, reconnu_failed()
 * turns non-zero, and every later write fails with RECONNU_EIO.
 */
typedef enum reconnu_sync {
	RECONNU_SYNC_ALWAYS = 0, /**< answer after the covering fdatasync */
	RECONNU_SYNC_BATCH = 1,  /**< fdatasync every batch_ms: a power loss
	                              may lose the last batch_ms of writes */
	RECONNU_SYNC_NONE = 2,   /**< leave it to the OS: a power loss may lose
	                              anything since the last rotation */
} reconnu_sync;

typedef struct reconnu_storage {
	const char *dir;        /**< data directory, created if missing */
	reconnu_sync sync;
	uint32_t batch_ms;      /**< RECONNU_SYNC_BATCH period (0: 10 ms) */
	uint64_t segment_bytes; /**< WAL segment size (0: 64 MiB) */
	int force_recovery;     /**< start past damage in the middle of the
	                             log, keeping the valid prefix */
} reconnu_storage;

typedef struct reconnu_recovery {
	uint64_t replayed;   /**< operations replayed from the log */
	uint64_t last_lsn;   /**< last log sequence number recovered */
	int truncated;       /**< 1: a torn tail was cut, 2: forced cut */
	char note[512];      /**< what was cut, where ("" if nothing) */
	double seconds;      /**< time spent recovering */
	uint64_t snapshot_lsn;     /**< snapshot loaded (0: none) */
	uint64_t snapshot_records; /**< records it held */
	double snapshot_seconds;   /**< time spent loading it */
} reconnu_recovery;

/** Opens an engine backed by storage (see above). info may be NULL.
 *  @retval RECONNU_EIO the log is damaged outside a torn tail (the
 *  message says where) or the directory is unusable. */
int reconnu_open_storage(const reconnu_config *cfg, const reconnu_storage *st,
			 reconnu **out, reconnu_recovery *info);

/* ---- match weights ------------------------------------------------------ */

/** Options of reconnu_estimate_weights; zero fields take the defaults. */
typedef struct reconnu_estimate_opts {
	size_t sample_records; /**< records whose candidate pairs feed EM
	                            (0: 20,000; all when fewer are loaded) */
	size_t random_pairs;   /**< random pairs for u (0: 200,000) */
	uint64_t seed;         /**< sampling seed (0: a fixed default) */
	int relink;   /**< 1: re-resolve every record under the new weights
	                   (entities keep their ids where their oldest
	                   record stays; may merge and split) */
	int dry_run;  /**< 1: estimate and report, change nothing */
} reconnu_estimate_opts;

typedef struct reconnu_weights_report {
	uint64_t model_version; /**< version in force after the call */
	double prior_weight;    /**< log2 prior odds estimated */
	double match_share;     /**< share of matches among blocked pairs */
	double expected_matches; /**< estimated matching pairs overall */
	uint64_t blocked_pairs, random_pairs;
	int iterations, converged;
	uint64_t relinked;      /**< records re-resolved (relink) */
	uint64_t entities_before, entities_after;
	uint64_t lsn;           /**< log position of the change (0: none) */
	double seconds;
	/** Attributes whose estimate was implausible or too thin and that
	 *  kept the default m, comma-separated ("" if none). */
	char kept_default[160];
} reconnu_weights_report;

/**
 * Estimates the match weights from the loaded records without labels
 * (u from random pairs, m and the prior by EM over blocked pairs; see
 * engine/match/em.h) and puts them in force for every later decision.
 * The new model is logged and snapshotted like any write, so a restart
 * replays to the same decisions. Existing entities change only with
 * opts->relink. Reads go on meanwhile; writes wait while the new model
 * is applied (and, with relink, while every record is re-resolved).
 * @retval 0, RECONNU_ESTATE too few records to estimate (nothing
 * changed), RECONNU_EIO (fail-stop), RECONNU_ENOMEM.
 */
int reconnu_estimate_weights(reconnu *r, const reconnu_estimate_opts *opts,
			     reconnu_weights_report *out);

/** One weight of the model in force. */
typedef struct reconnu_weight {
	const char *attribute; /**< "given_name", … (static strings) */
	const char *level;     /**< "exact", "close", … */
	double weight;         /**< log2(m/u) */
} reconnu_weight;

/** The model in force: up to cap weights into out (*n gets the count;
 *  64 are enough), the prior and the model version (0 = the built-in
 *  defaults). Any pointer may be NULL except r. */
int reconnu_get_weights(reconnu *r, reconnu_weight *out, size_t cap,
			size_t *n, double *prior_weight, uint64_t *version);

/** Configured weights: sets the given (attribute, level) weights and,
 *  unless prior_weight is NULL, the prior; logged like an estimate.
 *  reset = 1 starts from the built-in defaults first.
 *  @retval RECONNU_EINVAL an unknown attribute or level, or a weight that
 *  is not finite or outside ±64 (nothing changed). */
int reconnu_set_weights(reconnu *r, const reconnu_weight *w, size_t n,
			const double *prior_weight, int reset,
			uint64_t *version);

typedef struct reconnu_snapshot_info {
	uint64_t lsn;        /**< last write the snapshot holds */
	uint64_t records;
	uint64_t entities;
	uint64_t bytes;      /**< file size */
	double seconds;      /**< whole duration */
	double write_pause;  /**< longest stretch writers were held, in
	                          seconds (reads go on) */
	uint64_t wal_segments_removed;
} reconnu_snapshot_info;

/**
 * Writes a point-in-time snapshot of records, graph (entities, edges,
 * aliases, versions), the model and counters to dir/snapshots/, so that
 * a restart loads it and replays only the later log. The snapshot is the
 * state when the call began; reads and writes go on meanwhile (writers
 * are held only briefly, a slice of records at a time; an entity a
 * writer changes is copied first). The two newest snapshots are kept,
 * and log segments older than the older of them are removed once the new
 * one is durable.
 * @retval 0, RECONNU_ESTATE (no storage), RECONNU_EIO.
 */
int reconnu_snapshot(reconnu *r, reconnu_snapshot_info *info);

/** Like reconnu_upsert, but returns once the write is applied and logged,
 *  before it is durable: *lsn is its log sequence number, to pass to
 *  reconnu_wait_durable before acknowledging. Bulk loaders wait once per
 *  batch (group commit). Without storage *lsn is 0. */
int reconnu_upsert_nowait(reconnu *r, const reconnu_record *rec,
			  reconnu_upsert_result *res, uint64_t *lsn);
/** Outcome of a logged write, for reconnu_upsert_notify: status 0 once it
 *  is durable, < 0 when it never will be (the log failed: fail-stop). lsn
 *  is its log position. Called once, on the log's own thread, in log
 *  order; it must return quickly and not call into the engine. */
typedef void (*reconnu_durable_fn)(void *ctx, uint64_t lsn, int status);

/** Like reconnu_upsert_nowait, and once the write is logged (*lsn != 0
 *  on return, even when the apply then failed) calls cb(ctx, ...) exactly
 *  once, as soon as it is durable: possibly before this function returns.
 *  ctx is borrowed and must stay valid until cb ran. Without storage
 *  *lsn is 0 and cb is never called. A server answers from cb instead of
 *  parking a thread in reconnu_wait_durable. */
int reconnu_upsert_notify(reconnu *r, const reconnu_record *rec,
			  reconnu_upsert_result *res, uint64_t *lsn,
			  reconnu_durable_fn cb, void *ctx);

/** One record of reconnu_upsert_batch_nowait. */
typedef struct reconnu_batch_item {
	const reconnu_record *rec; /**< in: borrowed for the call only */
	int rc;			   /**< out: 0, or why this record was refused
					(RECONNU_EINVAL, RECONNU_ENOMEM,
					RECONNU_EIO) */
	reconnu_upsert_result res; /**< out: the outcome when rc == 0 */
	char error[256];	   /**< out: message when rc != 0 (names the
					field for RECONNU_EINVAL) */
} reconnu_batch_item;

/** Upserts n records in order, with the same outcome as n calls of
 *  reconnu_upsert_nowait, but cheaper: every record is validated and
 *  normalised first, outside the write lock; then the write lock is taken
 *  once, the accepted records are logged with one append (one frame per
 *  record: the log replays as n upserts) and applied. A refused record
 *  does not stop the others. Nothing waits for the disk: *lsn (the log
 *  position of the last logged record; 0 if none was, or without storage)
 *  goes to reconnu_wait_durable before any of them is acknowledged.
 *  Readers wait while the batch is applied: keep n small (tens).
 *  @retval 0 every item has its rc (refused records are not an error).
 *  @retval RECONNU_EIO the log failed (fail-stop): no record of the batch
 *          was applied (each rc says so).
 *  @retval RECONNU_EINVAL r or items NULL. */
int reconnu_upsert_batch_nowait(reconnu *r, reconnu_batch_item *items, size_t n,
				uint64_t *lsn);
/** Most items of one reconnu_upsert_batch_notify. */
#define RECONNU_BATCH_MAX 64

/** Like reconnu_upsert_batch_nowait for up to RECONNU_BATCH_MAX records,
 *  and once the batch is logged (*lsn != 0 on return) calls cb(ctx, *lsn,
 *  status) exactly once, as soon as every logged record of the batch is
 *  durable (status 0) or never will be (< 0): possibly before this
 *  function returns, on the log's own thread (see reconnu_durable_fn).
 *  ctx is borrowed until cb ran. When nothing was logged (every record
 *  refused, or no storage) *lsn is 0 and cb is never called. A server
 *  goes on applying while the log syncs, instead of parking a thread in
 *  reconnu_wait_durable.
 *  @retval 0, RECONNU_EIO as reconnu_upsert_batch_nowait (cb not called).
 *  @retval RECONNU_EINVAL r or items NULL, n > RECONNU_BATCH_MAX. */
int reconnu_upsert_batch_notify(reconnu *r, reconnu_batch_item *items, size_t n,
				uint64_t *lsn, reconnu_durable_fn cb,
				void *ctx);
/** Blocks until every write up to lsn is durable.
 *  @retval 0, RECONNU_EIO (fail-stop: it never will be). */
int reconnu_wait_durable(reconnu *r, uint64_t lsn);
/** 0 while healthy, RECONNU_EIO once the log failed (fail-stop). */
int reconnu_failed(reconnu *r);

/** Checks a record without storing it (the same validation as upsert).
 *  @retval RECONNU_EINVAL with a message naming the field. */
int reconnu_validate(const reconnu_record *rec);

#ifdef __cplusplus
}
#endif
#endif /* RECONNU_H */
