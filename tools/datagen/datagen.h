/*
 * datagen.h — built-in reference tables of reconnu-datagen.
 *
 * The generator draws persons from per-country tables: names by culture
 * (with native-script forms for Russian, Chinese and Korean names so the
 * same person can be written in Cyrillic, Han or Hangul), cities with
 * plausible postcodes and landline area codes, street names, national phone
 * numbering and e-mail domains. Everything here is static, read-only data;
 * lists are ordered most frequent first and sampled with rank weights.
 */
#ifndef RECONNU_DATAGEN_H
#define RECONNU_DATAGEN_H

#include <stddef.h>

/** A name: lowercase Latin spelling, optional native-script spelling. */
struct dg_name {
	const char *latin;  /**< lowercase, UTF-8 (accents allowed) */
	const char *native; /**< Cyrillic/Han/Hangul form or NULL */
	char gender;	    /**< 'M', 'F' or 'U' (unisex, family names) */
};

/** Name tables of one culture. */
struct dg_culture {
	const char *code; /**< "fr", "en", ... */
	const struct dg_name *given;
	size_t n_given;
	const struct dg_name *family;
	size_t n_family;
};

enum dg_culture_id {
	DG_FR,
	DG_EN,
	DG_DE,
	DG_IT,
	DG_ES,
	DG_RU,
	DG_CN,
	DG_KR,
	DG_JP,
	DG_N_CULTURES
};

/** A city of a country. */
struct dg_city {
	const char *name;
	const char *postcodes; /**< plausible postcodes, '|'-separated */
	const char *area;      /**< landline prefix of the national number */
};

/** How the street part of an address line is written. */
enum dg_street_style {
	DG_NUM_STREET, /**< "12 rue de la Paix" */
	DG_STREET_NUM, /**< "Hauptstraße 12" */
	DG_RU_STREET,  /**< "ul. Lenina, d. 12, kv. 3" */
	DG_JP_BLOCKS,  /**< "1-2-3 Ginza" */
};

/** Everything the generator needs to know about one country. */
struct dg_country {
	const char *iso;     /**< ISO 3166-1 alpha-2 */
	int culture;	     /**< enum dg_culture_id of most residents */
	unsigned weight;     /**< share of persons living there */
	const char *cc;	     /**< country calling code, "33" */
	const char *trunk;   /**< national trunk prefix ("0", "8", "1", "") */
	int mobile_trunk;    /**< 0 when mobiles are dialled without trunk */
	char sep;	     /**< digit-group separator used nationally */
	unsigned mobile_len; /**< digits of a mobile national number */
	unsigned land_len;   /**< digits of a landline national number */
	/** grouping of the digits after the prefix when 6, 7 or 8 digits
	 *  remain, e.g. "2222"; "" keeps them in one group */
	const char *rest_groups[3];
	const char *const *mobile_prefixes;
	size_t n_mobile_prefixes;
	const struct dg_city *cities;
	size_t n_cities;
	const char *const *streets;
	size_t n_streets;
	int street_style;	    /**< enum dg_street_style */
	const char *const *domains; /**< e-mail domains, most used first */
	size_t n_domains;
};

/** A nickname and the formal given name it stands for. */
struct dg_nickname {
	const char *formal;
	const char *nick;
};

/** An abbreviation a source may apply to an address line. */
struct dg_abbrev {
	const char *iso;
	const char *full;
	const char *abbr;
};

extern const struct dg_culture dg_cultures[DG_N_CULTURES];
extern const struct dg_country dg_countries[];
extern const size_t dg_n_countries;
extern const struct dg_nickname dg_nicknames[];
extern const size_t dg_n_nicknames;
extern const struct dg_abbrev dg_abbrevs[];
extern const size_t dg_n_abbrevs;
extern const char *const dg_work_domains[];
extern const size_t dg_n_work_domains;

#endif /* RECONNU_DATAGEN_H */
