/* Unit tests of cfg: the configuration table, file, environment and errors. */
#include "cfg.h"

#include <librdkafka/rdkafka.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static char path[64];

static void write_file(const char *text)
{
    snprintf(path, sizeof(path), "/tmp/test_cfg_%d.properties", (int)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int load(cfg_t **out, const char *text, char *const *envp, char *err, size_t errlen)
{
    write_file(text);
    *out = cfg_new_defaults();
    assert_non_null(*out);
    int rc = cfg_load(*out, path, envp, err, errlen);
    unlink(path);
    return rc;
}

static void test_file_values_override_defaults(void **state)
{
    (void)state;
    cfg_t *c;
    char err[512] = "";
    int rc = load(&c,
                  "# comment\n\nbootstrap.servers = k1:9092,k2:9092\nprogram.file=/p.yaml\n"
                  "commit.interval.ms = 250\nclock = stream\nmemory.budget.bytes = 64MiB\n"
                  "topics.create = true\nkafka.security.protocol = SASL_SSL\n",
                  NULL, err, sizeof(err));
    assert_int_equal(rc, 0);
    assert_string_equal(c->bootstrap_servers, "k1:9092,k2:9092");
    assert_int_equal(c->commit_interval_ms, 250);
    assert_int_equal(c->commit_max_records, 10000);    /* default kept */
    assert_int_equal(c->commit_max_bytes, 8 << 20);    /* default kept */
    assert_int_equal(c->time_max_future_ms, 86400000); /* one day */
    assert_int_equal(c->clock, CFG_CLOCK_STREAM);
    assert_int_equal(c->memory_budget_bytes, 64 << 20);
    assert_true(c->topics_create);
    assert_string_equal(c->topic_out[ENG_OUT_BONUS_EARNED], "loyalty.bonuses");
    assert_int_equal(c->n_kafka, 1);
    assert_string_equal(c->kafka[0].key, "security.protocol");
    char buf[128];
    assert_string_equal(cfg_changelog_topic(c, buf, sizeof(buf)), "loyalty-stream-changelog");
    cfg_destroy(c);
}

static void test_environment_overrides_file_and_sets_kafka_keys(void **state)
{
    (void)state;
    char *envp[] = {"LOYALTY_BOOTSTRAP_SERVERS=env:1",
                    "LOYALTY_INSTANCE_ID=pod-3",
                    "LOYALTY_TOPIC_TIER_CHANGED=tiers",
                    "LOYALTY_KAFKA_SASL_USERNAME=alice",
                    "UNRELATED=1",
                    NULL};
    cfg_t *c;
    char err[512] = "";
    assert_int_equal(load(&c, "bootstrap.servers=file:1\nprogram.file=p\n", envp, err, sizeof(err)),
                     0);
    assert_string_equal(c->bootstrap_servers, "env:1");
    assert_string_equal(c->instance_id, "pod-3");
    assert_string_equal(c->topic_out[ENG_OUT_TIER_CHANGED], "tiers");
    assert_int_equal(c->n_kafka, 1);
    assert_string_equal(c->kafka[0].key, "sasl.username");
    assert_string_equal(c->kafka[0].value, "alice");
    cfg_destroy(c);
}

static void test_unknown_key_names_line_and_suggests(void **state)
{
    (void)state;
    cfg_t *c;
    char err[512] = "";
    assert_int_equal(
        load(&c, "bootstrap.servers=x\n\ncommit.intervall.ms = 5\n", NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":3: unknown key 'commit.intervall.ms'"));
    assert_non_null(strstr(err, "did you mean 'commit.interval.ms'"));
    cfg_destroy(c);
}

static void test_bad_values_and_ranges_are_refused_with_line(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"commit.interval.ms = fast\n", ":1: key 'commit.interval.ms': 'fast' is not an integer"},
        {"x=1\n", "unknown key 'x'"},
        {"\ncommit.max.records = 0\n", ":2: key 'commit.max.records': 0 is out of range"},
        {"clock = lunar\n", "'lunar' is not one of wall|stream"},
        {"time.max.future.ms = -1\n", "key 'time.max.future.ms': -1 is out of range"},
        {"topics.create = yes\n", "'yes' is not true or false"},
        {"memory.budget.bytes = 12 parsecs\n", "is not a size"},
        {"just a line\n", ":1: expected 'key = value'"},
        {"kafka.group.id = other\n", "the processor sets group.id itself"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cfg_t *c;
        char err[512] = "";
        assert_int_equal(load(&c, cases[i].text, NULL, err, sizeof(err)), -1);
        if (!strstr(err, cases[i].want))
            fail_msg("case %zu: got '%s', want '%s'", i, err, cases[i].want);
        cfg_destroy(c);
    }
}

static void test_missing_required_key_names_env_variable(void **state)
{
    (void)state;
    cfg_t *c;
    char err[512] = "";
    assert_int_equal(load(&c, "program.file = p\n", NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "'bootstrap.servers' is required"));
    assert_non_null(strstr(err, "LOYALTY_BOOTSTRAP_SERVERS"));
    cfg_destroy(c);
}

static void test_input_topic_cannot_be_an_output(void **state)
{
    (void)state;
    cfg_t *c;
    char err[512] = "";
    assert_int_equal(load(&c, "bootstrap.servers=b\nprogram.file=p\ntopic.bonus-earned=purchases\n",
                          NULL, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "both the input and an output"));
    cfg_destroy(c);
}

static void test_librdkafka_rejects_bad_passthrough_with_origin(void **state)
{
    (void)state;
    cfg_t *c;
    char err[512] = "";
    assert_int_equal(load(&c, "bootstrap.servers=b\nprogram.file=p\nkafka.no.such.thing=1\n", NULL,
                          err, sizeof(err)),
                     0);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(cfg_apply_kafka(c, conf, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":3: key 'kafka.no.such.thing': librdkafka:"));
    rd_kafka_conf_destroy(conf);
    cfg_destroy(c);
}

static void test_markdown_lists_every_key(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cfg_print_markdown(f);
    fclose(f);
    assert_non_null(strstr(buf, "| `bootstrap.servers` | string | **required** |"));
    assert_non_null(strstr(buf, "| `clock` | wall\\|stream | `wall` |"));
    free(buf);
}

static void test_query_listener_is_off_and_loopback_by_default(void **state)
{
    (void)state;
    cfg_t *c;
    char err[512] = "";
    assert_int_equal(load(&c, "bootstrap.servers=k:1\nprogram.file=/p\n", NULL, err, sizeof err),
                     0);
    assert_int_equal(c->http_query_port, -1);
    assert_string_equal(c->http_query_bind, "127.0.0.1");
    assert_string_equal(c->http_bind, "0.0.0.0");
    http_query_listener_t q = cfg_http_queries(c);
    assert_false(q.enabled);
    cfg_destroy(c);
    assert_int_equal(load(&c,
                          "bootstrap.servers=k:1\nprogram.file=/p\nhttp.query.port=8081\n"
                          "http.query.idle.timeout.ms=2500\n",
                          NULL, err, sizeof err),
                     0); /* loopback: no token needed */
    q = cfg_http_queries(c);
    assert_true(q.enabled);
    assert_int_equal(q.port, 8081);
    assert_string_equal(q.bind_address, "127.0.0.1");
    assert_int_equal(q.timeout_s, 3);
    assert_int_equal(q.max_connections, 64);
    assert_int_equal(q.max_per_client, 8);
    cfg_destroy(c);
}

static void test_exposed_query_listener_needs_a_readable_token_file(void **state)
{
    (void)state;
    cfg_t *c;
    char err[512] = "";
    const char *base = "bootstrap.servers=k:1\nprogram.file=/p\nhttp.query.port=8081\n";
    char text[512];
    snprintf(text, sizeof text, "%shttp.query.bind=0.0.0.0\n", base);
    assert_int_equal(load(&c, text, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "key 'http.query.token.file' is required"));
    assert_non_null(strstr(err, "0.0.0.0"));
    cfg_destroy(c);

    snprintf(text, sizeof text, "%shttp.query.bind=::\nhttp.query.token.file=/nonexistent/t\n",
             base);
    assert_int_equal(load(&c, text, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "key 'http.query.token.file': cannot read the token file "
                                "/nonexistent/t"));
    cfg_destroy(c);

    char tok[64];
    snprintf(tok, sizeof tok, "/tmp/test_cfg_token_%d", (int)getpid());
    FILE *f = fopen(tok, "w");
    assert_non_null(f);
    fputs("s3cret\n", f);
    fclose(f);
    snprintf(text, sizeof text, "%shttp.query.bind=0.0.0.0\nhttp.query.token.file=%s\n", base, tok);
    assert_int_equal(load(&c, text, NULL, err, sizeof err), 0);
    assert_true(cfg_http_queries(c).enabled);
    cfg_destroy(c);
    unlink(tok);

    snprintf(text, sizeof text, "%shttp.port=8081\n", base);
    assert_int_equal(load(&c, text, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "key 'http.query.port'"));
    cfg_destroy(c);
    snprintf(text, sizeof text, "%shttp.port=-1\n", base);
    assert_int_equal(load(&c, text, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "key 'http.query.port'"));
    cfg_destroy(c);
    snprintf(text, sizeof text, "%shttp.query.bind=localhost\n", base);
    assert_int_equal(load(&c, text, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "key 'http.query.bind'"));
    cfg_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_values_override_defaults),
        cmocka_unit_test(test_environment_overrides_file_and_sets_kafka_keys),
        cmocka_unit_test(test_unknown_key_names_line_and_suggests),
        cmocka_unit_test(test_bad_values_and_ranges_are_refused_with_line),
        cmocka_unit_test(test_missing_required_key_names_env_variable),
        cmocka_unit_test(test_input_topic_cannot_be_an_output),
        cmocka_unit_test(test_librdkafka_rejects_bad_passthrough_with_origin),
        cmocka_unit_test(test_markdown_lists_every_key),
        cmocka_unit_test(test_query_listener_is_off_and_loopback_by_default),
        cmocka_unit_test(test_exposed_query_listener_needs_a_readable_token_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
