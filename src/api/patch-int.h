/* Private to the patch engine (patch.c, patch_smp.c, patch_ssa.c): the per-kind list schema
 * (patch merge keys, list types) and the strategic merge shared by SMP and server-side apply. */
#ifndef KROLL_API_PATCH_INT_H
#define KROLL_API_PATCH_INT_H

#include <stddef.h>

#include <jansson.h>

#include "api/patch.h"
#include "core/err.h"

/* A schema path: field names joined by '.', "[]" for a list item ("spec.containers[].ports").
 * Paths that do not fit are marked overflowed and match no rule. */
struct patch_path {
    char buf[1024];
    size_t len;
    int overflow;
};

void patch__path_init(struct patch_path *p);
/* Appends ".name" (or "name" at the root) / "[]"; returns the length to restore with pop. */
size_t patch__path_push(struct patch_path *p, const char *name);
size_t patch__path_push_item(struct patch_path *p);
void patch__path_pop(struct patch_path *p, size_t len);

/* The list rule at path for a kind of the given schema (NULL: metadata's lists only), or NULL
 * (atomic). */
const struct patch_list_rule *patch__rule_find(const struct patch_schema *schema,
                                               const struct patch_path *p);

/* Strategic merge of patch into a deep copy of orig (orig may be NULL) at schema path p.
 * *out is NULL when the patch deletes the value ($patch: delete). Directives never survive. */
int patch__smp_value(const json_t *orig, const json_t *patch, const struct patch_schema *schema,
                     struct patch_path *p, json_t **out, struct err *err);

/* JSON equality where numbers compare by value (1 == 1.0), as RFC 6902 "test" requires. */
int patch__json_equal(const json_t *a, const json_t *b);

/* Sets err for a passed limit (over: PATCH_OVER_SIZE or PATCH_OVER_DEPTH) of what, with one
 * cause at field (may be NULL); returns the code (-E_TOO_LARGE or -E_INVALID). */
int patch__limit_err(struct err *err, int over, const char *what, const char *field);

#endif
