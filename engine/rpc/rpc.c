/*
 * rpc — gRPC C-core server; see rpc.h.
 *
 * Calls. Every method is registered; each worker keeps exactly one armed
 * request per method on its own completion queue (plus one unregistered
 * request that answers UNIMPLEMENTED). When a call arrives the worker arms
 * a replacement first, then runs the call:
 *
 *   unary:   ARMED --new--> [decode, engine, encode] --one batch-->
 *            (SEND_INITIAL_METADATA, SEND_MESSAGE, SEND_STATUS,
 *             RECV_CLOSE_ON_SERVER) --done--> freed
 *   stream:  ARMED --new--> RECV_CLOSE_ON_SERVER armed once, then
 *            RECV_MESSAGE → decode into the stream's batch → (every
 *            STREAM_BATCH records and at each ack_every boundary: one
 *            reconnu_upsert_batch_notify, the batch joins the flight
 *            queue) → RECV_MESSAGE ... until the client half-closes (NULL
 *            message) → summary + SEND_STATUS once every batch is durable
 *            → freed when every outstanding batch and durable callback
 *            has come back (`pending` == 0). A cancelled stream drops the
 *            records still in its batch: none of them was acknowledged.
 *            The worker never waits for the disk: the log's thread wakes
 *            it per durable batch (T_FLIGHT), and the acks due at the
 *            head of the queue go out then, one send at a time, in stream
 *            order, each counting only durable records.
 *
 * Tags are pointers to a struct rpc_tag inside the call, which says which
 * batch completed. Only the owning worker thread starts batches on a call.
 *
 * Durable writes. An Upsert is applied with reconnu_upsert_notify on the
 * worker, which parks the call and goes on serving: reads never wait on
 * disk. When the log's group commit has made the write durable, the log's
 * own thread (the engine's durable callback) wakes the owning worker with
 * an empty batch on the call (T_DURABLE), which then sends the reply: no
 * thread in between, so the reply leaves one wake-up after the fdatasync.
 * Delete has no non-blocking variant in the engine yet and waits on the
 * worker.
 */
#include "rpc.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "codec.h"
#include "grpc/health/v1/health.pb-c.h"

enum {
	MAX_FAILURES = 1000, /* per stream summary */
	DEFAULT_ACK_EVERY = 1000,
	MAX_CANDIDATES = 100, /* Identify cap */
	ERR_LEN = 256,
	STREAM_BATCH = 32, /* records applied per write-lock hold */
};

enum rpc_method {
	M_UPSERT,
	M_IDENTIFY,
	M_GET_ENTITY,
	M_DELETE,
	M_EXPLAIN,
	M_UPSERT_STREAM,
	M_STATS,
	M_SNAPSHOT,
	M_ESTIMATE_WEIGHTS,
	M_GET_WEIGHTS,
	M_SET_WEIGHTS,
	M_HEALTH,
	M_UNKNOWN, /* unregistered: UNIMPLEMENTED */
	M_COUNT,
};

static const struct {
	const char *path;
	const char *name;
	int streaming;
} methods[M_COUNT] = {
    [M_UPSERT] = {"/reconnu.v1.Reconnu/Upsert", "Upsert", 0},
    [M_IDENTIFY] = {"/reconnu.v1.Reconnu/Identify", "Identify", 0},
    [M_GET_ENTITY] = {"/reconnu.v1.Reconnu/GetEntity", "GetEntity", 0},
    [M_DELETE] = {"/reconnu.v1.Reconnu/Delete", "Delete", 0},
    [M_EXPLAIN] = {"/reconnu.v1.Reconnu/Explain", "Explain", 0},
    [M_UPSERT_STREAM] = {"/reconnu.v1.Reconnu/UpsertStream", "UpsertStream", 1},
    [M_STATS] = {"/reconnu.v1.Reconnu/Stats", "Stats", 0},
    [M_SNAPSHOT] = {"/reconnu.v1.Reconnu/Snapshot", "Snapshot", 0},
    [M_ESTIMATE_WEIGHTS] = {"/reconnu.v1.Reconnu/EstimateWeights",
			    "EstimateWeights", 0},
    [M_GET_WEIGHTS] = {"/reconnu.v1.Reconnu/GetWeights", "GetWeights", 0},
    [M_SET_WEIGHTS] = {"/reconnu.v1.Reconnu/SetWeights", "SetWeights", 0},
    [M_HEALTH] = {"/grpc.health.v1.Health/Check", "Health.Check", 0},
    [M_UNKNOWN] = {NULL, "unknown", 1},
};

struct rpc_worker;
struct rpc_call;

/** Which batch of a call completed. */
enum rpc_tag_kind {
	T_NEW,
	T_DONE,
	T_RECV,
	T_SEND,
	T_CLOSE,
	T_DURABLE,
	T_FLIGHT /**< a stream's batch is durable (struct rpc_flight) */
};

struct rpc_tag {
	struct rpc_call *call;
	enum rpc_tag_kind kind;
};

/** Where a received, not yet applied record came from in its stream. */
struct rpc_stream_pending {
	uint64_t index, seq;
	const char *source_id; /**< in the call's codec_mem */
};

/** One applied stream batch (and/or a due ack) waiting to be durable,
 *  in the stream's flight queue. Owned by the stream; freed by the owning
 *  worker once it left the queue, or with the call. */
struct rpc_flight {
	struct rpc_tag tag; /**< T_FLIGHT: the log's thread woke the worker */
	struct rpc_flight *next;
	int durable; /**< the tag came back (or nothing was logged) */
	int status;  /**< callback status: 0 durable, < 0 never */
	int ack;     /**< send `progress` once this and all before it are */
	Reconnu__V1__UpsertProgress progress; /**< counts up to its end */
};

/** State of one UpsertStream call. */
struct rpc_stream {
	uint64_t received, accepted, failed, last_sequence;
	uint32_t ack_every;
	/* batches applied, in stream order, until they are durable: the head
	 * leaves first, so acks go out in stream order */
	struct rpc_flight *head, *tail;
	int sending;	 /**< a SEND_MESSAGE batch is outstanding */
	int half_closed; /**< the client sent its last message */
	int final_sent;	 /**< summary + status batch started */
	int dead;	 /**< cancelled or failed: start no more batches */
	int recv_cancelled;
	struct timespec started;
	struct arena failures_mem; /**< failure strings, call lifetime */
	Reconnu__V1__RecordFailure **failures;
	size_t n_failures;
	int truncated;
	grpc_byte_buffer *out; /**< message being sent */
	/* Records decoded but not yet applied (their strings live in the
	 * call's codec_mem until stream_flush): applied STREAM_BATCH at a
	 * time with one engine call, and always before an ack counts them. */
	reconnu_record recs[STREAM_BATCH];
	reconnu_batch_item batch[STREAM_BATCH];
	struct rpc_stream_pending pend[STREAM_BATCH];
	size_t n_batch;
};

/** One gRPC call from arming to completion. */
struct rpc_call {
	struct rpc_worker *w;
	enum rpc_method method;
	grpc_call *call;
	gpr_timespec deadline;
	grpc_call_details details; /**< unregistered calls only */
	grpc_metadata_array md;
	grpc_byte_buffer *payload;  /**< unary request / received message */
	grpc_byte_buffer *response; /**< unary response */
	int cancelled;		    /**< RECV_CLOSE_ON_SERVER result */
	int pending;		    /**< outstanding batches */
	struct timespec t0;
	struct codec_mem mem;
	struct rpc_tag t_new, t_done, t_recv, t_send, t_close, t_durable;
	struct rpc_stream *st; /**< UpsertStream only */
	/* an Upsert waiting to be durable */
	const ProtobufCMessage *answer; /**< reply once durable (in mem) */
	grpc_status_code answer_code;	/**< or this error once durable */
	char answer_details[ERR_LEN];	/**< its message */
	int durable_rc; /**< callback status: 0 durable, < 0 never */
};

