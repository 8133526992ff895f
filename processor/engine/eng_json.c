/*
 * eng_json: JSON <-> engine values. See eng_json.h.
 *
 * Parsing is strict: a known key with the wrong type is an error naming the key; unknown
 * keys are errors too (a typo in a test file must not silently change the test).
 */
#include "eng_json.h"
#include "tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ time */

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int eng_json_parse_time(const char *s, int64_t *ms)
{
    int y, mo, d, h, mi, se, frac = 0, oh = 0, om = 0, sign = 1;
    if (strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
        digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != ' ') || digits(s + 11, 2, &h) ||
        s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &se))
        return -1;
    const char *p = s + 19;
    if (*p == '.') {
        int n = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, n++)
            if (n < 3)
                frac = frac * 10 + (*p - '0');
        if (n == 0)
            return -1;
        for (; n < 3; n++)
            frac *= 10;
    }
    if (*p == 'Z' && p[1] == '\0') {
        /* UTC */
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && !digits(p + 1, 2, &oh) &&
               p[3] == ':' && !digits(p + 4, 2, &om)) {
        sign = *p == '-' ? -1 : 1;
    } else {
        return -1;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return -1;
    int64_t days = tz_days_from_civil(y, mo, d);
    int32_t cy, cm, cd;
    tz_civil_from_days((int32_t)days, &cy, &cm, &cd);
    if (cy != y || cm != mo || cd != d)
        return -1; /* 30 February and the like */
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + se - sign * (oh * 3600 + om * 60);
    *ms = secs * 1000 + frac;
    return 0;
}

void eng_json_format_time(int64_t ms, char *buf, size_t buflen)
{
    int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    int32_t frac = (int32_t)(ms - secs * 1000);
    int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    int32_t sod = (int32_t)(secs - days * 86400), y, m, d;
    tz_civil_from_days((int32_t)days, &y, &m, &d);
    if (frac)
        snprintf(buf, buflen, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d, sod / 3600,
                 sod / 60 % 60, sod % 60, frac);
    else
        snprintf(buf, buflen, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, sod / 3600, sod / 60 % 60,
                 sod % 60);
}

/* ------------------------------------------------------------------ parsing helpers */

typedef struct {
    char *err;
    size_t errlen;
    int failed;
} jerr_t;

static void jfail(jerr_t *e, const char *path, const char *msg)
{
    if (!e->failed)
        snprintf(e->err, e->errlen, "%s: %s", path, msg);
    e->failed = 1;
}

static void j_str(jerr_t *e, const json_t *v, const char *path, char *buf, size_t n)
{
    if (!json_is_string(v))
        return jfail(e, path, "expected a string");
    const char *s = json_string_value(v);
    if (strlen(s) >= n) {
        char m[64];
        snprintf(m, sizeof(m), "longer than %zu bytes", n - 1);
        return jfail(e, path, m);
    }
    memcpy(buf, s, strlen(s) + 1);
}

static void j_int(jerr_t *e, const json_t *v, const char *path, int64_t *out)
{
    if (!json_is_integer(v))
        return jfail(e, path, "expected an integer");
    *out = (int64_t)json_integer_value(v);
}

/* An amount: whole minor units. A decimal such as 15.50 is the commonest mistake (major
 * units), so the message shows the minor-units form for a currency with 2 decimals. */
static void j_amount(jerr_t *e, const json_t *v, const char *path, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return;
    }
    char m[200];
    if (json_is_real(v) || json_is_string(v))
        snprintf(m, sizeof(m),
                 "expected whole minor units (an integer: 15.50 in a currency with 2 decimals "
                 "is written 1550)");
    else
        snprintf(m, sizeof(m), "expected whole minor units (an integer)");
    jfail(e, path, m);
}

