/* Helpers shared by the engine's unit and property tests: programs from strings, events
 * built in one line, and a driver that follows the caller contract of eng.h. */
#ifndef LS_TEST_ENG_UTIL_H
#define LS_TEST_ENG_UTIL_H

#include "eng.h"
#include "eng_json.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

typedef struct ob {
    eng_output_t v[ENG_OUT_MIN_CAP * 4];
    eng_outbuf_t b;
} ob_t;

static inline prog_t *tp_prog(const char *yaml)
{
    char err[4096];
    prog_t *p = prog_load_string(yaml, "t.yaml", NULL, err, sizeof(err));
    if (!p)
        fail_msg("%s", err);
    return p;
}

static inline int64_t tp_t(const char *iso)
{
    int64_t ms = 0;
    if (eng_json_parse_time(iso, &ms) != 0)
        fail_msg("bad time %s", iso);
    return ms;
}

static inline void ob_reset(ob_t *o)
{
    o->b.v = o->v;
    o->b.cap = ENG_OUT_MIN_CAP * 4;
    o->b.n = 0;
    o->b.bounds = 0;
}

static inline eng_event_t *tp_event(eng_event_t *ev, eng_event_kind_t kind, const char *id,
                                    const char *cust, const char *iso)
{
    memset(ev, 0, sizeof(*ev));
    ev->kind = kind;
    snprintf(ev->event_id, sizeof(ev->event_id), "%s", id);
    snprintf(ev->customer_id, sizeof(ev->customer_id), "%s", cust);
    ev->time_ms = tp_t(iso);
    return ev;
}

static inline void tp_line(eng_event_t *ev, const char *cat, int32_t qty, int64_t amount,
                           bool on_sale)
{
    eng_line_t *l = &ev->lines[ev->n_lines++];
    snprintf(l->sku, sizeof(l->sku), "%s-sku", cat);
    snprintf(l->category, sizeof(l->category), "%s", cat);
    l->quantity = qty;
    l->amount = amount;
    l->on_sale = on_sale;
}

/* The caller contract: timers due by the event's time first, then the event. Outputs
 * accumulate in o (not reset). */
static inline int tp_apply(const prog_t *p, eng_state_t *s, const eng_event_t *ev, ob_t *o)
{
    char err[256];
    if (s->flags & 1)
        eng_on_timer(p, s, ev->time_ms, &o->b);
    int rc = eng_apply_event(p, s, ev, &o->b, err, sizeof(err));
    if (rc < 0)
        fail_msg("apply %s: %s", ev->event_id, err);
    return rc;
}

static inline void tp_tick(const prog_t *p, eng_state_t *s, const char *iso, ob_t *o)
{
    eng_on_timer(p, s, tp_t(iso), &o->b);
}

/* The n-th output of a kind (0-based) or NULL. */
static inline const eng_output_t *tp_find(const ob_t *o, eng_out_kind_t k, int n)
{
    for (uint32_t i = 0; i < o->b.n; i++)
        if (o->v[i].kind == k && n-- == 0)
            return &o->v[i];
    return NULL;
}

static inline int tp_count(const ob_t *o, eng_out_kind_t k)
{
    int c = 0;
    for (uint32_t i = 0; i < o->b.n; i++)
        c += o->v[i].kind == k;
    return c;
}

#endif
