/*
 * score — Fellegi–Sunter comparisons; see score.h.
 *
 * Default m/u per level. m is the chance the level is seen for two records
 * of one person (typo rates of real exports: a few percent per field), u
 * the chance for two people who share a blocking key (names and places are
 * correlated within a block, so u is larger than over random pairs).
 */
#include "score.h"
#include "le.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

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
	[SCORE_BIRTH] = {{SCORE_EXACT, 0.83, 0.0002},
			 {SCORE_CLOSE, 0.09, 0.002},
			 {SCORE_FAR, 0.03, 0.004},
			 {SCORE_PARTIAL, 0.03, 0.03},
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
	[SCORE_POSTCODE] = {{SCORE_EXACT, 0.8, 0.02},
			    {SCORE_CLOSE, 0.08, 0.01},
			    {SCORE_DIFFERENT, 0.12, 0.93}},
	[SCORE_CITY] = {{SCORE_EXACT, 0.8, 0.025},
			{SCORE_CLOSE, 0.1, 0.01},
			{SCORE_DIFFERENT, 0.1, 0.93}},
	[SCORE_STREET] = {{SCORE_EXACT, 0.72, 0.002},
			  {SCORE_CLOSE, 0.13, 0.01},
			  {SCORE_FAR, 0.03, 0.03},
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
	m->tf_scale = 1.0;
	m->tf_max = 4.0;
	m->tf_max_down = 0.0;
	for (int a = 0; a < SCORE_NATTR; a++)
		for (int i = 0; i < 8 && defaults[a][i].m > 0; i++)
			m->weight[a][defaults[a][i].level] =
				log2(defaults[a][i].m / defaults[a][i].u);
}

/* Encoded model: "RCNUMOD1" then the doubles below, little-endian. */
static const char model_tag[8] = {'R', 'C', 'N', 'U', 'M', 'O', 'D', '1'};

static uint8_t *put_f64(uint8_t *p, double v)
{
	uint64_t x;
	memcpy(&x, &v, 8);
	le_put64(p, x);
	return p + 8;
}

static const uint8_t *get_f64(const uint8_t *p, double *v)
{
	uint64_t x = le_get64(p);
	memcpy(v, &x, 8);
	return p + 8;
}

void score_model_encode(const struct score_model *m, uint8_t *out)
{
	memcpy(out, model_tag, 8);
	uint8_t *p = out + 8;
	p = put_f64(p, m->prior);
	p = put_f64(p, m->swap_penalty);
	p = put_f64(p, m->tf_scale);
	p = put_f64(p, m->tf_max);
	p = put_f64(p, m->tf_max_down);
	for (int a = 0; a < SCORE_NATTR; a++)
		for (int l = 0; l < SCORE_NLEVEL; l++)
			p = put_f64(p, m->weight[a][l]);
}

int score_model_decode(const uint8_t *p, size_t n, struct score_model *m)
{
	if (n != SCORE_MODEL_BYTES || memcmp(p, model_tag, 8))
		return -1;
	struct score_model x;
	p += 8;
	p = get_f64(p, &x.prior);
	p = get_f64(p, &x.swap_penalty);
	p = get_f64(p, &x.tf_scale);
	p = get_f64(p, &x.tf_max);
	p = get_f64(p, &x.tf_max_down);
	for (int a = 0; a < SCORE_NATTR; a++)
		for (int l = 0; l < SCORE_NLEVEL; l++)
			p = get_f64(p, &x.weight[a][l]);
	if (!isfinite(x.prior) || !isfinite(x.swap_penalty) ||
	    !isfinite(x.tf_scale) || !isfinite(x.tf_max) ||
	    !isfinite(x.tf_max_down))
		return -1;
	for (int a = 0; a < SCORE_NATTR; a++)
		for (int l = 0; l < SCORE_NLEVEL; l++)
			if (!isfinite(x.weight[a][l]))
				return -1;
	*m = x;
	return 0;
}

int score_default_mu(enum score_attr a, enum score_level l, double *m,
		     double *u)
{
	if ((unsigned)a >= SCORE_NATTR)
		return -1;
	for (int i = 0; i < 8 && defaults[a][i].m > 0; i++)
		if (defaults[a][i].level == l) {
			*m = defaults[a][i].m;
			*u = defaults[a][i].u;
			return 0;
		}
	return -1;
}

int score_level_used(enum score_attr a, enum score_level l)
{
	double m, u;
	return score_default_mu(a, l, &m, &u) == 0;
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

/* ---- term frequencies ------------------------------------------------ */

/* One table per attribute: open addressing on a 64-bit hash of the
 * normalised value (values sharing all 64 bits share a count — rare
 * enough not to matter for frequencies). Counts of values no longer
 * present stay at 0, so no tombstones are needed. */
enum { TF_GIVEN, TF_FAMILY, TF_CITY, TF_POSTCODE, TF_N };

struct tf_slot {
	uint64_t hash; /**< 0 = empty (a zero hash is stored as 1) */
	uint32_t count;
};

struct tf_table {
	struct tf_slot *slots;
	size_t mask, used;
	uint64_t total; /**< values counted (a record counts each once) */
	double sumsq;   /**< sum of count^2 */
};

struct score_tf {
	struct tf_table t[TF_N];
};

static int tf_index(enum score_attr a)
{
	switch (a) {
	case SCORE_GIVEN:
		return TF_GIVEN;
	case SCORE_FAMILY:
		return TF_FAMILY;
	case SCORE_CITY:
		return TF_CITY;
	case SCORE_POSTCODE:
		return TF_POSTCODE;
	default:
		return -1;
	}
}

struct score_tf *score_tf_new(void)
{
	return calloc(1, sizeof(struct score_tf));
}

void score_tf_free(struct score_tf *tf)
{
	if (!tf)
		return;
	for (int i = 0; i < TF_N; i++)
		free(tf->t[i].slots);
	free(tf);
}

static uint64_t tf_hash(const char *v)
{
	uint64_t h = XXH3_64bits(v, strlen(v));
	return h ? h : 1;
}

/* The slot holding h, or the empty slot where it would go. */
static struct tf_slot *tf_slot(const struct tf_table *t, uint64_t h)
{
	for (size_t i = (size_t)h & t->mask;; i = (i + 1) & t->mask)
		if (t->slots[i].hash == h || !t->slots[i].hash)
			return &t->slots[i];
}

/* Makes room for n more values. @retval 0 or -1 (table unchanged). */
static int tf_reserve(struct tf_table *t, size_t n)
{
	if (t->slots && (t->used + n) * 4 <= (t->mask + 1) * 3)
		return 0;
	size_t cap = t->slots ? (t->mask + 1) * 2 : 256;
	while ((t->used + n) * 4 > cap * 3)
		cap *= 2;
	struct tf_table nt = *t;
	nt.slots = calloc(cap, sizeof(*nt.slots));
	if (!nt.slots)
		return -1;
	nt.mask = cap - 1;
	for (size_t i = 0; t->slots && i <= t->mask; i++)
		if (t->slots[i].hash)
			*tf_slot(&nt, t->slots[i].hash) = t->slots[i];
	free(t->slots);
	*t = nt;
	return 0;
}

/* Room was reserved by the caller for delta > 0. */
static void tf_count(struct tf_table *t, const char *v, int delta)
{
	if (!*v || !t->slots)
		return;
	uint64_t h = tf_hash(v);
	struct tf_slot *s = tf_slot(t, h);
	if (delta > 0) {
		if (!s->hash) {
			s->hash = h;
			t->used++;
		}
		t->sumsq += 2.0 * s->count + 1;
		s->count++;
		t->total++;
	} else if (s->hash && s->count) {
		t->sumsq -= 2.0 * s->count - 1;
		s->count--;
		t->total--;
	}
}

/* A record counts each distinct value once per attribute. */
static int tf_seen(const char *const *vals, size_t n, const char *v)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(vals[i], v))
			return 1;
	return 0;
}

