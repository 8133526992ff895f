/*
 * avro_scan: check that bytes are well-formed Avro binary for a schema BEFORE avro-c
 * reads them.
 *
 * The one idea: avro-c's reader allocates a string's or bytes' declared length before it
 * checks that the bytes exist, so a hostile 2^62 length prefix makes it ask malloc for
 * exabytes (an abort under ASan, an OOM otherwise), and a huge array block count makes it
 * append elements without end. This walker follows the writer schema over the buffer
 * without allocating and refuses any length, count, union or enum index that the buffer
 * or the schema cannot hold, and trailing bytes. Only a buffer it accepts goes to avro-c.
 */
#ifndef LS_AVRO_SCAN_H
#define LS_AVRO_SCAN_H

#include <avro.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    AVRO_SCAN_OK = 0,
    AVRO_SCAN_TRUNCATED = 1, /* the data ends before the schema does */
    AVRO_SCAN_MALFORMED = 2, /* bad varint, index out of range, negative length, trailing
                                bytes, nesting deeper than AVRO_SCAN_DEPTH_MAX */
} avro_scan_result_t;

#define AVRO_SCAN_DEPTH_MAX 32

/**
 * A schema compiled for scanning: avro-c answers "field i of a record" and "branch i of a
 * union" with a hash lookup, so the walker runs over a plain tree of nodes built once per
 * writer schema instead. It borrows names from the schema, which must outlive it.
 */
typedef struct avro_scan_plan avro_scan_plan_t;

/** @brief Compile schema. @returns the plan (free with avro_scan_plan_destroy) or NULL. */
avro_scan_plan_t *avro_scan_plan_new(avro_schema_t schema);

/** @brief Free a plan. NULL is a no-op. */
void avro_scan_plan_destroy(avro_scan_plan_t *plan);

/**
 * @brief Validate buf[0..len) as exactly one datum of the plan's schema.
 * @param err filled with one sentence naming the field on failure (may be NULL).
 * @returns AVRO_SCAN_OK, AVRO_SCAN_TRUNCATED or AVRO_SCAN_MALFORMED. Never allocates.
 */
avro_scan_result_t avro_scan_run(const avro_scan_plan_t *plan, const uint8_t *buf, size_t len,
                                 char *err, size_t errlen);

#endif
