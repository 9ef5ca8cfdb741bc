/* Private declarations shared by the files of src/proxy: configuration, endpoint tables and the
 * provider interface, per-worker statistics, the HTTP/1.1 head model and the worker API.
 * Hot-path rule: a worker writes only its own slots (stats, pools); shared objects are read-only
 * to workers except for the reference counts taken when an endpoint table is swapped. */
#ifndef KROLL_PROXY_INT_H
#define KROLL_PROXY_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <jansson.h>

#include "core/buf.h"

#define PX_MAX_WORKERS 64
#define PX_LAT_BUCKETS 14 /* histogram buckets including +Inf */

enum px_balance { PX_BALANCE_LEAST_REQUEST, PX_BALANCE_ROUND_ROBIN };
enum px_mode { PX_MODE_HTTP, PX_MODE_TCP };

struct px_config {
    int nworkers;
    int max_conns;           /* accepted client connections, whole process */
    size_t max_header_bytes; /* request or response head */
    int max_headers;
    int64_t max_body_bytes; /* request body; 0 = no limit */
    int header_timeout_ms;  /* first byte of a request head to its end (slowloris) */
    int idle_timeout_ms;    /* idle client keep-alive connection */
    int body_timeout_ms;    /* no request body bytes for this long */
    int connect_timeout_ms;
    int response_timeout_ms; /* no response bytes for this long (also between body bytes) */
    int pool_idle_ms;        /* idle upstream connection kept this long */
    int pool_max;            /* idle upstream connections per endpoint and worker */
    int retries;             /* extra attempts on another endpoint after a connect failure */
    int drain_poll_ms;
    int max_pod_listeners; /* Service listeners inside pods' namespaces (podlis.c) */
    enum px_balance balance;
    int access_log;
};

void px_config_defaults(struct px_config *cfg);

/* ---- statistics: one slot per worker, written only by that worker ---- */

/* Status classes: 1xx..5xx, then requests the client abandoned before the response ended. */
enum { PX_CLASS_ABORTED = 5, PX_NCLASS = 6 };

struct px_stats {
    _Atomic uint64_t requests[PX_NCLASS];
    _Atomic uint64_t latency[PX_LAT_BUCKETS];
    _Atomic uint64_t latency_sum_us;
    _Atomic uint64_t connect_errors;
    _Atomic int64_t inflight;
    _Atomic int64_t pooled; /* idle upstream connections */
} __attribute__((aligned(64)));

/* Single-writer increment: a relaxed load and store, no locked instruction. */
#define PX_STAT_ADD(field, n)                                                                      \
    atomic_store_explicit(&(field), atomic_load_explicit(&(field), memory_order_relaxed) + (n),   \
                          memory_order_relaxed)
#define PX_STAT_GET(field) atomic_load_explicit(&(field), memory_order_relaxed)

extern const double px_lat_bounds[PX_LAT_BUCKETS - 1]; /* seconds; the last bucket is +Inf */
int px_lat_bucket(uint64_t us);
/* A Prometheus histogram of latency counts per px_lat_bounds bucket (cumulated here) and their
 * sum in microseconds: NAME_bucket{LABELS,le=...} lines, then NAME_sum and NAME_count
 * (metrics.c). */
struct buf;
void px_prom_histogram(struct buf *out, const char *name, const char *labels,
                       const uint64_t latency[PX_LAT_BUCKETS], uint64_t sum_us);

/* ---- endpoints, tables, services ---- */

enum px_ep_flags { PX_EP_READY = 1 << 0, PX_EP_SERVING = 1 << 1, PX_EP_TERMINATING = 1 << 2 };

struct px_pool; /* per worker idle upstream connections, owned by worker.c */

struct px_endpoint_worker {
    struct px_stats stats;
    int inflight;          /* same as stats.inflight, plain for the balancer */
    int64_t down_until;    /* monotonic ms: a connect failed here; avoid it until then */
    void *pool_head;       /* idle upstream connections (worker.c) */
    int pool_len;
};

struct px_endpoint {
    _Atomic int refs;
    char *key;  /* "ip:port" (plus "@netns" when set): identity across table versions */
    char *addr; /* "ip:port" */
    struct sockaddr_storage sa;
    socklen_t salen;
    char *pod, *revision, *netns; /* may be "" */
    _Atomic unsigned flags;       /* enum px_ep_flags; the provider may flip them in place */
    _Atomic int draining;         /* no new requests; idle connections closed */
    _Atomic int removed;          /* no longer in the service's table */
    _Atomic uint64_t drains;
    int nworkers;
    struct px_endpoint_worker *w; /* [nworkers] */
    struct px_epstats *stats;     /* windows (stats.c), under px->stats_mu; NULL until sampled */
};

