/*
 * Unit test: snapshots — record images, the read view that lets writers
 * go on while a snapshot is written, and what a restart loads: the same
 * state as before (records, entities, ids, aliases, versions, golden
 * records), from format 2 and from an old format 1 file; a format this
 * build does not know is refused by name.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "arena.h"
#include "graph.h"
#include "image.h"
#include "le.h"
#include "op.h"
#include "reconnu.h"
#include "snapshot.h"
#include "store.h"
#include "unit.h"

/* ---- record images ---------------------------------------------------- */

static struct store_rec *build(const reconnu_record *in)
{
	struct store_rec *r = NULL;
	char msg[256];
	if (store_rec_build(in, 1, &r, msg, sizeof(msg)))
		printf("# build: %s\n", msg);
	return r;
}

/* Field by field, raw and normalised. */
static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static int same_rec(const struct store_rec *a, const struct store_rec *b)
{
	struct arena ar;
	arena_create(&ar);
	reconnu_record rx, ry;
	if (store_rec_raw(a, &rx, &ar) || store_rec_raw(b, &ry, &ar)) {
		arena_destroy(&ar);
		return 0;
	}
	const reconnu_record *x = &rx, *y = &ry;
	int ok = same_str(x->source, y->source) &&
		 same_str(x->source_id, y->source_id) &&
		 same_str(x->given_name, y->given_name) &&
		 same_str(x->family_name, y->family_name) &&
		 same_str(x->full_name, y->full_name) &&
		 same_str(x->birth_date, y->birth_date) &&
		 same_str(x->gender, y->gender) &&
		 same_str(x->country, y->country) &&
		 x->n_emails == y->n_emails && x->n_phones == y->n_phones &&
		 x->n_addresses == y->n_addresses &&
		 x->n_identifiers == y->n_identifiers &&
		 x->n_consents == y->n_consents &&
		 x->n_attributes == y->n_attributes &&
		 x->updated_at == y->updated_at;
	for (size_t i = 0; ok && i < x->n_emails; i++)
		ok = same_str(x->emails[i], y->emails[i]);
	for (size_t i = 0; ok && i < x->n_phones; i++)
		ok = same_str(x->phones[i], y->phones[i]);
	for (size_t i = 0; ok && i < x->n_addresses; i++) {
		const reconnu_address *p = &x->addresses[i],
				      *q = &y->addresses[i];
		ok = same_str(p->line1, q->line1) &&
		     same_str(p->line2, q->line2) &&
		     same_str(p->city, q->city) &&
		     same_str(p->postcode, q->postcode) &&
		     same_str(p->region, q->region) &&
		     same_str(p->country, q->country);
	}
	for (size_t i = 0; ok && i < x->n_identifiers; i++)
		ok = same_str(x->identifiers[i].type, y->identifiers[i].type) &&
		     same_str(x->identifiers[i].value, y->identifiers[i].value);
	for (size_t i = 0; ok && i < x->n_consents; i++)
		ok = same_str(x->consents[i].channel, y->consents[i].channel) &&
		     x->consents[i].granted == y->consents[i].granted &&
		     x->consents[i].at == y->consents[i].at;
	for (size_t i = 0; ok && i < x->n_attributes; i++)
		ok = same_str(x->attributes[i].key, y->attributes[i].key) &&
		     same_str(x->attributes[i].value, y->attributes[i].value);
	ok = ok && same_str(a->given, b->given) &&
	     same_str(a->family, b->family) &&
	     same_str(a->given_phon, b->given_phon) &&
	     same_str(a->family_phon, b->family_phon) &&
	     a->birth.year == b->birth.year &&
	     a->birth.month == b->birth.month && a->birth.day == b->birth.day &&
	     !strcmp(a->birth_digits, b->birth_digits) &&
	     a->gender == b->gender && a->updated_at == b->updated_at &&
	     a->n_emails == b->n_emails && a->n_phones == b->n_phones &&
	     a->n_addrs == b->n_addrs && a->n_ids == b->n_ids &&
	     a->bytes == b->bytes;
	for (size_t i = 0; ok && i < a->n_emails; i++)
		ok = same_str(a->emails[i], b->emails[i]);
	for (size_t i = 0; ok && i < a->n_phones; i++)
		ok = same_str(a->phones[i], b->phones[i]);
	for (size_t i = 0; ok && i < a->n_addrs; i++)
		ok = same_str(a->addrs[i].line, b->addrs[i].line) &&
		     same_str(a->addrs[i].city, b->addrs[i].city) &&
		     same_str(a->addrs[i].postcode, b->addrs[i].postcode) &&
		     same_str(a->addrs[i].country, b->addrs[i].country);
	for (size_t i = 0; ok && i < a->n_ids; i++)
		ok = same_str(a->ids[i], b->ids[i]);
	ok = ok && same_str(a->raw.source, b->raw.source) &&
	     same_str(a->raw.source_id, b->raw.source_id) &&
	     same_str(a->raw.birth_date, b->raw.birth_date) &&
	     a->raw.source == x->source && a->raw.birth_date == x->birth_date;
	arena_destroy(&ar);
	return ok;
}

