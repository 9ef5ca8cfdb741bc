/* JSON Patch (RFC 6902) with RFC 6901 pointers, JSON merge patch (RFC 7386), YAML/JSON body
 * parsing (core/jx_yaml.c), and the small helpers the rest of the patch engine shares.
 * Every function works on a deep copy: the caller's document is never modified. */
#include "api/patch.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/patch-int.h"
#include "core/log.h"

/* ---- shared helpers ---------------------------------------------------------------------- */

void patch__path_init(struct patch_path *p)
{
    p->buf[0] = 0;
    p->len = 0;
    p->overflow = 0;
}

static size_t path_append(struct patch_path *p, const char *sep, const char *name)
{
    size_t old = p->len, need = strlen(sep) + strlen(name);

    if (p->overflow || p->len + need >= sizeof p->buf) {
        p->overflow++;
        return old;
    }
    memcpy(p->buf + p->len, sep, strlen(sep));
    memcpy(p->buf + p->len + strlen(sep), name, strlen(name));
    p->len += need;
    p->buf[p->len] = 0;
    return old;
}

size_t patch__path_push(struct patch_path *p, const char *name)
{
    return path_append(p, p->len ? "." : "", name);
}

size_t patch__path_push_item(struct patch_path *p)
{
    return path_append(p, "", "[]");
}

void patch__path_pop(struct patch_path *p, size_t len)
{
    /* An overflowed push did not append, so popping it only unwinds the counter. */
    if (p->overflow) {
        p->overflow--;
        return;
    }
    p->len = len;
    p->buf[len] = 0;
}

int patch__json_equal(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b)) {
        if (json_is_integer(a) && json_is_integer(b))
            return json_integer_value(a) == json_integer_value(b);
        return json_number_value(a) == json_number_value(b);
    }
    if (json_is_array(a) && json_is_array(b)) {
        if (json_array_size(a) != json_array_size(b))
            return 0;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!patch__json_equal(json_array_get(a, i), json_array_get(b, i)))
                return 0;
        return 1;
    }
    if (json_is_object(a) && json_is_object(b)) {
        const char *k;
        json_t *v;

        if (json_object_size(a) != json_object_size(b))
            return 0;
        json_object_foreach ((json_t *)a, k, v)
            if (!patch__json_equal(v, json_object_get(b, k)))
                return 0;
        return 1;
    }
    return json_equal((json_t *)a, (json_t *)b);
}

/* ---- RFC 6901 pointers ------------------------------------------------------------------- */

struct ptr {
    char **tok;
    size_t n;
};

static void ptr_release(struct ptr *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->tok[i]);
    free(p->tok);
    p->tok = NULL;
    p->n = 0;
}

/* Splits and unescapes a pointer. "~" must be followed by 0 or 1 (RFC 6901 section 3). */
static int ptr_parse(const char *s, struct ptr *p, struct err *err)
{
    p->tok = NULL;
    p->n = 0;
    if (!*s)
        return 0;
    if (*s != '/')
        return err_set(err, -E_INVALID, "invalid JSON pointer \"%s\": must start with \"/\"", s);
    while (*s == '/') {
        const char *end = strchr(s + 1, '/');
        size_t len = end ? (size_t)(end - s - 1) : strlen(s + 1);
        char *t = xmalloc(len + 1), *w = t;

        for (size_t i = 0; i < len; i++) {
            char c = s[1 + i];
            if (c == '~') {
                char nx = i + 1 < len ? s[2 + i] : 0;
                if (nx != '0' && nx != '1') {
                    free(t);
                    ptr_release(p);
                    return err_set(err, -E_INVALID,
                                   "invalid JSON pointer: \"~\" must be followed by 0 or 1");
                }
                c = nx == '0' ? '~' : '/';
                i++;
            }
            *w++ = c;
        }
        *w = 0;
        p->tok = xrealloc(p->tok, (p->n + 1) * sizeof *p->tok);
        p->tok[p->n++] = t;
        s += 1 + len;
    }
    return 0;
}

