/*
 * sim_lanes.h — the lane recurrences of the batch kernels, written once
 * with GCC vector extensions and included by each instruction-set file
 * once per lane width. Before including, define:
 *
 *   SIM_VBYTES  the register size in bytes: 32 (AVX2) or 64 (AVX-512);
 *   SIM_W       the lane width in bits: 16, 32 or 64. A lane holds one
 *               candidate of up to SIM_W bytes, so a register compares
 *               the query with SIM_VBYTES * 8 / SIM_W candidates at once;
 *   SIM__ALLSET(v)  true when every bit of the register v is set.
 *
 * Input: rows, one register per query byte i, whose lane k is the mask of
 * the positions of q[i] in candidate k (bits at or past the candidate's
 * length may be set and are ignored). Nothing here reads the strings.
 *
 * Jaro's transpositions need no byte compress: walking the query's
 * matched bytes in order, a lane's partner is the lowest matched
 * candidate position not yet paired, and the row of the query byte says
 * whether the two bytes are equal.
 */

#if SIM_W == 16
#define SIM__UT uint16_t
#define SIM__ST int16_t
#elif SIM_W == 32
#define SIM__UT uint32_t
#define SIM__ST int32_t
#else
#define SIM__UT uint64_t
#define SIM__ST int64_t
#endif
#define SIM__CAT2(a, b) a##_w##b
#define SIM__CAT(a, b)	SIM__CAT2(a, b)
#define SIM__N(name)	SIM__CAT(name, SIM_W)
#define SIM__LANES	(SIM_VBYTES * 8 / SIM_W)
#define SIM__VU		SIM__N(sim__vu)
#define SIM__VS		SIM__N(sim__vs)

typedef SIM__UT SIM__VU __attribute__((vector_size(SIM_VBYTES)));
typedef SIM__ST SIM__VS __attribute__((vector_size(SIM_VBYTES)));

static inline SIM__VU SIM__N(sim__row)(const unsigned char *rows, size_t i)
{
	SIM__VU v;
	memcpy(&v, rows + i * SIM_VBYTES, SIM_VBYTES);
	return v;
}

/** The candidates' lengths, one per lane; 1 in the lanes past n. */
static inline SIM__VU SIM__N(sim__lens)(const size_t *lens, size_t n)
{
	SIM__UT a[SIM__LANES];
	SIM__VU v;
	for (size_t k = 0; k < SIM__LANES; k++)
		a[k] = k < n ? (SIM__UT)lens[k] : 1;
	memcpy(&v, a, sizeof(v));
	return v;
}

/** 1 << (x - 1) per lane, for 1 <= x <= SIM_W. */
static inline SIM__VU SIM__N(sim__top)(SIM__VU x)
{
	return ((SIM__VU){0} + 1) << (x - 1);
}

/**
 * Jaro counts of a query of la (1..64) bytes against the n candidates of
 * lengths lens (1..SIM_W bytes): for each lane k, m[k] matches, x[k] of
 * them out of order, l[k] the common prefix capped at 4. Lanes n and up
 * get counts of no interest. Same matching as sim__jaro_flags_pm, run
 * over the query with each candidate's masks: lane by lane, the bits
 * taken are those the scalar kernels take.
 */
