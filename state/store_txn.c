/*
 * store_txn: a task's transaction on the store: staged changes in a table of customers
 * (the stage: reads see it first, then the committed data), and the commit that writes
 * them and the checkpoint atomically.
 *
 * The one idea: the checkpoint is just one more key in the task's own column family, put
 * into the same batch as the data, so RocksDB's atomic batch write (one WAL record) is
 * the whole commit protocol on this side: there is no state in which data and checkpoint
 * disagree, even after SIGKILL or power loss (the WAL is replayed up to its last whole
 * record). The stage is ours rather than RocksDB's write batch with index: a customer is
 * one hash lookup instead of a skip-list search on every read and write, and the commit
 * hands RocksDB the records in key order (in bench_pipeline's profile the batch with
 * index and its random-order insert are a large part of the pipeline thread's work;
 * docs/STATE.md).
 */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

size_t store_run_put(char *out, int64_t due_ms, const char *customer, size_t clen)
{
    store_enc_i64(out, due_ms);
    out[8] = (char)(unsigned char)clen;
    memcpy(out + 9, customer, clen);
    return RUN_ENTRY_SIZE(clen);
}

int store_run_next(const char *v, size_t vl, size_t *pos, int64_t *due_ms, const char **customer,
                   size_t *clen)
{
    if (*pos == vl)
        return 0;
    if (vl - *pos < RUN_ENTRY_SIZE(1))
        return -1;
    size_t n = (unsigned char)v[*pos + 8];
    if (n == 0 || vl - *pos < RUN_ENTRY_SIZE(n))
        return -1;
    *due_ms = store_dec_i64(v + *pos);
    *customer = v + *pos + 9;
    *clen = n;
    *pos += RUN_ENTRY_SIZE(n);
    return 1;
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

/* ------------------------------------------------------------------ the stage */

static uint64_t hash_id(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

static stage_ent_t *stage_find(store_task_t *t, const char *customer, size_t clen)
{
    if (!t->stage_n)
        return NULL;
    size_t mask = t->stage_cap - 1;
    for (size_t i = (size_t)hash_id(customer, clen) & mask;; i = (i + 1) & mask) {
        stage_ent_t *e = &t->stage[i];
        if (e->gen != t->stage_gen)
            return NULL;
        if (e->clen == clen && memcmp(e->buf, customer, clen) == 0)
            return e;
    }
}

/* Double the table, moving the used slots (and their buffers) over. */
static int stage_grow(store_task_t *t)
{
    size_t cap = t->stage_cap ? t->stage_cap * 2 : 256;
    stage_ent_t *tab = calloc(cap, sizeof(*tab));
    size_t *order = calloc(cap, sizeof(*order));
    if (!tab || !order) {
        free(tab);
        free(order);
        return -1;
    }
    uint32_t gen = 1;
    size_t n = 0;
    for (size_t k = 0; k < t->stage_n; k++) { /* used slots, in staging order */
        stage_ent_t *e = &t->stage[t->stage_order[k]];
        size_t i = (size_t)hash_id(e->buf, e->clen) & (cap - 1);
        while (tab[i].gen == gen)
            i = (i + 1) & (cap - 1);
        tab[i] = *e;
        tab[i].gen = gen;
        e->buf = NULL;
        order[n++] = i;
    }
    for (size_t i = 0; i < t->stage_cap; i++) /* spare buffers of unused slots */
        free(t->stage[i].buf);
    free(t->stage);
    free(t->stage_order);
    t->stage = tab;
    t->stage_order = order;
    t->stage_cap = cap;
    t->stage_gen = gen;
    return 0;
}

/* Make @p e's buffer hold @p need bytes, keeping its content. @returns 0, -1 = OOM. */
static int ent_reserve(stage_ent_t *e, size_t need)
{
    if (e->cap >= need)
        return 0;
    size_t cap = need + need / 2 + 64;
    char *b = realloc(e->buf, cap);
    if (!b)
        return -1;
    e->buf = b;
    e->cap = cap;
    return 0;
}

/* The customer's slot with room for @p need bytes, added (not yet filled) when absent;
 * NULL when out of memory, and then the stage is as it was. */
static stage_ent_t *stage_add(store_task_t *t, const char *customer, size_t clen, size_t need,
                              bool *added)
{
    *added = false;
    stage_ent_t *e = stage_find(t, customer, clen);
    if (e)
        return ent_reserve(e, need) == 0 ? e : NULL;
    if ((t->stage_n + 1) * 2 > t->stage_cap && stage_grow(t) != 0)
        return NULL;
    size_t mask = t->stage_cap - 1, i = (size_t)hash_id(customer, clen) & mask;
    while (t->stage[i].gen == t->stage_gen)
        i = (i + 1) & mask;
    e = &t->stage[i];
    if (ent_reserve(e, need) != 0) /* before the slot is taken: nothing to undo */
        return NULL;
    memcpy(e->buf, customer, clen);
    e->clen = (uint32_t)clen;
    e->gen = t->stage_gen;
    t->stage_order[t->stage_n++] = i;
    *added = true;
    return e;
}

/* Empty the stage. The entries' buffers are freed, not kept for the next transaction:
 * kept, every slot of the table ends up holding one (10-13 MiB per task for 10,000-record
 * transactions, against the 2 MiB a transaction stages); a malloc per staged customer
 * per transaction costs nothing measurable (bench_store). */
static void stage_clear(store_task_t *t)
{
    for (size_t k = 0; k < t->stage_n; k++) {
        stage_ent_t *e = &t->stage[t->stage_order[k]];
        free(e->buf);
        e->buf = NULL;
        e->cap = 0;
    }
    t->stage_n = 0;
    if (++t->stage_gen == 0) { /* wrapped: reset the stamps */
        for (size_t i = 0; i < t->stage_cap; i++)
            t->stage[i].gen = 0;
        t->stage_gen = 1;
    }
}

void store_stage_free(store_task_t *t)
{
    for (size_t i = 0; i < t->stage_cap; i++)
        free(t->stage[i].buf);
    free(t->stage);
    free(t->stage_order);
    t->stage = NULL;
    t->stage_order = NULL;
    t->stage_cap = t->stage_n = 0;
}

/* ------------------------------------------------------------------ records */

int store_rec_read(store_task_t *t, const char *customer, size_t clen, store_rec_t *rec, char **raw,
                   size_t *rawlen, char *err, size_t errlen)
{
    const stage_ent_t *e = stage_find(t, customer, clen);
    if (e) {
        rec->found = e->exists;
        rec->has_state = e->has_state;
        rec->due = e->due;
        rec->base_due = e->base_due;
        if (raw) {
            *raw = NULL;
            *rawlen = 0;
            if (e->exists) {
                if (!(*raw = malloc(e->rec_len))) {
                    snprintf(err, errlen, "state store %s: out of memory", t->store->dir);
                    return -1;
                }
                memcpy(*raw, e->buf + e->clen, e->rec_len);
                *rawlen = e->rec_len;
            }
        }
        return 0;
    }
    if (!raw && cache_hit(t, customer, clen)) {
        rec->found = t->cache_has_state || t->cache_due != STORE_NO_DUE;
        rec->has_state = t->cache_has_state;
        rec->due = rec->base_due = t->cache_due;
        return 0;
    }
    char key[STORE_KEY_MAX], *rerr = NULL;
    size_t klen = store_key_customer(key, customer, clen), n = 0;
    char *v = rocksdb_get_cf(t->store->db, t->store->ropts, t->cf->h, key, klen, &n, &rerr);
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
    rec->due = rec->base_due = v ? store_dec_i64(v + 1) : STORE_NO_DUE;
    cache_set(t, customer, clen, rec->has_state, rec->due);
    if (raw) {
        *raw = v;
        *rawlen = n;
    } else {
        rocksdb_free(v);
    }
    return 0;
}

int store_rec_stage(store_task_t *t, const char *customer, size_t clen, const void *state,
                    size_t vlen, const store_rec_t *cur, int64_t new_due, char *err, size_t errlen)
{
    bool added;
    stage_ent_t *e = stage_add(t, customer, clen, clen + REC_HEADER + (state ? vlen : 0), &added);
    if (!e) {
        snprintf(err, errlen, "state store %s: out of memory staging customer '%.*s'",
                 t->store->dir, (int)clen, customer);
        return -1;
    }
    if (added)
        e->base_due = cur->base_due;
    e->has_state = state != NULL;
    e->due = new_due;
    e->exists = state || new_due != STORE_NO_DUE;
    char *r = e->buf + clen;
    r[0] = state ? REC_HAS_STATE : 0;
    store_enc_i64(r + 1, new_due);
    if (state && vlen)
        memcpy(r + REC_HEADER, state, vlen);
    e->rec_len = REC_HEADER + (state ? vlen : 0);
    if (new_due < t->timer_floor)
        t->timer_floor = new_due;
    return 0;
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
        store_rec_read(t, customer, clen, &rec, &raw, &n, err, errlen) != 0)
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
        store_rec_read(t, customer, clen, &rec, NULL, NULL, err, errlen) != 0)
        return -1;
    return store_rec_stage(t, customer, clen, val ? val : "", vlen, &rec, next_due, err, errlen);
}

