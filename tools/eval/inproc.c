/*
 * inproc.c — reconnu-bench-inproc: the engine's speed without RPC.
 *
 * Pass 1 upserts every row of the input (e.g. reconnu-datagen output) and
 * measures records/s and the resident memory it took (VmRSS after load
 * minus before the engine opened, scaled per million records). Pass 2
 * re-reads the input and, for an evenly spaced sample of M rows, calls
 * reconnu_identify on a copy of the row (without its key, perturbed with
 * probability P: a typo in a name, a changed birth day, a dropped e-mail),
 * timing each call alone with CLOCK_MONOTONIC. Edits touch ASCII letters
 * only, so a perturbed name stays valid UTF-8. Re-reading instead of
 * keeping a sample in memory keeps pass 1's RSS figure clean.
 *
 * With --data-dir, a snapshot is taken while a writer thread upserts new
 * records (one every 200 µs), timing each call: its slowest call during
 * the snapshot, against its slowest over as long before, is the pause
 * writers really see (the engine's own figure is the longest time it
 * held them). A second snapshot, without the writer, is the one the cold
 * start loads, so that no log is left to replay.
 */
#define _GNU_SOURCE
#include "preset.h"
#include "splitmix.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct bench {
	reconnu *r;
	uint64_t rows, rejected;
	/* pass 2 */
	uint64_t stride, seen, calls, want, hits, perturbed, failed;
	double perturb;
	uint64_t rng;
	size_t max_candidates;
	uint64_t *ns; /**< latency of each call */
	FILE *dump;   /**< --dump: every answer, or NULL */
	/* --data-dir: durable load, one wait per batch (group commit) */
	uint64_t batch, last_lsn;
};

static int on_load(void *ctx, const reconnu_record *rec, const char *truth)
{
	struct bench *b = ctx;
	(void)truth;
	uint64_t lsn = 0;
	if (reconnu_upsert_nowait(b->r, rec, NULL, &lsn) != 0) {
		if (++b->rejected <= 10)
			fprintf(stderr, "rejected %s/%s: %s\n", rec->source,
				rec->source_id, reconnu_last_error());
	} else if (lsn) {
		b->last_lsn = lsn;
	}
	b->rows++;
	if (b->last_lsn && b->rows % b->batch == 0 &&
	    reconnu_wait_durable(b->r, b->last_lsn) != 0) {
		fprintf(stderr, "storage failed: %s\n", reconnu_last_error());
		return -1;
	}
	return 0;
}

/** Copy of s in buf (size bytes), for perturbation. */
static char *copy(char *buf, size_t size, const char *s)
{
	if (s == NULL)
		return NULL;
	snprintf(buf, size, "%s", s);
	return buf;
}

static bool ascii(char c)
{
	return (unsigned char)c < 0x80;
}

/** Makes q differ from its source row the way re-typed data does. */
static void perturb(struct bench *b, reconnu_record *q, char *given,
		    char *family, char *dob)
{
	size_t len;
	switch (splitmix64(&b->rng) % 4) {
	case 0: /* swapped letters in the family name */
		if (family && (len = strlen(family)) >= 3) {
			size_t i = 1 + splitmix64(&b->rng) % (len - 2);
			if (!ascii(family[i]) || !ascii(family[i + 1]))
				break; /* keep UTF-8 valid */
			char c = family[i];
			family[i] = family[i + 1];
			family[i + 1] = c;
			q->family_name = family;
		}
		break;
	case 1: /* a letter dropped from the given name */
		if (given && (len = strlen(given)) >= 4) {
			size_t i = 1 + splitmix64(&b->rng) % (len - 2);
			if (!ascii(given[i]))
				break;
			memmove(given + i, given + i + 1, len - i);
			q->given_name = given;
		}
		break;
	case 2: /* another day of birth */
		if (dob && (len = strlen(dob)) >= 8) {
			char *d = dob + len - 1;
			if (*d >= '0' && *d <= '9')
				*d = (char)('0' + (*d - '0' + 1) % 9 + 1);
			q->birth_date = dob;
		}
		break;
	default: /* e-mail and phone missing */
		q->n_emails = 0;
		q->n_phones = 0;
		break;
	}
}

