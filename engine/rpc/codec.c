/* codec — protobuf <-> reconnu.h values and request validation; see codec.h. */
#include "codec.h"

#include <stdio.h>
#include <string.h>

enum { MAX_DEPTH = 16, PATH_MAX_LEN = 192 };

/* ---- per-call memory ---------------------------------------------------- */

static void *pb_alloc(void *data, size_t n)
{
	return codec_alloc(data, n);
}

static void pb_free(void *data, void *p)
{
	(void)data;
	(void)p;
}

void codec_mem_create(struct codec_mem *m, size_t budget)
{
	arena_create(&m->arena);
	m->budget = budget;
	m->over_budget = 0;
	m->pb.alloc = pb_alloc;
	m->pb.free = pb_free;
	m->pb.allocator_data = m;
}

void codec_mem_destroy(struct codec_mem *m)
{
	arena_destroy(&m->arena);
	m->over_budget = 0;
}

void *codec_alloc(struct codec_mem *m, size_t n)
{
	if (n > m->budget || m->arena.total + n > m->budget) {
		m->over_budget = 1;
		return NULL;
	}
	return arena_alloc(&m->arena, n);
}

/* ---- wire check --------------------------------------------------------- */

static int fail(char *err, size_t errlen, const char *path, const char *what)
{
	snprintf(err, errlen, "%s%s%s", path, *path ? ": " : "", what);
	return CODEC_EINVAL;
}

/** Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF)
 *  and no NUL. Returns NULL when valid, else what is wrong. */
static const char *check_utf8(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = s[i];
		if (c == 0)
			return "NUL byte in string";
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t len;
		uint32_t cp, min;
		if ((c & 0xE0) == 0xC0) {
			len = 2, cp = c & 0x1F, min = 0x80;
		} else if ((c & 0xF0) == 0xE0) {
			len = 3, cp = c & 0x0F, min = 0x800;
		} else if ((c & 0xF8) == 0xF0) {
			len = 4, cp = c & 0x07, min = 0x10000;
		} else {
			return "invalid UTF-8";
		}
		if (n - i < len)
			return "invalid UTF-8";
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return "invalid UTF-8";
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return "invalid UTF-8";
		i += len;
	}
	return NULL;
}

static int read_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *out)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (*pos >= len)
			return -1;
		uint8_t b = p[(*pos)++];
		v |= (uint64_t)(b & 0x7F) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return 0;
		}
	}
	return -1;
}

/** Wire type protobuf expects for a field of this type (packed repeated
 *  scalars also arrive length-delimited). */
static int expected_wire(const ProtobufCFieldDescriptor *f, int wt)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_BYTES:
	case PROTOBUF_C_TYPE_MESSAGE:
		return wt == 2;
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return wt == 1 ||
		       (wt == 2 && f->label == PROTOBUF_C_LABEL_REPEATED);
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_FLOAT:
		return wt == 5 ||
		       (wt == 2 && f->label == PROTOBUF_C_LABEL_REPEATED);
	default:
		return wt == 0 ||
		       (wt == 2 && f->label == PROTOBUF_C_LABEL_REPEATED);
	}
}

