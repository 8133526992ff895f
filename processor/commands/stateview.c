/*
 * stateview: see stateview.h. Keys keep the engine's names where they mean the same
 * thing (customer_id, tier_since, debt, totals), so the two forms are easy to set side by
 * side; money is written both ways: "value" in minor units (as events and outputs carry
 * it) and "value_text" in the currency's major units with its code.
 */
#include "stateview.h"

#include "eng.h"
#include "prog_describe.h"
#include "tz.h"

#include <stdio.h>
#include <string.h>

/* "2026-03-14T10:00:00+03:00" in the program's zone; "never" for ENG_TIME_NEVER. */
static json_t *local_time(const prog_t *p, int64_t ms)
{
    if (ms == ENG_TIME_NEVER)
        return json_string("never");
    if (ms <= 0)
        return json_null();
    tz_civil_t c;
    tz_civil(p->tz, ms, &c);
    int off = c.utoff < 0 ? -c.utoff : c.utoff;
    char b[48];
    snprintf(b, sizeof(b), "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", c.year, c.month, c.day,
             c.hour, c.min, c.sec, c.utoff < 0 ? '-' : '+', off / 3600, off / 60 % 60);
    return json_string(b);
}

static const char *tier_name(const prog_t *p, int32_t t)
{
    return (uint32_t)t < p->n_tiers ? p->tiers[t].name : "(a tier the program no longer has)";
}

/* The qualifying metric's value as text: money with the code, or a count. */
static json_t *metric_text(const prog_t *p, int64_t v)
{
    char b[64], m[48];
    if (p->q_metric == PROG_METRIC_SPEND) {
        prog_format_money(p, v, m, sizeof(m));
        snprintf(b, sizeof(b), "%s %s", m, p->currency);
    } else {
        snprintf(b, sizeof(b), "%lld %s", (long long)v,
                 p->q_metric == PROG_METRIC_QUANTITY ? "units" : "purchases");
    }
    return json_string(b);
}

/* The local period a qualifying bucket's key stands for under the program's window. */
static void bucket_period(const prog_t *p, int32_t key, char *b, size_t n)
{
    if (p->q_window == PROG_WIN_LIFETIME) {
        snprintf(b, n, "lifetime");
    } else if (p->q_window == PROG_WIN_ROLLING_DAYS) {
        int32_t y, m, d;
        tz_civil_from_days(key, &y, &m, &d);
        snprintf(b, n, "%04d-%02d-%02d", y, m, d);
    } else {
        int32_t y = key >= 0 ? key / 12 : (key - 11) / 12;
        snprintf(b, n, "%04d-%02d", y, key - y * 12 + 1);
    }
}

static const char *const window_names[] = {"calendar_month", "previous_calendar_month",
                                           "rolling_days", "calendar_year", "lifetime"};
static const char *const source_names[] = {"purchase", "period_award", "stamp_card", "birthday"};

static json_t *qualifying(const prog_t *p, const eng_state_t *s)
{
    json_t *q = json_object();
    json_object_set_new(q, "metric",
                        json_string(p->q_metric == PROG_METRIC_SPEND      ? "spend"
                                    : p->q_metric == PROG_METRIC_QUANTITY ? "quantity"
                                                                          : "purchases"));
    json_object_set_new(q, "window", json_string(window_names[p->q_window]));
    json_t *per = json_array();
    for (uint32_t i = 0; i < s->n_qbuckets && i < ENG_QBUCKETS_MAX; i++) {
        char b[32];
        bucket_period(p, s->qbuckets[i].key, b, sizeof(b));
        json_t *e = json_object();
        json_object_set_new(e, "period", json_string(b));
        json_object_set_new(e, "value", json_integer(s->qbuckets[i].value));
        json_object_set_new(e, "value_text", metric_text(p, s->qbuckets[i].value));
        json_array_append_new(per, e);
    }
    json_object_set_new(q, "periods", per);
    return q;
}

static json_t *lots(const prog_t *p, const eng_state_t *s)
{
    json_t *a = json_array();
    for (uint32_t i = 0; i < s->n_lots && i < ENG_LOTS_MAX; i++) {
        const eng_lot_t *l = &s->lots[i];
        json_t *o = json_object();
        json_object_set_new(o, "points", json_integer(l->remaining));
        json_object_set_new(o, "of", json_integer(l->amount));
        json_object_set_new(o, "source",
                            json_string(l->source < 4 ? source_names[l->source] : "unknown"));
        json_object_set_new(o, "earned_at", local_time(p, l->earned_at));
        json_object_set_new(o, "usable_from", local_time(p, l->usable_from));
        json_object_set_new(o, "expires_at", local_time(p, l->expires_at));
        json_array_append_new(a, o);
    }
    return a;
}

json_t *sview_state(const prog_t *p, const eng_state_t *s)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    char m[48], b[80];
    json_object_set_new(o, "customer_id", json_string(s->customer_id));
    json_object_set_new(o, "tier", json_string(tier_name(p, s->tier)));
    json_object_set_new(o, "tier_since", local_time(p, s->tier_since));
    json_object_set_new(o, "last_visit", local_time(p, s->last_visit));
    int64_t bal = eng_balance(s);
    json_object_set_new(o, "balance", json_integer(bal));
    prog_format_money(p, bal * p->point_value, m, sizeof(m));
    snprintf(b, sizeof(b), "%s %s", m, p->currency);
    json_object_set_new(o, "balance_value", json_string(b));
    json_object_set_new(o, "debt", json_integer(s->debt));
    json_object_set_new(o, "qualifying", qualifying(p, s));
    if (p->has_award && s->period_start) {
        json_t *a = json_object();
        json_object_set_new(a, "period_start", local_time(p, s->period_start));
        json_object_set_new(a, "eligible_spend", json_integer(s->award_accum));
        prog_format_money(p, s->award_accum, m, sizeof(m));
        snprintf(b, sizeof(b), "%s %s", m, p->currency);
        json_object_set_new(a, "eligible_spend_text", json_string(b));
        json_object_set_new(o, "open_award_period", a);
    }
    json_object_set_new(o, "lots", lots(p, s));
    if (p->n_stamps) {
        json_t *st = json_array();
        for (uint32_t i = 0; i < p->n_stamps && i < ENG_STAMPS_MAX; i++)
            json_array_append_new(st, json_pack("{ss si si}", "category", p->stamps[i].category,
                                                "stamps", (int)s->stamps[i], "every",
                                                (int)p->stamps[i].every));
        json_object_set_new(o, "stamp_cards", st);
    }
    json_object_set_new(o, "recent_purchases", json_integer(s->n_purchases));
    json_t *t = json_object();
    json_object_set_new(t, "earned", json_integer(s->total_earned));
    json_object_set_new(t, "redeemed", json_integer(s->total_redeemed));
    json_object_set_new(t, "expired", json_integer(s->total_expired));
    json_object_set_new(t, "reversed", json_integer(s->total_reversed));
    json_object_set_new(o, "totals", t);
    return o;
}
