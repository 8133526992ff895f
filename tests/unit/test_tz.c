/* Unit tests of tz: TZif loading, offsets, DST gaps and folds, calendar boundaries in
 * Europe/Moscow, Asia/Tehran and America/New_York, leap days. Reference instants were
 * checked against zdump(8) on the same tzdata. */
#include "eng_json.h"
#include "tz.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static int64_t T(const char *iso)
{
    int64_t ms = 0;
    assert_int_equal(eng_json_parse_time(iso, &ms), 0);
    return ms;
}

static tz_t *load(const char *name)
{
    char err[256];
    tz_t *tz = tz_load(name, NULL, err, sizeof(err));
    if (!tz)
        fail_msg("%s", err);
    return tz;
}

static void test_moscow_month_start_is_local_midnight(void **st)
{
    (void)st;
    tz_t *tz = load("Europe/Moscow");
    int32_t april = 2026 * 12 + 3;
    assert_int_equal(tz_month_start(tz, april), T("2026-03-31T21:00:00Z"));
    assert_int_equal(tz_month_index(tz, T("2026-03-31T20:59:59Z")), april - 1);
    assert_int_equal(tz_month_index(tz, T("2026-03-31T21:00:00Z")), april);
    tz_destroy(tz);
}

static void test_moscow_2014_change_from_plus4_to_plus3(void **st)
{
    (void)st;
    tz_t *tz = load("Europe/Moscow");
    assert_int_equal(tz_offset_at(tz, T("2014-10-25T21:59:59Z")), 4 * 3600);
    assert_int_equal(tz_offset_at(tz, T("2014-10-25T22:00:00Z")), 3 * 3600);
    /* 01:30 local happened twice that night: the earlier instant is chosen */
    assert_int_equal(tz_local_to_utc(tz, 2014, 10, 26, 1, 30, 0), T("2014-10-25T21:30:00Z"));
    tz_destroy(tz);
}

static void test_tehran_half_hour_offsets_and_dst_before_2022(void **st)
{
    (void)st;
    tz_t *tz = load("Asia/Tehran");
    assert_int_equal(tz_offset_at(tz, T("2021-01-15T00:00:00Z")), 3 * 3600 + 1800);
    assert_int_equal(tz_offset_at(tz, T("2021-07-15T00:00:00Z")), 4 * 3600 + 1800);
    assert_int_equal(tz_offset_at(tz, T("2026-07-15T00:00:00Z")), 3 * 3600 + 1800);
    tz_civil_t c;
    tz_civil(tz, T("2026-03-31T20:29:59Z"), &c);
    assert_int_equal(c.day, 31);
    assert_int_equal(c.hour, 23);
    assert_int_equal(c.min, 59);
    tz_destroy(tz);
}

static void test_tehran_midnight_in_dst_gap_maps_to_end_of_gap(void **st)
{
    (void)st;
    tz_t *tz = load("Asia/Tehran");
    /* 2021-03-22 00:00 does not exist (00:00 -> 01:00): the day starts at the jump */
    int32_t day = tz_days_from_civil(2021, 3, 22);
    assert_int_equal(tz_day_start(tz, day), T("2021-03-21T20:30:00Z"));
    assert_int_equal(tz_day_index(tz, T("2021-03-21T20:30:00Z")), day);
    assert_int_equal(tz_day_index(tz, T("2021-03-21T20:29:59Z")), day - 1);
    tz_destroy(tz);
}

static void test_new_york_spring_day_has_23_hours(void **st)
{
    (void)st;
    tz_t *tz = load("America/New_York");
    int32_t d = tz_days_from_civil(2026, 3, 8);
    assert_int_equal(tz_day_start(tz, d), T("2026-03-08T05:00:00Z"));
    assert_int_equal(tz_day_start(tz, d + 1) - tz_day_start(tz, d), 23LL * 3600 * 1000);
    /* 02:30 does not exist: first instant after the gap (03:00 EDT) */
    assert_int_equal(tz_local_to_utc(tz, 2026, 3, 8, 2, 30, 0), T("2026-03-08T07:00:00Z"));
    tz_destroy(tz);
}

static void test_new_york_fall_fold_picks_earlier_instant(void **st)
{
    (void)st;
    tz_t *tz = load("America/New_York");
    assert_int_equal(tz_local_to_utc(tz, 2026, 11, 1, 1, 30, 0), T("2026-11-01T05:30:00Z"));
    int32_t d = tz_days_from_civil(2026, 11, 1);
    assert_int_equal(tz_day_start(tz, d + 1) - tz_day_start(tz, d), 25LL * 3600 * 1000);
    assert_int_equal(tz_month_start(tz, 2026 * 12 + 10), T("2026-11-01T04:00:00Z"));
    tz_destroy(tz);
}

