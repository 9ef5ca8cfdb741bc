/* The Kubernetes API server: resource table, HTTPS front end, generic verbs, watch, and the
 * in-process client that controllers and the kubelet use (same validation, same conflicts). */
#ifndef KROLL_API_H
#define KROLL_API_H

#include <jansson.h>
#include <openssl/ssl.h>

#include "core/err.h"
#include "core/httpd.h"
#include "core/loop.h"
#include "scheme/scheme.h"
#include "store/store.h"


struct api;

/* Hooks other components register for subresources served outside the API layer. */
typedef void api_log_fn(struct http_req *req, const json_t *pod, const char *container, void *ctx);
typedef int api_evict_fn(struct api *api, const json_t *pod, const json_t *eviction, int dry_run,
                         struct err *err, void *ctx);
/* metrics.k8s.io: the usage of a pod or node object (borrowed) as a new object
 * {"timestamp","window","containers":[{"name","usage"}]} for a pod or
 * {"timestamp","window","usage"} for a node, or NULL when it has no complete sample. */
typedef json_t *api_metrics_fn(const json_t *obj, void *ctx);
/* custom.metrics.k8s.io: the value of a Pods metric (one of API_CUSTOM_METRICS) for a pod
 * (borrowed), as a new {"value":"<quantity>","windowSeconds":N,"timestamp":"<RFC 3339>"}, or
 * NULL when there is no figure for it. */
typedef json_t *api_custom_metrics_fn(const json_t *pod, const char *metric, void *ctx);
/* The Pods metrics served: requests per second through the Service proxy and the 99th
 * percentile of their latency in seconds over the last 30 s, and requests in flight now. */
#define API_CUSTOM_METRICS                                                                         \
    {"http_requests_per_second", "http_requests_in_flight", "http_request_duration_seconds_p99"}
/* pods/exec, pods/attach and pods/portforward (sub names which; GET or POST, the transport is
 * the request's upgrade): the hook answers or upgrades req. pod is borrowed. */
typedef void api_stream_fn(struct http_req *req, const json_t *pod, const char *sub, void *ctx);

/* Defaults of the watch limits (docs/security.md lists them with their flags). */
#define API_MAX_WATCHES 4096           /* open watches in all: else 429 */
#define API_MAX_WATCHES_PER_CLIENT 1024 /* open watches per peer address: else 429 */
#define API_WATCH_BUFFER_BYTES (16u << 20) /* one watcher's unsent events: else 410 and end */
#define API_WATCH_BUFFER_TOTAL (256u << 20) /* unsent bytes of all connections: the watchers
                                              * that are behind are dropped (410) */

/* Everything a client can make the API front end hold. Zero fields mean "default". */
struct api_limits {
    struct httpd_limits http;
    int max_watches;
    int max_watches_per_client;
    size_t watch_buffer_bytes;
    size_t watch_buffer_total;
    int lint; /* API_LINT_WARN (the default), API_LINT_ERROR or API_LINT_OFF (--lint) */
};

enum { API_LINT_WARN, API_LINT_ERROR, API_LINT_OFF };

/* Fills l with the defaults. */
void api_limits_default(struct api_limits *l);

struct api_opts {
    const char *data_dir;
    const char *listen_host;
    int listen_port;
    const char *node_name;
    const struct api_limits *limits; /* NULL: defaults */
};

struct api *api_new(struct loop *loop, struct store *store, const struct api_opts *o,
                    struct err *err);
void api_free(struct api *api);
int api_port(const struct api *api);
const char *api_token(const struct api *api);
struct store *api_store(struct api *api);
struct loop *api_loop(struct api *api);
void api_set_log_hook(struct api *api, api_log_fn *fn, void *ctx);
void api_set_evict_hook(struct api *api, api_evict_fn *fn, void *ctx);
/* Without a hook, exec, attach and portforward are 404. fn NULL unsets it. */
void api_set_stream_hook(struct api *api, api_stream_fn *fn, void *ctx);
/* Without a hook, metrics.k8s.io lists are empty and gets are 404. fn NULL unsets it. */
void api_set_metrics_hook(struct api *api, api_metrics_fn *fn, void *ctx);
/* Without a hook, custom.metrics.k8s.io lists are empty and gets are 404. */
void api_set_custom_metrics_hook(struct api *api, api_custom_metrics_fn *fn, void *ctx);

