/* Server-side apply and metadata.managedFields bookkeeping. Field sets are held in an internal
 * form of Kubernetes' FieldsV1 ("f:name", "k:{keys}", "v:value" children; a "." child marks the
 * node itself as owned) and converted at the edges. Apply merges like a strategic merge, finds
 * conflicts as the changed fields other managers own, and removes fields its manager dropped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/patch-int.h"
#include "api/patch.h"
#include "core/jx.h"
#include "core/log.h"

struct fsctx {
    const struct patch_schema *schema;
    struct patch_path path;
    struct err *err;
    int strict; /* keyed items without their key are an error (applied config) */
};

/* Map-typed fields: their FieldsV1 node owns the map itself (".") as well as each key. */
static const char *const map_fields[] = {"labels",     "annotations", "nodeSelector", "data",
                                         "stringData", "binaryData",  "matchLabels",  "limits",
                                         "requests",   NULL};

/* ---- field sets -------------------------------------------------------------------------- */

static json_t *fs_child(json_t *node, const char *pe)
{
    json_t *c = json_object_get(node, pe);

    if (!c) {
        c = json_object();
        json_object_set_new(node, pe, c);
    }
    return c;
}

static void fs_mark(json_t *node)
{
    json_object_set_new(node, ".", json_object());
}

static int fs_member(const json_t *node)
{
    return json_object_get(node, ".") != NULL;
}

/* Drops nodes that own nothing; returns 1 when node itself is empty afterwards. */
static int fs_prune(json_t *node)
{
    const char *k;
    json_t *v;
    void *tmp;

    json_object_foreach_safe(node, tmp, k, v) if (strcmp(k, ".") != 0 && fs_prune(v))
        json_object_del(node, k);
    return json_object_size(node) == 0;
}

static void fs_union(json_t *dst, const json_t *src)
{
    const char *k;
    json_t *v;

    json_object_foreach((json_t *)src, k, v)
    {
        if (strcmp(k, ".") == 0)
            fs_mark(dst);
        else
            fs_union(fs_child(dst, k), v);
    }
}

static void fs_subtract(json_t *dst, const json_t *src)
{
    const char *k;
    json_t *v, *d;

    json_object_foreach((json_t *)src, k, v)
    {
        if (strcmp(k, ".") == 0)
            json_object_del(dst, ".");
        else if ((d = json_object_get(dst, k)))
            fs_subtract(d, v);
    }
    fs_prune(dst);
}

static json_t *fs_intersect(const json_t *a, const json_t *b)
{
    json_t *res = json_object(), *v, *bv;
    const char *k;

    json_object_foreach((json_t *)a, k, v)
    {
        if (!(bv = json_object_get(b, k)))
            continue;
        if (strcmp(k, ".") == 0) {
            fs_mark(res);
            continue;
        }
        json_t *sub = fs_intersect(v, bv);
        if (json_object_size(sub))
            json_object_set_new(res, k, sub);
        else
            json_decref(sub);
    }
    return res;
}

/* FieldsV1 -> internal: an empty FieldsV1 node is an owned leaf. */
static json_t *fs_from_v1(const json_t *v1)
{
    json_t *res = json_object(), *v;
    const char *k;

    if (!json_is_object(v1))
        return res;
    if (json_object_size(v1) == 0)
        fs_mark(res);
    json_object_foreach((json_t *)v1, k, v)
    {
        if (strcmp(k, ".") == 0)
            fs_mark(res);
        else
            json_object_set_new(res, k, fs_from_v1(v));
    }
    return res;
}

/* internal -> FieldsV1; NULL when the node owns nothing. */
static json_t *fs_to_v1(const json_t *node)
{
    json_t *res = json_object(), *v, *sub;
    const char *k;

    json_object_foreach((json_t *)node, k, v)
    {
        if (strcmp(k, ".") != 0 && (sub = fs_to_v1(v)))
            json_object_set_new(res, k, sub);
    }
    if (json_object_size(res) && fs_member(node)) {
        json_t *ordered = json_object();
        json_object_set_new(ordered, ".", json_object());
        json_object_update(ordered, res);
        json_decref(res);
        return ordered;
    }
    if (!json_object_size(res) && !fs_member(node)) {
        json_decref(res);
        return NULL;
    }
    return res;
}

