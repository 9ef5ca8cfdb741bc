/* Table columns and cells per kind, reproducing the apiserver's printers (1.32)
 * so `kubectl get` output, including -o wide, is the same as on a cluster. The
 * apiserver always generates the wide cells and kubectl hides priority-1
 * columns, so cells here always include them. Objects are untrusted JSON: every
 * getter tolerates absent or mistyped fields. */
#include "api/table.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/selector.h"
#include "core/jx.h"
#include "core/log.h"

typedef void cells_fn(const json_t *o, time_t now, json_t *row);

struct coldef {
    const char *name;
    const char *type;
    int priority;
};

struct kinddef {
    const char *group;
    const char *kind;
    const struct coldef *cols; /* terminated by a NULL name; the first one is the Name column */
    cells_fn *cells;
};

/* ---- small cell helpers ---- */

static void cell_str(json_t *row, const char *s)
{
    json_array_append_new(row, json_string(s ? s : ""));
}

static void cell_take(json_t *row, char *s)
{
    cell_str(row, s);
    free(s);
}

static void cell_int(json_t *row, json_int_t v)
{
    json_array_append_new(row, json_integer(v));
}

/* Seconds since the RFC 3339 time at path, or -1 when the time is absent or
 * invalid. */
static time_t time_at(const json_t *o, const char *path)
{
    const char *s = jx_str(o, path);

    return s ? time_parse(s) : -1;
}

/* translateTimestampSince: "<unknown>" for a zero time, else the human
 * duration. */
static void age_fmt(time_t t, time_t now, char *out, size_t n)
{
    if (t < 0 || t == 0)
        snprintf(out, n, "<unknown>");
    else
        time_human((int64_t)(now - t), out, n);
}

static void cell_age(json_t *row, const json_t *o, const char *path, time_t now)
{
    char buf[32];

    age_fmt(time_at(o, path), now, buf, sizeof buf);
    cell_str(row, buf);
}

static const char *str_or(const char *s, const char *def)
{
    return s && *s ? s : def;
}

/* layoutContainerCells: names and images of the template's containers,
 * comma-joined. */
static void cells_containers(json_t *row, const json_t *containers)
{
    size_t i, nl = 1, il = 1;
    char *names, *images;
    json_t *c;

    json_array_foreach(json_is_array(containers) ? containers : NULL, i, c)
    {
        nl += strlen(str_or(jx_str(c, "name"), "")) + 1;
        il += strlen(str_or(jx_str(c, "image"), "")) + 1;
    }
    names = xcalloc(1, nl);
    images = xcalloc(1, il);
    json_array_foreach(json_is_array(containers) ? containers : NULL, i, c)
    {
        if (i) {
            strcat(names, ",");
            strcat(images, ",");
        }
        strcat(names, str_or(jx_str(c, "name"), ""));
        strcat(images, str_or(jx_str(c, "image"), ""));
    }
    cell_take(row, names);
    cell_take(row, images);
}

/* metav1.FormatLabelSelector: "<none>" for an empty selector, "<error>" for an
 * invalid one. */
static char *format_label_selector(const json_t *sel)
{
    char *s = labelsel_string(sel);

    if (!s)
        return xstrdup("<error>");
    if (!*s) {
        free(s);
        return xstrdup("<none>");
    }
    return s;
}

/* labels.FormatLabels: "<none>" for an empty map. */
static char *format_labels(const json_t *m)
{
    char *s = labels_string(m);

    if (!*s) {
        free(s);
        return xstrdup("<none>");
    }
    return s;
}

static int cond_true(const json_t *conds, const char *type)
{
    size_t i;
    json_t *c;

    json_array_foreach(json_is_array(conds) ? conds : NULL, i, c)
    {
        const char *t = jx_str(c, "type"), *st = jx_str(c, "status");
        if (t && !strcmp(t, type))
            return st && !strcmp(st, "True");
    }
    return 0;
}

/* ---- Pod ---- */

struct podacc {
    json_int_t restarts, rrestarts; /* all containers / restartable init containers only */
    time_t last, rlast;             /* latest lastState.terminated.finishedAt of each */
    int ready, total;
    char reason[160];
};

static int init_restartable(const json_t *pod, const char *name)
{
    size_t i;
    json_t *c;

    json_array_foreach(json_is_array(jx_get(pod, "spec.initContainers"))
                           ? jx_get(pod, "spec.initContainers")
                           : NULL,
                       i, c)
    {
        const char *n = jx_str(c, "name"), *rp = jx_str(c, "restartPolicy");
        if (n && name && !strcmp(n, name))
            return rp && !strcmp(rp, "Always");
    }
    return 0;
}

static void terminated_reason(const json_t *term, const char *prefix, char *out, size_t n)
{
    const char *r = jx_str(term, "reason");
    json_int_t sig = jx_int(term, "signal", 0);

    if (r && *r)
        snprintf(out, n, "%s%s", prefix, r);
    else if (sig)
        snprintf(out, n, "%sSignal:%lld", prefix, (long long)sig);
    else
        snprintf(out, n, "%sExitCode:%lld", prefix, (long long)jx_int(term, "exitCode", 0));
}

