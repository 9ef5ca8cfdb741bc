/* API server front end: HTTPS setup, limits, authentication (checked on the request head,
 * before any body byte is read), routing of request paths to discovery, OpenAPI, health and
 * resource handlers, and Status error responses. */
#include "api/api-int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/tls.h"

void api__qualified(const struct resource *r, char *out, size_t n)
{
    snprintf(out, n, "%s", r->key);
}

json_t *api__details(const struct resource *r, const char *name, const json_t *causes)
{
    json_t *d = json_object();

    if (name)
        json_object_set_new(d, "name", json_string(name));
    if (r) {
        if (*r->group)
            json_object_set_new(d, "group", json_string(r->group));
        json_object_set_new(d, "kind", json_string(r->plural));
    }
    if (causes)
        json_object_set(d, "causes", (json_t *)causes);
    return d;
}

int api__not_found(struct err *err, const struct resource *r, const char *name)
{
    err_set(err, -E_NOT_FOUND, "%s \"%s\" not found", r->key, name);
    return -E_NOT_FOUND;
}

json_t *api_status_json(int code, const char *msg, const json_t *details)
{
    return err_status_json(code, msg, details);
}

void api__respond_json(struct http_req *req, int status, const json_t *body)
{
    char *s = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);

    http_respond(req, status, "application/json", s, strlen(s), NULL);
    free(s);
}

void api__respond_json_warn(struct http_req *req, int status, const json_t *body,
                            const json_t *warnings)
{
    char *s = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char hdrs[4608];
    size_t off = 0;

    /* Warnings have a budget like kube-apiserver's (4096 runes in all): one too long for its
     * line, or past the budget, is dropped whole rather than cut. */
    hdrs[0] = 0;
    for (size_t i = 0; i < json_array_size(warnings); i++) {
        const char *w = json_string_value(json_array_get(warnings, i));
        char line[600];
        size_t n = 0;

        if (!w)
            continue;
        n = (size_t)snprintf(line, sizeof line, "Warning: 299 - \"");
        for (; *w && n < sizeof line - 8; w++) {
            if (*w == '"' || *w == '\\')
                line[n++] = '\\';
            line[n++] = (*w == '\r' || *w == '\n') ? ' ' : *w;
        }
        n += (size_t)snprintf(line + n, sizeof line - n, "\"\r\n");
        if (*w || off + n >= sizeof hdrs)
            continue;
        memcpy(hdrs + off, line, n + 1);
        off += n;
    }
    http_respond(req, status, "application/json", s, strlen(s), off ? hdrs : NULL);
    free(s);
}

void api__fail(struct http_req *req, struct err *err)
{
    int code = err->code ? err->code : -E_INTERNAL;
    json_t *details = NULL, *st;

    if (err->details || err->causes) {
        details = err->details ? json_deep_copy(err->details) : json_object();
        if (err->causes)
            json_object_set(details, "causes", err->causes);
    }
    st = api_status_json(code, err->msg[0] ? err->msg : err_reason(code), details);
    api__respond_json(req, err_http_status(code), st);
    json_decref(st);
    json_decref(details);
}

void api__fail_code(struct http_req *req, int code, const char *fmt, ...)
{
    struct err e;
    va_list ap;

    err_init(&e);
    e.code = code;
    va_start(ap, fmt);
    vsnprintf(e.msg, sizeof e.msg, fmt, ap);
    va_end(ap);
    api__fail(req, &e);
}

int api__wants_table(const struct http_req *req)
{
    const char *a = http_req_header(req, "Accept");

    return a && strstr(a, "as=Table") != NULL;
}

int api__accepts_json(const struct http_req *req)
{
    const char *a = http_req_header(req, "Accept");

    if (!a || !*a)
        return 1;
    return strstr(a, "json") || strstr(a, "*/*") || strstr(a, "yaml");
}

static void sha256(const char *s, size_t n, unsigned char out[32])
{
    unsigned int len = 32;

    if (!EVP_Digest(s, n, out, &len, EVP_sha256(), NULL))
        die("SHA-256 unavailable");
}