static void test_record_image(void)
{
	const char *em[] = {"Zoe.Kim@Example.COM", "", "not-an-email"};
	const char *ph[] = {"06 12 34 56 78", "+44 20 7946 0958"};
	reconnu_address ad[] = {
	    {"1 rue de la Paix", NULL, "Paris", "75002", "IDF", "FR"},
	    {"Flat 2", "10 Downing St", "London", "sw1a 2aa", NULL, "GB"},
	};
	reconnu_identifier id[] = {{"loyalty", "L-123"}, {"passport", "x 9"}};
	reconnu_consent cs[] = {{"email", 1, 1700000000000},
				{"sms", 0, 1600000000000}};
	reconnu_attr at[] = {{"tier", "gold"}, {"note", NULL}};
	reconnu_record in = {.source = "eshop",
			     .source_id = "42",
			     .given_name = "Zoë",
			     .family_name = "Ōtani-Müller",
			     .birth_date = "1990-02-30",
			     .gender = "female",
			     .emails = em,
			     .n_emails = 3,
			     .phones = ph,
			     .n_phones = 2,
			     .addresses = ad,
			     .n_addresses = 2,
			     .identifiers = id,
			     .n_identifiers = 2,
			     .consents = cs,
			     .n_consents = 2,
			     .attributes = at,
			     .n_attributes = 2,
			     .updated_at = 1700000000123};
	reconnu_record han = {.source = "crm",
			      .source_id = "漢-1",
			      .full_name = "王 小明",
			      .birth_date = "1988"};
	reconnu_record cyr = {.source = "crm",
			      .source_id = "2",
			      .given_name = "Дмитрий",
			      .family_name = "Иванов",
			      .country = "RU"};
	const reconnu_record *all[] = {&in, &han, &cyr};
	for (size_t k = 0; k < 3; k++) {
		struct store_rec *r = build(all[k]);
		ok(r != NULL, "record built");
		if (!r)
			continue;
		size_t n = store_rec_image_size(r);
		uint8_t *img = malloc(n), *img2 = malloc(n);
		is_int(store_rec_image(r, img), n, "image size as announced");
		struct store_rec *back = NULL;
		is_int(store_rec_from_image(img, n, &back), 0, "image loads");
		ok(back && same_rec(r, back),
		   "every raw and normalised field comes back");
		ok(back && store_rec_image_size(back) == n &&
		       store_rec_image(back, img2) == n &&
		       !memcmp(img, img2, n),
		   "the loaded record gives the same image");
		int refused = 1;
		for (size_t cut = 0; cut < n; cut++) {
			struct store_rec *t = NULL;
			refused &= store_rec_from_image(img, cut, &t) ==
				   RECONNU_EINVAL;
			store_rec_delete(t);
		}
		ok(refused, "every truncated image is refused");
		/* damage anywhere: whatever loads stays within its
		 * allocation (ASan watches); damage to the sizes (list
		 * counts, string bytes) is refused */
		int sizes = 0, refused_sizes = 0;
		for (size_t i = 0; i < n; i++) {
			for (int bit = 0; bit < 8; bit++) {
				memcpy(img2, img, n);
				img2[i] ^= (uint8_t)(1u << bit);
				struct store_rec *t = NULL;
				int rc = store_rec_from_image(img2, n, &t);
				if (rc == 0)
					(void)store_rec_image_size(t);
				if (rc == 0) { /* unpacking stays inside too */
					struct arena ar;
					arena_create(&ar);
					reconnu_record raw;
					size_t len = 0;
					if (store_rec_raw(t, &raw, &ar) == 0)
						for (size_t e = 0; e < raw.n_emails;
						     e++)
							len += strlen(raw.emails[e]);
					(void)len;
					arena_destroy(&ar);
				}
				if ((i >= 2 && i < 12) || (i >= 32 && i < 36)) {
					sizes++;
					refused_sizes += rc == RECONNU_EINVAL;
				}
				store_rec_delete(t);
			}
		}
		ok(refused_sizes == sizes,
		   "an image with damaged sizes is refused");
		if (refused_sizes != sizes)
			printf("# %d of %d\n", refused_sizes, sizes);
		store_rec_delete(back);
		store_rec_delete(r);
		free(img);
		free(img2);
	}
}

/* ---- the read view, on the store and the graph ------------------------ */

/* A small stand-in for the engine: records of one source keyed 0..KEYS-1;
 * a record links (LINK) to those with its family name and its e-mail,
 * and is a POSSIBLE match of those with its given name only. */
enum { KEYS = 120 };

struct mini {
	struct store *st;
	struct graph *g;
	uint64_t rng;
};

static uint64_t next_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void mini_init(struct mini *m, uint64_t seed)
{
	m->st = store_new();
	m->g = graph_new();
	m->rng = seed;
}

static void mini_free(struct mini *m)
{
	store_delete(m->st);
	graph_delete(m->g);
}

/* One random operation: an upsert (new key or update) or a delete. */
static void mini_op(struct mini *m)
{
	static const char *fam[] = {"lopez", "kim", "smith", "ito",
				    "ng",    "roy", "diaz"};
	static const char *giv[] = {"ana", "bo", "cy", "di", "ed"};
	uint64_t x = next_rand(&m->rng);
	char key[16], mail[32];
	snprintf(key, sizeof(key), "%u", (unsigned)(x % KEYS));
	uint32_t old = store_lookup(m->st, "s", key);
	graph_begin_op(m->g);
	struct graph_change ch;
	if (old != STORE_NONE && (x >> 8) % 5 == 0) {
		graph_remove(m->g, old, &ch);
		store_remove(m->st, old);
		return;
	}
	snprintf(mail, sizeof(mail), "m%u@x.org", (unsigned)((x >> 16) % 40));
	const char *em[] = {mail};
	reconnu_record in = {.source = "s",
			     .source_id = key,
			     .given_name = giv[(x >> 24) % 5],
			     .family_name = fam[(x >> 32) % 7],
			     .emails = em,
			     .n_emails = (x >> 40) % 3 != 0};
	struct store_rec *r = build(&in);
	if (!r)
		return;
	if (old != STORE_NONE)
		graph_remove(m->g, old, &ch);
	store_put(m->st, r);
	struct graph_link links[16];
	size_t nl = 0;
	for (uint32_t id = 0; id < store_id_limit(m->st) && nl < 16; id++) {
		const struct store_rec *o = store_get(m->st, id);
		if (!o || id == r->id)
			continue;
		int fam_eq = !strcmp(o->family, r->family);
		int mail_eq = r->n_emails && o->n_emails &&
			      !strcmp(o->emails[0], r->emails[0]);
		if ((fam_eq && (next_rand(&m->rng) & 3) == 0) || mail_eq)
			links[nl++] = (struct graph_link){id, 9.5f, GRAPH_LINK};
		else if (!strcmp(o->given, r->given) &&
			 (next_rand(&m->rng) & 7) == 0)
			links[nl++] =
			    (struct graph_link){id, 2.5f, GRAPH_POSSIBLE};
	}
	graph_insert(m->g, r->id, links, nl, &ch);
}

