/*
 * The exactly-once pipeline (processor/pipeline/pipe.c) on the real broker, judged with the
 * pipe_counter app (tests/it/pipe_counter.c) running as a separate process:
 *  - a clean run, then SIGTERM: exit 0, every input once in the output, counts 1..n;
 *  - a crash at each named crash point (after producing before commit; after commit
 *    before the state write; after the state write), then a restart: the same;
 *  - SIGKILL at random moments, again and again, then a run to the end: the same.
 * "The same" is checked by check_exactly_once: a read_committed reader of the output sees
 * every record id exactly once, and per key the counts are exactly 1..n (a count that
 * repeats or skips means state and outputs disagree).
 */
#include "testkit.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define PARTS 4
#define KEYS  40

static char bootstrap[512];
static const char *counter_bin;

static int setup(void **state)
{
    (void)state;
    counter_bin = getenv("LS_PIPE_COUNTER");
    if (!counter_bin) {
        fprintf(stderr, "LS_PIPE_COUNTER is not set: run through ctest\n");
        return -1;
    }
    return tk_bootstrap(bootstrap, sizeof(bootstrap));
}

typedef struct run {
    char app[128], in[160], out[160], log[256];
    char a_boot[600], a_app[200], a_in[200], a_out[200];
    char *argv[16];
} run_t;

static void run_init(run_t *r, const char *name, int n_records)
{
    tk_unique_name(name, r->app, sizeof(r->app));
    snprintf(r->in, sizeof(r->in), "%s-in", r->app);
    snprintf(r->out, sizeof(r->out), "%s-out", r->app);
    snprintf(r->log, sizeof(r->log), "/tmp/%s.log", r->app);
    assert_int_equal(tk_create_topic(bootstrap, r->in, PARTS, 1, NULL), 0);
    assert_int_equal(tk_create_topic(bootstrap, r->out, PARTS, 1, NULL), 0);
    assert_int_equal(tk_produce_counter_input(bootstrap, r->in, PARTS, n_records, KEYS), 0);
    snprintf(r->a_boot, sizeof(r->a_boot), "bootstrap.servers=%s", bootstrap);
    snprintf(r->a_app, sizeof(r->a_app), "application.id=%s", r->app);
    snprintf(r->a_in, sizeof(r->a_in), "topic.input=%s", r->in);
    snprintf(r->a_out, sizeof(r->a_out), "topic.bonus-earned=%s", r->out);
    char **a = r->argv;
    *a++ = (char *)counter_bin;
    *a++ = r->a_boot;
    *a++ = r->a_app;
    *a++ = r->a_in;
    *a++ = r->a_out;
    *a++ = "program.file=unused";
    *a++ = "instance.id=i1";
    *a++ = "topics.create=true";
    *a++ = "commit.interval.ms=50";
    *a++ = "commit.max.records=100";
    *a++ = "kafka.session.timeout.ms=10000";
    *a++ = "kafka.transaction.timeout.ms=10000";
    *a = NULL;
}

/* Run until the output holds @p want records, then SIGTERM: must exit 0. */
static void run_to_end(run_t *r, long want)
{
    int pid = tk_spawn(r->argv, NULL, r->log);
    assert_true(pid > 0);
    long got = 0;
    for (int i = 0; i < 120 && got < want; i++) {
        sleep(1);
        got = tk_count(bootstrap, r->out);
        int st = tk_wait(pid, 0);
        if (st != -1)
            fail_msg("pipe_counter exited %d before finishing (log %s)", st, r->log);
    }
    kill(pid, SIGTERM);
    int st = tk_wait(pid, 30000);
    if (st != 0)
        fail_msg("pipe_counter exit %d after SIGTERM, want 0 (log %s)", st, r->log);
    assert_int_equal(got, want);
}

