/* A pod's /etc/resolv.conf as the kubelet writes it (pkg/kubelet/network/dns): dnsPolicy
 * ClusterFirst (the default) points at the cluster DNS that kroll's proxy serves, with the
 * namespace's search path and ndots:5; Default keeps the host's file; None uses dnsConfig
 * alone; hostNetwork pods with ClusterFirst get the host's (ClusterFirstWithHostNet opts in).
 * dnsConfig is merged as upstream: nameservers and searches appended without duplicates,
 * options replacing the ones of the same name. Upstream's limits: 3 nameservers, 32 search
 * domains of at most 2048 characters in all (the rest is dropped, as the kubelet does). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jx.h"
#include "core/log.h"
#include "core/netns.h"
#include "node/rootfs.h"

#define MAX_NS 3
#define MAX_SEARCH 32
#define MAX_SEARCH_CHARS 2048
#define MAX_OPTS 32

struct conf {
    char *ns[MAX_NS], *search[MAX_SEARCH], *opts[MAX_OPTS];
    int nns, nsearch, nopts;
    size_t search_chars;
};

static void conf_free(struct conf *c)
{
    for (int i = 0; i < c->nns; i++)
        free(c->ns[i]);
    for (int i = 0; i < c->nsearch; i++)
        free(c->search[i]);
    for (int i = 0; i < c->nopts; i++)
        free(c->opts[i]);
}

static int has(char *const *v, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(v[i], s))
            return 1;
    return 0;
}

static void add_ns(struct conf *c, const char *s)
{
    if (*s && c->nns < MAX_NS && !has(c->ns, c->nns, s))
        c->ns[c->nns++] = xstrdup(s);
}

static void add_search(struct conf *c, const char *s)
{
    size_t len = strlen(s);

    if (!*s || c->nsearch >= MAX_SEARCH || has(c->search, c->nsearch, s) ||
        c->search_chars + len + 1 > MAX_SEARCH_CHARS)
        return;
    c->search_chars += len + 1;
    c->search[c->nsearch++] = xstrdup(s);
}

/* "name" or "name:value": a later option of the same name replaces the earlier one. */
static void add_opt(struct conf *c, const char *s)
{
    size_t nl = strcspn(s, ":");

    if (!*s)
        return;
    for (int i = 0; i < c->nopts; i++)
        if (strcspn(c->opts[i], ":") == nl && !strncmp(c->opts[i], s, nl)) {
            free(c->opts[i]);
            c->opts[i] = xstrdup(s);
            return;
        }
    if (c->nopts < MAX_OPTS)
        c->opts[c->nopts++] = xstrdup(s);
}

/* The host's file: nameserver, search/domain and options lines. */
static void parse_host(struct conf *c, const char *text, int take_ns, int take_opts)
{
    char *copy = xstrdup(text ? text : ""), *save = NULL;

    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *s2 = NULL, *kw = strtok_r(line, " \t\r", &s2), *w;

        if (!kw || *kw == '#' || *kw == ';')
            continue;
        while ((w = strtok_r(NULL, " \t\r", &s2))) {
            if (!strcmp(kw, "nameserver") && take_ns)
                add_ns(c, w);
            else if (!strcmp(kw, "search") || !strcmp(kw, "domain"))
                add_search(c, w);
            else if (!strcmp(kw, "options") && take_opts)
                add_opt(c, w);
        }
    }
    free(copy);
}

static void merge_config(struct conf *c, const json_t *dc)
{
    size_t i;
    json_t *v;

    json_array_foreach(json_object_get(dc, "nameservers"), i, v)
        add_ns(c, json_string_value(v) ?: "");
    json_array_foreach(json_object_get(dc, "searches"), i, v)
        add_search(c, json_string_value(v) ?: "");
    json_array_foreach(json_object_get(dc, "options"), i, v)
    {
        const char *name = jx_str(v, "name"), *val = jx_str(v, "value");
        char *o;

        if (!name || !*name)
            continue;
        o = val ? xasprintf("%s:%s", name, val) : xstrdup(name);
        add_opt(c, o);
        free(o);
    }
}

char *rootfs_resolv_conf(const json_t *pod, const char *host)
{
    const char *policy = jx_str(pod, "spec.dnsPolicy") ?: "ClusterFirst";
    const char *ns = jx_str(pod, "metadata.namespace") ?: "default";
    int hostnet = jx_bool(pod, "spec.hostNetwork");
    struct conf c = {0};
    char *out, *p;
    size_t cap = 256 + strlen(policy);

    if (!strcmp(policy, "ClusterFirstWithHostNet") ||
        (!strcmp(policy, "ClusterFirst") && !hostnet)) {
        char *s1 = xasprintf("%s.svc.cluster.local", ns);

        add_ns(&c, CLUSTER_DNS_IP);
        add_search(&c, s1);
        add_search(&c, "svc.cluster.local");
        add_search(&c, "cluster.local");
        free(s1);
        parse_host(&c, host, 0, 0); /* the host's search domains follow, as upstream */
        add_opt(&c, "ndots:5");
    } else if (strcmp(policy, "None")) { /* Default, or ClusterFirst on the host network */
        parse_host(&c, host, 1, 1);
    }
    merge_config(&c, json_object_get(json_object_get(pod, "spec"), "dnsConfig"));
    for (int i = 0; i < c.nns; i++)
        cap += strlen(c.ns[i]) + 12;
    for (int i = 0; i < c.nopts; i++)
        cap += strlen(c.opts[i]) + 1;
    cap += c.search_chars + 16;
    out = p = xmalloc(cap);
    p += sprintf(p, "# Kubernetes-managed resolv.conf (dnsPolicy %s).\n", policy);
    for (int i = 0; i < c.nns; i++)
        p += sprintf(p, "nameserver %s\n", c.ns[i]);
    if (c.nsearch) {
        p += sprintf(p, "search");
        for (int i = 0; i < c.nsearch; i++)
            p += sprintf(p, " %s", c.search[i]);
        p += sprintf(p, "\n");
    }
    if (c.nopts) {
        p += sprintf(p, "options");
        for (int i = 0; i < c.nopts; i++)
            p += sprintf(p, " %s", c.opts[i]);
        sprintf(p, "\n");
    }
    conf_free(&c);
    return out;
}
