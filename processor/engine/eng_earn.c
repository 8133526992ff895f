/*
 * eng_earn: what a purchase earns. See eng_earn.h.
 *
 * Rates multiply as integers (base bp x tier, tenure, status and category permille) and
 * the product is floored once over the whole purchase, so splitting a basket into lines
 * never changes the points.
 */
#include "eng_earn.h"
#include "eng_int.h"

#include <string.h>

static int32_t kv_find(const prog_kv_t *kv, uint32_t n, const char *key, int32_t dflt)
{
    for (uint32_t i = 0; i < n; i++)
        if (name_eq(kv[i].key, key))
            return kv[i].value;
    return dflt;
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

int eng_earn_is_birthday(const prog_t *p, const eng_event_t *ev, int32_t *year)
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

void eng_earn_compute(const prog_t *p, const eng_state_t *s, const eng_event_t *ev, int64_t qpos,
                      eng_earn_t *r)
{
    memset(r, 0, sizeof(*r));
    _Static_assert(ENG_LINES_MAX <= 64, "one bit per line");
    uint64_t excl = 0; /* bit i: line i is excluded from earning */
    for (uint32_t i = 0; i < ev->n_lines; i++) {
        r->gross += ev->lines[i].amount;
        r->units += ev->lines[i].quantity;
        if (eng_earn_in_set(&p->earn_excl, &ev->lines[i]))
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
    if (p->birthday_bp && r->eligible >= p->birthday_min_purchase &&
        eng_earn_is_birthday(p, ev, &year) && s->birthday_year != year)
        r->birthday_points =
            floor_points((i128)r->eligible * p->birthday_bp, (i128)10000 * p->point_value);
}
