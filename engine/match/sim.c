/*
 * sim — string similarity kernels: the scalar references, the portable
 * bit-parallel paths and the run-time choice of instruction set.
 *
 * The references are the textbook algorithms. Jaro marks matched
 * characters in bit sets of SIM_LEN_MAX bits on the stack and scans each
 * window; transpositions are the matched characters out of order, halved
 * with integer division as in Winkler's strcmp95. Levenshtein and OSA
 * first strip the common prefix and suffix (which never changes either
 * distance), then run the row-by-row DP over the shorter string with two
 * rows (three for OSA) of SIM_LEN_MAX + 1 ints on the stack. With a
 * cutoff they stop as soon as every cell of the current row (and, for
 * OSA, of the previous row too, since a transposition can step over one
 * row) exceeds max: costs along an alignment path never decrease, so the
 * distance can only be larger.
 *
 * The fast paths (algorithms in sim_impl.h) handle strings that fit in a
 * 64-bit word and hand everything else to the references. The portable
 * ones build the 256-entry position table on the stack, touching only the
 * entries of bytes that occur in either string. Short strings score Jaro
 * from tables of quotients that the compiler folds, exactly the values
 * the divisions would give. The instruction set is picked once, on first
 * use, and kept in one atomic int that indexes a table of kernels.
 */
#include "sim.h"
#include "sim_impl.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- references ---------------------------------------------------------- */

#define SIM_WORDS ((SIM_LEN_MAX + 63) / 64)

double sim_jaro_ref(const char *a, size_t la, const char *b, size_t lb)
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

	size_t window = sim__window(la, lb);
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

double sim_jaro_winkler_ref(const char *a, size_t la, const char *b, size_t lb)
{
	return sim__winkler(sim_jaro_ref(a, la, b, lb),
			    sim__prefix4(a, la, b, lb));
}

/** Levenshtein DP of prepared strings (1 <= lb <= la, lb <= SIM_LEN_MAX). */
static int sim__lev_dp(const char *a, size_t la, const char *b, size_t lb,
		       int max)
{
	int row[2][SIM_LEN_MAX + 1];

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
	int d = prev[lb];
	return max >= 0 && d > max ? max + 1 : d;
}

/** OSA DP of prepared strings, as sim__lev_dp. */
static int sim__osa_dp(const char *a, size_t la, const char *b, size_t lb,
		       int max)
{
	int row[3][SIM_LEN_MAX + 1];

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
	int d = prev[lb];
	return max >= 0 && d > max ? max + 1 : d;
}

int sim_levenshtein_ref(const char *a, size_t la, const char *b, size_t lb,
			int max)
{
	int d = sim__edit_prepare(&a, &la, &b, &lb, max);
	return d >= 0 ? d : sim__lev_dp(a, la, b, lb, max);
}

int sim_osa_ref(const char *a, size_t la, const char *b, size_t lb, int max)
{
	int d = sim__edit_prepare(&a, &la, &b, &lb, max);
	return d >= 0 ? d : sim__osa_dp(a, la, b, lb, max);
}

/* ---- tables of exact quotients ------------------------------------------- */

#define SIM__Q(m, l) ((l) > 0 ? (double)(m) / (double)(l) : 0.0)
#define SIM__T(t, m) ((m) > 0 ? (double)((m) - (t)) / (double)(m) : 0.0)
#define SIM__8(F, x, b)                                                        \
	F(b, x), F(b + 1, x), F(b + 2, x), F(b + 3, x), F(b + 4, x),           \
	    F(b + 5, x), F(b + 6, x), F(b + 7, x)
#define SIM__17(F, x) SIM__8(F, x, 0), SIM__8(F, x, 8), F(16, x)
#define SIM__33(F, x) SIM__17(F, x), SIM__8(F, x, 17), SIM__8(F, x, 25)
#define SIM__RATIO_ROW(l, _)                                                   \
	{                                                                      \
		SIM__33(SIM__Q, l)                                             \
	}
#define SIM__TFRAC_ROW(m, _)                                                   \
	{                                                                      \
		SIM__17(SIM__T, m)                                             \
	}
#define SIM__ROWS8(R, b)                                                       \
	R(b, 0), R(b + 1, 0), R(b + 2, 0), R(b + 3, 0), R(b + 4, 0),           \
	    R(b + 5, 0), R(b + 6, 0), R(b + 7, 0)
