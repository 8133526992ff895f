/*
 * The decode/encode tools against Kafka (librdkafka's in-process mock cluster, which is
 * enough here: no transactions involved): `encode --bootstrap --topic` produces framed
 * records keyed by customer id, `decode --bootstrap --topic` reads them back as JSON.
 *   test_avro_tool_kafka LOYALTY_STREAM_BINARY
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "embk.h"

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

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_avro_tool_kafka LOYALTY_STREAM_BINARY\n");
        return 2;
    }
    binary = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_produces_and_decode_reads_a_topic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
