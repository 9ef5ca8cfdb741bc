/* The resource table (resources.def) and its lookups; the Scale view of scalable kinds. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/jx.h"
#include "core/log.h"
#include "core/selector.h"
#include "scheme/scheme.h"

/* clang-format off */
const struct resource scheme_resources[RES_COUNT] = {
#define XX(id, g, v, k, p, s, sn, ns, f)                                                           \
    [RES_##id] = {RES_##id, g, v, k, p, s, sn, ns, f, sizeof(g) > 1 ? p "." g : p,                 \
                  sizeof(g) > 1 ? g "/" v : v},
#include "scheme/resources.def"
#undef XX
};
/* clang-format on */

const struct resource *scheme_resource(enum res_id id)
{
    return &scheme_resources[id];
}

const struct resource *scheme_by_plural(const char *group, const char *plural)
{
    for (int i = 0; i < RES_COUNT; i++)
        if (strcmp(scheme_resources[i].group, group) == 0 &&
            strcmp(scheme_resources[i].plural, plural) == 0)
            return &scheme_resources[i];
    return NULL;
}

const struct resource *scheme_by_kind(const char *group, const char *kind)
{
    for (int i = 0; i < RES_COUNT; i++)
        if (strcmp(scheme_resources[i].group, group) == 0 &&
            strcmp(scheme_resources[i].kind, kind) == 0)
            return &scheme_resources[i];
    return NULL;
}

/* Store keys sorted once, for the lookup every store event makes. */
static const struct resource *by_key_sorted[RES_COUNT];
static pthread_once_t by_key_once = PTHREAD_ONCE_INIT;

static int key_cmp(const void *a, const void *b)
{
    return strcmp((*(const struct resource *const *)a)->key,
                  (*(const struct resource *const *)b)->key);
}

static void by_key_init(void)
{
    for (int i = 0; i < RES_COUNT; i++)
        by_key_sorted[i] = &scheme_resources[i];
    qsort(by_key_sorted, RES_COUNT, sizeof by_key_sorted[0], key_cmp);
}

const struct resource *scheme_by_key(const char *key)
{
    size_t lo = 0, hi = RES_COUNT;

    pthread_once(&by_key_once, by_key_init);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(key, by_key_sorted[mid]->key);

        if (c == 0)
            return by_key_sorted[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

json_t *scheme_scale_of(const json_t *obj)
{
    json_t *s = json_pack("{s:s,s:s}", "kind", "Scale", "apiVersion", "autoscaling/v1");
    json_t *m = json_object();
    const char *ssel = jx_str(obj, "status.selector");
    char *sel = ssel ? xstrdup(ssel) : labelsel_string(jx_get(obj, "spec.selector"));
    const char *rkey = jx_get(obj, "status.HPAReplicas") ? "status.HPAReplicas" : "status.replicas";
    static const char *const keys[] = {"name", "namespace", "uid", "resourceVersion",
                                       "creationTimestamp"};

    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        json_t *v = json_object_get(json_object_get(obj, "metadata"), keys[i]);

        if (v)
            json_object_set(m, keys[i], v);
    }
    json_object_set_new(s, "metadata", m);
    json_object_set_new(s, "spec", json_pack("{s:I}", "replicas", jx_int(obj, "spec.replicas", 1)));
    json_object_set_new(
        s, "status",
        json_pack("{s:I,s:s}", "replicas", jx_int(obj, rkey, 0), "selector", sel ? sel : ""));
    free(sel);
    return s;
}
