/*
 * eval.c — reconnu-eval: loads a labelled data set through the public API
 * and scores the engine's clustering against the ground truth.
 *
 * Every row is upserted (reconnu_upsert), then each record's entity is read
 * back with reconnu_get_entity_by_key and the partition is scored
 * (metrics.h: pairwise, B-cubed, exact clusters, pairs written in two
 * scripts). A record the engine rejects counts as a predicted singleton; a
 * key that appears twice counts once, with its last row (upsert replaces
 * it).
 *
 * From the same load, --sweep scores an approximate clustering at many
 * match thresholds (pairs.h: union-find over the pairs identify and explain
 * score) and --plot draws its precision-recall curve; --worst N prints the
 * engine's worst false positives and false negatives with the per-attribute
 * explanation of each.
 */
#define _GNU_SOURCE
#include "dataset.h"
#include "metrics.h"
#include "pairs.h"
#include "plot.h"
#include "preset.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/** Target of the cross-script evaluation: recall at a precision floor. */
#define XS_PRECISION 0.99
#define XS_RECALL    0.95
#define MAX_WORST    1000
#define MAX_POINTS   64

/** Thresholds of the sweep, besides the engine's two. */
static const double sweep_thresholds[] = {
    0.10, 0.20, 0.30, 0.40, 0.50,  0.55,  0.60,	 0.65,	0.70,  0.75, 0.80,
    0.85, 0.86, 0.87, 0.88, 0.89,  0.90,  0.91,	 0.92,	0.93,  0.94, 0.95,
    0.96, 0.97, 0.98, 0.99, 0.992, 0.994, 0.996, 0.998, 0.999,
};
_Static_assert(sizeof(sweep_thresholds) / sizeof(double) + 2 <= MAX_POINTS,
	       "the sweep's thresholds and the engine's two fit its arrays");

struct eval {
	reconnu *r;
	struct dataset d;
	uint64_t upserts, rejected, duplicates;
	double upsert_s;
};

static int on_row(void *ctx, const reconnu_record *rec, const char *truth)
{
	struct eval *e = ctx;
	double t0 = preset_now();
	int rc = reconnu_upsert(e->r, rec, NULL);
	e->upsert_s += preset_now() - t0;
	e->upserts++;
	if (rc != 0 && ++e->rejected <= 10)
		fprintf(stderr, "rejected %s/%s: %s\n", rec->source,
			rec->source_id, reconnu_last_error());
	bool replaced;
	if (dataset_add(&e->d, rec, truth, rc != 0, &replaced) < 0) {
		fprintf(stderr, "out of memory\n");
		return -1;
	}
	e->duplicates += replaced;
	return 0;
}

/** Scores the engine's own clustering (rows' pred). */
static int score_engine(const struct dataset *d, struct metrics *m)
{
	size_t n = dataset_size(d);
	uint64_t *truth = malloc((n ? n : 1) * sizeof(*truth));
	uint64_t *pred = malloc((n ? n : 1) * sizeof(*pred));
	int32_t *script = malloc((n ? n : 1) * sizeof(*script));
	int rc = -1;
	if (truth && pred && script) {
		dataset_truth_classes(d, truth);
		for (size_t i = 0; i < n; i++) {
			pred[i] = d->rows[i].pred;
			script[i] = d->rows[i].script;
		}
		rc = metrics_score(n, truth, pred, script, m);
	}
	free(truth);
	free(pred);
	free(script);
	return rc;
}

/** Records per name script, most frequent first. */
struct script_count {
	int32_t script;
	uint64_t n;
};

