/*
 * Unit tests of the store: open and errors, column family life cycle, staging with own
 * writes, atomic commit with checkpoint, abort. Real RocksDB in temporary directories.
 */
#include "store.h"
#include "test_store_util.h"
#include "tmr.h"

#include <pthread.h>
#include <rocksdb/c.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define T0 1700000000000LL

static void test_new_store_reopens_and_is_empty(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[512];
    store_t *s = tsu_open(dir, T0);
    size_t n = 99;
    int32_t parts[4];
    store_tasks(s, parts, 4, &n);
    assert_int_equal(n, 0);
    store_task_t *t = store_task_open(s, 3, err, sizeof(err));
    assert_non_null(t);
    store_checkpoint_t cp;
    assert_int_equal(store_task_checkpoint(t, &cp, err, sizeof(err)), 0);
    assert_int_equal(cp.next_input_offset, -1);
    assert_int_equal(cp.changelog_offset, -1);
    store_destroy(s);
    s = tsu_open(dir, T0);
    store_tasks(s, parts, 4, &n);
    assert_int_equal(n, 1);
    assert_int_equal(parts[0], 3);
    store_destroy(s);
    tsu_rmtree(dir);
}

static void test_own_writes_are_visible_before_commit_and_not_in_db(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[512];
    store_t *s = tsu_open(dir, T0);
    store_task_t *t = store_task_open(s, 0, err, sizeof(err));
    tsu_put(t, "alice", "v1");
    char *v = tsu_get(t, "alice");
    assert_string_equal(v, "v1");
    free(v);
    tsu_put(t, "alice", "v2"); /* the last staged write wins */
    v = tsu_get(t, "alice");
    assert_string_equal(v, "v2");
    free(v);
    assert_true(store_task_staged(t) > 0);

    /* A read-only view of the database sees nothing: RocksDB holds no uncommitted data. */
    store_config_t cfg;
    store_config_default(&cfg);
    cfg.dir = dir;
    cfg.read_only = true;
    store_t *ro = store_new(&cfg, T0, err, sizeof(err));
    assert_non_null(ro);
    store_task_t *rt = store_task_open(ro, 0, err, sizeof(err));
    assert_non_null(rt);
    assert_null(tsu_get(rt, "alice"));
    store_destroy(ro);
    store_destroy(s);
    tsu_rmtree(dir);
}

static void test_commit_writes_data_and_checkpoint_together(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[512];
    store_t *s = tsu_open(dir, T0);
    store_task_t *t = store_task_open(s, 1, err, sizeof(err));
    tsu_put(t, "alice", "a1");
    tsu_put(t, "bob", "b1");
    store_checkpoint_t cp = {.next_input_offset = 42, .changelog_offset = 7};
    assert_int_equal(store_task_commit(t, &cp, err, sizeof(err)), 0);
    assert_int_equal(store_task_staged(t), 0);
    store_destroy(s);

    s = tsu_open(dir, T0);
    t = store_task_open(s, 1, err, sizeof(err));
    assert_non_null(t);
    char *v = tsu_get(t, "bob");
    assert_string_equal(v, "b1");
    free(v);
    store_checkpoint_t got;
    assert_int_equal(store_task_checkpoint(t, &got, err, sizeof(err)), 0);
    assert_int_equal(got.next_input_offset, 42);
    assert_int_equal(got.changelog_offset, 7);
    store_task_stats_t st;
    assert_int_equal(store_task_stats(t, &st, err, sizeof(err)), 0);
    assert_int_equal(st.customers, 2);
    /* -1 = unchanged: a transaction that consumed nothing keeps the input offset. */
    tsu_put(t, "carol", "c1");
    store_checkpoint_t timers_only = {-1, 9};
    assert_int_equal(store_task_commit(t, &timers_only, err, sizeof(err)), 0);
    assert_int_equal(store_task_checkpoint(t, &got, err, sizeof(err)), 0);
    assert_int_equal(got.next_input_offset, 42);
    assert_int_equal(got.changelog_offset, 9);
    store_checkpoint_t nothing = {-1, -1};
    assert_int_equal(store_task_commit(t, &nothing, err, sizeof(err)), 0);
    assert_int_equal(store_task_checkpoint(t, &got, err, sizeof(err)), 0);
    assert_int_equal(got.next_input_offset, 42);
    assert_int_equal(got.changelog_offset, 9);
    store_destroy(s);
    tsu_rmtree(dir);
}

