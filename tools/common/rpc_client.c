/*
 * rpc_client.c — see rpc_client.h.
 */
#include "rpc_client.h"

#include <string.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/support/time.h>

gpr_timespec rpc_client_deadline(long ms)
{
	if (ms < 0)
		return gpr_inf_future(GPR_CLOCK_REALTIME);
	return gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
			    gpr_time_from_millis(ms, GPR_TIMESPAN));
}

const char *rpc_client_code_name(grpc_status_code c)
{
	static const char *names[] = {
	    "OK",
	    "CANCELLED",
	    "UNKNOWN",
	    "INVALID_ARGUMENT",
	    "DEADLINE_EXCEEDED",
	    "NOT_FOUND",
	    "ALREADY_EXISTS",
	    "PERMISSION_DENIED",
	    "RESOURCE_EXHAUSTED",
	    "FAILED_PRECONDITION",
	    "ABORTED",
	    "OUT_OF_RANGE",
	    "UNIMPLEMENTED",
	    "INTERNAL",
	    "UNAVAILABLE",
	    "DATA_LOSS",
	    "UNAUTHENTICATED",
	};
	return (unsigned)c < sizeof(names) / sizeof(names[0]) ? names[c] : "?";
}

grpc_byte_buffer *rpc_client_pack(const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	grpc_slice s = grpc_slice_malloc(n);
	protobuf_c_message_pack(m, GRPC_SLICE_START_PTR(s));
	grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
	grpc_slice_unref(s);
	return bb;
}

void rpc_client_unary_ops(grpc_op ops[6], grpc_byte_buffer *out,
			  grpc_metadata_array *md_init, grpc_byte_buffer **in,
			  grpc_metadata_array *md_trail,
			  grpc_status_code *status, grpc_slice *details)
{
	memset(ops, 0, 6 * sizeof(*ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = out;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = md_init;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = in;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = md_trail;
	ops[5].data.recv_status_on_client.status = status;
	ops[5].data.recv_status_on_client.status_details = details;
}

ProtobufCMessage *rpc_client_unpack(const ProtobufCMessageDescriptor *d,
				    grpc_byte_buffer *bb)
{
	grpc_byte_buffer_reader rd;
	if (!bb || !grpc_byte_buffer_reader_init(&rd, bb))
		return NULL;
	grpc_slice s = grpc_byte_buffer_reader_readall(&rd);
	grpc_byte_buffer_reader_destroy(&rd);
	ProtobufCMessage *m = protobuf_c_message_unpack(
	    d, NULL, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
	grpc_slice_unref(s);
	return m;
}

static char *s(const char *v)
{
	return (char *)(v ? v : "");
}

int rpc_client_record_set(struct rpc_client_record *l, const reconnu_record *x)
{
	Reconnu__V1__Record *r = &l->rec;
	reconnu__v1__record__init(r);
	if (x->n_addresses > RPC_CLIENT_MAX_LIST ||
	    x->n_identifiers > RPC_CLIENT_MAX_LIST ||
	    x->n_consents > RPC_CLIENT_MAX_LIST ||
	    x->n_attributes > RPC_CLIENT_MAX_ATTRS)
		return -1;
	r->source = s(x->source);
	r->source_id = s(x->source_id);
	r->given_name = s(x->given_name);
	r->family_name = s(x->family_name);
	r->full_name = s(x->full_name);
	r->birth_date = s(x->birth_date);
	r->gender = s(x->gender);
	r->country = s(x->country);
	r->emails = (char **)x->emails;
	r->n_emails = x->n_emails;
	r->phones = (char **)x->phones;
	r->n_phones = x->n_phones;
	r->updated_at = x->updated_at;
	for (size_t i = 0; i < x->n_addresses; i++) {
		const reconnu_address *a = &x->addresses[i];
		Reconnu__V1__Address *b = &l->addr[i];
		reconnu__v1__address__init(b);
		b->line1 = s(a->line1);
		b->line2 = s(a->line2);
		b->city = s(a->city);
		b->postcode = s(a->postcode);
		b->region = s(a->region);
		b->country = s(a->country);
		l->addrp[i] = b;
	}
	r->addresses = l->addrp;
	r->n_addresses = x->n_addresses;
	for (size_t i = 0; i < x->n_identifiers; i++) {
		reconnu__v1__identifier__init(&l->id[i]);
		l->id[i].type = s(x->identifiers[i].type);
		l->id[i].value = s(x->identifiers[i].value);
		l->idp[i] = &l->id[i];
	}
	r->identifiers = l->idp;
	r->n_identifiers = x->n_identifiers;
	for (size_t i = 0; i < x->n_consents; i++) {
		reconnu__v1__consent__init(&l->cons[i]);
		l->cons[i].channel = s(x->consents[i].channel);
		l->cons[i].granted = x->consents[i].granted != 0;
		l->cons[i].at = x->consents[i].at;
		l->consp[i] = &l->cons[i];
	}
	r->consents = l->consp;
	r->n_consents = x->n_consents;
	for (size_t i = 0; i < x->n_attributes; i++) {
		reconnu__v1__record__attributes_entry__init(&l->attr[i]);
		l->attr[i].key = s(x->attributes[i].key);
		l->attr[i].value = s(x->attributes[i].value);
		l->attrp[i] = &l->attr[i];
	}
	r->attributes = l->attrp;
	r->n_attributes = x->n_attributes;
	return 0;
}
