/*
 * server.c — reconnu-server: options, engine, optional preload of a sample
 * file, the gRPC server (rpc.h), and a graceful stop on SIGTERM/SIGINT.
 *
 * Signals are blocked in every thread (before gRPC starts its own) and
 * taken by one thread with sigwait(), which only wakes the main thread:
 * nothing runs in a signal handler. The main thread then stops the server
 * (in-flight calls finish) and exits 0.
 *
 * Storage: the engine logs every write to a write-ahead log under
 * --data-dir and replays it at start (reconnu_open_storage); --in-memory
 * runs without it. --load preloads a file only into an empty engine (a
 * restart does not load the sample a second time), with one durability
 * wait per 1000 rows (group commit).
 *
 * Options come from an optional `--config FILE` of `key = value` lines
 * (keys are the long option names without dashes, `#` comments), then
 * from the command line, which wins.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <grpc/grpc.h>

#include "ingest.h"
#include "reconnu.h"
#include "rpc.h"

enum { EXIT_USAGE = 2, MAX_MAPS = 32 };

/** Everything the options set. */
struct server_opts {
	char listen[256];
	char data_dir[PATH_MAX];
	char port_file[PATH_MAX];
	char nicknames[PATH_MAX];
	char load[PATH_MAX];
	char *maps[MAX_MAPS]; /**< --map arguments (owned copies) */
	unsigned n_maps;
	unsigned threads;
	unsigned grace_ms;
	size_t max_message_bytes;
	double match_threshold;
	double possible_threshold;
	uint64_t snapshot_every_ops; /**< 0: off */
	unsigned snapshot_interval_s; /**< 0: off */
	reconnu_sync sync; /**< --sync always|batch|none */
	int in_memory;	   /**< --in-memory: no write-ahead log */
	int force_recovery; /**< --force-recovery: start past damage */
};

static atomic_int stop_requested;
static atomic_int storage_failed; /**< the watcher saw fail-stop: exit 1 */
static sem_t stop_sem;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: reconnu-server [options]\n"
		"  --listen ADDR              host:port (default "
		"127.0.0.1:7450; port 0 = any)\n"
		"  --data-dir DIR             write-ahead log and snapshots, "
		"created if needed\n"
		"                             (default ./data)\n"
		"  --sync MODE                always (default: answer writes "
		"after fdatasync),\n"
		"                             batch (fdatasync every 10 ms) or "
		"none\n"
		"  --in-memory 1              keep nothing on disk\n"
		"  --force-recovery 1         start even when the log is damaged\n"
		"                             before its tail: keep the valid prefix,\n"
		"                             move the rest aside (*.corrupt)\n"
		"  --threads N                completion-queue threads "
		"(default: CPUs)\n"
		"  --max-message-bytes N      largest request accepted "
		"(default 4194304)\n"
		"  --config FILE              `key = value` file (keys = long "
		"options)\n"
		"  --match-threshold P        auto-link probability "
		"(default 0.96)\n"
		"  --possible-threshold P     review band lower bound "
		"(default 0.90)\n"
		"  --nicknames DIR            given-name variant CSV files\n"
		"  --load FILE                preload a CSV/JSONL file before "
		"serving\n"
		"                             (skipped when the data folder "
		"holds data)\n"
		"  --map FIELD=COL[,...]      column mapping for --load "
		"(repeatable; see ingest.h)\n"
		"  --port-file FILE           write the bound port there\n"
		"  --grace-ms N               wait for in-flight calls on stop "
		"(default 10000)\n"
		"  --snapshot-every-ops N     snapshot after N writes since the "
		"last one\n"
		"                             (default 1000000; 0 = off)\n"
		"  --snapshot-interval-s S    snapshot every S seconds when "
		"there were writes\n"
		"                             (default 0 = off)\n"
		"Snapshots run on a background thread (writes wait while one is "
		"written, reads\n"
		"go on). A graceful stop (SIGTERM/SIGINT) also writes one when "
		"there were writes\n"
		"since the last, so the next start loads it instead of replaying "
		"the log.\n"
		"Health answers NOT_SERVING (and Reconnu methods UNAVAILABLE) "
		"until the preload is done.\n"
		"A storage failure (disk full, I/O error) is fail-stop: writes "
		"answer UNAVAILABLE,\n"
		"Health NOT_SERVING, and the server logs event=storage_failed "
		"and exits 1.\n"
		"Logs: key=value lines on stderr; `event=listening port=N` "
		"once bound.\n");
}

