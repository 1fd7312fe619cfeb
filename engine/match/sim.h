/*
 * sim — string similarity kernels on byte strings (the engine compares
 * normalised ASCII).
 *
 * Lengths are in bytes; multi-byte UTF-8 sequences count byte by byte.
 * Inputs need not be NUL-terminated except for sim_token_set.
 *
 * Every kernel has a plain scalar reference (sim_*_ref) written as the
 * textbook algorithm; the public kernels return results bit-for-bit
 * identical to it, but take bit-parallel paths when the strings fit in a
 * 64-bit word (Jaro: both strings <= 64 bytes; Levenshtein and OSA: the
 * shorter one <= 64 bytes after the common prefix and suffix are
 * stripped) and fall back to the reference otherwise. Those paths come in
 * three flavours chosen at run time from the CPU (see enum sim_isa):
 * portable C, AVX2 and AVX-512.
 *
 * A string compared against many (one name against a block of candidates)
 * can be prepared once (struct sim_query): its per-byte position masks
 * are then built once, and the batch kernels compare it with 4 (AVX2) or
 * 8 (AVX-512) candidates at a time.
 *
 * No allocation. The only global is the selected instruction set, set
 * once at first use; every kernel is safe from any thread. Kernels work in
 * fixed stack buffers, which bounds the input they look at (SIM_LEN_MAX,
 * SIM_TOKENS_MAX below); real names and addresses are far below the
 * bounds.
 */
#ifndef RECONNU_SIM_H
#define RECONNU_SIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Longest input, in bytes, that the kernels compare in full. Jaro and
 *  Jaro-Winkler compare the first SIM_LEN_MAX bytes of each string.
 *  Levenshtein and OSA are exact as long as the shorter string fits;
 *  when both are longer, both are cut to their first SIM_LEN_MAX bytes. */
#define SIM_LEN_MAX 1024
/** Distinct tokens per side that sim_token_set looks at; tokens after the
 *  first SIM_TOKENS_MAX distinct ones are ignored. */
#define SIM_TOKENS_MAX 32

/** Jaro similarity in [0, 1]; 1 for two empty strings, 0 when exactly one
 *  is empty. Match window max(la, lb) / 2 - 1 (at least 0); half the
 *  out-of-order matched characters count as transpositions. */
double sim_jaro(const char *a, size_t la, const char *b, size_t lb);

/** Jaro-Winkler in [0, 1]: jaro + l * 0.1 * (1 - jaro), where l is the
 *  common prefix length capped at 4. The boost applies only when jaro is
 *  strictly above 0.7 (Winkler's threshold); below it, the result is the
 *  plain Jaro similarity. */
double sim_jaro_winkler(const char *a, size_t la, const char *b, size_t lb);

/** Levenshtein distance (insert, delete, substitute, each cost 1).
 *  With max >= 0 it returns the exact distance when that is <= max, and
 *  max + 1 (stopping early) when it is larger. max < 0: no cutoff. */
int sim_levenshtein(const char *a, size_t la, const char *b, size_t lb,
		    int max);

/** Optimal string alignment distance: Levenshtein plus transposition of
 *  two adjacent characters at cost 1, no substring edited twice (so
 *  osa("ca", "abc") = 3, not the Damerau 2). Same cutoff rule as
 *  sim_levenshtein. */
int sim_osa(const char *a, size_t la, const char *b, size_t lb, int max);

/** Token-set similarity in [0, 1] of two NUL-terminated lists of tokens
 *  separated by one or more spaces: order-insensitive, exact duplicates
 *  ignored; 2*|A∩B| / (|A|+|B|) over distinct tokens, where |A∩B| is the
 *  largest one-to-one pairing of tokens of A with tokens of B whose
 *  Jaro-Winkler is >= 0.9 (so "jon smith" / "john smith" scores 1).
 *  1 when both lists are empty, 0 when exactly one is. Symmetric. */
double sim_token_set(const char *a, const char *b);

/** The bytes of a string as a set and a count: enough to bound its
 *  Jaro-Winkler with another string without running the kernel. */
struct sim_bytes {
	uint64_t bits[2]; /**< bit b & 127 set for each byte b */
	size_t len;	  /**< bytes counted */
	size_t kinds;	  /**< bits set in bits */
};

/** The len bytes of s into b. */
void sim_bytes_of(struct sim_bytes *b, const char *s, size_t len);

/** Most bytes of a string with the bytes x that pair one to one with
 *  equal bytes of a string with the bytes y: at least as many as their
 *  Jaro matches; max(x->len, y->len) minus it is at most their
 *  Levenshtein and OSA distances (an edit changes the pairs by one at
 *  most). */
size_t sim_bytes_common(const struct sim_bytes *x, const struct sim_bytes *y);

/** An upper bound of sim_jaro_winkler(a, la, b, lb) for any strings a
 *  and b of 1 to 64 bytes whose bytes are x and y and whose common prefix
 *  is at most `prefix` bytes (4 when not known); 1 for equal strings. */
double sim_jw_bound_bytes(const struct sim_bytes *x, const struct sim_bytes *y,
			  size_t prefix);

