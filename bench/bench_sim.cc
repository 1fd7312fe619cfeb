// bench_sim — similarity kernels on name-like strings: a random lowercase
// name and copies with one or two typos (substitution or adjacent swap),
// the shape of pairs that reach scoring after blocking.
//
// Every kernel runs per instruction set (the last argument: 0 scalar,
// 1 avx2, 2 avx512; skipped when the CPU lacks it) beside the scalar
// reference (*_ref), so ratios come from one run. Arguments: string
// length first, then the cutoff where there is one.
//
//   BM_jw_ref, BM_jw           one pair, nothing prepared
//   BM_jw_prepared             one query prepared, compared with each of
//                              1024 candidates in turn
//   BM_jw_batch                the same 1024 candidates in one batch call;
//                              the "pair" counter is the time per pair
//   BM_osa*, BM_levenshtein*   likewise for the edit distances
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "sim.h"

namespace
{

constexpr size_t kCandidates = 1024;

std::string typo(std::mt19937_64 &gen, std::string s)
{
	std::uniform_int_distribution<int> letter('a', 'z');
	for (int typo = 0; typo < 2; typo++) {
		size_t at = gen() % (s.size() - 1);
		if (gen() % 2)
			s[at] = (char)letter(gen);
		else
			std::swap(s[at], s[at + 1]);
	}
	return s;
}

std::string random_name(std::mt19937_64 &gen, size_t len)
{
	std::uniform_int_distribution<int> letter('a', 'z');
	std::string a(len, ' ');
	for (auto &c : a)
		c = (char)letter(gen);
	return a;
}

std::vector<std::pair<std::string, std::string>> make_pairs(size_t len)
{
	std::mt19937_64 gen(42);
	std::vector<std::pair<std::string, std::string>> pairs(kCandidates);
	for (auto &p : pairs) {
		std::string a = random_name(gen, len);
		std::string b = typo(gen, a);
		p = {std::move(a), std::move(b)};
	}
	return pairs;
}

// One query and kCandidates candidates of the same length: half are
// near-duplicates of the query, half other names.
struct batch {
	std::string query;
	std::vector<std::string> cand;
	std::vector<const char *> ptr;
	std::vector<size_t> len;

