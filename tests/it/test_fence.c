/*
 * Fencing on the real broker. An instance whose producer is fenced when no live duplicate
 * is left (a duplicate that came and went, or the coordinator aborting a transaction that
 * outlived transaction.timeout.ms during a broker outage) recovers in the process: fresh
 * clients, tasks restored from their checkpoints, outputs still equal replay's. Two live
 * instances with one instance.id fence each other again and again: that is a real
 * duplicate, and one of them stops with exit 1 and a message naming instance.id.
 * A fatal error of the producer itself (librdkafka's INVALID_TXN_STATE in an abort during
 * a broker outage; injected here by LOYALTY_FATAL_AT) is recovered from the same way, and
 * one that keeps coming back stops the instance with a message saying so.
 */
#include "lskit.h"
#include "pipe.h"
#include "testkit.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>

static char bootstrap[512];
static int pids[2] = {-1, -1}; /* killed by teardown if a test fails half-way */

static int setup(void **state)
{
    (void)state;
    return tk_processor_setup(bootstrap, sizeof(bootstrap));
}

static int teardown_test(void **state)
{
    (void)state;
    for (int i = 0; i < 2; i++) {
        if (pids[i] > 0) {
            kill(pids[i], SIGKILL);
            tk_wait(pids[i], 10000);
        }
        pids[i] = -1;
    }
    return 0;
}

/* Lines of @p instance's log that contain @p what. */
static int log_count(lk_scenario_t *s, const char *instance, const char *what)
{
    char path[300], line[4096];
    snprintf(path, sizeof(path), "%s/%s.log", s->dir, instance);
    FILE *f = fopen(path, "r");
    int n = 0;
    while (f && fgets(line, sizeof(line), f))
        n += strstr(line, what) != NULL;
    if (f)
        fclose(f);
    return n;
}

static int alive(int pid)
{
    int st;
    return waitpid(pid, &st, WNOHANG) == 0;
}

/* Instance a (pids[0]) recovered in the process: it gives every output replay gives
 * without ever exiting, its log has each of @p lines (NULL-terminated) exactly @p times,
 * or at least once when @p times is 0, it stops cleanly on SIGTERM, and its outputs and
 * states equal replay's. @p after names what it recovered from, for the messages. Frees
 * the scenario and the expected lines. */
static void recovered_and_equal_to_replay(lk_scenario_t *s, lk_lines_t *outputs, lk_lines_t *states,
                                          const char *after, const char *const *lines, int times)
{
    long n = lk_wait_outputs(s, (long)outputs->n, 240);
    assert_true(alive(pids[0])); /* recovered in the process, never exited */
    for (size_t i = 0; lines[i]; i++) {
        int c = log_count(s, "a", lines[i]);
        if (times ? c != times : c < 1)
            fail_msg("'%s' is in the log %d times after %s (logs in %s)", lines[i], c, after,
                     s->dir);
    }
    kill(pids[0], SIGTERM);
    assert_int_equal(tk_wait(pids[0], 60000), 0);
    pids[0] = -1;
    assert_int_equal(n, (long)outputs->n);
    if (lk_check_replay(s, outputs, states))
        fail_msg("the processor disagrees with replay after %s (logs in %s)", after, s->dir);
    lk_lines_free(outputs);
    lk_lines_free(states);
    lk_scenario_free(s);
}

