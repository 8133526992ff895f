/*
 * Tests of schemas/avro_codec: round trip of every record type, schema evolution through
 * configured writer schemas, validation reasons, and hostile bytes (every one must end in
 * a dead-letter reason, never a crash: this test also runs under ASan+UBSan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "avro_codec.h"
#include "avro_codec_int.h"
#include "avro_json.h"
#include "frame.h"
#include "test_mutate_util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static avro_codec_t *codec;
static char err[512], msg[512];

static int setup(void **state)
{
    (void)state;
    avro_codec_config_t cfg;
    avro_codec_config_defaults(&cfg);
    codec = avro_codec_new(&cfg, err, sizeof(err));
    if (!codec)
        fprintf(stderr, "avro_codec_new: %s\n", err);
    return codec ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    avro_codec_destroy(codec);
    return 0;
}

static void sample_purchase(eng_event_t *ev)
{
    memset(ev, 0, sizeof(*ev));
    ev->kind = ENG_EV_PURCHASE;
    strcpy(ev->event_id, "evt-0001");
    strcpy(ev->customer_id, "cust-42");
    ev->time_ms = 1767225600123;
    strcpy(ev->partner, "store-7");
    strcpy(ev->currency, "RUB");
    ev->attrs.has_birth_date = true;
    ev->attrs.birth_month = 2;
    ev->attrs.birth_day = 29;
    ev->attrs.has_member_since = true;
    ev->attrs.member_since = 1600000000000;
    strcpy(ev->attrs.account_status, "gold_card");
    ev->n_lines = 2;
    strcpy(ev->lines[0].sku, "lens-pair");
    strcpy(ev->lines[0].category, "lenses");
    ev->lines[0].quantity = 2;
    ev->lines[0].amount = 500000;
    strcpy(ev->lines[1].sku, "cleaner");
    strcpy(ev->lines[1].category, "consumables");
    ev->lines[1].quantity = 1;
    ev->lines[1].amount = 0;
    ev->lines[1].on_sale = true;
}

/* Bytes of the event part that a decode defines: the header and the used lines. */
static void assert_event_equal(const eng_event_t *a, const eng_event_t *b)
{
    assert_int_equal(a->n_lines, b->n_lines);
    assert_memory_equal(a, b, offsetof(eng_event_t, lines));
    assert_memory_equal(a->lines, b->lines, a->n_lines * sizeof(eng_line_t));
}

static void round_trip_event(const eng_event_t *in)
{
    const uint8_t *buf;
    size_t len;
    eng_event_t out;
    assert_int_equal(avro_codec_encode_event(codec, in, &buf, &len, err, sizeof(err)), 0);
    assert_int_equal(buf[0], 0);
    uint8_t *copy = malloc(len);
    memcpy(copy, buf, len);
    memset(&out, 0xAB, sizeof(out));
    dlq_reason_t r = avro_codec_decode_event(codec, in->customer_id, strlen(in->customer_id), copy,
                                             len, &out, msg, sizeof(msg));
    if (r != DLQ_OK)
        fail_msg("decode: %s: %s", dlq_reason_name(r), msg);
    assert_event_equal(in, &out);
    free(copy);
}

static void test_purchase_round_trip(void **state)
{
    (void)state;
    eng_event_t ev;
    sample_purchase(&ev);
    round_trip_event(&ev);
    memset(&ev.attrs, 0, sizeof(ev.attrs)); /* no attributes: attrs is null */
    round_trip_event(&ev);
}

static void test_return_round_trip(void **state)
{
    (void)state;
    eng_event_t ev;
    sample_purchase(&ev);
    ev.kind = ENG_EV_RETURN;
    memset(&ev.attrs, 0, sizeof(ev.attrs));
    memset(ev.partner, 0, sizeof(ev.partner)); /* a return carries no partner */
    strcpy(ev.original_event_id, "evt-0000");
    round_trip_event(&ev);
}

static void test_redemption_round_trip(void **state)
{
    (void)state;
    eng_event_t ev;
    sample_purchase(&ev);
    ev.kind = ENG_EV_REDEMPTION;
    memset(&ev.attrs, 0, sizeof(ev.attrs));
    ev.points = 1500;
    round_trip_event(&ev);
    ev.n_lines = 0; /* a redemption may come without a basket */
    round_trip_event(&ev);
}

static void fill_output(eng_output_t *o, eng_out_kind_t kind)
{
    memset(o, 0, sizeof(*o));
    o->kind = kind;
    snprintf(o->output_id, sizeof(o->output_id), "evt-9:%d", (int)kind);
    strcpy(o->customer_id, "cust-42");
    o->time_ms = 1767225600000 + kind;
    if (kind % 2)
        strcpy(o->cause_id, "evt-9"); /* even kinds: caused by a timer (null cause) */
    strcpy(o->currency, "EUR");
    switch (kind) {
    case ENG_OUT_TIER_CHANGED:
        strcpy(o->u.tier_changed.from_tier, "Silver");
        strcpy(o->u.tier_changed.to_tier, "Blue");
        o->u.tier_changed.direction = -1;
        strcpy(o->u.tier_changed.reason, "inactivity");
        o->u.tier_changed.qualifying_value = 123456;
        break;
    case ENG_OUT_BONUS_EARNED:
        o->u.bonus_earned.points = 750;
        o->u.bonus_earned.rate_bp = 1500;
        strcpy(o->u.bonus_earned.tier, "Gold");
        strcpy(o->u.bonus_earned.source, "period");
        o->u.bonus_earned.usable_from = 1767225600001;
        o->u.bonus_earned.expires_at = 1769903999999;
        strcpy(o->u.bonus_earned.period, "2025-12");
        o->u.bonus_earned.correction = 1;
        break;
    case ENG_OUT_EXPIRY_WARNING:
        o->u.expiry_warning.points = 100;
        o->u.expiry_warning.expires_at = 1769903999999;
        o->u.expiry_warning.days_left = 7;
        break;
    case ENG_OUT_POINTS_EXPIRED:
        o->u.points_expired.points = 90;
        o->u.points_expired.expired_at = 1769903999999;
        break;
    case ENG_OUT_POINTS_REVERSED:
        o->u.points_reversed.points = 40;
        o->u.points_reversed.debt_added = 10;
        strcpy(o->u.points_reversed.original_event_id, "evt-1");
        strcpy(o->u.points_reversed.reason, "period_correction");
        strcpy(o->u.points_reversed.period, "2025-12");
        break;
    case ENG_OUT_POINTS_REDEEMED:
        o->u.points_redeemed.points = 300;
        o->u.points_redeemed.value = 30000;
        o->u.points_redeemed.balance_after = 12;
        break;
    case ENG_OUT_REDEMPTION_REJECTED:
        o->u.redemption_rejected.points_requested = 500;
        o->u.redemption_rejected.points_available = 12;
        strcpy(o->u.redemption_rejected.reason, "insufficient_points");
        break;
    case ENG_OUT_REWARD_EARNED:
        strcpy(o->u.reward_earned.reward, "free_item");
        strcpy(o->u.reward_earned.category, "lenses");
        o->u.reward_earned.stamps_used = 10;
        break;
    case ENG_OUT_TIER_WILL_DOWNGRADE:
        strcpy(o->u.tier_will_downgrade.from_tier, "Gold");
        strcpy(o->u.tier_will_downgrade.to_tier, "Silver");
        o->u.tier_will_downgrade.effective_at = 1769903999999;
        o->u.tier_will_downgrade.days_left = 30;
        break;
    case ENG_OUT_TIER_PROGRESS:
        strcpy(o->u.tier_progress.current_tier, "Silver");
        strcpy(o->u.tier_progress.next_tier, "Gold");
        o->u.tier_progress.current_value = 1800000;
        o->u.tier_progress.missing = 200000;
        break;
    default:
        break;
    }
}

