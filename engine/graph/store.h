/*
 * store — the source records. Each record is validated, normalised once
 * (names to Latin ASCII, emails, E.164 phones, postcodes, dates) and kept
 * immutable in a single allocation together with the input as the source
 * gave it (the golden record serves those values).
 *
 * (source, source_id) → dense record id through an open-addressing map
 * keyed with xxHash. Record ids are never reused, so that replay of the
 * same op log gives the same ids.
 *
 * Not thread-safe by itself: the engine's read/write lock protects it.
 */
#ifndef RECONNU_STORE_H
#define RECONNU_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "norm.h"
#include "reconnu.h"

#define STORE_NONE UINT32_MAX

/** A normalised address. */
struct store_addr {
	const char *line;     /**< norm_text(line1 + " " + line2), "" if none */
	const char *city;     /**< norm_text(city) */
	const char *postcode; /**< norm_postcode */
	const char *country;  /**< alpha-2 or "" */
};

/** The raw input most used on its own; the whole of it (lists included)
 *  is packed in the record and unpacked by store_rec_raw. */
struct store_raw {
	const char *source;	/**< NULL only in a query (no key) */
	const char *source_id;	/**< NULL only in a query */
	const char *birth_date; /**< as given; NULL when absent */
};

/** Lists of the raw input, in store_rec.raw_n. */
enum {
	STORE_RAW_EMAILS,
	STORE_RAW_PHONES,
	STORE_RAW_ADDRESSES,
	STORE_RAW_IDENTIFIERS,
	STORE_RAW_CONSENTS,
	STORE_RAW_ATTRIBUTES,
	STORE_RAW_LISTS
};

/** One source record: immutable once built, freed by store_rec_delete.
 *  Every pointer points inside the record's one allocation, laid out as
 *    [struct store_rec][normalised arrays][normalised strings][raw input]
 *  so that what scoring reads comes first; the raw input (everything the
 *  source sent, lists included) is kept packed, as in the record's image,
 *  and unpacked on demand by store_rec_raw. */
struct store_rec {
	uint32_t id;         /**< dense id, STORE_NONE until stored */
	uint32_t bytes;      /**< size of the allocation */
	uint64_t created;    /**< op sequence of the key's first upsert */
	uint64_t seq;        /**< op sequence of this version */
	int64_t updated_at;  /**< from the input; 0 = unknown */
	/* normalised forms, "" when absent */
	const char *given;   /**< "robert" ("jean luc" for Jean-Luc) */
	const char *family;
	const char *given_phon;  /**< norm_phonetic of the first given word */
	const char *family_phon; /**< norm_phonetic of the family name */
	const char **emails;
	const char **phones; /**< E.164 */
	struct store_addr *addrs;
	const char **ids;    /**< "type:value" */
	struct store_raw raw; /**< a few raw values (see store_rec_raw) */
	uint32_t raw_off;    /**< offset of the packed raw input */
	uint8_t raw_n[STORE_RAW_LISTS]; /**< raw list sizes (STORE_RAW_*) */
	struct norm_date birth; /**< year 0 when unknown or impossible */
	char birth_digits[9]; /**< YYYYMMDD of an impossible date, else "" */
	char gender;         /**< 'M', 'F', 'X' or 0 */
	uint8_t n_emails, n_phones, n_addrs, n_ids;
};

/** The raw input of r as a reconnu_record: strings borrowed from r (valid
 *  while r is), the lists' arrays allocated in a.
 *  @retval 0 or RECONNU_ENOMEM. */
int store_rec_raw(const struct store_rec *r, reconnu_record *out,
		  struct arena *a);

/**
 * Validates and normalises in into a new record (not yet stored).
 * Values that cannot be normalised (a phone without digits, a malformed
 * email) are kept in raw but leave no normalised form: they are not
 * errors. Errors are structural: missing key, invalid UTF-8, NUL bytes,
 * oversize fields or lists, impossible dates.
 * @retval 0 ok, *out owned by the caller (store_rec_delete or store_put).
 * @retval RECONNU_EINVAL with msg (NUL-terminated, naming the field).
 * @retval RECONNU_ENOMEM
 * require_key: 0 for identify/explain queries, where source/source_id may
 * be absent.
 */
