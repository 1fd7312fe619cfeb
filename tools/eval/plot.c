/*
 * plot.c — precision-recall PNG through gnuplot (see plot.h). The data go
 * inline as gnuplot 5 data blocks, so no temporary file is needed.
 */
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/** Thresholds written beside their point. */
static const double labelled[] = {0.1, 0.3,  0.5,  0.7,	 0.8,
				  0.9, 0.95, 0.99, 0.999};

/** s as a gnuplot single-quoted string ('' stands for '). */
static void put_quoted(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputc('\'', f);
		fputc(*s, f);
	}
	fputc('\'', f);
}

static const struct metrics_pairs *pick(const struct metrics *m, bool cross)
{
	return cross ? &m->cross : &m->pairs;
}

/** Plotted area: recall from x0, precision from y0, both to just past 1. */
struct area {
	double x0, y0;
};

/** A data block of recall, precision and label; a round threshold is
 *  written beside its point unless the last label is too close by (4 % of
 *  the plotted width or height). */
static void put_block(FILE *f, const char *name, const struct sweep_point *pts,
		      size_t n, bool cross, const struct area *a)
{
	double lx = -1, ly = -1, dx = 0.04 * (1 - a->x0),
	       dy = 0.04 * (1 - a->y0);
	fprintf(f, "$%s << EOD\n", name);
	for (size_t i = 0; i < n; i++) {
		const struct metrics_pairs *m = pick(&pts[i].m, cross);
		char label[16] = "";
		for (size_t k = 0; k < sizeof(labelled) / sizeof(*labelled);
		     k++)
			if (fabs(pts[i].threshold - labelled[k]) < 1e-9 &&
			    (fabs(m->recall - lx) > dx ||
			     fabs(m->precision - ly) > dy)) {
				snprintf(label, sizeof(label), "%g",
					 labelled[k]);
				lx = m->recall;
				ly = m->precision;
			}
		fprintf(f, "%.6f %.6f \"%s\"\n", m->recall, m->precision,
			label);
	}
	fputs("EOD\n", f);
}

/** Axis ranges: from a little under the lowest value to just past 1. */
static struct area put_ranges(FILE *f, const struct sweep_point *pts, size_t n,
			      const struct metrics *engine, bool cross)
{
	double x = engine->pairs.recall, y = engine->pairs.precision;
	for (int c = 0; c <= (int)cross; c++) {
		const struct metrics_pairs *e = pick(engine, c);
		x = fmin(x, e->recall);
		y = fmin(y, e->precision);
		for (size_t i = 0; i < n; i++) {
			x = fmin(x, pick(&pts[i].m, c)->recall);
			y = fmin(y, pick(&pts[i].m, c)->precision);
		}
	}
	double px = fmax(0.005, 0.08 * (1 - x)),
	       py = fmax(0.005, 0.08 * (1 - y));
	struct area a = {fmax(0, x - px), fmax(0, y - py)};
	fprintf(f, "set xrange [%.6f:%.6f]\nset yrange [%.6f:%.6f]\n", a.x0,
		1 + px / 4, a.y0, 1 + py / 4);
	return a;
}

int plot_pr(const char *path, const char *title, const struct sweep_point *pts,
	    size_t n, const struct metrics *engine, double threshold,
	    bool cross)
{
	FILE *f = popen("gnuplot", "w");
	if (f == NULL) {
		perror("gnuplot");
		return -1;
	}
	fputs("set terminal pngcairo size 900,650 font ',10'\nset output ", f);
	put_quoted(f, path);
	fputs("\nset title ", f);
	put_quoted(f, title);
	fputs("\nset xlabel 'recall'\nset ylabel 'precision'\nset grid\n"
	      "set key below\n",
	      f);
	struct area a = put_ranges(f, pts, n, engine, cross);
	put_block(f, "pr", pts, n, false, &a);
	fprintf(f, "$eng << EOD\n%.6f %.6f\nEOD\n", engine->pairs.recall,
		engine->pairs.precision);
	if (cross) {
		put_block(f, "xs", pts, n, true, &a);
		fprintf(f, "$xeng << EOD\n%.6f %.6f\nEOD\n",
			engine->cross.recall, engine->cross.precision);
	}
	fputs("plot $pr using 1:2 with linespoints pt 6 ps 0.7 lc rgb "
	      "'#1f77b4' title 'all pairs: threshold sweep (union-find "
	      "approximation)', \\\n"
	      "  $pr using 1:2:3 with labels offset 0,0.8 font ',8' "
	      "notitle, \\\n",
	      f);
	fprintf(f,
		"  $eng using 1:2 with points pt 7 ps 1.8 lc rgb '#d62728' "
		"title 'all pairs: engine at %g'",
		threshold);
	if (cross)
		fprintf(f,
			", \\\n  $xs using 1:2 with linespoints pt 4 ps 0.7 "
			"lc rgb '#2ca02c' title 'two-script pairs: sweep', "
			"\\\n  $xeng using 1:2 with points pt 5 ps 1.8 lc rgb "
			"'#ff7f0e' title 'two-script pairs: engine at %g'",
			threshold);
	fputc('\n', f);
	int st = pclose(f);
	if (st != 0) {
		fprintf(stderr, "gnuplot failed (status %d) writing %s\n", st,
			path);
		return -1;
	}
	return 0;
}
