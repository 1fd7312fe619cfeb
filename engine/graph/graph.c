/*
 * graph — entities, evidence edges, merge and split; see graph.h.
 *
 * Per record: its entity pointer and its edge list (both directions of an
 * edge are stored, one in each record's list). Entities by id and aliases
 * by absorbed id live in two open-addressing maps keyed by the 64-bit id
 * (ids start at 1; 0 marks an empty slot), deleted with backward shift.
 *
 * Every mutation first reserves what it may need, so that ENOMEM leaves
 * the graph unchanged.
 */
#include "graph.h"

#include <stdlib.h>
#include <string.h>

/* ---- u64 → pointer/u64 map ------------------------------------------ */

struct u64slot {
	uint64_t key; /**< 0 = empty */
	uint64_t val;
};

struct u64map {
	struct u64slot *s;
	size_t mask, used;
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static int map_init(struct u64map *m)
{
	m->s = calloc(256, sizeof(*m->s));
	m->mask = 255;
	m->used = 0;
	return m->s ? 0 : -1;
}

static size_t map_pos(const struct u64map *m, uint64_t key)
{
	size_t i = mix(key) & m->mask;
	while (m->s[i].key && m->s[i].key != key)
		i = (i + 1) & m->mask;
	return i;
}

static int map_get(const struct u64map *m, uint64_t key, uint64_t *val)
{
	size_t i = map_pos(m, key);
	if (!m->s[i].key)
		return 0;
	*val = m->s[i].val;
	return 1;
}

/* Room for n more keys without failing. */
static int map_reserve(struct u64map *m, size_t n)
{
	if ((m->used + n) * 10 <= (m->mask + 1) * 7)
		return 0;
	size_t cap = m->mask + 1;
	while ((m->used + n) * 10 > cap * 7)
		cap *= 2;
	struct u64slot *ns = calloc(cap, sizeof(*ns));
	if (!ns)
		return -1;
	for (size_t i = 0; i <= m->mask; i++) {
		if (!m->s[i].key)
			continue;
		size_t j = mix(m->s[i].key) & (cap - 1);
		while (ns[j].key)
			j = (j + 1) & (cap - 1);
		ns[j] = m->s[i];
	}
	free(m->s);
	m->s = ns;
	m->mask = cap - 1;
	return 0;
}

/* Caller reserved room. */
static void map_put(struct u64map *m, uint64_t key, uint64_t val)
{
	size_t i = map_pos(m, key);
	if (!m->s[i].key)
		m->used++;
	m->s[i].key = key;
	m->s[i].val = val;
}

static void map_del(struct u64map *m, uint64_t key)
{
	size_t i = map_pos(m, key);
	if (!m->s[i].key)
		return;
	size_t j = i;
	for (;;) {
		j = (j + 1) & m->mask;
		if (!m->s[j].key)
			break;
		size_t home = mix(m->s[j].key) & m->mask;
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && (home <= i && home > j))) {
			m->s[i] = m->s[j];
			i = j;
		}
	}
	m->s[i].key = 0;
	m->used--;
}

/* ---- graph ---------------------------------------------------------- */

struct edge_list {
	struct graph_edge *e;
	uint32_t n, cap;
};

struct graph {
	struct graph_entity **rec_ent; /**< by record id */
	struct edge_list *edges;       /**< by record id */
	uint32_t rec_cap;
	struct u64map entities; /**< id → struct graph_entity * */
	struct u64map aliases;  /**< absorbed id → surviving id */
	uint64_t next_id, op;
	uint64_t n_edges, n_possible, merges, splits, bytes;
	uint32_t *scratch; /**< BFS queue / marks for splits */
	uint32_t scratch_cap;
	/* read view (graph.h): entity view fields are current when their
	 * view equals view_id */
	uint64_t view_id;
	int view_open;
	graph_save_fn view_save;
	void *view_ctx;
};

enum {
	VIEW_LISTED = 1, /**< handed out by graph_view_list */
	VIEW_SAVED = 2,	 /**< handed to save (or born in the view) */
};

static uint8_t view_bits(const struct graph *g, const struct graph_entity *e)
{
	return e->view == g->view_id ? e->view_bits : 0;
}

/* Before the first change to e while a view is open: let the view save it
 * as it was. */
static void touch(struct graph *g, struct graph_entity *e)
{
	if (!g->view_open || !e || view_bits(g, e) & VIEW_SAVED)
		return;
	g->view_save(g->view_ctx, g, e);
	e->view_bits = view_bits(g, e) | VIEW_SAVED;
	e->view = g->view_id;
}

