/*
 * avro_map: the field-by-field mapping between our Avro records and the engine's structs,
 * with the input's validation (see avro_codec.h for the contract, docs/SCHEMAS.md for the
 * limits). Decoding reads the WRITER's value by field name (avro_fields), which is where
 * schema resolution happens; an InputEvent framed with our own schema id is read straight
 * from its bytes instead (the direct path, below), with the same value rules. Encoding
 * fills our own reusable value.
 */
#include "avro_bin.h"
#include "avro_codec_int.h"
#include "avro_fields.h"
#include "frame.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ currencies */

/* ISO 4217 alphabetic codes in current use (sorted for bsearch), without the testing
 * code XTS and "no currency" XXX: money must be in a real currency. */
static const char iso4217[][4] = {
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD",
    "CAD", "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUC", "CUP",
    "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP",
    "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS",
    "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW",
    "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD",
    "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN",
    "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR",
    "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SLL",
    "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY",
    "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED", "VES",
    "VND", "VUV", "WST", "XAF", "XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XCD", "XCG", "XDR",
    "XOF", "XPD", "XPF", "XPT", "XSU", "XUA", "YER", "ZAR", "ZMW", "ZWG", "ZWL",
};

static int cmp_code(const void *a, const void *b)
{
    return memcmp(a, b, 3);
}

bool avro_codec_currency_known(const char *code)
{
    if (!code || strlen(code) != 3)
        return false;
    return bsearch(code, iso4217, sizeof(iso4217) / sizeof(iso4217[0]), sizeof(iso4217[0]),
                   cmp_code) != NULL;
}

/* ------------------------------------------------------------------ decode: input */

#define TRY(expr)                 \
    do {                          \
        dlq_reason_t r_ = (expr); \
        if (r_ != DLQ_OK)         \
            return r_;            \
    } while (0)

/*
 * The value rules (docs/SCHEMAS.md), one helper per rule group, shared by both decoding
 * paths. The generic path applies each one as soon as it has read what it needs (so a
 * record with several faults gets the reason of the first, in field order); the direct
 * path applies them all after reading and only asks whether the event passes (x then
 * carries no message buffer).
 */
static dlq_reason_t check_envelope(avro_fields_ctx_t *x, const eng_event_t *ev)
{
    if (!ev->event_id[0])
        return avro_fields_fail(x, DLQ_MISSING_EVENT_ID, "event_id is empty");
    if (!ev->customer_id[0])
        return avro_fields_fail(x, DLQ_MISSING_CUSTOMER, "event %s: customer_id is empty",
                                ev->event_id);
    if (ev->time_ms < 0)
        return avro_fields_fail(x, DLQ_INVALID_VALUE, "event %s: time %lld is before 1970",
                                ev->event_id, (long long)ev->time_ms);
    if (!avro_codec_currency_known(ev->currency))
        return avro_fields_fail(x, DLQ_UNKNOWN_CURRENCY,
                                "event %s: currency '%s' is not an ISO 4217 code", ev->event_id,
                                ev->currency);
    return DLQ_OK;
}

static dlq_reason_t check_line(avro_fields_ctx_t *x, const eng_line_t *l, size_t i)
{
    if (l->amount < 0)
        return avro_fields_fail(x, DLQ_NEGATIVE_AMOUNT, "line %zu (sku %s): amount %lld < 0", i,
                                l->sku, (long long)l->amount);
    if (l->quantity < 1)
        return avro_fields_fail(x, DLQ_INVALID_VALUE, "line %zu (sku %s): quantity %d < 1", i,
                                l->sku, (int)l->quantity);
    return DLQ_OK;
}

static dlq_reason_t check_line_count(avro_fields_ctx_t *x, size_t n, size_t min)
{
    if (n < min)
        return avro_fields_fail(x, DLQ_INVALID_VALUE, "the event has no lines");
    return DLQ_OK;
}

/* has_month and has_day: which of the two the writer gave. */
static dlq_reason_t check_birth_date(avro_fields_ctx_t *x, const eng_attrs_t *a, bool has_month,
                                     bool has_day)
{
    if (has_month != has_day)
        return avro_fields_fail(x, DLQ_INVALID_VALUE,
                                "attrs: birth_month and birth_day go together");
    if (has_month &&
        (a->birth_month < 1 || a->birth_month > 12 || a->birth_day < 1 || a->birth_day > 31))
        return avro_fields_fail(x, DLQ_INVALID_VALUE, "attrs: birth date %d-%d is not a date",
                                (int)a->birth_month, (int)a->birth_day);
    return DLQ_OK;
}

static dlq_reason_t check_original(avro_fields_ctx_t *x, const eng_event_t *ev)
{
    if (!ev->original_event_id[0])
        return avro_fields_fail(x, DLQ_INVALID_VALUE, "return without original_event_id");
    return DLQ_OK;
}

static dlq_reason_t check_points(avro_fields_ctx_t *x, const eng_event_t *ev)
{
    if (ev->points < 0)
        return avro_fields_fail(x, DLQ_NEGATIVE_AMOUNT, "redemption of %lld points",
                                (long long)ev->points);
    if (ev->points == 0)
        return avro_fields_fail(x, DLQ_INVALID_VALUE, "redemption of 0 points");
    return DLQ_OK;
}

