/* libFuzzer entry for the patch engine. The input is "<doc>\0<patch>" (without a NUL, the whole
 * input is the patch onto {}). Every engine runs on each input:
 * JSON patch, merge patch, strategic merge (Deployment and Service), server-side apply (with
 * and without force), update tracking, and the YAML parser on the raw patch text.
 * Build: clang -g -fsanitize=fuzzer,address,undefined -Isrc tests/fuzz/fuzz_patch.c \
 *        src/api/patch*.c src/core/{err,jx,log}.c -ljansson -lyaml -lm */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "api/kind.h"
#include "api/patch.h"
#include "core/jx.h"

/* The strategic-merge schema of a served kind by name ("Deployment"), NULL for any other. */
static const struct patch_schema *SCHEMA(const char *kind)
{
    for (int i = 0; i < RES_COUNT; i++)
        if (strcmp(scheme_resources[i].kind, kind) == 0)
            return api_kind((enum res_id)i)->merge;
    return NULL;
}

static json_t *load(const char *s, size_t n)
{
    return json_loadb(s, n, JSON_DECODE_ANY, NULL);
}

static void run_all(const json_t *doc, const json_t *patch)
{
    static const char *const kinds[] = {"Deployment", "Service", "Node", "Widget"};
    json_t *out = NULL;
    struct err e;

    err_init(&e);
    patch_json_apply(doc, patch, &out, &e);
    json_decref(out);
    err_release(&e);
    patch_merge_apply(doc, patch, &out, &e);
    json_decref(out);
    err_release(&e);
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        patch_strategic_apply(doc, patch, SCHEMA(kinds[i]), &out, &e);
        json_decref(out);
        err_release(&e);
    }
    for (int force = 0; force < 2; force++) {
        out = NULL;
        if (patch_ssa_apply(json_is_object(doc) ? doc : NULL, patch, "fuzz", force, SCHEMA("Deployment"),
                            &out, &e) == 0) {
            /* A second apply by another manager exercises conflicts and pruning. */
            json_t *again = NULL;
            struct err e2;
            err_init(&e2);
            patch_ssa_apply(out, doc, "other", 0, SCHEMA("Deployment"), &again, &e2);
            json_decref(again);
            err_release(&e2);
        }
        json_decref(out);
        err_release(&e);
    }
    if (json_is_object(patch)) {
        json_t *copy = json_deep_copy(patch);
        patch_ssa_track_update(copy, json_is_object(doc) ? doc : NULL, "fuzz", SCHEMA("Pod"));
        json_decref(copy);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    const char *nul = memchr(s, 0, size);
    size_t dlen = nul ? (size_t)(nul - s) : 0;
    const char *ptext = nul ? nul + 1 : s;
    size_t plen = nul ? size - dlen - 1 : size;
    json_t *doc = nul ? load(s, dlen) : json_object();
    json_t *patch = load(ptext, plen), *y = NULL;
    struct err e;

    if (doc && patch)
        run_all(doc, patch);
    err_init(&e);
    if (jx_parse_yaml(ptext, plen, &y, &e) == 0 && doc)
        run_all(doc, y);
    json_decref(y);
    err_release(&e);
    json_decref(doc);
    json_decref(patch);
    return 0;
}
