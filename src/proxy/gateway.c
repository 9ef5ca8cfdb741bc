/* Gateway API routing for a Gateway listener (gateway.networking.k8s.io/v1 HTTPRoute): the
 * routes attached to the listener flattened into one list of matches in the API's precedence
 * order (Exact path before prefix, longer path first, method, more header matches, then the
 * older route, its name, rule and match order), and per rule its weighted backendRefs, each a
 * Service port's endpoint table. A request takes the first match whose hostname, path, method
 * and headers fit; the rule's backend is chosen by smooth weighted round robin, exact per
 * request (a worker's state is its own row, so N workers are within N requests of the
 * weights). Built by the reconciler, read-only to workers except each worker's row. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/jx.h"
#include "core/log.h"
#include "proxy/proxy-int.h"

#define RT_MAX_MATCHES 4096 /* per listener: 16 rules x 64 matches x routes, capped */

struct px_match {
    int exact;  /* path Exact, else PathPrefix */
    char *path; /* a prefix without its trailing '/' ("" for "/") */
    size_t plen;
    char *method; /* NULL: any */
    int nhdr;
    char **hname, **hval;
    const json_t *hosts; /* the route's hostnames (borrowed from routes->src); empty: any */
    int order[3];        /* route, rule, match: the tie-breakers */
    int rule;            /* index into routes->rules */
};

struct px_backend {
    struct px_table *t; /* NULL: the Service or its port does not exist (500) */
    int64_t weight;
};

struct px_rule {
    int nb;
    struct px_backend *b;
    int64_t total;
    int64_t *cur; /* [nworkers][nb]: each worker's smooth round robin state */
};

struct px_routes {
    json_t *src; /* the entries built from */
    char *sig;
    int nm, nr, nworkers;
    struct px_match *m;
    struct px_rule *r;
};

const char *px_routes_sig(const struct px_routes *r)
{
    return r ? r->sig : "";
}

void px_routes_free(struct px_routes *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->nm; i++) {
        struct px_match *m = &r->m[i];

        for (int j = 0; j < m->nhdr; j++) {
            free(m->hname[j]);
            free(m->hval[j]);
        }
        free(m->hname);
        free(m->hval);
        free(m->path);
        free(m->method);
    }
    for (int i = 0; i < r->nr; i++) {
        for (int j = 0; j < r->r[i].nb; j++)
            px_table_unref(r->r[i].b[j].t);
        free(r->r[i].b);
        free(r->r[i].cur);
    }
    free(r->m);
    free(r->r);
    free(r->sig);
    json_decref(r->src);
    free(r);
}

static int match_cmp(const void *pa, const void *pb)
{
    const struct px_match *a = pa, *b = pb;

    if (a->exact != b->exact)
        return b->exact - a->exact;
    if (a->plen != b->plen)
        return a->plen > b->plen ? -1 : 1;
    if (!a->method != !b->method)
        return a->method ? -1 : 1;
    if (a->nhdr != b->nhdr)
        return b->nhdr - a->nhdr;
    for (int i = 0; i < 3; i++)
        if (a->order[i] != b->order[i])
            return a->order[i] - b->order[i];
    return 0;
}

static void match_add(struct px_routes *r, const json_t *m, const json_t *hosts, int route,
                      int rule, int idx)
{
    const char *type = jx_str(m, "path.type") ?: "PathPrefix", *v = jx_str(m, "path.value") ?: "/";
    struct px_match *x;
    const json_t *h;
    size_t i, n;

    if (r->nm >= RT_MAX_MATCHES)
        return;
    r->m = xrealloc(r->m, (size_t)(r->nm + 1) * sizeof *r->m);
    x = &r->m[r->nm++];
    memset(x, 0, sizeof *x);
    x->exact = !strcmp(type, "Exact");
    n = strlen(v);
    while (!x->exact && n > 0 && v[n - 1] == '/')
        n--;
    x->path = xmalloc(n + 1);
    memcpy(x->path, v, n);
    x->path[n] = 0;
    x->plen = x->exact ? strlen(v) : n;
    x->method = jx_str(m, "method") ? xstrdup(jx_str(m, "method")) : NULL;
    x->hosts = hosts;
    x->order[0] = route;
    x->order[1] = rule;
    x->order[2] = idx;
    x->rule = r->nr;
    n = json_array_size(json_object_get(m, "headers"));
    x->hname = xcalloc(n + 1, sizeof *x->hname);
    x->hval = xcalloc(n + 1, sizeof *x->hval);
    json_array_foreach(json_object_get(m, "headers"), i, h)
    {
        x->hname[x->nhdr] = xstrdup(jx_str(h, "name") ?: "");
        x->hval[x->nhdr++] = xstrdup(jx_str(h, "value") ?: "");
    }
}

static void rule_add(struct px_routes *r, const json_t *rule, const char *ns,
                     px_backend_lookup_fn *lookup, void *ctx)
{
    const json_t *b;
    struct px_rule *x;
    size_t i;

    r->r = xrealloc(r->r, (size_t)(r->nr + 1) * sizeof *r->r);
    x = &r->r[r->nr++];
    memset(x, 0, sizeof *x);
    x->b = xcalloc(json_array_size(json_object_get(rule, "backendRefs")) + 1, sizeof *x->b);
    json_array_foreach(json_object_get(rule, "backendRefs"), i, b)
    {
        int64_t w = jx_int(b, "weight", 1);

        if (w <= 0)
            continue;
        x->b[x->nb].weight = w;
        x->b[x->nb++].t = lookup(jx_str(b, "namespace") ?: ns, jx_str(b, "name") ?: "",
                                 (int)jx_int(b, "port", 0), ctx);
        x->total += w;
    }
    x->cur = xcalloc((size_t)r->nworkers * (size_t)(x->nb ? x->nb : 1), sizeof *x->cur);
}

