// bench_codec — the server's message work per Identify call, with the
// protobuf-c code engine/rpc uses: packing the request (client side),
// checking and unpacking it into a reconnu_record (server: codec_decode,
// codec_record_from_pb), building and packing the response with its
// golden record, explanation and candidates (codec_match_to_pb), and
// unpacking that response (client side). The response is a real one: an
// in-memory engine holding one person seen by three sources answers it.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

/* The generated code names the Delete rpc's method "delete", a C++
 * keyword: renamed while the C headers are read (the service is unused). */
#define delete delete_
extern "C" {
#include "codec.h"
}
#undef delete

namespace
{

constexpr size_t kBudget = 4u << 20;

/** One person in three sources, and a few neighbours. */
reconnu *engine()
{
	static reconnu *r = [] {
		reconnu *e = nullptr;
		if (reconnu_open(nullptr, &e) != 0)
			abort();
		const char *srcs[] = {"eshop", "crm", "loyalty"};
		const char *mails[] = {"anne.martin@orange.fr",
				       "a.martin@gmail.com",
				       "anne.martin@orange.fr"};
		const char *phones[] = {"06 12 34 56 78", "+33 6 12 34 56 78",
					"0612345678"};
		for (int i = 0; i < 3; i++) {
			const char *em[] = {mails[i]}, *ph[] = {phones[i]};
			reconnu_address ad = {"12 rue des Lilas",
					      nullptr,
					      "Lyon",
					      "69003",
					      nullptr,
					      "FR"};
			reconnu_identifier id = {"loyalty", "LY-778812"};
			reconnu_consent cs = {"email", i != 1,
					      1700000000000 + i};
			reconnu_attr at[] = {{"tier", "gold"},
					     {"store", "Lyon Part-Dieu"}};
			reconnu_record in = {};
			in.source = srcs[i];
			in.source_id = "A-1001";
			in.given_name = i == 2 ? "Anne-Marie" : "Anne";
			in.family_name = "Martin";
			in.birth_date = "1984-03-07";
			in.gender = "F";
			in.country = "FR";
			in.emails = em;
			in.n_emails = 1;
			in.phones = ph;
			in.n_phones = 1;
			in.addresses = &ad;
			in.n_addresses = 1;
			in.identifiers = &id;
			in.n_identifiers = 1;
			in.consents = &cs;
			in.n_consents = 1;
			in.attributes = at;
			in.n_attributes = 2;
			in.updated_at = 1700000000000 + i;
			if (reconnu_upsert(e, &in, nullptr) != 0)
				abort();
		}
		return e;
	}();
	return r;
}

/** The Identify request a client sends for a re-typed Anne Martin. */
struct request {
	Reconnu__V1__IdentifyRequest req;
	Reconnu__V1__Record rec;
	Reconnu__V1__Address addr, *addrs[1];
	char *emails[1], *phones[1];

	request()
	{
		reconnu__v1__identify_request__init(&req);
		reconnu__v1__record__init(&rec);
		reconnu__v1__address__init(&addr);
		rec.given_name = (char *)"Anne";
		rec.family_name = (char *)"Martín";
		rec.birth_date = (char *)"1984-03-07";
		rec.country = (char *)"FR";
		emails[0] = (char *)"Anne.Martin@orange.fr";
		rec.emails = emails;
		rec.n_emails = 1;
		phones[0] = (char *)"06 12 34 56 78";
		rec.phones = phones;
		rec.n_phones = 1;
		addr.line1 = (char *)"12 rue des Lilas";
		addr.city = (char *)"Lyon";
		addr.postcode = (char *)"69003";
		addr.country = (char *)"FR";
		addrs[0] = &addr;
		rec.addresses = addrs;
		rec.n_addresses = 1;
		req.record = &rec;
		req.max_candidates = 10;
	}