struct rpc_worker {
	struct rpc_server *s;
	grpc_completion_queue *cq;
	pthread_t thread;
	unsigned index;
};

struct rpc_server {
	reconnu *engine;
	grpc_server *server;
	void *registered[M_COUNT];
	grpc_completion_queue *shutdown_cq;
	struct rpc_worker *workers;
	unsigned n_workers;
	int port;
	size_t max_message_bytes;
	unsigned grace_ms;
	atomic_int ready;
	atomic_int stopping;
	int stopped;
	atomic_uint deferred; /**< Upserts waiting for their durable callback */
	struct timespec started;
	/* snapshots (rpc_server_snapshot) */
	int in_memory;
	reconnu_recovery recovery;
	pthread_mutex_t snap_mu;   /**< one snapshot at a time; guards below */
	uint64_t snap_base;        /**< upserts+deletes at the last snapshot */
	uint64_t snap_replayed;    /**< replayed ops not yet in a snapshot */
	_Atomic uint64_t last_snapshot_lsn;
};

/* ---- logging ------------------------------------------------------------ */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t elapsed_us(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)(t.tv_sec - t0->tv_sec) * 1000000 +
	       (t.tv_nsec - t0->tv_nsec) / 1000;
}

void rpc_log(const char *level, const char *event, const char *fmt, ...)
{
	char line[1024];
	int n = snprintf(line, sizeof(line), "ts=%lld level=%s event=%s ",
			 (long long)now_ms(), level, event);
	va_list ap;
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(line))
		n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	ssize_t rc = write(STDERR_FILENO, line, (size_t)n);
	(void)rc;
}

static const char *status_name(grpc_status_code c)
{
	switch (c) {
	case GRPC_STATUS_OK:
		return "OK";
	case GRPC_STATUS_CANCELLED:
		return "CANCELLED";
	case GRPC_STATUS_INVALID_ARGUMENT:
		return "INVALID_ARGUMENT";
	case GRPC_STATUS_DEADLINE_EXCEEDED:
		return "DEADLINE_EXCEEDED";
	case GRPC_STATUS_NOT_FOUND:
		return "NOT_FOUND";
	case GRPC_STATUS_RESOURCE_EXHAUSTED:
		return "RESOURCE_EXHAUSTED";
	case GRPC_STATUS_FAILED_PRECONDITION:
		return "FAILED_PRECONDITION";
	case GRPC_STATUS_UNIMPLEMENTED:
		return "UNIMPLEMENTED";
	case GRPC_STATUS_INTERNAL:
		return "INTERNAL";
	case GRPC_STATUS_UNAVAILABLE:
		return "UNAVAILABLE";
	default:
		return "OTHER";
	}
}

/* ---- call objects ------------------------------------------------------- */

static void tag_init(struct rpc_call *c, struct rpc_tag *t, enum rpc_tag_kind k)
{
	t->call = c;
	t->kind = k;
}

static void call_free(struct rpc_call *c)
{
	if (c->call)
		grpc_call_unref(c->call);
	if (c->payload)
		grpc_byte_buffer_destroy(c->payload);
	if (c->response)
		grpc_byte_buffer_destroy(c->response);
	if (c->method == M_UNKNOWN)
		grpc_call_details_destroy(&c->details);
	grpc_metadata_array_destroy(&c->md);
	codec_mem_destroy(&c->mem);
	if (c->st) {
		while (c->st->head) {
			struct rpc_flight *f = c->st->head;
			c->st->head = f->next;
			free(f);
		}
		if (c->st->out)
			grpc_byte_buffer_destroy(c->st->out);
		arena_destroy(&c->st->failures_mem);
		free(c->st);
	}
	free(c);
}

/** Arms one request for method m on worker w. */
static void call_arm(struct rpc_worker *w, enum rpc_method m)
{
	struct rpc_server *s = w->s;
	if (atomic_load(&s->stopping))
		return;
	struct rpc_call *c = calloc(1, sizeof(*c));
	if (!c) {
		rpc_log("error", "arm", "method=%s err=ENOMEM",
			methods[m].name);
		return;
	}
	c->w = w;
	c->method = m;
	grpc_metadata_array_init(&c->md);
	codec_mem_create(&c->mem, 0);
	tag_init(c, &c->t_new, T_NEW);
	tag_init(c, &c->t_done, T_DONE);
	tag_init(c, &c->t_recv, T_RECV);
	tag_init(c, &c->t_send, T_SEND);
	tag_init(c, &c->t_close, T_CLOSE);
	tag_init(c, &c->t_durable, T_DURABLE);
	grpc_call_error e;
	if (m == M_UNKNOWN) {
		grpc_call_details_init(&c->details);
		e = grpc_server_request_call(s->server, &c->call, &c->details,
					     &c->md, w->cq, w->cq, &c->t_new);
	} else {
		e = grpc_server_request_registered_call(
		    s->server, s->registered[m], &c->call, &c->deadline, &c->md,
		    methods[m].streaming ? NULL : &c->payload, w->cq, w->cq,
		    &c->t_new);
	}
	if (e != GRPC_CALL_OK) {
		rpc_log("error", "arm", "method=%s err=%d", methods[m].name,
			(int)e);
		call_free(c);
	}
}

/* ---- replies ------------------------------------------------------------ */

/** Packs msg into a byte buffer (NULL when out of memory). */
static grpc_byte_buffer *pack(const ProtobufCMessage *msg)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	grpc_slice sl = grpc_slice_malloc(n);
	protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(sl));
	grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&sl, 1);
	grpc_slice_unref(sl);
	return bb;
}

static void log_call(struct rpc_call *c, grpc_status_code code)
{
	if (code == GRPC_STATUS_OK)
		return;
	rpc_log("warn", "call", "method=%s status=%s us=%lld worker=%u",
		methods[c->method].name, status_name(code),
		(long long)elapsed_us(&c->t0), c->w->index);
}

/** Sends the unary reply: msg (may be NULL on error) and status. */
static void reply(struct rpc_call *c, const ProtobufCMessage *msg,
		  grpc_status_code code, const char *details)
{
	grpc_op ops[4];
	memset(ops, 0, sizeof(ops));
	size_t n = 0;
	grpc_slice det = grpc_slice_from_copied_string(details ? details : "");
	ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
	if (msg && code == GRPC_STATUS_OK) {
		c->response = pack(msg);
		ops[n].op = GRPC_OP_SEND_MESSAGE;
		ops[n++].data.send_message.send_message = c->response;
	}
	ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[n].data.send_status_from_server.status = code;
	ops[n++].data.send_status_from_server.status_details = &det;
	ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	ops[n++].data.recv_close_on_server.cancelled = &c->cancelled;
	grpc_call_error e =
	    grpc_call_start_batch(c->call, ops, n, &c->t_done, NULL);
	grpc_slice_unref(det);
	log_call(c, code);
	if (e != GRPC_CALL_OK) {
		rpc_log("error", "batch", "method=%s err=%d",
			methods[c->method].name, (int)e);
		call_free(c);
	}
}

