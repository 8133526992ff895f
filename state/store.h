/*
 * store: the per-customer loyalty state on RocksDB, one column family per task (input
 * partition), changed only by one atomic write per committed Kafka transaction.
 *
 * The one idea: RocksDB never holds uncommitted data. Every change of a transaction is
 * staged in the task's stage, a table of changed customers (so later events of the same
 * customer read their own writes); store_task_commit writes it together with the task's
 * checkpoint (next input offset, changelog offset) as one RocksDB write batch, which is
 * atomic: after any crash the data and the checkpoint come from the same batch.
 *
 * Values are opaque bytes here (the customer-state record is encoded by the Avro codec).
 * Column families are kept when a task moves away, so a task that comes back restores
 * only the changelog tail; store_gc drops them after task_drop_delay_ms.
 *
 * Locality: a store_t and its tasks are used by one thread (the pipeline's), except
 * store_read_committed, which other threads may call; RocksDB's own background threads
 * do flushes and compactions. This header includes no RocksDB
 * or librdkafka type.
 */
#ifndef LS_STORE_H
#define LS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Return value of lookups: the key is absent (0 = found, -1 = error). */
#define STORE_NOT_FOUND 1

/** The on-disk format this build reads and writes (key "format_version", default CF). */
#define STORE_FORMAT_VERSION 1

/** "No pending timer" (equal to ENG_TIME_NEVER and TMR_NEVER). */
#define STORE_NO_DUE INT64_MAX

/** Longest customer id (the record key) the store accepts, in bytes. */
#define STORE_CUSTOMER_MAX 255

/** Default memory budget for RocksDB (block cache + memtables of all tasks). */
#define STORE_DEFAULT_MEMORY_BUDGET (128u * 1024u * 1024u)

/** Default delay before a closed task's column family is dropped: 24 h. */
#define STORE_DEFAULT_DROP_DELAY_MS (24LL * 3600 * 1000)

typedef struct store store_t;
typedef struct store_task store_task_t;

/** Settings of a store; fill with store_config_default() and change what you need. */
typedef struct store_config {
    const char *dir;            /**< the database directory (its parent must exist) */
    size_t memory_budget_bytes; /**< block cache + write buffers, all tasks together */
    int64_t task_drop_delay_ms; /**< a closed task's column family lives this long */
    bool sync_commit;           /**< fsync the WAL on every commit (default false) */
    bool read_only;             /**< open read-only (inspect): no writes, no lock */
} store_config_t;

/** A task's checkpoint: what the last committed batch covered. -1 = none yet. */
typedef struct store_checkpoint {
    int64_t next_input_offset; /**< input offset of the next record to process */
    int64_t changelog_offset;  /**< changelog position after the batch's last record */
} store_checkpoint_t;

/** Memory split computed from a budget (see docs/STATE.md). */
typedef struct store_memory_split {
    size_t block_cache_bytes;     /**< shared LRU cache: data, index and filter blocks */
    size_t write_buffer_total;    /**< DB-wide memtable limit (all column families) */
    size_t write_buffer_per_task; /**< one column family's memtable size */
} store_memory_split_t;

/** @brief Defaults: no dir, 128 MiB budget, 24 h drop delay, no sync, read-write. */
void store_config_default(store_config_t *cfg);

/** @brief How @p budget is split between block cache and write buffers. */
void store_memory_split(size_t budget, store_memory_split_t *out);

/**
 * @brief Open (or create, unless read-only) the store in cfg->dir and open every task
 *        column family found there. Tasks found on disk are not "assigned": they count
 *        as closed since @p now_ms unless a close time was recorded earlier.
 * @returns a store the caller owns (store_destroy), or NULL with @p err naming the path
 *          and what to do: locked by another process, corrupt, another format version,
 *          not a loyalty-stream store. Nothing is ever deleted on the user's behalf.
 */
store_t *store_new(const store_config_t *cfg, int64_t now_ms, char *err, size_t errlen);

/** @brief Close the store; uncommitted staged changes are dropped. NULL is a no-op. */
void store_destroy(store_t *s);

/** @brief The directory of the store (borrowed). */
const char *store_dir(const store_t *s);

