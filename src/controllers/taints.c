/* Taint/toleration and node affinity matching: see taints.h. */
#include "controllers/taints.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/jx.h"

static int str_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

int toleration_tolerates(const json_t *tol, const json_t *taint)
{
    const char *eff = jx_str(tol, "effect"), *key = jx_str(tol, "key");
    const char *op = jx_str(tol, "operator");

    if (eff && *eff && !str_eq(eff, jx_str(taint, "effect")))
        return 0;
    if (key && *key && !str_eq(key, jx_str(taint, "key")))
        return 0;
    if (!op || !*op || !strcmp(op, "Equal"))
        return str_eq(jx_str(tol, "value"), jx_str(taint, "value"));
    return !strcmp(op, "Exists");
}

static const json_t *toleration_for(const json_t *pod, const json_t *taint)
{
    json_t *tols = jx_get(pod, "spec.tolerations"), *t;
    size_t i;

    json_array_foreach(tols, i, t) if (toleration_tolerates(t, taint)) return t;
    return NULL;
}

const json_t *taint_untolerated(const json_t *node, const json_t *pod, int noexec_only)
{
    json_t *taints = jx_get(node, "spec.taints"), *t;
    size_t i;

    json_array_foreach(taints, i, t)
    {
        const char *eff = jx_str(t, "effect");

        if (!eff || (strcmp(eff, "NoExecute") != 0 && (noexec_only || strcmp(eff, "NoSchedule"))))
            continue;
        if (!toleration_for(pod, t))
            return t;
    }
    return NULL;
}

/* Go's strconv.ParseInt(s, 10, 64), as the Gt/Lt operators parse both sides. */
static int parse_int64(const char *s, long long *v)
{
    char *end;

    if (!s || !*s || *s == ' ')
        return -1;
    errno = 0;
    *v = strtoll(s, &end, 10);
    return errno || *end ? -1 : 0;
}

static int values_has(const json_t *values, const char *s)
{
    json_t *v;
    size_t i;

    json_array_foreach(values, i, v) if (str_eq(json_string_value(v), s)) return 1;
    return 0;
}

/* One requirement against the value of its key in the node (NULL when absent). */
static int requirement_matches(const json_t *req, const char *have)
{
    const char *op = jx_str(req, "operator");
    json_t *values = jx_get(req, "values");
    long long a, b;

    if (!op)
        return 0;
    if (!strcmp(op, "In"))
        return have && values_has(values, have);
    if (!strcmp(op, "NotIn"))
        return !have || !values_has(values, have);
    if (!strcmp(op, "Exists"))
        return have != NULL;
    if (!strcmp(op, "DoesNotExist"))
        return have == NULL;
    if (strcmp(op, "Gt") != 0 && strcmp(op, "Lt") != 0)
        return 0;
    if (!have || json_array_size(values) != 1 || parse_int64(have, &a) < 0 ||
        parse_int64(json_string_value(json_array_get(values, 0)), &b) < 0)
        return 0;
    return op[0] == 'G' ? a > b : a < b;
}

/* A term matches when it has at least one requirement and all of them match. */
static int term_matches(const json_t *node, const json_t *term)
{
    json_t *exprs = jx_get(term, "matchExpressions"), *fields = jx_get(term, "matchFields"), *r;
    json_t *labels = jx_get(node, "metadata.labels");
    size_t i;

    if (json_array_size(exprs) == 0 && json_array_size(fields) == 0)
        return 0;
    json_array_foreach(exprs, i, r)
    {
        const char *key = jx_str(r, "key");

        if (!key || !requirement_matches(r, json_string_value(json_object_get(labels, key))))
            return 0;
    }
    json_array_foreach(fields, i, r)
    {
        if (!str_eq(jx_str(r, "key"), "metadata.name") ||
            !requirement_matches(r, jx_str(node, "metadata.name")))
            return 0;
    }
    return 1;
}

int node_affinity_matches(const json_t *node, const json_t *pod)
{
    json_t *sel = jx_get(pod, "spec.nodeSelector"), *labels = jx_get(node, "metadata.labels");
    json_t *req, *terms, *v, *t;
    const char *k;
    size_t i;

    json_object_foreach(sel, k, v)
    {
        if (!str_eq(json_string_value(json_object_get(labels, k)), json_string_value(v)) ||
            !json_object_get(labels, k))
            return 0;
    }
    req = jx_get(pod, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution");
    if (!json_is_object(req))
        return 1;
    terms = json_object_get(req, "nodeSelectorTerms");
    json_array_foreach(terms, i, t) if (term_matches(node, t)) return 1;
    return 0;
}

long long noexec_toleration_seconds(const json_t *node, const json_t *pod)
{
    json_t *taints = jx_get(node, "spec.taints"), *t;
    long long min = -1;
    size_t i;

    json_array_foreach(taints, i, t)
    {
        const json_t *tol, *secs;

        if (!str_eq(jx_str(t, "effect"), "NoExecute"))
            continue;
        if (!(tol = toleration_for(pod, t)))
            return 0;
        secs = json_object_get(tol, "tolerationSeconds");
        if (!json_is_integer(secs))
            continue;
        if (json_integer_value(secs) <= 0)
            return 0;
        if (min < 0 || json_integer_value(secs) < min)
            min = json_integer_value(secs);
    }
    return min;
}