int score_tf_update(struct score_tf *tf, const struct store_rec *r, int delta)
{
	/* reserve every table first so that a failure changes nothing */
	if (delta > 0)
		for (int i = 0; i < TF_N; i++)
			if (tf_reserve(&tf->t[i], i >= TF_CITY ? r->n_addrs : 1))
				return -1;
	tf_count(&tf->t[TF_GIVEN], r->given, delta);
	tf_count(&tf->t[TF_FAMILY], r->family, delta);
	const char *cities[256], *pcs[256];
	size_t nc = 0, np = 0;
	for (size_t i = 0; i < r->n_addrs; i++) {
		const struct store_addr *a = &r->addrs[i];
		if (*a->city && !tf_seen(cities, nc, a->city)) {
			cities[nc++] = a->city;
			tf_count(&tf->t[TF_CITY], a->city, delta);
		}
		if (*a->postcode && !tf_seen(pcs, np, a->postcode)) {
			pcs[np++] = a->postcode;
			tf_count(&tf->t[TF_POSTCODE], a->postcode, delta);
		}
	}
	return 0;
}

double score_tf_adjust(const struct score_tf *tf, const struct score_model *m,
		       enum score_attr attr, const char *value)
{
	int i = tf_index(attr);
	if (!tf || i < 0 || !value || !*value || m->tf_scale <= 0)
		return 0;
	const struct tf_table *t = &tf->t[i];
	if (!t->slots || t->total < SCORE_TF_MIN_RECORDS)
		return 0;
	const struct tf_slot *s = tf_slot(t, tf_hash(value));
	/* a value not counted (a query's) is as rare as one record */
	double c = s->hash && s->count ? s->count : 1;
	double n = (double)t->total;
	double u = t->sumsq / (n * n), f = c / n;
	double adj = m->tf_scale * log2(u / f);
	if (adj > m->tf_max)
		adj = m->tf_max;
	if (adj < -m->tf_max_down)
		adj = -m->tf_max_down;
	return adj;
}

size_t score_tf_distinct(const struct score_tf *tf, enum score_attr attr)
{
	int i = tf_index(attr);
	if (!tf || i < 0)
		return 0;
	size_t n = 0;
	for (size_t k = 0; tf->t[i].slots && k <= tf->t[i].mask; k++)
		n += tf->t[i].slots[k].count > 0;
	return n;
}

/* ---- attribute comparisons ------------------------------------------- */

struct cmp {
	enum score_level level;
	double sim;
	const char *left, *right;
	int variant; /**< EXACT as spellings of one name: no tf bonus */
};

static struct cmp cmp_missing(void)
{
	return (struct cmp){SCORE_MISSING, -1, "", "", 0};
}

static double jw(const char *a, const char *b)
{
	return sim_jaro_winkler(a, strlen(a), b, strlen(b));
}

/* jw(a, b) where a was prepared as qa (NULL: not prepared). */
static double jw_q(const struct sim_query *qa, const char *a, const char *b)
{
	return qa ? sim_jw_prepared(qa, b, strlen(b)) : jw(a, b);
}

/* sim_token_set(a, b) >= 0.99 for two distinct values whose
 * Jaro-Winkler is jws. One word against one word pairs exactly when
 * their Jaro-Winkler reaches 0.9, so only values with spaces are split. */
static int token_subset(const char *a, const char *b, double jws)
{
	if (!strchr(a, ' ') && !strchr(b, ' '))
		return jws >= 0.9;
	return sim_token_set(a, b) >= 0.99;
}

/* Whether d = sim_osa(a, la, b, lb, 2) surely exceeds what name_band
 * reads of it (d <= 2 with the same initial from 5 bytes, else d <= 1):
 * most names of a block share too few letters, and the bytes of a (xa,
 * prepared; NULL: no test) and of b bound d from below. */
static int osa_past(const char *a, size_t la, const char *b, size_t lb,
		    const struct sim_bytes *xa)
{
	size_t longer = la > lb ? la : lb, shorter = la < lb ? la : lb;
	if (!xa || xa->len != la || longer > SIM_LEN_MAX)
		return 0;
	struct sim_bytes xb;
	sim_bytes_of(&xb, b, lb);
	size_t need = shorter >= 5 && a[0] == b[0] ? 2 : 1;
	return longer - sim_bytes_common(xa, &xb) > need;
}

/* Typo bands shared by given and family names: one edit (OSA, so a
 * transposition counts once) or Jaro-Winkler >= 0.92 is close; two edits
 * with the same initial (typos rarely hit the first letter: david/farid
 * are two names) or JW >= 0.88 is far; token subsets ("jean luc" /
 * "jean") are close. xa: a's bytes, prepared (see osa_past), or NULL. */
static enum score_level name_band(const char *a, size_t la, const char *b,
				  size_t lb, double jws,
				  const struct sim_bytes *xa)
{
	if (jws >= 0.92)
		return SCORE_CLOSE;
	/* the edit distance d matters only up to 2 and only from 3 bytes;
	 * it is at least the length gap, so a gap past 2 needs no kernel */
	size_t shorter = la < lb ? la : lb, gap = la < lb ? lb - la : la - lb;
	int d = shorter >= 3 && gap <= 2 && !osa_past(a, la, b, lb, xa)
		    ? sim_osa(a, la, b, lb, 2)
		    : 3;
	if ((d <= 1 && shorter >= 3) || token_subset(a, b, jws))
		return SCORE_CLOSE;
	if (jws >= 0.88 || (d <= 2 && shorter >= 5 && a[0] == b[0]))
		return SCORE_FAR;
	return SCORE_DIFFERENT;
}

