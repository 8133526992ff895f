/*
 * avro_codec: the engine's structs (processor/engine/eng_types.h) on and off the wire as
 * Confluent-framed Avro, per the schemas in schemas/ (the .avsc files).
 *
 * The one idea: one codec object owns everything a record needs (parsed schemas, one
 * reusable avro-c value per writer schema, one reader, one growing output buffer), so
 * the hot path allocates nothing of its own. Decoding goes: frame (magic, id) -> writer
 * schema by id (configured, cached, or fetched once from the registry) -> a non-allocating
 * check of the bytes (avro_scan) -> avro-c reads into the writer's value -> fields are
 * copied into the struct by name, resolving the writer's schema against ours (defaults
 * for fields the writer lacks) -> validation. Any failure is a dlq_reason_t with one
 * sentence, never a crash and never a silent truncation.
 *
 * Types: 0..ENG_OUT_KIND_COUNT-1 are the output kinds (eng_out_kind_t), then the input
 * event and the customer state.
 *
 * Thread-safety: none; one codec per thread (the pipeline has one per consumer thread).
 */
#ifndef LS_AVRO_CODEC_H
#define LS_AVRO_CODEC_H

#include "dlq.h"
#include "eng_state.h"
#include "eng_types.h"
#include "sr.h"

#include <stddef.h>
#include <stdint.h>

#define AVRO_CODEC_TYPE_INPUT ENG_OUT_KIND_COUNT       /* InputEvent (purchases topic) */
#define AVRO_CODEC_TYPE_STATE (ENG_OUT_KIND_COUNT + 1) /* CustomerState (changelog) */
#define AVRO_CODEC_TYPE_COUNT (ENG_OUT_KIND_COUNT + 2)

typedef struct avro_codec avro_codec_t;

/** What the codec needs from the configuration. */
typedef struct avro_codec_config {
    /* Schema id written into the frame of each type when there is no registry (or before
     * avro_codec_register_schemas replaces them). Must be distinct and > 0; a record whose
     * id is one of these is read with our own schema. */
    int32_t ids[AVRO_CODEC_TYPE_COUNT];
    /* Topic of each type (the registry subject is "<topic>-value"). */
    const char *topics[AVRO_CODEC_TYPE_COUNT];
    /* Registry to fetch unknown writer ids from; borrowed, may be NULL (ids only). */
    sr_client_t *registry;
    /* How long an id the registry does not know (or answered unusably for) stays a dead
     * letter before the registry is asked again (default 30,000 ms): a producer may
     * register its schema just after its first record arrived. */
    int64_t negative_ttl_ms;
} avro_codec_config_t;

/**
 * @brief The defaults: ids input 1, outputs 101..110 (in eng_out_kind_t order; since their
 * version 2: PointsRedeemed 111, RedemptionRejected 112, RewardEarned 113, BonusEarned 114,
 * PointsReversed 115), state 203 (docs/SCHEMAS.md, "Evolution");
 * topics as in docs/SCHEMAS.md (purchases, loyalty.tier-changes, ...); no registry;
 * negative answers of a registry kept 30 s.
 */
void avro_codec_config_defaults(avro_codec_config_t *cfg);

/**
 * @brief Parse every schema and prepare the values. The config is copied (topic strings
 * are borrowed and must outlive the codec).
 * @returns the codec (free with avro_codec_destroy) or NULL with err filled.
 */
avro_codec_t *avro_codec_new(const avro_codec_config_t *cfg, char *err, size_t errlen);

/** @brief Free the codec. NULL is a no-op. */
void avro_codec_destroy(avro_codec_t *c);

/**
 * @brief Register our schemas with the configured registry under "<topic>-value" and use
 * the registry's ids from now on. Call once at start-up.
 * @returns 0 ok; AVRO_CODEC_EUNAVAILABLE when the registry could not be reached (transport
 * error, timeout, 5xx: retrying later may work); -1 when it refused a schema or answered
 * nonsense (err names the subject either way).
 */
#define AVRO_CODEC_EUNAVAILABLE (-2)
int avro_codec_register_schemas(avro_codec_t *c, char *err, size_t errlen);

/**
 * @brief Make a writer schema known under id without a registry (configuration: e.g. a
 * producer's older or newer schema). Records framed with id are then read through it,
 * resolved against ours. At most 32; an id added again replaces the earlier schema.
 * @returns 0 ok, -1 with err filled (does not parse, id is one of ours, too many).
 */
