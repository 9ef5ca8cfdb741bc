/* The request side of the HTTP/1.1 server: llhttp's callbacks build a struct http_req (method,
 * target, decoded path and query, headers, body) within the head and body limits and move the
 * connection's deadline from head to body to handler; header and query lookups for handlers. */
#include "core/httpd-int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/jx.h"
#include "core/log.h"

/* ---- request bookkeeping ---- */

void httpd__req_free(struct req_priv *r)
{
    if (!r)
        return;
    free(r->pub.target);
    free(r->pub.path);
    free(r->pub.query);
    for (int i = 0; i < r->pub.nhdrs; i++) {
        free(r->pub.hdrs[i].name);
        free(r->pub.hdrs[i].value);
    }
    free(r->pub.hdrs);
    for (int i = 0; i < r->nq; i++) {
        free(r->q[i].key);
        free(r->q[i].val);
    }
    free(r->q);
    buf_release(&r->pub.body);
    free(r);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Percent-decodes n bytes of s; plus_space turns '+' into ' ' (query strings). */
static char *pct_decode(const char *s, size_t n, int plus_space)
{
    char *out = xmalloc(n + 1), *o = out;

    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval((unsigned char)s[i + 1]) >= 0 &&
            hexval((unsigned char)s[i + 2]) >= 0) {
            *o++ = (char)(hexval((unsigned char)s[i + 1]) * 16 + hexval((unsigned char)s[i + 2]));
            i += 2;
        } else if (plus_space && s[i] == '+') {
            *o++ = ' ';
        } else {
            *o++ = s[i];
        }
    }
    *o = 0;
    return out;
}

const char *http_req_header(const struct http_req *req, const char *name)
{
    for (int i = 0; i < req->nhdrs; i++)
        if (strcasecmp(req->hdrs[i].name, name) == 0)
            return req->hdrs[i].value;
    return NULL;
}

static void query_parse(struct req_priv *r)
{
    const char *p = r->pub.query;

    r->q_parsed = 1;
    while (p && *p) {
        const char *amp = strchr(p, '&'), *eq;
        size_t n = amp ? (size_t)(amp - p) : strlen(p);

        eq = memchr(p, '=', n);
        if (n) {
            r->q = xrealloc(r->q, (size_t)(r->nq + 1) * sizeof *r->q);
            r->q[r->nq].key = pct_decode(p, eq ? (size_t)(eq - p) : n, 1);
            r->q[r->nq].val = eq ? pct_decode(eq + 1, n - (size_t)(eq - p) - 1, 1) : xstrdup("");
            r->nq++;
        }
        p = amp ? amp + 1 : NULL;
    }
}

const char *http_req_query(struct http_req *req, const char *key)
{
    struct req_priv *r = (struct req_priv *)req;

    if (!r->q_parsed)
        query_parse(r);
    for (int i = 0; i < r->nq; i++)
        if (strcmp(r->q[i].key, key) == 0)
            return r->q[i].val;
    return NULL;
}

int http_req_query_all(struct http_req *req, const char *key, const char **out, int max)
{
    struct req_priv *r = (struct req_priv *)req;
    int n = 0;

    if (!r->q_parsed)
        query_parse(r);
    for (int i = 0; i < r->nq; i++)
        if (strcmp(r->q[i].key, key) == 0) {
            if (n >= max)
                return -1;
            out[n++] = r->q[i].val;
        }
    return n;
}

/* ---- llhttp callbacks ---- */

static struct http_conn *conn_of(llhttp_t *p)
{
    return p->data;
}

static int on_message_begin(llhttp_t *p)
{
    struct http_conn *c = conn_of(p);

    httpd__req_free(c->req);
    c->req = xcalloc(1, sizeof *c->req);
    c->req->pub.conn = c;
    c->req->pub.peer = c->peer;
    buf_init(&c->req->pub.body, c->h->lim.max_body);
    c->url.len = 0;
    c->hname.len = c->hval.len = 0;
    c->in_value = 0;
    c->body_too_large = 0;
    c->head_bytes = 0;
    httpd__conn_deadline(c, PH_HEAD, c->h->lim.head_timeout_ms);
    return 0;
}

