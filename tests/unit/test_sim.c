/*
 * test_sim — known values, algebraic properties and randomised
 * cross-checks of the similarity kernels against naive full-matrix
 * references written here; then, under every instruction set the CPU
 * has, property checks that each fast kernel (pair, prepared, batch)
 * returns exactly what the module's scalar reference returns, over
 * seeded random ASCII, UTF-8, binary, repetitive and near-duplicate
 * strings of every length from 0 to 130 bytes.
 */
#include "sim.h"
#include "unit.h"

#include <stdint.h>
#include <stdlib.h>

static uint64_t rng_state = 0x5eed5eedULL;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 11);
}

/** Random string of length 0..maxlen over the first `alpha` letters. */
static size_t rand_str(char *buf, size_t maxlen, int alpha)
{
	size_t len = rng() % (maxlen + 1);
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)('a' + rng() % (uint32_t)alpha);
	buf[len] = '\0';
	return len;
}

/* No libm: the test links only the module. */
static double absd(double x)
{
	return x < 0 ? -x : x;
}

static int near4(double got, double want)
{
	return absd(got - want) < 0.00005;
}

/** Jaro-Winkler rounded to 4 decimals, times 10000. */
static int jw(const char *a, const char *b)
{
	return (int)(10000 * sim_jaro_winkler(a, strlen(a), b, strlen(b)) +
		     0.5);
}

static double naive_jaro(const char *a, size_t la, const char *b, size_t lb)
{
	char fa[256] = {0}, fb[256] = {0};
	if (la == 0 && lb == 0)
		return 1;
	if (la == 0 || lb == 0)
		return 0;
	long window = (long)(la > lb ? la : lb) / 2 - 1;
	if (window < 0)
		window = 0;
	int m = 0;
	for (long i = 0; i < (long)la; i++) {
		for (long j = i - window; j <= i + window; j++) {
			if (j < 0 || j >= (long)lb || fb[j] || a[i] != b[j])
				continue;
			fa[i] = fb[j] = 1;
			m++;
			break;
		}
	}
	if (m == 0)
		return 0;
	int t = 0;
	for (size_t i = 0, j = 0; i < la; i++) {
		if (!fa[i])
			continue;
		while (!fb[j])
			j++;
		t += a[i] != b[j++];
	}
	t /= 2;
	return ((double)m / (double)la + (double)m / (double)lb +
		(double)(m - t) / m) /
	       3;
}

static size_t sim__test_min(size_t a, size_t b)
{
	return a < b ? a : b;
}

static int min3(int a, int b, int c)
{
	int m = a < b ? a : b;
	return m < c ? m : c;
}

/** Full-matrix Levenshtein (osa = 0) or OSA (osa = 1), no cutoff. */
static int naive_edit(const char *a, size_t la, const char *b, size_t lb,
		      int osa)
{
	static int d[1100][40];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (int)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			d[i][j] =
			    min3(d[i - 1][j] + 1, d[i][j - 1] + 1,
				 d[i - 1][j - 1] + (a[i - 1] != b[j - 1]));
			if (osa && i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < d[i][j])
				d[i][j] = d[i - 2][j - 2] + 1;
		}
	}
	return d[la][lb];
}

static void test_jaro_known(void)
{
	static const struct {
		const char *a, *b;
		double jaro, jw;
	} cases[] = {
	    {"martha", "marhta", 0.9444, 0.9611},
	    {"dwayne", "duane", 0.8222, 0.8400},
	    {"dixon", "dicksonx", 0.7667, 0.8133},
	    {"jellyfish", "smellyfish", 0.8963, 0.8963},
	    {"crate", "trace", 0.7333, 0.7333},
	    {"jon", "john", 0.9167, 0.9333},
	    {"abc", "abc", 1.0, 1.0},
	    {"abc", "xyz", 0.0, 0.0},
	    {"a", "a", 1.0, 1.0},
	    {"a", "b", 0.0, 0.0},
	    /* jaro 0.5 <= 0.7: the shared prefix "ab" earns no boost */
	    {"abcdefgh", "abxxxxxx", 0.5, 0.5},
	    /* prefix boost stops at 4 characters */
	    {"abcdefghij", "abcdefghxy", 0.8667, 0.9200},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *a = cases[i].a, *b = cases[i].b;
		size_t la = strlen(a), lb = strlen(b);
		char msg[128];
		double j = sim_jaro(a, la, b, lb);
		double w = sim_jaro_winkler(a, la, b, lb);
		snprintf(msg, sizeof(msg), "jaro(%s, %s) = %.4f", a, b,
			 cases[i].jaro);
		if (!ok(near4(j, cases[i].jaro), msg))
			printf("#   got %.6f\n", j);
		snprintf(msg, sizeof(msg), "jaro_winkler(%s, %s) = %.4f", a, b,
			 cases[i].jw);
		if (!ok(near4(w, cases[i].jw), msg))
			printf("#   got %.6f\n", w);
		ok(near4(sim_jaro_winkler(b, lb, a, la), w),
		   "jaro_winkler is symmetric on the known pair");
	}
	is_int(jw("martha", "marhta"), 9611, "martha/marhta to 4 decimals");
}

