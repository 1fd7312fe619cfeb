/*
 * test_hist.c — reconnu-bench's latency histogram (tools/bench/hist.c):
 * bucket boundaries, percentiles against a sorted array, merge, and the
 * relative error bound above the exact range.
 */
#include <stdint.h>
#include <stdlib.h>

#include "hist.h"
#include "unit.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t exact_pct(const uint64_t *v, size_t n, double p)
{
	size_t rank = (size_t)((double)n * p / 100.0);
	if ((double)rank < (double)n * p / 100.0)
		rank++;
	if (rank < 1)
		rank = 1;
	return v[rank - 1];
}

static void test_buckets(void)
{
	is_int(hist_bucket(0), 0, "0 in bucket 0");
	is_int(hist_bucket(127), 127, "exact up to 127");
	is_int(hist_bucket(128), 128, "128 opens the log range");
	is_int(hist_bucket_high(128), 129, "bucket of 128 is 2 wide");
	is_int(hist_bucket(255), 191, "255 ends the first octave");
	is_int(hist_bucket(256), 192, "256 starts the next");
	is_int(hist_bucket_high(192), 259, "bucket of 256 is 4 wide");
	is_int(hist_bucket(UINT64_MAX), HIST_BUCKETS - 1, "huge values clamp");
	int monotonic = 1, contains = 1, narrow = 1;
	for (uint64_t v = 1; v < (1ULL << 31); v = v * 3 / 2 + 1) {
		unsigned b = hist_bucket(v);
		monotonic &= hist_bucket(v + 1) >= b;
		contains &= hist_bucket_high(b) >= v &&
			    (b == 0 || hist_bucket_high(b - 1) < v);
		/* bucket width ≤ 1/64 of its values */
		uint64_t lo = b ? hist_bucket_high(b - 1) + 1 : 0;
		narrow &= (hist_bucket_high(b) - lo + 1) * 64 <= lo || lo < 128;
	}
	ok(monotonic, "bucket index grows with the value");
	ok(contains, "each value lies in its bucket's range");
	ok(narrow, "buckets at most 1/64 wide above 128");
}

static void test_percentiles(void)
{
	enum { N = 100000 };
	static uint64_t v[N];
	static struct hist h, a, b;
	hist_reset(&h);
	hist_reset(&a);
	hist_reset(&b);
	uint64_t s = 42;
	for (size_t i = 0; i < N; i++) {
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		/* heavy tail: mostly 50..300 µs, some to 100 ms */
		uint64_t x = 50 + (s >> 33) % 250;
		if ((s >> 20) % 100 == 0)
			x = (s >> 13) % 100000;
		v[i] = x;
		hist_record(&h, x);
		hist_record(i % 2 ? &a : &b, x);
	}
	qsort(v, N, sizeof(v[0]), cmp_u64);
	is_int(h.count, N, "count");
	is_int(h.min, v[0], "exact min");
	is_int(h.max, v[N - 1], "exact max");
	is_int(hist_percentile(&h, 100), v[N - 1], "p100 is the max");
	static const double ps[] = {1, 50, 90, 99, 99.9, 99.99};
	int within = 1;
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		uint64_t want = exact_pct(v, N, ps[i]);
		uint64_t got = hist_percentile(&h, ps[i]);
		/* never below the exact value, at most one bucket above */
		if (got < want || (got - want) * 64 > want + 64) {
			within = 0;
			printf("#   p%g: got %llu, exact %llu\n", ps[i],
			       (unsigned long long)got,
			       (unsigned long long)want);
		}
	}
	ok(within, "percentiles within one bucket above the exact value");
	double sum = 0;
	for (size_t i = 0; i < N; i++)
		sum += (double)v[i];
	ok(hist_mean(&h) > sum / N - 1e-6 && hist_mean(&h) < sum / N + 1e-6,
	   "exact mean");
	hist_merge(&a, &b);
	int same = a.count == h.count && a.min == h.min && a.max == h.max &&
		   a.sum == h.sum;
	for (unsigned i = 0; i < HIST_BUCKETS; i++)
		same &= a.n[i] == h.n[i];
	ok(same, "merging two halves gives the whole");
	static struct hist e;
	hist_reset(&e);
	is_int(hist_percentile(&e, 50), 0, "empty histogram: 0");
	hist_record(&e, 1000000);
	is_int(hist_percentile(&e, 50), 1000000, "one value: that value");
}

int main(void)
{
	unit_plan_begin();
	test_buckets();
	test_percentiles();
	return unit_done();
}
