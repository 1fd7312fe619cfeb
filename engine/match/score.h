/*
 * score — Fellegi–Sunter comparison of two normalised records.
 *
 * Each attribute is compared into one of a few levels (exact / nickname /
 * close / far / different / missing …); each level carries a match weight
 * log2(m/u), where m = P(level | same person) and u = P(level | different
 * people). The record-pair weight is the prior log-odds plus the sum of the
 * attribute weights; probability = 2^w / (1 + 2^w). "missing" weighs 0.
 *
 * The default m/u values are taken from practice (see score.c); estimating
 * them from the data (EM) comes with the match-quality work. Swapped given
 * and family names are recognised: both orders are scored, the better one
 * is kept with a small penalty.
 *
 * Thread safety: a model is read-only once built; score_pair is reentrant.
 */
#ifndef RECONNU_SCORE_H
#define RECONNU_SCORE_H

#include "norm.h"
#include "store.h"

enum score_attr {
	SCORE_GIVEN,
	SCORE_FAMILY,
	SCORE_BIRTH,
	SCORE_GENDER,
	SCORE_EMAIL,
	SCORE_PHONE,
	SCORE_POSTCODE,
	SCORE_CITY,
	SCORE_STREET,
	SCORE_IDENT,
	SCORE_NATTR
};

/** Comparison levels; not every attribute uses every level. */
enum score_level {
	SCORE_MISSING, /**< one side has no value: weight 0 */
	SCORE_EXACT,
	SCORE_NICKNAME, /**< known given-name variants (bob ~ robert) */
	SCORE_CLOSE,    /**< small typo / token subset / swapped day-month */
	SCORE_INITIAL,  /**< an initial agreeing with a name */
	SCORE_PARTIAL,  /**< agree on what both know (year-only dates) */
	SCORE_FAR,      /**< weakly similar */
	SCORE_DIFFERENT,
	SCORE_NLEVEL
};

struct score_model {
	double prior;                                /**< log2 prior odds */
	double weight[SCORE_NATTR][SCORE_NLEVEL];    /**< log2(m/u) */
	double swap_penalty; /**< subtracted when names match swapped */
};

/** The built-in model (defaults from practice). */
void score_model_default(struct score_model *m);

/** Name of an attribute ("given_name", …) and of a level ("exact", …). */
const char *score_attr_name(enum score_attr a);
const char *score_level_name(enum score_level l);

struct score_feature {
	enum score_attr attr;
	enum score_level level;
	const char *left, *right; /**< borrowed from the records; "" if none */
	double similarity;        /**< -1 when not applicable */
	double weight;
};

struct score_explain {
	struct score_feature f[SCORE_NATTR];
	int n;
	int swapped; /**< names matched in swapped order */
};

/**
 * Weight of the pair (a, b), prior included. nn may be NULL (no nickname
 * level). ex may be NULL; when given it receives one feature per attribute
 * (pointers borrowed from a and b).
 */
double score_pair(const struct score_model *m, const struct norm_nicknames *nn,
		  const struct store_rec *a, const struct store_rec *b,
		  struct score_explain *ex);

/** Probability of a weight: 2^w / (1 + 2^w). */
double score_probability(double w);

#endif
