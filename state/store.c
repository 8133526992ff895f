/*
 * store: opening the RocksDB database, the memory budget, and the life cycle of task
 * column families (create on assignment, keep when closed, drop after a delay).
 * Staging and commit are in store_txn.c; timers in tmr.c; restore in clog.c.
 *
 * The one idea: everything that costs memory is shared by all column families (one LRU
 * block cache that also holds index and filter blocks, one DB-wide write buffer limit),
 * so memory stays within the budget whatever the number of partitions.
 */
#include "store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CF_PREFIX       "task-"
#define FORMAT_KEY      "format_version"
#define META_PREFIX     "meta/"
#define CLOSED_PREFIX   "closed/"
#define MIN_BUDGET      (16u * 1024u * 1024u)
#define WAL_LIMIT_RATIO 4 /* total WAL size that forces flushes, x write buffer total */
#define ARENA_BLOCK     (64u * 1024u)

void store_config_default(store_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->memory_budget_bytes = STORE_DEFAULT_MEMORY_BUDGET;
    cfg->task_drop_delay_ms = STORE_DEFAULT_DROP_DELAY_MS;
}

void store_memory_split(size_t budget, store_memory_split_t *out)
{
    if (budget < MIN_BUDGET)
        budget = MIN_BUDGET;
    /* A quarter for memtables: writes come in small committed batches and are flushed
     * often; reads of hot customers profit more from cache. */
    out->write_buffer_total = budget / 4;
    out->block_cache_bytes = budget - out->write_buffer_total;
    /* One memtable may take a quarter of the total, at most 16 MiB: a busy task flushes
     * in reasonable steps; idle tasks' memtables stay small (allocated on demand). */
    out->write_buffer_per_task = out->write_buffer_total / 4;
    if (out->write_buffer_per_task > 16u * 1024u * 1024u)
        out->write_buffer_per_task = 16u * 1024u * 1024u;
}

/* RocksDB's block-based table format of every table file, the restore's own included. */
#define TABLE_FORMAT_VERSION 5

/* The restore's table files (clog.c): uncompressed and without a Bloom filter, whatever
 * level they land on. The files of a restore overlap, so the compaction after it rewrites
 * them anyway, and compresses and builds the filter then (LZ4 and hashing every key for
 * the filter here would cost a restore's CPU for nothing). Until that compaction a lookup
 * reads the index of each restore file, a handful per task. */
static rocksdb_options_t *restore_options(rocksdb_options_t *opts)
{
    rocksdb_options_t *o = rocksdb_options_create_copy(opts);
    rocksdb_options_set_compression(o, rocksdb_no_compression);
    rocksdb_options_set_bottommost_compression(o, rocksdb_no_compression);
    rocksdb_block_based_table_options_t *t = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_format_version(t, TABLE_FORMAT_VERSION);
    rocksdb_options_set_block_based_table_factory(o, t); /* copies t */
    rocksdb_block_based_options_destroy(t);
    return o;
}

