/*
 * Hostile records on the real broker: `loyalty-stream run` (clock = stream) meets records
 * a careless or broken producer writes, between ordinary traffic, and must dead-letter
 * each with a reason, keep processing the partition, never exit, and end with outputs
 * and states equal to replay's over the ordinary traffic alone (so nothing of a hostile
 * record leaked into a customer's state or the task's clock):
 *  (a) event times of INT64_MAX, the year 2199 and ten years ahead (future_time), and a
 *      restart after them that neither hangs nor expires lots;
 *  (b) a record larger than the dead-letter topic accepts (too_large, the value cut);
 *  (c) a record without a key and one whose key is another customer (no_key,
 *      key_mismatch), and no customer with state in two tasks;
 *  (d) a schema registry that answers 401, then 500, then garbage, then is healthy: no
 *      dead letter, no exit after more than 20 aborted tries, everything processed once
 *      it is healthy.
 */
#include "avro_codec.h"
#include "eng.h"
#include "frame.h"
#include "keypart.h"
#include "lkcheck.h"
#include "lskit.h"
#include "test_sr_server.h"
#include "testkit.h"

#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static char bootstrap[512];
static const char *const inst_a[] = {"a", NULL}; /* the instance every scenario runs */

static int setup(void **state)
{
    (void)state;
    return tk_processor_setup(bootstrap, sizeof(bootstrap));
}

/* ------------------------------------------------------------------ producing */

/* The customer's partition by the producer contract (murmur2, as lk_produce places it). */
static int32_t partition_of(const char *customer, int partitions)
{
    return keypart_of(customer, strlen(customer), partitions);
}

/* A purchase of @p customer at @p time_ms. */
static void purchase(eng_event_t *ev, const char *id, const char *customer, int64_t time_ms)
{
    memset(ev, 0, sizeof(*ev));
    snprintf(ev->event_id, sizeof(ev->event_id), "%s", id);
    snprintf(ev->customer_id, sizeof(ev->customer_id), "%s", customer);
    snprintf(ev->currency, sizeof(ev->currency), "RUB");
    ev->kind = ENG_EV_PURCHASE;
    ev->time_ms = time_ms;
    ev->n_lines = 1;
    snprintf(ev->lines[0].sku, sizeof(ev->lines[0].sku), "sku-1");
    snprintf(ev->lines[0].category, sizeof(ev->lines[0].category), "lenses");
    ev->lines[0].quantity = 1;
    ev->lines[0].amount = 500000;
}

/* Produce @p n events to their partitions: key @p key (NULL = the event's customer id;
 * "" = no key at all), framed with schema id @p schema_id (0 = the contract's). */
