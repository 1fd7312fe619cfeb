/*
 * sim_impl.h — internals shared by sim.c and the per-instruction-set
 * kernel files (sim_avx2.c, sim_avx512.c), which are compiled with their
 * own target flags. Everything here is static inline, so each file gets
 * its own copy built for its target and no code compiled for AVX can
 * leak into the portable path.
 *
 * Jaro, bit-parallel: for each character of a (in order), its first free
 * match in b inside the window is the lowest set bit of
 *   eq(a[i]) & window(i) & ~matched_b
 * where eq(c) has bit j set when b[j] == c. The masks come from a table
 * (portable) or a byte compare of b held in a vector register (AVX).
 * Greedy matching picks the same pairs whichever side is iterated (per
 * character, both directions yield the leftmost matching), so a prepared
 * query may iterate over the candidate with the query's table instead.
 *
 * Levenshtein and OSA: Myers' bit-vector algorithm in Hyyrö's 2003 form,
 * and Hyyrö's transposition extension for OSA, one text character per
 * step over a pattern of up to 64 bytes; the bottom-row score moves by at
 * most one per step, which bounds the final distance for the cutoff.
 *
 * All floating-point expressions are the reference's, operation for
 * operation, and the module is built with -ffp-contract=off, so every
 * path rounds identically.
 */
#ifndef RECONNU_SIM_IMPL_H
#define RECONNU_SIM_IMPL_H

#include "sim.h"

#include <stdint.h>

static inline size_t sim__min(size_t a, size_t b)
{
	return a < b ? a : b;
}

/** Bits 0..n-1 of a word, n <= 64. */
static inline uint64_t sim__low(size_t n)
{
	return n >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << n) - 1;
}

/** Jaro's match window: max(la, lb) / 2 - 1, at least 0. */
static inline size_t sim__window(size_t la, size_t lb)
{
	size_t w = (la > lb ? la : lb) / 2;
	return w > 0 ? w - 1 : 0;
}

/** Jaro from m matches, of which `mismatched` are out of order. */
static inline double sim__jaro_score(size_t m, size_t mismatched, size_t la,
				     size_t lb)
{
	if (m == 0)
		return 0.0;
	double dm = (double)m;
	double t = (double)(mismatched / 2);
	return (dm / (double)la + dm / (double)lb + (dm - t) / dm) / 3.0;
}

/** Strings up to this long score from tables of exact quotients. */
#define SIM_SHORT 32

/** sim__ratio[l][m] = m / l and sim__tfrac[m][t] = (m - t) / m, folded
 *  by the compiler: correctly rounded like the divisions they replace. */
extern const double sim__ratio[SIM_SHORT + 1][SIM_SHORT + 1];
extern const double sim__tfrac[SIM_SHORT + 1][SIM_SHORT / 2 + 1];

/** sim__jaro_score, with one division instead of four when both strings
 *  are short (m <= min(la, lb) and t <= m / 2 then index the tables). */
static inline double sim__jaro_score_short(size_t m, size_t mismatched,
					   size_t la, size_t lb)
{
	if (m == 0 || la > SIM_SHORT || lb > SIM_SHORT)
		return sim__jaro_score(m, mismatched, la, lb);
	return (sim__ratio[la][m] + sim__ratio[lb][m] +
		sim__tfrac[m][mismatched / 2]) /
	       3.0;
}

/** Winkler's boost for a common prefix of l (<= 4) bytes. */
static inline double sim__winkler(double jaro, size_t l)
{
	if (jaro <= 0.7)
		return jaro;
	return jaro + (double)l * 0.1 * (1.0 - jaro);
}

/** Common prefix of a and b, capped at 4 bytes. */
static inline size_t sim__prefix4(const char *a, size_t la, const char *b,
				  size_t lb)
{
	size_t limit = sim__min(sim__min(la, lb), 4);
	size_t l = 0;
	while (l < limit && a[l] == b[l])
		l++;
	return l;
}

/** An upper bound of sim_jaro_winkler for strings of la and lb > 0 bytes:
 *  every match found, none transposed, the full prefix boost. Each
 *  rounded operation is monotonic, so no exact score exceeds it. */
