/* Strategic merge patch for built-in kinds, and the list schema it shares with server-side
 * apply: which lists merge by key (containers by name, ports by containerPort...), which are
 * sets of primitives (finalizers), and which are replaced whole. The lists of a PodSpec and of
 * metadata are here; each kind's own lists are its kind_ops.merge (kind_<kind>.c). The merge
 * honours $patch, $retainKeys, $setElementOrder/ and $deleteFromPrimitiveList/, and never stores a
 * directive. */
#include <stdlib.h>
#include <string.h>

#include "api/patch-int.h"
#include "api/patch.h"
#include "core/log.h"

/* ---- schema ------------------------------------------------------------------------------ */

#define MAP1(k) PATCH_MAP1(k)
#define ATOMIC PATCH_ATOMIC

struct rule_row { /* a row relative to a PodSpec */
    const char *path;
    struct patch_list_rule rule;
};

/* The container lists of a PodSpec, each with the lists inside a container. */
#define CONTAINER_ROWS(c)                                                                          \
    {c, MAP1("name")},                                                                             \
        {c "[].ports", {PATCH_LIST_MAP, {"containerPort", "protocol"}, {NULL, "TCP"}}},            \
        {c "[].env", MAP1("name")}, {c "[].envFrom", ATOMIC},                                      \
        {c "[].volumeMounts", MAP1("mountPath")}, {c "[].volumeDevices", MAP1("devicePath")},      \
    {                                                                                              \
        c "[].resizePolicy", ATOMIC                                                                \
    }

/* Paths relative to a PodSpec. */
static const struct rule_row pod_spec_rows[] = {
    CONTAINER_ROWS("containers"),
    CONTAINER_ROWS("initContainers"),
    CONTAINER_ROWS("ephemeralContainers"),
    {"volumes", MAP1("name")},
    {"imagePullSecrets", MAP1("name")},
    {"hostAliases", MAP1("ip")},
    {"tolerations", ATOMIC},
    {"topologySpreadConstraints",
     {PATCH_LIST_MAP, {"topologyKey", "whenUnsatisfiable"}, {NULL, NULL}}},
    {"resourceClaims", MAP1("name")},
    {"schedulingGates", MAP1("name")},
    {NULL, ATOMIC},
};

const struct patch_schema patch_schema_plain = {NULL, NULL};

static const struct patch_list_rule rule_owner_refs = MAP1("uid");
static const struct patch_list_rule rule_finalizers = {PATCH_LIST_SET, {NULL}, {NULL}};

/* True when path is exactly "<...>.metadata.<field>" or "metadata.<field>". */
static int path_is_meta(const char *path, const char *field)
{
    size_t pl = strlen(path), fl = strlen(field) + strlen("metadata.");
    char want[64];

    snprintf(want, sizeof want, "metadata.%s", field);
    if (pl < fl || strcmp(path + pl - fl, want) != 0)
        return 0;
    return pl == fl || path[pl - fl - 1] == '.';
}

const struct patch_list_rule *patch__rule_find(const struct patch_schema *schema,
                                               const struct patch_path *p)
{
    const char *path = p->buf;

    if (p->overflow)
        return NULL;
    if (path_is_meta(path, "ownerReferences"))
        return &rule_owner_refs;
    if (path_is_meta(path, "finalizers") && strncmp(path, "spec.", 5) != 0)
        return &rule_finalizers;
    if (!schema)
        return NULL;
    if (schema->pod_spec) {
        size_t n = strlen(schema->pod_spec);

        if (!strncmp(path, schema->pod_spec, n) && path[n] == '.')
            for (int j = 0; pod_spec_rows[j].path; j++)
                if (strcmp(path + n + 1, pod_spec_rows[j].path) == 0)
                    return &pod_spec_rows[j].rule;
    }
    for (const struct patch_merge_row *r = schema->rows; r && r->path; r++)
        if (!strcmp(path, r->path))
            return &r->rule;
    return NULL;
}

/* ---- merge ------------------------------------------------------------------------------- */

struct smp {
    const struct patch_schema *schema;
    struct patch_path *path;
    struct err *err;
};

static int smp_map(json_t *base, const json_t *patch, struct smp *c);
static int smp_list(const json_t *orig, const json_t *patch, struct smp *c, json_t **out);

