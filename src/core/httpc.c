/* Blocking HTTP/1.1 client (httpc.h): the URL, the connection (TCP, TLS with the trust the
 * request names), sending the request, and the API around the one response parser
 * (httpc_parse.c). Each wait is a poll() bounded by what is left of the current deadline, so a
 * silent server costs at most timeout_ms per exchange (httpc_do) or per read (httpc_read). */
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
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/buf.h"
#include "core/httpc-int.h"
#include "core/log.h"

#define DEFAULT_TIMEOUT_MS 10000

long long httpc__now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct url {
    char host[256], port[8], path[HTTPC_MAX_URL];
    int tls;
};

/* Splits u; refuses control characters and blanks, which would end up in the request line. */
static int url_parse(const char *u, struct url *p)
{
    const char *h, *slash, *colon;
    size_t hl;

    p->tls = strncmp(u, "https://", 8) == 0;
    if ((!p->tls && strncmp(u, "http://", 7) != 0) || strlen(u) >= HTTPC_MAX_URL)
        return -1;
    for (const char *q = u; *q; q++)
        if ((unsigned char)*q <= ' ' || *q == 0x7f)
            return -1;
    h = u + (p->tls ? 8 : 7);
    slash = strpbrk(h, "/?");
    hl = slash ? (size_t)(slash - h) : strlen(h);
    snprintf(p->path, sizeof p->path, "%s%s", slash && *slash == '?' ? "/" : "",
             slash ? slash : "/");
    if (*h == '[') { /* [v6]:port */
        const char *end = memchr(h, ']', hl);
        if (!end || end == h + 1 || (size_t)(end - h - 1) >= sizeof p->host)
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
    long long left = deadline - httpc__now_ms();
    int rc;

    if (left <= 0)
        return 0;
    do
        rc = poll(&pfd, 1, (int)left);
    while (rc < 0 && errno == EINTR);
    return rc;
}

static int dial(struct httpc_conn *c, const struct url *u, long long deadline)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL, *ai;
    int fd = -1, rc, soerr = 0;
    socklen_t sl = sizeof soerr;

    if ((rc = getaddrinfo(u->host, u->port, &hints, &res)) != 0)
        return httpc__fail(c, "dial tcp: lookup %s: %s", u->host, gai_strerror(rc));
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
        return httpc__fail(c, "dial tcp %s:%s: connect: %s", u->host, u->port, e);
    }
    c->fd = fd;
    return 0;
}

/* Waits for what TLS asked for after rc: 0 to retry, -1 timeout, -2 a TLS error. */
static int tls_wait(struct httpc_conn *c, int rc)
{
    int e = SSL_get_error(c->ssl, rc);

    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, c->deadline) > 0 ? 0
                                                                                            : -1;
    return -2;
}

static int tls_reason(struct httpc_conn *c, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256];

    ERR_error_string_n(e, buf, sizeof buf);
    httpc__fail(c, "%s: %s", what, e ? buf : "connection closed");
    ERR_clear_error();
    return -1;
}

/* Adds the PEM certificates in pem to ctx's trust store; -1 when there is none. */
static int trust_pem(SSL_CTX *ctx, const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *x;
    int added = 0;

    while (bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
        X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), x);
        X509_free(x);
        added++;
    }
    ERR_clear_error();
    BIO_free(bio);
    return added ? 0 : -1;
}

