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

#include <stddef.h>
#include <stdint.h>

#include "norm.h"
#include "reconnu.h"
#include "sim.h"
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
	/** Term-frequency adjustment (see score_tf): scale of the
	 *  adjustment (1 = in full, 0 = off) and its bounds in bits upwards
	 *  (rare values) and downwards (common values). The default m/u are
	 *  measured among blocked pairs, where common values already
	 *  dominate agreement, so by default only rare values adjust
	 *  (tf_max_down = 0). */
	double tf_scale, tf_max, tf_max_down;
};

/** The built-in model (defaults from practice). */
void score_model_default(struct score_model *m);

/** Size of an encoded model. */
#define SCORE_MODEL_BYTES (8 + 8 * (5 + SCORE_NATTR * SCORE_NLEVEL))
/** Encodes m into SCORE_MODEL_BYTES bytes (a format tag, then IEEE-754
 *  doubles in little-endian order), for the log and snapshots. */
void score_model_encode(const struct score_model *m, uint8_t *out);
/** @retval 0, or -1 when p is not an encoded model (wrong size or tag, a
 *  value that is not finite): *m unchanged. */
int score_model_decode(const uint8_t *p, size_t n, struct score_model *m);

/** The default m and u of level l of attribute a.
 *  @retval 0, or -1 when the attribute does not use that level. */
int score_default_mu(enum score_attr a, enum score_level l, double *m,
		     double *u);

/** Whether attribute a has a level l (and so a weight for it). */
int score_level_used(enum score_attr a, enum score_level l);

/** Name of an attribute ("given_name", …) and of a level ("exact", …). */
const char *score_attr_name(enum score_attr a);
const char *score_level_name(enum score_level l);

struct score_feature {
	enum score_attr attr;
	enum score_level level;
	const char *left, *right; /**< borrowed from the records; "" if none */
	double similarity;        /**< -1 when not applicable */
	double weight;            /**< tf included */
	double tf;                /**< term-frequency adjustment in weight */
};

struct score_explain {
	struct score_feature f[SCORE_NATTR];
	int n;
	int swapped; /**< names matched in swapped order */
	int names_alone; /**< only the names agreed: capped (see below) */
};

/** Total weight (log2 odds, prior included) at most for two records whose
 *  names are all that agrees: probability 0.93, a possible match under
 *  the default thresholds (0.90 / 0.96), never an automatic link. */
#define SCORE_NAMES_ALONE_MAX 3.7

/**
 * Weight of the pair (a, b), prior included. nn may be NULL (no nickname
 * level). ex may be NULL; when given it receives one feature per attribute
 * (pointers borrowed from a and b).
 */
double score_pair(const struct score_model *m, const struct norm_nicknames *nn,
		  const struct store_rec *a, const struct store_rec *b,
		  struct score_explain *ex);

/*
 * Term frequencies. Agreeing on a rare value ("zwicky") is stronger
 * evidence than agreeing on a common one ("smith"). For an exact agreement
 * on value v of given name, family name, city or postcode the weight gets
 *     adj = log2(u / f(v)),  u = sum over values of f(w)^2,
 * where f(v) is v's share of the records holding the attribute and u the
 * chance that two random records agree on it (Splink's adjustment), scaled
 * by model->tf_scale and bounded by ±model->tf_max. Below
 * SCORE_TF_MIN_RECORDS records the shares say nothing and adj is 0.
 *
 * The tables count normalised values (hashed) of the records stored; the
 * engine updates them under its write lock with every upsert and delete,
 * so they follow the data deterministically (replay rebuilds them).
 */
#define SCORE_TF_MIN_RECORDS 200
struct score_tf;

/** @retval NULL on allocation failure. */
struct score_tf *score_tf_new(void);
void score_tf_free(struct score_tf *tf);
/** Counts r's values in (delta 1) or out (delta -1).
 *  @retval 0, or -1 when a table could not grow (counts unchanged). */
int score_tf_update(struct score_tf *tf, const struct store_rec *r, int delta);
/** The adjustment in bits for an exact agreement on value of attr (0 for
 *  attributes without a table, unknown values and small tables). */
double score_tf_adjust(const struct score_tf *tf, const struct score_model *m,
		       enum score_attr attr, const char *value);
/** Distinct values counted for attr (statistics, tests). */
size_t score_tf_distinct(const struct score_tf *tf, enum score_attr attr);

/** score_pair with term-frequency adjustment; tf may be NULL. */
double score_pair_tf(const struct score_model *m,
		     const struct norm_nicknames *nn, const struct score_tf *tf,
		     const struct store_rec *a, const struct store_rec *b,
		     struct score_explain *ex);

/** Longest romanisation skeleton of a name (see score.c); longer names
 *  have none. */
#define SCORE_ROMAN_MAX 64
/** A name's romanisation skeleton: n bytes in s, NUL-terminated; n = 0
 *  when it has none. */
