/*
 * datagen.c — reconnu-datagen: seeded generator of multi-source customer
 * records with ground truth.
 *
 * Model. Each synthetic person (ground truth "person_id") gets true
 * attributes — names, birth date, e-mails, mobile/home phones, one or two
 * addresses (a move at a known time), loyalty card, consent preference —
 * and then 1..5 source records (40 % one, the rest 2..5). Every record is
 * what one source system would hold: tills write names in capitals and
 * drop accents, the e-shop keeps +tags in e-mails, the CRM export writes
 * E.164 phones and carries the address that was valid at its timestamp.
 * Records after a person's first one carry noise: typos (keyboard
 * substitution, deletion, transposition, insertion), nicknames, swapped
 * given/family names, day/month swaps, year-only dates, missing fields,
 * e-mail case/dot/+tag variants, and for Russian, Chinese and Korean
 * persons the names written in Cyrillic, Han or Hangul.
 *
 * Hard cases on purpose: household members (different persons) share an
 * address and a home phone or an e-mail; tills use placeholders
 * ("noemail@shop.com", "0000000000") across unrelated persons; common
 * names are drawn with rank weights so "martin", "smith" and "wang" are
 * shared by many persons with different birth dates.
 *
 * Determinism and speed. One xoshiro256** stream seeded through
 * splitmix64 from --seed drives the person model; a second one drives the
 * shuffle. No time, no rand(). Persons are generated in order and their
 * serialised records gathered in a chunk arena (about CHUNK_RECORDS
 * records, reused, never freed per record) that is shuffled and written
 * out, so the output is streamed and a person's records are not adjacent.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datagen.h"
#include "splitmix.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
/** Bounded copy into a char array member. */
#define COPY(dst, src) snprintf(dst, sizeof(dst), "%s", src)

enum {
	EXIT_USAGE = 2,
	FCAP = 160,		 /* bytes per generated field, with NUL */
	CHUNK_RECORDS = 1 << 15, /* records shuffled together */
	OUTBUF = 1 << 20,
	MAX_RECORD_BYTES = 24576, /* upper bound of one serialised record */
};

/* ---- PRNG: xoshiro256** seeded by splitmix64 -------------------------- */

struct rng {
	uint64_t s[4];
};

static void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

/** Uniform in [0, n), n > 0 (Lemire's multiply-shift, bias < 2^-32). */
static inline uint32_t rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

static inline bool rng_chance(struct rng *r, double p)
{
	return (double)(rng_next(r) >> 11) * 0x1p-53 < p;
}

static inline int64_t rng_range(struct rng *r, int64_t lo, int64_t hi)
{
	return lo + (int64_t)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

/** Bijection on 32 bits (lowbias32): distinct inputs give distinct ids. */
static uint32_t mix32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	x ^= x >> 16;
	return x;
}

/* ---- weighted lists ---------------------------------------------------- */

/** Cumulative weights of a list; sampled by binary search. */
struct dist {
	uint64_t *cum;
	size_t n;
};

static int dist_init_rank(struct dist *d, size_t n)
{
	d->cum = malloc(n * sizeof(*d->cum));
	if (d->cum == NULL)
		return -1;
	d->n = n;
	uint64_t acc = 0;
	for (size_t i = 0; i < n; i++) {
		acc += 1000000 / (i + 2);
		d->cum[i] = acc;
	}
	return 0;
}

static size_t dist_pick(const struct dist *d, struct rng *r)
{
	uint64_t x = rng_next(r) % d->cum[d->n - 1];
	size_t lo = 0, hi = d->n - 1;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (d->cum[mid] > x)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/** A Febrl frequency table ("value,count" lines). */
struct freq {
	char *buf; /**< file contents, values NUL-terminated in place */
	const char **names;
	char *gender; /**< given names only: 'M'/'F' guess */
	struct dist dist;
};

/** Set of 64-bit hashes (open addressing, 0 = empty): keeps generated
 *  e-mail addresses unique across persons, as mail providers do. */
struct hset {
	uint64_t *slot;
	size_t cap, n;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return (h ^ (h >> 29)) | 1;
}

/** Insert h; returns 1 if added, 0 if present, -1 out of memory. */
static int hset_add(struct hset *hs, uint64_t h)
{
	if (2 * (hs->n + 1) > hs->cap) {
		size_t cap = hs->cap ? hs->cap * 2 : 1 << 16;
		uint64_t *slot = calloc(cap, sizeof(*slot));
		if (slot == NULL)
			return -1;
		for (size_t i = 0; i < hs->cap; i++) {
			if (hs->slot[i] == 0)
				continue;
			size_t j = hs->slot[i] & (cap - 1);
			while (slot[j])
				j = (j + 1) & (cap - 1);
			slot[j] = hs->slot[i];
		}
		free(hs->slot);
		hs->slot = slot;
		hs->cap = cap;
	}
	size_t j = h & (hs->cap - 1);
	while (hs->slot[j]) {
		if (hs->slot[j] == h)
			return 0;
		j = (j + 1) & (hs->cap - 1);
	}
	hs->slot[j] = h;
	hs->n++;
	return 1;
}

/* ---- output records ---------------------------------------------------- */

enum field {
	F_SOURCE,
	F_SOURCE_ID,
	F_GIVEN,
	F_FAMILY,
	F_BIRTH,
	F_GENDER,
	F_EMAIL,
	F_EMAIL2,
	F_PHONE,
	F_PHONE2,
	F_ADDR,
	F_CITY,
	F_POSTCODE,
	F_COUNTRY,
	F_LOYALTY,
	F_UPDATED,
	F_CONSENT,
	F_PERSON,
	NF
};

static const char *const field_names[NF] = {
    "source",	     "source_id",     "given_name", "family_name", "birth_date",
    "gender",	     "email",	      "email2",	    "phone",	   "phone2",
    "address_line1", "city",	      "postcode",   "country",	   "loyalty_id",
    "updated_at",    "consent_email", "person_id",
};

/** One source record being built; fields are NUL-terminated. */
struct rec {
	char f[NF][FCAP];
};

/** Copy s into a field buffer, truncating at FCAP - 1 bytes. */
static size_t fset(char *dst, const char *s)
{
	size_t n = strlen(s);
	if (n >= FCAP)
		n = FCAP - 1;
	memcpy(dst, s, n);
	dst[n] = 0;
	return n;
}

/** Append s at position at of a field buffer; returns the new length. */
static size_t fcat(char *dst, size_t at, const char *s)
{
	while (*s && at < FCAP - 1)
		dst[at++] = *s++;
	dst[at] = 0;
	return at;
}

static size_t fcatc(char *dst, size_t at, char c)
{
	if (at < FCAP - 1)
		dst[at++] = c;
	dst[at] = 0;
	return at;
}

/** Append v in decimal, zero-padded to width digits. */
static size_t fcatu(char *dst, size_t at, uint64_t v, int width)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n < width)
		tmp[n++] = '0';
	while (n && at < FCAP - 1)
		dst[at++] = tmp[--n];
	dst[at] = 0;
	return at;
}

/* ---- text helpers (UTF-8 aware for Latin-1 and Cyrillic) -------------- */

/** Upper-case one letter in place at s; returns its byte length. */
static int upper_at(unsigned char *s)
{
	if (s[0] < 0x80) {
		if (s[0] >= 'a' && s[0] <= 'z')
			s[0] -= 32;
		return 1;
	}
	if (s[0] == 0xc3 && s[1] >= 0xa0 && s[1] <= 0xbe && s[1] != 0xb7) {
		s[1] -= 0x20;
		return 2;
	}
	if (s[0] == 0xd0 && s[1] >= 0xb0 && s[1] <= 0xbf) {
		s[1] -= 0x20;
		return 2;
	}
	if (s[0] == 0xd1 && s[1] >= 0x80 && s[1] <= 0x8f) {
		s[0] = 0xd0;
		s[1] += 0x20;
		return 2;
	}
	if (s[0] >= 0xf0)
		return 4;
	if (s[0] >= 0xe0)
		return 3;
	return s[1] ? 2 : 1;
}

