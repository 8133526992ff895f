/* Unit tests of prog: the program file loader (values, defaults, errors with
 * file:line:column and the field, unknown keys) and band/tier boundaries. */
#include "prog.h"
#include "prog_describe.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static prog_t *load_ok(const char *yaml)
{
    char err[4096];
    prog_t *p = prog_load_string(yaml, "t.yaml", NULL, err, sizeof(err));
    if (!p)
        fail_msg("%s", err);
    return p;
}

static void load_err(const char *yaml, const char *expect)
{
    char err[4096];
    prog_t *p = prog_load_string(yaml, "t.yaml", NULL, err, sizeof(err));
    if (p) {
        prog_destroy(p);
        fail_msg("loaded, expected error %s", expect);
    }
    if (!strstr(err, expect))
        fail_msg("error '%s' does not contain '%s'", err, expect);
}

static const char *full =
    "name: full\n"
    "currency: RUB\n"
    "timezone: Europe/Moscow\n"
    "qualification: {metric: spend, window: rolling_days, days: 90, bands: upper_inclusive}\n"
    "tiers:\n"
    "  - {name: Red, threshold: 0}\n"
    "  - {name: Silver, threshold: 10000, earn_multiplier: 1.5, discount_percent: 5}\n"
    "  - {name: Gold, threshold: 50000.50, earn_percent: 12.5}\n"
    "earning:\n"
    "  base_percent: 2.5\n"
    "  minimum_purchase: 150\n"
    "  usable: next_visit\n"
    "  category_multipliers: {services: 2}\n"
    "  exclude: {categories: [consumables], on_sale: true}\n"
    "redeeming: {exclude: {categories: [consumables]}, max_share_percent: 50}\n"
    "demotion: {mode: inactivity, grace_days: 3, warning_days: [7]}\n"
    "expiry: {mode: after_days, days: 365, warning_days: [1, 30, 7]}\n"
    "stamps: [{category: lenses, every: 10, reward: free_item}]\n"
    "birthday: {extra_percent: 5, minimum_purchase: 1500}\n"
    "tenure: [{years: 1, multiplier: 1.1}, {years: 3, multiplier: 1.25}]\n"
    "status_multipliers: {premium: 1.5}\n"
    "returns: {policy: debt}\n"
    "nudges: {progress: true, within: 2000}\n";

static void test_full_program_values_are_scaled_explicitly(void **st)
{
    (void)st;
    prog_t *p = load_ok(full);
    assert_string_equal(p->currency, "RUB");
    assert_int_equal(p->point_value, 100);
    assert_int_equal(p->q_window, PROG_WIN_ROLLING_DAYS);
    assert_int_equal(p->q_days, 90);
    assert_true(p->upper_inclusive);
    assert_int_equal(p->n_tiers, 3);
    assert_int_equal(p->tiers[1].threshold, 1000000);
    assert_int_equal(p->tiers[1].earn_permille, 1500);
    assert_int_equal(p->tiers[1].earn_bp, -1);
    assert_int_equal(p->tiers[2].threshold, 5000050);
    assert_int_equal(p->tiers[2].earn_bp, 1250);
    assert_int_equal(p->base_bp, 250);
    assert_int_equal(p->min_purchase, 15000);
    assert_int_equal(p->usable, PROG_USABLE_NEXT_VISIT);
    assert_int_equal(p->cat_mult[0].value, 2000);
    assert_true(p->earn_excl.on_sale);
    assert_false(p->redeem_excl.on_sale);
    assert_int_equal(p->max_share_bp, 5000);
    assert_int_equal(p->demote, PROG_DEMOTE_INACTIVITY);
    assert_int_equal(p->n_warn, 3);
    assert_int_equal(p->warn_days[0], 30); /* sorted descending */
    assert_int_equal(p->warn_days[2], 1);
    assert_int_equal(p->tenure[1].permille, 1250);
    assert_int_equal(p->returns, PROG_RETURNS_DEBT);
    assert_int_equal(p->progress_within, 200000);
    char buf[8192];
    prog_describe(p, buf, sizeof(buf));
    assert_non_null(strstr(buf, "Silver (from 10000.00 RUB, earns x1.500, discount 5%)"));
    prog_destroy(p);
}