static void test_every_output_round_trip(void **state)
{
    (void)state;
    for (int k = 0; k < ENG_OUT_KIND_COUNT; k++) {
        eng_output_t in, out;
        const uint8_t *buf;
        size_t len;
        int32_t id;
        const uint8_t *payload;
        size_t plen;
        fill_output(&in, (eng_out_kind_t)k);
        assert_int_equal(avro_codec_encode_output(codec, &in, &buf, &len, err, sizeof(err)), 0);
        assert_int_equal(frame_parse(buf, len, &id, &payload, &plen), FRAME_OK);
        assert_int_equal(id, avro_codec_schema_id(codec, k));
        dlq_reason_t r = avro_codec_decode_output(codec, buf, len, &out, msg, sizeof(msg));
        if (r != DLQ_OK)
            fail_msg("%s: %s: %s", avro_codec_type_name(k), dlq_reason_name(r), msg);
        assert_memory_equal(&in, &out, sizeof(in));
    }
}

static void test_bonus_that_never_expires_has_null_expiry(void **state)
{
    (void)state;
    eng_output_t in, out;
    const uint8_t *buf;
    size_t len;
    char *json;
    int type;
    int32_t id;
    fill_output(&in, ENG_OUT_BONUS_EARNED);
    in.u.bonus_earned.expires_at = ENG_TIME_NEVER;
    assert_int_equal(avro_codec_encode_output(codec, &in, &buf, &len, err, sizeof(err)), 0);
    assert_int_equal(avro_codec_decode_output(codec, buf, len, &out, msg, sizeof(msg)), DLQ_OK);
    assert_true(out.u.bonus_earned.expires_at == ENG_TIME_NEVER);
    assert_int_equal(avro_codec_to_json(codec, buf, len, &json, &type, &id, msg, sizeof(msg)),
                     DLQ_OK);
    assert_int_equal(type, ENG_OUT_BONUS_EARNED);
    assert_non_null(strstr(json, "\"expires_at\": null"));
    free(json);
}

static void test_output_with_bad_direction_is_refused(void **state)
{
    (void)state;
    eng_output_t o;
    const uint8_t *buf;
    size_t len;
    fill_output(&o, ENG_OUT_TIER_CHANGED);
    o.u.tier_changed.direction = 0;
    assert_int_equal(avro_codec_encode_output(codec, &o, &buf, &len, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "TierChanged"));
}

static void test_reused_arrays_are_reset_between_records(void **state)
{
    (void)state;
    eng_event_t ev, out;
    const uint8_t *buf;
    size_t len;
    sample_purchase(&ev);
    ev.n_lines = 2;
    assert_int_equal(avro_codec_encode_event(codec, &ev, &buf, &len, err, sizeof(err)), 0);
    assert_int_equal(avro_codec_decode_event(codec, NULL, 0, buf, len, &out, msg, sizeof(msg)),
                     DLQ_OK);
    ev.n_lines = 1;
    assert_int_equal(avro_codec_encode_event(codec, &ev, &buf, &len, err, sizeof(err)), 0);
    assert_int_equal(avro_codec_decode_event(codec, NULL, 0, buf, len, &out, msg, sizeof(msg)),
                     DLQ_OK);
    assert_int_equal(out.n_lines, 1);
}

static void test_large_event_grows_the_output_buffer(void **state)
{
    (void)state;
    eng_event_t ev;
    sample_purchase(&ev);
    ev.n_lines = ENG_LINES_MAX;
    for (int i = 0; i < ENG_LINES_MAX; i++) {
        memset(ev.lines[i].sku, 'a' + i % 26, ENG_ID_MAX - 1);
        ev.lines[i].sku[ENG_ID_MAX - 1] = '\0';
        memset(ev.lines[i].category, 'k', ENG_NAME_MAX - 1);
        ev.lines[i].category[ENG_NAME_MAX - 1] = '\0';
        ev.lines[i].quantity = i + 1;
        ev.lines[i].amount = 1000000000LL * i;
    }
    round_trip_event(&ev); /* > 6 KiB: more than the initial 4 KiB buffer */
}

static void test_unterminated_string_is_refused_not_truncated(void **state)
{
    (void)state;
    eng_event_t ev;
    const uint8_t *buf;
    size_t len;
    sample_purchase(&ev);
    memset(ev.customer_id, 'x', sizeof(ev.customer_id));
    assert_int_equal(avro_codec_encode_event(codec, &ev, &buf, &len, err, sizeof(err)), -1);
}

/* ------------------------------------------------------------------ JSON (tools) */

static const char *purchase_json =
    "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"time\":1700000000000,\"currency\":\"USD\","
    "\"payload\":{\"Purchase\":{\"partner\":\"\",\"lines\":[{\"sku\":\"s\",\"category\":"
    "\"food\",\"quantity\":1,\"amount\":%s,\"on_sale\":false}],\"attrs\":null}}}";

/* Encode a JSON input event, then decode it: the reason. */
static dlq_reason_t decode_json(const char *json)
{
    const uint8_t *buf;
    size_t len;
    eng_event_t ev;
    if (avro_codec_from_json(codec, AVRO_CODEC_TYPE_INPUT, json, &buf, &len, err, sizeof(err)) != 0)
        fail_msg("from_json: %s", err);
    return avro_codec_decode_event(codec, NULL, 0, buf, len, &ev, msg, sizeof(msg));
}

static void test_json_round_trip_is_byte_identical(void **state)
{
    (void)state;
    eng_event_t ev;
    const uint8_t *buf;
    size_t len;
    char *json;
    int type;
    int32_t id;
    sample_purchase(&ev);
    assert_int_equal(avro_codec_encode_event(codec, &ev, &buf, &len, err, sizeof(err)), 0);
    uint8_t *first = malloc(len);
    size_t first_len = len;
    memcpy(first, buf, len);
    assert_int_equal(
        avro_codec_to_json(codec, first, first_len, &json, &type, &id, msg, sizeof(msg)), DLQ_OK);
    assert_int_equal(type, AVRO_CODEC_TYPE_INPUT);
    assert_int_equal(avro_codec_from_json(codec, type, json, &buf, &len, err, sizeof(err)), 0);
    assert_int_equal(len, first_len);
    assert_memory_equal(buf, first, len);
    free(json);
    free(first);
}

static void test_json_with_unknown_key_is_refused(void **state)
{
    (void)state;
    const uint8_t *buf;
    size_t len;
    assert_int_equal(avro_codec_from_json(codec, AVRO_CODEC_TYPE_INPUT,
                                          "{\"event_id\":\"e\",\"custmer_id\":\"c\"}", &buf, &len,
                                          err, sizeof(err)),
                     -1);
}

/* ------------------------------------------------------------------ validation */

static void test_negative_amount_is_a_dead_letter(void **state)
{
    (void)state;
    char json[1024];
    snprintf(json, sizeof(json), purchase_json, "-5");
    assert_int_equal(decode_json(json), DLQ_NEGATIVE_AMOUNT);
    snprintf(json, sizeof(json), purchase_json, "5");
    assert_int_equal(decode_json(json), DLQ_OK);
}

static void test_missing_customer_and_event_id_are_dead_letters(void **state)
{
    (void)state;
    eng_event_t ev;
    const uint8_t *buf;
    size_t len;
    sample_purchase(&ev);
    ev.customer_id[0] = '\0';
    assert_int_equal(avro_codec_encode_event(codec, &ev, &buf, &len, err, sizeof(err)), 0);
    assert_int_equal(avro_codec_decode_event(codec, NULL, 0, buf, len, &ev, msg, sizeof(msg)),
                     DLQ_MISSING_CUSTOMER);
    sample_purchase(&ev);
    ev.event_id[0] = '\0';
    assert_int_equal(avro_codec_encode_event(codec, &ev, &buf, &len, err, sizeof(err)), 0);
    assert_int_equal(avro_codec_decode_event(codec, NULL, 0, buf, len, &ev, msg, sizeof(msg)),
                     DLQ_MISSING_EVENT_ID);
}

static void test_unknown_currency_is_a_dead_letter(void **state)
{
    (void)state;
    const char *bad[] = {"ABC", "usd", "US", "", "XXX"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        eng_event_t ev;
        const uint8_t *buf;
        size_t len;
        sample_purchase(&ev);
        snprintf(ev.currency, sizeof(ev.currency), "%s", bad[i]);
        assert_int_equal(avro_codec_encode_event(codec, &ev, &buf, &len, err, sizeof(err)), 0);
        dlq_reason_t r = avro_codec_decode_event(codec, NULL, 0, buf, len, &ev, msg, sizeof(msg));
        assert_int_equal(r, DLQ_UNKNOWN_CURRENCY);
    }
    /* "USDX" does not fit the struct's 4 bytes: too long, never cut to "USD". */
    assert_int_equal(decode_json("{\"event_id\":\"e\",\"customer_id\":\"c\",\"time\":1,"
                                 "\"currency\":\"USDX\",\"payload\":{\"Redemption\":"
                                 "{\"points\":3,\"partner\":\"\",\"lines\":[]}}}"),
                     DLQ_FIELD_TOO_LONG);
    assert_true(avro_codec_currency_known("RUB"));
    assert_true(avro_codec_currency_known("AED"));
    assert_true(avro_codec_currency_known("ZWL"));
}

