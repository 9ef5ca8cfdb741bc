/* The pod drain controller (see pod_drain.h): a controller of the client runtime watching
 * pods, a non-blocking request per terminating pod on the proxy's control socket driven by
 * the loop, and a merge patch of the pod's annotation when the proxy answers. */
#include "server/pod_drain.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client/client.h"
#include "core/jx.h"
#include "core/log.h"
#include "node/node.h"

#define COMP "pod-drain"
#define MAX_DRAINS 4096 /* requests in flight at once; more wait for their grace timers */

struct drain;

struct pod_drain {
    struct kc *kc;
    struct ctl *ctl;
    char *data_dir;
    struct drain *drains;
    int ndrains;
};

struct drain {
    struct pod_drain *pd;
    struct loop_io io;
    struct loop_timer timer;
    char *uid, *ns, *name, *req;
    size_t req_off;
    char reply[512];
    size_t rlen;
    struct drain *next, *prev;
};

static struct loop *pd_loop(struct pod_drain *pd)
{
    return kc_loop(pd->kc);
}

static void drain_free(void *p)
{
    struct drain *d = p;

    free(d->uid);
    free(d->ns);
    free(d->name);
    free(d->req);
    free(d);
}

static void drain_unlink(struct drain *d)
{
    struct pod_drain *pd = d->pd;

    if (d->io.fd >= 0) {
        loop_io_stop(pd_loop(pd), &d->io);
        close(d->io.fd);
        d->io.fd = -1;
    }
    loop_timer_stop(pd_loop(pd), &d->timer);
    if (d->prev)
        d->prev->next = d->next;
    else
        pd->drains = d->next;
    if (d->next)
        d->next->prev = d->prev;
    pd->ndrains--;
    loop_defer(pd_loop(pd), drain_free, d);
}

/* Marks the pod (if it is still the same pod) with the proxy's answer. */
static void drain_finish(struct drain *d, const char *how)
{
    struct pod_drain *pd = d->pd;
    json_t *pod = kc_get(pd->kc, kc_resource(RES_POD), d->ns, d->name), *p, *out = NULL;
    struct kc_wopts o = {.grace = -1, .manager = COMP};
    struct err err;

    log_info(COMP, "msg=\"drained\" pod=%s/%s result=%s", d->ns, d->name, how);
    drain_unlink(d);
    if (!pod || strcmp(jx_str(pod, "metadata.uid") ?: "", d->uid) != 0)
        return;
    p = json_pack("{s:{s:{s:s}}}", "metadata", "annotations", POD_DRAINED_ANNOTATION, how);
    err_init(&err);
    if (kc_patch(pd->kc, kc_resource(RES_POD), d->ns, d->name, "application/merge-patch+json", p,
                  &o, &out, &err) < 0 &&
        err.code != -E_NOT_FOUND)
        ctl_log_err(pd->ctl, "mark drained", d->ns, d->name, &err);
    json_decref(out);
    json_decref(p);
    err_release(&err);
}

static void drain_on_timer(struct loop_timer *t, void *ctx)
{
    drain_finish(ctx, "grace-period-passed");
}

static void drain_on_io(struct loop_io *io, unsigned events, void *ctx)
{
    struct drain *d = ctx;
    size_t len = strlen(d->req);
    ssize_t n;

    if (d->req_off < len) {
        n = send(io->fd, d->req + d->req_off, len - d->req_off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            drain_finish(d, "proxy-unreachable");
            return;
        }
        d->req_off += n > 0 ? (size_t)n : 0;
        if (d->req_off == len)
            loop_io_modify(pd_loop(d->pd), io, EPOLLIN);
        return;
    }
    n = recv(io->fd, d->reply + d->rlen, sizeof d->reply - 1 - d->rlen, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        drain_finish(d, "proxy-closed");
        return;
    }
    d->rlen += (size_t)n;
    d->reply[d->rlen] = 0;
    if (memchr(d->reply, '\n', d->rlen) || d->rlen == sizeof d->reply - 1) {
        d->reply[strcspn(d->reply, "\n")] = 0;
        drain_finish(d, d->reply);
    }
}

