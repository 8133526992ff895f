/*
 * run: see run.h. The one idea: run_pipeline owns every long-lived object of a running
 * processor and tears them down in reverse order on every path; run_main adds only the
 * command line and the signals.
 */
#include "run.h"

#include "eng.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "version.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------ metrics */

typedef struct run_metrics {
    met_registry_t *reg;
    /* the pipeline's counters; the app's (events, outputs, ...) are app_attach_metrics' */
    met_counter_t *consumed, *produced, *txns, *aborts, *restored;
    met_gauge_t *tasks, *restoring;
    /* the standard process metrics */
    met_counter_t *cpu;
    met_gauge_t *rss, *vms, *start, *fds, *max_fds;
    double last_cpu;
    /* per committed transaction (the pipeline's commit observer) */
    met_histogram_t *commit_latency, *txn_records;
    /* per task, indexed by partition (n_tasks of them, made on first sight) */
    met_family_t *f_lag, *f_remaining, *f_restored;
    met_gauge_t **lag, **remaining, **restored_task;
    int32_t n_tasks;
    pipe_stats_t last_ps;
} run_metrics_t;

static met_counter_t *counter(met_registry_t *reg, const char *name, const char *help)
{
    char err[256];
    met_family_t *f =
        met_family_new(reg, &(met_spec_t){.name = name, .help = help}, err, sizeof(err));
    return f ? met_counter_get(f, NULL, err, sizeof(err)) : NULL;
}

static met_gauge_t *gauge(met_registry_t *reg, const char *name, const char *help)
{
    char err[256];
    met_family_t *f = met_family_new(
        reg, &(met_spec_t){.name = name, .help = help, .type = MET_GAUGE}, err, sizeof(err));
    return f ? met_gauge_get(f, NULL, err, sizeof(err)) : NULL;
}

static met_gauge_t *gauge_d(met_registry_t *reg, const char *name, const char *help)
{
    char err[256];
    met_family_t *f = met_family_new(
        reg, &(met_spec_t){.name = name, .help = help, .type = MET_GAUGE, .is_double = true}, err,
        sizeof(err));
    return f ? met_gauge_get(f, NULL, err, sizeof(err)) : NULL;
}

static met_histogram_t *histogram(met_registry_t *reg, const char *name, const char *help,
                                  const double *buckets, size_t nbuckets)
{
    char err[256];
    met_family_t *f = met_family_new(reg,
                                     &(met_spec_t){.name = name,
                                                   .help = help,
                                                   .type = MET_HISTOGRAM,
                                                   .buckets = buckets,
                                                   .nbuckets = nbuckets},
                                     err, sizeof(err));
    return f ? met_histogram_get(f, NULL, err, sizeof(err)) : NULL;
}

static met_family_t *task_gauges(met_registry_t *reg, const char *name, const char *help)
{
    char err[256];
    static const char *const task_label[] = {"task"};
    return met_family_new(
        reg,
        &(met_spec_t){
            .name = name, .help = help, .type = MET_GAUGE, .labels = task_label, .nlabels = 1},
        err, sizeof(err));
}

static const double latency_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
static const double size_buckets[] = {1, 10, 100, 1000, 10000, 100000};

