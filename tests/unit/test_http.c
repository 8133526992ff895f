/*
 * Unit tests of http: a real server on a free loopback port (port 0), driven with libcurl
 * the way Prometheus and the kubelet would: status codes, content types and bodies of
 * every endpoint, liveness going stale, readiness switching, the state query callback.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "metrics.h"

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

/* One request; @returns the reply (body "" when empty), which the caller frees. */
static reply_t fetch(const http_server_t *srv, const char *method, const char *path)
{
    reply_t r = {0};
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", (unsigned)http_port(srv), path);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "POST") == 0)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "x=1");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(c);
    assert_int_equal(rc, CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(r.content_type, sizeof r.content_type, "%s", ct ? ct : "");
    curl_easy_cleanup(c);
    if (r.body == NULL)
        r.body = strdup("");
    return r;
}

static void assert_reply(const http_server_t *srv, const char *method, const char *path,
                         long status, const char *body)
{
    reply_t r = fetch(srv, method, path);
    if (r.status != status || strcmp(r.body, body) != 0)
        print_error("%s %s: got %ld '%s', want %ld '%s'\n", method, path, r.status, r.body, status,
                    body);
    assert_int_equal(r.status, status);
    assert_string_equal(r.body, body);
    free(r.body);
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
    if (strcmp(customer_id, "boom") == 0)
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
                         .query_opaque = &fx->store};
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
    assert_reply(fx->srv, "GET", "/customers/c-1", 503,
                 "{\"error\":\"not ready: the tasks of this instance are restoring\"}");
    assert_int_equal(fx->store.calls, 0);
}

static void test_customer_query_found_unknown_and_failing(void **state)
{
    fixture_t *fx = *state;
    http_set_ready(fx->srv, true);
    reply_t r = fetch(fx->srv, "GET", "/customers/c-1");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "application/json");
    assert_string_equal(r.body, "{\"customer\":\"c-1\",\"points\":120}");
    free(r.body);
    assert_reply(fx->srv, "GET", "/customers/nobody", 404,
                 "{\"error\":\"customer nobody is not known on this instance\"}");
    assert_reply(fx->srv, "GET", "/customers/boom", 500,
                 "{\"error\":\"state query for customer boom failed\"}");
    assert_reply(fx->srv, "GET", "/customers/", 404, "{\"error\":\"no customer id in the path\"}");
    assert_int_equal(fx->store.calls, 3);
}

static void test_customer_id_is_url_decoded(void **state)
{
    fixture_t *fx = *state;
    http_set_ready(fx->srv, true);
    assert_reply(fx->srv, "GET", "/customers/a%20b", 200, "{\"customer\":\"a b\",\"points\":120}");
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
    assert_reply(fx->srv, "DELETE", "/customers/c-1", 405,
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
                 "{\"error\":\"state queries are not enabled\"}");
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

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_port_zero_picks_a_free_port),
        T(test_metrics_serves_the_registry_as_text),
        T(test_healthz_turns_503_after_a_stale_heartbeat),
        T(test_readyz_follows_set_ready),
        T(test_customer_query_is_503_until_ready),
        T(test_customer_query_found_unknown_and_failing),
        T(test_customer_id_is_url_decoded),
        T(test_unknown_path_is_404_with_json),
        T(test_post_is_405_with_allow_header),
        T(test_head_answers_without_body),
        T(test_bad_address_and_busy_port_fail_with_a_message),
        cmocka_unit_test(test_without_registry_or_query),
        cmocka_unit_test(test_ipv6_loopback),
    };
#undef T
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
