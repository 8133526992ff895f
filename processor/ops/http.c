/*
 * http: metrics, health, readiness and state queries over libmicrohttpd (see http.h).
 *
 * Why it is shaped this way: libmicrohttpd runs its own polling thread per daemon, so the
 * pipeline never waits on a slow client, and the server's view of the pipeline is two
 * atomics (last heartbeat, ready) that the pipeline stores into. Liveness is judged on the
 * HTTP thread by comparing the heartbeat with the wall clock: a pipeline stuck in a call
 * that never returns stops beating, and the kubelet restarts the pod. Probes and queries
 * are two daemons (two threads, two connection budgets, per-client limits and idle
 * timeouts), so no query load can delay a probe into a restart. Every answer is built in
 * full before it is queued (bodies are small), so a request is one call of `route`.
 *
 * Paths are matched raw: libmicrohttpd's own unescaping is replaced by the identity, so
 * `%00` cannot cut an id short; the id is decoded here, strictly.
 */
#include "http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "log.h"

#define DEFAULT_LIVENESS_TIMEOUT_MS 30000
#define CUSTOMERS_PREFIX            "/customers/"
#define TOKEN_MAX                   4096
#define LOG_INTERVAL_MS             10000

/* The probe listener's budget: the kubelet and Prometheus need a handful of connections. */
#define PROBE_MAX_CONNECTIONS 32u
#define PROBE_MAX_PER_CLIENT  16u
#define PROBE_TIMEOUT_S       5u
/* The query listener's defaults (http_query_listener_t, cfg's http.query.* keys). */
#define QUERY_MAX_CONNECTIONS 64u
#define QUERY_MAX_PER_CLIENT  8u
#define QUERY_TIMEOUT_S       10u

typedef struct listener {
    http_server_t *srv;
    bool queries; /* the query listener; else the probe listener */
    struct MHD_Daemon *daemon;
    uint16_t port;
    _Atomic bool started;        /* set after MHD_start_daemon returned; before, errors are kept */
    char start_err[256];         /* libmicrohttpd's last message while starting (why bind failed) */
    _Atomic int64_t last_log_ms; /* when a message of libmicrohttpd was last logged */
    _Atomic int64_t log_skipped; /* messages not logged since */
} listener_t;

struct http_server {
    listener_t probe, query;
    int64_t liveness_timeout_ms;
    met_registry_t *metrics;
    http_query_fn query_fn;
    void *query_opaque;
    char *token; /* NULL: the query listener asks for none (loopback only) */
    _Atomic int64_t last_beat_ms;
    atomic_bool beating; /* the pipeline's loop has beaten once: start-up is over */
    _Atomic bool ready;
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
    if (ok == MHD_YES && status == MHD_HTTP_UNAUTHORIZED)
        ok = MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                     "Bearer realm=\"loyalty-stream\"");
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
    /* Start-up (joining, topics, init_transactions) is bounded by its own time-outs and
     * ends in the loop or in an exit: liveness judges the loop only, once it runs. */
    if (!atomic_load(&srv->beating))
        return send_json(conn, MHD_HTTP_OK, json_pack("{s:s}", "status", "starting"));
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

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Length of the valid UTF-8 sequence at @p s (at most @p n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len = 0;
    if (s[0] < 0x80)
        len = 1;
    else if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2;
    else if ((s[0] & 0xf0) == 0xe0)
        len = 3;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4;
    if (len == 0 || len > n)
        return 0;
    uint32_t cp = len == 1 ? s[0] : s[0] & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

/* Decode the raw (still percent-encoded) id into @p out (HTTP_CUSTOMER_ID_MAX + 1 bytes).
 * @returns 0, or the HTTP status that refuses it with @p why set: 414 too long, 400 a bad
 * escape, a control character (NUL included) or bytes that are not UTF-8. */
static unsigned decode_id(const char *raw, char *out, const char **why)
{
    size_t n = 0;
    for (const char *p = raw; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '%') {
            int hi = hex_digit(p[1]), lo = hi >= 0 ? hex_digit(p[2]) : -1;
            if (lo < 0) {
                *why = "the customer id has a malformed percent escape";
                return MHD_HTTP_BAD_REQUEST;
            }
            c = (unsigned char)(hi << 4 | lo);
            p += 2;
        }
        if (n == HTTP_CUSTOMER_ID_MAX) {
            *why = "the customer id is longer than 255 bytes";
            return MHD_HTTP_URI_TOO_LONG;
        }
        if (c < 0x20 || c == 0x7f) {
            *why = "the customer id holds a control character";
            return MHD_HTTP_BAD_REQUEST;
        }
        out[n++] = (char)c;
    }
    out[n] = '\0';
    for (size_t i = 0; i < n;) {
        size_t u = utf8_len((const unsigned char *)out + i, n - i);
        if (u == 0) {
            *why = "the customer id is not UTF-8";
            return MHD_HTTP_BAD_REQUEST;
        }
        i += u;
    }
    return 0;
}

