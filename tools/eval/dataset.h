/*
 * dataset.h — the labelled rows of one reconnu-eval run: a copy of every
 * distinct record (keyed by source and source_id), its ground-truth label,
 * the script its name is written in, and the entity the engine put it in.
 *
 * A key that appears twice keeps its last row (an upsert replaces it). The
 * record copies live in an obstack owned by the dataset; out of memory
 * there ends the process (command-line code, see obstack(3)).
 */
#ifndef RECONNU_DATASET_H
#define RECONNU_DATASET_H

#include "reconnu.h"

#include <obstack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DATASET_NO_TRUTH  UINT32_MAX
#define DATASET_NO_SCRIPT (-1)
#define DATASET_SINGLETON ((uint64_t)1 << 63) /**< pred of a rejected record */

/** Interned strings with dense ids (open addressing over a string pool). */
struct strtab {
	char *pool; /**< NUL-terminated strings back to back */
	size_t len, cap;
	size_t *off; /**< pool offset of each id */
	size_t n, off_cap;
	uint32_t *slots; /**< id + 1, 0 = empty */
	size_t mask;
};

/** One distinct record key. */
struct ds_row {
	reconnu_record rec; /**< deep copy, strings in the dataset's pool */
	uint32_t truth;	    /**< truth label id, DATASET_NO_TRUTH if none */
	int32_t script;	    /**< UScriptCode of the name, DATASET_NO_SCRIPT */
	bool rejected;	    /**< the engine refused its last upsert */
	uint64_t pred; /**< predicted entity id, or DATASET_SINGLETON | row */
};

struct dataset {
	struct strtab keys;   /**< "source\x1fsource_id", id = row index */
	struct strtab truths; /**< truth labels */
	struct ds_row *rows;  /**< keys.n of them */
	size_t cap;
	struct obstack pool; /**< record copies */
};

void dataset_create(struct dataset *d);
void dataset_destroy(struct dataset *d);

/** Number of distinct keys. */
static inline size_t dataset_size(const struct dataset *d)
{
	return d->keys.n;
}

/** Adds (or replaces, *replaced = true) the row of rec's key.
 *  rec and truth are copied. @retval row index, or -1 out of memory */
int64_t dataset_add(struct dataset *d, const reconnu_record *rec,
		    const char *truth, bool rejected, bool *replaced);

/** Row index of a key. @retval index, or -1 when unknown */
int64_t dataset_find(const struct dataset *d, const char *source,
		     const char *source_id);

/** Truth label of a row ("" when unlabelled). Lives as long as d. */
const char *dataset_truth(const struct dataset *d, size_t row);

/** A truth id per row where every unlabelled row is alone in its class:
 *  labelled rows keep their label id, unlabelled row i gets
 *  (number of labels + i). out has dataset_size(d) items. */
void dataset_truth_classes(const struct dataset *d, uint64_t *out);

/** Reads back every row's entity with reconnu_get_entity_by_key.
 *  @retval lookups that failed (first few reported on stderr) */
uint64_t dataset_predict(struct dataset *d, reconnu *r);

/** Script of a person's name: the first letter of given_name, then
 *  family_name, then full_name whose Unicode script is not Common or
 *  Inherited. @retval a UScriptCode, or DATASET_NO_SCRIPT (no letters) */
int32_t dataset_name_script(const reconnu_record *rec);

/** Short English name of a script code ("Latin", "Cyrillic", "Han"). */
const char *dataset_script_name(int32_t script);

#endif /* RECONNU_DATASET_H */
