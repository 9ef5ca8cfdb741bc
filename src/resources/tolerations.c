/* Scheduling fields: tolerations and node affinity of a pod spec, taints of a node (upstream's
 * ValidateTolerations, ValidateNodeSelector and validateNodeTaints, with their messages), and
 * the DefaultTolerationSeconds admission plugin's tolerations. */
#include <stdio.h>
#include <string.h>

#include "core/jx.h"
#include "core/names.h"
#include "resources/res-int.h"

#define P(buf, ...) res__path(buf, sizeof buf, __VA_ARGS__)

static const char *const effects[] = {"NoSchedule", "PreferNoSchedule", "NoExecute", NULL};

static int str_in(const char *s, const char *const *set)
{
    for (; *set; set++)
        if (!strcmp(s, *set))
            return 1;
    return 0;
}

/* A label value check reported as one Invalid cause (upstream joins the messages with ";"). */
static void value_check(struct err *err, const char *field, const json_t *v)
{
    const char *msgs[2];
    char joined[600];
    int n = json_is_string(v) ? name_label_value_check(json_string_value(v), msgs, 2) : 0;

    if (n == 0)
        return;
    snprintf(joined, sizeof joined, "%s%s%s", msgs[0], n > 1 ? ";" : "", n > 1 ? msgs[1] : "");
    err_field_invalid(err, field, v, "%s", joined);
}

static void effect_check(const json_t *o, const char *f, int required, struct err *err)
{
    const json_t *v = json_object_get(o, "effect");
    const char *e = json_string_value(v);

    if (!e || !*e) {
        if (required)
            err_field_required(err, f, "");
    } else if (!str_in(e, effects)) {
        err_field_unsupported(err, f, v, effects);
    }
}

void res__tolerations_validate(const json_t *tols, const char *field, struct err *err)
{
    static const char *const ops[] = {"Equal", "Exists", NULL};
    size_t i;
    json_t *t;
    char f[700];

    if (json_array_size(tols) > 1000) {
        err_field_invalid(err, field, NULL, "must have at most 1000 items");
        return;
    }
    json_array_foreach(tols, i, t)
    {
        const char *op = jx_str(t, "operator") ?: "", *key = jx_str(t, "key") ?: "";
        const char *eff = jx_str(t, "effect");

        P(f, "%s[%zu].key", field, i);
        if (*key)
            res__qualified_name_check(err, f, key);
        P(f, "%s[%zu].operator", field, i);
        if (!*key && strcmp(op, "Exists") != 0)
            err_field_invalid(err, f, json_object_get(t, "operator"),
                              "operator must be Exists when `key` is empty, which means \"match "
                              "all values and all keys\"");
        if (json_is_integer(json_object_get(t, "tolerationSeconds")) &&
            (!eff || strcmp(eff, "NoExecute") != 0)) {
            P(f, "%s[%zu].effect", field, i);
            err_field_invalid(err, f, json_object_get(t, "effect"),
                              "effect must be 'NoExecute' when `tolerationSeconds` is set");
        }
        P(f, "%s[%zu].operator", field, i);
        if (!*op || !strcmp(op, "Equal"))
            value_check(err, f, json_object_get(t, "value"));
        else if (!strcmp(op, "Exists") && jx_str(t, "value") && *jx_str(t, "value"))
            err_field_invalid(err, f, json_object_get(t, "value"),
                              "value must be empty when `operator` is 'Exists'");
        else if (strcmp(op, "Exists") != 0)
            err_field_unsupported(err, f, json_object_get(t, "operator"), ops);
        P(f, "%s[%zu].effect", field, i);
        effect_check(t, f, 0, err);
    }
}

void res__taints_validate(const json_t *taints, const char *field, struct err *err)
{
    size_t i, j;
    json_t *t, *u;
    char f[200];

    if (json_array_size(taints) > 1000) {
        err_field_invalid(err, field, NULL, "must have at most 1000 items");
        return;
    }
    json_array_foreach(taints, i, t)
    {
        const char *key = jx_str(t, "key");

        P(f, "%s[%zu].key", field, i);
        if (!key || !*key)
            err_field_required(err, f, "");
        else
            res__qualified_name_check(err, f, key);
        P(f, "%s[%zu].value", field, i);
        value_check(err, f, json_object_get(t, "value"));
        P(f, "%s[%zu].effect", field, i);
        effect_check(t, f, 1, err);
        for (j = 0; j < i && (u = json_array_get(taints, j)); j++)
            if (!strcmp(jx_str(u, "key") ?: "", key ?: "") &&
                !strcmp(jx_str(u, "effect") ?: "", jx_str(t, "effect") ?: "")) {
                P(f, "%s[%zu]", field, i);
                err_field_invalid(err, f, json_object_get(t, "key"),
                                  "taints must be unique by key and effect pair");
                break;
            }
    }
}

