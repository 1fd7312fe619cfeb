/*
 * loadgen.c — see loadgen.h.
 *
 * Threads. One thread per connection polls that connection's completion
 * queue and handles every completion of its calls; in closed loop it also
 * starts each client's next call. In open loop the thread that called
 * loadgen_run paces: it sleeps until each scheduled send time (timer
 * slack 1 ns) and starts the call itself on the connection whose turn it
 * is; only the completion is handled by the connection's thread. A call
 * is touched by one thread at a time: the pacer starts exactly one batch
 * (unary calls only), the connection thread does everything after it.
 *
 * Measurements. Each connection keeps, under its own mutex, one histogram
 * per kind for the phase and one histogram (all kinds) for the current
 * second; the pacing / main thread collects the latter at every second
 * boundary into the phase's per-second rows. Failed calls count by status
 * code and not in the latency histograms.
 *
 * Calls. A unary call is one batch of six ops (tag = the call). A bulk
 * stream has three batch streams told apart by the tag's low bits: the
 * sends (initial metadata with the first record, then one record at a
 * time, then the half-close), the receives (initial metadata and each
 * progress ack or summary) and the final status; the call ends when none
 * is pending.
 */
#define _GNU_SOURCE
#include "loadgen.h"
#include "splitmix.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "grpc/health/v1/health.pb-c.h"
#include "hist.h"
#include "rpc_client.h"

enum {
	MAX_CONNS = 1024,
	N_CODES = 17,		/* gRPC status codes 0..16 */
	POLL_MS = 50,		/* connection threads re-check the phase */
	SERVING_WAIT_MS = 30000 /* for Health SERVING before the run */
};

#define NS 1000000000ULL

static const struct {
	const char *name, *path;
} kinds[LOADGEN_N_KINDS] = {
    [LOADGEN_HEALTH] = {"health", "/grpc.health.v1.Health/Check"},
    [LOADGEN_IDENTIFY] = {"identify", "/reconnu.v1.Reconnu/Identify"},
    [LOADGEN_UPSERT] = {"upsert", "/reconnu.v1.Reconnu/Upsert"},
    [LOADGEN_STATS] = {"stats", "/reconnu.v1.Reconnu/Stats"},
    [LOADGEN_BULK] = {"bulk", "/reconnu.v1.Reconnu/UpsertStream"},
};

/** Tag low bits of a stream's batches. */
enum stream_op { OP_UNARY = 0, OP_SEND = 1, OP_RECV = 2, OP_STATUS = 3 };

/** Measured figures of one kind in one phase. */
struct kind_stats {
	struct hist h;		      /**< latency of successful calls */
	uint64_t errors[N_CODES + 1]; /**< failed calls and rejected stream
					   records by status code; last:
					   others */
	uint64_t failed;	      /**< failed calls */
	uint64_t records;	      /**< records written (bulk), or calls that
					   succeeded */
};

struct phase_stats {
	struct kind_stats k[LOADGEN_N_KINDS];
};

/** One per-second row: calls that ended in that second, all kinds. */
struct second {
	double t;	/**< end of the second, s since the run started */
	double phase_t; /**< the same, s since the phase's measured start */
	uint64_t count, errors;
	uint64_t p50, p90, p99, p999, max;
	double mean;
};

struct phase {
	const char *name;
	unsigned weight[LOADGEN_N_KINDS];
	unsigned wsum;
	int until_exhausted; /**< setup: runs until gen returns NULL */
	struct loadgen_gen gen;
	uint64_t t_start, t_meas, t_end; /**< ns, CLOCK_MONOTONIC */
	atomic_int over;		 /**< no new calls */
	double seconds;			 /**< measured */
	struct phase_stats stats;	 /**< merged over connections */
	struct hist lag;		 /**< open loop: send − schedule */
	struct second *rows;
	size_t n_rows, cap_rows;
};

struct conn {
	struct loadgen_result *r;
	grpc_channel *ch;
	grpc_completion_queue *cq;
	pthread_t thread;
	pthread_mutex_t mu;
	struct phase_stats total; /**< this phase, under mu */
	struct hist second;	  /**< this second, all kinds, under mu */
	uint64_t second_errors;	  /**< under mu */
	atomic_uint outstanding;  /**< calls started, not finished */
	unsigned clients;	  /**< closed loop: clients on this conn */
	uint64_t rng;		  /**< of this connection's thread */
};

struct call {
	struct conn *c;
	grpc_call *call;
	enum loadgen_kind kind;
	int measured;
	uint64_t t0; /**< ns: scheduled (open loop) or actual send */
	grpc_byte_buffer *out, *in;
	grpc_metadata_array md_init, md_trail;
	grpc_status_code status;
	grpc_slice details;
	int start_failed;
	/* streams */
	int pending; /**< batches not completed */
	unsigned sent;
	int closing, got_summary;
	uint64_t accepted, rejected;
	uint64_t reject_codes[N_CODES + 1];
} __attribute__((aligned(8)));

struct loadgen_result {
	struct loadgen_opts o;
	char *server, *workload;
	struct conn *conns;
	unsigned n_conns;
	struct phase phases[3];
	unsigned n_phases;
	struct phase *cur;
	uint64_t t_run0;
	int interrupted;
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * NS + (uint64_t)t.tv_nsec;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = {.tv_sec = (time_t)(t / NS),
			      .tv_nsec = (long)(t % NS)};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR)
		if (stop_requested)
			return;
}

/** Sleeps until t, waking every 100 ms to notice a stop request. */
static void sleep_until_or_stop(uint64_t t)
{
	while (!stop_requested) {
		uint64_t now = now_ns();
		if (now >= t)
			return;
		sleep_until(t - now > NS / 10 ? now + NS / 10 : t);
	}
}

