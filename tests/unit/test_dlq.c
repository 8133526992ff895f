/* Tests of schemas/dlq: reason names (a contract) and dead-letter headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dlq.h"

#include <string.h>

static void test_reason_names_are_unique_and_parse_back(void **state)
{
    (void)state;
    for (int i = 0; i < DLQ_REASON_COUNT; i++) {
        dlq_reason_t r;
        assert_int_equal(dlq_reason_parse(dlq_reason_name((dlq_reason_t)i), &r), 0);
        assert_int_equal(r, i);
    }
    assert_string_equal(dlq_reason_name(DLQ_BAD_MAGIC), "bad_magic");
    assert_string_equal(dlq_reason_name(DLQ_UNKNOWN_CURRENCY), "unknown_currency");
    assert_string_equal(dlq_reason_name((dlq_reason_t)999), "unknown");
}

static void test_headers_carry_reason_and_origin(void **state)
{
    (void)state;
    dlq_headers_t h;
    assert_int_equal(dlq_headers_build(&h, DLQ_NEGATIVE_AMOUNT, "line 0: amount -5 < 0",
                                       "purchases", 3, 123456789012LL, 1767225600123LL),
                     0);
    assert_int_equal(h.count, DLQ_HEADER_COUNT);
    assert_string_equal(h.h[0].name, DLQ_H_REASON);
    assert_memory_equal(h.h[0].value, "negative_amount", h.h[0].value_len);
    assert_string_equal(h.h[2].value, "purchases");
    assert_string_equal(h.h[3].value, "3");
    assert_string_equal(h.h[4].value, "123456789012");
    assert_string_equal(h.h[5].value, "1767225600123");
    assert_int_equal(h.h[1].value_len, strlen("line 0: amount -5 < 0"));
}

static void test_long_message_is_cut_on_a_character_boundary(void **state)
{
    (void)state;
    char m[600];
    dlq_headers_t h;
    for (int i = 0; i < 299; i++)
        memcpy(m + 2 * i, "\xc3\xa9", 2); /* é */
    m[598] = '\0';
    assert_int_equal(dlq_headers_build(&h, DLQ_MALFORMED, m, "t", 0, 0, 0), 0);
    assert_true(h.h[1].value_len < DLQ_MESSAGE_MAX);
    assert_int_equal(h.h[1].value_len % 2, 0);
}

static void test_ok_and_retriable_reasons_build_no_headers(void **state)
{
    (void)state;
    dlq_headers_t h;
    assert_int_equal(dlq_headers_build(&h, DLQ_OK, "", "t", 0, 0, 0), -1);
    assert_true(dlq_reason_is_retriable(DLQ_REGISTRY_UNAVAILABLE));
    assert_int_equal(dlq_headers_build(&h, DLQ_REGISTRY_UNAVAILABLE, "", "t", 0, 0, 0), -1);
    assert_int_equal(dlq_headers_build(&h, DLQ_BAD_MAGIC, NULL, NULL, 0, 0, 0), -1);
}

static void test_truncated_dead_letter_keeps_its_reason_and_size(void **state)
{
    (void)state;
    dlq_headers_t h;
    assert_int_equal(dlq_headers_build(&h, DLQ_MALFORMED, "bad varint", "purchases", 1, 7, 9), 0);
    assert_int_equal(dlq_headers_mark_truncated(&h, 2000000), 0);
    assert_int_equal(h.count, DLQ_HEADER_MAX);
    assert_memory_equal(h.h[0].value, "too_large", h.h[0].value_len);
    assert_int_equal(h.h[0].value_len, strlen("too_large"));
    assert_string_equal(h.h[6].name, DLQ_H_SIZE);
    assert_string_equal(h.h[6].value, "2000000");
    assert_string_equal(h.h[7].name, DLQ_H_ORIG_REASON);
    assert_string_equal(h.h[7].value, "malformed_avro");
    assert_int_equal(dlq_headers_mark_truncated(&h, 1), -1); /* once only */
}

static void test_new_reason_names_are_stable(void **state)
{
    (void)state;
    assert_string_equal(dlq_reason_name(DLQ_FUTURE_TIME), "future_time");
    assert_string_equal(dlq_reason_name(DLQ_NO_KEY), "no_key");
    assert_string_equal(dlq_reason_name(DLQ_TOO_LARGE), "too_large");
    assert_string_equal(dlq_reason_name(DLQ_KEY_MISMATCH), "key_mismatch");
    assert_int_equal(DLQ_FUTURE_TIME, 15);
    assert_int_equal(DLQ_NO_KEY, 16);
    assert_int_equal(DLQ_TOO_LARGE, 17);
}

static void test_dlq_topic_name(void **state)
{
    (void)state;
    char b[32];
    assert_int_equal(dlq_topic_for("purchases", b, sizeof(b)), 0);
    assert_string_equal(b, "purchases.dlq");
    assert_int_equal(dlq_topic_for("a-very-long-topic-name-indeed", b, sizeof(b)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reason_names_are_unique_and_parse_back),
        cmocka_unit_test(test_headers_carry_reason_and_origin),
        cmocka_unit_test(test_long_message_is_cut_on_a_character_boundary),
        cmocka_unit_test(test_truncated_dead_letter_keeps_its_reason_and_size),
        cmocka_unit_test(test_new_reason_names_are_stable),
        cmocka_unit_test(test_ok_and_retriable_reasons_build_no_headers),
        cmocka_unit_test(test_dlq_topic_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
