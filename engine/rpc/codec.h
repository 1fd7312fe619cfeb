/*
 * codec — reconnu.v1 protobuf messages <-> reconnu.h values, and the
 * request validation protobuf-c does not do.
 *
 * Decoding a request is two steps: codec_decode() walks the wire bytes
 * once (framing, every `string` field valid UTF-8 without NUL, nesting
 * depth) and then unpacks with protobuf-c into the call's arena;
 * codec_record_from_pb() turns a Record into a reconnu_record (list caps
 * checked before anything reaches the engine). Encoders build response
 * messages in the same arena, borrowing strings from the engine result,
 * which must therefore outlive the packing of the response.
 *
 * No gRPC here: the fuzzer (tests/fuzz/fuzz_codec.c) drives this file
 * alone. Not thread-safe per codec_mem; distinct calls are independent.
 */
#ifndef RECONNU_RPC_CODEC_H
#define RECONNU_RPC_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "arena.h"
#include "reconnu.h"
#include "reconnu/v1/reconnu.pb-c.h"

/** Error codes of this module (map to gRPC status in rpc.c). */
enum codec_err {
	CODEC_OK = 0,
	CODEC_EINVAL =
	    -1, /**< malformed or invalid request: INVALID_ARGUMENT */
	CODEC_ELIMIT = -2, /**< arena budget or a list cap exceeded:
				RESOURCE_EXHAUSTED */
};

/** Per-call memory: everything a call decodes or encodes lives here and
 *  is freed at once by codec_mem_destroy. */
struct codec_mem {
	struct arena arena;
	size_t budget;	       /**< max bytes taken from malloc */
	int over_budget;       /**< set when an allocation was refused */
	ProtobufCAllocator pb; /**< protobuf-c allocator over the arena */
};

/** Empty per-call memory in caller storage with a byte budget. */
void codec_mem_create(struct codec_mem *m, size_t budget);
/** Frees everything allocated from m; m may be created again. */
void codec_mem_destroy(struct codec_mem *m);
/** n zeroed bytes from the arena, NULL when out of memory or budget. */
void *codec_alloc(struct codec_mem *m, size_t n);

/** Checks the wire bytes of one message of type d without unpacking it:
 *  well-formed framing, known fields with the expected wire type, every
 *  string field valid UTF-8 without NUL bytes (protobuf-c checks
 *  neither), nesting depth at most 16.
 *  @retval CODEC_OK
 *  @retval CODEC_EINVAL err (NUL-terminated, errlen bytes) names the
 *          field path, e.g. "record.addresses.city: invalid UTF-8" */
int codec_check_wire(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
		     size_t len, char *err, size_t errlen);

/** codec_check_wire, then protobuf-c unpack into m.
 *  *out lives in m (never free it separately).
 *  @retval CODEC_OK, CODEC_EINVAL, CODEC_ELIMIT (budget) */
int codec_decode(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
		 size_t len, struct codec_mem *m, ProtobufCMessage **out,
		 char *err, size_t errlen);

/** Record message → reconnu_record. pb may be NULL (→ CODEC_EINVAL naming
 *  `what`). Arrays live in m, strings are borrowed from pb ("" = absent).
 *  Lists longer than the engine's caps give CODEC_EINVAL.
 *  The engine still validates the values (reconnu_validate). */
int codec_record_from_pb(const Reconnu__V1__Record *pb, const char *what,
			 struct codec_mem *m, reconnu_record *out, char *err,
			 size_t errlen);

/** Checks a RecordKey (present, both parts non-empty, within length). */
int codec_key_check(const Reconnu__V1__RecordKey *k, const char *what,
		    char *err, size_t errlen);

/** Engine decision → wire enum. */
Reconnu__V1__Decision codec_decision(reconnu_decision d);

/* Encoders: messages built in m, strings borrowed from the argument.
 * NULL when out of memory or budget. */
Reconnu__V1__GoldenRecord *codec_golden_to_pb(const reconnu_golden *g,
					      struct codec_mem *m);
Reconnu__V1__Explanation *codec_explanation_to_pb(const reconnu_explanation *e,
						  struct codec_mem *m);
/** Fills *out (initialised here) from a match result. @retval 0 / -1 */
int codec_match_to_pb(const reconnu_match *match, struct codec_mem *m,
		      Reconnu__V1__IdentifyResponse *out);
void codec_upsert_to_pb(const reconnu_upsert_result *r,
			Reconnu__V1__UpsertResponse *out);
void codec_stats_to_pb(const reconnu_stats *s, Reconnu__V1__StatsResponse *out);

#endif
