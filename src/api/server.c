/* API server front end: the resource table, HTTPS setup, authentication, routing of request
 * paths to discovery, OpenAPI, health and resource handlers, and Status error responses. */
#include "api/api-int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jx.h"
#include "core/log.h"
#include "core/tls.h"

const struct resource api_resources[RES_COUNT] = {
#define XX(id, g, v, k, p, s, sn, ns, f)                                                           \
    [RES_##id] = {RES_##id, g, v, k, p, s, sn, ns, f, sizeof(g) > 1 ? p "." g : p,                 \
                  sizeof(g) > 1 ? g "/" v : v},
#include "api/resources.def"
#undef XX
};

const struct resource *api_resource(enum res_id id)
{
    return &api_resources[id];
}

const struct resource *api_resource_by_plural(const char *group, const char *plural)
{
    for (int i = 0; i < RES_COUNT; i++)
        if (strcmp(api_resources[i].group, group) == 0 &&
            strcmp(api_resources[i].plural, plural) == 0)
            return &api_resources[i];
    return NULL;
}

const struct resource *api_resource_by_kind(const char *group, const char *kind)
{
    for (int i = 0; i < RES_COUNT; i++)
        if (strcmp(api_resources[i].group, group) == 0 && strcmp(api_resources[i].kind, kind) == 0)
            return &api_resources[i];
    return NULL;
}

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
    json_t *s = json_pack("{s:s,s:s,s:{},s:s,s:s,s:s,s:i}", "kind", "Status", "apiVersion", "v1",
                          "metadata", "status", "Failure", "message", msg, "reason",
                          err_reason(code), "code", err_http_status(code));

    if (details)
        json_object_set(s, "details", (json_t *)details);
    return s;
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
    char hdrs[640];
    size_t off = 0;

    /* The response head has a fixed budget: warnings that do not fit are dropped whole. */
    hdrs[0] = 0;
    for (size_t i = 0; i < json_array_size(warnings); i++) {
        const char *w = json_string_value(json_array_get(warnings, i));
        char line[320];
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

/* Splits /api/v1/... or /apis/G/V/... into a resource target. Returns 0, or -E_NOT_FOUND. */
static int target_parse(const char *path, struct api_target *t)
{
    char *seg[8], *p, *group = "";
    int n = 0, i = 0;

    memset(t, 0, sizeof *t);
    snprintf(t->buf, sizeof t->buf, "%s", path);
    for (p = strtok(t->buf, "/"); p && n < 8; p = strtok(NULL, "/"))
        seg[n++] = p;
    if (p)
        return -E_NOT_FOUND;
    if (n >= 2 && strcmp(seg[0], "api") == 0 && strcmp(seg[1], "v1") == 0) {
        i = 2;
    } else if (n >= 3 && strcmp(seg[0], "apis") == 0) {
        group = seg[1];
        i = 3;
    } else {
        return -E_NOT_FOUND;
    }
    if (i >= n)
        return -E_NOT_FOUND;
    if (strcmp(seg[i], "namespaces") == 0 && n - i >= 3) {
        const struct resource *r = api_resource_by_plural(group, seg[i + 2]);

        if (r && r->namespaced) {
            t->ns = seg[i + 1];
            i += 2;
        }
    }
    t->r = api_resource_by_plural(group, seg[i]);
    if (!t->r || strcmp(t->r->version, i >= 3 && *group ? seg[2] : "v1") != 0)
        return -E_NOT_FOUND;
    if (*group && strcmp(seg[2], t->r->version) != 0)
        return -E_NOT_FOUND;
    if (t->ns && !t->r->namespaced)
        return -E_NOT_FOUND;
    t->name = i + 1 < n ? seg[i + 1] : NULL;
    t->sub = i + 2 < n ? seg[i + 2] : NULL;
    if (i + 3 < n)
        return -E_NOT_FOUND;
    return 0;
}

static int authorized(struct api *api, struct http_req *req)
{
    const char *h = http_req_header(req, "Authorization");

    return h && strncmp(h, "Bearer ", 7) == 0 && strcmp(h + 7, api->token) == 0;
}

static void serve_version(struct http_req *req)
{
    static const char v[] =
        "{\"major\":\"1\",\"minor\":\"32\",\"gitVersion\":\"v1.32.0-kroll\","
        "\"gitCommit\":\"kroll\",\"gitTreeState\":\"clean\",\"buildDate\":\"2026-11-27T00:00:00Z\","
        "\"goVersion\":\"c11\",\"compiler\":\"gcc\",\"platform\":\"linux/amd64\"}";

    http_respond(req, 200, "application/json", v, sizeof v - 1, NULL);
}

/* /api, /api/v1, /apis, /apis/G and /apis/G/V are discovery documents. */
static int is_discovery(const char *path)
{
    int slashes = 0;

    if (strcmp(path, "/api") == 0 || strcmp(path, "/api/") == 0 || strcmp(path, "/api/v1") == 0 ||
        strcmp(path, "/api/v1/") == 0)
        return 1;
    if (strncmp(path, "/apis", 5) != 0 || (path[5] && path[5] != '/'))
        return 0;
    for (const char *p = path + 5; *p; p++)
        if (*p == '/' && p[1])
            slashes++;
    return slashes <= 2;
}

static void on_request(struct http_req *req, void *ctx)
{
    struct api *api = ctx;
    const char *path = req->path;
    struct api_target t;

    log_debug("api", "method=%s target=%s", req->method, req->target);
    if (strcmp(path, "/healthz") == 0 || strcmp(path, "/livez") == 0 ||
        strcmp(path, "/readyz") == 0 || strncmp(path, "/healthz/", 9) == 0 ||
        strncmp(path, "/livez/", 7) == 0 || strncmp(path, "/readyz/", 8) == 0) {
        http_respond(req, 200, "text/plain; charset=utf-8", "ok", 2, NULL);
        return;
    }
    if (strcmp(path, "/version") == 0 || strcmp(path, "/version/") == 0) {
        serve_version(req);
        return;
    }
    if (!authorized(api, req)) {
        api__fail_code(req, -E_UNAUTHORIZED, "Unauthorized");
        return;
    }
    if (strncmp(path, "/openapi/", 9) == 0) {
        api__openapi(api, req, path);
        return;
    }
    if (is_discovery(path)) {
        api__discovery(api, req, path);
        return;
    }
    if (target_parse(path, &t) < 0) {
        api__fail_code(req, -E_NOT_FOUND, "the server could not find the requested resource");
        return;
    }
    api__resource(api, req, &t);
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
    if (tls_pki_ensure(pki, err) < 0)
        goto fail;
    snprintf(tokpath, sizeof tokpath, "%s/token", pki);
    api->token = file_read_all(tokpath, NULL);
    if (!api->token) {
        err_set(err, -E_INTERNAL, "cannot read %s", tokpath);
        goto fail;
    }
    api->tls = tls_server_ctx(pki, err);
    if (!api->tls)
        goto fail;
    api->httpd = httpd_new(loop, api->tls, on_request, api);
    store_subscribe(store, api__watch_fanout, api);
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
    if (api->httpd)
        store_unsubscribe(api->store, api__watch_fanout, api);
    httpd_free(api->httpd);
    if (api->tls)
        SSL_CTX_free(api->tls);
    free(api->token);
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

void api_set_evict_hook(struct api *api, api_evict_fn *fn, void *ctx)
{
    api->evict_fn = fn;
    api->evict_ctx = ctx;
}
