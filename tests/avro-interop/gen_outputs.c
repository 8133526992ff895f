/*
 * gen_outputs: the C side of the cross-stack test. Encodes one record of every output
 * type with the codec (as the pipeline would) into a framed-record file, and writes what
 * each record must decode to as JSON lines (Avro's JSON view: enums as symbols, a timer's
 * cause and a never-expiring lot as null), for consume.py to compare.
 *   gen_outputs RECORDS_FILE EXPECTED_FILE
 */
#include "avro_codec.h"
#include "frame.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fill(eng_output_t *o, int k)
{
    memset(o, 0, sizeof(*o));
    o->kind = (eng_out_kind_t)k;
    snprintf(o->output_id, sizeof(o->output_id), "evt-9:%d", k);
    snprintf(o->customer_id, sizeof(o->customer_id), "cust-%d", 40 + k);
    o->time_ms = 1767225600000 + k;
    if (k % 2)
        strcpy(o->cause_id, "evt-9");
    strcpy(o->currency, "RUB");
    switch (o->kind) {
    case ENG_OUT_TIER_CHANGED:
        o->u.tier_changed = (eng_tier_changed_t){"Silver", "Gold", 1, "qualification", 1500000};
        break;
    case ENG_OUT_BONUS_EARNED:
        o->u.bonus_earned = (eng_bonus_earned_t){750,           1500,           "Gold",    "period",
                                                 1767225600001, ENG_TIME_NEVER, "2025-12", 1};
        break;
    case ENG_OUT_EXPIRY_WARNING:
        o->u.expiry_warning = (eng_expiry_warning_t){100, 1769903999999, 7};
        break;
    case ENG_OUT_POINTS_EXPIRED:
        o->u.points_expired = (eng_points_expired_t){90, 1769903999999};
        break;
    case ENG_OUT_POINTS_REVERSED:
        o->u.points_reversed =
            (eng_points_reversed_t){40, 10, "evt-1", "period_correction", "2025-12"};
        break;
    case ENG_OUT_POINTS_REDEEMED:
        o->u.points_redeemed = (eng_points_redeemed_t){300, 30000, 12, 450, 300};
        break;
    case ENG_OUT_REDEMPTION_REJECTED:
        o->u.redemption_rejected = (eng_redemption_rejected_t){500, 12, "insufficient_points", 12};
        break;
    case ENG_OUT_REWARD_EARNED:
        o->u.reward_earned = (eng_reward_earned_t){"free_item", "lenses", 10, "stamp_card", 2};
        break;
    case ENG_OUT_TIER_WILL_DOWNGRADE:
        o->u.tier_will_downgrade = (eng_tier_will_downgrade_t){"Gold", "Silver", 1769903999999, 30};
        break;
    case ENG_OUT_TIER_PROGRESS:
        o->u.tier_progress = (eng_tier_progress_t){"Silver", "Gold", 1800000, 200000};
        break;
    default:
        break;
    }
}

