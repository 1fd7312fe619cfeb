/*
 * sim_avx512 — the AVX-512 kernels (F, BW, VL, VBMI, VBMI2, with BMI and
 * POPCNT); this file alone is compiled for that target, and sim.c calls
 * it only on a CPU that has it.
 *
 * A string of up to 64 bytes fits one zmm register, so the position mask
 * of a byte in it is one masked byte compare against that byte broadcast:
 * no table to build. The matched characters in order are two byte
 * compressions (vpcompressb), and the transpositions one compare of those.
 *
 * The batch kernels (sim_lanes.h) give each candidate a lane of 16, 32
 * or 64 bits by its length, so a register holds 32, 16 or 8 of them. The
 * candidates are packed 64 / width to a register, 8 registers, and each
 * query byte is compared with the 8: one row of masks per query byte,
 * laid out as the lanes. The recurrences then run over the rows on all
 * lanes at once, the query as the text and each candidate as its lane's
 * pattern. Scores are computed 8 lanes at a time in doubles with the
 * reference's exact operations.
 */
#include "sim_impl.h"

#include <immintrin.h>
#include <string.h>

/** The first n (<= 64) bits of a byte mask. */
static inline __mmask64 sim__k(size_t n)
{
	return (__mmask64)_bzhi_u64(~0ULL, (unsigned)n);
}

/** s[0..n-1] in a register, zero above; reads no byte past s + n. */
static inline __m512i sim__load(const char *s, size_t n)
{
	return _mm512_maskz_loadu_epi8(sim__k(n), s);
}

/** Matched characters (flags fa over va, fb over vb) that differ in
 *  order: both sides compressed to their matched bytes, then compared. */
static inline size_t sim__mismatched512(__m512i va, uint64_t fa, __m512i vb,
					uint64_t fb)
{
	__m512i ca = _mm512_maskz_compress_epi8(fa, va);
	__m512i cb = _mm512_maskz_compress_epi8(fb, vb);
	return (size_t)_mm_popcnt_u64(_mm512_cmpneq_epi8_mask(ca, cb));
}

/** Common prefix of va and vb, capped at min(4, la, lb). */
static inline size_t sim__prefix512(__m512i va, size_t la, __m512i vb,
				    size_t lb)
{
	uint64_t cap = UINT64_C(1) << sim__min(sim__min(la, lb), 4);
	return (size_t)_tzcnt_u64(_mm512_cmpneq_epi8_mask(va, vb) | cap);
}

static double sim__jaro64_avx512(const char *a, size_t la, const char *b,
				 size_t lb)
{
	__mmask64 kb = sim__k(lb);
	__m512i va = sim__load(a, la), vb = _mm512_maskz_loadu_epi8(kb, b);
	size_t w = sim__window(la, lb), i = 0;
	uint64_t win = sim__low(w + 1);
	struct sim__jaro_run r = {0, 0, 0};

	/* sim__jaro_flags_pm with the roles swapped: over a, b's masks */
	for (; i < sim__min(w, la); i++, win = (win << 1) | 1)
		sim__jaro_step(&r, _mm512_mask_cmpeq_epi8_mask(
				       kb, vb, _mm512_set1_epi8(a[i])) &
				       win & ~r.old);
	for (; i < la; i++, win <<= 1)
		sim__jaro_step(&r, _mm512_mask_cmpeq_epi8_mask(
				       kb, vb, _mm512_set1_epi8(a[i])) &
				       win & ~r.old);
	uint64_t fb = r.old | r.pf, fa = r.mb >> (64 - la);
	size_t m = (size_t)_mm_popcnt_u64(fb);
	if (m == 0)
		return 0.0;
	return sim__jaro_score_short(m, sim__mismatched512(va, fa, vb, fb), la,
				     lb);
}

