/*
 * avro_schemas_gen: the .avsc files of schemas/, compiled into the library as strings
 * (the table is generated at build time by embed_schemas.cmake). Private to ls_schemas.
 */
#ifndef LS_AVRO_SCHEMAS_GEN_H
#define LS_AVRO_SCHEMAS_GEN_H

#include <stddef.h>

typedef struct avro_gen_schema {
    const char *stem; /* file name without .avsc, e.g. "input_event" */
    const char *json; /* the file's text */
} avro_gen_schema_t;

extern const avro_gen_schema_t avro_gen_schemas[];
extern const size_t avro_gen_schemas_count;

#endif
