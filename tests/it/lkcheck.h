/*
 * lkcheck: the cmocka-side checks the processor's integration tests share: replay's
 * expectation, a clean stop, the strict comparison (outputs, changelog and the stores of
 * the named instances equal replay's) and a run until every output is there. Static
 * inline, for test files that include cmocka.
 */
#ifndef LS_LKCHECK_H
#define LS_LKCHECK_H

#include "lskit.h"
#include "testkit.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

typedef struct expect {
    lk_lines_t outputs, states;
} expect_t;

static inline void expect_from_replay(lk_scenario_t *s, expect_t *e)
{
    memset(e, 0, sizeof(*e));
    assert_int_equal(lk_replay(s, &e->outputs, &e->states), 0);
    assert_true(e->outputs.n > 0);
}

/* SIGTERM @p pid: it must stop cleanly (exit 0) within the shutdown timeout. */
static inline void stop_cleanly(lk_scenario_t *s, int pid)
{
    kill(pid, SIGTERM);
    int st = tk_wait(pid, 40000);
    if (st != 0)
        fail_msg("loyalty-stream exit %d after SIGTERM, want 0 (logs in %s)", st, s->dir);
}

/* The strict check: outputs and final states equal replay's. */
static inline void check_equal(lk_scenario_t *s, expect_t *e, const char *const *instances)
{
    lk_lines_t got = {0};
    assert_int_equal(lk_collect_outputs(s, &got), 0);
    int diff = lk_lines_diff(&e->outputs, &got, "output");
    lk_lines_free(&got);
    assert_int_equal(lk_collect_changelog(s, &got), 0);
    diff |= lk_lines_diff(&e->states, &got, "changelog state");
    lk_lines_free(&got);
    /* The union of the instances' stores (a task lives in one store at the end). */
    for (size_t i = 0; instances[i]; i++)
        assert_int_equal(lk_collect_store(s, instances[i], &got), 0);
    lk_lines_sort(&got);
    diff |= lk_lines_diff(&e->states, &got, "store state");
    lk_lines_free(&got);
    if (diff)
        fail_msg("the processor disagrees with replay (logs in %s)", s->dir);
}

static inline void expect_free(expect_t *e)
{
    lk_lines_free(&e->outputs);
    lk_lines_free(&e->states);
}

static inline void run_until_done(lk_scenario_t *s, expect_t *e, const char *instance,
                                  char *const *env)
{
    int pid = lk_start(s, instance, env);
    assert_true(pid > 0);
    long got = lk_wait_outputs(s, (long)e->outputs.n, 120);
    if (got != (long)e->outputs.n)
        fprintf(stderr, "outputs: %ld, want %zu (continuing to the comparison)\n", got,
                e->outputs.n);
    stop_cleanly(s, pid);
}

#endif
