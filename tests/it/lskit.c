/* lskit: see lskit.h. */
#include "lskit.h"

#include "avro_codec.h"
#include "clog.h"
#include "eng.h"
#include "eng_json.h"
#include "keypart.h"
#include "sr.h"
#include "store.h"
#include "testkit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ lines */

void lk_lines_add(lk_lines_t *l, const char *s, size_t len)
{
    while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
        len--;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->v = realloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n] = malloc(len + 1);
    memcpy(l->v[l->n], s, len);
    l->v[l->n][len] = '\0';
    l->n++;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void lk_lines_sort(lk_lines_t *l)
{
    if (l->n)
        qsort(l->v, l->n, sizeof(*l->v), cmp_str);
}

void lk_lines_free(lk_lines_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

int lk_lines_diff(const lk_lines_t *want, const lk_lines_t *got, const char *what)
{
    size_t i = 0, j = 0;
    int shown = 0, diffs = 0;
    while (i < want->n || j < got->n) {
        int c = i == want->n ? 1 : j == got->n ? -1 : strcmp(want->v[i], got->v[j]);
        if (c == 0) {
            i++, j++;
            continue;
        }
        diffs++;
        if (shown++ < 10)
            fprintf(stderr, "%s %s: %.400s\n", what, c < 0 ? "MISSING" : "EXTRA  ",
                    c < 0 ? want->v[i] : got->v[j]);
        if (c < 0)
            i++;
        else
            j++;
    }
    if (diffs)
        fprintf(stderr, "%s: %d differences (want %zu lines, got %zu)\n", what, diffs, want->n,
                got->n);
    return diffs ? -1 : 0;
}

/* ------------------------------------------------------------------ scenario */

static uint64_t lk_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void purchase_lines(eng_event_t *ev, uint64_t *rng)
{
    static const char *const cats[] = {"lenses", "skincare", "services", "consumables"};
    ev->n_lines = 1 + (uint32_t)(lk_rand(rng) % 3);
    for (uint32_t l = 0; l < ev->n_lines; l++) {
        eng_line_t *ln = &ev->lines[l];
        snprintf(ln->sku, sizeof(ln->sku), "sku-%u", (unsigned)(lk_rand(rng) % 100));
        snprintf(ln->category, sizeof(ln->category), "%s", cats[lk_rand(rng) % 4]);
        ln->quantity = 1 + (int32_t)(lk_rand(rng) % 3);
        ln->amount = (int64_t)(5000 + lk_rand(rng) % 150000) * ln->quantity;
        ln->on_sale = lk_rand(rng) % 10 == 0;
    }
}

static int write_jsonl(lk_scenario_t *s)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/events.jsonl", s->dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    for (size_t i = 0; i < s->n_events; i++) {
        json_t *j = eng_json_event(&s->events[i]);
        char *line = eng_json_line(j);
        fputs(line, f);
        free(line);
        json_decref(j);
    }
    return fclose(f);
}

/* The contract's partition of a customer's events (docs/SCHEMAS.md): murmur2 of the key,
 * as the Java clients, `encode` and the processor's own producer choose it. */
static int32_t partition_for(const char *customer, int partitions)
{
    return keypart_of(customer, strlen(customer), partitions);
}

int lk_scenario_new(lk_scenario_t *s, const char *name, const char *bootstrap, int partitions,
                    size_t n, int customers, unsigned seed)
{
    return lk_scenario_new_rf(s, name, bootstrap, partitions, 1, n, customers, seed);
}

