/*
 * Crash test of the store: a writer process writes generation after generation (every
 * customer's state and timer and the task's checkpoint, all naming the generation): odd
 * generations as committed transactions, even ones through restore apply in batches of 7
 * records (each batch with its checkpoint). It is SIGKILLed at a random moment, 1,000
 * times (LS_CRASH_ITERATIONS overrides). The next writer first reopens the store and
 * proves that data, timers and checkpoint agree exactly (a transaction all or nothing, a
 * restore a prefix of whole batches whose checkpoint says how far it got) and that no
 * write the killed writer saw succeed was lost; then it resumes an interrupted restore
 * from its checkpoint, as a task does. A last checker does the same on a read-only open.
 *
 * The one idea: the test process itself never touches RocksDB, so fork() is safe (no
 * RocksDB background threads exist in the parent); writer and checker are forked
 * children that report through their exit status and a pipe.
 *
 * LS_CRASH_SPLIT=1 makes the writer commit data and checkpoint in two writes (a broken
 * store); the test must then fail, which shows that it can.
 */
#include "clog.h"
#include "store.h"
#include "test_store_util.h"
#include "tmr.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define CUSTOMERS 20
#define VALUE_LEN 120

static const int64_t T0 = 1700000000000LL;

static void value_of(char *out, int64_t gen, int i)
{
    memset(out, '.', VALUE_LEN);
    int n = snprintf(out, VALUE_LEN, "gen=%lld i=%d", (long long)gen, i);
    out[n] = '.';
}

static int64_t due_of(int64_t gen, int i)
{
    return T0 + gen * 1000 + i;
}

/* Changelog position after record k of generation g: generation g's records sit at
 * offsets g*100 + i, so a position says how far a (possibly interrupted) restore got. */
static int64_t pos_of(int64_t g, int k)
{
    return g * 100 + k;
}

static void cust_of(char *out, size_t outlen, int i)
{
    snprintf(out, outlen, "cust%02d", i);
}

/* Generation g's records k.. through restore apply, in batches of 7 with checkpoints. */
static int restore_gen(store_task_t *t, int64_t g, int k, char *err, size_t errlen)
{
    static char vals[CUSTOMERS][VALUE_LEN], custs[CUSTOMERS][16];
    clog_record_t recs[CUSTOMERS];
    int n = 0;
    for (int i = k; i < CUSTOMERS; i++, n++) {
        cust_of(custs[i], sizeof(custs[i]), i);
        value_of(vals[i], g, i);
        recs[n] = (clog_record_t){.offset = pos_of(g, i),
                                  .customer = custs[i],
                                  .customer_len = strlen(custs[i]),
                                  .state = vals[i],
                                  .state_len = VALUE_LEN,
                                  .next_due_ms = due_of(g, i)};
    }
    return clog_apply(t, recs, (size_t)n, pos_of(g, CUSTOMERS), 7, err, errlen);
}

/* Generation g staged and committed as one transaction (split: in two writes, broken). */
static int commit_gen(store_task_t *t, int64_t g, bool split, char *err, size_t errlen)
{
    char val[VALUE_LEN], cust[16];
    for (int i = 0; i < CUSTOMERS; i++) {
        cust_of(cust, sizeof(cust), i);
        value_of(val, g, i);
        if (store_put_due(t, cust, strlen(cust), val, VALUE_LEN, due_of(g, i), err, errlen))
            return -1;
    }
    if (split) { /* broken on purpose: the data first, the checkpoint in a second write */
        store_checkpoint_t unchanged = {-1, -1};
        if (store_task_commit(t, &unchanged, err, errlen) != 0)
            return -1;
    }
    store_checkpoint_t next = {g, pos_of(g, CUSTOMERS)};
    return store_task_commit(t, &next, err, errlen);
}

/* The checker: 0 = consistent (*pos_out set), 1 = not (message on stderr). */
static int check_task(store_task_t *t, int64_t reported, int64_t *pos_out);

