/*
 * Unit tests of restore apply: records, tombstones and timers land; the checkpoint
 * records where to continue; applying the same records twice changes nothing; timers
 * come as runs that become index entries when due; framing.
 */
#include "clog.h"
#include "store.h"
#include "store_int.h" /* to count the keys of a kind: timer runs, index entries */
#include "test_store_util.h"
#include "tmr.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define T0 1700000000000LL

static clog_record_t rec(int64_t off, const char *c, const char *v, int64_t due)
{
    return (clog_record_t){.offset = off,
                           .customer = c,
                           .customer_len = strlen(c),
                           .state = v,
                           .state_len = v ? strlen(v) : 0,
                           .next_due_ms = due};
}

/* Dump a task's committed content (customers, timers) into a string for comparison. */
static int dump_one(void *ctx, const char *c, size_t cl, const char *v, size_t vl)
{
    FILE *f = ctx;
    fprintf(f, "%.*s=%.*s;", (int)cl, c, (int)vl, v);
    return 0;
}

static char *dump(store_task_t *t)
{
    char *buf = NULL, err[256];
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(store_task_foreach(t, dump_one, f, err, sizeof(err)), 0);
    static tmr_entry_t e[4096];
    size_t n = 0;
    assert_int_equal(tmr_due(t, INT64_MAX - 1, e, 4096, &n, err, sizeof(err)), 0);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "t:%s@%lld;", e[i].customer, (long long)e[i].due_ms);
    store_task_abort(t); /* the scan stages the removal of stale entries: not wanted here */
    store_checkpoint_t cp;
    assert_int_equal(store_task_checkpoint(t, &cp, err, sizeof(err)), 0);
    fprintf(f, "cp:%lld/%lld", (long long)cp.next_input_offset, (long long)cp.changelog_offset);
    fclose(f);
    return buf;
}

static void test_restore_applies_states_tombstones_and_timers(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[256];
    store_t *s = tsu_open(dir, T0);
    store_task_t *t = store_task_open(s, 0, err, sizeof(err));
    clog_record_t r[] = {
        rec(0, "alice", "a0", T0 + 10),   rec(1, "bob", "b0", T0 + 20),
        rec(2, "alice", "a1", T0 + 30),                           /* replaces state and timer */
        rec(3, "carol", "c0", TMR_NEVER), rec(5, "bob", NULL, 0), /* tombstone */
    };
    assert_int_equal(clog_apply(t, r, 5, 7, 2, err, sizeof(err)), 0);
    char *d = dump(t);
    assert_string_equal(d, "alice=a1;carol=c0;t:alice@1700000000030;cp:-1/7");
    free(d);
    store_destroy(s);
    tsu_rmtree(dir);
}

static void test_restore_applied_twice_gives_the_same_store(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[256];
    store_t *s = tsu_open(dir, T0);
    store_task_t *t = store_task_open(s, 0, err, sizeof(err));
    clog_record_t r[200];
    char names[200][16], vals[200][16];
    for (int i = 0; i < 200; i++) {
        snprintf(names[i], 16, "c%d", i % 37);
        snprintf(vals[i], 16, "v%d", i);
        r[i] = rec(i, names[i], (i % 11 == 0) ? NULL : vals[i], T0 + (i * 7919) % 1000);
    }
    assert_int_equal(clog_apply(t, r, 200, 200, 16, err, sizeof(err)), 0);
    char *once = dump(t);
    assert_int_equal(clog_apply(t, r, 200, 200, 16, err, sizeof(err)), 0);
    char *twice = dump(t);
    assert_string_equal(once, twice);
    /* A restore interrupted halfway and started again from its checkpoint: same too. */
    store_task_t *t2 = store_task_open(s, 1, err, sizeof(err));
    assert_int_equal(clog_apply(t2, r, 120, 120, 16, err, sizeof(err)), 0);
    store_checkpoint_t cp;
    assert_int_equal(store_task_checkpoint(t2, &cp, err, sizeof(err)), 0);
    assert_int_equal(cp.changelog_offset, 120);
    assert_int_equal(clog_apply(t2, r + 100, 100, 200, 16, err, sizeof(err)), 0);
    char *resumed = dump(t2);
    assert_string_equal(once, resumed);
    free(once);
    free(twice);
    free(resumed);
    store_destroy(s);
    tsu_rmtree(dir);
}

