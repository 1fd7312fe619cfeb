/*
 * block — open-addressing hash table of posting lists.
 *
 * The table is a power-of-two array of 24-byte slots probed linearly from
 * a home slot; it doubles when it would pass 70% load. The home slot is
 * the top bits of key * 2^64/phi (Fibonacci hashing): block_key output is
 * already well mixed, and the one multiply keeps the table sane for keys
 * that are not (small integers in tests, say).
 *
 * Slot layout (struct block_slot):
 *
 *   0        8      12                      24
 *   | key    | n    | w[0]  | w[1]  | w[2]  |
 *
 *   n == 0   the slot is empty (there is no reserved key: a key with no
 *            records is never stored, so n doubles as the occupied flag);
 *   n <= 3   the ids are inline, w[0..n-1];
 *   n > 3    w[0] is the capacity of a malloc'd id array whose pointer
 *            is stored in w[1..2] (offset 16, 8-byte aligned).
 *
 * Most blocking keys hold one to three records, so most lists cost no
 * allocation. Spilled arrays start at 8 ids, double when full, halve when
 * a quarter full, and move back inline when n drops to 3.
 *
 * Removing a key uses backward-shift deletion rather than tombstones:
 * the entries after the hole in its probe run move back when the hole
 * lies between their home and their current slot, so probe runs stay
 * as short as if the key had never been inserted and no rehash to purge
 * tombstones is ever needed.
 */
#include "block.h"

#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

/** Ids stored inside the slot before the list spills to the heap. */
#define BLOCK_INLINE 3
/** Capacity of a freshly spilled id array. */
#define BLOCK_HEAP_MIN 8
/** Slots of a new index. */
#define BLOCK_TABLE_MIN 16

/** One hash table slot; see the file header for the layout. */
struct block_slot {
	uint64_t key; /**< the blocking key; meaningful only when n > 0 */
	uint32_t n;   /**< posting-list length; 0 marks an empty slot */
	uint32_t w[BLOCK_INLINE]; /**< inline ids, or heap capacity + ptr */
};
_Static_assert(sizeof(struct block_slot) == 24, "slot is 24 bytes");

struct block_index {
	struct block_slot *slots; /**< 1 << bits slots, owned */
	unsigned bits;		  /**< log2 of the table size */
	uint32_t cap;		  /**< over-shared threshold: n > cap */
	uint64_t keys;		  /**< occupied slots */
	uint64_t postings;	  /**< sum of n over all slots */
	uint64_t oversized;	  /**< slots with n > cap */
	uint64_t heap_ids;	  /**< sum of spilled array capacities */
};

#ifdef RECONNU_ERRINJ
/** Test hook: when > 0, decremented by each allocation; the allocation
 *  that brings it to 0 fails. Reachable by tests that include this file. */
static int block__errinj_alloc_countdown;
#endif

static void *block__realloc(void *p, size_t size)
{
#ifdef RECONNU_ERRINJ
	if (block__errinj_alloc_countdown > 0 &&
	    --block__errinj_alloc_countdown == 0)
		return NULL;
#endif
	return realloc(p, size);
}

static inline uint32_t *block__heap(const struct block_slot *s)
{
	uint32_t *p;
	memcpy(&p, &s->w[1], sizeof(p));
	return p;
}

static inline void block__set_heap(struct block_slot *s, uint32_t *p,
				   uint32_t capacity)
{
	s->w[0] = capacity;
	memcpy(&s->w[1], &p, sizeof(p));
}

static inline uint32_t *block__ids(struct block_slot *s)
{
	return s->n <= BLOCK_INLINE ? s->w : block__heap(s);
}

static inline size_t block__home(uint64_t key, unsigned bits)
{
	return (size_t)((key * UINT64_C(0x9E3779B97F4A7C15)) >> (64 - bits));
}

/** Slot holding key, or the empty slot ending its probe run. */
static struct block_slot *block__find(const struct block_index *idx,
				      uint64_t key)
{
	size_t mask = ((size_t)1 << idx->bits) - 1;
	size_t i = block__home(key, idx->bits);
	for (;; i = (i + 1) & mask) {
		struct block_slot *s = &idx->slots[i];
		if (s->n == 0 || s->key == key)
			return s;
	}
}

struct block_index *block_index_new(uint32_t cap)
{
	struct block_index *idx = block__realloc(NULL, sizeof(*idx));
	if (idx == NULL)
		return NULL;
	size_t size = BLOCK_TABLE_MIN * sizeof(struct block_slot);
	idx->slots = block__realloc(NULL, size);
	if (idx->slots == NULL) {
		free(idx);
		return NULL;
	}
	memset(idx->slots, 0, size);
	idx->bits = 4;
	_Static_assert(BLOCK_TABLE_MIN == 1 << 4, "bits match the size");
	idx->cap = cap;
	idx->keys = idx->postings = idx->oversized = idx->heap_ids = 0;
	return idx;
}