/* Parses an array index: decimal without leading zeros, below limit (inclusive when allow_end). */
static int ptr_index(const char *t, size_t size, int allow_end, size_t *out)
{
    size_t v = 0;

    if (!*t || (t[0] == '0' && t[1]) || strlen(t) > 18)
        return -1;
    for (const char *c = t; *c; c++) {
        if (*c < '0' || *c > '9')
            return -1;
        v = v * 10 + (size_t)(*c - '0');
    }
    if (v > size || (v == size && !allow_end))
        return -1;
    *out = v;
    return 0;
}

/* Follows the first n tokens from root; NULL when a step is missing. */
static json_t *ptr_walk(json_t *root, const struct ptr *p, size_t n)
{
    json_t *cur = root;

    for (size_t i = 0; i < n && cur; i++) {
        size_t idx;

        if (json_is_object(cur))
            cur = json_object_get(cur, p->tok[i]);
        else if (json_is_array(cur) && ptr_index(p->tok[i], json_array_size(cur), 0, &idx) == 0)
            cur = json_array_get(cur, idx);
        else
            cur = NULL;
    }
    return cur;
}

/* ---- RFC 6902 operations ----------------------------------------------------------------- */

/* What a JSON patch has built so far, checked after every operation against patch.h's limits
 * by measuring only the values an operation inserts or removes, never the whole document. */
struct jp_state {
    size_t bytes;      /* compact size of the document (separators approximate) */
    int depth;         /* an upper bound of the document's nesting */
    size_t copied;     /* bytes duplicated by "copy" or re-measured for a deepening "move" */
    size_t max_bytes;  /* patch_object_max_bytes() */
    size_t max_copied; /* JSON_PATCH_MAX_COPY_FACTOR times max_bytes */
};

/* Bytes a member named key (or an array slot) adds besides its value: quotes, colon, comma. */
static size_t jp_slot_cost(const json_t *parent, const char *key)
{
    return json_is_object(parent) ? strlen(key) + 4 : 1;
}

/* Measures v to be placed under base levels: fits in what the object limit leaves (or in room
 * when room is smaller) and in PATCH_MAX_DEPTH. *size gets its bytes. */
static int jp_measure(struct jp_state *st, const json_t *v, size_t base, size_t room,
                      size_t *size, const char *path, struct err *e)
{
    size_t left = st->bytes < st->max_bytes ? st->max_bytes - st->bytes : 0;
    struct patch_measure m = {.max_bytes = room < left ? room : left,
                              .max_depth = PATCH_MAX_DEPTH};

    if (base > PATCH_MAX_DEPTH)
        return patch__limit_err(e, PATCH_OVER_DEPTH, "the patched object", path);
    if (patch_measure(v, (int)base, &m) < 0) {
        if (m.over == PATCH_OVER_SIZE && room < left)
            return err_set(e, -E_TOO_LARGE, "Request entity too large: the JSON patch copies "
                           "more than its limit of %zu bytes", st->max_copied);
        return patch__limit_err(e, m.over, "the patched object", path);
    }
    *size = m.bytes;
    if (m.depth > st->depth)
        st->depth = m.depth;
    return 0;
}

/* Subtracts a value leaving the document (it was inside it, so its depth is bounded). */
static void jp_uncharge(struct jp_state *st, const json_t *v, size_t slot)
{
    struct patch_measure m = {.max_bytes = SIZE_MAX, .max_depth = INT32_MAX};

    patch_measure(v, 0, &m);
    st->bytes -= st->bytes < m.bytes + slot ? st->bytes : m.bytes + slot;
}

/* Stores v (taken) at p, as "add" does: inserts into arrays, sets object members (the member it
 * replaces leaves the size count). size is v's measured size. */
static int op_add(json_t **root, const struct ptr *p, json_t *v, size_t size, const char *path,
                  struct jp_state *st, struct err *e)
{
    json_t *parent, *old;
    const char *last;
    size_t idx;

