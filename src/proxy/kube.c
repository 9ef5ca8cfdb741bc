/* A small blocking HTTPS client for the API-client mode: reads the kubeconfig the server writes
 * (server URL, CA data, bearer token), opens one TLS connection per request and decodes the
 * response body (Content-Length, chunked or read-until-close) so that callers can read a LIST
 * whole or a watch stream line by line. Runs on the provider's threads only. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strcasestr */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/file.h"
#include "core/log.h"
#include "core/tls.h"
#include "proxy/kube.h"
#include "proxy/proxy-int.h"

#define KUBE_CONNECT_MS 2000
#define KUBE_HEAD_MAX (64 * 1024)

/* The value after "key:" on the first line that has it (the kubeconfig kroll writes is flat
 * enough for this); NULL when absent. */
static char *conf_value(const char *text, const char *key)
{
    size_t kl = strlen(key);

    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        const char *s = p, *e;

        while (*s == ' ' || *s == '-')
            s++;
        if (strncmp(s, key, kl) || s[kl] != ':')
            continue;
        s += kl + 1;
        while (*s == ' ')
            s++;
        e = s + strcspn(s, "\r\n");
        while (e > s && e[-1] == ' ')
            e--;
        if (e > s && (*s == '"' || *s == '\'') && e[-1] == *s) {
            s++;
            e--;
        }
        return xasprintf("%.*s", (int)(e - s), s);
    }
    return NULL;
}

static SSL_CTX *ctx_from_ca(const char *ca64)
{
    size_t n = strlen(ca64);
    unsigned char *der = xmalloc(n + 4);
    int len = EVP_DecodeBlock(der, (const unsigned char *)ca64, (int)n);
    SSL_CTX *ctx = NULL;
    BIO *bio = NULL;
    X509 *x;
    int added = 0;

    if (len <= 0)
        goto out;
    ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    bio = BIO_new_mem_buf(der, len);
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
        X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), x);
        X509_free(x);
        added++;
    }
    ERR_clear_error();
    if (!added) {
        SSL_CTX_free(ctx);
        ctx = NULL;
    }
out:
    BIO_free(bio);
    free(der);
    return ctx;
}

int px_kube_config_load(const char *path, struct px_kube *kc, char *msg, size_t msgn)
{
    char *text = file_read_all(path, NULL), *server = NULL, *ca = NULL, *p;
    int rc = -1;

    memset(kc, 0, sizeof *kc);
    if (!text) {
        snprintf(msg, msgn, "cannot read %s", path);
        return -1;
    }
    server = conf_value(text, "server");
    ca = conf_value(text, "certificate-authority-data");
    kc->token = conf_value(text, "token");
    if (!server || strncmp(server, "https://", 8) || !ca || !kc->token) {
        snprintf(msg, msgn, "%s: needs server (https://HOST:PORT), certificate-authority-data "
                            "and token", path);
        goto out;
    }
    p = strrchr(server + 8, ':');
    if (!p || atoi(p + 1) <= 0 || atoi(p + 1) > 65535) {
        snprintf(msg, msgn, "%s: server %s has no port", path, server);
        goto out;
    }
    kc->host = xasprintf("%.*s", (int)(p - server - 8), server + 8);
    kc->port = atoi(p + 1);
    kc->ctx = ctx_from_ca(ca);
    if (!kc->ctx) {
        snprintf(msg, msgn, "%s: certificate-authority-data holds no PEM certificate", path);
        goto out;
    }
    rc = 0;
out:
    if (rc < 0)
        px_kube_config_free(kc);
    free(text);
    free(server);
    free(ca);
    return rc;
}

void px_kube_config_free(struct px_kube *kc)
{
    free(kc->host);
    free(kc->token);
    if (kc->ctx)
        SSL_CTX_free(kc->ctx);
    memset(kc, 0, sizeof *kc);
}

static int tcp_connect(const char *host, int port, int timeout_ms)
{
    struct sockaddr_storage sa;
    socklen_t len;
    char addr[300];
    int fd, err = 0;
    socklen_t el = sizeof err;
    struct pollfd pfd;

    snprintf(addr, sizeof addr, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
    if (px_addr_parse(addr, &sa, &len) < 0)
        return -EINVAL;
    fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, len) < 0 && errno != EINPROGRESS)
        goto fail;
    pfd = (struct pollfd){.fd = fd, .events = POLLOUT};
    if (poll(&pfd, 1, timeout_ms) != 1) {
        errno = ETIMEDOUT;
        goto fail;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
        errno = err ? err : errno;
        goto fail;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
fail:
    err = errno;
    close(fd);
    return -err;
}

/* Fills the read buffer; >0 bytes, 0 at end of stream, -1 on error or timeout. */
static ssize_t conn_fill(struct px_kube_conn *c)
{
    int n;

    if (c->off == c->len)
        c->off = c->len = 0;
    if (c->len == sizeof c->in) {
        memmove(c->in, c->in + c->off, c->len - c->off);
        c->len -= c->off;
        c->off = 0;
    }
    n = SSL_read(c->ssl, c->in + c->len, (int)(sizeof c->in - c->len));
    if (n <= 0) {
        int e = SSL_get_error(c->ssl, n);

        return e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
    }
    c->len += (size_t)n;
    return n;
}

