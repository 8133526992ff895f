/* fake_pipe: see fake_pipe.h. The order of hook calls follows processor/pipeline/pipe.c
 * (task_open, txn_begin, txn_commit, txn_abort, restore_step, on_rebalance). */
#include "fake_pipe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fp_task {
    bool active;              /* assigned and restored */
    bool in_txn;              /* processed or touched in the open transaction */
    int64_t txn_first_offset; /* first input offset of the open transaction, -1 = none */
    int64_t position;         /* next input offset to process */
    int64_t clog_next;        /* changelog offset after this transaction's last record */
    int64_t committed;        /* the group's committed offset, -1 = none */
    char md[256];             /* its metadata */
    int64_t restore_from;
    int64_t restored;
} fp_task_t;

struct pipe {
    const pipe_hooks_t *hooks;
    char *topic_input;
    char *topic_changelog;
    int32_t n_parts;
    fp_log_t *input;   /* per partition */
    fp_log_t *clog;    /* per partition: records, markers not kept */
    int64_t *clog_end; /* per partition: next offset (markers take one) */
    fp_log_t out;      /* outputs of every transaction */
    fp_task_t *tasks;  /* per partition */
    bool txn_open;
    int64_t txn; /* number of the open (or last) transaction */
    int fail_nth, fail_rc;
    fp_stats_t stats;
};

static void *dup_bytes(const void *p, size_t n)
{
    if (!p)
        return NULL;
    void *d = malloc(n ? n : 1);
    if (d)
        memcpy(d, p, n);
    return d;
}

static fp_rec_t *log_add(fp_log_t *l)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        fp_rec_t *v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            abort();
        l->v = v;
        l->cap = cap;
    }
    fp_rec_t *r = &l->v[l->n++];
    memset(r, 0, sizeof(*r));
    return r;
}