int store_put(store_task_t *t, const char *customer, size_t clen, const void *val, size_t vlen,
              char *err, size_t errlen)
{
    store_rec_t rec;
    if (check_write(t, customer, clen, err, errlen) != 0 ||
        store_rec_read(t, customer, clen, &rec, NULL, NULL, err, errlen) != 0)
        return -1;
    return store_rec_stage(t, customer, clen, val ? val : "", vlen, &rec, rec.due, err, errlen);
}

int store_delete(store_task_t *t, const char *customer, size_t clen, char *err, size_t errlen)
{
    store_rec_t rec;
    if (check_write(t, customer, clen, err, errlen) != 0 ||
        store_rec_read(t, customer, clen, &rec, NULL, NULL, err, errlen) != 0)
        return -1;
    if (rec.found)
        return store_rec_stage(t, customer, clen, NULL, 0, &rec, STORE_NO_DUE, err, errlen);
    return 0;
}

size_t store_task_staged(const store_task_t *t)
{
    return t->stage_n;
}

void store_enc_checkpoint(char *out, const store_checkpoint_t *cp)
{
    store_enc_i64(out, cp->next_input_offset);
    store_enc_i64(out + 8, cp->changelog_offset);
}

int store_write_plain(store_task_t *t, rocksdb_writebatch_t *batch, char *err, size_t errlen)
{
    char *rerr = NULL;
    rocksdb_write(t->store->db, t->store->wopts, batch, &rerr);
    if (rerr) {
        snprintf(err, errlen, "state store %s task %d: write failed: %s", t->store->dir,
                 (int)t->cf->partition, rerr);
        rocksdb_free(rerr);
        return -1;
    }
    rocksdb_writebatch_clear(batch);
    return 0;
}

