/*
 * em — unsupervised estimation of the Fellegi–Sunter model from the data,
 * the way Splink does it, without labels:
 *
 *  - u (chance of each comparison level for two different people) is
 *    counted over random pairs of records, which are almost all
 *    non-matches;
 *  - m (chance of each level for two records of one person) and the share
 *    of matches among blocked pairs are fitted by expectation–maximisation
 *    over the comparison vectors of blocked pairs (pairs that share a
 *    blocking key), with u held fixed;
 *  - the prior is the estimated share of matches among all pairs:
 *    matches found among the blocked pairs, scaled to all pairs.
 *
 * The caller computes the comparison vectors (one level per attribute,
 * SCORE_MISSING where a side has no value) and hands them over; this
 * module is pure arithmetic: deterministic, no globals, no I/O.
 */
#ifndef RECONNU_EM_H
#define RECONNU_EM_H

#include <stddef.h>
#include <stdint.h>

#include "score.h"

/** One comparison vector: the level of every attribute. */
struct em_gamma {
	uint8_t level[SCORE_NATTR];
};

struct em_input {
	const struct em_gamma *blocked; /**< vectors of blocked pairs */
	size_t n_blocked;
	const struct em_gamma *random; /**< vectors of random pairs */
	size_t n_random;
	/** How many pairs of all the records the blocked sample stands for:
	 *  the estimated number of matching pairs overall is
	 *  share_of_matches * n_blocked * blocked_scale. */
	double blocked_scale;
	double n_records; /**< records loaded (all pairs = n(n-1)/2) */
	int max_iterations; /**< 0: 50 */
};

struct em_report {
	int iterations;
	int converged;          /**< largest change of m fell below 1e-6 */
	double match_share;     /**< among blocked pairs */
	double expected_matches; /**< estimated matching pairs overall */
	double m[SCORE_NATTR][SCORE_NLEVEL];
	double u[SCORE_NATTR][SCORE_NLEVEL];
	/** Attributes (bit 1 << attr) whose estimate was implausible or
	 *  too thin: they keep the default m (with u measured). */
	unsigned fallback;
	/** Pairs (random and blocked) seen at each level; a level seen
	 *  fewer than EM_MIN_SEEN times keeps its weight. */
	double seen[SCORE_NATTR][SCORE_NLEVEL];
};

/**
 * Estimates m, u and the prior; writes the weights log2(m/u) of every
 * level the attribute uses (score_default_mu) and the prior into *model.
 * Safeguard: the levels of an attribute are ordered by similarity, so
 * must their weights be (exact >= close >= far >= different, nickname,
 * initial and partial in between), and a disagreement must count against
 * (<= EM_DIFFERENT_MAX_NAME bits for names, EM_DIFFERENT_MAX for the
 * rest); an attribute whose estimate breaks that
 * keeps the default m, with the measured u (report->fallback). Writes
 * leaving its other fields as they were. Weights are bounded to
 * [EM_WEIGHT_MIN, EM_WEIGHT_MAX] so that a level never seen among random
 * pairs cannot decide alone.
 * @retval 0, -1 when the input is too small to say anything (fewer than
 * EM_MIN_PAIRS blocked or random pairs: *model unchanged), -2 on ENOMEM.
 */
int em_estimate(const struct em_input *in, struct score_model *model,
		struct em_report *rep);

#define EM_MIN_PAIRS 50
/** A disagreement on a name must weigh at most this much (bits): an
 *  estimate that finds other names nearly as common among matches as
 *  among non-matches has learnt households (one address, one family
 *  name, several given names; a family name changed at marriage), and
 *  two people of one household would then merge on their address. */
#define EM_DIFFERENT_MAX_NAME -3.5
/** A disagreement on any other attribute must weigh at most this much
 *  (it must at least halve the odds). Dates, e-mails, phones and
 *  addresses are keyed wrong or replaced by some sources, and people
 *  hold several: a quarter of the matches disagreeing on a birth date is
 *  what the data says, not a sign that EM went astray. */
#define EM_DIFFERENT_MAX -1.0
/** Posterior match mass an attribute needs in its training session for
 *  its m to be estimated (else its weights stay as they were). */
#define EM_MIN_MASS 20.0
/** Pairs a level must be seen in for its weight to be estimated. */
#define EM_MIN_SEEN 5.0
#define EM_WEIGHT_MIN -12.0
#define EM_WEIGHT_MAX 20.0

#endif
