/*
 * report: see report.h. The HTML is written in one pass: a header, the summary table
 * (every number carries a data-key attribute, so a test can read the numbers back from the
 * browser's DOM and compare them with replay's text summary), one SVG chart per measure
 * with its monthly table, and with a what-if the differences and the customers whose tier
 * differs. Charts are line charts on a common month axis; the what-if's lines are dashed.
 */
#include "report.h"

#include "eng.h"
#include "prog_describe.h"
#include "tz.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ history */

void rep_snap_of(const eng_state_t *s, rep_snap_t *out)
{
    memset(out, 0, sizeof(*out));
    if (!(s->flags & 1))
        return;
    out->init = true;
    out->tier = s->tier;
    out->earned = s->total_earned;
    out->redeemed = s->total_redeemed;
    out->expired = s->total_expired;
    out->reversed = s->total_reversed;
    out->balance = eng_balance(s);
}

void rep_hist_init(rep_hist_t *h, const prog_t *p)
{
    memset(h, 0, sizeof(*h));
    h->p = p;
}

void rep_hist_free(rep_hist_t *h)
{
    free(h->m);
    h->m = NULL;
    h->n = h->cap = 0;
}

/* A new month record holding the running stocks (the previous month's end). */
static void month_fresh(const rep_hist_t *h, rep_month_t *m, int32_t month)
{
    memset(m, 0, sizeof(*m));
    m->month = month;
    m->outstanding = h->outstanding;
    m->customers = h->customers;
    memcpy(m->per_tier, h->per_tier, sizeof(m->per_tier));
}

/* The record of @p month, created (with the months between) if needed; NULL = memory. */
static rep_month_t *month_at(rep_hist_t *h, int32_t month)
{
    if (h->n == 0 || month > h->m[h->n - 1].month || month < h->m[0].month) {
        int32_t lo = h->n ? (month < h->m[0].month ? month : h->m[0].month) : month;
        int32_t hi = h->n ? (month > h->m[h->n - 1].month ? month : h->m[h->n - 1].month) : month;
        size_t need = (size_t)(hi - lo) + 1;
        if (need > 12 * 1000)
            return NULL; /* a thousand years: not a calendar a program runs on */
        if (need > h->cap) {
            size_t cap = h->cap ? h->cap : 16;
            while (cap < need)
                cap *= 2;
            rep_month_t *nm = realloc(h->m, cap * sizeof(*nm));
            if (!nm)
                return NULL;
            h->m = nm;
            h->cap = cap;
        }
        if (h->n && month < h->m[0].month) { /* a late call before the first month */
            size_t shift = (size_t)(h->m[0].month - month);
            memmove(h->m + shift, h->m, h->n * sizeof(*h->m));
            for (size_t i = 0; i < shift; i++) {
                memset(&h->m[i], 0, sizeof(h->m[i])); /* nothing was outstanding yet */
                h->m[i].month = month + (int32_t)i;
            }
            h->n += shift;
        }
        while (h->n < need) {
            month_fresh(h, &h->m[h->n], (h->n ? h->m[h->n - 1].month + 1 : month));
            h->n++;
        }
    }
    return &h->m[month - h->m[0].month];
}

int rep_hist_call(rep_hist_t *h, int64_t t, const rep_snap_t *b, const rep_snap_t *a)
{
    if (!a->init && !b->init)
        return 0;
    rep_month_t *m = month_at(h, tz_month_index(h->p->tz, t));
    if (!m)
        return -1;
    m->issued += a->earned - b->earned;
    m->redeemed += a->redeemed - b->redeemed;
    m->expired += a->expired - b->expired;
    m->reversed += a->reversed - b->reversed;
    h->outstanding += a->balance - b->balance;
    if (b->init) {
        h->customers--;
        if ((uint32_t)b->tier < PROG_TIERS_MAX)
            h->per_tier[b->tier]--;
    }
    if (a->init) {
        h->customers++;
        if ((uint32_t)a->tier < PROG_TIERS_MAX)
            h->per_tier[a->tier]++;
    }
    rep_month_t *last = &h->m[h->n - 1]; /* stocks: as stream time sees them now */
    last->outstanding = h->outstanding;
    last->customers = h->customers;
    memcpy(last->per_tier, h->per_tier, sizeof(last->per_tier));
    return 0;
}

