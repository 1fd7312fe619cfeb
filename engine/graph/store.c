/*
 * store — validated, normalised, immutable source records; see store.h.
 *
 * A record's normalised forms are built in a per-thread scratch buffer
 * sized from an upper bound of its input (so the buffer never moves while
 * pointers into it are taken), then written with the input as its compact
 * image (see "compact image") and laid out from it into one exact-size
 * allocation:
 *
 *   [struct store_rec][normalised arrays][normalised strings][raw input]
 *
 * Everything a record points to lives inside it; freeing is one free().
 */
#include "store.h"
#include "le.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

/* ---- scratch packing -------------------------------------------------- */

struct pack {
	char *buf;
	size_t len, cap;
};

/* Per-thread buffers, grown on demand and freed when their thread exits
 * (a key's destructor), so server worker threads leave nothing behind:
 * the scratch a record is packed in, and the image a built record is laid
 * out from. */
struct tls_buf {
	void *p;
	size_t cap;
};
enum { BUF_SCRATCH, BUF_IMAGE, BUF_N };
static _Thread_local struct tls_buf tls_buf[BUF_N];
static pthread_key_t buf_key[BUF_N];
static pthread_once_t buf_once = PTHREAD_ONCE_INIT;

static void buf_init(void)
{
	for (int i = 0; i < BUF_N; i++)
		pthread_key_create(&buf_key[i], free);
}

/* @retval the buffer (at least need bytes), or NULL on ENOMEM. */
static void *buf_reserve(int which, size_t need)
{
	struct tls_buf *t = &tls_buf[which];
	if (need <= t->cap)
		return t->p;
	pthread_once(&buf_once, buf_init);
	void *b = realloc(t->p, need);
	if (!b)
		return NULL;
	t->p = b;
	t->cap = need;
	pthread_setspecific(buf_key[which], b);
	return b;
}

static void *pack_alloc(struct pack *p, size_t n)
{
	size_t off = (p->len + 7) & ~(size_t)7;
	if (off + n > p->cap)
		return NULL; /* cannot happen: cap is an upper bound */
	p->len = off + n;
	memset(p->buf + off, 0, n);
	return p->buf + off;
}

static const char *pack_str(struct pack *p, const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s);
	char *d = pack_alloc(p, n + 1);
	if (d)
		memcpy(d, s, n + 1);
	return d;
}

/* Normalised form of s via fn into the pack; "" when fn finds nothing. */
typedef int (*norm_fn)(const char *in, char *out, size_t cap);

static const char *pack_norm(struct pack *p, norm_fn fn, const char *s)
{
	static const char empty[] = "";
	if (!s || !*s)
		return empty;
	size_t room = 4 * strlen(s) + 16;
	size_t off = p->len;
	if (off + room > p->cap)
		return empty;
	int n = fn(s, p->buf + off, room);
	if (n <= 0)
		return empty;
	p->len = off + (size_t)n + 1;
	return p->buf + off;
}

static size_t str_bound(const char *s)
{
	return s ? 5 * strlen(s) + 32 : 0;
}

static size_t rec_bound(const reconnu_record *in)
{
	size_t b = sizeof(struct store_rec) + 4096;
	b += str_bound(in->source) + str_bound(in->source_id);
	b += 2 * (str_bound(in->given_name) + str_bound(in->family_name) +
		  str_bound(in->full_name));
	b += str_bound(in->birth_date) + str_bound(in->gender) +
	     str_bound(in->country);
	for (size_t i = 0; i < in->n_emails; i++)
		b += 16 + 2 * str_bound(in->emails[i]);
	for (size_t i = 0; i < in->n_phones; i++)
		b += 16 + 2 * str_bound(in->phones[i]);
	for (size_t i = 0; i < in->n_addresses; i++) {
		const reconnu_address *a = &in->addresses[i];
		b += sizeof(*a) + sizeof(struct store_addr) + 64;
		b += 3 * (str_bound(a->line1) + str_bound(a->line2)) +
		     2 * (str_bound(a->city) + str_bound(a->postcode) +
			  str_bound(a->country)) +
		     str_bound(a->region);
	}
	for (size_t i = 0; i < in->n_identifiers; i++)
		b += sizeof(reconnu_identifier) + 16 +
		     2 * (str_bound(in->identifiers[i].type) +
			  str_bound(in->identifiers[i].value));
	for (size_t i = 0; i < in->n_consents; i++)
		b += sizeof(reconnu_consent) + str_bound(in->consents[i].channel);
	for (size_t i = 0; i < in->n_attributes; i++)
		b += sizeof(reconnu_attr) + str_bound(in->attributes[i].key) +
		     str_bound(in->attributes[i].value);
	return b;
}

/* ---- validation ------------------------------------------------------- */

static int fail(char *msg, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, cap, fmt, ap);
	va_end(ap);
	return RECONNU_EINVAL;
}

/* Checks one string; name is printf'd with idx when idx >= 0. */
static int check_str(const char *s, size_t max, const char *field, char *msg,
		     size_t cap)
{
	if (!s)
		return 0;
	size_t n = strnlen(s, max + 1);
	if (n > max)
		return fail(msg, cap, "%s: longer than %zu bytes", field, max);
	if (!norm_utf8_valid(s, n))
		return fail(msg, cap, "%s: not valid UTF-8", field);
	return 0;
}

static int check_list(const void *p, size_t n, size_t max, const char *field,
		      char *msg, size_t cap)
{
	if (n && !p)
		return fail(msg, cap, "%s: %zu items announced but none given",
			    field, n);
	if (n > max)
		return fail(msg, cap, "%s: %zu items, at most %zu allowed",
			    field, n, max);
	return 0;
}

static int parse_gender(const char *g, char *out)
{
	*out = 0;
	if (!g || !*g)
		return 0;
	char c = (char)toupper((unsigned char)g[0]);
	const char *rest = g + 1;
	if (!*rest || !strcasecmp(g, "male") || !strcasecmp(g, "female") ||
	    !strcasecmp(g, "other")) {
		if (c == 'M' || c == 'F' || c == 'X') {
			*out = c;
			return 0;
		}
		if (c == 'O') {
			*out = 'X';
			return 0;
		}
		if (c == 'U')
			return 0;
	}
	if (!strcasecmp(g, "unknown"))
		return 0;
	return -1;
}

