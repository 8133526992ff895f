/* test_sr_server: see test_sr_server.h. One mutex guards the tables (the daemon answers on
 * its own thread while the test thread adds schemas). */
#include "test_sr_server.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SCHEMAS 64

struct test_sr_server {
    struct MHD_Daemon *d;
    pthread_mutex_t lock;
    char url[64];
    int n;
    char *schema[MAX_SCHEMAS]; /* id = index + 1000 */
    char *subject[MAX_SCHEMAS];
    unsigned requests;
    int fail;
    char basic[128];  /* "user:password" every request must carry, "" = none */
    char *cert, *key; /* TLS: the server's PEM certificate (chain) and key, else NULL */
};

typedef struct upload {
    char *body;
    size_t len;
} upload_t;

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "application/vnd.schemaregistry.v1+json");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static json_t *error(int code, const char *message)
{
    return json_pack("{s:i,s:s}", "error_code", code, "message", message);
}

/* Locked. Index of schema text (any subject: ids are global), or -1. */
static int find_schema(test_sr_server_t *s, const char *schema, const char *subject)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->schema[i], schema) == 0 && (!subject || strcmp(s->subject[i], subject) == 0))
            return i;
    return -1;
}

static int add_locked(test_sr_server_t *s, const char *subject, const char *schema)
{
    int i = find_schema(s, schema, subject);
    if (i >= 0)
        return 1000 + i;
    if (s->n >= MAX_SCHEMAS)
        return -1;
    s->schema[s->n] = strdup(schema);
    s->subject[s->n] = strdup(subject);
    return 1000 + s->n++;
}

static enum MHD_Result subject_post(test_sr_server_t *s, struct MHD_Connection *conn,
                                    const char *rest, const upload_t *up)
{
    char subject[256];
    json_t *req = json_loadb(up->body ? up->body : "", up->len, 0, NULL);
    const char *schema = json_string_value(json_object_get(req, "schema"));
    int do_register = 0;
    snprintf(subject, sizeof(subject), "%s", rest);
    char *slash = strchr(subject, '/');
    if (slash) {
        if (strcmp(slash, "/versions") != 0) {
            json_decref(req);
            return reply(conn, 404, error(404, "no such endpoint"));
        }
        *slash = '\0';
        do_register = 1;
    }
    if (!schema) {
        json_decref(req);
        return reply(conn, 422, error(42201, "Invalid schema"));
    }
    pthread_mutex_lock(&s->lock);
    int id, known = 0;
    for (int i = 0; i < s->n; i++)
        known |= strcmp(s->subject[i], subject) == 0;
    if (do_register) {
        id = add_locked(s, subject, schema);
    } else {
        int i = find_schema(s, schema, subject);
        id = i >= 0 ? 1000 + i : -1;
    }
    pthread_mutex_unlock(&s->lock);
    json_t *answer;
    unsigned status = 200;
    if (id < 0) {
        status = 404;
        answer = known ? error(40403, "Schema not found") : error(40401, "Subject not found");
    } else if (do_register) {
        answer = json_pack("{s:i}", "id", id);
    } else {
        answer = json_pack("{s:s,s:i,s:i,s:s}", "subject", subject, "version", 1, "id", id,
                           "schema", schema);
    }
    json_decref(req);
    return reply(conn, status, answer);
}

