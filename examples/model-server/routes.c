/* TF Serving's REST endpoints for the one served model: model status (the readiness gate),
 * metadata, predict, plus /healthz. Every answer is JSON in TF Serving's shapes; every bad
 * request is a 4xx with {"error": "..."}; a model that is not loaded yet is a 503. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llhttp.h>

#include "ms.h"

static void routes_text(struct http_response *res, int status, const char *text)
{
    res->status = status;
    res->ctype = "text/plain; charset=utf-8";
    res->body = strdup(text);
    res->len = res->body ? strlen(res->body) : 0;
}

/* Takes the reference to obj. */
static void routes_json(struct http_response *res, int status, json_t *obj)
{
    res->status = status;
    res->ctype = "application/json";
    res->body = obj ? json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(7)) : NULL;
    res->len = res->body ? strlen(res->body) : 0;
    json_decref(obj);
}

void routes_error(struct http_response *res, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    routes_json(res, status, json_pack("{s:s}", "error", msg));
}

/* TF Serving's GetModelStatus answer; 503 until the model is AVAILABLE so a readiness probe on
 * this path gates traffic. */
static void routes_status(struct http_response *res)
{
    int ok = ms_model.state == MS_AVAILABLE;
    const char *code = ok || !ms_model.message[0] ? "OK" : "UNAVAILABLE";
    json_t *st = json_pack("{s:s,s:s,s:{s:s,s:s}}", "version", ms_model.version, "state",
                           ok ? "AVAILABLE" : "LOADING", "status", "error_code", code,
                           "error_message", ok ? "" : ms_model.message);
    json_t *out = json_pack("{s:[o]}", "model_version_status", st), *cfg = config_status_json();

    if (out && cfg) /* not TF Serving's: the served config file (config.c) */
        json_object_set_new(out, "config", cfg);
    else
        json_decref(cfg);
    routes_json(res, ok ? 200 : 503, out);
}

static void routes_predict(struct http_response *res, const char *body, size_t len)
{
    json_error_t jerr;
    char err[256];
    json_t *req = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr), *out;

    res->logged = 1;
    if (!req) {
        routes_error(res, 400, "JSON Parse error: %s at line %d column %d", jerr.text, jerr.line,
                     jerr.column);
        return;
    }
    out = model_predict_json(ms_model.model, req, err, sizeof(err));
    json_decref(req);
    if (!out) {
        routes_error(res, 400, "%s", err);
        return;
    }
    if (ms_cfg.error_percent > 0) { /* evenly spread: request n fails when n*p/100 steps up */
        static int64_t n;

        n++;
        if (n * ms_cfg.error_percent / 100 != (n - 1) * ms_cfg.error_percent / 100) {
            json_decref(out);
            routes_error(res, 500, "injected failure (ERROR_PERCENT=%lld)",
                         (long long)ms_cfg.error_percent);
            return;
        }
    }
    routes_json(res, 200, out);
    res->delay_ms = ms_cfg.response_delay_ms;
}

/* Splits "/v1/models/NAME[/versions/N][/metadata|:predict]". Returns the action after the name
 * ("", "/metadata", ":predict", ...) and fills name and version (empty when not given). */
static const char *routes_model_path(const char *p, char *name, size_t nlen, char *ver,
                                     size_t vlen)
{
    size_t n = strcspn(p, "/:");

    snprintf(name, nlen, "%.*s", (int)n, p);
    p += n;
    ver[0] = 0;
    if (strncmp(p, "/versions/", 10) == 0) {
        p += 10;
        n = strcspn(p, "/:");
        snprintf(ver, vlen, "%.*s", (int)n, p);
        p += n;
    }
    return p;
}

static void routes_model(int method, const char *path, const char *body, size_t len,
                         struct http_response *res)
{
    char name[128], ver[32];
    const char *action = routes_model_path(path, name, sizeof(name), ver, sizeof(ver));
    int want_get = strcmp(action, ":predict") != 0;

    if (strcmp(name, ms_cfg.model_name) != 0)
        routes_error(res, 404, "Servable not found for request: Latest(%s)", name);
    else if (ver[0] && strcmp(ver, ms_model.version) != 0)
        routes_error(res, 404, "Servable not found for request: Specific(%s, %s)", name, ver);
    else if (strcmp(action, "") && strcmp(action, "/metadata") && strcmp(action, ":predict"))
        routes_error(res, 404, "Malformed request: %s", path);
    else if (method != (want_get ? HTTP_GET : HTTP_POST))
        routes_error(res, 405, "this path is only served for %s", want_get ? "GET" : "POST");
    else if (action[0] == 0)
        routes_status(res);
    else if (ms_model.state != MS_AVAILABLE)
        routes_error(res, 503, "Servable not available yet: %s (%s)", name,
                     ms_model.message[0] ? ms_model.message : "loading");
    else if (action[0] == '/')
        routes_json(res, 200, model_metadata_json(ms_model.model, name, ms_model.version));
    else
        routes_predict(res, body, len);
}

void routes_handle(int method, const char *path, const char *body, size_t len,
                   struct http_response *res)
{
    if (strncmp(path, "/v1/models/", 11) == 0) {
        routes_model(method, path + 11, body, len, res);
    } else if (strcmp(path, "/healthz") == 0) {
        /* Healthy means serving: a pod whose model never loads must never look ready. */
        if (method != HTTP_GET)
            routes_error(res, 405, "/healthz is only served for GET");
        else if (ms_model.state == MS_AVAILABLE)
            routes_text(res, 200, "ok\n");
        else
            routes_text(res, 503, "model not available\n");
    } else {
        routes_error(res, 404, "Malformed request: no route for %s", path);
    }
    if (!res->body) /* only on out-of-memory: still answer something well-formed */
        res->status = 500;
}
