/*
 * tmr: the timer index (see tmr.h). Keys 't' due customer -> "" in the task's column
 * family; the customer's record ('c') holds its due time. A timer change is a change of
 * the record, staged like any other (store_txn.c); the commit moves the index entry.
 *
 * The one idea: a due scan merges two sources, the committed index (each entry checked
 * against the customer's record as the transaction sees it) and the records the open
 * transaction staged with a new due time, so a transaction sees its own timer changes
 * before they are committed.
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
    if (store_rec_read(t, customer, clen, &rec, &raw, &n, err, errlen) != 0)
        return -1;
    int rc = 0;
    if (rec.due != due_ms)
        rc = store_rec_stage(t, customer, clen, rec.has_state ? raw + REC_HEADER : NULL,
                             rec.has_state ? n - REC_HEADER : 0, &rec, due_ms, err, errlen);
    free(raw);
    return rc;
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
        store_rec_read(t, customer, clen, &rec, NULL, NULL, err, errlen) != 0)
        return -1;
    *due_ms = rec.due;
    return rec.due == TMR_NEVER ? STORE_NOT_FOUND : 0;
}

/* Timer entries in (due, customer) order. */
static int entry_cmp(const void *a, const void *b)
{
    const tmr_entry_t *x = a, *y = b;
    if (x->due_ms != y->due_ms)
        return x->due_ms < y->due_ms ? -1 : 1;
    size_t n = x->customer_len < y->customer_len ? x->customer_len : y->customer_len;
    int c = memcmp(x->customer, y->customer, n);
    return c ? c : (x->customer_len > y->customer_len) - (x->customer_len < y->customer_len);
}

static void entry_set(tmr_entry_t *e, int64_t due, const char *customer, size_t clen)
{
    e->due_ms = due;
    e->customer_len = clen;
    memcpy(e->customer, customer, clen);
    e->customer[clen] = '\0';
}

/* Add @p cand to the due timers out[0..*n), keeping the earliest @p max: out is sorted
 * when full (a candidate then replaces the latest if earlier). One already there (a
 * timer run's entry may also be in the index) is not added twice. */
static void offer(tmr_entry_t *out, size_t max, size_t *n, const tmr_entry_t *cand)
{
    for (size_t i = 0; i < *n; i++)
        if (entry_cmp(cand, &out[i]) == 0)
            return;
    if (*n < max) {
        out[(*n)++] = *cand;
        return;
    }
    qsort(out, *n, sizeof(*out), entry_cmp);
    if (entry_cmp(cand, &out[max - 1]) < 0)
        out[max - 1] = *cand;
}

#define STALE_BATCH 256

/* Committed index entries from the floor, due by @p now_ms: those the open transaction
 * keeps into out (up to max), those it moves skipped (the commit moves them), stale ones
 * (their committed record says another due time) removed at once unless read-only. */
static int scan_committed(store_task_t *t, int64_t now_ms, tmr_entry_t *out, size_t max, size_t *n,
                          char *err, size_t errlen)
{
    store_t *s = t->store;
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ropts, t->cf->h);
    char start[9];
    start[0] = KEY_TIMER;
    store_enc_i64(start + 1, t->timer_floor);
    bool first = true;
    int rc = 0;
    int64_t stale_due[STALE_BATCH];
    char stale_cust[STALE_BATCH][STORE_CUSTOMER_MAX];
    const char *stale_ptr[STALE_BATCH];
    size_t stale_len[STALE_BATCH], n_stale = 0;
    for (rocksdb_iter_seek(it, start, sizeof(start)); rocksdb_iter_valid(it) && *n < max;
         rocksdb_iter_next(it)) {
        size_t kl;
        const char *k = rocksdb_iter_key(it, &kl);
        if (kl < 9 || k[0] != KEY_TIMER)
            break;
        int64_t due = store_dec_i64(k + 1);
        if (first && t->stage_n == 0) /* the earliest entry: nothing lives below it */
            t->timer_floor = due;
        first = false;
        if (due > now_ms)
            break;
        size_t clen = kl - 9 > STORE_CUSTOMER_MAX ? STORE_CUSTOMER_MAX : kl - 9;
        store_rec_t rec;
        if (store_rec_read(t, k + 9, clen, &rec, NULL, NULL, err, errlen) != 0) {
            rc = -1;
            break;
        }
        if (rec.base_due == due) {
            if (rec.due == due) /* the transaction keeps it */
                entry_set(&out[(*n)++], due, k + 9, clen);
            continue;
        }
        if (s->cfg.read_only || n_stale == STALE_BATCH)
            continue; /* (a full batch: the rest go at a later scan) */
        stale_due[n_stale] = due;
        memcpy(stale_cust[n_stale], k + 9, clen);
        stale_ptr[n_stale] = stale_cust[n_stale];
        stale_len[n_stale++] = clen;
    }
    if (store_iter_end(t, it, "timer scan", err, errlen) != 0)
        return -1;
    if (rc == 0)
        rc = store_drop_stale_timers(t, stale_due, stale_ptr, stale_len, n_stale, err, errlen);
    return rc;
}

