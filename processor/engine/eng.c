/*
 * eng: the rules. See eng.h for the contract.
 *
 * How to read it: eng_apply_event() dispatches to on_purchase / on_return / on_redemption
 * after the idempotency check and timer catch-up; eng_on_timer() loops over timer steps,
 * each step being "everything due at one instant" in a fixed order (expiry warnings, lot
 * expiry, period end, downgrade warnings, inactivity demotion). The next due time is
 * always recomputed from the state (never stored), so a timer can be neither lost nor
 * fired twice: once handled, its cause is gone from the state.
 *
 * Rounding: points are floored once per purchase and per source (named floor_points);
 * pro rata reversal floors the cumulative share so that a full return reverses exactly
 * what was earned.
 */
#include "eng.h"
#include "eng_lots.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

typedef __int128 i128;

/* helpers of eng_next_due(), which runs about three times per event */
#define ENG_HOT __attribute__((always_inline)) inline

/* ------------------------------------------------------------------ small helpers */

uint64_t eng_id_hash(const char *id)
{
    uint64_t h = 14695981039346656037ULL;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return h;
}

static void copy_str(char *dst, size_t n, const char *src)
{
    size_t l = strnlen(src, n - 1);
    memcpy(dst, src, l);
    dst[l] = '\0';
}

/* strcmp(a, b) == 0 for two char ARRAYS of at least 8 bytes (ids, names): the first eight
 * bytes are compared at once, which decides it for most names; strcmp does the rest. */
static inline int name_eq(const char *a, const char *b)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t wa, wb;
    memcpy(&wa, a, 8);
    memcpy(&wb, b, 8);
    uint64_t d = wa ^ wb;                                                    /* bytes that differ */
    uint64_t z = (wa - 0x0101010101010101ULL) & ~wa & 0x8080808080808080ULL; /* a's NULs */
    if (d == 0 && z == 0) /* eight equal bytes, no end yet */
        return strcmp(a + 8, b + 8) == 0;
    /* the lowest flagged byte of z is a's first NUL; equal iff it comes before any
     * difference (b then has the same NUL) */
    unsigned dz = d ? (unsigned)__builtin_ctzll(d) / 8 : 8;
    unsigned zz = z ? (unsigned)__builtin_ctzll(z) / 8 : 8;
    return zz < dz;
#else
    return strcmp(a, b) == 0;
#endif
}

/** floor(num / den) for num >= 0: the one rounding rule for points. */
static int64_t floor_points(i128 num, i128 den)
{
    if (num <= 0 || den <= 0)
        return 0;
    if (num <= INT64_MAX && den <= INT64_MAX) /* the same quotient, without __divti3 */
        return (int64_t)num / (int64_t)den;
    return (int64_t)(num / den);
}

const char *eng_out_kind_name(eng_out_kind_t kind)
{
    static const char *const names[] = {"TierChanged",        "BonusEarned",    "ExpiryWarning",
                                        "PointsExpired",      "PointsReversed", "PointsRedeemed",
                                        "RedemptionRejected", "RewardEarned",   "TierWillDowngrade",
                                        "TierProgress"};
    return (unsigned)kind < ENG_OUT_KIND_COUNT ? names[kind] : "Unknown";
}

void eng_state_init(eng_state_t *s, const char *customer_id, int64_t now)
{
    memset(s, 0, sizeof(*s));
    s->version = ENG_STATE_VERSION;
    s->flags = 1;
    copy_str(s->customer_id, sizeof(s->customer_id), customer_id);
    s->tier_since = now;
}

int64_t eng_balance(const eng_state_t *s)
{
    int64_t b = 0;
    for (uint32_t i = 0; i < s->n_lots; i++)
        b += s->lots[i].remaining;
    return b;
}

/* copy_str into a field emit() has just zeroed: the same bytes, without library calls
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

/* An output slot, its common fields filled. Callers check room beforehand. */
typedef struct emitter {
    eng_outbuf_t *out;
    const eng_state_t *s;
    const prog_t *p;
    const char *cause_id; /* event id, or NULL for a timer */
    const char *timer_kind;
    int64_t time_ms;
    uint32_t ordinal;
} emitter_t;

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

static eng_output_t *emit(emitter_t *e, eng_out_kind_t kind)
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

static const char *tier_name(const prog_t *p, int32_t t)
{
    return p->tiers[t < 0 ? 0 : (uint32_t)t < p->n_tiers ? t : (int32_t)p->n_tiers - 1].name;
}

static void emit_tier_change(emitter_t *e, eng_state_t *s, int32_t to, const char *reason,
                             int64_t value)
{
    eng_output_t *o = emit(e, ENG_OUT_TIER_CHANGED);
    put_field_arr(o->u.tier_changed.from_tier, ENG_NAME_MAX, tier_name(e->p, s->tier));
    put_field_arr(o->u.tier_changed.to_tier, ENG_NAME_MAX, tier_name(e->p, to));
    o->u.tier_changed.direction = to > s->tier ? 1 : -1;
    put_field(o->u.tier_changed.reason, ENG_NAME_MAX, reason);
    o->u.tier_changed.qualifying_value = value;
    s->tier = to;
    s->tier_since = e->time_ms;
}

/* ------------------------------------------------------------------ calendars */

static int uses_period(const prog_t *p)
{
    return p->has_award || p->demote == PROG_DEMOTE_PERIOD_END ||
           p->q_window == PROG_WIN_PREVIOUS_CALENDAR_MONTH;
}

static prog_period_t period_kind(const prog_t *p)
{
    return p->has_award ? p->award_period : p->demote_period;
}

static int64_t period_start_of(const prog_t *p, int64_t t)
{
    int32_t m = tz_month_index(p->tz, t);
    if (period_kind(p) == PROG_PERIOD_YEAR)
        m -= ((m % 12) + 12) % 12;
    return tz_month_start(p->tz, m);
}

static int64_t period_end_of(const prog_t *p, int64_t start)
{
    int32_t m = tz_month_index(p->tz, start);
    return tz_month_start(p->tz, m + (period_kind(p) == PROG_PERIOD_YEAR ? 12 : 1));
}

static int tier_eval_at_period_end(const prog_t *p)
{
    return p->demote == PROG_DEMOTE_PERIOD_END || p->q_window == PROG_WIN_PREVIOUS_CALENDAR_MONTH;
}

/* warn_days descending (as the loader sorts them): a lot's earliest pending warning is its
 * lowest unsent index. Checked per call, so a hand-built program still gets the full scan. */
static int warn_days_descending(const prog_t *p)
{
    if (p->n_warn == 0 || p->n_warn > 32)
        return 0;
    for (uint32_t i = 1; i < p->n_warn; i++)
        if (p->warn_days[i] >= p->warn_days[i - 1])
            return 0;
    return 1;
}

