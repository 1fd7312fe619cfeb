/*
 * golden — survivorship: the golden record of an entity, derived from its
 * member records on demand (so it never drifts from the graph).
 *
 * Rules:
 *  - single values (names, birth date, gender): the most recent non-empty
 *    value (updated_at, then upsert order); with a source priority list,
 *    the best-ranked source wins first, recency breaks ties;
 *  - emails, phones, addresses, identifiers: every distinct normalised
 *    value, shown as the most recent source gave it, with its count and
 *    provenance, most recent first;
 *  - consent per channel: the most recent statement (its `at`) wins across
 *    all sources, so an opt-out anywhere holds everywhere;
 *  - free attributes: per key, the most recent value.
 */
#ifndef RECONNU_GOLDEN_H
#define RECONNU_GOLDEN_H

#include "arena.h"
#include "graph.h"
#include "reconnu.h"
#include "store.h"

struct golden_policy {
	const char *const *source_priority; /**< highest first; may be NULL */
	size_t n_source_priority;
};

/**
 * Fills *out for entity e; every pointer in *out is allocated in arena a
 * (the caller frees the arena). A member's source and source_id strings
 * are shared by every value it provides: read-only, like the rest.
 * @retval 0 or RECONNU_ENOMEM.
 */
int golden_build(const struct store *st, const struct graph_entity *e,
		 const struct golden_policy *pol, struct arena *a,
		 reconnu_golden *out);

#endif
