/*
 * pairs.h — scored record pairs of a loaded data set: what the threshold
 * sweep and the worst-error report of reconnu-eval are made of.
 *
 * After the load, through the public API only:
 *  - every record is identified (reconnu_identify) against the engine: each
 *    other entity among its candidates gives a pair (record, that entity's
 *    best-scoring member) with its probability, i.e. the pairs the
 *    engine's blocking lets it compare;
 *  - every pair of records inside one predicted entity is scored with
 *    reconnu_explain_records;
 *  - with `missed`, so are the true pairs the engine left in two entities
 *    (for the worst false negatives; they do not enter the sweep unless
 *    identify found them).
 *
 * The sweep clusters the records at a threshold t by union-find over the
 * pairs of probability >= t (single linkage). This approximates the
 * engine, which links each new record to its best candidates at upsert
 * time against the records already loaded (and may split entities): at
 * the engine's own threshold the two differ a little, so both are shown.
 */
#ifndef RECONNU_PAIRS_H
#define RECONNU_PAIRS_H

#include "dataset.h"
#include "metrics.h"
#include "reconnu.h"

#include <stddef.h>
#include <stdint.h>

enum pair_flags {
	PAIR_CANDIDATE = 1, /**< found by identify (across entities) */
	PAIR_SAME = 2,	    /**< both records in one predicted entity */
	PAIR_MISSED = 4,    /**< a true pair in two predicted entities */
};

/** Two rows of the dataset, a < b. */
struct pair {
	uint32_t a, b;
	double p;	/**< link probability */
	unsigned flags; /**< enum pair_flags */
};

struct pairs {
	struct pair *v; /**< sorted by (a, b), no duplicates */
	size_t n, cap;
	uint64_t identify_calls, explain_calls;
};

/** Scores the pairs described above. d's predictions must be read
 *  (dataset_predict). Errors are reported on stderr.
 *  @retval 0 ok, -1 failed (out of memory, or an engine call failed) */
int pairs_collect(struct pairs *ps, reconnu *r, const struct dataset *d,
		  bool missed);
void pairs_destroy(struct pairs *ps);

/** One point of the sweep: the approximate clustering at threshold t. */
struct sweep_point {
	double threshold;
	struct metrics m;
};

/**
 * Scores the union-find clustering at each threshold thr[0..n) (any
 * order) into out[0..n) (same order).
 * @retval 0 ok, -1 out of memory
 */
int pairs_sweep(const struct pairs *ps, const struct dataset *d,
		const double *thr, size_t n, struct sweep_point *out);

/** One worst error: a pair of rows and its probability. */
struct worst {
	uint32_t a, b;
	double p;
	bool compared; /**< false negatives: identify paired the two
			    entities (blocking found them) */
};

/**
 * The n worst errors of the engine's clustering, worst first:
 *  - fp: per impure predicted entity, its highest-probability pair of
 *    records from two true classes (the link that most likely merged
 *    them); entities ranked by that probability;
 *  - fn: per pair of predicted entities holding one true class, its
 *    highest-probability true pair (needs pairs_collect with missed).
 * Arrays of n items; *n_fp, *n_fn say how many were found.
 * @retval 0 ok, -1 out of memory
 */
int pairs_worst(const struct pairs *ps, const struct dataset *d, size_t n,
		struct worst *fp, size_t *n_fp, struct worst *fn, size_t *n_fn);

#endif /* RECONNU_PAIRS_H */
