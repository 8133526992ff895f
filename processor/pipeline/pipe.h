/*
 * pipe: the exactly-once loop, and the only code that talks to Kafka.
 *
 * One consumer in the group (group.id = application.id) and one transactional producer
 * (transactional.id = application.id-instance.id). Each assigned input partition p is a
 * *task*: it is restored from changelog partition p (read_committed, to the end detected
 * by the partition-EOF event, so a log that ends in a transaction marker is handled),
 * with its input paused meanwhile; then its records are processed.
 *
 * Per transaction (commit.interval.ms or commit.max.records, whichever first):
 *   begin → for each record: hooks.process (which produces outputs with pipe_produce and
 *   stages state) → due timers: hooks.timers → hooks.flush (the app produces changed
 *   states to changelog partition p) → send_offsets_to_transaction with the consumer
 *   group metadata → commit → only then hooks.committed (the app writes its staged batch
 *   and checkpoint to RocksDB). An abortable error aborts, calls hooks.aborted (drop the
 *   staged batch) and seeks each task back to the first offset of the transaction. A
 *   fatal error (fenced, or an abort that fails) stops the loop with PIPE_FATAL.
 *
 * The app (the loyalty processor, or a pass-through in tests and benchmarks) sees
 * records as plain bytes through pipe_rec_t and never includes librdkafka.
 */
