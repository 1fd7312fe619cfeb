/* Unit test: record validation, normalisation and the key map. */
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "store.h"
#include "unit.h"

static struct store_rec *build(const reconnu_record *in, int key)
{
	struct store_rec *r = NULL;
	char msg[256];
	if (store_rec_build(in, key, &r, msg, sizeof(msg)) != 0)
		printf("#   build failed: %s\n", msg);
	return r;
}

static void test_normalised_forms(void)
{
	const char *emails[] = {"  Jean.Dupont+promo@GMAIL.com ", "jeandupont@gmail.com",
				"not-an-email"};
	const char *phones[] = {"06 12 34 56 78", "0033612345678", "+33 6 12 34 56 78"};
	reconnu_address addr = {"12, Rue de l'Église", "Bât. B", "Saint-Étienne",
				"42 000", NULL, "fr"};
	reconnu_identifier ids[] = {{"Loyalty", "ab-12 34"}};
	reconnu_record in = {.source = "eshop",
			     .source_id = "42",
			     .given_name = "Jean-Luc",
			     .family_name = "Dupont",
			     .birth_date = "1980-05",
			     .gender = "male",
			     .emails = emails,
			     .n_emails = 3,
			     .phones = phones,
			     .n_phones = 3,
			     .addresses = &addr,
			     .n_addresses = 1,
			     .identifiers = ids,
			     .n_identifiers = 1};
	struct store_rec *r = build(&in, 1);
	ok(r != NULL, "record builds");
	if (!r)
		return;
	is_str(r->given, "jean luc", "given name folded");
	is_str(r->family, "dupont", "family name folded");
	is_int(r->birth.year, 1980, "partial date year");
	is_int(r->birth.month, 5, "partial date month");
	is_int(r->birth.day, 0, "partial date has no day");
	is_int(r->gender, 'M', "gender");
	is_int(r->n_emails, 1, "gmail variants collapse, malformed dropped");
	is_str(r->emails[0], "jeandupont@gmail.com", "canonical email");
	is_int(r->n_phones, 1, "three phone spellings, one E.164 number");
	is_str(r->phones[0], "+33612345678", "E.164 with the address country");
	is_int(r->n_addrs, 1, "one address");
	is_str(r->addrs[0].postcode, "42000", "postcode");
	is_str(r->addrs[0].country, "FR", "country");
	ok(strstr(r->addrs[0].line, "eglise") != NULL, "street folded");
	is_int(r->n_ids, 1, "identifier");
	is_str(r->ids[0], "loyalty:AB1234", "identifier normalised");
	struct arena a;
	arena_create(&a);
	reconnu_record raw;
	ok(store_rec_raw(r, &raw, &a) == 0, "raw input unpacks");
	is_int(raw.n_emails, 3, "raw emails all kept");
	is_str(raw.emails[2], "not-an-email", "raw values kept as given");
	is_str(raw.addresses[0].city, "Saint-Étienne", "raw city kept");
	ok(raw.addresses[0].region == NULL, "absent raw value stays NULL");
	is_str(raw.identifiers[0].value, "ab-12 34", "raw identifier kept");
	is_str(raw.gender, "male", "raw gender kept");
	ok(raw.full_name == NULL, "absent raw field stays NULL");
	ok(raw.source == r->raw.source && raw.source_id == r->raw.source_id &&
	       raw.birth_date == r->raw.birth_date,
	   "kept raw values are the packed ones");
	is_str(r->raw.birth_date, "1980-05", "raw birth date kept");
	int inside = 1;
	const char *all[] = {raw.source,       raw.source_id,
			     raw.given_name,   raw.emails[0],
			     raw.phones[2],    raw.addresses[0].line1,
			     r->given,	       r->emails[0],
			     r->addrs[0].city, r->ids[0]};
	for (size_t i = 0; i < sizeof(all) / sizeof(*all); i++)
		inside &= (char *)all[i] > (char *)r &&
			  (char *)all[i] < (char *)r + r->bytes;
	ok(inside, "strings live inside the record's allocation");
	arena_destroy(&a);
	store_rec_delete(r);

	reconnu_record full = {.source = "s", .source_id = "1",
			       .full_name = "王小明"};
	r = build(&full, 1);
	ok(r && !strcmp(r->family, "wang"), "Han full name: family first");
	ok(r && !strcmp(r->given, "xiao ming"), "Han full name: given after");
	store_rec_delete(r);
	reconnu_record full2 = {.source = "s", .source_id = "1",
				.full_name = "Mary Ann Smith"};
	r = build(&full2, 1);
	ok(r && !strcmp(r->family, "smith") && !strcmp(r->given, "mary ann"),
	   "Latin full name: family last");
	store_rec_delete(r);
}

