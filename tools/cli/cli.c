/*
 * cli.c — `reconnu`, the command-line client of reconnu-server, on the gRPC
 * C core (no C++ API).
 *
 * Every subcommand is one unary call except `load`, which reads a CSV or
 * JSONL file through the shared ingest mapping (tools/common/ingest.h) and
 * streams it over UpsertStream: one message in flight at a time (the
 * transport queues it), the server's progress acks drive the progress
 * display, and the final summary lists the rejected rows and the row to
 * resume from.
 *
 * Output: indented `field: value` text by default, one JSON object with
 * --json (responses converted generically from their protobuf-c
 * descriptors, proto3 JSON style: default values omitted).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <jansson.h>

#include "cli.h"
#include "grpc/health/v1/health.pb-c.h"

static const char help_text[] =
    "usage: reconnu [--server ADDR] [--json] [--timeout-ms N] COMMAND "
    "[options]\n"
    "\n"
    "Commands\n"
    "  identify  RECORD [--max-candidates N]  which entity is this person?\n"
    "  upsert    RECORD                       add or replace a record "
    "(--source, --id required)\n"
    "  get       --entity ID | --source S --id ID   golden record\n"
    "  delete    --source S --id ID           remove a record\n"
    "  explain   RECORD (--entity ID | --with FIELD=VALUE,...)\n"
    "                                          per-attribute evidence\n"
    "  stats                                   engine counters\n"
    "  health [--wait S]                       grpc.health.v1 check;\n"
    "                                          --wait: until SERVING, at\n"
    "                                          most S seconds\n"
    "  snapshot                                write a snapshot now (lsn, "
    "records,\n"
    "                                          seconds, write pause)\n"
    "  weights [--estimate [--relink] [--dry-run]]\n"
    "          [--set ATTR.LEVEL=W,... [--prior W] [--reset]]\n"
    "                                          match weights in force;\n"
    "                                          estimate them from the "
    "data (EM),\n"
    "                                          or configure them\n"
    "  load FILE [--map FIELD=COL,...] [--id COLS] [--source NAME]\n"
    "            [--no-header] [--format csv|jsonl] [--resume-from N]\n"
    "            [--ack-every N] [--estimate [--relink]]\n"
    "                                          bulk load over UpsertStream;\n"
    "                                          --estimate: then learn the\n"
    "                                          weights from the data (EM)\n"
    "  bench [--method identify|upsert|health|stats] [--clients N]\n"
    "        [--seconds S] [RECORD]           latency p50/p90/p99 of a "
    "method\n"
    "\n"
    "RECORD options\n"
    "  --source S --id ID --given G --family F --full-name N\n"
    "  --birth-date YYYY[-MM[-DD]] --gender M|F|X --country CC\n"
    "  --email E (repeatable) --phone P (repeatable)\n"
    "  --street L --city C --postcode P --region R --address-country CC\n"
    "  --identifier TYPE:VALUE (repeatable) --attr KEY=VALUE (repeatable)\n"
    "  --updated-at UNIX_MS\n"
    "  --with takes the same fields as FIELD=VALUE: given, family, "
    "full-name,\n"
    "  birth-date, gender, country, email, phone, street, city, postcode.\n"
    "\n"
    "Global options\n"
    "  --server ADDR     default 127.0.0.1:7450\n"
    "  --json            machine-readable output (one JSON object)\n"
    "  --timeout-ms N    deadline per call (default 10000; load: none;\n"
    "                    snapshot: 1 hour)\n"
    "\n"
    "load: --map uses the ingest syntax (see tools/common/ingest.h), e.g.\n"
    "  --map given_name=fname,family_name=sname,birth_date=dob "
    "--id rec_id\n"
    "  Rows are numbered from 1 (header excluded). After a failure, the\n"
    "  summary prints the next row; rerun with --resume-from N to skip the\n"
    "  rows already sent (re-sending is harmless: upserts replace by key).\n"
    "  A progress bar with records/s and ETA is drawn when stdout is a\n"
    "  terminal, plain progress lines otherwise.\n"
    "\n"
    "Exit codes\n"
    "  0  ok\n"
    "  1  not found (get, delete, explain --entity) or no match (identify)\n"
    "  2  usage error\n"
    "  3  invalid argument (the server rejected the request; load: some\n"
    "     rows were rejected)\n"
    "  4  unavailable (server unreachable, starting, or deadline "
    "exceeded)\n"
    "  5  other error\n";

/* ---- options ------------------------------------------------------------ */

