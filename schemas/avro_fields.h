/*
 * avro_fields: read fields of a decoded Avro record by name with schema resolution, and
 * set fields of our own records. Private to ls_schemas.
 *
 * The one idea: we resolve a writer's schema against ours field by field, by name, at the
 * moment we copy a value into the engine's structs. A field our schema has but the
 * writer's lacks takes our schema's default (the caller passes it: it is the .avsc's
 * default); a field the writer has and we do not is never asked for; int widens to long,
 * a union is looked through to its branch, null means "not given". avro-c's own
 * avro_resolved_reader_new cannot do this: it refuses a reader field missing from the
 * writer even when the field has a default ("Reader field X doesn't appear in writer").
 *
 * Every getter returns a dlq_reason_t: DLQ_OK, DLQ_INCOMPATIBLE_SCHEMA (a required field
 * is missing or has another type), DLQ_FIELD_TOO_LONG or DLQ_INVALID_VALUE (a NUL inside a
 * string), with one sentence in the context's message.
 */
#ifndef LS_AVRO_FIELDS_H
#define LS_AVRO_FIELDS_H

#include "dlq.h"

#include <avro.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Where a getter writes its failure sentence. */
typedef struct avro_fields_ctx {
    char *msg;
    size_t msglen;
} avro_fields_ctx_t;

/** @brief Fill the context's message and return reason (for the caller's own checks). */
dlq_reason_t avro_fields_fail(avro_fields_ctx_t *x, dlq_reason_t reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/**
 * @brief Find field name of record rec, looking through unions.
 * @returns 1 present (*out is the value, never a union or null), 0 absent or null.
 */
int avro_fields_find(const avro_value_t *rec, const char *name, avro_value_t *out);

/** @brief Look through unions of v in place. @returns 0 if the result is null. */
int avro_fields_unwrap(avro_value_t *v);

dlq_reason_t avro_fields_long(avro_fields_ctx_t *x, const avro_value_t *rec, const char *name,
                              bool required, int64_t def, int64_t *out, bool *present);
dlq_reason_t avro_fields_int(avro_fields_ctx_t *x, const avro_value_t *rec, const char *name,
                             bool required, int32_t def, int32_t *out, bool *present);
dlq_reason_t avro_fields_bool(avro_fields_ctx_t *x, const avro_value_t *rec, const char *name,
                              bool required, bool def, bool *out);
/** @brief Copy a string field into dst[cap] (NUL-terminated); longer → DLQ_FIELD_TOO_LONG. */
dlq_reason_t avro_fields_str(avro_fields_ctx_t *x, const avro_value_t *rec, const char *name,
                             bool required, const char *def, char *dst, size_t cap, bool *present);
/**
 * @brief Check n bytes of an Avro string (RFC 3629 UTF-8: no overlong forms, no surrogates,
 * at most U+10FFFF). @returns 0 well-formed without NUL, 1 a NUL byte, 2 not UTF-8.
 */
int avro_fields_text_check(const unsigned char *s, size_t n);
/** @brief The symbol of an enum field (borrowed from the schema). */
dlq_reason_t avro_fields_enum(avro_fields_ctx_t *x, const avro_value_t *rec, const char *name,
                              const char **symbol);

/* Setters on our own records (the schema is ours, so a missing field is a bug: -1). */
int avro_fields_set_long(avro_value_t *rec, const char *name, int64_t v);
int avro_fields_set_int(avro_value_t *rec, const char *name, int32_t v);
int avro_fields_set_bool(avro_value_t *rec, const char *name, bool v);
/** @brief Set a string from a bounded C array; -1 if it has no NUL within cap. */
int avro_fields_set_str(avro_value_t *rec, const char *name, const char *s, size_t cap);
int avro_fields_set_enum(avro_value_t *rec, const char *name, int index);
/** @brief Set a ["null", T] union field to null. */
int avro_fields_set_null(avro_value_t *rec, const char *name);
/** @brief Select branch of union field name and return the branch value in *branch. */
int avro_fields_set_branch(avro_value_t *rec, const char *name, int index, avro_value_t *branch);

#endif