/* The writer: check what the last kill left and report the position found; finish an
 * interrupted restore; then write generation after generation until killed, odd ones as
 * committed transactions, even ones as restores, reporting each. */
static void writer(const char *dir, int report_fd, bool split, int64_t reported)
{
    char err[512];
    store_config_t cfg;
    store_config_default(&cfg);
    cfg.dir = dir;
    cfg.memory_budget_bytes = 32u * 1024u * 1024u;
    store_t *s = store_new(&cfg, T0, err, sizeof(err)); /* no cmocka calls in children */
    if (!s) {
        fprintf(stderr, "writer: %s\n", err);
        _exit(2);
    }
    store_task_t *t = store_task_open(s, 0, err, sizeof(err));
    int64_t found;
    if (!t || check_task(t, reported, &found) != 0)
        _exit(7);
    if (write(report_fd, &found, sizeof(found)) != (ssize_t)sizeof(found))
        _exit(6);
    int64_t g = found < 0 ? 0 : found / 100;
    int k = found < 0 ? CUSTOMERS : (int)(found % 100);
    if (k < CUSTOMERS) { /* killed mid-restore: go on from the checkpoint, as a task does */
        if (restore_gen(t, g, k, err, sizeof(err)) != 0) {
            fprintf(stderr, "writer: resuming restore: %s\n", err);
            _exit(4);
        }
        int64_t pos = pos_of(g, CUSTOMERS);
        if (write(report_fd, &pos, sizeof(pos)) != (ssize_t)sizeof(pos))
            _exit(6);
    }
    for (;;) {
        g++;
        int rc = g % 2 ? commit_gen(t, g, split, err, sizeof(err))
                       : restore_gen(t, g, 0, err, sizeof(err));
        if (rc != 0) {
            fprintf(stderr, "writer: generation %lld: %s\n", (long long)g, err);
            _exit(5);
        }
        int64_t pos = pos_of(g, CUSTOMERS);
        if (write(report_fd, &pos, sizeof(pos)) != (ssize_t)sizeof(pos))
            _exit(6);
    }
}

/* Customer i must hold generation gi's state and timer (gi <= 0: must not exist). */
static int check_customer(store_task_t *t, int i, int64_t gi)
{
    char err[512], val[VALUE_LEN], cust[16], *v = NULL;
    size_t vlen = 0;
    int64_t due = 0;
    cust_of(cust, sizeof(cust), i);
    int rc = store_get_due(t, cust, strlen(cust), &v, &vlen, &due, err, sizeof(err));
    int bad = 0;
    if (gi <= 0) {
        bad = rc != STORE_NOT_FOUND || due != STORE_NO_DUE;
        if (bad)
            fprintf(stderr, "%s exists before its first generation\n", cust);
    } else {
        value_of(val, gi, i);
        if (rc != 0 || vlen != VALUE_LEN || memcmp(v, val, VALUE_LEN) != 0) {
            fprintf(stderr, "%s: state is not from generation %lld: %.20s\n", cust, (long long)gi,
                    v ? v : "(none)");
            bad = 1;
        } else if (due != due_of(gi, i)) {
            fprintf(stderr, "%s: timer %lld is not from generation %lld\n", cust, (long long)due,
                    (long long)gi);
            bad = 1;
        }
    }
    free(v);
    return bad;
}

