/*
 * ingest.c — CSV / JSON Lines rows to reconnu_record (see ingest.h).
 *
 * CSV goes through libcsv rather than a hand-written parser: it already
 * does RFC 4180 quoting, CRLF, a missing final newline and trimming of
 * unquoted fields, and its strict mode reports stray quotes. libcsv pushes
 * fields through callbacks, so the reader feeds it one physical line at a
 * time and queues the rows completed by that line; that also gives every
 * row the line where it starts, for error messages.
 *
 * JSON Lines go through jansson, one json_loadb() per line.
 *
 * Memory: the mapping is copied at open and resolved against the header
 * (column names → indexes) once. Field bytes of the queued CSV rows live in
 * one growing buffer reused once the queue drains; the strings of the
 * record handed out live in a per-row arena reset by each ingest_next.
 */
#define _GNU_SOURCE
#include "ingest.h"

#include <csv.h>
#include <jansson.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- errors ------------------------------------------------------------ */

static _Thread_local char ingest__errbuf[1024];

const char *ingest_last_error(void)
{
	return ingest__errbuf;
}

__attribute__((format(printf, 2, 3))) static int
ingest__fail(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ingest__errbuf, sizeof(ingest__errbuf), fmt, ap);
	va_end(ap);
	return code;
}

/* ---- mapping ----------------------------------------------------------- */

/** Target fields, in the order of field_names[]. */
enum ingest__field {
	F_SOURCE,
	F_SOURCE_ID,
	F_GIVEN_NAME,
	F_FAMILY_NAME,
	F_FULL_NAME,
	F_BIRTH_DATE,
	F_GENDER,
	F_COUNTRY,
	F_EMAIL,
	F_PHONE,
	F_ADDRESS_LINE1,
	F_ADDRESS_LINE2,
	F_CITY,
	F_POSTCODE,
	F_REGION,
	F_ADDRESS_COUNTRY,
	F_UPDATED_AT,
	F_TRUTH,
	F_IDENTIFIER, /* keyed fields from here on: "name:<key>" */
	F_ATTR,
	F_CONSENT,
	F__COUNT
};

static const char *const field_names[F__COUNT] = {
    "source",	  "source_id",	"given_name",	 "family_name",
    "full_name",  "birth_date", "gender",	 "country",
    "email",	  "phone",	"address_line1", "address_line2",
    "city",	  "postcode",	"region",	 "address_country",
    "updated_at", "truth",	"identifier",	 "attr",
    "consent",
};

/** Whether a field may be mapped several times (each adds a list item). */
static bool field_repeats(enum ingest__field f)
{
	return f == F_EMAIL || f == F_PHONE || f == F_IDENTIFIER;
}

/** One operand of COLUMNS. Exactly one of name, literal, pos is set. */
struct ingest__term {
	char *name;    /**< header column / JSON key, owned */
	char *literal; /**< constant value, owned */
	unsigned pos;  /**< 1-based position (#N), 0 if none */
	int col;       /**< resolved 0-based CSV column, -1 if none */
};

/** One FIELD=COLUMNS item. */
struct ingest__binding {
	enum ingest__field field;
	char *key;     /**< identifier type / attr key / consent channel */
	char *whole;   /**< COLUMNS as written, owned */
	int whole_col; /**< CSV column named exactly `whole`, or -1 */
	char joiner;   /**< 0 single term, ' ' for '+', '-' for '-' */
	size_t n_terms;
	struct ingest__term *terms; /**< owned */
};

struct ingest_mapping {
	struct ingest__binding *b; /**< owned array */
	size_t n, cap;
	int header; /**< CSV files start with a header row */
};

static void binding_free(struct ingest__binding *b)
{
	for (size_t i = 0; i < b->n_terms; i++) {
		free(b->terms[i].name);
		free(b->terms[i].literal);
	}
	free(b->terms);
	free(b->key);
	free(b->whole);
	memset(b, 0, sizeof(*b));
}

struct ingest_mapping *ingest_mapping_new(void)
{
	struct ingest_mapping *m = calloc(1, sizeof(*m));
	if (m == NULL) {
		ingest__fail(INGEST_ENOMEM, "out of memory");
		return NULL;
	}
	m->header = 1;
	return m;
}

void ingest_mapping_delete(struct ingest_mapping *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++)
		binding_free(&m->b[i]);
	free(m->b);
	free(m);
}

void ingest_mapping_set_header(struct ingest_mapping *m, int has_header)
{
	m->header = has_header != 0;
}

static int mapping_push(struct ingest_mapping *m, struct ingest__binding *b)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 16;
		void *p = realloc(m->b, cap * sizeof(*m->b));
		if (p == NULL)
			return ingest__fail(INGEST_ENOMEM, "out of memory");
		m->b = p;
		m->cap = cap;
	}
	m->b[m->n++] = *b;
	memset(b, 0, sizeof(*b));
	return 0;
}

static const struct ingest__binding *
mapping_find(const struct ingest_mapping *m, enum ingest__field f,
	     const char *key)
{
	for (size_t i = 0; i < m->n; i++) {
		const struct ingest__binding *b = &m->b[i];
		if (b->field == f &&
		    (key == NULL || (b->key && strcmp(b->key, key) == 0)))
			return b;
	}
	return NULL;
}

static void mapping_remove(struct ingest_mapping *m, enum ingest__field f)
{
	size_t j = 0;
	for (size_t i = 0; i < m->n; i++) {
		if (m->b[i].field == f)
			binding_free(&m->b[i]);
		else
			m->b[j++] = m->b[i];
	}
	m->n = j;
}

