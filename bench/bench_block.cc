// bench_block — the blocking index at engine scale: probes into a 1M-key
// index (two records per key, inline), hits and misses, and adds.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "block.h"

namespace
{

constexpr uint32_t kKeys = 1 << 20;

uint64_t key_of(uint32_t i)
{
	return block_key('b', reinterpret_cast<const char *>(&i), sizeof(i));
}

struct index_deleter {
	void operator()(block_index *idx) const
	{
		block_index_delete(idx);
	}
};
using index_ptr = std::unique_ptr<block_index, index_deleter>;

/** A 1M-key index built once for all probe benchmarks. */
const block_index *million()
{
	static index_ptr idx = [] {
		index_ptr p(block_index_new(1000));
		for (uint32_t i = 0; i < kKeys; i++) {
			if (block_index_add(p.get(), key_of(i), i) != 0 ||
			    block_index_add(p.get(), key_of(i), i + kKeys) != 0)
				abort();
		}
		return p;
	}();
	return idx.get();
}

/** Keys in random order so that probes miss the cache as they would. */
std::vector<uint64_t> probe_keys(uint32_t salt)
{
	std::vector<uint64_t> keys(1 << 16);
	uint64_t x = 0x9E3779B97F4A7C15ULL * (salt + 1);
	for (auto &k : keys) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		k = key_of((uint32_t)(x % kKeys) + salt);
	}
	return keys;
}

void BM_probe_hit(benchmark::State &state)
{
	const block_index *idx = million();
	auto keys = probe_keys(0);
	size_t i = 0;
	for (auto _ : state) {
		const uint32_t *ids;
		size_t n;
		block_index_probe(idx, keys[i++ & 0xffff], &ids, &n);
		benchmark::DoNotOptimize(ids);
		benchmark::DoNotOptimize(n);
	}
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_probe_hit);

void BM_probe_miss(benchmark::State &state)
{
	const block_index *idx = million();
	auto keys = probe_keys(kKeys);
	size_t i = 0;
	for (auto _ : state) {
		const uint32_t *ids;
		size_t n;
		block_index_probe(idx, keys[i++ & 0xffff], &ids, &n);
		benchmark::DoNotOptimize(n);
	}
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_probe_miss);

/** Adds distinct keys, one record each, into an index that grows from
 *  empty to 1M keys and then starts over (the rebuild is untimed). */
void BM_add_new_key(benchmark::State &state)
{
	index_ptr idx(block_index_new(1000));
	uint32_t i = 0;
	for (auto _ : state) {
		if (i == kKeys) {
			state.PauseTiming();
			idx.reset(block_index_new(1000));
			i = 0;
			state.ResumeTiming();
		}
		benchmark::DoNotOptimize(
		    block_index_add(idx.get(), key_of(i), i));
		i++;
	}
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_add_new_key);

/** Appends records to 4096 keys until each holds 16 (inline, then
 *  spilled to the heap and grown twice), then starts over (untimed). */
void BM_add_to_list(benchmark::State &state)
{
	index_ptr idx(block_index_new(1000));
	uint32_t rec = 0;
	for (auto _ : state) {
		if (rec == 4096 * 16) {
			state.PauseTiming();
			idx.reset(block_index_new(1000));
			rec = 0;
			state.ResumeTiming();
		}
		benchmark::DoNotOptimize(
		    block_index_add(idx.get(), key_of(rec & 4095), rec));
		rec++;
	}
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_add_to_list);

} // namespace