/* What one public call (eng_on_timer, eng_apply_event, eng_next_due) asks for again and
 * again: switches derived from the program, and the open period's end, which every
 * eng_next_due needs (two calendar lookups) and which changes only when period_start
 * does. It lives on the stack of one call and is keyed by the period_start it was computed
 * for, so a period step or a re-opened period inside the call recomputes it; nothing is
 * remembered from one call to the next. */
typedef struct call {
    const prog_t *p;
    uint32_t warn_all;  /* mask of all warning bits when warn_days descend, else 0 */
    bool uses_period;   /* uses_period(p) */
    bool tier_eval_pe;  /* tier_eval_at_period_end(p) */
    bool has_pend;      /* pend_start/pend/pend_month are set */
    int64_t pend_start; /* the period start the next two belong to */
    int64_t pend;       /* period_end_of(p, pend_start) */
    int32_t pend_month; /* tz_month_index(p->tz, pend_start) */
} call_t;

static ENG_HOT void call_init(call_t *c, const prog_t *p)
{
    c->p = p;
    c->warn_all = !warn_days_descending(p) ? 0 /* e.g. a hand-built program: the full scan */
                  : p->n_warn == 32        ? UINT32_MAX
                                           : (1u << p->n_warn) - 1;
    c->uses_period = uses_period(p);
    c->tier_eval_pe = tier_eval_at_period_end(p);
    c->has_pend = false;
}

/* period_end_of(p, start) and the month index of start, computed once per start. */
static __attribute__((noinline)) void call_period_fill(call_t *c, int64_t start)
{
    const prog_t *p = c->p;
    c->pend_month = tz_month_index(p->tz, start);
    c->pend = tz_month_start(p->tz, c->pend_month + (period_kind(p) == PROG_PERIOD_YEAR ? 12 : 1));
    c->pend_start = start;
    c->has_pend = true;
}

static ENG_HOT void call_period(call_t *c, int64_t start)
{
    if (!c->has_pend || c->pend_start != start)
        call_period_fill(c, start);
}

static ENG_HOT int64_t call_period_end(call_t *c, int64_t start)
{
    call_period(c, start);
    return c->pend;
}

/* tz_month_index(p->tz, start), shared with call_period_end. */
static int32_t period_month(call_t *c, int64_t start)
{
    call_period(c, start);
    return c->pend_month;
}

static int64_t lot_expiry(const prog_t *p, int64_t ref)
{
    switch (p->expiry) {
    case PROG_EXPIRY_AFTER_DAYS:
        return ref + (int64_t)p->expiry_days * ENG_DAY_MS;
    case PROG_EXPIRY_END_OF_NEXT_MONTH:
        return tz_month_start(p->tz, tz_month_index(p->tz, ref) + 2);
    default:
        return ENG_TIME_NEVER;
    }
}

/* ------------------------------------------------------------------ qualification */

static int32_t qkey(const prog_t *p, int64_t t)
{
    switch (p->q_window) {
    case PROG_WIN_ROLLING_DAYS:
        return tz_day_index(p->tz, t);
    case PROG_WIN_LIFETIME:
        return 0;
    default:
        return tz_month_index(p->tz, t);
    }
}

/* The qualifying value when the current key (qkey) is k, in the program's window. */
static int64_t qvalue_key(const prog_t *p, const eng_state_t *s, int32_t k)
{
    int32_t lo = k, hi = k;
    if (p->q_window == PROG_WIN_ROLLING_DAYS)
        lo = k - p->q_days + 1;
    else if (p->q_window == PROG_WIN_CALENDAR_YEAR)
        lo = k - ((k % 12) + 12) % 12;
    int64_t v = 0;
    for (uint32_t i = 0; i < s->n_qbuckets; i++)
        if (s->qbuckets[i].key >= lo && s->qbuckets[i].key <= hi)
            v += s->qbuckets[i].value;
    return v;
}

/* The qualifying value at time t, in the program's window. */
static int64_t qvalue(const prog_t *p, const eng_state_t *s, int64_t t)
{
    return qvalue_key(p, s, qkey(p, t));
}

/* Add v to the bucket `key`, the current key (qkey of the event's time). Returns 1 when
 * the array was full and two old buckets merged, else 0: then the qualifying value at
 * `key` grew by exactly v (only buckets outside the window were dropped). */
static int qbucket_add(const prog_t *p, eng_state_t *s, int32_t key, int64_t v)
{
    /* drop what can no longer count at the current key */
    int32_t k = key, keep_from = k;
    if (p->q_window == PROG_WIN_ROLLING_DAYS)
        keep_from = k - p->q_days + 1;
    else if (p->q_window == PROG_WIN_CALENDAR_YEAR)
        keep_from = k - ((k % 12) + 12) % 12;
    else if (p->q_window != PROG_WIN_LIFETIME)
        keep_from = k - 1;
    uint32_t w = 0;
    for (uint32_t i = 0; i < s->n_qbuckets; i++)
        if (s->qbuckets[i].key >= keep_from || s->qbuckets[i].key == key) {
            if (w != i)
                s->qbuckets[w] = s->qbuckets[i];
            w++;
        }
    s->n_qbuckets = w;
    for (uint32_t i = 0; i < s->n_qbuckets; i++)
        if (s->qbuckets[i].key == key) {
            s->qbuckets[i].value += v;
            return 0;
        }
    int merged = s->n_qbuckets == ENG_QBUCKETS_MAX;
    if (merged) { /* merge the oldest into the next oldest */
        uint32_t a = 0, b;
        for (uint32_t i = 1; i < s->n_qbuckets; i++)
            if (s->qbuckets[i].key < s->qbuckets[a].key)
                a = i;
        b = a == 0 ? 1 : 0;
        for (uint32_t i = 0; i < s->n_qbuckets; i++)
            if (i != a && s->qbuckets[i].key < s->qbuckets[b].key)
                b = i;
        s->qbuckets[b].value += s->qbuckets[a].value;
        s->qbuckets[a] = s->qbuckets[--s->n_qbuckets];
    }
    /* keep keys ascending: deterministic layout for the store and the JSON dump */
    uint32_t at = s->n_qbuckets;
    while (at > 0 && s->qbuckets[at - 1].key > key) {
        s->qbuckets[at] = s->qbuckets[at - 1];
        at--;
    }
    s->qbuckets[at] = (eng_qbucket_t){.key = key, .value = v};
    s->n_qbuckets++;
    return merged;
}

static void qbucket_sub(eng_state_t *s, int32_t key, int64_t v)
{
    for (uint32_t i = 0; i < s->n_qbuckets; i++)
        if (s->qbuckets[i].key == key) {
            s->qbuckets[i].value -= v < s->qbuckets[i].value ? v : s->qbuckets[i].value;
            return;
        }
}

