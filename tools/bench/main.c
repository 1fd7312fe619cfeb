/*
 * main.c — reconnu-bench: end-to-end load generator for reconnu-server
 * over gRPC (options, workloads, output). The run itself is loadgen.c,
 * the requests workload.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loadgen.h"
#include "workload.h"

enum { EXIT_CALLS = 1, EXIT_USAGE = 2, EXIT_RUN = 3, MAX_MAPS = 32 };

static const char help_text[] =
    "usage: reconnu-bench [options]\n"
    "\n"
    "Load reconnu-server over gRPC and report latency percentiles,\n"
    "throughput and errors by status code, always beside an empty\n"
    "Health/Check baseline measured first on the same connections.\n"
    "\n"
    "Workload\n"
    "  --workload W        checkout  Identify: known people, varied, and\n"
    "                                strangers (default)\n"
    "                      till      Upsert (durable): new customers and\n"
    "                                changed known records\n"
    "                      bulk      UpsertStream of --batch records per "
    "stream\n"
    "                      mix       weighted mix, see --mix\n"
    "                      health    Health/Check only\n"
    "  --mix K=W,...       weights of identify, upsert, health, stats\n"
    "                      (default identify=90,upsert=10)\n"
    "  --batch N           bulk: records per stream (default 1000)\n"
    "\n"
    "Load\n"
    "  --connections N     channels, each its own TCP connection, completion\n"
    "                      queue and thread (default 1)\n"
    "  --clients N         closed loop: calls outstanding at all times\n"
    "                      (default one per connection)\n"
    "  --rate R            open loop: R calls/s in total, latency from the\n"
    "                      scheduled send time (default: closed loop)\n"
    "  --duration S        measured seconds per phase (default 10)\n"
    "  --warmup S          unmeasured seconds before each phase (default 2)\n"
    "  --deadline-ms N     per call (default 5000; streams x10, >= 60 s)\n"
    "\n"
    "Known people\n"
    "  --data FILE         sample them from FILE, the file the server "
    "loaded\n"
    "                      (CSV or JSONL, read through the ingest mapping)\n"
    "  --map SPEC          FIELD=COLUMNS[,...] as for `reconnu load`\n"
    "  --format csv|jsonl  input format (default: from the file name)\n"
    "  --scan N            rows of FILE read for the sample (200000)\n"
    "  --sample N          records kept, reservoir sampling (20000)\n"
    "  --population N      without --data: synthetic people upserted in a\n"
    "                      setup phase before the run (1000)\n"
    "  --pool N            identify requests prebuilt (10000)\n"
    "  --strangers P       share of people nobody loaded (0.1)\n"
    "  --perturb P         share of known queries with a variation (0.5)\n"
    "  --till-new P        share of till upserts of new customers (0.5)\n"
    "  --seed S            of the sample and the variations (1)\n"
    "\n"
    "Output\n"
    "  --server ADDR       default 127.0.0.1:7450\n"
    "  --json              one JSON object instead of the table\n"
    "  --csv FILE          per-second rows and a summary\n"
    "  --plot PREFIX       PREFIX-latency.png and PREFIX-cdf.png (gnuplot)\n"
    "\n"
    "Exit status: 0 ok, 1 some calls failed, 2 usage error, 3 the server\n"
    "was not serving, the data could not be read or output not written.\n";

static void usage_error(const char *fmt, const char *arg)
{
	fputs("reconnu-bench: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\n(see reconnu-bench --help)\n", stderr);
	exit(EXIT_USAGE);
}

static double num(const char *flag, const char *v, double lo, double hi)
{
	char *end;
	errno = 0;
	double x = strtod(v, &end);
	if (errno || end == v || *end || !(x >= lo && x <= hi))
		usage_error("bad value for %s", flag);
	return x;
}

static void parse_mix(struct loadgen_opts *o, char *spec)
{
	memset(o->weight, 0, sizeof(o->weight));
	for (char *save, *tok = strtok_r(spec, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq)
			usage_error("--mix: expected KIND=WEIGHT, got %s", tok);
		*eq = 0;
		int k = loadgen_kind_of(tok);
		if (k < 0 || k == LOADGEN_BULK)
			usage_error("--mix: identify, upsert, health or "
				    "stats, not %s",
				    tok);
		o->weight[k] = (unsigned)num("--mix", eq + 1, 0, 1e6);
	}
}

int main(int argc, char **argv)
{
	struct loadgen_opts o = {
	    .server = "127.0.0.1:7450",
	    .workload = "checkout",
	    .connections = 1,
	    .duration = 10,
	    .warmup = 2,
	    .deadline_ms = 5000,
	    .batch = 1000,
	    .seed = 1,
	};
	const char *maps[MAX_MAPS];
	struct workload_opts wo = {
	    .maps = maps,
	    .scan = 200000,
	    .sample = 20000,
	    .pool = 10000,
	    .strangers = 0.1,
	    .perturb = 0.5,
	    .till_new = 0.5,
	    .population = 1000,
	    .seed = 1,
	};
	char *mix = NULL;
	const char *csv = NULL, *plot = NULL;
	int json = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(help_text, stdout);
			return 0;
		}
		if (!strcmp(a, "--json")) {
			json = 1;
			continue;
		}
		if (strncmp(a, "--", 2))
			usage_error("unexpected argument %s", a);
		if (i + 1 >= argc)
			usage_error("%s needs a value", a);
		char *v = argv[++i];
		if (!strcmp(a, "--server"))
			o.server = v;
		else if (!strcmp(a, "--workload"))
			o.workload = v;
		else if (!strcmp(a, "--mix"))
			mix = v;
		else if (!strcmp(a, "--batch"))
			o.batch = (unsigned)num(a, v, 1, 1e6);
		else if (!strcmp(a, "--connections"))
			o.connections = (unsigned)num(a, v, 1, 1024);
		else if (!strcmp(a, "--clients"))
			o.clients = (unsigned)num(a, v, 1, 1e5);
		else if (!strcmp(a, "--rate")) {
			o.rate = num(a, v, 0.001, 1e7);
			o.mode = LOADGEN_OPEN;
		} else if (!strcmp(a, "--duration"))
			o.duration = num(a, v, 0.001, 1e6);
		else if (!strcmp(a, "--warmup"))
			o.warmup = num(a, v, 0, 1e6);
		else if (!strcmp(a, "--deadline-ms"))
			o.deadline_ms = (long)num(a, v, 1, 1e9);
		else if (!strcmp(a, "--data"))
			wo.data = v;
		else if (!strcmp(a, "--map")) {
			if (wo.n_maps == MAX_MAPS)
				usage_error("too many %s", a);
			maps[wo.n_maps++] = v;
		} else if (!strcmp(a, "--format")) {
			if (!strcmp(v, "csv"))
				wo.format = INGEST_CSV;
			else if (!strcmp(v, "jsonl"))
				wo.format = INGEST_JSONL;
			else
				usage_error("--format: csv or jsonl, not %s",
					    v);
		} else if (!strcmp(a, "--scan"))
			wo.scan = (uint64_t)num(a, v, 1, 1e12);
		else if (!strcmp(a, "--sample"))
			wo.sample = (size_t)num(a, v, 1, 1e8);
		else if (!strcmp(a, "--population"))
			wo.population = (unsigned)num(a, v, 0, 1e8);
		else if (!strcmp(a, "--pool"))
			wo.pool = (size_t)num(a, v, 1, 1e7);
		else if (!strcmp(a, "--strangers"))
			wo.strangers = num(a, v, 0, 1);
		else if (!strcmp(a, "--perturb"))
			wo.perturb = num(a, v, 0, 1);
		else if (!strcmp(a, "--till-new"))
			wo.till_new = num(a, v, 0, 1);
		else if (!strcmp(a, "--seed"))
			o.seed = wo.seed = (uint64_t)num(a, v, 0, 1.8e19);
		else if (!strcmp(a, "--csv"))
			csv = v;
		else if (!strcmp(a, "--plot"))
			plot = v;
		else
			usage_error("unknown option %s", a);
	}
	const char *w = o.workload;
	if (!strcmp(w, "checkout"))
		o.weight[LOADGEN_IDENTIFY] = 1;
	else if (!strcmp(w, "till"))
		o.weight[LOADGEN_UPSERT] = 1;
	else if (!strcmp(w, "bulk"))
		o.weight[LOADGEN_BULK] = 1;
	else if (!strcmp(w, "health"))
		o.weight[LOADGEN_HEALTH] = 1;
	else if (!strcmp(w, "mix")) {
		char def[] = "identify=90,upsert=10";
		parse_mix(&o, mix ? mix : def);
	} else
		usage_error("--workload: checkout, till, bulk, mix or health, "
			    "not %s",
			    w);
	if (mix && strcmp(w, "mix"))
		usage_error("--mix needs --workload mix%s", "");
	if (o.weight[LOADGEN_BULK] && o.mode == LOADGEN_OPEN)
		usage_error("bulk runs in closed loop (no --rate)%s", "");
	wo.batch = o.batch;
	if (wo.sample > wo.scan)
		wo.sample = (size_t)wo.scan;

	grpc_init();
	int rc = EXIT_RUN;
	struct workload *wl = NULL;
	struct loadgen_result *res = NULL;
	if (workload_new(&wo, &wl))
		goto out;
	fprintf(stderr, "reconnu-bench: %zu known people (%s)\n",
		workload_known(wl), wo.data ? wo.data : "synthetic");
	o.gen = workload_gen(wl);
	o.setup = workload_setup(wl, &o.setup_gen);
	o.setup_kind = LOADGEN_UPSERT;
	if (loadgen_run(&o, &res))
		goto out;
	if (json)
		loadgen_print_json(res, stdout);
	else
		loadgen_print_table(res, stdout);
	fflush(stdout);
	rc = loadgen_result_errors(res) ? EXIT_CALLS : 0;
	if ((csv && loadgen_write_csv(res, csv)) ||
	    (plot && loadgen_plot(res, plot)))
		rc = EXIT_RUN;
out:
	loadgen_result_delete(res);
	workload_delete(wl);
	grpc_shutdown();
	return rc;
}
