/*
 * test_block — the blocking index against a naive model, plus the table
 * invariants (no holes inside probe runs after backward-shift deletion),
 * growth, the over-shared cap and allocation failures.
 *
 * Includes block.c to reach the table and the allocation-failure hook.
 */
#include "../../engine/match/block.c"
#include "unit.h"

#include <stdlib.h>

static uint64_t rng_state = 0xb10c6b10c6ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/**
 * Every occupied slot is reachable from its home without crossing an
 * empty slot, keys are unique, inline/heap representation matches n and
 * the counters match a recount.
 * @retval 0 ok, otherwise the number of violations.
 */
static int check_table(const struct block_index *idx)
{
	size_t size = (size_t)1 << idx->bits, mask = size - 1;
	uint64_t keys = 0, postings = 0, oversized = 0, heap = 0;
	int bad = 0;
	for (size_t j = 0; j < size; j++) {
		const struct block_slot *s = &idx->slots[j];
		if (s->n == 0)
			continue;
		keys++;
		postings += s->n;
		oversized += s->n > idx->cap;
		if (s->n > BLOCK_INLINE) {
			heap += s->w[0];
			bad += s->w[0] < s->n || s->w[0] < BLOCK_HEAP_MIN;
		}
		for (size_t i = block__home(s->key, idx->bits); i != j;
		     i = (i + 1) & mask) {
			bad += idx->slots[i].n == 0;
			bad += idx->slots[i].key == s->key;
		}
	}
	bad += keys != idx->keys;
	bad += postings != idx->postings;
	bad += oversized != idx->oversized;
	bad += heap != idx->heap_ids;
	bad += keys * 10 > size * 7;
	return bad;
}

/** Naive model: key i of NKEYS holds the records set in bits[i]. */
#define NKEYS 300
#define NRECS 64

static int probe_matches(const struct block_index *idx, uint64_t key,
			 uint64_t bits, uint32_t cap)
{
	const uint32_t *ids;
	size_t n;
	int rc = block_index_probe(idx, key, &ids, &n);
	uint32_t want = (uint32_t)__builtin_popcountll(bits);
	if (want > cap)
		return rc == 1 && n == 0 && ids == NULL;
	if (rc != 0 || n != want)
		return 0;
	uint32_t got[NRECS];
	if (n > 0) {
		memcpy(got, ids, n * sizeof(*ids));
		qsort(got, n, sizeof(*got), cmp_u32);
	}
	size_t k = 0;
	for (uint32_t r = 0; r < NRECS; r++) {
		if (bits & (UINT64_C(1) << r) && (k >= n || got[k++] != r))
			return 0;
	}
	return 1;
}

static void test_model(void)
{
	const uint32_t cap = 20;
	struct block_index *idx = block_index_new(cap);
	uint64_t keys[NKEYS], bits[NKEYS] = {0};
	for (int i = 0; i < NKEYS; i++)
		keys[i] = i < 8 ? (uint64_t)i : rng();
	int bad_add = 0, bad_probe = 0, bad_table = 0, bad_stats = 0;
	int emptied = 0, went_over = 0, came_under = 0;
	for (int op = 0; op < 100000; op++) {
		/* Key i draws from 1 + i % NRECS records: small lists empty
		 * and refill (exercising deletion from the table), long
		 * ones cross the cap. Adding and removing take turns in
		 * dominating so that lists move both ways across it. */
		int i = (int)(rng() % NKEYS);
		uint32_t r = (uint32_t)(rng() % (1 + (uint64_t)i % NRECS));
		uint64_t old = bits[i];
		int add_pct = (op / 10000) % 2 ? 30 : 70;
		if ((int)(rng() % 100) < add_pct) {
			bad_add += block_index_add(idx, keys[i], r) != 0;
			bits[i] |= UINT64_C(1) << r;
		} else {
			block_index_remove(idx, keys[i], r);
			bits[i] &= ~(UINT64_C(1) << r);
		}
		emptied += old != 0 && bits[i] == 0;
		went_over += __builtin_popcountll(bits[i]) == cap + 1 &&
			     __builtin_popcountll(old) == cap;
		came_under += __builtin_popcountll(bits[i]) == cap &&
			      __builtin_popcountll(old) == cap + 1;
		bad_probe += !probe_matches(idx, keys[i], bits[i], cap);
		if (op % 500 == 0) {
			bad_table += check_table(idx) != 0;
			struct block_stats st;
			uint64_t k = 0, p = 0, o = 0;
			for (int j = 0; j < NKEYS; j++) {
				uint32_t c =
				    (uint32_t)__builtin_popcountll(bits[j]);
				k += c > 0, p += c, o += c > cap;
				bad_probe +=
				    !probe_matches(idx, keys[j], bits[j], cap);
			}
			block_index_stats(idx, &st);
			bad_stats += st.keys != k || st.postings != p ||
				     st.oversized != o;
		}
	}
	ok(emptied > 500 && went_over > 100 && came_under > 100,
	   "model: keys empty out and lists cross the cap both ways");
	if (emptied <= 500 || went_over <= 100 || came_under <= 100)
		printf("#   emptied %d, over %d, under %d\n", emptied,
		       went_over, came_under);
	is_int(bad_add, 0, "model: every add succeeds");
	is_int(bad_probe, 0, "model: 100k ops, every probe equals the model");
	is_int(bad_table, 0, "model: table invariants hold throughout");
	is_int(bad_stats, 0, "model: keys/postings/oversized match");
	block_index_delete(idx);
}

