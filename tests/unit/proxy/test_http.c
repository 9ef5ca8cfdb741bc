/* Unit tests for the proxy's HTTP/1.1 heads: collection through llhttp, smuggling shapes,
 * Connection tokens, hop-by-hop removal, X-Forwarded-For, response framing and limits. */
#include <llhttp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "proxy/proxy-int.h"

static int on_url(llhttp_t *p, const char *at, size_t n) { return px_head_url(p->data, at, n); }
static int on_field(llhttp_t *p, const char *at, size_t n) { return px_head_field(p->data, at, n); }
static int on_value(llhttp_t *p, const char *at, size_t n) { return px_head_value(p->data, at, n); }
static int on_headers(llhttp_t *p) { return HPE_PAUSED; }

/* Parses a request head into hd, feeding it in pieces of `step` bytes as a socket would. */
static llhttp_errno_t parse(struct px_head *hd, const char *req, size_t step, llhttp_t *p)
{
    static llhttp_settings_t s;
    size_t len = strlen(req), off = 0;
    llhttp_errno_t e = HPE_OK;

    llhttp_settings_init(&s);
    s.on_url = on_url;
    s.on_header_field = on_field;
    s.on_header_value = on_value;
    s.on_headers_complete = on_headers;
    llhttp_init(p, HTTP_REQUEST, &s);
    p->data = hd;
    while (off < len && e == HPE_OK) {
        size_t n = len - off < step ? len - off : step;

        e = llhttp_execute(p, req + off, n);
        off += n;
    }
    if (e == HPE_PAUSED)
        px_head_finish(hd, 1);
    return e;
}

static void build(struct px_head *hd, const char *client_ip, struct buf *out)
{
    struct px_req_info ri = {.method = "GET", .major = 1, .minor = 1, .client_ip = client_ip,
                             .host_fallback = "10.0.0.1:80"};

    buf_init(out, 1 << 16);
    assert_int_equal(px_head_build_request(hd, &ri, out), 0);
}

static void test_request_rewrite_in_small_pieces(void **state)
{
    struct px_head hd;
    struct buf out;
    llhttp_t p;

    px_head_init(&hd, 8192, 50);
    assert_int_equal(parse(&hd,
                           "GET /a/b?c=d HTTP/1.1\r\nHost: svc\r\nConnection: keep-alive, X-Drop\r\n"
                           "X-Drop: secret\r\nKeep-Alive: 5\r\nTE: trailers\r\nUpgrade: h2c\r\n"
                           "X-Forwarded-For: 1.1.1.1\r\nAccept: */*\r\nx-forwarded-for: 2.2.2.2\r\n\r\n",
                           3, &p),
                     HPE_PAUSED);
    build(&hd, "127.0.0.9", &out);
    assert_string_equal(out.data, "GET /a/b?c=d HTTP/1.1\r\nHost: svc\r\nAccept: */*\r\n"
                                  "X-Forwarded-For: 1.1.1.1, 2.2.2.2, 127.0.0.9\r\n\r\n");
    assert_false(hd.flags & PX_H_BAD);
    buf_release(&out);
    px_head_release(&hd);
}

