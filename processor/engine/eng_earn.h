/*
 * eng_earn: what a purchase earns (per-purchase points, marginal bands, the birthday extra)
 * and the line tests it shares with returns and redemptions; internal to the engine.
 *
 * The one idea: earning is computed from the program, the tier held BEFORE the purchase
 * and the qualifying position before it, and changes nothing: eng.c then credits the lots,
 * emits and moves the tier. Points are floored once per purchase and per source
 * (floor_points); a line's marginal points once per line.
 */
#ifndef LS_ENG_EARN_H
#define LS_ENG_EARN_H

#include "eng.h"
#include "eng_int.h"

#include <stdint.h>

/** What one purchase earns (eng_earn_compute). */
typedef struct eng_earn {
    int64_t gross, eligible, units;
    int64_t points, marginal_points, birthday_points;
    int32_t rate_bp;
    bool birthday;         /* the birthday's first qualifying purchase this local year */
    int64_t basket_points; /* basket bonuses (eng_earn_basket) */
    uint32_t basket_hits;  /* bit i: the program's basket bonus i applies */
} eng_earn_t;

/** @brief 1 if line l is in the category set (a listed category, or on sale when the set says so).
 */
static inline int eng_earn_in_set(const prog_catset_t *set, const eng_line_t *l)
{
    if (set->on_sale && l->on_sale)
        return 1;
    for (uint32_t i = 0; i < set->n; i++)
        if (name_eq(set->v[i], l->category))
            return 1;
    return 0;
}

/** @brief 1 if local time t is the customer's birthday (the birth date remembered in s);
 * *year = t's local year. */
int eng_earn_is_birthday(const prog_t *p, const eng_state_t *s, int64_t t, int32_t *year);

/** @brief 1 if t is in the customer's welcome period (from s->joined_at). */
int eng_earn_in_welcome(const prog_t *p, const eng_state_t *s, int64_t t);

/**
 * @brief Fill r with what purchase ev earns for state s (tier before the purchase) when the
 * qualifying metric stands at qpos before it. Reads only. The customer's attributes (join
 * date, birth date, account status) are those remembered in s, the event's included.
 */
void eng_earn_compute(const prog_t *p, const eng_state_t *s, const eng_event_t *ev, int64_t qpos,
                      eng_earn_t *r);

#endif