/* The digits of a date written in one of the accepted shapes (YYYY,
 * YYYY-MM, YYYY-MM-DD, YYYYMMDD, '/' or '.' as separators): 4, 6 or 8
 * digits into out. The calendar is not checked here: an impossible date
 * ("19875031", a typo in an export) is kept as data, not refused.
 * @retval number of digits, or -1 for another shape. */
static int date_digits(const char *s, char *out)
{
	int n = 0, groups = 0, in_group = 0, first = 0;
	for (; *s; s++) {
		if (*s >= '0' && *s <= '9') {
			if (n == 8)
				return -1;
			out[n++] = *s;
			if (!in_group)
				groups++;
			in_group = 1;
			first += groups == 1; /* the year leads: 05/17/1980 is not */
		} else if ((*s == '-' || *s == '/' || *s == '.') && in_group) {
			in_group = 0;
		} else {
			return -1;
		}
	}
	out[n] = 0;
	if (!in_group || (n != 4 && n != 6 && n != 8) || (groups > 1 && first != 4) ||
	    (groups > 1 && n == 8 && groups != 3) || (groups > 1 && n == 6 && groups != 2))
		return -1;
	return n;
}

#define CHECK(s, max, ...)                                                   \
	do {                                                                 \
		char f_[96];                                                 \
		snprintf(f_, sizeof(f_), __VA_ARGS__);                       \
		if ((rc = check_str((s), (max), f_, msg, cap)))              \
			return rc;                                           \
	} while (0)

static int validate(const reconnu_record *in, int require_key, char *msg,
		    size_t cap)
{
	int rc;
	if (require_key) {
		if (!in->source || !*in->source)
			return fail(msg, cap, "source: required");
		if (!in->source_id || !*in->source_id)
			return fail(msg, cap, "source_id: required");
	}
	CHECK(in->source, RECONNU_MAX_KEY_LEN, "source");
	CHECK(in->source_id, RECONNU_MAX_KEY_LEN, "source_id");
	CHECK(in->given_name, RECONNU_MAX_FIELD_LEN, "given_name");
	CHECK(in->family_name, RECONNU_MAX_FIELD_LEN, "family_name");
	CHECK(in->full_name, RECONNU_MAX_FIELD_LEN, "full_name");
	CHECK(in->birth_date, RECONNU_MAX_FIELD_LEN, "birth_date");
	CHECK(in->gender, RECONNU_MAX_FIELD_LEN, "gender");
	CHECK(in->country, RECONNU_MAX_FIELD_LEN, "country");
	if ((rc = check_list(in->emails, in->n_emails, RECONNU_MAX_LIST,
			     "emails", msg, cap)) ||
	    (rc = check_list(in->phones, in->n_phones, RECONNU_MAX_LIST,
			     "phones", msg, cap)) ||
	    (rc = check_list(in->addresses, in->n_addresses, RECONNU_MAX_LIST,
			     "addresses", msg, cap)) ||
	    (rc = check_list(in->identifiers, in->n_identifiers,
			     RECONNU_MAX_LIST, "identifiers", msg, cap)) ||
	    (rc = check_list(in->consents, in->n_consents, RECONNU_MAX_LIST,
			     "consents", msg, cap)) ||
	    (rc = check_list(in->attributes, in->n_attributes,
			     RECONNU_MAX_ATTRIBUTES, "attributes", msg, cap)))
		return rc;
	for (size_t i = 0; i < in->n_emails; i++)
		CHECK(in->emails[i], RECONNU_MAX_FIELD_LEN, "emails[%zu]", i);
	for (size_t i = 0; i < in->n_phones; i++)
		CHECK(in->phones[i], RECONNU_MAX_FIELD_LEN, "phones[%zu]", i);
	for (size_t i = 0; i < in->n_addresses; i++) {
		const reconnu_address *a = &in->addresses[i];
		CHECK(a->line1, RECONNU_MAX_FIELD_LEN, "addresses[%zu].line1", i);
		CHECK(a->line2, RECONNU_MAX_FIELD_LEN, "addresses[%zu].line2", i);
		CHECK(a->city, RECONNU_MAX_FIELD_LEN, "addresses[%zu].city", i);
		CHECK(a->postcode, RECONNU_MAX_FIELD_LEN,
		      "addresses[%zu].postcode", i);
		CHECK(a->region, RECONNU_MAX_FIELD_LEN, "addresses[%zu].region",
		      i);
		CHECK(a->country, RECONNU_MAX_FIELD_LEN,
		      "addresses[%zu].country", i);
	}
	for (size_t i = 0; i < in->n_identifiers; i++) {
		const reconnu_identifier *d = &in->identifiers[i];
		if (!d->type || !*d->type)
			return fail(msg, cap, "identifiers[%zu].type: required",
				    i);
		if (!d->value || !*d->value)
			return fail(msg, cap,
				    "identifiers[%zu].value: required", i);
		CHECK(d->type, RECONNU_MAX_KEY_LEN, "identifiers[%zu].type", i);
		CHECK(d->value, RECONNU_MAX_FIELD_LEN, "identifiers[%zu].value",
		      i);
	}
	for (size_t i = 0; i < in->n_consents; i++) {
		const reconnu_consent *c = &in->consents[i];
		if (!c->channel || !*c->channel)
			return fail(msg, cap, "consents[%zu].channel: required",
				    i);
		CHECK(c->channel, RECONNU_MAX_KEY_LEN, "consents[%zu].channel",
		      i);
		if (c->granted != 0 && c->granted != 1)
			return fail(msg, cap,
				    "consents[%zu].granted: must be 0 or 1", i);
		if (c->at < 0)
			return fail(msg, cap, "consents[%zu].at: negative", i);
	}
	for (size_t i = 0; i < in->n_attributes; i++) {
		const reconnu_attr *a = &in->attributes[i];
		if (!a->key || !*a->key)
			return fail(msg, cap, "attributes[%zu].key: required",
				    i);
		CHECK(a->key, RECONNU_MAX_KEY_LEN, "attributes[%zu].key", i);
		CHECK(a->value, RECONNU_MAX_FIELD_LEN, "attributes[%zu].value",
		      i);
	}
	if (in->updated_at < 0)
		return fail(msg, cap, "updated_at: negative");
	char digits[16];
	if (in->birth_date && *in->birth_date &&
	    date_digits(in->birth_date, digits) < 0)
		return fail(msg, cap,
			    "birth_date: \"%.32s\" is not a date "
			    "(YYYY, YYYY-MM, YYYY-MM-DD or YYYYMMDD)",
			    in->birth_date);
	char g;
	if (parse_gender(in->gender, &g))
		return fail(msg, cap,
			    "gender: \"%.16s\" is not one of M, F, X, unknown",
			    in->gender);
	return 0;
}

