/*
 * reset: see reset.h. The store module does the work (store_wipe, store_task_drop); this
 * is the command line around it.
 */
#include "reset.h"

#include "store.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: loyalty-stream reset --state DIR [--task N]\n\n"
                 "Delete a stopped processor's local state; it restores from the changelog at its\n"
                 "next start. Without --task the whole store goes (use it for a store RocksDB\n"
                 "reports as corrupt); with --task N only task N's state and checkpoint.\n");
}

static int reset_task(const char *dir, int32_t task)
{
    char err[1024];
    store_config_t sc;
    store_config_default(&sc);
    sc.dir = dir;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    store_t *s = store_new(&sc, (int64_t)ts.tv_sec * 1000, err, sizeof(err));
    if (!s) {
        fprintf(stderr, "loyalty-stream reset: %s%s\n", err,
                store_err_is_corrupt(err) ? " (reset the whole store: omit --task)" : "");
        return 1;
    }
    int rc = store_task_drop(s, task, err, sizeof(err));
    store_destroy(s);
    if (rc < 0) {
        fprintf(stderr, "loyalty-stream reset: %s\n", err);
        return 1;
    }
    if (rc == STORE_NOT_FOUND)
        printf("state store %s has no task %d: nothing to delete\n", dir, (int)task);
    else
        printf("deleted task %d's local state in %s: it restores from the changelog at its "
               "next assignment\n",
               (int)task, dir);
    return 0;
}

int reset_main(int argc, char **argv)
{
    static const struct option opts[] = {{"state", required_argument, NULL, 's'},
                                         {"task", required_argument, NULL, 't'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *dir = NULL;
    long task = -1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 's':
            dir = optarg;
            break;
        case 't':
            task = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || task < 0 || task > INT32_MAX) {
                fprintf(stderr, "loyalty-stream reset: --task '%s' is not a partition number\n",
                        optarg);
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!dir || optind < argc) {
        fprintf(stderr, "loyalty-stream reset: %s\n\n",
                dir ? "unexpected argument" : "--state DIR is required");
        usage(stderr);
        return 2;
    }
    if (task >= 0)
        return reset_task(dir, (int32_t)task);
    char err[1024];
    if (store_wipe(dir, err, sizeof(err)) != 0) {
        fprintf(stderr, "loyalty-stream reset: %s\n", err);
        return 1;
    }
    printf("deleted the state store in %s: every task restores from the changelog at its next "
           "assignment\n",
           dir);
    return 0;
}
