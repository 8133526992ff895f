/*
 * sr: schema registry client (see sr.h). One curl easy handle reused for every request
 * (keep-alive), answers cached in two small lists: (subject, schema) -> id and
 * id -> schema text. A registry holds few schemas, so a linear list is the simple choice.
 */
#include "sr.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SR_RESPONSE_MAX (4u * 1024u * 1024u) /* a schema larger than this is refused */

typedef struct sr_entry {
    struct sr_entry *next;
    int32_t id;
    char *subject; /* NULL for id -> schema entries */
    char *schema;
} sr_entry_t;

struct sr_client {
    CURL *curl;
    char *base;
    char *user_info; /* "user:password" for HTTP basic authentication, or NULL */
    char *ca_file;   /* CA bundle that verifies an https registry, or NULL (the system's) */
    long timeout_ms;
    sr_entry_t *by_subject; /* register / lookup answers */
    sr_entry_t *by_id;      /* schema texts */
    unsigned long requests;
    char *body; /* response being received */
    size_t body_len;
    int body_overflow;
    char curl_err[CURL_ERROR_SIZE]; /* curl's detail of a failed transfer (TLS: why) */
};

static size_t on_data(char *p, size_t size, size_t n, void *userdata)
{
    sr_client_t *c = userdata;
    size_t len = size * n;
    if (c->body_len + len > SR_RESPONSE_MAX) {
        c->body_overflow = 1;
        return 0; /* makes curl fail the transfer */
    }
    char *nb = realloc(c->body, c->body_len + len + 1);
    if (!nb)
        return 0;
    memcpy(nb + c->body_len, p, len);
    c->body = nb;
    c->body_len += len;
    c->body[c->body_len] = '\0';
    return len;
}

sr_client_t *sr_client_new(const char *base_url, long timeout_ms, char *err, size_t errlen)
{
    if (!base_url || strncmp(base_url, "http", 4) != 0) {
        snprintf(err, errlen, "schema registry URL '%s' is not http(s)://...",
                 base_url ? base_url : "(null)");
        return NULL;
    }
    sr_client_t *c = calloc(1, sizeof(*c));
    if (!c || !(c->base = strdup(base_url)) || !(c->curl = curl_easy_init())) {
        snprintf(err, errlen, "cannot create the schema registry client (out of memory)");
        sr_client_destroy(c);
        return NULL;
    }
    size_t n = strlen(c->base);
    while (n > 0 && c->base[n - 1] == '/')
        c->base[--n] = '\0';
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
    return c;
}

static void free_list(sr_entry_t *e)
{
    while (e) {
        sr_entry_t *next = e->next;
        free(e->subject);
        free(e->schema);
        free(e);
        e = next;
    }
}

void sr_client_destroy(sr_client_t *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    free_list(c->by_subject);
    free_list(c->by_id);
    free(c->body);
    free(c->base);
    if (c->user_info) /* a secret: not left in freed memory */
        memset(c->user_info, 0, strlen(c->user_info));
    free(c->user_info);
    free(c->ca_file);
    free(c);
}

