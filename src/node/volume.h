/* Pod volumes on the node: configMap and secret (files with the ..data symlink swap, updated in
 * place when the object changes), emptyDir, hostPath; and how containers see them. */
#ifndef KROLL_NODE_VOLUME_H
#define KROLL_NODE_VOLUME_H

#include <jansson.h>

#include "client/kc.h"
#include "core/err.h"

/* Creates or refreshes every volume of pod under <pod_dir>/volumes/<name>/ (hostPath volumes
 * point at the host path). On success *paths (may be NULL) gets {volume name -> host directory}
 * (new reference; NULL on failure). Every volume is refreshed even when one fails; the first
 * error is returned. A missing non-optional ConfigMap/Secret fails with the kubelet's message,
 * e.g. `configmap "cfg" not found` (the caller emits FailedMount and retries). Idempotent: a second
 * call only rewrites what changed (atomic ..data swap), so it is also the refresh. */
int volume_sync(struct kc *kc, const json_t *pod, const char *pod_dir, json_t **paths,
                struct err *err);
/* The mounts a container needs: array of {"source": host dir or file, "target": mountPath,
 * "readOnly": bool, "volume": name} resolved from its volumeMounts against paths (from
 * volume_sync), subPath appended to the source. configMap, secret, downwardAPI and projected
 * volumes are always read-only, as in Kubernetes. Returns NULL with err set when a mount names a
 * volume not in paths (`cannot find volume "x" to mount into container "c"`) or has a bad
 * subPath. New reference. */
json_t *volume_mounts_resolve(const json_t *pod, const json_t *container, const json_t *paths,
                              struct err *err);
/* volume_mounts_resolve() that logs the error instead (NULL on error). */
json_t *volume_mounts(const json_t *pod, const json_t *container, const json_t *paths);
/* Removes <pod_dir>/volumes (emptyDir contents included). */
void volume_cleanup(const char *pod_dir);

#define VOLUME_OWNER_DEPTH_MAX 64        /* directory levels walked for fsGroup */
#define VOLUME_OWNER_ENTRIES_MAX 1000000 /* entries changed for fsGroup in one volume */

/* fsGroup ownership of the volume at dir, as the kubelet's SetVolumeOwnership: group fs_group
 * on every entry (not crossing mount points), mode |= 0440 (readonly) or 0660, directories
 * also 0110 and setgid; symlinks only get the group. on_root_mismatch (fsGroupChangePolicy
 * OnRootMismatch) skips the walk when dir already has all of that. fs_group < 0: nothing.
 * Failures on single entries are logged; returns 0, or -errno when dir cannot be read. */
int volume_owner_set(const char *dir, long fs_group, int readonly, int on_root_mismatch);

#endif
