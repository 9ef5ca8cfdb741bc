/* The smaller kinds: Namespace, Node, ConfigMap, Secret, Event, PodDisruptionBudget and
 * DeleteOptions. Secret stringData is folded into data here (as the v1 conversion does), so
 * stored Secrets only ever carry base64 data. */
#include "resources/res-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jx.h"

/* ---- Namespace ---- */

void res__namespace_default(json_t *obj)
{
    const char *name = jx_str(obj, "metadata.name");
    json_t *meta = res__dobj(obj, "metadata"), *labels, *spec, *status;

    if (meta && name && *name && (labels = res__dobj(meta, "labels")))
        json_object_set_new(labels, "kubernetes.io/metadata.name", json_string(name));
    if ((spec = res__dobj(obj, "spec")) && !json_object_get(spec, "finalizers")) {
        json_t *a = json_array();

        json_array_append_new(a, json_string("kubernetes"));
        json_object_set_new(spec, "finalizers", a);
    }
    if ((status = res__dobj(obj, "status")))
        res__dset(status, "phase", json_string("Active"));
}

/* ---- Node ---- */

void res__node_default(json_t *obj)
{
    json_t *st = json_object_get(obj, "status");
    json_t *cap = json_object_get(st, "capacity");

    if (json_is_object(cap) && json_is_object(st) &&
        (!json_object_get(st, "allocatable") || json_is_null(json_object_get(st, "allocatable"))))
        json_object_set_new(st, "allocatable", json_deep_copy(cap));
}

void res__node_validate(const json_t *obj, const json_t *old, struct err *err)
{
    res__meta_validate(obj, old, RN_SUBDOMAIN, 0, err);
    res__taints_validate(jx_get(obj, "spec.taints"), "spec.taints", err);
}

/* ---- base64 (Go's StdEncoding: padded, CR/LF ignored) ---- */

static int b64_val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Returns -1 when s decodes, else the input offset Go's decoder reports; *len gets the
 * decoded size. */
static long b64_check(const char *s, size_t *len)
{
    size_t n = 0, q = 0, i, pad = 0, last = 0;

    for (i = 0; s[i]; i++) {
        if (s[i] == '\r' || s[i] == '\n')
            continue;
        if (pad) {
            if (s[i] != '=' || q == 0)
                return (long)i;
            q = (q + 1) % 4;
            continue;
        }
        if (s[i] == '=') {
            if (q < 2)
                return (long)i;
            pad = 1;
            q = (q + 1) % 4;
            continue;
        }
        if (b64_val((unsigned char)s[i]) < 0)
            return (long)i;
        q = (q + 1) % 4;
        n++;
        last = i;
    }
    if (q != 0)
        return (long)(pad ? i : last + 1 - (q == 1 ? 1 : 0));
    *len = n * 3 / 4;
    return -1;
}

static char *b64_encode(const unsigned char *in, size_t n)
{
    static const char tbl[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc(4 * ((n + 2) / 3) + 1), *o = out;

    if (!out)
        abort();
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16;

        if (i + 1 < n)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        *o++ = tbl[(v >> 18) & 63];
        *o++ = tbl[(v >> 12) & 63];
        *o++ = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
        *o++ = i + 2 < n ? tbl[v & 63] : '=';
    }
    *o = 0;
    return out;
}

/* ---- ConfigMap and Secret ---- */

/* Validates keys of map at key (and base64 values when b64); returns the decoded size. */
static size_t data_validate(const json_t *obj, const char *key, int b64, struct err *err)
{
    const char *k;
    json_t *v;
    size_t total = 0, n;
    char f[600];

    json_object_foreach(json_object_get(obj, key), k, v) {
        snprintf(f, sizeof f, "%s[%s]", key, k);
        res__config_key_check(err, f, k);
        if (!json_is_string(v))
            continue;
        n = json_string_length(v);
        if (b64) {
            long bad = b64_check(json_string_value(v), &n);

            if (bad >= 0) {
                json_t *red = json_string("<secret contents redacted>");

                err_field_invalid(err, f, red, "illegal base64 data at input byte %ld", bad);
                json_decref(red);
            }
        }
        total += n + strlen(k);
    }
    return total;
}