/* ------------------------------------------------------------------ the generic path */

static dlq_reason_t read_line(avro_fields_ctx_t *x, const avro_value_t *rec, eng_line_t *l,
                              size_t i)
{
    memset(l, 0, sizeof(*l));
    TRY(avro_fields_str(x, rec, "sku", true, "", l->sku, sizeof(l->sku), NULL));
    TRY(avro_fields_str(x, rec, "category", true, "", l->category, sizeof(l->category), NULL));
    TRY(avro_fields_int(x, rec, "quantity", true, 0, &l->quantity, NULL));
    TRY(avro_fields_long(x, rec, "amount", true, 0, &l->amount, NULL));
    TRY(avro_fields_bool(x, rec, "on_sale", false, false, &l->on_sale));
    return check_line(x, l, i);
}

static dlq_reason_t read_lines(avro_fields_ctx_t *x, const avro_value_t *rec, bool required,
                               size_t min, eng_event_t *ev)
{
    avro_value_t arr, el;
    size_t n = 0;
    ev->n_lines = 0;
    if (!avro_fields_find(rec, "lines", &arr)) {
        if (required)
            return avro_fields_fail(x, DLQ_INCOMPATIBLE_SCHEMA, "field 'lines' is missing");
    } else if (avro_value_get_type(&arr) != AVRO_ARRAY || avro_value_get_size(&arr, &n) != 0) {
        return avro_fields_fail(x, DLQ_INCOMPATIBLE_SCHEMA, "field 'lines' is not an array");
    }
    if (n > ENG_LINES_MAX)
        return avro_fields_fail(x, DLQ_TOO_MANY_LINES, "%zu lines, the limit is %d", n,
                                ENG_LINES_MAX);
    TRY(check_line_count(x, n, min));
    for (size_t i = 0; i < n; i++) {
        if (avro_value_get_by_index(&arr, i, &el, NULL) != 0 || !avro_fields_unwrap(&el) ||
            avro_value_get_type(&el) != AVRO_RECORD)
            return avro_fields_fail(x, DLQ_INCOMPATIBLE_SCHEMA, "line %zu is not a record", i);
        TRY(read_line(x, &el, &ev->lines[i], i));
    }
    ev->n_lines = (uint32_t)n;
    return DLQ_OK;
}

static dlq_reason_t read_attrs(avro_fields_ctx_t *x, const avro_value_t *purchase, eng_attrs_t *a)
{
    avro_value_t rec;
    bool has_month, has_day;
    if (!avro_fields_find(purchase, "attrs", &rec))
        return DLQ_OK; /* optional: the writer may not even have the field */
    if (avro_value_get_type(&rec) != AVRO_RECORD)
        return avro_fields_fail(x, DLQ_INCOMPATIBLE_SCHEMA, "field 'attrs' is not a record");
    TRY(avro_fields_int(x, &rec, "birth_month", false, 0, &a->birth_month, &has_month));
    TRY(avro_fields_int(x, &rec, "birth_day", false, 0, &a->birth_day, &has_day));
    TRY(avro_fields_long(x, &rec, "member_since", false, 0, &a->member_since,
                         &a->has_member_since));
    TRY(avro_fields_str(x, &rec, "account_status", false, "", a->account_status,
                        sizeof(a->account_status), NULL));
    TRY(check_birth_date(x, a, has_month, has_day));
    a->has_birth_date = has_month;
    return DLQ_OK;
}

static dlq_reason_t read_payload(avro_fields_ctx_t *x, const avro_value_t *root, eng_event_t *ev)
{
    avro_value_t p;
    if (!avro_fields_find(root, "payload", &p) || avro_value_get_type(&p) != AVRO_RECORD)
        return avro_fields_fail(x, DLQ_INCOMPATIBLE_SCHEMA, "field 'payload' is missing");
    const char *name = avro_schema_name(avro_value_get_schema(&p));
    if (strcmp(name, "Purchase") == 0) {
        ev->kind = ENG_EV_PURCHASE;
        TRY(avro_fields_str(x, &p, "partner", false, "", ev->partner, sizeof(ev->partner), NULL));
        TRY(read_lines(x, &p, true, 1, ev));
        return read_attrs(x, &p, &ev->attrs);
    }
    if (strcmp(name, "Return") == 0) {
        ev->kind = ENG_EV_RETURN;
        TRY(avro_fields_str(x, &p, "original_event_id", true, "", ev->original_event_id,
                            sizeof(ev->original_event_id), NULL));
        TRY(check_original(x, ev));
        return read_lines(x, &p, true, 1, ev);
    }
    if (strcmp(name, "Redemption") == 0) {
        ev->kind = ENG_EV_REDEMPTION;
        TRY(avro_fields_long(x, &p, "points", true, 0, &ev->points, NULL));
        TRY(check_points(x, ev));
        TRY(avro_fields_str(x, &p, "partner", false, "", ev->partner, sizeof(ev->partner), NULL));
        return read_lines(x, &p, false, 0, ev);
    }
    return avro_fields_fail(x, DLQ_INCOMPATIBLE_SCHEMA, "unknown payload record '%s'", name);
}