int ingest_mapping_has_source(const struct ingest_mapping *m)
{
	return mapping_find(m, F_SOURCE, NULL) != NULL;
}

/** Parses FIELD ("given_name", "identifier:ssn", ...) of len bytes. */
static int parse_field(const char *s, size_t len, enum ingest__field *f,
		       char **key)
{
	const char *colon = memchr(s, ':', len);
	size_t nlen = colon ? (size_t)(colon - s) : len;
	*key = NULL;
	for (int i = 0; i < F__COUNT; i++) {
		if (strlen(field_names[i]) != nlen ||
		    memcmp(field_names[i], s, nlen) != 0)
			continue;
		bool keyed = i >= F_IDENTIFIER;
		if (keyed != (colon != NULL))
			break;
		if (keyed) {
			size_t klen = len - nlen - 1;
			if (klen == 0)
				break;
			*key = strndup(colon + 1, klen);
			if (*key == NULL)
				return ingest__fail(INGEST_ENOMEM,
						    "out of memory");
		}
		*f = (enum ingest__field)i;
		return 0;
	}
	return ingest__fail(INGEST_EINVAL,
			    "unknown field '%.*s' (want source, source_id, "
			    "given_name, ..., identifier:<type>, attr:<key>, "
			    "consent:<channel>, truth)",
			    (int)len, s);
}

/** Parses one TERM of len bytes into t. */
static int parse_term(const char *s, size_t len, struct ingest__term *t)
{
	memset(t, 0, sizeof(*t));
	t->col = -1;
	if (len >= 2 && s[0] == '\'' && s[len - 1] == '\'') {
		t->literal = strndup(s + 1, len - 2);
		return t->literal
			   ? 0
			   : ingest__fail(INGEST_ENOMEM, "out of memory");
	}
	if (len >= 2 && s[0] == '#') {
		unsigned long v = 0;
		for (size_t i = 1; i < len; i++) {
			if (!isdigit((unsigned char)s[i]) || v > 100000)
				goto bad;
			v = v * 10 + (unsigned long)(s[i] - '0');
		}
		if (v == 0)
			goto bad;
		t->pos = (unsigned)v;
		return 0;
	}
	if (len == 0 || memchr(s, '\'', len) != NULL)
		goto bad;
	t->name = strndup(s, len);
	return t->name ? 0 : ingest__fail(INGEST_ENOMEM, "out of memory");
bad:
	return ingest__fail(INGEST_EINVAL, "bad column '%.*s'", (int)len, s);
}

/** Parses COLUMNS (len bytes) into b's terms. */
static int parse_columns(const char *s, size_t len, struct ingest__binding *b)
{
	b->whole = strndup(s, len);
	b->whole_col = -1;
	if (b->whole == NULL)
		return ingest__fail(INGEST_ENOMEM, "out of memory");
	size_t start = 0;
	bool quoted = false;
	for (size_t i = 0; i <= len; i++) {
		char c = i < len ? s[i] : 0;
		if (c == '\'')
			quoted = !quoted;
		if (i < len && (quoted || (c != '+' && c != '-')))
			continue;
		if (i < len) {
			char j = c == '+' ? ' ' : '-';
			if (b->joiner && b->joiner != j)
				return ingest__fail(INGEST_EINVAL,
						    "'%.*s' mixes '+' and '-'",
						    (int)len, s);
			b->joiner = j;
		}
		void *p =
		    realloc(b->terms, (b->n_terms + 1) * sizeof(*b->terms));
		if (p == NULL)
			return ingest__fail(INGEST_ENOMEM, "out of memory");
		b->terms = p;
		int rc =
		    parse_term(s + start, i - start, &b->terms[b->n_terms]);
		if (rc != 0)
			return rc;
		b->n_terms++;
		start = i + 1;
	}
	if (quoted)
		return ingest__fail(INGEST_EINVAL, "unclosed quote in '%.*s'",
				    (int)len, s);
	return 0;
}

/** Parses FIELD=COLUMNS (len bytes) into *b. */
static int parse_item(const char *s, size_t len, struct ingest__binding *b)
{
	memset(b, 0, sizeof(*b));
	const char *eq = memchr(s, '=', len);
	if (eq == NULL || eq == s || eq == s + len - 1)
		return ingest__fail(INGEST_EINVAL,
				    "'%.*s' is not FIELD=COLUMNS", (int)len, s);
	int rc = parse_field(s, (size_t)(eq - s), &b->field, &b->key);
	if (rc == 0)
		rc = parse_columns(eq + 1, len - (size_t)(eq - s) - 1, b);
	return rc;
}

int ingest_mapping_add(struct ingest_mapping *m, const char *spec)
{
	size_t n0 = m->n, len = strlen(spec), start = 0;
	bool quoted = false;
	struct ingest__binding b;
	int rc = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && spec[i] == '\'')
			quoted = !quoted;
		if (i < len && (quoted || spec[i] != ','))
			continue;
		rc = parse_item(spec + start, i - start, &b);
		if (rc == 0 && !field_repeats(b.field) &&
		    mapping_find(m, b.field, b.key) != NULL)
			rc = ingest__fail(INGEST_EINVAL,
					  "field '%.*s' mapped twice",
					  (int)(i - start), spec + start);
		if (rc == 0)
			rc = mapping_push(m, &b);
		if (rc != 0)
			goto fail;
		start = i + 1;
	}
	return 0;
fail:
	binding_free(&b);
	while (m->n > n0)
		binding_free(&m->b[--m->n]);
	return rc;
}