static void test_growth(void)
{
	struct block_index *idx = block_index_new(100);
	const uint32_t nkeys = 200000;
	int bad = 0;
	for (uint32_t i = 0; i < nkeys; i++) {
		uint64_t key = block_key('g', (const char *)&i, sizeof(i));
		bad += block_index_add(idx, key, i) != 0;
		bad += block_index_add(idx, key, i + 1) != 0;
	}
	is_int(bad, 0, "growth: 200k keys added");
	ok(idx->bits == 19, "growth: 200k keys fit in 2^19 slots (<= 70%)");
	is_int(check_table(idx), 0, "growth: invariants after many resizes");
	for (uint32_t i = 0; i < nkeys; i++) {
		uint64_t key = block_key('g', (const char *)&i, sizeof(i));
		const uint32_t *ids;
		size_t n;
		bad += block_index_probe(idx, key, &ids, &n) != 0 || n != 2 ||
		       ids[0] != i || ids[1] != i + 1;
	}
	is_int(bad, 0, "growth: every key found with its records");
	struct block_stats st;
	block_index_stats(idx, &st);
	is_int(st.keys, nkeys, "growth: stats.keys");
	is_int(st.postings, 2 * nkeys, "growth: stats.postings");
	is_int(st.bytes, sizeof(*idx) + ((uint64_t)1 << 19) * 24,
	       "growth: inline lists cost no heap");
	for (uint32_t i = 0; i < nkeys; i += 2) {
		uint64_t key = block_key('g', (const char *)&i, sizeof(i));
		block_index_remove(idx, key, i);
		block_index_remove(idx, key, i + 1);
	}
	is_int(check_table(idx), 0, "growth: invariants after mass removal");
	for (uint32_t i = 0; i < nkeys; i++) {
		uint64_t key = block_key('g', (const char *)&i, sizeof(i));
		const uint32_t *ids;
		size_t n;
		block_index_probe(idx, key, &ids, &n);
		bad += n != (i % 2 ? 2u : 0u);
	}
	is_int(bad, 0, "growth: removed keys gone, the others intact");
	block_index_delete(idx);
}

/** Finds keys whose home slot in a 16-slot table is `home`. */
static uint64_t key_with_home(size_t home, uint64_t *next)
{
	while (block__home(*next, 4) != home)
		(*next)++;
	return (*next)++;
}

