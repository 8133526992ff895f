/*
 * tz: TZif reader and civil-time conversions. See tz.h for the idea. The file format is
 * RFC 8536: a v1 block (32-bit times) we skip when a v2+ block (64-bit times) follows,
 * then a footer with a POSIX TZ rule for instants after the last transition, which we
 * expand into explicit transitions up to TZ_RULE_LAST_YEAR at load time.
 */
#include "tz.h"
#include "sug.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define TZ_RULE_LAST_YEAR 2200
#define TZ_FILE_MAX       (1 << 20)

struct tz {
    char name[64];
    int32_t n;      /* transitions */
    int64_t *at;    /* UTC seconds, ascending */
    int32_t *off;   /* offset in force from at[i] */
    int32_t off0;   /* offset before the first transition */
    int32_t mfirst; /* month index of mstart[0] */
    int32_t mcount;
    int64_t *mstart; /* UTC ms of each local month start from TZ_CACHE_FIRST_YEAR */
    int32_t bcount;
    int32_t *bmonth;    /* per bucket of ms from mstart[0]: the month holding its start */
    tz_months_t months; /* the same table, as tz.h's inline lookups read it */
};

/* tz_month_index() buckets: 2^31 ms (24.9 days) is shorter than any local month, so a
 * bucket holds at most one month start and the lookup is one read and one compare (the
 * lookup steps forward as far as needed, so it stays exact whatever the month lengths). */
#define TZ_BUCKET_SHIFT TZ_MONTHS_SHIFT

#define TZ_CACHE_FIRST_YEAR 1900

/* ------------------------------------------------------------------ calendar math */

