/*
 * eval.c — reconnu-eval: loads a labelled data set through the public API
 * and scores the engine's clustering against the ground truth.
 *
 * Every row is upserted (reconnu_upsert), then each record's entity is read
 * back with reconnu_get_entity_by_key. Pairwise counts come from the
 * contingency table of (predicted entity, true entity): TP is the sum of
 * C(n, 2) over its cells, TP + FP the sum over predicted clusters, TP + FN
 * the sum over true clusters, so the cost is a sort, never O(n²).
 * A record the engine rejects counts as a predicted singleton; a key that
 * appears twice counts once, with its last row (upsert replaces it).
 */
#define _GNU_SOURCE
#include "preset.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/** Interned strings: dense ids for truth labels and record keys. */
struct strtab {
	char *pool; /**< NUL-terminated strings back to back */
	size_t len, cap;
	size_t *off; /**< pool offset of each id */
	size_t n, off_cap;
	uint32_t *slots; /**< open addressing: id + 1, 0 = empty */
	size_t mask;
};

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

/** Id of s, added when new (*added = 1). @retval id, or -1 out of memory */
static int64_t strtab_intern(struct strtab *t, const char *s, int *added)
{
	*added = 0;
	if (2 * (t->n + 1) > t->mask && strtab_grow(t) != 0)
		return -1;
	size_t h = hash_str(s) & t->mask;
	for (; t->slots[h]; h = (h + 1) & t->mask)
		if (strcmp(t->pool + t->off[t->slots[h] - 1], s) == 0)
			return t->slots[h] - 1;
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

#define NO_TRUTH       UINT32_MAX
#define PRED_SINGLETON (1ULL << 63)

/** One distinct record key. */
struct row {
	uint32_t truth; /**< truth id, NO_TRUTH when unlabelled */
	bool rejected;	/**< the engine refused its last upsert */
	uint64_t pred;	/**< predicted entity id */
};

struct eval {
	reconnu *r;
	struct strtab keys;   /**< "source\x1fsource_id", id = row index */
	struct strtab truths; /**< truth labels */
	struct row *rows;
	size_t cap;
	uint64_t upserts, rejected, duplicates;
	double upsert_s;
};

static int on_row(void *ctx, const reconnu_record *rec, const char *truth)
{
	struct eval *e = ctx;
	char key[2 * RECONNU_MAX_KEY_LEN + 2];
	int added;
	snprintf(key, sizeof(key), "%s\x1f%s", rec->source, rec->source_id);
	double t0 = preset_now();
	int rc = reconnu_upsert(e->r, rec, NULL);
	e->upsert_s += preset_now() - t0;
	e->upserts++;
	if (rc != 0 && ++e->rejected <= 10)
		fprintf(stderr, "rejected %s/%s: %s\n", rec->source,
			rec->source_id, reconnu_last_error());
	int64_t id = strtab_intern(&e->keys, key, &added);
	int64_t tid =
	    truth ? strtab_intern(&e->truths, truth, &(int){0}) : NO_TRUTH;
	if (id < 0 || tid < 0) {
		fprintf(stderr, "out of memory\n");
		return -1;
	}
	if (!added)
		e->duplicates++;
	if ((size_t)id == e->cap) {
		size_t cap = e->cap ? 2 * e->cap : 4096;
		struct row *p = realloc(e->rows, cap * sizeof(*p));
		if (p == NULL) {
			fprintf(stderr, "out of memory\n");
			return -1;
		}
		e->rows = p;
		e->cap = cap;
	}
	e->rows[id] = (struct row){.truth = (uint32_t)tid, .rejected = rc != 0};
	return 0;
}

/** Pairwise confusion counts and cluster counts. */
struct scores {
	uint64_t n, tp, fp, fn, tn;
	uint64_t true_clusters, pred_clusters;
	double precision, recall, f1;
};

static uint64_t c2(uint64_t x)
{
	return x * (x - 1) / 2;
}

struct cell {
	uint64_t pred, truth;
};

static int cmp_cell(const void *a, const void *b)
{
	const struct cell *x = a, *y = b;
	if (x->pred != y->pred)
		return x->pred < y->pred ? -1 : 1;
	return x->truth < y->truth ? -1 : x->truth > y->truth;
}

static int score(const struct eval *e, struct scores *s)
{
	size_t n = e->keys.n;
	struct cell *cells = malloc((n ? n : 1) * sizeof(*cells));
	uint32_t *tsize = calloc(e->truths.n + 1, sizeof(*tsize));
	if (cells == NULL || tsize == NULL) {
		free(cells);
		free(tsize);
		return -1;
	}
	memset(s, 0, sizeof(*s));
	s->n = n;
	uint64_t true_pairs = 0, pred_pairs = 0;
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &e->rows[i];
		/* unlabelled rows are their own true entity */
		uint64_t t =
		    r->truth == NO_TRUTH ? e->truths.n + (uint64_t)i : r->truth;
		if (r->truth == NO_TRUTH)
			s->true_clusters++;
		else if (tsize[r->truth]++ == 0)
			s->true_clusters++;
		cells[i] = (struct cell){r->pred, t};
	}
	for (size_t t = 0; t < e->truths.n; t++)
		true_pairs += c2(tsize[t]);
	qsort(cells, n, sizeof(*cells), cmp_cell);
	for (size_t i = 0, j; i < n; i = j) {
		uint64_t cell = 1;
		for (j = i + 1; j < n && cells[j].pred == cells[i].pred; j++) {
			if (cells[j].truth == cells[j - 1].truth) {
				cell++;
			} else {
				s->tp += c2(cell);
				cell = 1;
			}
		}
		s->tp += c2(cell);
		pred_pairs += c2(j - i);
		s->pred_clusters++;
	}
	s->fp = pred_pairs - s->tp;
	s->fn = true_pairs - s->tp;
	s->tn = (n > 1 ? c2(n) : 0) - s->tp - s->fp - s->fn;
	s->precision = pred_pairs ? (double)s->tp / (double)pred_pairs : 1;
	s->recall = true_pairs ? (double)s->tp / (double)true_pairs : 1;
	s->f1 = s->precision + s->recall > 0
		    ? 2 * s->precision * s->recall / (s->precision + s->recall)
		    : 0;
	free(cells);
	free(tsize);
	return 0;
}

