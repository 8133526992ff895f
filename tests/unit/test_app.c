/*
 * Unit tests of processor/app (app.c): the loyalty app driven through its pipe_hooks_t by
 * a fake pipeline (fake_pipe.c) that keeps the "cluster" in memory, so the edge cases of
 * transactions (aborts, timers and events in one transaction, repeats, restores, moved
 * tasks) are reached in milliseconds instead of through processes on a broker. Everything
 * else is real: the program file of the integration tests (tests/it/programs/eos.yaml),
 * RocksDB in a temporary directory, the Avro codec for inputs, outputs and states.
 *
 * The judge is a reference beside each test: the engine run directly with the semantics
 * of `loyalty-stream replay --partitions N` (one stream-time clock per partition; before
 * each event every timer due by that clock fires; invalid events are skipped). Outputs
 * are compared as sorted JSON lines (timers fire at ticks in the app and before events in
 * the reference, so only the order across customers differs), states as the JSON that
 * app_query_customer prints, after both sides have fired every timer due by the clock.
 */
#include "app.h"
#include "avro_codec.h"
#include "cfg.h"
#include "clog.h"
#include "dlq.h"
#include "eng.h"
#include "eng_json.h"
#include "fake_pipe.h"
#include "log.h"
#include "prog.h"
#include "test_store_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#define NPARTS_MAX 4

/* ------------------------------------------------------------------ lines */

typedef struct lines {
    char **v;
    size_t n, cap;
} lines_t;

static void lines_add(lines_t *l, char *s) /* takes s */
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = realloc(l->v, l->cap * sizeof(*l->v));
        assert_non_null(l->v);
    }
    l->v[l->n++] = s;
}

static void lines_free(lines_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Equal as multisets: both are sorted, the first difference is printed. */
static void assert_lines_equal(lines_t *want, lines_t *got, const char *what)
{
    qsort(want->v, want->n, sizeof(char *), cmp_str);
    qsort(got->v, got->n, sizeof(char *), cmp_str);
    for (size_t i = 0; i < want->n && i < got->n; i++)
        if (strcmp(want->v[i], got->v[i]) != 0)
            fail_msg("%s differ at %zu:\nwant %sgot  %s", what, i, want->v[i], got->v[i]);
    if (want->n != got->n)
        fail_msg("%s: want %zu lines, got %zu (first extra: %s)", what, want->n, got->n,
                 want->n > got->n ? want->v[got->n] : got->v[want->n]);
}

static char *json_line_with_task(json_t *j, int32_t task)
{
    assert_non_null(j);
    json_object_set_new(j, "task", json_integer(task));
    char *s = eng_json_line(j);
    json_decref(j);
    assert_non_null(s);
    return s;
}

/* ------------------------------------------------------------------ the reference */

typedef struct ref_cust {
    char id[ENG_ID_MAX];
    int32_t part;
    eng_state_t st;
} ref_cust_t;

typedef struct ref {
    prog_t *prog;
    int32_t n_parts;
    ref_cust_t **c;
    size_t n, cap;
    int64_t now[NPARTS_MAX];
    eng_output_t ov[ENG_OUT_MIN_CAP];
    lines_t out;
    int64_t events, duplicates, rejected, points;
} ref_t;

static int32_t part_of(int32_t n_parts, const char *customer)
{
    return (int32_t)(eng_id_hash(customer) % (uint64_t)n_parts);
}

static ref_cust_t *ref_get(ref_t *r, const char *id, bool create)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->c[i]->id, id) == 0)
            return r->c[i];
    if (!create)
        return NULL;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->c = realloc(r->c, r->cap * sizeof(*r->c));
        assert_non_null(r->c);
    }
    ref_cust_t *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    snprintf(c->id, sizeof(c->id), "%s", id);
    c->part = part_of(r->n_parts, id);
    r->c[r->n++] = c;
    return c;
}

static void ref_drain(ref_t *r, eng_outbuf_t *ob)
{
    for (uint32_t i = 0; i < ob->n; i++) {
        json_t *j = eng_json_output(&ob->v[i]);
        char *s = eng_json_line(j);
        json_decref(j);
        assert_non_null(s);
        lines_add(&r->out, s);
        if (ob->v[i].kind == ENG_OUT_BONUS_EARNED)
            r->points += ob->v[i].u.bonus_earned.points;
    }
    ob->n = 0;
}

/* Every timer of partition p due by its clock. */
static void ref_fire(ref_t *r, int32_t p)
{
    for (size_t i = 0; i < r->n; i++) {
        ref_cust_t *c = r->c[i];
        eng_timer_kind_t k;
        if (c->part != p || !(c->st.flags & 1) || eng_next_due(r->prog, &c->st, &k) > r->now[p])
            continue;
        eng_outbuf_t ob = {.v = r->ov, .cap = ENG_OUT_MIN_CAP};
        do {
            ob.n = 0;
            eng_on_timer(r->prog, &c->st, r->now[p], &ob);
            ref_drain(r, &ob);
        } while (ob.next_due <= r->now[p]);
    }
}

static void ref_fire_all(ref_t *r)
{
    for (int32_t p = 0; p < r->n_parts; p++)
        ref_fire(r, p);
}

static void ref_apply(ref_t *r, const eng_event_t *ev)
{
    char err[256];
    if (eng_event_check(r->prog, ev, err, sizeof(err)) != 0) {
        r->rejected++; /* replay skips it */
        return;
    }
    int32_t p = part_of(r->n_parts, ev->customer_id);
    if (ev->time_ms > r->now[p])
        r->now[p] = ev->time_ms;
    ref_fire(r, p);
    ref_cust_t *c = ref_get(r, ev->customer_id, true);
    eng_outbuf_t ob = {.v = r->ov, .cap = ENG_OUT_MIN_CAP};
    int rc;
    do {
        ob.n = 0;
        rc = eng_apply_event(r->prog, &c->st, ev, &ob, err, sizeof(err));
        ref_drain(r, &ob);
    } while (rc == ENG_ETIMERS);
    if (rc == ENG_OK)
        r->events++;
    else if (rc == ENG_DUPLICATE)
        r->duplicates++;
    else
        fail_msg("reference: %s", err);
}

/* The customer's state as app_query_customer prints it, NULL when unknown. */
static char *ref_state_line(ref_t *r, const char *customer)
{
    ref_cust_t *c = ref_get(r, customer, false);
    return c ? json_line_with_task(eng_json_state(&c->st), c->part) : NULL;
}

static void ref_free(ref_t *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->c[i]);
    free(r->c);
    lines_free(&r->out);
    prog_destroy(r->prog);
    free(r);
}

/* ------------------------------------------------------------------ the fixture */

typedef struct fx {
    char *dir; /* removed at the end */
    int stores;
    cfg_t *cfg;
    app_t *app;
    pipe_t *pp;
    avro_codec_t *codec; /* the test's own: encodes inputs, decodes outputs and states */
    ref_t *ref;
    int32_t n_parts;
} fx_t;

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t ms(const char *iso)
{
    int64_t t;
    assert_int_equal(eng_json_parse_time(iso, &t), 0);
    return t;
}

static void fx_set(fx_t *fx, const char *key, const char *value)
{
    char err[512];
    if (cfg_set(fx->cfg, key, value, "test", err, sizeof(err)) != 0)
        fail_msg("cfg_set %s: %s", key, err);
}

