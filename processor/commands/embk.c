/*
 * embk: see embk.h. librdkafka's mock cluster lives inside an rd_kafka_t handle; we keep
 * a small producer handle whose only job is to own the cluster and its broker threads.
 */
#include "embk.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>

struct embk {
    rd_kafka_t *owner;                 /* owns the mock cluster's threads */
    rd_kafka_mock_cluster_t *mcluster; /* borrowed from owner's lifetime */
    int broker_cnt;
};

embk_t *embk_new(int broker_cnt, char *err, size_t errlen)
{
    if (broker_cnt < 1 || broker_cnt > 16) {
        snprintf(err, errlen, "mock cluster broker count %d is out of range 1..16", broker_cnt);
        return NULL;
    }
    embk_t *ek = calloc(1, sizeof(*ek));
    if (!ek) {
        snprintf(err, errlen, "out of memory starting the mock cluster");
        return NULL;
    }
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* The owner never connects anywhere; keep its own logging quiet. */
    if (rd_kafka_conf_set(conf, "log_level", "3", err, errlen) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        free(ek);
        return NULL;
    }
    ek->owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errlen);
    if (!ek->owner) {
        rd_kafka_conf_destroy(conf);
        free(ek);
        return NULL;
    }
    ek->mcluster = rd_kafka_mock_cluster_new(ek->owner, broker_cnt);
    if (!ek->mcluster) {
        snprintf(err, errlen, "librdkafka could not start a mock cluster of %d brokers",
                 broker_cnt);
        rd_kafka_destroy(ek->owner);
        free(ek);
        return NULL;
    }
    ek->broker_cnt = broker_cnt;
    return ek;
}

const char *embk_bootstraps(const embk_t *ek)
{
    return rd_kafka_mock_cluster_bootstraps(ek->mcluster);
}

int embk_topic_create(embk_t *ek, const char *topic, int partitions, char *err, size_t errlen)
{
    if (partitions < 1) {
        snprintf(err, errlen, "topic %s: partition count %d must be at least 1", topic, partitions);
        return -1;
    }
    int rf = ek->broker_cnt < 3 ? ek->broker_cnt : 3;
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(ek->mcluster, topic, partitions, rf);
    if (e) {
        snprintf(err, errlen, "creating topic %s on the mock cluster: %s", topic,
                 rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

void embk_destroy(embk_t *ek)
{
    if (!ek)
        return;
    rd_kafka_mock_cluster_destroy(ek->mcluster);
    rd_kafka_destroy(ek->owner);
    free(ek);
}