#define SIM__ROWS33(R)                                                         \
	SIM__ROWS8(R, 0), SIM__ROWS8(R, 8), SIM__ROWS8(R, 16),                 \
	    SIM__ROWS8(R, 24), R(32, 0)

const double sim__ratio[SIM_SHORT + 1][SIM_SHORT + 1] = {
    SIM__ROWS33(SIM__RATIO_ROW)};
const double sim__tfrac[SIM_SHORT + 1][SIM_SHORT / 2 + 1] = {
    SIM__ROWS33(SIM__TFRAC_ROW)};

/* ---- portable bit-parallel kernels --------------------------------------- */

static double sim__jaro64_scalar(const char *a, size_t la, const char *b,
				 size_t lb)
{
	uint64_t pm[256], fa, fb;

	sim__pm_fill(pm, a, la, b, lb);
	size_t m = sim__jaro_flags_pm(pm, la, b, lb, &fa, &fb);
	return sim__jaro_score_short(m, sim__mismatched(a, fa, b, fb), la, lb);
}

static int sim__edit64_scalar(const char *a, size_t la, const char *b,
			      size_t lb, int max, int osa)
{
	uint64_t pm[256];

	int d = sim__edit_prepare(&a, &la, &b, &lb, max);
	if (d >= 0)
		return d;
	sim__pm_fill(pm, b, lb, a, la);
	return sim__edit_pm(pm, lb, a, la, max, osa);
}

/** Jaro-Winkler of a prepared query (1..64 bytes) and b (1..64 bytes);
 *  0.0 instead when the match count alone keeps it under cutoff. */
static double sim__jw_pm(const struct sim_query *q, const char *b, size_t lb,
			 double cutoff)
{
	uint64_t fa, fb;
	size_t la = q->len;
	size_t m = sim__jaro_flags_pm(q->pm, la, b, lb, &fa, &fb);
	size_t l = sim__prefix4(q->s, la, b, lb);
	if (cutoff > 0 &&
	    sim__winkler(sim__jaro_score_short(m, 0, la, lb), l) < cutoff)
		return 0.0;
	return sim__winkler(
	    sim__jaro_score_short(m, sim__mismatched(q->s, fa, b, fb), la, lb),
	    l);
}

static double sim__jw_prepared_scalar(const struct sim_query *q, const char *b,
				      size_t lb)
{
	return sim__jw_pm(q, b, lb, 0.0);
}

static void sim__jw_batch_scalar(const struct sim_query *q,
				 const char *const *b, const size_t *lb,
				 size_t n, double cutoff, double *out)
{
	struct sim__jw_gate gate;

	sim__jw_gate_init(&gate, q->len, cutoff);
	for (size_t i = 0; i < n; i++)
		if (!sim__jw_settle(q, b[i], lb[i], &gate, &out[i]))
			out[i] = sim__jw_pm(q, b[i], lb[i], cutoff);
}

static void sim__edit_batch_scalar(const struct sim_query *q,
				   const char *const *b, const size_t *lb,
				   size_t n, int max, int osa, int *out)
{
	for (size_t i = 0; i < n; i++)
		if (!sim__edit_settle(q, b[i], lb[i], max, osa, &out[i]))
			out[i] =
			    sim__edit_pm(q->pm, q->len, b[i], lb[i], max, osa);
}

const struct sim__ops sim__ops_scalar = {
    .jaro64 = sim__jaro64_scalar,
    .edit64 = sim__edit64_scalar,
    .jw_prepared = sim__jw_prepared_scalar,
    .jw_batch = sim__jw_batch_scalar,
    .edit_batch = sim__edit_batch_scalar,
};

/* ---- instruction set choice ---------------------------------------------- */

/** The kernels of each set; without x86 support in the build, all three
 *  are the portable ones (and sim__cpu_has refuses the other two). */
static const struct sim__ops *const sim__table[] = {
    &sim__ops_scalar,
#if SIM_HAVE_X86
    &sim__ops_avx2,
    &sim__ops_avx512,
#else
    &sim__ops_scalar,
    &sim__ops_scalar,
#endif
};

static const char *const sim__isa_names[] = {"scalar", "avx2", "avx512"};

