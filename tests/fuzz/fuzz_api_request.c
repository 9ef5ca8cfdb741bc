/* libFuzzer target for the API front end: the input is a client byte stream (after TLS),
 * split at a position taken from its first byte into two socket reads, fed through the real
 * connection code of src/core/httpd.c (llhttp, head and body limits, the head check, pipelined
 * requests, complete and streamed answers, deadlines) over a socketpair, with a handler that
 * routes the path as the API does (api__target_parse, discovery, public paths, query and
 * header lookups). Crashes, sanitizer reports and leaks are findings.
 * Build: see tests/fuzz/run.sh (target api_request). */
#include "core/httpd.c"

#include <stdint.h>

#include "api/api-int.h"

static int on_head_check(struct http_req *req, void *ctx)
{
    (void)ctx;
    if (strncmp(req->path, "/deny", 5) != 0)
        return 0;
    http_respond(req, 401, "application/json", "{}", 2, NULL);
    return 1;
}

static void on_req(struct http_req *req, void *ctx)
{
    struct api_target t;
    char out[64];
    int n;

    (void)ctx;
    http_req_query(req, "watch");
    http_req_query(req, "labelSelector");
    http_req_header(req, "Authorization");
    n = snprintf(out, sizeof out, "%d %d %d", api__is_public(req->path),
                 api__is_discovery(req->path), api__target_parse(req->path, &t));
    if (api__target_parse(req->path, &t) == 0) {
        /* A parsed target names a row of the table, and its names point into its buffer. */
        if (!t.r || t.r < scheme_resources || t.r >= scheme_resources + RES_COUNT)
            abort();
        if ((t.name && (t.name < t.buf || t.name >= t.buf + sizeof t.buf)) ||
            (t.ns && (t.ns < t.buf || t.ns >= t.buf + sizeof t.buf)))
            abort();
    }
    if (http_req_query(req, "watch")) {
        http_stream_start(req, 200, "application/json");
        http_stream_write(req, out, (size_t)n);
        if (http_stream_backlog(req) > (1u << 20))
            abort(); /* the socketpair is drained: nothing should pile up */
        http_stream_end(req);
        return;
    }
    http_respond(req, 200, "application/json", out, (size_t)n, "X-Test: 1\r\n");
}

static void drain(int fd)
{
    char tmp[65536];

    while (read(fd, tmp, sizeof tmp) > 0)
        ;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct loop *l;
    struct httpd *h;
    struct httpd_limits lim;
    struct sockaddr_storage ss = {.ss_family = AF_INET};
    int sv[2];
    size_t cut;

    if (size < 1 || size > 100000)
        return 0;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    l = loop_new();
    h = httpd_new(l, NULL, on_req, NULL);
    httpd_limits_default(&lim);
    lim.max_head = 2048; /* small limits, so inputs reach them */
    lim.max_body = 4096;
    httpd_set_limits(h, &lim);
    httpd_set_head_check(h, on_head_check, NULL);
    conn_new(h, sv[0], &ss);
    cut = 1 + (size - 1) * data[0] / 255;
    for (int part = 0; part < 2 && h->conns; part++) {
        const uint8_t *p = part ? data + cut : data + 1;
        size_t n = part ? size - cut : cut - 1;

        if (n && write(sv[1], p, n) < 0)
            break;
        conn_read(h->conns);
        drain(sv[1]);
    }
    if (h->conns) /* what the deadline does in whatever phase the input left it */
        on_deadline(&h->conns->idle, h->conns);
    drain(sv[1]);
    if (h->out_total > (64u << 20))
        abort();
    httpd_free(h);
    loop_free(l);
    close(sv[1]);
    return 0;
}