static void test_unknown_key_names_line_column_and_field(void **st)
{
    (void)st;
    load_err("currency: RUB\ntimezone: UTC\nexpiry:\n  mode: never\n  warnigs: [1]\n",
             "t.yaml:5:3: expiry.warnigs: unknown key");
    load_err("currency: RUB\ntimezone: UTC\ncolour: red\n", "t.yaml:3:1: colour: unknown key");
}

static void test_bad_enum_lists_the_choices(void **st)
{
    (void)st;
    load_err("currency: RUB\ntimezone: UTC\nexpiry: {mode: sometimes}\n",
             "t.yaml:3:16: expiry.mode: 'sometimes' is not one of: never, after_days, "
             "end_of_next_month");
}

static void test_money_with_too_many_decimals_is_refused(void **st)
{
    (void)st;
    load_err("currency: RUB\ntimezone: UTC\nearning: {minimum_purchase: 1.005}\n",
             "earning.minimum_purchase: '1.005' is not an amount in RUB with at most 2 decimals");
    load_err("currency: JPY\nminor_units: 0\ntimezone: UTC\nearning: {minimum_purchase: 1.5}\n",
             "earning.minimum_purchase");
}

static void test_missing_currency_and_bad_zone_both_reported(void **st)
{
    (void)st;
    char err[4096];
    assert_null(prog_load_string("timezone: Nowhere/City\n", "t.yaml", NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "currency: missing"));
    assert_non_null(strstr(err, "t.yaml:1:11: timezone: 'Nowhere/City' is not a time zone"));
}

static void test_tiers_must_ascend_and_start_at_zero(void **st)
{
    (void)st;
    load_err("currency: RUB\ntimezone: UTC\ntiers: [{name: A, threshold: 5}, {name: B, "
             "threshold: 10}]\n",
             "tiers[0].threshold: the entry tier's threshold must be 0");
    load_err("currency: RUB\ntimezone: UTC\ntiers: [{name: A}, {name: B, threshold: 10}, "
             "{name: C, threshold: 10}]\n",
             "tier 'C' must have a higher threshold than 'B'");
}

static void test_yaml_syntax_error_has_position(void **st)
{
    (void)st;
    load_err("currency: RUB\ntimezone: [UTC\n", "t.yaml:3:1: YAML:");
}

static void test_defaults_calendar_month_lower_inclusive(void **st)
{
    (void)st;
    prog_t *p = load_ok("currency: RUB\ntimezone: UTC\n");
    assert_int_equal(p->q_window, PROG_WIN_CALENDAR_MONTH);
    assert_false(p->upper_inclusive);
    assert_int_equal(p->n_tiers, 1);
    assert_int_equal(p->expiry, PROG_EXPIRY_NEVER);
    assert_int_equal(p->max_share_bp, 10000);
    prog_destroy(p);
}

static void test_band_exactly_on_threshold_lower_vs_upper_inclusive(void **st)
{
    (void)st;
    prog_band_t b[3] = {{0, 300}, {100000, 1000}, {150000, 1500}};
    assert_int_equal(prog_band_rate(b, 3, 99999, false), 300);
    assert_int_equal(prog_band_rate(b, 3, 100000, false), 1000);
    assert_int_equal(prog_band_rate(b, 3, 100000, true), 300);
    assert_int_equal(prog_band_rate(b, 3, 100001, true), 1000);
    assert_int_equal(prog_band_rate(b, 3, 150000, false), 1500);
    assert_int_equal(prog_band_rate(b, 3, 150000, true), 1000);
    assert_int_equal(prog_band_rate(b, 3, 0, true), 300);
}

static void test_tier_strictly_over_threshold_when_upper_inclusive(void **st)
{
    (void)st;
    /* US Airways: the top status for annual flights over 100,000 miles */
    prog_t *p = load_ok("currency: USD\ntimezone: America/New_York\n"
                        "qualification: {metric: quantity, window: calendar_year, bands: "
                        "upper_inclusive}\n"
                        "tiers: [{name: Silver, threshold: 0}, {name: Gold, threshold: 25000},"
                        " {name: Platinum, threshold: 50000}, {name: Chairman, threshold: "
                        "100000}]\n");
    assert_int_equal(prog_tier_for(p, 100000), 2);
    assert_int_equal(prog_tier_for(p, 100001), 3);
    assert_int_equal(prog_tier_for(p, 25000), 0);
    prog_destroy(p);
}

