/* Helpers shared by the codec tests that compare the direct and generic Avro paths: a
 * deterministic pseudo-random sequence and the mutation of a framed record's bytes. */
#ifndef LS_TEST_MUTATE_UTIL_H
#define LS_TEST_MUTATE_UTIL_H

#include "frame.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

/* xorshift64: the same sequence on every run, so a failure is reproducible. */
static inline uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/*
 * Up to max_flips changes to the payload of the framed record rec[0..*len): a random
 * byte, one flipped bit, a truncation, a varint edge (0x80 or 0x01), and, when
 * trailing is true and cap has room, a byte appended. The frame header is left alone.
 */
static inline void mutate_record(uint8_t *rec, size_t *len, size_t cap, int max_flips,
                                 bool trailing)
{
    int flips = 1 + (int)(rnd() % (uint64_t)max_flips);
    for (int f = 0; f<flips && * len> FRAME_HEADER_LEN; f++) {
        size_t at = FRAME_HEADER_LEN + rnd() % (*len - FRAME_HEADER_LEN);
        switch (rnd() % (trailing ? 5 : 4)) {
        case 0:
            rec[at] = (uint8_t)rnd();
            break;
        case 1:
            rec[at] ^= (uint8_t)(1u << (rnd() % 8));
            break;
        case 2:
            *len = at; /* truncated */
            break;
        case 3:
            rec[at] = (uint8_t)(rnd() % 2 ? 0x80 : 0x01); /* varint edges */
            break;
        default:
            if (*len < cap)
                rec[(*len)++] = (uint8_t)rnd(); /* a trailing byte */
            break;
        }
    }
}

#endif
