/*
 * load.c — `reconnu load FILE`: rows read through the ingest mapping are
 * streamed over UpsertStream.
 *
 * One completion queue, four kinds of batches on the call: the initial
 * metadata and then one SEND_MESSAGE at a time (the next row is read and
 * packed when the previous send completed), RECV_MESSAGE re-armed after
 * every server message (progress acks, then the summary), and
 * RECV_STATUS_ON_CLIENT armed once. The loop wakes at least every 200 ms
 * to redraw the progress display.
 *
 * Rows are numbered from 1 in file order, counting rows the ingest library
 * rejects; the number travels as the message's `sequence`, so the
 * server's acks and failures name file rows and a broken load can resume
 * with --resume-from <last acknowledged row>.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <jansson.h>

#include "cli.h"

enum { SHOW_FAILURES = 20, REDRAW_MS = 200 };

/** Batch tags. */
enum load_tag { TAG_SEND = 1, TAG_RECV, TAG_STATUS };

/** A client-side row failure (unreadable row). */
struct load_fail {
	uint64_t row;
	char message[200];
};

struct load {
	struct cli *c;
	struct ingest_reader *r;
	grpc_completion_queue *cq;
	grpc_call *call;
	grpc_byte_buffer *out, *in;
	grpc_metadata_array md_init, md_trail;
	grpc_status_code status;
	grpc_slice details;
	int send_busy, recv_busy, status_busy, closed, recv_md;
	uint64_t row;	      /**< rows read (good and bad) */
	uint64_t sent;	      /**< rows sent on the stream */
	uint64_t skipped;     /**< rows skipped by --resume-from */
	uint64_t unreadable;  /**< rows the ingest library rejected */
	uint64_t total_lines; /**< for the ETA; 0 = unknown */
	struct load_fail fails[SHOW_FAILURES];
	Reconnu__V1__UpsertProgress acked; /**< latest ack (copy) */
	Reconnu__V1__UpsertSummary *summary;
	Reconnu__V1__UpsertStreamResponse *summary_msg;
	struct timespec t0, last_draw;
	int tty;
	FILE *progress; /**< where progress goes */
	/* per-row message storage (valid until the row is packed) */
	struct rpc_client_record pb;
};

static double since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void client_fail(struct load *l, const char *msg)
{
	if (l->unreadable < SHOW_FAILURES) {
		struct load_fail *f = &l->fails[l->unreadable];
		f->row = l->row;
		snprintf(f->message, sizeof(f->message), "%s", msg);
	}
	l->unreadable++;
}

static void start(struct load *l, grpc_op *ops, size_t n, enum load_tag t)
{
	if (grpc_call_start_batch(l->call, ops, n, (void *)(intptr_t)t, NULL) !=
	    GRPC_CALL_OK) {
		fprintf(stderr, "reconnu: cannot start batch\n");
		exit(EXIT_OTHER);
	}
}

/** Sends the next row, or half-closes at the end of the file. */
static void send_next(struct load *l)
{
	grpc_op op;
	memset(&op, 0, sizeof(op));
	reconnu_record *rec;
	for (;;) {
		int rc = ingest_next(l->r, &rec, NULL);
		if (rc == 0 || (rc < 0 && rc != INGEST_EROW)) {
			if (rc < 0)
				fprintf(stderr, "reconnu: %s\n",
					ingest_last_error());
			break;
		}
		l->row++;
		if (l->row <= l->c->resume_from) {
			l->skipped++;
			continue;
		}
		if (rc == INGEST_EROW) {
			client_fail(l, ingest_last_error());
			continue;
		}
		if (rpc_client_record_set(&l->pb, rec)) {
			client_fail(l, "too many list items");
			continue;
		}
		Reconnu__V1__UpsertStreamRequest req;
		reconnu__v1__upsert_stream_request__init(&req);
		req.record = &l->pb.rec;
		req.sequence = l->row;
		req.ack_every = l->sent == 0 ? l->c->ack_every : 0;
		if (l->out)
			grpc_byte_buffer_destroy(l->out);
		l->out = rpc_client_pack(&req.base);
		op.op = GRPC_OP_SEND_MESSAGE;
		op.data.send_message.send_message = l->out;
		l->sent++;
		l->send_busy = 1;
		start(l, &op, 1, TAG_SEND);
		return;
	}
	op.op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	l->closed = 1;
	l->send_busy = 1;
	start(l, &op, 1, TAG_SEND);
}

