/* Unit tests of the engine rules, one behaviour per test, mostly with the seeds' numbers
 * (../shared/docs/DOMAIN.md). Amounts are minor units: 100000 = 1,000.00 RUB; one point is
 * worth one major unit unless a program says otherwise. */
#include "test_eng_util.h"

static const char *const HEAD = "currency: RUB\ntimezone: Europe/Moscow\n";

static prog_t *prog_with(const char *body)
{
    char y[4096];
    snprintf(y, sizeof(y), "%s%s", HEAD, body);
    return tp_prog(y);
}

static void test_caterer_20_percent_usable_from_next_visit_not_same_check(void **st)
{
    (void)st;
    prog_t *p = prog_with("earning: {base_percent: 20, usable: next_visit}\n");
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    tp_event(&ev, ENG_EV_PURCHASE, "lunch", "c1", "2026-03-05T13:00:00+03:00");
    tp_line(&ev, "food", 1, 100000, false);
    assert_int_equal(tp_apply(p, &s, &ev, &o), ENG_OK);
    const eng_output_t *b = tp_find(&o, ENG_OUT_BONUS_EARNED, 0);
    assert_non_null(b);
    assert_int_equal(b->u.bonus_earned.points, 200);
    assert_int_equal(b->u.bonus_earned.rate_bp, 2000);
    assert_string_equal(b->output_id, "lunch:0");
    assert_int_equal(b->u.bonus_earned.usable_from, tp_t("2026-03-06T00:00:00+03:00"));
    /* paying with them on the same visit is refused */
    tp_event(&ev, ENG_EV_REDEMPTION, "pay1", "c1", "2026-03-05T13:05:00+03:00");
    ev.points = 100;
    tp_apply(p, &s, &ev, &o);
    const eng_output_t *r = tp_find(&o, ENG_OUT_REDEMPTION_REJECTED, 0);
    assert_non_null(r);
    assert_string_equal(r->u.redemption_rejected.reason, "insufficient_points");
    assert_int_equal(r->u.redemption_rejected.points_available, 0);
    /* the next day they pay */
    tp_event(&ev, ENG_EV_REDEMPTION, "pay2", "c1", "2026-03-06T12:00:00+03:00");
    ev.points = 100;
    tp_apply(p, &s, &ev, &o);
    const eng_output_t *d = tp_find(&o, ENG_OUT_POINTS_REDEEMED, 0);
    assert_non_null(d);
    assert_int_equal(d->u.points_redeemed.value, 10000);
    assert_int_equal(d->u.points_redeemed.balance_after, 100);
    prog_destroy(p);
}

static const char *const COSMETICS =
    "period_award:\n  rates: [{from: 0, percent: 3}, {from: 1000, percent: 10}, {from: 1500, "
    "percent: 15}]\n"
    "expiry: {mode: end_of_next_month, warning_days: [30, 7, 1]}\n";

static void test_period_award_5000_in_march_gives_750_at_april_start_local(void **st)
{
    (void)st;
    prog_t *p = prog_with(COSMETICS);
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    const char *days[] = {"2026-03-01T00:00:00+03:00", "2026-03-15T12:00:00+03:00",
                          "2026-03-31T23:59:59+03:00"};
    const int64_t amounts[] = {100000, 150000, 250000};
    for (int i = 0; i < 3; i++) {
        char id[8];
        snprintf(id, sizeof(id), "p%d", i);
        tp_event(&ev, ENG_EV_PURCHASE, id, "anna", days[i]);
        tp_line(&ev, "skincare", 1, amounts[i], false);
        tp_apply(p, &s, &ev, &o);
    }
    assert_int_equal(o.b.n, 0); /* nothing per purchase */
    /* the period closes at its end + the default grace of one hour */
    assert_int_equal(o.b.next_due, tp_t("2026-04-01T01:00:00+03:00"));
    tp_tick(p, &s, "2026-04-01T00:59:59.999+03:00", &o);
    assert_int_equal(o.b.n, 0);
    tp_tick(p, &s, "2026-04-01T01:00:00+03:00", &o);
    const eng_output_t *b = tp_find(&o, ENG_OUT_BONUS_EARNED, 0);
    assert_non_null(b);
    assert_int_equal(b->u.bonus_earned.points, 750);
    assert_int_equal(b->u.bonus_earned.rate_bp, 1500);
    assert_string_equal(b->u.bonus_earned.source, "period");
    assert_int_equal(b->time_ms, tp_t("2026-04-01T01:00:00+03:00"));
    assert_int_equal(b->u.bonus_earned.usable_from, tp_t("2026-04-01T00:00:00+03:00"));
    assert_int_equal(b->u.bonus_earned.expires_at, tp_t("2026-05-01T00:00:00+03:00"));
    assert_string_equal(b->u.bonus_earned.period, "2026-03");
    assert_int_equal(b->u.bonus_earned.correction, 0);
    assert_string_equal(b->output_id, "anna:period_end:1774994400000:0");
    prog_destroy(p);
}

static int64_t award_for(const char *body, int64_t amount)
{
    prog_t *p = prog_with(body);
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    tp_event(&ev, ENG_EV_PURCHASE, "p", "c", "2026-03-10T10:00:00+03:00");
    tp_line(&ev, "x", 1, amount, false);
    tp_apply(p, &s, &ev, &o);
    tp_tick(p, &s, "2026-04-01T01:00:00+03:00", &o);
    const eng_output_t *b = tp_find(&o, ENG_OUT_BONUS_EARNED, 0);
    int64_t pts = b ? b->u.bonus_earned.points : 0;
    prog_destroy(p);
    return pts;
}

static void test_period_band_edge_exactly_1000_lower_inclusive_earns_10_percent(void **st)
{
    (void)st;
    assert_int_equal(award_for(COSMETICS, 100000), 100);
    assert_int_equal(award_for(COSMETICS, 99999), 29); /* 3% of 999.99, floored */
    assert_int_equal(award_for(COSMETICS, 150000), 225);
}

static void test_period_band_edge_exactly_1000_upper_inclusive_earns_3_percent(void **st)
{
    (void)st;
    const char *up = "period_award:\n  bands: upper_inclusive\n  rates: [{from: 0, percent: "
                     "3}, {from: 1000, percent: 10}, {from: 1500, percent: 15}]\n";
    assert_int_equal(award_for(up, 100000), 30);
    assert_int_equal(award_for(up, 100001), 100);
    assert_int_equal(award_for(up, 150000), 150);
}

static void test_expiry_warnings_30_7_1_then_expiry_each_once(void **st)
{
    (void)st;
    prog_t *p = prog_with("earning: {base_percent: 10}\n"
                          "expiry: {mode: after_days, days: 60, warning_days: [1, 7, 30]}\n");
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    tp_event(&ev, ENG_EV_PURCHASE, "p", "c", "2026-01-01T12:00:00Z");
    tp_line(&ev, "x", 1, 100000, false);
    tp_apply(p, &s, &ev, &o);
    ob_reset(&o);
    tp_tick(p, &s, "2027-01-01T00:00:00Z", &o); /* long downtime: all due, in order */
    assert_int_equal(o.b.n, 4);
    assert_int_equal(o.v[0].u.expiry_warning.days_left, 30);
    assert_int_equal(o.v[0].time_ms, tp_t("2026-03-02T12:00:00Z") - 30 * ENG_DAY_MS);
    assert_int_equal(o.v[1].u.expiry_warning.days_left, 7);
    assert_int_equal(o.v[2].u.expiry_warning.days_left, 1);
    assert_int_equal(o.v[2].u.expiry_warning.points, 100);
    assert_int_equal(o.v[3].kind, ENG_OUT_POINTS_EXPIRED);
    assert_int_equal(o.v[3].u.points_expired.points, 100);
    assert_int_equal(o.v[3].time_ms, tp_t("2026-03-02T12:00:00Z"));
    assert_string_not_equal(o.v[0].output_id, o.v[1].output_id);
    assert_int_equal(s.total_expired, 100);
    ob_reset(&o);
    tp_tick(p, &s, "2028-01-01T00:00:00Z", &o);
    assert_int_equal(o.b.n, 0);
    assert_int_equal(o.b.next_due, ENG_TIME_NEVER);
    prog_destroy(p);
}

static void test_expiry_never_keeps_points_and_needs_no_timer(void **st)
{
    (void)st;
    prog_t *p = prog_with("earning: {base_percent: 10}\nexpiry: {mode: never}\n");
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    tp_event(&ev, ENG_EV_PURCHASE, "p", "c", "2026-01-01T12:00:00Z");
    tp_line(&ev, "x", 1, 100000, false);
    tp_apply(p, &s, &ev, &o);
    assert_int_equal(o.b.next_due, ENG_TIME_NEVER);
    tp_tick(p, &s, "2036-01-01T00:00:00Z", &o);
    assert_int_equal(eng_balance(&s), 100);
    assert_int_equal(tp_find(&o, ENG_OUT_BONUS_EARNED, 0)->u.bonus_earned.expires_at,
                     ENG_TIME_NEVER);
    prog_destroy(p);
}

static void test_purchase_lot_expires_at_end_of_next_month_local(void **st)
{
    (void)st;
    prog_t *p = prog_with("earning: {base_percent: 10}\nexpiry: {mode: end_of_next_month}\n");
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    tp_event(&ev, ENG_EV_PURCHASE, "p", "c", "2026-03-31T23:30:00+03:00");
    tp_line(&ev, "x", 1, 100000, false);
    tp_apply(p, &s, &ev, &o);
    assert_int_equal(s.lots[0].expires_at, tp_t("2026-05-01T00:00:00+03:00"));
    prog_destroy(p);
}

static void test_silver_earns_50_percent_more(void **st)
{
    (void)st;
    prog_t *p = prog_with("qualification: {window: lifetime}\n"
                          "tiers: [{name: Red, threshold: 0}, {name: Silver, threshold: 1000, "
                          "earn_multiplier: 1.5}, {name: Gold, threshold: 100000}]\n"
                          "earning: {base_percent: 10}\n");
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    tp_event(&ev, ENG_EV_PURCHASE, "p1", "c", "2026-01-01T12:00:00Z");
    tp_line(&ev, "x", 1, 100000, false);
    tp_apply(p, &s, &ev, &o);
    assert_int_equal(tp_find(&o, ENG_OUT_BONUS_EARNED, 0)->u.bonus_earned.points, 100);
    const eng_output_t *t = tp_find(&o, ENG_OUT_TIER_CHANGED, 0);
    assert_non_null(t);
    assert_string_equal(t->u.tier_changed.from_tier, "Red");
    assert_string_equal(t->u.tier_changed.to_tier, "Silver");
    assert_int_equal(t->u.tier_changed.direction, 1);
    assert_int_equal(t->u.tier_changed.qualifying_value, 100000);
    tp_event(&ev, ENG_EV_PURCHASE, "p2", "c", "2026-01-02T12:00:00Z");
    tp_line(&ev, "x", 1, 100000, false);
    tp_apply(p, &s, &ev, &o);
    const eng_output_t *b = tp_find(&o, ENG_OUT_BONUS_EARNED, 1);
    assert_int_equal(b->u.bonus_earned.points, 150);
    assert_int_equal(b->u.bonus_earned.rate_bp, 1500);
    assert_string_equal(b->u.bonus_earned.tier, "Silver");
    prog_destroy(p);
}

static int64_t check_points(const prog_t *p, int64_t amount)
{
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    tp_event(&ev, ENG_EV_PURCHASE, "p", "c", "2026-01-01T12:00:00Z");
    tp_line(&ev, "x", 1, amount, false);
    tp_apply(p, &s, &ev, &o);
    const eng_output_t *b = tp_find(&o, ENG_OUT_BONUS_EARNED, 0);
    return b ? b->u.bonus_earned.points : 0;
}

static void test_single_check_bands_10000_20000_50000_give_5_7_10_percent(void **st)
{
    (void)st;
    prog_t *p = prog_with("earning:\n  check_bands: [{from: 0, percent: 0}, {from: 10000, "
                          "percent: 5}, {from: 20000, percent: 7}, {from: 50000, percent: "
                          "10}]\n");
    assert_int_equal(check_points(p, 999999), 0);
    assert_int_equal(check_points(p, 1000000), 500);
    assert_int_equal(check_points(p, 2000000), 1400);
    assert_int_equal(check_points(p, 4999999), 3499); /* 7% of 49,999.99 floored */
    assert_int_equal(check_points(p, 5000000), 5000);
    prog_destroy(p);
}

