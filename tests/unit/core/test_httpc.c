/* core/httpc against a tiny server in this test (a thread on 127.0.0.1 answering canned bytes,
 * written in pieces so that every framing boundary falls inside a read): Content-Length,
 * chunked with extensions and trailers, until close, the caps on the head and the body, a
 * stalled server (a timeout within the bound), bad chunk sizes, watch-style lines across chunk
 * boundaries, and TLS trust from in-memory PEM (the proxy's kubeconfig CA data). */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/ssl.h>

#include "core/err.h"
#include "core/file.h"
#include "core/httpc.h"
#include "core/tls.h"

#define MAX_PARTS 8

struct srv {
    int lfd, port, stop[2];
    const char *parts[MAX_PARTS]; /* written in order, a short pause between them */
    size_t lens[MAX_PARTS];       /* 0: strlen */
    int stall;                    /* after the parts, hold the connection until released */
    SSL_CTX *tls;                 /* or NULL: plain */
    char req[4096];               /* the request head received */
    pthread_t th;
};

static char pki[] = "/tmp/kroll-test-httpc.XXXXXX";

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits (bounded) until fd is readable; 1 when it is. */
static int readable(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};

    return poll(&p, 1, ms) == 1;
}

static void srv_write(struct srv *s, int fd, SSL *ssl, const char *p, size_t n)
{
    while (n) {
        ssize_t w = ssl ? SSL_write(ssl, p, (int)n) : send(fd, p, n, MSG_NOSIGNAL);

        if (w <= 0)
            return;
        p += w, n -= (size_t)w;
    }
    (void)s;
}

static void *srv_main(void *arg)
{
    struct srv *s = arg;
    size_t got = 0;
    SSL *ssl = NULL;
    int fd;

    struct pollfd p[2] = {{.fd = s->lfd, .events = POLLIN}, {.fd = s->stop[0], .events = POLLIN}};

    if (poll(p, 2, 10000) < 1 || !(p[0].revents & POLLIN) || (fd = accept(s->lfd, NULL, NULL)) < 0)
        return NULL;
    if (s->tls) {
        ssl = SSL_new(s->tls);
        SSL_set_fd(ssl, fd);
        if (SSL_accept(ssl) != 1)
            goto out;
    }
    while (got < sizeof s->req - 1 && !strstr(s->req, "\r\n\r\n") && readable(fd, 10000)) {
        ssize_t r = ssl ? SSL_read(ssl, s->req + got, (int)(sizeof s->req - 1 - got))
                        : recv(fd, s->req + got, sizeof s->req - 1 - got, 0);

        if (r <= 0)
            break;
        got += (size_t)r;
        s->req[got] = 0;
    }
    for (int i = 0; i < MAX_PARTS && s->parts[i]; i++) {
        if (i)
            usleep(20000); /* separate segments; the parser must not care either way */
        srv_write(s, fd, ssl, s->parts[i], s->lens[i] ? s->lens[i] : strlen(s->parts[i]));
    }
    if (s->stall)
        readable(s->stop[0], 30000);
out:
    if (ssl) {
        SSL_shutdown(ssl);
        SSL_free(ssl);
    }
    close(fd);
    return NULL;
}

/* Starts a server that answers one connection with parts (NULL-terminated). */
static void srv_start(struct srv *s, const char *const *parts)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;

    for (int i = 0; i < MAX_PARTS && parts && parts[i]; i++)
        s->parts[i] = parts[i];
    assert_int_equal(pipe(s->stop), 0);
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(s->lfd >= 0);
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(s->lfd, 4), 0);
    assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&sa, &sl), 0);
    s->port = ntohs(sa.sin_port);
    assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
}

static void srv_stop(struct srv *s)
{
    assert_int_equal(write(s->stop[1], "x", 1), 1);
    pthread_join(s->th, NULL);
    close(s->lfd);
    close(s->stop[0]);
    close(s->stop[1]);
}