static void recv_next(struct load *l)
{
	grpc_op ops[2];
	memset(ops, 0, sizeof(ops));
	size_t n = 0;
	if (!l->recv_md) {
		ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
		ops[n++].data.recv_initial_metadata.recv_initial_metadata =
		    &l->md_init;
		l->recv_md = 1;
	}
	ops[n].op = GRPC_OP_RECV_MESSAGE;
	ops[n++].data.recv_message.recv_message = &l->in;
	l->recv_busy = 1;
	start(l, ops, n, TAG_RECV);
}

static void on_message(struct load *l)
{
	Reconnu__V1__UpsertStreamResponse *m =
	    (Reconnu__V1__UpsertStreamResponse *)rpc_client_unpack(
		&reconnu__v1__upsert_stream_response__descriptor, l->in);
	grpc_byte_buffer_destroy(l->in);
	l->in = NULL;
	if (!m)
		return;
	const Reconnu__V1__UpsertProgress *p = NULL;
	if (m->kind_case == RECONNU__V1__UPSERT_STREAM_RESPONSE__KIND_PROGRESS)
		p = m->progress;
	if (m->kind_case == RECONNU__V1__UPSERT_STREAM_RESPONSE__KIND_SUMMARY) {
		p = m->summary->totals;
		l->summary = m->summary;
		if (l->summary_msg)
			protobuf_c_message_free_unpacked(&l->summary_msg->base,
							 NULL);
		l->summary_msg = m;
	}
	if (p) {
		l->acked.received = p->received;
		l->acked.accepted = p->accepted;
		l->acked.failed = p->failed;
		l->acked.last_sequence = p->last_sequence;
	}
	if (l->summary_msg != m)
		protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void draw(struct load *l, int final)
{
	if (!final && since(&l->last_draw) * 1000 < REDRAW_MS)
		return;
	clock_gettime(CLOCK_MONOTONIC, &l->last_draw);
	double t = since(&l->t0);
	double rate = t > 0 ? (double)l->sent / t : 0;
	if (!l->tty) {
		fprintf(l->progress,
			"progress rows=%llu sent=%llu acked=%llu "
			"rejected=%llu records_per_s=%.0f\n",
			(unsigned long long)l->row, (unsigned long long)l->sent,
			(unsigned long long)l->acked.received,
			(unsigned long long)(l->acked.failed + l->unreadable),
			rate);
		fflush(l->progress);
		return;
	}
	char bar[31];
	double frac = l->total_lines ? (double)l->row / l->total_lines : 0;
	if (frac > 1)
		frac = 1;
	int fill = (int)(frac * 30);
	for (int i = 0; i < 30; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[30] = 0;
	char eta[32] = "--:--";
	if (l->total_lines && rate > 0 && !final) {
		double left = ((double)l->total_lines - (double)l->row) / rate;
		if (left < 0)
			left = 0;
		snprintf(eta, sizeof(eta), "%d:%02d", (int)left / 60,
			 (int)left % 60);
	}
	fprintf(l->progress,
		"\r%5.1f%% [%s] %llu rows  %.0f rec/s  ETA %s  rejected %llu ",
		frac * 100, bar, (unsigned long long)l->row, rate, eta,
		(unsigned long long)(l->acked.failed + l->unreadable));
	if (final)
		fputc('\n', l->progress);
	fflush(l->progress);
}

static uint64_t count_lines(const char *path)
{
	if (!strcmp(path, "-"))
		return 0;
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	char buf[1 << 16];
	uint64_t n = 0;
	size_t k;
	while ((k = fread(buf, 1, sizeof(buf), f)) > 0)
		for (size_t i = 0; i < k; i++)
			n += buf[i] == '\n';
	fclose(f);
	return n;
}

/** Prints the summary; returns the exit code. */
static int report(struct load *l)
{
	double t = since(&l->t0);
	const Reconnu__V1__UpsertSummary *sum = l->summary;
	int complete = l->status == GRPC_STATUS_OK && sum;
	uint64_t accepted =
	    complete ? sum->totals->accepted : l->acked.accepted;
	uint64_t rejected =
	    (complete ? sum->totals->failed : l->acked.failed) + l->unreadable;
	uint64_t next = complete ? l->row
				 : (l->acked.last_sequence > l->c->resume_from
					? l->acked.last_sequence
					: l->c->resume_from);
	char *details = grpc_slice_to_c_string(l->details);
	int rc = complete
		     ? (rejected ? EXIT_INVALID : EXIT_OK)
		     : (l->status == GRPC_STATUS_OK ? EXIT_OTHER
						    : cli_exit_for(l->status));
	if (l->c->json) {
		json_t *fails = json_array();
		for (size_t i = 0; sum && i < sum->n_failures; i++)
			json_array_append_new(
			    fails,
			    json_pack("{s:I,s:s,s:s,s:s}", "row",
				      (json_int_t)sum->failures[i]->sequence,
				      "source_id", sum->failures[i]->source_id,
				      "code",
				      rpc_client_code_name(
					  sum->failures[i]->code),
				      "message", sum->failures[i]->message));
		for (uint64_t i = 0; i < l->unreadable && i < SHOW_FAILURES;
		     i++)
			json_array_append_new(
			    fails, json_pack("{s:I,s:s,s:s}", "row",
					     (json_int_t)l->fails[i].row,
					     "code", "UNREADABLE_ROW",
					     "message", l->fails[i].message));
		json_t *j = json_pack(
		    "{s:s,s:b,s:s,s:I,s:I,s:I,s:I,s:I,s:f,s:f,s:I,s:o}", "file",
		    l->c->file, "complete", complete, "status",
		    rpc_client_code_name(l->status), "rows",
		    (json_int_t)l->row,
		    "sent", (json_int_t)l->sent, "accepted",
		    (json_int_t)accepted, "rejected", (json_int_t)rejected,
		    "skipped", (json_int_t)l->skipped, "seconds", t,
		    "records_per_s", t > 0 ? (double)l->sent / t : 0.0,
		    "resume_from", (json_int_t)next, "failures", fails);
		char *out =
		    json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));
		if (out)
			puts(out);
		free(out);
		json_decref(j);
	} else {
		printf("load %s: %s%s%s\n", l->c->file,
		       complete ? "complete" : "interrupted: ",
		       complete ? "" : rpc_client_code_name(l->status),
		       complete || !details[0] ? "" : " — ");
		if (!complete && details[0])
			printf("  %s\n", details);
		printf("  rows %llu  sent %llu  accepted %llu  rejected %llu  "
		       "skipped %llu\n",
		       (unsigned long long)l->row, (unsigned long long)l->sent,
		       (unsigned long long)accepted,
		       (unsigned long long)rejected,
		       (unsigned long long)l->skipped);
		printf("  %.2f s  %.0f records/s\n", t,
		       t > 0 ? (double)l->sent / t : 0.0);
		size_t shown = 0;
		for (size_t i = 0;
		     sum && i < sum->n_failures && shown < SHOW_FAILURES;
		     i++, shown++)
			printf("  row %llu (source_id %s): %s %s\n",
			       (unsigned long long)sum->failures[i]->sequence,
			       sum->failures[i]->source_id,
			       rpc_client_code_name(sum->failures[i]->code),
			       sum->failures[i]->message);
		for (uint64_t i = 0; i < l->unreadable && i < SHOW_FAILURES &&
				     shown < SHOW_FAILURES;
		     i++, shown++)
			printf("  row %llu: unreadable: %s\n",
			       (unsigned long long)l->fails[i].row,
			       l->fails[i].message);
		if (rejected > shown)
			printf("  ... %llu more rejected rows (--json lists "
			       "the server's first 1000)\n",
			       (unsigned long long)(rejected - shown));
		printf("  next row to resume from: %llu  (reconnu load %s "
		       "--resume-from %llu ...)\n",
		       (unsigned long long)next, l->c->file,
		       (unsigned long long)next);
	}
	gpr_free(details);
	return rc;
}

