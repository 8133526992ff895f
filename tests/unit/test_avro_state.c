/*
 * Tests of the customer-state codec (schemas/avro_state.c): exact round trip (rings slot
 * for slot), a record of an older schema read with defaults, bounds, hostile bytes; and
 * the direct binary path against avro-c's generic one (same bytes written, same states
 * and same verdicts read, on random states and on mutated records).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "avro_codec.h"
#include "avro_codec_int.h"
#include "avro_json.h"
#include "eng.h"
#include "eng_json.h"
#include "frame.h"
#include "test_mutate_util.h"

#include <jansson.h>
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
    return codec ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    avro_codec_destroy(codec);
    return 0;
}

static void sample_state(eng_state_t *s)
{
    memset(s, 0, sizeof(*s));
    s->version = ENG_STATE_VERSION;
    s->flags = 1;
    strcpy(s->customer_id, "cust-42");
    s->tier = 2;
    s->tier_since = 1760000000000;
    s->last_visit = 1767225600000;
    s->inactivity_steps = 1;
    s->downgrade_warned = 0x80000001u; /* the top bit survives the trip through a long */
    s->n_qbuckets = 3;
    for (uint32_t i = 0; i < 3; i++) {
        s->qbuckets[i].key = 24300 + (int32_t)i;
        s->qbuckets[i].value = 100000 * (i + 1);
    }
    s->period_start = 1764547200000;
    s->award_accum = 450000;
    s->debt = 7;
    s->n_lots = 2;
    s->lots[0] = (eng_lot_t){.amount = 500,
                             .remaining = 120,
                             .earned_at = 1,
                             .usable_from = 2,
                             .expires_at = 1769903999999,
                             .warned = 3,
                             .source = ENG_SRC_PERIOD};
    s->lots[1] = (eng_lot_t){.amount = 50,
                             .remaining = 50,
                             .earned_at = 3,
                             .usable_from = 4,
                             .expires_at = ENG_TIME_NEVER,
                             .warned = 0,
                             .source = ENG_SRC_STAMP};
    s->stamps[0] = 9;
    s->stamps[3] = 2;
    s->n_purchases = ENG_PURCHASES_MAX; /* a full ring whose oldest entry is at slot 5 */
    s->purchases_head = 5;
    for (int i = 0; i < ENG_PURCHASES_MAX; i++) {
        eng_purchase_rec_t *p = &s->purchases[i];
        p->id_hash = 0xF000000000000000ull + (uint64_t)i;
        p->time_ms = 1767225600000 + i;
        p->eligible_amount = 1000 * i;
        p->points = 10 * i;
        p->returned_amount = i;
        p->points_reversed = i / 2;
        p->qual_value = 1000 * i;
        p->qual_returned = 3;
        p->award_amount = 999;
        p->qual_key = 24300;
        p->award_period = 24311;
        p->gross_amount = 1234 * i;
    }
    s->n_seen = 5;
    s->seen_head = 5;
    for (int i = 0; i < 5; i++)
        s->seen[i] = 0xCBF29CE484222325ull * (uint64_t)(i + 1);
    s->birthday_year = 2025;
    s->total_earned = 550;
    s->total_redeemed = 380;
    s->total_expired = 0;
    s->total_reversed = 0;
    s->joined_at = 1577836800000;
    s->birth_month = 2;
    s->birth_day = 29;
    strcpy(s->account_status, "business");
}

static void round_trip(const eng_state_t *in)
{
    const uint8_t *buf;
    size_t len;
    eng_state_t *out = malloc(sizeof(*out));
    assert_int_equal(avro_codec_encode_state(codec, in, &buf, &len, err, sizeof(err)), 0);
    dlq_reason_t r = avro_codec_decode_state(codec, buf, len, out, msg, sizeof(msg));
    if (r != DLQ_OK)
        fail_msg("%s: %s", dlq_reason_name(r), msg);
    assert_memory_equal(in, out, sizeof(*in));
    free(out);
}

static void test_state_round_trip_is_exact(void **state)
{
    (void)state;
    eng_state_t s;
    sample_state(&s);
    round_trip(&s);
}

static void test_empty_state_round_trip(void **state)
{
    (void)state;
    eng_state_t s;
    memset(&s, 0, sizeof(s));
    round_trip(&s);
}