    if (p->n == 0) {
        json_decref(*root);
        *root = v;
        st->bytes = size;
        return 0;
    }
    parent = ptr_walk(*root, p, p->n - 1);
    last = p->tok[p->n - 1];
    if (json_is_object(parent)) {
        if ((old = json_object_get(parent, last)))
            jp_uncharge(st, old, jp_slot_cost(parent, last));
        json_object_set_new(parent, last, v);
        st->bytes += size + jp_slot_cost(parent, last);
        return 0;
    }
    if (json_is_array(parent)) {
        if (strcmp(last, "-") == 0) {
            json_array_append_new(parent, v);
            st->bytes += size + 1;
            return 0;
        }
        if (ptr_index(last, json_array_size(parent), 1, &idx) == 0) {
            json_array_insert_new(parent, idx, v);
            st->bytes += size + 1;
            return 0;
        }
        json_decref(v);
        return err_set(e, -E_INVALID, "add operation does not apply: index out of range: \"%s\"",
                       path);
    }
    json_decref(v);
    return err_set(e, -E_INVALID, "add operation does not apply: doc is missing path: \"%s\"",
                   path);
}

/* Detaches the value at p; *old receives it (a new reference) when old is not NULL. The value
 * leaves the size count unless keep_size (a move puts it back). */
static int op_remove(json_t *root, const struct ptr *p, const char *opname, const char *path,
                     json_t **old, struct jp_state *st, int keep_size, struct err *e)
{
    json_t *parent = p->n ? ptr_walk(root, p, p->n - 1) : NULL, *v = NULL;
    const char *last = p->n ? p->tok[p->n - 1] : "";
    size_t idx;

    if (json_is_object(parent) && (v = json_object_get(parent, last))) {
        if (!keep_size)
            jp_uncharge(st, v, jp_slot_cost(parent, last));
        if (old)
            *old = json_incref(v);
        json_object_del(parent, last);
        return 0;
    }
    if (json_is_array(parent) && ptr_index(last, json_array_size(parent), 0, &idx) == 0) {
        if (!keep_size)
            jp_uncharge(st, json_array_get(parent, idx), 1);
        if (old)
            *old = json_incref(json_array_get(parent, idx));
        json_array_remove(parent, idx);
        return 0;
    }
    return err_set(e, -E_INVALID, "%s operation does not apply: doc is missing path: \"%s\"",
                   opname, path);
}

static const char *op_str(const json_t *op, const char *name)
{
    return json_string_value(json_object_get(op, name));
}

/* The depth a moved value may reach: when even the worst case (the value as deep as the
 * document allows below its old place) fits, nothing is walked; otherwise it is measured, and
 * the walk is paid from the copy budget so repeated deepening moves stay bounded. */
static int move_check(struct jp_state *st, const json_t *v, const struct ptr *from,
                      const struct ptr *to, const char *path, struct err *e)
{
    size_t below = (size_t)st->depth > from->n ? (size_t)st->depth - from->n : 0;
    struct patch_measure m = {.max_bytes = st->max_copied - st->copied,
                              .max_depth = PATCH_MAX_DEPTH};

    if (to->n + below <= PATCH_MAX_DEPTH) {
        if (to->n + below > (size_t)st->depth)
            st->depth = (int)(to->n + below);
        return 0;
    }
    if (to->n > PATCH_MAX_DEPTH)
        return patch__limit_err(e, PATCH_OVER_DEPTH, "the patched object", path);
    if (patch_measure(v, (int)to->n, &m) < 0)
        return m.over == PATCH_OVER_SIZE
                   ? err_set(e, -E_TOO_LARGE, "Request entity too large: the JSON patch copies "
                             "more than its limit of %zu bytes", st->max_copied)
                   : patch__limit_err(e, m.over, "the patched object", path);
    st->copied += m.bytes;
    if (m.depth > st->depth)
        st->depth = m.depth;
    return 0;
}

