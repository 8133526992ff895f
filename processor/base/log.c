/*
 * log: see log.h. Two ideas:
 *
 * - A line is built whole in a stack buffer and written with a single fwrite (stdio locks
 *   the stream per call), so lines from different threads never interleave; each line is
 *   flushed at once.
 * - The caller's kv_fmt is not trusted to be safe once expanded: a customer id or an error
 *   text may hold quotes, newlines or `key=` text. So the format is walked conversion by
 *   conversion: its literal text gives the structure (keys, `=`, quotes, spaces between
 *   fields), and what each conversion expands to is only ever a key's or a value's
 *   content, escaped on output. No argument can end a field, start a line or add a key.
 */
#include "log.h"

#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

/* Set once by log_configure before any thread starts; read-only afterwards. */
static log_level_t g_min_level = LOG_INFO;
static bool g_json = false;
static FILE *g_out = NULL;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void log_configure(log_level_t min_level, bool json, FILE *out)
{
    g_min_level = min_level;
    g_json = json;
    g_out = out;
}

int log_level_parse(const char *name, log_level_t *out)
{
    for (int i = 0; i <= LOG_OFF; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (log_level_t)i;
            return 0;
        }
    }
    return -1;
}

bool log_enabled(log_level_t level)
{
    return level >= g_min_level && level < LOG_OFF;
}

/* ---- fields: the parsed key=value pairs of one line ---- */

#define MAX_FIELDS 32
#define KEY_MAX    48   /* a key longer than this is cut */
#define VALUE_MAX  512  /* a value longer than this is cut and ends with "..." */
#define POOL_SIZE  4096 /* all values of one line */
#define LINE_SIZE  8192 /* one line, escaped */

typedef struct {
    char key[KEY_MAX + 8]; /* + room for a "_NN" suffix that makes it unique */
    size_t val;            /* offset into the pool */
    size_t vlen;
    bool quoted; /* the format quoted the value: always a string */
    bool cut;    /* the value was longer than VALUE_MAX */
} field_t;

typedef enum { ST_SPACE, ST_KEY, ST_EQ, ST_BARE, ST_QUOTED } pstate_t;

typedef struct {
    field_t f[MAX_FIELDS];
    size_t n;
    size_t used; /* bytes of pool in use */
    pstate_t st;
    bool esc;             /* a literal backslash inside a quoted value: the next literal is
                             content */
    bool full;            /* more fields than MAX_FIELDS: the rest are dropped */
    char pool[POOL_SIZE]; /* last: fields_init clears everything before it */
} fields_t;

static void fields_init(fields_t *fs)
{
    memset(fs, 0, offsetof(fields_t, pool));
    fs->st = ST_SPACE;
}

static void field_open(fields_t *fs)
{
    if (fs->n == MAX_FIELDS) {
        fs->full = true;
        return;
    }
    field_t *f = &fs->f[fs->n++];
    memset(f, 0, sizeof *f);
    f->val = fs->used;
}

static field_t *cur(fields_t *fs)
{
    return fs->full || fs->n == 0 ? NULL : &fs->f[fs->n - 1];
}

static void key_put(fields_t *fs, char c)
{
    field_t *f = cur(fs);
    size_t n = f != NULL ? strlen(f->key) : KEY_MAX;
    if (n < KEY_MAX)
        f->key[n] = c;
}

static void value_put(fields_t *fs, char c)
{
    field_t *f = cur(fs);
    if (f == NULL)
        return;
    if (f->vlen >= VALUE_MAX || fs->used >= sizeof fs->pool) {
        f->cut = true;
        return;
    }
    fs->pool[fs->used++] = c;
    f->vlen++;
}

