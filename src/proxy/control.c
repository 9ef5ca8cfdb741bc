/* The control socket (<data-dir>/run/proxy.sock or --control PATH): newline-delimited JSON
 * requests from the kubelet. {"op":"drain","pod":"ns/name","ip":"...","timeout_ms":N} stops new
 * requests to the pod's endpoints (once the provider's view of the cluster is current), waits
 * until their in-flight requests are done and idle upstream connections closed (or the
 * timeout passes), then replies. One thread per client so
 * that several pods can drain at once. */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "proxy/proxy-int.h"

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int ep_matches(const struct px_endpoint *ep, const char *pod, const char *ip,
                      const char *endpoint)
{
    size_t n;

    if (endpoint && *endpoint && !strcmp(ep->addr, endpoint))
        return 1;
    if (pod && *pod && !strcmp(ep->pod, pod))
        return 1;
    if (!ip || !*ip)
        return 0;
    n = strlen(ip);
    /* ep->addr is "ip:port" or "[ip]:port" */
    if (!strncmp(ep->addr, ip, n) && ep->addr[n] == ':')
        return 1;
    return ep->addr[0] == '[' && !strncmp(ep->addr + 1, ip, n) && ep->addr[n + 1] == ']';
}

int proxy_drain_mark(struct proxy *px, const char *pod, const char *ip, const char *endpoint,
                     struct px_endpoint ***out)
{
    struct px_endpoint **eps = NULL;
    int n = 0;

    pthread_mutex_lock(&px->mu);
    for (int s = 0; s < px->nsvcs; s++) {
        struct px_table *t = px_service_table(px->svcs[s]);

        for (int i = 0; i < t->n; i++) {
            if (!ep_matches(t->eps[i], pod, ip, endpoint))
                continue;
            atomic_store(&t->eps[i]->draining, 1);
            atomic_fetch_add(&t->eps[i]->drains, 1);
            eps = xrealloc(eps, (size_t)(n + 1) * sizeof *eps);
            eps[n++] = px_endpoint_ref(t->eps[i]);
        }
        px_table_unref(t);
    }
    pthread_mutex_unlock(&px->mu);
    *out = eps;
    return n;
}

static void reply_error(struct buf *reply, const char *msg)
{
    json_t *r = json_pack("{s:b,s:s}", "ok", 0, "error", msg);
    char *s = json_dumps(r, JSON_COMPACT);

    buf_appendf(reply, "%s\n", s);
    free(s);
    json_decref(r);
}

static void control_drain(struct proxy *px, json_t *req, struct buf *reply)
{
    const char *pod = json_string_value(json_object_get(req, "pod"));
    const char *ip = json_string_value(json_object_get(req, "ip"));
    const char *endpoint = json_string_value(json_object_get(req, "endpoint"));
    json_int_t timeout = json_integer_value(json_object_get(req, "timeout_ms"));
    struct px_endpoint **eps;
    int64_t deadline, inflight = 0, pooled = 0;
    int n, timed_out = 0;
    json_t *r;
    char *s;

    if ((!pod || !*pod) && (!ip || !*ip) && (!endpoint || !*endpoint)) {
        reply_error(reply, "drain needs \"pod\", \"ip\" or \"endpoint\"");
        return;
    }
    if (timeout <= 0)
        timeout = 30000;
    deadline = mono_ms() + timeout;
    /* Right after a server restart our endpoints may be behind: the pods that replace this one
     * can be ready in the API but unknown here. Taking this one out now could leave nothing to
     * route to (503s), so it keeps serving until the view is current. */
    while (atomic_load(&px->view_stale) && mono_ms() < deadline)
        usleep((useconds_t)px->cfg.drain_poll_ms * 1000);
    n = proxy_drain_mark(px, pod, ip, endpoint, &eps);
    for (;;) {
        inflight = pooled = 0;
        for (int i = 0; i < n; i++) {
            inflight += px_endpoint_inflight(eps[i]);
            pooled += px_endpoint_pooled(eps[i]);
        }
        if ((!inflight && !pooled) || mono_ms() >= deadline)
            break;
        usleep((useconds_t)px->cfg.drain_poll_ms * 1000);
    }
    timed_out = inflight > 0;
    for (int i = 0; i < n; i++)
        px_endpoint_unref(eps[i]);
    free(eps);
    r = json_pack("{s:b,s:i,s:I,s:b}", "ok", 1, "endpoints", n, "inflight", (json_int_t)inflight,
                  "timed_out", timed_out);
    if (atomic_load(&px->view_stale)) /* answered at the deadline with a view still behind */
        json_object_set_new(r, "view_stale", json_true());
    s = json_dumps(r, JSON_COMPACT);
    buf_appendf(reply, "%s\n", s);
    free(s);
    json_decref(r);
}