static void assign_all(fx_t *fx)
{
    char err[512];
    for (int32_t p = 0; p < fx->n_parts; p++)
        if (fp_assign(fx->pp, p, err, sizeof(err)) != PIPE_OK)
            fail_msg("assign %d: %s", (int)p, err);
}

/* A new app on the next store directory (fresh) or on the same one. */
static void fx_open_app(fx_t *fx, bool fresh_store)
{
    char path[4200], err[512];
    if (fresh_store) {
        snprintf(path, sizeof(path), "%s/state-%d", fx->dir, fx->stores++);
        fx_set(fx, "state.dir", path);
    }
    bool transient;
    fx->app = app_new(fx->cfg, &transient, err, sizeof(err));
    if (!fx->app)
        fail_msg("app_new: %s", err);
    fp_set_hooks(fx->pp, app_hooks(fx->app));
    assign_all(fx);
}

/* The process dies (its open transaction is aborted by the broker) and a new one starts. */
static void fx_restart(fx_t *fx, bool fresh_store)
{
    fp_crash(fx->pp);
    app_destroy(fx->app);
    fx_open_app(fx, fresh_store);
}

/* @p kv: extra settings, key then value, NULL-terminated. */
static fx_t *fx_new(int32_t n_parts, const char *const *kv)
{
    fx_t *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->n_parts = n_parts;
    fx->dir = tsu_tmpdir();
    fx->cfg = cfg_new_defaults();
    assert_non_null(fx->cfg);
    const char *src = getenv("LS_SOURCE_DIR");
    char program[4200], err[512];
    snprintf(program, sizeof(program), "%s/tests/it/programs/eos.yaml",
             src && *src ? src : LS_SOURCE_DIR_DEFAULT);
    fx_set(fx, "program.file", program);
    fx_set(fx, "clock", "stream");
    fx_set(fx, "application.id", "app-test");
    for (size_t i = 0; kv && kv[i]; i += 2)
        fx_set(fx, kv[i], kv[i + 1]);
    char changelog[256];
    fx->pp = fp_new(n_parts, fx->cfg->topic_input,
                    cfg_changelog_topic(fx->cfg, changelog, sizeof(changelog)));
    avro_codec_config_t cc;
    avro_codec_config_defaults(&cc);
    fx->codec = avro_codec_new(&cc, err, sizeof(err));
    assert_non_null(fx->codec);
    fx->ref = calloc(1, sizeof(*fx->ref));
    assert_non_null(fx->ref);
    fx->ref->n_parts = n_parts;
    fx->ref->prog = prog_load(program, NULL, err, sizeof(err));
    if (!fx->ref->prog)
        fail_msg("%s", err);
    fx_open_app(fx, true);
    return fx;
}

static void fx_free(fx_t *fx)
{
    app_destroy(fx->app);
    fp_destroy(fx->pp);
    avro_codec_destroy(fx->codec);
    ref_free(fx->ref);
    cfg_destroy(fx->cfg);
    tsu_rmtree(fx->dir);
    free(fx);
}

/* ------------------------------------------------------------------ inputs */

static eng_event_t *parse(const char *json)
{
    eng_event_t *ev = malloc(sizeof(*ev));
    char err[256];
    assert_non_null(ev);
    if (eng_json_parse_event(json, strlen(json), ev, err, sizeof(err)) != 0)
        fail_msg("%s: %s", json, err);
    return ev;
}

/* Append the Avro form of a JSON event to its customer's partition with @p key (NULL =
 * the customer); the reference gets it too when @p to_ref. @returns its offset. */
static int64_t send_as(fx_t *fx, const char *json, const char *key, bool to_ref)
{
    eng_event_t *ev = parse(json);
    const uint8_t *buf;
    size_t len;
    char err[256];
    if (avro_codec_encode_event(fx->codec, ev, &buf, &len, err, sizeof(err)) != 0)
        fail_msg("encode %s: %s", json, err);
    if (!key)
        key = ev->customer_id;
    int64_t off = fp_input(fx->pp, part_of(fx->n_parts, ev->customer_id), key, strlen(key), buf,
                           len, ev->time_ms);
    if (to_ref)
        ref_apply(fx->ref, ev);
    free(ev);
    return off;
}

static int64_t send(fx_t *fx, const char *json)
{
    return send_as(fx, json, NULL, true);
}

#define PURCHASE_FMT                                                                        \
    "{\"type\":\"purchase\",\"event_id\":\"%s\",\"customer_id\":\"%s\",\"time\":\"%s\","    \
    "\"currency\":\"RUB\",\"lines\":[{\"sku\":\"s1\",\"category\":\"misc\",\"quantity\":1," \
    "\"amount\":%ld}]}"

/* A purchase of @p amount minor units as JSON into @p buf. */
static const char *purchase(char *buf, size_t len, const char *id, const char *customer,
                            const char *time, long amount)
{
    snprintf(buf, len, PURCHASE_FMT, id, customer, time, amount);
    return buf;
}

static int64_t buy(fx_t *fx, const char *id, const char *customer, const char *time, long amount)
{
    char json[512];
    return send(fx, purchase(json, sizeof(json), id, customer, time, amount));
}

/* ------------------------------------------------------------------ driving */

static void step(fx_t *fx)
{
    char err[512];
    int rc = fp_step(fx->pp, wall_ms(), err, sizeof(err));
    if (rc != PIPE_OK)
        fail_msg("step: %d %s", rc, err);
}

static void process(fx_t *fx, int32_t p, size_t max)
{
    char err[512];
    int rc = fp_process(fx->pp, p, max, err, sizeof(err));
    if (rc != PIPE_OK)
        fail_msg("process: %d %s", rc, err);
}

static void timers(fx_t *fx)
{
    char err[512];
    int rc = fp_timers(fx->pp, wall_ms(), err, sizeof(err));
    if (rc != PIPE_OK)
        fail_msg("timers: %d %s", rc, err);
}

static void commit(fx_t *fx)
{
    char err[512];
    int rc = fp_commit(fx->pp, err, sizeof(err));
    if (rc != PIPE_OK)
        fail_msg("commit: %d %s", rc, err);
}

static app_stats_t stats(const fx_t *fx)
{
    app_stats_t s;
    app_get_stats(fx->app, &s);
    return s;
}

/* ------------------------------------------------------------------ reading results */

static bool is_dead_letter(const fx_t *fx, const fp_rec_t *r)
{
    return strcmp(r->topic, fx->cfg->topic_dead_letter) == 0;
}

/* The outputs (not dead letters) among records [from, n) of the output log whose fate is
 * @p status, as JSON lines into @p out (may be NULL). Each is checked: its topic is its
 * kind's, its key the customer, its partition by key. @returns how many. */
static size_t outputs(fx_t *fx, size_t from, fp_status_t status, lines_t *out)
{
    const fp_log_t *l = fp_outputs(fx->pp);
    size_t n = 0;
    for (size_t i = from; i < l->n; i++) {
        const fp_rec_t *r = &l->v[i];
        if (r->status != status || is_dead_letter(fx, r))
            continue;
        eng_output_t o;
        char msg[256];
        if (avro_codec_decode_output(fx->codec, r->value, r->value_len, &o, msg, sizeof(msg)) !=
            DLQ_OK)
            fail_msg("output %zu on %s: %s", i, r->topic, msg);
        assert_string_equal(r->topic, fx->cfg->topic_out[o.kind]);
        assert_int_equal(r->key_len, strlen(o.customer_id));
        assert_memory_equal(r->key, o.customer_id, r->key_len);
        assert_int_equal(r->partition, -1);
        n++;
        if (out) {
            json_t *j = eng_json_output(&o);
            char *s = eng_json_line(j);
            json_decref(j);
            lines_add(out, s);
        }
    }
    return n;
}

