// bench_graph — the identity graph at engine scale (1M records, entities
// of two records on average): a record linking two entities merges them
// (members and aliases move into the older one), and removing it again
// splits them back (a walk over the entity's LINK edges, new ids for the
// parts that lost the oldest record). Arg: size of each of the two
// entities. Only the operation named is timed (manual timing); the other
// half of each round trip puts the graph back as it was.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <vector>

extern "C" {
#include "graph.h"
}

namespace
{

constexpr uint32_t kRecords = 1000000;

struct world {
	struct graph *g;
	std::map<uint32_t, std::vector<uint32_t>> groups; /**< size → firsts */
	uint32_t spare;					  /**< free record id */

	void group(uint32_t &rec, uint32_t size)
	{
		groups[size].push_back(rec);
		struct graph_change ch;
		for (uint32_t i = 0; i < size; i++, rec++) {
			graph_begin_op(g);
			struct graph_link l = {rec - 1, 12.0f, GRAPH_LINK};
			if (graph_insert(g, rec, &l, i ? 1 : 0, &ch) != 0)
				abort();
		}
	}

	world() : g(graph_new())
	{
		uint32_t rec = 0;
		/* a few big entities, then pairs and singletons (2.2 on
		 * average, as datagen's 455k people in 1M records) */
		for (int i = 0; i < 200; i++)
			group(rec, 128);
		for (int i = 0; i < 2000; i++)
			group(rec, 16);
		for (uint32_t i = 0; rec < kRecords - 8; i++)
			group(rec, i % 5 == 4 ? 1 : i % 5 == 3 ? 4 : 2);
		spare = rec;
	}
};

world &w()
{
	static world x;
	return x;
}

/** Two distinct entities of the size asked for, at random. */
void pick(world &x, uint32_t size, uint64_t *rng, uint32_t *a, uint32_t *b)
{
	const std::vector<uint32_t> &v = x.groups[size];
	do {
		*rng ^= *rng << 13, *rng ^= *rng >> 7, *rng ^= *rng << 17;
		*a = v[*rng % v.size()];
		*rng ^= *rng << 13, *rng ^= *rng >> 7, *rng ^= *rng << 17;
		*b = v[*rng % v.size()];
	} while (*a == *b);
}

using clk = std::chrono::steady_clock;

void round_trips(benchmark::State &state, bool time_merge)
{
	world &x = w();
	uint32_t size = (uint32_t)state.range(0);
	uint64_t rng = 0x9E3779B97F4A7C15ULL;
	struct graph_change ch;
	for (auto _ : state) {
		uint32_t a, b;
		pick(x, size, &rng, &a, &b);
		struct graph_link l[2] = {{a, 12.0f, GRAPH_LINK},
					  {b, 12.0f, GRAPH_LINK}};
		graph_begin_op(x.g);
		auto t0 = clk::now();
		if (graph_insert(x.g, x.spare, l, 2, &ch) != 0)
			abort();
		auto t1 = clk::now();
		graph_begin_op(x.g);
		if (graph_remove(x.g, x.spare, &ch) != 0)
			abort();
		auto t2 = clk::now();
		if (ch.n_split != 1)
			abort();
		state.SetIterationTime(std::chrono::duration<double>(
					   time_merge ? t1 - t0 : t2 - t1)
					   .count());
	}
	state.SetItemsProcessed(state.iterations());
}

void BM_merge(benchmark::State &state)
{
	round_trips(state, true);
}
BENCHMARK(BM_merge)->Arg(2)->Arg(16)->Arg(128)->UseManualTime();

void BM_split_on_remove(benchmark::State &state)
{
	round_trips(state, false);
}
BENCHMARK(BM_split_on_remove)->Arg(2)->Arg(16)->Arg(128)->UseManualTime();

/** A new record with no link: a new entity (the common first sight). */
void BM_insert_alone(benchmark::State &state)
{
	world &x = w();
	struct graph_change ch;
	for (auto _ : state) {
		graph_begin_op(x.g);
		auto t0 = clk::now();
		if (graph_insert(x.g, x.spare, nullptr, 0, &ch) != 0)
			abort();
		auto t1 = clk::now();
		graph_begin_op(x.g);
		graph_remove(x.g, x.spare, &ch);
		state.SetIterationTime(
		    std::chrono::duration<double>(t1 - t0).count());
	}
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_insert_alone)->UseManualTime();

} // namespace