int rep_hist_output(rep_hist_t *h, const eng_output_t *o)
{
    if (o->kind != ENG_OUT_REWARD_EARNED && o->kind != ENG_OUT_POINTS_REDEEMED)
        return 0;
    rep_month_t *m = month_at(h, tz_month_index(h->p->tz, o->time_ms));
    if (!m)
        return -1;
    if (o->kind == ENG_OUT_REWARD_EARNED)
        m->rewards++;
    else
        m->redeemed_value += o->u.points_redeemed.value;
    return 0;
}

/* ------------------------------------------------------------------ HTML helpers */

static void esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else if (*s == '&')
            fputs("&amp;", f);
        else if (*s == '"')
            fputs("&quot;", f);
        else
            fputc(*s, f);
    }
}

/* 1234567 -> "1,234,567" */
static void fmt_int(int64_t v, char *buf, size_t n)
{
    char d[32];
    snprintf(d, sizeof(d), "%lld", (long long)(v < 0 ? -v : v));
    size_t len = strlen(d), o = 0;
    if (v < 0 && o + 1 < n)
        buf[o++] = '-';
    for (size_t i = 0; i < len && o + 2 < n; i++) {
        if (i && (len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = d[i];
    }
    buf[o] = '\0';
}

/* Money in major units with thousands separators: "12,345.67 RUB". */
static void fmt_money(const prog_t *p, int64_t minor, char *buf, size_t n)
{
    int64_t scale = 1;
    for (int i = 0; i < p->minor_units; i++)
        scale *= 10;
    char whole[40];
    fmt_int(minor / scale, whole, sizeof(whole));
    if (p->minor_units == 0) {
        snprintf(buf, n, "%s %s", whole, p->currency);
        return;
    }
    int64_t frac = minor % scale;
    snprintf(buf, n, "%s%s.%0*lld %s", minor < 0 && minor > -scale ? "-" : "", whole,
             p->minor_units, (long long)(frac < 0 ? -frac : frac), p->currency);
}

static void month_label(int32_t month, char *buf, size_t n)
{
    int32_t y = month >= 0 ? month / 12 : (month - 11) / 12;
    snprintf(buf, n, "%04d-%02d", y, month - y * 12 + 1);
}

/* ------------------------------------------------------------------ measures */

typedef enum {
    M_ISSUED,
    M_REDEEMED,
    M_EXPIRED,
    M_REVERSED,
    M_REWARDS,
    M_REDEEMED_VALUE,
    M_LIABILITY,
    M_TIER, /* + tier index */
} measure_t;

/* A side's value of a measure in a month of the common axis. Flows are 0 outside the
 * side's months; stocks hold their last value after them and are 0 before. */
static int64_t value_of(const rep_side_t *s, int32_t month, measure_t m, int tier)
{
    const rep_hist_t *h = s->h;
    if (h->n == 0 || month < h->m[0].month)
        return 0;
    bool after = month > h->m[h->n - 1].month;
    const rep_month_t *r = after ? &h->m[h->n - 1] : &h->m[month - h->m[0].month];
    switch (m) {
    case M_ISSUED:
        return after ? 0 : r->issued;
    case M_REDEEMED:
        return after ? 0 : r->redeemed;
    case M_EXPIRED:
        return after ? 0 : r->expired;
    case M_REVERSED:
        return after ? 0 : r->reversed;
    case M_REWARDS:
        return after ? 0 : r->rewards;
    case M_REDEEMED_VALUE:
        return after ? 0 : r->redeemed_value;
    case M_LIABILITY:
        return r->outstanding * s->p->point_value;
    case M_TIER:
        return (uint32_t)tier < PROG_TIERS_MAX ? (int64_t)r->per_tier[tier] : 0;
    }
    return 0;
}

typedef struct line {
    const rep_side_t *side;
    int side_no;
    measure_t m;
    int tier;
    char name[96];
    const char *color;
} line_t;

static const char *const palette[] = {"#2e7d32", "#1565c0", "#c62828", "#ef6c00",
                                      "#6a1b9a", "#00838f", "#5d4037", "#ad1457"};

/* The smallest 1, 2 or 5 x 10^k at or above v (the axis' top). */
static double nice_top(double v)
{
    if (v <= 0)
        return 1;
    double e = pow(10, floor(log10(v)));
    for (int i = 0; i < 3; i++) {
        double c = (i == 0 ? 1 : i == 1 ? 2 : 5) * e;
        if (c >= v)
            return c;
    }
    return 10 * e;
}

typedef struct axis {
    const int32_t *months;
    size_t n;
} axis_t;

/* One chart: SVG lines over the months, then the same numbers as a table. */
static void chart(FILE *f, const char *id, const char *title, const char *unit, bool money,
                  const axis_t *ax, const line_t *lines, int nl)
{
    const int W = 880, H = 280, L = 84, R = 40, T = 16, B = 40;
    double top = 0;
    for (int i = 0; i < nl; i++)
        for (size_t k = 0; k < ax->n; k++) {
            double v = (double)value_of(lines[i].side, ax->months[k], lines[i].m, lines[i].tier);
            if (v > top)
                top = v;
        }
    top = nice_top(top);
    double scale_money = 1;
    if (money && nl > 0)
        for (int i = 0; i < lines[0].side->p->minor_units; i++)
            scale_money *= 10;
    fprintf(f, "<section class=\"chart\" id=\"%s\"><h2>", id);
    esc(f, title);
    fprintf(f, "</h2>\n<div class=\"legend\">");
    for (int i = 0; i < nl; i++) {
        fprintf(f,
                "<span><svg width=\"28\" height=\"10\"><line x1=\"0\" y1=\"5\" x2=\"28\" "
                "y2=\"5\" stroke=\"%s\" stroke-width=\"3\"%s/></svg> ",
                lines[i].color, lines[i].side_no ? " stroke-dasharray=\"6 4\"" : "");
        esc(f, lines[i].name);
        fputs("</span>", f);
    }
    fprintf(f,
            "</div>\n<svg class=\"plot\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
            "role=\"img\">\n",
            W, H, W, H);
    for (int g = 0; g <= 4; g++) { /* grid and y labels */
        double y = T + (H - T - B) * (1 - g / 4.0);
        char lab[48];
        double v = top * g / 4.0;
        fmt_int((int64_t)llround(money ? v / scale_money : v), lab, sizeof(lab));
        fprintf(f,
                "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"grid\"/>"
                "<text x=\"%d\" y=\"%.1f\" class=\"ylab\">%s</text>\n",
                L, y, W - R, y, L - 6, y + 4, lab);
    }
    double step = ax->n > 1 ? (double)(W - L - R) / (double)(ax->n - 1) : 0;
    size_t every = ax->n > 24 ? (ax->n + 11) / 12 : 1;
    for (size_t k = 0; k < ax->n; k++) {
        double x = ax->n > 1 ? L + step * (double)k : (L + W - R) / 2.0;
        char lab[16];
        month_label(ax->months[k], lab, sizeof(lab));
        if (k % every == 0)
            fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"xlab\">%s</text>\n", x, H - B + 18, lab);
    }
    fprintf(f, "<text x=\"12\" y=\"%d\" class=\"unit\" transform=\"rotate(-90 12 %d)\">%s</text>\n",
            (H - B + T) / 2, (H - B + T) / 2, unit);
    for (int i = 0; i < nl; i++) {
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2.5\"%s points=\"",
                lines[i].color, lines[i].side_no ? " stroke-dasharray=\"6 4\"" : "");
        for (size_t k = 0; k < ax->n; k++) {
            double v = (double)value_of(lines[i].side, ax->months[k], lines[i].m, lines[i].tier);
            double x = ax->n > 1 ? L + step * (double)k : (L + W - R) / 2.0;
            fprintf(f, "%s%.1f,%.1f", k ? " " : "", x, T + (H - T - B) * (1 - v / top));
        }
        fputs("\"/>\n", f);
        for (size_t k = 0; k < ax->n; k++) {
            int64_t v = value_of(lines[i].side, ax->months[k], lines[i].m, lines[i].tier);
            double x = ax->n > 1 ? L + step * (double)k : (L + W - R) / 2.0;
            char lab[64], mon[16];
            if (money)
                fmt_money(lines[i].side->p, v, lab, sizeof(lab));
            else
                fmt_int(v, lab, sizeof(lab));
            month_label(ax->months[k], mon, sizeof(mon));
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"><title>", x,
                    T + (H - T - B) * (1 - (double)v / top), lines[i].color);
            esc(f, lines[i].name);
            fprintf(f, ", %s: %s</title></circle>\n", mon, lab);
        }
    }
    fputs("</svg>\n<details><summary>numbers</summary><table class=\"num\"><tr><th>month</th>", f);
    for (int i = 0; i < nl; i++) {
        fputs("<th>", f);
        esc(f, lines[i].name);
        fputs("</th>", f);
    }
    fputs("</tr>\n", f);
    for (size_t k = 0; k < ax->n; k++) {
        char mon[16];
        month_label(ax->months[k], mon, sizeof(mon));
        fprintf(f, "<tr><td>%s</td>", mon);
        for (int i = 0; i < nl; i++) {
            int64_t v = value_of(lines[i].side, ax->months[k], lines[i].m, lines[i].tier);
            char lab[64];
            if (money)
                fmt_money(lines[i].side->p, v, lab, sizeof(lab));
            else
                fmt_int(v, lab, sizeof(lab));
            fprintf(f, "<td data-value=\"%lld\">%s</td>", (long long)v, lab);
        }
        fputs("</tr>\n", f);
    }
    fputs("</table></details></section>\n", f);
}

