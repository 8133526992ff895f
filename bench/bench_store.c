/*
 * bench_store: the state store's costs, measured in one run on one database.
 *   1. restore apply: 1M customers (~300-byte values) across 12 tasks, records/s;
 *   2. read-modify-write per event staged in the task's stage, committed
 *      (with checkpoint) every 1,000 events, against bare RocksDB get + put (WAL on, no
 *      sync) on the same keys and column families: the ratio is the figure to watch;
 *   3. resident memory (VmRSS, VmHWM) with the default memory budget.
 *
 *   bench_store [DIR] (default: a fresh directory under $TMPDIR or /tmp, removed after)
 *   LS_BENCH_CUSTOMERS=N (default 1000000), LS_BENCH_EVENTS=N (default 300000, in chunks of
 *   10,000), LS_BENCH_TASKS=N (default 12, at most 1024)
 *
 * The one idea: both sides of a ratio run in the same process on the same data, so the
 * shared, noisy machine slows them alike.
 */
#include "clog.h"
#include "store.h"
#include "store_int.h" /* the bare side reaches the same RocksDB handles */
#include "tmr.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_TASKS    1024
#define VALUE_LEN    300
#define COMMIT_EVERY 1000

/* Number of tasks (column families): LS_BENCH_TASKS, default 12; set once in main and
 * read-only afterwards. */