/** Replaces the binding of field f with f=columns (columns verbatim). */
static int mapping_set(struct ingest_mapping *m, enum ingest__field f,
		       const char *columns, size_t len)
{
	struct ingest__binding b = {.field = f};
	int rc = parse_columns(columns, len, &b);
	if (rc == 0) {
		mapping_remove(m, f);
		rc = mapping_push(m, &b);
	}
	binding_free(&b);
	return rc;
}

int ingest_mapping_set_id(struct ingest_mapping *m, const char *columns)
{
	return mapping_set(m, F_SOURCE_ID, columns, strlen(columns));
}

int ingest_mapping_set_truth(struct ingest_mapping *m, const char *columns)
{
	return mapping_set(m, F_TRUTH, columns, strlen(columns));
}

int ingest_mapping_set_source(struct ingest_mapping *m, const char *name)
{
	if (*name == 0 || strchr(name, '\'') != NULL)
		return ingest__fail(INGEST_EINVAL, "bad source name '%s'",
				    name);
	char *lit;
	if (asprintf(&lit, "'%s'", name) < 0)
		return ingest__fail(INGEST_ENOMEM, "out of memory");
	int rc = mapping_set(m, F_SOURCE, lit, strlen(lit));
	free(lit);
	return rc;
}

static int mapping_copy(struct ingest_mapping *dst,
			const struct ingest_mapping *src)
{
	dst->header = src->header;
	for (size_t i = 0; i < src->n; i++) {
		const struct ingest__binding *s = &src->b[i];
		struct ingest__binding b = {.field = s->field};
		int rc = 0;
		if (s->key && (b.key = strdup(s->key)) == NULL)
			rc = ingest__fail(INGEST_ENOMEM, "out of memory");
		if (rc == 0)
			rc = parse_columns(s->whole, strlen(s->whole), &b);
		if (rc == 0)
			rc = mapping_push(dst, &b);
		if (rc != 0) {
			binding_free(&b);
			return rc;
		}
	}
	return 0;
}

/* ---- per-row arena ----------------------------------------------------- */

struct ingest__chunk {
	struct ingest__chunk *next;
	size_t cap, used;
	char data[];
};

struct ingest__arena {
	struct ingest__chunk *head, *cur;
};

static void *arena_alloc(struct ingest__arena *a, size_t n)
{
	n = (n + 7) & ~(size_t)7;
	while (a->cur != NULL && a->cur->cap - a->cur->used < n) {
		a->cur = a->cur->next;
		if (a->cur != NULL)
			a->cur->used = 0;
	}
	if (a->cur == NULL) {
		size_t cap = n > 16384 ? n : 16384;
		struct ingest__chunk *c = malloc(sizeof(*c) + cap);
		if (c == NULL)
			return NULL;
		c->cap = cap;
		c->used = 0;
		c->next = a->head;
		a->head = c;
		a->cur = c;
	}
	void *p = a->cur->data + a->cur->used;
	a->cur->used += n;
	return p;
}

static void arena_reset(struct ingest__arena *a)
{
	a->cur = a->head;
	if (a->cur != NULL)
		a->cur->used = 0;
}

static void arena_free(struct ingest__arena *a)
{
	while (a->head != NULL) {
		struct ingest__chunk *c = a->head;
		a->head = c->next;
		free(c);
	}
	a->cur = NULL;
}

/* ---- reader ------------------------------------------------------------ */

/** A CSV row completed by the parser, waiting to be handed out. */
struct ingest__qrow {
	size_t first;  /**< index of its first field in foff */
	size_t n;      /**< number of fields */
	uint64_t line; /**< line where it starts */
};

struct ingest_reader {
	char *path;	      /**< for messages, owned */
	char *source_default; /**< file name sans folder/extension, owned */
	FILE *f;
	bool own_f;
	enum ingest_format fmt;
	struct ingest_mapping m; /**< private copy, resolved */
	int fatal;		 /**< sticky error code, 0 if none */
	bool eof;
	bool first_line;
	char *line; /**< getline buffer */
	size_t line_cap;
	uint64_t lineno;    /**< physical lines read */
	uint64_t cur_line;  /**< start line of the last row handed out */
	uint64_t seen_rows; /**< data rows seen, bad ones included */
	uint64_t rows;	    /**< data rows handed out */

	/* CSV */
	struct csv_parser csv;
	bool csv_ready;
	bool oom;   /**< a parser callback ran out of memory */
	char *fbuf; /**< NUL-terminated field bytes of queued rows */
	size_t flen, fcap;
	size_t *foff; /**< offsets of queued fields in fbuf */
	size_t nf, foff_cap;
	size_t row_first; /**< first field of the row being parsed */
	uint64_t row_start;
	struct ingest__qrow *q;
	size_t qhead, qn, qcap;
	size_t n_header;  /**< header fields, 0 without a header */
	bool names_used;  /**< some column is resolved by header name */
	unsigned max_col; /**< highest resolved column + 1 */

	/* JSONL */
	json_t *obj; /**< object of the current row */

	/* the record handed out and its arrays */
	struct ingest__arena arena;
	reconnu_record rec;
	const char *truth;
	reconnu_address addr;
	const char *emails[RECONNU_MAX_LIST];
	const char *phones[RECONNU_MAX_LIST];
	reconnu_identifier ids[RECONNU_MAX_LIST];
	reconnu_consent consents[RECONNU_MAX_LIST];
	reconnu_attr attrs[RECONNU_MAX_ATTRIBUTES];
};

uint64_t ingest_line(const struct ingest_reader *r)
{
	return r->cur_line;
}

uint64_t ingest_rows(const struct ingest_reader *r)
{
	return r->rows;
}