/* Any writer schema: read the writer's value by field name (schema resolution). */
static dlq_reason_t read_event(avro_fields_ctx_t *x, const avro_value_t *root, eng_event_t *ev)
{
    memset(ev, 0, offsetof(eng_event_t, lines)); /* lines are set one by one */
    TRY(avro_fields_str(x, root, "event_id", true, "", ev->event_id, sizeof(ev->event_id), NULL));
    TRY(avro_fields_str(x, root, "customer_id", true, "", ev->customer_id, sizeof(ev->customer_id),
                        NULL));
    TRY(avro_fields_long(x, root, "time", true, 0, &ev->time_ms, NULL));
    TRY(avro_fields_str(x, root, "currency", true, "", ev->currency, sizeof(ev->currency), NULL));
    TRY(check_envelope(x, ev));
    return read_payload(x, root, ev);
}

/*
 * The direct path: records written with this build's own InputEvent schema id (what our
 * own producers, the demo and the benchmarks write) are read straight from their bytes
 * into the event, as avro_state.c does for the state: no avro_scan pass, no generic value,
 * no allocation per string, no field lookup by name. It follows schemas/input_event.avsc
 * field by field (tests/unit/test_avro_codec.c compares it with the generic path on random
 * and mutated records). Anything it does not take (see avro_bin.h), a string that is not
 * UTF-8 or too long, and any event the value rules refuse goes to the generic path, which
 * gives the reason.
 */
static void bin_lines(bin_in_t *in, eng_event_t *ev)
{
    uint32_t n = bin_get_count(in, ENG_LINES_MAX);
    for (uint32_t i = 0; i < n && !in->bad; i++) {
        eng_line_t *l = &ev->lines[i];
        memset(l, 0, sizeof(*l));
        bin_get_str(in, l->sku, sizeof(l->sku));
        bin_get_str(in, l->category, sizeof(l->category));
        l->quantity = bin_get_int(in);
        l->amount = bin_get_long(in);
        l->on_sale = bin_get_bool(in);
    }
    if (n)
        bin_get_end(in);
    ev->n_lines = n;
}

static void bin_attrs(bin_in_t *in, eng_attrs_t *a)
{
    if (bin_get_branch(in, 2) == 0)
        return; /* null */
    bool has_month = bin_get_branch(in, 2) == 1;
    if (has_month)
        a->birth_month = bin_get_int(in);
    bool has_day = bin_get_branch(in, 2) == 1;
    if (has_day)
        a->birth_day = bin_get_int(in);
    avro_fields_ctx_t quiet = {NULL, 0};
    if (check_birth_date(&quiet, a, has_month, has_day) != DLQ_OK)
        in->bad = true;
    a->has_birth_date = has_month;
    a->has_member_since = bin_get_branch(in, 2) == 1;
    if (a->has_member_since)
        a->member_since = bin_get_long(in);
    if (bin_get_branch(in, 2) == 1)
        bin_get_str(in, a->account_status, sizeof(a->account_status));
}

bool avro_map_decode_event_direct(avro_codec_t *c, const void *value, size_t len, eng_event_t *ev)
{
    int32_t id;
    const uint8_t *payload;
    size_t plen;
    if (!c->own[AVRO_CODEC_TYPE_INPUT].used ||
        frame_parse(value, len, &id, &payload, &plen) != FRAME_OK ||
        id != c->own[AVRO_CODEC_TYPE_INPUT].id)
        return false;
    bin_in_t in = {payload, payload + plen, false};
    memset(ev, 0, offsetof(eng_event_t, lines)); /* lines are set one by one */
    bin_get_str(&in, ev->event_id, sizeof(ev->event_id));
    bin_get_str(&in, ev->customer_id, sizeof(ev->customer_id));
    ev->time_ms = bin_get_long(&in);
    bin_get_str(&in, ev->currency, sizeof(ev->currency));
    switch (bin_get_branch(&in, 3)) {
    case 0:
        ev->kind = ENG_EV_PURCHASE;
        bin_get_str(&in, ev->partner, sizeof(ev->partner));
        bin_lines(&in, ev);
        bin_attrs(&in, &ev->attrs);
        break;
    case 1:
        ev->kind = ENG_EV_RETURN;
        bin_get_str(&in, ev->original_event_id, sizeof(ev->original_event_id));
        bin_lines(&in, ev);
        break;
    default:
        ev->kind = ENG_EV_REDEMPTION;
        ev->points = bin_get_long(&in);
        bin_get_str(&in, ev->partner, sizeof(ev->partner));
        bin_lines(&in, ev);
        break;
    }
    if (in.bad || in.p != in.end)
        return false;
    avro_fields_ctx_t quiet = {NULL, 0};
    if (check_envelope(&quiet, ev) != DLQ_OK ||
        (ev->kind == ENG_EV_RETURN && check_original(&quiet, ev) != DLQ_OK) ||
        (ev->kind == ENG_EV_REDEMPTION && check_points(&quiet, ev) != DLQ_OK) ||
        check_line_count(&quiet, ev->n_lines, ev->kind == ENG_EV_REDEMPTION ? 0 : 1) != DLQ_OK)
        return false;
    for (uint32_t i = 0; i < ev->n_lines; i++)
        if (check_line(&quiet, &ev->lines[i], i) != DLQ_OK)
            return false;
    return true; /* the birth date was checked by bin_attrs */
}