/* Verification: the request's CA (a file or PEM data) or the system's, and the host name. */
static int tls_trust(struct httpc_conn *c, const struct url *u, const struct httpc_req *req)
{
    unsigned char ip[16];

    if (req->ca_file && SSL_CTX_load_verify_locations(c->ctx, req->ca_file, NULL) != 1) {
        ERR_clear_error();
        return httpc__fail(c, "tls: cannot load the CA %.200s", req->ca_file);
    }
    if (req->ca_pem && trust_pem(c->ctx, req->ca_pem) < 0)
        return httpc__fail(c, "tls: the CA data holds no PEM certificate");
    if (!req->ca_file && !req->ca_pem)
        SSL_CTX_set_default_verify_paths(c->ctx);
    SSL_set_verify(c->ssl, SSL_VERIFY_PEER, NULL);
    if (inet_pton(AF_INET, u->host, ip) == 1 || inet_pton(AF_INET6, u->host, ip) == 1)
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), u->host);
    else
        SSL_set1_host(c->ssl, u->host);
    return 0;
}

static int tls_start(struct httpc_conn *c, const struct url *u, const struct httpc_req *req)
{
    unsigned char ip[16];
    int rc, w;

    c->ctx = SSL_CTX_new(TLS_client_method());
    if (!c->ctx || !(c->ssl = SSL_new(c->ctx)))
        return httpc__fail(c, "tls: cannot create a session");
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
    SSL_set_options(c->ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
    SSL_set_fd(c->ssl, c->fd);
    if (!req->insecure && tls_trust(c, u, req) < 0)
        return -1;
    if (inet_pton(AF_INET, u->host, ip) != 1 && inet_pton(AF_INET6, u->host, ip) != 1)
        SSL_set_tlsext_host_name(c->ssl, u->host);
    while ((rc = SSL_connect(c->ssl)) != 1) {
        if ((w = tls_wait(c, rc)) == -1)
            return httpc__fail(c, "net/http: TLS handshake timeout");
        if (w == -2) {
            long v = SSL_get_verify_result(c->ssl);

            if (v != X509_V_OK) {
                ERR_clear_error();
                return httpc__fail(c, "tls: failed to verify certificate: %s",
                                   X509_verify_cert_error_string(v));
            }
            return tls_reason(c, "tls: handshake failed");
        }
    }
    return 0;
}

static int send_all(struct httpc_conn *c, const char *p, size_t len)
{
    while (len) {
        ssize_t w;

        if (c->ssl) {
            int rc = SSL_write(c->ssl, p, (int)(len > 65536 ? 65536 : len)), t;

            if (rc > 0) {
                p += rc, len -= (size_t)rc;
                continue;
            }
            if ((t = tls_wait(c, rc)) == -1)
                return httpc__fail(c, "timeout sending the request");
            if (t == -2)
                return tls_reason(c, "tls: write");
            continue;
        }
        w = send(c->fd, p, len, MSG_NOSIGNAL);
        if (w > 0) {
            p += w, len -= (size_t)w;
        } else if (w < 0 && errno == EAGAIN) {
            if (wait_fd(c->fd, POLLOUT, c->deadline) <= 0)
                return httpc__fail(c, "timeout sending the request");
        } else if (w < 0 && errno != EINTR) {
            return httpc__fail(c, "write: %s", strerror(errno));
        }
    }
    return 0;
}

static int timed_out(struct httpc_conn *c)
{
    return httpc__fail(c, c->in_body ? "timeout reading the response body"
                                     : "timeout awaiting response headers");
}

ssize_t httpc__recv(struct httpc_conn *c, char *buf, size_t len)
{
    for (;;) {
        ssize_t r;

        if (c->ssl) {
            int rc = SSL_read(c->ssl, buf, (int)(len > 65536 ? 65536 : len)), t, e;

            if (rc > 0)
                return rc;
            e = SSL_get_error(c->ssl, rc);
            if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && rc == 0))
                return 0;
            if ((t = tls_wait(c, rc)) == -1)
                return timed_out(c);
            if (t == -2)
                return tls_reason(c, "tls: read");
            continue;
        }
        r = recv(c->fd, buf, len, 0);
        if (r >= 0)
            return r;
        if (errno == EAGAIN) {
            if (wait_fd(c->fd, POLLIN, c->deadline) <= 0)
                return timed_out(c);
        } else if (errno != EINTR) {
            return httpc__fail(c, "read: %s", strerror(errno));
        }
    }
}

