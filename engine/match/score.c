/*
 * score — Fellegi–Sunter comparisons; see score.h.
 *
 * Default m/u per level. m is the chance the level is seen for two records
 * of one person (typo rates of real exports: a few percent per field), u
 * the chance for two people who share a blocking key (names and places are
 * correlated within a block, so u is larger than over random pairs).
 */
#include "score.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sim.h"

struct mu {
	enum score_level level;
	double m, u;
};

static const struct mu defaults[SCORE_NATTR][8] = {
	[SCORE_GIVEN] = {{SCORE_EXACT, 0.85, 0.02},
			 {SCORE_NICKNAME, 0.03, 0.002},
			 {SCORE_CLOSE, 0.07, 0.005},
			 {SCORE_INITIAL, 0.01, 0.03},
			 {SCORE_FAR, 0.03, 0.02},
			 {SCORE_DIFFERENT, 0.02, 0.9}},
	[SCORE_FAMILY] = {{SCORE_EXACT, 0.87, 0.02},
			  {SCORE_CLOSE, 0.08, 0.004},
			  {SCORE_FAR, 0.04, 0.02},
			  {SCORE_DIFFERENT, 0.02, 0.95}},
	[SCORE_BIRTH] = {{SCORE_EXACT, 0.86, 0.0008},
			 {SCORE_CLOSE, 0.10, 0.002},
			 {SCORE_PARTIAL, 0.04, 0.03},
			 {SCORE_DIFFERENT, 0.02, 0.96}},
	[SCORE_GENDER] = {{SCORE_EXACT, 0.97, 0.5},
			  {SCORE_DIFFERENT, 0.03, 0.5}},
	[SCORE_EMAIL] = {{SCORE_EXACT, 0.6, 0.0005},
			 {SCORE_CLOSE, 0.08, 0.002},
			 {SCORE_PARTIAL, 0.04, 0.004},
			 {SCORE_DIFFERENT, 0.28, 0.99}},
	[SCORE_PHONE] = {{SCORE_EXACT, 0.6, 0.0005},
			 {SCORE_CLOSE, 0.06, 0.002},
			 {SCORE_DIFFERENT, 0.34, 0.99}},
	[SCORE_POSTCODE] = {{SCORE_EXACT, 0.8, 0.05},
			    {SCORE_CLOSE, 0.08, 0.01},
			    {SCORE_DIFFERENT, 0.12, 0.93}},
	[SCORE_CITY] = {{SCORE_EXACT, 0.8, 0.06},
			{SCORE_CLOSE, 0.1, 0.01},
			{SCORE_DIFFERENT, 0.1, 0.93}},
	[SCORE_STREET] = {{SCORE_EXACT, 0.75, 0.002},
			  {SCORE_CLOSE, 0.13, 0.01},
			  {SCORE_DIFFERENT, 0.12, 0.988}},
	[SCORE_IDENT] = {{SCORE_EXACT, 0.9, 0.00001},
			 {SCORE_CLOSE, 0.06, 0.0005},
			 {SCORE_DIFFERENT, 0.04, 0.9995}},
};

void score_model_default(struct score_model *m)
{
	memset(m, 0, sizeof(*m));
	m->prior = -11.0;
	m->swap_penalty = 1.0;
	for (int a = 0; a < SCORE_NATTR; a++)
		for (int i = 0; i < 8 && defaults[a][i].m > 0; i++)
			m->weight[a][defaults[a][i].level] =
				log2(defaults[a][i].m / defaults[a][i].u);
}

const char *score_attr_name(enum score_attr a)
{
	static const char *const names[SCORE_NATTR] = {
		"given_name", "family_name", "birth_date", "gender",
		"email",      "phone",       "postcode",   "city",
		"street",     "identifier"};
	return (unsigned)a < SCORE_NATTR ? names[a] : "?";
}

const char *score_level_name(enum score_level l)
{
	static const char *const names[SCORE_NLEVEL] = {
		"missing", "exact",   "nickname", "close",
		"initial", "partial", "far",      "different"};
	return (unsigned)l < SCORE_NLEVEL ? names[l] : "?";
}

double score_probability(double w)
{
	if (w > 60)
		return 1.0;
	if (w < -60)
		return 0.0;
	double p = exp2(w);
	return p / (1.0 + p);
}

/* ---- attribute comparisons ------------------------------------------- */

struct cmp {
	enum score_level level;
	double sim;
	const char *left, *right;
};

static struct cmp cmp_missing(void)
{
	return (struct cmp){SCORE_MISSING, -1, "", ""};
}

static double jw(const char *a, const char *b)
{
	return sim_jaro_winkler(a, strlen(a), b, strlen(b));
}

