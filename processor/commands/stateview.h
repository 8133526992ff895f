/*
 * stateview: a customer state as a person reads it, for `replay --final-state` and
 * `inspect --program`.
 *
 * The one idea: the engine's JSON form of a state (eng_json_state) is exact and
 * program-free (tier index, bucket keys, raw lots), which is what comparisons need; a
 * person needs the program to read it: the tier's name, each qualifying bucket as the
 * local period it stands for ("2026-03", "2026-03-14", "lifetime") with the value in the
 * program's unit, times in the program's time zone, lots with their source and expiry,
 * stamp cards by category. This module adds that reading and drops nothing a person needs.
 */
#ifndef LS_STATEVIEW_H
#define LS_STATEVIEW_H

#include "eng_state.h"
#include "prog.h"

#include <jansson.h>

/**
 * @brief The readable JSON form of a state under a program.
 * @return a new object (caller json_decref()s it), NULL when out of memory.
 */
json_t *sview_state(const prog_t *prog, const eng_state_t *s);

#endif