static void test_too_many_lines_is_a_dead_letter(void **state)
{
    (void)state;
    json_t *j = json_loads("{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"time\":1,"
                           "\"currency\":\"USD\",\"payload\":{\"Purchase\":{\"partner\":\"\","
                           "\"lines\":[]}}}",
                           0, NULL);
    json_t *lines =
        json_object_get(json_object_get(json_object_get(j, "payload"), "Purchase"), "lines");
    for (int i = 0; i < ENG_LINES_MAX + 1; i++)
        json_array_append_new(lines, json_pack("{s:s,s:s,s:i,s:i,s:b}", "sku", "s", "category", "c",
                                               "quantity", 1, "amount", 1, "on_sale", 0));
    char *text = json_dumps(j, 0);
    assert_int_equal(decode_json(text), DLQ_TOO_MANY_LINES);
    json_array_remove(lines, 0);
    free(text);
    text = json_dumps(j, 0);
    assert_int_equal(decode_json(text), DLQ_OK);
    free(text);
    json_decref(j);
}

static void test_too_long_id_is_a_dead_letter_never_truncated(void **state)
{
    (void)state;
    char id[ENG_ID_MAX + 1], json[1024];
    memset(id, 'c', ENG_ID_MAX);
    id[ENG_ID_MAX] = '\0'; /* 64 bytes: one more than fits */
    snprintf(json, sizeof(json),
             "{\"event_id\":\"e1\",\"customer_id\":\"%s\",\"time\":1,\"currency\":\"USD\","
             "\"payload\":{\"Redemption\":{\"points\":5,\"partner\":\"\",\"lines\":[]}}}",
             id);
    assert_int_equal(decode_json(json), DLQ_FIELD_TOO_LONG);
    assert_non_null(strstr(msg, "customer_id"));
    id[ENG_ID_MAX - 1] = '\0'; /* 63 bytes fit */
    snprintf(json, sizeof(json),
             "{\"event_id\":\"e1\",\"customer_id\":\"%s\",\"time\":1,\"currency\":\"USD\","
             "\"payload\":{\"Redemption\":{\"points\":5,\"partner\":\"\",\"lines\":[]}}}",
             id);
    assert_int_equal(decode_json(json), DLQ_OK);
}

static void test_invalid_values_are_dead_letters(void **state)
{
    (void)state;
    const char *cases[] = {
        /* quantity 0 */
        "{\"event_id\":\"e\",\"customer_id\":\"c\",\"time\":1,\"currency\":\"USD\",\"payload\":"
        "{\"Purchase\":{\"lines\":[{\"sku\":\"s\",\"category\":\"c\",\"quantity\":0,"
        "\"amount\":1,\"on_sale\":false}],\"partner\":\"\"}}}",
        /* a purchase without lines */
        "{\"event_id\":\"e\",\"customer_id\":\"c\",\"time\":1,\"currency\":\"USD\",\"payload\":"
        "{\"Purchase\":{\"lines\":[],\"partner\":\"\"}}}",
        /* birth month 13 */
        "{\"event_id\":\"e\",\"customer_id\":\"c\",\"time\":1,\"currency\":\"USD\",\"payload\":"
        "{\"Purchase\":{\"partner\":\"\",\"lines\":[{\"sku\":\"s\",\"category\":\"c\","
        "\"quantity\":1,\"amount\":1,\"on_sale\":false}],\"attrs\":{\"CustomerAttributes\":{"
        "\"birth_month\":13,"
        "\"birth_day\":1}}}}}",
        /* a birth day without its month, then a month without its day */
        "{\"event_id\":\"e\",\"customer_id\":\"c\",\"time\":1,\"currency\":\"USD\",\"payload\":"
        "{\"Purchase\":{\"partner\":\"\",\"lines\":[{\"sku\":\"s\",\"category\":\"c\","
        "\"quantity\":1,\"amount\":1,\"on_sale\":false}],\"attrs\":{\"CustomerAttributes\":{"
        "\"birth_month\":null,\"birth_day\":{\"int\":4},\"member_since\":null,"
        "\"account_status\":null}}}}}",
        "{\"event_id\":\"e\",\"customer_id\":\"c\",\"time\":1,\"currency\":\"USD\",\"payload\":"
        "{\"Purchase\":{\"partner\":\"\",\"lines\":[{\"sku\":\"s\",\"category\":\"c\","
        "\"quantity\":1,\"amount\":1,\"on_sale\":false}],\"attrs\":{\"CustomerAttributes\":{"
        "\"birth_month\":{\"int\":4},\"birth_day\":null,\"member_since\":null,"
        "\"account_status\":null}}}}}",
        /* a NUL inside a string */
        "{\"event_id\":\"e\\u0000x\",\"customer_id\":\"c\",\"time\":1,\"currency\":\"USD\","
        "\"payload\":{\"Redemption\":{\"points\":5,\"partner\":\"\",\"lines\":[]}}}",
        /* zero points */
        "{\"event_id\":\"e\",\"customer_id\":\"c\",\"time\":1,\"currency\":\"USD\",\"payload\":"
        "{\"Redemption\":{\"points\":0,\"partner\":\"\",\"lines\":[]}}}",
        /* a return that names no purchase */
        "{\"event_id\":\"e\",\"customer_id\":\"c\",\"time\":1,\"currency\":\"USD\",\"payload\":"
        "{\"Return\":{\"original_event_id\":\"\",\"lines\":[{\"sku\":\"s\",\"category\":\"c\","
        "\"quantity\":1,\"amount\":1,\"on_sale\":false}]}}}",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dlq_reason_t r = decode_json(cases[i]);
        if (r != DLQ_INVALID_VALUE)
            fail_msg("case %zu: %s (%s)", i, dlq_reason_name(r), msg);
    }
    assert_int_equal(decode_json("{\"event_id\":\"e\",\"customer_id\":\"c\",\"time\":1,"
                                 "\"currency\":\"USD\",\"payload\":{\"Redemption\":"
                                 "{\"points\":-3,\"partner\":\"\",\"lines\":[]}}}"),
                     DLQ_NEGATIVE_AMOUNT);
}

static void test_string_that_is_not_utf8_is_a_dead_letter(void **state)
{
    (void)state;
    const char *bad[] = {"c\x80", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "ab\xE2\x82"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        eng_event_t ev;
        const uint8_t *buf;
        size_t len;
        sample_purchase(&ev);
        snprintf(ev.customer_id, sizeof(ev.customer_id), "%s", bad[i]);
        assert_int_equal(avro_codec_encode_event(codec, &ev, &buf, &len, err, sizeof(err)), 0);
        assert_int_equal(avro_codec_decode_event(codec, NULL, 0, buf, len, &ev, msg, sizeof(msg)),
                         DLQ_INVALID_VALUE);
    }
    eng_event_t ev;
    const uint8_t *buf;
    size_t len;
    sample_purchase(&ev);
    strcpy(ev.customer_id, "Ирина-€-\xF0\x9F\x8E\x81"); /* 2-, 3- and 4-byte characters */
    assert_int_equal(avro_codec_encode_event(codec, &ev, &buf, &len, err, sizeof(err)), 0);
    assert_int_equal(avro_codec_decode_event(codec, NULL, 0, buf, len, &ev, msg, sizeof(msg)),
                     DLQ_OK);
}

static void test_key_other_than_customer_is_a_dead_letter(void **state)
{
    (void)state;
    eng_event_t ev;
    const uint8_t *buf;
    size_t len;
    sample_purchase(&ev);
    assert_int_equal(avro_codec_encode_event(codec, &ev, &buf, &len, err, sizeof(err)), 0);
    assert_int_equal(avro_codec_decode_event(codec, "cust-4", 6, buf, len, &ev, msg, sizeof(msg)),
                     DLQ_KEY_MISMATCH);
}

