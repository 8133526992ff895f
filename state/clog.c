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
 * batch; batches still reach RocksDB strictly in order (one in flight at a time). While
 * a restore ingests table files, the family's automatic compactions are off (bulk_mode).
 * A small batch (the tail of a restart) is an ordinary write batch in key order, written
 * after whatever the writer thread holds.
 */
#include "clog.h"

#include "store_int.h"
#include "tmr.h"

#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One staged write of a batch: key and value live in the batch's arena. */
typedef struct op {
    size_t key_off, val_off;
    uint32_t key_len, val_len;
    bool is_delete;
} op_t;

/* The sort key of one op. Keys of one tag often share a long prefix (ids such as
 * "customer-000123"), so after the tag come the 23 bytes after the prefix all keys of the
 * tag share in the batch (big-endian, zero-padded): most compares end there without
 * touching the arena (a timer key is 8 bytes of due time and the customer id, so 15 bytes
 * were too few: ties went to memcmp for ~9 % of a restore's CPU). Ties on all go to the
 * whole keys, then to the order of arrival (a customer's later record stays later, so it
 * wins). */
typedef struct skey {
    uint64_t k[3]; /* the tag byte and the first 7 bytes after the shared prefix; the next
                      8; the 8 after those */
    uint64_t idx;  /* the op, in order of arrival */
} skey_t;

/* A batch being gathered or written: its writes and the bytes they point into. */
typedef struct buf {
    op_t *ops;
    size_t n_ops, cap_ops;
    skey_t *keys, *tmp; /* sort_buf: keys[i].idx is the i-th op in key order; tmp for merging */
    size_t cap_keys;
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
    bool bulk; /* the family's automatic compactions are off until the restore ends */
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

static uint64_t be_bytes(const char *p, size_t n, size_t want)
{
    uint64_t v = 0;
    for (size_t i = 0; i < want; i++)
        v = (v << 8) | (i < n ? (unsigned char)p[i] : 0u);
    return v;
}

/* Fill keys[0..n_ops) in arrival order: find the prefix each tag's keys share, then take
 * the bytes after it. */
static void set_keys(buf_t *b)
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
        const op_t *o = &b->ops[i];
        const char *k = b->arena + o->key_off;
        unsigned char tag = (unsigned char)k[0];
        size_t skip = lcp[tag] ? lcp[tag] : 1; /* the tag is in k[0] already */
        size_t left = o->key_len > skip ? o->key_len - skip : 0;
        skey_t *sk = &b->keys[i];
        sk->k[0] = (uint64_t)tag << 56 | be_bytes(k + skip, left, 7);
        sk->k[1] = left > 7 ? be_bytes(k + skip + 7, left - 7, 8) : 0;
        sk->k[2] = left > 15 ? be_bytes(k + skip + 15, left - 15, 8) : 0;
        sk->idx = i;
    }
}

