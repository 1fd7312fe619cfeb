// bench_score — Fellegi–Sunter scoring: one pair (score_pair alone, with
// and without the explanation the API returns), and one record against
// the 32 candidates blocking hands the scorer for each write: the same
// person re-typed (typos, a nickname, swapped names, another e-mail)
// among neighbours sharing a name, a postcode or a birth date; and the
// same with the record prepared once (score_query), as the engine does.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

extern "C" {
#include "norm.h"
#include "score.h"
#include "store.h"
}

namespace
{

struct person {
	const char *given, *family, *dob, *email, *phone, *line, *city, *pc;
};

struct store_rec *build(const person &p, int n)
{
	char id[16];
	snprintf(id, sizeof(id), "%d", n);
	const char *em[] = {p.email};
	const char *ph[] = {p.phone};
	reconnu_address ad = {p.line, nullptr, p.city, p.pc, nullptr, "FR"};
	reconnu_record in = {};
	in.source = "bench";
	in.source_id = id;
	in.given_name = p.given;
	in.family_name = p.family;
	in.birth_date = p.dob;
	in.country = "FR";
	in.emails = em;
	in.n_emails = p.email ? 1 : 0;
	in.phones = ph;
	in.n_phones = p.phone ? 1 : 0;
	in.addresses = &ad;
	in.n_addresses = p.line || p.city || p.pc ? 1 : 0;
	struct store_rec *r = nullptr;
	char msg[256];
	if (store_rec_build(&in, 1, &r, msg, sizeof(msg)) != 0)
		abort();
	return r;
}

const person kQuery = {"Robert",	 "Lefebvre",
		       "1978-04-12",	 "robert.lefebvre@orange.fr",
		       "06 12 34 56 78", "12 rue des Lilas",
		       "Lyon",		 "69003"};

/** 32 candidates as blocking finds them for kQuery. */
std::vector<person> candidates()
{
	std::vector<person> c = {
	    kQuery,
	    {"Bob", "Lefebvre", "1978-04-12", nullptr, "06 12 34 56 78",
	     "12 rue des Lilas", "Lyon", "69003"},
	    {"Robert", "Lefevre", "1978-04-12", "r.lefebvre@gmail.com", nullptr,
	     "12 r. des Lilas", "Lyon", "69003"},
	    {"Lefebvre", "Robert", "1978-12-04", nullptr, nullptr, nullptr,
	     "Lyon", "69003"},
	    {"Robert", "Lefebvre", "1978", "robert.lefebvre@orange.fr", nullptr,
	     nullptr, nullptr, nullptr},
	    {"Roberto", "Lefebvre", "1987-04-12", nullptr, "06 12 34 56 79",
	     "14 rue des Lilas", "Lyon", "69003"},
	};
	const char *given[] = {"Marie",	   "Jean",     "Robert",
			       "Nathalie", "Pierre",   "Sophie",
			       "Michel",   "Isabelle", "Alain"};
	const char *family[] = {"Lefebvre", "Martin", "Bernard", "Lefebre",
				"Dubois",   "Thomas", "Robert",	 "Petit"};
	for (int i = 0; c.size() < 32; i++) {
		person p = {};
		p.given = given[i % 9];
		p.family = family[(i * 5) % 8];
		p.dob = i % 3 ? "1978-04-12" : "1965-09-30";
		p.email = i % 4 ? nullptr : "contact@lilas-immobilier.fr";
		p.phone = i % 5 ? nullptr : "04 78 00 00 00";
		p.line = i % 2 ? "12 rue des Lilas" : "3 place Bellecour";
		p.city = "Lyon";
		p.pc = i % 2 ? "69003" : "69002";
		c.push_back(p);
	}
	return c;
}

struct fixture {
	struct score_model model;
	struct norm_nicknames *nn;
	struct store_rec *q;
	std::vector<struct store_rec *> cand;

	fixture()
	{
		if (norm_global_init() != 0)
			abort();
		score_model_default(&model);
		nn = norm_nicknames_new();
		q = build(kQuery, 0);
		int n = 1;
		for (const person &p : candidates())
			cand.push_back(build(p, n++));
	}
};

fixture &fx()
{
	static fixture f;
	return f;
}

void BM_pair_same_person(benchmark::State &state)
{
	fixture &f = fx();
	for (auto _ : state)
		benchmark::DoNotOptimize(
		    score_pair(&f.model, f.nn, f.q, f.cand[2], nullptr));
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_pair_same_person);

void BM_pair_neighbour(benchmark::State &state)
{
	fixture &f = fx();
	for (auto _ : state)
		benchmark::DoNotOptimize(
		    score_pair(&f.model, f.nn, f.q, f.cand[17], nullptr));
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_pair_neighbour);

void BM_pair_explained(benchmark::State &state)
{
	fixture &f = fx();
	struct score_explain ex;
	for (auto _ : state)
		benchmark::DoNotOptimize(
		    score_pair(&f.model, f.nn, f.q, f.cand[3], &ex));
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_pair_explained);

/** The scoring part of one write: the record against 32 candidates, best
 *  weight kept. Items are pairs. */
void BM_record_vs_32(benchmark::State &state)
{
	fixture &f = fx();
	for (auto _ : state) {
		double best = -1e9;
		for (const struct store_rec *c : f.cand) {
			double w = score_pair(&f.model, f.nn, f.q, c, nullptr);
			best = w > best ? w : best;
		}
		benchmark::DoNotOptimize(best);
	}
	state.SetItemsProcessed(state.iterations() * (int64_t)f.cand.size());
}
BENCHMARK(BM_record_vs_32);

/** The same, the way the engine scores: the record prepared once
 *  (score_query_create, counted in the loop) and scored with
 *  score_pair_prepared. Items are pairs. */
void BM_record_vs_32_prepared(benchmark::State &state)
{
	fixture &f = fx();
	for (auto _ : state) {
		struct score_query q;
		score_query_create(&q, &f.model, nullptr, f.nn, f.q);
		double best = -1e9;
		for (const struct store_rec *c : f.cand) {
			double w = score_pair_prepared(&q, c, nullptr);
			best = w > best ? w : best;
		}
		benchmark::DoNotOptimize(best);
	}
	state.SetItemsProcessed(state.iterations() * (int64_t)f.cand.size());
}
BENCHMARK(BM_record_vs_32_prepared);

} // namespace