static int op_from(json_t **root, const json_t *op, const char *name, const char *path,
                   const struct ptr *to, struct jp_state *st, struct err *e)
{
    const char *from = op_str(op, "from");
    struct ptr fp;
    json_t *v = NULL, *src;
    size_t size = 0;
    int rc;

    if (!from)
        return err_set(e, -E_INVALID, "%s operation does not apply: missing \"from\"", name);
    if ((rc = ptr_parse(from, &fp, e)) < 0)
        return rc;
    if (strcmp(name, "move") == 0) {
        size_t fl = strlen(from);
        /* A value cannot move into one of its own children (RFC 6902 section 4.4). */
        if (strncmp(from, path, fl) == 0 && path[fl] == '/') {
            rc = err_set(e, -E_INVALID, "move operation does not apply: \"%s\" is a child of "
                         "\"%s\"", path, from);
            goto out;
        }
        if (!(src = ptr_walk(*root, &fp, fp.n))) {
            rc = err_set(e, -E_INVALID, "move operation does not apply: doc is missing from "
                         "path: \"%s\"", from);
            goto out;
        }
        if ((rc = move_check(st, src, &fp, to, path, e)) < 0)
            goto out;
        if (fp.n == 0)
            v = json_incref(*root);
        else if ((rc = op_remove(*root, &fp, name, from, &v, st, 1, e)) < 0)
            goto out;
        /* The value's bytes stay counted (op_remove kept them); only its slot is added. A move
         * onto the root keeps the count: an overestimate, checked exactly at the end. */
        size = st->bytes;
        rc = op_add(root, to, v, 0, path, st, e);
        if (to->n == 0)
            st->bytes = size;
        goto out;
    }
    if (!(src = ptr_walk(*root, &fp, fp.n))) {
        rc = err_set(e, -E_INVALID, "copy operation does not apply: doc is missing from path: "
                     "\"%s\"", from);
        goto out;
    }
    /* Measured before it is copied, so a copy that would break a limit never allocates. */
    if ((rc = jp_measure(st, src, to->n, st->max_copied - st->copied, &size, path, e)) < 0)
        goto out;
    st->copied += size;
    rc = op_add(root, to, json_deep_copy(src), size, path, st, e);
out:
    ptr_release(&fp);
    return rc;
}

/* add / replace of the operation's own value (bounded by the request body). */
static int op_put(json_t **root, const struct ptr *p, const json_t *value, const char *name,
                  const char *path, struct jp_state *st, struct err *e)
{
    size_t size;
    int rc;

    if (strcmp(name, "replace") == 0) {
        if (!ptr_walk(*root, p, p->n))
            return err_set(e, -E_INVALID, "replace operation does not apply: doc is missing "
                           "key: \"%s\"", path);
        if (p->n && (rc = op_remove(*root, p, name, path, NULL, st, 0, e)) < 0)
            return rc;
        if (p->n == 0)
            st->bytes = 0;
    }
    if ((rc = jp_measure(st, value, p->n, SIZE_MAX, &size, path, e)) < 0)
        return rc;
    return op_add(root, p, json_deep_copy(value), size, path, st, e);
}

static int op_apply(json_t **root, const json_t *op, size_t i, struct jp_state *st,
                    struct err *e)
{
    const char *name = op_str(op, "op"), *path = op_str(op, "path");
    json_t *value = json_object_get(op, "value"), *cur;
    struct ptr p;
    int rc;

