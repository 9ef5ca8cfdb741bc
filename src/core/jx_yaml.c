/* YAML decoding into JSON (jx_parse_yaml, core/jx.h): request bodies (application/yaml,
 * application/apply-patch+yaml), manifests, CDI specs.
 *
 * libyaml's event parser (yaml_parser_parse) does the syntax; this file builds the JSON from
 * its events with an explicit stack, so no input makes it recurse. libyaml's loader is not
 * used because it tags untagged plain scalars !!str and so loses the plain/quoted distinction
 * that YAML 1.2 core-schema typing needs. libyaml replaced libfyaml 0.7.12, which crashed on a
 * 15-byte input (docs/internals/patch.md); libyaml has been fuzzed by OSS-Fuzz for years.
 *
 * Semantics kept from the libfyaml version: only the first document counts; an alias is a deep
 * copy of its anchored value, charged to the YAML_MAX_NODES budget (413); more than
 * YAML_MAX_DEPTH nested collections is a 413; "<<" merges a mapping or a list of mappings
 * (explicit keys win); keys must be scalars and a repeated (non-alias) key is a 400. */
#include "core/jx.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "core/err.h"

/* Caps the values a YAML document may expand to through aliases ("billion laughs"). */
#define YAML_MAX_NODES 1000000
/* Caps nested collections (after alias expansion). */
#define YAML_MAX_DEPTH 512

#define YAML_STR_TAG "tag:yaml.org,2002:str"

/* An anchored value. v is NULL while the anchored collection is still open: an alias to it
 * then would be recursive. raw is the scalar's text (NULL for collections), for alias keys. */
struct yanchor {
    json_t *v;
    char *raw;
    size_t rawlen;
    size_t nodes;  /* what one alias to it costs, itself included */
    int height;    /* nested collections inside v, v included */
};

/* One open collection. In a mapping, key is NULL while a key is expected. */
struct yframe {
    json_t *v;
    int is_map;
    json_t *seen;      /* mapping: keys written as scalars so far (alias keys do not count) */
    char *key;
    size_t klen;
    int key_merge;     /* the pending key is the merge key "<<" */
    json_t *merge;     /* the "<<" value, applied when the mapping ends */
    yaml_mark_t merge_mark;
    long anchor;       /* index in yconv.anchors, or -1 */
    size_t nodes0;     /* yconv.nodes before this collection */
    int height;
};

struct yconv {
    struct err *err;
    size_t nodes;
    struct yframe *stack;
    size_t depth, cap;
    struct yanchor *anchors;
    size_t nanchors, acap;
    json_t *index;     /* anchor name -> index in anchors (the latest definition wins) */
    json_t *root;
    int done, empty;
};

/* ---- errors and small helpers ------------------------------------------------------------ */