static void last_restart(const json_t *cs, time_t *last)
{
    time_t t = time_at(cs, "lastState.terminated.finishedAt");

    if (t > *last)
        *last = t;
}

/* Init containers in order; the first unfinished one decides. Returns
 * "initializing". */
static int pod_init_status(const json_t *pod, struct podacc *a)
{
    const json_t *st = jx_get(pod, "status.initContainerStatuses");
    size_t i, ninit = json_array_size(jx_get(pod, "spec.initContainers"));
    json_t *cs;

    json_array_foreach(json_is_array(st) ? st : NULL, i, cs)
    {
        const json_t *term = jx_get(cs, "state.terminated");
        const char *wr = jx_str(cs, "state.waiting.reason");
        int restartable = init_restartable(pod, jx_str(cs, "name"));

        a->restarts += jx_int(cs, "restartCount", 0);
        last_restart(cs, &a->last);
        if (restartable) {
            a->rrestarts += jx_int(cs, "restartCount", 0);
            last_restart(cs, &a->rlast);
        }
        if (json_is_object(term) && jx_int(term, "exitCode", 0) == 0)
            continue;
        if (restartable && jx_bool(cs, "started")) {
            a->ready += jx_bool(cs, "ready");
            continue;
        }
        if (json_is_object(term))
            terminated_reason(term, "Init:", a->reason, sizeof a->reason);
        else if (wr && *wr && strcmp(wr, "PodInitializing") != 0)
            snprintf(a->reason, sizeof a->reason, "Init:%s", wr);
        else
            snprintf(a->reason, sizeof a->reason, "Init:%zu/%zu", i, ninit);
        return 1;
    }
    return 0;
}

/* Regular containers from last to first, so the first container's state wins.
 */
static void pod_container_status(const json_t *pod, struct podacc *a)
{
    const json_t *st = jx_get(pod, "status.containerStatuses");
    size_t n = json_is_array(st) ? json_array_size(st) : 0;
    int running = 0;

    a->restarts = a->rrestarts;
    a->last = a->rlast;
    for (size_t i = n; i-- > 0;) {
        const json_t *cs = json_array_get(st, i);
        const json_t *term = jx_get(cs, "state.terminated");
        const char *wr = jx_str(cs, "state.waiting.reason");

        a->restarts += jx_int(cs, "restartCount", 0);
        last_restart(cs, &a->last);
        if (wr && *wr)
            snprintf(a->reason, sizeof a->reason, "%s", wr);
        else if (json_is_object(term))
            terminated_reason(term, "", a->reason, sizeof a->reason);
        else if (jx_bool(cs, "ready") && json_is_object(jx_get(cs, "state.running"))) {
            running = 1;
            a->ready++;
        }
    }
    if (!strcmp(a->reason, "Completed") && running)
        snprintf(a->reason, sizeof a->reason, "%s",
                 cond_true(jx_get(pod, "status.conditions"), "Ready") ? "Running" : "NotReady");
}

static void pod_status(const json_t *pod, struct podacc *a)
{
    const char *phase = str_or(jx_str(pod, "status.phase"), "");
    const char *sreason = jx_str(pod, "status.reason");
    const json_t *conds = jx_get(pod, "status.conditions");
    size_t i;
    json_t *c;

    memset(a, 0, sizeof *a);
    a->last = a->rlast = -1;
    a->total = (int)json_array_size(jx_get(pod, "spec.containers"));
    json_array_foreach(json_is_array(jx_get(pod, "spec.initContainers"))
                           ? jx_get(pod, "spec.initContainers")
                           : NULL,
                       i, c) a->total += !strcmp(str_or(jx_str(c, "restartPolicy"), ""), "Always");
    snprintf(a->reason, sizeof a->reason, "%s", str_or(sreason, phase));
    json_array_foreach(json_is_array(conds) ? conds : NULL, i, c)
    {
        const char *t = jx_str(c, "type"), *r = jx_str(c, "reason");
        if (t && r && !strcmp(t, "PodScheduled") && !strcmp(r, "SchedulingGated"))
            snprintf(a->reason, sizeof a->reason, "SchedulingGated");
    }
    if (!pod_init_status(pod, a) || cond_true(conds, "Initialized"))
        pod_container_status(pod, a);
    if (jx_get(pod, "metadata.deletionTimestamp") &&
        !json_is_null(jx_get(pod, "metadata.deletionTimestamp"))) {
        if (sreason && !strcmp(sreason, "NodeLost"))
            snprintf(a->reason, sizeof a->reason, "Unknown");
        else if (strcmp(phase, "Succeeded") && strcmp(phase, "Failed"))
            snprintf(a->reason, sizeof a->reason, "Terminating");
    }
}