static void test_validation_messages(void)
{
	char msg[256];
	struct store_rec *r;
	reconnu_record in = {.source = "s"};
	is_int(store_rec_build(&in, 1, &r, msg, sizeof(msg)), RECONNU_EINVAL,
	       "missing source_id");
	ok(strstr(msg, "source_id") != NULL, "message names source_id");
	is_int(store_rec_build(&in, 0, &r, msg, sizeof(msg)), 0,
	       "queries need no key");
	store_rec_delete(r);
	reconnu_address a = {.city = "Par\xC0\xAFis"};
	reconnu_record bad = {.source = "s", .source_id = "1",
			      .addresses = &a, .n_addresses = 1};
	is_int(store_rec_build(&bad, 1, &r, msg, sizeof(msg)), RECONNU_EINVAL,
	       "overlong UTF-8 rejected");
	is_str(msg, "addresses[0].city: not valid UTF-8", "message names the item");
	reconnu_record nolist = {.source = "s", .source_id = "1", .n_phones = 2};
	is_int(store_rec_build(&nolist, 1, &r, msg, sizeof(msg)), RECONNU_EINVAL,
	       "count without an array");
	/* birth dates: the year leads; an impossible date is kept as typed */
	const char *dates[] = {"05/17/1980", "17.05.1980", "1980/05/17",
			       "19800517", "1980-02-30", "1980"};
	const int want[] = {RECONNU_EINVAL, RECONNU_EINVAL, 0, 0, 0, 0};
	for (int i = 0; i < 6; i++) {
		reconnu_record d = {.source = "s", .source_id = "1",
				    .birth_date = dates[i]};
		int rc = store_rec_build(&d, 1, &r, msg, sizeof(msg));
		is_int(rc, want[i], dates[i]);
		if (!rc)
			store_rec_delete(r);
		else
			ok(strstr(msg, "birth_date") != NULL,
			   "message names birth_date");
	}
}

static void test_key_map(void)
{
	struct store *st = store_new();
	enum { N = 20000 };
	char id[16];
	int all = 1;
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "k%d", i);
		reconnu_record in = {.source = i % 2 ? "a" : "b", .source_id = id};
		struct store_rec *r = build(&in, 1);
		all &= r && store_put(st, r) == 0 && r->id == (uint32_t)i;
	}
	ok(all, "20000 records get dense ids in order");
	is_int(store_count(st), N, "count");
	snprintf(id, sizeof(id), "k%d", 777);
	is_int(store_lookup(st, "a", id), 777, "lookup by key");
	is_int(store_lookup(st, "b", id), STORE_NONE, "source is part of the key");
	/* replace keeps the id and the created sequence */
	reconnu_record in = {.source = "a", .source_id = id, .given_name = "New"};
	struct store_rec *r = build(&in, 1);
	uint64_t created = store_get(st, 777)->created;
	store_put(st, r);
	is_int(r->id, 777, "replacement keeps the id");
	is_int(r->created, created, "and the creation sequence");
	is_str(store_get(st, 777)->given, "new", "new version visible");
	is_int(store_count(st), N, "count unchanged by replace");
	/* remove every third, then all lookups still right */
	for (int i = 0; i < N; i += 3)
		store_remove(st, (uint32_t)i);
	all = 1;
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "k%d", i);
		uint32_t got = store_lookup(st, i % 2 ? "a" : "b", id);
		all &= (i % 3 == 0) ? got == STORE_NONE : got == (uint32_t)i;
	}
	ok(all, "lookups right after backward-shift removals");
	ok(store_get(st, 0) == NULL, "removed id gives NULL");
	reconnu_record again = {.source = "b", .source_id = "k0"};
	r = build(&again, 1);
	store_put(st, r);
	is_int(r->id, N, "ids are never reused");
	store_delete(st);
}

/* The key map keeps the low 32 bits of a key's hash: two keys that share
 * them (found by a birthday search, ~80,000 keys on average) are still
 * told apart by the key itself, through growth and removal. */
