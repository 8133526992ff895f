/*
 * avro_fields: tolerant by-name field access for schema resolution (see avro_fields.h).
 * avro-c pitfall handled here: avro_value_get_string's size COUNTS the trailing NUL, and
 * avro_value_set_string_len's size must count it too.
 */
#include "avro_fields.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

dlq_reason_t avro_fields_fail(avro_fields_ctx_t *x, dlq_reason_t reason, const char *fmt, ...)
{
    if (x && x->msg && x->msglen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(x->msg, x->msglen, fmt, ap);
        va_end(ap);
    }
    return reason;
}

int avro_fields_unwrap(avro_value_t *v)
{
    while (avro_value_get_type(v) == AVRO_UNION) {
        avro_value_t b;
        if (avro_value_get_current_branch(v, &b) != 0)
            return 0;
        *v = b;
    }
    return avro_value_get_type(v) != AVRO_NULL;
}

int avro_fields_find(const avro_value_t *rec, const char *name, avro_value_t *out)
{
    if (avro_value_get_by_name(rec, name, out, NULL) != 0)
        return 0;
    return avro_fields_unwrap(out);
}

/* Absent field: the default if optional, else the writer's schema is not compatible. */
static dlq_reason_t absent(avro_fields_ctx_t *x, const char *name, bool required)
{
    if (required)
        return avro_fields_fail(x, DLQ_INCOMPATIBLE_SCHEMA,
                                "required field '%s' is missing or null in the writer's data",
                                name);
    return DLQ_OK;
}

static dlq_reason_t wrong_type(avro_fields_ctx_t *x, const char *name, const char *want)
{
    return avro_fields_fail(x, DLQ_INCOMPATIBLE_SCHEMA,
                            "field '%s' has a type that does not resolve to %s", name, want);
}

dlq_reason_t avro_fields_long(avro_fields_ctx_t *x, const avro_value_t *rec, const char *name,
                              bool required, int64_t def, int64_t *out, bool *present)
{
    avro_value_t v;
    if (present)
        *present = false;
    if (!avro_fields_find(rec, name, &v)) {
        *out = def;
        return absent(x, name, required);
    }
    if (avro_value_get_type(&v) == AVRO_INT64) {
        if (avro_value_get_long(&v, out) != 0)
            return wrong_type(x, name, "long");
    } else if (avro_value_get_type(&v) == AVRO_INT32) {
        int32_t i; /* Avro promotion int -> long */
        if (avro_value_get_int(&v, &i) != 0)
            return wrong_type(x, name, "long");
        *out = i;
    } else {
        return wrong_type(x, name, "long");
    }
    if (present)
        *present = true;
    return DLQ_OK;
}

dlq_reason_t avro_fields_int(avro_fields_ctx_t *x, const avro_value_t *rec, const char *name,
                             bool required, int32_t def, int32_t *out, bool *present)
{
    avro_value_t v;
    if (present)
        *present = false;
    if (!avro_fields_find(rec, name, &v)) {
        *out = def;
        return absent(x, name, required);
    }
    if (avro_value_get_type(&v) != AVRO_INT32 || avro_value_get_int(&v, out) != 0)
        return wrong_type(x, name, "int");
    if (present)
        *present = true;
    return DLQ_OK;
}

dlq_reason_t avro_fields_bool(avro_fields_ctx_t *x, const avro_value_t *rec, const char *name,
                              bool required, bool def, bool *out)
{
    avro_value_t v;
    int b;
    if (!avro_fields_find(rec, name, &v)) {
        *out = def;
        return absent(x, name, required);
    }
    if (avro_value_get_type(&v) != AVRO_BOOLEAN || avro_value_get_boolean(&v, &b) != 0)
        return wrong_type(x, name, "boolean");
    *out = b != 0;
    return DLQ_OK;
}

/* 0: well-formed UTF-8 without NUL; 1: a NUL byte; 2: not UTF-8 (RFC 3629: no overlong
 * forms, no surrogates, at most U+10FFFF). An Avro string is UTF-8 and consumers in other
 * languages decode it as such; a NUL would silently cut the C string. One pass, eight
 * ASCII bytes at a time. */
int avro_fields_text_check(const unsigned char *s, size_t n)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    size_t i = 0;
    while (i < n) {
        uint64_t w;
        if (i + 8 <= n && (memcpy(&w, s + i, 8), !(w & highs) && !((w - ones) & ~w & highs))) {
            i += 8; /* eight ASCII bytes, none of them NUL */
            continue;
        }
        unsigned char c = s[i];
        if (c < 0x80) {
            if (c == 0)
                return 1;
            i++;
            continue;
        }
        size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
        if (len == 0 || c > 0xF4 || i + len > n)
            return 2;
        for (size_t k = 1; k < len; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return 2;
        if ((c == 0xE0 && s[i + 1] < 0xA0) || (c == 0xED && s[i + 1] > 0x9F) ||
            (c == 0xF0 && s[i + 1] < 0x90) || (c == 0xF4 && s[i + 1] > 0x8F))
            return 2; /* overlong, surrogate, or beyond U+10FFFF */
        i += len;
    }
    return 0;
}

