/*
 * avtool: `decode` and `encode` (see avtool.h). Both are thin shells over the codec: the
 * codec decides what a record means, this file only moves bytes between files, Kafka and
 * the terminal. Records that fail are reported with the same dead-letter reasons the
 * pipeline uses, so a user can see why the processor would dead-letter a record.
 */
#include "avtool.h"

#include "avro_codec.h"
#include "eng_json.h"
#include "frame.h"
#include "keypart.h"
#include "sr.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct tool_opts {
    const char *registry;
    const char *bootstrap;
    const char *topic;
    const char *output;
    const char *split;
    const char *type;
    const char *input;
    long count;              /* decode from Kafka: stop after this many records (0 = at the end) */
    int engine_json;         /* the engine's JSON form (docs/EVENTS-JSON.md) instead of Avro JSON */
    const char *currency;    /* encode --engine-json: currency of events that name none */
    const char *partitioner; /* encode --bootstrap: librdkafka's partitioner (NULL = murmur2) */
    const char *kafka[64];   /* -X key=value: librdkafka settings (security, tuning) */
    size_t n_kafka;
} tool_opts_t;

/* The Kafka client settings of a tool: bootstrap.servers and every -X key=value. */
static rd_kafka_conf_t *tool_kafka_conf(const tool_opts_t *o, const char *tool)
{
    char err[512], kv[1024];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", o->bootstrap, err, sizeof(err))) {
        fprintf(stderr, "loyalty-stream %s: %s\n", tool, err);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    for (size_t i = 0; i < o->n_kafka; i++) {
        snprintf(kv, sizeof(kv), "%s", o->kafka[i]);
        char *eq = strchr(kv, '=');
        if (eq)
            *eq = '\0';
        if (!eq || rd_kafka_conf_set(conf, kv, eq + 1, err, sizeof(err))) {
            fprintf(stderr, "loyalty-stream %s: -X %s: %s\n", tool, o->kafka[i],
                    eq ? err : "expected key=value");
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    return conf;
}

typedef struct tool {
    sr_client_t *sr;
    avro_codec_t *codec;
    int engine_json;
    const char *currency;
} tool_t;

static int tool_open(tool_t *t, const tool_opts_t *o)
{
    char err[512];
    avro_codec_config_t cfg;
    memset(t, 0, sizeof(*t));
    avro_codec_config_defaults(&cfg);
    if (o->registry) {
        t->sr = sr_client_new(o->registry, 5000, err, sizeof(err));
        if (!t->sr) {
            fprintf(stderr, "loyalty-stream: %s\n", err);
            return -1;
        }
        cfg.registry = t->sr;
    }
    t->codec = avro_codec_new(&cfg, err, sizeof(err));
    if (!t->codec) {
        fprintf(stderr, "loyalty-stream: %s\n", err);
        sr_client_destroy(t->sr);
        return -1;
    }
    return 0;
}

static void tool_close(tool_t *t)
{
    avro_codec_destroy(t->codec);
    sr_client_destroy(t->sr);
}

static int parse_opts(int argc, char **argv, tool_opts_t *o, const char *usage)
{
    static const struct option opts[] = {
        {"registry", required_argument, NULL, 'r'},    {"bootstrap", required_argument, NULL, 'b'},
        {"topic", required_argument, NULL, 't'},       {"output", required_argument, NULL, 'o'},
        {"split", required_argument, NULL, 's'},       {"type", required_argument, NULL, 'T'},
        {"count", required_argument, NULL, 'c'},       {"help", no_argument, NULL, 'h'},
        {"engine-json", no_argument, NULL, 'E'},       {"currency", required_argument, NULL, 'C'},
        {"partitioner", required_argument, NULL, 'H'}, {NULL, 0, NULL, 0}};
    int c;
    memset(o, 0, sizeof(*o));
    while ((c = getopt_long(argc, argv, "hX:", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            o->registry = optarg;
            break;
        case 'b':
            o->bootstrap = optarg;
            break;
        case 't':
            o->topic = optarg;
            break;
        case 'o':
            o->output = optarg;
            break;
        case 's':
            o->split = optarg;
            break;
        case 'T':
            o->type = optarg;
            break;
        case 'c':
            o->count = strtol(optarg, NULL, 10);
            break;
        case 'E':
            o->engine_json = 1;
            break;
        case 'C':
            o->currency = optarg;
            break;
        case 'H':
            o->partitioner = optarg;
            break;
        case 'X':
            if (o->n_kafka == sizeof(o->kafka) / sizeof(o->kafka[0])) {
                fprintf(stderr, "loyalty-stream: too many -X settings\n");
                return 2;
            }
            o->kafka[o->n_kafka++] = optarg;
            break;
        case 'h':
            printf("%s", usage);
            return 1;
        default:
            fprintf(stderr, "%s", usage);
            return 2;
        }
    }
    if (optind < argc)
        o->input = argv[optind++];
    if (optind < argc || (!!o->bootstrap != !!o->topic) ||
        ((o->partitioner || o->n_kafka) && !o->bootstrap)) {
        fprintf(stderr, "%s", usage);
        return 2;
    }
    return 0;
}

/* ------------------------------------------------------------------ decode */

static const char decode_usage[] =
    "usage: loyalty-stream decode [--registry URL] [--engine-json]\n"
    "       [FILE | --bootstrap HOST:PORT --topic T [--count N] [-X KEY=VALUE]...]\n"
    "Print framed Avro records as JSON lines. FILE is a framed-record file (4-byte\n"
    "big-endian length + record), '-' or none for stdin. From a topic, each line also has\n"
    "the record's topic, partition, offset, key and headers (a dead letter's dlq.* reason).\n"
    "--engine-json prints events, outputs and states in the engine's JSON form\n"
    "(docs/EVENTS-JSON.md), the form `replay` reads and writes, so a topic can be replayed\n"
    "or compared with replay. -X passes a librdkafka setting (security, tuning).\n";

/* The record as the engine's JSON (one line, no envelope), or NULL with r/msg set. */
static char *engine_line(tool_t *t, const void *rec, size_t len, dlq_reason_t *r, char *msg,
                         size_t msglen)
{
    char *json = NULL, *line = NULL;
    int type;
    int32_t id;
    /* the writer's record name says which struct it decodes into */
    *r = avro_codec_to_json(t->codec, rec, len, &json, &type, &id, msg, msglen);
    free(json);
    if (*r != DLQ_OK)
        return NULL;
    json_t *obj = NULL;
    if (type == AVRO_CODEC_TYPE_INPUT) {
        eng_event_t *ev = malloc(sizeof(*ev));
        if (ev &&
            (*r = avro_codec_decode_event(t->codec, NULL, 0, rec, len, ev, msg, msglen)) == DLQ_OK)
            obj = eng_json_event(ev);
        free(ev);
    } else if (type == AVRO_CODEC_TYPE_STATE) {
        eng_state_t *st = malloc(sizeof(*st));
        if (st && (*r = avro_codec_decode_state(t->codec, rec, len, st, msg, msglen)) == DLQ_OK)
            obj = eng_json_state(st);
        free(st);
    } else if (type >= 0) {
        eng_output_t o;
        if ((*r = avro_codec_decode_output(t->codec, rec, len, &o, msg, msglen)) == DLQ_OK)
            obj = eng_json_output(&o);
    } else {
        *r = DLQ_INCOMPATIBLE_SCHEMA;
        snprintf(msg, msglen, "schema id %d is none of our record types", (int)id);
    }
    if (obj) {
        line = eng_json_line(obj);
        json_decref(obj);
    }
    return line;
}

/* Print one record; extra holds topic/partition/offset/key (may be NULL). Returns 0/-1. */
static int print_record(tool_t *t, const void *rec, size_t len, json_t *extra)
{
    if (t->engine_json) {
        char msg[512] = "";
        dlq_reason_t r;
        char *line = engine_line(t, rec, len, &r, msg, sizeof(msg));
        if (line) {
            fputs(line, stdout); /* ends with '\n' */
            free(line);
            json_decref(extra);
            return 0;
        }
        json_t *e = extra ? extra : json_object();
        json_object_set_new(e, "error", json_string(dlq_reason_name(r)));
        json_object_set_new(e, "message", json_string(msg));
        char *text = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(e);
        if (text) {
            puts(text);
            free(text);
        }
        return -1;
    }
    char *json = NULL, msg[512] = "";
    int type;
    int32_t id = -1;
    json_t *out = extra ? extra : json_object();
    dlq_reason_t r = avro_codec_to_json(t->codec, rec, len, &json, &type, &id, msg, sizeof(msg));
    json_t *value = json ? json_loads(json, 0, NULL) : NULL;
    free(json);
    if (r == DLQ_OK && value) {
        json_object_set_new(out, "schema_id", json_integer(id));
        json_object_set_new(out, "type",
                            json_string(type >= 0 ? avro_codec_type_name(type) : "unknown"));
        json_object_set_new(out, "value", value);
    } else {
        json_decref(value);
        json_object_set_new(out, "error", json_string(dlq_reason_name(r)));
        json_object_set_new(out, "message", json_string(msg));
    }
    char *line = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(out);
    if (line) {
        puts(line);
        free(line);
    }
    return r == DLQ_OK ? 0 : -1;
}

static int decode_file(tool_t *t, const char *path)
{
    FILE *in = (!path || strcmp(path, "-") == 0) ? stdin : fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t cap = 0, len = 0;
    char err[256];
    int rc = 0, got;
    if (!in) {
        fprintf(stderr, "loyalty-stream decode: cannot open %s: %s\n", path, strerror(errno));
        return 1;
    }
    while ((got = frame_file_read(in, &buf, &cap, &len, err, sizeof(err))) == 1)
        if (print_record(t, buf, len, NULL) != 0)
            rc = 1;
    if (got < 0) {
        fprintf(stderr, "loyalty-stream decode: %s: %s\n", path ? path : "stdin", err);
        rc = 1;
    }
    free(buf);
    if (in != stdin)
        fclose(in);
    return rc;
}

/* The metadata of @p topic, waiting up to @p wait_ms for a topic that does not exist yet
 * (just created by someone else). NULL with a message naming the topic otherwise. */
static const struct rd_kafka_metadata *topic_wait(rd_kafka_t *rk, const char *tool,
                                                  const char *topic, int wait_ms)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int waited = 0;; waited += 500) {
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        e = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
        rd_kafka_topic_destroy(rkt);
        if (!e && md->topic_cnt == 1 && !md->topics[0].err)
            return md;
        if (!e) {
            e = md->topics[0].err;
            rd_kafka_metadata_destroy(md);
        }
        if (e != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || waited >= wait_ms)
            break;
        usleep(500 * 1000);
    }
    if (e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
        fprintf(stderr,
                "loyalty-stream %s: topic %s does not exist (waited %d s): create it first "
                "(for example kafka-topics.sh --create --topic %s --partitions 6)\n",
                tool, topic, wait_ms / 1000, topic);
    else
        fprintf(stderr, "loyalty-stream %s: topic %s: %s\n", tool, topic, rd_kafka_err2str(e));
    return NULL;
}

/* A consumer assigned to every partition of topic from the beginning, reporting EOF. */
static rd_kafka_t *topic_consumer(const tool_opts_t *o, int *n_parts)
{
    char err[512];
    rd_kafka_conf_t *conf = tool_kafka_conf(o, "decode");
    if (!conf)
        return NULL;
    if (rd_kafka_conf_set(conf, "group.id", "loyalty-stream-decode", err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err))) {
        fprintf(stderr, "loyalty-stream decode: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "loyalty-stream decode: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    const struct rd_kafka_metadata *md = topic_wait(rk, "decode", o->topic, 0);
    if (!md) {
        rd_kafka_destroy(rk);
        return NULL;
    }
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    *n_parts = md->topics[0].partition_cnt;
    for (int p = 0; p < *n_parts; p++)
        rd_kafka_topic_partition_list_add(parts, o->topic, md->topics[0].partitions[p].id)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_metadata_destroy(md);
    rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    return rk;
}

/* The record's headers (e.g. a dead letter's dlq.*) as "headers": {name: value}; a value
 * that is not UTF-8 text is shown as "0x" and hex. */
static void add_headers(json_t *out, rd_kafka_message_t *m)
{
    rd_kafka_headers_t *hdrs = NULL;
    if (!out || rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR || !hdrs)
        return;
    json_t *h = json_object();
    const char *name;
    const void *val;
    size_t size;
    for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == 0; i++) {
        json_t *v = val ? json_stringn(val, size) : json_null();
        if (!v) { /* not UTF-8 */
            char *hex = malloc(2 * size + 3);
            if (hex) {
                strcpy(hex, "0x");
                for (size_t k = 0; k < size; k++)
                    sprintf(hex + 2 + 2 * k, "%02x", ((const unsigned char *)val)[k]);
                v = json_string(hex);
                free(hex);
            }
        }
        if (v)
            json_object_set_new(h, name, v);
    }
    json_object_set_new(out, "headers", h);
}

static int decode_topic(tool_t *t, const tool_opts_t *o)
{
    int n_parts = 0, eofs = 0, rc = 0;
    long seen = 0;
    rd_kafka_t *rk = topic_consumer(o, &n_parts);
    if (!rk)
        return 1;
    while (eofs < n_parts && (o->count <= 0 || seen < o->count)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 10000);
        if (!m) {
            fprintf(stderr, "loyalty-stream decode: no record for 10 s, stopping\n");
            break;
        }
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            eofs++;
        } else if (m->err) {
            fprintf(stderr, "loyalty-stream decode: %s\n", rd_kafka_message_errstr(m));
            rc = 1;
        } else {
            json_t *extra = json_pack("{s:s,s:i,s:I,s:s#}", "topic", o->topic, "partition",
                                      (int)m->partition, "offset", (json_int_t)m->offset, "key",
                                      m->key ? (const char *)m->key : "", (int)m->key_len);
            add_headers(extra, m);
            if (print_record(t, m->payload, m->len, extra) != 0)
                rc = 1;
            seen++;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}

int decode_main(int argc, char **argv)
{
    tool_opts_t o;
    tool_t t;
    int rc = parse_opts(argc, argv, &o, decode_usage);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (o.partitioner) { /* encode's option: a reader has nothing to partition */
        fprintf(stderr, "%s", decode_usage);
        return 2;
    }
    if (tool_open(&t, &o) != 0)
        return 1;
    t.engine_json = o.engine_json;
    rc = o.bootstrap ? decode_topic(&t, &o) : decode_file(&t, o.input);
    tool_close(&t);
    return rc;
}

/* ------------------------------------------------------------------ encode */

static const char encode_usage[] =
    "usage: loyalty-stream encode (--type T | --engine-json [--currency CODE])\n"
    "       [--registry URL]\n"
    "       [--output FILE | --split DIR | --bootstrap HOST:PORT --topic T\n"
    "       [--partitioner NAME] [-X KEY=VALUE]...] [FILE]\n"
    "Turn JSON lines (the Avro JSON encoding of type T, as decode prints a value) into\n"
    "framed Avro records. T: InputEvent, TierChanged, BonusEarned, ExpiryWarning,\n"
    "PointsExpired, PointsReversed, PointsRedeemed, RedemptionRejected, RewardEarned,\n"
    "TierWillDowngrade, TierProgress, CustomerState. Output: a framed-record file (stdout by\n"
    "default), one file per record in DIR for `kcat -P -t TOPIC DIR/*` (--split), or\n"
    "records produced to Kafka keyed by customer_id, the partition chosen by murmur2 as the\n"
    "Java clients do (docs/SCHEMAS.md), or by librdkafka's --partitioner NAME (e.g.\n"
    "consistent_random; `replay --partitioner` takes the same names). --engine-json reads\n"
    "input events in the engine's JSON form (docs/EVENTS-JSON.md, what `replay` reads)\n"
    "instead; the Avro contract requires a currency, so --currency gives it to events that\n"
    "omit it. -X passes a librdkafka setting (security.protocol, sasl.*, ssl.*, ...).\n"
    "Every record is delivered or the command exits 1 with librdkafka's reason; a topic\n"
    "that does not exist is waited for 5 s, then named in the error.\n";

typedef struct sink {
    FILE *file;
    const char *dir;
    rd_kafka_t *rk;
    const char *topic;
    long n;
    long failed;         /* records whose delivery failed (delivery reports) */
    char first_err[256]; /* the reason of the first failure */
} sink_t;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    sink_t *s = opaque;
    if (!m->err)
        return;
    if (s->failed++ == 0)
        snprintf(s->first_err, sizeof(s->first_err), "%s", rd_kafka_err2str(m->err));
}

static int sink_open(sink_t *s, const tool_opts_t *o)
{
    char err[512];
    memset(s, 0, sizeof(*s));
    if (o->bootstrap) {
        rd_kafka_conf_t *conf = tool_kafka_conf(o, "encode");
        if (!conf)
            return -1;
        /* The key is the customer id; its partition follows the contract's convention
         * unless the topic's other producers follow another (--partitioner). Idempotence:
         * retries after a broker hiccup neither lose nor repeat records. */
        rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
        rd_kafka_conf_set_opaque(conf, s);
        if (rd_kafka_conf_set(conf, "partitioner",
                              o->partitioner ? o->partitioner : KEYPART_RDKAFKA, err,
                              sizeof(err)) ||
            rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof(err)) ||
            !(s->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err)))) {
            fprintf(stderr, "loyalty-stream encode: %s\n", err);
            if (!s->rk)
                rd_kafka_conf_destroy(conf);
            return -1;
        }
        s->topic = o->topic;
        const struct rd_kafka_metadata *md = topic_wait(s->rk, "encode", o->topic, 5000);
        if (!md) {
            rd_kafka_destroy(s->rk);
            s->rk = NULL;
            return -1;
        }
        rd_kafka_metadata_destroy(md);
    } else if (o->split) {
        if (mkdir(o->split, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "loyalty-stream encode: mkdir %s: %s\n", o->split, strerror(errno));
            return -1;
        }
        s->dir = o->split;
    } else {
        s->file = (!o->output || strcmp(o->output, "-") == 0) ? stdout : fopen(o->output, "wb");
        if (!s->file) {
            fprintf(stderr, "loyalty-stream encode: cannot open %s: %s\n", o->output,
                    strerror(errno));
            return -1;
        }
    }
    return 0;
}

