/* Unit test: comparison levels, weights, explanation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "score.h"
#include "sim.h"
#include "unit.h"

static struct store_rec *rec(const char *given, const char *family,
			     const char *dob, const char *email,
			     const char *postcode)
{
	const char *em[] = {email};
	reconnu_address a = {.postcode = postcode, .country = "GB"};
	reconnu_record in = {.given_name = given,
			     .family_name = family,
			     .birth_date = dob,
			     .emails = email ? em : NULL,
			     .n_emails = email ? 1 : 0,
			     .addresses = postcode ? &a : NULL,
			     .n_addresses = postcode ? 1 : 0};
	struct store_rec *r = NULL;
	char msg[128];
	store_rec_build(&in, 0, &r, msg, sizeof(msg));
	return r;
}

static enum score_level level_of(const struct score_explain *ex,
				 enum score_attr a)
{
	for (int i = 0; i < ex->n; i++)
		if (ex->f[i].attr == a)
			return ex->f[i].level;
	return SCORE_NLEVEL;
}

/* The street level between two records of one person that differ only in
 * their address line (line_a, line_b; city may be NULL). */
static enum score_level street_level(const struct score_model *m,
				     const struct norm_nicknames *nn,
				     const char *line_a, const char *line_b,
				     const char *city, const char *country)
{
	char msg[128];
	struct store_rec *x = NULL, *y = NULL;
	struct score_explain ex;
	reconnu_address a1 = {.line1 = line_a, .city = city, .country = country};
	reconnu_address a2 = a1;
	a2.line1 = line_b;
	reconnu_record r1 = {.given_name = "Jean",
			     .family_name = "Thomas",
			     .addresses = &a1,
			     .n_addresses = 1};
	reconnu_record r2 = r1;
	r2.addresses = &a2;
	store_rec_build(&r1, 0, &x, msg, sizeof(msg));
	store_rec_build(&r2, 0, &y, msg, sizeof(msg));
	score_pair(m, nn, x, y, &ex);
	enum score_level l = level_of(&ex, SCORE_STREET);
	store_rec_delete(x);
	store_rec_delete(y);
	return l;
}

/* ---- the prepared scorer against the reference --------------------------- */

/* romanisations (hyeon u / hyunwoo …) in both pools: their skeletons are
 * prepared with the query and shared by a pair's direct and swapped
 * comparisons */
static const char *const pool_given[] = {
    "Robert",	 "Bob",	      "Roberta",  "Jean-Luc",  "Jean",
    "Anne",	 "Ann",	      "Seo Yeon", "Katherine", "Catherine",
    "Kate",	 "Mohammed",  "Muhammad", "J",	       "Li",
    "Aleksandr", "Alexander", "Sasha",	  "William",   "Bill",
    "Smith",	 "Hyeon U",   "Hyunwoo",  "Jeong",     ""};
static const char *const pool_family[] = {
    "Smith",	 "Smyth",   "Schmidt", "Müller",  "Mueller",  "Kim",
    "Lee",	 "O'Brien", "Obrien",  "Nguyen",  "Dupont",   "Du Pont",
    "Robert",	 "Zwicky",  "Ivanov",  "Ivanova", "Kowalski", "Jung",
    "Seong Min", "Sungmin", "Hyunwoo", ""};
static const char *const pool_city[] = {"London",      "Londn",	  "Paris",
					"Lyon",	       "Sydney",  "Sidney",
					"Bad Homburg", "Homburg", ""};
static const char *const pool_pc[] = {"SW1A 1AA", "SW1A 1AB", "75001", "75010",
				      "2000",	  "2001",     ""};
static const char *const pool_line[] = {"12 Main Street",
					"12 Main St",
					"Main Street 12",
					"4 rue de la Paix",
					"4 rue de la paix apt 3",
					"Flat 2 10 Downing Street",
					"10 Downing Street",
					"PO Box 77",
					"10",
					"10 Downing Street Westminster",
					""};
static const char *const pool_dob[] = {
    "1970-03-04", "1970-04-03", "1970-03-05", "1970",
    "1971-03-04", "1980-02-30", "1980-03-20", "1995-03-04", ""};

static unsigned long long lcg_state = 42;
static unsigned rnd(unsigned n)
{
	lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)((lcg_state >> 33) % n);
}
#define PICK(pool) (pool[rnd(sizeof(pool) / sizeof(pool[0]))])

