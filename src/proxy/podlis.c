/* Service listeners inside pods. A pod has its own network namespace with loopback only, where
 * 127.77.x.y is the pod's own loopback: so for every running pod (its namespace published in the
 * kroll.dev/netns annotation) the proxy opens each cluster-IP listener a second time inside that
 * namespace, plus the cluster DNS on CLUSTER_DNS_IP:53 (UDP and TCP). A socket belongs to the
 * namespace it was created in, whichever thread later uses it, so the pod listeners go to the
 * ordinary workers: same routing, readiness, draining and stats as the host's. The registry
 * here is the reconciler thread's alone. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/jx.h"
#include "core/log.h"
#include "core/netns.h"
#include "proxy/dns-int.h"
#include "proxy/proxy-int.h"

#define TAG_HOST_DNS 1
#define RETRY_MS 5000

struct podlis_ent {
    struct px_service *svc; /* NULL: the DNS pair */
    uint64_t tag;           /* 0: not open (a port the pod declares, or it failed) */
    int seen, failures;     /* failed opens: retried every RETRY_MS, logged the first time */
    int64_t retry_at;
};

struct px_podlis {
    struct proxy *px;
    struct px_dns *dns;
    json_t *ents; /* "netns|pod|svc pointer" -> integer holding the struct podlis_ent * */
    uint64_t next_tag;
    int self_ns, over_logged;
};

/* A bound socket of type in netns ("": ours) at sa; -errno on failure. */
static int open_in(struct px_podlis *pl, const char *netns, int type, const struct sockaddr *sa,
                   socklen_t sl)
{
    int fd = netns_socket(netns, pl->self_ns, sa->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC);
    int one = 1, e;

    if (fd < 0)
        return fd;
    /* Not for UDP: there SO_REUSEADDR lets a second proxy (another data dir on this machine)
     * bind the same address and take the host's DNS queries. */
    if (type == SOCK_STREAM)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, sa, sl) < 0 || (type == SOCK_STREAM && listen(fd, 1024) < 0)) {
        e = -errno;
        close(fd);
        return e;
    }
    return fd;
}

static void dns_sockets(struct px_podlis *pl, const char *netns, uint64_t tag, const char *who)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53)};
    int u, t;

    inet_pton(AF_INET, CLUSTER_DNS_IP, &sa.sin_addr);
    u = open_in(pl, netns, SOCK_DGRAM, (struct sockaddr *)&sa, sizeof sa);
    t = open_in(pl, netns, SOCK_STREAM, (struct sockaddr *)&sa, sizeof sa);
    if (u < 0 || t < 0)
        log_warn("proxy", "msg=\"cannot serve DNS\" where=%s addr=%s:53 err=\"%s\"", who,
                 CLUSTER_DNS_IP, strerror(-(u < 0 ? u : t)));
    px_dns_add(pl->dns, tag, u, t);
}

struct px_podlis *px_podlis_new(struct proxy *px, struct px_dns *dns)
{
    struct px_podlis *pl = xcalloc(1, sizeof *pl);

    pl->px = px;
    pl->dns = dns;
    pl->ents = json_object();
    pl->next_tag = TAG_HOST_DNS + 1;
    pl->self_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    /* The host's own namespace too (hostNetwork pods, the node); best effort, since a second
     * kroll on this machine may hold the address already. */
    if (dns)
        dns_sockets(pl, "", TAG_HOST_DNS, "host");
    return pl;
}

void px_podlis_free(struct px_podlis *pl)
{
    const char *k;
    json_t *v;

    if (!pl)
        return;
    json_object_foreach(pl->ents, k, v) free((void *)(intptr_t)json_integer_value(v));
    json_decref(pl->ents);
    if (pl->self_ns >= 0)
        close(pl->self_ns);
    free(pl);
}

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int pod_declares(const struct px_podns *p, int port)
{
    for (int i = 0; i < p->nports; i++)
        if (p->ports[i] == port)
            return 1;
    return 0;
}

/* Opens svc's listener (or the DNS pair) in pod's namespace; the entry's tag stays 0 on
 * failure, or when the pod declares the port: Linux refuses a listener on *:port next to one
 * on 127.77.x.y:port, so ours would make the pod's own server fail to start. */
