/* Unit tests of the log module: levels, key=value and JSON line formats. */
#include "log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static char *capture(log_level_t min, bool json, void (*fn)(void))
{
    char *buf = NULL;
    size_t len = 0;
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
                                "\"task\":\"3\",\"offset\":\"42\",\"err\":\"a b\"}\n"));
    free(out);
}

static void test_kv_to_json_escapes_quotes_and_control_characters(void **state)
{
    (void)state;
    char out[256];
    log_kv_to_json("path=\"/tmp/a\\\"b\" n=1", out, sizeof(out));
    assert_string_equal(out, "\"path\":\"/tmp/a\\\\\\\"b\",\"n\":\"1\"");
    log_kv_to_json("x=\"tab\there\"", out, sizeof(out));
    assert_string_equal(out, "\"x\":\"tab\\u0009here\"");
}

static void test_kv_to_json_truncates_within_the_buffer(void **state)
{
    (void)state;
    char out[16];
    log_kv_to_json("key=a_long_value_that_does_not_fit", out, sizeof(out));
    assert_true(strlen(out) < sizeof(out));
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
