/*
 * avro_codec: framing, the writer-schema cache and the registry glue (see avro_codec.h).
 * The field-by-field mapping between Avro records and the engine's structs is in
 * avro_map.c; this file decides WHICH schema reads a record and makes sure the bytes are
 * safe to hand to avro-c.
 *
 * avro-c pitfalls handled here: reused values are reset before every read and every
 * encode (a generic array keeps its elements otherwise); the memory writer fails when the
 * buffer is too small, so we grow it and write again; avro-c allocates a string's declared
 * length before checking it, so avro_scan checks the bytes first.
 */
#include "avro_codec.h"

#include "avro_codec_int.h"
#include "avro_json.h"
#include "avro_scan.h"
#include "avro_schemas_gen.h"
#include "frame.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OUT_BUF_INITIAL 4096 /* grows by doubling when a record needs more */
#define OUT_BUF_MAX     (16u * 1024u * 1024u)

static const struct type_info {
    const char *stem;  /* schemas/<stem>.avsc */
    const char *name;  /* record name */
    const char *topic; /* default topic */
    int32_t id;        /* default id without a registry */
} types[AVRO_CODEC_TYPE_COUNT] = {
    [ENG_OUT_TIER_CHANGED] = {"tier_changed", "TierChanged", "loyalty.tier-changes", 101},
    [ENG_OUT_BONUS_EARNED] = {"bonus_earned", "BonusEarned", "loyalty.bonuses", 114},
    [ENG_OUT_EXPIRY_WARNING] = {"expiry_warning", "ExpiryWarning", "loyalty.expiry-warnings", 103},
    [ENG_OUT_POINTS_EXPIRED] = {"points_expired", "PointsExpired", "loyalty.points-expired", 104},
    [ENG_OUT_POINTS_REVERSED] = {"points_reversed", "PointsReversed", "loyalty.points-reversed",
                                 115},
    [ENG_OUT_POINTS_REDEEMED] = {"points_redeemed", "PointsRedeemed", "loyalty.points-redeemed",
                                 111},
    [ENG_OUT_REDEMPTION_REJECTED] = {"redemption_rejected", "RedemptionRejected",
                                     "loyalty.redemption-rejected", 112},
    [ENG_OUT_REWARD_EARNED] = {"reward_earned", "RewardEarned", "loyalty.rewards", 113},
    [ENG_OUT_TIER_WILL_DOWNGRADE] = {"tier_will_downgrade", "TierWillDowngrade",
                                     "loyalty.tier-warnings", 109},
    [ENG_OUT_TIER_PROGRESS] = {"tier_progress", "TierProgress", "loyalty.tier-progress", 110},
    [AVRO_CODEC_TYPE_INPUT] = {"input_event", "InputEvent", "purchases", 1},
    [AVRO_CODEC_TYPE_STATE] = {"customer_state", "CustomerState", "loyalty-stream-changelog", 203},
};

/* Earlier versions of our schemas and the ids they had without a registry (the frozen
 * schemas/<stem>.avsc files): records written by an older release still decode, by
 * resolution, with the current schema. A schema that changes gets a new default id and
 * its old text a row here (docs/SCHEMAS.md, "Evolution"). */
static const struct history {
    const char *stem;
    int32_t id;
} history[] = {
    {"bonus_earned_v1", 102},        /* now 114 */
    {"points_reversed_v1", 105},     /* now 115 */
    {"points_redeemed_v1", 106},     /* now 111 */
    {"redemption_rejected_v1", 107}, /* now 112 */
    {"reward_earned_v1", 108},       /* now 113 */
    {"customer_state_v1", 201},      /* now 203 */
    {"customer_state_v2", 202},      /* now 203 */
};

