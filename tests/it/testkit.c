/* testkit: see testkit.h. */
#include "testkit.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int tk_processor_setup(char *out, size_t outlen)
{
    if (!getenv("LS_BINARY")) {
        fprintf(stderr, "LS_BINARY is not set: run through ctest\n");
        return -1;
    }
    return tk_bootstrap(out, outlen);
}

int tk_bootstrap(char *out, size_t outlen)
{
    const char *dir = getenv("LS_TEST_BROKER_DIR");
    if (!dir) {
        fprintf(stderr, "LS_TEST_BROKER_DIR is not set: run this test through ctest, whose "
                        "kafka_broker_start fixture starts the real broker\n");
        return -1;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/bootstrap", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr,
                "no test broker: %s is missing. The kafka_broker_start fixture failed; "
                "see its output (is Java 17 installed? were the Kafka jars fetched with "
                "./dev deps --test?)\n",
                path);
        return -1;
    }
    int ok = fgets(out, (int)outlen, f) != NULL;
    fclose(f);
    if (!ok) {
        fprintf(stderr, "%s is empty\n", path);
        return -1;
    }
    out[strcspn(out, "\r\n")] = '\0';
    return 0;
}

void tk_unique_name(const char *prefix, char *out, size_t outlen)
{
    static int n;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    snprintf(out, outlen, "%s-%d-%d-%ld", prefix, (int)getpid(), n++,
             (long)(tv.tv_sec % 100000) * 1000000 + tv.tv_usec);
}

int tk_extra_conf_each(int (*fn)(void *ctx, const char *key, const char *value), void *ctx)
{
    const char *path = getenv("LS_TEST_KAFKA_CONF");
    if (!path || !*path)
        return 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "LS_TEST_KAFKA_CONF: cannot open %s\n", path);
        return -1;
    }
    char line[1024];
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *eq = strchr(line, '=');
        if (line[0] == '#' || !eq)
            continue;
        *eq = '\0';
        rc = fn(ctx, line, eq + 1);
    }
    fclose(f);
    return rc;
}

static int conf_set_cb(void *ctx, const char *key, const char *value)
{
    char err[512];
    if (rd_kafka_conf_set(ctx, key, value, err, sizeof(err)) == RD_KAFKA_CONF_OK)
        return 0;
    fprintf(stderr, "LS_TEST_KAFKA_CONF: %s: %s\n", key, err);
    return -1;
}

rd_kafka_t *tk_client_new(rd_kafka_type_t type, const char *bootstrap, const char *const *kv)
{
    char err[512] = "";
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof(err)) ||
        tk_extra_conf_each(conf_set_cb, conf) != 0)
        goto fail;
    for (size_t i = 0; kv && kv[i]; i += 2)
        if (rd_kafka_conf_set(conf, kv[i], kv[i + 1], err, sizeof(err)))
            goto fail;
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof(err));
    if (!rk)
        goto fail;
    return rk;
fail:
    fprintf(stderr, "client config: %s\n", err);
    rd_kafka_conf_destroy(conf);
    return NULL;
}

int tk_create_topic(const char *bootstrap, const char *topic, int partitions, int rf,
                    const char *const *configs)
{
    char err[512];
    int rc = -1;
    rd_kafka_t *rk = tk_client_new(RD_KAFKA_PRODUCER, bootstrap, NULL);
    if (!rk)
        return -1;
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, rf, err, sizeof(err));
    if (!nt) {
        fprintf(stderr, "topic %s: %s\n", topic, err);
        rd_kafka_destroy(rk);
        return -1;
    }
    for (size_t i = 0; configs && configs[i]; i += 2)
        rd_kafka_NewTopic_set_config(nt, configs[i], configs[i + 1]);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
    if (!ev) {
        fprintf(stderr, "topic %s: CreateTopics timed out\n", topic);
    } else if (rd_kafka_event_error(ev)) {
        fprintf(stderr, "topic %s: %s\n", topic, rd_kafka_event_error_string(ev));
    } else {
        size_t cnt;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
        if (cnt == 1 && rd_kafka_topic_result_error(res[0]) == RD_KAFKA_RESP_ERR_NO_ERROR)
            rc = 0;
        else
            fprintf(stderr, "topic %s: %s\n", topic,
                    cnt ? rd_kafka_topic_result_error_string(res[0]) : "no result");
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_destroy(rk);
    return rc;
}

int tk_partition_count(rd_kafka_t *rk, const char *topic)
{
    const struct rd_kafka_metadata *md;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    int n = -1;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (md->topic_cnt == 1 && !md->topics[0].err)
            n = md->topics[0].partition_cnt;
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(rkt);
    return n;
}

static char *dup_bytes(const void *p, size_t len)
{
    char *s = malloc(len + 1);
    if (s) {
        if (len)
            memcpy(s, p, len);
        s[len] = '\0';
    }
    return s;
}

