/* The node agent: the Node object (registration, capacity, conditions, heartbeats) and the
 * kubelet that runs the pods bound to it (node/kubelet*.c), serves pods/log (node/logs.c) and
 * manages the image store (node/image.h). Everything runs on the server's loop. */
#ifndef KROLL_NODE_H
#define KROLL_NODE_H

#include <jansson.h>
#include <stdint.h>

#include "api/api.h"
#include "core/err.h"

struct node;
struct kubelet;

struct node_opts {
    const char *data_dir;
    const char *node_name;    /* NULL: host name, lower-cased */
    const char *node_address; /* NULL: 127.0.0.1 */
    const char *const *resources; /* "nvidia.com/gpu=2" */
    int n_resources;
    const char *self_exe;     /* the kroll binary, run as `kroll shim` per pod */
    const char *runtime;      /* "process" (NULL), "runc" or the path of an OCI runtime */
    long long pod_pids_limit; /* pids limit of each container under an OCI runtime */
};

/* Registers (or refreshes) the Node object, starts heartbeats and the kubelet, which re-adopts
 * pods still running under their shims. Returns NULL with err set on failure. */
struct node *node_start(struct api *api, const struct node_opts *o, struct err *err);
/* Stops the kubelet (pods keep running under their shims) and the heartbeats. NULL: no-op. */
void node_stop(struct node *n);
const char *node_name(const struct node *n);

/* ---- the drain hook point (filled by the proxy) ---- */

/* Tells the kubelet that the pod with uid has been drained; safe to call late or twice. */
typedef void kubelet_drain_done_fn(struct kubelet *kl, const char *uid);
/* Called when a pod starts terminating, before preStop: "stop routing new requests to this
 * pod and call done(kl, uid) when its in-flight requests are finished". The kubelet carries on
 * by itself after grace_ms even if done is never called. The default completes at once. */
typedef void kubelet_drain_fn(struct kubelet *kl, const json_t *pod, int64_t grace_ms,
                              kubelet_drain_done_fn *done);
extern kubelet_drain_fn *kubelet_drain_hook;

#endif
