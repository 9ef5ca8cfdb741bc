/* libFuzzer target for the workload lint (src/resources/lint.c): the input, as JSON, is a
 * Deployment, defaulted as the API server would, then linted on create, on update against
 * itself with a PodDisruptionBudget missing, and against a node with free extended resources
 * taken from the input's own numbers. Crashes, sanitizer reports, leaks and a finding without
 * a field or message are findings. Build: see tests/fuzz/run.sh (target lint). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/jx.h"
#include "resources/lint.h"

static void check(const json_t *out)
{
    size_t i;
    json_t *f;

    json_array_foreach(out, i, f)
    {
        char *t = lint_text(f);

        if (!jx_str(f, "field") || !jx_str(f, "message") || !*jx_str(f, "message"))
            abort();
        free(t);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *obj = json_loadb((const char *)data, size, 0, NULL), *out, *free_res;
    struct lint_ctx ctx = {.pdb_covers = -1};

    if (!obj)
        return 0;
    json_object_set_new(obj, "apiVersion", json_string("apps/v1"));
    json_object_set_new(obj, "kind", json_string("Deployment"));
    res_default(&res_kind_deployment, obj);
    out = json_array();
    lint_workload(&res_kind_deployment, obj, &ctx, out);
    ctx.old = obj;
    ctx.pdb_covers = 0;
    free_res = json_pack("{s:I,s:I}", "nvidia.com/gpu", (json_int_t)(size % 5),
                         "vendor.example/dev", (json_int_t)jx_int(obj, "spec.replicas", 0));
    ctx.free = free_res;
    lint_workload(&res_kind_deployment, obj, &ctx, out);
    check(out);
    json_decref(free_res);
    json_decref(out);
    json_decref(obj);
    return 0;
}