static void to_upper(char *s)
{
	unsigned char *p = (unsigned char *)s;
	while (*p)
		p += upper_at(p);
}

/** Capitalise the first letter of each word (after space, '-', '\''). */
static void to_title(char *s)
{
	unsigned char *p = (unsigned char *)s;
	bool start = true;
	while (*p) {
		bool sepc = *p == ' ' || *p == '-' || *p == '\'';
		int n = start && !sepc ? upper_at(p) : 1;
		if (!start && *p >= 0x80)
			n = *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : 2;
		start = sepc;
		p += n;
	}
}

/** ASCII spelling of a Latin-1 letter given its second UTF-8 byte. */
static const char *fold_c3(unsigned char b)
{
	static const char *const tab[64] = {
	    "A", "A", "A", "A", "A", "A",  "AE", "C",  "E",  "E",  "E",
	    "E", "I", "I", "I", "I", "D",  "N",	 "O",  "O",  "O",  "O",
	    "O", "x", "O", "U", "U", "U",  "U",	 "Y",  "TH", "ss", "a",
	    "a", "a", "a", "a", "a", "ae", "c",	 "e",  "e",  "e",  "e",
	    "i", "i", "i", "i", "d", "n",  "o",	 "o",  "o",  "o",  "o",
	    "/", "o", "u", "u", "u", "u",  "y",	 "th", "y",
	};
	return b >= 0x80 && b <= 0xbf ? tab[b - 0x80] : "";
}

/** Replace accented Latin-1 letters by ASCII (in place, never grows
 *  beyond FCAP). Other multi-byte characters are kept. */
static void fold_ascii(char *s)
{
	char out[FCAP];
	size_t n = 0;
	const unsigned char *p = (const unsigned char *)s;
	while (*p && n < FCAP - 3) {
		if (p[0] == 0xc3 && p[1]) {
			for (const char *f = fold_c3(p[1]); *f; f++)
				out[n++] = *f;
			p += 2;
		} else {
			out[n++] = (char)*p++;
		}
	}
	out[n] = 0;
	memcpy(s, out, n + 1);
}

/** Lower-case ASCII, alphanumerics and '-' only: an e-mail local part
 *  from a name. */
