/*
 * preset.c — loading options and data-set presets of reconnu-eval and
 * reconnu-bench-inproc (see preset.h). Command-line code: it prints.
 */
#define _GNU_SOURCE
#include "preset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <inttypes.h>

/** A named data set: files under the data root and how to read them. */
struct preset {
	const char *name;
	const char *files[5];
	const char *map;
	const char *id;	    /**< source_id columns or NULL (row number) */
	const char *truth;  /**< truth columns or NULL */
	const char *source; /**< constant source, NULL: one per file */
	bool truth_febrl;
};

#define FEBRL_MAP                                                              \
	"given_name=given_name,family_name=surname,"                           \
	"address_line1=street_number+address_1,address_line2=address_2,"       \
	"city=suburb,postcode=postcode,region=state,"                          \
	"birth_date=date_of_birth,identifier:ssn=soc_sec_id,country='AU'"
#define NCVR(ocp, myp)                                                         \
	"ncvr/ncvr_numrec_5000_modrec_2_ocp_" #ocp "_myp_" #myp "_nump_5.csv"
#define RLDATA_MAP                                                             \
	"given_name=fname_c1+fname_c2,family_name=lname_c1+lname_c2,"          \
	"birth_date=by-bm-bd"

static const struct preset presets[] = {
    {"febrl1",
     {"febrl/dataset1.csv"},
     FEBRL_MAP,
     "rec_id",
     "rec_id",
     "febrl",
     true},
    {"febrl2",
     {"febrl/dataset2.csv"},
     FEBRL_MAP,
     "rec_id",
     "rec_id",
     "febrl",
     true},
    {"febrl3",
     {"febrl/dataset3.csv"},
     FEBRL_MAP,
     "rec_id",
     "rec_id",
     "febrl",
     true},
    /* two sources, named dataset4a and dataset4b after their files */
    {"febrl4",
     {"febrl/dataset4a.csv", "febrl/dataset4b.csv"},
     FEBRL_MAP,
     "rec_id",
     "rec_id",
     NULL,
     true},
    {"fake1000",
     {"splink/fake_1000.csv"},
     "given_name=first_name,family_name=surname,birth_date=dob,"
     "city=city,email=email,country='GB'",
     "unique_id",
     "cluster",
     "fake1000",
     false},
    /* the recid is the truth; rows are keyed by their number */
    {"ncvr5000-ocp20",
     {NCVR(20, 0), NCVR(20, 1), NCVR(20, 2), NCVR(20, 3), NCVR(20, 4)},
     "given_name=#2,family_name=#3,city=#4,postcode=#5,country='US'",
     NULL,
     "#1",
     NULL,
     false},
    {"rldata10000",
     {"rldata/RLdata10000.csv"},
     RLDATA_MAP,
     "rec_id",
     "ent_id",
     "rldata",
     false},
    {"rldata500",
     {"rldata/RLdata500.csv"},
     RLDATA_MAP,
     "rec_id",
     "ent_id",
     "rldata",
     false},
    /* reconnu-datagen output: files given on the command line */
    {"datagen",
     {NULL},
     "source=source,source_id=source_id,given_name=given_name,"
     "family_name=family_name,birth_date=birth_date,gender=gender,"
     "email=email,email=email2,phone=phone,phone=phone2,"
     "address_line1=address_line1,city=city,postcode=postcode,"
     "country=country,identifier:loyalty=loyalty_id,"
     "updated_at=updated_at,consent:email=consent_email",
     NULL,
     "person_id",
     NULL,
     false},
};

