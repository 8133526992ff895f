/*
 * Tests of schemas/sr (the registry client) and of the codec with a registry, against
 * test_sr_server (an in-process Confluent-compatible registry of the endpoints we use).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "avro_codec.h"
#include "avro_json.h"
#include "frame.h"
#include "sr.h"
#include "test_sr_server.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *schema_a = "{\"type\":\"record\",\"name\":\"A\",\"fields\":[]}";
static const char *schema_b = "{\"type\":\"record\",\"name\":\"B\",\"fields\":[]}";
static char err[512], msg[512];

typedef struct fixture {
    test_sr_server_t *srv;
    sr_client_t *sr;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    f->srv = test_sr_server_start();
    if (!f->srv)
        return -1;
    f->sr = sr_client_new(test_sr_server_url(f->srv), 2000, err, sizeof(err));
    *state = f;
    return f->sr ? 0 : -1;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    sr_client_destroy(f->sr);
    test_sr_server_stop(f->srv);
    free(f);
    return 0;
}

static void test_register_returns_an_id_and_is_cached(void **state)
{
    fixture_t *f = *state;
    int32_t id1 = 0, id2 = 0;
    assert_int_equal(sr_register(f->sr, "t-value", schema_a, &id1, err, sizeof(err)), SR_OK);
    assert_true(id1 >= 1000);
    unsigned before = test_sr_server_requests(f->srv);
    assert_int_equal(sr_register(f->sr, "t-value", schema_a, &id2, err, sizeof(err)), SR_OK);
    assert_int_equal(id1, id2);
    assert_int_equal(test_sr_server_requests(f->srv), before); /* answered from the cache */
    assert_int_equal(sr_client_requests(f->sr), 1);
}

static void test_lookup_finds_registered_schemas_only(void **state)
{
    fixture_t *f = *state;
    int32_t id = 0, found = 0;
    id = test_sr_server_add(f->srv, "u-value", schema_a);
    assert_int_equal(sr_lookup(f->sr, "u-value", schema_a, &found, err, sizeof(err)), SR_OK);
    assert_int_equal(found, id);
    assert_int_equal(sr_lookup(f->sr, "u-value", schema_b, &found, err, sizeof(err)), SR_NOT_FOUND);
    assert_int_equal(sr_lookup(f->sr, "nobody-value", schema_a, &found, err, sizeof(err)),
                     SR_NOT_FOUND);
}

static void test_schema_by_id_is_fetched_once(void **state)
{
    fixture_t *f = *state;
    const char *text;
    int32_t id = test_sr_server_add(f->srv, "v-value", schema_b);
    assert_int_equal(sr_schema_by_id(f->sr, id, &text, err, sizeof(err)), SR_OK);
    assert_string_equal(text, schema_b);
    unsigned before = test_sr_server_requests(f->srv);
    assert_int_equal(sr_schema_by_id(f->sr, id, &text, err, sizeof(err)), SR_OK);
    assert_int_equal(test_sr_server_requests(f->srv), before);
    assert_int_equal(sr_schema_by_id(f->sr, 99999, &text, err, sizeof(err)), SR_NOT_FOUND);
}

static void test_failing_or_absent_registry_is_unavailable(void **state)
{
    fixture_t *f = *state;
    int32_t id;
    const char *text;
    test_sr_server_fail(f->srv, 1);
    assert_int_equal(sr_register(f->sr, "w-value", schema_b, &id, err, sizeof(err)),
                     SR_UNAVAILABLE);
    test_sr_server_fail(f->srv, 0);
    sr_client_t *nowhere = sr_client_new("http://127.0.0.1:1", 500, err, sizeof(err));
    assert_int_equal(sr_schema_by_id(nowhere, 1, &text, err, sizeof(err)), SR_UNAVAILABLE);
    sr_client_destroy(nowhere);
    assert_null(sr_client_new("ftp://x", 0, err, sizeof(err)));
}