int store_rec_build(const reconnu_record *in, int require_key,
		    struct store_rec **out, char *msg, size_t msg_cap);
void store_rec_delete(struct store_rec *r);

/*
 * Images: a record as position-independent bytes (scalars, list sizes,
 * every string, raw and normalised), for snapshots. Loading an image
 * costs one allocation and a copy: nothing is validated or normalised
 * again, so a record comes back exactly as it was stored (normalised by
 * the code that stored it). The raw input is part of the image, so a
 * later format can always rebuild the normalised forms from it.
 * id, created and seq are not part of the image (the caller keeps them).
 */
/** Bytes store_rec_image will write. */
size_t store_rec_image_size(const struct store_rec *r);
/** Writes r's image (store_rec_image_size bytes). @retval bytes. */
size_t store_rec_image(const struct store_rec *r, uint8_t *out);
/** A new record (not yet stored) from an image of n bytes.
 *  @retval 0, RECONNU_EINVAL not an image (framing, counts, strings),
 *  RECONNU_ENOMEM. */
int store_rec_from_image(const void *img, size_t n, struct store_rec **out);

struct store;

struct store *store_new(void);
/** Frees the store and every record in it. */
void store_delete(struct store *st);

/** Record id for a key, or STORE_NONE. */
uint32_t store_lookup(const struct store *st, const char *source,
		      const char *source_id);
/** The record with this id, or NULL (deleted / never used). Borrowed:
 *  valid until the record is replaced or removed. */
const struct store_rec *store_get(const struct store *st, uint32_t id);

/**
 * Stores rec (ownership passes to the store). If its key is known the old
 * version is freed and rec takes over its id and its created sequence.
 * Sets rec->id. @retval 0, or RECONNU_ENOMEM (nothing changed, caller
 * still owns rec).
 */
int store_put(struct store *st, struct store_rec *rec);
/** Removes and frees the record. */
void store_remove(struct store *st, uint32_t id);

/** Reserves room so that store_put of a new key cannot fail with ENOMEM.
 *  @retval 0 or RECONNU_ENOMEM. */
int store_reserve(struct store *st);

/** Snapshot support: the next op sequence, and putting a record back at
 *  its id with its sequences (ids above the current limit leave holes
 *  for deleted records). @retval 0 or RECONNU_ENOMEM / RECONNU_EINVAL
 *  (id taken or key already present). */
uint64_t store_next_seq(const struct store *st);
void store_set_next_seq(struct store *st, uint64_t seq);
int store_restore(struct store *st, struct store_rec *rec, uint32_t id,
		  uint64_t created, uint64_t seq);
/** Hash of rec's key in the key map: a pure function of the record, so
 *  any thread may compute it ahead of store_restore_hashed. */
uint64_t store_key_hash(const struct store_rec *rec);
/** store_restore with rec's store_key_hash already computed. */
int store_restore_hashed(struct store *st, struct store_rec *rec, uint32_t id,
			 uint64_t created, uint64_t seq, uint64_t hash);
/** Hints that a record of this key hash is about to be restored: starts
 *  loading its slot of the key map into the cache (restoring many, hint
 *  a few records ahead so that the cache misses overlap). No effect on
 *  the store. */
void store_restore_prefetch(const struct store *st, uint64_t hash);
/** After restoring: ids keep going from id_limit (the highest ids may
 *  belong to deleted records). @retval 0 or RECONNU_ENOMEM. */
int store_restore_end(struct store *st, uint32_t id_limit);
/** Room for ids below id_limit and n records, so that restoring them
 *  does not grow the tables again and again. @retval 0 or RECONNU_ENOMEM
 *  (the store is unchanged; restoring still works, slower). */
int store_restore_reserve(struct store *st, uint32_t id_limit, uint64_t n);

/** Highest id ever handed out + 1 (ids are below this). */
uint32_t store_id_limit(const struct store *st);
uint64_t store_count(const struct store *st);
uint64_t store_bytes(const struct store *st);

#endif