static void test_partly_filled_ring_round_trip(void **state)
{
    (void)state;
    eng_state_t s;
    sample_state(&s);
    memset(s.purchases, 0, sizeof(s.purchases));
    s.n_purchases = 3;
    s.purchases_head = 14; /* wraps: slots 14, 15, 0 */
    s.purchases[14].points = 1;
    s.purchases[15].points = 2;
    s.purchases[0].points = 3;
    round_trip(&s);
}

static void test_counts_beyond_bounds_are_refused(void **state)
{
    (void)state;
    eng_state_t s;
    const uint8_t *buf;
    size_t len;
    sample_state(&s);
    s.n_lots = ENG_LOTS_MAX + 1;
    assert_int_equal(avro_codec_encode_state(codec, &s, &buf, &len, err, sizeof(err)), -1);
    sample_state(&s);
    s.seen_head = ENG_SEEN_MAX;
    assert_int_equal(avro_codec_encode_state(codec, &s, &buf, &len, err, sizeof(err)), -1);
}

/* The CustomerState schema without the named fields: "an older version". */
static char *older_schema(const char *const *drop, size_t n)
{
    json_t *root = json_loads(avro_codec_schema_json(AVRO_CODEC_TYPE_STATE), 0, NULL);
    json_t *fields = json_object_get(root, "fields");
    for (size_t i = json_array_size(fields); i-- > 0;) {
        const char *name = json_string_value(json_object_get(json_array_get(fields, i), "name"));
        for (size_t d = 0; d < n; d++)
            if (strcmp(name, drop[d]) == 0) {
                json_array_remove(fields, i); /* frees name: stop comparing it */
                break;
            }
    }
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}

static void test_older_state_record_reads_with_defaults(void **state)
{
    (void)state;
    const char *drop[] = {"version",       "birthday_year",  "total_earned",   "total_redeemed",
                          "total_expired", "total_reversed", "seen",           "seen_head",
                          "next_accum",    "closed_floor",   "closed_periods", "joined_at",
                          "birth_month",   "birth_day",      "account_status"};
    char *schema = older_schema(drop, sizeof(drop) / sizeof(drop[0]));
    assert_int_equal(avro_codec_add_writer_schema(codec, 250, schema, err, sizeof(err)), 0);
    /* the older build wrote this record (avro-c directly, with its schema) */
    avro_schema_t ws;
    assert_int_equal(avro_schema_from_json_length(schema, strlen(schema), &ws), 0);
    avro_value_iface_t *iface = avro_generic_class_from_schema(ws);
    avro_value_t v;
    avro_generic_value_new(iface, &v);
    assert_int_equal(
        avro_json_to_value("{\"flags\":1,\"customer_id\":\"old-1\",\"tier\":1,\"tier_since\":5,"
                           "\"last_visit\":6,\"inactivity_steps\":0,\"downgrade_warned\":0,"
                           "\"qualifying\":[{\"key\":1,\"value\":2}],\"period_start\":0,"
                           "\"award_accum\":0,\"debt\":0,\"lots\":[{\"amount\":10,"
                           "\"remaining\":10,\"earned_at\":1,\"usable_from\":1,\"expires_at\":"
                           "null,\"warned\":0,\"source\":0}],\"stamps\":[1,2],"
                           "\"purchases_head\":0,\"purchases\":[]}",
                           &v, err, sizeof(err)),
        0);
    uint8_t buf[2048];
    avro_writer_t w = avro_writer_memory((char *)buf + 5, sizeof(buf) - 5);
    assert_int_equal(avro_value_write(w, &v), 0);
    size_t len = 5 + (size_t)avro_writer_tell(w);
    frame_write_header(buf, 250);
    eng_state_t s;
    memset(&s, 0x5A, sizeof(s));
    dlq_reason_t r = avro_codec_decode_state(codec, buf, len, &s, msg, sizeof(msg));
    if (r != DLQ_OK)
        fail_msg("%s: %s", dlq_reason_name(r), msg);
    assert_int_equal(s.version, 1); /* the schema's default */
    assert_string_equal(s.customer_id, "old-1");
    assert_int_equal(s.n_lots, 1);
    assert_true(s.lots[0].expires_at == ENG_TIME_NEVER);
    assert_int_equal(s.stamps[1], 2);
    assert_int_equal(s.n_seen, 0);
    assert_int_equal(s.total_earned, 0);
    assert_int_equal(s.birthday_year, 0);
    avro_writer_free(w);
    avro_value_decref(&v);
    avro_value_iface_decref(iface);
    avro_schema_decref(ws);
    free(schema);
}