/* ------------------------------------------------------------------ the page */

static const char *const css =
    "body{font:14px/1.45 'DejaVu Sans',Arial,sans-serif;margin:24px 32px;color:#222;"
    "max-width:960px}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:22px 0 6px}"
    ".sub{color:#555;margin:0 0 14px}"
    "table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ccc;padding:3px 8px;"
    "text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}"
    ".legend span{margin-right:18px;white-space:nowrap}.legend svg{vertical-align:middle}"
    ".plot{display:block;background:#fff}.grid{stroke:#e3e3e3}"
    ".ylab{font-size:11px;text-anchor:end;fill:#555}.xlab{font-size:11px;text-anchor:middle;"
    "fill:#555}.unit{font-size:11px;text-anchor:middle;fill:#555}"
    "details summary{cursor:pointer;color:#555;font-size:12px}"
    ".pos{color:#2e7d32}.neg{color:#c62828}#readout{position:fixed;right:16px;top:12px;"
    "background:#ffd;border:1px solid #cc9;padding:2px 8px;display:none}";

/* Hover read-out only; the page is complete without it. It marks the document when it
 * has run, so a headless browser test can tell that the script ran without an error. */
static const char *const script =
    "(function(){var r=document.getElementById('readout');"
    "document.querySelectorAll('circle').forEach(function(c){"
    "c.addEventListener('mouseenter',function(){r.textContent=c.textContent;"
    "r.style.display='block';});"
    "c.addEventListener('mouseleave',function(){r.style.display='none';});});"
    "document.documentElement.setAttribute('data-script','ran');})();";