/* Everything the image holds, as text: records (image bytes, sequences,
 * entity, edges in order) and entities (counters, members and aliases in
 * order). */
static char *dump(struct store *st, struct graph *g)
{
	size_t cap = 1 << 20, n = 0;
	char *out = malloc(cap);
#define OUT(...) n += (size_t)snprintf(out + n, cap - n, __VA_ARGS__)
	for (uint32_t id = 0; id < store_id_limit(st); id++) {
		const struct store_rec *r = store_get(st, id);
		if (!r)
			continue;
		size_t in = store_rec_image_size(r);
		uint8_t *img = malloc(in);
		store_rec_image(r, img);
		const struct graph_entity *e = graph_entity_of(g, id);
		OUT("r%u %016llx c%llu s%llu e%llu:", id,
		    (unsigned long long)XXH3_64bits(img, in),
		    (unsigned long long)r->created, (unsigned long long)r->seq,
		    (unsigned long long)(e ? e->id : 0));
		free(img);
		size_t ne;
		const struct graph_edge *ed = graph_edges(g, id, &ne);
		for (size_t i = 0; i < ne; i++)
			OUT(" %u/%g/%u", ed[i].other, ed[i].weight, ed[i].kind);
		OUT("\n");
	}
	uint64_t next_id, op;
	graph_counters(g, &next_id, &op);
	for (uint64_t id = 1; id < next_id; id++) {
		const struct graph_entity *e = graph_find(g, id);
		if (!e || e->id != id)
			continue;
		OUT("E%llu v%llu c%llu ch%llu:", (unsigned long long)id,
		    (unsigned long long)e->version,
		    (unsigned long long)e->created_op,
		    (unsigned long long)e->changed_op);
		for (uint32_t i = 0; i < e->n_members; i++)
			OUT(" %u", e->members[i]);
		OUT(" |");
		for (uint32_t i = 0; i < e->n_aliases; i++)
			OUT(" %llu", (unsigned long long)e->aliases[i]);
		OUT("\n");
	}
#undef OUT
	return out;
}

static int load_put(void *ctx, uint8_t kind, const void *p, uint32_t n)
{
	struct image_loader *l = ctx;
	if (kind == IMAGE_RECORD)
		return image_load_record(l, p, n, NULL);
	if (kind == IMAGE_ENTITY)
		return image_load_entity(l, p, n);
	return -EBADMSG;
}

/* Loads items into a fresh store and graph (entity id counter from
 * next_id) and dumps them. */
static char *load_dump(struct image_items *items, uint32_t id_limit,
		       uint64_t next_id, int *rc)
{
	struct store *st = store_new();
	struct graph *g = graph_new();
	graph_set_counters(g, next_id, 0);
	struct image_loader l = {.st = st, .g = g};
	*rc = image_items_flush(items, load_put, &l);
	if (!*rc)
		*rc = image_load_end(&l, id_limit);
	free(l.edges);
	char *d = dump(st, g);
	store_delete(st);
	graph_delete(g);
	return d;
}

static void test_read_view(void)
{
	int all_same = 1, all_loaded = 1, changed = 1;
	uint64_t saved_by_writers = 0;
	for (uint64_t seed = 1; seed <= 12; seed++) {
		/* two identical histories up to the snapshot's point */
		struct mini a, b;
		mini_init(&a, seed);
		mini_init(&b, seed);
		int before = 150 + (int)(seed * 37 % 200);
		for (int i = 0; i < before; i++) {
			mini_op(&a);
			mini_op(&b);
		}
		uint64_t next_id, op;
		graph_counters(b.g, &next_id, &op);
		char *at_point = dump(b.st, b.g);

		/* b: nothing happens while the view is open */
		struct image_items eb = {0}, ea = {0};
		struct image_view *vb = image_view_open(b.st, b.g);
		image_view_scan(vb, 0, UINT32_MAX, &eb);
		image_view_close(vb, &eb);
		image_view_free(vb);

		/* a: writers change things between small slices */
		struct image_view *va = image_view_open(a.st, a.g);
		uint32_t lim = image_view_limit(va), from = 0;
		while (from < lim) {
			uint32_t step = 1 + (uint32_t)(next_rand(&a.rng) % 9);
			uint32_t to = lim - from > step ? from + step : lim;
			image_view_scan(va, from, to, &ea);
			from = to;
			int k = (int)(next_rand(&a.rng) % 6);
			for (int i = 0; i < k; i++)
				mini_op(&a);
		}
		for (int i = 0; i < 20; i++)
			mini_op(&a);
		image_view_close(va, &ea);
		saved_by_writers += image_view_saved(va);
		image_view_free(va);
		char *after = dump(a.st, a.g);
		changed &= strcmp(after, at_point) != 0;
		int rca, rcb;
		char *la = load_dump(&ea, lim, next_id, &rca);
		char *lb = load_dump(&eb, lim, next_id, &rcb);
		all_loaded &= rca == 0 && rcb == 0;
		if (strcmp(la, at_point) || strcmp(lb, at_point)) {
			all_same = 0;
			printf("# seed %llu differs\n",
			       (unsigned long long)seed);
		}
		image_items_free(&ea);
		image_items_free(&eb);
		free(at_point);
		free(after);
		free(la);
		free(lb);
		mini_free(&a);
		mini_free(&b);
	}
	ok(changed, "writers changed the graph while the views were open");
	ok(saved_by_writers > 0, "writers saved entities before changing them");
	ok(all_loaded, "images load and hold together");
	ok(all_same, "with or without writers meanwhile, the image is the "
		     "state when the view opened (records, edges in order, "
		     "entities, versions, members, aliases)");
}

