/*
 * Unit tests of metrics: byte-exact Prometheus text for every kind of series (the golden
 * strings are the format 0.0.4 a scraper parses), validation at registration, and updates
 * from several threads racing a scraper that must add up exactly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"

static const char *const task_label[] = {"task"};

static void assert_render(met_registry_t *reg, const char *golden)
{
    size_t len = 0;
    char *text = met_render(reg, &len);
    assert_non_null(text);
    assert_string_equal(text, golden);
    assert_int_equal(len, strlen(golden));
    free(text);
}

static void test_counter_renders_help_type_and_value(void **state)
{
    (void)state;
    char err[256];
    met_registry_t *reg = met_registry_new();
    met_family_t *f = met_family_new(
        reg, &(met_spec_t){.name = "loyalty_timers_fired_total", .help = "Timers fired."}, err,
        sizeof err);
    assert_non_null(f);
    met_counter_t *c = met_counter_get(f, NULL, err, sizeof err);
    assert_non_null(c);
    met_counter_add(c, 3);
    met_counter_add(c, 4);
    met_counter_add(c, -5); /* counters never go down */
    assert_render(reg, "# HELP loyalty_timers_fired_total Timers fired.\n"
                       "# TYPE loyalty_timers_fired_total counter\n"
                       "loyalty_timers_fired_total 7\n");
    assert_true(met_counter_value(c) == 7.0);
    met_registry_destroy(reg);
}

static void test_labelled_series_render_in_creation_order(void **state)
{
    (void)state;
    char err[256];
    met_registry_t *reg = met_registry_new();
    met_family_t *f = met_family_new(reg,
                                     &(met_spec_t){.name = "loyalty_records_consumed_total",
                                                   .help = "Input records consumed.",
                                                   .type = MET_COUNTER,
                                                   .labels = task_label,
                                                   .nlabels = 1},
                                     err, sizeof err);
    assert_non_null(f);
    met_counter_t *t3 = met_counter_get(f, (const char *[]){"3"}, err, sizeof err);
    met_counter_t *t0 = met_counter_get(f, (const char *[]){"0"}, err, sizeof err);
    assert_non_null(t3);
    assert_non_null(t0);
    /* the same label values give the same handle: a task that comes back keeps counting */
    assert_ptr_equal(met_counter_get(f, (const char *[]){"3"}, err, sizeof err), t3);
    met_counter_add(t3, 10);
    met_counter_add(t0, 2);
    assert_render(reg, "# HELP loyalty_records_consumed_total Input records consumed.\n"
                       "# TYPE loyalty_records_consumed_total counter\n"
                       "loyalty_records_consumed_total{task=\"3\"} 10\n"
                       "loyalty_records_consumed_total{task=\"0\"} 2\n");
    met_registry_destroy(reg);
}

static void test_label_values_and_help_are_escaped(void **state)
{
    (void)state;
    char err[256];
    static const char *const labels[] = {"reason", "topic"};
    met_registry_t *reg = met_registry_new();
    met_family_t *f = met_family_new(reg,
                                     &(met_spec_t){.name = "loyalty_dead_lettered_total",
                                                   .help = "Dead-lettered records\nby \\reason.",
                                                   .labels = labels,
                                                   .nlabels = 2},
                                     err, sizeof err);
    assert_non_null(f);
    met_counter_t *c =
        met_counter_get(f, (const char *[]){"bad \"magic\"\nbyte", "a\\b"}, err, sizeof err);
    assert_non_null(c);
    met_counter_add(c, 1);
    assert_render(
        reg, "# HELP loyalty_dead_lettered_total Dead-lettered records\\nby \\\\reason.\n"
             "# TYPE loyalty_dead_lettered_total counter\n"
             "loyalty_dead_lettered_total{reason=\"bad \\\"magic\\\"\\nbyte\",topic=\"a\\\\b\"}"
             " 1\n");
    met_registry_destroy(reg);
}