/* Creates an endpoint for "host:port" (numeric IPv4/IPv6); NULL with *errmsg set on bad input.
 * The caller owns the reference. */
struct px_endpoint *px_endpoint_new(const char *addr, const char *pod, const char *revision,
                                    const char *netns, unsigned flags, int nworkers,
                                    const char **errmsg);
struct px_endpoint *px_endpoint_ref(struct px_endpoint *ep);
void px_endpoint_unref(struct px_endpoint *ep);
int64_t px_endpoint_inflight(struct px_endpoint *ep); /* summed over workers */
int64_t px_endpoint_pooled(struct px_endpoint *ep);

struct px_routes;

/* An immutable snapshot of a service's endpoints; swapped as a whole. A Gateway listener's
 * table has no endpoints but routes (gateway.c), which lead to Services' tables. */
struct px_table {
    _Atomic int refs;
    uint64_t gen;
    int n;
    struct px_endpoint **eps; /* each holds a reference */
    struct px_routes *routes; /* owned; NULL for a Service's table */
};

struct px_table *px_table_new(struct px_endpoint **eps, int n); /* takes refs of its own */
struct px_table *px_table_ref(struct px_table *t);
void px_table_unref(struct px_table *t);

struct px_service {
    char *name; /* "ns/name:port" or "static" */
    char *listen_text;
    struct sockaddr_storage listen;
    socklen_t listen_len;
    enum px_mode mode;
    pthread_mutex_t mu;
    struct px_table *table; /* under mu */
    _Atomic uint64_t gen;   /* bumped after every publish; workers compare and re-acquire */
    struct px_stats *wstats; /* [nworkers]: requests answered by the proxy itself (4xx, 503...) */
    int nworkers;
    _Atomic int retired; /* listeners closed (the Service or port went away); kept for conns */
    struct px_rev **revs; /* windows per revision (stats.c), under px->stats_mu */
    int nrevs;
};

struct px_service *px_service_new(const char *name, const char *listen, enum px_mode mode,
                                  int nworkers, const char **errmsg);
void px_service_free(struct px_service *svc);
/* Replaces the endpoint table (takes the caller's reference on t); endpoints missing from the
 * new table are marked removed so workers close their idle connections. */
void px_service_publish(struct px_service *svc, struct px_table *t);
/* Returns a new reference to the current table. */
struct px_table *px_service_table(struct px_service *svc);

/* Balancer: picks an endpoint of t for worker wid, skipping the `nskip` endpoints in skip.
 * Ready endpoints first; serving-but-terminating ones only when none is ready (as Kubernetes
 * does); draining endpoints never. Endpoints whose w[wid].down_until is after now (a recent
 * connect failure) are used only when nothing else is left. *rr is the worker's rotation
 * counter. NULL if none. */
struct px_endpoint *px_balance_pick(const struct px_table *t, int wid, enum px_balance mode,
                                    struct px_endpoint *const *skip, int nskip, unsigned *rr,
                                    int64_t now);

/* ---- Gateway API routes (gateway.c) ---- */

struct px_head;
/* The current table of the Service port ns/name:port (a new reference), or NULL. */
typedef struct px_table *px_backend_lookup_fn(const char *ns, const char *name, int port,
                                              void *ctx);
/* Builds the routes of one Gateway listener from entries (taken): an array of
 * {namespace, hostnames, rules} (HTTPRoute specs, defaulted), oldest route first. Backend
 * tables come from lookup. */
struct px_routes *px_routes_build(json_t *entries, int nworkers, px_backend_lookup_fn *lookup,
                                  void *ctx);
void px_routes_free(struct px_routes *r);
/* What r was built from (entries and backend tables): equal signatures, same routing. */
const char *px_routes_sig(const struct px_routes *r);
/* The table of the backend for this request (borrowed from r), or NULL with *status 404 (no
 * match) or 500 (the rule has no usable backend). wid is the worker's id. */
struct px_table *px_routes_pick(struct px_routes *r, const struct px_head *hd, const char *method,
                                int wid, int *status);

/* Parses "host:port" into sa; 0 or -1. */
int px_addr_parse(const char *text, struct sockaddr_storage *sa, socklen_t *len);

/* ---- providers: where services and endpoint tables come from ---- */

struct proxy;
struct px_provider {
    const char *name;
    /* Creates services (proxy_service_add) and publishes their tables; may start a thread that
     * keeps them current. Returns 0 or -1 with a message on stderr. */
    int (*start)(struct px_provider *p, struct proxy *px);
    void (*stop)(struct px_provider *p);
    void *ctx;
};