static void test_jaro_edges(void)
{
	ok(sim_jaro("", 0, "", 0) == 1.0, "jaro of two empty strings is 1");
	ok(sim_jaro_winkler("", 0, "", 0) == 1.0, "jw of two empties is 1");
	ok(sim_jaro("abc", 3, "", 0) == 0.0, "jaro against empty is 0");
	ok(sim_jaro_winkler("", 0, "abc", 3) == 0.0, "jw against empty is 0");
	ok(sim_jaro("abcXYZ", 3, "abc", 3) == 1.0,
	   "jaro reads only la bytes, no NUL needed");

	/* Past SIM_LEN_MAX only the first SIM_LEN_MAX bytes count. */
	static char a[SIM_LEN_MAX + 100], b[SIM_LEN_MAX + 100];
	memset(a, 'x', sizeof(a));
	memset(b, 'x', sizeof(b));
	memset(a + SIM_LEN_MAX, 'y', 100);
	ok(sim_jaro(a, sizeof(a), b, sizeof(b)) == 1.0,
	   "jaro ignores bytes past SIM_LEN_MAX");
	ok(near4(sim_jaro(a, sizeof(a), b, 10),
		 (10.0 / SIM_LEN_MAX + 1.0 + 1.0) / 3),
	   "a long string counts as SIM_LEN_MAX bytes long");

	/* Identity and symmetry on random strings, across 64-bit words. */
	char x[200], y[200];
	int bad_identity = 0, bad_symmetry = 0, bad_range = 0;
	for (int i = 0; i < 2000; i++) {
		size_t lx = rand_str(x, 150, 4);
		size_t ly = rand_str(y, 150, 4);
		if (sim_jaro_winkler(x, lx, x, lx) != 1.0)
			bad_identity++;
		double s1 = sim_jaro_winkler(x, lx, y, ly);
		double s2 = sim_jaro_winkler(y, ly, x, lx);
		if (absd(s1 - s2) > 1e-12)
			bad_symmetry++;
		if (s1 < 0.0 || s1 > 1.0)
			bad_range++;
	}
	is_int(bad_identity, 0, "jw(x, x) = 1 on 2000 random strings");
	is_int(bad_symmetry, 0, "jw is symmetric on 2000 random pairs");
	is_int(bad_range, 0, "jw stays in [0, 1]");
}

static void test_jaro_random(void)
{
	char x[200], y[200];
	int bad = 0;
	for (int i = 0; i < 5000; i++) {
		int alpha = 2 + (int)(rng() % 6);
		size_t lx = rand_str(x, i % 2 ? 20 : 180, alpha);
		size_t ly = rand_str(y, i % 3 ? 20 : 180, alpha);
		double got = sim_jaro(x, lx, y, ly);
		double want = naive_jaro(x, lx, y, ly);
		if (absd(got - want) > 1e-12 && bad++ < 5)
			printf("# jaro(%s, %s) = %f, naive %f\n", x, y, got,
			       want);
	}
	is_int(bad, 0, "jaro matches the byte-flag reference on 5000 pairs");
}

