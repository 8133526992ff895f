/*
 * cfg: the processor's configuration, described by one table (cfg.c) that parses the
 * file, applies environment overrides, rejects unknown keys, checks ranges, prints
 * `--help-config` and generates docs/CONFIGURATION.md.
 *
 * The file is properties-style: `key = value` lines, `#` comments. Every setting may be
 * overridden by an environment variable named LOYALTY_ + the key upper-cased with every
 * character that is not a letter or digit turned into `_` (bootstrap.servers →
 * LOYALTY_BOOTSTRAP_SERVERS), which is how Kubernetes injects pod-specific values.
 * Keys under `kafka.` pass through to librdkafka (kafka.security.protocol →
 * security.protocol); from the environment, LOYALTY_KAFKA_SASL_USERNAME becomes
 * kafka.sasl.username. librdkafka's own verdict on such a key stops start-up, naming
 * the key and its line.
 */
#ifndef LS_CFG_H
#define LS_CFG_H

#include "eng_types.h"
#include "http.h"
#include "pipe.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { CFG_CLOCK_WALL = 0, CFG_CLOCK_STREAM = 1 } cfg_clock_t;

/** One `kafka.*` setting, in file order, with where it came from (for error messages). */
typedef struct cfg_kv {
    char *key; /* without the "kafka." prefix */
    char *value;
    char origin[160]; /* "path:line" or "environment LOYALTY_KAFKA_..." */
} cfg_kv_t;

/** The configuration. Every string is owned by the struct (cfg_destroy frees them). */
typedef struct cfg {
    char *application_id;
    char *instance_id;
    char *bootstrap_servers;
    bool group_static_membership;
    char *topic_input;
    char *topic_changelog; /* "" in the file = "<application.id>-changelog" */
    char *topic_dead_letter;
    char *topic_out[ENG_OUT_KIND_COUNT]; /* indexed by eng_out_kind_t */
    bool topics_create;
    int64_t topics_partitions;
    int64_t topics_replication_factor;
    char *state_dir;
    int64_t state_cleanup_delay_ms;
    bool state_reset_on_corruption;
    char *program_file;
    int64_t commit_interval_ms;
    int64_t commit_max_records;
    int64_t timers_interval_ms;
    cfg_clock_t clock;
    int64_t time_max_future_ms; /* an event further ahead of the wall clock is a dead letter */
    int64_t memory_budget_bytes;
    char *schema_registry_url;
    char *schema_registry_user_info;
    char *schema_registry_ca_location;
    char *http_bind;
    int64_t http_port; /* -1 = no HTTP server */
    char *http_query_bind;
    int64_t http_query_port; /* -1 = no state-query listener */
    char *http_query_token_file;
    int64_t http_query_max_connections;
    int64_t http_query_max_connections_per_client;
    int64_t http_query_idle_timeout_ms;
    int64_t shutdown_timeout_ms;
    char *log_level;
    char *log_format;
    /* kafka.* passthrough */
    cfg_kv_t *kafka;
    size_t n_kafka;
    int64_t commit_max_bytes; /* a transaction commits once its records hold this many bytes */
} cfg_t;

/**
 * @brief A configuration with every default applied (instance.id = the host name).
 * @returns the config (owned by the caller: cfg_destroy), or NULL when out of memory.
 */
cfg_t *cfg_new_defaults(void);

/**
 * @brief Read @p path into @p cfg (over the defaults), then apply the environment
 *        @p envp (NULL-terminated "NAME=value" strings; pass `environ`), then validate.
 * @returns 0, or -1 with "path:line: key 'x': what is wrong" in @p err. Unknown keys,
 *          bad values, out-of-range numbers and missing required settings are errors.
 */
int cfg_load(cfg_t *cfg, const char *path, char *const *envp, char *err, size_t errlen);

/**
 * @brief Set one key as if read from @p origin (used by cfg_load, the demo and tests).
 * @returns 0, or -1 with a message naming the key and @p origin.
 */
int cfg_set(cfg_t *cfg, const char *key, const char *value, const char *origin, char *err,
            size_t errlen);

/** @brief Check required settings and cross-field rules. @returns 0 or -1 with a message. */
int cfg_validate(const cfg_t *cfg, char *err, size_t errlen);

/**
 * @brief Set bootstrap.servers and every kafka.* passthrough key on a librdkafka
 *        configuration (rd_kafka_conf_t). @returns 0, or -1 with librdkafka's verdict and
 *        the key's origin ("path:line: key 'kafka.x': librdkafka: ...") in @p err.
 */
struct rd_kafka_conf_s;
int cfg_apply_kafka(const cfg_t *cfg, struct rd_kafka_conf_s *conf, char *err, size_t errlen);

/**
 * @brief The pipeline's settings from @p cfg, with @p topics_out (the topics the app
 *        produces to) as given. Borrows @p cfg and @p topics_out: both must outlive @p out.
 */
void cfg_pipe_conf(const cfg_t *cfg, const char *const *topics_out, size_t n_topics_out,
                   pipe_conf_t *out);

/**
 * @brief The state-query listener's settings (http.query.*) for http_config_t.queries.
 *        Borrows @p cfg's strings: @p cfg must outlive the HTTP server's start.
 */
http_query_listener_t cfg_http_queries(const cfg_t *cfg);

/** @brief cfg_apply_kafka on a scratch configuration: librdkafka's verdict at load time. */
int cfg_check_kafka(const cfg_t *cfg, char *err, size_t errlen);

/** @brief The changelog topic: topic.changelog, or "<application.id>-changelog". Borrowed. */
const char *cfg_changelog_topic(const cfg_t *cfg, char *buf, size_t buflen);

/** @brief Print every setting with type, default and description (`--help-config`). */
void cfg_print_help(FILE *out);

/** @brief Print docs/CONFIGURATION.md (markdown generated from the table). */
void cfg_print_markdown(FILE *out);

/** @brief Free @p cfg and every string in it. NULL is a no-op. */
void cfg_destroy(cfg_t *cfg);

#endif