static int sink_put(sink_t *s, const uint8_t *rec, size_t len, const char *key)
{
    s->n++;
    if (s->rk) {
        /* A full local queue waits for deliveries to make room (a minute at most, with
         * the brokers taking nothing); any other refusal stops with librdkafka's reason. */
        for (int waited = 0;; waited += 100) {
            rd_kafka_resp_err_t e = rd_kafka_producev(
                s->rk, RD_KAFKA_V_TOPIC(s->topic), RD_KAFKA_V_VALUE((void *)rec, len),
                RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
                rd_kafka_poll(s->rk, 0);
                return 0;
            }
            if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || waited >= 60000) {
                fprintf(stderr, "loyalty-stream encode: record %ld: %s\n", s->n,
                        rd_kafka_err2str(e));
                return -1;
            }
            rd_kafka_poll(s->rk, 100);
        }
    }
    if (s->dir) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%06ld.avro", s->dir, s->n);
        FILE *f = fopen(path, "wb");
        int ok = f && fwrite(rec, 1, len, f) == len;
        if (f && fclose(f) != 0)
            ok = 0;
        return ok ? 0 : -1;
    }
    return frame_file_write(s->file, rec, len);
}

static int sink_close(sink_t *s)
{
    int rc = 0;
    if (s->rk) {
        if (rd_kafka_flush(s->rk, 60000) != 0 || rd_kafka_outq_len(s->rk) > 0) {
            fprintf(stderr, "loyalty-stream encode: %d records not delivered within 60 s\n",
                    rd_kafka_outq_len(s->rk));
            rc = -1;
        }
        if (s->failed > 0) {
            fprintf(stderr, "loyalty-stream encode: %ld of %ld records were not delivered: %s\n",
                    s->failed, s->n, s->first_err);
            rc = -1;
        }
        rd_kafka_destroy(s->rk);
    }
    if (s->file == stdout) {
        if (fflush(stdout) != 0)
            rc = -1;
    } else if (s->file && fclose(s->file) != 0) {
        rc = -1;
    }
    return rc;
}

