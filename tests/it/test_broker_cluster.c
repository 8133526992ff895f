/*
 * The three-broker test cluster of tests/kafka/kafka-test-broker.sh (--nodes 3) is what
 * fault tests stand on: replication factor 3, min.insync.replicas=2. This test starts
 * one, checks a topic really has three replicas, then SIGKILLs one broker and checks
 * that transactions still commit (two in-sync replicas remain) and that the committed
 * records are all readable. It stops the cluster and leaves nothing behind.
 */
#include "testkit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static char dir[256], script[4096], bootstrap[512];

static int sh(const char *fmt, const char *arg)
{
    char cmd[8192];
    snprintf(cmd, sizeof(cmd), fmt, script, dir, arg);
    return system(cmd);
}

static int setup(void **state)
{
    (void)state;
    const char *src = getenv("LS_SOURCE_DIR");
    if (!src) {
        fprintf(stderr, "LS_SOURCE_DIR is not set: run this test through ctest\n");
        return -1;
    }
    snprintf(script, sizeof(script), "%s/tests/kafka/kafka-test-broker.sh", src);
    snprintf(dir, sizeof(dir), "/tmp/ls-cluster-%d", (int)getpid());
    char cmd[8192];
    snprintf(cmd, sizeof(cmd), "%s start %s --nodes 3", script, dir);
    FILE *f = popen(cmd, "r");
    if (!f || !fgets(bootstrap, sizeof(bootstrap), f)) {
        if (f)
            pclose(f);
        fprintf(stderr, "the three-broker cluster did not start (see above)\n");
        return -1;
    }
    bootstrap[strcspn(bootstrap, "\n")] = '\0';
    return pclose(f) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    sh("%s stop %s%s", "");
    struct stat st;
    return stat(dir, &st) == 0 ? -1 : 0; /* stop must remove the directory */
}

static void commit_one_txn(rd_kafka_t *p, const char *topic, int first, int count)
{
    rd_kafka_error_t *e = rd_kafka_begin_transaction(p);
    assert_null(e);
    char v[16];
    for (int i = first; i < first + count; i++) {
        snprintf(v, sizeof(v), "%d", i);
        assert_int_equal(rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(i % 3),
                                           RD_KAFKA_V_VALUE(v, strlen(v)),
                                           RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                           RD_KAFKA_V_END),
                         0);
    }
    e = rd_kafka_commit_transaction(p, 60000);
    if (e)
        fail_msg("commit: %s", rd_kafka_error_string(e));
}

static void test_transactions_commit_with_one_of_three_brokers_killed(void **state)
{
    (void)state;
    const char *topic = "cluster-rf3";
    assert_int_equal(tk_create_topic(bootstrap, topic, 3, 3, NULL), 0);

    const char *kv[] = {"transactional.id", "cluster-test", "acks", "all", NULL};
    rd_kafka_t *p = tk_client_new(RD_KAFKA_PRODUCER, bootstrap, kv);
    assert_non_null(p);
    assert_null(rd_kafka_init_transactions(p, 60000));

    const struct rd_kafka_metadata *md;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(p, topic, NULL);
    assert_int_equal(rd_kafka_metadata(p, 0, rkt, &md, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(md->topics[0].partition_cnt, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(md->topics[0].partitions[i].replica_cnt, 3);
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);

    commit_one_txn(p, topic, 0, 300);
    assert_int_equal(sh("%s kill %s %s", "3"), 0);
    commit_one_txn(p, topic, 300, 300);
    rd_kafka_destroy(p);

    size_t n = 0;
    tk_record_t *recs = tk_consume_all(bootstrap, topic, 1, &n);
    assert_non_null(recs);
    assert_int_equal(n, 600);
    tk_records_free(recs, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transactions_commit_with_one_of_three_brokers_killed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
