/*
 * eng_types: the loyalty domain as plain C values, shared by the engine (which computes),
 * the Avro codec in schemas/ (which moves these values on and off the wire) and the
 * state store (which keeps the customer state). No library header is included here.
 *
 * The one idea: every value is fixed-size and self-contained (ids and names are bounded
 * char arrays, lists are bounded arrays with a count), so the hot path copies and reuses
 * them without allocating, and a value can be zeroed and refilled for the next record.
 * Bounds are limits of the product, documented in docs/SCHEMAS.md; a decoder rejects a
 * record that exceeds one (dead-letter reason), it never truncates silently.
 *
 * Units: money and points are int64 in minor units (points are whole points); times are
 * int64 milliseconds since the Unix epoch, UTC. ENG_TIME_NEVER marks "no expiry".
 */
#ifndef LS_ENG_TYPES_H
#define LS_ENG_TYPES_H

#include <stdbool.h>
#include <stdint.h>

#define ENG_ID_MAX          64 /* event, customer, partner, sku ids: up to 63 bytes + NUL */
#define ENG_NAME_MAX        32 /* category, tier, reason, status names: up to 31 bytes + NUL */
#define ENG_PERIOD_NAME_MAX 8  /* a period's name: "2026-03" or "2026" + NUL */
#define ENG_CURRENCY_MAX    4  /* ISO 4217 code + NUL */
#define ENG_LINES_MAX       64 /* lines of one purchase, return or redemption basket */
#define ENG_OUT_ID_MAX      96 /* deterministic output id */
#define ENG_TIME_NEVER      INT64_MAX

/* ------------------------------------------------------------------ input events */

typedef enum {
    ENG_EV_PURCHASE = 1,
    ENG_EV_RETURN = 2,
    ENG_EV_REDEMPTION = 3,
} eng_event_kind_t;

/** One line of a basket. amount is the line total (all units), minor units, >= 0. */
typedef struct eng_line {
    char sku[ENG_ID_MAX];
    char category[ENG_NAME_MAX];
    int32_t quantity; /* units, >= 1 */
    int64_t amount;   /* line total in minor units */
    bool on_sale;
} eng_line_t;

/** Optional customer attributes carried by a purchase (has_* false = not given). */
typedef struct eng_attrs {
    bool has_birth_date;
    int32_t birth_month; /* 1..12 */
    int32_t birth_day;   /* 1..31 */
    bool has_member_since;
    int64_t member_since;              /* ms */
    char account_status[ENG_NAME_MAX]; /* "" = not given */
} eng_attrs_t;

/**
 * An input event. kind selects which fields matter:
 *  - PURCHASE: partner, currency, lines, attrs.
 *  - RETURN: original_event_id (the purchase), currency, lines (the returned lines).
 *  - REDEMPTION: points to spend, partner, currency, lines (the basket it pays for).
 */
typedef struct eng_event {
    eng_event_kind_t kind;
    char event_id[ENG_ID_MAX];    /* unique per event; idempotency key */
    char customer_id[ENG_ID_MAX]; /* the record key */
    int64_t time_ms;              /* when it happened (event time) */
    char partner[ENG_ID_MAX];     /* partner or store id, "" = none */
    char currency[ENG_CURRENCY_MAX];
    char original_event_id[ENG_ID_MAX]; /* RETURN only */
    int64_t points;                     /* REDEMPTION only: points asked for */
    eng_attrs_t attrs;                  /* PURCHASE only */
    uint32_t n_lines;
    eng_line_t lines[ENG_LINES_MAX];
} eng_event_t;

/* ------------------------------------------------------------------ output events */

typedef enum {
    ENG_OUT_TIER_CHANGED = 0,
    ENG_OUT_BONUS_EARNED,
    ENG_OUT_EXPIRY_WARNING,
    ENG_OUT_POINTS_EXPIRED,
    ENG_OUT_POINTS_REVERSED,
    ENG_OUT_POINTS_REDEEMED,
    ENG_OUT_REDEMPTION_REJECTED,
    ENG_OUT_REWARD_EARNED,
    ENG_OUT_TIER_WILL_DOWNGRADE,
    ENG_OUT_TIER_PROGRESS,
    ENG_OUT_KIND_COUNT
} eng_out_kind_t;

typedef struct eng_tier_changed {
    char from_tier[ENG_NAME_MAX];
    char to_tier[ENG_NAME_MAX];
    int32_t direction;         /* +1 promotion, -1 demotion */
    char reason[ENG_NAME_MAX]; /* "qualification", "inactivity", "period_end", ... */
    int64_t qualifying_value;  /* the metric that decided it (minor units or count) */
} eng_tier_changed_t;

typedef struct eng_bonus_earned {
    int64_t points;
    int32_t rate_bp;                  /* effective rate in basis points (1% = 100) */
    char tier[ENG_NAME_MAX];          /* tier at the time of earning */
    char source[ENG_NAME_MAX];        /* "purchase", "period", "stamp", "birthday", "basket" */
    int64_t usable_from;              /* ms */
    int64_t expires_at;               /* ms or ENG_TIME_NEVER */
    char period[ENG_PERIOD_NAME_MAX]; /* source "period": "2026-03" or "2026", else "" */
    int32_t correction; /* 1: corrects the award already paid for `period` (a late event) */
} eng_bonus_earned_t;