const char preset_usage[] =
    "  --preset NAME        febrl1 febrl2 febrl3 febrl4 fake1000\n"
    "                       ncvr5000-ocp20 rldata10000 rldata500 datagen\n"
    "  --data-root DIR      folder of the labelled data (../shared/data)\n"
    "  --map SPEC           FIELD=COLUMNS[,...] (see tools/common/ingest.h)\n"
    "  --id COLS            source_id column(s)\n"
    "  --truth COLS         ground-truth entity column(s)\n"
    "  --source NAME        constant source name\n"
    "  --source-from-file   each file is a source named after the file\n"
    "  --truth-febrl        truth rec-<N>-org / rec-<N>-dup-<k> -> N\n"
    "  --format csv|jsonl   input format (default: from the file name)\n"
    "  --no-header          CSV files have no header row\n"
    "  --nicknames DIR      given-name variant CSV folder for the engine\n"
    "  --match-threshold X  auto-link probability (engine default)\n"
    "  --possible-threshold X  review band lower bound (engine default)\n"
    "  --weights default|estimate  built-in weights (default), or\n"
    "                       estimate them from the data after loading\n"
    "                       (EM) and re-resolve every record\n";

void preset_opts_create(struct preset_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->data_root = "../shared/data";
	o->match_threshold = -1;
	o->possible_threshold = -1;
	o->estimate = false;
}

void preset_opts_destroy(struct preset_opts *o)
{
	ingest_mapping_delete(o->map);
	for (size_t i = 0; i < o->n_files; i++)
		free(o->files[i]);
	free(o->nicknames);
	memset(o, 0, sizeof(*o));
}

static int add_file(struct preset_opts *o, char *path)
{
	if (path == NULL || o->n_files == PRESET_MAX_FILES) {
		fprintf(stderr, "too many input files\n");
		free(path);
		return -1;
	}
	o->files[o->n_files++] = path;
	return 0;
}

static int parse_threshold(const char *opt, const char *v, double *out)
{
	char *end;
	double x = strtod(v, &end);
	if (*end != 0 || !(x >= 0 && x <= 1)) {
		fprintf(stderr, "%s: want a probability in [0, 1], got '%s'\n",
			opt, v);
		return -1;
	}
	*out = x;
	return 1;
}