static void test_edit_known(void)
{
	static const struct {
		const char *a, *b;
		int lev, osa;
	} cases[] = {
	    {"kitten", "sitting", 3, 3},
	    {"flaw", "lawn", 2, 2},
	    {"saturday", "sunday", 3, 3},
	    {"", "", 0, 0},
	    {"", "abc", 3, 3},
	    {"abc", "", 3, 3},
	    {"abc", "abc", 0, 0},
	    {"ab", "ba", 2, 1},
	    {"ca", "abc", 3, 3},
	    {"abcdef", "badcfe", 4, 3},
	    {"smith", "simth", 2, 1},
	    {"jonathan", "jonathon", 1, 1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *a = cases[i].a, *b = cases[i].b;
		size_t la = strlen(a), lb = strlen(b);
		char msg[128];
		snprintf(msg, sizeof(msg), "levenshtein(%s, %s) = %d", a, b,
			 cases[i].lev);
		is_int(sim_levenshtein(a, la, b, lb, -1), cases[i].lev, msg);
		is_int(sim_levenshtein(b, lb, a, la, -1), cases[i].lev,
		       "levenshtein is symmetric");
		snprintf(msg, sizeof(msg), "osa(%s, %s) = %d", a, b,
			 cases[i].osa);
		is_int(sim_osa(a, la, b, lb, -1), cases[i].osa, msg);
		is_int(sim_osa(b, lb, a, la, -1), cases[i].osa,
		       "osa is symmetric");
	}
}

static void test_edit_cutoff(void)
{
	is_int(sim_levenshtein("kitten", 6, "sitting", 7, 3), 3,
	       "cutoff equal to the distance returns the distance");
	is_int(sim_levenshtein("kitten", 6, "sitting", 7, 2), 3,
	       "cutoff 2 below distance 3 returns max + 1");
	is_int(sim_levenshtein("kitten", 6, "sitting", 7, 0), 1,
	       "cutoff 0 returns 1 for different strings");
	is_int(sim_levenshtein("same", 4, "same", 4, 0), 0,
	       "cutoff 0 returns 0 for equal strings");
	is_int(sim_osa("ab", 2, "ba", 2, 0), 1, "osa cutoff 0 on a swap");
	is_int(sim_osa("ab", 2, "ba", 2, 1), 1, "osa swap fits cutoff 1");
	is_int(sim_levenshtein("a", 1, "abcdefgh", 8, 3), 4,
	       "length difference alone exceeds the cutoff");
	is_int(sim_osa("", 0, "abcdefgh", 8, 100), 8,
	       "large cutoff returns the exact distance");
	is_int(sim_osa("abcdefgh", 8, "stuvwxyz", 8, 2), 3,
	       "early exit on a hopeless pair returns max + 1");
}

static void test_edit_random(void)
{
	char x[40], y[40];
	int bad_lev = 0, bad_osa = 0, bad_cut_lev = 0, bad_cut_osa = 0;
	for (int i = 0; i < 20000; i++) {
		int alpha = 2 + (int)(rng() % 4);
		size_t lx = rand_str(x, 12, alpha);
		size_t ly = rand_str(y, 12, alpha);
		int lev = naive_edit(x, lx, y, ly, 0);
		int osa = naive_edit(x, lx, y, ly, 1);
		if (sim_levenshtein(x, lx, y, ly, -1) != lev && bad_lev++ < 5)
			printf("# lev(%s, %s) want %d\n", x, y, lev);
		if (sim_osa(x, lx, y, ly, -1) != osa && bad_osa++ < 5)
			printf("# osa(%s, %s) want %d\n", x, y, osa);
		int max = (int)(rng() % 8);
		int want_lev = lev > max ? max + 1 : lev;
		int want_osa = osa > max ? max + 1 : osa;
		if (sim_levenshtein(x, lx, y, ly, max) != want_lev &&
		    bad_cut_lev++ < 5)
			printf("# lev(%s, %s, %d) want %d\n", x, y, max,
			       want_lev);
		if (sim_osa(x, lx, y, ly, max) != want_osa && bad_cut_osa++ < 5)
			printf("# osa(%s, %s, %d) want %d\n", x, y, max,
			       want_osa);
	}
	is_int(bad_lev, 0, "levenshtein = full matrix on 20000 random pairs");
	is_int(bad_osa, 0, "osa = full matrix on 20000 random pairs");
	is_int(bad_cut_lev, 0, "levenshtein cutoff rule on 20000 pairs");
	is_int(bad_cut_osa, 0, "osa cutoff rule on 20000 pairs");
}

static void test_edit_long(void)
{
	static char a[2 * SIM_LEN_MAX], b[2 * SIM_LEN_MAX];
	char s[40];
	int bad = 0;
	for (int i = 0; i < 20; i++) {
		for (size_t k = 0; k < sizeof(a); k++) {
			a[k] = (char)('a' + rng() % 3);
			b[k] = (char)('a' + rng() % 3);
		}
		size_t la = 1050 + rng() % 40;
		size_t ls = rand_str(s, 30, 3);
		if (sim_osa(a, la, s, ls, -1) != naive_edit(a, la, s, ls, 1))
			bad++;
		if (sim_levenshtein(s, ls, a, la, -1) !=
		    naive_edit(a, la, s, ls, 0))
			bad++;
	}
	is_int(bad, 0, "exact when only one string exceeds SIM_LEN_MAX");

	a[0] = a[SIM_LEN_MAX - 1] = a[sizeof(a) - 1] = 'x';
	b[0] = b[SIM_LEN_MAX - 1] = b[sizeof(b) - 1] = 'y';
	is_int(sim_levenshtein(a, sizeof(a), b, sizeof(b), -1),
	       sim_levenshtein(a, SIM_LEN_MAX, b, SIM_LEN_MAX, -1),
	       "both past SIM_LEN_MAX: first SIM_LEN_MAX bytes compared");
	memcpy(b, a, sizeof(a));
	b[sizeof(b) - 1] ^= 1;
	is_int(sim_osa(a, sizeof(a), b, sizeof(b), -1), 1,
	       "a common prefix longer than SIM_LEN_MAX is stripped first");
}

static void test_token_set(void)
{
	static const struct {
		const char *a, *b;
		double want;
	} cases[] = {
	    {"", "", 1.0},
	    {"   ", "", 1.0},
	    {"", "smith", 0.0},
	    {"john smith", "john smith", 1.0},
	    {"john smith", "smith john", 1.0},
	    {"jon smith", "john  smith", 1.0},
	    {"a b c", "a b", 0.8},
	    {"a a b", "b a", 1.0},
	    {"high street", "low road", 0.0},
	    {"12 high street", "12 high st", 2.0 * 2 / 6},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char msg[128];
		double got = sim_token_set(cases[i].a, cases[i].b);
		snprintf(msg, sizeof(msg), "token_set(\"%s\", \"%s\") = %.4f",
			 cases[i].a, cases[i].b, cases[i].want);
		if (!ok(near4(got, cases[i].want), msg))
			printf("#   got %.6f\n", got);
	}
	ok(near4(sim_token_set("jon jonn john", "john"), 2.0 / 4),
	   "one token pairs with at most one token");

	/* 40 distinct tokens: only the first SIM_TOKENS_MAX are read. */
	char many[400] = "", tail[400] = "";
	for (int i = 0; i < 40; i++) {
		char t[8];
		snprintf(t, sizeof(t), "%c%c ", 'a' + i % 26, 'A' + i / 26);
		strcat(many, t);
		if (i < SIM_TOKENS_MAX)
			strcat(tail, t);
	}
	ok(sim_token_set(many, tail) == 1.0,
	   "tokens past SIM_TOKENS_MAX are ignored");

	char x[80], y[80];
	int bad = 0;
	for (int i = 0; i < 2000; i++) {
		size_t lx = rand_str(x, 60, 4), ly = rand_str(y, 60, 4);
		for (size_t k = 0; k < lx; k++)
			x[k] = x[k] == 'd' ? ' ' : x[k];
		for (size_t k = 0; k < ly; k++)
			y[k] = y[k] == 'd' ? ' ' : y[k];
		double s1 = sim_token_set(x, y), s2 = sim_token_set(y, x);
		if (s1 != s2 || s1 < 0 || s1 > 1 || sim_token_set(x, x) != 1)
			bad++;
	}
	is_int(bad, 0, "token_set symmetric, in [0, 1], 1 on itself");

	/* single tokens pair exactly when JW >= 0.9: the length bound that
	 * skips JW must never skip a pair that reaches it */
	bad = 0;
	int paired = 0;
	unsigned long long z = 99;
	for (int i = 0; i < 40000; i++) {
		char x[70], y[70];
		z = z * 6364136223846793005ULL + 1;
		size_t lx = 1 + (z >> 33) % 64, ly = 1 + (z >> 45) % 64;
		if (i & 1)
			ly = lx / 2 + (z >> 20) % 3; /* near twice as long */
		if (ly == 0)
			ly = 1;
		for (size_t k = 0; k < lx; k++)
			x[k] = (char)('a' + (z >> (k % 40)) % 2);
		for (size_t k = 0; k < ly; k++)
			y[k] = (char)('a' + (z >> ((k + 3) % 40)) % 2);
		x[lx] = y[ly] = 0;
		int want =
		    !strcmp(x, y) || sim_jaro_winkler_ref(x, lx, y, ly) >= 0.9;
		paired += want;
		bad += sim_token_set(x, y) != (want ? 1.0 : 0.0);
	}
	ok(paired > 100, "token pairs reach 0.9");
	is_int(bad, 0, "token_set pairs tokens exactly when JW >= 0.9");

	/* nor may the bound from the bytes two tokens share: near and far
	 * words over a small alphabet, with bytes that fold onto others
	 * (0xC3 & 127 is 'C', 0xA9 & 127 is ')') */
	static const char alpha[] = "abcenrstC)\xC3\xA9";
	const size_t n_alpha = sizeof(alpha) - 1;
	bad = paired = 0;
	int skipped = 0;
	for (int i = 0; i < 40000; i++) {
		char x[40], y[40];
		z = z * 6364136223846793005ULL + 1;
		size_t lx = 1 + (z >> 33) % 16, ly = lx;
		for (size_t k = 0; k < lx; k++) {
			z = z * 6364136223846793005ULL + 1;
			x[k] = alpha[(z >> 40) % n_alpha];
		}
		memcpy(y, x, lx);
		for (int e = (int)((z >> 20) % 5); e > 0; e--) {
			z = z * 6364136223846793005ULL + 1;
			size_t at = (z >> 30) % ly;
			char c = alpha[(z >> 50) % n_alpha];
			if ((z >> 12) % 3 == 0 && ly < 30) {
				memmove(y + at + 1, y + at, ly - at);
				y[at] = c, ly++;
			} else if ((z >> 12) % 3 == 1 && ly > 1) {
				memmove(y + at, y + at + 1, ly - at - 1);
				ly--;
			} else {
				y[at] = c;
			}
		}
		x[lx] = y[ly] = 0;
		int want =
		    !strcmp(x, y) || sim_jaro_winkler_ref(x, lx, y, ly) >= 0.9;
		struct sim_tokens tx, ty;
		sim_tokens_create(&tx, x);
		sim_tokens_create(&ty, y);
		paired += want;
		skipped += !want;
		bad += sim_token_set(x, y) != (want ? 1.0 : 0.0) ||
		       sim_token_set_tokens(&tx, &ty) != (want ? 1.0 : 0.0);
	}
	ok(paired > 1000 && skipped > 1000, "near and far tokens");
	is_int(bad, 0, "the shared-bytes bound never skips a pair");

	struct sim_tokens ta, tb;
	sim_tokens_create(&ta, "  12 high  street high ");
	sim_tokens_create(&tb, "12 high st");
	ok(ta.n == 3 && ta.t[2].b.len == 6 && !memcmp(ta.t[2].s, "street", 6),
	   "tokens: split on spaces, repeats once");
	ok(sim_token_set_tokens(&ta, &tb) ==
	       sim_token_set("  12 high  street high ", "12 high st"),
	   "token_set of prepared lists: as from the strings");
	ok(ta.whole && ta.all.len == 16 && tb.all.len == 8,
	   "tokens: every byte but the spaces counted, repeats included");
	struct sim_bytes sb;
	sim_bytes_of(&sb, "12highstreethigh", 16);
	ok(!memcmp(sb.bits, ta.all.bits, sizeof(sb.bits)) &&
	       sb.kinds == ta.all.kinds,
	   "tokens: the bytes of the line without its spaces");
	sim_tokens_create(&ta, many);
	ok(!ta.whole && ta.n == SIM_TOKENS_MAX, "tokens: cut at the limit");

	/* the bound is never below the score, on near and far strings */
	bad = 0;
	for (int i = 0; i < 40000; i++) {
		char x[70], y[70];
		z = z * 6364136223846793005ULL + 1;
		size_t lx = 1 + (z >> 33) % 64, ly = lx;
		for (size_t k = 0; k < lx; k++) {
			z = z * 6364136223846793005ULL + 1;
			x[k] = alpha[(z >> 40) % (i & 1 ? 4 : n_alpha)];
		}
		memcpy(y, x, lx);
		for (int e = (int)((z >> 20) % 8); e > 0; e--) {
			z = z * 6364136223846793005ULL + 1;
			size_t at = (z >> 30) % ly;
			y[at] = alpha[(z >> 50) % n_alpha];
			if ((z >> 12) % 4 == 0 && ly > 1)
				ly--;
		}
		struct sim_bytes bx, by;
		sim_bytes_of(&bx, x, lx);
		sim_bytes_of(&by, y, ly);
		double jw = sim_jaro_winkler_ref(x, lx, y, ly);
		bad += sim_jw_bound_bytes(&bx, &by, 4) < jw ||
		       sim_jw_bound_bytes(
			   &bx, &by, lx && ly && x[0] != y[0] ? 0 : 4) < jw;
	}
	is_int(bad, 0, "sim_jw_bound_bytes bounds Jaro-Winkler");
	sim_bytes_of(&sb, "hopkins", 7);
	ok(sim_jw_bound_bytes(&sb, &sb, 4) == 1.0, "bound of equal strings: 1");
}

/* ---- fast paths against the scalar reference ------------------------- */

#define GEN_MAX 130

/** Appends the UTF-8 encoding of code point cp to buf at *n, if it fits
 *  under cap bytes. @return 0 when it did not fit. */
static int put_utf8(char *buf, size_t *n, size_t cap, uint32_t cp)
{
	unsigned char u[4];
	size_t k;
	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		k = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | cp >> 6);
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		k = 2;
	} else {
		u[0] = (unsigned char)(0xe0 | cp >> 12);
		u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		k = 3;
	}
	if (*n + k > cap)
		return 0;
	memcpy(buf + *n, u, k);
	*n += k;
	return 1;
}