void cli_usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("reconnu: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs("\n(see reconnu --help)\n", stderr);
	va_end(ap);
	exit(EXIT_USAGE);
}

static uint64_t parse_u64(const char *flag, const char *s)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-')
		cli_usage_error("%s: not a number: %s", flag, s);
	return v;
}

static void add_item(char **list, size_t *n, char *v, const char *flag)
{
	if (*n >= MAX_LIST)
		cli_usage_error("%s: at most %d", flag, MAX_LIST);
	list[(*n)++] = v;
}

/** Sets one record field by its option name (without dashes).
 *  @retval 0 set, -1 unknown name */
static int record_field(Reconnu__V1__Record *r, Reconnu__V1__Address *a,
			char **emails, char **phones, const char *name, char *v)
{
	static const struct {
		const char *name;
		size_t rec_off, addr_off;
	} map[] = {
#define R(n, f) {n, offsetof(Reconnu__V1__Record, f) + 1, 0}
#define A(n, f)                                                                \
	{                                                                      \
		n, 0, offsetof(Reconnu__V1__Address, f) + 1                    \
	}
	    R("given", given_name),
	    R("family", family_name),
	    R("full-name", full_name),
	    R("birth-date", birth_date),
	    R("gender", gender),
	    R("country", country),
	    A("street", line1),
	    A("city", city),
	    A("postcode", postcode),
	    A("region", region),
	    A("address-country", country),
#undef R
#undef A
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcmp(name, map[i].name))
			continue;
		if (map[i].rec_off)
			*(char **)((char *)r + map[i].rec_off - 1) = v;
		else
			*(char **)((char *)a + map[i].addr_off - 1) = v;
		return 0;
	}
	if (!strcmp(name, "email")) {
		r->emails = emails;
		add_item(emails, &r->n_emails, v, "--email");
		return 0;
	}
	if (!strcmp(name, "phone")) {
		r->phones = phones;
		add_item(phones, &r->n_phones, v, "--phone");
		return 0;
	}
	return -1;
}

static int address_used(const Reconnu__V1__Address *a)
{
	return a->line1[0] || a->city[0] || a->postcode[0] || a->region[0] ||
	       a->country[0];
}

static void parse_with(struct cli *c, char *spec)
{
	c->has_with = 1;
	for (char *save, *tok = strtok_r(spec, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq)
			cli_usage_error("--with: expected FIELD=VALUE, got %s",
					tok);
		*eq = 0;
		if (record_field(&c->with, &c->with_addr, c->with_emails,
				 c->with_phones, tok, eq + 1))
			cli_usage_error("--with: unknown field %s", tok);
	}
}