static int smp_value(const json_t *orig, const json_t *patch, struct smp *c, json_t **out)
{
    json_t *base;
    int rc;

    *out = NULL;
    if (json_is_array(patch))
        return smp_list(orig, patch, c, out);
    if (!json_is_object(patch)) {
        *out = json_deep_copy(patch);
        return 0;
    }
    base = json_is_object(orig) ? json_deep_copy(orig) : json_object();
    if ((rc = smp_map(base, patch, c)) != 0) {
        json_decref(base);
        return rc < 0 ? rc : 0; /* rc 1: the patch deleted the value, *out stays NULL */
    }
    *out = base;
    return 0;
}

int patch__smp_value(const json_t *orig, const json_t *patch, const struct patch_schema *schema,
                     struct patch_path *p, json_t **out, struct err *err)
{
    struct smp c = {schema, p, err};

    return smp_value(orig, patch, &c, out);
}

/* Handles "$patch" in a map: 1 when the map is deleted, replace empties base first. */
static int smp_map_directive(json_t *base, const json_t *patch, struct smp *c)
{
    json_t *d = json_object_get(patch, "$patch");
    const char *s = json_string_value(d);

    if (!d)
        return 0;
    if (s && strcmp(s, "delete") == 0)
        return 1;
    if (s && strcmp(s, "replace") == 0) {
        json_object_clear(base);
        return 0;
    }
    if (s && strcmp(s, "merge") == 0)
        return 0;
    return err_set(c->err, -E_BAD_REQUEST, "unknown patch type: %s in map at %s",
                   s ? s : "(not a string)", c->path->len ? c->path->buf : "(root)");
}

/* $retainKeys: keys of base not listed are dropped; the patch may not set unlisted keys. */
static int smp_retain_keys(json_t *base, const json_t *patch, struct smp *c)
{
    json_t *keys = json_object_get(patch, "$retainKeys"), *v, *item;
    const char *k;
    void *tmp;
    size_t i;

    if (!keys)
        return 0;
    if (!json_is_array(keys))
        return err_set(c->err, -E_BAD_REQUEST, "invalid patch: $retainKeys must be a list");
    json_array_foreach(keys, i, item) if (!json_is_string(item)) return err_set(
        c->err, -E_BAD_REQUEST,
        "invalid patch: $retainKeys must be a list "
        "of strings");
    json_object_foreach((json_t *)patch, k, v)
    {
        int listed = 0;
        if (k[0] == '$' || json_is_null(v))
            continue;
        json_array_foreach(keys, i, item) listed |= strcmp(json_string_value(item), k) == 0;
        if (!listed)
            return err_set(c->err, -E_INVALID,
                           "The content of the patch doesn't match the "
                           "retainKeys list: key \"%s\" is not retained",
                           k);
    }
    json_object_foreach_safe(base, tmp, k, v)
    {
        int listed = 0;
        json_array_foreach(keys, i, item) listed |= strcmp(json_string_value(item), k) == 0;
        if (!listed)
            json_object_del(base, k);
    }
    return 0;
}

static int smp_delete_primitives(json_t *base, const char *name, const json_t *vals, struct smp *c)
{
    json_t *list = json_object_get(base, name);

    if (!json_is_array(vals))
        return err_set(c->err, -E_BAD_REQUEST,
                       "invalid patch: $deleteFromPrimitiveList/%s "
                       "must be a list",
                       name);
    for (size_t i = 0; json_is_array(list) && i < json_array_size(list);) {
        int hit = 0;
        for (size_t j = 0; j < json_array_size(vals); j++)
            hit |= patch__json_equal(json_array_get(list, i), json_array_get(vals, j));
        if (hit)
            json_array_remove(list, i);
        else
            i++;
    }
    return 0;
}

static const json_t *item_ident(const json_t *item, const struct patch_list_rule *r)
{
    if (r && r->type == PATCH_LIST_MAP)
        return json_object_get(item, r->keys[0]);
    return item;
}

/* $setElementOrder/<name>: items named in order move, in that order, into the slots that named
 * items hold; items the patch does not name (server-only) keep their positions. */
