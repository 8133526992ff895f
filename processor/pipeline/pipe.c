/*
 * pipe: see pipe.h for the protocol. The one idea to hold while reading: nothing becomes
 * durable outside Kafka until commit_transaction has returned success; everything before
 * that point can be thrown away (abort + hooks.aborted + seek back), and everything after
 * it can be redone from the changelog (restore). The crash points (LOYALTY_CRASH_POINT)
 * sit exactly on those boundaries so the integration tests can prove it.
 */
#include "pipe.h"

#include "klog.h"
#include "log.h"

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef enum { TASK_NONE = 0, TASK_RESTORING, TASK_ACTIVE } task_state_t;

/* Bound of each transactional call: never block forever, not even in the rebalance
 * callback (a timeout is retriable: the transaction is aborted and redone). */
#define TXN_TIMEOUT_MS 30000
/* How long the assign callback waits for the group's committed offsets: with
 * read_committed, pending transactional offsets of a dead previous owner resolve only
 * after its transaction times out (transaction.timeout.ms, 60 s by default). */
#define COMMITTED_TIMEOUT_MS 90000
/* Consecutive aborted transactions after which the processor stops instead of looping. */
#define MAX_CONSECUTIVE_ABORTS 20

typedef struct task {
    task_state_t state;
    bool in_txn;              /* processed something in the open transaction */
    int64_t txn_first_offset; /* first input offset of the open transaction, -1 = none */
    int64_t next_offset;      /* offset after the last processed record, -1 = none yet */
    int64_t clog_next;        /* changelog offset after this transaction's last record */
    int64_t restored;         /* changelog records applied since assignment */
    int64_t clog_pos;         /* restoring: changelog offset after the last record read, -1 */
    int64_t assigned_ms;      /* mono_ms() of the assignment */
} task_t;

typedef enum { CRASH_NONE, CRASH_AFTER_PRODUCE, CRASH_AFTER_COMMIT, CRASH_AFTER_STORE } crash_t;

struct pipe {
    pipe_conf_t conf; /* a copy; its strings are borrowed */
    const pipe_hooks_t *hooks;
    char changelog[256]; /* topic_changelog, or "<application_id>-changelog" */
    int32_t n_parts;
    task_t *tasks; /* indexed by partition */
    rd_kafka_t *consumer;
    rd_kafka_t *producer;
    rd_kafka_t *restorer; /* reads changelog partitions of restoring tasks */
    /* The changelog as the restorer's topic, held from start-up so that it knows the
     * partitions' leaders before the first assignment: without it, every restore would
     * begin by waiting for a metadata refresh on the restorer's next 1 s timer tick, a
     * large part of a whole restore (docs/KAFKA.md). */
    rd_kafka_topic_t *restorer_clog;
    bool txn_open;
    int64_t txn_started_ms;
    int64_t commit_started_ms; /* when the last commit began, or pipe_run started */
    int64_t txn_records;
    int64_t txn_out; /* records produced in the open transaction (counted at commit) */
    bool fatal;
    int fatal_rc; /* PIPE_FATAL, or PIPE_CORRUPT when a task's state did not decode */
    char fatal_err[512];
    char auth_err[512]; /* the first authentication or TLS failure a client reported */
    crash_t crash;
    int64_t crash_after;     /* crash at the N-th committed transaction */
    int64_t abort_every;     /* LOYALTY_ABORT_EVERY: abort every N-th commit attempt (tests) */
    int64_t fatal_at;        /* LOYALTY_FATAL_AT: a fatal producer error from the N-th commit */
    int64_t fatal_times;     /* LOYALTY_FATAL_TIMES: at most this many of them (default 1) */
    int64_t fatal_injected;  /* how many were injected */
    bool fatal_consumer;     /* LOYALTY_FATAL_CLIENT=consumer: the consumer's, as a fenced
                                static member (default: the producer's) */
    int64_t restore_hold_ms; /* LOYALTY_RESTORE_HOLD_MS: a restore lasts at least this (tests) */
    pipe_stats_t stats;
    void (*tick)(void *ctx, const pipe_stats_t *stats);
    void *tick_ctx;
    void (*on_commit)(void *ctx, int64_t records_in, int64_t records_out, double seconds);
    void *on_commit_ctx;
    int consecutive_aborts;          /* reset by every committed transaction */
    volatile sig_atomic_t *run_stop; /* pipe_run's stop flag */
    int64_t recovery_window_ms;      /* start of the window in which recoveries are counted */
    int recoveries;                  /* recoveries with fresh clients in that window */
    int consecutive_retries;         /* PIPE_RETRY aborts since the last commit: the backoff only */
    int64_t producer_max_bytes;      /* the producer's message.max.bytes */
    int64_t refused_max_bytes;       /* below the size of records the broker refused as too large */
    int64_t *out_max_bytes;          /* per topics_out: its max.message.bytes, 0 = unknown */
    rd_kafka_queue_t *limits_q;      /* where the answer to the DescribeConfigs request lands */
    bool limits_pending;
    int64_t txn_bytes; /* keys and values produced in the open transaction */
};

/* Recoveries with fresh clients (fences, the producer's fatal errors) within
 * RECOVERY_WINDOW_MS before the next stops the process: a live duplicate, or a fault that
 * new clients do not cure. */
#define RECOVERY_LIMIT     3
#define RECOVERY_WINDOW_MS 300000

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits on the brokers are cut into steps of this length so that a stop is honoured
 * within a second at any phase (start-up, assignment, backoff). */
#define STOP_STEP_MS 200

static bool stopping(const pipe_t *pp)
{
    return (pp->conf.stop && *pp->conf.stop) || (pp->run_stop && *pp->run_stop);
}

/* Sleep @p ms in steps, returning early once the pipeline is stopping. */
static void nap(const pipe_t *pp, int64_t ms)
{
    for (int64_t end = mono_ms() + ms; !stopping(pp) && mono_ms() < end;)
        usleep(20 * 1000);
}

/* rd_kafka_metadata for one topic, in steps that look at the stop flag (RD_KAFKA_RESP_ERR__INTR
 * when it was set). */
static rd_kafka_resp_err_t metadata_wait(rd_kafka_t *rk, rd_kafka_topic_t *rkt,
                                         const struct rd_kafka_metadata **md, int timeout_ms,
                                         volatile sig_atomic_t *stop)
{
    int64_t end = mono_ms() + timeout_ms;
    for (;;) {
        if (stop && *stop)
            return RD_KAFKA_RESP_ERR__INTR;
        rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, md, STOP_STEP_MS);
        /* A broker that refuses connections may be restarting: wait for it as for one
         * that does not answer. */
        bool again = e == RD_KAFKA_RESP_ERR__TIMED_OUT || e == RD_KAFKA_RESP_ERR__TRANSPORT ||
                     e == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN;
        if (again) { /* an authentication failure will not pass: serve the error events
                      * (a consumer's are served by its own poll, not here) */
            if (rd_kafka_type(rk) == RD_KAFKA_PRODUCER)
                rd_kafka_poll(rk, 0);
            const pipe_t *pp = rd_kafka_opaque(rk);
            if (pp && pp->auth_err[0])
                return RD_KAFKA_RESP_ERR__AUTHENTICATION;
        }
        if (!again || mono_ms() >= end)
            return e;
        if (e != RD_KAFKA_RESP_ERR__TIMED_OUT)
            usleep(STOP_STEP_MS * 1000);
    }
}

/* ------------------------------------------------------------------ crash points */

static void crash_points_init(pipe_t *pp)
{
    const char *cp = getenv("LOYALTY_CRASH_POINT");
    const char *after = getenv("LOYALTY_CRASH_AFTER");
    const char *every = getenv("LOYALTY_ABORT_EVERY");
    pp->abort_every = every ? atoll(every) : 0;
    const char *hold = getenv("LOYALTY_RESTORE_HOLD_MS");
    pp->restore_hold_ms = hold ? atoll(hold) : 0;
    if (pp->restore_hold_ms > 0)
        log_warn("pipe", "restores held (test switch)", "hold_ms=%lld",
                 (long long)pp->restore_hold_ms);
    if (pp->abort_every > 0)
        log_warn("pipe", "injected aborts armed (test switch)", "every=%lld",
                 (long long)pp->abort_every);
    const char *fat = getenv("LOYALTY_FATAL_AT"), *times = getenv("LOYALTY_FATAL_TIMES");
    const char *client = getenv("LOYALTY_FATAL_CLIENT");
    pp->fatal_at = fat ? atoll(fat) : 0;
    pp->fatal_times = times ? atoll(times) : 1;
    pp->fatal_consumer = client && !strcmp(client, "consumer");
    if (pp->fatal_at > 0)
        log_warn("pipe", "injected fatal client errors armed (test switch)",
                 "client=%s from_commit=%lld times=%lld",
                 pp->fatal_consumer ? "consumer" : "producer", (long long)pp->fatal_at,
                 (long long)pp->fatal_times);
    pp->crash = CRASH_NONE;
    if (!cp || !*cp)
        return;
    if (!strcmp(cp, "after_produce"))
        pp->crash = CRASH_AFTER_PRODUCE;
    else if (!strcmp(cp, "after_commit"))
        pp->crash = CRASH_AFTER_COMMIT;
    else if (!strcmp(cp, "after_store"))
        pp->crash = CRASH_AFTER_STORE;
    else
        log_warn("pipe", "unknown LOYALTY_CRASH_POINT ignored", "value=\"%s\"", cp);
    pp->crash_after = after ? atoll(after) : 1;
    if (pp->crash != CRASH_NONE)
        log_warn("pipe", "crash point armed (test switch)", "point=%s after=%lld", cp,
                 (long long)pp->crash_after);
}

