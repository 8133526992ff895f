/*
 * avro_json: schema-driven JSON -> avro-c value (see avro_json.h). Recursion follows the
 * JSON document, whose depth jansson already bounds.
 */
#include "avro_json.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static int conv(json_t *j, avro_value_t *v, const char *path, char *err, size_t errlen);

static int bad(char *err, size_t errlen, const char *path, const char *what)
{
    snprintf(err, errlen, "JSON at %s: %s", path[0] ? path : "(top)", what);
    return -1;
}

static int null_branch(avro_schema_t u)
{
    for (size_t i = 0; i < avro_schema_union_size(u); i++)
        if (avro_typeof(avro_schema_union_branch(u, (int)i)) == AVRO_NULL)
            return (int)i;
    return -1;
}

/* The branch a {"name": value} object selects: a named type by short or full name, a
 * primitive by its type name ("string", "long", ...). */
static int branch_named(avro_schema_t u, const char *key)
{
    for (size_t i = 0; i < avro_schema_union_size(u); i++) {
        avro_schema_t b = avro_schema_union_branch(u, (int)i);
        if (avro_typeof(b) == AVRO_LINK)
            b = avro_schema_link_target(b);
        const char *name = avro_schema_type_name(b);
        if (is_avro_named_type(b)) {
            char full[512];
            const char *ns = avro_schema_namespace(b);
            snprintf(full, sizeof(full), "%s%s%s", ns ? ns : "", ns ? "." : "", name);
            if (strcmp(key, full) == 0 || strcmp(key, name) == 0)
                return (int)i;
        } else if (strcmp(key, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static int conv_union(json_t *j, avro_value_t *v, const char *path, char *err, size_t errlen)
{
    avro_schema_t u = avro_value_get_schema(v);
    avro_value_t b;
    int idx = -1;
    json_t *inner = j;
    if (json_is_null(j)) {
        idx = null_branch(u);
    } else if (json_is_object(j) && json_object_size(j) == 1) {
        const char *key = json_object_iter_key(json_object_iter(j));
        idx = branch_named(u, key);
        inner = json_object_iter_value(json_object_iter(j));
    }
    if (idx < 0 && !json_is_null(j) && avro_schema_union_size(u) == 2 && null_branch(u) >= 0) {
        idx = 1 - null_branch(u); /* a bare value for ["null", T] */
        inner = j;
    }
    if (idx < 0)
        return bad(err, errlen, path, "no union branch matches (use {\"type\": value})");
    if (avro_value_set_branch(v, idx, &b) != 0)
        return bad(err, errlen, path, avro_strerror());
    return conv(inner, &b, path, err, errlen);
}

static int conv_record(json_t *j, avro_value_t *v, const char *path, char *err, size_t errlen)
{
    size_t n = 0, used = 0;
    if (!json_is_object(j))
        return bad(err, errlen, path, "expected an object");
    avro_value_get_size(v, &n);
    for (size_t i = 0; i < n; i++) {
        avro_value_t f;
        const char *name;
        char sub[512];
        if (avro_value_get_by_index(v, i, &f, &name) != 0)
            return bad(err, errlen, path, avro_strerror());
        snprintf(sub, sizeof(sub), "%s.%s", path, name);
        json_t *fj = json_object_get(j, name);
        if (!fj) {
            if (avro_value_get_type(&f) == AVRO_UNION &&
                null_branch(avro_value_get_schema(&f)) >= 0) {
                avro_value_t b;
                if (avro_value_set_branch(&f, null_branch(avro_value_get_schema(&f)), &b))
                    return bad(err, errlen, sub, avro_strerror());
                continue;
            }
            return bad(err, errlen, sub, "missing field");
        }
        used++;
        if (conv(fj, &f, sub, err, errlen) != 0)
            return -1;
    }
    if (used != json_object_size(j))
        return bad(err, errlen, path, "the object has a key the schema does not know");
    return 0;
}

static int conv_container(json_t *j, avro_value_t *v, const char *path, char *err, size_t errlen)
{
    char sub[512];
    avro_value_t el;
    if (avro_value_get_type(v) == AVRO_ARRAY) {
        size_t i;
        json_t *item;
        if (!json_is_array(j))
            return bad(err, errlen, path, "expected an array");
        json_array_foreach(j, i, item)
        {
            snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
            if (avro_value_append(v, &el, NULL) != 0 || conv(item, &el, sub, err, errlen) != 0)
                return -1;
        }
        return 0;
    }
    const char *key;
    json_t *item;
    if (!json_is_object(j))
        return bad(err, errlen, path, "expected an object (map)");
    json_object_foreach(j, key, item)
    {
        snprintf(sub, sizeof(sub), "%s.%s", path, key);
        if (avro_value_add(v, key, &el, NULL, NULL) != 0 || conv(item, &el, sub, err, errlen))
            return -1;
    }
    return 0;
}

static int conv(json_t *j, avro_value_t *v, const char *path, char *err, size_t errlen)
{
    int rc = -1;
    switch (avro_value_get_type(v)) {
    case AVRO_NULL:
        return json_is_null(j) ? avro_value_set_null(v) : bad(err, errlen, path, "expected null");
    case AVRO_BOOLEAN:
        if (!json_is_boolean(j))
            return bad(err, errlen, path, "expected true or false");
        rc = avro_value_set_boolean(v, json_is_true(j));
        break;
    case AVRO_INT32:
        if (!json_is_integer(j) || json_integer_value(j) < INT32_MIN ||
            json_integer_value(j) > INT32_MAX)
            return bad(err, errlen, path, "expected a 32-bit integer");
        rc = avro_value_set_int(v, (int32_t)json_integer_value(j));
        break;
    case AVRO_INT64:
        if (!json_is_integer(j))
            return bad(err, errlen, path, "expected an integer");
        rc = avro_value_set_long(v, json_integer_value(j));
        break;
    case AVRO_FLOAT:
    case AVRO_DOUBLE:
        if (!json_is_number(j))
            return bad(err, errlen, path, "expected a number");
        rc = avro_value_get_type(v) == AVRO_FLOAT
                 ? avro_value_set_float(v, (float)json_number_value(j))
                 : avro_value_set_double(v, json_number_value(j));
        break;
    case AVRO_STRING:
        if (!json_is_string(j))
            return bad(err, errlen, path, "expected a string");
        rc = avro_value_set_string_len(v, json_string_value(j), json_string_length(j) + 1);
        break;
    case AVRO_BYTES:
        if (!json_is_string(j))
            return bad(err, errlen, path, "expected a string (bytes)");
        rc = avro_value_set_bytes(v, (void *)json_string_value(j), json_string_length(j));
        break;
    case AVRO_ENUM: {
        int idx = json_is_string(j)
                      ? avro_schema_enum_get_by_name(avro_value_get_schema(v), json_string_value(j))
                      : -1;
        if (idx < 0)
            return bad(err, errlen, path, "expected one of the enum's symbols");
        rc = avro_value_set_enum(v, idx);
        break;
    }
    case AVRO_UNION:
        return conv_union(j, v, path, err, errlen);
    case AVRO_RECORD:
        return conv_record(j, v, path, err, errlen);
    case AVRO_ARRAY:
    case AVRO_MAP:
        return conv_container(j, v, path, err, errlen);
    default:
        return bad(err, errlen, path, "this schema type is not supported from JSON");
    }
    return rc == 0 ? 0 : bad(err, errlen, path, avro_strerror());
}

int avro_json_to_value(const char *json, avro_value_t *dst, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = json_loads(json, JSON_ALLOW_NUL, &je);
    if (!root) {
        snprintf(err, errlen, "JSON line %d column %d: %s", je.line, je.column, je.text);
        return -1;
    }
    int rc = conv(root, dst, "", err, errlen);
    json_decref(root);
    return rc;
}