/* ---- the engine ------------------------------------------------------- */

static const char *names[] = {"Ana", "Bea", "Carla", "Dora", "Eva", "Flor"};
static const char *fams[] = {"Lopez", "Kim", "Ōtani", "Müller", "Иванов"};

/* Write number i of a deterministic history: people sharing e-mails and
 * phones (merges), updates that move a record away (splits), deletes. */
static void write_op(reconnu *r, int i)
{
	char id[16], mail[64], phone[32], dob[16];
	int key = (i * 7) % 400;
	snprintf(id, sizeof(id), "%d", key);
	if (i % 11 == 10) {
		reconnu_delete(r, "s", id, NULL);
		return;
	}
	int grp = i % 13 == 12 ? key + 1000 : key / 3;
	snprintf(mail, sizeof(mail), "p%d@example.com", grp);
	snprintf(phone, sizeof(phone), "+3361234%04d", key / 4);
	snprintf(dob, sizeof(dob), "19%02d-%02d-%02d", 50 + grp % 40,
		 1 + grp % 12, 1 + grp % 28);
	const char *em[] = {mail}, *ph[] = {phone};
	reconnu_address ad = {"1 rue A", NULL, "Paris", "75001", NULL, "FR"};
	reconnu_record rec = {.source = "s",
			      .source_id = id,
			      .given_name = names[grp % 6],
			      .family_name = fams[grp % 5],
			      .birth_date = dob,
			      .country = "FR",
			      .emails = em,
			      .n_emails = 1,
			      .phones = ph,
			      .n_phones = i % 3 != 0,
			      .addresses = &ad,
			      .n_addresses = i % 4 == 0};
	reconnu_upsert(r, &rec, NULL);
}

/* Records of keys 400..BULK-1, in pairs sharing an email: enough for a
 * snapshot load to go in several batches. */
enum { BULK = 1600 };
static void write_bulk(reconnu *r)
{
	for (int key = 400; key < BULK; key++) {
		char id[16], mail[64], dob[16];
		snprintf(id, sizeof(id), "%d", key);
		snprintf(mail, sizeof(mail), "b%d@example.com", key / 2);
		snprintf(dob, sizeof(dob), "19%02d-%02d-%02d", 50 + key % 40,
			 1 + key % 12, 1 + key % 28);
		const char *em[] = {mail};
		reconnu_record rec = {.source = "s",
				      .source_id = id,
				      .given_name = names[key % 6],
				      .family_name = fams[key % 5],
				      .birth_date = dob,
				      .emails = em,
				      .n_emails = 1};
		reconnu_upsert(r, &rec, NULL);
	}
}

static void golden_text(char **out, size_t *n, size_t *cap,
			const reconnu_golden *g)
{
#define OUT(...)                                                               \
	do {                                                                   \
		int k_ = snprintf(*out + *n, *cap - *n, __VA_ARGS__);          \
		if (k_ > 0)                                                    \
			*n += (size_t)k_ < *cap - *n ? (size_t)k_ : 0;         \
	} while (0)
#define VAL(v)                                                                 \
	OUT("%s@%s/%s/%lld/%u;", (v).value ? (v).value : "-",                  \
	    (v).source ? (v).source : "-",                                     \
	    (v).source_id ? (v).source_id : "-", (long long)(v).updated_at,    \
	    (v).count)
	OUT("E%llu v%llu ", (unsigned long long)g->entity_id,
	    (unsigned long long)g->version);
	VAL(g->given_name);
	VAL(g->family_name);
	VAL(g->full_name);
	VAL(g->birth_date);
	VAL(g->gender);
	for (size_t i = 0; i < g->n_emails; i++)
		VAL(g->emails[i]);
	for (size_t i = 0; i < g->n_phones; i++)
		VAL(g->phones[i]);
	for (size_t i = 0; i < g->n_identifiers; i++)
		VAL(g->identifiers[i]);
	for (size_t i = 0; i < g->n_addresses; i++)
		OUT("%s,%s,%s,%u;",
		    g->addresses[i].address.line1
			? g->addresses[i].address.line1
			: "-",
		    g->addresses[i].address.city ? g->addresses[i].address.city
						 : "-",
		    g->addresses[i].source ? g->addresses[i].source : "-",
		    g->addresses[i].count);
	for (size_t i = 0; i < g->n_members; i++)
		OUT("m%s/%s;", g->members[i].source, g->members[i].source_id);
	for (size_t i = 0; i < g->n_aliases; i++)
		OUT("a%llu;", (unsigned long long)g->aliases[i]);
	OUT("\n");
#undef VAL
#undef OUT
}

/* What a client can see: stats that describe the data, every key's
 * golden record (entity, version, values, members, aliases) and the
 * answers to a few identify calls. */
