/*
 * report: what `replay` learns month by month, and the HTML report it writes with
 * `replay --report FILE.html`.
 *
 * The one idea: the history is built from the customer states before and after each engine
 * call (their running totals, balance and tier), not from the outputs, so its sums are the
 * summary's totals by construction (debt repaid from new points counts as reversed, as in
 * the state, though no output says so). Flows (points issued, redeemed, expired, reversed)
 * go to the local calendar month of the call's time; stocks (outstanding points,
 * customers per tier) are the values at the end of each month as stream time saw them.
 * The HTML file is self-contained: inline SVG drawn here, inline CSS, a few lines of
 * inline script that only add hover read-outs; it loads nothing from the network.
 */
#ifndef LS_REPORT_H
#define LS_REPORT_H

#include "eng_state.h"
#include "eng_types.h"
#include "prog.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** What the history needs of a customer state, taken before and after a call. */
typedef struct rep_snap {
    bool init;
    int32_t tier;
    int64_t earned, redeemed, expired, reversed, balance;
} rep_snap_t;

/** One local calendar month of the history. */
typedef struct rep_month {
    int32_t month;                               /* tz month index: year * 12 + month - 1 */
    int64_t issued, redeemed, expired, reversed; /* points moved in the month */
    int64_t rewards;                   /* RewardEarned (free items) granted in the month */
    int64_t redeemed_value;            /* money paid with points in the month, minor units */
    int64_t outstanding;               /* points outstanding at the month's end */
    uint64_t customers;                /* customers at the month's end */
    uint64_t per_tier[PROG_TIERS_MAX]; /* customers per tier at the month's end */
} rep_month_t;

/** A program's monthly history (owned by the caller; rep_hist_free releases the months). */
typedef struct rep_hist {
    const prog_t *p;
    rep_month_t *m; /* consecutive months m[0].month, m[0].month + 1, ... */
    size_t n, cap;
    int64_t outstanding; /* running values, copied into the newest month */
    uint64_t customers;
    uint64_t per_tier[PROG_TIERS_MAX];
} rep_hist_t;

/** The totals a summary prints (replay's text summary and the report's table). */
typedef struct rep_totals {
    uint64_t customers;
    uint64_t per_tier[PROG_TIERS_MAX];
    int64_t earned, redeemed, expired, reversed, outstanding, debt;
    uint64_t outputs_by_kind[ENG_OUT_KIND_COUNT];
} rep_totals_t;

/** One program of the report: its label ("program", "what-if"), history and totals. */
typedef struct rep_side {
    const char *label;
    const prog_t *p;
    const rep_hist_t *h;
    const rep_totals_t *t;
} rep_side_t;

/** A customer whose final tier differs between the two programs (tier indexes). */
typedef struct rep_tierdiff {
    char customer[ENG_ID_MAX];
    int32_t a, b;
} rep_tierdiff_t;

/** @brief Fill @p out from a state (a zeroed state: init false). */
void rep_snap_of(const eng_state_t *s, rep_snap_t *out);

void rep_hist_init(rep_hist_t *h, const prog_t *p);
void rep_hist_free(rep_hist_t *h);
/**
 * @brief Account one engine call at time @p t (event time, or the due time of a timer)
 * that changed a state from @p before to @p after.
 * @return 0, or -1 when out of memory.
 */
int rep_hist_call(rep_hist_t *h, int64_t t, const rep_snap_t *before, const rep_snap_t *after);
/** @brief Account an output (rewards granted, money redeemed). @return 0 or -1 (memory). */
int rep_hist_output(rep_hist_t *h, const eng_output_t *o);

/**
 * @brief Write the HTML report: one self-contained file.
 * @param sides one program, or two (the second is the what-if, drawn dashed).
 * @param diffs customers whose final tier differs (two sides only), sorted by the caller.
 * @return 0, or -1 with err filled (the file named).
 */
int rep_write_html(const char *path, const char *input, const rep_side_t *sides, int nsides,
                   const rep_tierdiff_t *diffs, size_t ndiffs, char *err, size_t errlen);

#endif
