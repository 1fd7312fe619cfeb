/*
 * engine — the reconnu.h façade: upsert, identify, get, delete, explain,
 * stats over the store, the blocking index, the scorer, the identity graph
 * and golden-record survivorship.
 *
 * Concurrency: one read/write lock. Validation and normalisation of the
 * incoming record run before the lock is taken, so writers hold it only
 * for blocking, scoring and the graph change; readers (identify, get,
 * explain, stats) share it.
 *
 * Results handed to the caller live in one arena each ("box"), freed in
 * one call.
 */
#include "reconnu.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "arena.h"
#include "block.h"
#include "op.h"
#include "snapshot.h"
#include "splitmix.h"
#include "wal.h"
#include "golden.h"
#include "image.h"
#include "graph.h"
#include "norm.h"
#include "em.h"
#include "score.h"
#include "store.h"

enum { MAX_KEYS = 160, MAX_LINKS = 8, MAX_POSSIBLE = 4 };

struct reconnu {
	pthread_rwlock_t lock;
	reconnu_config cfg;
	char **priority; /**< owned copy of cfg.source_priority */
	struct golden_policy policy;
	struct store *store;
	struct graph *graph;
	struct block_index *index;
	struct score_model model;
	uint64_t model_version; /**< 0: built-in defaults; +1 per change */
	struct score_tf *tf; /**< value frequencies of the stored records */
	struct norm_nicknames *nicknames;
	struct wal *wal; /**< NULL: in memory only */
	char *dir;       /**< data directory (storage only) */
	uint64_t last_lsn; /**< last write logged (under the write lock) */
	pthread_mutex_t snap_lock; /**< one snapshot at a time */
	double match_w, possible_w; /**< thresholds as weights */
	_Atomic uint64_t upserts, deletes, identifies, rejected;
};

/* ---- errors ----------------------------------------------------------- */

static _Thread_local char last_error[512];

const char *reconnu_last_error(void)
{
	return last_error;
}

static int set_error(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return code;
}

static int ok(void)
{
	last_error[0] = 0;
	return RECONNU_OK;
}

const char *reconnu_strerror(int err)
{
	switch (err) {
	case RECONNU_OK: return "RECONNU_OK";
	case RECONNU_EINVAL: return "RECONNU_EINVAL";
	case RECONNU_ENOTFOUND: return "RECONNU_ENOTFOUND";
	case RECONNU_ENOMEM: return "RECONNU_ENOMEM";
	case RECONNU_ELIMIT: return "RECONNU_ELIMIT";
	case RECONNU_EIO: return "RECONNU_EIO";
	case RECONNU_ESTATE: return "RECONNU_ESTATE";
	}
	return "RECONNU_E?";
}

const char *reconnu_decision_name(reconnu_decision d)
{
	switch (d) {
	case RECONNU_MATCH: return "MATCH";
	case RECONNU_POSSIBLE: return "POSSIBLE";
	case RECONNU_NO_MATCH: return "NO_MATCH";
	}
	return "?";
}

/* ---- result boxes ------------------------------------------------------ */

struct box {
	struct arena arena;
	union {
		reconnu_match m;
		reconnu_golden g;
		reconnu_explanation e;
	} u;
};

#define BOX_OF(p) ((struct box *)((char *)(p)-offsetof(struct box, u)))

static struct box *box_new(void)
{
	struct box *b = calloc(1, sizeof(*b));
	if (b)
		arena_create(&b->arena);
	return b;
}

static void box_free(struct box *b)
{
	if (!b)
		return;
	arena_destroy(&b->arena);
	free(b);
}

void reconnu_golden_free(reconnu_golden *g)
{
	if (g)
		box_free(BOX_OF(g));
}

void reconnu_match_free(reconnu_match *m)
{
	if (m)
		box_free(BOX_OF(m));
}

void reconnu_explanation_free(reconnu_explanation *e)
{
	if (e)
		box_free(BOX_OF(e));
}

/* ---- open / close ------------------------------------------------------ */

void reconnu_config_default(reconnu_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->match_threshold = 0.96;
	cfg->possible_threshold = 0.90;
	cfg->block_cap = 1000;
	cfg->max_candidates = 32;
}

static double weight_of(double p)
{
	return log2(p / (1.0 - p));
}

void reconnu_close(reconnu *r)
{
	if (!r)
		return;
	if (r->wal)
		wal_close(r->wal);
	free(r->dir);
	pthread_mutex_destroy(&r->snap_lock);
	pthread_rwlock_destroy(&r->lock);
	store_delete(r->store);
	graph_delete(r->graph);
	block_index_delete(r->index);
	score_tf_free(r->tf);
	norm_nicknames_delete(r->nicknames);
	for (size_t i = 0; i < r->cfg.n_source_priority; i++)
		free(r->priority[i]);
	free(r->priority);
	free(r);
}

int reconnu_open(const reconnu_config *cfg, reconnu **out)
{
	*out = NULL;
	reconnu_config c;
	if (cfg)
		c = *cfg;
	else
		reconnu_config_default(&c);
	if (!(c.match_threshold > 0 && c.match_threshold < 1) ||
	    !(c.possible_threshold > 0 &&
	      c.possible_threshold <= c.match_threshold))
		return set_error(RECONNU_EINVAL,
				 "thresholds: need 0 < possible <= match < 1");
	if (!c.block_cap)
		c.block_cap = 1000;
	if (!c.max_candidates)
		c.max_candidates = 32;
	if (norm_global_init())
		return set_error(RECONNU_ESTATE,
				 "normalisation: ICU transliterators unavailable");
	reconnu *r = calloc(1, sizeof(*r));
	if (!r)
		return set_error(RECONNU_ENOMEM, "out of memory");
	/* a waiting writer goes before new readers: without it, a stream of
	 * reads (or a snapshot's slices) can keep a writer out for long */
	pthread_rwlockattr_t la;
	pthread_rwlockattr_init(&la);
	pthread_rwlockattr_setkind_np(
	    &la, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&r->lock, &la);
	pthread_rwlockattr_destroy(&la);
	pthread_mutex_init(&r->snap_lock, NULL);
	r->cfg = c;
	r->cfg.nicknames_dir = NULL;
	r->cfg.n_source_priority = 0;
	r->priority = calloc(c.n_source_priority + 1, sizeof(char *));
	if (!r->priority)
		goto oom;
	for (size_t i = 0; i < c.n_source_priority; i++) {
		if (!(r->priority[i] = strdup(c.source_priority[i])))
			goto oom;
		r->cfg.n_source_priority++;
	}
	r->cfg.source_priority = (const char *const *)r->priority;
	r->policy.source_priority = r->cfg.source_priority;
	r->policy.n_source_priority = r->cfg.n_source_priority;
	r->store = store_new();
	r->graph = graph_new();
	r->index = block_index_new(c.block_cap);
	r->nicknames = norm_nicknames_new();
	r->tf = score_tf_new();
	if (!r->store || !r->graph || !r->index || !r->nicknames || !r->tf)
		goto oom;
	if (c.nicknames_dir &&
	    norm_nicknames_load_dir(r->nicknames, c.nicknames_dir) < 0) {
		reconnu_close(r);
		return set_error(RECONNU_EINVAL,
				 "nicknames_dir: cannot read \"%s\"",
				 c.nicknames_dir);
	}
	score_model_default(&r->model);
	r->match_w = weight_of(c.match_threshold);
	r->possible_w = weight_of(c.possible_threshold);
	*out = r;
	return ok();
oom:
	reconnu_close(r);
	return set_error(RECONNU_ENOMEM, "out of memory");
}

/* ---- blocking keys ------------------------------------------------------ */

/* Key strings are built with memcpy, not printf: a snapshot load makes
 * some twenty keys per record, and printf was a third of that. */

/* "a|b" into dst (cap bytes), cut at cap - 1 bytes as snprintf would. */
static const char *key_join(char *dst, size_t cap, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), n = 0;
	const char *parts[3] = {a, "|", b};
	size_t lens[3] = {la, 1, lb};
	for (int i = 0; i < 3 && n < cap - 1; i++) {
		size_t k = lens[i] < cap - 1 - n ? lens[i] : cap - 1 - n;
		memcpy(dst + n, parts[i], k);
		n += k;
	}
	dst[n] = 0;
	return dst;
}

/* Decimal digits of v (0 <= v), zero-padded to width, NUL-terminated. */
static char *key_digits(char *p, int v, int width)
{
	for (int i = width - 1; i >= 0; i--, v /= 10)
		p[i] = (char)('0' + v % 10);
	p[width] = 0;
	return p + width;
}

/* A string with its length (strlen once per record, not once per key). */
struct kstr {
	const char *s;
	size_t n;
};

static struct kstr ks(const char *s)
{
	return (struct kstr){s, s ? strlen(s) : 0};
}

/* Keys carry their use in the top bit. A rescue key proposes
 * candidates only from a narrow list, and only when the record's other
 * narrow lists proposed fewer than FILL; it adds no evidence otherwise.
 * It finds the twin that typos hid from every other key (a name and the
 * birth year) without adding work where the other keys already found
 * enough, or where its list is a crowd (a common name's year among a
 * million records). */
#define KEY_RESCUE (UINT64_C(1) << 63)

/* Adds the key kind + "a" (b.s NULL) or kind + "a|b" unless a is absent
 * or empty, b is empty, or the key would not fit 511 bytes; a key already
 * there (e.g. given name = family name) is not added twice. */
static void key_add(uint64_t *keys, size_t *n, char kind, struct kstr a,
		    struct kstr b)
{
	if (*n >= MAX_KEYS || !a.n || (b.s && !b.n))
		return;
	char buf[512];
	uint64_t k;
	if (!b.s) {
		if (a.n >= sizeof(buf))
			return;
		k = block_key(kind, a.s, a.n); /* no copy needed */
	} else {
		if (a.n + 1 + b.n >= sizeof(buf))
			return;
		memcpy(buf, a.s, a.n);
		buf[a.n] = '|';
		memcpy(buf + a.n + 1, b.s, b.n);
		k = block_key(kind, buf, a.n + 1 + b.n);
	}
	k &= ~KEY_RESCUE;
	if (!k)
		k = 1;
	for (size_t i = 0; i < *n; i++)
		if (keys[i] == k)
			return;
	keys[(*n)++] = k;
}

static const struct kstr NONE = {NULL, 0};

/* key_add, then marks the key added as a rescue key. */
static void key_add_rescue(uint64_t *keys, size_t *n, char kind,
			   struct kstr a, struct kstr b)
{
	size_t before = *n;
	key_add(keys, n, kind, a, b);
	if (*n > before)
		keys[*n - 1] |= KEY_RESCUE;
}