/* Typo bands shared by given and family names: one edit (OSA, so a
 * transposition counts once) or Jaro-Winkler >= 0.92 is close; two edits
 * with the same initial (typos rarely hit the first letter: david/farid
 * are two names) or JW >= 0.88 is far; token subsets ("jean luc" /
 * "jean") are close. */
static enum score_level name_band(const char *a, size_t la, const char *b,
				  size_t lb, double jws)
{
	int d = sim_osa(a, la, b, lb, 2);
	size_t shorter = la < lb ? la : lb;
	if (jws >= 0.92 || (d <= 1 && shorter >= 3) ||
	    sim_token_set(a, b) >= 0.99)
		return SCORE_CLOSE;
	if (jws >= 0.88 || (d <= 2 && shorter >= 5 && a[0] == b[0]))
		return SCORE_FAR;
	return SCORE_DIFFERENT;
}

/* Given names: exact, nickname, close, initial, far, different. */
static struct cmp cmp_given(const struct norm_nicknames *nn, const char *a,
			    const char *b)
{
	struct cmp c = {SCORE_MISSING, -1, a, b};
	if (!*a || !*b)
		return c;
	if (!strcmp(a, b)) {
		c.level = SCORE_EXACT;
		c.sim = 1;
		return c;
	}
	c.sim = jw(a, b);
	if (nn && norm_nicknames_related(nn, a, b)) {
		c.level = SCORE_NICKNAME;
		return c;
	}
	size_t la = strlen(a), lb = strlen(b);
	if ((la == 1 || lb == 1) && a[0] == b[0]) {
		c.level = SCORE_INITIAL;
		return c;
	}
	c.level = name_band(a, la, b, lb, c.sim);
	return c;
}

static struct cmp cmp_family(const char *a, const char *b)
{
	struct cmp c = {SCORE_MISSING, -1, a, b};
	if (!*a || !*b)
		return c;
	if (!strcmp(a, b)) {
		c.level = SCORE_EXACT;
		c.sim = 1;
		return c;
	}
	c.sim = jw(a, b);
	c.level = name_band(a, strlen(a), b, strlen(b), c.sim);
	return c;
}

/* YYYYMMDD of a full date, else of an impossible one, else NULL. */
static const char *birth8(const struct store_rec *r, char *buf)
{
	const struct norm_date *d = &r->birth;
	if (d->year && d->month && d->day) {
		snprintf(buf, 16, "%04d%02d%02d", d->year, d->month, d->day);
		return buf;
	}
	return r->birth_digits[0] ? r->birth_digits : NULL;
}

static enum score_level cmp_birth(const struct store_rec *ra,
				  const struct store_rec *rb)
{
	const struct norm_date *a = &ra->birth, *b = &rb->birth;
	if (!a->year || !b->year) {
		/* an impossible date (a typo) is compared digit by digit */
		char x[16], y[16];
		const char *sa = birth8(ra, x), *sb = birth8(rb, y);
		if (!sa || !sb)
			return SCORE_MISSING;
		return sim_osa(sa, 8, sb, 8, 1) <= 1 ? SCORE_CLOSE
						     : SCORE_DIFFERENT;
	}
	int full = a->month && a->day && b->month && b->day;
	if (!full) {
		if (a->year != b->year)
			return SCORE_DIFFERENT;
		if (a->month && b->month && a->month != b->month)
			return SCORE_DIFFERENT;
		return SCORE_PARTIAL;
	}
	if (a->year == b->year && a->month == b->month && a->day == b->day)
		return SCORE_EXACT;
	if (a->year == b->year && a->month == b->day && a->day == b->month)
		return SCORE_CLOSE;
	char sa[16], sb[16];
	snprintf(sa, sizeof(sa), "%04d%02d%02d", a->year, a->month, a->day);
	snprintf(sb, sizeof(sb), "%04d%02d%02d", b->year, b->month, b->day);
	if (sim_osa(sa, 8, sb, 8, 1) <= 1)
		return SCORE_CLOSE;
	return SCORE_DIFFERENT;
}

