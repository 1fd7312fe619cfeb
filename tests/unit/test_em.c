/* Unit test: EM recovers m, u and the share of matches from comparison
 * vectors drawn from a known model; it refuses too little data. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "em.h"
#include "unit.h"

static uint64_t rng = 88172645463325252ULL;
static double uniform(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / 9007199254740992.0;
}

/* The true model: for each attribute, the chance of exact / close /
 * different among matches (m) and non-matches (u). */
static const int attrs[] = {SCORE_GIVEN, SCORE_FAMILY, SCORE_BIRTH,
			    SCORE_POSTCODE, SCORE_CITY};
static double m_true[5][3] = {{0.88, 0.08, 0.04},
			      {0.90, 0.06, 0.04},
			      {0.85, 0.10, 0.05},
			      {0.88, 0.06, 0.06},
			      {0.86, 0.08, 0.06}};
static const double u_true[5][3] = {{0.02, 0.01, 0.97},
				    {0.01, 0.01, 0.98},
				    {0.001, 0.004, 0.995},
				    {0.05, 0.01, 0.94},
				    {0.06, 0.02, 0.92}};
static const int levels[3] = {SCORE_EXACT, SCORE_CLOSE, SCORE_DIFFERENT};

static void draw(struct em_gamma *g, int match, double blocked_u_boost)
{
	memset(g, 0, sizeof(*g));
	for (int k = 0; k < 5; k++) {
		double x = uniform();
		const double *p = match ? m_true[k] : u_true[k];
		/* blocked non-matches agree more often on the place */
		double e = p[0], c = p[1];
		if (!match && k >= 3)
			e = e * blocked_u_boost > 0.9 ? 0.9 : e * blocked_u_boost;
		g->level[attrs[k]] = (uint8_t)(x < e ? levels[0]
					       : x < e + c ? levels[1]
							   : levels[2]);
	}
}

/* Draws the pairs again from the first seed: random pairs, then blocked
 * pairs of which a quarter match (after m_true changed). */
static void redraw(struct em_gamma *rnd, int nr, struct em_gamma *blk, int nb)
{
	rng = 88172645463325252ULL;
	for (int i = 0; i < nr; i++)
		draw(&rnd[i], 0, 1);
	for (int i = 0; i < nb; i++)
		draw(&blk[i], uniform() < 0.25, 4);
}