/* Smallest metric increase that reaches tier t from value v (0 if reached). */
static int64_t missing_for(const prog_t *p, int32_t t, int64_t v)
{
    int64_t need = p->tiers[t].threshold + (p->upper_inclusive ? 1 : 0);
    return need > v ? need - v : 0;
}

/* ------------------------------------------------------------------ lots: eng_lots.c */

#define STEP_OUT_MAX  40 /* outputs one timer step can produce, at most */
#define EVENT_OUT_MAX 40 /* outputs one event can produce, at most */

/* ------------------------------------------------------------------ timer due times */

static __attribute__((noinline)) int64_t inactivity_due_at(const prog_t *p, const eng_state_t *s)
{
    int64_t k = s->inactivity_steps + 1, grace = (int64_t)p->grace_days * ENG_DAY_MS;
    if (p->inactivity_days > 0)
        return s->last_visit + k * p->inactivity_days * ENG_DAY_MS + grace;
    return tz_month_start(p->tz, tz_month_index(p->tz, s->last_visit) + 1 + (int32_t)k) + grace;
}

static ENG_HOT int64_t inactivity_due(const prog_t *p, const eng_state_t *s)
{
    if (p->demote != PROG_DEMOTE_INACTIVITY || s->tier == 0 || s->last_visit == 0)
        return ENG_TIME_NEVER;
    return inactivity_due_at(p, s);
}

/* Thresholds of downgrade warnings before a demotion at `dem`: not yet sent, after the
 * last visit (a visit resets them) and, for period-end demotion, inside the open period
 * (the period step resets them). */
static ENG_HOT int64_t downgrade_warning_due(const prog_t *p, const eng_state_t *s, int64_t dem)
{
    int64_t best = ENG_TIME_NEVER;
    if (dem == ENG_TIME_NEVER)
        return best;
    int64_t floor = s->last_visit;
    if (p->demote == PROG_DEMOTE_PERIOD_END && s->period_start > floor)
        floor = s->period_start;
    for (uint32_t i = 0; i < p->n_demote_warn; i++) {
        int64_t d = dem - p->demote_warn_days[i] * ENG_DAY_MS;
        if (!(s->downgrade_warned & (1u << i)) && d > floor && d < best)
            best = d;
    }
    return best;
}

static ENG_HOT int64_t warning_due(const call_t *c, const eng_state_t *s)
{
    const prog_t *p = c->p;
    int64_t best = ENG_TIME_NEVER;
    if (c->warn_all) {
        const uint32_t all = c->warn_all;
        for (uint32_t l = 0; l < s->n_lots; l++) {
            const eng_lot_t *lot = &s->lots[l];
            uint32_t pending = ~lot->warned & all;
            if (lot->expires_at == ENG_TIME_NEVER || pending == 0)
                continue;
            int64_t d = lot->expires_at - p->warn_days[__builtin_ctz(pending)] * ENG_DAY_MS;
            if (d < best)
                best = d;
        }
        return best;
    }
    for (uint32_t l = 0; l < s->n_lots; l++) {
        const eng_lot_t *lot = &s->lots[l];
        if (lot->expires_at == ENG_TIME_NEVER)
            continue;
        for (uint32_t i = 0; i < p->n_warn; i++) {
            int64_t d = lot->expires_at - p->warn_days[i] * ENG_DAY_MS;
            if (!(lot->warned & (1u << i)) && d < best)
                best = d;
        }
    }
    return best;
}

static int64_t expiry_due(const eng_state_t *s)
{
    return s->n_lots > 0 ? s->lots[0].expires_at : ENG_TIME_NEVER; /* lots are sorted */
}

/* The first period end at which something happens: the open period's award, or a tier
 * evaluation that changes the tier. Periods in which nothing would happen are skipped
 * (looking ahead at most PERIOD_LOOKAHEAD periods: long enough for a rolling window or a
 * calendar year to drain); an event re-opens the period it falls in. */
#define PERIOD_LOOKAHEAD 26
/* period_due's look-ahead for programs that evaluate tiers at period ends (kept out of
 * line: the common programs never get here, and eng_next_due stays small). */
static __attribute__((noinline)) int64_t period_due_eval(call_t *c, const eng_state_t *s)
{
    const prog_t *p = c->p;
    int64_t start = s->period_start;
    for (int k = 0; k < PERIOD_LOOKAHEAD; k++) {
        int64_t end = k == 0 ? call_period_end(c, start) : period_end_of(p, start);
        int32_t target = prog_tier_for(p, qvalue(p, s, end - 1));
        if (p->demote == PROG_DEMOTE_PERIOD_END ? target != s->tier : target > s->tier)
            return end;
        start = end;
    }
    return ENG_TIME_NEVER; /* nothing would happen: the next event re-opens a period */
}

static ENG_HOT int64_t period_due(call_t *c, const eng_state_t *s)
{
    if (!c->uses_period || s->period_start == 0)
        return ENG_TIME_NEVER;
    if (c->p->has_award && s->award_accum > 0)
        return call_period_end(c, s->period_start);
    return c->tier_eval_pe ? period_due_eval(c, s) : ENG_TIME_NEVER;
}

/* The next demotion and the tier it leads to: an inactivity step, or the first period end
 * whose value falls below the tier (at_period_end). Downgrade warnings count back from it. */
static __attribute__((noinline)) int64_t demotion_due_period(call_t *c, const eng_state_t *s,
                                                             int32_t *to)
{
    const prog_t *p = c->p;
    int64_t start = s->period_start;
    for (int k = 0; k < PERIOD_LOOKAHEAD; k++) {
        int64_t end = k == 0 ? call_period_end(c, start) : period_end_of(p, start);
        int32_t target = prog_tier_for(p, qvalue(p, s, end - 1));
        if (target != s->tier) { /* the first change; a promotion first means no warning */
            *to = target;
            return target < s->tier ? end : ENG_TIME_NEVER;
        }
        start = end;
    }
    return ENG_TIME_NEVER;
}

static ENG_HOT int64_t demotion_due(call_t *c, const eng_state_t *s, int64_t inact, int32_t *to)
{
    const prog_t *p = c->p;
    *to = s->tier - 1;
    if (p->demote == PROG_DEMOTE_INACTIVITY)
        return inact; /* inactivity_due(p, s) */
    if (p->demote != PROG_DEMOTE_PERIOD_END || s->tier == 0 || s->period_start == 0 ||
        p->n_demote_warn == 0)
        return ENG_TIME_NEVER;
    return demotion_due_period(c, s, to);
}

