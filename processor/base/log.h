/*
 * log: leveled, module-tagged, one line per event, key=value fields a log pipeline can
 * parse, or one JSON object per line when asked.
 *
 *   ts=2026-11-23T14:04:01.123Z level=info mod=pipe msg="task started" task=3 offset=42
 *
 * Every value is escaped, whatever the arguments hold: `"`, `\`, newlines, tabs and other
 * control bytes become \", \\, \n, \t, \xNN (JSON: \u00NN), so an argument can never
 * end a field, add one or start a new line. Keys are unique in a line: a field named ts,
 * level, mod, msg or like an earlier field gets a suffix (msg_2). In JSON, an unquoted
 * value that is a number (or true/false) is written as one. Secrets are not written: a
 * field whose key names a password, secret, token, credential or authorization shows
 * "***", and the user information of any URL in a value or msg (`https://user:pass@h`)
 * is replaced with "***".
 *
 * The level and the format are set once at start-up (read-only afterwards, as STYLE.md
 * allows); log_emit is then safe to call from any thread: each line is written with one
 * fwrite and flushed. The hot path must not log per record.
 */
#ifndef LS_LOG_H
#define LS_LOG_H

#include <stdbool.h>
#include <stdio.h>

typedef enum { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3, LOG_OFF = 4 } log_level_t;

/** @brief Set the minimum level written and the output format (call before threads start). */
void log_configure(log_level_t min_level, bool json, FILE *out);

/** @brief Parse "debug|info|warn|error|off". @returns 0, or -1 for an unknown name. */
int log_level_parse(const char *name, log_level_t *out);

/** @brief True when a line at @p level would be written (to skip costly formatting). */
bool log_enabled(log_level_t level);

/**
 * @brief Write one line. @p kv_fmt is a printf format of space-separated key=value
 *        fields, e.g. `task=%d err="%s"`; it may be NULL when there are no fields. Its
 *        literal text gives the structure (keys, `=`, the quotes of a quoted value, the
 *        spaces between fields); what a conversion expands to is only content, escaped.
 *        A quoted value stays a string in JSON; an unquoted one that needs quotes in
 *        text (a space, say) gets them. Values are cut at 512 bytes (ending "...").
 */
void log_emit(log_level_t level, const char *mod, const char *msg, const char *kv_fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define log_debug(mod, msg, ...) log_emit(LOG_DEBUG, mod, msg, __VA_ARGS__)
#define log_info(mod, msg, ...)  log_emit(LOG_INFO, mod, msg, __VA_ARGS__)
#define log_warn(mod, msg, ...)  log_emit(LOG_WARN, mod, msg, __VA_ARGS__)
#define log_error(mod, msg, ...) log_emit(LOG_ERROR, mod, msg, __VA_ARGS__)

/**
 * @brief Format the key=value string @p kv as a JSON object body ("k":"v",...) into
 *        @p out (size @p outlen), as log_emit does with its fields (here every character
 *        of @p kv is structure; `\"` inside a quoted value is a quote). Exposed for tests.
 * @returns the length written (always NUL-terminated, cut within @p outlen).
 */
size_t log_kv_to_json(const char *kv, char *out, size_t outlen);

/**
 * @brief Copy @p n bytes of @p in to @p out (size @p outlen, NUL-terminated) with the
 *        user information of every URL replaced: in `https://user:pass@host/x`, "user:pass"
 *        becomes "***". For messages built outside the logger (error strings
 *        that name a schema registry URL, say). @returns the length written.
 */
size_t log_redact_urls(const char *in, size_t n, char *out, size_t outlen);

#endif