	explicit batch(size_t n)
	{
		std::mt19937_64 gen(7);
		query = random_name(gen, n);
		for (size_t i = 0; i < kCandidates; i++)
			cand.push_back(i % 2 ? random_name(gen, n)
					     : typo(gen, query));
		for (const auto &c : cand) {
			ptr.push_back(c.data());
			len.push_back(c.size());
		}
	}
};

// Selects the instruction set named by the benchmark's last argument.
bool use_isa(benchmark::State &state, int arg)
{
	auto isa = (enum sim_isa)state.range(arg);
	if (sim_set_isa(isa) != 0) {
		state.SkipWithError("instruction set not on this CPU");
		return false;
	}
	state.SetLabel(sim_isa_name(isa));
	return true;
}

const std::vector<int64_t> kLens = {4, 8, 16, 32, 64};
const std::vector<int64_t> kIsas = {SIM_ISA_SCALAR, SIM_ISA_AVX2,
				    SIM_ISA_AVX512};

void BM_jw_ref(benchmark::State &state)
{
	auto pairs = make_pairs((size_t)state.range(0));
	size_t i = 0;
	for (auto _ : state) {
		const auto &p = pairs[i++ & (kCandidates - 1)];
		benchmark::DoNotOptimize(
		    sim_jaro_winkler_ref(p.first.data(), p.first.size(),
					 p.second.data(), p.second.size()));
	}
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_jw_ref)->ArgsProduct({kLens});

void BM_jw(benchmark::State &state)
{
	if (!use_isa(state, 1))
		return;
	auto pairs = make_pairs((size_t)state.range(0));
	size_t i = 0;
	for (auto _ : state) {
		const auto &p = pairs[i++ & (kCandidates - 1)];
		benchmark::DoNotOptimize(
		    sim_jaro_winkler(p.first.data(), p.first.size(),
				     p.second.data(), p.second.size()));
	}
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_jw)->ArgsProduct({kLens, kIsas});

void BM_jw_prepared(benchmark::State &state)
{
	if (!use_isa(state, 1))
		return;
	batch b((size_t)state.range(0));
	struct sim_query q;
	sim_query_create(&q, b.query.data(), b.query.size());
	size_t i = 0;
	for (auto _ : state) {
		size_t k = i++ & (kCandidates - 1);
		benchmark::DoNotOptimize(
		    sim_jw_prepared(&q, b.ptr[k], b.len[k]));
	}
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_jw_prepared)->ArgsProduct({kLens, kIsas});

void set_pair_counter(benchmark::State &state)
{
	state.SetItemsProcessed(state.iterations() * kCandidates);
	state.counters["pair"] = benchmark::Counter(
	    (double)kCandidates, benchmark::Counter::kIsIterationInvariantRate |
				     benchmark::Counter::kInvert);
}

// Third argument: cutoff in percent (0: every score exact).
void BM_jw_batch(benchmark::State &state)
{
	if (!use_isa(state, 2))
		return;
	batch b((size_t)state.range(0));
	double cutoff = (double)state.range(1) / 100.0;
	struct sim_query q;
	sim_query_create(&q, b.query.data(), b.query.size());
	std::vector<double> out(kCandidates);
	for (auto _ : state) {
		sim_jw_batch(&q, b.ptr.data(), b.len.data(), kCandidates,
			     cutoff, out.data());
		benchmark::DoNotOptimize(out.data());
		benchmark::ClobberMemory();
	}
	set_pair_counter(state);
}
BENCHMARK(BM_jw_batch)->ArgsProduct({kLens, {0, 90}, kIsas});

void BM_osa_ref(benchmark::State &state)
{
	auto pairs = make_pairs((size_t)state.range(0));
	int max = (int)state.range(1);
	size_t i = 0;
	for (auto _ : state) {
		const auto &p = pairs[i++ & (kCandidates - 1)];
		benchmark::DoNotOptimize(
		    sim_osa_ref(p.first.data(), p.first.size(), p.second.data(),
				p.second.size(), max));
	}
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_osa_ref)->ArgsProduct({kLens, {-1, 2}});

void BM_osa(benchmark::State &state)
{
	if (!use_isa(state, 2))
		return;
	auto pairs = make_pairs((size_t)state.range(0));
	int max = (int)state.range(1);
	size_t i = 0;
	for (auto _ : state) {
		const auto &p = pairs[i++ & (kCandidates - 1)];
		benchmark::DoNotOptimize(sim_osa(p.first.data(), p.first.size(),
						 p.second.data(),
						 p.second.size(), max));
	}
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_osa)->ArgsProduct({kLens, {-1, 2}, kIsas});

void BM_osa_batch(benchmark::State &state)
{
	if (!use_isa(state, 2))
		return;
	batch b((size_t)state.range(0));
	int max = (int)state.range(1);
	struct sim_query q;
	sim_query_create(&q, b.query.data(), b.query.size());
	std::vector<int> out(kCandidates);
	for (auto _ : state) {
		sim_osa_batch(&q, b.ptr.data(), b.len.data(), kCandidates, max,
			      out.data());
		benchmark::DoNotOptimize(out.data());
		benchmark::ClobberMemory();
	}
	set_pair_counter(state);
}
BENCHMARK(BM_osa_batch)->ArgsProduct({kLens, {-1, 2}, kIsas});

void BM_levenshtein_ref(benchmark::State &state)
{
	auto pairs = make_pairs((size_t)state.range(0));
	size_t i = 0;
	for (auto _ : state) {
		const auto &p = pairs[i++ & (kCandidates - 1)];
		benchmark::DoNotOptimize(
		    sim_levenshtein_ref(p.first.data(), p.first.size(),
					p.second.data(), p.second.size(), -1));
	}
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_levenshtein_ref)->ArgsProduct({kLens});

void BM_levenshtein(benchmark::State &state)
{
	if (!use_isa(state, 1))
		return;
	auto pairs = make_pairs((size_t)state.range(0));
	size_t i = 0;
	for (auto _ : state) {
		const auto &p = pairs[i++ & (kCandidates - 1)];
		benchmark::DoNotOptimize(
		    sim_levenshtein(p.first.data(), p.first.size(),
				    p.second.data(), p.second.size(), -1));
	}
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_levenshtein)->ArgsProduct({kLens, kIsas});

void BM_levenshtein_batch(benchmark::State &state)
{
	if (!use_isa(state, 1))
		return;
	batch b((size_t)state.range(0));
	struct sim_query q;
	sim_query_create(&q, b.query.data(), b.query.size());
	std::vector<int> out(kCandidates);
	for (auto _ : state) {
		sim_levenshtein_batch(&q, b.ptr.data(), b.len.data(),
				      kCandidates, -1, out.data());
		benchmark::DoNotOptimize(out.data());
		benchmark::ClobberMemory();
	}
	set_pair_counter(state);
}
BENCHMARK(BM_levenshtein_batch)->ArgsProduct({kLens, kIsas});

void BM_token_set(benchmark::State &state)
{
	for (auto _ : state)
		benchmark::DoNotOptimize(sim_token_set(
		    "flat 3 12 high street", "12 hihg street flat 3"));
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_token_set);

} // namespace
