/*
 * cfg: see cfg.h. The one idea: the table `settings` below is the only place a setting
 * is described. Parsing, the environment, range checks, --help-config and
 * docs/CONFIGURATION.md all walk it, so they cannot disagree.
 */
#include "cfg.h"

#include "log.h"
#include "pipe.h"

#include <ctype.h>
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum { T_STR, T_INT, T_BOOL, T_ENUM, T_BYTES } ctype_t;

typedef struct setting {
    const char *name;
    ctype_t type;
    const char *def; /* default as text; NULL = required, no default */
    size_t off;      /* offsetof into cfg_t */
    int64_t min, max;
    const char *choices; /* T_ENUM: "a|b|c"; index = stored value */
    const char *desc;
} setting_t;

#define OFF(f) offsetof(cfg_t, f)
#define TOPIC_OUT(kind, name, def, what)                                                \
    {                                                                                   \
        name, T_STR, def, OFF(topic_out[kind]), 0, 0, NULL, "Topic of " what " events." \
    }

static const setting_t settings[] = {
    {"application.id", T_STR, "loyalty-stream", OFF(application_id), 0, 0, NULL,
     "Consumer group id and transactional.id prefix; instances with the same id share the "
     "work."},
    {"instance.id", T_STR, "", OFF(instance_id), 0, 0, NULL,
     "This instance's stable name (default: the host name; the StatefulSet pod name). "
     "transactional.id = application.id-instance.id, so a restarted instance fences its "
     "own stale transaction at once."},
    {"bootstrap.servers", T_STR, NULL, OFF(bootstrap_servers), 0, 0, NULL,
     "Kafka brokers, host:port[,host:port...]. Required."},
    {"group.static.membership", T_BOOL, "false", OFF(group_static_membership), 0, 0, NULL,
     "Join the group as a static member (group.instance.id = instance.id): an instance "
     "restarted within kafka.session.timeout.ms takes its partitions back without a "
     "rebalance, but a stopped or scaled-in instance's partitions wait for that timeout "
     "before moving (a static member does not leave the group). Default: a dynamic member, "
     "whose clean stop hands its tasks over within seconds (docs/OPERATIONS.md)."},
    {"program.file", T_STR, NULL, OFF(program_file), 0, 0, NULL,
     "The loyalty program (YAML), see docs/PROGRAMS.md. Required."},
    {"topic.input", T_STR, "purchases", OFF(topic_input), 0, 0, NULL,
     "Input topic of purchase, return and redemption events (key = customer id)."},
    {"topic.changelog", T_STR, "", OFF(topic_changelog), 0, 0, NULL,
     "Compacted changelog of customer states (default: <application.id>-changelog); "
     "created when missing with the input's partition count."},
    {"topic.dead-letter", T_STR, "purchases.dlq", OFF(topic_dead_letter), 0, 0, NULL,
     "Where undecodable or invalid input records go, bytes untouched, reason in headers."},
    TOPIC_OUT(ENG_OUT_TIER_CHANGED, "topic.tier-changed", "loyalty.tier-changes", "TierChanged"),
    TOPIC_OUT(ENG_OUT_BONUS_EARNED, "topic.bonus-earned", "loyalty.bonuses", "BonusEarned"),
    TOPIC_OUT(ENG_OUT_EXPIRY_WARNING, "topic.expiry-warning", "loyalty.expiry-warnings",
              "ExpiryWarning"),
    TOPIC_OUT(ENG_OUT_POINTS_EXPIRED, "topic.points-expired", "loyalty.points-expired",
              "PointsExpired"),
    TOPIC_OUT(ENG_OUT_POINTS_REVERSED, "topic.points-reversed", "loyalty.points-reversed",
              "PointsReversed"),
    TOPIC_OUT(ENG_OUT_POINTS_REDEEMED, "topic.points-redeemed", "loyalty.points-redeemed",
              "PointsRedeemed"),
    TOPIC_OUT(ENG_OUT_REDEMPTION_REJECTED, "topic.redemption-rejected",
              "loyalty.redemption-rejected", "RedemptionRejected"),
    TOPIC_OUT(ENG_OUT_REWARD_EARNED, "topic.reward-earned", "loyalty.rewards", "RewardEarned"),
    TOPIC_OUT(ENG_OUT_TIER_WILL_DOWNGRADE, "topic.tier-will-downgrade", "loyalty.tier-warnings",
              "TierWillDowngrade"),
    TOPIC_OUT(ENG_OUT_TIER_PROGRESS, "topic.tier-progress", "loyalty.tier-progress",
              "TierProgress"),
    {"topics.create", T_BOOL, "false", OFF(topics_create), 0, 0, NULL,
     "Create every missing topic at start-up: the input (with topics.partitions partitions), "
     "the outputs and the dead-letter topic (with the input's partition count). Without it a "
     "missing input, output or dead-letter topic stops start-up (exit 2). The changelog is "
     "always created when missing."},
    {"topics.partitions", T_INT, "6", OFF(topics_partitions), 1, 10000, NULL,
     "Partition count of the input topic when topics.create creates it; the most instances "
     "that can share the work."},
    {"topics.replication.factor", T_INT, "-1", OFF(topics_replication_factor), -1, 32, NULL,
     "Replication factor of topics this processor creates (-1 = the broker's default)."},
    {"state.dir", T_STR, "/var/lib/loyalty-stream", OFF(state_dir), 0, 0, NULL,
     "Directory of the RocksDB state store (a persistent volume in Kubernetes)."},
    {"state.cleanup.delay.ms", T_INT, "600000", OFF(state_cleanup_delay_ms), 0,
     INT64_C(31536000000), NULL,
     "How long the state of a task that moved to another instance is kept, so that it "
     "restores only the changelog tail if it comes back."},
    {"state.reset.on.corruption", T_BOOL, "false", OFF(state_reset_on_corruption), 0, 0, NULL,
     "When local state is corrupt (RocksDB reports corruption, or a stored state does not "
     "decode): delete it and restore it from the changelog, instead of stopping with exit 2. "
     "A corrupt store is wiped at start-up; a task whose state does not decode is dropped "
     "and restored in place (at most 3 times per run)."},
    {"commit.interval.ms", T_INT, "100", OFF(commit_interval_ms), 1, 60000, NULL,
     "Time between commits: a transaction commits once this long has passed since the "
     "previous commit began and the input already fetched is processed, and at the latest "
     "this long after it began (docs/OPERATIONS.md, \"Transaction size\")."},
    {"commit.max.records", T_INT, "10000", OFF(commit_max_records), 1, 1000000, NULL,
     "A transaction commits after this many input records (or when commit.interval.ms or "
     "commit.max.bytes is reached, whichever comes first); timers fire for at most this many "
     "customers per task per tick. Fewer, larger transactions cost fewer broker round trips "
     "per record (docs/OPERATIONS.md, \"Transaction size\")."},
    {"commit.max.bytes", T_BYTES, "8MiB", OFF(commit_max_bytes), 0, INT64_C(1) << 30, NULL,
     "A transaction commits once the records it produced (outputs and changelog, keys and "
     "values) hold this many bytes; 0 = no byte bound. Accepts KiB, MiB, GiB suffixes."},
    {"timers.interval.ms", T_INT, "1000", OFF(timers_interval_ms), 1, 3600000, NULL,
     "How often due timers (expiry, warnings, period ends, inactivity) are looked for."},
    {"clock", T_ENUM, "wall", OFF(clock), 0, 0, "wall|stream",
     "Time that fires timers: wall = the system clock (production) once the task has caught "
     "up with its input, its stream time while it reads a backlog; stream = the largest "
     "event time seen by the task (replays, demos, equality tests). Where an event counts "
     "is its own time either way (docs/PROGRAMS.md, \"Late events\")."},
    {"time.max.future.ms", T_INT, "86400000", OFF(time_max_future_ms), 0, INT64_C(31536000000),
     NULL,
     "An event whose time is further ahead of the wall clock than this goes to the "
     "dead-letter topic (future_time) and never moves stream time: one bad clock at a "
     "producer must not fire every timer of a partition."},
    {"memory.budget.bytes", T_BYTES, "128MiB", OFF(memory_budget_bytes), 16 << 20, INT64_C(1) << 40,
     NULL,
     "Memory for RocksDB (shared block cache and write buffers of all tasks). Accepts KiB, "
     "MiB, GiB suffixes."},
    {"schema.registry.url", T_STR, "", OFF(schema_registry_url), 0, 0, NULL,
     "Confluent-compatible schema registry; empty = schema ids from the built-in contract."},
    {"schema.registry.basic.auth.user.info", T_STR, "", OFF(schema_registry_user_info), 0, 0, NULL,
     "user:password for the registry's HTTP basic authentication (better from the "
     "environment, LOYALTY_SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO, filled from a Secret); never "
     "logged. Empty = none."},
    {"schema.registry.ssl.ca.location", T_STR, "", OFF(schema_registry_ca_location), 0, 0, NULL,
     "PEM file of the CA that signs an https registry's certificate; empty = the system's "
     "CAs. A file that cannot be read stops start-up (exit 2); a certificate it does not "
     "verify makes the registry unavailable (exit 1 at start-up, a wait while running; "
     "nothing is dead-lettered)."},
    {"http.bind", T_STR, "0.0.0.0", OFF(http_bind), 0, 0, NULL,
     "Address of the probe listener: /metrics, /healthz, /readyz (no customer data)."},
    {"http.port", T_INT, "8080", OFF(http_port), -1, 65535, NULL,
     "Port of the probe listener; -1 = no HTTP server at all."},
    {"http.query.bind", T_STR, "127.0.0.1", OFF(http_query_bind), 0, 0, NULL,
     "Address of the state-query listener (GET /customers/{id}), a numeric IPv4 or IPv6 "
     "address. Any address but a loopback one needs http.query.token.file."},
    {"http.query.port", T_INT, "-1", OFF(http_query_port), -1, 65535, NULL,
     "Port of the state-query listener, not http.port; -1 = no state queries."},
    {"http.query.token.file", T_STR, "", OFF(http_query_token_file), 0, 0, NULL,
     "File holding the bearer token of the state-query listener (a mounted Secret; trailing "
     "whitespace is cut). When set, a query needs `Authorization: Bearer <token>`; required "
     "when http.query.bind is not a loopback address."},
    {"http.query.max.connections", T_INT, "64", OFF(http_query_max_connections), 1, 10000, NULL,
     "Connections the state-query listener accepts in all."},
    {"http.query.max.connections.per.client", T_INT, "8",
     OFF(http_query_max_connections_per_client), 1, 10000, NULL,
     "Connections the state-query listener accepts from one client address."},
    {"http.query.idle.timeout.ms", T_INT, "10000", OFF(http_query_idle_timeout_ms), 1000, 600000,
     NULL, "A state-query connection idle this long is closed (whole seconds, rounded up)."},
    {"shutdown.timeout.ms", T_INT, "30000", OFF(shutdown_timeout_ms), 100, 600000, NULL,
     "On SIGTERM/SIGINT: how long to finish the open transaction and leave the group."},
    {"log.level", T_ENUM, "info", OFF(log_level), 0, 0, "debug|info|warn|error|off",
     "Minimum level logged."},
    {"log.format", T_ENUM, "text", OFF(log_format), 0, 0, "text|json",
     "text = key=value lines; json = one JSON object per line."},
};
#define N_SETTINGS (sizeof(settings) / sizeof(settings[0]))

