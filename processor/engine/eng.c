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
 *
 * Around it: eng_earn.c computes what a purchase earns, eng_out.c fills the output
 * records, eng_lots.c keeps the lots, eng_state.c the state-level functions (init,
 * the seen-id check); eng_int.h holds the small helpers they share.
 */
#include "eng.h"
#include "eng_earn.h"
#include "eng_int.h"
#include "eng_lots.h"
#include "eng_out.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

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

/* ------------------------------------------------------------------ calendars */

static int uses_period(const prog_t *p)
{
    return p->has_award || p->demote == PROG_DEMOTE_PERIOD_END ||
           p->demote == PROG_DEMOTE_RESET_EACH_PERIOD ||
           p->q_window == PROG_WIN_PREVIOUS_CALENDAR_MONTH;
}

static prog_period_t period_kind(const prog_t *p)
{
    return p->has_award ? p->award_period : p->demote_period;
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
    const tz_months_t *mt; /* the zone's month table: month lookups inline */
    uint32_t warn_all;     /* mask of all warning bits when warn_days descend, else 0 */
    bool uses_period;      /* uses_period(p) */
    bool tier_eval_pe;     /* tier_eval_at_period_end(p) */
    bool has_pend;         /* pend_start/pend/pend_month are set */
    int64_t pend_start;    /* the period start the next two belong to */
    int64_t pend;          /* period_end_of(p, pend_start) */
    int32_t pend_month;    /* tz_month_index(p->tz, pend_start) */
} call_t;

static ENG_HOT void call_init(call_t *c, const prog_t *p)
{
    c->p = p;
    c->mt = tz_months(p->tz);
    c->warn_all = !warn_days_descending(p) ? 0 /* e.g. a hand-built program: the full scan */
                  : p->n_warn == 32        ? UINT32_MAX
                                           : (1u << p->n_warn) - 1;
    c->uses_period = uses_period(p);
    c->tier_eval_pe = tier_eval_at_period_end(p);
    c->has_pend = false;
}

/* tz_month_index / tz_month_start through the call's month table (inline). */
static ENG_HOT int32_t call_month(const call_t *c, int64_t t)
{
    return tz_months_index(c->p->tz, c->mt, t);
}

static ENG_HOT int64_t call_month_start(const call_t *c, int32_t month)
{
    return tz_months_start(c->p->tz, c->mt, month);
}

/* The month index of the first month of the period containing t. */
static int32_t period_month_of(const call_t *c, int64_t t)
{
    int32_t m = call_month(c, t);
    if (period_kind(c->p) == PROG_PERIOD_YEAR)
        m -= ((m % 12) + 12) % 12;
    return m;
}

/* period_start_of(p, t) */
static int64_t call_period_start_of(const call_t *c, int64_t t)
{
    return call_month_start(c, period_month_of(c, t));
}

/* The open period's award is still to be paid at its close (its own award total, or the
 * next period's while the open one is in its grace). */
static bool award_pending(const prog_t *p, const eng_state_t *s)
{
    return p->has_award && (s->award_accum > 0 || s->next_accum > 0);
}