static char *engine_state(reconnu *r)
{
	size_t cap = 1 << 24, n = 0;
	char *out = malloc(cap);
	reconnu_stats s;
	reconnu_get_stats(r, &s);
	n += (size_t)snprintf(
	    out + n, cap - n,
	    "records %llu entities %llu aliases %llu edges "
	    "%llu merges %llu splits %llu possible %llu keys "
	    "%llu oversized %llu\n",
	    (unsigned long long)s.records, (unsigned long long)s.entities,
	    (unsigned long long)s.aliases, (unsigned long long)s.edges,
	    (unsigned long long)s.merges, (unsigned long long)s.splits,
	    (unsigned long long)s.possible_pairs,
	    (unsigned long long)s.blocking_keys,
	    (unsigned long long)s.oversized_keys);
	for (int key = 0; key < BULK; key++) {
		char id[16];
		snprintf(id, sizeof(id), "%d", key);
		reconnu_golden *g = NULL;
		if (reconnu_get_entity_by_key(r, "s", id, &g)) {
			n += (size_t)snprintf(out + n, cap - n, "%d -\n", key);
			continue;
		}
		golden_text(&out, &n, &cap, g);
		reconnu_golden_free(g);
	}
	for (int q = 0; q < 30; q++) {
		char mail[64];
		snprintf(mail, sizeof(mail), "p%d@example.com", q * 4);
		const char *em[] = {mail};
		reconnu_record rec = {.given_name = names[q % 6],
				      .family_name = fams[q % 5],
				      .emails = em,
				      .n_emails = 1};
		reconnu_match *m = NULL;
		if (reconnu_identify(r, &rec, 5, &m) == 0) {
			n += (size_t)snprintf(
			    out + n, cap - n, "q%d %llu %.9f %d %zu\n", q,
			    (unsigned long long)m->entity_id, m->probability,
			    m->decision, m->n_candidates);
			reconnu_match_free(m);
		}
	}
	return out;
}

static void rm_rf(const char *dir)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		printf("# could not remove %s\n", dir);
}

/* Opens an engine on st (a fresh data folder) and writes the bulk load
 * and ops of write_op's history into it. The caller closes it. */
static reconnu *open_with_history(const reconnu_storage *st, int ops)
{
	reconnu *r = NULL;
	reconnu_recovery info;
	is_int(reconnu_open_storage(NULL, st, &r, &info), 0, "open storage");
	write_bulk(r);
	for (int i = 0; i < ops; i++)
		write_op(r, i);
	return r;
}

static void test_engine_reload(void)
{
	char dir[] = "/tmp/reconnu-snapv2-XXXXXX";
	ok(mkdtemp(dir) != NULL, "temp data dir");
	reconnu_storage st = {.dir = dir, .sync = RECONNU_SYNC_NONE};
	reconnu_recovery info;
	reconnu_snapshot_info si;
	reconnu *r = open_with_history(&st, 1500);
	char *before = engine_state(r);
	reconnu_stats s0;
	reconnu_get_stats(r, &s0);
	ok(s0.merges > 0 && s0.splits > 0 && s0.aliases > 0 &&
	       s0.possible_pairs + s0.edges > 0,
	   "the history merged, split and left aliases");
	ok(s0.records > 1000, "records enough for several load batches");
	is_int(reconnu_snapshot(r, &si), 0, "snapshot");
	is_int(si.records, s0.records, "every record in it");
	is_int(si.entities, s0.entities, "every entity in it");
	ok(si.write_pause >= 0 && si.write_pause <= si.seconds,
	   "writers held for part of the snapshot at most");
	reconnu_close(r);
	/* records built by the indexer alone, by the loader alone, shared */
	static const char *const help[] = {"indexer", "loader", "both"};
	enum snap_help modes[] = {SNAP_HELP_NEVER, SNAP_HELP_ALWAYS,
				  SNAP_HELP_AUTO};
	char *after = NULL;
	for (int k = 0; k < 3; k++) {
		char what[64];
		snprintf(what, sizeof(what), "reopen, records built by the %s",
			 help[k]);
		snap_errinj_load_help(modes[k]);
		/* the reader's helper threads, as a large file has them */
		snap_errinj_helpers(k != 1);
		is_int(reconnu_open_storage(NULL, &st, &r, &info), 0, what);
		is_int(info.snapshot_records, s0.records,
		       "loaded from the snapshot");
		is_int(info.replayed, 0, "nothing left to replay");
		free(after);
		after = engine_state(r);
		is_str(after, before,
		       "same stats, golden records, versions, aliases and "
		       "answers after reload");
		if (k < 2)
			reconnu_close(r);
	}
	snap_errinj_load_help(SNAP_HELP_AUTO);
	snap_errinj_helpers(0);
	/* a write after the reload behaves as it would have before */
	write_op(r, 1500);
	write_op(r, 1501);
	char *more = engine_state(r);
	reconnu_close(r);
	is_int(reconnu_open_storage(NULL, &st, &r, &info), 0, "reopen again");
	is_int(info.replayed, 2, "the two later writes replayed");
	char *again = engine_state(r);
	is_str(again, more, "snapshot + log give the same state");
	reconnu_close(r);

	/* the same history in memory only: the same ids and versions */
	reconnu *m = NULL;
	reconnu_open(NULL, &m);
	write_bulk(m);
	for (int i = 0; i < 1502; i++)
		write_op(m, i);
	char *mem = engine_state(m);
	reconnu_close(m);
	is_str(again, mem,
	       "a reloaded engine goes on exactly like one that "
	       "never stopped");
	free(before);
	free(after);
	free(more);
	free(again);
	free(mem);
	rm_rf(dir);
}

/* Copies a snapshot's items to a writer, the first record item with
 * edges losing its last one: an edge then restored from one end only. */
struct one_sided {
	struct snap_writer *w;
	int dropped;
};

