/* Pod volumes on the node: configMap and secret (files with the ..data symlink swap, updated in
 * place when the object changes), emptyDir, hostPath; and how containers see them. */
#ifndef KROLL_NODE_VOLUME_H
#define KROLL_NODE_VOLUME_H

#include <jansson.h>

#include "api/api.h"
#include "core/err.h"

/* Creates or refreshes every volume of pod under <pod_dir>/volumes/<name>/ (hostPath volumes
 * point at the host path). *paths (may be NULL) gets {volume name -> host directory}. A missing
 * non-optional ConfigMap/Secret fails with the kubelet's message, e.g.
 * `configmap "cfg" not found` (the caller emits FailedMount and retries). Idempotent: a second
 * call only rewrites what changed (atomic ..data swap), so it is also the refresh. */
int volume_sync(struct api *api, const json_t *pod, const char *pod_dir, json_t **paths,
                struct err *err);
/* The mounts a container needs: array of {"source": host dir or file, "target": mountPath,
 * "readOnly": bool} resolved from its volumeMounts (subPath included). */
json_t *volume_mounts(const json_t *pod, const json_t *container, const json_t *paths);
/* Removes <pod_dir>/volumes (emptyDir contents included). */
void volume_cleanup(const char *pod_dir);

#endif
