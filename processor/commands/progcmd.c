/*
 * progcmd: `check-program` and `replay`. See progcmd.h.
 *
 * replay keeps every customer's state in memory (a hash table of individually allocated
 * entries, so pointers stay valid) and a min-heap of each customer's one pending timer,
 * ordered by (due time, customer id) so that timer outputs come out in one deterministic
 * order. The clock is stream time: the greatest event time seen. Before an event is
 * applied, every timer due at or before stream time fires; at the end of the input,
 * timers fire up to the last event time only (nothing beyond the data is invented).
 * With --partitions N there is one such clock per partition, a customer's partition being
 * the one its producer chose for its id (murmur2 as the Java clients by default; see
 * docs/SCHEMAS.md, "Keys and partitions").
 * As in the pipeline, an event further ahead of "now" (--now, default the wall clock)
 * than --max-future-ms is skipped and never moves stream time.
 */
#include "progcmd.h"
#include "eng.h"
#include "eng_json.h"
#include "keypart.h"
#include "prog.h"
#include "prog_describe.h"
#include "report.h"
#include "stateview.h"

#include <errno.h>
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ check-program */

int check_program_main(int argc, char **argv)
{
    static const struct option opts[] = {{"zonedir", required_argument, NULL, 'z'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *zonedir = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'z') {
            zonedir = optarg;
        } else if (c == 'h') {
            printf("usage: loyalty-stream check-program [--zonedir DIR] FILE\n"
                   "Validate a loyalty program file; print a summary (exit 0) or every "
                   "error as file:line:column: field: problem (exit 1).\n"
                   "Warnings (file:line:column: field: warning: ...) go to stderr: values that\n"
                   "are valid but probably not meant, such as a percentage below 0.1.\n");
            return 0;
        } else {
            return 2;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "usage: loyalty-stream check-program [--zonedir DIR] FILE\n");
        return 2;
    }
    char err[8192];
    prog_t *p = prog_load(argv[optind], zonedir, err, sizeof(err));
    if (!p) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    char *sum = malloc(16384);
    if (!sum) {
        prog_destroy(p);
        return 1;
    }
    prog_describe(p, sum, 16384);
    if (p->n_warnings) /* valid, but probably not what was meant: before the summary */
        fprintf(stderr, "%s\n", p->warnings);
    printf("OK: %s%s\n%s", argv[optind], p->n_warnings ? " (with warnings)" : "", sum);
    free(sum);
    prog_destroy(p);
    return 0;
}

/* ------------------------------------------------------------------ customer table */

typedef struct cust {
    eng_state_t st;
    int64_t sched; /* due time of this customer's entry in the heap, NEVER = none */
    int part;      /* the partition (stream-time clock) the customer belongs to */
} cust_t;

typedef struct heap_ent {
    int64_t due;
    cust_t *c;
} heap_ent_t;

/* Pending timers of one partition, earliest first. */
typedef struct heap {
    heap_ent_t *v;
    size_t n, cap;
} heap_t;

/* Which partition a producer puts a key in: librdkafka's partitioner signature. */
typedef int32_t (*partition_fn_t)(const rd_kafka_topic_t *rkt, const void *key, size_t keylen,
                                  int32_t partition_cnt, void *rkt_opaque, void *msg_opaque);

/* Stream time is kept per partition, as the pipeline keeps it per task: a customer is in
 * the partition its producer chose for its id (--partitions; 1 = one global clock). */
typedef struct run {
    const prog_t *p;
    cust_t **tab; /* open addressing by eng_id_hash(customer) */
    size_t cap, n;
    int nparts;
    partition_fn_t partition;
    heap_t *heaps; /* per partition */
    int64_t *nows; /* stream time per partition */
    eng_outbuf_t out;
    FILE *emit; /* where output lines go, NULL = nowhere */
    uint64_t outputs_by_kind[ENG_OUT_KIND_COUNT];
    uint64_t duplicates, rejected;
    uint64_t returns_unknown;         /* returns of a purchase the state does not hold */
    rep_hist_t *hist;                 /* monthly history (--report), NULL = not kept */
    uint64_t bounds[ENG_BOUND_COUNT]; /* engine calls in which a per-customer bound bit */
} run_t;