static void set_options(store_t *s)
{
    store_memory_split_t m;
    store_memory_split(s->cfg.memory_budget_bytes, &m);
    s->cache = rocksdb_cache_create_lru(m.block_cache_bytes);
    s->topts = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_block_cache(s->topts, s->cache);
    /* Index and filter blocks count against the cache, or they grow with the data. */
    rocksdb_block_based_options_set_cache_index_and_filter_blocks(s->topts, 1);
    rocksdb_block_based_options_set_pin_l0_filter_and_index_blocks_in_cache(s->topts, 1);
    s->filter = rocksdb_filterpolicy_create_bloom_full(10);
    rocksdb_block_based_options_set_filter_policy(s->topts, s->filter);
    rocksdb_block_based_options_set_format_version(s->topts, TABLE_FORMAT_VERSION);

    s->opts = rocksdb_options_create();
    rocksdb_options_set_block_based_table_factory(s->opts, s->topts);
    rocksdb_options_set_db_write_buffer_size(s->opts, m.write_buffer_total);
    rocksdb_options_set_write_buffer_size(s->opts, m.write_buffer_per_task);
    rocksdb_options_set_max_write_buffer_number(s->opts, 2);
    /* A memtable allocates in arena blocks (default: an eighth of its size, 1 MiB here)
     * and every task that was written holds at least one: small blocks keep that floor
     * at tasks x 64 KiB instead of tasks x 1 MiB. */
    rocksdb_options_set_arena_block_size(s->opts, ARENA_BLOCK);
    rocksdb_options_set_max_total_wal_size(s->opts, WAL_LIMIT_RATIO * m.write_buffer_total);
    rocksdb_options_set_compression(s->opts, rocksdb_lz4_compression);
    rocksdb_options_set_bottommost_compression(s->opts, rocksdb_zstd_compression);
    rocksdb_options_set_max_background_jobs(s->opts, 2);
    rocksdb_options_set_keep_log_file_num(s->opts, 3);
    rocksdb_options_set_max_log_file_size(s->opts, 4u * 1024u * 1024u);
    /* After a crash, recover to the last complete batch in the WAL and stop there. */
    rocksdb_options_set_wal_recovery_mode(s->opts, 2 /* kPointInTimeRecovery */);
    rocksdb_options_set_create_if_missing(s->opts, s->cfg.read_only ? 0 : 1);
    s->restore_opts = restore_options(s->opts);

    s->ropts = rocksdb_readoptions_create();
    s->wopts = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(s->wopts, s->cfg.sync_commit ? 1 : 0);
}

/* Turn RocksDB's open error into one sentence that names the path and what to do. */
static void explain_open_error(const char *dir, const char *rerr, char *err, size_t errlen)
{
    /* Corruption first: its messages may mention "block", which contains "lock". */
    if (strstr(rerr, "Corruption"))
        snprintf(err, errlen,
                 "state store %s is corrupt (%s); nothing was deleted: run `loyalty-stream "
                 "reset --state %s` (or set state.reset.on.corruption = true) and start "
                 "again, the processor restores the state from the changelog",
                 dir, rerr, dir);
    else if (strstr(rerr, "lock file") || strstr(rerr, "/LOCK") || strstr(rerr, "lock hold"))
        snprintf(err, errlen,
                 "state store %s is locked by another process (another loyalty-stream "
                 "instance?): stop it or give this instance its own state directory (%s)",
                 dir, rerr);
    else
        snprintf(err, errlen, "cannot open state store %s: %s", dir, rerr);
}

static int parse_cf_name(const char *name, int32_t *partition)
{
    size_t n = strlen(CF_PREFIX);
    if (strncmp(name, CF_PREFIX, n) != 0 || name[n] == '\0')
        return -1;
    char *end;
    errno = 0;
    long v = strtol(name + n, &end, 10);
    if (errno || *end || v < 0 || v > INT32_MAX)
        return -1;
    *partition = (int32_t)v;
    return 0;
}

static store_cf_t *cf_add_locked(store_t *s, int32_t partition, rocksdb_column_family_handle_t *h)
{
    if (s->n_cfs == s->cap_cfs) {
        size_t cap = s->cap_cfs ? 2 * s->cap_cfs : 16;
        store_cf_t *p = realloc(s->cfs, cap * sizeof(*p));
        if (!p)
            return NULL;
        s->cfs = p;
        s->cap_cfs = cap;
    }
    /* Keep the array sorted by partition. Tasks hold pointers into it, so fix them. */
    size_t i = s->n_cfs;
    while (i > 0 && s->cfs[i - 1].partition > partition)
        i--;
    memmove(&s->cfs[i + 1], &s->cfs[i], (s->n_cfs - i) * sizeof(*s->cfs));
    s->cfs[i] = (store_cf_t){.partition = partition, .h = h, .closed_ms = 0, .task = NULL};
    s->n_cfs++;
    for (size_t j = 0; j < s->n_cfs; j++)
        if (s->cfs[j].task)
            s->cfs[j].task->cf = &s->cfs[j];
    return &s->cfs[i];
}

static store_cf_t *cf_add(store_t *s, int32_t partition, rocksdb_column_family_handle_t *h)
{
    pthread_rwlock_wrlock(&s->lock);
    store_cf_t *cf = cf_add_locked(s, partition, h);
    pthread_rwlock_unlock(&s->lock);
    return cf;
}