/* The blocking keys of a record, most specific first. */
static size_t rec_keys(const struct store_rec *r, uint64_t *keys)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n_emails; i++)
		key_add(keys, &n, 'e', ks(r->emails[i]), NONE);
	for (size_t i = 0; i < r->n_phones; i++)
		key_add(keys, &n, 'p', ks(r->phones[i]), NONE);
	for (size_t i = 0; i < r->n_ids; i++)
		key_add(keys, &n, 'i', ks(r->ids[i]), NONE);
	char dob_buf[16] = "";
	struct kstr dob = {dob_buf, 0};
	if (r->birth.year > 0 && r->birth.year <= 9999 && r->birth.month > 0 &&
	    r->birth.day > 0) {
		key_digits(key_digits(key_digits(dob_buf, r->birth.year, 4),
				      r->birth.month, 2),
			   r->birth.day, 2);
		dob.n = 8;
	}
	struct kstr given = ks(r->given), family = ks(r->family),
		    gphon = ks(r->given_phon), fphon = ks(r->family_phon);
	/* either name with the full birth date, one key kind for both: a
	 * given name filed as the family name still meets its twin */
	key_add(keys, &n, 'a', family, dob);
	key_add(keys, &n, 'a', given, dob);
	/* either name with the birth year, rescue keys: survive a typo in
	 * the other name and another in the month or day */
	if (r->birth.year > 0 && r->birth.year <= 9999) {
		char yb[8];
		key_digits(yb, r->birth.year, 4);
		key_add_rescue(keys, &n, 'k', family, (struct kstr){yb, 4});
		key_add_rescue(keys, &n, 'k', given, (struct kstr){yb, 4});
	}
	/* the birth date alone: some thirty records a day among a million,
	 * a narrow list that survives typos in every name */
	key_add(keys, &n, 'b', dob, NONE);
	/* phonetic name pair, order-free (swapped names block together) */
	if (gphon.n && fphon.n) {
		int lt = strcmp(gphon.s, fphon.s) < 0;
		key_add(keys, &n, 'c', lt ? gphon : fphon, lt ? fphon : gphon);
	}
	for (size_t i = 0; i < r->n_addrs; i++) {
		const struct store_addr *a = &r->addrs[i];
		struct kstr post = ks(a->postcode), city = ks(a->city);
		key_add(keys, &n, 'd', family, post);
		key_add(keys, &n, 'f', given, post);
		key_add(keys, &n, 'g', dob, post);
		key_add(keys, &n, 'h', fphon, city);
		key_add(keys, &n, 's', ks(a->line), post);
		/* phonetic names with the place: survive a typo in a name and
		 * in the other name's spelling */
		key_add(keys, &n, 'm', gphon, post);
		key_add(keys, &n, 'n', fphon, post);
		key_add(keys, &n, 'q', gphon, city);
		/* place with initials: survives typos inside both names */
		if (city.n && post.n && given.n && family.n) {
			char in[4] = {r->given[0] < r->family[0] ? r->given[0]
								 : r->family[0],
				      r->given[0] < r->family[0] ? r->family[0]
								 : r->given[0],
				      0};
			char cp[512];
			key_add(
			    keys, &n, 'l',
			    ks(key_join(cp, sizeof(cp), a->city, a->postcode)),
			    ks(in));
		}
	}
	/* names with the birth year: resists day/month typos */
	if (r->birth.year && gphon.n && fphon.n) {
		char y[8], gf[256];
		key_digits(y, r->birth.year, 4);
		key_add(
		    keys, &n, 'y',
		    ks(key_join(gf, sizeof(gf), r->given_phon, r->family_phon)),
		    ks(y));
	}
	return n;
}

/*
 * Candidate record ids for r, at most cap, deterministic.
 *
 * Light meta-blocking: narrow posting lists (<= NARROW ids) propose
 * candidates; when they proposed fewer than FILL, medium lists (<= MEDIUM)
 * top up, smallest first; every other list only adds evidence to the
 * proposed candidates (a galloping merge of the sorted list with the
 * candidates sorted by id). The candidates sharing the most keys are
 * returned (ties: lowest id first), so the scorer sees the likely matches
 * first and never a whole city.
 */
enum { NARROW = 32, MEDIUM = 256, FILL = 16, CAND_SET = 4096 };

struct cand {
	uint32_t id;
	uint32_t hits;
};

struct plist {
	const uint32_t *ids;
	size_t n;
};

static int cmp_plist(const void *x, const void *y)
{
	const struct plist *a = x, *b = y;
	return (a->n > b->n) - (a->n < b->n);
}

/* The n candidates of set by ascending id into ids and hits: ids are
 * distinct, so any sort gives one order. A few dozen (the usual count)
 * take an insertion sort; more a radix sort on 32-bit values, n up to
 * CAND_SET, whose four passes over 256 buckets cost more than a few
 * dozen insertions. */
enum { CAND_INSERTION_MAX = 64 };
static void cand_sort_ids(const struct cand *set, size_t n, uint32_t *ids,
			  uint32_t *hits)
{
	static _Thread_local uint32_t tid[CAND_SET], thits[CAND_SET];
	if (!n)
		return;
	if (n <= CAND_INSERTION_MAX) {
		for (size_t i = 0; i < n; i++) {
			struct cand c = set[i];
			size_t j = i;
			for (; j > 0 && ids[j - 1] > c.id; j--) {
				ids[j] = ids[j - 1];
				hits[j] = hits[j - 1];
			}
			ids[j] = c.id;
			hits[j] = c.hits;
		}
		return;
	}
	uint32_t *src = ids, *srch = hits, *dst = tid, *dsth = thits;
	for (size_t i = 0; i < n; i++)
		src[i] = set[i].id, srch[i] = set[i].hits;
	for (int shift = 0; shift < 32; shift += 8) {
		size_t count[257] = {0};
		for (size_t i = 0; i < n; i++)
			count[((src[i] >> shift) & 0xff) + 1]++;
		if (count[((src[0] >> shift) & 0xff) + 1] == n)
			continue; /* every id has this byte: order unchanged */
		for (int b = 0; b < 256; b++)
			count[b + 1] += count[b];
		for (size_t i = 0; i < n; i++) {
			size_t at = count[(src[i] >> shift) & 0xff]++;
			dst[at] = src[i];
			dsth[at] = srch[i];
		}
		uint32_t *t = src;
		src = dst, dst = t;
		t = srch;
		srch = dsth, dsth = t;
	}
	if (src != ids) {
		memcpy(ids, src, n * sizeof(*ids));
		memcpy(hits, srch, n * sizeof(*hits));
	}
}

/* The first cap of the n candidates (ids ascending), most hits first,
 * then ascending id: a counting sort by hits, stable, so the id order
 * holds within a count. A candidate has 1 to MAX_KEYS hits (one per key
 * list). @retval how many. */
static size_t cand_best(const uint32_t *ids, const uint32_t *hits, size_t n,
			uint32_t *out, size_t cap)
{
	size_t start[MAX_KEYS + 2] = {0};
	for (size_t i = 0; i < n; i++)
		start[MAX_KEYS + 1 -
		      (hits[i] < MAX_KEYS ? hits[i] : MAX_KEYS)]++;
	size_t sum = 0;
	for (size_t h = 0; h < MAX_KEYS + 2; h++) {
		size_t c = start[h];
		start[h] = sum;
		sum += c;
	}
	for (size_t i = 0; i < n; i++) {
		size_t at = start[MAX_KEYS + 1 -
				  (hits[i] < MAX_KEYS ? hits[i] : MAX_KEYS)]++;
		if (at < cap)
			out[at] = ids[i];
	}
	return n < cap ? n : cap;
}

/* Starts loading the lines of [p, p + n) into the cache. */
static void prefetch_range(const void *p, size_t n)
{
	uintptr_t a = (uintptr_t)p & ~(uintptr_t)63, end = (uintptr_t)p + n;
	for (; a < end; a += 64)
		__builtin_prefetch((const void *)a);
}

/* keys: rec_keys(r), nk of them (made once by the caller, which may
 * index r under the same keys). */
static size_t candidates(const reconnu *e, const struct store_rec *r,
			 const uint64_t *keys, size_t nk, uint32_t *out,
			 size_t cap)
{
	size_t np = 0, nr = 0;
	struct plist lists[MAX_KEYS], rescue[MAX_KEYS];
	for (size_t k = 0; k < nk; k++) {
		const uint32_t *ids;
		size_t m;
		if (block_index_probe(e->index, keys[k], &ids, &m) || !m)
			continue;
		if (keys[k] & KEY_RESCUE) {
			if (m <= NARROW)
				rescue[nr++] = (struct plist){ids, m};
			else
				continue;
		} else {
			lists[np++] = (struct plist){ids, m};
		}
		/* the lists are read below, after all the probes: their
		 * first lines (a narrow list whole) load meanwhile */
		prefetch_range(ids, (m < NARROW ? m : NARROW) * sizeof(*ids));
	}
	qsort(lists, np, sizeof(*lists), cmp_plist);

	/* slot_of is all zero between calls: the slots taken (at) are
	 * cleared on the way out, not the whole table on the way in */
	static _Thread_local struct cand set[CAND_SET];
	static _Thread_local uint32_t slot_of[CAND_SET]; /* hash → index+1 */
	static _Thread_local uint16_t at[CAND_SET];	 /* index → hash */
	size_t n = 0, limit = CAND_SET / 2;
	size_t k = 0;
	/* phases: the narrow lists; then, while fewer than FILL were
	 * proposed, the rescue lists whole and medium lists up to FILL */
	for (int phase = 0; phase < 3; phase++) {
		int broad = phase == 2;
		struct plist *from = phase == 1 ? rescue : lists;
		size_t j = phase == 1 ? 0 : k, end = phase == 1 ? nr : np;
		if (phase == 1 && n >= FILL)
			continue;
		for (; j < end; j++) {
			if (phase == 0 && from[j].n > NARROW)
				break;
			if (broad && (n >= FILL || from[j].n > MEDIUM))
				break;
			for (size_t i = 0; i < from[j].n && n < limit; i++) {
				uint32_t id = from[j].ids[i];
				if (id == r->id)
					continue;
				size_t h = (id * 2654435761u) & (CAND_SET - 1);
				while (slot_of[h] && set[slot_of[h] - 1].id != id)
					h = (h + 1) & (CAND_SET - 1);
				if (slot_of[h]) {
					set[slot_of[h] - 1].hits++;
				} else {
					set[n] = (struct cand){id, 1};
					at[n] = (uint16_t)h;
					slot_of[h] = (uint32_t)++n;
				}
				if (broad && n >= FILL)
					break;
			}
		}
		if (phase != 1)
			k = j;
	}
	/* remaining broad lists: evidence for the proposed candidates only,
	 * counted in one merge per list over the ids in ascending order */
	for (size_t i = 0; i < n; i++)
		slot_of[at[i]] = 0;
	static _Thread_local uint32_t ids[CAND_SET], hits[CAND_SET];
	cand_sort_ids(set, n, ids, hits);
	for (; k < np; k++)
		block_list_count(lists[k].ids, lists[k].n, ids, n, hits);
	return cand_best(ids, hits, n, out, cap);
}

/* ---- upsert / delete ---------------------------------------------------- */

/* Adds r (or removes it) everywhere derived from the records: the
 * blocking index under keys, its rec_keys, and the term frequencies. A
 * snapshot load does the same in idx_run. */
static void index_keys(reconnu *e, const struct store_rec *r,
		       const uint64_t *keys, size_t nk, int add)
{
	/* a table that cannot grow leaves the frequencies slightly off,
	 * never the records or the graph */
	(void)score_tf_update(e->tf, r, add ? 1 : -1);
	for (size_t k = 0; k < nk; k++) {
		if (add)
			block_index_add(e->index, keys[k], r->id);
		else
			block_index_remove(e->index, keys[k], r->id);
	}
}

/* index_keys with keys = rec_keys(r), their index slots fetched first. */
static void index_rec_keys(reconnu *e, const struct store_rec *r,
			   const uint64_t *keys, size_t nk, int add)
{
	for (size_t k = 0; k < nk; k++) /* the misses overlap */
		block_index_prefetch(e->index, keys[k]);
	index_keys(e, r, keys, nk, add);
}

static void index_rec(reconnu *e, const struct store_rec *r, int add)
{
	uint64_t keys[MAX_KEYS];
	size_t nk = rec_keys(r, keys);
	index_rec_keys(e, r, keys, nk, add);
}

static void fill_result(reconnu_upsert_result *res, const struct graph_change *c)
{
	if (!res)
		return;
	res->entity_id = c->entity_id;
	res->entity_version = c->version;
	res->n_merged += c->n_merged;
	res->n_split += c->n_split;
}

static int cmp_link(const void *x, const void *y)
{
	const struct graph_link *a = x, *b = y;
	if (a->weight != b->weight)
		return a->weight > b->weight ? -1 : 1;
	return (a->rec > b->rec) - (a->rec < b->rec);
}

/*
 * Anti-chaining. Single-link clustering would let one record glue two
 * people together. When a record's links reach several entities, it
 * joins the entity of its best link; another entity is merged in only if
 *  1. no never-match evidence stands between the two (entities_conflict:
 *     full birth dates or identifiers of one type more than two edits
 *     apart between its records and the new record's side, with no pair
 *     agreeing; given names likewise between households; up to
 *     CHAIN_CHECK records a side are checked), and
 *  2. the evidence for it is strong: it is a single record, or the new
 *     record links to two of its records, or the link is CHAIN_MARGIN
 *     bits above the match threshold (16 times the odds).
 * Otherwise its links stay POSSIBLE: a weak or contradicted link between
 * two entities is for a data steward to review, not to merge them.
 * links is sorted by weight, best first; kinds are changed in place.
 */