/* ------------------------------------------------------------------ evolution */

/* Our input schema with a change applied by edit(record) to the named record. */
static char *edited_input_schema(const char *record, void (*edit)(json_t *fields))
{
    json_t *root = json_loads(avro_codec_schema_json(AVRO_CODEC_TYPE_INPUT), 0, NULL);
    json_t *stack[16];
    int n = 0;
    stack[n++] = root;
    while (n > 0) { /* find the record definition anywhere in the schema */
        json_t *j = stack[--n];
        if (json_is_object(j)) {
            json_t *name = json_object_get(j, "name");
            if (json_is_string(name) && strcmp(json_string_value(name), record) == 0 &&
                json_object_get(j, "fields"))
                edit(json_object_get(j, "fields"));
            const char *k;
            json_t *v;
            json_object_foreach(j, k, v) if (n < 16 && (json_is_object(v) || json_is_array(v)))
                stack[n++] = v;
        } else if (json_is_array(j)) {
            size_t i;
            json_t *v;
            json_array_foreach(j, i, v) if (n < 16) stack[n++] = v;
        }
    }
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}

static void add_channel(json_t *fields)
{
    json_array_append_new(
        fields, json_pack("{s:s,s:s,s:s}", "name", "channel", "type", "string", "default", "web"));
}

static void drop_optional(json_t *fields)
{
    for (size_t i = json_array_size(fields); i-- > 0;) {
        const char *name = json_string_value(json_object_get(json_array_get(fields, i), "name"));
        if (strcmp(name, "attrs") == 0 || strcmp(name, "partner") == 0 ||
            strcmp(name, "on_sale") == 0)
            json_array_remove(fields, i);
    }
}

static void drop_customer(json_t *fields)
{
    json_array_remove(fields, 1); /* customer_id: required, no default */
}

static void amount_as_int(json_t *fields)
{
    for (size_t i = 0; i < json_array_size(fields); i++) {
        json_t *f = json_array_get(fields, i);
        if (strcmp(json_string_value(json_object_get(f, "name")), "amount") == 0)
            json_object_set_new(f, "type", json_string("int"));
    }
}

/* Encode json with writer schema text under id (with avro-c directly, as a producer with
 * another schema would), and decode it with our codec. */
static dlq_reason_t decode_as_writer(int32_t id, const char *schema_text, const char *json,
                                     eng_event_t *ev)
{
    assert_int_equal(avro_codec_add_writer_schema(codec, id, schema_text, err, sizeof(err)), 0);
    avro_schema_t ws;
    assert_int_equal(avro_schema_from_json_length(schema_text, strlen(schema_text), &ws), 0);
    avro_value_iface_t *iface = avro_generic_class_from_schema(ws);
    avro_value_t v;
    avro_generic_value_new(iface, &v);
    assert_int_equal(avro_json_to_value(json, &v, err, sizeof(err)), 0);
    uint8_t buf[4096];
    avro_writer_t w = avro_writer_memory((char *)buf + 5, sizeof(buf) - 5);
    assert_int_equal(avro_value_write(w, &v), 0);
    size_t len = 5 + (size_t)avro_writer_tell(w);
    frame_write_header(buf, id);
    dlq_reason_t r = avro_codec_decode_event(codec, NULL, 0, buf, len, ev, msg, sizeof(msg));
    avro_writer_free(w);
    avro_value_decref(&v);
    avro_value_iface_decref(iface);
    avro_schema_decref(ws);
    return r;
}

static void test_writer_that_adds_a_field_with_default_is_read(void **state)
{
    (void)state;
    char *schema = edited_input_schema("InputEvent", add_channel);
    eng_event_t ev;
    dlq_reason_t r = decode_as_writer(
        500, schema,
        "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"time\":7,\"currency\":\"USD\","
        "\"channel\":\"app\",\"payload\":{\"Purchase\":{\"partner\":\"p\",\"lines\":[{\"sku\":"
        "\"s\",\"category\":\"c\",\"quantity\":3,\"amount\":99,\"on_sale\":true}]}}}",
        &ev);
    if (r != DLQ_OK)
        fail_msg("%s: %s", dlq_reason_name(r), msg);
    assert_string_equal(ev.customer_id, "c1");
    assert_int_equal(ev.lines[0].amount, 99);
    assert_true(ev.lines[0].on_sale);
    free(schema);
}

/* PointsReversed gained `reason` (appended, default "return"): a record written with the
 * schema before it reads as a return's. */
static void test_points_reversed_without_reason_reads_as_return(void **state)
{
    (void)state;
    json_t *root = json_loads(avro_codec_schema_json(ENG_OUT_POINTS_REVERSED), 0, NULL);
    json_t *fields = json_object_get(root, "fields");
    size_t at = json_array_size(fields); /* the reason field, and whatever came after it */
    for (size_t i = 0; i < json_array_size(fields); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(fields, i), "name")),
                   "reason") == 0)
            at = i;
    assert_true(at < json_array_size(fields));
    assert_string_equal(json_string_value(json_object_get(json_array_get(fields, at), "default")),
                        "return");
    while (json_array_size(fields) > at)
        json_array_remove(fields, at);
    char *old = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    assert_int_equal(avro_codec_add_writer_schema(codec, 600, old, err, sizeof(err)), 0);
    avro_schema_t ws;
    assert_int_equal(avro_schema_from_json_length(old, strlen(old), &ws), 0);
    avro_value_iface_t *iface = avro_generic_class_from_schema(ws);
    avro_value_t v;
    avro_generic_value_new(iface, &v);
    assert_int_equal(avro_json_to_value("{\"output_id\":\"r1:0\",\"customer_id\":\"c1\",\"time\":"
                                        "7,\"cause_id\":{\"string\":\"r1\"},\"currency\":\"RUB\","
                                        "\"points\":12,\"debt_added\":0,\"original_event_id\":"
                                        "\"p1\"}",
                                        &v, err, sizeof(err)),
                     0);
    uint8_t buf[1024];
    avro_writer_t w = avro_writer_memory((char *)buf + 5, sizeof(buf) - 5);
    assert_int_equal(avro_value_write(w, &v), 0);
    size_t len = 5 + (size_t)avro_writer_tell(w);
    frame_write_header(buf, 600);
    eng_output_t o;
    dlq_reason_t r = avro_codec_decode_output(codec, buf, len, &o, msg, sizeof(msg));
    if (r != DLQ_OK)
        fail_msg("%s: %s", dlq_reason_name(r), msg);
    assert_int_equal(o.kind, ENG_OUT_POINTS_REVERSED);
    assert_int_equal(o.u.points_reversed.points, 12);
    assert_string_equal(o.u.points_reversed.original_event_id, "p1");
    assert_string_equal(o.u.points_reversed.reason, "return");
    avro_writer_free(w);
    avro_value_decref(&v);
    avro_value_iface_decref(iface);
    avro_schema_decref(ws);
    free(old);
}

static void test_writer_that_drops_optional_fields_gets_defaults(void **state)
{
    (void)state;
    char *schema = edited_input_schema("Purchase", drop_optional); /* no partner, no attrs */
    eng_event_t ev;
    memset(&ev, 0x55, sizeof(ev));
    dlq_reason_t r = decode_as_writer(
        501, schema,
        "{\"event_id\":\"e2\",\"customer_id\":\"c2\",\"time\":8,\"currency\":\"EUR\","
        "\"payload\":{\"Purchase\":{\"lines\":[{\"sku\":\"s\",\"category\":\"c\",\"quantity\":1,"
        "\"amount\":5,\"on_sale\":false}]}}}",
        &ev);
    if (r != DLQ_OK)
        fail_msg("%s: %s", dlq_reason_name(r), msg);
    assert_string_equal(ev.partner, ""); /* the reader's default */
    assert_false(ev.attrs.has_birth_date);
    assert_false(ev.attrs.has_member_since);
    assert_string_equal(ev.attrs.account_status, "");
    free(schema);
}