/* Counts head bytes as they are parsed (plus the ": " and CRLF around each field), so the
 * limit holds however the head is split into reads. */
static int head_count(struct http_conn *c, size_t n)
{
    c->head_bytes += n;
    if (c->head_bytes > c->h->lim.max_head) {
        c->head_too_large = 1;
        return -1;
    }
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t n)
{
    struct http_conn *c = conn_of(p);

    if (head_count(c, n) < 0)
        return -1;
    return buf_append(&c->url, at, n) < 0 ? -1 : 0;
}

static void header_commit(struct http_conn *c)
{
    struct http_req *r = &c->req->pub;

    if (!c->hname.len)
        return;
    r->hdrs = xrealloc(r->hdrs, (size_t)(r->nhdrs + 1) * sizeof *r->hdrs);
    r->hdrs[r->nhdrs].name = xstrdup(buf_cstr(&c->hname));
    r->hdrs[r->nhdrs].value = xstrdup(buf_cstr(&c->hval));
    r->nhdrs++;
    c->hname.len = c->hval.len = 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t n)
{
    struct http_conn *c = conn_of(p);

    if (c->in_value) {
        header_commit(c);
        c->in_value = 0;
        if (head_count(c, 4) < 0)
            return -1;
    }
    if (c->req->pub.nhdrs >= HTTPD_MAX_HEADERS) {
        c->head_too_large = 2;
        return -1;
    }
    if (head_count(c, n) < 0)
        return -1;
    return buf_append(&c->hname, at, n) < 0 ? -1 : 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t n)
{
    struct http_conn *c = conn_of(p);

    c->in_value = 1;
    if (head_count(c, n) < 0)
        return -1;
    return buf_append(&c->hval, at, n) < 0 ? -1 : 0;
}

static int on_headers_complete(llhttp_t *p)
{
    struct http_conn *c = conn_of(p);
    struct http_req *r = &c->req->pub;
    const char *u = buf_cstr(&c->url), *q;

    header_commit(c);
    snprintf(r->method, sizeof r->method, "%s", llhttp_method_name(llhttp_get_method(p)));
    r->target = xstrdup(u);
    q = strchr(u, '?');
    r->path = pct_decode(u, q ? (size_t)(q - u) : strlen(u), 0);
    r->query = xstrdup(q ? q + 1 : "");
    httpd__conn_deadline(c, PH_BODY, c->h->lim.body_timeout_ms);
    if (c->h->head_fn && httpd__head_refused(c))
        return -1;
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t n)
{
    struct http_conn *c = conn_of(p);

    if (buf_append(&c->req->pub.body, at, n) < 0) {
        c->body_too_large = 1;
        return -1;
    }
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    struct http_conn *c = conn_of(p);

    c->keep_alive = llhttp_should_keep_alive(p);
    c->dispatched = 1;
    httpd__conn_deadline(c, PH_HANDLER, 0);
    return HPE_PAUSED;
}

void httpd__parser_settings(llhttp_settings_t *s)
{
    llhttp_settings_init(s);
    s->on_message_begin = on_message_begin;
    s->on_url = on_url;
    s->on_header_field = on_header_field;
    s->on_header_value = on_header_value;
    s->on_headers_complete = on_headers_complete;
    s->on_body = on_body;
    s->on_message_complete = on_message_complete;
}

/* ---- error answers ---- */

static void respond_status(struct http_req *req, int code, const char *msg, const json_t *details,
                           const char *extra)
{
    json_t *st = err_status_json(code, msg, details);
    char *body = jx_dump(st);

    http_respond(req, err_http_status(code), "application/json", body, strlen(body), extra);
    free(body);
    json_decref(st);
}

void http_respond_err(struct http_req *req, const struct err *err, const char *extra)
{
    json_t *d = NULL;

    if (err->details || err->causes) {
        d = err->details ? json_deep_copy(err->details) : json_object();
        if (err->causes)
            json_object_set(d, "causes", err->causes);
    }
    respond_status(req, err->code, err->msg, d, extra);
    json_decref(d);
}

void http_respond_errf(struct http_req *req, int code, const char *extra, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    respond_status(req, code, msg, NULL, extra);
}