enum { CHAIN_CHECK = 64, GIVEN_CONFIRM = 2 };
#define CHAIN_MARGIN 4.0

/*
 * Whether the entity ent cannot be the person of other joined by rec.
 * Birth dates and identifiers are weighed apart: a kind stands between
 * the two when some record of one side (rec and other's records) and one
 * of ent conflict on it (score_never_match) and no such pair agrees on
 * it within a typo. A date agreeing between some records while others
 * conflict means that person's date is keyed noisily by a source, and
 * the wrong value then does not keep the right one out. Given names too,
 * when each side has GIVEN_CONFIRM records with one: two people of one
 * household each seen twice under their own given name. A lone record
 * under another given name may be one whose name a source replaced.
 */
static int entities_conflict(const reconnu *e, const struct store_rec *rec,
			     const struct graph_entity *ent,
			     const struct graph_entity *other)
{
	uint32_t n = ent->n_members < CHAIN_CHECK ? ent->n_members : CHAIN_CHECK;
	uint32_t m = other->n_members < CHAIN_CHECK ? other->n_members
						    : CHAIN_CHECK;
	unsigned f = 0;
	uint32_t gx = 0, gy = 0; /* records with a given name, each side */
	int counted = 0;	  /* gy: other's side is counted once */
	for (uint32_t i = 0; i < n; i++) {
		const struct store_rec *x = store_get(e->store, ent->members[i]);
		if (!x)
			continue;
		gx += *x->given != 0;
		for (uint32_t j = 0; j <= m; j++) {
			const struct store_rec *y =
			    j == m ? rec : store_get(e->store, other->members[j]);
			if (!y)
				continue;
			if (!counted)
				gy += *y->given != 0;
			f |= score_never_cmp(x, y) |
			     score_given_cmp(e->nicknames, x, y);
		}
		counted = 1;
	}
	return ((f & SCORE_NEVER_DATE_CONFLICT) &&
		!(f & SCORE_NEVER_DATE_AGREE)) ||
	       ((f & SCORE_NEVER_ID_CONFLICT) && !(f & SCORE_NEVER_ID_AGREE)) ||
	       (gx >= GIVEN_CONFIRM && gy >= GIVEN_CONFIRM &&
		(f & SCORE_NEVER_GIVEN_CONFLICT) &&
		!(f & SCORE_NEVER_GIVEN_AGREE));
}

static void resist_chaining(const reconnu *e, const struct store_rec *rec,
			    struct graph_link *links, size_t n)
{
	enum { MAXE = 16 };
	const struct graph_entity *ent[MAXE];
	uint8_t keep[MAXE];
	size_t ne = 0;
	for (size_t i = 0; i < n; i++) {
		if (links[i].kind != GRAPH_LINK)
			continue;
		const struct graph_entity *en =
		    graph_entity_of(e->graph, links[i].rec);
		if (!en)
			continue;
		size_t k = 0;
		while (k < ne && ent[k] != en)
			k++;
		if (k == ne) {
			if (ne == MAXE) {
				links[i].kind = GRAPH_POSSIBLE;
				continue;
			}
			ent[ne] = en;
			keep[ne] = 1;
			if (ne > 0) {
				/* a second entity: strong, uncontradicted
				 * evidence only */
				size_t support = 0;
				for (size_t j = 0; j < n; j++)
					if (links[j].kind == GRAPH_LINK &&
					    graph_entity_of(e->graph,
							    links[j].rec) == en)
						support++;
				keep[ne] =
				    (en->n_members == 1 || support >= 2 ||
				     links[i].weight >=
					 e->match_w + CHAIN_MARGIN) &&
				    !entities_conflict(e, rec, en, ent[0]);
			}
			ne++;
		}
		if (!keep[k])
			links[i].kind = GRAPH_POSSIBLE;
	}
}

struct link_result {
	size_t n_cand, n_link, n_poss;
	double best;
};

/*
 * The records of candidate ids (NULL for one gone), fetched ahead of
 * scoring: candidates are scattered over the heap, and loading each one
 * on first touch left the scorer waiting on memory one record at a time.
 * The loads of all the pointers and of each record's head are issued
 * together so that their cache misses overlap. The head is every line
 * struct store_rec touches: records start anywhere in a line, and the
 * list pointers and counts the scorer reads sit at its end (fetching a
 * fixed 256 bytes from the start missed them about half the time).
 */
static void cand_recs(const reconnu *e, const uint32_t *cand, size_t n,
		      const struct store_rec **out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = store_get(e->store, cand[i]);
	for (size_t i = 0; i < n; i++)
		if (out[i])
			prefetch_range(out[i], sizeof(*out[i]));
}

/* Starts loading the rest of r (may be NULL) — its lists and strings, one
 * allocation behind the head that cand_recs fetched — a few candidates
 * ahead of the scorer (CAND_AHEAD: a pair takes about a microsecond, far
 * longer than a miss). CAND_AHEAD_BYTES bounds it for a huge record. */
enum { CAND_AHEAD = 2, CAND_AHEAD_BYTES = 1024 };
static void cand_prefetch_values(const struct store_rec *r)
{
	if (!r)
		return;
	size_t head = sizeof(*r), n = r->bytes;
	if (n > CAND_AHEAD_BYTES)
		n = CAND_AHEAD_BYTES;
	if (n > head)
		prefetch_range((const char *)r + head, n - head);
}

/* Scores rec (stored, not in the graph; keys = rec_keys(rec), nk of
 * them) against its candidates and puts it in the graph with its links.
 * @retval 0 or -1 on ENOMEM (graph unchanged). */
static int link_rec(reconnu *e, const struct store_rec *rec,
		    const uint64_t *keys, size_t nk, struct graph_change *ch,
		    struct link_result *lr)
{
	uint32_t cand[1024];
	size_t cap = e->cfg.max_candidates < 1024 ? e->cfg.max_candidates : 1024;
	size_t nc = candidates(e, rec, keys, nk, cand, cap);
	struct graph_link links[MAX_LINKS + MAX_POSSIBLE];
	struct graph_link all[1024];
	size_t na = 0;
	double best = -INFINITY;
	const struct store_rec *recs[1024];
	cand_recs(e, cand, nc, recs);
	for (size_t i = 0; i < nc && i < CAND_AHEAD; i++)
		cand_prefetch_values(recs[i]);
	struct score_query q;
	score_query_create(&q, &e->model, e->tf, e->nicknames, rec);
	for (size_t i = 0; i < nc; i++) {
		const struct store_rec *o = recs[i];
		if (i + CAND_AHEAD < nc)
			cand_prefetch_values(recs[i + CAND_AHEAD]);
		double w = score_pair_prepared(&q, o, NULL);
		if (w > best)
			best = w;
		if (w >= e->possible_w)
			all[na++] = (struct graph_link){
				cand[i], (float)w,
				w >= e->match_w ? GRAPH_LINK : GRAPH_POSSIBLE};
	}
	qsort(all, na, sizeof(*all), cmp_link);
	resist_chaining(e, rec, all, na);
	size_t nl = 0, n_link = 0, n_poss = 0;
	for (size_t i = 0; i < na; i++) {
		if (all[i].kind == GRAPH_LINK && n_link < MAX_LINKS) {
			links[nl++] = all[i];
			n_link++;
		} else if (all[i].kind == GRAPH_POSSIBLE && n_poss < MAX_POSSIBLE) {
			links[nl++] = all[i];
			n_poss++;
		}
	}
	lr->n_cand = nc;
	lr->n_link = n_link;
	lr->n_poss = n_poss;
	lr->best = best;
	return graph_insert(e->graph, rec->id, links, nl, ch) ? -1 : 0;
}

/* Resolves rec into the graph; caller holds the write lock and owns rec
 * until it is stored. @retval 0 or RECONNU_ENOMEM (nothing changed). */
static int upsert_apply(reconnu *e, struct store_rec *rec,
			reconnu_upsert_result *res)
{
	if (store_reserve(e->store)) {
		store_rec_delete(rec);
		return RECONNU_ENOMEM;
	}
	graph_begin_op(e->graph);
	struct graph_change ch;
	uint32_t old = store_lookup(e->store, rec->raw.source, rec->raw.source_id);
	if (old != STORE_NONE) {
		index_rec(e, store_get(e->store, old), 0);
		graph_remove(e->graph, old, &ch);
		fill_result(res, &ch);
	}
	store_put(e->store, rec);

	/* made once: for the candidates, then to index rec */
	uint64_t keys[MAX_KEYS];
	size_t nk = rec_keys(rec, keys);
	struct link_result lr;
	if (link_rec(e, rec, keys, nk, &ch, &lr)) {
		store_remove(e->store, rec->id);
		return RECONNU_ENOMEM;
	}
	index_rec_keys(e, rec, keys, nk, 1);
	fill_result(res, &ch);
	if (res) {
		res->created = old == STORE_NONE;
		res->probability = lr.n_cand ? score_probability(lr.best) : 0;
		res->decision = lr.n_link ? RECONNU_MATCH
				: lr.n_poss ? RECONNU_POSSIBLE
					    : RECONNU_NO_MATCH;
	}
	atomic_fetch_add_explicit(&e->upserts, 1, memory_order_relaxed);
	return 0;
}

/* Removes record id; caller holds the write lock. */
static void delete_apply(reconnu *e, uint32_t id, reconnu_upsert_result *res)
{
	graph_begin_op(e->graph);
	index_rec(e, store_get(e->store, id), 0);
	struct graph_change ch;
	graph_remove(e->graph, id, &ch);
	store_remove(e->store, id);
	fill_result(res, &ch);
	atomic_fetch_add_explicit(&e->deletes, 1, memory_order_relaxed);
}

static const char wal_failed_msg[] = "write-ahead log failed: the engine is "
				     "read-only until restarted (fail-stop)";

/* Logs an op under the write lock (LSN order = apply order); cb (may be
 * NULL) is called once it is durable, only when this returns 0. */
static int log_op_cb(reconnu *e, uint8_t type, const uint8_t *p, size_t n,
		     uint64_t *lsn, reconnu_durable_fn cb, void *ctx)
{
	*lsn = 0;
	if (!e->wal)
		return 0;
	if (wal_failed(e->wal) ||
	    wal_append(e->wal, type, p, n, cb, ctx, lsn) != 0)
		return set_error(RECONNU_EIO, "%s", wal_failed_msg);
	e->last_lsn = *lsn;
	return 0;
}

/* Logs an op under the write lock (LSN order = apply order). */
static int log_op(reconnu *e, uint8_t type, const uint8_t *p, size_t n,
		  uint64_t *lsn)
{
	return log_op_cb(e, type, p, n, lsn, NULL, NULL);
}

/** Up to RECONNU_BATCH_MAX items of reconnu_upsert_batch_*: normalise and
 *  encode outside the lock, then one lock, one log append, n applies. cb
 *  (may be NULL) goes with the last logged record, and is called only
 *  when this logged one (*lsn set). */
