/*
 * em — Fellegi–Sunter estimation by EM; see em.h.
 */
#include "em.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct pattern {
	struct em_gamma g;
	double count;
};

static int cmp_gamma(const void *x, const void *y)
{
	return memcmp(x, y, sizeof(struct em_gamma));
}

/* Distinct vectors with their counts; *out owned by the caller. */
static size_t compress(const struct em_gamma *v, size_t n,
		       struct pattern **out)
{
	struct em_gamma *s = malloc(n * sizeof(*s));
	struct pattern *p = malloc(n * sizeof(*p));
	if (!s || !p) {
		free(s);
		free(p);
		*out = NULL;
		return 0;
	}
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_gamma);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (k && !memcmp(&p[k - 1].g, &s[i], sizeof(s[i]))) {
			p[k - 1].count += 1;
			continue;
		}
		p[k].g = s[i];
		p[k].count = 1;
		k++;
	}
	free(s);
	*out = p;
	return k;
}

/* Whether attribute a uses level l (the default model says which). */
static int uses(int a, int l)
{
	return score_level_used((enum score_attr)a, (enum score_level)l);
}

/* Attribute a's m back to the defaults. */
static void default_m(struct em_report *r, int a)
{
	for (int l = 1; l < SCORE_NLEVEL; l++) {
		double m, u;
		if (score_default_mu((enum score_attr)a, (enum score_level)l, &m,
				     &u) == 0)
			r->m[a][l] = m;
	}
}

/* Pairs in a training session: the attributes the session conditions on
 * agree, so only the others are estimated from it (as Splink trains m
 * per blocking rule and leaves the rule's own columns alone). */
enum session { SESSION_NAMES_AGREE, SESSION_PLACE_AGREE, SESSION_ALL };

static int in_session(const struct em_gamma *g, enum session s)
{
	const uint8_t *l = g->level;
	switch (s) {
	case SESSION_NAMES_AGREE:
		return l[SCORE_GIVEN] == SCORE_EXACT &&
		       l[SCORE_FAMILY] == SCORE_EXACT;
	case SESSION_PLACE_AGREE:
		return l[SCORE_EMAIL] == SCORE_EXACT ||
		       l[SCORE_PHONE] == SCORE_EXACT ||
		       l[SCORE_IDENT] == SCORE_EXACT ||
		       l[SCORE_STREET] == SCORE_EXACT ||
		       (l[SCORE_POSTCODE] == SCORE_EXACT &&
			l[SCORE_CITY] == SCORE_EXACT);
	default:
		return 1;
	}
}

/* Whether a session estimates attribute a. */
static int estimates(enum session s, int a)
{
	int name = a == SCORE_GIVEN || a == SCORE_FAMILY;
	switch (s) {
	case SESSION_NAMES_AGREE:
		return !name;
	case SESSION_PLACE_AGREE:
		return name;
	default:
		return 0; /* the last pass only fits lambda */
	}
}

/* Whether a session conditions on attribute a: its pairs were chosen
 * for agreeing on it, so it says nothing there and stays out of the
 * likelihood. */
static int conditions(enum session s, int a)
{
	switch (s) {
	case SESSION_NAMES_AGREE:
		return a == SCORE_GIVEN || a == SCORE_FAMILY;
	case SESSION_PLACE_AGREE:
		return a == SCORE_EMAIL || a == SCORE_PHONE ||
		       a == SCORE_IDENT || a == SCORE_STREET ||
		       a == SCORE_POSTCODE || a == SCORE_CITY;
	default:
		return 0;
	}
}

/* Match and non-match log-likelihoods of pattern g in session s. */
static void loglik(const struct em_report *r, const struct em_gamma *g,
		   enum session s, double *wm, double *wn)
{
	*wm = *wn = 0;
	for (int a = 0; a < SCORE_NATTR; a++) {
		int l = g->level[a];
		if (l == SCORE_MISSING || l >= SCORE_NLEVEL || !uses(a, l) ||
		    conditions(s, a))
			continue;
		*wm += log(r->m[a][l]);
		*wn += log(r->u[a][l]);
	}
}

/* EM over the patterns of one session: m of the attributes it estimates
 * and lambda; u fixed. mass[a] gets the posterior mass behind m[a].
 * @retval lambda. */