static store_cf_t *cf_find(const store_t *s, int32_t partition)
{
    for (size_t i = 0; i < s->n_cfs; i++)
        if (s->cfs[i].partition == partition)
            return &s->cfs[i];
    return NULL;
}

static void closed_key(char *out, size_t outlen, int32_t partition)
{
    snprintf(out, outlen, CLOSED_PREFIX CF_PREFIX "%d", (int)partition);
}

/* A close time recorded by an earlier run, else @p now_ms (found unassigned now). */
static int load_closed_time(store_t *s, store_cf_t *cf, int64_t now_ms, char *err, size_t errlen)
{
    char key[64], *rerr = NULL;
    size_t vlen = 0;
    closed_key(key, sizeof(key), cf->partition);
    char *v = rocksdb_get_cf(s->db, s->ropts, s->default_cf, key, strlen(key), &vlen, &rerr);
    if (rerr) {
        snprintf(err, errlen, "state store %s: cannot read %s: %s", s->dir, key, rerr);
        rocksdb_free(rerr);
        return -1;
    }
    cf->closed_ms = (v && vlen == 8) ? store_dec_i64(v) : now_ms;
    rocksdb_free(v);
    return 0;
}

static bool file_exists(const char *dir, const char *name)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

/* Open the database with all its column families; names the path on failure. */
static int open_db(store_t *s, bool exists, char *err, size_t errlen)
{
    char *rerr = NULL;
    size_t n = 0;
    char **names = NULL;
    if (exists) {
        names = rocksdb_list_column_families(s->opts, s->dir, &n, &rerr);
        if (rerr) {
            explain_open_error(s->dir, rerr, err, errlen);
            rocksdb_free(rerr);
            return -1;
        }
    }
    static const char *default_only[] = {"default"};
    const char *const *cf_names = names ? (const char *const *)names : default_only;
    if (!names)
        n = 1;
    const rocksdb_options_t **cf_opts = calloc(n, sizeof(*cf_opts));
    rocksdb_column_family_handle_t **hs = calloc(n, sizeof(*hs));
    int rc = -1;
    if (!cf_opts || !hs) {
        snprintf(err, errlen, "state store %s: out of memory", s->dir);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        cf_opts[i] = s->opts;
    if (s->cfg.read_only)
        s->db = rocksdb_open_for_read_only_column_families(s->opts, s->dir, (int)n, cf_names,
                                                           cf_opts, hs, 0, &rerr);
    else
        s->db = rocksdb_open_column_families(s->opts, s->dir, (int)n, cf_names, cf_opts, hs, &rerr);
    if (rerr) {
        explain_open_error(s->dir, rerr, err, errlen);
        rocksdb_free(rerr);
        s->db = NULL;
        goto out;
    }
    rc = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t p;
        if (strcmp(cf_names[i], "default") == 0) {
            s->default_cf = hs[i];
        } else if (parse_cf_name(cf_names[i], &p) == 0 && cf_add(s, p, hs[i])) {
            /* a task column family */
        } else {
            rocksdb_column_family_handle_destroy(hs[i]);
            if (rc == 0)
                snprintf(err, errlen,
                         "state store %s has an unexpected column family '%s': it was not "
                         "written by loyalty-stream; point the state directory elsewhere",
                         s->dir, cf_names[i]);
            rc = -1;
        }
    }
out:
    free(cf_opts);
    free(hs);
    if (names)
        rocksdb_list_column_families_destroy(names, n);
    return rc;
}

static bool default_cf_empty(store_t *s)
{
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ropts, s->default_cf);
    rocksdb_iter_seek_to_first(it);
    bool empty = !rocksdb_iter_valid(it);
    rocksdb_iter_destroy(it);
    return empty;
}