/* A random string of len letters (long names exceed the 64-byte kernels). */
static void rnd_word(char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)('a' + rnd(4));
	buf[len] = 0;
}

/* A random record from the pools, with typos and long values mixed in. */
static struct store_rec *rnd_rec(void)
{
	static char given[100], family[100], email[2][64], phone[2][32];
	const char *em[2], *ph[2];
	reconnu_identifier ids[2];
	reconnu_address ad[3];
	size_t na = rnd(4), ne = rnd(3), np = rnd(3), ni = rnd(3);
	if (rnd(8) == 0)
		rnd_word(given, 3 + rnd(90));
	else
		strcpy(given, PICK(pool_given));
	if (rnd(8) == 0)
		rnd_word(family, 3 + rnd(90));
	else
		strcpy(family, PICK(pool_family));
	for (size_t i = 0; i < na; i++)
		ad[i] = (reconnu_address){.line1 = PICK(pool_line),
					  .city = PICK(pool_city),
					  .postcode = PICK(pool_pc),
					  .country = "GB"};
	for (size_t i = 0; i < ne; i++) {
		snprintf(email[i], sizeof(email[i]), "%s%u@%s.com",
			 rnd(2) ? "rob" : "r0b", rnd(3), rnd(2) ? "x" : "y");
		em[i] = email[i];
	}
	for (size_t i = 0; i < np; i++) {
		snprintf(phone[i], sizeof(phone[i]), "+4420794601%02u", rnd(3));
		ph[i] = phone[i];
	}
	static const reconnu_identifier id_pool[] = {{"nid", "AB123456"},
						     {"nid", "AB123465"},
						     {"nid", "ZZ999999"},
						     {"loyalty", "42"}};
	for (size_t i = 0; i < ni; i++)
		ids[i] = id_pool[rnd(4)];
	reconnu_record in = {.given_name = given,
			     .family_name = family,
			     .birth_date = PICK(pool_dob),
			     .gender = rnd(3) ? (rnd(2) ? "M" : "F") : NULL,
			     .emails = em,
			     .n_emails = ne,
			     .phones = ph,
			     .n_phones = np,
			     .addresses = ad,
			     .n_addresses = na,
			     .identifiers = ids,
			     .n_identifiers = ni};
	struct store_rec *r = NULL;
	char msg[128];
	if (store_rec_build(&in, 0, &r, msg, sizeof(msg)))
		return NULL;
	return r;
}

/* Whether two explanations are identical, bit for bit. */
static int same_explain(const struct score_explain *x,
			const struct score_explain *y)
{
	if (x->n != y->n || x->swapped != y->swapped)
		return 0;
	for (int i = 0; i < x->n; i++) {
		const struct score_feature *a = &x->f[i], *b = &y->f[i];
		if (a->attr != b->attr || a->level != b->level ||
		    a->left != b->left || a->right != b->right ||
		    memcmp(&a->similarity, &b->similarity, sizeof(double)) ||
		    memcmp(&a->weight, &b->weight, sizeof(double)) ||
		    memcmp(&a->tf, &b->tf, sizeof(double)))
			return 0;
	}
	return 1;
}

/* The romanisation skeletons a prepared query keeps, and the candidate's
 * made once per pair: names agreeing only through a skeleton, direct and
 * swapped, and names too long to have one. */
