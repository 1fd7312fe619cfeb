/*
 * op — the logical operations of the op log (WAL payloads, and the unit of
 * replication): upsert of a record, delete of a key. Replaying the same
 * ops in the same order rebuilds the same identity graph.
 *
 * Encoding (little-endian, every string as varint length + bytes, no NUL):
 *
 *   upsert: u8 version=1 | str source | str source_id | str given |
 *           str family | str full | str birth_date | str gender |
 *           str country | i64 updated_at |
 *           varint n + str  emails[n] | varint n + str phones[n] |
 *           varint n + 6×str addresses[n] (line1 line2 city postcode
 *                                          region country) |
 *           varint n + 2×str identifiers[n] (type value) |
 *           varint n + (str channel, u8 granted, i64 at) consents[n] |
 *           varint n + 2×str attributes[n] (key value)
 *   delete: u8 version=1 | str source | str source_id
 *
 * An absent string (NULL) and "" are both encoded as length 0 and decode
 * as "" — the engine treats them alike.
 */
#ifndef RECONNU_OP_H
#define RECONNU_OP_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "reconnu.h"

enum op_type {
	OP_UPSERT = 1,
	OP_DELETE = 2,
	/** A new match model: u8 flags (1 = relink every record), then
	 *  score_model_encode bytes. */
	OP_MODEL = 3,
};

/** Bytes op_encode_upsert will write for rec. */
size_t op_upsert_size(const reconnu_record *rec);
/** Encodes rec into buf (op_upsert_size bytes). @retval bytes written. */
size_t op_encode_upsert(const reconnu_record *rec, uint8_t *buf);
/** Encodes a delete into buf (cap bytes). @retval bytes, or 0 if cap is
 *  too small. */
size_t op_encode_delete(const char *source, const char *source_id,
			uint8_t *buf, size_t cap);

/** Decodes an upsert; every pointer of *rec lives in arena a.
 *  @retval 0, -1 malformed, RECONNU_ENOMEM. */
int op_decode_upsert(const uint8_t *p, size_t n, struct arena *a,
		     reconnu_record *rec);
/** Decodes a delete (strings in arena a). @retval 0 or -1 malformed. */
int op_decode_delete(const uint8_t *p, size_t n, struct arena *a,
		     const char **source, const char **source_id);

#endif
