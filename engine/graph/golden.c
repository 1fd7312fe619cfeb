/* golden — survivorship rules; see golden.h. */
#include "golden.h"

#include <stdlib.h>
#include <string.h>

/* A member with its survivorship rank and its raw input. */
struct mem {
	const struct store_rec *r;
	size_t src_rank;
	reconnu_record raw; /**< store_rec_raw: the values as given */
	/** r's source and source_id copied once into the arena, shared by
	 *  the golden record's member list and every value r provides */
	const char *source, *source_id;
};

static size_t source_rank(const struct golden_policy *pol, const char *src)
{
	if (!pol)
		return 0;
	for (size_t i = 0; i < pol->n_source_priority; i++)
		if (!strcmp(pol->source_priority[i], src))
			return i;
	return pol->n_source_priority;
}

/* Most recent first: updated_at, then upsert order. */
static int by_recency(const void *x, const void *y)
{
	const struct mem *a = x, *b = y;
	if (a->r->updated_at != b->r->updated_at)
		return a->r->updated_at > b->r->updated_at ? -1 : 1;
	return a->r->seq > b->r->seq ? -1 : (a->r->seq < b->r->seq);
}

static int by_id(const void *x, const void *y)
{
	const struct mem *a = x, *b = y;
	return (a->r->id > b->r->id) - (a->r->id < b->r->id);
}

static int set_value(struct arena *a, reconnu_value *v, const char *value,
		     const struct mem *m)
{
	v->value = arena_strdup(a, value);
	v->source = m->source;
	v->source_id = m->source_id;
	v->updated_at = m->r->updated_at;
	v->count = 1;
	return v->value && v->source && v->source_id ? 0 : RECONNU_ENOMEM;
}

typedef const char *(*field_fn)(const struct mem *m);
static const char *f_given(const struct mem *m) { return m->raw.given_name; }
static const char *f_family(const struct mem *m) { return m->raw.family_name; }
static const char *f_full(const struct mem *m) { return m->raw.full_name; }
static const char *f_birth(const struct mem *m) { return m->raw.birth_date; }
static const char *f_gender(const struct mem *m) { return m->raw.gender; }

/* Best single value: lowest source rank, then most recent (ms is sorted
 * by recency, so the first hit of the best rank wins). */
static int single(struct arena *a, const struct mem *ms, size_t n, field_fn f,
		  reconnu_value *out)
{
	const struct mem *best = NULL;
	uint32_t count = 0;
	for (size_t i = 0; i < n; i++) {
		const char *v = f(&ms[i]);
		if (!v || !*v)
			continue;
		if (!best || ms[i].src_rank < best->src_rank)
			best = &ms[i];
	}
	if (!best)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const char *v = f(&ms[i]);
		if (v && !strcmp(v, f(best)))
			count++;
	}
	int rc = set_value(a, out, f(best), best);
	out->count = count;
	return rc;
}

/* Distinct values: key is the normalised form, shown is the raw form. */
struct multi {
	reconnu_value *v;
	const char **keys;
	size_t n, cap;
};

/* Adds one occurrence of key; *fresh (may be NULL) tells whether it is a
 * new distinct value (then the last entry). */
static int multi_add(struct arena *a, struct multi *m, const char *key,
		     const char *shown, const struct mem *r, int *fresh)
{
	if (fresh)
		*fresh = 0;
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->keys[i], key)) {
			m->v[i].count++;
			return 0;
		}
	if (fresh)
		*fresh = 1;
	if (m->n == m->cap) {
		size_t ncap = m->cap ? 2 * m->cap : 8;
		reconnu_value *nv = arena_alloc(a, ncap * sizeof(*nv));
		const char **nk = arena_alloc(a, ncap * sizeof(*nk));
		if (!nv || !nk)
			return RECONNU_ENOMEM;
		if (m->n) {
			memcpy(nv, m->v, m->n * sizeof(*nv));
			memcpy(nk, m->keys, m->n * sizeof(*nk));
		}
		m->v = nv;
		m->keys = nk;
		m->cap = ncap;
	}
	m->keys[m->n] = key;
	return set_value(a, &m->v[m->n++], shown, r);
}