static void parse_args(struct cli *c, int argc, char **argv)
{
	reconnu__v1__record__init(&c->rec);
	reconnu__v1__address__init(&c->addr);
	reconnu__v1__record__init(&c->with);
	reconnu__v1__address__init(&c->with_addr);
	c->server = "127.0.0.1:7450";
	c->timeout_ms = -1;
	for (int i = 1; i < argc; i++) {
		char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(help_text, stdout);
			exit(EXIT_OK);
		}
		if (strncmp(a, "--", 2)) {
			if (!c->command)
				c->command = a;
			else if (!strcmp(c->command, "load") && !c->file)
				c->file = a;
			else
				cli_usage_error("unexpected argument %s", a);
			continue;
		}
		const char *name = a + 2;
		if (!strcmp(name, "json")) {
			c->json = 1;
			continue;
		}
		if (!strcmp(name, "no-header")) {
			c->no_header = 1;
			continue;
		}
		int *flag = !strcmp(name, "estimate") ? &c->w_estimate
			    : !strcmp(name, "relink") ? &c->w_relink
			    : !strcmp(name, "dry-run") ? &c->w_dry_run
			    : !strcmp(name, "reset")	? &c->w_reset
							: NULL;
		if (flag) {
			*flag = 1;
			continue;
		}
		if (i + 1 >= argc)
			cli_usage_error("%s needs a value", a);
		char *v = argv[++i];
		if (!strcmp(name, "server"))
			c->server = v;
		else if (!strcmp(name, "timeout-ms"))
			c->timeout_ms = (long)parse_u64(a, v);
		else if (!strcmp(name, "source"))
			c->rec.source = v;
		else if (!strcmp(name, "id"))
			c->rec.source_id = v, c->load_id = v;
		else if (!strcmp(name, "entity"))
			c->entity = parse_u64(a, v);
		else if (!strcmp(name, "max-candidates"))
			c->max_candidates = (uint32_t)parse_u64(a, v);
		else if (!strcmp(name, "updated-at"))
			c->rec.updated_at = (int64_t)parse_u64(a, v);
		else if (!strcmp(name, "resume-from"))
			c->resume_from = parse_u64(a, v);
		else if (!strcmp(name, "method"))
			c->bench_method = v;
		else if (!strcmp(name, "clients"))
			c->bench_clients = (unsigned)parse_u64(a, v);
		else if (!strcmp(name, "seconds"))
			c->bench_seconds = (double)parse_u64(a, v);
		else if (!strcmp(name, "wait"))
			c->wait_s = parse_u64(a, v);
		else if (!strcmp(name, "ack-every"))
			c->ack_every = (uint32_t)parse_u64(a, v);
		else if (!strcmp(name, "with"))
			parse_with(c, v);
		else if (!strcmp(name, "set"))
			c->w_set = v;
		else if (!strcmp(name, "prior"))
			c->w_prior = v;
		else if (!strcmp(name, "map")) {
			if (c->n_maps == MAX_MAPS)
				cli_usage_error("too many --map");
			c->maps[c->n_maps++] = v;
		} else if (!strcmp(name, "format")) {
			if (!strcmp(v, "csv"))
				c->format = INGEST_CSV;
			else if (!strcmp(v, "jsonl"))
				c->format = INGEST_JSONL;
			else
				cli_usage_error("--format: csv or jsonl");
		} else if (!strcmp(name, "identifier")) {
			size_t n = c->rec.n_identifiers;
			char *colon = strchr(v, ':');
			if (!colon || n >= MAX_LIST)
				cli_usage_error("--identifier TYPE:VALUE");
			*colon = 0;
			reconnu__v1__identifier__init(&c->ids[n]);
			c->ids[n].type = v;
			c->ids[n].value = colon + 1;
			c->idp[n] = &c->ids[n];
			c->rec.identifiers = c->idp;
			c->rec.n_identifiers = n + 1;
		} else if (!strcmp(name, "attr")) {
			size_t n = c->rec.n_attributes;
			char *eq = strchr(v, '=');
			if (!eq || n >= MAX_LIST)
				cli_usage_error("--attr KEY=VALUE");
			*eq = 0;
			reconnu__v1__record__attributes_entry__init(
			    &c->attrs[n]);
			c->attrs[n].key = v;
			c->attrs[n].value = eq + 1;
			c->attrp[n] = &c->attrs[n];
			c->rec.attributes = c->attrp;
			c->rec.n_attributes = n + 1;
		} else if (record_field(&c->rec, &c->addr, c->emails, c->phones,
					name, v)) {
			cli_usage_error("unknown option %s", a);
		}
	}
	if (!c->command)
		cli_usage_error("a command is required");
	if (address_used(&c->addr)) {
		c->addrp = &c->addr;
		c->rec.addresses = &c->addrp;
		c->rec.n_addresses = 1;
	}
	if (address_used(&c->with_addr)) {
		c->with_addrp = &c->with_addr;
		c->with.addresses = &c->with_addrp;
		c->with.n_addresses = 1;
	}
}