/** Reads the next physical line into r->line. @retval length, -1 at EOF */
static ssize_t read_line(struct ingest_reader *r)
{
	ssize_t n = getline(&r->line, &r->line_cap, r->f);
	if (n < 0) {
		if (ferror(r->f))
			r->fatal = ingest__fail(INGEST_EIO, "%s: read: %s",
						r->path, strerror(errno));
		return -1;
	}
	r->lineno++;
	if (r->first_line) {
		r->first_line = false;
		if (n >= 3 && memcmp(r->line, "\xEF\xBB\xBF", 3) == 0) {
			memmove(r->line, r->line + 3, (size_t)n - 2);
			n -= 3;
		}
	}
	return n;
}

static void csv_on_field(void *s, size_t len, void *data)
{
	struct ingest_reader *r = data;
	if (r->oom)
		return;
	if (r->flen + len + 1 > r->fcap) {
		size_t cap = r->fcap ? r->fcap : 4096;
		while (cap < r->flen + len + 1)
			cap *= 2;
		char *p = realloc(r->fbuf, cap);
		if (p == NULL) {
			r->oom = true;
			return;
		}
		r->fbuf = p;
		r->fcap = cap;
	}
	if (r->nf == r->foff_cap) {
		size_t cap = r->foff_cap ? 2 * r->foff_cap : 64;
		size_t *p = realloc(r->foff, cap * sizeof(*p));
		if (p == NULL) {
			r->oom = true;
			return;
		}
		r->foff = p;
		r->foff_cap = cap;
	}
	r->foff[r->nf++] = r->flen;
	if (len > 0)
		memcpy(r->fbuf + r->flen, s, len);
	r->flen += len;
	r->fbuf[r->flen++] = 0;
}

static void csv_on_row(int c, void *data)
{
	struct ingest_reader *r = data;
	(void)c;
	if (r->oom)
		return;
	if (r->qn == r->qcap) {
		size_t cap = r->qcap ? 2 * r->qcap : 8;
		void *p = realloc(r->q, cap * sizeof(*r->q));
		if (p == NULL) {
			r->oom = true;
			return;
		}
		r->q = p;
		r->qcap = cap;
	}
	r->q[r->qn++] = (struct ingest__qrow){
	    .first = r->row_first,
	    .n = r->nf - r->row_first,
	    .line = r->row_start,
	};
	r->row_first = r->nf;
	r->row_start = r->lineno;
}

/** Makes a CSV row available in the queue.
 *  @retval 1 a row is queued, 0 end of input, < 0 error */
static int csv_fill(struct ingest_reader *r)
{
	while (r->qhead == r->qn) {
		if (r->row_first == r->nf) {
			/* queue drained, no partial row: reuse buffers */
			r->qhead = r->qn = 0;
			r->nf = r->flen = r->row_first = 0;
		}
		if (r->eof)
			return 0;
		ssize_t n = read_line(r);
		if (n < 0) {
			if (r->fatal)
				return r->fatal;
			r->eof = true;
			if (csv_fini(&r->csv, csv_on_field, csv_on_row, r) !=
			    0) {
				r->fatal = ingest__fail(
				    INGEST_EPARSE,
				    "%s:%llu: quoted field never closed",
				    r->path, (unsigned long long)r->row_start);
				return r->fatal;
			}
		} else {
			if (r->csv.pstate == 0 && r->row_first == r->nf)
				r->row_start = r->lineno;
			size_t used = csv_parse(&r->csv, r->line, (size_t)n,
						csv_on_field, csv_on_row, r);
			if (used < (size_t)n && !r->oom) {
				/* stray quote: drop the row, resync next line
				 */
				uint64_t at = r->row_start;
				csv_free(&r->csv);
				csv_init(&r->csv, CSV_STRICT | CSV_STRICT_FINI);
				if (r->row_first < r->nf)
					r->flen = r->foff[r->row_first];
				r->nf = r->row_first;
				r->seen_rows++;
				r->cur_line = at;
				return ingest__fail(
				    INGEST_EROW,
				    "%s:%llu: malformed quoting near "
				    "column %zu of line %llu",
				    r->path, (unsigned long long)at, used + 1,
				    (unsigned long long)r->lineno);
			}
		}
		if (r->oom) {
			r->fatal = ingest__fail(INGEST_ENOMEM, "out of memory");
			return r->fatal;
		}
	}
	return 1;
}

static bool json_path(const char *path)
{
	const char *dot = strrchr(path, '.');
	return dot &&
	       (strcmp(dot, ".jsonl") == 0 || strcmp(dot, ".ndjson") == 0 ||
		strcmp(dot, ".json") == 0);
}

/** Finds header column `name`: exact first, then ignoring case. */
static int header_find(struct ingest_reader *r, const struct ingest__qrow *h,
		       const char *name)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcmp(r->fbuf + r->foff[h->first + i], name) == 0)
			return (int)i;
	for (size_t i = 0; i < h->n; i++)
		if (strcasecmp(r->fbuf + r->foff[h->first + i], name) == 0)
			return (int)i;
	return -1;
}

/** Maps every header column named like a field to that field. */
static int auto_map_csv(struct ingest_reader *r, const struct ingest__qrow *h)
{
	for (size_t i = 0; i < h->n; i++) {
		const char *name = r->fbuf + r->foff[h->first + i];
		struct ingest__binding b = {0};
		if (parse_field(name, strlen(name), &b.field, &b.key) != 0 ||
		    mapping_find(&r->m, b.field, b.key) != NULL) {
			free(b.key);
			continue;
		}
		int rc = parse_columns(name, strlen(name), &b);
		if (rc == 0) {
			/* the column is the whole name, even with '-' in it */
			b.whole_col = (int)i;
			rc = mapping_push(&r->m, &b);
		}
		if (rc != 0) {
			binding_free(&b);
			return rc;
		}
	}
	ingest__errbuf[0] = 0;
	return 0;
}