static void test_restore_keeps_next_input_offset_and_checkpoints_each_batch(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[256];
    store_t *s = tsu_open(dir, T0);
    store_task_t *t = store_task_open(s, 0, err, sizeof(err));
    store_checkpoint_t cp = {500, 3};
    assert_int_equal(store_task_commit(t, &cp, err, sizeof(err)), 0);
    clog_restore_t *r = clog_restore_new(t, 2, err, sizeof(err));
    assert_non_null(r);
    clog_record_t a = rec(3, "a", "1", TMR_NEVER), b = rec(4, "b", "2", TMR_NEVER),
                  c = rec(6, "c", "3", TMR_NEVER);
    assert_int_equal(clog_restore_add(r, &a, err, sizeof(err)), 0);
    assert_int_equal(clog_restore_add(r, &b, err, sizeof(err)), 0); /* a full batch */
    assert_int_equal(store_task_checkpoint(t, &cp, err, sizeof(err)), 0);
    assert_int_equal(cp.changelog_offset, 5);
    assert_int_equal(cp.next_input_offset, 500);
    assert_int_equal(clog_restore_add(r, &c, err, sizeof(err)), 0);
    assert_int_equal(clog_restore_finish(r, 5, err, sizeof(err)), -1); /* before record 6 */
    assert_int_equal(clog_restore_finish(r, 9, err, sizeof(err)), 0);
    assert_int_equal(clog_restore_count(r), 3);
    clog_restore_destroy(r);
    assert_int_equal(store_task_checkpoint(t, &cp, err, sizeof(err)), 0);
    assert_int_equal(cp.changelog_offset, 9);
    assert_int_equal(cp.next_input_offset, 500);
    store_destroy(s);
    tsu_rmtree(dir);
}

static void test_restore_refuses_a_task_with_staged_changes(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[256];
    store_t *s = tsu_open(dir, T0);
    store_task_t *t = store_task_open(s, 0, err, sizeof(err));
    tsu_put(t, "x", "y");
    assert_null(clog_restore_new(t, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "staged"));
    store_destroy(s);
    tsu_rmtree(dir);
}

static void test_frame_round_trip_and_errors(void **state)
{
    (void)state;
    char buf[64], err[256];
    size_t n = clog_frame_encode(-42, "state", 5, buf, sizeof(buf));
    assert_int_equal(n, clog_frame_size(5));
    int64_t due;
    const void *st;
    size_t sl;
    assert_int_equal(clog_frame_decode(buf, n, &due, &st, &sl, err, sizeof(err)), 0);
    assert_int_equal(due, -42);
    assert_int_equal(sl, 5);
    assert_memory_equal(st, "state", 5);
    assert_int_equal(clog_frame_encode(0, "state", 5, buf, 8), 0);
    assert_int_equal(clog_frame_decode(buf, 3, &due, &st, &sl, err, sizeof(err)), -1);
    buf[0] = 9;
    assert_int_equal(clog_frame_decode(buf, n, &due, &st, &sl, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "version 9"));
}

