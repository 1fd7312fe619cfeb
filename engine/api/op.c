/* op — op-log encoding of upserts and deletes; see op.h. */
#include "op.h"

#include <string.h>

static size_t varint_size(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

static size_t str_size(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return varint_size(n) + n;
}

static uint8_t *put_str(uint8_t *p, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	p = put_varint(p, n);
	if (n)
		memcpy(p, s, n);
	return p + n;
}

static uint8_t *put_i64(uint8_t *p, int64_t v)
{
	uint64_t u = (uint64_t)v;
	for (int i = 0; i < 8; i++)
		*p++ = (uint8_t)(u >> (8 * i));
	return p;
}

size_t op_upsert_size(const reconnu_record *r)
{
	size_t n = 1 + str_size(r->source) + str_size(r->source_id) +
		   str_size(r->given_name) + str_size(r->family_name) +
		   str_size(r->full_name) + str_size(r->birth_date) +
		   str_size(r->gender) + str_size(r->country) + 8;
	n += varint_size(r->n_emails);
	for (size_t i = 0; i < r->n_emails; i++)
		n += str_size(r->emails[i]);
	n += varint_size(r->n_phones);
	for (size_t i = 0; i < r->n_phones; i++)
		n += str_size(r->phones[i]);
	n += varint_size(r->n_addresses);
	for (size_t i = 0; i < r->n_addresses; i++) {
		const reconnu_address *a = &r->addresses[i];
		n += str_size(a->line1) + str_size(a->line2) +
		     str_size(a->city) + str_size(a->postcode) +
		     str_size(a->region) + str_size(a->country);
	}
	n += varint_size(r->n_identifiers);
	for (size_t i = 0; i < r->n_identifiers; i++)
		n += str_size(r->identifiers[i].type) +
		     str_size(r->identifiers[i].value);
	n += varint_size(r->n_consents);
	for (size_t i = 0; i < r->n_consents; i++)
		n += str_size(r->consents[i].channel) + 1 + 8;
	n += varint_size(r->n_attributes);
	for (size_t i = 0; i < r->n_attributes; i++)
		n += str_size(r->attributes[i].key) +
		     str_size(r->attributes[i].value);
	return n;
}

size_t op_encode_upsert(const reconnu_record *r, uint8_t *buf)
{
	uint8_t *p = buf;
	*p++ = 1;
	p = put_str(p, r->source);
	p = put_str(p, r->source_id);
	p = put_str(p, r->given_name);
	p = put_str(p, r->family_name);
	p = put_str(p, r->full_name);
	p = put_str(p, r->birth_date);
	p = put_str(p, r->gender);
	p = put_str(p, r->country);
	p = put_i64(p, r->updated_at);
	p = put_varint(p, r->n_emails);
	for (size_t i = 0; i < r->n_emails; i++)
		p = put_str(p, r->emails[i]);
	p = put_varint(p, r->n_phones);
	for (size_t i = 0; i < r->n_phones; i++)
		p = put_str(p, r->phones[i]);
	p = put_varint(p, r->n_addresses);
	for (size_t i = 0; i < r->n_addresses; i++) {
		const reconnu_address *a = &r->addresses[i];
		p = put_str(p, a->line1);
		p = put_str(p, a->line2);
		p = put_str(p, a->city);
		p = put_str(p, a->postcode);
		p = put_str(p, a->region);
		p = put_str(p, a->country);
	}
	p = put_varint(p, r->n_identifiers);
	for (size_t i = 0; i < r->n_identifiers; i++) {
		p = put_str(p, r->identifiers[i].type);
		p = put_str(p, r->identifiers[i].value);
	}
	p = put_varint(p, r->n_consents);
	for (size_t i = 0; i < r->n_consents; i++) {
		p = put_str(p, r->consents[i].channel);
		*p++ = (uint8_t)(r->consents[i].granted ? 1 : 0);
		p = put_i64(p, r->consents[i].at);
	}
	p = put_varint(p, r->n_attributes);
	for (size_t i = 0; i < r->n_attributes; i++) {
		p = put_str(p, r->attributes[i].key);
		p = put_str(p, r->attributes[i].value);
	}
	return (size_t)(p - buf);
}

size_t op_encode_delete(const char *source, const char *source_id,
			uint8_t *buf, size_t cap)
{
	if (1 + str_size(source) + str_size(source_id) > cap)
		return 0;
	uint8_t *p = buf;
	*p++ = 1;
	p = put_str(p, source);
	p = put_str(p, source_id);
	return (size_t)(p - buf);
}

/* ---- decoding --------------------------------------------------------- */

struct rd {
	const uint8_t *p, *end;
	struct arena *a;
	int bad;
};

static uint64_t get_varint(struct rd *r)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (r->p >= r->end) {
			r->bad = 1;
			return 0;
		}
		uint8_t b = *r->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	r->bad = 1;
	return 0;
}

