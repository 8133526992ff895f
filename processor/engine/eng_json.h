/*
 * eng_json: the JSON forms of input events, output events and customer states, shared by
 * `replay`, the pipeline's tests and `inspect`. docs/EVENTS-JSON.md is the reference.
 *
 * The one idea: one JSON object per line, keys in a fixed order and compact separators,
 * so that the same value always prints as the same bytes (golden files and the crash
 * tests compare bytes). Kept apart from the pure engine (library ls_engine_json) so that
 * the engine itself does not depend on jansson.
 */
#ifndef LS_ENG_JSON_H
#define LS_ENG_JSON_H

#include "eng_state.h"
#include "eng_types.h"

#include <jansson.h>
#include <stddef.h>

/**
 * @brief Parse one JSON line into an event (zeroes ev first).
 * @return 0, or -1 with err naming the field ("lines[2].amount: expected an integer").
 */
int eng_json_parse_event(const char *line, size_t len, eng_event_t *ev, char *err, size_t errlen);
/** @brief As eng_json_parse_event from a parsed object (borrowed). */
int eng_json_event_from(const json_t *obj, eng_event_t *ev, char *err, size_t errlen);
/** @brief A new JSON object for an event (caller owns: json_decref). */
json_t *eng_json_event(const eng_event_t *ev);
/** @brief A new JSON object for an output (caller owns). */
json_t *eng_json_output(const eng_output_t *o);
/** @brief A new JSON object for a customer state (caller owns). */
json_t *eng_json_state(const eng_state_t *s);
/**
 * @brief Serialise compactly, keys in insertion order, and append '\n'.
 * @return a new string the caller frees with free(), or NULL when out of memory.
 */
char *eng_json_line(const json_t *obj);
/** @brief Parse "2026-03-31T23:59:59.5+03:00" / "...Z" into ms UTC (0 ok, -1 bad). */
int eng_json_parse_time(const char *s, int64_t *ms);
/** @brief Format ms UTC as "2026-03-31T20:59:59.500Z" (milliseconds only when non-zero). */
void eng_json_format_time(int64_t ms, char *buf, size_t buflen);

#endif
