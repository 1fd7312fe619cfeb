/*
 * test_wal — the write-ahead log: format and recovery against every cut and
 * every flipped byte, hostile tails, fault injection (fail-stop), the reply
 * barrier, simulated power loss at many crash points, group commit, a real
 * ENOSPC on a small tmpfs.
 *
 * Includes wal.c to reach the CRC and the read-window peak.
 * The power-loss simulator (struct sim) is a wal_io backend over real
 * files that remembers, per file, how many bytes were written and how
 * many a completed fdatasync covered, and whether the directory entry was
 * fsync'ed; sim_crash() then drops, zero-fills or garbles what was not.
 */
#include "../../engine/persist/wal.c"
#include "unit.h"

#include <sys/mount.h>
#include <sys/wait.h>

static char root[256];	    /* real disk: fsync costs what it costs */
static char fast_root[256]; /* tmpfs when there is one: fsync is free */
static int case_no;

static uint64_t rng_state = 0x3a1b9c7d5e2f4a68ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/** A fresh empty directory under root. */
static void new_dir(char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/c%d", root, ++case_no);
	mkdir(buf, 0755);
}

/** Same in fast_root, for the loops that reopen a log thousands of times. */
static void new_fast_dir(char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/c%d", fast_root, ++case_no);
	mkdir(buf, 0755);
}

/** Removes the files of dir (no subdirectories), without a shell. */
static void clear_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
}

static void rm_rf(const char *dir)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd)) {
	}
}

/** Deterministic payload of frame lsn (0..60 bytes). */
static size_t payload_of(uint64_t lsn, uint8_t *buf)
{
	size_t len = (size_t)((lsn * 37) % 61);
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(lsn * 131 + i * 7);
	return len;
}

/* ---- replay collector --------------------------------------------------- */

struct got {
	uint64_t n;	/**< frames replayed */
	uint64_t first; /**< first LSN */
	uint64_t last;	/**< last LSN */
	int bad;	/**< out of order or wrong payload */
};

static int collect(void *ctx, uint64_t lsn, uint8_t type, const void *p,
		   size_t len)
{
	struct got *g = ctx;
	uint8_t want[64];
	size_t wl = payload_of(lsn, want);
	if (g->n && lsn != g->last + 1)
		g->bad++;
	if (type != (uint8_t)(lsn & 0xff) || len != wl ||
	    (len && memcmp(p, want, len)))
		g->bad++;
	if (!g->n)
		g->first = lsn;
	g->last = lsn;
	g->n++;
	return 0;
}

/** Backend for open_dir: NULL (io_uring), or a never-crashing simulator in
 *  the every-offset loops, where a ring per open would dominate. */
static struct wal_io *open_io;

static int open_dir(const char *dir, int force, struct wal **w, struct got *g,
		    struct wal_recovery *rec, char *err)
{
	struct wal_options o = {
	    .dir = dir, .force_recovery = force, .io = open_io};
	memset(g, 0, sizeof(*g));
	return wal_open(&o, collect, g, w, rec, err, 512);
}

/** Appends lsn-derived frames until next_lsn reaches upto, one batch each
 *  (wal_wait) when each_sync. @retval appends that failed. */
static int fill(struct wal *w, uint64_t count, int each_sync)
{
	uint8_t buf[64];
	int bad = 0;
	for (uint64_t i = 0; i < count; i++) {
		struct wal_stats st;
		wal_stats(w, &st);
		uint64_t lsn = st.next_lsn, got;
		size_t len = payload_of(lsn, buf);
		if (wal_append(w, (uint8_t)lsn, buf, len, NULL, NULL, &got) ||
		    got != lsn)
			bad++;
		else if (each_sync && wal_wait(w, lsn))
			bad++;
	}
	return bad;
}

/** Reads the whole file into a malloc'ed buffer. */
static uint8_t *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long sz = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc((size_t)sz + 1);
	*n = fread(b, 1, (size_t)sz, f);
	fclose(f);
	return b;
}

static void spit(const char *path, const void *b, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (n)
		fwrite(b, 1, n, f);
	fclose(f);
}

/** Frame end offsets of a one-segment log image (header at 0). */
static size_t frame_ends(const uint8_t *b, size_t n, uint64_t *ends)
{
	size_t k = 0;
	for (size_t off = WAL_HDR; off + WAL_HDR <= n;) {
		off += WAL_HDR + le_get32(b + off + 4);
		ends[k++] = off;
	}
	return k;
}

/* ---- tests --------------------------------------------------------------- */

static void test_crc(void)
{
	const char *v = "123456789";
	is_int(wal__crc32c(0, v, 9), 0xe3069283u, "CRC32C check value");
	is_int(wal__crc32c(0, "", 0), 0, "CRC32C of empty is 0");
	uint8_t buf[1000];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rng();
	uint32_t sw = ~crc_sw(~0u, buf, sizeof(buf));
	is_int(wal__crc32c(0, buf, sizeof(buf)), sw,
	       "hardware and table CRC agree");
	is_int(wal__crc32c(wal__crc32c(0, buf, 333), buf + 333, 667), sw,
	       "CRC chains");
}

static void test_basic(void)
{
	char dir[300], err[512];
	struct wal *w;
	struct got g;
	struct wal_recovery rec;
	new_dir(dir, sizeof(dir));
	int rc = open_dir(dir, 0, &w, &g, &rec, err);
	is_int(rc, 0, "open empty dir");
	is_int(rec.next_lsn, 1, "empty log starts at LSN 1");
	is_int(fill(w, 100, 0), 0, "100 appends");
	is_int(wal_wait(w, 100), 0, "wait for the last");
	is_int(wal_durable_lsn(w), 100, "durable LSN 100");
	uint8_t big[100];
	is_int(wal_append(w, 1, big, (16u << 20) + 1, NULL, NULL, NULL),
	       -EMSGSIZE, "over the frame cap refused");
	is_int(wal_wait(w, 101), -EINVAL, "wait on an unassigned LSN refused");
	struct wal_stats st;
	wal_stats(w, &st);
	is_int(st.frames, 100, "stats: frames");
	ok(st.syncs >= 1 && st.syncs <= st.batches, "stats: syncs");
	wal_close(w);
	rc = open_dir(dir, 0, &w, &g, &rec, err);
	is_int(rc, 0, "reopen");
	is_int(g.n, 100, "all frames replayed");
	is_int(g.bad, 0, "in order, payloads intact");
	is_int(rec.truncated, 0, "nothing cut");
	is_int(fill(w, 5, 1), 0, "append after reopen");
	wal_close(w);
	rc = open_dir(dir, 0, &w, &g, &rec, err);
	ok(rc == 0 && g.n == 105 && g.bad == 0 && rec.segments == 2,
	   "second reopen: 105 frames over 2 segments");
	wal_close(w);
	rm_rf(dir);
}

/* wal_append_batch: consecutive LSNs, one group, all-or-nothing, replayed
 * as single frames (the on-disk format does not change). */
