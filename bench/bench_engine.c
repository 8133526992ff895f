/*
 * bench_engine: the engine alone over a generated stream, and in the same run the cost
 * of parsing the same events from JSON lines, so that the ratio holds on a noisy machine.
 *
 * 1M customers with Zipf popularity (s = 1.0: a few customers buy most), a year of event
 * time, a program with tiers, a monthly period award, expiry with three warnings and a
 * stamp card. Each event goes through the caller contract (eng_on_timer up to its time,
 * then eng_apply_event) on one core. Customer states are allocated lazily (only touched
 * customers use memory: about 3.7 KB each). The ids the events carry ("e<seq>", "c<customer>")
 * are formatted outside the timed loops where they can be (customer ids with the
 * descriptors, event ids counted up in place): the timed loops measure the engine, not
 * the bench's printf; a check before timing compares them with the plain formatting.
 *
 * usage: bench_engine [EVENTS (default 4000000)] [CUSTOMERS (default 1000000)]
 */
#include "eng.h"
#include "eng_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static const char *const PROGRAM =
    "name: bench\ncurrency: RUB\ntimezone: Europe/Moscow\n"
    "qualification: {metric: spend, window: calendar_year}\n"
    "tiers: [{name: Red, threshold: 0}, {name: Silver, threshold: 20000, earn_multiplier: 1.5},"
    " {name: Gold, threshold: 100000, earn_multiplier: 2}]\n"
    "earning: {base_percent: 3, exclude: {on_sale: true}}\n"
    "period_award: {rates: [{from: 0, percent: 3}, {from: 1000, percent: 10}, {from: 1500, "
    "percent: 15}]}\n"
    "expiry: {mode: end_of_next_month, warning_days: [30, 7, 1]}\n"
    "stamps: [{category: coffee, every: 10}]\n";

typedef struct desc {
    uint32_t cust;
    uint32_t kind; /* 0..7 purchase, 8 redemption */
    int64_t time_ms;
    int64_t amount;
    char cust_id[16]; /* "c<cust>", zero-padded */
} desc_t;

/* States touched this many events ahead are prefetched in pass 0 (eng_prefetch), as the
 * pipeline can do with the next records of a batch; the slot of states[] that points to
 * the state is prefetched twice as far ahead, since states[] is itself 8 MB. */
#ifndef PREFETCH_AHEAD
#define PREFETCH_AHEAD 2
#endif

static uint64_t rng_state = 88172645463325252ULL;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: the machine is shared */
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *utoa(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do
        tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n)
        *p++ = tmp[--n];
    *p = '\0';
    return p;
}

/* The event of descriptor d with sequence number seq, ids formatted here (JSON part). */
static void fill(eng_event_t *ev, const desc_t *d, uint64_t seq)
{
    ev->kind = d->kind < 8 ? ENG_EV_PURCHASE : ENG_EV_REDEMPTION;
    ev->event_id[0] = 'e';
    utoa(ev->event_id + 1, seq);
    ev->customer_id[0] = 'c';
    utoa(ev->customer_id + 1, d->cust);
    ev->time_ms = d->time_ms;
    ev->points = ev->kind == ENG_EV_REDEMPTION ? 50 : 0;
    ev->n_lines = ev->kind == ENG_EV_PURCHASE ? 2 : 0;
    ev->lines[0].amount = d->amount;
    ev->lines[1].amount = d->amount / 3;
}

/* "e<seq>" -> "e<seq + 1>", in place: the event ids of a pass, without a division. */
static void next_event_id(char *id)
{
    size_t n = strlen(id), i = n - 1;
    while (i >= 1 && id[i] == '9')
        id[i--] = '0';
    if (i >= 1) {
        id[i]++;
        return;
    }
    memmove(id + 2, id + 1, n - 1); /* 9...9 -> 10...0 */
    id[1] = '1';
    id[n + 1] = '\0';
}

/* fill() for the timed loops: the event id is already in ev (next_event_id), the customer
 * id comes pre-formatted with the descriptor. The same event as fill(ev, d, seq). */
static void fill_fast(eng_event_t *ev, const desc_t *d)
{
    ev->kind = d->kind < 8 ? ENG_EV_PURCHASE : ENG_EV_REDEMPTION;
    memcpy(ev->customer_id, d->cust_id, sizeof(d->cust_id));
    ev->time_ms = d->time_ms;
    ev->points = ev->kind == ENG_EV_REDEMPTION ? 50 : 0;
    ev->n_lines = ev->kind == ENG_EV_PURCHASE ? 2 : 0;
    ev->lines[0].amount = d->amount;
    ev->lines[1].amount = d->amount / 3;
}

