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
	NORM_EINVAL = -1, /**< malformed input (e.g. invalid UTF-8) */
	NORM_ERANGE = -2, /**< output does not fit in cap */
	NORM_EEMPTY = -3, /**< nothing usable left after normalising */
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
 *  BGN/PCGN ("Ширани" → "shirani", "Щукин" → "shchukin", "Юлия" →
 *  "yuliya"; soft and hard signs dropped: "Наталья" → "natalya"), Han →
 *  toneless pinyin with one word per syllable ("王伟" → "wang wei";
 *  Japanese kanji get Mandarin readings), Hangul → ICU's jamo-by-jamo
 *  romanisation, one word per syllable ("김민준" → "gim min jun"), Greek,
 *  Arabic and Hebrew via ICU Any-Latin (Arabic and Hebrew as written, i.e.
 *  mostly consonants: "محمد" → "mhmd"). Digits become spaces.
 *  Characters no transliterator knows (emoji) become spaces.
 *  @retval NORM_EINVAL invalid UTF-8. @retval NORM_ERANGE output too long.
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
 *  A leading "mailto:" is dropped. Non-ASCII local parts are lowercased
 *  with Unicode rules and otherwise kept.
 *  @retval NORM_EINVAL not an address (no single '@', empty part,
 *  whitespace inside, a domain that is not a host name).
 *  @retval NORM_EEMPTY blank input. */
int norm_email(const char *in, char *out, size_t cap);

/** Phone → E.164 ("+33612345678"). Accepts "+CC…", "00CC…" (and "011" for
 *  NANP countries), or a national number with its trunk prefix ("06 12 34
 *  56 78" with default_country "FR"). Separators " .-()/" are ignored.
 *  default_country: ISO alpha-2, may be NULL (then only international
 *  forms are accepted). Trunk prefixes come from a built-in plan of ~50
 *  countries (EU, GB, CH, NO, IS, NANP, RU, UA, TR, CN, HK, TW, JP, KR, SG,
 *  IN, AU, NZ, AE, SA, IL, BR, MX, ZA, MA): "+44 (0)20 …" drops the (0),
 *  Italian numbers keep their leading 0 (Italy has no trunk prefix).
 *  International numbers with other calling codes are kept as typed.
 *  NANP numbers must have 10 national digits.
 *  @retval NORM_EINVAL not a plausible number: letters or other
 *  characters, fewer than 7 digits typed, fewer than 7 or more than 15
 *  digits in the result. */
int norm_phone(const char *in, const char *default_country, char *out,
	       size_t cap);

/** Postcode → uppercase alphanumerics without spaces, dots or dashes
 *  ("sw1a 1aa" → "SW1A1AA"). country (alpha-2, may be NULL) enables
 *  repairs for all-digit postcode systems: a lost leading zero is put back
 *  ("1067" DE → "01067"), a letter prefix is dropped ("F-75001" →
 *  "75001"), US ZIP+4 becomes the ZIP, and anything but digits is
 *  refused there. @retval NORM_EINVAL other characters, letters where
 *  the country uses digits only, or longer than 16.
 *  @retval NORM_EEMPTY nothing left. */
int norm_postcode(const char *in, const char *country, char *out, size_t cap);

/** ISO 3166-1 alpha-2 country code or common English name → "FR".
 *  Any two letters pass through uppercased (UK → GB, EL → GR); names are
 *  matched after norm_name folding with spaces removed, so "Royaume-Uni",
 *  "U.K." and "Deutschland" work. Knows English, French and native names
 *  and alpha-3 codes of the countries listed at norm_phone.
 *  @retval NORM_EINVAL unknown name. */
int norm_country(const char *in, char *out, size_t cap);

/** A date with partial precision; 0 = unknown component. */
struct norm_date {
	int16_t year;
	int8_t month;
	int8_t day;
};