static void test_gauges_int_and_double_and_unset(void **state)
{
    (void)state;
    char err[256];
    met_registry_t *reg = met_registry_new();
    met_family_t *lag = met_family_new(reg,
                                       &(met_spec_t){.name = "loyalty_consumer_lag_records",
                                                     .help = "Lag.",
                                                     .type = MET_GAUGE,
                                                     .labels = task_label,
                                                     .nlabels = 1},
                                       err, sizeof err);
    met_family_t *prog = met_family_new(reg,
                                        &(met_spec_t){.name = "loyalty_restore_progress_ratio",
                                                      .help = "Restore progress.",
                                                      .type = MET_GAUGE,
                                                      .is_double = true},
                                        err, sizeof err);
    assert_non_null(lag);
    assert_non_null(prog);
    met_gauge_t *l1 = met_gauge_get(lag, (const char *[]){"1"}, err, sizeof err);
    met_gauge_t *l2 = met_gauge_get(lag, (const char *[]){"2"}, err, sizeof err);
    met_gauge_t *p = met_gauge_get(prog, NULL, err, sizeof err);
    met_gauge_set(l1, 42);
    met_gauge_add(l1, -2);
    met_gauge_set(l2, -7);
    met_gauge_set_f(p, 0.1);
    met_gauge_add_f(p, 0.15);
    assert_render(reg, "# HELP loyalty_consumer_lag_records Lag.\n"
                       "# TYPE loyalty_consumer_lag_records gauge\n"
                       "loyalty_consumer_lag_records{task=\"1\"} 40\n"
                       "loyalty_consumer_lag_records{task=\"2\"} -7\n"
                       "# HELP loyalty_restore_progress_ratio Restore progress.\n"
                       "# TYPE loyalty_restore_progress_ratio gauge\n"
                       "loyalty_restore_progress_ratio 0.25\n");
    assert_true(met_gauge_value(l1) == 40.0);
    assert_true(met_gauge_value(p) == 0.25);
    /* a revoked task's gauge disappears until it is set again */
    met_gauge_unset(l1);
    met_gauge_set_f(p, 1.0 / 3.0);
    assert_render(reg, "# HELP loyalty_consumer_lag_records Lag.\n"
                       "# TYPE loyalty_consumer_lag_records gauge\n"
                       "loyalty_consumer_lag_records{task=\"2\"} -7\n"
                       "# HELP loyalty_restore_progress_ratio Restore progress.\n"
                       "# TYPE loyalty_restore_progress_ratio gauge\n"
                       "loyalty_restore_progress_ratio 0.33333333333333331\n");
    met_gauge_set(l1, 5);
    met_gauge_set_f(p, INFINITY);
    char *text = met_render(reg, NULL);
    assert_non_null(strstr(text, "loyalty_consumer_lag_records{task=\"1\"} 5\n"));
    assert_non_null(strstr(text, "loyalty_restore_progress_ratio +Inf\n"));
    free(text);
    met_gauge_set_f(p, NAN);
    text = met_render(reg, NULL);
    assert_non_null(strstr(text, "loyalty_restore_progress_ratio NaN\n"));
    free(text);
    met_registry_destroy(reg);
}

static void test_histogram_renders_cumulative_buckets_sum_count(void **state)
{
    (void)state;
    char err[256];
    static const double bounds[] = {0.005, 0.01, 0.1, 1};
    met_registry_t *reg = met_registry_new();
    met_family_t *f = met_family_new(reg,
                                     &(met_spec_t){.name = "loyalty_commit_latency_seconds",
                                                   .help = "Commit latency.",
                                                   .type = MET_HISTOGRAM,
                                                   .labels = task_label,
                                                   .nlabels = 1,
                                                   .buckets = bounds,
                                                   .nbuckets = 4},
                                     err, sizeof err);
    assert_non_null(f);
    met_histogram_t *h = met_histogram_get(f, (const char *[]){"0"}, err, sizeof err);
    assert_non_null(h);
    met_histogram_observe(h, 0.005); /* le is inclusive */
    met_histogram_observe(h, 0.05);
    met_histogram_observe(h, 0.5);
    met_histogram_observe(h, 2.5); /* only +Inf */
    met_histogram_observe(h, NAN); /* ignored */
    assert_int_equal(met_histogram_count(h), 4);
    assert_render(reg, "# HELP loyalty_commit_latency_seconds Commit latency.\n"
                       "# TYPE loyalty_commit_latency_seconds histogram\n"
                       "loyalty_commit_latency_seconds_bucket{task=\"0\",le=\"0.005\"} 1\n"
                       "loyalty_commit_latency_seconds_bucket{task=\"0\",le=\"0.01\"} 1\n"
                       "loyalty_commit_latency_seconds_bucket{task=\"0\",le=\"0.1\"} 2\n"
                       "loyalty_commit_latency_seconds_bucket{task=\"0\",le=\"1\"} 3\n"
                       "loyalty_commit_latency_seconds_bucket{task=\"0\",le=\"+Inf\"} 4\n"
                       "loyalty_commit_latency_seconds_sum{task=\"0\"} 3.055\n"
                       "loyalty_commit_latency_seconds_count{task=\"0\"} 4\n");
    met_registry_destroy(reg);
}