static int check_msg(const ProtobufCMessageDescriptor *d, const uint8_t *p,
		     size_t len, int depth, char *path, char *err,
		     size_t errlen)
{
	if (depth > MAX_DEPTH)
		return fail(err, errlen, path, "nesting too deep");
	size_t pos = 0;
	size_t plen = strlen(path);
	while (pos < len) {
		uint64_t tag, n;
		if (read_varint(p, len, &pos, &tag) || (tag >> 3) == 0 ||
		    (tag >> 3) > 0x1FFFFFFF)
			return fail(err, errlen, path, "malformed message");
		int wt = (int)(tag & 7);
		const ProtobufCFieldDescriptor *f =
		    protobuf_c_message_descriptor_get_field(
			d, (unsigned)(tag >> 3));
		if (f && !expected_wire(f, wt)) {
			snprintf(path + plen, PATH_MAX_LEN - plen, "%s%s",
				 plen ? "." : "", f->name);
			return fail(err, errlen, path, "wrong wire type");
		}
		switch (wt) {
		case 0:
			if (read_varint(p, len, &pos, &n))
				return fail(err, errlen, path,
					    "malformed varint");
			break;
		case 1:
			if (len - pos < 8)
				return fail(err, errlen, path, "truncated");
			pos += 8;
			break;
		case 5:
			if (len - pos < 4)
				return fail(err, errlen, path, "truncated");
			pos += 4;
			break;
		case 2:
			if (read_varint(p, len, &pos, &n) || n > len - pos)
				return fail(err, errlen, path, "truncated");
			if (f && (f->type == PROTOBUF_C_TYPE_STRING ||
				  f->type == PROTOBUF_C_TYPE_MESSAGE)) {
				snprintf(path + plen, PATH_MAX_LEN - plen,
					 "%s%s", plen ? "." : "", f->name);
				if (f->type == PROTOBUF_C_TYPE_STRING) {
					const char *bad =
					    check_utf8(p + pos, (size_t)n);
					if (bad)
						return fail(err, errlen, path,
							    bad);
				} else if (check_msg(f->descriptor, p + pos,
						     (size_t)n, depth + 1, path,
						     err, errlen)) {
					return CODEC_EINVAL;
				}
				path[plen] = 0;
			}
			pos += (size_t)n;
			break;
		default:
			return fail(err, errlen, path, "unsupported wire type");
		}
	}
	return CODEC_OK;
}

int codec_check_wire(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
		     size_t len, char *err, size_t errlen)
{
	char path[PATH_MAX_LEN] = "";
	return check_msg(d, buf, len, 0, path, err, errlen);
}

int codec_decode(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
		 size_t len, struct codec_mem *m, ProtobufCMessage **out,
		 char *err, size_t errlen)
{
	*out = NULL;
	int rc = codec_check_wire(d, buf, len, err, errlen);
	if (rc)
		return rc;
	*out = protobuf_c_message_unpack(d, &m->pb, len, buf);
	if (!*out) {
		if (m->over_budget) {
			snprintf(err, errlen, "request too large to decode");
			return CODEC_ELIMIT;
		}
		snprintf(err, errlen, "malformed message");
		return CODEC_EINVAL;
	}
	return CODEC_OK;
}

/* ---- requests ----------------------------------------------------------- */

static int list_cap(size_t n, size_t cap, const char *what, const char *field,
		    char *err, size_t errlen)
{
	if (n <= cap)
		return 0;
	snprintf(err, errlen, "%s.%s: more than %zu items", what, field, cap);
	return CODEC_EINVAL;
}

int codec_record_from_pb(const Reconnu__V1__Record *pb, const char *what,
			 struct codec_mem *m, reconnu_record *out, char *err,
			 size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (!pb) {
		snprintf(err, errlen, "%s: required", what);
		return CODEC_EINVAL;
	}
	if (list_cap(pb->n_emails, RECONNU_MAX_LIST, what, "emails", err,
		     errlen) ||
	    list_cap(pb->n_phones, RECONNU_MAX_LIST, what, "phones", err,
		     errlen) ||
	    list_cap(pb->n_addresses, RECONNU_MAX_LIST, what, "addresses", err,
		     errlen) ||
	    list_cap(pb->n_identifiers, RECONNU_MAX_LIST, what, "identifiers",
		     err, errlen) ||
	    list_cap(pb->n_consents, RECONNU_MAX_LIST, what, "consents", err,
		     errlen) ||
	    list_cap(pb->n_attributes, RECONNU_MAX_ATTRIBUTES, what,
		     "attributes", err, errlen))
		return CODEC_EINVAL;

	out->source = pb->source;
	out->source_id = pb->source_id;
	out->given_name = pb->given_name;
	out->family_name = pb->family_name;
	out->full_name = pb->full_name;
	out->birth_date = pb->birth_date;
	out->gender = pb->gender;
	out->country = pb->country;
	out->emails = (const char *const *)pb->emails;
	out->n_emails = pb->n_emails;
	out->phones = (const char *const *)pb->phones;
	out->n_phones = pb->n_phones;
	out->updated_at = pb->updated_at;

	size_t need = pb->n_addresses * sizeof(reconnu_address) +
		      pb->n_identifiers * sizeof(reconnu_identifier) +
		      pb->n_consents * sizeof(reconnu_consent) +
		      pb->n_attributes * sizeof(reconnu_attr);
	char *mem = need ? codec_alloc(m, need) : NULL;
	if (need && !mem) {
		snprintf(err, errlen, "%s: request too large", what);
		return CODEC_ELIMIT;
	}
	reconnu_address *a = (reconnu_address *)mem;
	for (size_t i = 0; i < pb->n_addresses; i++) {
		const Reconnu__V1__Address *x = pb->addresses[i];
		a[i] = (reconnu_address){x->line1,    x->line2,	 x->city,
					 x->postcode, x->region, x->country};
	}
	reconnu_identifier *id = (reconnu_identifier *)(a + pb->n_addresses);
	for (size_t i = 0; i < pb->n_identifiers; i++)
		id[i] = (reconnu_identifier){pb->identifiers[i]->type,
					     pb->identifiers[i]->value};
	reconnu_consent *c = (reconnu_consent *)(id + pb->n_identifiers);
	for (size_t i = 0; i < pb->n_consents; i++)
		c[i] = (reconnu_consent){pb->consents[i]->channel,
					 pb->consents[i]->granted,
					 pb->consents[i]->at};
	reconnu_attr *at = (reconnu_attr *)(c + pb->n_consents);
	for (size_t i = 0; i < pb->n_attributes; i++)
		at[i] = (reconnu_attr){pb->attributes[i]->key,
				       pb->attributes[i]->value};
	out->addresses = a;
	out->n_addresses = pb->n_addresses;
	out->identifiers = id;
	out->n_identifiers = pb->n_identifiers;
	out->consents = c;
	out->n_consents = pb->n_consents;
	out->attributes = at;
	out->n_attributes = pb->n_attributes;
	return CODEC_OK;
}