/* log.level and log.format are stored as strings although typed T_ENUM: they are read by
 * main before the logger exists. */
static bool enum_as_string(const setting_t *s)
{
    return s->off == OFF(log_level) || s->off == OFF(log_format);
}

static const setting_t *find_setting(const char *name)
{
    for (size_t i = 0; i < N_SETTINGS; i++)
        if (strcmp(settings[i].name, name) == 0)
            return &settings[i];
    return NULL;
}

/* Levenshtein distance, bounded inputs (keys), for "did you mean". */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 99;
    size_t d[64][64];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
            d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
    return d[la][lb];
}

static const char *nearest_key(const char *name)
{
    const char *best = NULL;
    size_t best_d = 4; /* suggest only close matches */
    for (size_t i = 0; i < N_SETTINGS; i++) {
        size_t dist = edit_distance(name, settings[i].name);
        if (dist < best_d) {
            best_d = dist;
            best = settings[i].name;
        }
    }
    return best;
}

static int parse_int(const char *v, int64_t *out)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *end)
        return -1;
    *out = x;
    return 0;
}

static int parse_bytes(const char *v, int64_t *out)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || x < 0)
        return -1;
    while (*end == ' ')
        end++;
    int64_t mul = 1;
    if (!strcmp(end, "KiB") || !strcmp(end, "K"))
        mul = 1024;
    else if (!strcmp(end, "MiB") || !strcmp(end, "M"))
        mul = 1024 * 1024;
    else if (!strcmp(end, "GiB") || !strcmp(end, "G"))
        mul = INT64_C(1024) * 1024 * 1024;
    else if (*end)
        return -1;
    if (x > INT64_MAX / mul)
        return -1;
    *out = x * mul;
    return 0;
}