/* One character of the format's literal text: it may give structure. */
static void put_literal(fields_t *fs, char c)
{
    switch (fs->st) {
    case ST_SPACE:
        if (c == ' ')
            return;
        field_open(fs);
        fs->st = ST_KEY;
        /* fall through */
    case ST_KEY:
        if (c == '=')
            fs->st = ST_EQ;
        else if (c == ' ')
            fs->st = ST_SPACE; /* a word without '=': a key with an empty value */
        else
            key_put(fs, c);
        return;
    case ST_EQ:
        if (c == '"') {
            field_t *f = cur(fs);
            if (f != NULL)
                f->quoted = true;
            fs->st = ST_QUOTED;
            return;
        }
        fs->st = ST_BARE;
        /* fall through */
    case ST_BARE:
        if (c == ' ')
            fs->st = ST_SPACE;
        else
            value_put(fs, c);
        return;
    case ST_QUOTED:
        if (fs->esc) {
            fs->esc = false;
            value_put(fs, c);
        } else if (c == '\\') {
            fs->esc = true;
        } else if (c == '"') {
            fs->st = ST_SPACE;
        } else {
            value_put(fs, c);
        }
        return;
    }
}

/* What a conversion expanded to: content of the current key or value, never structure. */
static void put_content(fields_t *fs, const char *s, size_t n, bool cut)
{
    if (fs->st == ST_SPACE) {
        field_open(fs);
        fs->st = ST_KEY;
    }
    if (fs->st == ST_EQ)
        fs->st = ST_BARE;
    for (size_t i = 0; i < n; i++) {
        if (fs->st == ST_KEY)
            key_put(fs, s[i]);
        else
            value_put(fs, s[i]);
    }
    field_t *f = cur(fs);
    if (cut && f != NULL && fs->st != ST_KEY)
        f->cut = true;
}

/* Expand one conversion (the spec `spec`, without its arguments) into @p out. The
 * argument types follow C's rules for printf; %n is not supported. @returns the length
 * written (bounded by outlen - 1), and sets *cut when the expansion did not fit. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static size_t expand(const char *spec, char conv, const char *len, va_list *ap, char *out,
                     size_t outlen, bool *cut)
{
    int n = 0, width = 0, prec = 0;
    const char *dot = strchr(spec, '.'), *star = strchr(spec, '*');
    bool w_star = star != NULL && (dot == NULL || star < dot);
    bool p_star = dot != NULL && dot[1] == '*';
    if (w_star)
        width = va_arg(*ap, int);
    if (p_star)
        prec = va_arg(*ap, int);
#define EMIT(val)                                                     \
    (w_star && p_star ? snprintf(out, outlen, spec, width, prec, val) \
     : w_star         ? snprintf(out, outlen, spec, width, val)       \
     : p_star         ? snprintf(out, outlen, spec, prec, val)        \
                      : snprintf(out, outlen, spec, val))
    switch (conv) {
    case 'd':
    case 'i':
        if (strcmp(len, "ll") == 0)
            n = EMIT(va_arg(*ap, long long));
        else if (strcmp(len, "l") == 0)
            n = EMIT(va_arg(*ap, long));
        else if (strcmp(len, "j") == 0)
            n = EMIT(va_arg(*ap, intmax_t));
        else if (strcmp(len, "z") == 0 || strcmp(len, "t") == 0)
            n = EMIT(va_arg(*ap, ptrdiff_t));
        else
            n = EMIT(va_arg(*ap, int));
        break;
    case 'u':
    case 'o':
    case 'x':
    case 'X':
        if (strcmp(len, "ll") == 0)
            n = EMIT(va_arg(*ap, unsigned long long));
        else if (strcmp(len, "l") == 0)
            n = EMIT(va_arg(*ap, unsigned long));
        else if (strcmp(len, "j") == 0)
            n = EMIT(va_arg(*ap, uintmax_t));
        else if (strcmp(len, "z") == 0 || strcmp(len, "t") == 0)
            n = EMIT(va_arg(*ap, size_t));
        else
            n = EMIT(va_arg(*ap, unsigned));
        break;
    case 'c':
        n = EMIT(va_arg(*ap, int));
        break;
    case 's': {
        const char *s = va_arg(*ap, const char *);
        n = EMIT(s != NULL ? s : "(null)");
        break;
    }
    case 'p':
        n = EMIT(va_arg(*ap, void *));
        break;
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'g':
    case 'G':
    case 'a':
    case 'A':
        if (strcmp(len, "L") == 0)
            n = EMIT(va_arg(*ap, long double));
        else
            n = EMIT(va_arg(*ap, double));
        break;
    default:
        n = snprintf(out, outlen, "%s", spec); /* not a conversion we know: shown as is */
        break;
    }
