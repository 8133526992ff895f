/*
 * avro_state: eng_state_t <-> the CustomerState record (schemas/customer_state.avsc), the
 * value of the state store and of the changelog.
 *
 * The one idea: the record is versioned by evolution, not by hand-written migrations:
 * every field has a default, fields are only appended, and decoding reads the writer's
 * record by name (avro_fields), so a record of an older schema fills the fields it lacks
 * with their defaults. The rings (recent purchases, seen event ids) are written with their
 * head positions so that a decoded state equals the encoded one slot for slot, which the
 * crash tests' state comparisons need. Unsigned fields travel as the bit pattern of an
 * Avro long (Avro has no unsigned types).
 */
#include "avro_bin.h"
#include "avro_codec_int.h"
#include "avro_fields.h"

#include "frame.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(expr)      \
    do {                 \
        if ((expr) != 0) \
            return -1;   \
    } while (0)

#define TRY(expr)                 \
    do {                          \
        dlq_reason_t r_ = (expr); \
        if (r_ != DLQ_OK)         \
            return r_;            \
    } while (0)

/* ------------------------------------------------------------------ encode */

static int put_ts_opt(avro_value_t *rec, const char *name, int64_t v)
{
    avro_value_t b;
    if (v == ENG_TIME_NEVER)
        return avro_fields_set_null(rec, name);
    CHECK(avro_fields_set_branch(rec, name, 1, &b));
    return avro_value_set_long(&b, v);
}

static int put_lots(avro_value_t *root, const eng_state_t *s)
{
    avro_value_t arr, el;
    CHECK(avro_value_get_by_name(root, "lots", &arr, NULL));
    for (uint32_t i = 0; i < s->n_lots; i++) {
        const eng_lot_t *l = &s->lots[i];
        CHECK(avro_value_append(&arr, &el, NULL));
        CHECK(avro_fields_set_long(&el, "amount", l->amount));
        CHECK(avro_fields_set_long(&el, "remaining", l->remaining));
        CHECK(avro_fields_set_long(&el, "earned_at", l->earned_at));
        CHECK(avro_fields_set_long(&el, "usable_from", l->usable_from));
        CHECK(put_ts_opt(&el, "expires_at", l->expires_at));
        CHECK(avro_fields_set_long(&el, "warned", l->warned));
        CHECK(avro_fields_set_int(&el, "source", l->source));
    }
    return 0;
}

static int put_purchase(avro_value_t *el, const eng_purchase_rec_t *p)
{
    CHECK(avro_fields_set_long(el, "id_hash", (int64_t)p->id_hash));
    CHECK(avro_fields_set_long(el, "time", p->time_ms));
    CHECK(avro_fields_set_long(el, "eligible_amount", p->eligible_amount));
    CHECK(avro_fields_set_long(el, "points", p->points));
    CHECK(avro_fields_set_long(el, "returned_amount", p->returned_amount));
    CHECK(avro_fields_set_long(el, "points_reversed", p->points_reversed));
    CHECK(avro_fields_set_long(el, "qual_value", p->qual_value));
    CHECK(avro_fields_set_long(el, "qual_returned", p->qual_returned));
    CHECK(avro_fields_set_long(el, "award_amount", p->award_amount));
    CHECK(avro_fields_set_int(el, "qual_key", p->qual_key));
    CHECK(avro_fields_set_int(el, "award_period", p->award_period));
    return avro_fields_set_long(el, "gross_amount", p->gross_amount);
}

