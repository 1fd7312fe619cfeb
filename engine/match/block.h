/*
 * block — the inverted index behind blocking: 64-bit keys (xxHash of a
 * blocking key string) → posting lists of 32-bit record ids.
 *
 * A key whose posting list has grown past the cap is "over-shared" (a
 * till's placeholder email, a shop's phone): probing it yields no
 * candidates so that it can never glue strangers together. Its list is
 * still kept whole, so that deletions bringing it back under the cap make
 * it useful again.
 *
 * Not thread-safe by itself: the engine holds a read/write lock (any
 * number of concurrent probes, one writer).
 */
#ifndef RECONNU_BLOCK_H
#define RECONNU_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct block_index;

/** cap: posting-list size past which a key stops producing candidates.
 *  NULL on ENOMEM. Free with block_index_delete. */
struct block_index *block_index_new(uint32_t cap);
void block_index_delete(struct block_index *idx);

/** Room for keys distinct keys, so that adding them does not rehash the
 *  table again and again (a bulk load). @retval 0 ok, -1 ENOMEM (index
 *  unchanged; adding still works). */
int block_index_reserve(struct block_index *idx, uint64_t keys);

/** Hash of a blocking key: a kind tag (e.g. 'e' email) and a string,
 *  XXH3_64bits seeded with kind. Never 0 (0 maps to 1), though the index
 *  accepts any 64-bit key, 0 included. */
uint64_t block_key(char kind, const char *s, size_t len);

/** Adds rec under key (a duplicate (key, rec) is a no-op). Lists are
 *  kept sorted: the duplicate check is a binary search and adding the
 *  largest id yet (a new record) appends in O(1); an older id (an updated
 *  record) moves the tail of the list.
 *  @retval 0 ok, -1 ENOMEM (index unchanged). */
int block_index_add(struct block_index *idx, uint64_t key, uint32_t rec);
/** Bulk load: adds rec under each of keys[0..n), as block_index_add
 *  would, for records that come mostly in ascending id order (a snapshot
 *  load): a list whose last id is below rec takes it at its end without
 *  a search (a long list's search was a cache miss per step).
 *  @retval 0 ok, -1 ENOMEM (rec is under some of the keys only). */
int block_index_add_bulk(struct block_index *idx, const uint64_t *keys,
			 size_t n, uint32_t rec);
/** Hints that key is about to be added or probed: starts loading its
 *  slot into the cache (adding many keys, prefetch them all first so the
 *  cache misses overlap). No effect on the index. */
void block_index_prefetch(const struct block_index *idx, uint64_t key);
/** Second step of the prefetch, for a key whose slot is already in the
 *  cache (block_index_prefetch a little earlier): starts loading the end
 *  of its spilled list, where block_index_add_bulk appends. Probes the
 *  table (a read); no effect on the index. */
void block_index_prefetch_list(const struct block_index *idx, uint64_t key);
/** Removes rec from key's list (binary search, then the tail of the list
 *  moves); absent is a no-op. */
void block_index_remove(struct block_index *idx, uint64_t key, uint32_t rec);

/** Posting list of key, in ascending record id order. Sets *ids and *n
 *  (borrowed: valid until the next write to the index; *ids is NULL when
 *  *n is 0).
 *  @retval 0 ok (n may be 0), 1 key is over-shared (n = 0). */
int block_index_probe(const struct block_index *idx, uint64_t key,
		      const uint32_t **ids, size_t *n);

/** true when id is in ids[0..n), a list as returned by block_index_probe
 *  (ascending): a binary search. */
int block_list_has(const uint32_t *ids, size_t n, uint32_t id);
/** For each i < n, adds 1 to hits[i] when want[i] is in ids[0..n_ids).
 *  Both lists ascending: one pass that gallops through ids, so m
 *  lookups cost O(m log(n_ids / m)) instead of m binary searches. */
void block_list_count(const uint32_t *ids, size_t n_ids, const uint32_t *want,
		      size_t n, uint32_t *hits);

struct block_stats {
	uint64_t keys;	    /**< distinct keys with at least one record */
	uint64_t postings;  /**< total (key, record) entries */
	uint64_t oversized; /**< keys currently past the cap */
	uint64_t bytes;	    /**< approximate heap used */
};
void block_index_stats(const struct block_index *idx, struct block_stats *st);

#ifdef __cplusplus
}
#endif
#endif