static void test_append_batch(void)
{
	char dir[300], err[512];
	struct wal *w;
	struct got g;
	struct wal_recovery rec;
	new_dir(dir, sizeof(dir));
	is_int(open_dir(dir, 0, &w, &g, &rec, err), 0, "open empty dir");
	is_int(fill(w, 3, 0), 0, "3 single appends first");
	enum { N = 40 };
	uint8_t bufs[N][64];
	struct wal_item it[N];
	for (int i = 0; i < N; i++) {
		uint64_t lsn = 4 + (uint64_t)i;
		it[i] = (struct wal_item){.type = (uint8_t)lsn,
					  .payload = bufs[i],
					  .len = payload_of(lsn, bufs[i])};
	}
	uint64_t last = 0;
	is_int(wal_append_batch(w, it, N, &last), 0, "batch of 40 queued");
	is_int(last, 3 + N, "batch got the next 40 LSNs");
	is_int(wal_append_batch(w, it, 0, &last), 0, "empty batch: no-op");
	is_int(last, 3 + N, "empty batch leaves *last_lsn alone");
	struct wal_item huge[2] = {
	    it[0], {.type = 1, .payload = bufs[0], .len = (16u << 20) + 1}};
	is_int(wal_append_batch(w, huge, 2, &last), -EMSGSIZE,
	       "an item over the frame cap refuses the whole batch");
	struct wal_stats st;
	wal_stats(w, &st);
	is_int(st.next_lsn, 4 + N, "refused batch took no LSN");
	is_int(fill(w, 2, 0), 0, "single appends after the batch");
	is_int(wal_wait(w, 5 + N), 0, "wait for the last");
	wal_stats(w, &st);
	is_int(st.frames, 5 + N, "stats: every frame written");
	wal_close(w);
	is_int(open_dir(dir, 0, &w, &g, &rec, err), 0, "reopen");
	is_int(g.n, 5 + N, "every frame replayed");
	is_int(g.bad, 0, "in LSN order, types and payloads intact");
	wal_close(w);
	rm_rf(dir);
}

/** A one-segment log of 20 frames, one synced batch each. */
static uint8_t *make_image(size_t *n, uint64_t *ends, size_t *nframes)
{
	char dir[300], err[512], path[400];
	struct wal *w;
	struct wal_options o = {.dir = dir, .io = open_io, .no_prealloc = 1};
	new_fast_dir(dir, sizeof(dir));
	wal_open(&o, NULL, NULL, &w, NULL, err, 512);
	fill(w, 20, 1);
	wal_close(w);
	seg_path(path, sizeof(path), dir, 1, "");
	uint8_t *b = slurp(path, n);
	*nframes = frame_ends(b, *n, ends);
	rm_rf(dir);
	return b;
}

static void test_truncate_every_offset(void)
{
	uint64_t ends[64];
	size_t n, nf;
	uint8_t *img = make_image(&n, ends, &nf);
	is_int(nf, 20, "image has 20 frames");
	char dir[300], path[400], err[512];
	new_fast_dir(dir, sizeof(dir));
	seg_path(path, sizeof(path), dir, 1, "");
	int wrong = 0, refused_short = 0, append_bad = 0, trunc_bad = 0;
	uint64_t t0 = now_ns();
	for (size_t cut = 0; cut <= n; cut++) {
		clear_dir(dir);
		spit(path, img, cut);
		struct wal *w;
		struct got g;
		struct wal_recovery rec;
		int rc = open_dir(dir, 0, &w, &g, &rec, err);
		if (cut < WAL_HDR) {
			refused_short +=
			    rc == -EUCLEAN && strstr(err, "offset");
			continue;
		}
		uint64_t want = 0;
		while (want < nf && ends[want] <= cut)
			want++;
		if (rc || g.n != want || g.bad) {
			wrong++;
			continue;
		}
		int cut_expected = cut != (want ? ends[want - 1] : WAL_HDR);
		if ((rec.truncated == 1) != cut_expected)
			trunc_bad++;
		append_bad += fill(w, 1, 1);
		wal_close(w);
		rc = open_dir(dir, 0, &w, &g, &rec, err);
		if (rc || g.n != want + 1 || g.bad)
			append_bad++;
		wal_close(w);
	}
	is_int(wrong, 0, "every cut: exactly the frames before it recover");
	is_int(trunc_bad, 0, "every cut: a torn tail is reported");
	is_int(append_bad, 0, "every cut: appending after recovery works");
	is_int(refused_short, WAL_HDR,
	       "cut inside the file header: refused with the offset");
	printf("# %zu cuts in %.1f s\n", n + 1, (now_ns() - t0) / 1e9);
	free(img);
	rm_rf(dir);
}

static void test_flip_every_offset(void)
{
	uint64_t ends[64];
	size_t n, nf;
	uint8_t *img = make_image(&n, ends, &nf);
	char dir[300], path[400], err[512];
	new_fast_dir(dir, sizeof(dir));
	seg_path(path, sizeof(path), dir, 1, "");
	int last_ok = 0, early_refused = 0, forced_ok = 0, msg_ok = 0,
	    nlast = 0, nearly = 0;
	for (size_t off = 0; off < n; off++) {
		clear_dir(dir);
		img[off] ^= 0xff;
		spit(path, img, n);
		img[off] ^= 0xff;
		struct wal *w;
		struct got g;
		struct wal_recovery rec;
		size_t k = 0; /* damaged frame index, nf = file header */
		if (off < WAL_HDR)
			k = nf;
		else
			while (ends[k] <= off)
				k++;
		int rc = open_dir(dir, 0, &w, &g, &rec, err);
		if (k == nf - 1) {
			nlast++;
			last_ok += rc == 0 && g.n == nf - 1 && !g.bad &&
				   rec.truncated == 1;
			if (!rc)
				wal_close(w);
			continue;
		}
		nearly++;
		early_refused += rc == -EUCLEAN && g.n == 0;
		msg_ok += strstr(err, path) && strstr(err, "offset");
		if (!rc)
			wal_close(w);
		rc = open_dir(dir, 1, &w, &g, &rec, err);
		uint64_t want = k == nf ? 0 : k;
		forced_ok +=
		    rc == 0 && g.n == want && !g.bad && rec.truncated == 2;
		if (!rc) {
			fill(w, 1, 1);
			wal_close(w);
		}
	}
	is_int(last_ok, nlast, "flip in the last frame: prefix recovered");
	is_int(early_refused, nearly, "flip earlier: refuses to start");
	is_int(msg_ok, nearly, "refusal names the file and the offset");
	is_int(forced_ok, nearly, "force_recovery starts with the prefix");
	free(img);
	rm_rf(dir);
}