static size_t dead_letters(const fx_t *fx, size_t from, fp_status_t status)
{
    const fp_log_t *l = fp_outputs(fx->pp);
    size_t n = 0;
    for (size_t i = from; i < l->n; i++)
        n += l->v[i].status == status && is_dead_letter(fx, &l->v[i]);
    return n;
}

static size_t n_out(const fx_t *fx)
{
    return fp_outputs(fx->pp)->n;
}

/* The committed state of @p customer as the app serves it (NULL when unknown). */
static char *query(fx_t *fx, const char *customer)
{
    char *json = NULL;
    int rc = app_query_customer(fx->app, customer, &json);
    if (rc == 1)
        return NULL;
    assert_int_equal(rc, 0);
    return json;
}

/* A changelog record's state as JSON (eng_json_state); its due in *due. */
static json_t *clog_state_obj(fx_t *fx, const fp_rec_t *r, int64_t *due)
{
    const void *st;
    size_t st_len;
    char err[256];
    assert_non_null(r->value);
    assert_int_equal(clog_frame_decode(r->value, r->value_len, due, &st, &st_len, err, sizeof(err)),
                     0);
    eng_state_t *s = malloc(sizeof(*s));
    assert_non_null(s);
    assert_int_equal(avro_codec_decode_state(fx->codec, st, st_len, s, err, sizeof(err)), DLQ_OK);
    json_t *j = eng_json_state(s);
    free(s);
    return j;
}

/* A changelog record's state, printed as app_query_customer does; its due in *due. */
static char *clog_state(fx_t *fx, const fp_rec_t *r, int64_t *due)
{
    return json_line_with_task(clog_state_obj(fx, r, due), r->partition);
}

static bool rec_is(const fp_rec_t *r, const char *customer)
{
    return r->key_len == strlen(customer) && memcmp(r->key, customer, r->key_len) == 0;
}

/* @p customer's changelog records at index >= from with fate @p status; the last one in
 * *last (-1 when none). */
static size_t clog_count(fx_t *fx, const char *customer, size_t from, fp_status_t status,
                         const fp_rec_t **last)
{
    const fp_log_t *l = fp_changelog(fx->pp, part_of(fx->n_parts, customer));
    size_t n = 0;
    if (last)
        *last = NULL;
    for (size_t i = from; i < l->n; i++) {
        if (l->v[i].status != status || !rec_is(&l->v[i], customer))
            continue;
        n++;
        if (last)
            *last = &l->v[i];
    }
    return n;
}

/* The changelog's last committed word on @p customer is the committed state, and its due
 * time is the one the engine gives for that state. */
static void assert_changelog_ends_with_state(fx_t *fx, const char *customer)
{
    const fp_rec_t *last;
    assert_true(clog_count(fx, customer, 0, FP_COMMITTED, &last) > 0);
    int64_t due;
    char *from_log = clog_state(fx, last, &due);
    char *committed = query(fx, customer);
    assert_non_null(committed);
    assert_string_equal(from_log, committed);
    ref_cust_t *c = ref_get(fx->ref, customer, false);
    if (c) {
        eng_timer_kind_t k;
        assert_int_equal(due, eng_next_due(fx->ref->prog, &c->st, &k));
    }
    free(from_log);
    free(committed);
}

/* Every customer's committed state equals the reference's. */
static void assert_states_as_ref(fx_t *fx)
{
    ref_fire_all(fx->ref);
    for (size_t i = 0; i < fx->ref->n; i++) {
        char *want = ref_state_line(fx->ref, fx->ref->c[i]->id);
        char *got = query(fx, fx->ref->c[i]->id);
        if (!got)
            fail_msg("customer %s: no committed state", fx->ref->c[i]->id);
        assert_string_equal(got, want);
        free(want);
        free(got);
    }
}

/* The committed outputs equal the reference's (as multisets). */
static void assert_outputs_as_ref(fx_t *fx)
{
    ref_fire_all(fx->ref);
    lines_t got = {0};
    outputs(fx, 0, FP_COMMITTED, &got);
    assert_lines_equal(&fx->ref->out, &got, "outputs");
    lines_free(&got);
}

/* The app's committed totals equal the reference's (one app instance from the start). */
static void assert_stats_as_ref(fx_t *fx)
{
    app_stats_t s = stats(fx);
    assert_int_equal(s.events, fx->ref->events);
    assert_int_equal(s.duplicates, fx->ref->duplicates);
    assert_int_equal(s.points_issued, fx->ref->points);
    int64_t total = 0;
    for (int k = 0; k < ENG_OUT_KIND_COUNT; k++)
        total += s.outputs[k];
    assert_int_equal(total, (int64_t)fx->ref->out.n);
}

/* The final tick and commit, then everything against the reference. */
static void finish_and_compare(fx_t *fx, bool with_stats)
{
    step(fx);
    assert_outputs_as_ref(fx);
    assert_states_as_ref(fx);
    if (with_stats)
        assert_stats_as_ref(fx);
}

static void assert_stream_time_md(fx_t *fx, int32_t p, const char *iso)
{
    const char *md;
    char want[64];
    fp_committed_offset(fx->pp, p, &md);
    snprintf(want, sizeof(want), "v1;stream_time=%lld", (long long)ms(iso));
    assert_string_equal(md, want);
}

/* ------------------------------------------------------------------ tests */

/* An event hits the task's state cache (the customer was saved by the previous
 * transaction) and its transaction aborts: the redo meets the committed state, so the
 * same outputs come again and nothing is credited twice. */
static void test_abort_after_cache_hit_restores_committed_state(void **st)
{
    (void)st;
    fx_t *fx = fx_new(1, NULL);
    buy(fx, "e1", "anna", "2026-03-01T10:00:00Z", 100000);
    step(fx);
    char *after_e1 = query(fx, "anna");
    assert_non_null(after_e1);

    size_t mark = n_out(fx);
    buy(fx, "e2", "anna", "2026-03-02T10:00:00Z", 200000);
    process(fx, 0, 0); /* anna comes from the cache: e1's save put her there */
    assert_true(n_out(fx) > mark);
    char *during = query(fx, "anna"); /* queries read committed state only */
    assert_string_equal(during, after_e1);
    fp_abort(fx->pp);
    char *aborted_state = query(fx, "anna");
    assert_string_equal(aborted_state, after_e1);
    assert_int_equal(stats(fx).events, 1);

    step(fx); /* e2 again */
    lines_t first = {0}, redo = {0};
    assert_true(outputs(fx, mark, FP_ABORTED, &first) > 0);
    outputs(fx, mark, FP_COMMITTED, &redo);
    assert_lines_equal(&first, &redo, "outputs of the aborted try and of the redo");
    assert_int_equal(stats(fx).events, 2);
    finish_and_compare(fx, true);
    assert_changelog_ends_with_state(fx, "anna");

    lines_free(&first);
    lines_free(&redo);
    free(after_e1);
    free(during);
    free(aborted_state);
    fx_free(fx);
}

/* A timer and an event of one customer in one transaction, in both orders: the customer
 * is saved twice, so her changelog gets her first state at once and her final state at
 * the flush; the last record wins and is the committed state. A customer saved once gets
 * one record. */
