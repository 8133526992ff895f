/*
 * avro_codec_int: the codec's insides, shared by avro_codec.c (schemas, cache, framing)
 * and avro_map.c (fields <-> structs). Private to ls_schemas.
 */
#ifndef LS_AVRO_CODEC_INT_H
#define LS_AVRO_CODEC_INT_H

#include "avro_codec.h"
#include "avro_scan.h"

#include <avro.h>
#include <stdbool.h>

#define WRITERS_MAX_SLOTS  64 /* foreign writer schemas cached at once (round-robin) */
#define WRITERS_MAX_PINNED 32 /* of which added from configuration at most */

/** One writer schema and the reusable value avro-c reads its records into. */
typedef struct writer {
    bool used;
    bool pinned; /* added from configuration: never evicted */
    int32_t id;
    int type; /* our type with the writer's record name, -1 if none */
    avro_schema_t schema;
    avro_value_iface_t *iface;
    avro_scan_plan_t *plan; /* the schema compiled for avro_scan */
    avro_value_t value;
    bool has_value;
    dlq_reason_t neg;  /* != DLQ_OK: the id is known to fail (cached until neg_until) */
    int64_t neg_until; /* CLOCK_MONOTONIC ms */
    char neg_msg[128];
} writer_t;

struct avro_codec {
    avro_codec_config_t cfg;
    avro_schema_t schemas[AVRO_CODEC_TYPE_COUNT]; /* ours; NULL if not in this build */
    avro_value_iface_t *ifaces[AVRO_CODEC_TYPE_COUNT];
    avro_value_t enc[AVRO_CODEC_TYPE_COUNT]; /* reused for encoding */
    bool has_enc[AVRO_CODEC_TYPE_COUNT];
    writer_t own[AVRO_CODEC_TYPE_COUNT]; /* our schemas under their ids, for decoding */
    writer_t writers[WRITERS_MAX_SLOTS]; /* foreign writer schemas from the registry */
    size_t next_slot;
    avro_reader_t reader;
    avro_writer_t writer;
    uint8_t *buf; /* frame header + encoded record */
    size_t cap;
};

/**
 * Parse the frame, find the writer schema, check the bytes and read them into the
 * writer's value (*w). @returns DLQ_OK or the reason (msg filled).
 */
dlq_reason_t avro_codec_read_framed(avro_codec_t *c, const void *value, size_t len, writer_t **w,
                                    int32_t *id, char *msg, size_t msglen);

/** Grow c->buf to at least @p need bytes (the direct paths' upper bound, frame header
 * included). @returns 0, or -1 out of memory (c->buf unchanged). */
int avro_codec_reserve(avro_codec_t *c, size_t need);

/** Write c->enc[type] framed with our id into c->buf; *out points there. */
int avro_codec_write_framed(avro_codec_t *c, int type, const uint8_t **out, size_t *outlen,
                            char *err, size_t errlen);

/*
 * The InputEvent's two decoding paths (avro_map.c); avro_codec_decode_event tries the
 * direct one first. The direct path returns true only for a record of our own schema id
 * that it read whole and that passes the value rules (*ev filled); false leaves the
 * record to the generic path, which reads any writer schema and names any fault. Neither
 * compares the record key. Tests compare the two.
 */
bool avro_map_decode_event_direct(avro_codec_t *c, const void *value, size_t len, eng_event_t *ev);
dlq_reason_t avro_map_decode_event_generic(avro_codec_t *c, const void *value, size_t len,
                                           eng_event_t *ev, char *msg, size_t msglen);

/*
 * An output's two encoding paths (avro_map.c); avro_codec_encode_output tries the direct
 * one first. The direct path writes this build's own output schemas without avro-c and
 * returns true, or false for anything it does not take (the generic path then gives the
 * error). Tests compare the two.
 */
bool avro_map_encode_output_direct(avro_codec_t *c, const eng_output_t *o, const uint8_t **out,
                                   size_t *outlen);
int avro_map_encode_output_generic(avro_codec_t *c, const eng_output_t *o, const uint8_t **out,
                                   size_t *outlen, char *err, size_t errlen);

/*
 * The CustomerState through avro-c's generic values (avro_state.c). The public
 * avro_codec_encode_state / avro_codec_decode_state take a direct binary path for this
 * build's own schema and fall back to these; tests compare the two.
 */
int avro_state_encode_generic(avro_codec_t *c, const eng_state_t *s, const uint8_t **out,
                              size_t *outlen, char *err, size_t errlen);
dlq_reason_t avro_state_decode_generic(avro_codec_t *c, const void *value, size_t len,
                                       eng_state_t *s, char *msg, size_t msglen);

#endif
