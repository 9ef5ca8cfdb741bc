/* Dotted-path JSON access, semantic equality and time/quantity helpers (see jx.h). */
#include "core/jx.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Paths are program text ("metadata.labels"); one longer than this can only have been built from
 * data, so it matches nothing and creates nothing (no fixed buffer can be overrun either). */
#define JX_PATH_MAX 512

/* Follows the first len bytes of path from o. With create, missing or non-object members on the
 * way are replaced by new objects. NULL when a step is missing (or o is not an object). */
static json_t *jx_walk(json_t *o, const char *path, size_t len, int create)
{
    const char *p = path, *end = path + len;
    json_t *cur = o;

    if (len > JX_PATH_MAX)
        return NULL;
    while (cur && p < end) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        size_t n = dot ? (size_t)(dot - p) : (size_t)(end - p);
        json_t *next;

        if (!json_is_object(cur))
            return NULL;
        next = json_object_getn(cur, p, n);
        if (create && !json_is_object(next)) {
            next = json_object();
            if (json_object_setn_new(cur, p, n, next) < 0)
                return NULL;
        }
        cur = next;
        p = dot ? dot + 1 : end;
    }
    return cur;
}

static size_t jx_path_len(const char *path)
{
    return path ? strnlen(path, JX_PATH_MAX + 1) : JX_PATH_MAX + 1;
}

json_t *jx_get(const json_t *o, const char *path)
{
    return jx_walk((json_t *)o, path ? path : "", jx_path_len(path), 0);
}

const char *jx_str(const json_t *o, const char *path)
{
    return json_string_value(jx_get(o, path));
}

json_int_t jx_int(const json_t *o, const char *path, json_int_t def)
{
    json_t *v = jx_get(o, path);

    return json_is_integer(v) ? json_integer_value(v) : def;
}

int jx_bool(const json_t *o, const char *path)
{
    return json_is_true(jx_get(o, path));
}

json_t *jx_obj(json_t *o, const char *path)
{
    return jx_walk(o, path ? path : "", jx_path_len(path), 1);
}

void jx_set(json_t *o, const char *path, json_t *v)
{
    size_t len = jx_path_len(path);
    const char *dot = len <= JX_PATH_MAX ? strrchr(path, '.') : NULL;
    json_t *parent = dot ? jx_walk(o, path, (size_t)(dot - path), 1) : o;

    if (len > JX_PATH_MAX || !json_is_object(parent)) {
        json_decref(v);
        return;
    }
    json_object_set_new(parent, dot ? dot + 1 : path, v);
}

void jx_del(json_t *o, const char *path)
{
    size_t len = jx_path_len(path);
    const char *dot = len <= JX_PATH_MAX ? strrchr(path, '.') : NULL;
    json_t *parent = dot ? jx_walk(o, path, (size_t)(dot - path), 0) : o;

    if (len <= JX_PATH_MAX && json_is_object(parent))
        json_object_del(parent, dot ? dot + 1 : path);
}

const char *jx_annotation(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(jx_get(obj, "metadata.annotations"), key));
}

const char *jx_label(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(jx_get(obj, "metadata.labels"), key));
}

char *jx_dump(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
}

static int is_empty(const json_t *v)
{
    if (!v || json_is_null(v))
        return 1;
    if (json_is_object(v)) {
        const char *k;
        json_t *x;

        json_object_foreach((json_t *)v, k, x) if (!is_empty(x)) return 0;
        return 1;
    }
    if (json_is_array(v))
        return json_array_size(v) == 0;
    if (json_is_string(v))
        return json_string_length(v) == 0;
    return 0;
}

int jx_equal_semantic(const json_t *a, const json_t *b)
{
    if (is_empty(a) && is_empty(b))
        return 1;
    if (is_empty(a) || is_empty(b))
        return 0;
    if (json_is_object(a) && json_is_object(b)) {
        const char *k;
        json_t *v;

        json_object_foreach((json_t *)a, k,
                            v) if (!jx_equal_semantic(v, json_object_get(b, k))) return 0;
        json_object_foreach((json_t *)b, k, v) if (!json_object_get(a, k) && !is_empty(v)) return 0;
        return 1;
    }
    if (json_is_array(a) && json_is_array(b)) {
        if (json_array_size(a) != json_array_size(b))
            return 0;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!jx_equal_semantic(json_array_get(a, i), json_array_get(b, i)))
                return 0;
        return 1;
    }
    return json_equal((json_t *)a, (json_t *)b);
}

json_t *jx_prune(json_t *o)
{
    if (json_is_object(o)) {
        const char *k;
        json_t *v;
        void *tmp;

        json_object_foreach_safe(o, tmp, k, v)
        {
            jx_prune(v);
            if (is_empty(v))
                json_object_del(o, k);
        }
    } else if (json_is_array(o)) {
        for (size_t i = 0; i < json_array_size(o); i++)
            jx_prune(json_array_get(o, i));
    }
    return o;
}

void time_rfc3339(time_t t, char *out)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void time_rfc3339_micro(const struct timespec *ts, char *out)
{
    struct tm tm;
    char base[32];

    gmtime_r(&ts->tv_sec, &tm);
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    /* tv_nsec is below 1e9 by contract; the modulo lets the compiler see six digits. */
    snprintf(out, 40, "%s.%06uZ", base, (unsigned)(ts->tv_nsec / 1000) % 1000000u);
}

time_t time_parse(const char *s)
{
    struct tm tm = {0};
    const char *p;
    long off = 0;

    if (!s)
        return -1;
    p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p)
        return -1;
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++)
            ;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int hh, mm;

        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
            return -1;
        off = (hh * 3600L + mm * 60L) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    return timegm(&tm) - off;
}