static void test_cumulative_tiers_promote_at_10000_and_20000(void **st)
{
    (void)st;
    prog_t *p = prog_with("qualification: {metric: spend, window: lifetime}\n"
                          "tiers: [{name: none, threshold: 0, earn_percent: 0}, {name: five, "
                          "threshold: 10000, earn_percent: 5, discount_percent: 5}, {name: "
                          "seven, threshold: 20000, earn_percent: 7}, {name: ten, threshold: "
                          "50000, earn_percent: 10}]\n");
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    tp_event(&ev, ENG_EV_PURCHASE, "p1", "c", "2026-01-01T12:00:00Z");
    tp_line(&ev, "x", 1, 600000, false);
    tp_apply(p, &s, &ev, &o);
    assert_int_equal(s.tier, 0);
    tp_event(&ev, ENG_EV_PURCHASE, "p2", "c", "2026-02-01T12:00:00Z");
    tp_line(&ev, "x", 1, 400000, false);
    tp_apply(p, &s, &ev, &o);
    assert_int_equal(s.tier, 1); /* exactly 10,000: lower-inclusive */
    tp_event(&ev, ENG_EV_PURCHASE, "p3", "c", "2026-03-01T12:00:00Z");
    tp_line(&ev, "x", 1, 1000000, false);
    tp_apply(p, &s, &ev, &o);
    assert_int_equal(s.tier, 2);
    /* p3 earned at the tier held before it: 5% of 10,000 */
    assert_int_equal(tp_find(&o, ENG_OUT_BONUS_EARNED, 0)->u.bonus_earned.points, 500);
    assert_int_equal(tp_count(&o, ENG_OUT_TIER_CHANGED), 2);
    prog_destroy(p);
}

static const char *const LADDER =
    "qualification: {window: lifetime}\n"
    "tiers: [{name: A, threshold: 0}, {name: B, threshold: 100}, {name: C, threshold: 200}, "
    "{name: D, threshold: 300}]\n";

static void test_three_months_without_visit_give_three_one_level_demotions(void **st)
{
    (void)st;
    char y[1024];
    snprintf(y, sizeof(y), "%sdemotion: {mode: inactivity}\n", LADDER);
    prog_t *p = prog_with(y);
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    tp_event(&ev, ENG_EV_PURCHASE, "p1", "c", "2026-01-15T12:00:00+03:00");
    tp_line(&ev, "x", 1, 30000, false);
    tp_apply(p, &s, &ev, &o);
    assert_int_equal(s.tier, 3);
    assert_int_equal(o.b.next_due, tp_t("2026-03-01T00:00:00+03:00"));
    ob_reset(&o);
    tp_tick(p, &s, "2026-07-01T00:00:00+03:00", &o); /* one late timer call */
    assert_int_equal(o.b.n, 3);
    const char *when[] = {"2026-03-01T00:00:00+03:00", "2026-04-01T00:00:00+03:00",
                          "2026-05-01T00:00:00+03:00"};
    const char *to[] = {"C", "B", "A"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(o.v[i].kind, ENG_OUT_TIER_CHANGED);
        assert_int_equal(o.v[i].time_ms, tp_t(when[i]));
        assert_string_equal(o.v[i].u.tier_changed.to_tier, to[i]);
        assert_string_equal(o.v[i].u.tier_changed.reason, "inactivity");
        assert_int_equal(o.v[i].u.tier_changed.direction, -1);
        char id[96];
        snprintf(id, sizeof(id), "c:inactivity:%lld:0", (long long)tp_t(when[i]));
        assert_string_equal(o.v[i].output_id, id);
    }
    assert_int_equal(o.b.next_due, ENG_TIME_NEVER);
    prog_destroy(p);
}

static void test_visit_resets_inactivity_and_grace_days_delay_it(void **st)
{
    (void)st;
    char y[1024];
    snprintf(y, sizeof(y), "%sdemotion: {mode: inactivity, grace_days: 5, warning_days: [7]}\n",
             LADDER);
    prog_t *p = prog_with(y);
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    tp_event(&ev, ENG_EV_PURCHASE, "p1", "c", "2026-01-15T12:00:00+03:00");
    tp_line(&ev, "x", 1, 30000, false);
    tp_apply(p, &s, &ev, &o);
    assert_int_equal(o.b.next_due, tp_t("2026-02-27T00:00:00+03:00")); /* warning */
    /* a visit in February: the first step moves to April 1 + 5 days */
    tp_event(&ev, ENG_EV_REDEMPTION, "r1", "c", "2026-02-10T12:00:00+03:00");
    ev.points = 1;
    tp_apply(p, &s, &ev, &o);
    ob_reset(&o);
    tp_tick(p, &s, "2026-04-06T00:00:00+03:00", &o);
    assert_int_equal(o.b.n, 2);
    assert_int_equal(o.v[0].kind, ENG_OUT_TIER_WILL_DOWNGRADE);
    assert_int_equal(o.v[0].time_ms, tp_t("2026-03-30T00:00:00+03:00"));
    assert_int_equal(o.v[0].u.tier_will_downgrade.effective_at, tp_t("2026-04-06T00:00:00+03:00"));
    assert_int_equal(o.v[0].u.tier_will_downgrade.days_left, 7);
    assert_string_equal(o.v[0].u.tier_will_downgrade.to_tier, "C");
    assert_int_equal(o.v[1].kind, ENG_OUT_TIER_CHANGED);
    assert_int_equal(o.v[1].time_ms, tp_t("2026-04-06T00:00:00+03:00"));
    prog_destroy(p);
}

static void test_lamp_packs_marginal_brackets_100_200_300(void **st)
{
    (void)st;
    prog_t *p = tp_prog("currency: GBP\ntimezone: Europe/London\n"
                        "qualification: {metric: quantity, window: calendar_year}\n"
                        "earning:\n  marginal_bands: [{from: 0, percent: 0}, {from: 100, "
                        "percent: 5}, {from: 200, percent: 10}, {from: 300, percent: 20}]\n");
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    tp_event(&ev, ENG_EV_PURCHASE, "p1", "shop", "2026-02-01T12:00:00Z");
    tp_line(&ev, "lamps", 150, 150000, false); /* 150 packs at 10 GBP */
    tp_apply(p, &s, &ev, &o);
    assert_int_equal(tp_find(&o, ENG_OUT_BONUS_EARNED, 0)->u.bonus_earned.points, 25);
    tp_event(&ev, ENG_EV_PURCHASE, "p2", "shop", "2026-06-01T12:00:00Z");
    tp_line(&ev, "lamps", 200, 200000, false); /* packs 151..350 */
    tp_apply(p, &s, &ev, &o);
    /* 50 at 5% (25) + 100 at 10% (100) + 50 at 20% (100) */
    assert_int_equal(tp_find(&o, ENG_OUT_BONUS_EARNED, 1)->u.bonus_earned.points, 225);
    tp_event(&ev, ENG_EV_PURCHASE, "p3", "shop", "2027-01-05T12:00:00Z");
    tp_line(&ev, "lamps", 10, 10000, false); /* a new year starts at full price */
    tp_apply(p, &s, &ev, &o);
    assert_int_equal(tp_count(&o, ENG_OUT_BONUS_EARNED), 2);
    prog_destroy(p);
}

static void test_sale_items_and_consumables_excluded_separately(void **st)
{
    (void)st;
    prog_t *p = prog_with("earning: {base_percent: 10, exclude: {categories: [consumables], "
                          "on_sale: true}}\n"
                          "redeeming: {exclude: {categories: [consumables]}, "
                          "max_share_percent: 50}\n");
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    tp_event(&ev, ENG_EV_PURCHASE, "p1", "c", "2026-02-01T12:00:00Z");
    tp_line(&ev, "services", 1, 100000, false);
    tp_line(&ev, "consumables", 1, 50000, false);
    tp_line(&ev, "dress", 1, 200000, true);
    tp_apply(p, &s, &ev, &o);
    assert_int_equal(tp_find(&o, ENG_OUT_BONUS_EARNED, 0)->u.bonus_earned.points, 100);
    tp_event(&ev, ENG_EV_REDEMPTION, "r1", "c", "2026-02-02T12:00:00Z");
    ev.points = 10;
    tp_line(&ev, "consumables", 1, 5000, false);
    tp_apply(p, &s, &ev, &o);
    assert_string_equal(tp_find(&o, ENG_OUT_REDEMPTION_REJECTED, 0)->u.redemption_rejected.reason,
                        "excluded_basket");
    tp_event(&ev, ENG_EV_REDEMPTION, "r2", "c", "2026-02-02T12:01:00Z");
    ev.points = 60;
    tp_line(&ev, "services", 1, 10000, false);
    tp_apply(p, &s, &ev, &o);
    assert_string_equal(tp_find(&o, ENG_OUT_REDEMPTION_REJECTED, 1)->u.redemption_rejected.reason,
                        "over_max_share");
    tp_event(&ev, ENG_EV_REDEMPTION, "r3", "c", "2026-02-02T12:02:00Z");
    ev.points = 50;
    tp_line(&ev, "services", 1, 10000, false);
    tp_apply(p, &s, &ev, &o);
    assert_int_equal(tp_find(&o, ENG_OUT_POINTS_REDEEMED, 0)->u.points_redeemed.balance_after, 50);
    prog_destroy(p);
}

static void test_eleventh_pair_free_after_ten_stamps(void **st)
{
    (void)st;
    prog_t *p = prog_with("stamps: [{category: lenses, every: 10, reward: free_item, item: "
                          "free_pair}]\n");
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    for (int i = 0; i < 10; i++) {
        char id[8];
        snprintf(id, sizeof(id), "p%d", i);
        tp_event(&ev, ENG_EV_PURCHASE, id, "c", "2026-02-01T12:00:00Z");
        ev.time_ms += i * ENG_DAY_MS;
        tp_line(&ev, "lenses", 1, 300000, false);
        tp_apply(p, &s, &ev, &o);
        assert_int_equal(tp_count(&o, ENG_OUT_REWARD_EARNED), i == 9 ? 1 : 0);
    }
    const eng_output_t *r = tp_find(&o, ENG_OUT_REWARD_EARNED, 0);
    assert_string_equal(r->u.reward_earned.reward, "free_pair");
    assert_int_equal(r->u.reward_earned.stamps_used, 10);
    assert_string_equal(r->cause_id, "p9");
    assert_int_equal(s.stamps[0], 0);
    tp_event(&ev, ENG_EV_PURCHASE, "big", "c", "2026-03-01T12:00:00Z");
    tp_line(&ev, "lenses", 25, 300000, false);
    tp_line(&ev, "solution", 3, 3000, false);
    tp_apply(p, &s, &ev, &o);
    assert_int_equal(tp_count(&o, ENG_OUT_REWARD_EARNED), 3);
    assert_int_equal(s.stamps[0], 5);
    prog_destroy(p);
}

static void test_partner_rates_from_1_to_14_percent(void **st)
{
    (void)st;
    prog_t *p = prog_with("earning: {base_percent: 2, partners: {cafe: 1, airline: 14}}\n");
    const char *partners[] = {"cafe", "airline", "unknown"};
    const int64_t expect[] = {10, 140, 20};
    for (int i = 0; i < 3; i++) {
        eng_state_t s = {0};
        eng_event_t ev;
        ob_t o;
        ob_reset(&o);
        tp_event(&ev, ENG_EV_PURCHASE, "p", "c", "2026-02-01T12:00:00Z");
        snprintf(ev.partner, sizeof(ev.partner), "%s", partners[i]);
        tp_line(&ev, "x", 1, 100000, false);
        tp_apply(p, &s, &ev, &o);
        assert_int_equal(tp_find(&o, ENG_OUT_BONUS_EARNED, 0)->u.bonus_earned.points, expect[i]);
    }
    prog_destroy(p);
}