static void pod_readiness_gates(const json_t *pod, char *out, size_t n)
{
    const json_t *gates = jx_get(pod, "spec.readinessGates");
    size_t ng = json_is_array(gates) ? json_array_size(gates) : 0, i, j, ok = 0;
    const json_t *conds = jx_get(pod, "status.conditions");
    json_t *g, *c;

    if (ng == 0) {
        snprintf(out, n, "<none>");
        return;
    }
    json_array_foreach(gates, i, g)
    {
        const char *want = jx_str(g, "conditionType");
        json_array_foreach(json_is_array(conds) ? conds : NULL, j, c)
        {
            const char *t = jx_str(c, "type");
            if (want && t && !strcmp(t, want)) {
                ok += str_or(jx_str(c, "status"), "")[0] == 'T';
                break;
            }
        }
    }
    snprintf(out, n, "%zu/%zu", ok, ng);
}

static void cells_pod(const json_t *o, time_t now, json_t *row)
{
    const char *ip = jx_str(json_array_get(jx_get(o, "status.podIPs"), 0), "ip");
    char buf[96], ago[32];
    struct podacc a;

    pod_status(o, &a);
    cell_str(row, jx_str(o, "metadata.name"));
    snprintf(buf, sizeof buf, "%d/%d", a.ready, a.total);
    cell_str(row, buf);
    cell_str(row, a.reason);
    if (a.restarts != 0 && a.last > 0) {
        time_human((int64_t)(now - a.last), ago, sizeof ago);
        snprintf(buf, sizeof buf, "%lld (%s ago)", (long long)a.restarts, ago);
    } else {
        snprintf(buf, sizeof buf, "%lld", (long long)a.restarts);
    }
    cell_str(row, buf);
    cell_age(row, o, "metadata.creationTimestamp", now);
    cell_str(row, str_or(ip ? ip : jx_str(o, "status.podIP"), "<none>"));
    cell_str(row, str_or(jx_str(o, "spec.nodeName"), "<none>"));
    cell_str(row, str_or(jx_str(o, "status.nominatedNodeName"), "<none>"));
    pod_readiness_gates(o, buf, sizeof buf);
    cell_str(row, buf);
}

/* ---- workloads ---- */

static void cells_deployment(const json_t *o, time_t now, json_t *row)
{
    char buf[64], *sel = labelsel_string(jx_get(o, "spec.selector"));

    cell_str(row, jx_str(o, "metadata.name"));
    snprintf(buf, sizeof buf, "%lld/%lld", (long long)jx_int(o, "status.readyReplicas", 0),
             (long long)jx_int(o, "spec.replicas", 1));
    cell_str(row, buf);
    cell_int(row, jx_int(o, "status.updatedReplicas", 0));
    cell_int(row, jx_int(o, "status.availableReplicas", 0));
    cell_age(row, o, "metadata.creationTimestamp", now);
    cells_containers(row, jx_get(o, "spec.template.spec.containers"));
    cell_take(row, sel ? sel : xstrdup("<invalid>"));
}

static void cells_replicaset(const json_t *o, time_t now, json_t *row)
{
    cell_str(row, jx_str(o, "metadata.name"));
    cell_int(row, jx_int(o, "spec.replicas", 1));
    cell_int(row, jx_int(o, "status.replicas", 0));
    cell_int(row, jx_int(o, "status.readyReplicas", 0));
    cell_age(row, o, "metadata.creationTimestamp", now);
    cells_containers(row, jx_get(o, "spec.template.spec.containers"));
    cell_take(row, format_label_selector(jx_get(o, "spec.selector")));
}

static void cells_daemonset(const json_t *o, time_t now, json_t *row)
{
    cell_str(row, jx_str(o, "metadata.name"));
    cell_int(row, jx_int(o, "status.desiredNumberScheduled", 0));
    cell_int(row, jx_int(o, "status.currentNumberScheduled", 0));
    cell_int(row, jx_int(o, "status.numberReady", 0));
    cell_int(row, jx_int(o, "status.updatedNumberScheduled", 0));
    cell_int(row, jx_int(o, "status.numberAvailable", 0));
    cell_take(row, format_labels(jx_get(o, "spec.template.spec.nodeSelector")));
    cell_age(row, o, "metadata.creationTimestamp", now);
    cells_containers(row, jx_get(o, "spec.template.spec.containers"));
    cell_take(row, format_label_selector(jx_get(o, "spec.selector")));
}

/* ---- Service ---- */

static void strlist_add_sorted(const char **list, size_t *n, const char *s)
{
    size_t i = 0;

    while (i < *n && strcmp(list[i], s) < 0)
        i++;
    if (i < *n && !strcmp(list[i], s))
        return;
    memmove(list + i + 1, list + i, (*n - i) * sizeof *list);
    list[i] = s;
    (*n)++;
}

/* Load-balancer ingress IPs (or hostnames), sorted and unique, then
 * spec.externalIPs. */