int preset_opts_arg(struct preset_opts *o, int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	static const char *const with_value[] = {
	    "--preset",
	    "--data-root",
	    "--map",
	    "--id",
	    "--truth",
	    "--source",
	    "--format",
	    "--nicknames",
	    "--match-threshold",
	    "--possible-threshold",
	    "--weights",
	};
	const char *v = NULL;
	for (size_t k = 0; k < sizeof(with_value) / sizeof(*with_value); k++) {
		if (strcmp(a, with_value[k]) != 0)
			continue;
		if (*i + 1 >= argc) {
			fprintf(stderr, "%s needs a value\n", a);
			return -1;
		}
		v = argv[++*i];
		break;
	}
	++*i;
	if (strcmp(a, "--preset") == 0) {
		o->preset = v;
	} else if (strcmp(a, "--data-root") == 0) {
		o->data_root = v;
	} else if (strcmp(a, "--map") == 0) {
		if (o->n_user_maps ==
		    sizeof(o->user_maps) / sizeof(*o->user_maps))
			return fprintf(stderr, "too many --map\n"), -1;
		o->user_maps[o->n_user_maps++] = v;
	} else if (strcmp(a, "--id") == 0) {
		o->user_id = v;
	} else if (strcmp(a, "--truth") == 0) {
		o->user_truth = v;
	} else if (strcmp(a, "--source") == 0) {
		o->user_source = v;
	} else if (strcmp(a, "--format") == 0) {
		if (strcmp(v, "csv") == 0)
			o->format = INGEST_CSV;
		else if (strcmp(v, "jsonl") == 0)
			o->format = INGEST_JSONL;
		else
			return fprintf(stderr, "--format csv|jsonl\n"), -1;
	} else if (strcmp(a, "--nicknames") == 0) {
		free(o->nicknames);
		o->nicknames = strdup(v);
	} else if (strcmp(a, "--match-threshold") == 0) {
		return parse_threshold(a, v, &o->match_threshold);
	} else if (strcmp(a, "--possible-threshold") == 0) {
		return parse_threshold(a, v, &o->possible_threshold);
	} else if (strcmp(a, "--weights") == 0) {
		if (strcmp(v, "default") && strcmp(v, "estimate"))
			return fprintf(stderr,
				       "--weights default|estimate\n"),
			       -1;
		o->estimate = strcmp(v, "estimate") == 0;
	} else if (strcmp(a, "--source-from-file") == 0) {
		o->source_from_file = true;
	} else if (strcmp(a, "--truth-febrl") == 0) {
		o->truth_febrl = true;
	} else if (strcmp(a, "--no-header") == 0) {
		o->no_header = true;
	} else if (a[0] != '-' || strcmp(a, "-") == 0) {
		return add_file(o, strdup(a)) == 0 ? 1 : -1;
	} else {
		--*i;
		return 0;
	}
	return 1;
}

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int apply_preset(struct preset_opts *o, const struct preset *p)
{
	for (size_t k = 0; k < 5 && p->files[k]; k++) {
		char *path;
		if (asprintf(&path, "%s/%s", o->data_root, p->files[k]) < 0)
			return fprintf(stderr, "out of memory\n"), -1;
		if (access(path, R_OK) != 0) {
			fprintf(stderr, "preset %s: cannot read %s\n", p->name,
				path);
			free(path);
			return -1;
		}
		if (add_file(o, path) != 0)
			return -1;
	}
	int rc = ingest_mapping_add(o->map, p->map);
	if (rc == 0 && p->id)
		rc = ingest_mapping_set_id(o->map, p->id);
	if (rc == 0 && p->truth)
		rc = ingest_mapping_set_truth(o->map, p->truth);
	if (rc == 0 && p->source)
		rc = ingest_mapping_set_source(o->map, p->source);
	if (rc != 0) {
		fprintf(stderr, "preset %s: %s\n", p->name,
			ingest_last_error());
		return -1;
	}
	o->truth_febrl |= p->truth_febrl;
	if (o->nicknames == NULL) {
		char *dir;
		if (asprintf(&dir, "%s/name_variants", o->data_root) >= 0) {
			if (is_dir(dir))
				o->nicknames = dir;
			else
				free(dir);
		}
	}
	return 0;
}

int preset_opts_finish(struct preset_opts *o)
{
	o->map = ingest_mapping_new();
	if (o->map == NULL)
		return -1;
	/* preset files come first: insert them before the user's */
	size_t n_user = o->n_files;
	char *user_files[PRESET_MAX_FILES];
	memcpy(user_files, o->files, n_user * sizeof(*user_files));
	o->n_files = 0;
	if (o->preset != NULL) {
		const struct preset *p = NULL;
		for (size_t k = 0; k < sizeof(presets) / sizeof(*presets); k++)
			if (strcmp(presets[k].name, o->preset) == 0)
				p = &presets[k];
		if (p == NULL) {
			fprintf(stderr, "unknown preset '%s'\n", o->preset);
			goto fail;
		}
		if (apply_preset(o, p) != 0)
			goto fail;
	}
	for (size_t k = 0; k < n_user; k++) {
		if (add_file(o, user_files[k]) != 0) {
			while (++k < n_user)
				free(user_files[k]);
			return -1;
		}
	}
	n_user = 0;
	int rc = 0;
	for (size_t k = 0; rc == 0 && k < o->n_user_maps; k++)
		rc = ingest_mapping_add(o->map, o->user_maps[k]);
	if (rc == 0 && o->user_id)
		rc = ingest_mapping_set_id(o->map, o->user_id);
	if (rc == 0 && o->user_truth)
		rc = ingest_mapping_set_truth(o->map, o->user_truth);
	if (rc == 0 && o->user_source)
		rc = ingest_mapping_set_source(o->map, o->user_source);
	if (rc != 0) {
		fprintf(stderr, "mapping: %s\n", ingest_last_error());
		return -1;
	}
	if (o->no_header)
		ingest_mapping_set_header(o->map, 0);
	if (o->n_files == 0) {
		fprintf(stderr, "no input file (give FILE... or --preset)\n");
		return -1;
	}
	return 0;
fail:
	for (size_t k = 0; k < n_user; k++)
		free(user_files[k]);
	return -1;
}