static void test_timer_and_event_for_one_customer_in_one_transaction(void **st)
{
    (void)st;
    fx_t *fx = fx_new(1, NULL);
    buy(fx, "a1", "anna", "2026-03-01T10:00:00Z", 100000);
    buy(fx, "b1", "boris", "2026-03-01T11:00:00Z", 100000);
    step(fx);

    /* timer first: boris moves the clock past anna's warnings and expiry */
    size_t clog_mark = fp_changelog(fx->pp, 0)->n, out_mark = n_out(fx);
    buy(fx, "b2", "boris", "2026-04-20T10:00:00Z", 50000);
    buy(fx, "a2", "anna", "2026-04-20T12:00:00Z", 300000);
    process(fx, 0, 1); /* b2 */
    timers(fx);        /* anna's timers fire: her first save in the transaction */
    process(fx, 0, 1); /* a2: her second */
    commit(fx);
    assert_int_equal(clog_count(fx, "anna", clog_mark, FP_COMMITTED, NULL), 2);
    assert_int_equal(clog_count(fx, "boris", clog_mark, FP_COMMITTED, NULL), 1);
    assert_changelog_ends_with_state(fx, "anna");
    assert_changelog_ends_with_state(fx, "boris");
    assert_true(outputs(fx, out_mark, FP_COMMITTED, NULL) > 2);
    assert_states_as_ref(fx);

    /* event first: anna buys, then boris moves the clock past her new timers */
    clog_mark = fp_changelog(fx->pp, 0)->n;
    buy(fx, "a3", "anna", "2026-05-01T10:00:00Z", 100000);
    buy(fx, "b3", "boris", "2026-06-30T10:00:00Z", 50000);
    process(fx, 0, 0);
    timers(fx); /* anna's second save in the transaction */
    commit(fx);
    assert_int_equal(clog_count(fx, "anna", clog_mark, FP_COMMITTED, NULL), 2);
    assert_changelog_ends_with_state(fx, "anna");
    assert_changelog_ends_with_state(fx, "boris");
    finish_and_compare(fx, true);
    fx_free(fx);
}

/* A repeat of an event (same event_id) after the customer's timers fired is a duplicate:
 * no outputs, counted. A repeat whose own catch-up fires timers emits only the timers'
 * outputs and saves the state, so the next tick does not fire them again. */
static void test_repeat_after_catch_up_is_ignored(void **st)
{
    (void)st;
    fx_t *fx = fx_new(1, NULL);
    char e1[512], a2[512];
    purchase(e1, sizeof(e1), "e1", "anna", "2026-03-01T10:00:00Z", 100000);
    send(fx, e1);
    step(fx);
    buy(fx, "b1", "boris", "2026-04-20T10:00:00Z", 50000);
    step(fx); /* the tick fires anna's warnings and expiry */
    app_stats_t before = stats(fx);
    assert_true(before.timers_fired > 0);

    size_t mark = n_out(fx);
    send(fx, e1);
    step(fx);
    assert_int_equal(outputs(fx, mark, FP_COMMITTED, NULL), 0);
    assert_int_equal(dead_letters(fx, mark, FP_COMMITTED), 0);
    assert_int_equal(stats(fx).duplicates, 1);
    assert_int_equal(stats(fx).events, before.events);

    /* the repeat catches up anna's timers itself (no tick since boris moved the clock) */
    purchase(a2, sizeof(a2), "a2", "anna", "2026-05-01T10:00:00Z", 100000);
    send(fx, a2);
    step(fx);
    mark = n_out(fx);
    buy(fx, "b2", "boris", "2026-06-30T10:00:00Z", 50000);
    send(fx, a2);
    process(fx, 0, 0);
    lines_t during = {0};
    outputs(fx, mark, FP_OPEN, &during);
    bool anna_timer = false;
    for (size_t i = 0; i < during.n; i++) {
        assert_null(strstr(during.v[i], "\"cause_id\":\"a2\""));
        anna_timer |= strstr(during.v[i], "\"output_id\":\"anna:") != NULL;
    }
    assert_true(anna_timer);
    timers(fx); /* must not fire anna's timers again */
    commit(fx);
    assert_int_equal(stats(fx).duplicates, 2);
    finish_and_compare(fx, true);
    lines_free(&during);
    fx_free(fx);
}

/* The sum of BonusEarned "period" points for `period` among the output lines. */
static int64_t period_points(const lines_t *l, const char *period)
{
    int64_t sum = 0;
    char want[32];
    snprintf(want, sizeof(want), "\"period\":\"%s\"", period);
    for (size_t i = 0; i < l->n; i++) {
        const char *p = strstr(l->v[i], "\"points\":");
        if (strstr(l->v[i], "\"type\":\"BonusEarned\"") && strstr(l->v[i], want) && p)
            sum += strtoll(p + 9, NULL, 10);
    }
    return sum;
}

/* Under the wall clock a task reading a backlog (here months old) fires timers by its
 * stream time until it has caught up: the backlog's events are neither too late nor
 * counted in the wrong period, and March's award is what replay pays. Once caught up, the
 * wall clock closes April although no later event came (an idle partition). */