static struct drain *drain_find(struct pod_drain *pd, const char *uid)
{
    for (struct drain *d = pd->drains; d; d = d->next)
        if (strcmp(d->uid, uid) == 0)
            return d;
    return NULL;
}

/* Sends {"op":"drain","pod":"ns/name","timeout_ms":...} without blocking; the answer (or the
 * grace period, or a failed connect) finishes the drain. */
static void drain_start(struct pod_drain *pd, const json_t *pod)
{
    int64_t grace_ms = jx_int(pod, "metadata.deletionGracePeriodSeconds", 30) * 1000;
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    struct drain *d = xcalloc(1, sizeof *d);
    char *line;
    json_t *req;
    int fd;

    d->pd = pd;
    d->io.fd = -1;
    d->uid = xstrdup(jx_str(pod, "metadata.uid") ?: "");
    d->ns = xstrdup(jx_str(pod, "metadata.namespace") ?: "default");
    d->name = xstrdup(jx_str(pod, "metadata.name") ?: "");
    /* The proxy answers a little before the kubelet's own deadline, so its answer is seen. */
    line = xasprintf("%s/%s", d->ns, d->name);
    req = json_pack("{s:s,s:s,s:I}", "op", "drain", "pod", line, "timeout_ms",
                    (json_int_t)(grace_ms > 1000 ? grace_ms - 500
                                 : grace_ms > 0  ? grace_ms
                                                 : 1));
    free(line);
    line = json_dumps(req, JSON_COMPACT);
    d->req = xasprintf("%s\n", line);
    free(line);
    json_decref(req);
    loop_timer_init(&d->timer, drain_on_timer, d);
    d->next = pd->drains;
    if (pd->drains)
        pd->drains->prev = d;
    pd->drains = d;
    pd->ndrains++;
    line = xasprintf("%s/run/proxy.sock", pd->data_dir);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", line);
    free(line);
    if (fd < 0 || (connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0 && errno != EINPROGRESS &&
                   errno != EAGAIN)) {
        if (fd >= 0)
            close(fd);
        drain_finish(d, "no-proxy");
        return;
    }
    loop_io_start(pd_loop(pd), &d->io, fd, EPOLLOUT, drain_on_io, d);
    loop_timer_start(pd_loop(pd), &d->timer, grace_ms > 0 ? grace_ms : 1);
}

/* A bound pod being deleted, not yet marked and not already being drained: drain it. */
static void drain_sync(struct ctl *c, const char *ns, const char *name, void *ctx)
{
    struct pod_drain *pd = ctx;
    json_t *pod = kc_get(pd->kc, kc_resource(RES_POD), ns, name);

    if (!pod || !jx_get(pod, "metadata.deletionTimestamp") || !jx_str(pod, "spec.nodeName") ||
        jx_annotation(pod, POD_DRAINED_ANNOTATION) ||
        drain_find(pd, jx_str(pod, "metadata.uid") ?: ""))
        return;
    if (pd->ndrains >= MAX_DRAINS) {
        log_warn(COMP,
                 "msg=\"too many drains in flight; the kubelet's grace timer decides\" "
                 "pod=%s/%s",
                 ns, name);
        return;
    }
    drain_start(pd, pod);
}

struct pod_drain *pod_drain_start(struct kc *kc, const char *data_dir)
{
    struct pod_drain *pd = xcalloc(1, sizeof *pd);

    pd->kc = kc;
    pd->data_dir = xstrdup(data_dir);
    pd->ctl = ctl_new(kc, COMP, drain_sync, pd);
    ctl_watch(pd->ctl, RES_POD, NULL);
    ctl_start(pd->ctl);
    return pd;
}

void pod_drain_stop(struct pod_drain *pd)
{
    if (!pd)
        return;
    ctl_free(pd->ctl);
    while (pd->drains)
        drain_unlink(pd->drains);
    free(pd->data_dir);
    free(pd);
}
