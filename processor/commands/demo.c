/*
 * demo: the README's main command. It starts librdkafka's mock cluster in this process
 * (or uses --bootstrap HOST:PORT), creates the topics, generates realistic traffic for
 * the cosmetics chain of DOMAIN.md (a few customers buy most: Zipf popularity; several
 * months compressed; returns and redemptions), runs the real pipeline with exactly-once
 * on, shows live progress, then prints one decoded sample output event of each kind and
 * totals per kind. The chain's program adds a monthly status (tiers promoted at once and
 * set again at each month's end) to its monthly award, so that every headline output
 * appears: tier changes up and down, bonuses, expiry warnings and expiries, redemptions,
 * downgrade warnings and progress nudges (tests/cli/test_demo.sh checks that they do).
 *
 * The one idea: nothing here is a special path of the processor. The generator is an
 * ordinary Kafka producer of Avro records on its own thread; the processor is
 * run_pipeline, exactly as `run` uses it, with stream time as its clock so that months
 * pass in seconds. The demo stops the pipeline once it has processed every generated
 * record.
 */
#include "demo.h"

#include "avro_codec.h"
#include "embk.h"
#include "eng.h"
#include "eng_json.h"
#include "keypart.h"
#include "log.h"
#include "pipe.h"
#include "run.h"

#include <ftw.h>
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char demo_program[] =
    "# The cosmetics chain of DOMAIN.md (seed rows 2 and 3): last month's total purchases\n"
    "# decide the rate (up to 1,000 RUB: 3%; 1,000-1,500: 10%; from 1,500: 15%), credited\n"
    "# as one lot at the start of the next month, usable in it, wiped at its end.\n"
    "# On top, a monthly status: the month's spend so far makes a customer Silver (from\n"
    "# 5,000 RUB) or Gold (from 15,000 RUB) at once; at each month's end the status becomes\n"
    "# the one that month's total reached, so a quieter month drops it (warned 7 days\n"
    "# before). Silver earns 3% of every purchase at once, Gold 5%; a customer 1,000 RUB or\n"
    "# less short of the next status is told so.\n"
    "name: cosmetics-chain\n"
    "currency: RUB\n"
    "timezone: Europe/Moscow\n"
    "point_value: 1\n"
    "qualification:\n"
    "  metric: spend\n"
    "  window: calendar_month\n"
    "tiers:\n"
    "  - { name: Classic, threshold: 0 }\n"
    "  - { name: Silver, threshold: 5000, earn_percent: 3 }\n"
    "  - { name: Gold, threshold: 15000, earn_percent: 5 }\n"
    "demotion:\n"
    "  mode: at_period_end\n"
    "  period: calendar_month\n"
    "  warning_days: [7]\n"
    "nudges:\n"
    "  progress: true\n"
    "  within: 1000\n"
    "period_award:\n"
    "  period: calendar_month\n"
    "  bands: lower_inclusive\n"
    "  rates:\n"
    "    - { from: 0, percent: 3 }\n"
    "    - { from: 1000, percent: 10 }\n"
    "    - { from: 1500, percent: 15 }\n"
    "expiry:\n"
    "  mode: end_of_next_month\n"
    "  warning_days: [30, 7, 1]\n"
    "redeeming:\n"
    "  max_share_percent: 50\n"
    "returns:\n"
    "  policy: never_below_zero\n";

typedef struct demo_opts {
    const char *bootstrap; /* NULL = embedded mock cluster */
    int customers;
    int events;
    int months;
    int partitions;
    const char *partitioner; /* librdkafka's, for the traffic (default: murmur2, the contract's) */
    unsigned seed;
    bool verbose; /* keep the processor's info logs (default: warnings only) */
} demo_opts_t;

/* ------------------------------------------------------------------ traffic */

typedef struct gen {
    const demo_opts_t *o;
    const char *bootstrap;
    const char *topic;
    double *cdf; /* Zipf popularity over customers */
    atomic_long produced;
    atomic_int done;
    char err[600];
} gen_t;

