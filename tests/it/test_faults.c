/*
 * The fault suite: three `loyalty-stream run` instances (separate processes) on the
 * three-broker cluster of tests/kafka/kafka-test-broker.sh (replication factor 3,
 * min.insync.replicas 2), through the platform's everyday faults:
 *   - one broker killed and restarted, twice, a different one each time;
 *   - a two-broker outage (no quorum, no in-sync majority) and its end;
 *   - an instance SIGKILLed and restarted, a rolling restart, a scale-in by SIGTERM.
 * No instance may exit during a broker fault; each scenario ends with the outputs a
 * read_committed consumer sees equal to `replay`'s as a multiset and the changelog's
 * final states equal to replay's. Handover and recovery times are printed.
 */
#include "lskit.h"
#include "testkit.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static char dir[256], bootstrap[512];

/* Every node runs (a failed test may have left one down): restart the stopped ones. */
static void brokers_up(void)
{
    int restarted = 0;
    for (int node = 1; node <= 3; node++) {
        if (tk_broker("restart 2>/dev/null", dir, node) == 0) {
            fprintf(stderr, "broker %d: restarted (left down by an earlier test)\n", node);
            restarted = 1;
        }
    }
    if (restarted)
        sleep(20); /* rejoin the quorum and register before topics with three replicas */
}

static void broker(const char *verb, int node)
{
    assert_int_equal(tk_broker(verb, dir, node), 0);
    fprintf(stderr, "broker %d: %s\n", node, verb);
}

static int setup(void **state)
{
    (void)state;
    if (!getenv("LS_BINARY")) {
        fprintf(stderr, "LS_BINARY is not set: run this test through ctest\n");
        return -1;
    }
    snprintf(dir, sizeof(dir), "/tmp/ls-faults-%d", (int)getpid());
    return tk_broker_start(dir, "--nodes 3", bootstrap, sizeof(bootstrap));
}

static int teardown(void **state)
{
    (void)state;
    return tk_broker("stop", dir, 0) == 0 ? 0 : -1;
}

typedef struct inst {
    const char *name;
    int pid;
} inst_t;

/* Every instance in @p v must still run: one that exited fails the test. A fatal
 * producer error (librdkafka's INVALID_TXN_STATE in an abort during a broker outage,
 * docs/KAFKA.md) is recovered from in the process, so it is no reason to exit either. */
static void all_alive(lk_scenario_t *s, inst_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int st;
        if (v[i].pid > 0 && waitpid(v[i].pid, &st, WNOHANG) == v[i].pid)
            fail_msg("instance %s exited (status %d) during the faults (logs in %s)", v[i].name,
                     WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), s->dir);
    }
}

/* Sleep @p seconds while checking that every instance lives. */
static void hold(lk_scenario_t *s, inst_t *v, size_t n, int seconds)
{
    for (int i = 0; i < seconds; i++) {
        all_alive(s, v, n);
        sleep(1);
    }
}

/* Wait until the outputs hold @p want records, checking the instances. @returns seconds. */
static double wait_outputs(lk_scenario_t *s, inst_t *v, size_t n, long want, int timeout_s)
{
    double t0 = tk_mono_s();
    long got = -1;
    while (tk_mono_s() - t0 < timeout_s) {
        all_alive(s, v, n);
        if ((got = lk_count_outputs(s)) >= want)
            return tk_mono_s() - t0;
        sleep(1);
    }
    fail_msg("outputs %ld of %ld after %d s (logs in %s)", got, want, timeout_s, s->dir);
    return -1;
}

static void stop_cleanly(lk_scenario_t *s, inst_t *in)
{
    kill(in->pid, SIGTERM);
    int st = tk_wait(in->pid, 60000);
    if (st != 0)
        fail_msg("instance %s: exit %d after SIGTERM, want 0 (logs in %s)", in->name, st, s->dir);
    in->pid = -1;
}

static int started[64]; /* every pid started, killed by teardown_test if still running */
static size_t n_started;

static void start(lk_scenario_t *s, inst_t *in)
{
    in->pid = lk_start(s, in->name, NULL);
    assert_true(in->pid > 0);
    if (n_started < sizeof(started) / sizeof(started[0]))
        started[n_started++] = in->pid;
}

/* A test that failed half-way leaves no instance behind for the next one. */
static int teardown_test(void **state)
{
    (void)state;
    for (size_t i = 0; i < n_started; i++) {
        int st;
        if (waitpid(started[i], &st, WNOHANG) == 0) {
            kill(started[i], SIGKILL);
            tk_wait(started[i], 10000);
        }
    }
    n_started = 0;
    return 0;
}

/* Outputs (multiset) and the changelog's final states equal replay's. */
static void check_equal(lk_scenario_t *s, const lk_lines_t *outputs, const lk_lines_t *states)
{
    if (lk_check_replay(s, outputs, states))
        fail_msg("the processor disagrees with replay (logs in %s)", s->dir);
}

/* Tasks an instance processes now, from its log: restored minus closed. */
static int active_tasks(lk_scenario_t *s, const char *name)
{
    /* Per task, not a running count: a task revoked while it still restored is closed
     * without ever having been processing. */
    char path[300], line[2048];
    bool active[64] = {false};
    snprintf(path, sizeof(path), "%s/%s.log", s->dir, name);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof(line), f)) {
        const char *t = strstr(line, " task=");
        int task = t ? atoi(t + 6) : -1;
        if (strstr(line, "msg=\"starting\"")) /* the log of a restarted instance goes on */
            memset(active, 0, sizeof(active));
        else if (task >= 0 && task < 64 && strstr(line, "msg=\"task restored: processing\""))
            active[task] = true;
        else if (task >= 0 && task < 64 && strstr(line, "msg=\"task closed\""))
            active[task] = false;
    }
    if (f)
        fclose(f);
    int n = 0;
    for (int i = 0; i < 64; i++)
        n += active[i];
    return n;
}