static cust_t *cust_get(run_t *r, const char *id)
{
    if (r->n * 10 >= r->cap * 7) {
        size_t ncap = r->cap ? r->cap * 2 : 1024;
        cust_t **nt = calloc(ncap, sizeof(*nt));
        if (!nt)
            return NULL;
        for (size_t i = 0; i < r->cap; i++) {
            if (!r->tab[i])
                continue;
            size_t j = eng_id_hash(r->tab[i]->st.customer_id) & (ncap - 1);
            while (nt[j])
                j = (j + 1) & (ncap - 1);
            nt[j] = r->tab[i];
        }
        free(r->tab);
        r->tab = nt;
        r->cap = ncap;
    }
    size_t j = eng_id_hash(id) & (r->cap - 1);
    while (r->tab[j]) {
        if (!strcmp(r->tab[j]->st.customer_id, id))
            return r->tab[j];
        j = (j + 1) & (r->cap - 1);
    }
    cust_t *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    snprintf(c->st.customer_id, sizeof(c->st.customer_id), "%s", id); /* key until init */
    c->sched = ENG_TIME_NEVER;
    size_t idlen = strlen(id);
    /* ids are never empty (eng_event_check); librdkafka's *_random would need a topic */
    c->part = idlen ? (int)r->partition(NULL, id, idlen, r->nparts, NULL, NULL) : 0;
    r->tab[j] = c;
    r->n++;
    return c;
}

static int heap_less(const heap_ent_t *a, const heap_ent_t *b)
{
    if (a->due != b->due)
        return a->due < b->due;
    return strcmp(a->c->st.customer_id, b->c->st.customer_id) < 0;
}

static int heap_push(heap_t *h, int64_t due, cust_t *c)
{
    if (h->n == h->cap) {
        size_t nc = h->cap ? h->cap * 2 : 1024;
        heap_ent_t *nh = realloc(h->v, nc * sizeof(*nh));
        if (!nh)
            return -1;
        h->v = nh;
        h->cap = nc;
    }
    size_t i = h->n++;
    h->v[i] = (heap_ent_t){due, c};
    while (i > 0 && heap_less(&h->v[i], &h->v[(i - 1) / 2])) {
        heap_ent_t t = h->v[i];
        h->v[i] = h->v[(i - 1) / 2];
        h->v[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
    return 0;
}

static heap_ent_t heap_pop(heap_t *h)
{
    heap_ent_t top = h->v[0];
    h->v[0] = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < h->n && heap_less(&h->v[l], &h->v[m]))
            m = l;
        if (l + 1 < h->n && heap_less(&h->v[l + 1], &h->v[m]))
            m = l + 1;
        if (m == i)
            break;
        heap_ent_t t = h->v[i];
        h->v[i] = h->v[m];
        h->v[m] = t;
        i = m;
    }
    return top;
}

/* ------------------------------------------------------------------ running */

static int drain(run_t *r)
{
    for (int b = 0; r->out.bounds && b < ENG_BOUND_COUNT; b++) /* as the processor counts */
        r->bounds[b] += (r->out.bounds & ENG_BOUND_BIT(b)) != 0;
    r->out.bounds = 0;
    for (uint32_t i = 0; i < r->out.n; i++) {
        r->outputs_by_kind[r->out.v[i].kind]++;
        if (r->hist && rep_hist_output(r->hist, &r->out.v[i]) != 0)
            return -1;
        if (!r->emit)
            continue;
        json_t *o = eng_json_output(&r->out.v[i]);
        char *line = o ? eng_json_line(o) : NULL;
        json_decref(o);
        if (!line)
            return -1;
        fputs(line, r->emit);
        free(line);
    }
    r->out.n = 0;
    return 0;
}

/* After a call: (re)schedule the customer's one pending timer. */
static int reschedule(run_t *r, cust_t *c)
{
    int64_t due = r->out.next_due;
    if (due == c->sched)
        return 0;
    c->sched = due; /* older heap entries for c become stale and are skipped */
    return due == ENG_TIME_NEVER ? 0 : heap_push(&r->heaps[c->part], due, c);
}

