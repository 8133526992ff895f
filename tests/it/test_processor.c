/*
 * The processor on the real broker, as users run it: `loyalty-stream run` in separate
 * processes, killed and restarted. Every scenario ends with the same strict check:
 * the outputs a read_committed consumer sees equal replay's outputs as a multiset, and
 * the final customer states (in the changelog and in the RocksDB store) equal replay's.
 *  (a) end to end;
 *  (b) a crash at each named crash point, then a restart; (e) the restart restores only
 *      the changelog's tail;
 *  (c) SIGKILL at random moments, again and again (LS_KILLS, default 50);
 *  (d) three instances on six partitions, one killed and one added mid-run;
 *  (f) a poison record goes to the dead-letter topic and processing goes on;
 *  (g) input produced the usual way (`encode --bootstrap`, murmur2 as the Java clients)
 *      on four partitions, with late events, equals `replay --partitions 4`;
 *  (h) a customer past the purchase ring and the lot array: the documented outputs, and
 *      loyalty_state_bounds_total counts each bite;
 *  and aborted transactions (LOYALTY_ABORT_EVERY) change nothing and count once.
 */
#include "eng_state.h"
#include "lkcheck.h"
#include "lskit.h"
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
#include <curl/curl.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static char bootstrap[512];

static int setup(void **state)
{
    (void)state;
    return tk_processor_setup(bootstrap, sizeof(bootstrap));
}

static size_t collect_body(char *p, size_t size, size_t n, void *ctx)
{
    lk_lines_add(ctx, p, size * n);
    return size * n;
}

/* GET http://127.0.0.1:port/path: the status, and the body in *body (one entry). */
static long http_get(int port, const char *path, lk_lines_t *body)
{
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    return status;
}

/* Start instance "a" with HTTP on a free port (*port), state queries on another
 * (*qport, loopback, no token) and @p extra (an environment entry, or NULL). @returns its
 * pid. */
static int start_with_http(lk_scenario_t *s, char *extra, int *port, int *qport)
{
    *port = tk_free_port();
    do
        *qport = tk_free_port();
    while (*qport == *port);
    char env_port[64], env_qport[64];
    snprintf(env_port, sizeof(env_port), "LOYALTY_HTTP_PORT=%d", *port);
    snprintf(env_qport, sizeof(env_qport), "LOYALTY_HTTP_QUERY_PORT=%d", *qport);
    char *env[] = {env_port, env_qport, extra, NULL};
    int pid = lk_start(s, "a", env);
    assert_true(pid > 0);
    return pid;
}

static void test_end_to_end_outputs_and_states_equal_replay(void **state)
{
    (void)state;
    lk_scenario_t s;
    expect_t e;
    assert_int_equal(lk_scenario_new(&s, "e2e", bootstrap, 4, 3000, 300, 1), 0);
    assert_int_equal(lk_produce(&s, 0, s.n_events), 0);
    expect_from_replay(&s, &e);
    /* With HTTP on: readiness, metrics and a state query answer while it runs. */
    int port, qport;
    int pid = start_with_http(&s, NULL, &port, &qport);
    long got = lk_wait_outputs(&s, (long)e.outputs.n, 120);
    assert_int_equal(got, (long)e.outputs.n);
    lk_lines_t body = {0};
    assert_int_equal(http_get(port, "/readyz", &body), 200);
    assert_int_equal(http_get(port, "/metrics", &body), 200);
    assert_non_null(strstr(body.v[1], "loyalty_records_consumed_total"));
    /* The first replay state's customer, e.g. {"customer_id":"cust-0000",...} */
    char customer[64] = "";
    sscanf(strstr(e.states.v[0], "\"customer_id\":\"") + 15, "%63[^\"]", customer);
    char path[128];
    snprintf(path, sizeof(path), "/customers/%s", customer);
    assert_int_equal(http_get(qport, path, &body), 200);
    assert_non_null(strstr(body.v[2], customer));
    assert_int_equal(http_get(qport, "/customers/nobody-at-all", &body), 404);
    assert_int_equal(http_get(port, path, &body), 404); /* not on the probe listener */
    lk_lines_free(&body);
    stop_cleanly(&s, pid);
    const char *inst[] = {"a", NULL};
    check_equal(&s, &e, inst);
    /* A clean restart restores nothing: the store is up to date with the changelog. */
    run_until_done(&s, &e, "a", NULL);
    long restored = lk_restored_in_log(&s, "a");
    assert_int_equal(restored, 0);
    check_equal(&s, &e, inst);
    expect_free(&e);
    lk_scenario_free(&s);
}