int main(void)
{
	unit_plan_begin();
	enum { NR = 100000, NB = 40000 };
	struct em_gamma *rnd = malloc(NR * sizeof(*rnd));
	struct em_gamma *blk = malloc(NB * sizeof(*blk));
	for (int i = 0; i < NR; i++)
		draw(&rnd[i], 0, 1);
	int matches = 0;
	for (int i = 0; i < NB; i++) {
		int match = uniform() < 0.25;
		matches += match;
		draw(&blk[i], match, 4);
	}

	struct score_model m, before;
	score_model_default(&m);
	before = m;
	struct em_input in = {.blocked = blk,
			      .n_blocked = NB,
			      .random = rnd,
			      .n_random = NR,
			      .blocked_scale = 1,
			      .n_records = 20000};
	struct em_report rep;
	is_int(em_estimate(&in, &m, &rep), 0, "estimates");
	ok(rep.iterations > 1, "iterates");
	ok(fabs(rep.match_share - 0.25) < 0.02, "share of matches among blocked pairs");
	ok(fabs(rep.expected_matches - matches) < 0.05 * matches,
	   "expected matching pairs");
	double all = 20000.0 * 19999 / 2, prior = rep.expected_matches / all;
	ok(fabs(m.prior - log2(prior / (1 - prior))) < 1e-9, "prior from the share");
	for (int k = 0; k < 5; k++)
		for (int j = 0; j < 3; j++) {
			int a = attrs[k], l = levels[j];
			ok(fabs(rep.u[a][l] - u_true[k][j]) <
				   0.1 * u_true[k][j] + 0.002,
			   "u from random pairs");
			ok(fabs(rep.m[a][l] - m_true[k][j]) < 0.03,
			   "m recovered by EM");
			ok(fabs(m.weight[a][l] - log2(rep.m[a][l] / rep.u[a][l])) < 1e-9,
			   "weight = log2(m/u)");
		}
	is_int(rep.fallback, 0, "a plausible estimate is kept whole");
	/* attributes absent from the data keep their weights */
	ok(m.weight[SCORE_EMAIL][SCORE_EXACT] == before.weight[SCORE_EMAIL][SCORE_EXACT],
	   "absent attribute keeps its weight");
	ok(m.swap_penalty == before.swap_penalty, "other fields untouched");

	/* deterministic */
	struct score_model m2;
	score_model_default(&m2);
	em_estimate(&in, &m2, NULL);
	ok(!memcmp(&m, &m2, sizeof(m)), "same input, same model");

	/* an implausible estimate (matches disagree on the city half the
	 * time: it says nothing about identity) falls back to the default m */
	m_true[4][0] = 0.45, m_true[4][1] = 0.05, m_true[4][2] = 0.5;
	redraw(rnd, NR, blk, NB);
	struct score_model mf;
	score_model_default(&mf);
	is_int(em_estimate(&in, &mf, &rep), 0, "estimates again");
	ok(rep.fallback == 1u << SCORE_CITY, "only the city falls back");
	double dm, du;
	score_default_mu(SCORE_CITY, SCORE_EXACT, &dm, &du);
	ok(fabs(mf.weight[SCORE_CITY][SCORE_EXACT] -
		log2(dm / rep.u[SCORE_CITY][SCORE_EXACT])) < 1e-9,
	   "with the default m and the measured u");

	/* a quarter of the matches disagreeing: a birth date keyed wrong by
	 * some sources is kept (about -2 bits), the same share for a family
	 * name is a household and falls back */
	m_true[4][0] = 0.86, m_true[4][1] = 0.08, m_true[4][2] = 0.06;
	m_true[2][0] = 0.65, m_true[2][1] = 0.10, m_true[2][2] = 0.25;
	m_true[1][0] = 0.70, m_true[1][1] = 0.05, m_true[1][2] = 0.25;
	redraw(rnd, NR, blk, NB);
	score_model_default(&mf);
	is_int(em_estimate(&in, &mf, &rep), 0, "estimates a third time");
	ok(rep.fallback == 1u << SCORE_FAMILY, "only the family name falls back");
	ok(fabs(rep.m[SCORE_BIRTH][SCORE_DIFFERENT] - 0.25) < 0.03,
	   "m of a disagreeing date recovered");
	ok(mf.weight[SCORE_BIRTH][SCORE_DIFFERENT] > EM_DIFFERENT_MAX_NAME &&
		   mf.weight[SCORE_BIRTH][SCORE_DIFFERENT] <= EM_DIFFERENT_MAX,
	   "a date may disagree more cheaply than a name");

	/* too little data: refused, model unchanged */
	struct score_model m3 = before;
	in.n_blocked = EM_MIN_PAIRS - 1;
	is_int(em_estimate(&in, &m3, NULL), -1, "too few blocked pairs");
	ok(!memcmp(&m3, &before, sizeof(m3)), "model unchanged");

	/* model codec round trip and refusal of a damaged one */
	uint8_t buf[SCORE_MODEL_BYTES];
	score_model_encode(&m, buf);
	struct score_model d;
	score_model_default(&d);
	is_int(score_model_decode(buf, sizeof(buf), &d), 0, "decodes");
	ok(!memcmp(&d, &m, sizeof(d)), "round trip");
	buf[0] ^= 1;
	is_int(score_model_decode(buf, sizeof(buf), &d), -1, "bad tag refused");
	buf[0] ^= 1;
	is_int(score_model_decode(buf, sizeof(buf) - 1, &d), -1, "short refused");
	memset(buf + 8, 0xff, 8); /* a NaN prior */
	is_int(score_model_decode(buf, sizeof(buf), &d), -1, "NaN refused");

	free(rnd);
	free(blk);
	return unit_done();
}