static int copy_drop_edge(void *ctx, uint8_t kind, const void *pv, uint32_t n)
{
	struct one_sided *c = ctx;
	const uint8_t *p = pv;
	uint32_t ne = n >= 24 ? le_get32(p + 20) : 0;
	if (c->dropped || kind != IMAGE_RECORD || !ne)
		return snap_put(c->w, kind, p, n);
	uint8_t *q = malloc(n);
	uint32_t keep = 24 + 9 * (ne - 1);
	memcpy(q, p, keep);
	le_put32(q + 20, ne - 1);
	memcpy(q + keep, p + keep + 9, n - keep - 9);
	int rc = snap_put(c->w, kind, q, n - 9);
	free(q);
	c->dropped = 1;
	return rc;
}

/* A snapshot whose checksum is right but whose edges do not hold together
 * is refused as unreadable (the graph is checked while the last records
 * are still being stored). */
static void test_engine_bad_graph(void)
{
	char dir[300], sdir[600];
	snprintf(dir, sizeof(dir), "%s/reconnu-snapbad-XXXXXX", P_tmpdir);
	ok(mkdtemp(dir) != NULL, "temp data dir");
	reconnu_storage st = {.dir = dir, .sync = RECONNU_SYNC_NONE};
	reconnu_recovery info;
	reconnu_snapshot_info si;
	reconnu *r = open_with_history(&st, 600);
	reconnu_stats s0;
	reconnu_get_stats(r, &s0);
	ok(s0.edges > 0, "records joined by edges");
	is_int(reconnu_snapshot(r, &si), 0, "snapshot");
	reconnu_close(r);
	snprintf(sdir, sizeof(sdir), "%s/snapshots", dir);
	uint64_t lsn;
	is_int(snap_list(sdir, &lsn, 1), 1, "one snapshot");
	struct one_sided c = {0};
	uint32_t version;
	is_int(snap_writer_open(sdir, lsn, &c.w), 0, "rewrite it");
	is_int(snap_read(sdir, lsn, &version, copy_drop_edge, NULL, &c), 0,
	       "items copied");
	is_int(snap_writer_commit(c.w), 0, "rewritten, checksum right");
	ok(c.dropped, "one end of an edge dropped");
	int rc = reconnu_open_storage(NULL, &st, &r, &info);
	ok(rc == RECONNU_EIO && strstr(reconnu_last_error(), "unreadable data"),
	   "a graph that does not hold together: refused as unreadable");
	if (!rc)
		reconnu_close(r);
	rm_rf(dir);
}

/* Writes meanwhile: a snapshot is the state when it began. */
struct during {
	reconnu *r;
	int next, upto;
	int calls;
};

static void write_some(void *ctx)
{
	struct during *d = ctx;
	d->calls++;
	for (int k = 0; k < 25 && d->next < d->upto; k++)
		write_op(d->r, d->next++);
}

static void test_writes_during_snapshot(void)
{
	char dir[] = "/tmp/reconnu-snapw-XXXXXX", copy[64];
	ok(mkdtemp(dir) != NULL, "temp data dir");
	reconnu_storage st = {.dir = dir, .sync = RECONNU_SYNC_NONE};
	reconnu *r = NULL;
	reconnu_recovery info;
	reconnu_snapshot_info si;
	reconnu_open_storage(NULL, &st, &r, &info);
	enum { BEFORE = 1200, DURING = 400, AFTER = 50 };
	for (int i = 0; i < BEFORE; i++)
		write_op(r, i);
	struct during d = {r, BEFORE, BEFORE + DURING, 0};
	snap_errinj_slices(16, write_some, &d);
	is_int(reconnu_snapshot(r, &si), 0, "snapshot while writing");
	snap_errinj_slices(0, NULL, NULL);
	ok(d.calls > 10 && d.next == BEFORE + DURING,
	   "writes went on between slices");
	for (int i = BEFORE + DURING; i < BEFORE + DURING + AFTER; i++)
		write_op(r, i);
	char *live = engine_state(r);
	reconnu_close(r);

	/* the snapshot alone is the state when it began */
	snprintf(copy, sizeof(copy), "%s-only", dir);
	char cmd[200];
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p '%s' && cp -r '%s/snapshots' '%s/'", copy, dir,
		 copy);
	ok(system(cmd) == 0, "copy the snapshot without the log");
	reconnu_storage st2 = {.dir = copy, .sync = RECONNU_SYNC_NONE};
	is_int(reconnu_open_storage(NULL, &st2, &r, &info), 0,
	       "open the snapshot alone");
	char *snap = engine_state(r);
	reconnu_close(r);
	reconnu *m = NULL;
	reconnu_open(NULL, &m);
	for (int i = 0; i < BEFORE; i++)
		write_op(m, i);
	char *at_start = engine_state(m);
	reconnu_close(m);
	is_str(snap, at_start,
	       "the snapshot holds the state when it began, none of the "
	       "writes made meanwhile");

	/* with the log: everything */
	is_int(reconnu_open_storage(NULL, &st, &r, &info), 0, "restart");
	ok(info.replayed > 0, "the writes made meanwhile are replayed");
	char *back = engine_state(r);
	is_str(back, live, "snapshot + log give the state before the restart");
	reconnu_close(r);
	free(live);
	free(snap);
	free(at_start);
	free(back);
	rm_rf(dir);
	rm_rf(copy);
}

/* ---- the file reader ---------------------------------------------------- */

/* What snap_read_ahead handed out: every item to ahead, then to fn, in the
 * same order, ahead SNAP_AHEAD items in front (fewer at the end). */
struct seen {
	int n_fn, n_ahead, order_ok, lead_ok, bytes_ok, total;
	uint8_t kind_ahead[4096];
	uint32_t len_ahead[4096];
	const void *p_ahead[4096];
};

