/*
 * Unit tests of `loyalty-stream inspect`: it reads a store a stopped processor left,
 * read-only, and prints JSON (the decoded state, or the raw bytes with the reason); missing
 * customers, tasks and stores fail with exit 1.
 */
#include "avro_codec.h"
#include "eng_state.h"
#include "inspect.h"
#include "store.h"
#include "test_store_util.h"
#include "tmr.h"

#include <getopt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define T0 1700000000000LL

/* Run inspect_main with @p args (NULL-terminated); stdout goes to *out (malloc'd). */
static int run(char **out, const char *const *args)
{
    char *argv[16];
    int argc = 0;
    argv[argc++] = "inspect";
    while (*args && argc < 15)
        argv[argc++] = (char *)*args++;
    argv[argc] = NULL;
    fflush(stdout);
    FILE *tmp = tmpfile();
    int saved = dup(STDOUT_FILENO);
    dup2(fileno(tmp), STDOUT_FILENO);
    optind = 0;
    int rc = inspect_main(argc, argv);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    long n = ftell(tmp);
    *out = calloc(1, (size_t)n + 1);
    rewind(tmp);
    if (n > 0 && fread(*out, 1, (size_t)n, tmp) != (size_t)n)
        fail_msg("cannot read inspect's output back");
    fclose(tmp);
    return rc;
}

static char *make_store(void)
{
    char *dir = tsu_tmpdir(), err[256];
    store_t *s = tsu_open(dir, T0);
    for (int p = 0; p < 2; p++) {
        store_task_t *t = store_task_open(s, p, err, sizeof(err));
        if (p) /* a Confluent-framed value: magic 0, schema id 201 */
            assert_int_equal(store_put(t, "bob", 3, "\x00\x00\x00\x00\xc9xyz", 8, err, sizeof(err)),
                             0);
        else
            tsu_put(t, "alice", "abc");
        assert_int_equal(tmr_set(t, "bob", 3, T0 + p, err, sizeof(err)), 0);
        store_checkpoint_t cp = {10 + p, 20 + p};
        assert_int_equal(store_task_commit(t, &cp, err, sizeof(err)), 0);
    }
    /* carol: a real CustomerState as the pipeline writes it (Avro codec); in task 1 */
    avro_codec_config_t cc;
    avro_codec_config_defaults(&cc);
    avro_codec_t *codec = avro_codec_new(&cc, err, sizeof(err));
    assert_non_null(codec);
    eng_state_t *st = calloc(1, sizeof(*st));
    st->version = ENG_STATE_VERSION;
    strcpy(st->customer_id, "carol");
    const uint8_t *buf;
    size_t len;
    assert_int_equal(avro_codec_encode_state(codec, st, &buf, &len, err, sizeof(err)), 0);
    store_task_t *t1 = store_task_find(s, 1);
    assert_int_equal(store_put_due(t1, "carol", 5, buf, len, T0 + 7, err, sizeof(err)), 0);
    store_checkpoint_t cp = {-1, -1};
    assert_int_equal(store_task_commit(t1, &cp, err, sizeof(err)), 0);
    free(st);
    avro_codec_destroy(codec);
    store_destroy(s); /* a stopped processor */
    return dir;
}

static void test_customer_prints_decoded_state_timer_and_checkpoint(void **state)
{
    (void)state;
    char *dir = make_store(), *out;
    const char *a[] = {"--state", dir, "--customer", "carol", NULL};
    assert_int_equal(run(&out, a), 0);
    print_message("%s", out);
    assert_non_null(strstr(out, "{\"task\":1,\"customer\":\"carol\",\"next_due_ms\":"
                                "1700000000007,\"checkpoint\":{\"next_input_offset\":11,"
                                "\"changelog_offset\":21},"));
    assert_non_null(strstr(out, ",\"schema_id\":203,\"state\":{"));
    assert_non_null(strstr(out, "\"carol\""));
    assert_null(strstr(out, "value_base64")); /* decoded: no raw bytes unless --raw */
    free(out);
    const char *r[] = {"--state", dir, "--customer", "carol", "--raw", NULL};
    assert_int_equal(run(&out, r), 0);
    assert_non_null(strstr(out, "\"value_base64\":\"AAAAAMs"));
    free(out);
    tsu_rmtree(dir);
}