#undef EMIT
    if (n < 0) {
        out[0] = '\0';
        return 0;
    }
    *cut = (size_t)n >= outlen;
    return *cut ? outlen - 1 : (size_t)n;
}
#pragma GCC diagnostic pop

/* Walk @p fmt: literal text through put_literal, each conversion through put_content. */
static void parse_format(fields_t *fs, const char *fmt, va_list *ap)
{
    for (const char *p = fmt; *p != '\0';) {
        if (*p != '%') {
            put_literal(fs, *p++);
            continue;
        }
        if (p[1] == '%') {
            put_literal(fs, '%');
            p += 2;
            continue;
        }
        const char *start = p++;
        p += strspn(p, "-+ #0");
        if (*p == '*')
            p++;
        else
            p += strspn(p, "0123456789");
        if (*p == '.') {
            p++;
            if (*p == '*')
                p++;
            else
                p += strspn(p, "0123456789");
        }
        char len[3] = "";
        if ((p[0] == 'h' && p[1] == 'h') || (p[0] == 'l' && p[1] == 'l')) {
            memcpy(len, p, 2);
            p += 2;
        } else if (*p != '\0' && strchr("hljztL", *p) != NULL) {
            len[0] = *p++;
        }
        char conv = *p;
        if (conv == '\0')
            break;
        p++;
        char spec[32];
        size_t slen = (size_t)(p - start);
        if (slen >= sizeof spec || conv == 'n')
            continue; /* absurd or unsafe: skipped (its argument is not consumed) */
        memcpy(spec, start, slen);
        spec[slen] = '\0';
        char buf[VALUE_MAX + 1];
        bool cut = false;
        size_t n = expand(spec, conv, len, ap, buf, sizeof buf, &cut);
        put_content(fs, buf, n, cut);
    }
}

/* Parse an already formatted key=value string: every character is literal structure. */
static void parse_literal(fields_t *fs, const char *kv)
{
    for (const char *p = kv; p != NULL && *p != '\0'; p++)
        put_literal(fs, *p);
}

/* ---- keys: safe and unique ---- */

static const char *const reserved_keys[] = {"ts", "level", "mod", "msg"};

static bool key_taken(const fields_t *fs, size_t upto, const char *key)
{
    for (size_t i = 0; i < sizeof reserved_keys / sizeof reserved_keys[0]; i++)
        if (strcmp(key, reserved_keys[i]) == 0)
            return true;
    for (size_t i = 0; i < upto; i++)
        if (strcmp(fs->f[i].key, key) == 0)
            return true;
    return false;
}

/* Keys keep [A-Za-z0-9_.-] (anything else becomes '_'); a key equal to ts, level, mod,
 * msg or to an earlier field's gets the first free suffix _2, _3, ... */
static void fix_keys(fields_t *fs)
{
    for (size_t i = 0; i < fs->n; i++) {
        char *k = fs->f[i].key;
        if (k[0] == '\0')
            strcpy(k, "field");
        for (char *c = k; *c != '\0'; c++)
            if (!isalnum((unsigned char)*c) && *c != '_' && *c != '.' && *c != '-')
                *c = '_';
        if (!key_taken(fs, i, k))
            continue;
        size_t base = strlen(k);
        for (int s = 2; s < 100; s++) {
            snprintf(k + base, sizeof fs->f[i].key - base, "_%d", s);
            if (!key_taken(fs, i, k))
                break;
        }
    }
}

/* ---- secrets ---- */

static const char *const secret_words[] = {"password", "passwd",     "secret",
                                           "token",    "credential", "authorization"};

static bool secret_key(const char *key)
{
    char low[KEY_MAX + 8];
    size_t i = 0;
    for (; key[i] != '\0' && i + 1 < sizeof low; i++)
        low[i] = (char)tolower((unsigned char)key[i]);
    low[i] = '\0';
    for (size_t w = 0; w < sizeof secret_words / sizeof secret_words[0]; w++)
        if (strstr(low, secret_words[w]) != NULL)
            return true;
    return false;
}

