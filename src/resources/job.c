/* batch/v1 Job: defaults (batch/v1 defaults.go SetDefaults_Job, 1.32) and validation
 * (pkg/apis/batch/validation). The generated selector and labels need the object's uid, so the
 * API's create strategy (kind_job.c) adds them after validation; here a Job without
 * manualSelector may come without a selector on create. Features kroll's job controller does not
 * implement (Indexed mode, pod failure and success policies, per-index backoff) are refused
 * with a cause naming the field, never accepted and ignored. */
#include "resources/res-int.h"

#include <stdio.h>
#include <string.h>

#include "core/jx.h"

#define JOB_NAME_MAX 63 /* the job-name label carries the name */

void res__job_default(json_t *obj)
{
    json_t *spec = res__dobj(obj, "spec"), *tl;

    if (!spec)
        return;
    /* A non-parallel job may leave both unset; both become 1 then. */
    if (json_is_null(json_object_get(spec, "completions")) &&
        json_is_null(json_object_get(spec, "parallelism")))
        json_object_del(spec, "completions");
    if (!json_object_get(spec, "completions") && !json_object_get(spec, "parallelism")) {
        json_object_set_new(spec, "completions", json_integer(1));
        json_object_set_new(spec, "parallelism", json_integer(1));
    }
    res__dset(spec, "parallelism", json_integer(1));
    res__dset(spec, "backoffLimit", json_integer(6));
    res__dset(spec, "completionMode", json_string("NonIndexed"));
    res__dset(spec, "suspend", json_false());
    res__dset(spec, "manualSelector", json_false());
    res__dset(
        spec, "podReplacementPolicy",
        json_string(json_object_get(spec, "podFailurePolicy") ? "Failed" : "TerminatingOrFailed"));
    tl = jx_get(spec, "template.metadata.labels");
    if (json_is_object(tl) && json_object_size(jx_get(obj, "metadata.labels")) == 0 &&
        json_is_object(json_object_get(obj, "metadata")))
        jx_set(obj, "metadata.labels", json_deep_copy(tl));
    res__podtemplate_default(json_object_get(spec, "template"));
}

/* Fields whose behaviour kroll's controller lacks: refused by name. */
static void job_unsupported(const json_t *spec, struct err *err)
{
    static const char *const fields[] = {"podFailurePolicy", "successPolicy",
                                         "backoffLimitPerIndex", "maxFailedIndexes"};
    const char *mode = jx_str(spec, "completionMode");
    char f[80];

    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const json_t *v = json_object_get(spec, fields[i]);

        if (v && !json_is_null(v)) {
            snprintf(f, sizeof f, "spec.%s", fields[i]);
            err_field_forbidden(err, f, "not supported by kroll's job controller");
        }
    }
    if (mode && !strcmp(mode, "Indexed"))
        err_field_forbidden(err, "spec.completionMode",
                            "Indexed completion mode is not supported by kroll's job controller");
}

static void job_enums(const json_t *spec, struct err *err)
{
    static const char *const modes[] = {"NonIndexed", "Indexed", NULL};
    static const char *const repl[] = {"Failed", "TerminatingOrFailed", NULL};
    static const char *const restarts[] = {"OnFailure", "Never", NULL};
    const json_t *rp = jx_get(spec, "template.spec.restartPolicy");
    const char *s;

    s = jx_str(spec, "completionMode");
    if (s && strcmp(s, "NonIndexed") && strcmp(s, "Indexed"))
        err_field_unsupported(err, "spec.completionMode", json_object_get(spec, "completionMode"),
                              modes);
    s = jx_str(spec, "podReplacementPolicy");
    if (s && strcmp(s, "Failed") && strcmp(s, "TerminatingOrFailed"))
        err_field_unsupported(err, "spec.podReplacementPolicy",
                              json_object_get(spec, "podReplacementPolicy"), repl);
    /* Defaulting turns an unset restartPolicy into Always, so both read as "not chosen". */
    s = json_string_value(rp);
    if (!s || !*s || !strcmp(s, "Always"))
        err_field_required(err, "spec.template.spec.restartPolicy",
                           "valid values: \"OnFailure\", \"Never\"");
    else if (strcmp(s, "OnFailure") && strcmp(s, "Never"))
        err_field_unsupported(err, "spec.template.spec.restartPolicy", rp, restarts);
}

/* The selector: generated on create unless manualSelector; given, valid and matching the
 * template otherwise (and always on update, where the stored one is kept). */