static int64_t next_due(call_t *c, const eng_state_t *s, eng_timer_kind_t *kind)
{
    const prog_t *p = c->p;
    eng_timer_kind_t k = ENG_TIMER_EXPIRY;
    int64_t best = ENG_TIME_NEVER, d;
    if (!(s->flags & 1)) {
        if (kind)
            *kind = k;
        return best;
    }
    int64_t inact = inactivity_due(p, s);
    int32_t to;
    int64_t dem = demotion_due(c, s, inact, &to);
    if ((d = warning_due(c, s)) < best)
        best = d, k = ENG_TIMER_WARNING;
    if ((d = expiry_due(s)) < best)
        best = d, k = ENG_TIMER_EXPIRY;
    if ((d = period_due(c, s)) < best)
        best = d, k = ENG_TIMER_PERIOD_END;
    if ((d = downgrade_warning_due(p, s, dem)) < best)
        best = d, k = ENG_TIMER_WARNING;
    if (inact < best)
        best = inact, k = ENG_TIMER_INACTIVITY;
    if (kind)
        *kind = k;
    return best;
}

int64_t eng_next_due(const prog_t *p, const eng_state_t *s, eng_timer_kind_t *kind)
{
    call_t c;
    call_init(&c, p);
    return next_due(&c, s, kind);
}

/* ------------------------------------------------------------------ timer steps */

static void step_warnings(const prog_t *p, eng_state_t *s, int64_t t, eng_outbuf_t *out)
{
    emitter_t e = {out, s, p, NULL, "warning", t, 0};
    for (uint32_t l = 0; l < s->n_lots;) {
        int64_t exp = s->lots[l].expires_at;
        uint32_t end = l;
        while (end < s->n_lots && s->lots[end].expires_at == exp)
            end++;
        for (uint32_t i = 0; exp != ENG_TIME_NEVER && i < p->n_warn; i++) {
            if (exp - p->warn_days[i] * ENG_DAY_MS != t)
                continue;
            int64_t pts = 0;
            for (uint32_t j = l; j < end; j++)
                if (!(s->lots[j].warned & (1u << i))) {
                    pts += s->lots[j].remaining;
                    s->lots[j].warned |= 1u << i;
                }
            if (pts > 0) {
                eng_output_t *o = emit(&e, ENG_OUT_EXPIRY_WARNING);
                o->u.expiry_warning.points = pts;
                o->u.expiry_warning.expires_at = exp;
                o->u.expiry_warning.days_left = p->warn_days[i];
            }
        }
        l = end;
    }
}

static void step_expiry(const prog_t *p, eng_state_t *s, int64_t t, eng_outbuf_t *out)
{
    emitter_t e = {out, s, p, NULL, "expiry", t, 0};
    int64_t pts = 0;
    while (s->n_lots > 0 && s->lots[0].expires_at <= t) {
        pts += s->lots[0].remaining;
        eng_lots_remove(s, 0);
    }
    if (pts > 0) {
        s->total_expired += pts;
        eng_output_t *o = emit(&e, ENG_OUT_POINTS_EXPIRED);
        o->u.points_expired.points = pts;
        o->u.points_expired.expired_at = t;
    }
}

static void emit_bonus(emitter_t *e, const eng_state_t *s, int64_t pts, int32_t rate_bp,
                       eng_lot_source_t source, int64_t usable_from, int64_t expires_at)
{
    /* the names of the lot sources, zero-padded: 8 bytes copied (the field is longer and
     * zeroed, so the terminator is already there) */
    static const char names[][9] = {"purchase", "period", "stamp", "birthday"};
    _Static_assert(ENG_SRC_PURCHASE == 0 && ENG_SRC_PERIOD == 1 && ENG_SRC_STAMP == 2 &&
                       ENG_SRC_BIRTHDAY == 3 && ENG_NAME_MAX > 8,
                   "source names");
    eng_output_t *o = emit(e, ENG_OUT_BONUS_EARNED);
    o->u.bonus_earned.points = pts;
    o->u.bonus_earned.rate_bp = rate_bp;
    put_field_arr(o->u.bonus_earned.tier, ENG_NAME_MAX, tier_name(e->p, s->tier));
    memcpy(o->u.bonus_earned.source, names[source], 8);
    o->u.bonus_earned.usable_from = usable_from;
    o->u.bonus_earned.expires_at = expires_at;
}

static void step_period(const prog_t *p, eng_state_t *s, int64_t t, eng_outbuf_t *out)
{
    emitter_t e = {out, s, p, NULL, "period_end", t, 0};
    if (p->has_award && s->award_accum > 0) {
        int32_t rate = prog_band_rate(p->award_bands, p->n_award_bands, s->award_accum,
                                      p->award_upper_inclusive);
        int64_t pts = floor_points((i128)s->award_accum * rate, (i128)10000 * p->point_value);
        if (pts > 0) {
            /* the period's lot expires relative to the period (its last instant) */
            int64_t exp = lot_expiry(p, t - 1);
            eng_lots_credit(p, s, pts, t, t, exp, ENG_SRC_PERIOD);
            emit_bonus(&e, s, pts, rate, ENG_SRC_PERIOD, t, exp);
        }
    }
    if (tier_eval_at_period_end(p)) {
        int64_t v = qvalue(p, s, t - 1);
        int32_t target = prog_tier_for(p, v);
        if (p->demote == PROG_DEMOTE_PERIOD_END ? target != s->tier : target > s->tier)
            emit_tier_change(&e, s, target, "period_end", v);
    }
    s->award_accum = 0;
    s->period_start = t;
    if (p->demote == PROG_DEMOTE_PERIOD_END)
        s->downgrade_warned = 0; /* a new period: its own warnings */
}

static void step_inactivity(const prog_t *p, eng_state_t *s, int64_t t, eng_outbuf_t *out)
{
    emitter_t e = {out, s, p, NULL, "inactivity", t, 0};
    emit_tier_change(&e, s, s->tier - 1, "inactivity", qvalue(p, s, t));
    s->inactivity_steps++;
    s->downgrade_warned = 0;
}

static void step_downgrade_warning(const prog_t *p, eng_state_t *s, int64_t t, int64_t dem,
                                   int32_t to, eng_outbuf_t *out)
{
    emitter_t e = {out, s, p, NULL, "downgrade_warning", t, 0};
    for (uint32_t i = 0; i < p->n_demote_warn; i++) {
        if ((s->downgrade_warned & (1u << i)) || dem - p->demote_warn_days[i] * ENG_DAY_MS != t)
            continue;
        s->downgrade_warned |= 1u << i;
        eng_output_t *o = emit(&e, ENG_OUT_TIER_WILL_DOWNGRADE);
        copy_str(o->u.tier_will_downgrade.from_tier, ENG_NAME_MAX, tier_name(p, s->tier));
        copy_str(o->u.tier_will_downgrade.to_tier, ENG_NAME_MAX, tier_name(p, to));
        o->u.tier_will_downgrade.effective_at = dem;
        o->u.tier_will_downgrade.days_left = p->demote_warn_days[i];
    }
}

