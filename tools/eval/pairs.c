/*
 * pairs.c — scored record pairs, threshold sweep and worst errors of
 * reconnu-eval (see pairs.h). Command-line code: errors go to stderr.
 */
#define _GNU_SOURCE
#include "pairs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/** Candidates asked of identify: the engine's default max_candidates. */
#define IDENTIFY_CANDIDATES 32
/** Inside a predicted entity larger than this, a record is scored against
 *  the next PAIRS_SPAN members only (a run-away merge would else cost
 *  O(k²) explanations). */
#define PAIRS_SPAN 256

static int push(struct pairs *ps, uint32_t a, uint32_t b, double p,
		unsigned flags)
{
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? 2 * ps->cap : 4096;
		struct pair *v = realloc(ps->v, cap * sizeof(*v));
		if (v == NULL) {
			fprintf(stderr, "out of memory\n");
			return -1;
		}
		ps->v = v;
		ps->cap = cap;
	}
	ps->v[ps->n++] = (struct pair){a < b ? a : b, a < b ? b : a, p, flags};
	return 0;
}

static int explain_push(struct pairs *ps, reconnu *r, const struct dataset *d,
			uint32_t a, uint32_t b, unsigned flags)
{
	reconnu_explanation *e;
	if (reconnu_explain_records(r, &d->rows[a].rec, &d->rows[b].rec, &e)) {
		fprintf(stderr, "explain %s/%s vs %s/%s: %s\n",
			d->rows[a].rec.source, d->rows[a].rec.source_id,
			d->rows[b].rec.source, d->rows[b].rec.source_id,
			reconnu_last_error());
		return -1;
	}
	double p = e->probability;
	reconnu_explanation_free(e);
	ps->explain_calls++;
	return push(ps, a, b, p, flags);
}

/** Pairs (record, best member of each other candidate entity). */
static int collect_candidates(struct pairs *ps, reconnu *r,
			      const struct dataset *d)
{
	for (size_t i = 0; i < dataset_size(d); i++) {
		const struct ds_row *row = &d->rows[i];
		if (row->rejected)
			continue;
		reconnu_match *m;
		if (reconnu_identify(r, &row->rec, IDENTIFY_CANDIDATES, &m)) {
			fprintf(stderr, "identify %s/%s: %s\n", row->rec.source,
				row->rec.source_id, reconnu_last_error());
			return -1;
		}
		ps->identify_calls++;
		int rc = 0;
		for (size_t k = 0; rc == 0 && k < m->n_candidates; k++) {
			const reconnu_candidate *c = &m->candidates[k];
			if (c->entity_id == row->pred)
				continue;
			int64_t j = dataset_find(d, c->best_record.source,
						 c->best_record.source_id);
			if (j >= 0 && (size_t)j != i)
				rc = push(ps, (uint32_t)i, (uint32_t)j,
					  c->probability, PAIR_CANDIDATE);
		}
		reconnu_match_free(m);
		if (rc)
			return -1;
	}
	return 0;
}

/** Rows sorted by a key, rejected rows left out. */
struct keyed {
	uint64_t key;
	uint32_t row;
};

static int cmp_keyed(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return (x->row > y->row) - (x->row < y->row);
}

/** Pairs inside each group of equal key; with `missed` only those of
 *  records in two predicted entities. */