static int upsert_chunk(reconnu *e, reconnu_batch_item *items, size_t n,
			uint64_t *lsn, reconnu_durable_fn cb, void *ctx)
{
	struct store_rec *recs[RECONNU_BATCH_MAX];
	struct wal_item wi[RECONNU_BATCH_MAX];
	uint8_t *ops[RECONNU_BATCH_MAX];
	size_t nw = 0;
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		reconnu_batch_item *it = &items[i];
		memset(&it->res, 0, sizeof(it->res));
		it->error[0] = 0;
		recs[i] = NULL;
		ops[i] = NULL;
		it->rc = it->rec ? store_rec_build(it->rec, 1, &recs[i],
						   it->error, sizeof(it->error))
				 : RECONNU_EINVAL;
		if (!it->rec)
			snprintf(it->error, sizeof(it->error),
				 "record: required");
		if (it->rc)
			atomic_fetch_add_explicit(&e->rejected, 1,
						  memory_order_relaxed);
		else if (e->wal) {
			size_t sz = op_upsert_size(it->rec);
			if ((ops[i] = malloc(sz))) {
				op_encode_upsert(it->rec, ops[i]);
				wi[nw++] = (struct wal_item){.type = OP_UPSERT,
							     .payload = ops[i],
							     .len = sz};
			} else {
				store_rec_delete(recs[i]);
				recs[i] = NULL;
				it->rc = RECONNU_ENOMEM;
			}
		}
		if (it->rc == RECONNU_ENOMEM)
			snprintf(it->error, sizeof(it->error), "out of memory");
	}
	if (nw) {
		wi[nw - 1].cb = cb;
		wi[nw - 1].cb_ctx = ctx;
	}
	pthread_rwlock_wrlock(&e->lock);
	uint64_t last = 0;
	if (e->wal && (wal_failed(e->wal) ||
		       (nw && wal_append_batch(e->wal, wi, nw, &last) != 0)))
		rc = set_error(RECONNU_EIO, "%s", wal_failed_msg);
	if (nw && !rc)
		e->last_lsn = last;
	for (size_t i = 0; i < n; i++) {
		reconnu_batch_item *it = &items[i];
		if (!recs[i])
			continue;
		if (rc) {
			store_rec_delete(recs[i]);
			it->rc = rc;
			snprintf(it->error, sizeof(it->error), "%s",
				 wal_failed_msg);
		} else if ((it->rc = upsert_apply(e, recs[i], &it->res))) {
			snprintf(it->error, sizeof(it->error), "out of memory");
		}
	}
	pthread_rwlock_unlock(&e->lock);
	for (size_t i = 0; i < n; i++)
		free(ops[i]);
	if (!rc && last && lsn)
		*lsn = last;
	return rc;
}

int reconnu_upsert_nowait(reconnu *e, const reconnu_record *in,
			  reconnu_upsert_result *res, uint64_t *lsn)
{
	return reconnu_upsert_notify(e, in, res, lsn, NULL, NULL);
}

int reconnu_upsert_notify(reconnu *e, const reconnu_record *in,
			  reconnu_upsert_result *res, uint64_t *lsn,
			  reconnu_durable_fn cb, void *ctx)
{
	*lsn = 0;
	if (res)
		memset(res, 0, sizeof(*res));
	if (!e || !in)
		return set_error(RECONNU_EINVAL, "record: required");
	char msg[256];
	struct store_rec *rec;
	int rc = store_rec_build(in, 1, &rec, msg, sizeof(msg));
	if (rc) {
		atomic_fetch_add_explicit(&e->rejected, 1, memory_order_relaxed);
		return set_error(rc, "%s",
				 rc == RECONNU_ENOMEM ? "out of memory" : msg);
	}
	uint8_t *op = NULL;
	size_t n_op = 0;
	if (e->wal) {
		n_op = op_upsert_size(in);
		if (!(op = malloc(n_op))) {
			store_rec_delete(rec);
			return set_error(RECONNU_ENOMEM, "out of memory");
		}
		op_encode_upsert(in, op);
	}
	pthread_rwlock_wrlock(&e->lock);
	rc = log_op_cb(e, OP_UPSERT, op, n_op, lsn, cb, ctx);
	if (rc)
		store_rec_delete(rec);
	else if ((rc = upsert_apply(e, rec, res)))
		set_error(rc, "out of memory");
	pthread_rwlock_unlock(&e->lock);
	free(op);
	return rc ? rc : ok();
}

int reconnu_upsert_batch_nowait(reconnu *e, reconnu_batch_item *items, size_t n,
				uint64_t *lsn)
{
	enum { CHUNK = RECONNU_BATCH_MAX };
	if (lsn)
		*lsn = 0;
	if (!e || (!items && n))
		return set_error(RECONNU_EINVAL, "items: required");
	/* Chunks bound the stack arrays and how long readers wait. */
	for (size_t at = 0; at < n; at += CHUNK) {
		size_t k = n - at < CHUNK ? n - at : CHUNK;
		int rc = upsert_chunk(e, items + at, k, lsn, NULL, NULL);
		if (rc) {
			for (size_t i = at + k; i < n; i++) {
				items[i].rc = rc;
				snprintf(items[i].error, sizeof(items[i].error),
					 "%s", wal_failed_msg);
			}
			return rc;
		}
	}
	return ok();
}

int reconnu_upsert_batch_notify(reconnu *e, reconnu_batch_item *items, size_t n,
				uint64_t *lsn, reconnu_durable_fn cb, void *ctx)
{
	*lsn = 0;
	if (!e || (!items && n))
		return set_error(RECONNU_EINVAL, "items: required");
	if (n > RECONNU_BATCH_MAX)
		return set_error(RECONNU_EINVAL, "items: more than %d",
				 RECONNU_BATCH_MAX);
	int rc = upsert_chunk(e, items, n, lsn, cb, ctx);
	return rc ? rc : ok();
}

int reconnu_wait_durable(reconnu *e, uint64_t lsn)
{
	if (!e->wal || !lsn)
		return ok();
	if (wal_wait(e->wal, lsn) != 0)
		return set_error(RECONNU_EIO,
				 "write-ahead log failed before this write "
				 "was durable: not acknowledged (fail-stop)");
	return ok();
}

int reconnu_failed(reconnu *e)
{
	return e->wal && wal_failed(e->wal) ? RECONNU_EIO : 0;
}

int reconnu_upsert(reconnu *e, const reconnu_record *in,
		   reconnu_upsert_result *res)
{
	uint64_t lsn;
	int rc = reconnu_upsert_nowait(e, in, res, &lsn);
	return rc ? rc : reconnu_wait_durable(e, lsn);
}

int reconnu_delete(reconnu *e, const char *source, const char *source_id,
		   reconnu_upsert_result *res)
{
	if (res)
		memset(res, 0, sizeof(*res));
	if (!source || !*source || !source_id || !*source_id)
		return set_error(RECONNU_EINVAL, "%s: required",
				 !source || !*source ? "source" : "source_id");
	uint8_t op[2 * RECONNU_MAX_KEY_LEN + 16];
	size_t n_op = op_encode_delete(source, source_id, op, sizeof(op));
	if (!n_op)
		return set_error(RECONNU_EINVAL,
				 "source/source_id: longer than %d bytes",
				 RECONNU_MAX_KEY_LEN);
	pthread_rwlock_wrlock(&e->lock);
	uint32_t id = store_lookup(e->store, source, source_id);
	if (id == STORE_NONE) {
		pthread_rwlock_unlock(&e->lock);
		return set_error(RECONNU_ENOTFOUND,
				 "record (%s, %s): not found", source,
				 source_id);
	}
	uint64_t lsn;
	int rc = log_op(e, OP_DELETE, op, n_op, &lsn);
	if (!rc)
		delete_apply(e, id, res);
	pthread_rwlock_unlock(&e->lock);
	return rc ? rc : reconnu_wait_durable(e, lsn);
}

/* ---- match weights -------------------------------------------------- */

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Re-resolves every record under the model in force, in id order (so
 * replay repeats it exactly); caller holds the write lock. */
static int relink_all(reconnu *e, uint64_t *n)
{
	*n = 0;
	uint32_t lim = store_id_limit(e->store);
	for (uint32_t id = 0; id < lim; id++) {
		const struct store_rec *r = store_get(e->store, id);
		if (!r)
			continue;
		graph_begin_op(e->graph);
		struct graph_change ch;
		struct link_result lr;
		graph_remove(e->graph, id, &ch);
		uint64_t keys[MAX_KEYS];
		size_t nk = rec_keys(r, keys);
		if (link_rec(e, r, keys, nk, &ch, &lr))
			return RECONNU_ENOMEM;
		(*n)++;
	}
	return 0;
}

/* Puts model m in force (and relinks); logs it first when not replaying.
 * Caller holds the write lock. */
static int model_apply(reconnu *e, const struct score_model *m, int relink,
		       int log, uint64_t *lsn, uint64_t *relinked)
{
	*lsn = 0;
	*relinked = 0;
	if (log) {
		uint8_t buf[1 + SCORE_MODEL_BYTES];
		buf[0] = relink ? 1 : 0;
		score_model_encode(m, buf + 1);
		int rc = log_op(e, OP_MODEL, buf, sizeof(buf), lsn);
		if (rc)
			return rc;
	}
	e->model = *m;
	e->model_version++;
	return relink ? relink_all(e, relinked) : 0;
}

/* Comparison levels of a pair, from the explanation. */
static void gamma_of(const reconnu *e, const struct store_rec *a,
		     const struct store_rec *b, struct em_gamma *g)
{
	struct score_explain ex;
	score_pair(&e->model, e->nicknames, a, b, &ex);
	memset(g, 0, sizeof(*g));
	for (int i = 0; i < ex.n; i++)
		g->level[ex.f[i].attr] = (uint8_t)ex.f[i].level;
}

int reconnu_estimate_weights(reconnu *e, const reconnu_estimate_opts *o,
			     reconnu_weights_report *out)
{
	reconnu_estimate_opts d = {0};
	if (!o)
		o = &d;
	reconnu_weights_report rep;
	memset(&rep, 0, sizeof(rep));
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	size_t want_s = o->sample_records ? o->sample_records : 20000;
	size_t want_r = o->random_pairs ? o->random_pairs : 200000;
	uint64_t seed = o->seed ? o->seed : 0x5eedULL;

	/* comparison vectors, under the read lock */
	pthread_rwlock_rdlock(&e->lock);
	uint32_t lim = store_id_limit(e->store);
	uint64_t n_rec = store_count(e->store);
	size_t cap_b = want_s * 32 + 1;
	struct em_gamma *bg = malloc(cap_b * sizeof(*bg));
	struct em_gamma *rg = malloc((want_r + 1) * sizeof(*rg));
	size_t nb = 0, nr = 0, sampled = 0;
	if (!bg || !rg) {
		pthread_rwlock_unlock(&e->lock);
		free(bg);
		free(rg);
		return set_error(RECONNU_ENOMEM, "out of memory");
	}
	uint32_t step = n_rec > want_s ? (uint32_t)(lim / want_s) : 1;
	if (!step)
		step = 1;
	for (uint32_t id = 0; id < lim && sampled < want_s; id += step) {
		const struct store_rec *r = store_get(e->store, id);
		if (!r)
			continue;
		sampled++;
		uint64_t keys[MAX_KEYS];
		size_t nk = rec_keys(r, keys);
		uint32_t cand[32];
		size_t nc = candidates(e, r, keys, nk, cand, 32);
		for (size_t i = 0; i < nc && nb < cap_b; i++)
			gamma_of(e, r, store_get(e->store, cand[i]), &bg[nb++]);
	}
	for (size_t tries = 0; lim > 1 && nr < want_r && tries < want_r * 4;
	     tries++) {
		uint32_t i = (uint32_t)(splitmix64(&seed) % lim);
		uint32_t j = (uint32_t)(splitmix64(&seed) % lim);
		const struct store_rec *a = store_get(e->store, i),
				       *b = store_get(e->store, j);
		if (i == j || !a || !b)
			continue;
		gamma_of(e, a, b, &rg[nr++]);
	}
	struct score_model m = e->model;
	pthread_rwlock_unlock(&e->lock);

	struct em_input in = {
		.blocked = bg,
		.n_blocked = nb,
		.random = rg,
		.n_random = nr,
		.blocked_scale = sampled ? (double)n_rec / (2.0 * sampled) : 0,
		.n_records = (double)n_rec,
	};
	struct em_report er;
	int rc = em_estimate(&in, &m, &er);
	free(bg);
	free(rg);
	if (rc == -2)
		return set_error(RECONNU_ENOMEM, "out of memory");
	if (rc)
		return set_error(RECONNU_ESTATE,
				 "too few records to estimate weights (%llu "
				 "records gave %zu blocked and %zu random "
				 "pairs; %d of each are needed)",
				 (unsigned long long)n_rec, nb, nr,
				 EM_MIN_PAIRS);
	rep.prior_weight = m.prior;
	rep.match_share = er.match_share;
	rep.expected_matches = er.expected_matches;
	rep.blocked_pairs = nb;
	rep.random_pairs = nr;
	rep.iterations = er.iterations;
	rep.converged = er.converged;
	for (int a = 0; a < SCORE_NATTR; a++) {
		if (!(er.fallback & (1u << a)))
			continue;
		size_t l = strlen(rep.kept_default);
		snprintf(rep.kept_default + l, sizeof(rep.kept_default) - l,
			 "%s%s", l ? "," : "", score_attr_name((enum score_attr)a));
	}

	struct graph_stats gs;
	pthread_rwlock_wrlock(&e->lock);
	graph_get_stats(e->graph, &gs);
	rep.entities_before = gs.entities;
	if (!o->dry_run)
		rc = model_apply(e, &m, o->relink, 1, &rep.lsn, &rep.relinked);
	graph_get_stats(e->graph, &gs);
	rep.entities_after = gs.entities;
	rep.model_version = e->model_version;
	pthread_rwlock_unlock(&e->lock);
	if (!rc && rep.lsn)
		rc = reconnu_wait_durable(e, rep.lsn);
	rep.seconds = seconds_since(&t0);
	if (out)
		*out = rep;
	return rc ? rc : ok();
}