static int put_arrays(avro_value_t *root, const eng_state_t *s)
{
    avro_value_t arr, el;
    CHECK(avro_value_get_by_name(root, "qualifying", &arr, NULL));
    for (uint32_t i = 0; i < s->n_qbuckets; i++) {
        CHECK(avro_value_append(&arr, &el, NULL));
        CHECK(avro_fields_set_int(&el, "key", s->qbuckets[i].key));
        CHECK(avro_fields_set_long(&el, "value", s->qbuckets[i].value));
    }
    CHECK(put_lots(root, s));
    CHECK(avro_value_get_by_name(root, "stamps", &arr, NULL));
    for (int i = 0; i < ENG_STAMPS_MAX; i++)
        CHECK(avro_value_append(&arr, &el, NULL) || avro_value_set_int(&el, s->stamps[i]));
    CHECK(avro_value_get_by_name(root, "purchases", &arr, NULL));
    for (uint32_t i = 0; i < s->n_purchases; i++) { /* oldest first, from the head */
        CHECK(avro_value_append(&arr, &el, NULL));
        CHECK(put_purchase(&el, &s->purchases[(s->purchases_head + i) % ENG_PURCHASES_MAX]));
    }
    CHECK(avro_value_get_by_name(root, "seen", &arr, NULL));
    for (uint32_t i = 0; i < s->n_seen; i++)
        CHECK(avro_value_append(&arr, &el, NULL) || avro_value_set_long(&el, (int64_t)s->seen[i]));
    CHECK(avro_value_get_by_name(root, "closed_periods", &arr, NULL));
    for (uint32_t i = 0; i < s->n_closed; i++) {
        CHECK(avro_value_append(&arr, &el, NULL));
        CHECK(avro_fields_set_int(&el, "month", s->closed[i].month));
        CHECK(avro_fields_set_long(&el, "accum", s->closed[i].accum));
        CHECK(avro_fields_set_long(&el, "paid", s->closed[i].paid));
    }
    return 0;
}

static int put_state(avro_value_t *root, const eng_state_t *s)
{
    if (s->n_qbuckets > ENG_QBUCKETS_MAX || s->n_lots > ENG_LOTS_MAX ||
        s->n_purchases > ENG_PURCHASES_MAX || s->purchases_head >= ENG_PURCHASES_MAX ||
        s->n_seen > ENG_SEEN_MAX || s->seen_head >= ENG_SEEN_MAX || s->n_closed > ENG_CLOSED_MAX)
        return -1;
    CHECK(avro_fields_set_int(root, "version", (int32_t)s->version));
    CHECK(avro_fields_set_long(root, "flags", s->flags));
    CHECK(avro_fields_set_str(root, "customer_id", s->customer_id, sizeof(s->customer_id)));
    CHECK(avro_fields_set_int(root, "tier", s->tier));
    CHECK(avro_fields_set_long(root, "tier_since", s->tier_since));
    CHECK(avro_fields_set_long(root, "last_visit", s->last_visit));
    CHECK(avro_fields_set_int(root, "inactivity_steps", s->inactivity_steps));
    CHECK(avro_fields_set_long(root, "downgrade_warned", s->downgrade_warned));
    CHECK(avro_fields_set_long(root, "period_start", s->period_start));
    CHECK(avro_fields_set_long(root, "award_accum", s->award_accum));
    CHECK(avro_fields_set_long(root, "debt", s->debt));
    CHECK(avro_fields_set_int(root, "purchases_head", (int32_t)s->purchases_head));
    CHECK(avro_fields_set_int(root, "seen_head", (int32_t)s->seen_head));
    CHECK(avro_fields_set_int(root, "birthday_year", s->birthday_year));
    CHECK(avro_fields_set_long(root, "total_earned", s->total_earned));
    CHECK(avro_fields_set_long(root, "total_redeemed", s->total_redeemed));
    CHECK(avro_fields_set_long(root, "total_expired", s->total_expired));
    CHECK(avro_fields_set_long(root, "total_reversed", s->total_reversed));
    CHECK(avro_fields_set_long(root, "next_accum", s->next_accum));
    CHECK(avro_fields_set_int(root, "closed_floor", s->closed_floor));
    CHECK(avro_fields_set_long(root, "joined_at", s->joined_at));
    CHECK(avro_fields_set_int(root, "birth_month", s->birth_month));
    CHECK(avro_fields_set_int(root, "birth_day", s->birth_day));
    CHECK(
        avro_fields_set_str(root, "account_status", s->account_status, sizeof(s->account_status)));
    return put_arrays(root, s);
}

