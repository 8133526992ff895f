/*
 * inspect: the `inspect` command (see inspect.h). Output is one JSON object per line.
 *
 * The store keeps values opaque; inspect decodes them as the pipeline writes them (a
 * Confluent-framed CustomerState, avro_codec_decode_state) and prints the engine's JSON
 * form of the state (eng_json_state). A writer schema id this offline tool does not know
 * (a registry id) is read with our own CustomerState schema and said so; a value that
 * still does not decode is printed as base64 with the reason, never hidden.
 */
#include "inspect.h"

#include "avro_codec.h"
#include "eng_json.h"
#include "eng_state.h"
#include "prog.h"
#include "stateview.h"
#include "store.h"
#include "tmr.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_TASKS 4096

/* What the commands share. */
typedef struct inspect {
    store_t *store;
    avro_codec_t *codec; /* NULL: print raw values only */
    eng_state_t *state;  /* decode scratch (large: on the heap) */
    bool raw;            /* --raw: also print the stored bytes */
    const prog_t *prog;  /* --program: add the readable view (tier names, local times) */
} inspect_t;

static void usage(FILE *f)
{
    fprintf(f, "usage: loyalty-stream inspect --state DIR --customer ID [--task N] [--raw]\n"
               "                              [--program FILE]\n"
               "       loyalty-stream inspect --state DIR --summary\n"
               "Read a state store offline (read-only) and print JSON: the customer's state\n"
               "in every task that holds it (or only task N), or a summary of the tasks.\n"
               "--raw adds the stored bytes as base64. --program FILE (the program the\n"
               "processor runs) adds \"view\": the state as a person reads it, with tier\n"
               "names, qualifying periods and times in the program's time zone.\n");
}

static void json_str(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void base64(FILE *f, const unsigned char *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    fputc('"', f);
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        fputc(tab[(v >> 18) & 63], f);
        fputc(tab[(v >> 12) & 63], f);
        fputc(i + 1 < n ? tab[(v >> 6) & 63] : '=', f);
        fputc(i + 2 < n ? tab[v & 63] : '=', f);
    }
    fputc('"', f);
}

static void print_checkpoint(FILE *f, store_task_t *t)
{
    store_checkpoint_t cp;
    char err[512];
    if (store_task_checkpoint(t, &cp, err, sizeof(err)) != 0) {
        fprintf(f, "\"checkpoint\":null");
        fprintf(stderr, "loyalty-stream inspect: %s\n", err);
        return;
    }
    fprintf(f, "\"checkpoint\":{\"next_input_offset\":%lld,\"changelog_offset\":%lld}",
            (long long)cp.next_input_offset, (long long)cp.changelog_offset);
}

static uint32_t frame_id(const char *v, size_t vlen)
{
    if (vlen < 5 || v[0] != 0)
        return 0;
    return ((uint32_t)(unsigned char)v[1] << 24) | ((uint32_t)(unsigned char)v[2] << 16) |
           ((uint32_t)(unsigned char)v[3] << 8) | (unsigned char)v[4];
}

/* Decode @p v into in->state. @returns the JSON line of the state (malloc'd, no newline),
 * or NULL with @p why filled. *assumed is set when our own schema stood in for an
 * unknown writer id. */
