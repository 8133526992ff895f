/* Property tests of the engine over seeded random event streams: points conservation
 * (earned = outstanding + redeemed + expired + reversed, debt accounted), no negative
 * balance and no debt unless the policy allows it, idempotency under re-delivered events,
 * byte-identical determinism, and independence from when timers are fired. */
#include "test_eng_util.h"

#define N_CUST   24
#define N_EVENTS 6000

static const char *const PROG_BASE =
    "currency: RUB\ntimezone: America/New_York\n"
    "qualification: {metric: spend, window: rolling_days, days: 120}\n"
    "tiers: [{name: A, threshold: 0}, {name: B, threshold: 3000, earn_multiplier: 1.5}, "
    "{name: C, threshold: 9000, earn_percent: 12}]\n"
    "earning: {base_percent: 7.5, usable: next_visit, category_multipliers: {services: 2}, "
    "exclude: {categories: [consumables], on_sale: true}}\n"
    "period_award: {rates: [{from: 0, percent: 1}, {from: 2000, percent: 3}]}\n"
    "redeeming: {exclude: {categories: [consumables]}, max_share_percent: 50}\n"
    "demotion: {mode: inactivity, warning_days: [7, 2]}\n"
    "expiry: {mode: end_of_next_month, warning_days: [30, 7, 1]}\n"
    "stamps: [{category: lenses, every: 4, reward: points, points: 50}, {category: food, "
    "every: 3}]\n"
    "birthday: {extra_percent: 5}\n"
    "nudges: {progress: true}\n";

/* A second program through other paths: calendar-month tiers moved at period end with
 * downgrade warnings, days-based expiry, marginal bands, partner-free check bands. */
static const char *const PROG_ALT =
    "currency: RUB\ntimezone: Asia/Tehran\n"
    "qualification: {metric: quantity, window: previous_calendar_month, bands: upper_inclusive}\n"
    "tiers: [{name: A, threshold: 0}, {name: B, threshold: 10, earn_percent: 4}, "
    "{name: C, threshold: 30, earn_multiplier: 2}]\n"
    "earning: {check_bands: [{from: 0, percent: 1}, {from: 2000, percent: 3}], "
    "marginal_bands: [{from: 0, percent: 0}, {from: 5, percent: 2}]}\n"
    "demotion: {mode: at_period_end, warning_days: [10, 3]}\n"
    "expiry: {mode: after_days, days: 45, warning_days: [14, 2]}\n"
    "stamps: [{category: dress, every: 5, reward: points, points: 30}]\n";

/* A third program through the newer paths: visits within the calendar year, tiers reset at
 * each year's start, a welcome period and tenure in months (join dates and statuses
 * remembered in the state), calendar-month expiry, the allowed part of an over-share
 * redemption, buy/free stamp cards doubled for a tier, a birthday item and basket bonuses. */
static const char *const PROG_NEW =
    "currency: RUB\ntimezone: Europe/Berlin\n"
    "qualification: {metric: visits, window: calendar_year}\n"
    "tiers: [{name: A, threshold: 0}, {name: B, threshold: 12, earn_percent: 6, "
    "stamp_multiplier: 2}, {name: C, threshold: 40, earn_multiplier: 1.5}]\n"
    "earning: {base_percent: 3}\n"
    "welcome: {months: 2, earn_percent: 9}\n"
    "tenure: [{months: 3, multiplier: 1.1}, {years: 1, multiplier: 1.2}]\n"
    "status_multipliers: {vip: 2}\n"
    "redeeming: {max_share_percent: 40, over_max_share: redeem_allowed}\n"
    "demotion: {mode: reset_each_period}\n"
    "expiry: {mode: after_months, months: 2, warning_days: [10]}\n"
    "stamps: [{category: food, buy: 5, free: 2}, {category: lenses, buy: 3, reward: points, "
    "points: 40}]\n"
    "birthday: {extra_percent: 5, item: cake}\n"
    "basket_bonus: [{categories: [lenses, services], points: 25, item: case}, "
    "{categories: [dress], minimum_purchase: 2000, points: 10}]\n"
    "nudges: {progress: true}\n";

typedef struct rng {
    uint64_t s;
} rng_t;