const char *loadgen_kind_name(enum loadgen_kind k)
{
	return (unsigned)k < LOADGEN_N_KINDS ? kinds[k].name : "?";
}

int loadgen_kind_of(const char *name)
{
	for (int k = 0; k < LOADGEN_N_KINDS; k++)
		if (!strcmp(name, kinds[k].name))
			return k;
	return -1;
}

static enum loadgen_kind pick_kind(const struct phase *ph, uint64_t *rng)
{
	uint64_t x = splitmix64(rng) % ph->wsum;
	for (int k = 0; k < LOADGEN_N_KINDS; k++) {
		if (x < ph->weight[k])
			return k;
		x -= ph->weight[k];
	}
	return LOADGEN_HEALTH;
}

static unsigned code_slot(grpc_status_code c)
{
	return (unsigned)c < N_CODES ? (unsigned)c : N_CODES;
}

/* ---- calls --------------------------------------------------------------- */

static long stream_deadline_ms(long unary)
{
	return unary * 10 > 60000 ? unary * 10 : 60000;
}

static int start_batch(struct call *k, grpc_op *ops, size_t n,
		       enum stream_op op)
{
	k->pending++;
	if (grpc_call_start_batch(k->call, ops, n, (char *)k + op, NULL) ==
	    GRPC_CALL_OK)
		return 0;
	k->pending--;
	return -1;
}

static void finish(struct call *k);

/** Sends the next record of a stream, or half-closes it. */
static void stream_send_next(struct call *k, uint64_t *rng)
{
	struct loadgen_result *r = k->c->r;
	grpc_op op;
	memset(&op, 0, sizeof(op));
	if (k->out) {
		grpc_byte_buffer_destroy(k->out);
		k->out = NULL;
	}
	if (!k->closing && k->sent < r->o.batch &&
	    (k->out = r->cur->gen.next(r->cur->gen.ctx, LOADGEN_BULK, rng))) {
		op.op = GRPC_OP_SEND_MESSAGE;
		op.data.send_message.send_message = k->out;
		k->sent++;
	} else {
		op.op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
		k->closing = 1;
	}
	start_batch(k, &op, 1, OP_SEND);
}

/** Re-arms the receive of the next progress ack or summary. */
static void stream_recv_next(struct call *k)
{
	grpc_op op;
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_MESSAGE;
	op.data.recv_message.recv_message = &k->in;
	start_batch(k, &op, 1, OP_RECV);
}

