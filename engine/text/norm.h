/*
 * norm — canonical forms of the values people type: names in any script
 * transliterated to Latin ASCII, emails, phones (E.164), postcodes, cities,
 * partial dates, and the given-name variant table (bob ~ robert).
 *
 * ASCII input never reaches ICU (fast path); ICU does NFKC + case folding
 * and script → Latin transliteration for everything else.
 *
 * All functions writing into (out, cap) NUL-terminate on success and
 * return the length written (>= 0), or a negative NORM_E* code; out is
 * then unspecified. cap includes the NUL.
 *
 * Thread safety: every function may be called concurrently from any
 * thread once norm_global_init() has returned.
 */
#ifndef RECONNU_NORM_H
#define RECONNU_NORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	NORM_OK = 0,
	NORM_EINVAL = -1,  /**< malformed input (e.g. invalid UTF-8) */
	NORM_ERANGE = -2,  /**< output does not fit in cap */
	NORM_EEMPTY = -3,  /**< nothing usable left after normalising */
	NORM_ENOMEM = -4,
};

/** Opens the ICU transliterators once per process. Idempotent,
 *  thread-safe. @retval 0 ok, NORM_ENOMEM/NORM_EINVAL when ICU fails. */
int norm_global_init(void);

/** true when s[0..len) is well-formed UTF-8 without NUL bytes, overlongs,
 *  surrogates or code points above U+10FFFF. */
bool norm_utf8_valid(const char *s, size_t len);

/** Person name or name part → lowercase Latin ASCII words separated by
 *  single spaces: accents dropped ("José" → "jose"), punctuation and
 *  hyphens become spaces ("Jean-Luc" → "jean luc"), apostrophes dropped
 *  ("O'Neil" → "oneil"), other scripts transliterated: Cyrillic
 *  BGN/PCGN-like ("Ширани" → "shirani"), Han → toneless pinyin with one
 *  word per syllable ("王伟" → "wang wei"), Hangul, Greek, Arabic, Hebrew.
 *  @retval NORM_EEMPTY nothing left (e.g. "--"). */
int norm_name(const char *in, char *out, size_t cap);

/** Free text (city, street line) → same folding as norm_name, digits
 *  kept ("12 Rue de l'Église" → "12 rue de leglise"). */
int norm_text(const char *in, char *out, size_t cap);

/** Email → canonical form: trimmed, lowercased, IDN domain to punycode
 *  (xn--), and provider rules only where the provider documents them:
 *  gmail.com and googlemail.com ignore dots and "+tag" in the local part
 *  and are one domain (→ gmail.com); "+tag" sub-addressing is dropped for
 *  outlook.com, hotmail.com, icloud.com, fastmail.com, proton.me and
 *  protonmail.com. Other domains keep their local part as typed (lowered).
 *  @retval NORM_EINVAL not an address (no single '@', empty part). */
int norm_email(const char *in, char *out, size_t cap);

/** Phone → E.164 ("+33612345678"). Accepts "+CC…", "00CC…" (and "011" for
 *  NANP countries), or a national number with its trunk prefix ("06 12 34
 *  56 78" with default_country "FR"). Separators " .-()/" are ignored.
 *  default_country: ISO alpha-2, may be NULL (then only international
 *  forms are accepted). @retval NORM_EINVAL not a plausible number. */
int norm_phone(const char *in, const char *default_country, char *out,
	       size_t cap);

/** Postcode → uppercase alphanumerics without spaces or dashes
 *  ("sw1a 1aa" → "SW1A1AA"). country may be NULL. */
int norm_postcode(const char *in, const char *country, char *out, size_t cap);

/** ISO 3166-1 alpha-2 country code or common English name → "FR". */
int norm_country(const char *in, char *out, size_t cap);

/** A date with partial precision; 0 = unknown component. */
struct norm_date {
	int16_t year;
	int8_t month;
	int8_t day;
};

/** Parses "YYYY", "YYYY-MM", "YYYY-MM-DD", "YYYYMMDD", "YYYY/MM/DD".
 *  Checks ranges (year 1800..2200, day valid for month incl. leap years).
 *  Empty → year 0 and NORM_OK. @retval NORM_EINVAL malformed/impossible. */
int norm_date_parse(const char *in, struct norm_date *out);

/* ---- given-name variants ------------------------------------------- */
/**
 * Name variants are evidence, not identity: "bob" and "robert" may be the
 * same person. The table holds groups of normalised names; two names are
 * variants when they share a group. A built-in table of common variants
 * is always loaded; more can be loaded from CSV files whose header has
 * columns named original_name and alt_name (other columns ignored).
 */
struct norm_nicknames;

/** New table with the built-in variants. NULL on ENOMEM. Free with
 *  norm_nicknames_delete. */
struct norm_nicknames *norm_nicknames_new(void);
void norm_nicknames_delete(struct norm_nicknames *nn);
/** Adds the pairs of every *.csv in dir. @retval number of pairs added,
 *  or negative NORM_E* (NORM_EINVAL: unreadable dir). */
int norm_nicknames_load_dir(struct norm_nicknames *nn, const char *dir);
/** Adds one pair (names are normalised with norm_name). */
int norm_nicknames_add(struct norm_nicknames *nn, const char *a, const char *b);
/** true when a and b (already normalised) are known variants of each
 *  other. Equal names are not reported as variants. Read-only: safe from
 *  many threads once loading is done. */
bool norm_nicknames_related(const struct norm_nicknames *nn, const char *a,
			    const char *b);

/* ---- phonetic key ---------------------------------------------------- */
/** A phonetic code for a normalised (ASCII) name word, e.g. Double
 *  Metaphone primary or NYSIIS; used for blocking. Same code for "smith"
 *  and "smyth", "schmidt" and "shmidt". */
int norm_phonetic(const char *name, char *out, size_t cap);

#endif