static void test_restored_timer_before_the_scanned_range_is_found(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[256];
    store_t *s = tsu_open(dir, T0);
    store_task_t *t = store_task_open(s, 0, err, sizeof(err));
    clog_record_t a = rec(0, "late", "x", T0 + 1000), b = rec(1, "early", "y", T0 - 1000);
    assert_int_equal(clog_apply(t, &a, 1, 1, 0, err, sizeof(err)), 0);
    tmr_entry_t e[4];
    size_t n = 9;
    assert_int_equal(tmr_due(t, T0, e, 4, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 0);
    assert_int_equal(clog_apply(t, &b, 1, 2, 0, err, sizeof(err)), 0);
    assert_int_equal(tmr_due(t, T0, e, 4, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 1);
    assert_string_equal(e[0].customer, "early");
    store_destroy(s);
    tsu_rmtree(dir);
}

/* Keys that agree beyond the bytes the sort keeps per key (customer ids with a long shared
 * prefix, differing only at the end or in length, repeated) sort like their bytes: one
 * large ingested batch gives the store that one batch per record gives. */
static void test_long_keys_with_shared_prefixes_sort_like_bytes(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[256];
    store_t *s = tsu_open(dir, T0);
    store_task_t *one = store_task_open(s, 0, err, sizeof(err));
    store_task_t *all = store_task_open(s, 1, err, sizeof(err));
    enum { N = 9000 };
    static clog_record_t r[N];
    static char names[N][64], vals[N][16];
    for (int i = 0; i < N; i++) {
        int k = (i * 7919) % 2003;
        /* a shared prefix, 2 bytes that vary, 28 that do not, then an end that differs in
         * its bytes or only in length: the compare must go past the bytes it keeps */
        snprintf(names[i], 64, "member-%02d-of-the-loyalty-programme-no-%0*d", k % 7, 1 + k % 9,
                 k / 63);
        snprintf(vals[i], 16, "v%d", i);
        r[i] = rec(i, names[i], (i % 17 == 0) ? NULL : vals[i],
                   (i % 4 == 0) ? TMR_NEVER : T0 + (i * 104729) % 977);
    }
    assert_int_equal(clog_apply(one, r, N, N, 1, err, sizeof(err)), 0);
    assert_int_equal(clog_apply(all, r, N, N, N, err, sizeof(err)), 0);
    char *a = dump(one), *b = dump(all);
    assert_string_equal(a, b);
    free(a);
    free(b);
    store_destroy(s);
    tsu_rmtree(dir);
}

/* A large restore is a bulk load: its table files pile up in level 0 with the family's
 * compactions off, and once it ends they are on again and merge the files away. */
static void test_compactions_resume_after_a_bulk_restore(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[256];
    store_t *s = tsu_open(dir, T0);
    store_task_t *t = store_task_open(s, 0, err, sizeof(err));
    enum { BATCH = 2100, BATCHES = 20 }; /* 4,200 writes per batch: each one is ingested */
    clog_restore_t *r = clog_restore_new(t, BATCH, err, sizeof(err));
    assert_non_null(r);
    static char names[BATCH * BATCHES][16];
    for (int i = 0; i < BATCH * BATCHES; i++) {
        snprintf(names[i], 16, "c%d", (i * 7919) % (BATCH * BATCHES));
        clog_record_t rc = rec(i, names[i], "state", T0 + i % 977);
        assert_int_equal(clog_restore_add(r, &rc, err, sizeof(err)), 0);
    }
    store_task_stats_t st;
    assert_int_equal(store_task_stats(t, &st, err, sizeof(err)), 0);
    assert_true(st.level0_files >= 8); /* no compaction while the restore runs */
    assert_int_equal(clog_restore_finish(r, BATCH * BATCHES, err, sizeof(err)), 0);
    clog_restore_destroy(r);
    for (int i = 0; i < 300 && st.level0_files >= 4; i++) { /* RocksDB's default trigger */
        usleep(100 * 1000);
        assert_int_equal(store_task_stats(t, &st, err, sizeof(err)), 0);
    }
    assert_true(st.level0_files < 4);
    assert_int_equal(st.customers, BATCH * BATCHES);
    store_destroy(s);
    tsu_rmtree(dir);
}

/* Restores that run at once (a rebalance's tasks) keep every loaded family's compactions
 * off until the last of them ends: the first to finish does not compact while the other
 * still restores, then both do. */
static void test_compactions_wait_for_the_last_restore(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[256];
    store_t *s = tsu_open(dir, T0);
    enum { BATCH = 2100, BATCHES = 20 };
    static char names[BATCH * BATCHES][16];
    store_task_t *t[2];
    clog_restore_t *r[2];
    for (int k = 0; k < 2; k++) {
        t[k] = store_task_open(s, k, err, sizeof(err));
        r[k] = clog_restore_new(t[k], BATCH, err, sizeof(err));
        assert_non_null(r[k]);
    }
    for (int i = 0; i < BATCH * BATCHES; i++) {
        snprintf(names[i], 16, "c%d", (i * 7919) % (BATCH * BATCHES));
        clog_record_t rc = rec(i, names[i], "state", T0 + i % 977);
        for (int k = 0; k < 2; k++)
            assert_int_equal(clog_restore_add(r[k], &rc, err, sizeof(err)), 0);
    }
    assert_int_equal(clog_restore_finish(r[0], BATCH * BATCHES, err, sizeof(err)), 0);
    clog_restore_destroy(r[0]);
    store_task_stats_t st[2];
    usleep(1500 * 1000); /* time enough for a compaction, had one been allowed */
    assert_int_equal(store_task_stats(t[0], &st[0], err, sizeof(err)), 0);
    assert_true(st[0].level0_files >= 8);
    clog_restore_destroy(r[1]); /* revoked before it finished: its bulk load ends too */
    for (int i = 0; i < 300; i++) {
        assert_int_equal(store_task_stats(t[0], &st[0], err, sizeof(err)), 0);
        assert_int_equal(store_task_stats(t[1], &st[1], err, sizeof(err)), 0);
        if (st[0].level0_files < 4 && st[1].level0_files < 4)
            break;
        usleep(100 * 1000);
    }
    assert_true(st[0].level0_files < 4 && st[1].level0_files < 4);
    store_destroy(s);
    tsu_rmtree(dir);
}

/* A large batch goes in as an ingested table file, a small one through the memtable: the
 * same records give the same store either way (duplicates: the last wins; tombstones;
 * stale timer entries skipped), and no table file is left in the store's directory. */
static void test_large_batches_are_ingested_with_the_same_result(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[256];
    store_t *s = tsu_open(dir, T0);
    store_task_t *small = store_task_open(s, 0, err, sizeof(err));
    store_task_t *large = store_task_open(s, 1, err, sizeof(err));
    enum { N = 12000 };
    static clog_record_t r[N];
    static char names[N][16], vals[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], 16, "c%d", (i * 7919) % 3001);
        snprintf(vals[i], 16, "v%d", i);
        r[i] = rec(i, names[i], (i % 13 == 0) ? NULL : vals[i],
                   (i % 5 == 0) ? TMR_NEVER : T0 + (i * 104729) % 5000);
    }
    assert_int_equal(clog_apply(small, r, N, N, 100, err, sizeof(err)), 0);
    assert_int_equal(clog_apply(large, r, N, N, 0, err, sizeof(err)), 0);
    char *a = dump(small), *b = dump(large);
    assert_string_equal(a, b);
    /* several large batches, each ingested by the writer thread while the next is
     * gathered: later batches must still win */
    store_task_t *several = store_task_open(s, 2, err, sizeof(err));
    assert_int_equal(clog_apply(several, r, N, N, 2500, err, sizeof(err)), 0);
    char *d = dump(several);
    assert_string_equal(a, d);
    free(d);
    /* the same again over what is there: the tail restore of a store that has data */
    assert_int_equal(clog_apply(large, r, N, N, 0, err, sizeof(err)), 0);
    char *c = dump(large);
    assert_string_equal(a, c);
    char path[4200];
    snprintf(path, sizeof(path), "%s/restore-task-1.sst", dir);
    assert_int_not_equal(access(path, F_OK), 0);
    free(a);
    free(b);
    free(c);
    store_destroy(s);
    tsu_rmtree(dir);
}