static int parse_enum(const char *choices, const char *v, int64_t *out)
{
    int64_t idx = 0;
    size_t n = strlen(v);
    for (const char *p = choices; *p; idx++) {
        size_t len = strcspn(p, "|");
        if (len == n && strncmp(p, v, n) == 0) {
            *out = idx;
            return 0;
        }
        p += len + (p[len] == '|');
    }
    return -1;
}

static int set_string(char **slot, const char *value)
{
    char *dup = strdup(value);
    if (!dup)
        return -1;
    free(*slot);
    *slot = dup;
    return 0;
}

static int set_kafka(cfg_t *cfg, const char *key, const char *value, const char *origin)
{
    for (size_t i = 0; i < cfg->n_kafka; i++) {
        if (strcmp(cfg->kafka[i].key, key) == 0) { /* later wins (environment over file) */
            snprintf(cfg->kafka[i].origin, sizeof(cfg->kafka[i].origin), "%s", origin);
            return set_string(&cfg->kafka[i].value, value);
        }
    }
    cfg_kv_t *grown = realloc(cfg->kafka, (cfg->n_kafka + 1) * sizeof(*grown));
    if (!grown)
        return -1;
    cfg->kafka = grown;
    cfg_kv_t *kv = &cfg->kafka[cfg->n_kafka];
    kv->key = strdup(key);
    kv->value = strdup(value);
    snprintf(kv->origin, sizeof(kv->origin), "%s", origin);
    if (!kv->key || !kv->value) {
        free(kv->key);
        free(kv->value);
        return -1;
    }
    cfg->n_kafka++;
    return 0;
}