static int parse_num(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int copy(char *dst, size_t n, const char *src)
{
	return (size_t)snprintf(dst, n, "%s", src) >= n ? -1 : 0;
}

/** Applies one option (name without dashes). @retval 0 / -1 */
static int set_opt(struct server_opts *o, const char *key, const char *val)
{
	double v;
	if (!strcmp(key, "listen"))
		return copy(o->listen, sizeof(o->listen), val);
	if (!strcmp(key, "data-dir"))
		return copy(o->data_dir, sizeof(o->data_dir), val);
	if (!strcmp(key, "port-file"))
		return copy(o->port_file, sizeof(o->port_file), val);
	if (!strcmp(key, "nicknames"))
		return copy(o->nicknames, sizeof(o->nicknames), val);
	if (!strcmp(key, "load"))
		return copy(o->load, sizeof(o->load), val);
	if (!strcmp(key, "map")) {
		if (o->n_maps == MAX_MAPS ||
		    !(o->maps[o->n_maps] = strdup(val)))
			return -1;
		o->n_maps++;
		return 0;
	}
	if (!strcmp(key, "threads")) {
		if (parse_num(val, 1, 256, &v))
			return -1;
		o->threads = (unsigned)v;
		return 0;
	}
	if (!strcmp(key, "grace-ms")) {
		if (parse_num(val, 0, 3600000, &v))
			return -1;
		o->grace_ms = (unsigned)v;
		return 0;
	}
	if (!strcmp(key, "snapshot-every-ops")) {
		if (parse_num(val, 0, 1e15, &v))
			return -1;
		o->snapshot_every_ops = (uint64_t)v;
		return 0;
	}
	if (!strcmp(key, "snapshot-interval-s")) {
		if (parse_num(val, 0, 365.0 * 86400, &v))
			return -1;
		o->snapshot_interval_s = (unsigned)v;
		return 0;
	}
	if (!strcmp(key, "max-message-bytes")) {
		if (parse_num(val, 1024, INT_MAX, &v))
			return -1;
		o->max_message_bytes = (size_t)v;
		return 0;
	}
	if (!strcmp(key, "sync")) {
		if (!strcmp(val, "always"))
			o->sync = RECONNU_SYNC_ALWAYS;
		else if (!strcmp(val, "batch"))
			o->sync = RECONNU_SYNC_BATCH;
		else if (!strcmp(val, "none"))
			o->sync = RECONNU_SYNC_NONE;
		else
			return -1;
		return 0;
	}
	if (!strcmp(key, "force-recovery")) {
		o->force_recovery = !strcmp(val, "1") || !strcmp(val, "true");
		return o->force_recovery || !strcmp(val, "0") ||
			       !strcmp(val, "false")
			   ? 0
			   : -1;
	}
	if (!strcmp(key, "in-memory")) {
		o->in_memory = !strcmp(val, "1") || !strcmp(val, "true");
		return o->in_memory || !strcmp(val, "0") ||
			       !strcmp(val, "false")
			   ? 0
			   : -1;
	}
	if (!strcmp(key, "match-threshold"))
		return parse_num(val, 0, 1, &o->match_threshold);
	if (!strcmp(key, "possible-threshold"))
		return parse_num(val, 0, 1, &o->possible_threshold);
	return -1;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && strchr(" \t\r\n", s[n - 1]))
		s[--n] = 0;
	return s;
}

/** Reads a `key = value` file. @retval 0 / -1 (message printed) */
static int read_config(struct server_opts *o, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "reconnu-server: cannot open %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	char line[4096];
	int lineno = 0, rc = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		char *s = trim(line);
		if (!*s || *s == '#' || *s == ';')
			continue;
		char *eq = strchr(s, '=');
		if (eq)
			*eq = 0;
		if (!eq || set_opt(o, trim(s), trim(eq + 1))) {
			fprintf(stderr, "reconnu-server: %s:%d: bad setting\n",
				path, lineno);
			rc = -1;
			break;
		}
	}
	fclose(f);
	return rc;
}