static void stream_on_message(struct call *k)
{
	Reconnu__V1__UpsertStreamResponse *m =
	    (Reconnu__V1__UpsertStreamResponse *)rpc_client_unpack(
		&reconnu__v1__upsert_stream_response__descriptor, k->in);
	grpc_byte_buffer_destroy(k->in);
	k->in = NULL;
	if (!m)
		return;
	if (m->kind_case == RECONNU__V1__UPSERT_STREAM_RESPONSE__KIND_SUMMARY &&
	    m->summary->totals) {
		const Reconnu__V1__UpsertSummary *s = m->summary;
		k->got_summary = 1;
		k->accepted = s->totals->accepted;
		k->rejected = s->totals->failed;
		unsigned last = code_slot(GRPC_STATUS_UNKNOWN);
		for (size_t i = 0; i < s->n_failures; i++) {
			last =
			    code_slot((grpc_status_code)s->failures[i]->code);
			k->reject_codes[last]++;
		}
		if (k->rejected > s->n_failures)
			k->reject_codes[last] += k->rejected - s->n_failures;
	}
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

/** Starts one call of kind kind on c, timed from t0.
 *  @retval 0 started (or failed at once and counted)
 *  @retval -1 the generator had nothing more to send */
static int start_call(struct conn *c, enum loadgen_kind kind, uint64_t t0,
		      uint64_t *rng)
{
	struct loadgen_result *r = c->r;
	struct phase *ph = r->cur;
	grpc_byte_buffer *bb = ph->gen.next(ph->gen.ctx, kind, rng);
	if (!bb)
		return -1;
	struct call *k = aligned_alloc(8, sizeof(*k));
	if (!k) {
		grpc_byte_buffer_destroy(bb);
		return -1;
	}
	memset(k, 0, sizeof(*k));
	k->c = c;
	k->kind = kind;
	k->t0 = t0;
	k->measured =
	    ph->until_exhausted || (t0 >= ph->t_meas && t0 < ph->t_end);
	k->out = bb;
	k->status = GRPC_STATUS_UNKNOWN;
	k->details = grpc_empty_slice();
	grpc_metadata_array_init(&k->md_init);
	grpc_metadata_array_init(&k->md_trail);
	long dl = kind == LOADGEN_BULK ? stream_deadline_ms(r->o.deadline_ms)
				       : r->o.deadline_ms;
	k->call = grpc_channel_create_call(
	    c->ch, NULL, GRPC_PROPAGATE_DEFAULTS, c->cq,
	    grpc_slice_from_static_string(kinds[kind].path), NULL,
	    rpc_client_deadline(dl), NULL);
	atomic_fetch_add(&c->outstanding, 1);
	grpc_op ops[6];
	memset(ops, 0, sizeof(ops));
	if (kind != LOADGEN_BULK) {
		rpc_client_unary_ops(ops, k->out, &k->md_init, &k->in,
				     &k->md_trail, &k->status, &k->details);
		if (start_batch(k, ops, 6, OP_UNARY)) {
			k->start_failed = 1;
			finish(k);
		}
		return 0;
	}
	/* stream: status, then the first record, then the receives */
	ops[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[0].data.recv_status_on_client.trailing_metadata = &k->md_trail;
	ops[0].data.recv_status_on_client.status = &k->status;
	ops[0].data.recv_status_on_client.status_details = &k->details;
	if (start_batch(k, ops, 1, OP_STATUS)) {
		k->start_failed = 1;
		finish(k);
		return 0;
	}
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = k->out;
	k->sent = 1;
	if (start_batch(k, ops, 2, OP_SEND))
		k->start_failed = 1;
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[0].data.recv_initial_metadata.recv_initial_metadata = &k->md_init;
	ops[1].op = GRPC_OP_RECV_MESSAGE;
	ops[1].data.recv_message.recv_message = &k->in;
	if (start_batch(k, ops, 2, OP_RECV))
		k->start_failed = 1;
	if (k->start_failed)
		grpc_call_cancel(k->call, NULL);
	return 0;
}

/** Closed loop: the next call of a client whose call just ended. */
static void next_call(struct conn *c)
{
	struct phase *ph = c->r->cur;
	if (atomic_load(&ph->over) || stop_requested)
		return;
	uint64_t t = now_ns();
	if (!ph->until_exhausted && t >= ph->t_end)
		return;
	start_call(c, pick_kind(ph, &c->rng), t, &c->rng);
}

/** Records the call's outcome, frees it, and in closed loop starts the
 *  client's next call (not after a call that could not even start: that
 *  client stops). */
static void finish(struct call *k)
{
	struct conn *c = k->c;
	struct loadgen_result *r = c->r;
	uint64_t us = (now_ns() - k->t0 + 500) / 1000;
	int start_failed = k->start_failed;
	grpc_status_code code = start_failed && k->status == GRPC_STATUS_OK
				    ? GRPC_STATUS_UNKNOWN
				    : k->status;
	if (k->kind == LOADGEN_BULK && code == GRPC_STATUS_OK &&
	    !k->got_summary)
		code = GRPC_STATUS_INTERNAL; /* no summary: not a full stream */
	if (k->measured) {
		pthread_mutex_lock(&c->mu);
		struct kind_stats *ks = &c->total.k[k->kind];
		if (code == GRPC_STATUS_OK) {
			hist_record(&ks->h, us);
			hist_record(&c->second, us);
			ks->records +=
			    k->kind == LOADGEN_BULK ? k->accepted : 1;
		} else {
			ks->errors[code_slot(code)]++;
			ks->failed++;
			c->second_errors++;
		}
		for (unsigned i = 0; i <= N_CODES; i++)
			ks->errors[i] += k->reject_codes[i];
		c->second_errors += k->rejected;
		pthread_mutex_unlock(&c->mu);
	}
	grpc_slice_unref(k->details);
	grpc_metadata_array_destroy(&k->md_init);
	grpc_metadata_array_destroy(&k->md_trail);
	if (k->out)
		grpc_byte_buffer_destroy(k->out);
	if (k->in)
		grpc_byte_buffer_destroy(k->in);
	grpc_call_unref(k->call);
	free(k);
	if (r->o.mode == LOADGEN_CLOSED && !start_failed)
		next_call(c);
	atomic_fetch_sub(&c->outstanding, 1);
}

static void on_event(struct conn *c, void *tag, int success)
{
	enum stream_op op = (enum stream_op)((uintptr_t)tag & 7);
	struct call *k = (struct call *)((uintptr_t)tag & ~(uintptr_t)7);
	k->pending--;
	if (k->kind != LOADGEN_BULK) {
		finish(k);
		return;
	}
	switch (op) {
	case OP_SEND:
		if (success && !k->closing)
			stream_send_next(k, &c->rng);
		break;
	case OP_RECV:
		if (success && k->in) {
			stream_on_message(k);
			stream_recv_next(k);
		}
		break;
	default:
		break;
	}
	if (k->pending == 0)
		finish(k);
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	struct phase *ph = c->r->cur;
	if (c->r->o.mode == LOADGEN_CLOSED || ph->until_exhausted)
		for (unsigned i = 0; i < c->clients; i++)
			next_call(c);
	for (;;) {
		if (atomic_load(&c->outstanding) == 0 &&
		    (atomic_load(&ph->over) || ph->until_exhausted))
			break;
		grpc_event ev = grpc_completion_queue_next(
		    c->cq, rpc_client_deadline(POLL_MS), NULL);
		if (ev.type == GRPC_OP_COMPLETE)
			on_event(c, ev.tag, ev.success);
		else if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
	}
	return NULL;
}

/* ---- phases ---------------------------------------------------------------
 */

/** Moves every connection's current-second histogram into a row. */
static void collect_second(struct loadgen_result *r, struct phase *ph,
			   uint64_t t)
{
	static struct hist h; /* one collecting thread at a time */
	hist_reset(&h);
	uint64_t errors = 0;
	for (unsigned i = 0; i < r->n_conns; i++) {
		struct conn *c = &r->conns[i];
		pthread_mutex_lock(&c->mu);
		hist_merge(&h, &c->second);
		hist_reset(&c->second);
		errors += c->second_errors;
		c->second_errors = 0;
		pthread_mutex_unlock(&c->mu);
	}
	if (ph->n_rows == ph->cap_rows) {
		size_t cap = ph->cap_rows ? ph->cap_rows * 2 : 64;
		struct second *p = realloc(ph->rows, cap * sizeof(*p));
		if (!p)
			return;
		ph->rows = p;
		ph->cap_rows = cap;
	}
	ph->rows[ph->n_rows++] = (struct second){
	    .t = (double)(t - r->t_run0) / 1e9,
	    .phase_t = (double)(t - ph->t_meas) / 1e9,
	    .count = h.count,
	    .errors = errors,
	    .p50 = hist_percentile(&h, 50),
	    .p90 = hist_percentile(&h, 90),
	    .p99 = hist_percentile(&h, 99),
	    .p999 = hist_percentile(&h, 99.9),
	    .max = h.max,
	    .mean = hist_mean(&h),
	};
}

/** Open loop: sends at the scheduled times until t_end, collecting a row
 *  at each second boundary. */
static void pace(struct loadgen_result *r, struct phase *ph)
{
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	double gap = 1e9 / r->o.rate;
	uint64_t rng = r->o.seed ^ 0x5ace;
	uint64_t boundary = ph->t_meas + NS;
	for (uint64_t n = 0; !stop_requested; n++) {
		uint64_t t = ph->t_start + (uint64_t)((double)n * gap);
		if (t >= ph->t_end)
			break;
		while (boundary <= t && boundary < ph->t_end) {
			sleep_until_or_stop(boundary);
			collect_second(r, ph, boundary);
			boundary += NS;
		}
		sleep_until_or_stop(t);
		if (stop_requested)
			break;
		uint64_t lag = now_ns() - t;
		if (t >= ph->t_meas)
			hist_record(&ph->lag, (lag + 500) / 1000);
		struct conn *c = &r->conns[n % r->n_conns];
		start_call(c, pick_kind(ph, &rng), t, &rng);
	}
}

/** Closed loop: waits for t_end, collecting a row every second. */
static void watch(struct loadgen_result *r, struct phase *ph)
{
	for (uint64_t b = ph->t_meas + NS; b < ph->t_end && !stop_requested;
	     b += NS) {
		sleep_until_or_stop(b);
		if (!stop_requested)
			collect_second(r, ph, b);
	}
	sleep_until_or_stop(ph->t_end);
}

static int run_phase(struct loadgen_result *r, struct phase *ph)
{
	r->cur = ph;
	for (unsigned i = 0; i < r->n_conns; i++) {
		struct conn *c = &r->conns[i];
		memset(&c->total, 0, sizeof(c->total));
		hist_reset(&c->second);
		c->second_errors = 0;
	}
	uint64_t t = now_ns();
	ph->t_start = t;
	ph->t_meas = t + (uint64_t)(r->o.warmup * 1e9);
	ph->t_end = ph->t_meas + (uint64_t)(r->o.duration * 1e9);
	if (ph->until_exhausted)
		ph->t_meas = t, ph->t_end = UINT64_MAX;
	for (unsigned i = 0; i < r->n_conns; i++)
		if (pthread_create(&r->conns[i].thread, NULL, conn_main,
				   &r->conns[i])) {
			fprintf(stderr,
				"reconnu-bench: cannot start threads\n");
			exit(1);
		}
	if (r->o.mode == LOADGEN_OPEN && !ph->until_exhausted)
		pace(r, ph);
	else if (!ph->until_exhausted)
		watch(r, ph);
	uint64_t end = now_ns();
	if (!ph->until_exhausted)
		atomic_store(&ph->over, 1);
	for (unsigned i = 0; i < r->n_conns; i++)
		pthread_join(r->conns[i].thread, NULL);
	atomic_store(&ph->over, 1);
	if (ph->until_exhausted) {
		end = now_ns();
		ph->t_end = end;
	}
	if (end > ph->t_end)
		end = ph->t_end;
	ph->seconds = end > ph->t_meas ? (double)(end - ph->t_meas) / 1e9 : 0;
	/* calls ended after the last boundary: the last row */
	if (!ph->until_exhausted)
		collect_second(r, ph, end);
	for (unsigned i = 0; i < r->n_conns; i++)
		for (int k = 0; k < LOADGEN_N_KINDS; k++) {
			struct kind_stats *d = &ph->stats.k[k];
			const struct kind_stats *s = &r->conns[i].total.k[k];
			hist_merge(&d->h, &s->h);
			d->records += s->records;
			d->failed += s->failed;
			for (unsigned e = 0; e <= N_CODES; e++)
				d->errors[e] += s->errors[e];
		}
	if (stop_requested)
		r->interrupted = 1;
	return 0;
}

/* ---- connections ----------------------------------------------------------
 */

/** Blocking Health/Check on c. @retval 1 SERVING, 0 not (yet) */
static int check_serving(struct conn *c)
{
	Grpc__Health__V1__HealthCheckRequest req;
	grpc__health__v1__health_check_request__init(&req);
	grpc_byte_buffer *out = rpc_client_pack(&req.base), *in = NULL;
	grpc_call *call = grpc_channel_create_call(
	    c->ch, NULL, GRPC_PROPAGATE_DEFAULTS, c->cq,
	    grpc_slice_from_static_string(kinds[LOADGEN_HEALTH].path), NULL,
	    rpc_client_deadline(2000), NULL);
	grpc_metadata_array md_init, md_trail;
	grpc_metadata_array_init(&md_init);
	grpc_metadata_array_init(&md_trail);
	grpc_status_code code = GRPC_STATUS_UNKNOWN;
	grpc_slice details = grpc_empty_slice();
	grpc_op ops[6];
	rpc_client_unary_ops(ops, out, &md_init, &in, &md_trail, &code,
			     &details);
	int serving = 0;
	if (grpc_call_start_batch(call, ops, 6, &serving, NULL) ==
	    GRPC_CALL_OK) {
		grpc_event ev;
		do
			ev = grpc_completion_queue_next(
			    c->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		while (ev.type != GRPC_OP_COMPLETE || ev.tag != &serving);
	}
	Grpc__Health__V1__HealthCheckResponse *resp =
	    code == GRPC_STATUS_OK
		? (Grpc__Health__V1__HealthCheckResponse *)rpc_client_unpack(
		      &grpc__health__v1__health_check_response__descriptor, in)
		: NULL;
	serving =
	    resp &&
	    resp->status ==
		GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
	if (resp)
		protobuf_c_message_free_unpacked(&resp->base, NULL);
	grpc_slice_unref(details);
	grpc_metadata_array_destroy(&md_init);
	grpc_metadata_array_destroy(&md_trail);
	grpc_byte_buffer_destroy(out);
	if (in)
		grpc_byte_buffer_destroy(in);
	grpc_call_unref(call);
	return serving;
}

static int open_conns(struct loadgen_result *r)
{
	r->conns = calloc(r->n_conns, sizeof(*r->conns));
	if (!r->conns)
		return -1;
	/* a local subchannel pool per channel: one TCP connection each
	 * (channels with equal arguments otherwise share one) */
	grpc_arg arg = {.type = GRPC_ARG_INTEGER,
			.key = GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL,
			.value.integer = 1};
	grpc_channel_args args = {.num_args = 1, .args = &arg};
	unsigned clients = r->o.clients ? r->o.clients : r->n_conns;
	for (unsigned i = 0; i < r->n_conns; i++) {
		struct conn *c = &r->conns[i];
		c->r = r;
		c->rng = r->o.seed * 0x100000001b3ULL + i + 1;
		c->clients = clients / r->n_conns + (i < clients % r->n_conns);
		pthread_mutex_init(&c->mu, NULL);
		grpc_channel_credentials *creds =
		    grpc_insecure_credentials_create();
		c->ch = grpc_channel_create(r->server, creds, &args);
		grpc_channel_credentials_release(creds);
		c->cq = grpc_completion_queue_create_for_next(NULL);
	}
	uint64_t deadline = now_ns() + (uint64_t)SERVING_WAIT_MS * 1000000;
	for (unsigned i = 0; i < r->n_conns; i++)
		while (!check_serving(&r->conns[i])) {
			if (now_ns() > deadline || stop_requested) {
				fprintf(stderr,
					"reconnu-bench: %s is not SERVING "
					"(Health/Check)\n",
					r->server);
				return -1;
			}
			sleep_until(now_ns() + NS / 10);
		}
	return 0;
}

static void close_conns(struct loadgen_result *r)
{
	for (unsigned i = 0; r->conns && i < r->n_conns; i++) {
		struct conn *c = &r->conns[i];
		grpc_completion_queue_shutdown(c->cq);
		while (grpc_completion_queue_next(
			   c->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL)
			   .type != GRPC_QUEUE_SHUTDOWN)
			;
		grpc_completion_queue_destroy(c->cq);
		grpc_channel_destroy(c->ch);
		pthread_mutex_destroy(&c->mu);
	}
	free(r->conns);
	r->conns = NULL;
}

static void phase_init(struct phase *ph, const char *name,
		       const unsigned *weight, struct loadgen_gen gen)
{
	ph->name = name;
	ph->gen = gen;
	for (int k = 0; k < LOADGEN_N_KINDS; k++) {
		ph->weight[k] = weight[k];
		ph->wsum += weight[k];
	}
}

int loadgen_run(const struct loadgen_opts *o, struct loadgen_result **out)
{
	*out = NULL;
	unsigned wsum = 0;
	for (int k = 0; k < LOADGEN_N_KINDS; k++)
		wsum += o->weight[k];
	if (!o->server || !o->gen.next || !wsum || o->connections < 1 ||
	    o->connections > MAX_CONNS || o->duration <= 0 || o->warmup < 0 ||
	    o->deadline_ms <= 0 ||
	    (o->mode == LOADGEN_OPEN && !(o->rate > 0)) ||
	    (o->weight[LOADGEN_BULK] &&
	     (o->batch < 1 || wsum != o->weight[LOADGEN_BULK] ||
	      o->mode == LOADGEN_OPEN))) {
		fprintf(stderr, "reconnu-bench: bad load options (bulk runs "
				"alone, in closed loop, with a batch ≥ 1)\n");
		return -1;
	}
	struct loadgen_result *r = calloc(1, sizeof(*r));
	if (!r)
		return -1;
	r->o = *o;
	r->server = strdup(o->server);
	r->workload = strdup(o->workload ? o->workload : "workload");
	r->o.server = r->server;
	r->o.workload = r->workload;
	r->n_conns = o->connections;
	stop_requested = 0;
	struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);

	unsigned health_only[LOADGEN_N_KINDS] = {[LOADGEN_HEALTH] = 1};
	if (o->setup) {
		unsigned w[LOADGEN_N_KINDS] = {0};
		w[o->setup_kind] = 1;
		struct phase *ph = &r->phases[r->n_phases++];
		phase_init(ph, "setup", w, o->setup_gen);
		ph->until_exhausted = 1;
	}
	int workload_is_health = wsum == o->weight[LOADGEN_HEALTH];
	if (!o->no_baseline && !workload_is_health)
		phase_init(&r->phases[r->n_phases++], "health", health_only,
			   o->gen);
	phase_init(&r->phases[r->n_phases++],
		   workload_is_health ? "health" : r->workload, o->weight,
		   o->gen);

	r->t_run0 = now_ns();
	int rc = open_conns(r);
	for (unsigned i = 0; rc == 0 && i < r->n_phases && !stop_requested; i++)
		rc = run_phase(r, &r->phases[i]);
	close_conns(r);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (rc) {
		loadgen_result_delete(r);
		return -1;
	}
	*out = r;
	return 0;
}

void loadgen_result_delete(struct loadgen_result *r)
{
	if (!r)
		return;
	for (unsigned i = 0; i < r->n_phases; i++)
		free(r->phases[i].rows);
	free(r->server);
	free(r->workload);
	free(r);
}

/* ---- report ---------------------------------------------------------------
 */

/** One line of the report: a kind of one phase, or `all` kinds of it. */
struct row {
	const struct phase *ph;
	const char *kind;
	struct hist h;
	uint64_t ok, failed; /**< calls */
	uint64_t errors;     /**< failed calls and rejected records */
	uint64_t records;
	uint64_t by_code[N_CODES + 1];
	double seconds;
};

static uint64_t errors_of(const struct kind_stats *s)
{
	uint64_t n = 0;
	for (unsigned e = 0; e <= N_CODES; e++)
		n += s->errors[e];
	return n;
}

/** Rows of the report; the caller frees *rows. */
static size_t make_rows(const struct loadgen_result *r, struct row **rows)
{
	size_t n = 0;
	*rows = calloc(r->n_phases * (LOADGEN_N_KINDS + 1), sizeof(**rows));
	if (!*rows)
		return 0;
	for (unsigned p = 0; p < r->n_phases; p++) {
		const struct phase *ph = &r->phases[p];
		struct row *all = &(*rows)[n];
		size_t first = n, used = 0;
		for (int k = 0; k < LOADGEN_N_KINDS; k++) {
			const struct kind_stats *s = &ph->stats.k[k];
			if (!ph->weight[k])
				continue;
			struct row *w = &(*rows)[n++];
			w->ph = ph;
			w->kind = kinds[k].name;
			w->h = s->h;
			w->ok = s->h.count;
			w->failed = s->failed;
			w->errors = errors_of(s);
			w->records = s->records;
			memcpy(w->by_code, s->errors, sizeof(w->by_code));
			w->seconds = ph->seconds;
			used++;
		}
		if (used < 2)
			continue;
		/* a mix: the `all` row goes first */
		memmove(all + 1, all, used * sizeof(*all));
		n++;
		memset(all, 0, sizeof(*all));
		all->ph = ph;
		all->kind = "all";
		all->seconds = ph->seconds;
		for (size_t i = first + 1; i < n; i++) {
			const struct row *w = &(*rows)[i];
			hist_merge(&all->h, &w->h);
			all->ok += w->ok;
			all->failed += w->failed;
			all->errors += w->errors;
			all->records += w->records;
			for (unsigned e = 0; e <= N_CODES; e++)
				all->by_code[e] += w->by_code[e];
		}
	}
	return n;
}

/** The health row and the workload row the ratio compares (NULL if
 *  none). */
static void ratio_rows(const struct row *rows, size_t n,
		       const struct row **health, const struct row **work)
{
	*health = *work = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(rows[i].ph->name, "setup"))
			continue;
		if (!*health && !strcmp(rows[i].ph->name, "health"))
			*health = &rows[i];
		else if (!*work && strcmp(rows[i].ph->name, "health"))
			*work = &rows[i];
	}
	if (!*work)
		*work = *health;
}

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0;
}