/* librdkafka properties the processor owns: setting them would break exactly-once. */
static const char *const reserved_kafka[] = {"bootstrap.servers",
                                             "metadata.broker.list",
                                             "group.id",
                                             "transactional.id",
                                             "enable.auto.commit",
                                             "isolation.level",
                                             "enable.idempotence",
                                             "partition.assignment.strategy",
                                             NULL};

int cfg_set(cfg_t *cfg, const char *key, const char *value, const char *origin, char *err,
            size_t errlen)
{
    if (strncmp(key, "kafka.", 6) == 0 && key[6]) {
        for (size_t i = 0; reserved_kafka[i]; i++) {
            if (strcmp(key + 6, reserved_kafka[i]) == 0) {
                snprintf(err, errlen, "%s: key '%s': the processor sets %s itself%s", origin, key,
                         reserved_kafka[i],
                         strcmp(reserved_kafka[i], "bootstrap.servers") == 0
                             ? " (use the key 'bootstrap.servers')"
                             : "");
                return -1;
            }
        }
        if (set_kafka(cfg, key + 6, value, origin) == 0)
            return 0;
        snprintf(err, errlen, "%s: key '%s': out of memory", origin, key);
        return -1;
    }
    const setting_t *s = find_setting(key);
    if (!s) {
        const char *near = nearest_key(key);
        snprintf(err, errlen, "%s: unknown key '%s'%s%s%s", origin, key,
                 near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
        return -1;
    }
    void *slot = (char *)cfg + s->off;
    int64_t x = 0;
    switch (s->type) {
    case T_STR:
        if (set_string((char **)slot, value) == 0)
            return 0;
        snprintf(err, errlen, "%s: key '%s': out of memory", origin, key);
        return -1;
    case T_BOOL:
        if (!strcmp(value, "true") || !strcmp(value, "false")) {
            *(bool *)slot = value[0] == 't';
            return 0;
        }
        snprintf(err, errlen, "%s: key '%s': '%s' is not true or false", origin, key, value);
        return -1;
    case T_ENUM:
        if (parse_enum(s->choices, value, &x) != 0) {
            snprintf(err, errlen, "%s: key '%s': '%s' is not one of %s", origin, key, value,
                     s->choices);
            return -1;
        }
        if (enum_as_string(s))
            return set_string((char **)slot, value);
        *(cfg_clock_t *)slot = (cfg_clock_t)x;
        return 0;
    case T_INT:
    case T_BYTES:
        if ((s->type == T_INT ? parse_int(value, &x) : parse_bytes(value, &x)) != 0) {
            snprintf(err, errlen, "%s: key '%s': '%s' is not %s", origin, key, value,
                     s->type == T_INT ? "an integer" : "a size (e.g. 128MiB)");
            return -1;
        }
        if (x < s->min || x > s->max) {
            snprintf(err, errlen, "%s: key '%s': %lld is out of range %lld..%lld", origin, key,
                     (long long)x, (long long)s->min, (long long)s->max);
            return -1;
        }
        *(int64_t *)slot = x;
        return 0;
    }
    return -1;
}

cfg_t *cfg_new_defaults(void)
{
    cfg_t *cfg = calloc(1, sizeof(*cfg));
    if (!cfg)
        return NULL;
    char err[256];
    for (size_t i = 0; i < N_SETTINGS; i++) {
        if (!settings[i].def)
            continue;
        if (cfg_set(cfg, settings[i].name, settings[i].def, "default", err, sizeof(err)) != 0) {
            cfg_destroy(cfg);
            return NULL;
        }
    }
    char host[256] = "localhost";
    if (gethostname(host, sizeof(host) - 1) != 0)
        snprintf(host, sizeof(host), "localhost");
    if (set_string(&cfg->instance_id, host) != 0) {
        cfg_destroy(cfg);
        return NULL;
    }
    return cfg;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static int load_file(cfg_t *cfg, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open the configuration file: %s", path, strerror(errno));
        return -1;
    }
    char line[4096], origin[160];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        lineno++;
        snprintf(origin, sizeof(origin), "%s:%d", path, lineno);
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(err, errlen, "%s: line longer than %zu characters", origin, sizeof(line) - 2);
            rc = -1;
            break;
        }
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s: expected 'key = value', got '%.60s'", origin, s);
            rc = -1;
            break;
        }
        *eq = '\0';
        rc = cfg_set(cfg, trim(s), trim(eq + 1), origin, err, errlen);
    }
    fclose(f);
    return rc;
}