/* (g) One partitioner convention (docs/SCHEMAS.md): input produced by `encode --bootstrap`
 * (librdkafka's murmur2_random, as the Java clients) and the processor's per-task stream
 * clocks are reproduced by `replay --partitions 4` (its own murmur2) byte for byte. One
 * customer's events run 20 days ahead, so the other customers of its partition send late
 * events that meet the states that partition's clock says: the outcome depends on which
 * customers share a partition. Replay with another partitioner (librdkafka's default,
 * CRC32) must disagree, which shows that the comparison catches a producer and a replay
 * that split customers differently. */
static void test_encode_input_on_partitions_equals_replay(void **state)
{
    (void)state;
    lk_scenario_t s;
    expect_t e;
    assert_int_equal(lk_scenario_new(&s, "encode", bootstrap, 4, 800, 120, 8), 0);
    lk_scenario_run_ahead(&s, "cust-0001", INT64_C(20) * 86400000);
    assert_int_equal(lk_produce_encode(&s, NULL), 0);
    expect_from_replay(&s, &e);
    lk_lines_t other_outputs = {0}, other_states = {0};
    assert_int_equal(lk_replay_with(&s, "consistent_random", &other_outputs, &other_states), 0);
    fprintf(stderr, "replay with another partitioner (CRC32) differs from murmur2's:\n");
    int differs = lk_lines_diff(&e.outputs, &other_outputs, "crc32 replay output") != 0;
    lk_lines_free(&other_outputs);
    lk_lines_free(&other_states);
    assert_true(differs);
    run_until_done(&s, &e, "a", NULL);
    const char *inst[] = {"a", NULL};
    check_equal(&s, &e, inst);
    expect_free(&e);
    lk_scenario_free(&s);
}

static void crash_point_scenario(const char *point)
{
    lk_scenario_t s;
    expect_t e;
    assert_int_equal(lk_scenario_new(&s, point, bootstrap, 4, 3000, 300, 2), 0);
    assert_int_equal(lk_produce(&s, 0, s.n_events), 0);
    expect_from_replay(&s, &e);
    char p[64], a[64];
    snprintf(p, sizeof(p), "LOYALTY_CRASH_POINT=%s", point);
    snprintf(a, sizeof(a), "LOYALTY_CRASH_AFTER=4");
    char *env[] = {p, a, NULL};
    int pid = lk_start(&s, "a", env);
    int st = tk_wait(pid, 120000);
    if (st != 86)
        fail_msg("want the crash point's exit 86, got %d (logs in %s)", st, s.dir);
    long changelog_records = tk_count(bootstrap, s.changelog);
    long before = lk_restored_in_log(&s, "a");
    run_until_done(&s, &e, "a", NULL);
    long restored = lk_restored_in_log(&s, "a") - before;
    /* (e) Only the tail: after_commit leaves the store one transaction behind; the other
     * points leave it up to date. Never the whole changelog. */
    fprintf(stderr, "%s: restart restored %ld of %ld changelog records\n", point, restored,
            changelog_records);
    if (strcmp(point, "after_commit") == 0)
        assert_true(restored > 0 && restored <= 200 * 4);
    else
        assert_int_equal(restored, 0);
    const char *inst[] = {"a", NULL};
    check_equal(&s, &e, inst);
    expect_free(&e);
    lk_scenario_free(&s);
}

static void test_crash_after_produce_before_commit(void **state)
{
    (void)state;
    crash_point_scenario("after_produce");
}

static void test_crash_after_commit_before_store_write(void **state)
{
    (void)state;
    crash_point_scenario("after_commit");
}

static void test_crash_after_store_write(void **state)
{
    (void)state;
    crash_point_scenario("after_store");
}

