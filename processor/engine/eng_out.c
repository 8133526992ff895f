/*
 * eng_out: the engine's output records, filled field by field. See eng_out.h.
 *
 * Why it looks low-level: an event produces about two outputs and each is a 360-byte
 * record with four id fields, so the record is zeroed with wide stores and ids are copied
 * eight bytes at a time from their zero-padded arrays; every byte ends up exactly as the
 * plain string functions would leave it.
 */
#include "eng_out.h"
#include "eng_int.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

const char *eng_out_kind_name(eng_out_kind_t kind)
{
    static const char *const names[] = {"TierChanged",        "BonusEarned",    "ExpiryWarning",
                                        "PointsExpired",      "PointsReversed", "PointsRedeemed",
                                        "RedemptionRejected", "RewardEarned",   "TierWillDowngrade",
                                        "TierProgress"};
    return (unsigned)kind < ENG_OUT_KIND_COUNT ? names[kind] : "Unknown";
}

const char *eng_bound_name(eng_bound_t b)
{
    static const char *const names[] = {"event_ids", "purchases", "return_not_found", "lots",
                                        "qualifying_buckets"};
    _Static_assert(sizeof(names) / sizeof(names[0]) == ENG_BOUND_COUNT, "a name per bound");
    return (unsigned)b < ENG_BOUND_COUNT ? names[b] : "unknown";
}

/* copy_str into a field eng_out_emit() has just zeroed: the same bytes, without library calls
 * (the strings are short and the terminator is already there). */
static inline void put_field(char *dst, size_t n, const char *src)
{
    for (size_t i = 0; i + 1 < n && src[i]; i++)
        dst[i] = src[i];
}

/* put_field from a source ARRAY of at least n bytes (ids of the state and the event, tier
 * names), eight bytes at a time. Bytes after the terminator are written as zeros, which
 * they already are, so the field ends up exactly as put_field leaves it. */
static inline size_t put_field_arr(char *dst, size_t n, const char *src)
{
    size_t i = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    for (; i + 8 < n; i += 8) { /* bytes i .. i+7 are all below the n - 1 limit */
        uint64_t w;
        memcpy(&w, src + i, 8);
        uint64_t z = (w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL;
        if (z) { /* the lowest flagged byte is the first zero byte */
            unsigned k = (unsigned)__builtin_ctzll(z) / 8;
            w = k ? w & (~0ULL >> (64 - 8 * k)) : 0;
            memcpy(dst + i, &w, 8);
            return i + k;
        }
        memcpy(dst + i, &w, 8);
    }
#endif
    for (; i + 1 < n && src[i]; i++)
        dst[i] = src[i];
    return i; /* bytes copied: src[i] is the terminator unless the limit was reached */
}

/* put_field(dst, 4, src) for the 4-byte currency arrays: at most 3 bytes, up to a NUL. */
static inline void put_field4(char *dst, const char *src)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint32_t w;
    memcpy(&w, src, 4);
    /* the first zero byte, or byte 3 (the limit) if none comes before it */
    uint32_t z = ((w - 0x01010101u) & ~w & 0x80808080u) | 0x80000000u;
    unsigned k = (unsigned)__builtin_ctz(z) / 8;
    w = k ? w & (~0u >> (32 - 8 * k)) : 0;
    memcpy(dst, &w, 4);
#else
    put_field(dst, 4, src);
#endif
}

/* memset(o, 0, sizeof(*o)) in 16-byte stores: the compiler's own expansion is a string
 * instruction with a start-up cost that dominates at this size. Every byte ends up zero,
 * so outputs stay byte-identical. */
static inline void zero_output(eng_output_t *o)
{
#if defined(__SSE2__)
    char *b = (char *)o;
    const __m128i z = _mm_setzero_si128();
    size_t i = 0;
    _Pragma("GCC unroll 32") for (; i + 16 <= sizeof(*o); i += 16)
        _mm_storeu_si128((__m128i *)(void *)(b + i), z);
    if (i < sizeof(*o))
        memset(b + i, 0, sizeof(*o) - i);
#else
    memset(o, 0, sizeof(*o));
#endif
}

static char *put_str(char *w, char *end, const char *s)
{
    while (*s && w < end)
        *w++ = *s++;
    return w;
}

