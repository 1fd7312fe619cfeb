/* Unit test: identity graph merge, split, aliases, versions. */
#include "graph.h"
#include "unit.h"

static struct graph_link L(uint32_t rec)
{
	return (struct graph_link){rec, 10.0f, GRAPH_LINK};
}

static uint64_t ent(struct graph *g, uint32_t rec)
{
	const struct graph_entity *e = graph_entity_of(g, rec);
	return e ? e->id : 0;
}

static void test_create_and_link(void)
{
	struct graph *g = graph_new();
	struct graph_change c;
	graph_begin_op(g);
	ok(graph_insert(g, 0, NULL, 0, &c) == 0, "insert lone record");
	is_int(c.entity_id, 1, "first entity gets id 1");
	is_int(c.version, 1, "new entity at version 1");
	graph_begin_op(g);
	struct graph_link l = L(0);
	graph_insert(g, 1, &l, 1, &c);
	is_int(c.entity_id, 1, "linked record joins entity 1");
	is_int(c.version, 2, "joining bumps the version");
	graph_begin_op(g);
	struct graph_link p = {0, 4.0f, GRAPH_POSSIBLE};
	graph_insert(g, 2, &p, 1, &c);
	is_int(c.entity_id, 2, "a POSSIBLE edge does not link");
	struct graph_stats st;
	graph_get_stats(g, &st);
	is_int(st.entities, 2, "two entities");
	is_int(st.edges, 1, "one link edge");
	is_int(st.possible, 1, "one possible edge");
	ok(graph_insert(g, 2, NULL, 0, &c) == -2, "double insert refused");
	graph_delete(g);
}

static void test_merge_keeps_oldest(void)
{
	struct graph *g = graph_new();
	struct graph_change c;
	for (uint32_t r = 0; r < 3; r++) {
		graph_begin_op(g);
		graph_insert(g, r, NULL, 0, &c);
	}
	/* record 3 links entities 3 and 2 (created later than 1) */
	graph_begin_op(g);
	struct graph_link ls[2] = {L(2), L(1)};
	graph_insert(g, 3, ls, 2, &c);
	is_int(c.entity_id, 2, "merge keeps the oldest (smallest) id");
	is_int(c.n_merged, 1, "one entity absorbed");
	const struct graph_entity *e = graph_find(g, 3);
	ok(e && e->id == 2, "absorbed id 3 resolves as an alias of 2");
	is_int(ent(g, 2), 2, "members moved to the survivor");
	/* now merge into 1 */
	graph_begin_op(g);
	struct graph_link l2[2] = {L(3), L(0)};
	graph_insert(g, 4, l2, 2, &c);
	is_int(c.entity_id, 1, "second merge into entity 1");
	ok(graph_find(g, 3) && graph_find(g, 3)->id == 1,
	   "alias of an absorbed entity follows the next merge");
	ok(graph_find(g, 2) && graph_find(g, 2)->id == 1, "2 is an alias now");
	e = graph_find(g, 1);
	is_int(e->n_members, 5, "all five records in entity 1");
	is_int(e->n_aliases, 2, "two aliases recorded on entity 1");
	ok(graph_find(g, 99) == NULL, "unknown id not found");
	graph_delete(g);
}

