/*
 * Event time on the real broker (docs/PROGRAMS.md, "Late events"): a processor started
 * after the events' months have ended, reading them as a backlog, pays every customer's
 * monthly awards as replay does, under the wall clock too; out-of-order events across month
 * ends become corrections that name their period.
 *
 * Under clock = stream the outputs equal replay's byte for byte. Under clock = wall the
 * caught-up processor goes on firing timers up to today (expiries and warnings replay,
 * which stops at the last event, never fires), so there the judge is each customer's
 * per-period award total: BonusEarned of source "period" minus PointsReversed
 * "period_correction", by customer and period.
 */
#include "lkcheck.h"

#include <jansson.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static char bootstrap[512];
static const char *const inst_a[] = {"a", NULL};

static int setup(void **state)
{
    (void)state;
    return tk_processor_setup(bootstrap, sizeof(bootstrap));
}

/* "customer period points" lines, sorted: the per-period award totals of the outputs. */
static void period_totals(const lk_lines_t *outputs, lk_lines_t *totals)
{
    lk_lines_t raw = {0};
    for (size_t i = 0; i < outputs->n; i++) {
        json_t *j = json_loads(outputs->v[i], 0, NULL);
        assert_non_null(j);
        const char *type = json_string_value(json_object_get(j, "type"));
        const char *period = json_string_value(json_object_get(j, "period"));
        long long pts = (long long)json_integer_value(json_object_get(j, "points"));
        if (period && type && (!strcmp(type, "BonusEarned") || !strcmp(type, "PointsReversed"))) {
            char line[160];
            int n = snprintf(line, sizeof(line), "%s %s %lld",
                             json_string_value(json_object_get(j, "customer_id")), period,
                             !strcmp(type, "BonusEarned") ? pts : -pts);
            lk_lines_add(&raw, line, (size_t)n);
        }
        json_decref(j);
    }
    lk_lines_sort(&raw);
    /* sum runs of the same customer and period */
    for (size_t i = 0; i < raw.n;) {
        char key[140];
        long long sum = 0;
        const char *sp = strrchr(raw.v[i], ' ');
        snprintf(key, sizeof(key), "%.*s", (int)(sp - raw.v[i]), raw.v[i]);
        size_t k = i;
        for (;
             k < raw.n && strncmp(raw.v[k], key, strlen(key)) == 0 && raw.v[k][strlen(key)] == ' ';
             k++)
            sum += atoll(strrchr(raw.v[k], ' ') + 1);
        char line[200];
        int n = snprintf(line, sizeof(line), "%s %lld", key, sum);
        lk_lines_add(totals, line, (size_t)n);
        i = k;
    }
    lk_lines_sort(totals);
    lk_lines_free(&raw);
}

/* replay fires timers up to now, as the caught-up processor under the wall clock does. */
static void until_now(lk_scenario_t *s)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(s->replay_until, sizeof(s->replay_until), "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static size_t count_containing(const lk_lines_t *l, const char *needle)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        n += strstr(l->v[i], needle) != NULL;
    return n;
}

/* Run the processor (clock = wall) until its per-period totals equal replay's or 180 s
 * pass; stop it and compare once more (nothing may come after). */
static void wall_clock_totals_equal_replay(lk_scenario_t *s, const lk_lines_t *want)
{
    snprintf(s->clock, sizeof(s->clock), "wall");
    int pid = lk_start(s, "a", NULL);
    assert_true(pid > 0);
    int diff = 1;
    for (time_t end = time(NULL) + 180; diff && time(NULL) < end;) {
        lk_lines_t got = {0}, totals = {0};
        if (lk_collect_outputs(s, &got) == 0) {
            period_totals(&got, &totals);
            diff = want->n != totals.n;
            for (size_t i = 0; !diff && i < want->n; i++)
                diff = strcmp(want->v[i], totals.v[i]) != 0;
        }
        lk_lines_free(&got);
        lk_lines_free(&totals);
        if (diff)
            sleep(1);
    }
    stop_cleanly(s, pid);
    lk_lines_t got = {0}, totals = {0};
    assert_int_equal(lk_collect_outputs(s, &got), 0);
    period_totals(&got, &totals);
    if (lk_lines_diff(want, &totals, "per-period award total") != 0)
        fail_msg("the wall-clock processor's period awards differ from replay's (logs in %s)",
                 s->dir);
    lk_lines_free(&got);
    lk_lines_free(&totals);
}

