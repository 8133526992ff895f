/*
 * prog: the program file loader. See prog.h for the idea.
 *
 * Parsing uses libyaml's document API (the whole file is small), so every node keeps its
 * line:column mark. Each mapping of the file is read through a table of its keys
 * (struct field); a key not in the table is an error, and errors are collected (up to a
 * buffer's worth) rather than stopping at the first, so a user fixes a file in one go.
 * Sections are read in dependency order (currency before money, qualification before
 * tier thresholds), whatever their order in the file.
 */
#include "prog.h"
#include "iso4217.h"
#include "prog_describe.h"
#include "sug.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

typedef struct ctx {
    yaml_document_t *doc;
    const char *file;
    char *err;
    size_t errlen, used;
    int nerr;
    prog_t *p;
    const char *zonedir;
    void *item;                /* the list entry being read (tier, band, card ...) */
    prog_band_t *bands;        /* the band list being read */
    prog_metric_t band_metric; /* unit of the bands' `from` */
    uint32_t seq_bad;          /* entries of the last walk_seq that had errors (bit i) */
    uint32_t tiers_bad;        /* tiers with errors: not compared again (one error a cause) */
} ctx_t;

typedef void (*fld_fn)(ctx_t *c, yaml_node_t *v, const char *path);
typedef struct field {
    const char *name;
    fld_fn fn;
} field_t;

/* ------------------------------------------------------------------ errors, scalars */

static void errf(ctx_t *c, const yaml_node_t *n, const char *path, const char *fmt, ...)
{
    c->nerr++;
    if (c->used + 1 >= c->errlen)
        return;
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    int w = snprintf(c->err + c->used, c->errlen - c->used, "%s%s:%zu:%zu: %s: %s",
                     c->used ? "\n" : "", c->file, n ? n->start_mark.line + 1 : 1,
                     n ? n->start_mark.column + 1 : 1, path, msg);
    if (w > 0)
        c->used += (size_t)w < c->errlen - c->used ? (size_t)w : c->errlen - c->used - 1;
}

/* A warning: the file loads, but a value is probably not what its author meant; the
 * message spells out how it is read. Kept in prog->warnings, one per line. */
static void warnf(ctx_t *c, const yaml_node_t *n, const char *path, const char *fmt, ...)
{
    prog_t *p = c->p;
    size_t used = strlen(p->warnings);
    if (used + 1 >= sizeof(p->warnings))
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(p->warnings + used, sizeof(p->warnings) - used, "%s%s:%zu:%zu: %s: warning: %s",
             used ? "\n" : "", c->file, n ? n->start_mark.line + 1 : 1,
             n ? n->start_mark.column + 1 : 1, path, msg);
    p->n_warnings++;
}

/* " (did you mean X?)" or "" */
static void did_you_mean(const sug_t *sg, char *buf, size_t n)
{
    const char *b = sug_best(sg);
    if (b)
        snprintf(buf, n, " (did you mean '%s'?)", b);
    else if (n)
        buf[0] = '\0';
}

static const char *scalar(ctx_t *c, yaml_node_t *n, const char *path)
{
    if (!n || n->type != YAML_SCALAR_NODE) {
        errf(c, n, path, "expected a single value");
        return NULL;
    }
    return (const char *)n->data.scalar.value;
}

/* A decimal "12", "12.5", "-3" as an integer scaled by 10^digits; more fraction digits
 * than `digits` is an error (no silent rounding). */
static int parse_fixed(const char *s, int digits, int64_t *out)
{
    const char *p = s;
    int neg = 0;
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    if (*p < '0' || *p > '9')
        return -1;
    int64_t v = 0;
    while (*p >= '0' && *p <= '9') {
        if (v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (*p++ - '0');
    }
    int frac = 0;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            if (frac == digits)
                return -1;
            if (v > (INT64_MAX - 9) / 10)
                return -1;
            v = v * 10 + (*p++ - '0');
            frac++;
        }
    }
    if (*p != '\0')
        return -1;
    for (; frac < digits; frac++) {
        if (v > INT64_MAX / 10)
            return -1;
        v *= 10;
    }
    *out = neg ? -v : v;
    return 0;
}

static int get_fixed(ctx_t *c, yaml_node_t *n, const char *path, int digits, int64_t min,
                     int64_t max, const char *what, int64_t *out)
{
    const char *s = scalar(c, n, path);
    if (!s)
        return -1;
    int64_t v;
    if (parse_fixed(s, digits, &v) != 0 || v < min || v > max) {
        errf(c, n, path, "'%s' is not %s", s, what);
        return -1;
    }
    *out = v;
    return 0;
}

static void get_i32(ctx_t *c, yaml_node_t *n, const char *path, int32_t min, int32_t max,
                    int32_t *out)
{
    int64_t v;
    char what[96];
    snprintf(what, sizeof(what), "a whole number from %d to %d", min, max);
    if (get_fixed(c, n, path, 0, min, max, what, &v) == 0)
        *out = (int32_t)v;
}

/* A percentage up to max_bp; the one message states the one limit. A value below 0.1
 * (but not 0) is almost always a fraction written for a percentage: warned. */
static void get_percent_to(ctx_t *c, yaml_node_t *n, const char *path, int32_t max_bp, int32_t *bp)
{
    int64_t v;
    char what[96];
    snprintf(what, sizeof(what), "a percentage from 0 to %d with at most 2 decimals", max_bp / 100);
    if (get_fixed(c, n, path, 2, 0, max_bp, what, &v) != 0)
        return;
    *bp = (int32_t)v;
    if (v > 0 && v < 10)
        warnf(c, n, path,
              "%s is read as %s percent, i.e. %d in 10,000 of the amount; percentages are "
              "written in percent (2 %% is 2, not 0.02)",
              n->data.scalar.value, n->data.scalar.value, (int)v);
}

static void get_percent(ctx_t *c, yaml_node_t *n, const char *path, int32_t *bp)
{
    get_percent_to(c, n, path, 100000, bp);
}

static void get_mult(ctx_t *c, yaml_node_t *n, const char *path, int32_t *permille)
{
    int64_t v;
    if (get_fixed(c, n, path, 3, 0, 100000, "a multiplier from 0 to 100 with at most 3 decimals",
                  &v) == 0)
        *permille = (int32_t)v;
}

