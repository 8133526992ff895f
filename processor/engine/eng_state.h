/*
 * eng_state: one customer's loyalty state, the value the engine reads and rewrites, the
 * state store keeps (RocksDB, one record per customer) and the changelog carries.
 *
 * The one idea: the struct is fixed-size and pointer-free. Every list is a bounded array
 * with a count, so the store can zero it, decode into it and hand it to the engine without
 * allocating, and the hot path copies it with memcpy. Bounds are product limits; what the
 * engine does when one is reached is written next to it (it never fails an event because
 * of a full array; it merges or forgets the oldest entry, deterministically), and each
 * time one bites the call says so in eng_outbuf_t.bounds (eng_bound_t), which the app
 * counts in loyalty_state_bounds_total (docs/PROGRAMS.md, "Per-customer bounds"): a full
 * seen-id ring forgets the oldest id (a repeat of it is applied again); a full purchase
 * ring forgets the oldest purchase (see eng_purchase_rec_t); a full lot array merges
 * (see eng_lot_t); full qualifying buckets merge the two oldest (see eng_qbucket_t).
 *
 * Units: points are whole points, money is int64 minor units, times are int64 ms UTC,
 * ENG_TIME_NEVER (eng_types.h) marks "never". Calendar keys (day and month indices) are
 * in the program's local time zone:
 *   day index   = days since 1970-01-01 of the local civil date,
 *   month index = local year * 12 + (local month - 1).
 *
 * Evolution: fields are only ever appended (see processor/engine/README.md); `version`
 * is ENG_STATE_VERSION of the code that last wrote the record.
 */
#ifndef LS_ENG_STATE_H
#define LS_ENG_STATE_H

#include "eng_types.h"

#include <stdint.h>

#define ENG_STATE_VERSION 3 /* 2: event time (next_accum, closed); 3: customer attributes */

#define ENG_QBUCKETS_MAX  48 /* qualifying buckets (sparse: only periods with activity) */
#define ENG_LOTS_MAX      16 /* points lots; when full a new lot merges (see eng_lot_t) */
#define ENG_STAMPS_MAX    4  /* stamp cards per program (index = card in the program) */
#define ENG_PURCHASES_MAX 16 /* recent purchases kept to reverse returns pro rata */
#define ENG_SEEN_MAX      64 /* recent input event ids (hashes) for idempotency */
#define ENG_CLOSED_MAX    4  /* closed award periods a late event may still correct */

/** Where a lot's points came from (eng_lot_t.source). */
typedef enum {
    ENG_SRC_PURCHASE = 0, /* per-purchase earning (base, partner, band, marginal rates) */
    ENG_SRC_PERIOD = 1,   /* a period award credited at the period's end */
    ENG_SRC_STAMP = 2,    /* a stamp card paying points */
    ENG_SRC_BIRTHDAY = 3, /* the birthday extra */
    ENG_SRC_BASKET = 4,   /* a basket bonus */
} eng_lot_source_t;

/**
 * One qualifying bucket: the qualification metric (spend in minor units, units, or
 * purchases) summed over one calendar key. The key's unit depends on the program's
 * window: day index for rolling_days, month index for calendar_month,
 * previous_calendar_month and calendar_year, 0 for lifetime. Buckets that can no longer
 * count are dropped; when the array is full the two oldest merge into the younger key
 * (the value stays in the window a little longer: the customer-friendly side).
 */
typedef struct eng_qbucket {
    int32_t key;
    int32_t reserved; /* 0; keeps value 8-aligned on every ABI */
    int64_t value;
} eng_qbucket_t;

/**
 * A lot of points earned together. remaining falls as points are redeemed, reversed or
 * expired. Spending and reversal take lots earliest expires_at first (ties: earliest
 * earned_at, then array order). A lot with remaining == 0 is removed. A new lot with the
 * same expires_at and source as an existing one that is (or becomes) usable alike is added
 * to it rather than stored apart.
 * warned: bit i set = the program's expiry warning_days[i] was sent (or skipped because
 * it was already past when the lot was created). When ENG_LOTS_MAX is reached, a new lot
 * merges into the lot with the nearest expires_at; the merged lot keeps the later
 * expires_at and usable_from of the two and the earlier earned_at (customer-friendly),
 * and warned = the AND of both masks.
 */
typedef struct eng_lot {
    int64_t amount;      /* points credited */
    int64_t remaining;   /* points still in the lot, 0 < remaining <= amount */
    int64_t earned_at;   /* ms */
    int64_t usable_from; /* ms: a redemption before this time cannot use the lot */
    int64_t expires_at;  /* ms or ENG_TIME_NEVER */
    uint32_t warned;     /* bitmask over the program's expiry warning_days */
    uint8_t source;      /* eng_lot_source_t */
    uint8_t reserved[3];
} eng_lot_t;

/**
 * A recent purchase, kept so that a return can reverse the points the returned lines
 * earned, pro rata to the earn-eligible amount, and take the returned spend out of the
 * qualifying metric and the open period's award total. The oldest is forgotten when
 * ENG_PURCHASES_MAX is reached (ENG_BOUND_PURCHASES). A return of a forgotten (or never
 * seen) purchase reverses nothing and says so: PointsReversed with points 0, debt_added
 * 0 and reason "purchase_not_found" (ENG_BOUND_RETURN_NOT_FOUND).
 */
