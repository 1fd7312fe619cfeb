/*
 * norm — canonical forms of typed values. See norm.h for the contract.
 *
 * Text folding (norm_name, norm_text) runs in two stages. Non-ASCII input
 * is validated, converted to UTF-16, NFKC-case-folded (ß → ss, ligatures
 * and full-width forms split), Hangul syllables are spaced apart, and one
 * rule-based ICU transliterator rewrites it to Latin ASCII:
 *
 *   ::Russian-Latin/BGN;  Cyrillic by BGN/PCGN: щ → shch, ю → yu, е → ye
 *   ::Any-Latin;          every other script (Han → pinyin with tone
 *                         marks, one syllable per word; Hangul by
 *                         jamo: 김 → gim, then a lone syllable (a family
 *                         name) takes the customary spelling: kim;
 *                         Greek, Arabic/Hebrew consonants)
 *   [·ʹʺʻʼʽʾʿ] > ;        transliteration marks (soft/hard sign, ʿayin,
 *                         BGN's t·s) would otherwise become ' or "
 *   ::Latin-ASCII;        strip diacritics: ø → o, ł → l, æ → ae
 *
 * Both ASCII input and the transliterator's output then pass through one
 * ASCII fold: letters lowercased, apostrophes dropped, everything else a
 * single space. Digits survive only in norm_text.
 *
 * ICU transliterators keep per-call state, so each thread gets its own
 * clone of the one compiled at init (pthread key, closed at thread exit).
 * The normaliser, the IDNA instance and the case map are immutable and
 * shared.
 */
#include "norm.h"

#include <ctype.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <unicode/ucasemap.h>
#include <unicode/uidna.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utrans.h>
#include <xxhash.h>

#include "norm_data.h"

/* ---- ICU state ------------------------------------------------------- */

static const char norm_rules[] = "::Russian-Latin/BGN; ::Any-Latin; "
				 "[\\u00B7\\u02B9-\\u02BF] > ; ::Latin-ASCII;";

static struct {
	pthread_once_t once;
	int status;
	UTransliterator *master; /**< compiled rules, only ever cloned */
	pthread_mutex_t clone_lock;
	pthread_key_t clone_key; /**< this thread's UTransliterator clone */
	const UNormalizer2 *nfkc_cf;
	UIDNA *idna;
	UCaseMap *lower;
} icu = {
    PTHREAD_ONCE_INIT, 0, NULL, PTHREAD_MUTEX_INITIALIZER, 0, NULL, NULL, NULL};

static void icu_close_clone(void *t)
{
	utrans_close(t);
}

static void icu_init_once(void)
{
	UErrorCode e = U_ZERO_ERROR;
	UParseError pe;
	UChar rules[sizeof(norm_rules)];
	u_charsToUChars(norm_rules, rules, (int32_t)sizeof(norm_rules));
	icu.nfkc_cf = unorm2_getNFKCCasefoldInstance(&e);
	icu.master = utrans_openU(u"Reconnu-Latin", -1, UTRANS_FORWARD, rules,
				  -1, &pe, &e);
	icu.idna = uidna_openUTS46(UIDNA_NONTRANSITIONAL_TO_ASCII, &e);
	icu.lower = ucasemap_open("", 0, &e);
	if (U_FAILURE(e)) {
		icu.status =
		    e == U_MEMORY_ALLOCATION_ERROR ? NORM_ENOMEM : NORM_EINVAL;
		return;
	}
	if (pthread_key_create(&icu.clone_key, icu_close_clone))
		icu.status = NORM_ENOMEM;
}

int norm_global_init(void)
{
	pthread_once(&icu.once, icu_init_once);
	return icu.status;
}

/* This thread's transliterator, cloned on first use. */
static UTransliterator *icu_trans(void)
{
	UTransliterator *t = pthread_getspecific(icu.clone_key);
	if (t)
		return t;
	UErrorCode e = U_ZERO_ERROR;
	pthread_mutex_lock(&icu.clone_lock);
	t = utrans_clone(icu.master, &e);
	pthread_mutex_unlock(&icu.clone_lock);
	if (U_FAILURE(e))
		return NULL;
	if (pthread_setspecific(icu.clone_key, t)) {
		utrans_close(t);
		return NULL;
	}
	return t;
}

/* ---- UTF-8 ----------------------------------------------------------- */