/* Fire every timer of partition @p part due at or before @p now. */
static int fire_until(run_t *r, int part, int64_t now)
{
    heap_t *h = &r->heaps[part];
    while (h->n > 0 && h->v[0].due <= now) {
        heap_ent_t e = heap_pop(h);
        if (e.due != e.c->sched)
            continue; /* stale */
        e.c->sched = ENG_TIME_NEVER;
        rep_snap_t before, after;
        if (r->hist)
            rep_snap_of(&e.c->st, &before);
        do {
            eng_on_timer(r->p, &e.c->st, now, &r->out);
            if (drain(r) != 0)
                return -1;
        } while (r->out.next_due <= now && r->out.next_due != ENG_TIME_NEVER);
        if (r->hist) {
            rep_snap_of(&e.c->st, &after);
            if (rep_hist_call(r->hist, e.due, &before, &after) != 0)
                return -1;
        }
        if (reschedule(r, e.c) != 0)
            return -1;
    }
    return 0;
}

/* Whether the state still holds the purchase a return refers to (the engine keeps the
 * last ENG_PURCHASES_MAX; an older or unknown one reverses nothing). */
static bool holds_purchase(const eng_state_t *s, const char *purchase_id)
{
    if (!(s->flags & 1))
        return false;
    uint64_t h = eng_id_hash(purchase_id);
    for (uint32_t i = 0; i < s->n_purchases && i < ENG_PURCHASES_MAX; i++)
        if (s->purchases[(s->purchases_head + i) % ENG_PURCHASES_MAX].id_hash == h)
            return true;
    return false;
}

static int apply(run_t *r, const eng_event_t *ev, long lineno, const char *input)
{
    cust_t *c = cust_get(r, ev->customer_id);
    if (!c)
        return -1;
    if (ev->time_ms > r->nows[c->part])
        r->nows[c->part] = ev->time_ms;
    if (eng_event_too_late(r->p, &c->st, ev, r->nows[c->part])) { /* as run: too_late */
        r->rejected++;
        if (input)
            fprintf(stderr,
                    "%s:%ld: skipped: too_late: event %s is %lld ms behind its partition's "
                    "stream time (late_events.max_lateness_days %lld)\n",
                    input, lineno, ev->event_id, (long long)(r->nows[c->part] - ev->time_ms),
                    (long long)(r->p->max_lateness_ms / 86400000));
        return 0;
    }
    /* Everything due by the partition's stream time fires first, the event's own
     * customer included: a late event meets the state its clock says (the pipeline does
     * the same per task). */
    if (fire_until(r, c->part, r->nows[c->part]) != 0)
        return -1;
    char err[256];
    rep_snap_t before, after;
    if (r->hist)
        rep_snap_of(&c->st, &before);
    do { /* the customer's own timers due by the event's time (late events included) */
        eng_on_timer(r->p, &c->st, ev->time_ms, &r->out);
        if (drain(r) != 0)
            return -1;
    } while (r->out.next_due <= ev->time_ms && r->out.next_due != ENG_TIME_NEVER &&
             (c->st.flags & 1));
    bool known = ev->kind != ENG_EV_RETURN || holds_purchase(&c->st, ev->original_event_id);
    int rc = eng_apply_event(r->p, &c->st, ev, &r->out, err, sizeof(err));
    if (rc == ENG_DUPLICATE)
        r->duplicates++;
    else if (rc != ENG_OK) {
        r->rejected++;
        if (input)
            fprintf(stderr, "%s:%ld: skipped: %s\n", input, lineno, err);
    } else if (!known) {
        r->returns_unknown++;
        if (input)
            fprintf(stderr,
                    "%s:%ld: note: return %s: purchase %s is not among customer %s's last %d "
                    "purchases; nothing reversed\n",
                    input, lineno, ev->event_id, ev->original_event_id, ev->customer_id,
                    ENG_PURCHASES_MAX);
    }
    if (drain(r) != 0)
        return -1;
    if (r->hist) {
        rep_snap_of(&c->st, &after);
        if (rep_hist_call(r->hist, ev->time_ms, &before, &after) != 0)
            return -1;
    }
    return reschedule(r, c);
}

static void run_free(run_t *r)
{
    for (size_t i = 0; i < r->cap; i++)
        free(r->tab[i]);
    free(r->tab);
    for (int k = 0; r->heaps && k < r->nparts; k++)
        free(r->heaps[k].v);
    free(r->heaps);
    free(r->nows);
    free(r->out.v);
}

static int run_init(run_t *r, const prog_t *p, FILE *emit, int nparts, partition_fn_t partition)
{
    memset(r, 0, sizeof(*r));
    r->p = p;
    r->emit = emit;
    r->nparts = nparts;
    r->partition = partition;
    r->heaps = calloc((size_t)nparts, sizeof(*r->heaps));
    r->nows = calloc((size_t)nparts, sizeof(*r->nows));
    r->out.cap = ENG_OUT_MIN_CAP;
    r->out.v = calloc(r->out.cap, sizeof(*r->out.v));
    return r->out.v && r->heaps && r->nows ? 0 : -1;
}