/**
 * @brief Assign task @p partition: create its column family if missing (read-write
 *        stores only), forget a recorded close time, and give it an empty stage.
 * @returns a handle the store owns, valid until store_task_close or store_destroy; NULL
 *          with @p err when the column family cannot be created, or does not exist in a
 *          read-only store, or the task is already open.
 */
store_task_t *store_task_open(store_t *s, int32_t partition, char *err, size_t errlen);

/** @brief The open task of @p partition, or NULL (borrowed). */
store_task_t *store_task_find(store_t *s, int32_t partition);

/** @brief The partition of a task. */
int32_t store_task_partition(const store_task_t *t);

/**
 * @brief Unassign a task: drop its uncommitted staging, keep its column family and
 *        record @p now_ms as its close time (for store_gc). @p t is invalid afterwards.
 * @returns 0, or -1 with @p err when the close time cannot be written.
 */
int store_task_close(store_t *s, store_task_t *t, int64_t now_ms, char *err, size_t errlen);

/**
 * @brief Drop the column families of tasks closed at least task_drop_delay_ms before
 *        @p now_ms. @p dropped (may be NULL) receives how many were dropped.
 * @returns 0, or -1 with @p err (the task that could not be dropped).
 */
int store_gc(store_t *s, int64_t now_ms, int *dropped, char *err, size_t errlen);

/**
 * @brief Drop task @p partition's column family now (its states, timers and checkpoint),
 *        so that the next assignment restores the task from the whole changelog. The
 *        task must not be open.
 * @returns 0, STORE_NOT_FOUND when the store has no such task, -1 with @p err.
 */
int store_task_drop(store_t *s, int32_t partition, char *err, size_t errlen);

/**
 * @brief A store-wide fact that every stored state depends on (e.g. "currency": the
 *        program's currency, which gives points and amounts their meaning). @p out gets
 *        "" when it was never set. @returns 0, or -1 with a message.
 */
int store_meta_get(store_t *s, const char *name, char *out, size_t outlen, char *err,
                   size_t errlen);

/** @brief Record the store-wide fact @p name = @p value (store_meta_get). @returns 0 or -1. */
int store_meta_put(store_t *s, const char *name, const char *value, char *err, size_t errlen);

/**
 * @brief Delete the store at @p dir (RocksDB's files; the directory stays), e.g. one that
 *        is corrupt: every task then restores from the changelog. Refused while a process
 *        holds the store open (RocksDB's lock). A directory without a store is fine.
 * @returns 0, or -1 with @p err.
 */
int store_wipe(const char *dir, char *err, size_t errlen);

/** @brief True when @p err (from store_new) says the database is corrupt. */
bool store_err_is_corrupt(const char *err);

/**
 * @brief Partitions of all task column families on disk, open or not, ascending.
 *        Fills up to @p max entries of @p out and sets @p n to the total number.
 */
void store_tasks(const store_t *s, int32_t *out, size_t max, size_t *n);

/**
 * @brief Close time recorded for task @p partition (not open now).
 * @returns 0 with *closed_ms set, STORE_NOT_FOUND when open or unknown.
 */
int store_task_closed_at(const store_t *s, int32_t partition, int64_t *closed_ms);

/** RocksDB's own account of its memory (for metrics and the benchmark). */
typedef struct store_memory_usage {
    uint64_t memtables;     /**< all memtables, flushed or not yet freed */
    uint64_t table_readers; /**< SST readers outside the block cache */
    uint64_t block_cache;   /**< bytes in the shared block cache */
} store_memory_usage_t;

/** @brief Read RocksDB's memory account. @returns 0, or -1 with @p err. */
int store_memory_usage(store_t *s, store_memory_usage_t *out, char *err, size_t errlen);

/**
 * @brief Read a customer's *committed* state (staged changes ignored) from task
 *        @p partition, or from every assigned task when @p partition < 0.
 * @locality the one function that may run on another thread (the HTTP server's
 *           GET /customers/{id}) concurrently with the pipeline's use of the store; it
 *           must not race with store_destroy.
 * @returns 0 with *val (malloc'd, free() it), *vlen, *next_due and *found_in (both may
 *          be NULL) set; STORE_NOT_FOUND; -1 with @p err.
 */