static int run_corrupt(const store_task_t *t, size_t vl, char *err, size_t errlen)
{
    snprintf(err, errlen, "state store %s task %d: timer run is corrupt (%zu bytes)", t->store->dir,
             (int)t->cf->partition, vl);
    return -1;
}

/* One timer run as index entries, in one write that also deletes the run: a crash leaves
 * either the run or its entries. */
static int expand_run(store_task_t *t, const char *key, size_t kl, const char *v, size_t vl,
                      char *err, size_t errlen)
{
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    char tk[STORE_KEY_MAX];
    size_t pos = 0, clen;
    int64_t due;
    const char *c;
    int more;
    while ((more = store_run_next(v, vl, &pos, &due, &c, &clen)) == 1)
        rocksdb_writebatch_put_cf(wb, t->cf->h, tk, store_key_timer(tk, due, c, clen), "", 0);
    int rc;
    if (more < 0) {
        rc = run_corrupt(t, vl, err, errlen);
    } else {
        rocksdb_writebatch_delete_cf(wb, t->cf->h, key, kl);
        rc = store_write_plain(t, wb, err, errlen);
    }
    rocksdb_writebatch_destroy(wb);
    return rc;
}

/* A read-only store cannot expand a run: its entries that are due by @p now_ms and live
 * (the record says the same due time) are offered to the due timers out[0..*n) like index
 * entries. */
static int offer_run(store_task_t *t, const char *v, size_t vl, int64_t now_ms, tmr_entry_t *out,
                     size_t max, size_t *n, char *err, size_t errlen)
{
    size_t pos = 0, clen;
    int64_t due;
    const char *c;
    int more;
    while ((more = store_run_next(v, vl, &pos, &due, &c, &clen)) == 1) {
        store_rec_t rec;
        if (due > now_ms)
            continue;
        if (store_rec_read(t, c, clen, &rec, NULL, NULL, err, errlen) != 0)
            return -1;
        if (rec.due != due)
            continue; /* stale */
        tmr_entry_t cand;
        entry_set(&cand, due, c, clen);
        offer(out, max, n, &cand);
    }
    return more < 0 ? run_corrupt(t, vl, err, errlen) : 0;
}

/* The timer runs (written by a restore, clog.c) whose min due has come by @p now_ms:
 * expanded into index entries, or in a read-only store offered to out[0..*n). */
static int due_runs(store_task_t *t, int64_t now_ms, tmr_entry_t *out, size_t max, size_t *n,
                    char *err, size_t errlen)
{
    if (now_ms < t->run_floor)
        return 0;
    store_t *s = t->store;
    bool expand = !s->cfg.read_only;
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ropts, t->cf->h);
    /* From the floor when known: expanded runs leave tombstones before it. */
    char start[9] = {KEY_TIMER_RUN};
    store_enc_i64(start + 1, t->run_floor);
    int64_t floor = INT64_MAX; /* the first run left, if any */
    int rc = 0;
    for (rocksdb_iter_seek(it, start, t->run_floor == INT64_MIN ? 1 : sizeof(start));
         rc == 0 && rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t kl, vl;
        const char *k = rocksdb_iter_key(it, &kl);
        if (kl != RUN_KEY_LEN || k[0] != KEY_TIMER_RUN)
            break;
        int64_t min_due = store_dec_i64(k + 1);
        if (min_due > now_ms) {
            floor = min_due;
            break;
        }
        const char *v = rocksdb_iter_value(it, &vl);
        rc = expand ? expand_run(t, k, kl, v, vl, err, errlen)
                    : offer_run(t, v, vl, now_ms, out, max, n, err, errlen);
        if (rc == 0 && min_due < t->timer_floor)
            t->timer_floor = min_due; /* its entries may lie below what the scan knew */
    }
    if (store_iter_end(t, it, "timer run scan", err, errlen) != 0)
        return -1;
    if (rc == 0 && expand)
        t->run_floor = floor; /* the runs before it are gone */
    return rc;
}

int tmr_due(store_task_t *t, int64_t now_ms, tmr_entry_t *out, size_t max, size_t *n, char *err,
            size_t errlen)
{
    *n = 0;
    if (max == 0)
        return 0;
    /* Runs that came due become index entries before the scan; a read-only store adds
     * their entries after it. */
    bool ro = t->store->cfg.read_only;
    if ((!ro && due_runs(t, now_ms, out, max, n, err, errlen) != 0) ||
        scan_committed(t, now_ms, out, max, n, err, errlen) != 0 ||
        (ro && due_runs(t, now_ms, out, max, n, err, errlen) != 0))
        return -1;
    /* Timers the open transaction set: merged in, then the earliest max kept. They are
     * few (customers staged in one transaction), so a linear pass and a sort will do. */
    size_t before = *n;
    for (size_t k = 0; k < t->stage_n; k++) {
        const stage_ent_t *e = &t->stage[t->stage_order[k]];
        if (e->due == e->base_due || e->due == STORE_NO_DUE || e->due > now_ms)
            continue;
        tmr_entry_t cand;
        entry_set(&cand, e->due, e->buf, e->clen);
        offer(out, max, n, &cand);
    }
    if (*n > before || t->stage_n || ro)
        qsort(out, *n, sizeof(*out), entry_cmp);
    return 0;
}
