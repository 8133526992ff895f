/* Helpers shared by the state/ unit tests (see test_store_util.h). */
#include "test_store_util.h"

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

char *tsu_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof(tmpl), "%s/ls-state-XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    if (!d)
        fail_msg("mkdtemp %s failed", tmpl);
    return strdup(d);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

void tsu_rmtree(char *dir)
{
    if (!dir)
        return;
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

store_t *tsu_open(const char *dir, int64_t now_ms)
{
    store_config_t cfg;
    char err[512];
    store_config_default(&cfg);
    cfg.dir = dir;
    cfg.memory_budget_bytes = 32u * 1024u * 1024u;
    store_t *s = store_new(&cfg, now_ms, err, sizeof(err));
    if (!s)
        fail_msg("store_new: %s", err);
    return s;
}

void tsu_put(store_task_t *t, const char *customer, const char *value)
{
    char err[256];
    if (store_put(t, customer, strlen(customer), value, strlen(value), err, sizeof(err)) != 0)
        fail_msg("store_put: %s", err);
}

char *tsu_get(store_task_t *t, const char *customer)
{
    char err[256], *v = NULL;
    size_t vlen = 0;
    int rc = store_get(t, customer, strlen(customer), &v, &vlen, err, sizeof(err));
    if (rc < 0)
        fail_msg("store_get: %s", err);
    if (rc == STORE_NOT_FOUND)
        return NULL;
    char *s = malloc(vlen + 1);
    memcpy(s, v, vlen);
    s[vlen] = '\0';
    free(v);
    return s;
}