static void test_writer_line_without_on_sale_reads_false(void **state)
{
    (void)state;
    char *schema = edited_input_schema("Line", drop_optional);
    eng_event_t ev;
    dlq_reason_t r = decode_as_writer(
        502, schema,
        "{\"event_id\":\"e3\",\"customer_id\":\"c3\",\"time\":9,\"currency\":\"EUR\","
        "\"payload\":{\"Purchase\":{\"partner\":\"\",\"lines\":[{\"sku\":\"s\",\"category\":"
        "\"c\",\"quantity\":1,\"amount\":5}]}}}",
        &ev);
    if (r != DLQ_OK)
        fail_msg("%s: %s", dlq_reason_name(r), msg);
    assert_false(ev.lines[0].on_sale);
    free(schema);
}

static void test_writer_without_a_required_field_is_incompatible(void **state)
{
    (void)state;
    char *schema = edited_input_schema("InputEvent", drop_customer);
    eng_event_t ev;
    assert_int_equal(
        decode_as_writer(
            503, schema,
            "{\"event_id\":\"e4\",\"time\":9,\"currency\":\"EUR\","
            "\"payload\":{\"Redemption\":{\"points\":5,\"partner\":\"\",\"lines\":[]}}}",
            &ev),
        DLQ_INCOMPATIBLE_SCHEMA);
    free(schema);
}

static void test_writer_int_amount_is_promoted_to_long(void **state)
{
    (void)state;
    char *schema = edited_input_schema("Line", amount_as_int);
    eng_event_t ev;
    dlq_reason_t r = decode_as_writer(
        504, schema,
        "{\"event_id\":\"e5\",\"customer_id\":\"c5\",\"time\":9,\"currency\":\"EUR\","
        "\"payload\":{\"Purchase\":{\"partner\":\"\",\"lines\":[{\"sku\":\"s\",\"category\":"
        "\"c\",\"quantity\":1,\"amount\":2147483647,\"on_sale\":false}]}}}",
        &ev);
    if (r != DLQ_OK)
        fail_msg("%s: %s", dlq_reason_name(r), msg);
    assert_int_equal(ev.lines[0].amount, 2147483647);
    free(schema);
}

/* ------------------------------------------------------------------ hostile input */

static size_t valid_record(uint8_t *out, size_t cap)
{
    eng_event_t ev;
    const uint8_t *buf;
    size_t len;
    sample_purchase(&ev);
    assert_int_equal(avro_codec_encode_event(codec, &ev, &buf, &len, err, sizeof(err)), 0);
    assert_true(len <= cap);
    memcpy(out, buf, len);
    return len;
}

static dlq_reason_t decode_bytes(const uint8_t *b, size_t len)
{
    eng_event_t ev;
    return avro_codec_decode_event(codec, NULL, 0, b, len, &ev, msg, sizeof(msg));
}

static void test_short_records_are_truncated(void **state)
{
    (void)state;
    uint8_t b[5] = {0, 0, 0, 0, 1};
    assert_int_equal(decode_bytes(NULL, 0), DLQ_TRUNCATED);
    assert_int_equal(decode_bytes(b, 3), DLQ_TRUNCATED);
    assert_int_equal(decode_bytes(b, 5), DLQ_TRUNCATED); /* a header and no data */
}

static void test_wrong_magic_byte(void **state)
{
    (void)state;
    uint8_t b[512];
    size_t len = valid_record(b, sizeof(b));
    b[0] = 1;
    assert_int_equal(decode_bytes(b, len), DLQ_BAD_MAGIC);
    b[0] = '{'; /* somebody produced JSON */
    assert_int_equal(decode_bytes(b, len), DLQ_BAD_MAGIC);
}

static void test_unknown_schema_id(void **state)
{
    (void)state;
    uint8_t b[512];
    size_t len = valid_record(b, sizeof(b));
    frame_write_header(b, 77777);
    assert_int_equal(decode_bytes(b, len), DLQ_UNKNOWN_SCHEMA_ID);
    frame_write_header(b, avro_codec_schema_id(codec, ENG_OUT_BONUS_EARNED));
    assert_int_not_equal(decode_bytes(b, len), DLQ_OK); /* an output schema is not an input */
}

static void test_every_truncation_of_a_record_is_a_dead_letter(void **state)
{
    (void)state;
    uint8_t b[512];
    size_t len = valid_record(b, sizeof(b));
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1); /* exact size: ASan sees any overread */
        memcpy(copy, b, cut);
        dlq_reason_t r = decode_bytes(copy, cut);
        if (r != DLQ_TRUNCATED && r != DLQ_MALFORMED)
            fail_msg("cut at %zu: %s", cut, dlq_reason_name(r));
        free(copy);
    }
}

static void test_trailing_bytes_are_malformed(void **state)
{
    (void)state;
    uint8_t b[512];
    size_t len = valid_record(b, sizeof(b));
    b[len] = 0;
    assert_int_equal(decode_bytes(b, len + 1), DLQ_MALFORMED);
}

/* A record whose event_id string declares length `zigzag` (raw varint bytes given). */
static dlq_reason_t with_event_id_length(const uint8_t *varint, size_t n)
{
    uint8_t b[64] = {0, 0, 0, 0, 1};
    memcpy(b + 5, varint, n);
    memcpy(b + 5 + n, "abcdefgh", 8);
    return decode_bytes(b, 5 + n + 8);
}

static void test_huge_and_negative_length_prefixes(void **state)
{
    (void)state;
    const uint8_t huge[] = {0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F}; /* 2^62 */
    const uint8_t negative[] = {0x01};                                             /* -1 */
    const uint8_t neg_big[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F};
    const uint8_t too_long_varint[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                       0xFF, 0xFF, 0xFF, 0xFF, 0x01};
    assert_int_equal(with_event_id_length(huge, sizeof(huge)), DLQ_TRUNCATED);
    assert_int_equal(with_event_id_length(negative, sizeof(negative)), DLQ_MALFORMED);
    assert_int_equal(with_event_id_length(neg_big, sizeof(neg_big)), DLQ_MALFORMED);
    assert_int_equal(with_event_id_length(too_long_varint, sizeof(too_long_varint)), DLQ_MALFORMED);
}

static void test_huge_array_count_and_bad_union_index(void **state)
{
    (void)state;
    /* event_id "e", customer_id "c", time 1, currency "USD", payload branch, ... */
    uint8_t b[64] = {0, 0, 0, 0, 1, 2, 'e', 2, 'c', 2, 6, 'U', 'S', 'D'};
    size_t n = 14;
    b[n] = 0;                                               /* union index 0: Purchase */
    b[n + 1] = 0;                                           /* partner "" */
    const uint8_t count[] = {0xFE, 0xFF, 0xFF, 0xFF, 0x0F}; /* lines: 2^31 - 1 items */
    memcpy(b + n + 2, count, sizeof(count));
    assert_int_equal(decode_bytes(b, n + 2 + sizeof(count)), DLQ_MALFORMED);
    b[n] = 6; /* union index 3: out of range */
    assert_int_equal(decode_bytes(b, n + 2), DLQ_MALFORMED);
    b[n] = 1; /* union index -1 */
    assert_int_equal(decode_bytes(b, n + 2), DLQ_MALFORMED);
}

static void test_random_mutations_never_crash(void **state)
{
    (void)state;
    uint8_t b[512], m[512];
    size_t len = valid_record(b, sizeof(b));
    uint32_t seed = 12345;
    int ok = 0;
    for (int it = 0; it < 20000; it++) {
        memcpy(m, b, len);
        int flips = 1 + it % 4;
        for (int f = 0; f < flips; f++) {
            seed = seed * 1103515245u + 12345u;
            size_t pos = 5 + (seed >> 8) % (len - 5);
            seed = seed * 1103515245u + 12345u;
            m[pos] = (uint8_t)(seed >> 16);
        }
        seed = seed * 1103515245u + 12345u;
        size_t mlen = (it % 3 == 0) ? 5 + (seed >> 8) % (len - 4) : len;
        ok += decode_bytes(m, mlen) == DLQ_OK;
    }
    assert_true(ok < 20000); /* some mutations must be refused; none may crash */
}

/* ------------------------------------------------------------------ direct vs generic */