/** JSONL: maps every key named like a field (not keyed ones) to it. */
static int auto_map_json(struct ingest_reader *r)
{
	for (int f = 0; f < F_IDENTIFIER; f++) {
		if (f == F_TRUTH ||
		    mapping_find(&r->m, (enum ingest__field)f, NULL) != NULL)
			continue;
		struct ingest__binding b = {.field = (enum ingest__field)f};
		int rc =
		    parse_columns(field_names[f], strlen(field_names[f]), &b);
		if (rc == 0)
			rc = mapping_push(&r->m, &b);
		if (rc != 0) {
			binding_free(&b);
			return rc;
		}
	}
	return 0;
}

/** Mapping with no FIELD: only source, source_id and truth (if any). */
static bool mapping_is_auto(const struct ingest_mapping *m)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->b[i].field != F_SOURCE && m->b[i].field != F_SOURCE_ID &&
		    m->b[i].field != F_TRUTH)
			return false;
	return true;
}

/** Resolves the mapping's column names against the header row h (NULL
 *  when the file has no header). */
static int csv_resolve(struct ingest_reader *r, const struct ingest__qrow *h)
{
	if (h != NULL && mapping_is_auto(&r->m)) {
		int rc = auto_map_csv(r, h);
		if (rc != 0)
			return rc;
	}
	r->n_header = h ? h->n : 0;
	for (size_t i = 0; i < r->m.n; i++) {
		struct ingest__binding *b = &r->m.b[i];
		if (b->whole_col >= 0) {
			r->names_used = true;
			if ((unsigned)b->whole_col + 1 > r->max_col)
				r->max_col = (unsigned)b->whole_col + 1;
			continue;
		}
		if (h != NULL && b->n_terms > 1 &&
		    (b->whole_col = header_find(r, h, b->whole)) >= 0) {
			r->names_used = true;
			continue;
		}
		for (size_t t = 0; t < b->n_terms; t++) {
			struct ingest__term *term = &b->terms[t];
			if (term->pos) {
				term->col = (int)term->pos - 1;
			} else if (term->name) {
				if (h == NULL)
					return ingest__fail(
					    INGEST_EINVAL,
					    "%s: column '%s' by name but "
					    "the file has no header: use #N",
					    r->path, term->name);
				term->col = header_find(r, h, term->name);
				if (term->col < 0)
					return ingest__fail(
					    INGEST_EINVAL,
					    "%s:%llu: no column '%s' in "
					    "the header",
					    r->path,
					    (unsigned long long)h->line,
					    term->name);
				r->names_used = true;
			} else {
				continue;
			}
			if ((unsigned)term->col + 1 > r->max_col)
				r->max_col = (unsigned)term->col + 1;
		}
	}
	return 0;
}

struct ingest_reader *ingest_open(const char *path,
				  const struct ingest_mapping *m,
				  enum ingest_format format)
{
	struct ingest_reader *r = calloc(1, sizeof(*r));
	if (r == NULL)
		goto oom;
	r->first_line = true;
	r->path = strdup(strcmp(path, "-") == 0 ? "<stdin>" : path);
	if (r->path == NULL)
		goto oom;
	{
		const char *base = strrchr(path, '/');
		base = base ? base + 1 : path;
		if (strcmp(path, "-") == 0)
			base = "stdin";
		const char *dot = strrchr(base, '.');
		size_t len =
		    dot && dot != base ? (size_t)(dot - base) : strlen(base);
		if ((r->source_default = strndup(base, len)) == NULL)
			goto oom;
	}
	if (mapping_copy(&r->m, m) != 0)
		goto fail;
	if (strcmp(path, "-") == 0) {
		r->f = stdin;
	} else {
		r->f = fopen(path, "r");
		if (r->f == NULL) {
			ingest__fail(INGEST_EIO, "%s: %s", path,
				     strerror(errno));
			goto fail;
		}
		r->own_f = true;
	}
	if (format == INGEST_AUTO) {
		const char *dot = strrchr(path, '.');
		if (json_path(path)) {
			format = INGEST_JSONL;
		} else if (dot && strcasecmp(dot, ".csv") == 0) {
			format = INGEST_CSV;
		} else {
			int c;
			while ((c = getc(r->f)) == ' ' || c == '\t')
				;
			if (c != EOF)
				ungetc(c, r->f);
			format = c == '{' ? INGEST_JSONL : INGEST_CSV;
		}
	}
	r->fmt = format;
	if (format == INGEST_JSONL) {
		for (size_t i = 0; i < r->m.n; i++)
			for (size_t t = 0; t < r->m.b[i].n_terms; t++)
				if (r->m.b[i].terms[t].pos) {
					ingest__fail(INGEST_EINVAL,
						     "%s: #%u: positional "
						     "columns are for CSV only",
						     r->path,
						     r->m.b[i].terms[t].pos);
					goto fail;
				}
		if (mapping_is_auto(&r->m) && auto_map_json(r) != 0)
			goto fail;
		return r;
	}
	if (csv_init(&r->csv, CSV_STRICT | CSV_STRICT_FINI) != 0)
		goto oom;
	r->csv_ready = true;
	if (r->m.header) {
		int rc = csv_fill(r);
		if (rc < 0)
			goto fail;
		if (rc == 0)
			return r; /* empty file: no rows */
		struct ingest__qrow h = r->q[r->qhead++];
		for (size_t i = 0; i < h.n; i++) {
			char *s = r->fbuf + r->foff[h.first + i];
			size_t len = strlen(s);
			while (len > 0 && isspace((unsigned char)s[len - 1]))
				s[--len] = 0;
		}
		if (csv_resolve(r, &h) != 0)
			goto fail;
	} else if (csv_resolve(r, NULL) != 0) {
		goto fail;
	}
	return r;
oom:
	ingest__fail(INGEST_ENOMEM, "out of memory");
fail:
	ingest_close(r);
	return NULL;
}

