/*
 * dataset.c — labelled rows of reconnu-eval (see dataset.h).
 */
#define _GNU_SOURCE
#include "dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/uscript.h>
#include <unicode/utf8.h>

#define obstack_chunk_alloc malloc
#define obstack_chunk_free  free

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h ^ (h >> 29);
}

static int strtab_grow(struct strtab *t)
{
	size_t cap = t->mask ? 2 * (t->mask + 1) : 1024;
	uint32_t *slots = calloc(cap, sizeof(*slots));
	if (slots == NULL)
		return -1;
	for (size_t i = 0; i < t->n; i++) {
		size_t h = hash_str(t->pool + t->off[i]) & (cap - 1);
		while (slots[h])
			h = (h + 1) & (cap - 1);
		slots[h] = (uint32_t)i + 1;
	}
	free(t->slots);
	t->slots = slots;
	t->mask = cap - 1;
	return 0;
}

/** Id of s, or -1 when absent. */
static int64_t strtab_find(const struct strtab *t, const char *s)
{
	if (t->slots == NULL)
		return -1;
	size_t h = hash_str(s) & t->mask;
	for (; t->slots[h]; h = (h + 1) & t->mask)
		if (strcmp(t->pool + t->off[t->slots[h] - 1], s) == 0)
			return t->slots[h] - 1;
	return -1;
}

/** Id of s, added when new (*added = 1). @retval id, or -1 out of memory */
static int64_t strtab_intern(struct strtab *t, const char *s, int *added)
{
	*added = 0;
	if (2 * (t->n + 1) > t->mask && strtab_grow(t) != 0)
		return -1;
	int64_t id = strtab_find(t, s);
	if (id >= 0)
		return id;
	size_t len = strlen(s) + 1;
	if (t->len + len > t->cap) {
		size_t cap = t->cap ? t->cap : 1 << 16;
		while (cap < t->len + len)
			cap *= 2;
		char *p = realloc(t->pool, cap);
		if (p == NULL)
			return -1;
		t->pool = p;
		t->cap = cap;
	}
	if (t->n == t->off_cap) {
		size_t cap = t->off_cap ? 2 * t->off_cap : 1024;
		size_t *p = realloc(t->off, cap * sizeof(*p));
		if (p == NULL)
			return -1;
		t->off = p;
		t->off_cap = cap;
	}
	size_t h = hash_str(s) & t->mask;
	while (t->slots[h])
		h = (h + 1) & t->mask;
	memcpy(t->pool + t->len, s, len);
	t->off[t->n] = t->len;
	t->len += len;
	t->slots[h] = (uint32_t)t->n + 1;
	*added = 1;
	return (int64_t)t->n++;
}

static void strtab_destroy(struct strtab *t)
{
	free(t->pool);
	free(t->off);
	free(t->slots);
}

void dataset_create(struct dataset *d)
{
	memset(d, 0, sizeof(*d));
	obstack_init(&d->pool);
}

void dataset_destroy(struct dataset *d)
{
	strtab_destroy(&d->keys);
	strtab_destroy(&d->truths);
	free(d->rows);
	obstack_free(&d->pool, NULL);
	memset(d, 0, sizeof(*d));
}

static const char *dup_str(struct obstack *o, const char *s)
{
	return s ? obstack_copy0(o, s, strlen(s)) : NULL;
}

static const char *const *dup_strv(struct obstack *o, const char *const *v,
				   size_t n)
{
	if (n == 0)
		return NULL;
	const char **out = obstack_alloc(o, n * sizeof(*out));
	for (size_t k = 0; k < n; k++)
		out[k] = dup_str(o, v[k]);
	return out;
}

static void copy_record(struct obstack *o, const reconnu_record *in,
			reconnu_record *out)
{
	*out = *in;
	out->source = dup_str(o, in->source);
	out->source_id = dup_str(o, in->source_id);
	out->given_name = dup_str(o, in->given_name);
	out->family_name = dup_str(o, in->family_name);
	out->full_name = dup_str(o, in->full_name);
	out->birth_date = dup_str(o, in->birth_date);
	out->gender = dup_str(o, in->gender);
	out->country = dup_str(o, in->country);
	out->emails = dup_strv(o, in->emails, in->n_emails);
	out->phones = dup_strv(o, in->phones, in->n_phones);
	if (in->n_addresses) {
		reconnu_address *a =
		    obstack_alloc(o, in->n_addresses * sizeof(*a));
		for (size_t k = 0; k < in->n_addresses; k++) {
			const reconnu_address *s = &in->addresses[k];
			a[k] = (reconnu_address){
			    dup_str(o, s->line1),  dup_str(o, s->line2),
			    dup_str(o, s->city),   dup_str(o, s->postcode),
			    dup_str(o, s->region), dup_str(o, s->country),
			};
		}
		out->addresses = a;
	}
	if (in->n_identifiers) {
		reconnu_identifier *v =
		    obstack_alloc(o, in->n_identifiers * sizeof(*v));
		for (size_t k = 0; k < in->n_identifiers; k++)
			v[k] = (reconnu_identifier){
			    dup_str(o, in->identifiers[k].type),
			    dup_str(o, in->identifiers[k].value)};
		out->identifiers = v;
	}
	if (in->n_consents) {
		reconnu_consent *v =
		    obstack_alloc(o, in->n_consents * sizeof(*v));
		for (size_t k = 0; k < in->n_consents; k++) {
			v[k] = in->consents[k];
			v[k].channel = dup_str(o, in->consents[k].channel);
		}
		out->consents = v;
	}
	if (in->n_attributes) {
		reconnu_attr *v =
		    obstack_alloc(o, in->n_attributes * sizeof(*v));
		for (size_t k = 0; k < in->n_attributes; k++)
			v[k] =
			    (reconnu_attr){dup_str(o, in->attributes[k].key),
					   dup_str(o, in->attributes[k].value)};
		out->attributes = v;
	}
}

