/*
 * sug: see sug.h. The distance is the optimal-string-alignment variant of
 * Damerau-Levenshtein on three rows of a bounded table.
 */
#include "sug.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

int sug_distance(const char *a, const char *b)
{
    size_t n = strnlen(a, SUG_NAME_MAX - 1), m = strnlen(b, SUG_NAME_MAX - 1);
    int rows[3][SUG_NAME_MAX];
    int *pp = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= m; j++)
        prev[j] = (int)j;
    for (size_t i = 1; i <= n; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= m; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            int cost = ca != cb;
            int v = prev[j] + 1;
            if (cur[j - 1] + 1 < v)
                v = cur[j - 1] + 1;
            if (prev[j - 1] + cost < v)
                v = prev[j - 1] + cost;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && pp[j - 2] + 1 < v)
                v = pp[j - 2] + 1;
            cur[j] = v;
        }
        int *t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    return prev[m];
}

void sug_init(sug_t *s, const char *word)
{
    s->word = word ? word : "";
    s->best[0] = '\0';
    s->best_dist = INT_MAX;
}

void sug_offer(sug_t *s, const char *name)
{
    if (!name || !*name)
        return;
    int d = sug_distance(s->word, name);
    if (d < s->best_dist) {
        s->best_dist = d;
        snprintf(s->best, sizeof(s->best), "%s", name);
    }
}

const char *sug_best(const sug_t *s)
{
    size_t len = strlen(s->word);
    int limit = len <= 4 ? 1 : len <= 9 ? 2 : 3;
    /* a difference of case alone (distance 0) is a typo too */
    return s->best[0] && s->best_dist <= limit && strcmp(s->word, s->best) != 0 ? s->best : NULL;
}
