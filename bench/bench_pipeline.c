/*
 * bench_pipeline: the pipeline benchmark of issue 7 item 9, on a real Kafka broker that
 * it starts itself (tests/kafka/kafka-test-broker.sh, a temporary directory, free
 * ports) and stops at the end.
 *
 * The one idea: both sides run the same way (a child process on processor/pipeline/pipe.c with
 * the same properties file and transaction settings) over byte-identical input, and are
 * timed by the same observer, so the ratio says what the loyalty app costs on top of the
 * exactly-once loop itself. Phases, in one run:
 *   1. N Avro purchase events (Zipf customers) are produced to two 4-partition input
 *      topics with the same bytes, before any timing.
 *   2. throughput: a pass-through app on pipe.h (this binary, --passthrough-child), then
 *      `loyalty-stream run`, each from "first task restored: processing" (the child's log
 *      timestamp) to "the group's committed offsets cover all N inputs" (polled by an
 *      offset fetch every 20 ms; offsets commit in the same transaction as the outputs).
 *   3. latency: with the child still running, events are produced at a fixed rate with
 *      CreateTime = wall clock; a read_committed consumer of the outputs records when it
 *      first sees an output caused by each (pass-through: the forwarded event's id;
 *      loyalty: the output's cause_id); the first 2 s warm the bench's own clients up
 *      and are not counted. Then the child is stopped: VmHWM from wait4.
 *   4. restore: M customer states written to a changelog in the clog frame format
 *      (transactions of 1,000; customers in a scattered order, as in a real changelog),
 *      restored once by loyalty-stream to warm the broker up (not counted), then raw
 *      reads by a read_committed consumer (the restorer's fetch settings and batch
 *      API) alternate with restores by loyalty-stream with an empty state dir (first
 *      "task assigned: restoring" to last "task restored: processing"); the page cache
 *      is written back (sync) before each. CPU of each side and of the machine is
 *      printed with each.
 *
 *   bench_pipeline [--events N] [--customers C] [--restore-customers M]
 *                  [--latency-rate R] [--latency-seconds S] [--program FILE] [--keep]
 *                  [--restore-runs K] [--restore-only]
 */
#include "avro_codec.h"
#include "cfg.h"
#include "clog.h"
#include "eng.h"
#include "keypart.h"
#include "log.h"
#include "pipe.h"
#include "testkit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PARTITIONS     bench_partitions /* of every topic: 4, or --partitions (--peer) */
#define PARTITIONS_MAX 64
static int bench_partitions = 4;
#define COMMIT_MS    "100"
#define COMMIT_MAX   "1000"
#define CLOG_TXN_MAX 1000

/* --peer mode (below) */
#define PEER_ROUNDS_MAX 6
#define PEER_SIDES_MAX  9
#define PEER_SCRIPT     LS_BENCH_SOURCE_DIR "/bench/peer/peer.sh"
#ifndef LS_BENCH_PEER_DEFAULT /* bench_peer: the same source with --peer as its default */
#define LS_BENCH_PEER_DEFAULT 0
#endif

typedef struct opts {
    long events, customers, restore_customers, restore_runs;
    long latency_rate, latency_seconds;
    const char *program;
    bool keep, restore_only; /* --restore-only: skip throughput and latency */
    bool peer;               /* --peer: loyalty-stream against the Kafka Streams peer */
    bool no_peer;            /* --no-peer: the --ls variants only (transaction sizing) */
    bool resume;             /* --resume: SIGKILL and restart instead of latency and restore */
    long rounds;             /* --peer: rounds, each side once per round, order rotating */
    long partitions;         /* --peer: partitions of the input (and outputs), default 4 */
    int n_variants;          /* --ls "k=v,k=v": loyalty-stream variants; none = defaults */
    const char *variants[8];
} opts_t;

typedef struct child {
    pid_t pid;
    char log[512];
    long hwm_kb;   /* peak resident set of the child (wait4 ru_maxrss = VmHWM) */
    double cpu_s;  /* user + system CPU of the child over its life */
    int exit_code; /* -1 = not waited */
} child_t;

typedef struct side {
    const char *name;
    bool loyalty;
    char app[64], input[160], pass_out[200];
    child_t ch;
    double secs, rate, cpu_bulk_s;     /* bulk phase: wall time, events/s, child CPU so far */
    long lat_sent, lat_seen, lat_warm; /* counted events sent and seen; warm-up events */
    double p50, p99, pmax;
    long outputs, changelog;
    bool kstreams;         /* the Kafka Streams peer (bench/peer), --peer mode */
    char state[80];        /* state dir name under the work dir; "" = state-<app> */
    const char *extra;     /* more properties for loyalty-stream ("key = value" lines), or NULL */
    long lat_rate;         /* latency events/s; 0 = the --latency-rate option */
    const char *cfgname;   /* --peer mode: what the side runs (a --ls variant), for the output */
    double in_p50, in_p99; /* --peer: the latency events' input itself, seen by our consumer */
} side_t;

typedef struct bench {
    opts_t o;
    char self[512];
    char work[256];
    char broker_dir[320];
    char bootstrap[512];
    bool broker_up;
    avro_codec_t *codec;
    eng_event_t *ev;   /* scratch */
    eng_output_t *out; /* scratch */
    double *cdf;       /* Zipf(1.0) cumulative weights over customers */
    uint64_t rng;
    int64_t t_end; /* event time after the bulk: latency events follow it */
    long bulk_per_topic;
    bool purchases_only;
} bench_t;

static const char *const out_keys[ENG_OUT_KIND_COUNT] = {
    "tier-changed",        "bonus-earned",    "expiry-warning",      "points-expired",
    "points-reversed",     "points-redeemed", "redemption-rejected", "reward-earned",
    "tier-will-downgrade", "tier-progress"};

/* ------------------------------------------------------------------ small things */

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* CPU seconds the whole machine has been busy (every process, the broker included), from
 * /proc/stat; -1 if unreadable. Jiffies: 10 ms resolution. */
static double machine_busy_s(void)
{
    FILE *f = fopen("/proc/stat", "r");
    unsigned long long v[8] = {0};
    int n = f ? fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                       &v[4], &v[5], &v[6], &v[7])
              : 0;
    if (f)
        fclose(f);
    if (n != 8)
        return -1;
    /* user nice system idle iowait irq softirq steal: all but idle and iowait */
    return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK);
}

static double process_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static uint64_t rnd(bench_t *b)
{
    b->rng ^= b->rng << 13;
    b->rng ^= b->rng >> 7;
    b->rng ^= b->rng << 17;
    return b->rng;
}

/* The contract's partition of a customer (docs/SCHEMAS.md): murmur2, as the Java clients. */
static int32_t partition_of(const char *customer)
{
    return keypart_of(customer, strlen(customer), PARTITIONS);
}

/* ------------------------------------------------------------------ broker */

static int broker_start(bench_t *b)
{
#ifdef LS_BENCH_PROBE
    if (access(LS_BENCH_PROBE, X_OK) == 0)
        setenv("KAFKA_PROBE", LS_BENCH_PROBE, 0);
#endif
    snprintf(b->broker_dir, sizeof(b->broker_dir), "%s/broker", b->work);
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "'%s/tests/kafka/kafka-test-broker.sh' start '%s'",
             LS_BENCH_SOURCE_DIR, b->broker_dir);
    FILE *f = popen(cmd, "r");
    if (!f)
        return -1;
    bool got = fgets(b->bootstrap, sizeof(b->bootstrap), f) != NULL;
    int rc = pclose(f);
    b->bootstrap[strcspn(b->bootstrap, "\n")] = '\0';
    if (!got || rc != 0 || !b->bootstrap[0]) {
        fprintf(stderr, "bench_pipeline: the broker did not start (see above)\n");
        return -1;
    }
    b->broker_up = true;
    return 0;
}

static void broker_stop(bench_t *b)
{
    if (!b->broker_up)
        return;
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "'%s/tests/kafka/kafka-test-broker.sh' stop '%s'",
             LS_BENCH_SOURCE_DIR, b->broker_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_pipeline: stopping the broker under %s failed\n", b->broker_dir);
    b->broker_up = false;
}

/* ------------------------------------------------------------------ kafka helpers */

/* Clients, topics and partition counts come from the test kit (tests/it/testkit.h). */

static long end_offsets(rd_kafka_t *rk, const char *topic, int n, int64_t *each)
{
    long sum = 0;
    for (int p = 0; p < n; p++) {
        int64_t lo, hi;
        if (rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 15000))
            return -1;
        if (each)
            each[p] = hi;
        sum += (long)hi;
    }
    return sum;
}

/* Sum of the group's committed offsets of @p topic (-1 on error). The client is a consumer
 * with group.id = the group that never subscribes; read_uncommitted so that the offset
 * fetch does not wait for open transactions (pending offsets are not returned anyway). */
static long committed_sum(rd_kafka_t *rk, const char *topic, int n)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n);
    for (int p = 0; p < n; p++)
        rd_kafka_topic_partition_list_add(l, topic, p);
    long sum = -1;
    if (rd_kafka_committed(rk, l, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        sum = 0;
        for (int i = 0; i < l->cnt; i++)
            sum += l->elems[i].offset > 0 ? (long)l->elems[i].offset : 0;
    }
    rd_kafka_topic_partition_list_destroy(l);
    return sum;
}

/* Read @p topic from the beginning to EOF on every partition as a plain read_committed
 * consumer. @returns the records (-1 on error); bytes and seconds (assign to last EOF).
 * It gets the restorer's fetch settings (pipe.c), so that the ratio compares what each
 * does with the records, not how librdkafka fetches them: without queued.min.messages
 * raised, librdkafka 2.0 idles a consumer that drains its queue fast for up to a second
 * at a time (docs/KAFKA.md), which made this baseline vary between 1.2 and 2.6 s for the
 * same 1M records; fetch.wait.max.ms is how long the broker holds the empty fetch that
 * brings the last partition's EOF. Like the restorer, it knows the topic's metadata
 * before it assigns (tk_partition_count), and it reads the way the restorer does: batches
 * of up to RAW_BATCH messages from the consumer queue (pipe.c, restore_step), which costs
 * less per message than one rd_kafka_consumer_poll each. */
