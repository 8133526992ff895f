/*
 * clog: restore apply (see clog.h) and the framing of changelog values.
 *
 * The one idea: a restore only writes. Each record becomes a blind put of the customer's
 * record (state and due time); nothing is read. Its timer goes into a timer run of the
 * batch (one key per day of due times, store_int.h), which tmr_due turns into index
 * entries when the run's first timer comes due: a key per customer instead of two
 * (RocksDB's per-key cost in the table files and the sort is a large part of the
 * restore's writing). The entry of the customer's previous due time (from an older record
 * in the changelog, or in the store before the restore) stays behind as a stale entry,
 * which tmr_due recognises (the record says another time) and removes when it comes
 * due. That keeps the restore at the speed of RocksDB's writes rather than of one lookup
 * per record (several times faster in bench_store and bench_pipeline). A batch is handed
 * to RocksDB in key order (stable: a customer's later record stays later, so it still
 * wins): inserting sorted keys into the memtable's skip list reuses the previous insert's
 * position, which random keys cannot (the memtable insert of random keys would dominate
 * a restore's CPU).
 *
 * Batches are written with a checkpoint like a commit, so a crash mid-restore leaves a
 * prefix of whole batches and the restore resumes where the prefix ends. A large batch is
 * sorted and written as a table file that RocksDB ingests (atomic and durable, no
 * memtable) by a writer thread of the restore, while the pipeline thread gathers the next
 * batch; batches still reach RocksDB strictly in order (one in flight at a time). While
 * a restore ingests table files, the family's automatic compactions are off until the
 * store's last restore ends (bulk_begin, bulk_end).
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
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* jemalloc's control interface when the program links jemalloc (see CMakeLists.txt,
 * ls_link_allocator); weak, so NULL with glibc's malloc. "arena.<all>" is 4096
 * (MALLCTL_ARENAS_ALL). */
extern int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
    __attribute__((weak));
#define JEMALLOC_ARENAS_ALL "4096"

/* One staged write of a batch: key and value live in the batch's arena. */
typedef struct op {
    size_t key_off, val_off;
    uint32_t key_len, val_len;
    bool is_delete;
} op_t;

/* The sort key of one op. Keys of one tag often share a long prefix (ids such as
 * "customer-000123"), so after the tag come the 23 bytes after the prefix all keys of the
 * tag share in the batch (big-endian, zero-padded): most compares end there without
 * touching the arena (a timer run's key is 20 bytes after its tag; with fewer bytes,
 * more ties go to memcmp, a noticeable part of a restore's CPU). Ties on all go to the
 * whole keys, then to the order of arrival (a customer's later record stays later, so it
 * wins). */
typedef struct skey {
    uint64_t k[3]; /* the tag byte and the first 7 bytes after the shared prefix; the next
                      8; the 8 after those */
    uint64_t idx;  /* the op, in order of arrival */
} skey_t;

/* A timer of the batch: its due time and the op of the customer's record, whose key
 * after the tag is the customer id. */
typedef struct tent {
    int64_t due;
    size_t op;
} tent_t;