/* One step: everything due at instant t, in a fixed order. */
static void timer_step(call_t *c, eng_state_t *s, int64_t t, eng_outbuf_t *out)
{
    const prog_t *p = c->p;
    if (warning_due(c, s) == t)
        step_warnings(p, s, t, out);
    if (expiry_due(s) == t)
        step_expiry(p, s, t, out);
    if (period_due(c, s) == t)
        step_period(p, s, t, out);
    int32_t to;
    int64_t dem = demotion_due(c, s, inactivity_due(p, s), &to);
    if (downgrade_warning_due(p, s, dem) == t)
        step_downgrade_warning(p, s, t, dem, to, out);
    if (inactivity_due(p, s) == t)
        step_inactivity(p, s, t, out);
}

static void finish(call_t *c, const eng_state_t *s, eng_outbuf_t *out)
{
    out->next_due = next_due(c, s, &out->next_kind);
}

/* A state written under another version of the program may name a tier the program no
 * longer has: it keeps the highest tier that exists (never an out-of-range read). */
static void normalise(const prog_t *p, eng_state_t *s)
{
    if (s->tier < 0)
        s->tier = 0;
    if ((uint32_t)s->tier >= p->n_tiers)
        s->tier = (int32_t)p->n_tiers - 1;
}

/* Every 64-byte line holding bytes [lo, hi) of the state (lo and hi are constants: the
 * loop has a fixed count and unrolls; it may ask for one line past hi, which is harmless:
 * a prefetch never faults and the address is only computed as an integer). */
#define PREFETCH_RANGE(s, lo, hi)                                                            \
    do {                                                                                     \
        uintptr_t a_ = ((uintptr_t)(s) + (lo)) & ~(uintptr_t)63;                             \
        _Pragma("GCC unroll 16") for (size_t i_ = 0; i_ <= ((hi) - (lo) + 63) / 64; i_++)    \
            __builtin_prefetch((const void *)(a_ + 64 * i_), 1); /* most calls write them */ \
    } while (0)

/* The lines of the state a call reads or writes when the state is small (which is when it
 * is not in cache: a customer seen rarely has few buckets, lots, purchases and seen ids; a
 * frequent one is in cache anyway), asked for at once: a state that is not in cache then
 * costs about one memory latency, not one per part. About 16 lines of the 58; larger
 * sets (25 lines, or the whole purchase ring) were not faster in place in bench_engine
 * (bandwidth and cache space). A hint only: nothing is read or written through it. */
void eng_prefetch(const eng_state_t *s)
{
    if (!s)
        return;
    /* the header, the first qualifying buckets */
    PREFETCH_RANGE(s, 0, offsetof(eng_state_t, qbuckets) + 4 * sizeof(eng_qbucket_t));
    /* the open period, the debt and the first lots */
    PREFETCH_RANGE(s, offsetof(eng_state_t, period_start),
                   offsetof(eng_state_t, lots) + 2 * sizeof(eng_lot_t));
    /* stamps, the purchase ring's head and its first records */
    PREFETCH_RANGE(s, offsetof(eng_state_t, stamps),
                   offsetof(eng_state_t, purchases) + 3 * sizeof(eng_purchase_rec_t));
    /* the seen ring's head and first hashes */
    PREFETCH_RANGE(s, offsetof(eng_state_t, n_seen), offsetof(eng_state_t, seen) + 8 * 8);
    /* the birthday year and the totals */
    PREFETCH_RANGE(s, offsetof(eng_state_t, birthday_year), sizeof(eng_state_t));
}

/* eng_on_timer after the prefetch and normalise (eng_apply_event's catch-up). */
static int on_timer(call_t *c, eng_state_t *s, int64_t now, eng_outbuf_t *out)
{
    int steps = 0;
    eng_timer_kind_t kind;
    int64_t t;
    for (;;) {
        t = next_due(c, s, &kind);
        if (t > now || t == ENG_TIME_NEVER || out->cap - out->n < STEP_OUT_MAX)
            break;
        timer_step(c, s, t, out);
        steps++;
    }
    out->next_due = t;
    out->next_kind = kind;
    return steps;
}

int eng_on_timer(const prog_t *p, eng_state_t *s, int64_t now, eng_outbuf_t *out)
{
    eng_prefetch(s);
    normalise(p, s);
    call_t c;
    call_init(&c, p);
    return on_timer(&c, s, now, out);
}

/* ------------------------------------------------------------------ events: helpers */

static int in_set(const prog_catset_t *set, const eng_line_t *l)
{
    if (set->on_sale && l->on_sale)
        return 1;
    for (uint32_t i = 0; i < set->n; i++)
        if (name_eq(set->v[i], l->category))
            return 1;
    return 0;
}

static int32_t kv_find(const prog_kv_t *kv, uint32_t n, const char *key, int32_t dflt)
{
    for (uint32_t i = 0; i < n; i++)
        if (name_eq(kv[i].key, key))
            return kv[i].value;
    return dflt;
}

#if defined(__x86_64__) && defined(__GNUC__)
#define ENG_SEEN_AVX2 1
/* Four hashes per compare where the CPU has AVX2 (chosen at run time). */
__attribute__((target("avx2"))) static int seen_has_avx2(const uint64_t *seen, uint32_t n,
                                                         uint64_t h)
{
    const __m256i hv = _mm256_set1_epi64x((long long)h);
    __m256i acc = _mm256_setzero_si256();
    uint32_t i = 0;
    _Pragma("GCC unroll 4") for (; i + 4 <= n; i += 4) acc =
        _mm256_or_si256(acc, _mm256_cmpeq_epi64(_mm256_loadu_si256((const __m256i *)&seen[i]), hv));
    uint64_t found = (uint64_t)_mm256_movemask_epi8(acc);
    for (; i < n; i++)
        found |= seen[i] == h;
    return found != 0;
}
#endif

static int seen_has(const eng_state_t *s, uint64_t h)
{
    /* no early exit: most events are new, so the whole ring is read anyway */
    uint32_t n = s->n_seen <= ENG_SEEN_MAX ? s->n_seen : ENG_SEEN_MAX, i = 0;
#ifdef ENG_SEEN_AVX2
    if (__builtin_cpu_supports("avx2"))
        return seen_has_avx2(s->seen, n, h);
#endif
    uint64_t found = 0;
#if defined(__SSE2__)
    /* two hashes per compare: 32-bit halves equal, and equal in both halves */
    const __m128i hv = _mm_set1_epi64x((long long)h);
    __m128i acc = _mm_setzero_si128();
    for (; i + 2 <= n; i += 2) {
        __m128i e = _mm_cmpeq_epi32(_mm_loadu_si128((const __m128i *)&s->seen[i]), hv);
        acc = _mm_or_si128(acc, _mm_and_si128(e, _mm_shuffle_epi32(e, _MM_SHUFFLE(2, 3, 0, 1))));
    }
    found = (uint64_t)_mm_movemask_epi8(acc);
#endif
    for (; i < n; i++)
        found |= s->seen[i] == h;
    return found != 0;
}

