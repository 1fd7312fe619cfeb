/*
 * sim_avx2 — the AVX2 kernels (with BMI1, BMI2 and POPCNT); this file
 * alone is compiled for that target, and sim.c calls it only on a CPU
 * that has it.
 *
 * A string of up to 64 bytes is held in two ymm registers (copied through
 * a zeroed stack buffer: AVX2 has no masked byte load), so the position
 * mask of a byte is a byte compare and a movemask per half instead of a
 * table to build.
 *
 * The batch kernels (sim_lanes.h) give each candidate of up to 32 bytes a
 * lane of 16 or 32 bits by its length, so a register holds 16 or 8 of
 * them; the rows of masks come from a compare and a movemask per staged
 * register. Longer candidates go through the one-pair kernels.
 * Scores are computed 4 lanes at a time in doubles with the reference's
 * exact operations.
 */
#include "sim_impl.h"

#include <immintrin.h>
#include <string.h>

/** A string of up to 64 bytes in two registers, zero-padded. */
struct sim__ymm2 {
	__m256i lo, hi;
};

static inline struct sim__ymm2 sim__load2(const char *s, size_t n)
{
	_Alignas(32) char buf[64];

	_mm256_store_si256((__m256i *)buf, _mm256_setzero_si256());
	_mm256_store_si256((__m256i *)(buf + 32), _mm256_setzero_si256());
	memcpy(buf, s, sim__min(n, 64));
	return (struct sim__ymm2){
	    _mm256_load_si256((const __m256i *)buf),
	    _mm256_load_si256((const __m256i *)(buf + 32))};
}

/** Mask of the positions of c in v; `wide` when v holds over 32 bytes. */
static inline uint64_t sim__eq2(struct sim__ymm2 v, __m256i c, int wide)
{
	uint64_t m = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v.lo, c));
	if (wide)
		m |= (uint64_t)(uint32_t)_mm256_movemask_epi8(
			 _mm256_cmpeq_epi8(v.hi, c))
		     << 32;
	return m;
}

static double sim__jaro64_avx2(const char *a, size_t la, const char *b,
			       size_t lb)
{
	struct sim__ymm2 vb = sim__load2(b, lb);
	size_t w = sim__window(la, lb), i = 0;
	uint64_t lm = sim__low(lb), win = sim__low(w + 1) & lm;
	struct sim__jaro_run r = {0, 0, 0};
	int wide = lb > 32;

	/* sim__jaro_flags_pm with the roles swapped: over a, b's masks */
	for (; i < sim__min(w, la); i++, win = ((win << 1) | 1) & lm)
		sim__jaro_step(&r, sim__eq2(vb, _mm256_set1_epi8(a[i]), wide) &
				       win & ~r.old);
	for (; i < la; i++, win = (win << 1) & lm)
		sim__jaro_step(&r, sim__eq2(vb, _mm256_set1_epi8(a[i]), wide) &
				       win & ~r.old);
	uint64_t fb = r.old | r.pf, fa = r.mb >> (64 - la);
	size_t m = (size_t)_mm_popcnt_u64(fb);
	return sim__jaro_score_short(m, sim__mismatched(a, fa, b, fb), la, lb);
}

static inline int sim__edit64_run(const char *a, size_t la, const char *b,
				  size_t lb, int max, int osa)
{
	struct sim__ymm2 vb = sim__load2(b, lb);
	uint64_t last = UINT64_C(1) << (lb - 1);
	int d = (int)lb, wide = lb > 32;
	struct sim__bv s;

	sim__bv_init(&s);
	for (size_t i = 0; i < la; i++) {
		uint64_t eq = sim__eq2(vb, _mm256_set1_epi8(a[i]), wide);
		d += osa ? sim__osa_step(&s, eq, last)
			 : sim__lev_step(&s, eq, last);
		if (sim__hopeless(d, la - 1 - i, max))
			return max + 1;
	}
	return max >= 0 && d > max ? max + 1 : d;
}

static int sim__edit64_avx2(const char *a, size_t la, const char *b, size_t lb,
			    int max, int osa)
{
	int d = sim__edit_prepare(&a, &la, &b, &lb, max);
	if (d >= 0)
		return d;
	return osa ? sim__edit64_run(a, la, b, lb, max, 1)
		   : sim__edit64_run(a, la, b, lb, max, 0);
}