static void test_prepared_roman(const struct score_model *m,
				const struct norm_nicknames *nn)
{
	char long_a[80], long_b[80]; /* "abab…": no letter doubled */
	for (int i = 0; i < 70; i++)
		long_a[i] = "ab"[i % 2];
	long_a[70] = 0;
	memcpy(long_b, long_a, 71);
	long_b[69] = 'c';
	const char *cases[][4] = {
	    /* query given, family; candidate given, family */
	    {"Hyeon U", "Jeong", "Hyunwoo", "Jung"},
	    {"Hyeon U", "Jeong", "Jung", "Hyunwoo"},   /* swapped */
	    {"Seong Min", "Jeong", "Jung", "Sungmin"}, /* swapped */
	    {"Jeong", "Jeong", "Jung", "Jung"},
	    {long_a, "Kim", long_b, "Kim"},
	    {"Kim", long_a, "Kim", long_b},
	};
	size_t n = sizeof(cases) / sizeof(cases[0]), bad = 0, close = 0;
	for (size_t i = 0; i < n; i++) {
		struct store_rec *a =
		    rec(cases[i][0], cases[i][1], NULL, NULL, NULL);
		struct store_rec *b =
		    rec(cases[i][2], cases[i][3], NULL, NULL, NULL);
		struct score_query q;
		score_query_create(&q, m, NULL, nn, a);
		struct score_explain ref, fast;
		double wr = score_pair_tf(m, nn, NULL, a, b, &ref);
		double wf = score_pair_prepared(&q, b, &fast);
		bad += memcmp(&wr, &wf, sizeof(wr)) != 0 ||
		       !same_explain(&ref, &fast);
		if (i < 4)
			close += level_of(&fast, SCORE_GIVEN) == SCORE_EXACT &&
				 level_of(&fast, SCORE_FAMILY) == SCORE_EXACT &&
				 fast.swapped == (i == 1 || i == 2);
		store_rec_delete(a);
		store_rec_delete(b);
	}
	is_int((int)bad, 0, "prepared skeletons: as the reference");
	is_int((int)close, 4, "romanised names one name, direct and swapped");
	struct store_rec *l = rec(long_a, "Kim", NULL, NULL, NULL);
	struct score_query q;
	score_query_create(&q, m, NULL, nn, l);
	is_int(q.given_roman.n, 0, "a name past SCORE_ROMAN_MAX: no skeleton");
	ok(q.family_roman.n == 3 && !strcmp(q.family_roman.s, "kim"),
	   "the family name's skeleton is prepared");
	store_rec_delete(l);
}

/* score_pair_prepared (fastest kernels) against score_pair_tf computed
 * with the scalar reference kernels, on random pairs sharing values. */
static void test_prepared(const struct score_model *m,
			  const struct norm_nicknames *nn)
{
	enum { N = 600 };
	struct store_rec *pop[N];
	struct score_tf *tf = score_tf_new();
	size_t built = 0;
	for (size_t i = 0; i < N; i++) {
		pop[i] = rnd_rec();
		if (pop[i]) {
			built++;
			score_tf_update(tf, pop[i], 1);
		}
	}
	ok(built == N, "random records build");
	enum sim_isa best = sim_get_isa();
	size_t pairs = 0, differ = 0, bad_w = 0, bad_ex = 0, tf_seen = 0;
	for (size_t i = 0; i < N; i++) {
		if (!pop[i])
			continue;
		struct score_query q;
		score_query_create(&q, m, tf, nn, pop[i]);
		for (size_t j = 0; j < N; j += 1 + rnd(5)) {
			if (!pop[j])
				continue;
			struct score_explain ex_ref, ex_fast;
			sim_set_isa(SIM_ISA_SCALAR);
			double ref =
			    score_pair_tf(m, nn, tf, pop[i], pop[j], &ex_ref);
			double ref_noex =
			    score_pair_tf(m, nn, tf, pop[i], pop[j], NULL);
			sim_set_isa(best);
			double fast = score_pair_prepared(&q, pop[j], &ex_fast);
			double fast_noex =
			    score_pair_prepared(&q, pop[j], NULL);
			pairs++;
			differ += ref != ref_noex;
			if (memcmp(&ref, &fast, sizeof(double)) ||
			    memcmp(&ref, &fast_noex, sizeof(double)))
				bad_w++;
			if (!same_explain(&ex_ref, &ex_fast))
				bad_ex++;
			for (int k = 0; k < ex_ref.n; k++)
				tf_seen += ex_ref.f[k].tf != 0;
		}
	}
	sim_set_isa(best);
	ok(pairs > 10000, "many random pairs compared");
	ok(tf_seen > 100, "term-frequency adjustments exercised");
	is_int((int)differ, 0, "the explanation does not change the weight");
	is_int((int)bad_w, 0, "prepared weights equal the reference's");
	is_int((int)bad_ex, 0,
	       "prepared levels, weights equal the reference's");
	for (size_t i = 0; i < N; i++)
		store_rec_delete(pop[i]);
	score_tf_free(tf);
}