/* One JSON line to a framed record in the codec's buffer: the Avro JSON encoding of type
 * (or a whole `decode` line), or with --engine-json an event in the engine's JSON form. */
static int line_to_record(tool_t *t, int type, const char *line, const uint8_t **rec, size_t *len,
                          char *err, size_t errlen)
{
    if (t->engine_json) {
        eng_event_t *ev = malloc(sizeof(*ev));
        int rc = !ev || eng_json_parse_event(line, strlen(line), ev, err, errlen) != 0;
        if (!rc && !ev->currency[0] && t->currency) /* the engine's form may omit it */
            snprintf(ev->currency, sizeof(ev->currency), "%s", t->currency);
        rc = rc || avro_codec_encode_event(t->codec, ev, rec, len, err, errlen) != 0;
        free(ev);
        return rc ? -1 : 0;
    }
    /* A line as `decode` prints it ({"schema_id", "type", "value"}) encodes its value. */
    json_t *env = json_loads(line, JSON_ALLOW_NUL, NULL);
    json_t *value = json_object_get(env, "value");
    char *inner = (value && json_object_get(env, "schema_id"))
                      ? json_dumps(value, JSON_COMPACT | JSON_PRESERVE_ORDER)
                      : NULL;
    json_decref(env);
    int rc = avro_codec_from_json(t->codec, type, inner ? inner : line, rec, len, err, errlen);
    free(inner);
    return rc;
}