/* Money in the currency's major units with at most minor_units decimals -> minor units. */
static void get_money(ctx_t *c, yaml_node_t *n, const char *path, int64_t *out)
{
    char what[200];
    snprintf(what, sizeof(what),
             "an amount in %s with at most %d decimals (a program file writes money in whole "
             "%s, e.g. 1500 or 1500.50; events and outputs carry minor units)",
             c->p->currency, c->p->minor_units, c->p->currency);
    get_fixed(c, n, path, c->p->minor_units, 0, INT64_MAX / 100000, what, out);
}

/* A qualifying-metric value: money when the metric is spend, else a whole count. */
static void get_metric_value(ctx_t *c, yaml_node_t *n, const char *path, prog_metric_t m,
                             int64_t *out)
{
    if (m == PROG_METRIC_SPEND)
        get_money(c, n, path, out);
    else
        get_fixed(c, n, path, 0, 0, INT64_MAX / 100000, "a whole count from 0", out);
}

static void get_bool(ctx_t *c, yaml_node_t *n, const char *path, bool *out)
{
    const char *s = scalar(c, n, path);
    if (!s)
        return;
    if (!strcmp(s, "true") || !strcmp(s, "yes"))
        *out = true;
    else if (!strcmp(s, "false") || !strcmp(s, "no"))
        *out = false;
    else
        errf(c, n, path, "'%s' is not true or false", s);
}

static void get_str(ctx_t *c, yaml_node_t *n, const char *path, char *buf, size_t size)
{
    const char *s = scalar(c, n, path);
    if (!s)
        return;
    if (!*s || strlen(s) >= size)
        errf(c, n, path, "must be 1 to %zu characters", size - 1);
    else
        snprintf(buf, size, "%s", s);
}

static int get_enum(ctx_t *c, yaml_node_t *n, const char *path, const char *const *names, int *out)
{
    const char *s = scalar(c, n, path);
    if (!s)
        return -1;
    char list[256] = "", dym[160];
    sug_t sg;
    sug_init(&sg, s);
    for (int i = 0; names[i]; i++) {
        if (!strcmp(s, names[i])) {
            *out = i;
            return 0;
        }
        size_t l = strlen(list);
        snprintf(list + l, sizeof(list) - l, "%s%s", i ? ", " : "", names[i]);
        sug_offer(&sg, names[i]);
    }
    did_you_mean(&sg, dym, sizeof(dym));
    errf(c, n, path, "'%s' is not one of: %s%s", s, list, dym);
    return -1;
}

/* ------------------------------------------------------------------ structure walkers */

static void walk_map(ctx_t *c, yaml_node_t *n, const char *path, const field_t *fields)
{
    if (!n || n->type != YAML_MAPPING_NODE) {
        errf(c, n, path, "expected a mapping of keys");
        return;
    }
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, pr->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, pr->value);
        const char *ks = k && k->type == YAML_SCALAR_NODE ? (char *)k->data.scalar.value : "";
        char sub[160];
        snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", ks);
        const field_t *f = fields;
        while (f->name && strcmp(f->name, ks) != 0)
            f++;
        if (!f->name) {
            sug_t sg;
            sug_init(&sg, ks);
            for (const field_t *g = fields; g->name; g++)
                sug_offer(&sg, g->name);
            char dym[160];
            did_you_mean(&sg, dym, sizeof(dym));
            errf(c, k, sub, "unknown key%s", dym);
        } else if (f->fn)
            f->fn(c, v, sub);
    }
}

static yaml_node_t *map_get(ctx_t *c, yaml_node_t *n, const char *key)
{
    if (!n || n->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, pr->key);
        if (k && k->type == YAML_SCALAR_NODE && !strcmp((char *)k->data.scalar.value, key))
            return yaml_document_get_node(c->doc, pr->value);
    }
    return NULL;
}

/* Calls fn for each item of a sequence with path "path[i]"; returns the item count. */
static uint32_t walk_seq(ctx_t *c, yaml_node_t *n, const char *path, uint32_t max,
                         void (*fn)(ctx_t *, yaml_node_t *, const char *, uint32_t))
{
    if (!n || n->type != YAML_SEQUENCE_NODE) {
        errf(c, n, path, "expected a list");
        return 0;
    }
    uint32_t i = 0, bad = 0;
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++, i++) {
        if (i == max) {
            errf(c, yaml_document_get_node(c->doc, *it), path, "more than %u entries", max);
            c->seq_bad = bad;
            return max;
        }
        char sub[160];
        snprintf(sub, sizeof(sub), "%s[%u]", path, i);
        int before = c->nerr;
        fn(c, yaml_document_get_node(c->doc, *it), sub, i);
        if (c->nerr != before && i < 32)
            bad |= 1u << i;
    }
    c->seq_bad = bad; /* set last: fn may walk lists of its own */
    return i;
}

/* The value of `key` in mapping n (where an error about it belongs), else n. */
static yaml_node_t *key_or(ctx_t *c, yaml_node_t *n, const char *key)
{
    yaml_node_t *v = map_get(c, n, key);
    return v ? v : n;
}

/* Entry i of a list, or the list itself when there is no such entry. */
static yaml_node_t *seq_at(ctx_t *c, yaml_node_t *seq, uint32_t i)
{
    if (!seq || seq->type != YAML_SEQUENCE_NODE ||
        (ptrdiff_t)i >= seq->data.sequence.items.top - seq->data.sequence.items.start)
        return seq;
    return yaml_document_get_node(c->doc, seq->data.sequence.items.start[i]);
}

/* The value of `key` in entry i of a list (an error's place), else the entry. */
static yaml_node_t *seq_key_at(ctx_t *c, yaml_node_t *seq, uint32_t i, const char *key)
{
    yaml_node_t *e = seq_at(c, seq, i);
    yaml_node_t *v = e && e->type == YAML_MAPPING_NODE ? map_get(c, e, key) : NULL;
    return v ? v : e;
}

/* ------------------------------------------------------------------ bands */

static void f_band_from(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_metric_value(c, v, path, c->band_metric, &((prog_band_t *)c->item)->from);
}
static void f_band_percent(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_percent(c, v, path, &((prog_band_t *)c->item)->rate_bp);
}
static const field_t band_fields[] = {
    {"from", f_band_from}, {"percent", f_band_percent}, {NULL, NULL}};

static void band_item(ctx_t *c, yaml_node_t *n, const char *path, uint32_t i)
{
    c->item = &c->bands[i];
    if (n && n->type == YAML_MAPPING_NODE && (!map_get(c, n, "from") || !map_get(c, n, "percent")))
        errf(c, n, path, "a band needs 'from' and 'percent'");
    walk_map(c, n, path, band_fields);
}

