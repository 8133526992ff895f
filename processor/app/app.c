/*
 * app: see app.h. Reading order: the dirty set (customers touched in the open
 * transaction), then the per-record path (app_process), the timer path (app_timers), and
 * the transaction boundaries (flush, committed, aborted), then restore.
 */
#include "app.h"

#include "avro_codec.h"
#include "clog.h"
#include "dlq.h"
#include "eng.h"
#include "log.h"
#include "sr.h"
#include "store.h"
#include "tmr.h"

#include "eng_json.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------ dirty set */

/* Customer ids touched in the open transaction of one task: an open-addressing hash set
 * of fixed-size slots, cleared at every transaction boundary. A customer's changelog
 * record is produced when the customer is first saved in the transaction (so the broker
 * gets it while the transaction goes on, not all at the commit); a customer saved again
 * is marked and produced once more, with its final state, at the flush. */
typedef struct dirty {
    char (*ids)[ENG_ID_MAX];
    uint32_t *used; /* generation stamp per slot: slot is set when used[i] == gen */
    bool *again;    /* saved again after its changelog record was produced */
    uint32_t gen;
    size_t cap, n;
    size_t *order; /* slots in insertion order, for a stable changelog order */
} dirty_t;

static int dirty_grow(dirty_t *d);

/* @returns 1 when @p id is new in the set, 0 when it was there (now marked again), -1 when
 * out of memory. */
static int dirty_add(dirty_t *d, const char *id)
{
    if ((d->n + 1) * 2 > d->cap && dirty_grow(d) != 0)
        return -1;
    uint64_t h = eng_id_hash(id);
    for (size_t i = (size_t)h & (d->cap - 1);; i = (i + 1) & (d->cap - 1)) {
        if (d->used[i] != d->gen) {
            d->used[i] = d->gen;
            d->again[i] = false;
            snprintf(d->ids[i], ENG_ID_MAX, "%s", id);
            d->order[d->n++] = i;
            return 1;
        }
        if (strcmp(d->ids[i], id) == 0) {
            d->again[i] = true;
            return 0;
        }
    }
}

static int dirty_grow(dirty_t *d)
{
    dirty_t old = *d;
    size_t cap = old.cap ? old.cap * 2 : 256;
    d->ids = calloc(cap, sizeof(*d->ids));
    d->used = calloc(cap, sizeof(*d->used));
    d->again = calloc(cap, sizeof(*d->again));
    d->order = calloc(cap, sizeof(*d->order));
    if (!d->ids || !d->used || !d->again || !d->order) {
        free(d->ids);
        free(d->used);
        free(d->again);
        free(d->order);
        *d = old;
        return -1;
    }
    d->cap = cap;
    d->gen = 1;
    d->n = 0;
    for (size_t k = 0; k < old.n; k++) {
        dirty_add(d, old.ids[old.order[k]]);
        if (old.again[old.order[k]])
            d->again[d->order[k]] = true;
    }
    free(old.ids);
    free(old.used);
    free(old.again);
    free(old.order);
    return 0;
}

static void dirty_clear(dirty_t *d)
{
    d->n = 0;
    if (++d->gen == 0) { /* wrapped: reset the stamps */
        memset(d->used, 0, d->cap * sizeof(*d->used));
        d->gen = 1;
    }
}

static void dirty_free(dirty_t *d)
{
    free(d->ids);
    free(d->used);
    free(d->again);
    free(d->order);
}

/* ------------------------------------------------------------------ the app */

/* ------------------------------------------------------------------ state cache */

/* Decoded states of recently used customers, direct-mapped, one table for the instance
 * whatever its task count (a table per task cost 3.7 MiB per partition: 180 MiB with 48).
 * Decoding the Avro state is the largest cost per event in bench_pipeline's profile
 * without this cache; popular customers skip it. A slot belongs to one task at a time
 * (owner = task + 1, 0 = empty; the owners are a separate array so that dropping a task
 * touches 8 KiB, not the states). An entry always mirrors the customer's latest state as
 * its task sees it (staged or committed): saves update it, an abort drops the entries of
 * every customer the transaction touched (the dirty set), and a task's entries go when
 * the task is opened or closed, so it never outlives what it mirrors. Keyed by the
 * state's own customer_id. The customer being worked on lives in her slot: load_state
 * empties it and decodes into it (or finds her there), save_state makes it an entry again,
 * so a state (3.7 KB) is never copied. */
#define STATE_CACHE_SLOTS APP_STATE_CACHE_SLOTS

typedef struct state_cache {
    int32_t *owner;  /* STATE_CACHE_SLOTS: task + 1 of the slot's entry, 0 = empty */
    eng_state_t *st; /* STATE_CACHE_SLOTS; pages are touched as slots fill */
} state_cache_t;

static size_t cache_slot(const char *customer)
{
    return eng_id_hash(customer) & (STATE_CACHE_SLOTS - 1);
}

/* Whether @p slot (cache_slot(customer)) holds task @p p's state of @p customer. */
static bool cache_holds(const state_cache_t *c, size_t slot, int32_t p, const char *customer)
{
    return c->owner[slot] == p + 1 && strcmp(c->st[slot].customer_id, customer) == 0;
}

static void cache_drop_task(state_cache_t *c, int32_t p)
{
    for (size_t i = 0; i < STATE_CACHE_SLOTS; i++)
        if (c->owner[i] == p + 1)
            c->owner[i] = 0;
}

/* One task's counters in the metrics registry (app_attach_metrics); NULL handles without. */
typedef struct task_metrics {
    bool made;
    met_counter_t *events, *dups, *timers, *points;
    met_counter_t *dlq[DLQ_REASON_COUNT], *outputs[ENG_OUT_KIND_COUNT], *bounds[ENG_BOUND_COUNT];
} task_metrics_t;