/* ---- building --------------------------------------------------------- */

/* First UTF-8 code point of s is Han or Hangul (family name first). */
static bool family_first_script(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	while (*u == ' ')
		u++;
	if ((u[0] & 0xF0) != 0xE0 || !u[1] || !u[2])
		return false;
	unsigned cp = ((u[0] & 0x0Fu) << 12) | ((u[1] & 0x3Fu) << 6) |
		      (u[2] & 0x3Fu);
	return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xAC00 && cp <= 0xD7A3) ||
	       (cp >= 0x3400 && cp <= 0x4DBF);
}

static const char *pack_phonetic(struct pack *p, const char *name, int first)
{
	static const char empty[] = "";
	char word[256];
	size_t n = 0;
	for (const char *s = name; *s && n + 1 < sizeof(word); s++) {
		if (*s == ' ') {
			if (first)
				break;
			continue;
		}
		word[n++] = *s;
	}
	word[n] = 0;
	if (!n)
		return empty;
	char code[64];
	int k = norm_phonetic(word, code, sizeof(code));
	if (k <= 0)
		return empty;
	return pack_str(p, code);
}

static void split_full(struct pack *p, struct store_rec *r, const char *full)
{
	const char *n = pack_norm(p, norm_name, full);
	if (!*n)
		return;
	const char *sp_first = strchr(n, ' ');
	const char *sp_last = strrchr(n, ' ');
	if (!sp_first) {
		r->family = n;
		return;
	}
	char *copy = (char *)pack_str(p, n);
	if (!copy)
		return;
	if (family_first_script(full)) {
		size_t k = (size_t)(sp_first - n);
		copy[k] = 0;
		r->family = copy;
		r->given = copy + k + 1;
	} else {
		size_t k = (size_t)(sp_last - n);
		copy[k] = 0;
		r->given = copy;
		r->family = copy + k + 1;
	}
}

static _Thread_local const char *tls_cc;
static int norm_phone_cc(const char *in, char *out, size_t cap)
{
	return norm_phone(in, tls_cc, out, cap);
}
static _Thread_local const char *tls_pc_country;
static int norm_postcode_cc(const char *in, char *out, size_t cap)
{
	return norm_postcode(in, tls_pc_country, out, cap);
}

static int norm_email_fn(const char *in, char *out, size_t cap)
{
	return norm_email(in, out, cap);
}

static int norm_identifier(const reconnu_identifier *d, char *out, size_t cap)
{
	size_t n = 0;
	for (const char *s = d->type; *s; s++) {
		if (n + 2 >= cap)
			return NORM_ERANGE;
		out[n++] = (char)tolower((unsigned char)*s);
	}
	out[n++] = ':';
	size_t start = n;
	for (const char *s = d->value; *s; s++) {
		if (*s == ' ' || *s == '-' || *s == '.')
			continue;
		if (n + 1 >= cap)
			return NORM_ERANGE;
		out[n++] = (char)toupper((unsigned char)*s);
	}
	if (n == start)
		return NORM_EEMPTY;
	out[n] = 0;
	return (int)n;
}

static bool in_list(const char **list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i], s))
			return true;
	return false;
}

/* ---- compact image -------------------------------------------------- */

/*
 * A record's image: its scalars, list sizes and every string it holds,
 * position-independent (see store.h). Layout, little-endian:
 *
 *   u8 version=1 | u8 gender | u8 raw counts[6] | u8 normalised counts[4] |
 *   i16 birth year | i8 month | i8 day | char birth_digits[8] |
 *   i64 updated_at | u32 string bytes |
 *   (i32 granted, i64 at) per consent |
 *   bitmap, one bit per raw string slot: 1 = NULL |
 *   strings: every present string NUL-terminated, in slot order.
 *
 * Raw counts: emails, phones, addresses, identifiers, consents,
 * attributes (STORE_RAW_*); normalised: emails, phones, addresses,
 * identifiers. Slot order: raw_values for the raw input, norm_values for
 * the normalised forms (raw slots first).
 *
 * A stored record is always laid out from its image, in one allocation:
 *
 *   [struct store_rec][normalised arrays][normalised strings]
 *   [consents | bitmap | raw strings]   <- raw_off: the image's middle
 *
 * so a record built from input and one loaded from an image are the
 * same bytes apart from the addresses, and an image is its head and two
 * copies. The raw input stays packed: store_rec_raw unpacks it.
 */
enum { IMG_VERSION = 1, IMG_HEAD = 36, IMG_CONSENT = 12 };
enum { NORM_EM, NORM_PH, NORM_AD, NORM_ID, N_NORM };
/* raw slots of a record with every list full: 8 + 64 + 64 + 6×64 + 2×64 +
 * 64 + 2×128; normalised: 4 + 64 + 64 + 4×64 + 64 */
enum { RAW_TOP = 8, MAX_RAW = RAW_TOP + 64 * 11 + 256, MAX_NORM = 4 + 64 * 7 };
/* raw slots of the fields kept as pointers (struct store_raw) */
enum { SLOT_SOURCE = 0, SLOT_SOURCE_ID = 1, SLOT_BIRTH = 5 };

/* The raw slots of in, in image order (NULL: absent; list items that are
 * NULL count as ""). @retval slots. */