static uint32_t read_bands(ctx_t *c, yaml_node_t *n, const char *path, prog_band_t *bands,
                           prog_metric_t metric)
{
    c->bands = bands;
    c->band_metric = metric;
    uint32_t k = walk_seq(c, n, path, PROG_BANDS_MAX, band_item);
    uint32_t bad = c->seq_bad;
    for (uint32_t i = 1; i < k; i++) {
        if (bad & (3u << (i - 1)))
            continue; /* an entry with an error of its own: no follow-on error */
        if (bands[i].from <= bands[i - 1].from) {
            char sub[160];
            snprintf(sub, sizeof(sub), "%s[%u].from", path, i);
            errf(c, seq_key_at(c, n, i, "from"), sub,
                 "must be greater than the 'from' of %s[%u] (bands ascend and do not overlap)",
                 path, i - 1);
        }
    }
    return k;
}

/* ------------------------------------------------------------------ maps and sets */

static uint32_t read_kv(ctx_t *c, yaml_node_t *n, const char *path, prog_kv_t *kv, int mult)
{
    if (!n || n->type != YAML_MAPPING_NODE) {
        errf(c, n, path, "expected a mapping of name: value");
        return 0;
    }
    uint32_t i = 0;
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, pr->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, pr->value);
        if (i == PROG_MAP_MAX) {
            errf(c, k, path, "more than %d entries", PROG_MAP_MAX);
            break;
        }
        char sub[160];
        snprintf(sub, sizeof(sub), "%s.%s", path,
                 k && k->type == YAML_SCALAR_NODE ? (char *)k->data.scalar.value : "?");
        get_str(c, k, sub, kv[i].key, sizeof(kv[i].key));
        if (mult)
            get_mult(c, v, sub, &kv[i].value);
        else
            get_percent(c, v, sub, &kv[i].value);
        i++;
    }
    return i;
}

static void cat_item(ctx_t *c, yaml_node_t *n, const char *path, uint32_t i)
{
    prog_catset_t *set = c->item;
    get_str(c, n, path, set->v[i], sizeof(set->v[i]));
}
static void f_ex_categories(ctx_t *c, yaml_node_t *v, const char *path)
{
    prog_catset_t *set = c->item;
    set->n = walk_seq(c, v, path, PROG_CATS_MAX, cat_item);
    c->item = set;
}
static void f_ex_on_sale(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_bool(c, v, path, &((prog_catset_t *)c->item)->on_sale);
}
static const field_t exclude_fields[] = {
    {"categories", f_ex_categories}, {"on_sale", f_ex_on_sale}, {NULL, NULL}};

static void read_exclude(ctx_t *c, yaml_node_t *n, const char *path, prog_catset_t *set)
{
    c->item = set;
    walk_map(c, n, path, exclude_fields);
}

/* A list of day counts, stored descending. */
static void days_item(ctx_t *c, yaml_node_t *n, const char *path, uint32_t i)
{
    get_i32(c, n, path, 1, 3650, &((int32_t *)c->item)[i]);
}
static uint32_t read_days(ctx_t *c, yaml_node_t *n, const char *path, int32_t *days)
{
    c->item = days;
    uint32_t k = walk_seq(c, n, path, PROG_WARNINGS_MAX, days_item);
    for (uint32_t i = 1; i < k; i++) /* a repeat, at the repeating entry */
        for (uint32_t j = 0; j < i; j++)
            if (days[i] == days[j] && !(c->seq_bad & ((1u << i) | (1u << j)))) {
                char sub[160];
                snprintf(sub, sizeof(sub), "%s[%u]", path, i);
                errf(c, seq_at(c, n, i), sub, "%d days is listed twice (also %s[%u])", days[i],
                     path, j);
                break;
            }
    for (uint32_t i = 1; i < k; i++) /* insertion sort, descending */
        for (uint32_t j = i; j > 0 && days[j] > days[j - 1]; j--) {
            int32_t t = days[j];
            days[j] = days[j - 1];
            days[j - 1] = t;
        }
    return k;
}

/* ------------------------------------------------------------------ qualification */

static const char *const metric_names[] = {"spend", "quantity", "purchases", "visits", NULL};
static const char *const window_names[] = {
    "calendar_month", "previous_calendar_month", "rolling_days", "calendar_year", "lifetime", NULL};
static const char *const bands_names[] = {"lower_inclusive", "upper_inclusive", NULL};
static const char *const period_names[] = {"calendar_month", "calendar_year", NULL};

static void f_q_metric(ctx_t *c, yaml_node_t *v, const char *path)
{
    int e;
    if (get_enum(c, v, path, metric_names, &e) == 0)
        c->p->q_metric = (prog_metric_t)e;
}
static void f_q_window(ctx_t *c, yaml_node_t *v, const char *path)
{
    int e;
    if (get_enum(c, v, path, window_names, &e) == 0)
        c->p->q_window = (prog_window_t)e;
}
static void f_q_days(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_i32(c, v, path, 1, 3660, &c->p->q_days);
}
static void f_q_bands(ctx_t *c, yaml_node_t *v, const char *path)
{
    int e;
    if (get_enum(c, v, path, bands_names, &e) == 0)
        c->p->upper_inclusive = e == 1;
}
static const field_t qual_fields[] = {{"metric", f_q_metric},
                                      {"window", f_q_window},
                                      {"days", f_q_days},
                                      {"bands", f_q_bands},
                                      {NULL, NULL}};

/* ------------------------------------------------------------------ tiers */

static void f_t_name(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_str(c, v, path, ((prog_tier_t *)c->item)->name, ENG_NAME_MAX);
}
static void f_t_threshold(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_metric_value(c, v, path, c->p->q_metric, &((prog_tier_t *)c->item)->threshold);
}
static void f_t_earn_percent(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_percent(c, v, path, &((prog_tier_t *)c->item)->earn_bp);
}
static void f_t_earn_mult(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_mult(c, v, path, &((prog_tier_t *)c->item)->earn_permille);
}
static void f_t_discount(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_percent(c, v, path, &((prog_tier_t *)c->item)->discount_bp);
}
static void f_t_stamp_mult(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_mult(c, v, path, &((prog_tier_t *)c->item)->stamp_permille);
    if (((prog_tier_t *)c->item)->stamp_permille == 0)
        errf(c, v, path, "must be above 0");
}
static const field_t tier_fields[] = {{"name", f_t_name},
                                      {"threshold", f_t_threshold},
                                      {"earn_percent", f_t_earn_percent},
                                      {"earn_multiplier", f_t_earn_mult},
                                      {"discount_percent", f_t_discount},
                                      {"stamp_multiplier", f_t_stamp_mult},
                                      {NULL, NULL}};