static void test_every_example_program_loads(void **st)
{
    (void)st;
    const char *src = getenv("LS_SOURCE_DIR");
    if (!src)
        skip();
    static const char *const names[] = {
        "01-percent-next-visit",   "02-period-award",         "03-expiry-never",
        "04-tiers-better-earning", "05-progressive-discount", "06-inactivity-demotion",
        "07-marginal-quantity",    "08-category-rules",       "09-stamp-card",
        "10-coalition-partners",   "11-tenure-status",        "12-birthday-extra",
        "13-visits-coffee",        "14-welcome-pharmacy",     "15-birthday-free-item",
        "16-expiry-months",        "17-capped-redemption",    "18-basket-bonus",
        "19-lamp-maker-year-tiers"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char path[1024], err[4096];
        snprintf(path, sizeof(path), "%s/examples/programs/%s/program.yaml", src, names[i]);
        prog_t *p = prog_load(path, NULL, err, sizeof(err));
        if (!p)
            fail_msg("%s", err);
        prog_destroy(p);
    }
}

#define HEAD "currency: RUB\ntimezone: Europe/Moscow\n"

static void test_newer_keys_are_read_and_scaled(void **st)
{
    (void)st;
    prog_t *p = load_ok(HEAD "qualification: {metric: visits, window: calendar_year}\n"
                             "tiers: [{name: a, threshold: 0}, {name: b, threshold: 50, "
                             "stamp_multiplier: 2}]\n"
                             "demotion: {mode: reset_each_period}\n"
                             "welcome: {months: 1, earn_percent: 5}\n"
                             "tenure: [{months: 6, multiplier: 1.1}, {years: 1, multiplier: 1.2}]\n"
                             "expiry: {mode: after_months, months: 6}\n"
                             "redeeming: {max_share_percent: 30, over_max_share: redeem_allowed}\n"
                             "stamps: [{category: coffee, buy: 8, free: 1, item: free_coffee}, "
                             "{category: tea, every: 4}]\n"
                             "birthday: {item: free_drink}\n"
                             "basket_bonus: [{categories: [laptop, accessories], points: 1000, "
                             "item: gift, minimum_purchase: 500}]\n");
    assert_int_equal(p->q_metric, PROG_METRIC_VISITS);
    assert_int_equal(p->demote, PROG_DEMOTE_RESET_EACH_PERIOD);
    assert_int_equal(p->demote_period, PROG_PERIOD_YEAR);
    assert_int_equal(p->tiers[0].stamp_permille, 1000);
    assert_int_equal(p->tiers[1].stamp_permille, 2000);
    assert_int_equal(p->welcome_months, 1);
    assert_int_equal(p->welcome_days, 0);
    assert_int_equal(p->welcome_bp, 500);
    assert_int_equal(p->tenure[0].months, 6);
    assert_int_equal(p->tenure[1].months, 12); /* years x 12 */
    assert_int_equal(p->expiry, PROG_EXPIRY_AFTER_MONTHS);
    assert_int_equal(p->expiry_months, 6);
    assert_int_equal(p->over_share, PROG_OVER_SHARE_REDEEM_ALLOWED);
    assert_int_equal(p->stamps[0].every, 8); /* buy 8: the 9th is free */
    assert_int_equal(p->stamps[0].free, 1);
    assert_int_equal(p->stamps[1].every, 4); /* the old form still reads */
    assert_int_equal(p->stamps[1].free, 1);
    assert_string_equal(p->birthday_item, "free_drink");
    assert_int_equal(p->n_basket, 1);
    assert_int_equal(p->basket[0].n, 2);
    assert_string_equal(p->basket[0].categories[1], "accessories");
    assert_int_equal(p->basket[0].points, 1000);
    assert_int_equal(p->basket[0].min_purchase, 50000);
    char d[4096];
    prog_describe(p, d, sizeof(d));
    assert_non_null(strstr(d, "visits over the calendar year"));
    assert_non_null(strstr(d, "welcome: 5% for 1 calendar months after joining"));
    assert_non_null(strstr(d, "tenure: 6 months x1.100, 1 years x1.200"));
    assert_non_null(strstr(d, "after 8 stamps -> 1 x free_coffee"));
    assert_non_null(strstr(d, "b (from 50 visits, stamps x2.000)"));
    prog_destroy(p);
}