static void test_hostile_tails(void)
{
	uint64_t ends[64];
	size_t n, nf;
	uint8_t *img = make_image(&n, ends, &nf);
	char dir[300], path[400], err[512];
	new_fast_dir(dir, sizeof(dir));
	seg_path(path, sizeof(path), dir, 1, "");
	const char *names[] = {"zeros", "garbage", "huge length",
			       "header-only frame", "zeros, garbage, data"};
	uint32_t salt = le_get32(img + 12);
	for (int shape = 0; shape < 5; shape++) {
		size_t tail = 1 << 16;
		uint8_t *b = calloc(1, n + tail);
		memcpy(b, img, n);
		uint8_t *t = b + n;
		if (shape == 1)
			for (size_t i = 0; i < tail; i++)
				t[i] = (uint8_t)rng();
		if (shape == 2 || shape == 3) {
			le_put32(t, WAL_FRAME_MAGIC);
			le_put32(t + 4, shape == 2 ? 0xfffffff0u : 8);
			le_put64(t + 8, nf + 1);
			le_put32(t + 16, salt);
			le_put32(t + 20, 1);
			tail = shape == 2 ? 4096 : WAL_HDR;
		}
		if (shape == 4) {
			/* ALICE: zeros, then garbage, then a copy of real
			 * frames (valid checksums, stale LSNs) */
			for (size_t i = 4096; i < 8192; i++)
				t[i] = (uint8_t)rng();
			memcpy(t + 8192, img + WAL_HDR, n - WAL_HDR);
			tail = 8192 + n - WAL_HDR;
		}
		clear_dir(dir);
		spit(path, b, n + tail);
		atomic_store(&wal__rbuf_peak, 0);
		struct wal *w;
		struct got g;
		struct wal_recovery rec;
		int rc = open_dir(dir, 0, &w, &g, &rec, err);
		char msg[120];
		size_t sz = 0;
		free(slurp(path, &sz));
		if (shape == 0) {
			/* zeros to EOF: a preallocated segment's clean end */
			snprintf(msg, sizeof(msg),
				 "tail of %s: all %zu frames, clean end, "
				 "trimmed, not reported as a cut",
				 names[shape], nf);
			ok(rc == 0 && g.n == nf && !g.bad &&
			       rec.truncated == 0 && rec.cut_bytes == 0 &&
			       rec.zero_tail_bytes == tail && sz == n,
			   msg);
		} else {
			snprintf(msg, sizeof(msg),
				 "tail of %s: all %zu frames, tail cut, no big "
				 "buffer",
				 names[shape], nf);
			ok(rc == 0 && g.n == nf && !g.bad &&
			       rec.truncated == 1 && rec.cut_offset == n &&
			       sz == n &&
			       atomic_load(&wal__rbuf_peak) <=
				   WAL_RBUF_MIN + (16u << 20),
			   msg);
		}
		if (rc)
			printf("# %s\n", err);
		else
			wal_close(w);
		free(b);
	}
	free(img);
	rm_rf(dir);
}

/* ---- fault injection ----------------------------------------------------- */

struct cbrec {
	_Atomic int ok, failed;
	_Atomic uint64_t max_ok_lsn;
};

static void on_durable(void *ctx, uint64_t lsn, int status)
{
	struct cbrec *c = ctx;
	if (status == 0) {
		c->ok++;
		if (lsn > atomic_load(&c->max_ok_lsn))
			atomic_store(&c->max_ok_lsn, lsn);
	} else {
		c->failed++;
	}
}

/* wal_append_batch callbacks: an item's cb runs once, with its LSN, once
 * durable; a failed sync calls it with the error and never with 0. */
static void test_append_batch_callbacks(void)
{
	for (int fail = 0; fail < 2; fail++) {
		char dir[300], err[512];
		struct wal *w;
		struct got g;
		struct cbrec c = {0};
		new_dir(dir, sizeof(dir));
		open_dir(dir, 0, &w, &g, NULL, err);
		fill(w, 2, 1);
		if (fail)
			wal_errinj_set(w, WAL_ERRINJ_FSYNC_EIO, -1, 0);
		uint8_t buf[64] = {0};
		struct wal_item it[10];
		for (int i = 0; i < 10; i++)
			it[i] = (struct wal_item){9, buf, 10, NULL, NULL};
		it[4].cb = it[9].cb = on_durable;
		it[4].cb_ctx = it[9].cb_ctx = &c;
		uint64_t last = 0;
		is_int(wal_append_batch(w, it, 10, &last), 0,
		       "batch with callbacks queued");
		int wrc = wal_wait(w, last);
		if (fail)
			wal_errinj_set(w, WAL_ERRINJ_FSYNC_EIO, 0, 0);
		wal_close(w);
		if (!fail) {
			ok(wrc == 0 && c.ok == 2 && c.failed == 0 &&
			       c.max_ok_lsn == last && last == 12,
			   "durable batch: both callbacks once, last LSN");
		} else {
			ok(wrc == -EIO && c.ok == 0 && c.failed == 2,
			   "failed sync: callbacks see the error, never 0");
		}
		rm_rf(dir);
	}
}

static void test_fault_injection(void)
{
	static const char *pname[] = {"ENOSPC on write", "short write",
				      "EIO on fsync", "ECANCELED fsync"};
	static const int perr[] = {-ENOSPC, -ENOSPC, -EIO, -ECANCELED};
	for (int p = 0; p < 4; p++)
		for (int persist = 0; persist < 2; persist++) {
			char dir[300], err[512], msg[160];
			struct wal *w;
			struct got g;
			struct cbrec c = {0};
			new_dir(dir, sizeof(dir));
			open_dir(dir, 0, &w, &g, NULL, err);
			fill(w, 5, 1);
			wal_errinj_set(w, (enum wal_errinj)p, persist ? -1 : 1,
				       0);
			uint8_t buf[64];
			uint64_t lsn = 0;
			int napp = 0;
			for (int i = 0; i < 3; i++)
				napp += !wal_append(w, 9, buf, 10, on_durable,
						    &c, &lsn);
			int wrc = wal_wait(w, lsn);
			int after =
			    wal_append(w, 9, buf, 10, on_durable, &c, NULL);
			int failed = wal_failed(w);
			uint64_t durable = wal_durable_lsn(w);
			wal_errinj_set(w, (enum wal_errinj)p, 0, 0);
			wal_close(w);
			snprintf(msg, sizeof(msg),
				 "%s (%s): never acknowledged, LSN stays 5, "
				 "fail-stop, appends refused",
				 pname[p], persist ? "persistent" : "once");
			ok(napp >= 1 && wrc == perr[p] && c.ok == 0 &&
			       c.failed == napp && durable == 5 &&
			       failed == perr[p] && after == perr[p],
			   msg);
			if (!(c.ok == 0 && c.failed == napp))
				printf(
				    "# wrc %d ok %d failed %d durable %" PRIu64
				    " failed %d after %d\n",
				    wrc, (int)c.ok, (int)c.failed, durable,
				    failed, after);
			int rc = open_dir(dir, 0, &w, &g, NULL, err);
			snprintf(msg, sizeof(msg),
				 "%s (%s): reopen finds the 5 acknowledged "
				 "frames only",
				 pname[p], persist ? "persistent" : "once");
			ok(rc == 0 && g.n == 5 && !g.bad, msg);
			if (!rc)
				wal_close(w);
			rm_rf(dir);
		}
}

/* ---- power-loss simulator ------------------------------------------------ */

/* Per file: the size the application sees, the size a completed fdatasync
 * made durable, and the span written since (overwrites inside a zero-filled
 * preallocated segment are as volatile as appends). */
struct sim_file {
	char path[400];
	int fd;		  /**< -1 once closed */
	uint64_t written; /**< file size as the app sees it */
	uint64_t synced;  /**< file size covered by a completed fdatasync */
	uint64_t dlo, dhi; /**< bytes written since that sync (dlo == dhi:
			      none); the WAL writes each byte once, over
			      zeros when below synced */
	int entry_synced; /**< directory entry made durable */
};