bool norm_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end = p + len;
	while (p < end) {
		unsigned c = *p++;
		if (c < 0x80) {
			if (!c)
				return false;
			continue;
		}
		unsigned lo = 0x80, hi = 0xBF;
		int more;
		if (c >= 0xC2 && c <= 0xDF) {
			more = 1;
		} else if (c >= 0xE0 && c <= 0xEF) {
			more = 2;
			if (c == 0xE0)
				lo = 0xA0; /* overlong */
			else if (c == 0xED)
				hi = 0x9F; /* surrogates */
		} else if (c >= 0xF0 && c <= 0xF4) {
			more = 3;
			if (c == 0xF0)
				lo = 0x90; /* overlong */
			else if (c == 0xF4)
				hi = 0x8F; /* above U+10FFFF */
		} else {
			return false; /* continuation, C0/C1 overlong, F5.. */
		}
		if (end - p < more || *p < lo || *p > hi)
			return false;
		for (p++; --more > 0; p++)
			if ((*p & 0xC0) != 0x80)
				return false;
	}
	return true;
}

static bool is_ascii(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

/* ---- ASCII fold ------------------------------------------------------- */

/* Output being built by the fold: words separated by one space. */
struct fold {
	char *out;
	size_t cap, len;
	bool digits; /**< keep digits (norm_text) */
	bool gap;    /**< a separator is pending */
	bool full;   /**< out overflowed */
};

static void fold_char(struct fold *f, unsigned c)
{
	if (c == '\'' || c == '`' || c == 0x2018 || c == 0x2019 ||
	    c == 0x00B4 || (c >= 0x02B9 && c <= 0x02BF) || c == 0x00B7)
		return;
	bool keep = (c < 0x80 && isalpha((int)c)) ||
		    (f->digits && c >= '0' && c <= '9');
	if (!keep) {
		f->gap = true;
		return;
	}
	if (f->len + 1 + (f->gap && f->len) >= f->cap) {
		f->full = true;
		return;
	}
	if (f->gap && f->len)
		f->out[f->len++] = ' ';
	f->gap = false;
	f->out[f->len++] = (char)tolower((int)c);
}

static int fold_end(struct fold *f)
{
	if (f->full)
		return NORM_ERANGE;
	if (!f->len)
		return NORM_EEMPTY;
	f->out[f->len] = 0;
	return (int)f->len;
}

static bool is_hangul(UChar c)
{
	return c >= 0xAC00 && c <= 0xD7A3;
}

/*
 * Korean family names. ICU romanises Hangul by jamo, close to the Revised
 * Romanization (김 → gim, 박 → bag, 이 → i), while people write their
 * names in Latin letters the customary way (Kim, Park, Lee). A text that
 * is one Hangul syllable — a family name field — takes the customary
 * spelling of the common surnames, so that 김 and "Kim" agree.
 */
static const char *const korean_surnames[][2] = {
    {"gim", "kim"},    {"i", "lee"},      {"bag", "park"},
    {"choe", "choi"},  {"jeong", "jung"}, {"gang", "kang"},
    {"jo", "cho"},     {"yun", "yoon"},   {"im", "lim"},
    {"o", "oh"},       {"sin", "shin"},   {"gwon", "kwon"},
    {"an", "ahn"},     {"go", "ko"},      {"mun", "moon"},
    {"baeg", "baek"},  {"sim", "shim"},   {"no", "noh"},
    {"gwag", "kwak"},  {"seong", "sung"}, {"ju", "joo"},
    {"u", "woo"},      {"gu", "koo"},     {"yu", "yoo"},
};

static void korean_surname(struct fold *f)
{
	for (size_t i = 0;
	     i < sizeof(korean_surnames) / sizeof(*korean_surnames); i++) {
		const char *rr = korean_surnames[i][0], *cu = korean_surnames[i][1];
		if (f->len != strlen(rr) || memcmp(f->out, rr, f->len))
			continue;
		size_t n = strlen(cu);
		if (n < f->cap) {
			memcpy(f->out, cu, n);
			f->len = n;
		}
		return;
	}
}

/*
 * Non-ASCII text through ICU into the fold: UTF-16, NFKC case fold,
 * Hangul syllables spaced, transliterated. Buffers are sized from the
 * normalised length and doubled when transliteration needs more (one Han
 * character becomes up to seven letters).
 */
static int fold_icu(struct fold *f, const char *in, size_t len)
{
	int rc = norm_global_init();
	if (rc)
		return rc;
	UTransliterator *t = icu_trans();
	if (!t)
		return NORM_ENOMEM;
	if (len > INT32_MAX / 64)
		return NORM_ERANGE;
	int32_t n = (int32_t)len, m = 2 * n + 16, cap = 0;
	UChar *u = malloc(sizeof(UChar) * (size_t)(n + 1)), *b = NULL,
	      *x = NULL;
	UErrorCode e = U_ZERO_ERROR;
	rc = NORM_ENOMEM;
	if (!u)
		goto out;
	u_strFromUTF8(u, n + 1, &n, in, (int32_t)len, &e);
	for (int32_t want = m;;) {
		UChar *nb = realloc(b, sizeof(UChar) * (size_t)want);
		if (!nb)
			goto out;
		b = nb;
		e = U_ZERO_ERROR;
		m = unorm2_normalize(icu.nfkc_cf, u, n, b, want, &e);
		if (e != U_BUFFER_OVERFLOW_ERROR)
			break;
		want = m;
	}
	if (U_FAILURE(e)) {
		rc = NORM_EINVAL;
		goto out;
	}
	for (cap = 8 * m + 64;; cap *= 2) {
		free(x);
		x = malloc(sizeof(UChar) * (size_t)cap);
		if (!x)
			goto out;
		int32_t k = 0;
		for (int32_t i = 0; i < m; i++) {
			x[k++] = b[i];
			if (is_hangul(b[i]) && i + 1 < m && is_hangul(b[i + 1]))
				x[k++] = ' ';
		}
		int32_t lim = k;
		e = U_ZERO_ERROR;
		utrans_transUChars(t, x, &k, cap, 0, &lim, &e);
		if (e == U_BUFFER_OVERFLOW_ERROR && cap < INT32_MAX / 4)
			continue;
		if (U_FAILURE(e)) {
			rc = NORM_EINVAL;
			goto out;
		}
		size_t start = f->len;
		for (int32_t i = 0; i < k; i++)
			fold_char(f, x[i]);
		if (start == 0 && m == 1 && is_hangul(b[0]) && !f->full)
			korean_surname(f);
		break;
	}
	rc = 0;
out:
	free(u);
	free(b);
	free(x);
	return rc;
}

static int fold_text(const char *in, bool digits, char *out, size_t cap)
{
	if (!in || !out || !cap)
		return NORM_EINVAL;
	struct fold f = {out, cap, 0, digits, false, false};
	size_t len = strlen(in);
	if (is_ascii(in, len)) {
		for (size_t i = 0; i < len; i++)
			fold_char(&f, (unsigned char)in[i]);
	} else {
		if (!norm_utf8_valid(in, len))
			return NORM_EINVAL;
		int rc = fold_icu(&f, in, len);
		if (rc)
			return rc;
	}
	return fold_end(&f);
}

int norm_name(const char *in, char *out, size_t cap)
{
	return fold_text(in, false, out, cap);
}

int norm_text(const char *in, char *out, size_t cap)
{
	return fold_text(in, true, out, cap);
}

/* ---- email ------------------------------------------------------------ */

static bool domain_is(const char *d, size_t n, const char *name)
{
	return strlen(name) == n && !memcmp(d, name, n);
}

static bool ascii_domain_ok(const char *d, size_t n)
{
	if (!n || d[0] == '.' || d[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = d[i];
		if (c == '.' ? d[i + 1] == '.'
			     : !(isalnum((unsigned char)c) || c == '-'))
			return false;
	}
	return true;
}

int norm_email(const char *in, char *out, size_t cap)
{
	if (!in || !out || !cap)
		return NORM_EINVAL;
	while (isspace((unsigned char)*in))
		in++;
	if (!strncasecmp(in, "mailto:", 7))
		in += 7;
	size_t len = strlen(in);
	while (len && isspace((unsigned char)in[len - 1]))
		len--;
	if (!len)
		return NORM_EEMPTY;
	if (!norm_utf8_valid(in, len))
		return NORM_EINVAL;
	const char *at = memchr(in, '@', len);
	if (!at || memchr(at + 1, '@', len - (size_t)(at - in) - 1))
		return NORM_EINVAL;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)in[i] <= ' ' || in[i] == 0x7F)
			return NORM_EINVAL;
	const char *local = in, *dom = at + 1;
	size_t nlocal = (size_t)(at - in), ndom = len - nlocal - 1;
	while (ndom && dom[ndom - 1] == '.')
		ndom--;
	if (!nlocal || !ndom)
		return NORM_EINVAL;

	/* domain: lowercase ASCII, or UTS #46 to punycode */
	char d[256];
	if (ndom >= sizeof(d))
		return NORM_EINVAL;
	if (is_ascii(dom, ndom)) {
		for (size_t i = 0; i < ndom; i++)
			d[i] = (char)tolower((unsigned char)dom[i]);
	} else {
		int rc = norm_global_init();
		if (rc)
			return rc;
		UErrorCode e = U_ZERO_ERROR;
		UIDNAInfo info = UIDNA_INFO_INITIALIZER;
		int32_t k =
		    uidna_nameToASCII_UTF8(icu.idna, dom, (int32_t)ndom, d,
					   (int32_t)sizeof(d) - 1, &info, &e);
		if (U_FAILURE(e) || info.errors || k <= 0)
			return NORM_EINVAL;
		ndom = (size_t)k;
	}
	d[ndom] = 0;
	if (!ascii_domain_ok(d, ndom))
		return NORM_EINVAL;

	bool gmail = domain_is(d, ndom, "gmail.com") ||
		     domain_is(d, ndom, "googlemail.com");
	static const char *const plus_domains[] = {
	    "outlook.com",  "hotmail.com", "icloud.com",
	    "fastmail.com", "proton.me",   "protonmail.com"};
	bool untag = gmail;
	for (size_t i = 0; i < sizeof(plus_domains) / sizeof(*plus_domains);
	     i++)
		untag |= domain_is(d, ndom, plus_domains[i]);
	if (gmail) {
		strcpy(d, "gmail.com");
		ndom = 9;
	}
	if (untag) {
		const char *plus = memchr(local, '+', nlocal);
		if (plus)
			nlocal = (size_t)(plus - local);
	}

	/* local part: lowercased (Unicode-aware when not ASCII) */
	size_t n = 0;
	if (is_ascii(local, nlocal)) {
		for (size_t i = 0; i < nlocal; i++) {
			char c = (char)tolower((unsigned char)local[i]);
			if (gmail && c == '.')
				continue;
			if (n + 1 >= cap)
				return NORM_ERANGE;
			out[n++] = c;
		}
	} else {
		int rc = norm_global_init();
		if (rc)
			return rc;
		UErrorCode e = U_ZERO_ERROR;
		int32_t k = ucasemap_utf8ToLower(icu.lower, out, (int32_t)cap,
						 local, (int32_t)nlocal, &e);
		if (e == U_BUFFER_OVERFLOW_ERROR || (size_t)k >= cap)
			return NORM_ERANGE;
		if (U_FAILURE(e))
			return NORM_EINVAL;
		for (int32_t i = 0; i < k; i++)
			if (!gmail || out[i] != '.')
				out[n++] = out[i];
	}
	if (!n)
		return NORM_EINVAL;
	if (n + 1 + ndom + 1 > cap)
		return NORM_ERANGE;
	out[n++] = '@';
	memcpy(out + n, d, ndom + 1);
	return (int)(n + ndom);
}

