/* The write strategy's entry points, which run the kind's hooks (kind_ops.prepare_create,
 * prepare_update: what a create resets, what the server allocates). */
#include "api/api-int.h"
#include "api/kind.h"

int api__prepare_create(struct api *api, const struct resource *r, json_t *obj, struct err *err)
{
    const struct kind_ops *k = api_kind(r->id);

    return k->prepare_create ? k->prepare_create(api, obj, err) : 0;
}

void api__prepare_update(struct api *api, const struct resource *r, json_t *obj, const json_t *old,
                         int status_only)
{
    const struct kind_ops *k = api_kind(r->id);

    if (!status_only && k->prepare_update)
        k->prepare_update(api, obj, old);
}
