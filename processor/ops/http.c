/*
 * http: metrics, health, readiness and state queries over libmicrohttpd (see http.h).
 *
 * Why it is shaped this way: libmicrohttpd runs its own polling thread, so the pipeline
 * never waits on a slow client, and the server's view of the pipeline is two atomics
 * (last heartbeat, ready) that the pipeline stores into. Liveness is judged on the HTTP
 * thread by comparing the heartbeat with the wall clock: a pipeline stuck in a call that
 * never returns stops beating, and the kubelet restarts the pod. Every answer is built in
 * full before it is queued (bodies are small), so a request is one call of `route`.
 */
#include "http.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "log.h"

#define DEFAULT_LIVENESS_TIMEOUT_MS 30000
#define CUSTOMERS_PREFIX            "/customers/"

struct http_server {
    struct MHD_Daemon *daemon;
    uint16_t port;
    int64_t liveness_timeout_ms;
    met_registry_t *metrics;
    http_query_fn query;
    void *query_opaque;
    _Atomic int64_t last_beat_ms;
    _Atomic bool ready;
    _Atomic bool started; /* set after MHD_start_daemon returned; before, errors are kept */
    char start_err[256];  /* libmicrohttpd's last message while starting (why bind failed) */
};

int64_t http_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- responses ---- */

/* Queue @p body (malloc'd, ownership taken, freed by libmicrohttpd with free()). */
static enum MHD_Result send_body(struct MHD_Connection *conn, unsigned status, char *body,
                                 const char *content_type)
{
    if (body == NULL)
        return MHD_NO; /* out of memory: libmicrohttpd closes the connection */
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(body);
        return MHD_NO;
    }
    enum MHD_Result ok = MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (ok == MHD_YES && status == MHD_HTTP_METHOD_NOT_ALLOWED)
        ok = MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    if (ok == MHD_YES)
        ok = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ok;
}

/* A JSON object body from jansson (json_dumps memory is freed with free()). */
static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned status, json_t *obj)
{
    char *body = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    return send_body(conn, status, body, "application/json");
}

static enum MHD_Result send_error(struct MHD_Connection *conn, unsigned status, const char *fmt,
                                  ...) __attribute__((format(printf, 3, 4)));
static enum MHD_Result send_error(struct MHD_Connection *conn, unsigned status, const char *fmt,
                                  ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *obj = json_pack("{s:s}", "error", msg);
    if (obj == NULL) /* the message is not UTF-8: a path with raw bytes */
        obj = json_pack("{s:s}", "error", "request failed");
    return send_json(conn, status, obj);
}

/* ---- endpoints ---- */

static enum MHD_Result serve_metrics(http_server_t *srv, struct MHD_Connection *conn)
{
    char *text = srv->metrics != NULL ? met_render(srv->metrics, NULL) : strdup("");
    if (text == NULL)
        return send_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory rendering metrics");
    return send_body(conn, MHD_HTTP_OK, text, "text/plain; version=0.0.4; charset=utf-8");
}

static enum MHD_Result serve_healthz(http_server_t *srv, struct MHD_Connection *conn)
{
    int64_t age = http_now_ms() - atomic_load(&srv->last_beat_ms);
    if (age < 0)
        age = 0; /* a beat stamped slightly ahead of this thread's clock read */
    bool alive = age <= srv->liveness_timeout_ms;
    json_t *obj =
        json_pack("{s:s,s:I,s:I}", "status", alive ? "alive" : "stalled", "heartbeat_age_ms",
                  (json_int_t)age, "timeout_ms", (json_int_t)srv->liveness_timeout_ms);
    return send_json(conn, alive ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, obj);
}

static enum MHD_Result serve_readyz(http_server_t *srv, struct MHD_Connection *conn)
{
    bool ready = atomic_load(&srv->ready);
    json_t *obj = json_pack("{s:s}", "status", ready ? "ready" : "not ready");
    return send_json(conn, ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, obj);
}

static enum MHD_Result serve_customer(http_server_t *srv, struct MHD_Connection *conn,
                                      const char *id)
{
    if (srv->query == NULL)
        return send_error(conn, MHD_HTTP_NOT_FOUND, "state queries are not enabled");
    if (*id == '\0')
        return send_error(conn, MHD_HTTP_NOT_FOUND, "no customer id in the path");
    if (!atomic_load(&srv->ready))
        return send_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                          "not ready: the tasks of this instance are restoring");
    char *json = NULL;
    int rc = srv->query(srv->query_opaque, id, &json);
    if (rc == 0 && json != NULL)
        return send_body(conn, MHD_HTTP_OK, json, "application/json");
    free(json);
    if (rc == HTTP_QUERY_NOT_FOUND)
        return send_error(conn, MHD_HTTP_NOT_FOUND, "customer %s is not known on this instance",
                          id);
    log_warn("http", "state query failed", "customer=\"%s\" rc=%d", id, rc);
    return send_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "state query for customer %s failed",
                      id);
}

static bool method_allowed(const char *method)
{
    return strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
}