static void test_undecodable_value_is_shown_raw_with_the_reason(void **state)
{
    (void)state;
    char *dir = make_store(), *out;
    const char *a[] = {"--state", dir, "--customer", "alice", NULL};
    assert_int_equal(run(&out, a), 0);
    assert_non_null(strstr(out, "{\"task\":0,\"customer\":\"alice\",\"next_due_ms\":null,"
                                "\"checkpoint\":{\"next_input_offset\":10,\"changelog_offset\""
                                ":20},\"value_length\":3,\"state\":null,\"decode_error\":"));
    assert_non_null(strstr(out, ",\"value_base64\":\"YWJj\"}\n"));
    free(out);
    const char *b[] = {"--state", dir, "--customer", "bob", "--task", "1", NULL};
    assert_int_equal(run(&out, b), 0);
    assert_non_null(strstr(out, "\"next_due_ms\":1700000000001,"));
    assert_non_null(strstr(out, "\"value_length\":8,\"schema_id\":201,\"state\":null,"));
    assert_non_null(strstr(out, "\"value_base64\":\"AAAAAMl4eXo=\""));
    free(out);
    tsu_rmtree(dir);
}

static void test_summary_lists_tasks_with_counts(void **state)
{
    (void)state;
    char *dir = make_store(), *out;
    const char *a[] = {"--state", dir, "--summary", NULL};
    assert_int_equal(run(&out, a), 0);
    assert_non_null(strstr(out, "\"tasks\":[{\"task\":0,\"checkpoint\":{\"next_input_offset\":"
                                "10,\"changelog_offset\":20},\"customers\":1,\"timers\":1,"
                                "\"stale_timer_entries\":0,\"level0_files\":"));
    assert_non_null(strstr(out, "},{\"task\":1,"));
    free(out);
    tsu_rmtree(dir);
}

static void test_missing_customer_task_or_store_fails(void **state)
{
    (void)state;
    char *dir = make_store(), *out;
    const char *a[] = {"--state", dir, "--customer", "nobody", NULL};
    assert_int_equal(run(&out, a), 1);
    free(out);
    const char *b[] = {"--state", dir, "--customer", "alice", "--task", "7", NULL};
    assert_int_equal(run(&out, b), 1);
    free(out);
    const char *c[] = {"--state", "/nonexistent/store", "--summary", NULL};
    assert_int_equal(run(&out, c), 1);
    free(out);
    const char *d[] = {"--state", dir, NULL}; /* neither --customer nor --summary */
    assert_int_equal(run(&out, d), 2);
    free(out);
    tsu_rmtree(dir);
}

/* A store written by the release before the customer attributes (the version-1 fixture of
 * tests/unit/fixtures/state-v1): under its built-in id 201 it reads as is; under an id only
 * a registry knew, offline, version 1 stands in after our own schema fails. */
static void test_version_1_state_reads_under_its_id_and_under_an_unknown_one(void **state)
{
    (void)state;
    const char *src = getenv("LS_SOURCE_DIR");
    if (!src)
        skip();
    char path[1024], err[256], *out;
    snprintf(path, sizeof(path), "%s/tests/unit/fixtures/state-v1/state.bin", src);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char v1[4096], other[4096];
    size_t n = fread(v1, 1, sizeof(v1), f);
    fclose(f);
    memcpy(other, v1, n);
    other[3] = 0x01, other[4] = 0x2c; /* id 300 */
    char *dir = tsu_tmpdir();
    store_t *st = tsu_open(dir, T0);
    store_task_t *t = store_task_open(st, 0, err, sizeof(err));
    assert_int_equal(store_put(t, "anna", 4, v1, n, err, sizeof(err)), 0);
    assert_int_equal(store_put(t, "anna2", 5, other, n, err, sizeof(err)), 0);
    store_checkpoint_t cp = {1, 1};
    assert_int_equal(store_task_commit(t, &cp, err, sizeof(err)), 0);
    store_destroy(st);
    const char *a[] = {"--state", dir, "--customer", "anna", NULL};
    assert_int_equal(run(&out, a), 0);
    assert_non_null(strstr(out, ",\"schema_id\":201,\"state\":{\"customer_id\":\"fixture-anna\""));
    assert_non_null(strstr(out, "\"balance\":517"));
    free(out);
    const char *b[] = {"--state", dir, "--customer", "anna2", NULL};
    assert_int_equal(run(&out, b), 0);
    assert_non_null(strstr(out, "\"schema_id\":300,\"note\":\"writer schema id 300 unknown"));
    assert_non_null(strstr(out, "\"balance\":517"));
    free(out);
    tsu_rmtree(dir);
}

