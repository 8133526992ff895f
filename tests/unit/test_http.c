/*
 * Unit tests of http: a real server on free loopback ports (port 0), driven with libcurl
 * the way Prometheus and the kubelet would: status codes, content types and bodies of
 * every endpoint, liveness going stale, readiness switching, the state query callback on
 * its own listener behind a bearer token, bad ids, and probes under slow query clients.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "log.h"
#include "metrics.h"

#define TOKEN "t0ken-of-the-test"

typedef struct {
    long status;
    char *body;
    size_t len;
    char content_type[128];
    char allow[64];
} reply_t;

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    reply_t *r = arg;
    size_t add = size * n;
    char *grown = realloc(r->body, r->len + add + 1);
    if (grown == NULL)
        return 0;
    memcpy(grown + r->len, data, add);
    r->len += add;
    grown[r->len] = '\0';
    r->body = grown;
    return add;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    reply_t *r = arg;
    size_t len = size * n;
    if (len > 7 && strncasecmp(data, "Allow: ", 7) == 0)
        snprintf(r->allow, sizeof r->allow, "%.*s", (int)(len - 7 - 2), data + 7);
    return len;
}

/* One request to @p port, with `Authorization: @p auth` unless NULL; @returns the reply
 * (body "" when empty), which the caller frees. */
static reply_t fetch_at(unsigned port, const char *auth, const char *method, const char *path)
{
    reply_t r = {0};
    char url[1024], hdr[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    struct curl_slist *headers = NULL;
    if (auth != NULL) {
        snprintf(hdr, sizeof hdr, "Authorization: %s", auth);
        headers = curl_slist_append(headers, hdr);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "POST") == 0)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "x=1");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (curl_easy_perform(c) == CURLE_OK) /* else status -1: no answer */
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    else
        r.status = -1;
    char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(r.content_type, sizeof r.content_type, "%s", ct ? ct : "");
    curl_easy_cleanup(c);
    curl_slist_free_all(headers);
    if (r.body == NULL)
        r.body = strdup("");
    return r;
}

/* A request to the probe listener. */
static reply_t fetch(const http_server_t *srv, const char *method, const char *path)
{
    return fetch_at(http_port(srv), NULL, method, path);
}

/* A request to the query listener, with the test's token. */
static reply_t fetch_q(const http_server_t *srv, const char *method, const char *path)
{
    return fetch_at(http_query_port(srv), "Bearer " TOKEN, method, path);
}

static void check_reply(reply_t r, const char *method, const char *path, long status,
                        const char *body)
{
    if (r.status != status || strcmp(r.body, body) != 0)
        print_error("%s %s: got %ld '%s', want %ld '%s'\n", method, path, r.status, r.body, status,
                    body);
    assert_int_equal(r.status, status);
    assert_string_equal(r.body, body);
    free(r.body);
}

static void assert_reply_q(const http_server_t *srv, const char *method, const char *path,
                           long status, const char *body)
{
    check_reply(fetch_q(srv, method, path), method, path, status, body);
}

static void assert_reply(const http_server_t *srv, const char *method, const char *path,
                         long status, const char *body)
{
    check_reply(fetch(srv, method, path), method, path, status, body);
}

/* ---- a fake state store for the query callback ---- */

typedef struct {
    int calls;
    char last_id[64];
} store_t;

static int query(void *opaque, const char *customer_id, char **json_out)
{
    store_t *st = opaque;
    st->calls++;
    snprintf(st->last_id, sizeof st->last_id, "%s", customer_id);
    if (strncmp(customer_id, "boom", 4) == 0)
        return -1;
    if (strcmp(customer_id, "c-1") != 0 && strcmp(customer_id, "a b") != 0)
        return HTTP_QUERY_NOT_FOUND;
    char buf[128];
    snprintf(buf, sizeof buf, "{\"customer\":\"%s\",\"points\":120}", customer_id);
    *json_out = strdup(buf);
    return 0;
}

