/* Blocking HTTP/1.1 client (httpc.h). Each wait is a poll() bounded by what is left of the
 * request's deadline, so a silent server costs at most timeout_ms. */
#include "core/httpc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/buf.h"

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int fail(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}

struct url {
    char host[256], port[8], path[HTTPC_MAX_URL];
    int tls;
};

/* One connection: a socket, and a TLS session over it for https. */
struct conn {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
};

static int url_parse(const char *u, struct url *p)
{
    const char *h, *slash, *colon;
    size_t hl;

    p->tls = strncmp(u, "https://", 8) == 0;
    if ((!p->tls && strncmp(u, "http://", 7) != 0) || strlen(u) >= HTTPC_MAX_URL)
        return -1;
    h = u + (p->tls ? 8 : 7);
    slash = strpbrk(h, "/?");
    hl = slash ? (size_t)(slash - h) : strlen(h);
    snprintf(p->path, sizeof p->path, "%s%s", slash && *slash == '?' ? "/" : "",
             slash ? slash : "/");
    if (*h == '[') { /* [v6]:port */
        const char *end = memchr(h, ']', hl);
        if (!end || (size_t)(end - h - 1) >= sizeof p->host)
            return -1;
        memcpy(p->host, h + 1, (size_t)(end - h - 1));
        p->host[end - h - 1] = 0;
        colon = end + 1 < h + hl && end[1] == ':' ? end + 1 : NULL;
    } else {
        colon = memchr(h, ':', hl);
        size_t l = colon ? (size_t)(colon - h) : hl;
        if (!l || l >= sizeof p->host)
            return -1;
        memcpy(p->host, h, l);
        p->host[l] = 0;
    }
    if (colon) {
        size_t pl = (size_t)(h + hl - colon - 1);
        if (!pl || pl >= sizeof p->port)
            return -1;
        memcpy(p->port, colon + 1, pl);
        p->port[pl] = 0;
    } else {
        strcpy(p->port, p->tls ? "443" : "80");
    }
    return 0;
}

static int wait_fd(int fd, short ev, long long deadline)
{
    struct pollfd pfd = {.fd = fd, .events = ev};
    long long left = deadline - now_ms();
    int rc;

    if (left <= 0)
        return 0;
    do
        rc = poll(&pfd, 1, (int)left);
    while (rc < 0 && errno == EINTR);
    return rc;
}

static int dial(const struct url *u, long long deadline, char *err, size_t n)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL, *ai;
    int fd = -1, rc, soerr = 0;
    socklen_t sl = sizeof soerr;

    if ((rc = getaddrinfo(u->host, u->port, &hints, &res)) != 0)
        return fail(err, n, "dial tcp: lookup %s: %s", u->host, gai_strerror(rc));
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        if (errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline) > 0 &&
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
            break;
        if (errno == EINPROGRESS && !soerr)
            soerr = ETIMEDOUT;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) { /* worded as Go's net package words it: "connect: connection refused" */
        char e[128];

        snprintf(e, sizeof e, "%s", strerror(soerr ? soerr : errno));
        e[0] = (char)tolower((unsigned char)e[0]);
        return fail(err, n, "dial tcp %s:%s: connect: %s", u->host, u->port, e);
    }
    return fd;
}

/* Waits for what TLS asked for after rc: 0 to retry, -1 timeout, -2 a TLS error. */
static int tls_wait(struct conn *c, int rc, long long deadline)
{
    int e = SSL_get_error(c->ssl, rc);

    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline) > 0 ? 0 : -1;
    return -2;
}

static void tls_reason(char *err, size_t n, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256];

    ERR_error_string_n(e, buf, sizeof buf);
    fail(err, n, "%s: %s", what, e ? buf : "connection closed");
    ERR_clear_error();
}