static void test_every_truncation_of_a_state_is_refused(void **state)
{
    (void)state;
    eng_state_t s, out;
    const uint8_t *buf;
    size_t len;
    sample_state(&s);
    assert_int_equal(avro_codec_encode_state(codec, &s, &buf, &len, err, sizeof(err)), 0);
    uint8_t *copy = malloc(len);
    memcpy(copy, buf, len);
    for (size_t cut = 0; cut < len; cut++)
        assert_int_not_equal(avro_codec_decode_state(codec, copy, cut, &out, msg, sizeof(msg)),
                             DLQ_OK);
    assert_int_equal(avro_codec_decode_state(codec, copy, len, &out, msg, sizeof(msg)), DLQ_OK);
    free(copy);
}

static void test_an_event_is_not_a_state(void **state)
{
    (void)state;
    eng_output_t o;
    eng_state_t s;
    const uint8_t *buf;
    size_t len;
    memset(&o, 0, sizeof(o));
    o.kind = ENG_OUT_POINTS_EXPIRED;
    assert_int_equal(avro_codec_encode_output(codec, &o, &buf, &len, err, sizeof(err)), 0);
    assert_int_equal(avro_codec_decode_state(codec, buf, len, &s, msg, sizeof(msg)),
                     DLQ_INCOMPATIBLE_SCHEMA);
}

/* ------------------------------------------------------------------ direct vs generic */

/* Values that exercise every varint length and sign, and the extremes. */
static int64_t rnd_long(void)
{
    switch (rnd() % 6) {
    case 0:
        return 0;
    case 1:
        return (int64_t)(rnd() % 200) - 100;
    case 2:
        return rnd() % 2 ? INT64_MAX : INT64_MIN;
    case 3:
        return (int64_t)(rnd() >> (rnd() % 64));
    default:
        return (int64_t)rnd();
    }
}

static int32_t rnd_int(void)
{
    return rnd() % 3 ? (int32_t)(rnd() % 2000) - 1000 : (int32_t)rnd();
}

static void random_state(eng_state_t *s)
{
    memset(s, 0, sizeof(*s));
    s->version = (uint32_t)rnd_int();
    s->flags = (uint32_t)rnd();
    size_t idn = rnd() % sizeof(s->customer_id);
    for (size_t i = 0; i < idn; i++)
        s->customer_id[i] = (char)(' ' + rnd() % 95);
    s->tier = rnd_int();
    s->tier_since = rnd_long();
    s->last_visit = rnd_long();
    s->inactivity_steps = rnd_int();
    s->downgrade_warned = (uint32_t)rnd();
    s->n_qbuckets = (uint32_t)(rnd() % (ENG_QBUCKETS_MAX + 1));
    for (uint32_t i = 0; i < s->n_qbuckets; i++) {
        s->qbuckets[i].key = rnd_int();
        s->qbuckets[i].value = rnd_long();
    }
    s->period_start = rnd_long();
    s->award_accum = rnd_long();
    s->debt = rnd_long();
    s->n_lots = (uint32_t)(rnd() % (ENG_LOTS_MAX + 1));
    for (uint32_t i = 0; i < s->n_lots; i++) {
        eng_lot_t *l = &s->lots[i];
        l->amount = rnd_long();
        l->remaining = rnd_long();
        l->earned_at = rnd_long();
        l->usable_from = rnd_long();
        l->expires_at = rnd() % 3 ? rnd_long() : ENG_TIME_NEVER;
        l->warned = (uint32_t)rnd();
        l->source = (uint8_t)rnd();
    }
    for (int i = 0; i < ENG_STAMPS_MAX; i++)
        s->stamps[i] = rnd_int();
    s->n_purchases = (uint32_t)(rnd() % (ENG_PURCHASES_MAX + 1));
    s->purchases_head = (uint32_t)(rnd() % ENG_PURCHASES_MAX);
    for (uint32_t k = 0; k < s->n_purchases; k++) {
        eng_purchase_rec_t *p = &s->purchases[(s->purchases_head + k) % ENG_PURCHASES_MAX];
        p->id_hash = rnd();
        p->time_ms = rnd_long();
        p->eligible_amount = rnd_long();
        p->points = rnd_long();
        p->returned_amount = rnd_long();
        p->points_reversed = rnd_long();
        p->qual_value = rnd_long();
        p->qual_returned = rnd_long();
        p->award_amount = rnd_long();
        p->qual_key = rnd_int();
        p->award_period = rnd_int();
        p->gross_amount = rnd_long();
    }
    s->n_seen = (uint32_t)(rnd() % (ENG_SEEN_MAX + 1));
    s->seen_head = (uint32_t)(rnd() % ENG_SEEN_MAX);
    for (uint32_t i = 0; i < s->n_seen; i++)
        s->seen[i] = rnd();
    s->birthday_year = rnd_int();
    s->total_earned = rnd_long();
    s->total_redeemed = rnd_long();
    s->total_expired = rnd_long();
    s->total_reversed = rnd_long();
    s->joined_at = rnd_long();
    s->birth_month = rnd_int();
    s->birth_day = rnd_int();
    size_t sn = rnd() % sizeof(s->account_status);
    for (size_t i = 0; i < sn; i++)
        s->account_status[i] = (char)(' ' + rnd() % 95);
}