static void produce_events(lk_scenario_t *s, const eng_event_t *evs, const int32_t *parts, size_t n,
                           const char *key, int32_t schema_id)
{
    char err[512];
    avro_codec_config_t cc;
    avro_codec_config_defaults(&cc);
    avro_codec_t *c = avro_codec_new(&cc, err, sizeof(err));
    assert_non_null(c);
    const char *kv[] = {"enable.idempotence", "true", "linger.ms", "5", NULL};
    rd_kafka_t *p = tk_client_new(RD_KAFKA_PRODUCER, s->bootstrap, kv);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *buf;
        size_t len;
        if (avro_codec_encode_event(c, &evs[i], &buf, &len, err, sizeof(err)) != 0)
            fail_msg("encode %s: %s", evs[i].event_id, err);
        uint8_t *copy = malloc(len);
        memcpy(copy, buf, len);
        if (schema_id)
            frame_write_header(copy, schema_id);
        const char *k = key ? (key[0] ? key : NULL) : evs[i].customer_id;
        rd_kafka_resp_err_t e;
        while ((e = rd_kafka_producev(p, RD_KAFKA_V_TOPIC(s->input), RD_KAFKA_V_PARTITION(parts[i]),
                                      RD_KAFKA_V_KEY(k, k ? strlen(k) : 0),
                                      RD_KAFKA_V_VALUE(copy, len),
                                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) ==
               RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(p, 10);
        free(copy);
        if (e)
            fail_msg("produce: %s", rd_kafka_err2str(e));
    }
    assert_int_equal(rd_kafka_flush(p, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(p);
    avro_codec_destroy(c);
}

/* ------------------------------------------------------------------ dead letters */

typedef struct dead_letter {
    int32_t partition;
    char reason[64], orig_reason[64], size[32];
    bool has_key;
    size_t value_len;
    uint8_t *value;
} dead_letter_t;

static void header(const rd_kafka_message_t *m, const char *name, char *out, size_t outlen)
{
    rd_kafka_headers_t *h = NULL;
    const void *v;
    size_t n;
    out[0] = '\0';
    if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        rd_kafka_header_get_last(h, name, &v, &n) == RD_KAFKA_RESP_ERR_NO_ERROR)
        snprintf(out, outlen, "%.*s", (int)n, (const char *)v);
}

/* Every committed record of the dead-letter topic, with its headers. */
static dead_letter_t *read_dead_letters(lk_scenario_t *s, size_t *n)
{
    const char *kv[] = {"group.id",
                        "hostile-dlq-reader",
                        "enable.partition.eof",
                        "true",
                        "isolation.level",
                        "read_committed",
                        "auto.offset.reset",
                        "earliest",
                        NULL};
    rd_kafka_t *c = tk_client_new(RD_KAFKA_CONSUMER, s->bootstrap, kv);
    assert_non_null(c);
    int parts = tk_partition_count(c, s->dlq);
    assert_true(parts > 0);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(parts);
    for (int p = 0; p < parts; p++)
        rd_kafka_topic_partition_list_add(l, s->dlq, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    assert_int_equal(rd_kafka_assign(c, l), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(l);
    dead_letter_t *v = calloc(64, sizeof(*v));
    *n = 0;
    int eofs = 0;
    time_t start = time(NULL);
    while (eofs < parts && time(NULL) - start < 60) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 500);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
            eofs++;
        else if (!m->err && *n < 64) {
            dead_letter_t *d = &v[(*n)++];
            d->partition = m->partition;
            d->has_key = m->key != NULL;
            d->value_len = m->len;
            d->value = malloc(m->len + 1);
            memcpy(d->value, m->payload, m->len);
            header(m, "dlq.reason", d->reason, sizeof(d->reason));
            header(m, "dlq.original.reason", d->orig_reason, sizeof(d->orig_reason));
            header(m, "dlq.original.size", d->size, sizeof(d->size));
        }
        rd_kafka_message_destroy(m);
    }
    assert_int_equal(eofs, parts);
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return v;
}

static void dead_letters_free(dead_letter_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].value);
    free(v);
}

static int64_t wall_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------ the tests */

/* Under the stream clock, an event of INT64_MAX used to hang the partition (and every
 * restart, through the committed stream time), one of 2199 to move the clock before the
 * engine refused it, and one ten years ahead to expire every lot. Each is a dead letter
 * now, and the results equal replay's without them, before and after a restart. */
static void test_bad_event_times_are_dead_lettered_and_move_no_clock(void **state)
{
    (void)state;
    lk_scenario_t s;
    expect_t e;
    assert_int_equal(lk_scenario_new(&s, "badtime", bootstrap, 2, 1000, 100, 7), 0);
    assert_int_equal(lk_produce(&s, 0, s.n_events / 2), 0);
    const int64_t times[] = {INT64_MAX, INT64_C(7239628800000) /* 2199-06-01 */,
                             wall_now_ms() + INT64_C(3650) * 86400000};
    eng_event_t bad[3];
    int32_t parts[3];
    for (int i = 0; i < 3; i++) {
        char id[32];
        snprintf(id, sizeof(id), "bad-time-%d", i);
        purchase(&bad[i], id, "cust-0001", times[i]);
        parts[i] = partition_of("cust-0001", s.partitions);
    }
    produce_events(&s, bad, parts, 3, NULL, 0);
    assert_int_equal(lk_produce(&s, s.n_events / 2, s.n_events), 0);
    expect_from_replay(&s, &e);
    run_until_done(&s, &e, "a", NULL);
    check_equal(&s, &e, inst_a);
    size_t n = 0;
    dead_letter_t *dl = read_dead_letters(&s, &n);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(dl[i].reason, "future_time");
    dead_letters_free(dl, n);
    /* A restart reads the committed stream time back: it neither hangs nor fires timers. */
    int pid = lk_start(&s, "a", NULL);
    assert_true(pid > 0);
    sleep(8);
    stop_cleanly(&s, pid);
    check_equal(&s, &e, inst_a);
    expect_free(&e);
    lk_scenario_free(&s);
}