/* qsort has no context argument: the table being sorted (one thread commits a task at a
 * time: the pipeline's). */
static _Thread_local const stage_ent_t *sort_tab;

static int key_cmp(const void *a, const void *b)
{
    const stage_ent_t *x = &sort_tab[*(const size_t *)a], *y = &sort_tab[*(const size_t *)b];
    int c = memcmp(x->buf, y->buf, x->clen < y->clen ? x->clen : y->clen);
    return c ? c : (x->clen > y->clen) - (x->clen < y->clen);
}

/* The largest commit batch whose buffer is kept for the next commit (bytes). */
#define COMMIT_WB_KEEP_MAX (8u << 20)

/* The stage and @p cp as one RocksDB write: the records in key order (sorted inserts are
 * cheaper for the memtable's skip list), the timer index entries moved, the checkpoint. */
static int write_stage(store_task_t *t, const store_checkpoint_t *cp, char *err, size_t errlen)
{
    rocksdb_column_family_handle_t *cf = t->cf->h;
    if (!t->store->commit_wb)
        t->store->commit_wb = rocksdb_writebatch_create();
    rocksdb_writebatch_t *wb = t->store->commit_wb;
    rocksdb_writebatch_clear(wb); /* keeps its buffer */
    sort_tab = t->stage;
    if (t->stage_n > 1)
        qsort(t->stage_order, t->stage_n, sizeof(*t->stage_order), key_cmp);
    char key[STORE_KEY_MAX];
    size_t klen;
    for (size_t k = 0; k < t->stage_n; k++) {
        const stage_ent_t *e = &t->stage[t->stage_order[k]];
        klen = store_key_customer(key, e->buf, e->clen);
        if (e->exists)
            rocksdb_writebatch_put_cf(wb, cf, key, klen, e->buf + e->clen, e->rec_len);
        else
            rocksdb_writebatch_delete_cf(wb, cf, key, klen);
    }
    for (size_t k = 0; k < t->stage_n; k++) {
        const stage_ent_t *e = &t->stage[t->stage_order[k]];
        if (e->due == e->base_due)
            continue;
        if (e->base_due != STORE_NO_DUE) {
            klen = store_key_timer(key, e->base_due, e->buf, e->clen);
            rocksdb_writebatch_delete_cf(wb, cf, key, klen);
        }
        if (e->due != STORE_NO_DUE) {
            klen = store_key_timer(key, e->due, e->buf, e->clen);
            rocksdb_writebatch_put_cf(wb, cf, key, klen, "", 0);
        }
    }
    char ck = KEY_CHECKPOINT, v[CHECKPOINT_LEN];
    store_enc_checkpoint(v, cp);
    rocksdb_writebatch_put_cf(wb, cf, &ck, 1, v, sizeof(v));
    char *rerr = NULL;
    rocksdb_write(t->store->db, t->store->wopts, wb, &rerr);
    size_t used;
    rocksdb_writebatch_data(wb, &used);
    if (used > COMMIT_WB_KEEP_MAX) { /* an unusually large commit: give its buffer back */
        rocksdb_writebatch_destroy(wb);
        t->store->commit_wb = NULL;
    }
    if (rerr) {
        snprintf(err, errlen, "state store %s task %d: commit failed: %s", t->store->dir,
                 (int)t->cf->partition, rerr);
        rocksdb_free(rerr);
        return -1;
    }
    return 0;
}