static char *service_lb_ips(const json_t *o)
{
    const json_t *ing = jx_get(o, "status.loadBalancer.ingress"),
                 *ext = jx_get(o, "spec.externalIPs");
    size_t ni = json_is_array(ing) ? json_array_size(ing) : 0;
    size_t ne = json_is_array(ext) ? json_array_size(ext) : 0, n = 0, i, len = 1;
    const char **list = xcalloc(ni + ne + 1, sizeof *list);
    char *out;
    json_t *v;

    json_array_foreach(ni ? ing : NULL, i, v)
    {
        const char *s = str_or(jx_str(v, "ip"), jx_str(v, "hostname"));
        if (s && *s)
            strlist_add_sorted(list, &n, s);
    }
    json_array_foreach(ne ? ext : NULL, i, v) if (json_is_string(v)) list[n++] =
        json_string_value(v);
    for (i = 0; i < n; i++)
        len += strlen(list[i]) + 1;
    out = xcalloc(1, len);
    for (i = 0; i < n; i++) {
        if (i)
            strcat(out, ",");
        strcat(out, list[i]);
    }
    free(list);
    return out;
}

static char *join_strings(const json_t *arr)
{
    size_t i, len = 1;
    char *out;
    json_t *v;

    json_array_foreach(json_is_array(arr) ? arr : NULL, i, v) len +=
        strlen(str_or(json_string_value(v), "")) + 1;
    out = xcalloc(1, len);
    json_array_foreach(json_is_array(arr) ? arr : NULL, i, v)
    {
        if (i)
            strcat(out, ",");
        strcat(out, str_or(json_string_value(v), ""));
    }
    return out;
}

static char *service_external_ip(const json_t *o, const char *type)
{
    const json_t *ext = jx_get(o, "spec.externalIPs");
    char *s;

    if (!strcmp(type, "ClusterIP") || !strcmp(type, "NodePort")) {
        if (json_array_size(ext) > 0)
            return join_strings(ext);
        return xstrdup("<none>");
    }
    if (!strcmp(type, "LoadBalancer")) {
        s = service_lb_ips(o);
        if (!*s) {
            free(s);
            return xstrdup("<pending>");
        }
        return s;
    }
    if (!strcmp(type, "ExternalName"))
        return xstrdup(str_or(jx_str(o, "spec.externalName"), ""));
    return xstrdup("<unknown>");
}

static char *service_ports(const json_t *o)
{
    const json_t *ports = jx_get(o, "spec.ports");
    size_t n = json_is_array(ports) ? json_array_size(ports) : 0, i, off = 0;
    char *out = xmalloc(n * 48 + 8);
    json_t *p;

    out[0] = 0;
    json_array_foreach(n ? ports : NULL, i, p)
    {
        json_int_t port = jx_int(p, "port", 0), np = jx_int(p, "nodePort", 0);
        const char *proto = str_or(jx_str(p, "protocol"), "TCP");
        char one[48];
        if (np > 0)
            snprintf(one, sizeof one, "%lld:%lld/%.16s", (long long)port, (long long)np, proto);
        else
            snprintf(one, sizeof one, "%lld/%.16s", (long long)port, proto);
        off += snprintf(out + off, 48 + 1, "%s%s", i ? "," : "", one);
    }
    if (!out[0])
        strcpy(out, "<none>");
    return out;
}

static void cells_service(const json_t *o, time_t now, json_t *row)
{
    const char *type = str_or(jx_str(o, "spec.type"), "ClusterIP");
    const char *cip = json_string_value(json_array_get(jx_get(o, "spec.clusterIPs"), 0));

    cell_str(row, jx_str(o, "metadata.name"));
    cell_str(row, type);
    cell_str(row, str_or(cip ? cip : jx_str(o, "spec.clusterIP"), "<none>"));
    cell_take(row, service_external_ip(o, type));
    cell_take(row, service_ports(o));
    cell_age(row, o, "metadata.creationTimestamp", now);
    cell_take(row, format_labels(jx_get(o, "spec.selector")));
}

/* ---- Endpoints / EndpointSlice ---- */

/* Up to three entries, then " + N more..." (formatEndpoints /
 * listWithMoreString). */
struct shortlist {
    char buf[512];
    size_t off;
    int count;
};

static void shortlist_add(struct shortlist *l, const char *s)
{
    if (l->count++ < 3 && l->off < sizeof l->buf)
        l->off += snprintf(l->buf + l->off, sizeof l->buf - l->off, "%s%s", l->off ? "," : "", s);
}

static void shortlist_cell(json_t *row, struct shortlist *l, const char *empty)
{
    char out[600];

    if (l->count > 3)
        snprintf(out, sizeof out, "%s + %d more...", l->buf, l->count - 3);
    else
        snprintf(out, sizeof out, "%s", l->count ? l->buf : empty);
    cell_str(row, out);
}

