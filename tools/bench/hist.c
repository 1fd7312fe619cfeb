/*
 * hist.c — see hist.h.
 */
#include "hist.h"

#include <string.h>

void hist_reset(struct hist *h)
{
	memset(h, 0, sizeof(*h));
}

unsigned hist_bucket(uint64_t us)
{
	if (us < HIST_LINEAR)
		return (unsigned)us;
	unsigned msb = 63 - (unsigned)__builtin_clzll(us);
	unsigned shift = msb - 6; /* keeps the top 7 bits: 64..127 */
	unsigned i = shift * HIST_SUB + (unsigned)(us >> shift);
	return i < HIST_BUCKETS ? i : HIST_BUCKETS - 1;
}

uint64_t hist_bucket_high(unsigned i)
{
	if (i < HIST_LINEAR)
		return i;
	unsigned shift = i / HIST_SUB - 1;
	uint64_t sub = i % HIST_SUB + HIST_SUB;
	return ((sub + 1) << shift) - 1;
}

void hist_record(struct hist *h, uint64_t us)
{
	if (!h->count || us < h->min)
		h->min = us;
	if (us > h->max)
		h->max = us;
	h->count++;
	h->sum += us;
	h->n[hist_bucket(us)]++;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
	if (!src->count)
		return;
	if (!dst->count || src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	dst->count += src->count;
	dst->sum += src->sum;
	for (unsigned i = 0; i < HIST_BUCKETS; i++)
		dst->n[i] += src->n[i];
}

uint64_t hist_percentile(const struct hist *h, double p)
{
	if (!h->count)
		return 0;
	/* rank of the value at p, 1-based: the smallest value with at least
	 * p % of the values at or below it */
	double want = p / 100.0 * (double)h->count;
	uint64_t rank = (uint64_t)want;
	if ((double)rank < want)
		rank++;
	if (rank < 1)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += h->n[i];
		if (seen >= rank) {
			uint64_t v = hist_bucket_high(i);
			return v < h->max ? v : h->max;
		}
	}
	return h->max;
}

double hist_mean(const struct hist *h)
{
	return h->count ? (double)h->sum / (double)h->count : 0;
}
