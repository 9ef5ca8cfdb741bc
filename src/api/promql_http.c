/* Prometheus' instant query endpoint, GET or POST /api/v1/query (query=, optional time=), behind
 * the API's bearer token, answered by the PromQL subset of core/promql.h over kroll's own proxy
 * figures (the source the server registers). Only the present can be asked for: the figures
 * are sliding windows, not a history. /api/v1/query_range is refused with bad_data. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api-int.h"
#include "core/log.h"
#include "core/promql.h"

#define TIME_SLACK_S 60 /* a time= this close to now is "now" */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The value of key in an application/x-www-form-urlencoded body, decoded; NULL when absent. */
static char *form_value(const char *body, size_t len, const char *key)
{
    size_t kl = strlen(key), i = 0;

    while (i < len) {
        const char *p = body + i, *amp = memchr(p, '&', len - i);
        size_t n = amp ? (size_t)(amp - p) : len - i;

        if (n > kl && !memcmp(p, key, kl) && p[kl] == '=') {
            char *out = xmalloc(n), *o = out;

            for (size_t k = kl + 1; k < n; k++) {
                if (p[k] == '%' && k + 2 < n && hexval((unsigned char)p[k + 1]) >= 0 &&
                    hexval((unsigned char)p[k + 2]) >= 0) {
                    *o++ = (char)(hexval((unsigned char)p[k + 1]) * 16 +
                                  hexval((unsigned char)p[k + 2]));
                    k += 2;
                } else {
                    *o++ = p[k] == '+' ? ' ' : p[k];
                }
            }
            *o = 0;
            return out;
        }
        i += n + 1;
    }
    return NULL;
}

static void respond(struct http_req *req, int status, char *body)
{
    http_respond(req, status, "application/json", body, strlen(body), NULL);
    free(body);
}

static void bad_data(struct http_req *req, const char *msg)
{
    json_t *doc =
        json_pack("{s:s,s:s,s:s}", "status", "error", "errorType", "bad_data", "error", msg);

    respond(req, 400, json_dumps(doc, JSON_COMPACT));
    json_decref(doc);
}

int api__is_promql(const char *path)
{
    return !strcmp(path, "/api/v1/query") || !strcmp(path, "/api/v1/query_range");
}

void api__promql(struct api *api, struct http_req *req)
{
    const char *q = http_req_query(req, "query"), *t = http_req_query(req, "time");
    char *fq = NULL, *ft = NULL, *body = NULL, *end;
    struct timespec now;
    double ts;
    int status;

    (void)api;
    clock_gettime(CLOCK_REALTIME, &now);
    ts = (double)now.tv_sec + (double)(now.tv_nsec / 1000000) / 1e3;
    if (!strcmp(req->path, "/api/v1/query_range")) {
        bad_data(req, "range queries are not supported: the built-in metrics keep sliding "
                      "windows, not a history (use /api/v1/query with rate(x[5m]))");
        return;
    }
    if (strcmp(req->method, "GET") && strcmp(req->method, "POST")) {
        http_respond(req, 405, "text/plain", "method not allowed\n", 19, NULL);
        return;
    }
    if (!strcmp(req->method, "POST")) {
        fq = form_value(req->body.data ? req->body.data : "", req->body.len, "query");
        ft = form_value(req->body.data ? req->body.data : "", req->body.len, "time");
        q = fq ? fq : q;
        t = ft ? ft : t;
    }
    if (!q || !*q) {
        bad_data(req, "invalid parameter \"query\": a query is required");
        goto out;
    }
    if (t && *t) {
        double v = strtod(t, &end);

        if (*end || end == t || !isfinite(v)) {
            bad_data(req, "invalid parameter \"time\": expected Unix seconds");
            goto out;
        }
        if (fabs(v - ts) > TIME_SLACK_S) {
            bad_data(req, "invalid parameter \"time\": only the present can be queried (the "
                          "built-in metrics keep no history)");
            goto out;
        }
        ts = v;
    }
    status = promql_query_default(q, ts, &body);
    respond(req, status, body);
out:
    free(fq);
    free(ft);
}