/* ASCII, two- and three-byte UTF-8, at most cap - 1 bytes. */
static void rnd_text(char *dst, size_t cap, size_t min)
{
    static const char *const pieces[] = {"a", "Z",        "7",        "-",
                                         " ", "\xc3\xa9", "\xd0\xb6", "\xe2\x82\xac"};
    size_t n = 0, want = min + rnd() % (cap - min);
    while (n < want) {
        const char *p = pieces[rnd() % (rnd() % 4 ? 5 : 8)];
        size_t k = strlen(p);
        if (n + k > cap - 1)
            break;
        memcpy(dst + n, p, k);
        n += k;
    }
    if (n < min)
        dst[n++] = 'x';
    dst[n] = '\0';
}

static int64_t rnd_long(void)
{
    switch (rnd() % 5) {
    case 0:
        return 0;
    case 1:
        return (int64_t)(rnd() % 1000);
    case 2:
        return INT64_MAX;
    default:
        return (int64_t)(rnd() >> (1 + rnd() % 63));
    }
}

/* A random event; one value rule broken in about one of five (*valid says which). */
static void random_event(eng_event_t *ev, bool *valid)
{
    static const char *const currencies[] = {"RUB", "USD", "EUR", "JPY", "KWD"};
    memset(ev, 0, sizeof(*ev));
    ev->kind = (eng_event_kind_t)(ENG_EV_PURCHASE + (int)(rnd() % 3));
    rnd_text(ev->event_id, sizeof(ev->event_id), 1);
    rnd_text(ev->customer_id, sizeof(ev->customer_id), 1);
    ev->time_ms = rnd_long();
    strcpy(ev->currency, currencies[rnd() % 5]);
    if (ev->kind != ENG_EV_RETURN && rnd() % 2)
        rnd_text(ev->partner, sizeof(ev->partner), 0);
    if (ev->kind == ENG_EV_RETURN)
        rnd_text(ev->original_event_id, sizeof(ev->original_event_id), 1);
    if (ev->kind == ENG_EV_REDEMPTION)
        ev->points = 1 + rnd_long() % INT64_MAX;
    ev->n_lines = (uint32_t)((ev->kind == ENG_EV_REDEMPTION ? 0 : 1) +
                             rnd() % (rnd() % 8 ? 5 : ENG_LINES_MAX));
    for (uint32_t i = 0; i < ev->n_lines; i++) {
        eng_line_t *l = &ev->lines[i];
        rnd_text(l->sku, sizeof(l->sku), 0);
        rnd_text(l->category, sizeof(l->category), 0);
        l->quantity = 1 + (int32_t)(rnd() % (rnd() % 2 ? 10 : INT32_MAX));
        l->amount = rnd_long();
        l->on_sale = rnd() % 2;
    }
    if (ev->kind == ENG_EV_PURCHASE && rnd() % 2) {
        eng_attrs_t *a = &ev->attrs;
        a->has_birth_date = rnd() % 2;
        if (a->has_birth_date) {
            a->birth_month = 1 + (int32_t)(rnd() % 12);
            a->birth_day = 1 + (int32_t)(rnd() % 31);
        }
        a->has_member_since = rnd() % 2;
        if (a->has_member_since)
            a->member_since = (int64_t)rnd();
        if (rnd() % 2)
            rnd_text(a->account_status, sizeof(a->account_status), 1);
    }
    *valid = rnd() % 5 != 0;
    if (*valid)
        return;
    switch (rnd() % 6) {
    case 0:
        ev->event_id[0] = '\0';
        break;
    case 1:
        ev->time_ms = -1 - (int64_t)(rnd() % 1000);
        break;
    case 2:
        strcpy(ev->currency, "XYZ");
        break;
    case 3:
        if (ev->n_lines)
            ev->lines[rnd() % ev->n_lines].amount = -1;
        else
            ev->points = -1; /* a redemption without lines */
        break;
    case 4:
        if (ev->kind == ENG_EV_REDEMPTION)
            ev->points = -(int64_t)(rnd() % 3); /* 0 or negative */
        else
            ev->lines[rnd() % ev->n_lines].quantity = 0;
        break;
    default:
        ev->attrs.has_birth_date = true; /* a month that is not one */
        ev->attrs.birth_month = 13;
        ev->attrs.birth_day = 1;
        ev->kind = ENG_EV_PURCHASE;
        if (!ev->n_lines)
            ev->n_lines = 1, ev->lines[0].quantity = 1;
        break;
    }
}

static void test_direct_and_generic_paths_read_the_same_events(void **state)
{
    (void)state;
    int direct = 0, refused = 0;
    for (int iter = 0; iter < 20000; iter++) {
        eng_event_t in, a, b;
        bool valid;
        random_event(&in, &valid);
        const uint8_t *buf;
        size_t len;
        assert_int_equal(avro_codec_encode_event(codec, &in, &buf, &len, err, sizeof(err)), 0);
        memset(&a, 0x5a, sizeof(a));
        memset(&b, 0xa5, sizeof(b));
        bool took = avro_map_decode_event_direct(codec, buf, len, &a);
        dlq_reason_t rb = avro_map_decode_event_generic(codec, buf, len, &b, msg, sizeof(msg));
        /* Every valid record of our own schema takes the direct path; no invalid one does. */
        if (took != valid || (rb == DLQ_OK) != valid)
            fail_msg("iteration %d: valid %d, direct %d, generic %s: %s", iter, valid, took,
                     dlq_reason_name(rb), msg);
        if (took) {
            assert_event_equal(&a, &b);
            assert_event_equal(&a, &in);
            direct++;
        } else {
            refused++;
        }
    }
    assert_true(direct > 10000);
    assert_true(refused > 2000);
}

/* Arrays in other block layouts than one block (valid Avro, which avro-c's writer does not
 * produce): the direct path leaves them to the generic one, which reads the same event. */
static void test_lines_in_several_blocks_read_as_one(void **state)
{
    (void)state;
    eng_event_t ev, a, b;
    memset(&ev, 0, sizeof(ev));
    ev.kind = ENG_EV_PURCHASE;
    strcpy(ev.event_id, "e");
    strcpy(ev.customer_id, "c");
    ev.time_ms = 1;
    strcpy(ev.currency, "USD");
    ev.n_lines = 2;
    for (int i = 0; i < 2; i++) {
        strcpy(ev.lines[i].sku, "s");
        strcpy(ev.lines[i].category, "c");
        ev.lines[i].quantity = 1;
        ev.lines[i].amount = 1 + i;
    }
    const uint8_t *buf;
    size_t len;
    assert_int_equal(avro_codec_encode_event(codec, &ev, &buf, &len, err, sizeof(err)), 0);
    /* frame 5, "e" 2, "c" 2, time 1, "USD" 4, branch 1, partner "" 1: the count at 16, then
     * two lines of 7 bytes, the closing 0 and the null attrs */
    const size_t at = 16, line = 7;
    assert_int_equal(len, at + 1 + 2 * line + 2);
    assert_int_equal(buf[at], 0x04); /* zig-zag 2 */
    uint8_t one[64], two[64], neg[64];
    memcpy(one, buf, len);
    /* two blocks of one line each */
    memcpy(two, buf, at);
    two[at] = 0x02;
    memcpy(two + at + 1, buf + at + 1, line);
    two[at + 1 + line] = 0x02;
    memcpy(two + at + 2 + line, buf + at + 1 + line, line + 2);
    /* one block with a negative count (-2) and its size in bytes (14) */
    memcpy(neg, buf, at);
    neg[at] = 0x03;
    neg[at + 1] = 0x1c;
    memcpy(neg + at + 2, buf + at + 1, 2 * line + 2);
    const uint8_t *variants[] = {two, neg};
    for (int v = 0; v < 2; v++) {
        memset(&a, 0, sizeof(a));
        memset(&b, 0, sizeof(b));
        assert_true(avro_map_decode_event_direct(codec, one, len, &a));
        assert_false(avro_map_decode_event_direct(codec, variants[v], len + 1, &b));
        dlq_reason_t r =
            avro_codec_decode_event(codec, "c", 1, variants[v], len + 1, &b, msg, sizeof(msg));
        if (r != DLQ_OK)
            fail_msg("variant %d: %s: %s", v, dlq_reason_name(r), msg);
        assert_event_equal(&a, &b);
        assert_event_equal(&a, &ev);
    }
}

