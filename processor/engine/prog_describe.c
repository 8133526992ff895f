/*
 * prog_describe: see prog_describe.h. The summary follows the file's sections in the
 * order a reader of the program would ask about them: money, qualification, tiers,
 * earning, exclusions, period award, redemption, demotion, expiry, extras, returns.
 */
#include "prog_describe.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const metric_names[] = {"spend", "quantity", "purchases", "visits", NULL};

void prog_format_money(const prog_t *prog, int64_t minor, char *buf, size_t buflen)
{
    int64_t scale = 1;
    for (int i = 0; i < prog->minor_units; i++)
        scale *= 10;
    const char *sign = minor < 0 ? "-" : "";
    uint64_t a = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
    if (prog->minor_units == 0)
        snprintf(buf, buflen, "%s%llu", sign, (unsigned long long)a);
    else
        snprintf(buf, buflen, "%s%llu.%0*llu", sign, (unsigned long long)(a / (uint64_t)scale),
                 prog->minor_units, (unsigned long long)(a % (uint64_t)scale));
}

void prog_format_bp(int32_t bp, char *buf, size_t buflen)
{
    if (bp % 100 == 0)
        snprintf(buf, buflen, "%d%%", bp / 100);
    else if (bp % 10 == 0)
        snprintf(buf, buflen, "%d.%d%%", bp / 100, bp % 100 / 10);
    else
        snprintf(buf, buflen, "%d.%02d%%", bp / 100, bp % 100);
}

/* describe: appends to a buffer, never overflows. */
typedef struct {
    char *b;
    size_t n, used;
} sbuf_t;

static void sb(sbuf_t *s, const char *fmt, ...)
{
    if (s->used + 1 >= s->n)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(s->b + s->used, s->n - s->used, fmt, ap);
    va_end(ap);
    if (w > 0)
        s->used += (size_t)w < s->n - s->used ? (size_t)w : s->n - s->used - 1;
}

static void metric_str(const prog_t *p, prog_metric_t m, int64_t v, char *buf, size_t n)
{
    if (m == PROG_METRIC_SPEND) {
        char x[48];
        prog_format_money(p, v, x, sizeof(x));
        snprintf(buf, n, "%s %s", x, p->currency);
    } else {
        snprintf(buf, n, "%lld %s", (long long)v,
                 m == PROG_METRIC_QUANTITY ? "units"
                 : m == PROG_METRIC_VISITS ? "visits"
                                           : "purchases");
    }
}

static void describe_bands(sbuf_t *s, const prog_t *p, const prog_band_t *b, uint32_t n,
                           prog_metric_t m)
{
    for (uint32_t i = 0; i < n; i++) {
        char v[64], r[16];
        metric_str(p, m, b[i].from, v, sizeof(v));
        prog_format_bp(b[i].rate_bp, r, sizeof(r));
        sb(s, "%sfrom %s: %s", i ? "; " : "", v, r);
    }
}

