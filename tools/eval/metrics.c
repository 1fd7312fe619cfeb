/*
 * metrics.c — partition scoring of reconnu-eval (see metrics.h).
 *
 * Three sorts of one item per record: by (truth, script) for the true
 * classes, by (pred, script) for the predicted clusters, by (pred, truth,
 * script) for the cells. Within a group sorted by script, the pairs
 * written in two scripts are C(known, 2) minus C(k, 2) of each run of one
 * script.
 */
#include "metrics.h"

#include <stdlib.h>
#include <string.h>

struct item {
	uint64_t pred, truth;
	int32_t script;
	uint32_t psize, tsize; /**< sizes of its cluster and class */
};

static uint64_t c2(uint64_t x)
{
	return x > 1 ? x * (x - 1) / 2 : 0;
}

static int cmp_u64(uint64_t a, uint64_t b)
{
	return (a > b) - (a < b);
}

static int by_truth(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	int c = cmp_u64(x->truth, y->truth);
	return c ? c : (x->script > y->script) - (x->script < y->script);
}

static int by_pred(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	int c = cmp_u64(x->pred, y->pred);
	return c ? c : (x->script > y->script) - (x->script < y->script);
}

static int by_cell(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	int c = cmp_u64(x->pred, y->pred);
	return c ? c : by_truth(a, b);
}

/** Pairs of a group it[0..n) sorted by script: all, and cross-script. */
static void group_pairs(const struct item *it, size_t n, uint64_t *all,
			uint64_t *cross)
{
	uint64_t known = 0, same = 0;
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && it[j].script == it[i].script; j++)
			;
		if (it[i].script >= 0) {
			known += j - i;
			same += c2(j - i);
		}
	}
	*all += c2(n);
	*cross += c2(known) - same;
}

static void ratios(struct metrics_pairs *p)
{
	uint64_t pred = p->tp + p->fp, truth = p->tp + p->fn;
	p->precision = pred ? (double)p->tp / (double)pred : 1;
	p->recall = truth ? (double)p->tp / (double)truth : 1;
	p->f1 = p->precision + p->recall > 0
		    ? 2 * p->precision * p->recall / (p->precision + p->recall)
		    : 0;
}

int metrics_score(size_t n, const uint64_t *truth, const uint64_t *pred,
		  const int32_t *script, struct metrics *m)
{
	memset(m, 0, sizeof(*m));
	m->n = n;
	struct item *it = malloc((n ? n : 1) * sizeof(*it));
	if (it == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		it[i] = (struct item){pred[i], truth[i],
				      script ? script[i] : -1, 0, 0};

	uint64_t true_pairs = 0, true_x = 0;
	qsort(it, n, sizeof(*it), by_truth);
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && it[j].truth == it[i].truth; j++)
			;
		group_pairs(it + i, j - i, &true_pairs, &true_x);
		for (size_t k = i; k < j; k++)
			it[k].tsize = (uint32_t)(j - i);
		m->true_clusters++;
		m->true_multi += j - i > 1;
	}

	uint64_t pred_pairs = 0, pred_x = 0;
	qsort(it, n, sizeof(*it), by_pred);
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && it[j].pred == it[i].pred; j++)
			;
		group_pairs(it + i, j - i, &pred_pairs, &pred_x);
		for (size_t k = i; k < j; k++)
			it[k].psize = (uint32_t)(j - i);
		m->pred_clusters++;
	}

	uint64_t tp = 0, tp_x = 0;
	double b3p = 0, b3r = 0;
	qsort(it, n, sizeof(*it), by_cell);
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && it[j].pred == it[i].pred &&
				it[j].truth == it[i].truth;
		     j++)
			;
		double c = (double)(j - i);
		group_pairs(it + i, j - i, &tp, &tp_x);
		b3p += c * c / it[i].psize;
		b3r += c * c / it[i].tsize;
		if (j - i == it[i].psize && j - i == it[i].tsize) {
			m->exact_clusters++;
			m->exact_multi += j - i > 1;
		}
	}
	free(it);

	m->pairs = (struct metrics_pairs){
	    .tp = tp, .fp = pred_pairs - tp, .fn = true_pairs - tp};
	ratios(&m->pairs);
	m->cross = (struct metrics_pairs){
	    .tp = tp_x, .fp = pred_x - tp_x, .fn = true_x - tp_x};
	ratios(&m->cross);
	m->tn = c2(n) - pred_pairs - m->pairs.fn;
	m->b3_precision = n ? b3p / (double)n : 1;
	m->b3_recall = n ? b3r / (double)n : 1;
	m->b3_f1 = m->b3_precision + m->b3_recall > 0
		       ? 2 * m->b3_precision * m->b3_recall /
			     (m->b3_precision + m->b3_recall)
		       : 0;
	return 0;
}