enum gen_kind {
	GEN_LETTERS, /* a..z */
	GEN_FEW,     /* 2 to 4 letters: many repeats and transpositions */
	GEN_PRINT,   /* printable ASCII */
	GEN_UTF8,    /* Cyrillic, Han, accented Latin and ASCII, valid */
	GEN_BYTES,   /* any byte, NUL included */
	GEN_REPEAT,  /* runs of one or two characters */
	GEN_KINDS
};

/** A random string of `len` bytes (UTF-8: at most len) of one kind. */
static size_t gen_str(char *buf, size_t len, enum gen_kind kind)
{
	size_t n = 0;
	uint32_t few = 2 + rng() % 3;
	switch (kind) {
	case GEN_LETTERS:
	case GEN_FEW:
		for (; n < len; n++)
			buf[n] =
			    (char)('a' + rng() % (kind == GEN_FEW ? few : 26));
		break;
	case GEN_PRINT:
		for (; n < len; n++)
			buf[n] = (char)(' ' + rng() % 95);
		break;
	case GEN_UTF8:
		for (int tries = 0; n < len && tries < 200; tries++) {
			static const uint32_t base[] = {0x430, 0x4e00, 0xc0,
							'a'};
			static const uint32_t span[] = {32, 64, 64, 26};
			uint32_t r = rng() % 4;
			put_utf8(buf, &n, len, base[r] + rng() % span[r]);
		}
		break;
	case GEN_BYTES:
		for (; n < len; n++)
			buf[n] = (char)(rng() % 256);
		break;
	case GEN_REPEAT:
		for (char c = (char)('a' + rng() % 2); n < len; n++) {
			if (rng() % 8 == 0)
				c = (char)('a' + rng() % 2);
			buf[n] = c;
		}
		break;
	default:
		break;
	}
	return n;
}

