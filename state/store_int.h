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
 *   'u' min-due run-id (8 + 12 bytes) -> timer run: entries (due 8 bytes, id length
 *       1 byte, customer id), each due at or after min-due, in no particular order
 *   'k' -> checkpoint: next input offset, changelog offset (2 x 8 bytes)
 *
 * A timer run is how a restore writes the timer index: one key for the timers of a
 * restore batch that fall in one day, instead of one key per customer (the per-key cost
 * of RocksDB's table files is a large part of a restore's write work). tmr_due expands a
 * run into 't' entries once its min-due comes (see tmr.c); until then none of its
 * entries can be due.
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
#define KEY_TIMER_RUN  'u'

/* tag + min due + run id (12 bytes: an id of the restore, the run's number in it) */
#define RUN_KEY_LEN (1 + 8 + 12)

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
    /* A restore's bulk load turned its compactions off (clog.c): back on when the
     * store's last restore ends. */
    bool compactions_off;
} store_cf_t;

struct store {
    char *dir;
    store_config_t cfg;
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_block_based_table_options_t *topts;
    rocksdb_options_t *restore_opts; /* for the table files a restore writes (clog.c) */
    rocksdb_cache_t *cache;
    rocksdb_filterpolicy_t *filter; /* owned by topts once set */
    rocksdb_readoptions_t *ropts;
    rocksdb_writeoptions_t *wopts;
    /* The commit's write batch (store_txn.c, pipeline thread only), cleared and reused so
     * that its buffer is not grown again by copying at every commit; NULL until the first. */
    rocksdb_writebatch_t *commit_wb;
    rocksdb_column_family_handle_t *default_cf;
    /* The family table changes only on the pipeline's thread, which therefore reads it
     * without the lock; it takes the write lock to change it, so that
     * store_read_committed (another thread) can read it under the read lock. */
    pthread_rwlock_t lock;
    store_cf_t *cfs;
    size_t n_cfs, cap_cfs;
    /* Restores bulk loading (clog.c, pipeline thread only): while any is, the families
     * with compactions_off keep them off. */
    int bulk_restores;
};

/* One customer staged in the open transaction: its record as the transaction leaves it,
 * and the due time of its committed record (whose timer index entry the commit moves). */
typedef struct stage_ent {
    uint32_t gen;     /* the slot is in use when gen == the stage's gen */
    uint32_t clen;    /* customer id length; the id starts buf */
    bool exists;      /* a record remains (state or timer); false = delete it */
    bool has_state;   /* the record holds a state */
    int64_t due;      /* staged due time, STORE_NO_DUE = none */
    int64_t base_due; /* due time of the committed record, STORE_NO_DUE = none */
    char *buf;        /* customer id, then the record (REC_HEADER + state); owned,
                         freed when the stage is cleared */
    size_t rec_len, cap;
} stage_ent_t;

struct store_task {
    store_t *store;
    store_cf_t *cf;
    /* The open transaction: an open-addressing table of staged customers (cleared by
     * bumping gen), with the used slots in staging order. Reads look here first, then at
     * the committed data; store_task_commit turns it into one RocksDB write batch. */
    stage_ent_t *stage;
    size_t stage_cap, stage_n;
    size_t *stage_order;
    uint32_t stage_gen;
    /* No live timer is due before this (INT64_MIN = unknown). A due scan seeks here, so it
     * does not wade through the tombstones that fired timers leave until compaction. Any
     * timer set earlier lowers it; an abort may leave it lower than needed, never higher. */
    int64_t timer_floor;
    /* No timer run has its min due before this (INT64_MIN = unknown): a due scan looks
     * for runs to expand only from here. A restore lowers it as it writes runs. */
    int64_t run_floor;
    /* The last customer read from the committed data and its record, so that
     * get-then-put (the per-event path) reads the database once. Cleared by a commit (the
     * committed data changed) and around a restore (which writes past the stage). */
    bool cache_valid, cache_has_state;
    int64_t cache_due;
    size_t cache_len;
    char cache_cust[STORE_CUSTOMER_MAX];
};

/** A customer's record as the open transaction sees it. */
typedef struct store_rec {
    bool found, has_state;
    int64_t due;      /* STORE_NO_DUE when none */
    int64_t base_due; /* the committed record's due time (== due when not staged) */
} store_rec_t;

/* Key building: each writes into @p out (STORE_KEY_MAX bytes) and returns the length. */
size_t store_key_customer(char *out, const char *customer, size_t clen);
size_t store_key_timer(char *out, int64_t due_ms, const char *customer, size_t clen);
void store_enc_i64(char *out, int64_t v);
int64_t store_dec_i64(const char *in);

/* Timer run values: the bytes one entry takes, one entry appended at @p out (which must
 * have room), and the entry at *pos (advanced past it). store_run_next @returns 1 with an
 * entry (*customer points into @p v), 0 at the end, -1 if the value is malformed. */
#define RUN_ENTRY_SIZE(clen) (8 + 1 + (clen))
size_t store_run_put(char *out, int64_t due_ms, const char *customer, size_t clen);
int store_run_next(const char *v, size_t vl, size_t *pos, int64_t *due_ms, const char **customer,
                   size_t *clen);

/* Checks the id length; fills @p err naming it when too long or empty. */
int store_check_customer(const char *customer, size_t clen, char *err, size_t errlen);

/*
 * Read a customer's record as the open transaction sees it (staged, else committed, from
 * the task's cache when possible and @p raw is NULL). @p raw (may be NULL) receives the
 * whole record (malloc'd, free() it; NULL when absent). @returns 0, or -1 with @p err.
 */
int store_rec_read(store_task_t *t, const char *customer, size_t clen, store_rec_t *rec, char **raw,
                   size_t *rawlen, char *err, size_t errlen);

/*
 * Stage a customer's record: @p state (NULL = no state) and @p new_due; @p cur is what
 * store_rec_read said. No state and no due deletes the record. @returns 0, or -1 with
 * @p err (out of memory).
 */
int store_rec_stage(store_task_t *t, const char *customer, size_t clen, const void *state,
                    size_t vlen, const store_rec_t *cur, int64_t new_due, char *err, size_t errlen);

/* Remove timer index entries that no record refers to (stale, see tmr.h) at once, outside
 * any transaction: they are garbage whatever the transaction does. */
int store_drop_stale_timers(store_task_t *t, const int64_t *due, const char *const *customers,
                            const size_t *clens, size_t n, char *err, size_t errlen);

void store_cache_clear(store_task_t *t);

/* How many tasks are open (assigned) now. */
size_t store_open_tasks(const store_t *s);

/* Free the task's stage (closing the task). */
void store_stage_free(store_task_t *t);

/* The checkpoint's value (CHECKPOINT_LEN bytes) into @p out. */
#define CHECKPOINT_LEN 16
void store_enc_checkpoint(char *out, const store_checkpoint_t *cp);

/* Destroy a scan's iterator of task @p t. @returns 0, or -1 with @p err naming @p what
 * when the scan met an error. */
int store_iter_end(store_task_t *t, rocksdb_iterator_t *it, const char *what, char *err,
                   size_t errlen);

/* Write a plain batch of task @p t (and clear it). @returns 0, or -1 with @p err. */
int store_write_plain(store_task_t *t, rocksdb_writebatch_t *batch, char *err, size_t errlen);

#endif