typedef struct {
    met_registry_t *reg;
    store_t store;
    http_server_t *srv;
} fixture_t;

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    char err[256];
    fx->reg = met_registry_new();
    met_family_t *f =
        met_family_new(fx->reg, &(met_spec_t){.name = "loyalty_timers_fired_total", .help = "T."},
                       err, sizeof err);
    met_counter_add(met_counter_get(f, NULL, err, sizeof err), 5);
    http_config_t cfg = {.bind_address = "127.0.0.1",
                         .port = 0,
                         .liveness_timeout_ms = 1000,
                         .metrics = fx->reg,
                         .query = query,
                         .query_opaque = &fx->store,
                         .queries = {.enabled = true, .token = TOKEN}};
    fx->srv = http_new(&cfg, http_now_ms(), err, sizeof err);
    if (fx->srv == NULL) {
        print_error("http_new: %s\n", err);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    http_destroy(fx->srv);
    met_registry_destroy(fx->reg);
    free(fx);
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- tests ---- */

static void test_port_zero_picks_a_free_port(void **state)
{
    fixture_t *fx = *state;
    assert_true(http_port(fx->srv) > 0);
}

static void test_metrics_serves_the_registry_as_text(void **state)
{
    fixture_t *fx = *state;
    reply_t r = fetch(fx->srv, "GET", "/metrics");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
    assert_string_equal(r.body, "# HELP loyalty_timers_fired_total T.\n"
                                "# TYPE loyalty_timers_fired_total counter\n"
                                "loyalty_timers_fired_total 5\n");
    free(r.body);
}

/* Before the loop's first beat the process is starting (its waits are bounded by their
 * own time-outs): alive, however long since the server started. */
static void test_healthz_is_200_starting_before_the_first_heartbeat(void **state)
{
    fixture_t *fx = *state;
    sleep_ms(1500); /* past the 1000 ms threshold */
    reply_t r = fetch(fx->srv, "GET", "/healthz");
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"status\":\"starting\""));
    free(r.body);
}

static void test_healthz_turns_503_after_a_stale_heartbeat(void **state)
{
    fixture_t *fx = *state;
    http_heartbeat(fx->srv, http_now_ms());
    reply_t r = fetch(fx->srv, "GET", "/healthz");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "application/json");
    assert_non_null(strstr(r.body, "\"status\":\"alive\""));
    free(r.body);

    sleep_ms(1500); /* the threshold is 1000 ms */
    r = fetch(fx->srv, "GET", "/healthz");
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body, "\"status\":\"stalled\""));
    assert_non_null(strstr(r.body, "\"timeout_ms\":1000"));
    free(r.body);

    http_heartbeat(fx->srv, http_now_ms()); /* the loop came back */
    r = fetch(fx->srv, "GET", "/healthz");
    assert_int_equal(r.status, 200);
    free(r.body);

    http_heartbeat(fx->srv, http_now_ms() - 10000); /* a beat stamped long ago */
    r = fetch(fx->srv, "GET", "/healthz");
    assert_int_equal(r.status, 503);
    free(r.body);
}

static void test_readyz_follows_set_ready(void **state)
{
    fixture_t *fx = *state;
    assert_reply(fx->srv, "GET", "/readyz", 503, "{\"status\":\"not ready\"}");
    http_set_ready(fx->srv, true);
    assert_reply(fx->srv, "GET", "/readyz", 200, "{\"status\":\"ready\"}");
    http_set_ready(fx->srv, false); /* a rebalance */
    assert_reply(fx->srv, "GET", "/readyz", 503, "{\"status\":\"not ready\"}");
}

static void test_customer_query_is_503_until_ready(void **state)
{
    fixture_t *fx = *state;
    assert_reply_q(fx->srv, "GET", "/customers/c-1", 503,
                   "{\"error\":\"not ready: the tasks of this instance are restoring\"}");
    assert_int_equal(fx->store.calls, 0);
}