/* httpc_do of GET / against parts; returns httpc_do's result with resp and err filled. */
static int do_get(const char *const *parts, size_t max_body, int timeout_ms, struct httpc_resp *r,
                  char *err, size_t n)
{
    struct srv s = {0};
    char url[64];
    int rc;

    srv_start(&s, parts);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/x?a=1", s.port);
    struct httpc_req req = {.url = url, .timeout_ms = timeout_ms, .max_body = max_body};
    rc = httpc_do(&req, r, err, n);
    srv_stop(&s);
    assert_non_null(strstr(s.req, "GET /x?a=1 HTTP/1.1\r\n"));
    return rc;
}

static void test_content_length(void **state)
{
    const char *parts[] = {"HTTP/1.1 200 OK\r\nContent-Le", "ngth: 5\r\nX-A: b\r\n\r\nhe",
                           "lloTRAILING GARBAGE", NULL};
    struct httpc_resp r;
    char err[256];

    (void)state;
    assert_int_equal(do_get(parts, 0, 5000, &r, err, sizeof err), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 5);
    assert_string_equal(r.body, "hello");
    free(r.body);
}

static void test_chunked(void **state)
{
    const char *parts[] = {"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5;name=v",
                           "al\r\nhel", "lo\r\n6 ; x=\"y\"\r\n world\r",
                           "\n0\r\nX-Trailer: t\r\nX-Other: u\r\n\r\n", NULL};
    struct httpc_resp r;
    char err[256];

    (void)state;
    assert_int_equal(do_get(parts, 0, 5000, &r, err, sizeof err), 0);
    assert_int_equal(r.status, 201);
    assert_string_equal(r.body, "hello world");
    assert_int_equal(r.body_len, 11);
    free(r.body);
}

