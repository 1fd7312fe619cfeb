// bench_norm — normalisation, the cost every write and query pays before
// the engine lock: person names by script (the ASCII fast path, accented
// Latin, Cyrillic and Han through ICU), free text, e-mails, phones,
// postcodes, dates, and a whole record (store_rec_build: validation,
// every field normalised, one allocation).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>

extern "C" {
#include "norm.h"
#include "store.h"
}

namespace
{

void init()
{
	if (norm_global_init() != 0)
		abort();
}

/** Names of one kind, cycled so that no single string stays hot. */
void run_names(benchmark::State &state, const char *const *names, size_t n)
{
	init();
	char out[512];
	for (size_t k = 0; k < n; k++) /* first use opens transliterators */
		norm_name(names[k], out, sizeof(out));
	size_t i = 0, bytes = 0;
	for (auto _ : state) {
		const char *s = names[i++ % n];
		benchmark::DoNotOptimize(norm_name(s, out, sizeof(out)));
		bytes += __builtin_strlen(s);
	}
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed((int64_t)bytes);
}

const char *const kAscii[] = {"Robert",	  "Smith",	  "Jean-Luc", "O'Neil",
			      "MARY ANN", "van der Berg", "Johnson",  "Lee"};
const char *const kLatin[] = {"José",	"Müller",   "Zoë",   "Ōtani",
			      "Łukasz", "François", "Nuñez", "Ångström"};
const char *const kCyrillic[] = {"Дмитрий", "Иванов", "Наталья",
				 "Щукин",   "Юлия",   "Ширани"};
const char *const kHan[] = {"王伟", "李娜", "张小明",
			    "刘洋", "陈静", "山田太郎"};

void BM_name_ascii(benchmark::State &state)
{
	run_names(state, kAscii, sizeof(kAscii) / sizeof(*kAscii));
}
BENCHMARK(BM_name_ascii);

void BM_name_accented_latin(benchmark::State &state)
{
	run_names(state, kLatin, sizeof(kLatin) / sizeof(*kLatin));
}
BENCHMARK(BM_name_accented_latin);

void BM_name_cyrillic(benchmark::State &state)
{
	run_names(state, kCyrillic, sizeof(kCyrillic) / sizeof(*kCyrillic));
}
BENCHMARK(BM_name_cyrillic);

void BM_name_han(benchmark::State &state)
{
	run_names(state, kHan, sizeof(kHan) / sizeof(*kHan));
}
BENCHMARK(BM_name_han);

void BM_text_street(benchmark::State &state)
{
	init();
	const char *const lines[] = {"12 Rue de l'Église", "221B Baker Street",
				     "Hauptstraße 5", "1600 Amphitheatre Pkwy"};
	char out[512];
	size_t i = 0;
	for (auto _ : state)
		benchmark::DoNotOptimize(
		    norm_text(lines[i++ % 4], out, sizeof(out)));
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_text_street);

void BM_email(benchmark::State &state)
{
	init();
	const char *const mails[] = {
	    "John.Smith+news@Gmail.com", "marie.dupont@orange.fr",
	    "  ZOE_KIM@OUTLOOK.COM ", "o.tani@example.co.jp"};
	char out[512];
	size_t i = 0;
	for (auto _ : state)
		benchmark::DoNotOptimize(
		    norm_email(mails[i++ % 4], out, sizeof(out)));
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_email);

void BM_phone(benchmark::State &state)
{
	init();
	const char *const phones[] = {"06 12 34 56 78", "+44 (0)20 7946 0958",
				      "(415) 811-9356", "0049 30 1234567"};
	const char *const cc[] = {"FR", "GB", "US", "DE"};
	char out[64];
	size_t i = 0;
	for (auto _ : state) {
		size_t k = i++ % 4;
		benchmark::DoNotOptimize(
		    norm_phone(phones[k], cc[k], out, sizeof(out)));
	}
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_phone);

void BM_postcode_and_date(benchmark::State &state)
{
	init();
	const char *const pcs[] = {"sw1a 2aa", "F-75001", "1067", "10011-1234"};
	const char *const cc[] = {"GB", "FR", "DE", "US"};
	const char *const dates[] = {"1962-11-21", "19870531", "1990/2/3",
				     "1944"};
	char out[64];
	struct norm_date d;
	size_t i = 0;
	for (auto _ : state) {
		size_t k = i++ % 4;
		benchmark::DoNotOptimize(
		    norm_postcode(pcs[k], cc[k], out, sizeof(out)));
		benchmark::DoNotOptimize(norm_date_parse(dates[k], &d));
	}
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_postcode_and_date);

/** A whole record as datagen writes them: names, birth date, gender, two
 *  e-mails, a phone, an address, a loyalty id, a consent. Arg 0: Latin
 *  ASCII names, 1: accented, 2: Cyrillic, 3: Han full name. */
void BM_record(benchmark::State &state)
{
	init();
	const char *em[] = {"davidmiller@yahoo.com", "D.Miller+shop@gmail.com"};
	const char *ph[] = {"+1 415 811 9356"};
	reconnu_address ad = {
	    "Apt 4A, 52 Broadway", nullptr, "New York", "10011", "NY", "US"};
	reconnu_identifier id = {"loyalty", "LY-0042-7781"};
	reconnu_consent cs = {"email", 1, 1613275565045};
	reconnu_record in = {};
	in.source = "eshop";
	in.source_id = "3965671894";
	in.birth_date = "1962-11-21";
	in.gender = "M";
	in.emails = em;
	in.n_emails = 2;
	in.phones = ph;
	in.n_phones = 1;
	in.addresses = &ad;
	in.n_addresses = 1;
	in.identifiers = &id;
	in.n_identifiers = 1;
	in.consents = &cs;
	in.n_consents = 1;
	in.updated_at = 1613275565045;
	char warm[64];
	norm_name("王", warm, sizeof(warm)); /* opened on first use */
	switch (state.range(0)) {
	case 0:
		in.given_name = "David";
		in.family_name = "Miller";
		break;
	case 1:
		in.given_name = "Dávid";
		in.family_name = "Müller";
		break;
	case 2:
		in.given_name = "Дмитрий";
		in.family_name = "Иванов";
		break;
	default:
		in.full_name = "王 小明";
		break;
	}
	char msg[256];
	for (auto _ : state) {
		struct store_rec *r = nullptr;
		if (store_rec_build(&in, 1, &r, msg, sizeof(msg)) != 0)
			abort();
		benchmark::DoNotOptimize(r);
		store_rec_delete(r);
	}
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_record)->DenseRange(0, 3);

} // namespace
