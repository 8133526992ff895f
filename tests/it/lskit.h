/*
 * lskit: what the processor's integration tests share. A scenario is generated events
 * (deterministic from a seed), written as JSON lines for `replay` (the reference) and
 * produced as Avro records to a fresh input topic; the processor runs as separate
 * processes (loyalty-stream run) and is killed, restarted and scaled; at the end the
 * outputs a read_committed consumer sees and the final states (changelog and RocksDB)
 * are compared with replay's: as multisets of JSON lines, nothing missing, nothing twice.
 */
#ifndef LS_LSKIT_H
#define LS_LSKIT_H

#include "eng_types.h"

#include <stddef.h>
#include <stdint.h>

/** A sorted list of JSON lines (each without its trailing newline). */
typedef struct lk_lines {
    char **v;
    size_t n, cap;
} lk_lines_t;

void lk_lines_add(lk_lines_t *l, const char *s, size_t len);
void lk_lines_sort(lk_lines_t *l);
void lk_lines_free(lk_lines_t *l);
/** @brief Compare two sorted lists; print at most 10 differences. @returns 0 when equal. */
int lk_lines_diff(const lk_lines_t *want, const lk_lines_t *got, const char *what);

/** One test scenario: topics, files and the processor's configuration. */
typedef struct lk_scenario {
    char name[96];
    char bootstrap[512];
    int partitions;
    char dir[160]; /* /tmp/<name>: program copy, events.jsonl, logs, state dirs */
    char input[160];
    char outputs[ENG_OUT_KIND_COUNT][160];
    char dlq[160];
    char changelog[200];
    char program[256];
    const char *registry_url;   /* set when the processor uses a schema registry: the
                                   collectors read its ids from there (NULL = none) */
    struct sr_client *registry; /* the collectors' client (lk_scenario_free frees it) */
    eng_event_t *events;        /* generated, in production order */
    int32_t *part_of;           /* partition of each event */
    size_t n_events;
    char clock[16];        /* the processor's clock setting ("" = stream) */
    char replay_until[40]; /* lk_replay's --until (RFC 3339; "" = the last event time) */
} lk_scenario_t;

/**
 * @brief Make a scenario: unique topics (created: input with @p partitions), @p n events
 *        of @p customers customers from @p seed over ~3 months (purchases, returns,
 *        redemptions, repeated event ids), each partition closed by an event at the same
 *        last time (so per-task stream time ends where replay's does); writes
 *        dir/events.jsonl. @returns 0 or -1 (printed).
 */
int lk_scenario_new(lk_scenario_t *s, const char *name, const char *bootstrap, int partitions,
                    size_t n, int customers, unsigned seed);

/** @brief lk_scenario_new with an input topic of replication factor @p rf (clusters). */
int lk_scenario_new_rf(lk_scenario_t *s, const char *name, const char *bootstrap, int partitions,
                       int rf, size_t n, int customers, unsigned seed);

/**
 * @brief Move every event of @p customer @p ahead_ms later (not past the closing events);
 *        rewrites dir/events.jsonl. Its partition's stream clock runs ahead, so the other
 *        customers' events there arrive late and meet the states that clock says: the
 *        outcome depends on which customers share a partition with it.
 */
void lk_scenario_run_ahead(lk_scenario_t *s, const char *customer, int64_t ahead_ms);

/**
 * @brief Make @p percent % of the events (not the closing ones) late: each is moved up to
 *        @p max_ms earlier than its place in production order (deterministic from
 *        @p seed); rewrites dir/events.jsonl.
 */
void lk_scenario_disorder(lk_scenario_t *s, unsigned seed, int percent, int64_t max_ms);

/**
 * @brief Produce events [from, to) to the input topic (Avro, framed), each to its
 *        customer's partition by the contract's murmur2 (keypart). @returns 0 or -1.
 */
int lk_produce(lk_scenario_t *s, size_t from, size_t to);

/**
 * @brief Produce dir/events.jsonl as users do: `loyalty-stream encode --engine-json
 *        --bootstrap --topic`, whose producer picks the partitions (librdkafka's
 *        @p partitioner, NULL = encode's default). @returns 0 or -1.
 */
int lk_produce_encode(lk_scenario_t *s, const char *partitioner);

/** @brief Produce raw bytes to input partition @p p (poison records). @returns 0 or -1. */
int lk_produce_raw(lk_scenario_t *s, int32_t p, const char *key, const void *val, size_t len);

/**
 * @brief Replace event @p i with @p ev (its partition follows its customer) and rewrite
 *        dir/events.jsonl. @returns 0 or -1.
 */
int lk_scenario_set_event(lk_scenario_t *s, size_t i, const eng_event_t *ev);

/**
 * @brief Run `loyalty-stream replay --partitions <the scenario's>` over dir/events.jsonl:
 *        its outputs and final states. @returns 0 or -1.
 */
int lk_replay(lk_scenario_t *s, lk_lines_t *outputs, lk_lines_t *states);

/** @brief lk_replay with `--partitioner @p partitioner` (NULL = replay's default). */
int lk_replay_with(lk_scenario_t *s, const char *partitioner, lk_lines_t *outputs,
                   lk_lines_t *states);

/**
 * @brief Start `loyalty-stream run` as instance @p instance with its own state directory
 *        dir/state-<instance>; extra environment @p env (may be NULL). Log in
 *        dir/<instance>.log. @returns the pid, or -1.
 */
int lk_start(lk_scenario_t *s, const char *instance, char *const *env);

/** @brief Records a read_committed reader sees now in all output topics (-1 on error). */
long lk_count_outputs(lk_scenario_t *s);

/** @brief Wait until the outputs hold @p want records (up to @p timeout_s). @returns the count. */
long lk_wait_outputs(lk_scenario_t *s, long want, int timeout_s);

/** @brief All outputs, decoded and as JSON lines (sorted). @returns 0 or -1. */
int lk_collect_outputs(lk_scenario_t *s, lk_lines_t *out);

/** @brief The last state per customer in the changelog, as JSON lines (sorted). */
int lk_collect_changelog(lk_scenario_t *s, lk_lines_t *out);

/** @brief Every customer state in the RocksDB store of @p instance (read-only), sorted. */
int lk_collect_store(lk_scenario_t *s, const char *instance, lk_lines_t *out);

/** @brief Sum of restored_records in the "task restored" lines of @p instance's log. */
long lk_restored_in_log(lk_scenario_t *s, const char *instance);

/**
 * @brief The outputs a read_committed reader sees (as a multiset) and the changelog's last
 *        state per customer equal @p outputs and @p states (replay's). Differences are
 *        printed. @returns 0 when equal.
 */
int lk_check_replay(lk_scenario_t *s, const lk_lines_t *outputs, const lk_lines_t *states);

void lk_scenario_free(lk_scenario_t *s);

#endif