static int check_task(store_task_t *t, int64_t reported, int64_t *pos_out)
{
    char err[512];
    store_checkpoint_t cp = {-1, -1};
    int bad = store_task_checkpoint(t, &cp, err, sizeof(err)) != 0;
    int64_t pos = cp.changelog_offset, g = pos < 0 ? 0 : pos / 100;
    int k = pos < 0 ? CUSTOMERS : (int)(pos % 100);
    if (!bad && pos < reported) {
        fprintf(stderr, "lost writes: checkpoint position %lld < reported %lld\n", (long long)pos,
                (long long)reported);
        bad = 1;
    }
    if (!bad && (k < 1 || k > CUSTOMERS || cp.next_input_offset > g)) {
        fprintf(stderr, "checkpoint %lld/%lld is not one the writer wrote\n",
                (long long)cp.next_input_offset, (long long)pos);
        bad = 1;
    }
    /* Data and timers must be exactly what the checkpoint says: records before k of
     * generation g, the rest of generation g - 1. */
    uint64_t want = 0; /* customers that exist: those past their first generation */
    for (int i = 0; !bad && i < CUSTOMERS; i++) {
        int64_t gi = i < k ? g : g - 1;
        bad = check_customer(t, i, gi);
        want += gi >= 1;
    }
    store_task_stats_t st = {0, 0};
    if (!bad && (store_task_stats(t, &st, err, sizeof(err)) != 0 || st.timers != want ||
                 st.customers != want)) {
        fprintf(stderr, "%llu customers and %llu timers, want %llu\n",
                (unsigned long long)st.customers, (unsigned long long)st.timers,
                (unsigned long long)want);
        bad = 1;
    }
    /* The timer index must report exactly the records' timers (stale entries that a
     * restore left behind are skipped; their removal is staged, then dropped here). */
    tmr_entry_t due[CUSTOMERS + 1];
    size_t n = 0;
    if (!bad && tmr_due(t, INT64_MAX - 1, due, CUSTOMERS + 1, &n, err, sizeof(err)) != 0) {
        fprintf(stderr, "timer scan: %s\n", err);
        bad = 1;
    }
    for (size_t j = 0; !bad && j < n; j++) {
        int i = atoi(due[j].customer + 4);
        int64_t gi = i < k ? g : g - 1;
        if (gi < 1 || due[j].due_ms != due_of(gi, i)) {
            fprintf(stderr, "timer index: %s@%lld is not from generation %lld\n", due[j].customer,
                    (long long)due[j].due_ms, (long long)gi);
            bad = 1;
        }
    }
    if (!bad && n != want) {
        fprintf(stderr, "timer index reports %zu timers, want %llu\n", n, (unsigned long long)want);
        bad = 1;
    }
    store_task_abort(t);
    *pos_out = pos;
    return bad;
}

/* The final checker opens read-only: a crashed store must open so (inspect does). */
static int checker(const char *dir, int64_t reported, int out_fd)
{
    char err[512];
    store_config_t cfg;
    store_config_default(&cfg);
    cfg.dir = dir;
    cfg.read_only = true;
    store_t *s = store_new(&cfg, T0, err, sizeof(err));
    if (!s) {
        fprintf(stderr, "reopen failed: %s\n", err);
        return 1;
    }
    store_task_t *t = store_task_open(s, 0, err, sizeof(err));
    int64_t gen = -1;
    int bad = !t || check_task(t, reported, &gen) != 0;
    store_destroy(s);
    if (!bad && write(out_fd, &gen, sizeof(gen)) != (ssize_t)sizeof(gen))
        bad = 1;
    return bad;
}

