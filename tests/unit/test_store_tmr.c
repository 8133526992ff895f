/*
 * Unit tests of the timer index: order, replacement, cancel, visibility of staged
 * changes, survival across restarts, and a model check of random transactions with
 * restores in between (which leave stale index entries). Real RocksDB in temporary
 * directories.
 */
#include "clog.h"
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

/* ------------------------------------------------------------------ model check */

#define MC_CUSTOMERS 24

typedef struct mc_rec {
    bool exists, has_state;
    int64_t due;
    int val; /* the state is "v<val>" */
} mc_rec_t;

static uint64_t mc_rng = 0x2545F4914F6CDD1DULL;
static uint64_t mc_rand(void)
{
    mc_rng ^= mc_rng << 13;
    mc_rng ^= mc_rng >> 7;
    mc_rng ^= mc_rng << 17;
    return mc_rng;
}

static int mc_cmp(const void *a, const void *b)
{
    const tmr_entry_t *x = a, *y = b;
    if (x->due_ms != y->due_ms)
        return x->due_ms < y->due_ms ? -1 : 1;
    return strcmp(x->customer, y->customer);
}

/* The store (staged view) must equal the model: every record, and the due timers for a
 * random `now` and `max` (the model's sorted and cut). */
static void mc_check(store_task_t *t, const mc_rec_t *m, int step)
{
    char err[256], c[16];
    for (int i = 0; i < MC_CUSTOMERS; i++) {
        snprintf(c, sizeof(c), "c%02d", i);
        char *v = NULL;
        size_t vl = 0;
        int64_t d = 0;
        int rc = store_get_due(t, c, strlen(c), &v, &vl, &d, err, sizeof(err));
        char want[16];
        snprintf(want, sizeof(want), "v%d", m[i].val);
        if (m[i].has_state) {
            if (rc != 0 || vl != strlen(want) || memcmp(v, want, vl) != 0)
                fail_msg("step %d: %s state differs (rc %d)", step, c, rc);
        } else if (rc != STORE_NOT_FOUND) {
            fail_msg("step %d: %s has a state, the model none", step, c);
        }
        if (d != (m[i].exists ? m[i].due : STORE_NO_DUE))
            fail_msg("step %d: %s due %lld, model %lld", step, c, (long long)d,
                     (long long)m[i].due);
        free(v);
    }
    int64_t now = T0 + (int64_t)(mc_rand() % 120);
    size_t max = 1 + mc_rand() % 8;
    tmr_entry_t want[MC_CUSTOMERS], got[MC_CUSTOMERS];
    size_t nw = 0;
    for (int i = 0; i < MC_CUSTOMERS; i++) {
        if (!m[i].exists || m[i].due == STORE_NO_DUE || m[i].due > now)
            continue;
        want[nw].due_ms = m[i].due;
        snprintf(want[nw].customer, sizeof(want[nw].customer), "c%02d", i);
        nw++;
    }
    qsort(want, nw, sizeof(want[0]), mc_cmp);
    size_t ng = due(t, now, got, max);
    if (ng != (nw < max ? nw : max))
        fail_msg("step %d: %zu timers due by +%lld (max %zu), model %zu", step, ng,
                 (long long)(now - T0), max, nw);
    for (size_t k = 0; k < ng; k++)
        if (got[k].due_ms != want[k].due_ms || strcmp(got[k].customer, want[k].customer) != 0)
            fail_msg("step %d: timer %zu is %s@%lld, model %s@%lld", step, k, got[k].customer,
                     (long long)got[k].due_ms, want[k].customer, (long long)want[k].due_ms);
}

