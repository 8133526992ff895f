/*
 * kafka_probe: exits 0 when the broker at argv[1] accepts a transactional producer
 * (init, begin, commit of an empty transaction). kafka-test-broker.sh uses it to decide
 * that a freshly started broker is ready for the tests, which all need transactions.
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    char err[512];
    if (argc != 2) {
        fprintf(stderr, "usage: kafka_probe BOOTSTRAP\n");
        return 2;
    }
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "transactional.id", "kafka-probe", err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err))) {
        fprintf(stderr, "kafka_probe: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "kafka_probe: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
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