static double em_session(struct em_report *r, const struct pattern *p,
			 size_t np, double *post, enum session s, int max_it,
			 double mass[SCORE_NATTR])
{
	double lambda = 0.1;
	memset(mass, 0, sizeof(double) * SCORE_NATTR);
	for (int it = 0; it < max_it; it++) {
		r->iterations++;
		double lm = log(lambda), ln = log(1 - lambda);
		double sum_p = 0, sum_n = 0;
		for (size_t i = 0; i < np; i++) {
			double wm, wn;
			loglik(r, &p[i].g, s, &wm, &wn);
			post[i] = 1.0 / (1.0 + exp(ln + wn - lm - wm));
			sum_p += post[i] * p[i].count;
			sum_n += p[i].count;
		}
		double delta = 0;
		for (int a = 0; a < SCORE_NATTR; a++) {
			if (!estimates(s, a))
				continue;
			double cnt[SCORE_NLEVEL] = {0}, tot = 0;
			int nl = 0;
			for (int l = 1; l < SCORE_NLEVEL; l++)
				nl += uses(a, l);
			for (size_t i = 0; i < np; i++) {
				int l = p[i].g.level[a];
				if (l == SCORE_MISSING || !uses(a, l))
					continue;
				cnt[l] += post[i] * p[i].count;
				tot += post[i] * p[i].count;
			}
			mass[a] = tot;
			if (tot < EM_MIN_MASS)
				continue; /* too little to say: keep m */
			for (int l = 1; l < SCORE_NLEVEL; l++) {
				if (!uses(a, l))
					continue;
				double m = (cnt[l] + 0.01) / (tot + 0.01 * nl);
				if (fabs(m - r->m[a][l]) > delta)
					delta = fabs(m - r->m[a][l]);
				r->m[a][l] = m;
			}
		}
		lambda = sum_n > 0 ? sum_p / sum_n : 0.1;
		if (lambda < 1e-9)
			lambda = 1e-9;
		if (lambda > 1 - 1e-9)
			lambda = 1 - 1e-9;
		if (delta < 1e-6 && it > 0) {
			if (s == SESSION_ALL)
				r->converged = 1;
			if (s != SESSION_ALL || fabs(lambda - sum_p / sum_n) < 1e-9)
				break;
		}
	}
	return lambda;
}

/* Whether level l of attribute a was seen often enough, among random and
 * blocked pairs, for its estimate to mean something. */
static int observed(const struct em_report *r, int a, int l)
{
	return uses(a, l) && r->seen[a][l] >= EM_MIN_SEEN;
}

/* Weight of level l of attribute a under r. */
static double wt(const struct em_report *r, int a, int l)
{
	return log2(r->m[a][l] / r->u[a][l]);
}

/* Levels are ordered by similarity, so must their weights be: exact >=
 * close >= far >= different (for the levels the attribute uses), a
 * nickname or an initial between exact and different; and a
 * disagreement must count against (at most EM_DIFFERENT_MAX_NAME bits for
 * a name, EM_DIFFERENT_MAX for the rest). */
static int plausible(const struct em_report *r, int a)
{
	static const int chain[] = {SCORE_EXACT, SCORE_CLOSE, SCORE_FAR,
				    SCORE_DIFFERENT};
	int prev = -1;
	for (size_t i = 0; i < sizeof(chain) / sizeof(*chain); i++) {
		if (!observed(r, a, chain[i]))
			continue;
		if (prev >= 0 && wt(r, a, chain[i]) > wt(r, a, prev))
			return 0;
		prev = chain[i];
	}
	static const int side[] = {SCORE_NICKNAME, SCORE_INITIAL,
				   SCORE_PARTIAL};
	for (size_t i = 0; i < sizeof(side) / sizeof(*side); i++)
		if (observed(r, a, side[i]) &&
		    ((observed(r, a, SCORE_EXACT) &&
		      wt(r, a, side[i]) > wt(r, a, SCORE_EXACT)) ||
		     (observed(r, a, SCORE_DIFFERENT) &&
		      wt(r, a, side[i]) < wt(r, a, SCORE_DIFFERENT))))
			return 0;
	double most = a == SCORE_GIVEN || a == SCORE_FAMILY
			  ? EM_DIFFERENT_MAX_NAME
			  : EM_DIFFERENT_MAX;
	return !observed(r, a, SCORE_DIFFERENT) ||
	       wt(r, a, SCORE_DIFFERENT) <= most;
}

