/* Private to api/: the server struct and helpers shared by its files. */
#ifndef KROLL_API_INT_H
#define KROLL_API_INT_H

#include "api/api.h"
#include "core/buf.h"

#include <openssl/evp.h>

struct watch;
struct api_target;

#define API_SA_SEEN 64 /* verified ServiceAccount tokens remembered */
#define API_EVENT_INDEX_MAX 10000 /* Events indexed by aggregation key (event.c) */

struct api {
    struct loop *loop;
    struct store *store;
    struct httpd *httpd;
    SSL_CTX *tls;
    char *token;
    unsigned char token_sha[32]; /* SHA-256 of token: compared in constant time */
    struct api_limits lim;
    char *data_dir;
    char *node_name;
    struct watch *watches;
    api_log_fn *log_fn;
    void *log_ctx;
    api_evict_fn *evict_fn;
    void *evict_ctx;
    api_metrics_fn *metrics_fn;
    void *metrics_ctx;
    api_custom_metrics_fn *custom_metrics_fn;
    void *custom_metrics_ctx;
    api_stream_fn *stream_fn;
    void *stream_ctx;
    uint32_t next_ip; /* next Service clusterIP offset in 127.77.0.0/16 */
    struct api_metrics *metrics; /* metrics.c */
    EVP_PKEY *sa_key;            /* signs and checks ServiceAccount tokens (satoken.c) */
    char *ca_pem;                /* the CA certificate, for kube-root-ca.crt */
    char k8s_ip[16];             /* the `kubernetes` Service's cluster IP */
    char host_ip[64];            /* the API's address for the `kubernetes` EndpointSlice */
    int sa_admission;            /* the ServiceAccount admission plugin is on */
    /* Tokens whose signature verified (SHA-256 of the token -> claims), so that the check on
     * the request head and the one for the request cost one ECDSA verification. */
    unsigned char sa_seen_sha[API_SA_SEEN][32];
    json_t *sa_seen_claims[API_SA_SEEN];
    int sa_seen_next;
    struct api_local *locals; /* in-process watchers (local.c) */
    json_t *event_idx; /* Event aggregation key -> Event name (event.c) */
};

/* /metrics (metrics.c, metrics_state.c): request counters and latencies, rollout outcomes
 * (from store events), the kube-state-metrics series of the store's workloads. */
/* Pod admission of VerticalPodAutoscalers in updateMode Initial (kind_vpa.c): sets a new pod's
 * requests (and limits in proportion) from the VPA whose target selects it. 1 when applied. */
int api__vpa_admit(struct api *api, json_t *pod);
/* The index api_event finds an Event to aggregate into by (event.c): built from the stored
 * Events, then kept by a store listener until api__events_free. */
void api__events_init(struct api *api);
void api__events_free(struct api *api);
/* The items of a list of computed objects (metrics.k8s.io, custom.metrics.k8s.io;
 * metrics_api.c): fn's item for each stored object of res (store key), in "ns/name" order,
 * of namespace ns (all when NULL) and selected by ls and fs (NULL selects all); fn returns a
 * new item, or NULL to leave the object out. New array. */
struct labelsel;
struct fieldsel;
typedef json_t *api_item_fn(struct api *api, const json_t *obj, void *ctx);
json_t *api__computed_items(struct api *api, const char *res, const char *ns,
                            const struct labelsel *ls, const struct fieldsel *fs, api_item_fn *fn,
                            void *ctx);
/* Drops the in-process watchers clients left (local.c). */
void api__local_close_all(struct api *api);
void api__metrics_init(struct api *api);
void api__metrics_free(struct api *api);
/* Counts a request once it has an answer (req->status); started is a CLOCK_MONOTONIC second. */
void api__metrics_request(struct api *api, struct http_req *req, const struct api_target *t,
                          double started);
void api__metrics_serve(struct api *api, struct http_req *req);
void api__metrics_state(struct api *api, struct buf *b);
/* AnalysisRun series (metrics_analysis.c): counts a run reaching a final phase into outcomes;
 * renders the counters and Argo's analysis_run_* gauges. */
