/*
 * metrics.h — scores a predicted partition of records against the true one.
 *
 * Pairwise: a pair of records is predicted when both are in the same
 * predicted cluster, true when both have the same truth class; precision
 * = TP / predicted pairs, recall = TP / true pairs. Counts come from the
 * contingency table of (predicted, true) cells, TP being the sum of C(n, 2)
 * over its cells, so the cost is a sort, never O(n²).
 *
 * B-cubed (Bagga & Baldwin 1998): per record, precision = share of its
 * predicted cluster that is in its true class, recall = share of its true
 * class that is in its predicted cluster; both averaged over records.
 *
 * Exact clusters: true classes whose records form one predicted cluster,
 * nothing more, nothing less.
 *
 * Cross-script: the pairwise figures restricted to pairs whose two records
 * have their names written in two different scripts (both known).
 */
#ifndef RECONNU_METRICS_H
#define RECONNU_METRICS_H

#include <stddef.h>
#include <stdint.h>

/** Pairwise counts and ratios over one set of pairs. A ratio with an
 *  empty denominator is 1 (nothing to find, nothing wrong). */
struct metrics_pairs {
	uint64_t tp, fp, fn;
	double precision, recall, f1;
};

struct metrics {
	uint64_t n; /**< records */
	uint64_t true_clusters, pred_clusters;
	struct metrics_pairs pairs; /**< all pairs */
	uint64_t tn;		    /**< C(n, 2) - TP - FP - FN */
	double b3_precision, b3_recall, b3_f1;
	uint64_t exact_clusters;    /**< true classes reproduced exactly */
	uint64_t true_multi;	    /**< true classes of two records or more */
	uint64_t exact_multi;	    /**< ... of which reproduced exactly */
	struct metrics_pairs cross; /**< pairs written in two scripts */
};

/**
 * Scores n records. truth[i] and pred[i] are the true class and the
 * predicted cluster of record i (any ids: equal ids = same class/cluster);
 * script[i] the script of its name (< 0 unknown), or script NULL.
 * @retval 0 ok, -1 out of memory
 */
int metrics_score(size_t n, const uint64_t *truth, const uint64_t *pred,
		  const int32_t *script, struct metrics *m);

#endif /* RECONNU_METRICS_H */