/* LOYALTY_ + key with every non-alphanumeric character as '_', upper-cased. */
static void env_name(const char *key, char *out, size_t outlen)
{
    size_t n = (size_t)snprintf(out, outlen, "LOYALTY_");
    for (const char *p = key; *p && n + 1 < outlen; p++)
        out[n++] = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
    out[n] = '\0';
}

static const char *env_lookup(char *const *envp, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; envp && envp[i]; i++)
        if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=')
            return envp[i] + n + 1;
    return NULL;
}

/* Variables the processor reads outside the table: test switches (docs/ARCHITECTURE.md). */
static const char *const env_switches[] = {"LOYALTY_CRASH_POINT", "LOYALTY_CRASH_AFTER",
                                           "LOYALTY_ABORT_EVERY", "LOYALTY_FATAL_AT",
                                           "LOYALTY_FATAL_TIMES", "LOYALTY_FATAL_CLIENT"};

/* A LOYALTY_* variable that names no setting is most likely a typo of one: say so,
 * with the nearest name, instead of ignoring it silently. */
static void warn_unknown_env(char *const *envp)
{
    char name[160], known[160];
    for (size_t i = 0; envp && envp[i]; i++) {
        const char *eq = strchr(envp[i], '=');
        size_t n = eq ? (size_t)(eq - envp[i]) : strlen(envp[i]);
        if (strncmp(envp[i], "LOYALTY_", 8) != 0 || strncmp(envp[i], "LOYALTY_KAFKA_", 14) == 0 ||
            n >= sizeof(name))
            continue;
        memcpy(name, envp[i], n);
        name[n] = '\0';
        bool found = false;
        for (size_t k = 0; k < sizeof(env_switches) / sizeof(env_switches[0]) && !found; k++)
            found = strcmp(name, env_switches[k]) == 0;
        const char *best = NULL;
        size_t best_d = 4; /* suggest only close matches */
        for (size_t k = 0; k < N_SETTINGS && !found; k++) {
            env_name(settings[k].name, known, sizeof(known));
            size_t d = edit_distance(name, known);
            found = d == 0;
            if (d < best_d) {
                best_d = d;
                best = settings[k].name;
            }
        }
        if (found)
            continue;
        if (best) {
            env_name(best, known, sizeof(known));
            log_warn("cfg", "unknown environment variable ignored", "name=%s did_you_mean=%s", name,
                     known);
        } else {
            log_warn("cfg", "unknown environment variable ignored", "name=%s", name);
        }
    }
}

