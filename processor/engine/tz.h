/*
 * tz: civil time in an IANA time zone without the C library's global TZ state.
 *
 * The one idea: a zone is loaded once (at program load) from its TZif file into a sorted
 * table of transitions (UTC second -> UT offset), extended with the file's POSIX footer
 * rule up to the year 2200. After loading the table is read-only, so any number of
 * threads may convert with it. Conversions are a binary search plus integer arithmetic:
 * no setenv("TZ"), no localtime(), no allocation.
 *
 * Local times that do not exist (spring-forward gap) map to the first instant after the
 * gap; local times that exist twice (fall-back fold) map to the earlier instant.
 */
#ifndef LS_TZ_H
#define LS_TZ_H

#include <stddef.h>
#include <stdint.h>

typedef struct tz tz_t;

/** A local civil time. month 1..12, day 1..31, wday 0 = Sunday. */
typedef struct tz_civil {
    int32_t year, month, day, hour, min, sec, wday;
    int32_t utoff; /* seconds east of UTC in force */
} tz_civil_t;

/**
 * @brief Load zone `name` ("Europe/Moscow", "UTC") from `dir` (NULL = /usr/share/zoneinfo,
 * or $TZDIR when set).
 * @return a new zone the caller frees with tz_destroy(), or NULL with err filled.
 */
tz_t *tz_load(const char *name, const char *dir, char *err, size_t errlen);
void tz_destroy(tz_t *tz);
/**
 * @brief The zone of `dir` (as tz_load) closest to a mistyped `name` ("Europe/Moscw" ->
 * "Europe/Moscow"), for a "did you mean". Reads the directory; for error paths only.
 * @return 0 with buf filled, -1 when no zone is close enough.
 */
int tz_suggest(const char *name, const char *dir, char *buf, size_t buflen);
/** @brief The zone's name as loaded (borrowed). */
const char *tz_name(const tz_t *tz);

/** @brief UT offset in seconds in force at utc_ms. */
int32_t tz_offset_at(const tz_t *tz, int64_t utc_ms);
/** @brief The local civil time of utc_ms. */
void tz_civil(const tz_t *tz, int64_t utc_ms, tz_civil_t *out);
/** @brief UTC ms of a local civil time (gap: first instant after it; fold: earlier). */
int64_t tz_local_to_utc(const tz_t *tz, int32_t year, int32_t month, int32_t day, int32_t hour,
                        int32_t min, int32_t sec);

/** @brief Local day index (days since 1970-01-01 of the local date) of utc_ms. */
int32_t tz_day_index(const tz_t *tz, int64_t utc_ms);
/** @brief Local month index (year * 12 + month - 1) of utc_ms. */
int32_t tz_month_index(const tz_t *tz, int64_t utc_ms);
/** @brief UTC ms of local midnight starting day index `day`. */
int64_t tz_day_start(const tz_t *tz, int32_t day);
/** @brief UTC ms of local midnight starting month index `month` (the 1st). */
int64_t tz_month_start(const tz_t *tz, int32_t month);

/**
 * The zone's table of local month starts, as tz_month_index() and tz_month_start() read
 * it: for callers that look months up many times per call (the engine), so that the
 * common case is an inline array read rather than a call. Read-only, owned by the zone.
 * mstart[i] = UTC ms of the local start of month index mfirst + i (i < mcount); bmonth[b]
 * = the i whose month holds mstart[0] + (b << TZ_MONTHS_SHIFT) (2^31 ms is shorter than
 * any month, so at most one step forward from there).
 */
#define TZ_MONTHS_SHIFT 31
typedef struct tz_months {
    int32_t mfirst;
    int32_t mcount; /* 0 = no table: every lookup goes to the out-of-line functions */
    const int64_t *mstart;
    const int32_t *bmonth;
} tz_months_t;

/** @brief The zone's month table (borrowed, valid until tz_destroy). */
const tz_months_t *tz_months(const tz_t *tz);

/** @brief tz_month_index(tz, utc_ms), inline where the table covers utc_ms. */
static inline int32_t tz_months_index(const tz_t *tz, const tz_months_t *m, int64_t utc_ms)
{
    if (m->mcount > 0 && utc_ms >= m->mstart[0] && utc_ms < m->mstart[m->mcount - 1]) {
        int32_t i = m->bmonth[(utc_ms - m->mstart[0]) >> TZ_MONTHS_SHIFT];
        while (m->mstart[i + 1] <= utc_ms)
            i++;
        return m->mfirst + i;
    }
    return tz_month_index(tz, utc_ms);
}

/** @brief tz_month_start(tz, month), inline where the table covers the month. */
static inline int64_t tz_months_start(const tz_t *tz, const tz_months_t *m, int32_t month)
{
    if (m->mstart && month >= m->mfirst && month - m->mfirst < m->mcount)
        return m->mstart[month - m->mfirst];
    return tz_month_start(tz, month);
}

/** @brief Days since 1970-01-01 of a proleptic Gregorian date (pure arithmetic). */
int32_t tz_days_from_civil(int32_t y, int32_t m, int32_t d);
/** @brief The date of a day count (inverse of tz_days_from_civil). */
void tz_civil_from_days(int32_t days, int32_t *y, int32_t *m, int32_t *d);
/**
 * @brief utc_ms plus n calendar months in the zone: the same local time of day, n months
 * later, the day clamped to the month's length (31 January + 1 = 28 or 29 February); a
 * local time that does not exist then is the first instant after the gap.
 */
int64_t tz_add_months(const tz_t *tz, int64_t utc_ms, int32_t n);

#endif
