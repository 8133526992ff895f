/*
 * eng: the loyalty engine, a pure function
 *     (program, customer state, input event | clock time) -> (new state, outputs, next due)
 *
 * The one idea: the engine never reads a clock, never does I/O and never allocates. Time
 * comes from the event (event time) or from the caller (`now` for timers); outputs go
 * into a buffer the caller owns; everything the engine must remember lives in the
 * customer's eng_state_t. The same inputs therefore give byte-identical outputs, whatever
 * batch boundaries or restarts happened in between.
 *
 * Timers. The caller keeps ONE pending timer per customer: after every call the engine
 * reports in out->next_due the customer's next due time (ENG_TIME_NEVER if none) and its
 * kind. eng_on_timer(now) handles everything due at or before `now` in time order (expiry
 * warnings, lot expiry, period ends with their awards and tier evaluation, inactivity
 * demotions and their warnings), each step exactly once, even after a long downtime
 * (three missed months = three steps, each with its own id).
 *
 * Contract for the caller (pipeline and replay):
 *  1. Before applying an event of time T, call eng_on_timer(prog, state, C, out) until
 *     out->next_due > C, where C = max(T, the caller's clock) (one call suffices unless
 *     the output buffer filled up); timers due at exactly T fire before the event. Using
 *     the clock and not just T matters for late events: the result must not depend on
 *     when the caller last fired timers (docs/ARCHITECTURE.md). eng_apply_event() also
 *     catches up itself when it can, so forgetting this never corrupts state, but
 *     outputs then mix into the event's call.
 *  2. Under a wall clock, call eng_on_timer(now) when the pending timer is due; under
 *     stream time (replay), `now` is the greatest event time seen so far.
 *  3. The output buffer must hold at least ENG_OUT_MIN_CAP entries; a call stops early
 *     (out->next_due <= now) rather than overflow, and the caller calls again.
 *  4. Persist the state after eng_on_timer() fired anything, even when the event that
 *     follows turns out to be a duplicate (ENG_DUPLICATE only says the EVENT changed
 *     nothing): otherwise the timers' outputs would be produced again after a restart.
 *  5. A state written under an older program is accepted; a tier index the program no
 *     longer has becomes its highest tier. Changing the qualification window or the
 *     period of a running program needs a state migration (bucket keys change meaning).
 *
 * Output ids: "<event id>:<ordinal>" for an event's outputs; for timers
 * "<customer>:<kind>:<due ms>:<ordinal>" with kind one of expiry, warning, period_end,
 * inactivity, downgrade_warning, period_reset.
 */
#ifndef LS_ENG_H
#define LS_ENG_H

#include "eng_state.h"
#include "eng_types.h"
#include "prog.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ENG_OUT_MIN_CAP       128
#define ENG_AMOUNT_MAX        1000000000000LL /* largest accepted purchase total, minor units */
#define ENG_DAY_MS            86400000LL
#define ENG_REWARDS_PER_EVENT 8 /* free items per card per purchase; more stamps carry over */

/** Result of one engine call. The caller owns `v` (cap entries) and resets n to 0. */
typedef struct eng_outbuf {
    eng_output_t *v;
    uint32_t cap;
    uint32_t n;
    int64_t next_due;           /* the customer's next timer, ENG_TIME_NEVER if none */
    eng_timer_kind_t next_kind; /* its kind (meaningful when next_due != NEVER) */
    uint32_t bounds;            /* ENG_BOUND_BIT(b) for each per-customer bound b that bit in
                                   a call (eng_bound_t): the engine only sets bits, the caller
                                   counts and clears them (a zeroed buffer has none) */
} eng_outbuf_t;

/**
 * The per-customer bounds of eng_state.h, as reported in eng_outbuf_t.bounds when one
 * bites (docs/STATE.md, "Bounds"). The engine never logs: the caller counts these (the
 * app's loyalty_state_bounds_total{bound}). Values are only ever appended.
 */
typedef enum {
    ENG_BOUND_EVENT_IDS = 0,        /* ENG_SEEN_MAX: the oldest remembered event id was
                                       forgotten to remember this event's */
    ENG_BOUND_PURCHASES = 1,        /* ENG_PURCHASES_MAX: the oldest purchase was forgotten */
    ENG_BOUND_RETURN_NOT_FOUND = 2, /* a return's purchase is not in the ring (forgotten, or
                                       never seen): a 0-point PointsReversed went out */
    ENG_BOUND_LOTS = 3,             /* ENG_LOTS_MAX: a new lot merged into an existing one */
    ENG_BOUND_QBUCKETS = 4,         /* ENG_QBUCKETS_MAX: the two oldest buckets merged */
    ENG_BOUND_COUNT
} eng_bound_t;