/* Sets a positioned error; libyaml's marks are 0-based, messages are 1-based. */
static int y_err(struct yconv *c, int code, const yaml_mark_t *m, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int y_err(struct yconv *c, int code, const yaml_mark_t *m, const char *fmt, ...)
{
    char what[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return err_set(c->err, code, "error converting YAML to JSON: yaml: line %zu, column %zu: %s",
                   m->line + 1, m->column + 1, what);
}

static int y_parser_err(struct yconv *c, const yaml_parser_t *p)
{
    const char *problem = p->problem ? p->problem : "invalid YAML";

    if (p->error == YAML_MEMORY_ERROR)
        return err_set(c->err, -E_INTERNAL, "error converting YAML to JSON: out of memory");
    if (p->error == YAML_READER_ERROR)
        return err_set(c->err, -E_BAD_REQUEST, "error converting YAML to JSON: yaml: byte %zu: "
                       "%s", p->problem_offset, problem);
    if (p->context)
        return y_err(c, -E_BAD_REQUEST, &p->problem_mark, "%s (%s at line %zu, column %zu)",
                     problem, p->context, p->context_mark.line + 1,
                     p->context_mark.column + 1);
    return y_err(c, -E_BAD_REQUEST, &p->problem_mark, "%s", problem);
}

static int y_charge(struct yconv *c, size_t n, const yaml_mark_t *m)
{
    if (n > YAML_MAX_NODES - c->nodes)
        return y_err(c, -E_TOO_LARGE, m, "document too large: more than %d values (aliases "
                     "expanded)", YAML_MAX_NODES);
    c->nodes += n;
    return 0;
}

static int y_deep(struct yconv *c, size_t levels, const yaml_mark_t *m)
{
    if (levels > YAML_MAX_DEPTH)
        return y_err(c, -E_TOO_LARGE, m, "document nested deeper than the depth limit of %d",
                     YAML_MAX_DEPTH);
    return 0;
}

static struct yframe *y_top(struct yconv *c)
{
    return c->depth ? &c->stack[c->depth - 1] : NULL;
}

/* True when the next node is a mapping key. */
static int y_want_key(struct yconv *c)
{
    struct yframe *f = y_top(c);

    return f && f->is_map && !f->key;
}

/* A NUL-terminated copy of s, which may hold NULs itself; NULL when out of memory. */
static char *y_dup(const char *s, size_t len)
{
    char *d = malloc(len + 1);

    if (d) {
        memcpy(d, s, len);
        d[len] = 0;
    }
    return d;
}

static int scalar_matches(const char *s, const char *const *words)
{
    for (; *words; words++)
        if (strcmp(s, *words) == 0)
            return 1;
    return 0;
}

/* Plain scalars resolve as the YAML 1.2 core schema says; anything else is a string.
 * s is NUL-terminated; a NUL inside it (len longer than strlen) makes it a string. */
static json_t *yaml_plain(const char *s, size_t len)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", NULL};
    static const char *const falses[] = {"false", "False", "FALSE", NULL};
    char *end;
    json_t *v = NULL;

    if (strlen(s) != len)
        return json_stringn(s, len);
    if (scalar_matches(s, nulls))
        return json_null();
    if (scalar_matches(s, trues))
        return json_true();
    if (scalar_matches(s, falses))
        return json_false();
    errno = 0;
    if (!strncmp(s, "0o", 2) || !strncmp(s, "0x", 2)) {
        long long n = strtoll(s + 2, &end, s[1] == 'o' ? 8 : 16);
        if (s[2] && !*end && !errno)
            return json_integer(n);
        return json_string(s);
    }
    if (strspn(s + (*s == '-' || *s == '+'), "0123456789") == len - (*s == '-' || *s == '+') &&
        len > (size_t)(*s == '-' || *s == '+')) {
        long long n = strtoll(s, &end, 10);
        if (!errno)
            return json_integer(n);
    }
    if (strspn(s, "0123456789+-.eE") == len && strpbrk(s, "0123456789")) {
        double d = strtod(s, &end);
        if (!*end && (v = json_real(d)))
            return v;
    }
    return json_string(s);
}

/* ---- anchors ----------------------------------------------------------------------------- */

/* Defines (or redefines) an anchor; *idx receives its index. */
static int y_anchor_new(struct yconv *c, const yaml_char_t *name, long *idx)
{
    json_t *i;

    if (c->nanchors == c->acap) {
        size_t cap = c->acap ? c->acap * 2 : 16;
        struct yanchor *a = realloc(c->anchors, cap * sizeof *a);
        if (!a)
            return err_set(c->err, -E_INTERNAL, "error converting YAML to JSON: out of memory");
        c->anchors = a;
        c->acap = cap;
    }
    i = json_integer((json_int_t)c->nanchors);
    if (!i || json_object_set_new(c->index, (const char *)name, i) < 0)
        return err_set(c->err, -E_BAD_REQUEST, "error converting YAML to JSON: invalid anchor");
    c->anchors[c->nanchors] = (struct yanchor){0};
    *idx = (long)c->nanchors++;
    return 0;
}

/* The anchor an alias names, or NULL with err set (unknown or still open: recursive). */
static struct yanchor *y_anchor_find(struct yconv *c, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    json_t *i = json_object_get(c->index, name);
    struct yanchor *a = i ? &c->anchors[json_integer_value(i)] : NULL;

    if (!a)
        y_err(c, -E_BAD_REQUEST, &ev->start_mark, "unknown anchor '%s' referenced", name);
    else if (!a->v)
        y_err(c, -E_BAD_REQUEST, &ev->start_mark, "anchor '%s' is used inside its own value "
              "(recursive alias)", name);
    return a && a->v ? a : NULL;
}

/* ---- building ---------------------------------------------------------------------------- */

/* Takes a finished value (height: nested collections in it) into the open collection, or makes
 * it the document root. */
static int y_put_take(struct yconv *c, json_t *v, int height)
{
    struct yframe *f = y_top(c);

    if (!v)
        return err_set(c->err, -E_BAD_REQUEST, "error converting YAML to JSON: invalid value");
    if (!f) {
        c->root = v;
        return 0;
    }
    if (height + 1 > f->height)
        f->height = height + 1;
    if (!f->is_map)
        return json_array_append_new(f->v, v) < 0 ? -E_INTERNAL : 0;
    if (f->key_merge)
        f->merge = v;
    else if (json_object_setn_new(f->v, f->key, f->klen, v) < 0)
        return err_set(c->err, -E_BAD_REQUEST, "error converting YAML to JSON: invalid key");
    free(f->key);
    f->key = NULL;
    f->key_merge = 0;
    return 0;
}

/* Takes a mapping key. Repeated scalar keys are refused; alias keys are not checked (as with
 * libfyaml, which compared the alias node, not its value). */
static int y_key(struct yconv *c, const char *s, size_t len, int alias, int plain,
                 const yaml_mark_t *m)
{
    struct yframe *f = y_top(c);

    if (!alias) {
        if (json_object_getn(f->seen, s, len))
            return y_err(c, -E_BAD_REQUEST, m, "duplicate key");
        if (json_object_setn_new(f->seen, s, len, json_true()) < 0)
            return err_set(c->err, -E_BAD_REQUEST, "error converting YAML to JSON: invalid key");
        f->key_merge = plain && len == 2 && !memcmp(s, "<<", 2);
    }
    if (!(f->key = y_dup(s, len)))
        return err_set(c->err, -E_INTERNAL, "error converting YAML to JSON: out of memory");
    f->klen = len;
    return 0;
}

static int y_scalar(struct yconv *c, const yaml_event_t *ev)
{
    const char *s = (const char *)ev->data.scalar.value, *tag = (const char *)ev->data.scalar.tag;
    size_t len = ev->data.scalar.length;
    int plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    json_t *v;
    long idx;
    int rc;

    if (tag && !strcmp(tag, YAML_STR_TAG))
        plain = 0;
    v = plain ? yaml_plain(s, len) : json_stringn(s, len);
    if (!v)
        return err_set(c->err, -E_BAD_REQUEST, "error converting YAML to JSON: invalid value");
    if (ev->data.scalar.anchor) {
        if ((rc = y_anchor_new(c, ev->data.scalar.anchor, &idx)) < 0) {
            json_decref(v);
            return rc;
        }
        /* The text is kept too: an alias used as a key is the scalar's text, not its value. */
        c->anchors[idx] = (struct yanchor){json_incref(v), y_dup(s, len), len, 1, 0};
    }
    if (y_want_key(c)) {
        json_decref(v);
        return y_key(c, s, len, 0, ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE,
                     &ev->start_mark);
    }
    if ((rc = y_charge(c, 1, &ev->start_mark)) < 0) {
        json_decref(v);
        return rc;
    }
    return y_put_take(c, v, 0);
}

static int y_alias(struct yconv *c, const yaml_event_t *ev)
{
    struct yanchor *a = y_anchor_find(c, ev);
    int rc;

    if (!a)
        return c->err->code;
    if (y_want_key(c)) {
        if (!a->raw)
            return y_err(c, -E_BAD_REQUEST, &ev->start_mark, "mapping keys must be scalars");
        return y_key(c, a->raw, a->rawlen, 1, 0, &ev->start_mark);
    }
    /* Charged before copying, so an alias bomb stops before it is built. */
    if ((rc = y_charge(c, 1 + a->nodes, &ev->start_mark)) < 0 ||
        (rc = y_deep(c, c->depth + (size_t)a->height, &ev->start_mark)) < 0)
        return rc;
    return y_put_take(c, json_deep_copy(a->v), a->height);
}

static int y_start(struct yconv *c, const yaml_event_t *ev, const yaml_char_t *anchor, int map)
{
    struct yframe *f;
    size_t nodes0 = c->nodes;
    long idx = -1;
    int rc;

    if (y_want_key(c))
        return y_err(c, -E_BAD_REQUEST, &ev->start_mark, "mapping keys must be scalars");
    if ((rc = y_charge(c, 1, &ev->start_mark)) < 0 ||
        (rc = y_deep(c, c->depth + 1, &ev->start_mark)) < 0)
        return rc;
    if (c->depth == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        struct yframe *s = realloc(c->stack, cap * sizeof *s);
        if (!s)
            return err_set(c->err, -E_INTERNAL, "error converting YAML to JSON: out of memory");
        c->stack = s;
        c->cap = cap;
    }
    if (anchor && (rc = y_anchor_new(c, anchor, &idx)) < 0)
        return rc;
    f = &c->stack[c->depth++];
    *f = (struct yframe){.v = map ? json_object() : json_array(), .is_map = map,
                         .seen = map ? json_object() : NULL, .anchor = idx, .nodes0 = nodes0,
                         .height = 1};
    if (!f->v || (map && !f->seen))
        return err_set(c->err, -E_INTERNAL, "error converting YAML to JSON: out of memory");
    return 0;
}

/* Copies the pairs of the "<<" value into the mapping without overriding its own keys. */
static int y_merge(struct yconv *c, struct yframe *f)
{
    json_t *item;
    size_t i;

    if (json_is_object(f->merge))
        return json_object_update_missing(f->v, f->merge) < 0 ? -E_INTERNAL : 0;
    if (!json_is_array(f->merge))
        return y_err(c, -E_BAD_REQUEST, &f->merge_mark, "merge key \"<<\" needs a mapping");
    json_array_foreach (f->merge, i, item)
        if (!json_is_object(item))
            return y_err(c, -E_BAD_REQUEST, &f->merge_mark, "merge key \"<<\" needs mappings");
    json_array_foreach (f->merge, i, item)
        json_object_update_missing(f->v, item);
    return 0;
}

static void y_frame_release(struct yframe *f)
{
    json_decref(f->v);
    json_decref(f->seen);
    json_decref(f->merge);
    free(f->key);
}

static int y_end(struct yconv *c)
{
    struct yframe f = c->stack[--c->depth];
    int rc = 0;

    if (f.merge)
        rc = y_merge(c, &f);
    if (rc == 0 && f.anchor >= 0)
        c->anchors[f.anchor] = (struct yanchor){json_incref(f.v), NULL, 0, c->nodes - f.nodes0,
                                                f.height};
    if (rc == 0)
        rc = y_put_take(c, json_incref(f.v), f.height);
    y_frame_release(&f);
    return rc;
}

/* Merge values are positioned at their first event, which the frame records here. */
static void y_note_merge_mark(struct yconv *c, const yaml_event_t *ev)
{
    struct yframe *f = y_top(c);

    if (f && f->is_map && f->key_merge)
        f->merge_mark = ev->start_mark;
}

static int y_event(struct yconv *c, const yaml_event_t *ev)
{
    y_note_merge_mark(c, ev);
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return y_scalar(c, ev);
    case YAML_ALIAS_EVENT:
        return y_alias(c, ev);
    case YAML_SEQUENCE_START_EVENT:
        return y_start(c, ev, ev->data.sequence_start.anchor, 0);
    case YAML_MAPPING_START_EVENT:
        return y_start(c, ev, ev->data.mapping_start.anchor, 1);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return y_end(c);
    case YAML_DOCUMENT_END_EVENT:
        /* Only the first document counts; the rest of the stream is not even parsed. */
        c->done = 1;
        return 0;
    case YAML_STREAM_END_EVENT:
        c->done = c->empty = 1;
        return 0;
    default:
        return 0;
    }
}