#define RAW_BATCH 1024
static long consume_to_eof(const char *bootstrap, const char *topic, int64_t *bytes, double *secs,
                           double cpu[2])
{
    const char *kv[] = {"queued.min.messages",
                        "10000000",
                        "fetch.wait.max.ms",
                        "10",
                        "group.id",
                        "bench-raw-reader",
                        "enable.auto.commit",
                        "false",
                        "isolation.level",
                        "read_committed",
                        "enable.partition.eof",
                        "true",
                        "auto.offset.reset",
                        "earliest",
                        NULL};
    rd_kafka_t *c = tk_client_new(RD_KAFKA_CONSUMER, bootstrap, kv);
    if (!c)
        return -1;
    rd_kafka_poll_set_consumer(c);
    int n = tk_partition_count(c, topic);
    long count = -1;
    if (n > 0) {
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n);
        for (int p = 0; p < n; p++)
            rd_kafka_topic_partition_list_add(l, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
        struct timespec t0, t1;
        double busy0 = machine_busy_s(), own0 = process_cpu_s();
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rd_kafka_assign(c, l);
        rd_kafka_topic_partition_list_destroy(l);
        int eof = 0;
        count = 0;
        int64_t by = 0, deadline = wall_ms() + 600000;
        rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(c);
        rd_kafka_message_t *msgs[RAW_BATCH];
        while (eof < n && wall_ms() < deadline) {
            ssize_t got = rd_kafka_consume_batch_queue(q, 10, msgs, RAW_BATCH);
            for (ssize_t i = 0; i < got; i++) {
                rd_kafka_message_t *m = msgs[i];
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
                    eof++;
                else if (m->err)
                    fprintf(stderr, "bench_pipeline: reading %s: %s\n", topic,
                            rd_kafka_message_errstr(m));
                else
                    count++, by += (int64_t)m->len;
            }
            for (ssize_t i = 0; i < got; i++)
                rd_kafka_message_destroy(msgs[i]);
        }
        rd_kafka_queue_destroy(q);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (cpu) {
            cpu[0] = process_cpu_s() - own0;
            cpu[1] = machine_busy_s() - busy0;
        }
        if (bytes)
            *bytes = by;
        if (secs)
            *secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    }
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return count;
}

