/* Unit tests of the log module: levels, key=value and JSON line formats, escaping (no
 * argument can forge a line or a field), unique keys, typed numbers, redaction. */
#include "log.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static char *capture(log_level_t min, bool json, void (*fn)(void))
{
    /* static: the stream writes through these until fclose (GCC's dangling-pointer
     * analysis cannot see that it ends here) */
    static char *buf;
    static size_t len;
    buf = NULL;
    len = 0;
    FILE *f = open_memstream(&buf, &len);
    log_configure(min, json, f);
    fn();
    fflush(f);
    fclose(f);
    log_configure(LOG_INFO, false, NULL);
    return buf;
}

static void emit_info_and_debug(void)
{
    log_info("pipe", "task started", "task=%d offset=%lld err=\"%s\"", 3, 42LL, "a b");
    log_debug("pipe", "noisy", NULL);
}

static void test_text_line_has_level_module_message_and_fields(void **state)
{
    (void)state;
    char *out = capture(LOG_INFO, false, emit_info_and_debug);
    assert_non_null(strstr(out, " level=info mod=pipe msg=\"task started\" task=3 offset=42 "
                                "err=\"a b\"\n"));
    assert_null(strstr(out, "noisy")); /* below the minimum level */
    assert_int_equal(strncmp(out, "ts=", 3), 0);
    free(out);
}

static void test_debug_level_lets_debug_lines_through(void **state)
{
    (void)state;
    char *out = capture(LOG_DEBUG, false, emit_info_and_debug);
    assert_non_null(strstr(out, "msg=\"noisy\"\n"));
    free(out);
}

static void test_json_line_turns_fields_into_members(void **state)
{
    (void)state;
    char *out = capture(LOG_INFO, true, emit_info_and_debug);
    assert_non_null(strstr(out, "\"level\":\"info\",\"mod\":\"pipe\",\"msg\":\"task started\","
                                "\"task\":3,\"offset\":42,\"err\":\"a b\"}\n"));
    free(out);
}

static void test_kv_to_json_escapes_quotes_and_control_characters(void **state)
{
    (void)state;
    char out[256];
    log_kv_to_json("path=\"/tmp/a\\\"b\" n=1", out, sizeof(out));
    assert_string_equal(out, "\"path\":\"/tmp/a\\\"b\",\"n\":1");
    log_kv_to_json("x=\"tab\there\" q=\"7\"", out, sizeof(out));
    assert_string_equal(out, "\"x\":\"tab\\there\",\"q\":\"7\"");
    log_kv_to_json("x=\"bell\a\"", out, sizeof(out));
    assert_string_equal(out, "\"x\":\"bell\\u0007\"");
}

static void test_kv_to_json_truncates_within_the_buffer(void **state)
{
    (void)state;
    char out[16];
    log_kv_to_json("key=a_long_value_that_does_not_fit", out, sizeof(out));
    assert_true(strlen(out) < sizeof(out));
}

/* ---- forging, escaping, unique keys, typed numbers, redaction ---- */

/* The id of GET /customers/<id>%0Ats=...%20level=error%20msg=%22FAKE%22, decoded. */
static const char forged_id[] = "c-1\nts=2026-01-01T00:00:00.000Z level=error msg=\"FAKE\"";

static void emit_forged(void)
{
    log_warn("http", "state query failed", "customer=\"%s\" rc=%d", forged_id, -1);
    log_warn("http", "state query failed", "customer=%s", forged_id); /* unquoted in the format */
}

static size_t count_char(const char *s, char c)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == c;
    return n;
}

static void test_forged_newline_id_produces_one_escaped_line(void **state)
{
    (void)state;
    char *out = capture(LOG_INFO, false, emit_forged);
    assert_int_equal(count_char(out, '\n'), 2); /* two calls, two lines, no more */
    char *second = strchr(out, '\n') + 1;
    const char *want = "customer=\"c-1\\nts=2026-01-01T00:00:00.000Z level=error "
                       "msg=\\\"FAKE\\\"\" rc=-1\n";
    assert_non_null(strstr(out, want));
    assert_true(strstr(out, want) < second);
    /* The unquoted value holds spaces, so it gets quotes: still one field. */
    assert_non_null(strstr(second, " customer=\"c-1\\nts=2026-01-01T00:00:00.000Z "
                                   "level=error msg=\\\"FAKE\\\"\"\n"));
    assert_int_equal(strncmp(second, "ts=", 3), 0);
    assert_null(strstr(out, "level=error mod"));
    free(out);
}