void graph_view_open(struct graph *g, graph_save_fn save, void *ctx)
{
	g->view_id++;
	g->view_open = 1;
	g->view_save = save;
	g->view_ctx = ctx;
}

void graph_view_close(struct graph *g)
{
	g->view_open = 0;
	g->view_save = NULL;
	g->view_ctx = NULL;
}

int graph_view_list(struct graph *g, const struct graph_entity *ce)
{
	struct graph_entity *e = (struct graph_entity *)ce;
	uint8_t b = view_bits(g, e);
	if (!g->view_open || b & VIEW_LISTED)
		return 0;
	e->view_bits = b | VIEW_LISTED;
	e->view = g->view_id;
	return 1;
}

struct graph *graph_new(void)
{
	struct graph *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	if (map_init(&g->entities) || map_init(&g->aliases)) {
		free(g->entities.s);
		free(g);
		return NULL;
	}
	g->next_id = 1;
	return g;
}

static void entity_free(struct graph_entity *e)
{
	free(e->members);
	free(e->aliases);
	free(e);
}

void graph_delete(struct graph *g)
{
	if (!g)
		return;
	for (size_t i = 0; i <= g->entities.mask; i++)
		if (g->entities.s[i].key)
			entity_free((struct graph_entity *)(uintptr_t)
					    g->entities.s[i].val);
	for (uint32_t i = 0; i < g->rec_cap; i++)
		free(g->edges[i].e);
	free(g->rec_ent);
	free(g->edges);
	free(g->entities.s);
	free(g->aliases.s);
	free(g->scratch);
	free(g);
}

void graph_begin_op(struct graph *g)
{
	g->op++;
}

static void bump(struct graph *g, struct graph_entity *e)
{
	if (e->changed_op != g->op) {
		e->version++;
		e->changed_op = g->op;
	}
}

static int grow(void **p, uint32_t *cap, uint32_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	uint32_t ncap = *cap ? *cap : 4;
	while (ncap < need)
		ncap *= 2;
	void *np = realloc(*p, (size_t)ncap * elem);
	if (!np)
		return -1;
	*p = np;
	*cap = ncap;
	return 0;
}

static int reserve_recs(struct graph *g, uint32_t rec)
{
	if (rec < g->rec_cap)
		return 0;
	uint32_t ncap = g->rec_cap ? g->rec_cap : 1024;
	while (ncap <= rec)
		ncap *= 2;
	struct graph_entity **re = realloc(g->rec_ent, ncap * sizeof(*re));
	if (!re)
		return -1;
	g->rec_ent = re;
	struct edge_list *el = realloc(g->edges, ncap * sizeof(*el));
	if (!el)
		return -1;
	g->edges = el;
	memset(re + g->rec_cap, 0, (ncap - g->rec_cap) * sizeof(*re));
	memset(el + g->rec_cap, 0, (ncap - g->rec_cap) * sizeof(*el));
	g->rec_cap = ncap;
	return 0;
}

static struct graph_entity *entity_new(struct graph *g)
{
	struct graph_entity *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->created_op = g->op;
	if (g->view_open) { /* not part of the open view */
		e->view = g->view_id;
		e->view_bits = VIEW_LISTED | VIEW_SAVED;
	}
	return e;
}

/* Gives e the next id and registers it (map room reserved by caller). */
static void entity_register(struct graph *g, struct graph_entity *e)
{
	e->id = g->next_id++;
	e->version = 1;
	e->changed_op = g->op;
	map_put(&g->entities, e->id, (uint64_t)(uintptr_t)e);
}

const struct graph_entity *graph_entity_of(const struct graph *g, uint32_t rec)
{
	return rec < g->rec_cap ? g->rec_ent[rec] : NULL;
}

const struct graph_entity *graph_find(const struct graph *g, uint64_t id)
{
	uint64_t v;
	if (!id)
		return NULL;
	if (map_get(&g->entities, id, &v))
		return (const struct graph_entity *)(uintptr_t)v;
	if (map_get(&g->aliases, id, &v) && map_get(&g->entities, v, &v))
		return (const struct graph_entity *)(uintptr_t)v;
	return NULL;
}

const struct graph_edge *graph_edges(const struct graph *g, uint32_t rec,
				     size_t *n)
{
	if (rec >= g->rec_cap) {
		*n = 0;
		return NULL;
	}
	*n = g->edges[rec].n;
	return g->edges[rec].e;
}