static int produce(rd_kafka_t *p, const char *topic, int32_t part, const char *key, const void *val,
                   size_t len, int64_t ts)
{
    rd_kafka_resp_err_t e;
    while ((e = rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(part),
                                  RD_KAFKA_V_KEY(key, strlen(key)),
                                  RD_KAFKA_V_VALUE((void *)val, len), RD_KAFKA_V_TIMESTAMP(ts),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) ==
           RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(p, 10);
    if (e)
        fprintf(stderr, "bench_pipeline: producing to %s: %s\n", topic, rd_kafka_err2str(e));
    return e ? -1 : 0;
}

/* ------------------------------------------------------------------ events */

static long zipf_customer(bench_t *b)
{
    long n = b->o.customers;
    double u = (double)(rnd(b) >> 11) / 9007199254740992.0 * b->cdf[n - 1];
    long lo = 0, hi = n - 1;
    while (lo < hi) {
        long mid = (lo + hi) / 2;
        if (b->cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (long)(((uint64_t)lo * 2654435761u) % (uint64_t)n); /* scatter ranks over ids */
}

static void basket(bench_t *b, eng_event_t *ev, bool big)
{
    static const char *const cats[] = {"lenses", "skincare", "services", "consumables"};
    ev->n_lines = 1 + (uint32_t)(rnd(b) % 4);
    for (uint32_t l = 0; l < ev->n_lines; l++) {
        eng_line_t *ln = &ev->lines[l];
        snprintf(ln->sku, sizeof(ln->sku), "sku-%04u", (unsigned)(rnd(b) % 5000));
        snprintf(ln->category, sizeof(ln->category), "%s", cats[rnd(b) % 4]);
        ln->quantity = 1 + (int32_t)(rnd(b) % 3);
        ln->amount =
            (int64_t)(big ? 100000 + rnd(b) % 200000 : 5000 + rnd(b) % 150000) * ln->quantity;
        ln->on_sale = !big && rnd(b) % 10 == 0;
    }
}

/* The last purchase of each customer, for returns. */
typedef struct last_buy {
    char event_id[ENG_ID_MAX];
    eng_line_t line;
} last_buy_t;

/* Event i of the bulk: 83% purchases, 5% returns of the customer's last purchase, 12%
 * redemptions; ~3 months of event time. */
static void bulk_event(bench_t *b, long i, last_buy_t *last)
{
    eng_event_t *ev = b->ev;
    memset(ev, 0, sizeof(*ev));
    long c = zipf_customer(b);
    int64_t start = INT64_C(1767214800000), span = INT64_C(90) * 86400000;
    snprintf(ev->event_id, sizeof(ev->event_id), "ev-%ld", i);
    snprintf(ev->customer_id, sizeof(ev->customer_id), "cust-%06ld", c);
    snprintf(ev->partner, sizeof(ev->partner), "store-%02u", (unsigned)(rnd(b) % 40));
    snprintf(ev->currency, sizeof(ev->currency), "RUB");
    ev->time_ms = start + span * i / b->o.events;
    b->t_end = start + span;
    uint64_t r = rnd(b) % 100;
    if (b->purchases_only)
        r = 99; /* the peer implements purchases only (bench/peer/README.md) */
    if (r < 5 && last[c].event_id[0]) {
        ev->kind = ENG_EV_RETURN;
        snprintf(ev->original_event_id, sizeof(ev->original_event_id), "%s", last[c].event_id);
        ev->n_lines = 1;
        ev->lines[0] = last[c].line;
        last[c].event_id[0] = '\0';
        ev->partner[0] = '\0';
    } else if (r < 17) {
        ev->kind = ENG_EV_REDEMPTION;
        ev->points = 10 + (int64_t)(rnd(b) % 300);
        basket(b, ev, false);
    } else {
        ev->kind = ENG_EV_PURCHASE;
        basket(b, ev, false);
        snprintf(last[c].event_id, sizeof(last[c].event_id), "%s", ev->event_id);
        last[c].line = ev->lines[0];
    }
}

/* Latency event i: a purchase without sale lines, so loyalty emits a BonusEarned. */
static void latency_event(bench_t *b, long i)
{
    eng_event_t *ev = b->ev;
    memset(ev, 0, sizeof(*ev));
    snprintf(ev->event_id, sizeof(ev->event_id), "lat-%ld", i);
    snprintf(ev->customer_id, sizeof(ev->customer_id), "cust-%06ld", zipf_customer(b));
    snprintf(ev->partner, sizeof(ev->partner), "store-%02u", (unsigned)(rnd(b) % 40));
    snprintf(ev->currency, sizeof(ev->currency), "RUB");
    ev->time_ms = b->t_end + 86400000 + i * 1000;
    ev->kind = ENG_EV_PURCHASE;
    basket(b, ev, true);
}

/* The bulk events, the same bytes to each of @p n topics. */
static int produce_bulk_n(bench_t *b, const char *const *topics, int n)
{
    const char *kv[] = {"enable.idempotence", "true", "linger.ms", "20", NULL};
    rd_kafka_t *p = tk_client_new(RD_KAFKA_PRODUCER, b->bootstrap, kv);
    last_buy_t *last = calloc((size_t)b->o.customers, sizeof(*last));
    int rc = p && last ? 0 : -1;
    char err[512];
    b->rng = 0x9e3779b97f4a7c15u;
    for (long i = 0; rc == 0 && i < b->o.events; i++) {
        bulk_event(b, i, last);
        const uint8_t *buf;
        size_t len;
        if (avro_codec_encode_event(b->codec, b->ev, &buf, &len, err, sizeof(err)) != 0) {
            fprintf(stderr, "bench_pipeline: encode event %ld: %s\n", i, err);
            rc = -1;
            break;
        }
        int32_t part = partition_of(b->ev->customer_id);
        for (int k = 0; rc == 0 && k < n; k++)
            rc = produce(p, topics[k], part, b->ev->customer_id, buf, len, 0);
    }
    if (p && rd_kafka_flush(p, 120000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        rc = -1;
    if (p)
        rd_kafka_destroy(p);
    free(last);
    return rc;
}

static int produce_bulk(bench_t *b, const char *t1, const char *t2)
{
    const char *const topics[] = {t1, t2};
    return produce_bulk_n(b, topics, 2);
}

/* ------------------------------------------------------------------ child processes */

static int write_props(bench_t *b, const side_t *s, const char *path, const char *changelog)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f,
            "bootstrap.servers = %s\napplication.id = %s\ninstance.id = bench\n"
            "program.file = %s\nstate.dir = %s/state-%s\ntopic.input = %s\n"
            "clock = stream\ntopics.create = true\nhttp.port = -1\n",
            b->bootstrap, s->app, b->o.program, b->work, s->state[0] ? s->state : s->app, s->input);
    /* --peer mode: loyalty-stream's own defaults, unless a --ls variant sets them */
    if (!b->o.peer)
        fprintf(f, "commit.interval.ms = " COMMIT_MS "\ncommit.max.records = " COMMIT_MAX "\n");
    if (b->o.resume)
        fprintf(f, "group.static.membership = true\n");
    if (s->extra)
        fputs(s->extra, f);
    if (changelog)
        fprintf(f, "topic.changelog = %s\n", changelog);
    for (int k = 0; k < ENG_OUT_KIND_COUNT; k++) {
        if (s->loyalty)
            fprintf(f, "topic.%s = %s.%s\n", out_keys[k], s->app, out_keys[k]);
        else
            fprintf(f, "topic.%s = %s\n", out_keys[k], s->pass_out);
    }
    if (s->loyalty)
        fprintf(f, "topic.dead-letter = %s.dlq\n", s->app);
    else
        fprintf(f, "topic.dead-letter = %s\n", s->pass_out);
    return fclose(f);
}

static int child_start(bench_t *b, side_t *s, const char *changelog)
{
    char props[512];
    const char *run = s->state[0] ? s->state : s->app; /* names this process's files */
    snprintf(props, sizeof(props), "%s/%s.properties", b->work, run);
    snprintf(s->ch.log, sizeof(s->ch.log), "%s/%s.log", b->work, run);
    s->ch.exit_code = -1;
    if (!s->kstreams && write_props(b, s, props, changelog) != 0)
        return -1;
    char sdir[400];
    snprintf(sdir, sizeof(sdir), "%s/state-%s", b->work, run);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(s->ch.log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        /* --resume: static membership on both sides, or each restart would wait for the
         * killed member's session to time out (45 s), measuring the timeout */
        if (s->kstreams && b->o.resume)
            setenv("PEER_GROUP_INSTANCE_ID", s->app, 1);
        if (s->kstreams)
            execl(PEER_SCRIPT, PEER_SCRIPT, "run", b->bootstrap, s->app, s->input, s->pass_out,
                  sdir, (char *)NULL);
        else if (s->loyalty)
            execl(LS_BENCH_BINARY, LS_BENCH_BINARY, "run", "--config", props, (char *)NULL);
        else
            execl(b->self, b->self, "--passthrough-child", props, (char *)NULL);
        _exit(127);
    }
    s->ch.pid = pid;
    return 0;
}

/* @returns true while the child runs; prints its log's tail once it has died. */
static bool child_alive(child_t *ch)
{
    if (ch->exit_code >= 0)
        return false;
    int st;
    struct rusage ru;
    if (wait4(ch->pid, &st, WNOHANG, &ru) != ch->pid)
        return true;
    ch->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    ch->hwm_kb = ru.ru_maxrss;
    fprintf(stderr, "bench_pipeline: the processor exited early (code %d); its log %s ends:\n",
            ch->exit_code, ch->log);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "tail -n 15 '%s' >&2", ch->log);
    if (system(cmd) != 0)
        fprintf(stderr, "(no log)\n");
    return false;
}

/* CPU seconds (user + system) from a /proc stat file of a process or thread, and its
 * name into @p name when given; -1 if unreadable. */
static double stat_cpu_s(const char *path, char *name, size_t namelen)
{
    char buf[1024];
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *open = strchr(buf, '('), *close = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    if (!open || !close ||
        sscanf(close + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    if (name)
        snprintf(name, namelen, "%.*s", (int)(close - open - 1), open + 1);
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* VmHWM of a live child so far, in KiB (0 when unknown). */
static long child_hwm_now_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = 0;
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kb = atol(line + 6);
    if (f)
        fclose(f);
    return kb;
}

static double child_cpu_now(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    return stat_cpu_s(path, NULL, 0);
}

/* The busiest thread of a child (its name and CPU seconds so far): with cores enough for
 * every thread, a restore would take about as long as its busiest thread. */
static double child_busiest_thread(pid_t pid, char *name, size_t namelen)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    double best = -1;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char stat[300], comm[32];
        snprintf(stat, sizeof(stat), "/proc/%d/task/%s/stat", (int)pid, e->d_name);
        double cpu = stat_cpu_s(stat, comm, sizeof(comm));
        if (cpu > best) {
            best = cpu;
            snprintf(name, namelen, "%s", comm);
        }
    }
    if (d)
        closedir(d);
    return best;
}

/* SIGTERM, wait (at most 60 s, then SIGKILL); the peak RSS and CPU from wait4. */
static int child_stop(child_t *ch)
{
    if (ch->exit_code >= 0)
        return ch->exit_code;
    kill(ch->pid, SIGTERM);
    int st = 0;
    struct rusage ru;
    pid_t r = 0;
    for (int i = 0; i < 3000 && (r = wait4(ch->pid, &st, WNOHANG, &ru)) == 0; i++)
        sleep_ms(20);
    if (r == 0) {
        fprintf(stderr, "bench_pipeline: %s did not stop in 60 s: SIGKILL\n", ch->log);
        kill(ch->pid, SIGKILL);
        r = wait4(ch->pid, &st, 0, &ru);
    }
    if (r != ch->pid)
        return -1;
    ch->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    ch->hwm_kb = ru.ru_maxrss;
    ch->cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    return ch->exit_code;
}

/* What the child's log says about its tasks (timestamps are the log's, ms UTC). */
typedef struct logscan {
    int assigned, restored;
    int64_t first_assigned_ms, first_restored_ms, last_restored_ms;
    long restored_records;
} logscan_t;

static int64_t log_ts(const char *line)
{
    struct tm tm = {0};
    int ms = 0;
    const char *p = strstr(line, "ts=");
    if (!p || sscanf(p, "ts=%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

static void scan_log(const char *path, logscan_t *s)
{
    memset(s, 0, sizeof(*s));
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[4096];
    while (fgets(line, sizeof(line), f)) {
        if (strstr(line, "msg=\"task assigned: restoring\"")) {
            if (s->assigned++ == 0)
                s->first_assigned_ms = log_ts(line);
        } else if (strstr(line, "msg=\"task restored: processing\"")) {
            int64_t t = log_ts(line);
            if (s->restored++ == 0)
                s->first_restored_ms = t;
            s->last_restored_ms = t;
            const char *r = strstr(line, "restored_records=");
            if (r)
                s->restored_records += atol(r + strlen("restored_records="));
        }
    }
    fclose(f);
}

/* ------------------------------------------------------------------ the pass-through */

static volatile sig_atomic_t child_stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    if (child_stop_flag)
        _exit(130);
    child_stop_flag = 1;
}

static int pt_task_open(void *o, int32_t p, const char *md, int64_t *from, char *err, size_t errlen)
{
    (void)o, (void)p, (void)md, (void)err, (void)errlen;
    *from = -1; /* stateless: the (empty) changelog is read to its end, as a real task does */
    return PIPE_OK;
}

static int pt_restore(void *o, int32_t p, const pipe_rec_t *recs, size_t n, char *err,
                      size_t errlen)
{
    (void)o, (void)p, (void)recs, (void)n, (void)err, (void)errlen;
    return PIPE_OK;
}

static int pt_process(void *o, pipe_t *pp, const pipe_rec_t *rec, char *err, size_t errlen)
{
    const char *out = o;
    return pipe_produce(pp, out, -1, rec->key, rec->key_len, rec->value, rec->value_len, NULL, 0,
                        err, errlen);
}

/* The pass-through app: pipe.h with one output record per input, nothing else. */
static int passthrough_main(const char *props)
{
    char err[1024];
    log_configure(LOG_INFO, false, stderr);
    cfg_t *cfg = cfg_new_defaults();
    extern char **environ;
    if (!cfg || cfg_load(cfg, props, environ, err, sizeof(err)) != 0) {
        fprintf(stderr, "passthrough: %s\n", cfg ? err : "out of memory");
        cfg_destroy(cfg);
        return 2;
    }
    pipe_hooks_t hooks = {.opaque = cfg->topic_out[ENG_OUT_BONUS_EARNED],
                          .task_open = pt_task_open,
                          .restore = pt_restore,
                          .process = pt_process};
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    const char *out = cfg->topic_out[ENG_OUT_BONUS_EARNED];
    pipe_conf_t pc;
    cfg_pipe_conf(cfg, &out, 1, &pc);
    pipe_t *pp = NULL;
    int rc = pipe_new(&pc, &hooks, &pp, err, sizeof(err));
    if (rc == PIPE_OK)
        rc = pipe_run(pp, &child_stop_flag, err, sizeof(err));
    pipe_destroy(pp);
    cfg_destroy(cfg);
    if (rc != PIPE_OK)
        fprintf(stderr, "passthrough: %s\n", err);
    return rc == PIPE_OK ? 0 : 1;
}

/* ------------------------------------------------------------------ throughput */

/* Start the side's processor and wait until its group has committed every bulk input. */
static int throughput_phase(bench_t *b, side_t *s)
{
    if (child_start(b, s, NULL) != 0)
        return -1;
    const char *kv[] = {"group.id", s->app, "isolation.level", "read_uncommitted", NULL};
    rd_kafka_t *w = tk_client_new(RD_KAFKA_CONSUMER, b->bootstrap, kv);
    if (!w)
        return -1;
    long target = end_offsets(w, s->input, PARTITIONS, NULL);
    int64_t t1 = -1, deadline = wall_ms() + 900000;
    while (target > 0 && child_alive(&s->ch) && wall_ms() < deadline) {
        long got = committed_sum(w, s->input, PARTITIONS);
        if (got >= target) {
            t1 = wall_ms();
            s->cpu_bulk_s = child_cpu_now(s->ch.pid);
            break;
        }
        sleep_ms(20);
    }
    rd_kafka_destroy(w);
    logscan_t ls;
    scan_log(s->ch.log, &ls);
    if (t1 < 0 || ls.restored < PARTITIONS) {
        fprintf(stderr, "bench_pipeline: %s did not commit all %ld inputs (log %s)\n", s->name,
                target, s->ch.log);
        return -1;
    }
    s->secs = (double)(t1 - ls.first_restored_ms) / 1000.0;
    s->rate = (double)target / s->secs;
    printf("  %-15s %ld events in %.2f s: %.0f events/s (child CPU %.1f s incl. start-up)\n",
           s->name, target, s->secs, s->rate, s->cpu_bulk_s);
    fflush(stdout);
    return 0;
}

/* ------------------------------------------------------------------ latency */

typedef struct lat_ctx {
    int64_t *sent_ms;   /* input CreateTime of latency event i */
    int64_t *lat_ms;    /* -1 until an output caused by i is seen */
    long n, warm, seen; /* events [0, warm) warm the clients up and are not counted */
    int64_t *in_ms;     /* --peer: when the input record itself was seen, -1 until then */
} lat_ctx_t;

static void lat_on_message(bench_t *b, const side_t *s, lat_ctx_t *lc, rd_kafka_message_t *m)
{
    int64_t now = wall_ms();
    if (m->err || !m->payload)
        return;
    char msg[256];
    const char *id;
    bool input = lc->in_ms && !strcmp(rd_kafka_topic_name(m->rkt), s->input);
    if (input) {
        if (avro_codec_decode_event(b->codec, NULL, 0, m->payload, m->len, b->ev, msg, sizeof(msg)))
            return;
        id = b->ev->event_id;
        if (!strncmp(id, "lat-", 4)) {
            long i = atol(id + 4);
            if (i >= 0 && i < lc->n && lc->in_ms[i] < 0 && lc->sent_ms[i] > 0)
                lc->in_ms[i] = now - lc->sent_ms[i];
        }
        return;
    } else if (s->loyalty || s->kstreams) {
        if (avro_codec_decode_output(b->codec, m->payload, m->len, b->out, msg, sizeof(msg)))
            return;
        id = b->out->cause_id;
    } else {
        if (avro_codec_decode_event(b->codec, NULL, 0, m->payload, m->len, b->ev, msg, sizeof(msg)))
            return;
        id = b->ev->event_id;
    }
    if (strncmp(id, "lat-", 4) != 0)
        return;
    long i = atol(id + 4);
    if (i >= 0 && i < lc->n && lc->lat_ms[i] < 0 && lc->sent_ms[i] > 0) {
        lc->lat_ms[i] = now - lc->sent_ms[i];
        lc->seen++;
    }
}

/* A read_committed consumer of the side's outputs, positioned at their current ends. */
static rd_kafka_t *lat_consumer(bench_t *b, const side_t *s)
{
    const char *kv[] = {"group.id",
                        "bench-latency",
                        "enable.auto.commit",
                        "false",
                        "isolation.level",
                        "read_committed",
                        "fetch.wait.max.ms",
                        "10",
                        NULL};
    rd_kafka_t *c = tk_client_new(RD_KAFKA_CONSUMER, b->bootstrap, kv);
    if (!c)
        return NULL;
    rd_kafka_poll_set_consumer(c);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(64);
    /* --peer: loyalty-stream's program emits BonusEarned only: its topic alone (pass_out),
     * as the peer's; and the input too, to tell the broker's part of the latency */
    int kinds = s->loyalty && !b->o.peer ? ENG_OUT_KIND_COUNT : 1;
    int rc = 0;
    for (int k = 0; rc == 0 && k < kinds + (b->o.peer ? 1 : 0); k++) {
        char topic[256];
        if (k == kinds)
            snprintf(topic, sizeof(topic), "%s", s->input);
        else if (s->loyalty && !b->o.peer)
            snprintf(topic, sizeof(topic), "%s.%s", s->app, out_keys[k]);
        else
            snprintf(topic, sizeof(topic), "%s", s->pass_out);
        int n = tk_partition_count(c, topic);
        int64_t ends[64];
        if (n <= 0 || n > 64 || end_offsets(c, topic, n, ends) < 0) {
            fprintf(stderr, "bench_pipeline: output topic %s is not readable\n", topic);
            rc = -1;
        }
        for (int p = 0; rc == 0 && p < n; p++)
            rd_kafka_topic_partition_list_add(l, topic, p)->offset = ends[p];
    }
    if (rc == 0)
        rd_kafka_assign(c, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (rc != 0) {
        rd_kafka_destroy(c);
        return NULL;
    }
    return c;
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, c = *(const int64_t *)y;
    return a < c ? -1 : a > c;
}

static void lat_summary(bench_t *b, side_t *s, lat_ctx_t *lc)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/latency-%s.tsv", b->work, s->app);
    FILE *f = fopen(path, "w"); /* per event, for a closer look with --keep */
    int64_t *v = malloc((size_t)(lc->seen + 1) * sizeof(*v));
    long n = 0;
    for (long i = 0; v && i < lc->n; i++) {
        if (f)
            fprintf(f, "%ld\t%lld\t%lld\n", i, (long long)lc->sent_ms[i], (long long)lc->lat_ms[i]);
        if (i >= lc->warm && lc->lat_ms[i] >= 0)
            v[n++] = lc->lat_ms[i];
    }
    if (f)
        fclose(f);
    s->lat_seen = n;
    if (v && n > 0) {
        qsort(v, (size_t)n, sizeof(*v), cmp_i64);
        s->p50 = (double)v[(n * 50 + 99) / 100 - 1];
        s->p99 = (double)v[(n * 99 + 99) / 100 - 1];
        s->pmax = (double)v[n - 1];
    }
    n = 0;
    for (long i = lc->warm; v && lc->in_ms && i < lc->n; i++)
        if (lc->in_ms[i] >= 0)
            v[n++] = lc->in_ms[i];
    if (v && n > 0) {
        qsort(v, (size_t)n, sizeof(*v), cmp_i64);
        s->in_p50 = (double)v[(n * 50 + 99) / 100 - 1];
        s->in_p99 = (double)v[(n * 99 + 99) / 100 - 1];
    }
    free(v);
}

/* With the side's processor running and idle: R events/s for 2 + S seconds, each with
 * CreateTime = now; latency = when our read_committed consumer first sees its output.
 * The first 2 s are not counted: the new producer (broker connection, producer id) and
 * consumer (fetch sessions) would otherwise add their start-up to the first events. */
static int latency_phase(bench_t *b, side_t *s)
{
    const long rate = s->lat_rate > 0 ? s->lat_rate : b->o.latency_rate;
    lat_ctx_t lc = {.n = rate * (b->o.latency_seconds + 2), .warm = rate * 2};
    lc.sent_ms = calloc((size_t)lc.n + 1, sizeof(int64_t));
    lc.lat_ms = malloc(((size_t)lc.n + 1) * sizeof(int64_t));
    if (b->o.peer) {
        lc.in_ms = malloc(((size_t)lc.n + 1) * sizeof(int64_t));
        for (long i = 0; lc.in_ms && i <= lc.n; i++)
            lc.in_ms[i] = -1;
    }
    /* --peer measures at thousands of events/s: a request per event would load the broker
     * (on the same two cores) more than the processors do; 5 ms batches, as a real
     * producer makes them (the input's own latency is printed with it) */
    const char *kv[] = {"enable.idempotence", "true", "linger.ms", b->o.peer ? "5" : "0", NULL};
    rd_kafka_t *p = tk_client_new(RD_KAFKA_PRODUCER, b->bootstrap, kv);
    rd_kafka_t *c = lat_consumer(b, s);
    int rc = p && c && lc.sent_ms && lc.lat_ms ? 0 : -1;
    for (long i = 0; i <= lc.n && lc.lat_ms; i++)
        lc.lat_ms[i] = -1;
    char err[512];
    b->rng = 0x5851f42d4c957f2du; /* the same latency events for both sides */
    int64_t begin = wall_ms();
    for (long i = 0; rc == 0 && i < lc.n && child_alive(&s->ch); i++) {
        int64_t due = begin + i * 1000 / rate, now;
        while ((now = wall_ms()) < due) {
            rd_kafka_message_t *m = rd_kafka_consumer_poll(c, (int)(due - now));
            if (m) {
                lat_on_message(b, s, &lc, m);
                rd_kafka_message_destroy(m);
            }
        }
        latency_event(b, i);
        const uint8_t *buf;
        size_t len;
        if (avro_codec_encode_event(b->codec, b->ev, &buf, &len, err, sizeof(err)) != 0) {
            fprintf(stderr, "bench_pipeline: encode: %s\n", err);
            rc = -1;
            break;
        }
        lc.sent_ms[i] = wall_ms();
        rc = produce(p, s->input, partition_of(b->ev->customer_id), b->ev->customer_id, buf, len,
                     lc.sent_ms[i]);
        rd_kafka_poll(p, 0);
        /* at high rates the next event is due at once: read what has arrived anyway, or
         * the outputs would wait in our queue and count as latency */
        for (rd_kafka_message_t *m; (m = rd_kafka_consumer_poll(c, 0));) {
            lat_on_message(b, s, &lc, m);
            rd_kafka_message_destroy(m);
        }
        s->lat_sent = i + 1 > lc.warm ? i + 1 - lc.warm : 0;
        s->lat_warm = i < lc.warm ? i + 1 : lc.warm;
    }
    if (p)
        rd_kafka_flush(p, 30000);
    for (int64_t until = wall_ms() + 30000;
         rc == 0 && lc.seen < s->lat_sent + lc.warm && wall_ms() < until;) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
        if (m) {
            lat_on_message(b, s, &lc, m);
            rd_kafka_message_destroy(m);
        }
    }
    lat_summary(b, s, &lc);
    if (!b->o.peer) /* --peer prints its own line */
        printf("  %-15s %ld sent, %ld seen: p50 %.0f ms, p99 %.0f ms, max %.0f ms\n", s->name,
               s->lat_sent, s->lat_seen, s->p50, s->p99, s->pmax);
    fflush(stdout);
    if (c) {
        rd_kafka_consumer_close(c);
        rd_kafka_destroy(c);
    }
    if (p)
        rd_kafka_destroy(p);
    free(lc.sent_ms);
    free(lc.lat_ms);
    free(lc.in_ms);
    return rc;
}

/* Records in the side's outputs (and changelog) as a read_committed reader sees them. */
static void count_outputs(bench_t *b, side_t *s)
{
    char topic[256];
    s->outputs = 0;
    for (int k = 0; k < (s->loyalty ? ENG_OUT_KIND_COUNT : 1); k++) {
        if (s->loyalty)
            snprintf(topic, sizeof(topic), "%s.%s", s->app, out_keys[k]);
        else
            snprintf(topic, sizeof(topic), "%s", s->pass_out);
        long n = consume_to_eof(b->bootstrap, topic, NULL, NULL, NULL);
        s->outputs += n > 0 ? n : 0;
    }
    snprintf(topic, sizeof(topic), "%s-changelog", s->app);
    s->changelog = consume_to_eof(b->bootstrap, topic, NULL, NULL, NULL);
}

static int run_side(bench_t *b, side_t *s)
{
    int rc = throughput_phase(b, s);
    if (rc == 0)
        rc = latency_phase(b, s);
    int code = child_stop(&s->ch);
    if (code != 0)
        fprintf(stderr, "bench_pipeline: %s exited with %d (log %s)\n", s->name, code, s->ch.log);
    count_outputs(b, s);
    return rc == 0 && code == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------ restore */

#define RESTORE_RUNS_MAX 8

typedef struct restore_res {
    long customers, records;
    int64_t bytes;
    int runs;                                /* restores done; raw reads = runs + 1 */
    int started;                             /* restore processes started, warm-up included */
    double raw_s[RESTORE_RUNS_MAX + 1];      /* raw read before each restore and after the last */
    double raw_cpu[RESTORE_RUNS_MAX + 1][2]; /* its CPU: the reader's own, the machine's */
    double restore_s[RESTORE_RUNS_MAX], restore_total_s[RESTORE_RUNS_MAX];
    long restored[RESTORE_RUNS_MAX];
    double restore_cpu_s[RESTORE_RUNS_MAX];      /* CPU of the process when all tasks restored */
    double restore_only_cpu_s[RESTORE_RUNS_MAX]; /* of it, since the first task was assigned */
    double restore_busy_s[RESTORE_RUNS_MAX];     /* the machine's CPU over the same time */
    child_t ch;                                  /* the last restore's child (VmHWM) */
} restore_res_t;

/* The changelog as the app writes it: key = customer, value = clog frame (next due +
 * Avro CustomerState), in transactions of CLOG_TXN_MAX records. */
static int write_changelog(bench_t *b, const char *topic, long customers)
{
    const char *kv[] = {"transactional.id", "bench-changelog-writer", "linger.ms", "20", NULL};
    rd_kafka_t *p = tk_client_new(RD_KAFKA_PRODUCER, b->bootstrap, kv);
    if (!p)
        return -1;
    rd_kafka_error_t *e = rd_kafka_init_transactions(p, 60000);
    eng_state_t *st = malloc(sizeof(*st));
    uint8_t *frame = NULL;
    size_t cap = 0;
    int rc = e || !st ? -1 : 0;
    char err[512];
    int64_t now = INT64_C(1767214800000);
    for (long i = 0; rc == 0 && i < customers; i++) {
        if (i % CLOG_TXN_MAX == 0 && (e = rd_kafka_begin_transaction(p)))
            break;
        /* Customers in a scattered order, as a changelog has them (in the order of their
         * last change), not sorted: i times a prime above any customer count, modulo the
         * count, visits each customer once. */
        long c = (long)(((int64_t)i * INT64_C(2147483647)) % customers);
        char id[32];
        snprintf(id, sizeof(id), "cust-%07ld", c);
        eng_state_init(st, id, now);
        const uint8_t *buf;
        size_t len;
        if (avro_codec_encode_state(b->codec, st, &buf, &len, err, sizeof(err)) != 0) {
            fprintf(stderr, "bench_pipeline: encode state: %s\n", err);
            rc = -1;
            break;
        }
        if (clog_frame_size(len) > cap) {
            cap = clog_frame_size(len) * 2;
            frame = realloc(frame, cap);
        }
        /* every customer has a pending timer, so restore also writes the timer index */
        int64_t due = now + INT64_C(86400000) * (int64_t)(30 + c % 60);
        size_t flen = frame ? clog_frame_encode(due, buf, len, frame, cap) : 0;
        rc = flen ? produce(p, topic, partition_of(id), id, frame, flen, 0) : -1;
        if (rc == 0 && (i + 1) % CLOG_TXN_MAX == 0 && (e = rd_kafka_commit_transaction(p, -1)))
            break;
    }
    if (rc == 0 && !e && customers % CLOG_TXN_MAX)
        e = rd_kafka_commit_transaction(p, -1);
    if (e) {
        fprintf(stderr, "bench_pipeline: changelog transaction: %s\n", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        rc = -1;
    }
    free(st);
    free(frame);
    rd_kafka_destroy(p);
    return rc;
}

/* One restore by a fresh instance (own application id and state dir) of @p clog; a
 * warm-up is not counted. */
static int restore_once(bench_t *b, restore_res_t *r, const char *clog, bool warmup)
{
    int i = warmup ? RESTORE_RUNS_MAX - 1 : r->runs; /* a warm-up's figures are overwritten */
    side_t s = {.name = "restore", .loyalty = true};
    snprintf(s.app, sizeof(s.app), "bench-restore-%d", ++r->started);
    snprintf(s.input, sizeof(s.input), "bench-restore.in");
    /* The earlier restores' files are still being written back; a restore fsyncs each
     * table file it ingests, so it would wait for them too. Start from a clean disk. */
    sync();
    int64_t started = wall_ms();
    if (child_start(b, &s, clog) != 0)
        return -1;
    logscan_t ls = {0};
    double cpu_assigned = -1, busy_assigned = -1;
    for (int64_t deadline = started + 900000; wall_ms() < deadline && child_alive(&s.ch);) {
        scan_log(s.ch.log, &ls);
        if (ls.restored >= PARTITIONS)
            break;
        if (ls.assigned > 0 && cpu_assigned < 0) {
            cpu_assigned = child_cpu_now(s.ch.pid); /* within a poll (20 ms) of it */
            busy_assigned = machine_busy_s();
        }
        sleep_ms(ls.assigned > 0 ? 5 : 20);
    }
    r->restore_cpu_s[i] = child_cpu_now(s.ch.pid); /* start-up included */
    r->restore_only_cpu_s[i] = cpu_assigned >= 0 ? r->restore_cpu_s[i] - cpu_assigned : -1;
    r->restore_busy_s[i] = busy_assigned >= 0 ? machine_busy_s() - busy_assigned : -1;
    char busiest[32] = "?";
    double busiest_s = child_busiest_thread(s.ch.pid, busiest, sizeof(busiest));
    int code = child_stop(&s.ch);
    r->ch = s.ch;
    if (ls.restored < PARTITIONS || code != 0) {
        fprintf(stderr, "bench_pipeline: the restore did not finish (log %s)\n", s.ch.log);
        return -1;
    }
    r->restored[i] = ls.restored_records;
    r->restore_s[i] = (double)(ls.last_restored_ms - ls.first_assigned_ms) / 1000.0;
    r->restore_total_s[i] = (double)(ls.last_restored_ms - started) / 1000.0;
    printf("  loyalty-stream restore %s%d: %ld records in %.2f s (%.2f s from process start; "
           "CPU %.2f s, %.2f s of it while restoring, busiest thread %s %.2f s; machine busy "
           "%.2f s)\n",
           warmup ? "warm-up " : "", warmup ? 0 : i + 1, r->restored[i], r->restore_s[i],
           r->restore_total_s[i], r->restore_cpu_s[i], r->restore_only_cpu_s[i], busiest, busiest_s,
           r->restore_busy_s[i]);
    fflush(stdout);
    if (!warmup)
        r->runs++;
    return 0;
}

/* Raw reads and restores alternate (raw, restore, raw, ..., raw) so that both see the
 * same load; the ratio of each restore is against the faster raw read next to it. */
static int restore_phase(bench_t *b, restore_res_t *r)
{
    const char *in = "bench-restore.in", *clog = "bench-restore.changelog";
    r->customers = b->o.restore_customers;
    static const char *const compacted[] = {"cleanup.policy", "compact", NULL};
    int rc = tk_create_topic(b->bootstrap, in, PARTITIONS, 1, NULL) == 0 &&
                     tk_create_topic(b->bootstrap, clog, PARTITIONS, 1, compacted) == 0
                 ? 0
                 : -1;
    printf("  writing %ld customer states to %s ...\n", r->customers, clog);
    fflush(stdout);
    if (rc == 0)
        rc = write_changelog(b, clog, r->customers);
    /* commit_transaction returns before the coordinator has written every marker: wait
     * until a read_committed reader sees all of it (only that read is timed) */
    for (int i = 0; rc == 0 && i < 20 && r->records != r->customers; i++) {
        sleep_ms(500);
        sync(); /* as before every restore */
        r->records = consume_to_eof(b->bootstrap, clog, &r->bytes, &r->raw_s[0], r->raw_cpu[0]);
    }
    if (rc != 0 || r->records != r->customers) {
        fprintf(stderr, "bench_pipeline: the changelog holds %ld records, want %ld\n", r->records,
                r->customers);
        return -1;
    }
    /* A first restore warms the broker up (its JIT compiles code paths the raw reads never
     * take: the group's join, the transactional producer, a noticeable load on the
     * machine) and is not counted; the raw read is taken again after it. */
    if (restore_once(b, r, clog, true) != 0)
        return -1;
    sync();
    if (consume_to_eof(b->bootstrap, clog, NULL, &r->raw_s[0], r->raw_cpu[0]) != r->records)
        return -1;
    printf("  raw read_committed consumer 1: %ld records, %.1f MiB in %.2f s (CPU %.2f s; "
           "machine busy %.2f s)\n",
           r->records, (double)r->bytes / 1048576.0, r->raw_s[0], r->raw_cpu[0][0],
           r->raw_cpu[0][1]);
    fflush(stdout);
    for (int i = 0; i < b->o.restore_runs; i++) {
        if (restore_once(b, r, clog, false) != 0)
            return -1;
        sync(); /* the restore's table files: written back now, not during the raw read */
        long again = consume_to_eof(b->bootstrap, clog, NULL, &r->raw_s[i + 1], r->raw_cpu[i + 1]);
        printf("  raw read_committed consumer %d: %ld records in %.2f s (CPU %.2f s; machine "
               "busy %.2f s)\n",
               i + 2, again, r->raw_s[i + 1], r->raw_cpu[i + 1][0], r->raw_cpu[i + 1][1]);
        if (again != r->records)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ peer mode */

/* --peer: loyalty-stream against the Kafka Streams peer (bench/peer/README.md) on the same
 * broker and the same input (purchases only, the program bench/peer/program.yaml), in
 * rounds; in each round every side runs once on its own copy of the input, the order
 * rotating from round to round, so that both see the same load on average. Per run:
 *   - start to processing: fork to "all tasks processing" (loyalty-stream: the fourth
 *     "task restored: processing"; the peer: its state RUNNING), empty state;
 *   - events/s after ready: from there until the group's committed offsets cover the
 *     input; CPU per event: the child's CPU over the same span / events;
 *   - latency: as the pipeline mode, at half of the side's own rate just measured (or
 *     --latency-rate), the input's CreateTime to the output seen read_committed;
 *   - peak RSS: VmHWM of the child over throughput and latency (wait4), and as it stood
 *     at the end of the throughput phase (/proc/PID/status);
 *   - outputs: every output caused by a bulk event, read back read_committed, hashed per
 *     partition in order (key and value bytes) and as a multiset;
 *   - restore: a new process of the same application with an empty state directory
 *     restores the final states from the changelog: first restore start to last restore
 *     end, and fork to processing. */

typedef struct peer_run {
    bool done;
    double start_s;            /* fork -> all tasks processing */
    double secs, rate, cpu_ev; /* after ready: wall s, events/s, CPU s per event */
    double hwm_mib;            /* VmHWM over throughput and latency */
    double bulk_hwm_mib;       /* VmHWM at the end of the throughput phase */
    long lat_rate;
    double p50, p99, pmax, in_p50, in_p99;
    long lat_seen, lat_sent;
    long outs;                     /* outputs caused by bulk events */
    uint64_t seq[PARTITIONS_MAX];  /* per partition: hash of the records in order */
    uint64_t mset[PARTITIONS_MAX]; /* per partition: sum of the records' hashes */
    double restore_s, restore_start_s, restore_cpu_s, restore_hwm_mib;
    long restored;
    double resume_s, resume_restore_s, resume_cpu_s; /* --resume */
    long resume_restored;
} peer_run_t;

typedef struct peer_log {
    int64_t running_ms, first_restore_ms, last_restore_end_ms;
    int restore_ends;
    long restored;
} peer_log_t;

/* The peer's progress lines: "PEER <epoch ms> WHAT ..." (PeerApp.java). */
static void scan_peer_log(const char *path, peer_log_t *pl)
{
    memset(pl, 0, sizeof(*pl));
    pl->running_ms = pl->first_restore_ms = pl->last_restore_end_ms = -1;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[1024];
    while (fgets(line, sizeof(line), f)) {
        long long ts;
        char what[64];
        int at = 0;
        if (sscanf(line, "PEER %lld %63s %n", &ts, what, &at) != 2)
            continue;
        if (!strcmp(what, "STATE") && !strncmp(line + at, "RUNNING", 7) && pl->running_ms < 0)
            pl->running_ms = ts;
        else if (!strcmp(what, "RESTORE_START") && pl->first_restore_ms < 0)
            pl->first_restore_ms = ts;
        else if (!strcmp(what, "RESTORE_END")) {
            char topic[256];
            int part;
            long n;
            if (sscanf(line + at, "%255s %d %ld", topic, &part, &n) == 3)
                pl->restored += n;
            pl->last_restore_end_ms = ts;
            pl->restore_ends++;
        }
    }
    fclose(f);
}

/* When every task of the side processes (ms), -1 until then. */
static int64_t side_ready_ms(const side_t *s)
{
    if (s->kstreams) {
        peer_log_t pl;
        scan_peer_log(s->ch.log, &pl);
        return pl.running_ms;
    }
    logscan_t ls;
    scan_log(s->ch.log, &ls);
    return ls.restored >= PARTITIONS ? ls.last_restored_ms : -1;
}

static int peer_throughput(bench_t *b, side_t *s, peer_run_t *r)
{
    int64_t forked = wall_ms();
    if (child_start(b, s, NULL) != 0)
        return -1;
    const char *kv[] = {"group.id", s->app, "isolation.level", "read_uncommitted", NULL};
    rd_kafka_t *w = tk_client_new(RD_KAFKA_CONSUMER, b->bootstrap, kv);
    if (!w)
        return -1;
    long target = end_offsets(w, s->input, PARTITIONS, NULL);
    int64_t ready = -1, t1 = -1, deadline = wall_ms() + 900000;
    double cpu_ready = 0, cpu_done = 0;
    while (target > 0 && child_alive(&s->ch) && wall_ms() < deadline) {
        if (ready < 0 && (ready = side_ready_ms(s)) >= 0)
            cpu_ready = child_cpu_now(s->ch.pid); /* within a poll (20 ms) of it */
        if (ready >= 0 && committed_sum(w, s->input, PARTITIONS) >= target) {
            t1 = wall_ms();
            cpu_done = child_cpu_now(s->ch.pid);
            r->bulk_hwm_mib = (double)child_hwm_now_kb(s->ch.pid) / 1024.0;
            break;
        }
        sleep_ms(20);
    }
    rd_kafka_destroy(w);
    if (t1 < 0) {
        fprintf(stderr, "bench_pipeline: %s did not commit all %ld inputs (log %s)\n", s->name,
                target, s->ch.log);
        return -1;
    }
    r->start_s = (double)(ready - forked) / 1000.0;
    r->secs = (double)(t1 - ready) / 1000.0;
    r->rate = (double)target / r->secs;
    r->cpu_ev = (cpu_done - cpu_ready) / (double)target;
    printf("  %-28s start to processing %.2f s; %ld events in %.2f s: %.0f events/s, CPU %.1f "
           "us/event; VmHWM %.0f MiB\n",
           s->name, r->start_s, target, r->secs, r->rate, r->cpu_ev * 1e6, r->bulk_hwm_mib);
    fflush(stdout);
    return 0;
}

static uint64_t fnv64(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * UINT64_C(0x100000001b3);
    return h;
}

/* Hash the outputs caused by bulk events ("ev-" causes) of @p topic, per partition. */
static int peer_digest(bench_t *b, const char *topic, peer_run_t *r)
{
    const char *kv[] = {"group.id",
                        "bench-digest",
                        "enable.auto.commit",
                        "false",
                        "isolation.level",
                        "read_committed",
                        "enable.partition.eof",
                        "true",
                        "queued.min.messages",
                        "1000000",
                        NULL};
    rd_kafka_t *c = tk_client_new(RD_KAFKA_CONSUMER, b->bootstrap, kv);
    if (!c)
        return -1;
    rd_kafka_poll_set_consumer(c);
    int n = tk_partition_count(c, topic);
    if (n != PARTITIONS) {
        fprintf(stderr, "bench_pipeline: %s has %d partitions, want %d\n", topic, n, PARTITIONS);
        rd_kafka_destroy(c);
        return -1;
    }
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n);
    for (int p = 0; p < n; p++) {
        rd_kafka_topic_partition_list_add(l, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
        r->seq[p] = UINT64_C(0xcbf29ce484222325);
        r->mset[p] = 0;
    }
    r->outs = 0;
    rd_kafka_assign(c, l);
    rd_kafka_topic_partition_list_destroy(l);
    int eof = 0, rc = 0;
    char msg[256];
    for (int64_t deadline = wall_ms() + 300000; eof < n && wall_ms() < deadline;) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            eof++;
        } else if (m->err) {
            fprintf(stderr, "bench_pipeline: reading %s: %s\n", topic, rd_kafka_message_errstr(m));
            rc = -1;
        } else if (avro_codec_decode_output(b->codec, m->payload, m->len, b->out, msg,
                                            sizeof(msg)) != 0) {
            fprintf(stderr, "bench_pipeline: an output of %s does not decode: %s\n", topic, msg);
            rc = -1;
        } else if (!strncmp(b->out->cause_id, "ev-", 3) && m->partition >= 0 &&
                   m->partition < PARTITIONS) {
            uint64_t h = fnv64(UINT64_C(0xcbf29ce484222325), m->key, m->key_len);
            h = fnv64(h, m->payload, m->len);
            r->seq[m->partition] = fnv64(r->seq[m->partition], &h, sizeof(h));
            r->mset[m->partition] += h;
            r->outs++;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return eof == n ? rc : -1;
}

/* A new process of the side's application with an empty state directory restores the
 * final states from the changelog. */
static int peer_restore(bench_t *b, const side_t *ran, peer_run_t *r)
{
    side_t s = *ran;
    memset(&s.ch, 0, sizeof(s.ch));
    snprintf(s.state, sizeof(s.state), "%s-restore", ran->app);
    sync(); /* the run's table files: written back now, not during the restore */
    int64_t forked = wall_ms();
    if (child_start(b, &s, NULL) != 0) /* its log: <state>.log, the first run's is apart */
        return -1;
    int64_t ready = -1;
    for (int64_t deadline = forked + 900000; wall_ms() < deadline && child_alive(&s.ch);) {
        if ((ready = side_ready_ms(&s)) >= 0)
            break;
        sleep_ms(10);
    }
    r->restore_cpu_s = child_cpu_now(s.ch.pid);
    int code = child_stop(&s.ch);
    if (s.kstreams && code == 128 + SIGTERM)
        code = 0;
    r->restore_hwm_mib = (double)s.ch.hwm_kb / 1024.0;
    if (ready < 0 || code != 0) {
        fprintf(stderr, "bench_pipeline: %s's restore did not finish (log %s, exit %d)\n", s.name,
                s.ch.log, code);
        return -1;
    }
    if (s.kstreams) {
        peer_log_t pl;
        scan_peer_log(s.ch.log, &pl);
        r->restored = pl.restored;
        r->restore_s = pl.first_restore_ms >= 0
                           ? (double)(pl.last_restore_end_ms - pl.first_restore_ms) / 1000.0
                           : 0;
    } else {
        logscan_t ls;
        scan_log(s.ch.log, &ls);
        r->restored = ls.restored_records;
        r->restore_s = (double)(ls.last_restored_ms - ls.first_assigned_ms) / 1000.0;
    }
    r->restore_start_s = (double)(ready - forked) / 1000.0;
    printf("  %-28s restore of %ld states: %.2f s (start to processing %.2f s, CPU %.2f s, "
           "VmHWM %.0f MiB)\n",
           s.name, r->restored, r->restore_s, r->restore_start_s, r->restore_cpu_s,
           r->restore_hwm_mib);
    fflush(stdout);
    return 0;
}

/* --resume: SIGKILL the side's process once it has committed the input, start it again
 * on the same state directory, and time the restart to processing. loyalty-stream keeps
 * its local store and restores the changelog's tail; Kafka Streams under exactly-once
 * finds no checkpoint after an unclean stop, wipes its stores and restores them whole. */
static int peer_resume(bench_t *b, side_t *s, peer_run_t *r)
{
    kill(s->ch.pid, SIGKILL);
    int st;
    struct rusage ru;
    if (wait4(s->ch.pid, &st, 0, &ru) != s->ch.pid)
        return -1;
    r->hwm_mib = (double)ru.ru_maxrss / 1024.0;
    char killed[600];
    snprintf(killed, sizeof(killed), "%s.killed", s->ch.log);
    if (rename(s->ch.log, killed) != 0) /* the restarted process's log starts empty */
        return -1;
    sleep_ms(1000); /* as a supervisor's restart delay; not counted */
    int64_t forked = wall_ms();
    if (child_start(b, s, NULL) != 0)
        return -1;
    int64_t ready = -1;
    for (int64_t deadline = forked + 900000; wall_ms() < deadline && child_alive(&s->ch);) {
        if ((ready = side_ready_ms(s)) >= 0)
            break;
        sleep_ms(10);
    }
    r->resume_cpu_s = child_cpu_now(s->ch.pid);
    int code = child_stop(&s->ch);
    if (s->kstreams && code == 128 + SIGTERM)
        code = 0;
    if (ready < 0 || code != 0) {
        fprintf(stderr, "bench_pipeline: %s did not resume (log %s, exit %d)\n", s->name, s->ch.log,
                code);
        return -1;
    }
    int64_t assigned;
    if (s->kstreams) {
        peer_log_t pl;
        scan_peer_log(s->ch.log, &pl);
        r->resume_restored = pl.restored;
        assigned = pl.first_restore_ms >= 0 ? pl.first_restore_ms : ready;
    } else {
        logscan_t ls;
        scan_log(s->ch.log, &ls);
        r->resume_restored = ls.restored_records;
        assigned = ls.first_assigned_ms;
    }
    r->resume_s = (double)(ready - forked) / 1000.0;
    r->resume_restore_s = (double)(ready - assigned) / 1000.0;
    printf("  %-28s SIGKILL, restart to processing %.2f s (of it %.2f s from the tasks' "
           "assignment; %ld changelog records restored; CPU %.2f s)\n",
           s->name, r->resume_s, r->resume_restore_s, r->resume_restored, r->resume_cpu_s);
    fflush(stdout);
    return peer_digest(b, s->pass_out, r);
}

static int peer_run_side(bench_t *b, side_t *s, peer_run_t *r)
{
    int rc = peer_throughput(b, s, r);
    if (b->o.resume) {
        if (rc == 0)
            rc = peer_resume(b, s, r);
        r->done = rc == 0;
        return rc;
    }
    if (rc == 0) {
        s->lat_rate = b->o.latency_rate > 0 ? b->o.latency_rate : (long)(r->rate / 2);
        rc = latency_phase(b, s);
        r->lat_rate = s->lat_rate;
        r->p50 = s->p50, r->p99 = s->p99, r->pmax = s->pmax;
        r->in_p50 = s->in_p50, r->in_p99 = s->in_p99;
        r->lat_seen = s->lat_seen, r->lat_sent = s->lat_sent;
    }
    int code = child_stop(&s->ch);
    if (s->kstreams && code == 128 + SIGTERM)
        code = 0; /* a JVM stopped by SIGTERM exits 143 after its shutdown hook closed it */
    r->hwm_mib = (double)s->ch.hwm_kb / 1024.0;
    if (rc == 0 && code != 0) {
        fprintf(stderr, "bench_pipeline: %s exited with %d (log %s)\n", s->name, code, s->ch.log);
        rc = -1;
    }
    if (rc == 0)
        rc = peer_digest(b, s->pass_out, r);
    if (rc == 0)
        printf("  %-28s latency at %ld events/s: p50 %.0f ms, p99 %.0f ms, max %.0f ms (%ld/%ld "
               "seen; the input itself p50 %.0f ms, p99 %.0f ms); VmHWM %.0f MiB; %ld outputs "
               "of bulk events\n",
               s->name, r->lat_rate, r->p50, r->p99, r->pmax, r->lat_seen, r->lat_sent, r->in_p50,
               r->in_p99, r->hwm_mib, r->outs);
    fflush(stdout);
    if (rc == 0)
        rc = peer_restore(b, s, r);
    if (rc == 0)
        r->done = true;
    return rc;
}

static int cmp_dbl(const void *x, const void *y)
{
    double a = *(const double *)x, c = *(const double *)y;
    return a < c ? -1 : a > c;
}

/* Median over the rounds of one figure of one side. */
static double peer_median(peer_run_t runs[][PEER_SIDES_MAX], int rounds, int side, size_t off)
{
    double v[PEER_ROUNDS_MAX];
    int n = 0;
    for (int i = 0; i < rounds; i++)
        if (runs[i][side].done)
            v[n++] = *(const double *)((const char *)&runs[i][side] + off);
    if (n == 0)
        return 0;
    qsort(v, (size_t)n, sizeof(*v), cmp_dbl);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void peer_summary(bench_t *b, side_t *sides, int n_sides, peer_run_t runs[][PEER_SIDES_MAX],
                         int rounds)
{
    static const struct {
        const char *name;
        size_t off;
        double scale;
    } fig[] = {
        {"events/s after ready", offsetof(peer_run_t, rate), 1},
        {"CPU per event (us)", offsetof(peer_run_t, cpu_ev), 1e6},
        {"peak RSS (MiB)", offsetof(peer_run_t, hwm_mib), 1},
        {"  of it, the throughput phase (MiB)", offsetof(peer_run_t, bulk_hwm_mib), 1},
        {"latency p50 (ms)", offsetof(peer_run_t, p50), 1},
        {"latency p99 (ms)", offsetof(peer_run_t, p99), 1},
        {"  input alone p99 (ms)", offsetof(peer_run_t, in_p99), 1},
        {"restore (s)", offsetof(peer_run_t, restore_s), 1},
        {"restore, start to processing (s)", offsetof(peer_run_t, restore_start_s), 1},
        {"restore, peak RSS (MiB)", offsetof(peer_run_t, restore_hwm_mib), 1},
        {"start to processing, empty (s)", offsetof(peer_run_t, start_s), 1},
        {"SIGKILL: restart to processing (s)", offsetof(peer_run_t, resume_s), 1},
        {"SIGKILL: assignment to processing (s)", offsetof(peer_run_t, resume_restore_s), 1},
    };
    printf("\n== bench_pipeline --peer results (%ld events, %ld customers Zipf s=1.0, %d "
           "partitions, purchases only, program %s, %d rounds) ==\n",
           b->o.events, b->o.customers, PARTITIONS, b->o.program, rounds);
    int ks = -1;
    for (int k = 0; k < n_sides; k++)
        if (sides[k].kstreams)
            ks = k;
    for (int k = 0; k < n_sides; k++)
        printf("  [%d] %s: %s\n", k, sides[k].name, sides[k].cfgname);
    printf("%-37s", "figure (median of rounds)");
    for (int k = 0; k < n_sides; k++)
        printf(" | [%d]%-18s", k, k == ks || ks < 0 ? "" : " (x peer)");
    printf("\n");
    for (size_t f = 0; f < sizeof(fig) / sizeof(fig[0]); f++) {
        size_t off = fig[f].off;
        double any = 0;
        for (int k = 0; k < n_sides; k++)
            any += peer_median(runs, rounds, k, off);
        if (any == 0)
            continue; /* not measured in this mode */
        printf("%-37s", fig[f].name);
        double peer = ks >= 0 ? peer_median(runs, rounds, ks, off) : 0;
        for (int k = 0; k < n_sides; k++) {
            double v = peer_median(runs, rounds, k, off);
            if (k != ks && ks >= 0 && peer > 0)
                printf(" | %10.1f (%5.2f x)", v * fig[f].scale, v / peer);
            else
                printf(" | %10.1f %10s", v * fig[f].scale, "");
        }
        printf("\n");
    }
    printf("per round, ratio loyalty-stream / peer (events/s, CPU/event, RSS, restore):\n");
    for (int i = 0; i < rounds && ks >= 0; i++)
        for (int k = 0; k < n_sides; k++) {
            const peer_run_t *l = &runs[i][k], *p = &runs[i][ks];
            if (k == ks || !l->done || !p->done)
                continue;
            printf("  round %d, [%d]: %.2f, %.2f, %.2f, %.2f\n", i + 1, k, l->rate / p->rate,
                   l->cpu_ev / p->cpu_ev, l->hwm_mib / p->hwm_mib,
                   p->restore_s > 0 ? l->restore_s / p->restore_s : 0);
        }
    /* outputs: every run against the first run of side 0 */
    const peer_run_t *ref = &runs[0][0];
    bool same_seq = true, same_set = true, all = true;
    for (int i = 0; i < rounds; i++)
        for (int k = 0; k < n_sides; k++) {
            const peer_run_t *r = &runs[i][k];
            if (!r->done) {
                all = false;
                continue;
            }
            for (int p = 0; p < PARTITIONS; p++) {
                same_seq = same_seq && r->seq[p] == ref->seq[p];
                same_set = same_set && r->mset[p] == ref->mset[p];
            }
            same_set = same_set && r->outs == ref->outs;
        }
    printf("outputs of the %ld bulk events (%ld records each run): %s%s\n", b->o.events, ref->outs,
           same_seq   ? "IDENTICAL in every run, byte for byte, in the same order per partition"
           : same_set ? "the same multiset per partition in every run, but in another order"
                      : "DIFFERENT",
           all ? "" : " (some runs failed)");
}

/* Side k's application, input and output topics in round @p round (from 1). */
static void peer_side_names(side_t *s, int k, int round)
{
    char app[64];
    snprintf(app, sizeof(app), "bench-%s%d-r%d", s->kstreams ? "ks" : "ls", k, round);
    snprintf(s->app, sizeof(s->app), "%s", app);
    snprintf(s->input, sizeof(s->input), "%s.purchases", app);
    snprintf(s->pass_out, sizeof(s->pass_out), s->kstreams ? "%s.bonuses" : "%s.bonus-earned", app);
    s->state[0] = '\0';
}

static int peer_main(bench_t *b)
{
    static side_t sides[PEER_SIDES_MAX];
    static peer_run_t runs[PEER_ROUNDS_MAX][PEER_SIDES_MAX];
    static char extra[PEER_SIDES_MAX][512], names[PEER_SIDES_MAX][64];
    int n = 0;
    b->purchases_only = true;
    if (!b->o.no_peer) {
        if (system("'" PEER_SCRIPT "' build") != 0) {
            fprintf(stderr, "bench_pipeline: the Kafka Streams peer did not build\n");
            return -1;
        }
        snprintf(names[n], sizeof(names[n]), "kafka-streams");
        sides[n] = (side_t){.kstreams = true, .cfgname = "Kafka Streams"};
        n++;
    }
    int nv = b->o.n_variants ? b->o.n_variants : 1;
    for (int v = 0; v < nv; v++, n++) {
        const char *spec = b->o.n_variants ? b->o.variants[v] : "";
        if (nv > 1)
            snprintf(names[n], sizeof(names[n]), "loyalty-stream #%d", v + 1);
        else
            snprintf(names[n], sizeof(names[n]), "loyalty-stream");
        sides[n] = (side_t){.loyalty = true, .cfgname = spec[0] ? spec : "loyalty-stream defaults"};
        /* "k=v,k=v" -> property lines */
        char *w = extra[n];
        size_t left = sizeof(extra[n]);
        for (const char *p = spec; *p && left > 2;) {
            size_t len = strcspn(p, ",");
            int k = snprintf(w, left, "%.*s\n", (int)len, p);
            if (k < 0 || (size_t)k >= left)
                break;
            w += k, left -= (size_t)k;
            p += len + (p[len] == ',');
        }
        sides[n].extra = extra[n];
    }
    int rc = broker_start(b);
    if (rc == 0)
        printf("broker: %s\n", b->bootstrap);
    /* one input copy (and the peer's output topic) per side and round */
    for (int i = 0; rc == 0 && i < b->o.rounds; i++)
        for (int k = 0; rc == 0 && k < n; k++) {
            side_t *s = &sides[k];
            peer_side_names(s, k, i + 1);
            if (tk_create_topic(b->bootstrap, s->input, PARTITIONS, 1, NULL) != 0 ||
                (s->kstreams && tk_create_topic(b->bootstrap, s->pass_out, PARTITIONS, 1, NULL)))
                rc = -1;
        }
    if (rc == 0) {
        printf("producing %ld purchases (%ld customers) to %ld x %d input topics ...\n",
               b->o.events, b->o.customers, b->o.rounds, n);
        fflush(stdout);
    }
    static char topics[PEER_ROUNDS_MAX * PEER_SIDES_MAX][160];
    const char *tp[PEER_ROUNDS_MAX * PEER_SIDES_MAX];
    int nt = 0;
    for (int i = 0; i < b->o.rounds; i++)
        for (int k = 0; k < n; k++, nt++) {
            side_t s = sides[k];
            peer_side_names(&s, k, i + 1);
            snprintf(topics[nt], sizeof(topics[nt]), "%s", s.input);
            tp[nt] = topics[nt];
        }
    if (rc == 0)
        rc = produce_bulk_n(b, tp, nt);
    b->bulk_per_topic = b->o.events;
    for (int i = 0; rc == 0 && i < b->o.rounds; i++) {
        printf("round %d (uptime: ", i + 1);
        fflush(stdout);
        if (system("uptime | sed 's/.*load/load/'") != 0)
            printf(")\n");
        for (int j = 0; rc == 0 && j < n; j++) {
            int k = (i + j) % n; /* the order rotates */
            side_t *s = &sides[k];
            peer_side_names(s, k, i + 1);
            s->name = names[k];
            rc = peer_run_side(b, s, &runs[i][k]);
        }
    }
    if (rc == 0)
        peer_summary(b, sides, n, runs, (int)b->o.rounds);
    broker_stop(b);
    return rc;
}

/* ------------------------------------------------------------------ main */

static bool explicit_events(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--events"))
            return true;
    return false;
}

static int parse_args(int argc, char **argv, opts_t *o)
{
    static char program[512];
    snprintf(program, sizeof(program), "%s/tests/it/programs/eos.yaml", LS_BENCH_SOURCE_DIR);
    *o = (opts_t){.events = 200000,
                  .customers = 100000,
                  .restore_customers = 1000000,
                  .restore_runs = 1,
                  .latency_rate = 200,
                  .latency_seconds = 15,
                  .rounds = 2,
                  .peer = LS_BENCH_PEER_DEFAULT,
                  .program = program};
    bool rate_given = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long *num = !strcmp(a, "--events")              ? &o->events
                    : !strcmp(a, "--customers")         ? &o->customers
                    : !strcmp(a, "--restore-customers") ? &o->restore_customers
                    : !strcmp(a, "--restore-runs")      ? &o->restore_runs
                    : !strcmp(a, "--latency-rate")      ? &o->latency_rate
                    : !strcmp(a, "--latency-seconds")   ? &o->latency_seconds
                    : !strcmp(a, "--rounds")            ? &o->rounds
                    : !strcmp(a, "--partitions")        ? &o->partitions
                                                        : NULL;
        if (num && v && atol(v) > 0) {
            *num = atol(v);
            rate_given = rate_given || num == &o->latency_rate;
            i++;
        } else if (!strcmp(a, "--peer")) {
            o->peer = true;
        } else if (!strcmp(a, "--no-peer")) {
            o->no_peer = true;
        } else if (!strcmp(a, "--resume")) {
            o->resume = true;
        } else if (!strcmp(a, "--ls") && v && o->n_variants < 8) {
            o->variants[o->n_variants++] = v;
            i++;
        } else if (!strcmp(a, "--program") && v) {
            o->program = v;
            i++;
        } else if (!strcmp(a, "--keep")) {
            o->keep = true;
        } else if (!strcmp(a, "--restore-only")) {
            o->restore_only = true;
        } else {
            fprintf(stderr,
                    "usage: bench_pipeline [--events N] [--customers C] "
                    "[--restore-customers M] [--latency-rate R] [--latency-seconds S] "
                    "[--restore-runs K] [--program FILE] [--keep] [--restore-only]\n"
                    "       bench_pipeline --peer [--events N] [--customers C] "
                    "[--rounds R] [--partitions P] [--latency-rate R] [--latency-seconds S]\n"
                    "                      [--ls 'key=value,...']... [--no-peer] "
                    "[--resume] [--program FILE] [--keep]\n");
            return -1;
        }
    }
    if (o->peer) {
        /* the program both sides implement; latency at half of each side's own rate */
        if (!strcmp(o->program, program))
            snprintf(program, sizeof(program), "%s/bench/peer/program.yaml", LS_BENCH_SOURCE_DIR);
        if (!rate_given)
            o->latency_rate = 0;
        if (!explicit_events(argc, argv))
            o->events = 300000;
        if (o->partitions)
            bench_partitions = (int)o->partitions;
        if (o->rounds > PEER_ROUNDS_MAX || o->n_variants + 1 > PEER_SIDES_MAX ||
            bench_partitions > PARTITIONS_MAX) {
            fprintf(stderr, "bench_pipeline: at most %d rounds, %d --ls variants, %d partitions\n",
                    PEER_ROUNDS_MAX, PEER_SIDES_MAX - 1, PARTITIONS_MAX);
            return -1;
        }
    }
    if (o->restore_runs > RESTORE_RUNS_MAX) {
        fprintf(stderr, "bench_pipeline: at most %d restore runs\n", RESTORE_RUNS_MAX);
        return -1;
    }
    return 0;
}

static int bench_init(bench_t *b, int argc, char **argv)
{
    char err[512];
    if (parse_args(argc, argv, &b->o) != 0)
        return 2;
    ssize_t n = readlink("/proc/self/exe", b->self, sizeof(b->self) - 1);
    if (n <= 0)
        return 1;
    b->self[n] = '\0';
    const char *tmp = getenv("TMPDIR");
    snprintf(b->work, sizeof(b->work), "%s/ls-bench-pipe-XXXXXX", tmp ? tmp : "/tmp");
    if (!mkdtemp(b->work))
        return 1;
    avro_codec_config_t cc;
    avro_codec_config_defaults(&cc);
    b->codec = avro_codec_new(&cc, err, sizeof(err));
    b->ev = malloc(sizeof(*b->ev));
    b->out = malloc(sizeof(*b->out));
    b->cdf = malloc((size_t)b->o.customers * sizeof(*b->cdf));
    if (!b->codec || !b->ev || !b->out || !b->cdf)
        return 1;
    double sum = 0;
    for (long i = 0; i < b->o.customers; i++)
        b->cdf[i] = (sum += 1.0 / (double)(i + 1));
    return 0;
}

static void print_summary(const bench_t *b, const side_t *pt, const side_t *ly,
                          const restore_res_t *r)
{
    printf("\n== bench_pipeline results (%ld events, %ld customers Zipf s=1.0, %d partitions, "
           "commit.interval.ms " COMMIT_MS ", commit.max.records " COMMIT_MAX ") ==\n",
           b->o.events, b->o.customers, PARTITIONS);
    if (b->o.restore_only)
        goto restore;
    printf("throughput, pass-through pipe : %9.0f events/s (%.2f s)\n", pt->rate, pt->secs);
    printf("throughput, loyalty-stream    : %9.0f events/s (%.2f s)\n", ly->rate, ly->secs);
    printf("RATIO loyalty / pass-through  : %9.2f   (goal >= 0.6)\n", ly->rate / pt->rate);
    printf("child CPU to finish the bulk  : pass-through %.1f s, loyalty %.1f s (incl. start-up)\n",
           pt->cpu_bulk_s, ly->cpu_bulk_s);
    printf("latency %ld ev/s x %ld s, pass-through : p50 %.0f ms, p99 %.0f ms, max %.0f ms "
           "(%ld/%ld seen)\n",
           b->o.latency_rate, b->o.latency_seconds, pt->p50, pt->p99, pt->pmax, pt->lat_seen,
           pt->lat_sent);
    printf("latency %ld ev/s x %ld s, loyalty      : p50 %.0f ms, p99 %.0f ms, max %.0f ms "
           "(%ld/%ld seen)\n",
           b->o.latency_rate, b->o.latency_seconds, ly->p50, ly->p99, ly->pmax, ly->lat_seen,
           ly->lat_sent);
    printf("VmHWM of the child process    : pass-through %.1f MiB, loyalty %.1f MiB\n",
           (double)pt->ch.hwm_kb / 1024.0, (double)ly->ch.hwm_kb / 1024.0);
    printf("records out (read_committed)  : pass-through %ld (want %ld), loyalty %ld outputs + "
           "%ld changelog\n",
           pt->outputs, b->bulk_per_topic + pt->lat_warm + pt->lat_sent, ly->outputs,
           ly->changelog);
restore:
    printf("VmHWM of loyalty-stream restoring %ld states: %.1f MiB\n", r->customers,
           (double)r->ch.hwm_kb / 1024.0);
    double raw_best = r->raw_s[0];
    for (int i = 1; i <= r->runs; i++)
        raw_best = r->raw_s[i] < raw_best ? r->raw_s[i] : raw_best;
    printf("restore, raw consumer         : %9.0f records/s (best of %d reads; %.1f MiB)\n",
           (double)r->records / raw_best, r->runs + 1, (double)r->bytes / 1048576.0);
    for (int i = 0; i < r->runs; i++) {
        double raw = r->raw_s[i] < r->raw_s[i + 1] ? r->raw_s[i] : r->raw_s[i + 1];
        double rate = (double)r->restored[i] / r->restore_s[i];
        printf("restore %d, loyalty-stream     : %9.0f records/s (%.2f s; %.2f s from process "
               "start); raw next to it %.0f records/s\n",
               i + 1, rate, r->restore_s[i], r->restore_total_s[i], (double)r->records / raw);
        printf("RATIO restore %d / raw         : %9.2f   (goal >= 0.8)\n", i + 1,
               rate / ((double)r->records / raw));
    }
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--passthrough-child"))
        return passthrough_main(argv[2]);
    static bench_t b;
    int rc = bench_init(&b, argc, argv);
    if (rc != 0)
        return rc;
    side_t pt = {.name = "pass-through", .loyalty = false};
    side_t ly = {.name = "loyalty-stream", .loyalty = true};
    snprintf(pt.app, sizeof(pt.app), "bench-pass");
    snprintf(pt.input, sizeof(pt.input), "bench-pass.purchases");
    snprintf(pt.pass_out, sizeof(pt.pass_out), "bench-pass.out");
    snprintf(ly.app, sizeof(ly.app), "bench-loyalty");
    snprintf(ly.input, sizeof(ly.input), "bench-loyalty.purchases");
    restore_res_t rr = {0};
    printf("bench_pipeline: work dir %s, program %s\n", b.work, b.o.program);
    if (b.o.peer) {
        rc = peer_main(&b);
        goto cleanup;
    }
    rc = broker_start(&b);
    if (rc == 0) {
        printf("broker: %s\n", b.bootstrap);
        rc = tk_create_topic(b.bootstrap, pt.input, PARTITIONS, 1, NULL) == 0 &&
                     tk_create_topic(b.bootstrap, ly.input, PARTITIONS, 1, NULL) == 0
                 ? 0
                 : -1;
    }
    if (rc == 0 && !b.o.restore_only) {
        printf("producing %ld events to %s and %s ...\n", b.o.events, pt.input, ly.input);
        fflush(stdout);
        rc = produce_bulk(&b, pt.input, ly.input);
        b.bulk_per_topic = b.o.events;
    }
    if (rc == 0 && !b.o.restore_only) {
        printf("each side: throughput (first task processing -> all inputs committed), "
               "then latency (input CreateTime -> first output seen read_committed):\n");
        rc = run_side(&b, &pt);
    }
    if (rc == 0 && !b.o.restore_only)
        rc = run_side(&b, &ly);
    if (rc == 0) {
        printf("restore:\n");
        rc = restore_phase(&b, &rr);
    }
    if (rc == 0)
        print_summary(&b, &pt, &ly, &rr);
cleanup:
    if (pt.ch.pid > 0)
        child_stop(&pt.ch);
    if (ly.ch.pid > 0)
        child_stop(&ly.ch);
    broker_stop(&b);
    if (!b.o.keep) {
        char cmd[400];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", b.work);
        if (system(cmd) != 0)
            fprintf(stderr, "bench_pipeline: could not remove %s\n", b.work);
    } else {
        printf("kept %s\n", b.work);
    }
    avro_codec_destroy(b.codec);
    free(b.ev);
    free(b.out);
    free(b.cdf);
    return rc == 0 ? 0 : 1;
}
