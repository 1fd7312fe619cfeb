/*
 * test_sim — known values, algebraic properties and randomised
 * cross-checks of the similarity kernels against naive full-matrix
 * references written here.
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
}

int main(void)
{
	unit_plan_begin();
	test_jaro_known();
	test_jaro_edges();
	test_jaro_random();
	test_edit_known();
	test_edit_cutoff();
	test_edit_random();
	test_edit_long();
	test_token_set();
	return unit_done();
}