void ingest_close(struct ingest_reader *r)
{
	if (r == NULL)
		return;
	if (r->own_f && r->f)
		fclose(r->f);
	if (r->csv_ready)
		csv_free(&r->csv);
	for (size_t i = 0; i < r->m.n; i++)
		binding_free(&r->m.b[i]);
	free(r->m.b);
	json_decref(r->obj);
	arena_free(&r->arena);
	free(r->fbuf);
	free(r->foff);
	free(r->q);
	free(r->line);
	free(r->path);
	free(r->source_default);
	free(r);
}

/* ---- values ------------------------------------------------------------ */

static void trim(const char **s, size_t *len)
{
	while (*len > 0 && isspace((unsigned char)**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && isspace((unsigned char)(*s)[*len - 1]))
		(*len)--;
}

/** Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/** Reads exactly n digits at *s. */
static bool digits(const char **s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*s)[i]))
			return false;
		v = v * 10 + ((*s)[i] - '0');
	}
	*s += n;
	*out = v;
	return true;
}

/** updated_at: integer unix ms, or ISO 8601 (see ingest.h). */
static bool parse_time(const char *s, int64_t *ms)
{
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0;
	if (*p == '-' || isdigit((unsigned char)*p)) {
		char *end;
		errno = 0;
		long long v = strtoll(s, &end, 10);
		if (*end == 0 && errno == 0) {
			*ms = v;
			return true;
		}
	}
	if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) ||
	    *p++ != '-' || !digits(&p, 2, &d) || mo < 1 || mo > 12 || d < 1 ||
	    d > 31)
		return false;
	if (*p == 'T' || *p == ' ') {
		p++;
		if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
			return false;
		if (*p == ':' && (p++, !digits(&p, 2, &sec)))
			return false;
		if (*p == '.' || *p == ',') {
			int scale = 100;
			for (p++; isdigit((unsigned char)*p); p++, scale /= 10)
				frac += (*p - '0') * scale;
		}
	}
	int64_t off = 0;
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
		if (!digits(&p, 2, &oh))
			return false;
		if (*p == ':')
			p++;
		if (*p && !digits(&p, 2, &om))
			return false;
		off = sign * (oh * 60 + om) * 60;
	}
	if (*p != 0 || h > 23 || mi > 59 || sec > 60)
		return false;
	int64_t t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
		    h * 3600 + mi * 60 + sec - off;
	*ms = t * 1000 + frac;
	return true;
}

/** consent values: 1 granted, 0 refused, -1 not understood. */
static int parse_consent(const char *s)
{
	static const char *const yes[] = {"1",	   "true",    "yes",
					  "y",	   "t",	      "opt-in",
					  "optin", "granted", "opt_in"};
	static const char *const no[] = {
	    "0",      "false",	"no",	   "n",	      "f",	  "opt-out",
	    "optout", "denied", "opt_out", "revoked", "withdrawn"};
	for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++)
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
	for (size_t i = 0; i < sizeof(no) / sizeof(*no); i++)
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	return -1;
}

/** gender as the engine wants it; NULL = absent. */
static const char *norm_gender(const char *s)
{
	if (strcasecmp(s, "m") == 0 || strcasecmp(s, "male") == 0)
		return "M";
	if (strcasecmp(s, "f") == 0 || strcasecmp(s, "female") == 0)
		return "F";
	if (strcasecmp(s, "x") == 0)
		return "X";
	if (strcasecmp(s, "u") == 0 || strcasecmp(s, "unknown") == 0)
		return NULL;
	return s;
}

/* ---- rows to records --------------------------------------------------- */

/** The current row, as the value getters see it. */
struct ingest__row {
	const struct ingest__qrow *csv; /**< CSV row, or NULL for JSONL */
};

/** Text of a JSON scalar (arena), NULL for null; arrays/objects fail. */
static int json_text(struct ingest_reader *r, json_t *v, const char *name,
		     const char **s, size_t *len)
{
	char *buf;
	switch (json_typeof(v)) {
	case JSON_STRING:
		*s = json_string_value(v);
		*len = json_string_length(v);
		return 0;
	case JSON_INTEGER:
	case JSON_REAL:
		if ((buf = arena_alloc(&r->arena, 32)) == NULL)
			return ingest__fail(INGEST_ENOMEM, "out of memory");
		if (json_is_integer(v))
			snprintf(buf, 32, "%" JSON_INTEGER_FORMAT,
				 json_integer_value(v));
		else
			snprintf(buf, 32, "%.15g", json_real_value(v));
		*s = buf;
		*len = strlen(buf);
		return 0;
	case JSON_TRUE:
	case JSON_FALSE:
		*s = json_is_true(v) ? "true" : "false";
		*len = strlen(*s);
		return 0;
	case JSON_NULL:
		*s = NULL;
		*len = 0;
		return 0;
	default:
		return ingest__fail(INGEST_EROW,
				    "%s:%llu: '%s' is not a scalar", r->path,
				    (unsigned long long)r->cur_line, name);
	}
}