static void test_customer_query_found_unknown_and_failing(void **state)
{
    fixture_t *fx = *state;
    http_set_ready(fx->srv, true);
    reply_t r = fetch_q(fx->srv, "GET", "/customers/c-1");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "application/json");
    assert_string_equal(r.body, "{\"customer\":\"c-1\",\"points\":120}");
    free(r.body);
    assert_reply_q(fx->srv, "GET", "/customers/nobody", 404,
                   "{\"error\":\"customer nobody is not known on this instance\"}");
    assert_reply_q(fx->srv, "GET", "/customers/boom", 500,
                   "{\"error\":\"state query for customer boom failed\"}");
    assert_reply_q(fx->srv, "GET", "/customers/", 404,
                   "{\"error\":\"no customer id in the path\"}");
    assert_int_equal(fx->store.calls, 3);
}

static void test_customer_id_is_url_decoded(void **state)
{
    fixture_t *fx = *state;
    http_set_ready(fx->srv, true);
    assert_reply_q(fx->srv, "GET", "/customers/a%20b", 200,
                   "{\"customer\":\"a b\",\"points\":120}");
    assert_string_equal(fx->store.last_id, "a b");
}

static void test_unknown_path_is_404_with_json(void **state)
{
    fixture_t *fx = *state;
    assert_reply(fx->srv, "GET", "/nope", 404, "{\"error\":\"no such path: /nope\"}");
    assert_reply(fx->srv, "GET", "/metrics/", 404, "{\"error\":\"no such path: /metrics/\"}");
    assert_reply(fx->srv, "GET", "/", 404, "{\"error\":\"no such path: /\"}");
}

static void test_post_is_405_with_allow_header(void **state)
{
    fixture_t *fx = *state;
    reply_t r = fetch(fx->srv, "POST", "/metrics");
    assert_int_equal(r.status, 405);
    assert_string_equal(r.body, "{\"error\":\"method POST is not allowed on /metrics\"}");
    assert_string_equal(r.allow, "GET, HEAD");
    free(r.body);
    assert_reply_q(fx->srv, "DELETE", "/customers/c-1", 405,
                   "{\"error\":\"method DELETE is not allowed on /customers/c-1\"}");
    assert_int_equal(fx->store.calls, 0);
}

static void test_head_answers_without_body(void **state)
{
    fixture_t *fx = *state;
    http_set_ready(fx->srv, true);
    reply_t r = {0};
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/readyz", (unsigned)http_port(fx->srv));
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_easy_cleanup(c);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, 0);
    free(r.body);
}

static void test_without_registry_or_query(void **state)
{
    (void)state;
    char err[256];
    http_server_t *srv =
        http_new(&(http_config_t){.bind_address = "127.0.0.1"}, http_now_ms(), err, sizeof err);
    assert_non_null(srv);
    http_set_ready(srv, true);
    assert_reply(srv, "GET", "/metrics", 200, "");
    assert_reply(srv, "GET", "/customers/c-1", 404,
                 "{\"error\":\"state queries are served on the query listener "
                 "(http.query.port)\"}");
    assert_int_equal(http_query_port(srv), 0); /* off by default */
    http_destroy(srv);
    srv = http_new(&(http_config_t){.bind_address = "127.0.0.1", .queries = {.enabled = true}},
                   http_now_ms(), err, sizeof err);
    assert_non_null(srv); /* loopback: no token needed */
    http_set_ready(srv, true);
    check_reply(fetch_at(http_query_port(srv), NULL, "GET", "/customers/c-1"), "GET",
                "/customers/c-1", 404, "{\"error\":\"state queries are not enabled\"}");
    http_destroy(srv);
}

