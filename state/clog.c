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
 * Batches are written with a checkpoint like a commit, so a crash mid-restore leaves a
 * prefix of whole batches and the restore resumes where the prefix ends. A large batch is
 * sorted and written as a table file that RocksDB ingests (atomic and durable, no
 * memtable) by a writer thread of the restore, while the pipeline thread gathers the next
 * batch; batches still reach RocksDB strictly in order (one in flight at a time). A small
 * batch (the tail of a restart) is an ordinary write batch in key order, written after
 * whatever the writer thread holds.
 */
#include "clog.h"

#include "store_int.h"
#include "tmr.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One staged write of a batch: key and value live in the batch's arena. */
typedef struct op {
    uint64_t pre[2]; /* 16 key bytes after what all keys of its tag share (big-endian,
                        zero-padded): most compares end here; set by set_prefixes */
    size_t key_off, val_off;
    uint32_t key_len, val_len;
    uint32_t seq; /* order of arrival: ties between equal keys keep it */
    bool is_delete;
} op_t;

/* A batch being gathered or written: its writes and the bytes they point into. */
typedef struct buf {
    op_t *ops;
    size_t n_ops, cap_ops;
    char *arena; /* keys and values of ops */
    size_t arena_len, arena_cap;
} buf_t;

struct clog_restore {
    store_task_t *t;
    /* The task's column family, copied at start: the writer thread must not follow t->cf,
     * which the pipeline thread rewrites when the store's family table changes (a task
     * opened or dropped meanwhile). An open task's handle itself stays valid. */
    rocksdb_column_family_handle_t *cf;
    int32_t partition;
    rocksdb_writebatch_t *batch;
    size_t batch_records, batch_bytes, batch_bytes_max;
    buf_t cur;                 /* the batch being gathered (pipeline thread) */
    int64_t next_input_offset; /* kept from the checkpoint found at start */
    int64_t start_offset;      /* the checkpoint's changelog offset at start */
    int64_t last_offset;       /* offset of the last record added, -1 = none */
    uint64_t count, in_batch;
    /* The writer thread: sorts and ingests one large batch (job) while the pipeline
     * thread gathers the next; batches are written strictly in order. */
    pthread_t writer;
    bool writer_started, stop, job_pending;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    buf_t job;
    int job_rc; /* sticky: once a batch failed, the restore has failed */
    char job_err[512];
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
    store_cache_clear(t); /* the restore writes past the task's stage */
    if (!r) {
        snprintf(err, errlen, "state store %s: out of memory", t->store->dir);
        return NULL;
    }
    r->t = t;
    r->cf = t->cf->h;
    r->partition = t->cf->partition;
    r->batch = rocksdb_writebatch_create();
    r->batch_records = batch_records ? batch_records : CLOG_DEFAULT_BATCH_RECORDS;
    r->next_input_offset = cp.next_input_offset;
    r->start_offset = cp.changelog_offset;
    r->last_offset = -1;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    return r;
}

/* qsort has no context argument: the arena of the batch being sorted, per thread. */
static _Thread_local const char *sort_arena;

static uint64_t be64(const char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < 8; i++)
        v = (v << 8) | (i < n ? (unsigned char)p[i] : 0u);
    return v;
}

/* Keys of one tag often share a long prefix (ids such as "customer-000123"): compare
 * the 16 bytes after the prefix all keys of the tag share in this batch, then the rest. */
static void set_prefixes(buf_t *b)
{
    size_t lcp[256], first[256];
    bool seen[256] = {false};
    for (size_t i = 0; i < b->n_ops; i++) {
        const op_t *o = &b->ops[i];
        const char *k = b->arena + o->key_off;
        unsigned char tag = (unsigned char)k[0];
        if (!seen[tag]) {
            seen[tag] = true;
            first[tag] = i;
            lcp[tag] = o->key_len;
            continue;
        }
        const char *f = b->arena + b->ops[first[tag]].key_off;
        size_t n = lcp[tag] < o->key_len ? lcp[tag] : o->key_len, j = 0;
        while (j < n && f[j] == k[j])
            j++;
        lcp[tag] = j;
    }
    for (size_t i = 0; i < b->n_ops; i++) {
        op_t *o = &b->ops[i];
        const char *k = b->arena + o->key_off;
        size_t skip = lcp[(unsigned char)k[0]];
        o->pre[0] = o->key_len > skip ? be64(k + skip, o->key_len - skip) : 0;
        o->pre[1] = o->key_len > skip + 8 ? be64(k + skip + 8, o->key_len - skip - 8) : 0;
    }
}