static double per_s(uint64_t n, double s)
{
	return s > 0 ? (double)n / s : 0;
}

uint64_t loadgen_result_errors(const struct loadgen_result *r)
{
	uint64_t n = 0;
	for (unsigned p = 0; p < r->n_phases; p++)
		for (int k = 0; k < LOADGEN_N_KINDS; k++)
			n += errors_of(&r->phases[p].stats.k[k]);
	return n;
}

static void mode_text(const struct loadgen_result *r, char *buf, size_t n)
{
	unsigned clients = r->o.clients ? r->o.clients : r->n_conns;
	if (r->o.mode == LOADGEN_OPEN)
		snprintf(buf, n, "open loop, %.0f calls/s", r->o.rate);
	else
		snprintf(buf, n, "closed loop, %u client%s", clients,
			 clients == 1 ? "" : "s");
}

void loadgen_print_table(const struct loadgen_result *r, FILE *f)
{
	struct row *rows;
	size_t n = make_rows(r, &rows);
	char mode[64];
	mode_text(r, mode, sizeof(mode));
	fprintf(f,
		"server %s, %s, %u connection%s, warmup %.1f s, %.1f s "
		"measured per phase%s\n",
		r->server, mode, r->n_conns, r->n_conns == 1 ? "" : "s",
		r->o.warmup, r->o.duration,
		r->interrupted ? " (interrupted)" : "");
	fprintf(f, "%-10s %-8s %9s %9s %9s %7s %7s %7s %7s %7s %8s %8s  (µs)\n",
		"phase", "method", "calls", "calls/s", "records/s", "errors",
		"p50", "p90", "p99", "p99.9", "max", "mean");
	for (size_t i = 0; i < n; i++) {
		const struct row *w = &rows[i];
		fprintf(f,
			"%-10s %-8s %9llu %9.1f %9.1f %7llu %7llu %7llu %7llu "
			"%7llu %8llu %8.1f\n",
			w->ph->name, w->kind,
			(unsigned long long)(w->ok + w->failed),
			per_s(w->ok + w->failed, w->seconds),
			per_s(w->records, w->seconds),
			(unsigned long long)w->errors,
			(unsigned long long)hist_percentile(&w->h, 50),
			(unsigned long long)hist_percentile(&w->h, 90),
			(unsigned long long)hist_percentile(&w->h, 99),
			(unsigned long long)hist_percentile(&w->h, 99.9),
			(unsigned long long)w->h.max, hist_mean(&w->h));
	}
	const struct row *h, *w;
	ratio_rows(rows, n, &h, &w);
	if (h && w && h != w)
		fprintf(f, "ratio %s/health: p50 %.2fx  p99 %.2fx\n",
			w->ph->name,
			ratio(hist_percentile(&w->h, 50),
			      hist_percentile(&h->h, 50)),
			ratio(hist_percentile(&w->h, 99),
			      hist_percentile(&h->h, 99)));
	int any = 0;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(rows[i].kind, "all"))
			continue;
		for (unsigned e = 0; e <= N_CODES; e++)
			if (rows[i].by_code[e]) {
				fprintf(f, "%s %s %s: %llu\n",
					any++ ? "      " : "errors",
					rows[i].ph->name,
					e < N_CODES ? rpc_client_code_name(e)
						    : "OTHER",
					(unsigned long long)rows[i].by_code[e]);
			}
	}
	if (!any)
		fprintf(f, "errors: none\n");
	if (r->o.mode == LOADGEN_OPEN)
		for (unsigned p = 0; p < r->n_phases; p++) {
			const struct hist *l = &r->phases[p].lag;
			if (r->phases[p].until_exhausted)
				continue;
			fprintf(f,
				"send lag behind schedule (%s): p50 %llu µs, "
				"p99 %llu µs, max %llu µs\n",
				r->phases[p].name,
				(unsigned long long)hist_percentile(l, 50),
				(unsigned long long)hist_percentile(l, 99),
				(unsigned long long)l->max);
		}
	free(rows);
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