static uint64_t rnd(rng_t *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

static eng_event_t *gen_stream(uint64_t seed, int n)
{
    static const char *const cats[] = {"food", "services", "consumables", "lenses", "dress"};
    eng_event_t *v = calloc((size_t)n, sizeof(*v));
    rng_t r = {seed * 2654435761u + 1};
    int64_t t = tp_t("2025-01-01T00:00:00Z");
    for (int i = 0; i < n; i++) {
        eng_event_t *e = &v[i];
        t += (int64_t)(rnd(&r) % (6 * 3600 * 1000));
        int c = (int)(rnd(&r) % N_CUST);
        int k = (int)(rnd(&r) % 10);
        e->kind = k < 7 ? ENG_EV_PURCHASE : k < 8 ? ENG_EV_RETURN : ENG_EV_REDEMPTION;
        snprintf(e->event_id, sizeof(e->event_id), "e%d", i);
        snprintf(e->customer_id, sizeof(e->customer_id), "cust-%02d", c);
        e->time_ms = t;
        if (e->kind == ENG_EV_RETURN) {
            /* refer to a recent purchase of the same customer, if any */
            for (int j = i - 1; j >= 0 && j > i - 400; j--)
                if (v[j].kind == ENG_EV_PURCHASE && !strcmp(v[j].customer_id, e->customer_id)) {
                    snprintf(e->original_event_id, ENG_ID_MAX, "%s", v[j].event_id);
                    e->lines[0] = v[j].lines[rnd(&r) % v[j].n_lines];
                    e->n_lines = 1;
                    break;
                }
            if (!e->n_lines) {
                snprintf(e->original_event_id, ENG_ID_MAX, "nothing");
                tp_line(e, "food", 1, 100, false);
            }
            continue;
        }
        if (e->kind == ENG_EV_REDEMPTION)
            e->points = (int64_t)(rnd(&r) % 400) + 1;
        int lines = 1 + (int)(rnd(&r) % 4);
        for (int l = 0; l < lines; l++)
            tp_line(e, cats[rnd(&r) % 5], 1 + (int32_t)(rnd(&r) % 3), (int64_t)(rnd(&r) % 500000),
                    rnd(&r) % 7 == 0);
        if (c % 5 == 0) {
            e->attrs.has_birth_date = true;
            e->attrs.birth_month = 1 + c % 12;
            e->attrs.birth_day = 1 + (int32_t)(rnd(&r) % 2) * 27;
        }
        /* attributes on some events only: the state must remember them */
        if (c % 3 == 0 && rnd(&r) % 4 == 0) {
            e->attrs.has_member_since = true;
            e->attrs.member_since = t - (int64_t)(rnd(&r) % 400) * 86400000LL;
        }
        if (c % 4 == 0 && rnd(&r) % 5 == 0)
            snprintf(e->attrs.account_status, ENG_NAME_MAX, "%s", rnd(&r) % 2 ? "vip" : "basic");
    }
    return v;
}

typedef struct world {
    const prog_t *p;
    eng_state_t st[N_CUST];
    char *buf[N_CUST];
    size_t len[N_CUST];
    FILE *out[N_CUST];
    ob_t o;
} world_t;

static world_t *world_new(const prog_t *p)
{
    world_t *w = calloc(1, sizeof(*w));
    w->p = p;
    for (int i = 0; i < N_CUST; i++)
        w->out[i] = open_memstream(&w->buf[i], &w->len[i]);
    return w;
}

static void world_free(world_t *w)
{
    for (int i = 0; i < N_CUST; i++) {
        if (w->out[i])
            fclose(w->out[i]);
        free(w->buf[i]);
    }
    free(w);
}

static void world_close(world_t *w)
{
    for (int i = 0; i < N_CUST; i++) {
        fclose(w->out[i]);
        w->out[i] = NULL;
    }
}

static void drain(world_t *w, int c)
{
    for (uint32_t i = 0; i < w->o.b.n; i++) {
        json_t *j = eng_json_output(&w->o.v[i]);
        char *line = eng_json_line(j);
        fputs(line, w->out[c]);
        free(line);
        json_decref(j);
    }
    w->o.b.n = 0;
}

static void check_invariants(const world_t *w, int c, bool debt_allowed)
{
    const eng_state_t *s = &w->st[c];
    for (uint32_t i = 0; i < s->n_lots; i++)
        assert_true(s->lots[i].remaining > 0 && s->lots[i].remaining <= s->lots[i].amount);
    assert_true(s->debt >= 0);
    if (!debt_allowed)
        assert_int_equal(s->debt, 0);
    assert_int_equal(s->total_earned,
                     eng_balance(s) + s->total_redeemed + s->total_expired + s->total_reversed);
}

/* Runs the stream; extra_ticks: also fire timers at random moments between events. */
static void run(world_t *w, const eng_event_t *v, int n, uint64_t tick_seed, bool debt)
{
    rng_t r = {tick_seed | 1};
    char err[256];
    int64_t last = 0;
    for (int i = 0; i < n; i++) {
        int c = atoi(v[i].customer_id + 5);
        ob_reset(&w->o);
        if (tick_seed && last &&
            rnd(&r) % 3 == 0) { /* a timer call at an arbitrary earlier moment */
            int64_t at = last + (int64_t)(rnd(&r) % (uint64_t)(v[i].time_ms - last + 1));
            int d = (int)(rnd(&r) % N_CUST);
            if (w->st[d].flags & 1) {
                eng_on_timer(w->p, &w->st[d], at, &w->o.b);
                drain(w, d);
            }
        }
        if (w->st[c].flags & 1)
            eng_on_timer(w->p, &w->st[c], v[i].time_ms, &w->o.b);
        int rc = eng_apply_event(w->p, &w->st[c], &v[i], &w->o.b, err, sizeof(err));
        if (rc < 0)
            fail_msg("event %d: %s", i, err);
        drain(w, c);
        check_invariants(w, c, debt);
        last = v[i].time_ms;
    }
    for (int c = 0; c < N_CUST; c++) {
        ob_reset(&w->o);
        eng_on_timer(w->p, &w->st[c], last, &w->o.b);
        drain(w, c);
        check_invariants(w, c, debt);
    }
    world_close(w);
}

static prog_t *props_prog_of(const char *base, bool debt)
{
    char y[4096];
    snprintf(y, sizeof(y), "%sreturns: {policy: %s}\n", base, debt ? "debt" : "never_below_zero");
    return tp_prog(y);
}

static void test_conservation_and_no_negative_balance_over_random_streams(void **st)
{
    (void)st;
    for (int pol = 0; pol < 6; pol++) {
        prog_t *p = props_prog_of(pol < 2   ? PROG_BASE
                                  : pol < 4 ? PROG_ALT
                                            : PROG_NEW,
                                  pol % 2 == 1);
        for (uint64_t seed = 1; seed <= 3; seed++) {
            eng_event_t *v = gen_stream(seed, N_EVENTS);
            world_t *w = world_new(p);
            run(w, v, N_EVENTS, 0, pol % 2 == 1);
            int64_t earned = 0, expired = 0, redeemed = 0;
            for (int c = 0; c < N_CUST; c++) {
                earned += w->st[c].total_earned;
                expired += w->st[c].total_expired;
                redeemed += w->st[c].total_redeemed;
            }
            assert_true(earned > 0 && expired > 0 && redeemed > 0); /* the stream exercises them */
            world_free(w);
            free(v);
        }
        prog_destroy(p);
    }
}

static void same_stream_twice(const char *base)
{
    prog_t *p = props_prog_of(base, true);
    eng_event_t *v = gen_stream(7, N_EVENTS);
    world_t *a = world_new(p), *b = world_new(p);
    run(a, v, N_EVENTS, 0, true);
    run(b, v, N_EVENTS, 0, true);
    for (int c = 0; c < N_CUST; c++) {
        assert_int_equal(a->len[c], b->len[c]);
        assert_memory_equal(a->buf[c], b->buf[c], a->len[c]);
        assert_memory_equal(&a->st[c], &b->st[c], sizeof(eng_state_t));
    }
    world_free(a);
    world_free(b);
    free(v);
    prog_destroy(p);
}

static void test_same_stream_twice_gives_byte_identical_outputs_and_states(void **st)
{
    (void)st;
    same_stream_twice(PROG_BASE);
    same_stream_twice(PROG_NEW);
}

static void redelivered(const char *base)
{
    prog_t *p = props_prog_of(base, false);
    eng_event_t *v = gen_stream(11, N_EVENTS);
    /* re-deliver ~20% of events a little later (within the idempotency window) */
    eng_event_t *d = calloc(N_EVENTS * 2, sizeof(*d));
    int n = 0;
    rng_t r = {99};
    for (int i = 0; i < N_EVENTS; i++) {
        d[n++] = v[i];
        if (rnd(&r) % 5 == 0 && i + 1 < N_EVENTS) {
            d[n] = v[i];
            d[n].time_ms = v[i + 1].time_ms; /* arrives again with the next one */
            n++;
        }
    }
    world_t *a = world_new(p), *b = world_new(p);
    run(a, v, N_EVENTS, 0, false);
    run(b, d, n, 0, false);
    for (int c = 0; c < N_CUST; c++) {
        assert_int_equal(a->len[c], b->len[c]);
        assert_memory_equal(a->buf[c], b->buf[c], a->len[c]);
    }
    world_free(a);
    world_free(b);
    free(d);
    free(v);
    prog_destroy(p);
}

static void test_redelivered_events_give_the_same_outputs_as_without(void **st)
{
    (void)st;
    redelivered(PROG_BASE);
    redelivered(PROG_NEW);
}

static void timers_independent(const char *base)
{
    prog_t *p = props_prog_of(base, true);
    eng_event_t *v = gen_stream(5, N_EVENTS);
    world_t *a = world_new(p), *b = world_new(p);
    run(a, v, N_EVENTS, 0, true);
    run(b, v, N_EVENTS, 12345, true);
    for (int c = 0; c < N_CUST; c++) {
        assert_int_equal(a->len[c], b->len[c]);
        assert_memory_equal(a->buf[c], b->buf[c], a->len[c]);
        assert_memory_equal(&a->st[c], &b->st[c], sizeof(eng_state_t));
    }
    world_free(a);
    world_free(b);
    free(v);
    prog_destroy(p);
}

/* Per-period award totals of one customer's outputs: BonusEarned of source "period" (the
 * award at the close and corrections) minus PointsReversed "period_correction", by period.
 * Returns how many periods were seen; names and sums in the arrays. */
#define PERIODS_MAX 64
static int period_totals(const char *buf, size_t len, char names[][8], int64_t *sums)
{
    int n = 0;
    const char *line = buf, *end = buf + len;
    while (line < end) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t l = nl ? (size_t)(nl - line) : (size_t)(end - line);
        json_t *j = json_loadb(line, l, 0, NULL);
        assert_non_null(j);
        const char *type = json_string_value(json_object_get(j, "type"));
        const char *period = json_string_value(json_object_get(j, "period"));
        int64_t pts = json_integer_value(json_object_get(j, "points")), sign = 0;
        if (period && !strcmp(type, "BonusEarned"))
            sign = 1;
        else if (period && !strcmp(type, "PointsReversed"))
            sign = -1;
        if (sign) {
            int k = 0;
            while (k < n && strcmp(names[k], period) != 0)
                k++;
            if (k == n) {
                assert_true(n < PERIODS_MAX);
                snprintf(names[n], 8, "%s", period);
                sums[n++] = 0;
            }
            sums[k] += sign * pts;
        }
        json_decref(j);
        line += l + 1;
    }
    return n;
}