static void test_backward_shift(void)
{
	struct block_index *idx = block_index_new(10);
	uint64_t next = 1;
	/* A run wrapping around the end of the table: homes 14 14 15 15 0. */
	uint64_t k[5];
	k[0] = key_with_home(14, &next);
	k[1] = key_with_home(14, &next);
	k[2] = key_with_home(15, &next);
	k[3] = key_with_home(15, &next);
	next = 1;
	k[4] = key_with_home(0, &next);
	for (int i = 0; i < 5; i++)
		block_index_add(idx, k[i], (uint32_t)i);
	is_int(idx->bits, 4, "shift: still 16 slots");
	ok(idx->slots[14].key == k[0] && idx->slots[15].key == k[1] &&
	       idx->slots[0].key == k[2] && idx->slots[1].key == k[3] &&
	       idx->slots[2].key == k[4],
	   "shift: the run wraps around the table end");

	block_index_remove(idx, k[0], 0);
	is_int(check_table(idx), 0, "shift: invariants after removing head");
	ok(idx->slots[14].key == k[1] && idx->slots[15].key == k[2] &&
	       idx->slots[0].key == k[3] && idx->slots[1].key == k[4] &&
	       idx->slots[2].n == 0,
	   "shift: every later entry moved back one slot");

	block_index_remove(idx, k[2], 2);
	ok(idx->slots[15].key == k[3] && idx->slots[0].key == k[4] &&
	       idx->slots[1].n == 0,
	   "shift: entries move back across the wrap");
	block_index_remove(idx, k[1], 1);
	ok(idx->slots[14].n == 0 && idx->slots[15].key == k[3] &&
	       idx->slots[0].key == k[4],
	   "shift: entries already at their home stay put");
	int found = 1;
	for (int i = 3; i < 5; i++) {
		const uint32_t *ids;
		size_t n;
		block_index_probe(idx, k[i], &ids, &n);
		found &= n == 1 && ids[0] == (uint32_t)i;
	}
	ok(found, "shift: survivors still found");
	const uint32_t *ids;
	size_t n;
	ok(block_index_probe(idx, k[0], &ids, &n) == 0 && n == 0 && ids == NULL,
	   "shift: removed key probes empty");
	block_index_remove(idx, k[0], 0);
	block_index_remove(idx, k[3], 99);
	is_int(idx->keys, 2, "shift: removing absent entries is a no-op");
	block_index_delete(idx);
}

static void test_lists(void)
{
	struct block_index *idx = block_index_new(1000);
	struct block_stats st0, st;
	block_index_stats(idx, &st0);
	const uint32_t *ids;
	size_t n;
	for (uint32_t r = 0; r < 3; r++)
		block_index_add(idx, 42, r);
	block_index_add(idx, 42, 1);
	block_index_probe(idx, 42, &ids, &n);
	ok(n == 3 && ids == idx->slots[block__home(42, 4)].w,
	   "lists: three ids stay inline, duplicate ignored");
	block_index_stats(idx, &st);
	is_int(st.bytes, st0.bytes, "lists: inline lists cost no heap");
	block_index_add(idx, 42, 3);
	block_index_stats(idx, &st);
	is_int(st.bytes, st0.bytes + 8 * sizeof(uint32_t),
	       "lists: the fourth id spills to an 8-id array");
	for (uint32_t r = 4; r < 100; r++)
		block_index_add(idx, 42, r);
	block_index_add(idx, 42, 50);
	block_index_stats(idx, &st);
	is_int(st.postings, 100, "lists: duplicates in a heap list ignored");
	is_int(st.bytes, st0.bytes + 128 * sizeof(uint32_t),
	       "lists: the array doubles geometrically");
	for (uint32_t r = 99; r >= 20; r--)
		block_index_remove(idx, 42, r);
	block_index_stats(idx, &st);
	ok(st.bytes <= st0.bytes + 64 * sizeof(uint32_t),
	   "lists: the array shrinks as it empties");
	for (uint32_t r = 19; r >= 3; r--)
		block_index_remove(idx, 42, r);
	block_index_stats(idx, &st);
	is_int(st.bytes, st0.bytes, "lists: back inline at three ids");
	block_index_probe(idx, 42, &ids, &n);
	uint32_t got[3];
	memcpy(got, ids, sizeof(got));
	qsort(got, 3, sizeof(*got), cmp_u32);
	ok(n == 3 && got[0] == 0 && got[1] == 1 && got[2] == 2,
	   "lists: the inline list holds the survivors");
	is_int(check_table(idx), 0, "lists: invariants");
	block_index_delete(idx);
}

