/*
 * image — the store and the identity graph as snapshot items: written
 * from a read view while writers go on, and loaded back without
 * normalising anything again.
 *
 * Items (little-endian; the kinds are shared with the engine's own):
 *   IMAGE_ENTITY  u64 id | u64 version | u64 created_op | u64 changed_op |
 *                 u32 n_members | u32 n_aliases | u32 members[] |
 *                 u64 aliases[]                (members in graph order)
 *   IMAGE_RECORD  u32 id | u64 created | u64 seq | u32 n_edges |
 *                 (u32 other | f32 weight | u8 kind)[n_edges] |
 *                 the record's image (store.h)  (edges in list order)
 * Every record and every entity is written exactly once; an edge is
 * written from both ends, so lists come back in the same order.
 *
 * The read view (graph.h) gives a consistent point-in-time image without
 * holding writers for the whole write:
 *   1. image_view_open, writers excluded: notes the record id limit and
 *      asks the graph to report every entity before its first change.
 *   2. image_view_scan over slices of record ids, under the read lock:
 *      a record not written yet is unchanged since the view opened (its
 *      entity would have been reported), so it is written as it is now,
 *      with its entity the first time that entity is met.
 *   3. A writer about to change an entity first writes (into memory) the
 *      entity and its members not written yet: they are still as they
 *      were. Records are immutable, so "as they were" is "as they are".
 *   4. image_view_close, writers excluded: the view ends.
 * Writers pay one copy per entity they change during the snapshot; the
 * memory this takes is freed as the scan hands it to the file.
 *
 * Not thread-safe by itself: the engine's read/write lock orders the
 * calls as described above.
 */
#ifndef RECONNU_IMAGE_H
#define RECONNU_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "graph.h"
#include "store.h"

enum image_kind {
	IMAGE_ENTITY = 3,
	IMAGE_RECORD = 6,
};

/** Items in memory, each u8 kind | u32 length | payload. */
struct image_items {
	uint8_t *p;
	size_t n, cap;
	int err; /**< -ENOMEM once an append failed (items were lost) */
	uint64_t records, entities; /**< items of each kind appended */
};

/** Room for n bytes of items, so that appending them does not grow the
 *  buffer (e.g. while writers are held). @retval 0 or -ENOMEM. */
int image_items_reserve(struct image_items *b, size_t n);
/** Hands every item to put in order and empties b (its memory is kept).
 *  @retval 0, b->err, or put's first non-zero return. */
int image_items_flush(struct image_items *b,
		      int (*put)(void *ctx, uint8_t kind, const void *p,
				 uint32_t n),
		      void *ctx);
void image_items_free(struct image_items *b);

struct image_view;

/** Opens a read view of st and g; writers must be excluded. NULL on
 *  ENOMEM. One view at a time per graph. */
struct image_view *image_view_open(struct store *st, struct graph *g);
/** Record ids of the view are below this limit. */
uint32_t image_view_limit(const struct image_view *v);
/** Appends the items of records [from, to) not written yet (with their
 *  entities the first time those are met), then what writers saved
 *  since the last call. Caller holds the read lock.
 *  @retval 0, or -ENOMEM (the image is incomplete). */
int image_view_scan(struct image_view *v, uint32_t from, uint32_t to,
		    struct image_items *out);
/** Ends the view (writers excluded) and appends what writers saved last.
 *  @retval 0, or -ENOMEM when anything could not be kept: the image is
 *  incomplete and must not be published. */
int image_view_close(struct image_view *v, struct image_items *out);
/** Records writers saved before changing them (so far). */
uint64_t image_view_saved(const struct image_view *v);
/** Frees a view (closed first if it was still open: writers excluded). */
void image_view_free(struct image_view *v);

/* ---- loading -------------------------------------------------------- */

struct image_loader {
	struct store *st;
	struct graph *g;
	struct graph_edge *edges; /**< scratch */
	uint32_t cap;
	uint64_t records, entities;
	int edges_checked; /**< image_load_check_edges passed */
};

/** Puts a record item back: the record in st at its id, its edge list in
 *  g. *rec (may be NULL) gets the stored record, for indexing.
 *  @retval 0, -EBADMSG malformed or clashing, -ENOMEM. */
int image_load_record(struct image_loader *l, const void *p, uint32_t n,
		      const struct store_rec **rec);
/** A record item split in two, so that the record can be built and
 *  stored later or on another thread: the edges go back at once, the
 *  record's image is pointed at (borrowed from the item). */
struct image_rec {
	const uint8_t *img; /**< the record's image, inside the item */
	uint32_t n;	    /**< its bytes */
	uint32_t id;
	uint64_t created, seq;
};
/** Puts a record item's edge list back in g and fills *out; the record
 *  itself is for image_store_record. Counts the record.
 *  @retval 0, -EBADMSG malformed or clashing, -ENOMEM. */
int image_load_edges(struct image_loader *l, const void *p, uint32_t n,
		     struct image_rec *out);
/** Builds the record of ir (store_rec_from_image) into *rec: owned by
 *  the caller until image_store_record takes it.
 *  @retval 0, -EBADMSG, -ENOMEM. */
int image_build_record(const struct image_rec *ir, struct store_rec **rec);
/** Stores rec (built from ir, its store_key_hash is hash) in st at its
 *  id; on success st owns it.
 *  @retval 0, -EBADMSG clashing (caller still owns rec), -ENOMEM. */
int image_store_record(struct store *st, const struct image_rec *ir,
		       struct store_rec *rec, uint64_t hash);
/** Puts an entity item back. @retval 0, -EBADMSG, -ENOMEM. */
int image_load_entity(struct image_loader *l, const void *p, uint32_t n);
/** After the last item has been read, the graph's half of image_load_end
 *  (edges from both ends, between records in entities): it reads only the
 *  graph, so it may run while records are still being stored on another
 *  thread; image_load_end then does not check it again.
 *  @retval 0 or -EBADMSG. */
int image_load_check_edges(struct image_loader *l, uint32_t id_limit);
/** After the last item: records, entities and edges hold together (every
 *  record below id_limit in exactly one entity, edges from both ends).
 *  Frees the scratch. @retval 0 or -EBADMSG. */
int image_load_end(struct image_loader *l, uint32_t id_limit);

#endif