int main(int argc, char **argv)
{
    long n_events = argc > 1 ? atol(argv[1]) : 4000000;
    long n_cust = argc > 2 ? atol(argv[2]) : 1000000;
    char err[4096];
    prog_t *p = prog_load_string(PROGRAM, "bench.yaml", NULL, err, sizeof(err));
    if (!p) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    /* Zipf(1.0) over customers by inverse CDF; descriptors generated before timing */
    double *cdf = malloc((size_t)n_cust * sizeof(*cdf)), sum = 0;
    for (long i = 0; i < n_cust; i++)
        cdf[i] = (sum += 1.0 / (double)(i + 1));
    desc_t *d = malloc((size_t)n_events * sizeof(*d));
    int64_t t0 = 1767214800000LL; /* 2026-01-01 local */
    for (long i = 0; i < n_events; i++) {
        double u = (double)(rnd() >> 11) / 9007199254740992.0 * sum;
        long lo = 0, hi = n_cust - 1;
        while (lo < hi) {
            long mid = (lo + hi) / 2;
            if (cdf[mid] < u)
                lo = mid + 1;
            else
                hi = mid;
        }
        /* scatter ranks over ids so that popular customers are not neighbours in memory */
        d[i].cust = (uint32_t)((uint64_t)lo * 2654435761u % (uint64_t)n_cust);
        d[i].kind = (uint32_t)(rnd() % 9);
        d[i].time_ms = t0 + (int64_t)((double)i / (double)n_events * 365.0 * 86400000.0);
        d[i].amount = 10000 + (int64_t)(rnd() % 500000);
        memset(d[i].cust_id, 0, sizeof(d[i].cust_id));
        d[i].cust_id[0] = 'c';
        utoa(d[i].cust_id + 1, d[i].cust);
    }
    free(cdf);
    eng_state_t **states = calloc((size_t)n_cust, sizeof(*states));
    /* one arena for all states, on transparent huge pages where the kernel allows: a
     * store's block cache would hold them similarly; 4 KB pages would make every state
     * access a TLB miss and measure the page walker rather than the engine */
    size_t arena_len =
        ((size_t)n_cust * sizeof(eng_state_t) + (2u << 20) - 1) & ~(size_t)((2u << 20) - 1);
    eng_state_t *arena = aligned_alloc(2u << 20, arena_len);
    if (!arena)
        return 1;
    madvise(arena, arena_len, MADV_HUGEPAGE);
    eng_event_t *ev = calloc(1, sizeof(*ev));
    snprintf(ev->currency, sizeof(ev->currency), "RUB");
    snprintf(ev->lines[0].category, ENG_NAME_MAX, "cosmetics");
    snprintf(ev->lines[0].sku, ENG_ID_MAX, "sku-1");
    ev->lines[0].quantity = 1;
    snprintf(ev->lines[1].category, ENG_NAME_MAX, "coffee");
    snprintf(ev->lines[1].sku, ENG_ID_MAX, "sku-2");
    ev->lines[1].quantity = 1;
    { /* the timed loops' events are fill()'s events (ids included) */
        eng_event_t *ref = calloc(1, sizeof(*ref));
        char id[ENG_ID_MAX] = "e0";
        for (long i = 0; i < n_events; i++, next_event_id(id)) {
            fill(ref, &d[i], (uint64_t)i);
            memcpy(ev->event_id, id, sizeof(id));
            fill_fast(ev, &d[i]);
            if (strcmp(ref->event_id, ev->event_id) || strcmp(ref->customer_id, ev->customer_id) ||
                ref->kind != ev->kind || ref->time_ms != ev->time_ms || ref->points != ev->points ||
                ref->n_lines != ev->n_lines || ref->lines[0].amount != ev->lines[0].amount ||
                ref->lines[1].amount != ev->lines[1].amount) {
                fprintf(stderr, "event %ld: pre-formatted event differs\n", i);
                return 1;
            }
        }
        free(ref);
    }
    eng_output_t *outv = calloc(ENG_OUT_MIN_CAP, sizeof(*outv));
    eng_outbuf_t out = {.v = outv, .cap = ENG_OUT_MIN_CAP};
    uint64_t outputs = 0;
    long touched = 0;

    /* Three passes over the same stream, each from empty states:
     *  0: the engine on states in place, scattered over ~2 GB (cache and TLB misses count);
     *  1: as the pipeline does: copy the state into one hot scratch, run the engine, copy
     *     it back (the store decodes/encodes there);
     *  2: the copies of pass 1 alone.
     * Pass 1 minus pass 2 is the engine's own cost on a hot state. */
    double pass_s[3] = {0, 0, 0};
    eng_state_t *scratch = calloc(1, sizeof(*scratch));
    for (int pass = 0; pass < 3; pass++) {
        for (long i = 0; i < n_events && pass == 0; i++) /* allocate before timing */
            if (!states[d[i].cust]) {
                states[d[i].cust] = &arena[touched++];
                memset(states[d[i].cust], 0, sizeof(eng_state_t));
            }
        if (pass > 0) /* every pass starts from empty states */
            memset(arena, 0, (size_t)touched * sizeof(eng_state_t));
        snprintf(ev->event_id, sizeof(ev->event_id), "e0");
        double a = now_s();
        for (long i = 0; i < n_events; i++) {
            eng_state_t *st = states[d[i].cust];
            if (pass == 0 && i + 2 * PREFETCH_AHEAD < n_events)
                __builtin_prefetch(&states[d[i + 2 * PREFETCH_AHEAD].cust]);
            if (pass == 0 && i + PREFETCH_AHEAD < n_events)
                eng_prefetch(states[d[i + PREFETCH_AHEAD].cust]);
            if (pass > 0) {
                memcpy(scratch, st, sizeof(*scratch));
                if (pass == 2) {
                    scratch->version++; /* keep the copy from being optimised away */
                    memcpy(st, scratch, sizeof(*scratch));
                    continue;
                }
                st = scratch;
            }
            if (i > 0)
                next_event_id(ev->event_id);
            fill_fast(ev, &d[i]);
            out.n = 0;
            if (st->flags & 1)
                eng_on_timer(p, st, ev->time_ms, &out);
            if (eng_apply_event(p, st, ev, &out, err, sizeof(err)) < 0) {
                fprintf(stderr, "event %ld: %s\n", i, err);
                return 1;
            }
            if (pass == 0)
                outputs += out.n;
            if (pass == 1)
                memcpy(states[d[i].cust], scratch, sizeof(*scratch));
        }
        pass_s[pass] = now_s() - a;
    }
    free(scratch);
    double eng_s = pass_s[0], hot_s = pass_s[1] - pass_s[2];

    /* JSON: the same events as lines, then parse them back (timed) */
    long n_json = argc > 3 ? atol(argv[3]) : (n_events < 500000 ? n_events : 500000);
    if (n_json < 1)
        n_json = 1;
    char **lines = malloc((size_t)n_json * sizeof(*lines));
    for (long i = 0; i < n_json; i++) {
        fill(ev, &d[i], (uint64_t)i);
        json_t *o = eng_json_event(ev);
        lines[i] = eng_json_line(o);
        json_decref(o);
    }
    double a = now_s();
    long bad = 0;
    for (long i = 0; i < n_json; i++)
        bad += eng_json_parse_event(lines[i], strlen(lines[i]), ev, err, sizeof(err)) != 0;
    double parse_s = now_s() - a;

    double eng_ns = eng_s * 1e9 / (double)n_events, parse_ns = parse_s * 1e9 / (double)n_json;
    printf("bench_engine: %ld events, %ld customers (%ld touched, Zipf s=1.0), %llu outputs\n",
           n_events, n_cust, touched, (unsigned long long)outputs);
    printf("engine:     %.0f events/s (%.0f ns/event, one core, includes timers due)\n",
           (double)n_events / eng_s, eng_ns);
    printf("engine on a hot scratch state (pipeline-like; state copies of %.0f ns/event "
           "excluded): %.0f events/s (%.0f ns/event)\n",
           pass_s[2] * 1e9 / (double)n_events, (double)n_events / hot_s,
           hot_s * 1e9 / (double)n_events);
    printf("JSON parse: %.0f events/s (%.0f ns/event, jansson, %ld lines, %ld bad)\n",
           (double)n_json / parse_s, parse_ns, n_json, bad);
    printf("ratio engine/parse: %.1f%% in place, %.1f%% hot (goal <= 25%%)\n",
           100.0 * eng_ns / parse_ns, 100.0 * hot_s * 1e9 / (double)n_events / parse_ns);
    printf("goal >= 2M events/s on one core: in place %s, hot %s\n",
           (double)n_events / eng_s >= 2e6 ? "met" : "NOT met",
           (double)n_events / hot_s >= 2e6 ? "met" : "NOT met");
    for (long i = 0; i < n_json; i++)
        free(lines[i]);
    free(lines);
    free(arena);
    free(states);
    free(outv);
    free(ev);
    free(d);
    prog_destroy(p);
    return 0;
}
