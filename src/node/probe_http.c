/* One asynchronous handler run for probes and hooks (probe-int.h): an HTTP GET or a TCP connect
 * on a socket opened inside the pod's network namespace, or a command through the pod's shim.
 * Everything is driven by the loop; a timer bounds each run. Error texts are the ones the Go
 * kubelet produces, so Unhealthy events read as they would on a real cluster. */
#include "node/probe-int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/err.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/netns.h"
#include "shim/shim.h"

#define HTTP_HEAD_MAX (16 * 1024) /* status line and headers */
#define HTTP_BODY_MAX (10 * 1024) /* Kubernetes reads at most 10 KiB of a probe's body */
#define HTTP_REDIRECTS_MAX 10
#define EXEC_OUTPUT_MAX (10 * 1024)
#define EXEC_REPLY_SLACK_MS 1000 /* the shim replies right after killing a command at its timeout */

struct probe_run {
    struct loop *loop;
    enum probe_kind kind;
    probe_run_fn *fn;
    void *ctx;
    int done;      /* finished or cancelled: no more callbacks */
    int in_fn;     /* fn is running (cancel is then a no-op) */
    struct loop_timer timeout;
    struct loop_timer kick; /* reports a result decided at start, from the loop */
    struct loop_io io;
    int fd;
    char *netns;
    /* tcp and http */
    char ip[INET6_ADDRSTRLEN];
    int port;
    char hostport[INET6_ADDRSTRLEN + 8];
    /* http */
    char *scheme_host; /* "http://127.0.0.1:8080" */
    char *path;        /* request target as written in the URL ("" for none) */
    char *url;
    json_t *headers;
    char *req;
    size_t req_len, req_off;
    char *resp;
    size_t resp_len, resp_cap, body_off;
    long content_length;
    int status, redirects, chunked;
    /* exec */
    struct shim_call call;
    char *cmdline;
    /* result prepared for the kick timer */
    struct probe_outcome pending;
    char *pending_text;
};

static void run_free(void *arg)
{
    struct probe_run *r = arg;

    free(r->netns);
    free(r->scheme_host);
    free(r->path);
    free(r->url);
    json_decref(r->headers);
    free(r->req);
    free(r->resp);
    free(r->cmdline);
    free(r->pending_text);
    free(r);
}

/* Unhooks every loop handle; the memory stays valid until the defer phase. */
static void run_unhook(struct probe_run *r)
{
    loop_timer_stop(r->loop, &r->timeout);
    loop_timer_stop(r->loop, &r->kick);
    if (r->io.fn)
        loop_io_stop(r->loop, &r->io);
    if (r->kind == PROBE_EXEC) {
        shim_call_release(&r->call);
    } else if (r->fd >= 0) {
        close(r->fd);
    }
    r->fd = -1;
    r->io.fd = -1;
}

static void run_finish(struct probe_run *r, const struct probe_outcome *o)
{
    if (r->done)
        return;
    r->done = 1;
    run_unhook(r);
    r->in_fn = 1;
    r->fn(r, o, r->ctx);
    r->in_fn = 0;
    loop_defer(r->loop, run_free, r);
}

void probe__run_cancel(struct probe_run *r)
{
    if (!r || r->done)
        return;
    r->done = 1;
    run_unhook(r);
    loop_defer(r->loop, run_free, r);
}

static void run_fail(struct probe_run *r, int timed_out, const char *output, const char *error)
{
    struct probe_outcome o = {.timed_out = timed_out, .status = r->status, .exit_code = -1,
                              .output = output, .error = error};

    run_finish(r, &o);
}

/* Go prints errno texts in lower case ("connection refused"). */
static void errno_text(int e, char *out, size_t n)
{
    snprintf(out, n, "%s", strerror(e));
    if (out[0])
        out[0] = (char)tolower((unsigned char)out[0]);
}