/* --program adds the state as a person reads it: the tier's name, the qualifying bucket as
 * its local month, times in the program's zone, a lot with its source and expiry. */
static void test_program_adds_a_readable_view(void **state)
{
    (void)state;
    char *dir = tsu_tmpdir(), err[256], prog[512];
    snprintf(prog, sizeof(prog), "%s.yaml", dir);
    FILE *f = fopen(prog, "w");
    assert_non_null(f);
    fputs("currency: RUB\ntimezone: Europe/Moscow\npoint_value: 1\n"
          "tiers: [{name: Red, threshold: 0}, {name: Silver, threshold: 5000}]\n",
          f);
    fclose(f);
    store_t *s = tsu_open(dir, T0);
    store_task_t *t = store_task_open(s, 0, err, sizeof(err));
    avro_codec_config_t cc;
    avro_codec_config_defaults(&cc);
    avro_codec_t *codec = avro_codec_new(&cc, err, sizeof(err));
    assert_non_null(codec);
    eng_state_t *st = calloc(1, sizeof(*st));
    st->version = ENG_STATE_VERSION;
    st->flags = 1;
    strcpy(st->customer_id, "dora");
    st->tier = 1;
    st->tier_since = 1772352000000LL; /* 2026-03-01T08:00:00Z = 11:00 in Moscow */
    st->n_qbuckets = 1;
    st->qbuckets[0].key = 2026 * 12 + 2; /* March 2026 */
    st->qbuckets[0].value = 550000;
    st->n_lots = 1;
    st->lots[0] = (eng_lot_t){.amount = 300,
                              .remaining = 250,
                              .earned_at = st->tier_since,
                              .usable_from = st->tier_since,
                              .expires_at = 1777582800000LL, /* 2026-05-01 00:00 Moscow */
                              .source = ENG_SRC_PERIOD};
    const uint8_t *buf;
    size_t len;
    assert_int_equal(avro_codec_encode_state(codec, st, &buf, &len, err, sizeof(err)), 0);
    assert_int_equal(store_put_due(t, "dora", 4, buf, len, T0, err, sizeof(err)), 0);
    store_checkpoint_t cp = {1, 1};
    assert_int_equal(store_task_commit(t, &cp, err, sizeof(err)), 0);
    free(st);
    avro_codec_destroy(codec);
    store_destroy(s);
    char *out;
    const char *a[] = {"--state", dir, "--customer", "dora", "--program", prog, NULL};
    assert_int_equal(run(&out, a), 0);
    print_message("%s", out);
    assert_non_null(strstr(out, ",\"view\":{\"customer_id\":\"dora\",\"tier\":\"Silver\","
                                "\"tier_since\":\"2026-03-01T11:00:00+03:00\""));
    assert_non_null(strstr(out, "\"periods\":[{\"period\":\"2026-03\",\"value\":550000,"
                                "\"value_text\":\"5500.00 RUB\"}]"));
    assert_non_null(strstr(out, "\"lots\":[{\"points\":250,\"of\":300,\"source\":\"period_award\","
                                "\"earned_at\":\"2026-03-01T11:00:00+03:00\",\"usable_from\":"
                                "\"2026-03-01T11:00:00+03:00\",\"expires_at\":"
                                "\"2026-05-01T00:00:00+03:00\"}]"));
    assert_non_null(strstr(out, "\"balance\":250,\"balance_value\":\"250.00 RUB\""));
    free(out);
    const char *b[] = {"--state", dir, "--customer", "dora", NULL}; /* no program: no view */
    assert_int_equal(run(&out, b), 0);
    assert_null(strstr(out, "\"view\""));
    free(out);
    remove(prog);
    tsu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_customer_prints_decoded_state_timer_and_checkpoint),
        cmocka_unit_test(test_undecodable_value_is_shown_raw_with_the_reason),
        cmocka_unit_test(test_summary_lists_tasks_with_counts),
        cmocka_unit_test(test_missing_customer_task_or_store_fails),
        cmocka_unit_test(test_version_1_state_reads_under_its_id_and_under_an_unknown_one),
        cmocka_unit_test(test_program_adds_a_readable_view),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