/* Keys of one kind (tag) in a task's family. */
static size_t count_tag(store_task_t *t, char tag)
{
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(t->store->db, t->store->ropts, t->cf->h);
    size_t n = 0, kl;
    for (rocksdb_iter_seek(it, &tag, 1); rocksdb_iter_valid(it); rocksdb_iter_next(it), n++)
        if (rocksdb_iter_key(it, &kl)[0] != tag)
            break;
    rocksdb_iter_destroy(it);
    return n;
}

#define DAY (24LL * 3600 * 1000)
enum { RUN_N = 6000, RUN_CUST = 2500 };

typedef struct due_model {
    int64_t due[RUN_CUST]; /* the last record's due time, TMR_NEVER = none or deleted */
} due_model_t;

/* Records with due times over ~400 days (a few decades out, past the last run slot),
 * repeats (the last wins), tombstones and no timer; the model of what is pending. */
static void run_records(clog_record_t *r, char (*names)[16], due_model_t *m)
{
    for (int c = 0; c < RUN_CUST; c++)
        m->due[c] = TMR_NEVER;
    for (int i = 0; i < RUN_N; i++) {
        int c = (i * 7919) % RUN_CUST;
        snprintf(names[i], 16, "k%04d", c);
        bool tomb = i % 11 == 0;
        int64_t due = i % 7 == 0    ? TMR_NEVER
                      : i % 97 == 0 ? T0 + 30 * 365 * DAY + i /* beyond 4,096 days */
                                    : T0 - 2 * DAY + (int64_t)((i * 104729) % 400) * DAY + i % 1000;
        r[i] = rec(i, names[i], tomb ? NULL : "s", due);
        m->due[c] = tomb ? TMR_NEVER : due;
    }
}