static size_t email_word(char *dst, size_t at, const char *name)
{
	char tmp[FCAP];
	fset(tmp, name);
	fold_ascii(tmp);
	for (const char *p = tmp; *p; p++) {
		char c = *p;
		if (c >= 'A' && c <= 'Z')
			c += 32;
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-')
			at = fcatc(dst, at, c);
	}
	return at;
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/** A key next to c on a QWERTY keyboard (same case). */
static char neighbour_key(struct rng *r, char c)
{
	static const char *const near[26] = {
	    "qwsz",   "vghn", "xdfv",	"serfcx", "wsdr",   "drtgvc", "ftyhbv",
	    "gyujnb", "ujko", "huikmn", "jiolm",  "kop",    "njk",    "bhjm",
	    "iklp",   "ol",   "wa",	"edft",	  "awedxz", "rfgy",   "yhji",
	    "cfgb",   "qase", "zsdc",	"tghu",	  "asx",
	};
	bool up = c >= 'A' && c <= 'Z';
	const char *n = near[(up ? c + 32 : c) - 'a'];
	char k = n[rng_below(r, (uint32_t)strlen(n))];
	return up ? (char)(k - 32) : k;
}

/**
 * Apply one typo to the first limit bytes of s: keyboard substitution,
 * deletion, transposition of neighbours or insertion. Only ASCII letters
 * are touched so UTF-8 stays valid; strings without them are left alone.
 */
static void typo(struct rng *r, char *s, size_t limit)
{
	size_t len = strlen(s);
	if (limit > len)
		limit = len;
	if (limit < 2)
		return;
	for (int tries = 0; tries < 4; tries++) {
		size_t i = rng_below(r, (uint32_t)limit);
		if (!is_alpha(s[i]))
			continue;
		switch (rng_below(r, 4)) {
		case 0:
			s[i] = neighbour_key(r, s[i]);
			return;
		case 1:
			memmove(s + i, s + i + 1, len - i);
			return;
		case 2:
			if (i + 1 < limit && is_alpha(s[i + 1])) {
				char t = s[i];
				s[i] = s[i + 1];
				s[i + 1] = t;
				return;
			}
			continue;
		default:
			if (len + 1 < FCAP) {
				memmove(s + i + 1, s + i, len - i + 1);
				s[i] = rng_chance(r, 0.5)
					   ? s[i + 1]
					   : neighbour_key(r, s[i]);
				return;
			}
			continue;
		}
	}
}

/** Replace the first occurrence of from by to in s (bounded by FCAP). */
static bool replace_once(char *s, const char *from, const char *to)
{
	char *hit = strstr(s, from);
	if (hit == NULL)
		return false;
	size_t lf = strlen(from), lt = strlen(to), ls = strlen(s);
	if (ls - lf + lt >= FCAP)
		return false;
	memmove(hit + lt, hit + lf, ls - (size_t)(hit - s) - lf + 1);
	memcpy(hit, to, lt);
	return true;
}

static inline bool iso_is(const char *iso, const char *want)
{
	return iso[0] == want[0] && iso[1] == want[1];
}

/* ---- persons ----------------------------------------------------------- */

struct phone {
	uint8_t country;
	uint8_t plen; /**< digits of the leading group (prefix/area) */
	bool mobile;
	char nsn[16]; /**< national significant number, digits only */
};

struct addr {
	uint8_t country;
	uint8_t city;
	char line1[96];
	char postcode[16];
};

struct person {
	uint64_t id;
	int country;
	int culture;
	char given[64];
	char given_nat[64]; /**< native script form or "" */
	char family[64];
	char family_nat[64];
	char gender;
	int by, bm, bd;
	char email[2][FCAP];
	int n_email;
	bool has_mobile, has_home;
	struct phone mobile, home;
	struct addr addr[2]; /**< [1] is the address after moving */
	bool moved;
	int64_t moved_at;
	bool has_loyalty;
	char loyalty[16];
	bool consent; /**< preferred answer to e-mail marketing */
};

/* ---- sources ----------------------------------------------------------- */

enum phone_style { PH_NAT, PH_COMPACT, PH_INTL, PH_E164, PH_00, PH_N };

/** How one source system captures and writes customer data. */
struct source {
	const char *name;
	const char *id_prefix;
	unsigned weight;
	const char *home; /**< country of a till, NULL for others */
	double no_given, no_family, no_birth, year_only, no_gender;
	double no_email, no_phone, no_addr, no_country;
	double upper, lower, family_upper, fold; /**< name writing habits */
	double nick;	    /**< nickname instead of the given name */
	double loyalty;	    /**< loyalty id recorded when the person has one */
	double placeholder; /**< till placeholder e-mail / phone */
	double consent;	    /**< consent_email filled */
	double email2, phone2, tag, email_case;
	unsigned style[PH_N];	      /**< phone styles, local numbers */
	unsigned style_foreign[PH_N]; /**< phone styles, foreign numbers */
	int64_t t_lo, t_hi;	      /**< updated_at window, unix ms */
};

#define T2015 1420070400000LL
#define T2019 1546300800000LL
#define T2022 1640995200000LL
#define T2025 1748736000000LL

static const struct source sources[] = {
    {
	.name = "eshop",
	.id_prefix = "",
	.weight = 30,
	.home = NULL,
	.no_given = 0.02,
	.no_family = 0.02,
	.no_birth = 0.5,
	.year_only = 0.05,
	.no_gender = 0.3,
	.no_phone = 0.4,
	.no_addr = 0.2,
	.no_country = 0.05,
	.upper = 0.02,
	.lower = 0.15,
	.fold = 0.1,
	.nick = 0.05,
	.loyalty = 0.3,
	.consent = 0.9,
	.email2 = 0.15,
	.phone2 = 0.2,
	.tag = 0.15,
	.email_case = 0.1,
	.style = {35, 25, 20, 15, 5},
	.style_foreign = {10, 10, 40, 30, 10},
	.t_lo = T2015,
	.t_hi = T2025,
    },
    {
	.name = "pos-paris",
	.id_prefix = "PAR",
	.weight = 14,
	.home = "FR",
	.no_given = 0.05,
	.no_family = 0.02,
	.no_birth = 0.6,
	.year_only = 0.1,
	.no_gender = 0.5,
	.no_email = 0.35,
	.no_phone = 0.15,
	.no_addr = 0.5,
	.no_country = 0.3,
	.upper = 0.7,
	.family_upper = 0.15,
	.fold = 0.5,
	.nick = 0.05,
	.loyalty = 0.9,
	.placeholder = 0.05,
	.consent = 0.5,
	.phone2 = 0.05,
	.email_case = 0.3,
	.style = {50, 40, 5, 0, 5},
	.style_foreign = {20, 0, 50, 0, 30},
	.t_lo = T2015,
	.t_hi = T2025,
    },
    {
	.name = "pos-london",
	.id_prefix = "LDN",
	.weight = 10,
	.home = "GB",
	.no_given = 0.05,
	.no_family = 0.02,
	.no_birth = 0.6,
	.year_only = 0.1,
	.no_gender = 0.5,
	.no_email = 0.35,
	.no_phone = 0.15,
	.no_addr = 0.5,
	.no_country = 0.3,
	.upper = 0.6,
	.fold = 0.5,
	.nick = 0.05,
	.loyalty = 0.9,
	.placeholder = 0.05,
	.consent = 0.5,
	.phone2 = 0.05,
	.email_case = 0.3,
	.style = {60, 30, 10, 0, 0},
	.style_foreign = {30, 0, 50, 0, 20},
	.t_lo = T2015,
	.t_hi = T2025,
    },
    {
	.name = "clienteling",
	.id_prefix = "CL-",
	.weight = 10,
	.home = NULL,
	.no_birth = 0.2,
	.year_only = 0.05,
	.no_gender = 0.05,
	.no_email = 0.15,
	.no_phone = 0.05,
	.no_addr = 0.3,
	.no_country = 0.05,
	.upper = 0.05,
	.lower = 0.05,
	.family_upper = 0.05,
	.fold = 0.05,
	.nick = 0.25,
	.loyalty = 0.8,
	.placeholder = 0.01,
	.consent = 0.7,
	.email2 = 0.4,
	.phone2 = 0.4,
	.email_case = 0.05,
	.style = {10, 0, 70, 20, 0},
	.style_foreign = {0, 0, 80, 20, 0},
	.t_lo = T2019,
	.t_hi = T2025,
    },
    {
	.name = "crm-export",
	.id_prefix = "CRM",
	.weight = 20,
	.home = NULL,
	.no_given = 0.01,
	.no_family = 0.01,
	.no_birth = 0.3,
	.year_only = 0.2,
	.no_gender = 0.1,
	.no_email = 0.1,
	.no_phone = 0.2,
	.no_addr = 0.05,
	.upper = 0.3,
	.lower = 0.05,
	.family_upper = 0.1,
	.fold = 0.2,
	.nick = 0.05,
	.loyalty = 0.6,
	.consent = 0.8,
	.email2 = 0.5,
	.phone2 = 0.3,
	.email_case = 0.05,
	.style = {0, 10, 0, 80, 10},
	.style_foreign = {0, 0, 0, 90, 10},
	.t_lo = T2015,
	.t_hi = T2022,
    },
    {
	.name = "marketing",
	.id_prefix = "MKT-",
	.weight = 16,
	.home = NULL,
	.no_given = 0.2,
	.no_family = 0.3,
	.no_birth = 0.8,
	.year_only = 0.5,
	.no_gender = 0.6,
	.no_phone = 0.8,
	.no_addr = 0.7,
	.no_country = 0.3,
	.lower = 0.3,
	.fold = 0.3,
	.nick = 0.05,
	.loyalty = 0.1,
	.consent = 1.0,
	.tag = 0.1,
	.email_case = 0.2,
	.style = {0, 0, 20, 50, 30},
	.style_foreign = {0, 0, 20, 50, 30},
	.t_lo = T2019,
	.t_hi = T2025,
    },
};
#define N_SOURCES N(sources)

/* ---- generator state --------------------------------------------------- */

struct options {
	uint64_t persons;
	uint64_t seed;
	bool jsonl;
	bool ordered;
	const char *out;
	const char *freq_dir;
	double scripts_rate;
	double typo_rate;
};

struct gen {
	struct options opt;
	struct rng rng;	    /**< the person model */
	struct rng shuffle; /**< record order within a chunk */
	struct dist given[DG_N_CULTURES];
	struct dist family[DG_N_CULTURES];
	struct dist country;
	struct dist domains[16];
	bool have_freq;
	struct hset emails; /**< every generated address */
	bool oom;
	struct freq f_given, f_family, f_suburb;
	/** cumulative source weights by the person's country */
	uint32_t source_cum[16][N_SOURCES];
	uint32_t id_counter[N_SOURCES];
	uint32_t id_salt[N_SOURCES];
	uint32_t loyalty_salt;
	/* chunk of serialised records, shuffled before writing */
	char *arena;
	size_t arena_len, arena_cap;
	uint64_t *lines; /**< offset << 24 | length, one per record */
	size_t n_lines, cap_lines;
	char *out;
	size_t out_len;
	FILE *fp;
	uint64_t records;
	bool io_error;
};

/* ---- Febrl frequency tables -------------------------------------------- */

static int freq_load(struct freq *f, const char *dir, const char *file,
		     bool given)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	FILE *fp = fopen(path, "rb");
	if (fp == NULL) {
		fprintf(stderr, "reconnu-datagen: cannot open %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	size_t cap = 1 << 16, len = 0;
	f->buf = malloc(cap + 1);
	while (f->buf != NULL) {
		len += fread(f->buf + len, 1, cap - len, fp);
		if (len < cap)
			break;
		cap *= 2;
		char *nb = realloc(f->buf, cap + 1);
		if (nb == NULL)
			free(f->buf);
		f->buf = nb;
	}
	bool bad = ferror(fp);
	fclose(fp);
	if (f->buf == NULL || bad) {
		fprintf(stderr, "reconnu-datagen: cannot read %s\n", path);
		return -1;
	}
	f->buf[len] = 0;
	size_t lines = 1;
	for (size_t i = 0; i < len; i++)
		lines += f->buf[i] == '\n';
	f->names = malloc(lines * sizeof(*f->names));
	f->dist.cum = malloc(lines * sizeof(*f->dist.cum));
	f->gender = given ? malloc(lines) : NULL;
	if (f->names == NULL || f->dist.cum == NULL || (given && !f->gender))
		return -1;
	uint64_t acc = 0;
	size_t n = 0;
	for (char *line = f->buf, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		char *comma = strchr(line, ',');
		while (*line == ' ' || *line == '\t')
			line++;
		if (*line == '#' || comma == NULL)
			continue;
		char *end = comma;
		while (end > line && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		*end = 0;
		unsigned long long c = strtoull(comma + 1, NULL, 10);
		if (end == line || c == 0)
			continue;
		acc += c;
		f->names[n] = line;
		f->dist.cum[n] = acc;
		if (given) {
			char g = end[-1] == 'a' ? 'F' : 'M';
			for (int cu = 0; cu < DG_N_CULTURES; cu++)
				for (size_t i = 0; i < dg_cultures[cu].n_given;
				     i++)
					if (!strcmp(
						dg_cultures[cu].given[i].latin,
						line))
						g = dg_cultures[cu]
							.given[i]
							.gender;
			f->gender[n] = g == 'U' ? 'F' : g;
		}
		n++;
	}
	f->dist.n = n;
	if (n == 0) {
		fprintf(stderr,
			"reconnu-datagen: %s has no \"value,count\" rows\n",
			path);
		return -1;
	}
	return 0;
}

static void freq_free(struct freq *f)
{
	free(f->buf);
	free(f->names);
	free(f->gender);
	free(f->dist.cum);
}

/* ---- person model -------------------------------------------------------- */

static const char *pick_str(struct rng *r, const char *const *list, size_t n)
{
	return list[rng_below(r, (uint32_t)n)];
}

/** Pick one entry of a '|'-separated list into dst. */
static void pick_bar(struct rng *r, char *dst, size_t cap, const char *list)
{
	uint32_t n = 1;
	for (const char *p = list; *p; p++)
		n += *p == '|';
	uint32_t k = rng_below(r, n);
	const char *p = list;
	while (k--)
		p = strchr(p, '|') + 1;
	size_t len = strcspn(p, "|");
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, p, len);
	dst[len] = 0;
}

static void make_phone(struct rng *r, struct phone *ph, int country, int city,
		       bool mobile)
{
	const struct dg_country *c = &dg_countries[country];
	const char *prefix =
	    mobile ? pick_str(r, c->mobile_prefixes, c->n_mobile_prefixes)
		   : c->cities[city].area;
	unsigned len = mobile ? c->mobile_len : c->land_len;
	size_t n = strlen(prefix);
	memcpy(ph->nsn, prefix, n);
	ph->nsn[n] = (char)('2' + rng_below(r, 8));
	for (size_t i = n + 1; i < len; i++)
		ph->nsn[i] = (char)('0' + rng_below(r, 10));
	ph->nsn[len] = 0;
	ph->country = (uint8_t)country;
	ph->plen = (uint8_t)n;
	ph->mobile = mobile;
}

static void title_into(char *dst, size_t cap, const char *s)
{
	snprintf(dst, cap, "%s", s);
	to_title(dst);
}

static void make_addr(struct gen *g, struct addr *a, int country)
{
	struct rng *r = &g->rng;
	const struct dg_country *c = &dg_countries[country];
	a->country = (uint8_t)country;
	a->city = (uint8_t)rng_below(r, (uint32_t)c->n_cities);
	pick_bar(r, a->postcode, sizeof(a->postcode),
		 c->cities[a->city].postcodes);
	char street[64];
	bool anglo = iso_is(c->iso, "GB") || iso_is(c->iso, "US");
	if (g->have_freq && anglo && rng_chance(r, 0.5)) {
		static const char *const kinds[] = {"Road",  "Street", "Avenue",
						    "Close", "Drive",  "Lane"};
		char stem[48];
		title_into(stem, sizeof(stem),
			   g->f_suburb.names[dist_pick(&g->f_suburb.dist, r)]);
		snprintf(street, sizeof(street), "%s %s", stem,
			 pick_str(r, kinds, N(kinds)));
	} else {
		snprintf(street, sizeof(street), "%s",
			 pick_str(r, c->streets, c->n_streets));
	}
	unsigned num = 1 + rng_below(r, rng_chance(r, 0.7) ? 60 : 250);
	switch (c->street_style) {
	case DG_NUM_STREET:
		if (iso_is(c->iso, "FR") && rng_chance(r, 0.05))
			snprintf(a->line1, sizeof(a->line1), "%u bis %s", num,
				 street);
		else if (anglo && rng_chance(r, 0.12))
			snprintf(a->line1, sizeof(a->line1), "%s %u%c, %u %s",
				 iso_is(c->iso, "GB") ? "Flat" : "Apt",
				 1 + rng_below(r, 12),
				 (char)('A' + rng_below(r, 4)), num, street);
		else
			snprintf(a->line1, sizeof(a->line1), "%u %s", num,
				 street);
		break;
	case DG_STREET_NUM:
		if (iso_is(c->iso, "ES") && rng_chance(r, 0.4))
			snprintf(a->line1, sizeof(a->line1), "%s %u, %uº %c",
				 street, num, 1 + rng_below(r, 8),
				 (char)('A' + rng_below(r, 4)));
		else
			snprintf(a->line1, sizeof(a->line1), "%s %u", street,
				 num);
		break;
	case DG_RU_STREET:
		snprintf(a->line1, sizeof(a->line1), "ul. %s, d. %u, kv. %u",
			 street, num, 1 + rng_below(r, 200));
		break;
	default:
		snprintf(a->line1, sizeof(a->line1), "%u-%u-%u %s",
			 1 + rng_below(r, 9), 1 + rng_below(r, 30),
			 1 + rng_below(r, 20), street);
		break;
	}
}

/** The person's name drawn from the built-in tables of its culture. */
static void pick_builtin_name(struct gen *g, struct person *p, bool given,
			      bool family)
{
	struct rng *r = &g->rng;
	const struct dg_culture *cu = &dg_cultures[p->culture];
	if (given) {
		const struct dg_name *n;
		do {
			n = &cu->given[dist_pick(&g->given[p->culture], r)];
		} while (n->gender != 'U' && n->gender != p->gender &&
			 p->gender != 'X');
		COPY(p->given, n->latin);
		COPY(p->given_nat, n->native ? n->native : "");
	}
	if (family) {
		const struct dg_name *n =
		    &cu->family[dist_pick(&g->family[p->culture], r)];
		snprintf(p->family, sizeof(p->family), "%s", n->latin);
		snprintf(p->family_nat, sizeof(p->family_nat), "%s",
			 n->native ? n->native : "");
		if (p->culture == DG_RU && p->gender == 'F') {
			strcat(p->family, "a");
			strcat(p->family_nat, "а");
		}
		if (p->culture == DG_ES && rng_chance(r, 0.5)) {
			n = &cu->family[dist_pick(&g->family[p->culture], r)];
			size_t l = strlen(p->family);
			snprintf(p->family + l, sizeof(p->family) - l, " %s",
				 n->latin);
		}
	}
}

static const char *nickname_of(const char *given)
{
	for (size_t i = 0; i < dg_n_nicknames; i++) {
		const struct dg_nickname *k = &dg_nicknames[i];
		if (k->formal[0] == given[0] && !strcmp(k->formal, given))
			return k->nick;
		if (k->nick[0] == given[0] && !strcmp(k->nick, given))
			return k->formal;
	}
	return NULL;
}

static void make_email(struct gen *g, const struct person *p, char *dst,
		       bool work)
{
	struct rng *r = &g->rng;
	char e[FCAP];
	size_t n = 0;
	switch (rng_below(r, work ? 3 : 8)) {
	case 0:
		n = email_word(e, n, p->given);
		n = fcatc(e, n, '.');
		n = email_word(e, n, p->family);
		break;
	case 1:
		n = email_word(e, n, p->given);
		n = email_word(e, n, p->family);
		break;
	case 2: /* initial + family name */
		n = email_word(e, n, p->given) ? 1 : 0;
		e[n] = 0;
		n = email_word(e, n, p->family);
		break;
	case 3:
		n = email_word(e, n, p->given);
		n = fcatc(e, n, '_');
		n = email_word(e, n, p->family);
		break;
	case 4:
		n = email_word(e, n, p->family);
		n = fcatc(e, n, '.');
		n = email_word(e, n, p->given);
		break;
	case 5:
		n = email_word(e, n, p->given);
		n = fcatc(e, n, '.');
		n = email_word(e, n, p->family);
		n = fcatu(e, n, (uint64_t)(p->by % 100), 2);
		break;
	case 6:
		n = email_word(e, n, p->given);
		n = fcatu(e, n, rng_below(r, 1000), 0);
		break;
	default: { /* family name + initial + digits */
		size_t f = email_word(e, n, p->family);
		n = email_word(e, f, p->given) > f ? f + 1 : f;
		e[n] = 0;
		n = fcatu(e, n, rng_below(r, 100), 2);
		break;
	}
	}
	if (n == 0)
		n = fcat(e, 0, "client");
	size_t local = n;
	n = fcatc(e, n, '@');
	const char *dom;
	if (work) {
		dom = pick_str(r, dg_work_domains, dg_n_work_domains);
	} else if (rng_chance(r, 0.1)) {
		dom = rng_chance(r, 0.7) ? "gmail.com" : "outlook.com";
	} else {
		const struct dg_country *c = &dg_countries[p->country];
		dom = c->domains[dist_pick(&g->domains[p->country], r)];
	}
	fcat(e, n, dom);
	int added;
	while ((added = hset_add(&g->emails, hash_str(e))) == 0) {
		char tail[FCAP];
		fset(tail, e + local);
		local = fcatu(e, local, rng_below(r, 100), 0);
		fcat(e, local, tail);
	}
	if (added < 0)
		g->oom = true;
	fset(dst, e);
}

/**
 * Draw a person. prev, when not NULL, is the previous person: with a
 * small probability this one joins its household (same address, shared
 * home phone or e-mail, often the same family name).
 */
static void make_person(struct gen *g, struct person *p, uint64_t id,
			const struct person *prev)
{
	struct rng *r = &g->rng;
	bool household = prev && rng_chance(r, 0.12);
	p->id = id;
	p->country = household ? prev->country : (int)dist_pick(&g->country, r);
	p->culture = dg_countries[p->country].culture;
	if (!household && rng_chance(r, 0.06)) /* expatriates */
		p->culture = (int)rng_below(r, DG_N_CULTURES);
	uint32_t gx = rng_below(r, 1000);
	p->gender = gx < 490 ? 'M' : gx < 990 ? 'F' : 'X';
	bool febrl = g->have_freq && p->culture <= DG_ES && rng_chance(r, 0.5);
	if (febrl) {
		size_t i = dist_pick(&g->f_given.dist, r);
		COPY(p->given, g->f_given.names[i]);
		if (p->gender != 'X')
			p->gender = g->f_given.gender[i];
		p->given_nat[0] = 0;
		COPY(p->family,
		     g->f_family.names[dist_pick(&g->f_family.dist, r)]);
		p->family_nat[0] = 0;
	} else {
		pick_builtin_name(g, p, true, true);
	}
	if (household && rng_chance(r, 0.7)) {
		p->culture = prev->culture;
		pick_builtin_name(g, p, !febrl, false);
		/* two members of one household do not share a given name
		 * (with the family name, e-mail and address they would be
		 * one person to anyone) */
		for (int tries = 0; tries < 8 && !strcmp(p->given, prev->given);
		     tries++)
			pick_builtin_name(g, p, true, false);
		memcpy(p->family, prev->family, sizeof(p->family));
		memcpy(p->family_nat, prev->family_nat, sizeof(p->family_nat));
		if (p->culture == DG_RU) { /* gendered family names */
			size_t l = strlen(p->family),
			       ln = strlen(p->family_nat);
			bool fem = l && p->family[l - 1] == 'a';
			if (fem && p->gender != 'F') {
				p->family[l - 1] = 0;
				p->family_nat[ln - 2] = 0;
			} else if (!fem && p->gender == 'F') {
				strcat(p->family, "a");
				strcat(p->family_nat, "а");
			}
		}
	}
	const char *nick = nickname_of(p->given);
	if (nick && rng_chance(r, 0.1))
		COPY(p->given, nick);
	/* whichever way the names were drawn, a household does not hold two
	 * persons of one full name */
	for (int tries = 0;
	     household && tries < 16 && !strcmp(p->given, prev->given) &&
	     !strcmp(p->family, prev->family);
	     tries++)
		pick_builtin_name(g, p, true, false);

	p->by = (int)rng_range(r, 1935, 2006);
	p->bm = (int)rng_range(r, 1, 12);
	static const int mdays[] = {31, 28, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31};
	int dim = mdays[p->bm - 1] + (p->bm == 2 && p->by % 4 == 0 &&
				      (p->by % 100 != 0 || p->by % 400 == 0));
	p->bd = (int)rng_range(r, 1, dim);

	p->n_email = 1;
	make_email(g, p, p->email[0], false);
	if (rng_chance(r, 0.3))
		make_email(g, p, p->email[p->n_email++], rng_chance(r, 0.5));

	if (household) {
		p->addr[0] = prev->moved ? prev->addr[1] : prev->addr[0];
	} else {
		make_addr(g, &p->addr[0], p->country);
	}
	p->moved = rng_chance(r, 0.2);
	if (p->moved) {
		int nc = rng_chance(r, 0.9) ? p->country
					    : (int)dist_pick(&g->country, r);
		do {
			make_addr(g, &p->addr[1], nc);
		} while (dg_countries[nc].n_cities > 1 &&
			 p->addr[1].city == p->addr[0].city &&
			 p->addr[1].country == p->addr[0].country);
		p->moved_at = rng_range(r, T2015 + 31536000000LL, T2025);
	}

	p->has_mobile = rng_chance(r, 0.9);
	if (p->has_mobile)
		make_phone(r, &p->mobile, p->country, 0, true);
	p->has_home = false;
	bool share_email = false;
	if (household) {
		if (prev->has_home) {
			p->has_home = true;
			p->home = prev->home;
			share_email = rng_chance(r, 0.3);
		} else {
			share_email = true;
		}
	} else if (rng_chance(r, 0.35)) {
		p->has_home = true;
		make_phone(r, &p->home, p->addr[0].country, p->addr[0].city,
			   false);
	}
	if (share_email)
		memcpy(p->email[0], prev->email[0], sizeof(p->email[0]));

	p->has_loyalty = rng_chance(r, 0.55);
	if (p->has_loyalty) {
		size_t n = fcat(p->loyalty, 0, "L");
		fcatu(p->loyalty, n, mix32((uint32_t)id ^ g->loyalty_salt), 10);
	}
	p->consent = rng_chance(r, 0.6);
}

/* ---- record writing --------------------------------------------------------
 */

/** Write the national number in groups: leading prefix, then the rest as
 *  the country's plan groups it. */
static size_t phone_groups(char *dst, size_t n, const struct phone *ph,
			   char sep, bool skip_first)
{
	const struct dg_country *c = &dg_countries[ph->country];
	const char *d = ph->nsn;
	size_t len = strlen(d), rest = len - ph->plen;
	const char *grp =
	    rest >= 6 && rest <= 8 ? c->rest_groups[rest - 6] : "";
	if (!skip_first) {
		for (size_t i = 0; i < ph->plen; i++)
			n = fcatc(dst, n, d[i]);
		n = fcatc(dst, n, sep);
	}
	d += ph->plen;
	if (*grp == 0) {
		return fcat(dst, n, d);
	}
	for (const char *gp = grp; *gp; gp++) {
		for (int i = 0; i < *gp - '0' && *d; i++)
			n = fcatc(dst, n, *d++);
		if (gp[1])
			n = fcatc(dst, n, sep);
	}
	return fcat(dst, n, d);
}

static void format_phone(struct rng *r, char *dst, const struct phone *ph,
			 int style)
{
	const struct dg_country *c = &dg_countries[ph->country];
	const char *trunk = ph->mobile && !c->mobile_trunk ? "" : c->trunk;
	bool us = iso_is(c->iso, "US"), ru = iso_is(c->iso, "RU");
	size_t n = 0;
	dst[0] = 0;
	switch (style) {
	case PH_NAT:
		if (us && rng_chance(r, 0.6)) {
			n = fcatc(dst, n, '(');
			for (int i = 0; i < 3; i++)
				n = fcatc(dst, n, ph->nsn[i]);
			n = fcat(dst, n, ") ");
			phone_groups(dst, n, ph, '-', true);
		} else if (ru) {
			n = fcat(dst, n, "8 (");
			for (int i = 0; i < ph->plen; i++)
				n = fcatc(dst, n, ph->nsn[i]);
			n = fcat(dst, n, ") ");
			phone_groups(dst, n, ph, '-', true);
		} else {
			char sep = c->sep;
			if (iso_is(c->iso, "FR") && rng_chance(r, 0.2))
				sep = '.';
			n = fcat(dst, n, us ? "" : trunk);
			phone_groups(dst, n, ph, sep, false);
		}
		break;
	case PH_COMPACT:
		n = fcat(dst, n, us ? "" : trunk);
		fcat(dst, n, ph->nsn);
		break;
	case PH_INTL:
		n = fcatc(dst, n, '+');
		n = fcat(dst, n, c->cc);
		n = fcatc(dst, n, ' ');
		phone_groups(dst, n, ph, c->sep, false);
		break;
	case PH_E164:
		n = fcatc(dst, n, '+');
		n = fcat(dst, n, c->cc);
		fcat(dst, n, ph->nsn);
		break;
	default:
		n = fcat(dst, n, "00");
		n = fcat(dst, n, c->cc);
		fcat(dst, n, ph->nsn);
		break;
	}
}

static int pick_weighted(struct rng *r, const unsigned *w, int n)
{
	unsigned total = 0;
	for (int i = 0; i < n; i++)
		total += w[i];
	uint32_t x = rng_below(r, total);
	for (int i = 0; i < n; i++) {
		if (x < w[i])
			return i;
		x -= w[i];
	}
	return n - 1;
}

/** Write an e-mail the way a source holds it: case, gmail dots, +tags. */
static void email_variant(struct gen *g, const struct source *s, char *dst,
			  const char *email, bool dup)
{
	struct rng *r = &g->rng;
	fset(dst, email);
	char *at = strchr(dst, '@');
	if (at == NULL)
		return;
	if (dup && !strcmp(at + 1, "gmail.com") && rng_chance(r, 0.15)) {
		char *dot = strchr(dst, '.');
		if (dot && dot < at && rng_chance(r, 0.6)) {
			char *w = dst;
			for (char *p = dst; *p; p++)
				if (*p != '.' || p > at)
					*w++ = *p;
			*w = 0;
		} else if (at - dst > 2 && strlen(dst) + 1 < FCAP) {
			size_t i = 1 + rng_below(r, (uint32_t)(at - dst - 1));
			if (dst[i] != '.' && dst[i - 1] != '.') {
				memmove(dst + i + 1, dst + i,
					strlen(dst + i) + 1);
				dst[i] = '.';
			}
		}
		at = strchr(dst, '@');
	}
	if (rng_chance(r, s->tag)) {
		static const char *const tags[] = {"+shop", "+promo", "+news",
						   "+fidelite", "+1"};
		char tail[FCAP];
		fset(tail, at);
		size_t n = (size_t)(at - dst);
		n = fcat(dst, n, pick_str(r, tags, N(tags)));
		fcat(dst, n, tail);
		at = strchr(dst, '@');
	}
	if (dup && rng_chance(r, g->opt.typo_rate))
		typo(r, dst, (size_t)(at - dst));
	if (rng_chance(r, s->email_case)) {
		if (rng_chance(r, 0.5)) {
			to_upper(dst);
		} else {
			for (char *p = dst; *p; p++)
				if (p == dst || p[-1] == '.' || p[-1] == '@')
					upper_at((unsigned char *)p);
		}
	}
}

static void apply_case(struct rng *r, const struct source *s, char *given,
		       char *family)
{
	double x = (double)(rng_next(r) >> 11) * 0x1p-53;
	if (x < s->upper) {
		to_upper(given);
		to_upper(family);
	} else if (x < s->upper + s->lower) {
		/* stored lower case already */
	} else if (x < s->upper + s->lower + s->family_upper) {
		to_title(given);
		to_upper(family);
	} else {
		to_title(given);
		to_title(family);
	}
}

static size_t pick_source(struct gen *g, const struct person *p)
{
	const uint32_t *cum = g->source_cum[p->country];
	uint32_t x = rng_below(&g->rng, cum[N_SOURCES - 1]);
	size_t i = 0;
	while (x >= cum[i])
		i++;
	return i;
}

/** Fill rec with the k-th source record of person p. */
static void make_record(struct gen *g, const struct person *p, int k,
			struct rec *rec)
{
	struct rng *r = &g->rng;
	size_t si = pick_source(g, p);
	const struct source *s = &sources[si];
	bool dup = k > 0;
	double typo_rate = g->opt.typo_rate;

	size_t n = fcat(rec->f[F_SOURCE_ID], 0, s->id_prefix);
	fcatu(rec->f[F_SOURCE_ID], n,
	      mix32(g->id_counter[si]++ + g->id_salt[si]), 10);
	fset(rec->f[F_SOURCE], s->name);
	int64_t t = rng_range(r, s->t_lo, s->t_hi);
	fcatu(rec->f[F_UPDATED], 0, (uint64_t)t, 0);

	/* names */
	bool native = (p->culture == DG_RU || p->culture == DG_CN ||
		       p->culture == DG_KR) &&
		      p->given_nat[0] && p->family_nat[0] &&
		      rng_chance(r, g->opt.scripts_rate);
	char *gv = rec->f[F_GIVEN], *fm = rec->f[F_FAMILY];
	if (native) {
		fset(gv, p->given_nat);
		fset(fm, p->family_nat);
		if (p->culture == DG_RU && rng_chance(r, s->upper))
			to_upper(fm);
	} else {
		const char *nick = NULL;
		if (dup && rng_chance(r, s->nick))
			nick = nickname_of(p->given);
		fset(gv, nick ? nick : p->given);
		fset(fm, p->family);
		if (rng_chance(r, s->fold)) {
			fold_ascii(gv);
			fold_ascii(fm);
		}
		if (dup && rng_chance(r, typo_rate))
			typo(r, gv, FCAP);
		if (dup && rng_chance(r, typo_rate))
			typo(r, fm, FCAP);
		apply_case(r, s, gv, fm);
	}
	if (dup && rng_chance(r, 0.03)) {
		char t2[FCAP];
		memcpy(t2, gv, FCAP);
		memcpy(gv, fm, FCAP);
		memcpy(fm, t2, FCAP);
	}
	if (rng_chance(r, s->no_given))
		gv[0] = 0;
	if (rng_chance(r, s->no_family))
		fm[0] = 0;

	/* birth date */
	if (!rng_chance(r, s->no_birth)) {
		char *b = rec->f[F_BIRTH];
		n = fcatu(b, 0, (uint64_t)p->by, 4);
		if (!rng_chance(r, s->year_only)) {
			int m = p->bm, d = p->bd;
			if (dup && d <= 12 && d != m && rng_chance(r, 0.05)) {
				m = p->bd;
				d = p->bm;
			}
			n = fcatc(b, n, '-');
			n = fcatu(b, n, (uint64_t)m, 2);
			n = fcatc(b, n, '-');
			fcatu(b, n, (uint64_t)d, 2);
		}
	}
	if (!rng_chance(r, s->no_gender) && p->gender)
		fcatc(rec->f[F_GENDER], 0, p->gender);

	/* e-mails */
	bool ph_email = rng_chance(r, s->placeholder);
	bool ph_phone = ph_email && rng_chance(r, 0.5);
	ph_email = ph_email && !ph_phone;
	if (ph_email) {
		fset(rec->f[F_EMAIL], "noemail@shop.com");
	} else if (!rng_chance(r, s->no_email)) {
		int which = p->n_email > 1 && rng_chance(r, 0.25);
		email_variant(g, s, rec->f[F_EMAIL], p->email[which], dup);
		if (p->n_email > 1 && rng_chance(r, s->email2))
			email_variant(g, s, rec->f[F_EMAIL2], p->email[!which],
				      dup);
	}

	/* phones */
	const char *iso = dg_countries[p->country].iso;
	bool local = s->home == NULL || iso_is(s->home, iso);
	const unsigned *styles = local ? s->style : s->style_foreign;
	if (ph_phone) {
		fset(rec->f[F_PHONE], "0000000000");
	} else if ((p->has_mobile || p->has_home) &&
		   !rng_chance(r, s->no_phone)) {
		const struct phone *a = p->has_mobile ? &p->mobile : &p->home;
		const struct phone *b =
		    p->has_mobile && p->has_home ? &p->home : NULL;
		if (b && rng_chance(r, 0.3)) {
			const struct phone *t2 = a;
			a = b;
			b = t2;
		}
		format_phone(r, rec->f[F_PHONE], a,
			     pick_weighted(r, styles, PH_N));
		if (b && rng_chance(r, s->phone2))
			format_phone(r, rec->f[F_PHONE2], b,
				     pick_weighted(r, styles, PH_N));
	}

	/* address: the one valid at the record's time */
	if (!rng_chance(r, s->no_addr)) {
		const struct addr *ad =
		    p->moved && t >= p->moved_at ? &p->addr[1] : &p->addr[0];
		const struct dg_country *c = &dg_countries[ad->country];
		char *l1 = rec->f[F_ADDR], *city = rec->f[F_CITY];
		fset(l1, ad->line1);
		fset(city, c->cities[ad->city].name);
		if (rng_chance(r, 0.3)) {
			for (size_t i = 0; i < dg_n_abbrevs; i++)
				if (iso_is(dg_abbrevs[i].iso, c->iso) &&
				    replace_once(l1, dg_abbrevs[i].full,
						 dg_abbrevs[i].abbr))
					break;
		}
		if (dup && rng_chance(r, typo_rate))
			typo(r, l1, FCAP);
		if (dup && rng_chance(r, typo_rate / 2))
			typo(r, city, FCAP);
		if (rng_chance(r, s->fold)) {
			fold_ascii(l1);
			fold_ascii(city);
		}
		if (rng_chance(r, s->upper)) {
			to_upper(l1);
			to_upper(city);
		}
		char *pc = rec->f[F_POSTCODE];
		fset(pc, ad->postcode);
		if (dup && rng_chance(r, typo_rate / 4)) {
			size_t l = strlen(pc);
			size_t i = rng_below(r, (uint32_t)l);
			if (pc[i] >= '0' && pc[i] <= '9')
				pc[i] = (char)('0' + rng_below(r, 10));
		}
		if (!rng_chance(r, s->no_country))
			fset(rec->f[F_COUNTRY], c->iso);
	} else if (rng_chance(r, 0.5)) {
		fset(rec->f[F_COUNTRY], iso);
	}

	if (p->has_loyalty && rng_chance(r, s->loyalty))
		fset(rec->f[F_LOYALTY], p->loyalty);
	if (rng_chance(r, s->consent)) {
		bool c = rng_chance(r, 0.85) ? p->consent : !p->consent;
		fset(rec->f[F_CONSENT], c ? "granted" : "revoked");
	}
	n = fcatc(rec->f[F_PERSON], 0, 'P');
	fcatu(rec->f[F_PERSON], n, p->id, 9);
}

/* ---- serialisation ---------------------------------------------------------
 */

static char *csv_field(char *o, const char *s)
{
	char *start = o;
	for (const char *p = s; *p; p++) {
		if (*p == ',' || *p == '"' || *p == '\n' || *p == '\r') {
			o = start;
			*o++ = '"';
			for (; *s; s++) {
				if (*s == '"')
					*o++ = '"';
				*o++ = *s;
			}
			*o++ = '"';
			return o;
		}
		*o++ = *p;
	}
	return o;
}

static char *json_string(char *o, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	*o++ = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			*o++ = '\\';
			*o++ = (char)*p;
		} else if (*p < 0x20) {
			memcpy(o, "\\u00", 4);
			o[4] = hex[*p >> 4];
			o[5] = hex[*p & 15];
			o += 6;
		} else {
			*o++ = (char)*p;
		}
	}
	*o++ = '"';
	return o;
}