static void test_newer_keys_refuse_what_cannot_work(void **st)
{
    (void)st;
    load_err(HEAD "stamps: [{category: c, buy: 8, every: 8}]\n",
             "t.yaml:3:10: stamps[0]: give 'buy' (with 'free') or 'every', not both");
    load_err(HEAD "stamps: [{category: c, every: 8, free: 1}]\n",
             "stamps[0]: 'free' goes with 'buy'");
    load_err(HEAD "welcome: {days: 30, months: 1, earn_percent: 5}\n",
             "welcome: a welcome period needs 'days' or 'months' (one of them)");
    load_err(HEAD "welcome: {days: 30}\n", "welcome: a welcome period needs 'earn_percent'");
    load_err(HEAD "expiry: {mode: after_months}\n", "expiry: mode after_months needs 'months'");
    load_err(HEAD "tenure: [{years: 1, months: 3, multiplier: 2}]\n",
             "tenure[0]: give 'years' or 'months', not both");
    load_err(HEAD "tenure: [{years: 1, multiplier: 2}, {months: 12, multiplier: 3}]\n",
             "tenure[1]: years (months) must ascend");
    load_err(HEAD "redeeming: {over_max_share: cap}\n",
             "redeeming.over_max_share: 'cap' is not one of: reject, redeem_allowed");
    load_err(HEAD "basket_bonus: [{points: 10}]\n",
             "basket_bonus[0]: a basket bonus needs 'categories'");
    load_err(HEAD "basket_bonus: [{categories: [a]}]\n",
             "basket_bonus[0]: a basket bonus needs 'points', 'item' or both");
    load_err(HEAD "tiers: [{name: a, threshold: 0, stamp_multiplier: 0}]\n",
             "tiers[0].stamp_multiplier: must be above 0");
    load_err(HEAD "qualification: {window: rolling_days, days: 30}\n"
                  "demotion: {mode: reset_each_period}\n",
             "demotion.mode: reset_each_period needs window calendar_month or calendar_year");
    load_err(HEAD "qualification: {window: calendar_year}\n"
                  "demotion: {mode: reset_each_period, period: calendar_month}\n",
             "demotion.period: reset_each_period: the period must be the qualification window's");
    load_err(HEAD "demotion: {mode: reset_each_period, warning_days: [7]}\n",
             "demotion.warning_days: reset_each_period has no downgrade warnings");
}

/* ------------------------------------------------------------------ the designer's checks */

static void test_currency_must_be_an_iso_4217_code(void **st)
{
    (void)st;
    load_err("currency: XYZ\ntimezone: UTC\n",
             "t.yaml:1:11: currency: 'XYZ' is not a currency code of ISO 4217");
    load_err("currency: EUT\ntimezone: UTC\n", "(did you mean 'EUR'?)");
    prog_t *p = load_ok("currency: KWD\nminor_units: 3\ntimezone: UTC\npoint_value: 0.001\n");
    assert_int_equal(p->n_warnings, 0);
    prog_destroy(p);
}

static void test_minor_units_unlike_iso_4217_is_warned(void **st)
{
    (void)st;
    prog_t *p = load_ok("currency: JPY\ntimezone: UTC\npoint_value: 1\n");
    assert_non_null(strstr(p->warnings, "t.yaml:1:11: minor_units: warning: JPY has 0 decimals "
                                        "in ISO 4217, but this program counts 2 (the default"));
    prog_destroy(p);
}