static grpc_status_code engine_status(int rc)
{
	switch (rc) {
	case RECONNU_OK:
		return GRPC_STATUS_OK;
	case RECONNU_EINVAL:
		return GRPC_STATUS_INVALID_ARGUMENT;
	case RECONNU_ENOTFOUND:
		return GRPC_STATUS_NOT_FOUND;
	case RECONNU_ENOMEM:
	case RECONNU_ELIMIT:
		return GRPC_STATUS_RESOURCE_EXHAUSTED;
	case RECONNU_ESTATE:
	case RECONNU_EIO: /* storage failed: fail-stop, nothing more is
			     acknowledged until a restart recovers */
		return GRPC_STATUS_UNAVAILABLE;
	default:
		return GRPC_STATUS_INTERNAL;
	}
}

static grpc_status_code codec_status(int rc)
{
	return rc == CODEC_ELIMIT ? GRPC_STATUS_RESOURCE_EXHAUSTED
				  : GRPC_STATUS_INVALID_ARGUMENT;
}

static int deadline_passed(const struct rpc_call *c)
{
	return gpr_time_cmp(gpr_now(GPR_CLOCK_MONOTONIC),
			    gpr_convert_clock_type(c->deadline,
						   GPR_CLOCK_MONOTONIC)) > 0;
}

/** Copies the payload into one contiguous slice. @retval 0 / -1 */
static int payload_read(grpc_byte_buffer *bb, grpc_slice *out)
{
	grpc_byte_buffer_reader rd;
	if (!bb || !grpc_byte_buffer_reader_init(&rd, bb))
		return -1;
	*out = grpc_byte_buffer_reader_readall(&rd);
	grpc_byte_buffer_reader_destroy(&rd);
	return 0;
}

/** Arena budget for decoding a message of n bytes: protobuf-c can
 *  allocate many times the wire size (pointers, empty strings). */
static size_t decode_budget(size_t n)
{
	return 32 * n + (64 << 10);
}

/* ---- unary handlers ----------------------------------------------------- */

/** Result of a handler: a message to send or a status. Handlers build the
 *  message in the call's arena; engine results are freed by `cleanup`
 *  after packing. `deferred`: the handler queued the call for durability
 *  and the reply comes later. */
struct rpc_result {
	const ProtobufCMessage *msg;
	int deferred;
	grpc_status_code code;
	char details[ERR_LEN];
	void (*cleanup)(void *);
	void *cleanup_arg;
};

static void result_err(struct rpc_result *r, grpc_status_code code,
		       const char *details)
{
	r->code = code;
	snprintf(r->details, sizeof(r->details), "%s", details);
}

static void result_engine(struct rpc_result *r, int rc)
{
	result_err(r, engine_status(rc), reconnu_last_error());
}

static void golden_cleanup(void *p)
{
	reconnu_golden_free(p);
}

static void match_cleanup(void *p)
{
	reconnu_match_free(p);
}

static void explanation_cleanup(void *p)
{
	reconnu_explanation_free(p);
}

static void oom(struct rpc_result *r)
{
	result_err(r, GRPC_STATUS_RESOURCE_EXHAUSTED, "response too large");
}

/** Durable callback of an Upsert, on the log's thread: wakes the owning
 *  worker with an empty batch on the call (reconnu_durable_fn). */
static void upsert_durable(void *ctx, uint64_t lsn, int status)
{
	struct rpc_call *c = ctx;
	(void)lsn;
	c->durable_rc = status;
	if (grpc_call_start_batch(c->call, NULL, 0, &c->t_durable, NULL) !=
	    GRPC_CALL_OK)
		rpc_log("error", "durable_wake", "worker=%u", c->w->index);
}

static void do_upsert(struct rpc_call *c, ProtobufCMessage *in,
		      struct rpc_result *r)
{
	Reconnu__V1__UpsertRequest *req = (Reconnu__V1__UpsertRequest *)in;
	reconnu_record rec;
	int rc = codec_record_from_pb(req->record, "record", &c->mem, &rec,
				      r->details, sizeof(r->details));
	if (rc) {
		r->code = codec_status(rc);
		return;
	}
	reconnu_upsert_result res;
	uint64_t lsn = 0;
	rc = reconnu_upsert_notify(c->w->s->engine, &rec, &res, &lsn,
				   upsert_durable, c);
	Reconnu__V1__UpsertResponse *out =
	    rc ? NULL : codec_alloc(&c->mem, sizeof(*out));
	if (out) {
		codec_upsert_to_pb(&res, out);
		r->msg = &out->base;
	} else if (rc) {
		result_engine(r, rc);
	} else {
		oom(r);
	}
	if (!lsn)
		return;
	/* logged: the callback will come, and the answer waits for it */
	c->answer = r->msg;
	c->answer_code = r->code;
	snprintf(c->answer_details, sizeof(c->answer_details), "%s",
		 r->details);
	atomic_fetch_add(&c->w->s->deferred, 1);
	r->deferred = 1;
}

/** The log's thread woke this Upsert (T_DURABLE): answer it. */
static void durable_reply(struct rpc_call *c)
{
	atomic_fetch_sub(&c->w->s->deferred, 1);
	if (c->durable_rc)
		reply(c, NULL, GRPC_STATUS_UNAVAILABLE,
		      "storage failure: the write is not durable");
	else
		reply(c, c->answer, c->answer_code, c->answer_details);
}

static void do_identify(struct rpc_call *c, ProtobufCMessage *in,
			struct rpc_result *r)
{
	Reconnu__V1__IdentifyRequest *req = (Reconnu__V1__IdentifyRequest *)in;
	reconnu_record rec;
	int rc = codec_record_from_pb(req->record, "record", &c->mem, &rec,
				      r->details, sizeof(r->details));
	if (rc) {
		r->code = codec_status(rc);
		return;
	}
	size_t maxc = req->max_candidates;
	if (maxc > MAX_CANDIDATES)
		maxc = MAX_CANDIDATES;
	reconnu_match *m = NULL;
	rc = reconnu_identify(c->w->s->engine, &rec, maxc, &m);
	if (rc)
		return result_engine(r, rc);
	r->cleanup = match_cleanup;
	r->cleanup_arg = m;
	Reconnu__V1__IdentifyResponse *out = codec_alloc(&c->mem, sizeof(*out));
	if (!out || codec_match_to_pb(m, &c->mem, out))
		return oom(r);
	r->msg = &out->base;
}

static void do_get_entity(struct rpc_call *c, ProtobufCMessage *in,
			  struct rpc_result *r)
{
	Reconnu__V1__GetEntityRequest *req =
	    (Reconnu__V1__GetEntityRequest *)in;
	reconnu_golden *g = NULL;
	int rc;
	switch (req->selector_case) {
	case RECONNU__V1__GET_ENTITY_REQUEST__SELECTOR_ENTITY_ID:
		if (!req->entity_id)
			return result_err(r, GRPC_STATUS_INVALID_ARGUMENT,
					  "entity_id: must not be 0");
		rc = reconnu_get_entity(c->w->s->engine, req->entity_id, &g);
		break;
	case RECONNU__V1__GET_ENTITY_REQUEST__SELECTOR_RECORD_KEY:
		rc = codec_key_check(req->record_key, "record_key", r->details,
				     sizeof(r->details));
		if (rc) {
			r->code = GRPC_STATUS_INVALID_ARGUMENT;
			return;
		}
		rc = reconnu_get_entity_by_key(c->w->s->engine,
					       req->record_key->source,
					       req->record_key->source_id, &g);
		break;
	default:
		return result_err(r, GRPC_STATUS_INVALID_ARGUMENT,
				  "selector: entity_id or record_key required");
	}
	if (rc)
		return result_engine(r, rc);
	r->cleanup = golden_cleanup;
	r->cleanup_arg = g;
	Reconnu__V1__GetEntityResponse *out =
	    codec_alloc(&c->mem, sizeof(*out));
	if (!out)
		return oom(r);
	reconnu__v1__get_entity_response__init(out);
	if (!(out->entity = codec_golden_to_pb(g, &c->mem)))
		return oom(r);
	r->msg = &out->base;
}