static void seen_add(eng_state_t *s, uint64_t h)
{
    s->seen[s->seen_head] = h;
    s->seen_head = (s->seen_head + 1) % ENG_SEEN_MAX;
    if (s->n_seen < ENG_SEEN_MAX)
        s->n_seen++;
}

static int32_t tenure_permille(const prog_t *p, const eng_event_t *ev)
{
    if (!ev->attrs.has_member_since || p->n_tenure == 0)
        return 1000;
    int32_t y0, m0, d0, y1, m1, d1;
    tz_civil_from_days(tz_day_index(p->tz, ev->attrs.member_since), &y0, &m0, &d0);
    tz_civil_from_days(tz_day_index(p->tz, ev->time_ms), &y1, &m1, &d1);
    int32_t years = y1 - y0 - ((m1 < m0 || (m1 == m0 && d1 < d0)) ? 1 : 0);
    int32_t pm = 1000;
    for (uint32_t i = 0; i < p->n_tenure; i++)
        if (years >= p->tenure[i].years)
            pm = p->tenure[i].permille;
    return pm;
}

static int is_birthday(const prog_t *p, const eng_event_t *ev, int32_t *year)
{
    if (!ev->attrs.has_birth_date)
        return 0;
    int32_t y, m, d;
    tz_civil_from_days(tz_day_index(p->tz, ev->time_ms), &y, &m, &d);
    *year = y;
    int32_t bm = ev->attrs.birth_month, bd = ev->attrs.birth_day;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (bm == 2 && bd == 29 && !leap)
        bd = 28; /* a 29 February birthday is celebrated on the 28th in other years */
    return m == bm && d == bd;
}

/* Points a line earns by the marginal bands: units at positions [pos, pos + w) of the
 * qualifying metric, each band's share of the line at its rate. */
static i128 marginal_num(const prog_t *p, const eng_line_t *l, int64_t pos, int64_t w)
{
    i128 num = 0;
    for (uint32_t b = 0; b < p->n_marginal && w > 0; b++) {
        int64_t lo = p->marginal[b].from;
        int64_t hi = b + 1 < p->n_marginal ? p->marginal[b + 1].from : INT64_MAX;
        int64_t a = pos > lo ? pos : lo, z = pos + w < hi ? pos + w : hi;
        if (z > a)
            num += (i128)(z - a) * l->amount * p->marginal[b].rate_bp;
    }
    return num;
}

static void record_purchase(eng_state_t *s, const eng_purchase_rec_t *r)
{
    uint32_t slot;
    if (s->n_purchases < ENG_PURCHASES_MAX) {
        slot = (s->purchases_head + s->n_purchases) % ENG_PURCHASES_MAX;
        s->n_purchases++;
    } else {
        slot = s->purchases_head; /* forget the oldest */
        s->purchases_head = (s->purchases_head + 1) % ENG_PURCHASES_MAX;
    }
    s->purchases[slot] = *r;
}

/* ------------------------------------------------------------------ purchase */

typedef struct earn {
    int64_t gross, eligible, units;
    int64_t points, marginal_points, birthday_points;
    int32_t rate_bp;
} earn_t;

static void compute_earning(const prog_t *p, const eng_state_t *s, const eng_event_t *ev,
                            int64_t qpos, earn_t *r)
{
    memset(r, 0, sizeof(*r));
    _Static_assert(ENG_LINES_MAX <= 64, "one bit per line");
    uint64_t excl = 0; /* bit i: line i is excluded from earning */
    for (uint32_t i = 0; i < ev->n_lines; i++) {
        r->gross += ev->lines[i].amount;
        r->units += ev->lines[i].quantity;
        if (in_set(&p->earn_excl, &ev->lines[i]))
            excl |= 1ULL << i;
        else
            r->eligible += ev->lines[i].amount;
    }
    if (r->eligible < p->min_purchase || r->eligible == 0)
        return;
    /* base rate: a listed partner's, else the check's band, else base; a tier's own rate wins */
    int32_t base = kv_find(p->partners, p->n_partners, ev->partner, -1);
    if (base < 0 && p->n_check_bands)
        base = prog_band_rate(p->check_bands, p->n_check_bands, r->eligible, false);
    else if (base < 0)
        base = p->base_bp;
    const prog_tier_t *t = &p->tiers[s->tier];
    if (t->earn_bp >= 0)
        base = t->earn_bp;
    i128 mult = (i128)t->earn_permille * tenure_permille(p, ev) *
                kv_find(p->status_mult, p->n_status_mult, ev->attrs.account_status, 1000);
    const i128 bm = (i128)base * mult;
    i128 num = 0;
    int64_t pos = qpos;
    for (uint32_t i = 0; i < ev->n_lines; i++) {
        const eng_line_t *l = &ev->lines[i];
        int64_t w = p->q_metric == PROG_METRIC_SPEND ? l->amount : l->quantity;
        if (!(excl >> i & 1)) {
            num += (i128)l->amount * bm * /* = amount * base * mult * category */
                   kv_find(p->cat_mult, p->n_cat_mult, l->category, 1000);
            if (p->n_marginal && w > 0) /* floor per line: a line has one unit price */
                r->marginal_points +=
                    floor_points(marginal_num(p, l, pos, w), (i128)w * 10000 * p->point_value);
        }
        if (p->q_metric != PROG_METRIC_PURCHASES)
            pos += w;
    }
    const i128 den = (i128)10000 * 1000000000000LL * p->point_value;
    r->points = floor_points(num, den);
    i128 rate = bm >= 0 && bm <= INT64_MAX ? (i128)((int64_t)bm / 1000000000) : bm / 1000000000;
    r->rate_bp = rate > INT32_MAX ? INT32_MAX : (int32_t)rate;
    int32_t year;
    if (p->birthday_bp && r->eligible >= p->birthday_min_purchase && is_birthday(p, ev, &year) &&
        s->birthday_year != year)
        r->birthday_points =
            floor_points((i128)r->eligible * p->birthday_bp, (i128)10000 * p->point_value);
}

static void apply_stamps(const prog_t *p, eng_state_t *s, const eng_event_t *ev, emitter_t *e,
                         int64_t usable, int64_t exp)
{
    for (uint32_t c = 0; c < p->n_stamps && c < ENG_STAMPS_MAX; c++) {
        const prog_stamp_card_t *card = &p->stamps[c];
        for (uint32_t i = 0; i < ev->n_lines; i++)
            if (name_eq(ev->lines[i].category, card->category))
                s->stamps[c] += ev->lines[i].quantity;
        for (int k = 0; k < ENG_REWARDS_PER_EVENT && s->stamps[c] >= card->every; k++) {
            s->stamps[c] -= card->every;
            if (card->reward == PROG_REWARD_POINTS) {
                eng_lots_credit(p, s, card->points, ev->time_ms, usable, exp, ENG_SRC_STAMP);
                emit_bonus(e, s, card->points, 0, ENG_SRC_STAMP, usable, exp);
            } else {
                eng_output_t *o = emit(e, ENG_OUT_REWARD_EARNED);
                copy_str(o->u.reward_earned.reward, ENG_NAME_MAX, card->item);
                copy_str(o->u.reward_earned.category, ENG_NAME_MAX, card->category);
                o->u.reward_earned.stamps_used = card->every;
            }
        }
    }
}

