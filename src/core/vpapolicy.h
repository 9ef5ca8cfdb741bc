/* The VerticalPodAutoscaler's per-container resource policy (spec.resourcePolicy), read the
 * same way by the API's pod admission (api/kind_vpa.c) and the recommender
 * (controllers/vpa.c), which share no layer but core. */
#ifndef KROLL_CORE_VPAPOLICY_H
#define KROLL_CORE_VPAPOLICY_H

#include <jansson.h>

/* The containerPolicy of container name, else the "*" one, else NULL (borrowed). */
const json_t *vpa_policy_of(const json_t *vpa, const char *name);
/* 1 when the policy controls res ("cpu", "memory"): no controlledResources list (NULL policy
 * included) controls both. */
int vpa_policy_controls(const json_t *pol, const char *res);

#endif