/* ---- phone ------------------------------------------------------------ */

static const struct norm__plan *plan_by_iso(const char *iso)
{
	if (!iso || !iso[0] || !iso[1] || iso[2])
		return NULL;
	char up[3] = {(char)toupper((unsigned char)iso[0]),
		      (char)toupper((unsigned char)iso[1]), 0};
	for (size_t i = 0; i < norm__plans_n; i++)
		if (!strcmp(norm__plans[i].iso, up))
			return &norm__plans[i];
	return NULL;
}

/* The plan whose calling code starts digits (codes are prefix-free). */
static const struct norm__plan *plan_by_cc(const char *digits)
{
	for (size_t i = 0; i < norm__plans_n; i++) {
		const char *cc = norm__plans[i].cc;
		if (!strncmp(digits, cc, strlen(cc)))
			return &norm__plans[i];
	}
	return NULL;
}

static bool starts(const char *s, const char *prefix)
{
	return *prefix && !strncmp(s, prefix, strlen(prefix));
}

/* nsn without a trunk prefix of p; international forms drop only
 * zero-led prefixes, the "+44 (0)20" habit (Russia's 8 is a real digit
 * there: +7 800). */
static const char *strip_trunk(const struct norm__plan *p, const char *nsn,
			       bool intl)
{
	for (int i = 0; i < 2; i++) {
		const char *t = p->trunk[i];
		if (starts(nsn, t) && (!intl || t[0] == '0'))
			return nsn + strlen(t);
	}
	return nsn;
}