typedef struct row {
    const char *key, *label;
    bool money;
    int64_t v[2];
} row_t;

static void summary_table(FILE *f, const rep_side_t *s, int ns)
{
    row_t rows[] = {
        {"customers", "customers", false, {0, 0}},
        {"issued", "points issued", false, {0, 0}},
        {"redeemed", "points redeemed", false, {0, 0}},
        {"expired", "points expired", false, {0, 0}},
        {"reversed", "points reversed", false, {0, 0}},
        {"outstanding", "points outstanding", false, {0, 0}},
        {"debt", "points owed (debt)", false, {0, 0}},
        {"liability", "outstanding liability", true, {0, 0}},
    };
    size_t nr = sizeof(rows) / sizeof(rows[0]);
    for (int k = 0; k < ns; k++) {
        const rep_totals_t *t = s[k].t;
        int64_t v[] = {(int64_t)t->customers,
                       t->earned,
                       t->redeemed,
                       t->expired,
                       t->reversed,
                       t->outstanding,
                       t->debt,
                       t->outstanding * s[k].p->point_value};
        for (size_t i = 0; i < nr; i++)
            rows[i].v[k] = v[i];
    }
    fputs("<h2>Summary</h2>\n<table id=\"summary\"><tr><th></th>", f);
    for (int k = 0; k < ns; k++) {
        fputs("<th>", f);
        esc(f, s[k].label);
        fputs("</th>", f);
    }
    fputs(ns == 2 ? "<th>difference</th></tr>\n" : "</tr>\n", f);
    char a[64];
    for (size_t i = 0; i < nr; i++) {
        fprintf(f, "<tr><td>%s</td>", rows[i].label);
        for (int k = 0; k < ns; k++) {
            if (rows[i].money)
                fmt_money(s[k].p, rows[i].v[k], a, sizeof(a));
            else
                fmt_int(rows[i].v[k], a, sizeof(a));
            fprintf(f, "<td data-key=\"%c.%s\" data-value=\"%lld\">%s</td>", 'a' + k, rows[i].key,
                    (long long)rows[i].v[k], a);
        }
        if (ns == 2) {
            int64_t d = rows[i].v[1] - rows[i].v[0];
            if (rows[i].money)
                fmt_money(s[0].p, d, a, sizeof(a));
            else
                fmt_int(d, a, sizeof(a));
            fprintf(f, "<td data-key=\"diff.%s\" data-value=\"%lld\" class=\"%s\">%s%s</td>",
                    rows[i].key, (long long)d,
                    d > 0   ? "pos"
                    : d < 0 ? "neg"
                            : "",
                    d > 0 ? "+" : "", a);
        }
        fputs("</tr>\n", f);
    }
    /* outputs per kind: free items (RewardEarned) included */
    for (int kind = 0; kind < ENG_OUT_KIND_COUNT; kind++) {
        uint64_t any = 0;
        for (int k = 0; k < ns; k++)
            any |= s[k].t->outputs_by_kind[kind];
        if (!any)
            continue;
        const char *name = eng_out_kind_name((eng_out_kind_t)kind);
        fprintf(f, "<tr><td>%s events</td>", name);
        for (int k = 0; k < ns; k++) {
            fmt_int((int64_t)s[k].t->outputs_by_kind[kind], a, sizeof(a));
            fprintf(f, "<td data-key=\"%c.kind.%s\" data-value=\"%llu\">%s</td>", 'a' + k, name,
                    (unsigned long long)s[k].t->outputs_by_kind[kind], a);
        }
        if (ns == 2) {
            int64_t d =
                (int64_t)s[1].t->outputs_by_kind[kind] - (int64_t)s[0].t->outputs_by_kind[kind];
            fmt_int(d, a, sizeof(a));
            fprintf(f, "<td data-key=\"diff.kind.%s\" data-value=\"%lld\" class=\"%s\">%s%s</td>",
                    name, (long long)d,
                    d > 0   ? "pos"
                    : d < 0 ? "neg"
                            : "",
                    d > 0 ? "+" : "", a);
        }
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
    for (int k = 0; k < ns; k++) { /* tiers at the end */
        fputs("<table class=\"tiers\"><tr><th>", f);
        esc(f, s[k].label);
        fputs(": customers per tier at the end</th><th></th></tr>\n", f);
        for (uint32_t i = 0; i < s[k].p->n_tiers; i++) {
            fputs("<tr><td>", f);
            esc(f, s[k].p->tiers[i].name);
            fprintf(f, "</td><td data-key=\"%c.tier.", 'a' + k);
            esc(f, s[k].p->tiers[i].name);
            fmt_int((int64_t)s[k].t->per_tier[i], a, sizeof(a));
            fprintf(f, "\" data-value=\"%llu\">%s</td></tr>\n",
                    (unsigned long long)s[k].t->per_tier[i], a);
        }
        fputs("</table>\n", f);
    }
}

static void tier_diff_table(FILE *f, const rep_side_t *s, const rep_tierdiff_t *d, size_t n)
{
    const size_t shown_max = 1000;
    fprintf(f,
            "<h2>Customers whose tier differs</h2>\n<p data-key=\"tier_differs\" "
            "data-value=\"%zu\">%zu customer%s end in a different tier%s.</p>\n",
            n, n, n == 1 ? "" : "s", n > shown_max ? " (the first 1,000 by id are listed)" : "");
    if (n == 0)
        return;
    fputs("<table id=\"tierdiff\"><tr><th>customer</th><th>", f);
    esc(f, s[0].label);
    fputs("</th><th>", f);
    esc(f, s[1].label);
    fputs("</th></tr>\n", f);
    for (size_t i = 0; i < n && i < shown_max; i++) {
        fputs("<tr><td>", f);
        esc(f, d[i].customer);
        fputs("</td><td>", f);
        esc(f, (uint32_t)d[i].a < s[0].p->n_tiers ? s[0].p->tiers[d[i].a].name : "?");
        fputs("</td><td>", f);
        esc(f, (uint32_t)d[i].b < s[1].p->n_tiers ? s[1].p->tiers[d[i].b].name : "?");
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

/* The common month axis of the sides. NULL when no side has a month (no events). */
static int32_t *common_axis(const rep_side_t *s, int ns, size_t *n)
{
    int32_t lo = INT32_MAX, hi = INT32_MIN;
    for (int k = 0; k < ns; k++)
        if (s[k].h->n) {
            if (s[k].h->m[0].month < lo)
                lo = s[k].h->m[0].month;
            if (s[k].h->m[s[k].h->n - 1].month > hi)
                hi = s[k].h->m[s[k].h->n - 1].month;
        }
    *n = 0;
    if (lo > hi)
        return NULL;
    int32_t *v = malloc(((size_t)(hi - lo) + 1) * sizeof(*v));
    for (int32_t m = lo; v && m <= hi; m++)
        v[(*n)++] = m;
    return v;
}

static void side_name(const rep_side_t *s, int nsides, const char *what, char *buf, size_t n)
{
    if (nsides == 1)
        snprintf(buf, n, "%s", what);
    else
        snprintf(buf, n, "%s (%s)", what, s->label);
}

static void charts(FILE *f, const rep_side_t *s, int ns, const axis_t *ax)
{
    line_t l[2 * PROG_TIERS_MAX];
    int nl = 0;
    static const struct {
        measure_t m;
        const char *name;
    } flows[] = {{M_ISSUED, "issued"},
                 {M_REDEEMED, "redeemed"},
                 {M_EXPIRED, "expired"},
                 {M_REVERSED, "reversed"}};
    for (int k = 0; k < ns; k++)
        for (int i = 0; i < 4; i++) {
            l[nl] = (line_t){.side = &s[k], .side_no = k, .m = flows[i].m, .color = palette[i]};
            side_name(&s[k], ns, flows[i].name, l[nl].name, sizeof(l[nl].name));
            nl++;
        }
    chart(f, "points", "Points per month: issued, redeemed, expired, reversed", "points", false, ax,
          l, nl);
    nl = 0;
    for (int k = 0; k < ns; k++) {
        l[nl] = (line_t){.side = &s[k], .side_no = k, .m = M_REWARDS, .color = palette[4]};
        side_name(&s[k], ns, "free items granted (RewardEarned)", l[nl].name, sizeof(l[nl].name));
        nl++;
    }
    chart(f, "rewards", "Rewards granted per month (free items of stamp cards)", "rewards", false,
          ax, l, nl);
    nl = 0;
    for (int k = 0; k < ns; k++) {
        l[nl] = (line_t){.side = &s[k], .side_no = k, .m = M_REDEEMED_VALUE, .color = palette[1]};
        side_name(&s[k], ns, "value of points redeemed", l[nl].name, sizeof(l[nl].name));
        nl++;
        l[nl] = (line_t){.side = &s[k], .side_no = k, .m = M_LIABILITY, .color = palette[2]};
        side_name(&s[k], ns, "outstanding liability at the month's end", l[nl].name,
                  sizeof(l[nl].name));
        nl++;
    }
    char unit[32];
    snprintf(unit, sizeof(unit), "%s", s[0].p->currency);
    chart(f, "money", "Money: value redeemed per month and outstanding liability", unit, true, ax,
          l, nl);
    nl = 0;
    for (int k = 0; k < ns; k++)
        for (uint32_t i = 0; i < s[k].p->n_tiers && nl < 2 * PROG_TIERS_MAX; i++) {
            l[nl] = (line_t){
                .side = &s[k], .side_no = k, .m = M_TIER, .tier = (int)i, .color = palette[i % 8]};
            side_name(&s[k], ns, s[k].p->tiers[i].name, l[nl].name, sizeof(l[nl].name));
            nl++;
        }
    chart(f, "tiers", "Customers per tier at each month's end", "customers", false, ax, l, nl);
}

int rep_write_html(const char *path, const char *input, const rep_side_t *s, int ns,
                   const rep_tierdiff_t *diffs, size_t ndiffs, char *err, size_t errlen)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    size_t nm = 0;
    int32_t *months = common_axis(s, ns, &nm);
    axis_t ax = {months, nm};
    fprintf(f,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>loyalty-stream replay report</title>\n<style>%s</style></head>\n<body>\n",
            css);
    fputs("<h1>Replay report: ", f);
    esc(f, s[0].p->name[0] ? s[0].p->name : s[0].p->file);
    if (ns == 2) {
        fputs(" vs ", f);
        esc(f, s[1].p->name[0] ? s[1].p->name : s[1].p->file);
    }
    fputs("</h1>\n<p class=\"sub\">events: ", f);
    esc(f, input);
    for (int k = 0; k < ns; k++) {
        fprintf(f, "; %s: ", k ? "what-if" : "program");
        esc(f, s[k].p->file);
        fprintf(f, " (%s, time zone ", s[k].p->currency);
        esc(f, s[k].p->timezone);
        fputs(")", f);
    }
    if (nm) {
        char a[16], b[16];
        month_label(months[0], a, sizeof(a));
        month_label(months[nm - 1], b, sizeof(b));
        fprintf(f, "; months %s to %s (local calendar months of each program)", a, b);
    }
    fputs(ns == 2 ? ". Solid lines: the program; dashed: the what-if.</p>\n" : ".</p>\n", f);
    fputs("<div id=\"readout\"></div>\n", f);
    summary_table(f, s, ns);
    if (nm)
        charts(f, s, ns, &ax);
    else
        fputs("<p>No events: nothing to chart.</p>\n", f);
    if (ns == 2)
        tier_diff_table(f, s, diffs, ndiffs);
    fprintf(f,
            "<p class=\"sub\">Points are whole points; money is in %s (amounts of the events "
            "and outputs are minor units). Written by loyalty-stream replay --report.</p>\n"
            "<script>%s</script>\n</body></html>\n",
            s[0].p->currency, script);
    free(months);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        snprintf(err, errlen, "writing %s failed", path);
        return -1;
    }
    return 0;
}
