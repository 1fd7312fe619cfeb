/*
 * sim — scalar string similarity kernels.
 *
 * Jaro marks matched characters in bit sets instead of the usual byte
 * arrays. Strings of up to 64 bytes (every real name) take a bit-parallel
 * path: one word of flags per side and a table of b's character
 * positions, so finding a character's match is a mask and a ctz rather
 * than a scan of the window. Longer strings scan the window over
 * SIM_LEN_MAX-bit flag sets on the stack. Both paths pick the same
 * (first free) match, so they agree exactly. Transpositions are the
 * matched characters out of order, halved with integer division as in
 * Winkler's strcmp95.
 *
 * Levenshtein and OSA first strip the common prefix and suffix (which
 * never changes either distance), then run the textbook row-by-row DP
 * over the shorter string with two rows (three for OSA) of
 * SIM_LEN_MAX + 1 ints on the stack. With a cutoff they stop as soon as
 * every cell of the current row (and, for OSA, of the previous row too,
 * since a transposition can step over one row) exceeds max: costs along
 * an alignment path never decrease, so the distance can only be larger.
 */
#include "sim.h"

#include <stdint.h>
#include <string.h>

#define SIM_WORDS ((SIM_LEN_MAX + 63) / 64)

static inline size_t sim__min(size_t a, size_t b)
{
	return a < b ? a : b;
}

static double sim__jaro_score(size_t m, size_t mismatched, size_t la, size_t lb)
{
	if (m == 0)
		return 0.0;
	double dm = (double)m;
	double t = (double)(mismatched / 2);
	return (dm / (double)la + dm / (double)lb + (dm - t) / dm) / 3.0;
}

/** Bits lo..hi-1 of a word, 0 <= lo <= hi <= 64. */
static inline uint64_t sim__bits(size_t lo, size_t hi)
{
	uint64_t below_hi = hi == 64 ? ~UINT64_C(0) : (UINT64_C(1) << hi) - 1;
	return below_hi & ~((UINT64_C(1) << lo) - 1);
}

/** Jaro for la, lb <= 64, bit-parallel: pos[c] has bit j set when
 *  b[j] == c, so each character of a finds its first free match in the
 *  window with one mask and one count-trailing-zeros. Only the entries
 *  of pos for bytes of a and b are initialised, and only those are read. */
static double sim__jaro64(const char *a, size_t la, const char *b, size_t lb,
			  size_t window)
{
	uint64_t pos[256];

	for (size_t i = 0; i < la; i++)
		pos[(unsigned char)a[i]] = 0;
	for (size_t j = 0; j < lb; j++)
		pos[(unsigned char)b[j]] = 0;
	for (size_t j = 0; j < lb; j++)
		pos[(unsigned char)b[j]] |= UINT64_C(1) << j;

	uint64_t fa = 0, fb = 0;
	for (size_t i = 0; i < la; i++) {
		size_t lo = i > window ? i - window : 0;
		size_t hi = sim__min(i + window + 1, lb);
		if (lo >= hi)
			break;
		uint64_t cand =
		    pos[(unsigned char)a[i]] & ~fb & sim__bits(lo, hi);
		uint64_t first = cand & -cand;
		fb |= first;
		fa |= (uint64_t)(first != 0) << i;
	}

	size_t m = (size_t)__builtin_popcountll(fa);
	size_t mismatched = 0;
	for (; fa != 0; fa &= fa - 1, fb &= fb - 1)
		mismatched += a[__builtin_ctzll(fa)] != b[__builtin_ctzll(fb)];
	return sim__jaro_score(m, mismatched, la, lb);
}

