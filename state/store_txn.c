/*
 * store_txn: a task's transaction on the store: staged reads and writes in a write batch
 * with index, and the commit that writes the batch and the checkpoint atomically.
 *
 * The one idea: the checkpoint is just one more key in the task's own column family, put
 * into the same batch as the data, so RocksDB's atomic batch write (one WAL record) is
 * the whole commit protocol on this side: there is no state in which data and checkpoint
 * disagree, even after SIGKILL or power loss (the WAL is replayed up to its last whole
 * record).
 */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECKPOINT_LEN 16

void store_enc_i64(char *out, int64_t v)
{
    /* Flip the sign bit so that byte order equals numeric order for negatives too. */
    uint64_t u = (uint64_t)v ^ 0x8000000000000000ull;
    for (int i = 7; i >= 0; i--) {
        out[i] = (char)(u & 0xff);
        u >>= 8;
    }
}

int64_t store_dec_i64(const char *in)
{
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = (u << 8) | (unsigned char)in[i];
    return (int64_t)(u ^ 0x8000000000000000ull);
}

size_t store_key_customer(char *out, const char *customer, size_t clen)
{
    out[0] = KEY_CUSTOMER;
    memcpy(out + 1, customer, clen);
    return 1 + clen;
}

size_t store_key_timer(char *out, int64_t due_ms, const char *customer, size_t clen)
{
    out[0] = KEY_TIMER;
    store_enc_i64(out + 1, due_ms);
    memcpy(out + 9, customer, clen);
    return 9 + clen;
}

int store_check_customer(const char *customer, size_t clen, char *err, size_t errlen)
{
    if (!customer || clen == 0) {
        snprintf(err, errlen, "empty customer id");
        return -1;
    }
    if (clen > STORE_CUSTOMER_MAX) {
        snprintf(err, errlen, "customer id '%.40s...' is %zu bytes, the store takes at most %d",
                 customer, clen, STORE_CUSTOMER_MAX);
        return -1;
    }
    return 0;
}

void store_cache_clear(store_task_t *t)
{
    t->cache_valid = false;
}

static void cache_set(store_task_t *t, const char *customer, size_t clen, bool has_state,
                      int64_t due)
{
    memcpy(t->cache_cust, customer, clen);
    t->cache_len = clen;
    t->cache_has_state = has_state;
    t->cache_due = due;
    t->cache_valid = true;
}

static bool cache_hit(const store_task_t *t, const char *customer, size_t clen)
{
    return t->cache_valid && t->cache_len == clen && memcmp(t->cache_cust, customer, clen) == 0;
}

int store_rec_read(store_task_t *t, rocksdb_writebatch_wi_t *batch, const char *customer,
                   size_t clen, store_rec_t *rec, char **raw, size_t *rawlen, char *err,
                   size_t errlen)
{
    bool own = batch == t->batch;
    if (!raw && own && cache_hit(t, customer, clen)) {
        rec->found = t->cache_has_state || t->cache_due != STORE_NO_DUE;
        rec->has_state = t->cache_has_state;
        rec->due = t->cache_due;
        return 0;
    }
    char key[STORE_KEY_MAX], *rerr = NULL;
    size_t klen = store_key_customer(key, customer, clen), n = 0;
    char *v = rocksdb_writebatch_wi_get_from_batch_and_db_cf(batch, t->store->db, t->store->ropts,
                                                             t->cf->h, key, klen, &n, &rerr);
    if (rerr) {
        snprintf(err, errlen, "state store %s task %d: reading customer '%.*s' failed: %s",
                 t->store->dir, (int)t->cf->partition, (int)clen, customer, rerr);
        rocksdb_free(rerr);
        return -1;
    }
    if (v && n < REC_HEADER) {
        snprintf(err, errlen, "state store %s task %d: record of customer '%.*s' has %zu bytes",
                 t->store->dir, (int)t->cf->partition, (int)clen, customer, n);
        rocksdb_free(v);
        return -1;
    }
    rec->found = v != NULL;
    rec->has_state = v && (v[0] & REC_HAS_STATE);
    rec->due = v ? store_dec_i64(v + 1) : STORE_NO_DUE;
    if (own)
        cache_set(t, customer, clen, rec->has_state, rec->due);
    if (raw) {
        *raw = v;
        *rawlen = n;
    } else {
        rocksdb_free(v);
    }
    return 0;
}