static void crash_point(pipe_t *pp, crash_t where)
{
    /* after_store runs after the transaction was counted: compare with the count itself. */
    int64_t nth = pp->stats.transactions + (where == CRASH_AFTER_STORE ? 0 : 1);
    if (pp->crash == where && nth >= pp->crash_after) {
        log_warn("pipe", "crash point reached: exiting now", "point=%d", (int)where);
        _exit(86);
    }
}

/* ------------------------------------------------------------------ errors */

/* Classify a transactional API error: PIPE_ABORT when the transaction can be aborted and
 * the loop go on, PIPE_FATAL otherwise. Consumes @p e. */
static int txn_error(pipe_t *pp, rd_kafka_error_t *e, const char *what, char *err, size_t errlen)
{
    /* Retriable (e.g. a timeout) or abort-required: abort, rewind and go on; only what
     * librdkafka calls fatal (fenced, ...) stops the process. */
    int rc = rd_kafka_error_is_fatal(e) ? PIPE_FATAL : PIPE_ABORT;
    if (!rd_kafka_error_is_fatal(e) && !rd_kafka_error_txn_requires_abort(e) &&
        !rd_kafka_error_is_retriable(e))
        rc = PIPE_FATAL;
    snprintf(err, errlen, "%s: %s%s", what, rd_kafka_error_string(e),
             rc == PIPE_FATAL ? " (fatal)" : "");
    rd_kafka_error_destroy(e);
    (void)pp;
    return rc;
}

/* ------------------------------------------------------------------ headers */

int pipe_rec_header(const pipe_rec_t *rec, const char *name, const void **value, size_t *size)
{
    /* Parsed on first use (most records are never asked): librdkafka builds the header
     * list of a message when asked, a noticeable part of a restore's CPU if done for each
     * record. */
    rd_kafka_headers_t *hdrs = NULL;
    rd_kafka_message_t *m = (rd_kafka_message_t *)rec->headers_;
    if (!m || rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return -1;
    return rd_kafka_header_get_last(hdrs, name, value, size) == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

static void rec_from_msg(const rd_kafka_message_t *m, pipe_rec_t *r)
{
    rd_kafka_timestamp_type_t tstype;
    r->topic = rd_kafka_topic_name(m->rkt);
    r->partition = m->partition;
    r->offset = m->offset;
    r->timestamp_ms = rd_kafka_message_timestamp(m, &tstype);
    r->key = m->key;
    r->key_len = m->key_len;
    r->value = m->payload;
    r->value_len = m->len;
    r->headers_ = m; /* the message: pipe_rec_header parses its headers when asked */
}

/* ------------------------------------------------------------------ producing */

static int txn_begin(pipe_t *pp, char *err, size_t errlen);

static int produce(pipe_t *pp, const char *topic, int32_t partition, const void *key,
                   size_t key_len, const void *value, size_t value_len, const pipe_header_t *hdrs,
                   size_t n_hdrs, void *opaque, char *err, size_t errlen)
{
    int rc = txn_begin(pp, err, errlen);
    if (rc != PIPE_OK)
        return rc;
    rd_kafka_headers_t *h = NULL;
    if (n_hdrs) {
        h = rd_kafka_headers_new(n_hdrs);
        for (size_t i = 0; i < n_hdrs; i++)
            rd_kafka_header_add(h, hdrs[i].name, -1, hdrs[i].value, (ssize_t)hdrs[i].size);
    }
    /* A full local queue waits for deliveries, at most TXN_TIMEOUT_MS: brokers that take
     * nothing for that long abort the transaction (it is redone) instead of blocking the
     * loop and its liveness heartbeat without bound. */
    for (int64_t full_until = -1;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            pp->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
            RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE((void *)value, value_len),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(opaque),
            RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
            pp->txn_out++;
            pp->txn_bytes += (int64_t)(key_len + value_len);
            return PIPE_OK; /* the headers now belong to the message */
        }
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL && !stopping(pp)) {
            if (full_until < 0)
                full_until = mono_ms() + TXN_TIMEOUT_MS;
            if (mono_ms() < full_until) {
                rd_kafka_poll(pp->producer, 10);
                continue;
            }
        }
        if (h)
            rd_kafka_headers_destroy(h);
        snprintf(err, errlen, "producing to %s: %s", topic, rd_kafka_err2str(e));
        return e == RD_KAFKA_RESP_ERR__FATAL ? PIPE_FATAL : PIPE_ABORT;
    }
}

int pipe_produce(pipe_t *pp, const char *topic, int32_t partition, const void *key, size_t key_len,
                 const void *value, size_t value_len, const pipe_header_t *hdrs, size_t n_hdrs,
                 char *err, size_t errlen)
{
    return produce(pp, topic, partition, key, key_len, value, value_len, hdrs, n_hdrs, NULL, err,
                   errlen);
}

int pipe_produce_changelog(pipe_t *pp, int32_t p, const void *key, size_t key_len,
                           const void *value, size_t value_len, const pipe_header_t *hdrs,
                           size_t n_hdrs, char *err, size_t errlen)
{
    /* The opaque tags the delivery report with the task (p + 1, so 0 means "no task"). */
    return produce(pp, pp->changelog, p, key, key_len, value, value_len, hdrs, n_hdrs,
                   (void *)(intptr_t)(p + 1), err, errlen);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    pipe_t *pp = opaque;
    intptr_t tag = (intptr_t)m->_private;
    if (m->err) {
        /* A record too large for its topic would fail again in every retry: the next
         * limits pipe_max_record_bytes reports stay below it, so that what the app cuts
         * to fit (a dead letter) goes through on the retry. */
        if ((m->err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
             m->err == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE) &&
            (int64_t)m->len / 2 < pp->refused_max_bytes)
            pp->refused_max_bytes = (int64_t)m->len / 2 > 1024 ? (int64_t)m->len / 2 : 1024;
        /* The transaction is now in an abortable state; commit will report it. */
        log_warn("pipe", "delivery failed", "topic=%s partition=%d err=\"%s\"",
                 rd_kafka_topic_name(m->rkt), (int)m->partition, rd_kafka_err2str(m->err));
        return;
    }
    if (tag > 0 && tag <= pp->n_parts) {
        task_t *t = &pp->tasks[tag - 1];
        if (m->offset + 1 > t->clog_next)
            t->clog_next = m->offset + 1;
    }
}

/* ------------------------------------------------------------------ transactions */

static int txn_begin(pipe_t *pp, char *err, size_t errlen)
{
    if (pp->txn_open)
        return PIPE_OK;
    rd_kafka_error_t *e = rd_kafka_begin_transaction(pp->producer);
    if (e)
        return txn_error(pp, e, "begin_transaction", err, errlen);
    pp->txn_open = true;
    pp->txn_started_ms = mono_ms();
    pp->txn_records = pp->txn_out = pp->txn_bytes = 0;
    for (int32_t p = 0; p < pp->n_parts; p++) {
        pp->tasks[p].clog_next = -1;
        pp->tasks[p].txn_first_offset = -1;
    }
    return PIPE_OK;
}