static int metrics_init(run_metrics_t *m)
{
    char err[256];
    memset(m, 0, sizeof(*m));
    if (!(m->reg = met_registry_new()))
        return -1;
    met_registry_t *r = m->reg;
    m->consumed = counter(r, "loyalty_records_consumed_total",
                          "Input records processed in committed transactions.");
    m->produced = counter(r, "loyalty_records_produced_total",
                          "Records produced in committed transactions (outputs, changelog, "
                          "dead letters).");
    m->txns = counter(r, "loyalty_transactions_committed_total", "Transactions committed.");
    m->aborts = counter(r, "loyalty_transactions_aborted_total", "Transactions aborted.");
    m->restored = counter(r, "loyalty_restored_records_total", "Changelog records restored.");
    m->tasks = gauge(r, "loyalty_tasks", "Input partitions assigned to this instance.");
    m->restoring = gauge(r, "loyalty_tasks_restoring", "Tasks still restoring state.");
    m->commit_latency =
        histogram(r, "loyalty_commit_latency_seconds",
                  "send_offsets_to_transaction plus commit_transaction, per committed transaction.",
                  latency_buckets, sizeof(latency_buckets) / sizeof(latency_buckets[0]));
    m->txn_records =
        histogram(r, "loyalty_transaction_records", "Input records per committed transaction.",
                  size_buckets, sizeof(size_buckets) / sizeof(size_buckets[0]));
    m->f_lag = task_gauges(r, "loyalty_task_lag_records",
                           "Input records not processed yet: high watermark minus position.");
    m->f_remaining = task_gauges(r, "loyalty_restore_records_remaining",
                                 "Changelog records a restoring task still has to apply.");
    m->f_restored = task_gauges(r, "loyalty_restore_records_applied",
                                "Changelog records the task applied since its assignment.");
    static const char *const build_labels[] = {"version", "commit"};
    met_family_t *fb = met_family_new(r,
                                      &(met_spec_t){.name = "loyalty_build_info",
                                                    .help = "Always 1: the version and commit "
                                                            "of the binary.",
                                                    .type = MET_GAUGE,
                                                    .labels = build_labels,
                                                    .nlabels = 2},
                                      err, sizeof(err));
    met_gauge_set(
        fb ? met_gauge_get(fb, (const char *[]){LS_VERSION, LS_GIT_DESCRIBE}, err, sizeof(err))
           : NULL,
        1);
    char ferr[256];
    met_family_t *fc =
        met_family_new(r,
                       &(met_spec_t){.name = "process_cpu_seconds_total",
                                     .help = "Total user and system CPU time spent in seconds.",
                                     .is_double = true},
                       ferr, sizeof(ferr));
    m->cpu = fc ? met_counter_get(fc, NULL, ferr, sizeof(ferr)) : NULL;
    m->rss = gauge(r, "process_resident_memory_bytes", "Resident memory size in bytes.");
    m->vms = gauge(r, "process_virtual_memory_bytes", "Virtual memory size in bytes.");
    m->start = gauge_d(r, "process_start_time_seconds",
                       "Start time of the process since unix epoch in seconds.");
    m->fds = gauge(r, "process_open_fds", "Number of open file descriptors.");
    m->max_fds = gauge(r, "process_max_fds", "Maximum number of open file descriptors.");
    return fb && m->consumed && m->rss && m->cpu && m->commit_latency && m->f_lag &&
                   m->f_remaining && m->f_restored
               ? 0
               : -1;
}

static void metrics_free(run_metrics_t *m)
{
    met_registry_destroy(m->reg);
    free(m->lag);
    free(m->remaining);
    free(m->restored_task);
}

/* The pipeline's commit observer: one observation per committed transaction. */
static void on_commit(void *ctx, int64_t records_in, int64_t records_out, double seconds)
{
    run_metrics_t *m = ctx;
    (void)records_out;
    met_histogram_observe(m->commit_latency, seconds);
    met_histogram_observe(m->txn_records, (double)records_in);
}

static void metrics_process(run_metrics_t *m)
{
    met_process_t p;
    if (met_process_read(&p) != 0)
        return;
    if (p.cpu_seconds > m->last_cpu) {
        met_counter_add_f(m->cpu, p.cpu_seconds - m->last_cpu);
        m->last_cpu = p.cpu_seconds;
    }
    met_gauge_set(m->rss, p.rss_bytes);
    met_gauge_set(m->vms, p.virtual_bytes);
    met_gauge_set_f(m->start, p.start_time_seconds);
    met_gauge_set(m->fds, p.open_fds);
    if (p.max_fds >= 0)
        met_gauge_set(m->max_fds, p.max_fds);
}

/* Per-task gauges: a task's series is made when it is first seen and hidden while the
 * task is not assigned here (or while its value is not known). */
