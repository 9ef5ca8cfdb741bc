/* The CLI's blocking API client (apiclient.h). One TLS connection per request; the answer
 * is capped at 64 MB and every socket operation times out after 10 s. */
#include "cli/apiclient.h"

#include <arpa/inet.h>
#include <llhttp.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/file.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/tls.h"

int cli_api_load(struct cli_api *a, const char *data_dir, struct err *err)
{
    char *kc_path = xasprintf("%s/kubeconfig", data_dir), *pki = xasprintf("%s/pki", data_dir);
    char *kc = file_read_all(kc_path, NULL), *p;
    int rc = -1;

    memset(a, 0, sizeof *a);
    a->timeout_s = 10;
    if (!kc) {
        err_set(err, -E_NOT_FOUND, "%s not found; is `kroll server --data-dir %s` running?",
                kc_path, data_dir);
        goto out;
    }
    p = strstr(kc, "server: https://");
    if (!p || sscanf(p + 16, "%63[^:]:%d", a->host, &a->port) != 2)
        goto bad;
    p = strstr(kc, "token: ");
    if (!p || sscanf(p + 7, "%255s", a->token) != 1)
        goto bad;
    a->ssl_ctx = tls_client_ctx(pki, err);
    rc = a->ssl_ctx ? 0 : -1;
    goto out;
bad:
    err_set(err, -E_BAD_REQUEST, "%s has no server address or token", kc_path);
out:
    free(kc);
    free(kc_path);
    free(pki);
    return rc;
}

int cli_api_open(struct cli_api *a, const char *data_dir)
{
    struct err err;
    int rc;

    err_init(&err);
    rc = cli_api_load(a, data_dir, &err);
    if (rc < 0)
        fprintf(stderr, "Error: %s\n", err.msg);
    err_release(&err);
    return rc;
}

void cli_api_close(struct cli_api *a)
{
    if (a->ssl_ctx)
        SSL_CTX_free(a->ssl_ctx);
    a->ssl_ctx = NULL;
}

struct resp {
    struct buf body;
    int done;
};

static int on_body(llhttp_t *p, const char *at, size_t n)
{
    struct resp *r = p->data;

    return buf_append(&r->body, at, n) < 0 ? -1 : 0;
}

static int on_done(llhttp_t *p)
{
    ((struct resp *)p->data)->done = 1;
    return 0;
}

static int connect_to(const struct cli_api *a)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)a->port)};
    struct timeval tv = {.tv_sec = a->timeout_s > 0 ? a->timeout_s : 10};
    int fd;

    if (inet_pton(AF_INET, a->host, &sa.sin_addr) != 1)
        return -1;
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int cli_api_do(struct cli_api *a, const char *method, const char *path, const char *ctype,
               const json_t *body, json_t **out)
{
    llhttp_settings_t s;
    llhttp_t p;
    struct resp r = {0};
    SSL *ssl = NULL;
    char *req = NULL, *js = body ? json_dumps(body, JSON_COMPACT) : NULL, rb[16384];
    int fd, n, code = -1;

    *out = NULL;
    if (!a->ssl_ctx || (fd = connect_to(a)) < 0) {
        free(js);
        return -1;
    }
    buf_init(&r.body, 64 << 20);
    ssl = SSL_new(a->ssl_ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) != 1)
        goto out;
    req = xasprintf("%s %s HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\n"
                    "Accept: application/json\r\nUser-Agent: kroll-rollouts\r\n"
                    "Connection: close\r\n%s%s%sContent-Length: %zu\r\n\r\n%s",
                    method, path, a->host, a->port, a->token, ctype ? "Content-Type: " : "",
                    ctype ? ctype : "", ctype ? "\r\n" : "", js ? strlen(js) : 0, js ? js : "");
    if (SSL_write(ssl, req, (int)strlen(req)) <= 0)
        goto out;
    llhttp_settings_init(&s);
    s.on_body = on_body;
    s.on_message_complete = on_done;
    llhttp_init(&p, HTTP_RESPONSE, &s);
    p.data = &r;
    while (!r.done && (n = SSL_read(ssl, rb, sizeof rb)) > 0)
        if (llhttp_execute(&p, rb, (size_t)n) != HPE_OK)
            goto out;
    if (!r.done)
        llhttp_finish(&p);
    code = p.status_code;
    if (r.body.len)
        *out = json_loadb(r.body.data, r.body.len, 0, NULL);
out:
    ERR_clear_error();
    SSL_shutdown(ssl);
    SSL_free(ssl);
    close(fd);
    free(req);
    free(js);
    buf_release(&r.body);
    return code;
}

const char *cli_api_msg(const json_t *status, int code, char *buf, size_t n)
{
    const char *m = jx_str(status, "message");

    if (m)
        return m;
    if (code < 0)
        snprintf(buf, n, "the server cannot be reached");
    else
        snprintf(buf, n, "the server answered %d", code);
    return buf;
}
