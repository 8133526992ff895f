/*
 * kafka_probe: exits 0 when the broker at argv[1] accepts a transactional producer
 * (init, begin, commit of an empty transaction). kafka-test-broker.sh uses it to decide
 * that a freshly started broker is ready for the tests, which all need transactions.
 * A secured broker's client settings come from $LS_TEST_KAFKA_CONF (tk_client_new).
 */
#include "testkit.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: kafka_probe BOOTSTRAP\n");
        return 2;
    }
    const char *kv[] = {"transactional.id", "kafka-probe", "log_level", "0", NULL};
    rd_kafka_t *rk = tk_client_new(RD_KAFKA_PRODUCER, argv[1], kv);
    if (!rk)
        return 1;
    int rc = 1;
    rd_kafka_error_t *e = rd_kafka_init_transactions(rk, 5000);
    if (!e)
        e = rd_kafka_begin_transaction(rk);
    if (!e)
        e = rd_kafka_commit_transaction(rk, 5000);
    if (e) {
        fprintf(stderr, "kafka_probe: %s\n", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    } else {
        rc = 0;
    }
    rd_kafka_destroy(rk);
    return rc;
}