/** Serialise rec at o (room for MAX_RECORD_BYTES); returns the end. */
static char *serialise(const struct options *opt, const struct rec *rec,
		       char *o)
{
	if (!opt->jsonl) {
		for (int i = 0; i < NF; i++) {
			if (i)
				*o++ = ',';
			o = csv_field(o, rec->f[i]);
		}
		*o++ = '\n';
		return o;
	}
	*o++ = '{';
	for (int i = 0; i < NF; i++) {
		if (i)
			*o++ = ',';
		o = json_string(o, field_names[i]);
		*o++ = ':';
		if (rec->f[i][0] == 0) {
			memcpy(o, "null", 4);
			o += 4;
		} else if (i == F_UPDATED) {
			size_t n = strlen(rec->f[i]);
			memcpy(o, rec->f[i], n);
			o += n;
		} else {
			o = json_string(o, rec->f[i]);
		}
	}
	*o++ = '}';
	*o++ = '\n';
	return o;
}

static void out_write(struct gen *g, const char *p, size_t n)
{
	if (g->out_len + n > OUTBUF) {
		if (fwrite(g->out, 1, g->out_len, g->fp) != g->out_len)
			g->io_error = true;
		g->out_len = 0;
	}
	if (n > OUTBUF) {
		if (fwrite(p, 1, n, g->fp) != n)
			g->io_error = true;
		return;
	}
	memcpy(g->out + g->out_len, p, n);
	g->out_len += n;
}