static int op_cmp(const void *a, const void *b)
{
    const op_t *x = a, *y = b;
    char tx = sort_arena[x->key_off], ty = sort_arena[y->key_off];
    if (tx != ty)
        return (unsigned char)tx < (unsigned char)ty ? -1 : 1;
    /* Same tag, so the same shared prefix: these bytes decide unless they are equal too. */
    if (x->pre[0] != y->pre[0])
        return x->pre[0] < y->pre[0] ? -1 : 1;
    if (x->pre[1] != y->pre[1])
        return x->pre[1] < y->pre[1] ? -1 : 1;
    uint32_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(sort_arena + x->key_off, sort_arena + y->key_off, n);
    if (c)
        return c;
    if (x->key_len != y->key_len)
        return x->key_len < y->key_len ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static void sort_buf(buf_t *b)
{
    sort_arena = b->arena;
    set_prefixes(b);
    if (b->n_ops > 1)
        qsort(b->ops, b->n_ops, sizeof(*b->ops), op_cmp);
}

/* A batch this large goes to RocksDB as a table file rather than through the memtable. */
#define INGEST_MIN_OPS 4096

static bool same_key(const buf_t *b, const op_t *x, const op_t *y)
{
    return x->key_len == y->key_len &&
           memcmp(b->arena + x->key_off, b->arena + y->key_off, x->key_len) == 0;
}

/* The sorted batch as one table file, ingested: atomic and durable in one step. Keys must
 * be unique and ascending: of equal keys the last (sorted by arrival) is kept. The writer
 * thread calls it: it reads only what does not change while the store is open (the
 * database, its options and directory) and the restore's own copy of the family. */
static int ingest(const clog_restore_t *r, const buf_t *b, char *err, size_t errlen)
{
    const store_t *s = r->t->store;
    char path[4096], *rerr = NULL;
    snprintf(path, sizeof(path), "%s/restore-task-%d.sst", s->dir, (int)r->partition);
    unlink(path); /* left by a restore that was killed before its ingest */
    rocksdb_envoptions_t *env = rocksdb_envoptions_create();
    /* LZ4 rather than the bottommost level's zstd, whatever level the file lands on:
     * compressing at restore speed; compactions rewrite it later in the background. */
    rocksdb_options_t *wo = rocksdb_options_create_copy(s->opts);
    rocksdb_options_set_bottommost_compression(wo, rocksdb_lz4_compression);
    rocksdb_sstfilewriter_t *w = rocksdb_sstfilewriter_create(env, wo);
    rocksdb_sstfilewriter_open(w, path, &rerr);
    for (size_t i = 0; !rerr && i < b->n_ops; i++) {
        const op_t *o = &b->ops[i];
        if (i + 1 < b->n_ops && same_key(b, o, &b->ops[i + 1]))
            continue; /* a later write of the same key follows */
        if (o->is_delete)
            rocksdb_sstfilewriter_delete(w, b->arena + o->key_off, o->key_len, &rerr);
        else
            rocksdb_sstfilewriter_put(w, b->arena + o->key_off, o->key_len, b->arena + o->val_off,
                                      o->val_len, &rerr);
    }
    if (!rerr)
        rocksdb_sstfilewriter_finish(w, &rerr);
    rocksdb_sstfilewriter_destroy(w);
    rocksdb_options_destroy(wo);
    rocksdb_envoptions_destroy(env);
    if (!rerr) {
        rocksdb_ingestexternalfileoptions_t *io = rocksdb_ingestexternalfileoptions_create();
        rocksdb_ingestexternalfileoptions_set_move_files(io, 1);
        const char *files[1] = {path};
        rocksdb_ingest_external_file_cf(s->db, r->cf, files, 1, io, &rerr);
        rocksdb_ingestexternalfileoptions_destroy(io);
    }
    if (rerr) {
        snprintf(err, errlen, "state store %s task %d: restore batch to %s failed: %s", s->dir,
                 (int)r->partition, path, rerr);
        rocksdb_free(rerr);
        unlink(path);
        return -1;
    }
    return 0;
}

static void *writer_main(void *arg)
{
    clog_restore_t *r = arg;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (!r->job_pending && !r->stop)
            pthread_cond_wait(&r->cv, &r->mu);
        if (!r->job_pending)
            break; /* stopped, nothing left */
        pthread_mutex_unlock(&r->mu);
        char e[512] = "";
        sort_buf(&r->job);
        int rc = r->job_rc == 0 ? ingest(r, &r->job, e, sizeof(e)) : -1;
        pthread_mutex_lock(&r->mu);
        if (rc != 0 && r->job_rc == 0) {
            r->job_rc = -1;
            snprintf(r->job_err, sizeof(r->job_err), "%s", e);
        }
        r->job_pending = false;
        pthread_cond_broadcast(&r->cv);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* Wait until the writer thread is idle. @returns its verdict on the batches so far. */
static int wait_writer(clog_restore_t *r, char *err, size_t errlen)
{
    if (!r->writer_started)
        return 0;
    pthread_mutex_lock(&r->mu);
    while (r->job_pending)
        pthread_cond_wait(&r->cv, &r->mu);
    int rc = r->job_rc;
    if (rc != 0)
        snprintf(err, errlen, "%s", r->job_err);
    pthread_mutex_unlock(&r->mu);
    return rc;
}

/* Hand the gathered batch to the writer thread (after the previous one is written) and
 * go on with its old buffers; without a thread, write it here. */
static int hand_off(clog_restore_t *r, char *err, size_t errlen)
{
    if (!r->writer_started && pthread_create(&r->writer, NULL, writer_main, r) == 0)
        r->writer_started = true;
    if (!r->writer_started) {
        sort_buf(&r->cur);
        return ingest(r, &r->cur, err, errlen);
    }
    if (wait_writer(r, err, errlen) != 0)
        return -1;
    pthread_mutex_lock(&r->mu);
    buf_t filled = r->cur;
    r->cur = r->job;
    r->job = filled;
    r->job_pending = true;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return 0;
}

/* Reserve room in @p b for one more op with @p need arena bytes. @returns 0, -1 = OOM. */
static int reserve(buf_t *b, size_t need)
{
    if (b->n_ops == b->cap_ops) {
        size_t cap = b->cap_ops ? b->cap_ops * 2 : 1024;
        op_t *o = realloc(b->ops, cap * sizeof(*o));
        if (!o)
            return -1;
        b->ops = o;
        b->cap_ops = cap;
    }
    if (b->arena_len + need > b->arena_cap) {
        size_t cap = b->arena_cap ? b->arena_cap : 64 * 1024;
        while (cap < b->arena_len + need)
            cap *= 2;
        char *a = realloc(b->arena, cap);
        if (!a)
            return -1;
        b->arena = a;
        b->arena_cap = cap;
    }
    return 0;
}

/* Stage one write: key, then (unless a delete) the header and state of a record, or
 * nothing for a timer entry. */
static int add_op(clog_restore_t *r, const char *key, size_t klen, const clog_record_t *rec,
                  bool is_delete, bool is_record, char *err, size_t errlen)
{
    buf_t *b = &r->cur;
    size_t vlen = is_record ? REC_HEADER + rec->state_len : 0;
    if (reserve(b, klen + vlen) != 0) {
        snprintf(err, errlen, "state store %s: out of memory for a restore batch",
                 r->t->store->dir);
        return -1;
    }
    op_t *o = &b->ops[b->n_ops];
    o->key_off = b->arena_len;
    o->key_len = (uint32_t)klen;
    o->seq = (uint32_t)b->n_ops;
    o->is_delete = is_delete;
    memcpy(b->arena + b->arena_len, key, klen);
    b->arena_len += klen;
    o->val_off = b->arena_len;
    o->val_len = (uint32_t)vlen;
    if (is_record) {
        char *v = b->arena + b->arena_len;
        v[0] = REC_HAS_STATE;
        store_enc_i64(v + 1, rec->next_due_ms);
        memcpy(v + REC_HEADER, rec->state, rec->state_len);
        b->arena_len += vlen;
    }
    b->n_ops++;
    return 0;
}

static int flush(clog_restore_t *r, int64_t changelog_offset, char *err, size_t errlen)
{
    rocksdb_column_family_handle_t *cf = r->cf;
    buf_t *b = &r->cur;
    store_checkpoint_t cp = {.next_input_offset = r->next_input_offset,
                             .changelog_offset = changelog_offset};
    char key = KEY_CHECKPOINT, v[CHECKPOINT_LEN];
    store_enc_checkpoint(v, &cp);
    if (b->n_ops >= INGEST_MIN_OPS) {
        /* The checkpoint joins the sorted batch (its key sorts among the others). */
        clog_record_t none = {0};
        if (add_op(r, &key, 1, &none, false, false, err, errlen) != 0)
            return -1;
        if (reserve(b, CHECKPOINT_LEN) != 0) {
            snprintf(err, errlen, "state store %s: out of memory", r->t->store->dir);
            return -1;
        }
        op_t *o = &b->ops[b->n_ops - 1];
        o->val_off = b->arena_len;
        o->val_len = CHECKPOINT_LEN;
        memcpy(b->arena + b->arena_len, v, CHECKPOINT_LEN);
        b->arena_len += CHECKPOINT_LEN;
        if (hand_off(r, err, errlen) != 0)
            return -1;
    } else {
        /* In order after the batches before it, which the writer thread may still hold. */
        if (wait_writer(r, err, errlen) != 0)
            return -1;
        sort_buf(b);
        for (size_t i = 0; i < b->n_ops; i++) {
            const op_t *o = &b->ops[i];
            if (o->is_delete)
                rocksdb_writebatch_delete_cf(r->batch, cf, b->arena + o->key_off, o->key_len);
            else
                rocksdb_writebatch_put_cf(r->batch, cf, b->arena + o->key_off, o->key_len,
                                          b->arena + o->val_off, o->val_len);
        }
        rocksdb_writebatch_put_cf(r->batch, cf, &key, 1, v, sizeof(v));
        if (store_write_plain(r->t, r->batch, err, errlen) != 0)
            return -1;
    }
    r->cur.n_ops = r->cur.arena_len = 0;
    r->in_batch = r->batch_bytes = 0;
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
    if (r->batch_bytes_max == 0) {
        /* Two batches per restore (one gathered, one written) for every open task: about
         * a quarter of the memory budget together, so restoring many tasks at once stays
         * within it (bench_store: 12 tasks at 16 MiB each peaked at 477 MiB). Counted at
         * the first record, when the whole assignment is open. */
        size_t open = store_open_tasks(t->store);
        size_t limit = t->store->cfg.memory_budget_bytes / 8 / (open ? open : 1);
        r->batch_bytes_max = limit < CLOG_BATCH_MIN_BYTES ? CLOG_BATCH_MIN_BYTES
                             : limit > CLOG_BATCH_BYTES   ? CLOG_BATCH_BYTES
                                                          : limit;
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
    /* ~ two keys and their two ops (the arena and the op array of the batch) */
    r->batch_bytes += 2 * (REC_HEADER + rec->customer_len + sizeof(op_t)) + rec->state_len;
    if (r->in_batch >= r->batch_records || r->batch_bytes >= r->batch_bytes_max)
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
    if (flush(r, end_offset, err, errlen) != 0 || wait_writer(r, err, errlen) != 0)
        return -1;
    store_cache_clear(r->t); /* it may describe a record the restore replaced */
    return 0;
}

uint64_t clog_restore_count(const clog_restore_t *r)
{
    return r->count;
}

void clog_restore_destroy(clog_restore_t *r)
{
    if (!r)
        return;
    if (r->writer_started) { /* it finishes a batch it holds: a whole batch is harmless */
        pthread_mutex_lock(&r->mu);
        r->stop = true;
        pthread_cond_signal(&r->cv);
        pthread_mutex_unlock(&r->mu);
        pthread_join(r->writer, NULL);
    }
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    rocksdb_writebatch_destroy(r->batch);
    free(r->cur.ops);
    free(r->cur.arena);
    free(r->job.ops);
    free(r->job.arena);
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