static size_t raw_values(const reconnu_record *in, const char **v)
{
	size_t n = 0;
	v[n++] = in->source;
	v[n++] = in->source_id;
	v[n++] = in->given_name;
	v[n++] = in->family_name;
	v[n++] = in->full_name;
	v[n++] = in->birth_date;
	v[n++] = in->gender;
	v[n++] = in->country;
	for (size_t i = 0; i < in->n_emails; i++)
		v[n++] = in->emails[i] ? in->emails[i] : "";
	for (size_t i = 0; i < in->n_phones; i++)
		v[n++] = in->phones[i] ? in->phones[i] : "";
	for (size_t i = 0; i < in->n_addresses; i++) {
		const reconnu_address *a = &in->addresses[i];
		v[n++] = a->line1;
		v[n++] = a->line2;
		v[n++] = a->city;
		v[n++] = a->postcode;
		v[n++] = a->region;
		v[n++] = a->country;
	}
	for (size_t i = 0; i < in->n_identifiers; i++) {
		v[n++] = in->identifiers[i].type;
		v[n++] = in->identifiers[i].value;
	}
	for (size_t i = 0; i < in->n_consents; i++)
		v[n++] = in->consents[i].channel;
	for (size_t i = 0; i < in->n_attributes; i++) {
		v[n++] = in->attributes[i].key;
		v[n++] = in->attributes[i].value ? in->attributes[i].value : "";
	}
	return n;
}

/* Addresses of the normalised string fields of r in slot order (the
 * arrays must be in place). @retval slots. */
static size_t norm_slots(struct store_rec *r, const char **slot[MAX_NORM])
{
	size_t n = 0;
	slot[n++] = &r->given;
	slot[n++] = &r->family;
	slot[n++] = &r->given_phon;
	slot[n++] = &r->family_phon;
	for (size_t i = 0; i < r->n_emails; i++)
		slot[n++] = &r->emails[i];
	for (size_t i = 0; i < r->n_phones; i++)
		slot[n++] = &r->phones[i];
	for (size_t i = 0; i < r->n_addrs; i++) {
		struct store_addr *a = &r->addrs[i];
		slot[n++] = &a->line;
		slot[n++] = &a->city;
		slot[n++] = &a->postcode;
		slot[n++] = &a->country;
	}
	for (size_t i = 0; i < r->n_ids; i++)
		slot[n++] = &r->ids[i];
	return n;
}

static size_t raw_slots(const uint8_t *c)
{
	return RAW_TOP + c[STORE_RAW_EMAILS] + c[STORE_RAW_PHONES] +
	       6 * (size_t)c[STORE_RAW_ADDRESSES] +
	       2 * (size_t)c[STORE_RAW_IDENTIFIERS] + c[STORE_RAW_CONSENTS] +
	       2 * (size_t)c[STORE_RAW_ATTRIBUTES];
}

/* Bytes of the normalised arrays that follow struct store_rec. */
static size_t norm_arrays(size_t n_emails, size_t n_phones, size_t n_addrs,
			  size_t n_ids)
{
	return sizeof(char *) * (n_emails + n_phones + n_ids) +
	       sizeof(struct store_addr) * n_addrs;
}

/* Offset of r's normalised strings. */
static size_t norm_off(const struct store_rec *r)
{
	return sizeof(*r) +
	       norm_arrays(r->n_emails, r->n_phones, r->n_addrs, r->n_ids);
}

/* The image's 36-byte head. */
static void put_head(uint8_t *p, const struct store_rec *r,
		     const uint8_t *raw_n, int64_t updated_at,
		     uint32_t string_bytes)
{
	p[0] = IMG_VERSION;
	p[1] = (uint8_t)r->gender;
	memcpy(p + 2, raw_n, STORE_RAW_LISTS);
	uint8_t *c = p + 2 + STORE_RAW_LISTS;
	c[NORM_EM] = r->n_emails;
	c[NORM_PH] = r->n_phones;
	c[NORM_AD] = r->n_addrs;
	c[NORM_ID] = r->n_ids;
	le_put16(p + 12, (uint16_t)r->birth.year);
	p[14] = (uint8_t)r->birth.month;
	p[15] = (uint8_t)r->birth.day;
	memcpy(p + 16, r->birth_digits, 8);
	le_put64(p + 24, (uint64_t)updated_at);
	le_put32(p + 32, string_bytes);
}

/* Image of the input in and of its normalised forms in r (scratch: only
 * its normalised fields are read). @retval bytes (*out in the image
 * buffer), 0 on ENOMEM. */
static size_t image_of_input(const reconnu_record *in,
			     const struct store_rec *r, uint8_t **out)
{
	const char *raw[MAX_RAW];
	const char **norm[MAX_NORM];
	size_t n_raw = raw_values(in, raw);
	size_t n_norm = norm_slots((struct store_rec *)r, norm);
	size_t len[MAX_RAW + MAX_NORM], str = 0;
	for (size_t i = 0; i < n_raw; i++)
		str += raw[i] ? (len[i] = strlen(raw[i]) + 1) : 0;
	for (size_t i = 0; i < n_norm; i++)
		str += len[n_raw + i] = strlen(*norm[i]) + 1;
	size_t nulls = (n_raw + 7) / 8;
	size_t n = IMG_HEAD + IMG_CONSENT * in->n_consents + nulls + str;
	uint8_t *p = buf_reserve(BUF_IMAGE, n);
	if (!p)
		return 0;
	*out = p;
	uint8_t raw_n[STORE_RAW_LISTS] = {
	    (uint8_t)in->n_emails,    (uint8_t)in->n_phones,
	    (uint8_t)in->n_addresses, (uint8_t)in->n_identifiers,
	    (uint8_t)in->n_consents,  (uint8_t)in->n_attributes};
	put_head(p, r, raw_n, in->updated_at, (uint32_t)str);
	p += IMG_HEAD;
	for (size_t i = 0; i < in->n_consents; i++, p += IMG_CONSENT) {
		le_put32(p, (uint32_t)in->consents[i].granted);
		le_put64(p + 4, (uint64_t)in->consents[i].at);
	}
	memset(p, 0, nulls);
	for (size_t i = 0; i < n_raw; i++)
		if (!raw[i])
			p[i / 8] |= (uint8_t)(1u << (i % 8));
	p += nulls;
	for (size_t i = 0; i < n_raw; i++)
		if (raw[i]) {
			memcpy(p, raw[i], len[i]);
			p += len[i];
		}
	for (size_t i = 0; i < n_norm; i++) {
		memcpy(p, *norm[i], len[n_raw + i]);
		p += len[n_raw + i];
	}
	return n;
}

