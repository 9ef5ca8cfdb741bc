/* libFuzzer target for the selector parsers and the label-selector object path:
 * the input is used as a labelSelector string, a fieldSelector string and, when
 * it parses, as JSON for metav1.LabelSelector handling and Table rendering.
 * Crashes, leaks and a canonical form that does not re-parse to itself are
 * findings. Build: clang -g -fsanitize=fuzzer,address,undefined -Isrc
 * tests/fuzz/fuzz_selector.c src/core/selector.c src/api/table.c
 * src/core/{err,jx,log}.c -ljansson -lm */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/selector.h"
#include "api/kind.h"
#include "api/table.h"
#include "core/log.h"

/* The kind_ops entry of a served kind, NULL for any other (the default printer). */
static const struct kind_ops *KIND(const char *group, const char *kind)
{
    return api_kind_of(scheme_by_kind(group, kind));
}

#define FIELDS(kind) (KIND("", kind)->field_selectors)

static void fuzz_label_string(const char *s)
{
    struct labelsel *ls, *again;
    struct err err;
    char *f, *f2;

    err_init(&err);
    if (labelsel_parse(s, &ls, &err) < 0)
        return;
    f = labelsel_format(ls);
    err_init(&err);
    if (labelsel_parse(f, &again, &err) < 0)
        abort(); /* the canonical form must parse */
    f2 = labelsel_format(again);
    if (strcmp(f, f2) != 0)
        abort();
    free(f);
    free(f2);
    labelsel_free(again);
    labelsel_free(ls);
}

static void fuzz_json(const char *s)
{
    json_t *v = json_loads(s, JSON_DECODE_ANY, NULL), *items;
    struct labelsel *ls;
    struct err err;
    char *str;

    if (!v)
        return;
    err_init(&err);
    if (labelsel_from_object(v, &ls, &err) == 0) {
        (void)labelsel_match(ls, v);
        labelsel_free(ls);
    }
    (void)labelsel_validate(v, "spec.selector", &err);
    err_release(&err);
    free(labelsel_string(v));
    str = labels_string(v);
    free(str);
    items = json_pack("[O]", v);
    json_decref(table_build(KIND("", "Pod"), items, "1", NULL, 1, 1800000000));
    json_decref(table_build(KIND("", "Event"), items, "1", NULL, 1, 1800000000));
    json_decref(table_build(KIND("", "Service"), items, "1", NULL, 1, 1800000000));
    json_decref(items);
    json_decref(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = xmalloc(size + 1);
    struct fieldsel *fs;
    struct err err;

    memcpy(s, data, size);
    s[size] = 0;
    fuzz_label_string(s);
    err_init(&err);
    if (fieldsel_parse(s, &fs, &err) == 0) {
        (void)fieldsel_check(fs, FIELDS("Pod"), &err);
        fieldsel_free(fs);
    }
    fuzz_json(s);
    free(s);
    return 0;
}
