/*
 * dlq: dead-letter reason names and header building (see dlq.h). Plain data so that the
 * codec, the tools and the tests share it without librdkafka.
 */
#include "dlq.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *const reason_names[DLQ_REASON_COUNT] = {
    [DLQ_OK] = "ok",
    [DLQ_TRUNCATED] = "truncated",
    [DLQ_BAD_MAGIC] = "bad_magic",
    [DLQ_UNKNOWN_SCHEMA_ID] = "unknown_schema_id",
    [DLQ_INCOMPATIBLE_SCHEMA] = "incompatible_schema",
    [DLQ_MALFORMED] = "malformed_avro",
    [DLQ_MISSING_EVENT_ID] = "missing_event_id",
    [DLQ_MISSING_CUSTOMER] = "missing_customer",
    [DLQ_NEGATIVE_AMOUNT] = "negative_amount",
    [DLQ_UNKNOWN_CURRENCY] = "unknown_currency",
    [DLQ_TOO_MANY_LINES] = "too_many_lines",
    [DLQ_FIELD_TOO_LONG] = "field_too_long",
    [DLQ_INVALID_VALUE] = "invalid_value",
    [DLQ_KEY_MISMATCH] = "key_mismatch",
    [DLQ_REGISTRY_UNAVAILABLE] = "registry_unavailable",
    [DLQ_FUTURE_TIME] = "future_time",
    [DLQ_NO_KEY] = "no_key",
    [DLQ_TOO_LARGE] = "too_large",
    [DLQ_TOO_LATE] = "too_late",
};

const char *dlq_reason_name(dlq_reason_t r)
{
    if ((int)r < 0 || r >= DLQ_REASON_COUNT)
        return "unknown";
    return reason_names[r];
}

int dlq_reason_parse(const char *name, dlq_reason_t *r)
{
    for (int i = 0; i < DLQ_REASON_COUNT; i++) {
        if (strcmp(name, reason_names[i]) == 0) {
            *r = (dlq_reason_t)i;
            return 0;
        }
    }
    return -1;
}

bool dlq_reason_is_retriable(dlq_reason_t r)
{
    return r == DLQ_REGISTRY_UNAVAILABLE;
}

/* Copy src into dst (size n) cutting at a UTF-8 character boundary; returns the length. */
static size_t copy_utf8(char *dst, size_t n, const char *src)
{
    size_t len = strlen(src);
    if (len >= n) {
        len = n - 1;
        while (len > 0 && ((unsigned char)src[len] & 0xC0) == 0x80)
            len--; /* src[len] is a continuation byte: do not split its character */
    }
    memcpy(dst, src, len);
    dst[len] = '\0';
    return len;
}

static void set_header(dlq_headers_t *out, const char *name, const char *value)
{
    dlq_header_t *h = &out->h[out->count++];
    h->name = name;
    h->value = value;
    h->value_len = strlen(value);
}

int dlq_headers_build(dlq_headers_t *out, dlq_reason_t reason, const char *message,
                      const char *topic, int32_t partition, int64_t offset, int64_t timestamp_ms)
{
    if (reason == DLQ_OK || (int)reason < 0 || reason >= DLQ_REASON_COUNT ||
        dlq_reason_is_retriable(reason) || !topic || strlen(topic) >= DLQ_TOPIC_MAX)
        return -1;
    memset(out, 0, sizeof(*out));
    snprintf(out->reason, sizeof(out->reason), "%s", reason_names[reason]);
    copy_utf8(out->message, sizeof(out->message), message ? message : "");
    snprintf(out->topic, sizeof(out->topic), "%s", topic);
    snprintf(out->partition, sizeof(out->partition), "%" PRId32, partition);
    snprintf(out->offset, sizeof(out->offset), "%" PRId64, offset);
    snprintf(out->timestamp, sizeof(out->timestamp), "%" PRId64, timestamp_ms);
    set_header(out, DLQ_H_REASON, out->reason);
    set_header(out, DLQ_H_MESSAGE, out->message);
    set_header(out, DLQ_H_TOPIC, out->topic);
    set_header(out, DLQ_H_PARTITION, out->partition);
    set_header(out, DLQ_H_OFFSET, out->offset);
    set_header(out, DLQ_H_TIMESTAMP, out->timestamp);
    return 0;
}

int dlq_headers_mark_truncated(dlq_headers_t *out, size_t original_size)
{
    if (out->count != DLQ_HEADER_COUNT || out->h[0].value != out->reason)
        return -1;
    snprintf(out->orig_reason, sizeof(out->orig_reason), "%s", out->reason);
    snprintf(out->reason, sizeof(out->reason), "%s", reason_names[DLQ_TOO_LARGE]);
    out->h[0].value_len = strlen(out->reason);
    snprintf(out->size, sizeof(out->size), "%zu", original_size);
    set_header(out, DLQ_H_SIZE, out->size);
    set_header(out, DLQ_H_ORIG_REASON, out->orig_reason);
    return 0;
}

int dlq_topic_for(const char *topic, char *buf, size_t buflen)
{
    int n = snprintf(buf, buflen, "%s.dlq", topic);
    return (n < 0 || (size_t)n >= buflen) ? -1 : 0;
}