static void endpoints_subset(const json_t *ss, struct shortlist *l)
{
    const json_t *addrs = jx_get(ss, "addresses"), *ports = jx_get(ss, "ports");
    size_t i, j;
    json_t *a, *p;
    char hp[128];

    if (json_array_size(ports) == 0) { /* headless service without ports */
        json_array_foreach(json_is_array(addrs) ? addrs : NULL, i, a)
            shortlist_add(l, str_or(jx_str(a, "ip"), ""));
        return;
    }
    json_array_foreach(ports, i, p)
    {
        json_array_foreach(json_is_array(addrs) ? addrs : NULL, j, a)
        {
            const char *ip = str_or(jx_str(a, "ip"), "");
            long long port = (long long)jx_int(p, "port", 0);
            if (strchr(ip, ':'))
                snprintf(hp, sizeof hp, "[%.64s]:%lld", ip, port);
            else
                snprintf(hp, sizeof hp, "%.64s:%lld", ip, port);
            shortlist_add(l, hp);
        }
    }
}

static void cells_endpoints(const json_t *o, time_t now, json_t *row)
{
    const json_t *subsets = jx_get(o, "subsets");
    struct shortlist l = {.off = 0};
    size_t i;
    json_t *ss;

    cell_str(row, jx_str(o, "metadata.name"));
    if (json_array_size(subsets) == 0) {
        cell_str(row, "<none>");
    } else {
        json_array_foreach(subsets, i, ss) endpoints_subset(ss, &l);
        shortlist_cell(row, &l, "");
    }
    cell_age(row, o, "metadata.creationTimestamp", now);
}

static void cells_endpointslice(const json_t *o, time_t now, json_t *row)
{
    struct shortlist ports = {.off = 0}, eps = {.off = 0};
    size_t i, j;
    json_t *p, *e, *a;
    char num[32];

    cell_str(row, jx_str(o, "metadata.name"));
    cell_str(row, jx_str(o, "addressType"));
    json_array_foreach(json_is_array(jx_get(o, "ports")) ? jx_get(o, "ports") : NULL, i, p)
    {
        if (json_is_integer(json_object_get(p, "port"))) {
            snprintf(num, sizeof num, "%lld", (long long)jx_int(p, "port", 0));
            shortlist_add(&ports, num);
        } else {
            shortlist_add(&ports, str_or(jx_str(p, "name"), "*"));
        }
    }
    shortlist_cell(row, &ports, "<unset>");
    json_array_foreach(json_is_array(jx_get(o, "endpoints")) ? jx_get(o, "endpoints") : NULL, i, e)
    {
        json_array_foreach(json_is_array(jx_get(e, "addresses")) ? jx_get(e, "addresses") : NULL, j,
                           a) shortlist_add(&eps, str_or(json_string_value(a), ""));
    }
    shortlist_cell(row, &eps, "<unset>");
    cell_age(row, o, "metadata.creationTimestamp", now);
}

/* ---- Node ---- */

static char *node_roles(const json_t *o)
{
    const json_t *labels = jx_get(o, "metadata.labels");
    const char **list =
        xcalloc(json_is_object(labels) ? json_object_size(labels) + 1 : 1, sizeof *list);
    static const char prefix[] = "node-role.kubernetes.io/";
    size_t n = 0, len = 1;
    const char *k;
    json_t *v;
    char *out;

    json_object_foreach(json_is_object(labels) ? (json_t *)labels : NULL, k, v)
    {
        const char *val = json_string_value(v);
        if (!strncmp(k, prefix, sizeof prefix - 1) && k[sizeof prefix - 1])
            strlist_add_sorted(list, &n, k + sizeof prefix - 1);
        else if (!strcmp(k, "kubernetes.io/role") && val && *val)
            strlist_add_sorted(list, &n, val);
    }
    for (size_t i = 0; i < n; i++)
        len += strlen(list[i]) + 1;
    out = xcalloc(1, len);
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(out, ",");
        strcat(out, list[i]);
    }
    free(list);
    if (!*out) {
        free(out);
        return xstrdup("<none>");
    }
    return out;
}

static const char *node_address(const json_t *o, const char *type)
{
    size_t i;
    json_t *a;

    json_array_foreach(
        json_is_array(jx_get(o, "status.addresses")) ? jx_get(o, "status.addresses") : NULL, i, a)
    {
        const char *t = jx_str(a, "type");
        if (t && !strcmp(t, type))
            return str_or(jx_str(a, "address"), "");
    }
    return "<none>";
}

