/* kubeconfig.h: a kubeconfig's current context, and one request at a time to its server. */
#include "client/kubeconfig.h"

#include <libgen.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/file.h"
#include "core/httpc.h"
#include "core/jx.h"
#include "core/log.h"

/* The entry of list (clusters, users, contexts) named name, its inner object under field. */
static const json_t *named(const json_t *doc, const char *list, const char *name, const char *field)
{
    const json_t *e;
    size_t i;

    json_array_foreach(json_object_get(doc, list), i, e)
    {
        const char *n = json_string_value(json_object_get(e, "name"));

        if (n && !strcmp(n, name))
            return json_object_get(e, field);
    }
    return NULL;
}

/* A file named by the kubeconfig at path: relative names are relative to its folder. Bounded
 * like the kubeconfig itself. */
static char *read_beside(const char *path, const char *name, struct err *err)
{
    char *dir = xstrdup(path), *full, *text;
    struct stat st;

    full = name[0] == '/' ? xstrdup(name) : xasprintf("%s/%s", dirname(dir), name);
    free(dir);
    if (stat(full, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > KC_CONFIG_MAX_BYTES ||
        !(text = file_read_all(full, NULL))) {
        err_set(err, -E_BAD_REQUEST, "%s: cannot read %s (a regular file of at most %u bytes)",
                path, full, KC_CONFIG_MAX_BYTES);
        free(full);
        return NULL;
    }
    free(full);
    return text;
}

static char *pem_from_b64(const char *b64)
{
    size_t n = strlen(b64);
    char *pem = xmalloc(n + 4);
    int len = EVP_DecodeBlock((unsigned char *)pem, (const unsigned char *)b64, (int)n);

    if (len <= 0 || !memmem(pem, (size_t)len, "-----BEGIN CERTIFICATE-----", 27)) {
        free(pem);
        return NULL;
    }
    pem[len] = 0;
    return pem;
}

/* server: "https://host:port" with an explicit port; host and port split out. */
static int server_parse(struct kc_config *cfg, const char *path, const char *server,
                        struct err *err)
{
    const char *h, *colon;
    char *end;
    size_t n = strlen(server);
    long port;

    while (n > 8 && server[n - 1] == '/')
        n--;
    if (strncmp(server, "https://", 8) != 0 || n >= 256)
        return err_set(err, -E_BAD_REQUEST, "%s: server %s is not https://HOST:PORT", path, server);
    cfg->server = xasprintf("%.*s", (int)n, server);
    h = cfg->server + 8;
    colon = strrchr(h, ':');
    if (!colon || (strchr(h, ']') && colon < strchr(h, ']')))
        return err_set(err, -E_BAD_REQUEST, "%s: server %s has no port", path, server);
    port = strtol(colon + 1, &end, 10);
    if (*end || port <= 0 || port > 65535)
        return err_set(err, -E_BAD_REQUEST, "%s: server %s has no valid port", path, server);
    cfg->port = (int)port;
    if (h[0] == '[' && colon > h + 1 && colon[-1] == ']')
        cfg->host = xasprintf("%.*s", (int)(colon - h - 2), h + 1);
    else
        cfg->host = xasprintf("%.*s", (int)(colon - h), h);
    return 0;
}

static int cluster_load(struct kc_config *cfg, const char *path, const json_t *cl, struct err *err)
{
    const char *server = jx_str(cl, "server"), *ca64 = jx_str(cl, "certificate-authority-data");
    const char *ca_file = jx_str(cl, "certificate-authority");

    if (!server)
        return err_set(err, -E_BAD_REQUEST, "%s: the current context's cluster has no server",
                       path);
    if (server_parse(cfg, path, server, err) < 0)
        return -1;
    if (ca64)
        cfg->ca_pem = pem_from_b64(ca64);
    else if (ca_file)
        cfg->ca_pem = read_beside(path, ca_file, err);
    else
        return err_set(err, -E_BAD_REQUEST,
                       "%s: the cluster has neither certificate-authority-data nor "
                       "certificate-authority",
                       path);
    if (!cfg->ca_pem)
        return err->code ? -1
                         : err_set(err, -E_BAD_REQUEST,
                                   "%s: certificate-authority-data holds no PEM certificate", path);
    return 0;
}

static int user_load(struct kc_config *cfg, const char *path, const json_t *user, struct err *err)
{
    const char *token = jx_str(user, "token"), *file = jx_str(user, "tokenFile");
    char *t;

    if (token) {
        cfg->token = xstrdup(token);
    } else if (file) {
        if (!(t = read_beside(path, file, err)))
            return -1;
        t[strcspn(t, "\r\n")] = 0;
        cfg->token = t;
    }
    if (!cfg->token || !*cfg->token || strpbrk(cfg->token, " \t\r\n"))
        return err_set(err, -E_BAD_REQUEST,
                       "%s: the current context's user has no bearer token (token or "
                       "tokenFile; client certificates are not supported)",
                       path);
    return 0;
}

int kc_config_parse(const char *text, size_t len, const char *path, struct kc_config *cfg,
                    struct err *err)
{
    json_t *doc = NULL;
    const json_t *ctx, *cl, *user;
    const char *cur, *ns;
    int rc = -1;

    memset(cfg, 0, sizeof *cfg);
    if (len > KC_CONFIG_MAX_BYTES) {
        err_set(err, -E_BAD_REQUEST, "%s: larger than %u bytes", path, KC_CONFIG_MAX_BYTES);
        return -1;
    }
    if (jx_parse_yaml(text, len, &doc, err) < 0) {
        char m[sizeof err->msg];

        snprintf(m, sizeof m, "%s", err->msg);
        err_set(err, -E_BAD_REQUEST, "%s: %s", path, m);
        return -1;
    }
    cur = jx_str(doc, "current-context");
    ctx = cur ? named(doc, "contexts", cur, "context") : NULL;
    if (!ctx) {
        err_set(err, -E_BAD_REQUEST, "%s: current-context %s%.253s%s names no context", path,
                cur ? "\"" : "", cur ? cur : "(none)", cur ? "\"" : "");
        goto out;
    }
    cl = jx_str(ctx, "cluster") ? named(doc, "clusters", jx_str(ctx, "cluster"), "cluster") : NULL;
    user = jx_str(ctx, "user") ? named(doc, "users", jx_str(ctx, "user"), "user") : NULL;
    if (!cl || !user) {
        err_set(err, -E_BAD_REQUEST, "%s: context \"%.253s\" names no %s that the file has", path,
                cur, cl ? "user" : "cluster");
        goto out;
    }
    if (cluster_load(cfg, path, cl, err) < 0 || user_load(cfg, path, user, err) < 0)
        goto out;
    ns = jx_str(ctx, "namespace");
    cfg->namespace = xstrdup(ns && *ns ? ns : "default");
    rc = 0;
out:
    if (rc < 0)
        kc_config_free(cfg);
    json_decref(doc);
    return rc;
}

int kc_config_load(const char *path, struct kc_config *cfg, struct err *err)
{
    struct stat st;
    size_t len = 0;
    char *text;
    int rc;

    memset(cfg, 0, sizeof *cfg);
    if (stat(path, &st) == 0 && st.st_size > KC_CONFIG_MAX_BYTES) {
        err_set(err, -E_BAD_REQUEST, "%s: larger than %u bytes", path, KC_CONFIG_MAX_BYTES);
        return -1;
    }
    if (!(text = file_read_all(path, &len))) {
        err_set(err, -E_NOT_FOUND, "cannot read %s", path);
        return -1;
    }
    rc = kc_config_parse(text, len, path, cfg, err);
    free(text);
    return rc < 0 ? -1 : 0;
}

void kc_config_free(struct kc_config *cfg)
{
    free(cfg->server);
    free(cfg->host);
    free(cfg->token);
    free(cfg->ca_pem);
    free(cfg->namespace);
    memset(cfg, 0, sizeof *cfg);
}

int kc_rest_do(const struct kc_config *cfg, const char *method, const char *path, const char *ctype,
               const json_t *body, size_t max_body, int timeout_ms, json_t **out, struct err *err)
{
    char *js = body ? json_dumps(body, JSON_COMPACT) : NULL, msg[512];
    char *url = xasprintf("%s%s", cfg->server, path);
    char *hdrs =
        xasprintf("Authorization: Bearer %s\r\nAccept: application/json\r\n%s%s%s", cfg->token,
                  ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "");
    struct httpc_req req = {.method = method,
                            .url = url,
                            .headers = hdrs,
                            .body = js,
                            .body_len = js ? strlen(js) : 0,
                            .timeout_ms = timeout_ms > 0 ? timeout_ms : 30000,
                            .ca_pem = cfg->ca_pem,
                            .max_body = max_body,
                            .user_agent = "kroll-client"};
    struct httpc_resp resp;
    int code = -1;

    *out = NULL;
    if (httpc_do(&req, &resp, msg, sizeof msg) == 0) {
        code = resp.status;
        if (resp.body_len)
            *out = json_loadb(resp.body, resp.body_len, 0, NULL);
        free(resp.body);
    } else {
        err_set(err, -E_UNAVAILABLE, "%s %s: %s", method, path, msg);
    }
    free(url);
    free(hdrs);
    free(js);
    return code;
}