/* Go's %q for the strings we quote (commands, URLs). */
static char *go_quote(const char *s)
{
    size_t n = strlen(s), o = 0;
    char *q = xmalloc(n * 4 + 3);

    q[o++] = '"';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            q[o++] = '\\';
            q[o++] = (char)c;
        } else if (c == '\n' || c == '\t' || c == '\r') {
            q[o++] = '\\';
            q[o++] = c == '\n' ? 'n' : (c == '\t' ? 't' : 'r');
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)sprintf(q + o, "\\x%02x", c);
        } else {
            q[o++] = (char)c;
        }
    }
    q[o++] = '"';
    q[o] = '\0';
    return q;
}

/* Reports a failure decided while starting: from the loop, so the caller has its handle. */
static void on_kick(struct loop_timer *t, void *arg)
{
    struct probe_run *r = arg;

    run_finish(r, &r->pending);
}

static void run_report_later(struct probe_run *r, int errored, const char *fmt, va_list ap)
{
    free(r->pending_text);
    if (vasprintf(&r->pending_text, fmt, ap) < 0)
        die("out of memory");
    r->pending = (struct probe_outcome){.exit_code = -1, .output = r->pending_text,
                                        .error = r->pending_text, .errored = errored};
    loop_timer_stop(r->loop, &r->timeout);
    loop_timer_start(r->loop, &r->kick, 0);
}