#define ENG_BOUND_BIT(b) (1u << (b))

/** @brief The bound's metric label ("event_ids", "purchases", ...). */
const char *eng_bound_name(eng_bound_t b);

/**
 * Return codes of eng_apply_event(). Whatever the code, out->v[0..n) holds valid outputs
 * to produce (timer catch-up may have run first) and out->next_due is current.
 */
enum {
    ENG_OK = 0,
    ENG_DUPLICATE = 1, /* event id seen before: the event changed nothing, emitted nothing */
    ENG_EINVAL = -1,   /* the event is invalid (err says why): the state is unchanged */
    ENG_ETIMERS = -2,  /* the buffer filled while catching up timers due before the event:
                          the state HAS advanced by those timers (their outputs are in out);
                          drain the buffer and call again */
    ENG_TOO_LATE = -3, /* the event's award period closed so long ago that its record was
                          dropped (docs/PROGRAMS.md, "Late events"): nothing changed, no
                          output; dead-letter it as too_late */
};

/** @brief 64-bit FNV-1a of an id (idempotency keys, purchase references). */
uint64_t eng_id_hash(const char *id);

/** @brief Make `s` a new customer's state (zeroes it first). */
void eng_state_init(eng_state_t *s, const char *customer_id, int64_t now);

/**
 * @brief Apply one input event to a customer's state.
 * @param s the customer's state; a zeroed state is initialised from the event.
 * @param out outputs are appended (out->n grows); next_due is set.
 * @return ENG_OK, ENG_DUPLICATE, ENG_EINVAL (err names the field) or ENG_ETIMERS.
 * @locality any thread; prog is read-only and may be shared.
 */
int eng_apply_event(const prog_t *prog, eng_state_t *s, const eng_event_t *ev, eng_outbuf_t *out,
                    char *err, size_t errlen);

/**
 * @brief Fire everything due at or before `now` for this customer, in time order.
 * @return the number of timer steps handled; out->next_due is set (<= now means the
 * buffer filled up: drain it and call again).
 */
int eng_on_timer(const prog_t *prog, eng_state_t *s, int64_t now, eng_outbuf_t *out);

/** @brief The customer's next due time (ENG_TIME_NEVER if none) and its kind. */
int64_t eng_next_due(const prog_t *prog, const eng_state_t *s, eng_timer_kind_t *kind);

/**
 * @brief Ask the CPU to start loading the parts of `s` the next engine call on it reads
 * and writes (a prefetch hint; no effect on any result). A caller that knows which state
 * comes next (the pipeline: the next record of a batch) calls it one or two events ahead,
 * so that the memory latency of a state that is not in cache overlaps the current event.
 * It asks for the lines a small state uses (header, first buckets, lots, purchases and
 * seen ids, totals): a customer seen rarely, the one that is not in cache.
 * @param s a state, or NULL (no-op). Nothing is read or written through the pointer, so a
 * state that is zeroed, being decoded or in use by nobody yet is fine.
 * @locality any thread; cheap (one instruction per 64-byte line, about 16 lines).
 */
void eng_prefetch(const eng_state_t *s);

/**
 * @brief Whether `ev` is too late for its customer at the caller's clock: more than the
 * program's late_events.max_lateness_days behind `clock`, and not a repeat of a recent event
 * (which eng_apply_event would answer ENG_DUPLICATE). The pipeline dead-letters such an event
 * (too_late), replay skips it; s may be a zeroed (new) state.
 */
bool eng_event_too_late(const prog_t *p, const eng_state_t *s, const eng_event_t *ev,
                        int64_t clock);

/** @brief Points in all lots (usable or not yet). */
int64_t eng_balance(const eng_state_t *s);

/** @brief Validate an event without applying it (0 ok, else -1 and err). */
int eng_event_check(const prog_t *prog, const eng_event_t *ev, char *err, size_t errlen);

/** @brief Name of an output kind ("TierChanged", ...). */
const char *eng_out_kind_name(eng_out_kind_t kind);

#endif