static char *decode_state(inspect_t *in, const char *v, size_t vlen, bool *assumed, char *why,
                          size_t whylen)
{
    *assumed = false;
    if (!in->codec) {
        snprintf(why, whylen, "no codec");
        return NULL;
    }
    dlq_reason_t r = avro_codec_decode_state(in->codec, v, vlen, in->state, why, whylen);
    if (r == DLQ_UNKNOWN_SCHEMA_ID && vlen >= 5) {
        /* Offline there is no registry: try our own schema for the writer's, then the
         * older versions' (built-in ids 202, 201), for a store an older release wrote. */
        char *copy = malloc(vlen);
        const uint32_t ids[3] = {(uint32_t)avro_codec_schema_id(in->codec, AVRO_CODEC_TYPE_STATE),
                                 202, 201};
        for (int k = 0; copy && k < 3 && r != DLQ_OK; k++) {
            memcpy(copy, v, vlen);
            copy[1] = (char)(ids[k] >> 24), copy[2] = (char)(ids[k] >> 16);
            copy[3] = (char)(ids[k] >> 8), copy[4] = (char)ids[k];
            r = avro_codec_decode_state(in->codec, copy, vlen, in->state, why, whylen);
            *assumed = r == DLQ_OK;
        }
        free(copy);
    }
    if (r != DLQ_OK)
        return NULL;
    json_t *o = eng_json_state(in->state);
    char *line = o ? eng_json_line(o) : NULL;
    json_decref(o);
    if (!line) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    line[strcspn(line, "\n")] = '\0';
    return line;
}

/* 0 printed, 1 not in this task, -1 error. */
static int print_customer(inspect_t *in, store_task_t *t, const char *id)
{
    char err[512], *v = NULL, why[512];
    size_t vlen = 0, clen = strlen(id);
    int64_t due;
    int rc = store_get_due(t, id, clen, &v, &vlen, &due, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "loyalty-stream inspect: %s\n", err);
        return -1;
    }
    if (rc == STORE_NOT_FOUND)
        return 1;
    bool assumed;
    char *line = decode_state(in, v, vlen, &assumed, why, sizeof(why));
    printf("{\"task\":%d,\"customer\":", (int)store_task_partition(t));
    json_str(stdout, id, clen);
    if (due != STORE_NO_DUE)
        printf(",\"next_due_ms\":%lld", (long long)due);
    else
        printf(",\"next_due_ms\":null");
    putchar(',');
    print_checkpoint(stdout, t);
    printf(",\"value_length\":%zu", vlen);
    uint32_t sid = frame_id(v, vlen);
    if (sid)
        printf(",\"schema_id\":%u", sid);
    if (line) {
        if (assumed)
            printf(",\"note\":\"writer schema id %u unknown offline: read with our own "
                   "CustomerState schema\"",
                   sid);
        printf(",\"state\":%s", line);
        json_t *view = in->prog ? sview_state(in->prog, in->state) : NULL;
        char *vl = view ? eng_json_line(view) : NULL;
        json_decref(view);
        if (vl) {
            vl[strcspn(vl, "\n")] = '\0';
            printf(",\"view\":%s", vl);
        }
        free(vl);
    } else {
        printf(",\"state\":null,\"decode_error\":");
        json_str(stdout, why, strlen(why));
    }
    if (!line || in->raw) {
        printf(",\"value_base64\":");
        base64(stdout, (const unsigned char *)v, vlen);
    }
    printf("}\n");
    free(line);
    free(v);
    return 0;
}

static int do_customer(inspect_t *in, const char *id, int task)
{
    store_t *s = in->store;
    char err[512];
    int32_t parts[MAX_TASKS];
    size_t n = 0, found = 0;
    store_tasks(s, parts, MAX_TASKS, &n);
    if (n > MAX_TASKS)
        n = MAX_TASKS;
    for (size_t i = 0; i < n; i++) {
        if (task >= 0 && parts[i] != task)
            continue;
        store_task_t *t = store_task_open(s, parts[i], err, sizeof(err));
        if (!t) {
            fprintf(stderr, "loyalty-stream inspect: %s\n", err);
            return 1;
        }
        int rc = print_customer(in, t, id);
        if (rc < 0)
            return 1;
        found += rc == 0;
    }
    if (task >= 0 && !found) {
        bool exists = false;
        for (size_t i = 0; i < n; i++)
            exists |= parts[i] == task;
        if (!exists) {
            fprintf(stderr, "loyalty-stream inspect: state store %s has no task %d\n", store_dir(s),
                    task);
            return 1;
        }
    }
    if (!found) {
        fprintf(stderr, "loyalty-stream inspect: customer '%s' not found in %s (%zu tasks)\n", id,
                store_dir(s), task >= 0 ? (size_t)1 : n);
        return 1;
    }
    return 0;
}