static void test_until_close(void **state)
{
    const char *parts[] = {"HTTP/1.0 200 OK\nServer: old\n\nall of", " it\n", NULL};
    const char *none[] = {"HTTP/1.1 204 No Content\r\n\r\n", NULL};
    const char *interim[] = {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2",
                             "\r\n\r\nok", NULL};
    struct httpc_resp r;
    char err[256];

    (void)state;
    assert_int_equal(do_get(parts, 0, 5000, &r, err, sizeof err), 0);
    assert_string_equal(r.body, "all of it\n");
    free(r.body);
    assert_int_equal(do_get(none, 0, 5000, &r, err, sizeof err), 0);
    assert_int_equal(r.status, 204);
    assert_int_equal(r.body_len, 0);
    free(r.body);
    assert_int_equal(do_get(interim, 0, 5000, &r, err, sizeof err), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ok");
    free(r.body);
}

static void test_caps(void **state)
{
    char *big = malloc(HTTPC_MAX_HEAD + 100), err[256];
    const char *head[] = {"HTTP/1.1 200 OK\r\nX-Big: ", big, "\r\n\r\n", NULL};
    const char *body[] = {"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n0123456789abcdefghij",
                          NULL};
    const char *chunks[] = {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                            "8\r\n01234567\r\n8\r\n89abcdef\r\n0\r\n\r\n", NULL};
    const char *exact[] = {"HTTP/1.1 200 OK\r\n\r\n0123456789", NULL};
    struct httpc_resp r;

    (void)state;
    memset(big, 'a', HTTPC_MAX_HEAD + 99);
    big[HTTPC_MAX_HEAD + 99] = 0;
    assert_int_equal(do_get(head, 0, 5000, &r, err, sizeof err), -1);
    assert_string_equal(err, "response headers larger than 32768 bytes");
    assert_int_equal(do_get(body, 10, 5000, &r, err, sizeof err), -1);
    assert_string_equal(err, "response larger than 10 bytes");
    assert_int_equal(do_get(chunks, 10, 5000, &r, err, sizeof err), -1);
    assert_string_equal(err, "response larger than 10 bytes");
    assert_int_equal(do_get(exact, 10, 5000, &r, err, sizeof err), 0); /* exactly the cap */
    assert_string_equal(r.body, "0123456789");
    free(r.body);
    free(big);
}

static void test_stall(void **state)
{
    const char *head[] = {"HTTP/1.1 200 OK\r\nContent-Le", NULL};
    const char *body[] = {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", NULL};
    struct srv s = {.stall = 1};
    struct httpc_resp r;
    struct httpc_conn *c;
    char url[64], err[256], buf[16];
    long long t0;

    (void)state;
    /* httpc_do: one deadline over the exchange, wherever the server stops. */
    for (int i = 0; i < 2; i++) {
        struct srv st = {.stall = 1};

        srv_start(&st, i ? body : head);
        snprintf(url, sizeof url, "http://127.0.0.1:%d/", st.port);
        struct httpc_req req = {.url = url, .timeout_ms = 300};
        t0 = now_ms();
        assert_int_equal(httpc_do(&req, &r, err, sizeof err), -1);
        assert_true(now_ms() - t0 >= 290);
        assert_true(now_ms() - t0 < 10000); /* bounded, with room for a loaded machine */
        assert_string_equal(err, i ? "timeout reading the response body"
                                   : "timeout awaiting response headers");
        srv_stop(&st);
    }
    /* httpc_read: the bytes that came, then a timeout of its own. */
    srv_start(&s, body);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", s.port);
    struct httpc_req req = {.url = url, .timeout_ms = 300};
    assert_int_equal(httpc_open(&req, &c, err, sizeof err), 0);
    assert_int_equal(httpc_status(c), 200);
    assert_string_equal(httpc_header(c, "content-length"), "10");
    assert_null(httpc_header(c, "x-missing"));
    assert_int_equal(httpc_read(c, buf, sizeof buf), 3);
    t0 = now_ms();
    assert_int_equal(httpc_read(c, buf, sizeof buf), -1);
    assert_true(now_ms() - t0 >= 290 && now_ms() - t0 < 10000);
    assert_string_equal(httpc_error(c), "timeout reading the response body");
    assert_int_equal(httpc_read(c, buf, sizeof buf), -1); /* stays failed */
    httpc_close(c);
    srv_stop(&s);
}

static void test_bad_framing(void **state)
{
    static const char *const bad[][3] = {
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "zz\r\nabc\r\n0\r\n\r\n", NULL},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "-1\r\n\r\n", NULL},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "1000000000000000\r\n", NULL},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "3 x\r\nabc\r\n0\r\n\r\n", NULL},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "3\r\nabcd\r\n0\r\n\r\n", NULL},
    };
    const char *cut[] = {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", NULL};
    const char *junk[] = {"SSH-2.0-OpenSSH\r\n\r\n", NULL};
    const char *twolen[] = {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
                            NULL};
    struct httpc_resp r;
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(do_get(bad[i], 0, 5000, &r, err, sizeof err), -1);
        assert_string_equal(err, "malformed chunked response body");
    }
    assert_int_equal(do_get(cut, 0, 5000, &r, err, sizeof err), -1);
    assert_string_equal(err, "unexpected EOF reading the response body");
    assert_int_equal(do_get(junk, 0, 5000, &r, err, sizeof err), -1);
    assert_string_equal(err, "malformed HTTP response");
    assert_int_equal(do_get(twolen, 0, 5000, &r, err, sizeof err), -1);
    assert_string_equal(err, "malformed HTTP response: bad Content-Length");
}

/* A watch stream: JSON lines split across chunks (and chunks across reads), read in small
 * pieces and put back together as the proxy's informers do. */
static void test_stream_lines(void **state)
{
    const char *parts[] = {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                           "a\r\n{\"a\":1}\n{\"\r\n", "4\r\nb\":2\r\n",
                           "c\r\n}\n{\"c\":\"x\"}\n\r\n0\r\n\r\n", NULL};
    struct srv s = {0};
    struct httpc_conn *c;
    char url[64], err[256], buf[5], lines[64] = "";
    ssize_t r;
    int reads = 0;

    (void)state;
    srv_start(&s, parts);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/watch", s.port);
    struct httpc_req req = {
        .url = url, .timeout_ms = 5000, .headers = "Authorization: Bearer t\r\n"};
    assert_int_equal(httpc_open(&req, &c, err, sizeof err), 0);
    assert_true(httpc_fd(c) >= 0);
    while ((r = httpc_read(c, buf, sizeof buf)) > 0 && reads++ < 100) {
        assert_true(strlen(lines) + (size_t)r < sizeof lines);
        strncat(lines, buf, (size_t)r);
    }
    assert_int_equal(r, 0);
    assert_string_equal(lines, "{\"a\":1}\n{\"b\":2}\n{\"c\":\"x\"}\n");
    assert_int_equal(httpc_read(c, buf, sizeof buf), 0); /* the end stays the end */
    httpc_close(c);
    srv_stop(&s);
    assert_non_null(strstr(s.req, "\r\nAuthorization: Bearer t\r\n"));
}