/** Write the chunk's records in shuffled order and empty it. */
static void flush_chunk(struct gen *g)
{
	if (!g->opt.ordered) {
		for (size_t i = g->n_lines; i > 1; i--) {
			size_t j = rng_below(&g->shuffle, (uint32_t)i);
			uint64_t t = g->lines[i - 1];
			g->lines[i - 1] = g->lines[j];
			g->lines[j] = t;
		}
	}
	for (size_t i = 0; i < g->n_lines; i++)
		out_write(g, g->arena + (g->lines[i] >> 24),
			  (size_t)(g->lines[i] & 0xffffff));
	g->n_lines = 0;
	g->arena_len = 0;
}

static int add_record(struct gen *g, const struct rec *rec)
{
	if (g->arena_cap - g->arena_len < MAX_RECORD_BYTES) {
		size_t cap = g->arena_cap ? g->arena_cap * 2 : 1 << 23;
		char *a = realloc(g->arena, cap);
		if (a == NULL)
			return -1;
		g->arena = a;
		g->arena_cap = cap;
	}
	if (g->n_lines == g->cap_lines) {
		size_t cap =
		    g->cap_lines ? g->cap_lines * 2 : CHUNK_RECORDS + 8;
		uint64_t *l = realloc(g->lines, cap * sizeof(*l));
		if (l == NULL)
			return -1;
		g->lines = l;
		g->cap_lines = cap;
	}
	char *start = g->arena + g->arena_len;
	char *end = serialise(&g->opt, rec, start);
	size_t len = (size_t)(end - start);
	g->lines[g->n_lines++] = (uint64_t)g->arena_len << 24 | len;
	g->arena_len += len;
	g->records++;
	return 0;
}