static void run_fail_later(struct probe_run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void run_fail_later(struct probe_run *r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    run_report_later(r, 0, fmt, ap);
    va_end(ap);
}

/* The probe could not be run at all (the kubelet's prober returns an error, and the worker
 * throws the attempt away instead of counting it). */
static void run_error_later(struct probe_run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void run_error_later(struct probe_run *r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    run_report_later(r, 1, fmt, ap);
    va_end(ap);
}

int probe__port_resolve(const json_t *port, const json_t *ports, char *msg, size_t n)
{
    const char *name = json_string_value(port);
    json_int_t v = -1;
    const json_t *p;
    size_t i;

    if (json_is_integer(port)) {
        v = json_integer_value(port);
    } else if (name) {
        json_array_foreach(ports, i, p) {
            const char *pn = jx_str(p, "name");
            if (pn && strcmp(pn, name) == 0) {
                v = jx_int(p, "containerPort", -1);
                break;
            }
        }
        /* As the kubelet: a name that is not found may still be a number written as a string. */
        if (v < 0) {
            char *end;
            long l = strtol(name, &end, 10);
            if (!*name || *end) {
                snprintf(msg, n, "port %s not found", name);
                return -1;
            }
            v = l;
        }
    } else {
        snprintf(msg, n, "port is missing");
        return -1;
    }
    if (v <= 0 || v >= 65536) {
        snprintf(msg, n, "invalid port number: %lld", (long long)v);
        return -1;
    }
    return (int)v;
}

/* ---- sockets (tcp and http) ------------------------------------------------------------------ */

static void on_socket(struct loop_io *io, unsigned events, void *arg);

/* host is an IP literal (or "localhost"); resolving names would block the loop. */
static int target_set(struct probe_run *r, const char *host, int port, char *msg, size_t n)
{
    struct in6_addr a6;
    struct in_addr a4;

    if (!host || !*host || strcmp(host, "localhost") == 0)
        host = "127.0.0.1";
    if (inet_pton(AF_INET, host, &a4) == 1) {
        snprintf(r->hostport, sizeof r->hostport, "%s:%d", host, port);
    } else if (inet_pton(AF_INET6, host, &a6) == 1) {
        snprintf(r->hostport, sizeof r->hostport, "[%s]:%d", host, port);
    } else {
        snprintf(msg, n, "dial tcp: lookup %s: host names are not resolved by kroll probes (use "
                 "an IP address)", host);
        return -1;
    }
    snprintf(r->ip, sizeof r->ip, "%s", host);
    r->port = port;
    return 0;
}

static int socket_open(struct probe_run *r, char *msg, size_t n)
{
    char e[128];
    int fd = netns_connect_tcp(r->netns, r->ip, r->port);

    if (fd < 0) {
        errno_text(-fd, e, sizeof e);
        snprintf(msg, n, "dial tcp %s: connect: %s", r->hostport, e);
        return -1;
    }
    r->fd = fd;
    if (loop_io_start(r->loop, &r->io, fd, EPOLLOUT, on_socket, r) < 0) {
        snprintf(msg, n, "dial tcp %s: cannot watch socket", r->hostport);
        return -1;
    }
    return 0;
}

static void socket_close(struct probe_run *r)
{
    if (r->io.fn)
        loop_io_stop(r->loop, &r->io);
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
}

static void http_fail(struct probe_run *r, const char *what)
{
    char *q = go_quote(r->url), *out = xasprintf("Get %s: %s", q, what);

    run_fail(r, 0, out, what);
    free(out);
    free(q);
}

static void http_send_more(struct probe_run *r);
static void http_on_readable(struct probe_run *r);

static void on_socket(struct loop_io *io, unsigned events, void *arg)
{
    struct probe_run *r = arg;
    char e[128], msg[256];
    int soerr = 0;
    socklen_t len = sizeof soerr;

    if (io->events & EPOLLOUT && r->req_off == 0) {
        /* The connect finished, one way or the other. */
        getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
        if (soerr) {
            errno_text(soerr, e, sizeof e);
            snprintf(msg, sizeof msg, "dial tcp %s: connect: %s", r->hostport, e);
            if (r->kind == PROBE_HTTP)
                http_fail(r, msg);
            else
                run_fail(r, 0, msg, msg);
            return;
        }
        if (r->kind == PROBE_TCP) {
            struct probe_outcome o = {.ok = 1, .exit_code = -1, .output = ""};
            run_finish(r, &o);
            return;
        }
    }
    if (io->events & EPOLLOUT)
        http_send_more(r);
    else
        http_on_readable(r);
}

static void run_on_timeout(struct loop_timer *t, void *arg)
{
    struct probe_run *r = arg;
    char *msg, *q;

    if (r->kind == PROBE_TCP) {
        msg = xasprintf("dial tcp %s: i/o timeout", r->hostport);
        run_fail(r, 1, msg, msg);
    } else if (r->kind == PROBE_HTTP) {
        q = go_quote(r->url);
        msg = xasprintf("Get %s: context deadline exceeded (Client.Timeout exceeded while "
                        "awaiting headers)", q);
        free(q);
        run_fail(r, 1, msg, "context deadline exceeded");
    } else {
        /* The shim kills the command at the timeout and answers; silence means the shim
         * itself is stuck, which is not the container's fault. */
        struct probe_outcome o = {.timed_out = 1, .exit_code = -1, .errored = 1};

        q = go_quote(r->cmdline);
        msg = xasprintf("command %s timed out", q);
        free(q);
        o.output = o.error = msg;
        run_finish(r, &o);
    }
    free(msg);
}

/* ---- http ------------------------------------------------------------------------------------ */

static int header_is(const json_t *headers, const char *name)
{
    const json_t *h;
    size_t i;

    json_array_foreach(headers, i, h) {
        const char *n = jx_str(h, "name");
        if (n && strcasecmp(n, name) == 0)
            return 1;
    }
    return 0;
}

static int header_ok(const char *s)
{
    return s && !strpbrk(s, "\r\n");
}

/* Builds the request for r->path; returns -1 with msg on a header that cannot be sent. */
static int http_request_build(struct probe_run *r, char *msg, size_t n)
{
    const char *target = r->path[0] ? r->path : "/";
    size_t cap = 512, len;
    const json_t *h;
    char *buf;
    size_t i;

    json_array_foreach(r->headers, i, h)
        cap += strlen(jx_str(h, "name") ? jx_str(h, "name") : "") +
               strlen(jx_str(h, "value") ? jx_str(h, "value") : "") + 4;
    cap += strlen(target) + strlen(r->hostport);
    buf = xmalloc(cap);
    len = (size_t)snprintf(buf, cap, "GET %s%s HTTP/1.1\r\n", target[0] == '/' ? "" : "/", target);
    if (!header_is(r->headers, "Host"))
        len += (size_t)snprintf(buf + len, cap - len, "Host: %s\r\n", r->hostport);
    if (!header_is(r->headers, "User-Agent"))
        len += (size_t)snprintf(buf + len, cap - len, "User-Agent: kube-probe/1.32\r\n");
    if (!header_is(r->headers, "Accept"))
        len += (size_t)snprintf(buf + len, cap - len, "Accept: */*\r\n");
    json_array_foreach(r->headers, i, h) {
        const char *hn = jx_str(h, "name"), *hv = jx_str(h, "value");
        if (!hn || !*hn || !header_ok(hn) || strchr(hn, ':') || !header_ok(hv ? hv : "")) {
            snprintf(msg, n, "net/http: invalid header field for %s", hn ? hn : "\"\"");
            free(buf);
            return -1;
        }
        len += (size_t)snprintf(buf + len, cap - len, "%s: %s\r\n", hn, hv ? hv : "");
    }
    len += (size_t)snprintf(buf + len, cap - len, "Connection: close\r\n\r\n");
    free(r->req);
    r->req = buf;
    r->req_len = len;
    r->req_off = 0;
    return 0;
}

static void http_send_more(struct probe_run *r)
{
    char e[128], msg[256];

    while (r->req_off < r->req_len) {
        ssize_t w = send(r->fd, r->req + r->req_off, r->req_len - r->req_off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN)
            return;
        if (w < 0) {
            errno_text(errno, e, sizeof e);
            snprintf(msg, sizeof msg, "write tcp %s: write: %s", r->hostport, e);
            http_fail(r, msg);
            return;
        }
        r->req_off += (size_t)w;
    }
    loop_io_modify(r->loop, &r->io, EPOLLIN);
}

/* Value of header name in the head block (NUL-terminated copy in out), or NULL. */
static const char *head_value(const char *head, const char *name, char *out, size_t n)
{
    size_t nl = strlen(name);

    for (const char *l = strstr(head, "\r\n"); l; l = strstr(l, "\r\n")) {
        l += 2;
        if (strncasecmp(l, name, nl) == 0 && l[nl] == ':') {
            const char *v = l + nl + 1, *end = strstr(v, "\r\n");
            while (*v == ' ' || *v == '\t')
                v++;
            if (!end)
                end = v + strlen(v);
            snprintf(out, n, "%.*s", (int)(end - v), v);
            return out;
        }
    }
    return NULL;
}

static int http_start_conn(struct probe_run *r, char *msg, size_t n);

/* Splits "host[:port]" or "[v6][:port]" in place; *port keeps its value when none is given. */
static int host_split(char *host, int *port)
{
    char *colon;

    if (host[0] == '[') {
        char *close = strchr(host, ']');
        if (!close)
            return -1;
        colon = close[1] == ':' ? close + 1 : NULL;
        memmove(host, host + 1, (size_t)(close - host) - 1);
        host[close - host - 1] = '\0';
    } else {
        colon = strrchr(host, ':');
        if (colon)
            *colon = '\0';
    }
    if (colon) {
        *port = atoi(colon + 1);
        if (*port <= 0 || *port > 65535)
            return -1;
    }
    return 0;
}

/* A same-host redirect is followed (as Go's client does for probes); another host ends the
 * redirects and the 3xx response counts, with a warning. Returns 1 when a new request started. */
static int http_redirect(struct probe_run *r, const char *loc)
{
    char host[INET6_ADDRSTRLEN + 8], msg[512];
    const char *p = loc, *slash;
    int port = 80;

    if (r->redirects >= HTTP_REDIRECTS_MAX) {
        http_fail(r, "stopped after 10 redirects");
        return 1;
    }
    if (strncmp(loc, "http://", 7) == 0) {
        p = loc + 7;
        slash = strchr(p, '/');
        snprintf(host, sizeof host, "%.*s", (int)(slash ? slash - p : (long)strlen(p)), p);
        if (host_split(host, &port) < 0 || strcmp(host, r->ip) != 0)
            return 0;
        p = slash ? slash : "/";
    } else if (loc[0] != '/') {
        return 0; /* another scheme, or a relative path we do not resolve: not followed */
    } else {
        port = r->port;
    }
    r->redirects++;
    socket_close(r);
    snprintf(host, sizeof host, "%s", r->ip);
    free(r->path);
    r->path = xstrdup(p);
    r->port = port;
    if (target_set(r, host, port, msg, sizeof msg) < 0 || http_start_conn(r, msg, sizeof msg) < 0)
        http_fail(r, msg);
    return 1;
}

static void http_done(struct probe_run *r)
{
    char loc[2048], *out = NULL;
    const char *body = r->resp + r->body_off;
    size_t blen = r->resp_len - r->body_off;
    struct probe_outcome o = {.status = r->status, .exit_code = -1};

    if (blen > HTTP_BODY_MAX)
        blen = HTTP_BODY_MAX;
    if (r->status >= 300 && r->status < 400 && head_value(r->resp, "Location", loc, sizeof loc)) {
        if (http_redirect(r, loc))
            return;
        o.warning = "Probe terminated redirects";
    }
    o.ok = r->status >= 200 && r->status < 400;
    if (o.ok && o.warning)
        out = xasprintf("Probe terminated redirects, Response body: %.*s", (int)blen, body);
    else if (o.ok)
        out = xasprintf("%.*s", (int)blen, body);
    else
        out = xasprintf("HTTP probe failed with statuscode: %d", r->status);
    o.output = out;
    run_finish(r, &o);
    free(out);
}

/* Parses the status line and headers once they are complete; 1 when parsed, -1 on garbage. */
static int http_head_parse(struct probe_run *r)
{
    char *end = strstr(r->resp, "\r\n\r\n"), v[64];
    int minor, status;

    if (!end)
        return 0;
    *end = '\0';
    r->body_off = (size_t)(end - r->resp) + 4;
    if (sscanf(r->resp, "HTTP/1.%d %3d", &minor, &status) != 2 || status < 100 || status > 999)
        return -1;
    r->status = status;
    r->content_length = head_value(r->resp, "Content-Length", v, sizeof v) ? atol(v) : -1;
    r->chunked = head_value(r->resp, "Transfer-Encoding", v, sizeof v) && strcasestr(v, "chunked");
    return 1;
}

/* The body is read until its end, the connection's end or 10 KiB, whichever comes first. */
static int http_body_complete(const struct probe_run *r)
{
    size_t blen = r->resp_len - r->body_off;

    if (blen >= HTTP_BODY_MAX || r->status == 204 || r->status == 304 ||
        (r->status >= 100 && r->status < 200))
        return 1;
    if (r->content_length >= 0)
        return (long)blen >= r->content_length;
    return r->chunked && blen >= 5 && memcmp(r->resp + r->resp_len - 5, "0\r\n\r\n", 5) == 0;
}

static void http_on_readable(struct probe_run *r)
{
    char e[128], msg[256];

    for (;;) {
        ssize_t n;
        if (r->resp_len + 1 >= r->resp_cap) {
            if (r->resp_cap >= HTTP_HEAD_MAX + HTTP_BODY_MAX + 1) {
                if (!r->status)
                    http_fail(r, "net/http: response headers too long");
                else
                    http_done(r);
                return;
            }
            r->resp_cap = r->resp_cap ? r->resp_cap * 2 : 4096;
            if (r->resp_cap > HTTP_HEAD_MAX + HTTP_BODY_MAX + 1)
                r->resp_cap = HTTP_HEAD_MAX + HTTP_BODY_MAX + 1;
            r->resp = xrealloc(r->resp, r->resp_cap);
        }
        n = recv(r->fd, r->resp + r->resp_len, r->resp_cap - r->resp_len - 1, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n < 0) {
            errno_text(errno, e, sizeof e);
            snprintf(msg, sizeof msg, "read tcp %s: read: %s", r->hostport, e);
            if (r->status)
                http_done(r);
            else
                http_fail(r, msg);
            return;
        }
        r->resp_len += (size_t)n;
        r->resp[r->resp_len] = '\0';
        if (!r->status) {
            int h = http_head_parse(r);
            if (h < 0) {
                http_fail(r, "net/http: HTTP/1.x transport connection broken: malformed HTTP "
                             "response");
                return;
            }
            if (h == 0 && n == 0) {
                http_fail(r, "EOF");
                return;
            }
        }
        if (r->status && (n == 0 || http_body_complete(r))) {
            http_done(r);
            return;
        }
        if (n == 0)
            return;
    }
}

static int http_start_conn(struct probe_run *r, char *msg, size_t n)
{
    free(r->url);
    free(r->scheme_host);
    r->scheme_host = xasprintf("http://%s", r->hostport);
    r->url = xasprintf("%s%s%s", r->scheme_host, r->path[0] && r->path[0] != '/' ? "/" : "",
                       r->path);
    r->resp_len = r->body_off = 0;
    r->status = 0;
    if (http_request_build(r, msg, n) < 0)
        return -1;
    return socket_open(r, msg, n);
}

static void http_start(struct probe_run *r, const json_t *h, const struct container_target *t)
{
    const char *scheme = jx_str(h, "scheme"), *host = jx_str(h, "host");
    char msg[512];
    int port;

    port = probe__port_resolve(json_object_get(h, "port"), t->ports, msg, sizeof msg);
    r->path = xstrdup(jx_str(h, "path") ? jx_str(h, "path") : "");
    r->headers = json_deep_copy(json_object_get(h, "httpHeaders"));
    if (!json_is_array(r->headers)) {
        json_decref(r->headers);
        r->headers = json_array();
    }
    if (port < 0) {
        r->url = xstrdup(r->path);
        run_error_later(r, "%s", msg);
        return;
    }
    if (target_set(r, host && *host ? host : t->pod_ip, port, msg, sizeof msg) < 0) {
        r->url = xstrdup(r->path);
        run_fail_later(r, "%s", msg);
        return;
    }
    if (scheme && strcasecmp(scheme, "HTTP") != 0) {
        r->url = xasprintf("%s://%s%s", scheme, r->hostport, r->path);
        run_fail_later(r, "Get \"%s\": %s probes are not supported by kroll (only HTTP)", r->url,
                       scheme);
        return;
    }
    if (http_start_conn(r, msg, sizeof msg) < 0) {
        char *q = go_quote(r->url);
        run_fail_later(r, "Get %s: %s", q, msg);
        free(q);
    }
}

static void tcp_start(struct probe_run *r, const json_t *h, const struct container_target *t)
{
    const char *host = jx_str(h, "host");
    char msg[512];
    int port = probe__port_resolve(json_object_get(h, "port"), t->ports, msg, sizeof msg);

    if (port < 0)
        run_error_later(r, "%s", msg);
    else if (target_set(r, host && *host ? host : t->pod_ip, port, msg, sizeof msg) < 0 ||
             socket_open(r, msg, sizeof msg) < 0)
        run_fail_later(r, "%s", msg);
}

/* ---- exec through the shim ------------------------------------------------------------------ */

static void exec_on_reply(struct loop_io *io, unsigned events, void *arg)
{
    struct probe_run *r = arg;
    struct probe_outcome o = {.exit_code = -1};
    json_t *reply = NULL;
    struct err err;
    char *out = NULL;
    const char *text;
    int rc;

    err_init(&err);
    rc = shim_call_read(&r->call, &reply, &err);
    if (rc == -EAGAIN)
        goto out;
    if (rc < 0) {
        /* The shim answered with an error (the command could not be started): a failure, as
         * a runtime's exec error is. No answer at all: the probe could not run. */
        struct probe_outcome f = {.exit_code = -1, .errored = reply == NULL};

        out = xasprintf("%s", err.msg);
        f.output = f.error = out;
        run_finish(r, &f);
        goto out;
    }
    text = jx_str(reply, "output") ? jx_str(reply, "output") : "";
    o.exit_code = (int)jx_int(reply, "exitCode", -1);
    o.timed_out = jx_bool(reply, "timedOut");
    if (o.timed_out) {
        char *q = go_quote(r->cmdline);
        out = xasprintf("command %s timed out", q);
        free(q);
        o.error = out;
    } else {
        out = xasprintf("%.*s", (int)(strlen(text) > EXEC_OUTPUT_MAX ? EXEC_OUTPUT_MAX
                                                                     : strlen(text)), text);
        o.ok = o.exit_code == 0;
    }
    o.output = out;
    run_finish(r, &o);
out:
    free(out);
    json_decref(reply);
    err_release(&err);
}

static void exec_start(struct probe_run *r, const json_t *h, const struct container_target *t,
                       int64_t timeout_ms)
{
    const json_t *cmd = json_object_get(h, "command"), *a;
    json_t *req;
    struct err err;
    size_t i, len = 1;

    json_array_foreach(cmd, i, a)
        len += strlen(json_string_value(a) ? json_string_value(a) : "") + 1;
    r->cmdline = xcalloc(1, len);
    json_array_foreach(cmd, i, a) {
        if (i)
            strcat(r->cmdline, " ");
        strcat(r->cmdline, json_string_value(a) ? json_string_value(a) : "");
    }
    if (!json_is_array(cmd) || json_array_size(cmd) == 0) {
        run_fail_later(r, "exec handler has no command");
        return;
    }
    err_init(&err);
    req = json_pack("{s:s, s:O, s:I}", "op", "exec", "argv", cmd, "timeoutMs",
                    (json_int_t)timeout_ms);
    if (t->env)
        json_object_set_new(req, "env", json_deep_copy(t->env));
    if (t->cwd)
        json_object_set_new(req, "cwd", json_string(t->cwd));
    if (t->container) /* an OCI runtime container: the shim runs it inside (runc exec) */
        json_object_set_new(req, "container", json_string(t->container));
    if (!t->pod_dir || shim_call_start(&r->call, t->pod_dir, req, &err) < 0)
        run_error_later(r, "%s", t->pod_dir ? err.msg : "no pod directory for exec");
    else if (loop_io_start(r->loop, &r->io, r->call.fd, EPOLLIN, exec_on_reply, r) < 0)
        run_error_later(r, "cannot watch the shim connection");
    json_decref(req);
    err_release(&err);
}

struct probe_run *probe__run_start(struct loop *loop, enum probe_kind kind, const json_t *handler,
                                   const struct container_target *t, int64_t timeout_ms,
                                   probe_run_fn *fn, void *ctx)
{
    struct probe_run *r = xcalloc(1, sizeof *r);

    r->loop = loop;
    r->kind = kind;
    r->fn = fn;
    r->ctx = ctx;
    r->fd = -1;
    r->io.fd = -1;
    r->call.fd = -1;
    r->netns = t->netns_path ? xstrdup(t->netns_path) : NULL;
    loop_timer_init(&r->timeout, run_on_timeout, r);
    loop_timer_init(&r->kick, on_kick, r);
    if (timeout_ms <= 0)
        timeout_ms = 1000;
    /* The shim kills an exec at timeout_ms and replies; our timer only covers a silent shim. */
    loop_timer_start(loop, &r->timeout, kind == PROBE_EXEC ? timeout_ms + EXEC_REPLY_SLACK_MS
                                                           : timeout_ms);
    if (kind == PROBE_HTTP)
        http_start(r, handler, t);
    else if (kind == PROBE_TCP)
        tcp_start(r, handler, t);
    else
        exec_start(r, handler, t, timeout_ms);
    return r;
}