static void do_delete(struct rpc_call *c, ProtobufCMessage *in,
		      struct rpc_result *r)
{
	Reconnu__V1__DeleteRequest *req = (Reconnu__V1__DeleteRequest *)in;
	if (codec_key_check(req->key, "key", r->details, sizeof(r->details))) {
		r->code = GRPC_STATUS_INVALID_ARGUMENT;
		return;
	}
	reconnu_upsert_result res;
	int rc = reconnu_delete(c->w->s->engine, req->key->source,
				req->key->source_id, &res);
	if (rc)
		return result_engine(r, rc);
	Reconnu__V1__DeleteResponse *out = codec_alloc(&c->mem, sizeof(*out));
	if (!out)
		return oom(r);
	reconnu__v1__delete_response__init(out);
	out->entity_id = res.entity_id;
	out->entity_version = res.entity_version;
	out->split = res.n_split;
	r->msg = &out->base;
}

static void do_explain(struct rpc_call *c, ProtobufCMessage *in,
		       struct rpc_result *r)
{
	Reconnu__V1__ExplainRequest *req = (Reconnu__V1__ExplainRequest *)in;
	reconnu_record a, b;
	reconnu_explanation *e = NULL;
	int rc = codec_record_from_pb(req->left, "left", &c->mem, &a,
				      r->details, sizeof(r->details));
	if (rc) {
		r->code = codec_status(rc);
		return;
	}
	switch (req->right_case) {
	case RECONNU__V1__EXPLAIN_REQUEST__RIGHT_RIGHT_RECORD:
		rc = codec_record_from_pb(req->right_record, "right_record",
					  &c->mem, &b, r->details,
					  sizeof(r->details));
		if (rc) {
			r->code = codec_status(rc);
			return;
		}
		rc = reconnu_explain_records(c->w->s->engine, &a, &b, &e);
		break;
	case RECONNU__V1__EXPLAIN_REQUEST__RIGHT_ENTITY_ID:
		if (!req->entity_id)
			return result_err(r, GRPC_STATUS_INVALID_ARGUMENT,
					  "entity_id: must not be 0");
		rc = reconnu_explain_entity(c->w->s->engine, &a, req->entity_id,
					    &e);
		break;
	default:
		return result_err(r, GRPC_STATUS_INVALID_ARGUMENT,
				  "right: right_record or entity_id required");
	}
	if (rc)
		return result_engine(r, rc);
	r->cleanup = explanation_cleanup;
	r->cleanup_arg = e;
	Reconnu__V1__ExplainResponse *out = codec_alloc(&c->mem, sizeof(*out));
	if (!out)
		return oom(r);
	reconnu__v1__explain_response__init(out);
	if (!(out->explanation = codec_explanation_to_pb(e, &c->mem)))
		return oom(r);
	r->msg = &out->base;
}

static void do_stats(struct rpc_call *c, ProtobufCMessage *in,
		     struct rpc_result *r)
{
	(void)in;
	struct rpc_server *s = c->w->s;
	reconnu_stats st;
	int rc = reconnu_get_stats(s->engine, &st);
	if (rc)
		return result_engine(r, rc);
	Reconnu__V1__StatsResponse *out = codec_alloc(&c->mem, sizeof(*out));
	if (!out)
		return oom(r);
	codec_stats_to_pb(&st, out);
	out->uptime_ms = (uint64_t)(elapsed_us(&s->started) / 1000);
	out->threads = s->n_workers;
	out->snapshot_lsn = s->recovery.snapshot_lsn;
	out->replayed = s->recovery.replayed;
	out->recovery_seconds = s->recovery.seconds;
	out->last_snapshot_lsn = atomic_load(&s->last_snapshot_lsn);
	r->msg = &out->base;
}

/* Runs on the call's CQ thread: the engine holds writers (not readers)
 * while it writes, and the other CQ threads keep answering reads. */
static void do_snapshot(struct rpc_call *c, ProtobufCMessage *in,
			struct rpc_result *r)
{
	(void)in;
	struct rpc_server *s = c->w->s;
	if (s->in_memory)
		return result_err(r, GRPC_STATUS_FAILED_PRECONDITION,
				  "the server runs --in-memory: no data "
				  "directory to snapshot to");
	reconnu_snapshot_info info;
	char err[ERR_LEN];
	int rc = rpc_server_snapshot(s, "rpc", &info, err, sizeof(err));
	if (rc) {
		r->code = rc == RECONNU_EIO || rc == RECONNU_ESTATE
			      ? GRPC_STATUS_UNAVAILABLE
			      : GRPC_STATUS_INTERNAL;
		snprintf(r->details, sizeof(r->details), "%s", err);
		return;
	}
	Reconnu__V1__SnapshotResponse *out =
	    codec_alloc(&c->mem, sizeof(*out));
	if (!out)
		return oom(r);
	reconnu__v1__snapshot_response__init(out);
	out->lsn = info.lsn;
	out->records = info.records;
	out->entities = info.entities;
	out->bytes = info.bytes;
	out->seconds = info.seconds;
	out->write_pause_seconds = info.write_pause;
	out->wal_segments_removed = info.wal_segments_removed;
	r->msg = &out->base;
}

/* ---- match weights ---------------------------------------------------- */

/* The model in force into a WeightsResponse (strings are static). */
static Reconnu__V1__WeightsResponse *weights_out(struct rpc_call *c)
{
	reconnu_weight w[64];
	size_t n = 0;
	double prior = 0;
	uint64_t version = 0;
	reconnu_get_weights(c->w->s->engine, w, 64, &n, &prior, &version);
	if (n > 64)
		n = 64;
	Reconnu__V1__WeightsResponse *out = codec_alloc(&c->mem, sizeof(*out));
	Reconnu__V1__Weight **arr =
	    codec_alloc(&c->mem, (n ? n : 1) * sizeof(*arr));
	Reconnu__V1__Weight *items =
	    codec_alloc(&c->mem, (n ? n : 1) * sizeof(*items));
	if (!out || !arr || !items)
		return NULL;
	reconnu__v1__weights_response__init(out);
	out->model_version = version;
	out->prior_weight = prior;
	for (size_t i = 0; i < n; i++) {
		reconnu__v1__weight__init(&items[i]);
		items[i].attribute = (char *)w[i].attribute;
		items[i].level = (char *)w[i].level;
		items[i].weight = w[i].weight;
		arr[i] = &items[i];
	}
	out->n_weights = n;
	out->weights = arr;
	return out;
}

/* Engine errors of the weight calls: as everywhere, except that
 * RECONNU_ESTATE here means too few records to estimate — a precondition
 * the caller can meet, not a server that is starting. */
static void weights_err(struct rpc_result *r, int rc)
{
	result_err(r,
		   rc == RECONNU_ESTATE ? GRPC_STATUS_FAILED_PRECONDITION
					: engine_status(rc),
		   reconnu_last_error());
}