dlq_reason_t avro_map_decode_event_generic(avro_codec_t *c, const void *value, size_t len,
                                           eng_event_t *ev, char *msg, size_t msglen)
{
    writer_t *w = NULL;
    int32_t id;
    avro_fields_ctx_t x = {msg, msglen};
    dlq_reason_t r = avro_codec_read_framed(c, value, len, &w, &id, msg, msglen);
    if (r != DLQ_OK)
        return r;
    if (w->type != AVRO_CODEC_TYPE_INPUT)
        return avro_fields_fail(&x, DLQ_INCOMPATIBLE_SCHEMA,
                                "schema id %d is not an InputEvent schema", (int)id);
    return read_event(&x, &w->value, ev);
}

dlq_reason_t avro_codec_decode_event(avro_codec_t *c, const void *key, size_t keylen,
                                     const void *value, size_t len, eng_event_t *ev, char *msg,
                                     size_t msglen)
{
    if (!avro_map_decode_event_direct(c, value, len, ev))
        TRY(avro_map_decode_event_generic(c, value, len, ev, msg, msglen));
    if (key && (keylen != strlen(ev->customer_id) || memcmp(key, ev->customer_id, keylen))) {
        avro_fields_ctx_t x = {msg, msglen};
        return avro_fields_fail(&x, DLQ_KEY_MISMATCH,
                                "event %s: record key differs from customer_id %s", ev->event_id,
                                ev->customer_id);
    }
    return DLQ_OK;
}

/* ------------------------------------------------------------------ encode: input */

#define CHECK(expr)      \
    do {                 \
        if ((expr) != 0) \
            return -1;   \
    } while (0)

#define SET_STR(rec, st, f) avro_fields_set_str(rec, #f, (st)->f, sizeof((st)->f))

static int put_lines(avro_value_t *rec, const eng_line_t *lines, uint32_t n)
{
    avro_value_t arr, el;
    CHECK(avro_value_get_by_name(rec, "lines", &arr, NULL));
    for (uint32_t i = 0; i < n; i++) {
        const eng_line_t *l = &lines[i];
        CHECK(avro_value_append(&arr, &el, NULL));
        CHECK(SET_STR(&el, l, sku));
        CHECK(SET_STR(&el, l, category));
        CHECK(avro_fields_set_int(&el, "quantity", l->quantity));
        CHECK(avro_fields_set_long(&el, "amount", l->amount));
        CHECK(avro_fields_set_bool(&el, "on_sale", l->on_sale));
    }
    return 0;
}

/* ["null", T] field: null, or the branch with an int / long / string. */
static int put_opt_int(avro_value_t *rec, const char *name, bool has, int32_t v)
{
    avro_value_t b;
    if (!has)
        return avro_fields_set_null(rec, name);
    CHECK(avro_fields_set_branch(rec, name, 1, &b));
    return avro_value_set_int(&b, v);
}

static int put_opt_long(avro_value_t *rec, const char *name, bool has, int64_t v)
{
    avro_value_t b;
    if (!has)
        return avro_fields_set_null(rec, name);
    CHECK(avro_fields_set_branch(rec, name, 1, &b));
    return avro_value_set_long(&b, v);
}

static int put_opt_str(avro_value_t *rec, const char *name, const char *s, size_t cap)
{
    avro_value_t b;
    size_t len = strnlen(s, cap);
    if (len == cap)
        return -1;
    if (len == 0)
        return avro_fields_set_null(rec, name);
    CHECK(avro_fields_set_branch(rec, name, 1, &b));
    return avro_value_set_string_len(&b, s, len + 1);
}

static int put_attrs(avro_value_t *p, const eng_attrs_t *a)
{
    avro_value_t rec;
    if (!a->has_birth_date && !a->has_member_since && !a->account_status[0])
        return avro_fields_set_null(p, "attrs");
    CHECK(avro_fields_set_branch(p, "attrs", 1, &rec));
    CHECK(put_opt_int(&rec, "birth_month", a->has_birth_date, a->birth_month));
    CHECK(put_opt_int(&rec, "birth_day", a->has_birth_date, a->birth_day));
    CHECK(put_opt_long(&rec, "member_since", a->has_member_since, a->member_since));
    return put_opt_str(&rec, "account_status", a->account_status, sizeof(a->account_status));
}

static int put_event(avro_value_t *root, const eng_event_t *ev)
{
    avro_value_t p;
    if (ev->n_lines > ENG_LINES_MAX)
        return -1;
    CHECK(SET_STR(root, ev, event_id));
    CHECK(SET_STR(root, ev, customer_id));
    CHECK(avro_fields_set_long(root, "time", ev->time_ms));
    CHECK(SET_STR(root, ev, currency));
    switch (ev->kind) {
    case ENG_EV_PURCHASE:
        CHECK(avro_fields_set_branch(root, "payload", 0, &p));
        CHECK(SET_STR(&p, ev, partner));
        CHECK(put_lines(&p, ev->lines, ev->n_lines));
        return put_attrs(&p, &ev->attrs);
    case ENG_EV_RETURN:
        CHECK(avro_fields_set_branch(root, "payload", 1, &p));
        CHECK(SET_STR(&p, ev, original_event_id));
        return put_lines(&p, ev->lines, ev->n_lines);
    case ENG_EV_REDEMPTION:
        CHECK(avro_fields_set_branch(root, "payload", 2, &p));
        CHECK(avro_fields_set_long(&p, "points", ev->points));
        CHECK(SET_STR(&p, ev, partner));
        return put_lines(&p, ev->lines, ev->n_lines);
    }
    return -1;
}