/* The static provider: one service on listen, every backend ready, no pod or revision. */
int px_static_provider_init(struct px_provider *p, const char *listen, const char *backends,
                            enum px_mode mode);
/* The API-client provider (apiclient.c): list+watch of Services, EndpointSlices and Pods with
 * data_dir's kubeconfig; one service per Service port at clusterIP:port, plus node_address at
 * nodePort (NodePort, LoadBalancer) and at port (LoadBalancer). */
int px_api_provider_init(struct px_provider *p, const char *data_dir, const char *node_address);

/* ---- listeners inside pods (podlis.c) ---- */

struct px_dns;
struct px_podlis;
#define PX_POD_PORTS_MAX 64
struct px_podns {
    char *pod, *netns; /* "ns/name", /proc/<pid>/ns/net */
    /* The ports the pod's containers declare (containerPort, numeric probe ports): a listener
     * of ours on 127.77.x.y:port would keep the pod's own server from binding *:port. */
    int ports[PX_POD_PORTS_MAX];
    int nports;
};

/* The registry of pod listeners; opens the cluster DNS on the host's namespace too when dns is
 * not NULL. Reconciler thread only. */
struct px_podlis *px_podlis_new(struct proxy *px, struct px_dns *dns);
/* Frees the registry; the sockets belong to the workers and the DNS thread, which close them
 * when they end. NULL is a no-op. */
void px_podlis_free(struct px_podlis *pl);
/* Makes the pod listeners equal to every pod x every service of svcs (cluster-IP ones), plus
 * one DNS pair per pod; closes those of pods and services that went away. A service whose
 * port the pod declares is left out in that pod (logged once). At most
 * cfg.max_pod_listeners service listeners (one warning when the cap is hit). */
void px_podlis_sync(struct px_podlis *pl, struct px_service *const *svcs, int nsvcs,
                    const struct px_podns *pods, int npods);
/* From a map "ns/name" -> Pod: the running pods with a usable namespace (not hostNetwork). */
struct px_podns *px_podns_build(const json_t *pods, int *n);
void px_podns_free(struct px_podns *p, int n);
/* From a map "ns/name" -> Service: the DNS view (dns-int.h). New reference. */
json_t *px_dns_view_build(const json_t *svcs);

/* ---- the process ---- */

struct px_worker;

struct proxy {
    struct px_config cfg;
    pthread_mutex_t mu; /* services array */
    struct px_service **svcs;
    int nsvcs;
    struct px_worker **workers;
    _Atomic int conns; /* client connections, all workers (the connection cap) */
    _Atomic int pod_listeners; /* open Service listeners inside pods (podlis.c) */
    struct px_dns *dns;        /* the cluster DNS (API-client mode), or NULL */
    /* The provider's view of the cluster is behind (re-listing after it lost the API server):
     * a drain is not answered until it is current again, so the pod it drains is not stopped
     * while the endpoints that replace it are still unknown here. */
    _Atomic int view_stale;
    char *admin_listen;
    char *control_path;
    char admin_bound[64]; /* "ip:port" the admin listener got (after port 0) */
    pthread_mutex_t stats_mu; /* the windows of stats.c (after mu when both are taken) */
    pthread_t stats_th;
    int stats_started;
    _Atomic int stats_stop;
};

/* Adds svc (ownership passes to px), binds one SO_REUSEPORT listener per worker and hands them
 * to the workers. 0 or -1 with a message on stderr. */
int proxy_service_add(struct proxy *px, struct px_service *svc);
/* Closes svc's listeners on every worker and publishes an empty table. svc stays in the
 * registry (connections still point at it) but is left out of metrics. */
void proxy_service_retire(struct proxy *px, struct px_service *svc);
/* Marks every endpoint of every service whose pod ("ns/name"), ip or address ("ip:port")
 * matches as draining; *out gets a new array of references (caller frees). Returns the count. */
int proxy_drain_mark(struct proxy *px, const char *pod, const char *ip, const char *endpoint,
                     struct px_endpoint ***out);

/* ---- HTTP/1.1 heads ---- */

struct px_hdr {
    uint32_t name_off, name_len, val_off, val_len;
};

enum px_head_flags {
    PX_H_CONN_CLOSE = 1 << 0,
    PX_H_CONN_KEEPALIVE = 1 << 1,
    PX_H_CONN_UPGRADE = 1 << 2,
    PX_H_UPGRADE = 1 << 3,
    PX_H_CHUNKED = 1 << 4,
    PX_H_BAD = 1 << 5, /* a shape that must be refused (smuggling, obs-fold, ...) */
    PX_H_CONN_OTHER = 1 << 6, /* Connection names other (hop-by-hop) headers */
};