static void test_subject_follows_topic_name_strategy(void **state)
{
    (void)state;
    char b[64];
    assert_int_equal(sr_subject_for_topic("loyalty.bonuses", b, sizeof(b)), 0);
    assert_string_equal(b, "loyalty.bonuses-value");
}

/* ------------------------------------------------------------------ codec + registry */

static avro_codec_t *codec_with(fixture_t *f)
{
    avro_codec_config_t cfg;
    avro_codec_config_defaults(&cfg);
    cfg.registry = f->sr;
    avro_codec_t *c = avro_codec_new(&cfg, err, sizeof(err));
    assert_non_null(c);
    return c;
}

static void test_codec_registers_every_schema_under_its_topic(void **state)
{
    fixture_t *f = *state;
    avro_codec_t *c = codec_with(f);
    int32_t id;
    assert_int_equal(avro_codec_register_schemas(c, err, sizeof(err)), 0);
    for (int t = 0; t < AVRO_CODEC_TYPE_COUNT; t++) {
        char subject[128];
        sr_subject_for_topic(avro_codec_topic(c, t), subject, sizeof(subject));
        assert_int_equal(
            sr_lookup(f->sr, subject, avro_codec_schema_json(t), &id, err, sizeof(err)), SR_OK);
        assert_int_equal(id, avro_codec_schema_id(c, t));
    }
    eng_output_t o;
    const uint8_t *buf, *payload;
    size_t len, plen;
    memset(&o, 0, sizeof(o));
    o.kind = ENG_OUT_POINTS_EXPIRED;
    assert_int_equal(avro_codec_encode_output(c, &o, &buf, &len, err, sizeof(err)), 0);
    assert_int_equal(frame_parse(buf, len, &id, &payload, &plen), FRAME_OK);
    assert_int_equal(id, avro_codec_schema_id(c, ENG_OUT_POINTS_EXPIRED));
    assert_true(id >= 1000); /* the registry's id, not the configured 104 */
    avro_codec_destroy(c);
}

/* A framed purchase written by a producer whose schema adds a field; id from the server. */
static size_t newer_producer_record(fixture_t *f, uint8_t *buf, size_t cap, int32_t *id)
{
    json_t *root = json_loads(avro_codec_schema_json(AVRO_CODEC_TYPE_INPUT), 0, NULL);
    json_array_append_new(
        json_object_get(root, "fields"),
        json_pack("{s:s,s:s,s:s}", "name", "channel", "type", "string", "default", "web"));
    char *schema = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    *id = test_sr_server_add(f->srv, "purchases-value", schema);
    avro_schema_t ws;
    assert_int_equal(avro_schema_from_json_length(schema, strlen(schema), &ws), 0);
    avro_value_iface_t *iface = avro_generic_class_from_schema(ws);
    avro_value_t v;
    avro_generic_value_new(iface, &v);
    assert_int_equal(
        avro_json_to_value("{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"time\":1,"
                           "\"currency\":\"GBP\",\"channel\":\"till\",\"payload\":{\"Purchase\":"
                           "{\"partner\":\"\",\"lines\":[{\"sku\":\"lamp\",\"category\":\"home\","
                           "\"quantity\":100,\"amount\":100000,\"on_sale\":false}]}}}",
                           &v, err, sizeof(err)),
        0);
    avro_writer_t w = avro_writer_memory((char *)buf + 5, (int64_t)cap - 5);
    assert_int_equal(avro_value_write(w, &v), 0);
    size_t len = 5 + (size_t)avro_writer_tell(w);
    frame_write_header(buf, *id);
    avro_writer_free(w);
    avro_value_decref(&v);
    avro_value_iface_decref(iface);
    avro_schema_decref(ws);
    free(schema);
    return len;
}