/* Check (existing store) or write (new store) the format version key. */
static int check_format(store_t *s, bool existed, char *err, size_t errlen)
{
    char *rerr = NULL, want[16];
    size_t vlen = 0;
    snprintf(want, sizeof(want), "%d", STORE_FORMAT_VERSION);
    if (!existed) {
        rocksdb_put_cf(s->db, s->wopts, s->default_cf, FORMAT_KEY, strlen(FORMAT_KEY), want,
                       strlen(want), &rerr);
        if (rerr) {
            snprintf(err, errlen, "state store %s: cannot write the format version: %s", s->dir,
                     rerr);
            rocksdb_free(rerr);
            return -1;
        }
        return 0;
    }
    char *v = rocksdb_get_cf(s->db, s->ropts, s->default_cf, FORMAT_KEY, strlen(FORMAT_KEY), &vlen,
                             &rerr);
    if (rerr) {
        explain_open_error(s->dir, rerr, err, errlen);
        rocksdb_free(rerr);
        return -1;
    }
    int rc = 0;
    if (!v && s->n_cfs == 0 && default_cf_empty(s)) {
        /* A creation killed before its first write: an empty database, ours to finish. */
        return s->cfg.read_only ? 0 : check_format(s, false, err, errlen);
    }
    if (!v) {
        snprintf(err, errlen,
                 "%s is a RocksDB database but not a loyalty-stream state store (no "
                 "format_version key); point the state directory elsewhere",
                 s->dir);
        rc = -1;
    } else if (vlen != strlen(want) || memcmp(v, want, vlen) != 0) {
        snprintf(err, errlen,
                 "state store %s has format version %.*s, this build reads version %s: run "
                 "a matching build, or move the directory away and let the processor "
                 "restore from the changelog",
                 s->dir, (int)(vlen > 16 ? 16 : vlen), v, want);
        rc = -1;
    }
    rocksdb_free(v);
    return rc;
}

store_t *store_new(const store_config_t *cfg, int64_t now_ms, char *err, size_t errlen)
{
    if (!cfg->dir || !*cfg->dir) {
        snprintf(err, errlen, "state store: no directory given");
        return NULL;
    }
    store_t *s = calloc(1, sizeof(*s));
    if (!s || !(s->dir = strdup(cfg->dir))) {
        free(s);
        snprintf(err, errlen, "state store %s: out of memory", cfg->dir);
        return NULL;
    }
    s->cfg = *cfg;
    s->cfg.dir = s->dir;
    if (pthread_rwlock_init(&s->lock, NULL) != 0) {
        snprintf(err, errlen, "state store %s: cannot create its lock", s->dir);
        free(s->dir);
        free(s);
        return NULL;
    }
    bool existed = file_exists(s->dir, "CURRENT");
    if (!existed && cfg->read_only) {
        snprintf(err, errlen,
                 "no state store at %s (no CURRENT file): check the path (the processor's "
                 "state directory)",
                 s->dir);
        store_destroy(s);
        return NULL;
    }
    set_options(s);
    if (open_db(s, existed, err, errlen) != 0 || check_format(s, existed, err, errlen) != 0) {
        store_destroy(s);
        return NULL;
    }
    for (size_t i = 0; i < s->n_cfs; i++) {
        if (load_closed_time(s, &s->cfs[i], now_ms, err, errlen) != 0) {
            store_destroy(s);
            return NULL;
        }
    }
    return s;
}

static void task_free(store_task_t *t)
{
    if (!t)
        return;
    store_stage_free(t);
    free(t);
}

void store_destroy(store_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_cfs; i++) {
        task_free(s->cfs[i].task);
        rocksdb_column_family_handle_destroy(s->cfs[i].h);
    }
    free(s->cfs);
    if (s->default_cf)
        rocksdb_column_family_handle_destroy(s->default_cf);
    if (s->db)
        rocksdb_close(s->db);
    if (s->opts)
        rocksdb_options_destroy(s->opts);
    if (s->restore_opts)
        rocksdb_options_destroy(s->restore_opts);
    if (s->topts)
        rocksdb_block_based_options_destroy(s->topts); /* also frees the filter policy */
    if (s->cache)
        rocksdb_cache_destroy(s->cache);
    if (s->ropts)
        rocksdb_readoptions_destroy(s->ropts);
    if (s->wopts)
        rocksdb_writeoptions_destroy(s->wopts);
    if (s->commit_wb)
        rocksdb_writebatch_destroy(s->commit_wb);
    pthread_rwlock_destroy(&s->lock);
    free(s->dir);
    free(s);
}