static void test_percentage_below_a_tenth_is_warned_with_its_reading(void **st)
{
    (void)st;
    prog_t *p = load_ok("currency: EUR\ntimezone: UTC\npoint_value: 0.01\n"
                        "earning: {base_percent: 0.02}\n");
    assert_int_equal(p->n_warnings, 1);
    assert_non_null(strstr(p->warnings, "t.yaml:4:25: earning.base_percent: warning: 0.02 is "
                                        "read as 0.02 percent, i.e. 2 in 10,000 of the amount"));
    prog_destroy(p);
    p = load_ok("currency: EUR\ntimezone: UTC\npoint_value: 0.01\nearning: {base_percent: 2}\n");
    assert_int_equal(p->n_warnings, 0);
    prog_destroy(p);
}

static void test_missing_point_value_is_warned_with_an_example(void **st)
{
    (void)st;
    prog_t *p = load_ok("currency: EUR\ntimezone: UTC\nearning: {base_percent: 2}\n");
    assert_non_null(strstr(p->warnings,
                           "point_value: warning: not set: one point is worth one whole EUR "
                           "(1.00 EUR), so 2% of a 40.00 EUR purchase is 0.80 points, floored "
                           "to 0; for one point per minor unit write point_value: 0.01"));
    prog_destroy(p);
}

static void test_list_errors_point_at_the_offending_entry(void **st)
{
    (void)st;
    /* two tiers with one threshold: the error is at the second one's threshold, line 6 */
    load_err("currency: RUB\ntimezone: UTC\ntiers:\n  - {name: A, threshold: 0}\n"
             "  - {name: B, threshold: 100}\n  - {name: C, threshold: 100}\n",
             "t.yaml:6:26: tiers[2].threshold: tier 'C' must have a higher threshold than 'B'");
    load_err("currency: RUB\ntimezone: UTC\ntiers:\n  - {name: A, threshold: 0}\n"
             "  - {name: A, threshold: 100}\n",
             "t.yaml:5:12: tiers[1].name: tier name 'A' is used twice");
    /* overlapping bands: at the band that goes back */
    load_err("currency: RUB\ntimezone: UTC\nearning:\n  check_bands:\n"
             "    - {from: 0, percent: 1}\n    - {from: 500, percent: 2}\n"
             "    - {from: 100, percent: 3}\n",
             "t.yaml:7:14: earning.check_bands[2].from: must be greater than the 'from' of "
             "earning.check_bands[1]");
    load_err("currency: RUB\ntimezone: UTC\nexpiry:\n  mode: after_days\n  days: 30\n"
             "  warning_days:\n    - 7\n    - 1\n    - 7\n",
             "t.yaml:9:7: expiry.warning_days[2]: 7 days is listed twice");
    /* a rule between keys: at the key that breaks it, not at its section */
    load_err("currency: RUB\ntimezone: UTC\nexpiry:\n  mode: never\n  warning_days: [7]\n",
             "t.yaml:5:17: expiry.warning_days: warnings need an expiry mode other than never");
}

static void test_one_bad_value_gives_one_error(void **st)
{
    (void)st;
    char err[4096];
    /* a name too long: its own error, no "needs a name", no threshold follow-on */
    assert_null(
        prog_load_string("currency: RUB\ntimezone: UTC\ntiers:\n  - {name: A, threshold: 0}\n"
                         "  - {name: ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGH, threshold: 5}\n",
                         "t.yaml", NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "tiers[1].name: must be 1 to 31 characters"));
    assert_null(strchr(err, '\n'));
    /* a threshold that does not parse: no "must have a higher threshold" after it */
    assert_null(
        prog_load_string("currency: RUB\ntimezone: UTC\ntiers:\n  - {name: A, threshold: 0}\n"
                         "  - {name: B, threshold: 15.505}\n",
                         "t.yaml", NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "tiers[1].threshold: '15.505' is not an amount in RUB"));
    assert_null(strchr(err, '\n'));
}

static void test_one_percentage_has_one_limit(void **st)
{
    (void)st;
    char err[4096];
    assert_null(
        prog_load_string("currency: RUB\ntimezone: UTC\nredeeming: {max_share_percent: 150}\n",
                         "t.yaml", NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "'150' is not a percentage from 0 to 100 with at most 2 decimals"));
    assert_null(strchr(err, '\n'));
    assert_null(
        prog_load_string("currency: RUB\ntimezone: UTC\nredeeming: {max_share_percent: 1500}\n",
                         "t.yaml", NULL, err, sizeof(err)));
    assert_null(strstr(err, "1000"));
}

