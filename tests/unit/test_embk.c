/* Unit tests of embk, the embedded mock cluster of the demo. */
#include "embk.h"

#include <librdkafka/rdkafka.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static rd_kafka_t *client(rd_kafka_type_t type, const char *bootstraps)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, err, sizeof(err)),
                     RD_KAFKA_CONF_OK);
    if (type == RD_KAFKA_CONSUMER) {
        assert_int_equal(rd_kafka_conf_set(conf, "group.id", "t", err, sizeof(err)), 0);
        assert_int_equal(rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof(err)),
                         0);
    }
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof(err));
    assert_non_null(rk);
    return rk;
}

static void test_topic_created_with_partitions_and_records_round_trip(void **state)
{
    (void)state;
    char err[256];
    embk_t *ek = embk_new(3, err, sizeof(err));
    assert_non_null(ek);
    assert_non_null(strchr(embk_bootstraps(ek), ','));
    assert_int_equal(embk_topic_create(ek, "purchases", 4, err, sizeof(err)), 0);

    rd_kafka_t *p = client(RD_KAFKA_PRODUCER, embk_bootstraps(ek));
    const struct rd_kafka_metadata *md;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(p, "purchases", NULL);
    assert_int_equal(rd_kafka_metadata(p, 0, rkt, &md, 5000), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(md->topics[0].partition_cnt, 4);
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);

    assert_int_equal(rd_kafka_producev(p, RD_KAFKA_V_TOPIC("purchases"), RD_KAFKA_V_PARTITION(2),
                                       RD_KAFKA_V_VALUE("hello", 5), RD_KAFKA_V_END),
                     0);
    assert_int_equal(rd_kafka_flush(p, 5000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(p);

    rd_kafka_t *c = client(RD_KAFKA_CONSUMER, embk_bootstraps(ek));
    rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(tl, "purchases", 2)->offset = RD_KAFKA_OFFSET_BEGINNING;
    assert_int_equal(rd_kafka_assign(c, tl), 0);
    rd_kafka_topic_partition_list_destroy(tl);
    int got = 0;
    for (int i = 0; i < 100 && !got; i++) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
        if (m && !m->err) {
            assert_int_equal(m->len, 5);
            assert_memory_equal(m->payload, "hello", 5);
            got = 1;
        }
        if (m)
            rd_kafka_message_destroy(m);
    }
    assert_true(got);
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    embk_destroy(ek);
}

static void test_bad_arguments_are_refused_with_a_message(void **state)
{
    (void)state;
    char err[256] = "";
    assert_null(embk_new(0, err, sizeof(err)));
    assert_non_null(strstr(err, "out of range"));
    embk_t *ek = embk_new(1, err, sizeof(err));
    assert_non_null(ek);
    assert_int_equal(embk_topic_create(ek, "t", 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "topic t"));
    embk_destroy(ek);
    embk_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topic_created_with_partitions_and_records_round_trip),
        cmocka_unit_test(test_bad_arguments_are_refused_with_a_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
