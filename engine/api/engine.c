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
#include "wal.h"
#include "golden.h"
#include "graph.h"
#include "norm.h"
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
	pthread_rwlock_init(&r->lock, NULL);
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
	if (!r->store || !r->graph || !r->index || !r->nicknames)
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

static void key_add(uint64_t *keys, size_t *n, char kind, const char *a,
		    const char *b)
{
	if (*n >= MAX_KEYS || !a || !*a || (b && !*b))
		return;
	char buf[512];
	int len = b ? snprintf(buf, sizeof(buf), "%s|%s", a, b)
		    : snprintf(buf, sizeof(buf), "%s", a);
	if (len <= 0 || (size_t)len >= sizeof(buf))
		return;
	keys[(*n)++] = block_key(kind, buf, (size_t)len);
}

/* The blocking keys of a record, most specific first. */
static size_t rec_keys(const struct store_rec *r, uint64_t *keys)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n_emails; i++)
		key_add(keys, &n, 'e', r->emails[i], NULL);
	for (size_t i = 0; i < r->n_phones; i++)
		key_add(keys, &n, 'p', r->phones[i], NULL);
	for (size_t i = 0; i < r->n_ids; i++)
		key_add(keys, &n, 'i', r->ids[i], NULL);
	char dob[16] = "";
	if (r->birth.year && r->birth.month && r->birth.day)
		snprintf(dob, sizeof(dob), "%04d%02d%02d", r->birth.year,
			 r->birth.month, r->birth.day);
	key_add(keys, &n, 'a', r->family, dob[0] ? dob : "");
	key_add(keys, &n, 'b', r->given, dob[0] ? dob : "");
	/* phonetic name pair, order-free (swapped names block together) */
	if (*r->given_phon && *r->family_phon) {
		int lt = strcmp(r->given_phon, r->family_phon) < 0;
		key_add(keys, &n, 'c', lt ? r->given_phon : r->family_phon,
			lt ? r->family_phon : r->given_phon);
	}
	for (size_t i = 0; i < r->n_addrs; i++) {
		const struct store_addr *a = &r->addrs[i];
		key_add(keys, &n, 'd', r->family, a->postcode);
		key_add(keys, &n, 'f', r->given, a->postcode);
		key_add(keys, &n, 'g', dob[0] ? dob : "", a->postcode);
		key_add(keys, &n, 'h', r->family_phon, a->city);
		key_add(keys, &n, 's', a->line, a->postcode);
		/* phonetic names with the place: survive a typo in a name and
		 * in the other name's spelling */
		key_add(keys, &n, 'm', r->given_phon, a->postcode);
		key_add(keys, &n, 'n', r->family_phon, a->postcode);
		key_add(keys, &n, 'q', r->given_phon, a->city);
		/* place with initials: survives typos inside both names */
		if (*a->city && *a->postcode && *r->given && *r->family) {
			char in[4] = {r->given[0] < r->family[0] ? r->given[0]
								 : r->family[0],
				      r->given[0] < r->family[0] ? r->family[0]
								 : r->given[0],
				      0};
			char cp[512];
			snprintf(cp, sizeof(cp), "%s|%s", a->city, a->postcode);
			key_add(keys, &n, 'l', cp, in);
		}
	}
	/* names with the birth year: resists day/month typos */
	if (r->birth.year && *r->given_phon && *r->family_phon) {
		char y[8];
		snprintf(y, sizeof(y), "%04d", r->birth.year);
		char gf[256];
		snprintf(gf, sizeof(gf), "%s|%s", r->given_phon, r->family_phon);
		key_add(keys, &n, 'y', gf, y);
	}
	return n;
}

/*
 * Candidate record ids for r, at most cap, deterministic.
 *
 * Light meta-blocking: narrow posting lists (<= NARROW ids) propose
 * candidates; when they proposed fewer than FILL, medium lists (<= MEDIUM)
 * top up, smallest first; every other list only adds evidence to the
 * proposed candidates (a binary search in the sorted list). The
 * candidates sharing the most keys are returned, so the scorer sees the
 * likely matches first and never a whole city.
 */