static void on_purchase(call_t *c, eng_state_t *s, const eng_event_t *ev, uint64_t id_hash,
                        emitter_t *e)
{
    const prog_t *p = c->p;
    const int64_t T = ev->time_ms;
    s->last_visit = T;
    s->inactivity_steps = 0;
    s->downgrade_warned = 0;
    const int32_t key = qkey(p, T); /* one calendar lookup for the whole purchase */
    int64_t qpos = qvalue_key(p, s, key);
    earn_t r;
    compute_earning(p, s, ev, qpos, &r);
    int64_t usable =
        p->usable == PROG_USABLE_NEXT_VISIT ? tz_day_start(p->tz, tz_day_index(p->tz, T) + 1) : T;
    const int month_keys = p->q_window == PROG_WIN_CALENDAR_MONTH ||
                           p->q_window == PROG_WIN_PREVIOUS_CALENDAR_MONTH ||
                           p->q_window == PROG_WIN_CALENDAR_YEAR;
    int64_t exp = p->expiry == PROG_EXPIRY_END_OF_NEXT_MONTH && month_keys
                      ? tz_month_start(p->tz, key + 2) /* lot_expiry(p, T), key being T's month */
                      : lot_expiry(p, T);
    int64_t pts = r.points + r.marginal_points;
    if (pts > 0) {
        eng_lots_credit(p, s, pts, T, usable, exp, ENG_SRC_PURCHASE);
        int32_t rate = r.rate_bp;
        if (r.marginal_points) /* effective rate over the check, floored */
            rate = (int32_t)((i128)pts * p->point_value * 10000 / r.eligible);
        emit_bonus(e, s, pts, rate, ENG_SRC_PURCHASE, usable, exp);
    }
    if (r.birthday_points > 0) {
        int32_t year = 0;
        is_birthday(p, ev, &year);
        s->birthday_year = year;
        eng_lots_credit(p, s, r.birthday_points, T, usable, exp, ENG_SRC_BIRTHDAY);
        emit_bonus(e, s, r.birthday_points, p->birthday_bp, ENG_SRC_BIRTHDAY, usable, exp);
    }
    apply_stamps(p, s, ev, e, usable, exp);

    /* qualification and the period's award total */
    int64_t qv = p->q_metric == PROG_METRIC_SPEND      ? r.gross
                 : p->q_metric == PROG_METRIC_QUANTITY ? r.units
                                                       : 1;
    int merged = qbucket_add(p, s, key, qv);
    int64_t award = 0;
    if (p->has_award) {
        award = r.eligible;
        s->award_accum += award;
    }
    int64_t value = merged ? qvalue_key(p, s, key) : qpos + qv; /* qvalue_key(p, s, key) */
    if (p->q_window != PROG_WIN_PREVIOUS_CALENDAR_MONTH) {
        int32_t target = prog_tier_for(p, value);
        if (target > s->tier)
            emit_tier_change(e, s, target, "qualification", value);
    }
    if (p->progress && (uint32_t)s->tier + 1 < p->n_tiers) {
        int64_t miss = missing_for(p, s->tier + 1, value);
        if (miss > 0 && (p->progress_within == 0 || miss <= p->progress_within)) {
            eng_output_t *o = emit(e, ENG_OUT_TIER_PROGRESS);
            copy_str(o->u.tier_progress.current_tier, ENG_NAME_MAX, tier_name(p, s->tier));
            copy_str(o->u.tier_progress.next_tier, ENG_NAME_MAX, tier_name(p, s->tier + 1));
            o->u.tier_progress.current_value = value;
            o->u.tier_progress.missing = miss;
        }
    }
    eng_purchase_rec_t rec = {.id_hash = id_hash,
                              .time_ms = T,
                              .eligible_amount = r.eligible,
                              .points = pts + r.birthday_points,
                              .qual_value = qv,
                              .award_amount = award,
                              .qual_key = key,
                              .award_period =
                                  s->period_start ? period_month(c, s->period_start) : 0,
                              .gross_amount = r.gross};
    record_purchase(s, &rec);
}

/* ------------------------------------------------------------------ return */

static void on_return(call_t *c, eng_state_t *s, const eng_event_t *ev, emitter_t *e)
{
    const prog_t *p = c->p;
    uint64_t h = eng_id_hash(ev->original_event_id);
    eng_purchase_rec_t *r = NULL;
    for (uint32_t i = 0; i < s->n_purchases; i++) {
        eng_purchase_rec_t *rec = &s->purchases[(s->purchases_head + i) % ENG_PURCHASES_MAX];
        if (rec->id_hash == h)
            r = rec;
    }
    if (!r)
        return; /* unknown or forgotten purchase: nothing to reverse (documented) */
    int64_t elig = 0, gross = 0, units = 0;
    for (uint32_t i = 0; i < ev->n_lines; i++) {
        gross += ev->lines[i].amount;
        units += ev->lines[i].quantity;
        if (!in_set(&p->earn_excl, &ev->lines[i]))
            elig += ev->lines[i].amount;
    }
    if (elig > r->eligible_amount - r->returned_amount)
        elig = r->eligible_amount - r->returned_amount;
    /* points: the cumulative pro-rata share, floored, minus what was already reversed */
    int64_t before = r->points_reversed;
    r->returned_amount += elig;
    int64_t target = r->eligible_amount > 0
                         ? floor_points((i128)r->points * r->returned_amount, r->eligible_amount)
                         : 0;
    int64_t delta = target - before;
    r->points_reversed = target;
    /* qualification and the open period's award total */
    int64_t qv = p->q_metric == PROG_METRIC_SPEND      ? gross
                 : p->q_metric == PROG_METRIC_QUANTITY ? units
                                                       : 0;
    if (qv > r->qual_value - r->qual_returned)
        qv = r->qual_value - r->qual_returned;
    r->qual_returned += qv;
    qbucket_sub(s, r->qual_key, qv);
    if (p->has_award && s->period_start && r->award_period == period_month(c, s->period_start)) {
        int64_t a = elig < s->award_accum ? elig : s->award_accum;
        s->award_accum -= a;
    }
    if (delta <= 0)
        return;
    int64_t taken = eng_lots_take(s, delta, INT64_MAX);
    int64_t debt = p->returns == PROG_RETURNS_DEBT ? delta - taken : 0;
    s->total_reversed += taken;
    s->debt += debt;
    eng_output_t *o = emit(e, ENG_OUT_POINTS_REVERSED);
    o->u.points_reversed.points = taken;
    o->u.points_reversed.debt_added = debt;
    copy_str(o->u.points_reversed.original_event_id, ENG_ID_MAX, ev->original_event_id);
}

