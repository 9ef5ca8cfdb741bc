/* What the node agent's helpers (probes, hooks, env, volumes) need to know about one running
 * container of a pod. Filled by the kubelet; borrowed by the helpers for their lifetime. */
#ifndef KROLL_NODE_PODCTX_H
#define KROLL_NODE_PODCTX_H

#include <jansson.h>

struct container_target {
    const char *pod_dir;    /* <data-dir>/pods/<uid>: the shim's socket lives there */
    const char *netns_path; /* pod network namespace file, or NULL for hostNetwork pods */
    const char *pod_ip;     /* status.podIP (an address on the pod's lo) */
    const char *container;  /* container name */
    const json_t *ports;    /* the container's ports array (for named ports), may be NULL */
    const json_t *env;      /* array of "K=V" strings for exec probes/hooks, may be NULL */
    const char *cwd;        /* working directory for exec, may be NULL */
    const char *pod_ref;    /* "name_namespace(uid)" as hook failure messages name the pod;
                             * may be NULL (then the pod dir's last component is used) */
};

#endif