int norm_phone(const char *in, const char *default_country, char *out,
	       size_t cap)
{
	if (!in || !out || !cap)
		return NORM_EINVAL;
	char d[24];
	size_t nd = 0;
	bool plus = false;
	for (const char *s = in; *s; s++) {
		char c = *s;
		if (c >= '0' && c <= '9') {
			if (nd + 1 >= sizeof(d))
				return NORM_EINVAL;
			d[nd++] = c;
		} else if (c == '+') {
			if (nd || plus)
				return NORM_EINVAL;
			plus = true;
		} else if (!strchr(" .-()/\t", c)) {
			return NORM_EINVAL;
		}
	}
	d[nd] = 0;
	if (nd < 7)
		return NORM_EINVAL;

	const struct norm__plan *home = plan_by_iso(default_country);
	const char *intl = NULL;
	if (plus)
		intl = d;
	else if (home && starts(d, home->idd))
		intl = d + strlen(home->idd);
	else if (starts(d, "00"))
		intl = d + 2;

	const struct norm__plan *p;
	const char *cc, *nsn;
	if (intl) {
		p = plan_by_cc(intl);
		if (p) {
			cc = p->cc;
			nsn = strip_trunk(p, intl + strlen(cc), true);
		} else {
			if (intl[0] == '0')
				return NORM_EINVAL;
			cc = "";
			nsn = intl;
		}
	} else {
		if (!home)
			return NORM_EINVAL;
		p = home;
		cc = p->cc;
		nsn = strip_trunk(p, d, false);
	}
	size_t ncc = strlen(cc), nnsn = strlen(nsn);
	if (p && p->trunk[0][0] == '0' && nsn[0] == '0')
		return NORM_EINVAL;
	if (p && !strcmp(cc, "1") &&
	    (nnsn != 10 || nsn[0] < '2' || nsn[3] < '2'))
		return NORM_EINVAL;
	if (nnsn < 4 || ncc + nnsn < 7 || ncc + nnsn > 15)
		return NORM_EINVAL;
	if (1 + ncc + nnsn + 1 > cap)
		return NORM_ERANGE;
	out[0] = '+';
	memcpy(out + 1, cc, ncc);
	memcpy(out + 1 + ncc, nsn, nnsn + 1);
	return (int)(1 + ncc + nnsn);
}