    if (!name)
        return err_set(e, -E_INVALID, "operation %zu: missing \"op\"", i);
    if (!path)
        return err_set(e, -E_INVALID, "%s operation does not apply: missing \"path\"", name);
    if ((rc = ptr_parse(path, &p, e)) < 0)
        return rc;
    if (!value && (!strcmp(name, "add") || !strcmp(name, "replace") || !strcmp(name, "test"))) {
        rc = err_set(e, -E_INVALID, "%s operation does not apply: missing \"value\"", name);
    } else if (strcmp(name, "add") == 0 || strcmp(name, "replace") == 0) {
        rc = op_put(root, &p, value, name, path, st, e);
    } else if (strcmp(name, "remove") == 0) {
        rc = p.n ? op_remove(*root, &p, name, path, NULL, st, 0, e)
                 : err_set(e, -E_INVALID, "remove operation does not apply: cannot remove root");
    } else if (strcmp(name, "move") == 0 || strcmp(name, "copy") == 0) {
        rc = op_from(root, op, name, path, &p, st, e);
    } else if (strcmp(name, "test") == 0) {
        cur = ptr_walk(*root, &p, p.n);
        rc = cur && patch__json_equal(cur, value) ? 0
             : err_set(e, -E_INVALID, "testing value %s failed: test failed", path);
    } else {
        rc = err_set(e, -E_INVALID, "Unexpected kind: %s", name);
    }
    ptr_release(&p);
    return rc;
}

int patch_json_apply(const json_t *doc, const json_t *ops, json_t **out, struct err *err)
{
    struct jp_state st = {.max_bytes = patch_object_max_bytes()};
    struct patch_measure m = {.max_bytes = SIZE_MAX, .max_depth = PATCH_MAX_DEPTH};
    json_t *root;
    size_t i;
    int rc = 0;

    *out = NULL;
    st.max_copied = st.max_bytes * JSON_PATCH_MAX_COPY_FACTOR;
    if (!json_is_array(ops))
        return err_set(err, -E_BAD_REQUEST, "json: cannot unmarshal %s into Go value of type "
                       "jsonpatch.Patch", json_is_object(ops) ? "object" : "non-array value");
    if (json_array_size(ops) > JSON_PATCH_MAX_OPS)
        return err_set(err, -E_TOO_LARGE, "The allowed maximum operations in a JSON patch is %d, "
                       "got %zu", JSON_PATCH_MAX_OPS, json_array_size(ops));
    for (i = 0; i < json_array_size(ops); i++)
        if (!json_is_object(json_array_get(ops, i)))
            return err_set(err, -E_BAD_REQUEST, "json: cannot unmarshal operation %zu: not an "
                           "object", i);
    if (doc && patch_measure(doc, 0, &m) < 0)
        return patch__limit_err(err, m.over, "the object", NULL);
    st.bytes = m.bytes;
    st.depth = m.depth;
    root = doc ? json_deep_copy(doc) : json_null();
    for (i = 0; i < json_array_size(ops) && rc == 0; i++)
        rc = op_apply(&root, json_array_get(ops, i), i, &st, err);
    if (rc < 0) {
        json_decref(root);
        return rc;
    }
    *out = root;
    return 0;
}

/* ---- RFC 7386 merge patch ---------------------------------------------------------------- */

/* Returns the merge of patch onto target (target taken, result new). */
static json_t *merge_value(json_t *target, const json_t *patch)
{
    const char *k;
    json_t *v;

    if (!json_is_object(patch)) {
        json_decref(target);
        return json_deep_copy(patch);
    }
    if (!json_is_object(target)) {
        json_decref(target);
        target = json_object();
    }
    json_object_foreach ((json_t *)patch, k, v) {
        if (json_is_null(v)) {
            json_object_del(target, k);
            continue;
        }
        json_object_set_new(target, k, merge_value(json_incref(json_object_get(target, k)), v));
    }
    return target;
}

int patch_merge_apply(const json_t *doc, const json_t *patch, json_t **out, struct err *err)
{
    int rc;

    *out = NULL;
    if (!json_is_object(patch))
        return err_set(err, -E_BAD_REQUEST, "Invalid JSON Patch: a merge patch must be a JSON "
                       "object");
    /* merge_value mutates its target, so it gets a private copy of the document. */
    *out = merge_value(json_is_object(doc) ? json_deep_copy(doc) : json_object(), patch);
    /* A merge copies each patch value once, so its result is at most doc + patch: one check of
     * the result bounds it before any other walk sees it. */
    if ((rc = patch_check_object(*out, "the patched object", err)) < 0) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}