int avro_state_encode_generic(avro_codec_t *c, const eng_state_t *s, const uint8_t **out,
                              size_t *outlen, char *err, size_t errlen)
{
    if (!c->has_enc[AVRO_CODEC_TYPE_STATE]) {
        snprintf(err, errlen, "this build has no CustomerState schema");
        return -1;
    }
    avro_value_t *root = &c->enc[AVRO_CODEC_TYPE_STATE];
    avro_value_reset(root);
    if (put_state(root, s) != 0) {
        snprintf(err, errlen,
                 "state of customer %.63s: cannot encode (a count or ring head "
                 "beyond its bound, or an unterminated customer id)",
                 s->customer_id);
        return -1;
    }
    return avro_codec_write_framed(c, AVRO_CODEC_TYPE_STATE, out, outlen, err, errlen);
}

/* ------------------------------------------------------------------ decode */

/* The array field name of rec (absent = empty), its size checked against max. */
static dlq_reason_t get_array(avro_fields_ctx_t *x, const avro_value_t *rec, const char *name,
                              size_t max, avro_value_t *arr, size_t *n)
{
    *n = 0;
    if (!avro_fields_find(rec, name, arr))
        return DLQ_OK;
    if (avro_value_get_type(arr) != AVRO_ARRAY || avro_value_get_size(arr, n) != 0)
        return avro_fields_fail(x, DLQ_INCOMPATIBLE_SCHEMA, "field '%s' is not an array", name);
    if (*n > max)
        return avro_fields_fail(x, DLQ_INVALID_VALUE, "field '%s' has %zu entries, at most %zu",
                                name, *n, max);
    return DLQ_OK;
}

static dlq_reason_t get_element(avro_fields_ctx_t *x, const avro_value_t *arr, size_t i,
                                avro_type_t type, avro_value_t *el)
{
    if (avro_value_get_by_index(arr, i, el, NULL) != 0 || !avro_fields_unwrap(el) ||
        avro_value_get_type(el) != type)
        return avro_fields_fail(x, DLQ_INCOMPATIBLE_SCHEMA, "array entry %zu has another type", i);
    return DLQ_OK;
}

#define OPT_LONG(x, rec, name, dst) TRY(avro_fields_long(x, rec, name, false, 0, dst, NULL))
#define OPT_INT(x, rec, name, dst)  TRY(avro_fields_int(x, rec, name, false, 0, dst, NULL))

static dlq_reason_t get_u32(avro_fields_ctx_t *x, const avro_value_t *rec, const char *name,
                            uint32_t *dst)
{
    int64_t v;
    TRY(avro_fields_long(x, rec, name, false, 0, &v, NULL));
    if (v < 0 || v > UINT32_MAX)
        return avro_fields_fail(x, DLQ_INVALID_VALUE, "field '%s' is not a 32-bit mask", name);
    *dst = (uint32_t)v;
    return DLQ_OK;
}

static dlq_reason_t read_lots(avro_fields_ctx_t *x, const avro_value_t *root, eng_state_t *s)
{
    avro_value_t arr, el;
    size_t n;
    int32_t source;
    TRY(get_array(x, root, "lots", ENG_LOTS_MAX, &arr, &n));
    for (size_t i = 0; i < n; i++) {
        eng_lot_t *l = &s->lots[i];
        TRY(get_element(x, &arr, i, AVRO_RECORD, &el));
        OPT_LONG(x, &el, "amount", &l->amount);
        OPT_LONG(x, &el, "remaining", &l->remaining);
        OPT_LONG(x, &el, "earned_at", &l->earned_at);
        OPT_LONG(x, &el, "usable_from", &l->usable_from);
        TRY(avro_fields_long(x, &el, "expires_at", false, ENG_TIME_NEVER, &l->expires_at, NULL));
        TRY(get_u32(x, &el, "warned", &l->warned));
        OPT_INT(x, &el, "source", &source);
        if (source < 0 || source > 255)
            return avro_fields_fail(x, DLQ_INVALID_VALUE, "lot %zu: source %d", i, (int)source);
        l->source = (uint8_t)source;
    }
    s->n_lots = (uint32_t)n;
    return DLQ_OK;
}

