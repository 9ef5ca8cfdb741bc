/* libFuzzer entry for the CDI spec parser: the first byte picks JSON (even) or YAML (odd), the
 * rest is the spec file. A spec that parses must also be usable: its devices are loaded into a
 * registry through a spec directory, counted, and applied to an empty OCI spec (device nodes
 * that do not exist on the host make cdi_apply fail cleanly, never crash).
 * Build: tests/fuzz/run.sh cdi */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/jx.h"
#include "node/cdi.h"

/* Under $TMPDIR (run.sh points it at its work directory); removed at exit. */
static char g_dir[256];

static void scratch_remove(void)
{
    rmdir(g_dir);
}

static void registry_roundtrip(const char *text, size_t len, int yaml)
{
    char path[320];
    const char *dirs[] = {g_dir};
    struct cdi_registry *reg;
    json_t *kinds, *v, *all = json_array();
    const char *k;
    FILE *f;
    struct err e;

    snprintf(path, sizeof path, "%s/spec.%s", g_dir, yaml ? "yaml" : "json");
    if (!(f = fopen(path, "w")))
        abort();
    fwrite(text, 1, len, f);
    fclose(f);
    err_init(&e);
    cdi_registry_load(dirs, 1, &reg, &e);
    err_release(&e);
    unlink(path);
    kinds = cdi_kinds(reg);
    json_object_foreach(kinds, k, v)
    {
        json_t *got = NULL;

        if ((size_t)json_integer_value(v) != cdi_kind_count(reg, k))
            abort();
        if (cdi_allocate(reg, k, json_integer_value(v), NULL, &got, &e) < 0)
            abort(); /* every device of a kind is free in a fresh registry */
        json_array_extend(all, got);
        json_decref(got);
        err_release(&e);
    }
    {
        size_t n = json_array_size(all), i;
        const char **names = calloc(n + 1, sizeof *names);
        json_t *oci = json_object();

        for (i = 0; i < n; i++)
            names[i] = json_string_value(json_array_get(all, i));
        cdi_apply(reg, names, n, oci, &e);
        err_release(&e);
        json_decref(oci);
        free(names);
    }
    json_decref(all);
    json_decref(kinds);
    cdi_registry_free(reg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *spec = NULL;
    struct err e;
    int yaml;

    if (size < 1)
        return 0;
    if (!g_dir[0]) {
        snprintf(g_dir, sizeof g_dir, "%.200s/kroll-fuzz-cdi.XXXXXX", getenv("TMPDIR") ?: "/tmp");
        if (!mkdtemp(g_dir))
            abort();
        atexit(scratch_remove);
    }
    yaml = data[0] & 1;
    err_init(&e);
    if (cdi_spec_parse((const char *)data + 1, size - 1, yaml, "fuzz", &spec, &e) == 0)
        registry_roundtrip((const char *)data + 1, size - 1, yaml);
    err_release(&e);
    json_decref(spec);
    return 0;
}
