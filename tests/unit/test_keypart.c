/*
 * Unit tests of keypart (processor/base): Kafka's own test vectors for Utils.murmur2,
 * and the partition of many customer ids equal to what librdkafka's murmur2_random
 * partitioner (what the processor's producer, `encode` and the demo use) picks.
 */
#include "keypart.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>

/* Kafka's clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java, testMurmur2. */
static void test_murmur2_matches_kafkas_test_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *key;
        int32_t want;
    } cases[] = {
        {"21", -973932308},
        {"foobar", -790332482},
        {"a-little-bit-long-string", -985981536},
        {"a-little-bit-longer-string", -1486304829},
        {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
        {"abc", 479470107},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int32_t got = (int32_t)keypart_murmur2(cases[i].key, strlen(cases[i].key));
        if (got != cases[i].want)
            fail_msg("murmur2(\"%s\") = %d, Kafka says %d", cases[i].key, (int)got,
                     (int)cases[i].want);
    }
}

/* Java: Utils.toPositive(murmur2(key)) % n, worked out from the vectors above. */
static void test_partition_is_the_positive_hash_modulo_the_count(void **state)
{
    (void)state;
    /* murmur2("21") = -973932308 -> & 0x7fffffff = 1173551340 */
    assert_int_equal(keypart_of("21", 2, 4), 1173551340 % 4);
    assert_int_equal(keypart_of("21", 2, 7), 1173551340 % 7);
    /* murmur2("abc") = 479470107, positive already */
    assert_int_equal(keypart_of("abc", 3, 6), 479470107 % 6);
    assert_int_equal(keypart_of("abc", 3, 1), 0);
}

/* librdkafka's partitioner is a public function: no broker needed to ask it. */
static void test_partition_equals_librdkafkas_murmur2_random(void **state)
{
    (void)state;
    static const int32_t counts[] = {1, 2, 3, 4, 6, 12, 100, 1000};
    char key[64];
    int differ_from_crc = 0;
    for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
        for (int i = 0; i < 5000; i++) {
            int len = snprintf(key, sizeof(key), i % 2 ? "cust-%04d" : "customer-%05d-x", i);
            int32_t want = rd_kafka_msg_partitioner_murmur2_random(NULL, key, (size_t)len,
                                                                   counts[c], NULL, NULL);
            int32_t got = keypart_of(key, (size_t)len, counts[c]);
            if (got != want)
                fail_msg("key %s among %d: keypart %d, librdkafka %d", key, (int)counts[c],
                         (int)got, (int)want);
            /* librdkafka's own default (consistent_random, CRC32) is another mapping */
            differ_from_crc += got != rd_kafka_msg_partitioner_consistent_random(
                                          NULL, key, (size_t)len, counts[c], NULL, NULL);
        }
    }
    assert_true(differ_from_crc > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_murmur2_matches_kafkas_test_vectors),
        cmocka_unit_test(test_partition_is_the_positive_hash_modulo_the_count),
        cmocka_unit_test(test_partition_equals_librdkafkas_murmur2_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