static void edge_drop(struct graph *g, uint32_t rec, uint32_t other)
{
	struct edge_list *l = &g->edges[rec];
	for (uint32_t i = 0; i < l->n; i++)
		if (l->e[i].other == other) {
			l->e[i] = l->e[--l->n];
			return;
		}
}

static void member_drop(struct graph_entity *e, uint32_t rec)
{
	for (uint32_t i = 0; i < e->n_members; i++)
		if (e->members[i] == rec) {
			e->members[i] = e->members[--e->n_members];
			return;
		}
}

int graph_insert(struct graph *g, uint32_t rec, const struct graph_link *links,
		 size_t n_links, struct graph_change *out)
{
	memset(out, 0, sizeof(*out));
	if (reserve_recs(g, rec))
		return -1;
	if (g->rec_ent[rec])
		return -2;

	/* entities to join, oldest (smallest id) first */
	struct graph_entity *join[64];
	size_t n_join = 0;
	for (size_t i = 0; i < n_links && n_join < 64; i++) {
		if (links[i].kind != GRAPH_LINK)
			continue;
		struct graph_entity *e = graph_entity_of(g, links[i].rec)
						 ? g->rec_ent[links[i].rec]
						 : NULL;
		if (!e)
			continue;
		size_t k = 0;
		while (k < n_join && join[k] != e)
			k++;
		if (k == n_join)
			join[n_join++] = e;
	}
	for (size_t i = 1; i < n_join; i++)
		for (size_t k = i; k > 0 && join[k]->id < join[k - 1]->id; k--) {
			struct graph_entity *t = join[k];
			join[k] = join[k - 1];
			join[k - 1] = t;
		}

	/* reserve everything first */
	struct graph_entity *fresh = NULL;
	if (!n_join) {
		if (map_reserve(&g->entities, 1) || !(fresh = entity_new(g)))
			return -1;
	}
	struct graph_entity *s = n_join ? join[0] : fresh;
	uint32_t need_m = s->n_members + 1, need_a = s->n_aliases;
	for (size_t i = 1; i < n_join; i++) {
		need_m += join[i]->n_members;
		need_a += join[i]->n_aliases + 1;
	}
	if (grow((void **)&s->members, &s->cap_members, need_m,
		 sizeof(uint32_t)) ||
	    grow((void **)&s->aliases, &s->cap_aliases, need_a,
		 sizeof(uint64_t)) ||
	    map_reserve(&g->aliases, need_a - s->n_aliases))
		goto oom;
	struct edge_list *mine = &g->edges[rec];
	if (grow((void **)&mine->e, &mine->cap, (uint32_t)n_links,
		 sizeof(struct graph_edge)))
		goto oom;
	for (size_t i = 0; i < n_links; i++) {
		struct edge_list *o = &g->edges[links[i].rec];
		if (grow((void **)&o->e, &o->cap, o->n + 1,
			 sizeof(struct graph_edge)))
			goto oom;
	}

	/* the open view keeps what changes: every linked record's entity
	 * (the joined ones among them) */
	for (size_t i = 0; i < n_links; i++)
		touch(g, links[i].rec < g->rec_cap ? g->rec_ent[links[i].rec]
						   : NULL);

	/* commit */
	if (fresh)
		entity_register(g, fresh);
	for (size_t i = 0; i < n_links; i++) {
		const struct graph_link *l = &links[i];
		mine->e[mine->n++] =
			(struct graph_edge){l->rec, l->weight, l->kind};
		struct edge_list *o = &g->edges[l->rec];
		o->e[o->n++] = (struct graph_edge){rec, l->weight, l->kind};
		if (l->kind == GRAPH_LINK)
			g->n_edges++;
		else
			g->n_possible++;
	}
	for (size_t i = 1; i < n_join; i++) {
		struct graph_entity *a = join[i];
		for (uint32_t k = 0; k < a->n_members; k++) {
			s->members[s->n_members++] = a->members[k];
			g->rec_ent[a->members[k]] = s;
		}
		for (uint32_t k = 0; k < a->n_aliases; k++) {
			s->aliases[s->n_aliases++] = a->aliases[k];
			map_put(&g->aliases, a->aliases[k], s->id);
		}
		if (a->created_op != g->op) {
			s->aliases[s->n_aliases++] = a->id;
			map_put(&g->aliases, a->id, s->id);
		}
		map_del(&g->entities, a->id);
		entity_free(a);
		g->merges++;
		out->n_merged++;
	}
	s->members[s->n_members++] = rec;
	g->rec_ent[rec] = s;
	bump(g, s);
	out->entity_id = s->id;
	out->version = s->version;
	return 0;
oom:
	if (fresh)
		entity_free(fresh);
	return -1;
}

