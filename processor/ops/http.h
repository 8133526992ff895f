/*
 * http: the processor's small HTTP server (libmicrohttpd, one internal thread) for the
 * orchestrator and the operators:
 *
 *   GET /metrics          the metrics registry, Prometheus text format 0.0.4
 *   GET /healthz          liveness: 200 while the pipeline loop beats, 503 when it stalls
 *   GET /readyz           readiness: 200 once the app says so (every assigned task restored)
 *   GET /customers/{id}   one customer's state as JSON, via an app-provided callback
 *
 * The one idea: the server never reaches into the pipeline. The pipeline pushes two facts
 * (a heartbeat time and a ready flag, both atomics) and lends a registry and a query
 * callback; everything the HTTP thread answers comes from those. Any other path is a 404
 * and any method but GET (or HEAD) a 405, both with a JSON body {"error": "..."}.
 */
#ifndef LS_HTTP_H
#define LS_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include "metrics.h"

typedef struct http_server http_server_t;

/** Return values of an http_query_fn besides 0 (found). */
#define HTTP_QUERY_NOT_FOUND 1

/**
 * @brief Look up one customer's state for GET /customers/{id}.
 * @param opaque      the config's query_opaque
 * @param customer_id the URL-decoded id (never empty)
 * @param json_out    on 0, a malloc'd NUL-terminated JSON document the server frees
 * @returns 0 found (*json_out set), HTTP_QUERY_NOT_FOUND (404), negative: error (500).
 * @locality called on the HTTP thread, concurrently with the pipeline: it must be
 *           thread-safe against the pipeline's writes (RocksDB reads are) and must not
 *           touch a store the pipeline is closing. Only called while ready (else 503).
 */
typedef int (*http_query_fn)(void *opaque, const char *customer_id, char **json_out);

typedef struct {
    const char *bind_address;    /**< numeric IPv4 or IPv6; NULL or "" = 0.0.0.0 */
    uint16_t port;               /**< 0 = any free port (see http_port) */
    int64_t liveness_timeout_ms; /**< /healthz is 503 after this long without a beat;
                                      <= 0 means the default, 30000 */
    met_registry_t *metrics;     /**< borrowed; NULL = /metrics serves an empty body */
    http_query_fn query;         /**< NULL = /customers/{id} answers 404 */
    void *query_opaque;          /**< passed to query */
} http_config_t;

/**
 * @brief Bind and start serving on an internal thread. The heartbeat starts at @p now_ms,
 *        so the process has liveness_timeout_ms to reach its loop; readiness starts false.
 * @param now_ms wall-clock ms since the epoch (CLOCK_REALTIME), as for http_heartbeat
 * @returns the server, or NULL with @p err filled (bad address, port in use, ...).
 */
http_server_t *http_new(const http_config_t *cfg, int64_t now_ms, char *err, size_t errlen);

/** @brief The bound TCP port (the picked one when the config asked for 0). */
uint16_t http_port(const http_server_t *srv);

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
