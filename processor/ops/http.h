/*
 * http: the processor's small HTTP server (libmicrohttpd) for the orchestrator and the
 * operators, on two listeners, each with its own thread and connection limits:
 *
 *   probe listener (http.bind, http.port), open to the cluster:
 *     GET /metrics          the metrics registry, Prometheus text format 0.0.4
 *     GET /healthz          liveness: 200 while the pipeline loop beats, 503 when it stalls
 *     GET /readyz           readiness: 200 once the app says so (every assigned task restored)
 *   query listener (http.query.bind, http.query.port), off unless configured:
 *     GET /customers/{id}   one customer's state as JSON, via an app-provided callback;
 *                           with a token, only with `Authorization: Bearer <token>` (401)
 *
 * The one idea: the server never reaches into the pipeline. The pipeline pushes two facts
 * (a heartbeat time and a ready flag, both atomics) and lends a registry and a query
 * callback; everything the HTTP threads answer comes from those. Customer data is never on
 * the probe listener, and query load (slow or many clients) cannot starve the probes: the
 * listeners share no thread and no connection slot. Any other path is a 404 and any
 * method but GET (or HEAD) a 405, both with a JSON body {"error": "..."}. A customer id
 * that is not a percent-encoded UTF-8 text without control characters (NUL included) is a
 * 400, one longer than HTTP_CUSTOMER_ID_MAX bytes a 414: never a 500.
 */
#ifndef LS_HTTP_H
#define LS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

typedef struct http_server http_server_t;

/** Return values of an http_query_fn besides 0 (found). */
#define HTTP_QUERY_NOT_FOUND 1

/** The longest customer id a query may ask for, in bytes (the store's key limit). */
#define HTTP_CUSTOMER_ID_MAX 255

/**
 * @brief Look up one customer's state for GET /customers/{id}.
 * @param opaque      the config's query_opaque
 * @param customer_id the URL-decoded id: never empty, valid UTF-8 without control
 *                    characters, at most HTTP_CUSTOMER_ID_MAX bytes
 * @param json_out    on 0, a malloc'd NUL-terminated JSON document the server frees
 * @returns 0 found (*json_out set), HTTP_QUERY_NOT_FOUND (404), negative: error (500).
 * @locality called on the HTTP thread, concurrently with the pipeline: it must be
 *           thread-safe against the pipeline's writes (RocksDB reads are) and must not
 *           touch a store the pipeline is closing. Only called while ready (else 503).
 */
typedef int (*http_query_fn)(void *opaque, const char *customer_id, char **json_out);

/** The state-query listener. Off unless enabled; loopback-only unless it has a token. */
typedef struct {
    bool enabled;             /**< false: no query listener (the default) */
    const char *bind_address; /**< numeric IPv4 or IPv6; NULL or "" = 127.0.0.1 */
    uint16_t port;            /**< 0 = any free port (see http_query_port) */
    const char *token_file;   /**< file whose content (trailing whitespace cut) is the
                                   bearer token; NULL or "" = no token, which http_new
                                   allows only on a loopback address */
    const char *token;        /**< the token itself, instead of token_file (tests) */
    unsigned max_connections; /**< connections in all; 0 = 64 */
    unsigned max_per_client;  /**< connections per client IP address; 0 = 8 */
    unsigned timeout_s;       /**< an idle connection is closed after this; 0 = 10 */
} http_query_listener_t;

typedef struct {
    const char *bind_address;      /**< probe listener: numeric IPv4 or IPv6; NULL or "" =
                                        0.0.0.0 */
    uint16_t port;                 /**< 0 = any free port (see http_port) */
    int64_t liveness_timeout_ms;   /**< /healthz is 503 after this long without a beat;
                                        <= 0 means the default, 30000 */
    met_registry_t *metrics;       /**< borrowed; NULL = /metrics serves an empty body */
    http_query_fn query;           /**< NULL = /customers/{id} answers 404 */
    void *query_opaque;            /**< passed to query */
    http_query_listener_t queries; /**< where /customers/{id} is served */
} http_config_t;

/**
 * @brief Bind and start serving, each listener on an internal thread of its own. The
 *        heartbeat starts at @p now_ms, so the process has liveness_timeout_ms to reach
 *        its loop; readiness starts false.
 * @param now_ms wall-clock ms since the epoch (CLOCK_REALTIME), as for http_heartbeat
 * @returns the server, or NULL with @p err filled (bad address, port in use, a query
 *          listener on a non-loopback address without a token, an unreadable or empty
 *          token file, ...).
 */
http_server_t *http_new(const http_config_t *cfg, int64_t now_ms, char *err, size_t errlen);

/** @brief The probe listener's TCP port (the picked one when the config asked for 0). */
uint16_t http_port(const http_server_t *srv);

/** @brief The query listener's TCP port; 0 when it is off. */
uint16_t http_query_port(const http_server_t *srv);

/** @brief True when @p addr is a numeric IPv4 or IPv6 address (what a bind accepts). */
bool http_is_address(const char *addr);

/** @brief True when @p addr is a numeric loopback address (127.0.0.0/8, ::1, or
 *         ::ffff:127.x.y.z). NULL, "" and names are not. */
bool http_is_loopback(const char *addr);

/**
 * @brief Read a bearer token from @p path: the file's content with trailing whitespace
 *        cut, which must be non-empty, printable ASCII and at most 4 KiB.
 * @returns a malloc'd token the caller frees, or NULL with @p err naming the file.
 */
char *http_token_read(const char *path, char *err, size_t errlen);

/**
 * @brief Record that the pipeline loop is alive. Call once per loop iteration (an atomic
 *        store, cheap). @p now_ms is *wall-clock* ms since the epoch (CLOCK_REALTIME), not
 *        stream time, since /healthz compares it with the wall clock. NULL srv: no-op.
 */
void http_heartbeat(http_server_t *srv, int64_t now_ms);

/** @brief Set readiness: true once the instance has its group assignment (maybe empty)
 *         and every assigned task is restored, false before, during a rebalance or a
 *         restore, and on shutdown. An atomic store; NULL srv: no-op. */
void http_set_ready(http_server_t *srv, bool ready);

/** @brief Stop the thread (waits for in-flight requests), close the socket, free.
 *         NULL is a no-op. The registry and the query opaque are not touched. */
void http_destroy(http_server_t *srv);

/** @brief Wall-clock ms since the epoch, the clock /healthz uses (for callers and tests). */
int64_t http_now_ms(void);

#endif
