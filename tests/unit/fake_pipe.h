/*
 * fake_pipe: the pipeline's side of pipe_hooks_t without Kafka, for unit tests of an app
 * (tests/unit/test_app.c). It defines the functions of pipe.h an app calls while a hook
 * runs (pipe_produce, pipe_produce_changelog, pipe_touch, pipe_rec_header) over an
 * in-memory "cluster", and drives the hooks in the order processor/pipeline/pipe.c does:
 *
 *   fp_assign:  task_open (with the group's committed metadata) → restore (the changelog
 *               partition's committed records from the checkpoint, in batches) → restored
 *   fp_process: process (one transaction is opened by the first record or pipe_touch)
 *   fp_timers:  timers (every active task)
 *   fp_commit:  flush (tasks in the transaction) → offset_metadata → the transaction
 *               commits (its records become visible, a marker takes one changelog offset)
 *               → committed (next input offset, next changelog offset)
 *   fp_abort:   the records become aborted, markers → aborted → the tasks' positions go
 *               back to the first offset of the transaction
 *   fp_revoke:  the open transaction commits, then task_close
 *   fp_crash:   the process dies: the open transaction is aborted by the "broker"
 *               without any hook; the tasks are forgotten (the test destroys the app)
 *
 * Every produced record is kept, with its transaction's fate, so a test can read the
 * outputs and the changelog as a read_committed consumer would, or look at everything.
 * A test can make the n-th next produce call fail (an abortable error).
 *
 * The test executable must not link processor/pipeline/pipe.c: see tests/app.cmake.
 */
#ifndef LS_TEST_FAKE_PIPE_H
#define LS_TEST_FAKE_PIPE_H

#include "pipe.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { FP_OPEN = 0, FP_COMMITTED, FP_ABORTED } fp_status_t;

typedef struct fp_header {
    char *name;
    void *value;
    size_t size;
} fp_header_t;

/** One record of the fake cluster (input, output or changelog). Bytes are owned. */
typedef struct fp_rec {
    char *topic;
    int32_t partition; /* as produced (-1 = by key); the changelog's and input's real one */
    int64_t offset;    /* input and changelog: offset in the partition; outputs: sequence */
    int64_t timestamp_ms;
    void *key;
    size_t key_len;
    void *value; /* NULL = tombstone */
    size_t value_len;
    fp_header_t *hdrs;
    size_t n_hdrs;
    int64_t txn; /* the transaction that produced it (input: 0) */
    fp_status_t status;
} fp_rec_t;

/** A list of records, owned by the fake. */
typedef struct fp_log {
    fp_rec_t *v;
    size_t n, cap;
} fp_log_t;

/** Counters of what the fake did (all transactions, aborted ones included). */
typedef struct fp_stats {
    int64_t transactions; /* committed */
    int64_t aborts;
    int64_t touches;   /* pipe_touch calls */
    int64_t processed; /* process hook calls */
    int64_t restored;  /* records handed to the restore hook */
} fp_stats_t;

/** @brief A fake cluster with an input topic of @p n_parts partitions and its changelog. */
pipe_t *fp_new(int32_t n_parts, const char *topic_input, const char *topic_changelog);

/** @brief Free everything (the hooks are not called). NULL is a no-op. */
void fp_destroy(pipe_t *pp);

/** @brief Drive @p hooks from now on (a new app after fp_crash or after tasks closed). */
void fp_set_hooks(pipe_t *pp, const pipe_hooks_t *hooks);

/** @brief Append a record to input partition @p p. @returns its offset. */
int64_t fp_input(pipe_t *pp, int32_t p, const void *key, size_t key_len, const void *value,
                 size_t value_len, int64_t timestamp_ms);

/**
 * @brief Assign task @p p: task_open, restore from the offset it returns, restored. The
 *        task's input position becomes the group's committed offset (0 when none).
 * @returns PIPE_OK or the failing hook's result, with @p err.
 */
int fp_assign(pipe_t *pp, int32_t p, char *err, size_t errlen);

/**
 * @brief Process up to @p max (0 = all) available input records of task @p p in the open
 *        transaction (opened if needed). @returns PIPE_OK or the first hook result that is
 *        not (the record counts as consumed, as in pipe.c: an abort rewinds).
 */
int fp_process(pipe_t *pp, int32_t p, size_t max, char *err, size_t errlen);

/** @brief The timers hook of every active task with @p wall_ms. @returns as fp_process. */
int fp_timers(pipe_t *pp, int64_t wall_ms, char *err, size_t errlen);

/**
 * @brief Commit the open transaction (no-op when none). A flush that returns PIPE_ABORT
 *        aborts the transaction (fp_abort) and PIPE_ABORT is returned.
 */
int fp_commit(pipe_t *pp, char *err, size_t errlen);

/** @brief Abort the open transaction (no-op when none). */
void fp_abort(pipe_t *pp);

/**
 * @brief The loop of pipe_run in one call: process every available record of every
 *        active task, fire timers, commit; an abortable result aborts and the step is
 *        redone (at most 5 times). @returns PIPE_OK, or PIPE_FATAL / PIPE_ABORT (still
 *        aborting after 5 tries) with @p err.
 */
int fp_step(pipe_t *pp, int64_t wall_ms, char *err, size_t errlen);

/** @brief Revoke task @p p: commit the open transaction, then task_close. */
int fp_revoke(pipe_t *pp, int32_t p, char *err, size_t errlen);

/** @brief The process dies: the open transaction is aborted without hooks; no task is open. */
void fp_crash(pipe_t *pp);

/** @brief Make the @p nth next produce call (1 = the next one) return @p rc (PIPE_ABORT). */
void fp_fail_produce(pipe_t *pp, int nth, int rc);

/** @brief Every record produced to output topics (pipe_produce), in order. Borrowed. */
const fp_log_t *fp_outputs(const pipe_t *pp);

/** @brief Input partition @p p (offset = index). Borrowed. */
const fp_log_t *fp_input_log(const pipe_t *pp, int32_t p);

/** @brief Changelog partition @p p (records only, not markers). Borrowed. */
const fp_log_t *fp_changelog(const pipe_t *pp, int32_t p);

/** @brief The next offset of changelog partition @p p (past any marker). */
int64_t fp_changelog_end(const pipe_t *pp, int32_t p);

/** @brief The group's committed offset of input partition @p p (-1 when none) and its
 *         metadata (borrowed, "" when none). */
int64_t fp_committed_offset(const pipe_t *pp, int32_t p, const char **metadata);

/** @brief The changelog offset task_open returned at the last fp_assign of @p p. */
int64_t fp_restore_from(const pipe_t *pp, int32_t p);

/** @brief Records restored into task @p p at its last fp_assign. */
int64_t fp_restored(const pipe_t *pp, int32_t p);

/** @brief Whether a transaction is open. */
bool fp_txn_open(const pipe_t *pp);

/** @brief The counters so far. */
void fp_get_stats(const pipe_t *pp, fp_stats_t *out);

/** @brief A header of @p r by name (the last one), or NULL. */
const fp_header_t *fp_rec_header(const fp_rec_t *r, const char *name);

#endif