/* ------------------------------------------------------------------ summary */

typedef rep_totals_t totals_t;

static void totals_of(const run_t *r, totals_t *t)
{
    memset(t, 0, sizeof(*t));
    memcpy(t->outputs_by_kind, r->outputs_by_kind, sizeof(t->outputs_by_kind));
    for (size_t i = 0; i < r->cap; i++) {
        const cust_t *c = r->tab[i];
        if (!c || !(c->st.flags & 1))
            continue;
        t->customers++;
        if ((uint32_t)c->st.tier < PROG_TIERS_MAX)
            t->per_tier[c->st.tier]++;
        t->earned += c->st.total_earned;
        t->redeemed += c->st.total_redeemed;
        t->expired += c->st.total_expired;
        t->reversed += c->st.total_reversed;
        t->outstanding += eng_balance(&c->st);
        t->debt += c->st.debt;
    }
}

static void print_totals(FILE *f, const char *title, const prog_t *p, const totals_t *t)
{
    char money[48];
    fprintf(f, "== %s (%s)\n", title, p->file);
    fprintf(f, "customers: %llu\n", (unsigned long long)t->customers);
    for (uint32_t i = 0; i < p->n_tiers; i++)
        fprintf(f, "  tier %-20s %llu\n", p->tiers[i].name, (unsigned long long)t->per_tier[i]);
    fprintf(f, "points issued:    %lld\n", (long long)t->earned);
    fprintf(f, "points redeemed:  %lld\n", (long long)t->redeemed);
    fprintf(f, "points expired:   %lld\n", (long long)t->expired);
    fprintf(f, "points reversed:  %lld\n", (long long)t->reversed);
    fprintf(f, "points outstanding: %lld (debt %lld)\n", (long long)t->outstanding,
            (long long)t->debt);
    prog_format_money(p, t->outstanding * p->point_value, money, sizeof(money));
    fprintf(f, "outstanding liability: %s %s\n", money, p->currency);
}

static int cmp_cust(const void *a, const void *b)
{
    return strcmp((*(cust_t *const *)a)->st.customer_id, (*(cust_t *const *)b)->st.customer_id);
}

/* Every customer's final state as JSON lines sorted by id: the readable form (tier names,
 * local periods and times) or, raw, the engine's exact form (as `decode` prints the
 * changelog's states, so the two compare line by line). */
static int write_final_state(const run_t *r, const char *path, bool raw)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "replay: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    cust_t **v = malloc((r->n ? r->n : 1) * sizeof(*v));
    size_t n = 0;
    for (size_t i = 0; v && i < r->cap; i++)
        if (r->tab[i] && (r->tab[i]->st.flags & 1))
            v[n++] = r->tab[i];
    int rc = v ? 0 : -1;
    if (v)
        qsort(v, n, sizeof(*v), cmp_cust);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        json_t *o = raw ? eng_json_state(&v[i]->st) : sview_state(r->p, &v[i]->st);
        char *line = o ? eng_json_line(o) : NULL;
        json_decref(o);
        if (!line || fputs(line, f) == EOF)
            rc = -1;
        free(line);
    }
    free(v);
    if (fclose(f) != 0)
        rc = -1;
    if (rc != 0)
        fprintf(stderr, "replay: writing %s failed\n", path);
    return rc;
}

/* ------------------------------------------------------------------ replay */

/* The producer's partitioner (replay --partitioner): the contract's murmur2 without
 * librdkafka, the others by librdkafka's names as `encode --partitioner` takes them. The
 * *_random variants differ only for a null key, which no input event has. */
static int32_t partition_murmur2(const rd_kafka_topic_t *rkt, const void *key, size_t keylen,
                                 int32_t partition_cnt, void *rkt_opaque, void *msg_opaque)
{
    (void)rkt, (void)rkt_opaque, (void)msg_opaque;
    return keypart_of(key, keylen, partition_cnt);
}

static const struct {
    const char *name;
    partition_fn_t fn;
} partitioners[] = {
    {"murmur2", partition_murmur2},
    {"murmur2_random", partition_murmur2},
    {"consistent", rd_kafka_msg_partitioner_consistent},
    {"consistent_random", rd_kafka_msg_partitioner_consistent_random},
    {"fnv1a", rd_kafka_msg_partitioner_fnv1a},
    {"fnv1a_random", rd_kafka_msg_partitioner_fnv1a_random},
};