static void test_random_transactions_and_restores_match_a_model(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[256], c[16], val[16];
    store_t *s = tsu_open(dir, T0);
    store_task_t *t = store_task_open(s, 0, err, sizeof(err));
    assert_non_null(t);
    mc_rec_t committed[MC_CUSTOMERS] = {0}, staged[MC_CUSTOMERS] = {0};
    int64_t offset = 0, clog_offset = 0;
    int restores = 0, commits = 0, aborts = 0;
    for (int step = 0; step < 4000; step++) {
        int i = (int)(mc_rand() % MC_CUSTOMERS);
        snprintf(c, sizeof(c), "c%02d", i);
        int64_t d = mc_rand() % 5 ? T0 + (int64_t)(mc_rand() % 100) : STORE_NO_DUE;
        unsigned op = (unsigned)(mc_rand() % 100);
        mc_rec_t *m = &staged[i];
        if (op < 35) { /* state and timer */
            m->val = step;
            snprintf(val, sizeof(val), "v%d", m->val);
            assert_int_equal(store_put_due(t, c, strlen(c), val, strlen(val), d, err, sizeof(err)),
                             0);
            m->exists = m->has_state = true;
            m->due = d;
        } else if (op < 55) { /* the timer alone */
            assert_int_equal(tmr_set(t, c, strlen(c), d, err, sizeof(err)), 0);
            if (m->exists || d != STORE_NO_DUE) {
                m->exists = m->has_state || d != STORE_NO_DUE;
                m->due = d;
            }
        } else if (op < 62) {
            assert_int_equal(store_delete(t, c, strlen(c), err, sizeof(err)), 0);
            m->exists = m->has_state = false;
            m->due = STORE_NO_DUE;
        } else if (op < 80) {
            commit(t, ++offset);
            memcpy(committed, staged, sizeof(staged));
            commits++;
        } else if (op < 88) {
            store_task_abort(t);
            memcpy(staged, committed, sizeof(staged));
            aborts++;
        } else if (op < 92) { /* a restore of random records (the stage must be empty) */
            commit(t, ++offset);
            memcpy(committed, staged, sizeof(staged));
            clog_record_t recs[6];
            char names[6][16], vals[6][16];
            size_t n = 1 + mc_rand() % 6;
            for (size_t k = 0; k < n; k++) {
                int j = (int)(mc_rand() % MC_CUSTOMERS);
                snprintf(names[k], 16, "c%02d", j);
                bool tomb = mc_rand() % 5 == 0;
                int64_t rd = mc_rand() % 4 ? T0 + (int64_t)(mc_rand() % 100) : STORE_NO_DUE;
                snprintf(vals[k], 16, "v%d", 100000 + step * 10 + (int)k);
                recs[k] = (clog_record_t){.offset = clog_offset + (int64_t)k,
                                          .customer = names[k],
                                          .customer_len = strlen(names[k]),
                                          .state = tomb ? NULL : vals[k],
                                          .state_len = tomb ? 0 : strlen(vals[k]),
                                          .next_due_ms = rd};
                mc_rec_t *r = &committed[j];
                r->exists = r->has_state = !tomb;
                r->due = tomb ? STORE_NO_DUE : rd;
                r->val = 100000 + step * 10 + (int)k;
            }
            clog_offset += (int64_t)n;
            assert_int_equal(clog_apply(t, recs, n, clog_offset, 0, err, sizeof(err)), 0);
            memcpy(staged, committed, sizeof(staged));
            restores++;
        }
        mc_check(t, staged, step);
    }
    assert_true(commits > 100 && aborts > 50 && restores > 50);
    /* After a reopen the committed part is all there is. */
    commit(t, ++offset);
    memcpy(committed, staged, sizeof(staged));
    store_destroy(s);
    s = tsu_open(dir, T0);
    t = store_task_open(s, 0, err, sizeof(err));
    mc_check(t, committed, -1);
    store_task_stats_t st;
    assert_int_equal(store_task_stats(t, &st, err, sizeof(err)), 0);
    uint64_t timers = 0;
    for (int i = 0; i < MC_CUSTOMERS; i++)
        timers += committed[i].exists && committed[i].due != STORE_NO_DUE;
    assert_int_equal(st.timers, timers);
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
        cmocka_unit_test(test_random_transactions_and_restores_match_a_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
