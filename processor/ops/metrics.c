/*
 * metrics: the Prometheus registry (see metrics.h for the contract).
 *
 * Why it is shaped this way: the pipeline updates a few counters per record, so an update
 * must be one atomic instruction (or a short compare-and-swap loop for doubles) on memory
 * that no one frees while the process runs. Everything that allocates or walks lists
 * (registering, finding a series, rendering) holds one mutex and happens rarely: at
 * start-up, on a rebalance, and once per scrape. A series pre-renders its label text
 * (escaped) when it is created, so a scrape only formats numbers.
 */
#include "metrics.h"

#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

struct met_series {
    met_family_t *fam;
    struct met_series *next;
    char **values;          /* the label values, fam->nlabels of them */
    char *label_text;       /* `a="x",b="y"` escaped, "" without labels */
    _Atomic int64_t ival;   /* integer counter or gauge */
    _Atomic uint64_t dbits; /* double counter or gauge, or a histogram's sum (IEEE bits) */
    _Atomic bool visible;
    _Atomic uint64_t buckets[]; /* histogram: nbuckets + 1 (the last is > every bound) */
};

struct met_family {
    struct met_family *next;
    met_registry_t *reg;
    char *name;
    char *help;
    met_type_t type;
    bool is_double;
    char *labels[MET_MAX_LABELS];
    size_t nlabels;
    double bounds[MET_MAX_BUCKETS];
    size_t nbuckets;
    struct met_series *series_head, *series_tail;
};

struct met_registry {
    pthread_mutex_t mu;
    met_family_t *head, *tail;
};

/* The public handle types are never defined: a handle is a struct met_series. */
#define SERIES(h) ((struct met_series *)(h))

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static double bits_to_double(uint64_t bits)
{
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static uint64_t double_to_bits(double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    return bits;
}

met_registry_t *met_registry_new(void)
{
    met_registry_t *reg = calloc(1, sizeof *reg);
    if (reg == NULL)
        return NULL;
    if (pthread_mutex_init(&reg->mu, NULL) != 0) {
        free(reg);
        return NULL;
    }
    return reg;
}

static void series_free(struct met_series *s, size_t nlabels)
{
    if (s == NULL)
        return;
    if (s->values != NULL)
        for (size_t i = 0; i < nlabels; i++)
            free(s->values[i]);
    free(s->values);
    free(s->label_text);
    free(s);
}

static void family_free(met_family_t *f)
{
    if (f == NULL)
        return;
    struct met_series *s = f->series_head;
    while (s != NULL) {
        struct met_series *next = s->next;
        series_free(s, f->nlabels);
        s = next;
    }
    for (size_t i = 0; i < f->nlabels; i++)
        free(f->labels[i]);
    free(f->name);
    free(f->help);
    free(f);
}

void met_registry_destroy(met_registry_t *reg)
{
    if (reg == NULL)
        return;
    met_family_t *f = reg->head;
    while (f != NULL) {
        met_family_t *next = f->next;
        family_free(f);
        f = next;
    }
    pthread_mutex_destroy(&reg->mu);
    free(reg);
}

/* ---- validation ---- */

static bool valid_name(const char *s, bool colon_ok)
{
    if (s == NULL || *s == '\0')
        return false;
    for (const char *p = s; *p != '\0'; p++) {
        char c = *p;
        bool alpha =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon_ok && c == ':');
        bool digit = c >= '0' && c <= '9';
        if (!alpha && !(digit && p != s))
            return false;
    }
    return true;
}

static bool family_exists(const met_registry_t *reg, const char *name)
{
    for (const met_family_t *f = reg->head; f != NULL; f = f->next)
        if (strcmp(f->name, name) == 0)
            return true;
    return false;
}

static int check_labels(const met_spec_t *spec, char *err, size_t errlen)
{
    if (spec->nlabels > MET_MAX_LABELS || (spec->nlabels > 0 && spec->labels == NULL)) {
        set_err(err, errlen, "metric %s: at most %d labels, given as an array", spec->name,
                MET_MAX_LABELS);
        return -1;
    }
    for (size_t i = 0; i < spec->nlabels; i++) {
        const char *l = spec->labels[i];
        if (!valid_name(l, false) || strncmp(l, "__", 2) == 0) {
            set_err(err, errlen, "metric %s: invalid label name '%s'", spec->name,
                    l ? l : "(null)");
            return -1;
        }
        if (spec->type == MET_HISTOGRAM && strcmp(l, "le") == 0) {
            set_err(err, errlen, "metric %s: a histogram may not have a label 'le'", spec->name);
            return -1;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(spec->labels[j], l) == 0) {
                set_err(err, errlen, "metric %s: label '%s' appears twice", spec->name, l);
                return -1;
            }
    }
    return 0;
}