/** Records per person: 40 % one, then 2..5 with falling frequency. */
static int record_count(struct rng *r)
{
	uint32_t x = rng_below(r, 100);
	return x < 40 ? 1 : x < 65 ? 2 : x < 82 ? 3 : x < 93 ? 4 : 5;
}

static int generate(struct gen *g)
{
	static struct person pp[2];
	struct rec rec;
	if (!g->opt.jsonl) {
		for (int i = 0; i < NF; i++) {
			if (i)
				out_write(g, ",", 1);
			out_write(g, field_names[i], strlen(field_names[i]));
		}
		out_write(g, "\n", 1);
	}
	for (uint64_t i = 0; i < g->opt.persons; i++) {
		struct person *p = &pp[i & 1];
		make_person(g, p, i + 1, i ? &pp[(i + 1) & 1] : NULL);
		int k = record_count(&g->rng);
		for (int j = 0; j < k; j++) {
			for (int f = 0; f < NF; f++)
				rec.f[f][0] = 0;
			make_record(g, p, j, &rec);
			if (add_record(g, &rec) < 0)
				return -1;
		}
		if (g->oom)
			return -1;
		if (g->n_lines >= CHUNK_RECORDS)
			flush_chunk(g);
	}
	flush_chunk(g);
	if (g->out_len && fwrite(g->out, 1, g->out_len, g->fp) != g->out_len)
		g->io_error = true;
	g->out_len = 0;
	return 0;
}