/* A record larger than the dead-letter topic accepts used to fail its produce in every
 * retry of the transaction until the processor exited (and met it again after the
 * restart). Now its value is cut to fit and the headers say so. */
static void test_oversized_record_is_dead_lettered_cut_to_fit(void **state)
{
    (void)state;
    lk_scenario_t s;
    expect_t e;
    assert_int_equal(lk_scenario_new(&s, "oversized", bootstrap, 2, 1000, 100, 8), 0);
    const char *small[] = {"max.message.bytes", "65536", NULL};
    assert_int_equal(tk_create_topic(bootstrap, s.dlq, 2, 1, small), 0);
    assert_int_equal(lk_produce(&s, 0, s.n_events / 2), 0);
    size_t big_len = 200000;
    uint8_t *big = malloc(big_len);
    for (size_t i = 0; i < big_len; i++)
        big[i] = (uint8_t)(i * 7 + 1); /* big[0] = 1: not the Confluent magic byte */
    assert_int_equal(
        lk_produce_raw(&s, partition_of("cust-0001", s.partitions), "cust-0001", big, big_len), 0);
    assert_int_equal(lk_produce(&s, s.n_events / 2, s.n_events), 0);
    expect_from_replay(&s, &e);
    run_until_done(&s, &e, "a", NULL);
    check_equal(&s, &e, inst_a);
    size_t n = 0;
    dead_letter_t *dl = read_dead_letters(&s, &n);
    assert_int_equal(n, 1);
    assert_string_equal(dl[0].reason, "too_large");
    assert_string_equal(dl[0].orig_reason, "bad_magic");
    assert_string_equal(dl[0].size, "200000");
    assert_true(dl[0].value_len > 0 && dl[0].value_len < 65536);
    assert_memory_equal(dl[0].value, big, dl[0].value_len); /* the original's beginning */
    dead_letters_free(dl, n);
    free(big);
    expect_free(&e);
    lk_scenario_free(&s);
}

/* A record without a key (spread over partitions by the producer) used to start a second
 * state for its customer in another task; a key of another customer was only checked
 * when present. Both are dead letters now, and every customer's changelog records are
 * in one partition. */
static void test_keyless_and_mismatched_records_are_dead_lettered(void **state)
{
    (void)state;
    lk_scenario_t s;
    expect_t e;
    assert_int_equal(lk_scenario_new(&s, "keys", bootstrap, 2, 1000, 100, 9), 0);
    assert_int_equal(lk_produce(&s, 0, s.n_events / 2), 0);
    int32_t home = partition_of("cust-0001", s.partitions);
    int32_t other = (home + 1) % s.partitions;
    eng_event_t ev;
    purchase(&ev, "keyless-1", "cust-0001", INT64_C(1767214800000) + 45 * INT64_C(86400000));
    produce_events(&s, &ev, &other, 1, "", 0); /* no key, in the wrong task */
    purchase(&ev, "mismatch-1", "cust-0001", INT64_C(1767214800000) + 46 * INT64_C(86400000));
    produce_events(&s, &ev, &other, 1, "cust-0002", 0);
    assert_int_equal(lk_produce(&s, s.n_events / 2, s.n_events), 0);
    expect_from_replay(&s, &e);
    run_until_done(&s, &e, "a", NULL);
    check_equal(&s, &e, inst_a);
    size_t n = 0;
    dead_letter_t *dl = read_dead_letters(&s, &n);
    assert_int_equal(n, 2);
    int no_key = 0, mismatch = 0;
    for (size_t i = 0; i < n; i++) {
        no_key += strcmp(dl[i].reason, "no_key") == 0 && !dl[i].has_key;
        mismatch += strcmp(dl[i].reason, "key_mismatch") == 0 && dl[i].has_key;
    }
    assert_int_equal(no_key, 1);
    assert_int_equal(mismatch, 1);
    dead_letters_free(dl, n);
    /* One task per customer: all of a customer's changelog records in one partition. */
    size_t nc = 0;
    tk_record_t *clog = tk_consume_all(bootstrap, s.changelog, 1, &nc);
    assert_non_null(clog);
    for (size_t i = 0; i < nc; i++)
        for (size_t j = i + 1; j < nc; j++)
            if (strcmp(clog[i].key, clog[j].key) == 0 && clog[i].partition != clog[j].partition)
                fail_msg("customer %s has state in tasks %d and %d", clog[i].key,
                         (int)clog[i].partition, (int)clog[j].partition);
    tk_records_free(clog, nc);
    expect_free(&e);
    lk_scenario_free(&s);
}