static void make_key(char *buf, size_t size, const char *source,
		     const char *source_id)
{
	snprintf(buf, size, "%s\x1f%s", source ? source : "",
		 source_id ? source_id : "");
}

int64_t dataset_add(struct dataset *d, const reconnu_record *rec,
		    const char *truth, bool rejected, bool *replaced)
{
	char key[2 * RECONNU_MAX_KEY_LEN + 2];
	int added;
	make_key(key, sizeof(key), rec->source, rec->source_id);
	int64_t id = strtab_intern(&d->keys, key, &added);
	int64_t tid = truth ? strtab_intern(&d->truths, truth, &(int){0})
			    : DATASET_NO_TRUTH;
	if (id < 0 || tid < 0)
		return -1;
	*replaced = !added;
	if ((size_t)id == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 4096;
		struct ds_row *p = realloc(d->rows, cap * sizeof(*p));
		if (p == NULL)
			return -1;
		d->rows = p;
		d->cap = cap;
	}
	struct ds_row *r = &d->rows[id];
	*r = (struct ds_row){.truth = (uint32_t)tid,
			     .rejected = rejected,
			     .pred = DATASET_SINGLETON | (uint64_t)id};
	copy_record(&d->pool, rec, &r->rec);
	r->script = dataset_name_script(&r->rec);
	return id;
}

int64_t dataset_find(const struct dataset *d, const char *source,
		     const char *source_id)
{
	char key[2 * RECONNU_MAX_KEY_LEN + 2];
	make_key(key, sizeof(key), source, source_id);
	return strtab_find(&d->keys, key);
}

const char *dataset_truth(const struct dataset *d, size_t row)
{
	uint32_t t = d->rows[row].truth;
	return t == DATASET_NO_TRUTH ? "" : d->truths.pool + d->truths.off[t];
}

void dataset_truth_classes(const struct dataset *d, uint64_t *out)
{
	for (size_t i = 0; i < d->keys.n; i++)
		out[i] = d->rows[i].truth == DATASET_NO_TRUTH
			     ? d->truths.n + (uint64_t)i
			     : d->rows[i].truth;
}

uint64_t dataset_predict(struct dataset *d, reconnu *r)
{
	uint64_t failed = 0;
	for (size_t i = 0; i < d->keys.n; i++) {
		struct ds_row *row = &d->rows[i];
		row->pred = DATASET_SINGLETON | i;
		if (row->rejected)
			continue;
		reconnu_golden *g;
		if (reconnu_get_entity_by_key(r, row->rec.source,
					      row->rec.source_id, &g) == 0) {
			row->pred = g->entity_id;
			reconnu_golden_free(g);
		} else if (++failed <= 10) {
			fprintf(stderr, "no entity for %s/%s: %s\n",
				row->rec.source, row->rec.source_id,
				reconnu_last_error());
		}
	}
	return failed;
}

static int32_t text_script(const char *s)
{
	if (s == NULL)
		return DATASET_NO_SCRIPT;
	int32_t n = (int32_t)strlen(s);
	for (int32_t i = 0; i < n;) {
		UChar32 c;
		U8_NEXT(s, i, n, c);
		if (c < 0)
			continue;
		UErrorCode err = U_ZERO_ERROR;
		UScriptCode sc = uscript_getScript(c, &err);
		if (U_FAILURE(err) || sc == USCRIPT_COMMON ||
		    sc == USCRIPT_INHERITED || sc == USCRIPT_UNKNOWN)
			continue;
		return sc;
	}
	return DATASET_NO_SCRIPT;
}

int32_t dataset_name_script(const reconnu_record *rec)
{
	int32_t s = text_script(rec->given_name);
	if (s == DATASET_NO_SCRIPT)
		s = text_script(rec->family_name);
	if (s == DATASET_NO_SCRIPT)
		s = text_script(rec->full_name);
	return s;
}

const char *dataset_script_name(int32_t script)
{
	if (script == DATASET_NO_SCRIPT)
		return "none";
	const char *name = uscript_getName((UScriptCode)script);
	return name ? name : "unknown";
}
