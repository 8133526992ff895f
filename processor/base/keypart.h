/*
 * keypart: which partition a keyed record goes to, by the one convention of the product
 * (docs/SCHEMAS.md, "Keys and partitions"): murmur2 of the key's bytes, as the Java
 * clients' default partitioner computes it (Kafka's Utils.murmur2, seed 0x9747b28c) and
 * as librdkafka's "murmur2" and "murmur2_random" partitioners do for a non-empty key.
 * The processor's own producer uses librdkafka's; `replay --partitions`, `encode`, the
 * demo and the tests' producers agree with it through this file or KEYPART_RDKAFKA.
 */
#ifndef LS_KEYPART_H
#define LS_KEYPART_H

#include <stddef.h>
#include <stdint.h>

/** librdkafka's name of the partitioner that matches keypart_of (its `partitioner`). */
#define KEYPART_RDKAFKA "murmur2_random"

/** @brief Kafka's Utils.murmur2 of @p len bytes (the Java int's bit pattern). */
uint32_t keypart_murmur2(const void *key, size_t len);

/**
 * @brief The partition of a key among @p partitions (> 0), as the Java clients' default
 *        partitioner picks it: (murmur2(key) & 0x7fffffff) % partitions.
 */
int32_t keypart_of(const void *key, size_t len, int32_t partitions);

#endif