int main(void)
{
	unit_plan_begin();
	norm_global_init();
	struct score_model m;
	score_model_default(&m);
	struct norm_nicknames *nn = norm_nicknames_new();
	struct score_explain ex;

	struct store_rec *a = rec("Robert", "Smith", "1970-03-04", "rs@x.com", "SW1A 1AA");
	struct store_rec *b = rec("Bob", "Smith", "1970-04-03", NULL, "sw1a1aa");
	double w = score_pair(&m, nn, a, b, &ex);
	is_int(level_of(&ex, SCORE_GIVEN), SCORE_NICKNAME, "bob ~ robert");
	is_int(level_of(&ex, SCORE_FAMILY), SCORE_EXACT, "family exact");
	is_int(level_of(&ex, SCORE_BIRTH), SCORE_CLOSE, "day and month swapped");
	is_int(level_of(&ex, SCORE_EMAIL), SCORE_MISSING, "missing email");
	is_int(level_of(&ex, SCORE_POSTCODE), SCORE_EXACT, "postcode exact");
	double sum = m.prior;
	for (int i = 0; i < ex.n; i++)
		sum += ex.f[i].weight;
	ok(fabs(sum - w) < 1e-9, "weights add up to the total");
	ok(score_probability(w) > 0.96, "nickname + family + dob + postcode match");
	ok(score_pair(&m, nn, a, b, NULL) == score_pair(&m, nn, b, a, NULL),
	   "symmetric");

	struct store_rec *c = rec("Rob", "Smiht", "1970", NULL, NULL);
	score_pair(&m, nn, a, c, &ex);
	is_int(level_of(&ex, SCORE_FAMILY), SCORE_CLOSE, "smith ~ smiht: one edit is close");
	ok(ex.f[1].weight > 0, "typo-level agreement is evidence for");
	is_int(level_of(&ex, SCORE_BIRTH), SCORE_PARTIAL, "year-only date partial");

	struct store_rec *d = rec("Smith", "Robert", "1970-03-04", "rs@x.com", NULL);
	score_pair(&m, nn, a, d, &ex);
	ok(ex.swapped, "swapped names recognised");
	is_int(level_of(&ex, SCORE_GIVEN), SCORE_EXACT, "swapped given exact");

	struct store_rec *e = rec("Alice", "Jones", "1988-12-01", "aj@y.com", "E1 6AN");
	w = score_pair(&m, nn, a, e, &ex);
	ok(score_probability(w) < 0.01, "strangers score low");
	is_int(level_of(&ex, SCORE_GIVEN), SCORE_DIFFERENT, "given different");
	is_int(level_of(&ex, SCORE_BIRTH), SCORE_DIFFERENT, "dob different");

	struct store_rec *f = rec("R", "Smith", NULL, "RS@X.com", NULL);
	score_pair(&m, nn, a, f, &ex);
	is_int(level_of(&ex, SCORE_GIVEN), SCORE_INITIAL, "initial level");
	is_int(level_of(&ex, SCORE_EMAIL), SCORE_EXACT, "email case-insensitive");

	/* a household: same family name, email and phone, other given name */
	const char *em[] = {"famille@example.fr"}, *ph[] = {"+33145678910"};
	reconnu_record h1 = {.given_name = "Paul", .family_name = "Girard",
			     .emails = em, .n_emails = 1, .phones = ph, .n_phones = 1};
	reconnu_record h2 = h1;
	h2.given_name = "Claire";
	struct store_rec *x, *y;
	char msg[64];
	store_rec_build(&h1, 0, &x, msg, sizeof(msg));
	store_rec_build(&h2, 0, &y, msg, sizeof(msg));
	w = score_pair(&m, nn, x, y, &ex);
	ok(score_probability(w) < 0.9, "shared email + phone do not make one person");
	sum = m.prior;
	for (int i = 0; i < ex.n; i++)
		sum += ex.f[i].weight;
	ok(fabs(sum - w) < 1e-9, "damped contact weights still add up");
	store_rec_delete(x);
	store_rec_delete(y);

	/* two digits mistyped in a date: far, not different, and no
	 * never-match; three digits: another date */
	struct store_rec *g2 = rec("Gabriel", "Thomas", "1977-09-13", NULL, NULL);
	struct store_rec *g3 = rec("Gabriel", "Thomas", "1976-09-15", NULL, NULL);
	struct store_rec *g4 = rec("Gabriel", "Thomas", "1986-08-15", NULL, NULL);
	score_pair(&m, nn, g2, g3, &ex);
	is_int(level_of(&ex, SCORE_BIRTH), SCORE_FAR, "two digits apart: far");
	ok(m.weight[SCORE_BIRTH][SCORE_FAR] >
	       m.weight[SCORE_BIRTH][SCORE_DIFFERENT],
	   "a far date counts more than a different one");
	ok(!score_never_match(g2, g3), "two digits apart is no never-match");
	score_pair(&m, nn, g2, g4, &ex);
	is_int(level_of(&ex, SCORE_BIRTH), SCORE_DIFFERENT,
	       "three digits apart: different");
	ok(score_never_match(g2, g4), "three digits apart is a never-match");
	store_rec_delete(g2);
	store_rec_delete(g3);
	store_rec_delete(g4);

	/* house numbers: two doors of one street are not one address (far:
	 * no evidence either way, and not "neighbours" either) */
	const char *lines[][2] = {
	    {"13 rue nationale", "13 rue nationale"},
	    {"13 rue nationale", "31 rue nationale"},
	    {"13 rue nationale", "138 rue nationale"},
	    {"7 jiefang road", "32 jiefang road"},
	    {"rue nationale", "13 rue nationale"},
	    {"3 river street", "3 riverstreet"},
	    {"29 porteous crescent", "29 porteousjcrescent"},
	    {"3 river street", "3 avenue foch"},
	    /* one line once the numbers are set
	     * aside: typos, words run together, a line
	     * cut short */
	    {"406 balfourcrescent kersey h south",
	     "15 balfour crescent kersey south"},
	    {"3 hopkins street", "147 hopkins street locn 3439"},
	    /* strangers on one street, its type
	     * abbreviated; the number kept elsewhere */
	    {"13 zhongshan road", "141 zhongshan rd"},
	    {"29 maple drive", "apt 4c 18 maple drive"},
	    /* a one-word street is all neighbours share; a line that ends
	     * inside a word of the other is not that line cut short */
	    {"53 broadway", "222 broadway"},
	    {"10 gran viaducto", "2 gran via"},
	    /* a house number one edit apart is a typo only where the flat
	     * numbers after it agree */
	    {"ul mira d 25 kv 119", "ul mira d 28 kv 182"},
	    {"ul mira d 25 kv 119", "ul mira d 28 kv 119"}};
	const enum score_level want[] = {
	    SCORE_EXACT,     SCORE_CLOSE,    SCORE_CLOSE,     SCORE_FAR,
	    SCORE_CLOSE,     SCORE_EXACT,    SCORE_CLOSE,     SCORE_DIFFERENT,
	    SCORE_FAR,	     SCORE_FAR,	     SCORE_DIFFERENT, SCORE_DIFFERENT,
	    SCORE_DIFFERENT, SCORE_DIFFERENT, SCORE_FAR,	      SCORE_CLOSE};
	for (int i = 0; i < 16; i++)
		is_int(street_level(&m, nn, lines[i][0], lines[i][1], "Toulouse",
				    "FR"),
		       want[i], lines[i][1]);

	/* a line that is part of the other (an export cut it short) is
	 * close; a bare house number against a line says nothing */
	const char *parts[][2] = {
	    {"297 discovery street irrigation farm", "297 irrigation farm"},
	    {"95 grylls crescent", "95"},
	    {"18 wilga place", "575 tepper circuit"}};
	const enum score_level want_part[] = {SCORE_CLOSE, SCORE_FAR,
					      SCORE_DIFFERENT};
	for (int i = 0; i < 3; i++)
		is_int(street_level(&m, nn, parts[i][0], parts[i][1], NULL, "AU"),
		       want_part[i], parts[i][1]);

	/* a postcode names its town: agreeing on both counts the weaker
	 * half, so a shared place is not counted twice */
	{
		reconnu_address a1 = {.postcode = "28906", .city = "Murphy",
				      .country = "US"};
		reconnu_record r1 = {.given_name = "Ruth",
				     .family_name = "Mccune",
				     .addresses = &a1,
				     .n_addresses = 1};
		reconnu_record r2 = r1;
		r2.family_name = "Natsch";
		store_rec_build(&r1, 0, &x, msg, sizeof(msg));
		store_rec_build(&r2, 0, &y, msg, sizeof(msg));
		score_pair(&m, nn, x, y, &ex);
		double wpc = 0, wcity = 0;
		for (int i = 0; i < ex.n; i++) {
			if (ex.f[i].attr == SCORE_POSTCODE)
				wpc = ex.f[i].weight;
			if (ex.f[i].attr == SCORE_CITY)
				wcity = ex.f[i].weight;
		}
		double full_pc = m.weight[SCORE_POSTCODE][SCORE_EXACT],
		       full_city = m.weight[SCORE_CITY][SCORE_EXACT];
		double strong = full_pc > full_city ? full_pc : full_city,
		       weak = full_pc > full_city ? full_city : full_pc;
		ok(fabs(wpc + wcity - (strong + weak / 2)) < 1e-9,
		   "postcode and city: the weaker counts half");
		store_rec_delete(x);
		store_rec_delete(y);
	}

	/* one mailbox with a mistyped domain is close; the same local part
	 * at another provider is only partial (a namesake's address), and
	 * says nothing (far) when spelled from the names alone: namesakes
	 * write those at every provider, in every spelling */
	const char *mails[][2] = {
	    {"harley.rose50@sawyer-lin.org", "harley.rose50@sawyer-lin.orng"},
	    {"mkang@gmail.com", "mkang@hanmail.net"},
	    {"harley.rose@outlook.com", "harley.rose@yahoo.fr"},
	    {"hrose@gmail.com", "hrose@yahoo.fr"},
	    {"rose_h@gmail.com", "rose_h@yahoo.fr"},
	    {"harley@gmail.com", "harley@yahoo.fr"},
	    {"harley.rose50@outlook.com", "harley.rose50@yahoo.fr"},
	    {"harleyq@gmail.com", "harleyq@yahoo.fr"},
	    /* two spellings of the names at one provider: two mailboxes;
	     * a typo in one is still one mailbox */
	    {"harley.rose@outlook.com", "harley_rose@outlook.com"},
	    {"harley.rose@outlook.com", "harley.rsoe@outlook.com"},
	    /* a "+tag" kept by a shop where the normaliser keeps it: one
	     * mailbox */
	    {"harley.rose+promo@example.org", "harley.rose@example.org"}};
	const enum score_level want_mail[] = {
	    SCORE_CLOSE, SCORE_PARTIAL, SCORE_FAR, SCORE_FAR,
	    SCORE_FAR,	 SCORE_FAR,	SCORE_PARTIAL, SCORE_PARTIAL,
	    SCORE_FAR,	 SCORE_CLOSE,	SCORE_EXACT};
	for (int i = 0; i < 11; i++) {
		struct store_rec *ma = rec("Harley", "Rose", NULL, mails[i][0],
					   NULL);
		struct store_rec *mb = rec("Harley", "Rose", NULL, mails[i][1],
					   NULL);
		score_pair(&m, nn, ma, mb, &ex);
		is_int(level_of(&ex, SCORE_EMAIL), want_mail[i], mails[i][1]);
		store_rec_delete(ma);
		store_rec_delete(mb);
	}

	/* an exact birth date with one agreeing name links (fake_1000 and
	 * FEBRL drop or scramble the other name); a disagreeing family
	 * name (a namesake born the same day, or a married name) leaves it
	 * below review */
	{
		struct store_rec *b1 = rec(NULL, "Dean", "2015-03-03", NULL,
					   NULL);
		struct store_rec *b2 = rec("Evie", "Dean", "2015-03-03", NULL,
					   NULL);
		struct store_rec *b3 = rec("Evie", "Hall", "2015-03-03", NULL,
					   NULL);
		ok(score_probability(score_pair(&m, nn, b1, b2, NULL)) > 0.96,
		   "family name and exact birth date: a match");
		ok(score_probability(score_pair(&m, nn, b2, b3, NULL)) < 0.9,
		   "with another family name: not even a possible match");
		store_rec_delete(b1);
		store_rec_delete(b2);
		store_rec_delete(b3);
	}

	/* one field of a date keyed wrong whole: far, as a two-digit typo,
	 * yet still a never-match (the digits are three edits apart) */
	{
		struct store_rec *y1 = rec("Andre", "Schreiber", "1981-09-23",
					   NULL, NULL);
		struct store_rec *y2 = rec("Andre", "Schreiber", "2008-09-23",
					   NULL, NULL);
		struct store_rec *y3 = rec("Andre", "Schreiber", "2008-10-23",
					   NULL, NULL);
		score_pair(&m, nn, y1, y2, &ex);
		is_int(level_of(&ex, SCORE_BIRTH), SCORE_FAR,
		       "only the year differs: far");
		ok(score_never_match(y1, y2),
		   "a year replaced is still another date");
		score_pair(&m, nn, y1, y3, &ex);
		is_int(level_of(&ex, SCORE_BIRTH), SCORE_DIFFERENT,
		       "year and month differ: different");
		store_rec_delete(y1);
		store_rec_delete(y2);
		store_rec_delete(y3);
	}

	/* Revised Romanization against the customary spelling, Russian
	 * transliterations against each other: one name, exact without a
	 * term-frequency bonus (the rarer spelling is not a rarer name) */
	const char *rr[][2] = {{"hyeon u", "hyunwoo"}, {"seong min", "sungmin"},
			       {"jeong", "jung"},	   {"Bae", "Be"},
			       {"yelena", "elena"},	   {"yuliya", "yulia"},
			       {"dmitriy", "dmitry"},	   {"alexey", "aleksei"}};
	for (int i = 0; i < 8; i++) {
		struct store_rec *ra = rec(rr[i][0], "Kim", NULL, NULL, NULL);
		struct store_rec *rb = rec(rr[i][1], "Kim", NULL, NULL, NULL);
		score_pair(&m, nn, ra, rb, &ex);
		ok(level_of(&ex, SCORE_GIVEN) == SCORE_EXACT &&
			   ex.f[0].tf == 0 &&
			   ex.f[0].weight == m.weight[SCORE_GIVEN][SCORE_EXACT],
		   rr[i][1]);
		store_rec_delete(ra);
		store_rec_delete(rb);
	}

	/* names alone: however rare (here: a prior of even odds), a possible
	 * match at most */
	struct score_model even = m;
	even.prior = 0;
	struct store_rec *na1 = rec("Zebulon", "Zwicky", NULL, NULL, NULL);
	struct store_rec *na2 = rec("Zebulon", "Zwicky", NULL, NULL, NULL);
	struct store_rec *na3 = rec("Zebulon", "Zwicky", "1970-03-04", NULL, NULL);
	struct store_rec *na4 = rec("Zebulon", "Zwicky", "1970-03-04", NULL, NULL);
	w = score_pair(&even, nn, na1, na2, &ex);
	ok(w <= SCORE_NAMES_ALONE_MAX && ex.names_alone, "names alone are capped");
	ok(score_probability(w) < 0.96 && score_probability(w) >= 0.90,
	   "names alone: possible, not a match");
	sum = even.prior;
	for (int i = 0; i < ex.n; i++)
		sum += ex.f[i].weight;
	ok(fabs(sum - w) < 1e-9, "a capped explanation still adds up");
	w = score_pair(&even, nn, na3, na4, &ex);
	ok(w > SCORE_NAMES_ALONE_MAX && !ex.names_alone,
	   "names with a birth date are not capped");
	store_rec_delete(na1);
	store_rec_delete(na2);
	store_rec_delete(na3);
	store_rec_delete(na4);

	ok(score_probability(100) == 1.0 && score_probability(-100) == 0.0,
	   "probability saturates");
	ok(fabs(score_probability(0) - 0.5) < 1e-12, "weight 0 is even odds");
	is_str(score_attr_name(SCORE_BIRTH), "birth_date", "attribute names");
	is_str(score_level_name(SCORE_NICKNAME), "nickname", "level names");

	/* term frequencies: agreeing on a rare family name weighs more */
	struct score_tf *tf = score_tf_new();
	struct store_rec *pop[300];
	for (int i = 0; i < 300; i++) {
		pop[i] = rec(i % 3 ? "Ann" : "Joe", i < 290 ? "Smith" : "Zwicky",
			     NULL, NULL, "SW1A 1AA");
		is_int(score_tf_update(tf, pop[i], 1), 0, "counted");
	}
	is_int(score_tf_distinct(tf, SCORE_FAMILY), 2, "two family names");
	double rare = score_tf_adjust(tf, &m, SCORE_FAMILY, "zwicky");
	double common = score_tf_adjust(tf, &m, SCORE_FAMILY, "smith");
	ok(rare > 3 && rare <= m.tf_max, "a rare name weighs more, bounded");
	ok(common == 0, "a common one is not pushed below the default");
	ok(score_tf_adjust(tf, &m, SCORE_BIRTH, "1970") == 0,
	   "no table for birth dates");
	struct store_rec *z1 = rec("Joe", "Zwicky", NULL, NULL, NULL),
			 *z2 = rec("Joe", "Zwicky", NULL, NULL, NULL),
			 *s1 = rec("Joe", "Smith", NULL, NULL, NULL),
			 *s2 = rec("Joe", "Smith", NULL, NULL, NULL),
			 *hz = rec("Ann", "Zwicky", NULL, NULL, NULL);
	double wz = score_pair_tf(&m, nn, tf, z1, z2, &ex);
	ok(fabs(ex.f[1].tf - rare) < 1e-12 && ex.f[1].weight > ex.f[1].tf,
	   "explanation carries the adjustment");
	ok(wz > score_pair_tf(&m, nn, tf, s1, s2, NULL) + 3,
	   "joe zwicky twice is stronger evidence than joe smith twice");
	ok(fabs(score_pair_tf(&m, nn, NULL, z1, z2, NULL) -
		score_pair(&m, nn, z1, z2, NULL)) < 1e-12,
	   "no table, no adjustment");
	score_pair_tf(&m, nn, tf, z1, hz, &ex);
	ok(ex.f[1].tf == 0, "a rare family name alone (given names differ) "
			    "gets no boost: households share it");
	struct store_rec *zy = rec("Joe", "Zwicky", NULL, NULL, NULL),
			 *zi = rec("Joe", "Zwicki", NULL, NULL, NULL);
	score_pair_tf(&m, nn, tf, zy, zi, &ex);
	ok(level_of(&ex, SCORE_FAMILY) == SCORE_EXACT && ex.f[1].tf == 0,
	   "another spelling of a rare name: exact, no boost");
	store_rec_delete(zy);
	store_rec_delete(zi);
	for (int i = 0; i < 300; i++)
		score_tf_update(tf, pop[i], -1);
	ok(score_tf_adjust(tf, &m, SCORE_FAMILY, "zwicky") == 0,
	   "counted out again: too few records to say");
	for (int i = 0; i < 300; i++)
		store_rec_delete(pop[i]);
	store_rec_delete(z1);
	store_rec_delete(z2);
	store_rec_delete(s1);
	store_rec_delete(s2);
	store_rec_delete(hz);
	score_tf_free(tf);

	/* names split into syllables by one writer and not the other */
	struct store_rec *k1 = rec("Seo Yeon", "Kim", NULL, NULL, NULL),
			 *k2 = rec("Seoyeon", "Kim", NULL, NULL, NULL);
	score_pair(&m, nn, k1, k2, &ex);
	is_int(level_of(&ex, SCORE_GIVEN), SCORE_EXACT, "seo yeon = seoyeon");
	store_rec_delete(k1);
	store_rec_delete(k2);

	/* never-match evidence */
	struct store_rec *n1 = rec("Ann", "Lee", "1980-03-14", NULL, NULL),
			 *n2 = rec("Ann", "Lee", "1980-03-41", NULL, NULL),
			 *n3 = rec("Ann", "Lee", "1980-14-03", NULL, NULL),
			 *n4 = rec("Ann", "Lee", "1991-07-22", NULL, NULL),
			 *n5 = rec("Ann", "Lee", "1991", NULL, NULL);
	ok(!score_never_match(n1, n3), "day and month swapped: a typo");
	ok(!score_never_match(n1, n2), "two digits swapped: a typo");
	ok(score_never_match(n1, n4), "another date: never the same person");
	ok(!score_never_match(n4, n5), "a year alone says nothing");
	is_int(score_never_cmp(n1, n1), SCORE_NEVER_DATE_AGREE,
	       "one date: compared and agreeing");
	is_int(score_never_cmp(n1, n4), SCORE_NEVER_DATE_CONFLICT,
	       "another date: a conflict");
	is_int(score_never_cmp(n4, n5), 0, "a year alone: nothing compared");
	store_rec_delete(n1);
	store_rec_delete(n2);
	store_rec_delete(n3);
	store_rec_delete(n4);
	store_rec_delete(n5);

	store_rec_delete(a);
	store_rec_delete(b);
	store_rec_delete(c);
	store_rec_delete(d);
	store_rec_delete(e);
	store_rec_delete(f);
	test_prepared(&m, nn);
	test_prepared_roman(&m, nn);
	norm_nicknames_delete(nn);
	return unit_done();
}
