/* The control socket (<data-dir>/run/proxy.sock or --control PATH): newline-delimited JSON
 * requests from the kubelet. {"op":"drain","pod":"ns/name","ip":"...","timeout_ms":N} stops new
 * requests to the pod's endpoints (once the provider's view of the cluster is current), waits
 * until their in-flight requests are done and idle upstream connections closed (or the timeout
 * passes), then replies. One thread per client so that several pods can drain at once; clients
 * are root or our own uid only, bounded in number, and must send each request before a
 * deadline. {"op":"stats","window":"30s"} answers the request statistics of stats.c. */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

/* {"op":"stats","window":"30s"}: the document of /stats on the admin port, on one line. */
static void control_stats(struct proxy *px, json_t *req, struct buf *reply)
{
    const char *w = json_string_value(json_object_get(req, "window"));
    char q[64];
    struct buf out;

    snprintf(q, sizeof q, "window=%s", w && strlen(w) < 16 ? w : "60");
    buf_init(&out, 64 << 20);
    if (px_stats_render(px, q, &out) < 0) {
        char *m = buf_cstr(&out);
        size_t n = strlen(m);

        if (n && m[n - 1] == '\n') /* the message without its newline */
            m[n - 1] = 0;
        reply_error(reply, m);
    } else {
        buf_append(reply, out.data, out.len);
    }
    buf_release(&out);
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
    else if (!strcmp(op, "stats"))
        control_stats(px, req, reply);
    else
        reply_error(reply, "unknown op (supported: drain, stats, ping)");
    json_decref(req);
}

/* Control clients are the kubelet (one connection per draining pod) and an operator's tools:
 * only root and the proxy's own user may talk to it, at most KROLL_PROXY_CONTROL_MAX_CLIENTS at
 * once (a drain holds its client's thread until done), and a client must send each request
 * within PX_CONTROL_READ_TIMEOUT_MS, so a silent or trickling client cannot hold a slot. */
#define PX_CONTROL_MAX_CLIENTS 16
#define PX_CONTROL_READ_TIMEOUT_MS 10000
#define PX_CONTROL_MAX_LINE 8192

struct control {
    struct proxy *px;
    int fd, max_clients;
    _Atomic int clients;
};

struct control_client {
    struct control *ctl;
    int fd;
};

/* Waits until fd has data or the request deadline passes; 1 readable, 0 timed out or error. */
static int wait_readable(int fd, int64_t deadline)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};

    for (;;) {
        int64_t left = deadline - mono_ms();
        int n;

        if (left <= 0)
            return 0;
        n = poll(&pfd, 1, (int)(left > 1000 ? 1000 : left));
        if (n > 0)
            return 1;
        if (n < 0 && errno != EINTR)
            return 0;
    }
}

/* Answers every complete line in line[0..*len); -1 when the client stopped reading. */
static int serve_lines(struct control_client *cc, char *line, size_t *len)
{
    char *nl;

    while ((nl = memchr(line, '\n', *len))) {
        struct buf reply;
        ssize_t sent;

        *nl = 0;
        buf_init(&reply, 1 << 20);
        px_control_handle(cc->ctl->px, line, &reply);
        sent = send(cc->fd, reply.data, reply.len, MSG_NOSIGNAL);
        buf_release(&reply);
        if (sent < 0)
            return -1; /* the kubelet hung up (or stopped reading): nobody reads the rest */
        *len -= (size_t)(nl + 1 - line);
        memmove(line, nl + 1, *len);
    }
    return 0;
}

static void *control_client_main(void *arg)
{
    struct control_client *cc = arg;
    char line[PX_CONTROL_MAX_LINE];
    size_t len = 0;
    int64_t deadline = mono_ms() + PX_CONTROL_READ_TIMEOUT_MS;

    for (;;) {
        ssize_t n;

        if (!wait_readable(cc->fd, deadline)) {
            log_warn("proxy", "control client closed reason=read-timeout timeout_ms=%d",
                     PX_CONTROL_READ_TIMEOUT_MS);
            break;
        }
        n = recv(cc->fd, line + len, sizeof line - 1 - len, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        line[len] = 0;
        if (memchr(line, '\n', len)) {
            if (serve_lines(cc, line, &len) < 0)
                break;
            deadline = mono_ms() + PX_CONTROL_READ_TIMEOUT_MS; /* the next request's turn */
        }
        if (len == sizeof line - 1)
            break; /* a line longer than any request */
    }
    close(cc->fd);
    atomic_fetch_sub(&cc->ctl->clients, 1);
    free(cc);
    return NULL;
}

/* Refusals are logged at most once a second (with how many were not), so that a flood of
 * refused clients cannot flood the log as well. */
static int refusal_log_ok(int *suppressed)
{
    static _Atomic int64_t last_ms;
    static _Atomic int skipped;
    int64_t now = mono_ms(), last = atomic_load(&last_ms);

    if (now - last < 1000 || !atomic_compare_exchange_strong(&last_ms, &last, now)) {
        atomic_fetch_add(&skipped, 1);
        return 0;
    }
    *suppressed = atomic_exchange(&skipped, 0);
    return 1;
}

/* Root and the proxy's own user only: the socket can stop traffic to any pod. */
static int peer_allowed(int fd)
{
    struct ucred uc;
    socklen_t len = sizeof uc;
    int skipped;

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0) {
        log_warn("proxy", "control client refused reason=no-peer-credentials err=\"%s\"",
                 strerror(errno));
        return 0;
    }
    if (uc.uid == 0 || uc.uid == geteuid())
        return 1;
    if (refusal_log_ok(&skipped))
        log_warn("proxy",
                 "control client refused reason=uid-not-allowed uid=%u pid=%d allowed=0,%u "
                 "suppressed=%d",
                 (unsigned)uc.uid, (int)uc.pid, (unsigned)geteuid(), skipped);
    return 0;
}

