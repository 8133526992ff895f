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
#include "avro_codec_int.h"
#include "avro_fields.h"

#include <stdio.h>
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
    return 0;
}

static int put_state(avro_value_t *root, const eng_state_t *s)
{
    if (s->n_qbuckets > ENG_QBUCKETS_MAX || s->n_lots > ENG_LOTS_MAX ||
        s->n_purchases > ENG_PURCHASES_MAX || s->purchases_head >= ENG_PURCHASES_MAX ||
        s->n_seen > ENG_SEEN_MAX || s->seen_head >= ENG_SEEN_MAX)
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
    return put_arrays(root, s);
}

int avro_codec_encode_state(avro_codec_t *c, const eng_state_t *s, const uint8_t **out,
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

dlq_reason_t avro_codec_decode_state(avro_codec_t *c, const void *value, size_t len, eng_state_t *s,
                                     char *msg, size_t msglen)
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
    return read_arrays(&x, root, s);
}