typedef struct task {
    store_task_t *st;              /* NULL = not assigned */
    clog_restore_t *restore;       /* while restoring */
    store_checkpoint_t cp;         /* last committed checkpoint */
    int64_t stream_time;           /* greatest event time seen (clock = stream) */
    int64_t committed_stream_time; /* as of the last commit: an abort goes back to it */
    bool caught_up;                /* input lag <= 1 at the last timer tick (see task_clock) */
    dirty_t dirty;
    app_stats_t pending;   /* counts of the open transaction: added at commit, dropped on abort */
    app_stats_t committed; /* this task's committed counts */
    bool opened;           /* assigned here at least once */
    task_metrics_t m;      /* its series, with app_attach_metrics */
} task_t;

struct app {
    const cfg_t *cfg;
    prog_t *prog;
    store_t *store;
    avro_codec_t *codec;
    sr_client_t *registry; /* NULL without schema.registry.url */
    pipe_hooks_t hooks;
    const char *topics_out[ENG_OUT_KIND_COUNT + 1]; /* dead-letter topic, then each output */
    task_t *tasks;
    int32_t n_tasks;
    state_cache_t cache;
    eng_state_t *ws;   /* the customer being worked on: her slot in the cache (load_state) */
    eng_event_t event; /* scratch: the decoded input */
    eng_output_t outv[ENG_OUT_MIN_CAP];
    tmr_entry_t due[256]; /* scratch: timers due in one scan */
    uint8_t *frame;       /* scratch for changelog frames */
    size_t frame_cap;
    app_stats_t stats;      /* committed work only: an aborted transaction's is redone */
    app_stats_t *cur;       /* the pending counts of the task being worked on */
    int64_t last_gc;        /* wall clock of the last store_gc */
    avro_codec_t *q_codec;  /* the HTTP thread's own codec (codecs are single-threaded) */
    pthread_mutex_t q_lock; /* serialises queries on q_codec */
    bool q_lock_ready;
    void (*observer)(void *ctx, const eng_output_t *o);
    void *observer_ctx;
    int32_t corrupt_task; /* the task whose local state did not decode, -1 = none */
    /* app_attach_metrics: the families of the per-task work counters, NULL without */
    met_family_t *f_events, *f_dups, *f_timers, *f_points, *f_dlq, *f_outputs, *f_bounds;
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static task_t *task_get(app_t *a, int32_t p, char *err, size_t errlen)
{
    if (p >= a->n_tasks) {
        int32_t n = p + 1 > a->n_tasks * 2 ? p + 1 : a->n_tasks * 2;
        task_t *t = realloc(a->tasks, (size_t)n * sizeof(*t));
        if (!t) {
            snprintf(err, errlen, "out of memory for task %d", (int)p);
            return NULL;
        }
        memset(t + a->n_tasks, 0, (size_t)(n - a->n_tasks) * sizeof(*t));
        a->tasks = t;
        a->n_tasks = n;
    }
    return &a->tasks[p];
}

/* ------------------------------------------------------------------ state i/o */

/* Load @p customer's state as this transaction sees it (zeroed if new) and point a->ws at
 * it. The state is worked on in place in the customer's cache slot, which is not a valid
 * entry again until save_state (a path that changes the state without saving it, or does
 * not save at all, leaves the slot empty and costs one decode later, never a stale hit). */
static int load_state(app_t *a, task_t *t, const char *customer, char *err, size_t errlen)
{
    size_t slot = cache_slot(customer);
    bool hit = cache_holds(&a->cache, slot, (int32_t)(t - a->tasks), customer);
    a->cache.owner[slot] = 0;
    a->ws = &a->cache.st[slot];
    if (hit)
        return PIPE_OK;
    char *val = NULL;
    size_t vlen = 0;
    int64_t due;
    int rc = store_get_due(t->st, customer, strlen(customer), &val, &vlen, &due, err, errlen);
    if (rc == STORE_NOT_FOUND) {
        memset(a->ws, 0, sizeof(*a->ws));
        return PIPE_OK;
    }
    char msg[512];
    if (rc != 0 && !strstr(err, "Corruption"))
        return PIPE_FATAL;
    if (rc != 0) {
        snprintf(msg, sizeof(msg), "%s", err);
    } else {
        dlq_reason_t r = avro_codec_decode_state(a->codec, val, vlen, a->ws, msg, sizeof(msg));
        free(val);
        if (r == DLQ_OK)
            return PIPE_OK;
    }
    int32_t p = (int32_t)(t - a->tasks);
    a->corrupt_task = p;
    snprintf(err, errlen,
             "task %d: the stored state of customer %s does not decode (%s): the local state "
             "of task %d is corrupt and a restart will not help; stop the instance and run "
             "`loyalty-stream reset --state %s --task %d` (the task then restores from the "
             "changelog), or set state.reset.on.corruption = true",
             (int)p, customer, msg, (int)p, a->cfg->state_dir, (int)p);
    return PIPE_CORRUPT;
}

/* Frame @p state (its next due time first) and produce it to task @p p's changelog. */
static int produce_changelog(app_t *a, pipe_t *pp, int32_t p, const char *customer, int64_t due,
                             const void *state, size_t len, char *err, size_t errlen)
{
    size_t need = clog_frame_size(len);
    if (need > a->frame_cap) {
        uint8_t *f = realloc(a->frame, need);
        if (!f) {
            snprintf(err, errlen, "out of memory");
            return PIPE_FATAL;
        }
        a->frame = f;
        a->frame_cap = need;
    }
    size_t flen = clog_frame_encode(due, state, len, a->frame, a->frame_cap);
    return pipe_produce_changelog(pp, p, customer, strlen(customer), a->frame, flen, NULL, 0, err,
                                  errlen);
}

/* Stage a->ws and its next timer for @p customer; its changelog record goes out now
 * when this is its first save in the transaction, else at the flush (see dirty_t). */
static int save_state(app_t *a, pipe_t *pp, int32_t p, task_t *t, const char *customer,
                      int64_t next_due, char *err, size_t errlen)
{
    const uint8_t *buf;
    size_t len;
    if (avro_codec_encode_state(a->codec, a->ws, &buf, &len, err, errlen) != 0)
        return PIPE_FATAL;
    /* State and timer in one staged write (STORE_NO_DUE == ENG_TIME_NEVER cancels). */
    if (store_put_due(t->st, customer, strlen(customer), buf, len, next_due, err, errlen) != 0)
        return PIPE_FATAL;
    /* In the dirty set before it is an entry again, so that an abort drops the entry. */
    int first = dirty_add(&t->dirty, customer);
    if (first < 0) {
        snprintf(err, errlen, "out of memory");
        return PIPE_FATAL;
    }
    if (strcmp(a->ws->customer_id, customer) == 0) /* the slot mirrors the staged state again */
        a->cache.owner[a->ws - a->cache.st] = p + 1;
    return first ? produce_changelog(a, pp, p, customer, next_due, buf, len, err, errlen) : PIPE_OK;
}

/* ------------------------------------------------------------------ outputs */

/* Count the per-customer bounds the engine call behind @p ob reported, then clear them. */
static void count_bounds(app_t *a, eng_outbuf_t *ob)
{
    for (int b = 0; ob->bounds && b < ENG_BOUND_COUNT; b++)
        if (ob->bounds & ENG_BOUND_BIT(b))
            a->cur->bounds[b]++;
    ob->bounds = 0;
}

/* Produce the outputs of one engine call (and count the bounds it reported). */
static int emit_outputs(app_t *a, pipe_t *pp, eng_outbuf_t *ob, char *err, size_t errlen)
{
    count_bounds(a, ob);
    for (uint32_t i = 0; i < ob->n; i++) {
        const eng_output_t *o = &ob->v[i];
        const uint8_t *buf;
        size_t len;
        if (avro_codec_encode_output(a->codec, o, &buf, &len, err, errlen) != 0)
            return PIPE_FATAL; /* our own value does not fit our schema: a bug */
        int rc = pipe_produce(pp, a->cfg->topic_out[o->kind], -1, o->customer_id,
                              strlen(o->customer_id), buf, len, NULL, 0, err, errlen);
        if (rc != PIPE_OK)
            return rc;
        a->cur->outputs[o->kind]++;
        if (o->kind == ENG_OUT_BONUS_EARNED)
            a->cur->points_issued += o->u.bonus_earned.points;
        if (a->observer)
            a->observer(a->observer_ctx, o);
    }
    return PIPE_OK;
}

/* Fire the customer's timers due by @p now (a->ws), emitting as the buffer fills.
 * Bounded whatever @p now is: a call that fired nothing, or a customer with nothing
 * pending (ENG_TIME_NEVER, which equals INT64_MAX), ends it. A customer whose timers
 * fired counts in timers_fired once, whether a tick or her next event fired them. */
static int catch_up(app_t *a, pipe_t *pp, int64_t now, eng_outbuf_t *ob, char *err, size_t errlen)
{
    bool fired = false;
    for (;;) {
        ob->n = 0;
        int steps = eng_on_timer(a->prog, a->ws, now, ob);
        if (steps > 0 && !fired) {
            fired = true;
            a->cur->timers_fired++;
        }
        int rc = emit_outputs(a, pp, ob, err, errlen);
        if (rc != PIPE_OK)
            return rc;
        if (ob->next_due > now || ob->next_due == ENG_TIME_NEVER || steps == 0)
            return PIPE_OK;
    }
}

/* Room kept in a dead letter for the record's framing beside key, value and headers
 * (record and batch headers, varints), and for the two headers a cut value adds. */
#define DLQ_RECORD_OVERHEAD 1024

/* The value length of a dead letter that fits its topic: the whole value, or as much of
 * it as fits pipe_max_record_bytes once key and headers are counted. */
static size_t dead_letter_fit(pipe_t *pp, const char *topic, const pipe_rec_t *rec,
                              const dlq_headers_t *dh)
{
    size_t limit = pipe_max_record_bytes(pp, topic);
    size_t used = rec->key_len + DLQ_RECORD_OVERHEAD;
    for (size_t i = 0; i < dh->count; i++)
        used += strlen(dh->h[i].name) + dh->h[i].value_len;
    if (rec->value_len + used <= limit)
        return rec->value_len;
    return limit > used ? limit - used : 0;
}

static int dead_letter(app_t *a, pipe_t *pp, const pipe_rec_t *rec, dlq_reason_t reason,
                       const char *msg, char *err, size_t errlen)
{
    dlq_headers_t dh;
    const char *topic = a->cfg->topic_dead_letter;
    if (dlq_headers_build(&dh, reason, msg, rec->topic, rec->partition, rec->offset,
                          rec->timestamp_ms) != 0) {
        snprintf(err, errlen, "dead-letter headers for %s [%d] offset %lld cannot be built",
                 rec->topic, (int)rec->partition, (long long)rec->offset);
        return PIPE_FATAL;
    }
    /* A record larger than the dead-letter topic accepts would fail in every retry of the
     * transaction: its value is cut to fit, and the headers say so. */
    size_t value_len = rec->value ? dead_letter_fit(pp, topic, rec, &dh) : 0;
    if (value_len < rec->value_len && dlq_headers_mark_truncated(&dh, rec->value_len) != 0) {
        snprintf(err, errlen, "dead-letter headers for %s [%d] offset %lld cannot be marked",
                 rec->topic, (int)rec->partition, (long long)rec->offset);
        return PIPE_FATAL;
    }
    pipe_header_t hdrs[DLQ_HEADER_MAX];
    for (size_t i = 0; i < dh.count; i++) {
        hdrs[i].name = dh.h[i].name;
        hdrs[i].value = dh.h[i].value;
        hdrs[i].size = dh.h[i].value_len;
    }
    a->cur->dead_letters++;
    dlq_reason_t counted;
    if (dlq_reason_parse(dh.reason, &counted) == 0) /* as the header says (too_large, cut) */
        a->cur->dead_letters_by_reason[counted]++;
    log_warn("app", "record dead-lettered",
             "reason=%s partition=%d offset=%lld size=%zu kept=%zu msg=\"%s\"", dh.reason,
             (int)rec->partition, (long long)rec->offset, rec->value_len, value_len, msg);
    return pipe_produce(pp, topic, -1, rec->key, rec->key_len, rec->value, value_len, hdrs,
                        dh.count, err, errlen);
}

/* ------------------------------------------------------------------ hooks */

/* The task's firing clock (docs/PROGRAMS.md, "Late events"): its stream time, or with
 * clock = wall the wall clock once the task has caught up with its input, so that a task
 * reading a backlog closes no period before it has read that period's events, and an idle
 * partition still gets its awards on time. */
static int64_t task_clock(const app_t *a, const task_t *t, int64_t stream_time, int64_t wall)
{
    if (a->cfg->clock == CFG_CLOCK_STREAM || !t->caught_up)
        return stream_time;
    return wall > stream_time ? wall : stream_time;
}

/* What a decoded event must also be before it may touch a customer or the task's clock
 * (docs/SCHEMAS.md, "Validation and dead letters"): keyed by its customer (so that one
 * customer's events share a partition, hence a task), valid for the engine, and not
 * further ahead of the wall clock than time.max.future.ms. */
static dlq_reason_t check_event(app_t *a, const pipe_rec_t *rec, char *msg, size_t msglen)
{
    const eng_event_t *ev = &a->event;
    if (!rec->key) {
        snprintf(msg, msglen, "event %s: the record has no key; it must be customer_id %s",
                 ev->event_id, ev->customer_id);
        return DLQ_NO_KEY;
    }
    /* The decoder compared a present key with customer_id already. */
    int64_t wall = wall_ms();
    if (ev->time_ms > wall && ev->time_ms - wall > a->cfg->time_max_future_ms) {
        snprintf(msg, msglen,
                 "event %s: time %lld is %lld ms ahead of the wall clock (time.max.future.ms "
                 "%lld)",
                 ev->event_id, (long long)ev->time_ms, (long long)(ev->time_ms - wall),
                 (long long)a->cfg->time_max_future_ms);
        return DLQ_FUTURE_TIME;
    }
    if (eng_event_check(a->prog, ev, msg, msglen) != 0)
        return DLQ_INVALID_VALUE;
    return DLQ_OK;
}

static int h_process(void *opaque, pipe_t *pp, const pipe_rec_t *rec, char *err, size_t errlen)
{
    app_t *a = opaque;
    task_t *t = &a->tasks[rec->partition];
    a->cur = &t->pending;
    char msg[DLQ_MESSAGE_MAX];
    dlq_reason_t r = rec->value
                         ? avro_codec_decode_event(a->codec, rec->key, rec->key_len, rec->value,
                                                   rec->value_len, &a->event, msg, sizeof(msg))
                         : DLQ_TRUNCATED;
    if (!rec->value)
        snprintf(msg, sizeof(msg), "the record has no value (tombstone)");
    if (r != DLQ_OK && dlq_reason_is_retriable(r)) {
        snprintf(err, errlen, "decoding input: %s", msg);
        return PIPE_RETRY; /* e.g. the schema registry is unreachable: wait for it */
    }
    if (r == DLQ_OK)
        r = check_event(a, rec, msg, sizeof(msg));
    if (r != DLQ_OK)
        return dead_letter(a, pp, rec, r, msg, err, errlen);

    /* Only an event the engine accepts moves stream time (below), and check_event has
     * bounded its time: a bad time can neither fire a partition's timers early nor stay
     * in the committed offset's metadata. */
    const eng_event_t *ev = &a->event;
    int64_t stream_time = ev->time_ms > t->stream_time ? ev->time_ms : t->stream_time;
    /* The customer meets the event in the state the task's clock says: every timer due by
     * then fires first (a late event included), whenever the last timer tick happened. */
    int64_t clock = task_clock(a, t, stream_time, wall_ms());
    if (clock < ev->time_ms)
        clock = ev->time_ms;
    int rc = load_state(a, t, ev->customer_id, err, errlen);
    if (rc != PIPE_OK)
        return rc;
    bool existing = a->ws->customer_id[0] != 0;
    /* Older than the program's maximum lateness: a repeat is still just a repeat; anything
     * else goes to the dead-letter topic (its period can no longer be corrected). */
    if (eng_event_too_late(a->prog, a->ws, ev, clock)) {
        snprintf(msg, sizeof(msg),
                 "event %s: time %lld is %lld ms behind the task's clock (the program's "
                 "late_events.max_lateness_days: %lld days)",
                 ev->event_id, (long long)ev->time_ms, (long long)(clock - ev->time_ms),
                 (long long)(a->prog->max_lateness_ms / 86400000));
        return dead_letter(a, pp, rec, DLQ_TOO_LATE, msg, err, errlen);
    }
    eng_outbuf_t ob = {.v = a->outv, .cap = ENG_OUT_MIN_CAP};
    if (existing) {
        rc = catch_up(a, pp, clock, &ob, err, errlen);
        if (rc != PIPE_OK)
            return rc;
    }
    int er;
    for (;;) {
        ob.n = 0;
        er = eng_apply_event(a->prog, a->ws, ev, &ob, msg, sizeof(msg));
        if (er == ENG_EINVAL || er == ENG_TOO_LATE)
            break;
        rc = emit_outputs(a, pp, &ob, err, errlen);
        if (rc != PIPE_OK)
            return rc;
        if (er != ENG_ETIMERS)
            break;
    }
    if (er == ENG_OK)
        a->cur->events++;
    else if (er == ENG_DUPLICATE)
        a->cur->duplicates++;
    if (er == ENG_OK || er == ENG_DUPLICATE)
        t->stream_time = stream_time;
    if (er == ENG_OK || existing) { /* the catch-up changed the state even if the event didn't */
        eng_timer_kind_t kind;
        rc = save_state(a, pp, rec->partition, t, ev->customer_id,
                        eng_next_due(a->prog, a->ws, &kind), err, errlen);
        if (rc != PIPE_OK)
            return rc;
    }
    if (er == ENG_EINVAL || er == ENG_TOO_LATE)
        return dead_letter(a, pp, rec, er == ENG_TOO_LATE ? DLQ_TOO_LATE : DLQ_INVALID_VALUE, msg,
                           err, errlen);
    return PIPE_OK;
}

#define TIMER_SCAN (sizeof(((app_t *)0)->due) / sizeof(tmr_entry_t))
static int h_timers(void *opaque, pipe_t *pp, int32_t p, int64_t wall_now, char *err, size_t errlen)
{
    app_t *a = opaque;
    task_t *t = &a->tasks[p];
    a->cur = &t->pending;
    int64_t lag = pipe_task_lag(pp, p);
    bool caught_up = lag >= 0 && lag <= 1;
    if (caught_up != t->caught_up)
        log_debug("app",
                  caught_up ? "task caught up with its input: the wall clock closes periods"
                            : "task behind its input: stream time closes periods",
                  "task=%d lag=%lld", (int)p, (long long)lag);
    t->caught_up = caught_up;
    int64_t now = task_clock(a, t, t->stream_time, wall_now);
    if (wall_now - a->last_gc >= 60000) { /* drop the stores of tasks gone long enough */
        int dropped = 0;
        a->last_gc = wall_now;
        if (store_gc(a->store, wall_now, &dropped, err, errlen) != 0)
            log_warn("app", "dropping old task stores failed", "err=\"%s\"", err);
        else if (dropped)
            log_info("app", "dropped the stores of tasks closed long ago", "tasks=%d", dropped);
    }
    /* At most commit.max.records customers per call, so a backlog after downtime makes
     * many bounded transactions, not one that outgrows the transaction timeout; the rest
     * fire at the next tick. */
    tmr_entry_t *due = a->due;
    size_t n, scan;
    int64_t fired = 0;
    do {
        int64_t left = a->cfg->commit_max_records - fired;
        if (left <= 0)
            break;
        scan = left < (int64_t)TIMER_SCAN ? (size_t)left : TIMER_SCAN;
        if (tmr_due(t->st, now, due, scan, &n, err, errlen) != 0)
            return PIPE_FATAL;
        for (size_t i = 0; i < n; i++) {
            int rc = pipe_touch(pp, p, err, errlen);
            if (rc == PIPE_OK)
                rc = load_state(a, t, due[i].customer, err, errlen);
            if (rc != PIPE_OK)
                return rc;
            if (!a->ws->customer_id[0]) { /* a timer without state: drop it */
                if (tmr_cancel(t->st, due[i].customer, due[i].customer_len, err, errlen) < 0)
                    return PIPE_FATAL;
                continue;
            }
            eng_outbuf_t ob = {.v = a->outv, .cap = ENG_OUT_MIN_CAP};
            rc = catch_up(a, pp, now, &ob, err, errlen);
            if (rc != PIPE_OK)
                return rc;
            fired++;
            rc = save_state(a, pp, p, t, due[i].customer, ob.next_due, err, errlen);
            if (rc != PIPE_OK)
                return rc;
        }
    } while (n == scan);
    return PIPE_OK;
}

static int h_flush(void *opaque, pipe_t *pp, int32_t p, char *err, size_t errlen)
{
    app_t *a = opaque;
    task_t *t = &a->tasks[p];
    for (size_t k = 0; k < t->dirty.n; k++) {
        if (!t->dirty.again[t->dirty.order[k]])
            continue; /* its record already went out with its final state */
        const char *customer = t->dirty.ids[t->dirty.order[k]];
        char *val = NULL;
        size_t vlen = 0;
        int64_t due = TMR_NEVER;
        if (store_get_due(t->st, customer, strlen(customer), &val, &vlen, &due, err, errlen) != 0) {
            free(val);
            return PIPE_FATAL;
        }
        int rc = produce_changelog(a, pp, p, customer, due, val, vlen, err, errlen);
        free(val);
        if (rc != PIPE_OK)
            return rc;
    }
    return PIPE_OK;
}

static void stats_add(app_stats_t *to, const app_stats_t *from)
{
    to->events += from->events;
    to->duplicates += from->duplicates;
    to->dead_letters += from->dead_letters;
    to->timers_fired += from->timers_fired;
    to->points_issued += from->points_issued;
    for (int k = 0; k < ENG_OUT_KIND_COUNT; k++)
        to->outputs[k] += from->outputs[k];
    for (int r = 0; r < DLQ_REASON_COUNT; r++)
        to->dead_letters_by_reason[r] += from->dead_letters_by_reason[r];
    for (int b = 0; b < ENG_BOUND_COUNT; b++)
        to->bounds[b] += from->bounds[b];
}

/* Task @p p's series, every label value made at once (at 0), so that the first count of
 * a kind or reason is an increase Prometheus sees. Takes the registry's lock: on
 * assignment only. */
static void task_metrics_make(app_t *a, int32_t p, task_metrics_t *m)
{
    if (!a->f_events || m->made)
        return;
    char err[256], task[16];
    snprintf(task, sizeof(task), "%d", (int)p);
    const char *v[2] = {task, NULL};
    m->events = met_counter_get(a->f_events, v, err, sizeof(err));
    m->dups = met_counter_get(a->f_dups, v, err, sizeof(err));
    m->timers = met_counter_get(a->f_timers, v, err, sizeof(err));
    m->points = met_counter_get(a->f_points, v, err, sizeof(err));
    for (int r = 0; r < DLQ_REASON_COUNT; r++) {
        if (r == DLQ_OK || dlq_reason_is_retriable((dlq_reason_t)r))
            continue; /* never a dead letter's reason */
        v[1] = dlq_reason_name((dlq_reason_t)r);
        m->dlq[r] = met_counter_get(a->f_dlq, v, err, sizeof(err));
    }
    for (int k = 0; k < ENG_OUT_KIND_COUNT; k++) {
        v[1] = eng_out_kind_name((eng_out_kind_t)k);
        m->outputs[k] = met_counter_get(a->f_outputs, v, err, sizeof(err));
    }
    for (int b = 0; b < ENG_BOUND_COUNT; b++) {
        v[1] = eng_bound_name((eng_bound_t)b);
        m->bounds[b] = met_counter_get(a->f_bounds, v, err, sizeof(err));
    }
    m->made = true;
}

/* A committed transaction's counts into the task's series (lock-free adds). */
static void task_metrics_add(task_metrics_t *m, const app_stats_t *d)
{
    if (!m->made)
        return;
    met_counter_add(m->events, d->events);
    met_counter_add(m->dups, d->duplicates);
    met_counter_add(m->timers, d->timers_fired);
    met_counter_add(m->points, d->points_issued);
    for (int r = 0; r < DLQ_REASON_COUNT; r++)
        if (d->dead_letters_by_reason[r])
            met_counter_add(m->dlq[r], d->dead_letters_by_reason[r]);
    for (int k = 0; k < ENG_OUT_KIND_COUNT; k++)
        if (d->outputs[k])
            met_counter_add(m->outputs[k], d->outputs[k]);
    for (int b = 0; b < ENG_BOUND_COUNT; b++)
        if (d->bounds[b])
            met_counter_add(m->bounds[b], d->bounds[b]);
}

static int h_committed(void *opaque, int32_t p, int64_t next_in, int64_t next_clog, char *err,
                       size_t errlen)
{
    app_t *a = opaque;
    task_t *t = &a->tasks[p];
    if (next_in >= 0)
        t->cp.next_input_offset = next_in;
    if (next_clog >= 0)
        t->cp.changelog_offset = next_clog;
    t->committed_stream_time = t->stream_time;
    dirty_clear(&t->dirty);
    stats_add(&a->stats, &t->pending);
    stats_add(&t->committed, &t->pending);
    task_metrics_add(&t->m, &t->pending);
    memset(&t->pending, 0, sizeof(t->pending));
    return store_task_commit(t->st, &t->cp, err, errlen) == 0 ? PIPE_OK : PIPE_FATAL;
}

static void h_aborted(void *opaque, int32_t p)
{
    app_t *a = opaque;
    task_t *t = &a->tasks[p];
    store_task_abort(t->st);
    memset(&t->pending, 0, sizeof(t->pending)); /* the replayed records count again */
    t->stream_time = t->committed_stream_time;  /* replayed records must meet the old clock */
    for (size_t k = 0; k < t->dirty.n; k++) {   /* staged states are gone: so are their copies */
        const char *customer = t->dirty.ids[t->dirty.order[k]];
        size_t slot = cache_slot(customer);
        if (cache_holds(&a->cache, slot, p, customer))
            a->cache.owner[slot] = 0;
    }
    dirty_clear(&t->dirty);
}

/* Stream time travels with the task in its committed offset's metadata, as in Kafka
 * Streams: whichever instance gets the task next resumes the same clock, so timers that
 * were due before the move still fire even when no new event arrives. */
#define STREAM_TIME_MD "v1;stream_time="

static void h_offset_metadata(void *opaque, int32_t p, char *buf, size_t buflen)
{
    app_t *a = opaque;
    snprintf(buf, buflen, STREAM_TIME_MD "%lld", (long long)a->tasks[p].stream_time);
}

static int h_task_open(void *opaque, int32_t p, const char *md, int64_t *from, char *err,
                       size_t errlen)
{
    app_t *a = opaque;
    task_t *t = task_get(a, p, err, errlen);
    if (!t)
        return PIPE_FATAL;
    t->st = store_task_open(a->store, p, err, errlen);
    if (!t->st)
        return PIPE_FATAL;
    t->opened = true;
    task_metrics_make(a, p, &t->m);
    cache_drop_task(&a->cache, p);
    if (store_task_checkpoint(t->st, &t->cp, err, errlen) != 0)
        return PIPE_FATAL;
    t->restore = clog_restore_new(t->st, 0, err, errlen);
    if (!t->restore)
        return PIPE_FATAL;
    t->stream_time = 0;
    t->caught_up = false;
    if (strncmp(md, STREAM_TIME_MD, strlen(STREAM_TIME_MD)) == 0)
        t->stream_time = strtoll(md + strlen(STREAM_TIME_MD), NULL, 10);
    /* Only accepted events move stream time, and none is accepted further ahead of the
     * wall clock than time.max.future.ms: a value beyond that was committed by an older
     * build that let a bad time through. Firing every timer up to it would expire the
     * task's lots; the next accepted event sets the clock again instead. */
    int64_t wall = wall_ms();
    if (t->stream_time < 0 ||
        (t->stream_time > wall && t->stream_time - wall > a->cfg->time_max_future_ms)) {
        log_warn("app", "committed stream time is ahead of the wall clock: ignored",
                 "task=%d stream_time=%lld", (int)p, (long long)t->stream_time);
        t->stream_time = 0;
    }
    t->committed_stream_time = t->stream_time;
    dirty_clear(&t->dirty);
    *from = t->cp.changelog_offset; /* -1 when the task never committed here */
    return PIPE_OK;
}

static int h_restore(void *opaque, int32_t p, const pipe_rec_t *recs, size_t n, char *err,
                     size_t errlen)
{
    app_t *a = opaque;
    task_t *t = &a->tasks[p];
    for (size_t i = 0; i < n; i++) {
        clog_record_t cr = {.offset = recs[i].offset,
                            .customer = recs[i].key,
                            .customer_len = recs[i].key_len,
                            .next_due_ms = TMR_NEVER};
        char msg[256];
        if (recs[i].value && clog_frame_decode(recs[i].value, recs[i].value_len, &cr.next_due_ms,
                                               &cr.state, &cr.state_len, msg, sizeof(msg)) != 0) {
            /* The changelog is the source of truth: wiping local state cannot help. */
            snprintf(err, errlen,
                     "task %d: changelog %s partition %d offset %lld (customer %.*s) does not "
                     "decode (%s): a restart will not help; every instance must run a "
                     "loyalty-stream that reads this changelog's format, and nothing else may "
                     "write to it",
                     (int)p, recs[i].topic, (int)p, (long long)recs[i].offset,
                     (int)(recs[i].key_len > 64 ? 64 : recs[i].key_len),
                     recs[i].key ? (const char *)recs[i].key : "", msg);
            return PIPE_CORRUPT;
        }
        if (clog_restore_add(t->restore, &cr, err, errlen) != 0)
            return PIPE_FATAL;
    }
    return PIPE_OK;
}

static int h_restored(void *opaque, int32_t p, int64_t count, int64_t end_offset, char *err,
                      size_t errlen)
{
    app_t *a = opaque;
    task_t *t = &a->tasks[p];
    (void)count;
    int rc = clog_restore_finish(t->restore, end_offset, err, errlen);
    clog_restore_destroy(t->restore);
    t->restore = NULL;
    if (rc != 0 || store_task_checkpoint(t->st, &t->cp, err, errlen) != 0)
        return PIPE_FATAL;
    return PIPE_OK;
}

static void h_task_close(void *opaque, int32_t p)
{
    app_t *a = opaque;
    task_t *t = &a->tasks[p];
    char err[256];
    clog_restore_destroy(t->restore);
    t->restore = NULL;
    cache_drop_task(&a->cache, p);
    if (t->st && store_task_close(a->store, t->st, wall_ms(), err, sizeof(err)) != 0)
        log_warn("app", "closing task store failed", "task=%d err=\"%s\"", (int)p, err);
    t->st = NULL;
}

/* ------------------------------------------------------------------ life cycle */

/* The codec: topics from the configuration; with schema.registry.url, our schemas are
 * registered (subject "<topic>-value") and unknown writer ids are fetched from it. */
static avro_codec_t *codec_for(app_t *a, bool *transient, char *err, size_t errlen)
{
    const cfg_t *cfg = a->cfg;
    char changelog[256];
    avro_codec_config_t cc;
    avro_codec_config_defaults(&cc);
    cc.topics[AVRO_CODEC_TYPE_INPUT] = cfg->topic_input;
    cc.topics[AVRO_CODEC_TYPE_STATE] = cfg_changelog_topic(cfg, changelog, sizeof(changelog));
    for (int k = 0; k < ENG_OUT_KIND_COUNT; k++)
        cc.topics[k] = cfg->topic_out[k];
    if (cfg->schema_registry_url[0]) {
        a->registry = sr_client_new(cfg->schema_registry_url, 5000, err, errlen);
        if (!a->registry || sr_client_set_auth(a->registry, cfg->schema_registry_user_info,
                                               cfg->schema_registry_ca_location, err, errlen) != 0)
            return NULL;
        cc.registry = a->registry;
    }
    avro_codec_t *c = avro_codec_new(&cc, err, errlen);
    int rc = c && a->registry ? avro_codec_register_schemas(c, err, errlen) : 0;
    if (rc != 0) {
        *transient = rc == AVRO_CODEC_EUNAVAILABLE;
        avro_codec_destroy(c);
        return NULL;
    }
    return c;
}

/* Stored points and amounts mean something only in the currency of the program that
 * wrote them: the store remembers it, and a program in another currency is refused
 * (exit 2) rather than dead-lettering every event or misreading every balance. */
static int check_currency(app_t *a, char *err, size_t errlen)
{
    char stored[ENG_CURRENCY_MAX + 8];
    const char *cur = a->prog->currency;
    if (store_meta_get(a->store, "currency", stored, sizeof(stored), err, errlen) != 0)
        return -1;
    if (!stored[0])
        return store_meta_put(a->store, "currency", cur, err, errlen);
    if (strcmp(stored, cur) == 0)
        return 0;
    snprintf(err, errlen,
             "state.dir %s holds the states of a program in %s, but program.file %s is in %s: "
             "every balance would be read in the wrong currency. Keep a program in %s; or "
             "migrate: run the new program under a new application.id with an empty state.dir "
             "(it starts from new topics), or delete the old state (loyalty-stream reset "
             "--state %s) and its changelog topic",
             a->cfg->state_dir, stored, a->cfg->program_file, cur, stored, a->cfg->state_dir);
    return -1;
}

app_t *app_new(const cfg_t *cfg, bool *transient, char *err, size_t errlen)
{
    *transient = false;
    app_t *a = calloc(1, sizeof(*a));
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    a->cfg = cfg;
    a->cache.owner = calloc(STATE_CACHE_SLOTS, sizeof(*a->cache.owner));
    a->cache.st = calloc(STATE_CACHE_SLOTS, sizeof(*a->cache.st));
    if (!a->cache.owner || !a->cache.st) {
        snprintf(err, errlen, "out of memory for the state cache");
        goto fail;
    }
    a->prog = prog_load(cfg->program_file, NULL, err, errlen);
    if (!a->prog)
        goto fail;
    for (const char *w = a->prog->warnings; *w;) { /* valid, but probably not meant */
        size_t n = strcspn(w, "\n");
        log_warn("app", "program file warning", "warning=\"%.*s\"", (int)n, w);
        w += n + (w[n] == '\n');
    }
    store_config_t sc;
    store_config_default(&sc);
    sc.dir = cfg->state_dir;
    sc.memory_budget_bytes = (size_t)cfg->memory_budget_bytes;
    sc.task_drop_delay_ms = cfg->state_cleanup_delay_ms;
    a->corrupt_task = -1;
    a->store = store_new(&sc, wall_ms(), err, errlen);
    if (!a->store && cfg->state_reset_on_corruption && store_err_is_corrupt(err)) {
        log_warn("app",
                 "state store is corrupt: deleting it; every task restores from the "
                 "changelog (state.reset.on.corruption)",
                 "err=\"%s\"", err);
        if (store_wipe(cfg->state_dir, err, errlen) == 0)
            a->store = store_new(&sc, wall_ms(), err, errlen);
    }
    if (!a->store || check_currency(a, err, errlen) != 0)
        goto fail;
    a->codec = codec_for(a, transient, err, errlen);
    if (!a->codec)
        goto fail;
    avro_codec_config_t qc;
    avro_codec_config_defaults(&qc);
    a->q_codec = avro_codec_new(&qc, err, errlen);
    if (!a->q_codec || pthread_mutex_init(&a->q_lock, NULL) != 0)
        goto fail;
    a->q_lock_ready = true;
    /* With a registry, states are framed with the registry's id: teach the query codec. */
    int32_t state_id = avro_codec_schema_id(a->codec, AVRO_CODEC_TYPE_STATE);
    if (state_id != avro_codec_schema_id(a->q_codec, AVRO_CODEC_TYPE_STATE) &&
        avro_codec_add_writer_schema(
            a->q_codec, state_id, avro_codec_schema_json(AVRO_CODEC_TYPE_STATE), err, errlen) != 0)
        goto fail;
    a->topics_out[0] = cfg->topic_dead_letter;
    for (int k = 0; k < ENG_OUT_KIND_COUNT; k++)
        a->topics_out[k + 1] = cfg->topic_out[k];
    a->hooks = (pipe_hooks_t){.opaque = a,
                              .task_open = h_task_open,
                              .offset_metadata = h_offset_metadata,
                              .restore = h_restore,
                              .restored = h_restored,
                              .process = h_process,
                              .timers = h_timers,
                              .flush = h_flush,
                              .committed = h_committed,
                              .aborted = h_aborted,
                              .task_close = h_task_close};
    return a;
fail:
    app_destroy(a);
    return NULL;
}

int app_query_customer(void *opaque, const char *customer, char **json)
{
    app_t *a = opaque;
    char *val = NULL, err[256];
    size_t vlen = 0;
    int64_t due;
    int32_t task = -1;
    int rc = store_read_committed(a->store, -1, customer, strlen(customer), &val, &vlen, &due,
                                  &task, err, sizeof(err));
    if (rc == STORE_NOT_FOUND)
        return 1; /* HTTP_QUERY_NOT_FOUND */
    if (rc != 0) {
        log_warn("app", "state query failed", "customer=\"%s\" err=\"%s\"", customer, err);
        return -1;
    }
    eng_state_t *st = malloc(sizeof(*st));
    pthread_mutex_lock(&a->q_lock);
    dlq_reason_t r =
        st ? avro_codec_decode_state(a->q_codec, val, vlen, st, err, sizeof(err)) : DLQ_MALFORMED;
    pthread_mutex_unlock(&a->q_lock);
    free(val);
    json_t *j = r == DLQ_OK ? eng_json_state(st) : NULL;
    free(st);
    if (!j)
        return -1;
    json_object_set_new(j, "task", json_integer(task));
    *json = eng_json_line(j);
    json_decref(j);
    return *json ? 0 : -1;
}

const char *const *app_topics_out(const app_t *a, size_t *n)
{
    *n = sizeof(a->topics_out) / sizeof(a->topics_out[0]);
    return a->topics_out;
}

const pipe_hooks_t *app_hooks(app_t *a)
{
    return &a->hooks;
}

void app_get_stats(const app_t *a, app_stats_t *out)
{
    *out = a->stats;
}

int app_get_task_stats(const app_t *a, int32_t p, app_stats_t *out)
{
    if (p < 0 || p >= a->n_tasks || !a->tasks[p].opened) {
        memset(out, 0, sizeof(*out));
        return -1;
    }
    *out = a->tasks[p].committed;
    return a->tasks[p].st ? 1 : 0;
}

int32_t app_task_slots(const app_t *a)
{
    int32_t n = a->n_tasks;
    while (n > 0 && !a->tasks[n - 1].opened)
        n--;
    return n;
}

/* A counter family labelled by task, and by @p second when it is not NULL. */
static met_family_t *task_family(met_registry_t *reg, const char *name, const char *help,
                                 const char *second, char *err, size_t errlen)
{
    const char *labels[] = {"task", second};
    return met_family_new(
        reg, &(met_spec_t){.name = name, .help = help, .labels = labels, .nlabels = second ? 2 : 1},
        err, errlen);
}

int app_attach_metrics(app_t *a, met_registry_t *reg, char *err, size_t errlen)
{
    if (!(a->f_events =
              task_family(reg, "loyalty_events_applied_total",
                          "Input events the engine applied, by task.", NULL, err, errlen)) ||
        !(a->f_dups =
              task_family(reg, "loyalty_duplicate_events_total",
                          "Input events ignored as repeats, by task.", NULL, err, errlen)) ||
        !(a->f_dlq = task_family(reg, "loyalty_dead_letters_total",
                                 "Records sent to the dead-letter topic, by task and reason.",
                                 "reason", err, errlen)) ||
        !(a->f_timers = task_family(reg, "loyalty_timers_fired_total",
                                    "Customers whose timers fired, by task.", NULL, err, errlen)) ||
        !(a->f_points =
              task_family(reg, "loyalty_points_issued_total",
                          "Points credited (BonusEarned), by task.", NULL, err, errlen)) ||
        !(a->f_outputs =
              task_family(reg, "loyalty_outputs_total", "Output events produced, by task and kind.",
                          "kind", err, errlen)) ||
        !(a->f_bounds = task_family(reg, "loyalty_state_bounds_total",
                                    "Engine calls in which a per-customer state bound bit, by "
                                    "task and bound (docs/STATE.md, Bounds).",
                                    "bound", err, errlen))) {
        a->f_events = NULL; /* all or nothing: task_metrics_make checks f_events */
        return -1;
    }
    for (int32_t p = 0; p < a->n_tasks; p++) /* tasks assigned before (none in run) */
        if (a->tasks[p].st)
            task_metrics_make(a, p, &a->tasks[p].m);
    return 0;
}

void app_set_output_observer(app_t *a, void (*fn)(void *ctx, const eng_output_t *o), void *ctx)
{
    a->observer = fn;
    a->observer_ctx = ctx;
}

int32_t app_corrupt_task(const app_t *app)
{
    return app->corrupt_task;
}

int app_reset_task(app_t *app, int32_t p, char *err, size_t errlen)
{
    if (store_task_drop(app->store, p, err, errlen) < 0)
        return -1;
    app->corrupt_task = -1;
    return 0;
}

void app_destroy(app_t *a)
{
    if (!a)
        return;
    for (int32_t p = 0; p < a->n_tasks; p++) {
        if (a->tasks[p].st)
            h_task_close(a, p);
        dirty_free(&a->tasks[p].dirty);
    }
    free(a->tasks);
    free(a->cache.owner);
    free(a->cache.st);
    free(a->frame);
    avro_codec_destroy(a->codec);
    avro_codec_destroy(a->q_codec);
    if (a->q_lock_ready)
        pthread_mutex_destroy(&a->q_lock);
    sr_client_destroy(a->registry);
    store_destroy(a->store);
    prog_destroy(a->prog);
    free(a);
}