struct sim {
	struct wal_io io;
	pthread_mutex_t mu; /**< the WAL's helper thread calls in too */
	struct sim_file f[256];
	int nf;
	int ops_left;	     /**< write/sync ops before the crash (-1 never) */
	int crashed;	     /**< after the crash every op fails */
	uint64_t synced_lsn; /**< highest LSN covered by a completed sync */
	uint64_t written_lsn;
	uint64_t sync_delay_us; /**< each sync takes this long */
	int preallocs;		/**< spares made */
};

static struct sim_file *sim_find(struct sim *s, int fd)
{
	for (int i = s->nf - 1; i >= 0; i--)
		if (s->f[i].fd == fd)
			return &s->f[i];
	return NULL;
}

static struct sim_file *sim_find_path(struct sim *s, const char *path)
{
	for (int i = s->nf - 1; i >= 0; i--)
		if (!strcmp(s->f[i].path, path))
			return &s->f[i];
	return NULL;
}

/** A slot for path: its existing one, else a new one (NULL: full). */
static struct sim_file *sim_slot(struct sim *s, const char *path)
{
	struct sim_file *f = sim_find_path(s, path);
	if (f)
		return f;
	if (s->nf == 256) { /* long-lived simulator: forget closed files */
		int k = 0;
		for (int i = 0; i < s->nf; i++)
			if (s->f[i].fd >= 0)
				s->f[k++] = s->f[i];
		s->nf = k;
	}
	if (s->nf == 256)
		return NULL;
	f = &s->f[s->nf++];
	memset(f, 0, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "%s", path);
	f->fd = -1;
	return f;
}

/** Counts one write/sync op; true when the machine is (now) down. */
static int sim_tick(struct sim *s)
{
	if (s->crashed)
		return 1;
	if (s->ops_left > 0 && --s->ops_left == 0)
		s->crashed = 1;
	return 0;
}

static int sim_open(struct wal_io *io, const char *path, int flags, mode_t mode)
{
	struct sim *s = (struct sim *)io;
	struct stat st;
	pthread_mutex_lock(&s->mu);
	int existed = stat(path, &st) == 0;
	struct sim_file *f = s->crashed ? NULL : sim_slot(s, path);
	int fd = f ? open(path, flags, mode) : -EIO;
	if (fd < 0 && f)
		fd = -errno;
	if (fd >= 0) {
		int known = f->fd >= 0 || f->written || f->entry_synced;
		f->fd = fd;
		if (flags & O_TRUNC) {
			f->written = f->synced = f->dlo = f->dhi = 0;
		} else if (!known && existed) {
			/* there before: durable as it is */
			f->written = f->synced = (uint64_t)st.st_size;
			f->dlo = f->dhi = 0;
		}
		if (!known)
			f->entry_synced = existed;
	}
	pthread_mutex_unlock(&s->mu);
	return fd;
}

static int sim_close(struct wal_io *io, int fd)
{
	struct sim *s = (struct sim *)io;
	pthread_mutex_lock(&s->mu);
	struct sim_file *f = sim_find(s, fd);
	if (f)
		f->fd = -1;
	pthread_mutex_unlock(&s->mu);
	return close(fd) ? -errno : 0;
}