/** Reads back every record's entity id. @retval lookups that failed */
static uint64_t predict(struct eval *e)
{
	uint64_t failed = 0;
	for (size_t i = 0; i < e->keys.n; i++) {
		struct row *r = &e->rows[i];
		r->pred = PRED_SINGLETON | i;
		if (r->rejected)
			continue;
		char *src = e->keys.pool + e->keys.off[i];
		char *sep = strchr(src, '\x1f');
		*sep = 0;
		reconnu_golden *g;
		if (reconnu_get_entity_by_key(e->r, src, sep + 1, &g) == 0) {
			r->pred = g->entity_id;
			reconnu_golden_free(g);
		} else if (++failed <= 10) {
			fprintf(stderr, "no entity for %s/%s: %s\n", src,
				sep + 1, reconnu_last_error());
		}
		*sep = '\x1f';
	}
	return failed;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: reconnu-eval [options] [FILE...]\n"
		"Loads labelled records into an in-memory engine and prints "
		"pairwise\nprecision, recall and F1 against the truth "
		"column.\n\n"
		"  --json               one JSON object on stdout\n"
		"%s",
		preset_usage);
}

int main(int argc, char **argv)
{
	struct preset_opts o;
	bool json = false;
	int status = 2;
	struct eval e = {0};
	preset_opts_create(&o);
	for (int i = 1; i < argc;) {
		int rc = preset_opts_arg(&o, argc, argv, &i);
		if (rc < 0)
			goto out;
		if (rc > 0)
			continue;
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--help") == 0 ||
			   strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			status = 0;
			goto out;
		} else {
			fprintf(stderr, "unknown option %s\n", argv[i]);
			usage(stderr);
			goto out;
		}
		i++;
	}
	if (preset_opts_finish(&o) != 0)
		goto out;
	reconnu_config cfg;
	preset_config(&o, &cfg);
	if (reconnu_open(&cfg, &e.r) != 0) {
		fprintf(stderr, "reconnu_open: %s\n", reconnu_last_error());
		goto out;
	}
	uint64_t bad_rows = 0;
	double t0 = preset_now();
	if (preset_each_row(&o, on_row, &e, &bad_rows) != 0)
		goto out;
	double load_s = preset_now() - t0;
	uint64_t failed = predict(&e);
	struct scores s;
	reconnu_stats st = {0};
	reconnu_get_stats(e.r, &st);
	if (score(&e, &s) != 0) {
		fprintf(stderr, "out of memory\n");
		goto out;
	}
	double rps = load_s > 0 ? (double)e.upserts / load_s : 0;
	double ups = e.upsert_s > 0 ? (double)e.upserts / e.upsert_s : 0;
	if (json) {
		printf("{\"preset\": \"%s\", \"files\": %zu, \"records\": "
		       "%" PRIu64 ", \"bad_rows\": %" PRIu64
		       ", \"rejected\": %" PRIu64
		       ", \"duplicate_keys\": %" PRIu64
		       ", \"lookup_failures\": %" PRIu64
		       ", \"true_clusters\": %" PRIu64
		       ", \"predicted_clusters\": %" PRIu64 ", \"tp\": %" PRIu64
		       ", \"fp\": %" PRIu64 ", \"fn\": %" PRIu64
		       ", \"tn\": %" PRIu64
		       ", \"precision\": %.6f, \"recall\": %.6f, \"f1\": %.6f"
		       ", \"possible_pairs\": %" PRIu64
		       ", \"match_threshold\": %.4f, \"possible_threshold\": "
		       "%.4f, \"load_seconds\": %.3f, \"records_per_s\": %.0f"
		       ", \"upserts_per_s\": %.0f}\n",
		       o.preset ? o.preset : "", o.n_files, s.n, bad_rows,
		       e.rejected, e.duplicates, failed, s.true_clusters,
		       s.pred_clusters, s.tp, s.fp, s.fn, s.tn, s.precision,
		       s.recall, s.f1, st.possible_pairs, cfg.match_threshold,
		       cfg.possible_threshold, load_s, rps, ups);
	} else {
		printf("%s%s%" PRIu64
		       " records from %zu file(s) (bad rows %" PRIu64
		       ", rejected %" PRIu64 ", duplicate keys %" PRIu64
		       ") loaded in %.3f s: %.0f records/s (upserts alone "
		       "%.0f/s)\n",
		       o.preset ? o.preset : "", o.preset ? ": " : "", s.n,
		       o.n_files, bad_rows, e.rejected, e.duplicates, load_s,
		       rps, ups);
		printf("clusters: true %" PRIu64 ", predicted %" PRIu64
		       "; possible pairs for review %" PRIu64 "\n",
		       s.true_clusters, s.pred_clusters, st.possible_pairs);
		printf("pairs: TP %" PRIu64 "  FP %" PRIu64 "  FN %" PRIu64
		       "  TN %" PRIu64 "\n",
		       s.tp, s.fp, s.fn, s.tn);
		printf("precision %.4f  recall %.4f  F1 %.4f\n", s.precision,
		       s.recall, s.f1);
	}
	status = 0;
out:
	reconnu_close(e.r);
	strtab_destroy(&e.keys);
	strtab_destroy(&e.truths);
	free(e.rows);
	preset_opts_destroy(&o);
	return status;
}
