/* VerticalPodAutoscaler container policy lookups (see vpapolicy.h). */
#include "core/vpapolicy.h"

#include <string.h>

#include "core/jx.h"

const json_t *vpa_policy_of(const json_t *vpa, const char *name)
{
    const json_t *p, *star = NULL;
    size_t i;

    json_array_foreach(jx_get(vpa, "spec.resourcePolicy.containerPolicies"), i, p)
    {
        const char *cn = jx_str(p, "containerName") ?: "";

        if (strcmp(cn, name) == 0)
            return p;
        if (strcmp(cn, "*") == 0)
            star = p;
    }
    return star;
}

int vpa_policy_controls(const json_t *pol, const char *res)
{
    const json_t *ctl = json_object_get(pol, "controlledResources"), *v;
    size_t i;

    if (!json_is_array(ctl))
        return 1;
    json_array_foreach(ctl, i, v) if (strcmp(json_string_value(v) ?: "", res) == 0) return 1;
    return 0;
}
