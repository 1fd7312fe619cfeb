/*
 * graph — the identity graph: entities (stable 64-bit ids) over source
 * records (dense 32-bit ids), the evidence edges behind them, and the
 * aliases left by merges.
 *
 * Rules (ARCHITECTURE.md → Data model):
 *  - Entity ids are handed out in increasing order, so the smallest id is
 *    the oldest entity. A record linking several entities merges them into
 *    the oldest; the absorbed ids stay resolvable as aliases.
 *  - Removing a record re-resolves its entity over the remaining LINK
 *    edges: each connected component becomes an entity; the component
 *    holding the oldest record (smallest record id — record ids are never
 *    reused) keeps the id, the others get new ids.
 *  - Every operation bumps the version of each entity it changes, once.
 *  - An entity created and absorbed within one operation (an update that
 *    split and re-joined an entity) leaves no alias behind.
 *
 * Deterministic: the same sequence of calls gives the same ids.
 * Not thread-safe by itself (the engine's read/write lock protects it).
 */
#ifndef RECONNU_GRAPH_H
#define RECONNU_GRAPH_H

#include <stddef.h>
#include <stdint.h>

enum graph_edge_kind {
	GRAPH_LINK = 1,     /**< match: the records are one person */
	GRAPH_POSSIBLE = 2, /**< review band: kept for a person to decide */
};

struct graph_edge {
	uint32_t other;  /**< the other record */
	float weight;    /**< match weight (log2 odds) of the pair */
	uint8_t kind;    /**< enum graph_edge_kind */
};

struct graph_entity {
	uint64_t id;
	uint64_t version;
	uint32_t *members; /**< record ids, unordered */
	uint32_t n_members, cap_members;
	uint64_t *aliases; /**< absorbed ids resolving here */
	uint32_t n_aliases, cap_aliases;
	uint64_t created_op; /**< graph op that created it */
	uint64_t changed_op; /**< last op that bumped the version */
	uint64_t view;	     /**< read view view_bits belong to (graph.c) */
	uint8_t view_bits;
};

/** A candidate link handed to graph_insert. */
struct graph_link {
	uint32_t rec;
	float weight;
	uint8_t kind;
};

/** What one operation did. */
struct graph_change {
	uint64_t entity_id; /**< entity holding the record (0 after remove
	                         when the entity vanished) */
	uint64_t version;
	uint32_t n_merged;  /**< entities absorbed */
	uint32_t n_split;   /**< entities split off */
};

struct graph;

struct graph *graph_new(void);
void graph_delete(struct graph *g);

/** Starts an operation (an upsert or a delete): versions are bumped once
 *  per entity and per operation. */
void graph_begin_op(struct graph *g);

/**
 * Adds record rec (not yet in the graph) with its edges. LINK edges join
 * rec to their records' entities (merging them into the oldest); with no
 * LINK edge rec gets a new entity. POSSIBLE edges are only kept.
 * @retval 0, or -1 on ENOMEM (graph unchanged).
 */
int graph_insert(struct graph *g, uint32_t rec, const struct graph_link *links,
		 size_t n_links, struct graph_change *out);

/** Removes rec and its edges, re-resolving its entity (may split or
 *  vanish). @retval 0, -1 ENOMEM (graph unchanged), -2 rec unknown. */
int graph_remove(struct graph *g, uint32_t rec, struct graph_change *out);

/** Entity of a record, NULL if the record is not in the graph. */
const struct graph_entity *graph_entity_of(const struct graph *g,
					   uint32_t rec);
/** Entity by id or alias, NULL if unknown. */
const struct graph_entity *graph_find(const struct graph *g, uint64_t id);

/** Edges of a record (borrowed until the next write). */
const struct graph_edge *graph_edges(const struct graph *g, uint32_t rec,
				     size_t *n);

/* ---- snapshot support ------------------------------------------------ */
/** Calls fn for every entity (in no particular order); stops at the
 *  first non-zero return and returns it. */
int graph_foreach_entity(const struct graph *g,
			 int (*fn)(void *ctx, const struct graph_entity *e),
			 void *ctx);