static json_t *expected(const eng_output_t *o)
{
    json_t *j =
        json_pack("{s:s,s:s,s:I,s:o,s:s}", "output_id", o->output_id, "customer_id", o->customer_id,
                  "time", (json_int_t)o->time_ms, "cause_id",
                  o->cause_id[0] ? json_string(o->cause_id) : json_null(), "currency", o->currency);
    json_t *b = NULL;
    switch (o->kind) {
    case ENG_OUT_TIER_CHANGED: {
        const eng_tier_changed_t *v = &o->u.tier_changed;
        b = json_pack("{s:s,s:s,s:s,s:s,s:I}", "from_tier", v->from_tier, "to_tier", v->to_tier,
                      "direction", v->direction > 0 ? "PROMOTION" : "DEMOTION", "reason", v->reason,
                      "qualifying_value", (json_int_t)v->qualifying_value);
        break;
    }
    case ENG_OUT_BONUS_EARNED: {
        const eng_bonus_earned_t *v = &o->u.bonus_earned;
        b = json_pack("{s:I,s:i,s:s,s:s,s:I,s:o,s:o,s:b}", "points", (json_int_t)v->points,
                      "rate_bp", v->rate_bp, "tier", v->tier, "source", v->source, "usable_from",
                      (json_int_t)v->usable_from, "expires_at",
                      v->expires_at == ENG_TIME_NEVER ? json_null() : json_integer(v->expires_at),
                      "period", v->period[0] ? json_string(v->period) : json_null(), "correction",
                      v->correction != 0);
        break;
    }
    case ENG_OUT_EXPIRY_WARNING:
        b = json_pack("{s:I,s:I,s:i}", "points", (json_int_t)o->u.expiry_warning.points,
                      "expires_at", (json_int_t)o->u.expiry_warning.expires_at, "days_left",
                      o->u.expiry_warning.days_left);
        break;
    case ENG_OUT_POINTS_EXPIRED:
        b = json_pack("{s:I,s:I}", "points", (json_int_t)o->u.points_expired.points, "expired_at",
                      (json_int_t)o->u.points_expired.expired_at);
        break;
    case ENG_OUT_POINTS_REVERSED:
        b = json_pack("{s:I,s:I,s:s,s:s,s:o}", "points", (json_int_t)o->u.points_reversed.points,
                      "debt_added", (json_int_t)o->u.points_reversed.debt_added,
                      "original_event_id", o->u.points_reversed.original_event_id, "reason",
                      o->u.points_reversed.reason, "period",
                      o->u.points_reversed.period[0] ? json_string(o->u.points_reversed.period)
                                                     : json_null());
        break;
    case ENG_OUT_POINTS_REDEEMED:
        b = json_pack("{s:I,s:I,s:I,s:I,s:I}", "points", (json_int_t)o->u.points_redeemed.points,
                      "value", (json_int_t)o->u.points_redeemed.value, "balance_after",
                      (json_int_t)o->u.points_redeemed.balance_after, "points_requested",
                      (json_int_t)o->u.points_redeemed.points_requested, "points_allowed",
                      (json_int_t)o->u.points_redeemed.points_allowed);
        break;
    case ENG_OUT_REDEMPTION_REJECTED:
        b = json_pack("{s:I,s:I,s:s,s:I}", "points_requested",
                      (json_int_t)o->u.redemption_rejected.points_requested, "points_available",
                      (json_int_t)o->u.redemption_rejected.points_available, "reason",
                      o->u.redemption_rejected.reason, "points_allowed",
                      (json_int_t)o->u.redemption_rejected.points_allowed);
        break;
    case ENG_OUT_REWARD_EARNED:
        b = json_pack("{s:s,s:s,s:i,s:s,s:i}", "reward", o->u.reward_earned.reward, "category",
                      o->u.reward_earned.category, "stamps_used", o->u.reward_earned.stamps_used,
                      "source", o->u.reward_earned.source, "quantity", o->u.reward_earned.quantity);
        break;
    case ENG_OUT_TIER_WILL_DOWNGRADE:
        b = json_pack("{s:s,s:s,s:I,s:i}", "from_tier", o->u.tier_will_downgrade.from_tier,
                      "to_tier", o->u.tier_will_downgrade.to_tier, "effective_at",
                      (json_int_t)o->u.tier_will_downgrade.effective_at, "days_left",
                      o->u.tier_will_downgrade.days_left);
        break;
    case ENG_OUT_TIER_PROGRESS:
        b = json_pack("{s:s,s:s,s:I,s:I}", "current_tier", o->u.tier_progress.current_tier,
                      "next_tier", o->u.tier_progress.next_tier, "current_value",
                      (json_int_t)o->u.tier_progress.current_value, "missing",
                      (json_int_t)o->u.tier_progress.missing);
        break;
    default:
        break;
    }
    json_object_update(j, b);
    json_decref(b);
    return j;
}

int main(int argc, char **argv)
{
    char err[256];
    if (argc != 3) {
        fprintf(stderr, "usage: gen_outputs RECORDS_FILE EXPECTED_FILE\n");
        return 2;
    }
    avro_codec_config_t cfg;
    avro_codec_config_defaults(&cfg);
    avro_codec_t *c = avro_codec_new(&cfg, err, sizeof(err));
    FILE *rec = fopen(argv[1], "wb"), *exp = fopen(argv[2], "w");
    if (!c || !rec || !exp) {
        fprintf(stderr, "gen_outputs: cannot start: %s\n", c ? "cannot open the files" : err);
        return 1;
    }
    int rc = 0;
    for (int k = 0; k < ENG_OUT_KIND_COUNT; k++) {
        eng_output_t o;
        const uint8_t *buf;
        size_t len;
        fill(&o, k);
        if (avro_codec_encode_output(c, &o, &buf, &len, err, sizeof(err)) != 0 ||
            frame_file_write(rec, buf, len) != 0) {
            fprintf(stderr, "gen_outputs: %s\n", err);
            rc = 1;
            break;
        }
        json_t *line = json_pack("{s:s,s:s,s:i,s:s,s:o}", "type", avro_codec_type_name(k), "topic",
                                 avro_codec_topic(c, k), "schema_id", avro_codec_schema_id(c, k),
                                 "schema", avro_codec_schema_json(k), "value", expected(&o));
        char *text = json_dumps(line, JSON_COMPACT);
        fprintf(exp, "%s\n", text);
        free(text);
        json_decref(line);
    }
    if (fclose(rec) != 0 || fclose(exp) != 0)
        rc = 1;
    avro_codec_destroy(c);
    return rc;
}