double time_mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t time_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Mirrors k8s.io/apimachinery/pkg/util/duration.HumanDuration. */
void time_human(int64_t s, char *out, size_t n)
{
    int64_t m, h;

    if (s < -1) {
        snprintf(out, n, "<invalid>");
        return;
    }
    if (s < 0)
        s = 0;
    if (s < 120) {
        snprintf(out, n, "%llds", (long long)s);
        return;
    }
    m = s / 60;
    if (m < 10) {
        if (s % 60 == 0)
            snprintf(out, n, "%lldm", (long long)m);
        else
            snprintf(out, n, "%lldm%llds", (long long)m, (long long)(s % 60));
        return;
    }
    if (m < 180) {
        snprintf(out, n, "%lldm", (long long)m);
        return;
    }
    h = s / 3600;
    if (h < 8) {
        if (m % 60 == 0)
            snprintf(out, n, "%lldh", (long long)h);
        else
            snprintf(out, n, "%lldh%lldm", (long long)h, (long long)(m % 60));
        return;
    }
    if (h < 48) {
        snprintf(out, n, "%lldh", (long long)h);
        return;
    }
    if (h < 24 * 8) {
        if (h % 24 == 0)
            snprintf(out, n, "%lldd", (long long)(h / 24));
        else
            snprintf(out, n, "%lldd%lldh", (long long)(h / 24), (long long)(h % 24));
        return;
    }
    if (h < 24 * 365 * 2) {
        snprintf(out, n, "%lldd", (long long)(h / 24));
        return;
    }
    if (h < 24 * 365 * 8) {
        int64_t dy = (h / 24) % 365;

        if (dy == 0)
            snprintf(out, n, "%lldy", (long long)(h / 24 / 365));
        else
            snprintf(out, n, "%lldy%lldd", (long long)(h / 24 / 365), (long long)dy);
        return;
    }
    snprintf(out, n, "%lldy", (long long)(h / 24 / 365));
}

int quantity_parse_milli(const char *s, int64_t *milli)
{
    static const struct {
        const char *sfx;
        double mul;
    } sfx[] = {
        {"Ki", 1024.0},
        {"Mi", 1048576.0},
        {"Gi", 1073741824.0},
        {"Ti", 1099511627776.0},
        {"Pi", 1125899906842624.0},
        {"Ei", 1152921504606846976.0},
        {"n", 1e-9},
        {"u", 1e-6},
        {"m", 1e-3},
        {"k", 1e3},
        {"M", 1e6},
        {"G", 1e9},
        {"T", 1e12},
        {"P", 1e15},
        {"E", 1e18},
        {"", 1.0},
    };
    char *end;
    double v;

    if (!s || !*s || isspace((unsigned char)*s))
        return -1;
    if (!isdigit((unsigned char)*s) && *s != '.' && *s != '+' && *s != '-')
        return -1;
    v = strtod(s, &end);
    if (end == s || isnan(v) || isinf(v))
        return -1;
    for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
        if (strcmp(end, sfx[i].sfx) == 0) {
            double r = v * sfx[i].mul * 1000.0;

            if (r > 9.2e18 || r < -9.2e18)
                return -1;
            *milli = (int64_t)ceil(r - 1e-9);
            return 0;
        }
    }
    return -1;
}

int duration_parse_ms(const json_t *v, int64_t *ms)
{
    const int64_t max = 315360000000LL; /* ten years */
    const char *s;
    int64_t total = 0;

    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0 || json_integer_value(v) > max / 1000)
            return -1;
        *ms = json_integer_value(v) * 1000;
        return 0;
    }
    s = json_string_value(v);
    if (!s || !*s)
        return -1;
    if (strspn(s, "0123456789") == strlen(s)) {
        if (strlen(s) > 9)
            return -1;
        *ms = strtoll(s, NULL, 10) * 1000;
        return 0;
    }
    while (*s) {
        int64_t n = 0, unit;
        size_t digits = 0;

        while (*s >= '0' && *s <= '9' && digits < 12) {
            n = n * 10 + (*s++ - '0');
            digits++;
        }
        if (!digits || (*s >= '0' && *s <= '9'))
            return -1;
        if (!strncmp(s, "ms", 2)) {
            unit = 1;
            s += 2;
        } else if (*s == 's') {
            unit = 1000;
            s++;
        } else if (*s == 'm') {
            unit = 60000;
            s++;
        } else if (*s == 'h') {
            unit = 3600000;
            s++;
        } else {
            return -1;
        }
        if (n > max / unit || total > max - n * unit)
            return -1;
        total += n * unit;
    }
    *ms = total;
    return 0;
}

int quantity_json_milli(const json_t *v, int64_t *milli)
{
    if (json_is_number(v)) {
        *milli = (int64_t)(json_number_value(v) * 1000.0);
        return 0;
    }
    return quantity_parse_milli(json_string_value(v) ?: "", milli);
}

void quantity_fmt_milli(int64_t milli, int cpu, char *out, size_t n)
{
    static const char *const sfx[] = {"", "k", "M", "G", "T"};
    int64_t v = milli / 1000;
    int i = 0;

    if (cpu) {
        snprintf(out, n, "%lldm", (long long)milli);
        return;
    }
    while (v && v % 1000 == 0 && i < 4) {
        v /= 1000;
        i++;
    }
    snprintf(out, n, "%lld%s", (long long)v, sfx[i]);
}