/* Equal once spaces are ignored: "seo yeon" / "seoyeon", "jean luc" /
 * "jeanluc" — names split into syllables by one writer and not another. */
static int same_but_spaces(const char *a, const char *b)
{
	for (;;) {
		while (*a == ' ')
			a++;
		while (*b == ' ')
			b++;
		if (*a != *b)
			return 0;
		if (!*a)
			return 1;
		a++;
		b++;
	}
}

/*
 * Romanisations of one name: Hangul written the Revised Romanization way
 * (what transliteration gives: "hyeon u", "seong min", "jeong") and the
 * customary way people spell their own names ("hyunwoo", "sungmin",
 * "jung"), and the transliterations of one Russian name ("yelena" /
 * "elena", "yuliya" / "yulia", "alexey" / "aleksei"). The skeleton drops
 * spaces and hyphens, reads eo/eu/oo/wu as u, ae as e, ee and y as i, x
 * as ks, a leading "ie" as e, and collapses doubled letters; two names
 * with one skeleton are one name: exact, without the term-frequency
 * bonus (the rarer spelling is not a rarer name). Bounded: names longer
 * than the buffer never agree here.
 */
enum { ROMAN_MAX = SCORE_ROMAN_MAX };

static size_t roman_skeleton(const char *s, char *out,
			     const struct score_roman *want)
{
	size_t n = 0;
	for (; *s; s++) {
		char c = *s;
		if (c == ' ' || c == '-')
			continue;
		if (n == ROMAN_MAX)
			return 0;
		char d = s[1];
		if ((c == 'e' && (d == 'o' || d == 'u')) ||
		    (c == 'o' && d == 'o') || (c == 'w' && d == 'u')) {
			c = 'u', s++;
		} else if (c == 'a' && d == 'e') {
			c = 'e', s++;
		} else if (c == 'e' && d == 'e') {
			c = 'i', s++;
		}
		if (c == 'y')
			c = 'i'; /* "yuliya" / "yulia", "dmitriy" / "dmitry" */
		if (c == 'x') {
			/* "alexey" / "aleksey" */
			if (n + 1 >= ROMAN_MAX)
				return 0;
			out[n++] = 'k';
			c = 's';
		}
		if (n && out[n - 1] == c)
			continue; /* doubled letters, and "wu" after "oo" */
		if (c == 'u' && n && out[n - 1] == 'w')
			n--; /* "woo" -> "wu" -> "u" */
		if (c == 'e' && n == 1 && out[0] == 'i')
			n--; /* "yelena" / "elena", "yevgeny" / "evgeny" */
		out[n++] = c;
		/* only the last letter can still go: the others are final */
		if (want && n >= 2 &&
		    (n - 2 >= (size_t)want->n || out[n - 2] != want->s[n - 2]))
			return 0;
	}
	out[n] = 0;
	return n;
}

/* Whether s's skeleton is want (a skeleton made beforehand, n >= 0):
 * stops at the first letter that differs, where most names do. */
static int roman_is(const struct score_roman *want, const char *s)
{
	char out[ROMAN_MAX + 1];
	if (want->n <= 0)
		return 0;
	size_t n = roman_skeleton(s, out, want);
	return n == (size_t)want->n && !memcmp(out, want->s, n);
}

/* ra: a's skeleton made beforehand (a prepared query), or NULL to make
 * both on the spot. */
static int same_romanisation(const struct score_roman *ra, const char *a,
			     const char *b)
{
	if (ra)
		return roman_is(ra, b);
	struct score_roman x, y;
	x.n = (int)roman_skeleton(a, x.s, NULL);
	y.n = (int)roman_skeleton(b, y.s, NULL);
	return x.n && x.n == y.n && !memcmp(x.s, y.s, (size_t)x.n);
}

/* Given names: exact, nickname, close, initial, far, different. qa is a
 * prepared for Jaro-Winkler, ka looked up in nn, xa its bytes and ra its
 * skeleton (see same_romanisation), or all NULL. */
static struct cmp
cmp_given(const struct norm_nicknames *nn, const struct sim_query *qa,
	  const struct norm_nickname *ka, const struct sim_bytes *xa,
	  const struct score_roman *ra, const char *a, const char *b)
{
	struct cmp c = {SCORE_MISSING, -1, a, b, 0};
	if (!*a || !*b)
		return c;
	if (same_but_spaces(a, b)) {
		c.level = SCORE_EXACT;
		c.sim = 1;
		return c;
	}
	c.sim = jw_q(qa, a, b);
	if (same_romanisation(ra, a, b)) {
		c.level = SCORE_EXACT;
		c.variant = 1;
		return c;
	}
	if (nn && (ka ? norm_nicknames_related_to(nn, ka, b)
		      : norm_nicknames_related(nn, a, b))) {
		c.level = SCORE_NICKNAME;
		return c;
	}
	size_t la = strlen(a), lb = strlen(b);
	if ((la == 1 || lb == 1) && a[0] == b[0]) {
		c.level = SCORE_INITIAL;
		return c;
	}
	c.level = name_band(a, la, b, lb, c.sim, xa);
	return c;
}

/* Family names: exact, close, far, different; the arguments as for
 * cmp_given. */
static struct cmp cmp_family(const struct sim_query *qa,
			     const struct sim_bytes *xa,
			     const struct score_roman *ra, const char *a,
			     const char *b)
{
	struct cmp c = {SCORE_MISSING, -1, a, b, 0};
	if (!*a || !*b)
		return c;
	if (same_but_spaces(a, b)) {
		c.level = SCORE_EXACT;
		c.sim = 1;
		return c;
	}
	c.sim = jw_q(qa, a, b);
	if (same_romanisation(ra, a, b)) {
		c.level = SCORE_EXACT;
		c.variant = 1;
		return c;
	}
	c.level = name_band(a, strlen(a), b, strlen(b), c.sim, xa);
	return c;
}

/* v (0 <= v) as width decimal digits, zero-padded, at p. */
static char *put_digits(char *p, int v, int width)
{
	for (int i = width - 1; i >= 0; i--, v /= 10)
		p[i] = (char)('0' + v % 10);
	return p + width;
}

/* YYYYMMDD of a full date, else of an impossible one, else NULL. Digits
 * are written by hand: this runs for every scored pair, where snprintf
 * cost more than the comparison. */
static const char *birth8(const struct store_rec *r, char *buf)
{
	const struct norm_date *d = &r->birth;
	if (d->year && d->month && d->day) {
		if (d->year < 0 || d->year > 9999 || d->month < 0 ||
		    d->month > 99 || d->day < 0 ||
		    d->day > 99) { /* not from norm_date: as printf would */
			snprintf(buf, 16, "%04d%02d%02d", d->year, d->month,
				 d->day);
			return buf;
		}
		char *p = put_digits(buf, d->year, 4);
		p = put_digits(p, d->month, 2);
		*put_digits(p, d->day, 2) = 0;
		return buf;
	}
	return r->birth_digits[0] ? r->birth_digits : NULL;
}