void px_control_handle(struct proxy *px, const char *line, struct buf *reply)
{
    json_error_t jerr;
    json_t *req = json_loads(line, 0, &jerr);
    const char *op = json_string_value(json_object_get(req, "op"));

    if (!req || !json_is_object(req))
        reply_error(reply, "request must be a JSON object on one line");
    else if (!op)
        reply_error(reply, "missing \"op\"");
    else if (!strcmp(op, "drain"))
        control_drain(px, req, reply);
    else if (!strcmp(op, "ping"))
        buf_appendf(reply, "{\"ok\":true}\n");
    else
        reply_error(reply, "unknown op (supported: drain, ping)");
    json_decref(req);
}

struct control_client {
    struct proxy *px;
    int fd;
};

static void *control_client_main(void *arg)
{
    struct control_client *cc = arg;
    char line[8192];
    size_t len = 0;
    ssize_t sent;

    for (;;) {
        char *nl;
        ssize_t n = recv(cc->fd, line + len, sizeof line - 1 - len, 0);

        if (n <= 0)
            break;
        len += (size_t)n;
        line[len] = 0;
        while ((nl = memchr(line, '\n', len))) {
            struct buf reply;

            *nl = 0;
            buf_init(&reply, 1 << 20);
            px_control_handle(cc->px, line, &reply);
            sent = send(cc->fd, reply.data, reply.len, MSG_NOSIGNAL);
            buf_release(&reply);
            if (sent < 0)
                goto out; /* the kubelet hung up: nobody reads the remaining replies */
            len -= (size_t)(nl + 1 - line);
            memmove(line, nl + 1, len);
        }
        if (len == sizeof line - 1)
            break; /* a line longer than any request */
    }
out:
    close(cc->fd);
    free(cc);
    return NULL;
}

struct control {
    struct proxy *px;
    int fd;
};

static void *control_main(void *arg)
{
    struct control *ctl = arg;

    for (;;) {
        int fd = accept4(ctl->fd, NULL, NULL, SOCK_CLOEXEC);
        struct control_client *cc;
        pthread_t th;

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            break;
        }
        cc = xcalloc(1, sizeof *cc);
        cc->px = ctl->px;
        cc->fd = fd;
        if (pthread_create(&th, NULL, control_client_main, cc)) {
            close(fd);
            free(cc);
            continue;
        }
        pthread_detach(th);
    }
    close(ctl->fd);
    free(ctl);
    return NULL;
}

int px_control_start(struct proxy *px, const char *path)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    struct control *ctl;
    pthread_t th;
    int fd;

    if (strlen(path) >= sizeof sun.sun_path) {
        fprintf(stderr, "kroll proxy: control socket path too long: %s\n", path);
        return -1;
    }
    strcpy(sun.sun_path, path);
    unlink(path); /* a stale socket from a previous run */
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof sun) < 0 || listen(fd, 64) < 0) {
        fprintf(stderr, "kroll proxy: control socket %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    ctl = xcalloc(1, sizeof *ctl);
    ctl->px = px;
    ctl->fd = fd;
    if (pthread_create(&th, NULL, control_main, ctl)) {
        close(fd);
        free(ctl);
        return -1;
    }
    pthread_detach(th);
    return 0;
}
