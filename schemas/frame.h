/*
 * frame: the Confluent wire format every record of loyalty-stream carries, and the
 * framed-record file the decode/encode tools read and write.
 *
 * The one idea: a Kafka value is [magic 0][schema id, 4 bytes big-endian][Avro binary].
 * The id names the writer's schema in the registry (or in the configuration), so a
 * reader can resolve a newer producer's schema against its own. Parsing never copies:
 * the payload is a view into the caller's buffer.
 */
#ifndef LS_FRAME_H
#define LS_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FRAME_MAGIC      0
#define FRAME_HEADER_LEN 5
/** The largest record a framed-record file may hold (a hostile length prefix is refused). */
#define FRAME_FILE_RECORD_MAX (16u * 1024u * 1024u)

typedef enum {
    FRAME_OK = 0,
    FRAME_ERR_TRUNCATED = 1, /* fewer than FRAME_HEADER_LEN bytes */
    FRAME_ERR_MAGIC = 2,     /* first byte is not FRAME_MAGIC */
} frame_result_t;

/**
 * @brief Split a framed value into its schema id and payload.
 * @param payload set to point into buf (borrowed), never copied.
 * @returns FRAME_OK, FRAME_ERR_TRUNCATED or FRAME_ERR_MAGIC; outputs untouched on error.
 */
frame_result_t frame_parse(const void *buf, size_t len, int32_t *schema_id, const uint8_t **payload,
                           size_t *payload_len);

/** @brief Write the 5-byte header for schema_id into out. */
void frame_write_header(uint8_t out[FRAME_HEADER_LEN], int32_t schema_id);

/*
 * Framed-record file: a sequence of [length, 4 bytes big-endian][that many bytes], each
 * record being one Kafka value (normally itself a Confluent frame). Simple enough to write
 * with any tool, and it keeps arbitrary bytes (no text escaping).
 */

/**
 * @brief Read the next record of a framed-record file into *buf (grown with realloc as
 * needed; the caller owns it and frees it once at the end).
 * @returns 1 a record was read (*len set), 0 clean end of file, -1 error (err filled:
 * truncated length or record, or a length above FRAME_FILE_RECORD_MAX).
 */
int frame_file_read(FILE *in, uint8_t **buf, size_t *cap, size_t *len, char *err, size_t errlen);

/** @brief Append one record to a framed-record file. @returns 0 ok, -1 write error. */
int frame_file_write(FILE *out, const void *rec, size_t len);

#endif
