/*
 * store_int: what the modules of state/ (store, tmr, clog) share and nobody else sees:
 * the structs behind the opaque handles and the key layout of a task column family.
 *
 * The one idea: a task's column family holds everything about the task, so a single
 * write batch to it covers data, timers and checkpoint alike. Keys start with one tag
 * byte that separates the kinds and keeps each kind contiguous for scans:
 *
 *   'c' customer -> record: flags (1 byte), due (8 bytes), state bytes (opaque)
 *   't' due customer -> "" (timer index)
 *   'k' -> checkpoint: next input offset, changelog offset (2 x 8 bytes)
 *
 * Times are 8 bytes big-endian with the sign bit flipped (byte order = time order). The
 * customer's record carries its pending due time (STORE_NO_DUE = none), so one lookup
 * gives both state and timer, and moving the timer needs no second read. A record with
 * no state (flags 0) exists only to hold a timer.
 *
 * The default column family holds "format_version" and "closed/<cf name>" -> close time.
 */
#ifndef LS_STORE_INT_H
#define LS_STORE_INT_H

#include "store.h"

#include <pthread.h>
#include <rocksdb/c.h>

#define KEY_CUSTOMER   'c'
#define KEY_TIMER      't'
#define KEY_CHECKPOINT 'k'

/* tag + due + customer */
#define STORE_KEY_MAX (1 + 8 + STORE_CUSTOMER_MAX)

#define REC_HEADER    9 /* flags + due */
#define REC_HAS_STATE 1 /* flags: the record holds a state (else only a timer) */

/** One task column family, open (assigned) or not. */
typedef struct store_cf {
    int32_t partition;
    rocksdb_column_family_handle_t *h;
    int64_t closed_ms;  /* close time when not open */
    store_task_t *task; /* NULL when the task is not assigned */
} store_cf_t;

struct store {
    char *dir;
    store_config_t cfg;
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_block_based_table_options_t *topts;
    rocksdb_cache_t *cache;
    rocksdb_filterpolicy_t *filter; /* owned by topts once set */
    rocksdb_readoptions_t *ropts;
    rocksdb_writeoptions_t *wopts;
    rocksdb_column_family_handle_t *default_cf;
    /* The family table changes only on the pipeline's thread, which therefore reads it
     * without the lock; it takes the write lock to change it, so that
     * store_read_committed (another thread) can read it under the read lock. */
    pthread_rwlock_t lock;
    store_cf_t *cfs;
    size_t n_cfs, cap_cfs;
};

struct store_task {
    store_t *store;
    store_cf_t *cf;
    rocksdb_writebatch_wi_t *batch;
    /* No live timer is due before this (INT64_MIN = unknown). A due scan seeks here, so it
     * does not wade through the tombstones that fired timers leave until compaction. Any
     * timer set earlier lowers it; an abort may leave it lower than needed, never higher. */
    int64_t timer_floor;
    /* The last customer read or written through the task's batch and its due time, so
     * that get-then-put (the per-event path) reads the database once. Cleared on abort
     * and around a restore (which writes past the batch). */
    char *scratch; /* a record being built (header + state), grown as needed */
    size_t scratch_cap;
    bool cache_valid, cache_has_state;
    int64_t cache_due;
    size_t cache_len;
    char cache_cust[STORE_CUSTOMER_MAX];
};

/** A customer's record as a batch sees it. */
typedef struct store_rec {
    bool found, has_state;
    int64_t due; /* STORE_NO_DUE when none */
} store_rec_t;

/* Key building: each writes into @p out (STORE_KEY_MAX bytes) and returns the length. */
size_t store_key_customer(char *out, const char *customer, size_t clen);
size_t store_key_timer(char *out, int64_t due_ms, const char *customer, size_t clen);
void store_enc_i64(char *out, int64_t v);
int64_t store_dec_i64(const char *in);

/* Checks the id length; fills @p err naming it when too long or empty. */
int store_check_customer(const char *customer, size_t clen, char *err, size_t errlen);

/*
 * Read a customer's record through @p batch (the task's or a restore's), from the task's
 * cache when possible and @p raw is NULL. @p raw (may be NULL) receives the whole record
 * (malloc'd, free() it; NULL when absent). @returns 0, or -1 with @p err.
 */
int store_rec_read(store_task_t *t, rocksdb_writebatch_wi_t *batch, const char *customer,
                   size_t clen, store_rec_t *rec, char **raw, size_t *rawlen, char *err,
                   size_t errlen);

/*
 * Stage a customer's record into @p batch: @p state (NULL = no state) and @p new_due,
 * moving the timer index entry from @p old_due (what store_rec_read said). No state and
 * no due deletes the record.
 */
void store_rec_stage(store_task_t *t, rocksdb_writebatch_wi_t *batch, const char *customer,
                     size_t clen, const void *state, size_t vlen, int64_t old_due, int64_t new_due);

void store_cache_clear(store_task_t *t);
void store_stage_checkpoint(store_task_t *t, rocksdb_writebatch_wi_t *batch,
                            const store_checkpoint_t *cp);
int store_write_batch(store_task_t *t, rocksdb_writebatch_wi_t *batch, char *err, size_t errlen);

#endif