/* A writer id other than ours, registered with our schema's very text, takes the generic
 * path: the direct path trusts only the id it writes itself. */
static void test_foreign_writer_id_takes_the_generic_path(void **state)
{
    (void)state;
    eng_event_t ev, a, b;
    sample_purchase(&ev);
    assert_int_equal(avro_codec_add_writer_schema(codec, 900001,
                                                  avro_codec_schema_json(AVRO_CODEC_TYPE_INPUT),
                                                  err, sizeof(err)),
                     0);
    const uint8_t *buf;
    size_t len;
    assert_int_equal(avro_codec_encode_event(codec, &ev, &buf, &len, err, sizeof(err)), 0);
    uint8_t rec[1024];
    assert_true(len <= sizeof(rec));
    memcpy(rec, buf, len);
    assert_true(avro_map_decode_event_direct(codec, rec, len, &a));
    frame_write_header(rec, 900001);
    assert_false(avro_map_decode_event_direct(codec, rec, len, &b));
    assert_int_equal(avro_codec_decode_event(codec, NULL, 0, rec, len, &b, msg, sizeof(msg)),
                     DLQ_OK);
    assert_event_equal(&a, &b);
}

/* Hostile bytes: whenever the direct path takes a mutated record, the generic path
 * accepts it too and reads the same event; the public decode agrees with the generic
 * path on every record. */
static void test_mutated_events_get_the_same_verdict_on_both_paths(void **state)
{
    (void)state;
    static uint8_t rec[1 << 16];
    int taken = 0, refused = 0;
    for (int iter = 0; iter < 30000; iter++) {
        eng_event_t in, a, b, c;
        bool valid;
        random_event(&in, &valid);
        const uint8_t *buf;
        size_t len;
        assert_int_equal(avro_codec_encode_event(codec, &in, &buf, &len, err, sizeof(err)), 0);
        assert_true(len <= sizeof(rec));
        memcpy(rec, buf, len);
        mutate_record(rec, &len, sizeof(rec), 3, true);
        memset(&a, 0, sizeof(a));
        memset(&b, 0, sizeof(b));
        bool took = avro_map_decode_event_direct(codec, rec, len, &a);
        dlq_reason_t rb = avro_map_decode_event_generic(codec, rec, len, &b, msg, sizeof(msg));
        if (took && rb != DLQ_OK)
            fail_msg("iteration %d: the direct path took a record the generic one refuses "
                     "(%s: %s)",
                     iter, dlq_reason_name(rb), msg);
        if (took) {
            assert_event_equal(&a, &b);
            taken++;
        } else {
            refused++;
        }
        dlq_reason_t rc = avro_codec_decode_event(codec, NULL, 0, rec, len, &c, msg, sizeof(msg));
        assert_int_equal(rc, rb);
        if (rc == DLQ_OK)
            assert_event_equal(&c, &b);
    }
    /* Both outcomes must be exercised, or the test says nothing. */
    assert_true(taken > 1000);
    assert_true(refused > 1000);
}

/* Random text in a field of cap bytes; about one in forty fills it without a NUL. */
static bool rnd_field(char *dst, size_t cap)
{
    if (rnd() % 40 == 0) {
        memset(dst, 'q', cap);
        return false;
    }
    rnd_text(dst, cap, 0);
    return true;
}

#define RND_FIELD(st, f) (ok &= rnd_field((st)->f, sizeof((st)->f)))

/* A random output of kind k; *ok is false when it cannot be encoded. */
static void random_output(eng_output_t *o, eng_out_kind_t k, bool *okp)
{
    bool ok = true;
    memset(o, 0, sizeof(*o));
    o->kind = k;
    RND_FIELD(o, output_id);
    RND_FIELD(o, customer_id);
    o->time_ms = rnd_long() * (rnd() % 2 ? 1 : -1);
    RND_FIELD(o, cause_id);
    RND_FIELD(o, currency);
    switch (k) {
    case ENG_OUT_TIER_CHANGED:
        RND_FIELD(&o->u.tier_changed, from_tier);
        RND_FIELD(&o->u.tier_changed, to_tier);
        o->u.tier_changed.direction = rnd() % 20 ? (rnd() % 2 ? 1 : -1) : (int32_t)rnd();
        ok &= o->u.tier_changed.direction == 1 || o->u.tier_changed.direction == -1;
        RND_FIELD(&o->u.tier_changed, reason);
        o->u.tier_changed.qualifying_value = -rnd_long();
        break;
    case ENG_OUT_BONUS_EARNED:
        o->u.bonus_earned.points = rnd_long();
        o->u.bonus_earned.rate_bp = (int32_t)rnd();
        RND_FIELD(&o->u.bonus_earned, tier);
        RND_FIELD(&o->u.bonus_earned, source);
        o->u.bonus_earned.usable_from = rnd_long();
        o->u.bonus_earned.expires_at = rnd() % 3 ? rnd_long() : ENG_TIME_NEVER;
        RND_FIELD(&o->u.bonus_earned, period);
        o->u.bonus_earned.correction = (int32_t)(rnd() % 3); /* 2 reads as true */
        break;
    case ENG_OUT_EXPIRY_WARNING:
        o->u.expiry_warning.points = rnd_long();
        o->u.expiry_warning.expires_at = -rnd_long();
        o->u.expiry_warning.days_left = (int32_t)rnd();
        break;
    case ENG_OUT_POINTS_EXPIRED:
        o->u.points_expired.points = rnd_long();
        o->u.points_expired.expired_at = rnd_long();
        break;
    case ENG_OUT_POINTS_REVERSED:
        o->u.points_reversed.points = rnd_long();
        o->u.points_reversed.debt_added = -rnd_long();
        RND_FIELD(&o->u.points_reversed, original_event_id);
        RND_FIELD(&o->u.points_reversed, reason); /* "" is written as "return" */
        RND_FIELD(&o->u.points_reversed, period);
        break;
    case ENG_OUT_POINTS_REDEEMED:
        o->u.points_redeemed.points = rnd_long();
        o->u.points_redeemed.value = -rnd_long();
        o->u.points_redeemed.balance_after = rnd_long();
        o->u.points_redeemed.points_requested = rnd_long();
        o->u.points_redeemed.points_allowed = rnd_long();
        break;
    case ENG_OUT_REDEMPTION_REJECTED:
        o->u.redemption_rejected.points_requested = rnd_long();
        o->u.redemption_rejected.points_available = -rnd_long();
        RND_FIELD(&o->u.redemption_rejected, reason);
        o->u.redemption_rejected.points_allowed = rnd_long();
        break;
    case ENG_OUT_REWARD_EARNED:
        RND_FIELD(&o->u.reward_earned, reward);
        RND_FIELD(&o->u.reward_earned, category);
        o->u.reward_earned.stamps_used = (int32_t)rnd();
        RND_FIELD(&o->u.reward_earned, source);
        o->u.reward_earned.quantity = -(int32_t)(rnd() % 1000);
        break;
    case ENG_OUT_TIER_WILL_DOWNGRADE:
        RND_FIELD(&o->u.tier_will_downgrade, from_tier);
        RND_FIELD(&o->u.tier_will_downgrade, to_tier);
        o->u.tier_will_downgrade.effective_at = rnd_long();
        o->u.tier_will_downgrade.days_left = (int32_t)rnd();
        break;
    case ENG_OUT_TIER_PROGRESS:
        RND_FIELD(&o->u.tier_progress, current_tier);
        RND_FIELD(&o->u.tier_progress, next_tier);
        o->u.tier_progress.current_value = rnd_long();
        o->u.tier_progress.missing = -rnd_long();
        break;
    default:
        break;
    }
    *okp = ok;
}

/* The direct output path writes avro-c's bytes for every output type, refuses exactly
 * what the generic path refuses, and what it writes decodes to the output again. */