int graph_remove(struct graph *g, uint32_t rec, struct graph_change *out)
{
	memset(out, 0, sizeof(*out));
	struct graph_entity *e = rec < g->rec_cap ? g->rec_ent[rec] : NULL;
	if (!e)
		return -2;
	/* the open view keeps what changes (even if the change then fails:
	 * the caller may go on changing the record) */
	struct edge_list *l = &g->edges[rec];
	touch(g, e);
	for (uint32_t i = 0; i < l->n; i++)
		touch(g, g->rec_ent[l->e[i].other]);
	uint32_t n = e->n_members - 1;
	if (grow((void **)&g->scratch, &g->scratch_cap, 2 * e->n_members + 2,
		 sizeof(uint32_t)))
		return -1;

	/* drop the record and its edges */
	for (uint32_t i = 0; i < l->n; i++) {
		edge_drop(g, l->e[i].other, rec);
		if (l->e[i].kind == GRAPH_LINK)
			g->n_edges--;
		else
			g->n_possible--;
	}
	free(l->e);
	memset(l, 0, sizeof(*l));
	member_drop(e, rec);
	g->rec_ent[rec] = NULL;

	if (n == 0) {
		map_del(&g->entities, e->id);
		for (uint32_t k = 0; k < e->n_aliases; k++)
			map_del(&g->aliases, e->aliases[k]);
		entity_free(e);
		return 0;
	}

	/* connected components over LINK edges among the members: mark each
	 * member with its component number (scratch = BFS queue) */
	uint32_t *queue = g->scratch;
	struct graph_entity *comp_of_marker = (struct graph_entity *)1;
	/* temporarily point members at a marker to track "unvisited" */
	for (uint32_t i = 0; i < e->n_members; i++)
		g->rec_ent[e->members[i]] = comp_of_marker;

	uint32_t oldest = UINT32_MAX;
	for (uint32_t i = 0; i < e->n_members; i++)
		if (e->members[i] < oldest)
			oldest = e->members[i];

	/* first component: from the oldest record, stays in e */
	uint32_t kept = 0, head = 0, tail = 0;
	queue[tail++] = oldest;
	g->rec_ent[oldest] = e;
	while (head < tail) {
		uint32_t r = queue[head++];
		kept++;
		struct edge_list *el = &g->edges[r];
		for (uint32_t k = 0; k < el->n; k++) {
			uint32_t o = el->e[k].other;
			if (el->e[k].kind == GRAPH_LINK &&
			    g->rec_ent[o] == comp_of_marker) {
				g->rec_ent[o] = e;
				queue[tail++] = o;
			}
		}
	}
	bump(g, e);
	out->entity_id = e->id;
	out->version = e->version;
	if (kept == e->n_members)
		return 0;

	/* the rest splits off into new entities, oldest record first */
	uint32_t *rest = queue + e->n_members, n_rest = 0;
	for (uint32_t i = 0; i < e->n_members; i++)
		if (g->rec_ent[e->members[i]] == comp_of_marker)
			rest[n_rest++] = e->members[i];
	for (uint32_t i = 1; i < n_rest; i++)
		for (uint32_t k = i; k > 0 && rest[k] < rest[k - 1]; k--) {
			uint32_t t = rest[k];
			rest[k] = rest[k - 1];
			rest[k - 1] = t;
		}
	/* ENOMEM from here would leave a half split: reserve the maps, and on
	 * a failed entity allocation keep the remaining members in e. */
	map_reserve(&g->entities, n_rest);
	for (uint32_t i = 0; i < n_rest; i++) {
		uint32_t start = rest[i];
		if (g->rec_ent[start] != comp_of_marker)
			continue;
		struct graph_entity *ne = entity_new(g);
		if (!ne) {
			for (uint32_t k = i; k < n_rest; k++)
				if (g->rec_ent[rest[k]] == comp_of_marker)
					g->rec_ent[rest[k]] = e;
			break;
		}
		head = tail = 0;
		queue[tail++] = start;
		g->rec_ent[start] = ne;
		while (head < tail) {
			uint32_t r = queue[head++];
			if (grow((void **)&ne->members, &ne->cap_members,
				 ne->n_members + 1, sizeof(uint32_t)) == 0)
				ne->members[ne->n_members++] = r;
			struct edge_list *el = &g->edges[r];
			for (uint32_t k = 0; k < el->n; k++) {
				uint32_t o = el->e[k].other;
				if (el->e[k].kind == GRAPH_LINK &&
				    g->rec_ent[o] == comp_of_marker) {
					g->rec_ent[o] = ne;
					queue[tail++] = o;
				}
			}
		}
		entity_register(g, ne);
		g->splits++;
		out->n_split++;
	}
	/* compact e's members to those still pointing at e */
	uint32_t w = 0;
	for (uint32_t i = 0; i < e->n_members; i++)
		if (g->rec_ent[e->members[i]] == e)
			e->members[w++] = e->members[i];
	e->n_members = w;
	return 0;
}