static void test_bad_address_and_busy_port_fail_with_a_message(void **state)
{
    fixture_t *fx = *state;
    char err[256] = "";
    assert_null(http_new(&(http_config_t){.bind_address = "localhost"}, 0, err, sizeof err));
    assert_non_null(strstr(err, "'localhost'"));
    err[0] = '\0';
    assert_null(http_new(&(http_config_t){.bind_address = "127.0.0.1", .port = http_port(fx->srv)},
                         0, err, sizeof err));
    assert_non_null(strstr(err, "cannot listen on 127.0.0.1"));
    assert_non_null(strstr(err, "in use"));
    http_destroy(NULL);
    http_heartbeat(NULL, 0);
    http_set_ready(NULL, true);
}

static void test_ipv6_loopback(void **state)
{
    (void)state;
    char err[256];
    http_server_t *srv =
        http_new(&(http_config_t){.bind_address = "::1"}, http_now_ms(), err, sizeof err);
    if (srv == NULL) {
        print_message("skipping: no IPv6 loopback here (%s)\n", err);
        skip();
    }
    char url[128];
    snprintf(url, sizeof url, "http://[::1]:%u/readyz", (unsigned)http_port(srv));
    CURL *c = curl_easy_init();
    reply_t r = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_easy_cleanup(c);
    assert_int_equal(r.status, 503);
    free(r.body);
    http_destroy(srv);
}

/* ---- the query listener: token, bad ids, limits ---- */

static void test_query_without_the_token_is_refused(void **state)
{
    fixture_t *fx = *state;
    http_set_ready(fx->srv, true);
    unsigned qp = http_query_port(fx->srv);
    assert_true(qp > 0 && qp != http_port(fx->srv));
    const char *refused = "{\"error\":\"a bearer token is required (Authorization: Bearer "
                          "<token>)\"}";
    const char *bad[] = {
        NULL,           "Bearer",       "Bearer ", "Bearer wrong", "Bearer " TOKEN "x",
        "Bearer t0ken", "Basic " TOKEN, TOKEN};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        reply_t r = fetch_at(qp, bad[i], "GET", "/customers/c-1");
        check_reply(r, "GET", bad[i] ? bad[i] : "(no header)", 401, refused);
    }
    /* Refused before anything else: an unknown path tells nothing either. */
    check_reply(fetch_at(qp, NULL, "GET", "/nope"), "GET", "/nope", 401, refused);
    assert_int_equal(fx->store.calls, 0);
    assert_reply_q(fx->srv, "GET", "/customers/c-1", 200, "{\"customer\":\"c-1\",\"points\":120}");
    check_reply(fetch_at(qp, "bearer  " TOKEN, "GET", "/customers/c-1"), "GET", "lower case", 200,
                "{\"customer\":\"c-1\",\"points\":120}");
    assert_int_equal(fx->store.calls, 2);
}

static void test_unauthorized_answer_names_the_scheme(void **state)
{
    fixture_t *fx = *state;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/customers/c-1",
             (unsigned)http_query_port(fx->srv));
    CURL *c = curl_easy_init();
    char *seen = NULL;
    size_t seen_len = 0;
    FILE *h = open_memstream(&seen, &seen_len);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_cleanup(c);
    fclose(h);
    assert_non_null(strstr(seen, "WWW-Authenticate: Bearer realm=\"loyalty-stream\""));
    free(seen);
}

static void test_customers_are_not_served_on_the_probe_listener(void **state)
{
    fixture_t *fx = *state;
    http_set_ready(fx->srv, true);
    assert_reply(fx->srv, "GET", "/customers/c-1", 404,
                 "{\"error\":\"state queries are served on the query listener "
                 "(http.query.port)\"}");
    check_reply(fetch_at(http_query_port(fx->srv), "Bearer " TOKEN, "GET", "/healthz"), "GET",
                "/healthz on the query port", 404, "{\"error\":\"no such path: /healthz\"}");
    assert_int_equal(fx->store.calls, 0);
}