static void test_tenure_status_and_service_multipliers_compose(void **st)
{
    (void)st;
    prog_t *p = prog_with("earning: {base_percent: 10, category_multipliers: {voicemail: 2}}\n"
                          "tenure: [{years: 1, multiplier: 1.1}, {years: 3, multiplier: 1.25}]\n"
                          "status_multipliers: {premium: 1.5}\n");
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    tp_event(&ev, ENG_EV_PURCHASE, "p", "c", "2026-03-01T12:00:00Z");
    ev.attrs.has_member_since = true;
    ev.attrs.member_since = tp_t("2022-01-01T00:00:00Z");
    snprintf(ev.attrs.account_status, ENG_NAME_MAX, "premium");
    tp_line(&ev, "calls", 1, 100000, false);    /* 10% x 1.25 x 1.5 = 18.75% -> 187.5 */
    tp_line(&ev, "voicemail", 1, 10000, false); /* x2 -> 37.5 */
    tp_apply(p, &s, &ev, &o);
    assert_int_equal(tp_find(&o, ENG_OUT_BONUS_EARNED, 0)->u.bonus_earned.points, 225);
    prog_destroy(p);
}

static void test_birthday_extra_once_on_the_day_feb29_on_28th(void **st)
{
    (void)st;
    prog_t *p = prog_with("earning: {base_percent: 0}\n"
                          "birthday: {extra_percent: 5, minimum_purchase: 1500}\n");
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    const char *when[] = {"2027-02-28T10:00:00+03:00", "2027-02-28T18:00:00+03:00",
                          "2027-03-01T10:00:00+03:00"};
    for (int i = 0; i < 3; i++) {
        char id[8];
        snprintf(id, sizeof(id), "p%d", i);
        tp_event(&ev, ENG_EV_PURCHASE, id, "c", when[i]);
        ev.attrs.has_birth_date = true;
        ev.attrs.birth_month = 2;
        ev.attrs.birth_day = 29;
        tp_line(&ev, "x", 1, 200000, false);
        tp_apply(p, &s, &ev, &o);
    }
    assert_int_equal(tp_count(&o, ENG_OUT_BONUS_EARNED), 1);
    const eng_output_t *b = tp_find(&o, ENG_OUT_BONUS_EARNED, 0);
    assert_int_equal(b->u.bonus_earned.points, 100);
    assert_string_equal(b->u.bonus_earned.source, "birthday");
    /* under the minimum purchase: nothing, even on the day */
    eng_state_t s2 = {0};
    tp_event(&ev, ENG_EV_PURCHASE, "small", "d", "2028-02-29T10:00:00+03:00");
    ev.attrs.has_birth_date = true;
    ev.attrs.birth_month = 2;
    ev.attrs.birth_day = 29;
    tp_line(&ev, "x", 1, 149999, false);
    ob_reset(&o);
    tp_apply(p, &s2, &ev, &o);
    assert_int_equal(o.b.n, 0);
    prog_destroy(p);
}

static void test_return_reverses_pro_rata_and_full_return_exactly(void **st)
{
    (void)st;
    prog_t *p = prog_with("earning: {base_percent: 10}\n");
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    tp_event(&ev, ENG_EV_PURCHASE, "p1", "c", "2026-02-01T12:00:00Z");
    for (int i = 0; i < 3; i++)
        tp_line(&ev, "x", 1, 33333, false); /* 999.99 RUB -> 99 points */
    tp_apply(p, &s, &ev, &o);
    assert_int_equal(eng_balance(&s), 99);
    tp_event(&ev, ENG_EV_RETURN, "r1", "c", "2026-02-02T12:00:00Z");
    snprintf(ev.original_event_id, ENG_ID_MAX, "p1");
    tp_line(&ev, "x", 1, 33333, false);
    tp_apply(p, &s, &ev, &o);
    assert_int_equal(tp_find(&o, ENG_OUT_POINTS_REVERSED, 0)->u.points_reversed.points, 33);
    tp_event(&ev, ENG_EV_RETURN, "r2", "c", "2026-02-03T12:00:00Z");
    snprintf(ev.original_event_id, ENG_ID_MAX, "p1");
    tp_line(&ev, "x", 1, 33333, false);
    tp_line(&ev, "x", 1, 33333, false);
    tp_apply(p, &s, &ev, &o);
    assert_int_equal(tp_find(&o, ENG_OUT_POINTS_REVERSED, 1)->u.points_reversed.points, 66);
    assert_int_equal(eng_balance(&s), 0);
    assert_int_equal(s.total_reversed, 99);
    /* a further return of the same purchase reverses nothing more */
    tp_event(&ev, ENG_EV_RETURN, "r3", "c", "2026-02-04T12:00:00Z");
    snprintf(ev.original_event_id, ENG_ID_MAX, "p1");
    tp_line(&ev, "x", 1, 33333, false);
    tp_apply(p, &s, &ev, &o);
    assert_int_equal(tp_count(&o, ENG_OUT_POINTS_REVERSED), 2);
    prog_destroy(p);
}

static void return_after_spending(const char *policy, int64_t *debt_added, int64_t *lot_after)
{
    char y[512];
    snprintf(y, sizeof(y), "earning: {base_percent: 10}\nreturns: {policy: %s}\n", policy);
    prog_t *p = prog_with(y);
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    tp_event(&ev, ENG_EV_PURCHASE, "p1", "c", "2026-02-01T12:00:00Z");
    tp_line(&ev, "x", 1, 100000, false);
    tp_apply(p, &s, &ev, &o);
    tp_event(&ev, ENG_EV_REDEMPTION, "r1", "c", "2026-02-01T13:00:00Z");
    ev.points = 100;
    tp_apply(p, &s, &ev, &o);
    tp_event(&ev, ENG_EV_RETURN, "ret", "c", "2026-02-02T12:00:00Z");
    snprintf(ev.original_event_id, ENG_ID_MAX, "p1");
    tp_line(&ev, "x", 1, 100000, false);
    tp_apply(p, &s, &ev, &o);
    const eng_output_t *r = tp_find(&o, ENG_OUT_POINTS_REVERSED, 0);
    assert_int_equal(r->u.points_reversed.points, 0);
    *debt_added = r->u.points_reversed.debt_added;
    tp_event(&ev, ENG_EV_PURCHASE, "p2", "c", "2026-02-03T12:00:00Z");
    tp_line(&ev, "x", 1, 200000, false);
    tp_apply(p, &s, &ev, &o);
    *lot_after = eng_balance(&s);
    /* conservation with debt: earned = outstanding + redeemed + expired + reversed */
    assert_int_equal(s.total_earned,
                     eng_balance(&s) + s.total_redeemed + s.total_expired + s.total_reversed);
    assert_int_equal(s.debt, 0);
    prog_destroy(p);
}

static void test_return_policy_debt_is_repaid_from_later_earnings(void **st)
{
    (void)st;
    int64_t debt, bal;
    return_after_spending("debt", &debt, &bal);
    assert_int_equal(debt, 100);
    assert_int_equal(bal, 100); /* 200 earned, 100 repaid */
    return_after_spending("never_below_zero", &debt, &bal);
    assert_int_equal(debt, 0);
    assert_int_equal(bal, 200);
}

static void test_repeated_event_id_changes_nothing_and_emits_nothing(void **st)
{
    (void)st;
    prog_t *p = prog_with("earning: {base_percent: 10}\nstamps: [{category: x, every: 1}]\n");
    eng_state_t s = {0}, copy;
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    tp_event(&ev, ENG_EV_PURCHASE, "p1", "c", "2026-02-01T12:00:00Z");
    tp_line(&ev, "x", 1, 100000, false);
    assert_int_equal(tp_apply(p, &s, &ev, &o), ENG_OK);
    memcpy(&copy, &s, sizeof(s));
    ob_reset(&o);
    assert_int_equal(tp_apply(p, &s, &ev, &o), ENG_DUPLICATE);
    assert_int_equal(o.b.n, 0);
    assert_memory_equal(&copy, &s, sizeof(s));
    prog_destroy(p);
}

static void test_progress_nudge_when_within_2000_of_next_tier(void **st)
{
    (void)st;
    prog_t *p = prog_with("qualification: {window: lifetime}\n"
                          "tiers: [{name: Basic, threshold: 0}, {name: Plus, threshold: 10000}]\n"
                          "nudges: {progress: true, within: 2000}\n");
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    tp_event(&ev, ENG_EV_PURCHASE, "p1", "c", "2026-02-01T12:00:00Z");
    tp_line(&ev, "x", 1, 700000, false);
    tp_apply(p, &s, &ev, &o);
    assert_int_equal(o.b.n, 0); /* 3,000 missing: too far */
    tp_event(&ev, ENG_EV_PURCHASE, "p2", "c", "2026-02-02T12:00:00Z");
    tp_line(&ev, "x", 1, 100000, false);
    tp_apply(p, &s, &ev, &o);
    const eng_output_t *n = tp_find(&o, ENG_OUT_TIER_PROGRESS, 0);
    assert_non_null(n);
    assert_int_equal(n->u.tier_progress.missing, 200000);
    assert_string_equal(n->u.tier_progress.next_tier, "Plus");
    prog_destroy(p);
}

static void test_at_period_end_demotion_to_tier_reached(void **st)
{
    (void)st;
    prog_t *p = prog_with("qualification: {window: calendar_month}\n"
                          "tiers: [{name: A, threshold: 0}, {name: B, threshold: 1000}]\n"
                          "demotion: {mode: at_period_end}\n");
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    tp_event(&ev, ENG_EV_PURCHASE, "p1", "c", "2026-03-10T12:00:00+03:00");
    tp_line(&ev, "x", 1, 150000, false);
    tp_apply(p, &s, &ev, &o);
    assert_int_equal(s.tier, 1);
    ob_reset(&o);
    tp_tick(p, &s, "2026-06-01T00:00:00+03:00", &o);
    assert_int_equal(o.b.n, 1); /* March kept B; April's total demotes on May 1 */
    assert_int_equal(o.v[0].time_ms, tp_t("2026-05-01T01:00:00+03:00")); /* + grace */
    assert_string_equal(o.v[0].u.tier_changed.reason, "period_end");
    assert_string_equal(o.v[0].u.tier_changed.to_tier, "A");
    prog_destroy(p);
}

static void test_timer_due_at_event_time_fires_before_the_event(void **st)
{
    (void)st;
    prog_t *p = prog_with(COSMETICS);
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    tp_event(&ev, ENG_EV_PURCHASE, "mar", "c", "2026-03-10T12:00:00+03:00");
    tp_line(&ev, "x", 1, 200000, false);
    tp_apply(p, &s, &ev, &o);
    /* without the caller's on_timer: apply_event catches up itself */
    char err[128];
    tp_event(&ev, ENG_EV_PURCHASE, "apr", "c", "2026-04-01T01:00:00+03:00"); /* end + grace */
    tp_line(&ev, "x", 1, 100000, false);
    assert_int_equal(eng_apply_event(p, &s, &ev, &o.b, err, sizeof(err)), ENG_OK);
    assert_int_equal(o.b.n, 2); /* the award and its 30-day warning */
    assert_int_equal(o.v[0].u.bonus_earned.points, 300);
    assert_int_equal(s.award_accum, 100000); /* the April purchase counts for April */
    prog_destroy(p);
}

/* The caller's contract with a clock: timers due by `clock` (the task's clock, past the
 * event's own time for a late event), then the event. */
static int apply_at(const prog_t *p, eng_state_t *s, const eng_event_t *ev, const char *clock,
                    ob_t *o)
{
    char err[256];
    if (s->flags & 1)
        eng_on_timer(p, s, tp_t(clock), &o->b);
    return eng_apply_event(p, s, ev, &o->b, err, sizeof(err));
}

static void buy(eng_event_t *ev, const char *id, const char *iso, int64_t amount)
{
    tp_event(ev, ENG_EV_PURCHASE, id, "anna", iso);
    tp_line(ev, "skincare", 1, amount, false);
}