static struct cmp cmp_lists(const char *const *a, size_t na,
			    const char *const *b, size_t nb, int kind)
{
	struct cmp c = cmp_missing();
	if (!na || !nb)
		return c;
	c.level = SCORE_DIFFERENT;
	c.left = a[0];
	c.right = b[0];
	c.sim = 0;
	for (size_t i = 0; i < na; i++)
		for (size_t j = 0; j < nb; j++) {
			const char *x = a[i], *y = b[j];
			if (!strcmp(x, y)) {
				c.level = SCORE_EXACT;
				c.sim = 1;
				c.left = x;
				c.right = y;
				return c;
			}
			enum score_level l = SCORE_DIFFERENT;
			double s = 0;
			size_t lx = strlen(x), ly = strlen(y);
			if (kind == 'e') {
				const char *ax = strchr(x, '@'),
					   *ay = strchr(y, '@');
				s = sim_jaro_winkler(x, lx, y, ly);
				if (ax && ay && ax - x == ay - y &&
				    !memcmp(x, y, (size_t)(ax - x)))
					l = SCORE_PARTIAL; /* same local part */
				else if (ax && ay && !strcmp(ax, ay) &&
					 sim_osa(x, (size_t)(ax - x), y,
						 (size_t)(ay - y), 1) <= 1)
					l = SCORE_CLOSE;
			} else if (kind == 'p') {
				if (lx == ly && sim_osa(x, lx, y, ly, 1) <= 1)
					l = SCORE_CLOSE;
				else if (lx >= 8 && ly >= 8 &&
					 !strcmp(x + lx - 8, y + ly - 8))
					l = SCORE_CLOSE;
				s = l == SCORE_CLOSE ? 0.9 : 0;
			}
			if (l < c.level) {
				c.level = l;
				c.sim = s;
				c.left = x;
				c.right = y;
			}
		}
	return c;
}

static struct cmp cmp_idents(const char *const *a, size_t na,
			     const char *const *b, size_t nb)
{
	struct cmp c = cmp_missing();
	for (size_t i = 0; i < na; i++) {
		const char *x = a[i], *cx = strchr(x, ':');
		for (size_t j = 0; j < nb; j++) {
			const char *y = b[j], *cy = strchr(y, ':');
			if (!cx || !cy || cx - x != cy - y ||
			    memcmp(x, y, (size_t)(cx - x)))
				continue; /* different identifier types */
			enum score_level l;
			if (!strcmp(cx, cy))
				l = SCORE_EXACT;
			else if (sim_osa(cx + 1, strlen(cx + 1), cy + 1,
					 strlen(cy + 1), 1) <= 1)
				l = SCORE_CLOSE;
			else
				l = SCORE_DIFFERENT;
			if (c.level == SCORE_MISSING || l < c.level) {
				c.level = l;
				c.left = x;
				c.right = y;
				c.sim = l == SCORE_EXACT ? 1 : -1;
			}
		}
	}
	return c;
}

/* Addresses: best postcode, city and street agreement over all pairs. */
static void cmp_addrs(const struct store_rec *a, const struct store_rec *b,
		      struct cmp *pc, struct cmp *city, struct cmp *street)
{
	*pc = *city = *street = cmp_missing();
	for (size_t i = 0; i < a->n_addrs; i++)
		for (size_t j = 0; j < b->n_addrs; j++) {
			const struct store_addr *x = &a->addrs[i],
						*y = &b->addrs[j];
			if (*x->postcode && *y->postcode) {
				struct cmp c = {SCORE_DIFFERENT, 0, x->postcode,
						y->postcode};
				if (!strcmp(x->postcode, y->postcode))
					c.level = SCORE_EXACT, c.sim = 1;
				else if (strlen(x->postcode) >= 4 &&
					 sim_osa(x->postcode,
						 strlen(x->postcode),
						 y->postcode,
						 strlen(y->postcode), 1) <= 1)
					c.level = SCORE_CLOSE;
				if (pc->level == SCORE_MISSING ||
				    c.level < pc->level)
					*pc = c;
			}
			if (*x->city && *y->city) {
				struct cmp c = {SCORE_DIFFERENT, jw(x->city, y->city),
						x->city, y->city};
				if (!strcmp(x->city, y->city))
					c.level = SCORE_EXACT;
				else if (c.sim >= 0.9 ||
					 name_band(x->city, strlen(x->city),
						   y->city, strlen(y->city),
						   c.sim) == SCORE_CLOSE)
					c.level = SCORE_CLOSE;
				if (city->level == SCORE_MISSING ||
				    c.level < city->level)
					*city = c;
			}
			if (*x->line && *y->line) {
				double s = sim_token_set(x->line, y->line);
				struct cmp c = {SCORE_DIFFERENT, s, x->line,
						y->line};
				if (s >= 0.9)
					c.level = SCORE_EXACT;
				else if (s >= 0.6)
					c.level = SCORE_CLOSE;
				if (street->level == SCORE_MISSING ||
				    c.level < street->level)
					*street = c;
			}
		}
}

/*
 * Corroborating evidence is not independent: a household shares its
 * address, often an email and a home phone. ws = {email, phone, postcode,
 * city, street} weights, adjusted in place:
 *  - within the address, the stronger of street and postcode + city
 *    counts in full and the weaker half; a different street cancels the
 *    agreement of postcode and city (neighbours, not one person);
 *    disagreements always count;
 *  - across email, phone and address, the strongest agreement counts in
 *    full and the others a quarter.
 * So a shared household says "same household", not three times "same
 * person"; the names and the birth date have to say the rest.
 */
