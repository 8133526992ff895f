/*
 * avro_scan: a non-allocating validator of Avro binary against a schema (see
 * avro_scan.h). It mirrors the Avro specification's binary encoding: zig-zag varints,
 * length-prefixed bytes and strings, blocked arrays and maps (a negative block count is
 * followed by the block's size in bytes), union index then branch.
 */
#include "avro_scan.h"

#include <stdio.h>
#include <stdlib.h>

/* One node per schema node; a named type met again (recursion) reuses its node. */
typedef struct node {
    avro_type_t type;
    int64_t n;                /* fixed size, enum symbols, union branches, record fields */
    const struct node **kids; /* record fields, union branches, or the array/map items */
    const char **names;       /* record field names (borrowed from the schema) */
    avro_schema_t schema;     /* to find a named type again while compiling */
} node_t;

struct avro_scan_plan {
    node_t *root;
    node_t **all; /* every node, to free them */
    size_t n_all, cap_all;
};

typedef struct scan {
    const uint8_t *start;
    const uint8_t *p;
    const uint8_t *end;
    char *err;
    size_t errlen;
    const char *field; /* the innermost record field being scanned, for the message */
} scan_t;

static avro_scan_result_t fail(scan_t *s, avro_scan_result_t r, const char *what)
{
    if (s->err && s->errlen)
        snprintf(s->err, s->errlen, "%s in field '%s' at byte %zu", what,
                 s->field ? s->field : "(top)", (size_t)(s->p - s->start));
    return r;
}

/* Zig-zag varint of at most max_bytes (5 for int, 10 for long). */
static avro_scan_result_t read_varint(scan_t *s, int max_bytes, int64_t *out)
{
    uint64_t v = 0;
    for (int i = 0; i < max_bytes; i++) {
        if (s->p >= s->end)
            return fail(s, AVRO_SCAN_TRUNCATED, "data ends inside a number");
        uint8_t b = *s->p++;
        v |= (uint64_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80)) {
            *out = (int64_t)((v >> 1) ^ (~(v & 1) + 1));
            return AVRO_SCAN_OK;
        }
    }
    return fail(s, AVRO_SCAN_MALFORMED, "varint too long");
}

static avro_scan_result_t skip(scan_t *s, int64_t n, const char *what)
{
    if (n < 0)
        return fail(s, AVRO_SCAN_MALFORMED, what);
    if ((uint64_t)n > (uint64_t)(s->end - s->p))
        return fail(s, AVRO_SCAN_TRUNCATED, what);
    s->p += n;
    return AVRO_SCAN_OK;
}

static avro_scan_result_t scan_value(scan_t *s, const node_t *nd, int depth);

/* Arrays and maps: blocks until a zero count. A count is bounded by the bytes left (a
 * hostile 2^60 count of nulls is refused before avro-c appends anything). */
static avro_scan_result_t scan_blocks(scan_t *s, const node_t *items, int is_map, int depth)
{
    for (;;) {
        int64_t count, size;
        avro_scan_result_t r = read_varint(s, 10, &count);
        if (r)
            return r;
        if (count == 0)
            return AVRO_SCAN_OK;
        if (count == INT64_MIN)
            return fail(s, AVRO_SCAN_MALFORMED, "bad block count");
        if (count < 0) {
            count = -count;
            if ((r = read_varint(s, 10, &size)))
                return r;
            if (size < 0 || (uint64_t)size > (uint64_t)(s->end - s->p))
                return fail(s, AVRO_SCAN_MALFORMED, "block size beyond the data");
        }
        if ((uint64_t)count > (uint64_t)(s->end - s->p) + 1)
            return fail(s, AVRO_SCAN_MALFORMED, "block count beyond the data");
        for (int64_t i = 0; i < count; i++) {
            if (is_map) {
                int64_t klen;
                if ((r = read_varint(s, 10, &klen)) || (r = skip(s, klen, "bad map key length")))
                    return r;
            }
            if ((r = scan_value(s, items, depth + 1)))
                return r;
        }
    }
}

static avro_scan_result_t scan_record(scan_t *s, const node_t *nd, int depth)
{
    const char *outer = s->field;
    for (int64_t i = 0; i < nd->n; i++) {
        s->field = nd->names[i];
        avro_scan_result_t r = scan_value(s, nd->kids[i], depth + 1);
        if (r)
            return r;
    }
    s->field = outer;
    return AVRO_SCAN_OK;
}

static avro_scan_result_t scan_value(scan_t *s, const node_t *nd, int depth)
{
    int64_t v;
    avro_scan_result_t r;
    if (depth > AVRO_SCAN_DEPTH_MAX)
        return fail(s, AVRO_SCAN_MALFORMED, "nesting too deep");
    switch (nd->type) {
    case AVRO_NULL:
        return AVRO_SCAN_OK;
    case AVRO_BOOLEAN:
        if (s->p >= s->end)
            return fail(s, AVRO_SCAN_TRUNCATED, "data ends inside a boolean");
        if (*s->p > 1)
            return fail(s, AVRO_SCAN_MALFORMED, "boolean byte not 0 or 1");
        s->p++;
        return AVRO_SCAN_OK;
    case AVRO_INT32:
        if ((r = read_varint(s, 5, &v)))
            return r;
        return (v < INT32_MIN || v > INT32_MAX) ? fail(s, AVRO_SCAN_MALFORMED, "int out of range")
                                                : AVRO_SCAN_OK;
    case AVRO_INT64:
        return read_varint(s, 10, &v);
    case AVRO_FLOAT:
        return skip(s, 4, "data ends inside a float");
    case AVRO_DOUBLE:
        return skip(s, 8, "data ends inside a double");
    case AVRO_STRING:
    case AVRO_BYTES:
        if ((r = read_varint(s, 10, &v)))
            return r;
        return skip(s, v, v < 0 ? "negative length" : "length beyond the data");
    case AVRO_FIXED:
        return skip(s, nd->n, "data ends inside a fixed");
    case AVRO_ENUM:
        if ((r = read_varint(s, 10, &v)))
            return r;
        return (v < 0 || v >= nd->n) ? fail(s, AVRO_SCAN_MALFORMED, "enum index out of range")
                                     : AVRO_SCAN_OK;
    case AVRO_UNION:
        if ((r = read_varint(s, 10, &v)))
            return r;
        if (v < 0 || v >= nd->n)
            return fail(s, AVRO_SCAN_MALFORMED, "union index out of range");
        return scan_value(s, nd->kids[v], depth + 1);
    case AVRO_RECORD:
        return scan_record(s, nd, depth);
    case AVRO_ARRAY:
        return scan_blocks(s, nd->kids[0], 0, depth);
    case AVRO_MAP:
        return scan_blocks(s, nd->kids[0], 1, depth);
    default:
        return fail(s, AVRO_SCAN_MALFORMED, "unsupported schema type");
    }
}