static int collect_groups(struct pairs *ps, reconnu *r, const struct dataset *d,
			  const uint64_t *key, unsigned flags)
{
	size_t n = dataset_size(d), m = 0;
	struct keyed *k = malloc((n ? n : 1) * sizeof(*k));
	if (k == NULL) {
		fprintf(stderr, "out of memory\n");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (!d->rows[i].rejected)
			k[m++] = (struct keyed){key[i], (uint32_t)i};
	qsort(k, m, sizeof(*k), cmp_keyed);
	int rc = 0;
	for (size_t i = 0, j; rc == 0 && i < m; i = j) {
		for (j = i + 1; j < m && k[j].key == k[i].key; j++)
			;
		if (j - i > PAIRS_SPAN + 1)
			fprintf(stderr,
				"note: a group of %zu records: each scored "
				"against the next %d only\n",
				j - i, PAIRS_SPAN);
		for (size_t a = i; rc == 0 && a < j; a++) {
			size_t end =
			    a + 1 + PAIRS_SPAN < j ? a + 1 + PAIRS_SPAN : j;
			for (size_t b = a + 1; rc == 0 && b < end; b++) {
				if (flags == PAIR_MISSED &&
				    d->rows[k[a].row].pred ==
					d->rows[k[b].row].pred)
					continue;
				rc = explain_push(ps, r, d, k[a].row, k[b].row,
						  flags);
			}
		}
	}
	free(k);
	return rc;
}

static int cmp_pair(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	if (x->a != y->a)
		return x->a < y->a ? -1 : 1;
	return (x->b > y->b) - (x->b < y->b);
}

int pairs_collect(struct pairs *ps, reconnu *r, const struct dataset *d,
		  bool missed)
{
	memset(ps, 0, sizeof(*ps));
	size_t n = dataset_size(d);
	uint64_t *key = malloc((n ? n : 1) * sizeof(*key));
	if (key == NULL) {
		fprintf(stderr, "out of memory\n");
		return -1;
	}
	int rc = collect_candidates(ps, r, d);
	for (size_t i = 0; i < n; i++)
		key[i] = d->rows[i].pred;
	if (rc == 0)
		rc = collect_groups(ps, r, d, key, PAIR_SAME);
	if (rc == 0 && missed) {
		dataset_truth_classes(d, key);
		rc = collect_groups(ps, r, d, key, PAIR_MISSED);
	}
	free(key);
	if (rc)
		return -1;
	qsort(ps->v, ps->n, sizeof(*ps->v), cmp_pair);
	size_t m = 0;
	for (size_t i = 0; i < ps->n; i++) {
		struct pair *last = m ? &ps->v[m - 1] : NULL;
		if (last && last->a == ps->v[i].a && last->b == ps->v[i].b) {
			last->flags |= ps->v[i].flags;
			if (ps->v[i].p > last->p)
				last->p = ps->v[i].p;
		} else {
			ps->v[m++] = ps->v[i];
		}
	}
	ps->n = m;
	return 0;
}

void pairs_destroy(struct pairs *ps)
{
	free(ps->v);
	memset(ps, 0, sizeof(*ps));
}

/* ---- sweep ------------------------------------------------------------ */

static uint32_t uf_find(uint32_t *parent, uint32_t x)
{
	while (parent[x] != x) {
		parent[x] = parent[parent[x]];
		x = parent[x];
	}
	return x;
}

static int cmp_p_desc(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	return (x->p < y->p) - (x->p > y->p);
}

/** Order of thresholds (ctx), highest first. */
static int cmp_thr_desc(const void *a, const void *b, void *ctx)
{
	const double *thr = ctx;
	double x = thr[*(const size_t *)a], y = thr[*(const size_t *)b];
	return (x < y) - (x > y);
}

int pairs_sweep(const struct pairs *ps, const struct dataset *d,
		const double *thr, size_t n_thr, struct sweep_point *out)
{
	size_t n = dataset_size(d), ne = 0;
	struct pair *e = malloc((ps->n ? ps->n : 1) * sizeof(*e));
	uint32_t *parent = malloc((n ? n : 1) * sizeof(*parent));
	uint64_t *truth = malloc((n ? n : 1) * sizeof(*truth));
	uint64_t *label = malloc((n ? n : 1) * sizeof(*label));
	int32_t *script = malloc((n ? n : 1) * sizeof(*script));
	size_t *order = malloc((n_thr ? n_thr : 1) * sizeof(*order));
	int rc = -1;
	if (!e || !parent || !truth || !label || !script || !order)
		goto out;
	for (size_t i = 0; i < ps->n; i++)
		if (ps->v[i].flags & (PAIR_CANDIDATE | PAIR_SAME))
			e[ne++] = ps->v[i];
	qsort(e, ne, sizeof(*e), cmp_p_desc);
	for (size_t i = 0; i < n; i++) {
		parent[i] = (uint32_t)i;
		script[i] = d->rows[i].script;
	}
	dataset_truth_classes(d, truth);
	for (size_t k = 0; k < n_thr; k++)
		order[k] = k;
	qsort_r(order, n_thr, sizeof(*order), cmp_thr_desc, (void *)thr);
	size_t next = 0;
	for (size_t k = 0; k < n_thr; k++) {
		double t = thr[order[k]];
		for (; next < ne && e[next].p >= t; next++) {
			uint32_t x = uf_find(parent, e[next].a),
				 y = uf_find(parent, e[next].b);
			if (x != y)
				parent[x > y ? x : y] = x < y ? x : y;
		}
		for (size_t i = 0; i < n; i++)
			label[i] = uf_find(parent, (uint32_t)i);
		out[order[k]].threshold = t;
		if (metrics_score(n, truth, label, script, &out[order[k]].m))
			goto out;
	}
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "out of memory\n");
	free(e);
	free(parent);
	free(truth);
	free(label);
	free(script);
	free(order);
	return rc;
}