struct score_roman {
	int n;
	char s[SCORE_ROMAN_MAX + 1];
};

/** Street lines of a prepared record split beforehand (later ones are
 *  split on every comparison). */
#define SCORE_QUERY_STREETS 4

/**
 * A record prepared as the left side of many comparisons: an identify
 * query, or an upserted record, against its candidates. What
 * score_pair_tf derives from the left record on every call is computed
 * once: the Jaro masks, bytes and romanisation skeletons of its names, its
 * given name's nickname lookup, the tokens of its street lines and its
 * term-frequency adjustments.
 * Plain data in caller memory (about 11 KiB: one per request, not per
 * pair); nothing to destroy. It borrows rec, m, tf and nn, which must
 * outlive it and stay unchanged while it is used (the engine's lock).
 */
struct score_query {
	const struct store_rec *rec;	/**< the left record */
	const struct score_model *m;	/**< the model of the adjustments */
	const struct score_tf *tf;	/**< their tables; NULL: none */
	const struct norm_nicknames *nn; /**< name variants; NULL: none */
	struct sim_query given, family; /**< rec->given, rec->family */
	struct norm_nickname given_nick; /**< rec->given looked up in nn */
	struct sim_bytes given_bytes, family_bytes;   /**< their bytes */
	struct score_roman given_roman, family_roman; /**< their skeletons */
	double tf_given, tf_family;	/**< score_tf_adjust of the names */
	/** score_tf_adjust of the city and postcode of rec->addrs[i], for
	 *  the first RECONNU_MAX_LIST addresses */
	double tf_city[RECONNU_MAX_LIST], tf_postcode[RECONNU_MAX_LIST];
	/** the tokens of rec->addrs[i].line, for the first
	 *  SCORE_QUERY_STREETS addresses */
	struct sim_tokens street[SCORE_QUERY_STREETS];
};

/** Prepares q for rec under model m, tables tf and name variants nn
 *  (either may be NULL). */
void score_query_create(struct score_query *q, const struct score_model *m,
			const struct score_tf *tf,
			const struct norm_nicknames *nn,
			const struct store_rec *rec);

/** score_pair_tf(q->m, q->nn, q->tf, q->rec, b, ex), bit for bit
 *  (weights, levels, explanation), without redoing q's share of the
 *  work. */
double score_pair_prepared(const struct score_query *q,
			   const struct store_rec *b, struct score_explain *ex);

/**
 * Never-match evidence: 1 when a and b cannot be one person whatever the
 * rest says — both carry a full birth date and the dates differ by more
 * than a typo, or both carry an identifier of the same type (a national
 * id, a loyalty card of one programme) with different values and none of
 * that type in common. "More than a typo" is three or
 * more edits (OSA distance) between the values — the eight digits
 * YYYYMMDD of a date (day and month swapped excepted), the characters of
 * an identifier: typists hit one or two. The engine refuses to put such
 * records in one entity (see engine.c, anti-chaining).
 */
int score_never_match(const struct store_rec *a, const struct store_rec *b);

/** What score_never_cmp() found between two records: bits. */
enum score_never {
	SCORE_NEVER_DATE_AGREE = 1,    /**< full birth dates within a typo */
	SCORE_NEVER_DATE_CONFLICT = 2, /**< full birth dates further apart */
	SCORE_NEVER_ID_AGREE = 4,      /**< an identifier within a typo */
	SCORE_NEVER_ID_CONFLICT = 8,   /**< identifiers of one type differ */
	SCORE_NEVER_GIVEN_AGREE = 16,    /**< score_given_cmp(): agree */
	SCORE_NEVER_GIVEN_CONFLICT = 32, /**< score_given_cmp(): differ */
};

/**
 * The evidence score_never_match() weighs, each kind on its own: 0 when
 * a and b have no full birth dates or identifiers of one type to
 * compare. score_never_match(a, b) is a conflict of either kind. An
 * entity's records agreeing with some records of another on a date and
 * conflicting with others say that person's dates are keyed noisily
 * (engine.c, anti-chaining).
 */
unsigned score_never_cmp(const struct store_rec *a, const struct store_rec *b);

/**
 * Given names of a and b: SCORE_NEVER_GIVEN_AGREE when both have one and
 * they are anything but DIFFERENT (exact, nickname, close, initial, far,
 * or one given name the other's family name), SCORE_NEVER_GIVEN_CONFLICT
 * when they differ, 0 when either is missing. Not never-match evidence
 * on its own (sources replace given names): engine.c weighs it across
 * two entities of several records each (a household).
 */
unsigned score_given_cmp(const struct norm_nicknames *nn,
			 const struct store_rec *a, const struct store_rec *b);

/** Probability of a weight: 2^w / (1 + 2^w). */
double score_probability(double w);

#endif