typedef struct replay_opts {
    const char *program, *input, *what_if, *final_state, *zonedir;
    const char *final_state_raw; /* --final-state-raw: the engine's exact JSON form */
    const char *report;          /* --report FILE.html */
    int tolerate_skipped;        /* --tolerate-skipped: exit 0 even if events were skipped */
    int no_outputs;
    int partitions;           /* stream-time clocks: one per partition of the input */
    partition_fn_t partition; /* which partition a customer's events are in */
    int64_t until;            /* fire timers up to this time at the end (0 = the last event time) */
    int64_t now;              /* the wall clock the future check compares with (--now) */
    int64_t max_future_ms;    /* --max-future-ms, as time.max.future.ms of `run` */
} replay_opts_t;

static void replay_usage(FILE *f)
{
    fprintf(f, "usage: loyalty-stream replay --program P --input EVENTS.jsonl [--what-if P2]\n"
               "                             [--clock stream] [--final-state FILE]\n"
               "                             [--no-outputs] [--until TIME] [--zonedir DIR]\n"
               "                             [--partitions N [--partitioner NAME]] [--now TIME]\n"
               "                             [--max-future-ms MS] [--report FILE.html]\n"
               "                             [--final-state-raw FILE] [--tolerate-skipped]\n"
               "Run the engine over JSON-line events (docs/EVENTS-JSON.md) with the stream-time\n"
               "clock; print output events as JSON lines on stdout and a summary on stderr.\n"
               "Timers fire up to the last event time only (or --until TIME, RFC 3339).\n"
               "--what-if runs a second program on the same input and compares the\n"
               "summaries, the output kinds of both and the customers whose tier differs.\n"
               "--final-state writes every customer's final state as JSON lines sorted by\n"
               "customer id, readable (tier names, local periods and times);\n"
               "--final-state-raw the engine's exact form (as `decode` prints states).\n"
               "--report FILE.html writes a self-contained HTML report: monthly charts of\n"
               "points, rewards, liability and tiers (both programs with --what-if).\n"
               "Exit status 1 when any event was skipped (bad line, refused event), unless\n"
               "--tolerate-skipped. --partitions N keeps one stream-time clock per\n"
               "partition, as the pipeline keeps one per task; a customer's partition is the\n"
               "one its producer chose for the key (the customer id): murmur2 as the Java\n"
               "clients, `encode` and the demo (docs/SCHEMAS.md), or --partitioner NAME of\n"
               "librdkafka's: murmur2, consistent (CRC32, librdkafka's default), fnv1a, and\n"
               "their *_random forms.\n"
               "An event more than --max-future-ms (default 86400000, one day, as\n"
               "time.max.future.ms) ahead of --now (RFC 3339; default: the wall clock when\n"
               "replay starts) is skipped, as the processor dead-letters it (future_time).\n");
}