static enum MHD_Result route(void *cls, struct MHD_Connection *conn, const char *url,
                             const char *method, const char *version, const char *upload_data,
                             size_t *upload_data_size, void **req_cls)
{
    (void)version;
    (void)upload_data;
    (void)req_cls;
    http_server_t *srv = cls;
    /* Answer at once, before any request body: an upload is discarded and the connection
     * closed by libmicrohttpd, which is what a wrong request deserves. */
    *upload_data_size = 0;
    bool known = strcmp(url, "/metrics") == 0 || strcmp(url, "/healthz") == 0 ||
                 strcmp(url, "/readyz") == 0 ||
                 strncmp(url, CUSTOMERS_PREFIX, strlen(CUSTOMERS_PREFIX)) == 0;
    if (!known)
        return send_error(conn, MHD_HTTP_NOT_FOUND, "no such path: %s", url);
    if (!method_allowed(method))
        return send_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method %s is not allowed on %s",
                          method, url);
    if (strcmp(url, "/metrics") == 0)
        return serve_metrics(srv, conn);
    if (strcmp(url, "/healthz") == 0)
        return serve_healthz(srv, conn);
    if (strcmp(url, "/readyz") == 0)
        return serve_readyz(srv, conn);
    return serve_customer(srv, conn, url + strlen(CUSTOMERS_PREFIX));
}

/* ---- life cycle ---- */

/* libmicrohttpd's messages: while starting (caller's thread) they are kept for the error
 * sentence of http_new; afterwards (its own thread) they are logged. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    http_server_t *srv = cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        msg[--n] = '\0';
    for (char *p = msg; *p != '\0'; p++)
        if (*p == '"')
            *p = '\'';
    if (atomic_load(&srv->started)) {
        log_warn("http", "libmicrohttpd", "err=\"%s\"", msg);
        return;
    }
    size_t keep = n < sizeof srv->start_err - 1 ? n : sizeof srv->start_err - 1;
    memcpy(srv->start_err, msg, keep);
    srv->start_err[keep] = '\0';
}

/* Fill @p ss from a numeric address; @returns its length, or 0 when it does not parse. */
static socklen_t parse_bind(const char *addr, uint16_t port, struct sockaddr_storage *ss,
                            bool *ipv6)
{
    memset(ss, 0, sizeof *ss);
    if (addr == NULL || *addr == '\0')
        addr = "0.0.0.0";
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        *ipv6 = false;
        return sizeof *v4;
    }
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        *ipv6 = true;
        return sizeof *v6;
    }
    return 0;
}

http_server_t *http_new(const http_config_t *cfg, int64_t now_ms, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    bool ipv6 = false;
    if (cfg == NULL || parse_bind(cfg->bind_address, cfg->port, &ss, &ipv6) == 0) {
        set_err(err, errlen, "http: bind address '%s' is not a numeric IPv4 or IPv6 address",
                cfg && cfg->bind_address ? cfg->bind_address : "(no config)");
        return NULL;
    }
    http_server_t *srv = calloc(1, sizeof *srv);
    if (srv == NULL) {
        set_err(err, errlen, "http: out of memory");
        return NULL;
    }
    srv->liveness_timeout_ms =
        cfg->liveness_timeout_ms > 0 ? cfg->liveness_timeout_ms : DEFAULT_LIVENESS_TIMEOUT_MS;
    srv->metrics = cfg->metrics;
    srv->query = cfg->query;
    srv->query_opaque = cfg->query_opaque;
    atomic_init(&srv->last_beat_ms, now_ms);
    atomic_init(&srv->ready, false);
    atomic_init(&srv->started, false);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG |
                     (ipv6 ? MHD_USE_IPv6 : 0);
    srv->daemon = MHD_start_daemon(flags, cfg->port, NULL, NULL, route, srv,
                                   MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv, MHD_OPTION_SOCK_ADDR,
                                   (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT, 64u,
                                   MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    if (srv->daemon == NULL) {
        set_err(err, errlen, "http: cannot listen on %s port %u: %s",
                cfg->bind_address && *cfg->bind_address ? cfg->bind_address : "0.0.0.0",
                (unsigned)cfg->port, srv->start_err[0] ? srv->start_err : "unknown error");
        free(srv);
        return NULL;
    }
    atomic_store(&srv->started, true);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info != NULL && info->port != 0 ? info->port : cfg->port;
    return srv;
}

uint16_t http_port(const http_server_t *srv)
{
    return srv != NULL ? srv->port : 0;
}

void http_heartbeat(http_server_t *srv, int64_t now_ms)
{
    if (srv != NULL)
        atomic_store_explicit(&srv->last_beat_ms, now_ms, memory_order_relaxed);
}

void http_set_ready(http_server_t *srv, bool ready)
{
    if (srv != NULL)
        atomic_store(&srv->ready, ready);
}

void http_destroy(http_server_t *srv)
{
    if (srv == NULL)
        return;
    MHD_stop_daemon(srv->daemon);
    free(srv);
}