static const char *get_str(struct rd *r)
{
	uint64_t n = get_varint(r);
	if (r->bad || n > (uint64_t)(r->end - r->p)) {
		r->bad = 1;
		return "";
	}
	char *s = arena_alloc(r->a, (size_t)n + 1);
	if (!s) {
		r->bad = 2;
		return "";
	}
	memcpy(s, r->p, (size_t)n);
	s[n] = 0;
	r->p += n;
	return s;
}

static int64_t get_i64(struct rd *r)
{
	if (r->end - r->p < 8) {
		r->bad = 1;
		return 0;
	}
	uint64_t u = 0;
	for (int i = 0; i < 8; i++)
		u |= (uint64_t)r->p[i] << (8 * i);
	r->p += 8;
	return (int64_t)u;
}

/* A list count, bounded by what the remaining bytes can hold. */
static size_t get_count(struct rd *r, size_t min_item)
{
	uint64_t n = get_varint(r);
	if (r->bad || n > RECONNU_MAX_ATTRIBUTES ||
	    n * min_item > (uint64_t)(r->end - r->p)) {
		r->bad = 1;
		return 0;
	}
	return (size_t)n;
}

static void *get_array(struct rd *r, size_t n, size_t elem)
{
	if (!n)
		return NULL;
	void *p = arena_alloc(r->a, n * elem);
	if (!p)
		r->bad = 2;
	return p;
}

int op_decode_upsert(const uint8_t *p, size_t n, struct arena *a,
		     reconnu_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	struct rd r = {p, p + n, a, 0};
	if (n < 1 || *r.p++ != 1)
		return -1;
	rec->source = get_str(&r);
	rec->source_id = get_str(&r);
	rec->given_name = get_str(&r);
	rec->family_name = get_str(&r);
	rec->full_name = get_str(&r);
	rec->birth_date = get_str(&r);
	rec->gender = get_str(&r);
	rec->country = get_str(&r);
	rec->updated_at = get_i64(&r);
	size_t k = get_count(&r, 1);
	const char **em = get_array(&r, k, sizeof(char *));
	for (size_t i = 0; em && i < k; i++)
		em[i] = get_str(&r);
	rec->emails = em;
	rec->n_emails = em ? k : 0;
	k = get_count(&r, 1);
	const char **ph = get_array(&r, k, sizeof(char *));
	for (size_t i = 0; ph && i < k; i++)
		ph[i] = get_str(&r);
	rec->phones = ph;
	rec->n_phones = ph ? k : 0;
	k = get_count(&r, 6);
	reconnu_address *ad = get_array(&r, k, sizeof(*ad));
	for (size_t i = 0; ad && i < k; i++) {
		ad[i].line1 = get_str(&r);
		ad[i].line2 = get_str(&r);
		ad[i].city = get_str(&r);
		ad[i].postcode = get_str(&r);
		ad[i].region = get_str(&r);
		ad[i].country = get_str(&r);
	}
	rec->addresses = ad;
	rec->n_addresses = ad ? k : 0;
	k = get_count(&r, 2);
	reconnu_identifier *id = get_array(&r, k, sizeof(*id));
	for (size_t i = 0; id && i < k; i++) {
		id[i].type = get_str(&r);
		id[i].value = get_str(&r);
	}
	rec->identifiers = id;
	rec->n_identifiers = id ? k : 0;
	k = get_count(&r, 10);
	reconnu_consent *c = get_array(&r, k, sizeof(*c));
	for (size_t i = 0; c && i < k; i++) {
		c[i].channel = get_str(&r);
		if (r.p >= r.end) {
			r.bad = 1;
			break;
		}
		c[i].granted = *r.p++ ? 1 : 0;
		c[i].at = get_i64(&r);
	}
	rec->consents = c;
	rec->n_consents = c ? k : 0;
	k = get_count(&r, 2);
	reconnu_attr *at = get_array(&r, k, sizeof(*at));
	for (size_t i = 0; at && i < k; i++) {
		at[i].key = get_str(&r);
		at[i].value = get_str(&r);
	}
	rec->attributes = at;
	rec->n_attributes = at ? k : 0;
	if (r.bad == 2)
		return RECONNU_ENOMEM;
	return r.bad || r.p != r.end ? -1 : 0;
}

int op_decode_delete(const uint8_t *p, size_t n, struct arena *a,
		     const char **source, const char **source_id)
{
	struct rd r = {p, p + n, a, 0};
	if (n < 1 || *r.p++ != 1)
		return -1;
	*source = get_str(&r);
	*source_id = get_str(&r);
	return r.bad || r.p != r.end ? -1 : 0;
}
