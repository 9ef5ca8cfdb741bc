/* VerticalPodAutoscaler (autoscaling.k8s.io/v1): validation as the VPA CRD's OpenAPI schema
 * makes it (required targetRef, the enums of updateMode, mode, controlledResources and
 * controlledValues) plus the admission webhook's checks (minAllowed <= maxAllowed, one policy
 * per container name), with kube-apiserver's field paths. */
#include "resources/res-int.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/jx.h"

#define VPA_MAX_POLICIES 64

static int one_of(const char *s, const char *const *set)
{
    for (; *set; set++)
        if (strcmp(s, *set) == 0)
            return 1;
    return 0;
}

/* A string field that, when present, must be one of set. */
static void enum_check(const json_t *obj, const char *key, const char *field,
                       const char *const *set, struct err *err)
{
    const json_t *v = json_object_get(obj, key);

    if (json_is_string(v) && !one_of(json_string_value(v), set))
        err_field_unsupported(err, field, v, set);
}

/* minAllowed <= maxAllowed for each resource both name. */
static void bounds_check(const json_t *p, const char *field, struct err *err)
{
    const json_t *min = json_object_get(p, "minAllowed"), *max = json_object_get(p, "maxAllowed");
    const json_t *mv;
    const char *res;
    char f[160];

    json_object_foreach((json_t *)min, res, mv)
    {
        int64_t a, b;
        if (quantity_json_milli(mv, &a) < 0 ||
            quantity_json_milli(json_object_get(max, res), &b) < 0 || a <= b)
            continue;
        res__path(f, sizeof f, "%s.maxAllowed.%s", field, res);
        err_field_invalid(err, f, json_object_get(max, res),
                          "max resource for %s is lower than min", res);
    }
}

static void policy_validate(const json_t *p, const char *field, struct err *err)
{
    static const char *const modes[] = {"Auto", "Off", NULL};
    static const char *const values[] = {"RequestsAndLimits", "RequestsOnly", NULL};
    static const char *const resources[] = {"cpu", "memory", NULL};
    const json_t *r;
    size_t i;
    char f[160];

    res__path(f, sizeof f, "%s.containerName", field);
    if (!json_is_string(json_object_get(p, "containerName")))
        err_field_required(err, f, "");
    res__path(f, sizeof f, "%s.mode", field);
    enum_check(p, "mode", f, modes, err);
    res__path(f, sizeof f, "%s.controlledValues", field);
    enum_check(p, "controlledValues", f, values, err);
    json_array_foreach(json_object_get(p, "controlledResources"), i, r)
    {
        res__path(f, sizeof f, "%s.controlledResources[%zu]", field, i);
        if (!one_of(json_string_value(r), resources))
            err_field_unsupported(err, f, r, resources);
    }
    bounds_check(p, field, err);
}

void res__vpa_validate(const json_t *obj, const json_t *old, struct err *err)
{
    static const char *const modes[] = {"Off", "Initial", "Recreate", "Auto", NULL};
    const json_t *spec = json_object_get(obj, "spec"), *ref, *pols, *p;
    size_t i, j;
    char f[96];

    res__meta_validate(obj, old, RN_SUBDOMAIN, 1, err);
    ref = json_object_get(spec, "targetRef");
    if (!json_is_object(ref)) {
        err_field_required(err, "spec.targetRef", "");
    } else {
        if (!*(jx_str(ref, "kind") ?: ""))
            err_field_required(err, "spec.targetRef.kind", "");
        if (!*(jx_str(ref, "name") ?: ""))
            err_field_required(err, "spec.targetRef.name", "");
    }
    enum_check(json_object_get(spec, "updatePolicy"), "updateMode", "spec.updatePolicy.updateMode",
               modes, err);
    if (jx_int(spec, "updatePolicy.minReplicas", 1) < 1)
        err_field_invalid(err, "spec.updatePolicy.minReplicas",
                          jx_get(spec, "updatePolicy.minReplicas"), "must be greater than 0");
    pols = jx_get(spec, "resourcePolicy.containerPolicies");
    if (json_array_size(pols) > VPA_MAX_POLICIES) {
        err_field_invalid(err, "spec.resourcePolicy.containerPolicies", NULL,
                          "must have at most %d items", VPA_MAX_POLICIES);
        return;
    }
    json_array_foreach(pols, i, p)
    {
        res__path(f, sizeof f, "spec.resourcePolicy.containerPolicies[%zu]", i);
        policy_validate(p, f, err);
        for (j = 0; j < i; j++)
            if (jx_str(p, "containerName") &&
                strcmp(jx_str(p, "containerName"),
                       jx_str(json_array_get(pols, j), "containerName") ?: "") == 0) {
                res__path(f, sizeof f, "spec.resourcePolicy.containerPolicies[%zu].containerName",
                          i);
                err_field_duplicate(err, f, json_object_get(p, "containerName"));
            }
    }
}