static void test_dial_and_url(void **state)
{
    struct srv s = {0};
    struct httpc_resp r;
    char url[64], err[256];
    struct httpc_req req = {.url = url, .timeout_ms = 2000};

    (void)state;
    srv_start(&s, NULL);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", s.port);
    srv_stop(&s); /* the port is free again: nothing listens */
    assert_int_equal(httpc_do(&req, &r, err, sizeof err), -1);
    snprintf(url, sizeof url, "dial tcp 127.0.0.1:%d: connect: connection refused", s.port);
    assert_string_equal(err, url);
    req.url = "http://127.0.0.1:1/a b";
    assert_int_equal(httpc_do(&req, &r, err, sizeof err), -1);
    assert_string_equal(err, "invalid URL http://127.0.0.1:1/a b");
    req.url = "ftp://x/";
    assert_int_equal(httpc_do(&req, &r, err, sizeof err), -1);
}

/* https with trust from PEM text: this CA passes, another CA's certificate fails to verify. */
static void test_tls_pem(void **state)
{
    const char *parts[] = {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", NULL};
    char path[300], other[300], url[400], err[256], *pem, *wrong;
    struct srv s = {0}, s2 = {0}, s3 = {0};
    struct httpc_resp r;
    struct err e;

    (void)state;
    err_init(&e);
    snprintf(path, sizeof path, "%s/a", pki);
    snprintf(other, sizeof other, "%s/b", pki);
    assert_int_equal(tls_pki_ensure(path, NULL, &e), 0);
    assert_int_equal(tls_pki_ensure(other, NULL, &e), 0);
    s.tls = tls_server_ctx(path, &e);
    assert_non_null(s.tls);
    snprintf(url, sizeof url, "%s/ca.crt", path);
    pem = file_read_all(url, NULL);
    snprintf(url, sizeof url, "%s/ca.crt", other);
    wrong = file_read_all(url, NULL);
    assert_true(pem && wrong);

    srv_start(&s, parts);
    snprintf(url, sizeof url, "https://127.0.0.1:%d/", s.port);
    struct httpc_req req = {.url = url, .timeout_ms = 5000, .ca_pem = pem};
    assert_int_equal(httpc_do(&req, &r, err, sizeof err), 0);
    assert_string_equal(r.body, "ok");
    free(r.body);
    srv_stop(&s);

    s2.tls = s.tls;
    srv_start(&s2, parts);
    snprintf(url, sizeof url, "https://127.0.0.1:%d/", s2.port);
    req.ca_pem = wrong;
    assert_int_equal(httpc_do(&req, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "tls: failed to verify certificate: "));
    srv_stop(&s2);
    s3.tls = s.tls;
    srv_start(&s3, parts);
    snprintf(url, sizeof url, "https://127.0.0.1:%d/", s3.port);
    req.ca_pem = "not a certificate";
    assert_int_equal(httpc_do(&req, &r, err, sizeof err), -1);
    assert_string_equal(err, "tls: the CA data holds no PEM certificate");
    srv_stop(&s3);
    SSL_CTX_free(s.tls);
    free(pem);
    free(wrong);
    err_release(&e);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(pki) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[300];

    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", pki);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_length), cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_until_close),    cmocka_unit_test(test_caps),
        cmocka_unit_test(test_stall),          cmocka_unit_test(test_bad_framing),
        cmocka_unit_test(test_stream_lines),   cmocka_unit_test(test_dial_and_url),
        cmocka_unit_test(test_tls_pem),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