static void j_time(jerr_t *e, const json_t *v, const char *path, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
    } else if (!json_is_string(v) || eng_json_parse_time(json_string_value(v), out) != 0) {
        jfail(e, path, "expected ms since the epoch or an RFC 3339 time with offset");
    }
}

static void j_bool(jerr_t *e, const json_t *v, const char *path, bool *out)
{
    if (!json_is_boolean(v))
        return jfail(e, path, "expected true or false");
    *out = json_is_true(v);
}

static void parse_line(jerr_t *e, const json_t *o, const char *path, eng_line_t *l)
{
    if (!json_is_object(o))
        return jfail(e, path, "expected an object");
    const char *k;
    json_t *v;
    char sub[96];
    l->quantity = 1;
    json_object_foreach((json_t *)o, k, v)
    {
        snprintf(sub, sizeof(sub), "%s.%s", path, k);
        int64_t i = 0;
        if (!strcmp(k, "sku"))
            j_str(e, v, sub, l->sku, sizeof(l->sku));
        else if (!strcmp(k, "category"))
            j_str(e, v, sub, l->category, sizeof(l->category));
        else if (!strcmp(k, "quantity")) {
            j_int(e, v, sub, &i);
            if (i < 1 || i > 1000000)
                jfail(e, sub, "must be 1 to 1000000");
            l->quantity = (int32_t)i;
        } else if (!strcmp(k, "amount"))
            j_amount(e, v, sub, &l->amount);
        else if (!strcmp(k, "on_sale"))
            j_bool(e, v, sub, &l->on_sale);
        else
            jfail(e, sub, "unknown key");
    }
    if (!json_object_get(o, "amount"))
        jfail(e, path, "a line needs 'amount' (minor units)");
}

static void parse_attrs(jerr_t *e, const json_t *o, eng_attrs_t *a)
{
    if (!json_is_object(o))
        return jfail(e, "attrs", "expected an object");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        if (!strcmp(k, "birth_date")) {
            /* "YYYY-MM-DD" or "--MM-DD" */
            const char *s = json_is_string(v) ? json_string_value(v) : "";
            size_t n = strlen(s);
            int m, d;
            if (n >= 5 && !digits(s + n - 5, 2, &m) && s[n - 3] == '-' &&
                !digits(s + n - 2, 2, &d)) {
                a->has_birth_date = true;
                a->birth_month = m;
                a->birth_day = d;
            } else {
                jfail(e, "attrs.birth_date", "expected YYYY-MM-DD");
            }
        } else if (!strcmp(k, "member_since")) {
            j_time(e, v, "attrs.member_since", &a->member_since);
            a->has_member_since = true;
        } else if (!strcmp(k, "account_status")) {
            j_str(e, v, "attrs.account_status", a->account_status, sizeof(a->account_status));
        } else {
            char sub[96];
            snprintf(sub, sizeof(sub), "attrs.%s", k);
            jfail(e, sub, "unknown key");
        }
    }
}

