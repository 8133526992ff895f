/*
 * app: the loyalty processor as a pipeline app. It binds the four parts together:
 * the Avro codec (schemas/) decodes each input record, the state store (state/) holds the
 * customer's state and pending timer, the engine (processor/engine/) computes, and the
 * pipeline (pipe) makes the outputs, the changelog and the offsets one transaction.
 *
 * The one idea: per record, state is read through the task's staging batch, changed by
 * the engine, and written back to that batch; the customers touched in the transaction
 * are remembered, and at flush each one's final state (with its next timer) goes to the
 * changelog once. Nothing reaches RocksDB before Kafka has committed (hooks.committed).
 * A record that cannot be decoded, or that the engine rejects, goes to the dead-letter
 * topic with the reason in its headers; processing goes on.
 */
#ifndef LS_APP_H
#define LS_APP_H

#include "cfg.h"
#include "dlq.h"
#include "eng.h"
#include "metrics.h"
#include "pipe.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Slots of the instance's cache of decoded states (direct-mapped by eng_id_hash, shared
 *  by the tasks; each slot about sizeof(eng_state_t)). */
#define APP_STATE_CACHE_SLOTS 2048

typedef struct app app_t;

/** Totals for logs, the demo and metrics. */
typedef struct app_stats {
    int64_t events;                      /* input events applied */
    int64_t duplicates;                  /* ignored by idempotency */
    int64_t dead_letters;                /* sent to the dead-letter topic */
    int64_t timers_fired;                /* customers whose timers fired (tick or event) */
    int64_t outputs[ENG_OUT_KIND_COUNT]; /* output events by kind */
    int64_t points_issued;               /* BonusEarned points */
    int64_t dead_letters_by_reason[DLQ_REASON_COUNT]; /* dead_letters by dlq.reason header */
    int64_t bounds[ENG_BOUND_COUNT]; /* engine calls in which a per-customer bound bit */
} app_stats_t;

/**
 * @brief Load the program (cfg->program_file), open the state store under cfg->state_dir
 *        and build the codec. @p cfg is borrowed and must outlive the app.
 * @returns the app (app_destroy), or NULL with a message naming the file or path;
 *          *transient is then true when retrying later may work (the schema registry
 *          could not be reached), false when it will not (program file, store, a refused
 *          schema).
 */
app_t *app_new(const cfg_t *cfg, bool *transient, char *err, size_t errlen);

/** @brief The hooks to give pipe_new (borrowed; valid while the app lives). */
const pipe_hooks_t *app_hooks(app_t *app);

/**
 * @brief The topics the app produces to (the dead-letter topic and one per output kind),
 *        for pipe_conf_t.topics_out; *n is set to their count. Borrowed from the app.
 */
const char *const *app_topics_out(const app_t *app, size_t *n);

/** @brief Totals so far. */
void app_get_stats(const app_t *app, app_stats_t *out);

/**
 * @brief Task @p p's share of the totals (committed work only, as app_get_stats): kept
 *        when the task is revoked, continued when it comes back.
 * @returns 1 when @p p is assigned now, 0 when it was assigned here before (*out holds
 *          what it did then), -1 when it never was (*out zeroed).
 * @locality the pipeline's thread (a tick), as app_get_stats.
 */
int app_get_task_stats(const app_t *app, int32_t p, app_stats_t *out);

/** @brief One more than the highest partition ever assigned here (0 when none). */
int32_t app_task_slots(const app_t *app);

/**
 * @brief Count the app's committed work in @p reg, per task (docs/OPERATIONS.md,
 *        "Metrics"): loyalty_events_applied_total, loyalty_duplicate_events_total,
 *        loyalty_timers_fired_total, loyalty_points_issued_total (label task),
 *        loyalty_dead_letters_total (task, reason), loyalty_outputs_total (task, kind) and
 *        loyalty_state_bounds_total (task, bound). A task's series are made, every label
 *        value at 0, when it is first assigned here; they are added to at each commit and
 *        kept, unchanged, once the task is revoked (a task that comes back continues
 *        them). So an instance has at most 4 + 15 + 10 + 5 series per input partition.
 *        @p reg is borrowed and must outlive the app. Call once, before the pipeline
 *        starts.
 * @returns 0, or -1 with @p err (a family could not be registered, e.g. a name taken).
 */
int app_attach_metrics(app_t *app, met_registry_t *reg, char *err, size_t errlen);

/**
 * @brief Called for every output the app produces (the demo prints samples). @p fn gets
 *        the output and may not keep the pointer. NULL disables.
 */
void app_set_output_observer(app_t *app, void (*fn)(void *ctx, const eng_output_t *o), void *ctx);

/**
 * @brief The committed state of @p customer as one JSON line (HTTP GET /customers/{id};
 *        an http_query_fn with the app as @p opaque). Reads committed data only, never
 *        the open transaction, on any thread.
 * @returns 0 with *json (the caller frees), 1 when the customer is unknown here, -1 on
 *          an error (logged).
 */
int app_query_customer(void *opaque, const char *customer, char **json);

/**
 * @brief The task whose local state did not decode (the cause of the last PIPE_CORRUPT a
 *        hook returned), or -1 when none did or the cause was the changelog itself.
 */
int32_t app_corrupt_task(const app_t *app);

/**
 * @brief Drop task @p p's local state (it must be closed: after pipe_destroy), so its next
 *        assignment restores it from the whole changelog. @returns 0, or -1 with @p err.
 */
int app_reset_task(app_t *app, int32_t p, char *err, size_t errlen);

/** @brief Close the store and free everything. NULL is a no-op. */
void app_destroy(app_t *app);

#endif