int avro_codec_encode_event(avro_codec_t *c, const eng_event_t *ev, const uint8_t **out,
                            size_t *outlen, char *err, size_t errlen)
{
    avro_value_t *root = &c->enc[AVRO_CODEC_TYPE_INPUT];
    avro_value_reset(root); /* a reused array keeps its old elements otherwise */
    if (put_event(root, ev) != 0) {
        snprintf(err, errlen,
                 "event %.63s: cannot encode (bad kind %d, %u lines, or a string without NUL)",
                 ev->event_id, (int)ev->kind, ev->n_lines);
        return -1;
    }
    return avro_codec_write_framed(c, AVRO_CODEC_TYPE_INPUT, out, outlen, err, errlen);
}

/* ------------------------------------------------------------------ encode: outputs */

/* A PointsReversed's reason as written: "" (an engine that sets none) is "return". */
static const char *reversed_reason(const eng_points_reversed_t *v)
{
    return v->reason[0] ? v->reason : "return";
}

static int put_output_body(avro_value_t *r, const eng_output_t *o)
{
    switch (o->kind) {
    case ENG_OUT_TIER_CHANGED: {
        const eng_tier_changed_t *v = &o->u.tier_changed;
        if (v->direction != 1 && v->direction != -1)
            return -1;
        CHECK(SET_STR(r, v, from_tier));
        CHECK(SET_STR(r, v, to_tier));
        CHECK(avro_fields_set_enum(r, "direction", v->direction == 1 ? 0 : 1));
        CHECK(SET_STR(r, v, reason));
        return avro_fields_set_long(r, "qualifying_value", v->qualifying_value);
    }
    case ENG_OUT_BONUS_EARNED: {
        const eng_bonus_earned_t *v = &o->u.bonus_earned;
        CHECK(avro_fields_set_long(r, "points", v->points));
        CHECK(avro_fields_set_int(r, "rate_bp", v->rate_bp));
        CHECK(SET_STR(r, v, tier));
        CHECK(SET_STR(r, v, source));
        CHECK(avro_fields_set_long(r, "usable_from", v->usable_from));
        CHECK(put_opt_long(r, "expires_at", v->expires_at != ENG_TIME_NEVER, v->expires_at));
        CHECK(put_opt_str(r, "period", v->period, sizeof(v->period)));
        return avro_fields_set_bool(r, "correction", v->correction != 0);
    }
    case ENG_OUT_EXPIRY_WARNING: {
        const eng_expiry_warning_t *v = &o->u.expiry_warning;
        CHECK(avro_fields_set_long(r, "points", v->points));
        CHECK(avro_fields_set_long(r, "expires_at", v->expires_at));
        return avro_fields_set_int(r, "days_left", v->days_left);
    }
    case ENG_OUT_POINTS_EXPIRED:
        CHECK(avro_fields_set_long(r, "points", o->u.points_expired.points));
        return avro_fields_set_long(r, "expired_at", o->u.points_expired.expired_at);
    case ENG_OUT_POINTS_REVERSED: {
        const eng_points_reversed_t *v = &o->u.points_reversed;
        CHECK(avro_fields_set_long(r, "points", v->points));
        CHECK(avro_fields_set_long(r, "debt_added", v->debt_added));
        CHECK(SET_STR(r, v, original_event_id));
        CHECK(avro_fields_set_str(r, "reason", reversed_reason(v), sizeof(v->reason)));
        return put_opt_str(r, "period", v->period, sizeof(v->period));
    }
    case ENG_OUT_POINTS_REDEEMED: {
        const eng_points_redeemed_t *v = &o->u.points_redeemed;
        CHECK(avro_fields_set_long(r, "points", v->points));
        CHECK(avro_fields_set_long(r, "value", v->value));
        CHECK(avro_fields_set_long(r, "balance_after", v->balance_after));
        CHECK(avro_fields_set_long(r, "points_requested", v->points_requested));
        return avro_fields_set_long(r, "points_allowed", v->points_allowed);
    }
    case ENG_OUT_REDEMPTION_REJECTED: {
        const eng_redemption_rejected_t *v = &o->u.redemption_rejected;
        CHECK(avro_fields_set_long(r, "points_requested", v->points_requested));
        CHECK(avro_fields_set_long(r, "points_available", v->points_available));
        CHECK(SET_STR(r, v, reason));
        return avro_fields_set_long(r, "points_allowed", v->points_allowed);
    }
    case ENG_OUT_REWARD_EARNED: {
        const eng_reward_earned_t *v = &o->u.reward_earned;
        CHECK(SET_STR(r, v, reward));
        CHECK(SET_STR(r, v, category));
        CHECK(avro_fields_set_int(r, "stamps_used", v->stamps_used));
        CHECK(SET_STR(r, v, source));
        return avro_fields_set_int(r, "quantity", v->quantity);
    }
    case ENG_OUT_TIER_WILL_DOWNGRADE: {
        const eng_tier_will_downgrade_t *v = &o->u.tier_will_downgrade;
        CHECK(SET_STR(r, v, from_tier));
        CHECK(SET_STR(r, v, to_tier));
        CHECK(avro_fields_set_long(r, "effective_at", v->effective_at));
        return avro_fields_set_int(r, "days_left", v->days_left);
    }
    case ENG_OUT_TIER_PROGRESS: {
        const eng_tier_progress_t *v = &o->u.tier_progress;
        CHECK(SET_STR(r, v, current_tier));
        CHECK(SET_STR(r, v, next_tier));
        CHECK(avro_fields_set_long(r, "current_value", v->current_value));
        return avro_fields_set_long(r, "missing", v->missing);
    }
    default:
        return -1;
    }
}