/* ---- postcode, country ------------------------------------------------ */

static int postal_digits(const char *country)
{
	if (!country || strlen(country) != 2)
		return 0;
	for (size_t i = 0; i < norm__postals_n; i++)
		if (!strcasecmp(norm__postals[i].iso, country))
			return norm__postals[i].digits;
	return 0;
}

int norm_postcode(const char *in, const char *country, char *out, size_t cap)
{
	if (!in || !out || !cap)
		return NORM_EINVAL;
	enum { POSTCODE_MAX = 16 };
	char b[POSTCODE_MAX + 2];
	size_t n = 0, letters = 0;
	for (const char *s = in; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == ' ' || c == '-' || c == '.' || c == '\t')
			continue;
		if (!isalnum(c) || n == POSTCODE_MAX)
			return NORM_EINVAL;
		letters += n == letters && isalpha(c);
		b[n++] = (char)toupper(c);
	}
	b[n] = 0;
	if (!n)
		return NORM_EEMPTY;
	const char *p = b;
	int digits = postal_digits(country);
	if (digits) {
		/* "D-01067", "LT-01100": a letter prefix before digits only */
		if (letters && letters <= 3 &&
		    strspn(b + letters, "0123456789") == n - letters &&
		    n > letters) {
			p += letters;
			n -= letters;
		}
		if (strspn(p, "0123456789") != n)
			return NORM_EINVAL;
		if (n + 1 == (size_t)digits) {
			memmove(b + 1, p, n + 1);
			b[0] = '0';
			p = b;
			n++;
		} else if (!strcasecmp(country, "US") && n == 9) {
			n = 5; /* ZIP+4 → ZIP */
		}
	}
	if (n + 1 > cap)
		return NORM_ERANGE;
	memcpy(out, p, n);
	out[n] = 0;
	return (int)n;
}

static bool names_has(const char *names, const char *key, size_t klen)
{
	for (const char *s = names; *s;) {
		size_t w = strcspn(s, " ");
		if (w == klen && !memcmp(s, key, klen))
			return true;
		s += w;
		s += *s == ' ';
	}
	return false;
}

int norm_country(const char *in, char *out, size_t cap)
{
	if (!in || !out || !cap)
		return NORM_EINVAL;
	char key[128];
	int k = norm_name(in, key, sizeof(key));
	if (k == NORM_ERANGE)
		return NORM_EINVAL;
	if (k < 0)
		return k;
	size_t n = 0;
	for (int i = 0; i < k; i++)
		if (key[i] != ' ')
			key[n++] = key[i];
	key[n] = 0;
	const char *iso = NULL;
	char up[3];
	if (n == 2) {
		up[0] = (char)toupper((unsigned char)key[0]);
		up[1] = (char)toupper((unsigned char)key[1]);
		up[2] = 0;
		iso = !strcmp(up, "UK") ? "GB" : !strcmp(up, "EL") ? "GR" : up;
	} else {
		for (size_t i = 0; i < norm__countries_n && !iso; i++)
			if (names_has(norm__countries[i].names, key, n))
				iso = norm__countries[i].iso;
	}
	if (!iso)
		return NORM_EINVAL;
	if (cap < 3)
		return NORM_ERANGE;
	memcpy(out, iso, 3);
	return 2;
}