static void test_broker_kills_and_two_broker_outage_change_nothing(void **state)
{
    (void)state;
    lk_scenario_t s;
    lk_lines_t outputs = {0}, states = {0};
    brokers_up();
    assert_int_equal(lk_scenario_new_rf(&s, "bfaults", bootstrap, 6, 3, 9000, 400, 11), 0);
    assert_int_equal(lk_replay(&s, &outputs, &states), 0);
    size_t third = s.n_events / 3;
    assert_int_equal(lk_produce(&s, 0, third), 0);
    inst_t v[] = {{"a", -1}, {"b", -1}, {"c", -1}};
    for (size_t i = 0; i < 3; i++)
        start(&s, &v[i]);
    wait_outputs(&s, v, 3, 1, 120);

    /* One broker at a time, twice: the cluster stays available. */
    for (int node = 1; node <= 2; node++) {
        broker("kill", node);
        hold(&s, v, 3, 5);
        double t0 = tk_mono_s();
        long before = lk_count_outputs(&s);
        if (node == 1)
            assert_int_equal(lk_produce(&s, third, 2 * third), 0);
        if (node == 2) {
            /* progress while a broker is down: outputs grow */
            while (lk_count_outputs(&s) <= before && tk_mono_s() - t0 < 60)
                hold(&s, v, 3, 1);
        }
        fprintf(stderr, "broker %d down: outputs %ld -> %ld\n", node, before, lk_count_outputs(&s));
        broker("restart", node);
        hold(&s, v, 3, 10);
    }

    /* Two of three down: no quorum, no in-sync majority. Nothing can commit; nobody exits. */
    broker("kill", 2);
    broker("kill", 3);
    hold(&s, v, 3, 25);
    double t0 = tk_mono_s();
    broker("restart", 2);
    broker("restart", 3);
    long before = lk_count_outputs(&s);
    assert_int_equal(lk_produce(&s, 2 * third, s.n_events), 0);
    while (lk_count_outputs(&s) <= before && tk_mono_s() - t0 < 180)
        hold(&s, v, 3, 1);
    fprintf(stderr, "two-broker outage over: outputs move again %.1f s after the restart\n",
            tk_mono_s() - t0);
    double t = wait_outputs(&s, v, 3, (long)outputs.n, 300);
    fprintf(stderr, "all %zu outputs %.1f s later\n", outputs.n, t);
    for (size_t i = 0; i < 3; i++)
        stop_cleanly(&s, &v[i]);
    check_equal(&s, &outputs, &states);
    lk_lines_free(&outputs);
    lk_lines_free(&states);
    lk_scenario_free(&s);
}

static void test_instance_kill_rolling_restart_and_scale_in_change_nothing(void **state)
{
    (void)state;
    lk_scenario_t s;
    lk_lines_t outputs = {0}, states = {0};
    brokers_up();
    assert_int_equal(lk_scenario_new_rf(&s, "ifaults", bootstrap, 6, 3, 9000, 400, 12), 0);
    assert_int_equal(lk_replay(&s, &outputs, &states), 0);
    size_t half = s.n_events / 2;
    assert_int_equal(lk_produce(&s, 0, half), 0);
    inst_t v[] = {{"a", -1}, {"b", -1}, {"c", -1}};
    for (size_t i = 0; i < 3; i++)
        start(&s, &v[i]);
    wait_outputs(&s, v, 3, 1, 120);

    /* An instance killed and started again. */
    kill(v[1].pid, SIGKILL);
    assert_int_equal(tk_wait(v[1].pid, 10000), 128 + SIGKILL);
    v[1].pid = -1;
    sleep(2);
    start(&s, &v[1]);

    /* A rolling restart: each instance in turn stops cleanly and comes back. */
    for (size_t i = 0; i < 3; i++) {
        stop_cleanly(&s, &v[i]);
        start(&s, &v[i]);
        hold(&s, v, 3, 3);
    }

    /* Scale-in: c leaves by SIGTERM; a and b must own all six tasks. */
    double t0 = 0;
    for (int i = 0;
         i < 120 && active_tasks(&s, "a") + active_tasks(&s, "b") + active_tasks(&s, "c") != 6; i++)
        hold(&s, v, 3, 1);
    t0 = tk_mono_s();
    stop_cleanly(&s, &v[2]);
    while (active_tasks(&s, "a") + active_tasks(&s, "b") != 6 && tk_mono_s() - t0 < 120)
        usleep(100 * 1000);
    double handover = tk_mono_s() - t0;
    fprintf(stderr, "scale-in by SIGTERM: a and b own all 6 tasks %.1f s after the signal\n",
            handover);
    assert_true(active_tasks(&s, "a") + active_tasks(&s, "b") == 6);
    assert_int_equal(lk_produce(&s, half, s.n_events), 0);
    wait_outputs(&s, v, 2, (long)outputs.n, 300);
    stop_cleanly(&s, &v[0]);
    stop_cleanly(&s, &v[1]);
    check_equal(&s, &outputs, &states);
    lk_lines_free(&outputs);
    lk_lines_free(&states);
    lk_scenario_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_broker_kills_and_two_broker_outage_change_nothing,
                                  teardown_test),
        cmocka_unit_test_teardown(test_instance_kill_rolling_restart_and_scale_in_change_nothing,
                                  teardown_test),
    };
    if (getenv("LS_TEST_FILTER"))
        cmocka_set_test_filter(getenv("LS_TEST_FILTER"));
    return cmocka_run_group_tests(tests, setup, teardown);
}