/* ---- command line ----------------------------------------------------------
 */

static void usage(FILE *fp)
{
	fputs(
	    "usage: reconnu-datagen --persons N [options]\n"
	    "\n"
	    "Generate realistic multi-source customer records with ground "
	    "truth\n"
	    "(column person_id). Same seed and options give byte-identical "
	    "output.\n"
	    "\n"
	    "  --persons N        number of persons (each yields 1..5 "
	    "records)\n"
	    "  --seed S           PRNG seed, unsigned 64-bit (default 1)\n"
	    "  --format F         csv (RFC 4180, default) or jsonl\n"
	    "  --out FILE         write to FILE instead of stdout\n"
	    "  --scripts-rate R   share of RU/CN/KR records written in "
	    "Cyrillic,\n"
	    "                     Han or Hangul (default 0.05)\n"
	    "  --typo-rate R      per-field typo probability in duplicate\n"
	    "                     records (default 0.05)\n"
	    "  --freq-dir DIR     Febrl tables givenname-freq.csv, "
	    "surname-freq.csv,\n"
	    "                     suburb-freq.csv: half of the Western persons "
	    "take\n"
	    "                     their names from them, GB/US streets their "
	    "stems\n"
	    "  --ordered          keep each person's records adjacent (no "
	    "shuffle)\n"
	    "  --help             this text\n"
	    "\n"
	    "Columns: source, source_id, given_name, family_name, birth_date,\n"
	    "gender, email, email2, phone, phone2, address_line1, city, "
	    "postcode,\n"
	    "country, loyalty_id, updated_at, consent_email, person_id.\n"
	    "Sources: eshop, pos-paris, pos-london, clienteling, crm-export,\n"
	    "marketing. Exit status: 0 ok, 1 runtime error, 2 usage error.\n",
	    fp);
}