static void test_sigkill_at_random_moments(void **state)
{
    (void)state;
    int kills = getenv("LS_KILLS") ? atoi(getenv("LS_KILLS")) : 50;
    lk_scenario_t s;
    expect_t e;
    assert_int_equal(lk_scenario_new(&s, "kill", bootstrap, 4, 20000, 500, 3), 0);
    assert_int_equal(lk_produce(&s, 0, s.n_events), 0);
    expect_from_replay(&s, &e);
    srand((unsigned)getpid());
    for (int i = 0; i < kills; i++) {
        int pid = lk_start(&s, "a", NULL);
        usleep((useconds_t)(200000 + rand() % 2000000));
        kill(pid, SIGKILL);
        assert_int_equal(tk_wait(pid, 10000), 128 + SIGKILL);
    }
    run_until_done(&s, &e, "a", NULL);
    const char *inst[] = {"a", NULL};
    check_equal(&s, &e, inst);
    expect_free(&e);
    lk_scenario_free(&s);
}

static void test_scale_out_kill_one_add_one(void **state)
{
    (void)state;
    lk_scenario_t s;
    expect_t e;
    assert_int_equal(lk_scenario_new(&s, "scale", bootstrap, 6, 12000, 600, 4), 0);
    assert_int_equal(lk_produce(&s, 0, s.n_events / 2), 0);
    expect_from_replay(&s, &e);
    int a = lk_start(&s, "a", NULL), b = lk_start(&s, "b", NULL), c = lk_start(&s, "c", NULL);
    sleep(6);
    kill(b, SIGKILL); /* b's tasks move to the others after the session timeout */
    assert_int_equal(tk_wait(b, 10000), 128 + SIGKILL);
    int d = lk_start(&s, "d", NULL); /* and a new instance joins */
    assert_int_equal(lk_produce(&s, s.n_events / 2, s.n_events), 0);
    long got = lk_wait_outputs(&s, (long)e.outputs.n, 180);
    fprintf(stderr, "scale: outputs %ld, want %zu\n", got, e.outputs.n);
    stop_cleanly(&s, a);
    stop_cleanly(&s, c);
    stop_cleanly(&s, d);
    /* States: the changelog is the whole truth; stores may hold stale copies of tasks
     * that moved away (kept for a quick return), so compare the changelog only. */
    lk_lines_t outs = {0}, states = {0};
    assert_int_equal(lk_collect_outputs(&s, &outs), 0);
    assert_int_equal(lk_collect_changelog(&s, &states), 0);
    int diff = lk_lines_diff(&e.outputs, &outs, "output") |
               lk_lines_diff(&e.states, &states, "changelog state");
    lk_lines_free(&outs);
    lk_lines_free(&states);
    if (diff)
        fail_msg("the processor disagrees with replay (logs in %s)", s.dir);
    expect_free(&e);
    lk_scenario_free(&s);
}

static void test_poison_record_goes_to_dead_letter_and_processing_goes_on(void **state)
{
    (void)state;
    lk_scenario_t s;
    expect_t e;
    assert_int_equal(lk_scenario_new(&s, "poison", bootstrap, 2, 1000, 100, 5), 0);
    assert_int_equal(lk_produce(&s, 0, s.n_events / 2), 0);
    static const unsigned char bad_magic[] = {7, 0, 0, 0, 1, 2, 3};
    assert_int_equal(lk_produce_raw(&s, 0, "cust-0001", bad_magic, sizeof(bad_magic)), 0);
    assert_int_equal(lk_produce(&s, s.n_events / 2, s.n_events), 0);
    expect_from_replay(&s, &e);
    run_until_done(&s, &e, "a", NULL);
    const char *inst[] = {"a", NULL};
    check_equal(&s, &e, inst);
    size_t n = 0;
    tk_record_t *dl = tk_consume_all(bootstrap, s.dlq, 1, &n);
    assert_non_null(dl);
    assert_int_equal(n, 1);
    assert_int_equal(dl[0].value_len, sizeof(bad_magic));
    assert_memory_equal(dl[0].value, bad_magic, sizeof(bad_magic)); /* bytes untouched */
    tk_records_free(dl, n);
    expect_free(&e);
    lk_scenario_free(&s);
}

/* The chunks of a body as one string (malloc'd); lk_lines_add dropped each chunk's
 * final newline, so one goes back between them. */