static void log_free(fp_log_t *l)
{
    for (size_t i = 0; i < l->n; i++) {
        fp_rec_t *r = &l->v[i];
        free(r->topic);
        free(r->key);
        free(r->value);
        for (size_t h = 0; h < r->n_hdrs; h++) {
            free(r->hdrs[h].name);
            free(r->hdrs[h].value);
        }
        free(r->hdrs);
    }
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static void rec_fill(fp_rec_t *r, const char *topic, int32_t partition, const void *key,
                     size_t key_len, const void *value, size_t value_len, const pipe_header_t *hdrs,
                     size_t n_hdrs)
{
    r->topic = strdup(topic);
    r->partition = partition;
    r->key = dup_bytes(key ? key : "", key_len);
    r->key_len = key_len;
    r->value = dup_bytes(value, value_len);
    r->value_len = value ? value_len : 0;
    r->hdrs = n_hdrs ? calloc(n_hdrs, sizeof(*r->hdrs)) : NULL;
    r->n_hdrs = n_hdrs;
    for (size_t h = 0; h < n_hdrs; h++) {
        r->hdrs[h].name = strdup(hdrs[h].name);
        r->hdrs[h].value = dup_bytes(hdrs[h].value ? hdrs[h].value : "", hdrs[h].size);
        r->hdrs[h].size = hdrs[h].size;
    }
}

pipe_t *fp_new(int32_t n_parts, const char *topic_input, const char *topic_changelog)
{
    pipe_t *pp = calloc(1, sizeof(*pp));
    if (!pp)
        abort();
    pp->n_parts = n_parts;
    pp->topic_input = strdup(topic_input);
    pp->topic_changelog = strdup(topic_changelog);
    pp->input = calloc((size_t)n_parts, sizeof(*pp->input));
    pp->clog = calloc((size_t)n_parts, sizeof(*pp->clog));
    pp->clog_end = calloc((size_t)n_parts, sizeof(*pp->clog_end));
    pp->tasks = calloc((size_t)n_parts, sizeof(*pp->tasks));
    if (!pp->topic_input || !pp->topic_changelog || !pp->input || !pp->clog || !pp->clog_end ||
        !pp->tasks)
        abort();
    for (int32_t p = 0; p < n_parts; p++)
        pp->tasks[p].committed = -1;
    return pp;
}

void fp_destroy(pipe_t *pp)
{
    if (!pp)
        return;
    for (int32_t p = 0; p < pp->n_parts; p++) {
        log_free(&pp->input[p]);
        log_free(&pp->clog[p]);
    }
    log_free(&pp->out);
    free(pp->input);
    free(pp->clog);
    free(pp->clog_end);
    free(pp->tasks);
    free(pp->topic_input);
    free(pp->topic_changelog);
    free(pp);
}

void fp_set_hooks(pipe_t *pp, const pipe_hooks_t *hooks)
{
    pp->hooks = hooks;
}

int64_t fp_input(pipe_t *pp, int32_t p, const void *key, size_t key_len, const void *value,
                 size_t value_len, int64_t timestamp_ms)
{
    fp_rec_t *r = log_add(&pp->input[p]);
    rec_fill(r, pp->topic_input, p, key, key_len, value, value_len, NULL, 0);
    r->offset = (int64_t)pp->input[p].n - 1;
    r->timestamp_ms = timestamp_ms;
    r->status = FP_COMMITTED;
    return r->offset;
}

/* ------------------------------------------------------------------ transactions */

static void txn_begin(pipe_t *pp)
{
    if (pp->txn_open)
        return;
    pp->txn_open = true;
    pp->txn++;
    for (int32_t p = 0; p < pp->n_parts; p++) {
        pp->tasks[p].clog_next = -1;
        pp->tasks[p].txn_first_offset = -1;
    }
}

/* The broker's side of the end of a transaction: its records get their fate, and each
 * changelog partition it wrote to gets a marker, which takes an offset. */
static void txn_end(pipe_t *pp, fp_status_t fate)
{
    for (size_t i = 0; i < pp->out.n; i++)
        if (pp->out.v[i].txn == pp->txn)
            pp->out.v[i].status = fate;
    for (int32_t p = 0; p < pp->n_parts; p++) {
        bool wrote = false;
        for (size_t i = 0; i < pp->clog[p].n; i++) {
            if (pp->clog[p].v[i].txn == pp->txn) {
                pp->clog[p].v[i].status = fate;
                wrote = true;
            }
        }
        if (wrote)
            pp->clog_end[p]++;
    }
    pp->txn_open = false;
}

void fp_abort(pipe_t *pp)
{
    if (!pp->txn_open)
        return;
    txn_end(pp, FP_ABORTED);
    pp->stats.aborts++;
    for (int32_t p = 0; p < pp->n_parts; p++) {
        fp_task_t *t = &pp->tasks[p];
        if (t->in_txn && pp->hooks->aborted)
            pp->hooks->aborted(pp->hooks->opaque, p);
        if (t->txn_first_offset >= 0 && t->active)
            t->position = t->txn_first_offset; /* the seek back */
        t->in_txn = false;
        t->txn_first_offset = -1;
        t->clog_next = -1;
    }
}

int fp_commit(pipe_t *pp, char *err, size_t errlen)
{
    if (!pp->txn_open)
        return PIPE_OK;
    int rc = PIPE_OK;
    for (int32_t p = 0; rc == PIPE_OK && p < pp->n_parts; p++)
        if (pp->tasks[p].in_txn && pp->hooks->flush)
            rc = pp->hooks->flush(pp->hooks->opaque, pp, p, err, errlen);
    if (rc == PIPE_ABORT) {
        fp_abort(pp);
        return PIPE_ABORT;
    }
    if (rc != PIPE_OK)
        return rc;
    /* send_offsets_to_transaction: the offsets and their metadata commit with it */
    for (int32_t p = 0; p < pp->n_parts; p++) {
        fp_task_t *t = &pp->tasks[p];
        if (t->txn_first_offset < 0)
            continue;
        t->committed = t->position;
        t->md[0] = '\0';
        if (pp->hooks->offset_metadata)
            pp->hooks->offset_metadata(pp->hooks->opaque, p, t->md, sizeof(t->md));
    }
    txn_end(pp, FP_COMMITTED);
    for (int32_t p = 0; p < pp->n_parts; p++) {
        fp_task_t *t = &pp->tasks[p];
        if (!t->in_txn)
            continue;
        if (pp->hooks->committed &&
            pp->hooks->committed(pp->hooks->opaque, p, t->txn_first_offset >= 0 ? t->position : -1,
                                 t->clog_next, err, errlen) != PIPE_OK)
            return PIPE_FATAL;
        t->in_txn = false;
        t->txn_first_offset = -1;
    }
    pp->stats.transactions++;
    return PIPE_OK;
}

/* ------------------------------------------------------------------ tasks */

static void rec_view(const fp_rec_t *r, pipe_rec_t *out)
{
    *out = (pipe_rec_t){.topic = r->topic,
                        .partition = r->partition,
                        .offset = r->offset,
                        .timestamp_ms = r->timestamp_ms,
                        .key = r->key,
                        .key_len = r->key_len,
                        .value = r->value,
                        .value_len = r->value_len,
                        .headers_ = r};
}

#define RESTORE_BATCH 64 /* as pipe.c's restore_step hands them */

int fp_assign(pipe_t *pp, int32_t p, char *err, size_t errlen)
{
    fp_task_t *t = &pp->tasks[p];
    int64_t from = -1;
    if (pp->hooks->task_open &&
        pp->hooks->task_open(pp->hooks->opaque, p, t->md, &from, err, errlen) != PIPE_OK)
        return PIPE_FATAL;
    t->active = false;
    t->in_txn = false;
    t->txn_first_offset = -1;
    t->clog_next = -1;
    t->restore_from = from;
    t->restored = 0;
    /* read_committed from the checkpoint (or the beginning) to the end */
    pipe_rec_t recs[RESTORE_BATCH];
    size_t n = 0;
    const fp_log_t *l = &pp->clog[p];
    for (size_t i = 0; i < l->n; i++) {
        const fp_rec_t *r = &l->v[i];
        if (r->offset < from)
            continue;
        if (r->status == FP_OPEN) {
            snprintf(err, errlen, "changelog %d has an undecided transaction at %lld", (int)p,
                     (long long)r->offset);
            return PIPE_FATAL;
        }
        if (r->status != FP_COMMITTED)
            continue;
        rec_view(r, &recs[n++]);
        t->restored++;
        pp->stats.restored++;
        if (n == RESTORE_BATCH) {
            if (pp->hooks->restore(pp->hooks->opaque, p, recs, n, err, errlen) != PIPE_OK)
                return PIPE_FATAL;
            n = 0;
        }
    }
    if (n && pp->hooks->restore(pp->hooks->opaque, p, recs, n, err, errlen) != PIPE_OK)
        return PIPE_FATAL;
    if (pp->hooks->restored && pp->hooks->restored(pp->hooks->opaque, p, t->restored,
                                                   pp->clog_end[p], err, errlen) != PIPE_OK)
        return PIPE_FATAL;
    t->active = true;
    t->position = t->committed >= 0 ? t->committed : 0;
    return PIPE_OK;
}

int fp_process(pipe_t *pp, int32_t p, size_t max, char *err, size_t errlen)
{
    fp_task_t *t = &pp->tasks[p];
    if (!t->active) {
        snprintf(err, errlen, "task %d is not active", (int)p);
        return PIPE_FATAL;
    }
    for (size_t k = 0; (max == 0 || k < max) && t->position < (int64_t)pp->input[p].n; k++) {
        const fp_rec_t *r = &pp->input[p].v[t->position];
        txn_begin(pp);
        if (t->txn_first_offset < 0)
            t->txn_first_offset = r->offset;
        t->in_txn = true;
        pipe_rec_t rec;
        rec_view(r, &rec);
        int rc = pp->hooks->process(pp->hooks->opaque, pp, &rec, err, errlen);
        t->position = r->offset + 1;
        pp->stats.processed++;
        if (rc != PIPE_OK)
            return rc;
    }
    return PIPE_OK;
}

int fp_timers(pipe_t *pp, int64_t wall_ms, char *err, size_t errlen)
{
    if (!pp->hooks->timers)
        return PIPE_OK;
    for (int32_t p = 0; p < pp->n_parts; p++) {
        if (!pp->tasks[p].active)
            continue;
        int rc = pp->hooks->timers(pp->hooks->opaque, pp, p, wall_ms, err, errlen);
        if (rc != PIPE_OK)
            return rc;
    }
    return PIPE_OK;
}

int fp_step(pipe_t *pp, int64_t wall_ms, char *err, size_t errlen)
{
    for (int tries = 0; tries < 5; tries++) {
        int rc = PIPE_OK;
        for (int32_t p = 0; rc == PIPE_OK && p < pp->n_parts; p++)
            if (pp->tasks[p].active)
                rc = fp_process(pp, p, 0, err, errlen);
        if (rc == PIPE_OK)
            rc = fp_timers(pp, wall_ms, err, errlen);
        if (rc == PIPE_OK)
            rc = fp_commit(pp, err, errlen);
        if (rc != PIPE_ABORT)
            return rc;
        fp_abort(pp);
    }
    return PIPE_ABORT;
}

int fp_revoke(pipe_t *pp, int32_t p, char *err, size_t errlen)
{
    int rc = fp_commit(pp, err, errlen);
    if (rc == PIPE_FATAL)
        return rc;
    if (pp->tasks[p].active && pp->hooks->task_close)
        pp->hooks->task_close(pp->hooks->opaque, p);
    pp->tasks[p].active = false;
    return rc;
}

void fp_crash(pipe_t *pp)
{
    if (pp->txn_open) {
        txn_end(pp, FP_ABORTED); /* the transaction times out on the broker */
        pp->stats.aborts++;
    }
    for (int32_t p = 0; p < pp->n_parts; p++) {
        pp->tasks[p].active = false;
        pp->tasks[p].in_txn = false;
        pp->tasks[p].txn_first_offset = -1;
    }
}

void fp_fail_produce(pipe_t *pp, int nth, int rc)
{
    pp->fail_nth = nth;
    pp->fail_rc = rc;
}

/* ------------------------------------------------------------------ pipe.h */

static int produce_check(pipe_t *pp, char *err, size_t errlen)
{
    if (!pp->txn_open) {
        snprintf(err, errlen, "fake pipe: produce outside a transaction");
        return PIPE_FATAL;
    }
    if (pp->fail_nth > 0 && --pp->fail_nth == 0) {
        snprintf(err, errlen, "fake pipe: injected produce failure");
        return pp->fail_rc;
    }
    return PIPE_OK;
}

int pipe_produce(pipe_t *pp, const char *topic, int32_t partition, const void *key, size_t key_len,
                 const void *value, size_t value_len, const pipe_header_t *hdrs, size_t n_hdrs,
                 char *err, size_t errlen)
{
    int rc = produce_check(pp, err, errlen);
    if (rc != PIPE_OK)
        return rc;
    fp_rec_t *r = log_add(&pp->out);
    rec_fill(r, topic, partition, key, key_len, value, value_len, hdrs, n_hdrs);
    r->offset = (int64_t)pp->out.n - 1;
    r->txn = pp->txn;
    return PIPE_OK;
}

int pipe_produce_changelog(pipe_t *pp, int32_t p, const void *key, size_t key_len,
                           const void *value, size_t value_len, const pipe_header_t *hdrs,
                           size_t n_hdrs, char *err, size_t errlen)
{
    int rc = produce_check(pp, err, errlen);
    if (rc != PIPE_OK)
        return rc;
    if (p < 0 || p >= pp->n_parts || !pp->tasks[p].in_txn) {
        /* pipe.c would never call committed for this task: its state would be lost */
        snprintf(err, errlen,
                 "fake pipe: changelog record of task %d outside its transaction "
                 "(pipe_touch missing?)",
                 (int)p);
        return PIPE_FATAL;
    }
    fp_rec_t *r = log_add(&pp->clog[p]);
    rec_fill(r, pp->topic_changelog, p, key, key_len, value, value_len, hdrs, n_hdrs);
    r->offset = pp->clog_end[p]++;
    r->txn = pp->txn;
    pp->tasks[p].clog_next = r->offset + 1;
    return PIPE_OK;
}

size_t pipe_max_record_bytes(pipe_t *pp, const char *topic)
{
    (void)pp;
    (void)topic;
    return 1000000; /* librdkafka's default message.max.bytes: nothing the tests make */
}

int pipe_touch(pipe_t *pp, int32_t p, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    txn_begin(pp);
    if (p >= 0 && p < pp->n_parts)
        pp->tasks[p].in_txn = true;
    pp->stats.touches++;
    return PIPE_OK;
}

int pipe_rec_header(const pipe_rec_t *rec, const char *name, const void **value, size_t *size)
{
    const fp_header_t *h = rec->headers_ ? fp_rec_header(rec->headers_, name) : NULL;
    if (!h)
        return -1;
    *value = h->value;
    *size = h->size;
    return 0;
}

/* ------------------------------------------------------------------ inspection */

const fp_log_t *fp_outputs(const pipe_t *pp)
{
    return &pp->out;
}

const fp_log_t *fp_input_log(const pipe_t *pp, int32_t p)
{
    return &pp->input[p];
}

const fp_log_t *fp_changelog(const pipe_t *pp, int32_t p)
{
    return &pp->clog[p];
}

int64_t fp_changelog_end(const pipe_t *pp, int32_t p)
{
    return pp->clog_end[p];
}

int64_t fp_committed_offset(const pipe_t *pp, int32_t p, const char **metadata)
{
    if (metadata)
        *metadata = pp->tasks[p].md;
    return pp->tasks[p].committed;
}

int64_t fp_restore_from(const pipe_t *pp, int32_t p)
{
    return pp->tasks[p].restore_from;
}

int64_t fp_restored(const pipe_t *pp, int32_t p)
{
    return pp->tasks[p].restored;
}

bool fp_txn_open(const pipe_t *pp)
{
    return pp->txn_open;
}

void fp_get_stats(const pipe_t *pp, fp_stats_t *out)
{
    *out = pp->stats;
}

const fp_header_t *fp_rec_header(const fp_rec_t *r, const char *name)
{
    for (size_t h = r->n_hdrs; h-- > 0;)
        if (strcmp(r->hdrs[h].name, name) == 0)
            return &r->hdrs[h];
    return NULL;
}

int64_t pipe_task_lag(pipe_t *pp, int32_t p)
{
    if (p < 0 || p >= pp->n_parts || !pp->tasks[p].active)
        return -1;
    const fp_log_t *in = &pp->input[p];
    int64_t end = in->n ? in->v[in->n - 1].offset + 1 : 0;
    return end > pp->tasks[p].position ? end - pp->tasks[p].position : 0;
}