static void test_new_york_rule_beyond_table_from_posix_footer(void **st)
{
    (void)st;
    tz_t *tz = load("America/New_York");
    assert_int_equal(tz_offset_at(tz, T("2100-01-15T12:00:00Z")), -5 * 3600);
    assert_int_equal(tz_offset_at(tz, T("2100-07-15T12:00:00Z")), -4 * 3600);
    /* second Sunday of March 2100 is the 14th */
    assert_int_equal(tz_offset_at(tz, T("2100-03-14T06:59:59Z")), -5 * 3600);
    assert_int_equal(tz_offset_at(tz, T("2100-03-14T07:00:00Z")), -4 * 3600);
    tz_destroy(tz);
}

static void test_leap_day_arithmetic(void **st)
{
    (void)st;
    assert_int_equal(tz_days_from_civil(2024, 2, 29) + 1, tz_days_from_civil(2024, 3, 1));
    assert_int_equal(tz_days_from_civil(2023, 2, 28) + 1, tz_days_from_civil(2023, 3, 1));
    assert_int_equal(tz_days_from_civil(2000, 2, 29) + 1, tz_days_from_civil(2000, 3, 1));
    assert_int_equal(tz_days_from_civil(2100, 2, 28) + 1, tz_days_from_civil(2100, 3, 1));
    assert_int_equal(tz_days_from_civil(1970, 1, 1), 0);
    for (int32_t d = -800000; d < 800000; d += 37) {
        int32_t y, m, dd;
        tz_civil_from_days(d, &y, &m, &dd);
        assert_int_equal(tz_days_from_civil(y, m, dd), d);
    }
    tz_t *tz = load("Europe/Moscow");
    tz_civil_t c;
    tz_civil(tz, T("2024-02-28T21:30:00Z"), &c);
    assert_int_equal(c.month, 2);
    assert_int_equal(c.day, 29);
    assert_int_equal(tz_month_start(tz, 2024 * 12 + 2) - tz_month_start(tz, 2024 * 12 + 1),
                     29LL * 86400 * 1000);
    tz_destroy(tz);
}

static void test_unknown_zone_and_bad_names_are_errors(void **st)
{
    (void)st;
    char err[256];
    assert_null(tz_load("Mars/Olympus", NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "Mars/Olympus"));
    assert_null(tz_load("../etc/passwd", NULL, err, sizeof(err)));
    assert_null(tz_load("/etc/passwd", NULL, err, sizeof(err)));
    tz_t *u = load("UTC");
    assert_int_equal(tz_offset_at(u, T("2026-06-01T00:00:00Z")), 0);
    tz_destroy(u);
    tz_destroy(NULL);
}

static void test_add_months_keeps_the_local_time_and_clamps_the_day(void **st)
{
    (void)st;
    tz_t *tz = load("Europe/Berlin");
    /* 31 January + 1: the last day of February, leap or not */
    assert_int_equal(tz_add_months(tz, T("2026-01-31T10:00:00+01:00"), 1),
                     T("2026-02-28T10:00:00+01:00"));
    assert_int_equal(tz_add_months(tz, T("2028-01-31T10:00:00+01:00"), 1),
                     T("2028-02-29T10:00:00+01:00"));
    /* across DST: the same wall time, another offset; over a year end; backwards */
    assert_int_equal(tz_add_months(tz, T("2026-01-15T09:00:00.250+01:00"), 6),
                     T("2026-07-15T09:00:00.250+02:00"));
    assert_int_equal(tz_add_months(tz, T("2026-11-30T23:30:00+01:00"), 3),
                     T("2027-02-28T23:30:00+01:00"));
    assert_int_equal(tz_add_months(tz, T("2026-03-31T12:00:00+02:00"), -1),
                     T("2026-02-28T12:00:00+01:00"));
    /* a wall time that does not exist then (29 March 2026, 02:30, in the gap): the first
     * instant after it */
    assert_int_equal(tz_add_months(tz, T("2026-01-29T02:30:00+01:00"), 2),
                     T("2026-03-29T03:00:00+02:00"));
    assert_int_equal(tz_add_months(tz, T("2026-02-28T02:30:00+01:00"), 0),
                     T("2026-02-28T02:30:00+01:00"));
    tz_destroy(tz);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_moscow_month_start_is_local_midnight),
        cmocka_unit_test(test_moscow_2014_change_from_plus4_to_plus3),
        cmocka_unit_test(test_tehran_half_hour_offsets_and_dst_before_2022),
        cmocka_unit_test(test_tehran_midnight_in_dst_gap_maps_to_end_of_gap),
        cmocka_unit_test(test_new_york_spring_day_has_23_hours),
        cmocka_unit_test(test_new_york_fall_fold_picks_earlier_instant),
        cmocka_unit_test(test_new_york_rule_beyond_table_from_posix_footer),
        cmocka_unit_test(test_leap_day_arithmetic),
        cmocka_unit_test(test_unknown_zone_and_bad_names_are_errors),
        cmocka_unit_test(test_add_months_keeps_the_local_time_and_clamps_the_day),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