static int parse_replay_opts(int argc, char **argv, replay_opts_t *o)
{
    static const struct option opts[] = {{"program", required_argument, NULL, 'p'},
                                         {"input", required_argument, NULL, 'i'},
                                         {"what-if", required_argument, NULL, 'w'},
                                         {"clock", required_argument, NULL, 'c'},
                                         {"final-state", required_argument, NULL, 'f'},
                                         {"zonedir", required_argument, NULL, 'z'},
                                         {"no-outputs", no_argument, NULL, 'n'},
                                         {"until", required_argument, NULL, 'u'},
                                         {"partitions", required_argument, NULL, 'P'},
                                         {"partitioner", required_argument, NULL, 'H'},
                                         {"now", required_argument, NULL, 'N'},
                                         {"max-future-ms", required_argument, NULL, 'F'},
                                         {"final-state-raw", required_argument, NULL, 'R'},
                                         {"report", required_argument, NULL, 'r'},
                                         {"tolerate-skipped", no_argument, NULL, 'T'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof(*o));
    o->partitions = 1;
    o->partition = partition_murmur2;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    o->now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    o->max_future_ms = 86400000;
    char *end;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            o->program = optarg;
            break;
        case 'i':
            o->input = optarg;
            break;
        case 'w':
            o->what_if = optarg;
            break;
        case 'f':
            o->final_state = optarg;
            break;
        case 'R':
            o->final_state_raw = optarg;
            break;
        case 'r':
            o->report = optarg;
            break;
        case 'T':
            o->tolerate_skipped = 1;
            break;
        case 'z':
            o->zonedir = optarg;
            break;
        case 'n':
            o->no_outputs = 1;
            break;
        case 'P':
            o->partitions = atoi(optarg);
            if (o->partitions < 1 || o->partitions > 4096) {
                fprintf(stderr, "replay: --partitions %s: expected 1..4096\n", optarg);
                return 2;
            }
            break;
        case 'H': {
            size_t k = 0, n = sizeof(partitioners) / sizeof(partitioners[0]);
            while (k < n && strcmp(optarg, partitioners[k].name) != 0)
                k++;
            if (k == n) {
                fprintf(stderr,
                        "replay: --partitioner %s: expected murmur2, consistent or fnv1a "
                        "(or their *_random forms)\n",
                        optarg);
                return 2;
            }
            o->partition = partitioners[k].fn;
            break;
        }
        case 'u':
            if (eng_json_parse_time(optarg, &o->until) != 0) {
                fprintf(stderr, "replay: --until %s: expected an RFC 3339 time with offset\n",
                        optarg);
                return 2;
            }
            break;
        case 'N':
            if (eng_json_parse_time(optarg, &o->now) != 0) {
                fprintf(stderr, "replay: --now %s: expected an RFC 3339 time with offset\n",
                        optarg);
                return 2;
            }
            break;
        case 'F':
            o->max_future_ms = strtoll(optarg, &end, 10);
            if (end == optarg || *end || o->max_future_ms < 0) {
                fprintf(stderr, "replay: --max-future-ms %s: expected milliseconds >= 0\n", optarg);
                return 2;
            }
            break;
        case 'c':
            if (strcmp(optarg, "stream") != 0) {
                fprintf(stderr, "replay: --clock %s: only 'stream' is supported\n", optarg);
                return 2;
            }
            break;
        case 'h':
            replay_usage(stdout);
            return 1;
        default:
            replay_usage(stderr);
            return 2;
        }
    }
    if (!o->program || !o->input || optind != argc) {
        replay_usage(stderr);
        return 2;
    }
    return 0;
}

static void progress(FILE *in, long size, long lineno)
{
    long pos = ftell(in);
    int pct = size > 0 && pos >= 0 ? (int)(pos * 100 / size) : 0, bar = pct / 4;
    fprintf(stderr, "\r[%.*s%*s] %3d%% %ld lines", bar, "=========================", 25 - bar, "",
            pct, lineno);
}

static int replay_input(FILE *in, const char *name, run_t *runs, int nruns, const replay_opts_t *o,
                        long *bad)
{
    int64_t until = o->until;
    struct stat sb;
    int tty = isatty(STDERR_FILENO) && fstat(fileno(in), &sb) == 0 && S_ISREG(sb.st_mode);
    long size = tty ? (long)sb.st_size : 0, lineno = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    eng_event_t *ev = malloc(sizeof(*ev));
    int rc = ev ? 0 : -1;
    while (rc == 0 && (len = getline(&line, &cap, in)) != -1) {
        lineno++;
        if (tty && lineno % 16384 == 0)
            progress(in, size, lineno);
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        char err[256];
        if (eng_json_parse_event(line, (size_t)len, ev, err, sizeof(err)) != 0 ||
            eng_event_check(runs[0].p, ev, err, sizeof(err)) != 0) {
            fprintf(stderr, "%s:%ld: skipped: %s\n", name, lineno, err);
            (*bad)++;
            continue;
        }
        if (ev->time_ms > o->now && ev->time_ms - o->now > o->max_future_ms) {
            fprintf(stderr, "%s:%ld: skipped: future_time: event %s is %lld ms ahead of now\n",
                    name, lineno, ev->event_id, (long long)(ev->time_ms - o->now));
            (*bad)++;
            continue;
        }
        for (int k = 0; k < nruns && rc == 0; k++)
            rc = apply(&runs[k], ev, lineno, k == 0 ? name : NULL);
    }
    if (tty)
        fprintf(stderr, "\r%*s\r", 60, "");
    for (int k = 0; k < nruns && rc == 0; k++) { /* end of input: stream time stops here */
        for (int q = 0; q < runs[k].nparts && rc == 0; q++) {
            if (until > runs[k].nows[q])
                runs[k].nows[q] = until;
            rc = fire_until(&runs[k], q, runs[k].nows[q]);
        }
    }
    free(line);
    free(ev);
    return rc;
}