static void immutable_data_check(const json_t *obj, const json_t *old, struct err *err)
{
    static const char *const fields[] = {"data", "binaryData"};

    if (!old || !jx_bool(old, "immutable"))
        return;
    if (!jx_bool(obj, "immutable"))
        err_field_forbidden(err, "immutable", "field is immutable when `immutable` is set");
    for (int i = 0; i < 2; i++)
        if (!jx_equal_semantic(json_object_get(obj, fields[i]), json_object_get(old, fields[i])))
            err_field_forbidden(err, fields[i], "field is immutable when `immutable` is set");
}

void res__configmap_validate(const json_t *obj, const json_t *old, struct err *err)
{
    const json_t *data = json_object_get(obj, "data");
    size_t total;
    const char *k;
    json_t *v;

    res__meta_validate(obj, old, RN_SUBDOMAIN, 1, err);
    total = data_validate(obj, "data", 0, err) + data_validate(obj, "binaryData", 1, err);
    json_object_foreach(json_object_get(obj, "binaryData"), k, v) {
        if (json_object_get(data, k)) {
            char f[600];
            json_t *kv = json_string(k);

            snprintf(f, sizeof f, "data[%s]", k);
            err_field_invalid(err, f, kv, "duplicate of key present in binaryData");
            json_decref(kv);
        }
    }
    if (total > 1048576)
        err_cause(err, "FieldValueTooLong", "", "Too long: may not be more than %d bytes",
                  1048576);
    immutable_data_check(obj, old, err);
}

void res__secret_default(json_t *obj)
{
    json_t *sd = json_object_get(obj, "stringData"), *data, *v;
    const char *k;

    res__dset(obj, "type", json_string("Opaque"));
    if (!json_is_object(sd))
        return;
    data = res__dobj(obj, "data");
    if (!data)
        return;
    json_object_foreach(sd, k, v) {
        if (json_is_string(v)) {
            char *enc = b64_encode((const unsigned char *)json_string_value(v),
                                   json_string_length(v));

            json_object_set_new(data, k, json_string(enc));
            free(enc);
        }
    }
    json_object_del(obj, "stringData");
}

static void secret_type_validate(const json_t *obj, struct err *err)
{
    static const struct {
        const char *type, *key1, *key2;
    } need[] = {{"kubernetes.io/dockercfg", ".dockercfg", NULL},
                {"kubernetes.io/dockerconfigjson", ".dockerconfigjson", NULL},
                {"kubernetes.io/ssh-auth", "ssh-privatekey", NULL},
                {"kubernetes.io/tls", "tls.crt", "tls.key"}};
    const char *type = jx_str(obj, "type");
    const json_t *data = json_object_get(obj, "data");
    char f[100];

    if (!type)
        return;
    if (!strcmp(type, "kubernetes.io/service-account-token") &&
        !jx_annotation(obj, "kubernetes.io/service-account.name"))
        err_field_required(err, "metadata.annotations[kubernetes.io/service-account.name]", "");
    if (!strcmp(type, "kubernetes.io/basic-auth") && !json_object_get(data, "username") &&
        !json_object_get(data, "password")) {
        err_field_required(err, "data[username]", "");
        err_field_required(err, "data[password]", "");
    }
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
        if (strcmp(type, need[i].type))
            continue;
        if (!json_object_get(data, need[i].key1)) {
            snprintf(f, sizeof f, "data[%s]", need[i].key1);
            err_field_required(err, f, "");
        }
        if (need[i].key2 && !json_object_get(data, need[i].key2)) {
            snprintf(f, sizeof f, "data[%s]", need[i].key2);
            err_field_required(err, f, "");
        }
    }
}

