/* Unit tests of eng_json: parsing input events strictly (errors name the field), printing
 * outputs and states byte-stably, RFC 3339 times. */
#include "test_eng_util.h"

static void test_purchase_line_parses_all_fields(void **st)
{
    (void)st;
    const char *l = "{\"type\":\"purchase\",\"event_id\":\"p1\",\"customer_id\":\"anna\","
                    "\"time\":\"2026-03-02T11:00:00+03:00\",\"partner\":\"s5\",\"currency\":"
                    "\"RUB\",\"attrs\":{\"birth_date\":\"1990-04-12\",\"member_since\":0,"
                    "\"account_status\":\"vip\"},\"lines\":[{\"sku\":\"a\",\"category\":\"c\","
                    "\"quantity\":2,\"amount\":120000,\"on_sale\":true}]}";
    eng_event_t ev;
    char err[256];
    assert_int_equal(eng_json_parse_event(l, strlen(l), &ev, err, sizeof(err)), 0);
    assert_int_equal(ev.kind, ENG_EV_PURCHASE);
    assert_int_equal(ev.time_ms, tp_t("2026-03-02T08:00:00Z"));
    assert_string_equal(ev.partner, "s5");
    assert_int_equal(ev.n_lines, 1);
    assert_int_equal(ev.lines[0].quantity, 2);
    assert_int_equal(ev.lines[0].amount, 120000);
    assert_true(ev.lines[0].on_sale);
    assert_true(ev.attrs.has_birth_date);
    assert_int_equal(ev.attrs.birth_month, 4);
    assert_int_equal(ev.attrs.birth_day, 12);
    assert_string_equal(ev.attrs.account_status, "vip");
}

static void expect_error(const char *line, const char *what)
{
    eng_event_t ev;
    char err[256];
    assert_int_equal(eng_json_parse_event(line, strlen(line), &ev, err, sizeof(err)), -1);
    if (!strstr(err, what))
        fail_msg("error '%s' does not contain '%s'", err, what);
}

static void test_bad_fields_are_named(void **st)
{
    (void)st;
    expect_error("{\"type\":\"purchase\",\"event_id\":\"p\",\"customer_id\":\"c\",\"time\":1,"
                 "\"lines\":[{\"amount\":\"12.50\"}]}",
                 "lines[0].amount: expected whole minor units");
    /* an amount in major units is the usual mistake: the message shows the convention */
    expect_error("{\"type\":\"purchase\",\"event_id\":\"p\",\"customer_id\":\"c\",\"time\":1,"
                 "\"lines\":[{\"amount\":15.50}]}",
                 "lines[0].amount: expected whole minor units (an integer: 15.50 in a currency "
                 "with 2 decimals is written 1550)");
    expect_error("{\"type\":\"gift\",\"event_id\":\"p\",\"customer_id\":\"c\",\"time\":1}",
                 "type: expected purchase, return or redemption");
    expect_error("{\"type\":\"purchase\",\"event_id\":\"p\",\"customer_id\":\"c\",\"time\":1,"
                 "\"colour\":1}",
                 "colour: unknown key");
    expect_error("{\"type\":\"purchase\",\"event_id\":\"p\",\"customer_id\":\"c\","
                 "\"time\":\"yesterday\"}",
                 "time: expected ms since the epoch or an RFC 3339 time");
    expect_error("{\"type\":\"purchase\",\"customer_id\":\"c\",\"time\":1}", "event_id: missing");
    expect_error("{\"type\":", "not JSON");
}