static void do_estimate_weights(struct rpc_call *c, ProtobufCMessage *in,
				struct rpc_result *r)
{
	Reconnu__V1__EstimateWeightsRequest *req =
	    (Reconnu__V1__EstimateWeightsRequest *)in;
	reconnu_estimate_opts o = {.sample_records = req->sample_records,
				   .random_pairs = req->random_pairs,
				   .seed = req->seed,
				   .relink = req->relink,
				   .dry_run = req->dry_run};
	if (req->sample_records > 10000000 || req->random_pairs > 100000000)
		return result_err(r, GRPC_STATUS_INVALID_ARGUMENT,
				  "sample_records (at most 10,000,000) or "
				  "random_pairs (at most 100,000,000) too "
				  "large");
	reconnu_weights_report rep;
	int rc = reconnu_estimate_weights(c->w->s->engine, &o, &rep);
	if (rc)
		return weights_err(r, rc);
	rpc_log("info", "weights",
		"estimated version=%llu prior=%.3f blocked_pairs=%llu "
		"random_pairs=%llu relinked=%llu seconds=%.3f dry_run=%d",
		(unsigned long long)rep.model_version, rep.prior_weight,
		(unsigned long long)rep.blocked_pairs,
		(unsigned long long)rep.random_pairs,
		(unsigned long long)rep.relinked, rep.seconds, o.dry_run);
	Reconnu__V1__WeightsResponse *out = weights_out(c);
	Reconnu__V1__EstimateReport *er = codec_alloc(&c->mem, sizeof(*er));
	if (!out || !er)
		return oom(r);
	reconnu__v1__estimate_report__init(er);
	er->match_share = rep.match_share;
	er->expected_matches = rep.expected_matches;
	er->blocked_pairs = rep.blocked_pairs;
	er->random_pairs = rep.random_pairs;
	er->iterations = (uint32_t)rep.iterations;
	er->converged = rep.converged;
	er->relinked = rep.relinked;
	er->entities_before = rep.entities_before;
	er->entities_after = rep.entities_after;
	er->seconds = rep.seconds;
	er->dry_run = o.dry_run;
	if (o.dry_run)
		out->prior_weight = rep.prior_weight;
	out->estimate = er;
	r->msg = &out->base;
}

static void do_get_weights(struct rpc_call *c, ProtobufCMessage *in,
			   struct rpc_result *r)
{
	(void)in;
	Reconnu__V1__WeightsResponse *out = weights_out(c);
	if (!out)
		return oom(r);
	r->msg = &out->base;
}

static void do_set_weights(struct rpc_call *c, ProtobufCMessage *in,
			   struct rpc_result *r)
{
	Reconnu__V1__SetWeightsRequest *req =
	    (Reconnu__V1__SetWeightsRequest *)in;
	if (req->n_weights > 64)
		return result_err(r, GRPC_STATUS_INVALID_ARGUMENT,
				  "weights: at most 64");
	reconnu_weight w[64];
	for (size_t i = 0; i < req->n_weights; i++)
		w[i] = (reconnu_weight){req->weights[i]->attribute,
					req->weights[i]->level,
					req->weights[i]->weight};
	int rc = reconnu_set_weights(c->w->s->engine, w, req->n_weights,
				     req->set_prior ? &req->prior_weight : NULL,
				     req->reset, NULL);
	if (rc)
		return weights_err(r, rc);
	Reconnu__V1__WeightsResponse *out = weights_out(c);
	if (!out)
		return oom(r);
	rpc_log("info", "weights", "configured version=%llu n=%zu reset=%d",
		(unsigned long long)out->model_version, req->n_weights,
		req->reset);
	r->msg = &out->base;
}

static void do_health(struct rpc_call *c, ProtobufCMessage *in,
		      struct rpc_result *r)
{
	Grpc__Health__V1__HealthCheckRequest *req =
	    (Grpc__Health__V1__HealthCheckRequest *)in;
	if (req->service[0] && strcmp(req->service, "reconnu.v1.Reconnu"))
		return result_err(r, GRPC_STATUS_NOT_FOUND, "unknown service");
	Grpc__Health__V1__HealthCheckResponse *out =
	    codec_alloc(&c->mem, sizeof(*out));
	if (!out)
		return oom(r);
	grpc__health__v1__health_check_response__init(out);
	out->status =
	    atomic_load(&c->w->s->ready) && !atomic_load(&c->w->s->stopping) &&
		    !reconnu_failed(c->w->s->engine)
		? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
		: GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
	r->msg = &out->base;
}

typedef void (*unary_fn)(struct rpc_call *, ProtobufCMessage *,
			 struct rpc_result *);

static const struct {
	const ProtobufCMessageDescriptor *in;
	unary_fn fn;
} unary[M_COUNT] = {
    [M_UPSERT] = {&reconnu__v1__upsert_request__descriptor, do_upsert},
    [M_IDENTIFY] = {&reconnu__v1__identify_request__descriptor, do_identify},
    [M_GET_ENTITY] = {&reconnu__v1__get_entity_request__descriptor,
		      do_get_entity},
    [M_DELETE] = {&reconnu__v1__delete_request__descriptor, do_delete},
    [M_EXPLAIN] = {&reconnu__v1__explain_request__descriptor, do_explain},
    [M_STATS] = {&reconnu__v1__stats_request__descriptor, do_stats},
    [M_SNAPSHOT] = {&reconnu__v1__snapshot_request__descriptor, do_snapshot},
    [M_ESTIMATE_WEIGHTS] = {&reconnu__v1__estimate_weights_request__descriptor,
			    do_estimate_weights},
    [M_GET_WEIGHTS] = {&reconnu__v1__get_weights_request__descriptor,
		       do_get_weights},
    [M_SET_WEIGHTS] = {&reconnu__v1__set_weights_request__descriptor,
		       do_set_weights},
    [M_HEALTH] = {&grpc__health__v1__health_check_request__descriptor,
		  do_health},
};

static void unary_run(struct rpc_call *c)
{
	struct rpc_result r = {.code = GRPC_STATUS_OK};
	struct rpc_server *s = c->w->s;
	grpc_slice in;
	if (c->method != M_HEALTH && !atomic_load(&s->ready)) {
		result_err(&r, GRPC_STATUS_UNAVAILABLE, "server is starting");
	} else if (deadline_passed(c)) {
		result_err(&r, GRPC_STATUS_DEADLINE_EXCEEDED,
			   "deadline passed before the call started");
	} else if (payload_read(c->payload, &in)) {
		result_err(&r, GRPC_STATUS_INVALID_ARGUMENT,
			   "missing or unreadable request message");
	} else {
		size_t n = GRPC_SLICE_LENGTH(in);
		ProtobufCMessage *msg;
		c->mem.budget = c->mem.arena.total + decode_budget(n);
		int rc = codec_decode(unary[c->method].in,
				      GRPC_SLICE_START_PTR(in), n, &c->mem,
				      &msg, r.details, sizeof(r.details));
		grpc_slice_unref(in);
		c->mem.budget = SIZE_MAX;
		if (rc)
			r.code = codec_status(rc);
		else
			unary[c->method].fn(c, msg, &r);
	}
	if (!r.deferred)
		reply(c, r.msg, r.code, r.details);
	if (r.cleanup)
		r.cleanup(r.cleanup_arg);
}

/* ---- UpsertStream ------------------------------------------------------- */

static void stream_send(struct rpc_call *c,
			const Reconnu__V1__UpsertProgress *ack);