typedef struct eng_purchase_rec {
    uint64_t id_hash;        /* eng_id_hash(event_id) */
    int64_t time_ms;         /* purchase time */
    int64_t eligible_amount; /* earn-eligible amount of the purchase, minor units */
    int64_t points;          /* points it earned (all sources tied to the purchase) */
    int64_t returned_amount; /* earn-eligible amount returned so far */
    int64_t points_reversed; /* points reversed so far (pro rata, cumulative floor) */
    int64_t qual_value;      /* what it added to the qualifying metric */
    int64_t qual_returned;   /* what returns took back from the metric so far */
    int64_t award_amount;    /* what it added to the open period's award total */
    int32_t qual_key;        /* the qualifying bucket it went into */
    int32_t award_period;    /* the award period index it counted in (month index) */
    int64_t gross_amount;    /* sum of all line amounts */
} eng_purchase_rec_t;

/**
 * A closed award period that late events may still correct (version 2): what its award
 * total is now and how many points it has paid (the award at its close plus corrections).
 * A late event adds to `accum` (a return of one of its purchases takes from it) and the
 * award is computed again; the difference goes out as a correction. Kept while the
 * period's end + grace + max lateness is not past (docs/PROGRAMS.md, "Late events").
 */
typedef struct eng_period_rec {
    int32_t month; /* month index of the period's first month */
    int32_t reserved;
    int64_t accum; /* the period's award total (metric of period_award) */
    int64_t paid;  /* points the period's award has paid so far */
} eng_period_rec_t;

/**
 * The customer state. A zeroed struct is "never seen"; eng_state_init() fills a new
 * customer (tier 0 = the program's first tier, no points).
 */
typedef struct eng_state {
    uint32_t version;             /* ENG_STATE_VERSION that wrote it */
    uint32_t flags;               /* bit 0: initialised */
    char customer_id[ENG_ID_MAX]; /* the key; timers' output ids need it */

    /* tier */
    int32_t tier; /* index into the program's tiers (0 = entry tier) */
    int32_t reserved0;
    int64_t tier_since;        /* ms of the last tier change (or of the first event) */
    int64_t last_visit;        /* ms of the last purchase or redemption, 0 = none */
    int32_t inactivity_steps;  /* inactivity demotions applied since last_visit */
    uint32_t downgrade_warned; /* bit i: demotion warning_days[i] sent for the next step */

    /* qualification */
    uint32_t n_qbuckets;
    uint32_t reserved1;
    eng_qbucket_t qbuckets[ENG_QBUCKETS_MAX];

    /* periods: the open period (award accumulation, period-end tier evaluation): the
     * earliest period not yet closed; it closes at its end + late_events grace */
    int64_t period_start; /* ms: local start of the open period, 0 = no period open */
    int64_t award_accum;  /* the open period's award total (metric of period_award) */

    /* points */
    int64_t debt; /* points owed after a reversal (returns policy "debt"), repaid first */
    uint32_t n_lots;
    uint32_t reserved2;
    eng_lot_t lots[ENG_LOTS_MAX];

    /* stamps: stamps[i] = stamps on the program's card i, < its `every` */
    int32_t stamps[ENG_STAMPS_MAX];

    /* returns */
    uint32_t n_purchases;
    uint32_t purchases_head; /* ring: index of the oldest record */
    eng_purchase_rec_t purchases[ENG_PURCHASES_MAX];

    /* idempotency: ring of 64-bit FNV-1a hashes of recent input event ids */
    uint32_t n_seen;
    uint32_t seen_head; /* index of the next slot to write */
    uint64_t seen[ENG_SEEN_MAX];

    /* birthday: the local year the birthday extra was last paid, 0 = never */
    int32_t birthday_year;
    int32_t reserved3;

    /* lifetime totals, for liability and the conservation invariant:
     * earned == outstanding + redeemed + expired + reversed (debt repaid counts as
     * reversed when it is repaid; outstanding debt is not in any of them). */
    int64_t total_earned;
    int64_t total_redeemed;
    int64_t total_expired;
    int64_t total_reversed;

    /* version 2: event time. While the open period (period_start) is within its grace,
     * purchases of the period after it add to next_accum; closed[] holds the closed
     * periods late events may still correct, oldest first. closed_floor: month index
     * below which a period can no longer be corrected (its record was dropped), 0 = none. */
    int64_t next_accum;
    uint32_t n_closed;
    int32_t closed_floor;
    eng_period_rec_t closed[ENG_CLOSED_MAX];

    /* customer attributes (version 3), remembered from the events that carry them; an
     * event that carries a value replaces the remembered one. An older state gets
     * joined_at from what it records (eng_state_upgrade). */
    int64_t joined_at;                 /* ms: member_since, else the first event's time */
    int32_t birth_month;               /* 1..12, 0 = unknown */
    int32_t birth_day;                 /* 1..31, 0 = unknown */
    char account_status[ENG_NAME_MAX]; /* "" = none */
} eng_state_t;

#endif