static void emit_control(void)
{
    log_error("pipe", "program error", "err=\"%s\" raw=%s utf8=%s", "line1\nline2\r\tend\x01\x7f",
              "a\xff"
              "b",
              "Gr\xc3\xbc\xc3\x9f"
              "e");
}

static void test_control_characters_and_bad_bytes_are_escaped(void **state)
{
    (void)state;
    char *out = capture(LOG_INFO, false, emit_control);
    assert_int_equal(count_char(out, '\n'), 1);
    assert_non_null(strstr(out, " err=\"line1\\nline2\\r\\tend\\x01\\x7f\" raw=\"a\\xffb\" "
                                "utf8=\"Gr\xc3\xbc\xc3\x9f"
                                "e\"\n"));
    free(out);
}

static void emit_reserved_keys(void)
{
    log_info("app", "real message", "msg=\"%s\" level=%s task=%d task=%d", "fake", "error", 1, 2);
}

static void test_text_keys_are_unique(void **state)
{
    (void)state;
    char *out = capture(LOG_INFO, false, emit_reserved_keys);
    assert_non_null(strstr(out, " level=info mod=app msg=\"real message\" msg_2=\"fake\" "
                                "level_2=error task=1 task_2=2\n"));
    free(out);
}

static void emit_json_mix(void)
{
    log_info("pipe", "mixed",
             "msg=%s ts=%s task=%d lag=%lld ratio=%.2f neg=%d name=\"%s\" "
             "zip=%s ok=%s err=\"%s\" big=%zu hex=%x",
             "again", "then", 3, -42LL, 0.5, -7, "42", "007", "true", "a\nb \"q\" \\", (size_t)9,
             255u);
    log_error("pipe", "second", "err=\"%s\"", forged_id);
}

static void test_json_lines_parse_with_unique_keys_and_typed_numbers(void **state)
{
    (void)state;
    char *out = capture(LOG_INFO, true, emit_json_mix);
    assert_int_equal(count_char(out, '\n'), 2);
    char *second = strchr(out, '\n') + 1;
    json_error_t e;
    json_t *j = json_loadb(out, (size_t)(second - out), JSON_REJECT_DUPLICATES, &e);
    if (j == NULL)
        print_error("not JSON (%s): %s\n", e.text, out);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "msg")), "mixed");
    assert_string_equal(json_string_value(json_object_get(j, "msg_2")), "again");
    assert_string_equal(json_string_value(json_object_get(j, "ts_2")), "then");
    assert_true(json_is_integer(json_object_get(j, "task")));
    assert_int_equal(json_integer_value(json_object_get(j, "task")), 3);
    assert_int_equal(json_integer_value(json_object_get(j, "lag")), -42);
    assert_int_equal(json_integer_value(json_object_get(j, "neg")), -7);
    assert_int_equal(json_integer_value(json_object_get(j, "big")), 9);
    assert_true(json_is_real(json_object_get(j, "ratio")));
    assert_true(json_real_value(json_object_get(j, "ratio")) == 0.5);
    assert_true(json_is_string(json_object_get(j, "name"))); /* quoted in the format */
    assert_true(json_is_string(json_object_get(j, "zip")));  /* 007 is not a JSON number */
    assert_true(json_is_string(json_object_get(j, "hex")));  /* ff */
    assert_true(json_is_true(json_object_get(j, "ok")));
    assert_string_equal(json_string_value(json_object_get(j, "err")), "a\nb \"q\" \\");
    json_decref(j);
    j = json_loads(second, JSON_REJECT_DUPLICATES, &e);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "err")), forged_id);
    assert_string_equal(json_string_value(json_object_get(j, "level")), "error");
    json_decref(j);
    free(out);
}

static void emit_secrets(void)
{
    log_error("run", "cannot reach https://reg:hunter2@sr.example:8081",
              "url=%s err=\"%s\" "
              "sasl.password=%s token=\"%s\" plain=%s",
              "https://user:pa55@sr.example:8081/subjects",
              "GET http://u:p@h/x: refused; retry http://h2/y", "s3cret", "abc def",
              "http://nobody.example/a@b");
}