static int load_env(cfg_t *cfg, char *const *envp, char *err, size_t errlen)
{
    char name[160], origin[200];
    for (size_t i = 0; i < N_SETTINGS; i++) {
        env_name(settings[i].name, name, sizeof(name));
        const char *v = env_lookup(envp, name);
        snprintf(origin, sizeof(origin), "environment %s", name);
        if (v && cfg_set(cfg, settings[i].name, v, origin, err, errlen) != 0)
            return -1;
    }
    warn_unknown_env(envp);
    for (size_t i = 0; envp && envp[i]; i++) { /* LOYALTY_KAFKA_X_Y=v -> kafka.x.y */
        if (strncmp(envp[i], "LOYALTY_KAFKA_", 14) != 0)
            continue;
        const char *eq = strchr(envp[i], '=');
        if (!eq || eq == envp[i] + 14)
            continue;
        char key[160] = "kafka.";
        size_t n = 6;
        for (const char *p = envp[i] + 14; p < eq && n + 1 < sizeof(key); p++)
            key[n++] = *p == '_' ? '.' : (char)tolower((unsigned char)*p);
        key[n] = '\0';
        snprintf(origin, sizeof(origin), "environment %.*s", (int)(eq - envp[i]), envp[i]);
        if (cfg_set(cfg, key, eq + 1, origin, err, errlen) != 0)
            return -1;
    }
    return 0;
}

/* The state-query listener: off, or on an address of its own, loopback-only unless it
 * has a token (whose file must be readable now, not at the first query). */
static int validate_http(const cfg_t *cfg, char *err, size_t errlen)
{
    if (cfg->http_query_port < 0)
        return 0;
    if (cfg->http_port < 0) {
        snprintf(err, errlen,
                 "key 'http.query.port': state queries need the HTTP server, "
                 "but http.port is -1");
        return -1;
    }
    if (cfg->http_query_port != 0 && cfg->http_query_port == cfg->http_port) {
        snprintf(err, errlen,
                 "key 'http.query.port': %lld is also http.port (the probe "
                 "listener); state queries need a port of their own",
                 (long long)cfg->http_query_port);
        return -1;
    }
    if (!http_is_address(cfg->http_query_bind)) {
        snprintf(err, errlen, "key 'http.query.bind': '%s' is not a numeric IPv4 or IPv6 address",
                 cfg->http_query_bind);
        return -1;
    }
    if (!*cfg->http_query_token_file) {
        if (http_is_loopback(cfg->http_query_bind))
            return 0;
        snprintf(err, errlen,
                 "key 'http.query.token.file' is required: the state-query listener binds %s, "
                 "which is not a loopback address, and customer data needs a bearer token",
                 cfg->http_query_bind);
        return -1;
    }
    char terr[256];
    char *tok = http_token_read(cfg->http_query_token_file, terr, sizeof(terr));
    if (!tok) {
        snprintf(err, errlen, "key 'http.query.token.file': %s", terr);
        return -1;
    }
    explicit_bzero(tok, strlen(tok));
    free(tok);
    return 0;
}

int cfg_validate(const cfg_t *cfg, char *err, size_t errlen)
{
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const setting_t *s = &settings[i];
        if (s->type != T_STR || s->def)
            continue;
        const char *v = *(char *const *)((const char *)cfg + s->off);
        if (!v || !*v) {
            char name[160];
            env_name(s->name, name, sizeof(name));
            snprintf(err, errlen,
                     "key '%s' is required: set it in the configuration file or "
                     "as the environment variable %s",
                     s->name, name);
            return -1;
        }
    }
    if (!*cfg->application_id || !*cfg->instance_id) {
        snprintf(err, errlen, "key '%s' must not be empty",
                 *cfg->application_id ? "instance.id" : "application.id");
        return -1;
    }
    const char *topics[ENG_OUT_KIND_COUNT + 2];
    size_t nt = 0;
    topics[nt++] = cfg->topic_input;
    topics[nt++] = cfg->topic_dead_letter;
    for (int k = 0; k < ENG_OUT_KIND_COUNT; k++)
        topics[nt++] = cfg->topic_out[k];
    for (size_t i = 0; i < nt; i++) {
        if (!*topics[i]) {
            snprintf(err, errlen, "a topic name is empty (every topic.* key needs a name)");
            return -1;
        }
        if (i > 0 && strcmp(topics[i], cfg->topic_input) == 0) {
            snprintf(err, errlen, "topic '%s' is both the input and an output topic", topics[i]);
            return -1;
        }
    }
    return validate_http(cfg, err, errlen);
}

int cfg_load(cfg_t *cfg, const char *path, char *const *envp, char *err, size_t errlen)
{
    if (path && load_file(cfg, path, err, errlen) != 0)
        return -1;
    if (load_env(cfg, envp, err, errlen) != 0)
        return -1;
    return cfg_validate(cfg, err, errlen);
}

