/* Request routing that needs no server state: the resource table and its lookups, the split
 * of /api/v1/... and /apis/G/V/... paths into a resource target, and which paths are
 * discovery or public. Kept apart from server.c so that the fuzzer can drive it alone. */
#include "api/api-int.h"
#include "api/kind.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* clang-format off */
const struct resource api_resources[RES_COUNT] = {
#define XX(id, g, v, k, p, s, sn, ns, f)                                                           \
    [RES_##id] = {RES_##id, g, v, k, p, s, sn, ns, f, sizeof(g) > 1 ? p "." g : p,                 \
                  sizeof(g) > 1 ? g "/" v : v},
#include "api/resources.def"
#undef XX
};
/* clang-format on */

const struct resource *api_resource(enum res_id id)
{
    return &api_resources[id];
}

/* The table's rows sorted by store key, once, for api__resource_by_key's binary search. */
static const struct resource *by_key[RES_COUNT];
static pthread_once_t by_key_once = PTHREAD_ONCE_INIT;

static int cmp_key(const void *a, const void *b)
{
    return strcmp((*(const struct resource *const *)a)->key,
                  (*(const struct resource *const *)b)->key);
}

static void by_key_sort(void)
{
    for (int i = 0; i < RES_COUNT; i++)
        by_key[i] = &api_resources[i];
    qsort(by_key, RES_COUNT, sizeof *by_key, cmp_key);
}

const struct resource *api__resource_by_key(const char *key)
{
    struct resource probe = {.key = key};
    const struct resource *p = &probe;
    const struct resource *const *hit;

    pthread_once(&by_key_once, by_key_sort);
    hit = bsearch(&p, by_key, RES_COUNT, sizeof *by_key, cmp_key);
    return hit ? *hit : NULL;
}

const struct resource *api_resource_by_plural(const char *group, const char *plural)
{
    for (int i = 0; i < RES_COUNT; i++)
        if (strcmp(api_resources[i].group, group) == 0 &&
            strcmp(api_resources[i].plural, plural) == 0)
            return &api_resources[i];
    return NULL;
}

const struct resource *api_resource_by_kind(const char *group, const char *kind)
{
    for (int i = 0; i < RES_COUNT; i++)
        if (strcmp(api_resources[i].group, group) == 0 && strcmp(api_resources[i].kind, kind) == 0)
            return &api_resources[i];
    return NULL;
}

/* Splits /api/v1/... or /apis/G/V/... into a resource target. Returns 0, or -E_NOT_FOUND. */
int api__target_parse(const char *path, struct api_target *t)
{
    char *seg[8], *p, *group = "";
    int n = 0, i = 0;

    memset(t, 0, sizeof *t);
    snprintf(t->buf, sizeof t->buf, "%s", path);
    for (p = strtok(t->buf, "/"); p && n < 8; p = strtok(NULL, "/"))
        seg[n++] = p;
    if (p)
        return -E_NOT_FOUND;
    if (n >= 2 && strcmp(seg[0], "api") == 0 && strcmp(seg[1], "v1") == 0) {
        i = 2;
    } else if (n >= 3 && strcmp(seg[0], "apis") == 0) {
        group = seg[1];
        i = 3;
    } else {
        return -E_NOT_FOUND;
    }
    if (i >= n)
        return -E_NOT_FOUND;
    if (strcmp(seg[i], "namespaces") == 0 && n - i >= 3) {
        const struct resource *r = api_resource_by_plural(group, seg[i + 2]);

        if (r && r->namespaced) {
            t->ns = seg[i + 1];
            i += 2;
        }
    }
    t->r = api_resource_by_plural(group, seg[i]);
    /* A kind also served in another version (kind.h alt_version): same row, converted. */
    if (t->r && *group && strcmp(t->r->version, seg[2]) != 0 && api_kind(t->r->id)->alt_version &&
        strcmp(api_kind(t->r->id)->alt_version, seg[2]) == 0) {
        t->alt = 1;
        seg[2] = (char *)t->r->version;
    }
    if (!t->r || strcmp(t->r->version, i >= 3 && *group ? seg[2] : "v1") != 0)
        return -E_NOT_FOUND;
    if (*group && strcmp(seg[2], t->r->version) != 0)
        return -E_NOT_FOUND;
    if (t->ns && !t->r->namespaced)
        return -E_NOT_FOUND;
    t->name = i + 1 < n ? seg[i + 1] : NULL;
    t->sub = i + 2 < n ? seg[i + 2] : NULL;
    if (i + 3 < n)
        return -E_NOT_FOUND;
    return 0;
}

/* /api, /api/v1, /apis, /apis/G and /apis/G/V are discovery documents. */
int api__is_discovery(const char *path)
{
    int slashes = 0;

    if (strcmp(path, "/api") == 0 || strcmp(path, "/api/") == 0 || strcmp(path, "/api/v1") == 0 ||
        strcmp(path, "/api/v1/") == 0)
        return 1;
    if (strncmp(path, "/apis", 5) != 0 || (path[5] && path[5] != '/'))
        return 0;
    for (const char *p = path + 5; *p; p++)
        if (*p == '/' && p[1])
            slashes++;
    return slashes <= 2;
}

/* Health and version answer without a token, as kube-apiserver's anonymous-allowed paths. */
int api__is_public(const char *path)
{
    return strcmp(path, "/healthz") == 0 || strcmp(path, "/livez") == 0 ||
           strcmp(path, "/readyz") == 0 || strncmp(path, "/healthz/", 9) == 0 ||
           strncmp(path, "/livez/", 7) == 0 || strncmp(path, "/readyz/", 8) == 0 ||
           strcmp(path, "/version") == 0 || strcmp(path, "/version/") == 0;
}