static void test_did_you_mean_for_keys_values_and_time_zones(void **st)
{
    (void)st;
    load_err("currency: RUB\ntimezone: UTC\nearning: {base_pecent: 2}\n",
             "t.yaml:3:11: earning.base_pecent: unknown key (did you mean 'base_percent'?)");
    load_err("currency: RUB\ntimezone: UTC\nexpiry: {mode: afterdays}\n",
             "(did you mean 'after_days'?)");
    char err[4096];
    assert_null(prog_load_string("currency: RUB\ntimezone: Europe/Moscw\n", "t.yaml", NULL, err,
                                 sizeof(err)));
    assert_non_null(strstr(err, "t.yaml:2:11: timezone: 'Europe/Moscw' is not a time zone of the "
                                "IANA database (did you mean 'Europe/Moscow'?)"));
    assert_null(strstr(err, "/usr/share")); /* no system file paths */
    assert_null(
        prog_load_string("currency: RUB\ntimezone: Moscow\n", "t.yaml", NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "(did you mean 'Europe/Moscow'?)"));
}

static void test_money_errors_state_the_convention(void **st)
{
    (void)st;
    load_err("currency: CZK\ntimezone: UTC\nearning: {minimum_purchase: 15.505}\n",
             "a program file writes money in whole CZK, e.g. 1500 or 1500.50; events and "
             "outputs carry minor units");
}

static void test_description_names_downgrade_warnings_and_no_empty_exclusions(void **st)
{
    (void)st;
    prog_t *p = load_ok("currency: RUB\ntimezone: UTC\npoint_value: 0.01\n"
                        "tiers: [{name: A, threshold: 0}, {name: B, threshold: 100}]\n"
                        "demotion: {mode: inactivity, warning_days: [7, 30]}\n"
                        "earning: {base_percent: 1, exclude: {on_sale: true}}\n"
                        "redeeming: {exclude: {categories: [gift, tobacco], on_sale: true}}\n");
    char buf[8192];
    prog_describe(p, buf, sizeof(buf));
    assert_non_null(strstr(buf, "downgrade warnings 30, 7 days before"));
    assert_non_null(strstr(buf, "excluded from earning: sale items\n"));
    assert_non_null(
        strstr(buf, "excluded from redeeming: categories gift, tobacco, and sale items\n"));
    assert_null(strstr(buf, ": (and"));
    prog_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_program_values_are_scaled_explicitly),
        cmocka_unit_test(test_unknown_key_names_line_column_and_field),
        cmocka_unit_test(test_bad_enum_lists_the_choices),
        cmocka_unit_test(test_money_with_too_many_decimals_is_refused),
        cmocka_unit_test(test_missing_currency_and_bad_zone_both_reported),
        cmocka_unit_test(test_tiers_must_ascend_and_start_at_zero),
        cmocka_unit_test(test_yaml_syntax_error_has_position),
        cmocka_unit_test(test_defaults_calendar_month_lower_inclusive),
        cmocka_unit_test(test_band_exactly_on_threshold_lower_vs_upper_inclusive),
        cmocka_unit_test(test_tier_strictly_over_threshold_when_upper_inclusive),
        cmocka_unit_test(test_every_example_program_loads),
        cmocka_unit_test(test_newer_keys_are_read_and_scaled),
        cmocka_unit_test(test_newer_keys_refuse_what_cannot_work),
        cmocka_unit_test(test_currency_must_be_an_iso_4217_code),
        cmocka_unit_test(test_minor_units_unlike_iso_4217_is_warned),
        cmocka_unit_test(test_percentage_below_a_tenth_is_warned_with_its_reading),
        cmocka_unit_test(test_missing_point_value_is_warned_with_an_example),
        cmocka_unit_test(test_list_errors_point_at_the_offending_entry),
        cmocka_unit_test(test_one_bad_value_gives_one_error),
        cmocka_unit_test(test_one_percentage_has_one_limit),
        cmocka_unit_test(test_did_you_mean_for_keys_values_and_time_zones),
        cmocka_unit_test(test_money_errors_state_the_convention),
        cmocka_unit_test(test_description_names_downgrade_warnings_and_no_empty_exclusions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