static void test_unlabelled_histogram_and_empty_family(void **state)
{
    (void)state;
    char err[256];
    static const double bounds[] = {1, 2};
    met_registry_t *reg = met_registry_new();
    met_family_t *empty =
        met_family_new(reg, &(met_spec_t){.name = "loyalty_empty", .help = "", .type = MET_GAUGE},
                       err, sizeof err);
    met_family_t *f = met_family_new(
        reg,
        &(met_spec_t){
            .name = "h", .help = "H.", .type = MET_HISTOGRAM, .buckets = bounds, .nbuckets = 2},
        err, sizeof err);
    assert_non_null(empty);
    met_histogram_observe(met_histogram_get(f, NULL, err, sizeof err), 1.5);
    assert_render(reg, "# HELP loyalty_empty \n"
                       "# TYPE loyalty_empty gauge\n"
                       "# HELP h H.\n"
                       "# TYPE h histogram\n"
                       "h_bucket{le=\"1\"} 0\n"
                       "h_bucket{le=\"2\"} 1\n"
                       "h_bucket{le=\"+Inf\"} 1\n"
                       "h_sum 1.5\n"
                       "h_count 1\n");
    met_registry_destroy(reg);
}

static void test_registration_rejects_bad_specs(void **state)
{
    (void)state;
    char err[256];
    met_registry_t *reg = met_registry_new();
    static const double bad_order[] = {1, 1};
    static const double ok_bounds[] = {1};
    static const char *const le[] = {"le"};
    static const char *const dunder[] = {"__x"};
    static const char *const twice[] = {"a", "a"};
    static const char *const colon[] = {"a:b"};
    assert_non_null(met_family_new(reg, &(met_spec_t){.name = "ok_total"}, err, sizeof err));
    assert_null(met_family_new(reg, &(met_spec_t){.name = "ok_total"}, err, sizeof err));
    assert_non_null(strstr(err, "already registered"));
    assert_null(met_family_new(reg, &(met_spec_t){.name = "9bad"}, err, sizeof err));
    assert_non_null(strstr(err, "9bad"));
    assert_null(met_family_new(reg, &(met_spec_t){.name = "a-b"}, err, sizeof err));
    assert_null(met_family_new(reg, &(met_spec_t){.name = NULL}, err, sizeof err));
    assert_null(met_family_new(reg, &(met_spec_t){.name = "x", .labels = dunder, .nlabels = 1}, err,
                               sizeof err));
    assert_null(met_family_new(reg, &(met_spec_t){.name = "x", .labels = twice, .nlabels = 2}, err,
                               sizeof err));
    assert_non_null(strstr(err, "twice"));
    assert_null(met_family_new(reg, &(met_spec_t){.name = "x", .labels = colon, .nlabels = 1}, err,
                               sizeof err));
    assert_null(met_family_new(
        reg, &(met_spec_t){.name = "x", .type = MET_HISTOGRAM, .buckets = bad_order, .nbuckets = 2},
        err, sizeof err));
    assert_non_null(strstr(err, "increasing"));
    assert_null(
        met_family_new(reg, &(met_spec_t){.name = "x", .type = MET_HISTOGRAM}, err, sizeof err));
    assert_null(met_family_new(reg,
                               &(met_spec_t){.name = "x",
                                             .type = MET_HISTOGRAM,
                                             .labels = le,
                                             .nlabels = 1,
                                             .buckets = ok_bounds,
                                             .nbuckets = 1},
                               err, sizeof err));
    assert_non_null(strstr(err, "'le'"));
    /* "x" was never registered by the failures above */
    assert_non_null(met_family_new(reg, &(met_spec_t){.name = "x"}, err, sizeof err));
    met_registry_destroy(reg);
}