static inline int skey_cmp(const buf_t *b, const skey_t *x, const skey_t *y)
{
    for (int i = 0; i < 3; i++)
        if (x->k[i] != y->k[i])
            return x->k[i] < y->k[i] ? -1 : 1;
    const op_t *ox = &b->ops[x->idx], *oy = &b->ops[y->idx];
    uint32_t n = ox->key_len < oy->key_len ? ox->key_len : oy->key_len;
    int c = memcmp(b->arena + ox->key_off, b->arena + oy->key_off, n);
    if (c)
        return c;
    if (ox->key_len != oy->key_len)
        return ox->key_len < oy->key_len ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Put the batch's ops in key order (keys[]): insertion-sorted runs, then bottom-up merges
 * with the compare inlined (qsort's indirect calls and its moves of whole ops were ~15 %
 * of a restore's CPU). @returns 0, -1 = out of memory. */
#define SORT_RUN 16
static int sort_buf(buf_t *b)
{
    size_t n = b->n_ops;
    if (n > b->cap_keys) {
        skey_t *k = realloc(b->keys, b->cap_ops * sizeof(*k));
        skey_t *t = k ? realloc(b->tmp, b->cap_ops * sizeof(*t)) : NULL;
        if (k)
            b->keys = k;
        if (!t)
            return -1;
        b->tmp = t;
        b->cap_keys = b->cap_ops;
    }
    set_keys(b);
    skey_t *src = b->keys, *dst = b->tmp;
    for (size_t lo = 0; lo < n; lo += SORT_RUN) {
        size_t hi = lo + SORT_RUN < n ? lo + SORT_RUN : n;
        for (size_t i = lo + 1; i < hi; i++) {
            skey_t v = src[i];
            size_t j = i;
            for (; j > lo && skey_cmp(b, &v, &src[j - 1]) < 0; j--)
                src[j] = src[j - 1];
            src[j] = v;
        }
    }
    for (size_t w = SORT_RUN; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = skey_cmp(b, &src[j], &src[i]) < 0 ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        skey_t *x = src;
        src = dst;
        dst = x;
    }
    if (src != b->keys)
        memcpy(b->keys, src, n * sizeof(*src));
    return 0;
}

/* The i-th op of a sorted batch. */
static const op_t *sorted_op(const buf_t *b, size_t i)
{
    return &b->ops[b->keys[i].idx];
}

/* A batch this large goes to RocksDB as a table file rather than through the memtable.
 * Measured, not derived: with 4,096, a large restore's last batch (~1,000 records per task
 * in bench_store) went through the memtable, and the next large restore of the same tasks
 * ran at ~150k instead of ~400k records/s (bench_store, "same again"); flushing the
 * memtable before that restore did not help, ingesting the last batch too did. A restart's
 * tail of a few hundred records still takes the memtable. */
#define INGEST_MIN_OPS 1024

/* Whether the i-th and (i+1)-th ops of a sorted batch write the same key: the sort keys
 * decide unless they are equal (reading the keys in the arena, in sorted order, missed
 * the cache on every op). */
static bool same_key(const buf_t *b, size_t i)
{
    const skey_t *x = &b->keys[i], *y = &b->keys[i + 1];
    if (x->k[0] != y->k[0] || x->k[1] != y->k[1] || x->k[2] != y->k[2])
        return false;
    const op_t *ox = &b->ops[x->idx], *oy = &b->ops[y->idx];
    return ox->key_len == oy->key_len &&
           memcmp(b->arena + ox->key_off, b->arena + oy->key_off, ox->key_len) == 0;
}

/* How many ops ahead ingest asks for the key and value it will copy: the arena is read in
 * key order, i.e. at random. */
#define INGEST_PREFETCH 8

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
    rocksdb_sstfilewriter_t *w = rocksdb_sstfilewriter_create(env, s->restore_opts);
    rocksdb_sstfilewriter_open(w, path, &rerr);
    for (size_t i = 0; !rerr && i < b->n_ops; i++) {
        if (i + INGEST_PREFETCH < b->n_ops) {
            const op_t *ahead = sorted_op(b, i + INGEST_PREFETCH);
            __builtin_prefetch(b->arena + ahead->key_off);
            __builtin_prefetch(b->arena + ahead->val_off + ahead->val_len - 1);
        }
        if (i + 1 < b->n_ops && same_key(b, i))
            continue; /* a later write of the same key follows */
        const op_t *o = sorted_op(b, i);
        if (o->is_delete)
            rocksdb_sstfilewriter_delete(w, b->arena + o->key_off, o->key_len, &rerr);
        else
            rocksdb_sstfilewriter_put(w, b->arena + o->key_off, o->key_len, b->arena + o->val_off,
                                      o->val_len, &rerr);
    }
    if (!rerr)
        rocksdb_sstfilewriter_finish(w, &rerr);
    rocksdb_sstfilewriter_destroy(w);
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

/* Bulk loading: while a large restore ingests its table files, the family's automatic
 * compactions are off. Every file of a restore spans the whole key range of the task (the
 * changelog is in arrival order), so each lands in level 0 and each level-0 compaction
 * would rewrite everything restored so far: quadratic in the restore's size, and ~25 % of
 * the restoring process's CPU in bench_pipeline. With them off, one compaction merges all
 * files after the restore, in the background, while the task already processes. The
 * level-0 triggers go up too, or the ingest would stall on the files it adds. The
 * options are changed in memory only: a store opened after a crash has its usual
 * options, and compacts what the killed restore left. */
static int bulk_mode(clog_restore_t *r, bool on, char *err, size_t errlen)
{
    const store_t *s = r->t->store;
    char trig[24], slow[24], stop[24];
    snprintf(trig, sizeof(trig), "%d",
             on ? 1 << 30 : rocksdb_options_get_level0_file_num_compaction_trigger(s->opts));
    snprintf(slow, sizeof(slow), "%d",
             on ? 1 << 30 : rocksdb_options_get_level0_slowdown_writes_trigger(s->opts));
    snprintf(stop, sizeof(stop), "%d",
             on ? 1 << 30 : rocksdb_options_get_level0_stop_writes_trigger(s->opts));
    const char *keys[] = {"disable_auto_compactions", "level0_file_num_compaction_trigger",
                          "level0_slowdown_writes_trigger", "level0_stop_writes_trigger"};
    const char *vals[] = {on ? "true" : "false", trig, slow, stop};
    char *rerr = NULL;
    rocksdb_set_options_cf(s->db, r->cf, 4, keys, vals, &rerr);
    if (rerr) {
        snprintf(err, errlen, "state store %s task %d: %s bulk loading: %s", s->dir,
                 (int)r->partition, on ? "starting" : "ending", rerr);
        rocksdb_free(rerr);
        return -1;
    }
    r->bulk = on;
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
        int rc = r->job_rc != 0           ? -1
                 : sort_buf(&r->job) != 0 ? -2
                                          : ingest(r, &r->job, e, sizeof(e));
        if (rc == -2)
            snprintf(e, sizeof(e), "state store %s task %d: out of memory sorting a restore batch",
                     r->t->store->dir, (int)r->partition);
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
    if (!r->bulk && bulk_mode(r, true, err, errlen) != 0)
        return -1;
    if (!r->writer_started && pthread_create(&r->writer, NULL, writer_main, r) == 0)
        r->writer_started = true;
    if (!r->writer_started) {
        if (sort_buf(&r->cur) != 0) {
            snprintf(err, errlen, "state store %s: out of memory sorting a restore batch",
                     r->t->store->dir);
            return -1;
        }
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
        if (sort_buf(b) != 0) {
            snprintf(err, errlen, "state store %s: out of memory sorting a restore batch",
                     r->t->store->dir);
            return -1;
        }
        for (size_t i = 0; i < b->n_ops; i++) {
            const op_t *o = sorted_op(b, i);
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
    /* ~ two keys and their two ops (the arena, the op array and the sort keys) */
    r->batch_bytes +=
        2 * (REC_HEADER + rec->customer_len + sizeof(op_t) + 2 * sizeof(skey_t)) + rec->state_len;
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
    if (r->bulk && bulk_mode(r, false, err, errlen) != 0)
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
    /* A restore that did not finish (revoked, failed) still turns compactions back on. It
     * can only fail on option values RocksDB refuses, which these are not; if it ever did,
     * compactions would stay off until the store reopens. */
    char err[512];
    if (r->bulk)
        (void)bulk_mode(r, false, err, sizeof(err));
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    rocksdb_writebatch_destroy(r->batch);
    buf_t *bufs[2] = {&r->cur, &r->job};
    for (int i = 0; i < 2; i++) {
        free(bufs[i]->ops);
        free(bufs[i]->keys);
        free(bufs[i]->tmp);
        free(bufs[i]->arena);
    }
    /* The batches (up to a quarter of the memory budget over all restoring tasks) were
     * freed into the malloc arenas of the pipeline and writer threads, which keep them:
     * give them back to the system (bench_store: VmHWM of the phases after a restore). */
    malloc_trim(0);
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
