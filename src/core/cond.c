/* status.conditions of any object (metav1 conditions, k8s-semantics §4.3), for every component
 * that writes a status: the controllers and the kubelet. */
#include "core/cond.h"

#include <string.h>

#include "core/jx.h"

json_t *cond_get(const json_t *obj, const char *type)
{
    json_t *cs = jx_get(obj, "status.conditions");

    for (size_t i = 0; i < json_array_size(cs); i++) {
        json_t *c = json_array_get(cs, i);

        if (strcmp(jx_str(c, "type") ?: "", type) == 0)
            return c;
    }
    return NULL;
}

void cond_del(json_t *status, const char *type)
{
    json_t *cs = json_object_get(status, "conditions");

    for (size_t i = 0; i < json_array_size(cs); i++)
        if (strcmp(jx_str(json_array_get(cs, i), "type") ?: "", type) == 0) {
            json_array_remove(cs, i);
            return;
        }
}

int cond_set(json_t *status, json_t *c)
{
    json_t *cs = json_object_get(status, "conditions");

    if (!json_is_array(cs)) {
        cs = json_array();
        json_object_set_new(status, "conditions", cs);
    }
    for (size_t i = 0; i < json_array_size(cs); i++) {
        json_t *cur = json_array_get(cs, i);

        if (strcmp(jx_str(cur, "type") ?: "", jx_str(c, "type")) != 0)
            continue;
        if (strcmp(jx_str(cur, "status") ?: "", jx_str(c, "status")) == 0 &&
            strcmp(jx_str(cur, "reason") ?: "", jx_str(c, "reason") ?: "") == 0) {
            json_decref(c);
            return 0;
        }
        if (strcmp(jx_str(cur, "status") ?: "", jx_str(c, "status")) == 0 &&
            json_object_get(cur, "lastTransitionTime"))
            json_object_set(c, "lastTransitionTime", json_object_get(cur, "lastTransitionTime"));
        json_array_remove(cs, i);
        break;
    }
    json_array_append_new(cs, c);
    return 1;
}
