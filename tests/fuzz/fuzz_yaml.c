/* libFuzzer entry for the body decoding the API uses: YAML (application/yaml bodies and
 * application/apply-patch+yaml) through jx_parse_yaml, and JSON through jansson as verbs.c
 * calls it; every decoded value then goes through the object limits (patch_check_object), as a
 * create would. Invariants: a YAML result is never deeper than the YAML depth bound or larger
 * than its expansion bound, and the limit check agrees with jansson's encoder on the size.
 * Build: tests/fuzz/run.sh yaml */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/patch.h"
#include "core/jx.h"

static void check(const json_t *v)
{
    struct patch_measure m = {.max_bytes = (size_t)-1, .max_depth = PATCH_MAX_DEPTH};
    struct err e;

    err_init(&e);
    patch_check_object(v, "the object", &e);
    err_release(&e);
    /* Within the depth limit, the measure must be exact: it is what the 413 is based on. */
    if (patch_measure(v, 0, &m) == 0) {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (s && strlen(s) != m.bytes)
            abort();
        free(s);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *y = NULL, *j;
    struct err e;

    err_init(&e);
    if (jx_parse_yaml((const char *)data, size, &y, &e) == 0) {
        struct patch_measure m = {.max_bytes = (size_t)-1, .max_depth = 1 << 20};
        patch_measure(y, 0, &m);
        if (m.depth > 514) /* YAML_MAX_DEPTH (512) plus the alias step it allows */
            abort();
        check(y);
    }
    json_decref(y);
    err_release(&e);
    j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (j)
        check(j);
    json_decref(j);
    return 0;
}