static void test_oversized(void)
{
	struct block_index *idx = block_index_new(5);
	struct block_stats st;
	const uint32_t *ids;
	size_t n;
	for (uint32_t r = 0; r < 5; r++)
		block_index_add(idx, 7, r);
	block_index_add(idx, 8, 1);
	ok(block_index_probe(idx, 7, &ids, &n) == 0 && n == 5,
	   "cap: a list of exactly cap ids is probed");
	block_index_add(idx, 7, 5);
	ok(block_index_probe(idx, 7, &ids, &n) == 1 && n == 0 && ids == NULL,
	   "cap: cap + 1 ids make the key over-shared");
	block_index_stats(idx, &st);
	is_int(st.oversized, 1, "cap: stats count the over-shared key");
	for (uint32_t r = 6; r < 50; r++)
		block_index_add(idx, 7, r);
	block_index_add(idx, 7, 3);
	block_index_stats(idx, &st);
	is_int(st.oversized, 1, "cap: counted once however long it grows");
	is_int(st.postings, 51, "cap: the list is kept whole");
	for (uint32_t r = 49; r >= 5; r--)
		block_index_remove(idx, 7, r);
	ok(block_index_probe(idx, 7, &ids, &n) == 0 && n == 5,
	   "cap: back under the cap, the key yields candidates again");
	block_index_stats(idx, &st);
	is_int(st.oversized, 0, "cap: no longer counted");
	block_index_delete(idx);

	idx = block_index_new(0);
	block_index_add(idx, 9, 1);
	ok(block_index_probe(idx, 9, &ids, &n) == 1,
	   "cap 0: every key is over-shared");
	block_index_stats(idx, &st);
	is_int(st.oversized, 1, "cap 0: counted");
	block_index_remove(idx, 9, 1);
	block_index_stats(idx, &st);
	ok(st.oversized == 0 && st.keys == 0, "cap 0: gone after removal");
	block_index_delete(idx);
}

static void test_oom(void)
{
	block__errinj_alloc_countdown = 1;
	ok(block_index_new(3) == NULL, "oom: new fails on the struct");
	block__errinj_alloc_countdown = 2;
	ok(block_index_new(3) == NULL, "oom: new fails on the table");

	struct block_index *idx = block_index_new(100);
	struct block_stats before, after;
	const uint32_t *ids;
	size_t n;
	for (uint64_t k = 1; k <= 11; k++)
		block_index_add(idx, k, 1);
	block_index_stats(idx, &before);
	block__errinj_alloc_countdown = 1;
	is_int(block_index_add(idx, 12, 1), -1, "oom: a failed resize");
	block_index_stats(idx, &after);
	ok(after.keys == before.keys && after.bytes == before.bytes &&
	       block_index_probe(idx, 12, &ids, &n) == 0 && n == 0,
	   "oom: a failed resize leaves the index unchanged");
	is_int(block_index_add(idx, 12, 1), 0, "oom: the retry succeeds");

	for (uint32_t r = 2; r <= 3; r++)
		block_index_add(idx, 1, r);
	block__errinj_alloc_countdown = 1;
	is_int(block_index_add(idx, 1, 4), -1, "oom: a failed spill");
	block_index_probe(idx, 1, &ids, &n);
	ok(n == 3 && ids == block__find(idx, 1)->w,
	   "oom: the list stays inline");
	for (uint32_t r = 4; r <= 8; r++)
		block_index_add(idx, 1, r);
	block_index_stats(idx, &before);
	block__errinj_alloc_countdown = 1;
	is_int(block_index_add(idx, 1, 9), -1, "oom: a failed array growth");
	block_index_stats(idx, &after);
	block_index_probe(idx, 1, &ids, &n);
	ok(n == 8 && after.postings == before.postings &&
	       after.bytes == before.bytes,
	   "oom: the array is unchanged");
	block__errinj_alloc_countdown = 0;
	is_int(check_table(idx), 0, "oom: invariants");
	block_index_delete(idx);
	block_index_delete(NULL);
}

static void test_key(void)
{
	uint64_t a = block_key('e', "a@b.c", 5);
	ok(a == block_key('e', "a@b.c", 5), "key: deterministic");
	ok(a != block_key('p', "a@b.c", 5), "key: kind is part of the key");
	ok(a != block_key('e', "a@b.d", 5), "key: string is part of the key");
	ok(a == XXH3_64bits_withSeed("a@b.c", 5, 'e'),
	   "key: XXH3 seeded with the kind");
	ok(block_key('e', "", 0) != 0, "key: never 0");
}

/* Lists come back in ascending id order whatever the order of adds, and a
 * million-id over-shared list is built by appends (new ids), so this test
 * would take minutes if adding scanned the list. */