struct px_routes *px_routes_build(json_t *entries, int nworkers, px_backend_lookup_fn *lookup,
                                  void *ctx)
{
    struct px_routes *r = xcalloc(1, sizeof *r);
    const json_t *e, *rule, *m;
    size_t i, j, k;

    r->src = entries;
    r->nworkers = nworkers;
    json_array_foreach(entries, i, e)
    {
        const char *ns = jx_str(e, "namespace") ?: "default";
        const json_t *hosts = json_object_get(e, "hostnames");

        json_array_foreach(json_object_get(e, "rules"), j, rule)
        {
            json_array_foreach(json_object_get(rule, "matches"), k, m)
                match_add(r, m, hosts, (int)i, (int)j, (int)k);
            if (!json_array_size(json_object_get(rule, "matches")))
                match_add(r, NULL, hosts, (int)i, (int)j, 0);
            rule_add(r, rule, ns, lookup, ctx);
        }
    }
    qsort(r->m, (size_t)r->nm, sizeof *r->m, match_cmp);
    {
        /* The identity of what was built: the entries and the backend tables they resolved
         * to, so the reconciler republishes only when either changed. */
        char *dump = json_dumps(entries, JSON_COMPACT | JSON_SORT_KEYS);
        size_t len = strlen(dump ? dump : "") + 32;

        for (int x = 0; x < r->nr; x++)
            len += (size_t)r->r[x].nb * 24;
        r->sig = xmalloc(len);
        k = (size_t)snprintf(r->sig, len, "%s", dump ? dump : "");
        for (int x = 0; x < r->nr; x++)
            for (int y = 0; y < r->r[x].nb && k < len; y++)
                k += (size_t)snprintf(r->sig + k, len - k, "|%p", (void *)r->r[x].b[y].t);
        free(dump);
    }
    return r;
}

/* ---- request time ---- */

static int host_fits(const json_t *hosts, const char *host, size_t n)
{
    const json_t *h;
    size_t i;

    if (!json_array_size(hosts))
        return 1;
    json_array_foreach(hosts, i, h)
    {
        const char *s = json_string_value(h);
        size_t sl = s ? strlen(s) : 0;

        if (!s)
            continue;
        if (s[0] == '*' && n > sl - 1 && !strncasecmp(host + n - (sl - 1), s + 1, sl - 1))
            return 1; /* "*.example.com": at least one more label in front */
        if (sl == n && !strncasecmp(s, host, n))
            return 1;
    }
    return 0;
}

static int path_fits(const struct px_match *m, const char *path, size_t n)
{
    if (m->exact)
        return n == m->plen && !memcmp(path, m->path, n);
    return n >= m->plen && !memcmp(path, m->path, m->plen) &&
           (n == m->plen || path[m->plen] == '/');
}

static const char *header(const struct px_head *hd, const char *name, size_t *n)
{
    for (int i = 0; i < hd->n; i++)
        if (px_head_is(hd, i, name)) {
            const char *v = hd->raw.data + hd->h[i].val_off;
            size_t len = hd->h[i].val_len;

            while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
                len--;
            *n = len;
            return v;
        }
    return NULL;
}

static int headers_fit(const struct px_match *m, const struct px_head *hd)
{
    for (int i = 0; i < m->nhdr; i++) {
        size_t n;
        const char *v = header(hd, m->hname[i], &n);

        if (!v || n != strlen(m->hval[i]) || memcmp(v, m->hval[i], n))
            return 0;
    }
    return 1;
}

/* Smooth weighted round robin (nginx): every backend gains its weight, the richest is picked
 * and pays the total. */
static struct px_backend *rule_pick(struct px_rule *r, int wid)
{
    int64_t *cur = r->cur + (size_t)wid * (size_t)r->nb;
    int best = -1;

    for (int i = 0; i < r->nb; i++) {
        cur[i] += r->b[i].weight;
        if (best < 0 || cur[i] > cur[best])
            best = i;
    }
    if (best < 0)
        return NULL;
    cur[best] -= r->total;
    return &r->b[best];
}

struct px_table *px_routes_pick(struct px_routes *r, const struct px_head *hd, const char *method,
                                int wid, int *status)
{
    const char *url = hd->raw.data + hd->url_off, *host, *q;
    size_t n = hd->url_len, hn = 0;

    if (n > 7 && !strncasecmp(url, "http://", 7)) { /* absolute form: skip the authority */
        const char *s = memchr(url + 7, '/', n - 7);

        n = s ? n - (size_t)(s - url) : 0;
        url = s ? s : "/";
        n = n ? n : 1;
    }
    if ((q = memchr(url, '?', n)))
        n = (size_t)(q - url);
    if ((host = header(hd, "host", &hn))) {
        const char *colon = memchr(host, ':', hn);

        if (colon && host[0] != '[')
            hn = (size_t)(colon - host);
    }
    for (int i = 0; i < r->nm; i++) {
        struct px_match *m = &r->m[i];
        struct px_backend *b;

        if (!path_fits(m, url, n) || (m->method && strcmp(m->method, method)) ||
            (json_array_size(m->hosts) && (!host || !host_fits(m->hosts, host, hn))) ||
            !headers_fit(m, hd))
            continue;
        b = rule_pick(&r->r[m->rule], wid);
        if (!b || !b->t) {
            *status = 500; /* no backend with weight, or one that does not exist */
            return NULL;
        }
        return b->t;
    }
    *status = 404;
    return NULL;
}