/* ---- generic output ----------------------------------------------------- */

static json_t *msg_json(const ProtobufCMessage *m);

static json_t *field_json(const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		return json_string(*(char *const *)p);
	case PROTOBUF_C_TYPE_BOOL:
		return json_boolean(*(const protobuf_c_boolean *)p);
	case PROTOBUF_C_TYPE_DOUBLE:
		return json_real(*(const double *)p);
	case PROTOBUF_C_TYPE_FLOAT:
		return json_real(*(const float *)p);
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return json_integer(*(const int32_t *)p);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return json_integer(*(const uint32_t *)p);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return json_integer(*(const int64_t *)p);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return json_integer((json_int_t) * (const uint64_t *)p);
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumValue *ev =
		    protobuf_c_enum_descriptor_get_value(f->descriptor,
							 *(const int *)p);
		return ev ? json_string(ev->name)
			  : json_integer(*(const int *)p);
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		return msg_json(*(ProtobufCMessage *const *)p);
	default:
		return json_null();
	}
}

static int is_default(const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		return !**(char *const *)p;
	case PROTOBUF_C_TYPE_MESSAGE:
		return !*(void *const *)p;
	case PROTOBUF_C_TYPE_DOUBLE:
		return *(const double *)p == 0;
	case PROTOBUF_C_TYPE_BOOL:
		return !*(const protobuf_c_boolean *)p;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_UINT64:
		return !*(const uint64_t *)p;
	default:
		return !*(const uint32_t *)p;
	}
}

static size_t field_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_DOUBLE:
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	default:
		return 4;
	}
}

static json_t *msg_json(const ProtobufCMessage *m)
{
	json_t *o = json_object();
	if (!m)
		return o;
	const ProtobufCMessageDescriptor *d = m->descriptor;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m;
		const void *p = base + f->offset;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n =
			    *(const size_t *)(base + f->quantifier_offset);
			if (!n)
				continue;
			const char *arr = *(char *const *)p;
			json_t *a = json_array();
			for (size_t k = 0; k < n; k++)
				json_array_append_new(
				    a, field_json(f, arr + k * field_size(f)));
			json_object_set_new(o, f->name, a);
			continue;
		}
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			if (*(const uint32_t *)(base + f->quantifier_offset) !=
			    f->id)
				continue;
		} else if (is_default(f, p)) {
			continue;
		}
		json_object_set_new(o, f->name, field_json(f, p));
	}
	return o;
}

/** Indented `key: value` text of a JSON value. */
static void print_text(FILE *out, const json_t *v, int indent)
{
	const char *key;
	json_t *x;
	json_object_foreach((json_t *)v, key, x)
	{
		if (json_is_object(x)) {
			fprintf(out, "%*s%s:\n", indent, "", key);
			print_text(out, x, indent + 2);
		} else if (json_is_array(x)) {
			size_t i;
			json_t *e;
			json_array_foreach(x, i, e)
			{
				if (json_is_object(e)) {
					fprintf(out, "%*s%s[%zu]:\n", indent,
						"", key, i);
					print_text(out, e, indent + 2);
				} else {
					char *s =
					    json_dumps(e, JSON_ENCODE_ANY);
					fprintf(out, "%*s%s[%zu]: %s\n", indent,
						"", key, i, s ? s : "?");
					free(s);
				}
			}
		} else if (json_is_string(x)) {
			fprintf(out, "%*s%s: %s\n", indent, "", key,
				json_string_value(x));
		} else {
			char *s = json_dumps(x, JSON_ENCODE_ANY);
			fprintf(out, "%*s%s: %s\n", indent, "", key,
				s ? s : "?");
			free(s);
		}
	}
}