int lk_scenario_new_rf(lk_scenario_t *s, const char *name, const char *bootstrap, int partitions,
                       int rf, size_t n, int customers, unsigned seed)
{
    memset(s, 0, sizeof(*s));
    tk_unique_name(name, s->name, sizeof(s->name));
    snprintf(s->bootstrap, sizeof(s->bootstrap), "%s", bootstrap);
    s->partitions = partitions;
    snprintf(s->dir, sizeof(s->dir), "/tmp/%s", s->name);
    if (mkdir(s->dir, 0700) != 0)
        return -1;
    snprintf(s->input, sizeof(s->input), "%s.purchases", s->name);
    snprintf(s->dlq, sizeof(s->dlq), "%s.dlq", s->name);
    snprintf(s->changelog, sizeof(s->changelog), "%s-changelog", s->name);
    for (int k = 0; k < ENG_OUT_KIND_COUNT; k++)
        snprintf(s->outputs[k], sizeof(s->outputs[k]), "%s.out%d", s->name, k);
    const char *src = getenv("LS_SOURCE_DIR");
    snprintf(s->program, sizeof(s->program), "%s/tests/it/programs/eos.yaml", src ? src : ".");
    if (tk_create_topic(bootstrap, s->input, partitions, rf, NULL) != 0)
        return -1;

    /* Events: purchases, returns, redemptions and some repeated ids, over ~3 months. */
    size_t cap = n + (size_t)partitions;
    s->events = calloc(cap, sizeof(*s->events));
    s->part_of = calloc(cap, sizeof(*s->part_of));
    uint64_t rng = seed * 2654435761u + 1;
    int64_t start = INT64_C(1767214800000), span = INT64_C(90) * 86400000; /* 2026-01-01 MSK */
    size_t last_purchase_of[1024];
    for (int c = 0; c < 1024; c++)
        last_purchase_of[c] = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        eng_event_t *ev = &s->events[s->n_events];
        int c =
            (int)(lk_rand(&rng) % (uint64_t)(lk_rand(&rng) % 4 ? customers / 8 + 1 : customers));
        uint64_t r = lk_rand(&rng) % 100;
        if (r < 4 && s->n_events > 0) { /* a repeated event: same id, must change nothing */
            *ev = s->events[lk_rand(&rng) % s->n_events];
        } else {
            snprintf(ev->event_id, sizeof(ev->event_id), "e%zu", i);
            snprintf(ev->customer_id, sizeof(ev->customer_id), "cust-%04d", c);
            snprintf(ev->currency, sizeof(ev->currency), "RUB");
            ev->time_ms = start + span * (int64_t)i / (int64_t)n;
            if (r < 10 && c < 1024 && last_purchase_of[c] != SIZE_MAX) {
                const eng_event_t *orig = &s->events[last_purchase_of[c]];
                ev->kind = ENG_EV_RETURN;
                snprintf(ev->original_event_id, sizeof(ev->original_event_id), "%s",
                         orig->event_id);
                ev->n_lines = 1;
                ev->lines[0] = orig->lines[0];
                last_purchase_of[c] = SIZE_MAX;
            } else if (r < 22) {
                ev->kind = ENG_EV_REDEMPTION;
                ev->points = 10 + (int64_t)(lk_rand(&rng) % 300);
                purchase_lines(ev, &rng);
            } else {
                ev->kind = ENG_EV_PURCHASE;
                purchase_lines(ev, &rng);
                if (c < 1024)
                    last_purchase_of[c] = s->n_events;
            }
        }
        s->part_of[s->n_events] = partition_for(ev->customer_id, partitions);
        s->n_events++;
    }
    /* Close every partition at the same last time with a purchase of a customer of it. */
    int64_t end = start + span + 86400000;
    for (int p = 0; p < partitions; p++) {
        eng_event_t *ev = &s->events[s->n_events];
        for (int k = 0;; k++) {
            snprintf(ev->customer_id, sizeof(ev->customer_id), "closer-%d-%d", p, k);
            if (partition_for(ev->customer_id, partitions) == p)
                break;
        }
        snprintf(ev->event_id, sizeof(ev->event_id), "close-%d", p);
        snprintf(ev->currency, sizeof(ev->currency), "RUB");
        ev->kind = ENG_EV_PURCHASE;
        ev->time_ms = end;
        purchase_lines(ev, &rng);
        s->part_of[s->n_events++] = p;
    }
    return write_jsonl(s);
}