/** Raw (untrimmed) text of a CSV column or JSON key; NULL when absent. */
static int cell(struct ingest_reader *r, const struct ingest__row *row, int col,
		const char *name, const char **s, size_t *len)
{
	*s = NULL;
	*len = 0;
	if (row->csv != NULL) {
		if ((size_t)col >= row->csv->n)
			return ingest__fail(INGEST_EROW,
					    "%s:%llu: %zu fields, column %d "
					    "wanted",
					    r->path,
					    (unsigned long long)r->cur_line,
					    row->csv->n, col + 1);
		*s = r->fbuf + r->foff[row->csv->first + (size_t)col];
		*len = strlen(*s);
		return 0;
	}
	json_t *v = json_object_get(r->obj, name);
	return v ? json_text(r, v, name, s, len) : 0;
}

/** Trimmed text of one term; NULL/0 when absent or empty. */
static int term_text(struct ingest_reader *r, const struct ingest__row *row,
		     const struct ingest__term *t, const char **s, size_t *len)
{
	int rc = 0;
	if (t->literal) {
		*s = t->literal;
		*len = strlen(t->literal);
	} else {
		rc = cell(r, row, t->col, t->name, s, len);
	}
	if (*s != NULL)
		trim(s, len);
	if (*len == 0)
		*s = NULL;
	return rc;
}

/** Value of a binding for the row, joined as the mapping says, in the
 *  arena; *out NULL when empty. */
static int binding_value(struct ingest_reader *r, const struct ingest__row *row,
			 const struct ingest__binding *b, const char **out)
{
	const char *s;
	size_t len;
	int rc;
	*out = NULL;
	bool whole =
	    b->whole_col >= 0 || (row->csv == NULL && b->n_terms > 1 &&
				  json_object_get(r->obj, b->whole) != NULL);
	size_t n = whole ? 1 : b->n_terms;
	const char *part[n];
	size_t plen[n], total = 0;
	for (size_t i = 0; i < n; i++) {
		if (whole) {
			rc = cell(r, row, b->whole_col, b->whole, &s, &len);
			if (s != NULL)
				trim(&s, &len);
		} else {
			rc = term_text(r, row, &b->terms[i], &s, &len);
		}
		if (rc != 0)
			return rc;
		part[i] = len ? s : NULL;
		plen[i] = len;
		total += len + 2;
	}
	char *buf = arena_alloc(&r->arena, total + 1), *p = buf;
	if (buf == NULL)
		return ingest__fail(INGEST_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (part[i] == NULL) {
			if (b->joiner == '-')
				break;
			continue;
		}
		if (p != buf)
			*p++ = whole ? 0 : b->joiner;
		if (b->joiner == '-' && plen[i] == 1 &&
		    isdigit((unsigned char)part[i][0]))
			*p++ = '0';
		memcpy(p, part[i], plen[i]);
		p += plen[i];
	}
	*p = 0;
	*out = p == buf ? NULL : buf;
	return 0;
}

/** Stores one value of binding b into the record. */
static int apply(struct ingest_reader *r, const struct ingest__binding *b,
		 const char *v)
{
	reconnu_record *rec = &r->rec;
	int c;
	switch (b->field) {
	case F_SOURCE:
		rec->source = v;
		break;
	case F_SOURCE_ID:
		rec->source_id = v;
		break;
	case F_GIVEN_NAME:
		rec->given_name = v;
		break;
	case F_FAMILY_NAME:
		rec->family_name = v;
		break;
	case F_FULL_NAME:
		rec->full_name = v;
		break;
	case F_BIRTH_DATE:
		rec->birth_date = v;
		break;
	case F_GENDER:
		rec->gender = norm_gender(v);
		break;
	case F_COUNTRY:
		rec->country = v;
		break;
	case F_EMAIL:
	case F_PHONE:
	case F_IDENTIFIER: {
		size_t *n = b->field == F_EMAIL	  ? &rec->n_emails
			    : b->field == F_PHONE ? &rec->n_phones
						  : &rec->n_identifiers;
		if (*n == RECONNU_MAX_LIST)
			return ingest__fail(
			    INGEST_EROW, "%s:%llu: more than %d %s values",
			    r->path, (unsigned long long)r->cur_line,
			    RECONNU_MAX_LIST, field_names[b->field]);
		if (b->field == F_EMAIL)
			r->emails[(*n)++] = v;
		else if (b->field == F_PHONE)
			r->phones[(*n)++] = v;
		else
			r->ids[(*n)++] = (reconnu_identifier){b->key, v};
		break;
	}
	case F_ADDRESS_LINE1:
		r->addr.line1 = v;
		break;
	case F_ADDRESS_LINE2:
		r->addr.line2 = v;
		break;
	case F_CITY:
		r->addr.city = v;
		break;
	case F_POSTCODE:
		r->addr.postcode = v;
		break;
	case F_REGION:
		r->addr.region = v;
		break;
	case F_ADDRESS_COUNTRY:
		r->addr.country = v;
		break;
	case F_UPDATED_AT:
		if (!parse_time(v, &rec->updated_at))
			return ingest__fail(INGEST_EROW,
					    "%s:%llu: updated_at: '%s' is "
					    "neither unix ms nor ISO 8601",
					    r->path,
					    (unsigned long long)r->cur_line, v);
		break;
	case F_TRUTH:
		r->truth = v;
		break;
	case F_ATTR:
		if (rec->n_attributes == RECONNU_MAX_ATTRIBUTES)
			return ingest__fail(
			    INGEST_EROW, "%s:%llu: more than %d attributes",
			    r->path, (unsigned long long)r->cur_line,
			    RECONNU_MAX_ATTRIBUTES);
		r->attrs[rec->n_attributes++] = (reconnu_attr){b->key, v};
		break;
	case F_CONSENT:
		if ((c = parse_consent(v)) < 0)
			return ingest__fail(INGEST_EROW,
					    "%s:%llu: consent:%s: '%s' is not "
					    "a yes/no value",
					    r->path,
					    (unsigned long long)r->cur_line,
					    b->key, v);
		if (rec->n_consents == RECONNU_MAX_LIST)
			return ingest__fail(
			    INGEST_EROW, "%s:%llu: too many consents", r->path,
			    (unsigned long long)r->cur_line);
		r->consents[rec->n_consents++] =
		    (reconnu_consent){.channel = b->key, .granted = c};
		break;
	case F__COUNT:
		break;
	}
	return 0;
}