static int n_tasks = 12;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            v = strtol(line + n + 1, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

static void print_memory(const char *when, store_t *s)
{
    printf("  memory %-24s VmRSS %6.1f MiB  VmHWM %6.1f MiB", when,
           (double)status_kib("VmRSS") / 1024.0, (double)status_kib("VmHWM") / 1024.0);
    store_memory_usage_t u;
    char err[256];
    if (s && store_memory_usage(s, &u, err, sizeof(err)) == 0)
        printf("  (RocksDB: memtables %.1f, readers %.1f, cache %.1f MiB)",
               (double)u.memtables / 1048576.0, (double)u.table_readers / 1048576.0,
               (double)u.block_cache / 1048576.0);
    printf("\n");
}

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A state-like value: a counter, then fields drawn from a small alphabet (compresses
 * about as well as a real encoded state with ids, names and small integers). */
static void make_value(char *v, uint64_t customer, uint64_t counter)
{
    uint64_t s = customer * 0x9e3779b97f4a7c15ull + 1;
    memcpy(v, &counter, sizeof(counter));
    for (int i = 8; i < VALUE_LEN; i++)
        v[i] = "0123456789abcdef"[rng(&s) & 15];
}

static size_t cust_id(char *out, uint64_t i)
{
    return (size_t)snprintf(out, 32, "customer-%08llu", (unsigned long long)i);
}

static int task_of(uint64_t i)
{
    return (int)(i % n_tasks);
}

/* Skewed like the demo's purchases: 80 % of events come from 2 % of customers. */
static uint64_t pick_customer(uint64_t *s, uint64_t n)
{
    uint64_t hot = n / 50 ? n / 50 : 1;
    return rng(s) % 10 < 8 ? rng(s) % hot : rng(s) % n;
}

static void die(const char *what, const char *err)
{
    fprintf(stderr, "bench_store: %s: %s\n", what, err);
    exit(1);
}

static double restore_all(store_t *s, uint64_t n)
{
    char err[512], id[32], v[VALUE_LEN];
    clog_restore_t *r[MAX_TASKS];
    for (int p = 0; p < n_tasks; p++) {
        store_task_t *t = store_task_find(s, p);
        if (!(r[p] = clog_restore_new(t, 0, err, sizeof(err))))
            die("restore", err);
    }
    double t0 = now_s();
    for (uint64_t i = 0; i < n; i++) {
        make_value(v, i, 0);
        clog_record_t rec = {.offset = (int64_t)(i / n_tasks),
                             .customer = id,
                             .customer_len = cust_id(id, i),
                             .state = v,
                             .state_len = VALUE_LEN,
                             .next_due_ms = 1700000000000LL + (int64_t)(i % 86400000)};
        if (clog_restore_add(r[task_of(i)], &rec, err, sizeof(err)) != 0)
            die("restore", err);
    }
    for (int p = 0; p < n_tasks; p++) {
        if (clog_restore_finish(r[p], (int64_t)(n / n_tasks + 1), err, sizeof(err)) != 0)
            die("restore", err);
        clog_restore_destroy(r[p]);
    }
    return now_s() - t0;
}

/* Bare restore: the same two keys per record (record, timer index entry) in a plain write
 * batch, no lookups. */
static double restore_bare(store_t *s, uint64_t n)
{
    char id[32], key[STORE_KEY_MAX], v[REC_HEADER + VALUE_LEN], *rerr = NULL;
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    double t0 = now_s();
    for (uint64_t i = 0; i < n; i++) {
        int64_t d = 1700000000000LL + (int64_t)(i % 86400000);
        v[0] = REC_HAS_STATE;
        store_enc_i64(v + 1, d);
        make_value(v + REC_HEADER, i, 0);
        size_t clen = cust_id(id, i);
        rocksdb_column_family_handle_t *h = store_task_find(s, task_of(i))->cf->h;
        size_t klen = store_key_customer(key, id, clen);
        rocksdb_writebatch_put_cf(b, h, key, klen, v, sizeof(v));
        klen = store_key_timer(key, d, id, clen);
        rocksdb_writebatch_put_cf(b, h, key, klen, "", 0);
        if ((i + 1) % 1000 == 0 || i + 1 == n) {
            rocksdb_write(s->db, s->wopts, b, &rerr);
            if (rerr)
                die("bare restore", rerr);
            rocksdb_writebatch_clear(b);
        }
    }
    rocksdb_writebatch_destroy(b);
    return now_s() - t0;
}

/* Staged: get through the batch, change, put into the batch; commit every 1,000. */
static double rmw_staged(store_t *s, uint64_t n, uint64_t events, uint64_t seed, bool timers)
{
    char err[512], id[32], *v;
    size_t vlen;
    int64_t next = 0;
    double t0 = now_s();
    for (uint64_t e = 0; e < events; e++) {
        uint64_t c = pick_customer(&seed, n);
        size_t clen = cust_id(id, c);
        store_task_t *t = store_task_find(s, task_of(c));
        if (store_get(t, id, clen, &v, &vlen, err, sizeof(err)) != 0)
            die("get", err);
        v[vlen - 1] ^= 1; /* the "modify" */
        int rc = timers ? store_put_due(t, id, clen, v, vlen, 1700000000000LL + (int64_t)e, err,
                                        sizeof(err))
                        : store_put(t, id, clen, v, vlen, err, sizeof(err));
        if (rc != 0)
            die("put", err);
        free(v);
        if ((e + 1) % COMMIT_EVERY == 0 || e + 1 == events) {
            next += COMMIT_EVERY;
            for (int p = 0; p < n_tasks; p++) {
                store_checkpoint_t cp = {next, next};
                if (store_task_commit(store_task_find(s, p), &cp, err, sizeof(err)) != 0)
                    die("commit", err);
            }
        }
    }
    return now_s() - t0;
}

/* Bare RocksDB: get then put per event on the same keys and column families. */
static double rmw_bare(store_t *s, uint64_t n, uint64_t events, uint64_t seed)
{
    char id[32], key[64], *rerr = NULL;
    double t0 = now_s();
    for (uint64_t e = 0; e < events; e++) {
        uint64_t c = pick_customer(&seed, n);
        size_t clen = cust_id(id, c);
        rocksdb_column_family_handle_t *h = store_task_find(s, task_of(c))->cf->h;
        size_t klen = store_key_customer(key, id, clen), vlen;
        char *v = rocksdb_get_cf(s->db, s->ropts, h, key, klen, &vlen, &rerr);
        if (rerr || !v)
            die("bare get", rerr ? rerr : "not found");
        v[vlen - 1] ^= 1;
        rocksdb_put_cf(s->db, s->wopts, h, key, klen, v, vlen, &rerr);
        if (rerr)
            die("bare put", rerr);
        rocksdb_free(v);
    }
    return now_s() - t0;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
    const char *v = getenv(name);
    return v && *v ? strtoull(v, NULL, 10) : dflt;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    uint64_t n = env_u64("LS_BENCH_CUSTOMERS", 1000000);
    uint64_t events = env_u64("LS_BENCH_EVENTS", 300000);
    uint64_t tasks = env_u64("LS_BENCH_TASKS", 12);
    n_tasks = tasks < 1 ? 1 : tasks > MAX_TASKS ? MAX_TASKS : (int)tasks;
    char tmpl[4096], err[1024];
    const char *base = getenv("TMPDIR");
    snprintf(tmpl, sizeof(tmpl), "%s/bench-store-XXXXXX", base && *base ? base : "/tmp");
    const char *dir = argc > 1 ? argv[1] : mkdtemp(tmpl);
    if (!dir)
        die("mkdtemp", tmpl);

    store_config_t cfg;
    store_config_default(&cfg);
    cfg.dir = dir;
    store_memory_split_t m;
    store_memory_split(cfg.memory_budget_bytes, &m);
    printf("bench_store: %llu customers x %d-byte values in %d tasks, %llu events, %s\n",
           (unsigned long long)n, VALUE_LEN, n_tasks, (unsigned long long)events, dir);
    printf("  budget %zu MiB: block cache %zu MiB, write buffers %zu MiB (%zu MiB per task)\n",
           cfg.memory_budget_bytes >> 20, m.block_cache_bytes >> 20, m.write_buffer_total >> 20,
           m.write_buffer_per_task >> 20);
    print_memory("at start", NULL);
    store_t *s = store_new(&cfg, 0, err, sizeof(err));
    if (!s)
        die("open", err);
    for (int p = 0; p < n_tasks; p++)
        if (!store_task_open(s, p, err, sizeof(err)))
            die("task", err);

    double dt = restore_all(s, n);
    printf("  restore apply               %9.0f records/s (%.2f s)\n", (double)n / dt, dt);
    print_memory("after restore", s);
    double again = restore_all(s, n); /* the same records again: what a re-restore costs */
    double bare_restore = restore_bare(s, n);
    printf("  restore apply, same again   %9.0f records/s\n", (double)n / again);
    printf("  bare batched puts (2 keys)  %9.0f records/s\n", (double)n / bare_restore);
    printf("  ratio restore again / bare  %9.2f\n", again / bare_restore);

    /* Warm both sides alike, then measure them interleaved in chunks of 10,000 events on
     * the same customer sequences, so that load from other processes hits all alike. */
    rmw_bare(s, n, events / 10, 7);
    double staged = 0, bare = 0, timers = 0;
    for (uint64_t chunk = 0; chunk < events / 10000; chunk++) {
        staged += rmw_staged(s, n, 10000, 11 + chunk, false);
        bare += rmw_bare(s, n, 10000, 11 + chunk);
        timers += rmw_staged(s, n, 10000, 11 + chunk, true);
    }
    events = events / 10000 * 10000;
    printf("  rmw staged, commit/1000     %9.0f events/s\n", (double)events / staged);
    printf("  rmw bare get+put            %9.0f events/s\n", (double)events / bare);
    printf("  rmw staged + timer moved    %9.0f events/s\n", (double)events / timers);
    printf("  ratio staged / bare time    %9.2f  (below 1: staging is faster)\n", staged / bare);
    printf("  ratio staged+timer / bare   %9.2f\n", timers / bare);
    print_memory("after read-modify-write", s);
    store_destroy(s);
    print_memory("after close", NULL);
    if (argc <= 1)
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