/* One line per answer, probabilities in hexadecimal (exact): two builds
 * that decide alike write identical files. */
static void dump_match(FILE *f, const reconnu_match *m)
{
	fprintf(f, "%" PRIu64 " %d %a %a", m->entity_id, (int)m->decision,
		m->probability, m->explanation.total_weight);
	for (size_t i = 0; i < m->n_candidates; i++)
		fprintf(f, " %" PRIu64 ":%d:%a:%s/%s",
			m->candidates[i].entity_id,
			(int)m->candidates[i].decision,
			m->candidates[i].probability,
			m->candidates[i].best_record.source,
			m->candidates[i].best_record.source_id);
	for (size_t i = 0; i < m->explanation.n_features; i++)
		fprintf(f, " %s=%s:%a", m->explanation.features[i].attribute,
			m->explanation.features[i].level,
			m->explanation.features[i].weight);
	fputc('\n', f);
}

static int on_identify(void *ctx, const reconnu_record *rec, const char *truth)
{
	struct bench *b = ctx;
	(void)truth;
	if (b->seen++ % b->stride != 0 || b->calls == b->want)
		return 0;
	uint64_t expect = 0;
	reconnu_golden *g;
	if (reconnu_get_entity_by_key(b->r, rec->source, rec->source_id, &g) ==
	    0) {
		expect = g->entity_id;
		reconnu_golden_free(g);
	}
	reconnu_record q = *rec;
	char given[RECONNU_MAX_FIELD_LEN + 1],
	    family[RECONNU_MAX_FIELD_LEN + 1], dob[64];
	q.source = NULL;
	q.source_id = NULL;
	if ((double)(splitmix64(&b->rng) >> 11) * 0x1p-53 < b->perturb) {
		perturb(b, &q, copy(given, sizeof(given), rec->given_name),
			copy(family, sizeof(family), rec->family_name),
			copy(dob, sizeof(dob), rec->birth_date));
		b->perturbed++;
	}
	reconnu_match *m = NULL;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = reconnu_identify(b->r, &q, b->max_candidates, &m);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	b->ns[b->calls++] = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u +
			    (uint64_t)t1.tv_nsec - (uint64_t)t0.tv_nsec;
	if (rc != 0) {
		if (++b->failed <= 10)
			fprintf(stderr, "identify: %s\n", reconnu_last_error());
		return 0;
	}
	if (expect && m->entity_id == expect)
		b->hits++;
	if (b->dump)
		dump_match(b->dump, m);
	reconnu_match_free(m);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/** Nearest-rank percentile of sorted v (n > 0), in µs. */
static double pct_us(const uint64_t *v, uint64_t n, double p)
{
	uint64_t k = (uint64_t)(p * (double)n + 0.999999);
	if (k == 0)
		k = 1;
	if (k > n)
		k = n;
	return (double)v[k - 1] / 1000.0;
}

/* ---- a writer during the snapshot -------------------------------------- */

struct writer {
	reconnu *r;
	atomic_int stop;
	uint64_t next; /**< record number, goes on across runs */
	uint64_t calls, failed;
	uint64_t *ns;
	size_t cap;
};

static void *writer_main(void *arg)
{
	static const char *given[] = {"Alma", "Bruno", "Chloe", "Dario",
				      "Elif", "Femi",  "Goran", "Hana"};
	static const char *family[] = {"Okafor", "Lindqvist", "Moreau",
				       "Tanaka", "Novak",     "Silva"};
	struct writer *w = arg;
	while (!atomic_load(&w->stop) && w->calls < w->cap) {
		char id[32], mail[64];
		uint64_t k = w->next++;
		snprintf(id, sizeof(id), "w%" PRIu64, k);
		snprintf(mail, sizeof(mail), "writer%" PRIu64 "@example.org",
			 k / 2);
		const char *em[] = {mail};
		reconnu_record rec = {.source = "bench-writer",
				      .source_id = id,
				      .given_name = given[k % 8],
				      .family_name = family[k / 8 % 6],
				      .birth_date = "1990-05-17",
				      .emails = em,
				      .n_emails = 1};
		uint64_t lsn;
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (reconnu_upsert_nowait(w->r, &rec, NULL, &lsn) != 0)
			w->failed++;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		w->ns[w->calls++] =
		    (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u +
		    (uint64_t)t1.tv_nsec - (uint64_t)t0.tv_nsec;
		struct timespec gap = {0, 200000};
		nanosleep(&gap, NULL);
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b);
static double pct_us(const uint64_t *v, uint64_t n, double p);

/* Runs the writer for `seconds`, or around a snapshot when si is given.
 * Prints its latencies under `what`. @retval 0, -1 (snapshot failed). */
static int writer_run(struct writer *w, const char *what, double seconds,
		      reconnu_snapshot_info *si)
{
	pthread_t t;
	int rc = 0;
	w->calls = w->failed = 0;
	atomic_store(&w->stop, 0);
	if (pthread_create(&t, NULL, writer_main, w) != 0)
		return -1;
	if (si) {
		rc = reconnu_snapshot(w->r, si) == 0 ? 0 : -1;
	} else {
		struct timespec d = {
		    (time_t)seconds,
		    (long)((seconds - (double)(time_t)seconds) * 1e9)};
		nanosleep(&d, NULL);
	}
	atomic_store(&w->stop, 1);
	pthread_join(t, NULL);
	qsort(w->ns, w->calls, sizeof(*w->ns), cmp_u64);
	if (w->calls)
		printf("writer %s: %" PRIu64 " upserts (%" PRIu64
		       " failed), latency ms: p50 %.3f p99 %.3f max %.3f\n",
		       what, w->calls, w->failed,
		       pct_us(w->ns, w->calls, 0.5) / 1e3,
		       pct_us(w->ns, w->calls, 0.99) / 1e3,
		       pct_us(w->ns, w->calls, 1.0) / 1e3);
	return rc;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: reconnu-bench-inproc [options] FILE...\n"
	    "Upserts every row, then times reconnu_identify on a sample.\n\n"
	    "  --identify M         identify calls (default 100000)\n"
	    "  --data-dir DIR       durable engine: load with sync always (one\n"
	    "                       wait per --batch N records, default 1000),\n"
	    "                       then snapshot, reopen and time the cold start\n"
	    "  --perturb P          share of perturbed queries (0.5)\n"
	    "  --seed S             perturbation seed (1)\n"
	    "  --candidates K       max_candidates per identify (10)\n"
	    "  --dump FILE          every identify answer, one line each\n"
	    "                       (probabilities exact, in hex): compare\n"
	    "                       two builds' decisions with cmp\n"
	    "  --json               one JSON object on stdout\n"
	    "%s",
	    preset_usage);
}

int main(int argc, char **argv)
{
	struct preset_opts o;
	struct bench b = {
	    .want = 100000, .perturb = 0.5, .rng = 1, .max_candidates = 10,
	    .batch = 1000};
	bool json = false;
	const char *data_dir = NULL;
	int status = 2;
	preset_opts_create(&o);
	for (int i = 1; i < argc;) {
		int rc = preset_opts_arg(&o, argc, argv, &i);
		if (rc < 0)
			goto out;
		if (rc > 0)
			continue;
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--json") == 0) {
			json = true;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			status = 0;
			goto out;
		} else if (v && strcmp(a, "--identify") == 0) {
			b.want = strtoull(v, NULL, 10);
			i++;
		} else if (v && strcmp(a, "--perturb") == 0) {
			b.perturb = strtod(v, NULL);
			i++;
		} else if (v && strcmp(a, "--seed") == 0) {
			b.rng = strtoull(v, NULL, 10);
			i++;
		} else if (v && strcmp(a, "--data-dir") == 0) {
			data_dir = v;
			i++;
		} else if (v && strcmp(a, "--batch") == 0) {
			b.batch = strtoull(v, NULL, 10) ? strtoull(v, NULL, 10) : 1;
			i++;
		} else if (v && strcmp(a, "--dump") == 0) {
			if (b.dump)
				fclose(b.dump);
			b.dump = fopen(v, "w");
			if (!b.dump) {
				fprintf(stderr, "--dump %s: %s\n", v,
					strerror(errno));
				goto out;
			}
			i++;
		} else if (v && strcmp(a, "--candidates") == 0) {
			b.max_candidates = strtoul(v, NULL, 10);
			i++;
		} else {
			fprintf(stderr, "unknown option %s\n", a);
			usage(stderr);
			goto out;
		}
		i++;
	}
	if (preset_opts_finish(&o) != 0)
		goto out;
	reconnu_config cfg;
	preset_config(&o, &cfg);
	uint64_t rss0 = preset_rss_bytes(), bad_rows = 0;
	reconnu_storage sto = {.dir = data_dir, .sync = RECONNU_SYNC_ALWAYS};
	if ((data_dir ? reconnu_open_storage(&cfg, &sto, &b.r, NULL)
		      : reconnu_open(&cfg, &b.r)) != 0) {
		fprintf(stderr, "reconnu_open: %s\n", reconnu_last_error());
		goto out;
	}
	double t0 = preset_now();
	if (preset_each_row(&o, on_load, &b, &bad_rows) != 0)
		goto out;
	if (b.last_lsn && reconnu_wait_durable(b.r, b.last_lsn) != 0)
		goto out;
	double load_s = preset_now() - t0;
	uint64_t rss1 = preset_rss_bytes();
	if (data_dir) {
		reconnu_snapshot_info si;
		printf("durable load (sync always, one wait per %" PRIu64
		       " records): %.0f records/s\n",
		       b.batch, load_s > 0 ? (double)b.rows / load_s : 0);
		fflush(stdout);
		struct writer w = {.r = b.r, .cap = 1 << 20};
		if (!(w.ns = malloc(w.cap * sizeof(*w.ns)))) {
			fprintf(stderr, "out of memory\n");
			goto out;
		}
		double s0 = preset_now();
		int wrc = writer_run(&w, "during the snapshot", 0, &si);
		double s1 = preset_now();
		if (wrc == 0) {
			printf("snapshot with the writer: %" PRIu64
			       " records, %.1f MiB in %.3f s; engine held "
			       "writers %.1f ms at most\n",
			       si.records, (double)si.bytes / 1048576.0,
			       si.seconds, si.write_pause * 1e3);
			wrc =
			    writer_run(&w, "without a snapshot", s1 - s0, NULL);
		}
		free(w.ns);
		if (wrc != 0 || reconnu_snapshot(b.r, &si) != 0) {
			fprintf(stderr, "snapshot: %s\n", reconnu_last_error());
			goto out;
		}
		printf("snapshot: %" PRIu64 " records, %" PRIu64
		       " entities, %.1f MiB in %.3f s; writers held %.1f ms "
		       "at most\n",
		       si.records, si.entities, (double)si.bytes / 1048576.0,
		       si.seconds, si.write_pause * 1e3);
		reconnu_close(b.r);
		b.r = NULL;
		reconnu_recovery rec;
		double c0 = preset_now();
		if (reconnu_open_storage(&cfg, &sto, &b.r, &rec) != 0) {
			fprintf(stderr, "reopen: %s\n", reconnu_last_error());
			goto out;
		}
		double cold = preset_now() - c0;
		printf("cold start: %.3f s (snapshot of %" PRIu64
		       " records loaded in %.3f s = %.0f records/s, %" PRIu64
		       " log frames replayed)\n",
		       cold, rec.snapshot_records, rec.snapshot_seconds,
		       rec.snapshot_seconds > 0
			   ? (double)rec.snapshot_records / rec.snapshot_seconds
			   : 0,
		       rec.replayed);
		fflush(stdout);
	}
	reconnu_stats st = {0};
	reconnu_get_stats(b.r, &st);
	double mib = (double)(rss1 > rss0 ? rss1 - rss0 : 0) / 1048576.0;
	double mib_per_m = b.rows ? mib * 1e6 / (double)b.rows : 0;
	double rps = load_s > 0 ? (double)b.rows / load_s : 0;
	if (!json) {
		/* now: the identify pass can be long on big entities */
		printf("upsert: %" PRIu64 " records (%" PRIu64
		       " rejected, %" PRIu64 " bad rows) in %.2f s = %.0f "
		       "records/s, %" PRIu64 " entities\n",
		       b.rows, b.rejected, bad_rows, load_s, rps, st.entities);
		printf("memory: RSS +%.1f MiB = %.1f MiB per million records "
		       "(engine estimate %.1f MiB)\n",
		       mib, mib_per_m, (double)st.memory_bytes / 1048576.0);
		fflush(stdout);
	}

	if (b.want > 0 && b.rows > 0) {
		b.ns = malloc(b.want * sizeof(*b.ns));
		if (b.ns == NULL) {
			fprintf(stderr, "out of memory\n");
			goto out;
		}
		uint64_t bad2 = 0;
		b.stride = b.rows > b.want ? b.rows / b.want : 1;
		/* more calls than rows: read the input again */
		while (b.calls < b.want) {
			uint64_t before = b.calls;
			b.seen = 0;
			if (preset_each_row(&o, on_identify, &b, &bad2) != 0)
				goto out;
			if (b.calls == before)
				break;
		}
		qsort(b.ns, b.calls, sizeof(*b.ns), cmp_u64);
	}
	double sum = 0;
	for (uint64_t k = 0; k < b.calls; k++)
		sum += (double)b.ns[k];
	double mean = b.calls ? sum / (double)b.calls / 1000.0 : 0;
	double p[5] = {0};
	static const double q[5] = {0.5, 0.9, 0.99, 0.999, 1.0};
	for (int k = 0; b.calls && k < 5; k++)
		p[k] = pct_us(b.ns, b.calls, q[k]);
	double hit = b.calls ? (double)b.hits / (double)b.calls : 0;
	if (json) {
		printf(
		    "{\"records\": %" PRIu64 ", \"bad_rows\": %" PRIu64
		    ", \"rejected\": %" PRIu64 ", \"entities\": %" PRIu64
		    ", \"load_seconds\": %.3f, \"records_per_s\": %.0f"
		    ", \"rss_mib\": %.1f, \"rss_mib_per_million\": %.1f"
		    ", \"engine_memory_mib\": %.1f, \"identify_calls\": "
		    "%" PRIu64 ", \"perturbed\": %" PRIu64
		    ", \"p50_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f"
		    ", \"p999_us\": %.1f, \"max_us\": %.1f, \"mean_us\": %.1f"
		    ", \"same_entity\": %.4f}\n",
		    b.rows, bad_rows, b.rejected, st.entities, load_s, rps, mib,
		    mib_per_m, (double)st.memory_bytes / 1048576.0, b.calls,
		    b.perturbed, p[0], p[1], p[2], p[3], p[4], mean, hit);
	} else {
		printf("identify: %" PRIu64 " calls (%" PRIu64
		       " perturbed, %" PRIu64 " failed), latency µs: p50 %.1f "
		       "p90 %.1f p99 %.1f p999 %.1f max %.1f mean %.1f; same "
		       "entity as the row's own %.2f%%\n",
		       b.calls, b.perturbed, b.failed, p[0], p[1], p[2], p[3],
		       p[4], mean, 100 * hit);
	}
	status = 0;
out:
	if (b.dump && fclose(b.dump) != 0 && status == 0) {
		fprintf(stderr, "--dump: %s\n", strerror(errno));
		status = 1;
	}
	reconnu_close(b.r);
	free(b.ns);
	preset_opts_destroy(&o);
	return status;
}