static void test_abort_drops_staged_changes(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[512];
    store_t *s = tsu_open(dir, T0);
    store_task_t *t = store_task_open(s, 0, err, sizeof(err));
    tsu_put(t, "alice", "committed");
    store_checkpoint_t cp = {1, 1};
    assert_int_equal(store_task_commit(t, &cp, err, sizeof(err)), 0);
    tsu_put(t, "alice", "aborted");
    tsu_put(t, "carol", "aborted");
    assert_int_equal(tmr_set(t, "carol", 5, T0, err, sizeof(err)), 0);
    store_task_abort(t);
    assert_int_equal(store_task_staged(t), 0);
    char *v = tsu_get(t, "alice");
    assert_string_equal(v, "committed");
    free(v);
    assert_null(tsu_get(t, "carol"));
    int64_t due;
    assert_int_equal(tmr_get(t, "carol", 5, &due, err, sizeof(err)), STORE_NOT_FOUND);
    store_destroy(s);
    tsu_rmtree(dir);
}

static void test_delete_removes_state_and_timer(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[512];
    store_t *s = tsu_open(dir, T0);
    store_task_t *t = store_task_open(s, 0, err, sizeof(err));
    tsu_put(t, "alice", "a");
    assert_int_equal(tmr_set(t, "alice", 5, T0 + 10, err, sizeof(err)), 0);
    store_checkpoint_t cp = {1, 1};
    assert_int_equal(store_task_commit(t, &cp, err, sizeof(err)), 0);
    assert_int_equal(store_delete(t, "alice", 5, err, sizeof(err)), 0);
    assert_null(tsu_get(t, "alice"));
    cp.next_input_offset = 2;
    assert_int_equal(store_task_commit(t, &cp, err, sizeof(err)), 0);
    store_task_stats_t st;
    assert_int_equal(store_task_stats(t, &st, err, sizeof(err)), 0);
    assert_int_equal(st.customers, 0);
    assert_int_equal(st.timers, 0);
    store_destroy(s);
    tsu_rmtree(dir);
}