static int check_buckets(const met_spec_t *spec, char *err, size_t errlen)
{
    if (spec->type != MET_HISTOGRAM)
        return 0;
    if (spec->nbuckets == 0 || spec->nbuckets > MET_MAX_BUCKETS || spec->buckets == NULL) {
        set_err(err, errlen, "histogram %s: needs 1 to %d buckets", spec->name, MET_MAX_BUCKETS);
        return -1;
    }
    for (size_t i = 0; i < spec->nbuckets; i++) {
        if (!isfinite(spec->buckets[i]) || (i > 0 && spec->buckets[i] <= spec->buckets[i - 1])) {
            set_err(err, errlen,
                    "histogram %s: bucket bounds must be finite and strictly increasing "
                    "(bucket %zu)",
                    spec->name, i);
            return -1;
        }
    }
    return 0;
}

static int check_spec(const met_registry_t *reg, const met_spec_t *spec, char *err, size_t errlen)
{
    if (spec->type != MET_COUNTER && spec->type != MET_GAUGE && spec->type != MET_HISTOGRAM) {
        set_err(err, errlen, "metric %s: unknown type %d", spec->name ? spec->name : "(null)",
                (int)spec->type);
        return -1;
    }
    if (!valid_name(spec->name, true)) {
        set_err(err, errlen, "invalid metric name '%s'", spec->name ? spec->name : "(null)");
        return -1;
    }
    if (family_exists(reg, spec->name)) {
        set_err(err, errlen, "metric %s is already registered", spec->name);
        return -1;
    }
    if (check_labels(spec, err, errlen) != 0)
        return -1;
    return check_buckets(spec, err, errlen);
}

/* ---- registration ---- */

static met_family_t *family_from_spec(met_registry_t *reg, const met_spec_t *spec)
{
    met_family_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        return NULL;
    f->reg = reg;
    f->type = spec->type;
    f->is_double = spec->is_double;
    f->name = strdup(spec->name);
    f->help = strdup(spec->help ? spec->help : "");
    f->nlabels = spec->nlabels;
    bool ok = f->name != NULL && f->help != NULL;
    for (size_t i = 0; i < spec->nlabels; i++) {
        f->labels[i] = strdup(spec->labels[i]);
        ok = ok && f->labels[i] != NULL;
    }
    if (spec->type == MET_HISTOGRAM) {
        f->nbuckets = spec->nbuckets;
        memcpy(f->bounds, spec->buckets, spec->nbuckets * sizeof(double));
    }
    if (!ok) {
        family_free(f);
        return NULL;
    }
    return f;
}

met_family_t *met_family_new(met_registry_t *reg, const met_spec_t *spec, char *err, size_t errlen)
{
    if (reg == NULL || spec == NULL) {
        set_err(err, errlen, "met_family_new: registry and spec are required");
        return NULL;
    }
    pthread_mutex_lock(&reg->mu);
    met_family_t *f = NULL;
    if (check_spec(reg, spec, err, errlen) != 0)
        goto out;
    f = family_from_spec(reg, spec);
    if (f == NULL) {
        set_err(err, errlen, "metric %s: out of memory", spec->name);
        goto out;
    }
    if (reg->tail != NULL)
        reg->tail->next = f;
    else
        reg->head = f;
    reg->tail = f;
out:
    pthread_mutex_unlock(&reg->mu);
    return f;
}

/* Append `s` to the stream with the escapes the text format wants: '\\' and '\n' always,
 * '"' too inside label values. */
static void put_escaped(FILE *out, const char *s, bool quote)
{
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '\\')
            fputs("\\\\", out);
        else if (*p == '\n')
            fputs("\\n", out);
        else if (*p == '"' && quote)
            fputs("\\\"", out);
        else
            fputc(*p, out);
    }
}