int avro_codec_add_writer_schema(avro_codec_t *c, int32_t id, const char *schema_json, char *err,
                                 size_t errlen);

/** @brief The schema id the codec writes for type (configured or registered). */
int32_t avro_codec_schema_id(const avro_codec_t *c, int type);

/** @brief The topic of type (from the config). */
const char *avro_codec_topic(const avro_codec_t *c, int type);

/** @brief Record name of type: "InputEvent", "TierChanged", ..., "CustomerState". */
const char *avro_codec_type_name(int type);

/** @brief Type of a record name (as above); -1 if none. */
int avro_codec_type_parse(const char *name);

/** @brief Our schema of type as JSON text (static; NULL if the build has none). */
const char *avro_codec_schema_json(int type);

/** @brief True if code is an ISO 4217 alphabetic currency code we accept. */
bool avro_codec_currency_known(const char *code);

/**
 * @brief Decode a framed input record (a value of the purchases topic) into *ev, check it
 * and, if key is not NULL, check that it equals the customer id.
 * Lines beyond ev->n_lines are left unspecified.
 * @returns DLQ_OK, or the reason (msg filled) to dead-letter the record; the pipeline
 * must retry, not dead-letter, when dlq_reason_is_retriable() says so.
 */
dlq_reason_t avro_codec_decode_event(avro_codec_t *c, const void *key, size_t keylen,
                                     const void *value, size_t len, eng_event_t *ev, char *msg,
                                     size_t msglen);

/**
 * @brief Encode an input event as a framed record (tools, tests, the demo's generator).
 * @param out set to the codec's buffer: valid until the next encode call on c.
 * @returns 0 ok, -1 with err filled (an unterminated string, a bad kind, too many lines).
 */
int avro_codec_encode_event(avro_codec_t *c, const eng_event_t *ev, const uint8_t **out,
                            size_t *outlen, char *err, size_t errlen);

/**
 * @brief Encode an output event as a framed record of its type's schema (its topic is
 * avro_codec_topic(c, o->kind); the key is o->customer_id).
 * @param out set to the codec's buffer: valid until the next encode call on c.
 * @returns 0 ok, -1 with err filled.
 */
int avro_codec_encode_output(avro_codec_t *c, const eng_output_t *o, const uint8_t **out,
                             size_t *outlen, char *err, size_t errlen);

/**
 * @brief Decode a framed output record (any output type; the kind comes from the writer
 * schema's record name) into *o. @returns DLQ_OK or the reason, msg filled.
 */
dlq_reason_t avro_codec_decode_output(avro_codec_t *c, const void *value, size_t len,
                                      eng_output_t *o, char *msg, size_t msglen);

/**
 * @brief Encode a customer state (store value and changelog record) as a framed
 * CustomerState. Rings are written so that decoding restores them slot for slot.
 * @param out set to the codec's buffer: valid until the next encode call on c.
 * @returns 0 ok, -1 with err filled (a count above its bound, an unterminated id).
 */
int avro_codec_encode_state(avro_codec_t *c, const eng_state_t *s, const uint8_t **out,
                            size_t *outlen, char *err, size_t errlen);

/**
 * @brief Decode a framed CustomerState into *s (zeroed first). A record written with an
 * older CustomerState schema (known by its id: registry or avro_codec_add_writer_schema)
 * decodes with the defaults of the fields it lacks; s->version says who wrote it.
 * @returns DLQ_OK or the reason (msg filled). For the store a failure is corruption.
 */
dlq_reason_t avro_codec_decode_state(avro_codec_t *c, const void *value, size_t len, eng_state_t *s,
                                     char *msg, size_t msglen);

/**
 * @brief Any framed record as the Avro JSON encoding of the writer's data (the decode
 * tool). *json is malloc'd: the caller frees it.
 * @param type set to our type of the writer's record name, or -1 if none of ours.
 * @param schema_id set to the frame's id when the frame parsed.
 */
dlq_reason_t avro_codec_to_json(avro_codec_t *c, const void *value, size_t len, char **json,
                                int *type, int32_t *schema_id, char *msg, size_t msglen);

/**
 * @brief The inverse for tools: one JSON object in the Avro JSON encoding of our schema
 * of type (unions as {"branch": value}; an absent optional field is null) to a framed
 * record. @param out as for avro_codec_encode_output.
 */
int avro_codec_from_json(avro_codec_t *c, int type, const char *json, const uint8_t **out,
                         size_t *outlen, char *err, size_t errlen);

#endif
