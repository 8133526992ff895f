/*
 * libFuzzer target for the Avro decoder: every input is handed, as a Kafka value, to
 * each decode entry point of the codec (input event, output, customer state, JSON).
 * A crash, a sanitizer report or a leak is a bug; a dead-letter reason is the expected
 * answer to garbage. A second writer schema (our input schema plus a field) is pinned
 * under id 2 so that the resolution path is fuzzed too.
 * Build and run: tests/fuzz/run_fuzz.sh (ctest test fuzz_decode).
 */
#include "avro_codec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static avro_codec_t *codec;

static const char *newer_input_schema(void)
{
    /* our input schema with one more top-level field (with a default) */
    static char buf[16384];
    const char *ours = avro_codec_schema_json(AVRO_CODEC_TYPE_INPUT);
    const char *fields = strstr(ours, "\"fields\": [");
    if (!fields || strlen(ours) + 128 > sizeof(buf))
        return NULL;
    size_t head = (size_t)(fields - ours) + strlen("\"fields\": [");
    memcpy(buf, ours, head);
    strcpy(buf + head, "{\"name\": \"channel\", \"type\": \"string\", \"default\": \"web\"}, ");
    strcat(buf, ours + head);
    return buf;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[256];
    avro_codec_config_t cfg;
    avro_codec_config_defaults(&cfg);
    codec = avro_codec_new(&cfg, err, sizeof(err));
    if (!codec)
        abort();
    const char *newer = newer_input_schema();
    if (newer && avro_codec_add_writer_schema(codec, 2, newer, err, sizeof(err)) != 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static eng_event_t ev;
    static eng_output_t out;
    static eng_state_t st;
    char msg[256], *json = NULL;
    int type;
    int32_t id;
    /* an exact-size copy so that ASan sees any read past the end */
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    (void)avro_codec_decode_event(codec, "c", 1, copy, size, &ev, msg, sizeof(msg));
    (void)avro_codec_decode_output(codec, copy, size, &out, msg, sizeof(msg));
    (void)avro_codec_decode_state(codec, copy, size, &st, msg, sizeof(msg));
    if (avro_codec_to_json(codec, copy, size, &json, &type, &id, msg, sizeof(msg)) == DLQ_OK)
        free(json);
    free(copy);
    return 0;
}