/** A near-duplicate of x: 1 to 3 random substitutions, adjacent swaps,
 *  insertions or deletions, staying within GEN_MAX bytes. */
static size_t gen_typo(char *y, const char *x, size_t lx)
{
	size_t ly = lx;
	memcpy(y, x, lx);
	for (int e = 1 + (int)(rng() % 3); e > 0; e--) {
		size_t at = ly ? rng() % ly : 0;
		switch (rng() % 4) {
		case 0:
			if (ly)
				y[at] = (char)('a' + rng() % 26);
			break;
		case 1:
			if (at + 1 < ly) {
				char t = y[at];
				y[at] = y[at + 1];
				y[at + 1] = t;
			}
			break;
		case 2:
			if (ly < GEN_MAX) {
				memmove(y + at + 1, y + at, ly - at);
				y[at] = (char)('a' + rng() % 26);
				ly++;
			}
			break;
		default:
			if (ly) {
				memmove(y + at, y + at + 1, ly - at - 1);
				ly--;
			}
		}
	}
	return ly;
}

/** A pair shaped like what the kernels meet: unrelated strings of one
 *  kind, a string and its near-duplicate, or a shared prefix and suffix
 *  around different middles. */
static void gen_pair(char *x, size_t *lx, char *y, size_t *ly, size_t len)
{
	enum gen_kind kind = (enum gen_kind)(rng() % GEN_KINDS);
	*lx = gen_str(x, len, kind);
	switch (rng() % 3) {
	case 0:
		*ly = gen_str(y, rng() % (GEN_MAX + 1), kind);
		break;
	case 1:
		*ly = gen_typo(y, x, *lx);
		break;
	default: {
		size_t keep = *lx ? rng() % (*lx + 1) : 0;
		size_t mid = sim__test_min(rng() % 8, GEN_MAX - keep);
		memcpy(y, x, keep);
		*ly = keep + gen_str(y + keep, mid, kind);
		size_t tail = sim__test_min(*lx - keep, GEN_MAX - *ly);
		memcpy(y + *ly, x + *lx - tail, tail);
		*ly += tail;
	}
	}
}