static void test_late_event_within_the_grace_counts_in_its_own_period(void **st)
{
    (void)st;
    prog_t *p = prog_with(COSMETICS);
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    buy(&ev, "mar", "2026-03-20T12:00:00+03:00", 100000);
    assert_int_equal(apply_at(p, &s, &ev, "2026-03-20T12:00:00+03:00", &o), ENG_OK);
    /* April's first purchase, then a March purchase from a slow till, inside the grace */
    buy(&ev, "apr", "2026-04-01T00:30:00+03:00", 50000);
    assert_int_equal(apply_at(p, &s, &ev, "2026-04-01T00:30:00+03:00", &o), ENG_OK);
    assert_int_equal(s.next_accum, 50000);
    buy(&ev, "mar-late", "2026-03-31T23:50:00+03:00", 60000);
    assert_int_equal(apply_at(p, &s, &ev, "2026-04-01T00:40:00+03:00", &o), ENG_OK);
    assert_int_equal(s.award_accum, 160000);
    assert_int_equal(o.b.n, 0);
    tp_tick(p, &s, "2026-04-01T01:00:00+03:00", &o);
    const eng_output_t *b = tp_find(&o, ENG_OUT_BONUS_EARNED, 0);
    assert_non_null(b);
    assert_int_equal(b->u.bonus_earned.points, 240); /* 15% of 1,600: one award, no correction */
    assert_string_equal(b->u.bonus_earned.period, "2026-03");
    assert_null(tp_find(&o, ENG_OUT_BONUS_EARNED, 1));
    assert_int_equal(s.award_accum, 50000); /* April's purchase now in the open period */
    assert_int_equal(s.next_accum, 0);
    prog_destroy(p);
}

/* Anna buys for `amount` on 20 March; March closes (with its award) by 2 April. Returns
 * the award's points; `o` is reset after it. */
static int64_t march_closed(const prog_t *p, eng_state_t *s, ob_t *o, int64_t amount)
{
    eng_event_t ev;
    buy(&ev, "mar", "2026-03-20T12:00:00+03:00", amount);
    apply_at(p, s, &ev, "2026-03-20T12:00:00+03:00", o);
    tp_tick(p, s, "2026-04-02T00:00:00+03:00", o);
    const eng_output_t *b = tp_find(o, ENG_OUT_BONUS_EARNED, 0);
    int64_t pts = b ? b->u.bonus_earned.points : -1;
    ob_reset(o);
    return pts;
}

static void test_late_event_after_the_close_is_a_correction_naming_its_period(void **st)
{
    (void)st;
    prog_t *p = prog_with(COSMETICS);
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    assert_int_equal(march_closed(p, &s, &o, 100000), 100); /* 10% */
    buy(&ev, "mar-late", "2026-03-31T20:00:00+03:00", 60000);
    assert_int_equal(apply_at(p, &s, &ev, "2026-04-02T00:00:00+03:00", &o), ENG_OK);
    const eng_output_t *b = tp_find(&o, ENG_OUT_BONUS_EARNED, 0);
    assert_non_null(b);
    assert_int_equal(b->u.bonus_earned.points, 140); /* 15% of 1,600 = 240, 100 paid */
    assert_int_equal(b->u.bonus_earned.rate_bp, 1500);
    assert_int_equal(b->u.bonus_earned.correction, 1);
    assert_string_equal(b->u.bonus_earned.period, "2026-03");
    assert_string_equal(b->u.bonus_earned.source, "period");
    assert_string_equal(b->output_id, "mar-late:0");
    assert_int_equal(b->u.bonus_earned.usable_from, tp_t("2026-04-01T00:00:00+03:00"));
    assert_int_equal(b->u.bonus_earned.expires_at, tp_t("2026-05-01T00:00:00+03:00"));
    assert_int_equal(s.award_accum, 0); /* nothing went into April */
    assert_int_equal(eng_balance(&s), 240);
    prog_destroy(p);
}

static void test_return_after_the_close_lowers_the_award_by_a_period_correction(void **st)
{
    (void)st;
    prog_t *p = prog_with(COSMETICS);
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    assert_int_equal(march_closed(p, &s, &o, 160000), 240); /* 15% */
    tp_event(&ev, ENG_EV_RETURN, "ret", "anna", "2026-04-05T12:00:00+03:00");
    tp_line(&ev, "skincare", 1, 60000, false);
    snprintf(ev.original_event_id, sizeof(ev.original_event_id), "mar");
    assert_int_equal(apply_at(p, &s, &ev, "2026-04-05T12:00:00+03:00", &o), ENG_OK);
    const eng_output_t *r = tp_find(&o, ENG_OUT_POINTS_REVERSED, 0);
    assert_non_null(r);
    assert_int_equal(r->u.points_reversed.points, 140); /* 10% of 1,000 = 100 now */
    assert_string_equal(r->u.points_reversed.reason, "period_correction");
    assert_string_equal(r->u.points_reversed.period, "2026-03");
    assert_string_equal(r->u.points_reversed.original_event_id, "mar");
    assert_int_equal(eng_balance(&s), 100);
    assert_int_equal(s.total_earned, eng_balance(&s) + s.total_reversed);
    prog_destroy(p);
}

static void test_event_older_than_the_max_lateness_is_too_late_and_changes_nothing(void **st)
{
    (void)st;
    char body[512];
    snprintf(body, sizeof(body), "%slate_events: {grace_minutes: 0, max_lateness_days: 2}\n",
             COSMETICS);
    prog_t *p = prog_with(body);
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    buy(&ev, "mar", "2026-03-20T12:00:00+03:00", 100000);
    apply_at(p, &s, &ev, "2026-03-20T12:00:00+03:00", &o);
    buy(&ev, "apr", "2026-04-10T12:00:00+03:00", 100000);
    apply_at(p, &s, &ev, "2026-04-10T12:00:00+03:00", &o);
    tp_tick(p, &s, "2026-05-02T00:00:00+03:00", &o); /* April closes; March is past saving */
    assert_int_equal(s.n_closed, 1);
    assert_int_equal(s.closed[0].month, 2026 * 12 + 3);
    eng_state_t before = s;
    ob_reset(&o);
    char err[256];
    buy(&ev, "mar-late", "2026-03-30T12:00:00+03:00", 100000);
    assert_int_equal(eng_apply_event(p, &s, &ev, &o.b, err, sizeof(err)), ENG_TOO_LATE);
    assert_non_null(strstr(err, "too late"));
    assert_int_equal(o.b.n, 0);
    assert_memory_equal(&s, &before, sizeof(s));
    /* a late April event still corrects April */
    buy(&ev, "apr-late", "2026-04-30T12:00:00+03:00", 100000);
    assert_int_equal(eng_apply_event(p, &s, &ev, &o.b, err, sizeof(err)), ENG_OK);
    assert_int_equal(tp_find(&o, ENG_OUT_BONUS_EARNED, 0)->u.bonus_earned.correction, 1);
    prog_destroy(p);
}

static void test_late_event_older_than_the_last_visit_does_not_move_it_back(void **st)
{
    (void)st;
    prog_t *p = prog_with("earning: {base_percent: 5}\n");
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    buy(&ev, "new", "2026-03-20T12:00:00+03:00", 100000);
    apply_at(p, &s, &ev, "2026-03-20T12:00:00+03:00", &o);
    buy(&ev, "old", "2026-03-10T12:00:00+03:00", 100000);
    apply_at(p, &s, &ev, "2026-03-20T12:00:00+03:00", &o);
    assert_int_equal(s.last_visit, tp_t("2026-03-20T12:00:00+03:00"));
    prog_destroy(p);
}

static void test_invalid_event_is_refused_without_changing_state(void **st)
{
    (void)st;
    prog_t *p = prog_with("earning: {base_percent: 10}\n");
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    char err[256];
    tp_event(&ev, ENG_EV_PURCHASE, "p1", "c", "2026-02-01T12:00:00Z");
    snprintf(ev.currency, sizeof(ev.currency), "USD");
    tp_line(&ev, "x", 1, 100000, false);
    assert_int_equal(eng_apply_event(p, &s, &ev, &o.b, err, sizeof(err)), ENG_EINVAL);
    assert_non_null(strstr(err, "currency USD"));
    assert_int_equal(s.flags, 0);
    tp_event(&ev, ENG_EV_PURCHASE, "p2", "c", "2026-02-01T12:00:00Z");
    tp_line(&ev, "x", 0, 100000, false);
    assert_int_equal(eng_apply_event(p, &s, &ev, &o.b, err, sizeof(err)), ENG_EINVAL);
    prog_destroy(p);
}

static void test_previous_calendar_month_moves_tier_only_at_month_end(void **st)
{
    (void)st;
    prog_t *p = prog_with("qualification: {window: previous_calendar_month}\n"
                          "tiers: [{name: A, threshold: 0}, {name: B, threshold: 1000}]\n"
                          "demotion: {mode: at_period_end}\n"
                          "late_events: {grace_minutes: 0}\n");
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    tp_event(&ev, ENG_EV_PURCHASE, "p1", "c", "2026-03-10T12:00:00+03:00");
    tp_line(&ev, "x", 1, 200000, false);
    tp_apply(p, &s, &ev, &o);
    assert_int_equal(s.tier, 0); /* not during the month */
    tp_tick(p, &s, "2026-04-01T00:00:00+03:00", &o);
    assert_int_equal(s.tier, 1);
    assert_string_equal(o.v[0].u.tier_changed.reason, "period_end");
    assert_int_equal(o.v[0].time_ms, tp_t("2026-04-01T00:00:00+03:00"));
    tp_tick(p, &s, "2026-05-01T00:00:00+03:00", &o); /* nothing bought in April */
    assert_int_equal(s.tier, 0);
    assert_int_equal(tp_count(&o, ENG_OUT_TIER_CHANGED), 2);
    prog_destroy(p);
}

static void test_rolling_window_forgets_spend_older_than_n_days(void **st)
{
    (void)st;
    prog_t *p = prog_with("qualification: {window: rolling_days, days: 30}\n"
                          "tiers: [{name: A, threshold: 0}, {name: B, threshold: 1000}]\n");
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    tp_event(&ev, ENG_EV_PURCHASE, "p1", "c", "2026-01-01T12:00:00+03:00");
    tp_line(&ev, "x", 1, 60000, false);
    tp_apply(p, &s, &ev, &o);
    tp_event(&ev, ENG_EV_PURCHASE, "p2", "c", "2026-01-31T12:00:00+03:00"); /* day 31 */
    tp_line(&ev, "x", 1, 60000, false);
    tp_apply(p, &s, &ev, &o);
    assert_int_equal(s.tier, 0); /* January 1 is outside the 30 days ending January 31 */
    tp_event(&ev, ENG_EV_PURCHASE, "p3", "c", "2026-02-01T12:00:00+03:00");
    tp_line(&ev, "x", 1, 40000, false);
    tp_apply(p, &s, &ev, &o);
    assert_int_equal(s.tier, 1);
    assert_int_equal(tp_find(&o, ENG_OUT_TIER_CHANGED, 0)->u.tier_changed.qualifying_value, 100000);
    prog_destroy(p);
}

static void test_tier_threshold_must_be_exceeded_when_upper_inclusive(void **st)
{
    (void)st;
    prog_t *p = tp_prog("currency: USD\ntimezone: America/New_York\n"
                        "qualification: {metric: quantity, window: calendar_year, bands: "
                        "upper_inclusive}\n"
                        "tiers: [{name: Silver, threshold: 0}, {name: Chairman, threshold: "
                        "100000}]\n");
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    tp_event(&ev, ENG_EV_PURCHASE, "f1", "c", "2026-05-01T12:00:00-04:00");
    tp_line(&ev, "miles", 100000, 100, false);
    tp_apply(p, &s, &ev, &o);
    assert_int_equal(s.tier, 0); /* exactly 100,000 miles: not "over" */
    tp_event(&ev, ENG_EV_PURCHASE, "f2", "c", "2026-05-02T12:00:00-04:00");
    tp_line(&ev, "miles", 1, 1, false);
    tp_apply(p, &s, &ev, &o);
    assert_int_equal(s.tier, 1);
    prog_destroy(p);
}

