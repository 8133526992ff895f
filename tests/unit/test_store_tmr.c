/*
 * Unit tests of the timer index: order, replacement, cancel, visibility of staged
 * changes, survival across restarts. Real RocksDB in temporary directories.
 */
#include "store.h"
#include "test_store_util.h"
#include "tmr.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define T0 1700000000000LL

static void set(store_task_t *t, const char *c, int64_t due)
{
    char err[256];
    if (tmr_set(t, c, strlen(c), due, err, sizeof(err)) != 0)
        fail_msg("tmr_set: %s", err);
}

static size_t due(store_task_t *t, int64_t now, tmr_entry_t *out, size_t max)
{
    char err[256];
    size_t n = 0;
    if (tmr_due(t, now, out, max, &n, err, sizeof(err)) != 0)
        fail_msg("tmr_due: %s", err);
    return n;
}

static void commit(store_task_t *t, int64_t next)
{
    char err[256];
    store_checkpoint_t cp = {next, next};
    if (store_task_commit(t, &cp, err, sizeof(err)) != 0)
        fail_msg("commit: %s", err);
}

static void test_due_timers_come_in_due_order_then_customer(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[256];
    store_t *s = tsu_open(dir, T0);
    store_task_t *t = store_task_open(s, 0, err, sizeof(err));
    set(t, "carol", T0 + 30);
    set(t, "bob", T0 + 10);
    set(t, "alice", T0 + 10);
    set(t, "dave", T0 + 20);
    set(t, "erin", -5); /* before the epoch still sorts first */
    commit(t, 1);
    tmr_entry_t e[8];
    size_t n = due(t, T0 + 20, e, 8);
    assert_int_equal(n, 4);
    assert_string_equal(e[0].customer, "erin");
    assert_int_equal(e[0].due_ms, -5);
    assert_string_equal(e[1].customer, "alice");
    assert_string_equal(e[2].customer, "bob");
    assert_string_equal(e[3].customer, "dave");
    assert_int_equal(e[3].due_ms, T0 + 20);
    assert_int_equal(due(t, T0 + 100, e, 2), 2); /* bounded by max */
    assert_int_equal(due(t, -6, e, 8), 0);
    store_destroy(s);
    tsu_rmtree(dir);
}

static void test_new_due_time_replaces_the_pending_one(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[256];
    store_t *s = tsu_open(dir, T0);
    store_task_t *t = store_task_open(s, 0, err, sizeof(err));
    set(t, "alice", T0 + 10);
    commit(t, 1);
    set(t, "alice", T0 + 50); /* replaces the committed one, staged */
    tmr_entry_t e[4];
    assert_int_equal(due(t, T0 + 20, e, 4), 0);
    assert_int_equal(due(t, T0 + 50, e, 4), 1);
    set(t, "alice", T0 + 5); /* and again, within the same transaction */
    assert_int_equal(due(t, T0 + 100, e, 4), 1);
    assert_int_equal(e[0].due_ms, T0 + 5);
    commit(t, 2);
    store_task_stats_t st;
    assert_int_equal(store_task_stats(t, &st, err, sizeof(err)), 0);
    assert_int_equal(st.timers, 1);
    int64_t d;
    assert_int_equal(tmr_get(t, "alice", 5, &d, err, sizeof(err)), 0);
    assert_int_equal(d, T0 + 5);
    store_destroy(s);
    tsu_rmtree(dir);
}

static void test_cancel_removes_and_never_cancels(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[256];
    store_t *s = tsu_open(dir, T0);
    store_task_t *t = store_task_open(s, 0, err, sizeof(err));
    set(t, "alice", T0);
    set(t, "bob", T0);
    commit(t, 1);
    assert_int_equal(tmr_cancel(t, "alice", 5, err, sizeof(err)), 0);
    set(t, "bob", TMR_NEVER);
    assert_int_equal(tmr_cancel(t, "nobody", 6, err, sizeof(err)), 0); /* no-op */
    tmr_entry_t e[4];
    assert_int_equal(due(t, T0, e, 4), 0); /* staged cancels are seen */
    commit(t, 2);
    store_task_stats_t st;
    assert_int_equal(store_task_stats(t, &st, err, sizeof(err)), 0);
    assert_int_equal(st.timers, 0);
    int64_t d;
    assert_int_equal(tmr_get(t, "bob", 3, &d, err, sizeof(err)), STORE_NOT_FOUND);
    assert_int_equal(d, TMR_NEVER);
    store_destroy(s);
    tsu_rmtree(dir);
}