static enum MHD_Result serve_customer(http_server_t *srv, struct MHD_Connection *conn,
                                      const char *raw_id)
{
    if (srv->query_fn == NULL)
        return send_error(conn, MHD_HTTP_NOT_FOUND, "state queries are not enabled");
    char id[HTTP_CUSTOMER_ID_MAX + 1];
    const char *why = NULL;
    unsigned bad = decode_id(raw_id, id, &why);
    if (bad != 0)
        return send_error(conn, bad, "%s", why);
    if (*id == '\0')
        return send_error(conn, MHD_HTTP_NOT_FOUND, "no customer id in the path");
    if (!atomic_load(&srv->ready))
        return send_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                          "not ready: the tasks of this instance are restoring");
    char *json = NULL;
    int rc = srv->query_fn(srv->query_opaque, id, &json);
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

/* Compare in time that depends on the token's length only, never on where they differ. */
static bool token_equal(const char *got, const char *want)
{
    size_t n = strlen(got), m = strlen(want);
    volatile unsigned char diff = n != m;
    for (size_t i = 0; i < m; i++)
        diff |= (unsigned char)want[i] ^ (unsigned char)(i < n ? got[i] : 0);
    return diff == 0;
}

/* True when the request carries `Authorization: Bearer <token>` (or no token is set). */
static bool authorized(const http_server_t *srv, struct MHD_Connection *conn)
{
    if (srv->token == NULL)
        return true;
    const char *h =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    h += 7;
    while (*h == ' ')
        h++;
    return token_equal(h, srv->token);
}

static enum MHD_Result route_query(http_server_t *srv, struct MHD_Connection *conn, const char *url,
                                   const char *method)
{
    if (!authorized(srv, conn))
        return send_error(conn, MHD_HTTP_UNAUTHORIZED,
                          "a bearer token is required (Authorization: Bearer <token>)");
    if (strncmp(url, CUSTOMERS_PREFIX, strlen(CUSTOMERS_PREFIX)) != 0)
        return send_error(conn, MHD_HTTP_NOT_FOUND, "no such path: %s", url);
    if (!method_allowed(method))
        return send_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method %s is not allowed on %s",
                          method, url);
    return serve_customer(srv, conn, url + strlen(CUSTOMERS_PREFIX));
}

static enum MHD_Result route_probe(http_server_t *srv, struct MHD_Connection *conn, const char *url,
                                   const char *method)
{
    bool known =
        strcmp(url, "/metrics") == 0 || strcmp(url, "/healthz") == 0 || strcmp(url, "/readyz") == 0;
    if (!known && strncmp(url, CUSTOMERS_PREFIX, strlen(CUSTOMERS_PREFIX)) == 0)
        return send_error(conn, MHD_HTTP_NOT_FOUND,
                          "state queries are served on the query listener (http.query.port)");
    if (!known)
        return send_error(conn, MHD_HTTP_NOT_FOUND, "no such path: %s", url);
    if (!method_allowed(method))
        return send_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method %s is not allowed on %s",
                          method, url);
    if (strcmp(url, "/metrics") == 0)
        return serve_metrics(srv, conn);
    if (strcmp(url, "/healthz") == 0)
        return serve_healthz(srv, conn);
    return serve_readyz(srv, conn);
}