void prog_describe(const prog_t *p, char *buf, size_t buflen)
{
    sbuf_t s = {buf, buflen, 0};
    if (buflen)
        buf[0] = '\0';
    char x[64], y[64];
    static const char *const wnames[] = {"the calendar month so far", "the previous calendar month",
                                         "the last N days", "the calendar year so far",
                                         "the whole membership"};
    sb(&s,
       "program %s: currency %s (%d decimals), one point = ", p->name[0] ? p->name : "(unnamed)",
       p->currency, p->minor_units);
    prog_format_money(p, p->point_value, x, sizeof(x));
    sb(&s, "%s %s, time zone %s\n", x, p->currency, p->timezone);
    sb(&s, "qualification: %s over %s", metric_names[p->q_metric], wnames[p->q_window]);
    if (p->q_window == PROG_WIN_ROLLING_DAYS)
        sb(&s, " (N = %d)", p->q_days);
    sb(&s, ", thresholds %s\n",
       p->upper_inclusive ? "must be exceeded (upper-inclusive bands)"
                          : "count when reached (lower-inclusive bands)");
    sb(&s, "tiers:");
    for (uint32_t i = 0; i < p->n_tiers; i++) {
        metric_str(p, p->q_metric, p->tiers[i].threshold, x, sizeof(x));
        sb(&s, "%s %s (from %s", i ? "," : "", p->tiers[i].name, x);
        if (p->tiers[i].earn_bp >= 0) {
            prog_format_bp(p->tiers[i].earn_bp, y, sizeof(y));
            sb(&s, ", earns %s", y);
        }
        if (p->tiers[i].earn_permille != 1000)
            sb(&s, ", earns x%d.%03d", p->tiers[i].earn_permille / 1000,
               p->tiers[i].earn_permille % 1000);
        if (p->tiers[i].stamp_permille && p->tiers[i].stamp_permille != 1000)
            sb(&s, ", stamps x%d.%03d", p->tiers[i].stamp_permille / 1000,
               p->tiers[i].stamp_permille % 1000);
        if (p->tiers[i].discount_bp) {
            prog_format_bp(p->tiers[i].discount_bp, y, sizeof(y));
            sb(&s, ", discount %s", y);
        }
        sb(&s, ")");
    }
    prog_format_bp(p->base_bp, x, sizeof(x));
    sb(&s, "\nearning per purchase: base %s, usable %s", x,
       p->usable == PROG_USABLE_NEXT_VISIT ? "from the next visit (next local day)" : "at once");
    if (p->min_purchase) {
        prog_format_money(p, p->min_purchase, x, sizeof(x));
        sb(&s, ", from a purchase of %s", x);
    }
    for (uint32_t i = 0; i < p->n_partners; i++) {
        prog_format_bp(p->partners[i].value, x, sizeof(x));
        sb(&s, "%s%s %s", i ? ", " : "; partners: ", p->partners[i].key, x);
    }
    if (p->n_check_bands) {
        sb(&s, "; by check amount: ");
        describe_bands(&s, p, p->check_bands, p->n_check_bands, PROG_METRIC_SPEND);
    }
    if (p->n_marginal) {
        sb(&s, "; marginal by position in the qualifying %s: ", metric_names[p->q_metric]);
        describe_bands(&s, p, p->marginal, p->n_marginal, p->q_metric);
    }
    for (uint32_t i = 0; i < p->n_cat_mult; i++)
        sb(&s, "%s%s x%d.%03d", i ? ", " : "; category multipliers: ", p->cat_mult[i].key,
           p->cat_mult[i].value / 1000, p->cat_mult[i].value % 1000);
    sb(&s, "\n");
    const prog_catset_t *sets[2] = {&p->earn_excl, &p->redeem_excl};
    for (int k = 0; k < 2; k++) {
        if (!sets[k]->n && !sets[k]->on_sale)
            continue;
        sb(&s, "excluded from %s:", k ? "redeeming" : "earning");
        if (sets[k]->n)
            sb(&s, " categories");
        for (uint32_t i = 0; i < sets[k]->n; i++)
            sb(&s, "%s %s", i ? "," : "", sets[k]->v[i]);
        sb(&s, "%s\n", !sets[k]->on_sale ? "" : sets[k]->n ? ", and sale items" : " sale items");
    }
    if (p->has_award) {
        sb(&s,
           "period award: at the end of each %s, the period's eligible spend x the rate of "
           "its band, one lot (%s bands): ",
           p->award_period == PROG_PERIOD_YEAR ? "calendar year" : "calendar month",
           p->award_upper_inclusive ? "upper-inclusive" : "lower-inclusive");
        describe_bands(&s, p, p->award_bands, p->n_award_bands, PROG_METRIC_SPEND);
        sb(&s, "\n");
    }
    if (p->max_share_bp != 10000) {
        prog_format_bp(p->max_share_bp, x, sizeof(x));
        sb(&s, "redemption: points pay at most %s of a basket\n", x);
    }
    static const char *const dn[] = {"never", "at the end of each period, to the tier reached",
                                     "one level per period without a visit",
                                     "the tier reached counts within its period; the entry "
                                     "tier again at the next period's start"};
    sb(&s, "demotion: %s", dn[p->demote]);
    if (p->demote == PROG_DEMOTE_INACTIVITY && p->inactivity_days)
        sb(&s, " (period = %d days)", p->inactivity_days);
    else if (p->demote == PROG_DEMOTE_INACTIVITY)
        sb(&s, " (period = calendar month)");
    if (p->grace_days)
        sb(&s, ", %d grace days", p->grace_days);
    for (uint32_t i = 0; i < p->n_demote_warn; i++)
        sb(&s, "%s%d", i ? ", " : "; downgrade warnings ", p->demote_warn_days[i]);
    if (p->n_demote_warn)
        sb(&s, " days before");
    static const char *const xn[] = {"points never expire", "points expire after N days",
                                     "points expire at the end of the month after they were "
                                     "earned",
                                     "points expire N calendar months after they were earned"};
    sb(&s, "\nexpiry: %s", xn[p->expiry]);
    if (p->expiry == PROG_EXPIRY_AFTER_DAYS)
        sb(&s, " (N = %d)", p->expiry_days);
    if (p->expiry == PROG_EXPIRY_AFTER_MONTHS)
        sb(&s, " (N = %d)", p->expiry_months);
    for (uint32_t i = 0; i < p->n_warn; i++)
        sb(&s, "%s%d", i ? ", " : "; warnings ", p->warn_days[i]);
    sb(&s, p->n_warn ? " days before\n" : "\n");
    for (uint32_t i = 0; i < p->n_stamps; i++) {
        sb(&s, "stamp card: one stamp per unit of '%s', after %d stamps -> ", p->stamps[i].category,
           p->stamps[i].every);
        if (p->stamps[i].reward == PROG_REWARD_POINTS)
            sb(&s, "%lld points\n", (long long)p->stamps[i].points);
        else
            sb(&s, "%d x %s\n", p->stamps[i].free, p->stamps[i].item);
    }
    if (p->birthday_bp) {
        prog_format_bp(p->birthday_bp, x, sizeof(x));
        prog_format_money(p, p->birthday_min_purchase, y, sizeof(y));
        sb(&s, "birthday: extra %s on the birthday (purchase from %s)\n", x, y);
    }
    if (p->birthday_item[0])
        sb(&s, "birthday: %s on the birthday's first purchase\n", p->birthday_item);
    if (p->welcome_days || p->welcome_months) {
        prog_format_bp(p->welcome_bp, x, sizeof(x));
        sb(&s, "welcome: %s for %d %s after joining\n", x,
           p->welcome_days ? p->welcome_days : p->welcome_months,
           p->welcome_days ? "days" : "calendar months");
    }
    for (uint32_t i = 0; i < p->n_basket; i++) {
        sb(&s, "basket bonus: a purchase with");
        for (uint32_t k = 0; k < p->basket[i].n; k++)
            sb(&s, "%s'%s'", k ? " and " : " ", p->basket[i].categories[k]);
        if (p->basket[i].points)
            sb(&s, " -> %lld points", (long long)p->basket[i].points);
        if (p->basket[i].item[0])
            sb(&s, " -> %s", p->basket[i].item);
        sb(&s, "\n");
    }
    if (p->over_share == PROG_OVER_SHARE_REDEEM_ALLOWED)
        sb(&s, "redemption: a request over the share redeems the allowed part\n");
    for (uint32_t i = 0; i < p->n_tenure; i++)
        sb(&s, "%s%d %s x%d.%03d", i ? ", " : "tenure: ",
           p->tenure[i].months % 12 ? p->tenure[i].months : p->tenure[i].months / 12,
           p->tenure[i].months % 12 ? "months" : "years", p->tenure[i].permille / 1000,
           p->tenure[i].permille % 1000);
    if (p->n_tenure)
        sb(&s, "\n");
    for (uint32_t i = 0; i < p->n_status_mult; i++)
        sb(&s, "%s%s x%d.%03d", i ? ", " : "account status: ", p->status_mult[i].key,
           p->status_mult[i].value / 1000, p->status_mult[i].value % 1000);
    if (p->n_status_mult)
        sb(&s, "\n");
    sb(&s, "returns: reverse the points pro rata, %s\n",
       p->returns == PROG_RETURNS_DEBT ? "debt repaid from later earnings" : "never below zero");
    if (p->progress) {
        metric_str(p, p->q_metric, p->progress_within, x, sizeof(x));
        sb(&s, "nudges: tell a customer within %s of the next tier\n", x);
    }
}