int api__token_set(struct api *api, const char *token)
{
    size_t n = strlen(token);

    while (n && (token[n - 1] == '\n' || token[n - 1] == '\r' || token[n - 1] == ' ' ||
                 token[n - 1] == '\t'))
        n--;
    if (!n)
        return -EINVAL;
    free(api->token);
    api->token = xmalloc(n + 1);
    memcpy(api->token, token, n);
    api->token[n] = 0;
    sha256(api->token, n, api->token_sha);
    return 0;
}

int api__token_ok(const struct api *api, const char *h)
{
    unsigned char got[32];

    if (!h || strncmp(h, "Bearer ", 7) != 0 || !h[7] || !api->token)
        return 0;
    /* Digests have one length, so neither a length check nor memcmp's early exit can tell
     * an attacker how much of the token matched. */
    sha256(h + 7, strlen(h + 7), got);
    return CRYPTO_memcmp(got, api->token_sha, sizeof got) == 0;
}

/* The request's user: the admin token's, or a ServiceAccount token's (satoken.c); NULL for
 * an unauthenticated request. kroll has no RBAC: every authenticated user may do everything
 * (README "ServiceAccounts and tokens"). New reference. */
static json_t *authenticate(struct api *api, struct http_req *req)
{
    const char *h = http_req_header(req, "Authorization");
    json_t *user;
    struct err err;

    if (api__token_ok(api, h))
        return json_pack("{s:s,s:[s,s]}", "username", "kubernetes-admin", "groups",
                         "system:masters", "system:authenticated");
    if (!h || strncmp(h, "Bearer ", 7) != 0 || !api->sa_key)
        return NULL;
    err_init(&err);
    user = api__sa_authenticate(api, h + 7, &err);
    if (!user)
        log_debug("api", "msg=\"token refused\" err=\"%s\"", err.msg);
    err_release(&err);
    return user;
}

static int authorized(struct api *api, struct http_req *req)
{
    json_t *u = authenticate(api, req);

    json_decref(u);
    return u != NULL;
}

/* Runs on the request head: an unauthenticated client gets its 401 before it can make the
 * server buffer a body. */
static int on_head(struct http_req *req, void *ctx)
{
    struct api *api = ctx;

    if (api__is_public(req->path) || api__is_dashboard(req->path) || authorized(api, req))
        return 0;
    api__fail_code(req, -E_UNAUTHORIZED, "Unauthorized");
    return 1;
}

static void serve_version(struct http_req *req)
{
    static const char v[] =
        "{\"major\":\"1\",\"minor\":\"32\",\"gitVersion\":\"v1.32.0-kroll\","
        "\"gitCommit\":\"kroll\",\"gitTreeState\":\"clean\",\"buildDate\":\"2026-11-27T00:00:00Z\","
        "\"goVersion\":\"c11\",\"compiler\":\"gcc\",\"platform\":\"linux/amd64\"}";

    http_respond(req, 200, "application/json", v, sizeof v - 1, NULL);
}

