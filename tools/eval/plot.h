/*
 * plot.h — the precision-recall curve of a threshold sweep as a PNG,
 * drawn by gnuplot (run as a child process, found on PATH).
 */
#ifndef RECONNU_PLOT_H
#define RECONNU_PLOT_H

#include "pairs.h"

#include <stdbool.h>
#include <stddef.h>

/**
 * Writes path (PNG): precision against recall over the sweep points
 * pts[0..n) (joined in the order given), each labelled with its threshold
 * at a few round values, and the engine's own clustering `engine` at
 * `threshold` as a distinct mark. With `cross`, the same for the pairs
 * written in two scripts.
 * @retval 0 ok, -1 gnuplot missing or failed (reported on stderr)
 */
int plot_pr(const char *path, const char *title, const struct sweep_point *pts,
	    size_t n, const struct metrics *engine, double threshold,
	    bool cross);

#endif /* RECONNU_PLOT_H */