/* The task's record buffer of at least @p n bytes, or NULL when out of memory. */
static char *scratch(store_task_t *t, size_t n)
{
    if (n > t->scratch_cap) {
        size_t cap = n < 1024 ? 1024 : 2 * n;
        char *p = realloc(t->scratch, cap);
        if (!p)
            return NULL;
        t->scratch = p;
        t->scratch_cap = cap;
    }
    return t->scratch;
}

void store_rec_stage(store_task_t *t, rocksdb_writebatch_wi_t *batch, const char *customer,
                     size_t clen, const void *state, size_t vlen, int64_t old_due, int64_t new_due)
{
    char key[STORE_KEY_MAX];
    size_t klen;
    if (old_due != new_due && old_due != STORE_NO_DUE) {
        klen = store_key_timer(key, old_due, customer, clen);
        rocksdb_writebatch_wi_delete_cf(batch, t->cf->h, key, klen);
    }
    if (old_due != new_due && new_due != STORE_NO_DUE) {
        klen = store_key_timer(key, new_due, customer, clen);
        rocksdb_writebatch_wi_put_cf(batch, t->cf->h, key, klen, "", 0);
        if (new_due < t->timer_floor)
            t->timer_floor = new_due;
    }
    klen = store_key_customer(key, customer, clen);
    if (!state && new_due == STORE_NO_DUE) {
        rocksdb_writebatch_wi_delete_cf(batch, t->cf->h, key, klen);
    } else {
        size_t n = REC_HEADER + (state ? vlen : 0);
        char *rec = scratch(t, n);
        if (!rec) { /* out of memory: RocksDB's own concatenation needs no buffer of ours */
            char head[REC_HEADER];
            head[0] = state ? REC_HAS_STATE : 0;
            store_enc_i64(head + 1, new_due);
            const char *parts[2] = {head, state ? (const char *)state : ""}, *keys[1] = {key};
            size_t sizes[2] = {REC_HEADER, state ? vlen : 0};
            rocksdb_writebatch_wi_putv_cf(batch, t->cf->h, 1, keys, &klen, 2, parts, sizes);
        } else {
            rec[0] = state ? REC_HAS_STATE : 0;
            store_enc_i64(rec + 1, new_due);
            if (state && vlen)
                memcpy(rec + REC_HEADER, state, vlen);
            rocksdb_writebatch_wi_put_cf(batch, t->cf->h, key, klen, rec, n);
        }
    }
    if (batch == t->batch)
        cache_set(t, customer, clen, state != NULL, new_due);
}

static int check_write(store_task_t *t, const char *customer, size_t clen, char *err, size_t errlen)
{
    if (store_check_customer(customer, clen, err, errlen) != 0)
        return -1;
    if (t->store->cfg.read_only) {
        snprintf(err, errlen, "state store %s is open read-only", t->store->dir);
        return -1;
    }
    return 0;
}

int store_get_due(store_task_t *t, const char *customer, size_t clen, char **val, size_t *vlen,
                  int64_t *next_due, char *err, size_t errlen)
{
    char *raw = NULL;
    size_t n = 0;
    store_rec_t rec;
    *val = NULL;
    *vlen = 0;
    if (next_due)
        *next_due = STORE_NO_DUE;
    if (store_check_customer(customer, clen, err, errlen) != 0 ||
        store_rec_read(t, t->batch, customer, clen, &rec, &raw, &n, err, errlen) != 0)
        return -1;
    if (next_due)
        *next_due = rec.due;
    if (!rec.has_state) {
        rocksdb_free(raw);
        return STORE_NOT_FOUND;
    }
    /* Hand out RocksDB's malloc'd copy with the header moved away: no second copy. */
    memmove(raw, raw + REC_HEADER, n - REC_HEADER);
    *val = raw;
    *vlen = n - REC_HEADER;
    return 0;
}