/** One pair through every pair kernel; counts differences from the
 *  reference in bad[0..4] (jaro, jw, prepared, levenshtein, osa). */
static void check_pair(const char *x, size_t lx, const char *y, size_t ly,
		       int *bad)
{
	static struct sim_query q;
	int max = (int)(rng() % 9) - 1;
	if (rng() % 8 == 0)
		max = 1000;

	if (sim_jaro(x, lx, y, ly) != sim_jaro_ref(x, lx, y, ly) &&
	    bad[0]++ < 3)
		printf("# jaro(\"%.*s\", \"%.*s\") differs\n", (int)lx, x,
		       (int)ly, y);
	double want = sim_jaro_winkler_ref(x, lx, y, ly);
	if (sim_jaro_winkler(x, lx, y, ly) != want && bad[1]++ < 3)
		printf("# jw(\"%.*s\", \"%.*s\") differs\n", (int)lx, x,
		       (int)ly, y);
	sim_query_create(&q, x, lx);
	if (sim_jw_prepared(&q, y, ly) != want && bad[2]++ < 3)
		printf("# jw_prepared(\"%.*s\", \"%.*s\") differs\n", (int)lx,
		       x, (int)ly, y);
	int lev = sim_levenshtein_ref(x, lx, y, ly, max);
	if (sim_levenshtein(x, lx, y, ly, max) != lev && bad[3]++ < 3)
		printf("# lev(\"%.*s\", \"%.*s\", %d) want %d\n", (int)lx, x,
		       (int)ly, y, max, lev);
	int osa = sim_osa_ref(x, lx, y, ly, max);
	if (sim_osa(x, lx, y, ly, max) != osa && bad[4]++ < 3)
		printf("# osa(\"%.*s\", \"%.*s\", %d) want %d\n", (int)lx, x,
		       (int)ly, y, max, osa);
}

