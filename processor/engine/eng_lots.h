/*
 * eng_lots: points lots inside eng_state_t (internal to the engine; the pipeline uses
 * eng.h). Lots are ordered by (expires_at, earned_at): array order is spending order.
 */
#ifndef LS_ENG_LOTS_H
#define LS_ENG_LOTS_H

#include "eng_state.h"
#include "prog.h"

#include <stdint.h>

/**
 * @brief Credit `points` as a lot. Outstanding debt is repaid first (counted as reversed);
 * a lot of the same expiry and source that is usable alike absorbs the points; a full
 * array merges into the lot of nearest expiry (eng_state.h says how).
 * @returns 1 when the array was full and the new lot merged (ENG_BOUND_LOTS), else 0.
 */
int eng_lots_credit(const prog_t *p, eng_state_t *s, int64_t points, int64_t earned_at,
                    int64_t usable_from, int64_t expires_at, eng_lot_source_t src);
/** @brief Take up to `want` points from lots usable at `usable_at` (INT64_MAX: all),
 * earliest expiry first; returns what was taken. */
int64_t eng_lots_take(eng_state_t *s, int64_t want, int64_t usable_at);
/** @brief Points in lots usable at `at`. */
int64_t eng_lots_usable(const eng_state_t *s, int64_t at);
/** @brief Remove lot i, keeping the order. */
void eng_lots_remove(eng_state_t *s, uint32_t i);

#endif