int codec_key_check(const Reconnu__V1__RecordKey *k, const char *what,
		    char *err, size_t errlen)
{
	const char *bad = NULL;
	if (!k)
		bad = "required";
	else if (!k->source[0])
		bad = "source required";
	else if (!k->source_id[0])
		bad = "source_id required";
	else if (strlen(k->source) > RECONNU_MAX_KEY_LEN ||
		 strlen(k->source_id) > RECONNU_MAX_KEY_LEN)
		bad = "longer than 256 bytes";
	if (!bad)
		return CODEC_OK;
	snprintf(err, errlen, "%s: %s", what, bad);
	return CODEC_EINVAL;
}

/* ---- responses ---------------------------------------------------------- */

Reconnu__V1__Decision codec_decision(reconnu_decision d)
{
	switch (d) {
	case RECONNU_MATCH:
		return RECONNU__V1__DECISION__DECISION_MATCH;
	case RECONNU_POSSIBLE:
		return RECONNU__V1__DECISION__DECISION_POSSIBLE;
	case RECONNU_NO_MATCH:
		break;
	}
	return RECONNU__V1__DECISION__DECISION_NO_MATCH;
}

/** Borrowed string for a message field: protobuf-c wants "" not NULL. */
static char *str(const char *s)
{
	return (char *)(s ? s : "");
}

/** Allocates an array of n message pointers plus n messages of size sz,
 *  each initialised by init. */
static void **msg_array(struct codec_mem *m, size_t n, size_t sz,
			void (*init)(void *))
{
	if (!n)
		return NULL;
	void **v = codec_alloc(m, n * sizeof(void *));
	char *items = v ? codec_alloc(m, n * sz) : NULL;
	if (!items)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		v[i] = items + i * sz;
		init(v[i]);
	}
	return v;
}

static void value_init(void *p)
{
	reconnu__v1__value__init(p);
}

static void key_init(void *p)
{
	reconnu__v1__record_key__init(p);
}

static void gaddr_init(void *p)
{
	reconnu__v1__golden_address__init(p);
}

static void gconsent_init(void *p)
{
	reconnu__v1__golden_consent__init(p);
}

static void gattr_init(void *p)
{
	reconnu__v1__golden_attribute__init(p);
}

static void feature_init(void *p)
{
	reconnu__v1__feature__init(p);
}

static void candidate_init(void *p)
{
	reconnu__v1__candidate__init(p);
}

static void value_fill(Reconnu__V1__Value *o, const reconnu_value *v)
{
	o->value = str(v->value);
	o->source = str(v->source);
	o->source_id = str(v->source_id);
	o->updated_at = v->updated_at;
	o->count = v->count;
}