int load_run(struct cli *c)
{
	struct load *l = calloc(1, sizeof(*l));
	if (!l)
		return EXIT_OTHER;
	l->c = c;
	struct ingest_mapping *m = ingest_mapping_new();
	if (!m)
		return EXIT_OTHER;
	for (unsigned i = 0; i < c->n_maps; i++)
		if (ingest_mapping_add(m, c->maps[i]))
			cli_usage_error("--map: %s", ingest_last_error());
	if (c->load_id && ingest_mapping_set_id(m, c->load_id))
		cli_usage_error("--id: %s", ingest_last_error());
	if (c->rec.source && c->rec.source[0] &&
	    ingest_mapping_set_source(m, c->rec.source))
		cli_usage_error("--source: %s", ingest_last_error());
	ingest_mapping_set_header(m, !c->no_header);
	l->r = ingest_open(c->file, m, c->format);
	ingest_mapping_delete(m);
	if (!l->r) {
		fprintf(stderr, "reconnu: %s\n", ingest_last_error());
		return EXIT_INVALID;
	}
	l->tty = isatty(STDOUT_FILENO) && !c->json;
	l->progress = c->json ? stderr : stdout;
	l->total_lines = count_lines(c->file);
	if (l->total_lines && !c->no_header)
		l->total_lines--;

	l->cq = grpc_completion_queue_create_for_next(NULL);
	l->call = grpc_channel_create_call(
	    c->ch, NULL, GRPC_PROPAGATE_DEFAULTS, l->cq,
	    grpc_slice_from_static_string("/reconnu.v1.Reconnu/UpsertStream"),
	    NULL, rpc_client_deadline(c->timeout_ms), NULL);
	grpc_metadata_array_init(&l->md_init);
	grpc_metadata_array_init(&l->md_trail);
	l->details = grpc_empty_slice();
	clock_gettime(CLOCK_MONOTONIC, &l->t0);
	l->last_draw = l->t0;

	grpc_op op;
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	op.data.recv_status_on_client.trailing_metadata = &l->md_trail;
	op.data.recv_status_on_client.status = &l->status;
	op.data.recv_status_on_client.status_details = &l->details;
	l->status_busy = 1;
	start(l, &op, 1, TAG_STATUS);
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_SEND_INITIAL_METADATA;
	l->send_busy = 1;
	start(l, &op, 1, TAG_SEND);
	recv_next(l);

	while (l->send_busy || l->recv_busy || l->status_busy) {
		grpc_event ev = grpc_completion_queue_next(
		    l->cq, rpc_client_deadline(REDRAW_MS), NULL);
		if (ev.type == GRPC_OP_COMPLETE) {
			switch ((enum load_tag)(intptr_t)ev.tag) {
			case TAG_SEND:
				l->send_busy = 0;
				if (!ev.success)
					l->closed = 1;
				else if (!l->closed && !l->status_busy)
					l->closed = 1;
				else if (!l->closed)
					send_next(l);
				break;
			case TAG_RECV:
				l->recv_busy = 0;
				if (ev.success && l->in) {
					on_message(l);
					recv_next(l);
				}
				break;
			case TAG_STATUS:
				l->status_busy = 0;
				break;
			}
		}
		draw(l, 0);
	}
	draw(l, 1);
	int rc = report(l);

	if (l->out)
		grpc_byte_buffer_destroy(l->out);
	if (l->summary_msg)
		protobuf_c_message_free_unpacked(&l->summary_msg->base, NULL);
	grpc_slice_unref(l->details);
	grpc_metadata_array_destroy(&l->md_init);
	grpc_metadata_array_destroy(&l->md_trail);
	grpc_call_unref(l->call);
	grpc_completion_queue_shutdown(l->cq);
	while (grpc_completion_queue_next(
		   l->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL)
		   .type != GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(l->cq);
	ingest_close(l->r);
	free(l);
	return rc;
}