static void test_wall_clock_reads_a_backlog_by_stream_time_then_closes_by_wall(void **st)
{
    (void)st;
    char path[4096];
    char *dir = tsu_tmpdir();
    snprintf(path, sizeof(path), "%s/award.yaml", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("currency: RUB\ntimezone: Europe/Moscow\n"
          "period_award: {rates: [{from: 0, percent: 3}, {from: 1000, percent: 10}, "
          "{from: 1500, percent: 15}]}\n",
          f);
    fclose(f);
    const char *kv[] = {"program.file", path, "clock", "wall", NULL};
    fx_t *fx = fx_new(1, kv);
    prog_destroy(fx->ref->prog);
    char err[512];
    fx->ref->prog = prog_load(path, NULL, err, sizeof(err));
    buy(fx, "m1", "anna", "2026-03-20T10:00:00Z", 100000);
    buy(fx, "a1", "anna", "2026-04-02T10:00:00Z", 50000);
    buy(fx, "m2", "anna", "2026-03-31T12:00:00Z", 60000); /* a slow till's March sale */
    process(fx, 0, 0);
    lines_t got = {0};
    outputs(fx, 0, FP_OPEN, &got);
    assert_int_equal(dead_letters(fx, 0, FP_OPEN), 0);
    assert_int_equal(period_points(&got, "2026-03"), 240); /* 15% of 1,600 */
    assert_int_equal(period_points(&got, "2026-04"), 0);   /* April is still open */
    commit(fx);
    timers(fx); /* caught up: the wall clock (today) is past April's end */
    commit(fx);
    lines_t all = {0};
    outputs(fx, 0, FP_COMMITTED, &all);
    assert_int_equal(period_points(&all, "2026-04"), 15); /* 3% of 500 */
    assert_int_equal(period_points(&all, "2026-03"), 240);
    lines_free(&got);
    lines_free(&all);
    fx_free(fx);
    tsu_rmtree(dir);
}

/* Records that cannot be applied go to the dead-letter topic with their original bytes
 * and the reason in headers; the records after them are processed. */
static void test_undecodable_record_goes_to_dead_letter_and_processing_goes_on(void **st)
{
    (void)st;
    fx_t *fx = fx_new(1, NULL);
    buy(fx, "a1", "anna", "2026-03-01T10:00:00Z", 100000);
    step(fx);
    size_t mark = n_out(fx);
    static const char garbage[] = "not avro at all";
    int64_t t = ms("2026-03-02T10:00:00Z");
    int64_t off_garbage = fp_input(fx->pp, 0, "anna", 4, garbage, sizeof(garbage) - 1, t);
    int64_t off_tomb = fp_input(fx->pp, 0, "anna", 4, NULL, 0, t);
    char json[512];
    int64_t off_key =
        send_as(fx, purchase(json, sizeof(json), "x1", "anna", "2026-03-02T11:00:00Z", 5000),
                "boris", false);
    /* valid Avro that the engine refuses: not the program's currency (replay skips it) */
    int64_t off_usd = send(fx, "{\"type\":\"purchase\",\"event_id\":\"u1\",\"customer_id\":"
                               "\"anna\",\"time\":\"2026-03-03T10:00:00Z\",\"currency\":\"USD\","
                               "\"lines\":[{\"sku\":\"s\",\"category\":\"c\",\"quantity\":1,"
                               "\"amount\":100}]}");
    buy(fx, "a2", "anna", "2026-03-04T10:00:00Z", 100000);
    step(fx);

    struct {
        int64_t offset;
        dlq_reason_t reason;
    } want[] = {{off_garbage, DLQ_BAD_MAGIC},
                {off_tomb, DLQ_TRUNCATED},
                {off_key, DLQ_KEY_MISMATCH},
                {off_usd, DLQ_INVALID_VALUE}};
    const fp_log_t *l = fp_outputs(fx->pp);
    size_t k = 0;
    for (size_t i = mark; i < l->n; i++) {
        const fp_rec_t *r = &l->v[i];
        if (!is_dead_letter(fx, r))
            continue;
        assert_true(k < 4);
        assert_int_equal(r->status, FP_COMMITTED);
        const fp_rec_t *in = &fp_input_log(fx->pp, 0)->v[want[k].offset];
        assert_int_equal(r->key_len, in->key_len);
        assert_memory_equal(r->key, in->key, in->key_len);
        if (in->value) {
            assert_int_equal(r->value_len, in->value_len);
            assert_memory_equal(r->value, in->value, in->value_len);
        } else {
            assert_null(r->value);
        }
        char buf[64];
        const fp_header_t *h = fp_rec_header(r, DLQ_H_REASON);
        const char *reason = dlq_reason_name(want[k].reason);
        assert_non_null(h);
        assert_int_equal(h->size, strlen(reason));
        assert_memory_equal(h->value, reason, h->size);
        snprintf(buf, sizeof(buf), "%lld", (long long)want[k].offset);
        h = fp_rec_header(r, DLQ_H_OFFSET);
        assert_non_null(h);
        assert_int_equal(h->size, strlen(buf));
        assert_memory_equal(h->value, buf, h->size);
        h = fp_rec_header(r, DLQ_H_TOPIC);
        assert_non_null(h);
        assert_memory_equal(h->value, "purchases", h->size);
        assert_non_null(fp_rec_header(r, DLQ_H_PARTITION));
        assert_non_null(fp_rec_header(r, DLQ_H_TIMESTAMP));
        h = fp_rec_header(r, DLQ_H_MESSAGE);
        assert_non_null(h);
        assert_true(h->size > 0);
        k++;
    }
    assert_int_equal(k, 4);
    assert_int_equal(stats(fx).dead_letters, 4);
    assert_int_equal(stats(fx).events, 2);
    finish_and_compare(fx, true);
    fx_free(fx);
}

/* What a transaction committed is in the store with its checkpoint: a closed and
 * reopened task, and a restarted process on the same store, find it and restore only
 * what lies past the checkpoint (nothing: the aborted transaction's records do not
 * count). What an aborted transaction staged never reaches the store. */
static void test_committed_state_is_durable_and_aborted_state_never_stored(void **st)
{
    (void)st;
    fx_t *fx = fx_new(1, NULL);
    buy(fx, "e1", "anna", "2026-03-01T10:00:00Z", 100000);
    step(fx);
    assert_stream_time_md(fx, 0, "2026-03-01T10:00:00Z");
    const fp_log_t *cl = fp_changelog(fx->pp, 0);
    assert_int_equal(cl->n, 1);
    int64_t checkpoint = cl->v[0].offset + 1;
    char *committed = query(fx, "anna");

    buy(fx, "e2", "anna", "2026-03-02T10:00:00Z", 200000);
    buy(fx, "e3", "vera", "2026-03-02T11:00:00Z", 200000);
    process(fx, 0, 0);
    fp_abort(fx->pp);
    assert_true(cl->n > 1); /* e2's and e3's states went to the changelog, then aborted */

    char err[512];
    assert_int_equal(fp_revoke(fx->pp, 0, err, sizeof(err)), PIPE_OK);
    assert_null(query(fx, "anna")); /* a closed task's customers are not served here */
    assert_int_equal(fp_assign(fx->pp, 0, err, sizeof(err)), PIPE_OK);
    assert_int_equal(fp_restore_from(fx->pp, 0), checkpoint);
    assert_int_equal(fp_restored(fx->pp, 0), 0);
    char *reopened = query(fx, "anna");
    assert_string_equal(reopened, committed);
    assert_null(query(fx, "vera"));

    /* that restore read to the end (past the aborted records and the markers): a new
     * process on the same store starts there */
    int64_t end = fp_changelog_end(fx->pp, 0);
    assert_true(end > checkpoint);
    fx_restart(fx, false);
    assert_int_equal(fp_restore_from(fx->pp, 0), end);
    assert_int_equal(fp_restored(fx->pp, 0), 0);
    char *restarted = query(fx, "anna");
    assert_string_equal(restarted, committed);
    assert_null(query(fx, "vera"));

    step(fx); /* e2 and e3 again, from the committed offset */
    finish_and_compare(fx, false);
    assert_int_equal(stats(fx).events, 2);
    free(committed);
    free(reopened);
    free(restarted);
    fx_free(fx);
}

/* A fresh store restored from the changelog (committed records only, a customer's last
 * record winning) holds the same states and timers as the store that wrote it: the
 * restored app goes on as if nothing happened, a repeat of an old event included. */
static void test_restore_from_changelog_rebuilds_the_same_state(void **st)
{
    (void)st;
    fx_t *fx = fx_new(2, NULL);
    static const char *const who[] = {"anna", "boris", "vera", "gleb", "dina"};
    char id[32], when[64], first[512];
    purchase(first, sizeof(first), "anna-0", "anna", "2026-03-01T09:00:00Z", 100000);
    send(fx, first);
    for (int m = 3; m <= 5; m++) {
        for (int i = 0; i < 5; i++) {
            snprintf(id, sizeof(id), "%s-%d", who[i], m);
            snprintf(when, sizeof(when), "2026-%02d-%02dT10:00:00Z", m, 2 + 5 * i);
            buy(fx, id, who[i], when, 50000 + 70000L * i);
        }
        if (m == 4) { /* an aborted try in the middle */
            process(fx, 0, 0);
            process(fx, 1, 0);
            fp_abort(fx->pp);
        }
        step(fx);
    }
    char *before[5];
    for (int i = 0; i < 5; i++)
        before[i] = query(fx, who[i]);
    int64_t committed_records[2] = {0, 0};
    for (int32_t p = 0; p < 2; p++) {
        const fp_log_t *l = fp_changelog(fx->pp, p);
        for (size_t i = 0; i < l->n; i++)
            committed_records[p] += l->v[i].status == FP_COMMITTED;
    }

    fx_restart(fx, true); /* another instance, an empty store */
    for (int32_t p = 0; p < 2; p++) {
        assert_int_equal(fp_restore_from(fx->pp, p), -1);
        assert_int_equal(fp_restored(fx->pp, p), committed_records[p]);
    }
    for (int i = 0; i < 5; i++) {
        char *after = query(fx, who[i]);
        assert_non_null(before[i]);
        assert_non_null(after);
        assert_string_equal(after, before[i]);
        free(after);
        free(before[i]);
    }
    /* a transaction that changes no state (a dead letter only) keeps the restored
     * checkpoint: a restart on this store restores nothing */
    int64_t end0 = fp_changelog_end(fx->pp, 0);
    fp_input(fx->pp, 0, "x", 1, "junk", 4, ms("2026-05-30T10:00:00Z"));
    step(fx);
    assert_int_equal(stats(fx).dead_letters, 1);
    assert_int_equal(fp_changelog_end(fx->pp, 0), end0);
    fx_restart(fx, false);
    assert_int_equal(fp_restore_from(fx->pp, 0), end0);
    assert_int_equal(fp_restored(fx->pp, 0), 0);

    /* the restored timers fire, and the restored idempotency ring knows anna-0 */
    buy(fx, "anna-7", "anna", "2026-07-20T10:00:00Z", 100000);
    buy(fx, "boris-7", "boris", "2026-07-21T10:00:00Z", 100000);
    send(fx, first);
    finish_and_compare(fx, false);
    assert_int_equal(stats(fx).duplicates, 1);
    fx_free(fx);
}

/* An abort takes the task's clock back to its last commit: the tick after an aborted
 * transaction that moved stream time far ahead fires nothing. */
static void test_abort_rolls_stream_time_back(void **st)
{
    (void)st;
    fx_t *fx = fx_new(1, NULL);
    buy(fx, "a1", "anna", "2026-03-01T10:00:00Z", 100000);
    step(fx);
    assert_stream_time_md(fx, 0, "2026-03-01T10:00:00Z");
    buy(fx, "b1", "boris", "2026-06-01T10:00:00Z", 100000);
    process(fx, 0, 0);
    fp_abort(fx->pp);
    const pipe_hooks_t *h = app_hooks(fx->app);
    char md[64], want[64];
    h->offset_metadata(h->opaque, 0, md, sizeof(md)); /* what a commit now would carry */
    snprintf(want, sizeof(want), "v1;stream_time=%lld", (long long)ms("2026-03-01T10:00:00Z"));
    assert_string_equal(md, want);
    fp_stats_t before, after;
    fp_get_stats(fx->pp, &before);
    timers(fx); /* at 2026-03-01 nothing is due */
    fp_get_stats(fx->pp, &after);
    assert_int_equal(after.touches, before.touches);
    assert_false(fp_txn_open(fx->pp));
    finish_and_compare(fx, true);
    assert_stream_time_md(fx, 0, "2026-06-01T10:00:00Z");
    fx_free(fx);
}

/* Stream time travels with the task in the committed offset's metadata: an instance that
 * takes the task over fires the timers that were due by then without any new event. */
static void test_stream_time_travels_with_the_task(void **st)
{
    (void)st;
    fx_t *fx = fx_new(1, NULL);
    buy(fx, "a1", "anna", "2026-03-01T10:00:00Z", 100000);
    buy(fx, "b1", "boris", "2026-04-20T10:00:00Z", 100000);
    process(fx, 0, 0);
    commit(fx); /* no tick: anna's timers are due but not fired */
    assert_stream_time_md(fx, 0, "2026-04-20T10:00:00Z");
    char err[512];
    assert_int_equal(fp_revoke(fx->pp, 0, err, sizeof(err)), PIPE_OK);
    fx_restart(fx, true);
    assert_int_equal(stats(fx).timers_fired, 0);
    step(fx);
    assert_int_equal(stats(fx).timers_fired, 1);
    finish_and_compare(fx, false);
    fx_free(fx);
}

/* Produce calls fail (an abortable error) at many places: in the middle of an event's
 * outputs, at its state, at the flush; every transaction is aborted and redone, and the
 * end is what replay gives, with the app's totals counting each event once. */
static void test_produce_failures_anywhere_abort_and_redo_cleanly(void **st)
{
    (void)st;
    fx_t *fx = fx_new(2, NULL);
    static const char *const who[] = {"anna", "boris", "vera", "gleb"};
    int n = 0;
    for (int day = 0; day < 120; day += 3) {
        const char *c = who[(day / 3) % 4]; /* the same customer every 12 days */
        char id[32], iso[64], json[512];
        snprintf(id, sizeof(id), "ev%d", day);
        eng_json_format_time(ms("2026-03-01T10:00:00Z") + (int64_t)day * ENG_DAY_MS, iso,
                             sizeof(iso));
        if (day % 21 == 9) {
            snprintf(json, sizeof(json),
                     "{\"type\":\"redemption\",\"event_id\":\"%s\",\"customer_id\":\"%s\","
                     "\"time\":\"%s\",\"currency\":\"RUB\",\"points\":20,\"lines\":[{\"sku\":"
                     "\"s\",\"category\":\"c\",\"quantity\":1,\"amount\":100000}]}",
                     id, c, iso);
            send(fx, json);
        } else if (day % 27 == 15) { /* returns her purchase of 12 days ago */
            snprintf(json, sizeof(json),
                     "{\"type\":\"return\",\"event_id\":\"%s\",\"customer_id\":\"%s\","
                     "\"time\":\"%s\",\"currency\":\"RUB\",\"original_event_id\":\"ev%d\","
                     "\"lines\":[{\"sku\":\"s1\",\"category\":\"misc\",\"quantity\":1,"
                     "\"amount\":20000}]}",
                     id, c, iso, day - 12);
            send(fx, json);
        } else {
            buy(fx, id, c, iso, 40000 + 9000L * (day % 7));
        }
        if (++n % 3 == 0) {
            fp_fail_produce(fx->pp, 1 + (n / 3) % 6, PIPE_ABORT);
            step(fx);
        }
    }
    assert_true(fp_input_log(fx->pp, 0)->n > 0 && fp_input_log(fx->pp, 1)->n > 0);
    fp_fail_produce(fx->pp, 0, PIPE_OK);
    finish_and_compare(fx, true);
    fp_stats_t fs;
    fp_get_stats(fx->pp, &fs);
    assert_true(fs.aborts >= 10);
    for (size_t i = 0; i < 4; i++)
        assert_changelog_ends_with_state(fx, who[i]);
    fx_free(fx);
}

/* Two customers share a slot of the state cache: each evicts the other, also inside a
 * transaction that aborts. */
static void test_cache_slot_collision_and_abort(void **st)
{
    (void)st;
    fx_t *fx = fx_new(1, NULL);
    char a[32] = "", b[32] = "";
    uint64_t slot0 = eng_id_hash("c0") & (APP_STATE_CACHE_SLOTS - 1);
    snprintf(a, sizeof(a), "c0");
    for (int i = 1; !b[0]; i++) {
        char id[32];
        snprintf(id, sizeof(id), "c%d", i);
        if ((eng_id_hash(id) & (APP_STATE_CACHE_SLOTS - 1)) == slot0)
            snprintf(b, sizeof(b), "%s", id);
    }
    buy(fx, "x1", a, "2026-03-01T10:00:00Z", 100000);
    step(fx);
    buy(fx, "y1", b, "2026-03-02T10:00:00Z", 100000);
    process(fx, 0, 0); /* b takes a's slot */
    fp_abort(fx->pp);
    buy(fx, "x2", a, "2026-03-03T10:00:00Z", 100000);
    step(fx);
    buy(fx, "y2", b, "2026-03-04T10:00:00Z", 100000);
    buy(fx, "x3", a, "2026-03-05T10:00:00Z", 100000);
    buy(fx, "y3", b, "2026-03-06T10:00:00Z", 100000);
    process(fx, 0, 0);
    fp_abort(fx->pp);
    step(fx);
    finish_and_compare(fx, true);
    fx_free(fx);
}

/* The state of @p r as JSON, without the task. */
static char *clog_state_json(fx_t *fx, const fp_rec_t *r)
{
    int64_t due;
    json_t *j = clog_state_obj(fx, r, &due);
    char *line = eng_json_line(j);
    json_decref(j);
    assert_non_null(line);
    return line;
}

/* The same customer in two tasks (a producer with another partitioner sends her to a
 * partition that is not hers) has a state in each: the cache of decoded states, shared by
 * the tasks, never hands one task's state to the other. */
static void test_cache_keeps_tasks_apart(void **st)
{
    (void)st;
    fx_t *fx = fx_new(2, NULL);
    char json[512];
    purchase(json, sizeof(json), "e1", "anna", "2026-03-01T10:00:00Z", 100000);
    eng_event_t *ev = parse(json);
    const uint8_t *buf;
    size_t len;
    char err[256];
    assert_int_equal(avro_codec_encode_event(fx->codec, ev, &buf, &len, err, sizeof(err)), 0);
    fp_input(fx->pp, 0, "anna", 4, buf, len, ev->time_ms);
    step(fx); /* task 0: anna's state is cached */
    fp_input(fx->pp, 1, "anna", 4, buf, len, ev->time_ms);
    step(fx); /* task 1: the same event is new to its own anna */
    free(ev);
    const fp_log_t *c0 = fp_changelog(fx->pp, 0), *c1 = fp_changelog(fx->pp, 1);
    assert_int_equal(c0->n, 1);
    assert_int_equal(c1->n, 1); /* a state from task 0's cache would make e1 a duplicate */
    char *s0 = clog_state_json(fx, &c0->v[0]), *s1 = clog_state_json(fx, &c1->v[0]);
    assert_string_equal(s1, s0);
    free(s0);
    free(s1);
    assert_int_equal(stats(fx).duplicates, 0);
    fx_free(fx);
}

/* A tick fires the timers of at most commit.max.records customers; the rest wait for the
 * next tick (a backlog after downtime makes bounded transactions). A tick with nothing
 * due opens no transaction. */
static void test_timers_fire_for_at_most_commit_max_records_customers(void **st)
{
    (void)st;
    static const char *const kv[] = {"commit.max.records", "2", NULL};
    fx_t *fx = fx_new(1, kv);
    char id[32], c[32];
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof(id), "p%d", i);
        snprintf(c, sizeof(c), "cust%d", i);
        buy(fx, id, c, "2026-03-01T10:00:00Z", 100000);
    }
    step(fx);
    buy(fx, "z1", "zoe", "2026-04-05T10:00:00Z", 100000); /* the first warnings are due */
    process(fx, 0, 0);
    commit(fx);
    int64_t want[] = {2, 2, 1, 0};
    for (size_t k = 0; k < 4; k++) {
        int64_t before = stats(fx).timers_fired;
        timers(fx);
        commit(fx);
        assert_int_equal(stats(fx).timers_fired - before, want[k]);
    }
    fp_stats_t s0, s1;
    fp_get_stats(fx->pp, &s0);
    timers(fx);
    fp_get_stats(fx->pp, &s1);
    assert_int_equal(s1.touches, s0.touches);
    assert_false(fp_txn_open(fx->pp));
    finish_and_compare(fx, true);
    fx_free(fx);
}