static void test_missing_host_and_chunked(void **state)
{
    struct px_head hd;
    struct buf out;
    llhttp_t p;

    px_head_init(&hd, 8192, 50);
    assert_int_equal(parse(&hd, "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 100, &p),
                     HPE_PAUSED);
    assert_true(hd.flags & PX_H_CHUNKED);
    build(&hd, "127.0.0.1", &out);
    assert_non_null(strstr(out.data, "Host: 10.0.0.1:80\r\n"));
    assert_non_null(strstr(out.data, "Transfer-Encoding: chunked\r\n"));
    buf_release(&out);
    px_head_release(&hd);
}

/* Shapes llhttp lets through in its default mode that the proxy must still refuse. */
static void test_smuggling_shapes_flagged(void **state)
{
    const char *bad[] = {
        "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct px_head hd;
        llhttp_t p;
        llhttp_errno_t e;

        px_head_init(&hd, 8192, 50);
        e = parse(&hd, bad[i], 7, &p);
        /* Either llhttp refuses it or the head is marked bad: never forwarded as is. */
        assert_true(e != HPE_PAUSED || (hd.flags & PX_H_BAD));
        px_head_release(&hd);
    }
}

static void test_cl_and_te_refused(void **state)
{
    struct px_head hd;
    llhttp_t p;

    px_head_init(&hd, 8192, 50);
    /* llhttp refuses this itself; the head check is a second line of defence. */
    assert_int_not_equal(parse(&hd, "POST / HTTP/1.1\r\nContent-Length: 3\r\n"
                                    "Transfer-Encoding: chunked\r\n\r\n", 100, &p),
                         HPE_PAUSED);
    px_head_reset(&hd);
    px_head_field(&hd, "Content-Length", 14);
    px_head_value(&hd, "3", 1);
    px_head_field(&hd, "Transfer-Encoding", 17);
    px_head_value(&hd, "chunked", 7);
    px_head_finish(&hd, 1);
    assert_true(hd.flags & PX_H_BAD);
    px_head_release(&hd);
}

static void test_limits(void **state)
{
    struct px_head hd;
    char big[600];
    llhttp_t p;

    px_head_init(&hd, 256, 3);
    assert_int_not_equal(parse(&hd, "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", 5, &p),
                         HPE_PAUSED);
    px_head_release(&hd);
    px_head_init(&hd, 256, 30);
    memset(big, 'x', sizeof big);
    big[sizeof big - 1] = 0;
    assert_int_equal(px_head_value(&hd, "x", 1), -1); /* a value before any name */
    px_head_field(&hd, "X-Big", 5);
    assert_int_equal(px_head_value(&hd, big, strlen(big)), -1);
    px_head_release(&hd);
}

static void test_response_head(void **state)
{
    struct px_head hd;
    struct buf out;

    px_head_init(&hd, 8192, 50);
    px_head_url(&hd, "OK", 2);
    px_head_field(&hd, "Content-Length", 14);
    px_head_value(&hd, "10", 2);
    px_head_field(&hd, "Connection", 10);
    px_head_value(&hd, "keep-alive", 10);
    px_head_field(&hd, "X-App", 5);
    px_head_value(&hd, "1", 1);
    px_head_finish(&hd, 0);
    buf_init(&out, 4096);
    assert_int_equal(px_head_build_response(&hd, 200, PX_FRAME_LENGTH, 1, 1, 0, &out), 0);
    assert_string_equal(out.data, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nX-App: 1\r\n\r\n");
    out.len = 0;
    /* Re-chunked for the client: the upstream's length goes, our framing comes. */
    assert_int_equal(px_head_build_response(&hd, 200, PX_FRAME_CHUNKED, 0, 1, 0, &out), 0);
    assert_string_equal(out.data, "HTTP/1.1 200 OK\r\nX-App: 1\r\nTransfer-Encoding: chunked\r\n"
                                  "Connection: close\r\n\r\n");
    out.len = 0;
    /* HTTP/1.0 keep-alive client is told so explicitly. */
    assert_int_equal(px_head_build_response(&hd, 200, PX_FRAME_LENGTH, 1, 0, 0, &out), 0);
    assert_non_null(strstr(out.data, "Connection: keep-alive\r\n"));
    out.len = 0;
    /* The status line is written without printf: every digit of any 3-digit status. */
    assert_int_equal(px_head_build_response(&hd, 599, PX_FRAME_LENGTH, 1, 1, 0, &out), 0);
    assert_memory_equal(out.data, "HTTP/1.1 599 OK\r\n", 17);
    out.len = 0;
    assert_int_equal(px_head_build_response(&hd, 104, PX_FRAME_NONE, 1, 1, 0, &out), 0);
    assert_memory_equal(out.data, "HTTP/1.1 104 OK\r\n", 17);
    buf_release(&out);
    px_head_release(&hd);
}

static void test_error_response(void **state)
{
    struct buf out;

    buf_init(&out, 4096);
    px_http_error(&out, 502, 1);
    assert_non_null(strstr(out.data, "HTTP/1.1 502 Bad Gateway\r\n"));
    assert_non_null(strstr(out.data, "Connection: close\r\n"));
    assert_non_null(strstr(out.data, "Content-Length: 16\r\n"));
    assert_non_null(strstr(out.data, "\r\n\r\n502 Bad Gateway\n"));
    buf_release(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_rewrite_in_small_pieces),
        cmocka_unit_test(test_missing_host_and_chunked),
        cmocka_unit_test(test_smuggling_shapes_flagged),
        cmocka_unit_test(test_cl_and_te_refused),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_response_head),
        cmocka_unit_test(test_error_response),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
