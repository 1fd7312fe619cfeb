/*
 * bench.c — `reconnu bench`: latency of one unary method over the network
 * from N concurrent clients (threads, one channel and one completion queue
 * each), to compare Identify with the bare Health/Check round trip.
 *
 *   reconnu bench [--method identify|upsert|health|stats] [--clients N]
 *                 [--seconds S] RECORD options (identify, upsert: the
 *                 same record replaced again and again)
 *
 * Prints calls, calls/s and p50/p90/p99/max latency in microseconds (JSON
 * with --json). Exit 0, or 5 when any call failed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "cli.h"
#include "grpc/health/v1/health.pb-c.h"

enum { MAX_CLIENTS = 256, MAX_SAMPLES = 1 << 22 };

struct bench_client {
	const struct cli *c;
	const char *method;
	const ProtobufCMessage *req;
	double seconds;
	uint32_t *lat_us; /**< samples, owned */
	size_t n;
	size_t errors;
	pthread_t thread;
};

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *client_main(void *arg)
{
	struct bench_client *b = arg;
	grpc_channel_credentials *creds = grpc_insecure_credentials_create();
	grpc_channel *ch = grpc_channel_create(b->c->server, creds, NULL);
	grpc_channel_credentials_release(creds);
	grpc_completion_queue *cq =
	    grpc_completion_queue_create_for_pluck(NULL);
	size_t cap = MAX_SAMPLES / 16;
	b->lat_us = malloc(cap * sizeof(*b->lat_us));
	double end = now_s() + b->seconds;
	while (b->lat_us && b->n < cap) {
		double t0 = now_s();
		if (t0 >= end)
			break;
		grpc_call *call = grpc_channel_create_call(
		    ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
		    grpc_slice_from_static_string(b->method), NULL,
		    cli_deadline(5000), NULL);
		grpc_byte_buffer *out = cli_pack(b->req), *in = NULL;
		grpc_metadata_array md_init, md_trail;
		grpc_metadata_array_init(&md_init);
		grpc_metadata_array_init(&md_trail);
		grpc_status_code code = GRPC_STATUS_UNKNOWN;
		grpc_slice details = grpc_empty_slice();
		grpc_op ops[6];
		memset(ops, 0, sizeof(ops));
		ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
		ops[1].op = GRPC_OP_SEND_MESSAGE;
		ops[1].data.send_message.send_message = out;
		ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
		ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
		ops[3].data.recv_initial_metadata.recv_initial_metadata =
		    &md_init;
		ops[4].op = GRPC_OP_RECV_MESSAGE;
		ops[4].data.recv_message.recv_message = &in;
		ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
		ops[5].data.recv_status_on_client.trailing_metadata = &md_trail;
		ops[5].data.recv_status_on_client.status = &code;
		ops[5].data.recv_status_on_client.status_details = &details;
		int tag;
		if (grpc_call_start_batch(call, ops, 6, &tag, NULL) ==
		    GRPC_CALL_OK)
			grpc_completion_queue_pluck(
			    cq, &tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		b->lat_us[b->n++] = (uint32_t)((now_s() - t0) * 1e6);
		if (code != GRPC_STATUS_OK)
			b->errors++;
		grpc_slice_unref(details);
		grpc_metadata_array_destroy(&md_init);
		grpc_metadata_array_destroy(&md_trail);
		grpc_byte_buffer_destroy(out);
		if (in)
			grpc_byte_buffer_destroy(in);
		grpc_call_unref(call);
	}
	grpc_completion_queue_shutdown(cq);
	while (grpc_completion_queue_pluck(
		   cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL)
		   .type != GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(cq);
	grpc_channel_destroy(ch);
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

int bench_run(struct cli *c, const char *method, unsigned clients,
	      double seconds)
{
	if (clients < 1 || clients > MAX_CLIENTS)
		cli_usage_error("--clients: 1..%d", MAX_CLIENTS);
	Reconnu__V1__IdentifyRequest ir;
	Grpc__Health__V1__HealthCheckRequest hr;
	Reconnu__V1__StatsRequest sr;
	Reconnu__V1__UpsertRequest ur;
	const ProtobufCMessage *req;
	const char *path;
	if (!strcmp(method, "identify")) {
		reconnu__v1__identify_request__init(&ir);
		ir.record = &c->rec;
		req = &ir.base;
		path = "/reconnu.v1.Reconnu/Identify";
	} else if (!strcmp(method, "upsert")) {
		if (!c->rec.source[0] || !c->rec.source_id[0])
			cli_usage_error(
			    "bench --method upsert needs --source, --id");
		reconnu__v1__upsert_request__init(&ur);
		ur.record = &c->rec;
		req = &ur.base;
		path = "/reconnu.v1.Reconnu/Upsert";
	} else if (!strcmp(method, "health")) {
		grpc__health__v1__health_check_request__init(&hr);
		req = &hr.base;
		path = "/grpc.health.v1.Health/Check";
	} else if (!strcmp(method, "stats")) {
		reconnu__v1__stats_request__init(&sr);
		req = &sr.base;
		path = "/reconnu.v1.Reconnu/Stats";
	} else {
		cli_usage_error("--method: identify, upsert, health or stats");
	}
	struct bench_client *b = calloc(clients, sizeof(*b));
	if (!b)
		return EXIT_OTHER;
	double t0 = now_s();
	for (unsigned i = 0; i < clients; i++) {
		b[i] = (struct bench_client){
		    .c = c, .method = path, .req = req, .seconds = seconds};
		pthread_create(&b[i].thread, NULL, client_main, &b[i]);
	}
	size_t total = 0, errors = 0;
	for (unsigned i = 0; i < clients; i++) {
		pthread_join(b[i].thread, NULL);
		total += b[i].n;
		errors += b[i].errors;
	}
	double wall = now_s() - t0;
	uint32_t *all = malloc((total ? total : 1) * sizeof(*all));
	size_t k = 0;
	for (unsigned i = 0; i < clients; i++) {
		if (all && b[i].lat_us)
			memcpy(all + k, b[i].lat_us, b[i].n * sizeof(*all));
		k += b[i].n;
		free(b[i].lat_us);
	}
	free(b);
	if (!all || !total) {
		free(all);
		fprintf(stderr, "reconnu: no calls made\n");
		return EXIT_OTHER;
	}
	qsort(all, total, sizeof(*all), cmp_u32);
#define PCT(p) all[(size_t)((double)(total - 1) * (p))]
	if (c->json)
		printf("{\"method\":\"%s\",\"clients\":%u,\"calls\":%zu,"
		       "\"errors\":%zu,\"calls_per_s\":%.0f,\"p50_us\":%u,"
		       "\"p90_us\":%u,\"p99_us\":%u,\"max_us\":%u}\n",
		       method, clients, total, errors, (double)total / wall,
		       PCT(0.5), PCT(0.9), PCT(0.99), all[total - 1]);
	else
		printf("%-8s clients %3u  calls %8zu  errors %zu  %8.0f "
		       "calls/s  p50 %5u us  p90 %5u us  p99 %5u us  max %6u "
		       "us\n",
		       method, clients, total, errors, (double)total / wall,
		       PCT(0.5), PCT(0.9), PCT(0.99), all[total - 1]);
#undef PCT
	free(all);
	return errors ? EXIT_OTHER : EXIT_OK;
}
