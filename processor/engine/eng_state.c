/*
 * eng_state: the state-level functions of eng.h (eng_state_init, eng_balance) and the
 * engine's idempotency check over the state's ring of seen ids (eng_int.h).
 *
 * The one idea: these work on one eng_state_t alone, without the program; eng_prefetch
 * stays in eng.c, next to the entry points that call it.
 */
#include "eng.h"
#include "eng_int.h"

#include <stddef.h>
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

void eng_state_init(eng_state_t *s, const char *customer_id, int64_t now)
{
    memset(s, 0, sizeof(*s));
    s->version = ENG_STATE_VERSION;
    s->flags = 1;
    copy_str(s->customer_id, sizeof(s->customer_id), customer_id);
    s->tier_since = now;
    s->joined_at = now;
}

void eng_state_upgrade(eng_state_t *s)
{
    if (!(s->flags & 1) || s->joined_at != 0)
        return;
    /* version 1 kept no join date: the earliest time the state records */
    int64_t j = s->tier_since > 0 ? s->tier_since : INT64_MAX;
    for (uint32_t i = 0; i < s->n_purchases && i < ENG_PURCHASES_MAX; i++)
        if (s->purchases[i].time_ms > 0 && s->purchases[i].time_ms < j)
            j = s->purchases[i].time_ms;
    for (uint32_t i = 0; i < s->n_lots && i < ENG_LOTS_MAX; i++)
        if (s->lots[i].earned_at > 0 && s->lots[i].earned_at < j)
            j = s->lots[i].earned_at;
    if (s->last_visit > 0 && s->last_visit < j)
        j = s->last_visit;
    s->joined_at = j == INT64_MAX ? 0 : j;
}

void eng_state_remember(eng_state_t *s, const eng_attrs_t *a)
{
    if (a->has_member_since)
        s->joined_at = a->member_since;
    if (a->has_birth_date) {
        s->birth_month = a->birth_month;
        s->birth_day = a->birth_day;
    }
    if (a->account_status[0])
        copy_str(s->account_status, sizeof(s->account_status), a->account_status);
}

int64_t eng_balance(const eng_state_t *s)
{
    int64_t b = 0;
    for (uint32_t i = 0; i < s->n_lots; i++)
        b += s->lots[i].remaining;
    return b;
}

/* ------------------------------------------------------------------ idempotency ring */

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

int eng_seen_has(const eng_state_t *s, uint64_t h)
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

bool eng_event_too_late(const prog_t *p, const eng_state_t *s, const eng_event_t *ev, int64_t clock)
{
    return clock - ev->time_ms > p->max_lateness_ms &&
           !((s->flags & 1) && eng_seen_has(s, eng_id_hash(ev->event_id)));
}