/** Single golden value: NULL (unset) when the attribute is unknown. */
static int value_one(struct codec_mem *m, const reconnu_value *v,
		     Reconnu__V1__Value **out)
{
	*out = NULL;
	if (!v->value)
		return 0;
	*out = codec_alloc(m, sizeof(**out));
	if (!*out)
		return -1;
	reconnu__v1__value__init(*out);
	value_fill(*out, v);
	return 0;
}

static int value_list(struct codec_mem *m, const reconnu_value *v, size_t n,
		      Reconnu__V1__Value ***out, size_t *n_out)
{
	*n_out = n;
	*out =
	    (Reconnu__V1__Value **)msg_array(m, n, sizeof(***out), value_init);
	if (n && !*out)
		return -1;
	for (size_t i = 0; i < n; i++)
		value_fill((*out)[i], &v[i]);
	return 0;
}

Reconnu__V1__GoldenRecord *codec_golden_to_pb(const reconnu_golden *g,
					      struct codec_mem *m)
{
	Reconnu__V1__GoldenRecord *o = codec_alloc(m, sizeof(*o));
	if (!o)
		return NULL;
	reconnu__v1__golden_record__init(o);
	o->entity_id = g->entity_id;
	o->version = g->version;
	if (value_one(m, &g->given_name, &o->given_name) ||
	    value_one(m, &g->family_name, &o->family_name) ||
	    value_one(m, &g->full_name, &o->full_name) ||
	    value_one(m, &g->birth_date, &o->birth_date) ||
	    value_one(m, &g->gender, &o->gender) ||
	    value_list(m, g->emails, g->n_emails, &o->emails, &o->n_emails) ||
	    value_list(m, g->phones, g->n_phones, &o->phones, &o->n_phones) ||
	    value_list(m, g->identifiers, g->n_identifiers, &o->identifiers,
		       &o->n_identifiers))
		return NULL;

	o->n_addresses = g->n_addresses;
	o->addresses = (Reconnu__V1__GoldenAddress **)msg_array(
	    m, g->n_addresses, sizeof(**o->addresses), gaddr_init);
	Reconnu__V1__Address *addr =
	    g->n_addresses ? codec_alloc(m, g->n_addresses * sizeof(*addr))
			   : NULL;
	if (g->n_addresses && (!o->addresses || !addr))
		return NULL;
	for (size_t i = 0; i < g->n_addresses; i++) {
		const reconnu_golden_address *x = &g->addresses[i];
		Reconnu__V1__GoldenAddress *y = o->addresses[i];
		reconnu__v1__address__init(&addr[i]);
		addr[i].line1 = str(x->address.line1);
		addr[i].line2 = str(x->address.line2);
		addr[i].city = str(x->address.city);
		addr[i].postcode = str(x->address.postcode);
		addr[i].region = str(x->address.region);
		addr[i].country = str(x->address.country);
		y->address = &addr[i];
		y->source = str(x->source);
		y->source_id = str(x->source_id);
		y->updated_at = x->updated_at;
		y->count = x->count;
	}

	o->n_consents = g->n_consents;
	o->consents = (Reconnu__V1__GoldenConsent **)msg_array(
	    m, g->n_consents, sizeof(**o->consents), gconsent_init);
	if (g->n_consents && !o->consents)
		return NULL;
	for (size_t i = 0; i < g->n_consents; i++) {
		const reconnu_golden_consent *x = &g->consents[i];
		Reconnu__V1__GoldenConsent *y = o->consents[i];
		y->channel = str(x->channel);
		y->granted = x->granted != 0;
		y->at = x->at;
		y->source = str(x->source);
		y->source_id = str(x->source_id);
	}

	o->n_attributes = g->n_attributes;
	o->attributes = (Reconnu__V1__GoldenAttribute **)msg_array(
	    m, g->n_attributes, sizeof(**o->attributes), gattr_init);
	Reconnu__V1__Value **av = NULL;
	size_t n_av = 0;
	if (g->n_attributes &&
	    (!o->attributes || value_list(m, g->attribute_provenance,
					  g->n_attributes, &av, &n_av)))
		return NULL;
	for (size_t i = 0; i < g->n_attributes; i++) {
		o->attributes[i]->key = str(g->attributes[i].key);
		av[i]->value = str(g->attributes[i].value);
		o->attributes[i]->value = av[i];
	}

