/*
 * fuzz_codec.c — libFuzzer harness over request decoding and validation
 * (engine/rpc/codec.c), the code every byte from the network meets first.
 *
 * The first input byte picks the request type, the rest is the message.
 * For each input: codec_decode (wire check + protobuf-c unpack into a
 * budgeted arena), then what the server does next — Record → reconnu_record
 * and the engine's reconnu_validate, key checks. Invariants checked (abort
 * on violation, which libFuzzer reports):
 *  - a message that passed the wire check holds only valid UTF-8 strings
 *    without NUL (the string walk below re-checks every string field);
 *  - packing the decoded message again gives bytes that pass the wire check;
 *  - the arena never exceeds its budget.
 * Build and run: scripts/fuzz.sh SECONDS (clang, -fsanitize=fuzzer,address).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "grpc/health/v1/health.pb-c.h"
#include "reconnu.h"

static const ProtobufCMessageDescriptor *const types[] = {
    &reconnu__v1__upsert_request__descriptor,
    &reconnu__v1__identify_request__descriptor,
    &reconnu__v1__get_entity_request__descriptor,
    &reconnu__v1__delete_request__descriptor,
    &reconnu__v1__explain_request__descriptor,
    &reconnu__v1__upsert_stream_request__descriptor,
    &reconnu__v1__stats_request__descriptor,
    &grpc__health__v1__health_check_request__descriptor,
};

static int utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		int n = *p < 0x80	      ? 1
			: (*p & 0xE0) == 0xC0 ? 2
			: (*p & 0xF0) == 0xE0 ? 3
			: (*p & 0xF8) == 0xF0 ? 4
					      : 0;
		if (!n)
			return 0;
		for (int k = 1; k < n; k++)
			if ((p[k] & 0xC0) != 0x80)
				return 0;
		p += n;
	}
	return 1;
}

/** Walks every string field of m (recursively) and checks it. */
static void check_strings(const ProtobufCMessage *m)
{
	if (!m)
		return;
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const char *base = (const char *)m;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->type != PROTOBUF_C_TYPE_STRING &&
		    f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)(base + f->quantifier_offset) != f->id)
			continue;
		size_t n = 1;
		void *const *items = (void *const *)(base + f->offset);
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			n = *(const size_t *)(base + f->quantifier_offset);
			items = *(void *const *const *)(base + f->offset);
		}
		for (size_t k = 0; k < n; k++) {
			if (f->type == PROTOBUF_C_TYPE_MESSAGE)
				check_strings(items[k]);
			else if (!items[k] || !utf8_ok(items[k]))
				abort();
		}
	}
}

static void validate_record(const Reconnu__V1__Record *pb, struct codec_mem *m)
{
	char err[256];
	reconnu_record r;
	if (codec_record_from_pb(pb, "record", m, &r, err, sizeof(err)) == 0)
		(void)reconnu_validate(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const ProtobufCMessageDescriptor *d =
	    types[data[0] % (sizeof(types) / sizeof(types[0]))];
	data++, size--;

	struct codec_mem m;
	size_t budget = 32 * size + (64 << 10);
	codec_mem_create(&m, budget);
	char err[256];
	ProtobufCMessage *msg = NULL;
	if (codec_decode(d, data, size, &m, &msg, err, sizeof(err)) == 0) {
		check_strings(msg);
		size_t n = protobuf_c_message_get_packed_size(msg);
		uint8_t *buf = malloc(n ? n : 1);
		protobuf_c_message_pack(msg, buf);
		if (codec_check_wire(d, buf, n, err, sizeof(err)))
			abort();
		free(buf);

		if (d == &reconnu__v1__upsert_request__descriptor)
			validate_record(
			    ((Reconnu__V1__UpsertRequest *)msg)->record, &m);
		else if (d == &reconnu__v1__identify_request__descriptor)
			validate_record(
			    ((Reconnu__V1__IdentifyRequest *)msg)->record, &m);
		else if (d == &reconnu__v1__upsert_stream_request__descriptor)
			validate_record(
			    ((Reconnu__V1__UpsertStreamRequest *)msg)->record,
			    &m);
		else if (d == &reconnu__v1__explain_request__descriptor) {
			Reconnu__V1__ExplainRequest *e =
			    (Reconnu__V1__ExplainRequest *)msg;
			validate_record(e->left, &m);
			if (e->right_case ==
			    RECONNU__V1__EXPLAIN_REQUEST__RIGHT_RIGHT_RECORD)
				validate_record(e->right_record, &m);
		} else if (d == &reconnu__v1__delete_request__descriptor) {
			(void)codec_key_check(
			    ((Reconnu__V1__DeleteRequest *)msg)->key, "key",
			    err, sizeof(err));
		} else if (d == &reconnu__v1__get_entity_request__descriptor) {
			Reconnu__V1__GetEntityRequest *g =
			    (Reconnu__V1__GetEntityRequest *)msg;
			if (g->selector_case ==
			    RECONNU__V1__GET_ENTITY_REQUEST__SELECTOR_RECORD_KEY)
				(void)codec_key_check(g->record_key,
						      "record_key", err,
						      sizeof(err));
		}
	}
	if (m.arena.total > budget + 4096 + 64)
		abort();
	codec_mem_destroy(&m);
	return 0;
}
