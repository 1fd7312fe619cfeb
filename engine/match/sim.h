/*
 * sim — string similarity kernels on byte strings (the engine compares
 * normalised ASCII). Scalar reference implementations; SIMD batch kernels
 * with run-time dispatch arrive with the performance work and must return
 * identical results.
 *
 * No allocation, no globals: safe from any thread.
 */
#ifndef RECONNU_SIM_H
#define RECONNU_SIM_H

#include <stddef.h>

/** Jaro similarity in [0, 1]; 1 for two empty strings. */
double sim_jaro(const char *a, size_t la, const char *b, size_t lb);

/** Jaro-Winkler (prefix scale 0.1, max prefix 4, boost above 0.7). */
double sim_jaro_winkler(const char *a, size_t la, const char *b, size_t lb);

/** Levenshtein distance; stops early and returns max + 1 when the
 *  distance exceeds max (max < 0: no cutoff). */
int sim_levenshtein(const char *a, size_t la, const char *b, size_t lb,
		    int max);

/** Optimal string alignment distance (Levenshtein + adjacent
 *  transpositions), same cutoff rule. */
int sim_osa(const char *a, size_t la, const char *b, size_t lb, int max);

/** Token-set similarity in [0, 1] of two space-separated token lists:
 *  order-insensitive, duplicates ignored; 2*|A∩B| / (|A|+|B|) over tokens,
 *  where tokens with Jaro-Winkler >= 0.9 count as shared. */
double sim_token_set(const char *a, const char *b);
#endif
