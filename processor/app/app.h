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
#include "pipe.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct app app_t;

/** Totals for logs, the demo and metrics. */
typedef struct app_stats {
    int64_t events;                      /* input events applied */
    int64_t duplicates;                  /* ignored by idempotency */
    int64_t dead_letters;                /* sent to the dead-letter topic */
    int64_t timers_fired;                /* customers whose timers fired (tick or event) */
    int64_t outputs[ENG_OUT_KIND_COUNT]; /* output events by kind */
    int64_t points_issued;               /* BonusEarned points */
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