static int zipf_pick(const gen_t *g, double u)
{
    int lo = 0, hi = g->o->customers - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (g->cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static double urand(unsigned *seed)
{
    return (double)rand_r(seed) / ((double)RAND_MAX + 1.0);
}

static const char *const categories[] = {"skincare", "makeup", "perfume", "haircare"};

/* One event: mostly purchases; 4% returns of the customer's last purchase; 6% redemptions. */
static void make_event(const gen_t *g, unsigned *seed, long i, int64_t t, int64_t *last_purchase,
                       eng_event_t *ev)
{
    int c = zipf_pick(g, urand(seed));
    memset(ev, 0, sizeof(*ev));
    snprintf(ev->event_id, sizeof(ev->event_id), "demo-%ld", i);
    snprintf(ev->customer_id, sizeof(ev->customer_id), "customer-%05d", c);
    snprintf(ev->currency, sizeof(ev->currency), "RUB");
    snprintf(ev->partner, sizeof(ev->partner), "store-%d", c % 7);
    ev->time_ms = t;
    double r = urand(seed);
    if (r < 0.04 && last_purchase[c] >= 0) {
        ev->kind = ENG_EV_RETURN;
        snprintf(ev->original_event_id, sizeof(ev->original_event_id), "demo-%lld",
                 (long long)last_purchase[c]);
        ev->n_lines = 1;
        snprintf(ev->lines[0].sku, sizeof(ev->lines[0].sku), "sku-returned");
        snprintf(ev->lines[0].category, sizeof(ev->lines[0].category), "skincare");
        ev->lines[0].quantity = 1;
        ev->lines[0].amount = 20000 + rand_r(seed) % 30000;
        last_purchase[c] = -1;
        return;
    }
    ev->n_lines = 1 + (uint32_t)(rand_r(seed) % 3);
    for (uint32_t l = 0; l < ev->n_lines; l++) {
        eng_line_t *ln = &ev->lines[l];
        snprintf(ln->sku, sizeof(ln->sku), "sku-%d", rand_r(seed) % 500);
        snprintf(ln->category, sizeof(ln->category), "%s", categories[rand_r(seed) % 4]);
        ln->quantity = 1 + rand_r(seed) % 2;
        ln->amount = (int64_t)(15000 + rand_r(seed) % 120000) * ln->quantity; /* kopecks */
    }
    if (r < 0.10) {
        ev->kind = ENG_EV_REDEMPTION;
        ev->points = 50 + rand_r(seed) % 400;
        return;
    }
    ev->kind = ENG_EV_PURCHASE;
    last_purchase[c] = i;
}

static void *gen_main(void *arg)
{
    gen_t *g = arg;
    const demo_opts_t *o = g->o;
    char err[512];
    avro_codec_config_t cc;
    avro_codec_config_defaults(&cc);
    cc.topics[AVRO_CODEC_TYPE_INPUT] = g->topic;
    avro_codec_t *codec = avro_codec_new(&cc, err, sizeof(err));
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *p = NULL;
    int64_t *last = malloc(sizeof(int64_t) * (size_t)o->customers);
    if (!codec || !last ||
        rd_kafka_conf_set(conf, "bootstrap.servers", g->bootstrap, err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "partitioner", o->partitioner, err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "linger.ms", "20", err, sizeof(err)) ||
        !(p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err)))) {
        snprintf(g->err, sizeof(g->err), "traffic generator: %s", err);
        if (!p)
            rd_kafka_conf_destroy(conf);
        goto out;
    }
    for (int c = 0; c < o->customers; c++)
        last[c] = -1;
    unsigned seed = o->seed;
    int64_t start = INT64_C(1767214800000); /* 2026-01-01T00:00:00+03:00 */
    int64_t span = (int64_t)o->months * 30 * 86400000LL;
    eng_event_t ev;
    for (long i = 0; i < o->events; i++) {
        int64_t t = start + span * i / o->events + rand_r(&seed) % 60000;
        make_event(g, &seed, i, t, last, &ev);
        const uint8_t *buf;
        size_t len;
        if (avro_codec_encode_event(codec, &ev, &buf, &len, err, sizeof(err)) != 0) {
            snprintf(g->err, sizeof(g->err), "traffic generator: %s", err);
            goto out;
        }
        rd_kafka_resp_err_t e;
        while ((e = rd_kafka_producev(p, RD_KAFKA_V_TOPIC(g->topic),
                                      RD_KAFKA_V_KEY(ev.customer_id, strlen(ev.customer_id)),
                                      RD_KAFKA_V_VALUE((void *)buf, len),
                                      RD_KAFKA_V_TIMESTAMP(ev.time_ms),
                                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) ==
               RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(p, 5);
        if (e) {
            snprintf(g->err, sizeof(g->err), "traffic generator: %s", rd_kafka_err2str(e));
            goto out;
        }
        rd_kafka_poll(p, 0);
    }
    if (rd_kafka_flush(p, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        snprintf(g->err, sizeof(g->err), "traffic generator: flush timed out");
    else
        atomic_store(&g->produced, (long)o->events);
out:
    if (p)
        rd_kafka_destroy(p);
    avro_codec_destroy(codec);
    free(last);
    atomic_store(&g->done, 1);
    return NULL;
}

/* ------------------------------------------------------------------ the view */

/* One sample per kind of output, and one more for the second face of two kinds: a tier
 * change down as well as up, a purchase's bonus as well as the monthly award. */
enum { SAMPLE_TIER_DOWN = ENG_OUT_KIND_COUNT, SAMPLE_BONUS_PURCHASE, SAMPLE_SLOTS };

typedef struct view {
    gen_t *gen;
    volatile sig_atomic_t *stop;
    bool tty;
    int64_t last_print;
    int64_t done_at; /* when the last generated record was processed, 0 = not yet */
    eng_output_t samples[SAMPLE_SLOTS];
    bool sampled[SAMPLE_SLOTS];
    /* TierChanged by direction, counted as produced (the app's totals count committed
     * outputs only; the two differ only if a transaction aborted and was redone) */
    int64_t tier_up, tier_down;
    pipe_stats_t ps;
    app_stats_t as;
} view_t;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int sample_slot(const eng_output_t *o)
{
    if (o->kind == ENG_OUT_TIER_CHANGED && o->u.tier_changed.direction < 0)
        return SAMPLE_TIER_DOWN;
    if (o->kind == ENG_OUT_BONUS_EARNED && strcmp(o->u.bonus_earned.source, "purchase") == 0)
        return SAMPLE_BONUS_PURCHASE;
    return (int)o->kind;
}

static void on_output(void *ctx, const eng_output_t *o)
{
    view_t *v = ctx;
    if (o->kind == ENG_OUT_TIER_CHANGED) {
        if (o->u.tier_changed.direction < 0)
            v->tier_down++;
        else
            v->tier_up++;
    }
    int slot = sample_slot(o);
    if (!v->sampled[slot]) {
        v->samples[slot] = *o;
        v->sampled[slot] = true;
    }
}

static void on_tick(void *ctx, const pipe_stats_t *ps, const app_stats_t *as)
{
    view_t *v = ctx;
    v->ps = *ps;
    v->as = *as;
    long produced = atomic_load(&v->gen->produced);
    int64_t now = mono_ms();
    /* Everything generated has been processed (or generation failed): stop after one more
     * timer round, so the timers due by each task's last event time have fired too. */
    if (!v->done_at && atomic_load(&v->gen->done) && (v->gen->err[0] || ps->records_in >= produced))
        v->done_at = now;
    if (v->done_at && now - v->done_at >= 600)
        *v->stop = 1;
    if (now - v->last_print < (v->tty ? 250 : 2000) && !*v->stop)
        return;
    v->last_print = now;
    long total = (long)v->gen->o->events;
    fprintf(stderr,
            "%sprocessed %lld/%ld events  outputs %lld  transactions %lld  "
            "points issued %lld%s",
            v->tty ? "\r" : "", (long long)ps->records_in, total, (long long)(ps->records_out),
            (long long)ps->transactions, (long long)as->points_issued, v->tty ? "   " : "\n");
}

static void print_sample(const eng_output_t *o)
{
    json_t *j = eng_json_output(o);
    char *line = j ? eng_json_line(j) : NULL;
    if (line)
        printf("  %s", line);
    free(line);
    json_decref(j);
}

static void print_report(const view_t *v)
{
    printf("\n\nSample output events, one of each kind (decoded from the records the processor "
           "produced):\n");
    for (int k = 0; k < ENG_OUT_KIND_COUNT; k++) {
        if (v->sampled[k])
            print_sample(&v->samples[k]);
        if (k == ENG_OUT_TIER_CHANGED && v->sampled[SAMPLE_TIER_DOWN])
            print_sample(&v->samples[SAMPLE_TIER_DOWN]);
        if (k == ENG_OUT_BONUS_EARNED && v->sampled[SAMPLE_BONUS_PURCHASE])
            print_sample(&v->samples[SAMPLE_BONUS_PURCHASE]);
    }
    printf("\nTotals:\n");
    printf("  input events processed   %lld (applied %lld, repeats %lld, dead-lettered %lld)\n",
           (long long)v->ps.records_in, (long long)v->as.events, (long long)v->as.duplicates,
           (long long)v->as.dead_letters);
    printf("  transactions committed   %lld (aborted %lld)\n", (long long)v->ps.transactions,
           (long long)v->ps.aborts);
    printf("  customers with timers    %lld fired\n", (long long)v->as.timers_fired);
    printf("  points issued            %lld\n", (long long)v->as.points_issued);
    printf("Output events by kind:\n");
    for (int k = 0; k < ENG_OUT_KIND_COUNT; k++) {
        printf("  %-24s %lld", eng_out_kind_name((eng_out_kind_t)k), (long long)v->as.outputs[k]);
        if (k == ENG_OUT_TIER_CHANGED)
            printf(" (up %lld, down %lld)", (long long)v->tier_up, (long long)v->tier_down);
        printf("\n");
    }
}

/* ------------------------------------------------------------------ set-up */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void demo_usage(FILE *out)
{
    fprintf(out, "usage: loyalty-stream demo [--bootstrap HOST:PORT] [--customers N] [--events N]\n"
                 "                          [--months M] [--partitions P] [--partitioner NAME]\n"
                 "                          [--seed S] [--verbose]\n\n"
                 "Runs the processor with exactly-once on an embedded mock Kafka cluster (or\n"
                 "on the broker given with --bootstrap), over generated purchases of a\n"
                 "cosmetics chain, and prints sample output events and totals.\n"
                 "Defaults: 2000 customers, 30000 events over 4 months, 4 partitions. The traffic\n"
                 "is keyed by customer id and partitioned by murmur2 as the Java clients do\n"
                 "(docs/SCHEMAS.md), or by librdkafka's --partitioner NAME.\n");
}

static int parse_opts(int argc, char **argv, demo_opts_t *o)
{
    static const struct option opts[] = {{"bootstrap", required_argument, NULL, 'b'},
                                         {"customers", required_argument, NULL, 'c'},
                                         {"events", required_argument, NULL, 'e'},
                                         {"months", required_argument, NULL, 'm'},
                                         {"partitions", required_argument, NULL, 'p'},
                                         {"partitioner", required_argument, NULL, 'P'},
                                         {"seed", required_argument, NULL, 's'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    *o = (demo_opts_t){.customers = 2000,
                       .events = 30000,
                       .months = 4,
                       .partitions = 4,
                       .partitioner = KEYPART_RDKAFKA,
                       .seed = 42};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'b':
            o->bootstrap = optarg;
            break;
        case 'c':
            o->customers = atoi(optarg);
            break;
        case 'e':
            o->events = atoi(optarg);
            break;
        case 'm':
            o->months = atoi(optarg);
            break;
        case 'p':
            o->partitions = atoi(optarg);
            break;
        case 'P': { /* a name librdkafka does not know is bad usage, said before anything starts */
            char err[256];
            rd_kafka_conf_t *conf = rd_kafka_conf_new();
            rd_kafka_conf_res_t r =
                rd_kafka_conf_set(conf, "partitioner", optarg, err, sizeof(err));
            rd_kafka_conf_destroy(conf);
            if (r != RD_KAFKA_CONF_OK) {
                fprintf(stderr, "loyalty-stream demo: --partitioner: %s\n\n", err);
                demo_usage(stderr);
                return 2;
            }
            o->partitioner = optarg;
            break;
        }
        case 's':
            o->seed = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'v':
            o->verbose = true;
            break;
        case 'h':
            demo_usage(stdout);
            return 1;
        default:
            demo_usage(stderr);
            return 2;
        }
    }
    if (optind < argc || o->customers < 1 || o->events < 1 || o->months < 1 || o->partitions < 1 ||
        o->partitions > 64) {
        fprintf(stderr, "loyalty-stream demo: bad arguments (customers, events, months >= 1; "
                        "partitions 1..64)\n\n");
        demo_usage(stderr);
        return 2;
    }
    return 0;
}

static int set_all(cfg_t *cfg, const char *const *kv, char *err, size_t errlen)
{
    for (size_t i = 0; kv[i]; i += 2)
        if (cfg_set(cfg, kv[i], kv[i + 1], "demo", err, errlen) != 0)
            return -1;
    return cfg_validate(cfg, err, errlen);
}

static volatile sig_atomic_t g_stop; /* set by the tick (or a signal) */

static void on_signal(int sig)
{
    (void)sig;
    if (g_stop)
        _exit(130);
    g_stop = 1;
}

int demo_main(int argc, char **argv)
{
    demo_opts_t o;
    int rc = parse_opts(argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (!o.verbose && !log_enabled(LOG_DEBUG))
        log_configure(LOG_WARN, false, stderr); /* the progress line tells the story */
    char err[1024], dir[] = "/tmp/loyalty-demo-XXXXXX", prog_path[64], state_dir[64];
    if (!mkdtemp(dir)) {
        perror("loyalty-stream demo: mkdtemp");
        return 1;
    }
    snprintf(prog_path, sizeof(prog_path), "%s/program.yaml", dir);
    snprintf(state_dir, sizeof(state_dir), "%s/state", dir);
    FILE *f = fopen(prog_path, "w");
    if (!f || fputs(demo_program, f) < 0 || fclose(f) != 0) {
        perror("loyalty-stream demo: writing the program");
        return 1;
    }
    int code = 1;
    embk_t *ek = NULL;
    cfg_t *cfg = cfg_new_defaults();
    /* On a real broker each run gets its own input topic and group, so a second run
     * neither re-reads the first one's purchases nor resumes its offsets. */
    char app_id[64], input[96];
    snprintf(app_id, sizeof(app_id), "loyalty-demo-%ld", (long)time(NULL));
    snprintf(input, sizeof(input), "%s.purchases", o.bootstrap ? app_id : "loyalty-demo");
    if (!o.bootstrap)
        snprintf(app_id, sizeof(app_id), "loyalty-demo");
    gen_t g = {.o = &o, .topic = input};
    pthread_t gt;
    bool gen_started = false;
    view_t *v = calloc(1, sizeof(*v));
    g.cdf = malloc(sizeof(double) * (size_t)o.customers);
    if (!cfg || !v || !g.cdf) {
        fprintf(stderr, "loyalty-stream demo: out of memory\n");
        goto out;
    }
    if (!o.bootstrap) {
        ek = embk_new(3, err, sizeof(err));
        if (!ek)
            goto fail;
        g.bootstrap = embk_bootstraps(ek);
        if (embk_topic_create(ek, input, o.partitions, err, sizeof(err)) != 0)
            goto fail;
        for (int k = 0; k < ENG_OUT_KIND_COUNT; k++)
            if (embk_topic_create(ek, cfg->topic_out[k], o.partitions, err, sizeof(err)) != 0)
                goto fail;
        if (embk_topic_create(ek, cfg->topic_dead_letter, o.partitions, err, sizeof(err)) != 0 ||
            embk_topic_create(ek, "loyalty-demo-changelog", o.partitions, err, sizeof(err)) != 0)
            goto fail;
        printf("Started an embedded mock Kafka cluster (3 brokers) at %s\n", g.bootstrap);
        printf("(librdkafka's mock: fine for a demo, no judge of exactly-once; the tests use a "
               "real Kafka)\n");
    } else {
        g.bootstrap = o.bootstrap;
    }
    const char *kv[] = {"bootstrap.servers",
                        g.bootstrap,
                        "program.file",
                        prog_path,
                        "state.dir",
                        state_dir,
                        "application.id",
                        app_id,
                        "topic.input",
                        input,
                        "instance.id",
                        "demo",
                        "clock",
                        "stream",
                        "topics.create",
                        "true",
                        "http.port",
                        "-1",
                        "timers.interval.ms",
                        "200",
                        NULL};
    if (set_all(cfg, kv, err, sizeof(err)) != 0)
        goto fail;
    pipe_conf_t pc;
    cfg_pipe_conf(cfg, NULL, 0, &pc);
    if (o.bootstrap && pipe_create_topic(&pc, input, o.partitions, err, sizeof(err)) != 0)
        goto fail;
    double sum = 0;
    for (int c = 0; c < o.customers; c++)
        sum += 1.0 / pow(c + 1, 1.1);
    double acc = 0;
    for (int c = 0; c < o.customers; c++) {
        acc += 1.0 / pow(c + 1, 1.1) / sum;
        g.cdf[c] = acc;
    }
    printf(
        "Program: the cosmetics chain: monthly 3%% / 10%% / 15%% award, end-of-next-month "
        "expiry, warnings 30/7/1 days;\n"
        "         a monthly status, Silver from 5,000 RUB (earns 3%%) or Gold from 15,000 (5%%), "
        "reached at once,\n"
        "         set again at each month's end (warned 7 days before); a nudge within 1,000 "
        "RUB of the next\n");
    printf("Traffic: %d events of %d customers (Zipf popularity) over %d months, %d partitions; "
           "returns and redemptions included\n\n",
           o.events, o.customers, o.months, o.partitions);
    fflush(stdout);
    if (pthread_create(&gt, NULL, gen_main, &g) != 0) {
        fprintf(stderr, "loyalty-stream demo: cannot start the traffic generator\n");
        goto out;
    }
    gen_started = true;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    v->gen = &g;
    v->stop = &g_stop;
    v->tty = isatty(2);
    run_extras_t extras = {.observer = on_output, .tick = on_tick, .ctx = v};
    code = run_pipeline(cfg, &g_stop, &extras);
    pthread_join(gt, NULL);
    gen_started = false;
    if (g.err[0]) {
        fprintf(stderr, "\nloyalty-stream demo: %s\n", g.err);
        code = 1;
    }
    if (code == 0)
        print_report(v);
    goto out;
fail:
    fprintf(stderr, "loyalty-stream demo: %s\n", err);
out:
    if (gen_started) {
        pthread_join(gt, NULL);
    }
    embk_destroy(ek);
    cfg_destroy(cfg);
    free(g.cdf);
    free(v);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return code;
}
