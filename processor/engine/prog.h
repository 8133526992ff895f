/*
 * prog: a retailer's loyalty program, loaded from a YAML program file.
 *
 * The one idea: the file is parsed once into prog_t, a plain read-only struct of numbers
 * (rates in basis points, multipliers in permille, money in minor units) plus the loaded
 * time zone; the engine only ever reads it. Every key of the file is described by one
 * row of a table in prog.c, which parses, checks and rejects unknown keys; every error
 * names file:line:column and the field (e.g. "p.yaml:12:5: expiry.mode: ...").
 * docs/PROGRAMS.md is the reference of the file format.
 */
#ifndef LS_PROG_H
#define LS_PROG_H

#include "eng_types.h"
#include "tz.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROG_TIERS_MAX     16
#define PROG_BANDS_MAX     16
#define PROG_MAP_MAX       64 /* partners, category multipliers, status multipliers */
#define PROG_CATS_MAX      32 /* excluded categories */
#define PROG_WARNINGS_MAX  8
#define PROG_STAMP_CARDS   4 /* == ENG_STAMPS_MAX */
#define PROG_TENURE_MAX    8
#define PROG_WARN_TEXT_MAX 2048

/* late_events: a period closes grace_minutes after its end; an event more than
 * max_lateness_days older than the clock is dead-lettered (too_late). The grace stays
 * below the shortest period, and the lateness within what eng_state_t's closed-period
 * records (ENG_CLOSED_MAX) can correct. */
#define PROG_GRACE_MINUTES_DEFAULT     60
#define PROG_GRACE_MINUTES_MAX         10080 /* 7 days */
#define PROG_MAX_LATENESS_DAYS_DEFAULT 35
#define PROG_MAX_LATENESS_DAYS_MAX     92

typedef enum {
    PROG_METRIC_SPEND = 0,
    PROG_METRIC_QUANTITY,
    PROG_METRIC_PURCHASES,
    PROG_METRIC_VISITS, /* distinct local days with a purchase */
} prog_metric_t;
typedef enum {
    PROG_WIN_CALENDAR_MONTH = 0,
    PROG_WIN_PREVIOUS_CALENDAR_MONTH,
    PROG_WIN_ROLLING_DAYS,
    PROG_WIN_CALENDAR_YEAR,
    PROG_WIN_LIFETIME,
} prog_window_t;
typedef enum { PROG_PERIOD_MONTH = 0, PROG_PERIOD_YEAR } prog_period_t;
typedef enum {
    PROG_DEMOTE_NEVER = 0,
    PROG_DEMOTE_PERIOD_END,
    PROG_DEMOTE_INACTIVITY,
    PROG_DEMOTE_RESET_EACH_PERIOD, /* the tier counts within its period; entry tier at the next */
} prog_demote_t;
typedef enum {
    PROG_EXPIRY_NEVER = 0,
    PROG_EXPIRY_AFTER_DAYS,
    PROG_EXPIRY_END_OF_NEXT_MONTH,
    PROG_EXPIRY_AFTER_MONTHS, /* calendar months later, same local time (day clamped) */
} prog_expiry_t;
typedef enum { PROG_USABLE_AT_ONCE = 0, PROG_USABLE_NEXT_VISIT } prog_usable_t;
typedef enum { PROG_RETURNS_NEVER_BELOW_ZERO = 0, PROG_RETURNS_DEBT } prog_returns_t;
typedef enum { PROG_REWARD_FREE_ITEM = 0, PROG_REWARD_POINTS } prog_reward_t;
typedef enum { PROG_OVER_SHARE_REJECT = 0, PROG_OVER_SHARE_REDEEM_ALLOWED } prog_over_share_t;

/** A band: from `from` (metric units) on, the rate applies. Bands ascend by from. */
typedef struct prog_band {
    int64_t from;
    int32_t rate_bp;
} prog_band_t;

typedef struct prog_tier {
    char name[ENG_NAME_MAX];
    int64_t threshold;      /* qualifying metric needed */
    int32_t earn_bp;        /* earn_percent in bp; -1 = not set (use earning rates) */
    int32_t earn_permille;  /* earn_multiplier x 1000 (1000 = none) */
    int32_t discount_bp;    /* discount_percent in bp (informational) */
    int32_t stamp_permille; /* stamp_multiplier x 1000 (1000 = one stamp per unit) */
} prog_tier_t;

typedef struct prog_kv {
    char key[ENG_ID_MAX];
    int32_t value; /* bp or permille, by table */
} prog_kv_t;

typedef struct prog_catset {
    uint32_t n;
    char v[PROG_CATS_MAX][ENG_NAME_MAX];
    bool on_sale; /* exclude lines flagged on_sale */
} prog_catset_t;

typedef struct prog_stamp_card {
    char category[ENG_NAME_MAX];
    int32_t every;
    prog_reward_t reward;
    int64_t points;          /* reward points when reward is points */
    char item[ENG_NAME_MAX]; /* announced reward name when free_item ("free_item") */
    int32_t free;            /* free items per reward (`free`, default 1) */
} prog_stamp_card_t;

#define PROG_BASKET_MAX 4