static int cmp_diff(const void *a, const void *b)
{
    return strcmp(((const rep_tierdiff_t *)a)->customer, ((const rep_tierdiff_t *)b)->customer);
}

/* Customers whose final tier differs between the two runs (by name: two programs may
 * order their tiers differently), sorted by id; caller frees. NULL with *n = 0 = none. */
static rep_tierdiff_t *tier_diffs(run_t *runs, size_t *n)
{
    *n = 0;
    rep_tierdiff_t *v = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < runs[0].cap; i++) {
        const cust_t *a = runs[0].tab[i];
        if (!a || !(a->st.flags & 1))
            continue;
        const cust_t *b = cust_get(&runs[1], a->st.customer_id); /* exists: same input */
        if (!b)
            break;
        const prog_t *pa = runs[0].p, *pb = runs[1].p;
        const char *na = (uint32_t)a->st.tier < pa->n_tiers ? pa->tiers[a->st.tier].name : "";
        const char *nb = (uint32_t)b->st.tier < pb->n_tiers ? pb->tiers[b->st.tier].name : "";
        if (!strcmp(na, nb))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            rep_tierdiff_t *nv = realloc(v, cap * sizeof(*nv));
            if (!nv)
                break;
            v = nv;
        }
        snprintf(v[*n].customer, sizeof(v[*n].customer), "%s", a->st.customer_id);
        v[*n].a = a->st.tier;
        v[*n].b = b->st.tier;
        (*n)++;
    }
    if (v)
        qsort(v, *n, sizeof(*v), cmp_diff);
    return v;
}

static void print_kinds(const run_t *r, int nruns)
{
    for (int k = 0; k < ENG_OUT_KIND_COUNT; k++) {
        if (!r[0].outputs_by_kind[k] && (nruns < 2 || !r[1].outputs_by_kind[k]))
            continue;
        if (nruns == 1)
            fprintf(stderr, "  %-20s %llu\n", eng_out_kind_name((eng_out_kind_t)k),
                    (unsigned long long)r[0].outputs_by_kind[k]);
        else
            fprintf(stderr, "  %-20s %llu (what-if %llu, %+lld)\n",
                    eng_out_kind_name((eng_out_kind_t)k),
                    (unsigned long long)r[0].outputs_by_kind[k],
                    (unsigned long long)r[1].outputs_by_kind[k],
                    (long long)r[1].outputs_by_kind[k] - (long long)r[0].outputs_by_kind[k]);
    }
}

static void print_what_if(const prog_t *const *progs, const totals_t *t, const rep_tierdiff_t *d,
                          size_t nd)
{
    char money[48];
    prog_format_money(progs[0],
                      t[1].outstanding * progs[1]->point_value -
                          t[0].outstanding * progs[0]->point_value,
                      money, sizeof(money));
    fprintf(stderr,
            "what-if difference: issued %+lld, redeemed %+lld, expired %+lld, reversed %+lld, "
            "outstanding %+lld points (liability %s%s %s); free items (RewardEarned) %+lld\n",
            (long long)(t[1].earned - t[0].earned), (long long)(t[1].redeemed - t[0].redeemed),
            (long long)(t[1].expired - t[0].expired), (long long)(t[1].reversed - t[0].reversed),
            (long long)(t[1].outstanding - t[0].outstanding), money[0] == '-' ? "" : "+", money,
            progs[0]->currency,
            (long long)t[1].outputs_by_kind[ENG_OUT_REWARD_EARNED] -
                (long long)t[0].outputs_by_kind[ENG_OUT_REWARD_EARNED]);
    fprintf(stderr, "customers whose tier differs: %zu\n", nd);
    for (size_t i = 0; i < nd && i < 20; i++)
        fprintf(stderr, "  %s: %s -> %s\n", d[i].customer,
                (uint32_t)d[i].a < progs[0]->n_tiers ? progs[0]->tiers[d[i].a].name : "?",
                (uint32_t)d[i].b < progs[1]->n_tiers ? progs[1]->tiers[d[i].b].name : "?");
    if (nd > 20)
        fprintf(stderr, "  ... and %zu more (all of them in --report)\n", nd - 20);
}