static void check_exactly_once(run_t *r, int n_records)
{
    size_t n = 0;
    tk_record_t *recs = tk_consume_all(bootstrap, r->out, 1, &n);
    assert_non_null(recs);
    unsigned char *seen = calloc((size_t)n_records, 1);
    long *maxc = calloc(KEYS, sizeof(long));
    long *sumc = calloc(KEYS, sizeof(long));
    for (size_t i = 0; i < n; i++) {
        int k, id;
        long c;
        if (sscanf(recs[i].value, "k%d:%ld:r%d", &k, &c, &id) != 3 || k < 0 || k >= KEYS ||
            id < 0 || id >= n_records)
            fail_msg("unexpected output '%s'", recs[i].value);
        if (seen[id]++)
            fail_msg("record r%d appears twice in the output", id);
        if (c > maxc[k])
            maxc[k] = c;
        sumc[k] += c;
    }
    for (int id = 0; id < n_records; id++)
        if (!seen[id])
            fail_msg("record r%d is missing from the output", id);
    for (int k = 0; k < KEYS; k++) { /* counts 1..m each once: sum = m(m+1)/2, m = records */
        long m = n_records / KEYS + (k < n_records % KEYS);
        if (maxc[k] != m || sumc[k] != m * (m + 1) / 2)
            fail_msg("key k%d: counts are not exactly 1..%ld (max %ld, sum %ld)", k, m, maxc[k],
                     sumc[k]);
    }
    assert_int_equal(n, n_records);
    free(seen);
    free(maxc);
    free(sumc);
    tk_records_free(recs, n);
    unlink(r->log); /* kept only when the scenario failed */
}

static void test_clean_run_emits_each_record_once_and_stops_on_sigterm(void **state)
{
    (void)state;
    run_t r;
    run_init(&r, "pipe-clean", 2000);
    run_to_end(&r, 2000);
    check_exactly_once(&r, 2000);
}

/* @p r's run with commit.interval.ms and the transaction timeout replaced (@p interval,
 * @p txn_timeout: "key=value") and the record bound out of reach (a million records).
 * @returns the end of its argv, for more settings. */
static char **no_record_bound(run_t *r, char *interval, char *txn_timeout)
{
    char **a = r->argv;
    while (*a)
        a++;
    a[-4] = interval;
    a[-3] = "commit.max.records=1000000";
    a[-1] = txn_timeout;
    return a;
}

/* Stop @p pid at once and fail with @p why: an assert would leave the child running. */
static void fail_killing(int pid, const run_t *r, const char *why)
{
    kill(pid, SIGKILL);
    tk_wait(pid, 10000);
    fail_msg("%s (log %s)", why, r->log);
}

/* commit.interval.ms counts from the previous commit's start, not from the first record of
 * a transaction: a record that arrives after an idle spell longer than the interval is
 * committed as soon as it is processed. Counted from the transaction's first record (as it
 * once was), it would wait the whole 15 s interval. */
static void test_idle_record_commits_without_waiting_an_interval(void **state)
{
    (void)state;
    run_t r;
    run_init(&r, "pipe-idle", 1);
    no_record_bound(&r, "commit.interval.ms=15000", "kafka.transaction.timeout.ms=60000");
    int pid = tk_spawn(r.argv, NULL, r.log);
    assert_true(pid > 0);
    /* The first record commits with the first interval (15 s after start). */
    long got = 0;
    for (double end = tk_mono_s() + 120; got < 1 && tk_mono_s() < end;) {
        usleep(100 * 1000);
        got = tk_count(bootstrap, r.out);
        if (tk_wait(pid, 0) != -1)
            fail_msg("pipe_counter exited before its first output (log %s)", r.log);
    }
    if (got != 1)
        fail_killing(pid, &r, "the first record was not committed within 120 s");
    sleep(16); /* the scenario: idle for longer than the interval */
    if (tk_produce_counter_input(bootstrap, r.in, PARTS, 1, KEYS) != 0)
        fail_killing(pid, &r, "producing the record after the idle spell failed");
    double t0 = tk_mono_s();
    while (got < 2 && tk_mono_s() - t0 < 60) {
        usleep(50 * 1000);
        got = tk_count(bootstrap, r.out);
    }
    double waited = tk_mono_s() - t0;
    kill(pid, SIGTERM);
    int st = tk_wait(pid, 30000);
    if (st != 0)
        fail_msg("pipe_counter exit %d after SIGTERM, want 0 (log %s)", st, r.log);
    if (got != 2 || waited >= 8)
        fail_msg("the record after the idle spell became visible after %.1f s (%ld outputs), "
                 "want well under the 15 s interval (log %s)",
                 waited, got, r.log);
    unlink(r.log);
}

