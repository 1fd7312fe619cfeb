/*
 * bench.c — `reconnu bench`: latency of one unary method over the network
 * from N concurrent clients (one connection, completion queue and thread
 * each), beside the bare Health/Check round trip measured first on the
 * same connections. The run is reconnu-bench's load generator
 * (tools/bench/loadgen.h) with one fixed request; reconnu-bench itself
 * adds workloads, open loop, CSV and plots.
 *
 *   reconnu bench [--method identify|upsert|health|stats] [--clients N]
 *                 [--seconds S] RECORD options (identify, upsert: the
 *                 same record replaced again and again)
 *
 * Prints the table of reconnu-bench (one JSON object with --json). Exit
 * 0, or 5 when any call failed.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "grpc/health/v1/health.pb-c.h"
#include "loadgen.h"

/** The same request every time, per kind. */
struct fixed {
	grpc_byte_buffer *req[LOADGEN_N_KINDS];
};

static grpc_byte_buffer *fixed_next(void *ctx, enum loadgen_kind k,
				    uint64_t *rng)
{
	struct fixed *f = ctx;
	(void)rng;
	return f->req[k] ? grpc_byte_buffer_copy(f->req[k]) : NULL;
}

int bench_run(struct cli *c, const char *method, unsigned clients,
	      double seconds)
{
	int kind = loadgen_kind_of(method);
	if (kind < 0 || kind == LOADGEN_BULK)
		cli_usage_error("--method: identify, upsert, health or stats");
	if (clients < 1 || clients > 256)
		cli_usage_error("--clients: 1..256");
	struct fixed f = {0};
	Grpc__Health__V1__HealthCheckRequest hr;
	grpc__health__v1__health_check_request__init(&hr);
	f.req[LOADGEN_HEALTH] = rpc_client_pack(&hr.base);
	Reconnu__V1__StatsRequest sr;
	reconnu__v1__stats_request__init(&sr);
	f.req[LOADGEN_STATS] = rpc_client_pack(&sr.base);
	Reconnu__V1__IdentifyRequest ir;
	reconnu__v1__identify_request__init(&ir);
	ir.record = &c->rec;
	ir.max_candidates = c->max_candidates;
	f.req[LOADGEN_IDENTIFY] = rpc_client_pack(&ir.base);
	if (kind == LOADGEN_UPSERT) {
		if (!c->rec.source[0] || !c->rec.source_id[0])
			cli_usage_error(
			    "bench --method upsert needs --source, --id");
		Reconnu__V1__UpsertRequest ur;
		reconnu__v1__upsert_request__init(&ur);
		ur.record = &c->rec;
		f.req[LOADGEN_UPSERT] = rpc_client_pack(&ur.base);
	}
	struct loadgen_opts o = {
	    .server = c->server,
	    .workload = method,
	    .mode = LOADGEN_CLOSED,
	    .connections = clients,
	    .clients = clients,
	    .duration = seconds,
	    .warmup = seconds / 5 < 2 ? seconds / 5 : 2,
	    .deadline_ms = c->timeout_ms >= 0 ? c->timeout_ms : 5000,
	    .seed = 1,
	    .gen = {.next = fixed_next, .ctx = &f},
	};
	o.weight[kind] = 1;
	struct loadgen_result *r;
	int rc = EXIT_UNAVAILABLE;
	if (loadgen_run(&o, &r) == 0) {
		if (c->json)
			loadgen_print_json(r, stdout);
		else
			loadgen_print_table(r, stdout);
		rc = loadgen_result_errors(r) ? EXIT_OTHER : EXIT_OK;
		loadgen_result_delete(r);
	}
	for (int k = 0; k < LOADGEN_N_KINDS; k++)
		if (f.req[k])
			grpc_byte_buffer_destroy(f.req[k]);
	return rc;
}