int replay_main(int argc, char **argv)
{
    replay_opts_t o;
    int rc = parse_replay_opts(argc, argv, &o);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    char err[8192];
    prog_t *progs[2] = {NULL, NULL};
    run_t runs[2];
    rep_hist_t hist[2];
    int nruns = o.what_if ? 2 : 1, inited = 0;
    FILE *in = NULL;
    rep_tierdiff_t *diffs = NULL;
    size_t ndiffs = 0;
    rc = 1;
    for (int k = 0; k < nruns; k++) {
        progs[k] = prog_load(k ? o.what_if : o.program, o.zonedir, err, sizeof(err));
        if (!progs[k]) {
            fprintf(stderr, "%s\n", err);
            goto done;
        }
        rep_hist_init(&hist[k], progs[k]);
    }
    in = strcmp(o.input, "-") ? fopen(o.input, "r") : stdin;
    if (!in) {
        fprintf(stderr, "replay: cannot open %s: %s\n", o.input, strerror(errno));
        goto done;
    }
    for (; inited < nruns; inited++) {
        if (run_init(&runs[inited], progs[inited], inited == 0 && !o.no_outputs ? stdout : NULL,
                     o.partitions, o.partition))
            goto done;
        runs[inited].hist = o.report ? &hist[inited] : NULL;
    }
    long bad = 0;
    if (replay_input(in, o.input, runs, nruns, &o, &bad) != 0) {
        fprintf(stderr, "replay: out of memory or write error\n");
        goto done;
    }
    fflush(stdout);
    totals_t t[2];
    for (int k = 0; k < nruns; k++) {
        totals_of(&runs[k], &t[k]);
        print_totals(stderr, k ? "what-if" : "program", progs[k], &t[k]);
    }
    fprintf(stderr,
            "input: %ld bad lines skipped, %llu duplicates ignored, %llu events "
            "rejected by the engine\n",
            bad, (unsigned long long)runs[0].duplicates, (unsigned long long)runs[0].rejected);
    if (runs[0].returns_unknown)
        fprintf(stderr, "returns of a purchase not held (nothing reversed): %llu\n",
                (unsigned long long)runs[0].returns_unknown);
    print_kinds(runs, nruns);
    uint64_t any = 0;
    for (int b = 0; b < ENG_BOUND_COUNT; b++)
        any |= runs[0].bounds[b];
    if (any) { /* docs/PROGRAMS.md, "Per-customer bounds" */
        fprintf(stderr, "per-customer bounds bit:");
        for (int b = 0; b < ENG_BOUND_COUNT; b++)
            if (runs[0].bounds[b])
                fprintf(stderr, " %s %llu", eng_bound_name((eng_bound_t)b),
                        (unsigned long long)runs[0].bounds[b]);
        fputc('\n', stderr);
    }
    if (nruns == 2) {
        diffs = tier_diffs(runs, &ndiffs);
        print_what_if((const prog_t *const *)progs, t, diffs, ndiffs);
    }
    rc = 0;
    if (o.final_state && write_final_state(&runs[0], o.final_state, false) != 0)
        rc = 1;
    if (o.final_state_raw && write_final_state(&runs[0], o.final_state_raw, true) != 0)
        rc = 1;
    if (o.report) {
        rep_side_t sides[2];
        for (int k = 0; k < nruns; k++)
            sides[k] = (rep_side_t){k ? "what-if" : "program", progs[k], &hist[k], &t[k]};
        if (rep_write_html(o.report, o.input, sides, nruns, diffs, ndiffs, err, sizeof(err)) != 0) {
            fprintf(stderr, "replay: %s\n", err);
            rc = 1;
        }
    }
    uint64_t skipped = (uint64_t)bad + runs[0].rejected;
    if (rc == 0 && skipped && !o.tolerate_skipped) {
        fprintf(stderr,
                "replay: %llu event%s skipped (see above); exit 1 (--tolerate-skipped to "
                "accept)\n",
                (unsigned long long)skipped, skipped == 1 ? "" : "s");
        rc = 1;
    }
done:
    for (int k = 0; k < inited; k++)
        run_free(&runs[k]);
    for (int k = 0; k < nruns; k++)
        if (progs[k])
            rep_hist_free(&hist[k]);
    free(diffs);
    if (in && in != stdin)
        fclose(in);
    prog_destroy(progs[0]);
    prog_destroy(progs[1]);
    return rc;
}