/* period_end_of(p, start) and the month index of start, computed once per start. */
static __attribute__((noinline)) void call_period_fill(call_t *c, int64_t start)
{
    const prog_t *p = c->p;
    c->pend_month = call_month(c, start);
    c->pend = call_month_start(c, c->pend_month + (period_kind(p) == PROG_PERIOD_YEAR ? 12 : 1));
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
    case PROG_EXPIRY_AFTER_MONTHS:
        return tz_add_months(p->tz, ref, p->expiry_months);
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

/* qkey(p, t) through the call's month table. */
static ENG_HOT int32_t call_qkey(const call_t *c, int64_t t)
{
    const prog_t *p = c->p;
    switch (p->q_window) {
    case PROG_WIN_ROLLING_DAYS:
        return tz_day_index(p->tz, t);
    case PROG_WIN_LIFETIME:
        return 0;
    default:
        return call_month(c, t);
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
#define EVENT_OUT_MAX 48 /* outputs one event can produce, at most */

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
            return end + p->late_grace_ms;
        start = end;
    }
    return ENG_TIME_NEVER; /* nothing would happen: the next event re-opens a period */
}

static ENG_HOT int64_t period_due(call_t *c, const eng_state_t *s)
{
    if (!c->uses_period || s->period_start == 0)
        return ENG_TIME_NEVER;
    if (award_pending(c->p, s))
        return call_period_end(c, s->period_start) + c->p->late_grace_ms;
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
            return target < s->tier ? end + p->late_grace_ms : ENG_TIME_NEVER;
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

/* warning_due(c, s) <= T, stopping at the first lot that says so. */
static ENG_HOT int warning_due_by(const call_t *c, const eng_state_t *s, int64_t T)
{
    const prog_t *p = c->p;
    if (c->warn_all) {
        const uint32_t all = c->warn_all;
        for (uint32_t l = 0; l < s->n_lots; l++) {
            const eng_lot_t *lot = &s->lots[l];
            uint32_t pending = ~lot->warned & all;
            if (lot->expires_at == ENG_TIME_NEVER || pending == 0)
                continue;
            if (lot->expires_at - p->warn_days[__builtin_ctz(pending)] * ENG_DAY_MS <= T)
                return 1;
        }
        return 0;
    }
    return warning_due(c, s) <= T;
}

/* next_due(c, s) <= T, without the exact time: each source is asked whether it is due
 * by T, and the first that is ends it. The earliest of the sources is <= T exactly when
 * one of them is, so this is the same answer (T < ENG_TIME_NEVER). */
/* reset_each_period: the end of the period in which the customer reached the tier above
 * the entry tier (tier_since); the entry tier applies again from then. At the period's
 * end itself, not after the late-event grace: the reset does not depend on the period's
 * value. */
static int64_t reset_due(call_t *c, const eng_state_t *s)
{
    if (c->p->demote != PROG_DEMOTE_RESET_EACH_PERIOD || s->tier == 0)
        return ENG_TIME_NEVER;
    return period_end_of(c->p, call_period_start_of(c, s->tier_since));
}

static int due_by(call_t *c, const eng_state_t *s, int64_t T)
{
    const prog_t *p = c->p;
    if (!(s->flags & 1))
        return 0;
    if (expiry_due(s) <= T)
        return 1;
    int64_t inact = inactivity_due(p, s);
    if (inact <= T || period_due(c, s) <= T || warning_due_by(c, s, T) || reset_due(c, s) <= T)
        return 1;
    int32_t to;
    return downgrade_warning_due(p, s, demotion_due(c, s, inact, &to)) <= T;
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
    if ((d = reset_due(c, s)) < best)
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

/* ------------------------------------------------------------------ closed periods */

/* Months in one award period. */
static int32_t period_months(const prog_t *p)
{
    return period_kind(p) == PROG_PERIOD_YEAR ? 12 : 1;
}

/* The award of a period whose award total is `accum`, and its rate. */
static int64_t period_award(const prog_t *p, int64_t accum, int32_t *rate)
{
    *rate = prog_band_rate(p->award_bands, p->n_award_bands, accum, p->award_upper_inclusive);
    return accum > 0 ? floor_points((i128)accum * *rate, (i128)10000 * p->point_value) : 0;
}

/* "2026-03" for a monthly period starting in that month, "2026" for a yearly one. */
static void period_name(const prog_t *p, int32_t month, char out[ENG_PERIOD_NAME_MAX])
{
    int32_t y = month >= 0 ? month / 12 : 0, m = month >= 0 ? month % 12 + 1 : 1;
    if (y > 9999)
        y = 9999;
    out[0] = (char)('0' + y / 1000);
    out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10);
    out[3] = (char)('0' + y % 10);
    out[4] = '\0';
    if (period_kind(p) != PROG_PERIOD_YEAR) {
        out[4] = '-';
        out[5] = (char)('0' + m / 10);
        out[6] = (char)('0' + m % 10);
        out[7] = '\0';
    }
}

/* Forget the closed periods no event can correct any more at time t (end + grace + max
 * lateness before t): an event for them is older than the maximum lateness. */
static void closed_keep(const call_t *c, eng_state_t *s, int64_t t)
{
    const prog_t *p = c->p;
    uint32_t w = 0;
    for (uint32_t i = 0; i < s->n_closed && i < ENG_CLOSED_MAX; i++) {
        int32_t m = s->closed[i].month;
        int64_t end = call_month_start(c, m + period_months(p));
        if (end + p->late_grace_ms + p->max_lateness_ms < t) {
            if (m + period_months(p) > s->closed_floor)
                s->closed_floor = m + period_months(p);
            continue;
        }
        s->closed[w++] = s->closed[i];
    }
    s->n_closed = w;
}

/* Whether closed_add(c, s, month) would find or make a record. */
static bool closed_can_take(const eng_state_t *s, int32_t month)
{
    if (month < s->closed_floor)
        return false;
    if (s->n_closed < ENG_CLOSED_MAX)
        return true;
    for (uint32_t i = 0; i < s->n_closed; i++)
        if (s->closed[i].month == month)
            return true;
    return month > s->closed[0].month;
}

/* The record of closed period `month`, added (accum 0, paid 0) if it has none. Records stay
 * in month order; when all ENG_CLOSED_MAX are taken the oldest is forgotten (a period older
 * than every record gets none). NULL: the period can no longer be corrected. */
static eng_period_rec_t *closed_add(const call_t *c, eng_state_t *s, int32_t month)
{
    if (month < s->closed_floor)
        return NULL;
    uint32_t at = 0;
    for (; at < s->n_closed; at++) {
        if (s->closed[at].month == month)
            return &s->closed[at];
        if (s->closed[at].month > month)
            break;
    }
    if (s->n_closed == ENG_CLOSED_MAX) {
        if (at == 0)
            return NULL; /* older than every record kept */
        s->closed_floor = s->closed[0].month + period_months(c->p);
        memmove(&s->closed[0], &s->closed[1], sizeof(s->closed[0]) * (ENG_CLOSED_MAX - 1));
        s->n_closed--;
        at--;
    }
    memmove(&s->closed[at + 1], &s->closed[at], sizeof(s->closed[0]) * (s->n_closed - at));
    s->closed[at] = (eng_period_rec_t){.month = month};
    s->n_closed++;
    return &s->closed[at];
}

/* A closed period's award total changed: pay the difference between its award now and
 * what it has paid, as a correction naming the period (an extra lot, or a reversal). */
static void closed_correct(const call_t *c, eng_state_t *s, eng_period_rec_t *r,
                           const char *event_id, eng_emitter_t *e)
{
    const prog_t *p = c->p;
    int32_t rate;
    int64_t pts = period_award(p, r->accum, &rate), delta = pts - r->paid;
    r->paid = pts;
    int64_t end = call_month_start(c, r->month + period_months(p));
    if (delta > 0) {
        int64_t exp = lot_expiry(p, end - 1);
        if (eng_lots_credit(p, s, delta, end, end, exp, ENG_SRC_PERIOD))
            e->out->bounds |= ENG_BOUND_BIT(ENG_BOUND_LOTS);
        eng_output_t *o = eng_out_bonus(e, s, delta, rate, ENG_SRC_PERIOD, end, exp);
        period_name(p, r->month, o->u.bonus_earned.period);
        o->u.bonus_earned.correction = 1;
    } else if (delta < 0) {
        int64_t taken = eng_lots_take(s, -delta, INT64_MAX);
        int64_t debt = p->returns == PROG_RETURNS_DEBT ? -delta - taken : 0;
        s->total_reversed += taken;
        s->debt += debt;
        eng_output_t *o = eng_out_emit(e, ENG_OUT_POINTS_REVERSED);
        o->u.points_reversed.points = taken;
        o->u.points_reversed.debt_added = debt;
        copy_str(o->u.points_reversed.original_event_id, ENG_ID_MAX, event_id);
        copy_str(o->u.points_reversed.reason, ENG_NAME_MAX, "period_correction");
        period_name(p, r->month, o->u.points_reversed.period);
    }
}

/* Where an award amount of a purchase in period `month` goes: the open period, the one
 * after it (while the open one is in its grace), or a closed period's record (NULL when
 * it can no longer be corrected, or has no record and `create` is false); *rec is the
 * closed period's record, whose award must then be corrected. */
static int64_t *award_slot(call_t *c, eng_state_t *s, int32_t month, bool create,
                           eng_period_rec_t **rec)
{
    *rec = NULL;
    if (!s->period_start)
        return NULL;
    int32_t open = period_month(c, s->period_start);
    if (month == open)
        return &s->award_accum;
    if (month == open + period_months(c->p))
        return &s->next_accum;
    if (month >= open)
        return NULL;
    if (create) {
        *rec = closed_add(c, s, month);
    } else {
        for (uint32_t i = 0; i < s->n_closed; i++)
            if (s->closed[i].month == month)
                *rec = &s->closed[i];
    }
    return *rec ? &(*rec)->accum : NULL;
}

/* ------------------------------------------------------------------ timer steps */

static void step_warnings(const prog_t *p, eng_state_t *s, int64_t t, eng_outbuf_t *out)
{
    eng_emitter_t e = {out, s, p, NULL, "warning", t, 0};
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
                eng_output_t *o = eng_out_emit(&e, ENG_OUT_EXPIRY_WARNING);
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
    eng_emitter_t e = {out, s, p, NULL, "expiry", t, 0};
    int64_t pts = 0;
    while (s->n_lots > 0 && s->lots[0].expires_at <= t) {
        pts += s->lots[0].remaining;
        eng_lots_remove(s, 0);
    }
    if (pts > 0) {
        s->total_expired += pts;
        eng_output_t *o = eng_out_emit(&e, ENG_OUT_POINTS_EXPIRED);
        o->u.points_expired.points = pts;
        o->u.points_expired.expired_at = t;
    }
}

/* The open period closes at its end + grace (t): its award is paid as one lot that counts
 * from the period's end, and its record stays in closed[] for late events to correct. */
static void step_period(call_t *c, eng_state_t *s, int64_t t, eng_outbuf_t *out)
{
    const prog_t *p = c->p;
    eng_emitter_t e = {out, s, p, NULL, "period_end", t, 0};
    /* the period that ends at t - grace: the open one, or for a tier evaluation a later
     * one (period_due_eval looks ahead over periods in which nothing happens) */
    const int64_t end = t - p->late_grace_ms;
    const int32_t month = period_month_of(c, end - 1);
    if (p->has_award && s->award_accum > 0) {
        int32_t rate;
        int64_t pts = period_award(p, s->award_accum, &rate);
        if (pts > 0) {
            /* the period's lot expires relative to the period (its last instant) */
            int64_t exp = lot_expiry(p, end - 1);
            if (eng_lots_credit(p, s, pts, end, end, exp, ENG_SRC_PERIOD))
                out->bounds |= ENG_BOUND_BIT(ENG_BOUND_LOTS);
            eng_output_t *o = eng_out_bonus(&e, s, pts, rate, ENG_SRC_PERIOD, end, exp);
            period_name(p, month, o->u.bonus_earned.period);
        }
        closed_keep(c, s, t);
        eng_period_rec_t *r = closed_add(c, s, month);
        if (r) {
            r->accum = s->award_accum;
            r->paid = pts;
        }
    }
    if (tier_eval_at_period_end(p)) {
        int64_t v = qvalue(p, s, end - 1);
        int32_t target = prog_tier_for(p, v);
        if (p->demote == PROG_DEMOTE_PERIOD_END ? target != s->tier : target > s->tier)
            eng_out_tier_change(&e, s, target, "period_end", v);
    }
    s->award_accum = s->next_accum;
    s->next_accum = 0;
    s->period_start = end;
    if (p->demote == PROG_DEMOTE_PERIOD_END)
        s->downgrade_warned = 0; /* a new period: its own warnings */
}

static void step_inactivity(const prog_t *p, eng_state_t *s, int64_t t, eng_outbuf_t *out)
{
    eng_emitter_t e = {out, s, p, NULL, "inactivity", t, 0};
    eng_out_tier_change(&e, s, s->tier - 1, "inactivity", qvalue(p, s, t));
    s->inactivity_steps++;
    s->downgrade_warned = 0;
}

static void step_downgrade_warning(const prog_t *p, eng_state_t *s, int64_t t, int64_t dem,
                                   int32_t to, eng_outbuf_t *out)
{
    eng_emitter_t e = {out, s, p, NULL, "downgrade_warning", t, 0};
    for (uint32_t i = 0; i < p->n_demote_warn; i++) {
        if ((s->downgrade_warned & (1u << i)) || dem - p->demote_warn_days[i] * ENG_DAY_MS != t)
            continue;
        s->downgrade_warned |= 1u << i;
        eng_output_t *o = eng_out_emit(&e, ENG_OUT_TIER_WILL_DOWNGRADE);
        copy_str(o->u.tier_will_downgrade.from_tier, ENG_NAME_MAX, eng_tier_name(p, s->tier));
        copy_str(o->u.tier_will_downgrade.to_tier, ENG_NAME_MAX, eng_tier_name(p, to));
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
        step_period(c, s, t, out);
    if (reset_due(c, s) == t) { /* the entry tier again (reset_each_period) */
        eng_emitter_t e = {out, s, p, NULL, "period_reset", t, 0};
        eng_out_tier_change(&e, s, 0, "period_reset", qvalue(p, s, t - 1));
    }
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
    if (s->joined_at == 0) /* a state of version 1 (eng_state.c) */
        eng_state_upgrade(s);
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
 * sets (25 lines, or the whole purchase ring) are not faster in place in bench_engine
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

/* eng_on_timer after the prefetch and normalise. */
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

/* eng_apply_event's catch-up: the timers due by T fire first. Returns 0, or -1 when the
 * buffer has no room for a step still due or for the event (ENG_ETIMERS). Only "is
 * anything due by T" is asked while nothing is: the exact next due time is computed after
 * the event (finish), and on_timer's would be overwritten. */
static int catch_up(call_t *c, eng_state_t *s, int64_t T, eng_outbuf_t *out)
{
    while (due_by(c, s, T)) {
        if (out->cap - out->n < STEP_OUT_MAX)
            return -1;
        eng_timer_kind_t kind;
        timer_step(c, s, next_due(c, s, &kind), out);
    }
    return out->cap - out->n < EVENT_OUT_MAX ? -1 : 0;
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

/* Returns 1 when the ring was full and the oldest purchase was forgotten, else 0. */
static int record_purchase(eng_state_t *s, const eng_purchase_rec_t *r)
{
    uint32_t slot;
    int forgot = s->n_purchases >= ENG_PURCHASES_MAX;
    if (!forgot) {
        slot = (s->purchases_head + s->n_purchases) % ENG_PURCHASES_MAX;
        s->n_purchases++;
    } else {
        slot = s->purchases_head; /* forget the oldest */
        s->purchases_head = (s->purchases_head + 1) % ENG_PURCHASES_MAX;
    }
    s->purchases[slot] = *r;
    return forgot;
}

/* ------------------------------------------------------------------ purchase */

/* 1 if a purchase the state remembers fell on t's local day (then t is not a new visit).
 * The ring holds the last ENG_PURCHASES_MAX purchases, which covers any day on which the
 * customer bought fewer times than that. */
static int visited_on(const prog_t *p, const eng_state_t *s, int64_t t)
{
    const int32_t day = tz_day_index(p->tz, t);
    for (uint32_t i = 0; i < s->n_purchases; i++)
        if (tz_day_index(p->tz,
                         s->purchases[(s->purchases_head + i) % ENG_PURCHASES_MAX].time_ms) == day)
            return 1;
    return 0;
}

/* RewardEarned: `qty` free `item`s granted by `source` (a stamp card's category, or ""). */
static void reward(eng_emitter_t *e, const char *item, const char *category, int32_t stamps,
                   const char *source, int32_t qty)
{
    eng_output_t *o = eng_out_emit(e, ENG_OUT_REWARD_EARNED);
    copy_str(o->u.reward_earned.reward, ENG_NAME_MAX, item);
    copy_str(o->u.reward_earned.category, ENG_NAME_MAX, category);
    o->u.reward_earned.stamps_used = stamps;
    copy_str(o->u.reward_earned.source, ENG_NAME_MAX, source);
    o->u.reward_earned.quantity = qty;
}

static void apply_stamps(const prog_t *p, eng_state_t *s, const eng_event_t *ev, eng_emitter_t *e,
                         int64_t usable, int64_t exp)
{
    /* the tier held before the purchase; 0 = not set (a program built by hand) */
    const int32_t mult = p->tiers[s->tier].stamp_permille ? p->tiers[s->tier].stamp_permille : 1000;
    for (uint32_t c = 0; c < p->n_stamps && c < ENG_STAMPS_MAX; c++) {
        const prog_stamp_card_t *card = &p->stamps[c];
        int64_t units = 0;
        for (uint32_t i = 0; i < ev->n_lines; i++)
            if (name_eq(ev->lines[i].category, card->category))
                units += ev->lines[i].quantity;
        s->stamps[c] += (int32_t)(mult == 1000 ? units : units * mult / 1000);
        for (int k = 0; k < ENG_REWARDS_PER_EVENT && s->stamps[c] >= card->every; k++) {
            s->stamps[c] -= card->every;
            if (card->reward == PROG_REWARD_POINTS) {
                if (eng_lots_credit(p, s, card->points, ev->time_ms, usable, exp, ENG_SRC_STAMP))
                    e->out->bounds |= ENG_BOUND_BIT(ENG_BOUND_LOTS);
                eng_out_bonus(e, s, card->points, 0, ENG_SRC_STAMP, usable, exp);
            } else {
                reward(e, card->item, card->category, card->every, "stamp_card",
                       card->free > 0 ? card->free : 1);
            }
        }
    }
}

static void on_purchase(call_t *c, eng_state_t *s, const eng_event_t *ev, uint64_t id_hash,
                        eng_emitter_t *e)
{
    const prog_t *p = c->p;
    const int64_t T = ev->time_ms;
    if (T >= s->last_visit) { /* a late event older than the last visit is no newer visit */
        s->last_visit = T;
        s->inactivity_steps = 0;
        s->downgrade_warned = 0;
    }
    const int32_t key = call_qkey(c, T); /* one calendar lookup for the whole purchase */
    int64_t qpos = qvalue_key(p, s, key);
    eng_earn_t r;
    eng_earn_compute(p, s, ev, qpos, &r);
    int64_t usable =
        p->usable == PROG_USABLE_NEXT_VISIT ? tz_day_start(p->tz, tz_day_index(p->tz, T) + 1) : T;
    const int month_keys = p->q_window == PROG_WIN_CALENDAR_MONTH ||
                           p->q_window == PROG_WIN_PREVIOUS_CALENDAR_MONTH ||
                           p->q_window == PROG_WIN_CALENDAR_YEAR;
    int64_t exp = p->expiry == PROG_EXPIRY_END_OF_NEXT_MONTH && month_keys
                      ? call_month_start(c, key + 2) /* lot_expiry(p, T), key being T's month */
                      : lot_expiry(p, T);
    int64_t pts = r.points + r.marginal_points;
    if (pts > 0) {
        if (eng_lots_credit(p, s, pts, T, usable, exp, ENG_SRC_PURCHASE))
            e->out->bounds |= ENG_BOUND_BIT(ENG_BOUND_LOTS);
        int32_t rate = r.rate_bp;
        if (r.marginal_points) /* effective rate over the check, floored */
            rate = (int32_t)((i128)pts * p->point_value * 10000 / r.eligible);
        eng_out_bonus(e, s, pts, rate, ENG_SRC_PURCHASE, usable, exp);
    }
    if (r.birthday) {
        int32_t year = 0;
        eng_earn_is_birthday(p, s, T, &year);
        s->birthday_year = year;
        if (r.birthday_points > 0) {
            if (eng_lots_credit(p, s, r.birthday_points, T, usable, exp, ENG_SRC_BIRTHDAY))
                e->out->bounds |= ENG_BOUND_BIT(ENG_BOUND_LOTS);
            eng_out_bonus(e, s, r.birthday_points, p->birthday_bp, ENG_SRC_BIRTHDAY, usable, exp);
        }
        if (p->birthday_item[0])
            reward(e, p->birthday_item, "", 0, "birthday", 1);
    }
    apply_stamps(p, s, ev, e, usable, exp);
    for (uint32_t b = 0; b < p->n_basket; b++) {
        if (!(r.basket_hits >> b & 1))
            continue;
        const prog_basket_t *bb = &p->basket[b];
        if (bb->points > 0) {
            if (eng_lots_credit(p, s, bb->points, T, usable, exp, ENG_SRC_BASKET))
                e->out->bounds |= ENG_BOUND_BIT(ENG_BOUND_LOTS);
            eng_out_bonus(e, s, bb->points, 0, ENG_SRC_BASKET, usable, exp);
        }
        if (bb->item[0])
            reward(e, bb->item, "", 0, "basket", 1);
    }

    /* qualification and the period's award total */
    int64_t qv = p->q_metric == PROG_METRIC_SPEND      ? r.gross
                 : p->q_metric == PROG_METRIC_QUANTITY ? r.units
                 : p->q_metric == PROG_METRIC_VISITS   ? !visited_on(p, s, T)
                                                       : 1;
    int merged = qbucket_add(p, s, key, qv);
    if (merged)
        e->out->bounds |= ENG_BOUND_BIT(ENG_BOUND_QBUCKETS);
    int64_t award = 0;
    int32_t award_period = 0;
    if (c->uses_period && s->period_start)
        award_period = period_month_of(c, T);
    if (p->has_award) {
        eng_period_rec_t *closed;
        int64_t *acc = award_slot(c, s, award_period, true, &closed);
        if (acc) { /* eng_apply_event refused an event whose period has no slot */
            award = r.eligible;
            *acc += award;
        }
        if (closed && award > 0)
            closed_correct(c, s, closed, ev->event_id, e);
    }
    int64_t value = merged ? qvalue_key(p, s, key) : qpos + qv; /* qvalue_key(p, s, key) */
    /* reset_each_period: a late purchase of a period already closed (or reset: the last
     * tier change is in a later period) counts in its period's value but lifts no tier */
    if (p->q_window != PROG_WIN_PREVIOUS_CALENDAR_MONTH &&
        !(p->demote == PROG_DEMOTE_RESET_EACH_PERIOD &&
          (T < s->period_start || T < call_period_start_of(c, s->tier_since)))) {
        int32_t target = prog_tier_for(p, value);
        if (target > s->tier)
            eng_out_tier_change(e, s, target, "qualification", value);
    }
    if (p->progress && (uint32_t)s->tier + 1 < p->n_tiers) {
        int64_t miss = missing_for(p, s->tier + 1, value);
        if (miss > 0 && (p->progress_within == 0 || miss <= p->progress_within)) {
            eng_output_t *o = eng_out_emit(e, ENG_OUT_TIER_PROGRESS);
            copy_str(o->u.tier_progress.current_tier, ENG_NAME_MAX, eng_tier_name(p, s->tier));
            copy_str(o->u.tier_progress.next_tier, ENG_NAME_MAX, eng_tier_name(p, s->tier + 1));
            o->u.tier_progress.current_value = value;
            o->u.tier_progress.missing = miss;
        }
    }
    eng_purchase_rec_t rec = {.id_hash = id_hash,
                              .time_ms = T,
                              .eligible_amount = r.eligible,
                              .points = pts + r.birthday_points + r.basket_points,
                              .qual_value = qv,
                              .award_amount = award,
                              .qual_key = key,
                              .award_period = award_period,
                              .gross_amount = r.gross};
    if (record_purchase(s, &rec))
        e->out->bounds |= ENG_BOUND_BIT(ENG_BOUND_PURCHASES);
}

/* ------------------------------------------------------------------ return */

static void on_return(call_t *c, eng_state_t *s, const eng_event_t *ev, eng_emitter_t *e)
{
    const prog_t *p = c->p;
    uint64_t h = eng_id_hash(ev->original_event_id);
    eng_purchase_rec_t *r = NULL;
    for (uint32_t i = 0; i < s->n_purchases; i++) {
        eng_purchase_rec_t *rec = &s->purchases[(s->purchases_head + i) % ENG_PURCHASES_MAX];
        if (rec->id_hash == h)
            r = rec;
    }
    if (!r) { /* forgotten (older than the ring) or never seen: nothing to reverse, said */
        e->out->bounds |= ENG_BOUND_BIT(ENG_BOUND_RETURN_NOT_FOUND);
        eng_output_t *o = eng_out_emit(e, ENG_OUT_POINTS_REVERSED);
        copy_str(o->u.points_reversed.original_event_id, ENG_ID_MAX, ev->original_event_id);
        copy_str(o->u.points_reversed.reason, ENG_NAME_MAX, "purchase_not_found");
        return;
    }
    int64_t elig = 0, gross = 0, units = 0;
    for (uint32_t i = 0; i < ev->n_lines; i++) {
        gross += ev->lines[i].amount;
        units += ev->lines[i].quantity;
        if (!eng_earn_in_set(&p->earn_excl, &ev->lines[i]))
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
    /* the award total of the period the purchase counted in: open, next, or closed (then
     * corrected below) */
    eng_period_rec_t *closed = NULL;
    int64_t *acc = p->has_award ? award_slot(c, s, r->award_period, false, &closed) : NULL;
    if (acc) {
        int64_t a = elig < *acc ? elig : *acc;
        *acc -= a;
    }
    if (delta > 0) {
        int64_t taken = eng_lots_take(s, delta, INT64_MAX);
        int64_t debt = p->returns == PROG_RETURNS_DEBT ? delta - taken : 0;
        s->total_reversed += taken;
        s->debt += debt;
        eng_output_t *o = eng_out_emit(e, ENG_OUT_POINTS_REVERSED);
        o->u.points_reversed.points = taken;
        o->u.points_reversed.debt_added = debt;
        copy_str(o->u.points_reversed.original_event_id, ENG_ID_MAX, ev->original_event_id);
        copy_str(o->u.points_reversed.reason, ENG_NAME_MAX, "return");
    }
    if (closed)
        closed_correct(c, s, closed, ev->original_event_id, e);
}

/* ------------------------------------------------------------------ redemption */

static void reject(eng_emitter_t *e, int64_t asked, int64_t avail, int64_t allowed, const char *why)
{
    eng_output_t *o = eng_out_emit(e, ENG_OUT_REDEMPTION_REJECTED);
    o->u.redemption_rejected.points_requested = asked;
    o->u.redemption_rejected.points_available = avail;
    o->u.redemption_rejected.points_allowed = allowed;
    copy_str(o->u.redemption_rejected.reason, ENG_NAME_MAX, why);
}

static void on_redemption(const prog_t *p, eng_state_t *s, const eng_event_t *ev, eng_emitter_t *e)
{
    const int64_t T = ev->time_ms;
    if (T >= s->last_visit) {
        s->last_visit = T;
        s->inactivity_steps = 0;
        s->downgrade_warned = 0;
    }
    int64_t avail = eng_lots_usable(s, T);
    int64_t allowed = avail; /* the most this redemption may spend */
    int64_t basket = 0;
    for (uint32_t i = 0; i < ev->n_lines; i++)
        if (!eng_earn_in_set(&p->redeem_excl, &ev->lines[i]))
            basket += ev->lines[i].amount;
    if (ev->n_lines > 0) { /* points pay at most max_share of the eligible basket */
        int64_t share = floor_points((i128)basket * p->max_share_bp, (i128)10000 * p->point_value);
        allowed = share < avail ? share : avail;
    }
    if (ev->points <= 0)
        return reject(e, ev->points, avail, allowed, "invalid_points");
    if (ev->points > avail)
        return reject(e, ev->points, avail, allowed, "insufficient_points");
    int64_t pts = ev->points;
    if (ev->n_lines > 0) {
        const i128 value = (i128)pts * p->point_value;
        if (basket == 0)
            return reject(e, ev->points, avail, allowed, "excluded_basket");
        /* worth more than the lines points may pay for, or than their share of them: the
         * allowed part when the program says so (the share is at most the whole basket) */
        if (value * 10000 > (i128)basket * p->max_share_bp) {
            if (p->over_share != PROG_OVER_SHARE_REDEEM_ALLOWED || allowed <= 0)
                return reject(e, ev->points, avail, allowed,
                              value > basket ? "over_eligible_amount" : "over_max_share");
            pts = allowed; /* redeem the allowed part */
        }
    }
    eng_lots_take(s, pts, T);
    s->total_redeemed += pts;
    eng_output_t *o = eng_out_emit(e, ENG_OUT_POINTS_REDEEMED);
    o->u.points_redeemed.points = pts;
    o->u.points_redeemed.value = pts * p->point_value;
    o->u.points_redeemed.balance_after = eng_balance(s);
    o->u.points_redeemed.points_requested = ev->points;
    o->u.points_redeemed.points_allowed = allowed;
}

/* ------------------------------------------------------------------ entry points */

/* strcmp(a, b) == 0 for two currency ARRAYS (ENG_CURRENCY_MAX bytes): four equal bytes
 * with a terminator among them decide it at once; anything else goes to strcmp. */
static inline int currency_eq(const char *a, const char *b)
{
    _Static_assert(ENG_CURRENCY_MAX == 4, "currency arrays are 4 bytes");
    uint32_t wa, wb;
    memcpy(&wa, a, 4);
    memcpy(&wb, b, 4);
    if (wa == wb && ((wa - 0x01010101u) & ~wa & 0x80808080u) != 0)
        return 1;
    return strcmp(a, b) == 0;
}

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
    if (ev->currency[0] && !currency_eq(ev->currency, p->currency))
        return snprintf(err, errlen, "event %s: currency %s is not the program's %s", ev->event_id,
                        ev->currency, p->currency),
               -1;
    if (ev->n_lines > ENG_LINES_MAX)
        return snprintf(err, errlen, "event %s: more than %d lines", ev->event_id, ENG_LINES_MAX),
               -1;
    if (ev->kind == ENG_EV_PURCHASE && ev->n_lines == 0)
        return snprintf(err, errlen, "event %s: a purchase needs at least one line in 'lines'",
                        ev->event_id),
               -1;
    /* Basket lines are named as in the event (lines[0] is the first); amounts are minor
     * units (1550 = 15.50 in a currency with 2 decimals). */
    int64_t total = 0;
    for (uint32_t i = 0; i < ev->n_lines; i++) {
        if (ev->lines[i].amount < 0 || ev->lines[i].amount > ENG_AMOUNT_MAX)
            return snprintf(err, errlen, "event %s: lines[%u].amount %lld (minor units) is %s",
                            ev->event_id, i, (long long)ev->lines[i].amount,
                            ev->lines[i].amount < 0 ? "negative" : "above the limit"),
                   -1;
        if (ev->lines[i].quantity < 1)
            return snprintf(err, errlen, "event %s: lines[%u].quantity %d is below 1", ev->event_id,
                            i, (int)ev->lines[i].quantity),
                   -1;
        total += ev->lines[i].amount;
        if (total > ENG_AMOUNT_MAX)
            return snprintf(err, errlen,
                            "event %s: the lines' total is above the limit of %lld minor units",
                            ev->event_id, (long long)ENG_AMOUNT_MAX),
                   -1;
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
    if ((s->flags & 1) && eng_seen_has(s, h)) {
        finish(&c, s, out);
        return ENG_DUPLICATE;
    }
    if (!(s->flags & 1))
        eng_state_init(s, ev->customer_id, ev->time_ms);
    normalise(p, s);
    if (ev->kind == ENG_EV_PURCHASE && p->has_award && c.uses_period && s->period_start &&
        ev->time_ms < s->period_start && !closed_can_take(s, period_month_of(&c, ev->time_ms))) {
        snprintf(err, errlen,
                 "event %s: too late: its period closed longer ago than the program's "
                 "late_events.max_lateness_days",
                 ev->event_id);
        finish(&c, s, out);
        return ENG_TOO_LATE;
    }
    if (catch_up(&c, s, ev->time_ms, out) != 0) { /* timers due by T fire first */
        snprintf(err, errlen, "event %s: output buffer full, call eng_on_timer first",
                 ev->event_id);
        finish(&c, s, out);
        return ENG_ETIMERS;
    }
    /* The open period: an event after it re-opens the event's period when the open one
     * has nothing left to do at its close; otherwise the open period is in its grace and
     * the event counts in the next one (next_accum). An event before it is late: it
     * counts in its own, closed, period (on_purchase). */
    if (c.uses_period &&
        (s->period_start == 0 ||
         (call_period_end(&c, s->period_start) <= ev->time_ms && !award_pending(p, s))))
        s->period_start = call_period_start_of(&c, ev->time_ms);
    eng_emitter_t e = {out, s, p, ev->event_id, NULL, ev->time_ms, 0};
    if (ev->attrs.has_member_since || ev->attrs.has_birth_date || ev->attrs.account_status[0])
        eng_state_remember(s, &ev->attrs);
    if (ev->kind == ENG_EV_PURCHASE)
        on_purchase(&c, s, ev, h, &e);
    else if (ev->kind == ENG_EV_RETURN)
        on_return(&c, s, ev, &e);
    else
        on_redemption(p, s, ev, &e);
    if (s->n_seen >= ENG_SEEN_MAX) /* the oldest id is forgotten to remember this one */
        out->bounds |= ENG_BOUND_BIT(ENG_BOUND_EVENT_IDS);
    eng_seen_add(s, h);
    s->version = ENG_STATE_VERSION;
    finish(&c, s, out);
    return ENG_OK;
}