double sim_jaro(const char *a, size_t la, const char *b, size_t lb)
{
	uint64_t fa[SIM_WORDS], fb[SIM_WORDS];

	if (la > SIM_LEN_MAX)
		la = SIM_LEN_MAX;
	if (lb > SIM_LEN_MAX)
		lb = SIM_LEN_MAX;
	if (la == 0 && lb == 0)
		return 1.0;
	if (la == 0 || lb == 0)
		return 0.0;

	size_t window = (la > lb ? la : lb) / 2;
	window = window > 0 ? window - 1 : 0;
	if (la <= 64 && lb <= 64)
		return sim__jaro64(a, la, b, lb, window);

	memset(fa, 0, (la + 63) / 64 * sizeof(fa[0]));
	memset(fb, 0, (lb + 63) / 64 * sizeof(fb[0]));
	size_t m = 0;
	for (size_t i = 0; i < la; i++) {
		size_t lo = i > window ? i - window : 0;
		size_t hi = sim__min(i + window + 1, lb);
		for (size_t j = lo; j < hi; j++) {
			uint64_t bit = UINT64_C(1) << (j & 63);
			if ((fb[j >> 6] & bit) || a[i] != b[j])
				continue;
			fb[j >> 6] |= bit;
			fa[i >> 6] |= UINT64_C(1) << (i & 63);
			m++;
			break;
		}
	}

	size_t mismatched = 0;
	size_t j = 0;
	for (size_t w = 0; w < (la + 63) / 64; w++) {
		for (uint64_t bits = fa[w]; bits != 0; bits &= bits - 1) {
			size_t i = w * 64 + (size_t)__builtin_ctzll(bits);
			while (!(fb[j >> 6] & (UINT64_C(1) << (j & 63))))
				j++;
			mismatched += a[i] != b[j];
			j++;
		}
	}
	return sim__jaro_score(m, mismatched, la, lb);
}

double sim_jaro_winkler(const char *a, size_t la, const char *b, size_t lb)
{
	double jaro = sim_jaro(a, la, b, lb);
	if (jaro <= 0.7)
		return jaro;
	size_t limit = sim__min(sim__min(la, lb), 4);
	size_t l = 0;
	while (l < limit && a[l] == b[l])
		l++;
	return jaro + (double)l * 0.1 * (1.0 - jaro);
}

/**
 * Shared set-up of the edit distances: strips the common prefix and
 * suffix, orders the pair so that *b is the shorter one, applies the
 * SIM_LEN_MAX bound and the length-difference cutoff.
 * @retval -1 the DP must run; otherwise the final distance.
 */
static int sim__edit_prepare(const char **a, size_t *la, const char **b,
			     size_t *lb, int max)
{
	while (*la > 0 && *lb > 0 && **a == **b) {
		(*a)++, (*b)++;
		(*la)--, (*lb)--;
	}
	while (*la > 0 && *lb > 0 && (*a)[*la - 1] == (*b)[*lb - 1])
		(*la)--, (*lb)--;
	if (*la < *lb) {
		const char *p = *a;
		size_t l = *la;
		*a = *b, *la = *lb;
		*b = p, *lb = l;
	}
	if (*lb > SIM_LEN_MAX) {
		*la = SIM_LEN_MAX;
		*lb = SIM_LEN_MAX;
	}
	if (max >= 0 && *la - *lb > (size_t)max)
		return max + 1;
	if (*lb == 0)
		return (int)*la;
	return -1;
}

int sim_levenshtein(const char *a, size_t la, const char *b, size_t lb, int max)
{
	int row[2][SIM_LEN_MAX + 1];

	int d = sim__edit_prepare(&a, &la, &b, &lb, max);
	if (d >= 0)
		return d;

	int *prev = row[0], *cur = row[1];
	for (size_t j = 0; j <= lb; j++)
		prev[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		char ca = a[i - 1];
		int row_min = cur[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int v = prev[j - 1] + (ca != b[j - 1]);
			if (prev[j] + 1 < v)
				v = prev[j] + 1;
			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			cur[j] = v;
			if (v < row_min)
				row_min = v;
		}
		if (max >= 0 && row_min > max)
			return max + 1;
		int *t = prev;
		prev = cur, cur = t;
	}
	d = prev[lb];
	return max >= 0 && d > max ? max + 1 : d;
}

