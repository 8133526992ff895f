/*
 * tmr: the timer index of a task: at most one pending timer per customer, kept in the
 * task's column family under (due time, customer) so that what is due is a prefix scan.
 *
 * The one idea: timers are data of the transaction like the customer state. Setting,
 * replacing and cancelling are staged in the task's batch and become durable with the
 * same atomic commit; tmr_due sees the staged changes of the current transaction. The
 * customer's record holds its due time, so a new due time replaces the old one (and
 * store_put_due sets state and timer in one step).
 *
 * Firing does not remove a timer: the pipeline, having run the engine for the timer,
 * sets the customer's next due time (tmr_set replaces) or cancels it, in the same
 * transaction.
 *
 * The customer's record is the truth; an index entry whose record says another due time
 * is stale. A restore leaves such entries (it writes without reading, see clog.c); tmr_due
 * never reports them and deletes them as its scan meets them (at once, outside the
 * transaction: they are garbage whatever the transaction does).
 *
 * A restore writes its index entries as timer runs (one key per batch and day, see
 * store_int.h); tmr_due turns a run into entries when the run's earliest timer comes
 * due, so a restore costs one key per customer, not two.
 */
#ifndef LS_TMR_H
#define LS_TMR_H

#include "store.h"

#include <stddef.h>
#include <stdint.h>

/** "No timer": a due time meaning never (equal to ENG_TIME_NEVER). */
#define TMR_NEVER STORE_NO_DUE

/** One due timer, as tmr_due reports it. */
typedef struct tmr_entry {
    int64_t due_ms;
    size_t customer_len;
    char customer[STORE_CUSTOMER_MAX + 1]; /* NUL-terminated for convenience */
} tmr_entry_t;

/**
 * @brief Stage the customer's timer at @p due_ms, replacing a pending one; a due time of
 *        TMR_NEVER cancels it instead.
 * @returns 0, or -1 with @p err (bad id, RocksDB read error).
 */
int tmr_set(store_task_t *t, const char *customer, size_t clen, int64_t due_ms, char *err,
            size_t errlen);

/** @brief Stage the removal of the customer's pending timer (none: no-op). */
int tmr_cancel(store_task_t *t, const char *customer, size_t clen, char *err, size_t errlen);

/**
 * @brief The customer's pending timer as this transaction sees it.
 * @returns 0 with *due_ms; STORE_NOT_FOUND (*due_ms = TMR_NEVER); -1 with @p err.
 */
int tmr_get(store_task_t *t, const char *customer, size_t clen, int64_t *due_ms, char *err,
            size_t errlen);

/**
 * @brief The timers due at or before @p now_ms, earliest first (ties by customer id),
 *        staged changes included; at most @p max into @p out, *n set to how many.
 *        Call again after handling them to get the next ones. Stale index entries met
 *        on the way are skipped and deleted at once (not in a read-only store).
 * @returns 0, or -1 with @p err.
 */
int tmr_due(store_task_t *t, int64_t now_ms, tmr_entry_t *out, size_t max, size_t *n, char *err,
            size_t errlen);

#endif