static void test_staged_timers_mix_with_committed_ones_in_order(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[256];
    store_t *s = tsu_open(dir, T0);
    store_task_t *t = store_task_open(s, 0, err, sizeof(err));
    set(t, "a", T0 + 1);
    set(t, "c", T0 + 3);
    commit(t, 1);
    set(t, "b", T0 + 2);
    set(t, "d", T0 + 4);
    tmr_entry_t e[8];
    assert_int_equal(due(t, T0 + 10, e, 8), 4);
    assert_string_equal(e[0].customer, "a");
    assert_string_equal(e[1].customer, "b");
    assert_string_equal(e[2].customer, "c");
    assert_string_equal(e[3].customer, "d");
    store_task_abort(t);
    assert_int_equal(due(t, T0 + 10, e, 8), 2);
    store_destroy(s);
    tsu_rmtree(dir);
}

static void test_timers_survive_restart_and_stay_per_task(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[256];
    store_t *s = tsu_open(dir, T0);
    store_task_t *t0 = store_task_open(s, 0, err, sizeof(err));
    store_task_t *t1 = store_task_open(s, 1, err, sizeof(err));
    set(t0, "alice", T0 + 1);
    set(t1, "bob", T0 + 2);
    commit(t0, 1);
    commit(t1, 1);
    store_destroy(s);
    s = tsu_open(dir, T0);
    t0 = store_task_open(s, 0, err, sizeof(err));
    t1 = store_task_open(s, 1, err, sizeof(err));
    tmr_entry_t e[4];
    assert_int_equal(due(t0, T0 + 10, e, 4), 1);
    assert_string_equal(e[0].customer, "alice");
    assert_int_equal(due(t1, T0 + 10, e, 4), 1);
    assert_string_equal(e[0].customer, "bob");
    assert_int_equal(e[0].customer_len, 3);
    store_destroy(s);
    tsu_rmtree(dir);
}

static void test_many_timers_fire_in_order_across_batches(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[256];
    store_t *s = tsu_open(dir, T0);
    store_task_t *t = store_task_open(s, 0, err, sizeof(err));
    /* 2,000 customers with pseudo-random due times; fire them by rescheduling. */
    uint32_t x = 12345;
    for (int i = 0; i < 2000; i++) {
        char c[16];
        x = x * 1103515245u + 12345u;
        snprintf(c, sizeof(c), "c%04d", i);
        set(t, c, T0 + (int64_t)(x % 100000));
    }
    commit(t, 1);
    tmr_entry_t e[64];
    int64_t last = INT64_MIN;
    size_t fired = 0, n;
    while ((n = due(t, T0 + 100000, e, 64)) > 0) {
        for (size_t i = 0; i < n; i++) {
            assert_true(e[i].due_ms >= last);
            last = e[i].due_ms;
            set(t, e[i].customer, TMR_NEVER); /* handled: no next timer */
        }
        fired += n;
        commit(t, 2);
    }
    assert_int_equal(fired, 2000);
    store_destroy(s);
    tsu_rmtree(dir);
}

static void test_timer_earlier_than_any_scanned_before_is_still_found(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[256];
    store_t *s = tsu_open(dir, T0);
    store_task_t *t = store_task_open(s, 0, err, sizeof(err));
    set(t, "late", T0 + 1000);
    commit(t, 1);
    tmr_entry_t e[4];
    assert_int_equal(due(t, T0, e, 4), 0); /* the scan learns: nothing before T0 + 1000 */
    set(t, "early", T0 - 1000);            /* staged, earlier than that */
    assert_int_equal(due(t, T0, e, 4), 1);
    assert_string_equal(e[0].customer, "early");
    store_task_abort(t);
    assert_int_equal(due(t, T0 + 1000, e, 4), 1);
    assert_string_equal(e[0].customer, "late");
    store_destroy(s);
    s = tsu_open(dir, T0);
    t = store_task_open(s, 0, err, sizeof(err));
    assert_int_equal(due(t, T0 + 1000, e, 4), 1);
    set(t, "late", TMR_NEVER);
    set(t, "early", T0 - 5);
    commit(t, 2);
    assert_int_equal(due(t, T0, e, 4), 1);
    assert_string_equal(e[0].customer, "early");
    store_destroy(s);
    tsu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_due_timers_come_in_due_order_then_customer),
        cmocka_unit_test(test_new_due_time_replaces_the_pending_one),
        cmocka_unit_test(test_cancel_removes_and_never_cancels),
        cmocka_unit_test(test_staged_timers_mix_with_committed_ones_in_order),
        cmocka_unit_test(test_timers_survive_restart_and_stay_per_task),
        cmocka_unit_test(test_many_timers_fire_in_order_across_batches),
        cmocka_unit_test(test_timer_earlier_than_any_scanned_before_is_still_found),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