static void cells_node(const json_t *o, time_t now, json_t *row)
{
    const json_t *conds = jx_get(o, "status.conditions");
    const char *status = "Unknown";
    char buf[64];
    size_t i;
    json_t *c;

    /* The last Ready condition wins, as upstream builds a map keyed by type. */
    json_array_foreach(json_is_array(conds) ? conds : NULL, i, c)
    {
        const char *t = jx_str(c, "type"), *st = jx_str(c, "status");
        if (t && !strcmp(t, "Ready"))
            status = st && !strcmp(st, "True") ? "Ready" : "NotReady";
    }
    snprintf(buf, sizeof buf, "%s%s", status,
             jx_bool(o, "spec.unschedulable") ? ",SchedulingDisabled" : "");
    cell_str(row, jx_str(o, "metadata.name"));
    cell_str(row, buf);
    cell_take(row, node_roles(o));
    cell_age(row, o, "metadata.creationTimestamp", now);
    cell_str(row, jx_str(o, "status.nodeInfo.kubeletVersion"));
    cell_str(row, node_address(o, "InternalIP"));
    cell_str(row, node_address(o, "ExternalIP"));
    cell_str(row, str_or(jx_str(o, "status.nodeInfo.osImage"), "<unknown>"));
    cell_str(row, str_or(jx_str(o, "status.nodeInfo.kernelVersion"), "<unknown>"));
    cell_str(row, str_or(jx_str(o, "status.nodeInfo.containerRuntimeVersion"), "<unknown>"));
}

/* ---- small kinds ---- */

static json_int_t obj_size(const json_t *o, const char *path)
{
    const json_t *v = jx_get(o, path);

    if (json_is_object(v))
        return (json_int_t)json_object_size(v);
    return json_is_array(v) ? (json_int_t)json_array_size(v) : 0;
}

static void cells_namespace(const json_t *o, time_t now, json_t *row)
{
    cell_str(row, jx_str(o, "metadata.name"));
    cell_str(row, jx_str(o, "status.phase"));
    cell_age(row, o, "metadata.creationTimestamp", now);
}

static void cells_configmap(const json_t *o, time_t now, json_t *row)
{
    cell_str(row, jx_str(o, "metadata.name"));
    cell_int(row, obj_size(o, "data") + obj_size(o, "binaryData"));
    cell_age(row, o, "metadata.creationTimestamp", now);
}

static void cells_secret(const json_t *o, time_t now, json_t *row)
{
    cell_str(row, jx_str(o, "metadata.name"));
    cell_str(row, jx_str(o, "type"));
    cell_int(row, obj_size(o, "data"));
    cell_age(row, o, "metadata.creationTimestamp", now);
}

static void cells_serviceaccount(const json_t *o, time_t now, json_t *row)
{
    cell_str(row, jx_str(o, "metadata.name"));
    cell_int(row, obj_size(o, "secrets"));
    cell_age(row, o, "metadata.creationTimestamp", now);
}

/* IntOrString.String(): integers in decimal, strings ("50%") as they are. */
static void cell_int_or_string(json_t *row, const json_t *v)
{
    char buf[32];

    if (json_is_integer(v)) {
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        cell_str(row, buf);
    } else if (json_is_string(v)) {
        cell_str(row, json_string_value(v));
    } else {
        cell_str(row, "N/A");
    }
}

static void cells_pdb(const json_t *o, time_t now, json_t *row)
{
    cell_str(row, jx_str(o, "metadata.name"));
    cell_int_or_string(row, jx_get(o, "spec.minAvailable"));
    cell_int_or_string(row, jx_get(o, "spec.maxUnavailable"));
    cell_int(row, jx_int(o, "status.disruptionsAllowed", 0));
    cell_age(row, o, "metadata.creationTimestamp", now);
}

/* ---- Event ---- */

static void cells_event(const json_t *o, time_t now, json_t *row)
{
    char first[32], last[32], buf[512], *msg, *end;
    const char *kind = str_or(jx_str(o, "involvedObject.kind"), "");
    const char *name = jx_str(o, "involvedObject.name");
    const char *comp = str_or(jx_str(o, "source.component"), jx_str(o, "reportingComponent"));
    const char *inst = str_or(jx_str(o, "source.host"), jx_str(o, "reportingInstance"));
    json_int_t count = jx_int(o, "count", 0);
    size_t off;

    age_fmt(time_at(o, "firstTimestamp") > 0 ? time_at(o, "firstTimestamp")
                                             : time_at(o, "eventTime"),
            now, first, sizeof first);
    if (time_at(o, "lastTimestamp") > 0)
        age_fmt(time_at(o, "lastTimestamp"), now, last, sizeof last);
    else
        snprintf(last, sizeof last, "%s", first);
    if (json_is_object(jx_get(o, "series"))) {
        age_fmt(time_at(o, "series.lastObservedTime"), now, last, sizeof last);
        count = jx_int(o, "series.count", 0);
    } else if (count == 0) {
        count = 1; /* singleton events carry no count in the events.k8s.io API */
    }
    off = snprintf(buf, sizeof buf, "%.200s", kind);
    for (size_t i = 0; i < off; i++)
        buf[i] = (char)tolower((unsigned char)buf[i]);
    if (name && *name)
        snprintf(buf + off, sizeof buf - off, "/%.250s", name);
    cell_str(row, last);
    cell_str(row, jx_str(o, "type"));
    cell_str(row, jx_str(o, "reason"));
    cell_str(row, buf);
    cell_str(row, jx_str(o, "involvedObject.fieldPath"));
    if (inst && *inst)
        snprintf(buf, sizeof buf, "%.200s, %.200s", str_or(comp, ""), inst);
    else
        snprintf(buf, sizeof buf, "%.200s", str_or(comp, ""));
    cell_str(row, buf);
    msg = xstrdup(str_or(jx_str(o, "message"), ""));
    for (end = msg + strlen(msg); end > msg && isspace((unsigned char)end[-1]);)
        *--end = 0;
    cell_str(row, msg + strspn(msg, " \t\r\n\v\f"));
    free(msg);
    cell_str(row, first);
    cell_int(row, count);
    cell_str(row, jx_str(o, "metadata.name"));
}