void graph_get_stats(const struct graph *g, struct graph_stats *st)
{
	st->entities = g->entities.used;
	st->aliases = g->aliases.used;
	st->edges = g->n_edges;
	st->possible = g->n_possible;
	st->merges = g->merges;
	st->splits = g->splits;
	st->bytes = (g->entities.mask + g->aliases.mask + 2) *
			    sizeof(struct u64slot) +
		    (size_t)g->rec_cap * (sizeof(void *) + sizeof(struct edge_list)) +
		    2 * g->n_edges * sizeof(struct graph_edge) +
		    g->entities.used * (sizeof(struct graph_entity) + 16);
}

int graph_foreach_entity(const struct graph *g,
			 int (*fn)(void *ctx, const struct graph_entity *e),
			 void *ctx)
{
	for (size_t i = 0; i <= g->entities.mask; i++) {
		if (!g->entities.s[i].key)
			continue;
		int rc = fn(ctx, (const struct graph_entity *)(uintptr_t)
					 g->entities.s[i].val);
		if (rc)
			return rc;
	}
	return 0;
}

void graph_counters(const struct graph *g, uint64_t *next_id, uint64_t *op)
{
	*next_id = g->next_id;
	*op = g->op;
}

void graph_set_counters(struct graph *g, uint64_t next_id, uint64_t op)
{
	g->next_id = next_id;
	g->op = op;
}

int graph_restore_entity(struct graph *g, uint64_t id, uint64_t version,
			 uint64_t created_op, uint64_t changed_op,
			 const uint32_t *members, uint32_t n_members,
			 const uint64_t *aliases, uint32_t n_aliases)
{
	uint64_t v;
	if (!id || map_get(&g->entities, id, &v))
		return -2;
	uint32_t top = 0;
	for (uint32_t i = 0; i < n_members; i++)
		if (members[i] >= top)
			top = members[i] + 1;
	if ((top && reserve_recs(g, top - 1)) || map_reserve(&g->entities, 1) ||
	    map_reserve(&g->aliases, n_aliases))
		return -1;
	for (uint32_t i = 0; i < n_members; i++)
		if (g->rec_ent[members[i]])
			return -2;
	struct graph_entity *e = calloc(1, sizeof(*e));
	if (!e)
		return -1;
	/* no alias array until there are aliases, as for a new entity (most
	 * entities never absorb another) */
	if (grow((void **)&e->members, &e->cap_members,
		 n_members ? n_members : 1, sizeof(uint32_t)) ||
	    grow((void **)&e->aliases, &e->cap_aliases, n_aliases,
		 sizeof(uint64_t))) {
		entity_free(e);
		return -1;
	}
	e->id = id;
	e->version = version;
	e->created_op = created_op;
	e->changed_op = changed_op;
	memcpy(e->members, members, n_members * sizeof(uint32_t));
	e->n_members = n_members;
	if (n_aliases)
		memcpy(e->aliases, aliases, n_aliases * sizeof(uint64_t));
	e->n_aliases = n_aliases;
	map_put(&g->entities, id, (uint64_t)(uintptr_t)e);
	for (uint32_t i = 0; i < n_aliases; i++)
		map_put(&g->aliases, aliases[i], id);
	for (uint32_t i = 0; i < n_members; i++)
		g->rec_ent[members[i]] = e;
	return 0;
}

void graph_restore_prefetch(const struct graph *g, uint64_t id)
{
	__builtin_prefetch(&g->entities.s[mix(id) & g->entities.mask], 1);
}