static void y_release(struct yconv *c)
{
    while (c->depth)
        y_frame_release(&c->stack[--c->depth]);
    free(c->stack);
    for (size_t i = 0; i < c->nanchors; i++) {
        json_decref(c->anchors[i].v);
        free(c->anchors[i].raw);
    }
    free(c->anchors);
    json_decref(c->index);
    json_decref(c->root);
}

/* ---- entry ------------------------------------------------------------------------------- */

/* The text need not be NUL-terminated, so no str* function may look at it. */
static int text_blank(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!strchr(" \t\r\n", text[i]) || !text[i])
            return 0;
    return 1;
}

/* Returns the offset of the first byte that is not part of valid UTF-8, or len. Checked up
 * front so the message names the byte (libyaml would say "invalid leading UTF-8 octet"). */
static size_t utf8_check(const unsigned char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        unsigned char c = s[i];
        size_t n = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2
                 : (c & 0xF8) == 0xF0 ? 3 : 9;
        uint32_t cp = n == 0 ? c : n == 1 ? (c & 0x1Fu) : n == 2 ? (c & 0x0Fu) : (c & 0x07u);

        if (n == 9 || (n && i + n >= len))
            return i;
        for (size_t j = 1; j <= n; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return i;
            cp = cp << 6 | (s[i + j] & 0x3Fu);
        }
        /* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
            return i;
        i += n + 1;
    }
    return len;
}

/* Feeds the parser's events to the builder until the first document ends or an error. */
static int y_run(struct yconv *c, yaml_parser_t *p)
{
    yaml_event_t ev;
    int rc = 0;

    while (!c->done && rc == 0) {
        if (!yaml_parser_parse(p, &ev))
            return y_parser_err(c, p);
        rc = y_event(c, &ev);
        yaml_event_delete(&ev);
    }
    if (rc < 0 && !c->err->code)
        rc = err_set(c->err, rc, "error converting YAML to JSON: out of memory");
    return rc;
}

int jx_parse_yaml(const char *text, size_t len, json_t **out, struct err *err)
{
    struct yconv c = {.err = err};
    yaml_parser_t p;
    size_t bad;
    int rc;

    *out = NULL;
    if ((bad = utf8_check((const unsigned char *)text, len)) < len)
        return err_set(err, -E_BAD_REQUEST, "error converting YAML to JSON: invalid UTF-8 at "
                       "byte %zu", bad);
    /* Blank text is a null document (libyaml would refuse a tab at the start of a line). */
    if (text_blank(text, len)) {
        *out = json_null();
        return 0;
    }
    if (!(c.index = json_object()) || !yaml_parser_initialize(&p)) {
        json_decref(c.index);
        return err_set(err, -E_INTERNAL, "error converting YAML to JSON: out of memory");
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
    rc = y_run(&c, &p);
    /* A stream with no document (only comments or directives) is refused, as before. */
    if (rc == 0 && c.empty)
        rc = err_set(err, -E_BAD_REQUEST, "error converting YAML to JSON: invalid YAML");
    else if (rc == 0) {
        *out = c.root ? c.root : json_null();
        c.root = NULL;
    }
    yaml_parser_delete(&p);
    y_release(&c);
    return rc;
}