static char *join_body(const lk_lines_t *body)
{
    size_t len = 0;
    for (size_t i = 0; i < body->n; i++)
        len += strlen(body->v[i]) + 1;
    char *all = calloc(1, len + 1);
    assert_non_null(all);
    for (size_t i = 0; i < body->n; i++) {
        strcat(all, body->v[i]);
        strcat(all, "\n");
    }
    return all;
}

/* Sum of the samples of metric family @p name in a /metrics body. */
static long metric_sum(const char *body, const char *name)
{
    long sum = 0;
    size_t n = strlen(name);
    for (const char *l = body; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
        if (strncmp(l, name, n) == 0 && (l[n] == ' ' || l[n] == '{')) {
            const char *v = strchr(l, ' ');
            if (v)
                sum += atol(v + 1);
        }
    }
    return sum;
}

/* The sum of @p name's series whose labels hold @p label (e.g. kind="ExpiryWarning"). */
static long metric_sum_with(const char *body, const char *name, const char *label)
{
    long sum = 0;
    size_t n = strlen(name);
    for (const char *l = body; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
        const char *end = strchr(l, '}');
        const char *nl = strchr(l, '\n');
        if (strncmp(l, name, n) != 0 || l[n] != '{' || !end || (nl && end > nl))
            continue;
        const char *at = strstr(l, label);
        if (at && at < end)
            sum += atol(end + 2);
    }
    return sum;
}

/* The families an operator needs (docs/OPERATIONS.md, "Metrics") on a processor that has
 * done its work: build info, the process_* metrics, commit latency and transaction size,
 * per-task lag (0: caught up) and restore progress, and timers counted when timer-driven
 * outputs (warnings, expiries) went out (issue 20). */
static void check_operator_metrics(int port)
{
    lk_lines_t body = {0};
    assert_int_equal(http_get(port, "/metrics", &body), 200);
    char *all = join_body(&body);
    lk_lines_free(&body);
    static const char *const present[] = {
        "loyalty_build_info{version=\"",
        "process_cpu_seconds_total ",
        "process_start_time_seconds ",
        "loyalty_commit_latency_seconds_bucket{le=\"+Inf\"} ",
        "loyalty_transaction_records_bucket{le=\"+Inf\"} ",
        "loyalty_task_lag_records{task=\"0\"} ",
        "loyalty_task_lag_records{task=\"3\"} ",
        "loyalty_restore_records_applied{task=\"0\"} ",
        "loyalty_restore_records_remaining{task=\"0\"} 0",
        "loyalty_events_applied_total{task=\"3\"} ",
        "loyalty_outputs_total{task=\"0\",kind=\"BonusEarned\"} ",
        "loyalty_dead_letters_total{task=\"0\",reason=\"malformed_avro\"} ",
        "loyalty_state_bounds_total{task=\"0\",bound=\"lots\"} ",
    };
    for (size_t i = 0; i < sizeof(present) / sizeof(present[0]); i++)
        if (!strstr(all, present[i]))
            fail_msg("/metrics lacks %s:\n%s", present[i], all);
    assert_int_equal(metric_sum(all, "loyalty_build_info"), 1);
    assert_true(metric_sum(all, "process_resident_memory_bytes") > 0);
    assert_true(metric_sum(all, "process_open_fds") > 0);
    assert_true(metric_sum(all, "loyalty_commit_latency_seconds_count") > 0);
    assert_true(metric_sum(all, "loyalty_transaction_records_count") > 0);
    assert_int_equal(metric_sum(all, "loyalty_task_lag_records"), 0);
    long timer_outputs = 0;
    static const char *const timer_kinds[] = {"ExpiryWarning", "PointsExpired"};
    for (size_t k = 0; k < 2; k++) {
        char label[128];
        snprintf(label, sizeof(label), "kind=\"%s\"", timer_kinds[k]);
        timer_outputs += metric_sum_with(all, "loyalty_outputs_total", label);
    }
    assert_true(timer_outputs > 0);
    assert_true(metric_sum(all, "loyalty_timers_fired_total") > 0);
    /* Every metric the chart's alert rules and Grafana dashboard query is served. */
    const char *src = getenv("LS_SOURCE_DIR");
    assert_non_null(src);
    char path[] = "/tmp/ls-metrics-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(all, f);
    fclose(f);
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             "python3 '%s/tests/helm/check_metric_names.py' '%s/helm/loyalty-stream' '%s'", src,
             src, path);
    int rc = system(cmd);
    unlink(path);
    assert_int_equal(rc, 0);
    free(all);
}