/* Fire every timer due by @p now as the pipeline does (cancel each in a transaction),
 * checking each comes in (due, customer) order and is one the model has pending. */
static void fire_until(store_task_t *t, due_model_t *m, int64_t now, int64_t *last)
{
    char err[256];
    tmr_entry_t e[64];
    size_t n;
    do {
        assert_int_equal(tmr_due(t, now, e, 64, &n, err, sizeof(err)), 0);
        for (size_t i = 0; i < n; i++) {
            int c = atoi(e[i].customer + 1);
            if (m->due[c] != e[i].due_ms)
                fail_msg("%s fired at %lld, the model has %lld", e[i].customer,
                         (long long)e[i].due_ms, (long long)m->due[c]);
            assert_true(e[i].due_ms >= *last);
            *last = e[i].due_ms;
            m->due[c] = TMR_NEVER;
            assert_int_equal(tmr_cancel(t, e[i].customer, strlen(e[i].customer), err, sizeof(err)),
                             0);
        }
        store_checkpoint_t cp = {.next_input_offset = -1, .changelog_offset = -1};
        assert_int_equal(store_task_commit(t, &cp, err, sizeof(err)), 0);
    } while (n > 0);
    for (int c = 0; c < RUN_CUST; c++)
        if (m->due[c] <= now)
            fail_msg("k%04d due at %lld did not fire by %lld", c, (long long)m->due[c],
                     (long long)now);
}

/* A restore writes its timers as runs, one per batch and day, not as index entries; a
 * due scan turns a run into index entries only once its earliest timer is due, and every
 * timer still fires once, in order, whether the batches were ingested or small. */
static void test_restored_timers_come_as_runs_indexed_when_due(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[256];
    store_t *s = tsu_open(dir, T0);
    static clog_record_t r[RUN_N];
    static char names[RUN_N][16];
    for (int batch = 0; batch < 2; batch++) { /* one ingested batch; small batches */
        store_task_t *t = store_task_open(s, batch, err, sizeof(err));
        assert_non_null(t);
        due_model_t m;
        run_records(r, names, &m);
        assert_int_equal(clog_apply(t, r, RUN_N, RUN_N, batch ? 200 : 0, err, sizeof(err)), 0);
        assert_int_equal(count_tag(t, KEY_TIMER), 0);
        size_t runs = count_tag(t, KEY_TIMER_RUN), timers = 0;
        for (int i = 0; i < RUN_N; i++)
            timers += r[i].state && r[i].next_due_ms != TMR_NEVER;
        if (batch == 0) /* one run per day of the one batch: ~400 keys for ~4,700 timers */
            assert_true(runs > 300 && runs < 500);
        else /* a run per day per batch of 200: about a key per timer */
            assert_true(runs > 300 && runs <= timers);
        store_task_stats_t st;
        assert_int_equal(store_task_stats(t, &st, err, sizeof(err)), 0);
        uint64_t pending = 0;
        for (int c = 0; c < RUN_CUST; c++)
            pending += m.due[c] != TMR_NEVER;
        assert_int_equal(st.timers, pending);
        int64_t last = INT64_MIN;
        fire_until(t, &m, T0, &last); /* the first days only */
        size_t left = count_tag(t, KEY_TIMER_RUN);
        assert_true(left > runs * 3 / 4);
        assert_true(left < runs);
        fire_until(t, &m, T0 + 200 * DAY, &last);
        fire_until(t, &m, T0 + 100 * 365 * DAY, &last);
        assert_int_equal(count_tag(t, KEY_TIMER_RUN), 0);
        assert_int_equal(store_task_stats(t, &st, err, sizeof(err)), 0);
        assert_int_equal(st.timers, 0);
    }
    store_destroy(s);
    tsu_rmtree(dir);
}

