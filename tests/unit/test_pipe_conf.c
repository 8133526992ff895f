/*
 * test_pipe_conf: the input consumer's librdkafka defaults (pipe_input_defaults) against
 * the librdkafka this binary runs with: the defaults exist only from 2.2 on, and every
 * one of them is a property the running librdkafka accepts, while 2.0's refuses the one
 * that gates them (fetch.queue.backoff.ms). Run with LD_LIBRARY_PATH pointing at a newer
 * librdkafka.so.1, the same test checks the other side.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>

#include "pipe.h"

static const char *lookup(const char *const *kv, const char *key)
{
    for (size_t i = 0; kv && kv[i]; i += 2)
        if (!strcmp(kv[i], key))
            return kv[i + 1];
    return NULL;
}

static void test_defaults_only_from_2_2(void **state)
{
    (void)state;
    assert_null(pipe_input_defaults(0x020002ff));            /* 2.0.2, Debian 12 */
    assert_null(pipe_input_defaults(0x020100ff));            /* 2.1.0 */
    const char *const *kv = pipe_input_defaults(0x020200ff); /* 2.2.0 */
    assert_non_null(kv);
    assert_string_equal(lookup(kv, "fetch.queue.backoff.ms"), "5");
    assert_string_equal(lookup(kv, "queued.min.messages"), "20000");
    assert_ptr_equal(pipe_input_defaults(0x02020001), kv); /* 2.2.0's first pre-release */
    assert_ptr_equal(pipe_input_defaults(0x020800ff), kv); /* 2.8.0, Debian 13 */
}

/* What the pipeline sets for the running librdkafka is accepted by it; below 2.2 the gate
 * is needed, as the property does not exist there. */
static void test_running_librdkafka_takes_its_defaults(void **state)
{
    (void)state;
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *const *kv = pipe_input_defaults(rd_kafka_version());
    for (size_t i = 0; kv && kv[i]; i += 2)
        assert_int_equal(rd_kafka_conf_set(conf, kv[i], kv[i + 1], err, sizeof(err)),
                         RD_KAFKA_CONF_OK);
    rd_kafka_conf_res_t r =
        rd_kafka_conf_set(conf, "fetch.queue.backoff.ms", "5", err, sizeof(err));
    if (rd_kafka_version() < 0x02020000) {
        assert_null(kv);
        assert_int_equal(r, RD_KAFKA_CONF_UNKNOWN);
    } else {
        assert_non_null(kv);
        assert_int_equal(r, RD_KAFKA_CONF_OK);
    }
    rd_kafka_conf_destroy(conf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_only_from_2_2),
        cmocka_unit_test(test_running_librdkafka_takes_its_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
