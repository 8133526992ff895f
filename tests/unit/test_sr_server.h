/*
 * test_sr_server: a small in-process Confluent-compatible schema registry for the tests
 * (libmicrohttpd), serving only the endpoints sr.c uses:
 *   POST /subjects/{subject}/versions   register -> {"id": N}
 *   POST /subjects/{subject}            look up  -> {"subject","version","id","schema"}
 *   GET  /schemas/ids/{id}              schema   -> {"schema": "..."}
 * Schemas are compared as text (a real registry canonicalises first). Errors answer
 * 404 with Confluent's error codes 40401 (subject) / 40403 (schema).
 */
#ifndef LS_TEST_SR_SERVER_H
#define LS_TEST_SR_SERVER_H

typedef struct test_sr_server test_sr_server_t;

/** Start on 127.0.0.1, a free port. NULL on failure. */
test_sr_server_t *test_sr_server_start(void);
/** The same over TLS (https), with the server certificate and key of these PEM files
 *  (tests/unit/test_sr.c makes them with the openssl CLI). NULL when a file cannot be read
 *  or libmicrohttpd has no TLS. */
test_sr_server_t *test_sr_server_start_tls(const char *cert_file, const char *key_file);
/** "http://127.0.0.1:PORT", or https:// (static buffer inside the server). */
const char *test_sr_server_url(const test_sr_server_t *s);
/** Register schema under subject directly; returns its id. */
int test_sr_server_add(test_sr_server_t *s, const char *subject, const char *schema);
/** Requests served so far. */
unsigned test_sr_server_requests(test_sr_server_t *s);
/** How every request is answered (test_sr_server_fail). */
enum {
    TEST_SR_HEALTHY = 0,
    TEST_SR_500 = 1,     /* 500 with a Confluent error body */
    TEST_SR_401 = 2,     /* 401 Unauthorized (e.g. expired credentials) */
    TEST_SR_403 = 3,     /* 403 Forbidden */
    TEST_SR_GARBAGE = 4, /* 200 with a body that is not JSON (e.g. a proxy's HTML page) */
};
/** Make every request answer as @p mode says (TEST_SR_*), or behave again (0). */
void test_sr_server_fail(test_sr_server_t *s, int mode);
/** Answer 401 to every request without these basic credentials ("user:password"; NULL or
 *  "" = accept all). */
void test_sr_server_require_basic(test_sr_server_t *s, const char *user_info);
void test_sr_server_stop(test_sr_server_t *s);

#endif