const char *store_dir(const store_t *s)
{
    return s->dir;
}

static int create_cf(store_t *s, int32_t partition, store_cf_t **out, char *err, size_t errlen)
{
    char name[32], *rerr = NULL;
    snprintf(name, sizeof(name), CF_PREFIX "%d", (int)partition);
    if (s->cfg.read_only) {
        snprintf(err, errlen, "state store %s has no task %d (column family %s)", s->dir,
                 (int)partition, name);
        return -1;
    }
    rocksdb_column_family_handle_t *h = rocksdb_create_column_family(s->db, s->opts, name, &rerr);
    if (rerr) {
        snprintf(err, errlen, "state store %s: cannot create column family %s: %s", s->dir, name,
                 rerr);
        rocksdb_free(rerr);
        return -1;
    }
    *out = cf_add(s, partition, h);
    if (!*out) {
        rocksdb_column_family_handle_destroy(h);
        snprintf(err, errlen, "state store %s: out of memory", s->dir);
        return -1;
    }
    return 0;
}

/* Forget a recorded close time (the task is assigned again). */
static int clear_closed(store_t *s, int32_t partition, char *err, size_t errlen)
{
    if (s->cfg.read_only)
        return 0;
    char key[64], *rerr = NULL;
    closed_key(key, sizeof(key), partition);
    rocksdb_delete_cf(s->db, s->wopts, s->default_cf, key, strlen(key), &rerr);
    if (rerr) {
        snprintf(err, errlen, "state store %s: cannot clear %s: %s", s->dir, key, rerr);
        rocksdb_free(rerr);
        return -1;
    }
    return 0;
}

store_task_t *store_task_open(store_t *s, int32_t partition, char *err, size_t errlen)
{
    if (partition < 0) {
        snprintf(err, errlen, "state store %s: invalid task %d", s->dir, (int)partition);
        return NULL;
    }
    store_cf_t *cf = cf_find(s, partition);
    if (cf && cf->task) {
        snprintf(err, errlen, "state store %s: task %d is already open", s->dir, (int)partition);
        return NULL;
    }
    if (!cf && create_cf(s, partition, &cf, err, errlen) != 0)
        return NULL;
    if (clear_closed(s, partition, err, errlen) != 0)
        return NULL;
    store_task_t *t = calloc(1, sizeof(*t));
    if (!t) {
        snprintf(err, errlen, "state store %s: out of memory", s->dir);
        return NULL;
    }
    t->store = s;
    t->cf = cf;
    t->stage_gen = 1;
    t->timer_floor = INT64_MIN;
    t->run_floor = INT64_MIN;
    pthread_rwlock_wrlock(&s->lock);
    cf->task = t;
    pthread_rwlock_unlock(&s->lock);
    return t;
}

size_t store_open_tasks(const store_t *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n_cfs; i++)
        n += s->cfs[i].task != NULL;
    return n;
}

store_task_t *store_task_find(store_t *s, int32_t partition)
{
    store_cf_t *cf = cf_find(s, partition);
    return cf ? cf->task : NULL;
}

int32_t store_task_partition(const store_task_t *t)
{
    return t->cf->partition;
}

int store_task_close(store_t *s, store_task_t *t, int64_t now_ms, char *err, size_t errlen)
{
    store_cf_t *cf = t->cf;
    pthread_rwlock_wrlock(&s->lock);
    cf->task = NULL;
    pthread_rwlock_unlock(&s->lock);
    cf->closed_ms = now_ms;
    task_free(t);
    if (s->cfg.read_only)
        return 0;
    char key[64], v[8], *rerr = NULL;
    closed_key(key, sizeof(key), cf->partition);
    store_enc_i64(v, now_ms);
    rocksdb_put_cf(s->db, s->wopts, s->default_cf, key, strlen(key), v, sizeof(v), &rerr);
    if (rerr) {
        snprintf(err, errlen, "state store %s: cannot record the close of task %d: %s", s->dir,
                 (int)cf->partition, rerr);
        rocksdb_free(rerr);
        return -1;
    }
    return 0;
}