/** A basket bonus: a purchase with a line of every listed category earns it, once. */
typedef struct prog_basket {
    uint32_t n;
    char categories[PROG_STAMP_CARDS][ENG_NAME_MAX]; /* all must be in the purchase */
    int64_t min_purchase;                            /* gross amount needed, minor units */
    int64_t points;                                  /* 0 = none */
    char item[ENG_NAME_MAX];                         /* "" = no free item */
} prog_basket_t;

typedef struct prog {
    char name[64];
    char file[256];
    char currency[ENG_CURRENCY_MAX];
    int32_t minor_units; /* decimals of the currency (RUB 2) */
    int64_t point_value; /* minor units one point is worth (default 10^minor_units) */
    char timezone[64];
    tz_t *tz;

    /* qualification */
    prog_metric_t q_metric;
    prog_window_t q_window;
    int32_t q_days;       /* rolling_days N */
    bool upper_inclusive; /* bands: false = lower-inclusive (value >= from) */

    uint32_t n_tiers;
    prog_tier_t tiers[PROG_TIERS_MAX];

    /* earning per purchase */
    int32_t base_bp;
    int64_t min_purchase; /* earn-eligible amount needed to earn, minor units */
    prog_usable_t usable;
    uint32_t n_partners;
    prog_kv_t partners[PROG_MAP_MAX]; /* partner -> bp (replaces base) */
    uint32_t n_check_bands;
    prog_band_t check_bands[PROG_BANDS_MAX]; /* check amount -> bp (replaces base) */
    uint32_t n_marginal;
    prog_band_t marginal[PROG_BANDS_MAX]; /* qualifying-metric position -> bp, per unit */
    uint32_t n_cat_mult;
    prog_kv_t cat_mult[PROG_MAP_MAX]; /* category -> permille */
    prog_catset_t earn_excl;

    /* per-period award */
    bool has_award;
    prog_period_t award_period;
    bool award_upper_inclusive;
    uint32_t n_award_bands;
    prog_band_t award_bands[PROG_BANDS_MAX];

    /* redeeming */
    prog_catset_t redeem_excl;
    int32_t max_share_bp; /* 10000 = the whole eligible basket */

    /* demotion */
    prog_demote_t demote;
    prog_period_t demote_period; /* at_period_end and inactivity with calendar periods */
    int32_t inactivity_days;     /* inactivity by days (0 = by calendar month) */
    int32_t grace_days;
    uint32_t n_demote_warn;
    int32_t demote_warn_days[PROG_WARNINGS_MAX];

    /* expiry */
    prog_expiry_t expiry;
    int32_t expiry_days;
    uint32_t n_warn;
    int32_t warn_days[PROG_WARNINGS_MAX]; /* descending */

    uint32_t n_stamps;
    prog_stamp_card_t stamps[PROG_STAMP_CARDS];

    /* birthday, tenure, attributes */
    int32_t birthday_bp; /* 0 = no birthday extra */
    int64_t birthday_min_purchase;
    uint32_t n_tenure;
    struct {
        int32_t years;
        int32_t permille;
        int32_t months; /* full months since joining (years x 12 when given in years) */
    } tenure[PROG_TENURE_MAX];
    uint32_t n_status_mult;
    prog_kv_t status_mult[PROG_MAP_MAX];

    prog_returns_t returns;

    /* nudges */
    bool progress;           /* emit TierProgress after a purchase ... */
    int64_t progress_within; /* ... when the missing amount is at most this (0 = always) */

    /* late events (docs/PROGRAMS.md, "Late events") */
    int64_t late_grace_ms; /* a period closes this long after its end (late_events.grace_minutes) */
    int64_t max_lateness_ms; /* older events are dead-lettered too_late (max_lateness_days) */
    /* What the loader found suspicious but valid (a percentage below 0.1, no point_value,
     * minor units unlike ISO 4217's): lines "file:line:col: field: warning: ...",
     * separated by '\n'; check-program prints them, `run` logs them. */
    uint32_t n_warnings;
    char warnings[PROG_WARN_TEXT_MAX];
    /* welcome period: from joining, welcome_days days or welcome_months calendar months */
    int32_t welcome_days;
    int32_t welcome_months;
    int32_t welcome_bp;           /* earning rate during it (when higher than the rate otherwise) */
    int32_t expiry_months;        /* N of after_months */
    prog_over_share_t over_share; /* redeeming.over_max_share */
    char birthday_item[ENG_NAME_MAX]; /* birthday free item, "" = none */
    uint32_t n_basket;
    prog_basket_t basket[PROG_BASKET_MAX];
} prog_t;

/**
 * @brief Load and check a program file.
 * @param zonedir directory of TZif files, NULL = the system's.
 * @return a new program (caller frees with prog_destroy), or NULL with err filled:
 * one or more lines "file:line:col: field: what is wrong", separated by '\n'.
 */
prog_t *prog_load(const char *path, const char *zonedir, char *err, size_t errlen);
/** @brief As prog_load, from a string; `name` stands for the file in errors. */
prog_t *prog_load_string(const char *yaml, const char *name, const char *zonedir, char *err,
                         size_t errlen);
void prog_destroy(prog_t *prog);
/** @brief Index of the tier a qualifying value reaches (bands as the program says). */
int32_t prog_tier_for(const prog_t *prog, int64_t value);
/** @brief Rate of the band `value` falls in (bands ascending), upper_inclusive as said. */
int32_t prog_band_rate(const prog_band_t *bands, uint32_t n, int64_t value, bool upper_inclusive);

#endif