static void test_yearly_award_at_new_york_new_year_across_dst(void **st)
{
    (void)st;
    prog_t *p = tp_prog("currency: USD\ntimezone: America/New_York\n"
                        "period_award: {period: calendar_year, rates: [{from: 0, percent: "
                        "2}]}\n"
                        "expiry: {mode: end_of_next_month}\n");
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    tp_event(&ev, ENG_EV_PURCHASE, "summer", "c", "2026-07-04T12:00:00-04:00"); /* EDT */
    tp_line(&ev, "x", 1, 100000, false);
    tp_apply(p, &s, &ev, &o);
    tp_event(&ev, ENG_EV_PURCHASE, "eve", "c", "2026-12-31T23:59:59-05:00"); /* EST */
    tp_line(&ev, "x", 1, 100000, false);
    tp_apply(p, &s, &ev, &o);
    assert_int_equal(o.b.next_due, tp_t("2027-01-01T01:00:00-05:00")); /* + grace */
    tp_tick(p, &s, "2027-01-01T06:00:00Z", &o);
    const eng_output_t *b = tp_find(&o, ENG_OUT_BONUS_EARNED, 0);
    assert_non_null(b);
    assert_int_equal(b->u.bonus_earned.points, 40); /* 2% of 2,000 USD */
    assert_int_equal(b->time_ms, tp_t("2027-01-01T06:00:00Z"));
    /* the award year ended in December: it expires at the end of January */
    assert_int_equal(b->u.bonus_earned.expires_at, tp_t("2027-02-01T00:00:00-05:00"));
    prog_destroy(p);
}

static void test_more_lots_than_the_array_merge_without_losing_points(void **st)
{
    (void)st;
    prog_t *p = prog_with("earning: {base_percent: 10}\nexpiry: {mode: after_days, days: "
                          "400}\n");
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    for (int i = 0; i < 40; i++) {
        char id[8];
        snprintf(id, sizeof(id), "p%d", i);
        ob_reset(&o);
        tp_event(&ev, ENG_EV_PURCHASE, id, "c", "2026-01-01T12:00:00Z");
        ev.time_ms += i * ENG_DAY_MS;
        tp_line(&ev, "x", 1, 100000, false);
        tp_apply(p, &s, &ev, &o);
    }
    assert_int_equal(s.n_lots, ENG_LOTS_MAX);
    assert_int_equal(eng_balance(&s), 4000);
    for (uint32_t i = 1; i < s.n_lots; i++) /* still spent earliest expiry first */
        assert_true(s.lots[i - 1].expires_at <= s.lots[i].expires_at);
    prog_destroy(p);
}

/* ------------------------------------------------------------------ per-customer bounds */

/* One purchase of 1,000.00 RUB (100 points at 10 %) per day from 2026-01-01, id "p<i>". */
static void bounds_purchase(const prog_t *p, eng_state_t *s, int i, ob_t *o)
{
    char id[16];
    snprintf(id, sizeof(id), "p%d", i);
    eng_event_t ev;
    ob_reset(o);
    tp_event(&ev, ENG_EV_PURCHASE, id, "c", "2026-01-01T12:00:00Z");
    ev.time_ms += i * ENG_DAY_MS;
    tp_line(&ev, "x", 1, 100000, false);
    assert_int_equal(tp_apply(p, s, &ev, o), ENG_OK);
}

static void bounds_return(const prog_t *p, eng_state_t *s, const char *id, const char *of,
                          const char *when, ob_t *o)
{
    eng_event_t ev;
    ob_reset(o);
    tp_event(&ev, ENG_EV_RETURN, id, "c", when);
    snprintf(ev.original_event_id, ENG_ID_MAX, "%s", of);
    tp_line(&ev, "x", 1, 100000, false);
    assert_int_equal(tp_apply(p, s, &ev, o), ENG_OK);
}

/* The purchase ring keeps the last ENG_PURCHASES_MAX purchases: the 17th forgets the
 * first (flagged), and a return of the forgotten one takes nothing back but says so with
 * a 0-point PointsReversed, reason purchase_not_found (flagged); a return of a purchase
 * still in the ring reverses its points as before. */
static void test_return_beyond_the_purchase_ring_emits_zero_point_reversal_and_flags(void **st)
{
    (void)st;
    prog_t *p = prog_with("earning: {base_percent: 10}\n");
    eng_state_t s = {0};
    ob_t o;
    for (int i = 0; i < ENG_PURCHASES_MAX; i++) {
        bounds_purchase(p, &s, i, &o);
        assert_false(o.b.bounds & ENG_BOUND_BIT(ENG_BOUND_PURCHASES));
    }
    bounds_purchase(p, &s, ENG_PURCHASES_MAX, &o); /* the 17th */
    assert_int_equal(o.b.bounds, ENG_BOUND_BIT(ENG_BOUND_PURCHASES));
    assert_int_equal(s.n_purchases, ENG_PURCHASES_MAX);
    int64_t balance = eng_balance(&s), reversed = s.total_reversed;
    assert_int_equal(balance, 100 * (ENG_PURCHASES_MAX + 1));

    bounds_return(p, &s, "r0", "p0", "2026-02-01T12:00:00Z", &o);
    assert_int_equal(o.b.n, 1);
    const eng_output_t *r = tp_find(&o, ENG_OUT_POINTS_REVERSED, 0);
    assert_non_null(r);
    assert_int_equal(r->u.points_reversed.points, 0);
    assert_int_equal(r->u.points_reversed.debt_added, 0);
    assert_string_equal(r->u.points_reversed.original_event_id, "p0");
    assert_string_equal(r->u.points_reversed.reason, "purchase_not_found");
    assert_string_equal(r->output_id, "r0:0");
    assert_true(o.b.bounds & ENG_BOUND_BIT(ENG_BOUND_RETURN_NOT_FOUND));
    assert_int_equal(eng_balance(&s), balance);
    assert_int_equal(s.total_reversed, reversed);

    bounds_return(p, &s, "r1", "p1", "2026-02-01T13:00:00Z", &o); /* still in the ring */
    r = tp_find(&o, ENG_OUT_POINTS_REVERSED, 0);
    assert_non_null(r);
    assert_int_equal(r->u.points_reversed.points, 100);
    assert_string_equal(r->u.points_reversed.reason, "return");
    assert_false(o.b.bounds & ENG_BOUND_BIT(ENG_BOUND_RETURN_NOT_FOUND));
    assert_int_equal(eng_balance(&s), balance - 100);
    prog_destroy(p);
}

/* A return of a purchase the customer never made is the same case: said, not silent. */
static void test_return_of_an_unknown_purchase_is_said_with_zero_points(void **st)
{
    (void)st;
    prog_t *p = prog_with("earning: {base_percent: 10}\nreturns: {policy: debt}\n");
    eng_state_t s = {0};
    ob_t o;
    bounds_return(p, &s, "r9", "never", "2026-02-01T12:00:00Z", &o);
    const eng_output_t *r = tp_find(&o, ENG_OUT_POINTS_REVERSED, 0);
    assert_non_null(r);
    assert_int_equal(r->u.points_reversed.points, 0);
    assert_int_equal(r->u.points_reversed.debt_added, 0); /* no debt for what was never paid */
    assert_string_equal(r->u.points_reversed.reason, "purchase_not_found");
    assert_int_equal(o.b.bounds, ENG_BOUND_BIT(ENG_BOUND_RETURN_NOT_FOUND));
    assert_int_equal(s.debt, 0);
    prog_destroy(p);
}

/* Sixteen lots of distinct expiry fill the array; the 17th merges into the lot of nearest
 * expiry (the later expiry of the two stays), no point is lost, and the call flags it. */
static void test_seventeenth_lot_merges_into_nearest_expiry_and_flags(void **st)
{
    (void)st;
    prog_t *p = prog_with("earning: {base_percent: 10}\nexpiry: {mode: after_days, days: "
                          "400}\n");
    eng_state_t s = {0};
    ob_t o;
    for (int i = 0; i < ENG_LOTS_MAX; i++) {
        bounds_purchase(p, &s, i, &o);
        assert_false(o.b.bounds & ENG_BOUND_BIT(ENG_BOUND_LOTS));
    }
    assert_int_equal(s.n_lots, ENG_LOTS_MAX);
    int64_t last_exp = s.lots[ENG_LOTS_MAX - 1].expires_at;
    bounds_purchase(p, &s, ENG_LOTS_MAX, &o); /* the 17th lot */
    assert_true(o.b.bounds & ENG_BOUND_BIT(ENG_BOUND_LOTS));
    assert_int_equal(s.n_lots, ENG_LOTS_MAX);
    assert_int_equal(eng_balance(&s), 100 * (ENG_LOTS_MAX + 1));
    /* merged with the youngest lot (nearest expiry): 200 points at the new, later expiry */
    const eng_lot_t *m = &s.lots[ENG_LOTS_MAX - 1];
    assert_int_equal(m->remaining, 200);
    assert_int_equal(m->expires_at, last_exp + ENG_DAY_MS);
    assert_int_equal(s.lots[ENG_LOTS_MAX - 2].expires_at, last_exp - ENG_DAY_MS);
    /* the BonusEarned of the 17th still says the 100 points it credited */
    assert_int_equal(tp_find(&o, ENG_OUT_BONUS_EARNED, 0)->u.bonus_earned.points, 100);
    prog_destroy(p);
}

/* The event-id memory keeps the last ENG_SEEN_MAX ids: the 65th event forgets the first
 * (flagged), and a repeat of that first id is then applied again (the documented limit). */
static void test_event_id_memory_forgets_the_oldest_after_64_and_flags(void **st)
{
    (void)st;
    prog_t *p = prog_with("earning: {base_percent: 10}\n");
    eng_state_t s = {0};
    ob_t o;
    for (int i = 0; i < ENG_SEEN_MAX; i++) {
        bounds_purchase(p, &s, i, &o);
        assert_false(o.b.bounds & ENG_BOUND_BIT(ENG_BOUND_EVENT_IDS));
    }
    bounds_purchase(p, &s, ENG_SEEN_MAX, &o);
    assert_true(o.b.bounds & ENG_BOUND_BIT(ENG_BOUND_EVENT_IDS));
    /* p1 is still remembered: a duplicate, no flag */
    eng_event_t ev;
    ob_reset(&o);
    tp_event(&ev, ENG_EV_PURCHASE, "p1", "c", "2026-01-02T12:00:00Z");
    tp_line(&ev, "x", 1, 100000, false);
    assert_int_equal(tp_apply(p, &s, &ev, &o), ENG_DUPLICATE);
    assert_int_equal(o.b.bounds, 0);
    /* p0 was forgotten: applied again */
    ob_reset(&o);
    tp_event(&ev, ENG_EV_PURCHASE, "p0", "c", "2026-01-01T12:00:00Z");
    tp_line(&ev, "x", 1, 100000, false);
    assert_int_equal(tp_apply(p, &s, &ev, &o), ENG_OK);
    prog_destroy(p);
}

/* More qualifying days than ENG_QBUCKETS_MAX inside a rolling window: the two oldest
 * buckets merge (flagged), and the window's total keeps every purchase. */
static void test_qualifying_buckets_merge_when_full_and_flag(void **st)
{
    (void)st;
    prog_t *p = prog_with("qualification: {window: rolling_days, days: 365}\n"
                          "tiers: [{name: A, threshold: 0}, {name: B, threshold: 1000000}]\n");
    eng_state_t s = {0};
    ob_t o;
    for (int i = 0; i < ENG_QBUCKETS_MAX; i++) {
        bounds_purchase(p, &s, i, &o);
        assert_false(o.b.bounds & ENG_BOUND_BIT(ENG_BOUND_QBUCKETS));
    }
    bounds_purchase(p, &s, ENG_QBUCKETS_MAX, &o);
    assert_true(o.b.bounds & ENG_BOUND_BIT(ENG_BOUND_QBUCKETS));
    assert_int_equal(s.n_qbuckets, ENG_QBUCKETS_MAX);
    int64_t total = 0;
    for (uint32_t i = 0; i < s.n_qbuckets; i++)
        total += s.qbuckets[i].value;
    assert_int_equal(total, 100000 * (ENG_QBUCKETS_MAX + 1));
    assert_string_equal(eng_bound_name(ENG_BOUND_QBUCKETS), "qualifying_buckets");
    prog_destroy(p);
}