static int smp_reorder(json_t *base, const char *name, const json_t *order, struct smp *c)
{
    json_t *list = json_object_get(base, name), *sorted;
    const struct patch_list_rule *r;
    size_t pos, slot = 0;

    if (!json_is_array(order))
        return err_set(c->err, -E_BAD_REQUEST,
                       "invalid patch: $setElementOrder/%s must be a "
                       "list",
                       name);
    if (!json_is_array(list))
        return 0;
    pos = patch__path_push(c->path, name);
    r = patch__rule_find(c->schema, c->path);
    patch__path_pop(c->path, pos);
    if (!r || r->type == PATCH_LIST_ATOMIC)
        return 0;
    sorted = json_array();
    for (size_t i = 0; i < json_array_size(order); i++) {
        const json_t *want = item_ident(json_array_get(order, i), r);
        for (size_t j = 0; want && j < json_array_size(list); j++)
            if (patch__json_equal(item_ident(json_array_get(list, j), r), want))
                json_array_append(sorted, json_array_get(list, j));
    }
    for (size_t j = 0; j < json_array_size(list) && slot < json_array_size(sorted); j++) {
        const json_t *id = item_ident(json_array_get(list, j), r);
        int named = 0;
        for (size_t i = 0; id && i < json_array_size(order) && !named; i++)
            named = patch__json_equal(item_ident(json_array_get(order, i), r), id);
        if (named)
            json_array_set(list, j, json_array_get(sorted, slot++));
    }
    json_decref(sorted);
    return 0;
}

static int smp_map_key(json_t *base, const char *k, const json_t *v, struct smp *c)
{
    size_t pos;
    json_t *merged;
    int rc;

    if (json_is_null(v)) {
        json_object_del(base, k);
        return 0;
    }
    pos = patch__path_push(c->path, k);
    rc = smp_value(json_object_get(base, k), v, c, &merged);
    patch__path_pop(c->path, pos);
    if (rc < 0)
        return rc;
    if (merged)
        json_object_set_new(base, k, merged);
    else
        json_object_del(base, k);
    return 0;
}

/* Merges patch into base in place. Returns 1 when "$patch": "delete" removes the whole map. */
static int smp_map(json_t *base, const json_t *patch, struct smp *c)
{
    static const char del_pfx[] = "$deleteFromPrimitiveList/", ord_pfx[] = "$setElementOrder/";
    const char *k;
    json_t *v;
    int rc;

    if ((rc = smp_map_directive(base, patch, c)) != 0 || (rc = smp_retain_keys(base, patch, c)))
        return rc;
    /* Deletions from primitive lists go first so that additions in the same patch survive. */
    json_object_foreach((json_t *)patch, k,
                        v) if (!strncmp(k, del_pfx, sizeof del_pfx - 1) &&
                               (rc = smp_delete_primitives(base, k + sizeof del_pfx - 1, v, c)) <
                                   0) return rc;
    json_object_foreach((json_t *)patch, k,
                        v) if (k[0] != '$' && (rc = smp_map_key(base, k, v, c)) < 0) return rc;
    json_object_foreach((json_t *)patch, k, v) if (!strncmp(k, ord_pfx, sizeof ord_pfx - 1) &&
                                                   (rc = smp_reorder(base, k + sizeof ord_pfx - 1,
                                                                     v, c)) < 0) return rc;
    return 0;
}

static const char *item_directive(const json_t *item)
{
    return json_is_object(item) ? json_string_value(json_object_get(item, "$patch")) : NULL;
}

/* A list replaced whole (atomic, or "$patch": "replace" in the list): each patch item is
 * merged onto nothing so that nested directives are consumed, never stored. */
static int smp_list_replace(const json_t *patch, struct smp *c, json_t **out)
{
    json_t *res = json_array(), *item, *v;
    size_t i;
    int rc = 0;

    json_array_foreach(patch, i, item)
    {
        const char *d = item_directive(item);
        if (d && (!strcmp(d, "replace") || !strcmp(d, "delete")) && json_object_size(item) == 1)
            continue;
        if ((rc = smp_value(NULL, item, c, &v)) < 0)
            break;
        if (v)
            json_array_append_new(res, v);
    }
    if (rc < 0) {
        json_decref(res);
        return rc;
    }
    *out = res;
    return 0;
}

static int find_by_key(const json_t *list, const char *key, const json_t *kv)
{
    for (size_t i = 0; i < json_array_size(list); i++) {
        const json_t *cur = json_object_get(json_array_get(list, i), key);
        if (cur && patch__json_equal(cur, kv))
            return (int)i;
    }
    return -1;
}