void loadgen_print_json(const struct loadgen_result *r, FILE *f)
{
	struct row *rows;
	size_t n = make_rows(r, &rows);
	unsigned clients = r->o.clients ? r->o.clients : r->n_conns;
	fprintf(f, "{\"server\":");
	json_str(f, r->server);
	fprintf(f, ",\"workload\":");
	json_str(f, r->workload);
	fprintf(f,
		",\"mode\":\"%s\",\"connections\":%u,\"clients\":%u,"
		"\"rate\":%.1f,\"warmup_s\":%.3f,\"duration_s\":%.3f,"
		"\"interrupted\":%s,\"errors\":%llu,\"rows\":[",
		r->o.mode == LOADGEN_OPEN ? "open" : "closed", r->n_conns,
		r->o.mode == LOADGEN_OPEN ? 0 : clients, r->o.rate, r->o.warmup,
		r->o.duration, r->interrupted ? "true" : "false",
		(unsigned long long)loadgen_result_errors(r));
	for (size_t i = 0; i < n; i++) {
		const struct row *w = &rows[i];
		fprintf(f, "%s{\"phase\":", i ? "," : "");
		json_str(f, w->ph->name);
		fprintf(f,
			",\"method\":\"%s\",\"calls\":%llu,\"ok\":%llu,"
			"\"errors\":%llu,\"seconds\":%.3f,\"calls_per_s\":%.1f,"
			"\"records\":%llu,\"records_per_s\":%.1f,"
			"\"p50_us\":%llu,\"p90_us\":%llu,\"p99_us\":%llu,"
			"\"p999_us\":%llu,\"max_us\":%llu,\"mean_us\":%.1f,"
			"\"errors_by_code\":{",
			w->kind, (unsigned long long)(w->ok + w->failed),
			(unsigned long long)w->ok,
			(unsigned long long)w->errors, w->seconds,
			per_s(w->ok + w->failed, w->seconds),
			(unsigned long long)w->records,
			per_s(w->records, w->seconds),
			(unsigned long long)hist_percentile(&w->h, 50),
			(unsigned long long)hist_percentile(&w->h, 90),
			(unsigned long long)hist_percentile(&w->h, 99),
			(unsigned long long)hist_percentile(&w->h, 99.9),
			(unsigned long long)w->h.max, hist_mean(&w->h));
		int any = 0;
		for (unsigned e = 0; e <= N_CODES; e++)
			if (w->by_code[e])
				fprintf(f, "%s\"%s\":%llu", any++ ? "," : "",
					e < N_CODES ? rpc_client_code_name(e)
						    : "OTHER",
					(unsigned long long)w->by_code[e]);
		fprintf(f, "}}");
	}
	fprintf(f, "]");
	const struct row *h, *w;
	ratio_rows(rows, n, &h, &w);
	if (h && w && h != w)
		fprintf(f, ",\"ratio\":{\"p50\":%.3f,\"p99\":%.3f}",
			ratio(hist_percentile(&w->h, 50),
			      hist_percentile(&h->h, 50)),
			ratio(hist_percentile(&w->h, 99),
			      hist_percentile(&h->h, 99)));
	if (r->o.mode == LOADGEN_OPEN && r->n_phases) {
		const struct hist *l = &r->phases[r->n_phases - 1].lag;
		fprintf(f,
			",\"send_lag_us\":{\"p50\":%llu,\"p99\":%llu,"
			"\"max\":%llu}",
			(unsigned long long)hist_percentile(l, 50),
			(unsigned long long)hist_percentile(l, 99),
			(unsigned long long)l->max);
	}
	fprintf(f, "}\n");
	free(rows);
}