/** One token of a list: a borrowed slice of the caller's string. */
struct sim_token {
	const char *s;	    /**< first byte, inside the caller's string */
	struct sim_bytes b; /**< its bytes; b.len is its length, > 0 */
	size_t count;	    /**< occurrences among the tokens read */
};

/** A token list split once, for a value compared with many (a query's
 *  street line): plain data in caller memory (about 1.5 KiB); nothing to
 *  destroy. It borrows the string, which must outlive it. */
struct sim_tokens {
	size_t n;	      /**< distinct tokens, at most SIM_TOKENS_MAX */
	int whole;	      /**< every token was read (none past the limit) */
	struct sim_bytes all; /**< bytes of every token read, repeats
				   included: when whole, the string's
				   without its spaces */
	struct sim_token t[SIM_TOKENS_MAX];
};

/** Splits s (NUL-terminated) as sim_token_set does into t. */
void sim_tokens_create(struct sim_tokens *t, const char *s);

/** sim_token_set of the two lists a and b were made from, bit for bit. */
double sim_token_set_tokens(const struct sim_tokens *a,
			    const struct sim_tokens *b);

/* ---- prepared query and batches ------------------------------------------ */

/** A string prepared for comparison against many others. Plain data in
 *  caller memory (about 2 KiB: keep one per query, not per pair); nothing
 *  to destroy. */
struct sim_query {
	const char *s;	  /**< the string, borrowed: must outlive the query */
	size_t len;	  /**< its length in bytes */
	char head[64];	  /**< its first 64 bytes, zero-padded */
	uint64_t pm[256]; /**< when len <= 64: bit i of pm[c] is set when
			       s[i] == c; unused otherwise */
};

/** Prepares q for the string s of len bytes (borrowed, see above). */
void sim_query_create(struct sim_query *q, const char *s, size_t len);

/** sim_jaro_winkler(q->s, q->len, b, lb), bit-for-bit. */
double sim_jw_prepared(const struct sim_query *q, const char *b, size_t lb);

/**
 * Jaro-Winkler of one query against n candidates: b[i] of lb[i] bytes.
 * For each i, out[i] is exactly sim_jaro_winkler(q->s, q->len, b[i],
 * lb[i]) whenever that score is >= cutoff. When the score is below
 * cutoff, out[i] is either that exact score or 0.0 (a candidate whose
 * length alone bounds its score under the cutoff is not compared at all).
 * cutoff <= 0 computes every score exactly. out must not overlap the
 * inputs.
 */
void sim_jw_batch(const struct sim_query *q, const char *const *b,
		  const size_t *lb, size_t n, double cutoff, double *out);

/** out[i] = sim_levenshtein(q->s, q->len, b[i], lb[i], max) for each of
 *  the n candidates, with the same cutoff rule. */
void sim_levenshtein_batch(const struct sim_query *q, const char *const *b,
			   const size_t *lb, size_t n, int max, int *out);

/** out[i] = sim_osa(q->s, q->len, b[i], lb[i], max) for each candidate. */
void sim_osa_batch(const struct sim_query *q, const char *const *b,
		   const size_t *lb, size_t n, int max, int *out);

/* ---- instruction sets ---------------------------------------------------- */

/** The instruction sets the bit-parallel paths can use. Every one returns
 *  the same results; only speed differs. */
enum sim_isa {
	SIM_ISA_SCALAR = 0, /**< portable C on 64-bit words */
	SIM_ISA_AVX2 = 1,   /**< AVX2, BMI1, BMI2, POPCNT */
	SIM_ISA_AVX512 = 2, /**< the above and AVX-512 F, BW, VL, VBMI(2) */
};

/** The set in use. At first use of any kernel it is the best the CPU
 *  supports, or the one named by the environment variable
 *  RECONNU_SIM_ISA=scalar|avx2|avx512 when the CPU supports that one. */
enum sim_isa sim_get_isa(void);

/** Forces the set the kernels use (tests, benchmarks). Takes effect for
 *  calls that start after it returns.
 *  @retval 0 done
 *  @retval -1 the CPU (or this build) lacks that set; nothing changed */
int sim_set_isa(enum sim_isa isa);

/** "scalar", "avx2" or "avx512"; NULL for a value outside the enum. */
const char *sim_isa_name(enum sim_isa isa);

/* ---- references ---------------------------------------------------------- */

/** The scalar textbook kernels that define the results above: window scan
 *  over bit flags for Jaro, row-by-row DP for the edit distances (after
 *  stripping the common prefix and suffix). Same contracts as the kernels
 *  without the _ref suffix; slower. */
double sim_jaro_ref(const char *a, size_t la, const char *b, size_t lb);
double sim_jaro_winkler_ref(const char *a, size_t la, const char *b, size_t lb);
int sim_levenshtein_ref(const char *a, size_t la, const char *b, size_t lb,
			int max);
int sim_osa_ref(const char *a, size_t la, const char *b, size_t lb, int max);

#ifdef __cplusplus
}
#endif
#endif
