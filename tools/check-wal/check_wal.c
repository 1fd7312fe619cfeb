/*
 * reconnu-check-wal — inspects WAL segments without the engine.
 *
 *   reconnu-check-wal verify DIR|FILE [--max-frame BYTES]
 *   reconnu-check-wal dump   DIR|FILE [--max-frame BYTES]
 *   reconnu-check-wal fix    FILE [--yes] [--max-frame BYTES]
 *
 * verify checks every segment (headers, frames, checksums, LSN continuity
 * across segments) and says what wal_open would do. Zeros from the last
 * frame to EOF are a preallocated segment's clean end, not damage. dump prints
 * one line per valid frame (offset, LSN, type, length, stored checksum, "ok"),
 * then the damage if any. fix truncates FILE at its first invalid frame, like
 * redis-check-aof --fix; without --yes it only says what it would cut.
 *
 * Exit codes
 *   verify/dump: 0 clean; 1 torn tail in the last segment only (wal_open
 *                truncates it and starts); 2 damage wal_open refuses
 *                (needs force_recovery or fix); 3 usage or I/O error.
 *   fix:         0 truncated, or nothing to fix; 1 cut needed but --yes
 *                not given (nothing changed); 3 usage or I/O error.
 */
#define _GNU_SOURCE
#include "wal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { EXIT_CLEAN = 0, EXIT_TORN = 1, EXIT_CORRUPT = 2, EXIT_ERROR = 3 };

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: reconnu-check-wal verify DIR|FILE [--max-frame BYTES]\n"
	    "       reconnu-check-wal dump DIR|FILE [--max-frame BYTES]\n"
	    "       reconnu-check-wal fix FILE [--yes] [--max-frame BYTES]\n"
	    "exit: 0 clean, 1 torn tail only, 2 damage the engine refuses,"
	    " 3 error\n"
	    "      fix: 0 fixed or clean, 1 --yes needed, 3 error\n");
}

static const char *file_of;

static int print_frame(void *ctx, const struct wal_frame_info *fi)
{
	(void)ctx;
	printf("%s offset=%" PRIu64 " lsn=%" PRIu64
	       " type=%u len=%u crc=%08x ok\n",
	       file_of, fi->offset, fi->lsn, fi->type, fi->len, fi->crc);
	return 0;
}

static int is_segment_name(const char *s)
{
	size_t k = 0;
	while (s[k] >= '0' && s[k] <= '9')
		k++;
	return k == 20 && strcmp(s + 20, ".wal") == 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/** Segment paths of dir, sorted by start LSN. @retval count or -errno. */
static int list_dir(const char *dir, char ***out)
{
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	char **v = NULL;
	int n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!is_segment_name(e->d_name))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			v = realloc(v, (size_t)cap * sizeof(*v));
			if (!v)
				exit(EXIT_ERROR);
		}
		if (asprintf(&v[n++], "%s/%s", dir, e->d_name) < 0)
			exit(EXIT_ERROR);
	}
	closedir(d);
	if (n)
		qsort(v, (size_t)n, sizeof(*v), cmp_str);
	*out = v;
	return n;
}