void avro_codec_config_defaults(avro_codec_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    for (int t = 0; t < AVRO_CODEC_TYPE_COUNT; t++) {
        cfg->ids[t] = types[t].id;
        cfg->topics[t] = types[t].topic;
    }
    cfg->negative_ttl_ms = 30000;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *avro_codec_type_name(int type)
{
    return (type >= 0 && type < AVRO_CODEC_TYPE_COUNT) ? types[type].name : "unknown";
}

int avro_codec_type_parse(const char *name)
{
    for (int t = 0; t < AVRO_CODEC_TYPE_COUNT; t++)
        if (strcmp(name, types[t].name) == 0)
            return t;
    return -1;
}

const char *avro_codec_schema_json(int type)
{
    if (type < 0 || type >= AVRO_CODEC_TYPE_COUNT)
        return NULL;
    for (size_t i = 0; i < avro_gen_schemas_count; i++)
        if (strcmp(avro_gen_schemas[i].stem, types[type].stem) == 0)
            return avro_gen_schemas[i].json;
    return NULL;
}

int32_t avro_codec_schema_id(const avro_codec_t *c, int type)
{
    return (type >= 0 && type < AVRO_CODEC_TYPE_COUNT) ? c->own[type].id : -1;
}

const char *avro_codec_topic(const avro_codec_t *c, int type)
{
    return (type >= 0 && type < AVRO_CODEC_TYPE_COUNT) ? c->cfg.topics[type] : NULL;
}

/* ------------------------------------------------------------------ life cycle */

static void writer_clear(writer_t *w)
{
    if (w->has_value)
        avro_value_decref(&w->value);
    if (w->iface)
        avro_value_iface_decref(w->iface);
    avro_scan_plan_destroy(w->plan);
    if (w->schema)
        avro_schema_decref(w->schema);
    memset(w, 0, sizeof(*w));
}

/* Prepare w for schema (takes a reference of its own). */
static int writer_init(writer_t *w, int32_t id, avro_schema_t schema)
{
    memset(w, 0, sizeof(*w));
    w->id = id;
    w->schema = avro_schema_incref(schema);
    w->type = is_avro_record(schema) ? avro_codec_type_parse(avro_schema_name(schema)) : -1;
    w->iface = avro_generic_class_from_schema(schema);
    w->plan = avro_scan_plan_new(schema);
    if (!w->iface || !w->plan || avro_generic_value_new(w->iface, &w->value) != 0) {
        writer_clear(w);
        return -1;
    }
    w->has_value = true;
    w->used = true;
    return 0;
}

static int load_type(avro_codec_t *c, int t, char *err, size_t errlen)
{
    const char *json = avro_codec_schema_json(t);
    if (!json)
        return 0; /* this build has no schema for t (e.g. no state record yet) */
    if (avro_schema_from_json_length(json, strlen(json), &c->schemas[t]) != 0) {
        snprintf(err, errlen, "schema %s.avsc does not parse: %s", types[t].stem, avro_strerror());
        return -1;
    }
    c->ifaces[t] = avro_generic_class_from_schema(c->schemas[t]);
    if (!c->ifaces[t] || avro_generic_value_new(c->ifaces[t], &c->enc[t]) != 0 ||
        writer_init(&c->own[t], c->cfg.ids[t], c->schemas[t]) != 0) {
        snprintf(err, errlen, "cannot prepare values of schema %s: %s", types[t].name,
                 avro_strerror());
        return -1;
    }
    c->has_enc[t] = true;
    return 0;
}

static int check_config(const avro_codec_config_t *cfg, char *err, size_t errlen)
{
    for (int t = 0; t < AVRO_CODEC_TYPE_COUNT; t++) {
        if (cfg->ids[t] <= 0 || !cfg->topics[t] || !cfg->topics[t][0]) {
            snprintf(err, errlen, "codec config: %s needs a schema id > 0 and a topic",
                     types[t].name);
            return -1;
        }
        for (int u = 0; u < t; u++) {
            if (cfg->ids[u] == cfg->ids[t]) {
                snprintf(err, errlen, "codec config: %s and %s share schema id %d", types[u].name,
                         types[t].name, (int)cfg->ids[t]);
                return -1;
            }
        }
    }
    return 0;
}

static const char *gen_schema(const char *stem)
{
    for (size_t i = 0; i < avro_gen_schemas_count; i++)
        if (strcmp(avro_gen_schemas[i].stem, stem) == 0)
            return avro_gen_schemas[i].json;
    return NULL;
}

/* Without a registry, the frozen older schemas under their old ids (unless configuration
 * gave one of those ids to a current type). */
static int add_history(avro_codec_t *c, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof(history) / sizeof(history[0]); i++) {
        bool taken = false;
        for (int t = 0; t < AVRO_CODEC_TYPE_COUNT; t++)
            taken |= c->own[t].used && c->own[t].id == history[i].id;
        const char *json = gen_schema(history[i].stem);
        if (taken)
            continue;
        if (!json) {
            snprintf(err, errlen, "this build lacks schemas/%s.avsc", history[i].stem);
            return -1;
        }
        if (avro_codec_add_writer_schema(c, history[i].id, json, err, errlen) != 0)
            return -1;
    }
    return 0;
}