int store_drop_stale_timers(store_task_t *t, const int64_t *due, const char *const *customers,
                            const size_t *clens, size_t n, char *err, size_t errlen)
{
    if (n == 0)
        return 0;
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    char key[STORE_KEY_MAX];
    for (size_t i = 0; i < n; i++) {
        size_t klen = store_key_timer(key, due[i], customers[i], clens[i]);
        rocksdb_writebatch_delete_cf(wb, t->cf->h, key, klen);
    }
    char *rerr = NULL;
    rocksdb_write(t->store->db, t->store->wopts, wb, &rerr);
    rocksdb_writebatch_destroy(wb);
    if (rerr) {
        snprintf(err, errlen, "state store %s task %d: removing stale timers failed: %s",
                 t->store->dir, (int)t->cf->partition, rerr);
        rocksdb_free(rerr);
        return -1;
    }
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
    int rc = write_stage(t, &merged, err, errlen);
    if (rc == 0) {
        stage_clear(t);
        store_cache_clear(t); /* the committed data changed */
    }
    return rc; /* on failure the stage stays as the caller left it: a retry writes it again */
}

void store_task_abort(store_task_t *t)
{
    stage_clear(t);
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
    return store_iter_end(t, it, "scan", err, errlen);
}

int store_iter_end(store_task_t *t, rocksdb_iterator_t *it, const char *what, char *err,
                   size_t errlen)
{
    char *rerr = NULL;
    rocksdb_iter_get_error(it, &rerr);
    rocksdb_iter_destroy(it);
    if (!rerr)
        return 0;
    snprintf(err, errlen, "state store %s task %d: %s failed: %s", t->store->dir,
             (int)t->cf->partition, what, rerr);
    rocksdb_free(rerr);
    return -1;
}

static int count_one(void *ctx, const char *k, size_t kl, const char *v, size_t vl)
{
    (void)k, (void)kl, (void)v, (void)vl;
    (*(uint64_t *)ctx)++;
    return 0;
}

/* The entries of a timer run count like index entries. */
static int count_run(void *ctx, const char *k, size_t kl, const char *v, size_t vl)
{
    (void)k, (void)kl;
    size_t pos = 0, clen;
    int64_t due;
    const char *c;
    while (store_run_next(v, vl, &pos, &due, &c, &clen) == 1)
        (*(uint64_t *)ctx)++;
    return 0;
}

struct counts {
    uint64_t customers, timers;
};

static int count_record(void *ctx, const char *k, size_t kl, const char *v, size_t vl)
{
    (void)k, (void)kl;
    struct counts *c = ctx;
    if (vl >= REC_HEADER && (v[0] & REC_HAS_STATE))
        c->customers++;
    if (vl >= REC_HEADER && store_dec_i64(v + 1) != STORE_NO_DUE)
        c->timers++;
    return 0;
}

int store_task_stats(store_task_t *t, store_task_stats_t *st, char *err, size_t errlen)
{
    struct counts c = {0, 0};
    uint64_t entries = 0;
    st->customers = st->timers = st->stale_timer_entries = st->level0_files = 0;
    if (scan_tag(t, KEY_CUSTOMER, count_record, &c, err, errlen) != 0 ||
        scan_tag(t, KEY_TIMER, count_one, &entries, err, errlen) != 0 ||
        scan_tag(t, KEY_TIMER_RUN, count_run, &entries, err, errlen) != 0)
        return -1;
    st->customers = c.customers;
    st->timers = c.timers; /* the records say what is pending; the index may hold more */
    st->stale_timer_entries = entries > c.timers ? entries - c.timers : 0;
    char *l0 = rocksdb_property_value_cf(t->store->db, t->cf->h, "rocksdb.num-files-at-level0");
    st->level0_files = l0 ? strtoull(l0, NULL, 10) : 0;
    rocksdb_free(l0);
    return 0;
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