#ifndef LS_PIPE_H
#define LS_PIPE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** The producer's linger.ms unless kafka.linger.ms says otherwise. A commit first waits for
 *  what the producer still holds (librdkafka's flush): the longer the linger, the more of a
 *  transaction goes out only at its commit, which adds to the latency (100: p99 160 ms
 *  against 124 at 25, bench/RESULTS.md, "Peer", H10); 25 sends about four times per
 *  transaction at the default commit.interval.ms, at the same CPU per event as 100. */
#define PIPE_DEFAULT_LINGER_MS "25"

/** The input consumer's defaults, which `kafka.` keys override, for the librdkafka of
 *  version @p rdk_version (as rd_kafka_version() gives it): NULL-terminated key/value
 *  pairs, static; NULL when there are none. From librdkafka 2.2 on, a consumer whose local
 *  queue is full fetches again after fetch.queue.backoff.ms instead of up to a second later,
 *  so the queue can be kept small: 20,000 records with a 5 ms backoff instead of 100,000
 *  (about 20 MiB less peak memory at 100,000 events/s, no slower, measured with librdkafka
 *  2.8.0: bench/RESULTS.md, "Peer", H14). librdkafka 2.0 (Debian 12) has no fetch.queue.backoff.ms
 * and gets none: a queue smaller than a second of input would stall it (docs/KAFKA.md). */
const char *const *pipe_input_defaults(int rdk_version);

typedef struct pipe pipe_t;

struct rd_kafka_conf_s;

/**
 * What the pipeline needs to know, and nothing of the app's domain. Strings and arrays
 * are borrowed and must outlive the pipeline.
 */
typedef struct pipe_conf {
    const char *application_id; /* group.id; transactional.id = application_id-instance_id */
    const char *instance_id;    /* client.id; group.instance.id when static_membership */
    bool static_membership;
    const char *topic_input;
    const char *topic_changelog;   /* NULL or "" = "<application_id>-changelog" */
    const char *const *topics_out; /* every topic the app produces to (checked, created) */
    size_t n_topics_out;
    bool topics_create;    /* create missing topics (the input included) */
    int topics_partitions; /* partitions of a created input topic */
    int topics_replication_factor;
    int64_t commit_interval_ms;
    int64_t commit_max_records;
    int64_t timers_interval_ms;
    /** Applies the connection settings (bootstrap.servers, security, passthrough keys) to
     *  each client's configuration. @returns 0, or -1 with the reason in @p err. */
    int (*kafka_conf)(void *ctx, struct rd_kafka_conf_s *conf, char *err, size_t errlen);
    void *kafka_conf_ctx;
    /** NULL, or the stop flag (set by a signal handler): pipe_new's waits on the brokers
     *  (metadata, topic creation, init_transactions) look at it every 200 ms and give up
     *  with PIPE_STOPPED once it is non-zero. */
    volatile sig_atomic_t *stop;
    /** A transaction commits once the keys and values it produced (outputs and changelog)
     *  reach this many bytes; 0 = no byte bound. */
    int64_t commit_max_bytes;
} pipe_conf_t;

/** A consumed record, borrowed for the duration of a hook call. */
typedef struct pipe_rec {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp_ms; /* the record's timestamp (CreateTime) */
    const void *key;
    size_t key_len;
    const void *value; /* NULL for a tombstone */
    size_t value_len;
    const void *headers_; /* private (the librdkafka message): use pipe_rec_header */
} pipe_rec_t;

/** A header to attach to a produced record. */
typedef struct pipe_header {
    const char *name;
    const void *value;
    size_t size;
} pipe_header_t;

/** @brief Find header @p name of @p rec. @returns 0 and sets value/size, or -1 when absent. */
int pipe_rec_header(const pipe_rec_t *rec, const char *name, const void **value, size_t *size);

/** Result classes of the hooks and of pipe_produce (librdkafka's taxonomy). */
enum {
    PIPE_OK = 0,
    PIPE_ABORT = 1,   /* abort the transaction, rewind, go on */
    PIPE_FATAL = 2,   /* stop the processor, exit non-zero */
    PIPE_CONFIG = 3,  /* pipe_new only: a setting or a topic is wrong; a restart will not help */
    PIPE_STOPPED = 4, /* pipe_new only: conf->stop was set while it waited */
    PIPE_CORRUPT = 5, /* a hook: a task's local state or its changelog does not decode; a
                         restart will not help (the app's message names the task and the
                         fix); pipe_run stops and returns it */
    PIPE_RETRY = 6,   /* a service the app needs is unavailable (e.g. the schema registry):
                         abort, rewind, back off (up to 5 s) and try again, for as long as
                         it takes; unlike PIPE_ABORT it never counts toward the stop after 20
                         aborts in a row */
};

/**
 * What the app does at each step. Every hook returns PIPE_OK, PIPE_ABORT or PIPE_FATAL
 * and fills err. Hooks run on the pipeline's thread only.
 */
typedef struct pipe_hooks {
    void *opaque;
    /** Task p assigned: open its state; *changelog_from = the first changelog offset
     *  still to apply (checkpoint), or -1 to restore the whole partition.
     *  committed_metadata = what offset_metadata gave with the group's committed offset
     *  of p ("" when none), e.g. the task's stream time, whoever committed it. */
    int (*task_open)(void *opaque, int32_t p, const char *committed_metadata,
                     int64_t *changelog_from, char *err, size_t errlen);
    /** Optional: metadata (a short string) to commit with task p's offset in this
     *  transaction, read back by task_open wherever the task moves. */
    void (*offset_metadata)(void *opaque, int32_t p, char *buf, size_t buflen);
    /** Apply restored changelog records of task p (in offset order). */
    int (*restore)(void *opaque, int32_t p, const pipe_rec_t *recs, size_t n, char *err,
                   size_t errlen);
    /** Task p reached the end of its changelog partition (end_offset = the position at the
     *  end, past any trailing transaction markers): it may process now. */
    int (*restored)(void *opaque, int32_t p, int64_t records_restored, int64_t end_offset,
                    char *err, size_t errlen);
    /** Process one input record of task p inside the open transaction. */
    int (*process)(void *opaque, pipe_t *pipe, const pipe_rec_t *rec, char *err, size_t errlen);
    /** Fire due timers of task p (wall_now_ms = the system clock); call pipe_touch before
     *  staging anything. */
    int (*timers)(void *opaque, pipe_t *pipe, int32_t p, int64_t wall_now_ms, char *err,
                  size_t errlen);
    /** Before commit: produce task p's changed states to the changelog (pipe_produce_changelog). */
    int (*flush)(void *opaque, pipe_t *pipe, int32_t p, char *err, size_t errlen);
    /** After a successful commit: make task p's staged state durable with its checkpoint
     *  (next input offset, or -1 if unchanged; next changelog offset, or -1 if unchanged). */
    int (*committed)(void *opaque, int32_t p, int64_t next_input_offset,
                     int64_t next_changelog_offset, char *err, size_t errlen);
    /** The transaction was aborted: drop task p's staged state. */
    void (*aborted)(void *opaque, int32_t p);
    /** Task p is revoked or the pipeline stops: close its state (after committed/aborted). */
    void (*task_close)(void *opaque, int32_t p);
} pipe_hooks_t;

/** Counters for progress logs, metrics and tests (read on the pipeline thread). */
typedef struct pipe_stats {
    int64_t records_in;  /* input records of committed transactions */
    int64_t records_out; /* records produced in committed transactions */
    int64_t transactions;
    int64_t aborts;
    int64_t restored;
    int32_t tasks;
    int32_t restoring;
    /** Joined the group and holds its assignment (maybe empty: an idle spare); false
     *  before the first assignment, between a revocation and the next one, and once
     *  stopping. */
    bool assigned;
} pipe_stats_t;

/**
 * @brief Create the pipeline: check topics (the input exists or, with topics_create, is
 *        created with topics_partitions partitions; the changelog is created when
 *        missing with the input's partition count and refused when the counts differ;
 *        every topics_out exists or is created when topics_create), create the consumer
 *        and the transactional producer and init transactions. @p conf and @p hooks are
 *        borrowed and must outlive the pipeline.
 * @returns PIPE_OK with *out set (pipe_destroy); PIPE_CONFIG when a topic is missing or
 *          does not fit (a restart will not help); PIPE_STOPPED when conf->stop was set
 *          meanwhile; PIPE_FATAL otherwise (e.g. brokers out of reach: a restart may
 *          help). The reason is in @p err.
 */
int pipe_new(const pipe_conf_t *conf, const pipe_hooks_t *hooks, pipe_t **out, char *err,
             size_t errlen);

/**
 * @brief Run until *stop becomes non-zero (set by a signal handler), then finish the
 *        open transaction and leave the group. @returns PIPE_OK after a clean stop,
 *        PIPE_CORRUPT when a hook said so, or PIPE_FATAL, with the reason in @p err.
 */
int pipe_run(pipe_t *pipe, volatile sig_atomic_t *stop, char *err, size_t errlen);

/**
 * @brief Produce a record in the open transaction (topic by name; partition -1 = by key
 *        with the Java-compatible murmur2 partitioner). Bytes are copied.
 * @returns PIPE_OK, or PIPE_ABORT / PIPE_FATAL with the reason in @p err.
 */
int pipe_produce(pipe_t *pipe, const char *topic, int32_t partition, const void *key,
                 size_t key_len, const void *value, size_t value_len, const pipe_header_t *hdrs,
                 size_t n_hdrs, char *err, size_t errlen);

/**
 * @brief Declare that task @p p stages changes in the open transaction (opens it if
 *        needed). process() calls are declared automatically; a timers() hook must call
 *        this before staging anything, so idle ticks open no transaction.
 */
int pipe_touch(pipe_t *pipe, int32_t p, char *err, size_t errlen);

/**
 * @brief The largest record (key, value and headers) that may be produced to @p topic:
 *        the smaller of the producer's message.max.bytes and the topic's
 *        max.message.bytes (asked for at start-up for every topics_out, known once the
 *        brokers answered), lowered when the
 *        broker refuses a record as too large. The app cuts what it must to fit (a dead
 *        letter's value) so that no input record makes every transaction abort.
 */
size_t pipe_max_record_bytes(pipe_t *pipe, const char *topic);

/** @brief Produce a state record to changelog partition @p p (tracked for the checkpoint). */
int pipe_produce_changelog(pipe_t *pipe, int32_t p, const void *key, size_t key_len,
                           const void *value, size_t value_len, const pipe_header_t *hdrs,
                           size_t n_hdrs, char *err, size_t errlen);

/**
 * @brief Call @p fn(ctx, stats) on the pipeline thread once per loop iteration (at least
 *        every 50 ms): heartbeats, metrics, progress, and a stop decision by the caller.
 *        @p fn must be quick. NULL disables.
 */
void pipe_set_tick(pipe_t *pipe, void (*fn)(void *ctx, const pipe_stats_t *stats), void *ctx);

/** @brief The counters so far. */
void pipe_get_stats(const pipe_t *pipe, pipe_stats_t *out);

/**
 * @brief Call @p fn(ctx, records_in, records_out, seconds) on the pipeline thread after
 *        each committed transaction: its input records, the records it produced, and how
 *        long send_offsets_to_transaction plus commit_transaction took (monotonic clock).
 *        @p fn must be quick. NULL disables.
 */
void pipe_set_commit_observer(pipe_t *pipe,
                              void (*fn)(void *ctx, int64_t records_in, int64_t records_out,
                                         double seconds),
                              void *ctx);

/** One assigned task's progress, for metrics. */
typedef struct pipe_task_stats {
    int32_t task;   /* the input partition */
    bool restoring; /* still restoring its state from the changelog */
    /** Active: the input's high watermark (as librdkafka last saw it) minus the position
     *  (after the last record processed, else the consumer's fetch position); -1 when
     *  not known yet or restoring. */
    int64_t lag;
    int64_t restored; /* changelog records applied since the assignment */
    /** Restoring: the changelog's high watermark minus the restore position; -1 when not
     *  known yet; 0 once active. */
    int64_t restore_remaining;
} pipe_task_stats_t;

/**
 * @brief The assigned tasks' progress, in partition order, at most @p cap of them.
 * @returns how many were written to @p out.
 * @locality the pipeline's thread (a tick); cheap: no request to a broker.
 */
size_t pipe_get_task_stats(pipe_t *pipe, pipe_task_stats_t *out, size_t cap);

/**
 * @brief An active task's input lag: the high watermark librdkafka last saw for partition
 * @p p minus the position after the last record processed; -1 when not known yet (no
 * fetch answered) or the task is not active. A transaction's commit marker takes an offset
 * no record is read from, so a caught-up task behind a transactional producer shows 1.
 * @locality the pipeline's thread; cheap: no request to a broker.
 */
int64_t pipe_task_lag(pipe_t *pipe, int32_t p);

/** @brief Number of input partitions (known after pipe_new). */
int32_t pipe_partition_count(const pipe_t *pipe);

/**
 * @brief Create @p topic with @p partitions partitions (replication factor
 *        conf->topics_replication_factor) through an admin client configured from
 *        @p conf; an existing topic is fine. @returns 0, or -1 with the reason in @p err.
 */
int pipe_create_topic(const pipe_conf_t *conf, const char *topic, int partitions, char *err,
                      size_t errlen);

/** @brief Destroy the pipeline (consumer closed, producer flushed). NULL is a no-op. */
void pipe_destroy(pipe_t *pipe);

#endif