static void test_bad_ids_are_400_404_or_414_never_500(void **state)
{
    fixture_t *fx = *state;
    http_set_ready(fx->srv, true);
    const char *ctl = "{\"error\":\"the customer id holds a control character\"}";
    assert_reply_q(fx->srv, "GET", "/customers/a%00b", 400, ctl); /* not looked up as "a" */
    assert_reply_q(fx->srv, "GET", "/customers/%00", 400, ctl);
    assert_reply_q(fx->srv, "GET", "/customers/c-1%0Ats=1%20level=error%20msg=%22FAKE%22", 400,
                   ctl);
    assert_reply_q(fx->srv, "GET", "/customers/a%0db", 400, ctl);
    assert_reply_q(fx->srv, "GET", "/customers/a%09b", 400, ctl);
    assert_reply_q(fx->srv, "GET", "/customers/a%1Fb", 400, ctl);
    assert_reply_q(fx->srv, "GET", "/customers/a%7fb", 400, ctl);
    const char *esc = "{\"error\":\"the customer id has a malformed percent escape\"}";
    assert_reply_q(fx->srv, "GET", "/customers/a%G1", 400, esc);
    assert_reply_q(fx->srv, "GET", "/customers/a%", 400, esc);
    assert_reply_q(fx->srv, "GET", "/customers/a%4", 400, esc);
    assert_reply_q(fx->srv, "GET", "/customers/a%ffb", 400,
                   "{\"error\":\"the customer id is not UTF-8\"}");
    assert_reply_q(fx->srv, "GET", "/customers/%C0%AF", 400,
                   "{\"error\":\"the customer id is not UTF-8\"}");
    assert_int_equal(fx->store.calls, 0);

    char path[1200] = "/customers/";
    memset(path + 11, 'x', 255);
    path[11 + 255] = '\0';
    reply_t r = fetch_q(fx->srv, "GET", path); /* 255 bytes: the longest id, asked for */
    assert_int_equal(r.status, 404);
    free(r.body);
    assert_int_equal(fx->store.calls, 1);
    strcat(path, "x");
    assert_reply_q(fx->srv, "GET", path, 414,
                   "{\"error\":\"the customer id is longer than 255 bytes\"}");
    memset(path + 11, 0, sizeof path - 11);
    for (int i = 0; i < 300; i++)
        strcat(path, "%41");
    assert_reply_q(fx->srv, "GET", path, 414,
                   "{\"error\":\"the customer id is longer than 255 bytes\"}");
    assert_int_equal(fx->store.calls, 1);
    assert_reply_q(fx->srv, "GET", "/customers/Gr%C3%BC%C3%9Fe", 404,
                   "{\"error\":\"customer Grüße is not known on this instance\"}");
    assert_string_equal(fx->store.last_id, "Grüße");
    assert_reply_q(fx->srv, "GET", "/customers/a+b%2Fc?x=1", 404,
                   "{\"error\":\"customer a+b/c is not known on this instance\"}");
}

static void test_failed_query_logs_one_escaped_line(void **state)
{
    fixture_t *fx = *state;
    http_set_ready(fx->srv, true);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    log_configure(LOG_INFO, false, f);
    assert_reply_q(fx->srv, "GET", "/customers/boom%22%20level=error%20msg=%22FAKE", 500,
                   "{\"error\":\"state query for customer boom\\\" level=error msg=\\\"FAKE "
                   "failed\"}");
    log_configure(LOG_INFO, false, NULL);
    fclose(f);
    size_t lines = 0;
    for (char *p = buf; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 1);
    assert_non_null(strstr(buf, " customer=\"boom\\\" level=error msg=\\\"FAKE\" rc=-1\n"));
    free(buf);
}

/* A TCP connection to 127.0.0.1:@p port that sends nothing; -1 when refused. */
static int idle_connection(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* True when the server closed @p fd (EOF or reset), waiting up to @p ms. */
static bool closed_by_server(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, ms) <= 0)
        return false;
    char b;
    ssize_t n = recv(fd, &b, 1, MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno == ECONNRESET);
}

