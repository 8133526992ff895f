/*
 * klog: what becomes of librdkafka's own log lines. During a broker outage librdkafka
 * logs every failed connection attempt of every client at error level, each with a
 * hint ("might be caused by incorrect security.protocol configuration ...") that is
 * wrong for a broker that is merely down. An outage is routine for a stream processor
 * (librdkafka reconnects by itself), so it deserves one warning per broker, not a page.
 *
 * The one idea: klog_filter decides per line: its level (connection failures and
 * transport errors are warnings, not errors), its text (the misleading hint removed) and
 * whether it is written at all (a broker's repeated failures within KLOG_WINDOW_MS are
 * counted, not written; the next line written says how many were suppressed). The
 * limiter is keyed by facility and broker, so the three clients of one instance that
 * lose the same broker produce one line between them.
 */
#ifndef LS_KLOG_H
#define LS_KLOG_H

#include "log.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Repeats of one broker's failure are written at most once per window. */
#define KLOG_WINDOW_MS 60000
#define KLOG_SLOTS     64

typedef struct klog_slot {
    uint64_t key; /* hash of facility and broker; 0 = free */
    int64_t last_ms;
    int64_t suppressed;
} klog_slot_t;

/** The limiter's state; zero-initialised (or KLOG_INIT) is ready. Thread-safe. */
typedef struct klog {
    pthread_mutex_t mu;
    klog_slot_t slots[KLOG_SLOTS];
} klog_t;

#define KLOG_INIT                       \
    {                                   \
        .mu = PTHREAD_MUTEX_INITIALIZER \
    }

/** One line's fate. */
typedef struct klog_line {
    bool emit;          /* false: suppressed (a repeat within the window) */
    log_level_t level;  /* the level to write it at */
    int64_t suppressed; /* repeats suppressed since the last line of this key */
} klog_line_t;

/**
 * @brief Classify a librdkafka log line (@p syslog_level 0-7, facility @p fac, text
 *        @p buf) at wall time @p now_ms. Writes the text to log into @p out (the hint
 *        removed) and fills @p line.
 * @locality any thread (librdkafka calls its log callback from its own threads).
 */
void klog_filter(klog_t *k, int syslog_level, const char *fac, const char *buf, int64_t now_ms,
                 char *out, size_t outlen, klog_line_t *line);

#endif