enum { NARROW = 32, MEDIUM = 256, FILL = 16, CAND_SET = 4096 };

struct cand {
	uint32_t id;
	uint32_t hits;
};

static int cmp_cand(const void *x, const void *y)
{
	const struct cand *a = x, *b = y;
	if (a->hits != b->hits)
		return a->hits > b->hits ? -1 : 1;
	return (a->id > b->id) - (a->id < b->id);
}

struct plist {
	const uint32_t *ids;
	size_t n;
};

static int cmp_plist(const void *x, const void *y)
{
	const struct plist *a = x, *b = y;
	return (a->n > b->n) - (a->n < b->n);
}

static size_t candidates(const reconnu *e, const struct store_rec *r,
			 uint32_t *out, size_t cap)
{
	uint64_t keys[MAX_KEYS];
	size_t nk = rec_keys(r, keys), np = 0;
	struct plist lists[MAX_KEYS];
	for (size_t k = 0; k < nk; k++) {
		const uint32_t *ids;
		size_t m;
		if (block_index_probe(e->index, keys[k], &ids, &m) == 0 && m)
			lists[np++] = (struct plist){ids, m};
	}
	qsort(lists, np, sizeof(*lists), cmp_plist);

	static _Thread_local struct cand set[CAND_SET];
	static _Thread_local uint32_t slot_of[CAND_SET]; /* hash → index+1 */
	memset(slot_of, 0, sizeof(slot_of));
	size_t n = 0, limit = CAND_SET / 2;
	size_t k = 0;
	for (int broad = 0; broad < 2; broad++) {
		for (; k < np; k++) {
			if (!broad && lists[k].n > NARROW)
				break;
			if (broad && (n >= FILL || lists[k].n > MEDIUM))
				break;
			for (size_t i = 0; i < lists[k].n && n < limit; i++) {
				uint32_t id = lists[k].ids[i];
				if (id == r->id)
					continue;
				size_t h = (id * 2654435761u) & (CAND_SET - 1);
				while (slot_of[h] && set[slot_of[h] - 1].id != id)
					h = (h + 1) & (CAND_SET - 1);
				if (slot_of[h]) {
					set[slot_of[h] - 1].hits++;
				} else {
					set[n] = (struct cand){id, 1};
					slot_of[h] = (uint32_t)++n;
				}
				if (broad && n >= FILL)
					break;
			}
		}
	}
	/* remaining broad lists: evidence for the proposed candidates only */
	for (; k < np; k++)
		for (size_t i = 0; i < n; i++)
			if (block_list_has(lists[k].ids, lists[k].n, set[i].id))
				set[i].hits++;
	qsort(set, n, sizeof(*set), cmp_cand);
	if (n > cap)
		n = cap;
	for (size_t i = 0; i < n; i++)
		out[i] = set[i].id;
	return n;
}

/* ---- upsert / delete ---------------------------------------------------- */