int store_get(store_task_t *t, const char *customer, size_t clen, char **val, size_t *vlen,
              char *err, size_t errlen)
{
    return store_get_due(t, customer, clen, val, vlen, NULL, err, errlen);
}

int store_put_due(store_task_t *t, const char *customer, size_t clen, const void *val, size_t vlen,
                  int64_t next_due, char *err, size_t errlen)
{
    store_rec_t rec;
    if (check_write(t, customer, clen, err, errlen) != 0 ||
        store_rec_read(t, t->batch, customer, clen, &rec, NULL, NULL, err, errlen) != 0)
        return -1;
    store_rec_stage(t, t->batch, customer, clen, val ? val : "", vlen, rec.due, next_due);
    return 0;
}

int store_put(store_task_t *t, const char *customer, size_t clen, const void *val, size_t vlen,
              char *err, size_t errlen)
{
    store_rec_t rec;
    if (check_write(t, customer, clen, err, errlen) != 0 ||
        store_rec_read(t, t->batch, customer, clen, &rec, NULL, NULL, err, errlen) != 0)
        return -1;
    store_rec_stage(t, t->batch, customer, clen, val ? val : "", vlen, rec.due, rec.due);
    return 0;
}

int store_delete(store_task_t *t, const char *customer, size_t clen, char *err, size_t errlen)
{
    store_rec_t rec;
    if (check_write(t, customer, clen, err, errlen) != 0 ||
        store_rec_read(t, t->batch, customer, clen, &rec, NULL, NULL, err, errlen) != 0)
        return -1;
    if (rec.found)
        store_rec_stage(t, t->batch, customer, clen, NULL, 0, rec.due, STORE_NO_DUE);
    return 0;
}

size_t store_task_staged(const store_task_t *t)
{
    return (size_t)rocksdb_writebatch_wi_count(t->batch);
}

void store_stage_checkpoint(store_task_t *t, rocksdb_writebatch_wi_t *batch,
                            const store_checkpoint_t *cp)
{
    char key = KEY_CHECKPOINT, v[CHECKPOINT_LEN];
    store_enc_i64(v, cp->next_input_offset);
    store_enc_i64(v + 8, cp->changelog_offset);
    rocksdb_writebatch_wi_put_cf(batch, t->cf->h, &key, 1, v, sizeof(v));
}

int store_write_batch(store_task_t *t, rocksdb_writebatch_wi_t *batch, char *err, size_t errlen)
{
    char *rerr = NULL;
    rocksdb_write_writebatch_wi(t->store->db, t->store->wopts, batch, &rerr);
    if (rerr) {
        snprintf(err, errlen, "state store %s task %d: commit failed: %s", t->store->dir,
                 (int)t->cf->partition, rerr);
        rocksdb_free(rerr);
        return -1;
    }
    rocksdb_writebatch_wi_clear(batch);
    return 0;
}

int store_task_commit(store_task_t *t, const store_checkpoint_t *cp, char *err, size_t errlen)
{
    if (t->store->cfg.read_only) {
        snprintf(err, errlen, "state store %s is open read-only", t->store->dir);
        return -1;
    }
    /* A negative half means "unchanged" (e.g. a transaction that only fired timers). */
    store_checkpoint_t merged = *cp;
    if (cp->next_input_offset < 0 || cp->changelog_offset < 0) {
        store_checkpoint_t cur;
        if (store_task_checkpoint(t, &cur, err, errlen) != 0)
            return -1;
        if (merged.next_input_offset < 0)
            merged.next_input_offset = cur.next_input_offset;
        if (merged.changelog_offset < 0)
            merged.changelog_offset = cur.changelog_offset;
    }
    /* Put the checkpoint under a save point so a failed write leaves the batch as the
     * caller staged it (a retry would put the checkpoint again). */
    rocksdb_writebatch_wi_set_save_point(t->batch);
    store_stage_checkpoint(t, t->batch, &merged);
    if (store_write_batch(t, t->batch, err, errlen) != 0) {
        char *rerr = NULL;
        rocksdb_writebatch_wi_rollback_to_save_point(t->batch, &rerr);
        rocksdb_free(rerr);
        return -1;
    }
    return 0;
}