static void on_request(struct http_req *req, void *ctx)
{
    struct api *api = ctx;
    const char *path = req->path;
    struct api_target t;
    struct timespec ts;
    json_t *user;
    double started;

    log_debug("api", "method=%s target=%s", req->method, req->target);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    started = (double)ts.tv_sec + ts.tv_nsec / 1e9;
    if (strncmp(path, "/version", 8) == 0 && api__is_public(path)) {
        serve_version(req);
        return;
    }
    if (api__is_dashboard(path)) {
        api__dashboard(req);
        return;
    }
    if (api__is_public(path)) {
        http_respond(req, 200, "text/plain; charset=utf-8", "ok", 2, NULL);
        return;
    }
    user = authenticate(api, req);
    if (!user) {
        api__fail_code(req, -E_UNAUTHORIZED, "Unauthorized");
        return;
    }
    if (api__is_selfsubjectreview(path)) {
        api__selfsubjectreview(req, user);
        json_decref(user);
        return;
    }
    json_decref(user);
    if (strncmp(path, "/openapi/", 9) == 0) {
        api__openapi(api, req, path);
        return;
    }
    if (api__is_discovery(path)) {
        api__discovery(api, req, path);
        return;
    }
    if (strcmp(path, "/metrics") == 0) {
        api__metrics_serve(api, req);
        return;
    }
    if (api__is_metrics(path)) {
        api__metrics(api, req, path);
        return;
    }
    if (api__is_promql(path)) {
        api__promql(api, req);
        return;
    }
    if (api__is_custom_metrics(path)) {
        api__custom_metrics(api, req, path);
        return;
    }
    if (api__target_parse(path, &t) < 0) {
        api__fail_code(req, -E_NOT_FOUND, "the server could not find the requested resource");
        return;
    }
    api__resource(api, req, &t);
    api__metrics_request(api, req, &t, started);
}

void api_limits_default(struct api_limits *l)
{
    memset(l, 0, sizeof *l);
    httpd_limits_default(&l->http);
    l->max_watches = API_MAX_WATCHES;
    l->max_watches_per_client = API_MAX_WATCHES_PER_CLIENT;
    l->watch_buffer_bytes = API_WATCH_BUFFER_BYTES;
    l->watch_buffer_total = API_WATCH_BUFFER_TOTAL;
}

/* Zero fields take their defaults. */
static void api_limits_fill(struct api_limits *l)
{
    struct api_limits d;

    api_limits_default(&d);
    if (l->max_watches <= 0)
        l->max_watches = d.max_watches;
    if (l->max_watches_per_client <= 0)
        l->max_watches_per_client = d.max_watches_per_client;
    if (!l->watch_buffer_bytes)
        l->watch_buffer_bytes = d.watch_buffer_bytes;
    if (!l->watch_buffer_total)
        l->watch_buffer_total = d.watch_buffer_total;
}

/* The token file must exist and hold a token: an empty one would let "Bearer " in. */
static int token_load(struct api *api, const char *path, struct err *err)
{
    char *tok = file_read_all(path, NULL);
    int rc;

    if (!tok)
        return err_set(err, -E_INTERNAL, "cannot read the token file %s: %s", path,
                       strerror(errno));
    rc = api__token_set(api, tok);
    free(tok);
    if (rc < 0)
        return err_set(err, -E_INTERNAL,
                       "the token file %s is empty: put a token in it, or "
                       "remove it to have a new one generated",
                       path);
    return 0;
}

/* The `kubernetes` Service keeps its cluster IP; a new one gets a random free address of the
 * range (not the first: kroll servers running side by side would all claim it). */
static void kubernetes_ip_pick(struct api *api)
{
    const json_t *svc = store_get(api->store, "services", "default", "kubernetes");
    const char *ip = jx_str(svc, "spec.clusterIP");
    json_t *probe;

    if (ip && strlen(ip) < sizeof api->k8s_ip) {
        snprintf(api->k8s_ip, sizeof api->k8s_ip, "%s", ip);
        return;
    }
    probe = json_pack("{s:{}}", "spec");
    if (api__service_ip_alloc(api, probe) == 0)
        snprintf(api->k8s_ip, sizeof api->k8s_ip, "%s", jx_str(probe, "spec.clusterIP") ?: "");
    json_decref(probe);
}

/* The address in-cluster clients reach the API at: the listen address when it is a specific
 * IP literal, else loopback (a wildcard or a host name; hostNetwork pods and the proxy share
 * the host's loopback). */
static void host_ip_set(struct api *api, const char *listen_host)
{
    unsigned char a[16];
    const char *h = "127.0.0.1";

    if (listen_host && strlen(listen_host) < sizeof api->host_ip &&
        ((inet_pton(AF_INET, listen_host, a) == 1 && strcmp(listen_host, "0.0.0.0") != 0) ||
         (inet_pton(AF_INET6, listen_host, a) == 1 && strcmp(listen_host, "::") != 0)))
        h = listen_host;
    snprintf(api->host_ip, sizeof api->host_ip, "%s", h);
}