typedef struct eng_expiry_warning {
    int64_t points;     /* points that will expire at expires_at */
    int64_t expires_at; /* ms */
    int32_t days_left;  /* the warning threshold that fired (e.g. 30, 7, 1) */
} eng_expiry_warning_t;

typedef struct eng_points_expired {
    int64_t points;
    int64_t expired_at; /* ms: the lots' expiry time */
} eng_points_expired_t;

typedef struct eng_points_reversed {
    int64_t points;     /* taken back from the balance */
    int64_t debt_added; /* what could not be taken back (policy "debt"), else 0 */
    char original_event_id[ENG_ID_MAX];
    /* "return": the purchase's points, pro rata; "purchase_not_found": the purchase is not
     * among the customer's last ENG_PURCHASES_MAX (older, or never seen): points 0;
     * "period_correction": a closed period's award lowered (docs/PROGRAMS.md, "Late events") */
    char reason[ENG_NAME_MAX];
    char period[ENG_PERIOD_NAME_MAX]; /* "period_correction": the period corrected, else "" */
} eng_points_reversed_t;

typedef struct eng_points_redeemed {
    int64_t points;
    int64_t value; /* the discount it paid, minor units */
    int64_t balance_after;
    int64_t points_requested; /* what the redemption asked for */
    int64_t points_allowed;   /* what the program allowed (share of the basket, balance) */
} eng_points_redeemed_t;

typedef struct eng_redemption_rejected {
    int64_t points_requested;
    int64_t points_available;
    char reason[ENG_NAME_MAX]; /* "insufficient_points", "over_max_share", "excluded_basket",
                                  "over_eligible_amount", "invalid_points" */
    int64_t points_allowed;    /* the most the program allowed for this basket */
} eng_redemption_rejected_t;

typedef struct eng_reward_earned {
    char reward[ENG_NAME_MAX];   /* e.g. "free_item" */
    char category[ENG_NAME_MAX]; /* the stamp card's category */
    int32_t stamps_used;
    char source[ENG_NAME_MAX]; /* what granted it: "stamp_card", "birthday", "basket" */
    int32_t quantity;          /* free items granted (a card's `free`, else 1) */
} eng_reward_earned_t;

typedef struct eng_tier_will_downgrade {
    char from_tier[ENG_NAME_MAX];
    char to_tier[ENG_NAME_MAX];
    int64_t effective_at; /* ms: when the demotion will happen unless the customer acts */
    int32_t days_left;
} eng_tier_will_downgrade_t;

typedef struct eng_tier_progress {
    char current_tier[ENG_NAME_MAX];
    char next_tier[ENG_NAME_MAX];
    int64_t current_value; /* qualifying metric so far */
    int64_t missing;       /* how much more reaches next_tier */
} eng_tier_progress_t;

/**
 * One output event. output_id is deterministic from the cause: "<cause_id>:<ordinal>" for
 * an input event, "<customer>:<timer kind>:<due ms>[:<ordinal>]" for a timer; never
 * derived from Kafka offsets, so the same input yields byte-identical outputs.
 */
typedef struct eng_output {
    eng_out_kind_t kind;
    char output_id[ENG_OUT_ID_MAX];
    char customer_id[ENG_ID_MAX];
    int64_t time_ms;           /* the cause's time: event time or the timer's due time */
    char cause_id[ENG_ID_MAX]; /* the input event id, or "" for a timer */
    char currency[ENG_CURRENCY_MAX];
    union {
        eng_tier_changed_t tier_changed;
        eng_bonus_earned_t bonus_earned;
        eng_expiry_warning_t expiry_warning;
        eng_points_expired_t points_expired;
        eng_points_reversed_t points_reversed;
        eng_points_redeemed_t points_redeemed;
        eng_redemption_rejected_t redemption_rejected;
        eng_reward_earned_t reward_earned;
        eng_tier_will_downgrade_t tier_will_downgrade;
        eng_tier_progress_t tier_progress;
    } u;
} eng_output_t;

/* ------------------------------------------------------------------ timers */

typedef enum {
    ENG_TIMER_EXPIRY = 1,     /* a lot expires */
    ENG_TIMER_WARNING = 2,    /* an expiry or downgrade warning is due */
    ENG_TIMER_PERIOD_END = 3, /* a qualification/award period ends */
    ENG_TIMER_INACTIVITY = 4, /* an inactivity demotion step is due */
} eng_timer_kind_t;

/** A timer the engine asks for: fire eng_on_timer for customer_id at due_ms. */
typedef struct eng_timer {
    eng_timer_kind_t kind;
    int64_t due_ms;
    char customer_id[ENG_ID_MAX];
} eng_timer_t;

#endif