/** Explanation features as an aligned table (human output). */
static void print_features(const Reconnu__V1__Explanation *e)
{
	if (!e)
		return;
	printf("probability %.6f  decision %s  weight %.2f (prior %.2f)\n",
	       e->probability,
	       protobuf_c_enum_descriptor_get_value(
		   &reconnu__v1__decision__descriptor, (int)e->decision)
		       ->name +
		   9,
	       e->total_weight, e->prior_weight);
	printf("  %-12s %-24s %-24s %-10s %6s %7s\n", "attribute", "left",
	       "right", "level", "sim", "weight");
	for (size_t i = 0; i < e->n_features; i++) {
		const Reconnu__V1__Feature *f = e->features[i];
		char sim[16] = "-";
		if (f->similarity >= 0)
			snprintf(sim, sizeof(sim), "%.3f", f->similarity);
		printf("  %-12s %-24.24s %-24.24s %-10s %6s %+7.2f\n",
		       f->attribute, f->left, f->right, f->level, sim,
		       f->weight);
	}
}

void cli_output(const struct cli *c, const ProtobufCMessage *m)
{
	json_t *j = msg_json(m);
	if (c->json) {
		char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10));
		if (s)
			puts(s);
		free(s);
	} else if (m->descriptor ==
		   &reconnu__v1__explain_response__descriptor) {
		print_features(
		    ((const Reconnu__V1__ExplainResponse *)m)->explanation);
	} else if (json_object_size(j) == 0) {
		puts("ok");
	} else {
		print_text(stdout, j, 0);
	}
	json_decref(j);
}

/* ---- unary calls -------------------------------------------------------- */

int cli_exit_for(grpc_status_code code)
{
	switch (code) {
	case GRPC_STATUS_OK:
		return EXIT_OK;
	case GRPC_STATUS_NOT_FOUND:
		return EXIT_NOTFOUND;
	case GRPC_STATUS_INVALID_ARGUMENT:
		return EXIT_INVALID;
	case GRPC_STATUS_UNAVAILABLE:
	case GRPC_STATUS_DEADLINE_EXCEEDED:
		return EXIT_UNAVAILABLE;
	default:
		return EXIT_OTHER;
	}
}

/** One unary call. On OK *resp is the decoded response (free with
 *  protobuf_c_message_free_unpacked). Returns the status code; prints
 *  the error on stderr (or as JSON with --json) otherwise. */