/* ServiceAccounts (satoken.c). A token for ServiceAccount ns/sa_name: audiences (borrowed;
 * NULL or empty: the API server's own), valid for seconds, bound to pod when not NULL. *token
 * gets a malloc'd JWT and *exp its expiry (Unix time). -E_NOT_FOUND when the ServiceAccount is
 * missing. */
int api_sa_token(struct api *api, const char *ns, const char *sa_name, const json_t *audiences,
                 long long seconds, const json_t *pod, char **token, long long *exp,
                 struct err *err);
/* The CA certificate (PEM) that signed the server's certificate. */
const char *api_ca_pem(const struct api *api);
/* The `kubernetes` Service's cluster IP, chosen at start (its server-certificate SAN). */
const char *api_kubernetes_ip(const struct api *api);
/* The API server's own address for the `kubernetes` EndpointSlice. */
const char *api_host_ip(const struct api *api);
/* Turns on the ServiceAccount admission plugin for pods (the server does; unit tests that
 * create bare pods leave it off). */
void api_set_sa_admission(struct api *api, int on);

/* ---- in-process client (same rules as HTTP clients) ---- */

/* Write options: dry_run, field manager, strict field validation. */
struct api_wopts {
    int dry_run;
    const char *manager;
    int strict;
    int warn;         /* fieldValidation=Warn (the default): unknown fields become warnings */
    json_t *warnings; /* when not NULL, an array that receives Warning texts */
    int prune;        /* drop fields the kind does not declare (HTTP writes, not Strict) */
    int status;   /* write the status subresource */
    const json_t *preconditions; /* DeleteOptions.preconditions */
    long long grace; /* delete: -1 = default */
    const char *propagation; /* delete: Background|Foreground|Orphan or NULL */
};

/* Results are new references (caller decrefs). ns is NULL for cluster-scoped resources. */
int api_create(struct api *api, const struct resource *r, const char *ns, json_t *obj,
               const struct api_wopts *o, json_t **out, struct err *err);
int api_update(struct api *api, const struct resource *r, const char *ns, const char *name,
               json_t *obj, const struct api_wopts *o, json_t **out, struct err *err);
int api_patch(struct api *api, const struct resource *r, const char *ns, const char *name,
              const char *ctype, const json_t *patch, const struct api_wopts *o, json_t **out,
              struct err *err);
int api_delete(struct api *api, const struct resource *r, const char *ns, const char *name,
               const struct api_wopts *o, json_t **out, struct err *err);
/* Binds a pending pod to a node (the pods/binding subresource): sets spec.nodeName and
 * PodScheduled=True. */
int api_bind(struct api *api, const char *ns, const char *name, const char *node, struct err *err);
/* Borrowed current object or NULL. */
json_t *api_get(struct api *api, const struct resource *r, const char *ns, const char *name);
/* The autoscaling/v1 Scale of obj, an object of r (r has RF_SCALE), as GET .../scale answers
 * it (new reference). */
/* The metrics.k8s.io usage of a pod or node object, the same the API serves (the metrics
 * hook's answer, new reference), or NULL when there is no complete sample or no hook. */
json_t *api_metrics_of(struct api *api, const json_t *obj);
/* The custom.metrics.k8s.io value of a Pods metric for pod, as the hook gives it (see
 * api_custom_metrics_fn), or NULL. */
json_t *api_custom_metric_of(struct api *api, const json_t *pod, const char *metric);

/* Records a Kubernetes Event about obj (aggregating repeats into count). */
void api_event(struct api *api, const json_t *obj, const char *type, const char *reason,
               const char *component, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* In-process list and watch, for the client's informers (local.c). api_list_map: borrowed
 * map "ns/name" -> object of r (NULL when none). api_watch_local: fn sees every committed
 * event of every resource (after it is durable, in resourceVersion order), called inside the
 * write: it may only record it. type is "ADDED", "MODIFIED" or "DELETED". */
typedef void api_local_fn(const char *type, const struct resource *r, json_t *obj, json_t *old,
                          void *ctx);
json_t *api_list_map(struct api *api, const struct resource *r);
void api_watch_local(struct api *api, api_local_fn *fn, void *ctx);
void api_unwatch_local(struct api *api, api_local_fn *fn, void *ctx);
/* A Status object for an error (new reference). */
json_t *api_status_json(int code, const char *msg, const json_t *details);

#endif