const char *api_host_ip(const struct api *api)
{
    return api->host_ip;
}

void api_set_sa_admission(struct api *api, int on)
{
    api->sa_admission = on;
}

struct api *api_new(struct loop *loop, struct store *store, const struct api_opts *o,
                    struct err *err)
{
    struct api *api = xcalloc(1, sizeof *api);
    char pki[4096], tokpath[4096 + 16];

    api->loop = loop;
    api->store = store;
    api->data_dir = xstrdup(o->data_dir);
    api->node_name = xstrdup(o->node_name ? o->node_name : "kroll-node");
    snprintf(pki, sizeof pki, "%s/pki", o->data_dir);
    kubernetes_ip_pick(api);
    host_ip_set(api, o->listen_host);
    if (tls_pki_ensure(pki, api->k8s_ip, err) < 0 || api__sa_init(api, pki, err) < 0)
        goto fail;
    snprintf(tokpath, sizeof tokpath, "%s/token", pki);
    if (token_load(api, tokpath, err) < 0)
        goto fail;
    api->tls = tls_server_ctx(pki, err);
    if (!api->tls)
        goto fail;
    if (o->limits)
        api->lim = *o->limits;
    api_limits_fill(&api->lim);
    api->httpd = httpd_new(loop, api->tls, on_request, api);
    httpd_set_limits(api->httpd, &api->lim.http);
    httpd_set_head_check(api->httpd, on_head, api);
    store_subscribe(store, api__watch_fanout, api);
    api__metrics_init(api);
    api__events_init(api);
    if (httpd_listen(api->httpd, o->listen_host, o->listen_port, err) < 0)
        goto fail;
    return api;
fail:
    api_free(api);
    return NULL;
}

void api_free(struct api *api)
{
    if (!api)
        return;
    api__watch_close_all(api);
    api__local_close_all(api);
    api__metrics_free(api);
    api__events_free(api);
    if (api->httpd)
        store_unsubscribe(api->store, api__watch_fanout, api);
    httpd_free(api->httpd);
    if (api->tls)
        SSL_CTX_free(api->tls);
    free(api->token);
    api__sa_release(api);
    free(api->data_dir);
    free(api->node_name);
    free(api);
}

int api_port(const struct api *api)
{
    return httpd_port(api->httpd);
}

const char *api_token(const struct api *api)
{
    return api->token;
}

struct store *api_store(struct api *api)
{
    return api->store;
}

struct loop *api_loop(struct api *api)
{
    return api->loop;
}

void api_set_log_hook(struct api *api, api_log_fn *fn, void *ctx)
{
    api->log_fn = fn;
    api->log_ctx = ctx;
}

void api_set_metrics_hook(struct api *api, api_metrics_fn *fn, void *ctx)
{
    api->metrics_fn = fn;
    api->metrics_ctx = ctx;
}

void api_set_custom_metrics_hook(struct api *api, api_custom_metrics_fn *fn, void *ctx)
{
    api->custom_metrics_fn = fn;
    api->custom_metrics_ctx = ctx;
}

json_t *api_metrics_of(struct api *api, const json_t *obj)
{
    return api->metrics_fn && obj ? api->metrics_fn(obj, api->metrics_ctx) : NULL;
}

json_t *api_custom_metric_of(struct api *api, const json_t *pod, const char *metric)
{
    return api->custom_metrics_fn && pod
               ? api->custom_metrics_fn(pod, metric, api->custom_metrics_ctx)
               : NULL;
}

void api_set_stream_hook(struct api *api, api_stream_fn *fn, void *ctx)
{
    api->stream_fn = fn;
    api->stream_ctx = ctx;
}

void api_set_evict_hook(struct api *api, api_evict_fn *fn, void *ctx)
{
    api->evict_fn = fn;
    api->evict_ctx = ctx;
}