static int tls_start(struct conn *c, const struct url *u, int insecure, const char *ca_file,
                     long long deadline, char *err, size_t n)
{
    unsigned char ip[16];
    int rc, w;

    c->ctx = SSL_CTX_new(TLS_client_method());
    if (!c->ctx || !(c->ssl = SSL_new(c->ctx)))
        return fail(err, n, "tls: cannot create a session");
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
    SSL_set_options(c->ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
    SSL_set_fd(c->ssl, c->fd);
    if (!insecure) {
        if (ca_file && SSL_CTX_load_verify_locations(c->ctx, ca_file, NULL) != 1) {
            ERR_clear_error();
            return fail(err, n, "tls: cannot load the CA %.200s", ca_file);
        }
        if (!ca_file)
            SSL_CTX_set_default_verify_paths(c->ctx);
        SSL_set_verify(c->ssl, SSL_VERIFY_PEER, NULL);
        if (inet_pton(AF_INET, u->host, ip) == 1 || inet_pton(AF_INET6, u->host, ip) == 1)
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), u->host);
        else
            SSL_set1_host(c->ssl, u->host);
    }
    if (inet_pton(AF_INET, u->host, ip) != 1 && inet_pton(AF_INET6, u->host, ip) != 1)
        SSL_set_tlsext_host_name(c->ssl, u->host);
    while ((rc = SSL_connect(c->ssl)) != 1) {
        if ((w = tls_wait(c, rc, deadline)) == -1)
            return fail(err, n, "net/http: TLS handshake timeout");
        if (w == -2) {
            long v = SSL_get_verify_result(c->ssl);

            if (v != X509_V_OK) {
                ERR_clear_error();
                return fail(err, n, "tls: failed to verify certificate: %s",
                            X509_verify_cert_error_string(v));
            }
            tls_reason(err, n, "tls: handshake failed");
            return -1;
        }
    }
    return 0;
}

static int send_all(struct conn *c, const char *p, size_t len, long long deadline, char *err,
                    size_t n)
{
    while (len) {
        ssize_t w;

        if (c->ssl) {
            int rc = SSL_write(c->ssl, p, (int)(len > 65536 ? 65536 : len)), t;

            if (rc > 0) {
                p += rc, len -= (size_t)rc;
                continue;
            }
            if ((t = tls_wait(c, rc, deadline)) == -1)
                return fail(err, n, "timeout sending the request");
            if (t == -2) {
                tls_reason(err, n, "tls: write");
                return -1;
            }
            continue;
        }
        w = send(c->fd, p, len, MSG_NOSIGNAL);
        if (w > 0) {
            p += w, len -= (size_t)w;
        } else if (w < 0 && errno == EAGAIN) {
            if (wait_fd(c->fd, POLLOUT, deadline) <= 0)
                return fail(err, n, "timeout sending the request");
        } else if (w < 0 && errno != EINTR) {
            return fail(err, n, "write: %s", strerror(errno));
        }
    }
    return 0;
}

/* One read: bytes, 0 at the end, -1 error (err set), -3 to wait. */
static ssize_t conn_read(struct conn *c, char *buf, size_t len, long long deadline, char *err,
                         size_t n)
{
    ssize_t r;

    if (c->ssl) {
        int rc = SSL_read(c->ssl, buf, (int)len), t, e;

        if (rc > 0)
            return rc;
        e = SSL_get_error(c->ssl, rc);
        if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && rc == 0))
            return 0;
        if ((t = tls_wait(c, rc, deadline)) == 0)
            return -3;
        if (t == -1)
            return fail(err, n, "timeout awaiting response headers");
        tls_reason(err, n, "tls: read");
        return -1;
    }
    r = recv(c->fd, buf, len, 0);
    if (r >= 0)
        return r;
    if (errno == EINTR)
        return -3;
    if (errno == EAGAIN)
        return wait_fd(c->fd, POLLIN, deadline) > 0
                   ? -3
                   : fail(err, n, "timeout awaiting response headers");
    return fail(err, n, "read: %s", strerror(errno));
}

/* Reads until EOF (the request said Connection: close) within the caps. */
static int recv_all(struct conn *c, struct buf *b, long long deadline, char *err, size_t n)
{
    char tmp[16384];

    for (;;) {
        ssize_t r = conn_read(c, tmp, sizeof tmp, deadline, err, n);

        if (r == 0)
            return 0;
        if (r == -1)
            return -1;
        if (r > 0 && buf_append(b, tmp, (size_t)r) < 0)
            return fail(err, n, "response larger than %zu bytes", b->max - HTTPC_MAX_HEAD);
    }
}

