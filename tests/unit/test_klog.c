/* Unit tests of klog: librdkafka's log lines during broker faults (levels, the misleading
 * hint, one line per broker per window). The texts are librdkafka 2.0.2's. */
#include "klog.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static const char refused[] = "[thrd:127.0.0.1:9092/1]: 127.0.0.1:9092/1: Connect to "
                              "ipv4#127.0.0.1:9092 failed: Connection refused (after 0ms in "
                              "state CONNECT)";
static const char refused_again[] = "[thrd:127.0.0.1:9092/1]: 127.0.0.1:9092/1: Connect to "
                                    "ipv4#127.0.0.1:9092 failed: Connection refused (after 3ms "
                                    "in state CONNECT, 1 identical error(s) suppressed)";
static const char refused_by_consumer[] = "[thrd:app]: vm#consumer-2: 127.0.0.1:9092/1: Connect "
                                          "to ipv4#127.0.0.1:9092 failed: Connection refused "
                                          "(after 0ms in state CONNECT)";
static const char hint[] = "[thrd:b:9092/bootstrap]: b:9092/bootstrap: Disconnected while "
                           "requesting ApiVersion: might be caused by incorrect "
                           "security.protocol configuration (connecting to a SSL listener?) or "
                           "broker version is < 0.10 (see api.version.request) (after 5ms in "
                           "state APIVERSION_QUERY)";

static void test_connection_failure_is_a_warning_not_an_error(void **state)
{
    (void)state;
    klog_t k = KLOG_INIT;
    char out[512];
    klog_line_t l;
    klog_filter(&k, 3, "FAIL", refused, 1000, out, sizeof out, &l);
    assert_true(l.emit);
    assert_int_equal(l.level, LOG_WARN);
    assert_string_equal(out, refused);
    klog_filter(&k, 3, "ERROR", "[thrd:app]: 1/1 brokers are down", 1000, out, sizeof out, &l);
    assert_int_equal(l.level, LOG_WARN);
    /* Lowered, never raised: an idle connection closed is information. */
    klog_filter(&k, 6, "FAIL",
                "[thrd:b:9092/2]: b:9092/2: Disconnected (after 600000ms in state UP, idle)", 1000,
                out, sizeof out, &l);
    assert_true(l.emit);
    assert_int_equal(l.level, LOG_INFO);
}

static void test_other_errors_stay_errors(void **state)
{
    (void)state;
    klog_t k = KLOG_INIT;
    char out[512];
    klog_line_t l;
    klog_filter(&k, 3, "ERROR", "Fatal error: Broker: Producer fenced", 1000, out, sizeof out, &l);
    assert_true(l.emit);
    assert_int_equal(l.level, LOG_ERROR);
    klog_filter(&k, 6, "CGRPOP", "Group joined", 1000, out, sizeof out, &l);
    assert_int_equal(l.level, LOG_INFO);
    klog_filter(&k, 4, "CONFWARN",
                "Configuration property x is a consumer property and will be "
                "ignored by this producer instance",
                1000, out, sizeof out, &l);
    assert_int_equal(l.level, LOG_DEBUG);
}

static void test_security_protocol_hint_is_removed(void **state)
{
    (void)state;
    klog_t k = KLOG_INIT;
    char out[512];
    klog_line_t l;
    klog_filter(&k, 3, "FAIL", hint, 1000, out, sizeof out, &l);
    assert_int_equal(l.level, LOG_WARN);
    assert_null(strstr(out, "security.protocol"));
    assert_null(strstr(out, "SSL"));
    assert_string_equal(out, "[thrd:b:9092/bootstrap]: b:9092/bootstrap: Disconnected while "
                             "requesting ApiVersion (after 5ms in state APIVERSION_QUERY)");
}

static void test_repeats_of_one_broker_are_written_once_per_window(void **state)
{
    (void)state;
    klog_t k = KLOG_INIT;
    char out[512];
    klog_line_t l;
    klog_filter(&k, 3, "FAIL", refused, 1000, out, sizeof out, &l);
    assert_true(l.emit);
    /* The same broker's failures, from any client and in any words, within the window. */
    klog_filter(&k, 3, "FAIL", refused_again, 2000, out, sizeof out, &l);
    assert_false(l.emit);
    klog_filter(&k, 3, "ERROR", refused_by_consumer, 3000, out, sizeof out, &l);
    assert_false(l.emit);
    /* Another broker is news. */
    klog_filter(&k, 3, "FAIL", hint, 3000, out, sizeof out, &l);
    assert_true(l.emit);
    /* After the window: written again, with the count of what was suppressed. */
    klog_filter(&k, 3, "FAIL", refused, 1000 + KLOG_WINDOW_MS, out, sizeof out, &l);
    assert_true(l.emit);
    assert_int_equal(l.suppressed, 2);
    klog_filter(&k, 3, "FAIL", refused, 1001 + KLOG_WINDOW_MS, out, sizeof out, &l);
    assert_false(l.emit);
}

static void test_identical_warnings_are_rate_limited_info_is_not(void **state)
{
    (void)state;
    klog_t k = KLOG_INIT;
    char out[512];
    klog_line_t l;
    klog_filter(&k, 4, "OFFSET", "Partition 3 offset 17 is out of range", 0, out, sizeof out, &l);
    assert_true(l.emit);
    klog_filter(&k, 4, "OFFSET", "Partition 3 offset 18 is out of range", 1, out, sizeof out, &l);
    assert_false(l.emit);
    for (int i = 0; i < 3; i++) {
        klog_filter(&k, 6, "CGRPOP", "Group joined", i, out, sizeof out, &l);
        assert_true(l.emit);
    }
}

static void test_many_keys_evict_the_oldest(void **state)
{
    (void)state;
    klog_t k = KLOG_INIT;
    char out[512], line[128];
    klog_line_t l;
    for (int i = 0; i < 2 * KLOG_SLOTS; i++) {
        snprintf(line, sizeof line, "[thrd:h%c%c:1/1]: h%c%c:1/1: Connect to x failed",
                 'a' + i / 26, 'a' + i % 26, 'a' + i / 26, 'a' + i % 26);
        klog_filter(&k, 3, "FAIL", line, i, out, sizeof out, &l);
        assert_true(l.emit);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connection_failure_is_a_warning_not_an_error),
        cmocka_unit_test(test_other_errors_stay_errors),
        cmocka_unit_test(test_security_protocol_hint_is_removed),
        cmocka_unit_test(test_repeats_of_one_broker_are_written_once_per_window),
        cmocka_unit_test(test_identical_warnings_are_rate_limited_info_is_not),
        cmocka_unit_test(test_many_keys_evict_the_oldest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