/* ---- dates ------------------------------------------------------------ */

static int parse_num(const char **s, int min_digits, int max_digits)
{
	int v = 0, k = 0;
	while (k < max_digits && **s >= '0' && **s <= '9') {
		v = v * 10 + (**s - '0');
		(*s)++;
		k++;
	}
	return k < min_digits ? -1 : v;
}

static int days_in_month(int y, int m)
{
	static const int dim[12] = {31, 28, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : dim[m - 1];
}

int norm_date_parse(const char *in, struct norm_date *out)
{
	if (!out)
		return NORM_EINVAL;
	*out = (struct norm_date){0, 0, 0};
	if (!in)
		return NORM_OK;
	while (isspace((unsigned char)*in))
		in++;
	size_t len = strlen(in);
	while (len && isspace((unsigned char)in[len - 1]))
		len--;
	if (!len)
		return NORM_OK;
	if (len > 10)
		return NORM_EINVAL;
	char b[11];
	memcpy(b, in, len);
	b[len] = 0;
	const char *s = b;
	int y = parse_num(&s, 4, 4), m = 0, d = 0;
	if (y < 0)
		return NORM_EINVAL;
	if (*s == '-' || *s == '/') {
		char sep = *s++;
		m = parse_num(&s, 1, 2);
		if (m >= 0 && *s == sep) {
			s++;
			d = parse_num(&s, 1, 2);
		}
	} else if (len == 8) {
		m = parse_num(&s, 2, 2);
		d = parse_num(&s, 2, 2);
	}
	if (*s || m < 0 || d < 0 || y < 1800 || y > 2200 || m > 12)
		return NORM_EINVAL;
	/* "1980-00-00", "1980-05-00": zero means unknown, never "any day" */
	if ((!m && d) || (m && d > days_in_month(y, m)))
		return NORM_EINVAL;
	*out = (struct norm_date){(int16_t)y, (int8_t)m, (int8_t)d};
	return NORM_OK;
}

/* ---- given-name variants ---------------------------------------------- */

/* One (name, group) membership; the table is sorted by name then group. */
struct nn_entry {
	uint64_t name;
	uint64_t group;
};

struct norm_nicknames {
	struct nn_entry *v;
	size_t n, cap;
};

static uint64_t nn_hash(const char *s, size_t len)
{
	return XXH3_64bits(s, len);
}

static int nn_push(struct norm_nicknames *nn, uint64_t name, uint64_t group)
{
	if (nn->n == nn->cap) {
		size_t cap = nn->cap ? 2 * nn->cap : 1024;
		struct nn_entry *v = realloc(nn->v, cap * sizeof(*v));
		if (!v)
			return NORM_ENOMEM;
		nn->v = v;
		nn->cap = cap;
	}
	nn->v[nn->n++] = (struct nn_entry){name, group};
	return 0;
}

static int nn_cmp(const void *a, const void *b)
{
	const struct nn_entry *x = a, *y = b;
	if (x->name != y->name)
		return x->name < y->name ? -1 : 1;
	return x->group < y->group ? -1 : x->group > y->group;
}

/* Sorts and drops duplicates after a batch of pushes. */
static void nn_finish(struct norm_nicknames *nn)
{
	if (!nn->n)
		return;
	qsort(nn->v, nn->n, sizeof(*nn->v), nn_cmp);
	size_t k = 1;
	for (size_t i = 1; i < nn->n; i++)
		if (nn_cmp(&nn->v[i], &nn->v[k - 1]))
			nn->v[k++] = nn->v[i];
	nn->n = k;
}

struct norm_nicknames *norm_nicknames_new(void)
{
	struct norm_nicknames *nn = calloc(1, sizeof(*nn));
	if (!nn)
		return NULL;
	for (size_t g = 0; g < norm__nick_groups_n; g++) {
		const char *s = norm__nick_groups[g];
		uint64_t group = nn_hash(s, strcspn(s, " "));
		while (*s) {
			size_t w = strcspn(s, " ");
			if (nn_push(nn, nn_hash(s, w), group)) {
				norm_nicknames_delete(nn);
				return NULL;
			}
			s += w;
			s += *s == ' ';
		}
	}
	nn_finish(nn);
	return nn;
}

void norm_nicknames_delete(struct norm_nicknames *nn)
{
	if (!nn)
		return;
	free(nn->v);
	free(nn);
}

/* Adds a pair without re-sorting. @retval 1 added, 0 same name. */
static int nn_add(struct norm_nicknames *nn, const char *a, const char *b)
{
	char na[128], nb[128];
	int ka = norm_name(a, na, sizeof(na));
	if (ka < 0)
		return ka;
	int kb = norm_name(b, nb, sizeof(nb));
	if (kb < 0)
		return kb;
	if (!strcmp(na, nb))
		return 0;
	uint64_t group = nn_hash(na, (size_t)ka);
	int rc = nn_push(nn, group, group);
	if (!rc)
		rc = nn_push(nn, nn_hash(nb, (size_t)kb), group);
	return rc ? rc : 1;
}

int norm_nicknames_add(struct norm_nicknames *nn, const char *a, const char *b)
{
	if (!nn || !a || !b)
		return NORM_EINVAL;
	int rc = nn_add(nn, a, b);
	nn_finish(nn);
	return rc;
}

/*
 * Splits one CSV line (RFC 4180 quoting, no embedded newlines) in place
 * into at most max fields. @retval number of fields.
 */
static int csv_split(char *line, char **field, int max)
{
	int n = 0;
	char *s = line;
	while (n < max) {
		char *w = s;
		field[n++] = w;
		if (*s == '"') {
			for (s++; *s; s++) {
				if (*s == '"' && s[1] != '"')
					break;
				s += *s == '"';
				*w++ = *s;
			}
			s += *s == '"';
			while (*s && *s != ',')
				s++;
		} else {
			while (*s && *s != ',')
				*w++ = *s++;
		}
		char end = *s;
		*w = 0;
		if (end != ',')
			break;
		s++;
	}
	return n;
}

static void trim_eol(char *s, ssize_t *len)
{
	while (*len && (s[*len - 1] == '\n' || s[*len - 1] == '\r'))
		s[--*len] = 0;
}

/* Pairs of one file. @retval pairs added or NORM_ENOMEM. */
static int nn_load_file(struct norm_nicknames *nn, FILE *f)
{
	enum { MAXF = 64 };
	char *line = NULL, *field[MAXF];
	size_t lcap = 0;
	ssize_t len = getline(&line, &lcap, f);
	int io = -1, ia = -1, added = 0;
	if (len > 0) {
		trim_eol(line, &len);
		char *h = line;
		if (!strncmp(h, "\xEF\xBB\xBF", 3))
			h += 3;
		int nf = csv_split(h, field, MAXF);
		for (int i = 0; i < nf; i++) {
			char *c = field[i];
			c += strspn(c, " ");
			size_t w = strcspn(c, " ");
			if (w == 13 && !strncasecmp(c, "original_name", w))
				io = i;
			else if (w == 8 && !strncasecmp(c, "alt_name", w))
				ia = i;
		}
	}
	while (io >= 0 && ia >= 0 && (len = getline(&line, &lcap, f)) > 0) {
		trim_eol(line, &len);
		int nf = csv_split(line, field, MAXF);
		if (nf <= io || nf <= ia)
			continue;
		int rc = nn_add(nn, field[io], field[ia]);
		if (rc == NORM_ENOMEM) {
			added = rc;
			break;
		}
		added += rc > 0;
	}
	free(line);
	return added;
}

int norm_nicknames_load_dir(struct norm_nicknames *nn, const char *dir)
{
	if (!nn || !dir)
		return NORM_EINVAL;
	DIR *d = opendir(dir);
	if (!d)
		return NORM_EINVAL;
	int total = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t k = strlen(de->d_name);
		if (k < 5 || strcmp(de->d_name + k - 4, ".csv"))
			continue;
		size_t plen = strlen(dir) + 1 + k + 1;
		char *path = malloc(plen);
		if (!path) {
			total = NORM_ENOMEM;
			break;
		}
		snprintf(path, plen, "%s/%s", dir, de->d_name);
		FILE *f = fopen(path, "r");
		free(path);
		if (!f)
			continue;
		int rc = nn_load_file(nn, f);
		fclose(f);
		if (rc < 0) {
			total = rc;
			break;
		}
		total += rc;
	}
	closedir(d);
	nn_finish(nn);
	return total;
}

