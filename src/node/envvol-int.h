/* Private to env.c and volume.c: what environment variables and downwardAPI / configMap /
 * secret volumes both need (downward API fields, resource fields, Secret decoding). */
#ifndef KROLL_NODE_ENVVOL_INT_H
#define KROLL_NODE_ENVVOL_INT_H

#include <jansson.h>
#include <stddef.h>

#include "core/err.h"

/* Decodes standard base64 (padding optional); malloc'd, NUL-terminated (*n excludes the NUL),
 * or NULL when the text is not base64. */
char *node__b64_decode(const char *s, size_t *n);
/* key -> raw value of a ConfigMap (data and binaryData) or a Secret (data, base64-decoded; a
 * value that is not base64 is left out); new object. */
json_t *node__object_values(const json_t *obj, int secret);
/* The downward API field of pod named by path (metadata.name, metadata.labels['k'],
 * status.podIPs, ...); malloc'd, or NULL with err set ("unsupported fieldPath: x"). */
char *node__field_value(const json_t *pod, const char *path, struct err *err);
/* A resourceFieldRef ({resource, divisor}) of container as the kubelet formats it: the value
 * divided by the divisor, rounded up; an unset limit is the node's capacity. malloc'd, or NULL
 * with err set. */
char *node__resource_value(const json_t *container, const json_t *ref, struct err *err);

/* 1 when a projected ServiceAccount token the kubelet wrote may stay: it is well formed, bound
 * to the pod with uid pod_uid, and now is before 80% of its life (iat..exp) and within 24 hours of
 * iat, as the kubelet's token manager decides; 0 when it must be renewed. */
int node__token_fresh(const char *token, const char *pod_uid, long long now);

#endif