/* Delays ~15% of the purchases (those no return refers to) by up to 36 hours of stream
 * time: each arrives after the events of that time, as from a slow till. */
static int delay_purchases(const eng_event_t *v, int n, eng_event_t *d, int64_t *arrive)
{
    rng_t r = {4242};
    int64_t *at = calloc((size_t)n, sizeof(*at));
    int *order = calloc((size_t)n, sizeof(*order));
    for (int i = 0; i < n; i++) {
        bool returned = false;
        for (int j = i + 1; j < n && j < i + 400 && v[i].kind == ENG_EV_PURCHASE; j++)
            returned |=
                v[j].kind == ENG_EV_RETURN && !strcmp(v[j].original_event_id, v[i].event_id);
        at[i] = v[i].time_ms;
        if (v[i].kind == ENG_EV_PURCHASE && !returned && rnd(&r) % 7 == 0)
            at[i] += (int64_t)(rnd(&r) % (36ull * 3600 * 1000));
        order[i] = i;
    }
    for (int i = 1; i < n; i++) { /* stable insertion sort by arrival */
        int k = order[i], j = i;
        while (j > 0 && at[order[j - 1]] > at[k]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = k;
    }
    for (int i = 0; i < n; i++) {
        d[i] = v[order[i]];
        arrive[i] = at[order[i]];
    }
    free(at);
    free(order);
    return n;
}

/* As run(), with a caller's clock: the stream time of arrival (the greatest arrival time so
 * far), as the pipeline's task clock; a late event meets a clock past its own time. */
static void run_clocked(world_t *w, const eng_event_t *v, const int64_t *arrive, int n)
{
    char err[256];
    int64_t clock = 0;
    for (int i = 0; i < n; i++) {
        int c = atoi(v[i].customer_id + 5);
        ob_reset(&w->o);
        clock = arrive[i] > clock ? arrive[i] : clock;
        if (w->st[c].flags & 1)
            eng_on_timer(w->p, &w->st[c], clock, &w->o.b);
        int rc = eng_apply_event(w->p, &w->st[c], &v[i], &w->o.b, err, sizeof(err));
        if (rc < 0)
            fail_msg("event %d: %s", i, err);
        drain(w, c);
        check_invariants(w, c, false);
    }
    for (int c = 0; c < N_CUST; c++) { /* close every period */
        ob_reset(&w->o);
        eng_on_timer(w->p, &w->st[c], clock + 400 * ENG_DAY_MS, &w->o.b);
        drain(w, c);
        check_invariants(w, c, false);
    }
    world_close(w);
}

static void test_late_events_leave_every_period_award_as_if_on_time(void **st)
{
    (void)st;
    prog_t *p = props_prog_of(PROG_BASE, false);
    eng_event_t *v = gen_stream(21, N_EVENTS), *d = calloc(N_EVENTS, sizeof(*d));
    int64_t *on_time = calloc(N_EVENTS, sizeof(int64_t)), *late = calloc(N_EVENTS, sizeof(int64_t));
    for (int i = 0; i < N_EVENTS; i++)
        on_time[i] = v[i].time_ms;
    delay_purchases(v, N_EVENTS, d, late);
    int moved = 0;
    for (int i = 0; i < N_EVENTS; i++)
        moved += strcmp(d[i].event_id, v[i].event_id) != 0;
    assert_true(moved > N_EVENTS / 20); /* the stream really is out of order */
    world_t *a = world_new(p), *b = world_new(p);
    run_clocked(a, v, on_time, N_EVENTS);
    run_clocked(b, d, late, N_EVENTS);
    int corrections = 0;
    for (int c = 0; c < N_CUST; c++) {
        char na[PERIODS_MAX][8], nb[PERIODS_MAX][8];
        int64_t sa[PERIODS_MAX], sb[PERIODS_MAX];
        int ka = period_totals(a->buf[c], a->len[c], na, sa);
        int kb = period_totals(b->buf[c], b->len[c], nb, sb);
        for (int i = 0; i < ka; i++) {
            int j = 0;
            while (j < kb && strcmp(na[i], nb[j]) != 0)
                j++;
            int64_t other = j < kb ? sb[j] : 0;
            if (sa[i] != other)
                fail_msg("customer %d period %s: on time %lld, late %lld", c, na[i],
                         (long long)sa[i], (long long)other);
        }
        for (int j = 0; j < kb; j++) { /* no period only the late run paid */
            int i = 0;
            while (i < ka && strcmp(na[i], nb[j]) != 0)
                i++;
            if (i == ka)
                assert_int_equal(sb[j], 0);
        }
        corrections += strstr(b->buf[c], "\"correction\":true") != NULL;
    }
    assert_true(corrections > 0); /* some arrived after their period closed */
    world_free(a);
    world_free(b);
    free(on_time);
    free(late);
    free(d);
    free(v);
    prog_destroy(p);
}

static void test_a_late_event_delivered_twice_corrects_once(void **st)
{
    (void)st;
    prog_t *p = props_prog_of(PROG_BASE, false);
    eng_event_t *v = gen_stream(21, N_EVENTS), *d = calloc(N_EVENTS, sizeof(*d));
    eng_event_t *dd = calloc(N_EVENTS * 2, sizeof(*dd));
    int64_t *late = calloc(N_EVENTS, sizeof(int64_t)),
            *late2 = calloc(N_EVENTS * 2, sizeof(int64_t));
    delay_purchases(v, N_EVENTS, d, late);
    int n = 0;
    for (int i = 0; i < N_EVENTS; i++) { /* every late event arrives twice */
        dd[n] = d[i];
        late2[n++] = late[i];
        if (late[i] != d[i].time_ms) {
            dd[n] = d[i];
            late2[n++] = late[i];
        }
    }
    world_t *a = world_new(p), *b = world_new(p);
    run_clocked(a, d, late, N_EVENTS);
    run_clocked(b, dd, late2, n);
    for (int c = 0; c < N_CUST; c++) {
        assert_int_equal(a->len[c], b->len[c]);
        assert_memory_equal(a->buf[c], b->buf[c], a->len[c]);
    }
    world_free(a);
    world_free(b);
    free(late);
    free(late2);
    free(dd);
    free(d);
    free(v);
    prog_destroy(p);
}

static void test_outputs_do_not_depend_on_when_timers_are_fired(void **st)
{
    (void)st;
    timers_independent(PROG_BASE);
    timers_independent(PROG_ALT);
    timers_independent(PROG_NEW);
}

/* The new paths really run in the random streams (else the properties above say nothing
 * about them): attributes remembered, visits counted once a day, tiers reset, rewards of
 * every source, capped redemptions. */
static void test_the_newer_program_paths_are_exercised(void **st)
{
    (void)st;
    prog_t *p = props_prog_of(PROG_NEW, false);
    eng_event_t *v = gen_stream(3, N_EVENTS);
    world_t *w = world_new(p);
    run(w, v, N_EVENTS, 0, false);
    int statuses = 0, births = 0;
    for (int c = 0; c < N_CUST; c++) {
        statuses += w->st[c].account_status[0] != '\0';
        births += w->st[c].birth_month != 0;
        assert_true(w->st[c].joined_at > 0);
    }
    assert_true(statuses > 0 && births > 0);
    size_t total = 0;
    for (int c = 0; c < N_CUST; c++)
        total += w->len[c];
    char *all = calloc(1, total + 1), *at = all;
    for (int c = 0; c < N_CUST; c++) {
        memcpy(at, w->buf[c], w->len[c]);
        at += w->len[c];
    }
    assert_non_null(strstr(all, "\"reason\":\"period_reset\""));
    assert_non_null(strstr(all, "\"source\":\"birthday\",\"quantity\":1"));
    assert_non_null(strstr(all, "\"source\":\"stamp_card\",\"quantity\":2"));
    assert_non_null(strstr(all, "\"reward\":\"case\""));
    assert_non_null(strstr(all, "\"source\":\"basket\""));
    /* a redemption that redeemed less than it asked for */
    int capped = 0;
    for (const char *q = all; (q = strstr(q, "\"type\":\"PointsRedeemed\"")) != NULL; q++) {
        long long pts = 0, req = 0;
        const char *a = strstr(q, "\"points\":"), *b = strstr(q, "\"points_requested\":");
        if (a && b && sscanf(a, "\"points\":%lld", &pts) == 1 &&
            sscanf(b, "\"points_requested\":%lld", &req) == 1 && pts < req)
            capped++;
    }
    assert_true(capped > 0);
    free(all);
    world_free(w);
    free(v);
    prog_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conservation_and_no_negative_balance_over_random_streams),
        cmocka_unit_test(test_same_stream_twice_gives_byte_identical_outputs_and_states),
        cmocka_unit_test(test_redelivered_events_give_the_same_outputs_as_without),
        cmocka_unit_test(test_outputs_do_not_depend_on_when_timers_are_fired),
        cmocka_unit_test(test_late_events_leave_every_period_award_as_if_on_time),
        cmocka_unit_test(test_a_late_event_delivered_twice_corrects_once),
        cmocka_unit_test(test_the_newer_program_paths_are_exercised),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
