/*
 * preset.h — the loading options shared by reconnu-eval and
 * reconnu-bench-inproc: input files, column mapping, engine thresholds and
 * the named presets for the labelled data sets of shared/data (see
 * shared/data/README.md) and for reconnu-datagen output.
 *
 *   --preset NAME          febrl1 febrl2 febrl3 febrl4 fake1000
 *                          ncvr5000-ocp20 rldata10000 rldata500 datagen
 *   --data-root DIR        where the presets' files are (../shared/data)
 *   --map SPEC --id COLS --truth COLS --source NAME   (see ingest.h)
 *   --source-from-file     each file is its own source, named after it
 *   --truth-febrl          truth "rec-<N>-org" / "rec-<N>-dup-<k>" → "N"
 *   --format csv|jsonl     instead of guessing from the file name
 *   --no-header            CSV files have no header row
 *   --nicknames DIR        reconnu_config.nicknames_dir
 *   --match-threshold X --possible-threshold X
 *   --weights default|estimate   estimate weights after loading
 *   FILE...                inputs (added to the preset's, if any)
 */
#ifndef RECONNU_PRESET_H
#define RECONNU_PRESET_H

#include "ingest.h"
#include "reconnu.h"

#include <stdbool.h>
#include <stdint.h>

#define PRESET_MAX_FILES 16

/** Parsed loading options. Create with preset_opts_create, fill with
 *  preset_opts_arg for each argument, then preset_opts_finish. */
struct preset_opts {
	const char *preset;	    /**< preset name or NULL (borrowed argv) */
	const char *data_root;	    /**< borrowed argv or the default */
	struct ingest_mapping *map; /**< owned */
	char *files[PRESET_MAX_FILES]; /**< owned paths */
	size_t n_files;
	bool source_from_file;
	bool truth_febrl;
	enum ingest_format format;
	char *nicknames;	   /**< owned, NULL for the built-in table */
	double match_threshold;	   /**< < 0: engine default */
	double possible_threshold; /**< < 0: engine default */
	/* user settings kept until finish, applied over the preset */
	const char *user_maps[32];
	size_t n_user_maps;
	const char *user_id, *user_truth, *user_source;
	bool no_header;
	bool estimate; /**< --weights estimate */
};

/** Usage text of the shared options, for --help. */
extern const char preset_usage[];

void preset_opts_create(struct preset_opts *o);
void preset_opts_destroy(struct preset_opts *o);

/** Consumes argv[*i] (and its value) when it is a shared option or a
 *  file name, advancing *i past what it used.
 *  @retval 1 consumed, 0 not a shared option, -1 bad value (message on
 *          stderr: this is command-line code) */
int preset_opts_arg(struct preset_opts *o, int argc, char **argv, int *i);

/** Applies the preset, then the user's options over it. Prints the reason
 *  on stderr and returns -1 when something is wrong (unknown preset, bad
 *  mapping, no input file, a preset file missing). */
int preset_opts_finish(struct preset_opts *o);

/** After loading: with --weights estimate, estimates the match weights
 *  from the data and re-resolves every record (progress on stderr).
 *  @retval 0 (an estimate that fails leaves the defaults, reported). */
int preset_after_load(const struct preset_opts *o, reconnu *r);

/** Fills an engine config from the options (strings borrowed from o). */
void preset_config(const struct preset_opts *o, reconnu_config *cfg);

/** Called for each good row; a non-zero return stops the reading and is
 *  returned by preset_each_row. truth is NULL when no truth is mapped, else
 *  already transformed (--truth-febrl). Both live until the callback
 *  returns. */
typedef int (*preset_row_fn)(void *ctx, const reconnu_record *rec,
			     const char *truth);

/** Reads every file through the mapping and calls fn per row. Bad rows are
 *  counted in *bad_rows, the first few reported on stderr.
 *  @retval 0 all read, -1 a file could not be read (reported on stderr),
 *          else the callback's non-zero value */
int preset_each_row(struct preset_opts *o, preset_row_fn fn, void *ctx,
		    uint64_t *bad_rows);

/** Seconds of CLOCK_MONOTONIC. */
double preset_now(void);

/** Resident set size of this process in bytes (/proc/self/status VmRSS),
 *  0 if unknown. */
uint64_t preset_rss_bytes(void);

#endif /* RECONNU_PRESET_H */