	std::vector<uint8_t> packed()
	{
		std::vector<uint8_t> buf(
		    reconnu__v1__identify_request__get_packed_size(&req));
		reconnu__v1__identify_request__pack(&req, buf.data());
		return buf;
	}
};

void BM_request_pack(benchmark::State &state)
{
	request r;
	std::vector<uint8_t> buf(
	    reconnu__v1__identify_request__get_packed_size(&r.req));
	for (auto _ : state) {
		size_t n =
		    reconnu__v1__identify_request__get_packed_size(&r.req);
		benchmark::DoNotOptimize(
		    reconnu__v1__identify_request__pack(&r.req, buf.data()));
		benchmark::DoNotOptimize(n);
	}
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed(state.iterations() * (int64_t)buf.size());
}
BENCHMARK(BM_request_pack);

/** What the server does with the bytes before the engine sees a record. */
void BM_request_decode(benchmark::State &state)
{
	request r;
	std::vector<uint8_t> buf = r.packed();
	char err[256];
	for (auto _ : state) {
		struct codec_mem m;
		codec_mem_create(&m, kBudget);
		ProtobufCMessage *msg = nullptr;
		reconnu_record rec;
		if (codec_decode(&reconnu__v1__identify_request__descriptor,
				 buf.data(), buf.size(), &m, &msg, err,
				 sizeof(err)) != CODEC_OK ||
		    codec_record_from_pb(
			((Reconnu__V1__IdentifyRequest *)msg)->record, "record",
			&m, &rec, err, sizeof(err)) != CODEC_OK)
			abort();
		benchmark::DoNotOptimize(rec.given_name);
		codec_mem_destroy(&m);
	}
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed(state.iterations() * (int64_t)buf.size());
}
BENCHMARK(BM_request_decode);

/** The engine's answer to the request (golden record, explanation,
 *  candidates). */
reconnu_match *answer()
{
	static reconnu_match *m = [] {
		const char *em[] = {"Anne.Martin@orange.fr"};
		reconnu_record q = {};
		q.given_name = "Anne";
		q.family_name = "Martín";
		q.birth_date = "1984-03-07";
		q.emails = em;
		q.n_emails = 1;
		reconnu_match *x = nullptr;
		if (reconnu_identify(engine(), &q, 10, &x) != 0 || !x->golden ||
		    x->golden->n_members != 3)
			abort();
		return x;
	}();
	return m;
}

void BM_response_encode(benchmark::State &state)
{
	reconnu_match *match = answer();
	std::vector<uint8_t> buf(1 << 16);
	size_t n = 0;
	for (auto _ : state) {
		struct codec_mem m;
		codec_mem_create(&m, kBudget);
		Reconnu__V1__IdentifyResponse out;
		if (codec_match_to_pb(match, &m, &out) != 0)
			abort();
		n = reconnu__v1__identify_response__get_packed_size(&out);
		if (n > buf.size())
			abort();
		reconnu__v1__identify_response__pack(&out, buf.data());
		codec_mem_destroy(&m);
	}
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed(state.iterations() * (int64_t)n);
}
BENCHMARK(BM_response_encode);

void BM_response_decode(benchmark::State &state)
{
	reconnu_match *match = answer();
	struct codec_mem m;
	codec_mem_create(&m, kBudget);
	Reconnu__V1__IdentifyResponse out;
	if (codec_match_to_pb(match, &m, &out) != 0)
		abort();
	std::vector<uint8_t> buf(
	    reconnu__v1__identify_response__get_packed_size(&out));
	reconnu__v1__identify_response__pack(&out, buf.data());
	codec_mem_destroy(&m);
	for (auto _ : state) {
		Reconnu__V1__IdentifyResponse *r =
		    reconnu__v1__identify_response__unpack(nullptr, buf.size(),
							   buf.data());
		if (!r || !r->golden)
			abort();
		benchmark::DoNotOptimize(r->golden->entity_id);
		reconnu__v1__identify_response__free_unpacked(r, nullptr);
	}
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed(state.iterations() * (int64_t)buf.size());
}
BENCHMARK(BM_response_decode);

/** GetEntity's payload: the golden record alone. */
void BM_golden_encode(benchmark::State &state)
{
	const reconnu_golden *g = answer()->golden;
	std::vector<uint8_t> buf(1 << 16);
	for (auto _ : state) {
		struct codec_mem m;
		codec_mem_create(&m, kBudget);
		Reconnu__V1__GoldenRecord *pb = codec_golden_to_pb(g, &m);
		if (!pb)
			abort();
		size_t n = reconnu__v1__golden_record__get_packed_size(pb);
		if (n > buf.size())
			abort();
		reconnu__v1__golden_record__pack(pb, buf.data());
		codec_mem_destroy(&m);
	}
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_golden_encode);

} // namespace
