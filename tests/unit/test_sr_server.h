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
/** "http://127.0.0.1:PORT" (static buffer inside the server). */
const char *test_sr_server_url(const test_sr_server_t *s);
/** Register schema under subject directly; returns its id. */
int test_sr_server_add(test_sr_server_t *s, const char *subject, const char *schema);
/** Requests served so far. */
unsigned test_sr_server_requests(test_sr_server_t *s);
/** Make every request answer 500 (1) or behave again (0). */
void test_sr_server_fail(test_sr_server_t *s, int fail);
void test_sr_server_stop(test_sr_server_t *s);

#endif