static dlq_reason_t read_purchase(avro_fields_ctx_t *x, const avro_value_t *el,
                                  eng_purchase_rec_t *p)
{
    int64_t h;
    OPT_LONG(x, el, "id_hash", &h);
    p->id_hash = (uint64_t)h;
    OPT_LONG(x, el, "time", &p->time_ms);
    OPT_LONG(x, el, "eligible_amount", &p->eligible_amount);
    OPT_LONG(x, el, "points", &p->points);
    OPT_LONG(x, el, "returned_amount", &p->returned_amount);
    OPT_LONG(x, el, "points_reversed", &p->points_reversed);
    OPT_LONG(x, el, "qual_value", &p->qual_value);
    OPT_LONG(x, el, "qual_returned", &p->qual_returned);
    OPT_LONG(x, el, "award_amount", &p->award_amount);
    OPT_INT(x, el, "qual_key", &p->qual_key);
    OPT_INT(x, el, "award_period", &p->award_period);
    OPT_LONG(x, el, "gross_amount", &p->gross_amount);
    return DLQ_OK;
}

static dlq_reason_t read_rings(avro_fields_ctx_t *x, const avro_value_t *root, eng_state_t *s)
{
    avro_value_t arr, el;
    size_t n;
    int32_t head, seen_head;
    OPT_INT(x, root, "purchases_head", &head);
    OPT_INT(x, root, "seen_head", &seen_head);
    if (head < 0 || head >= ENG_PURCHASES_MAX || seen_head < 0 || seen_head >= ENG_SEEN_MAX)
        return avro_fields_fail(x, DLQ_INVALID_VALUE, "ring head out of range");
    s->purchases_head = (uint32_t)head;
    s->seen_head = (uint32_t)seen_head;
    TRY(get_array(x, root, "purchases", ENG_PURCHASES_MAX, &arr, &n));
    for (size_t i = 0; i < n; i++) {
        TRY(get_element(x, &arr, i, AVRO_RECORD, &el));
        TRY(read_purchase(x, &el, &s->purchases[(head + i) % ENG_PURCHASES_MAX]));
    }
    s->n_purchases = (uint32_t)n;
    TRY(get_array(x, root, "seen", ENG_SEEN_MAX, &arr, &n));
    for (size_t i = 0; i < n; i++) {
        int64_t h;
        TRY(get_element(x, &arr, i, AVRO_INT64, &el));
        avro_value_get_long(&el, &h);
        s->seen[i] = (uint64_t)h;
    }
    s->n_seen = (uint32_t)n;
    TRY(get_array(x, root, "closed_periods", ENG_CLOSED_MAX, &arr, &n));
    for (size_t i = 0; i < n; i++) {
        TRY(get_element(x, &arr, i, AVRO_RECORD, &el));
        OPT_INT(x, &el, "month", &s->closed[i].month);
        OPT_LONG(x, &el, "accum", &s->closed[i].accum);
        OPT_LONG(x, &el, "paid", &s->closed[i].paid);
    }
    s->n_closed = (uint32_t)n;
    return DLQ_OK;
}