static enum MHD_Result route(void *cls, struct MHD_Connection *conn, const char *url,
                             const char *method, const char *version, const char *upload_data,
                             size_t *upload_data_size, void **req_cls)
{
    (void)version;
    (void)upload_data;
    (void)req_cls;
    listener_t *l = cls;
    /* Answer at once, before any request body: an upload is discarded and the connection
     * closed by libmicrohttpd, which is what a wrong request deserves. */
    *upload_data_size = 0;
    return l->queries ? route_query(l->srv, conn, url, method)
                      : route_probe(l->srv, conn, url, method);
}

/* libmicrohttpd's unescaping, replaced: the path stays as received (see the top). */
static size_t keep_escaped(void *cls, struct MHD_Connection *conn, char *uri)
{
    (void)cls;
    (void)conn;
    return strlen(uri);
}

/* ---- life cycle ---- */

/* libmicrohttpd's messages: while starting (caller's thread) they are kept for the error
 * sentence of http_new; afterwards (its own thread) they are logged. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    listener_t *l = cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        msg[--n] = '\0';
    if (atomic_load(&l->started)) {
        /* At most one line per LOG_INTERVAL_MS: a client that opens connections beyond
         * its limit must not flood the log (each refusal is a message). */
        int64_t now = http_now_ms(), last = atomic_load(&l->last_log_ms);
        if (now - last < LOG_INTERVAL_MS) {
            atomic_fetch_add(&l->log_skipped, 1);
            return;
        }
        atomic_store(&l->last_log_ms, now);
        log_warn("http", "libmicrohttpd", "listener=%s err=\"%s\" skipped=%lld",
                 l->queries ? "query" : "probe", msg,
                 (long long)atomic_exchange(&l->log_skipped, 0));
        return;
    }
    size_t keep = n < sizeof l->start_err - 1 ? n : sizeof l->start_err - 1;
    memcpy(l->start_err, msg, keep);
    l->start_err[keep] = '\0';
}

/* Fill @p ss from a numeric address; @returns its length, or 0 when it does not parse. */
static socklen_t parse_bind(const char *addr, uint16_t port, struct sockaddr_storage *ss,
                            bool *ipv6)
{
    memset(ss, 0, sizeof *ss);
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

bool http_is_address(const char *addr)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return addr != NULL &&
           (inet_pton(AF_INET, addr, buf) == 1 || inet_pton(AF_INET6, addr, buf) == 1);
}

bool http_is_loopback(const char *addr)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (addr == NULL || *addr == '\0')
        return false;
    if (inet_pton(AF_INET, addr, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, addr, &a6) != 1)
        return false;
    return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
}

char *http_token_read(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        set_err(err, errlen, "cannot read the token file %s: %s", path, strerror(errno));
        return NULL;
    }
    char *tok = calloc(1, TOKEN_MAX + 2);
    size_t n = tok != NULL ? fread(tok, 1, TOKEN_MAX + 1, f) : 0;
    fclose(f);
    if (tok == NULL) {
        set_err(err, errlen, "out of memory reading the token file %s", path);
        return NULL;
    }
    while (n > 0 && isspace((unsigned char)tok[n - 1]))
        n--;
    tok[n] = '\0';
    const char *bad = n == 0 ? "is empty" : n > TOKEN_MAX ? "is longer than 4096 bytes" : NULL;
    for (size_t i = 0; i < n && bad == NULL; i++)
        if (tok[i] <= 0x20 || tok[i] >= 0x7f)
            bad = "holds a character that is not printable ASCII (or a space)";
    if (bad != NULL) {
        explicit_bzero(tok, TOKEN_MAX + 2);
        free(tok);
        set_err(err, errlen, "the token file %s %s", path, bad);
        return NULL;
    }
    return tok;
}