static void test_small_output_buffer_stops_early_and_resumes(void **st)
{
    (void)st;
    char y[1024];
    snprintf(y, sizeof(y), "%sdemotion: {mode: inactivity}\n", LADDER);
    prog_t *p = prog_with(y);
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    tp_event(&ev, ENG_EV_PURCHASE, "p1", "c", "2026-01-15T12:00:00+03:00");
    tp_line(&ev, "x", 1, 30000, false);
    tp_apply(p, &s, &ev, &o);
    o.b.n = o.b.cap - 40; /* room for one timer step only */
    int64_t now = tp_t("2026-07-01T00:00:00+03:00");
    assert_int_equal(eng_on_timer(p, &s, now, &o.b), 1);
    assert_true(o.b.next_due <= now); /* more is due: drain and call again */
    o.b.n = 0;
    assert_int_equal(eng_on_timer(p, &s, now, &o.b), 2);
    assert_int_equal(o.b.next_due, ENG_TIME_NEVER);
    assert_int_equal(s.tier, 0);
    prog_destroy(p);
}

static void test_period_end_downgrade_warned_7_days_before_and_cancelled_by_buying(void **st)
{
    (void)st;
    prog_t *p = prog_with("qualification: {window: calendar_month}\n"
                          "tiers: [{name: A, threshold: 0}, {name: B, threshold: 1000}]\n"
                          "demotion: {mode: at_period_end, warning_days: [7]}\n"
                          "late_events: {grace_minutes: 0}\n");
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    tp_event(&ev, ENG_EV_PURCHASE, "p1", "c", "2026-03-10T12:00:00+03:00");
    tp_line(&ev, "x", 1, 150000, false);
    tp_apply(p, &s, &ev, &o);
    ob_reset(&o);
    tp_tick(p, &s, "2026-04-25T00:00:00+03:00", &o);
    assert_int_equal(o.b.n, 1);
    const eng_output_t *w = &o.v[0];
    assert_int_equal(w->kind, ENG_OUT_TIER_WILL_DOWNGRADE);
    assert_int_equal(w->time_ms, tp_t("2026-04-24T00:00:00+03:00"));
    assert_int_equal(w->u.tier_will_downgrade.effective_at, tp_t("2026-05-01T00:00:00+03:00"));
    assert_string_equal(w->u.tier_will_downgrade.to_tier, "A");
    /* the customer buys enough in April: no demotion on May 1, no second warning */
    tp_event(&ev, ENG_EV_PURCHASE, "p2", "c", "2026-04-28T12:00:00+03:00");
    tp_line(&ev, "x", 1, 100000, false);
    tp_apply(p, &s, &ev, &o);
    tp_tick(p, &s, "2026-05-20T00:00:00+03:00", &o);
    assert_int_equal(tp_count(&o, ENG_OUT_TIER_CHANGED), 0);
    assert_int_equal(tp_count(&o, ENG_OUT_TIER_WILL_DOWNGRADE), 1);
    assert_int_equal(s.tier, 1);
    /* May has no purchase: warned on May 25, demoted on June 1 */
    tp_tick(p, &s, "2026-06-01T00:00:00+03:00", &o);
    assert_int_equal(tp_count(&o, ENG_OUT_TIER_WILL_DOWNGRADE), 2);
    assert_int_equal(tp_count(&o, ENG_OUT_TIER_CHANGED), 1);
    assert_int_equal(s.tier, 0);
    prog_destroy(p);
}

static void test_stamps_count_only_the_exact_category_name(void **st)
{
    (void)st;
    /* names compared eight bytes at a time first: a shared first eight bytes, a prefix and
     * a longer name must all be told apart from the card's category */
    prog_t *p = prog_with("stamps: [{category: coffee_beans_arabica, every: 2}]\n");
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    tp_event(&ev, ENG_EV_PURCHASE, "p1", "c", "2026-02-01T12:00:00Z");
    tp_line(&ev, "coffee_beans_arabicx", 1, 1000, false);
    tp_line(&ev, "coffee_b", 1, 1000, false);
    tp_line(&ev, "coffee_beans_arabica_x", 1, 1000, false);
    tp_line(&ev, "coffee_beans_arabica", 1, 1000, false);
    tp_apply(p, &s, &ev, &o);
    assert_int_equal(s.stamps[0], 1);
    assert_int_equal(tp_count(&o, ENG_OUT_REWARD_EARNED), 0);
    tp_event(&ev, ENG_EV_PURCHASE, "p2", "c", "2026-02-02T12:00:00Z");
    tp_line(&ev, "coffee_beans_arabica", 1, 1000, false);
    tp_apply(p, &s, &ev, &o);
    assert_int_equal(s.stamps[0], 0);
    assert_int_equal(tp_count(&o, ENG_OUT_REWARD_EARNED), 1);
    prog_destroy(p);
}

static void test_event_of_a_customer_whose_id_shares_the_first_bytes_is_refused(void **st)
{
    (void)st;
    prog_t *p = prog_with("earning: {base_percent: 5}\n");
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    tp_event(&ev, ENG_EV_PURCHASE, "p1", "customer-000000001", "2026-02-01T12:00:00Z");
    tp_line(&ev, "x", 1, 1000, false);
    tp_apply(p, &s, &ev, &o);
    const char *others[] = {"customer-000000002", "customer-00000000", "customer-0000000011",
                            "customeR-000000001"};
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        eng_state_t before = s;
        char err[256];
        tp_event(&ev, ENG_EV_PURCHASE, "p2", others[i], "2026-02-02T12:00:00Z");
        tp_line(&ev, "x", 1, 1000, false);
        assert_int_equal(eng_apply_event(p, &s, &ev, &o.b, err, sizeof(err)), ENG_EINVAL);
        assert_non_null(strstr(err, "does not own"));
        assert_memory_equal(&before, &s, sizeof(s));
    }
    prog_destroy(p);
}

static void test_timer_output_id_stops_at_95_bytes_for_a_63_byte_customer(void **st)
{
    (void)st;
    /* "<customer>:downgrade_warning:<due ms>" is exactly 95 bytes for a 63-byte customer id:
     * the ordinal no longer fits and is cut, never written past the field */
    prog_t *p = prog_with("qualification: {window: calendar_month}\n"
                          "tiers: [{name: A, threshold: 0}, {name: B, threshold: 1000}]\n"
                          "demotion: {mode: at_period_end, warning_days: [7]}\n"
                          "late_events: {grace_minutes: 0}\n");
    char cust[ENG_ID_MAX];
    memset(cust, 'k', sizeof(cust) - 1);
    cust[sizeof(cust) - 1] = '\0';
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    tp_event(&ev, ENG_EV_PURCHASE, "p1", cust, "2026-03-10T12:00:00+03:00");
    tp_line(&ev, "x", 1, 150000, false);
    tp_apply(p, &s, &ev, &o);
    ob_reset(&o);
    tp_tick(p, &s, "2026-04-25T00:00:00+03:00", &o);
    assert_int_equal(o.b.n, 1);
    char want[160];
    snprintf(want, sizeof(want), "%s:downgrade_warning:%lld", cust,
             (long long)tp_t("2026-04-24T00:00:00+03:00"));
    assert_int_equal(strlen(want), ENG_OUT_ID_MAX - 1);
    assert_string_equal(o.v[0].output_id, want);
    assert_string_equal(o.v[0].customer_id, cust);
    assert_string_equal(o.v[0].currency, "RUB");
    prog_destroy(p);
}

static void test_prefetch_is_only_a_hint(void **st)
{
    (void)st;
    prog_t *p = prog_with(COSMETICS);
    eng_state_t a = {0}, b;
    eng_event_t ev;
    ob_t oa, ob;
    ob_reset(&oa);
    tp_event(&ev, ENG_EV_PURCHASE, "p1", "c1", "2026-03-05T13:00:00+03:00");
    tp_line(&ev, "x", 1, 500000, false);
    tp_apply(p, &a, &ev, &oa);
    b = a;
    /* it reads and writes nothing: not a zeroed state, not one in use, not NULL */
    eng_state_t zero = {0};
    eng_prefetch(&zero);
    assert_true(zero.flags == 0 && zero.customer_id[0] == '\0');
    eng_prefetch(NULL);
    eng_prefetch(&b);
    assert_memory_equal(&a, &b, sizeof(a));
    /* and the next call gives the same state and outputs with or without it */
    ob_reset(&oa);
    ob_reset(&ob);
    tp_event(&ev, ENG_EV_PURCHASE, "p2", "c1", "2026-04-02T10:00:00+03:00");
    tp_line(&ev, "x", 1, 100000, false);
    tp_apply(p, &a, &ev, &oa);
    eng_prefetch(&b);
    tp_apply(p, &b, &ev, &ob);
    assert_memory_equal(&a, &b, sizeof(a));
    assert_int_equal(oa.b.n, ob.b.n);
    assert_true(oa.b.n >= 2); /* the March award at April 1, then the purchase's bonus */
    assert_memory_equal(oa.v, ob.v, oa.b.n * sizeof(oa.v[0]));
    assert_int_equal(oa.b.next_due, ob.b.next_due);
    prog_destroy(p);
}

static void test_listed_partner_rate_wins_over_check_band(void **st)
{
    (void)st;
    prog_t *p = prog_with("earning: {partners: {airline: 14}, check_bands: [{from: 0, percent: "
                          "1}, {from: 5000, percent: 3}]}\n");
    const char *partner[] = {"airline", "shop", "shop"};
    const int64_t amount[] = {100000, 100000, 500000}, expect[] = {140, 10, 150};
    for (int i = 0; i < 3; i++) {
        eng_state_t s = {0};
        eng_event_t ev;
        ob_t o;
        ob_reset(&o);
        tp_event(&ev, ENG_EV_PURCHASE, "p", "c", "2026-02-01T12:00:00Z");
        snprintf(ev.partner, sizeof(ev.partner), "%s", partner[i]);
        tp_line(&ev, "x", 1, amount[i], false);
        tp_apply(p, &s, &ev, &o);
        assert_int_equal(tp_find(&o, ENG_OUT_BONUS_EARNED, 0)->u.bonus_earned.points, expect[i]);
    }
    prog_destroy(p);
}

/* Bad events are refused with a reason that names the basket line as the event does
 * (lines[0]) and the unit of amounts; a purchase with no lines is refused. */
static void test_bad_events_are_refused_with_a_reason(void **st)
{
    (void)st;
    prog_t *p = prog_with("earning: {base_percent: 2}\n");
    eng_event_t ev;
    char err[256];
    tp_event(&ev, ENG_EV_PURCHASE, "p0", "c", "2026-02-01T12:00:00Z");
    assert_int_equal(eng_event_check(p, &ev, err, sizeof(err)), -1);
    assert_string_equal(err, "event p0: a purchase needs at least one line in 'lines'");
    tp_line(&ev, "food", 1, -500, false);
    assert_int_equal(eng_event_check(p, &ev, err, sizeof(err)), -1);
    assert_string_equal(err, "event p0: lines[0].amount -500 (minor units) is negative");
    ev.lines[0].amount = 500;
    ev.lines[0].quantity = 0;
    assert_int_equal(eng_event_check(p, &ev, err, sizeof(err)), -1);
    assert_string_equal(err, "event p0: lines[0].quantity 0 is below 1");
    prog_destroy(p);
}

/* Points worth more than the eligible part of a mixed basket, with no max share set: the
 * reason is the eligible amount, not a share nobody configured. */
static void test_mixed_basket_rejection_without_max_share_names_the_eligible_amount(void **st)
{
    (void)st;
    prog_t *p = prog_with("earning: {base_percent: 10}\n"
                          "redeeming: {exclude: {categories: [tobacco]}}\n");
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    tp_event(&ev, ENG_EV_PURCHASE, "p1", "c", "2026-02-01T12:00:00Z");
    tp_line(&ev, "food", 1, 100000, false); /* 1,000 RUB at 10%: 100 points */
    tp_apply(p, &s, &ev, &o);
    tp_event(&ev, ENG_EV_REDEMPTION, "r1", "c", "2026-02-02T12:00:00Z");
    ev.points = 60; /* 60 RUB against 50 RUB of food and 100 RUB of tobacco */
    tp_line(&ev, "food", 1, 5000, false);
    tp_line(&ev, "tobacco", 1, 10000, false);
    tp_apply(p, &s, &ev, &o);
    assert_string_equal(tp_find(&o, ENG_OUT_REDEMPTION_REJECTED, 0)->u.redemption_rejected.reason,
                        "over_eligible_amount");
    prog_destroy(p);
}

/* ------------------------------------------------------------------ issue 21: the newer keys */