void api__metrics_analysis_event(json_t *outcomes, const json_t *run, const json_t *old);
void api__metrics_analysis(struct api *api, const json_t *outcomes, struct buf *b);
/* The # HELP and # TYPE lines of a metric family. */
void api__metrics_help(struct buf *b, const char *name, const char *type, const char *text);
/* Open watches of a resource (watch.c). */
int api__watch_count(const struct api *api, const struct resource *r);

/* Sets the bearer token (trailing whitespace dropped). Returns -EINVAL when it is empty. */
int api__token_set(struct api *api, const char *token);
/* 1 when the Authorization header value carries the server's bearer token. The comparison
 * takes the same time whatever the presented token's content or length (SHA-256 of both,
 * CRYPTO_memcmp of the digests); an empty token never matches. */
int api__token_ok(const struct api *api, const char *authorization);

/* ServiceAccount tokens (satoken.c). */
#define SA_ISSUER "https://kubernetes.default.svc.cluster.local"
#define SA_DEFAULT_SECONDS 3600
#define SA_MIN_SECONDS 600
#define SA_MAX_SECONDS 4294967296LL
/* Loads pki/sa.key and pki/ca.crt; api__sa_release frees what satoken.c holds. */
int api__sa_init(struct api *api, const char *pki, struct err *err);
void api__sa_release(struct api *api);
/* The user a ServiceAccount token authenticates ({username, uid, groups, extra}, new
 * reference), or NULL with err saying why it is refused. */
json_t *api__sa_authenticate(struct api *api, const char *token, struct err *err);
/* POST .../serviceaccounts/NAME/token. */
void api__token_request(struct api *api, struct http_req *req, struct api_target *t);
int api__is_selfsubjectreview(const char *path);
/* Answers a SelfSubjectReview for user (borrowed). */
void api__selfsubjectreview(struct http_req *req, const json_t *user);
/* The ServiceAccount admission plugin on a pod being created (sa_admit.c): 0, or
 * -E_FORBIDDEN when its ServiceAccount is missing. No-op unless api_set_sa_admission. */
int api__sa_admit(struct api *api, json_t *pod, struct err *err);
/* Allocates a free cluster IP into svc's spec.clusterIP (kind_service.c). */
int api__service_ip_alloc(struct api *api, json_t *svc);
/* Parses a request body by its Content-Type (JSON, YAML, protobuf) (verbs_http.c). */
int api__body_parse(struct http_req *req, json_t **out, struct err *err);

/* A parsed resource request. */
struct api_target {
    const struct resource *r;
    const char *ns;   /* NULL for cluster-scoped or all-namespaces */
    const char *name; /* NULL for collections */
    const char *sub;  /* subresource or NULL */
    int alt;          /* the path names the kind's alt_version (kind.h) */
    char buf[1024];
};

/* Splits /api/v1/... or /apis/G/V/... into a resource target (route.c). Returns 0, or
 * -E_NOT_FOUND. */
int api__target_parse(const char *path, struct api_target *t);
/* /api, /api/v1, /apis, /apis/G and /apis/G/V are discovery documents. */
int api__is_discovery(const char *path);
/* Paths served without a token (health, version). */
int api__is_public(const char *path);

/* Response helpers. */
void api__respond_json(struct http_req *req, int status, const json_t *body);
/* Same, with Warning headers (299) for each string of warnings (may be NULL). */
void api__respond_json_warn(struct http_req *req, int status, const json_t *body,
                            const json_t *warnings);