static int usage_error(const char *fmt, const char *arg)
{
	fputs("reconnu-datagen: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nTry 'reconnu-datagen --help'.\n", stderr);
	return EXIT_USAGE;
}

static bool parse_u64(const char *s, uint64_t *v)
{
	if (*s < '0' || *s > '9')
		return false;
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*v = x;
	return true;
}

static bool parse_rate(const char *s, double *v)
{
	char *end;
	errno = 0;
	double x = strtod(s, &end);
	if (errno || *end || end == s || !(x >= 0.0 && x <= 1.0))
		return false;
	*v = x;
	return true;
}

/** Parse argv into opt; returns -1 on success, else an exit status. */
static int parse_args(int argc, char **argv, struct options *opt)
{
	bool have_persons = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(a, "--ordered")) {
			opt->ordered = true;
			continue;
		}
		static const char *const with_value[] = {
		    "--persons",  "--seed",	    "--format",	   "--out",
		    "--freq-dir", "--scripts-rate", "--typo-rate",
		};
		const char *val = NULL;
		size_t k;
		for (k = 0; k < N(with_value); k++) {
			size_t l = strlen(with_value[k]);
			if (!strncmp(a, with_value[k], l) &&
			    (a[l] == 0 || a[l] == '=')) {
				if (a[l] == '=')
					val = a + l + 1;
				else if (i + 1 < argc)
					val = argv[++i];
				else
					return usage_error("%s needs a value",
							   a);
				break;
			}
		}
		if (k == N(with_value))
			return usage_error("unknown argument '%s'", a);
		switch (k) {
		case 0:
			if (!parse_u64(val, &opt->persons) ||
			    opt->persons > 400000000ULL)
				return usage_error("bad --persons '%s'", val);
			have_persons = true;
			break;
		case 1:
			if (!parse_u64(val, &opt->seed))
				return usage_error("bad --seed '%s'", val);
			break;
		case 2:
			if (!strcmp(val, "csv"))
				opt->jsonl = false;
			else if (!strcmp(val, "jsonl"))
				opt->jsonl = true;
			else
				return usage_error(
				    "bad --format '%s' (csv or jsonl)", val);
			break;
		case 3:
			opt->out = val;
			break;
		case 4:
			opt->freq_dir = val;
			break;
		case 5:
			if (!parse_rate(val, &opt->scripts_rate))
				return usage_error("bad --scripts-rate '%s' "
						   "(0..1)",
						   val);
			break;
		default:
			if (!parse_rate(val, &opt->typo_rate))
				return usage_error(
				    "bad --typo-rate '%s' (0..1)", val);
			break;
		}
	}
	if (!have_persons)
		return usage_error("%s", "--persons is required");
	return -1;
}

static int gen_init(struct gen *g)
{
	rng_seed(&g->rng, g->opt.seed);
	rng_seed(&g->shuffle, g->opt.seed ^ 0x53485546464c45ULL);
	for (size_t i = 0; i < N_SOURCES; i++)
		g->id_salt[i] = (uint32_t)rng_next(&g->rng);
	g->loyalty_salt = (uint32_t)rng_next(&g->rng);
	for (int c = 0; c < DG_N_CULTURES; c++)
		if (dist_init_rank(&g->given[c], dg_cultures[c].n_given) ||
		    dist_init_rank(&g->family[c], dg_cultures[c].n_family))
			return -1;
	if (dg_n_countries > N(g->domains) || dg_n_countries > N(g->source_cum))
		return -1;
	g->country.cum = malloc(dg_n_countries * sizeof(uint64_t));
	if (g->country.cum == NULL)
		return -1;
	g->country.n = dg_n_countries;
	uint64_t acc = 0;
	for (size_t i = 0; i < dg_n_countries; i++) {
		acc += dg_countries[i].weight;
		g->country.cum[i] = acc;
		if (dist_init_rank(&g->domains[i], dg_countries[i].n_domains))
			return -1;
		uint32_t sum = 0;
		for (size_t k = 0; k < N_SOURCES; k++) {
			uint32_t w = sources[k].weight * 4;
			if (sources[k].home)
				w = iso_is(sources[k].home, dg_countries[i].iso)
					? w * 3
					: w / 4;
			sum += w;
			g->source_cum[i][k] = sum;
		}
	}
	if (g->opt.freq_dir) {
		if (freq_load(&g->f_given, g->opt.freq_dir,
			      "givenname-freq.csv", true) ||
		    freq_load(&g->f_family, g->opt.freq_dir, "surname-freq.csv",
			      false) ||
		    freq_load(&g->f_suburb, g->opt.freq_dir, "suburb-freq.csv",
			      false))
			return -1;
		g->have_freq = true;
	}
	g->out = malloc(OUTBUF);
	return g->out ? 0 : -1;
}

static void gen_free(struct gen *g)
{
	for (int c = 0; c < DG_N_CULTURES; c++) {
		free(g->given[c].cum);
		free(g->family[c].cum);
	}
	for (size_t i = 0; i < N(g->domains); i++)
		free(g->domains[i].cum);
	free(g->country.cum);
	freq_free(&g->f_given);
	freq_free(&g->f_family);
	freq_free(&g->f_suburb);
	free(g->arena);
	free(g->lines);
	free(g->out);
	free(g->emails.slot);
}

int main(int argc, char **argv)
{
	static struct gen g;
	g.opt.seed = 1;
	g.opt.scripts_rate = 0.05;
	g.opt.typo_rate = 0.05;
	int rc = parse_args(argc, argv, &g.opt);
	if (rc >= 0)
		return rc;
	rc = 1;
	g.fp = stdout;
	if (gen_init(&g) < 0) {
		fputs("reconnu-datagen: initialisation failed\n", stderr);
		goto fail;
	}
	if (g.opt.out && (g.fp = fopen(g.opt.out, "wb")) == NULL) {
		fprintf(stderr, "reconnu-datagen: cannot open %s: %s\n",
			g.opt.out, strerror(errno));
		goto fail;
	}
	if (generate(&g) < 0) {
		fputs("reconnu-datagen: out of memory\n", stderr);
		goto fail;
	}
	if (g.fp != stdout ? fclose(g.fp) != 0 : fflush(g.fp) != 0)
		g.io_error = true;
	g.fp = NULL;
	if (g.io_error) {
		fprintf(stderr, "reconnu-datagen: write error: %s\n",
			strerror(errno));
		goto fail;
	}
	rc = 0;
fail:
	if (g.fp && g.fp != stdout)
		fclose(g.fp);
	gen_free(&g);
	return rc;
}
