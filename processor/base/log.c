/*
 * log: see log.h. The one idea: a line is built whole in a stack buffer and written with
 * a single fwrite (stdio locks the stream per call), so lines from different threads never
 * interleave; each line is flushed at once.
 */
#include "log.h"

#include <stdarg.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

/* Set once by log_configure before any thread starts; read-only afterwards. */
static log_level_t g_min_level = LOG_INFO;
static bool g_json = false;
static FILE *g_out = NULL;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void log_configure(log_level_t min_level, bool json, FILE *out)
{
    g_min_level = min_level;
    g_json = json;
    g_out = out;
}

int log_level_parse(const char *name, log_level_t *out)
{
    for (int i = 0; i <= LOG_OFF; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (log_level_t)i;
            return 0;
        }
    }
    return -1;
}

bool log_enabled(log_level_t level)
{
    return level >= g_min_level && level < LOG_OFF;
}

/* Append the JSON-escaped @p s (length @p n) to out at *pos, bounded by outlen. */
static void json_escape(const char *s, size_t n, char *out, size_t outlen, size_t *pos)
{
    for (size_t i = 0; i < n && *pos + 7 < outlen; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out[(*pos)++] = '\\';
            out[(*pos)++] = (char)c;
        } else if (c < 0x20) {
            *pos += (size_t)snprintf(out + *pos, outlen - *pos, "\\u%04x", c);
        } else {
            out[(*pos)++] = (char)c;
        }
    }
}

size_t log_kv_to_json(const char *kv, char *out, size_t outlen)
{
    size_t pos = 0;
    const char *p = kv;
    if (outlen == 0)
        return 0;
    while (p && *p) {
        while (*p == ' ')
            p++;
        const char *eq = strchr(p, '=');
        if (!*p || !eq)
            break;
        const char *v = eq + 1, *vend;
        bool quoted = *v == '"';
        if (quoted) {
            v++;
            vend = v;
            while (*vend && !(*vend == '"' && vend[-1] != '\\'))
                vend++;
        } else {
            vend = v + strcspn(v, " ");
        }
        if (pos && pos + 1 < outlen)
            out[pos++] = ',';
        if (pos + 1 < outlen)
            out[pos++] = '"';
        json_escape(p, (size_t)(eq - p), out, outlen, &pos);
        if (pos + 3 < outlen) {
            memcpy(out + pos, "\":\"", 3);
            pos += 3;
        }
        json_escape(v, (size_t)(vend - v), out, outlen, &pos);
        if (pos + 1 < outlen)
            out[pos++] = '"';
        p = (quoted && *vend) ? vend + 1 : vend;
    }
    out[pos < outlen ? pos : outlen - 1] = '\0';
    return pos;
}

static void format_ts(char *buf, size_t len)
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03dZ", (int)(tv.tv_usec / 1000));
}

void log_emit(log_level_t level, const char *mod, const char *msg, const char *kv_fmt, ...)
{
    if (!log_enabled(level))
        return;
    char ts[40], kv[2048] = "", line[4096];
    format_ts(ts, sizeof(ts));
    if (kv_fmt) {
        va_list ap;
        va_start(ap, kv_fmt);
        vsnprintf(kv, sizeof(kv), kv_fmt, ap);
        va_end(ap);
    }
    size_t n;
    if (g_json) {
        char esc[1024], fields[3072];
        size_t e = 0;
        json_escape(msg, strlen(msg), esc, sizeof(esc), &e);
        esc[e] = '\0';
        log_kv_to_json(kv, fields, sizeof(fields));
        n = (size_t)snprintf(line, sizeof(line),
                             "{\"ts\":\"%s\",\"level\":\"%s\",\"mod\":\"%s\",\"msg\":\"%s\"%s%s}\n",
                             ts, level_names[level], mod, esc, fields[0] ? "," : "", fields);
    } else {
        n = (size_t)snprintf(line, sizeof(line), "ts=%s level=%s mod=%s msg=\"%s\"%s%s\n", ts,
                             level_names[level], mod, msg, kv[0] ? " " : "", kv);
    }
    if (n >= sizeof(line)) {
        n = sizeof(line) - 1;
        line[n - 1] = '\n';
    }
    FILE *f = g_out ? g_out : stderr;
    fwrite(line, 1, n, f); /* one call: stdio locks the stream, lines never interleave */
    fflush(f);
}