static void ent_open(struct px_podlis *pl, struct podlis_ent *e, const struct px_podns *p)
{
    struct proxy *px = pl->px;
    int port = e->svc ? ntohs(((struct sockaddr_in *)&e->svc->listen)->sin_port) : 53;
    int fd;

    if (pod_declares(p, port)) {
        log_info("proxy",
                 "msg=\"not listening in a pod that declares the port itself\" pod=%s "
                 "service=%s port=%d",
                 p->pod, e->svc ? e->svc->name : "dns", port);
        return;
    }
    if (!e->svc) {
        if (pl->dns) {
            e->tag = pl->next_tag++;
            dns_sockets(pl, p->netns, e->tag, p->pod);
        }
        return;
    }
    fd = open_in(pl, p->netns, SOCK_STREAM, (struct sockaddr *)&e->svc->listen, e->svc->listen_len);
    if (fd < 0) {
        if (!e->failures++)
            log_warn("proxy",
                     "msg=\"cannot listen in a pod; retrying\" pod=%s service=%s addr=%s "
                     "err=\"%s\"",
                     p->pod, e->svc->name, e->svc->listen_text, strerror(-fd));
        e->retry_at = mono_ms() + RETRY_MS;
        return;
    }
    e->tag = pl->next_tag++;
    px_worker_post_pod_listener(px->workers[e->tag % (uint64_t)px->cfg.nworkers], e->svc, fd,
                                e->tag);
    atomic_fetch_add(&px->pod_listeners, 1);
}

static void ent_close(struct px_podlis *pl, struct podlis_ent *e)
{
    struct proxy *px = pl->px;

    if (!e->tag)
        return;
    if (!e->svc) {
        px_dns_remove(pl->dns, e->tag);
        return;
    }
    px_worker_post_pod_listener(px->workers[e->tag % (uint64_t)px->cfg.nworkers], e->svc, -1,
                                e->tag);
    atomic_fetch_sub(&px->pod_listeners, 1);
}

/* Ensures the entry for (pod, svc); 0, or -1 when the cap stopped it. */
static int ent_want(struct px_podlis *pl, const struct px_podns *p, struct px_service *svc,
                    int *count)
{
    char key[1024];
    json_t *v;
    struct podlis_ent *e;

    snprintf(key, sizeof key, "%s|%s|%p", p->netns, p->pod, (void *)svc);
    if ((v = json_object_get(pl->ents, key))) {
        e = (struct podlis_ent *)(intptr_t)json_integer_value(v);
        e->seen = 1;
        if (e->svc && !e->tag && e->failures && mono_ms() >= e->retry_at &&
            *count < pl->px->cfg.max_pod_listeners) {
            ent_open(pl, e, p);
            *count += !!e->tag;
        }
        return 0;
    }
    if (svc && *count >= pl->px->cfg.max_pod_listeners) {
        if (!pl->over_logged++)
            log_warn("proxy",
                     "msg=\"too many listeners in pods; some pods cannot reach some Services\" "
                     "max=%d pod=%s service=%s (--max-pod-listeners)",
                     pl->px->cfg.max_pod_listeners, p->pod, svc->name);
        return -1;
    }
    e = xcalloc(1, sizeof *e);
    e->svc = svc;
    e->seen = 1;
    ent_open(pl, e, p);
    if (svc && e->tag)
        (*count)++;
    json_object_set_new(pl->ents, key, json_integer((json_int_t)(intptr_t)e));
    return 0;
}

void px_podlis_sync(struct px_podlis *pl, struct px_service *const *svcs, int nsvcs,
                    const struct px_podns *pods, int npods)
{
    int count = 0, capped = 0;
    const char *k;
    json_t *v, *tmp;

    json_object_foreach(pl->ents, k, v)
    {
        struct podlis_ent *e = (struct podlis_ent *)(intptr_t)json_integer_value(v);

        e->seen = 0;
        count += e->svc && e->tag;
    }
    for (int i = 0; i < npods; i++) {
        ent_want(pl, &pods[i], NULL, &count);
        for (int j = 0; j < nsvcs; j++)
            capped |= ent_want(pl, &pods[i], svcs[j], &count) < 0;
    }
    if (!capped)
        pl->over_logged = 0;
    json_object_foreach_safe(pl->ents, tmp, k, v)
    {
        struct podlis_ent *e = (struct podlis_ent *)(intptr_t)json_integer_value(v);

        if (e->seen)
            continue;
        ent_close(pl, e);
        free(e);
        json_object_del(pl->ents, k);
    }
}

