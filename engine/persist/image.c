/* image — store and graph as snapshot items; see image.h. */
#include "image.h"
#include "le.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { FRAME = 5, EDGE = 9, REC_HEAD = 24, ENT_HEAD = 40 };

/* ---- little-endian packing (le.h), as cursors ------------------------- */

static uint8_t *le32(uint8_t *p, uint32_t v)
{
	le_put32(p, v);
	return p + 4;
}

static uint8_t *le64(uint8_t *p, uint64_t v)
{
	le_put64(p, v);
	return p + 8;
}

/* ---- items in memory ---------------------------------------------- */

/* Makes room for need bytes in b (doubling from 64 KiB); on ENOMEM sets
 * b->err and returns -1, b unchanged otherwise. */
static int items_grow(struct image_items *b, size_t need)
{
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 1 << 16;
	while (cap < need)
		cap *= 2;
	uint8_t *p = realloc(b->p, cap);
	if (!p) {
		b->err = -ENOMEM;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

/* Room for one item of n bytes; returns where its payload goes, or NULL
 * (b->err set). */
static uint8_t *item_begin(struct image_items *b, uint8_t kind, size_t n)
{
	if (b->err)
		return NULL;
	if (n > UINT32_MAX) {
		b->err = -EFBIG;
		return NULL;
	}
	if (items_grow(b, b->n + FRAME + n))
		return NULL;
	uint8_t *f = b->p + b->n;
	f[0] = kind;
	le32(f + 1, (uint32_t)n);
	b->n += FRAME + n;
	return f + FRAME;
}

int image_items_reserve(struct image_items *b, size_t n)
{
	if (n <= b->cap)
		return 0;
	uint8_t *p = realloc(b->p, n);
	if (!p)
		return -ENOMEM;
	memset(p + b->cap, 0, n - b->cap); /* its pages are touched now */
	b->p = p;
	b->cap = n;
	return 0;
}

int image_items_flush(struct image_items *b,
		      int (*put)(void *ctx, uint8_t kind, const void *p,
				 uint32_t n),
		      void *ctx)
{
	int rc = b->err;
	for (size_t off = 0; !rc && off < b->n;) {
		uint32_t n = le_get32(b->p + off + 1);
		rc = put(ctx, b->p[off], b->p + off + FRAME, n);
		off += FRAME + n;
	}
	b->n = 0;
	return rc;
}

void image_items_free(struct image_items *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Appends b's items to out and empties b. */
static void items_move(struct image_items *out, struct image_items *b)
{
	if (b->err && !out->err)
		out->err = b->err;
	if (!b->n || out->err)
		goto done;
	if (items_grow(out, out->n + b->n))
		goto done;
	memcpy(out->p + out->n, b->p, b->n);
	out->n += b->n;
	out->records += b->records;
	out->entities += b->entities;
done:
	b->n = 0;
	b->records = b->entities = 0;
}

/* ---- writing -------------------------------------------------------- */

static void put_entity(struct image_items *b, const struct graph_entity *e)
{
	size_t n =
	    ENT_HEAD + 4 * (size_t)e->n_members + 8 * (size_t)e->n_aliases;
	uint8_t *p = item_begin(b, IMAGE_ENTITY, n);
	if (!p)
		return;
	p = le64(p, e->id);
	p = le64(p, e->version);
	p = le64(p, e->created_op);
	p = le64(p, e->changed_op);
	p = le32(p, e->n_members);
	p = le32(p, e->n_aliases);
	for (uint32_t i = 0; i < e->n_members; i++)
		p = le32(p, e->members[i]);
	for (uint32_t i = 0; i < e->n_aliases; i++)
		p = le64(p, e->aliases[i]);
	b->entities++;
}

static void put_record(struct image_items *b, const struct graph *g,
		       const struct store_rec *r)
{
	size_t ne;
	const struct graph_edge *ed = graph_edges(g, r->id, &ne);
	size_t n = REC_HEAD + EDGE * ne + store_rec_image_size(r);
	uint8_t *p = item_begin(b, IMAGE_RECORD, n);
	if (!p)
		return;
	p = le32(p, r->id);
	p = le64(p, r->created);
	p = le64(p, r->seq);
	p = le32(p, (uint32_t)ne);
	for (size_t i = 0; i < ne; i++) {
		uint32_t w;
		memcpy(&w, &ed[i].weight, 4);
		p = le32(p, ed[i].other);
		p = le32(p, w);
		*p++ = ed[i].kind;
	}
	store_rec_image(r, p);
	b->records++;
}

struct image_view {
	struct store *st;
	struct graph *g;
	uint32_t limit;
	uint64_t *done;		  /**< bit per record id: written */
	struct image_items saved; /**< written by writers (write lock) */
	uint64_t saved_records;	  /**< records writers saved, in all */
	int open;
};

static int done_test_set(struct image_view *v, uint32_t id)
{
	uint64_t bit = UINT64_C(1) << (id % 64);
	int was = (v->done[id / 64] & bit) != 0;
	v->done[id / 64] |= bit;
	return was;
}

/* An entity and its members not written yet, as they are now. */
static void put_group(struct image_view *v, struct image_items *b,
		      const struct graph_entity *e)
{
	if (graph_view_list(v->g, e))
		put_entity(b, e);
	for (uint32_t i = 0; i < e->n_members; i++) {
		uint32_t m = e->members[i];
		const struct store_rec *r = store_get(v->st, m);
		if (m >= v->limit || !r) {
			b->err = b->err ? b->err : -EPROTO;
			continue;
		}
		if (!done_test_set(v, m))
			put_record(b, v->g, r);
	}
}

/* The graph's report of an entity about to change (write lock held). */
static void on_change(void *ctx, struct graph *g, const struct graph_entity *e)
{
	struct image_view *v = ctx;
	(void)g;
	uint64_t before = v->saved.records;
	put_group(v, &v->saved, e);
	v->saved_records += v->saved.records - before;
}

uint64_t image_view_saved(const struct image_view *v)
{
	return v->saved_records;
}

struct image_view *image_view_open(struct store *st, struct graph *g)
{
	struct image_view *v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	v->st = st;
	v->g = g;
	v->limit = store_id_limit(st);
	v->done = calloc((size_t)v->limit / 64 + 1, sizeof(*v->done));
	if (!v->done) {
		free(v);
		return NULL;
	}
	graph_view_open(g, on_change, v);
	v->open = 1;
	return v;
}

uint32_t image_view_limit(const struct image_view *v)
{
	return v->limit;
}

int image_view_scan(struct image_view *v, uint32_t from, uint32_t to,
		    struct image_items *out)
{
	if (to > v->limit)
		to = v->limit;
	for (uint32_t id = from; id < to && !out->err; id++) {
		if (v->done[id / 64] >> (id % 64) & 1)
			continue;
		const struct store_rec *r = store_get(v->st, id);
		if (!r)
			continue; /* absent then and now: ids are never reused
				   */
		const struct graph_entity *e = graph_entity_of(v->g, id);
		if (!e) {
			out->err = -EPROTO;
			break;
		}
		if (graph_view_list(v->g, e))
			put_entity(out, e);
		done_test_set(v, id);
		put_record(out, v->g, r);
	}
	items_move(out, &v->saved);
	return out->err;
}

int image_view_close(struct image_view *v, struct image_items *out)
{
	if (v->open) {
		graph_view_close(v->g);
		v->open = 0;
	}
	items_move(out, &v->saved);
	return out->err;
}

void image_view_free(struct image_view *v)
{
	if (!v)
		return;
	if (v->open)
		graph_view_close(v->g);
	image_items_free(&v->saved);
	free(v->done);
	free(v);
}

/* ---- loading -------------------------------------------------------- */

int image_load_edges(struct image_loader *l, const void *pv, uint32_t n,
		     struct image_rec *out)
{
	const uint8_t *p = pv;
	if (n < REC_HEAD)
		return -EBADMSG;
	uint32_t id = le_get32(p), ne = le_get32(p + 20);
	if (id == STORE_NONE || ne > (n - REC_HEAD) / EDGE)
		return -EBADMSG;
	if (ne > l->cap) {
		uint32_t cap = l->cap ? l->cap : 64;
		while (cap < ne)
			cap *= 2;
		struct graph_edge *e = realloc(l->edges, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		l->edges = e;
		l->cap = cap;
	}
	const uint8_t *q = p + REC_HEAD;
	for (uint32_t i = 0; i < ne; i++, q += EDGE) {
		uint32_t w = le_get32(q + 4);
		l->edges[i].other = le_get32(q);
		memcpy(&l->edges[i].weight, &w, 4);
		l->edges[i].kind = q[8];
		if (q[8] != GRAPH_LINK && q[8] != GRAPH_POSSIBLE)
			return -EBADMSG;
	}
	int rc = graph_restore_edges(l->g, id, l->edges, ne);
	if (rc)
		return rc == -1 ? -ENOMEM : -EBADMSG;
	*out = (struct image_rec){.img = q,
				  .n = n - (uint32_t)(q - p),
				  .id = id,
				  .created = le_get64(p + 4),
				  .seq = le_get64(p + 12)};
	l->records++;
	return 0;
}

int image_build_record(const struct image_rec *ir, struct store_rec **rec)
{
	int rc = store_rec_from_image(ir->img, ir->n, rec);
	return rc == RECONNU_ENOMEM ? -ENOMEM : rc ? -EBADMSG : 0;
}

int image_store_record(struct store *st, const struct image_rec *ir,
		       struct store_rec *rec, uint64_t hash)
{
	int rc =
	    store_restore_hashed(st, rec, ir->id, ir->created, ir->seq, hash);
	return rc == RECONNU_ENOMEM ? -ENOMEM : rc ? -EBADMSG : 0;
}

int image_load_record(struct image_loader *l, const void *p, uint32_t n,
		      const struct store_rec **rec)
{
	struct image_rec ir;
	struct store_rec *r;
	int rc = image_load_edges(l, p, n, &ir);
	if (!rc)
		rc = image_build_record(&ir, &r);
	if (!rc && (rc = image_store_record(l->st, &ir, r, store_key_hash(r))))
		store_rec_delete(r);
	if (!rc && rec)
		*rec = r;
	return rc;
}

int image_load_entity(struct image_loader *l, const void *pv, uint32_t n)
{
	const uint8_t *p = pv;
	if (n < ENT_HEAD)
		return -EBADMSG;
	uint64_t id = le_get64(p), ver = le_get64(p + 8),
		 cop = le_get64(p + 16), chop = le_get64(p + 24);
	uint32_t nm = le_get32(p + 32), na = le_get32(p + 36);
	if (!nm || (uint64_t)nm * 4 + (uint64_t)na * 8 != n - ENT_HEAD)
		return -EBADMSG;
	/* members and aliases are not aligned in the item: copy them */
	uint32_t m_small[64];
	uint64_t a_small[16];
	uint32_t *m = nm <= 64 ? m_small : malloc(nm * sizeof(*m));
	uint64_t *a = na <= 16 ? a_small : malloc(na * sizeof(*a));
	int rc = m && a ? 0 : -ENOMEM;
	const uint8_t *q = p + ENT_HEAD;
	for (uint32_t i = 0; !rc && i < nm; i++, q += 4)
		m[i] = le_get32(q);
	for (uint32_t i = 0; !rc && i < na; i++, q += 8)
		a[i] = le_get64(q);
	if (!rc) {
		rc = graph_restore_entity(l->g, id, ver, cop, chop, m, nm, a,
					  na);
		rc = rc == -1 ? -ENOMEM : rc ? -EBADMSG : 0;
	}
	if (m != m_small)
		free(m);
	if (a != a_small)
		free(a);
	if (!rc)
		l->entities++;
	return rc;
}

static int has_rec(void *ctx, uint32_t id)
{
	return store_get(ctx, id) != NULL;
}

int image_load_check_edges(struct image_loader *l, uint32_t id_limit)
{
	if (graph_restore_check_edges(l->g, id_limit))
		return -EBADMSG;
	l->edges_checked = 1;
	return 0;
}

int image_load_end(struct image_loader *l, uint32_t id_limit)
{
	free(l->edges);
	l->edges = NULL;
	l->cap = 0;
	if (store_id_limit(l->st) > id_limit ||
	    graph_restore_check_members(l->g, id_limit, has_rec, l->st) ||
	    (!l->edges_checked && graph_restore_check_edges(l->g, id_limit)))
		return -EBADMSG;
	return 0;
}
