/*
 * workload.c — see workload.h.
 *
 * Known records are deep copies of ingest rows, one allocation each
 * (record, arrays and strings); a request is built from a shallow copy
 * whose varied fields point at stack buffers, converted by
 * rpc_client_record_set and packed. Identify requests are packed once,
 * before the run, and sent as grpc_byte_buffer_copy of the pool entry
 * (the slices are shared, reference-counted).
 */
#define _GNU_SOURCE
#include "workload.h"
#include "splitmix.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "grpc/health/v1/health.pb-c.h"
#include "rpc_client.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct workload {
	struct workload_opts o;
	reconnu_record **known; /**< owned, one block each */
	size_t n_known;
	grpc_byte_buffer **pool; /**< packed IdentifyRequests, owned */
	size_t n_pool;
	grpc_byte_buffer *empty; /**< the empty request (health, stats) */
	char run[24];		 /**< key prefix of new records */
	atomic_uint_fast64_t serial;
	atomic_uint_fast64_t setup_next;
};

static unsigned below(uint64_t *rng, unsigned n)
{
	return (unsigned)(splitmix64(rng) % n);
}

static int chance(uint64_t *rng, double p)
{
	return (double)(splitmix64(rng) >> 11) * 0x1p-53 < p;
}

/* ---- deep copy of a record ------------------------------------------------
 */

/** Bump copier: measures (buf NULL) or copies. */
struct cp {
	char *buf;
	size_t off;
};

static void *cp_take(struct cp *c, size_t n, size_t align)
{
	c->off = (c->off + align - 1) & ~(align - 1);
	void *p = c->buf ? c->buf + c->off : NULL;
	c->off += n;
	return p;
}

static const char *cp_str(struct cp *c, const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	char *p = cp_take(c, n, 1);
	if (p)
		memcpy(p, s, n);
	return p;
}

static reconnu_record *rec_copy(struct cp *c, const reconnu_record *x)
{
	reconnu_record *r = cp_take(c, sizeof(*r), 8), t = *x;
	t.source = cp_str(c, x->source);
	t.source_id = cp_str(c, x->source_id);
	t.given_name = cp_str(c, x->given_name);
	t.family_name = cp_str(c, x->family_name);
	t.full_name = cp_str(c, x->full_name);
	t.birth_date = cp_str(c, x->birth_date);
	t.gender = cp_str(c, x->gender);
	t.country = cp_str(c, x->country);
	const char **em = cp_take(c, x->n_emails * sizeof(*em), 8);
	for (size_t i = 0; i < x->n_emails; i++) {
		const char *s = cp_str(c, x->emails[i]);
		if (em)
			em[i] = s;
	}
	t.emails = em;
	const char **ph = cp_take(c, x->n_phones * sizeof(*ph), 8);
	for (size_t i = 0; i < x->n_phones; i++) {
		const char *s = cp_str(c, x->phones[i]);
		if (ph)
			ph[i] = s;
	}
	t.phones = ph;
	reconnu_address *ad = cp_take(c, x->n_addresses * sizeof(*ad), 8);
	for (size_t i = 0; i < x->n_addresses; i++) {
		const reconnu_address *a = &x->addresses[i];
		reconnu_address b = {
		    cp_str(c, a->line1),  cp_str(c, a->line2),
		    cp_str(c, a->city),	  cp_str(c, a->postcode),
		    cp_str(c, a->region), cp_str(c, a->country)};
		if (ad)
			ad[i] = b;
	}
	t.addresses = ad;
	reconnu_identifier *id = cp_take(c, x->n_identifiers * sizeof(*id), 8);
	for (size_t i = 0; i < x->n_identifiers; i++) {
		reconnu_identifier b = {cp_str(c, x->identifiers[i].type),
					cp_str(c, x->identifiers[i].value)};
		if (id)
			id[i] = b;
	}
	t.identifiers = id;
	reconnu_consent *co = cp_take(c, x->n_consents * sizeof(*co), 8);
	for (size_t i = 0; i < x->n_consents; i++) {
		reconnu_consent b = x->consents[i];
		b.channel = cp_str(c, b.channel);
		if (co)
			co[i] = b;
	}
	t.consents = co;
	reconnu_attr *at = cp_take(c, x->n_attributes * sizeof(*at), 8);
	for (size_t i = 0; i < x->n_attributes; i++) {
		reconnu_attr b = {cp_str(c, x->attributes[i].key),
				  cp_str(c, x->attributes[i].value)};
		if (at)
			at[i] = b;
	}
	t.attributes = at;
	if (r)
		*r = t;
	return r;
}