static void test_codec_reads_a_newer_producer_schema_fetched_once(void **state)
{
    fixture_t *f = *state;
    avro_codec_t *c = codec_with(f);
    uint8_t buf[1024];
    int32_t id;
    eng_event_t ev;
    size_t len = newer_producer_record(f, buf, sizeof(buf), &id);
    unsigned before = test_sr_server_requests(f->srv);
    for (int i = 0; i < 3; i++) {
        dlq_reason_t r = avro_codec_decode_event(c, "c1", 2, buf, len, &ev, msg, sizeof(msg));
        if (r != DLQ_OK)
            fail_msg("%s: %s", dlq_reason_name(r), msg);
    }
    assert_int_equal(test_sr_server_requests(f->srv), before + 1);
    assert_int_equal(ev.lines[0].quantity, 100);
    assert_string_equal(ev.currency, "GBP");
    avro_codec_destroy(c);
}

static void test_codec_unknown_id_is_a_dead_letter_asked_once(void **state)
{
    fixture_t *f = *state;
    avro_codec_t *c = codec_with(f);
    uint8_t buf[16] = {0, 0, 1, 0x86, 0xA0, 2, 'x'}; /* id 100000 */
    eng_event_t ev;
    unsigned before = test_sr_server_requests(f->srv);
    assert_int_equal(avro_codec_decode_event(c, NULL, 0, buf, 7, &ev, msg, sizeof(msg)),
                     DLQ_UNKNOWN_SCHEMA_ID);
    assert_int_equal(avro_codec_decode_event(c, NULL, 0, buf, 7, &ev, msg, sizeof(msg)),
                     DLQ_UNKNOWN_SCHEMA_ID);
    assert_int_equal(test_sr_server_requests(f->srv), before + 1);
    avro_codec_destroy(c);
}

static void test_codec_registry_outage_is_retriable_not_a_dead_letter(void **state)
{
    fixture_t *f = *state;
    avro_codec_t *c = codec_with(f);
    uint8_t buf[1024];
    int32_t id;
    eng_event_t ev;
    size_t len = newer_producer_record(f, buf, sizeof(buf), &id);
    test_sr_server_fail(f->srv, 1);
    dlq_reason_t r = avro_codec_decode_event(c, NULL, 0, buf, len, &ev, msg, sizeof(msg));
    assert_int_equal(r, DLQ_REGISTRY_UNAVAILABLE);
    assert_true(dlq_reason_is_retriable(r));
    test_sr_server_fail(f->srv, 0);
    assert_int_equal(avro_codec_decode_event(c, NULL, 0, buf, len, &ev, msg, sizeof(msg)),
                     DLQ_OK); /* the failure was not cached */
    avro_codec_destroy(c);
}

/* 401, 403, 500 and a page that is not JSON are the registry (or what stands before it)
 * out of service, never a verdict on the record: retriable, not cached, and the record
 * decodes once the registry is healthy. */
static void test_codec_auth_errors_and_garbage_are_unavailable_not_dead_letters(void **state)
{
    fixture_t *f = *state;
    avro_codec_t *c = codec_with(f);
    uint8_t buf[1024];
    int32_t id;
    eng_event_t ev;
    size_t len = newer_producer_record(f, buf, sizeof(buf), &id);
    const int modes[] = {TEST_SR_401, TEST_SR_403, TEST_SR_500, TEST_SR_GARBAGE};
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        test_sr_server_fail(f->srv, modes[i]);
        dlq_reason_t r = avro_codec_decode_event(c, "c1", 2, buf, len, &ev, msg, sizeof(msg));
        if (r != DLQ_REGISTRY_UNAVAILABLE)
            fail_msg("mode %d: %s (%s), want registry_unavailable", modes[i], dlq_reason_name(r),
                     msg);
        const char *json;
        assert_int_equal(sr_schema_by_id(f->sr, id, &json, err, sizeof(err)), SR_UNAVAILABLE);
    }
    test_sr_server_fail(f->srv, TEST_SR_HEALTHY);
    dlq_reason_t r = avro_codec_decode_event(c, "c1", 2, buf, len, &ev, msg, sizeof(msg));
    if (r != DLQ_OK)
        fail_msg("healthy again: %s (%s)", dlq_reason_name(r), msg);
    avro_codec_destroy(c);
}

