/*
 * rpc_client.h — small helpers shared by the gRPC C-core clients of
 * reconnu-server: the `reconnu` CLI and the reconnu-bench load generator.
 *
 * Messages travel as protobuf-c structures packed into one grpc slice;
 * ingest records (tools/common/ingest.h) become Reconnu__V1__Record values
 * that borrow their strings.
 */
#ifndef RECONNU_RPC_CLIENT_H
#define RECONNU_RPC_CLIENT_H

#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>

#include "reconnu.h"
#include "reconnu/v1/reconnu.pb-c.h"

/** Absolute deadline ms from now (ms < 0: none). */
gpr_timespec rpc_client_deadline(long ms);
/** Static name of a gRPC status, e.g. "INVALID_ARGUMENT"; "?" when out of
 *  range. */
const char *rpc_client_code_name(grpc_status_code c);
/** Serialised message; the caller destroys the buffer (after the batch
 *  that sends it completed). */
grpc_byte_buffer *rpc_client_pack(const ProtobufCMessage *m);
/** Fills ops[0..5] with the six operations of one unary call: send
 *  initial metadata, send out, close; receive initial metadata into
 *  md_init, the response into *in, the status into md_trail, *status and
 *  *details. Everything stays the caller's. */
void rpc_client_unary_ops(grpc_op ops[6], grpc_byte_buffer *out,
			  grpc_metadata_array *md_init, grpc_byte_buffer **in,
			  grpc_metadata_array *md_trail,
			  grpc_status_code *status, grpc_slice *details);
/** Decoded message (free with protobuf_c_message_free_unpacked), NULL when
 *  bb is NULL, compressed beyond reading, or malformed. bb stays the
 *  caller's. */
ProtobufCMessage *rpc_client_unpack(const ProtobufCMessageDescriptor *d,
				    grpc_byte_buffer *bb);

enum { RPC_CLIENT_MAX_LIST = 64, RPC_CLIENT_MAX_ATTRS = 128 };

/** A protobuf record built from a reconnu_record, with the storage of its
 *  sub-messages. Strings are borrowed from the source record: rec is valid
 *  while that record is. */
struct rpc_client_record {
	Reconnu__V1__Record rec;
	Reconnu__V1__Address addr[RPC_CLIENT_MAX_LIST];
	Reconnu__V1__Address *addrp[RPC_CLIENT_MAX_LIST];
	Reconnu__V1__Identifier id[RPC_CLIENT_MAX_LIST];
	Reconnu__V1__Identifier *idp[RPC_CLIENT_MAX_LIST];
	Reconnu__V1__Consent cons[RPC_CLIENT_MAX_LIST];
	Reconnu__V1__Consent *consp[RPC_CLIENT_MAX_LIST];
	Reconnu__V1__Record__AttributesEntry attr[RPC_CLIENT_MAX_ATTRS];
	Reconnu__V1__Record__AttributesEntry *attrp[RPC_CLIENT_MAX_ATTRS];
};

/** Fills r->rec from x (NULL strings become "").
 *  @retval 0 ok
 *  @retval -1 more addresses, identifiers or consents than
 *          RPC_CLIENT_MAX_LIST, or attributes than RPC_CLIENT_MAX_ATTRS */
int rpc_client_record_set(struct rpc_client_record *r, const reconnu_record *x);

#endif