void preset_config(const struct preset_opts *o, reconnu_config *cfg)
{
	reconnu_config_default(cfg);
	if (o->match_threshold >= 0)
		cfg->match_threshold = o->match_threshold;
	if (o->possible_threshold >= 0)
		cfg->possible_threshold = o->possible_threshold;
	cfg->nicknames_dir = o->nicknames;
}

int preset_after_load(const struct preset_opts *o, reconnu *r)
{
	if (!o->estimate)
		return 0;
	reconnu_estimate_opts eo = {.relink = 1};
	reconnu_weights_report rep;
	if (reconnu_estimate_weights(r, &eo, &rep) != 0) {
		fprintf(stderr, "weights: not estimated: %s\n",
			reconnu_last_error());
		return 0; /* the defaults stay in force */
	}
	fprintf(stderr,
		"weights: estimated from %" PRIu64 " blocked and %" PRIu64
		" random pairs (EM %d iterations%s), prior %.2f bits; "
		"re-resolved %" PRIu64 " records: entities %" PRIu64
		" -> %" PRIu64 " in %.2f s%s%s\n",
		rep.blocked_pairs, rep.random_pairs, rep.iterations,
		rep.converged ? "" : ", not converged", rep.prior_weight,
		rep.relinked, rep.entities_before, rep.entities_after,
		rep.seconds, rep.kept_default[0] ? "; default m kept for " : "",
		rep.kept_default);
	return 0;
}

/** "rec-123-dup-0" / "rec-123-org" → "123" in buf; other text unchanged. */
static const char *febrl_truth(const char *t, char *buf, size_t size)
{
	if (strncmp(t, "rec-", 4) != 0)
		return t;
	size_t n = strcspn(t + 4, "-");
	if (n + 1 > size)
		return t;
	memcpy(buf, t + 4, n);
	buf[n] = 0;
	return buf;
}

/** File name without folder and extension, in buf. */
static const char *file_source(const char *path, char *buf, size_t size)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	snprintf(buf, size, "%s", base);
	char *dot = strrchr(buf, '.');
	if (dot != NULL && dot != buf)
		*dot = 0;
	return buf;
}

int preset_each_row(struct preset_opts *o, preset_row_fn fn, void *ctx,
		    uint64_t *bad_rows)
{
	for (size_t k = 0; k < o->n_files; k++) {
		char src[256], tbuf[256];
		if (o->source_from_file &&
		    ingest_mapping_set_source(
			o->map, file_source(o->files[k], src, sizeof(src))) !=
			0) {
			fprintf(stderr, "%s\n", ingest_last_error());
			return -1;
		}
		struct ingest_reader *r =
		    ingest_open(o->files[k], o->map, o->format);
		if (r == NULL) {
			fprintf(stderr, "%s\n", ingest_last_error());
			return -1;
		}
		reconnu_record *rec;
		const char *truth;
		int rc;
		while ((rc = ingest_next(r, &rec, &truth)) != 0) {
			if (rc == INGEST_EROW) {
				if (++*bad_rows <= 10)
					fprintf(stderr, "skipped: %s\n",
						ingest_last_error());
				continue;
			}
			if (rc < 0) {
				fprintf(stderr, "%s\n", ingest_last_error());
				ingest_close(r);
				return -1;
			}
			if (truth != NULL && o->truth_febrl)
				truth = febrl_truth(truth, tbuf, sizeof(tbuf));
			if ((rc = fn(ctx, rec, truth)) != 0) {
				ingest_close(r);
				return rc;
			}
		}
		ingest_close(r);
	}
	return 0;
}

double preset_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

uint64_t preset_rss_bytes(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	uint64_t kb = 0;
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %" SCNu64 " kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}