/* Registering while the registry answers 401 or garbage is a transient start-up failure
 * (exit 1, restarted), not a configuration error. */
static void test_register_with_auth_error_or_garbage_is_unavailable(void **state)
{
    fixture_t *f = *state;
    int32_t id;
    test_sr_server_fail(f->srv, TEST_SR_401);
    assert_int_equal(sr_register(f->sr, "t-value", schema_a, &id, err, sizeof(err)),
                     SR_UNAVAILABLE);
    test_sr_server_fail(f->srv, TEST_SR_GARBAGE);
    assert_int_equal(sr_register(f->sr, "t-value", schema_a, &id, err, sizeof(err)),
                     SR_UNAVAILABLE);
    assert_int_equal(sr_lookup(f->sr, "t-value", schema_b, &id, err, sizeof(err)), SR_UNAVAILABLE);
    test_sr_server_fail(f->srv, TEST_SR_HEALTHY);
    assert_int_equal(sr_register(f->sr, "t-value", schema_a, &id, err, sizeof(err)), SR_OK);
}

/* "Not found" is a dead letter, but only for negative_ttl_ms: a producer that registers
 * its schema after its first record gets the next records read. */
static void test_codec_unknown_id_is_asked_again_after_the_ttl(void **state)
{
    fixture_t *f = *state;
    avro_codec_config_t cfg;
    avro_codec_config_defaults(&cfg);
    cfg.registry = f->sr;
    cfg.negative_ttl_ms = 200;
    avro_codec_t *c = avro_codec_new(&cfg, err, sizeof(err));
    assert_non_null(c);
    uint8_t buf[1024];
    int32_t id;
    eng_event_t ev;
    size_t len = newer_producer_record(f, buf, sizeof(buf), &id);
    frame_write_header(buf, id + 1); /* the id the producer's schema will get next */
    assert_int_equal(avro_codec_decode_event(c, "c1", 2, buf, len, &ev, msg, sizeof(msg)),
                     DLQ_UNKNOWN_SCHEMA_ID);
    unsigned before = test_sr_server_requests(f->srv);
    assert_int_equal(avro_codec_decode_event(c, "c1", 2, buf, len, &ev, msg, sizeof(msg)),
                     DLQ_UNKNOWN_SCHEMA_ID); /* cached */
    assert_int_equal(test_sr_server_requests(f->srv), before);
    /* The producer registers its schema (the same text under another subject: a new id). */
    json_t *root = json_loads(avro_codec_schema_json(AVRO_CODEC_TYPE_INPUT), 0, NULL);
    json_array_append_new(
        json_object_get(root, "fields"),
        json_pack("{s:s,s:s,s:s}", "name", "channel", "type", "string", "default", "web"));
    char *schema = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    assert_int_equal(test_sr_server_add(f->srv, "other-value", schema), id + 1);
    free(schema);
    struct timespec pause = {0, 300 * 1000000L};
    nanosleep(&pause, NULL);
    dlq_reason_t r = avro_codec_decode_event(c, "c1", 2, buf, len, &ev, msg, sizeof(msg));
    if (r != DLQ_OK)
        fail_msg("after the TTL: %s (%s)", dlq_reason_name(r), msg);
    avro_codec_destroy(c);
}

/* Basic authentication: without credentials, or with wrong ones, the registry is
 * "unavailable" (retried, never a dead letter); with the right ones it answers. The
 * password never appears in an error message. */