static void metrics_tasks(run_metrics_t *m, pipe_t *pp)
{
    int32_t n = pipe_partition_count(pp);
    if (n <= 0)
        return;
    if (n > m->n_tasks) {
        met_gauge_t **l = realloc(m->lag, (size_t)n * sizeof(*l));
        if (l)
            m->lag = l;
        met_gauge_t **r = realloc(m->remaining, (size_t)n * sizeof(*r));
        if (r)
            m->remaining = r;
        met_gauge_t **a = realloc(m->restored_task, (size_t)n * sizeof(*a));
        if (a)
            m->restored_task = a;
        if (!l || !r || !a)
            return;
        for (int32_t p = m->n_tasks; p < n; p++)
            m->lag[p] = m->remaining[p] = m->restored_task[p] = NULL;
        m->n_tasks = n;
    }
    pipe_task_stats_t *ts = malloc((size_t)n * sizeof(*ts));
    if (!ts)
        return;
    size_t got = pipe_get_task_stats(pp, ts, (size_t)n), i = 0; /* in partition order */
    char err[256], name[16];
    for (int32_t p = 0; p < n; p++) {
        const pipe_task_stats_t *t = i < got && ts[i].task == p ? &ts[i++] : NULL;
        if (!t) { /* not assigned here */
            met_gauge_unset(m->lag[p]);
            met_gauge_unset(m->remaining[p]);
            met_gauge_unset(m->restored_task[p]);
            continue;
        }
        if (!m->lag[p]) {
            snprintf(name, sizeof(name), "%d", (int)p);
            const char *v[] = {name};
            m->lag[p] = met_gauge_get(m->f_lag, v, err, sizeof(err));
            m->remaining[p] = met_gauge_get(m->f_remaining, v, err, sizeof(err));
            m->restored_task[p] = met_gauge_get(m->f_restored, v, err, sizeof(err));
        }
        if (t->lag >= 0)
            met_gauge_set(m->lag[p], t->lag);
        else
            met_gauge_unset(m->lag[p]);
        if (t->restore_remaining >= 0)
            met_gauge_set(m->remaining[p], t->restore_remaining);
        else
            met_gauge_unset(m->remaining[p]);
        met_gauge_set(m->restored_task[p], t->restored);
    }
    free(ts);
}

static void metrics_update(run_metrics_t *m, const pipe_stats_t *ps)
{
    met_counter_add(m->consumed, ps->records_in - m->last_ps.records_in);
    met_counter_add(m->produced, ps->records_out - m->last_ps.records_out);
    met_counter_add(m->txns, ps->transactions - m->last_ps.transactions);
    met_counter_add(m->aborts, ps->aborts - m->last_ps.aborts);
    met_counter_add(m->restored, ps->restored - m->last_ps.restored);
    met_gauge_set(m->tasks, ps->tasks);
    met_gauge_set(m->restoring, ps->restoring);
    metrics_process(m);
    m->last_ps = *ps;
}

/* ------------------------------------------------------------------ the runner */

typedef struct runner {
    app_t *app;
    http_server_t *http;
    run_metrics_t metrics;
    pipe_t *pp; /* the running pipeline */
    const run_extras_t *extras;
    volatile sig_atomic_t *stop;
    bool stop_logged;
    int64_t last_update;
} runner_t;

/* What a stop flag's value says: the signal handler stores the signal's number. */
static const char *stop_cause(int v)
{
    return v == SIGTERM ? "SIGTERM" : v == SIGINT ? "SIGINT" : "request";
}

static void log_stop(runner_t *r, const char *phase)
{
    if (r->stop_logged || !*r->stop)
        return;
    r->stop_logged = true;
    char msg[64];
    snprintf(msg, sizeof(msg), "stopping on %s", stop_cause((int)*r->stop));
    log_info("run", msg, "phase=%s", phase);
}

