/* The demo's own reads of cluster state: a small blocking HTTPS client (address and bearer
 * token from the data dir's kubeconfig, CA from its pki dir) and the sampler that turns the
 * ReplicaSet and Pod lists into the live view's and the timeline's figures. kubectl does every
 * change; this only watches, so the user's commands stay the real workflow. */
#include <arpa/inet.h>
#include <errno.h>
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

#include "cli/demo-int.h"
#include "core/buf.h"
#include "core/file.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/tls.h"

int demo_api_open(struct demo_api *a, const char *data_dir)
{
    char *kc_path = xasprintf("%s/kubeconfig", data_dir), *pki = xasprintf("%s/pki", data_dir);
    char *kc = file_read_all(kc_path, NULL), *p;
    struct err err;
    int rc = -1;

    err_init(&err);
    memset(a, 0, sizeof *a);
    if (!kc)
        goto out;
    p = strstr(kc, "server: https://");
    if (!p || sscanf(p + 16, "%63[^:]:%d", a->host, &a->port) != 2)
        goto out;
    p = strstr(kc, "token: ");
    if (!p || sscanf(p + 7, "%255s", a->token) != 1)
        goto out;
    a->ssl_ctx = tls_client_ctx(pki, &err);
    rc = a->ssl_ctx ? 0 : -1;
out:
    err_release(&err);
    free(kc);
    free(kc_path);
    free(pki);
    return rc;
}

void demo_api_close(struct demo_api *a)
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

    buf_append(&r->body, at, n);
    return 0;
}

static int on_done(llhttp_t *p)
{
    ((struct resp *)p->data)->done = 1;
    return 0;
}

static int api_connect(struct demo_api *a)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)a->port)};
    struct timeval tv = {.tv_sec = 3};
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

json_t *demo_api_get(struct demo_api *a, const char *path)
{
    llhttp_settings_t s;
    llhttp_t p;
    struct resp r = {0};
    SSL *ssl = NULL;
    json_t *out = NULL;
    char *req = NULL, rb[16384];
    int fd = -1, n;

    if (!a->ssl_ctx || (fd = api_connect(a)) < 0)
        return NULL;
    buf_init(&r.body, 64 << 20);
    ssl = SSL_new(a->ssl_ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) != 1)
        goto out;
    req = xasprintf("GET %s HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\n"
                    "Accept: application/json\r\nConnection: close\r\n\r\n",
                    path, a->host, a->port, a->token);
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
    if (p.status_code == 200 && r.body.len)
        out = json_loadb(r.body.data, r.body.len, 0, NULL);
out:
    ERR_clear_error();
    if (ssl) {
        SSL_shutdown(ssl);
        SSL_free(ssl);
    }
    close(fd);
    free(req);
    buf_release(&r.body);
    return out;
}

/* "myrepo/tf-serving:1.0.4" -> "1.0.4"; other images as they are. */
static void image_short(const char *image, char *out, size_t n)
{
    const char *c = strrchr(image, ':'), *slash = strrchr(image, '/');

    snprintf(out, n, "%s", c && (!slash || c > slash) ? c + 1 : image);
}

static void sample_rs(json_t *list, struct cluster_state *st)
{
    json_t *item;
    size_t i;

    json_array_foreach(json_object_get(list, "items"), i, item)
    {
        struct rs_state *r;
        json_t *ctr = json_array_get(jx_get(item, "spec.template.spec.containers"), 0);
        const char *img = jx_str(ctr, "image");
        json_t *owner = json_array_get(jx_get(item, "metadata.ownerReferences"), 0);
        const char *rev = jx_annotation(item, "deployment.kubernetes.io/revision");

        if (st->nrs == DEMO_MAX_SERIES)
            break;
        r = &st->rs[st->nrs++];
        memset(r, 0, sizeof *r);
        snprintf(r->name, sizeof r->name, "%s", jx_str(item, "metadata.name"));
        snprintf(r->deploy, sizeof r->deploy, "%s", owner ? jx_str(owner, "name") : "");
        image_short(img ? img : "", r->image, sizeof r->image);
        r->revision = rev ? atoi(rev) : 0;
        r->desired = (int)jx_int(item, "spec.replicas", 0);
        r->ready = (int)jx_int(item, "status.readyReplicas", 0);
        r->available = (int)jx_int(item, "status.availableReplicas", 0);
    }
}

static void sample_pods(json_t *list, struct cluster_state *st)
{
    json_t *item, *cond;
    size_t i, j;

    json_array_foreach(json_object_get(list, "items"), i, item)
    {
        const char *phase = jx_str(item, "status.phase");

        if (jx_get(item, "metadata.deletionTimestamp")) {
            st->pods_terminating++;
            continue;
        }
        if (phase && !strcmp(phase, "Running"))
            st->pods_running++;
        else if (phase && !strcmp(phase, "Pending"))
            st->pods_pending++;
        json_array_foreach(jx_get(item, "status.conditions"), j, cond)
        {
            const char *type = jx_str(cond, "type"), *status = jx_str(cond, "status");
            const char *msg = jx_str(cond, "message");

            if (type && status && !strcmp(type, "Ready") && !strcmp(status, "True"))
                st->pods_ready++;
            if (type && status && msg && !strcmp(type, "PodScheduled") && !strcmp(status, "False"))
                snprintf(st->pending_reason, sizeof st->pending_reason, "%s", msg);
        }
    }
}

int demo_api_sample(struct demo_api *a, struct cluster_state *st)
{
    json_t *rs = demo_api_get(a, "/apis/apps/v1/namespaces/default/replicasets");
    json_t *pods = rs ? demo_api_get(a, "/api/v1/namespaces/default/pods") : NULL;

    memset(st, 0, sizeof *st);
    if (!rs || !pods) {
        json_decref(rs);
        return -1;
    }
    sample_rs(rs, st);
    sample_pods(pods, st);
    json_decref(rs);
    json_decref(pods);
    return 0;
}