static inline double sim__jw_bound(size_t la, size_t lb)
{
	size_t m = sim__min(sim__min(la, lb), SIM_LEN_MAX);
	return sim__winkler(
	    sim__jaro_score(m, 0, la < SIM_LEN_MAX ? la : SIM_LEN_MAX,
			    lb < SIM_LEN_MAX ? lb : SIM_LEN_MAX),
	    sim__min(m, 4));
}

/** Hides x's value from the optimiser, which would otherwise fold the
 *  expression it ends back into the next one (see sim__jaro_step). */
#define SIM__OPAQUE(x) __asm__("" : "+r"(x))

/** Fills pm with the position masks of p (lp <= 64 bytes) for every byte
 *  of p and of t; other entries stay undefined and are never read. */
static inline void sim__pm_fill(uint64_t *pm, const char *p, size_t lp,
				const char *t, size_t lt)
{
	for (size_t i = 0; i < lt; i++)
		pm[(unsigned char)t[i]] = 0;
	for (size_t i = 0; i < lp; i++)
		pm[(unsigned char)p[i]] = 0;
	for (size_t i = 0; i < lp; i++)
		pm[(unsigned char)p[i]] |= UINT64_C(1) << i;
}

/** Progress of sim__jaro_flags_pm. */
struct sim__jaro_run {
	uint64_t old; /**< a's positions taken two or more steps ago */
	uint64_t pf;  /**< the one the previous step took, if any */
	uint64_t mb;  /**< b's matched positions so far, shifted in at bit
		       *   63: after lb steps, bit 64 - lb + j is b[j]'s */
};

/**
 * One step of sim__jaro_flags_pm; x is pm[b[j]] & window & ~old, which
 * does not wait for the previous step. With BMI the step is four
 * instructions: BLSI sets the carry when it finds a bit, and RCR shifts
 * that carry into mb; the C below does the same in about twice as many.
 */
static inline void sim__jaro_step(struct sim__jaro_run *r, uint64_t x)
{
#if defined(__x86_64__) && defined(__BMI__)
	uint64_t cand;
	__asm__("andn %[x], %[pf], %[cand]\n\t"
		"or %[pf], %[old]\n\t"
		"blsi %[cand], %[pf]\n\t"
		"rcr $1, %[mb]"
		: [cand] "=&r"(cand), [pf] "+r"(r->pf), [old] "+r"(r->old),
		  [mb] "+r"(r->mb)
		: [x] "r"(x)
		: "cc");
#else
	SIM__OPAQUE(x);
	uint64_t cand = x & ~r->pf;
	r->old |= r->pf;
	r->pf = cand & -cand;
	r->mb = (r->mb >> 1) | ((uint64_t)(cand != 0) << 63);
#endif
}

/**
 * Jaro match flags of a (la bytes, masks pm) and b, both 1..64 bytes,
 * iterating over b. fa gets the matched positions of a, fb those of b.
 * Taken positions are split between `old` and the previous step's pick
 * so that the loop-carried chain is one and-not and one lowest-bit
 * extraction. The window slides one bit a step, growing at its low end
 * while j < w.
 * @return the number of matches
 */
static inline size_t sim__jaro_flags_pm(const uint64_t *pm, size_t la,
					const char *b, size_t lb, uint64_t *fa,
					uint64_t *fb)
{
	size_t w = sim__window(la, lb);
	uint64_t win = sim__low(w + 1);
	struct sim__jaro_run r = {0, 0, 0};
	size_t j = 0;

	for (; j < sim__min(w, lb); j++, win = (win << 1) | 1)
		sim__jaro_step(&r, pm[(unsigned char)b[j]] & win & ~r.old);
	for (; j < lb; j++, win <<= 1)
		sim__jaro_step(&r, pm[(unsigned char)b[j]] & win & ~r.old);
	*fa = r.old | r.pf;
	*fb = r.mb >> (64 - lb);
	return (size_t)__builtin_popcountll(*fa);
}