static dlq_reason_t read_arrays(avro_fields_ctx_t *x, const avro_value_t *root, eng_state_t *s)
{
    avro_value_t arr, el;
    size_t n;
    TRY(get_array(x, root, "qualifying", ENG_QBUCKETS_MAX, &arr, &n));
    for (size_t i = 0; i < n; i++) {
        TRY(get_element(x, &arr, i, AVRO_RECORD, &el));
        OPT_INT(x, &el, "key", &s->qbuckets[i].key);
        OPT_LONG(x, &el, "value", &s->qbuckets[i].value);
    }
    s->n_qbuckets = (uint32_t)n;
    TRY(read_lots(x, root, s));
    TRY(get_array(x, root, "stamps", ENG_STAMPS_MAX, &arr, &n));
    for (size_t i = 0; i < n; i++) {
        TRY(get_element(x, &arr, i, AVRO_INT32, &el));
        avro_value_get_int(&el, &s->stamps[i]);
    }
    return read_rings(x, root, s);
}

dlq_reason_t avro_state_decode_generic(avro_codec_t *c, const void *value, size_t len,
                                       eng_state_t *s, char *msg, size_t msglen)
{
    writer_t *w = NULL;
    int32_t id, version;
    avro_fields_ctx_t x = {msg, msglen};
    dlq_reason_t r = avro_codec_read_framed(c, value, len, &w, &id, msg, msglen);
    if (r != DLQ_OK)
        return r;
    if (w->type != AVRO_CODEC_TYPE_STATE)
        return avro_fields_fail(&x, DLQ_INCOMPATIBLE_SCHEMA,
                                "schema id %d is not a CustomerState schema", (int)id);
    const avro_value_t *root = &w->value;
    memset(s, 0, sizeof(*s));
    TRY(avro_fields_int(&x, root, "version", false, 1, &version, NULL));
    s->version = (uint32_t)version;
    TRY(get_u32(&x, root, "flags", &s->flags));
    TRY(avro_fields_str(&x, root, "customer_id", false, "", s->customer_id, sizeof(s->customer_id),
                        NULL));
    OPT_INT(&x, root, "tier", &s->tier);
    OPT_LONG(&x, root, "tier_since", &s->tier_since);
    OPT_LONG(&x, root, "last_visit", &s->last_visit);
    OPT_INT(&x, root, "inactivity_steps", &s->inactivity_steps);
    TRY(get_u32(&x, root, "downgrade_warned", &s->downgrade_warned));
    OPT_LONG(&x, root, "period_start", &s->period_start);
    OPT_LONG(&x, root, "award_accum", &s->award_accum);
    OPT_LONG(&x, root, "debt", &s->debt);
    OPT_INT(&x, root, "birthday_year", &s->birthday_year);
    OPT_LONG(&x, root, "total_earned", &s->total_earned);
    OPT_LONG(&x, root, "total_redeemed", &s->total_redeemed);
    OPT_LONG(&x, root, "total_expired", &s->total_expired);
    OPT_LONG(&x, root, "total_reversed", &s->total_reversed);
    OPT_LONG(&x, root, "next_accum", &s->next_accum);
    OPT_INT(&x, root, "closed_floor", &s->closed_floor);
    /* version 3: absent in records of versions 1 and 2 (then their defaults) */
    OPT_LONG(&x, root, "joined_at", &s->joined_at);
    OPT_INT(&x, root, "birth_month", &s->birth_month);
    OPT_INT(&x, root, "birth_day", &s->birth_day);
    TRY(avro_fields_str(&x, root, "account_status", false, "", s->account_status,
                        sizeof(s->account_status), NULL));
    return read_arrays(&x, root, s);
}

/* ------------------------------------------------------------------ direct binary path */

/*
 * The state is written and read on every event, and avro-c's generic values cost most of
 * the pipeline's CPU there (a hash lookup per field by name, a malloc per string). This
 * build's own CustomerState schema is fixed, so its binary form is written and read
 * directly here, following the Avro specification: ints and longs as zig-zag varints,
 * strings as length + bytes, arrays as one block (count, items) and the closing 0, the
 * union [null, long] as branch index then value. The bytes are the same as avro-c's
 * (tests/unit/test_avro_state.c compares both on random states).
 *
 * Reading takes this path only for records written with our own schema id, and only when
 * the record is exactly what this build writes; anything else (another writer schema,
 * blocks with byte sizes, a value out of range, a string that is not UTF-8, trailing bytes, any
 * truncation) goes to the generic path, which gives the precise error. So the fast path
 * never decides what is an error.
 */