static void test_pairs_vs_ref(void)
{
	static char x[GEN_MAX + 1], y[GEN_MAX + 1];
	int bad[5] = {0};
	size_t lx, ly;

	for (size_t len = 0; len <= GEN_MAX; len++)
		for (int k = 0; k < 120; k++) {
			gen_pair(x, &lx, y, &ly, len);
			check_pair(x, lx, y, ly, bad);
			check_pair(y, ly, x, lx, bad);
		}
	is_int(bad[0], 0, "jaro = reference on 31440 pairs, lengths 0..130");
	is_int(bad[1], 0, "jaro_winkler = reference, bit for bit");
	is_int(bad[2], 0, "jw_prepared = reference, bit for bit");
	is_int(bad[3], 0, "levenshtein = reference under random cutoffs");
	is_int(bad[4], 0, "osa = reference under random cutoffs");
}

#define BATCH 150

/** One query against BATCH candidates through the batch kernels. */
static void check_batch(const char *x, size_t lx, char (*ys)[GEN_MAX + 1],
			int *bad)
{
	static struct sim_query q;
	const char *b[BATCH];
	size_t lb[BATCH];
	double out[BATCH], want[BATCH];
	int dist[BATCH];

	for (size_t i = 0; i < BATCH; i++) {
		char *y = ys[i];
		switch (rng() % 4) {
		case 0:
			lb[i] = gen_typo(y, x, lx);
			break;
		case 1:
			lb[i] = gen_str(y, rng() % 17,
					(enum gen_kind)(rng() % GEN_KINDS));
			break;
		default:
			lb[i] = gen_str(y, rng() % (GEN_MAX + 1),
					(enum gen_kind)(rng() % GEN_KINDS));
		}
		b[i] = y;
	}
	sim_query_create(&q, x, lx);
	for (size_t i = 0; i < BATCH; i++)
		want[i] = sim_jaro_winkler_ref(x, lx, b[i], lb[i]);

	/* every score exact, without a cutoff */
	sim_jw_batch(&q, b, lb, BATCH, 0.0, out);
	for (size_t i = 0; i < BATCH; i++)
		if (out[i] != want[i] && bad[0]++ < 3)
			printf("# jw_batch(\"%.*s\", \"%.*s\") = %.17g, "
			       "want %.17g\n",
			       (int)lx, x, (int)lb[i], b[i], out[i], want[i]);

	/* a cutoff: exact at or above it, the score or 0 below; cutoffs
	 * equal to a candidate's exact score must keep that score */
	double cut = (rng() % 3) ? want[rng() % BATCH] : rng() % 101 / 100.0;
	sim_jw_batch(&q, b, lb, BATCH, cut, out);
	for (size_t i = 0; i < BATCH; i++) {
		int good = want[i] >= cut ? out[i] == want[i]
					  : out[i] == want[i] || out[i] == 0.0;
		if (!good && bad[1]++ < 3)
			printf("# jw_batch cutoff %.17g: %.17g, want %.17g\n",
			       cut, out[i], want[i]);
		bad[4] += want[i] < cut && out[i] == 0.0 && want[i] > 0;
	}

	int max = (int)(rng() % 6) - 1;
	sim_levenshtein_batch(&q, b, lb, BATCH, max, dist);
	for (size_t i = 0; i < BATCH; i++)
		if (dist[i] != sim_levenshtein_ref(x, lx, b[i], lb[i], max) &&
		    bad[2]++ < 3)
			printf("# levenshtein_batch(\"%.*s\", \"%.*s\", %d)\n",
			       (int)lx, x, (int)lb[i], b[i], max);
	sim_osa_batch(&q, b, lb, BATCH, max, dist);
	for (size_t i = 0; i < BATCH; i++)
		if (dist[i] != sim_osa_ref(x, lx, b[i], lb[i], max) &&
		    bad[3]++ < 3)
			printf("# osa_batch(\"%.*s\", \"%.*s\", %d)\n", (int)lx,
			       x, (int)lb[i], b[i], max);
}

