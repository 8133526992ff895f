/*
 * eng_out: filling the engine's output records (eng_output_t) and their deterministic ids;
 * internal to the engine (eng.c), not part of its API.
 *
 * The one idea: an emitter carries what every output of one cause shares (the buffer, the
 * state, the program, the cause: an event id, or a timer kind and due time, and the next
 * ordinal), so each rule only fills its kind's fields. Ids are "<event id>:<ordinal>" or
 * "<customer>:<timer kind>:<due ms>:<ordinal>", built without printf; records are zeroed
 * first, so outputs are byte-identical for the same inputs.
 */
#ifndef LS_ENG_OUT_H
#define LS_ENG_OUT_H

#include "eng.h"

#include <stdint.h>

/** What the outputs of one cause share. Callers check the buffer has room beforehand. */
typedef struct eng_emitter {
    eng_outbuf_t *out;
    const eng_state_t *s;
    const prog_t *p;
    const char *cause_id; /* event id (an eng_event_t's event_id array), or NULL for a timer */
    const char *timer_kind;
    int64_t time_ms;
    uint32_t ordinal;
} eng_emitter_t;

/** @brief The next output slot, zeroed, its common fields (kind, ids, time, currency) filled. */
eng_output_t *eng_out_emit(eng_emitter_t *e, eng_out_kind_t kind);

/** @brief Emit TierChanged from s->tier to `to` and move the state there (tier, tier_since). */
void eng_out_tier_change(eng_emitter_t *e, eng_state_t *s, int32_t to, const char *reason,
                         int64_t value);

/** @brief Emit BonusEarned for a credit of pts from `source` (tier = s's current tier). */
eng_output_t *eng_out_bonus(eng_emitter_t *e, const eng_state_t *s, int64_t pts, int32_t rate_bp,
                            eng_lot_source_t source, int64_t usable_from, int64_t expires_at);

#endif