static int sim_rename(struct wal_io *io, const char *from, const char *to)
{
	struct sim *s = (struct sim *)io;
	int rc = 0;
	pthread_mutex_lock(&s->mu);
	if (s->crashed)
		rc = -EIO;
	else if (rename(from, to))
		rc = -errno;
	for (int i = 0; !rc && i < s->nf; i++) {
		if (!strcmp(s->f[i].path, to)) /* replaced */
			s->f[i].path[0] = 0;
		if (!strcmp(s->f[i].path, from)) {
			snprintf(s->f[i].path, sizeof(s->f[i].path), "%s", to);
			s->f[i].entry_synced = 0;
		}
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int sim_fsync_dir(struct wal_io *io, int dirfd)
{
	struct sim *s = (struct sim *)io;
	(void)dirfd;
	pthread_mutex_lock(&s->mu);
	int rc = s->crashed ? -EIO : 0;
	for (int i = 0; !rc && i < s->nf; i++)
		s->f[i].entry_synced = 1;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int sim_ftruncate(struct wal_io *io, int fd, uint64_t size)
{
	struct sim *s = (struct sim *)io;
	int rc = 0;
	pthread_mutex_lock(&s->mu);
	struct sim_file *f = sim_find(s, fd);
	if (s->crashed || !f)
		rc = -EIO;
	else if (ftruncate(fd, (off_t)size))
		rc = -errno;
	if (!rc) {
		f->written = size;
		if (f->synced > size)
			f->synced = size;
		if (f->dhi > size)
			f->dhi = size;
		if (f->dlo > f->dhi)
			f->dlo = f->dhi;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static void sim_synced(struct sim *s, struct sim_file *f)
{
	f->synced = f->written;
	f->dlo = f->dhi = 0;
	s->synced_lsn = s->written_lsn;
}

static void sim_write_sync(struct wal_io *io, int fd, const struct iovec *iov,
			   int iovcnt, uint64_t off, int sync, int *wres,
			   int *sres)
{
	struct sim *s = (struct sim *)io;
	pthread_mutex_lock(&s->mu);
	struct sim_file *f = sim_find(s, fd);
	if (sync)
		*sres = -ECANCELED;
	if (sim_tick(s) || !f) {
		*wres = -EIO;
		goto out;
	}
	ssize_t k = pwritev(fd, iov, iovcnt, (off_t)off);
	*wres = k < 0 ? -errno : (int)k;
	if (k < 0)
		goto out;
	if (k > 0) {
		if (f->dlo == f->dhi || off < f->dlo)
			f->dlo = off;
		if (off + (uint64_t)k > f->dhi)
			f->dhi = off + (uint64_t)k;
	}
	if (off + (uint64_t)k > f->written)
		f->written = off + (uint64_t)k;
	for (int i = 0; i < iovcnt; i++) {
		const uint8_t *h = iov[i].iov_base;
		if (iov[i].iov_len >= WAL_HDR && le_get32(h) == WAL_FRAME_MAGIC)
			s->written_lsn = le_get64(h + 8);
	}
	if (!sync)
		goto out;
	if (sim_tick(s)) {
		*sres = -EIO;
		goto out;
	}
	if (s->sync_delay_us)
		usleep((useconds_t)s->sync_delay_us);
	sim_synced(s, f);
	*sres = 0;
out:
	pthread_mutex_unlock(&s->mu);
}

static int sim_sync(struct wal_io *io, int fd)
{
	struct sim *s = (struct sim *)io;
	int rc = 0;
	pthread_mutex_lock(&s->mu);
	struct sim_file *f = sim_find(s, fd);
	if (sim_tick(s) || !f)
		rc = -EIO;
	else
		sim_synced(s, f);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/** A spare: a sparse file reads as zeros (cheap on tmpfs), durable once
 *  made; its directory entry is not (the WAL never syncs it). Not a
 *  crash point: the helper runs beside the log's counted ops. */
static int sim_prealloc(struct wal_io *io, const char *path, uint64_t size,
			const _Atomic int *cancel)
{
	struct sim *s = (struct sim *)io;
	int rc = 0;
	(void)cancel;
	pthread_mutex_lock(&s->mu);
	struct sim_file *f = s->crashed ? NULL : sim_slot(s, path);
	int fd = f ? open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644) : -1;
	if (fd < 0 || ftruncate(fd, (off_t)size))
		rc = f ? -errno : -EIO;
	if (fd >= 0)
		close(fd);
	if (!rc) {
		f->written = f->synced = size;
		f->dlo = f->dhi = 0;
		f->entry_synced = 0;
		s->preallocs++;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static void sim_destroy(struct wal_io *io)
{
	(void)io;
}

static const struct wal_io_ops sim_ops = {
    .open = sim_open,
    .close = sim_close,
    .rename = sim_rename,
    .fsync_dir = sim_fsync_dir,
    .ftruncate = sim_ftruncate,
    .write_sync = sim_write_sync,
    .sync = sim_sync,
    .prealloc = sim_prealloc,
    .destroy = sim_destroy,
};

static void sim_init(struct sim *s, int ops_left)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	s->io.ops = &sim_ops;
	s->ops_left = ops_left;
}

/** Drops bytes [from, to) of an open file: back to zeros below synced
 *  (they overwrote zeros), gone above it. */
static void sim_drop(int fd, uint64_t from, uint64_t to, uint64_t synced)
{
	static const uint8_t z[4096];
	for (uint64_t o = from; o < to && o < synced;) {
		uint64_t k = synced - o < sizeof(z) ? synced - o : sizeof(z);
		if (to - o < k)
			k = to - o;
		if (pwrite(fd, z, (size_t)k, (off_t)o) != (ssize_t)k) {
		}
		o += k;
	}
	if (to > synced &&
	    ftruncate(fd, (off_t)(from > synced ? from : synced))) {
	}
}

/**
 * Power loss: files whose directory entry was never synced vanish; of
 * the others, the bytes written since the last completed fdatasync (from
 * dlo, or the synced size, to the file's end) are dropped (mode 0),
 * zeroed (1), garbled (2), partly kept (3), or zeros+garbage+kept (4,
 * ALICE).
 */
static void sim_crash(struct sim *s, int mode)
{
	for (int i = 0; i < s->nf; i++) {
		struct sim_file *f = &s->f[i];
		struct stat st;
		if (!f->path[0] || stat(f->path, &st))
			continue;
		if (!f->entry_synced) {
			unlink(f->path);
			continue;
		}
		uint64_t size = (uint64_t)st.st_size, from = f->synced,
			 to = size;
		/* written since the sync; not past dhi: zeros there are
		 * synced */
		if (f->dlo < f->dhi) {
			from = f->dlo < f->synced ? f->dlo : f->synced;
			to = f->dhi;
		}
		if (to > size)
			to = size;
		if (to <= from)
			continue;
		uint64_t span = to - from;
		int fd = open(f->path, O_RDWR);
		if (mode == 0 || mode == 3) {
			uint64_t keep = mode == 3 ? rng() % span : 0;
			sim_drop(fd, from + keep, to, f->synced);
		} else {
			uint64_t zero_to = mode == 4 ? from + span / 3 : to;
			uint64_t junk_to = mode == 4 ? from + 2 * span / 3 : to;
			for (uint64_t o = from; o < junk_to; o++) {
				uint8_t c = (mode == 1 || o < zero_to)
						? 0
						: (uint8_t)rng();
				if (pwrite(fd, &c, 1, (off_t)o) != 1) {
				}
			}
		}
		close(fd);
	}
}

/** Waits (bounded) until the log writes into a preallocated segment and
 *  the helper has the next spare ready (or gave up): takes the helper's
 *  timing out of a test. @retval 1 if so. */
static int wait_spare(struct wal *w)
{
	for (int i = 0; i < 5000 && !wal_failed(w); i++) {
		struct wal_stats st;
		wal_stats(w, &st);
		pthread_mutex_lock(&w->mu);
		int r = w->spare_ready || w->spare_off;
		pthread_mutex_unlock(&w->mu);
		if (st.prealloc_segments && r)
			return 1;
		usleep(1000);
	}
	return 0;
}

static void test_power_loss(void)
{
	int lost = 0, refused = 0, gaps = 0, after_bad = 0, points = 0,
	    pre_points = 0;
	uint64_t acked_total = 0;
	for (int run = 0; run < 4; run++) /* growing, preallocated x modes */
		for (int point = 1; point <= 60; point++) {
			int pre = run >> 1, mode_sync = run & 1;
			char dir[300], err[512];
			struct sim s;
			struct wal *w;
			struct got g;
			struct cbrec c = {0};
			new_fast_dir(dir, sizeof(dir));
			sim_init(&s, point);
			struct wal_options o = {
			    .dir = dir,
			    .segment_bytes = 700,
			    .sync = mode_sync ? WAL_SYNC_NONE : WAL_SYNC_ALWAYS,
			    .io = &s.io,
			    .no_prealloc = !pre};
			if (wal_open(&o, NULL, NULL, &w, NULL, err, 512))
				continue; /* crashed while creating */
			points++;
			uint8_t buf[64];
			for (uint64_t i = 0; i < 60 && !wal_failed(w); i++) {
				uint64_t lsn = i + 1, got;
				size_t len = payload_of(lsn, buf);
				/* every segment but the first one taken from a
				 * zero-filled spare, deterministically */
				if (pre)
					wait_spare(w);
				if (wal_append(w, (uint8_t)lsn, buf, len,
					       on_durable, &c, &got))
					break;
				if (i % 3 == 2)
					wal_wait(w, got);
			}
			struct wal_stats pst;
			wal_stats(w, &pst);
			pre_points += pst.prealloc_segments > 0;
			/* power lost before close: close must not trim or
			 * sync what the crash drops */
			pthread_mutex_lock(&s.mu);
			s.crashed = 1;
			pthread_mutex_unlock(&s.mu);
			wal_close(w);
			sim_crash(&s, point % 5);
			int rc = open_dir(dir, 0, &w, &g, NULL, err);
			if (rc) {
				refused++;
				printf("# point %d: %s\n", point, err);
				continue;
			}
			if (g.bad)
				gaps++;
			if (mode_sync == 0) {
				acked_total += (uint64_t)c.ok;
				if (g.n < atomic_load(&c.max_ok_lsn))
					lost++;
			}
			uint64_t before = g.n;
			after_bad += fill(w, 3, 1);
			wal_close(w);
			rc = open_dir(dir, 0, &w, &g, NULL, err);
			if (rc || g.n != before + 3 || g.bad)
				after_bad++;
			if (!rc)
				wal_close(w);
			rm_rf(dir);
		}
	printf("# %d crash points (%d in preallocated segments), %" PRIu64
	       " acknowledged frames checked\n",
	       points, pre_points, acked_total);
	ok(points > 200, "crash points exercised");
	ok(pre_points > 100, "crash points in preallocated segments");
	is_int(refused, 0, "recovery starts after every power loss");
	is_int(gaps, 0, "recovered frames are an intact prefix");
	is_int(lost, 0, "no acknowledged frame lost (sync always)");
	is_int(after_bad, 0, "appending after recovery works");
}

/* ---- reply barrier ------------------------------------------------------- */

struct barrier_ctx {
	struct wal *w;
	struct sim *s;
	uint64_t delay_ns;
	_Atomic uint64_t t_append[512];
	_Atomic int early, late_ok, n;
};

static void on_barrier(void *ctx, uint64_t lsn, int status)
{
	struct barrier_ctx *b = ctx;
	uint64_t now = now_ns();
	if (status == 0 && lsn <= b->s->synced_lsn &&
	    now - atomic_load(&b->t_append[lsn]) >= b->delay_ns)
		b->late_ok++;
	else
		b->early++;
}

static void *barrier_writer(void *arg)
{
	struct barrier_ctx *b = arg;
	for (int i = 0; i < 25; i++) {
		uint64_t t = now_ns(), lsn = 0;
		/* stored after the append: its callback cannot come before
		 * the 20 ms sync that starts after it */
		if (wal_append(b->w, 1, "x", 1, on_barrier, b, &lsn) == 0) {
			atomic_store(&b->t_append[lsn], t);
			b->n++;
		}
		if (i % 5 == 4)
			wal_wait(b->w, lsn);
	}
	return NULL;
}

static void test_reply_barrier(void)
{
	char dir[300], err[512];
	static struct barrier_ctx b;
	struct sim s;
	new_dir(dir, sizeof(dir));
	sim_init(&s, -1);
	struct wal_options o = {.dir = dir, .io = &s.io};
	wal_open(&o, NULL, NULL, &b.w, NULL, err, 512);
	b.s = &s;
	b.delay_ns = 20 * 1000000u;
	wal_errinj_set(b.w, WAL_ERRINJ_FSYNC_DELAY, -1, 20000);
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, barrier_writer, &b);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	struct wal_stats st;
	wal_stats(b.w, &st);
	wal_close(b.w);
	is_int(b.early, 0,
	       "no durable callback before its covering fsync ends (20 ms)");
	is_int(b.late_ok, b.n, "every frame acknowledged after its fsync");
	printf("# %d frames, %" PRIu64 " syncs with a 20 ms fsync\n", b.n,
	       st.syncs);
	rm_rf(dir);
}

/* ---- group commit -------------------------------------------------------- */

struct gc_ctx {
	struct wal *w;
	int per_thread;
	int wait_each;
	_Atomic int fails;
};

static void *gc_writer(void *arg)
{
	struct gc_ctx *g = arg;
	uint64_t lsn = 0;
	uint8_t buf[100] = {0};
	for (int i = 0; i < g->per_thread; i++) {
		if (wal_append(g->w, 2, buf, sizeof(buf), NULL, NULL, &lsn))
			g->fails++;
		else if (g->wait_each && wal_wait(g->w, lsn))
			g->fails++;
	}
	if (wal_wait(g->w, lsn))
		g->fails++;
	return NULL;
}

static void print_hist(const struct wal_stats *st)
{
	printf("#   batch sizes:");
	for (int b = 0; b < 12; b++)
		if (st->batch_hist[b])
			printf(" [%d..%d]:%" PRIu64, 1 << b, (2 << b) - 1,
			       st->batch_hist[b]);
	printf("\n");
}

static void test_group_commit(void)
{
	for (int wait_each = 1; wait_each >= 0; wait_each--) {
		char dir[300], err[512];
		struct gc_ctx g = {.per_thread = 500, .wait_each = wait_each};
		new_dir(dir, sizeof(dir));
		struct wal_options o = {.dir = dir};
		wal_open(&o, NULL, NULL, &g.w, NULL, err, 512);
		uint64_t t0 = now_ns();
		pthread_t t[4];
		for (int i = 0; i < 4; i++)
			pthread_create(&t[i], NULL, gc_writer, &g);
		for (int i = 0; i < 4; i++)
			pthread_join(t[i], NULL);
		double sec = (now_ns() - t0) / 1e9;
		struct wal_stats st;
		wal_stats(g.w, &st);
		wal_close(g.w);
		printf("# 4 threads x 500 appends (%s): %" PRIu64
		       " frames, %" PRIu64
		       " syncs, mean batch %.1f, max %" PRIu64
		       ", %.0f appends/s\n",
		       wait_each ? "each waits" : "no wait", st.frames,
		       st.syncs, (double)st.frames / (double)st.batches,
		       st.max_batch, (double)st.frames / sec);
		print_hist(&st);
		ok(g.fails == 0 && st.frames == 2000,
		   "group commit: all durable");
		ok(st.syncs < st.frames,
		   wait_each
		       ? "group commit: fewer syncs than frames (closed loop)"
		       : "group commit: fewer syncs than frames (open loop)");
		rm_rf(dir);
	}
}

/* ---- sync modes, segments ------------------------------------------------ */

static void test_batch_mode_and_segments(void)
{
	char dir[300], err[512];
	struct wal *w;
	struct got g;
	struct wal_recovery rec;
	new_dir(dir, sizeof(dir));
	struct wal_options o = {.dir = dir,
				.sync = WAL_SYNC_BATCH,
				.batch_ms = 5,
				.segment_bytes = 500};
	is_int(wal_open(&o, NULL, NULL, &w, NULL, err, 512), 0, "batch mode");
	fill(w, 50, 1);
	struct wal_stats st;
	wal_stats(w, &st);
	uint64_t syncs0 = st.syncs;
	usleep(30000);
	wal_stats(w, &st);
	ok(st.syncs > syncs0 && st.synced_lsn == 50,
	   "batch mode: the periodic fdatasync catches up");
	ok(st.segments > 3, "segments rotate at segment_bytes");
	is_int(wal_remove_before(w, 30) > 0, 1, "old segments removed");
	wal_close(w);
	o.from_lsn = 30;
	memset(&g, 0, sizeof(g));
	int rc = wal_open(&o, collect, &g, &w, &rec, err, 512);
	ok(rc == 0 && g.first == 30 && g.last == 50 && !g.bad,
	   "reopen from a snapshot LSN replays the rest");
	if (!rc)
		wal_close(w);
	o.from_lsn = 0;
	rc = wal_open(&o, collect, &g, &w, &rec, err, 512);
	ok(rc == -EUCLEAN && strstr(err, "missing"),
	   "replay from LSN 1 without the early segments is refused");
	if (!rc)
		wal_close(w);
	rm_rf(dir);
}

/* Segments whose frames all come before from_lsn (a snapshot covers them)
 * are validated once and not read again for the replay: what recovery
 * reports is the same for every from_lsn, and damage in such a segment
 * is still found. */
static void test_replay_from_skips_old(void)
{
	char dir[300], err[512], path[600];
	struct wal *w;
	struct wal_recovery rec;
	new_dir(dir, sizeof(dir));
	struct wal_options o = {
	    .dir = dir, .sync = WAL_SYNC_ALWAYS, .segment_bytes = 500};
	is_int(wal_open(&o, NULL, NULL, &w, NULL, err, 512), 0, "open");
	fill(w, 50, 1);
	wal_close(w);
	uint32_t segments = 0;
	int same = 1;
	for (uint64_t from = 1; from <= 51; from++) {
		struct got g = {0};
		o.from_lsn = from;
		int rc = wal_open(&o, collect, &g, &w, &rec, err, 512);
		if (rc) {
			same = 0;
			break;
		}
		wal_close(w);
		uint64_t want = 51 - from;
		same &= rec.frames == 50 && rec.first_lsn == 1 &&
			rec.last_lsn == 50 && rec.next_lsn == 51 &&
			rec.replayed == want && g.n == want && !g.bad &&
			(!want || (g.first == from && g.last == 50));
		if (from > 2) /* the first reopen added an empty segment */
			same &= rec.segments == segments;
		segments = rec.segments;
	}
	ok(same && segments > 3,
	   "replay from any LSN: same frames, LSNs and segments reported");
	seg_path(path, sizeof(path), dir, 1, "");
	int fd = open(path, O_RDWR);
	unsigned char b = 0;
	ok(fd >= 0 && pread(fd, &b, 1, WAL_HDR + 20) == 1, "first segment");
	b ^= 0x40;
	ok(pwrite(fd, &b, 1, WAL_HDR + 20) == 1, "flip a byte in it");
	close(fd);
	o.from_lsn = 45;
	int rc = wal_open(&o, NULL, NULL, &w, &rec, err, 512);
	ok(rc == -EUCLEAN && strstr(err, path),
	   "damage in a segment before from_lsn is still refused");
	if (!rc)
		wal_close(w);
	rm_rf(dir);
}

/* ---- preallocated segments ----------------------------------------------- */

/** Size of path, or -1. */
static long long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) ? -1 : (long long)st.st_size;
}

/* Real io_uring and disk: the first segment is switched to the spare once
 * it is ready, rotated segments come from spares and are trimmed to their
 * last frame, the live one keeps its zero tail, a clean close trims it,
 * and the spare left behind is taken by the next open at once. */
static void test_prealloc_rotation(void)
{
	char dir[300], err[512], path[400], spare[400];
	struct wal *w;
	struct got g;
	struct wal_recovery rec;
	enum { SEG = 64 << 10 };
	new_dir(dir, sizeof(dir));
	snprintf(spare, sizeof(spare), "%s/%s", dir, WAL_SPARE);
	struct wal_options o = {.dir = dir, .segment_bytes = SEG};
	memset(&g, 0, sizeof(g));
	is_int(wal_open(&o, collect, &g, &w, &rec, err, 512), 0, "open");
	ok(wait_spare(w), "first segment switched to a zero-filled spare");
	struct wal_stats st;
	wal_stats(w, &st);
	/* the grown first segment had no frame: replaced under its name */
	is_int(st.segments, 2, "early switch: one rotation");
	is_int(fill(w, 10, 1), 0, "10 frames");
	seg_path(path, sizeof(path), dir, 1, "");
	is_int(file_size(path), SEG, "live segment: preallocated size");
	struct wal_file_report rep;
	is_int(wal_inspect_file(path, 0, NULL, NULL, &rep), 0, "inspect");
	ok(rep.damage == 0 && rep.frames == 10 && rep.zero_tail > 0 &&
	       rep.valid_end + rep.zero_tail == SEG,
	   "live segment: 10 frames, then a clean zero tail");
	/* frames in groups of 200 until 6 segments were made */
	uint64_t n = 10;
	while (st.segments < 6) {
		wait_spare(w);
		if (fill(w, 200, 0) || wal_wait(w, n + 200))
			break;
		n += 200;
		wal_stats(w, &st);
	}
	ok(st.segments >= 6 && st.prealloc_segments == st.segments - 1,
	   "rotations took zero-filled spares");
	wal_close(w);
	is_int(file_size(spare), SEG, "the spare stays for the next open");
	int bad = 0, nseg = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (strlen(e->d_name) != 24 || !strstr(e->d_name, ".wal"))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >=
		    (int)sizeof(path))
			continue; /* not one of ours: names are 24 bytes */
		nseg++;
		if (wal_inspect_file(path, 0, NULL, NULL, &rep) || rep.damage ||
		    rep.zero_tail ||
		    rep.valid_end != (uint64_t)file_size(path)) {
			bad++;
			printf("# %s: damage %d zero tail %" PRIu64
			       " end %" PRIu64 " size %lld\n",
			       e->d_name, rep.damage, rep.zero_tail,
			       rep.valid_end, file_size(path));
		}
	}
	if (d)
		closedir(d);
	/* 6 created, the empty first one replaced by the second */
	ok(nseg == 5 && bad == 0,
	   "after close every segment ends at its last frame");
	memset(&g, 0, sizeof(g));
	is_int(wal_open(&o, collect, &g, &w, &rec, err, 512), 0, "reopen");
	ok(g.n == n && !g.bad && rec.truncated == 0 && rec.zero_tail_bytes == 0,
	   "reopen: every frame, nothing cut or trimmed");
	wal_stats(w, &st);
	is_int(st.prealloc_segments, 1,
	       "reopen: the first segment is the spare left behind");
	wal_close(w);
	o.no_prealloc = 1;
	memset(&g, 0, sizeof(g));
	is_int(wal_open(&o, collect, &g, &w, &rec, err, 512), 0,
	       "reopen without preallocation");
	wal_stats(w, &st);
	ok(st.prealloc_segments == 0 && file_size(spare) < 0,
	   "no_prealloc: growing segments, the spare removed");
	wal_close(w);
	rm_rf(dir);
}

/** Copies path to path + ".zeros" grown by n zero bytes, replacing it. */
static void add_zeros(const char *path, size_t n)
{
	size_t sz = 0;
	uint8_t *b = slurp(path, &sz);
	uint8_t *c = calloc(1, sz + n);
	memcpy(c, b, sz);
	spit(path, c, sz + n);
	free(b);
	free(c);
}

/* Recovery of the shapes preallocation leaves: a zero tail is the clean end
 * of any segment when the LSNs go on in the next one; zeros hiding frames
 * of an old segment (a gap), or followed by a frame written after they
 * were synced, are refused. */
static void test_prealloc_recovery(void)
{
	char dir[300], err[512], p1[400], p2[400];
	struct wal *w;
	struct got g;
	struct wal_recovery rec;
	struct wal_file_report rep;
	for (int shape = 0; shape < 5; shape++) {
		new_fast_dir(dir, sizeof(dir));
		/* two segments: LSN 1..k, then k+1..20 */
		struct wal_options o = {.dir = dir,
					.io = open_io,
					.segment_bytes = 800,
					.no_prealloc = 1};
		wal_open(&o, NULL, NULL, &w, NULL, err, 512);
		fill(w, 20, 1);
		struct wal_stats st;
		wal_stats(w, &st);
		wal_close(w);
		seg_path(p1, sizeof(p1), dir, 1, "");
		uint64_t second = 0;
		int nseg = 0;
		DIR *d = opendir(dir);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			uint64_t v = strtoull(e->d_name, NULL, 10);
			nseg += v > 0;
			if (v > 1 && (!second || v < second))
				second = v;
		}
		if (d)
			closedir(d);
		if (shape == 0)
			is_int(nseg, 2, "two segments to damage");
		seg_path(p2, sizeof(p2), dir, second, "");
		size_t sz1 = 0;
		uint8_t *b1 = slurp(p1, &sz1);
		uint64_t ends[64];
		size_t nf1 = frame_ends(b1, sz1, ends);
		int rc;
		const char *msg = "";
		if (shape == 0) {
			/* old segment never trimmed (crash after rotation) */
			add_zeros(p1, 4096);
			is_int(wal_inspect_file(p1, 0, NULL, NULL, &rep), 0,
			       "inspect an untrimmed old segment");
			ok(rep.damage == 0 && rep.zero_tail == 4096 &&
			       rep.frames == nf1,
			   "check-wal: a zero tail is a clean end");
			rc = open_dir(dir, 0, &w, &g, &rec, err);
			ok(rc == 0 && g.n == 20 && !g.bad &&
			       rec.truncated == 0 &&
			       rec.zero_tail_bytes == 4096 &&
			       file_size(p1) == (long long)sz1,
			   "zero tail of an old segment: every frame, trimmed");
		} else if (shape == 1) {
			/* last segment preallocated: zero tail after frames */
			add_zeros(p1, 4096);
			add_zeros(p2, 1 << 20);
			rc = open_dir(dir, 0, &w, &g, &rec, err);
			ok(rc == 0 && g.n == 20 && !g.bad &&
			       rec.truncated == 0 &&
			       rec.zero_tail_bytes == 4096 + (1 << 20),
			   "zero tails of the old and the last segment");
		} else if (shape == 2) {
			/* the old segment's last frame zeroed: LSNs jump */
			memset(b1 + ends[nf1 - 2], 0, sz1 - ends[nf1 - 2]);
			spit(p1, b1, sz1);
			rc = open_dir(dir, 0, &w, &g, &rec, err);
			msg =
			    "zeros hiding an old segment's last frame: refused";
			ok(rc == -EUCLEAN && strstr(err, "missing") && g.n == 0,
			   msg);
		} else if (shape == 3) {
			/* last segment: zeros over a synced frame, then a
			 * frame written after it was synced */
			size_t sz2 = 0;
			uint8_t *b2 = slurp(p2, &sz2);
			uint64_t e2[64];
			size_t nf2 = frame_ends(b2, sz2, e2);
			memset(b2 + e2[0], 0, e2[1] - e2[0]);
			spit(p2, b2, sz2);
			free(b2);
			rc = open_dir(dir, 0, &w, &g, &rec, err);
			ok(nf2 >= 3 && rc == -EUCLEAN && g.n == 0,
			   "zeros then a frame that knew them synced: refused");
		} else {
			/* a rotation crashed after its header: the last
			 * segment is a header and zeros */
			size_t sz2 = 0;
			uint8_t *b2 = slurp(p2, &sz2);
			uint8_t *c = calloc(1, 4096);
			memcpy(c, b2, WAL_HDR);
			spit(p2, c, 4096);
			free(c);
			free(b2);
			rc = open_dir(dir, 0, &w, &g, &rec, err);
			ok(rc == 0 && g.n == nf1 && !g.bad &&
			       rec.truncated == 0 && rec.next_lsn == second,
			   "last segment a header and zeros: empty, clean");
		}
		if (rc == 0) {
			/* the log goes on from there */
			uint64_t before = g.n;
			int bad = fill(w, 3, 1);
			wal_close(w);
			rc = open_dir(dir, 0, &w, &g, &rec, err);
			ok(bad == 0 && rc == 0 && g.n == before + 3 && !g.bad,
			   "appending after that recovery works");
			if (!rc)
				wal_close(w);
		} else if (rc < 0 && msg[0]) {
			printf("# %s\n", err);
		}
		free(b1);
		rm_rf(dir);
	}
}