avro_codec_t *avro_codec_new(const avro_codec_config_t *cfg, char *err, size_t errlen)
{
    if (check_config(cfg, err, errlen) != 0)
        return NULL;
    avro_codec_t *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "out of memory for the Avro codec");
        return NULL;
    }
    c->cfg = *cfg;
    c->cap = OUT_BUF_INITIAL;
    c->buf = malloc(c->cap);
    c->reader = avro_reader_memory("", 0);
    c->writer = avro_writer_memory((const char *)c->buf, (int64_t)c->cap);
    if (!c->buf || !c->reader || !c->writer) {
        snprintf(err, errlen, "out of memory for the Avro codec");
        avro_codec_destroy(c);
        return NULL;
    }
    for (int t = 0; t < AVRO_CODEC_TYPE_COUNT; t++) {
        if (load_type(c, t, err, errlen) != 0) {
            avro_codec_destroy(c);
            return NULL;
        }
    }
    if (!cfg->registry && add_history(c, err, errlen) != 0) {
        avro_codec_destroy(c);
        return NULL;
    }
    return c;
}

void avro_codec_destroy(avro_codec_t *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < WRITERS_MAX_SLOTS; i++)
        writer_clear(&c->writers[i]);
    for (int t = 0; t < AVRO_CODEC_TYPE_COUNT; t++) {
        writer_clear(&c->own[t]);
        if (c->has_enc[t])
            avro_value_decref(&c->enc[t]);
        if (c->ifaces[t])
            avro_value_iface_decref(c->ifaces[t]);
        if (c->schemas[t])
            avro_schema_decref(c->schemas[t]);
    }
    if (c->reader)
        avro_reader_free(c->reader);
    if (c->writer)
        avro_writer_free(c->writer);
    free(c->buf);
    free(c);
}

int avro_codec_register_schemas(avro_codec_t *c, char *err, size_t errlen)
{
    if (!c->cfg.registry) {
        snprintf(err, errlen, "no schema registry is configured");
        return -1;
    }
    for (int t = 0; t < AVRO_CODEC_TYPE_COUNT; t++) {
        char subject[512], e[256];
        int32_t id;
        if (!c->schemas[t])
            continue;
        if (sr_subject_for_topic(c->cfg.topics[t], subject, sizeof(subject)) != 0) {
            snprintf(err, errlen, "topic name of %s is too long", types[t].name);
            return -1;
        }
        sr_result_t r =
            sr_register(c->cfg.registry, subject, avro_codec_schema_json(t), &id, e, sizeof(e));
        if (r != SR_OK) {
            snprintf(err, errlen, "registering %s under subject %s: %s", types[t].name, subject, e);
            return r == SR_UNAVAILABLE ? AVRO_CODEC_EUNAVAILABLE : -1;
        }
        c->own[t].id = id;
    }
    return 0;
}

/* ------------------------------------------------------------------ writer schemas */

/* The slot for a new writer schema: round-robin over the slots not pinned. */
static writer_t *next_free_slot(avro_codec_t *c)
{
    for (;;) {
        writer_t *w = &c->writers[c->next_slot];
        c->next_slot = (c->next_slot + 1) % WRITERS_MAX_SLOTS;
        if (!w->pinned)
            return w;
    }
}

