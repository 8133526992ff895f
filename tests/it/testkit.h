/*
 * testkit: helpers shared by the integration tests that talk to the real test broker
 * (tests/kafka/kafka-test-broker.sh, started once per ctest run as a fixture).
 * Every helper fails loudly: it prints what went wrong and returns an error the test
 * asserts on, so a missing broker reads as "the broker is not running", not a hang.
 */
#ifndef LS_TESTKIT_H
#define LS_TESTKIT_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

/**
 * @brief The bootstrap address of the test broker, read from $LS_TEST_BROKER_DIR/bootstrap.
 * @returns 0, or -1 with the reason printed (no fixture, Java missing, broker down).
 */
int tk_bootstrap(char *out, size_t outlen);

/**
 * @brief The group setup of a processor test: the binary under test is $LS_BINARY (set by
 *        ctest) and the broker's address goes to @p out (tk_bootstrap).
 * @returns 0, or -1 with the reason printed.
 */
int tk_processor_setup(char *out, size_t outlen);

/** @brief A topic name unique to this process and call: "<prefix>-<pid>-<n>-<usec>". */
void tk_unique_name(const char *prefix, char *out, size_t outlen);

/**
 * @brief Create @p topic with @p partitions and replication factor @p rf; @p configs is a
 *        NULL-terminated list of key, value pairs (may be NULL). Waits for the result.
 * @returns 0 or -1 (printed).
 */
int tk_create_topic(const char *bootstrap, const char *topic, int partitions, int rf,
                    const char *const *configs);

/** @brief Partition count of @p topic from metadata, or -1 (unknown topic or error). */
int tk_partition_count(rd_kafka_t *rk, const char *topic);

/**
 * @brief Call @p fn for each `key=value` line of the file named by $LS_TEST_KAFKA_CONF (the
 *        client settings of a secured test broker: kafka-test-broker.sh start --secure);
 *        nothing when it is unset. @returns 0, or the first non-zero @p fn result or -1.
 */
int tk_extra_conf_each(int (*fn)(void *ctx, const char *key, const char *value), void *ctx);

/** @brief A TCP port on 127.0.0.1 that was free a moment ago (for an HTTP listener). */
int tk_free_port(void);

/**
 * @brief Start a broker of its own with tests/kafka/kafka-test-broker.sh (under
 *        $LS_SOURCE_DIR) in @p dir with the script's @p options ("--nodes 3",
 *        "--secure"); its bootstrap address goes to @p bootstrap. @returns 0 or -1 (said).
 */
int tk_broker_start(const char *dir, const char *options, char *bootstrap, size_t len);

/** @brief kafka-test-broker.sh VERB DIR [NODE] (stop, kill, restart). @returns its status. */
int tk_broker(const char *verb, const char *dir, int node);

/** @brief A new client with bootstrap.servers set plus NULL-terminated key, value pairs
 *         (and the settings of $LS_TEST_KAFKA_CONF, see tk_extra_conf_each). */
rd_kafka_t *tk_client_new(rd_kafka_type_t type, const char *bootstrap, const char *const *kv);

/** One record as read back by tk_consume_all (key and value are NUL-terminated copies). */
typedef struct tk_record {
    int32_t partition;
    int64_t offset;
    char *key;
    char *value; /* NULL for a tombstone */
    size_t key_len, value_len;
} tk_record_t;

/**
 * @brief Read every record of every partition of @p topic from the beginning to the end
 *        (partition EOF on all), as a read_committed (or read_uncommitted) consumer
 *        without a group. @returns the records (owned by the caller: tk_records_free),
 *        their number in @p *n, or NULL on error (printed).
 */
tk_record_t *tk_consume_all(const char *bootstrap, const char *topic, int read_committed,
                            size_t *n);

/** @brief Free what tk_consume_all returned. */
void tk_records_free(tk_record_t *recs, size_t n);

#endif

/**
 * @brief Produce @p n records "r<i>" with keys "k<i % keys>" to @p topic, partition
 *        (i % keys) % partitions, idempotently, and wait for delivery. @returns 0 or -1.
 */
int tk_produce_counter_input(const char *bootstrap, const char *topic, int partitions, int n,
                             int keys);

/**
 * @brief Start @p argv[0] as a child process with extra environment @p env (NULL-terminated
 *        "NAME=value" strings, may be NULL). Its stderr goes to @p log_path (appended).
 * @returns the pid, or -1.
 */
int tk_spawn(char *const *argv, char *const *env, const char *log_path);

/** @brief Wait up to @p timeout_ms for @p pid; @returns its exit code, 128+signal, or -1 on
 * timeout. */
int tk_wait(int pid, int timeout_ms);

/** @brief Seconds on the monotonic clock (for deadlines and measured waits). */
double tk_mono_s(void);

/** @brief Count the records of @p topic a read_committed reader sees now. -1 on error. */
long tk_count(const char *bootstrap, const char *topic);