static void job_selector(const json_t *spec, int creating, struct err *err)
{
    const json_t *sel = json_object_get(spec, "selector");
    const json_t *labels = jx_get(spec, "template.metadata.labels");
    int manual = jx_bool(spec, "manualSelector");
    char buf[800];

    if (creating && !manual) {
        /* Only the generated controller-uid selector is accepted without manualSelector, and
         * the uid does not exist yet: any requirement the user wrote cannot be it. */
        if (json_object_size(json_object_get(sel, "matchLabels")) ||
            json_array_size(json_object_get(sel, "matchExpressions")))
            res__selector_invalid(err, "spec.selector", sel, "`selector` not auto-generated");
        return;
    }
    if (!json_is_object(sel)) {
        err_field_required(err, "spec.selector", "");
        return;
    }
    res__selector_validate(sel, "spec.selector", err);
    if (!res__selector_matches(sel, labels)) {
        json_t *m = json_is_object(labels) ? json_incref((json_t *)labels) : json_object();

        snprintf(buf, sizeof buf, "`selector` does not match template `labels`");
        err_field_invalid(err, "spec.template.metadata.labels", m, "%s", buf);
        json_decref(m);
    }
}

/* ValidateHasLabel: the template's label key must be want. */
static void job_has_label(const json_t *labels, const char *key, const char *want, struct err *err)
{
    const json_t *v = json_object_get(labels, key);
    char f[120], msg[400];

    snprintf(f, sizeof f, "spec.template.metadata.labels[%s]", key);
    snprintf(msg, sizeof msg, "must be '%s'", want);
    if (!v)
        err_field_required(err, f, msg);
    else if (strcmp(json_string_value(v) ?: "", want))
        err_field_invalid(err, f, v, "must be '%s'", want);
}

/* validateGeneratedSelector, on update (the uid exists then): the generated labels are on the
 * template with the Job's uid and name, and the selector selects nothing but them. */
static void job_generated_validate(const json_t *obj, const json_t *old, struct err *err)
{
    const char *uid = jx_str(old, "metadata.uid"), *name = jx_str(old, "metadata.name");
    const json_t *labels = jx_get(obj, "spec.template.metadata.labels");
    const json_t *sel = jx_get(obj, "spec.selector");
    int prefixed = jx_get(old, "spec.template.metadata.labels") &&
                   json_object_get(jx_get(old, "spec.template.metadata.labels"),
                                   "batch.kubernetes.io/controller-uid");
    json_t *want;

    if (jx_bool(obj, "spec.manualSelector") || !json_is_object(sel) || !uid || !name)
        return;
    want = json_pack("{s:s,s:s}", "controller-uid", uid, "job-name", name);
    job_has_label(labels, "controller-uid", uid, err);
    job_has_label(labels, "job-name", name, err);
    if (prefixed) {
        job_has_label(labels, "batch.kubernetes.io/controller-uid", uid, err);
        job_has_label(labels, "batch.kubernetes.io/job-name", name, err);
        json_object_set_new(want, "batch.kubernetes.io/controller-uid", json_string(uid));
        json_object_set_new(want, "batch.kubernetes.io/job-name", json_string(name));
    }
    if (!res__selector_matches(sel, want))
        res__selector_invalid(err, "spec.selector", sel, "`selector` not auto-generated");
    json_decref(want);
}

static void job_update_validate(const json_t *spec, const json_t *old_spec, struct err *err)
{
    const json_t *a = json_object_get(spec, "selector"), *b = json_object_get(old_spec, "selector");

    if (!jx_equal_semantic(a, b))
        res__selector_invalid(err, "spec.selector", a, "field is immutable");
    res__immutable(json_object_get(spec, "template"), json_object_get(old_spec, "template"),
                   "spec.template", err);
    res__immutable(json_object_get(spec, "completions"), json_object_get(old_spec, "completions"),
                   "spec.completions", err);
    res__immutable(json_object_get(spec, "completionMode"),
                   json_object_get(old_spec, "completionMode"), "spec.completionMode", err);
}

void res__job_validate(const json_t *obj, const json_t *old, struct err *err)
{
    static const char *const nonneg[] = {"parallelism", "completions", "activeDeadlineSeconds",
                                         "backoffLimit", "ttlSecondsAfterFinished"};
    const json_t *spec = json_object_get(obj, "spec"), *tmpl = json_object_get(spec, "template");
    const char *name = jx_str(obj, "metadata.name");
    char f[80];

    res__meta_validate(obj, old, RN_SUBDOMAIN, 1, err);
    if (name && strlen(name) > JOB_NAME_MAX)
        err_field_invalid(err, "metadata.name",
                          json_object_get(json_object_get(obj, "metadata"), "name"),
                          "must be no more than 63 characters");
    for (size_t i = 0; i < sizeof nonneg / sizeof nonneg[0]; i++) {
        snprintf(f, sizeof f, "spec.%s", nonneg[i]);
        res__nonneg(spec, nonneg[i], f, err);
    }
    if (!json_is_object(tmpl)) {
        err_field_required(err, "spec.template", "");
    } else {
        res__labels_validate(jx_get(tmpl, "metadata.labels"), "spec.template.metadata.labels", err);
        res__podspec_validate(json_object_get(tmpl, "spec"), NULL, "spec.template.spec", err);
    }
    job_selector(spec, old == NULL, err);
    job_enums(spec, err);
    job_unsupported(spec, err);
    if (old) {
        job_generated_validate(obj, old, err);
        job_update_validate(spec, json_object_get(old, "spec"), err);
    }
}