/* Abort the open transaction, drop staged state, seek tasks back. Fatal if abort fails. */
static int txn_abort(pipe_t *pp, const char *why, char *err, size_t errlen)
{
    log_warn("pipe", "aborting transaction", "reason=\"%s\"", why);
    /* A timed-out or retriable abort is called again, as librdkafka asks (it resumes the
     * same abort), up to three times; only a fatal error, or an abort that will not end,
     * stops the process. */
    rd_kafka_error_t *e;
    for (int tries = 1;
         (e = rd_kafka_abort_transaction(pp->producer, TXN_TIMEOUT_MS)) && tries < 3 &&
         !rd_kafka_error_is_fatal(e) &&
         (rd_kafka_error_is_retriable(e) || rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR__TIMED_OUT);
         tries++) {
        log_warn("pipe", "abort_transaction did not finish: calling it again", "err=\"%s\"",
                 rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
    if (e) {
        /* librdkafka issue #4849 can make an abort fail fatally (docs/KAFKA.md). Nothing
         * was committed, so stopping is safe; the orchestrator restarts us. */
        txn_error(pp, e, "abort_transaction", err, errlen);
        return PIPE_FATAL;
    }
    pp->txn_open = false;
    pp->stats.aborts++;
    rd_kafka_topic_partition_list_t *seek = rd_kafka_topic_partition_list_new(pp->n_parts);
    for (int32_t p = 0; p < pp->n_parts; p++) {
        task_t *t = &pp->tasks[p];
        if (t->in_txn && pp->hooks->aborted)
            pp->hooks->aborted(pp->hooks->opaque, p);
        if (t->txn_first_offset >= 0 && t->state == TASK_ACTIVE) {
            rd_kafka_topic_partition_list_add(seek, pp->conf.topic_input, p)->offset =
                t->txn_first_offset;
            t->next_offset = t->txn_first_offset;
        }
        t->in_txn = false;
        t->txn_first_offset = -1;
        t->clog_next = -1;
    }
    int rc = PIPE_OK;
    if (seek->cnt > 0) {
        /* librdkafka 2.0.2 waits timeout_ms *microseconds* for the seeks' confirmations
         * (fixed in 2.1.0), so on a busy machine the call reports a time-out after 10 ms.
         * The seek is in effect all the same: its version barrier is set before the call
         * returns, so no record fetched before it reaches us (docs/KAFKA.md). A time-out
         * leaves the confirmations in progress, which is not an error. */
        rd_kafka_error_t *se = rd_kafka_seek_partitions(pp->consumer, seek, 10000);
        if (se && rd_kafka_error_code(se) != RD_KAFKA_RESP_ERR__TIMED_OUT) {
            snprintf(err, errlen, "seeking back after abort: %s", rd_kafka_error_string(se));
            rc = PIPE_FATAL;
        }
        if (se)
            rd_kafka_error_destroy(se);
        for (int i = 0; rc == PIPE_OK && i < seek->cnt; i++) {
            if (seek->elems[i].err && seek->elems[i].err != RD_KAFKA_RESP_ERR__IN_PROGRESS) {
                snprintf(err, errlen, "seeking %s [%d] back after abort: %s", seek->elems[i].topic,
                         (int)seek->elems[i].partition, rd_kafka_err2str(seek->elems[i].err));
                rc = PIPE_FATAL;
            }
        }
    }
    rd_kafka_topic_partition_list_destroy(seek);
    return rc;
}

static int txn_send_offsets(pipe_t *pp, char *err, size_t errlen)
{
    rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new(pp->n_parts);
    for (int32_t p = 0; p < pp->n_parts; p++) {
        if (pp->tasks[p].txn_first_offset < 0)
            continue;
        rd_kafka_topic_partition_t *tp =
            rd_kafka_topic_partition_list_add(offs, pp->conf.topic_input, p);
        tp->offset = pp->tasks[p].next_offset;
        if (pp->hooks->offset_metadata) {
            char md[256] = "";
            pp->hooks->offset_metadata(pp->hooks->opaque, p, md, sizeof(md));
            if (md[0]) { /* freed with the list */
                tp->metadata = strdup(md);
                tp->metadata_size = tp->metadata ? strlen(md) : 0;
            }
        }
    }
    int rc = PIPE_OK;
    if (offs->cnt > 0) {
        rd_kafka_consumer_group_metadata_t *gm = rd_kafka_consumer_group_metadata(pp->consumer);
        rd_kafka_error_t *e =
            rd_kafka_send_offsets_to_transaction(pp->producer, offs, gm, TXN_TIMEOUT_MS);
        rd_kafka_consumer_group_metadata_destroy(gm);
        if (e)
            rc = txn_error(pp, e, "send_offsets_to_transaction", err, errlen);
    }
    rd_kafka_topic_partition_list_destroy(offs);
    return rc;
}

/* Commit the open transaction: flush states, send offsets, commit, then durable state. */
static int txn_commit(pipe_t *pp, char *err, size_t errlen)
{
    if (!pp->txn_open)
        return PIPE_OK;
    pp->commit_started_ms = mono_ms();
    int rc = PIPE_OK;
    for (int32_t p = 0; rc == PIPE_OK && p < pp->n_parts; p++)
        if (pp->tasks[p].in_txn && pp->hooks->flush)
            rc = pp->hooks->flush(pp->hooks->opaque, pp, p, err, errlen);
    struct timespec c0, c1;
    clock_gettime(CLOCK_MONOTONIC, &c0);
    if (rc == PIPE_OK)
        rc = txn_send_offsets(pp, err, errlen);
    if (rc == PIPE_OK && pp->abort_every > 0 &&
        (pp->stats.transactions + pp->stats.aborts + 1) % pp->abort_every == 0) {
        /* The test switch: everything is produced and the offsets are sent, as for a real
         * abortable error at commit. Flushed first: librdkafka #4849 (docs/KAFKA.md). */
        rd_kafka_flush(pp->producer, 30000);
        snprintf(err, errlen, "injected abort (LOYALTY_ABORT_EVERY=%lld)",
                 (long long)pp->abort_every);
        rc = PIPE_ABORT;
    }
    if (rc == PIPE_OK && pp->fatal_at > 0 && pp->stats.transactions + 1 >= pp->fatal_at &&
        pp->fatal_injected < pp->fatal_times) {
        /* The test switch: the producer turns fatal with the transaction's records
         * produced and its offsets sent, as librdkafka's INVALID_TXN_STATE in an abort
         * during a broker outage does (docs/KAFKA.md). */
        rd_kafka_flush(pp->producer, 30000);
        pp->fatal_injected++;
        if (pp->fatal_consumer) /* the group fenced our static member (librdkafka #3437) */
            rd_kafka_test_fatal_error(pp->consumer, RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID,
                                      "injected (LOYALTY_FATAL_AT)");
        else
            rd_kafka_test_fatal_error(pp->producer, RD_KAFKA_RESP_ERR_INVALID_TXN_STATE,
                                      "injected (LOYALTY_FATAL_AT)");
        /* librdkafka's test call only flags the client: the commit would still go
         * through. A real fatal error fails the commit or the abort, which this does. */
        snprintf(err, errlen, "commit_transaction: injected fatal error (LOYALTY_FATAL_AT)");
        return PIPE_FATAL;
    }
    if (rc == PIPE_OK && pp->crash == CRASH_AFTER_PRODUCE) {
        rd_kafka_flush(pp->producer, 30000); /* the records are in the log, uncommitted */
        crash_point(pp, CRASH_AFTER_PRODUCE);
    }
    if (rc == PIPE_OK) {
        rd_kafka_error_t *e;
        int tries = 0;
        while ((e = rd_kafka_commit_transaction(pp->producer, TXN_TIMEOUT_MS)) &&
               rd_kafka_error_is_retriable(e) && ++tries < 3) {
            log_warn("pipe", "commit_transaction retriable error, retrying", "err=\"%s\"",
                     rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        }
        if (e)
            rc = txn_error(pp, e, "commit_transaction", err, errlen);
    }
    if (rc == PIPE_ABORT) {
        char why[512];
        snprintf(why, sizeof(why), "%s", err);
        return txn_abort(pp, why, err, errlen) == PIPE_OK ? PIPE_ABORT : PIPE_FATAL;
    }
    if (rc != PIPE_OK)
        return rc;
    clock_gettime(CLOCK_MONOTONIC, &c1);
    rd_kafka_poll(pp->producer, 0); /* serve remaining delivery reports (changelog offsets) */
    pp->txn_open = false;
    crash_point(pp, CRASH_AFTER_COMMIT);
    for (int32_t p = 0; p < pp->n_parts; p++) {
        task_t *t = &pp->tasks[p];
        if (!t->in_txn)
            continue;
        /* Kafka has the transaction: a failure here loses no data (restore redoes it)
         * but the local store can no longer be trusted, so it is fatal. */
        int hrc = pp->hooks->committed
                      ? pp->hooks->committed(pp->hooks->opaque, p,
                                             t->txn_first_offset >= 0 ? t->next_offset : -1,
                                             t->clog_next, err, errlen)
                      : PIPE_OK;
        if (hrc != PIPE_OK)
            return hrc == PIPE_CORRUPT ? PIPE_CORRUPT : PIPE_FATAL;
        t->in_txn = false;
        t->txn_first_offset = -1;
    }
    pp->stats.transactions++;
    pp->stats.records_in += pp->txn_records; /* committed work only: aborted work is redone */
    pp->stats.records_out += pp->txn_out;
    if (pp->on_commit)
        pp->on_commit(pp->on_commit_ctx, pp->txn_records, pp->txn_out,
                      (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9);
    pp->consecutive_aborts = 0;
    pp->consecutive_retries = 0;
    crash_point(pp, CRASH_AFTER_STORE);
    return PIPE_OK;
}

/* ------------------------------------------------------------------ tasks and restore */

static int task_open(pipe_t *pp, int32_t p, const char *metadata, char *err, size_t errlen)
{
    task_t *t = &pp->tasks[p];
    int64_t from = -1;
    int hrc = pp->hooks->task_open
                  ? pp->hooks->task_open(pp->hooks->opaque, p, metadata, &from, err, errlen)
                  : PIPE_OK;
    if (hrc != PIPE_OK)
        return hrc == PIPE_CORRUPT ? PIPE_CORRUPT : PIPE_FATAL;
    memset(t, 0, sizeof(*t));
    t->state = TASK_RESTORING;
    t->assigned_ms = mono_ms();
    t->txn_first_offset = -1;
    t->next_offset = -1;
    t->clog_next = -1;
    t->clog_pos = from >= 0 ? from : -1;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, pp->changelog, p)->offset =
        from >= 0 ? from : RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_error_t *e = rd_kafka_incremental_assign(pp->restorer, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        snprintf(err, errlen, "restoring task %d: assigning changelog %s [%d]: %s", (int)p,
                 pp->changelog, (int)p, rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        return PIPE_FATAL;
    }
    pp->stats.tasks++;
    pp->stats.restoring++;
    log_info("pipe", "task assigned: restoring", "task=%d changelog=%s from=%lld", (int)p,
             pp->changelog, (long long)from);
    return PIPE_OK;
}

static void restorer_unassign(pipe_t *pp, int32_t p)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, pp->changelog, p);
    rd_kafka_error_t *e = rd_kafka_incremental_unassign(pp->restorer, l);
    if (e) {
        log_warn("pipe", "unassigning changelog partition failed", "task=%d err=\"%s\"", (int)p,
                 rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
    rd_kafka_topic_partition_list_destroy(l);
}

/* After a fatal error nothing may be committed: the open transaction's staged state is
 * dropped (Kafka aborts the transaction when the producer goes or a new one fences it). */
static void drop_open_txn(pipe_t *pp)
{
    for (int32_t p = 0; pp->txn_open && p < pp->n_parts; p++)
        if (pp->tasks[p].in_txn && pp->hooks->aborted)
            pp->hooks->aborted(pp->hooks->opaque, p);
    pp->txn_open = false;
}

static void task_close(pipe_t *pp, int32_t p)
{
    task_t *t = &pp->tasks[p];
    if (t->state == TASK_NONE)
        return;
    if (t->state == TASK_RESTORING) {
        restorer_unassign(pp, p);
        pp->stats.restoring--;
    }
    if (pp->hooks->task_close)
        pp->hooks->task_close(pp->hooks->opaque, p);
    t->state = TASK_NONE;
    pp->stats.tasks--;
    log_info("pipe", "task closed", "task=%d", (int)p);
}

static int task_activate(pipe_t *pp, int32_t p, int64_t end_offset, char *err, size_t errlen)
{
    task_t *t = &pp->tasks[p];
    restorer_unassign(pp, p);
    int hrc = pp->hooks->restored
                  ? pp->hooks->restored(pp->hooks->opaque, p, t->restored, end_offset, err, errlen)
                  : PIPE_OK;
    if (hrc != PIPE_OK)
        return hrc == PIPE_CORRUPT ? PIPE_CORRUPT : PIPE_FATAL;
    t->state = TASK_ACTIVE;
    pp->stats.restoring--;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, pp->conf.topic_input, p);
    rd_kafka_resp_err_t e = rd_kafka_resume_partitions(pp->consumer, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        snprintf(err, errlen, "resuming input partition %d: %s", (int)p, rd_kafka_err2str(e));
        return PIPE_FATAL;
    }
    log_info("pipe", "task restored: processing", "task=%d restored_records=%lld", (int)p,
             (long long)t->restored);
    return PIPE_OK;
}

/* The end of a changelog partition is its last stable offset (read_committed). When the
 * high watermark lies beyond it, transactions on the partition are still undecided:
 * typically the previous owner's last commit, whose markers the coordinator writes
 * after answering the commit. Stopping there would start the task from the state before
 * that transaction, so the restore waits: librdkafka reports a new end once the markers
 * land (or the transactions are aborted, at the latest after transaction.timeout.ms). */
static bool restore_complete(pipe_t *pp, int32_t p, int64_t end_offset)
{
    int64_t lo = -1, hi = -1;
    if (rd_kafka_get_watermark_offsets(pp->restorer, pp->changelog, p, &lo, &hi) !=
            RD_KAFKA_RESP_ERR_NO_ERROR ||
        hi <= end_offset)
        return true;
    log_info("pipe", "changelog has undecided transactions past its stable end: waiting",
             "task=%d stable_end=%lld high_watermark=%lld", (int)p, (long long)end_offset,
             (long long)hi);
    return false;
}

/* Read up to a bounded batch from the changelog for restoring tasks. */
#define RESTORE_BATCH 1024
static int restore_step(pipe_t *pp, int timeout_ms, char *err, size_t errlen)
{
    if (pp->stats.restoring == 0)
        return PIPE_OK;
    for (int32_t p = 0; pp->restore_hold_ms > 0 && p < pp->n_parts; p++) {
        if (pp->tasks[p].state == TASK_RESTORING &&
            mono_ms() - pp->tasks[p].assigned_ms < pp->restore_hold_ms) {
            nap(pp, 10); /* the test switch: the changelog waits in the restorer's queue */
            return PIPE_OK;
        }
    }
    rd_kafka_message_t *msgs[RESTORE_BATCH];
    rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(pp->restorer);
    ssize_t n = rd_kafka_consume_batch_queue(q, timeout_ms, msgs, RESTORE_BATCH);
    rd_kafka_queue_destroy(q);
    int rc = PIPE_OK;
    pipe_rec_t recs[64];
    size_t nrec = 0;
    int32_t cur = -1;
    for (ssize_t i = 0; i < n; i++) {
        rd_kafka_message_t *m = msgs[i];
        bool flush_now = nrec == 64 || (nrec && m->partition != cur) || m->err;
        if (rc == PIPE_OK && flush_now && nrec) {
            rc = pp->hooks->restore(pp->hooks->opaque, cur, recs, nrec, err, errlen);
            nrec = 0;
        }
        if (rc != PIPE_OK)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (m->partition < pp->n_parts && pp->tasks[m->partition].state == TASK_RESTORING &&
                restore_complete(pp, m->partition, m->offset))
                rc = task_activate(pp, m->partition, m->offset, err, errlen);
        } else if (m->err) {
            /* Transient errors (a broker down, a transport error) pass: the consumer
             * retries by itself. Only a fatal client error stops the restore. */
            if (rd_kafka_fatal_error(pp->restorer, NULL, 0) != RD_KAFKA_RESP_ERR_NO_ERROR) {
                snprintf(err, errlen, "reading changelog %s [%d]: %s", pp->changelog,
                         (int)m->partition, rd_kafka_message_errstr(m));
                rc = PIPE_FATAL;
            } else {
                log_warn("pipe", "changelog read error (retrying)", "task=%d err=\"%s\"",
                         (int)m->partition, rd_kafka_message_errstr(m));
            }
        } else if (m->partition < pp->n_parts && pp->tasks[m->partition].state == TASK_RESTORING) {
            cur = m->partition;
            rec_from_msg(m, &recs[nrec++]);
            pp->tasks[cur].restored++;
            pp->tasks[cur].clog_pos = m->offset + 1;
            pp->stats.restored++;
        }
    }
    if (rc == PIPE_OK && nrec)
        rc = pp->hooks->restore(pp->hooks->opaque, cur, recs, nrec, err, errlen);
    for (ssize_t i = 0; i < n; i++)
        rd_kafka_message_destroy(msgs[i]);
    return rc;
}

/* ------------------------------------------------------------------ rebalance */

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t e,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    pipe_t *pp = opaque;
    char err[512];
    if (e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        rd_kafka_resp_err_t ae = rd_kafka_assign(rk, parts); /* at the committed offsets */
        if (!ae)
            ae = rd_kafka_pause_partitions(rk, parts);
        if (ae) {
            snprintf(pp->fatal_err, sizeof(pp->fatal_err), "taking the assignment: %s",
                     rd_kafka_err2str(ae));
            pp->fatal = true;
            return;
        }
        /* The committed offsets' metadata (e.g. stream time) travels with the task. */
        rd_kafka_topic_partition_list_t *committed = rd_kafka_topic_partition_list_copy(parts);
        /* In steps, so that a stop is honoured while a dead owner's transaction is pending;
         * a stop leaves the tasks unopened (closing the consumer revokes them). */
        rd_kafka_resp_err_t ce;
        int64_t end = mono_ms() + COMMITTED_TIMEOUT_MS;
        while ((ce = rd_kafka_committed(rk, committed, 1000)) == RD_KAFKA_RESP_ERR__TIMED_OUT &&
               !stopping(pp) && mono_ms() < end)
            ;
        if (stopping(pp)) {
            rd_kafka_topic_partition_list_destroy(committed);
            return;
        }
        if (ce) {
            snprintf(pp->fatal_err, sizeof(pp->fatal_err),
                     "reading the group's committed offsets: %s", rd_kafka_err2str(ce));
            pp->fatal = true;
        }
        int orc;
        for (int i = 0; i < parts->cnt && !pp->fatal; i++) {
            int32_t p = parts->elems[i].partition;
            char md[256] = "";
            rd_kafka_topic_partition_t *c =
                rd_kafka_topic_partition_list_find(committed, parts->elems[i].topic, p);
            if (c && c->err) {
                snprintf(pp->fatal_err, sizeof(pp->fatal_err),
                         "reading the committed offset of input partition %d: %s", (int)p,
                         rd_kafka_err2str(c->err));
                pp->fatal = true;
                break;
            }
            if (c && c->metadata && c->metadata_size > 0 && c->metadata_size < sizeof(md)) {
                memcpy(md, c->metadata, c->metadata_size);
                md[c->metadata_size] = '\0';
            }
            if (p >= pp->n_parts) {
                snprintf(pp->fatal_err, sizeof(pp->fatal_err),
                         "assigned input partition %d but the input had %d partitions at "
                         "start-up: restart to pick up the new partition count",
                         (int)p, (int)pp->n_parts);
                pp->fatal = true;
            } else if (log_info("pipe", "task committed position", "task=%d offset=%lld md=\"%s\"",
                                (int)p, c ? (long long)c->offset : -1LL, md),
                       (orc = task_open(pp, p, md, err, sizeof(err))) != PIPE_OK) {
                snprintf(pp->fatal_err, sizeof(pp->fatal_err), "%s", err);
                pp->fatal_rc = orc;
                pp->fatal = true;
            }
        }
        rd_kafka_topic_partition_list_destroy(committed);
        /* Joined, assigned (an empty assignment makes an idle spare) and every task open. */
        pp->stats.assigned = !pp->fatal;
        log_info("pipe", "assignment received", "tasks=%d", (int)parts->cnt);
        return;
    }
    pp->stats.assigned = false;
    /* Revocation (or lost): finish the open transaction while we still own the partitions.
     * After a fatal error nothing may be committed: staged state is dropped. */
    if (pp->txn_open && pp->fatal) {
        drop_open_txn(pp);
    } else if (pp->txn_open) {
        int rc = e == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS && !rd_kafka_assignment_lost(rk)
                     ? txn_commit(pp, err, sizeof(err))
                     : txn_abort(pp, "partitions lost", err, sizeof(err));
        if (rc == PIPE_FATAL) {
            snprintf(pp->fatal_err, sizeof(pp->fatal_err), "%s", err);
            pp->fatal = true;
        }
    }
    for (int i = 0; i < parts->cnt; i++)
        if (parts->elems[i].partition < pp->n_parts)
            task_close(pp, parts->elems[i].partition);
    rd_kafka_assign(rk, NULL);
}

/* ------------------------------------------------------------------ set-up */

/* librdkafka's own log lines, as ours (mod=rdkafka), through klog (levels, the
 * misleading hint removed, a broker's repeated failures rate-limited). librdkafka calls
 * this from its threads and with no opaque of ours (pipe_create_topic's client has no
 * pipe): the limiter is process-wide, a log sink like log.c's output. */
static klog_t g_klog = KLOG_INIT;

static void on_rdkafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    char text[1024];
    klog_line_t line;
    klog_filter(&g_klog, level, fac, buf, now_ms(), text, sizeof(text), &line);
    if (!line.emit || !log_enabled(line.level))
        return;
    if (line.suppressed > 0)
        log_emit(line.level, "rdkafka", text, "client=%s facility=%s suppressed=%lld window_s=%d",
                 rd_kafka_name(rk), fac, (long long)line.suppressed, KLOG_WINDOW_MS / 1000);
    else
        log_emit(line.level, "rdkafka", text, "client=%s facility=%s", rd_kafka_name(rk), fac);
}