static int send_request(struct httpc_conn *c, const struct url *u, const struct httpc_req *req)
{
    struct buf head;
    int rc;

    buf_init(&head, HTTPC_MAX_HEAD + HTTPC_MAX_URL);
    buf_appendf(&head,
                "%s %s HTTP/1.1\r\nHost: %s%s%s:%s\r\nUser-Agent: %s\r\n"
                "Accept: application/json, */*\r\nConnection: close\r\n",
                req->method ? req->method : "GET", u->path, strchr(u->host, ':') ? "[" : "",
                u->host, strchr(u->host, ':') ? "]" : "", u->port,
                req->user_agent ? req->user_agent : "kroll");
    if (req->headers && buf_append(&head, req->headers, strlen(req->headers)) < 0) {
        buf_release(&head);
        return httpc__fail(c, "request headers larger than %u bytes", HTTPC_MAX_HEAD);
    }
    if (req->body)
        buf_appendf(&head, "Content-Length: %zu\r\n", req->body_len);
    buf_append(&head, "\r\n", 2);
    rc = send_all(c, head.data, head.len);
    if (rc == 0 && req->body)
        rc = send_all(c, req->body, req->body_len);
    buf_release(&head);
    return rc;
}

/* Connects, sends req and reads the head; c holds the error either way. */
static int conn_start(struct httpc_conn *c, const struct httpc_req *req)
{
    long long now = httpc__now_ms(), dial_deadline = c->deadline;
    struct url u;

    if (url_parse(req->url, &u) < 0)
        return httpc__fail(c, "invalid URL %.200s", req->url);
    if (req->connect_timeout_ms > 0 && now + req->connect_timeout_ms < dial_deadline)
        dial_deadline = now + req->connect_timeout_ms;
    if (dial(c, &u, dial_deadline) < 0 || (u.tls && tls_start(c, &u, req) < 0) ||
        send_request(c, &u, req) < 0)
        return -1;
    return httpc__head(c, req->method ? req->method : "GET");
}

static struct httpc_conn *conn_new(const struct httpc_req *req, int stream)
{
    struct httpc_conn *c = xcalloc(1, sizeof *c);

    c->fd = -1;
    c->stream = stream;
    c->timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : DEFAULT_TIMEOUT_MS;
    c->deadline = httpc__now_ms() + c->timeout_ms;
    return c;
}

int httpc_open(const struct httpc_req *req, struct httpc_conn **out, char *err, size_t n)
{
    struct httpc_conn *c = conn_new(req, 1);

    *out = NULL;
    if (conn_start(c, req) < 0) {
        snprintf(err, n, "%s", c->err);
        httpc_close(c);
        return -1;
    }
    *out = c;
    return 0;
}

int httpc_do(const struct httpc_req *req, struct httpc_resp *resp, char *err, size_t n)
{
    struct httpc_conn *c = conn_new(req, 0);
    struct buf body;
    int rc = -1;

    memset(resp, 0, sizeof *resp);
    buf_init(&body, req->max_body ? req->max_body : HTTPC_MAX_BODY);
    if (conn_start(c, req) < 0 || httpc_read_all(c, &body) < 0) {
        snprintf(err, n, "%s", c->err);
        buf_release(&body);
        goto out;
    }
    resp->status = c->status;
    buf_cstr(&body);
    resp->body = body.data ? body.data : xstrdup("");
    resp->body_len = body.len;
    rc = 0;
out:
    httpc_close(c);
    return rc;
}

int httpc_fd(const struct httpc_conn *c)
{
    return c->fd;
}

void httpc_close(struct httpc_conn *c)
{
    if (!c)
        return;
    SSL_free(c->ssl);
    SSL_CTX_free(c->ctx);
    if (c->fd >= 0)
        close(c->fd);
    free(c->head);
    free(c);
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