/* The README's period-award example (examples/programs/02-period-award), produced as a
 * backlog months after its events: March's awards are 750, 100 and 29 as in its golden
 * file, whatever the clock. */
static void test_period_award_example_as_a_backlog_under_the_wall_clock(void **state)
{
    (void)state;
    lk_scenario_t s;
    assert_int_equal(lk_scenario_new(&s, "evtime-example", bootstrap, 1, 0, 1, 1), 0);
    const char *src = getenv("LS_SOURCE_DIR");
    snprintf(s.program, sizeof(s.program), "%s/examples/programs/02-period-award/program.yaml",
             src ? src : ".");
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "cp %s/examples/programs/02-period-award/input.jsonl %s/events.jsonl", src ? src : ".",
             s.dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(lk_produce_encode(&s, NULL), 0);
    /* the processor, caught up, fires timers up to now: so does replay here */
    until_now(&s);
    expect_t e;
    expect_from_replay(&s, &e);
    lk_lines_t want = {0};
    period_totals(&e.outputs, &want);
    const char *const march[] = {"anna 2026-03 750", "boris 2026-03 100", "vera 2026-03 29"};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(count_containing(&want, march[i]), 1);
    wall_clock_totals_equal_replay(&s, &want);
    lk_lines_free(&want);
    expect_free(&e);
    lk_scenario_free(&s);
}

/* Three months of generated traffic, a fifth of it up to a day late (across month ends
 * too), read as a backlog: byte for byte under the stream clock; per-period totals under
 * the wall clock, on a fresh application (its own topics and state). */
static void test_out_of_order_months_as_a_backlog_under_both_clocks(void **state)
{
    (void)state;
    lk_scenario_t s;
    char cmd[512];
    assert_int_equal(lk_scenario_new(&s, "evtime-stream", bootstrap, 3, 3000, 200, 31), 0);
    const char *src = getenv("LS_SOURCE_DIR");
    snprintf(s.program, sizeof(s.program), "%s/tests/it/programs/award.yaml", src ? src : ".");
    lk_scenario_disorder(&s, 5, 20, INT64_C(86400000));
    assert_int_equal(lk_produce(&s, 0, s.n_events), 0);
    expect_t e;
    expect_from_replay(&s, &e);
    lk_lines_t want = {0};
    period_totals(&e.outputs, &want);
    assert_true(want.n > 100);
    /* the late events really corrected closed months */
    assert_true(count_containing(&e.outputs, "\"correction\":true") > 0);
    run_until_done(&s, &e, "a", NULL);
    check_equal(&s, &e, inst_a);

    /* the same input under the wall clock: a second application from scratch (its own
     * group, outputs, changelog and state) on the same input topic */
    char name[96];
    snprintf(name, sizeof(name), "%.80s-wall", s.name);
    snprintf(s.name, sizeof(s.name), "%s", name);
    snprintf(s.dlq, sizeof(s.dlq), "%s.dlq", name);
    snprintf(s.changelog, sizeof(s.changelog), "%s-changelog", name);
    for (int k = 0; k < ENG_OUT_KIND_COUNT; k++)
        snprintf(s.outputs[k], sizeof(s.outputs[k]), "%s.out%d", name, k);
    snprintf(cmd, sizeof(cmd), "rm -rf %s/state-a", s.dir);
    assert_int_equal(system(cmd), 0);
    until_now(&s);
    expect_t ew;
    expect_from_replay(&s, &ew);
    lk_lines_t want_all = {0};
    period_totals(&ew.outputs, &want_all);
    assert_true(want_all.n > want.n); /* the periods after the data closed too */
    wall_clock_totals_equal_replay(&s, &want_all);
    lk_lines_free(&want_all);
    expect_free(&ew);
    expect_free(&e);
    lk_lines_free(&want);
    lk_scenario_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_period_award_example_as_a_backlog_under_the_wall_clock),
        cmocka_unit_test(test_out_of_order_months_as_a_backlog_under_both_clocks),
    };
    if (getenv("LS_TEST_FILTER"))
        cmocka_set_test_filter(getenv("LS_TEST_FILTER"));
    return cmocka_run_group_tests(tests, setup, NULL);
}