int avro_map_encode_output_generic(avro_codec_t *c, const eng_output_t *o, const uint8_t **out,
                                   size_t *outlen, char *err, size_t errlen)
{
    if ((int)o->kind < 0 || o->kind >= ENG_OUT_KIND_COUNT) {
        snprintf(err, errlen, "output kind %d is not an output type", (int)o->kind);
        return -1;
    }
    avro_value_t *r = &c->enc[o->kind];
    avro_value_reset(r);
    if (SET_STR(r, o, output_id) || SET_STR(r, o, customer_id) ||
        avro_fields_set_long(r, "time", o->time_ms) ||
        put_opt_str(r, "cause_id", o->cause_id, sizeof(o->cause_id)) || SET_STR(r, o, currency) ||
        put_output_body(r, o)) {
        snprintf(err, errlen,
                 "%s %.95s: cannot encode (a string without NUL, or direction not +1/-1)",
                 avro_codec_type_name(o->kind), o->output_id);
        return -1;
    }
    return avro_codec_write_framed(c, o->kind, out, outlen, err, errlen);
}

/*
 * The outputs' direct path: every output is written on every event, and avro-c's generic
 * values cost a hash lookup per field by name there. This build's own output schemas are
 * fixed, so their binary form is written here field by field in the .avsc order (strings
 * as length + bytes, ints and longs as zig-zag varints, a ["null", T] union as its branch
 * index then the value, the TierDirection enum as its index, a boolean as one byte). The
 * bytes are the same as avro-c's (tests/unit/test_avro_codec.c compares both on random
 * outputs of every type). An output the direct path does not take (a string without its
 * NUL, a direction other than +1/-1, an unknown kind) goes to the generic path, which
 * gives the error.
 */

/* Upper bound of any output's encoded size: every string at its capacity, every number
 * at 10 bytes. */
#define OUTPUT_BIN_MAX (ENG_OUT_ID_MAX + 5 * ENG_ID_MAX + 6 * ENG_NAME_MAX + 40 * 10)

static void bin_put_text(bin_out_t *o, const char *s, size_t cap, bool *bad)
{
    size_t len = strnlen(s, cap);
    if (len == cap)
        *bad = true;
    else
        bin_put_str(o, s, len);
}

/* A ["null", "string"] field: "" is null. */
static void bin_put_opt_text(bin_out_t *o, const char *s, size_t cap, bool *bad)
{
    size_t len = strnlen(s, cap);
    if (len == cap) {
        *bad = true;
    } else if (len == 0) {
        bin_put_long(o, 0);
    } else {
        bin_put_long(o, 1);
        bin_put_str(o, s, len);
    }
}

#define PUT_TEXT(st, f) bin_put_text(o, (st)->f, sizeof((st)->f), &bad)

