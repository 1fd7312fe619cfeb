/*
 * cli.h — shared state and helpers of the `reconnu` command-line client
 * (cli.c: options, unary commands, output; load.c: `reconnu load`).
 */
#ifndef RECONNU_CLI_H
#define RECONNU_CLI_H

#include <stdint.h>

#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>

#include "ingest.h"
#include "reconnu/v1/reconnu.pb-c.h"
#include "rpc_client.h"

/** Exit codes (documented in --help). */
enum cli_exit {
	EXIT_OK = 0,
	EXIT_NOTFOUND = 1, /* NOT_FOUND, or identify found no match */
	EXIT_USAGE = 2,
	EXIT_INVALID = 3,     /* INVALID_ARGUMENT, or load rows rejected */
	EXIT_UNAVAILABLE = 4, /* cannot reach a serving server, deadline */
	EXIT_OTHER = 5,
};

enum { MAX_LIST = 64, MAX_MAPS = 32 };

/** Parsed command line; strings point into argv. */
struct cli {
	const char *server;
	int json;
	long timeout_ms;
	const char *command;
	const char *file; /**< load FILE */
	/* record */
	Reconnu__V1__Record rec;
	Reconnu__V1__Address addr;
	Reconnu__V1__Address *addrp;
	char *emails[MAX_LIST], *phones[MAX_LIST];
	Reconnu__V1__Identifier ids[MAX_LIST];
	Reconnu__V1__Identifier *idp[MAX_LIST];
	Reconnu__V1__Record__AttributesEntry attrs[MAX_LIST];
	Reconnu__V1__Record__AttributesEntry *attrp[MAX_LIST];
	/* explain --with */
	Reconnu__V1__Record with;
	Reconnu__V1__Address with_addr;
	Reconnu__V1__Address *with_addrp;
	char *with_emails[MAX_LIST], *with_phones[MAX_LIST];
	int has_with;
	uint64_t entity;
	uint32_t max_candidates;
	/* load */
	const char *maps[MAX_MAPS];
	unsigned n_maps;
	const char *load_id;
	int no_header;
	enum ingest_format format;
	uint64_t resume_from;
	uint32_t ack_every;
	/* weights */
	int w_estimate, w_relink, w_dry_run, w_reset;
	const char *w_set;   /**< ATTR.LEVEL=W,... */
	const char *w_prior; /**< log2 prior odds */
	/* health */
	uint64_t wait_s; /**< --wait: until SERVING, at most this long */
	int quiet;	 /**< call_unary prints no error (asked again) */
	/* bench */
	const char *bench_method;
	unsigned bench_clients;
	double bench_seconds;
	grpc_channel *ch;
};

/** Prints "reconnu: <message>" and a hint, exits with EXIT_USAGE. */
void cli_usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
/** Exit code for a gRPC status. */
int cli_exit_for(grpc_status_code code);
/** Prints a response: text, or one JSON line with --json. */
void cli_output(const struct cli *c, const ProtobufCMessage *m);

/** `reconnu load FILE`: streams the file; returns the exit code. */
int load_run(struct cli *c);
/** `reconnu bench`: latency percentiles of one method from `clients`
 *  concurrent clients (one connection each) during `seconds`, after the
 *  same of Health/Check (tools/bench/loadgen.h); returns the exit code. */
int bench_run(struct cli *c, const char *method, unsigned clients,
	      double seconds);

#endif