static void tier_item(ctx_t *c, yaml_node_t *n, const char *path, uint32_t i)
{
    prog_tier_t *t = &c->p->tiers[i];
    t->earn_bp = -1;
    t->earn_permille = 1000;
    t->stamp_permille = 1000;
    c->item = t;
    walk_map(c, n, path, tier_fields);
    if (n && n->type == YAML_MAPPING_NODE && !map_get(c, n, "name"))
        errf(c, n, path, "a tier needs a 'name'"); /* a bad name has its own error */
    if (map_get(c, n, "earn_percent") && map_get(c, n, "earn_multiplier"))
        errf(c, n, path, "give earn_percent or earn_multiplier, not both");
    if (i > 0 && !map_get(c, n, "threshold"))
        errf(c, n, path, "tier '%s' needs a 'threshold'", t->name);
}

/* ------------------------------------------------------------------ earning */

static const char *const usable_names[] = {"at_once", "next_visit", NULL};
static const char *const rounding_names[] = {"floor", NULL};

static void f_e_base(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_percent(c, v, path, &c->p->base_bp);
}
static void f_e_min(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_money(c, v, path, &c->p->min_purchase);
}
static void f_e_usable(ctx_t *c, yaml_node_t *v, const char *path)
{
    int e;
    if (get_enum(c, v, path, usable_names, &e) == 0)
        c->p->usable = (prog_usable_t)e;
}
static void f_e_rounding(ctx_t *c, yaml_node_t *v, const char *path)
{
    int e;
    get_enum(c, v, path, rounding_names, &e);
}
static void f_e_partners(ctx_t *c, yaml_node_t *v, const char *path)
{
    c->p->n_partners = read_kv(c, v, path, c->p->partners, 0);
}
static void f_e_check_bands(ctx_t *c, yaml_node_t *v, const char *path)
{
    c->p->n_check_bands = read_bands(c, v, path, c->p->check_bands, PROG_METRIC_SPEND);
}
static void f_e_marginal(ctx_t *c, yaml_node_t *v, const char *path)
{
    c->p->n_marginal = read_bands(c, v, path, c->p->marginal, c->p->q_metric);
}
static void f_e_catmult(ctx_t *c, yaml_node_t *v, const char *path)
{
    c->p->n_cat_mult = read_kv(c, v, path, c->p->cat_mult, 1);
}
static void f_e_exclude(ctx_t *c, yaml_node_t *v, const char *path)
{
    read_exclude(c, v, path, &c->p->earn_excl);
}
static const field_t earning_fields[] = {
    {"base_percent", f_e_base},       {"minimum_purchase", f_e_min},
    {"usable", f_e_usable},           {"rounding", f_e_rounding},
    {"partners", f_e_partners},       {"check_bands", f_e_check_bands},
    {"marginal_bands", f_e_marginal}, {"category_multipliers", f_e_catmult},
    {"exclude", f_e_exclude},         {NULL, NULL}};

/* ------------------------------------------------------------------ period award */

static void f_a_period(ctx_t *c, yaml_node_t *v, const char *path)
{
    int e;
    if (get_enum(c, v, path, period_names, &e) == 0)
        c->p->award_period = (prog_period_t)e;
}
static void f_a_bands(ctx_t *c, yaml_node_t *v, const char *path)
{
    int e;
    if (get_enum(c, v, path, bands_names, &e) == 0)
        c->p->award_upper_inclusive = e == 1;
}
static void f_a_rates(ctx_t *c, yaml_node_t *v, const char *path)
{
    c->p->n_award_bands = read_bands(c, v, path, c->p->award_bands, PROG_METRIC_SPEND);
}
static const field_t award_fields[] = {
    {"period", f_a_period}, {"bands", f_a_bands}, {"rates", f_a_rates}, {NULL, NULL}};

/* ------------------------------------------------------------------ redeeming */

static void f_r_exclude(ctx_t *c, yaml_node_t *v, const char *path)
{
    read_exclude(c, v, path, &c->p->redeem_excl);
}
static void f_r_share(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_percent_to(c, v, path, 10000, &c->p->max_share_bp);
}
static const char *const over_share_names[] = {"reject", "redeem_allowed", NULL};
static void f_r_over(ctx_t *c, yaml_node_t *v, const char *path)
{
    int e;
    if (get_enum(c, v, path, over_share_names, &e) == 0)
        c->p->over_share = (prog_over_share_t)e;
}
static const field_t redeem_fields[] = {{"exclude", f_r_exclude},
                                        {"max_share_percent", f_r_share},
                                        {"over_max_share", f_r_over},
                                        {NULL, NULL}};

/* ------------------------------------------------------------------ demotion, expiry */

static const char *const demote_names[] = {"never", "at_period_end", "inactivity",
                                           "reset_each_period", NULL};
static const char *const expiry_names[] = {"never", "after_days", "end_of_next_month",
                                           "after_months", NULL};

static void f_d_mode(ctx_t *c, yaml_node_t *v, const char *path)
{
    int e;
    if (get_enum(c, v, path, demote_names, &e) == 0)
        c->p->demote = (prog_demote_t)e;
}
static void f_d_period(ctx_t *c, yaml_node_t *v, const char *path)
{
    int e;
    if (get_enum(c, v, path, period_names, &e) == 0)
        c->p->demote_period = (prog_period_t)e;
}
static void f_d_days(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_i32(c, v, path, 1, 3660, &c->p->inactivity_days);
}
static void f_d_grace(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_i32(c, v, path, 0, 3660, &c->p->grace_days);
}
static void f_d_warn(ctx_t *c, yaml_node_t *v, const char *path)
{
    c->p->n_demote_warn = read_days(c, v, path, c->p->demote_warn_days);
}
static const field_t demote_fields[] = {
    {"mode", f_d_mode},        {"period", f_d_period},     {"inactivity_days", f_d_days},
    {"grace_days", f_d_grace}, {"warning_days", f_d_warn}, {NULL, NULL}};