/* One transaction touches more customers than the dirty set's first size (it grows while
 * remembering who was saved again): every customer's last changelog record is its final
 * state, customers saved once have one record. */
static void test_many_customers_in_one_transaction(void **st)
{
    (void)st;
    fx_t *fx = fx_new(1, NULL);
    char id[32], c[32], when[64];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 300; i++) {
            if (round == 1 && i % 3 == 0)
                continue; /* saved once */
            snprintf(id, sizeof(id), "e%d-%d", round, i);
            snprintf(c, sizeof(c), "cust%03d", i);
            snprintf(when, sizeof(when), "2026-03-%02dT10:%02d:00Z", 1 + round, i % 60);
            buy(fx, id, c, when, 10000 + 100L * i);
        }
    }
    process(fx, 0, 0);
    commit(fx);
    for (int i = 0; i < 300; i++) {
        snprintf(c, sizeof(c), "cust%03d", i);
        assert_int_equal(clog_count(fx, c, 0, FP_COMMITTED, NULL), i % 3 == 0 ? 1 : 2);
        assert_changelog_ends_with_state(fx, c);
    }
    finish_and_compare(fx, true);
    fx_free(fx);
}

/* An event the engine refuses (valid Avro, another currency) is dead-lettered and moves
 * nothing: not the task's clock (a far-future time would fire every customer's timers
 * early), not the customer. replay skips it the same way. */