/* One NodeSelectorRequirement of matchExpressions (fields = 0) or matchFields (1). */
static void requirement_validate(const json_t *rq, const char *field, int fields, struct err *err)
{
    const char *op = jx_str(rq, "operator") ?: "", *key = jx_str(rq, "key") ?: "";
    json_t *vals = json_object_get(rq, "values"), *v;
    size_t n = json_array_size(vals), i;
    int inout = !strcmp(op, "In") || !strcmp(op, "NotIn");
    char f[800];

    P(f, "%s.values", field);
    if (fields) {
        if (!inout) {
            P(f, "%s.operator", field);
            err_field_invalid(err, f, json_object_get(rq, "operator"),
                              "not a valid selector operator");
        } else if (n != 1)
            err_field_required(err, f,
                               "must be only one value when `operator` is 'In' or 'NotIn' for "
                               "node field selector");
        P(f, "%s.key", field);
        if (strcmp(key, "metadata.name") != 0)
            err_field_invalid(err, f, json_object_get(rq, "key"), "not a valid field selector key");
        return;
    }
    if (inout && n == 0)
        err_field_required(err, f, "must be specified when `operator` is 'In' or 'NotIn'");
    else if ((!strcmp(op, "Exists") || !strcmp(op, "DoesNotExist")) && n > 0)
        err_field_forbidden(err, f,
                            "may not be specified when `operator` is 'Exists' or "
                            "'DoesNotExist'");
    else if ((!strcmp(op, "Gt") || !strcmp(op, "Lt")) && n != 1)
        err_field_required(err, f,
                           "must be specified single value when `operator` is 'Lt' or 'Gt'");
    else if (!inout && strcmp(op, "Exists") && strcmp(op, "DoesNotExist") && strcmp(op, "Gt") &&
             strcmp(op, "Lt")) {
        P(f, "%s.operator", field);
        err_field_invalid(err, f, json_object_get(rq, "operator"), "not a valid selector operator");
    }
    P(f, "%s.key", field);
    res__qualified_name_check(err, f, key);
    json_array_foreach(vals, i, v)
    {
        P(f, "%s.values[%zu]", field, i);
        value_check(err, f, v);
    }
}

static void term_validate(const json_t *term, const char *field, struct err *err)
{
    static const char *const lists[] = {"matchExpressions", "matchFields"};
    json_t *r;
    size_t i;
    char f[800];

    for (int l = 0; l < 2; l++)
        json_array_foreach(json_object_get(term, lists[l]), i, r)
        {
            P(f, "%s.%s[%zu]", field, lists[l], i);
            requirement_validate(r, f, l, err);
        }
}

void res__node_affinity_validate(const json_t *na, const char *field, struct err *err)
{
    const json_t *req = json_object_get(na, "requiredDuringSchedulingIgnoredDuringExecution");
    json_t *terms = json_object_get(req, "nodeSelectorTerms"), *t;
    size_t i;
    char f[800];

    if (json_is_object(req)) {
        P(f, "%s.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms", field);
        if (json_array_size(terms) == 0)
            err_field_required(err, f, "must have at least one node selector term");
        json_array_foreach(terms, i, t)
        {
            P(f, "%s.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[%zu]", field,
              i);
            term_validate(t, f, err);
        }
    }
    json_array_foreach(json_object_get(na, "preferredDuringSchedulingIgnoredDuringExecution"), i, t)
    {
        json_int_t w = jx_int(t, "weight", 0);

        P(f, "%s.preferredDuringSchedulingIgnoredDuringExecution[%zu].weight", field, i);
        if (w < 1 || w > 100)
            err_field_invalid(err, f, json_object_get(t, "weight"), "must be in the range 1-100");
        P(f, "%s.preferredDuringSchedulingIgnoredDuringExecution[%zu].preference", field, i);
        term_validate(json_object_get(t, "preference"), f, err);
    }
}

/* DefaultTolerationSeconds: a pod that tolerates neither node.kubernetes.io/not-ready nor
 * .../unreachable with NoExecute (a toleration with that key or no key, and NoExecute or no
 * effect) gets {key, operator: Exists, effect: NoExecute, tolerationSeconds: 300} for each. */
void res__pod_default_tolerations(json_t *spec)
{
    static const char *const keys[] = {"node.kubernetes.io/not-ready",
                                       "node.kubernetes.io/unreachable"};
    json_t *tols = json_object_get(spec, "tolerations"), *t;
    size_t i;

    if (!json_is_object(spec) || (tols && !json_is_array(tols)))
        return;
    for (int k = 0; k < 2; k++) {
        int has = 0;

        json_array_foreach(tols, i, t)
        {
            const char *key = jx_str(t, "key") ?: "", *eff = jx_str(t, "effect") ?: "";

            if ((!*key || !strcmp(key, keys[k])) && (!*eff || !strcmp(eff, "NoExecute")))
                has = 1;
        }
        if (has)
            continue;
        if (!tols)
            json_object_set_new(spec, "tolerations", tols = json_array());
        json_array_append_new(tols,
                              json_pack("{s:s,s:s,s:s,s:i}", "key", keys[k], "operator", "Exists",
                                        "effect", "NoExecute", "tolerationSeconds", 300));
    }
}
