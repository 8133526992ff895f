/*
 * The decode/encode tools against Kafka (librdkafka's in-process mock cluster, which is
 * enough here: no transactions involved): `encode --bootstrap --topic` produces framed
 * records keyed by customer id, `decode --bootstrap --topic` reads them back as JSON; each
 * record lands in the partition murmur2 of its key picks, as the Java clients' (keypart),
 * unless --partitioner names another of librdkafka's.
 *   test_avro_tool_kafka LOYALTY_STREAM_BINARY
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "embk.h"
#include "keypart.h"

#include <librdkafka/rdkafka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *binary;

static void test_encode_produces_and_decode_reads_a_topic(void **state)
{
    (void)state;
    char err[256], dir[] = "/tmp/ls-avtool-XXXXXX", path[512], cmd[2048], line[4096];
    embk_t *ek = embk_new(1, err, sizeof(err));
    assert_non_null(ek);
    assert_int_equal(embk_topic_create(ek, "purchases", 2, err, sizeof(err)), 0);
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/in.jsonl", dir);
    FILE *f = fopen(path, "w");
    for (int i = 0; i < 3; i++)
        fprintf(f,
                "{\"event_id\":\"e%d\",\"customer_id\":\"cust-%d\",\"time\":%d,\"currency\":"
                "\"RUB\",\"payload\":{\"Redemption\":{\"points\":%d,\"partner\":\"\","
                "\"lines\":[]}}}\n",
                i, i, 1000 + i, 10 + i);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "%s encode --type InputEvent --bootstrap %s --topic purchases %s",
             binary, embk_bootstraps(ek), path);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "%s decode --bootstrap %s --topic purchases", binary,
             embk_bootstraps(ek));
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    int n = 0, keyed = 0;
    while (fgets(line, sizeof(line), p)) {
        n++;
        assert_non_null(strstr(line, "\"type\":\"InputEvent\""));
        assert_non_null(strstr(line, "\"topic\":\"purchases\""));
        for (int i = 0; i < 3; i++) {
            char key[64], id[64];
            snprintf(key, sizeof(key), "\"key\":\"cust-%d\"", i);
            snprintf(id, sizeof(id), "\"customer_id\":\"cust-%d\"", i);
            keyed += strstr(line, key) && strstr(line, id); /* key = customer id */
        }
    }
    assert_int_equal(pclose(p), 0);
    assert_int_equal(n, 3);
    assert_int_equal(keyed, 3);
    unlink(path);
    rmdir(dir);
    embk_destroy(ek);
}

/* Encode 60 customers' events to a 4-partition topic (with --partitioner @p partitioner
 * unless NULL); each record must be in the partition @p want picks for its key. */
static void check_partitions(const char *partitioner, int32_t (*want)(const char *key))
{
    char err[256], dir[] = "/tmp/ls-avtool-XXXXXX", path[512], cmd[2048], line[4096];
    embk_t *ek = embk_new(1, err, sizeof(err));
    assert_non_null(ek);
    assert_int_equal(embk_topic_create(ek, "purchases", 4, err, sizeof(err)), 0);
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/in.jsonl", dir);
    FILE *f = fopen(path, "w");
    for (int i = 0; i < 60; i++)
        fprintf(f,
                "{\"type\":\"redemption\",\"event_id\":\"e%d\",\"customer_id\":\"cust-%04d\","
                "\"time\":\"2026-01-01T10:00:00Z\",\"points\":10}\n",
                i, i * 7);
    fclose(f);
    snprintf(cmd, sizeof(cmd),
             "%s encode --engine-json --currency RUB --bootstrap %s --topic purchases%s%s %s",
             binary, embk_bootstraps(ek), partitioner ? " --partitioner " : "",
             partitioner ? partitioner : "", path);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "%s decode --bootstrap %s --topic purchases", binary,
             embk_bootstraps(ek));
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    int n = 0, used[4] = {0};
    while (fgets(line, sizeof(line), p)) {
        char key[64];
        int part;
        const char *k = strstr(line, "\"key\":\""), *q = strstr(line, "\"partition\":");
        assert_non_null(k);
        assert_non_null(q);
        assert_int_equal(sscanf(k + 7, "%63[^\"]", key), 1);
        assert_int_equal(sscanf(q + 12, "%d", &part), 1);
        if (part != want(key))
            fail_msg("%s is in partition %d, want %d (%s)", key, part, (int)want(key),
                     partitioner ? partitioner : "default");
        used[part & 3]++;
        n++;
    }
    assert_int_equal(pclose(p), 0);
    assert_int_equal(n, 60);
    assert_true(used[0] && used[1] && used[2] && used[3]);
    unlink(path);
    rmdir(dir);
    embk_destroy(ek);
}

static int32_t murmur2_of(const char *key)
{
    return keypart_of(key, strlen(key), 4);
}

static int32_t crc32_of(const char *key)
{
    return rd_kafka_msg_partitioner_consistent(NULL, key, strlen(key), 4, NULL, NULL);
}

static void test_encode_partitions_by_murmur2_as_the_java_clients(void **state)
{
    (void)state;
    check_partitions(NULL, murmur2_of);
}

static void test_encode_partitioner_passes_another(void **state)
{
    (void)state;
    check_partitions("consistent_random", crc32_of);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_avro_tool_kafka LOYALTY_STREAM_BINARY\n");
        return 2;
    }
    binary = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_produces_and_decode_reads_a_topic),
        cmocka_unit_test(test_encode_partitions_by_murmur2_as_the_java_clients),
        cmocka_unit_test(test_encode_partitioner_passes_another),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