/** Matched characters of a and b (flags fa, fb) that differ in order. */
static inline size_t sim__mismatched(const char *a, uint64_t fa, const char *b,
				     uint64_t fb)
{
	size_t n = 0;
	for (; fa != 0; fa &= fa - 1, fb &= fb - 1)
		n += a[__builtin_ctzll(fa)] != b[__builtin_ctzll(fb)];
	return n;
}

/**
 * Shared set-up of the edit distances: strips the common prefix and
 * suffix, orders the pair so that *b is the shorter one, applies the
 * SIM_LEN_MAX bound and the length-difference cutoff.
 * @retval -1 the DP must run; otherwise the final distance.
 */
static inline int sim__edit_prepare(const char **a, size_t *la, const char **b,
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

/** Myers/Hyyrö state over a pattern of up to 64 bytes. */
struct sim__bv {
	uint64_t vp, vn; /**< vertical +1 / -1 deltas of the current column */
	uint64_t d0;	 /**< diagonal zero deltas (OSA) */
	uint64_t eq_old; /**< previous text character's mask (OSA) */
};

static inline void sim__bv_init(struct sim__bv *s)
{
	*s = (struct sim__bv){~UINT64_C(0), 0, 0, 0};
}

/** One Levenshtein step over the text character whose pattern mask is eq;
 *  returns the bottom-row change (-1, 0, +1) at bit `last`. */
static inline int sim__lev_step(struct sim__bv *s, uint64_t eq, uint64_t last)
{
	uint64_t x = eq | s->vn;
	uint64_t d0 = (((x & s->vp) + s->vp) ^ s->vp) | x;
	uint64_t hp = s->vn | ~(d0 | s->vp);
	uint64_t hn = s->vp & d0;
	int delta = ((hp & last) != 0) - ((hn & last) != 0);
	hp = (hp << 1) | 1;
	hn <<= 1;
	s->vp = hn | ~(d0 | hp);
	s->vn = hp & d0;
	return delta;
}

/** One OSA step (Hyyrö's transposition extension). */
static inline int sim__osa_step(struct sim__bv *s, uint64_t eq, uint64_t last)
{
	uint64_t tr = ((~s->d0 & eq) << 1) & s->eq_old;
	uint64_t d0 = (((eq & s->vp) + s->vp) ^ s->vp) | eq | s->vn | tr;
	uint64_t hp = s->vn | ~(d0 | s->vp);
	uint64_t hn = s->vp & d0;
	int delta = ((hp & last) != 0) - ((hn & last) != 0);
	hp = (hp << 1) | 1;
	hn <<= 1;
	s->vp = hn | ~(d0 | hp);
	s->vn = hp & d0;
	s->d0 = d0;
	s->eq_old = eq;
	return delta;
}

/** True when a distance d after a step, with `left` text characters
 *  still to come, can no longer end at or under max (max >= 0). */
static inline int sim__hopeless(int d, size_t left, int max)
{
	return max >= 0 && (size_t)d > (size_t)max + left;
}

/** Edit distance over pattern masks pm (pattern of 1..64 bytes) and any
 *  text, with the public cutoff rule. */
static inline int sim__edit_pm(const uint64_t *pm, size_t lp, const char *t,
			       size_t lt, int max, int osa)
{
	struct sim__bv s;
	uint64_t last = UINT64_C(1) << (lp - 1);
	int d = (int)lp;
	sim__bv_init(&s);
	for (size_t i = 0; i < lt; i++) {
		uint64_t eq = pm[(unsigned char)t[i]];
		d += osa ? sim__osa_step(&s, eq, last)
			 : sim__lev_step(&s, eq, last);
		if (sim__hopeless(d, lt - 1 - i, max))
			return max + 1;
	}
	return max >= 0 && d > max ? max + 1 : d;
}

/**
 * The kernels one instruction set provides. Preconditions, which the
 * public wrappers in sim.c establish:
 *  - jaro64: 1 <= la, lb <= 64;
 *  - edit64: la, lb <= 64 (the pair as the caller gave it);
 *  - jw_prepared: 1 <= q->len, lb <= 64;
 *  - jw_batch, edit_batch: 1 <= q->len <= 64, any candidates.
 */
struct sim__ops {
	double (*jaro64)(const char *a, size_t la, const char *b, size_t lb);
	int (*edit64)(const char *a, size_t la, const char *b, size_t lb,
		      int max, int osa);
	double (*jw_prepared)(const struct sim_query *q, const char *b,
			      size_t lb);
	void (*jw_batch)(const struct sim_query *q, const char *const *b,
			 const size_t *lb, size_t n, double cutoff,
			 double *out);
	void (*edit_batch)(const struct sim_query *q, const char *const *b,
			   const size_t *lb, size_t n, int max, int osa,
			   int *out);
};

extern const struct sim__ops sim__ops_scalar;
extern const struct sim__ops sim__ops_avx2;
extern const struct sim__ops sim__ops_avx512;

/**
 * Per-batch memo of the Jaro-Winkler cutoff by candidate length: the
 * length bound costs four divisions, and a batch holds few lengths.
 */
struct sim__jw_gate {
	double cutoff;		 /**< the batch's cutoff */
	size_t la;		 /**< the query's length */
	unsigned char seen[65];	 /**< 1 when under[lb] is known */
	unsigned char under[65]; /**< 1 when length lb cannot reach cutoff */
};

static inline void sim__jw_gate_init(struct sim__jw_gate *g, size_t la,
				     double cutoff)
{
	g->cutoff = cutoff;
	g->la = la;
	for (size_t i = 0; i < sizeof(g->seen); i++)
		g->seen[i] = 0;
}

/**
 * The candidates every path of sim_jw_batch settles the same way: empty,
 * bounded under the cutoff by length, or longer than 64 bytes.
 * @retval 1 settled, *out written
 * @retval 0 b (1..64 bytes) needs the kernel
 */
static inline int sim__jw_settle(const struct sim_query *q, const char *b,
				 size_t lb, struct sim__jw_gate *g, double *out)
{
	*out = 0.0;
	if (lb == 0)
		return 1;
	if (lb > 64) {
		if (!(g->cutoff > 0 && sim__jw_bound(g->la, lb) < g->cutoff))
			*out = sim_jaro_winkler_ref(q->s, q->len, b, lb);
		return 1;
	}
	if (g->cutoff > 0) {
		if (!g->seen[lb]) {
			g->under[lb] = sim__jw_bound(g->la, lb) < g->cutoff;
			g->seen[lb] = 1;
		}
		return g->under[lb];
	}
	return 0;
}

/**
 * The candidates every path of the edit batches settles the same way:
 * empty, longer than 64 bytes, or further in length than max.
 * @retval 1 settled, *out written
 * @retval 0 b (1..64 bytes) needs the kernel
 */
static inline int sim__edit_settle(const struct sim_query *q, const char *b,
				   size_t lb, int max, int osa, int *out)
{
	size_t la = q->len;
	size_t diff = la > lb ? la - lb : lb - la;
	if (lb > 0 && lb <= 64 && (max < 0 || diff <= (size_t)max))
		return 0;
	*out = osa ? sim_osa(q->s, la, b, lb, max)
		   : sim_levenshtein(q->s, la, b, lb, max);
	return 1;
}

/** Candidates gathered for a batch kernel's lanes, all of one length
 *  class: up to 16, 32 or 64 bytes (sim__class). */
struct sim__group {
	const char *s[32]; /**< the candidates, 1..64 bytes each */
	size_t len[32];	   /**< their lengths */
	size_t at[32];	   /**< their index in the batch */
	size_t n;	   /**< lanes in use */
};

/** The lane width, in bits (= bytes a lane's candidate may have), of a
 *  candidate of lb (1..64) bytes: 0 for 16, 1 for 32, 2 for 64. */
static inline int sim__class(size_t lb)
{
	return lb <= 16 ? 0 : lb <= 32 ? 1 : 2;
}

/** Adds candidate at (of lb bytes) to g. @return 1 when g is now full
 *  with cap lanes. */
static inline int sim__group_add(struct sim__group *g, const char *b, size_t lb,
				 size_t at, size_t cap)
{
	g->s[g->n] = b;
	g->len[g->n] = lb;
	g->at[g->n] = at;
	return ++g->n == cap;
}

#endif
