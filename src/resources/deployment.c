/* apps/v1 workloads (Deployment, ReplicaSet, DaemonSet) and autoscaling/v1 Scale: defaults
 * (apps/v1 defaults.go) and validation (pkg/apis/apps/validation), plus the int-or-percent
 * rules shared with PodDisruptionBudget. Values are printed the way Go's field errors print
 * them, so kubectl shows the same text as against a real cluster. */
#include "resources/res-int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jx.h"

#define PERCENT_MSG                                                                             \
    "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  "  \
    "or '93%', regex used for validation is '[0-9]+%')"

/* ---- int-or-string ---- */

int res__intstr_parse(const json_t *v, long long *val, int *pct)
{
    const char *s = json_string_value(v);
    size_t n;

    if (json_is_integer(v)) {
        *val = json_integer_value(v);
        *pct = 0;
        return 0;
    }
    if (!s || !(n = strlen(s)) || n > 18 || s[n - 1] != '%')
        return -1;
    for (size_t i = 0; i + 1 < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return -1;
    if (n == 1)
        return -1;
    *val = atoll(s);
    *pct = 1;
    return 0;
}

/* Go's getIntOrPercentValue: a valid percent's number, else the string's Atoi (0 if not). */
static long long intstr_number(const json_t *v)
{
    long long val;
    int pct;
    const char *s = json_string_value(v);
    char *end;

    if (res__intstr_parse(v, &val, &pct) == 0)
        return val;
    if (!s || !*s)
        return 0;
    val = strtoll(s, &end, 10);
    return *end ? 0 : val;
}

/* IntOrString values print through their String(): bare text, no quotes. */
static void intstr_invalid(struct err *err, const char *field, const json_t *v, const char *msg)
{
    if (json_is_string(v))
        err_cause(err, "FieldValueInvalid", field, "Invalid value: %s: %s",
                  json_string_value(v), msg);
    else
        err_field_invalid(err, field, v, "%s", msg);
}

void res__intstr_nonneg(const json_t *v, const char *field, struct err *err)
{
    long long val;
    int pct;

    if (!v || json_is_null(v))
        return;
    if (json_is_string(v)) {
        if (res__intstr_parse(v, &val, &pct) < 0)
            intstr_invalid(err, field, v, PERCENT_MSG);
    } else if (json_is_integer(v) && json_integer_value(v) < 0) {
        err_field_invalid(err, field, v, "must be greater than or equal to 0");
    }
}

void res__intstr_le100pct(const json_t *v, const char *field, struct err *err)
{
    long long val;
    int pct;

    if (res__intstr_parse(v, &val, &pct) == 0 && pct && val > 100)
        intstr_invalid(err, field, v, "must not be greater than 100%");
}

/* ---- Go renderings of selector values, as field.Invalid prints them ---- */

static void go_strmap(const json_t *m, char *out, size_t n)
{
    const char **keys;
    size_t cnt = json_object_size(m), i = 0, off;
    const char *k;
    json_t *v;

    if (!json_is_object(m)) {
        snprintf(out, n, "map[string]string(nil)");
        return;
    }
    keys = calloc(cnt + 1, sizeof *keys);
    json_object_foreach((json_t *)m, k, v)
        keys[i++] = k;
    /* Go prints map keys sorted; maps here are small, so an insertion sort does. */
    for (size_t a = 1; a < cnt; a++)
        for (size_t b = a; b > 0 && strcmp(keys[b - 1], keys[b]) > 0; b--) {
            const char *t = keys[b];
            keys[b] = keys[b - 1];
            keys[b - 1] = t;
        }
    off = (size_t)snprintf(out, n, "map[string]string{");
    for (i = 0; i < cnt && off < n; i++) {
        const char *s = json_string_value(json_object_get(m, keys[i]));

        off += (size_t)snprintf(out + off, n - off, "%s\"%s\":\"%s\"", i ? ", " : "", keys[i],
                                s ? s : "");
    }
    if (off < n)
        snprintf(out + off, n - off, "}");
    free(keys);
}

static void go_selector(const json_t *sel, char *out, size_t n)
{
    char ml[600], me[900];
    const json_t *exprs = json_object_get(sel, "matchExpressions");
    size_t i, off;
    json_t *e;

    if (!json_is_object(sel)) {
        snprintf(out, n, "nil");
        return;
    }
    go_strmap(json_object_get(sel, "matchLabels"), ml, sizeof ml);
    if (!json_is_array(exprs)) {
        snprintf(me, sizeof me, "[]v1.LabelSelectorRequirement(nil)");
    } else {
        off = (size_t)snprintf(me, sizeof me, "[]v1.LabelSelectorRequirement{");
        json_array_foreach(exprs, i, e) {
            char vals[300] = "[]string(nil)";
            const json_t *vs = json_object_get(e, "values");
            size_t j, vo;
            json_t *s;

            if (json_is_array(vs)) {
                vo = (size_t)snprintf(vals, sizeof vals, "[]string{");
                json_array_foreach(vs, j, s)
                    if (vo < sizeof vals)
                        vo += (size_t)snprintf(vals + vo, sizeof vals - vo, "%s\"%s\"",
                                               j ? ", " : "",
                                               json_string_value(s) ? json_string_value(s) : "");
                if (vo < sizeof vals)
                    snprintf(vals + vo, sizeof vals - vo, "}");
            }
            if (off < sizeof me)
                off += (size_t)snprintf(me + off, sizeof me - off,
                                        "%sv1.LabelSelectorRequirement{Key:\"%s\", "
                                        "Operator:\"%s\", Values:%s}",
                                        i ? ", " : "", jx_str(e, "key") ? jx_str(e, "key") : "",
                                        jx_str(e, "operator") ? jx_str(e, "operator") : "", vals);
        }
        if (off < sizeof me)
            snprintf(me + off, sizeof me - off, "}");
    }
    snprintf(out, n, "v1.LabelSelector{MatchLabels:%s, MatchExpressions:%s}", ml, me);
}

void res__selector_invalid(struct err *err, const char *field, const json_t *sel,
                           const char *msg)
{
    char buf[1600];

    go_selector(sel, buf, sizeof buf);
    err_cause(err, "FieldValueInvalid", field, "Invalid value: %s: %s", buf, msg);
}

/* ---- shared workload rules ---- */

/* Selector required, non-empty, valid, and matching the template's labels; then the template
 * itself. what names the kind in the empty-selector message (upstream says "deployment" for
 * ReplicaSets too). */
void res__workload_selector_template(const json_t *spec, const char *what, struct err *err)
{
    const json_t *sel = json_object_get(spec, "selector"), *tmpl = json_object_get(spec, "template");
    const json_t *labels = jx_get(tmpl, "metadata.labels");
    char msg[100];

    if (!json_is_object(sel)) {
        err_field_required(err, "spec.selector", "");
    } else {
        res__selector_validate(sel, "spec.selector", err);
        if (json_object_size(json_object_get(sel, "matchLabels")) == 0 &&
            json_array_size(json_object_get(sel, "matchExpressions")) == 0) {
            snprintf(msg, sizeof msg, "empty selector is invalid for %s", what);
            res__selector_invalid(err, "spec.selector", sel, msg);
        } else if (json_is_object(tmpl) && !res__selector_matches(sel, labels)) {
            char buf[800];

            go_strmap(labels, buf, sizeof buf);
            err_cause(err, "FieldValueInvalid", "spec.template.metadata.labels",
                      "Invalid value: %s: `selector` does not match template `labels`", buf);
        }
    }
    if (!json_is_object(tmpl))
        err_field_required(err, "spec.template", "");
    else
        res__podtemplate_validate(tmpl, "spec.template", err);
}

void res__selector_immutable(const json_t *obj, const json_t *old, struct err *err)
{
    const json_t *a = jx_get(obj, "spec.selector"), *b = jx_get(old, "spec.selector");

    if (!jx_equal_semantic(a, b))
        res__selector_invalid(err, "spec.selector", a, "field is immutable");
}

/* ---- Deployment ---- */

void res__deployment_default(json_t *obj)
{
    json_t *spec = res__dobj(obj, "spec"), *st, *ru;

    if (!spec)
        return;
    res__dset(spec, "replicas", json_integer(1));
    st = res__dobj(spec, "strategy");
    if (st) {
        const char *t = jx_str(st, "type");

        if (!t || !*t)
            json_object_set_new(st, "type", json_string("RollingUpdate"));
        t = jx_str(st, "type");
        if (t && strcmp(t, "RollingUpdate") == 0 && (ru = res__dobj(st, "rollingUpdate"))) {
            res__dset(ru, "maxUnavailable", json_string("25%"));
            res__dset(ru, "maxSurge", json_string("25%"));
        }
    }
    res__dset(spec, "revisionHistoryLimit", json_integer(10));
    res__dset(spec, "progressDeadlineSeconds", json_integer(600));
    res__podtemplate_default(json_object_get(spec, "template"));
}

static void rolling_update_validate(const json_t *ru, const char *field, struct err *err)
{
    const json_t *mu = json_object_get(ru, "maxUnavailable"), *ms = json_object_get(ru, "maxSurge");
    char fu[200], fs[200];

    snprintf(fu, sizeof fu, "%s.maxUnavailable", field);
    snprintf(fs, sizeof fs, "%s.maxSurge", field);
    res__intstr_nonneg(mu, fu, err);
    res__intstr_nonneg(ms, fs, err);
    if (intstr_number(mu) == 0 && intstr_number(ms) == 0) {
        json_t *zero = json_integer(0);

        intstr_invalid(err, fu, mu ? mu : zero, "may not be 0 when `maxSurge` is 0");
        json_decref(zero);
    }
    res__intstr_le100pct(mu, fu, err);
}

static void deployment_strategy_validate(const json_t *st, struct err *err)
{
    static const char *const types[] = {"Recreate", "RollingUpdate", NULL};
    const char *t = jx_str(st, "type");
    const json_t *ru = json_object_get(st, "rollingUpdate");

    if (t && !strcmp(t, "Recreate")) {
        if (ru && !json_is_null(ru))
            err_field_forbidden(err, "spec.strategy.rollingUpdate",
                                "may not be specified when strategy `type` is 'Recreate'");
    } else if (t && !strcmp(t, "RollingUpdate")) {
        if (!json_is_object(ru))
            err_field_required(err, "spec.strategy.rollingUpdate",
                               "this should be defaulted and never be nil");
        else
            rolling_update_validate(ru, "spec.strategy.rollingUpdate", err);
    } else {
        err_field_unsupported(err, "spec.strategy.type", json_object_get(st, "type"), types);
    }
}

void res__deployment_validate(const json_t *obj, const json_t *old, struct err *err)
{
    const json_t *spec = json_object_get(obj, "spec"), *pds;

    res__meta_validate(obj, old, RN_SUBDOMAIN, 1, err);
    res__nonneg(spec, "replicas", "spec.replicas", err);
    res__workload_selector_template(spec, "deployment", err);
    deployment_strategy_validate(json_object_get(spec, "strategy"), err);
    res__nonneg(spec, "minReadySeconds", "spec.minReadySeconds", err);
    res__nonneg(spec, "revisionHistoryLimit", "spec.revisionHistoryLimit", err);
    pds = json_object_get(spec, "progressDeadlineSeconds");
    if (json_is_integer(pds)) {
        res__nonneg(spec, "progressDeadlineSeconds", "spec.progressDeadlineSeconds", err);
        if (json_integer_value(pds) <= jx_int(spec, "minReadySeconds", 0))
            err_field_invalid(err, "spec.progressDeadlineSeconds", pds,
                              "must be greater than minReadySeconds");
    }
    if (old)
        res__selector_immutable(obj, old, err);
}

/* ---- ReplicaSet ---- */

void res__replicaset_default(json_t *obj)
{
    json_t *spec = res__dobj(obj, "spec");

    if (!spec)
        return;
    res__dset(spec, "replicas", json_integer(1));
    res__podtemplate_default(json_object_get(spec, "template"));
}

void res__replicaset_validate(const json_t *obj, const json_t *old, struct err *err)
{
    const json_t *spec = json_object_get(obj, "spec");

    res__meta_validate(obj, old, RN_SUBDOMAIN, 1, err);
    res__nonneg(spec, "replicas", "spec.replicas", err);
    res__nonneg(spec, "minReadySeconds", "spec.minReadySeconds", err);
    res__workload_selector_template(spec, "deployment", err);
    if (old)
        res__selector_immutable(obj, old, err);
}

/* ---- DaemonSet ---- */

void res__daemonset_default(json_t *obj)
{
    json_t *spec = res__dobj(obj, "spec"), *us, *ru;
    const char *t;

    if (!spec)
        return;
    if ((us = res__dobj(spec, "updateStrategy"))) {
        res__dset(us, "type", json_string("RollingUpdate"));
        t = jx_str(us, "type");
        if (t && !strcmp(t, "RollingUpdate") && (ru = res__dobj(us, "rollingUpdate"))) {
            res__dset(ru, "maxUnavailable", json_integer(1));
            res__dset(ru, "maxSurge", json_integer(0));
        }
    }
    res__dset(spec, "revisionHistoryLimit", json_integer(10));
    res__podtemplate_default(json_object_get(spec, "template"));
}

void res__daemonset_validate(const json_t *obj, const json_t *old, struct err *err)
{
    static const char *const types[] = {"OnDelete", "RollingUpdate", NULL};
    const json_t *spec = json_object_get(obj, "spec");
    const json_t *us = json_object_get(spec, "updateStrategy");
    const json_t *ru = json_object_get(us, "rollingUpdate");

    res__meta_validate(obj, old, RN_SUBDOMAIN, 1, err);
    res__workload_selector_template(spec, "daemonset", err);
    res__nonneg(spec, "minReadySeconds", "spec.minReadySeconds", err);
    res__nonneg(spec, "revisionHistoryLimit", "spec.revisionHistoryLimit", err);
    if (!jx_str(us, "type") || !*jx_str(us, "type"))
        err_field_required(err, "spec.updateStrategy.type", "");
    else if (strcmp(jx_str(us, "type"), "OnDelete") && strcmp(jx_str(us, "type"), "RollingUpdate"))
        err_field_unsupported(err, "spec.updateStrategy.type", json_object_get(us, "type"),
                              types);
    if (json_is_object(ru)) {
        res__intstr_nonneg(json_object_get(ru, "maxUnavailable"),
                           "spec.updateStrategy.rollingUpdate.maxUnavailable", err);
        res__intstr_nonneg(json_object_get(ru, "maxSurge"),
                           "spec.updateStrategy.rollingUpdate.maxSurge", err);
        res__intstr_le100pct(json_object_get(ru, "maxUnavailable"),
                             "spec.updateStrategy.rollingUpdate.maxUnavailable", err);
    }
    if (old)
        res__selector_immutable(obj, old, err);
}

/* ---- autoscaling/v1 Scale ---- */

void res__scale_validate(const json_t *obj, const json_t *old, struct err *err)
{
    res__nonneg(json_object_get(obj, "spec"), "replicas", "spec.replicas", err);
}
