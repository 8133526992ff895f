/*
 * sug: "did you mean ...?" for a mistyped name (a program file's key, an enum value, a
 * time zone).
 *
 * The one idea: the caller offers every valid name in turn; sug keeps the closest one by
 * edit distance (Damerau-Levenshtein, case-insensitive, a swap of two neighbours counts
 * once) and names it only when it is close enough to be a plausible typo: at most 1 edit
 * for names up to 4 characters, 2 up to 9, 3 beyond. Nothing allocates.
 */
#ifndef LS_SUG_H
#define LS_SUG_H

#include <stddef.h>

#define SUG_NAME_MAX 128

typedef struct sug {
    const char *word;        /* what was written (borrowed) */
    char best[SUG_NAME_MAX]; /* closest name offered so far */
    int best_dist;           /* its distance, or a large number */
} sug_t;

/** @brief Start a search for names close to @p word (borrowed until the last call). */
void sug_init(sug_t *s, const char *word);
/** @brief Offer one valid name. */
void sug_offer(sug_t *s, const char *name);
/** @brief The closest name if it is a plausible typo of the word, else NULL. */
const char *sug_best(const sug_t *s);
/** @brief Edit distance of a and b (case-insensitive, adjacent swaps count 1); names
 * longer than SUG_NAME_MAX - 1 are compared by their first SUG_NAME_MAX - 1 bytes. */
int sug_distance(const char *a, const char *b);

#endif