static void on_tick(void *ctx, const pipe_stats_t *ps)
{
    runner_t *r = ctx;
    app_stats_t as;
    app_get_stats(r->app, &as);
    int64_t now = http_now_ms();
    if (r->extras && r->extras->tick)
        r->extras->tick(r->extras->ctx, ps, &as);
    /* Ready = joined the group, holds its assignment and restored every task of it. An
     * instance assigned nothing (more instances than partitions) is a ready idle spare:
     * a rolling update must not stall on it. Readiness falls at once on a stop and on a
     * revocation; it rises at the next once-a-second update. */
    bool ready = ps->assigned && ps->restoring == 0 && !*r->stop;
    if (!ready)
        http_set_ready(r->http, false);
    log_stop(r, "running");
    if (now - r->last_update < 1000)
        return;
    r->last_update = now;
    metrics_update(&r->metrics, ps);
    if (r->pp)
        metrics_tasks(&r->metrics, r->pp);
    if (r->http) {
        http_heartbeat(r->http, now);
        http_set_ready(r->http, ready);
    }
}

/* With state.reset.on.corruption, a task whose local state does not decode is dropped
 * and restored from the changelog by a new pipeline (the old one's close revoked every
 * task). Bounded: a changelog that holds undecodable states would corrupt the task again.
 * @returns 0 to run again, -1 to stop (exit 2). */
#define MAX_RESETS 3
static int reset_corrupt_task(const cfg_t *cfg, runner_t *r, pipe_t **pp, int *resets)
{
    int32_t p = app_corrupt_task(r->app);
    if (!cfg->state_reset_on_corruption || p < 0 || *r->stop || *resets >= MAX_RESETS)
        return -1;
    pipe_destroy(*pp);
    *pp = NULL;
    r->pp = NULL;
    char err[512];
    if (app_reset_task(r->app, p, err, sizeof(err)) != 0) {
        log_error("run", "cannot drop the corrupt local state", "task=%d err=\"%s\"", (int)p, err);
        return -1;
    }
    (*resets)++;
    log_warn("run", "local state of a task was corrupt: dropped; it restores from the changelog",
             "task=%d resets=%d max=%d", (int)p, *resets, MAX_RESETS);
    memset(&r->metrics.last_ps, 0, sizeof(r->metrics.last_ps)); /* a new pipeline's counts */
    return 0;
}

int run_pipeline(const cfg_t *cfg, volatile sig_atomic_t *stop, const run_extras_t *extras)
{
    char err[1024];
    int code = 1;
    runner_t r = {.extras = extras, .stop = stop};
    pipe_t *pp = NULL;
    if (metrics_init(&r.metrics) != 0) {
        log_error("run", "out of memory for metrics", NULL);
        goto out;
    }
    bool transient = false;
    r.app = app_new(cfg, &transient, err, sizeof(err));
    if (!r.app) {
        log_error("run", "cannot start", "err=\"%s\"", err);
        /* A registry out of reach may come back (exit 1: restart); a bad program file,
         * store or schema will not (exit 2). */
        code = transient ? 1 : 2;
        goto out;
    }
    if (app_attach_metrics(r.app, r.metrics.reg, err, sizeof(err)) != 0) {
        log_error("run", "cannot register the app's metrics", "err=\"%s\"", err);
        goto out;
    }
    if (extras && extras->observer)
        app_set_output_observer(r.app, extras->observer, extras->ctx);
    if (cfg->http_port >= 0) {
        http_config_t hc = {.bind_address = cfg->http_bind,
                            .port = (uint16_t)cfg->http_port,
                            .metrics = r.metrics.reg,
                            .query = app_query_customer,
                            .query_opaque = r.app,
                            .queries = cfg_http_queries(cfg)};
        r.http = http_new(&hc, http_now_ms(), err, sizeof(err));
        if (!r.http) {
            log_error("run", "cannot start the HTTP server", "err=\"%s\"", err);
            goto out;
        }
        log_info("run", "HTTP server listening", "bind=%s port=%u query_bind=%s query_port=%d",
                 cfg->http_bind, (unsigned)http_port(r.http), cfg->http_query_bind,
                 http_query_port(r.http) ? (int)http_query_port(r.http) : -1);
    }
    size_t n_out;
    const char *const *outs = app_topics_out(r.app, &n_out);
    pipe_conf_t pc;
    cfg_pipe_conf(cfg, outs, n_out, &pc);
    pc.stop = stop;
    for (int resets = 0;;) {
        int prc = pipe_new(&pc, app_hooks(r.app), &pp, err, sizeof(err));
        if (prc == PIPE_STOPPED) {
            log_stop(&r, "start-up");
            log_info("run", "stopped during start-up", "cause=%s", stop_cause((int)*stop));
            code = 0;
            goto out;
        }
        if (prc != PIPE_OK) {
            log_error("run", "cannot start the pipeline", "err=\"%s\"", err);
            code = prc == PIPE_CONFIG ? 2 : 1; /* a missing topic stays missing: exit 2 */
            goto out;
        }
        r.pp = pp;
        pipe_set_tick(pp, on_tick, &r);
        pipe_set_commit_observer(pp, on_commit, &r.metrics);
        prc = pipe_run(pp, stop, err, sizeof(err));
        if (prc == PIPE_OK) {
            code = 0;
            log_stop(&r, "running");
            log_info("run", "stopped cleanly", "cause=%s", stop_cause((int)*stop));
            goto out;
        }
        code = prc == PIPE_CORRUPT ? 2 : 1; /* corrupt state fails the same way after a restart */
        if (prc != PIPE_CORRUPT || reset_corrupt_task(cfg, &r, &pp, &resets) != 0)
            goto out;
    }
out:
    pipe_destroy(pp);
    http_destroy(r.http);
    app_destroy(r.app);
    metrics_free(&r.metrics);
    return code;
}

