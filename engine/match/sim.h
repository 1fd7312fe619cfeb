/*
 * sim — string similarity kernels on byte strings (the engine compares
 * normalised ASCII). Scalar reference implementations; SIMD batch kernels
 * with run-time dispatch arrive with the performance work and must return
 * identical results.
 *
 * Lengths are in bytes; multi-byte UTF-8 sequences count byte by byte.
 * Inputs need not be NUL-terminated except for sim_token_set.
 *
 * No allocation, no globals: safe from any thread. Every kernel works in
 * fixed stack buffers, which bounds the input it looks at (SIM_LEN_MAX,
 * SIM_TOKENS_MAX below); real names and addresses are far below the bounds.
 */
#ifndef RECONNU_SIM_H
#define RECONNU_SIM_H

#include <stddef.h>

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

#ifdef __cplusplus
}
#endif
#endif