int loadgen_write_csv(const struct loadgen_result *r, const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "reconnu-bench: %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	fprintf(f, "row,time_s,workload,method,count,errors,p50_us,p90_us,"
		   "p99_us,p999_us,max_us,mean_us,per_s\n");
	for (unsigned p = 0; p < r->n_phases; p++) {
		const struct phase *ph = &r->phases[p];
		for (size_t i = 0; i < ph->n_rows; i++) {
			const struct second *s = &ph->rows[i];
			fprintf(f,
				"second,%.3f,%s,all,%llu,%llu,%llu,%llu,%llu,"
				"%llu,%llu,%.1f,%llu\n",
				s->t, ph->name, (unsigned long long)s->count,
				(unsigned long long)s->errors,
				(unsigned long long)s->p50,
				(unsigned long long)s->p90,
				(unsigned long long)s->p99,
				(unsigned long long)s->p999,
				(unsigned long long)s->max, s->mean,
				(unsigned long long)s->count);
		}
	}
	struct row *rows;
	size_t n = make_rows(r, &rows);
	for (size_t i = 0; i < n; i++) {
		const struct row *w = &rows[i];
		fprintf(f,
			"summary,%.3f,%s,%s,%llu,%llu,%llu,%llu,%llu,%llu,%llu,"
			"%.1f,%.1f\n",
			w->seconds, w->ph->name, w->kind,
			(unsigned long long)w->ok,
			(unsigned long long)w->errors,
			(unsigned long long)hist_percentile(&w->h, 50),
			(unsigned long long)hist_percentile(&w->h, 90),
			(unsigned long long)hist_percentile(&w->h, 99),
			(unsigned long long)hist_percentile(&w->h, 99.9),
			(unsigned long long)w->h.max, hist_mean(&w->h),
			per_s(w->ok + w->failed, w->seconds));
	}
	free(rows);
	if (fclose(f)) {
		fprintf(stderr, "reconnu-bench: %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	return 0;
}

/** The phase's successful calls, all kinds. */
static void phase_hist(const struct phase *ph, struct hist *h)
{
	hist_reset(h);
	for (int k = 0; k < LOADGEN_N_KINDS; k++)
		hist_merge(h, &ph->stats.k[k].h);
}

/** Gnuplot data blocks $S<p> (per second) and $C<p> (CDF). */
static int write_blocks(FILE *g, const struct phase *ph, unsigned p)
{
	static struct hist h;
	phase_hist(ph, &h);
	if (!h.count)
		return 0;
	fprintf(g, "$S%u << EOD\n", p);
	for (size_t i = 0; i < ph->n_rows; i++) {
		const struct second *s = &ph->rows[i];
		if (s->count)
			fprintf(g, "%.3f %llu %llu %llu\n", s->phase_t,
				(unsigned long long)s->p50,
				(unsigned long long)s->p99,
				(unsigned long long)s->p999);
	}
	fprintf(g, "EOD\n$C%u << EOD\n", p);
	uint64_t seen = 0;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		if (!h.n[i])
			continue;
		seen += h.n[i];
		uint64_t v = hist_bucket_high(i);
		v = v < h.max ? v : h.max;
		fprintf(g, "%llu %.6f\n", (unsigned long long)(v ? v : 1),
			(double)seen / (double)h.count);
	}
	fprintf(g, "EOD\n");
	return 1;
}