size_t log_redact_urls(const char *in, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    if (outlen == 0)
        return 0;
    for (size_t i = 0; i < n;) {
        /* After "://": the authority runs to the first '/', '?', '#', space or quote; an
         * '@' inside it ends the user information, which is replaced with "***". */
        if (i + 3 <= n && memcmp(in + i, "://", 3) == 0) {
            size_t a = i + 3, end = a, at = 0;
            while (end < n && strchr("/?#\"' \t\r\n", in[end]) == NULL && in[end] != '\0') {
                if (in[end] == '@')
                    at = end;
                end++;
            }
            if (at > 0) {
                const char *rep = "://***";
                for (const char *r = rep; *r != '\0' && o + 1 < outlen; r++)
                    out[o++] = *r;
                i = at;
                continue;
            }
        }
        if (o + 1 < outlen)
            out[o++] = in[i];
        i++;
    }
    out[o] = '\0';
    return o;
}

/* ---- escaping ---- */

typedef struct {
    char *buf;
    size_t len, cap;
    bool cut; /* something did not fit */
} sb_t;

/* Append @p s whole or not at all; @p reserve bytes stay free for closing the line. */
static bool sb_put(sb_t *b, const char *s, size_t n, size_t reserve)
{
    if (b->len + n + reserve >= b->cap) {
        b->cut = true;
        return false;
    }
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
    return true;
}

static bool sb_str(sb_t *b, const char *s, size_t reserve)
{
    return sb_put(b, s, strlen(s), reserve);
}

/* Length of the valid UTF-8 sequence at @p s (at most @p n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len;
    uint32_t cp;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
        cp = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        cp = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

/* Append @p s escaped for a text value (`"` `\` \n \r \t, other control bytes and bytes
 * that are not UTF-8 as \xNN) or a JSON string (the same, control bytes as \u00NN and
 * bytes that are not UTF-8 as the text \xNN). Stops at a whole character when full. */
static void put_escaped(sb_t *b, const char *s, size_t n, bool json, size_t reserve)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        char e[8];
        size_t u = utf8_len((const unsigned char *)s + i, n - i);
        if (c == '"' || c == '\\') {
            e[0] = '\\';
            e[1] = (char)c;
            e[2] = '\0';
        } else if (c == '\n' || c == '\r' || c == '\t') {
            snprintf(e, sizeof e, "\\%c", c == '\n' ? 'n' : c == '\r' ? 'r' : 't');
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(e, sizeof e, json ? "\\u%04x" : "\\x%02x", c);
        } else if (u == 0) {
            snprintf(e, sizeof e, json ? "\\\\x%02x" : "\\x%02x", c);
        } else {
            if (!sb_put(b, s + i, u, reserve))
                return;
            i += u;
            continue;
        }
        if (!sb_str(b, e, reserve))
            return;
        i++;
    }
}

/* A bare text value needs quotes when it is empty or holds anything but printable ASCII
 * other than space, `"`, `=` and `\`. */
static bool needs_quotes(const char *s, size_t n)
{
    if (n == 0)
        return true;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == '=' || c == '\\')
            return true;
    }
    return false;
}

/* A JSON number (RFC 8259 grammar): -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool json_number(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '-')
        i++;
    if (i == n || !isdigit((unsigned char)s[i]))
        return false;
    if (s[i] == '0')
        i++;
    else
        while (i < n && isdigit((unsigned char)s[i]))
            i++;
    if (i < n && s[i] == '.') {
        size_t d = ++i;
        while (i < n && isdigit((unsigned char)s[i]))
            i++;
        if (i == d)
            return false;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t d = i;
        while (i < n && isdigit((unsigned char)s[i]))
            i++;
        if (i == d)
            return false;
    }
    return i == n;
}

#define CLOSE_RESERVE 8 /* room for `"...}` and the newline */

/* One field's value: redacted, escaped, quoted as the format asks. */
static void put_value(sb_t *b, const fields_t *fs, const field_t *f, bool json)
{
    char red[VALUE_MAX + 16];
    const char *v = fs->pool + f->val;
    size_t n = f->vlen;
    if (secret_key(f->key)) {
        v = "***";
        n = 3;
    } else {
        n = log_redact_urls(v, n, red, sizeof red);
        v = red;
    }
    bool cut = f->cut && v == red;
    bool typed = !f->quoted && !cut &&
                 (json_number(v, n) || (json && n == 4 && memcmp(v, "true", 4) == 0) ||
                  (json && n == 5 && memcmp(v, "false", 5) == 0));
    bool quote = json ? !typed : f->quoted || cut || needs_quotes(v, n);
    if (quote)
        sb_str(b, "\"", CLOSE_RESERVE);
    put_escaped(b, v, n, json, CLOSE_RESERVE);
    if (cut)
        sb_str(b, "...", CLOSE_RESERVE);
    if (quote)
        sb_put(b, "\"", 1, 1); /* always fits: the reserve */
}