static void
test_direct_and_generic_paths_write_the_same_bytes_and_read_the_same_states(void **state)
{
    (void)state;
    static uint8_t generic[16384];
    for (int iter = 0; iter < 20000; iter++) {
        eng_state_t in, a, b;
        random_state(&in);
        const uint8_t *buf;
        size_t glen, dlen;
        assert_int_equal(avro_state_encode_generic(codec, &in, &buf, &glen, err, sizeof(err)), 0);
        assert_true(glen <= sizeof(generic));
        memcpy(generic, buf, glen);
        assert_int_equal(avro_codec_encode_state(codec, &in, &buf, &dlen, err, sizeof(err)), 0);
        assert_int_equal(dlen, glen);
        assert_memory_equal(buf, generic, glen);
        memset(&a, 0x5a, sizeof(a));
        memset(&b, 0xa5, sizeof(b));
        assert_int_equal(avro_codec_decode_state(codec, generic, glen, &a, msg, sizeof(msg)),
                         DLQ_OK);
        assert_int_equal(avro_state_decode_generic(codec, generic, glen, &b, msg, sizeof(msg)),
                         DLQ_OK);
        assert_memory_equal(&a, &b, sizeof(a));
        assert_memory_equal(&a, &in, sizeof(a)); /* random_state zeroes what it leaves */
    }
}

/* Hostile bytes: whatever a mutated record is, both paths give the same verdict and, when
 * they accept it, the same state (the direct path hands anything unusual to the generic
 * one, which is what this checks). */
static void test_mutated_records_get_the_same_verdict_on_both_paths(void **state)
{
    (void)state;
    static uint8_t rec[16384];
    int accepted = 0, refused = 0;
    for (int iter = 0; iter < 30000; iter++) {
        eng_state_t in, a, b;
        random_state(&in);
        const uint8_t *buf;
        size_t len;
        assert_int_equal(avro_codec_encode_state(codec, &in, &buf, &len, err, sizeof(err)), 0);
        memcpy(rec, buf, len);
        mutate_record(rec, &len, sizeof(rec), 4, false);
        memset(&a, 0, sizeof(a));
        memset(&b, 0, sizeof(b));
        dlq_reason_t ra = avro_codec_decode_state(codec, rec, len, &a, msg, sizeof(msg));
        dlq_reason_t rb = avro_state_decode_generic(codec, rec, len, &b, msg, sizeof(msg));
        if (ra != rb)
            fail_msg("direct %s, generic %s: %s", dlq_reason_name(ra), dlq_reason_name(rb), msg);
        if (ra == DLQ_OK) {
            assert_memory_equal(&a, &b, sizeof(a));
            accepted++;
        } else {
            refused++;
        }
    }
    /* Both outcomes must be exercised, or the test says nothing. */
    assert_true(accepted > 1000);
    assert_true(refused > 1000);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[1 << 16];
    *len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    return buf;
}

/* A record the store or the changelog holds from the release before the customer
 * attributes (tests/unit/fixtures/state-v1/README.md): read by name with today's schema,
 * every old value back, the new fields at their defaults, and the engine goes on from it. */
