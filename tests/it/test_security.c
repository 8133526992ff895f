/*
 * Kafka security on the real broker: a single node started by kafka-test-broker.sh
 * --secure, whose only client listener is SASL_SSL (TLS with a CA made at start, SASL
 * PLAIN user "loyalty"). Every test client and every processor instance gets the client
 * settings from $LS_TEST_KAFKA_CONF (the broker's client.properties). The processor must
 * process a scenario exactly as `replay` says over TLS + SASL, and a wrong password must
 * stop it quickly with exit 1 and a message that says authentication failed.
 * (SCRAM: librdkafka 2.0.2 cannot authenticate with SCRAM against Kafka 4.x, see
 * docs/KAFKA.md; PLAIN over TLS is what this build can prove.)
 */
#include "lskit.h"
#include "testkit.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static char dir[256], bootstrap[512], client_conf[300];

static int setup(void **state)
{
    (void)state;
    if (!getenv("LS_BINARY")) {
        fprintf(stderr, "LS_BINARY is not set: run this test through ctest\n");
        return -1;
    }
    snprintf(dir, sizeof(dir), "/tmp/ls-secure-%d", (int)getpid());
    if (tk_broker_start(dir, "--secure", bootstrap, sizeof(bootstrap)) != 0)
        return -1;
    snprintf(client_conf, sizeof(client_conf), "%s/client.properties", dir);
    setenv("LS_TEST_KAFKA_CONF", client_conf, 1); /* every test client and instance */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return tk_broker("stop", dir, 0) == 0 ? 0 : -1;
}

static void test_processor_over_tls_and_sasl_equals_replay(void **state)
{
    (void)state;
    lk_scenario_t s;
    lk_lines_t outputs = {0}, states = {0};
    assert_int_equal(lk_scenario_new(&s, "secure", bootstrap, 2, 1500, 150, 21), 0);
    assert_int_equal(lk_produce(&s, 0, s.n_events), 0);
    assert_int_equal(lk_replay(&s, &outputs, &states), 0);
    int pid = lk_start(&s, "a", NULL);
    assert_true(pid > 0);
    long n = lk_wait_outputs(&s, (long)outputs.n, 180);
    kill(pid, SIGTERM);
    assert_int_equal(tk_wait(pid, 60000), 0);
    assert_int_equal(n, (long)outputs.n);
    if (lk_check_replay(&s, &outputs, &states))
        fail_msg("the processor disagrees with replay over TLS + SASL (logs in %s)", s.dir);
    lk_lines_free(&outputs);
    lk_lines_free(&states);
    lk_scenario_free(&s);
}

static void test_wrong_password_fails_fast_naming_authentication(void **state)
{
    (void)state;
    lk_scenario_t s;
    assert_int_equal(lk_scenario_new(&s, "badpass", bootstrap, 1, 10, 5, 22), 0);
    char pw[] = "LOYALTY_KAFKA_SASL_PASSWORD=not-the-password"; /* over the file's */
    char *env[] = {pw, NULL};
    time_t t0 = time(NULL);
    int pid = lk_start(&s, "a", env);
    assert_true(pid > 0);
    int rc = tk_wait(pid, 60000);
    long took = (long)(time(NULL) - t0);
    if (rc < 0)
        kill(pid, SIGKILL);
    fprintf(stderr, "wrong password: exit %d after %ld s\n", rc, took);
    char path[400], line[4096];
    snprintf(path, sizeof(path), "%s/a.log", s.dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int said = 0, misleading = 0;
    while (fgets(line, sizeof(line), f)) {
        if (strstr(line, "level=error") && strstr(line, "authentication failed"))
            said = 1;
        if (strstr(line, "bootstrap.servers right"))
            misleading = 1;
    }
    fclose(f);
    assert_int_equal(rc, 1);
    assert_true(took <= 15);
    if (!said || misleading)
        fail_msg("the stop does not say that authentication failed (log %s)", path);
    lk_scenario_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_processor_over_tls_and_sasl_equals_replay),
        cmocka_unit_test(test_wrong_password_fails_fast_naming_authentication),
    };
    if (getenv("LS_TEST_FILTER"))
        cmocka_set_test_filter(getenv("LS_TEST_FILTER"));
    return cmocka_run_group_tests(tests, setup, teardown);
}