static void f_x_mode(ctx_t *c, yaml_node_t *v, const char *path)
{
    int e;
    if (get_enum(c, v, path, expiry_names, &e) == 0)
        c->p->expiry = (prog_expiry_t)e;
}
static void f_x_days(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_i32(c, v, path, 1, 36600, &c->p->expiry_days);
}
static void f_x_warn(ctx_t *c, yaml_node_t *v, const char *path)
{
    c->p->n_warn = read_days(c, v, path, c->p->warn_days);
}
static void f_x_months(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_i32(c, v, path, 1, 1200, &c->p->expiry_months);
}
static const field_t expiry_fields[] = {{"mode", f_x_mode},
                                        {"days", f_x_days},
                                        {"months", f_x_months},
                                        {"warning_days", f_x_warn},
                                        {NULL, NULL}};

/* ------------------------------------------------------------------ stamps */

static const char *const reward_names[] = {"free_item", "points", NULL};

static void f_s_category(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_str(c, v, path, ((prog_stamp_card_t *)c->item)->category, ENG_NAME_MAX);
}
static void f_s_every(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_i32(c, v, path, 1, 1000000, &((prog_stamp_card_t *)c->item)->every);
}
static void f_s_reward(ctx_t *c, yaml_node_t *v, const char *path)
{
    int e;
    if (get_enum(c, v, path, reward_names, &e) == 0)
        ((prog_stamp_card_t *)c->item)->reward = (prog_reward_t)e;
}
static void f_s_points(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_fixed(c, v, path, 0, 1, INT64_MAX / 100000, "a whole number of points from 1",
              &((prog_stamp_card_t *)c->item)->points);
}
static void f_s_item(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_str(c, v, path, ((prog_stamp_card_t *)c->item)->item, ENG_NAME_MAX);
}
static void f_s_free(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_i32(c, v, path, 1, 1000, &((prog_stamp_card_t *)c->item)->free);
}
static const field_t stamp_fields[] = {
    {"category", f_s_category}, {"every", f_s_every},   {"buy", f_s_every}, {"free", f_s_free},
    {"reward", f_s_reward},     {"points", f_s_points}, {"item", f_s_item}, {NULL, NULL}};

static void stamp_item(ctx_t *c, yaml_node_t *n, const char *path, uint32_t i)
{
    prog_stamp_card_t *s = &c->p->stamps[i];
    snprintf(s->item, sizeof(s->item), "free_item");
    c->item = s;
    walk_map(c, n, path, stamp_fields);
    if (map_get(c, n, "every") && map_get(c, n, "buy"))
        errf(c, n, path, "give 'buy' (with 'free') or 'every', not both");
    if (map_get(c, n, "free") && !map_get(c, n, "buy"))
        errf(c, n, path, "'free' goes with 'buy'");
    if (s->free < 1)
        s->free = 1;
    if (!s->category[0] || s->every < 1)
        errf(c, n, path, "a stamp card needs 'category' and 'buy' (or 'every')");
    if (s->reward == PROG_REWARD_POINTS && s->points < 1)
        errf(c, n, path, "reward 'points' needs 'points'");
}

/* ------------------------------------------------------------------ birthday, tenure */

static void f_b_extra(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_percent(c, v, path, &c->p->birthday_bp);
}
static void f_b_min(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_money(c, v, path, &c->p->birthday_min_purchase);
}
static void f_b_item(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_str(c, v, path, c->p->birthday_item, ENG_NAME_MAX);
}
static const field_t birthday_fields[] = {
    {"extra_percent", f_b_extra}, {"minimum_purchase", f_b_min}, {"item", f_b_item}, {NULL, NULL}};

static void f_ten_years(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_i32(c, v, path, 0, 200, &c->p->tenure[*(uint32_t *)c->item].years);
}
static void f_ten_mult(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_mult(c, v, path, &c->p->tenure[*(uint32_t *)c->item].permille);
}
static void f_ten_months(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_i32(c, v, path, 0, 2400, &c->p->tenure[*(uint32_t *)c->item].months);
}
static const field_t tenure_fields[] = {
    {"years", f_ten_years}, {"months", f_ten_months}, {"multiplier", f_ten_mult}, {NULL, NULL}};
static void tenure_item(ctx_t *c, yaml_node_t *n, const char *path, uint32_t i)
{
    c->p->tenure[i].permille = 1000;
    c->item = &i;
    walk_map(c, n, path, tenure_fields);
    c->item = NULL;
    if (map_get(c, n, "years") && map_get(c, n, "months"))
        errf(c, n, path, "give 'years' or 'months', not both");
    else if (!map_get(c, n, "months"))
        c->p->tenure[i].months = c->p->tenure[i].years * 12;
    if (i > 0 && c->p->tenure[i].months <= c->p->tenure[i - 1].months)
        errf(c, n, path, "years (months) must ascend");
}

/* ------------------------------------------------------------------ returns, nudges */

static const char *const returns_names[] = {"never_below_zero", "debt", NULL};
static void f_ret_policy(ctx_t *c, yaml_node_t *v, const char *path)
{
    int e;
    if (get_enum(c, v, path, returns_names, &e) == 0)
        c->p->returns = (prog_returns_t)e;
}
static const field_t returns_fields[] = {{"policy", f_ret_policy}, {NULL, NULL}};

static void f_n_progress(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_bool(c, v, path, &c->p->progress);
}
static void f_n_within(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_metric_value(c, v, path, c->p->q_metric, &c->p->progress_within);
}
static const field_t nudge_fields[] = {
    {"progress", f_n_progress}, {"within", f_n_within}, {NULL, NULL}};

/* ------------------------------------------------------------------ welcome, basket */

static void f_w_days(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_i32(c, v, path, 1, 3660, &c->p->welcome_days);
}
static void f_w_months(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_i32(c, v, path, 1, 120, &c->p->welcome_months);
}
static void f_w_percent(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_percent(c, v, path, &c->p->welcome_bp);
}
static const field_t welcome_fields[] = {
    {"days", f_w_days}, {"months", f_w_months}, {"earn_percent", f_w_percent}, {NULL, NULL}};