/** Applies every element of a JSON array (list fields only). */
static int apply_array(struct ingest_reader *r, const struct ingest__binding *b,
		       json_t *arr)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		const char *s;
		size_t len;
		int rc = json_text(r, v, b->whole, &s, &len);
		if (rc != 0)
			return rc;
		if (s != NULL)
			trim(&s, &len);
		if (len == 0)
			continue;
		char *copy = arena_alloc(&r->arena, len + 1);
		if (copy == NULL)
			return ingest__fail(INGEST_ENOMEM, "out of memory");
		memcpy(copy, s, len);
		copy[len] = 0;
		if ((rc = apply(r, b, copy)) != 0)
			return rc;
	}
	return 0;
}

/** Fills r->rec from the current row. */
static int build(struct ingest_reader *r, const struct ingest__row *row)
{
	memset(&r->rec, 0, sizeof(r->rec));
	memset(&r->addr, 0, sizeof(r->addr));
	r->truth = NULL;
	for (size_t i = 0; i < r->m.n; i++) {
		const struct ingest__binding *b = &r->m.b[i];
		const char *v;
		int rc;
		json_t *arr;
		if (row->csv == NULL && field_repeats(b->field) &&
		    b->n_terms == 1 && b->terms[0].name &&
		    json_is_array(
			arr = json_object_get(r->obj, b->terms[0].name)))
			rc = apply_array(r, b, arr);
		else if ((rc = binding_value(r, row, b, &v)) == 0 && v)
			rc = apply(r, b, v);
		if (rc != 0)
			return rc;
	}
	reconnu_record *rec = &r->rec;
	for (size_t i = 0; i < rec->n_consents; i++)
		r->consents[i].at = rec->updated_at;
	if (r->addr.line1 || r->addr.line2 || r->addr.city ||
	    r->addr.postcode || r->addr.region || r->addr.country) {
		rec->addresses = &r->addr;
		rec->n_addresses = 1;
	}
	rec->emails = r->emails;
	rec->phones = r->phones;
	rec->identifiers = r->ids;
	rec->consents = r->consents;
	rec->attributes = r->attrs;
	if (rec->source == NULL)
		rec->source = r->source_default;
	if (rec->source_id == NULL) {
		char *id = arena_alloc(&r->arena, 24);
		if (id == NULL)
			return ingest__fail(INGEST_ENOMEM, "out of memory");
		snprintf(id, 24, "%llu", (unsigned long long)r->seen_rows);
		rec->source_id = id;
	}
	return 0;
}

/** Reads the next JSON object into r->obj. @retval 1, 0 EOF, < 0 */
static int jsonl_fill(struct ingest_reader *r)
{
	ssize_t n;
	while ((n = read_line(r)) >= 0) {
		const char *s = r->line;
		size_t len = (size_t)n;
		trim(&s, &len);
		if (len == 0)
			continue;
		r->cur_line = r->lineno;
		r->seen_rows++;
		json_error_t err;
		r->obj = json_loadb(s, len, 0, &err);
		if (r->obj == NULL)
			return ingest__fail(
			    INGEST_EROW, "%s:%llu: JSON: %s (column %d)",
			    r->path, (unsigned long long)r->cur_line, err.text,
			    err.column);
		if (!json_is_object(r->obj))
			return ingest__fail(
			    INGEST_EROW, "%s:%llu: not a JSON object", r->path,
			    (unsigned long long)r->cur_line);
		return 1;
	}
	return r->fatal ? r->fatal : 0;
}

int ingest_next(struct ingest_reader *r, reconnu_record **rec,
		const char **truth)
{
	struct ingest__row row = {0};
	int rc;
	if (r->fatal)
		return r->fatal;
	arena_reset(&r->arena);
	if (r->fmt == INGEST_JSONL) {
		json_decref(r->obj);
		r->obj = NULL;
		if ((rc = jsonl_fill(r)) <= 0)
			return rc;
	} else {
		if ((rc = csv_fill(r)) <= 0)
			return rc;
		row.csv = &r->q[r->qhead++];
		r->cur_line = row.csv->line;
		r->seen_rows++;
		if (r->names_used && r->n_header && row.csv->n != r->n_header)
			return ingest__fail(INGEST_EROW,
					    "%s:%llu: %zu fields where the "
					    "header has %zu",
					    r->path,
					    (unsigned long long)r->cur_line,
					    row.csv->n, r->n_header);
	}
	if ((rc = build(r, &row)) != 0) {
		if (rc != INGEST_EROW)
			r->fatal = rc;
		return rc;
	}
	r->rows++;
	*rec = &r->rec;
	if (truth != NULL)
		*truth = r->truth;
	return 1;
}