static int parse_args(struct server_opts *o, int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--config") && i + 1 < argc &&
		    read_config(o, argv[i + 1]))
			return -1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			exit(0);
		}
		if (strncmp(a, "--", 2) || i + 1 >= argc) {
			fprintf(stderr, "reconnu-server: bad argument %s\n", a);
			return -1;
		}
		const char *val = argv[++i];
		if (!strcmp(a, "--config"))
			continue;
		if (set_opt(o, a + 2, val)) {
			fprintf(stderr, "reconnu-server: bad value for %s\n",
				a);
			return -1;
		}
	}
	if (o->possible_threshold > o->match_threshold) {
		fprintf(stderr, "reconnu-server: --possible-threshold above "
				"--match-threshold\n");
		return -1;
	}
	return 0;
}

/** mkdir -p */
static int make_dirs(const char *path)
{
	char buf[PATH_MAX];
	if (copy(buf, sizeof(buf), path))
		return -1;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0755) && errno != EEXIST ? -1 : 0;
}

static void *signal_main(void *arg)
{
	sigset_t *set = arg;
	int sig = 0;
	while (sigwait(set, &sig) != 0)
		;
	rpc_log("info", "signal", "signal=%s",
		sig == SIGTERM	? "TERM"
		: sig == SIGINT ? "INT"
				: "other");
	atomic_store(&stop_requested, 1);
	sem_post(&stop_sem);
	return NULL;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/** The storage thread (not with --in-memory): wakes every 200 ms, and
 *  writes a snapshot when --snapshot-every-ops writes or
 *  --snapshot-interval-s seconds (with at least one write) have passed
 *  since the last one; after a failed snapshot it waits a minute before
 *  trying again. Once the storage failed (fail-stop) it logs
 *  event=storage_failed and stops the server, which exits 1: a restart
 *  recovers every acknowledged write. */
struct snapshotter {
	struct rpc_server *s;
	uint64_t every_ops;
	unsigned interval_s;
	int in_memory;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
	int started;
	pthread_t thread;
};

static void *snapshot_main(void *arg)
{
	struct snapshotter *p = arg;
	struct timespec last, retry_after = {0};
	clock_gettime(CLOCK_MONOTONIC, &last);
	pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += 200 * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&p->cv, &p->mu, &until);
		if (p->stop)
			break;
		pthread_mutex_unlock(&p->mu);
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		uint64_t pending = rpc_server_writes_since_snapshot(p->s);
		const char *why = NULL;
		if (p->every_ops && pending >= p->every_ops)
			why = "ops";
		else if (p->interval_s && pending &&
			 seconds_since(&last) >= p->interval_s)
			why = "interval";
		if (why && now.tv_sec >= retry_after.tv_sec) {
			reconnu_snapshot_info info;
			char err[256];
			if (rpc_server_snapshot(p->s, why, &info, err,
						sizeof(err)) == 0) {
				last = now;
			} else {
				retry_after = now;
				retry_after.tv_sec += 60;
			}
		}
		pthread_mutex_lock(&p->mu);
		if (rpc_server_failed(p->s)) {
			rpc_log("error", "storage_failed",
				"error=\"write-ahead log failed (fail-stop): "
				"writes refused, stopping with exit 1; a "
				"restart recovers every acknowledged write\"");
			atomic_store(&storage_failed, 1);
			atomic_store(&stop_requested, 1);
			sem_post(&stop_sem);
			break;
		}
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void snapshotter_start(struct snapshotter *p)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&p->mu, NULL);
	if (p->in_memory)
		return;
	p->started = pthread_create(&p->thread, NULL, snapshot_main, p) == 0;
	if (!p->started)
		rpc_log("error", "snapshot_thread", "error=\"%s\"",
			strerror(errno));
}

static void snapshotter_stop(struct snapshotter *p)
{
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	if (p->started)
		pthread_join(p->thread, NULL);
	p->started = 0;
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
}

