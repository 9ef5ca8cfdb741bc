/* The scheme: which resources exist (resources.def), what each is called in every form a client
 * or the API names it (group, version, kind, plural, short names, store key), and the Scale view
 * of the kinds that scale. The API server routes and serves from it; the client and every
 * component above it name resources by it, without the API's headers (as client-go and the
 * apiserver share apimachinery's scheme). */
#ifndef KROLL_SCHEME_H
#define KROLL_SCHEME_H

#include <jansson.h>

enum {
    RF_ALL = 1 << 0,        /* in category "all" */
    RF_STATUS = 1 << 1,     /* has /status */
    RF_SCALE = 1 << 2,      /* has /scale */
    RF_LOG = 1 << 3,        /* pods/log */
    RF_EVICTION = 1 << 4,   /* pods/eviction */
    RF_BINDING = 1 << 5,    /* pods/binding */
    RF_FINALIZE = 1 << 6,   /* namespaces/finalize */
    RF_GENERATION = 1 << 7, /* metadata.generation tracks spec changes */
    RF_TOKEN = 1 << 8,      /* serviceaccounts/token (TokenRequest) */
};

enum res_id {
#define XX(id, g, v, k, p, s, sn, ns, f) RES_##id,
#include "scheme/resources.def"
#undef XX
    RES_COUNT
};

struct resource {
    enum res_id id;
    const char *group, *version, *kind, *plural, *singular, *short_names;
    int namespaced;
    unsigned flags;
    const char *key;         /* store key: "pods", "deployments.apps" */
    const char *api_version; /* "v1", "apps/v1" */
};

extern const struct resource scheme_resources[RES_COUNT];
const struct resource *scheme_resource(enum res_id id);
const struct resource *scheme_by_plural(const char *group, const char *plural);
const struct resource *scheme_by_kind(const char *group, const char *kind);
/* The resource whose store key is key ("pods", "deployments.apps"), or NULL. */
const struct resource *scheme_by_key(const char *key);

/* The autoscaling/v1 Scale of obj, an object of a resource with RF_SCALE: spec.replicas,
 * status.replicas (status.HPAReplicas where the kind keeps it, as Argo's Rollout does) and
 * status.selector as a string. New reference. */
json_t *scheme_scale_of(const json_t *obj);

#endif