/* Aborted transactions (forced at every third commit) change nothing a consumer sees,
 * and the work they threw away is not counted in the metrics: the outputs counted equal
 * the outputs replay produced, exactly once. */
static void test_aborted_transactions_change_nothing_and_count_once(void **state)
{
    (void)state;
    lk_scenario_t s;
    expect_t e;
    assert_int_equal(lk_scenario_new(&s, "aborts", bootstrap, 4, 3000, 300, 5), 0);
    assert_int_equal(lk_produce(&s, 0, s.n_events), 0);
    expect_from_replay(&s, &e);
    int port, qport;
    char abort_every[] = "LOYALTY_ABORT_EVERY=3";
    int pid = start_with_http(&s, abort_every, &port, &qport);
    long got = lk_wait_outputs(&s, (long)e.outputs.n, 120);
    assert_int_equal(got, (long)e.outputs.n);
    long outputs = -1, aborts = 0;
    for (int i = 0; i < 50 && outputs != (long)e.outputs.n; i++) { /* metrics lag ~50 ms */
        lk_lines_t body = {0};
        assert_int_equal(http_get(port, "/metrics", &body), 200);
        char *all = join_body(&body);
        outputs = metric_sum(all, "loyalty_outputs_total");
        aborts = metric_sum(all, "loyalty_transactions_aborted_total");
        free(all);
        lk_lines_free(&body);
        if (outputs != (long)e.outputs.n)
            usleep(100000);
    }
    assert_true(aborts > 0);
    assert_int_equal(outputs, (long)e.outputs.n);
    check_operator_metrics(port);
    stop_cleanly(&s, pid);
    const char *inst[] = {"a", NULL};
    check_equal(&s, &e, inst);
    expect_free(&e);
    lk_scenario_free(&s);
}

