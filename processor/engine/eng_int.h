/*
 * eng_int: small helpers the engine's modules (eng.c, eng_out.c, eng_earn.c, eng_state.c)
 * share; internal, not part of the engine's API.
 *
 * The one idea: everything here is static inline and works on fixed-size char ARRAYS
 * (ids and names of eng_types.h), so a comparison or copy can look at eight bytes at once
 * and still give exactly what the string functions give.
 */
#ifndef LS_ENG_INT_H
#define LS_ENG_INT_H

#include "eng.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef __int128 i128;

/* helpers of the next-due computation, which runs about twice per event */
#define ENG_HOT __attribute__((always_inline)) inline

/* copy src into the array dst of n bytes, truncated and terminated */
static inline void copy_str(char *dst, size_t n, const char *src)
{
    size_t l = strnlen(src, n - 1);
    memcpy(dst, src, l);
    dst[l] = '\0';
}

/* strcmp(a, b) == 0 for two char ARRAYS of at least 8 bytes (ids, names): the first eight
 * bytes are compared at once, which decides it for most names; strcmp does the rest. */
static inline int name_eq(const char *a, const char *b)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t wa, wb;
    memcpy(&wa, a, 8);
    memcpy(&wb, b, 8);
    uint64_t d = wa ^ wb;                                                    /* bytes that differ */
    uint64_t z = (wa - 0x0101010101010101ULL) & ~wa & 0x8080808080808080ULL; /* a's NULs */
    if (d == 0 && z == 0) /* eight equal bytes, no end yet */
        return strcmp(a + 8, b + 8) == 0;
    /* the lowest flagged byte of z is a's first NUL; equal iff it comes before any
     * difference (b then has the same NUL) */
    unsigned dz = d ? (unsigned)__builtin_ctzll(d) / 8 : 8;
    unsigned zz = z ? (unsigned)__builtin_ctzll(z) / 8 : 8;
    return zz < dz;
#else
    return strcmp(a, b) == 0;
#endif
}

/** floor(num / den) for num >= 0: the one rounding rule for points. */
static inline int64_t floor_points(i128 num, i128 den)
{
    if (num <= 0 || den <= 0)
        return 0;
    if (num <= INT64_MAX && den <= INT64_MAX) /* the same quotient, without __divti3 */
        return (int64_t)num / (int64_t)den;
    return (int64_t)(num / den);
}

/* The name of tier t, clamped to the program's tiers. */
static inline const char *eng_tier_name(const prog_t *p, int32_t t)
{
    return p->tiers[t < 0 ? 0 : (uint32_t)t < p->n_tiers ? t : (int32_t)p->n_tiers - 1].name;
}

/* A state written before version 2 (no join date): joined_at from the earliest time it
 * records (eng_state.c); a no-op for newer states. */
void eng_state_upgrade(eng_state_t *s);
/* Remember the attributes an event carries (eng_state.c). */
void eng_state_remember(eng_state_t *s, const eng_attrs_t *a);

/* 1 if h is among the state's seen ids (eng_state.c) */
int eng_seen_has(const eng_state_t *s, uint64_t h);

/* Remember h in the ring of seen ids, forgetting the oldest when it is full. */
static inline void eng_seen_add(eng_state_t *s, uint64_t h)
{
    s->seen[s->seen_head] = h;
    s->seen_head = (s->seen_head + 1) % ENG_SEEN_MAX;
    if (s->n_seen < ENG_SEEN_MAX)
        s->n_seen++;
}

#endif
