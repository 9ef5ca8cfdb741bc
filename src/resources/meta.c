/* ObjectMeta and the shared syntax rules of Kubernetes (apimachinery's util/validation):
 * DNS-1123/1035 names, qualified names, label values, config keys, label selectors, plus the
 * defaulting helpers that never overwrite a wrongly-typed value. Messages are upstream's. */
#include "resources/res-int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/jx.h"
#include "core/names.h"

#define CONFIG_KEY_MSG                                                                          \
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "       \
    "'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "                \
    "'[-._a-zA-Z0-9]+')"

static int append_msg(char *msg, size_t n, int bad, const char *text)
{
    size_t len = strlen(msg);

    if (len && len < n)
        snprintf(msg + len, n - len, "; ");
    len = strlen(msg);
    if (len < n)
        snprintf(msg + len, n - len, "%s", text);
    return bad;
}

/* One DNS name rule: at most max characters and the match; both messages, "; "-joined. */
static int name_rule(const char *s, char *msg, size_t n, size_t max,
                     int (*match)(const char *, size_t), const char *text)
{
    size_t len = strlen(s);
    int ok = 1;

    msg[0] = 0;
    if (len > max)
        ok = append_msg(msg, n, 0,
                        max == 63 ? "must be no more than 63 characters"
                                  : "must be no more than 253 characters");
    if (!match(s, len))
        ok = append_msg(msg, n, 0, text);
    return ok;
}

int res__is_dns1123_label(const char *s, char *msg, size_t n)
{
    return name_rule(s, msg, n, 63, name_dns1123_label_match, NAME_DNS1123_LABEL_MSG);
}

int res__is_dns1123_subdomain(const char *s, char *msg, size_t n)
{
    return name_rule(s, msg, n, 253, name_dns1123_subdomain_match, NAME_DNS1123_SUBDOMAIN_MSG);
}

int res__is_dns1035_label(const char *s, char *msg, size_t n)
{
    return name_rule(s, msg, n, 63, name_dns1035_label_match, NAME_DNS1035_LABEL_MSG);
}

int res__is_c_identifier(const char *s)
{
    if (!*s || !(isalpha((unsigned char)*s) || *s == '_'))
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return 0;
    return 1;
}

/* Upstream reports each violation as its own cause; our validators join them with "; ", so
 * split them again here. */
static void add_invalid_split(struct err *err, const char *field, const char *value,
                              const char *msgs)
{
    json_t *v = json_string(value);
    char buf[2048];
    char *p = buf, *semi;

    snprintf(buf, sizeof buf, "%s", msgs);
    while ((semi = strstr(p, "; ")) && strncmp(p, "must be no more", 15) == 0) {
        *semi = 0;
        err_field_invalid(err, field, v, "%s", p);
        p = semi + 2;
    }
    err_field_invalid(err, field, v, "%s", p);
    json_decref(v);
}

void res__name_check(struct err *err, const char *field, const char *value,
                     enum res_name_rule rule)
{
    char msg[1024];
    int ok = 1;

    switch (rule) {
    case RN_SUBDOMAIN: ok = res__is_dns1123_subdomain(value, msg, sizeof msg); break;
    case RN_LABEL: ok = res__is_dns1123_label(value, msg, sizeof msg); break;
    case RN_DNS1035: ok = res__is_dns1035_label(value, msg, sizeof msg); break;
    default: break;
    }
    if (!ok)
        add_invalid_split(err, field, value, msg);
}

void res__qualified_name_check(struct err *err, const char *field, const char *key)
{
    json_t *v = json_string(key);
    const char *msgs[4];
    int n = name_qualified_check(key, msgs, 4);

    for (int i = 0; i < n; i++)
        err_field_invalid(err, field, v, "%s", msgs[i]);
    json_decref(v);
}

static void label_value_check(struct err *err, const char *field, const json_t *v)
{
    const char *msgs[2];
    int n = json_is_string(v) ? name_label_value_check(json_string_value(v), msgs, 2) : 0;

    for (int i = 0; i < n; i++)
        err_field_invalid(err, field, v, "%s", msgs[i]);
}

void res__labels_validate(const json_t *labels, const char *field, struct err *err)
{
    const char *k;
    json_t *v;

    json_object_foreach((json_t *)labels, k, v) {
        res__qualified_name_check(err, field, k);
        label_value_check(err, field, v);
    }
}