/* Two restores whose runs start at the same due time keep both (each restore names its
 * runs), and a read-only store reports what a run holds without expanding it. */
static void test_runs_of_two_restores_and_a_read_only_store(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[256];
    store_t *s = tsu_open(dir, T0);
    store_task_t *t = store_task_open(s, 0, err, sizeof(err));
    assert_non_null(t);
    static char names[200][16];
    for (int i = 0; i < 200; i++) {
        snprintf(names[i], 16, "c%03d", i);
        clog_record_t one = rec(i, names[i], "s", T0 + 5);
        assert_int_equal(clog_apply(t, &one, 1, i + 1, 0, err, sizeof(err)), 0);
    }
    assert_int_equal(count_tag(t, KEY_TIMER_RUN), 200);
    /* c000 again, due later: its first run's entry is stale and must not be reported */
    clog_record_t again = rec(200, names[0], "s2", T0 + 1000);
    assert_int_equal(clog_apply(t, &again, 1, 201, 0, err, sizeof(err)), 0);
    store_destroy(s);
    store_config_t cfg;
    store_config_default(&cfg);
    cfg.dir = dir;
    cfg.read_only = true;
    s = store_new(&cfg, T0, err, sizeof(err));
    assert_non_null(s);
    t = store_task_open(s, 0, err, sizeof(err));
    assert_non_null(t);
    static tmr_entry_t e[256];
    size_t n = 0;
    assert_int_equal(tmr_due(t, T0 + 4, e, 256, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 0);
    assert_int_equal(tmr_due(t, T0 + 5, e, 150, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 150);
    for (int i = 0; i < 150; i++)
        assert_string_equal(e[i].customer, names[i + 1]);
    assert_int_equal(tmr_due(t, T0 + 1000, e, 256, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 200);
    assert_string_equal(e[199].customer, names[0]);
    assert_int_equal(e[199].due_ms, T0 + 1000);
    store_destroy(s);
    s = tsu_open(dir, T0);
    t = store_task_open(s, 0, err, sizeof(err));
    assert_non_null(t);
    assert_int_equal(tmr_due(t, T0 + 5, e, 256, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 199);
    assert_int_equal(count_tag(t, KEY_TIMER_RUN), 1); /* c000's later run */
    assert_int_equal(count_tag(t, KEY_TIMER), 199);   /* c000's stale one: removed by the scan */
    store_destroy(s);
    tsu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restore_applies_states_tombstones_and_timers),
        cmocka_unit_test(test_large_batches_are_ingested_with_the_same_result),
        cmocka_unit_test(test_long_keys_with_shared_prefixes_sort_like_bytes),
        cmocka_unit_test(test_compactions_resume_after_a_bulk_restore),
        cmocka_unit_test(test_compactions_wait_for_the_last_restore),
        cmocka_unit_test(test_restore_applied_twice_gives_the_same_store),
        cmocka_unit_test(test_restore_keeps_next_input_offset_and_checkpoints_each_batch),
        cmocka_unit_test(test_restore_refuses_a_task_with_staged_changes),
        cmocka_unit_test(test_restored_timer_before_the_scanned_range_is_found),
        cmocka_unit_test(test_restored_timers_come_as_runs_indexed_when_due),
        cmocka_unit_test(test_runs_of_two_restores_and_a_read_only_store),
        cmocka_unit_test(test_frame_round_trip_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
