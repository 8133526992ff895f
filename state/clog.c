/*
 * clog: restore apply (see clog.h) and the framing of changelog values.
 *
 * The one idea: a restore only writes. Each record becomes a blind put of the customer's
 * record (state and due time) and, when it has a timer, of its timer index entry; nothing
 * is read. The entry of the customer's previous due time (from an older record in the
 * changelog, or in the store before the restore) stays behind as a stale entry, which
 * tmr_due recognises (the record says another time) and removes when it comes due. That
 * keeps the restore at the speed of RocksDB's writes rather than of one lookup per record
 * (bench_store and bench_pipeline: several times faster). A batch is handed to RocksDB in
 * key order (stable: a customer's later record stays later, so it still wins): inserting
 * sorted keys into the memtable's skip list reuses the previous insert's position, which
 * random keys cannot (the memtable insert was ~70% of a restore's CPU).
 *
 * Batches are written without the WAL, each with a checkpoint like a commit: after a
 * crash mid-restore RocksDB holds a prefix of the batches (whatever reached a flushed
 * memtable), checkpoint included, so the restore resumes where the prefix ends. Before
 * the task processes anything (whose commits go through the WAL and depend on the
 * restored state), clog_restore_finish flushes the task's memtable, which makes the whole
 * restore durable.
 */
#include "clog.h"

#include "store_int.h"
#include "tmr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One staged write of a batch: key and value live in the batch's arena. */
typedef struct op {
    size_t key_off, val_off;
    uint32_t key_len, val_len;
    uint32_t seq; /* order of arrival: ties between equal keys keep it */
    bool is_delete;
} op_t;

struct clog_restore {
    store_task_t *t;
    rocksdb_writebatch_t *batch;
    size_t batch_records, batch_bytes;
    op_t *ops; /* the batch being gathered */
    size_t n_ops, cap_ops;
    char *arena; /* keys and values of ops */
    size_t arena_len, arena_cap;
    int64_t next_input_offset; /* kept from the checkpoint found at start */
    int64_t start_offset;      /* the checkpoint's changelog offset at start */
    int64_t last_offset;       /* offset of the last record added, -1 = none */
    uint64_t count, in_batch;
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
    r->batch = rocksdb_writebatch_create();
    r->batch_records = batch_records ? batch_records : CLOG_DEFAULT_BATCH_RECORDS;
    r->next_input_offset = cp.next_input_offset;
    r->start_offset = cp.changelog_offset;
    r->last_offset = -1;
    return r;
}

/* qsort has no context argument: the arena of the batch being sorted (one thread sorts
 * at a time: the pipeline's). */
static _Thread_local const char *sort_arena;

static int op_cmp(const void *a, const void *b)
{
    const op_t *x = a, *y = b;
    uint32_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(sort_arena + x->key_off, sort_arena + y->key_off, n);
    if (c)
        return c;
    if (x->key_len != y->key_len)
        return x->key_len < y->key_len ? -1 : 1;
    return x->seq < y->seq ? -1 : 1;
}

static int flush(clog_restore_t *r, int64_t changelog_offset, char *err, size_t errlen)
{
    rocksdb_column_family_handle_t *cf = r->t->cf->h;
    sort_arena = r->arena;
    if (r->n_ops > 1)
        qsort(r->ops, r->n_ops, sizeof(*r->ops), op_cmp);
    for (size_t i = 0; i < r->n_ops; i++) {
        const op_t *o = &r->ops[i];
        if (o->is_delete)
            rocksdb_writebatch_delete_cf(r->batch, cf, r->arena + o->key_off, o->key_len);
        else
            rocksdb_writebatch_put_cf(r->batch, cf, r->arena + o->key_off, o->key_len,
                                      r->arena + o->val_off, o->val_len);
    }
    store_checkpoint_t cp = {.next_input_offset = r->next_input_offset,
                             .changelog_offset = changelog_offset};
    char key = KEY_CHECKPOINT, v[CHECKPOINT_LEN];
    store_enc_checkpoint(v, &cp);
    rocksdb_writebatch_put_cf(r->batch, cf, &key, 1, v, sizeof(v));
    if (store_write_plain(r->t, r->batch, true, err, errlen) != 0)
        return -1;
    r->n_ops = r->arena_len = 0;
    r->in_batch = r->batch_bytes = 0;
    return 0;
}