/* Start one listener's daemon on @p addr:@p port with its connection budget. */
static int listener_start(listener_t *l, const char *addr, uint16_t port, unsigned max_conn,
                          unsigned per_client, unsigned timeout_s, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    bool ipv6 = false;
    const char *which = l->queries ? "query listener" : "listener";
    if (parse_bind(addr, port, &ss, &ipv6) == 0) {
        set_err(err, errlen, "http: %s bind address '%s' is not a numeric IPv4 or IPv6 address",
                which, addr);
        return -1;
    }
    atomic_init(&l->started, false);
    atomic_init(&l->last_log_ms, 0);
    atomic_init(&l->log_skipped, 0);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG |
                     (ipv6 ? MHD_USE_IPv6 : 0);
    l->daemon = MHD_start_daemon(
        flags, port, NULL, NULL, route, l, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, l,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_UNESCAPE_CALLBACK, keep_escaped,
        NULL, MHD_OPTION_CONNECTION_LIMIT, max_conn, MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_client,
        MHD_OPTION_CONNECTION_TIMEOUT, timeout_s, MHD_OPTION_END);
    if (l->daemon == NULL) {
        set_err(err, errlen, "http: cannot listen on %s port %u: %s", addr, (unsigned)port,
                l->start_err[0] ? l->start_err : "unknown error");
        return -1;
    }
    atomic_store(&l->started, true);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(l->daemon, MHD_DAEMON_INFO_BIND_PORT);
    l->port = info != NULL && info->port != 0 ? info->port : port;
    return 0;
}

/* The query listener: its token and its daemon. */
static int start_queries(http_server_t *srv, const http_query_listener_t *q, char *err,
                         size_t errlen)
{
    const char *addr = q->bind_address && *q->bind_address ? q->bind_address : "127.0.0.1";
    if (q->token != NULL && *q->token != '\0') {
        srv->token = strdup(q->token);
        if (srv->token == NULL) {
            set_err(err, errlen, "http: out of memory");
            return -1;
        }
    } else if (q->token_file != NULL && *q->token_file != '\0') {
        srv->token = http_token_read(q->token_file, err, errlen);
        if (srv->token == NULL)
            return -1;
    }
    if (srv->token == NULL && !http_is_loopback(addr)) {
        set_err(err, errlen,
                "http: the query listener on %s is not loopback-only, so it needs a bearer "
                "token (http.query.token.file)",
                addr);
        return -1;
    }
    return listener_start(&srv->query, addr, q->port,
                          q->max_connections ? q->max_connections : QUERY_MAX_CONNECTIONS,
                          q->max_per_client ? q->max_per_client : QUERY_MAX_PER_CLIENT,
                          q->timeout_s ? q->timeout_s : QUERY_TIMEOUT_S, err, errlen);
}

http_server_t *http_new(const http_config_t *cfg, int64_t now_ms, char *err, size_t errlen)
{
    if (cfg == NULL) {
        set_err(err, errlen, "http: no configuration");
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
    srv->query_fn = cfg->query;
    srv->query_opaque = cfg->query_opaque;
    srv->probe = (listener_t){.srv = srv, .queries = false};
    srv->query = (listener_t){.srv = srv, .queries = true};
    atomic_init(&srv->last_beat_ms, now_ms);
    atomic_init(&srv->beating, false);
    atomic_init(&srv->ready, false);
    const char *addr = cfg->bind_address && *cfg->bind_address ? cfg->bind_address : "0.0.0.0";
    if (listener_start(&srv->probe, addr, cfg->port, PROBE_MAX_CONNECTIONS, PROBE_MAX_PER_CLIENT,
                       PROBE_TIMEOUT_S, err, errlen) != 0 ||
        (cfg->queries.enabled && start_queries(srv, &cfg->queries, err, errlen) != 0)) {
        http_destroy(srv);
        return NULL;
    }
    return srv;
}

uint16_t http_port(const http_server_t *srv)
{
    return srv != NULL ? srv->probe.port : 0;
}

uint16_t http_query_port(const http_server_t *srv)
{
    return srv != NULL && srv->query.daemon != NULL ? srv->query.port : 0;
}

void http_heartbeat(http_server_t *srv, int64_t now_ms)
{
    if (srv != NULL) {
        atomic_store_explicit(&srv->last_beat_ms, now_ms, memory_order_relaxed);
        atomic_store_explicit(&srv->beating, true, memory_order_relaxed);
    }
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
    if (srv->query.daemon != NULL)
        MHD_stop_daemon(srv->query.daemon);
    if (srv->probe.daemon != NULL)
        MHD_stop_daemon(srv->probe.daemon);
    if (srv->token != NULL) {
        explicit_bzero(srv->token, strlen(srv->token));
        free(srv->token);
    }
    free(srv);
}