size_t store_rec_image_size(const struct store_rec *r)
{
	return IMG_HEAD + r->bytes - norm_off(r);
}

size_t store_rec_image(const struct store_rec *r, uint8_t *out)
{
	const uint8_t *base = (const uint8_t *)r;
	size_t no = norm_off(r), packed = r->bytes - r->raw_off;
	size_t head = IMG_CONSENT * (size_t)r->raw_n[STORE_RAW_CONSENTS] +
		      (raw_slots(r->raw_n) + 7) / 8;
	put_head(out, r, r->raw_n, r->updated_at,
		 (uint32_t)(packed - head + (r->raw_off - no)));
	memcpy(out + IMG_HEAD, base + r->raw_off, packed);
	memcpy(out + IMG_HEAD + packed, base + no, r->raw_off - no);
	return IMG_HEAD + r->bytes - no;
}

int store_rec_from_image(const void *img, size_t n, struct store_rec **out)
{
	const uint8_t *p = img;
	*out = NULL;
	if (n < IMG_HEAD || p[0] != IMG_VERSION)
		return RECONNU_EINVAL;
	const uint8_t *c = p + 2, *cn = c + STORE_RAW_LISTS;
	if (c[STORE_RAW_EMAILS] > RECONNU_MAX_LIST ||
	    c[STORE_RAW_PHONES] > RECONNU_MAX_LIST ||
	    c[STORE_RAW_ADDRESSES] > RECONNU_MAX_LIST ||
	    c[STORE_RAW_IDENTIFIERS] > RECONNU_MAX_LIST ||
	    c[STORE_RAW_CONSENTS] > RECONNU_MAX_LIST ||
	    c[STORE_RAW_ATTRIBUTES] > RECONNU_MAX_ATTRIBUTES ||
	    cn[NORM_EM] > c[STORE_RAW_EMAILS] ||
	    cn[NORM_PH] > c[STORE_RAW_PHONES] ||
	    cn[NORM_AD] > c[STORE_RAW_ADDRESSES] ||
	    cn[NORM_ID] > c[STORE_RAW_IDENTIFIERS])
		return RECONNU_EINVAL;
	size_t n_raw = raw_slots(c);
	size_t head = IMG_HEAD + IMG_CONSENT * (size_t)c[STORE_RAW_CONSENTS] +
		      (n_raw + 7) / 8;
	uint32_t n_str = le_get32(p + 32);
	if (head > n || n - head != n_str || !n_str || p[n - 1])
		return RECONNU_EINVAL;

	/* the raw strings: where the kept ones start, where they end */
	const uint8_t *nulls =
	    p + IMG_HEAD + IMG_CONSENT * c[STORE_RAW_CONSENTS];
	const char *strings = (const char *)p + head, *s = strings,
		   *s_end = strings + n_str;
	size_t kept[3] = {SIZE_MAX, SIZE_MAX, SIZE_MAX};
	for (size_t i = 0; i < n_raw; i++) {
		if (nulls[i / 8] >> (i % 8) & 1)
			continue;
		const char *z =
		    s < s_end ? memchr(s, 0, (size_t)(s_end - s)) : NULL;
		if (!z)
			return RECONNU_EINVAL;
		if (i == SLOT_SOURCE || i == SLOT_SOURCE_ID || i == SLOT_BIRTH)
			kept[i == SLOT_BIRTH ? 2 : i] = (size_t)(s - strings);
		s = z + 1;
	}
	size_t raw_len = (size_t)(s - strings), norm_len = n_str - raw_len;

	size_t fixed =
	    sizeof(struct store_rec) +
	    norm_arrays(cn[NORM_EM], cn[NORM_PH], cn[NORM_AD], cn[NORM_ID]);
	size_t packed = head - IMG_HEAD + raw_len;
	struct store_rec *r = malloc(fixed + norm_len + packed);
	if (!r)
		return RECONNU_ENOMEM;
	memset(r, 0, sizeof(*r));
	char *base = (char *)r;
	memcpy(base + fixed, s, norm_len);
	r->raw_off = (uint32_t)(fixed + norm_len);
	memcpy(base + r->raw_off, p + IMG_HEAD, packed);
	r->bytes = (uint32_t)(fixed + norm_len + packed);

	/* arrays, in layout order */
	char *a = (char *)(r + 1);
#define TAKE(field, count, type)                                               \
	do {                                                                   \
		if (count) {                                                   \
			field = (void *)a;                                     \
			a += (size_t)(count) * sizeof(type);                   \
		}                                                              \
	} while (0)
	TAKE(r->emails, cn[NORM_EM], char *);
	TAKE(r->phones, cn[NORM_PH], char *);
	TAKE(r->addrs, cn[NORM_AD], struct store_addr);
	TAKE(r->ids, cn[NORM_ID], char *);
#undef TAKE
	memcpy(r->raw_n, c, STORE_RAW_LISTS);
	r->n_emails = cn[NORM_EM];
	r->n_phones = cn[NORM_PH];
	r->n_addrs = cn[NORM_AD];
	r->n_ids = cn[NORM_ID];

	/* scalars */
	r->id = STORE_NONE;
	r->gender = (char)p[1];
	r->birth.year = (int16_t)(p[12] | p[13] << 8);
	r->birth.month = (int8_t)p[14];
	r->birth.day = (int8_t)p[15];
	memcpy(r->birth_digits, p + 16, 8);
	r->updated_at = (int64_t)le_get64(p + 24);
	const char *raw_str = base + r->raw_off + (head - IMG_HEAD);
	r->raw.source = kept[0] != SIZE_MAX ? raw_str + kept[0] : NULL;
	r->raw.source_id = kept[1] != SIZE_MAX ? raw_str + kept[1] : NULL;
	r->raw.birth_date = kept[2] != SIZE_MAX ? raw_str + kept[2] : NULL;

	/* normalised strings: each slot takes the next one */
	const char **slot[MAX_NORM];
	size_t ns = norm_slots(r, slot);
	const char *q = base + fixed, *q_end = base + r->raw_off;
	for (size_t i = 0; i < ns; i++) {
		const char *z =
		    q < q_end ? memchr(q, 0, (size_t)(q_end - q)) : NULL;
		if (!z) {
			free(r);
			return RECONNU_EINVAL;
		}
		*slot[i] = q;
		q = z + 1;
	}
	if (q != q_end) {
		free(r);
		return RECONNU_EINVAL;
	}
	*out = r;
	return 0;
}