int loadgen_plot(const struct loadgen_result *r, const char *prefix)
{
	FILE *g = popen("gnuplot", "w");
	if (!g) {
		fprintf(stderr, "reconnu-bench: cannot run gnuplot\n");
		return -1;
	}
	int have[3] = {0};
	unsigned n = 0;
	for (unsigned p = 0; p < r->n_phases; p++)
		if (strcmp(r->phases[p].name, "setup"))
			n += have[p] = write_blocks(g, &r->phases[p], p);
	char mode[64];
	mode_text(r, mode, sizeof(mode));
	fprintf(g,
		"set terminal pngcairo size 1000,600 font ',10'\n"
		"set grid\nset key outside right top\n"
		"set output '%s-latency.png'\n"
		"set title 'reconnu-bench %s: latency per second (%s, %u "
		"connection%s)'\n"
		"set xlabel 'seconds into the measured phase'\n"
		"set ylabel 'latency (µs)'\nset logscale y\n",
		prefix, r->workload, mode, r->n_conns,
		r->n_conns == 1 ? "" : "s");
	const char *sep = "plot ";
	for (unsigned p = 0; p < r->n_phases; p++) {
		if (!have[p])
			continue;
		const char *name = r->phases[p].name;
		/* one colour per percentile; the baseline dashed */
		const char *dt = strcmp(name, "health") ? "1" : "2";
		fprintf(g,
			"%s$S%u using 1:2 with linespoints lc 1 dt %s "
			"title '%s p50', "
			"$S%u using 1:3 with linespoints lc 2 dt %s "
			"title '%s p99', "
			"$S%u using 1:4 with linespoints lc 7 dt %s "
			"title '%s p99.9'",
			sep, p, dt, name, p, dt, name, p, dt, name);
		sep = ", ";
	}
	fprintf(g,
		"\nset output '%s-cdf.png'\n"
		"set title 'reconnu-bench %s: latency CDF (%s, %u "
		"connection%s)'\n"
		"unset logscale y\nset logscale x\nset yrange [0:1]\n"
		"set xlabel 'latency (µs, log scale)'\n"
		"set ylabel 'fraction of calls at or below'\n",
		prefix, r->workload, mode, r->n_conns,
		r->n_conns == 1 ? "" : "s");
	sep = "plot ";
	for (unsigned p = 0; p < r->n_phases; p++) {
		if (!have[p])
			continue;
		fprintf(g, "%s$C%u using 1:2 with steps lw 2 title '%s'", sep,
			p, r->phases[p].name);
		sep = ", ";
	}
	fprintf(g, "\n");
	int rc = pclose(g);
	if (!n || rc != 0) {
		fprintf(stderr, "reconnu-bench: gnuplot failed%s\n",
			n ? "" : " (no successful calls to plot)");
		return -1;
	}
	return 0;
}