/* The producer's writer schema (our input schema in other text: a new id) is asked for
 * while the registry answers 401, then 500, then an HTML page; each used to be cached
 * as "rejected" (every event a dead letter until a restart) or to count toward the stop
 * after 20 aborts. Now the processor waits, and processes everything once it is healthy. */
static void test_registry_outage_dead_letters_nothing(void **state)
{
    (void)state;
    lk_scenario_t s;
    expect_t e;
    assert_int_equal(lk_scenario_new(&s, "registry", bootstrap, 2, 1000, 100, 10), 0);
    test_sr_server_t *srv = test_sr_server_start();
    assert_non_null(srv);
    json_t *j = json_loads(avro_codec_schema_json(AVRO_CODEC_TYPE_INPUT), 0, NULL);
    char *text = json_dumps(j, JSON_INDENT(1));
    json_decref(j);
    int32_t writer_id = test_sr_server_add(srv, "producer-value", text);
    free(text);
    assert_true(writer_id > 0);
    expect_from_replay(&s, &e);
    s.registry_url = test_sr_server_url(srv); /* outputs and states carry its ids */
    char env[256];
    snprintf(env, sizeof(env), "LOYALTY_SCHEMA_REGISTRY_URL=%s", test_sr_server_url(srv));
    char *envv[] = {env, NULL};
    int pid = lk_start(&s, "a", envv);
    assert_true(pid > 0);
    /* Our schemas are registered at start-up (one request per type); then it breaks. */
    for (int i = 0; i < 600 && test_sr_server_requests(srv) < AVRO_CODEC_TYPE_COUNT; i++)
        usleep(100000);
    assert_true(test_sr_server_requests(srv) >= AVRO_CODEC_TYPE_COUNT);
    test_sr_server_fail(srv, TEST_SR_401);
    unsigned before = test_sr_server_requests(srv);
    produce_events(&s, s.events, s.part_of, s.n_events, NULL, writer_id);
    /* Long enough for more than 20 tries (the backoff grows to 5 s): a registry that
     * stays down must not meet the stop after 20 aborted transactions in a row. */
    const int modes[] = {TEST_SR_401, TEST_SR_500, TEST_SR_GARBAGE};
    const int seconds[] = {10, 90, 10};
    for (int m = 0; m < 3; m++) {
        test_sr_server_fail(srv, modes[m]);
        sleep((unsigned)seconds[m]);
    }
    unsigned tries = test_sr_server_requests(srv) - before;
    fprintf(stderr, "the processor asked the registry %u times during the outage\n", tries);
    assert_true(tries > 20); /* it kept asking, and is still running (stopped cleanly below) */
    assert_int_equal(lk_count_outputs(&s), 0);
    test_sr_server_fail(srv, TEST_SR_HEALTHY);
    long got = lk_wait_outputs(&s, (long)e.outputs.n, 120);
    if (got != (long)e.outputs.n)
        fprintf(stderr, "outputs: %ld, want %zu (continuing to the comparison)\n", got,
                e.outputs.n);
    stop_cleanly(&s, pid);
    check_equal(&s, &e, inst_a);
    assert_int_equal(tk_count(bootstrap, s.dlq), 0);
    expect_free(&e);
    lk_scenario_free(&s);
    test_sr_server_stop(srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_event_times_are_dead_lettered_and_move_no_clock),
        cmocka_unit_test(test_oversized_record_is_dead_lettered_cut_to_fit),
        cmocka_unit_test(test_keyless_and_mismatched_records_are_dead_lettered),
        cmocka_unit_test(test_registry_outage_dead_letters_nothing),
    };
    if (getenv("LS_TEST_FILTER")) /* e.g. LS_TEST_FILTER='*registry*' */
        cmocka_set_test_filter(getenv("LS_TEST_FILTER"));
    return cmocka_run_group_tests(tests, setup, NULL);
}