static bool put_output_bin(bin_out_t *o, const eng_output_t *out)
{
    bool bad = false;
    PUT_TEXT(out, output_id);
    PUT_TEXT(out, customer_id);
    bin_put_long(o, out->time_ms);
    bin_put_opt_text(o, out->cause_id, sizeof(out->cause_id), &bad);
    PUT_TEXT(out, currency);
    switch (out->kind) {
    case ENG_OUT_TIER_CHANGED: {
        const eng_tier_changed_t *v = &out->u.tier_changed;
        if (v->direction != 1 && v->direction != -1)
            return false;
        PUT_TEXT(v, from_tier);
        PUT_TEXT(v, to_tier);
        bin_put_long(o, v->direction == 1 ? 0 : 1);
        PUT_TEXT(v, reason);
        bin_put_long(o, v->qualifying_value);
        break;
    }
    case ENG_OUT_BONUS_EARNED: {
        const eng_bonus_earned_t *v = &out->u.bonus_earned;
        bin_put_long(o, v->points);
        bin_put_long(o, v->rate_bp);
        PUT_TEXT(v, tier);
        PUT_TEXT(v, source);
        bin_put_long(o, v->usable_from);
        bin_put_opt_long(o, v->expires_at != ENG_TIME_NEVER, v->expires_at);
        bin_put_opt_text(o, v->period, sizeof(v->period), &bad);
        *o->p++ = v->correction != 0;
        break;
    }
    case ENG_OUT_EXPIRY_WARNING:
        bin_put_long(o, out->u.expiry_warning.points);
        bin_put_long(o, out->u.expiry_warning.expires_at);
        bin_put_long(o, out->u.expiry_warning.days_left);
        break;
    case ENG_OUT_POINTS_EXPIRED:
        bin_put_long(o, out->u.points_expired.points);
        bin_put_long(o, out->u.points_expired.expired_at);
        break;
    case ENG_OUT_POINTS_REVERSED: {
        const eng_points_reversed_t *v = &out->u.points_reversed;
        bin_put_long(o, v->points);
        bin_put_long(o, v->debt_added);
        PUT_TEXT(v, original_event_id);
        bin_put_text(o, reversed_reason(v), sizeof(v->reason), &bad);
        bin_put_opt_text(o, v->period, sizeof(v->period), &bad);
        break;
    }
    case ENG_OUT_POINTS_REDEEMED: {
        const eng_points_redeemed_t *v = &out->u.points_redeemed;
        bin_put_long(o, v->points);
        bin_put_long(o, v->value);
        bin_put_long(o, v->balance_after);
        bin_put_long(o, v->points_requested);
        bin_put_long(o, v->points_allowed);
        break;
    }
    case ENG_OUT_REDEMPTION_REJECTED: {
        const eng_redemption_rejected_t *v = &out->u.redemption_rejected;
        bin_put_long(o, v->points_requested);
        bin_put_long(o, v->points_available);
        PUT_TEXT(v, reason);
        bin_put_long(o, v->points_allowed);
        break;
    }
    case ENG_OUT_REWARD_EARNED: {
        const eng_reward_earned_t *v = &out->u.reward_earned;
        PUT_TEXT(v, reward);
        PUT_TEXT(v, category);
        bin_put_long(o, v->stamps_used);
        PUT_TEXT(v, source);
        bin_put_long(o, v->quantity);
        break;
    }
    case ENG_OUT_TIER_WILL_DOWNGRADE: {
        const eng_tier_will_downgrade_t *v = &out->u.tier_will_downgrade;
        PUT_TEXT(v, from_tier);
        PUT_TEXT(v, to_tier);
        bin_put_long(o, v->effective_at);
        bin_put_long(o, v->days_left);
        break;
    }
    case ENG_OUT_TIER_PROGRESS: {
        const eng_tier_progress_t *v = &out->u.tier_progress;
        PUT_TEXT(v, current_tier);
        PUT_TEXT(v, next_tier);
        bin_put_long(o, v->current_value);
        bin_put_long(o, v->missing);
        break;
    }
    default:
        return false;
    }
    return !bad;
}

bool avro_map_encode_output_direct(avro_codec_t *c, const eng_output_t *o, const uint8_t **out,
                                   size_t *outlen)
{
    if ((int)o->kind < 0 || o->kind >= ENG_OUT_KIND_COUNT || !c->has_enc[o->kind])
        return false;
    if (avro_codec_reserve(c, FRAME_HEADER_LEN + OUTPUT_BIN_MAX) != 0)
        return false; /* the generic path reports it */
    bin_out_t bo = {c->buf + FRAME_HEADER_LEN, c->buf + c->cap};
    if (!put_output_bin(&bo, o))
        return false;
    frame_write_header(c->buf, c->own[o->kind].id);
    *out = c->buf;
    *outlen = (size_t)(bo.p - c->buf);
    return true;
}

int avro_codec_encode_output(avro_codec_t *c, const eng_output_t *o, const uint8_t **out,
                             size_t *outlen, char *err, size_t errlen)
{
    if (avro_map_encode_output_direct(c, o, out, outlen))
        return 0;
    return avro_map_encode_output_generic(c, o, out, outlen, err, errlen);
}

/* ------------------------------------------------------------------ decode: outputs */