static void test_basic_auth_credentials_are_sent(void **state)
{
    fixture_t *f = *state;
    test_sr_server_require_basic(f->srv, "reg:s3cret");
    int32_t id = 0;
    assert_int_equal(sr_register(f->sr, "t-value", schema_a, &id, err, sizeof(err)),
                     SR_UNAVAILABLE);
    assert_int_equal(sr_client_set_auth(f->sr, "reg:wrong", NULL, err, sizeof(err)), 0);
    assert_int_equal(sr_register(f->sr, "t-value", schema_a, &id, err, sizeof(err)),
                     SR_UNAVAILABLE);
    assert_null(strstr(err, "wrong"));
    assert_int_equal(sr_client_set_auth(f->sr, "reg:s3cret", NULL, err, sizeof(err)), 0);
    assert_int_equal(sr_register(f->sr, "t-value", schema_a, &id, err, sizeof(err)), SR_OK);
    assert_true(id > 0);
    assert_int_equal(sr_client_set_auth(f->sr, "no-colon", NULL, err, sizeof(err)), -1);
}

/* ------------------------------------------------------------------ TLS */

/* A CA, a certificate for 127.0.0.1 that it signed, and another CA that signed nothing,
 * made at test time with Debian's openssl CLI (as tests/kafka/kafka-test-broker.sh
 * --secure makes the broker's). */
typedef struct tls_files {
    char dir[64], ca[128], other_ca[128], cert[128], key[128];
} tls_files_t;

static void tls_make(tls_files_t *t)
{
    snprintf(t->dir, sizeof(t->dir), "/tmp/ls-sr-tls-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && (openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
             "-nodes -days 2 -subj /CN=loyalty-test-ca -keyout ca.key -out ca.pem && "
             "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-subj /CN=127.0.0.1 -keyout server.key -out server.csr && "
             "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' >san.ext && "
             "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
             "-extfile san.ext -out server.pem && "
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
             "-subj /CN=another-ca -keyout other.key -out other.pem) >openssl.log 2>&1 || "
             "cat openssl.log >&2",
             t->dir);
    assert_int_equal(system(cmd), 0);
    snprintf(t->ca, sizeof(t->ca), "%s/ca.pem", t->dir);
    snprintf(t->other_ca, sizeof(t->other_ca), "%s/other.pem", t->dir);
    snprintf(t->cert, sizeof(t->cert), "%s/server.pem", t->dir);
    snprintf(t->key, sizeof(t->key), "%s/server.key", t->dir);
}

static void tls_free(tls_files_t *t)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
    assert_int_equal(system(cmd), 0);
}

/* An https stand-in and a client of it trusting @p ca (NULL: the system's CAs). */
static void tls_fixture(fixture_t *f, const tls_files_t *t, const char *ca)
{
    f->srv = test_sr_server_start_tls(t->cert, t->key);
    assert_non_null(f->srv);
    assert_int_equal(strncmp(test_sr_server_url(f->srv), "https://", 8), 0);
    f->sr = sr_client_new(test_sr_server_url(f->srv), 5000, err, sizeof(err));
    assert_non_null(f->sr);
    assert_int_equal(sr_client_set_auth(f->sr, NULL, ca, err, sizeof(err)), 0);
}

/* schema.registry.ssl.ca.location: with the CA that signed the registry's certificate,
 * the client registers and fetches over TLS, and an event of a newer producer schema
 * decodes. */
static void test_tls_registry_with_its_ca_file_answers_and_events_decode(void **state)
{
    (void)state;
    tls_files_t t;
    tls_make(&t);
    fixture_t f;
    tls_fixture(&f, &t, t.ca);
    int32_t id = 0;
    if (sr_register(f.sr, "t-value", schema_a, &id, err, sizeof(err)) != SR_OK)
        fail_msg("register over TLS: %s", err);
    assert_true(id > 0);
    avro_codec_t *c = codec_with(&f);
    uint8_t buf[1024];
    eng_event_t ev;
    size_t len = newer_producer_record(&f, buf, sizeof(buf), &id);
    dlq_reason_t r = avro_codec_decode_event(c, "c1", 2, buf, len, &ev, msg, sizeof(msg));
    if (r != DLQ_OK)
        fail_msg("%s: %s", dlq_reason_name(r), msg);
    assert_int_equal(ev.lines[0].quantity, 100);
    avro_codec_destroy(c);
    sr_client_destroy(f.sr);
    test_sr_server_stop(f.srv);
    tls_free(&t);
}