int eng_json_event_from(const json_t *o, eng_event_t *ev, char *err, size_t errlen)
{
    jerr_t e = {err, errlen, 0};
    memset(ev, 0, sizeof(*ev));
    if (!json_is_object(o)) {
        snprintf(err, errlen, "expected a JSON object");
        return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        if (!strcmp(k, "type")) {
            const char *t = json_is_string(v) ? json_string_value(v) : "";
            ev->kind = !strcmp(t, "purchase")     ? ENG_EV_PURCHASE
                       : !strcmp(t, "return")     ? ENG_EV_RETURN
                       : !strcmp(t, "redemption") ? ENG_EV_REDEMPTION
                                                  : 0;
            if (!ev->kind)
                jfail(&e, "type", "expected purchase, return or redemption");
        } else if (!strcmp(k, "event_id"))
            j_str(&e, v, "event_id", ev->event_id, sizeof(ev->event_id));
        else if (!strcmp(k, "customer_id"))
            j_str(&e, v, "customer_id", ev->customer_id, sizeof(ev->customer_id));
        else if (!strcmp(k, "time"))
            j_time(&e, v, "time", &ev->time_ms);
        else if (!strcmp(k, "partner"))
            j_str(&e, v, "partner", ev->partner, sizeof(ev->partner));
        else if (!strcmp(k, "currency"))
            j_str(&e, v, "currency", ev->currency, sizeof(ev->currency));
        else if (!strcmp(k, "original_event_id"))
            j_str(&e, v, "original_event_id", ev->original_event_id, sizeof(ev->original_event_id));
        else if (!strcmp(k, "points"))
            j_int(&e, v, "points", &ev->points);
        else if (!strcmp(k, "attrs"))
            parse_attrs(&e, v, &ev->attrs);
        else if (!strcmp(k, "lines")) {
            if (!json_is_array(v) || json_array_size(v) > ENG_LINES_MAX) {
                jfail(&e, "lines", "expected a list of at most 64 lines");
                continue;
            }
            size_t i;
            json_t *l;
            json_array_foreach(v, i, l)
            {
                char path[32];
                snprintf(path, sizeof(path), "lines[%zu]", i);
                parse_line(&e, l, path, &ev->lines[i]);
            }
            ev->n_lines = (uint32_t)json_array_size(v);
        } else {
            jfail(&e, k, "unknown key");
        }
    }
    if (!e.failed && !ev->kind)
        jfail(&e, "type", "missing");
    if (!e.failed && !ev->event_id[0])
        jfail(&e, "event_id", "missing");
    if (!e.failed && !ev->customer_id[0])
        jfail(&e, "customer_id", "missing");
    if (!e.failed && !ev->time_ms)
        jfail(&e, "time", "missing");
    return e.failed ? -1 : 0;
}

int eng_json_parse_event(const char *line, size_t len, eng_event_t *ev, char *err, size_t errlen)
{
    json_error_t je;
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
    if (!o) {
        snprintf(err, errlen, "not JSON: %s (column %d)", je.text, je.column);
        memset(ev, 0, sizeof(*ev));
        return -1;
    }
    int rc = eng_json_event_from(o, ev, err, errlen);
    json_decref(o);
    return rc;
}

/* ------------------------------------------------------------------ serialising */

static void set_time(json_t *o, const char *key, int64_t ms)
{
    if (ms == ENG_TIME_NEVER) {
        json_object_set_new(o, key, json_null());
        return;
    }
    char b[40];
    eng_json_format_time(ms, b, sizeof(b));
    json_object_set_new(o, key, json_string(b));
}

static json_t *line_json(const eng_line_t *l)
{
    json_t *o = json_object();
    json_object_set_new(o, "sku", json_string(l->sku));
    json_object_set_new(o, "category", json_string(l->category));
    json_object_set_new(o, "quantity", json_integer(l->quantity));
    json_object_set_new(o, "amount", json_integer(l->amount));
    if (l->on_sale)
        json_object_set_new(o, "on_sale", json_true());
    return o;
}

json_t *eng_json_event(const eng_event_t *ev)
{
    static const char *const kinds[] = {"", "purchase", "return", "redemption"};
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(kinds[ev->kind <= 3 ? ev->kind : 0]));
    json_object_set_new(o, "event_id", json_string(ev->event_id));
    json_object_set_new(o, "customer_id", json_string(ev->customer_id));
    set_time(o, "time", ev->time_ms);
    if (ev->partner[0])
        json_object_set_new(o, "partner", json_string(ev->partner));
    if (ev->currency[0])
        json_object_set_new(o, "currency", json_string(ev->currency));
    if (ev->kind == ENG_EV_RETURN)
        json_object_set_new(o, "original_event_id", json_string(ev->original_event_id));
    if (ev->kind == ENG_EV_REDEMPTION)
        json_object_set_new(o, "points", json_integer(ev->points));
    if (ev->attrs.has_birth_date || ev->attrs.has_member_since || ev->attrs.account_status[0]) {
        json_t *a = json_object();
        if (ev->attrs.has_birth_date) {
            char b[16];
            snprintf(b, sizeof(b), "--%02d-%02d", ev->attrs.birth_month, ev->attrs.birth_day);
            json_object_set_new(a, "birth_date", json_string(b));
        }
        if (ev->attrs.has_member_since)
            set_time(a, "member_since", ev->attrs.member_since);
        if (ev->attrs.account_status[0])
            json_object_set_new(a, "account_status", json_string(ev->attrs.account_status));
        json_object_set_new(o, "attrs", a);
    }
    json_t *lines = json_array();
    for (uint32_t i = 0; i < ev->n_lines && i < ENG_LINES_MAX; i++)
        json_array_append_new(lines, line_json(&ev->lines[i]));
    json_object_set_new(o, "lines", lines);
    return o;
}

