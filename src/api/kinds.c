/* The kind table: one kind_ops entry per row of resources.def, indexed by enum res_id. Each
 * entry is defined in its kind's file (kind_<kind>.c) as kind_<ID>; a row without one fails
 * the link, so a kind cannot be half added. Also the strategy pieces several kinds share. */
#include "api/kind.h"

#include "api/api-int.h"
#include "api/patch.h"
#include "core/log.h"

#define XX(id, g, v, k, p, s, sn, ns, f) extern const struct kind_ops kind_##id;
#include "scheme/resources.def"
#undef XX

static const struct kind_ops *const kinds[RES_COUNT] = {
#define XX(id, g, v, k, p, s, sn, ns, f) [RES_##id] = &kind_##id,
#include "scheme/resources.def"
#undef XX
};

const struct kind_ops *api_kind(enum res_id id)
{
    BUG_ON((unsigned)id >= RES_COUNT);
    return kinds[id];
}

const struct kind_ops *api_kind_of(const struct resource *r)
{
    return r ? api_kind(r->id) : NULL;
}

json_t *kind_served(const struct resource *r, int alt, const json_t *obj)
{
    const struct kind_ops *k = api_kind(r->id);

    return alt && k->alt_out ? k->alt_out(obj) : json_incref((json_t *)obj);
}

static const struct patch_merge_row conditions_rows[] = {
    {"status.conditions", PATCH_MAP1("type")},
    {NULL, PATCH_ATOMIC},
};
const struct patch_schema kind_pod_template_merge = {"spec.template.spec", conditions_rows};
const struct patch_schema kind_conditions_merge = {NULL, conditions_rows};

/* Workloads and budgets: status is written by their controllers through /status only. */
int kind_create_drop_status(struct api *api, json_t *obj, struct err *err)
{
    (void)api;
    (void)err;
    json_object_del(obj, "status");
    return 0;
}