/* ---- the default table (rest.NewDefaultTableConvertor) ---- */

static void cells_default(const json_t *o, time_t now, json_t *row)
{
    char ts[32];
    time_t t = time_at(o, "metadata.creationTimestamp");

    cell_str(row, jx_str(o, "metadata.name"));
    if (t < 0)
        snprintf(ts, sizeof ts, "0001-01-01T00:00:00Z"); /* Go's zero time */
    else
        time_rfc3339(t, ts);
    cell_str(row, ts);
}

/* ---- column tables ---- */

#define NAME                                                                                       \
    {                                                                                              \
        "Name", "string", 0                                                                        \
    }
#define AGE                                                                                        \
    {                                                                                              \
        "Age", "string", 0                                                                         \
    }
#define END                                                                                        \
    {                                                                                              \
        NULL, NULL, 0                                                                              \
    }

static const struct coldef pod_cols[] = {NAME,
                                         {"Ready", "string", 0},
                                         {"Status", "string", 0},
                                         {"Restarts", "string", 0},
                                         AGE,
                                         {"IP", "string", 1},
                                         {"Node", "string", 1},
                                         {"Nominated Node", "string", 1},
                                         {"Readiness Gates", "string", 1},
                                         END};
static const struct coldef deploy_cols[] = {
    NAME, {"Ready", "string", 0},      {"Up-to-date", "string", 0}, {"Available", "string", 0},
    AGE,  {"Containers", "string", 1}, {"Images", "string", 1},     {"Selector", "string", 1},
    END};
static const struct coldef rs_cols[] = {
    NAME, {"Desired", "integer", 0},   {"Current", "integer", 0}, {"Ready", "integer", 0},
    AGE,  {"Containers", "string", 1}, {"Images", "string", 1},   {"Selector", "string", 1},
    END};
static const struct coldef ds_cols[] = {NAME,
                                        {"Desired", "integer", 0},
                                        {"Current", "integer", 0},
                                        {"Ready", "integer", 0},
                                        {"Up-to-date", "integer", 0},
                                        {"Available", "integer", 0},
                                        {"Node Selector", "string", 0},
                                        AGE,
                                        {"Containers", "string", 1},
                                        {"Images", "string", 1},
                                        {"Selector", "string", 1},
                                        END};
static const struct coldef svc_cols[] = {NAME,
                                         {"Type", "string", 0},
                                         {"Cluster-IP", "string", 0},
                                         {"External-IP", "string", 0},
                                         {"Port(s)", "string", 0},
                                         AGE,
                                         {"Selector", "string", 1},
                                         END};
static const struct coldef ep_cols[] = {NAME, {"Endpoints", "string", 0}, AGE, END};
static const struct coldef eps_cols[] = {
    NAME, {"AddressType", "string", 0}, {"Ports", "string", 0}, {"Endpoints", "string", 0}, AGE,
    END};
static const struct coldef node_cols[] = {NAME,
                                          {"Status", "string", 0},
                                          {"Roles", "string", 0},
                                          AGE,
                                          {"Version", "string", 0},
                                          {"Internal-IP", "string", 1},
                                          {"External-IP", "string", 1},
                                          {"OS-Image", "string", 1},
                                          {"Kernel-Version", "string", 1},
                                          {"Container-Runtime", "string", 1},
                                          END};
static const struct coldef ns_cols[] = {NAME, {"Status", "string", 0}, AGE, END};
static const struct coldef cm_cols[] = {NAME, {"Data", "string", 0}, AGE, END};
static const struct coldef secret_cols[] = {
    NAME, {"Type", "string", 0}, {"Data", "string", 0}, AGE, END};
static const struct coldef sa_cols[] = {NAME, {"Secrets", "string", 0}, AGE, END};
static const struct coldef pdb_cols[] = {NAME,
                                         {"Min Available", "string", 0},
                                         {"Max Unavailable", "string", 0},
                                         {"Allowed Disruptions", "integer", 0},
                                         AGE,
                                         END};
/* Events have no leading Name column; Name comes last, wide only (still format
 * "name"). */
