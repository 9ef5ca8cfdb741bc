/* The node agent: the Node object (registration, capacity, conditions, heartbeats) and the
 * kubelet that runs the pods bound to it (node/kubelet*.c), serves pods/log (node/logs.c) and
 * manages the image store (node/image.h). Everything runs on the server's loop. */
#ifndef KROLL_NODE_H
#define KROLL_NODE_H

#include <jansson.h>
#include <stdint.h>

#include "client/kc.h"
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
    /* CDI spec directories, lowest priority first (--cdi-spec-dir); none: /etc/cdi and
     * /var/run/cdi. Each CDI kind becomes an extended resource of the node (node.c). */
    const char *const *cdi_dirs;
    int n_cdi_dirs;
    const char *runtime;      /* "process" (NULL), "runc" or the path of an OCI runtime */
    long long pod_pids_limit; /* pids limit of each container under an OCI runtime */
    /* How often the node and every container are sampled for metrics.k8s.io: 0 the default
     * (METRICS_PERIOD_MS), -1 never (no metrics are served). */
    int metrics_period_ms;
};

/* Registers (or refreshes) the Node object, starts heartbeats and the kubelet, which re-adopts
 * pods still running under their shims. Returns NULL with err set on failure. */
struct node *node_start(struct kc *kc, const struct node_opts *o, struct err *err);
/* Stops the kubelet (pods keep running under their shims) and the heartbeats. NULL: no-op. */
void node_stop(struct node *n);
const char *node_name(const struct node *n);
struct cdi_registry;
/* The CDI devices of the spec directories as of the last heartbeat (reloaded every 10 s):
 * borrowed, valid until the next heartbeat, so look it up each time rather than keep it. */
const struct cdi_registry *node_cdi(const struct node *n);

/* The annotation that says a terminating pod has been drained at the Service proxy (its value
 * is the proxy's answer). The kubelet runs preStop and stops the containers once the pod
 * carries it, or when the grace period has passed without it; the pod drain controller
 * (server/pod_drain.c) writes it. */
/* What the node serves for the API (the server sets them as the API's hooks; ctx is the
 * node): pods/log, pods/exec|attach|portforward, and metrics.k8s.io usage of a pod or node
 * (new reference, NULL without a complete sample). */
struct http_req;
void node_serve_log(struct http_req *req, const json_t *pod, const char *container, void *ctx);
void node_serve_stream(struct http_req *req, const json_t *pod, const char *sub, void *ctx);
json_t *node_usage(const json_t *obj, void *ctx);

#define POD_DRAINED_ANNOTATION "kroll.dev/drained"

#endif