static grpc_status_code call_unary(struct cli *c, const char *method,
				   const ProtobufCMessage *req,
				   const ProtobufCMessageDescriptor *rd,
				   ProtobufCMessage **resp)
{
	*resp = NULL;
	grpc_completion_queue *cq =
	    grpc_completion_queue_create_for_pluck(NULL);
	grpc_slice ms = grpc_slice_from_static_string(method);
	long timeout_ms = c->timeout_ms >= 0			? c->timeout_ms
			  : !strcmp(c->command, "snapshot") ? 3600000
							    : 10000;
	grpc_call *call = grpc_channel_create_call(
	    c->ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, ms, NULL,
	    rpc_client_deadline(timeout_ms), NULL);
	grpc_byte_buffer *out = rpc_client_pack(req), *in = NULL;
	grpc_metadata_array md_init, md_trail;
	grpc_metadata_array_init(&md_init);
	grpc_metadata_array_init(&md_trail);
	grpc_status_code code = GRPC_STATUS_UNKNOWN;
	grpc_slice details = grpc_empty_slice();
	grpc_op ops[6];
	rpc_client_unary_ops(ops, out, &md_init, &in, &md_trail, &code,
			     &details);
	int tag;
	if (grpc_call_start_batch(call, ops, 6, &tag, NULL) == GRPC_CALL_OK)
		grpc_completion_queue_pluck(
		    cq, &tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	if (code == GRPC_STATUS_OK && !(*resp = rpc_client_unpack(rd, in))) {
		code = GRPC_STATUS_INTERNAL;
		grpc_slice_unref(details);
		details = grpc_slice_from_static_string("undecodable response");
	}
	if (code != GRPC_STATUS_OK && c->quiet) {
		/* health --wait asks again: no message for this answer */
	} else if (code != GRPC_STATUS_OK) {
		char *d = grpc_slice_to_c_string(details);
		if (c->json) {
			json_t *j =
			    json_pack("{s:{s:s,s:s}}", "error", "code",
				      rpc_client_code_name(code), "message", d);
			char *t = json_dumps(j, JSON_COMPACT);
			if (t)
				puts(t);
			free(t);
			json_decref(j);
		} else
			fprintf(stderr, "reconnu: %s: %s\n",
				rpc_client_code_name(code), d);
		gpr_free(d);
	}
	grpc_slice_unref(details);
	grpc_metadata_array_destroy(&md_init);
	grpc_metadata_array_destroy(&md_trail);
	grpc_byte_buffer_destroy(out);
	if (in)
		grpc_byte_buffer_destroy(in);
	grpc_call_unref(call);
	grpc_completion_queue_shutdown(cq);
	while (grpc_completion_queue_pluck(
		   cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL)
		   .type != GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(cq);
	return code;
}

static int run_unary(struct cli *c, const char *method,
		     const ProtobufCMessage *req,
		     const ProtobufCMessageDescriptor *rd)
{
	ProtobufCMessage *resp;
	grpc_status_code code = call_unary(c, method, req, rd, &resp);
	if (code != GRPC_STATUS_OK)
		return cli_exit_for(code);
	cli_output(c, resp);
	int rc = EXIT_OK;
	if (rd == &reconnu__v1__identify_response__descriptor &&
	    ((Reconnu__V1__IdentifyResponse *)resp)->decision !=
		RECONNU__V1__DECISION__DECISION_MATCH)
		rc = EXIT_NOTFOUND;
	if (rd == &grpc__health__v1__health_check_response__descriptor &&
	    ((Grpc__Health__V1__HealthCheckResponse *)resp)->status !=
		GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING)
		rc = EXIT_UNAVAILABLE;
	protobuf_c_message_free_unpacked(resp, NULL);
	return rc;
}

static double mono_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* reconnu health [--wait S]: one check, or (--wait) checks every 20 ms
 * over one connection until the server answers SERVING, for at most S
 * seconds. Waiting for a server to start this way costs it next to no
 * CPU, where starting a client process per check took most of a core
 * (each process sets gRPC up anew). */
static int cmd_health(struct cli *c)
{
	Grpc__Health__V1__HealthCheckRequest r;
	grpc__health__v1__health_check_request__init(&r);
	const char *m = "/grpc.health.v1.Health/Check";
	const ProtobufCMessageDescriptor *rd =
	    &grpc__health__v1__health_check_response__descriptor;
	if (!c->wait_s)
		return run_unary(c, m, &r.base, rd);
	double until = mono_s() + (double)c->wait_s;
	if (c->timeout_ms < 0)
		c->timeout_ms = 1000;
	for (;;) {
		int last = mono_s() >= until;
		c->quiet = !last;
		ProtobufCMessage *resp;
		grpc_status_code code = call_unary(c, m, &r.base, rd, &resp);
		if (code == GRPC_STATUS_OK) {
			int serving =
			    ((Grpc__Health__V1__HealthCheckResponse *)resp)
				->status ==
			    GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
			if (serving || last)
				cli_output(c, resp);
			protobuf_c_message_free_unpacked(resp, NULL);
			if (serving)
				return EXIT_OK;
			if (last)
				return EXIT_UNAVAILABLE;
		} else if (last) {
			return cli_exit_for(code);
		}
		nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
	}
}

static void need_key(const struct cli *c)
{
	if (!c->rec.source[0] || !c->rec.source_id[0])
		cli_usage_error("%s needs --source and --id", c->command);
}

/* reconnu weights: get, estimate (--estimate) or configure (--set). */
static int cmd_weights(struct cli *c)
{
	if (c->w_estimate && (c->w_set || c->w_prior || c->w_reset))
		cli_usage_error("weights: --estimate or --set/--prior/--reset, "
				"not both");
	if ((c->w_relink || c->w_dry_run) && !c->w_estimate)
		cli_usage_error("weights: --relink and --dry-run go with "
				"--estimate");
	if (c->w_estimate) {
		Reconnu__V1__EstimateWeightsRequest r;
		reconnu__v1__estimate_weights_request__init(&r);
		r.relink = c->w_relink;
		r.dry_run = c->w_dry_run;
		if (c->timeout_ms < 0)
			c->timeout_ms = 3600000; /* relinking takes a while */
		return run_unary(c, "/reconnu.v1.Reconnu/EstimateWeights",
				 &r.base,
				 &reconnu__v1__weights_response__descriptor);
	}
	if (!c->w_set && !c->w_prior && !c->w_reset) {
		Reconnu__V1__GetWeightsRequest r;
		reconnu__v1__get_weights_request__init(&r);
		return run_unary(c, "/reconnu.v1.Reconnu/GetWeights", &r.base,
				 &reconnu__v1__weights_response__descriptor);
	}
	enum { MAX_W = 64 };
	Reconnu__V1__SetWeightsRequest r;
	reconnu__v1__set_weights_request__init(&r);
	Reconnu__V1__Weight w[MAX_W], *wp[MAX_W];
	char *spec = c->w_set ? strdup(c->w_set) : NULL, *save = NULL;
	for (char *tok = spec ? strtok_r(spec, ",", &save) : NULL; tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *dot = strchr(tok, '.'), *eq = strchr(tok, '=');
		if (!dot || !eq || eq < dot || r.n_weights == MAX_W)
			cli_usage_error("--set: expected ATTR.LEVEL=WEIGHT, "
					"got %s",
					tok);
		*dot = *eq = 0;
		reconnu__v1__weight__init(&w[r.n_weights]);
		w[r.n_weights].attribute = tok;
		w[r.n_weights].level = dot + 1;
		char *end;
		w[r.n_weights].weight = strtod(eq + 1, &end);
		if (end == eq + 1 || *end)
			cli_usage_error("--set: not a number: %s", eq + 1);
		wp[r.n_weights] = &w[r.n_weights];
		r.n_weights++;
	}
	r.weights = wp;
	if (c->w_prior) {
		char *end;
		r.set_prior = 1;
		r.prior_weight = strtod(c->w_prior, &end);
		if (end == c->w_prior || *end)
			cli_usage_error("--prior: not a number: %s", c->w_prior);
	}
	r.reset = c->w_reset;
	int rc = run_unary(c, "/reconnu.v1.Reconnu/SetWeights", &r.base,
			   &reconnu__v1__weights_response__descriptor);
	free(spec);
	return rc;
}

static int cmd(struct cli *c)
{
	const char *cmd = c->command;
	if (!strcmp(cmd, "identify")) {
		Reconnu__V1__IdentifyRequest r;
		reconnu__v1__identify_request__init(&r);
		r.record = &c->rec;
		r.max_candidates = c->max_candidates;
		return run_unary(c, "/reconnu.v1.Reconnu/Identify", &r.base,
				 &reconnu__v1__identify_response__descriptor);
	}
	if (!strcmp(cmd, "upsert")) {
		need_key(c);
		Reconnu__V1__UpsertRequest r;
		reconnu__v1__upsert_request__init(&r);
		r.record = &c->rec;
		return run_unary(c, "/reconnu.v1.Reconnu/Upsert", &r.base,
				 &reconnu__v1__upsert_response__descriptor);
	}
	if (!strcmp(cmd, "get")) {
		Reconnu__V1__GetEntityRequest r;
		Reconnu__V1__RecordKey k;
		reconnu__v1__get_entity_request__init(&r);
		reconnu__v1__record_key__init(&k);
		if (c->entity) {
			r.selector_case =
			    RECONNU__V1__GET_ENTITY_REQUEST__SELECTOR_ENTITY_ID;
			r.entity_id = c->entity;
		} else {
			need_key(c);
			k.source = c->rec.source;
			k.source_id = c->rec.source_id;
			r.selector_case =
			    RECONNU__V1__GET_ENTITY_REQUEST__SELECTOR_RECORD_KEY;
			r.record_key = &k;
		}
		return run_unary(c, "/reconnu.v1.Reconnu/GetEntity", &r.base,
				 &reconnu__v1__get_entity_response__descriptor);
	}
	if (!strcmp(cmd, "delete")) {
		need_key(c);
		Reconnu__V1__DeleteRequest r;
		Reconnu__V1__RecordKey k;
		reconnu__v1__delete_request__init(&r);
		reconnu__v1__record_key__init(&k);
		k.source = c->rec.source;
		k.source_id = c->rec.source_id;
		r.key = &k;
		return run_unary(c, "/reconnu.v1.Reconnu/Delete", &r.base,
				 &reconnu__v1__delete_response__descriptor);
	}
	if (!strcmp(cmd, "explain")) {
		Reconnu__V1__ExplainRequest r;
		reconnu__v1__explain_request__init(&r);
		r.left = &c->rec;
		if (c->entity) {
			r.right_case =
			    RECONNU__V1__EXPLAIN_REQUEST__RIGHT_ENTITY_ID;
			r.entity_id = c->entity;
		} else if (c->has_with) {
			r.right_case =
			    RECONNU__V1__EXPLAIN_REQUEST__RIGHT_RIGHT_RECORD;
			r.right_record = &c->with;
		} else {
			cli_usage_error(
			    "explain needs --entity ID or --with ...");
		}
		return run_unary(c, "/reconnu.v1.Reconnu/Explain", &r.base,
				 &reconnu__v1__explain_response__descriptor);
	}
	if (!strcmp(cmd, "stats")) {
		Reconnu__V1__StatsRequest r;
		reconnu__v1__stats_request__init(&r);
		return run_unary(c, "/reconnu.v1.Reconnu/Stats", &r.base,
				 &reconnu__v1__stats_response__descriptor);
	}
	if (!strcmp(cmd, "snapshot")) {
		Reconnu__V1__SnapshotRequest r;
		reconnu__v1__snapshot_request__init(&r);
		return run_unary(c, "/reconnu.v1.Reconnu/Snapshot", &r.base,
				 &reconnu__v1__snapshot_response__descriptor);
	}
	if (!strcmp(cmd, "weights"))
		return cmd_weights(c);
	if (!strcmp(cmd, "health"))
		return cmd_health(c);
	if (!strcmp(cmd, "bench"))
		return bench_run(c,
				 c->bench_method ? c->bench_method : "identify",
				 c->bench_clients ? c->bench_clients : 1,
				 c->bench_seconds > 0 ? c->bench_seconds : 5);
	if (!strcmp(cmd, "load")) {
		if (!c->file)
			cli_usage_error("load needs a FILE");
		int rc = load_run(c);
		/* --estimate: learn the weights from what was just loaded */
		if (rc != EXIT_OK || !c->w_estimate)
			return rc;
		c->command = "weights";
		return cmd_weights(c);
	}
	cli_usage_error("unknown command %s", cmd);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct cli *c = calloc(1, sizeof(*c));
	if (!c)
		return EXIT_OTHER;
	parse_args(c, argc, argv);
	grpc_init();
	grpc_channel_credentials *creds = grpc_insecure_credentials_create();
	c->ch = grpc_channel_create(c->server, creds, NULL);
	grpc_channel_credentials_release(creds);
	int rc = cmd(c);
	grpc_channel_destroy(c->ch);
	grpc_shutdown();
	free(c);
	return rc;
}