static void test_changelog_with_other_partition_count_is_refused(void **state)
{
    (void)state;
    lk_scenario_t s;
    assert_int_equal(lk_scenario_new(&s, "badclog", bootstrap, 2, 10, 5, 6), 0);
    assert_int_equal(tk_create_topic(bootstrap, s.changelog, 3, 1, NULL), 0);
    int pid = lk_start(&s, "a", NULL);
    int st = tk_wait(pid, 60000);
    assert_int_equal(st, 2); /* a configuration error (a restart will not help); nothing changed */
    char path[300], line[4096];
    snprintf(path, sizeof(path), "%s/a.log", s.dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int found = 0;
    while (fgets(line, sizeof(line), f))
        found |= strstr(line, "has 3 partitions but input topic") != NULL;
    fclose(f);
    assert_true(found);
    assert_int_equal(tk_count(bootstrap, s.changelog), 0);
    lk_scenario_free(&s);
}

/* Issue 23, "Bounds made visible", on the real broker: a customer with 17 purchases of
 * distinct expiry has her 17th lot merged and her first purchase forgotten; her return of
 * it gives the documented 0-point PointsReversed (reason purchase_not_found), and each
 * bite counts in loyalty_state_bounds_total. Outputs and states equal replay's. */
static void test_state_bounds_give_their_outputs_and_count_in_the_metric(void **state)
{
    (void)state;
    lk_scenario_t s;
    expect_t e;
    assert_int_equal(lk_scenario_new(&s, "bounds", bootstrap, 2, 400, 40, 9), 0);
    const int64_t day = INT64_C(86400000);
    int64_t t0 = s.events[0].time_ms - 20 * day; /* before the scenario's own events */
    for (int i = 0; i <= ENG_LOTS_MAX; i++) {
        eng_event_t ev;
        memset(&ev, 0, sizeof(ev));
        ev.kind = ENG_EV_PURCHASE;
        snprintf(ev.event_id, sizeof(ev.event_id), "bnd-p%d", i);
        snprintf(ev.customer_id, sizeof(ev.customer_id), "bounds-cust");
        snprintf(ev.currency, sizeof(ev.currency), "RUB");
        ev.time_ms = t0 + i * day;
        ev.n_lines = 1;
        snprintf(ev.lines[0].sku, sizeof(ev.lines[0].sku), "s1");
        snprintf(ev.lines[0].category, sizeof(ev.lines[0].category), "misc");
        ev.lines[0].quantity = 1;
        ev.lines[0].amount = 100000;
        assert_int_equal(lk_scenario_set_event(&s, (size_t)i, &ev), 0);
        if (i == ENG_LOTS_MAX) { /* then the return of the first, forgotten purchase */
            ev.kind = ENG_EV_RETURN;
            snprintf(ev.event_id, sizeof(ev.event_id), "bnd-r0");
            snprintf(ev.original_event_id, sizeof(ev.original_event_id), "bnd-p0");
            ev.time_ms += day / 2;
            assert_int_equal(lk_scenario_set_event(&s, (size_t)i + 1, &ev), 0);
        }
    }
    assert_int_equal(lk_produce(&s, 0, s.n_events), 0);
    expect_from_replay(&s, &e);
    long not_found = 0, ours = 0;
    for (size_t i = 0; i < e.outputs.n; i++) {
        not_found += strstr(e.outputs.v[i], "\"reason\":\"purchase_not_found\"") != NULL;
        if (strstr(e.outputs.v[i], "\"output_id\":\"bnd-r0:0\"")) {
            ours++;
            assert_non_null(strstr(e.outputs.v[i], "\"type\":\"PointsReversed\""));
            assert_non_null(strstr(e.outputs.v[i], "\"points\":0,"));
            assert_non_null(strstr(e.outputs.v[i], "\"reason\":\"purchase_not_found\""));
        }
    }
    assert_int_equal(ours, 1);
    int port, qport;
    int pid = start_with_http(&s, NULL, &port, &qport);
    assert_int_equal(lk_wait_outputs(&s, (long)e.outputs.n, 120), (long)e.outputs.n);
    long counted = -1, lots = 0, purchases = 0;
    for (int i = 0; i < 100 && counted != not_found; i++) { /* counted at the commit */
        lk_lines_t body = {0};
        assert_int_equal(http_get(port, "/metrics", &body), 200);
        char *all = join_body(&body);
        lk_lines_free(&body);
        counted = metric_sum_with(all, "loyalty_state_bounds_total", "bound=\"return_not_found\"");
        lots = metric_sum_with(all, "loyalty_state_bounds_total", "bound=\"lots\"");
        purchases = metric_sum_with(all, "loyalty_state_bounds_total", "bound=\"purchases\"");
        free(all);
        if (counted != not_found)
            usleep(100000);
    }
    assert_int_equal(counted, not_found);
    assert_true(lots >= 1);
    assert_true(purchases >= 1);
    stop_cleanly(&s, pid);
    const char *inst[] = {"a", NULL};
    check_equal(&s, &e, inst);
    expect_free(&e);
    lk_scenario_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_changelog_with_other_partition_count_is_refused),
        cmocka_unit_test(test_end_to_end_outputs_and_states_equal_replay),
        cmocka_unit_test(test_encode_input_on_partitions_equals_replay),
        cmocka_unit_test(test_crash_after_produce_before_commit),
        cmocka_unit_test(test_crash_after_commit_before_store_write),
        cmocka_unit_test(test_crash_after_store_write),
        cmocka_unit_test(test_aborted_transactions_change_nothing_and_count_once),
        cmocka_unit_test(test_state_bounds_give_their_outputs_and_count_in_the_metric),
        cmocka_unit_test(test_poison_record_goes_to_dead_letter_and_processing_goes_on),
        cmocka_unit_test(test_scale_out_kill_one_add_one),
        cmocka_unit_test(test_sigkill_at_random_moments),
    };
    if (getenv("LS_TEST_FILTER")) /* e.g. LS_TEST_FILTER='*scale*' */
        cmocka_set_test_filter(getenv("LS_TEST_FILTER"));
    return cmocka_run_group_tests(tests, setup, NULL);
}