/** Upserts every row of o->load. @retval 0 / -1 */
static int preload(reconnu *engine, const struct server_opts *o)
{
	struct ingest_mapping *m = ingest_mapping_new();
	if (!m)
		return -1;
	for (unsigned i = 0; i < o->n_maps; i++)
		if (ingest_mapping_add(m, o->maps[i])) {
			rpc_log("error", "preload", "map_error=\"%s\"",
				ingest_last_error());
			ingest_mapping_delete(m);
			return -1;
		}
	struct ingest_reader *r = ingest_open(o->load, m, INGEST_AUTO);
	ingest_mapping_delete(m);
	if (!r) {
		rpc_log("error", "preload", "open_error=\"%s\"",
			ingest_last_error());
		return -1;
	}
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	uint64_t ok = 0, bad = 0, lsn = 0, row_lsn;
	int rc, failed = 0;
	reconnu_record *rec;
	while (!atomic_load(&stop_requested) &&
	       (rc = ingest_next(r, &rec, NULL)) != 0) {
		if (rc == INGEST_EROW) {
			bad++;
			continue;
		}
		if (rc < 0) {
			rpc_log("error", "preload", "read_error=\"%s\"",
				ingest_last_error());
			break;
		}
		if (reconnu_upsert_nowait(engine, rec, NULL, &row_lsn)) {
			bad++;
			if (reconnu_failed(engine)) {
				failed = 1;
				break;
			}
		} else {
			ok++;
			lsn = row_lsn;
		}
		if (lsn && ok % 1000 == 0 &&
		    reconnu_wait_durable(engine, lsn)) {
			failed = 1;
			break;
		}
		if ((ok + bad) % 100000 == 0)
			rpc_log("info", "preload_progress",
				"rows=%llu accepted=%llu",
				(unsigned long long)(ok + bad),
				(unsigned long long)ok);
	}
	ingest_close(r);
	if (failed || (lsn && reconnu_wait_durable(engine, lsn))) {
		rpc_log("error", "preload", "storage_error=\"%s\"",
			reconnu_last_error());
		return -1;
	}
	double s = seconds_since(&t0);
	rpc_log("info", "preload_done",
		"accepted=%llu failed=%llu seconds=%.2f records_per_s=%.0f",
		(unsigned long long)ok, (unsigned long long)bad, s,
		s > 0 ? (double)ok / s : 0.0);
	return 0;
}