void api__fail(struct http_req *req, struct err *err);
void api__fail_code(struct http_req *req, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Table requested in the Accept header. */
int api__wants_table(const struct http_req *req);
int api__accepts_json(const struct http_req *req);

void api__discovery(struct api *api, struct http_req *req, const char *path);
void api__openapi(struct api *api, struct http_req *req, const char *path);
/* metrics.c: paths under /apis/metrics.k8s.io/v1beta1/ (not its discovery documents) are
 * served by api__metrics; its group's aggregated discovery entry and APIResourceList are new
 * references. */
int api__is_metrics(const char *path);
void api__metrics(struct api *api, struct http_req *req, const char *path);
json_t *api__metrics_agg_group(void);
json_t *api__metrics_resource_list(void);
/* custom_metrics.c: the same for /apis/custom.metrics.k8s.io/v1beta2/. */
int api__is_custom_metrics(const char *path);
/* Prometheus' /api/v1/query over the built-in metrics (promql_http.c). */
int api__is_promql(const char *path);
/* The dashboard page (dashboard.c), served without a token: it holds no data. */
int api__is_dashboard(const char *path);
void api__dashboard(struct http_req *req);
void api__promql(struct api *api, struct http_req *req);
void api__custom_metrics(struct api *api, struct http_req *req, const char *path);
json_t *api__custom_metrics_agg_group(void);
json_t *api__custom_metrics_resource_list(void);
void api__resource(struct api *api, struct http_req *req, struct api_target *t);
/* List and watch options from the query (listopts.c): booleans and integers converted as
 * kube-apiserver converts them, resourceVersionMatch and sendInitialEvents checked by its
 * rules. Returns 0, or a negative code with err filled (400, or 422 for ListOptions). */
struct api_listopts {
    int watch;             /* watch=true|True|1|"" ... (anything but absent, 0, false) */
    int bookmarks;         /* allowWatchBookmarks */
    int send_initial;      /* sendInitialEvents: -1 absent, 0, 1 */
    const char *rv;        /* resourceVersion as sent, NULL when absent */
    const char *rv_match;  /* resourceVersionMatch, NULL when absent */
    long long rv_n;        /* rv as a number; 0 when absent or empty */
    long long timeout;     /* timeoutSeconds; 0 when absent */
    long long limit;       /* limit; 0 when absent (no paging) */
    const char *cont;      /* continue token, NULL when absent */
};
int api__listopts(struct http_req *req, struct api_listopts *o, struct err *err);
/* kube-apiserver's answer to a resourceVersion the store has not reached: 504 Timeout,
 * cause ResourceVersionTooLarge, retryAfterSeconds 1. Returns the code. */
int api__rv_too_large(struct err *err, long long want, long long current);

/* A list, whole or one page of it (list.c). */
void api__list(struct api *api, struct http_req *req, struct api_target *t,
               const struct api_listopts *o);
void api__watch(struct api *api, struct http_req *req, struct api_target *t,
                const struct api_listopts *o);
void api__watch_close_all(struct api *api);
void api__watch_fanout(enum store_ev type, const char *res, json_t *obj, json_t *old, int64_t rv,
                       void *ctx);

/* The object's name for messages: "deployments.apps \"x\"". */
void api__qualified(const struct resource *r, char *out, size_t n);
/* Sets Status details for NotFound/AlreadyExists/Conflict/Invalid. */
json_t *api__details(const struct resource *r, const char *name, const json_t *causes);
/* Fills an error for a missing object: `deployments.apps "x" not found`. */
int api__not_found(struct err *err, const struct resource *r, const char *name);

/* Sets err's Status details (name, group, kind) for r's object name (verbs.c). */
void api__details_set(struct err *err, const struct resource *r, const char *name);
/* Applies a patch document of Content-Type ctype to cur (verbs.c): 0 and *out, or a negative
 * code with err set (415 for an unknown type). */
struct patch_schema;
int api__apply_patch(const char *ctype, const json_t *cur, const json_t *patch,
                     const struct patch_schema *schema, const struct api_wopts *o, int force,
                     json_t **out, struct err *err);
/* The autoscaling/v1 Scale view of a Deployment or ReplicaSet (new reference; verbs.c). */

/* Kind-specific write rules (strategy.c). */
int api__prepare_create(struct api *api, const struct resource *r, json_t *obj, struct err *err);
void api__prepare_update(struct api *api, const struct resource *r, json_t *obj, const json_t *old,
                         int status_only);

/* The workload lint on a client's write (lint.c): warnings into o->warnings, or with
 * --lint=error a 422 (returned, err filled). 0 when the write may go on. */
int api__lint(struct api *api, const struct resource *r, const json_t *obj, const json_t *old,
              const struct api_wopts *o, struct err *err);

/* Label/field selector filtering for lists and watches. */
struct api_filter;
struct api_filter *api__filter_new(struct http_req *req, const struct resource *r, struct err *err);
int api__filter_match(const struct api_filter *f, const json_t *obj);
void api__filter_free(struct api_filter *f);

#endif