/** One-block copy of x (free with free), NULL when out of memory. */
static reconnu_record *rec_dup(const reconnu_record *x)
{
	struct cp c = {0};
	rec_copy(&c, x);
	c.buf = malloc(c.off);
	if (!c.buf)
		return NULL;
	c.off = 0;
	return rec_copy(&c, x);
}

/* ---- synthetic people ------------------------------------------------------
 */

static const char *const given_names[] = {
    "emma",   "louis", "olivia", "noah",   "jade",   "gabriel",	  "alice",
    "arthur", "chloe", "jules",	 "lena",   "adam",   "sophie",	  "lucas",
    "mia",    "hugo",  "anna",	 "leon",   "marie",  "paul",	  "julia",
    "felix",  "laura", "jonas",	 "giulia", "marco",  "sofia",	  "luca",
    "lucia",  "pablo", "carmen", "diego",  "james",  "oliver",	  "amelia",
    "harry",  "isla",  "jack",	 "emily",  "thomas", "charlotte", "william",
    "grace",  "henry", "ella",	 "samuel", "ava",    "daniel",
};
static const char *const family_names[] = {
    "martin", "bernard", "dubois",    "thomas",	  "robert",  "richard",
    "petit",  "durand",	 "leroy",     "moreau",	  "smith",   "jones",
    "taylor", "brown",	 "williams",  "wilson",	  "johnson", "davies",
    "muller", "schmidt", "schneider", "fischer",  "weber",   "meyer",
    "rossi",  "russo",	 "ferrari",   "esposito", "bianchi", "romano",
    "garcia", "lopez",	 "martinez",  "sanchez",  "perez",   "gomez",
    "miller", "davis",	 "anderson",  "clark",	  "lewis",   "walker",
    "young",  "allen",	 "king",      "wright",	  "scott",   "green",
};
static const char *const syllables[] = {
    "ka",  "zu",  "mi",	 "ro",	"te",  "vo",  "qui", "lan", "dre", "pho",
    "gri", "sal", "bex", "yor", "fen", "wuz", "tal", "oom", "rix", "ny",
};
static const char *const streets[] = {
    "Victor Hugo", "Pasteur", "Garibaldi", "Oak",     "Park",	 "Mozart",
    "Goethe",	   "Verdi",   "Cervantes", "Lincoln", "Station", "Mill",
};

static const struct country {
	const char *iso, *cc, *mobile, *domain;
	unsigned digits; /**< after the mobile prefix */
	const char *cities[4];
	int street_first; /**< "Mozartstrasse 12" rather than "12 rue X" */
	const char *street_word;
} countries[] = {
    {"FR",
     "33",
     "6",
     "orange.fr",
     8,
     {"Paris", "Lyon", "Marseille", "Lille"},
     0,
     "rue"},
    {"GB",
     "44",
     "7",
     "btinternet.com",
     9,
     {"London", "Leeds", "Bristol", "Glasgow"},
     0,
     "Road"},
    {"DE",
     "49",
     "15",
     "web.de",
     9,
     {"Berlin", "Hamburg", "Bremen", "Koln"},
     1,
     "strasse"},
    {"IT",
     "39",
     "3",
     "libero.it",
     9,
     {"Roma", "Milano", "Torino", "Napoli"},
     1,
     "Via"},
    {"ES",
     "34",
     "6",
     "gmail.com",
     8,
     {"Madrid", "Barcelona", "Sevilla", "Valencia"},
     1,
     "Calle"},
    {"US",
     "1",
     "617",
     "gmail.com",
     7,
     {"Boston", "Denver", "Austin", "Seattle"},
     0,
     "St"},
};