int sim_osa(const char *a, size_t la, const char *b, size_t lb, int max)
{
	int row[3][SIM_LEN_MAX + 1];

	int d = sim__edit_prepare(&a, &la, &b, &lb, max);
	if (d >= 0)
		return d;

	int *prev2 = row[0], *prev = row[1], *cur = row[2];
	int prev_min = 0;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		char ca = a[i - 1];
		int row_min = cur[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int v = prev[j - 1] + (ca != b[j - 1]);
			if (prev[j] + 1 < v)
				v = prev[j] + 1;
			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			if (i > 1 && j > 1 && ca == b[j - 2] &&
			    a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < v)
				v = prev2[j - 2] + 1;
			cur[j] = v;
			if (v < row_min)
				row_min = v;
		}
		if (max >= 0 && row_min > max && prev_min > max)
			return max + 1;
		prev_min = row_min;
		int *t = prev2;
		prev2 = prev, prev = cur, cur = t;
	}
	d = prev[lb];
	return max >= 0 && d > max ? max + 1 : d;
}

/** One token of a sim_token_set list: a borrowed slice of the input. */
struct sim_token {
	const char *s; /**< first byte, inside the caller's string */
	size_t len;    /**< length in bytes, > 0 */
};

/** Splits s on spaces into at most SIM_TOKENS_MAX distinct tokens.
 *  @return the number of tokens stored in out. */
static size_t sim__tokenize(const char *s, struct sim_token *out)
{
	size_t n = 0;
	while (*s != '\0' && n < SIM_TOKENS_MAX) {
		while (*s == ' ')
			s++;
		const char *start = s;
		while (*s != '\0' && *s != ' ')
			s++;
		size_t len = (size_t)(s - start);
		if (len == 0)
			break;
		size_t k = 0;
		while (k < n &&
		       (out[k].len != len || memcmp(out[k].s, start, len) != 0))
			k++;
		if (k == n)
			out[n++] = (struct sim_token){start, len};
	}
	return n;
}

/** Kuhn's augmenting path from left vertex u over adjacency bit masks. */
static int sim__augment(const uint32_t *adj, size_t u, uint32_t *seen,
			int *match_right)
{
	for (uint32_t bits = adj[u] & ~*seen; bits != 0; bits &= bits - 1) {
		int v = __builtin_ctz(bits);
		*seen |= UINT32_C(1) << v;
		if (match_right[v] < 0 ||
		    sim__augment(adj, (size_t)match_right[v], seen,
				 match_right)) {
			match_right[v] = (int)u;
			return 1;
		}
	}
	return 0;
}

double sim_token_set(const char *a, const char *b)
{
	_Static_assert(SIM_TOKENS_MAX <= 32, "adjacency is a uint32_t mask");
	struct sim_token ta[SIM_TOKENS_MAX], tb[SIM_TOKENS_MAX];
	uint32_t adj[SIM_TOKENS_MAX];
	int match_right[SIM_TOKENS_MAX];

	size_t na = sim__tokenize(a, ta);
	size_t nb = sim__tokenize(b, tb);
	if (na == 0 && nb == 0)
		return 1.0;
	if (na == 0 || nb == 0)
		return 0.0;

	for (size_t i = 0; i < na; i++) {
		adj[i] = 0;
		for (size_t j = 0; j < nb; j++) {
			int same = ta[i].len == tb[j].len &&
				   memcmp(ta[i].s, tb[j].s, ta[i].len) == 0;
			if (same || sim_jaro_winkler(ta[i].s, ta[i].len,
						     tb[j].s, tb[j].len) >= 0.9)
				adj[i] |= UINT32_C(1) << j;
		}
	}
	for (size_t j = 0; j < nb; j++)
		match_right[j] = -1;
	size_t shared = 0;
	for (size_t i = 0; i < na; i++) {
		uint32_t seen = 0;
		shared += (size_t)sim__augment(adj, i, &seen, match_right);
	}
	return 2.0 * (double)shared / (double)(na + nb);
}