static void test_batches_vs_ref(void)
{
	static char x[GEN_MAX + 1], ys[BATCH][GEN_MAX + 1];
	int bad[5] = {0};

	for (size_t len = 0; len <= GEN_MAX; len++)
		for (int k = 0; k < 4; k++)
			check_batch(
			    x,
			    gen_str(x, len, (enum gen_kind)(rng() % GEN_KINDS)),
			    ys, bad);
	is_int(bad[0], 0, "jw_batch = reference, 524 queries x 150");
	is_int(bad[1], 0, "jw_batch keeps every score at or over the cutoff");
	is_int(bad[2], 0, "levenshtein_batch = reference");
	is_int(bad[3], 0, "osa_batch = reference");
	ok(bad[4] > 0, "the cutoff skips some candidates under it");

	/* batches of every size up to 20: lane tails and empty batches */
	static struct sim_query q;
	const char *b[20];
	size_t lb[20];
	double out[21];
	int dist[21], wrong = 0;
	sim_query_create(&q, "catherine", 9);
	for (size_t n = 0; n <= 20; n++) {
		out[n] = -1;
		dist[n] = -7;
		for (size_t i = 0; i < n; i++) {
			b[i] = i % 2 ? "katherine" : "kathryn";
			lb[i] = strlen(b[i]);
		}
		sim_jw_batch(&q, b, lb, n, 0.0, out);
		sim_osa_batch(&q, b, lb, n, 2, dist);
		for (size_t i = 0; i < n; i++)
			wrong += out[i] != sim_jaro_winkler_ref("catherine", 9,
								b[i], lb[i]) ||
				 dist[i] != sim_osa_ref("catherine", 9, b[i],
							lb[i], 2);
		wrong += out[n] != -1 || dist[n] != -7;
	}
	is_int(wrong, 0, "batches of 0..20: right values, nothing past n");

	/* an empty query, even without a string behind it */
	sim_query_create(&q, NULL, 0);
	sim_jw_batch(&q, b, lb, 2, 0.0, out);
	sim_osa_batch(&q, b, lb, 2, 3, dist);
	ok(out[0] == 0.0 && out[1] == 0.0 && dist[0] == 4 && dist[1] == 4 &&
	       sim_jw_prepared(&q, "", 0) == 1.0,
	   "empty query: 0 against words, 1 against empty, cutoff rule");
}

static void test_isa_api(void)
{
	enum sim_isa was = sim_get_isa();
	is_int(sim_set_isa(SIM_ISA_SCALAR), 0, "scalar is always available");
	is_int(sim_get_isa(), SIM_ISA_SCALAR, "sim_get_isa reports the set");
	is_int(sim_set_isa((enum sim_isa)7), -1, "unknown set refused");
	is_int(sim_get_isa(), SIM_ISA_SCALAR, "a refusal changes nothing");
	is_str(sim_isa_name(SIM_ISA_AVX512), "avx512", "set names");
	ok(sim_isa_name((enum sim_isa)7) == NULL, "no name outside the enum");
	sim_set_isa(was);
}

int main(void)
{
	unit_plan_begin();
	test_isa_api();
	for (int isa = SIM_ISA_SCALAR; isa <= SIM_ISA_AVX512; isa++) {
		if (sim_set_isa((enum sim_isa)isa) != 0) {
			printf("# %s: not on this CPU, skipped\n",
			       sim_isa_name((enum sim_isa)isa));
			continue;
		}
		printf("# instruction set: %s\n",
		       sim_isa_name((enum sim_isa)isa));
		test_jaro_known();
		test_jaro_edges();
		test_jaro_random();
		test_edit_known();
		test_edit_cutoff();
		test_edit_random();
		test_edit_long();
		test_token_set();
		test_pairs_vs_ref();
		test_batches_vs_ref();
	}
	return unit_done();
}