static void test_put_due_moves_state_and_timer_together(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[512], *v;
    size_t vlen;
    int64_t due;
    store_t *s = tsu_open(dir, T0);
    store_task_t *t = store_task_open(s, 0, err, sizeof(err));
    assert_int_equal(store_get_due(t, "alice", 5, &v, &vlen, &due, err, sizeof(err)),
                     STORE_NOT_FOUND);
    assert_int_equal(due, STORE_NO_DUE);
    assert_int_equal(store_put_due(t, "alice", 5, "s1", 2, T0 + 10, err, sizeof(err)), 0);
    store_checkpoint_t cp = {1, 1};
    assert_int_equal(store_task_commit(t, &cp, err, sizeof(err)), 0);
    assert_int_equal(store_get_due(t, "alice", 5, &v, &vlen, &due, err, sizeof(err)), 0);
    assert_int_equal(vlen, 2);
    assert_memory_equal(v, "s1", 2);
    assert_int_equal(due, T0 + 10);
    free(v);
    assert_int_equal(store_put_due(t, "alice", 5, "s2", 2, T0 + 20, err, sizeof(err)), 0);
    assert_int_equal(store_put(t, "alice", 5, "s3", 2, err, sizeof(err)), 0); /* keeps due */
    cp.next_input_offset = 2;
    assert_int_equal(store_task_commit(t, &cp, err, sizeof(err)), 0);
    tmr_entry_t e[4];
    size_t n;
    assert_int_equal(tmr_due(t, T0 + 100, e, 4, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 1);
    assert_int_equal(e[0].due_ms, T0 + 20);
    assert_int_equal(store_put_due(t, "alice", 5, "s4", 2, STORE_NO_DUE, err, sizeof(err)), 0);
    assert_int_equal(tmr_due(t, T0 + 100, e, 4, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 0);
    store_destroy(s);
    tsu_rmtree(dir);
}

static void test_timer_only_customer_has_no_state(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[512];
    store_t *s = tsu_open(dir, T0);
    store_task_t *t = store_task_open(s, 0, err, sizeof(err));
    assert_int_equal(tmr_set(t, "bob", 3, T0, err, sizeof(err)), 0);
    assert_null(tsu_get(t, "bob"));
    store_checkpoint_t cp = {1, 1};
    assert_int_equal(store_task_commit(t, &cp, err, sizeof(err)), 0);
    store_task_stats_t st;
    assert_int_equal(store_task_stats(t, &st, err, sizeof(err)), 0);
    assert_int_equal(st.customers, 0);
    assert_int_equal(st.timers, 1);
    tsu_put(t, "bob", "b"); /* gains a state, keeps the timer */
    int64_t due;
    assert_int_equal(tmr_get(t, "bob", 3, &due, err, sizeof(err)), 0);
    assert_int_equal(due, T0);
    assert_int_equal(tmr_cancel(t, "bob", 3, err, sizeof(err)), 0); /* keeps the state */
    char *v = tsu_get(t, "bob");
    assert_string_equal(v, "b");
    free(v);
    store_destroy(s);
    tsu_rmtree(dir);
}

static void test_abort_forgets_what_the_read_cache_saw(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[512], *v;
    size_t vlen;
    store_t *s = tsu_open(dir, T0);
    store_task_t *t = store_task_open(s, 0, err, sizeof(err));
    assert_int_equal(store_put_due(t, "alice", 5, "s1", 2, T0 + 1, err, sizeof(err)), 0);
    store_checkpoint_t cp = {1, 1};
    assert_int_equal(store_task_commit(t, &cp, err, sizeof(err)), 0);
    assert_int_equal(store_get(t, "alice", 5, &v, &vlen, err, sizeof(err)), 0);
    free(v);
    assert_int_equal(store_put_due(t, "alice", 5, "s2", 2, T0 + 2, err, sizeof(err)), 0);
    store_task_abort(t); /* the staged due T0 + 2 is gone; T0 + 1 is the one to replace */
    assert_int_equal(store_put_due(t, "alice", 5, "s3", 2, T0 + 3, err, sizeof(err)), 0);
    cp.next_input_offset = 2;
    assert_int_equal(store_task_commit(t, &cp, err, sizeof(err)), 0);
    store_task_stats_t st;
    assert_int_equal(store_task_stats(t, &st, err, sizeof(err)), 0);
    assert_int_equal(st.timers, 1);
    store_destroy(s);
    tsu_rmtree(dir);
}

static void test_closed_task_keeps_its_data_until_gc_delay(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[512];
    store_config_t cfg;
    store_config_default(&cfg);
    cfg.dir = dir;
    cfg.task_drop_delay_ms = 1000;
    store_t *s = store_new(&cfg, T0, err, sizeof(err));
    assert_non_null(s);
    store_task_t *t = store_task_open(s, 5, err, sizeof(err));
    tsu_put(t, "alice", "a");
    store_checkpoint_t cp = {10, 3};
    assert_int_equal(store_task_commit(t, &cp, err, sizeof(err)), 0);
    assert_int_equal(store_task_close(s, t, T0, err, sizeof(err)), 0);
    assert_null(store_task_find(s, 5));
    int64_t closed;
    assert_int_equal(store_task_closed_at(s, 5, &closed), 0);
    assert_int_equal(closed, T0);

    int dropped = -1;
    assert_int_equal(store_gc(s, T0 + 999, &dropped, err, sizeof(err)), 0);
    assert_int_equal(dropped, 0);
    /* It comes back before the delay: data and checkpoint are still there. */
    t = store_task_open(s, 5, err, sizeof(err));
    assert_non_null(t);
    char *v = tsu_get(t, "alice");
    assert_string_equal(v, "a");
    free(v);
    assert_int_equal(store_gc(s, T0 + 5000, &dropped, err, sizeof(err)), 0);
    assert_int_equal(dropped, 0); /* open tasks are never dropped */
    assert_int_equal(store_task_close(s, t, T0 + 2000, err, sizeof(err)), 0);
    store_destroy(s);

    /* The close time survives a restart; the drop happens delay after it. */
    s = store_new(&cfg, T0 + 2500, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(store_task_closed_at(s, 5, &closed), 0);
    assert_int_equal(closed, T0 + 2000);
    assert_int_equal(store_gc(s, T0 + 3000, &dropped, err, sizeof(err)), 0);
    assert_int_equal(dropped, 1);
    size_t n;
    int32_t parts[2];
    store_tasks(s, parts, 2, &n);
    assert_int_equal(n, 0);
    t = store_task_open(s, 5, err, sizeof(err)); /* a fresh, empty family */
    assert_null(tsu_get(t, "alice"));
    store_task_checkpoint(t, &cp, err, sizeof(err));
    assert_int_equal(cp.next_input_offset, -1);
    store_destroy(s);
    tsu_rmtree(dir);
}

static void test_task_found_unassigned_at_start_counts_as_closed_then(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[512];
    store_t *s = tsu_open(dir, T0);
    assert_non_null(store_task_open(s, 2, err, sizeof(err)));
    store_destroy(s); /* a crash: the task was never closed */
    s = tsu_open(dir, T0 + 100);
    int64_t closed;
    assert_int_equal(store_task_closed_at(s, 2, &closed), 0);
    assert_int_equal(closed, T0 + 100);
    assert_non_null(store_task_open(s, 2, err, sizeof(err)));
    assert_null(store_task_open(s, 2, err, sizeof(err))); /* already open */
    assert_non_null(strstr(err, "already open"));
    store_destroy(s);
    tsu_rmtree(dir);
}

static void test_many_tasks_keep_their_own_data(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[512];
    store_t *s = tsu_open(dir, T0);
    /* Opened out of order to exercise the sorted family table. */
    int order[] = {7, 2, 11, 0, 5, 9, 1, 3, 10, 4, 8, 6};
    for (int i = 0; i < 12; i++) {
        store_task_t *t = store_task_open(s, order[i], err, sizeof(err));
        assert_non_null(t);
        char v[16];
        snprintf(v, sizeof(v), "p%d", order[i]);
        tsu_put(t, "alice", v);
    }
    for (int p = 0; p < 12; p++) {
        store_task_t *t = store_task_find(s, p);
        assert_non_null(t);
        assert_int_equal(store_task_partition(t), p);
        store_checkpoint_t cp = {p, p};
        assert_int_equal(store_task_commit(t, &cp, err, sizeof(err)), 0);
        char *v = tsu_get(t, "alice"), want[16];
        snprintf(want, sizeof(want), "p%d", p);
        assert_string_equal(v, want);
        free(v);
    }
    store_destroy(s);
    tsu_rmtree(dir);
}

static void test_locked_store_is_refused_with_path(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[1024];
    store_t *s = tsu_open(dir, T0);
    store_config_t cfg;
    store_config_default(&cfg);
    cfg.dir = dir;
    assert_null(store_new(&cfg, T0, err, sizeof(err)));
    print_message("%s\n", err);
    assert_non_null(strstr(err, dir));
    assert_non_null(strstr(err, "locked by another process"));
    store_destroy(s);
    tsu_rmtree(dir);
}

/* Write a raw RocksDB database with an optional format_version value. */
static void raw_db(const char *dir, const char *version)
{
    char *rerr = NULL;
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(o, 1);
    rocksdb_t *db = rocksdb_open(o, dir, &rerr);
    assert_null(rerr);
    rocksdb_writeoptions_t *w = rocksdb_writeoptions_create();
    if (version)
        rocksdb_put(db, w, "format_version", 14, version, strlen(version), &rerr);
    else /* someone else's data */
        rocksdb_put(db, w, "user:1", 6, "x", 1, &rerr);
    assert_null(rerr);
    rocksdb_writeoptions_destroy(w);
    rocksdb_close(db);
    rocksdb_options_destroy(o);
}

static void test_other_format_version_is_refused(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[1024];
    raw_db(dir, "2");
    store_config_t cfg;
    store_config_default(&cfg);
    cfg.dir = dir;
    assert_null(store_new(&cfg, T0, err, sizeof(err)));
    assert_non_null(strstr(err, dir));
    assert_non_null(strstr(err, "format version 2"));
    tsu_rmtree(dir);
}

static void test_foreign_database_is_refused(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[1024];
    raw_db(dir, NULL);
    store_config_t cfg;
    store_config_default(&cfg);
    cfg.dir = dir;
    assert_null(store_new(&cfg, T0, err, sizeof(err)));
    assert_non_null(strstr(err, "not a loyalty-stream state store"));
    tsu_rmtree(dir);
}

/* A creation killed between RocksDB's open and the format key leaves an empty database:
 * it is ours to finish, not a foreign one (the store crash test met this). */
static void test_empty_database_is_finished_as_a_new_store(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[1024];
    char *rerr = NULL;
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(o, 1);
    rocksdb_t *db = rocksdb_open(o, dir, &rerr);
    assert_null(rerr);
    rocksdb_close(db);
    rocksdb_options_destroy(o);
    store_config_t cfg;
    store_config_default(&cfg);
    cfg.dir = dir;
    store_t *s = store_new(&cfg, T0, err, sizeof(err));
    assert_non_null(s);
    store_destroy(s);
    s = store_new(&cfg, T0, err, sizeof(err)); /* and it now carries the format key */
    assert_non_null(s);
    store_destroy(s);
    tsu_rmtree(dir);
}

static void test_corrupt_store_is_refused_and_nothing_deleted(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[1024], path[4200];
    store_destroy(tsu_open(dir, T0));
    /* CURRENT names the manifest; point it at garbage. */
    snprintf(path, sizeof(path), "%s/CURRENT", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("MANIFEST-999999\n", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/MANIFEST-999999", dir);
    f = fopen(path, "w");
    fputs("this is not a manifest at all, definitely not", f);
    fclose(f);
    store_config_t cfg;
    store_config_default(&cfg);
    cfg.dir = dir;
    assert_null(store_new(&cfg, T0, err, sizeof(err)));
    print_message("%s\n", err);
    assert_non_null(strstr(err, dir));
    assert_non_null(strstr(err, "corrupt"));
    f = fopen(path, "r"); /* still there */
    assert_non_null(f);
    fclose(f);
    tsu_rmtree(dir);
}

static void test_task_drop_forgets_state_and_checkpoint(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[1024];
    store_t *s = tsu_open(dir, T0);
    store_task_t *t = store_task_open(s, 2, err, sizeof(err));
    tsu_put(t, "alice", "v1");
    store_checkpoint_t cp = {.next_input_offset = 7, .changelog_offset = 9};
    assert_int_equal(store_task_commit(t, &cp, err, sizeof(err)), 0);
    assert_int_equal(store_task_drop(s, 2, err, sizeof(err)), -1); /* open: refused */
    assert_non_null(strstr(err, "open"));
    assert_int_equal(store_task_close(s, t, T0, err, sizeof(err)), 0);
    assert_int_equal(store_task_drop(s, 2, err, sizeof(err)), 0);
    assert_int_equal(store_task_drop(s, 2, err, sizeof(err)), STORE_NOT_FOUND);
    store_destroy(s);
    s = tsu_open(dir, T0); /* gone for good: the task restores from the whole changelog */
    t = store_task_open(s, 2, err, sizeof(err));
    assert_int_equal(store_task_checkpoint(t, &cp, err, sizeof(err)), 0);
    assert_int_equal(cp.changelog_offset, -1);
    assert_null(tsu_get(t, "alice"));
    store_destroy(s);
    tsu_rmtree(dir);
}

static void test_wipe_deletes_a_corrupt_store_and_refuses_an_open_one(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[1024], path[4200];
    store_t *s = tsu_open(dir, T0);
    assert_int_equal(store_wipe(dir, err, sizeof(err)), -1); /* in use */
    print_message("%s\n", err);
    store_destroy(s);
    snprintf(path, sizeof(path), "%s/CURRENT", dir);
    FILE *f = fopen(path, "w");
    fputs("MANIFEST-999999\n", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/MANIFEST-999999", dir);
    f = fopen(path, "w");
    fputs("this is not a manifest at all, definitely not", f);
    fclose(f);
    store_config_t cfg;
    store_config_default(&cfg);
    cfg.dir = dir;
    assert_null(store_new(&cfg, T0, err, sizeof(err)));
    assert_true(store_err_is_corrupt(err));
    assert_non_null(strstr(err, "loyalty-stream reset --state"));
    assert_int_equal(store_wipe(dir, err, sizeof(err)), 0);
    s = store_new(&cfg, T0, err, sizeof(err)); /* a new, empty store */
    assert_non_null(s);
    size_t n = 99;
    int32_t parts[4];
    store_tasks(s, parts, 4, &n);
    assert_int_equal(n, 0);
    store_destroy(s);
    assert_false(store_err_is_corrupt("state store /x is locked by another process"));
    tsu_rmtree(dir);
}

static void test_read_only_store_refuses_writes_and_missing_tasks(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[1024];
    store_config_t cfg;
    store_config_default(&cfg);
    cfg.dir = dir;
    cfg.read_only = true;
    assert_null(store_new(&cfg, T0, err, sizeof(err)));
    assert_non_null(strstr(err, "no state store at"));
    store_destroy(tsu_open(dir, T0));
    store_t *s = store_new(&cfg, T0, err, sizeof(err));
    assert_non_null(s);
    assert_null(store_task_open(s, 4, err, sizeof(err)));
    assert_non_null(strstr(err, "no task 4"));
    store_destroy(s);
    tsu_rmtree(dir);
}

static void test_customer_id_limits(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[512], big[STORE_CUSTOMER_MAX + 2];
    memset(big, 'x', sizeof(big));
    store_t *s = tsu_open(dir, T0);
    store_task_t *t = store_task_open(s, 0, err, sizeof(err));
    assert_int_equal(store_put(t, big, STORE_CUSTOMER_MAX + 1, "v", 1, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "customer id"));
    assert_int_equal(store_put(t, big, STORE_CUSTOMER_MAX, "v", 1, err, sizeof(err)), 0);
    assert_int_equal(store_put(t, "", 0, "v", 1, err, sizeof(err)), -1);
    store_destroy(s);
    tsu_rmtree(dir);
}

struct reader {
    store_t *s;
    atomic_bool stop;
    long reads, torn, went_back, errors;
};

/* Another thread (like the HTTP server's) reads committed states while the pipeline
 * commits and opens, closes and drops task families. */
static void *reader_main(void *arg)
{
    struct reader *r = arg;
    long last = -1;
    char err[256];
    while (!atomic_load(&r->stop)) {
        char *v = NULL;
        size_t vlen = 0;
        int64_t due = 0;
        int32_t in = -1;
        int rc = store_read_committed(r->s, -1, "alice", 5, &v, &vlen, &due, &in, err, sizeof(err));
        r->reads++;
        if (rc < 0)
            r->errors++;
        if (rc == 0) {
            char num[16] = {0};
            memcpy(num, v, vlen < 15 ? vlen : 15); /* values are not NUL-terminated */
            long g = strtol(num, NULL, 10);
            r->torn += in != 0 || due != T0 + g || vlen != 8; /* value and due disagree */
            r->went_back += g < last;
            last = g;
        }
        free(v);
    }
    return NULL;
}

static void test_committed_reads_from_another_thread_are_whole_and_safe(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[512];
    store_config_t cfg;
    store_config_default(&cfg);
    cfg.dir = dir;
    cfg.task_drop_delay_ms = 0;
    store_t *s = store_new(&cfg, T0, err, sizeof(err));
    store_task_t *t = store_task_open(s, 0, err, sizeof(err));
    struct reader r = {.s = s};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, reader_main, &r), 0);
    for (int g = 1; g <= 2000; g++) {
        char v[16];
        snprintf(v, sizeof(v), "%08d", g);
        assert_int_equal(store_put_due(t, "alice", 5, v, 8, T0 + g, err, sizeof(err)), 0);
        store_checkpoint_t cp = {g, g};
        assert_int_equal(store_task_commit(t, &cp, err, sizeof(err)), 0);
        if (g % 100 == 0) { /* family table churn under the reader */
            store_task_t *x = store_task_open(s, 1 + g / 100, err, sizeof(err));
            assert_non_null(x);
            assert_int_equal(store_task_close(s, x, T0, err, sizeof(err)), 0);
            assert_int_equal(store_gc(s, T0 + 1, NULL, err, sizeof(err)), 0);
        }
    }
    atomic_store(&r.stop, true);
    pthread_join(th, NULL);
    print_message("%ld reads\n", r.reads);
    assert_true(r.reads > 0);
    assert_int_equal(r.errors, 0);
    assert_int_equal(r.torn, 0);
    assert_int_equal(r.went_back, 0);
    char *v = NULL;
    size_t vlen;
    assert_int_equal(
        store_read_committed(s, 3, "alice", 5, &v, &vlen, NULL, NULL, err, sizeof(err)),
        STORE_NOT_FOUND); /* another task */
    store_destroy(s);
    tsu_rmtree(dir);
}

static void test_memory_split_adds_up_to_the_budget(void **state)
{
    (void)state;
    store_memory_split_t m;
    store_memory_split(STORE_DEFAULT_MEMORY_BUDGET, &m);
    assert_int_equal(m.block_cache_bytes + m.write_buffer_total, STORE_DEFAULT_MEMORY_BUDGET);
    assert_true(m.write_buffer_per_task <= m.write_buffer_total);
    store_memory_split(1, &m); /* below the floor: the floor */
    assert_true(m.block_cache_bytes > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_store_reopens_and_is_empty),
        cmocka_unit_test(test_own_writes_are_visible_before_commit_and_not_in_db),
        cmocka_unit_test(test_commit_writes_data_and_checkpoint_together),
        cmocka_unit_test(test_abort_drops_staged_changes),
        cmocka_unit_test(test_delete_removes_state_and_timer),
        cmocka_unit_test(test_put_due_moves_state_and_timer_together),
        cmocka_unit_test(test_timer_only_customer_has_no_state),
        cmocka_unit_test(test_abort_forgets_what_the_read_cache_saw),
        cmocka_unit_test(test_closed_task_keeps_its_data_until_gc_delay),
        cmocka_unit_test(test_task_found_unassigned_at_start_counts_as_closed_then),
        cmocka_unit_test(test_many_tasks_keep_their_own_data),
        cmocka_unit_test(test_locked_store_is_refused_with_path),
        cmocka_unit_test(test_other_format_version_is_refused),
        cmocka_unit_test(test_foreign_database_is_refused),
        cmocka_unit_test(test_empty_database_is_finished_as_a_new_store),
        cmocka_unit_test(test_corrupt_store_is_refused_and_nothing_deleted),
        cmocka_unit_test(test_task_drop_forgets_state_and_checkpoint),
        cmocka_unit_test(test_wipe_deletes_a_corrupt_store_and_refuses_an_open_one),
        cmocka_unit_test(test_read_only_store_refuses_writes_and_missing_tasks),
        cmocka_unit_test(test_customer_id_limits),
        cmocka_unit_test(test_committed_reads_from_another_thread_are_whole_and_safe),
        cmocka_unit_test(test_memory_split_adds_up_to_the_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