/* Walks the packed raw strings of a record, slot by slot. */
struct raw_cursor {
	const uint8_t *nulls; /**< bit per slot: 1 = NULL */
	const char *s;	      /**< the next string */
	size_t slot;
};

static const char *raw_next(struct raw_cursor *c)
{
	size_t i = c->slot++;
	if (c->nulls[i / 8] >> (i % 8) & 1)
		return NULL;
	const char *v = c->s;
	c->s += strlen(v) + 1;
	return v;
}

int store_rec_raw(const struct store_rec *r, reconnu_record *out,
		  struct arena *a)
{
	memset(out, 0, sizeof(*out));
	const uint8_t *n = r->raw_n;
	reconnu_address *ad = NULL;
	reconnu_identifier *id = NULL;
	reconnu_consent *co = NULL;
	reconnu_attr *at = NULL;
	const char **em = NULL, **ph = NULL;
	if ((n[STORE_RAW_EMAILS] &&
	     !(em = arena_alloc(a, n[STORE_RAW_EMAILS] * sizeof(*em)))) ||
	    (n[STORE_RAW_PHONES] &&
	     !(ph = arena_alloc(a, n[STORE_RAW_PHONES] * sizeof(*ph)))) ||
	    (n[STORE_RAW_ADDRESSES] &&
	     !(ad = arena_alloc(a, n[STORE_RAW_ADDRESSES] * sizeof(*ad)))) ||
	    (n[STORE_RAW_IDENTIFIERS] &&
	     !(id = arena_alloc(a, n[STORE_RAW_IDENTIFIERS] * sizeof(*id)))) ||
	    (n[STORE_RAW_CONSENTS] &&
	     !(co = arena_alloc(a, n[STORE_RAW_CONSENTS] * sizeof(*co)))) ||
	    (n[STORE_RAW_ATTRIBUTES] &&
	     !(at = arena_alloc(a, n[STORE_RAW_ATTRIBUTES] * sizeof(*at)))))
		return RECONNU_ENOMEM;
	const uint8_t *q = (const uint8_t *)r + r->raw_off;
	for (size_t i = 0; i < n[STORE_RAW_CONSENTS]; i++, q += IMG_CONSENT) {
		co[i].granted = (int)le_get32(q);
		co[i].at = (int64_t)le_get64(q + 4);
	}
	struct raw_cursor cur = {q, (const char *)q + (raw_slots(n) + 7) / 8,
				 0};
	const char *top[RAW_TOP];
	for (size_t i = 0; i < RAW_TOP; i++)
		top[i] = raw_next(&cur);
	out->source = top[0];
	out->source_id = top[1];
	out->given_name = top[2];
	out->family_name = top[3];
	out->full_name = top[4];
	out->birth_date = top[5];
	out->gender = top[6];
	out->country = top[7];
	for (size_t i = 0; i < n[STORE_RAW_EMAILS]; i++)
		em[i] = raw_next(&cur);
	for (size_t i = 0; i < n[STORE_RAW_PHONES]; i++)
		ph[i] = raw_next(&cur);
	for (size_t i = 0; i < n[STORE_RAW_ADDRESSES]; i++) {
		ad[i].line1 = raw_next(&cur);
		ad[i].line2 = raw_next(&cur);
		ad[i].city = raw_next(&cur);
		ad[i].postcode = raw_next(&cur);
		ad[i].region = raw_next(&cur);
		ad[i].country = raw_next(&cur);
	}
	for (size_t i = 0; i < n[STORE_RAW_IDENTIFIERS]; i++) {
		id[i].type = raw_next(&cur);
		id[i].value = raw_next(&cur);
	}
	for (size_t i = 0; i < n[STORE_RAW_CONSENTS]; i++)
		co[i].channel = raw_next(&cur);
	for (size_t i = 0; i < n[STORE_RAW_ATTRIBUTES]; i++) {
		at[i].key = raw_next(&cur);
		at[i].value = raw_next(&cur);
	}
	out->emails = em;
	out->n_emails = n[STORE_RAW_EMAILS];
	out->phones = ph;
	out->n_phones = n[STORE_RAW_PHONES];
	out->addresses = ad;
	out->n_addresses = n[STORE_RAW_ADDRESSES];
	out->identifiers = id;
	out->n_identifiers = n[STORE_RAW_IDENTIFIERS];
	out->consents = co;
	out->n_consents = n[STORE_RAW_CONSENTS];
	out->attributes = at;
	out->n_attributes = n[STORE_RAW_ATTRIBUTES];
	out->updated_at = r->updated_at;
	return 0;
}

int store_rec_build(const reconnu_record *in, int require_key,
		    struct store_rec **out, char *msg, size_t msg_cap)
{
	*out = NULL;
	if (msg_cap)
		msg[0] = 0;
	int rc = validate(in, require_key, msg, msg_cap);
	if (rc)
		return rc;

	if (!buf_reserve(BUF_SCRATCH, rec_bound(in)))
		return RECONNU_ENOMEM;
	struct pack p = {tls_buf[BUF_SCRATCH].p, 0, tls_buf[BUF_SCRATCH].cap};
	struct store_rec *r = pack_alloc(&p, sizeof(*r));
	r->id = STORE_NONE;
	r->updated_at = in->updated_at;

	/* normalised forms */
	r->given = pack_norm(&p, norm_name, in->given_name);
	r->family = pack_norm(&p, norm_name, in->family_name);
	if (!*r->given && !*r->family && in->full_name)
		split_full(&p, r, in->full_name);
	r->given_phon = pack_phonetic(&p, r->given, 1);
	r->family_phon = pack_phonetic(&p, r->family, 0);
	if (in->birth_date && *in->birth_date &&
	    norm_date_parse(in->birth_date, &r->birth) != NORM_OK) {
		memset(&r->birth, 0, sizeof(r->birth));
		char digits[16];
		if (date_digits(in->birth_date, digits) == 8)
			memcpy(r->birth_digits, digits, 9);
	}
	parse_gender(in->gender, &r->gender);