/* one purchase of `qty` units of `cat` for `amount` at `iso` */
static void buy_one(const prog_t *p, eng_state_t *s, ob_t *o, const char *id, const char *iso,
                    const char *cat, int32_t qty, int64_t amount)
{
    eng_event_t ev;
    tp_event(&ev, ENG_EV_PURCHASE, id, "c", iso);
    tp_line(&ev, cat, qty, amount, false);
    tp_apply(p, s, &ev, o);
}

static void test_visits_count_a_local_day_once_rolling_and_calendar(void **st)
{
    (void)st;
    const char *win[] = {"{metric: visits, window: rolling_days, days: 30}",
                         "{metric: visits, window: calendar_month}"};
    for (int w = 0; w < 2; w++) {
        char y[512];
        snprintf(y, sizeof(y),
                 "qualification: %s\ntiers: [{name: a, threshold: 0}, {name: b, threshold: 3}]\n",
                 win[w]);
        prog_t *p = prog_with(y);
        eng_state_t s = {0};
        ob_t o;
        ob_reset(&o);
        /* three purchases on 2 March (Moscow), one just before its midnight: one visit */
        buy_one(p, &s, &o, "a1", "2026-03-02T09:00:00+03:00", "x", 1, 100);
        buy_one(p, &s, &o, "a2", "2026-03-02T13:00:00+03:00", "x", 1, 100);
        buy_one(p, &s, &o, "a3", "2026-03-02T23:59:00+03:00", "x", 1, 100);
        buy_one(p, &s, &o, "a4", "2026-03-03T00:01:00+03:00", "x", 1, 100); /* the next day */
        assert_int_equal(s.tier, 0);
        assert_int_equal(tp_count(&o, ENG_OUT_TIER_CHANGED), 0);
        buy_one(p, &s, &o, "a5", "2026-03-05T10:00:00+03:00", "x", 1, 100);
        const eng_output_t *t = tp_find(&o, ENG_OUT_TIER_CHANGED, 0);
        assert_non_null(t);
        assert_string_equal(t->cause_id, "a5");
        assert_int_equal(t->u.tier_changed.qualifying_value, 3);
        prog_destroy(p);
    }
}

static void test_attributes_are_remembered_and_replaced_by_newer_values(void **st)
{
    (void)st;
    prog_t *p = prog_with("earning: {base_percent: 10}\nstatus_multipliers: {vip: 2}\n"
                          "birthday: {extra_percent: 5}\n");
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    tp_event(&ev, ENG_EV_PURCHASE, "p1", "c", "2026-01-10T12:00:00+03:00");
    ev.attrs.has_birth_date = true;
    ev.attrs.birth_month = 4;
    ev.attrs.birth_day = 12;
    snprintf(ev.attrs.account_status, ENG_NAME_MAX, "vip");
    tp_line(&ev, "x", 1, 100000, false);
    tp_apply(p, &s, &ev, &o);
    assert_int_equal(tp_find(&o, ENG_OUT_BONUS_EARNED, 0)->u.bonus_earned.points, 200);
    /* no attributes on the birthday: the remembered ones apply (status x2, birthday +5%) */
    ob_reset(&o);
    buy_one(p, &s, &o, "p2", "2026-04-12T12:00:00+03:00", "x", 1, 100000);
    assert_int_equal(tp_count(&o, ENG_OUT_BONUS_EARNED), 2);
    assert_int_equal(tp_find(&o, ENG_OUT_BONUS_EARNED, 0)->u.bonus_earned.points, 200);
    assert_string_equal(tp_find(&o, ENG_OUT_BONUS_EARNED, 1)->u.bonus_earned.source, "birthday");
    /* a newer status replaces the remembered one; an event without one leaves it */
    ob_reset(&o);
    tp_event(&ev, ENG_EV_PURCHASE, "p3", "c", "2026-05-01T12:00:00+03:00");
    snprintf(ev.attrs.account_status, ENG_NAME_MAX, "basic");
    tp_line(&ev, "x", 1, 100000, false);
    tp_apply(p, &s, &ev, &o);
    buy_one(p, &s, &o, "p4", "2026-05-02T12:00:00+03:00", "x", 1, 100000);
    assert_int_equal(tp_find(&o, ENG_OUT_BONUS_EARNED, 0)->u.bonus_earned.points, 100);
    assert_int_equal(tp_find(&o, ENG_OUT_BONUS_EARNED, 1)->u.bonus_earned.points, 100);
    assert_string_equal(s.account_status, "basic");
    assert_int_equal(s.birth_month, 4);
    assert_true(s.joined_at == tp_t("2026-01-10T12:00:00+03:00")); /* the first event */
    prog_destroy(p);
}

static void test_welcome_period_in_days_and_in_months_then_the_base_rate(void **st)
{
    (void)st;
    const char *cfg[] = {"welcome: {days: 30, earn_percent: 5}\n",
                         "welcome: {months: 1, earn_percent: 5}\n"};
    /* joined 31 January 18:00 Moscow: 30 days end on 2 March 18:00; one month on 28 February
     * 18:00 (the day clamped) */
    const char *last_in[] = {"2026-03-02T17:59:00+03:00", "2026-02-28T17:59:00+03:00"};
    const char *first_out[] = {"2026-03-02T18:00:00+03:00", "2026-02-28T18:00:00+03:00"};
    for (int k = 0; k < 2; k++) {
        char y[256];
        snprintf(y, sizeof(y), "earning: {base_percent: 1}\n%s", cfg[k]);
        prog_t *p = prog_with(y);
        eng_state_t s = {0};
        ob_t o;
        ob_reset(&o);
        buy_one(p, &s, &o, "j", "2026-01-31T18:00:00+03:00", "x", 1, 100000);
        buy_one(p, &s, &o, "in", last_in[k], "x", 1, 100000);
        buy_one(p, &s, &o, "out", first_out[k], "x", 1, 100000);
        assert_int_equal(tp_find(&o, ENG_OUT_BONUS_EARNED, 0)->u.bonus_earned.points, 50);
        assert_int_equal(tp_find(&o, ENG_OUT_BONUS_EARNED, 1)->u.bonus_earned.points, 50);
        assert_int_equal(tp_find(&o, ENG_OUT_BONUS_EARNED, 2)->u.bonus_earned.points, 10);
        prog_destroy(p);
    }
}

static void test_tenure_in_months_from_the_remembered_join_date(void **st)
{
    (void)st;
    prog_t *p = prog_with("earning: {base_percent: 10}\n"
                          "tenure: [{months: 3, multiplier: 1.5}, {years: 1, multiplier: 2}]\n");
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    tp_event(&ev, ENG_EV_PURCHASE, "p1", "c", "2026-05-14T12:00:00+03:00");
    ev.attrs.has_member_since = true;
    ev.attrs.member_since = tp_t("2026-02-15T10:00:00+03:00");
    tp_line(&ev, "x", 1, 100000, false);
    tp_apply(p, &s, &ev, &o);                                              /* 2 full months */
    buy_one(p, &s, &o, "p2", "2026-05-15T12:00:00+03:00", "x", 1, 100000); /* 3 months */
    buy_one(p, &s, &o, "p3", "2027-02-15T12:00:00+03:00", "x", 1, 100000); /* 12 months */
    assert_int_equal(tp_find(&o, ENG_OUT_BONUS_EARNED, 0)->u.bonus_earned.points, 100);
    assert_int_equal(tp_find(&o, ENG_OUT_BONUS_EARNED, 1)->u.bonus_earned.points, 150);
    assert_int_equal(tp_find(&o, ENG_OUT_BONUS_EARNED, 2)->u.bonus_earned.points, 200);
    prog_destroy(p);
}

static void test_expiry_after_six_calendar_months_same_local_time_day_clamped(void **st)
{
    (void)st;
    prog_t *p = prog_with("earning: {base_percent: 10}\n"
                          "expiry: {mode: after_months, months: 6}\n");
    eng_state_t s = {0};
    ob_t o;
    ob_reset(&o);
    buy_one(p, &s, &o, "a", "2026-08-31T19:30:00+03:00", "x", 1, 100000);
    assert_true(tp_find(&o, ENG_OUT_BONUS_EARNED, 0)->u.bonus_earned.expires_at ==
                tp_t("2027-02-28T19:30:00+03:00"));
    /* across a DST change in Berlin: the same local wall time */
    prog_t *b = tp_prog("currency: EUR\ntimezone: Europe/Berlin\nearning: {base_percent: 10}\n"
                        "expiry: {mode: after_months, months: 6}\n");
    eng_state_t s2 = {0};
    ob_reset(&o);
    buy_one(b, &s2, &o, "b", "2026-01-15T09:00:00+01:00", "x", 1, 100000);
    assert_true(tp_find(&o, ENG_OUT_BONUS_EARNED, 0)->u.bonus_earned.expires_at ==
                tp_t("2026-07-15T09:00:00+02:00"));
    ob_reset(&o);
    tp_tick(b, &s2, "2026-07-15T08:59:59+02:00", &o);
    assert_int_equal(tp_count(&o, ENG_OUT_POINTS_EXPIRED), 0);
    tp_tick(b, &s2, "2026-07-15T09:00:00+02:00", &o);
    assert_int_equal(tp_count(&o, ENG_OUT_POINTS_EXPIRED), 1);
    prog_destroy(b);
    prog_destroy(p);
}

static void test_over_share_redemption_rejected_or_the_allowed_part_redeemed(void **st)
{
    (void)st;
    for (int mode = 0; mode < 2; mode++) {
        prog_t *p = prog_with(mode ? "earning: {base_percent: 10}\n"
                                     "redeeming: {max_share_percent: 30, over_max_share: "
                                     "redeem_allowed}\n"
                                   : "earning: {base_percent: 10}\n"
                                     "redeeming: {max_share_percent: 30}\n");
        eng_state_t s = {0};
        eng_event_t ev;
        ob_t o;
        ob_reset(&o);
        buy_one(p, &s, &o, "p", "2026-02-01T12:00:00+03:00", "x", 1, 1000000); /* 1000 points */
        ob_reset(&o);
        tp_event(&ev, ENG_EV_REDEMPTION, "r", "c", "2026-02-02T12:00:00+03:00");
        ev.points = 500;
        tp_line(&ev, "x", 1, 100000, false); /* 30% of 1,000.00 = 300 points */
        tp_apply(p, &s, &ev, &o);
        if (mode == 0) {
            const eng_output_t *r = tp_find(&o, ENG_OUT_REDEMPTION_REJECTED, 0);
            assert_non_null(r);
            assert_string_equal(r->u.redemption_rejected.reason, "over_max_share");
            assert_int_equal(r->u.redemption_rejected.points_allowed, 300);
            assert_int_equal(eng_balance(&s), 1000);
        } else {
            const eng_output_t *r = tp_find(&o, ENG_OUT_POINTS_REDEEMED, 0);
            assert_non_null(r);
            assert_int_equal(r->u.points_redeemed.points, 300);
            assert_int_equal(r->u.points_redeemed.value, 30000);
            assert_int_equal(r->u.points_redeemed.points_requested, 500);
            assert_int_equal(r->u.points_redeemed.points_allowed, 300);
            assert_int_equal(r->u.points_redeemed.balance_after, 700);
            assert_int_equal(s.total_redeemed, 300);
        }
        prog_destroy(p);
    }
}

static void test_buy_8_free_1_and_a_tier_doubles_stamps(void **st)
{
    (void)st;
    prog_t *p = prog_with("qualification: {metric: purchases, window: lifetime}\n"
                          "tiers: [{name: a, threshold: 0}, {name: gold, threshold: 10, "
                          "stamp_multiplier: 2}]\n"
                          "stamps: [{category: coffee, buy: 8, free: 1, item: free_coffee}]\n");
    eng_state_t s = {0};
    ob_t o;
    ob_reset(&o);
    char id[8];
    for (int i = 0; i < 8; i++) {
        snprintf(id, sizeof(id), "c%d", i);
        buy_one(p, &s, &o, id, "2026-02-01T12:00:00+03:00", "coffee", 1, 300);
    }
    /* the 8th coffee bought: the 9th is free */
    const eng_output_t *r = tp_find(&o, ENG_OUT_REWARD_EARNED, 0);
    assert_non_null(r);
    assert_string_equal(r->cause_id, "c7");
    assert_string_equal(r->u.reward_earned.source, "stamp_card");
    assert_int_equal(r->u.reward_earned.quantity, 1);
    assert_int_equal(r->u.reward_earned.stamps_used, 8);
    buy_one(p, &s, &o, "c8", "2026-02-02T12:00:00+03:00", "coffee", 1, 300);
    buy_one(p, &s, &o, "c9", "2026-02-02T12:00:00+03:00", "coffee", 1, 300); /* the 10th: gold */
    assert_int_equal(s.tier, 1);
    assert_int_equal(s.stamps[0], 2);
    buy_one(p, &s, &o, "c10", "2026-02-03T12:00:00+03:00", "coffee", 3, 900); /* 3 x 2 stamps */
    assert_int_equal(s.stamps[0], 0);
    assert_int_equal(tp_count(&o, ENG_OUT_REWARD_EARNED), 2);
    prog_destroy(p);
}