static void corroborate(double *ws)
{
	double *street = &ws[4], *pc = &ws[2], *city = &ws[3];
	if (*street < 0) {
		/* both have a street and they differ: a shared postcode or
		 * city only says "neighbours" */
		if (*pc > 0)
			*pc = 0;
		if (*city > 0)
			*city = 0;
	}
	double place = (*pc > 0 ? *pc : 0) + (*city > 0 ? *city : 0);
	if (*street > 0 && *street >= place) {
		if (*pc > 0)
			*pc *= 0.5;
		if (*city > 0)
			*city *= 0.5;
	} else if (*street > 0) {
		*street *= 0.5;
	}
	double addr = (*street > 0 ? *street : 0) + (*pc > 0 ? *pc : 0) +
		      (*city > 0 ? *city : 0);
	double parts[3] = {ws[0] > 0 ? ws[0] : 0, ws[1] > 0 ? ws[1] : 0, addr};
	int best = 0;
	for (int k = 1; k < 3; k++)
		if (parts[k] > parts[best])
			best = k;
	for (int k = 0; k < 3; k++) {
		if (k == best || parts[k] <= 0)
			continue;
		if (k < 2) {
			ws[k] *= 0.25;
		} else {
			for (int x = 2; x < 5; x++)
				if (ws[x] > 0)
					ws[x] *= 0.25;
		}
	}
}

static void put(const struct score_model *m, struct score_explain *ex,
		double *w, enum score_attr attr, struct cmp c)
{
	double wt = m->weight[attr][c.level];
	*w += wt;
	if (ex) {
		struct score_feature *f = &ex->f[ex->n++];
		f->attr = attr;
		f->level = c.level;
		f->left = c.left ? c.left : "";
		f->right = c.right ? c.right : "";
		f->similarity = c.sim;
		f->weight = wt;
	}
}

double score_pair(const struct score_model *m, const struct norm_nicknames *nn,
		  const struct store_rec *a, const struct store_rec *b,
		  struct score_explain *ex)
{
	double w = m->prior;
	if (ex) {
		ex->n = 0;
		ex->swapped = 0;
	}

	/* names, direct and swapped order */
	struct cmp g = cmp_given(nn, a->given, b->given);
	struct cmp f = cmp_family(a->family, b->family);
	double direct = m->weight[SCORE_GIVEN][g.level] +
			m->weight[SCORE_FAMILY][f.level];
	if (*a->given && *a->family && *b->given && *b->family &&
	    (g.level != SCORE_EXACT || f.level != SCORE_EXACT)) {
		struct cmp sg = cmp_given(nn, a->given, b->family);
		struct cmp sf = cmp_family(a->family, b->given);
		double swapped = m->weight[SCORE_GIVEN][sg.level] +
				 m->weight[SCORE_FAMILY][sf.level] -
				 m->swap_penalty;
		if (swapped > direct) {
			g = sg;
			f = sf;
			w -= m->swap_penalty;
			if (ex)
				ex->swapped = 1;
		}
	}
	put(m, ex, &w, SCORE_GIVEN, g);
	put(m, ex, &w, SCORE_FAMILY, f);

	struct cmp bd = {cmp_birth(a, b), -1,
			  a->raw.birth_date ? a->raw.birth_date : "",
			  b->raw.birth_date ? b->raw.birth_date : ""};
	put(m, ex, &w, SCORE_BIRTH, bd);

	struct cmp gd = cmp_missing();
	if (a->gender && b->gender && a->gender != 'X' && b->gender != 'X')
		gd.level = a->gender == b->gender ? SCORE_EXACT : SCORE_DIFFERENT;
	put(m, ex, &w, SCORE_GENDER, gd);

	struct cmp em = cmp_lists(a->emails, a->n_emails, b->emails,
				  b->n_emails, 'e');
	struct cmp ph = cmp_lists(a->phones, a->n_phones, b->phones,
				  b->n_phones, 'p');
	struct cmp pc, city, street;
	cmp_addrs(a, b, &pc, &city, &street);
	double ws[5];
	struct cmp cs[5] = {em, ph, pc, city, street};
	enum score_attr as[5] = {SCORE_EMAIL, SCORE_PHONE, SCORE_POSTCODE,
				 SCORE_CITY, SCORE_STREET};
	for (int k = 0; k < 5; k++)
		ws[k] = m->weight[as[k]][cs[k].level];
	corroborate(ws);
	for (int k = 0; k < 5; k++) {
		w += ws[k];
		if (ex) {
			struct score_feature *f = &ex->f[ex->n++];
			f->attr = as[k];
			f->level = cs[k].level;
			f->left = cs[k].left ? cs[k].left : "";
			f->right = cs[k].right ? cs[k].right : "";
			f->similarity = cs[k].sim;
			f->weight = ws[k];
		}
	}
	put(m, ex, &w, SCORE_IDENT, cmp_idents(a->ids, a->n_ids, b->ids, b->n_ids));
	return w;
}