/* Reads one CRLF-terminated line of the head or of chunk framing into line. */
static int conn_line(struct px_kube_conn *c, char *line, size_t cap)
{
    for (;;) {
        char *nl = memchr(c->in + c->off, '\n', c->len - c->off);

        if (nl) {
            size_t n = (size_t)(nl - (c->in + c->off));

            if (n >= cap)
                return -1;
            memcpy(line, c->in + c->off, n);
            line[n] = 0;
            if (n && line[n - 1] == '\r')
                line[n - 1] = 0;
            c->off += n + 1;
            return 0;
        }
        if (c->len - c->off >= cap || conn_fill(c) <= 0)
            return -1;
    }
}

static int conn_head(struct px_kube_conn *c, char *msg, size_t msgn)
{
    char line[4096];
    size_t total = 0;

    if (conn_line(c, line, sizeof line) < 0 || strncmp(line, "HTTP/1.", 7)) {
        snprintf(msg, msgn, "no HTTP response");
        return -1;
    }
    c->status = atoi(line + 9);
    c->clen = -1;
    for (;;) {
        if (conn_line(c, line, sizeof line) < 0 || (total += strlen(line)) > KUBE_HEAD_MAX) {
            snprintf(msg, msgn, "bad response head");
            return -1;
        }
        if (!line[0])
            break;
        if (!strncasecmp(line, "Content-Length:", 15))
            c->clen = strtoll(line + 15, NULL, 10);
        else if (!strncasecmp(line, "Transfer-Encoding:", 18) && strcasestr(line, "chunked"))
            c->chunked = 1;
    }
    return 0;
}

int px_kube_get(struct px_kube *kc, const char *path, int timeout_s, struct px_kube_conn **out,
                char *msg, size_t msgn)
{
    struct px_kube_conn *c = xcalloc(1, sizeof *c);
    struct timeval tv = {.tv_sec = timeout_s};
    char *req = NULL;
    int fd;

    *out = NULL;
    fd = tcp_connect(kc->host, kc->port, KUBE_CONNECT_MS);
    if (fd < 0) {
        snprintf(msg, msgn, "connect %s:%d: %s", kc->host, kc->port, strerror(-fd));
        free(c);
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    c->fd = fd;
    c->ssl = SSL_new(kc->ctx);
    SSL_set_fd(c->ssl, fd);
    SSL_set_tlsext_host_name(c->ssl, kc->host);
    if (SSL_connect(c->ssl) != 1) {
        snprintf(msg, msgn, "TLS handshake with %s:%d failed (certificate not from the CA?)",
                 kc->host, kc->port);
        goto fail;
    }
    req = xasprintf("GET %s HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\n"
                    "Accept: application/json\r\nUser-Agent: kroll-proxy\r\n\r\n",
                    path, kc->host, kc->port, kc->token);
    if (SSL_write(c->ssl, req, (int)strlen(req)) <= 0) {
        snprintf(msg, msgn, "cannot send the request");
        goto fail;
    }
    if (conn_head(c, msg, msgn) < 0)
        goto fail;
    free(req);
    *out = c;
    return 0;
fail:
    free(req);
    px_kube_close(c);
    return -1;
}

/* Copies up to n body bytes already buffered (or read now) into out. */
static ssize_t conn_raw(struct px_kube_conn *c, char *out, size_t n)
{
    if (c->off == c->len) {
        ssize_t r = conn_fill(c);

        if (r <= 0)
            return r;
    }
    if (n > c->len - c->off)
        n = c->len - c->off;
    memcpy(out, c->in + c->off, n);
    c->off += n;
    return (ssize_t)n;
}

ssize_t px_kube_read(struct px_kube_conn *c, char *out, size_t n)
{
    char line[128];
    ssize_t r;

    if (c->done)
        return 0;
    if (!c->chunked) {
        if (c->clen >= 0 && n > (size_t)c->clen)
            n = (size_t)c->clen;
        if (c->clen == 0) {
            c->done = 1;
            return 0;
        }
        r = conn_raw(c, out, n);
        if (r > 0 && c->clen > 0)
            c->clen -= r;
        if (r == 0 && c->clen > 0)
            return -1; /* cut short */
        return r;
    }
    if (c->chunk_left == 0) {
        if (c->chunk_seen && conn_line(c, line, sizeof line) < 0) /* CRLF after the data */
            return -1;
        if (conn_line(c, line, sizeof line) < 0)
            return -1;
        c->chunk_left = (int64_t)strtoll(line, NULL, 16);
        c->chunk_seen = 1;
        if (c->chunk_left <= 0) {
            c->done = 1;
            return 0;
        }
    }
    if (n > (size_t)c->chunk_left)
        n = (size_t)c->chunk_left;
    r = conn_raw(c, out, n);
    if (r <= 0)
        return -1;
    c->chunk_left -= r;
    return r;
}

int px_kube_read_all(struct px_kube_conn *c, struct buf *out)
{
    char tmp[16384];
    ssize_t r;

    while ((r = px_kube_read(c, tmp, sizeof tmp)) > 0)
        if (buf_append(out, tmp, (size_t)r) < 0)
            return -1;
    return r < 0 && !(c->clen < 0 && !c->chunked) ? -1 : 0;
}

void px_kube_close(struct px_kube_conn *c)
{
    if (!c)
        return;
    if (c->ssl)
        SSL_free(c->ssl);
    if (c->fd > 0)
        close(c->fd);
    free(c);
}