static const char *const out_names[] = {
    "TierChanged",    "BonusEarned",        "ExpiryWarning", "PointsExpired",     "PointsReversed",
    "PointsRedeemed", "RedemptionRejected", "RewardEarned",  "TierWillDowngrade", "TierProgress"};

static void output_body(json_t *o, const eng_output_t *x)
{
    switch (x->kind) {
    case ENG_OUT_TIER_CHANGED:
        json_object_set_new(o, "from_tier", json_string(x->u.tier_changed.from_tier));
        json_object_set_new(o, "to_tier", json_string(x->u.tier_changed.to_tier));
        json_object_set_new(o, "direction", json_integer(x->u.tier_changed.direction));
        json_object_set_new(o, "reason", json_string(x->u.tier_changed.reason));
        json_object_set_new(o, "qualifying_value",
                            json_integer(x->u.tier_changed.qualifying_value));
        break;
    case ENG_OUT_BONUS_EARNED:
        json_object_set_new(o, "points", json_integer(x->u.bonus_earned.points));
        json_object_set_new(o, "rate_bp", json_integer(x->u.bonus_earned.rate_bp));
        json_object_set_new(o, "tier", json_string(x->u.bonus_earned.tier));
        json_object_set_new(o, "source", json_string(x->u.bonus_earned.source));
        set_time(o, "usable_from", x->u.bonus_earned.usable_from);
        set_time(o, "expires_at", x->u.bonus_earned.expires_at);
        if (x->u.bonus_earned.period[0])
            json_object_set_new(o, "period", json_string(x->u.bonus_earned.period));
        if (x->u.bonus_earned.correction)
            json_object_set_new(o, "correction", json_true());
        break;
    case ENG_OUT_EXPIRY_WARNING:
        json_object_set_new(o, "points", json_integer(x->u.expiry_warning.points));
        set_time(o, "expires_at", x->u.expiry_warning.expires_at);
        json_object_set_new(o, "days_left", json_integer(x->u.expiry_warning.days_left));
        break;
    case ENG_OUT_POINTS_EXPIRED:
        json_object_set_new(o, "points", json_integer(x->u.points_expired.points));
        set_time(o, "expired_at", x->u.points_expired.expired_at);
        break;
    case ENG_OUT_POINTS_REVERSED:
        json_object_set_new(o, "points", json_integer(x->u.points_reversed.points));
        json_object_set_new(o, "debt_added", json_integer(x->u.points_reversed.debt_added));
        json_object_set_new(o, "original_event_id",
                            json_string(x->u.points_reversed.original_event_id));
        json_object_set_new(
            o, "reason",
            json_string(x->u.points_reversed.reason[0] ? x->u.points_reversed.reason : "return"));
        if (x->u.points_reversed.period[0])
            json_object_set_new(o, "period", json_string(x->u.points_reversed.period));
        break;
    case ENG_OUT_POINTS_REDEEMED:
        json_object_set_new(o, "points", json_integer(x->u.points_redeemed.points));
        json_object_set_new(o, "value", json_integer(x->u.points_redeemed.value));
        json_object_set_new(o, "balance_after", json_integer(x->u.points_redeemed.balance_after));
        json_object_set_new(o, "points_requested",
                            json_integer(x->u.points_redeemed.points_requested));
        json_object_set_new(o, "points_allowed", json_integer(x->u.points_redeemed.points_allowed));
        break;
    case ENG_OUT_REDEMPTION_REJECTED:
        json_object_set_new(o, "points_requested",
                            json_integer(x->u.redemption_rejected.points_requested));
        json_object_set_new(o, "points_available",
                            json_integer(x->u.redemption_rejected.points_available));
        json_object_set_new(o, "reason", json_string(x->u.redemption_rejected.reason));
        json_object_set_new(o, "points_allowed",
                            json_integer(x->u.redemption_rejected.points_allowed));
        break;
    case ENG_OUT_REWARD_EARNED:
        json_object_set_new(o, "reward", json_string(x->u.reward_earned.reward));
        json_object_set_new(o, "category", json_string(x->u.reward_earned.category));
        json_object_set_new(o, "stamps_used", json_integer(x->u.reward_earned.stamps_used));
        json_object_set_new(o, "source", json_string(x->u.reward_earned.source));
        json_object_set_new(o, "quantity", json_integer(x->u.reward_earned.quantity));
        break;
    case ENG_OUT_TIER_WILL_DOWNGRADE:
        json_object_set_new(o, "from_tier", json_string(x->u.tier_will_downgrade.from_tier));
        json_object_set_new(o, "to_tier", json_string(x->u.tier_will_downgrade.to_tier));
        set_time(o, "effective_at", x->u.tier_will_downgrade.effective_at);
        json_object_set_new(o, "days_left", json_integer(x->u.tier_will_downgrade.days_left));
        break;
    case ENG_OUT_TIER_PROGRESS:
        json_object_set_new(o, "current_tier", json_string(x->u.tier_progress.current_tier));
        json_object_set_new(o, "next_tier", json_string(x->u.tier_progress.next_tier));
        json_object_set_new(o, "current_value", json_integer(x->u.tier_progress.current_value));
        json_object_set_new(o, "missing", json_integer(x->u.tier_progress.missing));
        break;
    default:
        break;
    }
}