/* Encode one JSON line, then decode it back: a record the processor would dead-letter is
 * refused here (with the same reason) instead of being produced. */
static int encode_line(tool_t *t, int type, const char *line, sink_t *s, long lineno)
{
    const uint8_t *rec;
    size_t len;
    char err[512];
    if (line_to_record(t, type, line, &rec, &len, err, sizeof(err)) != 0) {
        fprintf(stderr, "loyalty-stream encode: line %ld: %s\n", lineno, err);
        return -1;
    }
    uint8_t *copy = malloc(len);
    if (!copy)
        return -1;
    memcpy(copy, rec, len);
    dlq_reason_t r = DLQ_OK;
    eng_event_t *ev = NULL;
    eng_output_t out;
    eng_state_t *st = NULL;
    if (type == AVRO_CODEC_TYPE_INPUT && (ev = malloc(sizeof(*ev))))
        r = avro_codec_decode_event(t->codec, NULL, 0, copy, len, ev, err, sizeof(err));
    else if (type == AVRO_CODEC_TYPE_STATE && (st = malloc(sizeof(*st))))
        r = avro_codec_decode_state(t->codec, copy, len, st, err, sizeof(err));
    else if (type < ENG_OUT_KIND_COUNT)
        r = avro_codec_decode_output(t->codec, copy, len, &out, err, sizeof(err));
    int rc = -1;
    if (r != DLQ_OK)
        fprintf(stderr, "loyalty-stream encode: line %ld: would be dead-lettered (%s): %s\n",
                lineno, dlq_reason_name(r), err);
    else {
        const char *key = ev ? ev->customer_id : st ? st->customer_id : out.customer_id;
        rc = sink_put(s, copy, len, key);
        if (rc != 0)
            fprintf(stderr, "loyalty-stream encode: line %ld: cannot write the record\n", lineno);
    }
    free(ev);
    free(st);
    free(copy);
    return rc;
}