int avro_codec_add_writer_schema(avro_codec_t *c, int32_t id, const char *schema_json, char *err,
                                 size_t errlen)
{
    avro_schema_t schema;
    size_t pinned = 0;
    for (int t = 0; t < AVRO_CODEC_TYPE_COUNT; t++) {
        if (c->own[t].used && c->own[t].id == id) {
            snprintf(err, errlen, "schema id %d is already our %s", (int)id, types[t].name);
            return -1;
        }
    }
    for (size_t i = 0; i < WRITERS_MAX_SLOTS; i++) {
        pinned += c->writers[i].pinned;
        if (c->writers[i].used && c->writers[i].id == id)
            writer_clear(&c->writers[i]);
    }
    if (pinned >= WRITERS_MAX_PINNED) {
        snprintf(err, errlen, "more than %d configured writer schemas", WRITERS_MAX_PINNED);
        return -1;
    }
    if (avro_schema_from_json_length(schema_json, strlen(schema_json), &schema) != 0) {
        snprintf(err, errlen, "writer schema id %d does not parse: %s", (int)id, avro_strerror());
        return -1;
    }
    writer_t *w = next_free_slot(c);
    writer_clear(w);
    int rc = writer_init(w, id, schema);
    avro_schema_decref(schema);
    if (rc != 0) {
        snprintf(err, errlen, "cannot prepare writer schema id %d: %s", (int)id, avro_strerror());
        return -1;
    }
    w->pinned = true;
    return 0;
}

/* A writer schema from the registry, cached; "not found" and "rejected" for
 * negative_ttl_ms only, "unavailable" not at all (the record waits, see dlq.h). */
static dlq_reason_t fetch_writer(avro_codec_t *c, int32_t id, writer_t **out, char *msg,
                                 size_t msglen)
{
    const char *json;
    char e[256];
    avro_schema_t schema = NULL;
    sr_result_t r = sr_schema_by_id(c->cfg.registry, id, &json, e, sizeof(e));
    if (r == SR_UNAVAILABLE) {
        snprintf(msg, msglen, "schema id %d: registry unavailable: %s", (int)id, e);
        return DLQ_REGISTRY_UNAVAILABLE;
    }
    writer_t *w = next_free_slot(c);
    writer_clear(w);
    if (r != SR_OK || avro_schema_from_json_length(json, strlen(json), &schema) != 0 ||
        writer_init(w, id, schema) != 0) {
        w->id = id;
        w->used = true;
        w->neg = r == SR_NOT_FOUND ? DLQ_UNKNOWN_SCHEMA_ID : DLQ_INCOMPATIBLE_SCHEMA;
        w->neg_until = mono_ms() + c->cfg.negative_ttl_ms;
        snprintf(w->neg_msg, sizeof(w->neg_msg), "schema id %d: %s", (int)id,
                 r == SR_NOT_FOUND ? "not in the registry"
                 : r == SR_OK      ? "the registry's schema does not parse"
                                   : "the registry answered something unusable");
    }
    if (schema)
        avro_schema_decref(schema);
    *out = w;
    return DLQ_OK;
}

static dlq_reason_t writer_for(avro_codec_t *c, int32_t id, writer_t **out, char *msg,
                               size_t msglen)
{
    for (int t = 0; t < AVRO_CODEC_TYPE_COUNT; t++) {
        if (c->own[t].used && c->own[t].id == id) {
            *out = &c->own[t];
            return DLQ_OK;
        }
    }
    writer_t *w = NULL;
    for (size_t i = 0; i < WRITERS_MAX_SLOTS && !w; i++)
        if (c->writers[i].used && c->writers[i].id == id)
            w = &c->writers[i];
    if (w && w->neg != DLQ_OK && !w->pinned && mono_ms() >= w->neg_until) {
        writer_clear(w); /* a negative answer expires: ask the registry again */
        w = NULL;
    }
    if (!w) {
        if (!c->cfg.registry) {
            snprintf(msg, msglen, "schema id %d is not configured and there is no registry",
                     (int)id);
            return DLQ_UNKNOWN_SCHEMA_ID;
        }
        dlq_reason_t r = fetch_writer(c, id, &w, msg, msglen);
        if (r != DLQ_OK)
            return r;
    }
    if (w->neg != DLQ_OK) {
        snprintf(msg, msglen, "%s", w->neg_msg);
        return w->neg;
    }
    *out = w;
    return DLQ_OK;
}