static const struct coldef event_cols[] = {{"Last Seen", "string", 0},
                                           {"Type", "string", 0},
                                           {"Reason", "string", 0},
                                           {"Object", "string", 0},
                                           {"Subobject", "string", 1},
                                           {"Source", "string", 1},
                                           {"Message", "string", 0},
                                           {"First Seen", "string", 1},
                                           {"Count", "string", 1},
                                           {"Name", "string", 1},
                                           END};
static const struct coldef default_cols[] = {NAME, {"Created At", "date", 0}, END};

static const struct kinddef kinds[] = {
    {"", "Pod", pod_cols, cells_pod},
    {"apps", "Deployment", deploy_cols, cells_deployment},
    {"apps", "ReplicaSet", rs_cols, cells_replicaset},
    {"apps", "DaemonSet", ds_cols, cells_daemonset},
    {"", "Service", svc_cols, cells_service},
    {"", "Endpoints", ep_cols, cells_endpoints},
    {"discovery.k8s.io", "EndpointSlice", eps_cols, cells_endpointslice},
    {"", "Node", node_cols, cells_node},
    {"", "Namespace", ns_cols, cells_namespace},
    {"", "ConfigMap", cm_cols, cells_configmap},
    {"", "Secret", secret_cols, cells_secret},
    {"", "ServiceAccount", sa_cols, cells_serviceaccount},
    {"", "Event", event_cols, cells_event},
    {"policy", "PodDisruptionBudget", pdb_cols, cells_pdb},
};

static const struct kinddef default_kind = {NULL, NULL, default_cols, cells_default};

static const struct kinddef *kind_find(const char *group, const char *kind)
{
    for (size_t i = 0; kind && i < sizeof kinds / sizeof kinds[0]; i++)
        if (!strcmp(kinds[i].kind, kind) && (!group || !strcmp(kinds[i].group, group)))
            return &kinds[i];
    return &default_kind;
}

json_t *table_columns(const char *group, const char *kind)
{
    const struct kinddef *k = kind_find(group, kind);
    json_t *cols = json_array();

    for (const struct coldef *c = k->cols; c->name; c++)
        json_array_append_new(cols,
                              json_pack("{s:s,s:s,s:s,s:s,s:i}", "name", c->name, "type", c->type,
                                        "format", strcmp(c->name, "Name") ? "" : "name",
                                        "description", "", "priority", c->priority));
    return cols;
}

json_t *table_cells(const char *group, const char *kind, const json_t *obj, time_t now)
{
    json_t *row = json_array();

    kind_find(group, kind)->cells(obj, now, row);
    return row;
}

/* Pods that ran to completion carry a row condition, as upstream (kubectl may
 * use it). */
static json_t *row_conditions(const struct kinddef *k, const json_t *obj)
{
    const char *phase = jx_str(obj, "status.phase");

    if (k->cells != cells_pod || !phase)
        return NULL;
    if (!strcmp(phase, "Succeeded"))
        return json_pack("[{s:s,s:s,s:s,s:s}]", "type", "Completed", "status", "True", "reason",
                         "Succeeded", "message", "The pod has completed successfully.");
    if (!strcmp(phase, "Failed"))
        return json_pack("[{s:s,s:s,s:s,s:s}]", "type", "Completed", "status", "True", "reason",
                         "Failed", "message", "The pod failed.");
    return NULL;
}

static json_t *row_object(const json_t *obj, const char *include)
{
    const json_t *md = json_object_get(obj, "metadata");

    if (include && !strcmp(include, "None"))
        return NULL;
    if (include && !strcmp(include, "Object"))
        return json_deep_copy(obj);
    return json_pack("{s:s,s:s,s:o}", "kind", "PartialObjectMetadata", "apiVersion",
                     "meta.k8s.io/v1", "metadata",
                     json_is_object(md) ? json_deep_copy(md) : json_object());
}

json_t *table_build(const char *group, const char *kind, const json_t *items, const char *rv,
                    const char *include_object, int with_columns, time_t now)
{
    const struct kinddef *k = kind_find(group, kind);
    json_t *t = json_object(), *md = json_object(), *rows = json_array(), *item;
    size_t i;

    json_object_set_new(t, "kind", json_string("Table"));
    json_object_set_new(t, "apiVersion", json_string("meta.k8s.io/v1"));
    if (rv)
        json_object_set_new(md, "resourceVersion", json_string(rv));
    json_object_set_new(t, "metadata", md);
    if (with_columns)
        json_object_set_new(t, "columnDefinitions", table_columns(group, kind));
    json_array_foreach(json_is_array(items) ? items : NULL, i, item)
    {
        json_t *row = json_object(), *cells = json_array(), *conds, *obj;
        k->cells(item, now, cells);
        json_object_set_new(row, "cells", cells);
        if ((conds = row_conditions(k, item)))
            json_object_set_new(row, "conditions", conds);
        if ((obj = row_object(item, include_object)))
            json_object_set_new(row, "object", obj);
        json_array_append_new(rows, row);
    }
    json_object_set_new(t, "rows", rows);
    return t;
}