	char cc[8] = "";
	const char *ccsrc = in->country;
	if ((!ccsrc || !*ccsrc) && in->n_addresses)
		ccsrc = in->addresses[0].country;
	if (ccsrc && *ccsrc && norm_country(ccsrc, cc, sizeof(cc)) <= 0)
		cc[0] = 0;

	if (in->n_emails) {
		r->emails = pack_alloc(&p, in->n_emails * sizeof(char *));
		for (size_t i = 0; i < in->n_emails; i++) {
			const char *e = pack_norm(&p, norm_email_fn, in->emails[i]);
			if (*e && !in_list(r->emails, r->n_emails, e))
				r->emails[r->n_emails++] = e;
		}
	}
	if (in->n_phones) {
		tls_cc = cc[0] ? cc : NULL;
		r->phones = pack_alloc(&p, in->n_phones * sizeof(char *));
		for (size_t i = 0; i < in->n_phones; i++) {
			const char *e = pack_norm(&p, norm_phone_cc, in->phones[i]);
			if (*e && !in_list(r->phones, r->n_phones, e))
				r->phones[r->n_phones++] = e;
		}
	}
	if (in->n_addresses) {
		r->addrs = pack_alloc(&p, in->n_addresses * sizeof(*r->addrs));
		for (size_t i = 0; i < in->n_addresses; i++) {
			const reconnu_address *s = &in->addresses[i];
			struct store_addr *a = &r->addrs[r->n_addrs];
			char line[2 * RECONNU_MAX_FIELD_LEN + 2];
			snprintf(line, sizeof(line), "%s %s",
				 s->line1 ? s->line1 : "",
				 s->line2 ? s->line2 : "");
			char acc[8] = "";
			if (s->country && *s->country &&
			    norm_country(s->country, acc, sizeof(acc)) <= 0)
				acc[0] = 0;
			tls_pc_country = acc[0] ? acc : (cc[0] ? cc : NULL);
			a->line = pack_norm(&p, norm_text, line);
			a->city = pack_norm(&p, norm_text, s->city);
			a->postcode =
			    pack_norm(&p, norm_postcode_cc, s->postcode);
			a->country = pack_str(&p, acc[0] ? acc : cc);
			if (*a->line || *a->city || *a->postcode)
				r->n_addrs++;
		}
	}
	if (in->n_identifiers) {
		r->ids = pack_alloc(&p, in->n_identifiers * sizeof(char *));
		for (size_t i = 0; i < in->n_identifiers; i++) {
			char buf[RECONNU_MAX_KEY_LEN + RECONNU_MAX_FIELD_LEN + 2];
			if (norm_identifier(&in->identifiers[i], buf,
					    sizeof(buf)) > 0 &&
			    !in_list(r->ids, r->n_ids, buf))
				r->ids[r->n_ids++] = pack_str(&p, buf);
		}
	}
	/* the stored form is the one an image gives: one code path lays out
	 * records built here and records loaded from a snapshot */
	uint8_t *img;
	size_t n = image_of_input(in, r, &img);
	if (!n)
		return RECONNU_ENOMEM;
	return store_rec_from_image(img, n, out);
}

void store_rec_delete(struct store_rec *r)
{
	free(r);
}

/* ---- the store -------------------------------------------------------- */

/* 8 bytes: the low half of the key's hash (never 0, see key_hash) is
 * enough to skip other keys; a match is confirmed on the record's key.
 * Homes are that low half & mask. */
struct slot {
	uint32_t hash; /**< low 32 bits of key_hash; 0 = empty */
	uint32_t id;
};

struct store {
	struct store_rec **recs; /**< by id; NULL once removed */
	uint32_t n_ids, cap_ids;
	struct slot *slots;
	size_t mask; /**< slots - 1 (power of two) */
	size_t used;
	uint64_t live, bytes, next_seq;
};

/* XXH3 of "source\0source_id": one call over a copy for keys of valid
 * length (a streaming state costs more than hashing a short key; both
 * give the same hash), streaming for longer ones (a lookup may be asked
 * anything). */
static uint64_t key_hash(const char *source, const char *source_id)
{
	size_t ls = strlen(source) + 1, li = strlen(source_id);
	char buf[2 * RECONNU_MAX_KEY_LEN + 2];
	uint64_t h;
	if (ls + li <= sizeof(buf)) {
		memcpy(buf, source, ls);
		memcpy(buf + ls, source_id, li);
		h = XXH3_64bits(buf, ls + li);
	} else {
		XXH3_state_t st;
		XXH3_64bits_reset(&st);
		XXH3_64bits_update(&st, source, ls);
		XXH3_64bits_update(&st, source_id, li);
		h = XXH3_64bits_digest(&st);
	}
	return (uint32_t)h ? h : h | 1; /* the slots keep the low half */
}

struct store *store_new(void)
{
	struct store *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->slots = calloc(1024, sizeof(*st->slots));
	if (!st->slots) {
		free(st);
		return NULL;
	}
	st->mask = 1023;
	st->next_seq = 1;
	return st;
}

void store_delete(struct store *st)
{
	if (!st)
		return;
	for (uint32_t i = 0; i < st->n_ids; i++)
		free(st->recs[i]);
	free(st->recs);
	free(st->slots);
	free(st);
}

static size_t find_slot(const struct store *st, uint64_t h, const char *source,
			const char *source_id)
{
	size_t i = (uint32_t)h & st->mask;
	for (;;) {
		const struct slot *s = &st->slots[i];
		if (!s->hash)
			return i;
		if (s->hash == (uint32_t)h) {
			const struct store_rec *r = st->recs[s->id];
			if (!strcmp(r->raw.source, source) &&
			    !strcmp(r->raw.source_id, source_id))
				return i;
		}
		i = (i + 1) & st->mask;
	}
}

uint32_t store_lookup(const struct store *st, const char *source,
		      const char *source_id)
{
	if (!source || !source_id)
		return STORE_NONE;
	size_t i = find_slot(st, key_hash(source, source_id), source,
			     source_id);
	return st->slots[i].hash ? st->slots[i].id : STORE_NONE;
}

const struct store_rec *store_get(const struct store *st, uint32_t id)
{
	return id < st->n_ids ? st->recs[id] : NULL;
}