static char *put_u64(char *w, char *end, uint64_t v)
{
    if (v < 10) { /* ordinals: the common case */
        if (w < end)
            *w++ = (char)('0' + v);
        return w;
    }
    static const char pairs[] = "00010203040506070809101112131415161718192021222324252627282930"
                                "31323334353637383940414243444546474849505152535455565758596061"
                                "6263646566676869707172737475767778798081828384858687888990919293"
                                "949596979899";
    char tmp[24];
    int n = (int)sizeof(tmp); /* digits are written backwards, two at a time */
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        n -= 2;
        memcpy(tmp + n, pairs + 2 * r, 2);
    }
    if (v >= 10) {
        n -= 2;
        memcpy(tmp + n, pairs + 2 * v, 2);
    } else {
        tmp[--n] = (char)('0' + v);
    }
    size_t len = sizeof(tmp) - (size_t)n;
    if (len > (size_t)(end - w))
        len = (size_t)(end - w); /* truncated at the end of the field, as byte by byte */
    memcpy(w, tmp + n, len);
    return w + len;
}

eng_output_t *eng_out_emit(eng_emitter_t *e, eng_out_kind_t kind)
{
    eng_output_t *o = &e->out->v[e->out->n++];
    zero_output(o);
    o->kind = kind;
    _Static_assert(sizeof(o->customer_id) == sizeof(e->s->customer_id), "id sizes");
    _Static_assert(sizeof(o->cause_id) == sizeof(((eng_event_t *)0)->event_id), "id sizes");
    _Static_assert(sizeof(o->output_id) > sizeof(o->cause_id), "id sizes");
    size_t cl = put_field_arr(o->customer_id, sizeof(o->customer_id), e->s->customer_id);
    o->time_ms = e->time_ms;
    /* "<cause>:<ordinal>" or "<customer>:<kind>:<due>:<ordinal>", without printf (hot). The
     * id that starts it was just copied into its own field, zero-padded: when it ended
     * inside its array (always, for a valid event or state), the whole field is copied. */
    char *w = o->output_id, *end = o->output_id + sizeof(o->output_id) - 1;
    if (e->cause_id) { /* always an eng_event_t's event_id array */
        size_t l = put_field_arr(o->cause_id, sizeof(o->cause_id), e->cause_id);
        if (e->cause_id[l] == '\0') {
            memcpy(w, o->cause_id, sizeof(o->cause_id));
            w += l;
        } else { /* no terminator in the array: as many bytes as there are, up to end */
            l = strnlen(e->cause_id, (size_t)(end - w));
            memcpy(w, e->cause_id, l);
            w += l;
        }
    } else {
        if (e->s->customer_id[cl] == '\0') {
            memcpy(w, o->customer_id, sizeof(o->customer_id));
            w += cl;
        } else {
            w = put_str(w, end, e->s->customer_id);
        }
        w = put_str(w, end, ":");
        w = put_str(w, end, e->timer_kind);
        w = put_str(w, end, ":");
        w = put_u64(w, end, (uint64_t)e->time_ms);
    }
    w = put_str(w, end, ":");
    w = put_u64(w, end, e->ordinal++);
    *w = '\0';
    put_field4(o->currency, e->p->currency);
    return o;
}

void eng_out_tier_change(eng_emitter_t *e, eng_state_t *s, int32_t to, const char *reason,
                         int64_t value)
{
    eng_output_t *o = eng_out_emit(e, ENG_OUT_TIER_CHANGED);
    put_field_arr(o->u.tier_changed.from_tier, ENG_NAME_MAX, eng_tier_name(e->p, s->tier));
    put_field_arr(o->u.tier_changed.to_tier, ENG_NAME_MAX, eng_tier_name(e->p, to));
    o->u.tier_changed.direction = to > s->tier ? 1 : -1;
    put_field(o->u.tier_changed.reason, ENG_NAME_MAX, reason);
    o->u.tier_changed.qualifying_value = value;
    s->tier = to;
    s->tier_since = e->time_ms;
}

eng_output_t *eng_out_bonus(eng_emitter_t *e, const eng_state_t *s, int64_t pts, int32_t rate_bp,
                            eng_lot_source_t source, int64_t usable_from, int64_t expires_at)
{
    /* the names of the lot sources, zero-padded: 8 bytes copied (the field is longer and
     * zeroed, so the terminator is already there) */
    static const char names[][9] = {"purchase", "period", "stamp", "birthday", "basket"};
    _Static_assert(ENG_SRC_PURCHASE == 0 && ENG_SRC_PERIOD == 1 && ENG_SRC_STAMP == 2 &&
                       ENG_SRC_BIRTHDAY == 3 && ENG_SRC_BASKET == 4 && ENG_NAME_MAX > 8,
                   "source names");
    eng_output_t *o = eng_out_emit(e, ENG_OUT_BONUS_EARNED);
    o->u.bonus_earned.points = pts;
    o->u.bonus_earned.rate_bp = rate_bp;
    put_field_arr(o->u.bonus_earned.tier, ENG_NAME_MAX, eng_tier_name(e->p, s->tier));
    memcpy(o->u.bonus_earned.source, names[source], 8);
    o->u.bonus_earned.usable_from = usable_from;
    o->u.bonus_earned.expires_at = expires_at;
    return o;
}