	o->n_members = g->n_members;
	o->members = (Reconnu__V1__RecordKey **)msg_array(
	    m, g->n_members, sizeof(**o->members), key_init);
	if (g->n_members && !o->members)
		return NULL;
	for (size_t i = 0; i < g->n_members; i++) {
		o->members[i]->source = str(g->members[i].source);
		o->members[i]->source_id = str(g->members[i].source_id);
	}
	o->n_aliases = g->n_aliases;
	o->aliases = g->aliases;
	return o;
}

Reconnu__V1__Explanation *codec_explanation_to_pb(const reconnu_explanation *e,
						  struct codec_mem *m)
{
	Reconnu__V1__Explanation *o = codec_alloc(m, sizeof(*o));
	if (!o)
		return NULL;
	reconnu__v1__explanation__init(o);
	o->prior_weight = e->prior_weight;
	o->total_weight = e->total_weight;
	o->probability = e->probability;
	o->decision = codec_decision(e->decision);
	o->n_features = e->n_features;
	o->features = (Reconnu__V1__Feature **)msg_array(
	    m, e->n_features, sizeof(**o->features), feature_init);
	if (e->n_features && !o->features)
		return NULL;
	for (size_t i = 0; i < e->n_features; i++) {
		const reconnu_feature *x = &e->features[i];
		Reconnu__V1__Feature *y = o->features[i];
		y->attribute = str(x->attribute);
		y->left = str(x->left);
		y->right = str(x->right);
		y->level = str(x->level);
		y->similarity = x->similarity;
		y->weight = x->weight;
		y->tf_adjustment = x->tf_adjustment;
	}
	return o;
}

int codec_match_to_pb(const reconnu_match *match, struct codec_mem *m,
		      Reconnu__V1__IdentifyResponse *out)
{
	reconnu__v1__identify_response__init(out);
	out->decision = codec_decision(match->decision);
	out->entity_id = match->entity_id;
	out->probability = match->probability;
	if (match->golden &&
	    !(out->golden = codec_golden_to_pb(match->golden, m)))
		return -1;
	out->n_candidates = match->n_candidates;
	out->candidates = (Reconnu__V1__Candidate **)msg_array(
	    m, match->n_candidates, sizeof(**out->candidates), candidate_init);
	Reconnu__V1__RecordKey *keys =
	    match->n_candidates
		? codec_alloc(m, match->n_candidates * sizeof(*keys))
		: NULL;
	if (match->n_candidates && (!out->candidates || !keys))
		return -1;
	for (size_t i = 0; i < match->n_candidates; i++) {
		const reconnu_candidate *x = &match->candidates[i];
		Reconnu__V1__Candidate *y = out->candidates[i];
		y->entity_id = x->entity_id;
		y->probability = x->probability;
		y->decision = codec_decision(x->decision);
		reconnu__v1__record_key__init(&keys[i]);
		keys[i].source = str(x->best_record.source);
		keys[i].source_id = str(x->best_record.source_id);
		y->best_record = &keys[i];
	}
	if (match->entity_id && !(out->explanation = codec_explanation_to_pb(
				      &match->explanation, m)))
		return -1;
	return 0;
}

void codec_upsert_to_pb(const reconnu_upsert_result *r,
			Reconnu__V1__UpsertResponse *out)
{
	reconnu__v1__upsert_response__init(out);
	out->entity_id = r->entity_id;
	out->entity_version = r->entity_version;
	out->decision = codec_decision(r->decision);
	out->probability = r->probability;
	out->created = r->created != 0;
	out->merged = r->n_merged;
	out->split = r->n_split;
}

void codec_stats_to_pb(const reconnu_stats *s, Reconnu__V1__StatsResponse *out)
{
	reconnu__v1__stats_response__init(out);
	out->records = s->records;
	out->entities = s->entities;
	out->aliases = s->aliases;
	out->edges = s->edges;
	out->upserts = s->upserts;
	out->deletes = s->deletes;
	out->identifies = s->identifies;
	out->rejected = s->rejected;
	out->merges = s->merges;
	out->splits = s->splits;
	out->possible_pairs = s->possible_pairs;
	out->blocking_keys = s->blocking_keys;
	out->oversized_keys = s->oversized_keys;
	out->memory_bytes = s->memory_bytes;
}