static void test_split_on_remove(void)
{
	/* chain 0 - 1 - 2 - 3 ; removing 1 leaves {0} and {2,3} */
	struct graph *g = graph_new();
	struct graph_change c;
	graph_begin_op(g);
	graph_insert(g, 0, NULL, 0, &c);
	for (uint32_t r = 1; r < 4; r++) {
		graph_begin_op(g);
		struct graph_link l = L(r - 1);
		graph_insert(g, r, &l, 1, &c);
	}
	uint64_t v = graph_find(g, 1)->version;
	graph_begin_op(g);
	ok(graph_remove(g, 1, &c) == 0, "remove middle record");
	is_int(c.n_split, 1, "one entity split off");
	is_int(ent(g, 0), 1, "part with the oldest record keeps the id");
	ok(ent(g, 2) == ent(g, 3) && ent(g, 2) == 2, "rest gets a new id");
	is_int(graph_find(g, 1)->version, v + 1, "split bumps the version once");
	is_int(graph_find(g, 1)->n_members, 1, "entity 1 keeps one member");
	is_int(graph_find(g, 2)->n_members, 2, "entity 2 has two");
	ok(graph_entity_of(g, 1) == NULL, "removed record has no entity");
	struct graph_stats st;
	graph_get_stats(g, &st);
	is_int(st.edges, 1, "only the 2-3 edge is left");

	/* removing the oldest: the survivor part keeps the id */
	graph_begin_op(g);
	graph_remove(g, 2, &c);
	is_int(ent(g, 3), 2, "entity keeps its id when its oldest goes");
	graph_begin_op(g);
	graph_remove(g, 3, &c);
	ok(graph_find(g, 2) == NULL, "entity vanishes with its last member");
	is_int(c.entity_id, 0, "change reports no entity");
	ok(graph_remove(g, 3, &c) == -2, "removing twice is refused");
	graph_delete(g);
}

static void test_update_same_op_no_alias(void)
{
	/* star around record 1: 0-1, 2-1. Remove 1 and re-insert it linked to
	 * both in the same op: no alias for the transient split entity. */
	struct graph *g = graph_new();
	struct graph_change c;
	graph_begin_op(g);
	graph_insert(g, 0, NULL, 0, &c);
	graph_begin_op(g);
	struct graph_link l0 = L(0);
	graph_insert(g, 1, &l0, 1, &c);
	graph_begin_op(g);
	struct graph_link l1 = L(1);
	graph_insert(g, 2, &l1, 1, &c);
	uint64_t v = graph_find(g, 1)->version;
	graph_begin_op(g);
	graph_remove(g, 1, &c);
	struct graph_link both[2] = {L(0), L(2)};
	graph_insert(g, 1, both, 2, &c);
	is_int(c.entity_id, 1, "update keeps entity 1");
	is_int(graph_find(g, 1)->n_aliases, 0, "no alias for a transient split");
	is_int(graph_find(g, 1)->version, v + 1, "one op, one version bump");
	is_int(graph_find(g, 1)->n_members, 3, "three members again");
	graph_delete(g);
}

static void test_determinism(void)
{
	/* the same sequence twice gives the same ids */
	uint64_t ids[2][50];
	for (int run = 0; run < 2; run++) {
		struct graph *g = graph_new();
		struct graph_change c;
		uint64_t x = 42;
		for (uint32_t r = 0; r < 50; r++) {
			graph_begin_op(g);
			struct graph_link ls[2];
			size_t n = 0;
			for (int k = 0; k < 2 && r > 0; k++) {
				x = x * 6364136223846793005ULL + 1442695040888963407ULL;
				if ((x >> 60) < 5)
					ls[n++] = L((uint32_t)((x >> 20) % r));
			}
			if (n == 2 && ls[0].rec == ls[1].rec)
				n = 1;
			graph_insert(g, r, ls, n, &c);
			if (r % 7 == 6) {
				graph_begin_op(g);
				graph_remove(g, r - 3, &c);
			}
		}
		for (uint32_t r = 0; r < 50; r++)
			ids[run][r] = ent(g, r);
		graph_delete(g);
	}
	int same = 1;
	for (int r = 0; r < 50; r++)
		same &= ids[0][r] == ids[1][r];
	ok(same, "same operations give the same entity ids");
}

static int live_below(void *ctx, uint32_t rec)
{
	return rec < *(const uint32_t *)ctx;
}

/* Restoring (a snapshot load): entities without aliases get no alias
 * array yet still absorb others later; the check refuses edges to records
 * that are not there and edges restored from one end only. */