/* Client errors (served by rd_kafka_poll). An authentication or TLS failure is kept: a
 * wrong password or certificate stays wrong, so start-up stops at once naming it
 * instead of waiting for metadata that will never come. The rest librdkafka retries. */
static void on_rdkafka_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    pipe_t *pp = opaque;
    if (pp && !pp->auth_err[0] &&
        (err == RD_KAFKA_RESP_ERR__AUTHENTICATION || err == RD_KAFKA_RESP_ERR__SSL))
        snprintf(pp->auth_err, sizeof(pp->auth_err), "%s", reason);
}

static int conf_set_all(rd_kafka_conf_t *conf, const char *const *kv, char *err, size_t errlen)
{
    for (size_t i = 0; kv[i]; i += 2)
        if (rd_kafka_conf_set(conf, kv[i], kv[i + 1], err, errlen) != RD_KAFKA_CONF_OK)
            return -1;
    return 0;
}

/* A client's configuration: client.id, then @p defaults (key, value, ..., NULL; may be
 * NULL), then the user's kafka.* settings, which override those defaults. */
static rd_kafka_conf_t *base_conf(const pipe_conf_t *pc, const char *const *defaults, char *err,
                                  size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, on_rdkafka_log);
    rd_kafka_conf_set_error_cb(conf, on_rdkafka_error);
    if (rd_kafka_conf_set(conf, "client.id", pc->instance_id, err, errlen) ||
        (defaults && conf_set_all(conf, defaults, err, errlen) != 0) ||
        (pc->kafka_conf && pc->kafka_conf(pc->kafka_conf_ctx, conf, err, errlen) != 0)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

/* Partition count of @p topic, 0 when it does not exist, -1 on error. */
static int topic_partitions(rd_kafka_t *rk, const char *topic, volatile sig_atomic_t *stop,
                            char *err, size_t errlen)
{
    const struct rd_kafka_metadata *md;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_resp_err_t e = metadata_wait(rk, rkt, &md, 15000, stop);
    rd_kafka_topic_destroy(rkt);
    const pipe_t *pp = rd_kafka_opaque(rk);
    if (e == RD_KAFKA_RESP_ERR__AUTHENTICATION && pp) {
        snprintf(err, errlen,
                 "authentication failed: %s (check kafka.security.protocol, kafka.sasl.* and "
                 "kafka.ssl.*)",
                 pp->auth_err);
        return -1;
    }
    if (e) {
        snprintf(err, errlen,
                 "metadata of topic %s: %s (are bootstrap.servers right and the "
                 "brokers up?)",
                 topic, rd_kafka_err2str(e));
        return -1;
    }
    int n = md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART
                ? 0
                : md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    return n;
}

static int topic_create(rd_kafka_t *rk, const char *topic, int partitions, int rf, bool compacted,
                        volatile sig_atomic_t *stop, char *err, size_t errlen)
{
    char rderr[256];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, rf, rderr, sizeof(rderr));
    if (!nt) {
        snprintf(err, errlen, "topic %s: %s", topic, rderr);
        return -1;
    }
    if (compacted)
        rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact");
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = NULL;
    for (int64_t end = mono_ms() + 30000; !ev && !(stop && *stop) && mono_ms() < end;)
        ev = rd_kafka_queue_poll(q, STOP_STEP_MS);
    int rc = -1;
    if (!ev) {
        snprintf(err, errlen, "creating topic %s: timed out", topic);
    } else if (rd_kafka_event_error(ev)) {
        snprintf(err, errlen, "creating topic %s: %s", topic, rd_kafka_event_error_string(ev));
    } else {
        size_t cnt;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
        rd_kafka_resp_err_t te =
            cnt ? rd_kafka_topic_result_error(res[0]) : RD_KAFKA_RESP_ERR__FAIL;
        if (te == RD_KAFKA_RESP_ERR_NO_ERROR) {
            rc = 0;
            log_info("pipe", "topic created", "topic=%s partitions=%d compacted=%d", topic,
                     partitions, (int)compacted);
        } else if (te == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            rc = 0; /* another instance was first */
        } else
            snprintf(err, errlen, "creating topic %s: %s", topic,
                     cnt ? rd_kafka_topic_result_error_string(res[0]) : "no result");
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    return rc;
}

int pipe_create_topic(const pipe_conf_t *pc, const char *topic, int partitions, char *err,
                      size_t errlen)
{
    rd_kafka_conf_t *conf = base_conf(pc, NULL, err, errlen);
    if (!conf)
        return -1;
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errlen);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    int rc = topic_create(rk, topic, partitions, pc->topics_replication_factor, false, pc->stop,
                          err, errlen);
    rd_kafka_destroy(rk);
    return rc;
}