/** The id the next entity gets, and the operation counter. */
void graph_counters(const struct graph *g, uint64_t *next_id, uint64_t *op);
void graph_set_counters(struct graph *g, uint64_t next_id, uint64_t op);
/** Puts an entity back as it was (members and aliases copied).
 *  @retval 0, -1 ENOMEM, -2 id or a member already taken. */
int graph_restore_entity(struct graph *g, uint64_t id, uint64_t version,
			 uint64_t created_op, uint64_t changed_op,
			 const uint32_t *members, uint32_t n_members,
			 const uint64_t *aliases, uint32_t n_aliases);
/** Puts an edge back, in both records' lists. @retval 0 or -1 ENOMEM. */
int graph_restore_edge(struct graph *g, uint32_t a, uint32_t b, float weight,
		       uint8_t kind);
/** Hints that the entity with this id is about to be restored: starts
 *  loading its slot of the entity map into the cache (a miss per entity
 *  otherwise). No effect on the graph. */
void graph_restore_prefetch(const struct graph *g, uint64_t id);
/** Puts rec's whole edge list back as it was (same order); the other
 *  direction of each edge comes with the other record's list, so an edge
 *  is counted once, from its smaller record id.
 *  @retval 0, -1 ENOMEM, -2 rec already has edges or an edge is a loop. */
int graph_restore_edges(struct graph *g, uint32_t rec,
			const struct graph_edge *edges, uint32_t n);
/** Merges and splits so far (also in graph_get_stats), for snapshots. */
void graph_set_history(struct graph *g, uint64_t merges, uint64_t splits);
/** Room for records below rec_limit, n_entities and n_aliases, so that a
 *  restore does not grow tables again and again. @retval 0 or -1 ENOMEM
 *  (nothing to undo: restoring still works). */
int graph_restore_reserve(struct graph *g, uint32_t rec_limit,
			  uint64_t n_entities, uint64_t n_aliases);
/** After a restore: a record has an entity exactly when has_rec says it
 *  exists (none at or past rec_limit), every edge joins live records and
 *  every edge was restored from both ends: graph_restore_check_members
 *  and graph_restore_check_edges.
 *  @retval 0, or -1 (the restored data does not hold together). */
int graph_restore_check(const struct graph *g, uint32_t rec_limit,
			int (*has_rec)(void *ctx, uint32_t rec), void *ctx);
/** The first half of graph_restore_check: a record has an entity exactly
 *  when has_rec says it exists (none at or past rec_limit).
 *  @retval 0 or -1. */
int graph_restore_check_members(const struct graph *g, uint32_t rec_limit,
				int (*has_rec)(void *ctx, uint32_t rec),
				void *ctx);
/** The second half, on the graph alone: no record at or past rec_limit
 *  has an entity or edges, every edge joins records that have an entity
 *  and was restored from both ends. Reads nothing but the graph, so it
 *  may run while another thread still stores the records.
 *  @retval 0 or -1. */
int graph_restore_check_edges(const struct graph *g, uint32_t rec_limit);

/* ---- snapshot support: read view ------------------------------------ */
/*
 * A read view lets a snapshot be written while writers go on. While a
 * view is open, the graph calls save once for each entity that existed
 * when the view opened, just before the first change to it, to its
 * members or aliases, or to any edge of its members — with the entity
 * still as it was. An entity that is never changed stays as it was, and
 * can be read (under the engine's read lock) at any time until the view
 * closes. Entities created while the view is open are not part of it.
 */
typedef void (*graph_save_fn)(void *ctx, struct graph *g,
			      const struct graph_entity *e);
/** Opens the view (one at a time); the caller excludes writers. */
void graph_view_open(struct graph *g, graph_save_fn save, void *ctx);
void graph_view_close(struct graph *g);
/** 1 the first time e is listed in the open view (then never again),
 *  0 when listed before or not part of the view. Writes e's view fields
 *  only: call it with writers excluded (readers may go on). */
int graph_view_list(struct graph *g, const struct graph_entity *e);

struct graph_stats {
	uint64_t entities, aliases, edges, possible, merges, splits, bytes;
};
void graph_get_stats(const struct graph *g, struct graph_stats *st);

#endif