static void basket_cat_item(ctx_t *c, yaml_node_t *n, const char *path, uint32_t i)
{
    prog_basket_t *b = c->item;
    get_str(c, n, path, b->categories[i], ENG_NAME_MAX);
}
static void f_bb_categories(ctx_t *c, yaml_node_t *v, const char *path)
{
    prog_basket_t *b = c->item;
    b->n = walk_seq(c, v, path, PROG_STAMP_CARDS, basket_cat_item);
    c->item = b;
}
static void f_bb_min(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_money(c, v, path, &((prog_basket_t *)c->item)->min_purchase);
}
static void f_bb_points(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_fixed(c, v, path, 0, 1, INT64_MAX / 100000, "a whole number of points from 1",
              &((prog_basket_t *)c->item)->points);
}
static void f_bb_item(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_str(c, v, path, ((prog_basket_t *)c->item)->item, ENG_NAME_MAX);
}
static const field_t basket_fields[] = {{"categories", f_bb_categories},
                                        {"minimum_purchase", f_bb_min},
                                        {"points", f_bb_points},
                                        {"item", f_bb_item},
                                        {NULL, NULL}};
static void basket_item(ctx_t *c, yaml_node_t *n, const char *path, uint32_t i)
{
    prog_basket_t *b = &c->p->basket[i];
    c->item = b;
    walk_map(c, n, path, basket_fields);
    if (b->n == 0)
        errf(c, n, path, "a basket bonus needs 'categories'");
    if (b->points == 0 && !b->item[0])
        errf(c, n, path, "a basket bonus needs 'points', 'item' or both");
}

/* ------------------------------------------------------------------ top level */

static void f_name(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_str(c, v, path, c->p->name, sizeof(c->p->name));
}
static void f_point_value(ctx_t *c, yaml_node_t *v, const char *path)
{
    get_money(c, v, path, &c->p->point_value);
    if (c->p->point_value < 1)
        errf(c, v, path, "a point must be worth at least one minor unit");
}
static void f_qualification(ctx_t *c, yaml_node_t *v, const char *path)
{
    (void)c, (void)v, (void)path; /* read first, see read_sections() */
}
static void f_tiers(ctx_t *c, yaml_node_t *v, const char *path)
{
    c->p->n_tiers = walk_seq(c, v, path, PROG_TIERS_MAX, tier_item);
    c->tiers_bad = c->seq_bad;
}
static void f_earning(ctx_t *c, yaml_node_t *v, const char *path)
{
    walk_map(c, v, path, earning_fields);
}
static void f_award(ctx_t *c, yaml_node_t *v, const char *path)
{
    c->p->has_award = true;
    walk_map(c, v, path, award_fields);
    if (c->p->n_award_bands == 0)
        errf(c, v, path, "a period award needs 'rates'");
}
static void f_redeem(ctx_t *c, yaml_node_t *v, const char *path)
{
    walk_map(c, v, path, redeem_fields);
}
static void f_demotion(ctx_t *c, yaml_node_t *v, const char *path)
{
    walk_map(c, v, path, demote_fields);
}
static void f_expiry(ctx_t *c, yaml_node_t *v, const char *path)
{
    walk_map(c, v, path, expiry_fields);
    if (c->p->expiry == PROG_EXPIRY_AFTER_DAYS && c->p->expiry_days < 1)
        errf(c, v, path, "mode after_days needs 'days'");
    if (c->p->expiry == PROG_EXPIRY_AFTER_MONTHS && c->p->expiry_months < 1)
        errf(c, v, path, "mode after_months needs 'months'");
}
static void f_stamps(ctx_t *c, yaml_node_t *v, const char *path)
{
    c->p->n_stamps = walk_seq(c, v, path, PROG_STAMP_CARDS, stamp_item);
}
static void f_birthday(ctx_t *c, yaml_node_t *v, const char *path)
{
    walk_map(c, v, path, birthday_fields);
}
static void f_tenure(ctx_t *c, yaml_node_t *v, const char *path)
{
    c->p->n_tenure = walk_seq(c, v, path, PROG_TENURE_MAX, tenure_item);
}
static void f_status(ctx_t *c, yaml_node_t *v, const char *path)
{
    c->p->n_status_mult = read_kv(c, v, path, c->p->status_mult, 1);
}
/* ------------------------------------------------------------------ late events */

static void f_l_grace(ctx_t *c, yaml_node_t *v, const char *path)
{
    int32_t m = 0;
    get_i32(c, v, path, 0, PROG_GRACE_MINUTES_MAX, &m);
    c->p->late_grace_ms = (int64_t)m * 60000;
}
static void f_l_max(ctx_t *c, yaml_node_t *v, const char *path)
{
    int32_t d = 0;
    get_i32(c, v, path, 1, PROG_MAX_LATENESS_DAYS_MAX, &d);
    c->p->max_lateness_ms = (int64_t)d * 86400000;
}
static const field_t late_fields[] = {
    {"grace_minutes", f_l_grace}, {"max_lateness_days", f_l_max}, {NULL, NULL}};
static void f_late(ctx_t *c, yaml_node_t *v, const char *path)
{
    walk_map(c, v, path, late_fields);
}

static void f_returns(ctx_t *c, yaml_node_t *v, const char *path)
{
    walk_map(c, v, path, returns_fields);
}
static void f_nudges(ctx_t *c, yaml_node_t *v, const char *path)
{
    walk_map(c, v, path, nudge_fields);
}
static void f_welcome(ctx_t *c, yaml_node_t *v, const char *path)
{
    walk_map(c, v, path, welcome_fields);
    if ((c->p->welcome_days > 0) == (c->p->welcome_months > 0))
        errf(c, v, path, "a welcome period needs 'days' or 'months' (one of them)");
    if (!map_get(c, v, "earn_percent"))
        errf(c, v, path, "a welcome period needs 'earn_percent'");
}
static void f_basket(ctx_t *c, yaml_node_t *v, const char *path)
{
    c->p->n_basket = walk_seq(c, v, path, PROG_BASKET_MAX, basket_item);
}
static const field_t top_fields[] = {{"name", f_name},
                                     {"currency", NULL},
                                     {"minor_units", NULL},
                                     {"timezone", NULL},
                                     {"point_value", f_point_value},
                                     {"qualification", f_qualification},
                                     {"tiers", f_tiers},
                                     {"earning", f_earning},
                                     {"period_award", f_award},
                                     {"redeeming", f_redeem},
                                     {"demotion", f_demotion},
                                     {"expiry", f_expiry},
                                     {"stamps", f_stamps},
                                     {"birthday", f_birthday},
                                     {"tenure", f_tenure},
                                     {"status_multipliers", f_status},
                                     {"returns", f_returns},
                                     {"nudges", f_nudges},
                                     {"late_events", f_late},
                                     {"welcome", f_welcome},
                                     {"basket_bonus", f_basket},
                                     {NULL, NULL}};