int sr_client_set_auth(sr_client_t *c, const char *user_info, const char *ca_file, char *err,
                       size_t errlen)
{
    if (user_info && *user_info && !strchr(user_info, ':')) {
        snprintf(err, errlen, "schema registry credentials must be user:password");
        return -1;
    }
    /* A CA file that cannot be read would fail every request as "unavailable" for ever:
     * it is a configuration error, said at start-up. */
    FILE *probe = ca_file && *ca_file ? fopen(ca_file, "r") : NULL;
    if (ca_file && *ca_file && !probe) {
        snprintf(err, errlen,
                 "schema registry CA file (schema.registry.ssl.ca.location) %s cannot be read: "
                 "%s",
                 ca_file, strerror(errno));
        return -1;
    }
    if (probe)
        fclose(probe);
    char *u = user_info && *user_info ? strdup(user_info) : NULL;
    char *ca = ca_file && *ca_file ? strdup(ca_file) : NULL;
    if ((user_info && *user_info && !u) || (ca_file && *ca_file && !ca)) {
        free(u);
        free(ca);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    free(c->user_info);
    free(c->ca_file);
    c->user_info = u;
    c->ca_file = ca;
    return 0;
}

unsigned long sr_client_requests(const sr_client_t *c)
{
    return c->requests;
}

int sr_subject_for_topic(const char *topic, char *buf, size_t buflen)
{
    int n = snprintf(buf, buflen, "%s-value", topic);
    return (n < 0 || (size_t)n >= buflen) ? -1 : 0;
}

/* One HTTP request; the body lands in c->body. post may be NULL (GET). */
static sr_result_t request(sr_client_t *c, const char *path, const char *post, long *status,
                           char *err, size_t errlen)
{
    char url[2048];
    struct curl_slist *hdrs = NULL;
    snprintf(url, sizeof(url), "%s%s", c->base, path);
    c->body_len = 0;
    c->body_overflow = 0;
    if (c->body)
        c->body[0] = '\0';
    curl_easy_reset(c->curl);
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    if (c->user_info) {
        curl_easy_setopt(c->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c->curl, CURLOPT_USERPWD, c->user_info);
    }
    if (c->ca_file)
        curl_easy_setopt(c->curl, CURLOPT_CAINFO, c->ca_file);
    c->curl_err[0] = '\0';
    curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->curl_err);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);
    hdrs = curl_slist_append(hdrs, "Accept: application/vnd.schemaregistry.v1+json, "
                                   "application/json");
    if (post) {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/vnd.schemaregistry.v1+json");
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, post);
    }
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);
    c->requests++;
    CURLcode rc = curl_easy_perform(c->curl);
    curl_slist_free_all(hdrs);
    if (rc != CURLE_OK) {
        const char *what = c->body_overflow ? "response too large" : curl_easy_strerror(rc);
        int n = snprintf(err, errlen, "%s %s: %s", post ? "POST" : "GET", url, what);
        /* curl's buffer says why, e.g. "SSL certificate problem: unable to get local
         * issuer certificate" */
        if (!c->body_overflow && c->curl_err[0] && n >= 0 && (size_t)n < errlen)
            n += snprintf(err + n, errlen - (size_t)n, " (%s)", c->curl_err);
        /* an untrusted certificate (or a CA file that is no CA bundle): name the fix */
        if ((rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE) && n >= 0 &&
            (size_t)n < errlen)
            snprintf(err + n, errlen - (size_t)n,
                     ": the registry's TLS certificate is not signed by a CA this client trusts; "
                     "set schema.registry.ssl.ca.location to the PEM file of its CA");
        return c->body_overflow ? SR_REJECTED : SR_UNAVAILABLE;
    }
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, status);
    if (*status >= 200 && *status < 300)
        return SR_OK;
    snprintf(err, errlen, "%s %s: HTTP %ld %.200s", post ? "POST" : "GET", url, *status,
             c->body ? c->body : "");
    if (*status == 404)
        return SR_NOT_FOUND;
    /* 401/403: credentials or an authorising proxy stand between us and the registry;
     * the record is not at fault, so it must wait, not be dead-lettered. */
    if (*status >= 500 || *status == 429 || *status == 408 || *status == 401 || *status == 403)
        return SR_UNAVAILABLE;
    return SR_REJECTED;
}

/* The JSON answer as an object, or NULL with err filled: then the answer came from
 * something that is not the registry (a proxy's page, a cut connection), so the caller
 * reports SR_UNAVAILABLE. */
static json_t *answer(sr_client_t *c, char *err, size_t errlen)
{
    json_error_t je;
    json_t *j = c->body ? json_loadb(c->body, c->body_len, 0, &je) : NULL;
    if (!j || !json_is_object(j)) {
        snprintf(err, errlen, "the registry's answer is not a JSON object: %.80s",
                 c->body ? c->body : "");
        json_decref(j);
        return NULL;
    }
    return j;
}

static sr_entry_t *find_subject(sr_client_t *c, const char *subject, const char *schema)
{
    for (sr_entry_t *e = c->by_subject; e; e = e->next)
        if (strcmp(e->subject, subject) == 0 && strcmp(e->schema, schema) == 0)
            return e;
    return NULL;
}