static void stream_fail(struct rpc_call *c, uint64_t index, uint64_t seq,
			const char *source_id, grpc_status_code code,
			const char *msg)
{
	struct rpc_stream *st = c->st;
	st->failed++;
	if (st->n_failures >= MAX_FAILURES) {
		st->truncated = 1;
		return;
	}
	if (!st->failures) {
		st->failures = arena_alloc(&st->failures_mem,
					   MAX_FAILURES * sizeof(void *));
		if (!st->failures)
			return;
	}
	Reconnu__V1__RecordFailure *f =
	    arena_alloc(&st->failures_mem, sizeof(*f));
	if (!f)
		return;
	reconnu__v1__record_failure__init(f);
	f->index = index;
	f->sequence = seq;
	f->source_id = arena_strdup(&st->failures_mem, source_id);
	f->code = (int32_t)code;
	f->message = arena_strdup(&st->failures_mem, msg);
	if (!f->source_id || !f->message)
		return;
	st->failures[st->n_failures++] = f;
}

static Reconnu__V1__UpsertProgress progress_of(const struct rpc_stream *st)
{
	Reconnu__V1__UpsertProgress p;
	reconnu__v1__upsert_progress__init(&p);
	p.received = st->received;
	p.accepted = st->accepted;
	p.failed = st->failed;
	p.last_sequence = st->last_sequence;
	return p;
}

/** Durable callback of a stream batch, on the log's thread: wakes the
 *  owning worker with an empty batch on the call (reconnu_durable_fn). */
static void stream_durable(void *ctx, uint64_t lsn, int status)
{
	struct rpc_flight *f = ctx;
	struct rpc_call *c = f->tag.call;
	(void)lsn;
	f->status = status;
	if (grpc_call_start_batch(c->call, NULL, 0, &f->tag, NULL) !=
	    GRPC_CALL_OK)
		rpc_log("error", "durable_wake", "worker=%u", c->w->index);
}

/** Ends the stream at once (fail-stop or out of memory): nothing more is
 *  applied or acknowledged. */
static void stream_abort(struct rpc_call *c, grpc_status_code code,
			 const char *why)
{
	struct rpc_stream *st = c->st;
	if (st->dead)
		return;
	rpc_log("error", "stream_abort", "worker=%u received=%llu status=%s",
		c->w->index, (unsigned long long)st->received,
		status_name(code));
	st->dead = 1;
	grpc_call_cancel_with_status(c->call, code, why, NULL);
}

_Static_assert(STREAM_BATCH <= RECONNU_BATCH_MAX, "one engine batch");

/** Applies the records waiting in the stream's batch (in order, one
 *  engine call), counts them, frees their decoded messages, and queues
 *  the batch, with an ack when `ack`, until it is durable: the worker
 *  goes on reading while the log syncs. A storage failure ends the
 *  stream (fail-stop: no later ack may count its records). */
static void stream_flush(struct rpc_call *c, int ack)
{
	struct rpc_stream *st = c->st;
	if (!st->n_batch && !ack)
		return;
	struct rpc_flight *f = calloc(1, sizeof(*f));
	if (!f) {
		stream_abort(c, GRPC_STATUS_RESOURCE_EXHAUSTED,
			     "out of memory");
		st->n_batch = 0;
		codec_mem_destroy(&c->mem);
		return;
	}
	tag_init(c, &f->tag, T_FLIGHT);
	f->ack = ack;
	uint64_t lsn = 0;
	int rc = 0;
	if (st->n_batch) {
		rc = reconnu_upsert_batch_notify(c->w->s->engine, st->batch,
						 st->n_batch, &lsn,
						 stream_durable, f);
		for (size_t i = 0; i < st->n_batch; i++) {
			const reconnu_batch_item *it = &st->batch[i];
			const struct rpc_stream_pending *p = &st->pend[i];
			if (it->rc == 0)
				st->accepted++;
			else
				stream_fail(c, p->index, p->seq, p->source_id,
					    engine_status(it->rc), it->error);
		}
		st->n_batch = 0;
		codec_mem_destroy(&c->mem);
	}
	f->progress = progress_of(st);
	if (lsn) { /* the callback will come: keep the call until then */
		c->pending++;
		atomic_fetch_add(&c->w->s->deferred, 1);
	} else {
		f->durable = 1;
	}
	if (rc)
		stream_abort(c, GRPC_STATUS_UNAVAILABLE,
			     "storage failure (fail-stop): not durable");
	if (!lsn && (rc || !ack)) {
		free(f);
		return;
	}
	if (st->tail)
		st->tail->next = f;
	else
		st->head = f;
	st->tail = f;
}

/** Decodes one received message into the stream's batch (a message that
 *  cannot be decoded is a failure at once, after the batch before it). */
static void stream_handle(struct rpc_call *c)
{
	struct rpc_stream *st = c->st;
	uint64_t index = st->received++;
	uint64_t seq = index + 1;
	char err[ERR_LEN] = "";
	const char *source_id = "";
	reconnu_record rec;
	grpc_status_code code = GRPC_STATUS_OK;
	grpc_slice in;
	if (payload_read(c->payload, &in)) {
		code = GRPC_STATUS_INTERNAL;
		snprintf(err, sizeof(err), "cannot read message");
	} else {
		size_t n = GRPC_SLICE_LENGTH(in);
		ProtobufCMessage *msg;
		c->mem.budget = decode_budget(n);
		int rc = codec_decode(
		    &reconnu__v1__upsert_stream_request__descriptor,
		    GRPC_SLICE_START_PTR(in), n, &c->mem, &msg, err,
		    sizeof(err));
		grpc_slice_unref(in);
		if (rc) {
			code = codec_status(rc);
		} else {
			Reconnu__V1__UpsertStreamRequest *req =
			    (Reconnu__V1__UpsertStreamRequest *)msg;
			if (req->sequence)
				seq = req->sequence;
			if (index == 0 && req->ack_every)
				st->ack_every = req->ack_every;
			if (req->record)
				source_id = req->record->source_id;
			rc =
			    codec_record_from_pb(req->record, "record", &c->mem,
						 &rec, err, sizeof(err));
			if (rc)
				code = codec_status(rc);
		}
	}
	st->last_sequence = seq;
	if (code == GRPC_STATUS_OK) {
		size_t k = st->n_batch++;
		st->recs[k] = rec;
		st->batch[k].rec = &st->recs[k];
		st->pend[k] =
		    (struct rpc_stream_pending){index, seq, source_id};
		int due = st->received % st->ack_every == 0;
		if (st->n_batch == STREAM_BATCH || due)
			stream_flush(c, due);
	} else {
		char *sid = NULL;
		if (st->n_batch) { /* source_id lives in the batch's memory */
			sid = strdup(source_id);
			source_id = sid ? sid : "";
			stream_flush(c, 0);
		}
		stream_fail(c, index, seq, source_id, code, err);
		free(sid);
		if (st->received % st->ack_every == 0)
			stream_flush(c, 1);
	}
	if (!st->n_batch)
		codec_mem_destroy(&c->mem);
	grpc_byte_buffer_destroy(c->payload);
	c->payload = NULL;
}

static void stream_start(struct rpc_call *c, grpc_op *ops, size_t n,
			 struct rpc_tag *t)
{
	if (grpc_call_start_batch(c->call, ops, n, t, NULL) == GRPC_CALL_OK) {
		c->pending++;
		return;
	}
	rpc_log("error", "batch", "method=UpsertStream kind=%d", (int)t->kind);
	c->st->dead = 1;
	grpc_call_cancel(c->call, NULL);
}