int32_t tz_days_from_civil(int32_t y, int32_t m, int32_t d)
{
    /* H. Hinnant's days_from_civil. */
    y -= m <= 2;
    const int32_t era = (y >= 0 ? y : y - 399) / 400;
    const int32_t yoe = y - era * 400;
    const int32_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int32_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void tz_civil_from_days(int32_t z, int32_t *y, int32_t *m, int32_t *d)
{
    z += 719468;
    const int32_t era = (z >= 0 ? z : z - 146096) / 146097;
    const int32_t doe = z - era * 146097;
    const int32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int32_t mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static int is_leap(int32_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int32_t month_days(int32_t y, int32_t m)
{
    static const int32_t md[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : md[m - 1];
}

/* ------------------------------------------------------------------ table building */

typedef struct {
    int32_t n, cap;
    int64_t *at;
    int32_t *off;
} tbuild_t;

static int tb_push(tbuild_t *b, int64_t at, int32_t off)
{
    if (b->n > 0 && at <= b->at[b->n - 1])
        return 0; /* the rule repeats what the table already has */
    if (b->n > 0 && b->off[b->n - 1] == off)
        return 0; /* no change of offset: not a transition for our purpose */
    if (b->n == b->cap) {
        int32_t cap = b->cap ? b->cap * 2 : 256;
        int64_t *na = realloc(b->at, (size_t)cap * sizeof(*na));
        if (!na)
            return -1;
        b->at = na;
        int32_t *no = realloc(b->off, (size_t)cap * sizeof(*no));
        if (!no)
            return -1;
        b->off = no;
        b->cap = cap;
    }
    b->at[b->n] = at;
    b->off[b->n] = off;
    b->n++;
    return 0;
}

static int64_t be(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = (v << 8) | p[i];
    if (bytes == 4)
        return (int64_t)(int32_t)(uint32_t)v;
    return (int64_t)v;
}

/* ------------------------------------------------------------------ POSIX TZ footer */

typedef struct {
    int kind; /* 'M', 'J', 'n' */
    int32_t m, w, d, n;
    int32_t secs; /* local time of day of the change */
} prule_t;

typedef struct {
    int32_t std_off, dst_off; /* seconds east of UTC */
    int has_dst;
    prule_t start, end;
} posix_tz_t;

static const char *p_name(const char *s)
{
    if (*s == '<') {
        const char *e = strchr(s, '>');
        return e ? e + 1 : NULL;
    }
    const char *p = s;
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
        p++;
    return p - s >= 3 ? p : NULL;
}

/* [+-]hh[:mm[:ss]] -> seconds (sign as written). */
static const char *p_hms(const char *s, int32_t *out)
{
    int sign = 1;
    if (*s == '+' || *s == '-') {
        sign = *s == '-' ? -1 : 1;
        s++;
    }
    if (*s < '0' || *s > '9')
        return NULL;
    char *e;
    long h = strtol(s, &e, 10), mi = 0, se = 0;
    if (*e == ':') {
        mi = strtol(e + 1, &e, 10);
        if (*e == ':')
            se = strtol(e + 1, &e, 10);
    }
    *out = sign * (int32_t)(h * 3600 + mi * 60 + se);
    return e;
}

static const char *p_rule(const char *s, prule_t *r)
{
    char *e;
    r->secs = 7200;
    if (*s == 'M') {
        r->kind = 'M';
        r->m = (int32_t)strtol(s + 1, &e, 10);
        if (*e != '.')
            return NULL;
        r->w = (int32_t)strtol(e + 1, &e, 10);
        if (*e != '.')
            return NULL;
        r->d = (int32_t)strtol(e + 1, &e, 10);
        if (r->m < 1 || r->m > 12 || r->w < 1 || r->w > 5 || r->d < 0 || r->d > 6)
            return NULL;
    } else if (*s == 'J') {
        r->kind = 'J';
        r->n = (int32_t)strtol(s + 1, &e, 10);
    } else if (*s >= '0' && *s <= '9') {
        r->kind = 'n';
        r->n = (int32_t)strtol(s, &e, 10);
    } else {
        return NULL;
    }
    if (*e == '/') {
        const char *p = p_hms(e + 1, &r->secs);
        return p;
    }
    return e;
}

static int parse_posix(const char *s, posix_tz_t *p)
{
    memset(p, 0, sizeof(*p));
    int32_t v;
    if (!(s = p_name(s)) || !(s = p_hms(s, &v)))
        return -1;
    p->std_off = -v;
    if (*s == '\0')
        return 0;
    if (!(s = p_name(s)))
        return -1;
    p->has_dst = 1;
    p->dst_off = p->std_off + 3600;
    if (*s != ',' && *s != '\0') {
        if (!(s = p_hms(s, &v)))
            return -1;
        p->dst_off = -v;
    }
    if (*s != ',')
        return -1; /* DST without a rule: not produced by zic since 2007; refuse */
    if (!(s = p_rule(s + 1, &p->start)) || *s != ',')
        return -1;
    if (!(s = p_rule(s + 1, &p->end)) || *s != '\0')
        return -1;
    return 0;
}

/* Local day (days since epoch) on which rule r falls in year y. */
static int32_t rule_day(const prule_t *r, int32_t y)
{
    if (r->kind == 'J') { /* 1..365, Feb 29 never counted */
        int32_t n = r->n;
        if (is_leap(y) && n >= 60)
            n++;
        return tz_days_from_civil(y, 1, 1) + n - 1;
    }
    if (r->kind == 'n')
        return tz_days_from_civil(y, 1, 1) + r->n;
    int32_t first = tz_days_from_civil(y, r->m, 1);
    int32_t wday_first = (int32_t)((first % 7 + 7 + 4) % 7); /* 1970-01-01 was Thursday */
    int32_t day = 1 + (r->d - wday_first + 7) % 7 + (r->w - 1) * 7;
    while (day > month_days(y, r->m))
        day -= 7;
    return first + day - 1;
}

static int expand_posix(tbuild_t *b, const posix_tz_t *p, int64_t after)
{
    if (!p->has_dst)
        return tb_push(b, after + 1, p->std_off);
    int32_t y0, m0, d0;
    tz_civil_from_days((int32_t)floordiv(after, 86400), &y0, &m0, &d0);
    for (int32_t y = y0; y <= TZ_RULE_LAST_YEAR; y++) {
        /* start: local standard time -> UTC; end: local daylight time -> UTC */
        int64_t s = (int64_t)rule_day(&p->start, y) * 86400 + p->start.secs - p->std_off;
        int64_t e = (int64_t)rule_day(&p->end, y) * 86400 + p->end.secs - p->dst_off;
        int64_t first = s < e ? s : e, second = s < e ? e : s;
        int32_t off1 = s < e ? p->dst_off : p->std_off;
        int32_t off2 = s < e ? p->std_off : p->dst_off;
        if (first > after && tb_push(b, first, off1) != 0)
            return -1;
        if (second > after && tb_push(b, second, off2) != 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ loading */

/* Messages name the zone, not the file: a program's author knows zones, not the paths of
 * the machine's time zone database. */
static unsigned char *read_file(const char *path, const char *name, size_t *len, char *err,
                                size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT || errno == ENOTDIR)
            snprintf(err, errlen, "'%s' is not a time zone of the IANA database", name);
        else
            snprintf(err, errlen, "time zone '%s' cannot be read from the time zone database: %s",
                     name, strerror(errno));
        return NULL;
    }
    unsigned char *buf = malloc(TZ_FILE_MAX);
    size_t n = buf ? fread(buf, 1, TZ_FILE_MAX, f) : 0;
    fclose(f);
    if (!buf || n < 44 || memcmp(buf, "TZif", 4) != 0) {
        snprintf(err, errlen, "'%s' is not a time zone (its database entry is not zone data)",
                 name);
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

typedef struct {
    int64_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
} tzhead_t;

static void read_head(const unsigned char *p, tzhead_t *h)
{
    h->isutcnt = be(p + 20, 4);
    h->isstdcnt = be(p + 24, 4);
    h->leapcnt = be(p + 28, 4);
    h->timecnt = be(p + 32, 4);
    h->typecnt = be(p + 36, 4);
    h->charcnt = be(p + 40, 4);
}

static size_t block_len(const tzhead_t *h, int tsz)
{
    return (size_t)(h->timecnt * tsz + h->timecnt + h->typecnt * 6 + h->charcnt +
                    h->leapcnt * (tsz + 4) + h->isstdcnt + h->isutcnt);
}

static int parse_tzif(const unsigned char *buf, size_t len, tbuild_t *b, int32_t *off0,
                      const char **footer, size_t *footer_len)
{
    tzhead_t h;
    read_head(buf, &h);
    size_t pos = 44;
    int tsz = 4;
    if (buf[4] >= '2') { /* skip the v1 block, use the 64-bit one */
        pos += block_len(&h, 4);
        if (pos + 44 > len || memcmp(buf + pos, "TZif", 4) != 0)
            return -1;
        read_head(buf + pos, &h);
        pos += 44;
        tsz = 8;
    }
    if (h.typecnt < 1 || h.typecnt > 256 || h.timecnt < 0 || pos + block_len(&h, tsz) > len)
        return -1;
    const unsigned char *times = buf + pos;
    const unsigned char *idx = times + h.timecnt * tsz;
    const unsigned char *types = idx + h.timecnt;
    *off0 = (int32_t)be(types, 4); /* RFC 8536: type 0 before the first transition */
    for (int64_t i = 0; i < h.timecnt; i++) {
        unsigned t = idx[i];
        if (t >= h.typecnt)
            return -1;
        int32_t off = (int32_t)be(types + 6 * t, 4);
        if (b->n == 0 && off == *off0)
            continue;
        if (tb_push(b, be(times + i * tsz, tsz), off) != 0)
            return -1;
    }
    pos += block_len(&h, tsz);
    *footer = NULL;
    *footer_len = 0;
    if (tsz == 8 && pos < len && buf[pos] == '\n') {
        const unsigned char *e = memchr(buf + pos + 1, '\n', len - pos - 1);
        if (e) {
            *footer = (const char *)buf + pos + 1;
            *footer_len = (size_t)(e - (buf + pos + 1));
        }
    }
    return 0;
}

static int64_t month_start_slow(const tz_t *tz, int32_t month)
{
    int32_t y = (int32_t)floordiv(month, 12);
    return tz_local_to_utc(tz, y, month - y * 12 + 1, 1, 0, 0, 0);
}

/* Local month starts are what the engine asks for most (periods, expiry, buckets):
 * computed once here, they cost one array read or a short binary search afterwards. */
static int build_month_cache(tz_t *tz)
{
    tz->mfirst = TZ_CACHE_FIRST_YEAR * 12;
    tz->mcount = (TZ_RULE_LAST_YEAR - TZ_CACHE_FIRST_YEAR + 1) * 12;
    tz->mstart = malloc((size_t)tz->mcount * sizeof(*tz->mstart));
    if (!tz->mstart)
        return -1;
    for (int32_t i = 0; i < tz->mcount; i++)
        tz->mstart[i] = month_start_slow(tz, tz->mfirst + i);
    tz->bcount = (int32_t)((tz->mstart[tz->mcount - 1] - tz->mstart[0]) >> TZ_BUCKET_SHIFT) + 1;
    tz->bmonth = malloc((size_t)tz->bcount * sizeof(*tz->bmonth));
    if (!tz->bmonth)
        return -1;
    int32_t i = 0;
    for (int32_t b = 0; b < tz->bcount; b++) {
        int64_t at = tz->mstart[0] + ((int64_t)b << TZ_BUCKET_SHIFT);
        while (i + 1 < tz->mcount && tz->mstart[i + 1] <= at)
            i++;
        tz->bmonth[b] = i;
    }
    tz->months = (tz_months_t){
        .mfirst = tz->mfirst, .mcount = tz->mcount, .mstart = tz->mstart, .bmonth = tz->bmonth};
    return 0;
}

tz_t *tz_load(const char *name, const char *dir, char *err, size_t errlen)
{
    if (!name || !*name || strstr(name, "..") || name[0] == '/' ||
        strlen(name) >= sizeof(((tz_t *)0)->name)) {
        snprintf(err, errlen, "time zone name '%s' is not an IANA zone name", name ? name : "");
        return NULL;
    }
    if (!dir)
        dir = getenv("TZDIR") ? getenv("TZDIR") : "/usr/share/zoneinfo";
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    size_t len = 0;
    unsigned char *buf = read_file(path, name, &len, err, errlen);
    if (!buf)
        return NULL;
    tbuild_t b = {0};
    int32_t off0 = 0;
    const char *footer;
    size_t flen;
    tz_t *tz = NULL;
    if (parse_tzif(buf, len, &b, &off0, &footer, &flen) != 0) {
        snprintf(err, errlen, "time zone '%s': its entry in the time zone database is damaged",
                 name);
        goto done;
    }
    if (footer && flen > 0 && flen < 128) {
        char rule[128];
        memcpy(rule, footer, flen);
        rule[flen] = '\0';
        posix_tz_t p;
        if (parse_posix(rule, &p) != 0) {
            snprintf(err, errlen, "time zone %s: cannot read its rule '%s'", name, rule);
            goto done;
        }
        int64_t last = b.n > 0 ? b.at[b.n - 1] : INT64_MIN / 2;
        if (b.n == 0)
            off0 = p.std_off;
        if (expand_posix(&b, &p, last) != 0) {
            snprintf(err, errlen, "time zone %s: out of memory", name);
            goto done;
        }
    }
    tz = calloc(1, sizeof(*tz));
    if (!tz) {
        snprintf(err, errlen, "time zone %s: out of memory", name);
        goto done;
    }
    snprintf(tz->name, sizeof(tz->name), "%s", name);
    tz->n = b.n;
    tz->at = b.at;
    tz->off = b.off;
    tz->off0 = off0;
    b.at = NULL;
    b.off = NULL;
    if (build_month_cache(tz) != 0) {
        snprintf(err, errlen, "time zone %s: out of memory", name);
        tz_destroy(tz);
        tz = NULL;
    }
done:
    free(b.at);
    free(b.off);
    free(buf);
    return tz;
}

void tz_destroy(tz_t *tz)
{
    if (!tz)
        return;
    free(tz->at);
    free(tz->off);
    free(tz->mstart);
    free(tz->bmonth);
    free(tz);
}

const char *tz_name(const tz_t *tz)
{
    return tz->name;
}

const tz_months_t *tz_months(const tz_t *tz)
{
    return &tz->months;
}

/* ------------------------------------------------------------------ conversions */

int32_t tz_offset_at(const tz_t *tz, int64_t utc_ms)
{
    int64_t s = floordiv(utc_ms, 1000);
    if (tz->n == 0 || s < tz->at[0])
        return tz->off0;
    int32_t lo = 0, hi = tz->n - 1; /* last i with at[i] <= s */
    while (lo < hi) {
        int32_t mid = lo + (hi - lo + 1) / 2;
        if (tz->at[mid] <= s)
            lo = mid;
        else
            hi = mid - 1;
    }
    return tz->off[lo];
}

void tz_civil(const tz_t *tz, int64_t utc_ms, tz_civil_t *out)
{
    int32_t off = tz_offset_at(tz, utc_ms);
    int64_t ls = floordiv(utc_ms, 1000) + off;
    int32_t days = (int32_t)floordiv(ls, 86400);
    int32_t sod = (int32_t)(ls - (int64_t)days * 86400);
    tz_civil_from_days(days, &out->year, &out->month, &out->day);
    out->hour = sod / 3600;
    out->min = sod / 60 % 60;
    out->sec = sod % 60;
    out->wday = (int32_t)((days % 7 + 7 + 4) % 7);
    out->utoff = off;
}

int64_t tz_local_to_utc(const tz_t *tz, int32_t year, int32_t month, int32_t day, int32_t hour,
                        int32_t min, int32_t sec)
{
    int64_t local =
        (int64_t)tz_days_from_civil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec;
    /* Offsets in force a day either side bracket every candidate. */
    int32_t o1 = tz_offset_at(tz, (local - 86400) * 1000);
    int32_t o2 = tz_offset_at(tz, (local + 86400) * 1000);
    int64_t best = INT64_MAX;
    int32_t offs[2] = {o1, o2};
    for (int i = 0; i < 2; i++) {
        int64_t u = local - offs[i];
        if (tz_offset_at(tz, u * 1000) == offs[i] && u < best)
            best = u;
    }
    if (best == INT64_MAX) {
        /* In a gap: the instant the clocks jumped, i.e. the first valid local time after. */
        best = local - (o1 < o2 ? o1 : o2);
        int64_t lo = local - (o1 > o2 ? o1 : o2), hi = best;
        while (lo < hi) { /* first second whose offset is the new one */
            int64_t mid = lo + (hi - lo) / 2;
            if (tz_offset_at(tz, mid * 1000) == o2)
                hi = mid;
            else
                lo = mid + 1;
        }
        best = lo;
    }
    return best * 1000;
}

int32_t tz_day_index(const tz_t *tz, int64_t utc_ms)
{
    int64_t ls = floordiv(utc_ms, 1000) + tz_offset_at(tz, utc_ms);
    return (int32_t)floordiv(ls, 86400);
}

int32_t tz_month_index(const tz_t *tz, int64_t utc_ms)
{
    if (tz->mcount > 0 && utc_ms >= tz->mstart[0] && utc_ms < tz->mstart[tz->mcount - 1]) {
        /* the month holding the bucket's start, then at most one step (see bmonth) */
        int32_t i = tz->bmonth[(utc_ms - tz->mstart[0]) >> TZ_BUCKET_SHIFT];
        while (tz->mstart[i + 1] <= utc_ms)
            i++;
        return tz->mfirst + i;
    }
    int32_t y, m, d;
    tz_civil_from_days(tz_day_index(tz, utc_ms), &y, &m, &d);
    return y * 12 + m - 1;
}

int64_t tz_day_start(const tz_t *tz, int32_t day)
{
    int32_t y, m, d;
    tz_civil_from_days(day, &y, &m, &d);
    return tz_local_to_utc(tz, y, m, d, 0, 0, 0);
}

int64_t tz_month_start(const tz_t *tz, int32_t month)
{
    if (tz->mstart && month >= tz->mfirst && month - tz->mfirst < tz->mcount)
        return tz->mstart[month - tz->mfirst];
    return month_start_slow(tz, month);
}

/* ------------------------------------------------------------------ suggestions */

typedef struct zsug {
    sug_t full; /* by the whole name: "Europe/Moscw" */
    sug_t city; /* by the last component: "Moscow" alone */
    char city_full[SUG_NAME_MAX];
} zsug_t;

/* Offer every zone under dir/rel (depth-bounded). */
static void offer_zones(zsug_t *z, const char *dir, const char *rel, int depth)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s%s%s", dir, *rel ? "/" : "", rel);
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (n[0] < 'A' || n[0] > 'Z' || !strcmp(n, "posixrules"))
            continue; /* zones start with a capital: skips posix/, right/, *.tab, *.zi */
        char sub[512], full[1200];
        snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", n);
        snprintf(full, sizeof(full), "%s/%s", dir, sub);
        struct stat st;
        if (stat(full, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (depth < 3)
                offer_zones(z, dir, sub, depth + 1);
        } else if (S_ISREG(st.st_mode)) {
            sug_offer(&z->full, sub);
            int before = z->city.best_dist;
            sug_offer(&z->city, n);
            if (z->city.best_dist < before)
                memcpy(z->city_full, sub, strnlen(sub, sizeof(z->city_full) - 1) + 1),
                    z->city_full[sizeof(z->city_full) - 1] = '\0';
        }
    }
    closedir(d);
}

int tz_suggest(const char *name, const char *dir, char *buf, size_t buflen)
{
    if (buflen)
        buf[0] = '\0';
    if (!name || !*name)
        return -1;
    if (!dir)
        dir = getenv("TZDIR") ? getenv("TZDIR") : "/usr/share/zoneinfo";
    zsug_t z = {.city_full = ""};
    sug_init(&z.full, name);
    const char *slash = strrchr(name, '/');
    sug_init(&z.city, slash ? slash + 1 : name);
    offer_zones(&z, dir, "", 0);
    const char *b = sug_best(&z.full);
    if (!b && (z.city.best_dist == 0 || sug_best(&z.city)) && z.city_full[0])
        b = z.city_full;
    if (!b || !strcmp(b, name))
        return -1;
    snprintf(buf, buflen, "%s", b);
    return 0;
}

int64_t tz_add_months(const tz_t *tz, int64_t utc_ms, int32_t n)
{
    static const int8_t dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    tz_civil_t c;
    tz_civil(tz, utc_ms, &c);
    int32_t mi = c.year * 12 + (c.month - 1) + n;
    int32_t y = mi >= 0 ? mi / 12 : (mi - 11) / 12, m = mi - y * 12 + 1;
    int32_t last = dim[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
    int64_t ms = ((utc_ms % 1000) + 1000) % 1000; /* the second's fraction */
    return tz_local_to_utc(tz, y, m, c.day < last ? c.day : last, c.hour, c.min, c.sec) + ms;
}