static size_t count_scripts(const struct dataset *d, struct script_count *v,
			    size_t cap)
{
	size_t m = 0;
	for (size_t i = 0; i < dataset_size(d); i++) {
		size_t k = 0;
		while (k < m && v[k].script != d->rows[i].script)
			k++;
		if (k == m && m < cap)
			v[m++] = (struct script_count){d->rows[i].script, 0};
		if (k < m)
			v[k].n++;
	}
	for (size_t i = 1; i < m; i++)
		for (size_t k = i; k > 0 && v[k].n > v[k - 1].n; k--) {
			struct script_count t = v[k];
			v[k] = v[k - 1];
			v[k - 1] = t;
		}
	return m;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/** The sweep's thresholds, ascending, with the engine's two added, in
 *  thr[MAX_POINTS]. @retval how many */
static size_t thresholds(const reconnu_config *cfg, double *thr)
{
	size_t n = 0;
	for (size_t k = 0; k < sizeof(sweep_thresholds) / sizeof(*thr); k++)
		thr[n++] = sweep_thresholds[k];
	thr[n++] = cfg->match_threshold;
	thr[n++] = cfg->possible_threshold;
	qsort(thr, n, sizeof(*thr), cmp_double);
	size_t m = 0;
	for (size_t k = 0; k < n; k++)
		if (m == 0 || fabs(thr[k] - thr[m - 1]) > 1e-9)
			thr[m++] = thr[k];
	return m;
}

/** Index of the point with the best F1, and of the best cross-script
 *  recall at precision >= XS_PRECISION (-1 when none reaches it). */
static void sweep_best(const struct sweep_point *pts, size_t n, size_t *f1,
		       long *xs)
{
	*f1 = 0;
	*xs = -1;
	for (size_t k = 0; k < n; k++) {
		if (pts[k].m.pairs.f1 > pts[*f1].m.pairs.f1)
			*f1 = k;
		const struct metrics_pairs *x = &pts[k].m.cross;
		if (x->tp + x->fn > 0 && x->precision >= XS_PRECISION &&
		    (*xs < 0 || x->recall > pts[*xs].m.cross.recall))
			*xs = (long)k;
	}
}

static bool xs_target_met(const struct metrics_pairs *x)
{
	return x->tp + x->fn > 0 && x->precision >= XS_PRECISION &&
	       x->recall >= XS_RECALL;
}

/* ---- worst errors: context ------------------------------------------ */

/** Records of an entity and distinct truth classes among them. */
static void entity_census(const struct dataset *d, uint64_t pred, size_t *n,
			  size_t *classes)
{
	uint32_t seen[64];
	size_t ns = 0;
	*n = *classes = 0;
	for (size_t i = 0; i < dataset_size(d); i++) {
		if (d->rows[i].pred != pred)
			continue;
		++*n;
		uint32_t t = d->rows[i].truth;
		size_t k = 0;
		while (k < ns && seen[k] != t)
			k++;
		if (t == DATASET_NO_TRUTH || k == ns) {
			++*classes;
			if (t != DATASET_NO_TRUTH && ns < 64)
				seen[ns++] = t;
		}
	}
}

/** Prints up to width code points of s, padded with spaces. */
static void put_cell(const char *s, int width)
{
	int w = 0;
	if (s == NULL)
		s = "";
	const char *p = s;
	for (; *p; p++) {
		if (((unsigned char)*p & 0xc0) == 0x80)
			continue;
		if (w == width)
			break;
		w++;
	}
	fwrite(s, 1, (size_t)(p - s), stdout);
	printf("%*s", width - w + 2, "");
}

static void print_explanation(const reconnu_explanation *x)
{
	printf("      %-14s  ", "attribute");
	put_cell("A", 26);
	put_cell("B", 26);
	printf("%-13s %5s %7s\n", "level", "sim", "weight");
	for (size_t k = 0; k < x->n_features; k++) {
		const reconnu_feature *f = &x->features[k];
		printf("      %-14s  ", f->attribute);
		put_cell(f->left, 26);
		put_cell(f->right, 26);
		printf("%-13s ", f->level);
		if (f->similarity >= 0)
			printf("%5.2f", f->similarity);
		else
			printf("%5s", "-");
		printf(" %+7.2f\n", f->weight);
	}
	printf("      prior %+.2f, total %+.2f, probability %.6f (%s)\n",
	       x->prior_weight, x->total_weight, x->probability,
	       reconnu_decision_name(x->decision));
}

static json_t *explanation_json(const reconnu_explanation *x)
{
	json_t *f = json_array();
	for (size_t k = 0; k < x->n_features; k++) {
		const reconnu_feature *ft = &x->features[k];
		json_array_append_new(
		    f,
		    json_pack("{s:s, s:s?, s:s?, s:s, s:f, s:f}", "attribute",
			      ft->attribute, "left", ft->left, "right",
			      ft->right, "level", ft->level, "similarity",
			      ft->similarity, "weight", ft->weight));
	}
	return json_pack("{s:f, s:f, s:f, s:s, s:o}", "prior_weight",
			 x->prior_weight, "total_weight", x->total_weight,
			 "probability", x->probability, "decision",
			 reconnu_decision_name(x->decision), "features", f);
}

static json_t *row_json(const struct dataset *d, uint32_t i)
{
	const struct ds_row *r = &d->rows[i];
	return json_pack("{s:s, s:s, s:s, s:I, s:s}", "source", r->rec.source,
			 "source_id", r->rec.source_id, "truth",
			 dataset_truth(d, i), "entity",
			 (json_int_t)(r->pred & ~DATASET_SINGLETON), "script",
			 dataset_script_name(r->script));
}

/**
 * Prints (text) or returns (JSON array) the worst errors w[0..n).
 * @retval JSON array when json, else NULL
 */
static json_t *report_worst(reconnu *r, const struct dataset *d,
			    const struct worst *w, size_t n, bool fp, bool json)
{
	json_t *arr = json ? json_array() : NULL;
	if (!json)
		printf("\nworst false %s (%s):\n",
		       fp ? "positives" : "negatives",
		       fp ? "records of different persons in one entity; "
			    "per entity its highest-probability pair"
			  : "records of one person left in two entities; per "
			    "pair of entities its highest-probability pair");
	for (size_t k = 0; k < n; k++) {
		const struct ds_row *a = &d->rows[w[k].a],
				    *b = &d->rows[w[k].b];
		reconnu_explanation *x = NULL;
		if (reconnu_explain_records(r, &a->rec, &b->rec, &x) != 0) {
			fprintf(stderr, "explain: %s\n", reconnu_last_error());
			continue;
		}
		size_t na, ca, nb, cb;
		entity_census(d, a->pred, &na, &ca);
		entity_census(d, b->pred, &nb, &cb);
		if (json) {
			json_t *o = json_pack(
			    "{s:f, s:[o,o], s:o}", "probability", w[k].p,
			    "records", row_json(d, w[k].a), row_json(d, w[k].b),
			    "explanation", explanation_json(x));
			if (fp) {
				json_object_set_new(
				    o, "entity_records",
				    json_integer((json_int_t)na));
				json_object_set_new(
				    o, "entity_persons",
				    json_integer((json_int_t)ca));
			} else {
				json_object_set_new(
				    o, "compared", json_boolean(w[k].compared));
			}
			json_array_append_new(arr, o);
		} else {
			printf("  #%zu  p %.6f  ", k + 1, w[k].p);
			if (fp)
				printf("entity %" PRIu64
				       ": %zu records of %zu persons\n",
				       a->pred, na, ca);
			else
				printf("entities %" PRIu64
				       " (%zu record%s) and "
				       "%" PRIu64 " (%zu record%s); %s\n",
				       a->pred & ~DATASET_SINGLETON, na,
				       na == 1 ? "" : "s",
				       b->pred & ~DATASET_SINGLETON, nb,
				       nb == 1 ? "" : "s",
				       w[k].compared
					   ? "identify paired them"
					   : "never paired by identify "
					     "(blocking or candidate cap)");
			printf("      A %s/%s (truth %s)\n      B %s/%s (truth "
			       "%s)\n",
			       a->rec.source, a->rec.source_id,
			       dataset_truth(d, w[k].a), b->rec.source,
			       b->rec.source_id, dataset_truth(d, w[k].b));
			print_explanation(x);
		}
		reconnu_explanation_free(x);
	}
	if (!json && n == 0)
		printf("  none\n");
	return arr;
}

/* ---- output ------------------------------------------------------------ */

/** Two-script pair figures, keys prefixed "cross_", and the target. */
static json_t *cross_json(const struct metrics_pairs *p)
{
	return json_pack(
	    "{s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:b}",
	    "cross_tp", (json_int_t)p->tp, "cross_fp", (json_int_t)p->fp,
	    "cross_fn", (json_int_t)p->fn, "cross_true_pairs",
	    (json_int_t)(p->tp + p->fn), "cross_predicted_pairs",
	    (json_int_t)(p->tp + p->fp), "cross_precision", p->precision,
	    "cross_recall", p->recall, "cross_f1", p->f1,
	    "cross_target_precision", XS_PRECISION, "cross_target_recall",
	    XS_RECALL, "cross_target_met", xs_target_met(p));
}

static json_t *point_json(double threshold, const struct metrics *m)
{
	return json_pack(
	    "{s:f, s:f, s:f, s:f, s:I, s:I, s:I, s:f, s:f, s:f, s:I, s:f, "
	    "s:f, s:f}",
	    "threshold", threshold, "precision", m->pairs.precision, "recall",
	    m->pairs.recall, "f1", m->pairs.f1, "tp", (json_int_t)m->pairs.tp,
	    "fp", (json_int_t)m->pairs.fp, "fn", (json_int_t)m->pairs.fn,
	    "bcubed_precision", m->b3_precision, "bcubed_recall", m->b3_recall,
	    "bcubed_f1", m->b3_f1, "predicted_clusters",
	    (json_int_t)m->pred_clusters, "cross_precision", m->cross.precision,
	    "cross_recall", m->cross.recall, "cross_f1", m->cross.f1);
}

static void print_point(const char *mark, double t, const struct metrics *m,
			bool cross)
{
	printf("  %7.3f%-1s %9.4f %7.4f %7.4f %7.4f %9" PRIu64, t, mark,
	       m->pairs.precision, m->pairs.recall, m->pairs.f1, m->b3_f1,
	       m->pred_clusters);
	if (cross)
		printf("  %9.4f %8.4f", m->cross.precision, m->cross.recall);
	putchar('\n');
}

static void print_sweep(const struct sweep_point *pts, size_t n,
			const struct metrics *eng, const reconnu_config *cfg,
			const struct pairs *ps, bool cross)
{
	size_t best;
	long xs;
	sweep_best(pts, n, &best, &xs);
	printf("\nthreshold sweep: single-linkage union-find over %zu scored "
	       "pairs (identify candidates\nacross entities, explain within "
	       "them) at each threshold — an approximation of\nthe engine's "
	       "incremental clustering; * = the engine's match_threshold\n",
	       ps->n);
	printf("  %8s %9s %7s %7s %7s %9s", "threshold", "precision", "recall",
	       "F1", "B3-F1", "clusters");
	if (cross)
		printf("  %9s %8s", "2s-prec", "2s-rec");
	putchar('\n');
	for (size_t k = 0; k < n; k++)
		print_point(fabs(pts[k].threshold - cfg->match_threshold) < 1e-9
				? "*"
				: " ",
			    pts[k].threshold, &pts[k].m, cross);
	printf("  engine (as clustered):\n");
	print_point(" ", cfg->match_threshold, eng, cross);
	printf("best F1 of the sweep: %.4f at %.3f\n", pts[best].m.pairs.f1,
	       pts[best].threshold);
	if (cross) {
		if (xs >= 0)
			printf("best two-script recall at precision >= %.2f: "
			       "%.4f at %.3f\n",
			       XS_PRECISION, pts[xs].m.cross.recall,
			       pts[xs].threshold);
		else
			printf("no threshold reaches two-script precision "
			       ">= %.2f\n",
			       XS_PRECISION);
	}
}

static json_t *sweep_json(const struct sweep_point *pts, size_t n,
			  const struct metrics *eng, const reconnu_config *cfg,
			  const struct pairs *ps)
{
	size_t best;
	long xs;
	sweep_best(pts, n, &best, &xs);
	json_t *arr = json_array();
	for (size_t k = 0; k < n; k++)
		json_array_append_new(arr,
				      point_json(pts[k].threshold, &pts[k].m));
	json_t *xs_best = xs < 0 ? json_null()
				 : json_pack("{s:f, s:f, s:f}", "threshold",
					     pts[xs].threshold, "precision",
					     pts[xs].m.cross.precision,
					     "recall", pts[xs].m.cross.recall);
	return json_pack(
	    "{s:s, s:I, s:I, s:I, s:o, s:o, s:{s:f, s:f}, s:o}", "method",
	    "single-linkage union-find over the pairs scored by identify "
	    "(across entities) and explain (within them), at each threshold: "
	    "an approximation of the engine's incremental clustering",
	    "scored_pairs", (json_int_t)ps->n, "identify_calls",
	    (json_int_t)ps->identify_calls, "explain_calls",
	    (json_int_t)ps->explain_calls, "engine",
	    point_json(cfg->match_threshold, eng), "points", arr, "best_f1",
	    "threshold", pts[best].threshold, "f1", pts[best].m.pairs.f1,
	    "cross_best_recall_at_precision", xs_best);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: reconnu-eval [options] [FILE...]\n"
		"Loads labelled records into an in-memory engine and prints "
		"pairwise and\nB-cubed precision, recall and F1 against the "
		"truth column.\n\n"
		"  --json               one JSON object on stdout\n"
		"  --sweep              precision/recall/F1 at many match "
		"thresholds from the\n"
		"                       same load (union-find approximation "
		"of the engine)\n"
		"  --plot FILE.png      precision-recall curve of the sweep "
		"(gnuplot; implies\n"
		"                       --sweep)\n"
		"  --worst N            the N worst false positives and false "
		"negatives,\n"
		"                       each with its per-attribute "
		"explanation\n"
		"  --dump-pairs FILE    every scored pair (candidates, pairs in "
		"an entity,\n"
		"                       missed true pairs) with truth and "
		"explanation, TSV\n"
		"  --cross-script       report the pairs whose names are "
		"written in two\n"
		"                       scripts (Latin vs Cyrillic, Han, "
		"Hangul...) on their own\n"
		"%s"
		"  --preset datagen-xscript  the datagen preset with "
		"--cross-script\n",
		preset_usage);
}