/* Upper bound of the encoded size of any state (10 bytes per varint). */
#define STATE_BIN_MAX                                                                         \
    (40 * 10 + ENG_ID_MAX + ENG_QBUCKETS_MAX * 20 + ENG_LOTS_MAX * 71 + ENG_STAMPS_MAX * 10 + \
     ENG_PURCHASES_MAX * 120 + ENG_SEEN_MAX * 10 + ENG_CLOSED_MAX * 30 + 3 * 10 + ENG_NAME_MAX)

static void put_state_bin(bin_out_t *o, const eng_state_t *s, size_t id_len, size_t status_len)
{
    bin_put_long(o, (int32_t)s->version);
    bin_put_long(o, s->flags);
    bin_put_str(o, s->customer_id, id_len);
    bin_put_long(o, s->tier);
    bin_put_long(o, s->tier_since);
    bin_put_long(o, s->last_visit);
    bin_put_long(o, s->inactivity_steps);
    bin_put_long(o, s->downgrade_warned);
    if (s->n_qbuckets) {
        bin_put_long(o, s->n_qbuckets);
        for (uint32_t i = 0; i < s->n_qbuckets; i++) {
            bin_put_long(o, s->qbuckets[i].key);
            bin_put_long(o, s->qbuckets[i].value);
        }
    }
    bin_put_long(o, 0);
    bin_put_long(o, s->period_start);
    bin_put_long(o, s->award_accum);
    bin_put_long(o, s->debt);
    if (s->n_lots) {
        bin_put_long(o, s->n_lots);
        for (uint32_t i = 0; i < s->n_lots; i++) {
            const eng_lot_t *l = &s->lots[i];
            bin_put_long(o, l->amount);
            bin_put_long(o, l->remaining);
            bin_put_long(o, l->earned_at);
            bin_put_long(o, l->usable_from);
            bin_put_opt_long(o, l->expires_at != ENG_TIME_NEVER, l->expires_at);
            bin_put_long(o, l->warned);
            bin_put_long(o, l->source);
        }
    }
    bin_put_long(o, 0);
    bin_put_long(o, ENG_STAMPS_MAX);
    for (int i = 0; i < ENG_STAMPS_MAX; i++)
        bin_put_long(o, s->stamps[i]);
    bin_put_long(o, 0);
    bin_put_long(o, (int32_t)s->purchases_head);
    if (s->n_purchases) {
        bin_put_long(o, s->n_purchases);
        for (uint32_t i = 0; i < s->n_purchases; i++) {
            const eng_purchase_rec_t *p =
                &s->purchases[(s->purchases_head + i) % ENG_PURCHASES_MAX];
            bin_put_long(o, (int64_t)p->id_hash);
            bin_put_long(o, p->time_ms);
            bin_put_long(o, p->eligible_amount);
            bin_put_long(o, p->points);
            bin_put_long(o, p->returned_amount);
            bin_put_long(o, p->points_reversed);
            bin_put_long(o, p->qual_value);
            bin_put_long(o, p->qual_returned);
            bin_put_long(o, p->award_amount);
            bin_put_long(o, p->qual_key);
            bin_put_long(o, p->award_period);
            bin_put_long(o, p->gross_amount);
        }
    }
    bin_put_long(o, 0);
    bin_put_long(o, (int32_t)s->seen_head);
    if (s->n_seen) {
        bin_put_long(o, s->n_seen);
        for (uint32_t i = 0; i < s->n_seen; i++)
            bin_put_long(o, (int64_t)s->seen[i]);
    }
    bin_put_long(o, 0);
    bin_put_long(o, s->birthday_year);
    bin_put_long(o, s->total_earned);
    bin_put_long(o, s->total_redeemed);
    bin_put_long(o, s->total_expired);
    bin_put_long(o, s->total_reversed);
    bin_put_long(o, s->next_accum);
    bin_put_long(o, s->closed_floor);
    if (s->n_closed) {
        bin_put_long(o, s->n_closed);
        for (uint32_t i = 0; i < s->n_closed; i++) {
            bin_put_long(o, s->closed[i].month);
            bin_put_long(o, s->closed[i].accum);
            bin_put_long(o, s->closed[i].paid);
        }
    }
    bin_put_long(o, 0);
    bin_put_long(o, s->joined_at);
    bin_put_long(o, s->birth_month);
    bin_put_long(o, s->birth_day);
    bin_put_str(o, s->account_status, status_len);
}

