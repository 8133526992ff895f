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

/* Full calendar months from joining to t, by local dates (0 when t is before joining). */
static int32_t tenure_months(const prog_t *p, const eng_state_t *s, int64_t t)
{
    int32_t y0, m0, d0, y1, m1, d1;
    tz_civil_from_days(tz_day_index(p->tz, s->joined_at), &y0, &m0, &d0);
    tz_civil_from_days(tz_day_index(p->tz, t), &y1, &m1, &d1);
    int32_t months = (y1 - y0) * 12 + (m1 - m0) - (d1 < d0 ? 1 : 0);
    return months > 0 ? months : 0;
}

static int32_t tenure_permille(const prog_t *p, const eng_state_t *s, int64_t t)
{
    if (s->joined_at == 0 || p->n_tenure == 0)
        return 1000;
    int32_t months = tenure_months(p, s, t);
    int32_t pm = 1000;
    for (uint32_t i = 0; i < p->n_tenure; i++)
        if (months >= p->tenure[i].months)
            pm = p->tenure[i].permille;
    return pm;
}

int eng_earn_in_welcome(const prog_t *p, const eng_state_t *s, int64_t t)
{
    if ((!p->welcome_days && !p->welcome_months) || s->joined_at == 0 || t < s->joined_at)
        return 0;
    int64_t end = p->welcome_days ? s->joined_at + (int64_t)p->welcome_days * ENG_DAY_MS
                                  : tz_add_months(p->tz, s->joined_at, p->welcome_months);
    return t < end;
}

int eng_earn_is_birthday(const prog_t *p, const eng_state_t *s, int64_t t, int32_t *year)
{
    if (s->birth_month == 0)
        return 0;
    int32_t y, m, d;
    tz_civil_from_days(tz_day_index(p->tz, t), &y, &m, &d);
    *year = y;
    int32_t bm = s->birth_month, bd = s->birth_day;
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
    for (uint32_t b = 0; b < p->n_basket; b++) { /* basket bonuses: every category present */
        const prog_basket_t *bb = &p->basket[b];
        uint32_t have = 0;
        for (uint32_t k = 0; k < bb->n; k++)
            for (uint32_t i = 0; i < ev->n_lines; i++)
                if (name_eq(ev->lines[i].category, bb->categories[k])) {
                    have++;
                    break;
                }
        if (have == bb->n && r->gross >= bb->min_purchase) {
            r->basket_hits |= 1u << b;
            r->basket_points += bb->points;
        }
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
    if (p->welcome_bp > base && eng_earn_in_welcome(p, s, ev->time_ms))
        base = p->welcome_bp; /* the welcome rate, when it is the better one */
    i128 mult = (i128)t->earn_permille * tenure_permille(p, s, ev->time_ms) *
                kv_find(p->status_mult, p->n_status_mult, s->account_status, 1000);
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
        if (p->q_metric == PROG_METRIC_SPEND || p->q_metric == PROG_METRIC_QUANTITY)
            pos += w;
    }
    const i128 den = (i128)10000 * 1000000000000LL * p->point_value;
    r->points = floor_points(num, den);
    i128 rate = bm >= 0 && bm <= INT64_MAX ? (i128)((int64_t)bm / 1000000000) : bm / 1000000000;
    r->rate_bp = rate > INT32_MAX ? INT32_MAX : (int32_t)rate;
    int32_t year;
    r->birthday = (p->birthday_bp || p->birthday_item[0]) &&
                  r->eligible >= p->birthday_min_purchase &&
                  eng_earn_is_birthday(p, s, ev->time_ms, &year) && s->birthday_year != year;
    if (r->birthday && p->birthday_bp)
        r->birthday_points =
            floor_points((i128)r->eligible * p->birthday_bp, (i128)10000 * p->point_value);
}