/* Reserve room for one more op with @p need arena bytes. */
static int reserve(clog_restore_t *r, size_t need, char *err, size_t errlen)
{
    if (r->n_ops == r->cap_ops) {
        size_t cap = r->cap_ops ? r->cap_ops * 2 : 1024;
        op_t *o = realloc(r->ops, cap * sizeof(*o));
        if (!o)
            goto oom;
        r->ops = o;
        r->cap_ops = cap;
    }
    if (r->arena_len + need > r->arena_cap) {
        size_t cap = r->arena_cap ? r->arena_cap : 64 * 1024;
        while (cap < r->arena_len + need)
            cap *= 2;
        char *a = realloc(r->arena, cap);
        if (!a)
            goto oom;
        r->arena = a;
        r->arena_cap = cap;
    }
    return 0;
oom:
    snprintf(err, errlen, "state store %s: out of memory for a restore batch", r->t->store->dir);
    return -1;
}

/* Stage one write: key, then (unless a delete) the header and state of a record, or
 * nothing for a timer entry. */
static int add_op(clog_restore_t *r, const char *key, size_t klen, const clog_record_t *rec,
                  bool is_delete, bool is_record, char *err, size_t errlen)
{
    size_t vlen = is_record ? REC_HEADER + rec->state_len : 0;
    if (reserve(r, klen + vlen, err, errlen) != 0)
        return -1;
    op_t *o = &r->ops[r->n_ops];
    o->key_off = r->arena_len;
    o->key_len = (uint32_t)klen;
    o->seq = (uint32_t)r->n_ops;
    o->is_delete = is_delete;
    memcpy(r->arena + r->arena_len, key, klen);
    r->arena_len += klen;
    o->val_off = r->arena_len;
    o->val_len = (uint32_t)vlen;
    if (is_record) {
        char *v = r->arena + r->arena_len;
        v[0] = REC_HAS_STATE;
        store_enc_i64(v + 1, rec->next_due_ms);
        memcpy(v + REC_HEADER, rec->state, rec->state_len);
        r->arena_len += vlen;
    }
    r->n_ops++;
    return 0;
}

int clog_restore_add(clog_restore_t *r, const clog_record_t *rec, char *err, size_t errlen)
{
    store_task_t *t = r->t;
    if (store_check_customer(rec->customer, rec->customer_len, err, errlen) != 0)
        return -1;
    if (rec->state && rec->state_len > UINT32_MAX - REC_HEADER) {
        snprintf(err, errlen, "state store %s: state of customer '%.*s' too large", t->store->dir,
                 (int)rec->customer_len, rec->customer);
        return -1;
    }
    char key[STORE_KEY_MAX];
    size_t klen = store_key_customer(key, rec->customer, rec->customer_len);
    /* A tombstone removes the customer (its timer entry goes stale). */
    if (add_op(r, key, klen, rec, !rec->state, rec->state != NULL, err, errlen) != 0)
        return -1;
    if (rec->state && rec->next_due_ms != STORE_NO_DUE) {
        klen = store_key_timer(key, rec->next_due_ms, rec->customer, rec->customer_len);
        if (add_op(r, key, klen, rec, false, false, err, errlen) != 0)
            return -1;
        if (rec->next_due_ms < t->timer_floor)
            t->timer_floor = rec->next_due_ms;
    }
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
    if (r->count == 0 && end_offset == r->start_offset)
        return 0; /* nothing new: the checkpoint already says so */
    if (flush(r, end_offset, err, errlen) != 0)
        return -1;
    store_cache_clear(r->t); /* it may describe a record the restore replaced */
    return store_flush_task(r->t, err, errlen);
}

uint64_t clog_restore_count(const clog_restore_t *r)
{
    return r->count;
}

void clog_restore_destroy(clog_restore_t *r)
{
    if (!r)
        return;
    rocksdb_writebatch_destroy(r->batch);
    free(r->ops);
    free(r->arena);
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