static void test_restore(void)
{
	struct graph *g = graph_new();
	uint32_t m1[] = {0, 1}, m2[] = {2};
	uint64_t al[] = {7};
	graph_set_counters(g, 10, 20);
	ok(graph_restore_reserve(g, 4, 2, 1) == 0, "reserve");
	graph_restore_prefetch(g, 3);
	ok(graph_restore_entity(g, 3, 4, 1, 5, m1, 2, NULL, 0) == 0,
	   "entity without aliases");
	ok(graph_restore_entity(g, 5, 1, 2, 2, m2, 1, al, 1) == 0,
	   "entity with an alias");
	ok(graph_restore_entity(g, 3, 1, 1, 1, (uint32_t[]){3}, 1, NULL, 0) ==
	       -2,
	   "an entity id restored twice is refused");
	struct graph_edge e01 = {1, 9.0f, GRAPH_LINK},
			  e10 = {0, 9.0f, GRAPH_LINK};
	ok(graph_restore_edges(g, 0, &e01, 1) == 0 &&
	       graph_restore_edges(g, 1, &e10, 1) == 0,
	   "an edge from both ends");
	uint32_t lim = 3;
	is_int(graph_restore_check(g, 3, live_below, &lim), 0,
	       "the restored graph holds together");
	is_int(graph_restore_check(g, 4, live_below, &(uint32_t){4}), -1,
	       "a live record without an entity: refused");
	ok(graph_restore_check_members(g, 4, live_below, &(uint32_t){4}) ==
		   -1 &&
	       graph_restore_check_edges(g, 4) == 0,
	   "... by the members' half, not by the graph's");
	lim = 1;
	is_int(graph_restore_check(g, 3, live_below, &lim), -1,
	       "an entity on a record that is not there: refused");
	const struct graph_entity *e = graph_find(g, 7);
	ok(e && e->id == 5, "the alias resolves");
	/* record 3 links both entities: 5 is absorbed into 3, whose alias
	 * array starts now */
	struct graph_change c;
	graph_begin_op(g);
	struct graph_link ls[2] = {L(2), L(0)};
	ok(graph_insert(g, 3, ls, 2, &c) == 0, "a merge after the restore");
	is_int(c.entity_id, 3, "into the oldest entity");
	e = graph_find(g, 3);
	ok(e && e->n_aliases == 2 && graph_find(g, 7) == e &&
	       graph_find(g, 5) == e,
	   "the absorbed entity and its alias resolve to the survivor");
	graph_delete(g);

	/* an edge restored from one end only */
	g = graph_new();
	ok(graph_restore_entity(g, 1, 1, 1, 1, m1, 2, NULL, 0) == 0 &&
	       graph_restore_edges(g, 0, &e01, 1) == 0,
	   "one end of an edge");
	lim = 2;
	is_int(graph_restore_check(g, 2, live_below, &lim), -1,
	       "refused: the other end is missing");
	ok(graph_restore_check_members(g, 2, live_below, &lim) == 0 &&
	       graph_restore_check_edges(g, 2) == -1,
	   "... by the graph's half, which needs no store");
	graph_delete(g);
	/* an edge to a record that is not there */
	g = graph_new();
	struct graph_edge e02 = {2, 9.0f, GRAPH_LINK},
			  e20 = {0, 9.0f, GRAPH_LINK};
	ok(graph_restore_entity(g, 1, 1, 1, 1, m1, 2, NULL, 0) == 0 &&
	       graph_restore_edges(g, 0, &e02, 1) == 0 &&
	       graph_restore_edges(g, 2, &e20, 1) == 0,
	   "an edge to record 2");
	is_int(graph_restore_check(g, 3, live_below, &lim), -1,
	       "refused: record 2 is not there");
	is_int(graph_restore_check_edges(g, 3), -1,
	       "... also by the graph's half: record 2 is in no entity");
	graph_delete(g);
}

int main(void)
{
	unit_plan_begin();
	test_create_and_link();
	test_merge_keeps_oldest();
	test_split_on_remove();
	test_update_same_op_no_alias();
	test_determinism();
	test_restore();
	return unit_done();
}