/* Currency, minor units and time zone first: money and calendars depend on them. */
static void read_basics(ctx_t *c, yaml_node_t *root)
{
    prog_t *p = c->p;
    yaml_node_t *cur = map_get(c, root, "currency");
    if (!cur) {
        errf(c, root, "currency", "missing (an ISO 4217 code such as RUB)");
    } else {
        const char *s = scalar(c, cur, "currency");
        if (s && iso4217_minor_units(s) < 0) {
            sug_t sg;
            sug_init(&sg, s);
            for (size_t i = 0; iso4217_code(i); i++)
                sug_offer(&sg, iso4217_code(i));
            char dym[160];
            did_you_mean(&sg, dym, sizeof(dym));
            errf(c, cur, "currency", "'%s' is not a currency code of ISO 4217 (such as EUR, RUB)%s",
                 s, dym);
        } else if (s) {
            snprintf(p->currency, sizeof(p->currency), "%s", s);
        }
    }
    p->minor_units = 2;
    yaml_node_t *mu = map_get(c, root, "minor_units");
    if (mu)
        get_i32(c, mu, "minor_units", 0, 4, &p->minor_units);
    p->point_value = 1;
    for (int i = 0; i < p->minor_units; i++)
        p->point_value *= 10;
    int iso_mu = p->currency[0] ? iso4217_minor_units(p->currency) : -1;
    if (iso_mu >= 0 && iso_mu != p->minor_units)
        warnf(c, mu ? mu : cur, "minor_units",
              "%s has %d decimals in ISO 4217, but this program counts %d%s (events' amounts "
              "are read in units of 1/%d %s)",
              p->currency, iso_mu, p->minor_units, mu ? "" : " (the default; set minor_units)",
              (int)p->point_value, p->currency);
    yaml_node_t *tzn = map_get(c, root, "timezone");
    if (!tzn) {
        errf(c, root, "timezone", "missing (an IANA zone such as Europe/Moscow)");
    } else {
        const char *s = scalar(c, tzn, "timezone");
        char e[256], near[128], dym[160] = "";
        if (s && !(p->tz = tz_load(s, c->zonedir, e, sizeof(e)))) {
            if (tz_suggest(s, c->zonedir, near, sizeof(near)) == 0)
                snprintf(dym, sizeof(dym), " (did you mean '%s'?)", near);
            errf(c, tzn, "timezone", "%s%s", e, dym);
        } else if (s)
            snprintf(p->timezone, sizeof(p->timezone), "%s", s);
    }
    yaml_node_t *q = map_get(c, root, "qualification");
    if (q)
        walk_map(c, q, "qualification", qual_fields);
    if (q && p->q_window == PROG_WIN_ROLLING_DAYS && p->q_days < 1)
        errf(c, q, "qualification.days", "window rolling_days needs 'days'");
}

static void defaults(prog_t *p)
{
    p->max_share_bp = 10000;
    p->late_grace_ms = PROG_GRACE_MINUTES_DEFAULT * 60000LL;
    p->max_lateness_ms = PROG_MAX_LATENESS_DAYS_DEFAULT * 86400000LL;
    p->demote_period = p->q_window == PROG_WIN_CALENDAR_YEAR ? PROG_PERIOD_YEAR : PROG_PERIOD_MONTH;
}

/* The first rate the program earns with (for the point_value example), 0 = none. */
static int32_t some_rate(const prog_t *p)
{
    if (p->base_bp)
        return p->base_bp;
    for (uint32_t i = 0; i < p->n_tiers; i++)
        if (p->tiers[i].earn_bp > 0)
            return p->tiers[i].earn_bp;
    if (p->n_partners)
        return p->partners[0].value;
    if (p->n_check_bands)
        return p->check_bands[p->n_check_bands - 1].rate_bp;
    if (p->n_award_bands)
        return p->award_bands[p->n_award_bands - 1].rate_bp;
    return 0;
}

/* point_value defaults to one whole currency unit, which makes small rates earn nothing
 * on ordinary purchases: say so, with the program's own rate as the example. */
static void warn_point_value(ctx_t *c, yaml_node_t *root)
{
    prog_t *p = c->p;
    if (map_get(c, root, "point_value") || !p->currency[0])
        return;
    char one[48], amt[48], rate[16], frac[48];
    prog_format_money(p, p->point_value, one, sizeof(one));
    int32_t bp = some_rate(p);
    if (bp <= 0) {
        warnf(c, root, "point_value",
              "not set: one point is worth one whole %s (%s %s) when redeemed", p->currency, one,
              p->currency);
        return;
    }
    int64_t amount = 40 * p->point_value; /* 40 whole units (point_value is one by default) */
    char unit[8] = "1";                   /* one minor unit in whole units: 0.01 */
    if (p->minor_units > 0)
        snprintf(unit, sizeof(unit), "0.%0*d", p->minor_units, 1);
    int64_t earned_minor = amount * bp / 10000;
    prog_format_money(p, amount, amt, sizeof(amt));
    prog_format_bp(bp, rate, sizeof(rate));
    double pts = (double)amount * bp / 10000.0 / (double)p->point_value;
    snprintf(frac, sizeof(frac), pts >= 0.01 || pts == 0 ? "%.2f" : "%.4f", pts);
    warnf(c, root, "point_value",
          "not set: one point is worth one whole %s (%s %s), so %s of a %s %s purchase is %s "
          "points, floored to %lld; for one point per minor unit write point_value: %s",
          p->currency, one, p->currency, rate, amt, p->currency, frac,
          (long long)(earned_minor / p->point_value), unit);
}