/* A request or response head collected from llhttp callbacks. Names and values live in raw. */
struct px_head {
    struct buf raw;
    struct px_hdr *h;
    int n, cap, max;
    uint32_t url_off, url_len;     /* request target, or reason phrase of a response */
    int in_value;                  /* last callback was a value */
    int cl_count, te_count, host_count;
    unsigned flags;
    const char *bad; /* why PX_H_BAD */
};

void px_head_init(struct px_head *hd, size_t max_bytes, int max_headers);
void px_head_reset(struct px_head *hd);
void px_head_release(struct px_head *hd);
/* Feed callbacks; return 0, or -1 when a limit is exceeded (bytes: 431, count: 431). */
int px_head_url(struct px_head *hd, const char *at, size_t n);
int px_head_field(struct px_head *hd, const char *at, size_t n);
int px_head_value(struct px_head *hd, const char *at, size_t n);
/* Classifies the collected headers (framing, Connection tokens, smuggling shapes). */
void px_head_finish(struct px_head *hd, int is_request);
/* True for HTTP methods (not llhttp's RTSP/ICE extras), which alone are proxied. */
int px_method_is_http(int method);
/* Marks the head as one to refuse with 400; the first reason is kept. */
void px_head_mark_bad(struct px_head *hd, const char *why);
/* Case-insensitive header-name test. */
int px_head_is(const struct px_head *hd, int i, const char *name);
/* True when header i must not be forwarded (hop-by-hop or named in Connection). */
int px_head_hop_by_hop(const struct px_head *hd, int i, int keep_upgrade);

struct px_req_info {
    const char *method;
    int major, minor;
    const char *client_ip;
    const char *host_fallback; /* used when the request has no Host */
    int upgrade;
};
/* Appends the upstream request head; 0 or -E_TOO_LARGE. */
int px_head_build_request(const struct px_head *hd, const struct px_req_info *ri, struct buf *out);

enum px_resp_framing { PX_FRAME_NONE, PX_FRAME_LENGTH, PX_FRAME_CHUNKED, PX_FRAME_CLOSE };
/* Appends the client response head for status; framing is how the body will be sent to the
 * client, keep_alive whether the client connection stays open. */
int px_head_build_response(const struct px_head *hd, int status, int framing, int keep_alive,
                           int client_minor, int upgrade, struct buf *out);
/* A complete small response generated by the proxy (400, 502, ...), always Connection: close
 * when close is set. */
void px_http_error(struct buf *out, int status, int close);

/* ---- workers ---- */

struct px_worker *px_worker_new(struct proxy *px, int id);
int px_worker_start(struct px_worker *w);
/* Thread-safe: hands a listening socket for svc to the worker (message queue + eventfd);
 * fd -1 tells the worker to close its listener for svc instead. */
void px_worker_post_listener(struct px_worker *w, struct px_service *svc, int fd);
/* The same for a listener inside a pod's network namespace, named by tag (> 0): fd -1 closes
 * only that one. (px_worker_post_listener's fd -1 closes every listener of svc.) */
void px_worker_post_pod_listener(struct px_worker *w, struct px_service *svc, int fd, uint64_t tag);
void px_worker_stop_join(struct px_worker *w);
void px_worker_free(struct px_worker *w);

/* ---- admin (metrics) and control (drain) ---- */

int px_admin_start(struct proxy *px, const char *listen);
void px_metrics_render(struct proxy *px, struct buf *out);
/* stats.c: the sampler thread of the windows, and their JSON (/stats on the admin port);
 * px_stats_render returns -1 with a message in out for a bad query. */
struct px_epstats;
struct px_rev;
int px_stats_start(struct proxy *px);
void px_stats_stop(struct proxy *px); /* joins the sampler; before services are freed */
int px_stats_render(struct proxy *px, const char *query, struct buf *out);
/* The per-revision series kroll_http_requests_total{namespace,service,port,revision,
 * code_class} and kroll_http_request_duration_seconds_* (since the proxy started), in
 * Prometheus text; the caller holds px->mu. */
void px_stats_render_prom(struct proxy *px, struct buf *out);
void px_epstats_free(struct px_epstats *s);
void px_revs_free(struct px_service *svc);
int px_control_start(struct proxy *px, const char *path);
/* Handles one control request line (JSON); writes the reply line. Blocks while draining. */
void px_control_handle(struct proxy *px, const char *line, struct buf *reply);
/* After a failed accept() with errno err: 1 to try again (after sleeping with a growing
 * *backoff_ms, up to 1 s, when descriptors or memory ran out), 0 when the listener is gone. */
int px_accept_retry(int err, const char *what, int *backoff_ms);

#endif