/* Index of the first entry with this name, or nn->n. */
static size_t nn_lower(const struct norm_nicknames *nn, uint64_t name)
{
	size_t lo = 0, hi = nn->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (nn->v[mid].name < name)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void norm_nickname_prepare(const struct norm_nicknames *nn, const char *a,
			   struct norm_nickname *k)
{
	k->name = a;
	k->known = false;
	k->hash = 0;
	k->first = 0;
	if (!nn || !a || !*a)
		return;
	k->hash = nn_hash(a, strlen(a));
	k->first = nn_lower(nn, k->hash);
	k->known = k->first < nn->n && nn->v[k->first].name == k->hash;
}

bool norm_nicknames_related_to(const struct norm_nicknames *nn,
			       const struct norm_nickname *k, const char *b)
{
	if (!nn || !k->known || !b || !*b || !strcmp(k->name, b))
		return false;
	uint64_t hb = nn_hash(b, strlen(b));
	size_t i = k->first, j = nn_lower(nn, hb);
	while (i < nn->n && j < nn->n && nn->v[i].name == k->hash &&
	       nn->v[j].name == hb) {
		if (nn->v[i].group == nn->v[j].group)
			return true;
		if (nn->v[i].group < nn->v[j].group)
			i++;
		else
			j++;
	}
	return false;
}

bool norm_nicknames_related(const struct norm_nicknames *nn, const char *a,
			    const char *b)
{
	struct norm_nickname k;
	norm_nickname_prepare(nn, a, &k);
	return norm_nicknames_related_to(nn, &k, b);
}

/* ---- phonetic key ----------------------------------------------------- */

static bool nys_vowel(char c)
{
	return c == 'A' || c == 'E' || c == 'I' || c == 'O' || c == 'U';
}

static bool ends_with(const char *s, size_t n, const char *suf)
{
	size_t k = strlen(suf);
	return n >= k && !memcmp(s + n - k, suf, k);
}

/*
 * NYSIIS (Taft 1970), untruncated, with one change taken from the
 * modified NYSIIS: a Y that is neither first nor last is a vowel, so
 * "smith" and "smyth" share SNAT.
 */
int norm_phonetic(const char *name, char *out, size_t cap)
{
	if (!name || !out || !cap)
		return NORM_EINVAL;
	char s[64];
	size_t n = 0;
	for (const char *p = name; *p; p++) {
		if (!isalpha((unsigned char)*p) || (unsigned char)*p >= 0x80)
			continue;
		if (n + 1 >= sizeof(s))
			return NORM_ERANGE;
		s[n++] = (char)toupper((unsigned char)*p);
	}
	s[n] = 0;
	if (!n)
		return NORM_EEMPTY;

	if (!strncmp(s, "MAC", 3))
		s[1] = 'C';
	else if (!strncmp(s, "KN", 2))
		s[0] = 'N';
	else if (s[0] == 'K')
		s[0] = 'C';
	else if (!strncmp(s, "PH", 2) || !strncmp(s, "PF", 2))
		s[0] = s[1] = 'F';
	else if (!strncmp(s, "SCH", 3))
		s[1] = s[2] = 'S';
	if (ends_with(s, n, "EE") || ends_with(s, n, "IE")) {
		s[n - 2] = 'Y';
		s[--n] = 0;
	} else if (ends_with(s, n, "DT") || ends_with(s, n, "RT") ||
		   ends_with(s, n, "RD") || ends_with(s, n, "NT") ||
		   ends_with(s, n, "ND")) {
		s[n - 2] = 'D';
		s[--n] = 0;
	}

	char k[64];
	size_t kn = 0;
	k[kn++] = s[0];
	for (size_t i = 1; i < n; i++) {
		char c = s[i], next = s[i + 1];
		if (c == 'E' && next == 'V') {
			s[i] = 'A';
			s[i + 1] = 'F';
		} else if (nys_vowel(c) || (c == 'Y' && i + 1 < n)) {
			s[i] = 'A';
		} else if (c == 'Q') {
			s[i] = 'G';
		} else if (c == 'Z') {
			s[i] = 'S';
		} else if (c == 'M') {
			s[i] = 'N';
		} else if (c == 'K') {
			s[i] = next == 'N' ? 'N' : 'C';
		} else if (c == 'S' && next == 'C' && s[i + 2] == 'H') {
			s[i + 1] = s[i + 2] = 'S';
		} else if (c == 'P' && next == 'H') {
			s[i] = s[i + 1] = 'F';
		} else if (c == 'H' &&
			   (!nys_vowel(s[i - 1]) || !nys_vowel(next))) {
			s[i] = s[i - 1];
		} else if (c == 'W' && nys_vowel(s[i - 1])) {
			s[i] = s[i - 1];
		}
		if (s[i] != k[kn - 1])
			k[kn++] = s[i];
	}
	if (kn > 1 && k[kn - 1] == 'S')
		kn--;
	if (kn > 2 && k[kn - 2] == 'A' && k[kn - 1] == 'Y') {
		k[kn - 2] = 'Y';
		kn--;
	}
	if (kn > 1 && k[kn - 1] == 'A')
		kn--;
	if (kn + 1 > cap)
		return NORM_ERANGE;
	memcpy(out, k, kn);
	out[kn] = 0;
	return (int)kn;
}