/* Edits between two full birth dates' digits YYYYMMDD (sim_osa with max
 * 2: above 2 means three or more); day and month swapped count as one. */
static int birth_edits(const struct store_rec *ra, const struct store_rec *rb)
{
	const struct norm_date *a = &ra->birth, *b = &rb->birth;
	if (a->year == b->year && a->month == b->day && a->day == b->month)
		return 1;
	char sa[16], sb[16];
	return sim_osa(birth8(ra, sa), 8, birth8(rb, sb), 8, 2);
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
	/* one digit is a typo; two (1977-09-13 / 1976-09-15) are still
	 * more likely one person's date mistyped than a stranger's */
	int d = birth_edits(ra, rb);
	if (d <= 1)
		return SCORE_CLOSE;
	if (d <= 2)
		return SCORE_FAR;
	/* one field keyed wrong whole (1981-09-23 / 2008-09-23): two of
	 * the three agree; far, as a two-digit typo */
	int same = (a->year == b->year) + (a->month == b->month) +
		   (a->day == b->day);
	return same == 2 ? SCORE_FAR : SCORE_DIFFERENT;
}

/* Full birth dates more than a typo apart: three or more edits between
 * their digits YYYYMMDD, day and month swapped excepted. A field keyed
 * wrong whole is FAR evidence in cmp_birth but still another date here:
 * never-match stays the rule score.h states. */
static int birth_never(const struct store_rec *ra, const struct store_rec *rb)
{
	return birth_edits(ra, rb) > 2;
}

/* One mailbox with and without a "+tag" ("anna+shop@x.ru" / "anna@x.ru"):
 * the normaliser strips tags only where the provider documents them; a
 * shop that keeps the tag elsewhere still names the same mailbox. */
static int same_untagged(const char *x, const char *ax, const char *y,
			 const char *ay)
{
	const char *px = memchr(x, '+', (size_t)(ax - x)),
		   *py = memchr(y, '+', (size_t)(ay - y));
	size_t nx = (size_t)((px ? px : ax) - x),
	       ny = (size_t)((py ? py : ay) - y);
	return (px || py) && nx && nx == ny && !memcmp(x, y, nx);
}

/* Emails ('e') or phones ('p'). The Jaro-Winkler of two emails only
 * informs the explanation (want_sim): the level never depends on it. */
static struct cmp cmp_lists(const char *const *a, size_t na,
			    const char *const *b, size_t nb, int kind,
			    int want_sim)
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
				if (want_sim)
					s = sim_jaro_winkler(x, lx, y, ly);
				if (ax && ay && ax - x == ay - y &&
				    !memcmp(x, y, (size_t)(ax - x)))
					/* same local part: a typo in the
					 * domain is one mailbox, another
					 * provider a namesake's */
					l = sim_osa(ax, strlen(ax), ay,
						    strlen(ay), 1) <= 1
						? SCORE_CLOSE
						: SCORE_PARTIAL;
				else if (ax && ay && !strcmp(ax, ay) &&
					 same_untagged(x, ax, y, ay))
					l = SCORE_EXACT; /* one mailbox */
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

/* Whether the letters at *s (up to end) start with name, spaces
 * dropped, or with its first letter when initial; advances *s past
 * them. */
static int eat_name(const char **s, const char *end, const char *name,
		    int initial)
{
	const char *p = *s;
	int any = 0;
	for (; *name; name++) {
		if (*name == ' ')
			continue;
		if (p == end || *p != *name)
			return 0;
		p++;
		any = 1;
		if (initial)
			break;
	}
	*s = p;
	return any;
}

/* Whether the local part of email is spelled from r's names alone
 * ("fchen", "jing.huang", "sergeykuznetsov", "kim_s"): given and family
 * name, either whole or as an initial, in either order, or one of them
 * alone, with dots, dashes or underscores between. Namesakes write such
 * a mailbox at their own providers, so one local part at two providers
 * (SCORE_PARTIAL) says no more than the names already do; a digit or any
 * other letter makes it the person's own. */
static int name_mailbox(const char *email, const struct store_rec *r)
{
	const char *at = strchr(email, '@');
	if (!at || !*r->given || !*r->family)
		return 0;
	char local[64];
	size_t n = 0;
	for (const char *p = email; p < at; p++) {
		if (*p == '.' || *p == '_' || *p == '-')
			continue;
		if (n == sizeof(local) || !(*p >= 'a' && *p <= 'z'))
			return 0;
		local[n++] = *p;
	}
	const char *names[2][2] = {{r->given, r->family}, {r->family, r->given}};
	for (int o = 0; o < 2; o++)
		for (int k = 0; k < 4; k++) {
			/* k: both whole, initial first, initial second, the
			 * first name alone */
			const char *p = local, *end = local + n;
			int ok = eat_name(&p, end, names[o][0], k == 1) &&
				 (k == 3 || eat_name(&p, end, names[o][1], k == 2));
			if (ok && p == end)
				return 1;
		}
	return 0;
}

/* Whether identifiers x and y ("type:value") have one type; *cx and *cy
 * then point at their ':'. */
static int same_id_type(const char *x, const char *y, const char **cx,
			const char **cy)
{
	*cx = strchr(x, ':');
	*cy = strchr(y, ':');
	return *cx && *cy && *cx - x == *cy - y &&
	       !memcmp(x, y, (size_t)(*cx - x));
}

