/*
 * frame: Confluent wire-format header and the framed-record file (see frame.h).
 * Everything here is byte arithmetic; no allocation except the growing file buffer.
 */
#include "frame.h"

#include <stdlib.h>
#include <string.h>

frame_result_t frame_parse(const void *buf, size_t len, int32_t *schema_id, const uint8_t **payload,
                           size_t *payload_len)
{
    const uint8_t *b = buf;
    if (!buf || len < FRAME_HEADER_LEN)
        return FRAME_ERR_TRUNCATED;
    if (b[0] != FRAME_MAGIC)
        return FRAME_ERR_MAGIC;
    uint32_t id =
        ((uint32_t)b[1] << 24) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 8) | (uint32_t)b[4];
    *schema_id = (int32_t)id;
    *payload = b + FRAME_HEADER_LEN;
    *payload_len = len - FRAME_HEADER_LEN;
    return FRAME_OK;
}

void frame_write_header(uint8_t out[FRAME_HEADER_LEN], int32_t schema_id)
{
    uint32_t id = (uint32_t)schema_id;
    out[0] = FRAME_MAGIC;
    out[1] = (uint8_t)(id >> 24);
    out[2] = (uint8_t)(id >> 16);
    out[3] = (uint8_t)(id >> 8);
    out[4] = (uint8_t)id;
}

int frame_file_read(FILE *in, uint8_t **buf, size_t *cap, size_t *len, char *err, size_t errlen)
{
    uint8_t hdr[4];
    size_t got = fread(hdr, 1, sizeof(hdr), in);
    if (got == 0 && feof(in))
        return 0;
    if (got != sizeof(hdr)) {
        snprintf(err, errlen, "framed-record file ends inside a length prefix");
        return -1;
    }
    uint32_t n = ((uint32_t)hdr[0] << 24) | ((uint32_t)hdr[1] << 16) | ((uint32_t)hdr[2] << 8) |
                 (uint32_t)hdr[3];
    if (n > FRAME_FILE_RECORD_MAX) {
        snprintf(err, errlen, "framed-record file: record length %u exceeds the limit of %u", n,
                 FRAME_FILE_RECORD_MAX);
        return -1;
    }
    if (n > *cap || !*buf) {
        size_t want = n ? n : 1;
        uint8_t *nb = realloc(*buf, want);
        if (!nb) {
            snprintf(err, errlen, "framed-record file: out of memory for %u bytes", n);
            return -1;
        }
        *buf = nb;
        *cap = want;
    }
    if (n && fread(*buf, 1, n, in) != n) {
        snprintf(err, errlen, "framed-record file ends inside a record of %u bytes", n);
        return -1;
    }
    *len = n;
    return 1;
}

int frame_file_write(FILE *out, const void *rec, size_t len)
{
    if (len > FRAME_FILE_RECORD_MAX)
        return -1;
    uint8_t hdr[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                      (uint8_t)len};
    if (fwrite(hdr, 1, 4, out) != 4)
        return -1;
    if (len && fwrite(rec, 1, len, out) != len)
        return -1;
    return 0;
}