void res__secret_validate(const json_t *obj, const json_t *old, struct err *err)
{
    res__meta_validate(obj, old, RN_SUBDOMAIN, 1, err);
    if (data_validate(obj, "data", 1, err) > 1048576)
        err_cause(err, "FieldValueTooLong", "data", "Too long: may not be more than %d bytes",
                  1048576);
    secret_type_validate(obj, err);
    if (old && !jx_equal_semantic(json_object_get(obj, "type"), json_object_get(old, "type")))
        err_field_invalid(err, "type", json_object_get(obj, "type"), "field is immutable");
    immutable_data_check(obj, old, err);
}

/* ---- Event ---- */

void res__event_validate(const json_t *obj, const json_t *old, struct err *err)
{
    static const char *const types[] = {"Normal", "Warning", NULL};
    const json_t *t = json_object_get(obj, "type");

    res__meta_validate(obj, old, RN_SUBDOMAIN, 1, err);
    if (json_is_string(t) && *json_string_value(t) && strcmp(json_string_value(t), "Normal") &&
        strcmp(json_string_value(t), "Warning"))
        err_field_unsupported(err, "type", t, types);
}

/* ---- PodDisruptionBudget ---- */

void res__pdb_validate(const json_t *obj, const json_t *old, struct err *err)
{
    static const char *const pols[] = {"AlwaysAllow", "IfHealthyBudget", NULL};
    const json_t *spec = json_object_get(obj, "spec");
    const json_t *mina = json_object_get(spec, "minAvailable");
    const json_t *maxu = json_object_get(spec, "maxUnavailable");
    const json_t *pol = json_object_get(spec, "unhealthyPodEvictionPolicy");

    res__meta_validate(obj, old, RN_SUBDOMAIN, 1, err);
    if (mina && !json_is_null(mina) && maxu && !json_is_null(maxu))
        err_field_invalid(err, "spec", spec, "minAvailable and maxUnavailable cannot be both set");
    res__intstr_nonneg(mina, "spec.minAvailable", err);
    res__intstr_le100pct(mina, "spec.minAvailable", err);
    res__intstr_nonneg(maxu, "spec.maxUnavailable", err);
    res__intstr_le100pct(maxu, "spec.maxUnavailable", err);
    res__selector_validate(json_object_get(spec, "selector"), "spec.selector", err);
    if (json_is_string(pol) && *json_string_value(pol) &&
        strcmp(json_string_value(pol), "AlwaysAllow") &&
        strcmp(json_string_value(pol), "IfHealthyBudget"))
        err_field_unsupported(err, "spec.unhealthyPodEvictionPolicy", pol, pols);
}

/* ---- DeleteOptions and Eviction ---- */

static void deleteoptions_check(const json_t *o, const char *prefix, struct err *err)
{
    static const char *const pols[] = {"Foreground", "Background", "Orphan", NULL};
    static const char *const dry[] = {"All", NULL};
    const json_t *pp = json_object_get(o, "propagationPolicy");
    const char *p = json_string_value(pp);
    char f[100];
    size_t i;
    json_t *d;

    if (json_is_boolean(json_object_get(o, "orphanDependents")) && p)
        err_field_invalid(err, prefix[0] ? prefix : "propagationPolicy", pp,
                          "orphanDependents and deletionPropagation cannot be both set");
    snprintf(f, sizeof f, "%s%spropagationPolicy", prefix, prefix[0] ? "." : "");
    if (p && strcmp(p, "Foreground") && strcmp(p, "Background") && strcmp(p, "Orphan"))
        err_field_unsupported(err, f, pp, pols);
    snprintf(f, sizeof f, "%s%sdryRun", prefix, prefix[0] ? "." : "");
    json_array_foreach(json_object_get(o, "dryRun"), i, d)
        if (!json_is_string(d) || strcmp(json_string_value(d), "All"))
            err_field_unsupported(err, f, d, dry);
}

void res__deleteoptions_validate(const json_t *obj, const json_t *old, struct err *err)
{
    deleteoptions_check(obj, "", err);
}

void res__eviction_validate(const json_t *obj, const json_t *old, struct err *err)
{
    const json_t *d = json_object_get(obj, "deleteOptions");

    if (json_is_object(d))
        deleteoptions_check(d, "deleteOptions", err);
}