int avro_codec_encode_state(avro_codec_t *c, const eng_state_t *s, const uint8_t **out,
                            size_t *outlen, char *err, size_t errlen)
{
    const void *nul = memchr(s->customer_id, '\0', sizeof(s->customer_id));
    const void *snul = memchr(s->account_status, '\0', sizeof(s->account_status));
    if (!c->has_enc[AVRO_CODEC_TYPE_STATE] || !nul || !snul)
        return avro_state_encode_generic(c, s, out, outlen, err, errlen); /* its errors */
    if (s->n_qbuckets > ENG_QBUCKETS_MAX || s->n_lots > ENG_LOTS_MAX ||
        s->n_purchases > ENG_PURCHASES_MAX || s->purchases_head >= ENG_PURCHASES_MAX ||
        s->n_seen > ENG_SEEN_MAX || s->seen_head >= ENG_SEEN_MAX || s->n_closed > ENG_CLOSED_MAX)
        return avro_state_encode_generic(c, s, out, outlen, err, errlen);
    if (avro_codec_reserve(c, FRAME_HEADER_LEN + STATE_BIN_MAX) != 0) {
        snprintf(err, errlen, "out of memory growing the output buffer");
        return -1;
    }
    bin_out_t o = {c->buf + FRAME_HEADER_LEN, c->buf + c->cap};
    put_state_bin(&o, s, (size_t)((const char *)nul - s->customer_id),
                  (size_t)((const char *)snul - s->account_status));
    frame_write_header(c->buf, c->own[AVRO_CODEC_TYPE_STATE].id);
    *out = c->buf;
    *outlen = (size_t)(o.p - c->buf);
    return 0;
}