dlq_reason_t avro_codec_read_framed(avro_codec_t *c, const void *value, size_t len, writer_t **wout,
                                    int32_t *id, char *msg, size_t msglen)
{
    const uint8_t *payload;
    size_t plen;
    writer_t *w = NULL;
    char e[200];
    switch (frame_parse(value, len, id, &payload, &plen)) {
    case FRAME_OK:
        break;
    case FRAME_ERR_TRUNCATED:
        snprintf(msg, msglen, "record of %zu bytes is shorter than the 5-byte frame header", len);
        return DLQ_TRUNCATED;
    default:
        snprintf(msg, msglen, "first byte is 0x%02x, not the magic byte 0",
                 ((const uint8_t *)value)[0]);
        return DLQ_BAD_MAGIC;
    }
    dlq_reason_t r = writer_for(c, *id, &w, msg, msglen);
    if (r != DLQ_OK)
        return r;
    avro_scan_result_t s = avro_scan_run(w->plan, payload, plen, e, sizeof(e));
    if (s != AVRO_SCAN_OK) {
        snprintf(msg, msglen, "schema id %d: %s", (int)*id, e);
        return s == AVRO_SCAN_TRUNCATED ? DLQ_TRUNCATED : DLQ_MALFORMED;
    }
    avro_reader_memory_set_source(c->reader, (const char *)payload, (int64_t)plen);
    avro_value_reset(&w->value);
    if (avro_value_read(c->reader, &w->value) != 0) {
        snprintf(msg, msglen, "schema id %d: avro-c cannot read the data: %s", (int)*id,
                 avro_strerror());
        return DLQ_MALFORMED;
    }
    *wout = w;
    return DLQ_OK;
}

/* ------------------------------------------------------------------ encoding */

int avro_codec_reserve(avro_codec_t *c, size_t need)
{
    if (c->cap >= need)
        return 0;
    uint8_t *nb = realloc(c->buf, need);
    if (!nb)
        return -1;
    c->buf = nb;
    c->cap = need;
    return 0;
}

int avro_codec_write_framed(avro_codec_t *c, int type, const uint8_t **out, size_t *outlen,
                            char *err, size_t errlen)
{
    for (;;) {
        avro_writer_memory_set_dest(c->writer, (const char *)c->buf + FRAME_HEADER_LEN,
                                    (int64_t)(c->cap - FRAME_HEADER_LEN));
        if (avro_value_write(c->writer, &c->enc[type]) == 0)
            break;
        if (c->cap >= OUT_BUF_MAX) {
            snprintf(err, errlen, "%s does not encode within %u bytes: %s", types[type].name,
                     OUT_BUF_MAX, avro_strerror());
            return -1;
        }
        if (avro_codec_reserve(c, c->cap * 2) != 0) { /* buffer too small: grow and retry */
            snprintf(err, errlen, "out of memory growing the output buffer");
            return -1;
        }
    }
    frame_write_header(c->buf, c->own[type].id);
    *out = c->buf;
    *outlen = FRAME_HEADER_LEN + (size_t)avro_writer_tell(c->writer);
    return 0;
}

/* ------------------------------------------------------------------ JSON (tools) */

dlq_reason_t avro_codec_to_json(avro_codec_t *c, const void *value, size_t len, char **json,
                                int *type, int32_t *schema_id, char *msg, size_t msglen)
{
    writer_t *w = NULL;
    *type = -1;
    *json = NULL;
    dlq_reason_t r = avro_codec_read_framed(c, value, len, &w, schema_id, msg, msglen);
    if (r != DLQ_OK)
        return r;
    *type = w->type;
    if (avro_value_to_json(&w->value, 1, json) != 0) {
        snprintf(msg, msglen, "schema id %d: cannot render JSON: %s", (int)*schema_id,
                 avro_strerror());
        return DLQ_MALFORMED;
    }
    return DLQ_OK;
}

int avro_codec_from_json(avro_codec_t *c, int type, const char *json, const uint8_t **out,
                         size_t *outlen, char *err, size_t errlen)
{
    if (type < 0 || type >= AVRO_CODEC_TYPE_COUNT || !c->has_enc[type]) {
        snprintf(err, errlen, "no schema for type %d in this build", type);
        return -1;
    }
    avro_value_reset(&c->enc[type]);
    if (avro_json_to_value(json, &c->enc[type], err, errlen) != 0)
        return -1;
    return avro_codec_write_framed(c, type, out, outlen, err, errlen);
}