int reconnu_get_weights(reconnu *e, reconnu_weight *out, size_t cap,
			size_t *n, double *prior, uint64_t *version)
{
	pthread_rwlock_rdlock(&e->lock);
	size_t k = 0;
	for (int a = 0; a < SCORE_NATTR; a++)
		for (int l = 1; l < SCORE_NLEVEL; l++) {
			if (!score_level_used((enum score_attr)a,
					      (enum score_level)l))
				continue;
			if (out && k < cap)
				out[k] = (reconnu_weight){
					score_attr_name((enum score_attr)a),
					score_level_name((enum score_level)l),
					e->model.weight[a][l]};
			k++;
		}
	if (n)
		*n = k;
	if (prior)
		*prior = e->model.prior;
	if (version)
		*version = e->model_version;
	pthread_rwlock_unlock(&e->lock);
	return ok();
}

static int find_weight(const reconnu_weight *w, int *attr, int *level)
{
	for (int a = 0; a < SCORE_NATTR; a++)
		for (int l = 1; l < SCORE_NLEVEL; l++) {
			if (w->attribute && w->level &&
			    !strcmp(w->attribute,
				    score_attr_name((enum score_attr)a)) &&
			    !strcmp(w->level,
				    score_level_name((enum score_level)l)) &&
			    score_level_used((enum score_attr)a,
					     (enum score_level)l)) {
				*attr = a;
				*level = l;
				return 0;
			}
		}
	return -1;
}

int reconnu_set_weights(reconnu *e, const reconnu_weight *w, size_t n,
			const double *prior, int reset, uint64_t *version)
{
	if (prior && (!isfinite(*prior) || fabs(*prior) > 64))
		return set_error(RECONNU_EINVAL,
				 "prior_weight: must be a finite number "
				 "within ±64");
	for (size_t i = 0; i < n; i++) {
		int a, l;
		if (find_weight(&w[i], &a, &l))
			return set_error(RECONNU_EINVAL,
					 "weights[%zu]: unknown attribute and "
					 "level \"%s\" / \"%s\"",
					 i, w[i].attribute ? w[i].attribute : "",
					 w[i].level ? w[i].level : "");
		if (!isfinite(w[i].weight) || fabs(w[i].weight) > 64)
			return set_error(RECONNU_EINVAL,
					 "weights[%zu].weight: must be a "
					 "finite number within ±64",
					 i);
	}
	pthread_rwlock_wrlock(&e->lock);
	struct score_model m = e->model;
	if (reset)
		score_model_default(&m);
	for (size_t i = 0; i < n; i++) {
		int a, l;
		find_weight(&w[i], &a, &l);
		m.weight[a][l] = w[i].weight;
	}
	if (prior)
		m.prior = *prior;
	uint64_t lsn, relinked;
	int rc = model_apply(e, &m, 0, 1, &lsn, &relinked);
	if (version)
		*version = e->model_version;
	pthread_rwlock_unlock(&e->lock);
	if (!rc && lsn)
		rc = reconnu_wait_durable(e, lsn);
	return rc ? rc : ok();
}

/* ---- storage: open, replay -------------------------------------------- */

static int replay_op(void *ctx, uint64_t lsn, uint8_t type, const void *p,
		     size_t n)
{
	reconnu *e = ctx;
	struct arena a;
	arena_create(&a);
	int rc = 0;
	if (type == OP_UPSERT) {
		reconnu_record in;
		struct store_rec *rec;
		char msg[256];
		rc = op_decode_upsert(p, n, &a, &in);
		if (!rc && store_rec_build(&in, 1, &rec, msg, sizeof(msg)) == 0) {
			pthread_rwlock_wrlock(&e->lock);
			rc = upsert_apply(e, rec, NULL);
			pthread_rwlock_unlock(&e->lock);
		}
	} else if (type == OP_MODEL) {
		struct score_model m;
		uint64_t l, nrel;
		const uint8_t *b = p;
		if (n < 1 || score_model_decode(b + 1, n - 1, &m)) {
			rc = -1;
		} else {
			pthread_rwlock_wrlock(&e->lock);
			rc = model_apply(e, &m, b[0] & 1, 0, &l, &nrel) ? -1 : 0;
			pthread_rwlock_unlock(&e->lock);
		}
	} else if (type == OP_DELETE) {
		const char *src, *sid;
		rc = op_decode_delete(p, n, &a, &src, &sid);
		if (!rc) {
			pthread_rwlock_wrlock(&e->lock);
			uint32_t id = store_lookup(e->store, src, sid);
			if (id != STORE_NONE)
				delete_apply(e, id, NULL);
			pthread_rwlock_unlock(&e->lock);
		}
	}
	arena_destroy(&a);
	if (rc)
		set_error(RECONNU_EIO, "log frame %llu (type %u): undecodable",
			  (unsigned long long)lsn, type);
	return rc ? -1 : 0;
}

/* ---- snapshots ---------------------------------------------------------- */

/*
 * Snapshot items by format version (snapshot.h); a loader skips kinds it
 * does not know.
 *  2 (written)  SNAP_META, SNAP_MODEL, then SNAP_ENTITY and
 *               SNAP_IMAGE_RECORD items (image.h) in any order. Records
 *               come back as stored, normalised forms included: nothing
 *               is normalised again, and the blocking index and the term
 *               frequencies are rebuilt from the records.
 *  1 (read)     SNAP_META (the first 28 bytes of version 2's), SNAP_MODEL,
 *               SNAP_RECORD (raw input, normalised again on load),
 *               SNAP_EDGES, SNAP_ENTITY.
 * Kinds in use: 1 to 6; the next free kind is 7.
 */
enum {
	SNAP_META = 1,
	SNAP_RECORD = 2, /**< version 1 only */
	SNAP_ENTITY = IMAGE_ENTITY,
	SNAP_EDGES = 4, /**< version 1 only */
	SNAP_MODEL = 5, /**< u64 model version + score_model_encode bytes */
	SNAP_IMAGE_RECORD = IMAGE_RECORD,
};
_Static_assert(IMAGE_ENTITY == 3 && IMAGE_RECORD == 6, "snapshot kinds");

/* SNAP_META, version 2: u64 next entity id | u64 graph op | u64 next seq |
 * u32 record id limit | u64 merges | u64 splits | u64 records |
 * u64 entities | u64 aliases | u64 blocking keys (a sizing hint). */
enum { META_V1 = 28, META_V2 = 76 };

struct snap_meta {
	uint64_t next_entity, graph_op, next_seq;
	uint32_t id_limit;
	uint64_t merges, splits, records, entities, aliases, index_keys;
};

/* Little-endian field packing for snapshot items. */
struct pk {
	uint8_t *p;
};

static void pk64(struct pk *k, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		*k->p++ = (uint8_t)(v >> (8 * i));
}

static void pk32(struct pk *k, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		*k->p++ = (uint8_t)(v >> (8 * i));
}

static uint64_t up64(const uint8_t **p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)(*p)[i] << (8 * i);
	*p += 8;
	return v;
}

static uint32_t up32(const uint8_t **p)
{
	uint32_t v = (uint32_t)(*p)[0] | (uint32_t)(*p)[1] << 8 |
		     (uint32_t)(*p)[2] << 16 | (uint32_t)(*p)[3] << 24;
	*p += 4;
	return v;
}

/* Writing. What is not in the read view (counters, the model) is copied
 * when the view opens, under the write lock. */
struct snap_ctx {
	reconnu *e;
	struct snap_writer *w;
	struct image_view *view;
	struct image_items items;
	struct snap_meta meta;
	struct score_model model;
	uint64_t model_version;
	double held, held_max; /**< writers held: in all, longest stretch */
};

/* Caller holds the write lock. */
static void snap_capture(struct snap_ctx *c)
{
	reconnu *e = c->e;
	struct graph_stats gs;
	struct block_stats bs;
	graph_counters(e->graph, &c->meta.next_entity, &c->meta.graph_op);
	graph_get_stats(e->graph, &gs);
	block_index_stats(e->index, &bs);
	c->meta.next_seq = store_next_seq(e->store);
	c->meta.id_limit = store_id_limit(e->store);
	c->meta.merges = gs.merges;
	c->meta.splits = gs.splits;
	c->meta.records = store_count(e->store);
	c->meta.entities = gs.entities;
	c->meta.aliases = gs.aliases;
	c->meta.index_keys = bs.keys;
	c->model = e->model;
	c->model_version = e->model_version;
}

static int snap_put_head(struct snap_ctx *c)
{
	uint8_t buf[META_V2 > 8 + SCORE_MODEL_BYTES ? META_V2
						    : 8 + SCORE_MODEL_BYTES];
	struct pk k = {buf};
	pk64(&k, c->meta.next_entity);
	pk64(&k, c->meta.graph_op);
	pk64(&k, c->meta.next_seq);
	pk32(&k, c->meta.id_limit);
	pk64(&k, c->meta.merges);
	pk64(&k, c->meta.splits);
	pk64(&k, c->meta.records);
	pk64(&k, c->meta.entities);
	pk64(&k, c->meta.aliases);
	pk64(&k, c->meta.index_keys);
	int rc = snap_put(c->w, SNAP_META, buf, META_V2);
	if (rc)
		return rc;
	k.p = buf;
	pk64(&k, c->model_version);
	score_model_encode(&c->model, k.p);
	return snap_put(c->w, SNAP_MODEL, buf, 8 + SCORE_MODEL_BYTES);
}

static int snap_put_item(void *ctx, uint8_t kind, const void *p, uint32_t n)
{
	return snap_put(ctx, kind, p, n);
}

static void snap_held(struct snap_ctx *c, const struct timespec *since)
{
	double s = seconds_since(since);
	c->held += s;
	if (s > c->held_max)
		c->held_max = s;
}

/*
 * Writers are held three times, briefly: while the read view opens, while
 * each slice of records is copied into memory (under the read lock: reads
 * go on), and while the view closes. Files are written with no lock held.
 */
static int snap_write(struct snap_ctx *c, const char *dir, uint64_t *lsn)
{
	reconnu *e = c->e;
	struct timespec h;
	pthread_rwlock_wrlock(&e->lock);
	clock_gettime(CLOCK_MONOTONIC, &h);
	*lsn = e->last_lsn;
	snap_capture(c);
	c->view = image_view_open(e->store, e->graph);
	snap_held(c, &h);
	pthread_rwlock_unlock(&e->lock);
	if (!c->view)
		return -ENOMEM;
	/* the snapshot must not hold a write the log could still lose */
	int rc = *lsn && wal_wait(e->wal, *lsn) ? -EIO : 0;
	/* room for a slice and more, allocated before any lock is taken */
	if (!rc)
		rc = image_items_reserve(&c->items, 4u << 20);
	if (!rc)
		rc = snap_writer_open(dir, *lsn, &c->w);
	if (!rc)
		rc = snap_put_head(c);
	uint32_t lim = image_view_limit(c->view), step = snap_slice_records();
	for (uint32_t from = 0, to; !rc && from < lim; from = to) {
		to = lim - from > step ? from + step : lim;
		pthread_rwlock_rdlock(&e->lock);
		clock_gettime(CLOCK_MONOTONIC, &h);
		rc = image_view_scan(c->view, from, to, &c->items);
		snap_held(c, &h);
		pthread_rwlock_unlock(&e->lock);
		if (!rc)
			rc = image_items_flush(&c->items, snap_put_item, c->w);
		snap_between_slices();
	}
	pthread_rwlock_wrlock(&e->lock);
	clock_gettime(CLOCK_MONOTONIC, &h);
	int crc = image_view_close(c->view, &c->items);
	snap_held(c, &h);
	pthread_rwlock_unlock(&e->lock);
	if (!rc)
		rc = crc;
	if (!rc)
		rc = image_items_flush(&c->items, snap_put_item, c->w);
	return rc;
}

