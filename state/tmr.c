/*
 * tmr: the timer index (see tmr.h). Keys 't' due customer -> "" in the task's column
 * family; the customer's record ('c') holds its due time. Both are staged in the task's
 * write batch with index.
 *
 * The one idea: every read goes through the batch first (get_from_batch_and_db, and an
 * iterator "with base" that merges the batch over the database), so a transaction sees
 * its own timer changes before they are committed.
 */
#include "tmr.h"

#include "store_int.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Move the customer's timer to @p due_ms (STORE_NO_DUE: none), keeping its state. */
static int stage_due(store_task_t *t, const char *customer, size_t clen, int64_t due_ms, char *err,
                     size_t errlen)
{
    if (store_check_customer(customer, clen, err, errlen) != 0)
        return -1;
    if (t->store->cfg.read_only) {
        snprintf(err, errlen, "state store %s is open read-only", t->store->dir);
        return -1;
    }
    store_rec_t rec;
    char *raw = NULL;
    size_t n = 0;
    if (store_rec_read(t, t->batch, customer, clen, &rec, &raw, &n, err, errlen) != 0)
        return -1;
    if (rec.due != due_ms)
        store_rec_stage(t, t->batch, customer, clen, rec.has_state ? raw + REC_HEADER : NULL,
                        rec.has_state ? n - REC_HEADER : 0, rec.due, due_ms);
    rocksdb_free(raw);
    return 0;
}

int tmr_set(store_task_t *t, const char *customer, size_t clen, int64_t due_ms, char *err,
            size_t errlen)
{
    return stage_due(t, customer, clen, due_ms, err, errlen);
}

int tmr_cancel(store_task_t *t, const char *customer, size_t clen, char *err, size_t errlen)
{
    return stage_due(t, customer, clen, TMR_NEVER, err, errlen);
}

int tmr_get(store_task_t *t, const char *customer, size_t clen, int64_t *due_ms, char *err,
            size_t errlen)
{
    store_rec_t rec;
    *due_ms = TMR_NEVER;
    if (store_check_customer(customer, clen, err, errlen) != 0 ||
        store_rec_read(t, t->batch, customer, clen, &rec, NULL, NULL, err, errlen) != 0)
        return -1;
    *due_ms = rec.due;
    return rec.due == TMR_NEVER ? STORE_NOT_FOUND : 0;
}

int tmr_due(store_task_t *t, int64_t now_ms, tmr_entry_t *out, size_t max, size_t *n, char *err,
            size_t errlen)
{
    *n = 0;
    if (max == 0)
        return 0;
    store_t *s = t->store;
    rocksdb_iterator_t *base = rocksdb_create_iterator_cf(s->db, s->ropts, t->cf->h);
    /* The merged iterator takes over the base iterator (RocksDB's C API frees the
     * wrapper); destroying the merged one releases both. */
    rocksdb_iterator_t *it =
        rocksdb_writebatch_wi_create_iterator_with_base_cf(t->batch, base, t->cf->h);
    char start[9];
    start[0] = KEY_TIMER;
    store_enc_i64(start + 1, t->timer_floor);
    bool first = true;
    for (rocksdb_iter_seek(it, start, sizeof(start)); rocksdb_iter_valid(it) && *n < max;
         rocksdb_iter_next(it)) {
        size_t kl;
        const char *k = rocksdb_iter_key(it, &kl);
        if (kl < 9 || k[0] != KEY_TIMER)
            break;
        int64_t due = store_dec_i64(k + 1);
        if (first) /* the earliest live timer: nothing lives below it */
            t->timer_floor = due;
        first = false;
        if (due > now_ms)
            break;
        tmr_entry_t *e = &out[(*n)++];
        e->due_ms = due;
        e->customer_len = kl - 9 > STORE_CUSTOMER_MAX ? STORE_CUSTOMER_MAX : kl - 9;
        memcpy(e->customer, k + 9, e->customer_len);
        e->customer[e->customer_len] = '\0';
    }
    char *rerr = NULL;
    rocksdb_iter_get_error(it, &rerr);
    rocksdb_iter_destroy(it);
    if (rerr) {
        snprintf(err, errlen, "state store %s task %d: timer scan failed: %s", s->dir,
                 (int)t->cf->partition, rerr);
        rocksdb_free(rerr);
        return -1;
    }
    return 0;
}
