/* Lists: a whole collection or one page of it (limit/continue), as kube-apiserver serves them.
 * Every page is served at the first page's revision: the store keeps only the current state,
 * so an older revision is rebuilt from it by undoing the watch ring's later events, newest
 * first (an object added since is dropped, a modified or deleted one gets its old state back).
 * When the ring no longer reaches that revision the answer is upstream's 410 Expired with a
 * token to go on inconsistently (revision -1: the rest of the current state). The continue
 * token is upstream's (continue.c). */
#include "api/api-int.h"
#include "api/kind.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/continue.h"
#include "api/table.h"
#include "core/jx.h"
#include "core/log.h"

static void undo_one(enum store_ev type, const char *res, json_t *obj, json_t *old, int64_t rv,
                     void *ctx)
{
    (void)res;
    (void)rv;
    json_array_append_new(ctx, json_pack("{s:i,s:O,s:O?}", "t", type, "o", obj, "old", old));
}

static void key_of(const json_t *o, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", jx_str(o, "metadata.namespace") ?: "", jx_str(o, "metadata.name") ?: "");
}

/* The collection at revision rv (a new map), or NULL when the ring no longer reaches it. */
static json_t *map_at(struct api *api, const struct resource *r, long long rv)
{
    json_t *m = json_object(), *evs = json_array(), *cur = store_map(api->store, r->key);
    char key[600];

    if (cur)
        json_object_update(m, cur);
    if (rv < 0 || rv >= (long long)store_rv(api->store)) {
        json_decref(evs);
        return m;
    }
    if (store_replay(api->store, r->key, rv, undo_one, evs) < 0) {
        json_decref(evs);
        json_decref(m);
        return NULL;
    }
    for (size_t i = json_array_size(evs); i-- > 0;) {
        json_t *e = json_array_get(evs, i), *o = json_object_get(e, "o");
        json_t *old = json_object_get(e, "old");

        key_of(o, key, sizeof key);
        if (json_integer_value(json_object_get(e, "t")) == STORE_ADDED || !old)
            json_object_del(m, key);
        else
            json_object_set(m, key, old);
    }
    json_decref(evs);
    return m;
}

static int cmp_nsname(const char *ns1, const char *n1, const char *ns2, const char *n2)
{
    int c = strcmp(ns1, ns2);

    return c ? c : strcmp(n1, n2);
}

static int cmp_items(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;

    return cmp_nsname(jx_str(x, "metadata.namespace") ?: "", jx_str(x, "metadata.name") ?: "",
                      jx_str(y, "metadata.namespace") ?: "", jx_str(y, "metadata.name") ?: "");
}

/* The objects of the target in the map that pass the filter, sorted by namespace and name
 * (borrowed from m); *n their count. */
static json_t **select_items(const json_t *m, const struct api_target *t,
                             const struct api_filter *f, size_t *n)
{
    json_t **arr = xcalloc(json_object_size(m) + 1, sizeof *arr), *v;
    const char *k;

    *n = 0;
    json_object_foreach((json_t *)m, k, v)
    {
        if (t->ns && strcmp(jx_str(v, "metadata.namespace") ?: "", t->ns) != 0)
            continue;
        if (api__filter_match(f, v))
            arr[(*n)++] = v;
    }
    qsort(arr, *n, sizeof *arr, cmp_items);
    return arr;
}

static void fail_expired(struct http_req *req, const struct list_token *tk)
{
    char *cont = list_token_encode(-1, tk->ns, tk->name);
    json_t *st = api_status_json(
        -E_GONE, "The provided continue parameter is too old to display a consistent list "
                 "result. You can start a new list without the continue parameter, or use the "
                 "continue token in this response to retrieve the remainder of the results. "
                 "Continuing with the provided token results in an inconsistent list - objects "
                 "that were created, modified, or deleted between the time the first chunk was "
                 "returned and now may show up in the list.", NULL);

    json_object_set_new(json_object_get(st, "metadata"), "continue", json_string(cont));
    api__respond_json(req, 410, st);
    json_decref(st);
    free(cont);
}

/* Checks the revision a first page asks for against the store's (it keeps no older states):
 * newer than now is 504, Exact at an older one 410. */