int reconnu_snapshot(reconnu *e, reconnu_snapshot_info *info)
{
	reconnu_snapshot_info local;
	if (!info)
		info = &local;
	memset(info, 0, sizeof(*info));
	if (!e->wal)
		return set_error(RECONNU_ESTATE,
				 "snapshot: the engine has no storage");
	struct timespec t0;
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/snapshots", e->dir);
	pthread_mutex_lock(&e->snap_lock);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct snap_ctx c = {.e = e};
	uint64_t lsn = 0;
	int rc = snap_write(&c, dir, &lsn);
	image_view_free(c.view);
	if (c.w)
		rc =
		    rc ? (snap_writer_abort(c.w), rc) : snap_writer_commit(c.w);
	info->records = c.items.records;
	info->entities = c.items.entities;
	image_items_free(&c.items);
	info->seconds = seconds_since(&t0);
	if (!rc) {
		uint64_t oldest = snap_prune(dir, 2);
		int removed =
		    oldest ? wal_remove_before(e->wal, oldest + 1) : 0;
		info->wal_segments_removed =
		    removed > 0 ? (uint64_t)removed : 0;
		char path[4200];
		struct stat st;
		snprintf(path, sizeof(path), "%s/snap-%020llu.snap", dir,
			 (unsigned long long)lsn);
		info->bytes = stat(path, &st) ? 0 : (uint64_t)st.st_size;
	}
	pthread_mutex_unlock(&e->snap_lock);
	info->lsn = lsn;
	info->write_pause = c.held_max;
	if (rc)
		return set_error(RECONNU_EIO, "snapshot: %s", strerror(-rc));
	return ok();
}

/*
 * Loading a version 2 snapshot takes two threads. This one walks the
 * items: entities and edge lists go back into the graph at once, records
 * are gathered in batches (pointers into the mapped file) and handed to
 * an indexer thread, which builds each record (store_rec_from_image),
 * stores it and puts it into the blocking index and the term frequencies
 * (the store, the index and the frequencies are the indexer's alone until
 * it has finished). Building records and hashing their keys can be done
 * by either thread: when the indexer is behind (snap_load_ahead), this
 * thread does it for the next batch before handing it over, so that the
 * two cores share the work whatever its mix (a pipeline with a fixed
 * split left one core a third idle); past IDX_QUEUE batches it waits.
 * Records are immutable, and a batch changes hands under a mutex.
 */
enum {
	IDX_BATCH = 256,
	IDX_KEYS = IDX_BATCH * MAX_KEYS,
	IDX_PREFETCH = 8, /**< records ahead: key map slot */
	IDX_SLOTS = 4,	  /**< records ahead: index slots */
	IDX_LISTS = 2,	  /**< records ahead: index list ends */
	IDX_QUEUE = 16,	  /**< batches handed over at most, not indexed yet */
};

/* Records of the snapshot and, once built, the records with their
 * blocking keys and key map hashes (hashing is a fair share of the work:
 * done by whichever thread builds). */
struct idx_batch {
	struct idx_batch *next;
	uint32_t n;
	int built; /**< r[], first[], hash[] and keys[] are filled */
	int err;   /**< building failed: r[] holds nothing to store */
	struct image_rec in[IDX_BATCH]; /**< borrowed from the mapped file */
	struct store_rec *r[IDX_BATCH]; /**< owned until stored */
	uint32_t first[IDX_BATCH + 1];	/**< keys of r[i]: first[i]..[i+1] */
	uint64_t hash[IDX_BATCH];	/**< store_key_hash of r[i] */
	uint64_t keys[IDX_KEYS];
};

/* Builds the records of b and their keys (either thread). */
static void idx_build(struct idx_batch *b)
{
	uint32_t nk = 0;
	b->first[0] = 0;
	for (uint32_t i = 0; i < b->n; i++) {
		int rc = image_build_record(&b->in[i], &b->r[i]);
		if (rc) {
			while (i--)
				store_rec_delete(b->r[i]);
			b->err = rc;
			break;
		}
		b->hash[i] = store_key_hash(b->r[i]);
		nk += (uint32_t)rec_keys(b->r[i], b->keys + nk);
		b->first[i + 1] = nk;
	}
	b->built = 1;
}

/* Index prefetches of record i's keys (idx_run): the slots, then, once
 * they are in the cache, the ends of the spilled lists. */
static void idx_prefetch_slots(reconnu *e, const struct idx_batch *b,
			       uint32_t i)
{
	if (i < b->n)
		for (uint32_t k = b->first[i]; k < b->first[i + 1]; k++)
			block_index_prefetch(e->index, b->keys[k]);
}

static void idx_prefetch_lists(reconnu *e, const struct idx_batch *b,
			       uint32_t i)
{
	if (i < b->n)
		for (uint32_t k = b->first[i]; k < b->first[i + 1]; k++)
			block_index_prefetch_list(e->index, b->keys[k]);
}

/* Stores and indexes a batch (the indexer's); while record i is added,
 * the key map slot of record i + IDX_PREFETCH, the index slots of record
 * i + IDX_SLOTS and the list ends of record i + IDX_LISTS are fetched, so
 * that the cache misses of the huge tables overlap (most of the index's
 * misses were on the lists that spilled to the heap: a birth date's, a
 * family name's in a postcode). @retval 0, -EBADMSG or -ENOMEM. */
static int idx_run(reconnu *e, struct idx_batch *b)
{
	if (!b->built)
		idx_build(b);
	if (b->err)
		return b->err;
	for (uint32_t i = 0; i < b->n && i < IDX_PREFETCH; i++)
		store_restore_prefetch(e->store, b->hash[i]);
	for (uint32_t i = 0; i < IDX_SLOTS; i++)
		idx_prefetch_slots(e, b, i);
	for (uint32_t i = 0; i < IDX_LISTS; i++)
		idx_prefetch_lists(e, b, i);
	for (uint32_t i = 0; i < b->n; i++) {
		if (i + IDX_PREFETCH < b->n)
			store_restore_prefetch(e->store,
					       b->hash[i + IDX_PREFETCH]);
		int rc = image_store_record(e->store, &b->in[i], b->r[i],
					    b->hash[i]);
		if (rc) { /* this record and the rest were never stored */
			for (uint32_t j = i; j < b->n; j++)
				store_rec_delete(b->r[j]);
			return rc;
		}
		idx_prefetch_slots(e, b, i + IDX_SLOTS);
		idx_prefetch_lists(e, b, i + IDX_LISTS);
		/* as index_keys, with the bulk add: ids come mostly in
		 * ascending order */
		(void)score_tf_update(e->tf, b->r[i], 1);
		(void)block_index_add_bulk(e->index, b->keys + b->first[i],
					   b->first[i + 1] - b->first[i],
					   b->r[i]->id);
	}
	return 0;
}

struct indexer {
	reconnu *e;
	pthread_t thread;
	int running; /**< the thread exists (else everything runs here) */
	pthread_mutex_t mu;
	pthread_cond_t cv;   /**< to the indexer: work, or done */
	pthread_cond_t room; /**< to the loader: the queue is shorter */
	struct idx_batch *head, *tail; /**< handed over, not indexed yet */
	uint32_t queued;	       /**< batches in head..tail */
	struct idx_batch *spare;       /**< indexed, for reuse */
	struct idx_batch *fill;	       /**< being filled by the loader */
	uint64_t reserve;	       /**< keys to make room for first */
	int done;		       /**< no more batches */
	int failed; /**< first error: -ENOMEM or -EBADMSG (a record was not
		       stored or not indexed) */
};

static void *indexer_main(void *arg)
{
	struct indexer *x = arg;
	pthread_mutex_lock(&x->mu);
	for (;;) {
		while (!x->head && !x->done && !x->reserve)
			pthread_cond_wait(&x->cv, &x->mu);
		if (x->reserve) { /* zeroing the table is this thread's */
			uint64_t keys = x->reserve;
			x->reserve = 0;
			pthread_mutex_unlock(&x->mu);
			(void)block_index_reserve(x->e->index, keys);
			pthread_mutex_lock(&x->mu);
			continue;
		}
		struct idx_batch *b = x->head;
		if (!b)
			break;
		x->head = b->next;
		if (!x->head)
			x->tail = NULL;
		x->queued--;
		pthread_cond_signal(&x->room);
		int failed = x->failed, rc = 0;
		pthread_mutex_unlock(&x->mu);
		if (!failed)
			rc = idx_run(x->e, b);
		else if (b->built && !b->err) /* built here, never stored */
			for (uint32_t i = 0; i < b->n; i++)
				store_rec_delete(b->r[i]);
		pthread_mutex_lock(&x->mu);
		if (rc && !x->failed)
			x->failed = rc;
		b->next = x->spare;
		x->spare = b;
	}
	pthread_mutex_unlock(&x->mu);
	return NULL;
}

static void indexer_start(struct indexer *x, reconnu *e)
{
	memset(x, 0, sizeof(*x));
	x->e = e;
	pthread_mutex_init(&x->mu, NULL);
	pthread_cond_init(&x->cv, NULL);
	pthread_cond_init(&x->room, NULL);
	x->running = pthread_create(&x->thread, NULL, indexer_main, x) == 0;
}

/* Room in the index for keys keys, made by the indexer thread (a large
 * table: its pages are zeroed there, not here). Failing only slows. */
static void indexer_reserve(struct indexer *x, uint64_t keys)
{
	if (!x->running) {
		(void)block_index_reserve(x->e->index, keys);
		return;
	}
	pthread_mutex_lock(&x->mu);
	x->reserve = keys;
	pthread_cond_signal(&x->cv);
	pthread_mutex_unlock(&x->mu);
}

/* Hands the batch being filled to the indexer; builds it here first when
 * the indexer is behind. */
static void indexer_hand_over(struct indexer *x)
{
	struct idx_batch *b = x->fill;
	x->fill = NULL;
	if (!b)
		return;
	if (!x->running) {
		int rc = idx_run(x->e, b);
		if (rc && !x->failed)
			x->failed = rc;
		b->next = x->spare;
		x->spare = b;
		return;
	}
	pthread_mutex_lock(&x->mu);
	uint32_t behind = x->queued;
	pthread_mutex_unlock(&x->mu);
	if (behind >= snap_load_ahead())
		idx_build(b);
	pthread_mutex_lock(&x->mu);
	while (x->queued >= IDX_QUEUE && !x->failed) /* bounded memory */
		pthread_cond_wait(&x->room, &x->mu);
	if (x->tail)
		x->tail->next = b;
	else
		x->head = b;
	x->tail = b;
	x->queued++;
	pthread_cond_signal(&x->cv);
	pthread_mutex_unlock(&x->mu);
}

/* Queues a record of the snapshot (its image stays borrowed until
 * indexer_finish). */
static void indexer_add(struct indexer *x, const struct image_rec *ir)
{
	if (!x->fill) {
		pthread_mutex_lock(&x->mu);
		x->fill = x->spare;
		if (x->fill)
			x->spare = x->fill->next;
		pthread_mutex_unlock(&x->mu);
		if (!x->fill && !(x->fill = malloc(sizeof(*x->fill)))) {
			pthread_mutex_lock(&x->mu);
			if (!x->failed)
				x->failed = -ENOMEM;
			pthread_mutex_unlock(&x->mu);
			return;
		}
		x->fill->next = NULL;
		x->fill->n = 0;
		x->fill->built = x->fill->err = 0;
	}
	struct idx_batch *b = x->fill;
	b->in[b->n++] = *ir;
	if (b->n == IDX_BATCH)
		indexer_hand_over(x);
}

/* Waits for every record handed over to be stored and indexed.
 * @retval 0, -ENOMEM or -EBADMSG (a record was not stored or indexed). */