/* ---- inputs built from the API maps (called with the provider's lock held) ---- */

static void port_add(struct px_podns *p, const json_t *v)
{
    int port = json_is_integer(v) ? (int)json_integer_value(v) : 0;

    if (port > 0 && port < 65536 && p->nports < PX_POD_PORTS_MAX && !pod_declares(p, port))
        p->ports[p->nports++] = port;
}

/* The ports the pod's containers say they listen on: containerPorts and numeric probe ports
 * (a named probe port is a containerPort already). */
static void pod_ports(const json_t *pod, struct px_podns *p)
{
    static const char *const lists[] = {"spec.containers", "spec.initContainers"};
    static const char *const probes[] = {"readinessProbe", "livenessProbe", "startupProbe"};

    for (size_t l = 0; l < 2; l++) {
        size_t i, j;
        json_t *c, *cp;

        json_array_foreach(jx_get(pod, lists[l]), i, c)
        {
            json_array_foreach(json_object_get(c, "ports"), j, cp)
                port_add(p, json_object_get(cp, "containerPort"));
            for (size_t k = 0; k < 3; k++) {
                json_t *pr = json_object_get(c, probes[k]);

                port_add(p, json_object_get(json_object_get(pr, "httpGet"), "port"));
                port_add(p, json_object_get(json_object_get(pr, "tcpSocket"), "port"));
            }
        }
    }
}

struct px_podns *px_podns_build(const json_t *pods, int *n)
{
    struct px_podns *out = NULL;
    const char *k;
    json_t *pod;

    *n = 0;
    json_object_foreach((json_t *)pods, k, pod)
    {
        const char *ns = jx_annotation(pod, POD_NETNS_ANNOTATION);
        const char *phase = jx_str(pod, "status.phase") ?: "";

        if (jx_bool(pod, "spec.hostNetwork") || !netns_path_valid(ns) || access(ns, F_OK) < 0 ||
            !strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))
            continue;
        out = xrealloc(out, (size_t)(*n + 1) * sizeof *out);
        out[*n] = (struct px_podns){.pod = xstrdup(k), .netns = xstrdup(ns)};
        pod_ports(pod, &out[(*n)++]);
    }
    return out;
}

void px_podns_free(struct px_podns *p, int n)
{
    for (int i = 0; i < n; i++) {
        free(p[i].pod);
        free(p[i].netns);
    }
    free(p);
}

json_t *px_dns_view_build(const json_t *svcs)
{
    json_t *view = json_object(), *svc;
    const char *k;

    json_object_foreach((json_t *)svcs, k, svc)
    {
        const char *cip = jx_str(svc, "spec.clusterIP"), *type = jx_str(svc, "spec.type") ?: "";
        json_t *ports = json_array(), *sp, *e;
        char *key;
        size_t i;

        if (!strcmp(type, "ExternalName"))
            continue; /* a CNAME upstream; not served here */
        json_array_foreach(jx_get(svc, "spec.ports"), i, sp) json_array_append_new(
            ports, json_pack("{s:s,s:I,s:s}", "name", jx_str(sp, "name") ?: "", "port",
                             (json_int_t)jx_int(sp, "port", 0), "protocol",
                             jx_str(sp, "protocol") ?: "TCP"));
        e = json_pack("{s:o}", "ports", ports);
        if (cip && *cip && strcmp(cip, "None"))
            json_object_set_new(e, "ip", json_string(cip));
        key = xasprintf("%s.%s", jx_str(svc, "metadata.name") ?: "",
                        jx_str(svc, "metadata.namespace") ?: "default");
        json_object_set_new(view, key, e);
        free(key);
    }
    return view;
}