int cfg_apply_kafka(const cfg_t *cfg, struct rd_kafka_conf_s *conf, char *err, size_t errlen)
{
    char rderr[512];
    if (rd_kafka_conf_set(conf, "bootstrap.servers", cfg->bootstrap_servers, rderr,
                          sizeof(rderr)) != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "key 'bootstrap.servers': %s", rderr);
        return -1;
    }
    for (size_t i = 0; i < cfg->n_kafka; i++) {
        if (rd_kafka_conf_set(conf, cfg->kafka[i].key, cfg->kafka[i].value, rderr, sizeof(rderr)) !=
            RD_KAFKA_CONF_OK) {
            snprintf(err, errlen, "%s: key 'kafka.%s': librdkafka: %s", cfg->kafka[i].origin,
                     cfg->kafka[i].key, rderr);
            return -1;
        }
    }
    return 0;
}

static int apply_kafka_cb(void *ctx, struct rd_kafka_conf_s *conf, char *err, size_t errlen)
{
    return cfg_apply_kafka(ctx, conf, err, errlen);
}

http_query_listener_t cfg_http_queries(const cfg_t *cfg)
{
    return (http_query_listener_t){
        .enabled = cfg->http_query_port >= 0,
        .bind_address = cfg->http_query_bind,
        .port = (uint16_t)(cfg->http_query_port > 0 ? cfg->http_query_port : 0),
        .token_file = cfg->http_query_token_file,
        .max_connections = (unsigned)cfg->http_query_max_connections,
        .max_per_client = (unsigned)cfg->http_query_max_connections_per_client,
        .timeout_s = (unsigned)((cfg->http_query_idle_timeout_ms + 999) / 1000)};
}

void cfg_pipe_conf(const cfg_t *cfg, const char *const *topics_out, size_t n_topics_out,
                   pipe_conf_t *out)
{
    *out = (pipe_conf_t){.application_id = cfg->application_id,
                         .instance_id = cfg->instance_id,
                         .static_membership = cfg->group_static_membership,
                         .topic_input = cfg->topic_input,
                         .topic_changelog = cfg->topic_changelog,
                         .topics_out = topics_out,
                         .n_topics_out = n_topics_out,
                         .topics_create = cfg->topics_create,
                         .topics_partitions = (int)cfg->topics_partitions,
                         .topics_replication_factor = (int)cfg->topics_replication_factor,
                         .commit_interval_ms = cfg->commit_interval_ms,
                         .commit_max_records = cfg->commit_max_records,
                         .timers_interval_ms = cfg->timers_interval_ms,
                         .kafka_conf = apply_kafka_cb,
                         .kafka_conf_ctx = (void *)cfg,
                         .commit_max_bytes = cfg->commit_max_bytes};
}

int cfg_check_kafka(const cfg_t *cfg, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int rc = cfg_apply_kafka(cfg, conf, err, errlen);
    rd_kafka_conf_destroy(conf);
    return rc;
}

const char *cfg_changelog_topic(const cfg_t *cfg, char *buf, size_t buflen)
{
    if (cfg->topic_changelog && *cfg->topic_changelog)
        return cfg->topic_changelog;
    snprintf(buf, buflen, "%s-changelog", cfg->application_id);
    return buf;
}

static const char *type_name(const setting_t *s)
{
    switch (s->type) {
    case T_STR:
        return "string";
    case T_INT:
        return "integer";
    case T_BOOL:
        return "true|false";
    case T_ENUM:
        return s->choices;
    case T_BYTES:
        return "size";
    }
    return "?";
}

void cfg_print_help(FILE *out)
{
    fprintf(out, "Configuration keys (file: key = value; environment: LOYALTY_<KEY>):\n\n");
    char name[160];
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const setting_t *s = &settings[i];
        env_name(s->name, name, sizeof(name));
        fprintf(out, "  %s (%s, default: %s; env %s)\n      %s\n", s->name, type_name(s),
                s->def ? (*s->def ? s->def : "\"\"") : "required", name, s->desc);
    }
    fprintf(out, "  kafka.<property>\n      Passed to librdkafka as <property> "
                 "(env LOYALTY_KAFKA_<PROPERTY> with '.' as '_').\n");
}