static void stream_recv(struct rpc_call *c)
{
	grpc_op op;
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_MESSAGE;
	op.data.recv_message.recv_message = &c->payload;
	stream_start(c, &op, 1, &c->t_recv);
}

/** Sends the progress ack `ack` (what it counts is durable), or (ack
 *  NULL) the summary with the OK status, once every batch is durable. */
static void stream_send(struct rpc_call *c,
			const Reconnu__V1__UpsertProgress *ack)
{
	struct rpc_stream *st = c->st;
	int final = !ack;
	Reconnu__V1__UpsertStreamResponse resp;
	Reconnu__V1__UpsertProgress p = final ? progress_of(st) : *ack;
	Reconnu__V1__UpsertSummary sum;
	reconnu__v1__upsert_stream_response__init(&resp);
	if (final) {
		reconnu__v1__upsert_summary__init(&sum);
		sum.totals = &p;
		sum.failures = st->failures;
		sum.n_failures = st->n_failures;
		sum.failures_truncated = st->truncated;
		sum.elapsed_ms = (uint64_t)(elapsed_us(&st->started) / 1000);
		resp.kind_case =
		    RECONNU__V1__UPSERT_STREAM_RESPONSE__KIND_SUMMARY;
		resp.summary = &sum;
	} else {
		resp.kind_case =
		    RECONNU__V1__UPSERT_STREAM_RESPONSE__KIND_PROGRESS;
		resp.progress = &p;
	}
	if (st->out)
		grpc_byte_buffer_destroy(st->out);
	st->out = pack(&resp.base);
	grpc_op ops[2];
	memset(ops, 0, sizeof(ops));
	grpc_slice det = grpc_empty_slice();
	ops[0].op = GRPC_OP_SEND_MESSAGE;
	ops[0].data.send_message.send_message = st->out;
	ops[1].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[1].data.send_status_from_server.status = GRPC_STATUS_OK;
	ops[1].data.send_status_from_server.status_details = &det;
	st->sending = 1;
	if (final) {
		st->final_sent = 1;
		rpc_log("info", "stream_end",
			"received=%llu accepted=%llu failed=%llu ms=%lld "
			"worker=%u",
			(unsigned long long)st->received,
			(unsigned long long)st->accepted,
			(unsigned long long)st->failed,
			(long long)(elapsed_us(&st->started) / 1000),
			c->w->index);
	}
	stream_start(c, ops, final ? 2 : 1, &c->t_send);
}