/** A synthetic record with its storage. */
struct synth {
	char given[32], family[32], birth[16], email[112], phone[32];
	char line1[64], postcode[16], sid[64], loyalty[24];
	const char *emails[1], *phones[1];
	reconnu_address addr;
	reconnu_identifier id;
	reconnu_record rec;
};

static void syllable_name(char *buf, size_t n, unsigned parts, uint64_t *rng)
{
	buf[0] = 0;
	for (unsigned i = 0; i < parts; i++)
		strncat(buf, syllables[below(rng, N(syllables))],
			n - strlen(buf) - 1);
}

static void digits(char *buf, unsigned n, uint64_t *rng)
{
	for (unsigned i = 0; i < n; i++)
		buf[i] = (char)('0' + below(rng, 10));
	buf[n] = 0;
}

/** A person nobody loaded (stranger: made-up names) or a plausible new
 *  customer, keyed source/sid (NULL: no key). */
static void synth_make(struct synth *s, uint64_t *rng, int stranger,
		       const char *source, const char *sid)
{
	memset(s, 0, sizeof(*s));
	const struct country *c = &countries[below(rng, N(countries))];
	if (stranger) {
		syllable_name(s->given, sizeof(s->given), 2, rng);
		syllable_name(s->family, sizeof(s->family), 3, rng);
	} else {
		/* common given names; half the family names common, half
		 * made up, so that name blocks stay of a realistic size */
		snprintf(s->given, sizeof(s->given), "%s",
			 given_names[below(rng, N(given_names))]);
		if (chance(rng, 0.5))
			snprintf(s->family, sizeof(s->family), "%s",
				 family_names[below(rng, N(family_names))]);
		else
			syllable_name(s->family, sizeof(s->family), 3, rng);
	}
	snprintf(s->birth, sizeof(s->birth), "%u-%02u-%02u",
		 1940 + below(rng, 66), 1 + below(rng, 12), 1 + below(rng, 28));
	snprintf(s->email, sizeof(s->email), "%s.%s%u@%s", s->given, s->family,
		 below(rng, 10000), stranger ? "example.net" : c->domain);
	char num[16];
	digits(num, c->digits, rng);
	snprintf(s->phone, sizeof(s->phone), "+%s%s%s", c->cc, c->mobile, num);
	const char *street = streets[below(rng, N(streets))];
	unsigned no = 1 + below(rng, 150);
	if (c->street_first)
		snprintf(s->line1, sizeof(s->line1), "%s %s %u", c->street_word,
			 street, no);
	else
		snprintf(s->line1, sizeof(s->line1), "%u %s %s", no, street,
			 c->street_word);
	if (!strcmp(c->iso, "GB"))
		snprintf(s->postcode, sizeof(s->postcode), "%c%c%u %u%c%c",
			 'A' + below(rng, 26), 'A' + below(rng, 26),
			 1 + below(rng, 20), below(rng, 10),
			 'A' + below(rng, 26), 'A' + below(rng, 26));
	else
		digits(s->postcode, 5, rng);
	digits(s->loyalty, 12, rng);
	s->emails[0] = s->email;
	s->phones[0] = s->phone;
	s->addr = (reconnu_address){.line1 = s->line1,
				    .city = c->cities[below(rng, 4)],
				    .postcode = s->postcode,
				    .country = c->iso};
	s->id = (reconnu_identifier){.type = "loyalty", .value = s->loyalty};
	if (sid)
		snprintf(s->sid, sizeof(s->sid), "%s", sid);
	s->rec = (reconnu_record){
	    .source = source,
	    .source_id = sid ? s->sid : NULL,
	    .given_name = s->given,
	    .family_name = s->family,
	    .birth_date = s->birth,
	    .country = c->iso,
	    .emails = s->emails,
	    .n_emails = 1,
	    .phones = s->phones,
	    .n_phones = 1,
	    .addresses = &s->addr,
	    .n_addresses = 1,
	    .identifiers = &s->id,
	    .n_identifiers = chance(rng, 0.3),
	    .updated_at = (int64_t)time(NULL) * 1000,
	};
}

