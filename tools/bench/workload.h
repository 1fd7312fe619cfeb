/*
 * workload.h — the requests of reconnu-bench's workloads.
 *
 * Known people are records the server holds: a seeded reservoir sample of
 * the first rows of a data file (the file that was loaded, e.g.
 * reconnu-datagen output), or, without a file, a synthetic population
 * that the run upserts first (a setup phase). From them:
 *
 *  - identify (checkout): a pool of prebuilt Identify requests, each a
 *    known person without the record key, with variations in a share of
 *    them (a typo in a name, a changed birth day, names in capitals, an
 *    e-mail or the phones and address left out, e-mail and family name
 *    only), and strangers (synthetic people nobody loaded) in another
 *    share. Calls pick requests from the pool at random.
 *  - upsert (till): a new customer (synthetic, a new key every call) in a
 *    share of calls, otherwise a known record under its own key with a
 *    new phone, e-mail or street line and a fresh updated_at.
 *  - bulk: UpsertStream messages of new synthetic customers.
 *  - health, stats: the empty request.
 *
 * Synthetic people draw names, cities and phone formats from small
 * built-in tables of six countries (half of the family names of new
 * customers, and all names of strangers, are made of random syllables).
 */
#ifndef RECONNU_WORKLOAD_H
#define RECONNU_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "ingest.h"
#include "loadgen.h"

struct workload_opts {
	const char *data;	 /**< CSV/JSONL file, NULL: synthetic */
	const char *const *maps; /**< --map specs (ingest syntax) */
	unsigned n_maps;
	enum ingest_format format;
	uint64_t scan;	     /**< rows read for the sample */
	size_t sample;	     /**< known records kept */
	size_t pool;	     /**< identify requests prebuilt */
	double strangers;    /**< share of unknown people */
	double perturb;	     /**< share of known queries varied */
	double till_new;     /**< share of upserts of new people */
	unsigned population; /**< synthetic known people */
	unsigned batch;	     /**< bulk: ack_every of the streams */
	uint64_t seed;
};

/** Requests of one run (opaque). */
struct workload;

/** Reads the sample (or makes the synthetic population) and builds the
 *  identify pool. @retval 0, -1 (unreadable file, no usable row, out of
 *  memory: message on stderr) */
int workload_new(const struct workload_opts *o, struct workload **out);
void workload_delete(struct workload *w);
/** Known people held (sampled or synthetic). */
size_t workload_known(const struct workload *w);
/** The requests of the measured phases; w must outlive the run. */
struct loadgen_gen workload_gen(struct workload *w);
/** The setup phase: upserts of the synthetic population, once each.
 *  @retval 1 *gen set, 0 no setup (the known people come from a file) */
int workload_setup(struct workload *w, struct loadgen_gen *gen);

#endif