void block_index_delete(struct block_index *idx)
{
	if (idx == NULL)
		return;
	size_t size = (size_t)1 << idx->bits;
	for (size_t i = 0; i < size; i++) {
		if (idx->slots[i].n > BLOCK_INLINE)
			free(block__heap(&idx->slots[i]));
	}
	free(idx->slots);
	free(idx);
}

uint64_t block_key(char kind, const char *s, size_t len)
{
	uint64_t h = XXH3_64bits_withSeed(s, len, (uint64_t)kind);
	return h != 0 ? h : 1;
}

/** Rehashes into 1 << bits slots. @retval 0 ok, -1 ENOMEM (table
 *  unchanged). */
static int block__resize(struct block_index *idx, unsigned bits)
{
	size_t size = (size_t)1 << bits;
	struct block_slot *slots =
	    block__realloc(NULL, size * sizeof(struct block_slot));
	if (slots == NULL)
		return -1;
	memset(slots, 0, size * sizeof(struct block_slot));
	size_t old_size = (size_t)1 << idx->bits;
	for (size_t i = 0; i < old_size; i++) {
		const struct block_slot *s = &idx->slots[i];
		if (s->n == 0)
			continue;
		size_t j = block__home(s->key, bits);
		while (slots[j].n != 0)
			j = (j + 1) & (size - 1);
		slots[j] = *s;
	}
	free(idx->slots);
	idx->slots = slots;
	idx->bits = bits;
	return 0;
}

/** Doubles the table. @retval 0 ok, -1 ENOMEM (table unchanged). */
static int block__grow(struct block_index *idx)
{
	return block__resize(idx, idx->bits + 1);
}

int block_index_reserve(struct block_index *idx, uint64_t keys)
{
	unsigned bits = idx->bits;
	while (bits < 63 && keys * 10 > ((uint64_t)1 << bits) * 7)
		bits++;
	return bits == idx->bits ? 0 : block__resize(idx, bits);
}

/** Appends rec to the list of s, spilling or growing the heap array.
 *  @retval 0 ok, -1 ENOMEM (slot unchanged). */
/* Lists are kept in ascending id order: a record's id is checked for by
 * binary search, and the common add (a new record, the largest id yet)
 * appends without moving anything. This keeps over-shared lists (a
 * placeholder email shared by millions) cheap to grow. */
