/*
 * embk: the embedded Kafka for the demo. Starts librdkafka's in-process mock cluster
 * with N brokers and creates topics on it, so `loyalty-stream demo` runs with nothing
 * else installed.
 *
 * The mock cluster is no judge of exactly-once (it shows aborted records to
 * read_committed readers, drops transactional offset commits, has no fencing and keeps
 * about 5 MiB per partition); the real-broker tests under tests/it/ are. Nothing in the
 * processor may depend on its gaps.
 */
#ifndef LS_EMBK_H
#define LS_EMBK_H

#include <stddef.h>

typedef struct embk embk_t;

/**
 * @brief Start a mock cluster of @p broker_cnt brokers (1..16) in this process.
 * @returns the cluster, owned by the caller (free with embk_destroy), or NULL with a
 *          sentence in @p err.
 */
embk_t *embk_new(int broker_cnt, char *err, size_t errlen);

/** @brief The bootstrap.servers string of the cluster (borrowed, lives as long as @p ek). */
const char *embk_bootstraps(const embk_t *ek);

/**
 * @brief Create @p topic with @p partitions partitions and replication factor
 *        min(3, brokers). @returns 0, or -1 with a sentence naming the topic in @p err.
 */
int embk_topic_create(embk_t *ek, const char *topic, int partitions, char *err, size_t errlen);

/** @brief Stop the cluster. Clients connected to it must be destroyed first. NULL is a no-op. */
void embk_destroy(embk_t *ek);

#endif