static int rv_check(struct api *api, const struct api_listopts *o, struct err *err)
{
    long long now = (long long)store_rv(api->store);

    if (o->rv_n > now)
        return api__rv_too_large(err, o->rv_n, now);
    if (o->rv_match && strcmp(o->rv_match, "Exact") == 0 && o->rv_n != now)
        return err_set(err, -E_GONE, "The resourceVersion for the provided list is too old.");
    return 0;
}

static void respond(struct http_req *req, const struct api_target *t, json_t *items,
                    long long rv, const char *cont, long long remaining)
{
    char rvs[32], kind[96];
    json_t *doc, *meta;

    snprintf(rvs, sizeof rvs, "%lld", rv);
    if (api__wants_table(req)) {
        doc = table_build(api_kind(t->r->id), items, rvs, http_req_query(req, "includeObject"),
                          1, time(NULL));
    } else {
        json_t *served = json_array(), *it;
        char av[96];
        size_t i;

        json_array_foreach(items, i, it)
            json_array_append_new(served, kind_served(t->r, t->alt, it));
        snprintf(kind, sizeof kind, "%sList", t->r->kind);
        snprintf(av, sizeof av, "%s%s%s", t->r->group, *t->r->group ? "/" : "",
                 t->alt ? api_kind(t->r->id)->alt_version : t->r->version);
        doc = json_pack("{s:s,s:s,s:{s:s},s:o}", "kind", kind, "apiVersion", av, "metadata",
                        "resourceVersion", rvs, "items", served);
    }
    meta = json_object_get(doc, "metadata");
    if (cont && meta) {
        json_object_set_new(meta, "continue", json_string(cont));
        if (remaining >= 0)
            json_object_set_new(meta, "remainingItemCount", json_integer(remaining));
    }
    api__respond_json(req, 200, doc);
    json_decref(doc);
}

void api__list(struct api *api, struct http_req *req, struct api_target *t,
               const struct api_listopts *o)
{
    struct err err;
    struct api_filter *f = NULL;
    struct list_token tk = {.rv = 0};
    json_t *m = NULL, **arr, *items;
    size_t n, first = 0, end;
    long long rv = (long long)store_rv(api->store);
    char *cont = NULL;

    err_init(&err);
    if (o->cont && *o->cont) {
        if (o->rv && *o->rv && strcmp(o->rv, "0") != 0)
            err_set(&err, -E_BAD_REQUEST,
                    "specifying resource version is not allowed when using continue");
        else if (list_token_decode(o->cont, &tk, &err) == 0 && tk.rv > 0)
            rv = tk.rv;
    } else {
        rv_check(api, o, &err);
    }
    if (err.code || !(f = api__filter_new(req, t->r, &err))) {
        api__fail(req, &err);
        err_release(&err);
        return;
    }
    if (!(m = map_at(api, t->r, rv))) {
        fail_expired(req, &tk);
        api__filter_free(f);
        return;
    }
    arr = select_items(m, t, f, &n);
    if (o->cont && *o->cont)
        while (first < n && cmp_nsname(jx_str(arr[first], "metadata.namespace") ?: "",
                                       jx_str(arr[first], "metadata.name") ?: "", tk.ns,
                                       tk.name) <= 0)
            first++;
    end = o->limit > 0 && (size_t)o->limit < n - first ? first + (size_t)o->limit : n;
    items = json_array();
    for (size_t i = first; i < end; i++)
        json_array_append(items, arr[i]);
    if (end < n)
        cont = list_token_encode(rv, jx_str(arr[end - 1], "metadata.namespace") ?: "",
                                 jx_str(arr[end - 1], "metadata.name") ?: "");
    /* Like upstream, the count of the rest only when no selector filters the list. */
    respond(req, t, items, rv, cont,
            http_req_query(req, "labelSelector") && *http_req_query(req, "labelSelector") ? -1
            : http_req_query(req, "fieldSelector") && *http_req_query(req, "fieldSelector")
                ? -1
                : (long long)(n - end));
    free(cont);
    free(arr);
    json_decref(items);
    json_decref(m);
    api__filter_free(f);
}