static char *render_label_text(const met_family_t *f, const char *const *values)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < f->nlabels; i++) {
        fprintf(out, "%s%s=\"", i > 0 ? "," : "", f->labels[i]);
        put_escaped(out, values[i], true);
        fputc('"', out);
    }
    if (fclose(out) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static struct met_series *series_new(met_family_t *f, const char *const *values)
{
    size_t nb = f->type == MET_HISTOGRAM ? f->nbuckets + 1 : 0;
    struct met_series *s = calloc(1, sizeof *s + nb * sizeof(s->buckets[0]));
    if (s == NULL)
        return NULL;
    s->fam = f;
    bool ok = true;
    if (f->nlabels > 0) {
        s->values = calloc(f->nlabels, sizeof(char *));
        ok = s->values != NULL;
        for (size_t i = 0; ok && i < f->nlabels; i++) {
            s->values[i] = strdup(values[i]);
            ok = s->values[i] != NULL;
        }
    }
    s->label_text = ok ? render_label_text(f, values) : NULL;
    if (s->label_text == NULL) {
        series_free(s, f->nlabels);
        return NULL;
    }
    atomic_init(&s->ival, 0);
    atomic_init(&s->dbits, double_to_bits(0.0));
    atomic_init(&s->visible, true);
    for (size_t i = 0; i < nb; i++)
        atomic_init(&s->buckets[i], 0);
    return s;
}

static struct met_series *series_find(const met_family_t *f, const char *const *values)
{
    for (struct met_series *s = f->series_head; s != NULL; s = s->next) {
        size_t i = 0;
        while (i < f->nlabels && strcmp(s->values[i], values[i]) == 0)
            i++;
        if (i == f->nlabels)
            return s;
    }
    return NULL;
}

static struct met_series *series_get(met_family_t *f, met_type_t type, const char *const *values,
                                     char *err, size_t errlen)
{
    if (f == NULL) {
        set_err(err, errlen, "metric family is NULL (its registration failed?)");
        return NULL;
    }
    if (f->type != type) {
        set_err(err, errlen, "metric %s is not a %s", f->name,
                type == MET_COUNTER ? "counter"
                : type == MET_GAUGE ? "gauge"
                                    : "histogram");
        return NULL;
    }
    for (size_t i = 0; i < f->nlabels; i++)
        if (values == NULL || values[i] == NULL) {
            set_err(err, errlen, "metric %s: no value for label '%s'", f->name, f->labels[i]);
            return NULL;
        }
    pthread_mutex_lock(&f->reg->mu);
    struct met_series *s = series_find(f, values);
    if (s == NULL && (s = series_new(f, values)) != NULL) {
        if (f->series_tail != NULL)
            f->series_tail->next = s;
        else
            f->series_head = s;
        f->series_tail = s;
    }
    pthread_mutex_unlock(&f->reg->mu);
    if (s == NULL)
        set_err(err, errlen, "metric %s: out of memory", f->name);
    return s;
}

met_counter_t *met_counter_get(met_family_t *fam, const char *const *values, char *err,
                               size_t errlen)
{
    return (met_counter_t *)series_get(fam, MET_COUNTER, values, err, errlen);
}

met_gauge_t *met_gauge_get(met_family_t *fam, const char *const *values, char *err, size_t errlen)
{
    return (met_gauge_t *)series_get(fam, MET_GAUGE, values, err, errlen);
}

met_histogram_t *met_histogram_get(met_family_t *fam, const char *const *values, char *err,
                                   size_t errlen)
{
    return (met_histogram_t *)series_get(fam, MET_HISTOGRAM, values, err, errlen);
}

/* ---- updates (lock-free) ---- */

/* Round half away from zero, clamped to the int64 range (a cast out of range is undefined);
 * NaN becomes 0. Done by hand so the library needs no libm. */
static int64_t round_i64(double v)
{
    if (!(v == v))
        return 0;
    if (v >= 9223372036854775807.0)
        return INT64_MAX;
    if (v <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)(v < 0 ? v - 0.5 : v + 0.5);
}

static void add_double(_Atomic uint64_t *bits, double v)
{
    uint64_t old = atomic_load_explicit(bits, memory_order_relaxed);
    uint64_t next;
    do {
        next = double_to_bits(bits_to_double(old) + v);
    } while (!atomic_compare_exchange_weak_explicit(bits, &old, next, memory_order_relaxed,
                                                    memory_order_relaxed));
}

static void series_add_f(struct met_series *s, double v)
{
    if (s->fam->is_double)
        add_double(&s->dbits, v);
    else
        atomic_fetch_add_explicit(&s->ival, round_i64(v), memory_order_relaxed);
}

static void series_set_f(struct met_series *s, double v)
{
    if (s->fam->is_double)
        atomic_store_explicit(&s->dbits, double_to_bits(v), memory_order_relaxed);
    else
        atomic_store_explicit(&s->ival, round_i64(v), memory_order_relaxed);
}

static void series_add_i(struct met_series *s, int64_t n)
{
    if (s->fam->is_double)
        add_double(&s->dbits, (double)n);
    else
        atomic_fetch_add_explicit(&s->ival, n, memory_order_relaxed);
}

static void series_set_i(struct met_series *s, int64_t v)
{
    if (s->fam->is_double)
        atomic_store_explicit(&s->dbits, double_to_bits((double)v), memory_order_relaxed);
    else
        atomic_store_explicit(&s->ival, v, memory_order_relaxed);
}

static void series_show(struct met_series *s)
{
    atomic_store_explicit(&s->visible, true, memory_order_relaxed);
}

void met_counter_add(met_counter_t *c, int64_t n)
{
    if (c != NULL && n >= 0)
        series_add_i(SERIES(c), n);
}

void met_counter_add_f(met_counter_t *c, double v)
{
    if (c != NULL && v >= 0.0) /* also drops NaN */
        series_add_f(SERIES(c), v);
}

void met_gauge_set(met_gauge_t *g, int64_t v)
{
    if (g == NULL)
        return;
    series_set_i(SERIES(g), v);
    series_show(SERIES(g));
}

void met_gauge_set_f(met_gauge_t *g, double v)
{
    if (g == NULL)
        return;
    series_set_f(SERIES(g), v);
    series_show(SERIES(g));
}

void met_gauge_add(met_gauge_t *g, int64_t n)
{
    if (g == NULL)
        return;
    series_add_i(SERIES(g), n);
    series_show(SERIES(g));
}

void met_gauge_add_f(met_gauge_t *g, double v)
{
    if (g == NULL)
        return;
    series_add_f(SERIES(g), v);
    series_show(SERIES(g));
}

void met_gauge_unset(met_gauge_t *g)
{
    if (g != NULL)
        atomic_store_explicit(&SERIES(g)->visible, false, memory_order_relaxed);
}

void met_histogram_observe(met_histogram_t *h, double v)
{
    if (h == NULL || isnan(v))
        return;
    struct met_series *s = SERIES(h);
    const met_family_t *f = s->fam;
    size_t i = 0;
    while (i < f->nbuckets && v > f->bounds[i])
        i++;
    atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
    add_double(&s->dbits, v);
}

/* Readers take const handles; C11's atomic loads want non-const objects, hence the cast. */
static double series_value(const void *h)
{
    if (h == NULL)
        return 0.0;
    struct met_series *s = (struct met_series *)h;
    if (s->fam->type == MET_HISTOGRAM || s->fam->is_double)
        return bits_to_double(atomic_load_explicit(&s->dbits, memory_order_relaxed));
    return (double)atomic_load_explicit(&s->ival, memory_order_relaxed);
}

double met_counter_value(const met_counter_t *c)
{
    return series_value(c);
}

double met_gauge_value(const met_gauge_t *g)
{
    return series_value(g);
}

double met_histogram_sum(const met_histogram_t *h)
{
    return series_value(h);
}

uint64_t met_histogram_count(const met_histogram_t *h)
{
    if (h == NULL)
        return 0;
    struct met_series *s = (struct met_series *)h;
    uint64_t n = 0;
    for (size_t i = 0; i <= s->fam->nbuckets; i++)
        n += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
    return n;
}

/* ---- rendering ---- */

/* The shortest of %.15g / %.17g that reads back as the same double; Prometheus spells
 * the specials NaN, +Inf and -Inf. */
static const char *fmt_double(char buf[40], double v)
{
    if (isnan(v))
        return "NaN";
    if (isinf(v))
        return v > 0 ? "+Inf" : "-Inf";
    snprintf(buf, 40, "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, 40, "%.17g", v);
    return buf;
}

static void render_value_series(FILE *out, const met_family_t *f, struct met_series *s)
{
    if (!atomic_load_explicit(&s->visible, memory_order_relaxed))
        return;
    fputs(f->name, out);
    if (s->label_text[0] != '\0')
        fprintf(out, "{%s}", s->label_text);
    if (f->is_double) {
        char buf[40];
        double v = bits_to_double(atomic_load_explicit(&s->dbits, memory_order_relaxed));
        fprintf(out, " %s\n", fmt_double(buf, v));
    } else {
        fprintf(out, " %" PRId64 "\n", atomic_load_explicit(&s->ival, memory_order_relaxed));
    }
}

static void render_histogram_series(FILE *out, const met_family_t *f, struct met_series *s)
{
    const char *sep = s->label_text[0] != '\0' ? "," : "";
    uint64_t cumulative = 0;
    char buf[40];
    for (size_t i = 0; i <= f->nbuckets; i++) {
        cumulative += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
        const char *le = i < f->nbuckets ? fmt_double(buf, f->bounds[i]) : "+Inf";
        fprintf(out, "%s_bucket{%s%sle=\"%s\"} %" PRIu64 "\n", f->name, s->label_text, sep, le,
                cumulative);
    }
    double sum = bits_to_double(atomic_load_explicit(&s->dbits, memory_order_relaxed));
    const char *lb = s->label_text[0] != '\0' ? "{" : "";
    const char *rb = s->label_text[0] != '\0' ? "}" : "";
    fprintf(out, "%s_sum%s%s%s %s\n", f->name, lb, s->label_text, rb, fmt_double(buf, sum));
    fprintf(out, "%s_count%s%s%s %" PRIu64 "\n", f->name, lb, s->label_text, rb, cumulative);
}

static void render_family(FILE *out, const met_family_t *f)
{
    static const char *const type_names[] = {"counter", "gauge", "histogram"};
    fprintf(out, "# HELP %s ", f->name);
    put_escaped(out, f->help, false);
    fprintf(out, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
    for (struct met_series *s = f->series_head; s != NULL; s = s->next) {
        if (f->type == MET_HISTOGRAM)
            render_histogram_series(out, f, s);
        else
            render_value_series(out, f, s);
    }
}

char *met_render(met_registry_t *reg, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *out = open_memstream(&buf, &n);
    if (out == NULL)
        return NULL;
    if (reg != NULL) {
        pthread_mutex_lock(&reg->mu);
        for (const met_family_t *f = reg->head; f != NULL; f = f->next)
            render_family(out, f);
        pthread_mutex_unlock(&reg->mu);
    }
    if (fclose(out) != 0) {
        free(buf);
        return NULL;
    }
    if (len != NULL)
        *len = n;
    return buf;
}

int64_t met_process_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return -1;
    long long size = 0, resident = 0;
    int n = fscanf(f, "%lld %lld", &size, &resident);
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    if (n != 2 || page <= 0)
        return -1;
    return (int64_t)resident * page;
}

int met_process_parse_stat(const char *line, long ticks_per_second, int64_t boot_time_s,
                           long page_size, met_process_t *out)
{
    const char *rp = line ? strrchr(line, ')') : NULL; /* the command ends at the last ')' */
    if (!rp || ticks_per_second <= 0 || page_size <= 0)
        return -1;
    /* Fields after the command, numbered as in proc(5): 3 state ... 14 utime, 15 stime,
     * 22 starttime, 23 vsize, 24 rss. */
    unsigned long long utime = 0, stime = 0, start = 0, vsize = 0;
    long long rss = 0;
    int n = sscanf(rp + 1,
                   " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d "
                   "%*d %llu %llu %lld",
                   &utime, &stime, &start, &vsize, &rss);
    if (n != 5)
        return -1;
    out->cpu_seconds = (double)(utime + stime) / (double)ticks_per_second;
    out->start_time_seconds = (double)boot_time_s + (double)start / (double)ticks_per_second;
    out->virtual_bytes = (int64_t)vsize;
    out->rss_bytes = (int64_t)rss * page_size;
    return 0;
}

static int64_t boot_time_s(void)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return -1;
    char line[256];
    long long bt = -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "btime %lld", &bt) == 1)
            break;
    fclose(f);
    return bt;
}

int met_process_read(met_process_t *out)
{
    memset(out, 0, sizeof(*out));
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f)
        return -1;
    char line[1024];
    bool got = fgets(line, sizeof(line), f) != NULL;
    fclose(f);
    int64_t bt = boot_time_s();
    if (!got || bt < 0 ||
        met_process_parse_stat(line, sysconf(_SC_CLK_TCK), bt, sysconf(_SC_PAGESIZE), out) != 0)
        return -1;
    out->open_fds = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)))
            out->open_fds += e->d_name[0] != '.';
        closedir(d);
        out->open_fds--; /* the directory's own descriptor */
    }
    struct rlimit rl;
    out->max_fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                       ? (int64_t)rl.rlim_cur
                       : -1;
    return 0;
}