/* A batch being gathered or written: its writes and the bytes they point into. */
typedef struct buf {
    op_t *ops;
    size_t n_ops, cap_ops;
    tent_t *tents; /* the timers of the batch's records, until add_runs writes them */
    size_t n_tents, cap_tents;
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
    char run_id[8];            /* of this restore: with a counter, it names its runs */
    uint32_t runs;
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
    /* Run keys must not collide with those of an earlier restore of the task whose runs
     * are not expanded yet (the same due day): random bytes, else the clock. */
    if (getrandom(r->run_id, sizeof(r->run_id), GRND_NONBLOCK) != (ssize_t)sizeof(r->run_id)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        store_enc_i64(r->run_id, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
    }
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    return r;
}

/* Grow a batch buffer from @p old to @p n bytes, keeping its contents. A large one is
 * made of huge pages: each buffer's pages are new the first time a batch fills it, and a
 * fault per 4 KiB page is a noticeable part of a restore's CPU (a fault is dear under
 * virtualisation). @returns the buffer, NULL when out of memory (the old one is kept). */
#define HUGE_PAGE (2u << 20)
static void *grow(void *p, size_t old, size_t n)
{
    if (n < HUGE_PAGE)
        return realloc(p, n);
    size_t size = (n + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    void *q = NULL;
    if (posix_memalign(&q, HUGE_PAGE, size) != 0)
        return NULL;
    (void)madvise(q, size, MADV_HUGEPAGE); /* a hint: without it, small pages */
    if (p) {
        memcpy(q, p, old < n ? old : n);
        free(p);
    }
    return q;
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

/* Merge sort of src[0..n) by skey_cmp: insertion-sorted runs, then bottom-up merges with
 * the compare inlined (qsort's indirect calls and its moves of whole ops cost more of a
 * restore's CPU). @p dst has room for n. @returns where the sorted keys are (src or dst). */
#define SORT_RUN 16
static skey_t *merge_sort(const buf_t *b, skey_t *src, skey_t *dst, size_t n)
{
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
    return src;
}

/* Put the batch's ops in key order (keys[]): a stable radix sort on the first 8 bytes of
 * the sort keys (tag and the 7 bytes after the shared prefix: a byte that is the same in
 * every key takes no pass), then the keys that tie on those bytes by the full compare.
 * On a changelog in arrival order, i.e. keys at random, the merge sort alone spends a
 * noticeable part of a restore's CPU in its compares' branches. @returns 0, -1 = out of
 * memory. */
static int sort_buf(buf_t *b)
{
    size_t n = b->n_ops;
    if (n == 0)
        return 0;
    if (n > b->cap_keys) {
        skey_t *k = grow(b->keys, b->cap_keys * sizeof(*k), b->cap_ops * sizeof(*k));
        skey_t *t = k ? grow(b->tmp, b->cap_keys * sizeof(*t), b->cap_ops * sizeof(*t)) : NULL;
        if (k)
            b->keys = k;
        if (!t)
            return -1;
        b->tmp = t;
        b->cap_keys = b->cap_ops;
    }
    set_keys(b);
    skey_t *src = b->keys, *dst = b->tmp;
    for (int shift = 0; shift < 64; shift += 8) {
        size_t count[257] = {0};
        for (size_t i = 0; i < n; i++)
            count[((src[i].k[0] >> shift) & 0xff) + 1]++;
        if (count[((src[0].k[0] >> shift) & 0xff) + 1] == n)
            continue; /* one value: the order stands */
        for (int d = 1; d <= 256; d++)
            count[d] += count[d - 1];
        for (size_t i = 0; i < n; i++)
            dst[count[(src[i].k[0] >> shift) & 0xff]++] = src[i];
        skey_t *x = src;
        src = dst;
        dst = x;
    }
    for (size_t lo = 0, hi; lo < n; lo = hi) { /* ties on k[0]: arrival order so far */
        for (hi = lo + 1; hi < n && src[hi].k[0] == src[lo].k[0];)
            hi++;
        if (hi - lo > 1) {
            skey_t *sorted = merge_sort(b, src + lo, dst + lo, hi - lo);
            if (sorted != src + lo)
                memcpy(src + lo, sorted, (hi - lo) * sizeof(*src));
        }
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
 * in bench_store) goes through the memtable, and the next large restore of the same tasks
 * runs far slower (bench_store's "same again"); flushing the memtable before that restore
 * does not help, ingesting the last batch too does. A restart's tail of a few hundred
 * records still takes the memtable. */
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
 * key order, i.e. at random. The op itself is asked for twice as far ahead: reading it
 * to find the bytes misses the cache otherwise (most of ingest's own time with a
 * scattered changelog). */
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
        if (i + 2 * INGEST_PREFETCH < b->n_ops) /* the op first, its bytes later */
            __builtin_prefetch(sorted_op(b, i + 2 * INGEST_PREFETCH));
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
 * would rewrite everything restored so far: quadratic in the restore's size, and a large
 * part of the restoring process's CPU in bench_pipeline. With them off, one compaction
 * merges all files after the restore, in the background, while the task already
 * processes. The level-0 triggers go up too, or the ingest would stall on the files it
 * adds. The options are changed in memory only: a store opened after a crash has its
 * usual options, and compacts what the killed restore left.
 *
 * Compactions come back when the last restore of the store ends, for every family a
 * restore loaded: a rebalance restores all tasks of the assignment at once, and the
 * compaction of the first task to finish would take CPU from the others' restores. */
static int set_compactions(store_t *s, rocksdb_column_family_handle_t *cf, int32_t partition,
                           bool on, char *err, size_t errlen)
{
    char trig[24], slow[24], stop[24];
    snprintf(trig, sizeof(trig), "%d",
             on ? rocksdb_options_get_level0_file_num_compaction_trigger(s->opts) : 1 << 30);
    snprintf(slow, sizeof(slow), "%d",
             on ? rocksdb_options_get_level0_slowdown_writes_trigger(s->opts) : 1 << 30);
    snprintf(stop, sizeof(stop), "%d",
             on ? rocksdb_options_get_level0_stop_writes_trigger(s->opts) : 1 << 30);
    const char *keys[] = {"disable_auto_compactions", "level0_file_num_compaction_trigger",
                          "level0_slowdown_writes_trigger", "level0_stop_writes_trigger"};
    const char *vals[] = {on ? "false" : "true", trig, slow, stop};
    char *rerr = NULL;
    rocksdb_set_options_cf(s->db, cf, 4, keys, vals, &rerr);
    if (rerr) {
        snprintf(err, errlen, "state store %s task %d: %s bulk loading: %s", s->dir, (int)partition,
                 on ? "ending" : "starting", rerr);
        rocksdb_free(rerr);
        return -1;
    }
    return 0;
}

static int bulk_begin(clog_restore_t *r, char *err, size_t errlen)
{
    if (set_compactions(r->t->store, r->cf, r->partition, false, err, errlen) != 0)
        return -1;
    r->bulk = true;
    r->t->cf->compactions_off = true;
    r->t->store->bulk_restores++;
    return 0;
}

/* This restore's bulk load is over: its family waits for the store's last restore. */
static int bulk_end(clog_restore_t *r, char *err, size_t errlen)
{
    store_t *s = r->t->store;
    r->bulk = false;
    if (--s->bulk_restores > 0)
        return 0;
    int rc = 0;
    for (size_t k = 0; k < s->n_cfs; k++) { /* a family dropped meanwhile is not listed */
        store_cf_t *cf = &s->cfs[k];
        if (cf->compactions_off && set_compactions(s, cf->h, cf->partition, true, err, errlen) != 0)
            rc = -1;
        cf->compactions_off = false;
    }
    return rc;
}

static void *writer_main(void *arg)
{
    clog_restore_t *r = arg;
    char name[16]; /* the kernel's limit, NUL included: shows in top -H and perf */
    snprintf(name, sizeof(name), "ls-restore-%d", (int)(r->partition % 1000));
    pthread_setname_np(pthread_self(), name);
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
    if (!r->bulk && bulk_begin(r, err, errlen) != 0)
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

/* Reserve room in @p b for one more op with @p need arena bytes; buffers double from a
 * size that makes a large batch need few steps (the steps copy) and a restart's tail of a
 * few records no large buffer. @returns 0, -1 = out of memory. */
static int reserve(buf_t *b, size_t need)
{
    if (b->n_ops == b->cap_ops) {
        size_t cap = b->cap_ops ? b->cap_ops * 2 : 8192;
        op_t *o = grow(b->ops, b->cap_ops * sizeof(*o), cap * sizeof(*o));
        if (!o)
            return -1;
        b->ops = o;
        b->cap_ops = cap;
    }
    if (b->arena_len + need > b->arena_cap) {
        size_t cap = b->arena_cap ? b->arena_cap : 1024 * 1024;
        while (cap < b->arena_len + need)
            cap *= 2;
        char *a = grow(b->arena, b->arena_cap, cap);
        if (!a)
            return -1;
        b->arena = a;
        b->arena_cap = cap;
    }
    return 0;
}

/* Stage one write of @p klen key bytes and room for @p vlen value bytes. @returns the
 * op (its value at b->arena + val_off, to be filled), NULL when out of memory. */
static op_t *push_op(clog_restore_t *r, const char *key, size_t klen, size_t vlen, bool is_delete,
                     char *err, size_t errlen)
{
    buf_t *b = &r->cur;
    if (reserve(b, klen + vlen) != 0) {
        snprintf(err, errlen, "state store %s: out of memory for a restore batch",
                 r->t->store->dir);
        return NULL;
    }
    op_t *o = &b->ops[b->n_ops++];
    o->key_off = b->arena_len;
    o->key_len = (uint32_t)klen;
    o->is_delete = is_delete;
    memcpy(b->arena + b->arena_len, key, klen);
    o->val_off = b->arena_len + klen;
    o->val_len = (uint32_t)vlen;
    b->arena_len += klen + vlen;
    return o;
}

/* Note the timer due at @p due of the batch's last op (a customer's record), for
 * add_runs. @returns 0, -1 = out of memory. */
static int push_tent(buf_t *b, int64_t due)
{
    if (b->n_tents == b->cap_tents) {
        size_t cap = b->cap_tents ? b->cap_tents * 2 : 1024;
        tent_t *n = realloc(b->tents, cap * sizeof(*n));
        if (!n)
            return -1;
        b->tents = n;
        b->cap_tents = cap;
    }
    b->tents[b->n_tents++] = (tent_t){.due = due, .op = b->n_ops - 1};
    return 0;
}

/* Timer runs span a day of due times each (days RUN_SLOTS apart share a run, which then
 * comes due with its earlier day). The span decides only how much of the index tmr_due
 * writes at once when a run comes due, never what is due when: a run is named by the
 * earliest due time it holds. */
#define RUN_SPAN_MS (24LL * 3600 * 1000)
#define RUN_SLOTS   4096

/* The run slot of @p due: its day (rounded down for times before 1970 too) modulo the
 * slots. */
static inline size_t run_slot(int64_t due)
{
    int64_t day = due / RUN_SPAN_MS - (due % RUN_SPAN_MS < 0);
    return (size_t)((uint64_t)day % RUN_SLOTS);
}

/* The batch's timers as runs: a counting sort by day, then one op per day that has
 * timers, keyed by its earliest due time. @returns 0, -1 with @p err. */
static int add_runs(clog_restore_t *r, char *err, size_t errlen)
{
    buf_t *b = &r->cur;
    if (b->n_tents == 0)
        return 0;
    uint32_t *start = calloc(RUN_SLOTS + 1, sizeof(*start));
    size_t *order = malloc(b->n_tents * sizeof(*order));
    int rc = start && order ? 0 : -1;
    if (rc != 0)
        snprintf(err, errlen, "state store %s: out of memory for a restore batch's timers",
                 r->t->store->dir);
    for (size_t i = 0; rc == 0 && i < b->n_tents; i++)
        start[run_slot(b->tents[i].due) + 1]++;
    for (size_t k = 1; rc == 0 && k <= RUN_SLOTS; k++)
        start[k] += start[k - 1];
    for (size_t i = 0; rc == 0 && i < b->n_tents; i++)
        order[start[run_slot(b->tents[i].due)]++] = i; /* start[k] ends as slot k's end */
    for (size_t k = 0, from = 0; rc == 0 && k < RUN_SLOTS; from = start[k++]) {
        if (start[k] == from)
            continue;
        int64_t min_due = INT64_MAX;
        size_t vlen = 0;
        for (size_t j = from; j < start[k]; j++) {
            const tent_t *e = &b->tents[order[j]];
            min_due = e->due < min_due ? e->due : min_due;
            vlen += RUN_ENTRY_SIZE(b->ops[e->op].key_len - 1);
        }
        char key[RUN_KEY_LEN];
        key[0] = KEY_TIMER_RUN;
        store_enc_i64(key + 1, min_due);
        memcpy(key + 9, r->run_id, sizeof(r->run_id));
        uint32_t seq = r->runs++;
        for (int i = 0; i < 4; i++)
            key[17 + i] = (char)(seq >> (24 - 8 * i));
        op_t *o = push_op(r, key, sizeof(key), vlen, false, err, errlen);
        if (!o) {
            rc = -1;
            break;
        }
        char *v = b->arena + o->val_off; /* after push_op: it may move the arena */
        for (size_t j = from; j < start[k]; j++) {
            /* ids at random places of the arena: asked for ahead, as ingest does */
            if (j + 2 * INGEST_PREFETCH < start[k])
                __builtin_prefetch(&b->ops[b->tents[order[j + 2 * INGEST_PREFETCH]].op]);
            if (j + INGEST_PREFETCH < start[k])
                __builtin_prefetch(b->arena +
                                   b->ops[b->tents[order[j + INGEST_PREFETCH]].op].key_off);
            const op_t *rec = &b->ops[b->tents[order[j]].op];
            v += store_run_put(v, b->tents[order[j]].due, b->arena + rec->key_off + 1,
                               rec->key_len - 1);
        }
    }
    free(start);
    free(order);
    b->n_tents = 0;
    return rc;
}

static int flush(clog_restore_t *r, int64_t changelog_offset, char *err, size_t errlen)
{
    rocksdb_column_family_handle_t *cf = r->cf;
    buf_t *b = &r->cur;
    store_checkpoint_t cp = {.next_input_offset = r->next_input_offset,
                             .changelog_offset = changelog_offset};
    char key = KEY_CHECKPOINT, v[CHECKPOINT_LEN];
    store_enc_checkpoint(v, &cp);
    if (add_runs(r, err, errlen) != 0)
        return -1;
    if (b->n_ops >= INGEST_MIN_OPS) {
        /* The checkpoint joins the sorted batch (its key sorts among the others). */
        op_t *o = push_op(r, &key, 1, CHECKPOINT_LEN, false, err, errlen);
        if (!o)
            return -1;
        memcpy(b->arena + o->val_off, v, CHECKPOINT_LEN);
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
         * within it (12 tasks with two 16 MiB batches each would hold 384 MiB). Counted at
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
    size_t vlen = rec->state ? REC_HEADER + rec->state_len : 0;
    op_t *o = push_op(r, key, klen, vlen, !rec->state, err, errlen);
    if (!o)
        return -1;
    if (rec->state) {
        char *v = r->cur.arena + o->val_off;
        v[0] = REC_HAS_STATE;
        store_enc_i64(v + 1, rec->next_due_ms);
        memcpy(v + REC_HEADER, rec->state, rec->state_len);
    }
    if (rec->state && rec->next_due_ms != STORE_NO_DUE &&
        push_tent(&r->cur, rec->next_due_ms) != 0) {
        snprintf(err, errlen, "state store %s: out of memory for a restore batch", t->store->dir);
        return -1;
    }
    r->last_offset = rec->offset;
    r->count++;
    r->in_batch++;
    /* ~ the record (the arena, its op and sort keys), its timer and run entry */
    r->batch_bytes += REC_HEADER + rec->customer_len + sizeof(op_t) + 2 * sizeof(skey_t) +
                      rec->state_len + sizeof(tent_t) + RUN_ENTRY_SIZE(rec->customer_len);
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
    if (r->bulk && bulk_end(r, err, errlen) != 0)
        return -1;
    store_cache_clear(r->t);     /* it may describe a record the restore replaced */
    r->t->run_floor = INT64_MIN; /* it wrote runs: the next due scan looks again */
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
    /* A restore that did not finish (revoked, failed) still ends its bulk load. Turning
     * compactions on can only fail on option values RocksDB refuses, which these are not;
     * if it ever did, compactions would stay off until the store reopens. */
    char err[512];
    if (r->bulk)
        (void)bulk_end(r, err, sizeof(err));
    r->t->run_floor = INT64_MIN; /* batches it wrote may hold runs */
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    rocksdb_writebatch_destroy(r->batch);
    buf_t *bufs[2] = {&r->cur, &r->job};
    for (int i = 0; i < 2; i++) {
        free(bufs[i]->ops);
        free(bufs[i]->tents);
        free(bufs[i]->keys);
        free(bufs[i]->tmp);
        free(bufs[i]->arena);
    }
    /* The batches (up to a quarter of the memory budget over all restoring tasks) were
     * freed into the malloc arenas of the pipeline and writer threads, which keep them:
     * give them back to the system (bench_store: VmHWM of the phases after a restore).
     * malloc_trim is glibc's; with jemalloc (the default build) mallctl purges instead,
     * or jemalloc would keep them a while (processor/base/alloc_conf.c) as the task's
     * memtables and cache fill (bench_store's RSS right after the restore, in
     * bench/RESULTS.md, "State store"). */
    malloc_trim(0);
    if (mallctl)
        (void)mallctl("arena." JEMALLOC_ARENAS_ALL ".purge", NULL, NULL, NULL, 0);
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