static void put_fields(sb_t *b, const fields_t *fs, bool json, bool first)
{
    for (size_t i = 0; i < fs->n && !b->cut; i++) {
        const field_t *f = &fs->f[i];
        size_t mark = b->len;
        if (b->len + KEY_MAX + 16 + CLOSE_RESERVE >= b->cap) {
            b->cut = true; /* no room for a key and the start of its value */
            break;
        }
        if (json) {
            sb_str(b, first && i == 0 ? "\"" : ",\"", CLOSE_RESERVE);
            sb_str(b, f->key, CLOSE_RESERVE);
            sb_str(b, "\":", CLOSE_RESERVE);
        } else {
            sb_str(b, first && i == 0 ? "" : " ", CLOSE_RESERVE);
            sb_str(b, f->key, CLOSE_RESERVE);
            sb_str(b, "=", CLOSE_RESERVE);
        }
        if (b->cut) { /* not even the key fitted: drop the field whole */
            b->len = mark;
            b->buf[mark] = '\0';
            break;
        }
        put_value(b, fs, f, json);
    }
}

size_t log_kv_to_json(const char *kv, char *out, size_t outlen)
{
    if (outlen == 0)
        return 0;
    fields_t *fs = malloc(sizeof *fs);
    out[0] = '\0';
    if (fs == NULL)
        return 0;
    fields_init(fs);
    parse_literal(fs, kv);
    fix_keys(fs);
    sb_t b = {.buf = out, .cap = outlen};
    put_fields(&b, fs, true, true);
    free(fs);
    return b.len;
}

static void format_ts(char *buf, size_t len)
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03dZ", (int)(tv.tv_usec / 1000));
}

/* The line's head: ts, level, mod and msg (mod and msg escaped and redacted too). */
static void put_head(sb_t *b, log_level_t level, const char *mod, const char *msg, bool json)
{
    char ts[40], red[VALUE_MAX + 16];
    format_ts(ts, sizeof ts);
    size_t mlen = strlen(msg);
    size_t rn = log_redact_urls(msg, mlen < VALUE_MAX ? mlen : VALUE_MAX, red, sizeof red);
    sb_str(b, json ? "{\"ts\":\"" : "ts=", 0);
    sb_str(b, ts, 0);
    sb_str(b, json ? "\",\"level\":\"" : " level=", 0);
    sb_str(b, level_names[level], 0);
    sb_str(b, json ? "\",\"mod\":\"" : " mod=", 0);
    put_escaped(b, mod, strlen(mod), json, CLOSE_RESERVE);
    sb_str(b, json ? "\",\"msg\":\"" : " msg=\"", 0);
    put_escaped(b, red, rn, json, CLOSE_RESERVE);
    sb_str(b, "\"", 0);
}

void log_emit(log_level_t level, const char *mod, const char *msg, const char *kv_fmt, ...)
{
    if (!log_enabled(level))
        return;
    fields_t fs; /* ~6 KiB: on the stack, as a line is */
    fields_init(&fs);
    if (kv_fmt != NULL) {
        va_list ap;
        va_start(ap, kv_fmt);
        parse_format(&fs, kv_fmt, &ap);
        va_end(ap);
    }
    fix_keys(&fs);
    char line[LINE_SIZE];
    sb_t b = {.buf = line, .cap = sizeof line};
    line[0] = '\0';
    put_head(&b, level, mod != NULL ? mod : "", msg != NULL ? msg : "", g_json);
    put_fields(&b, &fs, g_json, false);
    if (b.len + 2 < b.cap) { /* the reserve keeps these bytes free */
        if (g_json)
            line[b.len++] = '}';
        line[b.len++] = '\n';
    }
    FILE *f = g_out ? g_out : stderr;
    fwrite(line, 1, b.len, f); /* one call: stdio locks the stream, lines never interleave */
    fflush(f);
}