static void test_fence_without_a_live_duplicate_is_recovered(void **state)
{
    (void)state;
    lk_scenario_t s;
    lk_lines_t outputs = {0}, states = {0};
    assert_int_equal(lk_scenario_new(&s, "fence", bootstrap, 2, 3000, 200, 31), 0);
    assert_int_equal(lk_replay(&s, &outputs, &states), 0);
    assert_int_equal(lk_produce(&s, 0, s.n_events / 2), 0);
    pids[0] = lk_start(&s, "a", NULL);
    assert_true(pids[0] > 0);
    assert_true(lk_wait_outputs(&s, 1, 120) > 0);
    /* A duplicate of a (same instance.id, so the same transactional.id) starts and fences
     * a's producer (init_transactions); a notices at its next transaction, when the rest
     * of the input comes, and the duplicate is gone as soon as a has noticed. */
    char dup_id[] = "LOYALTY_INSTANCE_ID=a", linger[] = "LOYALTY_KAFKA_LINGER_MS=7",
         qmin[] = "LOYALTY_KAFKA_QUEUED_MIN_MESSAGES=30000";
    char *env[] = {dup_id, linger, qmin, NULL};
    pids[1] = lk_start(&s, "a-dup", env);
    assert_true(pids[1] > 0);
    for (int i = 0; i < 1200 && !log_count(&s, "a-dup", "pipeline ready"); i++)
        usleep(100 * 1000);
    assert_true(log_count(&s, "a-dup", "pipeline ready") == 1);
    /* the producer's linger.ms: the processor's default, or kafka.linger.ms when set */
    assert_true(log_count(&s, "a", "linger_ms=" PIPE_DEFAULT_LINGER_MS) == 1);
    assert_true(log_count(&s, "a-dup", "linger_ms=7") == 1);
    /* the input consumer's prefetch: the default for the running librdkafka, or the user's */
    char ver[64];
    snprintf(ver, sizeof(ver), "librdkafka=%s ", rd_kafka_version_str());
    assert_true(log_count(&s, "a", ver) == 1);
    assert_true(log_count(&s, "a",
                          rd_kafka_version() >= 0x02020000
                              ? "input_queued_min_messages=20000 "
                                "input_fetch_queue_backoff_ms=5\n"
                              : "input_queued_min_messages=100000 "
                                "input_fetch_queue_backoff_ms=none\n") == 1);
    assert_true(log_count(&s, "a-dup", "input_queued_min_messages=30000 ") == 1);
    assert_int_equal(lk_produce(&s, s.n_events / 2, s.n_events), 0);
    for (int i = 0; i < 1200 && !log_count(&s, "a", "fenced, and no live duplicate"); i++) {
        assert_true(alive(pids[0]));
        usleep(100 * 1000);
    }
    kill(pids[1], SIGKILL);
    tk_wait(pids[1], 10000);
    pids[1] = -1;
    static const char *const lines[] = {"fenced, and no live duplicate", "rejoined after the fence",
                                        NULL};
    recovered_and_equal_to_replay(&s, &outputs, &states, "a fence", lines, 0);
}

static void test_live_duplicate_instance_id_stops_with_a_message(void **state)
{
    (void)state;
    lk_scenario_t s;
    assert_int_equal(lk_scenario_new(&s, "dup", bootstrap, 2, 40000, 200, 32), 0);
    size_t produced = 1000;
    assert_int_equal(lk_produce(&s, 0, produced), 0);
    char dup_id[] = "LOYALTY_INSTANCE_ID=a", linger[] = "LOYALTY_KAFKA_LINGER_MS=7";
    char *env[] = {dup_id, linger, NULL};
    pids[0] = lk_start(&s, "a", NULL);
    pids[1] = lk_start(&s, "a-dup", env);
    assert_true(pids[0] > 0 && pids[1] > 0);
    /* The duplicates find each other only through fences, and a fence shows only at a
     * transaction: input keeps coming (1,000 events a second) until one of them stops,
     * or two idle duplicates would wait for it forever. */
    int stopped = -1, rc = -1;
    for (int i = 0; i < 2400 && stopped < 0; i++) {
        if (i % 10 == 9 && produced < s.n_events) {
            assert_int_equal(lk_produce(&s, produced, produced + 1000), 0);
            produced += 1000;
        }
        for (int k = 0; k < 2 && stopped < 0; k++) {
            int st;
            if (waitpid(pids[k], &st, WNOHANG) == pids[k]) {
                stopped = k;
                rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                pids[k] = -1;
            }
        }
        usleep(100 * 1000);
    }
    assert_true(stopped >= 0);
    assert_int_equal(rc, 1);
    const char *name = stopped == 0 ? "a" : "a-dup";
    if (!log_count(&s, name, "another live instance uses instance.id a"))
        fail_msg("instance %s stopped without naming the duplicate (logs in %s)", name, s.dir);
    lk_scenario_free(&s);
}