/* ------------------------------------------------------------------ redemption */

static void reject(emitter_t *e, int64_t asked, int64_t avail, const char *why)
{
    eng_output_t *o = emit(e, ENG_OUT_REDEMPTION_REJECTED);
    o->u.redemption_rejected.points_requested = asked;
    o->u.redemption_rejected.points_available = avail;
    copy_str(o->u.redemption_rejected.reason, ENG_NAME_MAX, why);
}

static void on_redemption(const prog_t *p, eng_state_t *s, const eng_event_t *ev, emitter_t *e)
{
    const int64_t T = ev->time_ms;
    s->last_visit = T;
    s->inactivity_steps = 0;
    s->downgrade_warned = 0;
    int64_t avail = eng_lots_usable(s, T);
    if (ev->points <= 0)
        return reject(e, ev->points, avail, "invalid_points");
    if (ev->points > avail)
        return reject(e, ev->points, avail, "insufficient_points");
    int64_t value = ev->points * p->point_value;
    if (ev->n_lines > 0) {
        int64_t basket = 0;
        for (uint32_t i = 0; i < ev->n_lines; i++)
            if (!in_set(&p->redeem_excl, &ev->lines[i]))
                basket += ev->lines[i].amount;
        if (basket == 0)
            return reject(e, ev->points, avail, "excluded_basket");
        if ((i128)value * 10000 > (i128)basket * p->max_share_bp)
            return reject(e, ev->points, avail, "over_max_share");
    }
    eng_lots_take(s, ev->points, T);
    s->total_redeemed += ev->points;
    eng_output_t *o = emit(e, ENG_OUT_POINTS_REDEEMED);
    o->u.points_redeemed.points = ev->points;
    o->u.points_redeemed.value = value;
    o->u.points_redeemed.balance_after = eng_balance(s);
}

/* ------------------------------------------------------------------ entry points */

int eng_event_check(const prog_t *p, const eng_event_t *ev, char *err, size_t errlen)
{
    if (ev->kind < ENG_EV_PURCHASE || ev->kind > ENG_EV_REDEMPTION)
        return snprintf(err, errlen, "event kind %d is unknown", (int)ev->kind), -1;
    if (!ev->event_id[0])
        return snprintf(err, errlen, "event_id is empty"), -1;
    if (!ev->customer_id[0])
        return snprintf(err, errlen, "event %s: customer_id is empty", ev->event_id), -1;
    if (ev->time_ms <= 0 || ev->time_ms >= 7258118400000LL) /* 1970 .. 2200 */
        return snprintf(err, errlen, "event %s: time is out of range", ev->event_id), -1;
    if (ev->currency[0] && strcmp(ev->currency, p->currency) != 0)
        return snprintf(err, errlen, "event %s: currency %s is not the program's %s", ev->event_id,
                        ev->currency, p->currency),
               -1;
    if (ev->n_lines > ENG_LINES_MAX)
        return snprintf(err, errlen, "event %s: more than %d lines", ev->event_id, ENG_LINES_MAX),
               -1;
    int64_t total = 0;
    for (uint32_t i = 0; i < ev->n_lines; i++) {
        if (ev->lines[i].amount < 0 || ev->lines[i].amount > ENG_AMOUNT_MAX ||
            ev->lines[i].quantity < 1)
            return snprintf(err, errlen,
                            "event %s: line %u has a negative amount or a "
                            "quantity below 1",
                            ev->event_id, i),
                   -1;
        total += ev->lines[i].amount;
        if (total > ENG_AMOUNT_MAX)
            return snprintf(err, errlen, "event %s: total above the limit", ev->event_id), -1;
    }
    if (ev->kind == ENG_EV_RETURN && !ev->original_event_id[0])
        return snprintf(err, errlen, "event %s: a return needs original_event_id", ev->event_id),
               -1;
    if (ev->kind == ENG_EV_REDEMPTION && (ev->points < 0 || ev->points > ENG_AMOUNT_MAX))
        return snprintf(err, errlen, "event %s: points out of range", ev->event_id), -1;
    if (ev->attrs.has_birth_date && (ev->attrs.birth_month < 1 || ev->attrs.birth_month > 12 ||
                                     ev->attrs.birth_day < 1 || ev->attrs.birth_day > 31))
        return snprintf(err, errlen, "event %s: birth date is not a date", ev->event_id), -1;
    return 0;
}

int eng_apply_event(const prog_t *p, eng_state_t *s, const eng_event_t *ev, eng_outbuf_t *out,
                    char *err, size_t errlen)
{
    eng_prefetch(s);
    call_t c;
    call_init(&c, p);
    if (eng_event_check(p, ev, err, errlen) != 0) {
        finish(&c, s, out);
        return ENG_EINVAL;
    }
    if ((s->flags & 1) && !name_eq(s->customer_id, ev->customer_id)) {
        snprintf(err, errlen, "event %s: customer %s does not own this state (%s)", ev->event_id,
                 ev->customer_id, s->customer_id);
        finish(&c, s, out);
        return ENG_EINVAL;
    }
    uint64_t h = eng_id_hash(ev->event_id);
    if ((s->flags & 1) && seen_has(s, h)) {
        finish(&c, s, out);
        return ENG_DUPLICATE;
    }
    if (!(s->flags & 1))
        eng_state_init(s, ev->customer_id, ev->time_ms);
    normalise(p, s);
    on_timer(&c, s, ev->time_ms, out); /* catch up: timers due by T fire first */
    if (out->next_due <= ev->time_ms || out->cap - out->n < EVENT_OUT_MAX) {
        snprintf(err, errlen, "event %s: output buffer full, call eng_on_timer first",
                 ev->event_id);
        finish(&c, s, out);
        return ENG_ETIMERS;
    }
    if (c.uses_period &&
        (s->period_start == 0 || call_period_end(&c, s->period_start) <= ev->time_ms))
        s->period_start = period_start_of(p, ev->time_ms);
    emitter_t e = {out, s, p, ev->event_id, NULL, ev->time_ms, 0};
    if (ev->kind == ENG_EV_PURCHASE)
        on_purchase(&c, s, ev, h, &e);
    else if (ev->kind == ENG_EV_RETURN)
        on_return(&c, s, ev, &e);
    else
        on_redemption(p, s, ev, &e);
    seen_add(s, h);
    s->version = ENG_STATE_VERSION;
    finish(&c, s, out);
    return ENG_OK;
}