static int remember(sr_entry_t **list, int32_t id, const char *subject, const char *schema)
{
    sr_entry_t *e = calloc(1, sizeof(*e));
    if (!e)
        return -1;
    e->id = id;
    e->subject = subject ? strdup(subject) : NULL;
    e->schema = strdup(schema);
    if ((subject && !e->subject) || !e->schema) {
        free(e->subject);
        free(e->schema);
        free(e);
        return -1;
    }
    e->next = *list;
    *list = e;
    return 0;
}

/* URL-escape a subject into buf (subjects are topic names plus "-value"). */
static int escape_subject(sr_client_t *c, const char *subject, char *buf, size_t buflen)
{
    char *esc = curl_easy_escape(c->curl, subject, 0);
    if (!esc)
        return -1;
    int n = snprintf(buf, buflen, "%s", esc);
    curl_free(esc);
    return (n < 0 || (size_t)n >= buflen) ? -1 : 0;
}

static sr_result_t subject_call(sr_client_t *c, const char *subject, const char *schema_json,
                                int do_register, int32_t *id, char *err, size_t errlen)
{
    char esc[1024], path[1200];
    long status = 0;
    sr_entry_t *hit = find_subject(c, subject, schema_json);
    if (hit) {
        *id = hit->id;
        return SR_OK;
    }
    if (escape_subject(c, subject, esc, sizeof(esc)) != 0) {
        snprintf(err, errlen, "subject '%.100s' is too long", subject);
        return SR_REJECTED;
    }
    snprintf(path, sizeof(path), "/subjects/%s%s", esc, do_register ? "/versions" : "");
    json_t *req = json_pack("{s:s}", "schema", schema_json);
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!body) {
        snprintf(err, errlen, "out of memory building the request for %s", subject);
        return SR_REJECTED;
    }
    sr_result_t r = request(c, path, body, &status, err, errlen);
    free(body);
    if (r != SR_OK)
        return r;
    json_t *j = answer(c, err, errlen);
    if (!j)
        return SR_UNAVAILABLE;
    json_t *jid = json_object_get(j, "id");
    if (!json_is_integer(jid) || json_integer_value(jid) <= 0 ||
        json_integer_value(jid) > INT32_MAX) {
        snprintf(err, errlen, "the registry's answer for %s has no valid id", subject);
        json_decref(j);
        return SR_REJECTED;
    }
    *id = (int32_t)json_integer_value(jid);
    json_decref(j);
    if (remember(&c->by_subject, *id, subject, schema_json) != 0) {
        snprintf(err, errlen, "out of memory caching the id of %s", subject);
        return SR_REJECTED;
    }
    return SR_OK;
}

sr_result_t sr_register(sr_client_t *c, const char *subject, const char *schema_json, int32_t *id,
                        char *err, size_t errlen)
{
    return subject_call(c, subject, schema_json, 1, id, err, errlen);
}

sr_result_t sr_lookup(sr_client_t *c, const char *subject, const char *schema_json, int32_t *id,
                      char *err, size_t errlen)
{
    return subject_call(c, subject, schema_json, 0, id, err, errlen);
}

sr_result_t sr_schema_by_id(sr_client_t *c, int32_t id, const char **schema_json, char *err,
                            size_t errlen)
{
    char path[64];
    long status = 0;
    for (sr_entry_t *e = c->by_id; e; e = e->next) {
        if (e->id == id) {
            *schema_json = e->schema;
            return SR_OK;
        }
    }
    snprintf(path, sizeof(path), "/schemas/ids/%d", (int)id);
    sr_result_t r = request(c, path, NULL, &status, err, errlen);
    if (r != SR_OK)
        return r;
    json_t *j = answer(c, err, errlen);
    if (!j)
        return SR_UNAVAILABLE;
    json_t *js = json_object_get(j, "schema");
    json_t *jt = json_object_get(j, "schemaType");
    if (!json_is_string(js) ||
        (jt && !(json_is_string(jt) && strcmp(json_string_value(jt), "AVRO") == 0))) {
        snprintf(err, errlen, "schema id %d: the registry's answer has no Avro schema", (int)id);
        json_decref(j);
        return SR_REJECTED;
    }
    int rc = remember(&c->by_id, id, NULL, json_string_value(js));
    json_decref(j);
    if (rc != 0) {
        snprintf(err, errlen, "out of memory caching schema id %d", (int)id);
        return SR_REJECTED;
    }
    *schema_json = c->by_id->schema;
    return SR_OK;
}
