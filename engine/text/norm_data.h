/*
 * norm_data.h — built-in tables of the norm module (internal to
 * engine/text; defined in norm_data.c). All arrays are immutable.
 */
#ifndef RECONNU_NORM_DATA_H
#define RECONNU_NORM_DATA_H

#include <stddef.h>

/** Given-name groups: space-separated normalised names, formal name first. */
extern const char *const norm__nick_groups[];
extern const size_t norm__nick_groups_n;

/** One country and its names as norm_text folds them, spaces removed. */
struct norm__country {
	char iso[3];	   /**< ISO 3166-1 alpha-2 */
	const char *names; /**< space-separated keys, alpha-3 code included */
};
extern const struct norm__country norm__countries[];
extern const size_t norm__countries_n;

/** A telephone numbering plan. */
struct norm__plan {
	char iso[3];	  /**< ISO 3166-1 alpha-2 */
	char cc[4];	  /**< country calling code, digits */
	char trunk[2][3]; /**< national trunk prefixes, "" when none */
	char idd[5];	  /**< international prefix besides "00", or "" */
};
extern const struct norm__plan norm__plans[];
extern const size_t norm__plans_n;

/** A country whose postcodes are `digits` decimal digits. */
struct norm__postal {
	char iso[3];
	int digits;
};
extern const struct norm__postal norm__postals[];
extern const size_t norm__postals_n;

#endif
