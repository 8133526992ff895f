/*
 * run: the `run` command (the daemon) and the runner it shares with `demo`: load the
 * configuration, start the app (program, store, codec), the pipeline and the HTTP server
 * (metrics, health, readiness), run until a signal, stop cleanly.
 *
 * Exit codes: 0 after a clean stop (also a stop during start-up); 1 on a fatal error
 * (fenced, store failure, broker unreachable at start-up; the orchestrator restarts the
 * instance); 2 on bad usage, a bad configuration or program file, or corrupt local state
 * without state.reset.on.corruption (restarting will not help).
 */
#ifndef LS_RUN_H
#define LS_RUN_H

#include "app.h"
#include "cfg.h"
#include "pipe.h"

#include <signal.h>

/** Extra behaviour the demo adds to a run; all fields optional. */
typedef struct run_extras {
    void (*observer)(void *ctx, const eng_output_t *o); /* every output produced */
    void (*tick)(void *ctx, const pipe_stats_t *ps, const app_stats_t *as); /* each loop */
    void *ctx;
} run_extras_t;

/**
 * @brief Run the processor with @p cfg until *stop is set. Installs nothing: signal
 *        handling is the caller's. @returns the process exit code (0, 1 or 2) and writes
 *        the reason of a failure to the log.
 */
int run_pipeline(const cfg_t *cfg, volatile sig_atomic_t *stop, const run_extras_t *extras);

/** @brief `loyalty-stream run --config FILE`: see run.h's top comment for exit codes. */
int run_main(int argc, char **argv);

#endif
