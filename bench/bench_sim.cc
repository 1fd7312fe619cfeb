// bench_sim — similarity kernels on name-like pairs: a random lowercase
// name and a copy with one or two typos (substitution or adjacent swap),
// the shape of pairs that reach scoring after blocking.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "sim.h"

namespace
{

std::vector<std::pair<std::string, std::string>> make_pairs(size_t len)
{
	std::mt19937_64 gen(42);
	std::uniform_int_distribution<int> letter('a', 'z');
	std::vector<std::pair<std::string, std::string>> pairs(1024);
	for (auto &p : pairs) {
		std::string a(len, ' ');
		for (auto &c : a)
			c = (char)letter(gen);
		std::string b = a;
		for (int typo = 0; typo < 2; typo++) {
			size_t at = gen() % (len - 1);
			if (gen() % 2)
				b[at] = (char)letter(gen);
			else
				std::swap(b[at], b[at + 1]);
		}
		p = {std::move(a), std::move(b)};
	}
	return pairs;
}

void BM_jaro_winkler(benchmark::State &state)
{
	auto pairs = make_pairs((size_t)state.range(0));
	size_t i = 0;
	for (auto _ : state) {
		const auto &p = pairs[i++ & 1023];
		benchmark::DoNotOptimize(
		    sim_jaro_winkler(p.first.data(), p.first.size(),
				     p.second.data(), p.second.size()));
	}
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_jaro_winkler)->Arg(8)->Arg(16)->Arg(32);

void BM_osa(benchmark::State &state)
{
	auto pairs = make_pairs((size_t)state.range(0));
	int max = (int)state.range(1);
	size_t i = 0;
	for (auto _ : state) {
		const auto &p = pairs[i++ & 1023];
		benchmark::DoNotOptimize(sim_osa(p.first.data(), p.first.size(),
						 p.second.data(),
						 p.second.size(), max));
	}
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_osa)->ArgsProduct({{8, 16, 32}, {-1, 2}});

void BM_levenshtein(benchmark::State &state)
{
	auto pairs = make_pairs((size_t)state.range(0));
	size_t i = 0;
	for (auto _ : state) {
		const auto &p = pairs[i++ & 1023];
		benchmark::DoNotOptimize(
		    sim_levenshtein(p.first.data(), p.first.size(),
				    p.second.data(), p.second.size(), -1));
	}
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_levenshtein)->Arg(16);

void BM_token_set(benchmark::State &state)
{
	for (auto _ : state)
		benchmark::DoNotOptimize(sim_token_set(
		    "flat 3 12 high street", "12 hihg street flat 3"));
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_token_set);

} // namespace