static int indexer_finish(struct indexer *x)
{
	indexer_hand_over(x);
	if (x->running) {
		pthread_mutex_lock(&x->mu);
		x->done = 1;
		pthread_cond_signal(&x->cv);
		pthread_mutex_unlock(&x->mu);
		pthread_join(x->thread, NULL);
		x->running = 0;
	}
	while (x->spare) {
		struct idx_batch *b = x->spare;
		x->spare = b->next;
		free(b);
	}
	pthread_cond_destroy(&x->cv);
	pthread_cond_destroy(&x->room);
	pthread_mutex_destroy(&x->mu);
	return x->failed;
}

/* Loading: items are trusted for framing (the file's checksum was
 * verified before the first one) but still bounds-checked. */
struct snap_load {
	reconnu *e;
	uint32_t version;
	struct image_loader l;
	struct indexer idx;
	struct snap_meta meta;
	int have_meta;
	int applied;	  /**< the engine changed: no going back */
	int finished;	  /**< the indexer has finished */
	uint64_t records; /**< records loaded */
};

static int snap_load_model(reconnu *e, const uint8_t *p, uint32_t n)
{
	if (n != 8 + SCORE_MODEL_BYTES)
		return -EBADMSG;
	uint64_t v = up64(&p);
	if (score_model_decode(p, SCORE_MODEL_BYTES, &e->model))
		return -EBADMSG;
	e->model_version = v;
	return 0;
}

/* Version 1 items: raw records, normalised and indexed one by one. */
static int snap_load_v1(struct snap_load *c, uint8_t kind, const uint8_t *p,
			uint32_t n)
{
	reconnu *e = c->e;
	const uint8_t *end = p + n;
	if (kind == SNAP_META) {
		if (n < META_V1)
			return -EBADMSG;
		uint64_t next_id = up64(&p), op = up64(&p), seq = up64(&p);
		graph_set_counters(e->graph, next_id, op);
		store_set_next_seq(e->store, seq);
		return 0;
	}
	if (kind == SNAP_MODEL)
		return snap_load_model(e, p, n);
	if (kind == SNAP_RECORD) {
		if (n < 20)
			return -EBADMSG;
		uint32_t id = up32(&p);
		uint64_t created = up64(&p), seq = up64(&p);
		struct arena a;
		arena_create(&a);
		reconnu_record in;
		struct store_rec *r = NULL;
		char msg[256];
		int rc = op_decode_upsert(p, (size_t)(end - p), &a, &in);
		if (!rc)
			rc = store_rec_build(&in, 1, &r, msg, sizeof(msg));
		arena_destroy(&a);
		if (rc)
			return -EBADMSG;
		if (store_restore(e->store, r, id, created, seq)) {
			store_rec_delete(r);
			return -EBADMSG;
		}
		index_rec(e, r, 1);
		c->records++;
		return 0;
	}
	if (kind == SNAP_EDGES) {
		if (n < 4 || (n - 4) % 9)
			return -EBADMSG;
		uint32_t a = up32(&p);
		while (p < end) {
			uint32_t b = up32(&p), wb = up32(&p);
			uint8_t kd = *p++;
			float w;
			memcpy(&w, &wb, 4);
			if (graph_restore_edge(e->graph, a, b, w, kd))
				return -ENOMEM;
		}
		return 0;
	}
	if (kind == SNAP_ENTITY)
		return image_load_entity(&c->l, p, n);
	return 0;
}

static int snap_load_meta(struct snap_load *c, const uint8_t *p, uint32_t n)
{
	reconnu *e = c->e;
	struct snap_meta *m = &c->meta;
	if (n < META_V2 || c->have_meta)
		return -EBADMSG;
	m->next_entity = up64(&p);
	m->graph_op = up64(&p);
	m->next_seq = up64(&p);
	m->id_limit = up32(&p);
	m->merges = up64(&p);
	m->splits = up64(&p);
	m->records = up64(&p);
	m->entities = up64(&p);
	m->aliases = up64(&p);
	m->index_keys = up64(&p);
	if (m->records > m->id_limit || m->entities > m->records)
		return -EBADMSG;
	c->have_meta = 1;
	graph_set_counters(e->graph, m->next_entity, m->graph_op);
	graph_set_history(e->graph, m->merges, m->splits);
	store_set_next_seq(e->store, m->next_seq);
	/* room for everything up front; failing here only makes it slower */
	(void)store_restore_reserve(e->store, m->id_limit, m->records);
	(void)graph_restore_reserve(e->graph, m->id_limit, m->entities,
				    m->aliases);
	indexer_reserve(&c->idx, m->index_keys);
	return 0;
}

static int snap_load_item(void *ctx, uint8_t kind, const void *pv, uint32_t n)
{
	struct snap_load *c = ctx;
	const uint8_t *p = pv;
	c->applied = 1;
	if (c->version == 1)
		return snap_load_v1(c, kind, p, n);
	switch (kind) {
	case SNAP_META:
		return snap_load_meta(c, p, n);
	case SNAP_MODEL:
		return snap_load_model(c->e, p, n);
	case SNAP_ENTITY:
		return c->have_meta ? image_load_entity(&c->l, p, n) : -EBADMSG;
	case SNAP_IMAGE_RECORD: {
		struct image_rec ir;
		int rc = c->have_meta ? image_load_edges(&c->l, p, n, &ir)
				      : -EBADMSG;
		if (!rc) {
			indexer_add(&c->idx, &ir);
			c->records++;
		}
		return rc;
	}
	}
	return 0; /* unknown kinds are skipped: room for later items */
}

/* The look-ahead of snap_read_ahead: an entity's slot in the graph's
 * entity map is fetched a few items before the entity is restored. */
static int snap_load_lookahead(void *ctx, uint8_t kind, const void *pv,
			       uint32_t n)
{
	struct snap_load *c = ctx;
	const uint8_t *p = pv;
	if (c->version >= 2 && kind == SNAP_ENTITY && n >= 8)
		graph_restore_prefetch(c->e->graph, up64(&p));
	return 0;
}

/* After the last item, while the items are still mapped: the indexer
 * finishes the records handed to it, and meanwhile this thread checks the
 * graph it has restored (image_load_check_edges), which used to wait for
 * the indexer with the other core idle. */
static int snap_load_finish(void *ctx)
{
	struct snap_load *c = ctx;
	indexer_hand_over(&c->idx);
	int rc = c->version >= 2 && c->have_meta
		     ? image_load_check_edges(&c->l, c->meta.id_limit)
		     : 0;
	c->finished = 1;
	int irc = indexer_finish(&c->idx);
	return irc ? irc : rc;
}

/* After the last item of a version 2 snapshot: check that it holds
 * together. */
static int snap_load_end(struct snap_load *c)
{
	const struct snap_meta *m = &c->meta;
	if (!c->have_meta || c->l.records != m->records ||
	    c->l.entities != m->entities || image_load_end(&c->l, m->id_limit))
		return -EBADMSG;
	return store_restore_end(c->e->store, m->id_limit) ? -ENOMEM : 0;
}

/* Loads the newest snapshot that is whole; a damaged one is skipped for
 * the older. @retval 0 with *lsn (0: none), or an error already set. */
static int snap_load_newest(reconnu *e, const char *sdir, uint64_t *lsn,
			    reconnu_recovery *info)
{
	uint64_t lsns[8];
	size_t ns = snap_list(sdir, lsns, 8);
	*lsn = 0;
	for (size_t i = 0; i < ns; i++) {
		struct timespec s0;
		clock_gettime(CLOCK_MONOTONIC, &s0);
		struct snap_load c = {.e = e,
				      .l = {.st = e->store, .g = e->graph}};
		indexer_start(&c.idx, e);
		int rc =
		    snap_read_ahead(sdir, lsns[i], &c.version, snap_load_item,
				    snap_load_lookahead, snap_load_finish, &c);
		if (!c.finished) /* nothing was handed out */
			indexer_finish(&c.idx);
		if (!rc && c.version >= 2)
			rc = snap_load_end(&c);
		free(c.l.edges);
		if (rc == -ENOTSUP)
			return set_error(RECONNU_EIO,
					 "snapshot %llu: format version %u, "
					 "this build reads versions %d to %d "
					 "(start the build that wrote it)",
					 (unsigned long long)lsns[i], c.version,
					 SNAP_VERSION_OLDEST, SNAP_VERSION);
		if (!rc) {
			*lsn = lsns[i];
			if (info) {
				info->snapshot_lsn = lsns[i];
				info->snapshot_records = c.records;
				info->snapshot_seconds = seconds_since(&s0);
			}
			return 0;
		}
		/* failed half-way through a verified file: the engine is
		 * half-loaded, refuse rather than guess */
		if (c.applied)
			return set_error(RECONNU_EIO,
					 "snapshot %llu (format %u): %s",
					 (unsigned long long)lsns[i], c.version,
					 rc == -ENOMEM ? "out of memory"
						       : "unreadable data");
	}
	return 0;
}

