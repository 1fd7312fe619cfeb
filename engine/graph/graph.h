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

struct graph_stats {
	uint64_t entities, aliases, edges, possible, merges, splits, bytes;
};
void graph_get_stats(const struct graph *g, struct graph_stats *st);

#endif