static int drop_cf(store_t *s, size_t i, char *err, size_t errlen)
{
    char *rerr = NULL;
    int32_t p = s->cfs[i].partition;
    rocksdb_drop_column_family(s->db, s->cfs[i].h, &rerr);
    if (rerr) {
        snprintf(err, errlen, "state store %s: cannot drop task %d: %s", s->dir, (int)p, rerr);
        rocksdb_free(rerr);
        return -1;
    }
    pthread_rwlock_wrlock(&s->lock);
    rocksdb_column_family_handle_destroy(s->cfs[i].h);
    memmove(&s->cfs[i], &s->cfs[i + 1], (s->n_cfs - i - 1) * sizeof(*s->cfs));
    s->n_cfs--;
    for (size_t j = 0; j < s->n_cfs; j++)
        if (s->cfs[j].task)
            s->cfs[j].task->cf = &s->cfs[j];
    pthread_rwlock_unlock(&s->lock);
    /* The marker goes last: a crash in between leaves a marker without a family. */
    return clear_closed(s, p, err, errlen);
}

int store_task_drop(store_t *s, int32_t partition, char *err, size_t errlen)
{
    if (s->cfg.read_only) {
        snprintf(err, errlen, "state store %s is open read-only", s->dir);
        return -1;
    }
    for (size_t i = 0; i < s->n_cfs; i++) {
        if (s->cfs[i].partition != partition)
            continue;
        if (s->cfs[i].task) {
            snprintf(err, errlen, "state store %s: task %d is open", s->dir, (int)partition);
            return -1;
        }
        return drop_cf(s, i, err, errlen);
    }
    return STORE_NOT_FOUND;
}

int store_wipe(const char *dir, char *err, size_t errlen)
{
    if (!file_exists(dir, "CURRENT") && !file_exists(dir, "LOCK"))
        return 0;
    rocksdb_options_t *o = rocksdb_options_create();
    char *rerr = NULL;
    /* DestroyDB takes the database's lock first, so a running processor keeps its store. */
    rocksdb_destroy_db(o, dir, &rerr);
    rocksdb_options_destroy(o);
    if (rerr) {
        snprintf(err, errlen, "cannot delete state store %s: %s%s", dir, rerr,
                 strstr(rerr, "lock") ? " (is a processor still running on it?)" : "");
        rocksdb_free(rerr);
        return -1;
    }
    return 0;
}

bool store_err_is_corrupt(const char *err)
{
    return strstr(err, "state store ") == err && strstr(err, " is corrupt (") != NULL;
}

int store_gc(store_t *s, int64_t now_ms, int *dropped, char *err, size_t errlen)
{
    int n = 0;
    if (dropped)
        *dropped = 0;
    if (s->cfg.read_only)
        return 0;
    for (size_t i = 0; i < s->n_cfs;) {
        store_cf_t *cf = &s->cfs[i];
        if (cf->task || now_ms - cf->closed_ms < s->cfg.task_drop_delay_ms) {
            i++;
            continue;
        }
        if (drop_cf(s, i, err, errlen) != 0)
            return -1;
        if (dropped)
            *dropped = ++n;
    }
    return 0;
}

void store_tasks(const store_t *s, int32_t *out, size_t max, size_t *n)
{
    for (size_t i = 0; i < s->n_cfs && i < max; i++)
        out[i] = s->cfs[i].partition;
    *n = s->n_cfs;
}

int store_task_closed_at(const store_t *s, int32_t partition, int64_t *closed_ms)
{
    const store_cf_t *cf = cf_find(s, partition);
    if (!cf || cf->task)
        return STORE_NOT_FOUND;
    *closed_ms = cf->closed_ms;
    return 0;
}