static void test_refused_event_does_not_move_the_clock(void **st)
{
    (void)st;
    fx_t *fx = fx_new(1, NULL);
    buy(fx, "a1", "anna", "2026-03-01T10:00:00Z", 100000);
    step(fx);
    size_t mark = n_out(fx);
    static const char *const usd[] = {"boris", "anna"};
    for (int i = 0; i < 2; i++) {
        char json[512];
        snprintf(json, sizeof(json),
                 "{\"type\":\"purchase\",\"event_id\":\"u%d\",\"customer_id\":\"%s\",\"time\":"
                 "\"2030-01-01T00:00:00Z\",\"currency\":\"USD\",\"lines\":[{\"sku\":\"s\","
                 "\"category\":\"c\",\"quantity\":1,\"amount\":100}]}",
                 i, usd[i]);
        send(fx, json);
    }
    step(fx);
    assert_int_equal(dead_letters(fx, mark, FP_COMMITTED), 2);
    assert_int_equal(outputs(fx, mark, FP_COMMITTED, NULL), 0);
    assert_int_equal(stats(fx).timers_fired, 0);
    assert_stream_time_md(fx, 0, "2026-03-01T10:00:00Z");
    assert_null(query(fx, "boris"));
    finish_and_compare(fx, true);
    fx_free(fx);
}

/* A customer whose timers are due when her next event arrives has them fired first, by
 * the event's catch-up, not by a tick: that counts as timers fired too (issue 20: the
 * counter stayed 0 while timer-driven outputs went out). */
static void test_timers_fired_by_an_event_are_counted(void **st)
{
    (void)st;
    fx_t *fx = fx_new(1, NULL);
    buy(fx, "a1", "anna", "2026-03-01T10:00:00Z", 100000);
    process(fx, 0, 0);
    commit(fx);
    size_t mark = n_out(fx);
    buy(fx, "a2", "anna", "2026-04-20T10:00:00Z", 100000); /* her timers are due */
    process(fx, 0, 0);
    commit(fx); /* no tick */
    assert_true(outputs(fx, mark, FP_COMMITTED, NULL) > 0);
    assert_int_equal(stats(fx).timers_fired, 1);
    finish_and_compare(fx, true);
    fx_free(fx);
}

/* Issue 23, "Bounds made visible", and per-task counters (issue 20): a customer with 17
 * lots of distinct expiry and 17 purchases has the 17th lot merged and the first purchase
 * forgotten; her return of that purchase gives a 0-point PointsReversed (reason
 * purchase_not_found). Each bite counts once in her task's stats (not in the other
 * task's), an aborted transaction's counts are dropped and its redo counted once, and a
 * revoked task keeps its counts. Dead letters count by reason, per task. */