json_t *eng_json_output(const eng_output_t *x)
{
    json_t *o = json_object();
    json_object_set_new(
        o, "type",
        json_string((unsigned)x->kind < ENG_OUT_KIND_COUNT ? out_names[x->kind] : "Unknown"));
    json_object_set_new(o, "output_id", json_string(x->output_id));
    json_object_set_new(o, "customer_id", json_string(x->customer_id));
    set_time(o, "time", x->time_ms);
    json_object_set_new(o, "cause_id", json_string(x->cause_id));
    json_object_set_new(o, "currency", json_string(x->currency));
    output_body(o, x);
    return o;
}

json_t *eng_json_state(const eng_state_t *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "customer_id", json_string(s->customer_id));
    json_object_set_new(o, "version", json_integer(s->version));
    json_object_set_new(o, "tier", json_integer(s->tier));
    set_time(o, "tier_since", s->tier_since);
    set_time(o, "last_visit", s->last_visit);
    json_object_set_new(o, "inactivity_steps", json_integer(s->inactivity_steps));
    json_object_set_new(o, "downgrade_warned", json_integer(s->downgrade_warned));
    json_t *qb = json_array();
    for (uint32_t i = 0; i < s->n_qbuckets && i < ENG_QBUCKETS_MAX; i++)
        json_array_append_new(
            qb, json_pack("[iI]", (int)s->qbuckets[i].key, (json_int_t)s->qbuckets[i].value));
    json_object_set_new(o, "qbuckets", qb);
    set_time(o, "period_start", s->period_start);
    json_object_set_new(o, "award_accum", json_integer(s->award_accum));
    if (s->next_accum)
        json_object_set_new(o, "next_accum", json_integer(s->next_accum));
    if (s->n_closed) {
        json_t *cp = json_array();
        for (uint32_t i = 0; i < s->n_closed && i < ENG_CLOSED_MAX; i++)
            json_array_append_new(cp, json_pack("{si sI sI}", "month", (int)s->closed[i].month,
                                                "accum", (json_int_t)s->closed[i].accum, "paid",
                                                (json_int_t)s->closed[i].paid));
        json_object_set_new(o, "closed_periods", cp);
    }
    json_object_set_new(o, "debt", json_integer(s->debt));
    json_t *lots = json_array();
    for (uint32_t i = 0; i < s->n_lots && i < ENG_LOTS_MAX; i++) {
        const eng_lot_t *l = &s->lots[i];
        json_t *lo = json_object();
        json_object_set_new(lo, "amount", json_integer(l->amount));
        json_object_set_new(lo, "remaining", json_integer(l->remaining));
        set_time(lo, "earned_at", l->earned_at);
        set_time(lo, "usable_from", l->usable_from);
        set_time(lo, "expires_at", l->expires_at);
        json_object_set_new(lo, "warned", json_integer(l->warned));
        json_object_set_new(lo, "source", json_integer(l->source));
        json_array_append_new(lots, lo);
    }
    json_object_set_new(o, "lots", lots);
    json_t *st = json_array();
    for (int i = 0; i < ENG_STAMPS_MAX; i++)
        json_array_append_new(st, json_integer(s->stamps[i]));
    json_object_set_new(o, "stamps", st);
    json_t *pur = json_array();
    for (uint32_t i = 0; i < s->n_purchases && i < ENG_PURCHASES_MAX; i++) {
        const eng_purchase_rec_t *r = &s->purchases[(s->purchases_head + i) % ENG_PURCHASES_MAX];
        char h[24];
        snprintf(h, sizeof(h), "%016llx", (unsigned long long)r->id_hash);
        json_array_append_new(
            pur, json_pack("{ss sI sI sI sI sI}", "id_hash", h, "time_ms", (json_int_t)r->time_ms,
                           "eligible_amount", (json_int_t)r->eligible_amount, "points",
                           (json_int_t)r->points, "returned_amount", (json_int_t)r->returned_amount,
                           "points_reversed", (json_int_t)r->points_reversed));
    }
    json_object_set_new(o, "purchases", pur);
    json_object_set_new(o, "seen", json_integer(s->n_seen));
    json_object_set_new(o, "birthday_year", json_integer(s->birthday_year));
    json_object_set_new(o, "total_earned", json_integer(s->total_earned));
    json_object_set_new(o, "total_redeemed", json_integer(s->total_redeemed));
    json_object_set_new(o, "total_expired", json_integer(s->total_expired));
    json_object_set_new(o, "total_reversed", json_integer(s->total_reversed));
    int64_t bal = 0;
    for (uint32_t i = 0; i < s->n_lots && i < ENG_LOTS_MAX; i++)
        bal += s->lots[i].remaining;
    json_object_set_new(o, "balance", json_integer(bal));
    set_time(o, "joined_at", s->joined_at);
    if (s->birth_month) {
        char bd[8];
        snprintf(bd, sizeof(bd), "%02d-%02d", (int)s->birth_month % 100, (int)s->birth_day % 100);
        json_object_set_new(o, "birth_date", json_string(bd));
    } else {
        json_object_set_new(o, "birth_date", json_null());
    }
    json_object_set_new(o, "account_status", json_string(s->account_status));
    return o;
}

char *eng_json_line(const json_t *obj)
{
    char *s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *r = realloc(s, n + 2);
    if (!r) {
        free(s);
        return NULL;
    }
    r[n] = '\n';
    r[n + 1] = '\0';
    return r;
}