/* One patch item of a list merged by key: delete, merge into the match, or append. */
static int smp_keyed_item(json_t *res, const json_t *item, const char *key, struct smp *c)
{
    const json_t *kv;
    const char *d;
    json_t *merged;
    int idx, rc;

    if (!json_is_object(item))
        return err_set(c->err, -E_BAD_REQUEST,
                       "invalid patch: %s: list items must be objects "
                       "merged by key \"%s\"",
                       c->path->buf, key);
    d = item_directive(item);
    kv = json_object_get(item, key);
    if (!kv || json_is_null(kv))
        return err_set(c->err, -E_BAD_REQUEST, "map: %s does not contain declared merge key: %s",
                       c->path->buf, key);
    idx = find_by_key(res, key, kv);
    if (d && strcmp(d, "delete") == 0) {
        while ((idx = find_by_key(res, key, kv)) >= 0)
            json_array_remove(res, (size_t)idx);
        return 0;
    }
    rc = smp_value(idx >= 0 ? json_array_get(res, (size_t)idx) : NULL, item, c, &merged);
    if (rc < 0)
        return rc;
    if (!merged) {
        if (idx >= 0)
            json_array_remove(res, (size_t)idx);
    } else if (idx >= 0) {
        json_array_set_new(res, (size_t)idx, merged);
    } else {
        json_array_append_new(res, merged);
    }
    return 0;
}

/* A set holds each value once. */
static void set_dedup(json_t *list)
{
    for (size_t i = 0; i < json_array_size(list); i++) {
        for (size_t j = i + 1; j < json_array_size(list);) {
            if (patch__json_equal(json_array_get(list, i), json_array_get(list, j)))
                json_array_remove(list, j);
            else
                j++;
        }
    }
}

static int smp_list(const json_t *orig, const json_t *patch, struct smp *c, json_t **out)
{
    const struct patch_list_rule *r = patch__rule_find(c->schema, c->path);
    json_t *res, *item;
    size_t i, pos;
    int rc = 0;

    pos = patch__path_push_item(c->path);
    json_array_foreach(patch, i, item)
    {
        const char *d = item_directive(item);
        if (d && strcmp(d, "replace") == 0)
            r = NULL; /* the list-level "replace" directive turns any list atomic */
    }
    if (!r || r->type == PATCH_LIST_ATOMIC || !json_is_array(orig)) {
        rc = smp_list_replace(patch, c, out);
        if (rc == 0 && r && r->type == PATCH_LIST_SET)
            set_dedup(*out);
        goto out;
    }
    res = json_deep_copy(orig);
    json_array_foreach(patch, i, item)
    {
        if (r->type == PATCH_LIST_MAP) {
            rc = smp_keyed_item(res, item, r->keys[0], c);
        } else if (json_is_object(item) || json_is_array(item)) {
            rc = err_set(c->err, -E_BAD_REQUEST, "invalid patch: %s is a list of primitives",
                         c->path->buf);
        } else {
            int found = 0;
            for (size_t j = 0; j < json_array_size(res) && !found; j++)
                found = patch__json_equal(json_array_get(res, j), item);
            if (!found)
                json_array_append_new(res, json_deep_copy(item));
        }
        if (rc < 0)
            break;
    }
    if (rc < 0)
        json_decref(res);
    else
        *out = res;
out:
    patch__path_pop(c->path, pos);
    return rc;
}

int patch_strategic_apply(const json_t *doc, const json_t *patch, const struct patch_schema *schema,
                          json_t **out, struct err *err)
{
    struct patch_path p;
    int rc;

    *out = NULL;
    if (!schema)
        return err_set(err, -E_UNSUPPORTED_MEDIA,
                       "the body of the request was in an unknown "
                       "format - accepted media types include: application/json-patch+json, "
                       "application/merge-patch+json, application/apply-patch+yaml");
    if (!json_is_object(patch))
        return err_set(err, -E_BAD_REQUEST,
                       "json: cannot unmarshal %s into Go value of type "
                       "map[string]interface {}",
                       json_is_array(patch) ? "array" : "value");
    patch__path_init(&p);
    rc = patch__smp_value(json_is_object(doc) ? doc : NULL, patch, schema, &p, out, err);
    if (rc == 0 && !*out)
        *out = json_object(); /* "$patch": "delete" at the top leaves an empty object */
    /* A strategic merge copies each patch value once, so its result is at most doc + patch:
     * one check of the result bounds it before any other walk sees it. */
    if (rc == 0 && (rc = patch_check_object(*out, "the patched object", err)) < 0) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}
