/*
 * clog: restore apply (see clog.h) and the framing of changelog values.
 *
 * The one idea: a restore batch is a write batch with index of its own (the task's
 * staging batch stays empty during a restore), so replacing a customer's timer reads the
 * customer's record as the batch left it, and the batch is written with a checkpoint like a
 * commit is: a crash mid-restore leaves a consistent prefix and a checkpoint that says
 * where to continue.
 */
#include "clog.h"

#include "store_int.h"
#include "tmr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct clog_restore {
    store_task_t *t;
    rocksdb_writebatch_wi_t *batch;
    size_t batch_records, in_batch, batch_bytes;
    int64_t next_input_offset; /* kept from the checkpoint found at start */
    int64_t last_offset;       /* offset of the last record added, -1 = none */
    uint64_t count;
};

clog_restore_t *clog_restore_new(store_task_t *t, size_t batch_records, char *err, size_t errlen)
{
    if (t->store->cfg.read_only) {
        snprintf(err, errlen, "state store %s is open read-only", t->store->dir);
        return NULL;
    }
    if (store_task_staged(t) != 0) {
        snprintf(err, errlen,
                 "state store %s task %d: cannot restore with %zu staged changes (commit or "
                 "abort first)",
                 t->store->dir, (int)t->cf->partition, store_task_staged(t));
        return NULL;
    }
    store_checkpoint_t cp;
    if (store_task_checkpoint(t, &cp, err, errlen) != 0)
        return NULL;
    clog_restore_t *r = calloc(1, sizeof(*r));
    store_cache_clear(t); /* the restore writes past the task's batch */
    if (!r) {
        snprintf(err, errlen, "state store %s: out of memory", t->store->dir);
        return NULL;
    }
    r->t = t;
    r->batch = rocksdb_writebatch_wi_create(0, 1);
    r->batch_records = batch_records ? batch_records : CLOG_DEFAULT_BATCH_RECORDS;
    r->next_input_offset = cp.next_input_offset;
    r->last_offset = -1;
    return r;
}

static int flush(clog_restore_t *r, int64_t changelog_offset, char *err, size_t errlen)
{
    store_checkpoint_t cp = {.next_input_offset = r->next_input_offset,
                             .changelog_offset = changelog_offset};
    store_stage_checkpoint(r->t, r->batch, &cp);
    if (store_write_batch(r->t, r->batch, err, errlen) != 0)
        return -1;
    store_cache_clear(r->t);
    r->in_batch = r->batch_bytes = 0;
    return 0;
}

int clog_restore_add(clog_restore_t *r, const clog_record_t *rec, char *err, size_t errlen)
{
    store_task_t *t = r->t;
    if (store_check_customer(rec->customer, rec->customer_len, err, errlen) != 0)
        return -1;
    store_rec_t cur;
    if (store_rec_read(t, r->batch, rec->customer, rec->customer_len, &cur, NULL, NULL, err,
                       errlen) != 0)
        return -1;
    /* A tombstone removes the customer: state and timer. */
    int64_t due = rec->state ? rec->next_due_ms : STORE_NO_DUE;
    if (rec->state || cur.found)
        store_rec_stage(t, r->batch, rec->customer, rec->customer_len,
                        rec->state ? rec->state : NULL, rec->state_len, cur.due, due);
    r->last_offset = rec->offset;
    r->count++;
    r->in_batch++;
    r->batch_bytes += 2 * (REC_HEADER + rec->customer_len) + rec->state_len; /* ~ two keys */
    if (r->in_batch >= r->batch_records || r->batch_bytes >= CLOG_BATCH_BYTES)
        return flush(r, rec->offset + 1, err, errlen);
    return 0;
}

int clog_restore_finish(clog_restore_t *r, int64_t end_offset, char *err, size_t errlen)
{
    if (end_offset < r->last_offset + 1) {
        snprintf(err, errlen,
                 "state store %s task %d: restore end offset %lld lies before the last "
                 "record applied (%lld)",
                 r->t->store->dir, (int)r->t->cf->partition, (long long)end_offset,
                 (long long)r->last_offset);
        return -1;
    }
    return flush(r, end_offset, err, errlen);
}

uint64_t clog_restore_count(const clog_restore_t *r)
{
    return r->count;
}

void clog_restore_destroy(clog_restore_t *r)
{
    if (!r)
        return;
    rocksdb_writebatch_wi_destroy(r->batch);
    free(r);
}

int clog_apply(store_task_t *t, const clog_record_t *recs, size_t n, int64_t end_offset,
               size_t batch_records, char *err, size_t errlen)
{
    clog_restore_t *r = clog_restore_new(t, batch_records, err, errlen);
    if (!r)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = clog_restore_add(r, &recs[i], err, errlen);
    if (rc == 0)
        rc = clog_restore_finish(r, end_offset, err, errlen);
    clog_restore_destroy(r);
    return rc;
}

static void put_be64(unsigned char *out, int64_t v)
{
    uint64_t u = (uint64_t)v;
    for (int i = 7; i >= 0; i--) {
        out[i] = (unsigned char)(u & 0xff);
        u >>= 8;
    }
}

static int64_t get_be64(const unsigned char *in)
{
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = (u << 8) | in[i];
    return (int64_t)u;
}

size_t clog_frame_size(size_t state_len)
{
    return CLOG_FRAME_HEADER + state_len;
}

size_t clog_frame_encode(int64_t next_due_ms, const void *state, size_t state_len, void *out,
                         size_t outlen)
{
    if (outlen < clog_frame_size(state_len))
        return 0;
    unsigned char *o = out;
    o[0] = CLOG_FRAME_VERSION;
    put_be64(o + 1, next_due_ms);
    if (state_len)
        memcpy(o + CLOG_FRAME_HEADER, state, state_len);
    return clog_frame_size(state_len);
}

int clog_frame_decode(const void *val, size_t len, int64_t *next_due_ms, const void **state,
                      size_t *state_len, char *err, size_t errlen)
{
    const unsigned char *v = val;
    if (!v || len < CLOG_FRAME_HEADER) {
        snprintf(err, errlen, "changelog value of %zu bytes is shorter than its %d-byte header",
                 len, CLOG_FRAME_HEADER);
        return -1;
    }
    if (v[0] != CLOG_FRAME_VERSION) {
        snprintf(err, errlen, "changelog value has frame version %u, this build reads %d",
                 (unsigned)v[0], CLOG_FRAME_VERSION);
        return -1;
    }
    *next_due_ms = get_be64(v + 1);
    *state = v + CLOG_FRAME_HEADER;
    *state_len = len - CLOG_FRAME_HEADER;
    return 0;
}