static void test_probes_stay_green_while_a_client_holds_many_slow_query_connections(void **state)
{
    fixture_t *fx = *state;
    http_set_ready(fx->srv, true);
    enum { N = 50 };
    int fds[N];
    for (int i = 0; i < N; i++)
        fds[i] = idle_connection(http_query_port(fx->srv));
    for (int round = 0; round < 5; round++) {
        http_heartbeat(fx->srv, http_now_ms());
        int64_t t0 = http_now_ms();
        reply_t r = fetch(fx->srv, "GET", "/healthz");
        int64_t took = http_now_ms() - t0;
        assert_int_equal(r.status, 200);
        free(r.body);
        r = fetch(fx->srv, "GET", "/readyz");
        assert_int_equal(r.status, 200);
        free(r.body);
        if (took >= 1000)
            print_error("/healthz took %lld ms\n", (long long)took);
        assert_true(took < 1000);
    }
    /* The per-client limit (8) closed the rest at once. */
    int closed = 0;
    for (int i = 0; i < N; i++)
        closed += fds[i] < 0 || closed_by_server(fds[i], 50);
    assert_true(closed >= N - 8);
    for (int i = 0; i < N; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    /* Once they are gone, queries are served again. */
    reply_t r = {0};
    for (int tries = 0; tries < 50; tries++) {
        r = fetch_q(fx->srv, "GET", "/customers/c-1");
        if (r.status == 200)
            break;
        free(r.body);
        r.body = NULL;
        sleep_ms(20);
    }
    assert_int_equal(r.status, 200);
    free(r.body);
}

static void test_probes_stay_green_when_slow_clients_hold_every_query_slot(void **state)
{
    (void)state;
    char err[256];
    store_t st = {0};
    /* No per-client limit to speak of: this client alone fills the query listener. */
    http_server_t *srv = http_new(
        &(http_config_t){
            .bind_address = "127.0.0.1",
            .query = query,
            .query_opaque = &st,
            .queries = {.enabled = true, .max_connections = 40, .max_per_client = 100}},
        http_now_ms(), err, sizeof err);
    assert_non_null(srv);
    http_set_ready(srv, true);
    enum { N = 50 };
    int fds[N];
    for (int i = 0; i < N; i++)
        fds[i] = idle_connection(http_query_port(srv));
    /* A query now finds no slot (the listener is full)... */
    reply_t r = fetch_at(http_query_port(srv), NULL, "GET", "/customers/c-1");
    assert_int_not_equal(r.status, 200);
    free(r.body);
    /* ...and the probes do not care. */
    for (int round = 0; round < 5; round++) {
        http_heartbeat(srv, http_now_ms());
        int64_t t0 = http_now_ms();
        r = fetch(srv, "GET", "/healthz");
        int64_t took = http_now_ms() - t0;
        assert_int_equal(r.status, 200);
        free(r.body);
        assert_true(took < 1000);
        r = fetch(srv, "GET", "/metrics");
        assert_int_equal(r.status, 200);
        free(r.body);
    }
    for (int i = 0; i < N; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    http_destroy(srv);
}

static void test_idle_query_connections_time_out(void **state)
{
    (void)state;
    char err[256];
    http_server_t *srv = http_new(
        &(http_config_t){.bind_address = "127.0.0.1",
                         .query = query,
                         .queries = {.enabled = true, .timeout_s = 1, .max_per_client = 2}},
        http_now_ms(), err, sizeof err);
    assert_non_null(srv);
    int a = idle_connection(http_query_port(srv)), b = idle_connection(http_query_port(srv));
    int c = idle_connection(http_query_port(srv));
    assert_true(a >= 0 && b >= 0);
    assert_true(c < 0 || closed_by_server(c, 500)); /* the third from this client */
    assert_false(closed_by_server(a, 300));
    assert_true(closed_by_server(a, 3000)); /* idle for more than a second */
    assert_true(closed_by_server(b, 1000));
    close(a);
    close(b);
    if (c >= 0)
        close(c);
    http_destroy(srv);
}

static char token_path[64];

static void write_token_file(const char *content)
{
    snprintf(token_path, sizeof token_path, "/tmp/test_http_token_%d", (int)getpid());
    FILE *f = fopen(token_path, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
}

static void test_exposed_query_listener_needs_a_token(void **state)
{
    (void)state;
    char err[256] = "";
    store_t st = {0};
    http_config_t cfg = {.bind_address = "127.0.0.1",
                         .query = query,
                         .query_opaque = &st,
                         .queries = {.enabled = true, .bind_address = "0.0.0.0"}};
    assert_null(http_new(&cfg, http_now_ms(), err, sizeof err));
    assert_non_null(strstr(err, "http.query.token.file"));
    assert_non_null(strstr(err, "0.0.0.0"));

    cfg.queries.token_file = "/nonexistent/token";
    assert_null(http_new(&cfg, http_now_ms(), err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent/token"));

    write_token_file(" \n");
    cfg.queries.token_file = token_path;
    assert_null(http_new(&cfg, http_now_ms(), err, sizeof err));
    assert_non_null(strstr(err, "is empty"));

    write_token_file(TOKEN "\n");
    http_server_t *srv = http_new(&cfg, http_now_ms(), err, sizeof err);
    assert_non_null(srv);
    http_set_ready(srv, true);
    check_reply(fetch_at(http_query_port(srv), NULL, "GET", "/customers/c-1"), "GET", "no token",
                401, "{\"error\":\"a bearer token is required (Authorization: Bearer <token>)\"}");
    reply_t r = fetch_at(http_query_port(srv), "Bearer " TOKEN, "GET", "/customers/c-1");
    assert_int_equal(r.status, 200);
    free(r.body);
    http_destroy(srv);
    unlink(token_path);
}

static void test_loopback_addresses(void **state)
{
    (void)state;
    assert_true(http_is_loopback("127.0.0.1"));
    assert_true(http_is_loopback("127.1.2.3"));
    assert_true(http_is_loopback("::1"));
    assert_true(http_is_loopback("::ffff:127.0.0.1"));
    assert_false(http_is_loopback("0.0.0.0"));
    assert_false(http_is_loopback("::"));
    assert_false(http_is_loopback("10.0.0.1"));
    assert_false(http_is_loopback("localhost"));
    assert_false(http_is_loopback(""));
    assert_false(http_is_loopback(NULL));
    assert_true(http_is_address("0.0.0.0"));
    assert_true(http_is_address("fe80::1"));
    assert_false(http_is_address("localhost"));
    assert_false(http_is_address(""));
    assert_false(http_is_address(NULL));
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_port_zero_picks_a_free_port),
        T(test_metrics_serves_the_registry_as_text),
        T(test_healthz_is_200_starting_before_the_first_heartbeat),
        T(test_healthz_turns_503_after_a_stale_heartbeat),
        T(test_readyz_follows_set_ready),
        T(test_customer_query_is_503_until_ready),
        T(test_customer_query_found_unknown_and_failing),
        T(test_customer_id_is_url_decoded),
        T(test_unknown_path_is_404_with_json),
        T(test_post_is_405_with_allow_header),
        T(test_head_answers_without_body),
        T(test_bad_address_and_busy_port_fail_with_a_message),
        T(test_query_without_the_token_is_refused),
        T(test_unauthorized_answer_names_the_scheme),
        T(test_customers_are_not_served_on_the_probe_listener),
        T(test_bad_ids_are_400_404_or_414_never_500),
        T(test_failed_query_logs_one_escaped_line),
        T(test_probes_stay_green_while_a_client_holds_many_slow_query_connections),
        cmocka_unit_test(test_probes_stay_green_when_slow_clients_hold_every_query_slot),
        cmocka_unit_test(test_idle_query_connections_time_out),
        cmocka_unit_test(test_exposed_query_listener_needs_a_token),
        cmocka_unit_test(test_loopback_addresses),
        cmocka_unit_test(test_without_registry_or_query),
        cmocka_unit_test(test_ipv6_loopback),
    };
#undef T
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