/* ---- building sets from values ----------------------------------------------------------- */

static const struct patch_list_rule *fs_rule(struct fsctx *c)
{
    const struct patch_list_rule *r = patch__rule_find(c->schema, &c->path);

    return r && r->type != PATCH_LIST_ATOMIC ? r : NULL;
}

/* The path element of a list item: "k:{...}" for keyed lists, "v:<json>" for sets. NULL (with
 * an error when strict) when a keyed item lacks a key that has no default. */
static char *fs_item_pe(const json_t *item, const struct patch_list_rule *r, struct fsctx *c)
{
    json_t *keys;
    char *s, *pe;

    if (r->type == PATCH_LIST_SET) {
        s = json_dumps(item, JSON_COMPACT | JSON_ENCODE_ANY);
        pe = xasprintf("v:%s", s ? s : "null");
        free(s);
        return pe;
    }
    if (!json_is_object(item))
        goto missing;
    keys = json_object();
    for (int i = 0; i < PATCH_MAX_KEYS && r->keys[i]; i++) {
        json_t *kv = json_object_get(item, r->keys[i]);
        if (kv && !json_is_null(kv))
            json_object_set(keys, r->keys[i], kv);
        else if (r->defaults[i])
            json_object_set_new(keys, r->keys[i], json_string(r->defaults[i]));
        else if (i == 0) {
            json_decref(keys);
            goto missing;
        }
    }
    s = json_dumps(keys, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(keys);
    pe = xasprintf("k:%s", s);
    free(s);
    return pe;
missing:
    if (c->strict && !c->err->code)
        err_set(c->err, -E_INVALID,
                ".%s: associative list with keys has an element that omits "
                "key field \"%s\"",
                c->path.buf, r->keys[0]);
    return NULL;
}

static int fs_add_value(json_t *node, const json_t *v, struct fsctx *c);

static int fs_add_fields(json_t *node, const json_t *obj, struct fsctx *c)
{
    const char *k;
    json_t *v;
    int rc = 0;

    json_object_foreach((json_t *)obj, k, v)
    {
        char *pe = xasprintf("f:%s", k);
        size_t pos = patch__path_push(&c->path, k);
        json_t *child = fs_child(node, pe);

        for (int i = 0; map_fields[i] && json_is_object(v) && json_object_size(v); i++)
            if (strcmp(k, map_fields[i]) == 0)
                fs_mark(child);
        rc = fs_add_value(child, v, c);
        patch__path_pop(&c->path, pos);
        free(pe);
        if (rc < 0)
            break;
    }
    return rc;
}

/* Adds every field of v (the value of the field that node stands for) to the set. */
static int fs_add_value(json_t *node, const json_t *v, struct fsctx *c)
{
    const struct patch_list_rule *r;
    json_t *item;
    size_t i, pos;
    int rc = 0;

    if (json_is_object(v) && json_object_size(v))
        return fs_add_fields(node, v, c);
    if (!json_is_array(v) || !json_array_size(v) || !(r = fs_rule(c))) {
        fs_mark(node);
        return 0;
    }
    pos = patch__path_push_item(&c->path);
    json_array_foreach(v, i, item)
    {
        char *pe = fs_item_pe(item, r, c);
        if (!pe) {
            rc = c->strict ? -1 : 0;
            if (rc < 0)
                break;
            continue;
        }
        json_t *child = fs_child(node, pe);
        fs_mark(child);
        free(pe);
        if (r->type == PATCH_LIST_MAP && (rc = fs_add_value(child, item, c)) < 0)
            break;
    }
    patch__path_pop(&c->path, pos);
    return rc < 0 ? (c->err->code ? c->err->code : -E_INVALID) : 0;
}

static const json_t *fs_find_item(const json_t *list, const char *pe,
                                  const struct patch_list_rule *r, struct fsctx *c, size_t *idx)
{
    for (size_t i = 0; i < json_array_size(list); i++) {
        char *ipe = fs_item_pe(json_array_get(list, i), r, c);
        int hit = ipe && strcmp(ipe, pe) == 0;
        free(ipe);
        if (hit) {
            if (idx)
                *idx = i;
            return json_array_get(list, i);
        }
    }
    return NULL;
}

static void fs_diff(json_t *node, const json_t *a, const json_t *b, struct fsctx *c);

static void fs_diff_list(json_t *node, const json_t *a, const json_t *b,
                         const struct patch_list_rule *r, struct fsctx *c)
{
    size_t pos = patch__path_push_item(&c->path);
    const json_t *lists[2] = {a, b}, *other;
    json_t *item;
    size_t i;

    for (int side = 0; side < 2; side++) {
        json_array_foreach(lists[side], i, item)
        {
            char *pe = fs_item_pe(item, r, c);
            if (!pe)
                continue;
            other = fs_find_item(lists[!side], pe, r, c, NULL);
            if (!other) {
                json_t *child = fs_child(node, pe);
                fs_mark(child);
                fs_add_value(child, item, c);
            } else if (side == 0 && r->type == PATCH_LIST_MAP) {
                fs_diff(fs_child(node, pe), item, other, c);
            }
            free(pe);
        }
    }
    patch__path_pop(&c->path, pos);
}

/* Adds to node the fields whose values differ between a and b (either may be NULL). */
static void fs_diff(json_t *node, const json_t *a, const json_t *b, struct fsctx *c)
{
    const struct patch_list_rule *r;
    const char *k;
    json_t *v;

    if (!a || !b) {
        fs_add_value(node, a ? a : b, c);
        return;
    }
    if (json_is_object(a) && json_is_object(b)) {
        const json_t *sides[2] = {a, b};
        for (int s = 0; s < 2; s++) {
            json_object_foreach((json_t *)sides[s], k, v)
            {
                if (s == 1 && json_object_get(a, k))
                    continue;
                char *pe = xasprintf("f:%s", k);
                size_t pos = patch__path_push(&c->path, k);
                fs_diff(fs_child(node, pe), v, json_object_get(sides[!s], k), c);
                patch__path_pop(&c->path, pos);
                free(pe);
            }
        }
        return;
    }
    if (json_is_array(a) && json_is_array(b) && (r = fs_rule(c))) {
        fs_diff_list(node, a, b, r, c);
        return;
    }
    if (!patch__json_equal(a, b)) {
        fs_mark(node);
        if (json_is_object(a) || json_is_object(b)) {
            fs_add_value(node, a, c);
            fs_add_value(node, b, c);
        }
    }
}

/* A copy of obj without the fields no manager owns (identity and server bookkeeping). */
static json_t *fs_strip(const json_t *obj)
{
    static const char *const meta[] = {"name",
                                       "namespace",
                                       "uid",
                                       "resourceVersion",
                                       "generation",
                                       "creationTimestamp",
                                       "managedFields",
                                       "selfLink",
                                       "deletionTimestamp",
                                       "deletionGracePeriodSeconds",
                                       NULL};
    json_t *o = json_is_object(obj) ? json_deep_copy(obj) : json_object();
    json_t *m = json_object_get(o, "metadata");

    json_object_del(o, "apiVersion");
    json_object_del(o, "kind");
    for (int i = 0; json_is_object(m) && meta[i]; i++)
        json_object_del(m, meta[i]);
    if (json_is_object(m) && !json_object_size(m))
        json_object_del(o, "metadata");
    return o;
}

static void fsctx_init(struct fsctx *c, const struct patch_schema *schema, struct err *err,
                       int strict)
{
    c->schema = schema;
    patch__path_init(&c->path);
    c->err = err;
    c->strict = strict;
}

/* ---- removing owned fields from an object ------------------------------------------------ */

static int value_empty(const json_t *v)
{
    return (json_is_object(v) && !json_object_size(v)) || (json_is_array(v) && !json_array_size(v));
}

static void fs_remove(json_t *val, const json_t *set, struct fsctx *c);

static void fs_remove_field(json_t *obj, const char *name, const json_t *sub, struct fsctx *c)
{
    json_t *cv = json_object_get(obj, name);
    size_t pos;

    if (!cv)
        return;
    if (fs_member(sub)) {
        json_object_del(obj, name);
        return;
    }
    pos = patch__path_push(&c->path, name);
    fs_remove(cv, sub, c);
    patch__path_pop(&c->path, pos);
    /* A map or list emptied by the removal goes too, as an omitempty field would. */
    if (value_empty(cv))
        json_object_del(obj, name);
}

static void fs_remove(json_t *val, const json_t *set, struct fsctx *c)
{
    const struct patch_list_rule *r;
    const char *k;
    json_t *sub, *item;
    size_t idx, pos;

    json_object_foreach((json_t *)set, k, sub)
    {
        if (!strncmp(k, "f:", 2) && json_is_object(val)) {
            fs_remove_field(val, k + 2, sub, c);
            continue;
        }
        if (!json_is_array(val) || !(r = fs_rule(c)))
            continue;
        pos = patch__path_push_item(&c->path);
        item = (json_t *)fs_find_item(val, k, r, c, &idx);
        if (item && fs_member(sub)) {
            json_array_remove(val, idx);
        } else if (item) {
            fs_remove(item, sub, c);
        }
        patch__path_pop(&c->path, pos);
    }
}

/* ---- managedFields entries --------------------------------------------------------------- */

static json_t *mf_entry_new(const char *manager, const char *op, const char *api_version,
                            const json_t *set)
{
    json_t *e = json_object(), *v1 = fs_to_v1(set);
    char ts[32];

    time_rfc3339(time(NULL), ts);
    json_object_set_new(e, "manager", json_string(manager));
    json_object_set_new(e, "operation", json_string(op));
    json_object_set_new(e, "apiVersion", json_string(api_version ? api_version : "v1"));
    json_object_set_new(e, "time", json_string(ts));
    json_object_set_new(e, "fieldsType", json_string("FieldsV1"));
    json_object_set_new(e, "fieldsV1", v1 ? v1 : json_object());
    return e;
}

static int mf_is(const json_t *e, const char *manager, const char *op)
{
    const char *m = json_string_value(json_object_get(e, "manager"));
    const char *o = json_string_value(json_object_get(e, "operation"));

    return m && o && !strcmp(m, manager) && !strcmp(o, op) && !json_object_get(e, "subresource");
}

/* Replaces entry i's set (updating its time when it changed); drops entries that own nothing. */
static void mf_set_store(json_t *entries, size_t *i, const json_t *set)
{
    json_t *e = json_array_get(entries, *i), *v1 = fs_to_v1(set);
    char ts[32];

    if (!v1) {
        json_array_remove(entries, *i);
        (*i)--;
        return;
    }
    if (!json_equal(v1, json_object_get(e, "fieldsV1"))) {
        time_rfc3339(time(NULL), ts);
        json_object_set_new(e, "time", json_string(ts));
    }
    json_object_set_new(e, "fieldsV1", v1);
}

static void mf_store(json_t *obj, json_t *entries)
{
    if (json_array_size(entries))
        json_object_set(jx_obj(obj, "metadata"), "managedFields", entries);
    else if (json_is_object(json_object_get(obj, "metadata")))
        json_object_del(json_object_get(obj, "metadata"), "managedFields");
}

/* The managedFields a write starts from: the caller's when it replaced them, else old's. */
static json_t *mf_start(const json_t *newobj, const json_t *old)
{
    json_t *n = jx_get(newobj, "metadata.managedFields");
    json_t *o = old ? jx_get(old, "metadata.managedFields") : NULL;

    if (json_is_array(n) && (!old || !json_equal(n, o)))
        return json_deep_copy(n);
    return json_is_array(o) ? json_deep_copy(o) : json_array();
}

void patch_ssa_track_update(json_t *newobj, const json_t *old, const char *manager,
                            const struct patch_schema *schema)
{
    json_t *entries = mf_start(newobj, old), *a, *b, *diff, *present, *mine = NULL, *e;
    struct fsctx c;
    struct err err;
    size_t i;

    if (!json_is_object(newobj)) {
        json_decref(entries);
        return;
    }
    if (!manager || !*manager)
        goto out;
    err_init(&err);
    fsctx_init(&c, schema, &err, 0);
    a = old ? fs_strip(old) : json_object();
    b = fs_strip(newobj);
    diff = json_object();
    present = json_object();
    fs_diff(diff, a, b, &c);
    fs_prune(diff);
    fs_add_value(present, b, &c);
    for (i = 0; i < json_array_size(entries); i++) {
        e = json_array_get(entries, i);
        json_t *set = fs_from_v1(json_object_get(e, "fieldsV1"));
        fs_subtract(set, diff);
        if (mf_is(e, manager, "Update")) {
            json_t *gain = fs_intersect(diff, present);
            fs_union(set, gain);
            json_decref(gain);
            mine = e;
        }
        mf_set_store(entries, &i, set);
        json_decref(set);
    }
    if (!mine && json_object_size(diff)) {
        json_t *gain = fs_intersect(diff, present);
        if (json_object_size(gain))
            json_array_append_new(
                entries, mf_entry_new(manager, "Update", jx_str(newobj, "apiVersion"), gain));
        json_decref(gain);
    }
    json_decref(a);
    json_decref(b);
    json_decref(diff);
    json_decref(present);
    err_release(&err);
out:
    mf_store(newobj, entries);
    json_decref(entries);
}

/* ---- apply ------------------------------------------------------------------------------- */

/* Renders a FieldsV1 path the way Kubernetes prints it: .spec.containers[name="x"].image */
static void path_render(char *out, size_t n, const char *const *pes, size_t depth)
{
    size_t off = 0;

    out[0] = 0;
    for (size_t i = 0; i < depth && off < n; i++) {
        const char *pe = pes[i];
        if (!strncmp(pe, "f:", 2)) {
            off += (size_t)snprintf(out + off, n - off, ".%s", pe + 2);
        } else if (!strncmp(pe, "k:", 2)) {
            json_t *k = json_loads(pe + 2, 0, NULL), *v;
            const char *name;
            int first = 1;
            off += (size_t)snprintf(out + off, n - off, "[");
            json_object_foreach(k, name, v)
            {
                char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
                if (off < n)
                    off += (size_t)snprintf(out + off, n - off, "%s%s=%s", first ? "" : ",", name,
                                            s ? s : "");
                free(s);
                first = 0;
            }
            json_decref(k);
            if (off < n)
                off += (size_t)snprintf(out + off, n - off, "]");
        } else if (!strncmp(pe, "v:", 2)) {
            off += (size_t)snprintf(out + off, n - off, "[=%s]", pe + 2);
        }
    }
}

struct conflicts {
    json_t *list; /* [{manager label, path}] */
    const char *label;
};

static void conflicts_walk(const json_t *d, const json_t *s, const char **pes, size_t depth,
                           struct conflicts *cf)
{
    const char *k;
    json_t *v, *sv;
    char path[1024];

    if (fs_member(d) && fs_member(s) && depth) {
        json_t *c = json_object();
        path_render(path, sizeof path, pes, depth);
        json_object_set_new(c, "manager", json_string(cf->label));
        json_object_set_new(c, "path", json_string(path));
        json_array_append_new(cf->list, c);
    }
    if (depth >= 64)
        return;
    json_object_foreach((json_t *)d, k, v)
    {
        if (strcmp(k, ".") != 0 && (sv = json_object_get(s, k))) {
            pes[depth] = k;
            conflicts_walk(v, sv, pes, depth + 1, cf);
        }
    }
}

/* "kubectl" for an applier; "\"mgr\" using apps/v1 at <time>" for an updater, as upstream. */
static char *manager_label(const json_t *e)
{
    const char *m = json_string_value(json_object_get(e, "manager"));
    const char *op = json_string_value(json_object_get(e, "operation"));
    const char *av = json_string_value(json_object_get(e, "apiVersion"));
    const char *t = json_string_value(json_object_get(e, "time"));
    const char *sub = json_string_value(json_object_get(e, "subresource"));
    char *base = sub ? xasprintf("\"%s\" with subresource \"%s\"", m ? m : "", sub)
                     : xasprintf("\"%s\"", m ? m : ""),
         *res;

    if (!op || strcmp(op, "Update") != 0)
        return base;
    res = t ? xasprintf("%s using %s at %s", base, av ? av : "", t)
            : xasprintf("%s using %s", base, av ? av : "");
    free(base);
    return res;
}

static int conflicts_report(const json_t *list, struct err *err)
{
    size_t n = json_array_size(list), off, i;
    const json_t *c;

    for (i = 0; i < n; i++) {
        c = json_array_get(list, i);
        err_cause(err, "FieldManagerConflict", json_string_value(json_object_get(c, "path")),
                  "conflict with %s", json_string_value(json_object_get(c, "manager")));
    }
    c = json_array_get(list, 0);
    if (n == 1)
        return err_set(err, -E_CONFLICT, "Apply failed with 1 conflict: conflict with %s: %s",
                       json_string_value(json_object_get(c, "manager")),
                       json_string_value(json_object_get(c, "path")));
    err_set(err, -E_CONFLICT, "Apply failed with %zu conflicts: ", n);
    off = strlen(err->msg);
    /* Grouped by manager in order of first appearance. */
    for (i = 0; i < n && off < sizeof err->msg; i++) {
        const char *m = json_string_value(json_object_get(json_array_get(list, i), "manager"));
        int seen = 0;
        for (size_t j = 0; j < i; j++)
            seen |=
                !strcmp(m, json_string_value(json_object_get(json_array_get(list, j), "manager")));
        if (seen)
            continue;
        off += (size_t)snprintf(err->msg + off, sizeof err->msg - off,
                                "%sconflicts with %s:", i ? "\n" : "", m);
        for (size_t j = i; j < n && off < sizeof err->msg; j++) {
            c = json_array_get(list, j);
            if (!strcmp(m, json_string_value(json_object_get(c, "manager"))))
                off += (size_t)snprintf(err->msg + off, sizeof err->msg - off, "\n- %s",
                                        json_string_value(json_object_get(c, "path")));
        }
    }
    return -E_CONFLICT;
}

/* Finds conflicts of diff with every other manager; with force, takes those fields over. */
static int apply_conflicts(json_t *entries, const json_t *diff, const char *manager, int force,
                           struct err *err)
{
    struct conflicts cf = {json_array(), NULL};
    const char *pes[64];
    size_t i;
    int rc = 0;

    for (i = 0; i < json_array_size(entries); i++) {
        json_t *e = json_array_get(entries, i), *set;
        size_t before = json_array_size(cf.list);
        char *label;

        if (mf_is(e, manager, "Apply"))
            continue;
        set = fs_from_v1(json_object_get(e, "fieldsV1"));
        label = manager_label(e);
        cf.label = label;
        conflicts_walk(diff, set, pes, 0, &cf);
        if (force && json_array_size(cf.list) > before) {
            fs_subtract(set, diff);
            mf_set_store(entries, &i, set);
        }
        free(label);
        json_decref(set);
    }
    if (json_array_size(cf.list) && !force)
        rc = conflicts_report(cf.list, err);
    json_decref(cf.list);
    return rc;
}

/* Removes from obj the fields manager applied before and no longer applies, unless another
 * manager owns them too. */
static void apply_prune(json_t *obj, const json_t *entries, const json_t *applied_set,
                        const char *manager, struct fsctx *c)
{
    json_t *e, *gone = NULL, *other;
    size_t i;

    json_array_foreach(entries, i, e) if (mf_is(e, manager, "Apply")) gone =
        fs_from_v1(json_object_get(e, "fieldsV1"));
    if (!gone)
        return;
    fs_subtract(gone, applied_set);
    json_array_foreach(entries, i, e)
    {
        if (mf_is(e, manager, "Apply"))
            continue;
        other = fs_from_v1(json_object_get(e, "fieldsV1"));
        fs_subtract(gone, other);
        json_decref(other);
    }
    patch__path_init(&c->path);
    fs_remove(obj, gone, c);
    json_decref(gone);
}

/* The applied configuration without nulls (absent in apply) and without managedFields. */
static json_t *apply_clean(const json_t *v)
{
    json_t *res, *item;
    const char *k;
    size_t i;

    if (json_is_object(v)) {
        res = json_object();
        json_object_foreach((json_t *)v, k, item) if (!json_is_null(item))
            json_object_set_new(res, k, apply_clean(item));
        return res;
    }
    if (json_is_array(v)) {
        res = json_array();
        json_array_foreach(v, i, item) json_array_append_new(res, apply_clean(item));
        return res;
    }
    return json_deep_copy(v);
}

static int apply_check(const json_t *applied, const char *manager, struct err *err)
{
    if (!json_is_object(applied))
        return err_set(err, -E_BAD_REQUEST,
                       "error decoding YAML: the applied configuration "
                       "must be an object");
    if (!manager || !*manager)
        return err_set(err, -E_BAD_REQUEST,
                       "PATCH request with apply content type requires a "
                       "fieldManager");
    return 0;
}

int patch_ssa_apply(const json_t *live, const json_t *applied, const char *manager, int force,
                    const struct patch_schema *schema, json_t **out, struct err *err)
{
    json_t *clean = NULL, *base = NULL, *merged = NULL, *aset = NULL, *diff = NULL;
    json_t *entries = NULL, *sa = NULL, *sb = NULL, *e = NULL;
    struct fsctx c;
    size_t i;
    int rc;

    *out = NULL;
    if ((rc = apply_check(applied, manager, err)) < 0)
        return rc;
    if ((rc = patch_check_object(applied, "the applied configuration", err)) < 0)
        return rc;
    fsctx_init(&c, schema, err, 1);
    clean = apply_clean(applied);
    if (json_is_object(json_object_get(clean, "metadata")))
        json_object_del(json_object_get(clean, "metadata"), "managedFields");
    sa = fs_strip(clean);
    aset = json_object();
    if ((rc = fs_add_value(aset, sa, &c)) < 0)
        goto out;
    fs_prune(aset);
    c.strict = 0;
    entries = live ? mf_start(live, NULL) : json_array();
    base = json_is_object(live) ? json_deep_copy(live) : json_object();
    if (json_is_object(json_object_get(base, "metadata")))
        json_object_del(json_object_get(base, "metadata"), "managedFields");
    patch__path_init(&c.path);
    if ((rc = patch__smp_value(base, clean, schema, &c.path, &merged, err)) < 0)
        goto out;
    if (!merged)
        merged = json_object();
    /* Bounded before the field-set walks below see it (a merge is at most live + applied). */
    if ((rc = patch_check_object(merged, "the applied object", err)) < 0)
        goto out;
    json_decref(sa);
    sa = fs_strip(base);
    sb = fs_strip(merged);
    diff = json_object();
    patch__path_init(&c.path);
    fs_diff(diff, sa, sb, &c);
    fs_prune(diff);
    if ((rc = apply_conflicts(entries, diff, manager, force, err)) < 0)
        goto out;
    apply_prune(merged, entries, aset, manager, &c);
    for (i = 0; i < json_array_size(entries); i++) {
        e = json_array_get(entries, i);
        if (mf_is(e, manager, "Apply"))
            break;
    }
    if (i < json_array_size(entries)) {
        if (jx_str(applied, "apiVersion"))
            json_object_set(e, "apiVersion", json_object_get(applied, "apiVersion"));
        mf_set_store(entries, &i, aset);
    } else if (json_object_size(aset)) {
        json_array_append_new(entries,
                              mf_entry_new(manager, "Apply", jx_str(applied, "apiVersion"), aset));
    }
    mf_store(merged, entries);
    *out = merged;
    merged = NULL;
out:
    json_decref(clean);
    json_decref(base);
    json_decref(merged);
    json_decref(aset);
    json_decref(diff);
    json_decref(entries);
    json_decref(sa);
    json_decref(sb);
    return rc;
}