/** verify and dump over a list of segments. */
static int check(char **files, int n, int dump, uint32_t cap)
{
	int worst = EXIT_CLEAN;
	uint64_t frames = 0, expect = 0, first = 0, last = 0;
	for (int i = 0; i < n; i++) {
		struct wal_file_report rep;
		file_of = files[i];
		int rc = wal_inspect_file(
		    files[i], cap, dump ? print_frame : NULL, NULL, &rep);
		if (rc < 0) {
			fprintf(stderr, "%s: %s\n", files[i], strerror(-rc));
			return EXIT_ERROR;
		}
		frames += rep.frames;
		if (rep.frames && !first)
			first = rep.start_lsn;
		if (rep.frames)
			last = rep.last_lsn;
		if (rep.header_ok && expect && rep.start_lsn != expect) {
			printf("%s: starts at LSN %" PRIu64
			       ", expected %" PRIu64 " (%s)\n",
			       files[i], rep.start_lsn, expect,
			       rep.start_lsn < expect ? "overlap" : "gap");
			worst = EXIT_CORRUPT;
		}
		if (rep.header_ok)
			expect = rep.frames ? rep.last_lsn + 1 : rep.start_lsn;
		if (rep.zero_tail)
			printf("%s: offset %" PRIu64 ": %" PRIu64
			       " preallocated zero bytes after the last frame "
			       "(clean end; trimmed on the next start)\n",
			       files[i], rep.valid_end, rep.zero_tail);
		if (rep.damage) {
			int torn = rep.damage == 1 && i == n - 1;
			printf("%s: offset %" PRIu64 ": %s: %s (%" PRIu64
			       " bytes after the last valid frame)\n",
			       files[i], rep.valid_end,
			       torn ? "torn tail" : "DAMAGE", rep.reason,
			       rep.size - rep.valid_end);
			if (!torn)
				worst = EXIT_CORRUPT;
			else if (worst == EXIT_CLEAN)
				worst = EXIT_TORN;
			if (!torn && i < n - 1)
				printf("%s: damage before the last segment\n",
				       files[i]);
		}
	}
	printf("%d segment(s), %" PRIu64 " frame(s), LSN %" PRIu64 "..%" PRIu64
	       ": %s\n",
	       n, frames, first, last,
	       worst == EXIT_CLEAN  ? "OK"
	       : worst == EXIT_TORN ? "torn tail (the engine truncates it)"
				    : "DAMAGED (the engine refuses to start)");
	return worst;
}

static int fix(const char *path, int yes, uint32_t cap)
{
	struct wal_file_report rep;
	int rc = wal_inspect_file(path, cap, NULL, NULL, &rep);
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(-rc));
		return EXIT_ERROR;
	}
	if (!rep.damage) {
		printf("%s: %" PRIu64 " frame(s), nothing to fix\n", path,
		       rep.frames);
		return EXIT_CLEAN;
	}
	if (!rep.header_ok) {
		fprintf(stderr, "%s: %s: not a WAL segment, not cutting it\n",
			path, rep.reason);
		return EXIT_ERROR;
	}
	printf("%s: offset %" PRIu64 ": %s\n", path, rep.valid_end, rep.reason);
	printf("%s: keeps %" PRIu64 " frame(s) (LSN up to %" PRIu64
	       "), cuts %" PRIu64 " byte(s)%s\n",
	       path, rep.frames, rep.last_lsn, rep.size - rep.valid_end,
	       rep.damage == 2 ? "; valid frames written after the damage "
				 "are LOST"
			       : "");
	if (!yes) {
		printf("run again with --yes to truncate\n");
		return EXIT_TORN;
	}
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)rep.valid_end) || fsync(fd)) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return EXIT_ERROR;
	}
	close(fd);
	printf("%s: truncated to %" PRIu64 " bytes\n", path, rep.valid_end);
	return EXIT_CLEAN;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		usage();
		return EXIT_ERROR;
	}
	const char *cmd = argv[1], *target = argv[2];
	if (strcmp(cmd, "verify") && strcmp(cmd, "dump") &&
	    strcmp(cmd, "fix")) {
		usage();
		return EXIT_ERROR;
	}
	int yes = 0;
	uint32_t cap = 0;
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--yes")) {
			yes = 1;
		} else if (!strcmp(argv[i], "--max-frame") && i + 1 < argc) {
			cap = (uint32_t)strtoul(argv[++i], NULL, 10);
		} else {
			usage();
			return EXIT_ERROR;
		}
	}
	struct stat st;
	if (stat(target, &st)) {
		fprintf(stderr, "%s: %s\n", target, strerror(errno));
		return EXIT_ERROR;
	}
	if (!strcmp(cmd, "fix")) {
		if (!S_ISREG(st.st_mode)) {
			fprintf(stderr, "fix takes one segment FILE\n");
			return EXIT_ERROR;
		}
		return fix(target, yes, cap);
	}
	char **files = (char **)&target;
	int n = 1;
	if (S_ISDIR(st.st_mode)) {
		n = list_dir(target, &files);
		if (n < 0) {
			fprintf(stderr, "%s: %s\n", target, strerror(-n));
			return EXIT_ERROR;
		}
	}
	return check(files, n, !strcmp(cmd, "dump"), cap);
}