int encode_main(int argc, char **argv)
{
    tool_opts_t o;
    tool_t t;
    sink_t s;
    int rc = parse_opts(argc, argv, &o, encode_usage);
    if (rc)
        return rc == 1 ? 0 : rc;
    int type = o.engine_json ? AVRO_CODEC_TYPE_INPUT : o.type ? avro_codec_type_parse(o.type) : -1;
    if (type < 0 || (o.engine_json && o.type && type != avro_codec_type_parse(o.type))) {
        fprintf(stderr, "loyalty-stream encode: --type names no record type\n%s", encode_usage);
        return 2;
    }
    FILE *in = (!o.input || strcmp(o.input, "-") == 0) ? stdin : fopen(o.input, "r");
    if (!in) {
        fprintf(stderr, "loyalty-stream encode: cannot open %s: %s\n", o.input, strerror(errno));
        return 1;
    }
    if (tool_open(&t, &o) != 0) {
        if (in != stdin)
            fclose(in);
        return 1;
    }
    t.engine_json = o.engine_json;
    t.currency = o.currency;
    if (sink_open(&s, &o) != 0) {
        tool_close(&t);
        if (in != stdin)
            fclose(in);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    ssize_t n;
    rc = 0;
    while ((n = getline(&line, &cap, in)) > 0) {
        lineno++;
        if (strspn(line, " \t\r\n") == (size_t)n)
            continue; /* blank line */
        if (encode_line(&t, type, line, &s, lineno) != 0)
            rc = 1;
    }
    free(line);
    if (sink_close(&s) != 0) {
        fprintf(stderr, "loyalty-stream encode: records were not all written\n");
        rc = 1;
    }
    if (in != stdin)
        fclose(in);
    tool_close(&t);
    return rc;
}