/* ---- variations --------------------------------------------------------- */

/** Storage of a varied record's strings. */
struct vary {
	char given[RECONNU_MAX_FIELD_LEN + 1],
	    family[RECONNU_MAX_FIELD_LEN + 1];
	char birth[16], phone[32], email[112], line1[64];
	const char *emails[1], *phones[1];
	reconnu_address addr;
};

static int ascii_letter(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/** A typo between two ASCII letters (swap, or a letter replaced): the
 *  string stays valid UTF-8. */
static void typo(const char **s, char *buf, size_t n, uint64_t *rng)
{
	if (!*s || strlen(*s) >= n)
		return;
	strcpy(buf, *s);
	size_t len = strlen(buf), cand = 0;
	for (size_t i = 0; i + 1 < len; i++)
		cand += ascii_letter(buf[i]) && ascii_letter(buf[i + 1]);
	if (!cand)
		return;
	size_t pick = below(rng, (unsigned)cand);
	for (size_t i = 0; i + 1 < len; i++) {
		if (!(ascii_letter(buf[i]) && ascii_letter(buf[i + 1])))
			continue;
		if (pick--)
			continue;
		if (chance(rng, 0.5)) {
			char t = buf[i];
			buf[i] = buf[i + 1];
			buf[i + 1] = t;
		} else {
			buf[i] = (char)('a' + below(rng, 26));
		}
		break;
	}
	*s = buf;
}

static void upper(const char **s, char *buf, size_t n)
{
	if (!*s || strlen(*s) >= n)
		return;
	size_t i = 0;
	for (; (*s)[i]; i++)
		buf[i] = (char)toupper((unsigned char)(*s)[i]);
	buf[i] = 0;
	*s = buf;
}

/** One variation of a known person, as a checkout would type it. */
static void vary_record(reconnu_record *q, struct vary *v, uint64_t *rng)
{
	switch (below(rng, 7)) {
	case 0:
		typo(&q->given_name, v->given, sizeof(v->given), rng);
		break;
	case 1:
		typo(&q->family_name, v->family, sizeof(v->family), rng);
		break;
	case 2: /* another day of the same month */
		if (q->birth_date && strlen(q->birth_date) == 10) {
			memcpy(v->birth, q->birth_date, 11);
			snprintf(v->birth + 8, 3, "%02u", 1 + below(rng, 28));
			q->birth_date = v->birth;
		}
		break;
	case 3:
		q->n_emails = 0;
		break;
	case 4:
		q->n_phones = 0;
		q->n_addresses = 0;
		break;
	case 5:
		upper(&q->given_name, v->given, sizeof(v->given));
		upper(&q->family_name, v->family, sizeof(v->family));
		break;
	default: /* guest checkout: e-mail and family name */
		if (q->n_emails) {
			q->given_name = NULL;
			q->birth_date = NULL;
			q->n_phones = 0;
			q->n_addresses = 0;
			q->n_identifiers = 0;
		}
		break;
	}
}

/* ---- packing ------------------------------------------------------------ */

static grpc_byte_buffer *pack(enum loadgen_kind k, const reconnu_record *x,
			      unsigned ack_every)
{
	static __thread struct rpc_client_record pr;
	if (rpc_client_record_set(&pr, x))
		return NULL;
	if (k == LOADGEN_IDENTIFY) {
		Reconnu__V1__IdentifyRequest m;
		reconnu__v1__identify_request__init(&m);
		m.record = &pr.rec;
		return rpc_client_pack(&m.base);
	}
	if (k == LOADGEN_UPSERT) {
		Reconnu__V1__UpsertRequest m;
		reconnu__v1__upsert_request__init(&m);
		m.record = &pr.rec;
		return rpc_client_pack(&m.base);
	}
	Reconnu__V1__UpsertStreamRequest m;
	reconnu__v1__upsert_stream_request__init(&m);
	m.record = &pr.rec;
	m.ack_every = ack_every;
	return rpc_client_pack(&m.base);
}

/** An Identify request: a known person (key removed, maybe varied) or a
 *  stranger. */
static grpc_byte_buffer *identify_request(struct workload *w, uint64_t *rng)
{
	if (!w->n_known || chance(rng, w->o.strangers)) {
		struct synth s;
		synth_make(&s, rng, 1, NULL, NULL);
		return pack(LOADGEN_IDENTIFY, &s.rec, 0);
	}
	static __thread struct vary v;
	reconnu_record q = *w->known[below(rng, (unsigned)w->n_known)];
	q.source = q.source_id = NULL;
	q.n_consents = 0;
	q.n_attributes = 0;
	if (chance(rng, w->o.perturb))
		vary_record(&q, &v, rng);
	return pack(LOADGEN_IDENTIFY, &q, 0);
}

/** A new record under a key never used, for source. */
static grpc_byte_buffer *new_record(struct workload *w, enum loadgen_kind k,
				    const char *source, uint64_t *rng)
{
	char sid[64];
	snprintf(sid, sizeof(sid), "%s-%llu", w->run,
		 (unsigned long long)atomic_fetch_add(&w->serial, 1));
	struct synth s;
	synth_make(&s, rng, 0, source, sid);
	return pack(k, &s.rec, w->o.batch);
}

/** A till upsert: a new customer, or a known one with a new phone,
 *  e-mail or street line. */
static grpc_byte_buffer *till_request(struct workload *w, uint64_t *rng)
{
	if (!w->n_known || chance(rng, w->o.till_new))
		return new_record(w, LOADGEN_UPSERT, "bench-till", rng);
	static __thread struct vary v;
	reconnu_record q = *w->known[below(rng, (unsigned)w->n_known)];
	struct synth s;
	synth_make(&s, rng, 0, NULL, NULL);
	switch (below(rng, 3)) {
	case 0:
		snprintf(v.phone, sizeof(v.phone), "%s", s.phone);
		v.phones[0] = v.phone;
		q.phones = v.phones;
		q.n_phones = 1;
		break;
	case 1:
		snprintf(v.email, sizeof(v.email), "%s", s.email);
		v.emails[0] = v.email;
		q.emails = v.emails;
		q.n_emails = 1;
		break;
	default:
		snprintf(v.line1, sizeof(v.line1), "%s", s.line1);
		v.addr = q.n_addresses ? q.addresses[0] : s.addr;
		v.addr.line1 = v.line1;
		q.addresses = &v.addr;
		q.n_addresses = 1;
		break;
	}
	q.updated_at = s.rec.updated_at;
	return pack(LOADGEN_UPSERT, &q, 0);
}

static grpc_byte_buffer *next(void *ctx, enum loadgen_kind k, uint64_t *rng)
{
	struct workload *w = ctx;
	switch (k) {
	case LOADGEN_IDENTIFY:
		return grpc_byte_buffer_copy(
		    w->pool[below(rng, (unsigned)w->n_pool)]);
	case LOADGEN_UPSERT:
		return till_request(w, rng);
	case LOADGEN_BULK:
		return new_record(w, LOADGEN_BULK, "bench-bulk", rng);
	default:
		return grpc_byte_buffer_copy(w->empty);
	}
}

static grpc_byte_buffer *setup_next(void *ctx, enum loadgen_kind k,
				    uint64_t *rng)
{
	struct workload *w = ctx;
	(void)k;
	(void)rng;
	uint64_t i = atomic_fetch_add(&w->setup_next, 1);
	return i < w->n_known ? pack(LOADGEN_UPSERT, w->known[i], 0) : NULL;
}

/* ---- construction ---------------------------------------------------------
 */

/** Seeded reservoir sample of the first o->scan rows of the file. */
static int sample_file(struct workload *w, uint64_t *rng)
{
	const struct workload_opts *o = &w->o;
	struct ingest_mapping *m = ingest_mapping_new();
	if (!m)
		return -1;
	for (unsigned i = 0; i < o->n_maps; i++)
		if (ingest_mapping_add(m, o->maps[i])) {
			fprintf(stderr, "reconnu-bench: --map: %s\n",
				ingest_last_error());
			ingest_mapping_delete(m);
			return -1;
		}
	struct ingest_reader *r = ingest_open(o->data, m, o->format);
	ingest_mapping_delete(m);
	if (!r) {
		fprintf(stderr, "reconnu-bench: %s\n", ingest_last_error());
		return -1;
	}
	static struct rpc_client_record check;
	uint64_t seen = 0;
	int rc = 0;
	for (;;) {
		reconnu_record *rec;
		int n = ingest_next(r, &rec, NULL);
		if (n == INGEST_EROW)
			continue;
		if (n < 0) {
			fprintf(stderr, "reconnu-bench: %s\n",
				ingest_last_error());
			rc = -1;
			break;
		}
		if (n == 0 || seen >= o->scan)
			break;
		if (rpc_client_record_set(&check, rec))
			continue;
		uint64_t slot =
		    seen < o->sample ? seen : splitmix64(rng) % (seen + 1);
		seen++;
		if (slot >= o->sample)
			continue;
		reconnu_record *d = rec_dup(rec);
		if (!d) {
			rc = -1;
			break;
		}
		if (slot < w->n_known) {
			free(w->known[slot]);
		} else {
			w->n_known = slot + 1;
		}
		w->known[slot] = d;
	}
	ingest_close(r);
	if (!rc && !w->n_known) {
		fprintf(stderr, "reconnu-bench: %s: no usable row\n", o->data);
		rc = -1;
	}
	return rc;
}

int workload_new(const struct workload_opts *o, struct workload **out)
{
	*out = NULL;
	struct workload *w = calloc(1, sizeof(*w));
	if (!w)
		return -1;
	w->o = *o;
	snprintf(w->run, sizeof(w->run), "%llx",
		 (unsigned long long)time(NULL) << 20 ^ (unsigned)getpid());
	uint64_t rng = o->seed;
	size_t cap = o->data ? o->sample : o->population;
	w->known = calloc(cap ? cap : 1, sizeof(*w->known));
	w->pool = calloc(o->pool ? o->pool : 1, sizeof(*w->pool));
	Grpc__Health__V1__HealthCheckRequest e;
	grpc__health__v1__health_check_request__init(&e);
	w->empty = rpc_client_pack(&e.base);
	if (!w->known || !w->pool)
		goto fail;
	if (o->data) {
		if (sample_file(w, &rng))
			goto fail;
	} else {
		for (unsigned i = 0; i < o->population; i++) {
			char sid[32];
			snprintf(sid, sizeof(sid), "p%u", i);
			uint64_t r = o->seed ^ (0x9e37ULL * (i + 1));
			struct synth s;
			synth_make(&s, &r, 0, "bench-pop", sid);
			s.rec.updated_at = 0;
			if (!(w->known[i] = rec_dup(&s.rec)))
				goto fail;
			w->n_known = i + 1;
		}
	}
	for (size_t i = 0; i < o->pool; i++) {
		if (!(w->pool[i] = identify_request(w, &rng)))
			goto fail;
		w->n_pool = i + 1;
	}
	if (!w->n_pool)
		goto fail;
	*out = w;
	return 0;
fail:
	fprintf(stderr, "reconnu-bench: cannot build the workload\n");
	workload_delete(w);
	return -1;
}

void workload_delete(struct workload *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n_known; i++)
		free(w->known[i]);
	for (size_t i = 0; i < w->n_pool; i++)
		grpc_byte_buffer_destroy(w->pool[i]);
	if (w->empty)
		grpc_byte_buffer_destroy(w->empty);
	free(w->known);
	free(w->pool);
	free(w);
}

size_t workload_known(const struct workload *w)
{
	return w->n_known;
}

struct loadgen_gen workload_gen(struct workload *w)
{
	return (struct loadgen_gen){.next = next, .ctx = w};
}

int workload_setup(struct workload *w, struct loadgen_gen *gen)
{
	if (w->o.data || !w->n_known)
		return 0;
	*gen = (struct loadgen_gen){.next = setup_next, .ctx = w};
	return 1;
}