static inline void SIM__N(sim__jw_lanes)(size_t la, const unsigned char *rows,
					 const size_t *lens, size_t n,
					 int32_t *m, int32_t *x, int32_t *l)
{
	SIM__VU hits[64];
	SIM__VU lb = SIM__N(sim__lens)(lens, n),
		vla = (SIM__VU){0} + (SIM__UT)la;

	/* lm: bits 0..lb-1; w: sim__window; win: bits 0..w, within lm */
	SIM__VU lm = (SIM__N(sim__top)(lb) << 1) - 1;
	SIM__VU mx = vla + ((lb - vla) & (SIM__VU)(lb > vla));
	SIM__VU wu = mx >> 1;
	wu += (SIM__VU)(wu != 0);
	SIM__VU wc = wu - ((wu - (SIM_W - 1)) & (SIM__VU)(wu > SIM_W - 1));
	SIM__VU win = (SIM__N(sim__top)(wc + 1) << 1) - 1;
	win &= lm;
	SIM__VS w = (SIM__VS)wu;

	SIM__VU fb = {0}, vm = {0};
	SIM__VS iv = {0};
	for (size_t i = 0; i < la; i++) {
		SIM__VU cand = SIM__N(sim__row)(rows, i) & win & ~fb;
		SIM__VU first = cand & -cand;
		fb |= first;
		hits[i] = (SIM__VU)(first != 0);
		vm -= hits[i];
		win = ((win << 1) | ((SIM__VU)(w > iv) & 1)) & lm;
		iv += 1;
	}

	/* The k-th matched query byte pairs with the k-th matched candidate
	 * byte, the lowest bit left in `rest`; its row says if they differ. */
	SIM__VU rest = fb, vx = {0};
	for (size_t i = 0; i < la; i++) {
		SIM__VU low = rest & -rest;
		SIM__VU e = SIM__N(sim__row)(rows, i);
		vx -= hits[i] & (SIM__VU)((e & low) == 0);
		rest ^= low & hits[i];
	}

	SIM__VU alive = ~(SIM__VU){0}, vl = {0};
	for (size_t i = 0; i < la && i < 4; i++) {
		SIM__VU e = SIM__N(sim__row)(rows, i);
		alive &= (SIM__VU)((e & lm & (SIM__UT)(1u << i)) != 0);
		vl -= alive;
	}

	for (size_t k = 0; k < SIM__LANES; k++) {
		m[k] = (int32_t)vm[k];
		x[k] = (int32_t)vx[k];
		l[k] = (int32_t)vl[k];
	}
}

/**
 * Levenshtein (osa = 0) or OSA distances of a query of la (1..64) bytes,
 * the text, to the n candidates of lengths lens (1..SIM_W bytes), each
 * its lane's pattern; the public cutoff rule applies (max < 0: none).
 * d[k] is set for lanes below n.
 */
static inline void SIM__N(sim__edit_lanes)(size_t la, const unsigned char *rows,
					   const size_t *lens, size_t n,
					   int max, int osa, int32_t *d)
{
	SIM__UT a_unused[SIM__LANES];
	SIM__VU unused;

	for (size_t k = 0; k < SIM__LANES; k++)
		a_unused[k] = k < n ? 0 : (SIM__UT) ~(SIM__UT)0;
	memcpy(&unused, a_unused, sizeof(unused));
	SIM__VU lb = SIM__N(sim__lens)(lens, n);
	SIM__VU last = SIM__N(sim__top)(lb);
	SIM__VS vd = (SIM__VS)lb;

	/* distances stay under 129: past that cutoff nothing can stop early */
	int early = max >= 0 && max < 128;
	SIM__VU vp = ~(SIM__VU){0}, vn = {0}, d0 = {0}, eq_old = {0};
	for (size_t i = 0; i < la; i++) {
		SIM__VU e = SIM__N(sim__row)(rows, i);
		if (osa) {
			SIM__VU tr = ((~d0 & e) << 1) & eq_old;
			d0 = (((e & vp) + vp) ^ vp) | e | vn | tr;
			eq_old = e;
		} else {
			SIM__VU x = e | vn;
			d0 = (((x & vp) + vp) ^ vp) | x;
		}
		SIM__VU hp = vn | ~(d0 | vp);
		SIM__VU hn = vp & d0;
		vd -= (SIM__VS)((hp & last) != 0);
		vd += (SIM__VS)((hn & last) != 0);
		hp = (hp << 1) | 1;
		hn <<= 1;
		vp = hn | ~(d0 | hp);
		vn = hp & d0;
		if (early) {
			SIM__ST bound = (SIM__ST)(max + (int)(la - 1 - i));
			if (SIM__ALLSET((SIM__VU)(vd > bound) | unused)) {
				for (size_t k = 0; k < n; k++)
					d[k] = max + 1;
				return;
			}
		}
	}
	for (size_t k = 0; k < n; k++)
		d[k] = max >= 0 && vd[k] > max ? max + 1 : (int32_t)vd[k];
}

#undef SIM__UT
#undef SIM__ST
#undef SIM__CAT2
#undef SIM__CAT
#undef SIM__N
#undef SIM__LANES
#undef SIM__VU
#undef SIM__VS