static void test_series_get_checks_type_and_values(void **state)
{
    (void)state;
    char err[256];
    met_registry_t *reg = met_registry_new();
    met_family_t *f = met_family_new(
        reg, &(met_spec_t){.name = "c_total", .labels = task_label, .nlabels = 1}, err, sizeof err);
    assert_null(met_gauge_get(f, (const char *[]){"1"}, err, sizeof err));
    assert_non_null(strstr(err, "not a gauge"));
    assert_null(met_counter_get(f, NULL, err, sizeof err));
    assert_non_null(strstr(err, "'task'"));
    assert_null(met_counter_get(NULL, NULL, err, sizeof err));
    /* NULL handles are no-ops, so the pipeline can run without metrics */
    met_counter_add(NULL, 1);
    met_gauge_set(NULL, 1);
    met_histogram_observe(NULL, 1);
    assert_true(met_counter_value(NULL) == 0.0);
    assert_int_equal(met_histogram_count(NULL), 0);
    met_registry_destroy(NULL);
    met_registry_destroy(reg);
}

static void test_double_counter_and_int_conversions(void **state)
{
    (void)state;
    char err[256];
    met_registry_t *reg = met_registry_new();
    met_family_t *d = met_family_new(
        reg, &(met_spec_t){.name = "d_total", .help = "D.", .is_double = true}, err, sizeof err);
    met_family_t *i = met_family_new(
        reg, &(met_spec_t){.name = "i", .help = "I.", .type = MET_GAUGE}, err, sizeof err);
    met_counter_t *dc = met_counter_get(d, NULL, err, sizeof err);
    met_gauge_t *ig = met_gauge_get(i, NULL, err, sizeof err);
    met_counter_add_f(dc, 0.5);
    met_counter_add(dc, 2);
    met_counter_add_f(dc, -1.0); /* ignored */
    met_counter_add_f(dc, NAN);  /* ignored */
    met_gauge_set_f(ig, 2.5);    /* rounds half away from zero */
    met_gauge_add_f(ig, -0.4);   /* rounds to 0 */
    assert_render(reg, "# HELP d_total D.\n# TYPE d_total counter\nd_total 2.5\n"
                       "# HELP i I.\n# TYPE i gauge\ni 3\n");
    met_registry_destroy(reg);
}

/* ---- concurrency ---- */

#define THREADS    4
#define ITERATIONS 200000

typedef struct {
    met_counter_t *ic, *dc;
    met_histogram_t *h;
} shared_t;

typedef struct {
    met_registry_t *reg;
    _Atomic int stop;
    int renders;
} scraper_t;

static void *updater(void *arg)
{
    shared_t *s = arg;
    for (int i = 0; i < ITERATIONS; i++) {
        met_counter_add(s->ic, 1);
        met_counter_add_f(s->dc, 0.5);
        met_histogram_observe(s->h, (i % 2) ? 0.5 : 5.0);
    }
    return NULL;
}

static void *scraper(void *arg)
{
    scraper_t *s = arg;
    while (!s->stop) {
        char *text = met_render(s->reg, NULL);
        free(text);
        s->renders++;
    }
    return NULL;
}