int store_read_committed(store_t *s, int32_t partition, const char *customer, size_t clen,
                         char **val, size_t *vlen, int64_t *next_due, int32_t *found_in, char *err,
                         size_t errlen);

/* ------------------------------------------------------------------ staging */

/**
 * @brief Read a customer's state as this transaction sees it: staged changes first,
 *        then the committed database.
 * @returns 0 with *val (malloc'd, the caller frees it with free()) and *vlen set;
 *          STORE_NOT_FOUND (*val = NULL); -1 with @p err on a RocksDB error.
 */
int store_get(store_task_t *t, const char *customer, size_t clen, char **val, size_t *vlen,
              char *err, size_t errlen);

/**
 * @brief As store_get, and also the customer's pending timer (*next_due = STORE_NO_DUE
 *        when none) from the same single lookup. A customer with a timer but no state
 *        gives STORE_NOT_FOUND with *next_due set.
 */
int store_get_due(store_task_t *t, const char *customer, size_t clen, char **val, size_t *vlen,
                  int64_t *next_due, char *err, size_t errlen);

/**
 * @brief Stage a customer's new state (copied); the pending timer stays as it is.
 * @returns 0, or -1 with @p err (bad id, RocksDB read error, read-only store).
 */
int store_put(store_task_t *t, const char *customer, size_t clen, const void *val, size_t vlen,
              char *err, size_t errlen);

/**
 * @brief The per-event path: stage the customer's new state and its next due time
 *        together (replacing the pending timer; STORE_NO_DUE cancels it). Right after a
 *        store_get/store_get_due of the same customer it reads nothing.
 * @returns 0, or -1 with @p err.
 */
int store_put_due(store_task_t *t, const char *customer, size_t clen, const void *val, size_t vlen,
                  int64_t next_due, char *err, size_t errlen);

/**
 * @brief Stage the removal of a customer: its state and its pending timer.
 * @returns 0, or -1 with @p err.
 */
int store_delete(store_task_t *t, const char *customer, size_t clen, char *err, size_t errlen);

/** @brief Number of customers staged since the last commit/abort. */
size_t store_task_staged(const store_task_t *t);

/**
 * @brief Write the staged batch and @p cp in one atomic RocksDB write (WAL on), then
 *        start an empty batch. Call only after the Kafka transaction committed. A
 *        negative half of @p cp keeps the committed value (the pipeline passes -1 for
 *        "unchanged", e.g. when a transaction only fired timers).
 * @returns 0; -1 with @p err when RocksDB refused the write: the batch is kept, nothing
 *          of it is in RocksDB, and the caller treats it as fatal (stop, restart and
 *          restore from the changelog).
 */
int store_task_commit(store_task_t *t, const store_checkpoint_t *cp, char *err, size_t errlen);

/** @brief Drop everything staged since the last commit (the transaction aborted). */
void store_task_abort(store_task_t *t);

/**
 * @brief The committed checkpoint of the task ({-1, -1} when none).
 * @returns 0, or -1 with @p err.
 */
int store_task_checkpoint(store_task_t *t, store_checkpoint_t *cp, char *err, size_t errlen);

/** Counts of a task's committed content (inspect --summary). */
typedef struct store_task_stats {
    uint64_t customers;           /**< records with a state */
    uint64_t timers;              /**< pending timers (records with a due time) */
    uint64_t stale_timer_entries; /**< index entries a restore left behind (see tmr.h) */
    uint64_t level0_files;        /**< table files in RocksDB's level 0: a restore adds
                                       them, compactions merge them away (see clog.h) */
} store_task_stats_t;

/** @brief Count committed customers and timers of a task (a full scan; offline use). */
int store_task_stats(store_task_t *t, store_task_stats_t *st, char *err, size_t errlen);

/**
 * @brief Visit every committed customer of a task in key order (offline tools, tests).
 *        @p fn returns 0 to go on, non-zero to stop.
 * @returns 0, or -1 with @p err.
 */
int store_task_foreach(store_task_t *t,
                       int (*fn)(void *ctx, const char *customer, size_t clen, const char *val,
                                 size_t vlen),
                       void *ctx, char *err, size_t errlen);

#endif