/* Let the restorer learn the changelog's partitions and leaders now (see restorer_clog). */
static int prime_restorer(pipe_t *pp, char *err, size_t errlen)
{
    pp->restorer_clog = rd_kafka_topic_new(pp->restorer, pp->changelog, NULL);
    if (!pp->restorer_clog) {
        snprintf(err, errlen, "changelog topic %s: %s", pp->changelog,
                 rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    const struct rd_kafka_metadata *md;
    rd_kafka_resp_err_t e =
        metadata_wait(pp->restorer, pp->restorer_clog, &md, 15000, pp->conf.stop);
    if (e) {
        snprintf(err, errlen, "metadata of changelog topic %s for the restore consumer: %s",
                 pp->changelog, rd_kafka_err2str(e));
        return -1;
    }
    rd_kafka_metadata_destroy(md);
    return 0;
}

/* A missing topic without topics.create: a configuration error that names the topic. */
static int missing_topic(const pipe_conf_t *pc, const char *what, const char *topic, int partitions,
                         char *err, size_t errlen)
{
    char rf[48] = "";
    if (pc->topics_replication_factor > 0)
        snprintf(rf, sizeof(rf), " --replication-factor %d", pc->topics_replication_factor);
    snprintf(err, errlen,
             "%s topic %s does not exist: create it (for example kafka-topics.sh --create "
             "--topic %s --partitions %d%s), or set topics.create = true to let the processor "
             "create every topic it needs",
             what, topic, topic, partitions, rf);
    return PIPE_CONFIG;
}

/* Partition count of @p topic after creating it when missing (and allowed): *n > 0 on
 * PIPE_OK. Metadata may lag a creation, and another instance may create the topic at the
 * same moment, so the count is read back until the brokers report it. */
static int ensure_topic(pipe_t *pp, const char *what, const char *topic, int partitions,
                        bool allowed, bool compacted, int *n, char *err, size_t errlen)
{
    if ((*n = topic_partitions(pp->producer, topic, pp->conf.stop, err, errlen)) < 0)
        return PIPE_FATAL;
    if (*n > 0)
        return PIPE_OK;
    if (!allowed)
        return missing_topic(&pp->conf, what, topic, partitions, err, errlen);
    if (topic_create(pp->producer, topic, partitions, pp->conf.topics_replication_factor, compacted,
                     pp->conf.stop, err, errlen) != 0)
        return PIPE_CONFIG; /* e.g. a replication factor above the broker count */
    for (int i = 0; i < 50 && *n == 0 && !stopping(pp); i++) {
        if ((*n = topic_partitions(pp->producer, topic, pp->conf.stop, err, errlen)) < 0)
            return PIPE_FATAL;
        if (*n == 0)
            usleep(100 * 1000);
    }
    if (*n == 0) {
        snprintf(err, errlen, "topic %s was created but the brokers do not report it yet", topic);
        return PIPE_FATAL;
    }
    return PIPE_OK;
}

static int check_topics(pipe_t *pp, char *err, size_t errlen)
{
    const pipe_conf_t *pc = &pp->conf;
    int n, rc = ensure_topic(pp, "input", pc->topic_input, pc->topics_partitions, pc->topics_create,
                             false, &n, err, errlen);
    if (rc != PIPE_OK)
        return rc;
    pp->n_parts = n;
    int c;
    if ((rc = ensure_topic(pp, "changelog", pp->changelog, n, true, true, &c, err, errlen)) !=
        PIPE_OK)
        return rc;
    if (c != n) {
        snprintf(err, errlen,
                 "changelog topic %s has %d partitions but input topic %s has %d: they must "
                 "match (co-partitioned); nothing was changed",
                 pp->changelog, c, pc->topic_input, n);
        return PIPE_CONFIG;
    }
    if (prime_restorer(pp, err, errlen) != 0)
        return PIPE_FATAL;
    for (size_t i = 0; i < pc->n_topics_out; i++) {
        bool dup = false;
        for (size_t j = 0; j < i; j++)
            dup = dup || strcmp(pc->topics_out[i], pc->topics_out[j]) == 0;
        int o;
        if (!dup && (rc = ensure_topic(pp, "output", pc->topics_out[i], n, pc->topics_create, false,
                                       &o, err, errlen)) != PIPE_OK)
            return rc;
    }
    return PIPE_OK;
}

/* The topics' max.message.bytes is asked for once, in one DescribeConfigs request at
 * start-up, and its answer is picked up when a limit is first needed after it arrived
 * (pipe_max_record_bytes): start-up never waits for it, and a cluster that does not
 * answer (librdkafka's mock cluster) leaves the producer's limit and the broker's
 * refusals in charge. */
static void request_size_limits(pipe_t *pp)
{
    char v[32];
    size_t vlen = sizeof(v);
    pp->producer_max_bytes = 1000000; /* librdkafka's default */
    if (rd_kafka_conf_get(rd_kafka_conf(pp->producer), "message.max.bytes", v, &vlen) ==
            RD_KAFKA_CONF_OK &&
        atoll(v) > 0)
        pp->producer_max_bytes = atoll(v);
    pp->refused_max_bytes = INT64_MAX;
    size_t n = pp->conf.n_topics_out;
    pp->out_max_bytes = calloc(n + 1, sizeof(*pp->out_max_bytes));
    rd_kafka_ConfigResource_t **res = calloc(n + 1, sizeof(*res));
    rd_kafka_AdminOptions_t *opt =
        rd_kafka_AdminOptions_new(pp->producer, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    pp->limits_q = rd_kafka_queue_new(pp->producer);
    if (pp->out_max_bytes && res && opt && pp->limits_q && n > 0) {
        for (size_t i = 0; i < n; i++)
            res[i] = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, pp->conf.topics_out[i]);
        rd_kafka_AdminOptions_set_request_timeout(opt, 10000, NULL, 0);
        rd_kafka_DescribeConfigs(pp->producer, res, n, opt, pp->limits_q);
        pp->limits_pending = true;
        for (size_t i = 0; i < n; i++)
            rd_kafka_ConfigResource_destroy(res[i]);
    }
    if (opt)
        rd_kafka_AdminOptions_destroy(opt);
    free(res);
}

/* Take the DescribeConfigs answer if it has arrived. */
static void poll_size_limits(pipe_t *pp)
{
    if (!pp->limits_pending)
        return;
    rd_kafka_event_t *ev = rd_kafka_queue_poll(pp->limits_q, 0);
    if (!ev)
        return;
    pp->limits_pending = false;
    const rd_kafka_DescribeConfigs_result_t *r =
        !rd_kafka_event_error(ev) ? rd_kafka_event_DescribeConfigs_result(ev) : NULL;
    size_t n = 0;
    const rd_kafka_ConfigResource_t **rs =
        r ? rd_kafka_DescribeConfigs_result_resources(r, &n) : NULL;
    for (size_t k = 0; k < n; k++) {
        size_t nc = 0;
        const rd_kafka_ConfigEntry_t **cs = !rd_kafka_ConfigResource_error(rs[k])
                                                ? rd_kafka_ConfigResource_configs(rs[k], &nc)
                                                : NULL;
        const char *topic = rd_kafka_ConfigResource_name(rs[k]);
        for (size_t c = 0; c < nc; c++) {
            const char *v = rd_kafka_ConfigEntry_value(cs[c]);
            if (strcmp(rd_kafka_ConfigEntry_name(cs[c]), "max.message.bytes") != 0 || !v)
                continue;
            for (size_t i = 0; i < pp->conf.n_topics_out; i++)
                if (strcmp(pp->conf.topics_out[i], topic) == 0)
                    pp->out_max_bytes[i] = atoll(v) > 0 ? atoll(v) : 0;
        }
    }
    if (!r)
        log_warn("pipe", "the topics' max.message.bytes are unknown", "err=\"%s\"",
                 rd_kafka_event_error_string(ev));
    rd_kafka_event_destroy(ev);
}

size_t pipe_max_record_bytes(pipe_t *pp, const char *topic)
{
    poll_size_limits(pp);
    int64_t m = pp->producer_max_bytes;
    for (size_t i = 0; pp->out_max_bytes && i < pp->conf.n_topics_out; i++)
        if (pp->out_max_bytes[i] > 0 && pp->out_max_bytes[i] < m &&
            strcmp(pp->conf.topics_out[i], topic) == 0)
            m = pp->out_max_bytes[i];
    if (pp->refused_max_bytes < m)
        m = pp->refused_max_bytes;
    return (size_t)m;
}

const char *const *pipe_input_defaults(int rdk_version)
{
    static const char *const since_2_2[] = {"queued.min.messages", "20000",
                                            "fetch.queue.backoff.ms", "5", NULL};
    return rdk_version >= 0x02020000 ? since_2_2 : NULL;
}

static int create_clients(pipe_t *pp, char *err, size_t errlen)
{
    const pipe_conf_t *pc = &pp->conf;
    char txn_id[512], rgroup[512];
    snprintf(txn_id, sizeof(txn_id), "%s-%s", pc->application_id, pc->instance_id);
    snprintf(rgroup, sizeof(rgroup), "%s-restore", pc->application_id); /* never joins */
    /* linger.ms: a default the user's kafka.linger.ms overrides; the rest is forced. */
    const char *pdefaults[] = {"linger.ms", PIPE_DEFAULT_LINGER_MS, NULL};
    const char *pkv[] = {
        "transactional.id", txn_id, "partitioner", "murmur2_random", "acks", "all", NULL};
    const char *ckv[] = {"group.id",
                         pc->application_id,
                         "enable.auto.commit",
                         "false",
                         "enable.auto.offset.store",
                         "false",
                         "isolation.level",
                         "read_committed",
                         "auto.offset.reset",
                         "earliest",
                         NULL};
    /* The restorer's prefetch is bounded by bytes only (queued.max.messages.kbytes, 64 MiB
     * unless set): librdkafka 2.0 stops fetching a partition whose queue holds
     * queued.min.messages (100,000 by default) and then fetches again only when its
     * broker thread wakes, up to a second later. A restore drains 100,000 small records
     * in well under a second, so with that limit it would sit idle for most of each
     * second (docs/KAFKA.md).
     * A restore ends at the partition-EOF event, which comes with the first fetch response
     * after the last record; once every restoring partition is at its end, the broker
     * holds that empty fetch for fetch.wait.max.ms (500 ms by default) before answering,
     * so the last task of a restore would wait up to half a second for nothing. */
    const char *rkv[] = {"queued.min.messages",
                         "10000000",
                         "fetch.wait.max.ms",
                         "10",
                         "group.id",
                         rgroup,
                         "enable.auto.commit",
                         "false",
                         "isolation.level",
                         "read_committed",
                         "enable.partition.eof",
                         "true",
                         "auto.offset.reset",
                         "earliest",
                         NULL};

    /* conf is ours until rd_kafka_new takes it; the one exit below frees what is left. */
    rd_kafka_conf_t *conf = base_conf(pc, pdefaults, err, errlen);
    if (!conf || conf_set_all(conf, pkv, err, errlen) != 0)
        goto fail;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, pp);
    if (!(pp->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errlen)))
        goto fail;

    conf = base_conf(pc, pipe_input_defaults(rd_kafka_version()), err, errlen);
    if (!conf || conf_set_all(conf, ckv, err, errlen) != 0)
        goto fail;
    if (pc->static_membership &&
        rd_kafka_conf_set(conf, "group.instance.id", pc->instance_id, err, errlen))
        goto fail;
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_opaque(conf, pp);
    if (!(pp->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errlen)))
        goto fail;
    rd_kafka_poll_set_consumer(pp->consumer);

    conf = base_conf(pc, NULL, err, errlen);
    if (!conf || conf_set_all(conf, rkv, err, errlen) != 0)
        goto fail;
    rd_kafka_conf_set_opaque(conf, pp);
    if (!(pp->restorer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errlen)))
        goto fail;
    rd_kafka_poll_set_consumer(pp->restorer);
    return 0;
