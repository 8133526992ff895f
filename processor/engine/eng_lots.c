/*
 * eng_lots: the points lots of a customer state, kept ordered by (expires_at, earned_at)
 * so that spending, reversal and expiry simply walk the array from the front.
 *
 * The one idea: the array order IS the spending order (earliest expiry first), so no
 * rule ever sorts; inserting keeps the order, and merging (same expiry, or a full array)
 * never breaks it.
 */
#include "eng_lots.h"
#include "eng.h"

#include <string.h>

static int lot_before(const eng_lot_t *a, const eng_lot_t *b)
{
    if (a->expires_at != b->expires_at)
        return a->expires_at < b->expires_at;
    return a->earned_at < b->earned_at;
}

/* Insert keeping lots ordered by (expires_at, earned_at): spending order is array order. */
static void lot_insert(eng_state_t *s, const eng_lot_t *lot)
{
    uint32_t at = s->n_lots;
    while (at > 0 && lot_before(lot, &s->lots[at - 1])) {
        s->lots[at] = s->lots[at - 1];
        at--;
    }
    s->lots[at] = *lot;
    s->n_lots++;
}

void eng_lots_remove(eng_state_t *s, uint32_t i)
{
    memmove(&s->lots[i], &s->lots[i + 1], (s->n_lots - i - 1) * sizeof(s->lots[0]));
    s->n_lots--;
}

static uint32_t initial_warned(const prog_t *p, int64_t earned_at, int64_t expires_at)
{
    uint32_t m = 0;
    if (expires_at == ENG_TIME_NEVER)
        return 0;
    for (uint32_t i = 0; i < p->n_warn; i++)
        if (expires_at - p->warn_days[i] * ENG_DAY_MS < earned_at)
            m |= 1u << i; /* already past when the lot was born: never sent */
    return m;
}

/* Credit `points` as a new lot; outstanding debt is repaid first (counted as reversed). */
int eng_lots_credit(const prog_t *p, eng_state_t *s, int64_t points, int64_t earned_at,
                    int64_t usable_from, int64_t expires_at, eng_lot_source_t src)
{
    s->total_earned += points;
    if (s->debt > 0) {
        int64_t repay = points < s->debt ? points : s->debt;
        s->debt -= repay;
        s->total_reversed += repay;
        points -= repay;
    }
    if (points <= 0)
        return 0;
    eng_lot_t lot = {.amount = points,
                     .remaining = points,
                     .earned_at = earned_at,
                     .usable_from = usable_from,
                     .expires_at = expires_at,
                     .warned = initial_warned(p, earned_at, expires_at),
                     .source = (uint8_t)src};
    /* a lot with the same expiry and source that is (or becomes) usable alike is the same
     * lot for every later rule: add to it (keeps the array short and the hot path fast) */
    for (uint32_t i = 0; i < s->n_lots; i++) {
        eng_lot_t *l = &s->lots[i];
        if (l->expires_at == expires_at && l->source == (uint8_t)src &&
            (l->usable_from == usable_from ||
             (l->usable_from <= earned_at && usable_from <= earned_at))) {
            l->amount += points;
            l->remaining += points;
            l->usable_from = l->usable_from > usable_from ? l->usable_from : usable_from;
            l->warned |= lot.warned;
            return 0;
        }
    }
    int merged = s->n_lots == ENG_LOTS_MAX;
    if (merged) { /* merge into the lot of nearest expiry */
        uint32_t best = 0;
        uint64_t bd = UINT64_MAX;
        for (uint32_t i = 0; i < s->n_lots; i++) {
            int64_t a = s->lots[i].expires_at, b = expires_at;
            uint64_t d = a > b ? (uint64_t)a - (uint64_t)b : (uint64_t)b - (uint64_t)a;
            if (d < bd) {
                bd = d;
                best = i;
            }
        }
        eng_lot_t m = s->lots[best];
        eng_lots_remove(s, best);
        lot.amount += m.amount;
        lot.remaining += m.remaining;
        lot.earned_at = m.earned_at < lot.earned_at ? m.earned_at : lot.earned_at;
        lot.usable_from = m.usable_from > lot.usable_from ? m.usable_from : lot.usable_from;
        lot.warned = lot.expires_at >= m.expires_at ? lot.warned : m.warned;
        lot.expires_at = m.expires_at > lot.expires_at ? m.expires_at : lot.expires_at;
        lot.source = m.source;
    }
    lot_insert(s, &lot);
    return merged;
}

/* Take up to `want` points from lots usable at `usable_at` (INT64_MAX: all lots),
 * earliest expiry first; returns what was taken. */
int64_t eng_lots_take(eng_state_t *s, int64_t want, int64_t usable_at)
{
    int64_t taken = 0;
    for (uint32_t i = 0; i < s->n_lots && taken < want;) {
        eng_lot_t *l = &s->lots[i];
        if (l->usable_from > usable_at) {
            i++;
            continue;
        }
        int64_t t = want - taken < l->remaining ? want - taken : l->remaining;
        l->remaining -= t;
        taken += t;
        if (l->remaining == 0)
            eng_lots_remove(s, i);
        else
            i++;
    }
    return taken;
}

int64_t eng_lots_usable(const eng_state_t *s, int64_t at)
{
    int64_t b = 0;
    for (uint32_t i = 0; i < s->n_lots; i++)
        if (s->lots[i].usable_from <= at)
            b += s->lots[i].remaining;
    return b;
}
