/*
 * hist.h — latency histogram with log-linear buckets, after Gil Tene's
 * HdrHistogram: values in microseconds are exact below 128 µs, then each
 * power of two is cut into 64 equal buckets (a bucket is at most 1/64 =
 * 1.6 % of its values wide), up to 2^32 µs (71 minutes; larger values
 * count in the last bucket). Fixed size, no allocation: recording is O(1)
 * and a percentile is one pass over the counters, so a run of any length
 * keeps no per-sample array.
 *
 * Not thread-safe: one writer at a time (callers lock or keep one per
 * thread and merge).
 */
#ifndef RECONNU_HIST_H
#define RECONNU_HIST_H

#include <stdint.h>

enum {
	HIST_LINEAR = 128, /**< exact values 0..127 */
	HIST_SUB = 64,	   /**< buckets per power of two above */
	HIST_BUCKETS = HIST_LINEAR + 25 * HIST_SUB, /**< up to 2^32 µs */
};

/** A histogram; zero-initialised (or hist_reset) it is empty. */
struct hist {
	uint64_t count;		  /**< values recorded */
	uint64_t sum;		  /**< their exact sum, µs */
	uint64_t min;		  /**< exact smallest value (0 when empty) */
	uint64_t max;		  /**< exact largest value */
	uint64_t n[HIST_BUCKETS]; /**< count per bucket */
};

/** Empties h. */
void hist_reset(struct hist *h);
/** Records one value in µs. */
void hist_record(struct hist *h, uint64_t us);
/** Adds every value of src to dst. */
void hist_merge(struct hist *dst, const struct hist *src);
/** Value at percentile p (0..100): the highest value of the bucket
 *  holding it (like HdrHistogram's "highest equivalent value"), never
 *  above the exact max; 0 when empty. */
uint64_t hist_percentile(const struct hist *h, double p);
/** Exact mean in µs, 0 when empty. */
double hist_mean(const struct hist *h);
/** Bucket of a value, and the highest value of bucket i (for CDFs). */
unsigned hist_bucket(uint64_t us);
uint64_t hist_bucket_high(unsigned i);

#endif
