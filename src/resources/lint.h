/* The tutorial's "common mistakes" in a Deployment or a Rollout, found before they bite: an image that is
 * not pinned, no readiness probe, a rollout allowed to drop capacity, no preStop hook or a
 * grace period shorter than its sleep, too little revision history, a surge the node's
 * devices cannot hold, no PodDisruptionBudget. The API server returns them as warnings (or
 * refuses the write with --lint=error); `kroll lint -f FILE` runs them offline. Each finding
 * names its field and the fix; none depends on anything but the object and what the caller
 * knows about the cluster (struct lint_ctx). */
#ifndef KROLL_RESOURCES_LINT_H
#define KROLL_RESOURCES_LINT_H

#include <jansson.h>

#include "resources/resources.h"

/* What the caller knows beyond the object; -1 / NULL where it does not know. */
struct lint_ctx {
    const json_t *old;     /* the stored object on update, NULL on create */
    int pdb_covers;        /* a PodDisruptionBudget selects the template's pods: 1, 0, -1 */
    const json_t *free;    /* {"vendor.com/gpu": N, ...} extended resources on the node not
                              held by other pods than the Deployment's own, or NULL */
};

/* Appends to out (a JSON array) one {"field": path, "message": text} per finding for a
 * Deployment (apps/v1, defaulted) or a Rollout (argoproj.io/v1alpha1: canary maxSurge and
 * maxUnavailable, a blue/green preview's devices). Other kinds get none. Returns the number
 * appended. */
int lint_workload(const struct res_kind *k, const json_t *obj, const struct lint_ctx *ctx,
                  json_t *out);

/* The finding as kube-apiserver words a field warning: "<field>: <message>" (malloc'd). */
char *lint_text(const json_t *finding);

#endif