static void annotations_validate(const json_t *ann, const char *field, struct err *err)
{
    const char *k;
    json_t *v;
    size_t total = 0;
    char lower[512];

    json_object_foreach((json_t *)ann, k, v) {
        size_t i;

        for (i = 0; k[i] && i < sizeof lower - 1; i++)
            lower[i] = (char)tolower((unsigned char)k[i]);
        lower[i] = 0;
        if (k[i]) /* longer than the buffer: certainly over the 253+63 limit */
            res__qualified_name_check(err, field, k);
        else
            res__qualified_name_check(err, field, lower);
        total += strlen(k) + (json_is_string(v) ? json_string_length(v) : 0);
    }
    if (total > 262144)
        err_cause(err, "FieldValueTooLong", field, "Too long: may not be more than %d bytes",
                  262144);
}

void res__config_key_check(struct err *err, const char *field, const char *key)
{
    json_t *v = json_string(key);
    size_t n = strlen(key);
    int ok = n > 0;

    if (n > 253)
        err_field_invalid(err, field, v, "must be no more than 253 characters");
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)key[i]) && !strchr("-._", key[i]))
            ok = 0;
    if (!ok)
        err_field_invalid(err, field, v, CONFIG_KEY_MSG);
    if (strcmp(key, ".") == 0)
        err_field_invalid(err, field, v, "must not be '.'");
    else if (strcmp(key, "..") == 0)
        err_field_invalid(err, field, v, "must not be '..'");
    else if (strncmp(key, "..", 2) == 0)
        err_field_invalid(err, field, v, "must not start with '..'");
    json_decref(v);
}

void res__selector_validate(const json_t *sel, const char *field, struct err *err)
{
    char f[600];
    size_t i;
    json_t *req;

    if (!json_is_object(sel))
        return;
    snprintf(f, sizeof f, "%s.matchLabels", field);
    res__labels_validate(json_object_get(sel, "matchLabels"), f, err);
    json_array_foreach(json_object_get(sel, "matchExpressions"), i, req) {
        const char *op = jx_str(req, "operator"), *key = jx_str(req, "key");
        size_t nvals = json_array_size(json_object_get(req, "values"));

        op = op ? op : "";
        if (!strcmp(op, "In") || !strcmp(op, "NotIn")) {
            if (nvals == 0) {
                snprintf(f, sizeof f, "%s.matchExpressions[%zu].values", field, i);
                err_field_required(err, f, "must be specified when `operator` is 'In' or "
                                           "'NotIn'");
            }
        } else if (!strcmp(op, "Exists") || !strcmp(op, "DoesNotExist")) {
            if (nvals > 0) {
                snprintf(f, sizeof f, "%s.matchExpressions[%zu].values", field, i);
                err_field_forbidden(err, f, "may not be specified when `operator` is 'Exists' "
                                            "or 'DoesNotExist'");
            }
        } else {
            snprintf(f, sizeof f, "%s.matchExpressions[%zu].operator", field, i);
            err_field_invalid(err, f, json_object_get(req, "operator"),
                              "not a valid selector operator");
        }
        snprintf(f, sizeof f, "%s.matchExpressions[%zu].key", field, i);
        res__qualified_name_check(err, f, key ? key : "");
    }
}

static int values_contain(const json_t *vals, const char *s)
{
    size_t i;
    json_t *v;

    json_array_foreach(vals, i, v)
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return 1;
    return 0;
}

int res__selector_matches(const json_t *sel, const json_t *labels)
{
    const char *k;
    json_t *v, *req;
    size_t i;

    json_object_foreach(json_object_get(sel, "matchLabels"), k, v) {
        const char *have = json_string_value(json_object_get(labels, k));

        if (!have || !json_is_string(v) || strcmp(have, json_string_value(v)) != 0)
            return 0;
    }
    json_array_foreach(json_object_get(sel, "matchExpressions"), i, req) {
        const char *op = jx_str(req, "operator"), *key = jx_str(req, "key");
        const char *have = key ? json_string_value(json_object_get(labels, key)) : NULL;
        const json_t *vals = json_object_get(req, "values");

        if (!op || !key)
            return 0;
        if ((!strcmp(op, "In") && !(have && values_contain(vals, have))) ||
            (!strcmp(op, "NotIn") && have && values_contain(vals, have)) ||
            (!strcmp(op, "Exists") && !have) || (!strcmp(op, "DoesNotExist") && have))
            return 0;
    }
    return 1;
}

