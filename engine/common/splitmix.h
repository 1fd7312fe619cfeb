/*
 * splitmix — splitmix64 (Steele, Lea, Flood 2014): a tiny seedable 64-bit
 * generator, deterministic across hosts, for sampling in the engine and in
 * the tools (seeding, drawing test people). Not for anything secret.
 */
#ifndef RECONNU_SPLITMIX_H
#define RECONNU_SPLITMIX_H

#include <stdint.h>

/** The next value of the sequence whose state is *s (advances *s). */
static inline uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

#endif