/** Parses "YYYY", "YYYY-MM", "YYYY-MM-DD", "YYYYMMDD", "YYYY/MM/DD".
 *  Checks ranges (year 1800..2200, day valid for month incl. leap years).
 *  Month and day may have one digit when separated ("1980-5-3"); a zero
 *  month or day means unknown ("1980-00-00" is year-only), but a day
 *  without a month is malformed. Surrounding spaces are ignored.
 *  Empty or NULL → year 0 and NORM_OK. *out is all zero on error.
 *  @retval NORM_EINVAL malformed/impossible. */
int norm_date_parse(const char *in, struct norm_date *out);

/* ---- given-name variants ------------------------------------------- */
/**
 * Name variants are evidence, not identity: "bob" and "robert" may be the
 * same person. The table holds groups of normalised names; two names are
 * variants when they share a group. A built-in table of common variants
 * is always loaded; more can be loaded from CSV files whose header has
 * columns named original_name and alt_name (other columns ignored).
 *
 * A group is a formal name and its variants, keyed by the formal name
 * (original_name). Groups are never merged transitively: "al" is in the
 * albert and the alfred groups, yet albert and alfred are not related.
 * Names are stored as 64-bit xxHash3 values, 16 bytes per membership.
 */
struct norm_nicknames;

/** New table with the built-in variants. NULL on ENOMEM. Free with
 *  norm_nicknames_delete. */
struct norm_nicknames *norm_nicknames_new(void);
void norm_nicknames_delete(struct norm_nicknames *nn);
/** Adds the pairs of every *.csv in dir (RFC 4180 quoting, optional BOM;
 *  files without both columns, rows with names that fold to nothing are
 *  skipped). @retval number of pairs added, or negative NORM_E*
 *  (NORM_EINVAL: unreadable dir, NORM_ENOMEM: the table holds the pairs
 *  read so far). Not thread-safe against concurrent readers. */
int norm_nicknames_load_dir(struct norm_nicknames *nn, const char *dir);
/** Adds one pair: a is the formal name, b its variant (both normalised
 *  with norm_name). Not thread-safe against concurrent readers.
 *  @retval 1 added. @retval 0 both fold to the same name.
 *  @retval NORM_EEMPTY/NORM_EINVAL a name folds to nothing or is not
 *  UTF-8. @retval NORM_ENOMEM. */
int norm_nicknames_add(struct norm_nicknames *nn, const char *a, const char *b);
/** true when a and b (already normalised) are known variants of each
 *  other. Equal names are not reported as variants. Read-only: safe from
 *  many threads once loading is done. */
bool norm_nicknames_related(const struct norm_nicknames *nn, const char *a,
			    const char *b);

/** A name looked up once in a table, to be tested against many others (a
 *  query's given name against its candidates'). Plain data in caller
 *  memory; nothing to destroy. */
struct norm_nickname {
	const char *name; /**< borrowed: must outlive the key; NULL: none */
	bool known;	  /**< the table holds the name in some group */
	uint64_t hash;	  /**< the name's hash in the table */
	size_t first;	  /**< index of its first membership when known */
};

/** Prepares k for name a (normalised, may be NULL) in nn (may be NULL). */
void norm_nickname_prepare(const struct norm_nicknames *nn, const char *a,
			   struct norm_nickname *k);
/** norm_nicknames_related(nn, k->name, b), with k prepared from nn, which
 *  must be unchanged since. A name the table does not know costs no
 *  lookup of b. */
bool norm_nicknames_related_to(const struct norm_nicknames *nn,
			       const struct norm_nickname *k, const char *b);

/* ---- phonetic key ---------------------------------------------------- */
/** A phonetic code for a normalised (ASCII) name word, e.g. Double
 *  Metaphone primary or NYSIIS; used for blocking. Same code for "smith"
 *  and "smyth", "schmidt" and "shmidt".
 *  This is NYSIIS (Taft 1970) without the 6-letter truncation, uppercase,
 *  with the modified-NYSIIS rule that an inner Y is a vowel ("smith",
 *  "smyth" → "SNAT"). Non-letters are skipped.
 *  @retval NORM_EEMPTY no letters. @retval NORM_ERANGE word over 63
 *  letters or cap too small. */
int norm_phonetic(const char *name, char *out, size_t cap);

#endif
