/*
 * arena — a bump allocator for objects that die together (one result, one
 * request). Memory comes in chunks from malloc; nothing is freed before
 * arena_delete. Not thread-safe.
 */
#ifndef RECONNU_ARENA_H
#define RECONNU_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
	struct arena_chunk *head; /**< newest chunk */
	size_t used;              /**< bytes used in head */
	size_t total;             /**< bytes obtained from malloc */
};

/** Empty arena in caller memory (no allocation yet). */
void arena_create(struct arena *a);
/** Frees every chunk; the arena is empty again. */
void arena_destroy(struct arena *a);
/** n bytes aligned to 16, zeroed. NULL on ENOMEM. */
void *arena_alloc(struct arena *a, size_t n);
/** Copy of s (NULL → NULL). NULL on ENOMEM when s was not NULL. */
char *arena_strdup(struct arena *a, const char *s);

#endif