/* A client over the cap gets one error line and is closed, never queued. */
static int client_admit(struct control *ctl, int fd)
{
    static const char busy[] = "{\"ok\":false,\"error\":\"too many control clients\"}\n";
    int skipped;

    if (atomic_fetch_add(&ctl->clients, 1) < ctl->max_clients)
        return 1;
    atomic_fetch_sub(&ctl->clients, 1);
    if (refusal_log_ok(&skipped))
        log_warn("proxy", "control client refused reason=too-many-clients limit=%d suppressed=%d",
                 ctl->max_clients, skipped);
    send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    return 0;
}

int px_accept_retry(int err, const char *what, int *backoff_ms)
{
    if (err == EINTR || err == ECONNABORTED || err == EAGAIN)
        return 1;
    if (err == EBADF || err == EINVAL || err == ENOTSOCK)
        return 0; /* the listener was closed */
    /* EMFILE, ENFILE, ENOBUFS, ENOMEM, EPERM...: the pending connection stays in the backlog;
     * wait for descriptors to come back instead of spinning on the same error. */
    if (*backoff_ms == 0)
        log_warn("proxy", "%s accept failing err=\"%s\"; backing off", what, strerror(err));
    *backoff_ms = *backoff_ms ? (*backoff_ms * 2 > 1000 ? 1000 : *backoff_ms * 2) : 10;
    usleep((useconds_t)*backoff_ms * 1000);
    return 1;
}

static void *control_main(void *arg)
{
    struct control *ctl = arg;
    int backoff = 0;

    for (;;) {
        int fd = accept4(ctl->fd, NULL, NULL, SOCK_CLOEXEC);
        struct control_client *cc;
        pthread_t th;

        if (fd < 0) {
            if (px_accept_retry(errno, "control", &backoff))
                continue;
            break;
        }
        backoff = 0;
        if (!peer_allowed(fd) || !client_admit(ctl, fd)) {
            close(fd);
            continue;
        }
        cc = xcalloc(1, sizeof *cc);
        cc->ctl = ctl;
        cc->fd = fd;
        if (pthread_create(&th, NULL, control_client_main, cc)) {
            atomic_fetch_sub(&ctl->clients, 1);
            close(fd);
            free(cc);
            continue;
        }
        pthread_detach(th);
    }
    close(ctl->fd);
    /* Reached only once the listener is gone (the process is ending); a client thread still
     * running holds ctl, so it is then left to the exit. */
    if (atomic_load(&ctl->clients) == 0)
        free(ctl);
    return NULL;
}

static int max_clients_from_env(void)
{
    const char *e = getenv("KROLL_PROXY_CONTROL_MAX_CLIENTS");
    char *end = NULL;
    long n;

    if (!e || !*e)
        return PX_CONTROL_MAX_CLIENTS;
    n = strtol(e, &end, 10);
    if (*end || n < 1 || n > 4096) {
        log_warn("proxy", "ignoring invalid KROLL_PROXY_CONTROL_MAX_CLIENTS value=\"%s\"", e);
        return PX_CONTROL_MAX_CLIENTS;
    }
    return (int)n;
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
    /* The peer check is the guard; the mode keeps other users from even connecting. */
    chmod(path, 0600);
    ctl = xcalloc(1, sizeof *ctl);
    ctl->px = px;
    ctl->fd = fd;
    ctl->max_clients = max_clients_from_env();
    if (pthread_create(&th, NULL, control_main, ctl)) {
        close(fd);
        free(ctl);
        return -1;
    }
    pthread_detach(th);
    return 0;
}