static void test_rfc3339_offsets_and_fractions(void **st)
{
    (void)st;
    int64_t a, b;
    assert_int_equal(eng_json_parse_time("2026-03-31T23:59:59.5+03:00", &a), 0);
    assert_int_equal(eng_json_parse_time("2026-03-31T20:59:59.500Z", &b), 0);
    assert_int_equal(a, b);
    assert_int_equal(eng_json_parse_time("2021-03-22T00:00:00+03:30", &a), 0);
    assert_int_equal(a, 1616358600000LL);
    char buf[40];
    eng_json_format_time(b, buf, sizeof(buf));
    assert_string_equal(buf, "2026-03-31T20:59:59.500Z");
    eng_json_format_time(0, buf, sizeof(buf));
    assert_string_equal(buf, "1970-01-01T00:00:00Z");
    assert_int_equal(eng_json_parse_time("2026-02-30T00:00:00Z", &a), -1);
    assert_int_equal(eng_json_parse_time("2024-02-29T00:00:00Z", &a), 0);
    assert_int_equal(eng_json_parse_time("2023-02-29T00:00:00Z", &a), -1);
    assert_int_equal(eng_json_parse_time("2026-03-31T20:59:59", &a), -1); /* no offset */
}

static void test_output_line_is_compact_and_ordered(void **st)
{
    (void)st;
    eng_output_t o;
    memset(&o, 0, sizeof(o));
    o.kind = ENG_OUT_EXPIRY_WARNING;
    snprintf(o.output_id, sizeof(o.output_id), "c:warning:1:0");
    snprintf(o.customer_id, sizeof(o.customer_id), "c");
    snprintf(o.currency, sizeof(o.currency), "RUB");
    o.time_ms = 1000;
    o.u.expiry_warning.points = 750;
    o.u.expiry_warning.expires_at = ENG_TIME_NEVER;
    o.u.expiry_warning.days_left = 30;
    json_t *j = eng_json_output(&o);
    char *line = eng_json_line(j);
    assert_string_equal(line, "{\"type\":\"ExpiryWarning\",\"output_id\":\"c:warning:1:0\","
                              "\"customer_id\":\"c\",\"time\":\"1970-01-01T00:00:01Z\","
                              "\"cause_id\":\"\",\"currency\":\"RUB\",\"points\":750,"
                              "\"expires_at\":null,\"days_left\":30}\n");
    free(line);
    json_decref(j);
}

static void test_event_round_trips_through_json(void **st)
{
    (void)st;
    eng_event_t a, b;
    tp_event(&a, ENG_EV_RETURN, "r1", "cust", "2026-05-05T05:05:05Z");
    snprintf(a.original_event_id, ENG_ID_MAX, "p1");
    tp_line(&a, "shoes", 1, 990000, true);
    json_t *j = eng_json_event(&a);
    char *line = eng_json_line(j);
    char err[256];
    assert_int_equal(eng_json_parse_event(line, strlen(line), &b, err, sizeof(err)), 0);
    assert_int_equal(b.kind, a.kind);
    assert_string_equal(b.original_event_id, "p1");
    assert_int_equal(b.time_ms, a.time_ms);
    assert_memory_equal(&b.lines[0], &a.lines[0], sizeof(eng_line_t));
    free(line);
    json_decref(j);
}

static void test_state_json_has_totals_and_balance(void **st)
{
    (void)st;
    eng_state_t s;
    eng_state_init(&s, "c", 1);
    s.total_earned = 10;
    s.n_lots = 1;
    s.lots[0].amount = s.lots[0].remaining = 10;
    s.lots[0].expires_at = ENG_TIME_NEVER;
    json_t *j = eng_json_state(&s);
    assert_int_equal(json_integer_value(json_object_get(j, "balance")), 10);
    assert_true(
        json_is_null(json_object_get(json_array_get(json_object_get(j, "lots"), 0), "expires_at")));
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_purchase_line_parses_all_fields),
        cmocka_unit_test(test_bad_fields_are_named),
        cmocka_unit_test(test_rfc3339_offsets_and_fractions),
        cmocka_unit_test(test_output_line_is_compact_and_ordered),
        cmocka_unit_test(test_event_round_trips_through_json),
        cmocka_unit_test(test_state_json_has_totals_and_balance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