static void test_key_map_low_half_collision(void)
{
	enum { TRIES = 1 << 20, BITS = 21 };
	uint32_t *seen = calloc((size_t)1 << BITS, sizeof(*seen)); /* i + 1 */
	uint32_t *low = calloc((size_t)1 << BITS, sizeof(*low));
	char id[16];
	int a = -1, b = -1;
	for (int i = 0; seen && low && i < TRIES && a < 0; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		reconnu_record in = {.source = "s", .source_id = id};
		struct store_rec *r = build(&in, 1);
		uint32_t h = r ? (uint32_t)store_key_hash(r) : 0;
		store_rec_delete(r);
		for (size_t j = h & ((1u << BITS) - 1); seen[j];
		     j = (j + 1) & ((1u << BITS) - 1))
			if (low[j] == h) {
				a = (int)seen[j] - 1;
				b = i;
				break;
			}
		if (a >= 0)
			break;
		size_t j = h & ((1u << BITS) - 1);
		while (seen[j])
			j = (j + 1) & ((1u << BITS) - 1);
		seen[j] = (uint32_t)i + 1;
		low[j] = h;
	}
	free(seen);
	free(low);
	ok(a >= 0, "two keys share the low half of their hash");
	if (a < 0)
		return;
	uint64_t full[2] = {0, 0};
	for (int k = 0; k < 2; k++) {
		snprintf(id, sizeof(id), "c%d", k ? b : a);
		reconnu_record in = {.source = "s", .source_id = id};
		struct store_rec *r = build(&in, 1);
		full[k] = r ? store_key_hash(r) : 0;
		store_rec_delete(r);
	}
	ok(full[0] != full[1] && (uint32_t)full[0] == (uint32_t)full[1],
	   "with different full hashes");
	struct store *st = store_new();
	/* the pair among others, so that the table grows past them */
	int all = 1;
	for (int i = 0; i < 3000; i++) {
		snprintf(id, sizeof(id), "c%d",
			 i == 1000   ? a
			 : i == 2000 ? b
				     : i + TRIES);
		reconnu_record in = {.source = "s", .source_id = id};
		struct store_rec *r = build(&in, 1);
		all &= r && store_put(st, r) == 0;
	}
	ok(all, "both stored");
	snprintf(id, sizeof(id), "c%d", a);
	is_int(store_lookup(st, "s", id), 1000, "the first found at its id");
	snprintf(id, sizeof(id), "c%d", b);
	is_int(store_lookup(st, "s", id), 2000, "the second found at its id");
	store_remove(st, 1000);
	is_int(store_lookup(st, "s", id), 2000,
	       "the second after removing the first");
	snprintf(id, sizeof(id), "c%d", a);
	is_int(store_lookup(st, "s", id), STORE_NONE, "the first is gone");
	store_delete(st);
}

/* Restoring with the hash computed ahead (a snapshot load) gives the same
 * key map as store_restore; a key restored twice is refused. */
static void test_restore_hashed(void)
{
	struct store *st = store_new();
	enum { N = 5000 };
	char id[16];
	int all = 1;
	store_restore_reserve(st, 2 * N, N);
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "h%d", i);
		reconnu_record in = {.source = "s", .source_id = id};
		struct store_rec *r = build(&in, 1);
		uint64_t h = r ? store_key_hash(r) : 0;
		store_restore_prefetch(st, h);
		/* odd ids left as holes, as deleted records leave them */
		all &= r && (i % 2 ? store_restore(st, r, 2 * (uint32_t)i, 1, 2)
				   : store_restore_hashed(
					 st, r, 2 * (uint32_t)i, 1, 2, h)) == 0;
	}
	ok(all, "restored at their ids, with and without the hash");
	all = 1;
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "h%d", i);
		all &= store_lookup(st, "s", id) == 2 * (uint32_t)i;
	}
	ok(all, "every key found at its id");
	reconnu_record dup = {.source = "s", .source_id = "h7"};
	struct store_rec *r = build(&dup, 1);
	is_int(store_restore_hashed(st, r, 2 * N, 1, 2, store_key_hash(r)),
	       RECONNU_EINVAL, "a key restored twice is refused");
	store_rec_delete(r);
	is_int(store_count(st), N, "count");
	store_delete(st);
}

/* The key map's hash is XXH3 of "source\0source_id" however it is
 * computed (one call over a copy, or streamed for keys too long to
 * store), and a lookup of a key longer than any stored one just misses. */
static void test_key_hash(void)
{
	reconnu_record in = {.source = "crm", .source_id = "C-0042"};
	struct store_rec *r = build(&in, 1);
	uint64_t want = XXH3_64bits("crm\0C-0042", 10);
	want = (uint32_t)want ? want : want | 1;
	is_int(r ? store_key_hash(r) : 0, want,
	       "key hash: XXH3 of source, NUL, source_id");
	struct store *st = store_new();
	ok(r && store_put(st, r) == 0, "stored");
	char longid[2 * RECONNU_MAX_KEY_LEN + 64];
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = 0;
	is_int(store_lookup(st, "crm", longid), STORE_NONE,
	       "a key longer than any stored one: not found");
	is_int(store_lookup(st, longid, "C-0042"), STORE_NONE,
	       "a long source too");
	is_int(store_lookup(st, "crm", "C-0042"), 0, "the stored key: found");
	store_delete(st);
}

int main(void)
{
	unit_plan_begin();
	if (norm_global_init() != 0) {
		ok(0, "ICU available");
		return unit_done();
	}
	test_normalised_forms();
	test_validation_messages();
	test_key_map_low_half_collision();
	test_key_map();
	test_restore_hashed();
	test_key_hash();
	return unit_done();
}