/* Read all whole int64 reports from @p fd (non-blocking after the writer died). */
static int64_t drain_last(int fd, int64_t last)
{
    int64_t g;
    while (read(fd, &g, sizeof(g)) == (ssize_t)sizeof(g))
        last = g;
    return last;
}

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* One writer life and kill: @returns the last generation the writer reported. */
static int64_t run_writer_and_kill(const char *dir, unsigned *seed, bool split,
                                   int64_t last_reported, int64_t *found)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        writer(dir, p[1], split, last_reported);
        _exit(0);
    }
    close(p[1]);
    int64_t g, after_check = INT64_MIN; /* a commit's report read after the check */
    *found = INT64_MIN;                 /* not checked: killed before the check ended */
    if (rand_r(seed) % 10 == 0) {
        sleep_us(rand_r(seed) % 20000); /* sometimes: during open or recovery */
    } else {
        /* wait for the check, then a random moment among the commits that follow */
        if (read(p[0], &g, sizeof(g)) == (ssize_t)sizeof(g))
            *found = g;
        /* Half the time, wait for one more commit first: on a loaded machine a few
         * milliseconds may pass without any, and the run must still write along the way
         * (checked at the end) rather than only reopen. */
        if (rand_r(seed) % 2 == 0 && read(p[0], &g, sizeof(g)) == (ssize_t)sizeof(g))
            after_check = g;
        sleep_us(rand_r(seed) % 3000);
    }
    kill(pid, SIGKILL);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
        fail_msg("store inconsistent after a SIGKILL or writer failed (exit status %d, see "
                 "stderr); last reported position %lld",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1, (long long)last_reported);
    if (*found == INT64_MIN) { /* the check's report may still be in the pipe */
        if (read(p[0], &g, sizeof(g)) == (ssize_t)sizeof(g))
            *found = g;
    }
    last_reported = drain_last(p[0], after_check != INT64_MIN ? after_check
                                     : *found == INT64_MIN    ? last_reported
                                                              : *found);
    close(p[0]);
    return last_reported;
}

static int64_t run_checker(const char *dir, int64_t reported)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        _exit(checker(dir, reported, p[1]));
    }
    close(p[1]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    int64_t gen = -1;
    bool got = read(p[0], &gen, sizeof(gen)) == (ssize_t)sizeof(gen);
    close(p[0]);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !got)
        fail_msg("store inconsistent after a SIGKILL (see stderr), reported position %lld",
                 (long long)reported);
    return gen;
}

static void test_sigkill_during_commits_keeps_data_and_checkpoint_together(void **state)
{
    (void)state;
    const char *env = getenv("LS_CRASH_ITERATIONS");
    int iterations = env ? atoi(env) : 1000;
    bool split = getenv("LS_CRASH_SPLIT") && atoi(getenv("LS_CRASH_SPLIT"));
    unsigned seed = (unsigned)time(NULL);
    printf("seed %u, %d iterations%s\n", seed, iterations, split ? ", split commits" : "");
    /* SIGKILL keeps the page cache, so tmpfs tests the same thing as a disk, without the
     * fsyncs of every reopen (which make the run slow and its time depend on other I/O). */
    const char *saved = getenv("TMPDIR");
    char *saved_copy = saved ? strdup(saved) : NULL;
    if (!getenv("LS_CRASH_ON_DISK") && access("/dev/shm", W_OK) == 0)
        setenv("TMPDIR", "/dev/shm", 1);
    char *dir = tsu_tmpdir();
    if (saved_copy)
        setenv("TMPDIR", saved_copy, 1);
    else
        unsetenv("TMPDIR");
    free(saved_copy);
    printf("directory %s\n", dir);
    int64_t reported = -1, gen = -1, advanced = 0, checked = 0, mid_restore = 0;
    for (int i = 0; i < iterations; i++) {
        int64_t found;
        int64_t r = run_writer_and_kill(dir, &seed, split, reported, &found);
        if (found != INT64_MIN) { /* the writer checked what the previous kill left */
            checked++;
            assert_true(found >= gen); /* never goes back */
            advanced += found > gen;
            mid_restore += found >= 0 && found % 100 != CUSTOMERS;
            gen = found;
        }
        reported = r;
    }
    int64_t g = run_checker(dir, reported);
    assert_true(g >= gen);
    gen = g;
    printf("%lld kills checked by the next writer, %lld of them in the middle of a restore\n",
           (long long)checked, (long long)mid_restore);
    assert_true(checked > iterations / 2);
    printf("final position %lld; %lld checks found new writes\n", (long long)gen,
           (long long)advanced);
    /* the writer really wrote along the way: at least one commit in nearly half of the
     * lives by construction (above), whatever the machine's load */
    assert_true(gen / 100 > iterations / 4);
    tsu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigkill_during_commits_keeps_data_and_checkpoint_together),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