static void test_sorted_lists(void)
{
	struct block_index *idx = block_index_new(10);
	const uint32_t *ids;
	size_t n;
	uint32_t order[] = {50, 3, 77, 12, 3, 99, 1, 64, 12, 8};
	for (size_t i = 0; i < sizeof(order) / sizeof(*order); i++)
		block_index_add(idx, 5, order[i]);
	block_index_probe(idx, 5, &ids, &n);
	int sorted = n == 8;
	for (size_t i = 1; i < n; i++)
		sorted &= ids[i - 1] < ids[i];
	ok(sorted, "sorted: ascending ids, duplicates ignored");
	block_index_remove(idx, 5, 50);
	block_index_probe(idx, 5, &ids, &n);
	sorted = n == 7;
	for (size_t i = 1; i < n; i++)
		sorted &= ids[i - 1] < ids[i];
	ok(sorted, "sorted: order kept by removal");
	for (uint32_t r = 100; r < 1000100; r++)
		block_index_add(idx, 6, r);
	block_index_add(idx, 6, 500000);
	struct block_stats st;
	block_index_stats(idx, &st);
	is_int(st.postings, 7 + 1000000, "sorted: a million-id list, no duplicate");
	is_int(block_index_probe(idx, 6, &ids, &n), 1, "sorted: it is over-shared");
	block_index_delete(idx);
}

/* block_list_count counts exactly what block_list_has finds. */
static void test_list_count(void)
{
	static uint32_t list[5000], want[700], hits[700];
	unsigned long long x = 7;
	int bad = 0, found = 0;
	for (int round = 0; round < 50; round++) {
		size_t n_list = 0, n_want = 0;
		uint32_t v = 0, w = 0;
		size_t len = (size_t)(round * 97) % 5000;
		size_t m = 1 + (size_t)(round * 13) % 700;
		for (size_t i = 0; i < len; i++) {
			x = x * 6364136223846793005ULL + 1;
			v += 1 +
			     (uint32_t)((x >> 40) % (round % 5 == 0 ? 2 : 9));
			list[n_list++] = v;
		}
		for (size_t i = 0; i < m; i++) {
			x = x * 6364136223846793005ULL + 1;
			w += 1 + (uint32_t)((x >> 40) % 40);
			want[n_want] = w;
			hits[n_want++] = 3;
		}
		block_list_count(list, n_list, want, n_want, hits);
		for (size_t i = 0; i < n_want; i++) {
			int has = block_list_has(list, n_list, want[i]);
			found += has;
			bad += hits[i] != 3u + (uint32_t)has;
		}
	}
	ok(found > 100, "lists share ids");
	is_int(bad, 0, "block_list_count agrees with block_list_has");
}

/* The bulk add builds the same index as one add at a time, whatever the
 * order of the ids: mostly ascending (a snapshot load), some older ids,
 * some added twice, and lists long enough to spill and pass the cap. */
static void test_bulk(void)
{
	struct block_index *one = block_index_new(40),
			   *bulk = block_index_new(40);
	enum { KEYS = 300, RECS = 3000 };
	int fails = 0;
	for (uint32_t r = 0; r < RECS; r++) {
		uint32_t rec = rng() % 8 == 0 ? (uint32_t)(rng() % RECS) : r;
		uint64_t keys[6];
		size_t n = 1 + rng() % 6;
		for (size_t k = 0; k < n; k++)
			keys[k] = rng() % (k < 2 ? 8 : KEYS);
		for (size_t k = 0; k < n; k++)
			fails += block_index_add(one, keys[k], rec) != 0;
		fails += block_index_add_bulk(bulk, keys, n, rec) != 0;
	}
	is_int(fails, 0, "every add succeeds");
	int same = 1;
	for (uint64_t key = 0; key < KEYS; key++) {
		const uint32_t *a, *b;
		size_t na, nb;
		int ra = block_index_probe(one, key, &a, &na);
		int rb = block_index_probe(bulk, key, &b, &nb);
		const struct block_slot *sa = block__find(one, key),
					*sb = block__find(bulk, key);
		same &= ra == rb && na == nb && sa->n == sb->n &&
			(!sa->n || !memcmp(block__ids((struct block_slot *)sa),
					   block__ids((struct block_slot *)sb),
					   sa->n * sizeof(uint32_t)));
	}
	ok(same, "same lists, in the same order, same over-shared keys");
	struct block_stats x, y;
	block_index_stats(one, &x);
	block_index_stats(bulk, &y);
	ok(x.keys == y.keys && x.postings == y.postings &&
	       x.oversized == y.oversized && x.oversized > 0,
	   "same keys, postings and over-shared count");
	block_index_delete(one);
	block_index_delete(bulk);
}

int main(void)
{
	unit_plan_begin();
	test_key();
	test_model();
	test_sorted_lists();
	test_growth();
	test_backward_shift();
	test_lists();
	test_list_count();
	test_oversized();
	test_oom();
	test_bulk();
	return unit_done();
}
