/* A container's environment and arguments, resolved as the kubelet does. */
#ifndef KROLL_NODE_ENV_H
#define KROLL_NODE_ENV_H

#include <jansson.h>

#include "client/kc.h"
#include "core/err.h"

/* Computes the environment of container in pod: the image's Env ("K=V" strings), then envFrom
 * (configMapRef/secretRef with prefix, optional), then env (value with $(VAR) expansion against
 * earlier variables, valueFrom fieldRef/resourceFieldRef/configMapKeyRef/secretKeyRef), later
 * entries overriding earlier ones. *out is a new array of "K=V" strings. A missing non-optional
 * ConfigMap/Secret/key fails with the kubelet's message (e.g. `configmap "cfg" not found`),
 * which the caller reports as CreateContainerConfigError. As in the kubelet, $(VAR) in a value
 * sees envFrom and earlier env entries but not the image's Env; envFrom keys that are not valid
 * variable names are skipped; an unset limits.cpu/memory in resourceFieldRef is the node's
 * capacity (CPUs, physical memory). services (a map of Services, or NULL) gives the service
 * link variables of the pod's namespace (FOO_SERVICE_HOST, FOO_PORT, ...) unless the pod sets
 * enableServiceLinks: false; they come first, so $(VAR) sees them and env overrides them. */
int env_resolve(struct kc *kc, const json_t *pod, const json_t *container,
                const json_t *image_env, const json_t *services, json_t **out, struct err *err);
/* Expands $(VAR) in each string of args (command or args) with env ("K=V" array); $$ escapes.
 * Returns a new array. */
json_t *env_expand(const json_t *args, const json_t *env);

#endif