void res__path(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, n, fmt, ap);
    va_end(ap);
}

void res__nonneg(const json_t *o, const char *key, const char *field, struct err *err)
{
    const json_t *v = json_object_get(o, key);

    if (json_is_integer(v) && json_integer_value(v) < 0)
        err_field_invalid(err, field, v, "must be greater than or equal to 0");
}

void res__immutable(const json_t *a, const json_t *b, const char *field, struct err *err)
{
    if (!jx_equal_semantic(a, b))
        err_field_invalid(err, field, a, "field is immutable");
}

/* generateName is checked as a prefix: a trailing '-' stands for the random suffix. */
static void generate_name_check(struct err *err, const char *gen, enum res_name_rule rule)
{
    char buf[320];
    size_t n = strlen(gen);

    if (n >= sizeof buf)
        n = sizeof buf - 1;
    memcpy(buf, gen, n);
    buf[n] = 0;
    if (n > 1 && buf[n - 1] == '-')
        buf[n - 1] = 'a';
    {
        char msg[1024];
        int ok = 1;

        if (rule == RN_SUBDOMAIN)
            ok = res__is_dns1123_subdomain(buf, msg, sizeof msg);
        else if (rule == RN_LABEL)
            ok = res__is_dns1123_label(buf, msg, sizeof msg);
        else if (rule == RN_DNS1035)
            ok = res__is_dns1035_label(buf, msg, sizeof msg);
        if (!ok)
            add_invalid_split(err, "metadata.generateName", gen, msg);
    }
}

static void meta_update_validate(const json_t *meta, const json_t *old_meta, struct err *err)
{
    static const char *const keys[] = {"name", "namespace", "uid", "creationTimestamp"};
    char f[64];

    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const json_t *a = json_object_get(meta, keys[i]), *b = json_object_get(old_meta, keys[i]);

        /* The server fills uid and creationTimestamp from the stored object when a client
         * omits them, so only a different non-empty value is a change. */
        if ((i >= 2 && (!a || json_is_null(a))) || jx_equal_semantic(a, b))
            continue;
        snprintf(f, sizeof f, "metadata.%s", keys[i]);
        err_field_invalid(err, f, a, "field is immutable");
    }
}

void res__meta_validate(const json_t *obj, const json_t *old, enum res_name_rule rule,
                        int namespaced, struct err *err)
{
    const json_t *meta = json_object_get(obj, "metadata");
    const char *name = jx_str(meta, "name"), *gen = jx_str(meta, "generateName");
    const char *ns = jx_str(meta, "namespace");

    if (gen && *gen)
        generate_name_check(err, gen, rule);
    if (!name || !*name) {
        if (!gen || !*gen)
            err_field_required(err, "metadata.name", "name or generateName is required");
    } else {
        res__name_check(err, "metadata.name", name, rule);
    }
    if (namespaced) {
        if (!ns || !*ns)
            err_field_required(err, "metadata.namespace", "");
        else
            res__name_check(err, "metadata.namespace", ns, RN_LABEL);
    } else if (ns && *ns) {
        err_field_forbidden(err, "metadata.namespace", "not allowed on this type");
    }
    res__nonneg(meta, "generation", "metadata.generation", err);
    res__labels_validate(json_object_get(meta, "labels"), "metadata.labels", err);
    annotations_validate(json_object_get(meta, "annotations"), "metadata.annotations", err);
    if (old)
        meta_update_validate(meta, json_object_get(old, "metadata"), err);
}

json_t *res__dobj(json_t *parent, const char *key)
{
    json_t *c;

    if (!json_is_object(parent))
        return NULL;
    c = json_object_get(parent, key);
    if (!c || json_is_null(c)) {
        c = json_object();
        json_object_set_new(parent, key, c);
    }
    return json_is_object(c) ? c : NULL;
}

void res__dset(json_t *parent, const char *key, json_t *v)
{
    json_t *c;

    if (!json_is_object(parent)) {
        json_decref(v);
        return;
    }
    c = json_object_get(parent, key);
    if (!c || json_is_null(c))
        json_object_set_new(parent, key, v);
    else
        json_decref(v);
}
