/*
 * clog: restore apply. Brings a task's column family forward from its changelog: the
 * pipeline consumes changelog partition p from the checkpoint's changelog offset to the
 * end and hands each record here; clog writes them in bounded batches, each together
 * with a checkpoint whose changelog offset is the position after the batch's last
 * record, so an interrupted restore resumes where it stopped. No librdkafka here.
 *
 * The one idea: a changelog record carries the whole customer: state bytes and next due
 * time. Applying it replaces the customer's state and timer (a tombstone removes both),
 * so applying the same records twice gives the same store (idempotent), and restoring
 * needs no rebuild of the timer index.
 *
 * The changelog value is framed by clog_frame_encode (version byte, next due time, state
 * bytes); the pipeline uses the same functions to produce it, so both sides agree.
 */
#ifndef LS_CLOG_H
#define LS_CLOG_H

#include "store.h"

#include <stddef.h>
#include <stdint.h>

/** Default records per restore batch. A batch is also cut by its bytes: the memory
 *  budget / 8 / open tasks, between CLOG_BATCH_MIN_BYTES and CLOG_BATCH_BYTES. */
#define CLOG_DEFAULT_BATCH_RECORDS 65536
#define CLOG_BATCH_BYTES           (16u * 1024u * 1024u)
#define CLOG_BATCH_MIN_BYTES       (1u * 1024u * 1024u)

/** Framing of a changelog value: 1 version byte + 8 bytes next due (big-endian). */
#define CLOG_FRAME_VERSION 1
#define CLOG_FRAME_HEADER  9

/** One changelog record, borrowed by clog for the duration of the call. */
typedef struct clog_record {
    int64_t offset;       /**< its changelog offset */
    const char *customer; /**< the record key */
    size_t customer_len;
    const void *state; /**< the state bytes; NULL = tombstone (delete) */
    size_t state_len;
    int64_t next_due_ms; /**< the customer's pending timer, TMR_NEVER = none */
} clog_record_t;

typedef struct clog_restore clog_restore_t;

/**
 * @brief Start restoring task @p t, whose stage must be empty. @p batch_records
 *        bounds a batch (0 = CLOG_DEFAULT_BATCH_RECORDS).
 * @returns an object the caller owns (clog_restore_destroy), or NULL with @p err.
 */
clog_restore_t *clog_restore_new(store_task_t *t, size_t batch_records, char *err, size_t errlen);

/**
 * @brief Apply one record (copied into the current batch; written when the batch is
 *        full).
 * @returns 0, or -1 with @p err (bad customer id, RocksDB error: fatal for the task).
 */
int clog_restore_add(clog_restore_t *r, const clog_record_t *rec, char *err, size_t errlen);

/**
 * @brief Write what is left and record the checkpoint's changelog offset as
 *        @p end_offset: the consumer's position at the end of the changelog (it may
 *        lie past the last record's offset + 1 when the log ends in transaction
 *        markers). The checkpoint's next input offset is kept as it was.
 * @returns 0, or -1 with @p err.
 */
int clog_restore_finish(clog_restore_t *r, int64_t end_offset, char *err, size_t errlen);

/** @brief Records applied (added) so far. */
uint64_t clog_restore_count(const clog_restore_t *r);

/** @brief Free; records not yet written are dropped. NULL is a no-op. */
void clog_restore_destroy(clog_restore_t *r);

/**
 * @brief Convenience: apply @p n records then finish at @p end_offset, in batches of
 *        @p batch_records (0 = default).
 * @returns 0, or -1 with @p err.
 */
int clog_apply(store_task_t *t, const clog_record_t *recs, size_t n, int64_t end_offset,
               size_t batch_records, char *err, size_t errlen);

/** @brief Bytes needed to frame @p state_len bytes of state. */
size_t clog_frame_size(size_t state_len);

/**
 * @brief Frame a changelog value: version, @p next_due_ms, then the state bytes, into
 *        @p out of @p outlen bytes. @returns the length written, 0 if @p out is too small.
 */
size_t clog_frame_encode(int64_t next_due_ms, const void *state, size_t state_len, void *out,
                         size_t outlen);

/**
 * @brief Read a framed value: *state points into @p val (borrowed).
 * @returns 0, or -1 with @p err (too short, unknown version).
 */
int clog_frame_decode(const void *val, size_t len, int64_t *next_due_ms, const void **state,
                      size_t *state_len, char *err, size_t errlen);

#endif