/* ---- real ENOSPC on a small tmpfs ---------------------------------------- */

struct inspect_count {
	uint64_t frames;
};

static int count_frame(void *ctx, const struct wal_frame_info *fi)
{
	(void)fi;
	((struct inspect_count *)ctx)->frames++;
	return 0;
}

static void test_tmpfs_enospc(void)
{
	char dir[300], err[512], path[400];
	new_dir(dir, sizeof(dir));
	if (mount("tmpfs", dir, "tmpfs", 0, "size=256k")) {
		printf("# skip tmpfs ENOSPC: mount: %s\n", strerror(errno));
		ok(1, "tmpfs ENOSPC (skipped: cannot mount)");
		return;
	}
	struct wal *w;
	struct cbrec c = {0};
	struct wal_options o = {.dir = dir};
	int rc = wal_open(&o, NULL, NULL, &w, NULL, err, 512);
	is_int(rc, 0, "open on a 256 KiB tmpfs");
	static uint8_t buf[3000];
	int last = 0;
	for (int i = 0; i < 200 && !last; i++) {
		uint64_t lsn;
		if ((last = wal_append(w, 1, buf, sizeof(buf), on_durable, &c,
				       &lsn)))
			break;
		last = wal_wait(w, lsn);
	}
	uint64_t durable = wal_durable_lsn(w);
	int failed = wal_failed(w);
	wal_close(w);
	ok(last == -ENOSPC && failed == -ENOSPC,
	   "tmpfs: the log stops with ENOSPC");
	is_int(c.failed, 1, "tmpfs: the frame that did not fit failed");
	struct inspect_count ic = {0};
	struct wal_file_report rep;
	seg_path(path, sizeof(path), dir, 1, "");
	rc = wal_inspect_file(path, 0, count_frame, &ic, &rep);
	ok(rc == 0 && rep.damage == 0 && ic.frames == durable &&
	       (uint64_t)c.ok == durable,
	   "tmpfs: the segment holds exactly the acknowledged frames");
	printf("# tmpfs: %" PRIu64 " frames of 3000 bytes acknowledged\n",
	       durable);
	umount(dir);
	rm_rf(dir);
}

int main(void)
{
	unit_plan_begin();
	snprintf(root, sizeof(root), "/tmp/test_wal.%d", (int)getpid());
	mkdir(root, 0755);
	snprintf(fast_root, sizeof(fast_root), "/dev/shm/test_wal.%d",
		 (int)getpid());
	if (mkdir(fast_root, 0755))
		snprintf(fast_root, sizeof(fast_root), "%s", root);
	uint64_t t0 = now_ns();
	test_crc();
	test_basic();
	test_append_batch();
	test_append_batch_callbacks();
	static struct sim fast;
	sim_init(&fast, -1);
	open_io = &fast.io;
	test_truncate_every_offset();
	test_flip_every_offset();
	test_hostile_tails();
	test_prealloc_recovery();
	open_io = NULL;
	test_prealloc_rotation();
	test_fault_injection();
	test_power_loss();
	test_reply_barrier();
	test_group_commit();
	test_batch_mode_and_segments();
	test_replay_from_skips_old();
	test_tmpfs_enospc();
	printf("# total %.1f s\n", (now_ns() - t0) / 1e9);
	rm_rf(root);
	rm_rf(fast_root);
	return unit_done();
}