#define GET_STR(x, rec, st, f) \
    TRY(avro_fields_str(x, rec, #f, true, "", (st)->f, sizeof((st)->f), NULL))
#define GET_LONG(x, rec, st, f) TRY(avro_fields_long(x, rec, #f, true, 0, &(st)->f, NULL))
#define GET_INT(x, rec, st, f)  TRY(avro_fields_int(x, rec, #f, true, 0, &(st)->f, NULL))

static dlq_reason_t read_output_body(avro_fields_ctx_t *x, const avro_value_t *r, eng_output_t *o)
{
    const char *dir;
    switch (o->kind) {
    case ENG_OUT_TIER_CHANGED: {
        eng_tier_changed_t *v = &o->u.tier_changed;
        GET_STR(x, r, v, from_tier);
        GET_STR(x, r, v, to_tier);
        TRY(avro_fields_enum(x, r, "direction", &dir));
        v->direction = strcmp(dir, "PROMOTION") == 0 ? 1 : -1;
        GET_STR(x, r, v, reason);
        GET_LONG(x, r, v, qualifying_value);
        return DLQ_OK;
    }
    case ENG_OUT_BONUS_EARNED: {
        eng_bonus_earned_t *v = &o->u.bonus_earned;
        GET_LONG(x, r, v, points);
        GET_INT(x, r, v, rate_bp);
        GET_STR(x, r, v, tier);
        GET_STR(x, r, v, source);
        GET_LONG(x, r, v, usable_from);
        TRY(avro_fields_long(x, r, "expires_at", false, ENG_TIME_NEVER, &v->expires_at, NULL));
        TRY(avro_fields_str(x, r, "period", false, "", v->period, sizeof(v->period), NULL));
        bool corr = false;
        TRY(avro_fields_bool(x, r, "correction", false, false, &corr));
        v->correction = corr;
        return DLQ_OK;
    }
    case ENG_OUT_EXPIRY_WARNING:
        GET_LONG(x, r, &o->u.expiry_warning, points);
        GET_LONG(x, r, &o->u.expiry_warning, expires_at);
        GET_INT(x, r, &o->u.expiry_warning, days_left);
        return DLQ_OK;
    case ENG_OUT_POINTS_EXPIRED:
        GET_LONG(x, r, &o->u.points_expired, points);
        GET_LONG(x, r, &o->u.points_expired, expired_at);
        return DLQ_OK;
    case ENG_OUT_POINTS_REVERSED:
        GET_LONG(x, r, &o->u.points_reversed, points);
        GET_LONG(x, r, &o->u.points_reversed, debt_added);
        GET_STR(x, r, &o->u.points_reversed, original_event_id);
        TRY(avro_fields_str(x, r, "reason", false, "return", o->u.points_reversed.reason,
                            sizeof(o->u.points_reversed.reason), NULL));
        TRY(avro_fields_str(x, r, "period", false, "", o->u.points_reversed.period,
                            sizeof(o->u.points_reversed.period), NULL));
        return DLQ_OK;
    case ENG_OUT_POINTS_REDEEMED:
        GET_LONG(x, r, &o->u.points_redeemed, points);
        GET_LONG(x, r, &o->u.points_redeemed, value);
        GET_LONG(x, r, &o->u.points_redeemed, balance_after);
        /* appended fields: absent in records of the first schema */
        TRY(avro_fields_long(x, r, "points_requested", false, o->u.points_redeemed.points,
                             &o->u.points_redeemed.points_requested, NULL));
        TRY(avro_fields_long(x, r, "points_allowed", false, o->u.points_redeemed.points,
                             &o->u.points_redeemed.points_allowed, NULL));
        return DLQ_OK;
    case ENG_OUT_REDEMPTION_REJECTED:
        GET_LONG(x, r, &o->u.redemption_rejected, points_requested);
        GET_LONG(x, r, &o->u.redemption_rejected, points_available);
        GET_STR(x, r, &o->u.redemption_rejected, reason);
        TRY(avro_fields_long(x, r, "points_allowed", false, 0,
                             &o->u.redemption_rejected.points_allowed, NULL));
        return DLQ_OK;
    case ENG_OUT_REWARD_EARNED:
        GET_STR(x, r, &o->u.reward_earned, reward);
        GET_STR(x, r, &o->u.reward_earned, category);
        GET_INT(x, r, &o->u.reward_earned, stamps_used);
        TRY(avro_fields_str(x, r, "source", false, "stamp_card", o->u.reward_earned.source,
                            sizeof(o->u.reward_earned.source), NULL));
        TRY(avro_fields_int(x, r, "quantity", false, 1, &o->u.reward_earned.quantity, NULL));
        return DLQ_OK;
    case ENG_OUT_TIER_WILL_DOWNGRADE:
        GET_STR(x, r, &o->u.tier_will_downgrade, from_tier);
        GET_STR(x, r, &o->u.tier_will_downgrade, to_tier);
        GET_LONG(x, r, &o->u.tier_will_downgrade, effective_at);
        GET_INT(x, r, &o->u.tier_will_downgrade, days_left);
        return DLQ_OK;
    case ENG_OUT_TIER_PROGRESS:
        GET_STR(x, r, &o->u.tier_progress, current_tier);
        GET_STR(x, r, &o->u.tier_progress, next_tier);
        GET_LONG(x, r, &o->u.tier_progress, current_value);
        GET_LONG(x, r, &o->u.tier_progress, missing);
        return DLQ_OK;
    default:
        return avro_fields_fail(x, DLQ_INCOMPATIBLE_SCHEMA, "not an output kind");
    }
}

dlq_reason_t avro_codec_decode_output(avro_codec_t *c, const void *value, size_t len,
                                      eng_output_t *o, char *msg, size_t msglen)
{
    writer_t *w = NULL;
    int32_t id;
    avro_fields_ctx_t x = {msg, msglen};
    dlq_reason_t r = avro_codec_read_framed(c, value, len, &w, &id, msg, msglen);
    if (r != DLQ_OK)
        return r;
    if (w->type < 0 || w->type >= ENG_OUT_KIND_COUNT)
        return avro_fields_fail(&x, DLQ_INCOMPATIBLE_SCHEMA, "schema id %d is not an output schema",
                                (int)id);
    memset(o, 0, sizeof(*o));
    o->kind = (eng_out_kind_t)w->type;
    GET_STR(&x, &w->value, o, output_id);
    GET_STR(&x, &w->value, o, customer_id);
    TRY(avro_fields_long(&x, &w->value, "time", true, 0, &o->time_ms, NULL));
    TRY(avro_fields_str(&x, &w->value, "cause_id", false, "", o->cause_id, sizeof(o->cause_id),
                        NULL));
    GET_STR(&x, &w->value, o, currency);
    return read_output_body(&x, &w->value, o);
}