static uint32_t block__lower_bound(const uint32_t *ids, uint32_t n,
				   uint32_t rec)
{
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (ids[mid] < rec)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int block__append(struct block_index *idx, struct block_slot *s,
			 uint32_t rec)
{
	if (s->n < BLOCK_INLINE) {
		s->w[s->n++] = rec;
		return 0;
	}
	if (s->n == UINT32_MAX)
		return -1;
	if (s->n == BLOCK_INLINE) {
		uint32_t *p = block__realloc(NULL, BLOCK_HEAP_MIN * sizeof(*p));
		if (p == NULL)
			return -1;
		memcpy(p, s->w, BLOCK_INLINE * sizeof(*p));
		p[BLOCK_INLINE] = rec;
		block__set_heap(s, p, BLOCK_HEAP_MIN);
		idx->heap_ids += BLOCK_HEAP_MIN;
		s->n++;
		return 0;
	}
	uint32_t capacity = s->w[0];
	uint32_t *p = block__heap(s);
	if (s->n == capacity) {
		uint32_t grown =
		    capacity <= UINT32_MAX / 2 ? capacity * 2 : UINT32_MAX;
		p = block__realloc(p, (size_t)grown * sizeof(*p));
		if (p == NULL)
			return -1;
		block__set_heap(s, p, grown);
		idx->heap_ids += grown - capacity;
	}
	p[s->n++] = rec;
	return 0;
}

int block_index_add(struct block_index *idx, uint64_t key, uint32_t rec)
{
	struct block_slot *s = block__find(idx, key);
	if (s->n == 0) {
		uint64_t size = (uint64_t)1 << idx->bits;
		if ((idx->keys + 1) * 10 > size * 7) {
			if (block__grow(idx) != 0)
				return -1;
			s = block__find(idx, key);
		}
		s->key = key;
		s->n = 1;
		s->w[0] = rec;
		idx->keys++;
		idx->postings++;
		idx->oversized += idx->cap < 1;
		return 0;
	}
	uint32_t pos = block__lower_bound(block__ids(s), s->n, rec);
	if (pos < s->n && block__ids(s)[pos] == rec)
		return 0;
	if (block__append(idx, s, rec) != 0)
		return -1;
	if (pos < s->n - 1) {
		uint32_t *ids = block__ids(s);
		memmove(ids + pos + 1, ids + pos,
			(size_t)(s->n - 1 - pos) * sizeof(*ids));
		ids[pos] = rec;
	}
	idx->postings++;
	idx->oversized += s->n == (uint64_t)idx->cap + 1;
	return 0;
}

int block_index_add_bulk(struct block_index *idx, const uint64_t *keys,
			 size_t n, uint32_t rec)
{
	int rc = 0;
	for (size_t k = 0; k < n; k++) {
		struct block_slot *s = block__find(idx, keys[k]);
		if (s->n == 0 || block__ids(s)[s->n - 1] >= rec) {
			rc |= block_index_add(idx, keys[k], rec);
			continue;
		}
		if (block__append(idx, s, rec) != 0) {
			rc = -1;
			continue;
		}
		idx->postings++;
		idx->oversized += s->n == (uint64_t)idx->cap + 1;
	}
	return rc;
}

void block_index_prefetch(const struct block_index *idx, uint64_t key)
{
	__builtin_prefetch(&idx->slots[block__home(key, idx->bits)], 1);
}

void block_index_prefetch_list(const struct block_index *idx, uint64_t key)
{
	const struct block_slot *s = block__find(idx, key);
	if (s->n > BLOCK_INLINE)
		__builtin_prefetch(block__heap(s) + s->n - 1, 1);
}

/** Empties slot s and closes the hole by backward shift. */
static void block__erase_slot(struct block_index *idx, struct block_slot *s)
{
	size_t mask = ((size_t)1 << idx->bits) - 1;
	size_t hole = (size_t)(s - idx->slots);
	for (size_t j = (hole + 1) & mask; idx->slots[j].n != 0;
	     j = (j + 1) & mask) {
		size_t home = block__home(idx->slots[j].key, idx->bits);
		if (((j - home) & mask) >= ((j - hole) & mask)) {
			idx->slots[hole] = idx->slots[j];
			hole = j;
		}
	}
	idx->slots[hole].n = 0;
	idx->keys--;
}

void block_index_remove(struct block_index *idx, uint64_t key, uint32_t rec)
{
	struct block_slot *s = block__find(idx, key);
	if (s->n == 0)
		return;
	uint32_t *ids = block__ids(s);
	uint32_t k = block__lower_bound(ids, s->n, rec);
	if (k == s->n || ids[k] != rec)
		return;
	idx->oversized -= s->n == (uint64_t)idx->cap + 1;
	idx->postings--;
	s->n--;
	memmove(ids + k, ids + k + 1, (size_t)(s->n - k) * sizeof(*ids));
	if (s->n == 0) {
		block__erase_slot(idx, s);
		return;
	}
	if (s->n + 1 <= BLOCK_INLINE)
		return;
	uint32_t capacity = s->w[0];
	if (s->n == BLOCK_INLINE) {
		memcpy(s->w, ids, BLOCK_INLINE * sizeof(*ids));
		free(ids);
		idx->heap_ids -= capacity;
	} else if (capacity > BLOCK_HEAP_MIN && s->n <= capacity / 4) {
		uint32_t *p = block__realloc(ids, capacity / 2 * sizeof(*p));
		if (p != NULL) {
			block__set_heap(s, p, capacity / 2);
			idx->heap_ids -= capacity - capacity / 2;
		}
	}
}

int block_index_probe(const struct block_index *idx, uint64_t key,
		      const uint32_t **ids, size_t *n)
{
	struct block_slot *s = block__find(idx, key);
	*ids = NULL;
	*n = 0;
	if (s->n > idx->cap)
		return 1;
	if (s->n > 0) {
		*ids = block__ids(s);
		*n = s->n;
	}
	return 0;
}

void block_index_stats(const struct block_index *idx, struct block_stats *st)
{
	st->keys = idx->keys;
	st->postings = idx->postings;
	st->oversized = idx->oversized;
	st->bytes = sizeof(*idx) +
		    ((uint64_t)1 << idx->bits) * sizeof(struct block_slot) +
		    idx->heap_ids * sizeof(uint32_t);
}

int block_list_has(const uint32_t *ids, size_t n, uint32_t id)
{
	uint32_t k = block__lower_bound(ids, (uint32_t)n, id);
	return k < n && ids[k] == id;
}

void block_list_count(const uint32_t *ids, size_t n_ids, const uint32_t *want,
		      size_t n, uint32_t *hits)
{
	size_t lo = 0;
	for (size_t i = 0; i < n && lo < n_ids; i++) {
		/* gallop: the first step past want[i], then binary search */
		size_t step = 1, hi = lo;
		while (hi < n_ids && ids[hi] < want[i]) {
			lo = hi + 1;
			hi += step;
			step *= 2;
		}
		if (hi > n_ids)
			hi = n_ids;
		lo +=
		    block__lower_bound(ids + lo, (uint32_t)(hi - lo), want[i]);
		if (lo < n_ids && ids[lo] == want[i])
			hits[i]++;
	}
}