/* With test_sr_server_require_basic: the request's basic credentials are the ones set. */
static bool authorized(test_sr_server_t *s, struct MHD_Connection *conn)
{
    pthread_mutex_lock(&s->lock);
    char want[sizeof(s->basic)];
    memcpy(want, s->basic, sizeof(want));
    pthread_mutex_unlock(&s->lock);
    if (!want[0])
        return true;
    char *pass = NULL;
    char *user = MHD_basic_auth_get_username_password(conn, &pass);
    char got[512] = "";
    if (user && pass)
        snprintf(got, sizeof(got), "%s:%s", user, pass);
    free(user);
    free(pass);
    return strcmp(got, want) == 0;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *data,
                               size_t *data_size, void **con_cls)
{
    test_sr_server_t *s = cls;
    upload_t *up = *con_cls;
    (void)version;
    if (!up) { /* first call of a request: set up the body buffer */
        *con_cls = calloc(1, sizeof(upload_t));
        return *con_cls ? MHD_YES : MHD_NO;
    }
    if (*data_size) {
        up->body = realloc(up->body, up->len + *data_size + 1);
        memcpy(up->body + up->len, data, *data_size);
        up->len += *data_size;
        up->body[up->len] = '\0';
        *data_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&s->lock);
    s->requests++;
    int fail = s->fail;
    pthread_mutex_unlock(&s->lock);
    if (fail == TEST_SR_401 || !authorized(s, conn))
        return reply(conn, 401, error(40101, "Unauthorized"));
    if (fail == TEST_SR_403)
        return reply(conn, 403, error(40301, "Forbidden"));
    if (fail == TEST_SR_GARBAGE) {
        static const char page[] = "<html><body>Please log in</body></html>";
        struct MHD_Response *r =
            MHD_create_response_from_buffer(sizeof(page) - 1, (void *)page, MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(r, "Content-Type", "text/html");
        enum MHD_Result ret = MHD_queue_response(conn, 200, r);
        MHD_destroy_response(r);
        return ret;
    }
    if (fail)
        return reply(conn, 500, error(50001, "injected failure"));
    if (strcmp(method, "POST") == 0 && strncmp(url, "/subjects/", 10) == 0)
        return subject_post(s, conn, url + 10, up);
    if (strcmp(method, "GET") == 0 && strncmp(url, "/schemas/ids/", 13) == 0) {
        int id = atoi(url + 13);
        json_t *answer = NULL;
        pthread_mutex_lock(&s->lock);
        if (id >= 1000 && id < 1000 + s->n)
            answer = json_pack("{s:s}", "schema", s->schema[id - 1000]);
        pthread_mutex_unlock(&s->lock);
        return answer ? reply(conn, 200, answer)
                      : reply(conn, 404, error(40403, "Schema not found"));
    }
    return reply(conn, 404, error(404, "no such endpoint"));
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    upload_t *up = *con_cls;
    if (up) {
        free(up->body);
        free(up);
        *con_cls = NULL;
    }
}

/* The whole of a (PEM) file, NUL-terminated; NULL when it cannot be read. Caller frees. */
static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    do {
        if (len + 4096 + 1 > cap) {
            char *b = realloc(buf, cap = len + 4096 + 1);
            if (!b) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = b;
        }
        n = fread(buf + len, 1, 4096, f);
        len += n;
    } while (n > 0);
    fclose(f);
    buf[len] = '\0';
    return buf;
}

static test_sr_server_t *start(const char *cert_file, const char *key_file)
{
    test_sr_server_t *s = calloc(1, sizeof(*s));
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    pthread_mutex_init(&s->lock, NULL);
    if (cert_file) {
        s->cert = read_file(cert_file);
        s->key = read_file(key_file);
        if (s->cert && s->key && MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES)
            s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS, 0, NULL, NULL,
                                    handler, s, MHD_OPTION_SOCK_ADDR, &addr,
                                    MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
                                    MHD_OPTION_HTTPS_MEM_CERT, s->cert, MHD_OPTION_HTTPS_MEM_KEY,
                                    s->key, MHD_OPTION_END);
    } else {
        s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handler, s,
                                MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_NOTIFY_COMPLETED, completed,
                                NULL, MHD_OPTION_END);
    }
    if (!s->d) {
        free(s->cert);
        free(s->key);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    snprintf(s->url, sizeof(s->url), "%s://127.0.0.1:%u", cert_file ? "https" : "http",
             (unsigned)info->port);
    return s;
}

test_sr_server_t *test_sr_server_start(void)
{
    return start(NULL, NULL);
}

test_sr_server_t *test_sr_server_start_tls(const char *cert_file, const char *key_file)
{
    return start(cert_file, key_file);
}

const char *test_sr_server_url(const test_sr_server_t *s)
{
    return s->url;
}

int test_sr_server_add(test_sr_server_t *s, const char *subject, const char *schema)
{
    pthread_mutex_lock(&s->lock);
    int id = add_locked(s, subject, schema);
    pthread_mutex_unlock(&s->lock);
    return id;
}

unsigned test_sr_server_requests(test_sr_server_t *s)
{
    pthread_mutex_lock(&s->lock);
    unsigned n = s->requests;
    pthread_mutex_unlock(&s->lock);
    return n;
}

void test_sr_server_fail(test_sr_server_t *s, int fail)
{
    pthread_mutex_lock(&s->lock);
    s->fail = fail;
    pthread_mutex_unlock(&s->lock);
}

void test_sr_server_stop(test_sr_server_t *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->d);
    for (int i = 0; i < s->n; i++) {
        free(s->schema[i]);
        free(s->subject[i]);
    }
    pthread_mutex_destroy(&s->lock);
    free(s->cert);
    free(s->key);
    free(s);
}

void test_sr_server_require_basic(test_sr_server_t *s, const char *user_info)
{
    pthread_mutex_lock(&s->lock);
    snprintf(s->basic, sizeof(s->basic), "%s", user_info ? user_info : "");
    pthread_mutex_unlock(&s->lock);
}