static void check_whole(ctx_t *c, yaml_node_t *root)
{
    prog_t *p = c->p;
    warn_point_value(c, root);
    yaml_node_t *tn = map_get(c, root, "tiers");
    if (p->n_tiers == 0) { /* no tiers: one implicit entry tier, never changes */
        snprintf(p->tiers[0].name, ENG_NAME_MAX, "member");
        p->tiers[0].earn_bp = -1;
        p->tiers[0].earn_permille = 1000;
        p->n_tiers = 1;
    } else if (p->tiers[0].threshold != 0 && !(c->tiers_bad & 1u)) {
        errf(c, seq_key_at(c, tn, 0, "threshold"), "tiers[0].threshold",
             "the entry tier's threshold must be 0");
    }
    for (uint32_t i = 1; i < p->n_tiers; i++) {
        char sub[64];
        uint32_t prev = i - 1;
        if (!(c->tiers_bad & ((1u << i) | (1u << prev))) &&
            p->tiers[i].threshold <= p->tiers[prev].threshold) {
            snprintf(sub, sizeof(sub), "tiers[%u].threshold", i);
            errf(c, seq_key_at(c, tn, i, "threshold"), sub,
                 "tier '%s' must have a higher threshold than '%s' (tiers[%u])", p->tiers[i].name,
                 p->tiers[prev].name, prev);
        }
        for (uint32_t j = 0; j < i; j++)
            if (p->tiers[i].name[0] && !strcmp(p->tiers[i].name, p->tiers[j].name)) {
                snprintf(sub, sizeof(sub), "tiers[%u].name", i);
                errf(c, seq_key_at(c, tn, i, "name"), sub,
                     "tier name '%s' is used twice (also tiers[%u])", p->tiers[i].name, j);
                break;
            }
    }
    yaml_node_t *x = map_get(c, root, "expiry");
    if (p->expiry == PROG_EXPIRY_NEVER && p->n_warn > 0)
        errf(c, key_or(c, x, "warning_days"), "expiry.warning_days",
             "warnings need an expiry mode other than never");
    yaml_node_t *d = map_get(c, root, "demotion");
    if (p->demote != PROG_DEMOTE_INACTIVITY && (p->inactivity_days || p->grace_days))
        errf(c, d, "demotion", "inactivity_days and grace_days need mode inactivity");
    if (p->has_award && p->demote == PROG_DEMOTE_PERIOD_END && p->award_period != p->demote_period)
        errf(c, key_or(c, d, "period"), "demotion.period",
             "must equal period_award.period (one period per program)");
    if (p->n_demote_warn > 0 && p->demote == PROG_DEMOTE_NEVER)
        errf(c, key_or(c, d, "warning_days"), "demotion.warning_days",
             "downgrade warnings need a demotion mode");
    if (p->demote == PROG_DEMOTE_PERIOD_END && p->q_window == PROG_WIN_LIFETIME)
        errf(c, key_or(c, d, "mode"), "demotion.mode",
             "at_period_end needs a periodic qualification window");
    if (p->demote == PROG_DEMOTE_RESET_EACH_PERIOD) {
        prog_period_t want =
            p->q_window == PROG_WIN_CALENDAR_YEAR ? PROG_PERIOD_YEAR : PROG_PERIOD_MONTH;
        if (p->q_window != PROG_WIN_CALENDAR_MONTH && p->q_window != PROG_WIN_CALENDAR_YEAR)
            errf(c, key_or(c, d, "mode"), "demotion.mode",
                 "reset_each_period needs window calendar_month or calendar_year");
        else if (p->demote_period != want || (p->has_award && p->award_period != want))
            errf(c, key_or(c, d, "period"), "demotion.period",
                 "reset_each_period: the period must be the qualification window's");
        if (p->n_demote_warn > 0)
            errf(c, key_or(c, d, "warning_days"), "demotion.warning_days",
                 "reset_each_period has no downgrade warnings");
    }
    yaml_node_t *n = map_get(c, root, "nudges");
    if (p->progress && p->n_tiers < 2)
        errf(c, key_or(c, n, "progress"), "nudges.progress",
             "progress nudges need at least two tiers");
    for (uint32_t i = 0; i < p->n_stamps; i++)
        if (p->stamps[i].reward != PROG_REWARD_POINTS && p->stamps[i].points) {
            char sub[64];
            snprintf(sub, sizeof(sub), "stamps[%u].points", i);
            errf(c, seq_key_at(c, map_get(c, root, "stamps"), i, "points"), sub,
                 "'points' needs reward: points");
        }
}

prog_t *prog_load_string(const char *yaml, const char *name, const char *zonedir, char *err,
                         size_t errlen)
{
    if (errlen)
        err[0] = '\0';
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, errlen, "%s: out of memory", name);
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, strlen(yaml));
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(err, errlen, "%s:%zu:%zu: YAML: %s", name, parser.problem_mark.line + 1,
                 parser.problem_mark.column + 1, parser.problem ? parser.problem : "bad YAML");
        yaml_parser_delete(&parser);
        return NULL;
    }
    prog_t *p = calloc(1, sizeof(*p));
    ctx_t c = {.doc = &doc, .file = name, .err = err, .errlen = errlen, .p = p, .zonedir = zonedir};
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!p) {
        snprintf(err, errlen, "%s: out of memory", name);
    } else if (!root) {
        errf(&c, NULL, "program", "the file is empty");
    } else if (root->type != YAML_MAPPING_NODE) {
        errf(&c, root, "program", "expected a mapping of keys at the top");
    } else {
        snprintf(p->file, sizeof(p->file), "%s", name);
        read_basics(&c, root);
        defaults(p);
        walk_map(&c, root, "", top_fields);
        check_whole(&c, root);
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (!p || c.nerr > 0) {
        prog_destroy(p);
        return NULL;
    }
    return p;
}

prog_t *prog_load(const char *path, const char *zonedir, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == cap) {
            char *nb = cap < (8u << 20) ? realloc(buf, cap * 2) : NULL;
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf) {
        snprintf(err, errlen, "%s: too large or out of memory", path);
        return NULL;
    }
    buf[len] = '\0';
    prog_t *p = prog_load_string(buf, path, zonedir, err, errlen);
    free(buf);
    return p;
}

void prog_destroy(prog_t *prog)
{
    if (!prog)
        return;
    tz_destroy(prog->tz);
    free(prog);
}

int32_t prog_band_rate(const prog_band_t *bands, uint32_t n, int64_t value, bool upper_inclusive)
{
    int32_t rate = 0;
    for (uint32_t i = 0; i < n; i++)
        if (upper_inclusive ? value > bands[i].from || (i == 0 && value >= bands[i].from)
                            : value >= bands[i].from)
            rate = bands[i].rate_bp;
    return rate;
}

int32_t prog_tier_for(const prog_t *prog, int64_t value)
{
    int32_t t = 0;
    for (uint32_t i = 1; i < prog->n_tiers; i++)
        if (prog->upper_inclusive ? value > prog->tiers[i].threshold
                                  : value >= prog->tiers[i].threshold)
            t = (int32_t)i;
    return t;
}