static void test_concurrent_updates_sum_exactly_while_scraped(void **state)
{
    (void)state;
    char err[256];
    static const double bounds[] = {1};
    met_registry_t *reg = met_registry_new();
    shared_t s = {
        .ic =
            met_counter_get(met_family_new(reg, &(met_spec_t){.name = "i_total"}, err, sizeof err),
                            NULL, err, sizeof err),
        .dc =
            met_counter_get(met_family_new(reg, &(met_spec_t){.name = "d_total", .is_double = true},
                                           err, sizeof err),
                            NULL, err, sizeof err),
        .h = met_histogram_get(met_family_new(reg,
                                              &(met_spec_t){.name = "h_seconds",
                                                            .type = MET_HISTOGRAM,
                                                            .buckets = bounds,
                                                            .nbuckets = 1},
                                              err, sizeof err),
                               NULL, err, sizeof err),
    };
    assert_non_null(s.ic);
    assert_non_null(s.dc);
    assert_non_null(s.h);
    scraper_t sc = {.reg = reg};
    pthread_t scr, th[THREADS];
    assert_int_equal(pthread_create(&scr, NULL, scraper, &sc), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, updater, &s), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    sc.stop = 1;
    pthread_join(scr, NULL);
    assert_true(sc.renders > 0);
    const double n = (double)THREADS * ITERATIONS;
    assert_true(met_counter_value(s.ic) == n);
    assert_true(met_counter_value(s.dc) == n * 0.5); /* halves add exactly in binary */
    assert_int_equal(met_histogram_count(s.h), THREADS * ITERATIONS);
    assert_true(met_histogram_sum(s.h) == n / 2 * 0.5 + n / 2 * 5.0);
    char *text = met_render(reg, NULL);
    assert_non_null(strstr(text, "i_total 800000\n"));
    assert_non_null(strstr(text, "d_total 400000\n"));
    assert_non_null(strstr(text, "h_seconds_bucket{le=\"1\"} 400000\n"));
    assert_non_null(strstr(text, "h_seconds_count 800000\n"));
    free(text);
    met_registry_destroy(reg);
}

static void test_process_rss_is_positive(void **state)
{
    (void)state;
    int64_t rss = met_process_rss_bytes();
    assert_true(rss > 1024 * 1024 / 4);
}

/* A /proc/PID/stat line whose command holds spaces and a ')' parses from the last ')':
 * utime 250 + stime 150 ticks at 100 Hz = 4 s; start 12345 ticks after boot. */
static void test_process_stat_parses(void **st)
{
    (void)st;
    static const char line[] =
        "4242 (loyalty) stream) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 150 0 0 20 0 9 0 "
        "12345 1048576000 5000 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n";
    met_process_t p;
    assert_int_equal(met_process_parse_stat(line, 100, 1700000000, 4096, &p), 0);
    assert_true(fabs(p.cpu_seconds - 4.0) < 1e-9);
    assert_true(fabs(p.start_time_seconds - 1700000123.45) < 1e-6);
    assert_int_equal(p.virtual_bytes, 1048576000);
    assert_int_equal(p.rss_bytes, 5000 * 4096);
    assert_int_equal(met_process_parse_stat("4242 loyalty S 1", 100, 0, 4096, &p), -1);
    assert_int_equal(met_process_parse_stat("4242 (x) S 1 2", 100, 0, 4096, &p), -1);
    assert_int_equal(met_process_parse_stat(NULL, 100, 0, 4096, &p), -1);
}

/* This very process: resident memory, a start in the last hour, stdin/out/err open. */
static void test_process_read_self(void **st)
{
    (void)st;
    met_process_t p;
    assert_int_equal(met_process_read(&p), 0);
    assert_true(p.rss_bytes > 0);
    assert_true(p.virtual_bytes >= p.rss_bytes);
    assert_true(p.cpu_seconds >= 0);
    double now = (double)time(NULL);
    assert_true(p.start_time_seconds <= now + 1 && p.start_time_seconds > now - 3600);
    assert_true(p.open_fds >= 3);
    assert_true(p.max_fds == -1 || p.max_fds >= p.open_fds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_renders_help_type_and_value),
        cmocka_unit_test(test_labelled_series_render_in_creation_order),
        cmocka_unit_test(test_label_values_and_help_are_escaped),
        cmocka_unit_test(test_gauges_int_and_double_and_unset),
        cmocka_unit_test(test_histogram_renders_cumulative_buckets_sum_count),
        cmocka_unit_test(test_unlabelled_histogram_and_empty_family),
        cmocka_unit_test(test_registration_rejects_bad_specs),
        cmocka_unit_test(test_series_get_checks_type_and_values),
        cmocka_unit_test(test_double_counter_and_int_conversions),
        cmocka_unit_test(test_concurrent_updates_sum_exactly_while_scraped),
        cmocka_unit_test(test_process_rss_is_positive),
        cmocka_unit_test(test_process_stat_parses),
        cmocka_unit_test(test_process_read_self),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