int main(int argc, char **argv)
{
	/* gRPC's "poll" poller unless the environment names one: each worker
	 * polls the connections its queue was given, so a call is read,
	 * answered and written by one thread. Under the default "epoll1" one
	 * thread at a time polls every connection and wakes the owner of the
	 * call's queue, a hand-over per call: with one connection Identify
	 * p50 went 139 -> 97..108 us and Health 62..68 -> 49..56 us, with 8
	 * connections throughput stayed within the noise (BENCHMARKS.md). */
	setenv("GRPC_POLL_STRATEGY", "poll", 0);
	struct server_opts o = {
	    .listen = "127.0.0.1:7450",
	    .data_dir = "data",
	    .max_message_bytes = 4 << 20,
	    .grace_ms = 10000,
	    .snapshot_every_ops = 1000000,
	    .match_threshold = 0.96,
	    .possible_threshold = 0.90,
	};
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	o.threads = ncpu > 0 ? (unsigned)ncpu : 1;
	if (parse_args(&o, argc, argv)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (make_dirs(o.data_dir)) {
		fprintf(stderr, "reconnu-server: cannot create %s: %s\n",
			o.data_dir, strerror(errno));
		return 1;
	}

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	sem_init(&stop_sem, 0, 0);
	pthread_t sig_thread;
	pthread_create(&sig_thread, NULL, signal_main, &set);

	reconnu_config cfg;
	reconnu_config_default(&cfg);
	cfg.match_threshold = o.match_threshold;
	cfg.possible_threshold = o.possible_threshold;
	cfg.nicknames_dir = o.nicknames[0] ? o.nicknames : NULL;
	/* Listen first: during recovery Health answers NOT_SERVING and the
	 * other methods UNAVAILABLE, instead of refusing connections. */
	grpc_init();
	struct rpc_options ro = {
	    .listen = o.listen,
	    .threads = o.threads,
	    .max_message_bytes = o.max_message_bytes,
	    .grace_ms = o.grace_ms,
	    .in_memory = o.in_memory,
	};
	struct rpc_server *s = rpc_server_start(NULL, &ro);
	if (!s) {
		grpc_shutdown();
		return 1;
	}
	rpc_log("info", "listening",
		"port=%d listen=%s threads=%u "
		"data_dir=%s max_message_bytes=%zu",
		rpc_server_port(s), o.listen, o.threads, o.data_dir,
		o.max_message_bytes);
	if (o.port_file[0]) {
		FILE *f = fopen(o.port_file, "w");
		if (f) {
			fprintf(f, "%d\n", rpc_server_port(s));
			fclose(f);
		}
	}

	reconnu *engine = NULL;
	reconnu_storage st = {.dir = o.data_dir, .sync = o.sync,
			      .force_recovery = o.force_recovery};
	reconnu_recovery rec = {0};
	int orc = o.in_memory ? reconnu_open(&cfg, &engine)
			      : reconnu_open_storage(&cfg, &st, &engine, &rec);
	if (orc) {
		rpc_log("error", "engine_open", "err=%s",
			reconnu_strerror(orc));
		fprintf(stderr, "reconnu-server: %s\n", reconnu_last_error());
		rpc_server_delete(s);
		grpc_shutdown();
		return 1;
	}
	reconnu_stats stats = {0};
	reconnu_get_stats(engine, &stats);
	if (!o.in_memory)
		rpc_log("info", "recovered",
			"records=%llu entities=%llu replayed=%llu "
			"last_lsn=%llu truncated=%d seconds=%.3f "
			"snapshot_lsn=%llu snapshot_records=%llu "
			"snapshot_seconds=%.3f records_per_s=%.0f",
			(unsigned long long)stats.records,
			(unsigned long long)stats.entities,
			(unsigned long long)rec.replayed,
			(unsigned long long)rec.last_lsn, rec.truncated,
			rec.seconds, (unsigned long long)rec.snapshot_lsn,
			(unsigned long long)rec.snapshot_records,
			rec.snapshot_seconds,
			rec.seconds > 0 ? (double)stats.records / rec.seconds
					: 0.0);
	rpc_server_attach(s, engine, o.in_memory ? NULL : &rec);
	struct snapshotter snap = {
	    .s = s,
	    .every_ops = o.in_memory ? 0 : o.snapshot_every_ops,
	    .interval_s = o.in_memory ? 0 : o.snapshot_interval_s,
	    .in_memory = o.in_memory,
	};
	snapshotter_start(&snap);
	int rc = 0;
	if (o.load[0] && stats.records)
		rpc_log("info", "preload_skipped",
			"reason=not_empty records=%llu",
			(unsigned long long)stats.records);
	else if (o.load[0] && preload(engine, &o))
		rc = 1;
	if (!rc && !atomic_load(&stop_requested)) {
		rpc_server_set_ready(s, 1);
		rpc_log("info", "ready", "port=%d", rpc_server_port(s));
		while (sem_wait(&stop_sem) && errno == EINTR)
			;
	}
	rpc_log("info", "shutdown_begin", "port=%d", rpc_server_port(s));
	rpc_server_stop(s);
	snapshotter_stop(&snap);
	/* no call is running now: a snapshot of everything written, so the
	 * next start loads it instead of replaying the log */
	if (!o.in_memory && !rpc_server_failed(s) &&
	    rpc_server_writes_since_snapshot(s) > 0) {
		reconnu_snapshot_info info;
		char err[256];
		rpc_server_snapshot(s, "shutdown", &info, err, sizeof(err));
	}
	rpc_server_delete(s);
	reconnu_close(engine);
	if (atomic_load(&storage_failed))
		rc = 1;
	grpc_shutdown();
	for (unsigned i = 0; i < o.n_maps; i++)
		free(o.maps[i]);
	rpc_log("info", "shutdown_done", "exit=%d", rc);
	return rc;
}