/** The enum sim_isa in use; -1 until the first kernel call. */
static _Atomic int sim__isa = -1;

static int sim__cpu_has(enum sim_isa isa)
{
	if (isa == SIM_ISA_SCALAR)
		return 1;
#if SIM_HAVE_X86
	__builtin_cpu_init();
	int avx2 =
	    __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") &&
	    __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("popcnt");
	if (isa == SIM_ISA_AVX2)
		return avx2;
	if (isa == SIM_ISA_AVX512)
		return avx2 && __builtin_cpu_supports("avx512f") &&
		       __builtin_cpu_supports("avx512bw") &&
		       __builtin_cpu_supports("avx512vl") &&
		       __builtin_cpu_supports("avx512vbmi") &&
		       __builtin_cpu_supports("avx512vbmi2");
#endif
	return 0;
}

static int sim__isa_init(void)
{
	int isa = SIM_ISA_AVX512;
	while (!sim__cpu_has((enum sim_isa)isa))
		isa--;
	const char *env = getenv("RECONNU_SIM_ISA");
	for (int i = SIM_ISA_SCALAR; env && i <= SIM_ISA_AVX512; i++)
		if (strcmp(env, sim__isa_names[i]) == 0 &&
		    sim__cpu_has((enum sim_isa)i))
			isa = i;
	atomic_store_explicit(&sim__isa, isa, memory_order_relaxed);
	return isa;
}

static inline const struct sim__ops *sim__ops(void)
{
	int isa = atomic_load_explicit(&sim__isa, memory_order_relaxed);
	return sim__table[isa >= 0 ? isa : sim__isa_init()];
}

enum sim_isa sim_get_isa(void)
{
	int isa = atomic_load_explicit(&sim__isa, memory_order_relaxed);
	return (enum sim_isa)(isa >= 0 ? isa : sim__isa_init());
}

int sim_set_isa(enum sim_isa isa)
{
	if (isa < SIM_ISA_SCALAR || isa > SIM_ISA_AVX512 || !sim__cpu_has(isa))
		return -1;
	atomic_store_explicit(&sim__isa, (int)isa, memory_order_relaxed);
	return 0;
}

const char *sim_isa_name(enum sim_isa isa)
{
	if (isa < SIM_ISA_SCALAR || isa > SIM_ISA_AVX512)
		return NULL;
	return sim__isa_names[isa];
}

/* ---- public kernels ------------------------------------------------------ */

double sim_jaro(const char *a, size_t la, const char *b, size_t lb)
{
	if (la == 0 || lb == 0 || la > 64 || lb > 64)
		return sim_jaro_ref(a, la, b, lb);
	return sim__ops()->jaro64(a, la, b, lb);
}

double sim_jaro_winkler(const char *a, size_t la, const char *b, size_t lb)
{
	return sim__winkler(sim_jaro(a, la, b, lb), sim__prefix4(a, la, b, lb));
}

static int sim__edit(const char *a, size_t la, const char *b, size_t lb,
		     int max, int osa)
{
	uint64_t pm[256];

	if (la <= 64 && lb <= 64)
		return sim__ops()->edit64(a, la, b, lb, max, osa);
	int d = sim__edit_prepare(&a, &la, &b, &lb, max);
	if (d >= 0)
		return d;
	if (lb > 64)
		return osa ? sim__osa_dp(a, la, b, lb, max)
			   : sim__lev_dp(a, la, b, lb, max);
	sim__pm_fill(pm, b, lb, a, la);
	return sim__edit_pm(pm, lb, a, la, max, osa);
}

int sim_levenshtein(const char *a, size_t la, const char *b, size_t lb, int max)
{
	return sim__edit(a, la, b, lb, max, 0);
}

int sim_osa(const char *a, size_t la, const char *b, size_t lb, int max)
{
	return sim__edit(a, la, b, lb, max, 1);
}

void sim_query_create(struct sim_query *q, const char *s, size_t len)
{
	q->s = s;
	q->len = len;
	memset(q->head, 0, sizeof(q->head));
	if (len > 0)
		memcpy(q->head, s, sim__min(len, sizeof(q->head)));
	memset(q->pm, 0, sizeof(q->pm));
	for (size_t i = 0; len <= 64 && i < len; i++)
		q->pm[(unsigned char)s[i]] |= UINT64_C(1) << i;
}

