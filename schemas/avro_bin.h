/*
 * avro_bin: a reader and a writer of Avro binary for the codec's direct paths (our own
 * InputEvent read, outputs written, CustomerState both, without avro-c's generic values).
 * Private to ls_schemas.
 *
 * The one idea: a direct path never decides what is an error. Every getter sets in->bad
 * on anything it does not take (truncation, a varint longer than its type allows, a value
 * out of range); the caller then hands the record to the generic path, which checks it
 * with avro_scan and avro-c and names the fault. Values follow the Avro specification:
 * ints and longs are zig-zag varints, a long's tenth byte loses its high bits as avro-c's
 * reader does.
 */
#ifndef LS_AVRO_BIN_H
#define LS_AVRO_BIN_H

#include "avro_fields.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

typedef struct bin_in {
    const uint8_t *p, *end;
    bool bad; /* anything the direct path does not take: the generic path decides */
} bin_in_t;

static inline int64_t bin_get_long(bin_in_t *in)
{
    uint64_t u = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (in->p >= in->end) {
            in->bad = true;
            return 0;
        }
        uint8_t b = *in->p++;
        u |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    }
    in->bad = true; /* longer than 10 bytes */
    return 0;
}

static inline int32_t bin_get_int(bin_in_t *in)
{
    const uint8_t *at = in->p;
    int64_t v = bin_get_long(in);
    if (v < INT32_MIN || v > INT32_MAX || in->p - at > 5) /* an int's varint has 5 bytes at most */
        in->bad = true;
    return (int32_t)v;
}

/* An unsigned 32-bit field carried as a long. */
static inline uint32_t bin_get_mask(bin_in_t *in)
{
    int64_t v = bin_get_long(in);
    if (v < 0 || v > UINT32_MAX)
        in->bad = true;
    return (uint32_t)v;
}

/* One array block of at most max items (0 = empty); a negative count (a block with its
 * byte size) is not taken. The closing 0 is read by the caller (bin_get_end). */
static inline uint32_t bin_get_count(bin_in_t *in, uint32_t max)
{
    int64_t n = bin_get_long(in);
    if (n < 0 || n > (int64_t)max)
        in->bad = true;
    return in->bad ? 0 : (uint32_t)n;
}

static inline void bin_get_end(bin_in_t *in)
{
    if (bin_get_long(in) != 0)
        in->bad = true;
}

/* A union's branch index, which must be below n. */
static inline int bin_get_branch(bin_in_t *in, int n)
{
    int64_t b = bin_get_long(in);
    if (b < 0 || b >= n)
        in->bad = true;
    return in->bad ? 0 : (int)b;
}

/* A boolean: one byte, 0 or 1. */
static inline bool bin_get_bool(bin_in_t *in)
{
    if (in->p >= in->end || *in->p > 1) {
        in->bad = true;
        return false;
    }
    return *in->p++ != 0;
}

/* A string into dst[cap], NUL-terminated. Longer than cap - 1, not UTF-8 or with a NUL
 * byte: not taken (the generic path names which). */
static inline void bin_get_str(bin_in_t *in, char *dst, size_t cap)
{
    int64_t n = bin_get_long(in);
    if (in->bad || n < 0 || (uint64_t)n >= cap || in->end - in->p < n ||
        avro_fields_text_check(in->p, (size_t)n) != 0) {
        in->bad = true;
        return;
    }
    memcpy(dst, in->p, (size_t)n);
    dst[n] = '\0';
    in->p += n;
}

/* The writer: the caller makes room first (an upper bound of the record's size, 10 bytes
 * per number). */
typedef struct bin_out {
    uint8_t *p, *end;
} bin_out_t;

static inline void bin_put_long(bin_out_t *o, int64_t v)
{
    uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    while (u >= 0x80) {
        *o->p++ = (uint8_t)(u | 0x80);
        u >>= 7;
    }
    *o->p++ = (uint8_t)u;
}

/* A ["null", "long"] union: branch 0 (null) unless has, else branch 1 and v. */
static inline void bin_put_opt_long(bin_out_t *o, bool has, int64_t v)
{
    bin_put_long(o, has);
    if (has)
        bin_put_long(o, v);
}

/* A string of len bytes (length, then the bytes). */
static inline void bin_put_str(bin_out_t *o, const char *s, size_t len)
{
    bin_put_long(o, (int64_t)len);
    memcpy(o->p, s, len);
    o->p += len;
}

#endif