static int grow_slots(struct store *st)
{
	size_t ncap = (st->mask + 1) * 2;
	struct slot *ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return RECONNU_ENOMEM;
	for (size_t i = 0; i <= st->mask; i++) {
		struct slot s = st->slots[i];
		if (!s.hash)
			continue;
		size_t j = s.hash & (ncap - 1);
		while (ns[j].hash)
			j = (j + 1) & (ncap - 1);
		ns[j] = s;
	}
	free(st->slots);
	st->slots = ns;
	st->mask = ncap - 1;
	return 0;
}

int store_reserve(struct store *st)
{
	if ((st->used + 1) * 10 > (st->mask + 1) * 7 && grow_slots(st))
		return RECONNU_ENOMEM;
	if (st->n_ids == st->cap_ids) {
		uint32_t ncap = st->cap_ids ? st->cap_ids * 2 : 1024;
		struct store_rec **nr = realloc(st->recs, ncap * sizeof(*nr));
		if (!nr)
			return RECONNU_ENOMEM;
		st->recs = nr;
		st->cap_ids = ncap;
	}
	return 0;
}

int store_put(struct store *st, struct store_rec *rec)
{
	uint64_t h = key_hash(rec->raw.source, rec->raw.source_id);
	size_t i = find_slot(st, h, rec->raw.source, rec->raw.source_id);
	rec->seq = st->next_seq++;
	if (st->slots[i].hash) {
		uint32_t id = st->slots[i].id;
		struct store_rec *old = st->recs[id];
		rec->id = id;
		rec->created = old->created;
		st->bytes += rec->bytes;
		st->bytes -= old->bytes;
		st->recs[id] = rec;
		free(old);
		return 0;
	}
	if (store_reserve(st))
		return RECONNU_ENOMEM;
	i = find_slot(st, h, rec->raw.source, rec->raw.source_id);
	rec->id = st->n_ids++;
	rec->created = rec->seq;
	st->recs[rec->id] = rec;
	st->slots[i].hash = (uint32_t)h;
	st->slots[i].id = rec->id;
	st->used++;
	st->live++;
	st->bytes += rec->bytes;
	return 0;
}

void store_remove(struct store *st, uint32_t id)
{
	struct store_rec *r = id < st->n_ids ? st->recs[id] : NULL;
	if (!r)
		return;
	uint64_t h = key_hash(r->raw.source, r->raw.source_id);
	size_t i = find_slot(st, h, r->raw.source, r->raw.source_id);
	/* backward-shift deletion keeps probe chains intact */
	size_t j = i;
	for (;;) {
		j = (j + 1) & st->mask;
		if (!st->slots[j].hash)
			break;
		size_t home = st->slots[j].hash & st->mask;
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && (home <= i && home > j))) {
			st->slots[i] = st->slots[j];
			i = j;
		}
	}
	st->slots[i].hash = 0;
	st->used--;
	st->live--;
	st->bytes -= r->bytes;
	st->recs[id] = NULL;
	st->next_seq++;
	free(r);
}

uint32_t store_id_limit(const struct store *st)
{
	return st->n_ids;
}

uint64_t store_count(const struct store *st)
{
	return st->live;
}

uint64_t store_bytes(const struct store *st)
{
	return st->bytes + (st->mask + 1) * sizeof(struct slot) +
	       st->cap_ids * sizeof(struct store_rec *);
}

uint64_t store_next_seq(const struct store *st)
{
	return st->next_seq;
}

void store_set_next_seq(struct store *st, uint64_t seq)
{
	st->next_seq = seq;
}

uint64_t store_key_hash(const struct store_rec *rec)
{
	return key_hash(rec->raw.source, rec->raw.source_id);
}

int store_restore(struct store *st, struct store_rec *rec, uint32_t id,
		  uint64_t created, uint64_t seq)
{
	return store_restore_hashed(st, rec, id, created, seq,
				    store_key_hash(rec));
}

int store_restore_hashed(struct store *st, struct store_rec *rec, uint32_t id,
			 uint64_t created, uint64_t seq, uint64_t h)
{
	while (st->cap_ids <= id) {
		uint32_t ncap = st->cap_ids ? st->cap_ids * 2 : 1024;
		struct store_rec **nr = realloc(st->recs, ncap * sizeof(*nr));
		if (!nr)
			return RECONNU_ENOMEM;
		st->recs = nr;
		st->cap_ids = ncap;
	}
	if ((st->used + 1) * 10 > (st->mask + 1) * 7 && grow_slots(st))
		return RECONNU_ENOMEM;
	while (st->n_ids <= id)
		st->recs[st->n_ids++] = NULL;
	size_t i = find_slot(st, h, rec->raw.source, rec->raw.source_id);
	if (st->recs[id] || st->slots[i].hash)
		return RECONNU_EINVAL;
	rec->id = id;
	rec->created = created;
	rec->seq = seq;
	st->recs[id] = rec;
	st->slots[i].hash = (uint32_t)h;
	st->slots[i].id = id;
	st->used++;
	st->live++;
	st->bytes += rec->bytes;
	return 0;
}

void store_restore_prefetch(const struct store *st, uint64_t hash)
{
	__builtin_prefetch(&st->slots[(uint32_t)hash & st->mask], 1);
}

int store_restore_reserve(struct store *st, uint32_t id_limit, uint64_t n)
{
	if (id_limit > st->cap_ids) {
		struct store_rec **nr =
		    realloc(st->recs, (size_t)id_limit * sizeof(*nr));
		if (!nr)
			return RECONNU_ENOMEM;
		st->recs = nr;
		st->cap_ids = id_limit;
	}
	while ((st->used + n) * 10 > (st->mask + 1) * 7)
		if (grow_slots(st))
			return RECONNU_ENOMEM;
	return 0;
}

int store_restore_end(struct store *st, uint32_t id_limit)
{
	if (id_limit > st->cap_ids) {
		struct store_rec **nr =
		    realloc(st->recs, (size_t)id_limit * sizeof(*nr));
		if (!nr)
			return RECONNU_ENOMEM;
		st->recs = nr;
		st->cap_ids = id_limit;
	}
	while (st->n_ids < id_limit)
		st->recs[st->n_ids++] = NULL;
	return 0;
}