static struct cmp cmp_idents(const char *const *a, size_t na,
			     const char *const *b, size_t nb)
{
	struct cmp c = cmp_missing();
	for (size_t i = 0; i < na; i++) {
		for (size_t j = 0; j < nb; j++) {
			const char *x = a[i], *y = b[j], *cx, *cy;
			if (!same_id_type(x, y, &cx, &cy))
				continue;
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

/* The first token of a street line holding a digit (the house number),
 * as a slice; 0 when there is none. */
static size_t house_number(const char *line, const char **out)
{
	const char *p = line;
	while (*p) {
		while (*p == ' ')
			p++;
		const char *t = p;
		int digit = 0;
		for (; *p && *p != ' '; p++)
			digit |= *p >= '0' && *p <= '9';
		if (digit) {
			*out = t;
			return (size_t)(p - t);
		}
	}
	return 0;
}

/* s without its spaces in out (cap bytes); ends, when not NULL, marks
 * the letters where a word of s ends. @retval the length, or SIZE_MAX
 * when s does not fit. */
static size_t squeeze_spaces(const char *s, char *out, uint8_t *ends,
			     size_t cap)
{
	size_t n = 0;
	for (; *s && n < cap; s++)
		if (*s != ' ') {
			if (ends)
				ends[n] = s[1] == ' ' || !s[1];
			out[n++] = *s;
		}
	return *s ? SIZE_MAX : n;
}

/* Street lines whose words were run together or split by a typist
 * ("3 riverstreet", "29 porteous jcrescent") defeat a token-set
 * comparison; compared without spaces, equal is exact and Jaro-Winkler
 * >= 0.92 close. Otherwise l stands. */
static enum score_level street_spaceless(const char *x, const char *y,
					 enum score_level l)
{
	char a[128], b[128];
	size_t na = squeeze_spaces(x, a, NULL, sizeof(a)),
	       nb = squeeze_spaces(y, b, NULL, sizeof(b));
	if (na == SIZE_MAX || nb == SIZE_MAX || !na || !nb)
		return l; /* longer than the buffers: leave it */
	if (na == nb && !memcmp(a, b, na))
		return SCORE_EXACT;
	return sim_jaro_winkler(a, na, b, nb) >= 0.92 ? SCORE_CLOSE : l;
}

/* Distinct space-separated tokens of s (up to SIM_TOKENS_MAX, as
 * sim_token_set counts them). */
static size_t distinct_tokens(const char *s)
{
	const char *tok[SIM_TOKENS_MAX];
	size_t len[SIM_TOKENS_MAX], n = 0;
	while (*s && n < SIM_TOKENS_MAX) {
		while (*s == ' ')
			s++;
		const char *t = s;
		while (*s && *s != ' ')
			s++;
		size_t l = (size_t)(s - t), i = 0;
		if (!l)
			break;
		while (i < n && !(len[i] == l && !memcmp(tok[i], t, l)))
			i++;
		if (i == n) {
			tok[n] = t;
			len[n++] = l;
		}
	}
	return n;
}

/* Street lines below the token-set bands: one line a part of the other
 * ("297 irrigation farm" in "297 discovery street irrigation farm", a
 * line cut short by an export) is close, or far when the shorter keeps
 * a single word ("95" of "95 grylls crescent"): no evidence either way.
 * Else different (neighbours share a street name, not the whole line).
 * nx and ny are the lines' distinct tokens, s their token-set
 * similarity. */
static enum score_level street_partial(size_t nx, size_t ny, double s)
{
	size_t lo = nx < ny ? nx : ny;
	size_t shared = (size_t)(s * (double)(nx + ny) / 2.0 + 0.5);
	if (lo && shared >= lo)
		return lo >= 2 ? SCORE_CLOSE : SCORE_FAR;
	return SCORE_DIFFERENT;
}

/* Line s without its house number (the slice h, n of s) in out; 0 when
 * it does not fit. */
static int drop_house_number(const char *s, const char *h, size_t n, char *out,
			     size_t cap)
{
	size_t k = 0;
	for (const char *p = s; *p;) {
		if (p == h) {
			p += n;
			continue;
		}
		if (k + 1 >= cap)
			return 0;
		out[k++] = *p++;
	}
	out[k] = 0;
	return 1;
}

/* Whether x and y, compared without spaces, are equal, one edit apart
 * (10 letters or more), or one the start of the other ending where a word
 * of the other ends (6 letters or more: a line cut short by an export).
 * Street-type abbreviations ("road" / "rd", "ringstrasse" / "ringstr")
 * stay apart: on one street they are mostly strangers. */
static int spaceless_alike(const char *x, const char *y)
{
	char a[128], b[128];
	uint8_t ea[128], eb[128]; /* a word of the line ends at this letter */
	size_t na = squeeze_spaces(x, a, ea, sizeof(a)),
	       nb = squeeze_spaces(y, b, eb, sizeof(b));
	if (na == SIZE_MAX || nb == SIZE_MAX)
		return 0;
	size_t lo = na < nb ? na : nb;
	if (lo >= 6 && !memcmp(a, b, lo) && (na < nb ? eb : ea)[lo - 1])
		return 1;
	return lo >= 10 && sim_osa(a, na, b, nb, 1) <= 1;
}

/* Whether the 128-bit set d has at most one member. */
static int at_most_one(const uint64_t d[2])
{
	return (!d[0] && !(d[1] & (d[1] - 1))) ||
	       (!d[1] && !(d[0] & (d[0] - 1)));
}

/* Street line x split as t, once its house number h (the first token
 * holding a digit) is dropped: the bytes left into bits (as struct
 * sim_bytes counts them). @retval its distinct tokens, or -1 when t does
 * not hold the whole line. */
static int street_rest(const struct sim_tokens *t, const char *h,
		       uint64_t bits[2])
{
	if (!t->whole)
		return -1;
	size_t k = 0;
	while (k < t->n && t->t[k].s != h)
		k++;
	if (k == t->n)
		return -1;
	bits[0] = bits[1] = 0;
	for (size_t i = 0; i < t->n; i++)
		if (i != k || t->t[k].count > 1) {
			bits[0] |= t->t[i].b.bits[0];
			bits[1] |= t->t[i].b.bits[1];
		}
	return (int)t->n - (t->t[k].count == 1);
}

/* Whether spaceless_alike can hold for lines with la and lb bytes once
 * their spaces are dropped and the byte sets a and b: the shorter the
 * start of the longer needs its bytes all in the longer, one edit at
 * most one byte apart either way. A necessary test only: no means
 * not alike. */
static int maybe_alike(const uint64_t a[2], size_t la, const uint64_t b[2],
		       size_t lb)
{
	uint64_t ab[2] = {a[0] & ~b[0], a[1] & ~b[1]},
		 ba[2] = {b[0] & ~a[0], b[1] & ~a[1]};
	size_t lo = la < lb ? la : lb, gap = la < lb ? lb - la : la - lb;
	int a_in_b = !ab[0] && !ab[1], b_in_a = !ba[0] && !ba[1];
	if (lo >= 6 && ((la <= lb && a_in_b) || (lb <= la && b_in_a)))
		return 1;
	return lo >= 10 && gap <= 1 && at_most_one(ab) && at_most_one(ba);
}

/* Street lines with two house numbers that are one line once the numbers
 * are set aside ("406 balfourcrescent kersey h south" / "15 balfour
 * crescent kersey south", "3 hopkins street" / "147 hopkins street locn
 * 3439") are FAR, as street_house_numbers makes "7 jiefang road" / "32
 * jiefang road": no evidence either way. DIFFERENT would also cancel the
 * postcode and city (corroborate), and exports replace house numbers
 * (FEBRL does). Two words a side at least: a one-word street ("53
 * broadway" / "222 broadway") is all that neighbours share, and making
 * those far skewed estimated weights on the generated sets. x and y are
 * DIFFERENT with the house numbers hx (nx bytes) and hy (ny), which
 * differ; tx and ty are x and y split, or NULL. @retval FAR or
 * DIFFERENT. */
static enum score_level street_other_door(const char *x, const char *hx,
					  size_t nx, const char *y,
					  const char *hy, size_t ny,
					  const struct sim_tokens *tx,
					  const struct sim_tokens *ty)
{
	/* most lines are told apart from their token lists alone */
	uint64_t ra[2] = {0, 0}, rb[2] = {0, 0};
	int ka = tx ? street_rest(tx, hx, ra) : -1,
	    kb = ty ? street_rest(ty, hy, rb) : -1;
	if (ka >= 0 && kb >= 0 &&
	    (ka < 2 || kb < 2 ||
	     !maybe_alike(ra, tx->all.len - nx, rb, ty->all.len - ny)))
		return SCORE_DIFFERENT;
	char a[128], b[128];
	if (!drop_house_number(x, hx, nx, a, sizeof(a)) ||
	    !drop_house_number(y, hy, ny, b, sizeof(b)))
		return SCORE_DIFFERENT;
	if (distinct_tokens(a) >= 2 && distinct_tokens(b) >= 2 &&
	    spaceless_alike(a, b))
		return SCORE_FAR;
	return SCORE_DIFFERENT;
}

/* Whether the numbers after the house numbers (at x and y: a flat, a
 * building, "d 25 kv 119" / "d 28 kv 182") leave room for one typo in
 * the house number: the next digit-holding tokens are equal or missing
 * on a side. Two numbers differing is another door. */
static int same_flat(const char *x, const char *y)
{
	const char *fx = NULL, *fy = NULL;
	size_t nx = house_number(x, &fx), ny = house_number(y, &fy);
	return !nx || !ny || (nx == ny && !memcmp(fx, fy, nx));
}

/* Street lines that agree as token sets can still be two doors: "13 rue
 * nationale" and "138 rue nationale". When both carry a house number, a
 * typo in it (one edit) caps the level at CLOSE and anything more at FAR:
 * no evidence either way. Not DIFFERENT: exports replace house numbers
 * (FEBRL does), and DIFFERENT would cancel postcode and city too. Lines
 * that disagree may still be the other door of one street
 * (street_other_door). Otherwise, or when a line has no number, l
 * stands. tx and ty are x and y split. */
static enum score_level street_house_numbers(const char *x, const char *y,
					     const struct sim_tokens *tx,
					     const struct sim_tokens *ty,
					     enum score_level l)
{
	const char *hx = NULL, *hy = NULL;
	size_t nx = house_number(x, &hx), ny = house_number(y, &hy);
	if (!nx || !ny || (nx == ny && !memcmp(hx, hy, nx)))
		return l;
	if (l == SCORE_DIFFERENT)
		return street_other_door(x, hx, nx, y, hy, ny, tx, ty);
	if (sim_osa(hx, nx, hy, ny, 1) <= 1 && same_flat(hx + nx, hy + ny))
		return l < SCORE_CLOSE ? SCORE_CLOSE : l;
	return l < SCORE_FAR ? SCORE_FAR : l;
}

/* Whether street lines split as tx and ty are surely neither equal nor
 * Jaro-Winkler >= 0.92 once their spaces are dropped (street_spaceless):
 * bounded from their bytes, without building them. */
static int spaceless_far(const struct sim_tokens *tx,
			 const struct sim_tokens *ty)
{
	return tx->whole && ty->whole && tx->all.len && ty->all.len &&
	       tx->all.len <= 64 && ty->all.len <= 64 &&
	       sim_jw_bound_bytes(&tx->all, &ty->all, 4) < 0.92;
}

/* Street lines x and y (both non-empty); tx is x split beforehand, or
 * NULL. */
static struct cmp cmp_street(const struct sim_tokens *tx, const char *x,
			     const char *y)
{
	/* equal lists have every token paired: 1 */
	struct cmp c = {SCORE_EXACT, 1.0, x, y, 0};
	if (!strcmp(x, y))
		return c;
	struct sim_tokens ox, ty;
	if (!tx) {
		sim_tokens_create(&ox, x);
		tx = &ox;
	}
	sim_tokens_create(&ty, y);
	c.sim = sim_token_set_tokens(tx, &ty);
	if (c.sim >= 0.9)
		c.level = SCORE_EXACT;
	else if (c.sim >= 0.6)
		c.level = SCORE_CLOSE;
	else
		c.level = street_partial(tx->n, ty.n, c.sim);
	if (c.level > SCORE_CLOSE && !spaceless_far(tx, &ty))
		c.level = street_spaceless(x, y, c.level);
	c.level = street_house_numbers(x, y, tx, &ty, c.level);
	return c;
}

/* Addresses: best postcode, city and street agreement over all pairs.
 * q is a prepared (its first street lines split), or NULL. */
static void cmp_addrs(const struct score_query *q, const struct store_rec *a,
		      const struct store_rec *b, struct cmp *pc,
		      struct cmp *city, struct cmp *street)
{
	*pc = *city = *street = cmp_missing();
	for (size_t i = 0; i < a->n_addrs; i++)
		for (size_t j = 0; j < b->n_addrs; j++) {
			const struct store_addr *x = &a->addrs[i],
						*y = &b->addrs[j];
			if (*x->postcode && *y->postcode) {
				struct cmp c = {SCORE_DIFFERENT, 0, x->postcode,
						y->postcode, 0};
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
				/* equal: Jaro-Winkler 1, exactly */
				int same = !strcmp(x->city, y->city);
				struct cmp c = {SCORE_DIFFERENT,
						same ? 1.0
						     : jw(x->city, y->city),
						x->city, y->city, 0};
				if (same)
					c.level = SCORE_EXACT;
				else if (c.sim >= 0.9 ||
					 name_band(x->city, strlen(x->city),
						   y->city, strlen(y->city),
						   c.sim, NULL) == SCORE_CLOSE)
					c.level = SCORE_CLOSE;
				if (city->level == SCORE_MISSING ||
				    c.level < city->level)
					*city = c;
			}
			if (*x->line && *y->line) {
				struct cmp c = cmp_street(
				    q && i < SCORE_QUERY_STREETS ? &q->street[i]
								 : NULL,
				    x->line, y->line);
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
 *  - a postcode names its town: when both agree, the weaker of the two
 *    counts half;
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
	if (*pc > 0 && *city > 0) {
		if (*pc < *city)
			*pc *= 0.5;
		else
			*city *= 0.5;
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

unsigned score_given_cmp(const struct norm_nicknames *nn,
			 const struct store_rec *a, const struct store_rec *b)
{
	if (!*a->given || !*b->given)
		return 0;
	struct cmp g = cmp_given(nn, NULL, NULL, NULL, NULL, a->given, b->given);
	if (g.level != SCORE_DIFFERENT)
		return SCORE_NEVER_GIVEN_AGREE;
	/* written the other way round: b's given name is a's family name */
	if ((*b->family &&
	     cmp_given(nn, NULL, NULL, NULL, NULL, a->given, b->family).level !=
		 SCORE_DIFFERENT) ||
	    (*a->family &&
	     cmp_given(nn, NULL, NULL, NULL, NULL, a->family, b->given).level !=
		 SCORE_DIFFERENT))
		return SCORE_NEVER_GIVEN_AGREE;
	return SCORE_NEVER_GIVEN_CONFLICT;
}

int score_never_match(const struct store_rec *a, const struct store_rec *b)
{
	return (score_never_cmp(a, b) &
		(SCORE_NEVER_DATE_CONFLICT | SCORE_NEVER_ID_CONFLICT)) != 0;
}

unsigned score_never_cmp(const struct store_rec *a, const struct store_rec *b)
{
	const struct norm_date *x = &a->birth, *y = &b->birth;
	unsigned f = 0;
	/* typists hit one or two digits (SCORE_FAR); three is another date */
	if (x->year && x->month && x->day && y->year && y->month && y->day)
		f |= birth_never(a, b) ? SCORE_NEVER_DATE_CONFLICT
				       : SCORE_NEVER_DATE_AGREE;
	/* "different" means some pair of one type and none closer than one
	 * edit; never-match wants every such pair three or more apart */
	int level = cmp_idents(a->ids, a->n_ids, b->ids, b->n_ids).level;
	if (level == SCORE_MISSING)
		return f;
	if (level != SCORE_DIFFERENT)
		return f | SCORE_NEVER_ID_AGREE;
	for (size_t i = 0; i < a->n_ids; i++)
		for (size_t j = 0; j < b->n_ids; j++) {
			const char *cx, *cy;
			if (same_id_type(a->ids[i], b->ids[j], &cx, &cy) &&
			    sim_osa(cx + 1, strlen(cx + 1), cy + 1,
				    strlen(cy + 1), 2) <= 2)
				return f | SCORE_NEVER_ID_AGREE;
		}
	return f | SCORE_NEVER_ID_CONFLICT;
}

/* The adjustment for an exact agreement c of attr: from q's cache when
 * the left record was prepared (q may be NULL), else looked up. */
static double tf_of(const struct score_model *m, const struct score_tf *tf,
		    const struct score_query *q, enum score_attr attr,
		    const struct cmp *c)
{
	if (!tf || !q)
		return score_tf_adjust(tf, m, attr, c->left);
	const struct store_rec *r = q->rec;
	size_t n =
	    r->n_addrs < RECONNU_MAX_LIST ? r->n_addrs : RECONNU_MAX_LIST;
	switch (attr) {
	case SCORE_GIVEN:
		return q->tf_given;
	case SCORE_FAMILY:
		return q->tf_family;
	case SCORE_CITY:
		for (size_t i = 0; i < n; i++)
			if (c->left == r->addrs[i].city)
				return q->tf_city[i];
		break;
	case SCORE_POSTCODE:
		for (size_t i = 0; i < n; i++)
			if (c->left == r->addrs[i].postcode)
				return q->tf_postcode[i];
		break;
	default:
		break;
	}
	return score_tf_adjust(tf, m, attr, c->left);
}

/* Weight of comparison c of attr, tf-adjusted on exact agreement. */
static double level_weight(const struct score_model *m,
			   const struct score_tf *tf,
			   const struct score_query *q, enum score_attr attr,
			   const struct cmp *c, double *tfadj)
{
	*tfadj = c->level == SCORE_EXACT && !c->variant
		     ? tf_of(m, tf, q, attr, c)
		     : 0;
	return m->weight[attr][c->level] + *tfadj;
}

static void put(const struct score_model *m, const struct score_tf *tf,
		const struct score_query *q, struct score_explain *ex,
		double *w, enum score_attr attr, struct cmp c)
{
	double adj;
	double wt = level_weight(m, tf, q, attr, &c, &adj);
	*w += wt;
	if (ex) {
		struct score_feature *f = &ex->f[ex->n++];
		f->attr = attr;
		f->level = c.level;
		f->left = c.left ? c.left : "";
		f->right = c.right ? c.right : "";
		f->similarity = c.sim;
		f->weight = wt;
		f->tf = adj;
	}
}

/*
 * Names alone do not make one person: namesakes are common (one "olga
 * morozova" or "jing chen" in a few thousand customers), and however rare
 * the name, two records that share nothing else — no birth date, contact,
 * address or identifier agreeing — are capped at SCORE_NAMES_ALONE_MAX:
 * a possible match for review under the default thresholds, never an
 * automatic link. The excess is taken from the name features, so an
 * explanation still adds up (the first two features are the names).
 */
static double names_alone(double w, struct score_explain *ex)
{
	if (w <= SCORE_NAMES_ALONE_MAX)
		return w;
	double excess = w - SCORE_NAMES_ALONE_MAX, pos = 0;
	if (ex) {
		ex->names_alone = 1;
		for (int i = 0; i < 2 && i < ex->n; i++)
			pos += ex->f[i].weight > 0 ? ex->f[i].weight : 0;
		for (int i = 0; i < 2 && i < ex->n && pos > 0; i++)
			if (ex->f[i].weight > 0)
				ex->f[i].weight -= excess * ex->f[i].weight / pos;
	}
	return SCORE_NAMES_ALONE_MAX;
}

double score_pair(const struct score_model *m, const struct norm_nicknames *nn,
		  const struct store_rec *a, const struct store_rec *b,
		  struct score_explain *ex)
{
	return score_pair_tf(m, nn, NULL, a, b, ex);
}

void score_query_create(struct score_query *q, const struct score_model *m,
			const struct score_tf *tf,
			const struct norm_nicknames *nn,
			const struct store_rec *rec)
{
	q->rec = rec;
	q->m = m;
	q->tf = tf;
	q->nn = nn;
	sim_query_create(&q->given, rec->given, strlen(rec->given));
	sim_query_create(&q->family, rec->family, strlen(rec->family));
	norm_nickname_prepare(nn, rec->given, &q->given_nick);
	sim_bytes_of(&q->given_bytes, rec->given, strlen(rec->given));
	sim_bytes_of(&q->family_bytes, rec->family, strlen(rec->family));
	for (size_t i = 0; i < rec->n_addrs && i < SCORE_QUERY_STREETS; i++)
		sim_tokens_create(&q->street[i], rec->addrs[i].line);
	q->given_roman.n =
	    (int)roman_skeleton(rec->given, q->given_roman.s, NULL);
	q->family_roman.n =
	    (int)roman_skeleton(rec->family, q->family_roman.s, NULL);
	q->tf_given = score_tf_adjust(tf, m, SCORE_GIVEN, rec->given);
	q->tf_family = score_tf_adjust(tf, m, SCORE_FAMILY, rec->family);
	for (size_t i = 0; i < rec->n_addrs && i < RECONNU_MAX_LIST; i++) {
		q->tf_city[i] =
		    score_tf_adjust(tf, m, SCORE_CITY, rec->addrs[i].city);
		q->tf_postcode[i] = score_tf_adjust(tf, m, SCORE_POSTCODE,
						    rec->addrs[i].postcode);
	}
}

/* The one scorer behind score_pair_tf (q NULL: everything derived from a
 * is computed on the spot) and score_pair_prepared (q prepared from a). */
static double pair(const struct score_model *m, const struct norm_nicknames *nn,
		   const struct score_tf *tf, const struct score_query *q,
		   const struct store_rec *a, const struct store_rec *b,
		   struct score_explain *ex)
{
	const struct sim_query *qg = q ? &q->given : NULL,
			       *qf = q ? &q->family : NULL;
	const struct norm_nickname *kg = q ? &q->given_nick : NULL;
	const struct sim_bytes *xg = q ? &q->given_bytes : NULL,
			       *xf = q ? &q->family_bytes : NULL;
	double w = m->prior;
	if (ex) {
		ex->n = 0;
		ex->swapped = 0;
		ex->names_alone = 0;
	}

	/* names, direct and swapped order. Prepared, a's skeletons come
	 * with q; unprepared (the reference), all are made on the spot. */
	const struct score_roman *rag = q ? &q->given_roman : NULL,
				 *raf = q ? &q->family_roman : NULL;
	struct cmp g = cmp_given(nn, qg, kg, xg, rag, a->given, b->given);
	struct cmp f = cmp_family(qf, xf, raf, a->family, b->family);
	double direct =
	    m->weight[SCORE_GIVEN][g.level] + m->weight[SCORE_FAMILY][f.level];
	if (*a->given && *a->family && *b->given && *b->family &&
	    (g.level != SCORE_EXACT || f.level != SCORE_EXACT)) {
		struct cmp sg =
		    cmp_given(nn, qg, kg, xg, rag, a->given, b->family);
		/* the swapped order wins only above direct: when even the
		 * best family level cannot lift it there, the swapped family
		 * comparison is not run (the sum rounds monotonically) */
		double best_f = 0;
		for (int l = 0; l < SCORE_NLEVEL; l++)
			if (m->weight[SCORE_FAMILY][l] > best_f)
				best_f = m->weight[SCORE_FAMILY][l];
		struct cmp sf = cmp_missing();
		double swapped = -INFINITY,
		       bound = m->weight[SCORE_GIVEN][sg.level] + best_f -
			       m->swap_penalty;
		if (bound > direct) {
			sf = cmp_family(qf, xf, raf, a->family, b->given);
			swapped = m->weight[SCORE_GIVEN][sg.level] +
				  m->weight[SCORE_FAMILY][sf.level] -
				  m->swap_penalty;
		}
		if (swapped > direct) {
			g = sg;
			f = sf;
			w -= m->swap_penalty;
			if (ex)
				ex->swapped = 1;
		}
	}
	/* a rare name says more only with the other name agreeing: a rare
	 * family name shared by a household says "same family" */
	int g_agrees = g.level == SCORE_EXACT || g.level == SCORE_NICKNAME ||
		       g.level == SCORE_CLOSE;
	int f_agrees = f.level == SCORE_EXACT || f.level == SCORE_CLOSE;
	put(m, f_agrees ? tf : NULL, q, ex, &w, SCORE_GIVEN, g);
	put(m, g_agrees ? tf : NULL, q, ex, &w, SCORE_FAMILY, f);
	/* what agrees besides the names (gender aside): see names_alone */
	double other = 0, w0 = w;

	struct cmp bd = {cmp_birth(a, b), -1,
			 a->raw.birth_date ? a->raw.birth_date : "",
			 b->raw.birth_date ? b->raw.birth_date : "", 0};
	put(m, tf, q, ex, &w, SCORE_BIRTH, bd);
	other += w > w0 ? w - w0 : 0;

	struct cmp gd = cmp_missing();
	if (a->gender && b->gender && a->gender != 'X' && b->gender != 'X')
		gd.level =
		    a->gender == b->gender ? SCORE_EXACT : SCORE_DIFFERENT;
	put(m, tf, q, ex, &w, SCORE_GENDER, gd);

	struct cmp em = cmp_lists(a->emails, a->n_emails, b->emails,
				  b->n_emails, 'e', ex != NULL);
	/* one name-spelled mailbox at two providers, or two spellings of
	 * it at one ("jie.li" / "jie_li"): namesakes' mailboxes */
	if ((em.level == SCORE_PARTIAL || em.level == SCORE_CLOSE) &&
	    name_mailbox(em.left, a) && name_mailbox(em.right, b))
		em.level = SCORE_FAR;
	struct cmp ph =
	    cmp_lists(a->phones, a->n_phones, b->phones, b->n_phones, 'p', 0);
	struct cmp pc, city, street;
	cmp_addrs(q, a, b, &pc, &city, &street);
	double ws[5], adj[5];
	struct cmp cs[5] = {em, ph, pc, city, street};
	enum score_attr as[5] = {SCORE_EMAIL, SCORE_PHONE, SCORE_POSTCODE,
				 SCORE_CITY, SCORE_STREET};
	for (int k = 0; k < 5; k++)
		ws[k] = level_weight(m, tf, q, as[k], &cs[k], &adj[k]);
	corroborate(ws);
	for (int k = 0; k < 5; k++) {
		w += ws[k];
		other += ws[k] > 0 ? ws[k] : 0;
		if (ex) {
			struct score_feature *f = &ex->f[ex->n++];
			f->attr = as[k];
			f->level = cs[k].level;
			f->left = cs[k].left ? cs[k].left : "";
			f->right = cs[k].right ? cs[k].right : "";
			f->similarity = cs[k].sim;
			f->weight = ws[k];
			f->tf = adj[k];
		}
	}
	w0 = w;
	put(m, tf, q, ex, &w, SCORE_IDENT,
	    cmp_idents(a->ids, a->n_ids, b->ids, b->n_ids));
	other += w > w0 ? w - w0 : 0;
	return other > 0 ? w : names_alone(w, ex);
}

double score_pair_tf(const struct score_model *m,
		     const struct norm_nicknames *nn, const struct score_tf *tf,
		     const struct store_rec *a, const struct store_rec *b,
		     struct score_explain *ex)
{
	return pair(m, nn, tf, NULL, a, b, ex);
}

double score_pair_prepared(const struct score_query *q,
			   const struct store_rec *b, struct score_explain *ex)
{
	return pair(q->m, q->nn, q->tf, q, q->rec, b, ex);
}