int reconnu_open_storage(const reconnu_config *cfg, const reconnu_storage *st,
			 reconnu **out, reconnu_recovery *info)
{
	*out = NULL;
	if (info)
		memset(info, 0, sizeof(*info));
	if (!st || !st->dir || !*st->dir)
		return set_error(RECONNU_EINVAL, "storage.dir: required");
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (mkdir(st->dir, 0750) && errno != EEXIST)
		return set_error(RECONNU_EIO, "storage.dir \"%s\": %s", st->dir,
				 strerror(errno));
	reconnu *e;
	int rc = reconnu_open(cfg, &e);
	if (rc)
		return rc;
	if (!(e->dir = strdup(st->dir))) {
		reconnu_close(e);
		return set_error(RECONNU_ENOMEM, "out of memory");
	}
	/* newest valid snapshot; a damaged one is skipped for the older */
	char sdir[4096];
	snprintf(sdir, sizeof(sdir), "%s/snapshots", st->dir);
	uint64_t snap_lsn = 0;
	if (snap_load_newest(e, sdir, &snap_lsn, info)) {
		reconnu_close(e);
		return RECONNU_EIO;
	}
	e->last_lsn = snap_lsn;
	char wdir[4096];
	snprintf(wdir, sizeof(wdir), "%s/wal", st->dir);
	struct wal_options o = {
		.dir = wdir,
		.sync = st->sync == RECONNU_SYNC_BATCH	 ? WAL_SYNC_BATCH
			: st->sync == RECONNU_SYNC_NONE ? WAL_SYNC_NONE
							 : WAL_SYNC_ALWAYS,
		.batch_ms = st->batch_ms,
		.segment_bytes = st->segment_bytes,
		.max_frame_bytes = 4u << 20,
		.from_lsn = snap_lsn + 1,
		.force_recovery = st->force_recovery,
	};
	struct wal_recovery rec;
	char err[512] = "";
	if (wal_open(&o, replay_op, e, &e->wal, &rec, err, sizeof(err))) {
		reconnu_close(e);
		return set_error(RECONNU_EIO, "recovery refused: %s", err);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rec.last_lsn > e->last_lsn)
		e->last_lsn = rec.last_lsn;
	if (info) {
		info->replayed = rec.replayed;
		info->last_lsn = rec.last_lsn;
		info->truncated = rec.truncated;
		snprintf(info->note, sizeof(info->note), "%s", rec.note);
		info->seconds = (double)(t1.tv_sec - t0.tv_sec) +
				(double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	}
	*out = e;
	return ok();
}

int reconnu_validate(const reconnu_record *in)
{
	if (!in)
		return set_error(RECONNU_EINVAL, "record: required");
	if (norm_global_init())
		return set_error(RECONNU_ESTATE, "normalisation unavailable");
	char msg[256];
	struct store_rec *rec;
	int rc = store_rec_build(in, 1, &rec, msg, sizeof(msg));
	if (rc)
		return set_error(rc, "%s",
				 rc == RECONNU_ENOMEM ? "out of memory" : msg);
	store_rec_delete(rec);
	return ok();
}

/* ---- results ------------------------------------------------------------ */

/* The explanation of x against y into out (strings in a). qx is x
 * prepared (score_query_create) or NULL. */
static int explain_fill(struct arena *a, const reconnu *e,
			const struct store_rec *x, const struct score_query *qx,
			const struct store_rec *y, reconnu_explanation *out)
{
	struct score_explain ex;
	double w =
	    qx ? score_pair_prepared(qx, y, &ex)
	       : score_pair_tf(&e->model, e->nicknames, e->tf, x, y, &ex);
	out->prior_weight = e->model.prior;
	out->total_weight = w;
	out->probability = score_probability(w);
	out->decision = w >= e->match_w	     ? RECONNU_MATCH
			: w >= e->possible_w ? RECONNU_POSSIBLE
					     : RECONNU_NO_MATCH;
	out->features = arena_alloc(a, (size_t)(ex.n + 1) * sizeof(reconnu_feature));
	if (!out->features)
		return RECONNU_ENOMEM;
	for (int i = 0; i < ex.n; i++) {
		const struct score_feature *f = &ex.f[i];
		reconnu_feature *d = &out->features[i];
		d->attribute = score_attr_name(f->attr);
		d->level = (f->level == SCORE_EXACT || f->level == SCORE_CLOSE) &&
					   ex.swapped &&
					   (f->attr == SCORE_GIVEN ||
					    f->attr == SCORE_FAMILY)
				   ? (f->level == SCORE_EXACT ? "swapped-exact"
							      : "swapped-close")
				   : score_level_name(f->level);
		d->left = arena_strdup(a, f->left);
		d->right = arena_strdup(a, f->right);
		d->similarity = f->similarity;
		d->weight = f->weight;
		d->tf_adjustment = f->tf;
		if (!d->left || !d->right)
			return RECONNU_ENOMEM;
	}
	out->n_features = (size_t)ex.n;
	return 0;
}

struct ent_score {
	const struct graph_entity *ent;
	uint32_t best_rec;
	double w;
};

static int cmp_ent(const void *x, const void *y)
{
	const struct ent_score *a = x, *b = y;
	if (a->w != b->w)
		return a->w > b->w ? -1 : 1;
	return (a->ent->id > b->ent->id) - (a->ent->id < b->ent->id);
}

static reconnu_decision decide(const reconnu *e, double w)
{
	return w >= e->match_w	     ? RECONNU_MATCH
	       : w >= e->possible_w ? RECONNU_POSSIBLE
				    : RECONNU_NO_MATCH;
}

int reconnu_identify(reconnu *e, const reconnu_record *in,
		     size_t max_candidates, reconnu_match **out)
{
	*out = NULL;
	if (!in)
		return set_error(RECONNU_EINVAL, "record: required");
	if (!max_candidates)
		max_candidates = 10;
	char msg[256];
	struct store_rec *q;
	int rc = store_rec_build(in, 0, &q, msg, sizeof(msg));
	if (rc)
		return set_error(rc, "%s",
				 rc == RECONNU_ENOMEM ? "out of memory" : msg);
	struct box *b = box_new();
	if (!b) {
		store_rec_delete(q);
		return set_error(RECONNU_ENOMEM, "out of memory");
	}
	reconnu_match *m = &b->u.m;

	pthread_rwlock_rdlock(&e->lock);
	uint32_t cand[1024];
	size_t cap = e->cfg.max_candidates < 1024 ? e->cfg.max_candidates : 1024;
	uint64_t keys[MAX_KEYS];
	size_t nk = rec_keys(q, keys);
	size_t nc = candidates(e, q, keys, nk, cand, cap);
	struct ent_score es[1024];
	size_t ne = 0;
	const struct store_rec *recs[1024];
	const struct graph_entity *ents[1024];
	cand_recs(e, cand, nc, recs);
	/* the misses overlap: on the entity pointers here, on the entities
	 * (read when ranking and answering) in the background */
	for (size_t i = 0; i < nc; i++)
		ents[i] = graph_entity_of(e->graph, cand[i]);
	for (size_t i = 0; i < nc; i++)
		if (ents[i])
			__builtin_prefetch(ents[i]);
	/* prepared while the records' heads load, which the first value
	 * prefetches read */
	struct score_query sq;
	score_query_create(&sq, &e->model, e->tf, e->nicknames, q);
	for (size_t i = 0; i < nc && i < CAND_AHEAD; i++)
		cand_prefetch_values(recs[i]);
	for (size_t i = 0; i < nc; i++) {
		const struct store_rec *o = recs[i];
		if (i + CAND_AHEAD < nc)
			cand_prefetch_values(recs[i + CAND_AHEAD]);
		const struct graph_entity *ent = ents[i];
		if (!o || !ent)
			continue;
		double w = score_pair_prepared(&sq, o, NULL);
		size_t k = 0;
		while (k < ne && es[k].ent != ent)
			k++;
		if (k == ne)
			es[ne++] = (struct ent_score){ent, cand[i], w};
		else if (w > es[k].w)
			es[k].w = w, es[k].best_rec = cand[i];
	}
	/* a few dozen entries: insertion sort, without qsort's callback */
	for (size_t i = 1; i < ne; i++) {
		struct ent_score x = es[i];
		size_t j = i;
		for (; j > 0 && cmp_ent(&x, &es[j - 1]) < 0; j--)
			es[j] = es[j - 1];
		es[j] = x;
	}
	size_t nkeep = ne < max_candidates ? ne : max_candidates;
	rc = 0;
	m->candidates = arena_alloc(&b->arena, (nkeep + 1) * sizeof(*m->candidates));
	if (!m->candidates)
		rc = RECONNU_ENOMEM;
	for (size_t i = 0; !rc && i < nkeep; i++) {
		reconnu_candidate *c = &m->candidates[i];
		const struct store_rec *o = store_get(e->store, es[i].best_rec);
		c->entity_id = es[i].ent->id;
		c->probability = score_probability(es[i].w);
		c->decision = decide(e, es[i].w);
		c->best_record.source = arena_strdup(&b->arena, o->raw.source);
		c->best_record.source_id = arena_strdup(&b->arena, o->raw.source_id);
		m->n_candidates++;
	}
	if (!rc && ne) {
		m->entity_id = es[0].ent->id;
		m->probability = score_probability(es[0].w);
		m->decision = decide(e, es[0].w);
		rc = explain_fill(&b->arena, e, q, &sq,
				  store_get(e->store, es[0].best_rec),
				  &m->explanation);
		if (!rc && m->decision != RECONNU_NO_MATCH) {
			m->golden = arena_alloc(&b->arena, sizeof(*m->golden));
			rc = m->golden ? golden_build(e->store, es[0].ent,
						      &e->policy, &b->arena,
						      m->golden)
				       : RECONNU_ENOMEM;
		}
	}
	pthread_rwlock_unlock(&e->lock);
	store_rec_delete(q);
	atomic_fetch_add_explicit(&e->identifies, 1, memory_order_relaxed);
	if (rc) {
		box_free(b);
		return set_error(rc, "out of memory");
	}
	*out = m;
	return ok();
}

static int golden_out(reconnu *e, const struct graph_entity *ent,
		      reconnu_golden **out)
{
	struct box *b = box_new();
	if (!b)
		return set_error(RECONNU_ENOMEM, "out of memory");
	int rc = golden_build(e->store, ent, &e->policy, &b->arena, &b->u.g);
	if (rc) {
		box_free(b);
		return set_error(rc, "out of memory");
	}
	*out = &b->u.g;
	return ok();
}

int reconnu_get_entity(reconnu *e, uint64_t id, reconnu_golden **out)
{
	*out = NULL;
	pthread_rwlock_rdlock(&e->lock);
	const struct graph_entity *ent = graph_find(e->graph, id);
	int rc = ent ? golden_out(e, ent, out)
		     : set_error(RECONNU_ENOTFOUND,
				 "entity %llu: not found (neither an entity "
				 "nor an alias)",
				 (unsigned long long)id);
	pthread_rwlock_unlock(&e->lock);
	return rc;
}

int reconnu_get_entity_by_key(reconnu *e, const char *source,
			      const char *source_id, reconnu_golden **out)
{
	*out = NULL;
	if (!source || !*source || !source_id || !*source_id)
		return set_error(RECONNU_EINVAL, "%s: required",
				 !source || !*source ? "source" : "source_id");
	pthread_rwlock_rdlock(&e->lock);
	uint32_t id = store_lookup(e->store, source, source_id);
	const struct graph_entity *ent =
		id == STORE_NONE ? NULL : graph_entity_of(e->graph, id);
	int rc = ent ? golden_out(e, ent, out)
		     : set_error(RECONNU_ENOTFOUND,
				 "record (%s, %s): not found", source,
				 source_id);
	pthread_rwlock_unlock(&e->lock);
	return rc;
}

int reconnu_explain_records(reconnu *e, const reconnu_record *a,
			    const reconnu_record *b, reconnu_explanation **out)
{
	*out = NULL;
	if (!a || !b)
		return set_error(RECONNU_EINVAL, "%s: required",
				 !a ? "left record" : "right record");
	char msg[256];
	struct store_rec *x = NULL, *y = NULL;
	int rc = store_rec_build(a, 0, &x, msg, sizeof(msg));
	if (rc)
		return set_error(rc, "left record: %s", msg);
	rc = store_rec_build(b, 0, &y, msg, sizeof(msg));
	if (rc) {
		store_rec_delete(x);
		return set_error(rc, "right record: %s", msg);
	}
	struct box *bx = box_new();
	rc = bx ? explain_fill(&bx->arena, e, x, NULL, y, &bx->u.e)
		: RECONNU_ENOMEM;
	store_rec_delete(x);
	store_rec_delete(y);
	if (rc) {
		box_free(bx);
		return set_error(rc, "out of memory");
	}
	*out = &bx->u.e;
	return ok();
}

int reconnu_explain_entity(reconnu *e, const reconnu_record *a, uint64_t id,
			   reconnu_explanation **out)
{
	*out = NULL;
	if (!a)
		return set_error(RECONNU_EINVAL, "record: required");
	char msg[256];
	struct store_rec *x;
	int rc = store_rec_build(a, 0, &x, msg, sizeof(msg));
	if (rc)
		return set_error(rc, "%s", msg);
	pthread_rwlock_rdlock(&e->lock);
	const struct graph_entity *ent = graph_find(e->graph, id);
	if (!ent) {
		pthread_rwlock_unlock(&e->lock);
		store_rec_delete(x);
		return set_error(RECONNU_ENOTFOUND, "entity %llu: not found",
				 (unsigned long long)id);
	}
	const struct store_rec *best = NULL;
	double bw = -INFINITY;
	struct score_query qx;
	score_query_create(&qx, &e->model, e->tf, e->nicknames, x);
	for (uint32_t i = 0; i < ent->n_members; i++) {
		const struct store_rec *o = store_get(e->store, ent->members[i]);
		double w = score_pair_prepared(&qx, o, NULL);
		if (w > bw)
			bw = w, best = o;
	}
	struct box *bx = box_new();
	rc = bx && best ? explain_fill(&bx->arena, e, x, &qx, best, &bx->u.e)
			: RECONNU_ENOMEM;
	pthread_rwlock_unlock(&e->lock);
	store_rec_delete(x);
	if (rc) {
		box_free(bx);
		return set_error(rc, "out of memory");
	}
	*out = &bx->u.e;
	return ok();
}

int reconnu_get_stats(reconnu *e, reconnu_stats *s)
{
	memset(s, 0, sizeof(*s));
	pthread_rwlock_rdlock(&e->lock);
	struct graph_stats gs;
	struct block_stats bs;
	graph_get_stats(e->graph, &gs);
	block_index_stats(e->index, &bs);
	s->records = store_count(e->store);
	s->entities = gs.entities;
	s->aliases = gs.aliases;
	s->edges = gs.edges;
	s->merges = gs.merges;
	s->splits = gs.splits;
	s->possible_pairs = gs.possible;
	s->blocking_keys = bs.keys;
	s->oversized_keys = bs.oversized;
	s->memory_bytes = store_bytes(e->store) + gs.bytes + bs.bytes;
	pthread_rwlock_unlock(&e->lock);
	s->upserts = atomic_load(&e->upserts);
	s->deletes = atomic_load(&e->deletes);
	s->identifies = atomic_load(&e->identifies);
	s->rejected = atomic_load(&e->rejected);
	return ok();
}