static void test_state_v1_fixture_still_loads(void **state)
{
    (void)state;
    const char *src = getenv("LS_SOURCE_DIR");
    assert_non_null(src);
    char path[1024];
    size_t len;
    snprintf(path, sizeof(path), "%s/tests/unit/fixtures/state-v1/state.bin", src);
    const char *bin = slurp(path, &len);
    assert_non_null(bin);
    int32_t id;
    const uint8_t *payload;
    size_t plen;
    assert_int_equal(frame_parse(bin, len, &id, &payload, &plen), FRAME_OK);
    assert_int_equal(id, 201); /* version 1's id */
    static eng_state_t s;
    dlq_reason_t r = avro_codec_decode_state(codec, bin, len, &s, msg, sizeof(msg));
    if (r != DLQ_OK)
        fail_msg("%s: %s", dlq_reason_name(r), msg);
    assert_int_equal(s.version, 1);
    assert_true(s.joined_at == 0 && s.birth_month == 0 && s.account_status[0] == '\0');
    /* every value the old code wrote comes back */
    snprintf(path, sizeof(path), "%s/tests/unit/fixtures/state-v1/state.json", src);
    json_t *old = json_load_file(path, 0, NULL);
    assert_non_null(old);
    json_t *now = eng_json_state(&s);
    const char *key;
    json_t *v;
    json_object_foreach(old, key, v)
    {
        if (!json_equal(v, json_object_get(now, key)))
            fail_msg("field %s differs from the version-1 record", key);
    }
    json_decref(old);
    json_decref(now);

    /* the engine continues from it: its seen ids, its join date from what it records */
    snprintf(path, sizeof(path), "%s/tests/unit/fixtures/state-v1/program.yaml", src);
    prog_t *p = prog_load(path, NULL, err, sizeof(err));
    assert_non_null(p);
    static eng_output_t ob[ENG_OUT_MIN_CAP];
    eng_outbuf_t out = {.v = ob, .cap = ENG_OUT_MIN_CAP};
    eng_event_t ev;
    const char *again = "{\"type\":\"purchase\",\"event_id\":\"f5\",\"customer_id\":"
                        "\"fixture-anna\",\"time\":\"2026-04-02T10:00:00+03:00\",\"lines\":"
                        "[{\"sku\":\"c\",\"category\":\"tea\",\"quantity\":1,\"amount\":50000}]}";
    assert_int_equal(eng_json_parse_event(again, strlen(again), &ev, err, sizeof(err)), 0);
    assert_int_equal(eng_apply_event(p, &s, &ev, &out, err, sizeof(err)), ENG_DUPLICATE);
    const char *next = "{\"type\":\"purchase\",\"event_id\":\"f6\",\"customer_id\":"
                       "\"fixture-anna\",\"time\":\"2026-04-03T10:00:00+03:00\",\"lines\":"
                       "[{\"sku\":\"c\",\"category\":\"coffee\",\"quantity\":3,"
                       "\"amount\":30000}]}";
    assert_int_equal(eng_json_parse_event(next, strlen(next), &ev, err, sizeof(err)), 0);
    out.n = 0;
    assert_int_equal(eng_apply_event(p, &s, &ev, &out, err, sizeof(err)), ENG_OK);
    assert_int_equal(s.version, ENG_STATE_VERSION);
    assert_true(s.joined_at == 1772521200000); /* f1, the earliest purchase it records */
    assert_int_equal(s.stamps[0], 0);          /* 2 + 3 coffees: one free coffee */
    assert_int_equal(out.n, 2);                /* BonusEarned, RewardEarned */
    assert_int_equal(out.v[1].kind, ENG_OUT_REWARD_EARNED);
    assert_true(s.total_earned ==
                eng_balance(&s) + s.total_redeemed + s.total_expired + s.total_reversed);
    /* and it is written with today's schema, which reads back exactly */
    const uint8_t *buf;
    assert_int_equal(avro_codec_encode_state(codec, &s, &buf, &len, err, sizeof(err)), 0);
    assert_int_equal(frame_parse(buf, len, &id, &payload, &plen), FRAME_OK);
    assert_int_equal(id, avro_codec_schema_id(codec, AVRO_CODEC_TYPE_STATE));
    assert_int_not_equal(id, 201);
    round_trip(&s);
    prog_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_round_trip_is_exact),
        cmocka_unit_test(test_empty_state_round_trip),
        cmocka_unit_test(test_partly_filled_ring_round_trip),
        cmocka_unit_test(test_counts_beyond_bounds_are_refused),
        cmocka_unit_test(test_older_state_record_reads_with_defaults),
        cmocka_unit_test(test_every_truncation_of_a_state_is_refused),
        cmocka_unit_test(test_an_event_is_not_a_state),
        cmocka_unit_test(
            test_direct_and_generic_paths_write_the_same_bytes_and_read_the_same_states),
        cmocka_unit_test(test_mutated_records_get_the_same_verdict_on_both_paths),
        cmocka_unit_test(test_state_v1_fixture_still_loads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