int store_memory_usage(store_t *s, store_memory_usage_t *out, char *err, size_t errlen)
{
    char *rerr = NULL;
    rocksdb_memory_consumers_t *c = rocksdb_memory_consumers_create();
    rocksdb_memory_consumers_add_db(c, s->db);
    rocksdb_memory_consumers_add_cache(c, s->cache);
    rocksdb_memory_usage_t *u = rocksdb_approximate_memory_usage_create(c, &rerr);
    rocksdb_memory_consumers_destroy(c);
    if (rerr) {
        snprintf(err, errlen, "state store %s: cannot read memory usage: %s", s->dir, rerr);
        rocksdb_free(rerr);
        return -1;
    }
    out->memtables = rocksdb_approximate_memory_usage_get_mem_table_total(u);
    out->table_readers = rocksdb_approximate_memory_usage_get_mem_table_readers_total(u);
    out->block_cache = rocksdb_approximate_memory_usage_get_cache_total(u);
    rocksdb_approximate_memory_usage_destroy(u);
    return 0;
}

/* Committed record of @p customer in family @p cf: 0, STORE_NOT_FOUND or -1. */
static int read_committed_cf(store_t *s, store_cf_t *cf, const char *customer, size_t clen,
                             char **val, size_t *vlen, int64_t *next_due, char *err, size_t errlen)
{
    char key[STORE_KEY_MAX], *rerr = NULL;
    size_t klen = store_key_customer(key, customer, clen), n = 0;
    char *v = rocksdb_get_cf(s->db, s->ropts, cf->h, key, klen, &n, &rerr);
    if (rerr) {
        snprintf(err, errlen, "state store %s task %d: reading customer '%.*s' failed: %s", s->dir,
                 (int)cf->partition, (int)clen, customer, rerr);
        rocksdb_free(rerr);
        return -1;
    }
    if (!v || n < REC_HEADER || !(v[0] & REC_HAS_STATE)) {
        rocksdb_free(v);
        return STORE_NOT_FOUND;
    }
    if (next_due)
        *next_due = store_dec_i64(v + 1);
    memmove(v, v + REC_HEADER, n - REC_HEADER);
    *val = v;
    *vlen = n - REC_HEADER;
    return 0;
}

int store_read_committed(store_t *s, int32_t partition, const char *customer, size_t clen,
                         char **val, size_t *vlen, int64_t *next_due, int32_t *found_in, char *err,
                         size_t errlen)
{
    *val = NULL;
    *vlen = 0;
    if (next_due)
        *next_due = STORE_NO_DUE;
    if (store_check_customer(customer, clen, err, errlen) != 0)
        return -1;
    int rc = STORE_NOT_FOUND;
    pthread_rwlock_rdlock(&s->lock);
    for (size_t i = 0; i < s->n_cfs && rc == STORE_NOT_FOUND; i++) {
        store_cf_t *cf = &s->cfs[i];
        if (partition >= 0 ? cf->partition != partition : cf->task == NULL)
            continue;
        rc = read_committed_cf(s, cf, customer, clen, val, vlen, next_due, err, errlen);
        if (rc == 0 && found_in)
            *found_in = cf->partition;
    }
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

int store_meta_get(store_t *s, const char *name, char *out, size_t outlen, char *err, size_t errlen)
{
    char key[128], *rerr = NULL;
    size_t vlen = 0;
    snprintf(key, sizeof(key), META_PREFIX "%s", name);
    char *v = rocksdb_get_cf(s->db, s->ropts, s->default_cf, key, strlen(key), &vlen, &rerr);
    if (rerr) {
        snprintf(err, errlen, "state store %s: cannot read %s: %s", s->dir, key, rerr);
        rocksdb_free(rerr);
        return -1;
    }
    snprintf(out, outlen, "%.*s", v ? (int)vlen : 0, v ? v : "");
    rocksdb_free(v);
    return 0;
}

int store_meta_put(store_t *s, const char *name, const char *value, char *err, size_t errlen)
{
    char key[128], *rerr = NULL;
    snprintf(key, sizeof(key), META_PREFIX "%s", name);
    rocksdb_put_cf(s->db, s->wopts, s->default_cf, key, strlen(key), value, strlen(value), &rerr);
    if (rerr) {
        snprintf(err, errlen, "state store %s: cannot write %s: %s", s->dir, key, rerr);
        rocksdb_free(rerr);
        return -1;
    }
    return 0;
}