static void test_birthday_free_item_once_a_year_without_extra_points(void **st)
{
    (void)st;
    prog_t *p = prog_with("birthday: {item: free_drink}\n");
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    tp_event(&ev, ENG_EV_PURCHASE, "p1", "c", "2026-01-05T12:00:00+03:00");
    ev.attrs.has_birth_date = true;
    ev.attrs.birth_month = 3;
    ev.attrs.birth_day = 8;
    tp_line(&ev, "x", 1, 10000, false);
    tp_apply(p, &s, &ev, &o);
    buy_one(p, &s, &o, "p2", "2026-03-08T09:00:00+03:00", "x", 1, 10000);
    buy_one(p, &s, &o, "p3", "2026-03-08T19:00:00+03:00", "x", 1, 10000);
    assert_int_equal(tp_count(&o, ENG_OUT_REWARD_EARNED), 1);
    assert_int_equal(tp_count(&o, ENG_OUT_BONUS_EARNED), 0);
    const eng_output_t *r = tp_find(&o, ENG_OUT_REWARD_EARNED, 0);
    assert_string_equal(r->cause_id, "p2");
    assert_string_equal(r->u.reward_earned.reward, "free_drink");
    assert_string_equal(r->u.reward_earned.source, "birthday");
    buy_one(p, &s, &o, "p4", "2027-03-08T09:00:00+03:00", "x", 1, 10000);
    assert_int_equal(tp_count(&o, ENG_OUT_REWARD_EARNED), 2);
    prog_destroy(p);
}

static void test_basket_bonus_needs_every_category_and_a_return_reverses_it(void **st)
{
    (void)st;
    prog_t *p = prog_with("basket_bonus: [{categories: [laptop, accessories], points: 1000, item: "
                          "gift}]\n");
    eng_state_t s = {0};
    eng_event_t ev;
    ob_t o;
    ob_reset(&o);
    buy_one(p, &s, &o, "mouse", "2026-02-01T12:00:00+03:00", "accessories", 1, 19000);
    buy_one(p, &s, &o, "lap", "2026-02-01T13:00:00+03:00", "laptop", 1, 9000000);
    assert_int_equal(o.b.n, 0);
    tp_event(&ev, ENG_EV_PURCHASE, "both", "c", "2026-02-02T12:00:00+03:00");
    tp_line(&ev, "laptop", 1, 9000000, false);
    tp_line(&ev, "accessories", 1, 300000, false);
    tp_apply(p, &s, &ev, &o);
    const eng_output_t *b = tp_find(&o, ENG_OUT_BONUS_EARNED, 0);
    assert_int_equal(b->u.bonus_earned.points, 1000);
    assert_string_equal(b->u.bonus_earned.source, "basket");
    assert_string_equal(tp_find(&o, ENG_OUT_REWARD_EARNED, 0)->u.reward_earned.source, "basket");
    tp_event(&ev, ENG_EV_RETURN, "ret", "c", "2026-02-03T12:00:00+03:00");
    snprintf(ev.original_event_id, ENG_ID_MAX, "both");
    tp_line(&ev, "laptop", 1, 9000000, false);
    tp_line(&ev, "accessories", 1, 300000, false);
    tp_apply(p, &s, &ev, &o);
    assert_int_equal(tp_find(&o, ENG_OUT_POINTS_REVERSED, 0)->u.points_reversed.points, 1000);
    assert_int_equal(eng_balance(&s), 0);
    prog_destroy(p);
}

static void test_tier_counts_within_its_year_and_resets_on_january_1_local(void **st)
{
    (void)st;
    const char *metric[] = {"spend", "quantity", "purchases", "visits"};
    for (int m = 0; m < 4; m++) {
        char y[512];
        snprintf(y, sizeof(y),
                 "qualification: {metric: %s, window: calendar_year}\n"
                 "tiers: [{name: a, threshold: 0}, {name: b, threshold: 2}, {name: c, "
                 "threshold: 3}]\ndemotion: {mode: reset_each_period}\n",
                 metric[m]);
        prog_t *p = prog_with(y);
        eng_state_t s = {0};
        ob_t o;
        ob_reset(&o);
        buy_one(p, &s, &o, "p1", "2026-03-01T12:00:00+03:00", "x", 1, 100);
        buy_one(p, &s, &o, "p2", "2026-06-01T12:00:00+03:00", "x", 1, 100);
        buy_one(p, &s, &o, "p3", "2026-09-01T12:00:00+03:00", "x", 1, 100);
        assert_int_equal(tp_count(&o, ENG_OUT_TIER_CHANGED), 2);
        assert_int_equal(s.tier, 2);
        /* the year ends at 1 January 00:00 Moscow = 31 December 21:00 UTC */
        assert_true(eng_next_due(p, &s, NULL) == tp_t("2026-12-31T21:00:00Z"));
        tp_tick(p, &s, "2026-12-31T20:59:59Z", &o);
        assert_int_equal(s.tier, 2);
        tp_tick(p, &s, "2027-05-01T00:00:00Z", &o); /* late: still one reset, at its due */
        assert_int_equal(tp_count(&o, ENG_OUT_TIER_CHANGED), 3);
        const eng_output_t *t = tp_find(&o, ENG_OUT_TIER_CHANGED, 2);
        assert_string_equal(t->u.tier_changed.reason, "period_reset");
        assert_string_equal(t->u.tier_changed.to_tier, "a");
        assert_int_equal(t->u.tier_changed.direction, -1);
        assert_true(t->time_ms == tp_t("2026-12-31T21:00:00Z"));
        assert_int_equal(s.tier, 0);
        assert_true(eng_next_due(p, &s, NULL) == ENG_TIME_NEVER);
        /* a late purchase of the closed year counts there, not for the open year's tier */
        buy_one(p, &s, &o, "late", "2026-12-30T12:00:00+03:00", "x", 1, 100);
        assert_int_equal(s.tier, 0);
        assert_int_equal(tp_count(&o, ENG_OUT_TIER_CHANGED), 3);
        /* the new year counts from zero */
        buy_one(p, &s, &o, "q1", "2027-05-02T12:00:00+03:00", "x", 1, 100);
        assert_int_equal(s.tier, 0);
        prog_destroy(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_caterer_20_percent_usable_from_next_visit_not_same_check),
        cmocka_unit_test(test_period_award_5000_in_march_gives_750_at_april_start_local),
        cmocka_unit_test(test_period_band_edge_exactly_1000_lower_inclusive_earns_10_percent),
        cmocka_unit_test(test_period_band_edge_exactly_1000_upper_inclusive_earns_3_percent),
        cmocka_unit_test(test_expiry_warnings_30_7_1_then_expiry_each_once),
        cmocka_unit_test(test_expiry_never_keeps_points_and_needs_no_timer),
        cmocka_unit_test(test_purchase_lot_expires_at_end_of_next_month_local),
        cmocka_unit_test(test_silver_earns_50_percent_more),
        cmocka_unit_test(test_single_check_bands_10000_20000_50000_give_5_7_10_percent),
        cmocka_unit_test(test_cumulative_tiers_promote_at_10000_and_20000),
        cmocka_unit_test(test_three_months_without_visit_give_three_one_level_demotions),
        cmocka_unit_test(test_visit_resets_inactivity_and_grace_days_delay_it),
        cmocka_unit_test(test_lamp_packs_marginal_brackets_100_200_300),
        cmocka_unit_test(test_sale_items_and_consumables_excluded_separately),
        cmocka_unit_test(test_eleventh_pair_free_after_ten_stamps),
        cmocka_unit_test(test_partner_rates_from_1_to_14_percent),
        cmocka_unit_test(test_listed_partner_rate_wins_over_check_band),
        cmocka_unit_test(test_tenure_status_and_service_multipliers_compose),
        cmocka_unit_test(test_birthday_extra_once_on_the_day_feb29_on_28th),
        cmocka_unit_test(test_return_reverses_pro_rata_and_full_return_exactly),
        cmocka_unit_test(test_return_policy_debt_is_repaid_from_later_earnings),
        cmocka_unit_test(test_repeated_event_id_changes_nothing_and_emits_nothing),
        cmocka_unit_test(test_progress_nudge_when_within_2000_of_next_tier),
        cmocka_unit_test(test_at_period_end_demotion_to_tier_reached),
        cmocka_unit_test(test_timer_due_at_event_time_fires_before_the_event),
        cmocka_unit_test(test_invalid_event_is_refused_without_changing_state),
        cmocka_unit_test(test_previous_calendar_month_moves_tier_only_at_month_end),
        cmocka_unit_test(test_rolling_window_forgets_spend_older_than_n_days),
        cmocka_unit_test(test_tier_threshold_must_be_exceeded_when_upper_inclusive),
        cmocka_unit_test(test_yearly_award_at_new_york_new_year_across_dst),
        cmocka_unit_test(test_more_lots_than_the_array_merge_without_losing_points),
        cmocka_unit_test(test_return_beyond_the_purchase_ring_emits_zero_point_reversal_and_flags),
        cmocka_unit_test(test_return_of_an_unknown_purchase_is_said_with_zero_points),
        cmocka_unit_test(test_seventeenth_lot_merges_into_nearest_expiry_and_flags),
        cmocka_unit_test(test_event_id_memory_forgets_the_oldest_after_64_and_flags),
        cmocka_unit_test(test_qualifying_buckets_merge_when_full_and_flag),
        cmocka_unit_test(test_small_output_buffer_stops_early_and_resumes),
        cmocka_unit_test(test_period_end_downgrade_warned_7_days_before_and_cancelled_by_buying),
        cmocka_unit_test(test_stamps_count_only_the_exact_category_name),
        cmocka_unit_test(test_event_of_a_customer_whose_id_shares_the_first_bytes_is_refused),
        cmocka_unit_test(test_timer_output_id_stops_at_95_bytes_for_a_63_byte_customer),
        cmocka_unit_test(test_prefetch_is_only_a_hint),
        cmocka_unit_test(test_late_event_within_the_grace_counts_in_its_own_period),
        cmocka_unit_test(test_late_event_after_the_close_is_a_correction_naming_its_period),
        cmocka_unit_test(test_return_after_the_close_lowers_the_award_by_a_period_correction),
        cmocka_unit_test(test_event_older_than_the_max_lateness_is_too_late_and_changes_nothing),
        cmocka_unit_test(test_late_event_older_than_the_last_visit_does_not_move_it_back),
        cmocka_unit_test(test_bad_events_are_refused_with_a_reason),
        cmocka_unit_test(test_mixed_basket_rejection_without_max_share_names_the_eligible_amount),
        cmocka_unit_test(test_visits_count_a_local_day_once_rolling_and_calendar),
        cmocka_unit_test(test_attributes_are_remembered_and_replaced_by_newer_values),
        cmocka_unit_test(test_welcome_period_in_days_and_in_months_then_the_base_rate),
        cmocka_unit_test(test_tenure_in_months_from_the_remembered_join_date),
        cmocka_unit_test(test_expiry_after_six_calendar_months_same_local_time_day_clamped),
        cmocka_unit_test(test_over_share_redemption_rejected_or_the_allowed_part_redeemed),
        cmocka_unit_test(test_buy_8_free_1_and_a_tier_doubles_stamps),
        cmocka_unit_test(test_birthday_free_item_once_a_year_without_extra_points),
        cmocka_unit_test(test_basket_bonus_needs_every_category_and_a_return_reverses_it),
        cmocka_unit_test(test_tier_counts_within_its_year_and_resets_on_january_1_local),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
