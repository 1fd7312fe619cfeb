/*
 * ingest.h — turn rows of CSV or JSON Lines files into reconnu_record
 * values through a column mapping. Shared by `reconnu load` (CLI),
 * reconnu-eval and reconnu-bench-inproc.
 *
 * Input formats
 *  - CSV, RFC 4180: quoted fields (with "" escapes and embedded newlines),
 *    LF or CRLF line ends, an optional final newline, an optional UTF-8
 *    BOM. Every value is trimmed of surrounding spaces and tabs, so FEBRL's
 *    "a, b, c" reads as "a","b","c". The first row is a header unless
 *    ingest_mapping_set_header(m, 0). Empty = absent.
 *  - JSON Lines: one JSON object per line, blank lines skipped. Strings,
 *    numbers and booleans are taken as text, null as absent; an array of
 *    scalars under an email, phone or identifier field adds one list item
 *    per element.
 *
 * Mapping syntax (the --map / --id / --source / --truth options)
 *
 *   --map FIELD=COLUMNS[,FIELD=COLUMNS...]   (may be given several times)
 *
 *   FIELD is one of
 *     source  source_id  given_name  family_name  full_name  birth_date
 *     gender  country  email  phone  address_line1  address_line2  city
 *     postcode  region  address_country  updated_at
 *     identifier:<type>  attr:<key>  consent:<channel>  truth
 *   COLUMNS is one TERM, or TERMs joined by '+' or by '-' (not both):
 *     a+b   values joined with one space, empty ones skipped
 *           (given_name=fname_c1+fname_c2,
 * address_line1=street_number+address_1) a-b-c values joined with '-',
 * one-digit numbers zero-padded, stopping at the first empty one
 * (birth_date=by-bm-bd gives "1967-09-27", or "1967-09" when the day is empty)
 *   TERM is
 *     name    a header column (CSV) or a key of the object (JSONL); a name
 *             that itself contains '+' or '-' is matched whole first
 *     #N      the N-th field of the row, 1-based (CSV only): for headerless
 *             files and files whose header does not fit the rows
 *     'text'  a constant (country='AU')
 *   email, phone and identifier:<type> may repeat: each adds a list item
 *   (email=email,email=email2); any other field given twice is an error.
 *   Names cannot contain ',' or '='; use #N for such columns.
 *
 *   --id COLUMNS      same as source_id=COLUMNS
 *   --source NAME     same as source='NAME' (a constant source)
 *   --truth COLUMNS   same as truth=COLUMNS: the ground-truth entity label,
 *                     handed to the caller beside the record, never stored
 *
 * Value rules
 *  - gender: m/male → "M", f/female → "F", x → "X", u/unknown → absent;
 *    anything else is passed on (the engine validates it).
 *  - updated_at: an integer (unix milliseconds) or ISO 8601
 *    "YYYY-MM-DD[THH:MM[:SS[.fff]]][Z|±HH:MM]" (UTC when no offset).
 *  - consent:<channel>: 1/0, true/false, yes/no, y/n, opt-in/opt-out,
 *    granted/denied/revoked; stated at the record's updated_at.
 *  - The address fields build one address; it is omitted when all of its
 *    fields are empty.
 *  - No source_id mapped: the data row number (1-based, header excluded).
 *  - No source mapped: the file name without folder and extension.
 *  - A mapping with no FIELD at all (only id/source/truth, or nothing)
 *    maps every header column / JSON key named like a FIELD to that field
 *    (reconnu-datagen output loads without --map).
 */
#ifndef RECONNU_INGEST_H
#define RECONNU_INGEST_H

#include "reconnu.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Error codes: 0 ok, negative on failure. */
enum ingest_err {
	INGEST_OK = 0,
	INGEST_EINVAL = -1, /**< bad mapping, or a mapped column is missing */
	INGEST_EIO = -2,    /**< cannot open or read the file */
	INGEST_EROW = -3,   /**< one bad row, skipped: reading may go on */
	INGEST_ENOMEM = -4, /**< out of memory */
	INGEST_EPARSE = -5, /**< malformed input that ends reading (e.g. a
				 quoted field never closed) */
};

/** Message of the last failing call on this thread, "" if none; valid
 *  until the next ingest call on this thread. Row errors read
 *  "PATH:LINE: what" with the line where the row starts. */
const char *ingest_last_error(void);

enum ingest_format {
	INGEST_AUTO = 0, /**< .jsonl/.ndjson/.json → JSONL, .csv → CSV,
			      otherwise JSONL when the first byte is '{' */
	INGEST_CSV,
	INGEST_JSONL,
};

/** A column mapping: what the options above describe. */
struct ingest_mapping;

/** Allocates an empty mapping (header on, no fields). NULL when out of
 *  memory. Free with ingest_mapping_delete. */
struct ingest_mapping *ingest_mapping_new(void);
void ingest_mapping_delete(struct ingest_mapping *m);

/** Adds the FIELD=COLUMNS items of one --map argument.
 *  @retval 0 ok
 *  @retval INGEST_EINVAL syntax error, unknown field or a field given
 *          twice; the mapping is left as it was. */
int ingest_mapping_add(struct ingest_mapping *m, const char *spec);
/** --id COLUMNS, --source NAME, --truth COLUMNS: each replaces an earlier
 *  setting of the same field. @retval 0 or INGEST_EINVAL */
int ingest_mapping_set_id(struct ingest_mapping *m, const char *columns);
int ingest_mapping_set_source(struct ingest_mapping *m, const char *name);
int ingest_mapping_set_truth(struct ingest_mapping *m, const char *columns);
/** Whether CSV files start with a header row (default 1). */
void ingest_mapping_set_header(struct ingest_mapping *m, int has_header);
/** 1 when the mapping sets the source (a column or a constant). */
int ingest_mapping_has_source(const struct ingest_mapping *m);

/** An open file being read row by row. */
struct ingest_reader;

/** Opens path ("-" = standard input) and, for CSV with a header, reads the
 *  header and resolves the mapping's column names against it.
 *  m is copied: the caller may change or free it afterwards.
 *  @return the reader (free with ingest_close), or NULL with
 *          ingest_last_error() set (unreadable file, bad header, a mapped
 *          column that is not there, '#N' on JSONL, ...). */
struct ingest_reader *ingest_open(const char *path,
				  const struct ingest_mapping *m,
				  enum ingest_format format);

/** Reads the next row.
 *  *rec points at a record owned by the reader, and *truth (may be NULL
 *  when not wanted) at the row's truth label or NULL when none is mapped;
 *  both, and every string they reach, stay valid until the next
 *  ingest_next or ingest_close on this reader (one arena per row).
 *  @retval 1 a row was read
 *  @retval 0 end of input
 *  @retval INGEST_EROW this row is bad and was skipped (message with its
 *          line number); call again for the next one
 *  @retval INGEST_EPARSE, INGEST_EIO, INGEST_ENOMEM reading cannot go on;
 *          later calls return the same code */
int ingest_next(struct ingest_reader *r, reconnu_record **rec,
		const char **truth);

/** Line (1-based) where the last row returned or rejected starts. */
uint64_t ingest_line(const struct ingest_reader *r);
/** Data rows returned so far (bad rows not counted). */
uint64_t ingest_rows(const struct ingest_reader *r);

/** Closes the file and frees the reader and its records (NULL: no-op). */
void ingest_close(struct ingest_reader *r);

#ifdef __cplusplus
}
#endif
#endif /* RECONNU_INGEST_H */