static void get_state_bin(bin_in_t *in, eng_state_t *s)
{
    s->version = (uint32_t)bin_get_int(in);
    s->flags = bin_get_mask(in);
    bin_get_str(in, s->customer_id, sizeof(s->customer_id));
    if (in->bad)
        return;
    s->tier = bin_get_int(in);
    s->tier_since = bin_get_long(in);
    s->last_visit = bin_get_long(in);
    s->inactivity_steps = bin_get_int(in);
    s->downgrade_warned = bin_get_mask(in);
    uint32_t n = bin_get_count(in, ENG_QBUCKETS_MAX);
    for (uint32_t i = 0; i < n; i++) {
        s->qbuckets[i].key = bin_get_int(in);
        s->qbuckets[i].value = bin_get_long(in);
    }
    s->n_qbuckets = n;
    if (n)
        bin_get_end(in);
    s->period_start = bin_get_long(in);
    s->award_accum = bin_get_long(in);
    s->debt = bin_get_long(in);
    n = bin_get_count(in, ENG_LOTS_MAX);
    for (uint32_t i = 0; i < n && !in->bad; i++) {
        eng_lot_t *l = &s->lots[i];
        l->amount = bin_get_long(in);
        l->remaining = bin_get_long(in);
        l->earned_at = bin_get_long(in);
        l->usable_from = bin_get_long(in);
        int64_t branch = bin_get_long(in);
        if (branch == 0)
            l->expires_at = ENG_TIME_NEVER;
        else if (branch == 1)
            l->expires_at = bin_get_long(in);
        else
            in->bad = true;
        l->warned = bin_get_mask(in);
        int32_t src = bin_get_int(in);
        if (src < 0 || src > 255)
            in->bad = true;
        l->source = (uint8_t)src;
    }
    s->n_lots = n;
    if (n)
        bin_get_end(in);
    n = bin_get_count(in, ENG_STAMPS_MAX);
    for (uint32_t i = 0; i < n; i++)
        s->stamps[i] = bin_get_int(in);
    if (n)
        bin_get_end(in);
    int32_t head = bin_get_int(in);
    if (head < 0 || head >= ENG_PURCHASES_MAX) {
        in->bad = true;
        return;
    }
    s->purchases_head = (uint32_t)head;
    n = bin_get_count(in, ENG_PURCHASES_MAX);
    for (uint32_t i = 0; i < n; i++) {
        eng_purchase_rec_t *p = &s->purchases[(head + i) % ENG_PURCHASES_MAX];
        p->id_hash = (uint64_t)bin_get_long(in);
        p->time_ms = bin_get_long(in);
        p->eligible_amount = bin_get_long(in);
        p->points = bin_get_long(in);
        p->returned_amount = bin_get_long(in);
        p->points_reversed = bin_get_long(in);
        p->qual_value = bin_get_long(in);
        p->qual_returned = bin_get_long(in);
        p->award_amount = bin_get_long(in);
        p->qual_key = bin_get_int(in);
        p->award_period = bin_get_int(in);
        p->gross_amount = bin_get_long(in);
    }
    s->n_purchases = n;
    if (n)
        bin_get_end(in);
    int32_t seen_head = bin_get_int(in);
    if (seen_head < 0 || seen_head >= ENG_SEEN_MAX) {
        in->bad = true;
        return;
    }
    s->seen_head = (uint32_t)seen_head;
    n = bin_get_count(in, ENG_SEEN_MAX);
    for (uint32_t i = 0; i < n; i++)
        s->seen[i] = (uint64_t)bin_get_long(in);
    s->n_seen = n;
    if (n)
        bin_get_end(in);
    s->birthday_year = bin_get_int(in);
    s->total_earned = bin_get_long(in);
    s->total_redeemed = bin_get_long(in);
    s->total_expired = bin_get_long(in);
    s->total_reversed = bin_get_long(in);
    s->next_accum = bin_get_long(in);
    s->closed_floor = bin_get_int(in);
    n = bin_get_count(in, ENG_CLOSED_MAX);
    for (uint32_t i = 0; i < n; i++) {
        s->closed[i].month = bin_get_int(in);
        s->closed[i].accum = bin_get_long(in);
        s->closed[i].paid = bin_get_long(in);
    }
    s->n_closed = n;
    if (n)
        bin_get_end(in);
    s->joined_at = bin_get_long(in);
    s->birth_month = bin_get_int(in);
    s->birth_day = bin_get_int(in);
    bin_get_str(in, s->account_status, sizeof(s->account_status));
    if (in->p != in->end)
        in->bad = true; /* trailing bytes */
}

dlq_reason_t avro_codec_decode_state(avro_codec_t *c, const void *value, size_t len, eng_state_t *s,
                                     char *msg, size_t msglen)
{
    int32_t id;
    const uint8_t *payload;
    size_t plen;
    if (c->has_enc[AVRO_CODEC_TYPE_STATE] &&
        frame_parse(value, len, &id, &payload, &plen) == FRAME_OK &&
        id == c->own[AVRO_CODEC_TYPE_STATE].id) {
        bin_in_t in = {payload, payload + plen, false};
        memset(s, 0, sizeof(*s));
        get_state_bin(&in, s);
        if (!in.bad)
            return DLQ_OK;
    }
    return avro_state_decode_generic(c, value, len, s, msg, msglen);
}