static int item_bytes_ok(uint8_t kind, const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (p[i] != (uint8_t)(kind + i))
			return 0;
	return 1;
}

static int seen_ahead(void *ctx, uint8_t kind, const void *p, uint32_t n)
{
	struct seen *s = ctx;
	if (s->n_ahead < 4096) {
		s->kind_ahead[s->n_ahead] = kind;
		s->len_ahead[s->n_ahead] = n;
		s->p_ahead[s->n_ahead] = p;
	}
	s->n_ahead++;
	return 1; /* ignored */
}

static int seen_fn(void *ctx, uint8_t kind, const void *p, uint32_t n)
{
	struct seen *s = ctx;
	int k = s->n_fn++;
	int want_lead = s->total - k < SNAP_AHEAD ? s->total - k : SNAP_AHEAD;
	s->lead_ok &= s->n_ahead - k == want_lead;
	s->order_ok &= k < 4096 && s->kind_ahead[k] == kind &&
		       s->len_ahead[k] == n && s->p_ahead[k] == p;
	s->bytes_ok &= item_bytes_ok(kind, p, n);
	return 0;
}

/* Writes items 0..count-1 (item i: kind i % 250 + 1, (i * 997) % max_len
 * bytes, byte j = kind + j) as snapshot lsn of dir. */
static void write_items(const char *dir, uint64_t lsn, int count,
			uint32_t max_len)
{
	struct snap_writer *w;
	uint8_t *buf = malloc(max_len);
	is_int(snap_writer_open(dir, lsn, &w), 0, "writer open");
	for (int i = 0; i < count; i++) {
		uint8_t kind = (uint8_t)(i % 250 + 1);
		uint32_t n = (uint32_t)(((uint64_t)i * 997) % max_len);
		for (uint32_t j = 0; j < n; j++)
			buf[j] = (uint8_t)(kind + j);
		snap_put(w, kind, buf, n);
	}
	is_int(snap_writer_commit(w), 0, "writer commit");
	free(buf);
}

static void read_check(const char *dir, uint64_t lsn, int count,
		       const char *what)
{
	struct seen *s = calloc(1, sizeof(*s));
	s->order_ok = s->lead_ok = s->bytes_ok = 1;
	s->total = count;
	uint32_t version;
	char msg[160];
	snprintf(msg, sizeof(msg), "%s: read", what);
	is_int(
	    snap_read_ahead(dir, lsn, &version, seen_fn, seen_ahead, NULL, s),
	    0, msg);
	snprintf(msg, sizeof(msg), "%s: every item to fn and to ahead", what);
	ok(s->n_fn == count && s->n_ahead == count, msg);
	snprintf(msg, sizeof(msg),
		 "%s: ahead first, same items, same order, SNAP_AHEAD in "
		 "front",
		 what);
	ok(s->order_ok && s->lead_ok, msg);
	snprintf(msg, sizeof(msg), "%s: item bytes intact", what);
	ok(s->bytes_ok, msg);
	free(s);
}

static void test_reader(void)
{
	char dir[] = "/tmp/reconnu-snapr-XXXXXX";
	ok(mkdtemp(dir) != NULL, "temp dir");
	write_items(dir, 1, 3, 64); /* fewer items than SNAP_AHEAD */
	read_check(dir, 1, 3, "3 items");
	write_items(dir, 2, 3000, 4000); /* ~6 MB */
	read_check(dir, 2, 3000, "3000 items");
	/* the helper threads (pages touched from the end while the file is
	 * hashed, unmapped on another thread) on a file of any size */
	snap_errinj_helpers(1);
	read_check(dir, 2, 3000, "3000 items, helper threads");
	read_check(dir, 1, 3, "3 items, helper threads");
	/* a damaged byte near the end, which the helper touches first */
	char path[512];
	snprintf(path, sizeof(path), "%s/snap-%020d.snap", dir, 2);
	FILE *f = fopen(path, "r+b");
	struct stat st;
	stat(path, &st);
	fseek(f, st.st_size - 100, SEEK_SET);
	int c = fgetc(f);
	fseek(f, st.st_size - 100, SEEK_SET);
	fputc(c ^ 0x20, f);
	fclose(f);
	struct seen *s = calloc(1, sizeof(*s));
	uint32_t version;
	is_int(snap_read_ahead(dir, 2, &version, seen_fn, seen_ahead, NULL, s),
	       -EBADMSG, "damaged: refused, helper threads");
	ok(s->n_fn == 0 && s->n_ahead == 0, "damaged: nothing handed out");
	snap_errinj_helpers(0);
	memset(s, 0, sizeof(*s));
	is_int(snap_read_ahead(dir, 2, &version, seen_fn, seen_ahead, NULL, s),
	       -EBADMSG, "damaged: refused");
	free(s);
	rm_rf(dir);
}

/* ---- formats ------------------------------------------------------------ */

struct file {
	uint8_t *p;
	size_t n;
};

static void put(struct file *f, const void *p, size_t n)
{
	f->p = realloc(f->p, f->n + n);
	memcpy(f->p + f->n, p, n);
	f->n += n;
}