static void test_direct_and_generic_paths_write_the_same_outputs(void **state)
{
    (void)state;
    static uint8_t generic[4096];
    int written = 0, refused = 0;
    for (int iter = 0; iter < 30000; iter++) {
        eng_output_t in, back;
        bool ok;
        random_output(&in, (eng_out_kind_t)(iter % ENG_OUT_KIND_COUNT), &ok);
        const uint8_t *buf;
        size_t glen = 0, dlen = 0;
        int rg = avro_map_encode_output_generic(codec, &in, &buf, &glen, err, sizeof(err));
        if (rg == 0) {
            assert_true(glen <= sizeof(generic));
            memcpy(generic, buf, glen);
        }
        bool took = avro_map_encode_output_direct(codec, &in, &buf, &dlen);
        if (took != ok || (rg == 0) != ok)
            fail_msg("iteration %d (%s): expected %d, direct %d, generic %d: %s", iter,
                     avro_codec_type_name(in.kind), ok, took, rg, err);
        int rc = avro_codec_encode_output(codec, &in, &buf, &dlen, err, sizeof(err));
        assert_int_equal(rc, rg);
        if (rc != 0) {
            refused++;
            continue;
        }
        assert_int_equal(dlen, glen);
        assert_memory_equal(buf, generic, glen);
        /* What it wrote reads back to an output that is written to the same bytes again
         * (the decoded output differs from in where the encoding normalises: "" reason as
         * "return", a correction of 2 as true). */
        assert_int_equal(avro_codec_decode_output(codec, generic, glen, &back, msg, sizeof(msg)),
                         DLQ_OK);
        assert_true(avro_map_encode_output_direct(codec, &back, &buf, &dlen));
        assert_int_equal(dlen, glen);
        assert_memory_equal(buf, generic, glen);
        written++;
    }
    eng_output_t bad;
    bool ok;
    random_output(&bad, ENG_OUT_POINTS_EXPIRED, &ok);
    bad.kind = ENG_OUT_KIND_COUNT; /* not an output type */
    const uint8_t *buf;
    size_t len;
    assert_int_equal(avro_codec_encode_output(codec, &bad, &buf, &len, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not an output type"));
    assert_true(written > 20000);
    assert_true(refused > 1000);
}

/* A record of an output's first version (framed with its built-in id, written with the
 * frozen schemas/<stem>_v1.avsc) still reads, the appended fields at their defaults. */
static void decode_v1(const char *stem, int32_t id, const char *json, eng_output_t *o)
{
    const char *src = getenv("LS_SOURCE_DIR");
    if (!src)
        skip();
    char path[1024];
    snprintf(path, sizeof(path), "%s/schemas/%s_v1.avsc", src, stem);
    json_error_t je;
    json_t *sj = json_load_file(path, 0, &je);
    assert_non_null(sj);
    char *text = json_dumps(sj, JSON_COMPACT);
    json_decref(sj);
    avro_schema_t ws;
    assert_int_equal(avro_schema_from_json_length(text, strlen(text), &ws), 0);
    avro_value_iface_t *iface = avro_generic_class_from_schema(ws);
    avro_value_t v;
    avro_generic_value_new(iface, &v);
    assert_int_equal(avro_json_to_value(json, &v, err, sizeof(err)), 0);
    static uint8_t buf[4096];
    avro_writer_t w = avro_writer_memory((char *)buf + 5, sizeof(buf) - 5);
    assert_int_equal(avro_value_write(w, &v), 0);
    size_t len = 5 + (size_t)avro_writer_tell(w);
    frame_write_header(buf, id);
    dlq_reason_t r = avro_codec_decode_output(codec, buf, len, o, msg, sizeof(msg));
    if (r != DLQ_OK)
        fail_msg("%s: %s", dlq_reason_name(r), msg);
    avro_writer_free(w);
    avro_value_decref(&v);
    avro_value_iface_decref(iface);
    avro_schema_decref(ws);
    free(text);
}

static void test_first_versions_of_extended_outputs_still_read(void **state)
{
    (void)state;
    eng_output_t o;
    decode_v1("points_redeemed", 106,
              "{\"output_id\":\"r:0\",\"customer_id\":\"c\",\"time\":5,\"cause_id\":{\"string\":"
              "\"r\"},\"currency\":\"RUB\",\"points\":300,\"value\":30000,\"balance_after\":12}",
              &o);
    assert_int_equal(o.kind, ENG_OUT_POINTS_REDEEMED);
    assert_int_equal(o.u.points_redeemed.points, 300);
    assert_int_equal(o.u.points_redeemed.points_requested, 300); /* what it redeemed */
    assert_int_equal(o.u.points_redeemed.points_allowed, 300);
    decode_v1("reward_earned", 108,
              "{\"output_id\":\"r:0\",\"customer_id\":\"c\",\"time\":5,\"cause_id\":null,"
              "\"currency\":\"RUB\",\"reward\":\"free_pair\",\"category\":\"lenses\","
              "\"stamps_used\":10}",
              &o);
    assert_int_equal(o.kind, ENG_OUT_REWARD_EARNED);
    assert_string_equal(o.u.reward_earned.source, "stamp_card");
    assert_int_equal(o.u.reward_earned.quantity, 1);
    decode_v1("redemption_rejected", 107,
              "{\"output_id\":\"r:0\",\"customer_id\":\"c\",\"time\":5,\"cause_id\":null,"
              "\"currency\":\"RUB\",\"points_requested\":5,\"points_available\":1,\"reason\":"
              "\"insufficient_points\"}",
              &o);
    assert_int_equal(o.kind, ENG_OUT_REDEMPTION_REJECTED);
    assert_int_equal(o.u.redemption_rejected.points_allowed, 0);
    /* and today's records carry the new ids */
    assert_int_equal(avro_codec_schema_id(codec, ENG_OUT_POINTS_REDEEMED), 111);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_purchase_round_trip),
        cmocka_unit_test(test_return_round_trip),
        cmocka_unit_test(test_redemption_round_trip),
        cmocka_unit_test(test_every_output_round_trip),
        cmocka_unit_test(test_first_versions_of_extended_outputs_still_read),
        cmocka_unit_test(test_bonus_that_never_expires_has_null_expiry),
        cmocka_unit_test(test_output_with_bad_direction_is_refused),
        cmocka_unit_test(test_reused_arrays_are_reset_between_records),
        cmocka_unit_test(test_large_event_grows_the_output_buffer),
        cmocka_unit_test(test_unterminated_string_is_refused_not_truncated),
        cmocka_unit_test(test_json_round_trip_is_byte_identical),
        cmocka_unit_test(test_json_with_unknown_key_is_refused),
        cmocka_unit_test(test_negative_amount_is_a_dead_letter),
        cmocka_unit_test(test_missing_customer_and_event_id_are_dead_letters),
        cmocka_unit_test(test_unknown_currency_is_a_dead_letter),
        cmocka_unit_test(test_too_many_lines_is_a_dead_letter),
        cmocka_unit_test(test_too_long_id_is_a_dead_letter_never_truncated),
        cmocka_unit_test(test_invalid_values_are_dead_letters),
        cmocka_unit_test(test_string_that_is_not_utf8_is_a_dead_letter),
        cmocka_unit_test(test_key_other_than_customer_is_a_dead_letter),
        cmocka_unit_test(test_writer_that_adds_a_field_with_default_is_read),
        cmocka_unit_test(test_points_reversed_without_reason_reads_as_return),
        cmocka_unit_test(test_writer_that_drops_optional_fields_gets_defaults),
        cmocka_unit_test(test_writer_line_without_on_sale_reads_false),
        cmocka_unit_test(test_writer_without_a_required_field_is_incompatible),
        cmocka_unit_test(test_writer_int_amount_is_promoted_to_long),
        cmocka_unit_test(test_short_records_are_truncated),
        cmocka_unit_test(test_wrong_magic_byte),
        cmocka_unit_test(test_unknown_schema_id),
        cmocka_unit_test(test_every_truncation_of_a_record_is_a_dead_letter),
        cmocka_unit_test(test_trailing_bytes_are_malformed),
        cmocka_unit_test(test_huge_and_negative_length_prefixes),
        cmocka_unit_test(test_huge_array_count_and_bad_union_index),
        cmocka_unit_test(test_random_mutations_never_crash),
        cmocka_unit_test(test_direct_and_generic_paths_read_the_same_events),
        cmocka_unit_test(test_mutated_events_get_the_same_verdict_on_both_paths),
        cmocka_unit_test(test_lines_in_several_blocks_read_as_one),
        cmocka_unit_test(test_foreign_writer_id_takes_the_generic_path),
        cmocka_unit_test(test_direct_and_generic_paths_write_the_same_outputs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