/* ------------------------------------------------------------------ the command */

static volatile sig_atomic_t g_stop; /* set by signal handlers only */
static volatile sig_atomic_t g_timeout_s;

static void on_signal(int sig)
{
    if (g_stop) {
        static const char msg[] = "second signal: exiting at once\n";
        (void)!write(2, msg, sizeof(msg) - 1);
        _exit(130);
    }
    g_stop = sig;                 /* non-zero; run_pipeline names it in the log */
    alarm((unsigned)g_timeout_s); /* a bounded stop: see on_alarm */
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "shutdown.timeout.ms passed: exiting without a clean stop\n";
    (void)!write(2, msg, sizeof(msg) - 1);
    _exit(1);
}

static void run_usage(FILE *out)
{
    fprintf(out, "usage: loyalty-stream run --config FILE\n"
                 "       loyalty-stream run --help-config[=markdown]\n\n"
                 "Run the processor daemon. Settings come from FILE (key = value lines) and\n"
                 "LOYALTY_* environment variables; --help-config lists them.\n"
                 "SIGTERM or SIGINT stops it cleanly (a second signal at once).\n");
}

int run_main(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"help-config", optional_argument, NULL, 'H'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *path = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            path = optarg;
            break;
        case 'H':
            if (optarg && strcmp(optarg, "markdown") == 0)
                cfg_print_markdown(stdout);
            else
                cfg_print_help(stdout);
            return 0;
        case 'h':
            run_usage(stdout);
            return 0;
        default:
            run_usage(stderr);
            return 2;
        }
    }
    if (!path || optind < argc) {
        fprintf(stderr, "loyalty-stream run: %s\n\n",
                path ? "unexpected argument" : "--config FILE is required");
        run_usage(stderr);
        return 2;
    }
    cfg_t *cfg = cfg_new_defaults();
    char err[1024];
    extern char **environ;
    if (!cfg || cfg_load(cfg, path, environ, err, sizeof(err)) != 0 ||
        cfg_check_kafka(cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "loyalty-stream run: %s\n", cfg ? err : "out of memory");
        cfg_destroy(cfg);
        return 2;
    }
    log_level_t level = LOG_INFO;
    log_level_parse(cfg->log_level, &level);
    log_configure(level, strcmp(cfg->log_format, "json") == 0, stderr);
    g_timeout_s = (sig_atomic_t)((cfg->shutdown_timeout_ms + 999) / 1000);
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    log_info("run", "starting", "application.id=%s instance.id=%s bootstrap=%s program=%s",
             cfg->application_id, cfg->instance_id, cfg->bootstrap_servers, cfg->program_file);
    int code = run_pipeline(cfg, &g_stop, NULL);
    cfg_destroy(cfg);
    return code;
}