tk_record_t *tk_consume_all(const char *bootstrap, const char *topic, int read_committed, size_t *n)
{
    const char *kv[] = {"group.id",
                        "testkit-reader",
                        "enable.partition.eof",
                        "true",
                        "isolation.level",
                        read_committed ? "read_committed" : "read_uncommitted",
                        "enable.auto.commit",
                        "false",
                        NULL};
    rd_kafka_t *rk = tk_client_new(RD_KAFKA_CONSUMER, bootstrap, kv);
    if (!rk)
        return NULL;
    int parts = tk_partition_count(rk, topic);
    if (parts < 1) {
        fprintf(stderr, "topic %s: no metadata\n", topic);
        rd_kafka_destroy(rk);
        return NULL;
    }
    rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(parts);
    for (int p = 0; p < parts; p++)
        rd_kafka_topic_partition_list_add(tl, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, tl);
    rd_kafka_topic_partition_list_destroy(tl);
    size_t cap = 1024, cnt = 0;
    tk_record_t *recs = malloc(cap * sizeof(*recs));
    int eofs = 0, idle = 0;
    while (eofs < parts && idle < 300) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) {
            idle++;
            continue;
        }
        idle = 0;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            eofs++;
        } else if (m->err) {
            fprintf(stderr, "consume %s: %s\n", topic, rd_kafka_message_errstr(m));
        } else {
            if (cnt == cap)
                recs = realloc(recs, (cap *= 2) * sizeof(*recs));
            recs[cnt].partition = m->partition;
            recs[cnt].offset = m->offset;
            recs[cnt].key = dup_bytes(m->key, m->key_len);
            recs[cnt].value = m->payload ? dup_bytes(m->payload, m->len) : NULL;
            recs[cnt].key_len = m->key_len;
            recs[cnt].value_len = m->len;
            cnt++;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (eofs < parts) {
        fprintf(stderr, "consume %s: only %d of %d partitions reached their end\n", topic, eofs,
                parts);
        tk_records_free(recs, cnt);
        return NULL;
    }
    *n = cnt;
    return recs;
}

void tk_records_free(tk_record_t *recs, size_t n)
{
    for (size_t i = 0; recs && i < n; i++) {
        free(recs[i].key);
        free(recs[i].value);
    }
    free(recs);
}

int tk_produce_counter_input(const char *bootstrap, const char *topic, int partitions, int n,
                             int keys)
{
    const char *kv[] = {"enable.idempotence", "true", "linger.ms", "5", NULL};
    rd_kafka_t *p = tk_client_new(RD_KAFKA_PRODUCER, bootstrap, kv);
    if (!p)
        return -1;
    char key[32], val[32];
    for (int i = 0; i < n; i++) {
        int k = i % keys;
        snprintf(key, sizeof(key), "k%d", k);
        snprintf(val, sizeof(val), "r%d", i);
        rd_kafka_resp_err_t e;
        while ((e = rd_kafka_producev(
                    p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(k % partitions),
                    RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(val, strlen(val)),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) ==
               RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(p, 10);
        if (e) {
            fprintf(stderr, "produce %s: %s\n", topic, rd_kafka_err2str(e));
            rd_kafka_destroy(p);
            return -1;
        }
    }
    int rc = rd_kafka_flush(p, 30000) == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
    rd_kafka_destroy(p);
    return rc;
}

int tk_spawn(char *const *argv, char *const *env, const char *log_path)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        FILE *f = fopen(log_path, "a");
        if (f) {
            dup2(fileno(f), 2);
            dup2(fileno(f), 1);
        }
        for (size_t i = 0; env && env[i]; i++)
            putenv(env[i]);
        execv(argv[0], argv);
        _exit(127);
    }
    return (int)pid;
}

int tk_wait(int pid, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 20) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        usleep(20000);
    }
    return -1;
}

long tk_count(const char *bootstrap, const char *topic)
{
    size_t n = 0;
    tk_record_t *r = tk_consume_all(bootstrap, topic, 1, &n);
    if (!r)
        return -1;
    tk_records_free(r, n);
    return (long)n;
}

static int broker_script(char *out, size_t len)
{
    const char *src = getenv("LS_SOURCE_DIR");
    if (!src) {
        fprintf(stderr, "LS_SOURCE_DIR is not set: run this test through ctest\n");
        return -1;
    }
    snprintf(out, len, "%s/tests/kafka/kafka-test-broker.sh", src);
    return 0;
}

int tk_broker_start(const char *dir, const char *options, char *bootstrap, size_t len)
{
    char script[4096], cmd[8192];
    if (broker_script(script, sizeof(script)) != 0)
        return -1;
    snprintf(cmd, sizeof(cmd), "%s start %s %s", script, dir, options ? options : "");
    FILE *f = popen(cmd, "r");
    if (!f || !fgets(bootstrap, (int)len, f)) {
        if (f)
            pclose(f);
        fprintf(stderr, "the broker under %s did not start (see above)\n", dir);
        return -1;
    }
    bootstrap[strcspn(bootstrap, "\n")] = '\0';
    return pclose(f) == 0 ? 0 : -1;
}

int tk_broker(const char *verb, const char *dir, int node)
{
    char script[4096], cmd[8192];
    if (broker_script(script, sizeof(script)) != 0)
        return -1;
    if (node > 0)
        snprintf(cmd, sizeof(cmd), "%s %s %s %d", script, verb, dir, node);
    else
        snprintf(cmd, sizeof(cmd), "%s %s %s", script, verb, dir);
    return system(cmd);
}

int tk_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

double tk_mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
