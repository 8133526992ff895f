/* keypart: see keypart.h. A transcription of Kafka's Utils.murmur2 (Java) in unsigned
 * 32-bit arithmetic, which wraps exactly as Java's int does. */
#include "keypart.h"

uint32_t keypart_murmur2(const void *key, size_t len)
{
    const unsigned char *d = key;
    const uint32_t m = 0x5bd1e995u;
    uint32_t h = 0x9747b28cu ^ (uint32_t)len;
    size_t n4 = len / 4;
    for (size_t i = 0; i < n4; i++) {
        const unsigned char *p = d + 4 * i;
        uint32_t k =
            (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        k *= m;
        k ^= k >> 24;
        k *= m;
        h *= m;
        h ^= k;
    }
    const unsigned char *tail = d + 4 * n4;
    switch (len % 4) {
    case 3:
        h ^= (uint32_t)tail[2] << 16;
        /* fall through */
    case 2:
        h ^= (uint32_t)tail[1] << 8;
        /* fall through */
    case 1:
        h ^= (uint32_t)tail[0];
        h *= m;
        break;
    default:
        break;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return h;
}

int32_t keypart_of(const void *key, size_t len, int32_t partitions)
{
    return (int32_t)((keypart_murmur2(key, len) & 0x7fffffffu) % (uint32_t)partitions);
}