static void index_rec(reconnu *e, const struct store_rec *r, int add)
{
	uint64_t keys[MAX_KEYS];
	size_t nk = rec_keys(r, keys);
	for (size_t k = 0; k < nk; k++) {
		if (add)
			block_index_add(e->index, keys[k], r->id);
		else
			block_index_remove(e->index, keys[k], r->id);
	}
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

	uint32_t cand[1024];
	size_t cap = e->cfg.max_candidates < 1024 ? e->cfg.max_candidates : 1024;
	size_t nc = candidates(e, rec, cand, cap);
	struct graph_link links[MAX_LINKS + MAX_POSSIBLE];
	struct graph_link all[1024];
	size_t na = 0;
	double best = -INFINITY;
	for (size_t i = 0; i < nc; i++) {
		const struct store_rec *o = store_get(e->store, cand[i]);
		double w = score_pair(&e->model, e->nicknames, rec, o, NULL);
		if (w > best)
			best = w;
		if (w >= e->possible_w)
			all[na++] = (struct graph_link){
				cand[i], (float)w,
				w >= e->match_w ? GRAPH_LINK : GRAPH_POSSIBLE};
	}
	qsort(all, na, sizeof(*all), cmp_link);
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
	if (graph_insert(e->graph, rec->id, links, nl, &ch)) {
		store_remove(e->store, rec->id);
		return RECONNU_ENOMEM;
	}
	index_rec(e, rec, 1);
	fill_result(res, &ch);
	if (res) {
		res->created = old == STORE_NONE;
		res->probability = nc ? score_probability(best) : 0;
		res->decision = n_link ? RECONNU_MATCH
				: n_poss ? RECONNU_POSSIBLE
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

/* Logs an op under the write lock (LSN order = apply order). */
static int log_op(reconnu *e, uint8_t type, const uint8_t *p, size_t n,
		  uint64_t *lsn)
{
	*lsn = 0;
	if (!e->wal)
		return 0;
	if (wal_failed(e->wal) ||
	    wal_append(e->wal, type, p, n, NULL, NULL, lsn) != 0)
		return set_error(RECONNU_EIO,
				 "write-ahead log failed: the engine is "
				 "read-only until restarted (fail-stop)");
	e->last_lsn = *lsn;
	return 0;
}

int reconnu_upsert_nowait(reconnu *e, const reconnu_record *in,
			  reconnu_upsert_result *res, uint64_t *lsn)
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
	rc = log_op(e, OP_UPSERT, op, n_op, lsn);
	if (rc)
		store_rec_delete(rec);
	else if ((rc = upsert_apply(e, rec, res)))
		set_error(rc, "out of memory");
	pthread_rwlock_unlock(&e->lock);
	free(op);
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

enum { SNAP_META = 1, SNAP_RECORD = 2, SNAP_ENTITY = 3, SNAP_EDGES = 4 };

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

struct snap_ctx {
	reconnu *e;
	struct snap_writer *w;
	uint8_t *buf;
	size_t cap;
	uint64_t records, entities;
	int rc;
};

static uint8_t *snap_buf(struct snap_ctx *c, size_t n)
{
	if (n > c->cap) {
		uint8_t *b = realloc(c->buf, n);
		if (!b)
			return NULL;
		c->buf = b;
		c->cap = n;
	}
	return c->buf;
}

static int snap_entity(void *ctx, const struct graph_entity *ent)
{
	struct snap_ctx *c = ctx;
	size_t n = 40 + 4 * (size_t)ent->n_members + 8 * (size_t)ent->n_aliases;
	struct pk k = {snap_buf(c, n)};
	if (!k.p)
		return -ENOMEM;
	pk64(&k, ent->id);
	pk64(&k, ent->version);
	pk64(&k, ent->created_op);
	pk64(&k, ent->changed_op);
	pk32(&k, ent->n_members);
	pk32(&k, ent->n_aliases);
	for (uint32_t i = 0; i < ent->n_members; i++)
		pk32(&k, ent->members[i]);
	for (uint32_t i = 0; i < ent->n_aliases; i++)
		pk64(&k, ent->aliases[i]);
	c->entities++;
	return snap_put(c->w, SNAP_ENTITY, c->buf, (uint32_t)n);
}

static int snap_write_all(struct snap_ctx *c)
{
	reconnu *e = c->e;
	uint64_t next_id, op;
	graph_counters(e->graph, &next_id, &op);
	struct pk k = {snap_buf(c, 64)};
	if (!k.p)
		return -ENOMEM;
	pk64(&k, next_id);
	pk64(&k, op);
	pk64(&k, store_next_seq(e->store));
	pk32(&k, store_id_limit(e->store));
	int rc = snap_put(c->w, SNAP_META, c->buf, 28);
	uint32_t lim = store_id_limit(e->store);
	for (uint32_t id = 0; id < lim && !rc; id++) {
		const struct store_rec *r = store_get(e->store, id);
		if (!r)
			continue;
		size_t n = 20 + op_upsert_size(&r->raw);
		struct pk q = {snap_buf(c, n)};
		if (!q.p)
			return -ENOMEM;
		pk32(&q, id);
		pk64(&q, r->created);
		pk64(&q, r->seq);
		op_encode_upsert(&r->raw, q.p);
		rc = snap_put(c->w, SNAP_RECORD, c->buf, (uint32_t)n);
		c->records++;
		/* edges, each once (from its smaller record id) */
		size_t ne;
		const struct graph_edge *ed = graph_edges(e->graph, id, &ne);
		size_t keep = 0;
		for (size_t i = 0; i < ne; i++)
			keep += ed[i].other > id;
		if (!keep || rc)
			continue;
		struct pk x = {snap_buf(c, 4 + 9 * keep)};
		if (!x.p)
			return -ENOMEM;
		pk32(&x, id);
		for (size_t i = 0; i < ne; i++) {
			if (ed[i].other <= id)
				continue;
			pk32(&x, ed[i].other);
			uint32_t wb;
			memcpy(&wb, &ed[i].weight, 4);
			pk32(&x, wb);
			*x.p++ = ed[i].kind;
		}
		rc = snap_put(c->w, SNAP_EDGES, c->buf, (uint32_t)(4 + 9 * keep));
	}
	if (!rc)
		rc = graph_foreach_entity(e->graph, snap_entity, c);
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
	struct timespec t0, t1, t2;
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/snapshots", e->dir);
	pthread_mutex_lock(&e->snap_lock);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_rwlock_rdlock(&e->lock);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	uint64_t lsn = e->last_lsn;
	struct snap_ctx c = {.e = e};
	int rc = 0;
	/* the snapshot must not hold a write the log could still lose */
	if (lsn && wal_wait(e->wal, lsn))
		rc = -EIO;
	if (!rc)
		rc = snap_writer_open(dir, lsn, &c.w);
	if (!rc) {
		rc = snap_write_all(&c);
		if (rc)
			snap_writer_abort(c.w);
		else
			rc = snap_writer_commit(c.w);
	}
	pthread_rwlock_unlock(&e->lock);
	clock_gettime(CLOCK_MONOTONIC, &t2);
	free(c.buf);
	if (!rc) {
		uint64_t oldest = snap_prune(dir, 2);
		int removed = oldest ? wal_remove_before(e->wal, oldest + 1) : 0;
		info->wal_segments_removed = removed > 0 ? (uint64_t)removed : 0;
		char path[4200];
		struct stat st;
		snprintf(path, sizeof(path), "%s/snap-%020llu.snap", dir,
			 (unsigned long long)lsn);
		info->bytes = stat(path, &st) ? 0 : (uint64_t)st.st_size;
	}
	pthread_mutex_unlock(&e->snap_lock);
	info->lsn = lsn;
	info->records = c.records;
	info->entities = c.entities;
	info->seconds = (double)(t2.tv_sec - t0.tv_sec) +
			(double)(t2.tv_nsec - t0.tv_nsec) / 1e9;
	info->write_pause = (double)(t2.tv_sec - t1.tv_sec) +
			    (double)(t2.tv_nsec - t1.tv_nsec) / 1e9;
	if (rc)
		return set_error(RECONNU_EIO, "snapshot: %s", strerror(-rc));
	return ok();
}

/* Loading: items are trusted for framing (the file's checksum was
 * verified before the first one) but still bounds-checked. */
static int snap_load_item(void *ctx, uint8_t kind, const void *pv, uint32_t n)
{
	struct snap_ctx *c = ctx;
	reconnu *e = c->e;
	const uint8_t *p = pv, *end = p + n;
	if (kind == SNAP_META) {
		if (n < 28)
			return -EBADMSG;
		uint64_t next_id = up64(&p), op = up64(&p), seq = up64(&p);
		graph_set_counters(e->graph, next_id, op);
		store_set_next_seq(e->store, seq);
		return 0;
	}
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
	if (kind == SNAP_ENTITY) {
		if (n < 40)
			return -EBADMSG;
		uint64_t id = up64(&p), ver = up64(&p), cop = up64(&p),
			 chop = up64(&p);
		uint32_t nm = up32(&p), na = up32(&p);
		if ((uint64_t)nm * 4 + (uint64_t)na * 8 != (uint64_t)(end - p))
			return -EBADMSG;
		uint32_t *m = malloc((nm ? nm : 1) * sizeof(*m));
		uint64_t *al = malloc((na ? na : 1) * sizeof(*al));
		int rc = m && al ? 0 : -ENOMEM;
		for (uint32_t i = 0; !rc && i < nm; i++)
			m[i] = up32(&p);
		for (uint32_t i = 0; !rc && i < na; i++)
			al[i] = up64(&p);
		if (!rc && graph_restore_entity(e->graph, id, ver, cop, chop, m,
						nm, al, na))
			rc = -EBADMSG;
		free(m);
		free(al);
		return rc;
	}
	return 0; /* unknown kinds are skipped: room for later items */
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
	uint64_t lsns[8], snap_lsn = 0;
	size_t ns = snap_list(sdir, lsns, 8);
	struct snap_ctx sc = {.e = e};
	for (size_t i = 0; i < ns; i++) {
		struct timespec s0, s1;
		clock_gettime(CLOCK_MONOTONIC, &s0);
		sc.records = 0;
		int src = snap_read(sdir, lsns[i], snap_load_item, &sc);
		clock_gettime(CLOCK_MONOTONIC, &s1);
		if (src == 0) {
			snap_lsn = lsns[i];
			if (info) {
				info->snapshot_lsn = snap_lsn;
				info->snapshot_records = sc.records;
				info->snapshot_seconds =
					(double)(s1.tv_sec - s0.tv_sec) +
					(double)(s1.tv_nsec - s0.tv_nsec) / 1e9;
			}
			break;
		}
		if (sc.records) {
			/* failed half-way through a verified file: the engine
			 * is half-loaded, start over without snapshots */
			reconnu_close(e);
			return set_error(RECONNU_EIO,
					 "snapshot %llu: unreadable record data",
					 (unsigned long long)lsns[i]);
		}
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

static int explain_fill(struct arena *a, const reconnu *e,
			const struct store_rec *x, const struct store_rec *y,
			reconnu_explanation *out)
{
	struct score_explain ex;
	double w = score_pair(&e->model, e->nicknames, x, y, &ex);
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
	size_t nc = candidates(e, q, cand, cap);
	struct ent_score es[1024];
	size_t ne = 0;
	for (size_t i = 0; i < nc; i++) {
		const struct store_rec *o = store_get(e->store, cand[i]);
		const struct graph_entity *ent = graph_entity_of(e->graph, cand[i]);
		if (!o || !ent)
			continue;
		double w = score_pair(&e->model, e->nicknames, q, o, NULL);
		size_t k = 0;
		while (k < ne && es[k].ent != ent)
			k++;
		if (k == ne)
			es[ne++] = (struct ent_score){ent, cand[i], w};
		else if (w > es[k].w)
			es[k].w = w, es[k].best_rec = cand[i];
	}
	qsort(es, ne, sizeof(*es), cmp_ent);
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
		rc = explain_fill(&b->arena, e, q,
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
	rc = bx ? explain_fill(&bx->arena, e, x, y, &bx->u.e) : RECONNU_ENOMEM;
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
	for (uint32_t i = 0; i < ent->n_members; i++) {
		const struct store_rec *o = store_get(e->store, ent->members[i]);
		double w = score_pair(&e->model, e->nicknames, x, o, NULL);
		if (w > bw)
			bw = w, best = o;
	}
	struct box *bx = box_new();
	rc = bx && best ? explain_fill(&bx->arena, e, x, best, &bx->u.e)
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
