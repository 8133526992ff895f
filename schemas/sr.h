/*
 * sr: a Confluent-compatible schema registry client (libcurl + jansson).
 *
 * The one idea: ids are immutable in a registry, so every successful answer is cached for
 * the life of the client and the hot path never waits on HTTP after the first record of a
 * new writer schema. Failures are not cached here (the codec keeps "not found" and
 * "rejected" for a short time). Subjects follow the topic-name strategy: "<topic>-value".
 * Endpoints used: POST /subjects/{subject}/versions (register), POST /subjects/{subject}
 * (look up), GET /schemas/ids/{id} (writer schema by id).
 *
 * Not thread-safe: one client per thread (or a lock around it).
 */
#ifndef LS_SR_H
#define LS_SR_H

#include <stddef.h>
#include <stdint.h>

typedef struct sr_client sr_client_t;

typedef enum {
    SR_OK = 0,
    SR_NOT_FOUND = 1,   /* the registry answered 404: no such id / subject / schema */
    SR_UNAVAILABLE = 2, /* RETRIABLE: transport error, timeout, 5xx, 408, 429, 401 and 403
                           (credentials or a proxy, not the schema, are wrong) and an answer
                           that is not JSON (a proxy's page): the registry was not asked */
    SR_REJECTED = 3,    /* the registry refused (409 incompatible, 422 invalid, other 4xx)
                           or its JSON answer lacks what was asked for */
} sr_result_t;

/**
 * @brief Create a client for base_url (e.g. "http://localhost:8081"; a trailing '/' is
 * fine). timeout_ms bounds each request (0 = 5000).
 * @returns the client (destroy with sr_client_destroy) or NULL with err filled.
 */
sr_client_t *sr_client_new(const char *base_url, long timeout_ms, char *err, size_t errlen);

/**
 * @brief Credentials and trust for the registry: @p user_info "user:password" sends HTTP
 *        basic authentication with every request; @p ca_file is a PEM bundle that
 *        verifies an https registry instead of the system's. NULL or "" = none. Copied.
 * @returns 0, or -1 with err filled (user_info without ':').
 */
int sr_client_set_auth(sr_client_t *c, const char *user_info, const char *ca_file, char *err,
                       size_t errlen);

/** @brief Free the client and its caches. NULL is a no-op. */
void sr_client_destroy(sr_client_t *c);

/**
 * @brief Register schema_json under subject (idempotent in the registry: the same schema
 * gets its existing id). Cached per (subject, schema text).
 */
sr_result_t sr_register(sr_client_t *c, const char *subject, const char *schema_json, int32_t *id,
                        char *err, size_t errlen);

/** @brief Look up the id of schema_json under subject without registering it. Cached. */
sr_result_t sr_lookup(sr_client_t *c, const char *subject, const char *schema_json, int32_t *id,
                      char *err, size_t errlen);

/**
 * @brief The schema text of id. *schema_json is borrowed from the client's cache and lives
 * as long as the client.
 */
sr_result_t sr_schema_by_id(sr_client_t *c, int32_t id, const char **schema_json, char *err,
                            size_t errlen);

/** @brief The topic-name-strategy subject of a topic's values: "<topic>-value". */
int sr_subject_for_topic(const char *topic, char *buf, size_t buflen);

/** @brief Number of HTTP requests made so far (to test the caches). */
unsigned long sr_client_requests(const sr_client_t *c);

#endif