static double sim__jw_prepared_avx2(const struct sim_query *q, const char *b,
				    size_t lb)
{
	uint64_t fa, fb;
	size_t la = q->len;
	size_t m = sim__jaro_flags_pm(q->pm, la, b, lb, &fa, &fb);
	return sim__winkler(
	    sim__jaro_score_short(m, sim__mismatched(q->s, fa, b, fb), la, lb),
	    sim__prefix4(q->s, la, b, lb));
}

#define SIM_VBYTES     32
#define SIM__ALLSET(v) _mm256_testc_si256((__m256i)(v), _mm256_set1_epi64x(-1))
#define SIM_W	       16
#include "sim_lanes.h"
#undef SIM_W
#define SIM_W 32
#include "sim_lanes.h"
#undef SIM_W

/** Lanes of a group per class (sim__class): 16- and 32-bit lanes. Four
 *  64-bit lanes do not pay for their 64 rows: candidates over 32 bytes
 *  take the one-pair kernels. */
static const size_t sim__cap[2] = {16, 8};

/** Copies n (<= 64) bytes with at most two overlapping moves per size
 *  class, inline: the candidates are short. */
static inline void sim__copy64(char *dst, const char *src, size_t n)
{
	if (n >= 32) {
		memcpy(dst, src, 32);
		memcpy(dst + n - 32, src + n - 32, 32);
	} else if (n >= 16) {
		memcpy(dst, src, 16);
		memcpy(dst + n - 16, src + n - 16, 16);
	} else if (n >= 8) {
		memcpy(dst, src, 8);
		memcpy(dst + n - 8, src + n - 8, 8);
	} else if (n >= 4) {
		memcpy(dst, src, 4);
		memcpy(dst + n - 4, src + n - 4, 4);
	} else {
		for (size_t i = 0; i < n; i++)
			dst[i] = src[i];
	}
}

/**
 * The rows sim_lanes.h reads: candidate k of g copied to bytes
 * k * width.. of the 8 registers staged in `stage`, then for each query
 * byte one compare and movemask per register, whose 32-bit mask covers
 * 32 / width candidates. The stage is
 * zeroed once per batch and not between groups: the bytes a candidate
 * leaves from an earlier one lie past its length, where the recurrences
 * ignore every bit.
 */
static void sim__rows(const struct sim_query *q, const struct sim__group *g,
		      int cls, char *stage, unsigned char *rows)
{
	__m256i v[8];

	for (size_t k = 0; k < g->n; k++)
		sim__copy64(stage + (k << cls << 4), g->s[k], g->len[k]);
	for (size_t z = 0; z < 8; z++)
		v[z] = _mm256_load_si256((const __m256i *)(stage + 32 * z));
	for (size_t i = 0; i < q->len; i++) {
		__m256i c = _mm256_set1_epi8(q->head[i]);
		uint32_t *row = (uint32_t *)(rows + 32 * i);
#pragma GCC unroll 8
		for (size_t z = 0; z < 8; z++)
			row[z] = (uint32_t)_mm256_movemask_epi8(
			    _mm256_cmpeq_epi8(v[z], c));
	}
}

/**
 * sim__winkler(sim__jaro_score(m, x, la, lb), l) for the n lanes of g,
 * 4 at a time in doubles with the reference's operations, written to
 * out at the lanes' batch indexes. m, x, l: rounded up to 4 lanes.
 */
static void sim__jw_scores(size_t la, const struct sim__group *g,
			   const int32_t *m, const int32_t *x, const int32_t *l,
			   double *out)
{
	const __m256d zd = _mm256_setzero_pd(), oned = _mm256_set1_pd(1.0);
	const __m256d dla = _mm256_set1_pd((double)la);
	_Alignas(16) int32_t lbv[4], tv[4];
	_Alignas(32) double res[4];

	for (size_t k0 = 0; k0 < g->n; k0 += 4) {
		for (size_t k = 0; k < 4; k++) {
			lbv[k] = k0 + k < g->n ? (int32_t)g->len[k0 + k] : 1;
			tv[k] = x[k0 + k] / 2;
		}
		__m256d dm = _mm256_cvtepi32_pd(
		    _mm_loadu_si128((const __m128i *)(m + k0)));
		__m256d dt =
		    _mm256_cvtepi32_pd(_mm_load_si128((const __m128i *)tv));
		__m256d dl = _mm256_cvtepi32_pd(
		    _mm_loadu_si128((const __m128i *)(l + k0)));
		__m256d dlb =
		    _mm256_cvtepi32_pd(_mm_load_si128((const __m128i *)lbv));
		__m256d km = _mm256_cmp_pd(dm, zd, _CMP_NEQ_OQ);
		__m256d dmd = _mm256_blendv_pd(oned, dm, km);
		__m256d s = _mm256_add_pd(_mm256_div_pd(dm, dla),
					  _mm256_div_pd(dm, dlb));
		s = _mm256_add_pd(s, _mm256_div_pd(_mm256_sub_pd(dm, dt), dmd));
		__m256d jaro =
		    _mm256_and_pd(km, _mm256_div_pd(s, _mm256_set1_pd(3.0)));
		__m256d boost =
		    _mm256_mul_pd(_mm256_mul_pd(dl, _mm256_set1_pd(0.1)),
				  _mm256_sub_pd(oned, jaro));
		__m256d kw =
		    _mm256_cmp_pd(jaro, _mm256_set1_pd(0.7), _CMP_GT_OQ);
		_mm256_store_pd(res, _mm256_blendv_pd(
					 jaro, _mm256_add_pd(jaro, boost), kw));
		for (size_t k = 0; k < 4 && k0 + k < g->n; k++)
			out[g->at[k0 + k]] = res[k];
	}
}

