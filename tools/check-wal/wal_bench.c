/*
 * reconnu-wal-bench — appends/s and append→durable latency of the WAL on a
 * real disk, with 1 and 8 writer threads (each appends, then waits for its
 * frame to be durable before the next: a closed loop, like clients
 * waiting for their reply).
 *
 *   reconnu-wal-bench [--dir DIR] [--seconds S] [--size BYTES]
 *                     [--threads N ...] [--sync always|batch|none]
 *                     [--no-prealloc]
 *
 * DIR defaults to a fresh directory under /tmp, removed afterwards. The
 * log is opened with a zero-filled spare already made (and waits for it),
 * so that the figure is the steady state; --no-prealloc measures segments
 * that grow as they are written instead.
 * Latency is measured from just before wal_append to the durable callback
 * (on the WAL thread), so it excludes the wake-up of the waiting writer.
 */
#define _GNU_SOURCE
#include "wal.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct writer {
	struct wal *w;
	size_t size;
	uint64_t deadline;
	uint64_t t0;   /**< before the pending append */
	uint64_t *lat; /**< append→durable, ns */
	size_t n, cap;
	int errors;    /**< writer thread: failed append or wait */
	int cb_errors; /**< WAL thread: failed callbacks */
};

static void on_durable(void *ctx, uint64_t lsn, int status)
{
	struct writer *wr = ctx;
	(void)lsn;
	if (status) {
		wr->cb_errors++;
		return;
	}
	if (wr->n == wr->cap) {
		wr->cap = wr->cap ? 2 * wr->cap : 4096;
		wr->lat = realloc(wr->lat, wr->cap * sizeof(*wr->lat));
		if (!wr->lat)
			abort();
	}
	wr->lat[wr->n++] = now_ns() - wr->t0;
}

static void *writer_main(void *arg)
{
	struct writer *wr = arg;
	uint8_t *buf = calloc(1, wr->size + 1);
	while (now_ns() < wr->deadline) {
		uint64_t lsn;
		wr->t0 = now_ns();
		if (wal_append(wr->w, 1, buf, wr->size, on_durable, wr, &lsn) ||
		    wal_wait(wr->w, lsn)) {
			wr->errors++;
			break;
		}
	}
	free(buf);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static int run(const char *dir, enum wal_sync sync, int threads, double seconds,
	       size_t size, int no_prealloc)
{
	struct wal_options o = {
	    .dir = dir, .sync = sync, .no_prealloc = no_prealloc};
	struct wal *w;
	char err[512];
	int rc = wal_open(&o, NULL, NULL, &w, NULL, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "wal_open: %s\n", err);
		return 1;
	}
	/* steady state: wait (up to 30 s) until writes go to a zero-filled
	 * segment */
	for (int i = 0; !no_prealloc && i < 3000; i++) {
		struct wal_stats st0;
		wal_stats(w, &st0);
		if (st0.prealloc_segments)
			break;
		usleep(10000);
	}
	struct writer *wr = calloc((size_t)threads, sizeof(*wr));
	pthread_t *t = calloc((size_t)threads, sizeof(*t));
	uint64_t start = now_ns();
	for (int i = 0; i < threads; i++) {
		wr[i].w = w;
		wr[i].size = size;
		wr[i].deadline = start + (uint64_t)(seconds * 1e9);
		pthread_create(&t[i], NULL, writer_main, &wr[i]);
	}
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	double el = (double)(now_ns() - start) / 1e9;
	struct wal_stats st;
	wal_stats(w, &st);
	wal_close(w);
	size_t n = 0;
	int errors = 0;
	for (int i = 0; i < threads; i++)
		n += wr[i].n, errors += wr[i].errors + wr[i].cb_errors;
	uint64_t *all = malloc((n + 1) * sizeof(*all));
	size_t k = 0;
	for (int i = 0; i < threads; i++) {
		if (wr[i].n)
			memcpy(all + k, wr[i].lat, wr[i].n * sizeof(*all));
		k += wr[i].n;
		free(wr[i].lat);
	}
	if (n)
		qsort(all, n, sizeof(*all), cmp_u64);
	const char *mode = sync == WAL_SYNC_ALWAYS  ? "always"
			   : sync == WAL_SYNC_BATCH ? "batch"
						    : "none";
	printf(
	    "writers=%d size=%zu sync=%s: %zu appends in %.2f s = %.0f "
	    "appends/s; append->durable p50 %.0f us p99 %.0f us p99.9 %.0f us "
	    "max %.0f "
	    "us; %" PRIu64 " syncs, mean batch %.2f, max batch %" PRIu64
	    ", %s segments%s\n",
	    threads, size, mode, n, el, (double)n / el,
	    n ? (double)all[n / 2] / 1e3 : 0,
	    n ? (double)all[n * 99 / 100] / 1e3 : 0,
	    n ? (double)all[n * 999 / 1000] / 1e3 : 0,
	    n ? (double)all[n - 1] / 1e3 : 0, st.syncs,
	    st.batches ? (double)st.frames / (double)st.batches : 0,
	    st.max_batch, st.prealloc_segments ? "preallocated" : "growing",
	    errors ? " (ERRORS)" : "");
	free(all);
	free(wr);
	free(t);
	return errors != 0;
}

int main(int argc, char **argv)
{
	const char *dir = NULL;
	double seconds = 3;
	size_t size = 200;
	int threads[16], nthreads = 0, rc = 0, no_prealloc = 0;
	enum wal_sync sync = WAL_SYNC_ALWAYS;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--size") && i + 1 < argc)
			size = (size_t)atol(argv[++i]);
		else if (!strcmp(argv[i], "--threads") && i + 1 < argc &&
			 nthreads < 16)
			threads[nthreads++] = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--no-prealloc"))
			no_prealloc = 1;
		else if (!strcmp(argv[i], "--sync") && i + 1 < argc) {
			const char *m = argv[++i];
			sync = !strcmp(m, "batch")  ? WAL_SYNC_BATCH
			       : !strcmp(m, "none") ? WAL_SYNC_NONE
						    : WAL_SYNC_ALWAYS;
		} else {
			fprintf(
			    stderr,
			    "usage: reconnu-wal-bench [--dir DIR] "
			    "[--seconds S] [--size BYTES] [--threads N ...] "
			    "[--sync always|batch|none] [--no-prealloc]\n");
			return 2;
		}
	}
	if (!nthreads) {
		threads[0] = 1;
		threads[1] = 8;
		nthreads = 2;
	}
	char tmp[] = "/tmp/reconnu-wal-bench.XXXXXX";
	int own = !dir;
	if (own && !(dir = mkdtemp(tmp))) {
		perror("mkdtemp");
		return 2;
	}
	if (!own && mkdir(dir, 0755) && errno != EEXIST) {
		perror(dir);
		return 2;
	}
	for (int i = 0; i < nthreads; i++) {
		char sub[4096];
		snprintf(sub, sizeof(sub), "%s/run%d", dir, i);
		rc |= run(sub, sync, threads[i], seconds, size, no_prealloc);
	}
	if (own) {
		char cmd[4200];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			rc = 1;
	}
	return rc;
}