/* Decodes a chunked body in place; returns its length or -1. */
static long dechunk(char *p, size_t len)
{
    size_t in = 0, out = 0;

    for (;;) {
        char *end;
        unsigned long sz = strtoul(p + in, &end, 16);
        char *crlf = memmem(p + in, len - in, "\r\n", 2);

        if (!crlf || end == p + in)
            return -1;
        in = (size_t)(crlf - p) + 2;
        if (sz == 0)
            return (long)out;
        if (sz > len - in)
            return -1;
        memmove(p + out, p + in, sz);
        out += sz, in += sz + 2;
        if (in > len)
            return -1;
    }
}

static int parse_response(struct buf *b, struct httpc_resp *resp, char *err, size_t n)
{
    char *data = buf_cstr(b), *hend, *line;
    size_t hlen, blen;
    int chunked = 0;
    long long clen = -1;

    hend = b->len ? memmem(data, b->len, "\r\n\r\n", 4) : NULL;
    if (!hend || sscanf(data, "HTTP/1.%*d %d", &resp->status) != 1)
        return fail(err, n, "malformed HTTP response");
    hlen = (size_t)(hend - data) + 4;
    if (hlen > HTTPC_MAX_HEAD)
        return fail(err, n, "response headers larger than %u bytes", HTTPC_MAX_HEAD);
    *hend = 0;
    for (line = strstr(data, "\r\n"); line && line < hend; line = strstr(line + 2, "\r\n")) {
        if (!strncasecmp(line + 2, "transfer-encoding:", 18) && strcasestr(line + 20, "chunked"))
            chunked = 1;
        if (!strncasecmp(line + 2, "content-length:", 15))
            clen = atoll(line + 17);
    }
    blen = b->len - hlen;
    if (chunked) {
        long l = dechunk(data + hlen, blen);
        if (l < 0)
            return fail(err, n, "malformed chunked response body");
        blen = (size_t)l;
    } else if (clen >= 0 && (size_t)clen < blen) {
        blen = (size_t)clen;
    }
    resp->body = malloc(blen + 1);
    memcpy(resp->body, data + hlen, blen);
    resp->body[blen] = 0;
    resp->body_len = blen;
    return 0;
}

int httpc_do(const struct httpc_req *req, struct httpc_resp *resp, char *err, size_t n)
{
    long long deadline = now_ms() + (req->timeout_ms > 0 ? req->timeout_ms : 10000);
    struct url u;
    struct buf head, in;
    struct conn c = {.fd = -1};
    int rc = -1;

    memset(resp, 0, sizeof *resp);
    if (url_parse(req->url, &u) < 0)
        return fail(err, n, "invalid URL %.200s", req->url);
    if ((c.fd = dial(&u, deadline, err, n)) < 0)
        return -1;
    buf_init(&head, HTTPC_MAX_HEAD + HTTPC_MAX_URL);
    buf_init(&in, (req->max_body ? req->max_body : HTTPC_MAX_BODY) + HTTPC_MAX_HEAD);
    buf_appendf(&head,
                "%s %s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: %s\r\n"
                "Accept: application/json, */*\r\nConnection: close\r\n%s",
                req->method ? req->method : "GET", u.path, u.host, u.port,
                req->user_agent ? req->user_agent : "kroll", req->headers ? req->headers : "");
    if (req->body)
        buf_appendf(&head, "Content-Length: %zu\r\n", req->body_len);
    buf_append(&head, "\r\n", 2);
    if ((!u.tls || tls_start(&c, &u, req->insecure, req->ca_file, deadline, err, n) == 0) &&
        send_all(&c, head.data, head.len, deadline, err, n) == 0 &&
        (!req->body || send_all(&c, req->body, req->body_len, deadline, err, n) == 0) &&
        recv_all(&c, &in, deadline, err, n) == 0 && parse_response(&in, resp, err, n) == 0)
        rc = 0;
    SSL_free(c.ssl);
    SSL_CTX_free(c.ctx);
    close(c.fd);
    buf_release(&head);
    buf_release(&in);
    return rc;
}

char *httpc_query_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(strlen(s) * 3 + 1), *o = out;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = 0;
    return out;
}