static void sim__jw_group(const struct sim_query *q, const struct sim__group *g,
			  int cls, char *stage, double *out)
{
	_Alignas(32) unsigned char rows[64 * 32];
	_Alignas(32) int32_t m[16], x[16], l[16];

	sim__rows(q, g, cls, stage, rows);
	if (cls == 0)
		sim__jw_lanes_w16(q->len, rows, g->len, g->n, m, x, l);
	else
		sim__jw_lanes_w32(q->len, rows, g->len, g->n, m, x, l);
	sim__jw_scores(q->len, g, m, x, l, out);
}

static void sim__jw_batch_avx2(const struct sim_query *q, const char *const *b,
			       const size_t *lb, size_t n, double cutoff,
			       double *out)
{
	_Alignas(32) char stage[8 * 32] = {0};
	struct sim__jw_gate gate;
	struct sim__group g[2];

	sim__jw_gate_init(&gate, q->len, cutoff);
	g[0].n = g[1].n = 0;
	for (size_t i = 0; i < n; i++) {
		if (sim__jw_settle(q, b[i], lb[i], &gate, &out[i]))
			continue;
		int c = sim__class(lb[i]);
		if (c == 2) {
			out[i] = sim__jw_prepared_avx2(q, b[i], lb[i]);
			continue;
		}
		if (sim__group_add(&g[c], b[i], lb[i], i, sim__cap[c])) {
			sim__jw_group(q, &g[c], c, stage, out);
			g[c].n = 0;
		}
	}
	for (int c = 0; c < 2; c++)
		if (g[c].n > 0)
			sim__jw_group(q, &g[c], c, stage, out);
}

static void sim__edit_group(const struct sim_query *q,
			    const struct sim__group *g, int cls, char *stage,
			    int max, int osa, int *out)
{
	_Alignas(32) unsigned char rows[64 * 32];
	int32_t d[16];

	sim__rows(q, g, cls, stage, rows);
	if (cls == 0)
		sim__edit_lanes_w16(q->len, rows, g->len, g->n, max, osa, d);
	else
		sim__edit_lanes_w32(q->len, rows, g->len, g->n, max, osa, d);
	for (size_t k = 0; k < g->n; k++)
		out[g->at[k]] = d[k];
}

static void sim__edit_batch_avx2(const struct sim_query *q,
				 const char *const *b, const size_t *lb,
				 size_t n, int max, int osa, int *out)
{
	_Alignas(32) char stage[8 * 32] = {0};
	struct sim__group g[2];

	g[0].n = g[1].n = 0;
	for (size_t i = 0; i < n; i++) {
		if (sim__edit_settle(q, b[i], lb[i], max, osa, &out[i]))
			continue;
		int c = sim__class(lb[i]);
		if (c == 2) {
			out[i] =
			    sim__edit_pm(q->pm, q->len, b[i], lb[i], max, osa);
			continue;
		}
		if (sim__group_add(&g[c], b[i], lb[i], i, sim__cap[c])) {
			sim__edit_group(q, &g[c], c, stage, max, osa, out);
			g[c].n = 0;
		}
	}
	for (int c = 0; c < 2; c++)
		if (g[c].n > 0)
			sim__edit_group(q, &g[c], c, stage, max, osa, out);
}

const struct sim__ops sim__ops_avx2 = {
    .jaro64 = sim__jaro64_avx2,
    .edit64 = sim__edit64_avx2,
    .jw_prepared = sim__jw_prepared_avx2,
    .jw_batch = sim__jw_batch_avx2,
    .edit_batch = sim__edit_batch_avx2,
};
