/*
 * pipe_counter: the exactly-once pipeline (processor/pipeline/pipe.c) driving a minimal stateful
 * app, so the integration tests can judge the pipeline on the real broker before and
 * apart from the loyalty engine. Input values are unique record ids ("r123"), keys are
 * customers. The app counts records per key; for each input it emits
 * "<key>:<count>:<record id>" to the output topic and keeps the count in the changelog.
 * Its state lives in memory only, so every start restores the whole changelog.
 *
 *   pipe_counter key=value...     configuration keys (see docs/CONFIGURATION.md)
 *
 * Exactly-once means: every record id appears once in the output, and each key's counts
 * are exactly 1..n. Crash points (LOYALTY_CRASH_POINT) and SIGKILL test that.
 */
#include "cfg.h"
#include "log.h"
#include "pipe.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KEYS 1024

typedef struct app {
    const char *out_topic;
    int64_t committed[MAX_KEYS]; /* durable (as far as this app goes) count per key */
    int64_t staged[MAX_KEYS];    /* -1 = unchanged in the open transaction */
    int32_t part_of[MAX_KEYS];   /* partition the key was seen on */
} app_t;

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    if (stop)
        _exit(130);
    stop = 1;
}

static int key_index(const void *key, size_t len)
{
    char buf[32];
    if (len < 2 || len >= sizeof(buf))
        return -1;
    memcpy(buf, key, len);
    buf[len] = '\0';
    int k = atoi(buf + 1);
    return k >= 0 && k < MAX_KEYS ? k : -1;
}

static int h_task_open(void *o, int32_t p, const char *md, int64_t *from, char *err, size_t errlen)
{
    (void)o, (void)p, (void)md, (void)err, (void)errlen;
    *from = -1; /* no local store: restore everything */
    return PIPE_OK;
}

static int h_restore(void *o, int32_t p, const pipe_rec_t *recs, size_t n, char *err, size_t errlen)
{
    app_t *a = o;
    (void)p;
    for (size_t i = 0; i < n; i++) {
        int k = key_index(recs[i].key, recs[i].key_len);
        if (k < 0 || !recs[i].value) {
            snprintf(err, errlen, "bad changelog record at offset %lld", (long long)recs[i].offset);
            return PIPE_FATAL;
        }
        char v[32];
        size_t len = recs[i].value_len < 31 ? recs[i].value_len : 31;
        memcpy(v, recs[i].value, len);
        v[len] = '\0';
        a->committed[k] = atoll(v);
    }
    return PIPE_OK;
}

static int h_process(void *o, pipe_t *pp, const pipe_rec_t *rec, char *err, size_t errlen)
{
    app_t *a = o;
    int k = key_index(rec->key, rec->key_len);
    if (k < 0)
        return PIPE_OK;
    int64_t c = (a->staged[k] >= 0 ? a->staged[k] : a->committed[k]) + 1;
    a->staged[k] = c;
    a->part_of[k] = rec->partition;
    char out[128];
    int n = snprintf(out, sizeof(out), "%.*s:%lld:%.*s", (int)rec->key_len, (const char *)rec->key,
                     (long long)c, (int)rec->value_len, (const char *)rec->value);
    return pipe_produce(pp, a->out_topic, -1, rec->key, rec->key_len, out, (size_t)n, NULL, 0, err,
                        errlen);
}

static int h_flush(void *o, pipe_t *pp, int32_t p, char *err, size_t errlen)
{
    app_t *a = o;
    for (int k = 0; k < MAX_KEYS; k++) {
        if (a->staged[k] < 0 || a->part_of[k] != p)
            continue;
        char key[16], val[32];
        int kl = snprintf(key, sizeof(key), "k%d", k);
        int vl = snprintf(val, sizeof(val), "%lld", (long long)a->staged[k]);
        int rc =
            pipe_produce_changelog(pp, p, key, (size_t)kl, val, (size_t)vl, NULL, 0, err, errlen);
        if (rc != PIPE_OK)
            return rc;
    }
    return PIPE_OK;
}

static int h_committed(void *o, int32_t p, int64_t next_in, int64_t next_clog, char *err,
                       size_t errlen)
{
    app_t *a = o;
    (void)next_in, (void)next_clog, (void)err, (void)errlen;
    for (int k = 0; k < MAX_KEYS; k++)
        if (a->staged[k] >= 0 && a->part_of[k] == p) {
            a->committed[k] = a->staged[k];
            a->staged[k] = -1;
        }
    return PIPE_OK;
}

static void h_aborted(void *o, int32_t p)
{
    app_t *a = o;
    for (int k = 0; k < MAX_KEYS; k++)
        if (a->part_of[k] == p)
            a->staged[k] = -1;
}

int main(int argc, char **argv)
{
    static app_t app;
    char err[1024];
    log_configure(LOG_INFO, false, stderr);
    cfg_t *cfg = cfg_new_defaults();
    if (!cfg)
        return 1;
    for (int i = 1; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq) {
            fprintf(stderr, "usage: pipe_counter key=value...\n");
            return 2;
        }
        *eq = '\0';
        if (cfg_set(cfg, argv[i], eq + 1, "argument", err, sizeof(err)) != 0) {
            fprintf(stderr, "pipe_counter: %s\n", err);
            return 2;
        }
    }
    extern char **environ;
    if (cfg_load(cfg, NULL, environ, err, sizeof(err)) != 0) {
        fprintf(stderr, "pipe_counter: %s\n", err);
        return 2;
    }
    app.out_topic = cfg->topic_out[ENG_OUT_BONUS_EARNED];
    for (int k = 0; k < MAX_KEYS; k++) {
        app.staged[k] = -1;
        app.part_of[k] = -1;
    }
    pipe_hooks_t hooks = {.opaque = &app,
                          .task_open = h_task_open,
                          .restore = h_restore,
                          .process = h_process,
                          .flush = h_flush,
                          .committed = h_committed,
                          .aborted = h_aborted};
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    pipe_conf_t pc;
    cfg_pipe_conf(cfg, &app.out_topic, 1, &pc);
    pipe_t *pp;
    if (pipe_new(&pc, &hooks, &pp, err, sizeof(err)) != PIPE_OK) {
        fprintf(stderr, "pipe_counter: %s\n", err);
        cfg_destroy(cfg);
        return 1;
    }
    int rc = pipe_run(pp, &stop, err, sizeof(err));
    pipe_destroy(pp);
    cfg_destroy(cfg);
    if (rc != PIPE_OK) {
        fprintf(stderr, "pipe_counter: %s\n", err);
        return 1;
    }
    return 0;
}