fail:
    if (conf)
        rd_kafka_conf_destroy(conf);
    return -1;
}

/* Init transactions (fencing any earlier producer of our transactional.id) and join the
 * group. */
static int start_transactions(pipe_t *pp, char *err, size_t errlen)
{
    const pipe_conf_t *pc = &pp->conf;
    /* In steps: a timed-out init_transactions may be called again (librdkafka resumes
     * it), and a stop between steps is honoured at once. A resumed call can also report
     * a failed attempt that librdkafka retries by itself (CONCURRENT_TRANSACTIONS while
     * the coordinator aborts a crashed predecessor's transaction): retriable, called
     * again after a pause. */
    rd_kafka_error_t *e;
    int64_t init_end = mono_ms() + 60000;
    while ((e = rd_kafka_init_transactions(pp->producer, STOP_STEP_MS)) &&
           (rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR__TIMED_OUT ||
            rd_kafka_error_is_retriable(e) ||
            rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS) &&
           !rd_kafka_error_is_fatal(e) && !stopping(pp) && mono_ms() < init_end) {
        if (rd_kafka_error_code(e) != RD_KAFKA_RESP_ERR__TIMED_OUT)
            nap(pp, STOP_STEP_MS);
        rd_kafka_error_destroy(e);
    }
    if (e) {
        snprintf(err, errlen, "init_transactions (transactional.id %s-%s): %s", pc->application_id,
                 pc->instance_id, rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        return -1;
    }
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, pc->topic_input, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t se = rd_kafka_subscribe(pp->consumer, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (se) {
        snprintf(err, errlen, "subscribing to %s: %s", pc->topic_input, rd_kafka_err2str(se));
        return -1;
    }
    return 0;
}

int pipe_new(const pipe_conf_t *conf, const pipe_hooks_t *hooks, pipe_t **out, char *err,
             size_t errlen)
{
    *out = NULL;
    pipe_t *pp = calloc(1, sizeof(*pp));
    if (!pp) {
        snprintf(err, errlen, "out of memory");
        return PIPE_FATAL;
    }
    pp->conf = *conf;
    pp->hooks = hooks;
    pp->fatal_rc = PIPE_FATAL;
    if (conf->topic_changelog && *conf->topic_changelog)
        snprintf(pp->changelog, sizeof(pp->changelog), "%s", conf->topic_changelog);
    else
        snprintf(pp->changelog, sizeof(pp->changelog), "%s-changelog", conf->application_id);
    crash_points_init(pp);
    int rc = PIPE_FATAL;
    if (create_clients(pp, err, errlen) != 0 || (rc = check_topics(pp, err, errlen)) != PIPE_OK)
        goto fail;
    rc = PIPE_FATAL;
    pp->tasks = calloc((size_t)pp->n_parts, sizeof(*pp->tasks));
    request_size_limits(pp);
    if (!pp->tasks) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (start_transactions(pp, err, errlen) != 0)
        goto fail;
    char linger[32] = "?", qmin[32] = "?", qbackoff[32] = "?";
    size_t len = sizeof(linger);
    rd_kafka_conf_get(rd_kafka_conf(pp->producer), "linger.ms", linger, &len);
    len = sizeof(qmin);
    rd_kafka_conf_get(rd_kafka_conf(pp->consumer), "queued.min.messages", qmin, &len);
    len = sizeof(qbackoff); /* a property librdkafka has only since 2.2 */
    if (rd_kafka_conf_get(rd_kafka_conf(pp->consumer), "fetch.queue.backoff.ms", qbackoff, &len) !=
        RD_KAFKA_CONF_OK)
        snprintf(qbackoff, sizeof(qbackoff), "none");
    log_info("pipe", "pipeline ready",
             "input=%s partitions=%d changelog=%s group=%s linger_ms=%s librdkafka=%s "
             "input_queued_min_messages=%s input_fetch_queue_backoff_ms=%s",
             conf->topic_input, (int)pp->n_parts, pp->changelog, conf->application_id, linger,
             rd_kafka_version_str(), qmin, qbackoff);
    *out = pp;
    return PIPE_OK;
fail:
    if (stopping(pp)) {
        snprintf(err, errlen, "stopped during start-up");
        rc = PIPE_STOPPED;
    }
    pipe_destroy(pp);
    return rc;
}

/* ------------------------------------------------------------------ the loop */

static int process_msg(pipe_t *pp, rd_kafka_message_t *m, char *err, size_t errlen)
{
    if (m->err) {
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
            return PIPE_OK;
        if (rd_kafka_fatal_error(pp->consumer, NULL, 0) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(err, errlen, "consumer: %s", rd_kafka_message_errstr(m));
            return PIPE_FATAL;
        }
        log_warn("pipe", "consumer error", "err=\"%s\"", rd_kafka_message_errstr(m));
        return PIPE_OK;
    }
    int32_t p = m->partition;
    if (p >= pp->n_parts || pp->tasks[p].state != TASK_ACTIVE)
        return PIPE_OK; /* a stale message from before a revoke or seek */
    task_t *t = &pp->tasks[p];
    if (t->next_offset >= 0 && m->offset < t->next_offset)
        return PIPE_OK; /* already processed in this transaction (stale prefetch) */
    int rc = txn_begin(pp, err, errlen);
    if (rc != PIPE_OK)
        return rc;
    if (t->txn_first_offset < 0)
        t->txn_first_offset = m->offset;
    t->in_txn = true;
    pipe_rec_t rec;
    rec_from_msg(m, &rec);
    rc = pp->hooks->process(pp->hooks->opaque, pp, &rec, err, errlen);
    t->next_offset = m->offset + 1;
    pp->txn_records++;
    return rc;
}

int pipe_touch(pipe_t *pp, int32_t p, char *err, size_t errlen)
{
    int rc = txn_begin(pp, err, errlen);
    if (rc == PIPE_OK && p >= 0 && p < pp->n_parts)
        pp->tasks[p].in_txn = true;
    return rc;
}

static int fire_timers(pipe_t *pp, char *err, size_t errlen)
{
    if (!pp->hooks->timers)
        return PIPE_OK;
    int64_t wall = now_ms();
    for (int32_t p = 0; p < pp->n_parts; p++) {
        if (pp->tasks[p].state != TASK_ACTIVE)
            continue;
        int rc = pp->hooks->timers(pp->hooks->opaque, pp, p, wall, err, errlen);
        if (rc != PIPE_OK)
            return rc;
    }
    return PIPE_OK;
}

/* Handle a step's result: abort and go on, or stop. */
static int settle(pipe_t *pp, int rc, char *err, size_t errlen)
{
    if (rc != PIPE_ABORT && rc != PIPE_RETRY)
        return rc;
    char why[512];
    snprintf(why, sizeof(why), "%s", err);
    if (pp->txn_open && txn_abort(pp, why, err, errlen) != PIPE_OK)
        return PIPE_FATAL;
    if (rc == PIPE_RETRY) { /* a service is down: wait for it, however long it takes */
        int shift = pp->consecutive_retries < 5 ? pp->consecutive_retries++ : 5;
        int64_t pause_ms = (int64_t)200 << shift;
        nap(pp, pause_ms > 5000 ? 5000 : pause_ms); /* a stop is honoured at once */
        return PIPE_OK;
    }
    /* A cause that persists (a registry down, a record nothing can be produced for)
     * would abort the same transaction again and again: back off, then stop loudly. */
    if (++pp->consecutive_aborts >= MAX_CONSECUTIVE_ABORTS) {
        snprintf(err, errlen, "%d transactions in a row were aborted; the last because: %s",
                 pp->consecutive_aborts, why);
        return PIPE_FATAL;
    }
    int shift = pp->consecutive_aborts < 6 ? pp->consecutive_aborts : 6;
    int64_t pause_ms = (int64_t)100 << shift;
    nap(pp, pause_ms > 5000 ? 5000 : pause_ms);
    return PIPE_OK;
}

static void destroy_clients(pipe_t *pp);

/* What a client's fatal error lets the process do (pipe_run). */
typedef enum {
    FATAL_STOP,     /* no client is fatal, or new clients would fail alike: stop */
    FATAL_FENCED,   /* a fencing: recover with fresh clients */
    FATAL_PRODUCER, /* the producer's own transactional fault: recover with fresh clients */
} fatal_kind_t;

/* Producer errors that fresh clients would meet again: a refusal, not a state to reset. */
static bool permanent(rd_kafka_resp_err_t e)
{
    switch (e) {
    case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR__SSL:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT:
    case RD_KAFKA_RESP_ERR_INVALID_TRANSACTION_TIMEOUT:
    case RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
        return true;
    default:
        return false;
    }
}

/* Which fatal error the clients hold (@p why: its text).
 * - A fencing: our producer's epoch was bumped (the coordinator aborted a transaction that
 *   outlived transaction.timeout.ms, e.g. while a broker was down, or another producer
 *   with our transactional.id started), or the group fenced our static member (librdkafka
 *   issue #3437 after a session timeout).
 * - Any other fatal error of the producer but a refusal: librdkafka 2.0.2 also makes
 *   transactional state errors fatal, e.g. INVALID_TXN_STATE in an abort during a broker
 *   outage (docs/KAFKA.md). Like a fence, it leaves nothing committed that the tasks'
 *   restore would not find (a commit that Kafka took before the error is in the changelog
 *   and the group's offsets; only its counts in the metrics are lost), and a new
 *   producer's init_transactions aborts the open transaction. */
static fatal_kind_t fatal_kind(pipe_t *pp, char *why, size_t whylen)
{
    rd_kafka_t *clients[] = {pp->producer, pp->consumer};
    for (size_t i = 0; i < 2; i++) {
        rd_kafka_resp_err_t e =
            clients[i] ? rd_kafka_fatal_error(clients[i], why, whylen) : RD_KAFKA_RESP_ERR_NO_ERROR;
        if (e == RD_KAFKA_RESP_ERR__FENCED || e == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
            e == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH ||
            e == RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID)
            return FATAL_FENCED;
    }
    rd_kafka_resp_err_t e =
        pp->producer ? rd_kafka_fatal_error(pp->producer, why, whylen) : RD_KAFKA_RESP_ERR_NO_ERROR;
    return e != RD_KAFKA_RESP_ERR_NO_ERROR && !permanent(e) ? FATAL_PRODUCER : FATAL_STOP;
}

/*
 * Recover from a fencing or a fatal producer error in the process: drop the open
 * transaction's work (nothing of it was committed), replace the three clients, fence our
 * own earlier epoch and rejoin; the group assigns the tasks again and they restore from
 * their checkpoints. A live duplicate (another instance with our instance.id) fences us
 * again and again, and a fault that new clients do not cure comes back: RECOVERY_LIMIT
 * recoveries within RECOVERY_WINDOW_MS stop the process.
 */
static int recover_clients(pipe_t *pp, fatal_kind_t kind, const char *cause, char *err,
                           size_t errlen)
{
    int64_t now = mono_ms();
    if (pp->recoveries == 0 || now - pp->recovery_window_ms > RECOVERY_WINDOW_MS) {
        pp->recovery_window_ms = now;
        pp->recoveries = 0;
    }
    if (++pp->recoveries >= RECOVERY_LIMIT) {
        if (kind == FATAL_FENCED)
            snprintf(err, errlen,
                     "fenced %d times within %d s: another live instance uses instance.id %s "
                     "(transactional.id %s-%s); each instance needs its own. Last: %s",
                     pp->recoveries, RECOVERY_WINDOW_MS / 1000, pp->conf.instance_id,
                     pp->conf.application_id, pp->conf.instance_id, cause);
        else
            snprintf(err, errlen,
                     "the producer failed fatally %d times within %d s and fresh clients did "
                     "not cure it; the broker logs (transaction coordinator) may say why. "
                     "Last: %s",
                     pp->recoveries, RECOVERY_WINDOW_MS / 1000, cause);
        return PIPE_FATAL;
    }
    if (kind == FATAL_FENCED)
        log_warn("pipe", "fenced, and no live duplicate in sight: rejoining with fresh clients",
                 "cause=\"%s\" recoveries_in_window=%d", cause, pp->recoveries);
    else
        log_warn("pipe",
                 "the producer failed fatally: dropping the open transaction and rejoining "
                 "with fresh clients",
                 "cause=\"%s\" recoveries_in_window=%d", cause, pp->recoveries);
    /* Drop the open transaction's staged state and close the tasks here, not through the
     * consumer's revoke: a consumer that holds the fatal error itself (a fenced static
     * member) closes without a revoke. */
    pp->fatal = true; /* nothing may be committed from here on */
    drop_open_txn(pp);
    for (int32_t p = 0; p < pp->n_parts; p++)
        task_close(pp, p);
    destroy_clients(pp);
    memset(pp->tasks, 0, sizeof(*pp->tasks) * (size_t)pp->n_parts);
    pp->stats.tasks = pp->stats.restoring = 0;
    pp->stats.assigned = false; /* not ready until the group assigns the tasks again */
    pp->fatal = false;
    pp->fatal_rc = PIPE_FATAL;
    pp->fatal_err[0] = '\0';
    pp->consecutive_aborts = 0;
    if (create_clients(pp, err, errlen) != 0 || prime_restorer(pp, err, errlen) != 0 ||
        start_transactions(pp, err, errlen) != 0)
        return PIPE_FATAL;
    log_info("pipe",
             kind == FATAL_FENCED ? "rejoined after the fence"
                                  : "rejoined after the producer's fatal error",
             NULL);
    return PIPE_OK;
}

/* Whether commit.interval.ms has passed at @p now since the last commit began. */
static bool interval_passed(const pipe_t *pp, int64_t now)
{
    return now - pp->commit_started_ms >= pp->conf.commit_interval_ms;
}

/* A step's result that ends the loop. */
static bool ends(int rc)
{
    return rc == PIPE_FATAL || rc == PIPE_CORRUPT;
}

int pipe_run(pipe_t *pp, volatile sig_atomic_t *stop, char *err, size_t errlen)
{
    int64_t last_timers = mono_ms(), last_log = mono_ms();
    int rc = PIPE_OK;
    pp->run_stop = stop;
    pp->commit_started_ms = mono_ms(); /* the first commit.interval.ms counts from here */
    char why[512];
    for (;;) {
        fatal_kind_t kind;
        if (rc == PIPE_FATAL && (kind = fatal_kind(pp, why, sizeof(why))) != FATAL_STOP)
            rc = recover_clients(pp, kind, why, err, errlen);
        if (*stop || ends(rc))
            break;
        rc = settle(pp, restore_step(pp, pp->stats.restoring ? 10 : 0, err, errlen), err, errlen);
        if (ends(rc))
            continue;
        /* While tasks restore, restore_step does the waiting: the input must not block the
         * loop (a 50 ms poll per restore step would cap the restore's rate). A commit that
         * is due waits only for the input already fetched. */
        bool commit_due = pp->txn_open && interval_passed(pp, mono_ms());
        int poll_ms = pp->stats.restoring || commit_due ? 0 : pp->txn_open ? 5 : 50;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(pp->consumer, poll_ms);
        const bool got_input = m != NULL;
        if (pp->fatal) {
            snprintf(err, errlen, "%s", pp->fatal_err);
            rc = pp->fatal_rc;
            if (m)
                rd_kafka_message_destroy(m);
            continue;
        }
        if (m) {
            rc = settle(pp, process_msg(pp, m, err, errlen), err, errlen);
            rd_kafka_message_destroy(m);
            if (ends(rc))
                continue;
        }
        int64_t mono = mono_ms();
        if (mono - last_timers >= pp->conf.timers_interval_ms) {
            last_timers = mono;
            rc = settle(pp, fire_timers(pp, err, errlen), err, errlen);
            if (ends(rc))
                continue;
        }
        /* commit.interval.ms counts from the previous commit's start, as in Kafka Streams:
         * input that arrived during a commit goes out with the next one, not a whole
         * interval after it. A due commit first processes the input already fetched (it
         * waits for an empty poll), so a burst commits as one transaction; a transaction
         * older than the interval commits anyway. */
        if (pp->txn_open &&
            (pp->txn_records >= pp->conf.commit_max_records ||
             (pp->conf.commit_max_bytes > 0 && pp->txn_bytes >= pp->conf.commit_max_bytes) ||
             mono - pp->txn_started_ms >= pp->conf.commit_interval_ms ||
             (!got_input && interval_passed(pp, mono)))) {
            rc = settle(pp, txn_commit(pp, err, errlen), err, errlen);
            if (ends(rc))
                continue;
        }
        rd_kafka_poll(pp->producer, 0);
        if (pp->tick)
            pp->tick(pp->tick_ctx, &pp->stats);
        if (mono - last_log >= 10000) {
            last_log = mono;
            log_info("pipe", "progress",
                     "records_in=%lld records_out=%lld transactions=%lld "
                     "aborts=%lld tasks=%d restoring=%d",
                     (long long)pp->stats.records_in, (long long)pp->stats.records_out,
                     (long long)pp->stats.transactions, (long long)pp->stats.aborts,
                     (int)pp->stats.tasks, (int)pp->stats.restoring);
        }
    }
    pp->stats.assigned = false; /* not ready from here on */
    if (ends(rc)) {
        log_error("pipe",
                  rc == PIPE_CORRUPT ? "stopping: local state is corrupt"
                                     : "stopping on a fatal error",
                  "err=\"%s\"", err);
        return rc;
    }
    /* Clean stop: finish the open transaction, then leave the group (revokes all tasks). */
    log_info("pipe", "stopping: committing the open transaction and leaving the group", NULL);
    rc = txn_commit(pp, err, errlen);
    if (ends(rc))
        return rc;
    rd_kafka_consumer_close(pp->consumer);
    for (int32_t p = 0; p < pp->n_parts; p++)
        task_close(pp, p);
    return pp->fatal ? pp->fatal_rc : PIPE_OK;
}

void pipe_set_tick(pipe_t *pp, void (*fn)(void *ctx, const pipe_stats_t *stats), void *ctx)
{
    pp->tick = fn;
    pp->tick_ctx = ctx;
}

void pipe_set_commit_observer(pipe_t *pp,
                              void (*fn)(void *ctx, int64_t records_in, int64_t records_out,
                                         double seconds),
                              void *ctx)
{
    pp->on_commit = fn;
    pp->on_commit_ctx = ctx;
}

/* The input position of an active task: after the last record processed, else where the
 * consumer will fetch from (the committed offset, until a record arrives). */
static int64_t task_position(pipe_t *pp, int32_t p)
{
    if (pp->tasks[p].next_offset >= 0)
        return pp->tasks[p].next_offset;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, pp->conf.topic_input, p);
    int64_t pos = -1;
    if (rd_kafka_position(pp->consumer, l) == RD_KAFKA_RESP_ERR_NO_ERROR && l->elems[0].offset >= 0)
        pos = l->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(l);
    return pos;
}

size_t pipe_get_task_stats(pipe_t *pp, pipe_task_stats_t *out, size_t cap)
{
    size_t n = 0;
    for (int32_t p = 0; p < pp->n_parts && n < cap; p++) {
        const task_t *t = &pp->tasks[p];
        if (t->state == TASK_NONE)
            continue;
        pipe_task_stats_t *o = &out[n++];
        *o = (pipe_task_stats_t){.task = p,
                                 .restoring = t->state == TASK_RESTORING,
                                 .lag = -1,
                                 .restored = t->restored,
                                 .restore_remaining = 0};
        int64_t lo = -1, hi = -1;
        if (o->restoring) {
            o->restore_remaining = -1;
            if (rd_kafka_get_watermark_offsets(pp->restorer, pp->changelog, p, &lo, &hi) ==
                    RD_KAFKA_RESP_ERR_NO_ERROR &&
                hi >= 0) {
                int64_t pos = t->clog_pos > lo ? t->clog_pos : lo;
                o->restore_remaining = pos >= 0 && hi > pos ? hi - pos : 0;
            }
            continue;
        }
        o->lag = pipe_task_lag(pp, p);
    }
    return n;
}

int64_t pipe_task_lag(pipe_t *pp, int32_t p)
{
    if (p < 0 || p >= pp->n_parts || pp->tasks[p].state != TASK_ACTIVE)
        return -1;
    int64_t lo = -1, hi = -1, pos = task_position(pp, p);
    if (pos < 0 ||
        rd_kafka_get_watermark_offsets(pp->consumer, pp->conf.topic_input, p, &lo, &hi) !=
            RD_KAFKA_RESP_ERR_NO_ERROR ||
        hi < 0)
        return -1;
    return hi > pos ? hi - pos : 0;
}

void pipe_get_stats(const pipe_t *pp, pipe_stats_t *out)
{
    *out = pp->stats;
}

int32_t pipe_partition_count(const pipe_t *pp)
{
    return pp->n_parts;
}

/* Destroy the three clients. Open tasks are revoked with their staged state dropped. */
static void destroy_clients(pipe_t *pp)
{
    /* The consumer first: closing it revokes the tasks, and closing a restoring task
     * unassigns its changelog partition from the restorer, which must still exist. */
    if (pp->consumer) {
        /* Closed by pipe_run on a clean stop; otherwise closing here revokes the tasks,
         * and the fatal flag makes the rebalance callback drop, never commit, their state. */
        pp->fatal = true;
        if (rd_kafka_fatal_error(pp->consumer, NULL, 0) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            /* A consumer that holds a fatal error (a fenced static member) never finishes
             * consumer_close in librdkafka 2.0.2: it waits forever for the group to let
             * it go. recover_clients has closed its tasks; on a stop the process ends. */
            rd_kafka_destroy_flags(pp->consumer, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
        } else {
            rd_kafka_consumer_close(pp->consumer);
            rd_kafka_destroy(pp->consumer);
        }
        pp->consumer = NULL;
    }
    if (pp->restorer) {
        if (pp->restorer_clog)
            rd_kafka_topic_destroy(pp->restorer_clog);
        pp->restorer_clog = NULL;
        rd_kafka_consumer_close(pp->restorer);
        rd_kafka_destroy(pp->restorer);
        pp->restorer = NULL;
    }
    if (pp->limits_q) { /* a queue of the producer's: before it */
        rd_kafka_queue_destroy(pp->limits_q);
        pp->limits_q = NULL;
        pp->limits_pending = false;
    }
    if (pp->producer) {
        rd_kafka_purge(pp->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_destroy(pp->producer);
        pp->producer = NULL;
    }
}

void pipe_destroy(pipe_t *pp)
{
    if (!pp)
        return;
    destroy_clients(pp);
    free(pp->tasks);
    free(pp->out_max_bytes);
    free(pp);
}