static avro_codec_t *codec_new(lk_scenario_t *s)
{
    char err[512];
    avro_codec_config_t cc;
    avro_codec_config_defaults(&cc);
    if (s->registry_url && !s->registry &&
        !(s->registry = sr_client_new(s->registry_url, 5000, err, sizeof(err))))
        fprintf(stderr, "registry client: %s\n", err);
    cc.registry = s->registry;
    cc.topics[AVRO_CODEC_TYPE_INPUT] = s->input;
    for (int k = 0; k < ENG_OUT_KIND_COUNT; k++)
        cc.topics[k] = s->outputs[k];
    avro_codec_t *c = avro_codec_new(&cc, err, sizeof(err));
    if (!c)
        fprintf(stderr, "codec: %s\n", err);
    return c;
}

static int produce_bytes(rd_kafka_t *p, const char *topic, int32_t part, const char *key,
                         const void *val, size_t len)
{
    rd_kafka_resp_err_t e;
    while (
        (e = rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(part),
                               RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE((void *)val, len),
                               RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) ==
        RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(p, 10);
    if (e)
        fprintf(stderr, "produce %s: %s\n", topic, rd_kafka_err2str(e));
    return e ? -1 : 0;
}

int lk_produce(lk_scenario_t *s, size_t from, size_t to)
{
    const char *kv[] = {"enable.idempotence", "true", "linger.ms", "5", NULL};
    rd_kafka_t *p = tk_client_new(RD_KAFKA_PRODUCER, s->bootstrap, kv);
    avro_codec_t *c = codec_new(s);
    int rc = p && c ? 0 : -1;
    char err[512];
    for (size_t i = from; rc == 0 && i < to && i < s->n_events; i++) {
        const uint8_t *buf;
        size_t len;
        if (avro_codec_encode_event(c, &s->events[i], &buf, &len, err, sizeof(err)) != 0) {
            fprintf(stderr, "encode event %zu: %s\n", i, err);
            rc = -1;
        } else {
            rc = produce_bytes(p, s->input, s->part_of[i], s->events[i].customer_id, buf, len);
        }
    }
    if (p && rd_kafka_flush(p, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        rc = -1;
    if (p)
        rd_kafka_destroy(p);
    avro_codec_destroy(c);
    return rc;
}

void lk_scenario_run_ahead(lk_scenario_t *s, const char *customer, int64_t ahead_ms)
{
    int64_t end = s->events[s->n_events - 1].time_ms; /* the closing events' time */
    for (size_t i = 0; i + (size_t)s->partitions < s->n_events; i++) {
        eng_event_t *ev = &s->events[i];
        if (strcmp(ev->customer_id, customer) == 0)
            ev->time_ms = ev->time_ms + ahead_ms < end ? ev->time_ms + ahead_ms : end - 1;
    }
    if (write_jsonl(s) != 0)
        fprintf(stderr, "cannot rewrite %s/events.jsonl\n", s->dir);
}

void lk_scenario_disorder(lk_scenario_t *s, unsigned seed, int percent, int64_t max_ms)
{
    uint64_t rng = seed * 2654435761u + 7;
    for (size_t i = 0; i + (size_t)s->partitions < s->n_events; i++)
        if ((int)(lk_rand(&rng) % 100) < percent)
            s->events[i].time_ms -= (int64_t)(lk_rand(&rng) % (uint64_t)max_ms);
    if (write_jsonl(s) != 0)
        fprintf(stderr, "cannot rewrite %s/events.jsonl\n", s->dir);
}

int lk_produce_encode(lk_scenario_t *s, const char *partitioner)
{
    const char *bin = getenv("LS_BINARY");
    char cmd[2048], opt[128] = "";
    if (partitioner)
        snprintf(opt, sizeof(opt), " --partitioner %s", partitioner);
    snprintf(cmd, sizeof(cmd),
             "%s encode --engine-json --bootstrap %s --topic %s%s %s/events.jsonl "
             "2> %s/encode.log",
             bin, s->bootstrap, s->input, opt, s->dir, s->dir);
    if (!bin || system(cmd) != 0) {
        fprintf(stderr, "encode failed: %s (see %s/encode.log)\n", cmd, s->dir);
        return -1;
    }
    return 0;
}

int lk_produce_raw(lk_scenario_t *s, int32_t part, const char *key, const void *val, size_t len)
{
    rd_kafka_t *p = tk_client_new(RD_KAFKA_PRODUCER, s->bootstrap, NULL);
    if (!p)
        return -1;
    int rc = produce_bytes(p, s->input, part, key, val, len);
    if (rd_kafka_flush(p, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        rc = -1;
    rd_kafka_destroy(p);
    return rc;
}

static int read_lines(const char *path, lk_lines_t *out)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0)
        if (len > 1)
            lk_lines_add(out, line, (size_t)len);
    free(line);
    fclose(f);
    lk_lines_sort(out);
    return 0;
}

int lk_replay_with(lk_scenario_t *s, const char *partitioner, lk_lines_t *outputs,
                   lk_lines_t *states)
{
    const char *bin = getenv("LS_BINARY");
    const char *tag = partitioner ? partitioner : "default";
    char cmd[2048], opt[128] = "";
    if (partitioner)
        snprintf(opt, sizeof(opt), " --partitioner %s", partitioner);
    if (s->replay_until[0])
        snprintf(opt + strlen(opt), sizeof(opt) - strlen(opt), " --until %s", s->replay_until);
    snprintf(cmd, sizeof(cmd),
             "%s replay --program %s --input %s/events.jsonl --partitions %d%s "
             "--tolerate-skipped --final-state-raw %s/replay-states-%s.jsonl "
             "> %s/replay-outputs-%s.jsonl "
             "2> %s/replay-%s.log",
             bin, s->program, s->dir, s->partitions, opt, s->dir, tag, s->dir, tag, s->dir, tag);
    if (!bin || system(cmd) != 0) {
        fprintf(stderr, "replay failed: %s (see %s/replay-%s.log)\n", cmd, s->dir, tag);
        return -1;
    }
    char p1[300], p2[300];
    snprintf(p1, sizeof(p1), "%s/replay-outputs-%s.jsonl", s->dir, tag);
    snprintf(p2, sizeof(p2), "%s/replay-states-%s.jsonl", s->dir, tag);
    return read_lines(p1, outputs) == 0 && read_lines(p2, states) == 0 ? 0 : -1;
}

int lk_scenario_set_event(lk_scenario_t *s, size_t i, const eng_event_t *ev)
{
    if (i >= s->n_events)
        return -1;
    s->events[i] = *ev;
    s->part_of[i] = partition_for(ev->customer_id, s->partitions);
    return write_jsonl(s);
}

int lk_replay(lk_scenario_t *s, lk_lines_t *outputs, lk_lines_t *states)
{
    return lk_replay_with(s, NULL, outputs, states);
}

static int write_kafka_setting(void *ctx, const char *key, const char *value)
{
    fprintf(ctx, "kafka.%s = %s\n", key, value);
    return 0;
}

int lk_start(lk_scenario_t *s, const char *instance, char *const *env)
{
    char cfg_path[300], log_path[300];
    snprintf(cfg_path, sizeof(cfg_path), "%s/%s.properties", s->dir, instance);
    snprintf(log_path, sizeof(log_path), "%s/%s.log", s->dir, instance);
    FILE *f = fopen(cfg_path, "w");
    if (!f)
        return -1;
    fprintf(f,
            "bootstrap.servers = %s\napplication.id = %s\ninstance.id = %s\n"
            "program.file = %s\nstate.dir = %s/state-%s\ntopic.input = %s\n"
            "topic.changelog = %s\n"
            "topic.dead-letter = %s\nclock = %s\ntopics.create = true\n"
            "commit.interval.ms = 100\ncommit.max.records = 200\ntimers.interval.ms = 100\n"
            "http.port = -1\nkafka.session.timeout.ms = 10000\n"
            "kafka.transaction.timeout.ms = 10000\n",
            s->bootstrap, s->name, instance, s->program, s->dir, instance, s->input, s->changelog,
            s->dlq, s->clock[0] ? s->clock : "stream");
    static const char *const keys[ENG_OUT_KIND_COUNT] = {
        "tier-changed",        "bonus-earned",    "expiry-warning",      "points-expired",
        "points-reversed",     "points-redeemed", "redemption-rejected", "reward-earned",
        "tier-will-downgrade", "tier-progress"};
    for (int k = 0; k < ENG_OUT_KIND_COUNT; k++)
        fprintf(f, "topic.%s = %s\n", keys[k], s->outputs[k]);
    tk_extra_conf_each(write_kafka_setting, f); /* a secured broker's client settings */
    fclose(f);
    const char *bin = getenv("LS_BINARY");
    char *argv[] = {(char *)bin, "run", "--config", cfg_path, NULL};
    return bin ? tk_spawn(argv, env, log_path) : -1;
}

long lk_count_outputs(lk_scenario_t *s)
{
    long total = 0;
    for (int k = 0; k < ENG_OUT_KIND_COUNT; k++) {
        long n = tk_count(s->bootstrap, s->outputs[k]);
        if (n < 0)
            return -1;
        total += n;
    }
    return total;
}

long lk_wait_outputs(lk_scenario_t *s, long want, int timeout_s)
{
    long got = -1;
    time_t start = time(NULL), last_print = start;
    while (time(NULL) - start < timeout_s) {
        got = lk_count_outputs(s);
        if (got >= want)
            return got;
        if (time(NULL) - last_print >= 10) {
            last_print = time(NULL);
            fprintf(stderr, "waiting for outputs: %ld of %ld\n", got, want);
        }
        sleep(1);
    }
    return got;
}

static void dump_lines(const lk_scenario_t *s, const char *name, const lk_lines_t *l)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/%s", s->dir, name);
    FILE *f = fopen(path, "w");
    for (size_t i = 0; f && i < l->n; i++)
        fprintf(f, "%s\n", l->v[i]);
    if (f)
        fclose(f);
}

int lk_collect_outputs(lk_scenario_t *s, lk_lines_t *out)
{
    avro_codec_t *c = codec_new(s);
    if (!c)
        return -1;
    int rc = 0;
    for (int k = 0; rc == 0 && k < ENG_OUT_KIND_COUNT; k++) {
        size_t n = 0;
        tk_record_t *recs = tk_consume_all(s->bootstrap, s->outputs[k], 1, &n);
        if (!recs) {
            rc = -1;
            break;
        }
        for (size_t i = 0; i < n; i++) {
            eng_output_t o;
            char msg[256];
            if (avro_codec_decode_output(c, recs[i].value, recs[i].value_len, &o, msg,
                                         sizeof(msg)) != DLQ_OK) {
                fprintf(stderr, "output %s@%lld: %s\n", s->outputs[k], (long long)recs[i].offset,
                        msg);
                rc = -1;
                break;
            }
            json_t *j = eng_json_output(&o);
            char *line = eng_json_line(j);
            lk_lines_add(out, line, strlen(line));
            free(line);
            json_decref(j);
        }
        tk_records_free(recs, n);
    }
    avro_codec_destroy(c);
    lk_lines_sort(out);
    dump_lines(s, "got-outputs.jsonl", out); /* for a look when a comparison fails */
    return rc;
}

int lk_collect_changelog(lk_scenario_t *s, lk_lines_t *out)
{
    size_t n = 0;
    tk_record_t *recs = tk_consume_all(s->bootstrap, s->changelog, 1, &n);
    avro_codec_t *c = codec_new(s);
    if (!recs || !c) {
        tk_records_free(recs, n);
        avro_codec_destroy(c);
        return -1;
    }
    int rc = 0;
    eng_state_t *st = malloc(sizeof(*st));
    for (size_t i = 0; rc == 0 && i < n; i++) {
        bool last = true; /* only the last record per customer */
        for (size_t j = i + 1; j < n && last; j++)
            last = strcmp(recs[i].key, recs[j].key) != 0;
        if (!last)
            continue;
        int64_t due;
        const void *state;
        size_t slen;
        char err[256];
        if (clog_frame_decode(recs[i].value, recs[i].value_len, &due, &state, &slen, err,
                              sizeof(err)) != 0 ||
            avro_codec_decode_state(c, state, slen, st, err, sizeof(err)) != DLQ_OK) {
            fprintf(stderr, "changelog %s@%lld: %s\n", recs[i].key, (long long)recs[i].offset, err);
            rc = -1;
            break;
        }
        json_t *j = eng_json_state(st);
        char *line = eng_json_line(j);
        lk_lines_add(out, line, strlen(line));
        free(line);
        json_decref(j);
    }
    free(st);
    tk_records_free(recs, n);
    avro_codec_destroy(c);
    lk_lines_sort(out);
    return rc;
}

typedef struct foreach_ctx {
    avro_codec_t *codec;
    eng_state_t *st;
    lk_lines_t *out;
    int rc;
} foreach_ctx_t;

static int store_visit(void *ctx, const char *customer, size_t clen, const char *val, size_t vlen)
{
    foreach_ctx_t *fc = ctx;
    char err[256];
    if (avro_codec_decode_state(fc->codec, val, vlen, fc->st, err, sizeof(err)) != DLQ_OK) {
        fprintf(stderr, "store %.*s: %s\n", (int)clen, customer, err);
        fc->rc = -1;
        return 1;
    }
    json_t *j = eng_json_state(fc->st);
    char *line = eng_json_line(j);
    lk_lines_add(fc->out, line, strlen(line));
    free(line);
    json_decref(j);
    return 0;
}

int lk_collect_store(lk_scenario_t *s, const char *instance, lk_lines_t *out)
{
    char dir[300], err[512];
    snprintf(dir, sizeof(dir), "%s/state-%s", s->dir, instance);
    store_config_t sc;
    store_config_default(&sc);
    sc.dir = dir;
    sc.read_only = true;
    store_t *st = store_new(&sc, 0, err, sizeof(err));
    if (!st) {
        fprintf(stderr, "store %s: %s\n", dir, err);
        return -1;
    }
    foreach_ctx_t fc = {.codec = codec_new(s), .st = malloc(sizeof(eng_state_t)), .out = out};
    int32_t parts[256];
    size_t np = 0;
    store_tasks(st, parts, 256, &np);
    for (size_t i = 0; fc.rc == 0 && i < np; i++) {
        store_task_t *t = store_task_open(st, parts[i], err, sizeof(err));
        if (!t || store_task_foreach(t, store_visit, &fc, err, sizeof(err)) != 0) {
            fprintf(stderr, "store %s task %d: %s\n", dir, (int)parts[i], err);
            fc.rc = -1;
        }
    }
    free(fc.st);
    avro_codec_destroy(fc.codec);
    store_destroy(st);
    lk_lines_sort(out);
    return fc.rc;
}

long lk_restored_in_log(lk_scenario_t *s, const char *instance)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/%s.log", s->dir, instance);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[4096];
    long total = 0;
    while (fgets(line, sizeof(line), f)) {
        const char *p = strstr(line, "msg=\"task restored: processing\"");
        const char *r = p ? strstr(p, "restored_records=") : NULL;
        if (r)
            total += atol(r + strlen("restored_records="));
    }
    fclose(f);
    return total;
}

void lk_scenario_free(lk_scenario_t *s)
{
    sr_client_destroy(s->registry);
    s->registry = NULL;
    free(s->events);
    free(s->part_of);
    char cmd[300];
    if (!getenv("LS_KEEP_TEST_DIRS")) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", s->dir);
    }
}

int lk_check_replay(lk_scenario_t *s, const lk_lines_t *outputs, const lk_lines_t *states)
{
    lk_lines_t got = {0};
    int diff = lk_collect_outputs(s, &got) != 0 || lk_lines_diff(outputs, &got, "output");
    lk_lines_free(&got);
    diff |= lk_collect_changelog(s, &got) != 0 || lk_lines_diff(states, &got, "changelog state");
    lk_lines_free(&got);
    return diff;
}