static int do_summary(store_t *s)
{
    char err[512];
    int32_t parts[MAX_TASKS];
    size_t n = 0;
    store_tasks(s, parts, MAX_TASKS, &n);
    if (n > MAX_TASKS)
        n = MAX_TASKS;
    printf("{\"state\":");
    json_str(stdout, store_dir(s), strlen(store_dir(s)));
    printf(",\"format_version\":%d,\"tasks\":[", STORE_FORMAT_VERSION);
    for (size_t i = 0; i < n; i++) {
        store_task_t *t = store_task_open(s, parts[i], err, sizeof(err));
        store_task_stats_t st;
        if (!t || store_task_stats(t, &st, err, sizeof(err)) != 0) {
            printf("]}\n");
            fprintf(stderr, "loyalty-stream inspect: %s\n", err);
            return 1;
        }
        printf("%s{\"task\":%d,", i ? "," : "", (int)parts[i]);
        print_checkpoint(stdout, t);
        printf(",\"customers\":%llu,\"timers\":%llu,\"stale_timer_entries\":%llu,"
               "\"level0_files\":%llu}",
               (unsigned long long)st.customers, (unsigned long long)st.timers,
               (unsigned long long)st.stale_timer_entries, (unsigned long long)st.level0_files);
    }
    printf("]}\n");
    return 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int inspect_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"state", required_argument, NULL, 's'}, {"customer", required_argument, NULL, 'c'},
        {"task", required_argument, NULL, 't'},  {"summary", no_argument, NULL, 'S'},
        {"raw", no_argument, NULL, 'r'},         {"program", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
    const char *dir = NULL, *customer = NULL, *program = NULL;
    int task = -1, summary = 0, raw = 0, c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 's':
            dir = optarg;
            break;
        case 'c':
            customer = optarg;
            break;
        case 'S':
            summary = 1;
            break;
        case 'r':
            raw = 1;
            break;
        case 'p':
            program = optarg;
            break;
        case 't': {
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (errno || *end || v < 0 || v > 1000000) {
                fprintf(stderr,
                        "loyalty-stream inspect: --task wants a partition number, "
                        "got '%s'\n",
                        optarg);
                return 2;
            }
            task = (int)v;
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!dir || optind < argc || (!customer == !summary) || (summary && task >= 0)) {
        usage(stderr);
        return 2;
    }
    char err[8192];
    prog_t *prog = NULL;
    if (program && !(prog = prog_load(program, NULL, err, sizeof(err)))) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    store_config_t cfg;
    store_config_default(&cfg);
    cfg.dir = dir;
    cfg.read_only = true;
    cfg.memory_budget_bytes = 32u * 1024u * 1024u;
    store_t *s = store_new(&cfg, now_ms(), err, sizeof(err));
    if (!s) {
        fprintf(stderr, "loyalty-stream inspect: %s\n", err);
        prog_destroy(prog);
        return 1;
    }
    int rc;
    if (summary) {
        rc = do_summary(s);
    } else {
        inspect_t in = {.store = s, .raw = raw != 0, .prog = prog};
        avro_codec_config_t cc;
        avro_codec_config_defaults(&cc);
        in.codec = avro_codec_new(&cc, err, sizeof(err));
        if (!in.codec)
            fprintf(stderr, "loyalty-stream inspect: no state decoder (%s): raw values only\n",
                    err);
        in.state = calloc(1, sizeof(*in.state));
        rc = in.state ? do_customer(&in, customer, task) : 1;
        free(in.state);
        avro_codec_destroy(in.codec);
    }
    store_destroy(s);
    prog_destroy(prog);
    return rc;
}