int em_estimate(const struct em_input *in, struct score_model *model,
		struct em_report *rep)
{
	struct em_report r;
	memset(&r, 0, sizeof(r));
	if (in->n_blocked < EM_MIN_PAIRS || in->n_random < EM_MIN_PAIRS ||
	    in->n_records < 2)
		return -1;

	/* u: level shares over random pairs, with half a pair of
	 * pseudo-count per level so that no level is impossible */
	double seen_u[SCORE_NATTR] = {0};
	for (int a = 0; a < SCORE_NATTR; a++) {
		double cnt[SCORE_NLEVEL] = {0}, tot = 0;
		int nl = 0;
		for (int l = 1; l < SCORE_NLEVEL; l++)
			nl += uses(a, l);
		for (size_t i = 0; i < in->n_random; i++) {
			int l = in->random[i].level[a];
			if (l != SCORE_MISSING && l < SCORE_NLEVEL && uses(a, l)) {
				cnt[l]++;
				tot++;
			}
		}
		seen_u[a] = tot;
		for (int l = 1; l < SCORE_NLEVEL; l++)
			r.seen[a][l] = cnt[l];
		for (size_t i = 0; i < in->n_blocked; i++) {
			int l = in->blocked[i].level[a];
			if (l != SCORE_MISSING && l < SCORE_NLEVEL)
				r.seen[a][l]++;
		}
		for (int l = 1; l < SCORE_NLEVEL; l++)
			if (uses(a, l))
				r.u[a][l] = (cnt[l] + 0.5) / (tot + 0.5 * nl);
	}

	/* m starts from the defaults */
	for (int a = 0; a < SCORE_NATTR; a++)
		default_m(&r, a);
	int max_it = in->max_iterations > 0 ? in->max_iterations : 50;
	struct em_gamma *sub = malloc(in->n_blocked * sizeof(*sub));
	double *post = malloc(in->n_blocked * sizeof(*post));
	if (!sub || !post) {
		free(sub);
		free(post);
		return -2;
	}
	double mass[SCORE_NATTR], got[SCORE_NATTR] = {0};
	double lambda = 0.1;
	for (int s = SESSION_NAMES_AGREE; s <= SESSION_ALL; s++) {
		size_t n = 0;
		for (size_t i = 0; i < in->n_blocked; i++)
			if (in_session(&in->blocked[i], (enum session)s))
				sub[n++] = in->blocked[i];
		if (n < EM_MIN_PAIRS)
			continue;
		struct pattern *p;
		size_t np = compress(sub, n, &p);
		if (!p) {
			free(sub);
			free(post);
			return -2;
		}
		lambda = em_session(&r, p, np, post, (enum session)s, max_it,
				    mass);
		for (int a = 0; a < SCORE_NATTR; a++)
			if (estimates((enum session)s, a))
				got[a] = mass[a];
		free(p);
	}
	free(sub);
	free(post);

	r.match_share = lambda;
	r.expected_matches = lambda * (double)in->n_blocked * in->blocked_scale;
	double all = in->n_records * (in->n_records - 1) / 2;
	double prior = r.expected_matches / all;
	if (prior < 1e-12)
		prior = 1e-12;
	if (prior > 0.5)
		prior = 0.5;
	model->prior = log2(prior / (1 - prior));
	/* u now comes from random pairs, where a common value agrees more
	 * often than average: the frequency adjustment goes both ways */
	model->tf_max_down = model->tf_max;
	for (int a = 0; a < SCORE_NATTR; a++) {
		/* an attribute the data barely has keeps its weights */
		if (seen_u[a] < EM_MIN_PAIRS)
			continue;
		/* an estimate that breaks the order of the levels has learnt
		 * something else than identity (a household, an address):
		 * the attribute keeps the default m, with the u measured */
		if (got[a] < EM_MIN_MASS || !plausible(&r, a)) {
			r.fallback |= 1u << a;
			default_m(&r, a);
		}
		for (int l = 1; l < SCORE_NLEVEL; l++) {
			/* a level the data does not show keeps its weight */
			if (!observed(&r, a, l))
				continue;
			double w = log2(r.m[a][l] / r.u[a][l]);
			if (w < EM_WEIGHT_MIN)
				w = EM_WEIGHT_MIN;
			if (w > EM_WEIGHT_MAX)
				w = EM_WEIGHT_MAX;
			model->weight[a][l] = w;
		}
	}
	if (rep)
		*rep = r;
	return 0;
}