static inline int sim__edit64_run(const char *a, size_t la, const char *b,
				  size_t lb, int max, int osa)
{
	__mmask64 kb = sim__k(lb);
	__m512i vb = _mm512_maskz_loadu_epi8(kb, b);
	uint64_t last = UINT64_C(1) << (lb - 1);
	int d = (int)lb;
	struct sim__bv s;

	sim__bv_init(&s);
	for (size_t i = 0; i < la; i++) {
		uint64_t eq =
		    _mm512_mask_cmpeq_epi8_mask(kb, vb, _mm512_set1_epi8(a[i]));
		d += osa ? sim__osa_step(&s, eq, last)
			 : sim__lev_step(&s, eq, last);
		if (sim__hopeless(d, la - 1 - i, max))
			return max + 1;
	}
	return max >= 0 && d > max ? max + 1 : d;
}

/** How many of the first n (<= 64) bytes of va and vb agree from the
 *  start. */
static inline size_t sim__common512(__m512i va, __m512i vb, size_t n)
{
	uint64_t ne = _mm512_cmpneq_epi8_mask(va, vb) & sim__low(n);
	return ne ? (size_t)_tzcnt_u64(ne) : n;
}

/** Byte k of the result is byte n - 1 - k of v, for k < n (<= 64). */
static inline __m512i sim__rev512(__m512i v, size_t n)
{
	const __m512i iota = _mm512_set_epi8(
	    63, 62, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47,
	    46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32, 31, 30,
	    29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13,
	    12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
	return _mm512_permutexvar_epi8(
	    _mm512_sub_epi8(_mm512_set1_epi8((char)(n - 1)), iota), v);
}

/** sim__edit_prepare in registers: the common prefix and suffix from two
 *  compares, then the recurrence over the shorter remainder. */
static int sim__edit64_avx512(const char *a, size_t la, const char *b,
			      size_t lb, int max, int osa)
{
	__m512i va = sim__load(a, la), vb = sim__load(b, lb);
	size_t n = sim__min(la, lb);
	size_t pre = sim__common512(va, vb, n);
	size_t suf =
	    sim__common512(sim__rev512(va, la), sim__rev512(vb, lb), n - pre);
	a += pre, la -= pre + suf;
	b += pre, lb -= pre + suf;
	if (la < lb) {
		const char *p = a;
		size_t l = la;
		a = b, la = lb;
		b = p, lb = l;
	}
	if (max >= 0 && la - lb > (size_t)max)
		return max + 1;
	if (lb == 0)
		return (int)la;
	return osa ? sim__edit64_run(a, la, b, lb, max, 1)
		   : sim__edit64_run(a, la, b, lb, max, 0);
}

static double sim__jw_prepared_avx512(const struct sim_query *q, const char *b,
				      size_t lb)
{
	uint64_t fa, fb;
	size_t la = q->len;
	size_t m = sim__jaro_flags_pm(q->pm, la, b, lb, &fa, &fb);
	if (m == 0)
		return 0.0;
	__m512i va = _mm512_loadu_si512(q->head), vb = sim__load(b, lb);
	return sim__winkler(sim__jaro_score_short(
				m, sim__mismatched512(va, fa, vb, fb), la, lb),
			    sim__prefix512(va, la, vb, lb));
}

#define SIM_VBYTES 64
#define SIM__ALLSET(v)                                                         \
	(_mm512_cmpneq_epi64_mask((__m512i)(v), _mm512_set1_epi64(-1)) == 0)
#define SIM_W 16
#include "sim_lanes.h"
#undef SIM_W
#define SIM_W 32
#include "sim_lanes.h"
#undef SIM_W
#define SIM_W 64
#include "sim_lanes.h"
#undef SIM_W

/** Lanes of a group per class (sim__class): 16-, 32- and 64-bit lanes. */
static const size_t sim__cap[3] = {32, 16, 8};

/** Candidate k of g in the low bytes of a register, or zeros. */
static inline __m128i sim__x16(const struct sim__group *g, size_t k)
{
	if (k >= g->n)
		return _mm_setzero_si128();
	return _mm_maskz_loadu_epi8((__mmask16)sim__k(g->len[k]), g->s[k]);
}

static inline __m256i sim__y32(const struct sim__group *g, size_t k)
{
	if (k >= g->n)
		return _mm256_setzero_si256();
	return _mm256_maskz_loadu_epi8((__mmask32)sim__k(g->len[k]), g->s[k]);
}

static inline __m512i sim__z64(const struct sim__group *g, size_t k)
{
	if (k >= g->n)
		return _mm512_setzero_si512();
	return sim__load(g->s[k], g->len[k]);
}

/**
 * The rows sim_lanes.h reads: candidate k of g goes to bytes
 * (k * width) % 64.. of register k * width / 64, and each query byte is
 * compared with the 8 registers, whose 64-bit masks cover 64 / width
 * candidates each.
 */
static void sim__rows(const struct sim_query *q, const struct sim__group *g,
		      int cls, unsigned char *rows)
{
	__m512i v[8];

	for (size_t z = 0; z < 8; z++) {
		if (cls == 0) {
			__m512i r = _mm512_castsi128_si512(sim__x16(g, 4 * z));
			r = _mm512_inserti32x4(r, sim__x16(g, 4 * z + 1), 1);
			r = _mm512_inserti32x4(r, sim__x16(g, 4 * z + 2), 2);
			v[z] = _mm512_inserti32x4(r, sim__x16(g, 4 * z + 3), 3);
		} else if (cls == 1) {
			v[z] = _mm512_inserti64x4(
			    _mm512_castsi256_si512(sim__y32(g, 2 * z)),
			    sim__y32(g, 2 * z + 1), 1);
		} else {
			v[z] = sim__z64(g, z);
		}
	}
	for (size_t i = 0; i < q->len; i++) {
		__m512i c = _mm512_set1_epi8(q->head[i]);
		uint64_t *row = (uint64_t *)(rows + 64 * i);
#pragma GCC unroll 8
		for (size_t z = 0; z < 8; z++)
			row[z] = _mm512_cmpeq_epi8_mask(v[z], c);
	}
}

/**
 * sim__winkler(sim__jaro_score(m, x, la, lb), l) for the n lanes of g,
 * 8 at a time in doubles with the reference's operations, written to
 * out at the lanes' batch indexes. m, x, l: rounded up to 8 lanes.
 */
static void sim__jw_scores(size_t la, const struct sim__group *g,
			   const int32_t *m, const int32_t *x, const int32_t *l,
			   double *out)
{
	const __m512d zd = _mm512_setzero_pd(), oned = _mm512_set1_pd(1.0);
	const __m512d dla = _mm512_set1_pd((double)la);
	_Alignas(32) int32_t lbv[8], tv[8];
	_Alignas(64) double res[8];

	for (size_t k0 = 0; k0 < g->n; k0 += 8) {
		for (size_t k = 0; k < 8; k++) {
			lbv[k] = k0 + k < g->n ? (int32_t)g->len[k0 + k] : 1;
			tv[k] = x[k0 + k] / 2;
		}
		__m512d dm =
		    _mm512_cvtepi32_pd(_mm256_loadu_si256((void *)(m + k0)));
		__m512d dt = _mm512_cvtepi32_pd(_mm256_load_si256((void *)tv));
		__m512d dl =
		    _mm512_cvtepi32_pd(_mm256_loadu_si256((void *)(l + k0)));
		__m512d dlb =
		    _mm512_cvtepi32_pd(_mm256_load_si256((void *)lbv));
		__mmask8 km = _mm512_cmp_pd_mask(dm, zd, _CMP_NEQ_OQ);
		__m512d dmd = _mm512_mask_blend_pd(km, oned, dm);
		__m512d s = _mm512_add_pd(_mm512_div_pd(dm, dla),
					  _mm512_div_pd(dm, dlb));
		s = _mm512_add_pd(s, _mm512_div_pd(_mm512_sub_pd(dm, dt), dmd));
		__m512d jaro = _mm512_maskz_mov_pd(
		    km, _mm512_div_pd(s, _mm512_set1_pd(3.0)));
		__m512d boost =
		    _mm512_mul_pd(_mm512_mul_pd(dl, _mm512_set1_pd(0.1)),
				  _mm512_sub_pd(oned, jaro));
		__mmask8 kw =
		    _mm512_cmp_pd_mask(jaro, _mm512_set1_pd(0.7), _CMP_GT_OQ);
		_mm512_store_pd(res, _mm512_mask_add_pd(jaro, kw, jaro, boost));
		for (size_t k = 0; k < 8 && k0 + k < g->n; k++)
			out[g->at[k0 + k]] = res[k];
	}
}

static void sim__jw_group(const struct sim_query *q, const struct sim__group *g,
			  int cls, double *out)
{
	_Alignas(64) unsigned char rows[64 * 64];
	_Alignas(64) int32_t m[32], x[32], l[32];

	sim__rows(q, g, cls, rows);
	if (cls == 0)
		sim__jw_lanes_w16(q->len, rows, g->len, g->n, m, x, l);
	else if (cls == 1)
		sim__jw_lanes_w32(q->len, rows, g->len, g->n, m, x, l);
	else
		sim__jw_lanes_w64(q->len, rows, g->len, g->n, m, x, l);
	sim__jw_scores(q->len, g, m, x, l, out);
}

static void sim__jw_batch_avx512(const struct sim_query *q,
				 const char *const *b, const size_t *lb,
				 size_t n, double cutoff, double *out)
{
	struct sim__jw_gate gate;
	struct sim__group g[3];

	sim__jw_gate_init(&gate, q->len, cutoff);
	g[0].n = g[1].n = g[2].n = 0;
	for (size_t i = 0; i < n; i++) {
		if (sim__jw_settle(q, b[i], lb[i], &gate, &out[i]))
			continue;
		int c = sim__class(lb[i]);
		if (sim__group_add(&g[c], b[i], lb[i], i, sim__cap[c])) {
			sim__jw_group(q, &g[c], c, out);
			g[c].n = 0;
		}
	}
	for (int c = 0; c < 3; c++)
		if (g[c].n > 0)
			sim__jw_group(q, &g[c], c, out);
}

static void sim__edit_group(const struct sim_query *q,
			    const struct sim__group *g, int cls, int max,
			    int osa, int *out)
{
	_Alignas(64) unsigned char rows[64 * 64];
	int32_t d[32];

	sim__rows(q, g, cls, rows);
	if (cls == 0)
		sim__edit_lanes_w16(q->len, rows, g->len, g->n, max, osa, d);
	else if (cls == 1)
		sim__edit_lanes_w32(q->len, rows, g->len, g->n, max, osa, d);
	else
		sim__edit_lanes_w64(q->len, rows, g->len, g->n, max, osa, d);
	for (size_t k = 0; k < g->n; k++)
		out[g->at[k]] = d[k];
}

static void sim__edit_batch_avx512(const struct sim_query *q,
				   const char *const *b, const size_t *lb,
				   size_t n, int max, int osa, int *out)
{
	struct sim__group g[3];

	g[0].n = g[1].n = g[2].n = 0;
	for (size_t i = 0; i < n; i++) {
		if (sim__edit_settle(q, b[i], lb[i], max, osa, &out[i]))
			continue;
		int c = sim__class(lb[i]);
		if (sim__group_add(&g[c], b[i], lb[i], i, sim__cap[c])) {
			sim__edit_group(q, &g[c], c, max, osa, out);
			g[c].n = 0;
		}
	}
	for (int c = 0; c < 3; c++)
		if (g[c].n > 0)
			sim__edit_group(q, &g[c], c, max, osa, out);
}

const struct sim__ops sim__ops_avx512 = {
    .jaro64 = sim__jaro64_avx512,
    .edit64 = sim__edit64_avx512,
    .jw_prepared = sim__jw_prepared_avx512,
    .jw_batch = sim__jw_batch_avx512,
    .edit_batch = sim__edit_batch_avx512,
};
