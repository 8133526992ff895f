/*
 * klog: see klog.h. Shaped as a pure function over a small table so that the mapping and
 * the limiter are tested without a broker (tests/unit/test_klog.c).
 */
#include "klog.h"

#include <stdio.h>
#include <string.h>

/* The hint librdkafka appends when a connection drops during the ApiVersion handshake.
 * A broker that is shutting down or restarting does exactly that, so in a routine outage
 * the hint points at a configuration that is fine. */
static const char hint_from[] = ": might be caused by incorrect security.protocol";
static const char hint_to[] = "(see api.version.request)";

/* Texts of a broker connection that failed or dropped: librdkafka retries them itself. */
static const char *const transport[] = {"Connect to",
                                        "Disconnected",
                                        "Receive failed",
                                        "Send failed",
                                        "brokers are down",
                                        "Failed to resolve",
                                        "Connection refused",
                                        "Connection reset",
                                        "ApiVersion",
                                        "timed out",
                                        "Timed out",
                                        "Transport",
                                        NULL};

static bool is_transport(const char *fac, const char *buf, int level)
{
    if (level > 3 && strcmp(fac, "REQTMOUT") != 0 && strcmp(fac, "FAIL") != 0)
        return false;
    if (strcmp(fac, "FAIL") == 0 || strcmp(fac, "REQTMOUT") == 0)
        return true;
    if (strcmp(fac, "ERROR") != 0 || strstr(buf, "Fatal") || strstr(buf, "fatal"))
        return false;
    for (size_t i = 0; transport[i]; i++)
        if (strstr(buf, transport[i]))
            return true;
    return false;
}

/* Copy @p buf into @p out without the misleading hint. */
static void strip_hint(const char *buf, char *out, size_t outlen)
{
    const char *a = strstr(buf, hint_from);
    const char *b = a ? strstr(a, hint_to) : NULL;
    if (!b) {
        snprintf(out, outlen, "%s", buf);
        return;
    }
    b += strlen(hint_to);
    snprintf(out, outlen, "%.*s%s", (int)(a - buf), buf, b);
}

static uint64_t fnv(uint64_t h, const char *s, size_t n, bool skip_digits)
{
    for (size_t i = 0; i < n && s[i]; i++) {
        if (skip_digits && s[i] >= '0' && s[i] <= '9')
            continue;
        h ^= (unsigned char)s[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

/* The broker a line is about: the first "host:port/id: " token (librdkafka prefixes
 * broker lines with it, after "[thrd:...]: " and, on the ERROR facility, the client's
 * name). @returns its length, 0 when there is none. */
static size_t broker_token(const char *buf, const char **tok)
{
    for (const char *c = strstr(buf, ": "); c; c = strstr(c + 2, ": ")) {
        const char *b = c;
        while (b > buf && b[-1] != ' ')
            b--;
        size_t n = (size_t)(c - b);
        if (strncmp(b, "[thrd:", 6) != 0 && memchr(b, '/', n) && memchr(b, ':', n)) {
            *tok = b;
            return n;
        }
    }
    return 0;
}

/* The limiter's key: a broker's connection trouble is one key whatever the line says and
 * whichever client says it; other lines are keyed by facility and text without digits
 * (offsets and milliseconds vary between repeats). */
static uint64_t line_key(const char *fac, const char *buf, bool transport_line)
{
    uint64_t h = UINT64_C(14695981039346656037);
    const char *tok;
    size_t n = transport_line ? broker_token(buf, &tok) : 0;
    if (n)
        return fnv(fnv(h, "T|", 2, false), tok, n, false) | 1;
    h = fnv(h, fac, strlen(fac), false);
    return fnv(fnv(h, "|", 1, false), buf, strlen(buf), true) | 1;
}

void klog_filter(klog_t *k, int syslog_level, const char *fac, const char *buf, int64_t now_ms,
                 char *out, size_t outlen, klog_line_t *line)
{
    bool tr = is_transport(fac, buf, syslog_level);
    line->level = syslog_level <= 3   ? LOG_ERROR
                  : syslog_level == 4 ? LOG_WARN
                  : syslog_level <= 6 ? LOG_INFO
                                      : LOG_DEBUG;
    if (tr && line->level == LOG_ERROR) /* lowered, never raised: an idle disconnect is info */
        line->level = LOG_WARN;
    /* kafka.* keys go to every client, so "is a consumer property and will be ignored by
     * this producer" is expected. */
    if (strcmp(fac, "CONFWARN") == 0 && strstr(buf, "will be ignored by this"))
        line->level = LOG_DEBUG;
    line->emit = true;
    line->suppressed = 0;
    strip_hint(buf, out, outlen);
    if (line->level < LOG_WARN)
        return;
    uint64_t key = line_key(fac, buf, tr);
    pthread_mutex_lock(&k->mu);
    klog_slot_t *s = NULL, *oldest = &k->slots[0];
    for (size_t i = 0; i < KLOG_SLOTS && !s; i++) {
        if (k->slots[i].key == key)
            s = &k->slots[i];
        else if (k->slots[i].key == 0 || k->slots[i].last_ms < oldest->last_ms)
            oldest = &k->slots[i];
    }
    if (!s) { /* a new key (or one evicted): written, and remembered */
        s = oldest;
        *s = (klog_slot_t){.key = key, .last_ms = now_ms};
    } else if (now_ms - s->last_ms < KLOG_WINDOW_MS) {
        s->suppressed++;
        line->emit = false;
    } else {
        line->suppressed = s->suppressed;
        s->suppressed = 0;
        s->last_ms = now_ms;
    }
    pthread_mutex_unlock(&k->mu);
}