int graph_restore_edge(struct graph *g, uint32_t a, uint32_t b, float weight,
		       uint8_t kind)
{
	uint32_t top = a > b ? a : b;
	if (reserve_recs(g, top))
		return -1;
	struct edge_list *la = &g->edges[a], *lb = &g->edges[b];
	if (grow((void **)&la->e, &la->cap, la->n + 1, sizeof(struct graph_edge)) ||
	    grow((void **)&lb->e, &lb->cap, lb->n + 1, sizeof(struct graph_edge)))
		return -1;
	la->e[la->n++] = (struct graph_edge){b, weight, kind};
	lb->e[lb->n++] = (struct graph_edge){a, weight, kind};
	if (kind == GRAPH_LINK)
		g->n_edges++;
	else
		g->n_possible++;
	return 0;
}

int graph_restore_edges(struct graph *g, uint32_t rec,
			const struct graph_edge *edges, uint32_t n)
{
	if (reserve_recs(g, rec))
		return -1;
	struct edge_list *l = &g->edges[rec];
	if (l->n)
		return -2;
	for (uint32_t i = 0; i < n; i++)
		if (edges[i].other == rec)
			return -2;
	if (!n)
		return 0;
	if (grow((void **)&l->e, &l->cap, n, sizeof(struct graph_edge)))
		return -1;
	memcpy(l->e, edges, (size_t)n * sizeof(*edges));
	l->n = n;
	for (uint32_t i = 0; i < n; i++) {
		if (edges[i].other < rec)
			continue;
		if (edges[i].kind == GRAPH_LINK)
			g->n_edges++;
		else
			g->n_possible++;
	}
	return 0;
}

void graph_set_history(struct graph *g, uint64_t merges, uint64_t splits)
{
	g->merges = merges;
	g->splits = splits;
}

int graph_restore_reserve(struct graph *g, uint32_t rec_limit,
			  uint64_t n_entities, uint64_t n_aliases)
{
	if ((rec_limit && reserve_recs(g, rec_limit - 1)) ||
	    map_reserve(&g->entities, n_entities) ||
	    map_reserve(&g->aliases, n_aliases))
		return -1;
	return 0;
}

int graph_restore_check_members(const struct graph *g, uint32_t rec_limit,
				int (*has_rec)(void *ctx, uint32_t rec),
				void *ctx)
{
	uint32_t lim = rec_limit > g->rec_cap ? g->rec_cap : rec_limit;
	for (uint32_t r = lim; r < rec_limit; r++)
		if (has_rec(ctx, r))
			return -1;
	for (uint32_t r = 0; r < lim; r++)
		if ((has_rec(ctx, r) != 0) != (g->rec_ent[r] != NULL))
			return -1;
	return 0;
}

int graph_restore_check_edges(const struct graph *g, uint32_t rec_limit)
{
	uint32_t lim = rec_limit > g->rec_cap ? g->rec_cap : rec_limit;
	for (uint32_t r = lim; r < g->rec_cap; r++)
		if (g->rec_ent[r] || g->edges[r].n)
			return -1;
	/* each edge twice, once from each end, between records in entities:
	 * those are marked in a bitmap first (a million records take 128
	 * KiB, which stays in the cache where the entity pointers it stands
	 * for did not: the other ends are looked up at random) */
	uint64_t *live = calloc((size_t)lim / 64 + 1, sizeof(*live));
	for (uint32_t r = 0; r < lim && live; r++)
		live[r / 64] |= (uint64_t)(g->rec_ent[r] != NULL) << (r % 64);
	int rc = 0;
	uint64_t ends = 0;
	for (uint32_t r = 0; r < lim && !rc; r++) {
		const struct edge_list *l = &g->edges[r];
		for (uint32_t i = 0; i < l->n; i++) {
			uint32_t o = l->e[i].other;
			if (o >= lim || !(live ? live[o / 64] >> (o % 64) & 1
					       : g->rec_ent[o] != NULL))
				rc = -1;
		}
		ends += l->n;
	}
	free(live);
	if (rc)
		return rc;
	return ends == 2 * (g->n_edges + g->n_possible) ? 0 : -1;
}

int graph_restore_check(const struct graph *g, uint32_t rec_limit,
			int (*has_rec)(void *ctx, uint32_t rec), void *ctx)
{
	return graph_restore_check_members(g, rec_limit, has_rec, ctx)
		   ? -1
		   : graph_restore_check_edges(g, rec_limit);
}
