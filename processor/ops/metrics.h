/*
 * metrics: a small Prometheus registry (counters, gauges, histograms with labels) that the
 * pipeline thread updates and the HTTP thread renders in text exposition format 0.0.4.
 *
 * The one idea: a *family* (name, help, type, label names) is registered once; a *series*
 * (one combination of label values, e.g. task="3") is created once with met_*_get and its
 * handle is then updated with plain C11 atomics, no lock. The registry's mutex is taken
 * only when a family or series is created and while rendering; series are never freed
 * before the registry, so a handle stays valid for the registry's lifetime. A scrape
 * therefore never blocks an update, and an update never blocks a scrape.
 *
 * Typical use (a table of families at start-up, series per task on assignment):
 *
 *   met_registry_t *reg = met_registry_new();
 *   static const char *const task_label[] = {"task"};
 *   met_family_t *f = met_family_new(reg, &(met_spec_t){
 *       .name = "loyalty_records_consumed_total", .help = "Input records consumed.",
 *       .type = MET_COUNTER, .labels = task_label, .nlabels = 1}, err, sizeof err);
 *   met_counter_t *c = met_counter_get(f, (const char *[]){"3"}, err, sizeof err);
 *   met_counter_add(c, 1);                  // hot path: one atomic add
 *   char *text = met_render(reg, &len);     // HTTP thread; caller frees
 */
#ifndef LS_METRICS_H
#define LS_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct met_registry met_registry_t;
typedef struct met_family met_family_t;
/* Series handles. Three distinct opaque types, so the compiler catches a histogram passed
 * where a counter is expected; all three are one internal struct in metrics.c. */
typedef struct met_counter met_counter_t;
typedef struct met_gauge met_gauge_t;
typedef struct met_histogram met_histogram_t;

typedef enum { MET_COUNTER = 0, MET_GAUGE = 1, MET_HISTOGRAM = 2 } met_type_t;

/** Largest number of labels per family and of finite buckets per histogram. */
#define MET_MAX_LABELS  8
#define MET_MAX_BUCKETS 32

/** One family. Strings and arrays are copied by met_family_new. */
typedef struct {
    const char *name;          /**< [a-zA-Z_:][a-zA-Z0-9_:]*; counters should end in _total */
    const char *help;          /**< one line; '\\' and newlines are escaped on output */
    met_type_t type;           /**< counter, gauge or histogram */
    bool is_double;            /**< counter/gauge values are doubles (else int64) */
    const char *const *labels; /**< label names ([a-zA-Z_][a-zA-Z0-9_]*, no "__" prefix) */
    size_t nlabels;            /**< 0..MET_MAX_LABELS */
    const double *buckets;     /**< histogram: finite upper bounds, strictly increasing */
    size_t nbuckets;           /**< histogram: 1..MET_MAX_BUCKETS (+Inf is implicit) */
} met_spec_t;

/** @brief A new, empty registry. @returns NULL only when out of memory. */
met_registry_t *met_registry_new(void);

/** @brief Free the registry, its families and every series handle. NULL is a no-op.
 *  @locality no other thread may use the registry or its handles any more. */
void met_registry_destroy(met_registry_t *reg);

/**
 * @brief Register a family. The registry owns it.
 * @returns the family, or NULL with @p err filled (bad or duplicate name, bad label name,
 *          bad buckets, out of memory).
 * @locks the registry mutex (start-up path, never the hot path).
 */
met_family_t *met_family_new(met_registry_t *reg, const met_spec_t *spec, char *err, size_t errlen);

/**
 * @brief The series of @p fam for @p values (nlabels strings, in the order of the spec's
 *        labels; NULL when the family has no labels), created on first use. Calling it
 *        again with the same values returns the same handle (a task that comes back after
 *        a rebalance keeps counting where it stopped). The registry owns the handle.
 * @returns the handle, or NULL with @p err filled (wrong family type, NULL value, out of
 *          memory).
 * @locks the registry mutex: call on assignment, keep the handle, not per record.
 */
met_counter_t *met_counter_get(met_family_t *fam, const char *const *values, char *err,
                               size_t errlen);
met_gauge_t *met_gauge_get(met_family_t *fam, const char *const *values, char *err, size_t errlen);
met_histogram_t *met_histogram_get(met_family_t *fam, const char *const *values, char *err,
                                   size_t errlen);

/*
 * Updates: lock-free, callable from any thread, never fail. A NULL handle is a no-op so a
 * caller may run without metrics. Integer calls on a double series convert the value;
 * double calls on an integer series round it to the nearest integer
 * (half away from zero).
 */
/** @brief Add @p n (>= 0; a negative value is ignored, counters only go up). */
void met_counter_add(met_counter_t *c, int64_t n);
void met_counter_add_f(met_counter_t *c, double v);
void met_gauge_set(met_gauge_t *g, int64_t v);
void met_gauge_set_f(met_gauge_t *g, double v);
void met_gauge_add(met_gauge_t *g, int64_t n);
void met_gauge_add_f(met_gauge_t *g, double v);
/** @brief Hide the series from scrapes until it is set again (a revoked task's lag). */
void met_gauge_unset(met_gauge_t *g);
/** @brief Count one observation into its bucket (le = upper bound, inclusive) and sum. */
void met_histogram_observe(met_histogram_t *h, double v);

/** @brief Read a value (tests, and the pipeline's own progress line); 0 for NULL. */
double met_counter_value(const met_counter_t *c);
double met_gauge_value(const met_gauge_t *g);
/** @brief A histogram's sum of observations and its observation count. */
double met_histogram_sum(const met_histogram_t *h);
uint64_t met_histogram_count(const met_histogram_t *h);

/**
 * @brief Render every family in registration order, its series in creation order, in the
 *        Prometheus text format 0.0.4. Families without a visible series print only their
 *        HELP and TYPE lines. A concurrent update shows up or not; a histogram's _count is
 *        always equal to its +Inf bucket.
 * @returns a NUL-terminated string the caller frees with free(), its length in @p len
 *          (may be NULL); NULL when out of memory.
 * @locks the registry mutex (updates do not take it).
 */
char *met_render(met_registry_t *reg, size_t *len);

/** @brief The process's resident set size in bytes from /proc/self/statm, or -1. */
int64_t met_process_rss_bytes(void);

/** The standard process metrics (process_*), as a Prometheus client library exports them. */
typedef struct met_process {
    int64_t rss_bytes;         /**< process_resident_memory_bytes */
    int64_t virtual_bytes;     /**< process_virtual_memory_bytes */
    double cpu_seconds;        /**< process_cpu_seconds_total: user + system */
    double start_time_seconds; /**< process_start_time_seconds: since the Unix epoch */
    int64_t open_fds;          /**< process_open_fds */
    int64_t max_fds;           /**< process_max_fds (RLIMIT_NOFILE soft limit), -1 unlimited */
} met_process_t;

/**
 * @brief Parse a /proc/PID/stat line (the command may hold spaces and parentheses).
 * @param ticks_per_second sysconf(_SC_CLK_TCK); @param boot_time_s btime of /proc/stat.
 * @returns 0 with cpu_seconds, start_time_seconds, virtual_bytes and rss_bytes (pages of
 *          @p page_size) set in @p out; -1 when the line does not parse.
 */
int met_process_parse_stat(const char *line, long ticks_per_second, int64_t boot_time_s,
                           long page_size, met_process_t *out);

/** @brief Read this process's metrics from /proc/self. @returns 0, or -1 (not Linux). */
int met_process_read(met_process_t *out);

#endif