/* commit.max.bytes: with the interval and the record bound out of reach (60 s, a million
 * records), transactions must still commit as their bytes reach the bound, so every
 * output is visible long before the first interval would end; without the byte bound
 * nothing is visible for 60 s. */
static void test_byte_bound_commits_before_the_interval(void **state)
{
    (void)state;
    run_t r;
    run_init(&r, "pipe-bytes", 2000);
    /* a transaction timeout longer than the interval */
    char **a =
        no_record_bound(&r, "commit.interval.ms=60000", "kafka.transaction.timeout.ms=120000");
    *a++ = "commit.max.bytes=4KiB";
    *a = NULL;
    int pid = tk_spawn(r.argv, NULL, r.log);
    assert_true(pid > 0);
    long got = 0;
    for (int i = 0; i < 40 && got < 2000; i++) { /* 40 s: well inside the 60 s interval */
        sleep(1);
        got = tk_count(bootstrap, r.out);
        int st = tk_wait(pid, 0);
        if (st != -1)
            fail_msg("pipe_counter exited %d before finishing (log %s)", st, r.log);
    }
    kill(pid, SIGTERM);
    int st = tk_wait(pid, 30000);
    if (st != 0)
        fail_msg("pipe_counter exit %d after SIGTERM, want 0 (log %s)", st, r.log);
    if (got < 2000)
        fail_msg("%ld of 2000 outputs visible after 40 s: the byte bound did not commit", got);
    check_exactly_once(&r, 2000);
}

static void crash_then_restart(const char *point)
{
    run_t r;
    run_init(&r, point, 3000);
    char env_point[64], env_after[64];
    snprintf(env_point, sizeof(env_point), "LOYALTY_CRASH_POINT=%s", point);
    snprintf(env_after, sizeof(env_after), "LOYALTY_CRASH_AFTER=3");
    char *env[] = {env_point, env_after, NULL};
    int pid = tk_spawn(r.argv, env, r.log);
    int st = tk_wait(pid, 120000);
    if (st != 86)
        fail_msg("want the crash point's exit code 86, got %d (log %s)", st, r.log);
    run_to_end(&r, 3000);
    check_exactly_once(&r, 3000);
}

static void test_crash_after_produce_before_commit(void **state)
{
    (void)state;
    crash_then_restart("after_produce");
}

static void test_crash_after_commit_before_state_write(void **state)
{
    (void)state;
    crash_then_restart("after_commit");
}

static void test_crash_after_state_write(void **state)
{
    (void)state;
    crash_then_restart("after_store");
}

static void test_sigkill_at_random_moments(void **state)
{
    (void)state;
    int kills = getenv("LS_KILLS") ? atoi(getenv("LS_KILLS")) : 20;
    run_t r;
    run_init(&r, "pipe-kill", 20000);
    srand((unsigned)getpid());
    for (int i = 0; i < kills; i++) {
        int pid = tk_spawn(r.argv, NULL, r.log);
        usleep((useconds_t)(300000 + rand() % 2500000));
        kill(pid, SIGKILL);
        assert_int_equal(tk_wait(pid, 10000), 128 + SIGKILL);
    }
    run_to_end(&r, 20000);
    check_exactly_once(&r, 20000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_run_emits_each_record_once_and_stops_on_sigterm),
        cmocka_unit_test(test_byte_bound_commits_before_the_interval),
        cmocka_unit_test(test_idle_record_commits_without_waiting_an_interval),
        cmocka_unit_test(test_crash_after_produce_before_commit),
        cmocka_unit_test(test_crash_after_commit_before_state_write),
        cmocka_unit_test(test_crash_after_state_write),
        cmocka_unit_test(test_sigkill_at_random_moments),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