void store_task_abort(store_task_t *t)
{
    rocksdb_writebatch_wi_clear(t->batch);
    store_cache_clear(t); /* it may describe a staged change that is gone now */
}

int store_task_checkpoint(store_task_t *t, store_checkpoint_t *cp, char *err, size_t errlen)
{
    char key = KEY_CHECKPOINT, *rerr = NULL;
    size_t vlen = 0;
    cp->next_input_offset = -1;
    cp->changelog_offset = -1;
    char *v = rocksdb_get_cf(t->store->db, t->store->ropts, t->cf->h, &key, 1, &vlen, &rerr);
    if (rerr) {
        snprintf(err, errlen, "state store %s task %d: cannot read the checkpoint: %s",
                 t->store->dir, (int)t->cf->partition, rerr);
        rocksdb_free(rerr);
        return -1;
    }
    if (v && vlen == CHECKPOINT_LEN) {
        cp->next_input_offset = store_dec_i64(v);
        cp->changelog_offset = store_dec_i64(v + 8);
    } else if (v) {
        snprintf(err, errlen, "state store %s task %d: checkpoint has %zu bytes, want %d",
                 t->store->dir, (int)t->cf->partition, vlen, CHECKPOINT_LEN);
        rocksdb_free(v);
        return -1;
    }
    rocksdb_free(v);
    return 0;
}

/* Visit committed keys starting with @p tag; fn gets the key without the tag. */
static int scan_tag(store_task_t *t, char tag,
                    int (*fn)(void *ctx, const char *k, size_t kl, const char *v, size_t vl),
                    void *ctx, char *err, size_t errlen)
{
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(t->store->db, t->store->ropts, t->cf->h);
    for (rocksdb_iter_seek(it, &tag, 1); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t kl, vl;
        const char *k = rocksdb_iter_key(it, &kl);
        if (kl == 0 || k[0] != tag)
            break;
        const char *v = rocksdb_iter_value(it, &vl);
        if (fn(ctx, k + 1, kl - 1, v, vl) != 0)
            break;
    }
    char *rerr = NULL;
    rocksdb_iter_get_error(it, &rerr);
    rocksdb_iter_destroy(it);
    if (rerr) {
        snprintf(err, errlen, "state store %s task %d: scan failed: %s", t->store->dir,
                 (int)t->cf->partition, rerr);
        rocksdb_free(rerr);
        return -1;
    }
    return 0;
}

static int count_one(void *ctx, const char *k, size_t kl, const char *v, size_t vl)
{
    (void)k, (void)kl, (void)v, (void)vl;
    (*(uint64_t *)ctx)++;
    return 0;
}

static int count_state(void *ctx, const char *k, size_t kl, const char *v, size_t vl)
{
    (void)k, (void)kl;
    if (vl >= REC_HEADER && (v[0] & REC_HAS_STATE))
        (*(uint64_t *)ctx)++;
    return 0;
}

int store_task_stats(store_task_t *t, store_task_stats_t *st, char *err, size_t errlen)
{
    st->customers = st->timers = 0;
    if (scan_tag(t, KEY_CUSTOMER, count_state, &st->customers, err, errlen) != 0)
        return -1;
    return scan_tag(t, KEY_TIMER, count_one, &st->timers, err, errlen);
}

struct visit {
    int (*fn)(void *ctx, const char *customer, size_t clen, const char *val, size_t vlen);
    void *ctx;
};

static int visit_state(void *ctx, const char *k, size_t kl, const char *v, size_t vl)
{
    const struct visit *vi = ctx;
    if (vl < REC_HEADER || !(v[0] & REC_HAS_STATE))
        return 0;
    return vi->fn(vi->ctx, k, kl, v + REC_HEADER, vl - REC_HEADER);
}

int store_task_foreach(store_task_t *t,
                       int (*fn)(void *ctx, const char *customer, size_t clen, const char *val,
                                 size_t vlen),
                       void *ctx, char *err, size_t errlen)
{
    struct visit vi = {fn, ctx};
    return scan_tag(t, KEY_CUSTOMER, visit_state, &vi, err, errlen);
}