double sim_jw_prepared(const struct sim_query *q, const char *b, size_t lb)
{
	if (q->len == 0 || lb == 0 || q->len > 64 || lb > 64)
		return sim_jaro_winkler_ref(q->s, q->len, b, lb);
	return sim__ops()->jw_prepared(q, b, lb);
}

void sim_jw_batch(const struct sim_query *q, const char *const *b,
		  const size_t *lb, size_t n, double cutoff, double *out)
{
	if (q->len > 0 && q->len <= 64) {
		sim__ops()->jw_batch(q, b, lb, n, cutoff, out);
		return;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = sim_jaro_winkler_ref(q->s, q->len, b[i], lb[i]);
}

static void sim__edit_batch(const struct sim_query *q, const char *const *b,
			    const size_t *lb, size_t n, int max, int osa,
			    int *out)
{
	if (q->len > 0 && q->len <= 64) {
		sim__ops()->edit_batch(q, b, lb, n, max, osa, out);
		return;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = sim__edit(q->s, q->len, b[i], lb[i], max, osa);
}

void sim_levenshtein_batch(const struct sim_query *q, const char *const *b,
			   const size_t *lb, size_t n, int max, int *out)
{
	sim__edit_batch(q, b, lb, n, max, 0, out);
}

void sim_osa_batch(const struct sim_query *q, const char *const *b,
		   const size_t *lb, size_t n, int max, int *out)
{
	sim__edit_batch(q, b, lb, n, max, 1, out);
}

/* ---- token sets ---------------------------------------------------------- */

/** Bits set in a and b together. The portable build has no popcount
 *  instruction, and the library call cost more than this. */
static inline size_t sim__bits2(uint64_t a, uint64_t b)
{
	const uint64_t m1 = UINT64_C(0x5555555555555555),
		       m2 = UINT64_C(0x3333333333333333),
		       m4 = UINT64_C(0x0f0f0f0f0f0f0f0f);
	a -= (a >> 1) & m1;
	b -= (b >> 1) & m1;
	a = (a & m2) + ((a >> 2) & m2);
	b = (b & m2) + ((b >> 2) & m2);
	a = (a + (a >> 4)) & m4;
	b = (b + (b >> 4)) & m4;
	return (size_t)(((a + b) * UINT64_C(0x0101010101010101)) >> 56);
}

/** Adds the n bytes at s to b. The sets are built in registers: stored
 *  through b, each byte would wait for the previous one's store (s may
 *  alias b as far as the compiler knows). */
static void sim__bytes_add(struct sim_bytes *b, const char *s, size_t n)
{
	uint64_t lo = b->bits[0], hi = b->bits[1];
	for (size_t i = 0; i < n; i++) {
		unsigned c = (unsigned char)s[i];
		uint64_t bit = UINT64_C(1) << (c & 63);
		lo |= c & 64 ? 0 : bit;
		hi |= c & 64 ? bit : 0;
	}
	b->bits[0] = lo;
	b->bits[1] = hi;
	b->len += n;
	b->kinds = sim__bits2(b->bits[0], b->bits[1]);
}

void sim_tokens_create(struct sim_tokens *t, const char *s)
{
	size_t n = 0;
	t->all = (struct sim_bytes){{0, 0}, 0, 0};
	while (*s != '\0' && n < SIM_TOKENS_MAX) {
		while (*s == ' ')
			s++;
		const char *start = s;
		while (*s != '\0' && *s != ' ')
			s++;
		size_t len = (size_t)(s - start);
		if (len == 0)
			break;
		t->all.len += len;
		size_t k = 0;
		while (k < n && (t->t[k].b.len != len ||
				 memcmp(t->t[k].s, start, len) != 0))
			k++;
		if (k < n) {
			t->t[k].count++;
			continue;
		}
		struct sim_token *tok = &t->t[n++];
		tok->s = start;
		tok->count = 1;
		tok->b = (struct sim_bytes){{0, 0}, 0, 0};
		sim__bytes_add(&tok->b, start, len);
		t->all.bits[0] |= tok->b.bits[0];
		t->all.bits[1] |= tok->b.bits[1];
	}
	t->all.kinds = sim__bits2(t->all.bits[0], t->all.bits[1]);
	while (*s == ' ')
		s++;
	t->n = n;
	t->whole = *s == '\0';
}

void sim_bytes_of(struct sim_bytes *b, const char *s, size_t len)
{
	*b = (struct sim_bytes){{0, 0}, 0, 0};
	sim__bytes_add(b, s, len);
}

/*
 * Jaro matches pair equal bytes one to one, so there are at most the sum
 * over bytes c of min(count in x, count in y); grouping bytes by c & 127
 * only raises that sum, and within a group held by both the minimum is
 * at most 1 plus the string's extra bytes of the group: at most
 * `shared + min(len - kinds)` in all. The score with that many matches,
 * none transposed, and a prefix of `prefix` bytes bounds the exact one
 * (each rounded operation is monotonic, as for sim__jw_bound). Inline
 * for the token pair loop; sim_bytes_common is its public name.
 */
static inline size_t sim__bytes_common(const struct sim_bytes *x,
				       const struct sim_bytes *y)
{
	size_t shared =
	    sim__bits2(x->bits[0] & y->bits[0], x->bits[1] & y->bits[1]);
	size_t m = shared + sim__min(x->len - x->kinds, y->len - y->kinds);
	return sim__min(m, sim__min(x->len, y->len));
}

size_t sim_bytes_common(const struct sim_bytes *x, const struct sim_bytes *y)
{
	return sim__bytes_common(x, y);
}

double sim_jw_bound_bytes(const struct sim_bytes *x, const struct sim_bytes *y,
			  size_t prefix)
{
	size_t m = sim__bytes_common(x, y);
	return sim__winkler(sim__jaro_score(m, 0, x->len, y->len),
			    sim__min(prefix, sim__min(m, 4)));
}

/**
 * Whether tokens x and y (each at most 64 bytes) are surely below
 * Jaro-Winkler 0.9 from their bytes and their common prefix. Most pairs
 * are far apart, and the bound's divisions cost more than the rest: in
 * exact arithmetic JW <= 0.6 Jaro + 0.4 and Jaro <= (m/la + m/lb + 1) / 3
 * for m matches at most, so 2 m (la + lb) < 3 la lb keeps JW at least
 * 0.1 / (la lb) below 0.9, far more than rounding can move it; the other
 * pairs take the bound in floating point.
 */
static int sim__token_far(const struct sim_token *x, const struct sim_token *y)
{
	size_t la = x->b.len, lb = y->b.len,
	       m = sim__bytes_common(&x->b, &y->b);
	if (2 * m * (la + lb) < 3 * la * lb)
		return 1;
	size_t l = sim__prefix4(x->s, la, y->s, lb);
	return sim_jw_bound_bytes(&x->b, &y->b, l) < 0.9;
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

double sim_token_set_tokens(const struct sim_tokens *a,
			    const struct sim_tokens *b)
{
	_Static_assert(SIM_TOKENS_MAX <= 32, "adjacency is a uint32_t mask");
	uint32_t adj[SIM_TOKENS_MAX];
	int match_right[SIM_TOKENS_MAX];

	size_t na = a->n, nb = b->n;
	if (na == 0 && nb == 0)
		return 1.0;
	if (na == 0 || nb == 0)
		return 0.0;

	for (size_t i = 0; i < na; i++) {
		const struct sim_token *x = &a->t[i];
		adj[i] = 0;
		for (size_t j = 0; j < nb; j++) {
			const struct sim_token *y = &b->t[j];
			size_t la = x->b.len, lb = y->b.len;
			int same = la == lb && memcmp(x->s, y->s, la) == 0;
			/* Jaro <= (2 + short/long) / 3 and JW <= 0.6 Jaro +
			 * 0.4: up to 64 bytes, a token more than twice as
			 * long as the other stays below 0.8985; tokens with
			 * too few bytes in common are below too */
			int far = la <= 64 && lb <= 64 &&
				  (2 * la < lb || 2 * lb < la ||
				   sim__token_far(x, y));
			if (same || (!far && sim_jaro_winkler(x->s, la, y->s,
							      lb) >= 0.9))
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

double sim_token_set(const char *a, const char *b)
{
	struct sim_tokens ta, tb;
	sim_tokens_create(&ta, a);
	sim_tokens_create(&tb, b);
	return sim_token_set_tokens(&ta, &tb);
}
