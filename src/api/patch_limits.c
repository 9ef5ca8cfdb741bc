/* Size and depth limits of API objects: what a decoded body, a patch result and a stored object
 * may be (Kubernetes' numbers, see patch.h), measured without serializing and without
 * recursing past the depth limit, so a hostile shape is refused before any other walk sees it. */
#include "api/patch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/patch-int.h"

size_t patch_object_max_bytes(void)
{
    static size_t max;

    if (!max) {
        const char *s = getenv("KROLL_MAX_OBJECT_BYTES");
        char *end;
        unsigned long long v = s && *s ? strtoull(s, &end, 10) : 0;

        /* Below 4 KiB not even a small Deployment fits: such a value is a typo, not a policy. */
        max = s && *s && !*end && v >= 4096 && v <= (1ULL << 32) ? (size_t)v
                                                                 : PATCH_OBJECT_MAX_BYTES;
    }
    return max;
}

/* Bytes jansson's compact encoder writes for a string of n bytes (quotes and escapes). */
static size_t string_size(const char *s, size_t n)
{
    size_t len = 2;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' ||
            c == '\t')
            len += 2;
        else if (c < 0x20)
            len += 6;
        else
            len++;
    }
    return len;
}

/* As jansson's dtostr writes a real: "%.17g", ".0" when it looks like an integer, and no "+"
 * or leading zeros in the exponent. */
static size_t real_size(double d)
{
    char buf[64];
    size_t n = (size_t)snprintf(buf, sizeof buf, "%.17g", d);
    char *e = strchr(buf, 'e');

    if (!strchr(buf, '.') && !e)
        return n + 2;
    if (e) {
        char *p = e + 1;
        if (*p == '+')
            n--, p++;
        else if (*p == '-')
            p++;
        for (; *p == '0' && p[1]; p++)
            n--;
    }
    return n;
}

static size_t scalar_size(const json_t *v)
{
    char buf[64];

    switch (json_typeof(v)) {
    case JSON_STRING:
        return string_size(json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return (size_t)snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    case JSON_REAL:
        return real_size(json_real_value(v));
    case JSON_TRUE:
    case JSON_NULL:
        return 4;
    default:
        return 5; /* false */
    }
}

/* Adds v's size to m->bytes and raises m->depth; level is the nesting of v's container (1 for
 * the top one). Stops (m->over set) as soon as a limit is passed, so the recursion never goes
 * deeper than max_depth + 1 and never walks more than max_bytes of the value. */
static void measure(const json_t *v, int level, struct patch_measure *m)
{
    size_t i = 0;

    if (m->over)
        return;
    if (json_is_object(v) || json_is_array(v)) {
        if (level > m->max_depth) {
            m->over = PATCH_OVER_DEPTH;
            return;
        }
        if (level > m->depth)
            m->depth = level;
        m->bytes += 2;
    }
    if (json_is_object(v)) {
        for (void *it = json_object_iter((json_t *)v); it && !m->over;
             it = json_object_iter_next((json_t *)v, it), i++) {
            m->bytes += (i ? 1u : 0u) + 1 + /* comma, colon */
                        string_size(json_object_iter_key(it), json_object_iter_key_len(it));
            measure(json_object_iter_value(it), level + 1, m);
        }
    } else if (json_is_array(v)) {
        for (i = 0; i < json_array_size(v) && !m->over; i++) {
            m->bytes += i ? 1 : 0;
            measure(json_array_get(v, i), level + 1, m);
        }
    } else {
        m->bytes += scalar_size(v);
    }
    if (!m->over && m->bytes > m->max_bytes)
        m->over = PATCH_OVER_SIZE;
}

int patch_measure(const json_t *v, int base, struct patch_measure *m)
{
    m->over = 0;
    measure(v, base + 1, m);
    return m->over ? -1 : 0;
}

int patch__limit_err(struct err *err, int over, const char *what, const char *field)
{
    if (over == PATCH_OVER_DEPTH) {
        err_set(err, -E_INVALID, "%s is invalid: nesting depth exceeds the limit of %d levels",
                what, PATCH_MAX_DEPTH);
        err_cause(err, "FieldValueInvalid", field ? field : "",
                  "Invalid value: nesting depth exceeds the limit of %d levels", PATCH_MAX_DEPTH);
        return -E_INVALID;
    }
    err_set(err, -E_TOO_LARGE, "Request entity too large: %s exceeds the object size limit of "
            "%zu bytes", what, patch_object_max_bytes());
    err_cause(err, "FieldValueTooLong", field ? field : "",
              "Too long: must have at most %zu bytes", patch_object_max_bytes());
    return -E_TOO_LARGE;
}

int patch_check_object(const json_t *obj, const char *what, struct err *err)
{
    struct patch_measure m = {.max_bytes = patch_object_max_bytes(), .max_depth = PATCH_MAX_DEPTH};

    if (patch_measure(obj, 0, &m) == 0)
        return 0;
    return patch__limit_err(err, m.over, what, NULL);
}