static void stream_begin(struct rpc_call *c)
{
	struct rpc_server *s = c->w->s;
	if (!atomic_load(&s->ready)) {
		reply(c, NULL, GRPC_STATUS_UNAVAILABLE, "server is starting");
		return;
	}
	c->st = calloc(1, sizeof(*c->st));
	if (!c->st) {
		reply(c, NULL, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	arena_create(&c->st->failures_mem);
	c->st->ack_every = DEFAULT_ACK_EVERY;
	clock_gettime(CLOCK_MONOTONIC, &c->st->started);

	grpc_op op;
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	op.data.recv_close_on_server.cancelled = &c->cancelled;
	stream_start(c, &op, 1, &c->t_close);
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_SEND_INITIAL_METADATA;
	stream_start(c, &op, 1, &c->t_send);
	c->st->sending = 1;
	if (!c->st->dead)
		stream_recv(c);
	if (c->pending == 0)
		call_free(c);
}

/** Sends what has become durable, in stream order: the acks of the
 *  batches at the head of the flight queue, one send at a time, then,
 *  once the client half-closed and every batch is durable, the summary. */
static void stream_pump(struct rpc_call *c)
{
	struct rpc_stream *st = c->st;
	while (!st->dead && !st->sending && st->head && st->head->durable) {
		struct rpc_flight *f = st->head;
		st->head = f->next;
		if (!st->head)
			st->tail = NULL;
		if (f->ack)
			stream_send(c, &f->progress);
		free(f);
	}
	if (!st->dead && !st->sending && !st->final_sent && st->half_closed &&
	    !st->head)
		stream_send(c, NULL);
}

/** Next step of a stream after batch t completed with `ok`. */
static void stream_step(struct rpc_call *c, struct rpc_tag *t, int ok)
{
	struct rpc_stream *st = c->st;
	enum rpc_tag_kind kind = t->kind;
	c->pending--;
	switch (kind) {
	case T_FLIGHT: {
		/* the tag is the flight's first member */
		struct rpc_flight *f = (struct rpc_flight *)t;
		f->durable = 1;
		atomic_fetch_sub(&c->w->s->deferred, 1);
		if (f->status)
			stream_abort(c, GRPC_STATUS_UNAVAILABLE,
				     "storage failure: not durable");
		break;
	}
	case T_CLOSE:
		if (c->cancelled && !st->final_sent) {
			st->dead = 1;
			rpc_log("info", "stream_cancelled",
				"received=%llu accepted=%llu worker=%u",
				(unsigned long long)st->received,
				(unsigned long long)st->accepted, c->w->index);
		}
		break;
	case T_RECV:
		if (!ok) {
			st->dead = 1;
			grpc_call_cancel(c->call, NULL);
			break;
		}
		if (!c->payload) {
			st->half_closed = 1;
			stream_flush(c, 0);
			break;
		}
		stream_handle(c);
		if (!st->dead)
			stream_recv(c);
		break;
	case T_SEND:
		st->sending = 0;
		if (!ok)
			st->dead = 1;
		break;
	default:
		break;
	}
	stream_pump(c);
	if (c->pending == 0)
		call_free(c);
}

/* ---- worker loop -------------------------------------------------------- */

static void on_new(struct rpc_call *c, int ok)
{
	if (!ok) { /* server shutting down: the request was never matched */
		call_free(c);
		return;
	}
	call_arm(c->w, c->method);
	clock_gettime(CLOCK_MONOTONIC, &c->t0);
	if (c->method == M_UNKNOWN) {
		c->deadline = c->details.deadline;
		reply(c, NULL, GRPC_STATUS_UNIMPLEMENTED, "unknown method");
	} else if (methods[c->method].streaming) {
		stream_begin(c);
	} else {
		unary_run(c);
	}
}

static void *worker_main(void *arg)
{
	struct rpc_worker *w = arg;
	for (enum rpc_method m = 0; m < M_COUNT; m++)
		call_arm(w, m);
	for (;;) {
		grpc_event ev = grpc_completion_queue_next(
		    w->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.type != GRPC_OP_COMPLETE)
			continue;
		struct rpc_tag *t = ev.tag;
		struct rpc_call *c = t->call;
		switch (t->kind) {
		case T_NEW:
			on_new(c, ev.success);
			break;
		case T_DONE:
			call_free(c);
			break;
		case T_DURABLE:
			durable_reply(c);
			break;
		default:
			if (c->st)
				stream_step(c, t, ev.success);
			break;
		}
	}
	return NULL;
}

/* ---- lifecycle ---------------------------------------------------------- */

void rpc_server_attach(struct rpc_server *s, reconnu *engine,
		       const reconnu_recovery *recovery)
{
	if (recovery)
		s->recovery = *recovery;
	reconnu_stats st0 = {0};
	reconnu_get_stats(engine, &st0);
	s->snap_base = st0.upserts + st0.deletes;
	s->snap_replayed = s->recovery.replayed;
	s->engine = engine; /* published to the workers by set_ready */
}

struct rpc_server *rpc_server_start(reconnu *engine,
				    const struct rpc_options *o)
{
	struct rpc_server *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->n_workers = o->threads ? o->threads : 1;
	s->max_message_bytes = o->max_message_bytes;
	s->grace_ms = o->grace_ms;
	s->in_memory = o->in_memory;
	if (engine)
		rpc_server_attach(s, engine, o->recovery);
	pthread_mutex_init(&s->snap_mu, NULL);
	clock_gettime(CLOCK_MONOTONIC, &s->started);
	s->workers = calloc(s->n_workers, sizeof(*s->workers));
	if (!s->workers) {
		free(s);
		return NULL;
	}

	grpc_arg args[2];
	args[0].type = GRPC_ARG_INTEGER;
	args[0].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
	args[0].value.integer = (int)o->max_message_bytes;
	args[1].type = GRPC_ARG_INTEGER;
	args[1].key = (char *)GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
	args[1].value.integer = -1;
	grpc_channel_args ch = {2, args};
	s->server = grpc_server_create(&ch, NULL);
	for (enum rpc_method m = 0; m < M_UNKNOWN; m++)
		s->registered[m] = grpc_server_register_method(
		    s->server, methods[m].path, NULL,
		    methods[m].streaming
			? GRPC_SRM_PAYLOAD_NONE
			: GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER,
		    0);
	/* The shutdown queue is only ever waited on at shutdown: it must not
	 * own a pollset, or the server hands it accepted connections in turn
	 * with the workers' queues, and under a poller that polls each
	 * pollset on its own ("poll") nobody would read those connections. */
	grpc_completion_queue_attributes qa = {
	    .version = 1,
	    .cq_completion_type = GRPC_CQ_NEXT,
	    .cq_polling_type = GRPC_CQ_NON_POLLING};
	s->shutdown_cq = grpc_completion_queue_create(
	    grpc_completion_queue_factory_lookup(&qa), &qa, NULL);
	grpc_server_register_completion_queue(s->server, s->shutdown_cq, NULL);
	for (unsigned i = 0; i < s->n_workers; i++) {
		s->workers[i].s = s;
		s->workers[i].index = i;
		s->workers[i].cq = grpc_completion_queue_create_for_next(NULL);
		grpc_server_register_completion_queue(s->server,
						      s->workers[i].cq, NULL);
	}
	grpc_server_credentials *creds =
	    grpc_insecure_server_credentials_create();
	s->port = grpc_server_add_http2_port(s->server, o->listen, creds);
	grpc_server_credentials_release(creds);
	if (s->port == 0) {
		rpc_log("error", "bind", "listen=%s", o->listen);
		grpc_server_destroy(s->server);
		grpc_completion_queue_destroy(s->shutdown_cq);
		for (unsigned i = 0; i < s->n_workers; i++)
			grpc_completion_queue_destroy(s->workers[i].cq);
		free(s->workers);
		pthread_mutex_destroy(&s->snap_mu);
		free(s);
		return NULL;
	}
	grpc_server_start(s->server);
	for (unsigned i = 0; i < s->n_workers; i++)
		pthread_create(&s->workers[i].thread, NULL, worker_main,
			       &s->workers[i]);
	return s;
}

int rpc_server_port(const struct rpc_server *s)
{
	return s->port;
}

void rpc_server_set_ready(struct rpc_server *s, int ready)
{
	atomic_store(&s->ready, ready);
}

void rpc_server_stop(struct rpc_server *s)
{
	if (s->stopped)
		return;
	atomic_store(&s->stopping, 1);
	int tag;
	grpc_server_shutdown_and_notify(s->server, s->shutdown_cq, &tag);
	grpc_event ev = grpc_completion_queue_next(
	    s->shutdown_cq,
	    gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
			 gpr_time_from_millis(s->grace_ms, GPR_TIMESPAN)),
	    NULL);
	if (ev.type == GRPC_QUEUE_TIMEOUT) {
		rpc_log("warn", "shutdown", "cancelling=in_flight grace_ms=%u",
			s->grace_ms);
		grpc_server_cancel_all_calls(s->server);
		grpc_completion_queue_next(
		    s->shutdown_cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
	}
	/* parked Upserts are answered from the log's thread through the
	 * workers' queues: keep the queues until the last one came back */
	while (atomic_load(&s->deferred))
		usleep(1000);
	for (unsigned i = 0; i < s->n_workers; i++)
		grpc_completion_queue_shutdown(s->workers[i].cq);
	for (unsigned i = 0; i < s->n_workers; i++)
		pthread_join(s->workers[i].thread, NULL);
	grpc_completion_queue_shutdown(s->shutdown_cq);
	while (grpc_completion_queue_next(
		   s->shutdown_cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL)
		   .type != GRPC_QUEUE_SHUTDOWN)
		;
	s->stopped = 1;
}

void rpc_server_delete(struct rpc_server *s)
{
	if (!s)
		return;
	rpc_server_stop(s);
	grpc_server_destroy(s->server);
	for (unsigned i = 0; i < s->n_workers; i++)
		grpc_completion_queue_destroy(s->workers[i].cq);
	grpc_completion_queue_destroy(s->shutdown_cq);
	pthread_mutex_destroy(&s->snap_mu);
	free(s->workers);
	free(s);
}

uint64_t rpc_server_writes_since_snapshot(struct rpc_server *s)
{
	reconnu_stats st = {0};
	pthread_mutex_lock(&s->snap_mu);
	reconnu_get_stats(s->engine, &st);
	uint64_t now = st.upserts + st.deletes;
	uint64_t n = s->snap_replayed + (now > s->snap_base ? now - s->snap_base : 0);
	pthread_mutex_unlock(&s->snap_mu);
	return n;
}

int rpc_server_snapshot(struct rpc_server *s, const char *reason,
			reconnu_snapshot_info *info, char *err, size_t errlen)
{
	if (s->in_memory) {
		snprintf(err, errlen, "the server runs --in-memory");
		return RECONNU_ESTATE;
	}
	pthread_mutex_lock(&s->snap_mu);
	if (reconnu_failed(s->engine)) {
		pthread_mutex_unlock(&s->snap_mu);
		snprintf(err, errlen, "storage failed earlier (fail-stop): "
				      "no snapshot");
		rpc_log("error", "snapshot", "reason=%s error=\"%s\"", reason,
			err);
		return RECONNU_EIO;
	}
	/* counters read before: a write racing the snapshot is counted as
	 * still pending, never lost from the count */
	reconnu_stats st = {0};
	reconnu_get_stats(s->engine, &st);
	int rc = reconnu_snapshot(s->engine, info);
	if (rc) {
		snprintf(err, errlen, "snapshot not written: %s",
			 reconnu_last_error());
		pthread_mutex_unlock(&s->snap_mu);
		rpc_log("error", "snapshot", "reason=%s error=\"%s\"", reason,
			err);
		return rc;
	}
	s->snap_base = st.upserts + st.deletes;
	s->snap_replayed = 0;
	atomic_store(&s->last_snapshot_lsn, info->lsn);
	pthread_mutex_unlock(&s->snap_mu);
	rpc_log("info", "snapshot",
		"reason=%s lsn=%llu records=%llu entities=%llu bytes=%llu "
		"seconds=%.3f write_pause=%.3f wal_segments_removed=%llu",
		reason, (unsigned long long)info->lsn,
		(unsigned long long)info->records,
		(unsigned long long)info->entities,
		(unsigned long long)info->bytes, info->seconds,
		info->write_pause,
		(unsigned long long)info->wal_segments_removed);
	return 0;
}

int rpc_server_failed(struct rpc_server *s)
{
	return s->engine ? reconnu_failed(s->engine) : 0;
}
