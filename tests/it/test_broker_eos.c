/*
 * Proof that the test broker is a judge of exactly-once: a real Kafka in KRaft mode,
 * driven with librdkafka as the processor will drive it.
 *  - 10,000 records in 10 transactions, one aborted: a read_committed reader sees exactly
 *    the 9,000 committed ones, in order; a read_uncommitted reader sees the aborted ones too
 *    (so the test would notice a broker that ignored the abort).
 *  - offsets sent with send_offsets_to_transaction (consumer group metadata, KIP-447) are
 *    what the group reads back after commit, and are not after abort.
 */
#include "testkit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define N_RECORDS 10000
#define PER_TXN   1000
#define ABORTED   3 /* index of the transaction that is aborted */

static char bootstrap[512];

static int setup(void **state)
{
    (void)state;
    return tk_bootstrap(bootstrap, sizeof(bootstrap));
}

static void must(rd_kafka_error_t *e, const char *what)
{
    if (e) {
        fprintf(stderr, "%s: %s\n", what, rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        fail_msg("%s failed", what);
    }
}

static rd_kafka_t *txn_producer(const char *txn_id)
{
    const char *kv[] = {"transactional.id", txn_id, "linger.ms", "5", NULL};
    rd_kafka_t *p = tk_client_new(RD_KAFKA_PRODUCER, bootstrap, kv);
    assert_non_null(p);
    must(rd_kafka_init_transactions(p, 30000), "init_transactions");
    return p;
}

static void produce_str(rd_kafka_t *p, const char *topic, int32_t part, const char *key,
                        const char *val)
{
    rd_kafka_resp_err_t e = rd_kafka_producev(
        p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(part), RD_KAFKA_V_KEY(key, strlen(key)),
        RD_KAFKA_V_VALUE((void *)val, strlen(val)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_END);
    while (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(p, 10);
        e = rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(part),
                              RD_KAFKA_V_KEY(key, strlen(key)),
                              RD_KAFKA_V_VALUE((void *)val, strlen(val)),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    }
    assert_int_equal(e, RD_KAFKA_RESP_ERR_NO_ERROR);
}

static void test_read_committed_sees_exactly_committed_records_in_order(void **state)
{
    (void)state;
    char topic[128], txn_id[160];
    tk_unique_name("eos-records", topic, sizeof(topic));
    snprintf(txn_id, sizeof(txn_id), "%s-producer", topic);
    assert_int_equal(tk_create_topic(bootstrap, topic, 1, 1, NULL), 0);

    rd_kafka_t *p = txn_producer(txn_id);
    char key[32], val[32];
    for (int t = 0; t < N_RECORDS / PER_TXN; t++) {
        must(rd_kafka_begin_transaction(p), "begin_transaction");
        for (int i = t * PER_TXN; i < (t + 1) * PER_TXN; i++) {
            snprintf(key, sizeof(key), "k%d", i % 97);
            snprintf(val, sizeof(val), "%d", i);
            produce_str(p, topic, 0, key, val);
        }
        if (t == ABORTED) {
            /* Deliver first so the records really are in the log when the abort marker
             * lands (and to stay clear of librdkafka issue #4849: an abort racing the
             * partition registration can fail with INVALID_TXN_STATE; see docs/KAFKA.md). */
            assert_int_equal(rd_kafka_flush(p, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
            must(rd_kafka_abort_transaction(p, 30000), "abort_transaction");
        } else
            must(rd_kafka_commit_transaction(p, 30000), "commit_transaction");
    }
    rd_kafka_destroy(p);

    size_t n = 0;
    tk_record_t *recs = tk_consume_all(bootstrap, topic, 1, &n);
    assert_non_null(recs);
    assert_int_equal(n, N_RECORDS - PER_TXN);
    int expect = 0;
    for (size_t i = 0; i < n; i++) {
        if (expect == ABORTED * PER_TXN)
            expect += PER_TXN; /* the aborted transaction's records must be skipped */
        assert_int_equal(atoi(recs[i].value), expect);
        expect++;
    }
    tk_records_free(recs, n);

    /* The aborted records are physically in the log: a read_uncommitted reader sees them. */
    recs = tk_consume_all(bootstrap, topic, 0, &n);
    assert_non_null(recs);
    assert_int_equal(n, N_RECORDS);
    tk_records_free(recs, n);
}

/* Committed offset of partition 0 of @p topic for @p group, read back by a fresh consumer. */
static int64_t group_committed(const char *group, const char *topic)
{
    const char *kv[] = {"group.id", group, NULL};
    rd_kafka_t *c = tk_client_new(RD_KAFKA_CONSUMER, bootstrap, kv);
    assert_non_null(c);
    rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(tl, topic, 0);
    assert_int_equal(rd_kafka_committed(c, tl, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
    int64_t off = tl->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(tl);
    rd_kafka_destroy(c);
    return off;
}

/* Consume from @p in with a group consumer until @p want records arrived (or timeout). */
static int consume_n(rd_kafka_t *c, int want, int64_t *last_offset)
{
    int got = 0;
    for (int idle = 0; got < want && idle < 300;) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
        if (!m) {
            idle++;
            continue;
        }
        if (!m->err) {
            got++;
            *last_offset = m->offset;
        }
        rd_kafka_message_destroy(m);
    }
    return got;
}

static void send_offsets(rd_kafka_t *p, rd_kafka_t *c, const char *topic, int64_t next)
{
    rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(offs, topic, 0)->offset = next;
    rd_kafka_consumer_group_metadata_t *gm = rd_kafka_consumer_group_metadata(c);
    must(rd_kafka_send_offsets_to_transaction(p, offs, gm, 30000), "send_offsets_to_transaction");
    rd_kafka_consumer_group_metadata_destroy(gm);
    rd_kafka_topic_partition_list_destroy(offs);
}

static void test_send_offsets_to_transaction_commits_group_offsets(void **state)
{
    (void)state;
    char in[128], out[128], group[160], txn_id[160];
    tk_unique_name("eos-in", in, sizeof(in));
    tk_unique_name("eos-out", out, sizeof(out));
    snprintf(group, sizeof(group), "%s-group", in);
    snprintf(txn_id, sizeof(txn_id), "%s-txn", in);
    assert_int_equal(tk_create_topic(bootstrap, in, 1, 1, NULL), 0);
    assert_int_equal(tk_create_topic(bootstrap, out, 1, 1, NULL), 0);

    /* 200 input records, committed plainly. */
    rd_kafka_t *p = txn_producer(txn_id);
    must(rd_kafka_begin_transaction(p), "begin_transaction");
    char buf[32];
    for (int i = 0; i < 200; i++) {
        snprintf(buf, sizeof(buf), "%d", i);
        produce_str(p, in, 0, buf, buf);
    }
    must(rd_kafka_commit_transaction(p, 30000), "commit_transaction");

    const char *ckv[] = {"group.id",
                         group,
                         "enable.auto.commit",
                         "false",
                         "auto.offset.reset",
                         "earliest",
                         "isolation.level",
                         "read_committed",
                         NULL};
    rd_kafka_t *c = tk_client_new(RD_KAFKA_CONSUMER, bootstrap, ckv);
    assert_non_null(c);
    rd_kafka_poll_set_consumer(c);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, in, RD_KAFKA_PARTITION_UA);
    assert_int_equal(rd_kafka_subscribe(c, sub), 0);
    rd_kafka_topic_partition_list_destroy(sub);

    /* Transaction 1: 100 records consumed, 100 produced, offsets sent, committed. */
    int64_t last = -1;
    assert_int_equal(consume_n(c, 100, &last), 100);
    assert_int_equal(last, 99);
    must(rd_kafka_begin_transaction(p), "begin_transaction");
    for (int i = 0; i < 100; i++)
        produce_str(p, out, 0, "k", "v");
    send_offsets(p, c, in, last + 1);
    must(rd_kafka_commit_transaction(p, 30000), "commit_transaction");
    assert_int_equal(group_committed(group, in), 100);

    /* Transaction 2: the next 100 with offsets sent, then aborted: the group stays at 100. */
    assert_int_equal(consume_n(c, 100, &last), 100);
    assert_int_equal(last, 199);
    must(rd_kafka_begin_transaction(p), "begin_transaction");
    for (int i = 0; i < 100; i++)
        produce_str(p, out, 0, "k", "aborted");
    send_offsets(p, c, in, last + 1);
    assert_int_equal(rd_kafka_flush(p, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
    must(rd_kafka_abort_transaction(p, 30000), "abort_transaction");
    assert_int_equal(group_committed(group, in), 100);

    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    rd_kafka_destroy(p);

    size_t n = 0;
    tk_record_t *recs = tk_consume_all(bootstrap, out, 1, &n);
    assert_non_null(recs);
    assert_int_equal(n, 100);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(recs[i].value, "v");
    tk_records_free(recs, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_committed_sees_exactly_committed_records_in_order),
        cmocka_unit_test(test_send_offsets_to_transaction_commits_group_offsets),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