dlq_reason_t avro_fields_str(avro_fields_ctx_t *x, const avro_value_t *rec, const char *name,
                             bool required, const char *def, char *dst, size_t cap, bool *present)
{
    avro_value_t v;
    const char *s = NULL;
    size_t len = 0;
    if (present)
        *present = false;
    if (!avro_fields_find(rec, name, &v)) {
        snprintf(dst, cap, "%s", def ? def : "");
        return absent(x, name, required);
    }
    if (avro_value_get_type(&v) == AVRO_STRING) {
        size_t size = 0;
        if (avro_value_get_string(&v, &s, &size) != 0)
            return wrong_type(x, name, "string");
        len = size ? size - 1 : 0; /* avro-c counts the NUL */
    } else if (avro_value_get_type(&v) == AVRO_BYTES) {
        const void *b; /* Avro promotion bytes -> string */
        if (avro_value_get_bytes(&v, &b, &len) != 0)
            return wrong_type(x, name, "string");
        s = b;
    } else {
        return wrong_type(x, name, "string");
    }
    int bad = len ? avro_fields_text_check((const unsigned char *)s, len) : 0;
    if (bad)
        return avro_fields_fail(x, DLQ_INVALID_VALUE, "field '%s' %s", name,
                                bad == 1 ? "contains a NUL byte" : "is not valid UTF-8");
    if (len >= cap)
        return avro_fields_fail(x, DLQ_FIELD_TOO_LONG,
                                "field '%s' is %zu bytes long, the limit is %zu", name, len,
                                cap - 1);
    if (len)
        memcpy(dst, s, len);
    dst[len] = '\0';
    if (present)
        *present = true;
    return DLQ_OK;
}

dlq_reason_t avro_fields_enum(avro_fields_ctx_t *x, const avro_value_t *rec, const char *name,
                              const char **symbol)
{
    avro_value_t v;
    int idx;
    if (!avro_fields_find(rec, name, &v))
        return absent(x, name, true);
    if (avro_value_get_type(&v) != AVRO_ENUM || avro_value_get_enum(&v, &idx) != 0)
        return wrong_type(x, name, "enum");
    *symbol = avro_schema_enum_get(avro_value_get_schema(&v), idx);
    if (!*symbol)
        return wrong_type(x, name, "enum");
    return DLQ_OK;
}

/* ------------------------------------------------------------------ setters */

static int field(avro_value_t *rec, const char *name, avro_value_t *f)
{
    return avro_value_get_by_name(rec, name, f, NULL) == 0 ? 0 : -1;
}

int avro_fields_set_long(avro_value_t *rec, const char *name, int64_t v)
{
    avro_value_t f;
    return field(rec, name, &f) || avro_value_set_long(&f, v) ? -1 : 0;
}

int avro_fields_set_int(avro_value_t *rec, const char *name, int32_t v)
{
    avro_value_t f;
    return field(rec, name, &f) || avro_value_set_int(&f, v) ? -1 : 0;
}

int avro_fields_set_bool(avro_value_t *rec, const char *name, bool v)
{
    avro_value_t f;
    return field(rec, name, &f) || avro_value_set_boolean(&f, v) ? -1 : 0;
}

int avro_fields_set_str(avro_value_t *rec, const char *name, const char *s, size_t cap)
{
    avro_value_t f;
    size_t len = strnlen(s, cap);
    if (len == cap || field(rec, name, &f))
        return -1;
    /* set_string_len's size counts the NUL; it copies into the value's own buffer. */
    return avro_value_set_string_len(&f, s, len + 1) ? -1 : 0;
}

int avro_fields_set_enum(avro_value_t *rec, const char *name, int index)
{
    avro_value_t f;
    return field(rec, name, &f) || avro_value_set_enum(&f, index) ? -1 : 0;
}

int avro_fields_set_null(avro_value_t *rec, const char *name)
{
    avro_value_t f, b;
    if (field(rec, name, &f) || avro_value_set_branch(&f, 0, &b))
        return -1;
    return avro_value_set_null(&b) ? -1 : 0;
}

int avro_fields_set_branch(avro_value_t *rec, const char *name, int index, avro_value_t *branch)
{
    avro_value_t f;
    return field(rec, name, &f) || avro_value_set_branch(&f, index, branch) ? -1 : 0;
}
