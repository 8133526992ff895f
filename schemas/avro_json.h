/*
 * avro_json: a JSON text in the Avro JSON encoding into an avro-c value of a known
 * schema (avro-c renders values as JSON but cannot read JSON back). Used by the `encode`
 * tool and by tests. Private to ls_schemas.
 *
 * The one idea: the value's own schema drives the conversion, so one function handles
 * every record type. Beyond the Avro JSON encoding it accepts, for hand-written input:
 * an absent field whose type is a union with null (it becomes null), and a bare value
 * for a ["null", T] union (it becomes the T branch). An unknown key is an error (a typo
 * must not vanish).
 */
#ifndef LS_AVRO_JSON_H
#define LS_AVRO_JSON_H

#include <avro.h>
#include <stddef.h>

/**
 * @brief Fill dst (a fresh or reset generic value) from json.
 * @returns 0 ok, -1 with err naming the JSON path of the problem.
 */
int avro_json_to_value(const char *json, avro_value_t *dst, char *err, size_t errlen);

#endif
