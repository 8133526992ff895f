/*
 * loyalty-stream: the one binary. main parses the global options and hands the rest of
 * the command line to one subcommand. Each subcommand lives in its own module and
 * returns the process exit code: 0 ok, 1 failed, 2 bad usage. Only main may exit.
 */
#include "avtool.h"
#include "demo.h"
#include "inspect.h"
#include "log.h"
#include "progcmd.h"
#include "reset.h"
#include "run.h"
#include "version.h"

#include <curl/curl.h>
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*cmd_fn)(int argc, char **argv);

struct command {
    const char *name;
    const char *args;
    const char *summary;
    cmd_fn fn; /* NULL: not available in this build yet */
};

static const struct command commands[] = {
    {"run", "--config FILE", "run the processor daemon", run_main},
    {"demo", "[--bootstrap HOST:PORT]", "run the pipeline on an embedded mock Kafka cluster",
     demo_main},
    {"replay", "--program P --input FILE", "run the engine over a file of events, no Kafka",
     replay_main},
    {"check-program", "FILE", "validate a program file and explain errors by line",
     check_program_main},
    {"inspect", "--state DIR --customer ID | --summary",
     "print a customer's state (or a summary) from a store offline", inspect_main},
    {"reset", "--state DIR [--task N]",
     "delete a stopped processor's local state; it restores from the changelog", reset_main},
    {"decode", "[FILE|--topic T]", "print framed Avro records as JSON", decode_main},
    {"encode", "--type T", "turn JSON lines into framed Avro records", encode_main},
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
    fprintf(out, "usage: loyalty-stream [--log-level LEVEL] [--log-json] COMMAND [ARGS]\n"
                 "       loyalty-stream --help | --version\n\n"
                 "Kafka stream processor for loyalty programs: consumes purchases, keeps\n"
                 "each customer's loyalty state in RocksDB and emits tier changes, bonuses\n"
                 "and expiry warnings, exactly once.\n\n"
                 "commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++) {
        char head[64];
        snprintf(head, sizeof(head), "%s %s", commands[i].name, commands[i].args);
        fprintf(out, "  %-40s %s%s\n", head, commands[i].summary,
                commands[i].fn ? "" : " (not available in this build)");
    }
    fprintf(out, "\noptions:\n"
                 "  --log-level LEVEL   debug, info (default), warn, error, off\n"
                 "  --log-json          one JSON object per log line\n"
                 "  (both apply to every command; for `run` they win over the configuration\n"
                 "  file, as LOYALTY_LOG_LEVEL and LOYALTY_LOG_FORMAT do)\n"
                 "  -h, --help          this text; COMMAND --help for a command's own\n"
                 "  -V, --version       the version of this build\n");
}

static void version(void)
{
    printf("loyalty-stream %s (%s)\nlibrdkafka %s\n", LS_VERSION, LS_GIT_DESCRIBE,
           rd_kafka_version_str());
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'},
                                         {"version", no_argument, NULL, 'V'},
                                         {"log-level", required_argument, NULL, 'l'},
                                         {"log-json", no_argument, NULL, 'j'},
                                         {NULL, 0, NULL, 0}};
    log_level_t level = LOG_INFO;
    int json = 0, c;
    /* '+': stop at the first non-option, which is the command; the rest is its own. */
    while ((c = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            version();
            return 0;
        case 'l':
            if (log_level_parse(optarg, &level) != 0) {
                fprintf(stderr, "loyalty-stream: unknown log level '%s'\n\n", optarg);
                usage(stderr);
                return 2;
            }
            /* As LOYALTY_LOG_LEVEL: above the configuration file of `run`. */
            setenv("LOYALTY_LOG_LEVEL", optarg, 1);
            break;
        case 'j':
            json = 1;
            setenv("LOYALTY_LOG_FORMAT", "json", 1);
            break;
        default:
            fputc('\n', stderr);
            usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "loyalty-stream: no command given\n\n");
        usage(stderr);
        return 2;
    }
    log_configure(level, json, stderr);
    curl_global_init(CURL_GLOBAL_DEFAULT); /* once, before any thread (registry client) */
    const char *name = argv[optind];
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (strcmp(name, commands[i].name) != 0)
            continue;
        if (!commands[i].fn) {
            fprintf(stderr, "loyalty-stream: command '%s' is not available in this build\n", name);
            return 2;
        }
        int first = optind;
        optind = 0; /* reset getopt for the command's own parser; its argv[0] is its name */
        int rc = commands[i].fn(argc - first, argv + first);
        curl_global_cleanup();
        return rc;
    }
    fprintf(stderr, "loyalty-stream: unknown command '%s'\n\n", name);
    usage(stderr);
    return 2;
}