static void test_secrets_and_url_credentials_are_not_logged(void **state)
{
    (void)state;
    for (int json = 0; json <= 1; json++) {
        char *out = capture(LOG_INFO, json, emit_secrets);
        assert_null(strstr(out, "hunter2"));
        assert_null(strstr(out, "pa55"));
        assert_null(strstr(out, "u:p@"));
        assert_null(strstr(out, "s3cret"));
        assert_null(strstr(out, "abc def"));
        assert_non_null(strstr(out, "https://***@sr.example:8081/subjects"));
        assert_non_null(strstr(out, "https://***@sr.example:8081"));
        assert_non_null(strstr(out, "http://***@h/x: refused; retry http://h2/y"));
        assert_non_null(strstr(out, "http://nobody.example/a@b")); /* '@' in the path: kept */
        assert_non_null(strstr(out, json ? "\"sasl.password\":\"***\"" : "sasl.password=***"));
        free(out);
    }
    char red[64];
    assert_int_equal(log_redact_urls("x https://a:b@h:1/p", 19, red, sizeof red),
                     strlen("x https://***@h:1/p"));
    assert_string_equal(red, "x https://***@h:1/p");
    log_redact_urls("https://a:b@h", 13, red, 8); /* bounded */
    assert_true(strlen(red) < 8);
}

static void emit_long(void)
{
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    big[100] = '\n';
    log_warn("http", "long", "customer=\"%s\" a=%s b=%s c=%s d=%s e=%s f=%s g=%s h=%s", big, big,
             big, big, big, big, big, big, big);
}

static void test_long_values_are_cut_and_the_line_stays_whole(void **state)
{
    (void)state;
    for (int json = 0; json <= 1; json++) {
        char *out = capture(LOG_INFO, json, emit_long);
        assert_int_equal(count_char(out, '\n'), 1);
        assert_true(strlen(out) < 8192);
        assert_non_null(strstr(out, "xxx...\""));
        if (json) {
            json_error_t e;
            json_t *j = json_loads(out, JSON_REJECT_DUPLICATES, &e);
            assert_non_null(j);
            assert_int_equal(strlen(json_string_value(json_object_get(j, "customer"))), 515);
            json_decref(j);
        }
        free(out);
    }
}

static void emit_conversions(void)
{
    log_info("t", "conv", "a=%5.2f b=%-4s| c=%*d d=%.*s e=%c f=%% g=%p h=%hhu i=%ld", 3.14159, "ab",
             4, 7, 2, "xyz", 'Q', (void *)0, (unsigned char)200, -5L);
}

static void test_printf_conversions_are_expanded(void **state)
{
    (void)state;
    char *out = capture(LOG_INFO, false, emit_conversions);
    /* " 3.14" holds a space: quoted; "ab  |" too. */
    assert_non_null(strstr(out, " a=\" 3.14\" b=\"ab  |\" c=\"   7\" d=xy e=Q f=% g="));
    assert_non_null(strstr(out, " h=200 i=-5\n"));
    free(out);
}

static void test_level_parse_accepts_names_and_rejects_others(void **state)
{
    (void)state;
    log_level_t l;
    assert_int_equal(log_level_parse("warn", &l), 0);
    assert_int_equal(l, LOG_WARN);
    assert_int_equal(log_level_parse("verbose", &l), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_line_has_level_module_message_and_fields),
        cmocka_unit_test(test_debug_level_lets_debug_lines_through),
        cmocka_unit_test(test_json_line_turns_fields_into_members),
        cmocka_unit_test(test_kv_to_json_escapes_quotes_and_control_characters),
        cmocka_unit_test(test_kv_to_json_truncates_within_the_buffer),
        cmocka_unit_test(test_level_parse_accepts_names_and_rejects_others),
        cmocka_unit_test(test_forged_newline_id_produces_one_escaped_line),
        cmocka_unit_test(test_control_characters_and_bad_bytes_are_escaped),
        cmocka_unit_test(test_text_keys_are_unique),
        cmocka_unit_test(test_json_lines_parse_with_unique_keys_and_typed_numbers),
        cmocka_unit_test(test_secrets_and_url_credentials_are_not_logged),
        cmocka_unit_test(test_long_values_are_cut_and_the_line_stays_whole),
        cmocka_unit_test(test_printf_conversions_are_expanded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