static void put_u(struct file *f, uint64_t v, int bytes)
{
	uint8_t b[8];
	for (int i = 0; i < bytes; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	put(f, b, (size_t)bytes);
}

static void put_item(struct file *f, uint8_t kind, const struct file *body)
{
	put_u(f, kind, 4); /* u8 kind | u8[3] 0 */
	put_u(f, body->n, 4);
	put(f, body->p, body->n);
}

/* A snapshot file as an older (or newer) build would write it. */
static void write_file(const char *dir, uint64_t lsn, uint32_t version,
		       const struct file *items, uint64_t n_items)
{
	struct file f = {0};
	put(&f, "RCNUSNAP", 8);
	put_u(&f, version, 4);
	put_u(&f, 0, 4);
	put_u(&f, lsn, 8);
	put_u(&f, 0, 8);
	put(&f, items->p, items->n);
	uint64_t h = XXH3_64bits(f.p, f.n);
	put(&f, "RCNUEND", 8);
	put_u(&f, n_items, 8);
	put_u(&f, h, 8);
	char path[512];
	snprintf(path, sizeof(path), "%s/snapshots", dir);
	mkdir(path, 0750);
	snprintf(path, sizeof(path), "%s/snapshots/snap-%020" PRIu64 ".snap",
		 dir, lsn);
	FILE *o = fopen(path, "wb");
	fwrite(f.p, 1, f.n, o);
	fclose(o);
	free(f.p);
}

static void test_formats(void)
{
	char dir[] = "/tmp/reconnu-snapf-XXXXXX";
	ok(mkdtemp(dir) != NULL, "temp data dir");
	/* version 1: raw records, two of them one entity joined by an edge */
	struct file items = {0}, b = {0};
	put_u(&b, 2, 8); /* next entity id */
	put_u(&b, 2, 8); /* graph op */
	put_u(&b, 3, 8); /* next seq */
	put_u(&b, 2, 4); /* id limit */
	put_item(&items, 1, &b);
	const char *em[] = {"ana@example.com"};
	for (int i = 0; i < 2; i++) {
		char id[8];
		snprintf(id, sizeof(id), "%d", i);
		reconnu_record rec = {.source = "s",
				      .source_id = id,
				      .given_name = "Ana",
				      .family_name = i ? "Lopez" : "López",
				      .emails = em,
				      .n_emails = 1};
		b.n = 0;
		put_u(&b, (uint64_t)i, 4);
		put_u(&b, 1, 8); /* created */
		put_u(&b, 1 + (uint64_t)i, 8);
		uint8_t op[512];
		size_t n = op_encode_upsert(&rec, op);
		put(&b, op, n);
		put_item(&items, 2, &b);
	}
	b.n = 0;
	put_u(&b, 0, 4);
	put_u(&b, 1, 4);
	float w = 12.5f;
	uint32_t wb;
	memcpy(&wb, &w, 4);
	put_u(&b, wb, 4);
	put_u(&b, 1, 1); /* LINK */
	put_item(&items, 4, &b);
	b.n = 0;
	put_u(&b, 1, 8); /* entity 1 */
	put_u(&b, 2, 8); /* version */
	put_u(&b, 1, 8);
	put_u(&b, 2, 8);
	put_u(&b, 2, 4); /* members */
	put_u(&b, 0, 4); /* aliases */
	put_u(&b, 0, 4);
	put_u(&b, 1, 4);
	put_item(&items, 3, &b);
	write_file(dir, 7, 1, &items, 5);

	reconnu_storage st = {.dir = dir, .sync = RECONNU_SYNC_NONE};
	reconnu *r = NULL;
	reconnu_recovery info;
	is_int(reconnu_open_storage(NULL, &st, &r, &info), 0,
	       "a format 1 snapshot still loads");
	is_int(info.snapshot_lsn, 7, "it was the one loaded");
	reconnu_golden *g = NULL;
	is_int(reconnu_get_entity_by_key(r, "s", "1", &g), 0, "record there");
	ok(g && g->entity_id == 1 && g->version == 2 && g->n_members == 2,
	   "entity, version and members as written");
	reconnu_golden_free(g);
	reconnu_stats s;
	reconnu_get_stats(r, &s);
	ok(s.records == 2 && s.entities == 1 && s.edges == 1 &&
	       s.blocking_keys > 0,
	   "records normalised and indexed again, edge restored");
	reconnu_close(r);

	/* a format from the future: refused by name, never misread */
	write_file(dir, 9, SNAP_VERSION + 1, &items, 5);
	r = NULL;
	is_int(reconnu_open_storage(NULL, &st, &r, &info), RECONNU_EIO,
	       "a snapshot of an unknown format is refused");
	char want[64];
	snprintf(want, sizeof(want), "format version %d", SNAP_VERSION + 1);
	ok(strstr(reconnu_last_error(), want) != NULL,
	   "the message names the format version");
	printf("# %s\n", reconnu_last_error());
	ok(r == NULL, "no engine handed out");

	/* version 2 items in a file that says version 1 are not misread */
	char path[512];
	snprintf(path, sizeof(path), "%s/snapshots/snap-%020d.snap", dir, 9);
	unlink(path);
	b.n = 0;
	items.n = 0;
	put_u(&b, 2, 8);
	put_u(&b, 2, 8);
	put_u(&b, 3, 8);
	put_u(&b, 2, 4);
	for (int i = 0; i < 6; i++)
		put_u(&b, 1, 8);
	put_item(&items, 1, &b); /* a version 2 META */
	b.n = 0;
	static const uint8_t zeros[24];
	put(&b, zeros, sizeof(zeros));
	put_item(&items, 6, &b); /* a version 2 record kind */
	write_file(dir, 11, 1, &items, 2);
	is_int(reconnu_open_storage(NULL, &st, &r, &info), 0, "opens");
	reconnu_get_stats(r, &s);
	ok(info.snapshot_lsn == 11 && s.records == 0,
	   "kinds a format does not have are skipped, not misread");
	reconnu_close(r);
	free(items.p);
	free(b.p);
	rm_rf(dir);
}

int main(void)
{
	unit_plan_begin();
	test_record_image();
	test_read_view();
	test_engine_reload();
	test_engine_bad_graph();
	test_writes_during_snapshot();
	test_reader();
	test_formats();
	return unit_done();
}