/* Without the CA file (the system's CAs) or with another CA, the registry's certificate
 * is not trusted: "unavailable" (retried, never a dead letter) with an error that says
 * why and names the setting; with the right CA the same record then decodes. */
static void test_tls_registry_without_or_with_another_ca_is_unavailable(void **state)
{
    (void)state;
    tls_files_t t;
    tls_make(&t);
    const char *cas[] = {NULL, t.other_ca};
    for (int i = 0; i < 2; i++) {
        fixture_t f;
        tls_fixture(&f, &t, cas[i]);
        int32_t id = 0;
        assert_int_equal(sr_register(f.sr, "t-value", schema_a, &id, err, sizeof(err)),
                         SR_UNAVAILABLE);
        if (!strstr(err, "certificate") || !strstr(err, "schema.registry.ssl.ca.location"))
            fail_msg("CA %s: the error does not say why: %s", cas[i] ? cas[i] : "(system)", err);
        avro_codec_t *c = codec_with(&f);
        uint8_t buf[1024];
        eng_event_t ev;
        size_t len = newer_producer_record(&f, buf, sizeof(buf), &id);
        dlq_reason_t r = avro_codec_decode_event(c, "c1", 2, buf, len, &ev, msg, sizeof(msg));
        if (r != DLQ_REGISTRY_UNAVAILABLE)
            fail_msg("CA %s: %s (%s), want registry_unavailable", cas[i] ? cas[i] : "(system)",
                     dlq_reason_name(r), msg);
        assert_true(dlq_reason_is_retriable(r));
        assert_int_equal(sr_client_set_auth(f.sr, NULL, t.ca, err, sizeof(err)), 0);
        r = avro_codec_decode_event(c, "c1", 2, buf, len, &ev, msg, sizeof(msg));
        if (r != DLQ_OK) /* the failure was not cached */
            fail_msg("with the right CA: %s (%s)", dlq_reason_name(r), msg);
        avro_codec_destroy(c);
        sr_client_destroy(f.sr);
        test_sr_server_stop(f.srv);
    }
    tls_free(&t);
}

/* A CA file that cannot be read is refused when it is set (a configuration error at
 * start-up, exit 2), not found out at every request. */
static void test_unreadable_ca_file_is_refused_naming_the_setting(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(
        sr_client_set_auth(f->sr, NULL, "/nonexistent/registry-ca.pem", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "schema.registry.ssl.ca.location"));
    assert_non_null(strstr(err, "/nonexistent/registry-ca.pem"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_register_returns_an_id_and_is_cached, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookup_finds_registered_schemas_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_by_id_is_fetched_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failing_or_absent_registry_is_unavailable, setup,
                                        teardown),
        cmocka_unit_test(test_subject_follows_topic_name_strategy),
        cmocka_unit_test_setup_teardown(test_codec_registers_every_schema_under_its_topic, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_codec_reads_a_newer_producer_schema_fetched_once,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_codec_unknown_id_is_a_dead_letter_asked_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_codec_registry_outage_is_retriable_not_a_dead_letter,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_codec_auth_errors_and_garbage_are_unavailable_not_dead_letters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_with_auth_error_or_garbage_is_unavailable,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_basic_auth_credentials_are_sent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_codec_unknown_id_is_asked_again_after_the_ttl, setup,
                                        teardown),
        cmocka_unit_test(test_tls_registry_with_its_ca_file_answers_and_events_decode),
        cmocka_unit_test(test_tls_registry_without_or_with_another_ca_is_unavailable),
        cmocka_unit_test_setup_teardown(test_unreadable_ca_file_is_refused_naming_the_setting,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