void cfg_print_markdown(FILE *out)
{
    fprintf(out,
            "# Configuration\n\n"
            "<!-- Generated by `loyalty-stream run --help-config=markdown` from the table in\n"
            "     processor/ops/cfg.c; a test fails when this file and the table disagree. -->\n\n"
            "`loyalty-stream run --config FILE` reads `key = value` lines (`#` starts a "
            "comment).\nEvery key can be overridden by an environment variable: `LOYALTY_` "
            "and the key\nupper-cased with every other character as `_` "
            "(`bootstrap.servers` → `LOYALTY_BOOTSTRAP_SERVERS`).\nAn unknown key, a bad "
            "value or a missing required key stops start-up with the file and line; a\n"
            "`LOYALTY_` variable that names no key is logged as a warning with the nearest "
            "key.\n\n"
            "| key | type | default | environment | description |\n"
            "|---|---|---|---|---|\n");
    char name[160], type[128];
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const setting_t *s = &settings[i];
        env_name(s->name, name, sizeof(name));
        size_t n = 0; /* a '|' inside a table cell must be escaped */
        for (const char *p = type_name(s); *p && n + 2 < sizeof(type); p++) {
            if (*p == '|')
                type[n++] = '\\';
            type[n++] = *p;
        }
        type[n] = '\0';
        fprintf(out, "| `%s` | %s | %s%s%s | `%s` | %s |\n", s->name, type, s->def ? "`" : "",
                s->def ? (*s->def ? s->def : "\"\"") : "**required**", s->def ? "`" : "", name,
                s->desc);
    }
    fprintf(out, "\n## librdkafka settings\n\n"
                 "Keys under `kafka.` are passed to librdkafka without the prefix "
                 "(`kafka.security.protocol = SASL_SSL`),\nfor the consumer, the producer and "
                 "the admin client alike. From the environment,\n"
                 "`LOYALTY_KAFKA_SASL_USERNAME` sets `kafka.sasl.username`. librdkafka "
                 "rejects an unknown\nproperty or a bad value at start-up; the error names "
                 "the key and its line.\nThe processor sets these itself and refuses them "
                 "here: `bootstrap.servers`, `group.id`,\n`transactional.id`, "
                 "`enable.auto.commit`, `isolation.level`, `enable.idempotence`.\n");
    fprintf(out, "It also sets, over any `kafka.` value: the producer's `acks` (all, as "
                 "exactly-once\nrequires) and `partitioner` (murmur2_random, the Java clients' "
                 "partitioner), the input\nconsumer's `enable.auto.offset.store` and "
                 "`auto.offset.reset` (earliest), and the restore\nconsumer's "
                 "`queued.min.messages` and `fetch.wait.max.ms` (docs/KAFKA.md).\n"
                 "Its own defaults, which `kafka.` overrides:\n\n"
                 "| librdkafka key | default here (librdkafka's) | why |\n|---|---|---|\n"
                 "| `linger.ms` | `" PIPE_DEFAULT_LINGER_MS
                 "` (5) | A commit first waits for the records the producer still holds, so the "
                 "longer the linger, the more of each transaction goes out only at its commit and "
                 "the later its outputs are visible: at 8,000 events/s, p99 latency 160 ms at 100 "
                 "against 124 ms at 25 and 121 ms at 5, with the same CPU per event and a higher "
                 "rate than at 100 (bench/RESULTS.md, \"Peer\", H10). At 25 the producer sends "
                 "about four times per transaction (default `commit.interval.ms`). The value "
                 "in use is logged with `pipeline ready`. |\n"
                 "| `queued.min.messages`, input consumer | 20000 with librdkafka 2.2 or newer; "
                 "librdkafka's (100000) with 2.0 and 2.1 | The input records the consumer "
                 "fetches ahead. librdkafka 2.2 and newer fetch again `fetch.queue.backoff.ms` "
                 "after the queue was full, so a small queue keeps up: 20000 held 100,000 "
                 "events/s with about 20 MiB less peak memory (measured with librdkafka 2.8.0: "
                 "bench/RESULTS.md, \"Peer\", H14). "
                 "2.0 and 2.1 wait up to a second instead, so the queue must hold a second of "
                 "input (docs/KAFKA.md). Both values in use, and the librdkafka version, are "
                 "logged with `pipeline ready`. |\n"
                 "| `fetch.queue.backoff.ms`, input consumer | 5 with librdkafka 2.2 or newer "
                 "(1000); 2.0 and 2.1 do not have it | See `queued.min.messages`. |\n");
}

void cfg_destroy(cfg_t *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < N_SETTINGS; i++)
        if (settings[i].type == T_STR || enum_as_string(&settings[i]))
            free(*(char **)((char *)cfg + settings[i].off));
    for (size_t i = 0; i < cfg->n_kafka; i++) {
        free(cfg->kafka[i].key);
        free(cfg->kafka[i].value);
    }
    free(cfg->kafka);
    free(cfg);
}