/* ---- worst errors -------------------------------------------------------- */

/** A pair of predicted entities (lo <= hi) and an error between them. */
struct err {
	uint64_t lo, hi;
	struct worst w;
};

static int cmp_err_group(const void *a, const void *b)
{
	const struct err *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	return (x->w.p < y->w.p) - (x->w.p > y->w.p);
}

static int cmp_err_p(const void *a, const void *b)
{
	const struct err *x = a, *y = b;
	return (x->w.p < y->w.p) - (x->w.p > y->w.p);
}

static int cmp_ent_pair(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;
	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	return (x[1] > y[1]) - (x[1] < y[1]);
}

/** Keeps the best error of each entity pair, the n best of those first. */
static size_t best_per_group(struct err *v, size_t m, size_t n,
			     struct worst *out)
{
	qsort(v, m, sizeof(*v), cmp_err_group);
	size_t u = 0;
	for (size_t i = 0; i < m; i++)
		if (u == 0 || v[i].lo != v[u - 1].lo || v[i].hi != v[u - 1].hi)
			v[u++] = v[i];
	qsort(v, u, sizeof(*v), cmp_err_p);
	size_t k = u < n ? u : n;
	for (size_t i = 0; i < k; i++)
		out[i] = v[i].w;
	return k;
}

int pairs_worst(const struct pairs *ps, const struct dataset *d, size_t n,
		struct worst *fp, size_t *n_fp, struct worst *fn, size_t *n_fn)
{
	size_t nd = dataset_size(d), m_fp = 0, m_fn = 0, m_cand = 0;
	*n_fp = *n_fn = 0;
	uint64_t *truth = malloc((nd ? nd : 1) * sizeof(*truth));
	struct err *efp = malloc((ps->n ? ps->n : 1) * sizeof(*efp));
	struct err *efn = malloc((ps->n ? ps->n : 1) * sizeof(*efn));
	uint64_t(*cand)[2] = malloc((ps->n ? ps->n : 1) * sizeof(*cand));
	if (!truth || !efp || !efn || !cand) {
		free(truth);
		free(efp);
		free(efn);
		free(cand);
		fprintf(stderr, "out of memory\n");
		return -1;
	}
	dataset_truth_classes(d, truth);
	for (size_t i = 0; i < ps->n; i++) {
		const struct pair *p = &ps->v[i];
		uint64_t pa = d->rows[p->a].pred, pb = d->rows[p->b].pred;
		uint64_t lo = pa < pb ? pa : pb, hi = pa < pb ? pb : pa;
		struct worst w = {p->a, p->b, p->p, false};
		if ((p->flags & PAIR_SAME) && truth[p->a] != truth[p->b])
			efp[m_fp++] = (struct err){lo, hi, w};
		if ((p->flags & PAIR_MISSED) && pa != pb)
			efn[m_fn++] = (struct err){lo, hi, w};
		if (p->flags & PAIR_CANDIDATE) {
			cand[m_cand][0] = lo;
			cand[m_cand++][1] = hi;
		}
	}
	qsort(cand, m_cand, sizeof(*cand), cmp_ent_pair);
	*n_fp = best_per_group(efp, m_fp, n, fp);
	*n_fn = best_per_group(efn, m_fn, n, fn);
	for (size_t i = 0; i < *n_fn; i++) {
		uint64_t pa = d->rows[fn[i].a].pred, pb = d->rows[fn[i].b].pred;
		uint64_t key[2] = {pa < pb ? pa : pb, pa < pb ? pb : pa};
		fn[i].compared = bsearch(key, cand, m_cand, sizeof(*cand),
					 cmp_ent_pair) != NULL;
	}
	free(truth);
	free(efp);
	free(efn);
	free(cand);
	return 0;
}