/*
 * --dump-pairs FILE: every pair the sweep and the worst-error report see
 * (identify candidates, pairs inside a predicted entity, true pairs left
 * in two entities), one TSV line each, for analysing the model:
 *   flags  same-person  same-entity  probability  key-a  key-b
 *   then per attribute  attribute=level:weight:left|right
 */
static int dump_pairs(const char *path, reconnu *r, const struct dataset *d,
		      const struct pairs *ps)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		return -1;
	}
	for (size_t i = 0; i < ps->n; i++) {
		const struct pair *p = &ps->v[i];
		const struct ds_row *a = &d->rows[p->a], *b = &d->rows[p->b];
		reconnu_explanation *x;
		if (reconnu_explain_records(r, &a->rec, &b->rec, &x))
			continue;
		fprintf(f, "%u\t%d\t%d\t%.6f\t%s/%s\t%s/%s\t%.4f", p->flags,
			a->truth != DATASET_NO_TRUTH && a->truth == b->truth,
			a->pred == b->pred, x->probability, a->rec.source,
			a->rec.source_id, b->rec.source, b->rec.source_id,
			x->prior_weight);
		for (size_t k = 0; k < x->n_features; k++) {
			const reconnu_feature *ft = &x->features[k];
			fprintf(f, "\t%s=%s:%.3f:%s|%s", ft->attribute, ft->level,
				ft->weight, ft->left, ft->right);
		}
		fputc('\n', f);
		reconnu_explanation_free(x);
	}
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	struct preset_opts o;
	bool json = false, sweep = false, cross = false;
	const char *plot = NULL, *dump = NULL;
	long worst = 0;
	int status = 2;
	struct eval e = {0};
	struct pairs ps = {0};
	struct sweep_point pts[MAX_POINTS];
	struct worst *wfp = NULL, *wfn = NULL;
	json_t *out = NULL;
	preset_opts_create(&o);
	dataset_create(&e.d);
	for (int i = 1; i < argc;) {
		int rc = preset_opts_arg(&o, argc, argv, &i);
		if (rc < 0)
			goto out;
		if (rc > 0)
			continue;
		const char *a = argv[i];
		bool has_value = i + 1 < argc;
		if (strcmp(a, "--json") == 0) {
			json = true;
		} else if (strcmp(a, "--sweep") == 0) {
			sweep = true;
		} else if (strcmp(a, "--cross-script") == 0) {
			cross = true;
		} else if (strcmp(a, "--plot") == 0 && has_value) {
			plot = argv[++i];
			sweep = true;
		} else if (strcmp(a, "--dump-pairs") == 0 && has_value) {
			dump = argv[++i];
		} else if (strcmp(a, "--worst") == 0 && has_value) {
			char *end;
			worst = strtol(argv[++i], &end, 10);
			if (*end || worst < 0 || worst > MAX_WORST) {
				fprintf(stderr, "--worst: want 0..%d\n",
					MAX_WORST);
				goto out;
			}
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			status = 0;
			goto out;
		} else {
			fprintf(stderr,
				"unknown option %s (or missing value)\n", a);
			usage(stderr);
			goto out;
		}
		i++;
	}
	/* datagen-xscript: the datagen preset, two-script pairs reported */
	const char *name = o.preset;
	if (o.preset && strcmp(o.preset, "datagen-xscript") == 0) {
		o.preset = "datagen";
		cross = true;
	}
	if (preset_opts_finish(&o) != 0)
		goto out;
	reconnu_config cfg;
	preset_config(&o, &cfg);
	if (reconnu_open(&cfg, &e.r) != 0) {
		fprintf(stderr, "reconnu_open: %s\n", reconnu_last_error());
		goto out;
	}
	status = 1;
	uint64_t bad_rows = 0;
	double t0 = preset_now();
	if (preset_each_row(&o, on_row, &e, &bad_rows) != 0)
		goto out;
	double load_s = preset_now() - t0;
	preset_after_load(&o, e.r);
	uint64_t failed = dataset_predict(&e.d, e.r);
	struct metrics s;
	reconnu_stats st = {0};
	reconnu_get_stats(e.r, &st);
	if (score_engine(&e.d, &s) != 0) {
		fprintf(stderr, "out of memory\n");
		goto out;
	}
	double thr[MAX_POINTS];
	size_t n_thr = sweep ? thresholds(&cfg, thr) : 0;
	size_t n_fp = 0, n_fn = 0;
	if ((sweep || worst || dump) &&
	    pairs_collect(&ps, e.r, &e.d, worst > 0 || dump) != 0)
		goto out;
	if (dump && dump_pairs(dump, e.r, &e.d, &ps) != 0)
		goto out;
	if (sweep && pairs_sweep(&ps, &e.d, thr, n_thr, pts) != 0)
		goto out;
	if (worst) {
		wfp = calloc((size_t)worst, sizeof(*wfp));
		wfn = calloc((size_t)worst, sizeof(*wfn));
		if (!wfp || !wfn ||
		    pairs_worst(&ps, &e.d, (size_t)worst, wfp, &n_fp, wfn,
				&n_fn) != 0)
			goto out;
	}
	if (plot) {
		char title[256];
		snprintf(title, sizeof(title), "%s: precision-recall",
			 name ? name : o.files[0]);
		if (plot_pr(plot, title, pts, n_thr, &s, cfg.match_threshold,
			    cross) != 0)
			goto out;
	}
	struct script_count sc[32];
	size_t n_sc = count_scripts(&e.d, sc, 32);
	double rps = load_s > 0 ? (double)e.upserts / load_s : 0;
	double ups = e.upsert_s > 0 ? (double)e.upserts / e.upsert_s : 0;
	double true_clusters = s.true_clusters ? (double)s.true_clusters : 1;
	double true_multi = s.true_multi ? (double)s.true_multi : 1;
	if (json) {
		out = json_pack(
		    "{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
		    "s:I, s:I, s:f, s:f, s:f, s:I, s:f, s:f, s:f, s:I, s:I}",
		    "preset", name ? name : "", "files", (json_int_t)o.n_files,
		    "records", (json_int_t)s.n, "bad_rows",
		    (json_int_t)bad_rows, "rejected", (json_int_t)e.rejected,
		    "duplicate_keys", (json_int_t)e.duplicates,
		    "lookup_failures", (json_int_t)failed, "true_clusters",
		    (json_int_t)s.true_clusters, "predicted_clusters",
		    (json_int_t)s.pred_clusters, "tp", (json_int_t)s.pairs.tp,
		    "fp", (json_int_t)s.pairs.fp, "fn", (json_int_t)s.pairs.fn,
		    "tn", (json_int_t)s.tn, "precision", s.pairs.precision,
		    "recall", s.pairs.recall, "f1", s.pairs.f1,
		    "possible_pairs", (json_int_t)st.possible_pairs,
		    "match_threshold", cfg.match_threshold,
		    "possible_threshold", cfg.possible_threshold,
		    "load_seconds", load_s, "records_per_s", (json_int_t)rps,
		    "upserts_per_s", (json_int_t)ups);
		json_object_update_new(
		    out,
		    json_pack(
			"{s:f, s:f, s:f, s:I, s:f, s:I, s:f}",
			"bcubed_precision", s.b3_precision, "bcubed_recall",
			s.b3_recall, "bcubed_f1", s.b3_f1, "exact_clusters",
			(json_int_t)s.exact_clusters, "exact_cluster_share",
			(double)s.exact_clusters / true_clusters,
			"true_multi_clusters", (json_int_t)s.true_multi,
			"exact_multi_share",
			(double)s.exact_multi / true_multi));
		/* flat keys: consumers merge nested objects into the top */
		json_object_update_new(out, cross_json(&s.cross));
		json_t *scripts = json_object();
		for (size_t k = 0; k < n_sc; k++)
			json_object_set_new(scripts,
					    dataset_script_name(sc[k].script),
					    json_integer((json_int_t)sc[k].n));
		json_object_set_new(out, "record_scripts", scripts);
		if (sweep)
			json_object_set_new(
			    out, "sweep",
			    sweep_json(pts, n_thr, &s, &cfg, &ps));
		if (worst) {
			json_object_set_new(
			    out, "worst_false_positives",
			    report_worst(e.r, &e.d, wfp, n_fp, true, true));
			json_object_set_new(
			    out, "worst_false_negatives",
			    report_worst(e.r, &e.d, wfn, n_fn, false, true));
		}
		if (json_dumpf(out, stdout,
			       JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)) !=
		    0)
			goto out;
		putchar('\n');
	} else {
		printf("%s%s%" PRIu64
		       " records from %zu file(s) (bad rows %" PRIu64
		       ", rejected %" PRIu64 ", duplicate keys %" PRIu64
		       ") loaded in %.3f s: %.0f records/s (upserts alone "
		       "%.0f/s)\n",
		       name ? name : "", name ? ": " : "", s.n, o.n_files,
		       bad_rows, e.rejected, e.duplicates, load_s, rps, ups);
		printf("clusters: true %" PRIu64 ", predicted %" PRIu64
		       "; possible pairs for review %" PRIu64 "\n",
		       s.true_clusters, s.pred_clusters, st.possible_pairs);
		printf("pairs: TP %" PRIu64 "  FP %" PRIu64 "  FN %" PRIu64
		       "  TN %" PRIu64 "\n",
		       s.pairs.tp, s.pairs.fp, s.pairs.fn, s.tn);
		printf("precision %.4f  recall %.4f  F1 %.4f\n",
		       s.pairs.precision, s.pairs.recall, s.pairs.f1);
		printf("B-cubed: precision %.4f  recall %.4f  F1 %.4f; true "
		       "clusters reproduced exactly %.4f (of those with 2+ "
		       "records %.4f)\n",
		       s.b3_precision, s.b3_recall, s.b3_f1,
		       (double)s.exact_clusters / true_clusters,
		       (double)s.exact_multi / true_multi);
		if (cross || s.cross.tp + s.cross.fn + s.cross.fp > 0) {
			printf("two-script pairs (names in two different "
			       "scripts): TP %" PRIu64 "  FP %" PRIu64
			       "  FN %" PRIu64 "\n  precision %.4f  recall "
			       "%.4f  F1 %.4f; target recall >= %.2f at "
			       "precision >= %.2f: %s\n  record scripts:",
			       s.cross.tp, s.cross.fp, s.cross.fn,
			       s.cross.precision, s.cross.recall, s.cross.f1,
			       XS_RECALL, XS_PRECISION,
			       xs_target_met(&s.cross) ? "met" : "not met");
			for (size_t k = 0; k < n_sc; k++)
				printf(" %s %" PRIu64,
				       dataset_script_name(sc[k].script),
				       sc[k].n);
			putchar('\n');
		}
		if (sweep)
			print_sweep(pts, n_thr, &s, &cfg, &ps, cross);
		if (plot)
			printf("precision-recall curve written to %s\n", plot);
		if (worst) {
			report_worst(e.r, &e.d, wfp, n_fp, true, false);
			report_worst(e.r, &e.d, wfn, n_fn, false, false);
		}
	}
	status = 0;
out:
	json_decref(out);
	free(wfp);
	free(wfn);
	pairs_destroy(&ps);
	reconnu_close(e.r);
	dataset_destroy(&e.d);
	preset_opts_destroy(&o);
	return status;
}