static void test_bounds_and_dead_letters_count_per_task_once(void **st)
{
    (void)st;
    fx_t *fx = fx_new(2, NULL);
    int32_t pa = part_of(2, "anna");
    char err[256];
    met_registry_t *reg = met_registry_new();
    assert_non_null(reg);
    assert_int_equal(app_attach_metrics(fx->app, reg, err, sizeof(err)), 0);
    for (int i = 0; i <= ENG_LOTS_MAX; i++) { /* 17 purchases, one lot per day */
        char id[16], when[32];
        snprintf(id, sizeof(id), "a%d", i);
        snprintf(when, sizeof(when), "2026-03-%02dT10:00:00Z", i + 1);
        buy(fx, id, "anna", when, 100000);
    }
    step(fx);
    size_t mark = n_out(fx);
    send(fx, "{\"type\":\"return\",\"event_id\":\"r0\",\"customer_id\":\"anna\",\"time\":"
             "\"2026-03-20T10:00:00Z\",\"currency\":\"RUB\",\"original_event_id\":\"a0\","
             "\"lines\":[{\"sku\":\"s1\",\"category\":\"misc\",\"quantity\":1,"
             "\"amount\":100000}]}");
    static const char garbage[] = "not avro";
    fp_input(fx->pp, pa, "anna", 4, garbage, sizeof(garbage) - 1, ms("2026-03-20T11:00:00Z"));
    process(fx, pa, 0);
    fp_abort(fx->pp); /* the redo must count once */
    step(fx);

    lines_t got = {0};
    outputs(fx, mark, FP_COMMITTED, &got);
    assert_int_equal(got.n, 1);
    assert_non_null(strstr(got.v[0], "\"type\":\"PointsReversed\""));
    assert_non_null(strstr(got.v[0], "\"points\":0,"));
    assert_non_null(strstr(got.v[0], "\"reason\":\"purchase_not_found\""));
    lines_free(&got);

    app_stats_t ts, other;
    assert_int_equal(app_get_task_stats(fx->app, pa, &ts), 1);
    assert_int_equal(ts.bounds[ENG_BOUND_LOTS], 1);
    assert_int_equal(ts.bounds[ENG_BOUND_PURCHASES], 1);
    assert_int_equal(ts.bounds[ENG_BOUND_RETURN_NOT_FOUND], 1);
    assert_int_equal(ts.bounds[ENG_BOUND_EVENT_IDS], 0);
    assert_int_equal(ts.bounds[ENG_BOUND_QBUCKETS], 0);
    assert_int_equal(ts.events, ENG_LOTS_MAX + 2);
    assert_int_equal(ts.dead_letters, 1);
    assert_int_equal(ts.dead_letters_by_reason[DLQ_BAD_MAGIC], 1);
    assert_int_equal(ts.outputs[ENG_OUT_POINTS_REVERSED], 1);
    assert_int_equal(app_get_task_stats(fx->app, 1 - pa, &other), 1);
    assert_int_equal(other.events, 0);
    assert_int_equal(other.bounds[ENG_BOUND_LOTS], 0);
    assert_int_equal(stats(fx).bounds[ENG_BOUND_LOTS], 1); /* the instance total */
    assert_int_equal(app_task_slots(fx->app), 2);
    assert_int_equal(app_get_task_stats(fx->app, 2, &other), -1);
    finish_and_compare(fx, true);

    /* the same counts on /metrics, labelled by task; the other task's series exist at 0 */
    char want[16][160];
    int n = 0;
    snprintf(want[n++], 160, "loyalty_state_bounds_total{task=\"%d\",bound=\"lots\"} 1\n", pa);
    snprintf(want[n++], 160, "loyalty_state_bounds_total{task=\"%d\",bound=\"purchases\"} 1\n", pa);
    snprintf(want[n++], 160,
             "loyalty_state_bounds_total{task=\"%d\",bound=\"return_not_found\"} 1\n", pa);
    snprintf(want[n++], 160, "loyalty_state_bounds_total{task=\"%d\",bound=\"event_ids\"} 0\n", pa);
    snprintf(want[n++], 160, "loyalty_state_bounds_total{task=\"%d\",bound=\"lots\"} 0\n", 1 - pa);
    snprintf(want[n++], 160, "loyalty_dead_letters_total{task=\"%d\",reason=\"bad_magic\"} 1\n",
             pa);
    snprintf(want[n++], 160, "loyalty_outputs_total{task=\"%d\",kind=\"PointsReversed\"} 1\n", pa);
    snprintf(want[n++], 160, "loyalty_events_applied_total{task=\"%d\"} %d\n", pa,
             ENG_LOTS_MAX + 2);
    snprintf(want[n++], 160, "loyalty_events_applied_total{task=\"%d\"} 0\n", 1 - pa);
    char *text = met_render(reg, NULL);
    assert_non_null(text);
    for (int i = 0; i < n; i++)
        if (!strstr(text, want[i]))
            fail_msg("/metrics lacks %s in:\n%s", want[i], text);
    assert_null(strstr(text, "reason=\"registry_unavailable\"")); /* never a dead letter */
    free(text);

    assert_int_equal(fp_revoke(fx->pp, pa, err, sizeof(err)), PIPE_OK);
    app_stats_t kept;
    assert_int_equal(app_get_task_stats(fx->app, pa, &kept), 0);
    assert_int_equal(kept.bounds[ENG_BOUND_LOTS], 1);
    assert_int_equal(kept.events, ENG_LOTS_MAX + 2);
    text = met_render(reg, NULL); /* a revoked task's counters stay, unchanged */
    assert_non_null(text);
    for (int i = 0; i < n; i++)
        if (!strstr(text, want[i]))
            fail_msg("after the revocation /metrics lacks %s", want[i]);
    free(text);
    fx_free(fx);
    met_registry_destroy(reg);
}

int main(void)
{
    log_configure(LOG_ERROR, false, stderr);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_abort_after_cache_hit_restores_committed_state),
        cmocka_unit_test(test_timer_and_event_for_one_customer_in_one_transaction),
        cmocka_unit_test(test_repeat_after_catch_up_is_ignored),
        cmocka_unit_test(test_wall_clock_reads_a_backlog_by_stream_time_then_closes_by_wall),
        cmocka_unit_test(test_undecodable_record_goes_to_dead_letter_and_processing_goes_on),
        cmocka_unit_test(test_committed_state_is_durable_and_aborted_state_never_stored),
        cmocka_unit_test(test_restore_from_changelog_rebuilds_the_same_state),
        cmocka_unit_test(test_abort_rolls_stream_time_back),
        cmocka_unit_test(test_stream_time_travels_with_the_task),
        cmocka_unit_test(test_produce_failures_anywhere_abort_and_redo_cleanly),
        cmocka_unit_test(test_cache_slot_collision_and_abort),
        cmocka_unit_test(test_cache_keeps_tasks_apart),
        cmocka_unit_test(test_timers_fire_for_at_most_commit_max_records_customers),
        cmocka_unit_test(test_many_customers_in_one_transaction),
        cmocka_unit_test(test_refused_event_does_not_move_the_clock),
        cmocka_unit_test(test_timers_fired_by_an_event_are_counted),
        cmocka_unit_test(test_bounds_and_dead_letters_count_per_task_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