/* "line|city|postcode" of x in a, or NULL. Built with memcpy: golden
 * records are built per identify, where snprintf stood out. */
static char *addr_key(struct arena *a, const struct store_addr *x)
{
	const char *parts[5] = {x->line, "|", x->city, "|", x->postcode};
	size_t lens[5], len = 1;
	for (int i = 0; i < 5; i++)
		len += lens[i] = strlen(parts[i]);
	char *key = arena_alloc(a, len), *p = key;
	if (!key)
		return NULL;
	for (int i = 0; i < 5; i++) {
		memcpy(p, parts[i], lens[i]);
		p += lens[i];
	}
	*p = 0;
	return key;
}

int golden_build(const struct store *st, const struct graph_entity *e,
		 const struct golden_policy *pol, struct arena *a,
		 reconnu_golden *g)
{
	memset(g, 0, sizeof(*g));
	g->entity_id = e->id;
	g->version = e->version;
	size_t n = e->n_members;
	struct mem *ms = arena_alloc(a, (n ? n : 1) * sizeof(*ms));
	if (!ms)
		return RECONNU_ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const struct store_rec *r = store_get(st, e->members[i]);
		if (r) {
			ms[k].r = r;
			ms[k].src_rank = source_rank(pol, r->raw.source);
			if (store_rec_raw(r, &ms[k].raw, a))
				return RECONNU_ENOMEM;
			k++;
		}
	}
	n = k;

	/* members, oldest first */
	qsort(ms, n, sizeof(*ms), by_id);
	g->members = arena_alloc(a, (n ? n : 1) * sizeof(*g->members));
	if (!g->members)
		return RECONNU_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		ms[i].source = arena_strdup(a, ms[i].r->raw.source);
		ms[i].source_id = arena_strdup(a, ms[i].r->raw.source_id);
		if (!ms[i].source || !ms[i].source_id)
			return RECONNU_ENOMEM;
		g->members[i].source = ms[i].source;
		g->members[i].source_id = ms[i].source_id;
	}
	g->n_members = n;
	g->aliases = arena_alloc(a, (e->n_aliases + 1) * sizeof(uint64_t));
	if (!g->aliases)
		return RECONNU_ENOMEM;
	if (e->n_aliases)
		memcpy(g->aliases, e->aliases, e->n_aliases * sizeof(uint64_t));
	g->n_aliases = e->n_aliases;

	qsort(ms, n, sizeof(*ms), by_recency);
	if (single(a, ms, n, f_given, &g->given_name) ||
	    single(a, ms, n, f_family, &g->family_name) ||
	    single(a, ms, n, f_full, &g->full_name) ||
	    single(a, ms, n, f_birth, &g->birth_date) ||
	    single(a, ms, n, f_gender, &g->gender))
		return RECONNU_ENOMEM;

	struct multi em = {0}, ph = {0}, ids = {0}, ad = {0};
	for (size_t i = 0; i < n; i++) {
		const struct store_rec *r = ms[i].r;
		for (size_t j = 0; j < ms[i].raw.n_emails; j++) {
			char key[RECONNU_MAX_FIELD_LEN + 1];
			const char *raw = ms[i].raw.emails[j];
			if (norm_email(raw, key, sizeof(key)) <= 0)
				continue;
			const char *kd = arena_strdup(a, key);
			if (!kd || multi_add(a, &em, kd, raw, &ms[i], NULL))
				return RECONNU_ENOMEM;
		}
		for (size_t j = 0; j < r->n_phones; j++)
			if (multi_add(a, &ph, r->phones[j], r->phones[j],
				      &ms[i], NULL))
				return RECONNU_ENOMEM;
		for (size_t j = 0; j < r->n_ids; j++)
			if (multi_add(a, &ids, r->ids[j], r->ids[j], &ms[i],
				      NULL))
				return RECONNU_ENOMEM;
		for (size_t j = 0; j < r->n_addrs; j++) {
			const struct store_addr *x = &r->addrs[j];
			char *key = addr_key(a, x);
			if (!key)
				return RECONNU_ENOMEM;
			int fresh;
			if (multi_add(a, &ad, key, "", &ms[i], &fresh))
				return RECONNU_ENOMEM;
			/* value carries the raw address of the first (most
			 * recent) record giving this distinct address */
			if (fresh)
				ad.v[ad.n - 1].value =
					(const char *)&ms[i].raw.addresses[j];
		}
	}
	g->emails = em.v;
	g->n_emails = em.n;
	g->phones = ph.v;
	g->n_phones = ph.n;
	g->identifiers = ids.v;
	g->n_identifiers = ids.n;
	if (ad.n) {
		g->addresses = arena_alloc(a, ad.n * sizeof(*g->addresses));
		if (!g->addresses)
			return RECONNU_ENOMEM;
		for (size_t i = 0; i < ad.n; i++) {
			const reconnu_address *src =
				(const reconnu_address *)ad.v[i].value;
			reconnu_golden_address *d = &g->addresses[i];
			d->address.line1 = arena_strdup(a, src->line1);
			d->address.line2 = arena_strdup(a, src->line2);
			d->address.city = arena_strdup(a, src->city);
			d->address.postcode = arena_strdup(a, src->postcode);
			d->address.region = arena_strdup(a, src->region);
			d->address.country = arena_strdup(a, src->country);
			d->source = ad.v[i].source;
			d->source_id = ad.v[i].source_id;
			d->updated_at = ad.v[i].updated_at;
			d->count = ad.v[i].count;
		}
		g->n_addresses = ad.n;
	}

	/* consents: per channel, the latest statement wins */
	size_t n_cons = 0;
	for (size_t i = 0; i < n; i++)
		n_cons += ms[i].raw.n_consents;
	if (n_cons) {
		g->consents = arena_alloc(a, n_cons * sizeof(*g->consents));
		if (!g->consents)
			return RECONNU_ENOMEM;
		/* ms is most recent first: on equal `at`, the record upserted
		 * last wins because it is seen first and kept. */
		for (size_t i = 0; i < n; i++) {
			for (size_t j = 0; j < ms[i].raw.n_consents; j++) {
				const reconnu_consent *c = &ms[i].raw.consents[j];
				size_t x = 0;
				while (x < g->n_consents &&
				       strcmp(g->consents[x].channel, c->channel))
					x++;
				if (x < g->n_consents &&
				    g->consents[x].at >= c->at)
					continue;
				reconnu_golden_consent *d = &g->consents[x];
				d->channel = c->channel;
				d->granted = c->granted;
				d->at = c->at;
				d->source = ms[i].source;
				d->source_id = ms[i].source_id;
				if (x == g->n_consents)
					g->n_consents++;
			}
		}
		for (size_t x = 0; x < g->n_consents; x++) {
			reconnu_golden_consent *d = &g->consents[x];
			d->channel = arena_strdup(a, d->channel);
			if (!d->channel)
				return RECONNU_ENOMEM;
		}
	}

	/* attributes: per key, the most recent value */
	size_t n_attr = 0;
	for (size_t i = 0; i < n; i++)
		n_attr += ms[i].raw.n_attributes;
	if (n_attr) {
		g->attributes = arena_alloc(a, n_attr * sizeof(*g->attributes));
		g->attribute_provenance =
			arena_alloc(a, n_attr * sizeof(reconnu_value));
		if (!g->attributes || !g->attribute_provenance)
			return RECONNU_ENOMEM;
		for (size_t i = 0; i < n; i++) {
			for (size_t j = 0; j < ms[i].raw.n_attributes; j++) {
				const reconnu_attr *at = &ms[i].raw.attributes[j];
				size_t x = 0;
				while (x < g->n_attributes &&
				       strcmp(g->attributes[x].key, at->key))
					x++;
				if (x < g->n_attributes)
					continue;
				g->attributes[x].key = arena_strdup(a, at->key);
				g->attributes[x].value =
					arena_strdup(a, at->value);
				if (set_value(a, &g->attribute_provenance[x],
					      at->value, &ms[i]))
					return RECONNU_ENOMEM;
				g->n_attributes++;
			}
		}
	}
	return 0;
}
