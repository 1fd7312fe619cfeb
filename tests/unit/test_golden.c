/* Unit test: survivorship rules of the golden record. */
#include "golden.h"
#include "unit.h"

static struct store_rec *put(struct store *st, struct graph *g, const char *src,
			     const char *id, const char *given,
			     const char *email, int64_t updated, uint32_t link)
{
	const char *em[] = {email};
	reconnu_record in = {.source = src,
			     .source_id = id,
			     .given_name = given,
			     .family_name = "Moreau",
			     .emails = email ? em : NULL,
			     .n_emails = email ? 1 : 0,
			     .updated_at = updated};
	struct store_rec *r = NULL;
	char msg[64];
	store_rec_build(&in, 1, &r, msg, sizeof(msg));
	store_put(st, r);
	struct graph_change c;
	struct graph_link l = {link, 9.0f, GRAPH_LINK};
	graph_begin_op(g);
	graph_insert(g, r->id, &l, link == STORE_NONE ? 0 : 1, &c);
	return r;
}

int main(void)
{
	unit_plan_begin();
	norm_global_init();
	struct store *st = store_new();
	struct graph *g = graph_new();
	put(st, g, "pos", "1", "Camille", "C.Moreau@example.fr", 3000, STORE_NONE);
	put(st, g, "eshop", "2", "Cami", "c.moreau@example.fr", 1000, 0);
	put(st, g, "crm", "3", "", "cm@other.fr", 2000, 1);
	const struct graph_entity *e = graph_find(g, 1);
	ok(e && e->n_members == 3, "three members");

	struct arena a;
	arena_create(&a);
	reconnu_golden gd;
	is_int(golden_build(st, e, NULL, &a, &gd), 0, "golden builds");
	is_str(gd.given_name.value, "Camille", "most recent non-empty name");
	is_str(gd.given_name.source, "pos", "with its provenance");
	is_int(gd.n_emails, 2, "two distinct emails (case folded)");
	is_str(gd.emails[0].value, "C.Moreau@example.fr",
	       "shown as the most recent source wrote it");
	is_int(gd.emails[0].count, 2, "counted over the members");
	is_str(gd.emails[1].source, "crm", "second email's provenance");
	is_int(gd.n_members, 3, "members listed");
	is_str(gd.members[0].source_id, "1", "oldest member first");
	arena_destroy(&a);

	const char *prio[] = {"eshop"};
	struct golden_policy pol = {prio, 1};
	golden_build(st, e, &pol, &a, &gd);
	is_str(gd.given_name.value, "Cami", "source priority beats recency");
	arena_destroy(&a);

	graph_delete(g);
	store_delete(st);

	/* addresses: each distinct one shown as its own source wrote it */
	st = store_new();
	g = graph_new();
	const char *lines[] = {"Bahnhofstraße 37", "Bahnhofstr. 37",
			       "Bahnhofstraße 37"};
	int64_t when[] = {3000, 2000, 1000};
	for (int i = 0; i < 3; i++) {
		char id[8];
		snprintf(id, sizeof(id), "%d", i);
		reconnu_address ad = {.line1 = lines[i], .city = "Stuttgart",
				      .postcode = "70597"};
		reconnu_record in = {.source = "s", .source_id = id,
				     .given_name = "Susanne",
				     .addresses = &ad, .n_addresses = 1,
				     .updated_at = when[i]};
		struct store_rec *r;
		char msg[64];
		store_rec_build(&in, 1, &r, msg, sizeof(msg));
		store_put(st, r);
		struct graph_change c;
		struct graph_link l = {0, 9.0f, GRAPH_LINK};
		graph_begin_op(g);
		graph_insert(g, r->id, &l, i ? 1 : 0, &c);
	}
	golden_build(st, graph_find(g, 1), NULL, &a, &gd);
	is_int(gd.n_addresses, 2, "two distinct addresses");
	is_str(gd.addresses[0].address.line1, "Bahnhofstraße 37",
	       "first address as written");
	is_int(gd.addresses[0].count, 2, "counted twice");
	is_str(gd.addresses[1].address.line1, "Bahnhofstr. 37",
	       "second address as its own source wrote it");
	is_str(gd.addresses[1].source_id, "1", "with its provenance");
	arena_destroy(&a);
	graph_delete(g);
	store_delete(st);
	return unit_done();
}