avro_scan_result_t avro_scan_run(const avro_scan_plan_t *plan, const uint8_t *buf, size_t len,
                                 char *err, size_t errlen)
{
    scan_t s = {.start = buf, .p = buf, .end = buf + len, .err = err, .errlen = errlen};
    if (!buf && len)
        return AVRO_SCAN_MALFORMED;
    if (!buf)
        s.start = s.p = s.end = (const uint8_t *)"";
    avro_scan_result_t r = scan_value(&s, plan->root, 0);
    if (r == AVRO_SCAN_OK && s.p != s.end) {
        s.field = NULL;
        return fail(&s, AVRO_SCAN_MALFORMED, "trailing bytes after the record");
    }
    return r;
}

/* ------------------------------------------------------------------ compiling */

static node_t *compile(avro_scan_plan_t *pl, avro_schema_t sc);

static node_t *new_node(avro_scan_plan_t *pl, avro_schema_t sc, int64_t n_kids)
{
    if (pl->n_all == pl->cap_all) {
        size_t cap = pl->cap_all ? 2 * pl->cap_all : 16;
        node_t **all = realloc(pl->all, cap * sizeof(*all));
        if (!all)
            return NULL;
        pl->all = all;
        pl->cap_all = cap;
    }
    node_t *nd = calloc(1, sizeof(*nd));
    if (!nd || (n_kids && !(nd->kids = calloc((size_t)n_kids, sizeof(*nd->kids))))) {
        free(nd);
        return NULL;
    }
    nd->type = avro_typeof(sc);
    nd->schema = sc;
    pl->all[pl->n_all++] = nd;
    return nd;
}

static node_t *compile_named(avro_scan_plan_t *pl, avro_schema_t sc)
{
    for (size_t i = 0; i < pl->n_all; i++) /* a named type compiled already (recursion) */
        if (pl->all[i]->schema == sc)
            return pl->all[i];
    int64_t n = is_avro_record(sc) ? (int64_t)avro_schema_record_size(sc) : 0;
    node_t *nd = new_node(pl, sc, n);
    if (!nd)
        return NULL;
    if (is_avro_fixed(sc))
        nd->n = avro_schema_fixed_size(sc);
    else if (is_avro_enum(sc))
        nd->n = avro_schema_enum_number_of_symbols(sc);
    if (!is_avro_record(sc))
        return nd;
    nd->n = n;
    if (n && !(nd->names = calloc((size_t)n, sizeof(*nd->names))))
        return NULL;
    for (int64_t i = 0; i < n; i++) {
        nd->names[i] = avro_schema_record_field_name(sc, (int)i);
        if (!(nd->kids[i] = compile(pl, avro_schema_record_field_get_by_index(sc, (int)i))))
            return NULL;
    }
    return nd;
}

static node_t *compile(avro_scan_plan_t *pl, avro_schema_t sc)
{
    if (!sc)
        return NULL;
    if (is_avro_link(sc))
        return compile(pl, avro_schema_link_target(sc));
    if (is_avro_named_type(sc))
        return compile_named(pl, sc);
    int64_t n = is_avro_union(sc)                        ? (int64_t)avro_schema_union_size(sc)
                : (is_avro_array(sc) || is_avro_map(sc)) ? 1
                                                         : 0;
    node_t *nd = new_node(pl, sc, n);
    if (!nd)
        return NULL;
    nd->n = n;
    if (is_avro_union(sc)) {
        for (int64_t i = 0; i < n; i++)
            if (!(nd->kids[i] = compile(pl, avro_schema_union_branch(sc, (int)i))))
                return NULL;
    } else if (is_avro_array(sc)) {
        nd->kids[0] = compile(pl, avro_schema_array_items(sc));
    } else if (is_avro_map(sc)) {
        nd->kids[0] = compile(pl, avro_schema_map_values(sc));
    }
    return (n && !nd->kids[0]) ? NULL : nd;
}

avro_scan_plan_t *avro_scan_plan_new(avro_schema_t schema)
{
    avro_scan_plan_t *pl = calloc(1, sizeof(*pl));
    if (!pl)
        return NULL;
    pl->root = compile(pl, schema);
    if (!pl->root) {
        avro_scan_plan_destroy(pl);
        return NULL;
    }
    return pl;
}

void avro_scan_plan_destroy(avro_scan_plan_t *pl)
{
    if (!pl)
        return;
    for (size_t i = 0; i < pl->n_all; i++) {
        free(pl->all[i]->kids);
        free(pl->all[i]->names);
        free(pl->all[i]);
    }
    free(pl->all);
    free(pl);
}