/* Whether @p pid exited within @p seconds (its exit code in *rc, 128 + signal if killed). */
static bool exits_within(int pid, int seconds, int *rc)
{
    for (int i = 0; i < seconds * 10; i++) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            *rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            return true;
        }
        usleep(100 * 1000);
    }
    return false;
}

/* A scenario whose instance a runs with the fatal error @p client_env (or the
 * producer's) injected before its 3rd commit, when that transaction's records are
 * produced and its offsets sent: they must never show, the input they came from must be
 * redone, and @p lines must each be in the log once. */
static void injected_fatal_error_is_recovered(const char *name, unsigned seed,
                                              const char *client_env, const char *after,
                                              const char *const *lines)
{
    lk_scenario_t s;
    lk_lines_t outputs = {0}, states = {0};
    assert_int_equal(lk_scenario_new(&s, name, bootstrap, 2, 3000, 200, seed), 0);
    assert_int_equal(lk_replay(&s, &outputs, &states), 0);
    assert_int_equal(lk_produce(&s, 0, s.n_events), 0);
    char at[] = "LOYALTY_FATAL_AT=3", client[64];
    snprintf(client, sizeof(client), "LOYALTY_FATAL_CLIENT=%s", client_env);
    char *env[] = {at, client, NULL};
    pids[0] = lk_start(&s, "a", env);
    assert_true(pids[0] > 0);
    recovered_and_equal_to_replay(&s, &outputs, &states, after, lines, 1);
}

static void test_fatal_producer_error_is_recovered(void **state)
{
    (void)state;
    static const char *const lines[] = {
        "the producer failed fatally: dropping the open transaction",
        "rejoined after the producer's fatal error", NULL};
    injected_fatal_error_is_recovered("fatal", 33, "producer", "a fatal producer error", lines);
}

/* The group fences our static member (librdkafka issue #3437; injected): the consumer
 * holds the fatal error, and closing it revokes nothing, so the recovery itself must drop
 * the open transaction and close the tasks before they are assigned again. */
static void test_fenced_static_member_is_recovered(void **state)
{
    (void)state;
    static const char *const lines[] = {"fenced, and no live duplicate", "rejoined after the fence",
                                        NULL};
    injected_fatal_error_is_recovered("member", 35, "consumer", "a fenced member", lines);
}

static void test_fatal_producer_error_that_comes_back_stops_with_a_message(void **state)
{
    (void)state;
    lk_scenario_t s;
    assert_int_equal(lk_scenario_new(&s, "fatal-again", bootstrap, 2, 3000, 200, 34), 0);
    assert_int_equal(lk_produce(&s, 0, s.n_events), 0);
    char at[] = "LOYALTY_FATAL_AT=2", times[] = "LOYALTY_FATAL_TIMES=100";
    char *env[] = {at, times, NULL};
    pids[0] = lk_start(&s, "a", env);
    assert_true(pids[0] > 0);
    int rc = -1;
    assert_true(exits_within(pids[0], 240, &rc));
    pids[0] = -1;
    assert_int_equal(rc, 1);
    if (log_count(&s, "a", "rejoined after the producer's fatal error") != 2 ||
        !log_count(&s, "a", "the producer failed fatally 3 times within 300 s"))
        fail_msg("two recoveries, then a stop naming the cause, expected (logs in %s)", s.dir);
    lk_scenario_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_fence_without_a_live_duplicate_is_recovered, teardown_test),
        cmocka_unit_test_teardown(test_live_duplicate_instance_id_stops_with_a_message,
                                  teardown_test),
        cmocka_unit_test_teardown(test_fatal_producer_error_is_recovered, teardown_test),
        cmocka_unit_test_teardown(test_fenced_static_member_is_recovered, teardown_test),
        cmocka_unit_test_teardown(test_fatal_producer_error_that_comes_back_stops_with_a_message,
                                  teardown_test),
    };
    if (getenv("LS_TEST_FILTER"))
        cmocka_set_test_filter(getenv("LS_TEST_FILTER"));
    return cmocka_run_group_tests(tests, setup, NULL);
}
