/* A Rollout's analysis (argo-rollouts rollout/analysis.go): the AnalysisRun of a canary
 * `analysis` step, of the canary's background analysis, or of blue-green pre- and
 * post-promotion analysis, built from its AnalysisTemplates / ClusterAnalysisTemplates (metrics
 * concatenated, args merged, the Rollout's args with podTemplateHashValue and fieldRef
 * metadata.*), named `<rollout>-<hash>-<revision>` plus `-<step>`, nothing, `-pre` or `-post`
 * (`.N` on a name taken by an older run), labelled rollout-type Step / Background /
 * PrePromotion / PostPromotion, the Rollout's reaction to its phase, and the termination of
 * runs that are no longer current. */
#include <stdio.h>
#include <string.h>

#include "controllers/analysis.h"
#include "controllers/argo-int.h"
#include "core/jx.h"

#define TEMPLATES_MAX 16
#define SUFFIX_MAX 20

/* Per kind: the rollout-type label, the event's word, the status object and key that name the
 * current run, and the abort cause's prefix (Argo's words). */
static const struct run_kind {
    const char *type, *event, *obj, *key, *cause;
} kinds[] = {
    [ARGO_RUN_STEP] = {"Step", "Step", "canary", "currentStepAnalysisRunStatus",
                       "Step-based analysis phase error/failed"},
    [ARGO_RUN_BACKGROUND] = {"Background", "Background", "canary",
                             "currentBackgroundAnalysisRunStatus",
                             "Background analysis phase error/failed"},
    [ARGO_RUN_PRE] = {"PrePromotion", "PrePromotion", "blueGreen", "prePromotionAnalysisRunStatus",
                      "Blue/green pre-promotion analysis phase error/failed"},
    [ARGO_RUN_POST] = {"PostPromotion", "PostPromotion", "blueGreen",
                       "postPromotionAnalysisRunStatus",
                       "Blue/green post-promotion analysis phase error/failed"},
};

/* The value of a Rollout arg (borrowed or in buf), or NULL with msg. */
static const char *arg_value(struct rsync *x, const json_t *a, char *buf, size_t bn, char *msg,
                             size_t n)
{
    const char *v = jx_str(a, "value"), *hv = jx_str(a, "valueFrom.podTemplateHashValue");
    const char *fp = jx_str(a, "valueFrom.fieldRef.fieldPath");
    char key[256];

    if (v)
        return v;
    if (hv && !strcmp(hv, "Latest"))
        return x->hash;
    if (hv && !strcmp(hv, "Stable"))
        return argo__rs_hash(x->srs) ?: jx_str(x->st, "stableRS") ?: "";
    if (fp && (!strcmp(fp, "metadata.name") || !strcmp(fp, "metadata.namespace") ||
               !strcmp(fp, "metadata.uid")))
        return jx_str(x->ro, fp) ?: "";
    if (fp && (sscanf(fp, "metadata.labels['%255[^']']", key) == 1 ||
               sscanf(fp, "metadata.annotations['%255[^']']", key) == 1)) {
        snprintf(
            buf, bn, "%s",
            (!strncmp(fp, "metadata.labels", 15) ? jx_label(x->ro, key) : jx_annotation(x->ro, key))
                ?: "");
        return buf;
    }
    snprintf(msg, n,
             "args.%s: unsupported valueFrom (podTemplateHashValue Latest|Stable or "
             "fieldRef metadata.name|namespace|uid|labels['k']|annotations['k'])",
             jx_str(a, "name") ?: "");
    return NULL;
}

/* Sets (or replaces) arg name in args (array). */
static void arg_put(json_t *args, const char *name, json_t *arg)
{
    const json_t *a;
    size_t i;

    json_array_foreach(args, i, a) if (!strcmp(jx_str(a, "name") ?: "", name))
    {
        json_array_set_new(args, i, arg);
        return;
    }
    json_array_append_new(args, arg);
}

/* Appends the items of list (array or NULL) to the array key of spec. */
static void list_cat(json_t *spec, const char *key, const json_t *list)
{
    json_t *dst = json_object_get(spec, key);

    if (!json_array_size(list))
        return;
    if (!dst) {
        dst = json_array();
        json_object_set_new(spec, key, dst);
    }
    json_array_extend(dst, (json_t *)list);
}

/* Adds template t's metrics and args to spec; -1 with msg on a duplicate metric or a
 * conflicting arg value. */
static int merge_template(json_t *spec, const json_t *t, char *msg, size_t n)
{
    json_t *metrics = json_object_get(spec, "metrics"), *args = json_object_get(spec, "args");
    const json_t *m, *a, *e;
    size_t i, j;

    if (json_array_size(jx_get(t, "spec.templates"))) {
        snprintf(msg, n, "%s \"%s\": nested templates are not supported", jx_str(t, "kind"),
                 jx_str(t, "metadata.name"));
        return -1;
    }
    json_array_foreach(jx_get(t, "spec.metrics"), i, m)
    {
        json_array_foreach(metrics, j,
                           e) if (!strcmp(jx_str(e, "name") ?: "", jx_str(m, "name") ?: ""))
        {
            snprintf(msg, n, "two metrics have the same name '%s'", jx_str(m, "name") ?: "");
            return -1;
        }
        json_array_append_new(metrics, json_deep_copy(m));
    }
    json_array_foreach(jx_get(t, "spec.args"), i, a)
    {
        const char *name = jx_str(a, "name") ?: "";
        int found = 0;

        json_array_foreach(args, j, e) if (!strcmp(jx_str(e, "name") ?: "", name))
        {
            found = 1;
            if (jx_str(a, "value") && jx_str(e, "value") &&
                strcmp(jx_str(a, "value"), jx_str(e, "value")) != 0) {
                snprintf(msg, n, "Argument `%s` specified multiple times with different values",
                         name);
                return -1;
            }
            if (!jx_get(e, "value") && !jx_get(e, "valueFrom"))
                json_array_set_new(args, j, json_deep_copy(a));
        }
        if (!found)
            json_array_append_new(args, json_deep_copy(a));
    }
    list_cat(spec, "dryRun", jx_get(t, "spec.dryRun"));
    list_cat(spec, "measurementRetention", jx_get(t, "spec.measurementRetention"));
    return 0;
}

/* Step, pre- and post-promotion runs must end: a metric with an interval and no count (or
 * count 0) is refused with Argo's words (only background analysis may run forever). */
static int bounded(const json_t *t, char *msg, size_t n)
{
    const json_t *m, *cnt;
    size_t i;

    json_array_foreach(jx_get(t, "spec.metrics"), i, m)
    {
        char cs[64];

        cnt = json_object_get(m, "count");
        if (!jx_str(m, "interval") || (json_is_integer(cnt) && json_integer_value(cnt) > 0) ||
            (json_is_string(cnt) && strcmp(json_string_value(cnt), "0") != 0 &&
             *json_string_value(cnt)))
            continue;
        if (json_is_integer(cnt))
            snprintf(cs, sizeof cs, "%lld", (long long)json_integer_value(cnt));
        else
            snprintf(cs, sizeof cs, "%s", json_is_string(cnt) ? json_string_value(cnt) : "<nil>");
        snprintf(msg, n,
                 "templates: Invalid value: \"%s\": AnalysisTemplate %s has metric %s which runs "
                 "indefinitely. Invalid value for count: %s",
                 jx_str(t, "metadata.name") ?: "", jx_str(t, "metadata.name") ?: "",
                 jx_str(m, "name") ?: "", cs);
        return -1;
    }
    return 0;
}

/* Background runs are checked up front: every template arg without a value must be given by
 * the Rollout (Argo's ValidateAnalysisTemplateWithType words). */
static int args_given(const json_t *an, const json_t *t, char *msg, size_t n)
{
    const json_t *a, *ra;
    const char *tn = jx_str(t, "metadata.name") ?: "";
    size_t i, j;

    json_array_foreach(jx_get(t, "spec.args"), i, a)
    {
        int found = 0;

        if (json_object_get(a, "value") || json_object_get(a, "valueFrom"))
            continue;
        if (!json_is_array(json_object_get(an, "args"))) {
            snprintf(msg, n,
                     "templates: Invalid value: \"%s\": missing analysis arguments in rollout "
                     "spec",
                     tn);
            return -1;
        }
        json_array_foreach(json_object_get(an, "args"), j, ra)
        {
            if (!strcmp(jx_str(ra, "name") ?: "", jx_str(a, "name") ?: ""))
                found = 1;
        }
        if (!found) {
            snprintf(msg, n, "templates: Invalid value: \"%s\": %s", tn, jx_str(a, "name") ?: "");
            return -1;
        }
    }
    return 0;
}

/* The AnalysisRun spec for analysis of kind k, or NULL with msg. */
static json_t *run_spec(struct rsync *x, const json_t *an, enum argo_run k, char *msg, size_t n)
{
    json_t *spec = json_pack("{s:[],s:[]}", "metrics", "args");
    const json_t *ref, *a;
    size_t i;

    if (!json_array_size(json_object_get(an, "templates")) ||
        json_array_size(json_object_get(an, "templates")) > TEMPLATES_MAX) {
        snprintf(msg, n, "templates: between 1 and %d template references are needed",
                 TEMPLATES_MAX);
        goto fail;
    }
    json_array_foreach(json_object_get(an, "templates"), i, ref)
    {
        int cluster = jx_bool(ref, "clusterScope");
        const char *tn = jx_str(ref, "templateName");
        json_t *t =
            tn ? kc_get(ctl_kc(x->c),
                         kc_resource(cluster ? RES_CLUSTERANALYSISTEMPLATE : RES_ANALYSISTEMPLATE),
                         cluster ? NULL : x->ns, tn)
               : NULL;

        if (!t) {
            snprintf(msg, n, "templates[%zu]: %s.argoproj.io \"%s\" not found", i,
                     cluster ? "ClusterAnalysisTemplate" : "AnalysisTemplate", tn ?: "");
            goto fail;
        }
        if ((k != ARGO_RUN_BACKGROUND && bounded(t, msg, n) < 0) ||
            (k == ARGO_RUN_BACKGROUND && args_given(an, t, msg, n) < 0) ||
            merge_template(spec, t, msg, n) < 0)
            goto fail;
    }
    json_array_foreach(json_object_get(an, "args"), i, a)
    {
        char buf[1024];
        const char *name = jx_str(a, "name"), *v;

        if (!name)
            continue;
        v = arg_value(x, a, buf, sizeof buf, msg, n);
        if (!v)
            goto fail;
        arg_put(json_object_get(spec, "args"), name,
                json_pack("{s:s,s:s}", "name", name, "value", v));
    }
    list_cat(spec, "dryRun", json_object_get(an, "dryRun"));
    list_cat(spec, "measurementRetention", json_object_get(an, "measurementRetention"));
    return spec;
fail:
    json_decref(spec);
    return NULL;
}

/* Creates the run of kind k (step idx) under a free name (base, base.1, ...); returns it (new
 * reference) or NULL (InvalidSpec set, or a write error logged). */
static json_t *run_create(struct rsync *x, const json_t *an, enum argo_run k, size_t idx,
                          const char *field)
{
    char base[400], name[420], msg[1500], revs[32], sidx[32];
    struct kc_wopts o = {.grace = -1, .manager = ARGO_COMP};
    json_t *spec = run_spec(x, an, k, msg, sizeof msg), *ar, *labels, *out = NULL;
    struct err err;
    int rc = -1;

    if (!spec) {
        char full[1800];

        snprintf(full, sizeof full, "The Rollout \"%s\" is invalid: %s.%s", x->name, field, msg);
        argo__cond(x->st, "InvalidSpec", "True", "InvalidSpec", full);
        return NULL;
    }
    snprintf(revs, sizeof revs, "%lld", argo__revision(x->nrs));
    snprintf(sidx, sizeof sidx, "%zu", idx);
    snprintf(base, sizeof base, "%s-%s-%s%s%s", x->name, x->hash, revs,
             k == ARGO_RUN_BACKGROUND ? "" : "-",
             k == ARGO_RUN_STEP   ? sidx
             : k == ARGO_RUN_PRE  ? "pre"
             : k == ARGO_RUN_POST ? "post"
                                  : "");
    labels = jx_get(x->ro, "spec.selector.matchLabels")
                 ? json_deep_copy(jx_get(x->ro, "spec.selector.matchLabels"))
                 : json_object();
    if (json_is_object(jx_get(an, "analysisRunMetadata.labels")))
        json_object_update(labels, jx_get(an, "analysisRunMetadata.labels"));
    json_object_set_new(labels, ARGO_HASH_LABEL, json_string(x->hash));
    json_object_set_new(labels, "rollout-type", json_string(kinds[k].type));
    if (k == ARGO_RUN_STEP)
        json_object_set_new(labels, "step-index", json_string(sidx));
    ar = json_pack("{s:s,s:s,s:{s:s,s:o,s:o,s:[o]},s:o}", "apiVersion", "argoproj.io/v1alpha1",
                   "kind", "AnalysisRun", "metadata", "namespace", x->ns, "labels", labels,
                   "annotations",
                   jx_get(an, "analysisRunMetadata.annotations")
                       ? json_deep_copy(jx_get(an, "analysisRunMetadata.annotations"))
                       : json_object(),
                   "ownerReferences", owner_ref(x->ro), "spec", spec);
    json_object_set_new(jx_obj(ar, "metadata.annotations"), ARGO_A_REV, json_string(revs));
    err_init(&err);
    for (int i = 0; i <= SUFFIX_MAX; i++) {
        if (i)
            snprintf(name, sizeof name, "%s.%d", base, i);
        else
            snprintf(name, sizeof name, "%s", base);
        json_object_set_new(json_object_get(ar, "metadata"), "name", json_string(name));
        err_release(&err);
        err_init(&err);
        rc = kc_create(ctl_kc(x->c), kc_resource(RES_ANALYSISRUN), x->ns, ar, &o, &out, &err);
        if (rc != -E_ALREADY_EXISTS)
            break;
    }
    if (rc < 0) {
        snprintf(msg, sizeof msg, "The Rollout \"%s\" is invalid: %s: creating AnalysisRun: %s",
                 x->name, field, err.msg);
        argo__cond(x->st, "InvalidSpec", "True", "InvalidSpec", msg);
    } else {
        argo__event(x, "Normal", "AnalysisRunRunning",
                    "%s Analysis Run '%s' Status New: 'Running' Previous: ''", kinds[k].event,
                    name);
    }
    json_decref(ar);
    err_release(&err);
    return rc < 0 ? NULL : out;
}

static json_t *status_obj(struct rsync *x, const char *key)
{
    json_t *c = json_object_get(x->st, key);

    if (!json_is_object(c)) {
        c = json_object();
        json_object_set_new(x->st, key, c);
    }
    return c;
}

static int pause_held(const struct rsync *x, const char *reason)
{
    const json_t *pc;
    size_t i;

    json_array_foreach(json_object_get(x->st, "pauseConditions"), i,
                       pc) if (!strcmp(jx_str(pc, "reason") ?: "", reason)) return 1;
    return 0;
}

/* The recorded current run of kind k when it still belongs to this revision (and step). */
static json_t *run_current(struct rsync *x, enum argo_run k, size_t idx)
{
    const json_t *cur = jx_get(json_object_get(x->st, kinds[k].obj), kinds[k].key);
    const char *cname = jx_str(cur, "name");
    json_t *ar = cname ? kc_get(ctl_kc(x->c), kc_resource(RES_ANALYSISRUN), x->ns, cname) : NULL;
    char sidx[32];

    snprintf(sidx, sizeof sidx, "%zu", idx);
    if (!ar || strcmp(jx_label(ar, ARGO_HASH_LABEL) ?: "", x->hash) != 0 ||
        strcmp(jx_label(ar, "rollout-type") ?: "", kinds[k].type) != 0 ||
        (k == ARGO_RUN_STEP && strcmp(jx_label(ar, "step-index") ?: "", sidx) != 0))
        return NULL;
    /* An Inconclusive run whose pause the user ended (promote): Argo starts a fresh one
     * (needsNewAnalysisRun). Step runs are skipped by promote instead. */
    if (k != ARGO_RUN_STEP && !strcmp(jx_str(ar, "status.phase") ?: "", "Inconclusive") &&
        !strcmp(jx_str(cur, "status") ?: "", "Inconclusive") &&
        !pause_held(x, "InconclusiveAnalysisRun"))
        return NULL;
    return ar;
}

int argo__analysis(struct rsync *x, const json_t *an, enum argo_run k, size_t idx,
                   const char *field)
{
    json_t *so = status_obj(x, kinds[k].obj), *cur = json_object_get(so, kinds[k].key);
    char prev[32];
    json_t *ar = run_current(x, k, idx);
    const char *phase, *msg;
    int rc = 0, same;

    snprintf(prev, sizeof prev, "%s", jx_str(cur, "status") ?: "");
    same = ar != NULL;
    if (ar)
        json_incref(ar);
    else if (!(ar = run_create(x, an, k, idx, field)))
        return 0;
    phase = jx_str(ar, "status.phase") ?: "Pending";
    msg = jx_str(ar, "status.message") ?: "";
    json_object_set_new(so, kinds[k].key,
                        json_pack("{s:s,s:s,s:s}", "name", jx_str(ar, "metadata.name"), "status",
                                  phase, "message", msg));
    if (same && strcmp(prev, phase) != 0) {
        char reason[48]; /* Argo's AnalysisRun<Phase> */

        snprintf(reason, sizeof reason, "AnalysisRun%.24s", phase);
        argo__event(x, !strcmp(phase, "Failed") || !strcmp(phase, "Error") ? "Warning" : "Normal",
                    reason, "%s Analysis Run '%s' Status New: '%s' Previous: '%s'",
                    kinds[k].event, jx_str(ar, "metadata.name"), phase, prev);
    }
    if (!strcmp(phase, "Successful")) {
        rc = 1;
    } else if (!strcmp(phase, "Failed") || !strcmp(phase, "Error")) {
        json_object_set_new(x->st, "abort", json_true());
        snprintf(x->abort_cause, sizeof x->abort_cause, "%s: %s", kinds[k].cause, msg);
        argo__requeue(x, 0);
    } else if (!strcmp(phase, "Inconclusive")) {
        rc = 2;
    }
    json_decref(ar);
    return rc;
}

int argo__step_analysis(struct rsync *x, const json_t *an, size_t idx)
{
    char field[80];

    snprintf(field, sizeof field, "spec.strategy.canary.steps[%zu].analysis", idx);
    return argo__analysis(x, an, ARGO_RUN_STEP, idx, field);
}

void argo__terminate_runs(struct rsync *x, const char *keep, const char *keep2)
{
    json_t *m = ctl_map(x->c, RES_ANALYSISRUN), *ar;
    const json_t *ref;
    const char *k;
    json_t *todo = json_array(), *name;
    size_t i;

    json_object_foreach(m, k, ar)
    {
        ref = ctl_controller_ref(ar);
        if (!ref || strcmp(jx_str(ref, "kind") ?: "", "Rollout") != 0 ||
            strcmp(jx_str(ref, "uid") ?: "", jx_str(x->ro, "metadata.uid") ?: "") != 0)
            continue;
        if ((keep && !strcmp(jx_str(ar, "metadata.name") ?: "", keep)) ||
            (keep2 && !strcmp(jx_str(ar, "metadata.name") ?: "", keep2)))
            continue;
        if (jx_bool(ar, "spec.terminate") ||
            anl_phase_completed(anl_phase_parse(jx_str(ar, "status.phase"))))
            continue;
        json_array_append_new(todo, json_string(jx_str(ar, "metadata.name")));
    }
    json_array_foreach(todo, i, name)
    {
        struct kc_wopts o = {.grace = -1, .manager = ARGO_COMP};
        json_t *p = json_pack("{s:{s:b}}", "spec", "terminate", 1), *out = NULL;
        struct err err;

        err_init(&err);
        /* out is required: kc_patch hands back the stored object even when nothing changed. */
        if (kc_patch(ctl_kc(x->c), kc_resource(RES_ANALYSISRUN), x->ns, json_string_value(name),
                      "application/merge-patch+json", p, &o, &out, &err) < 0)
            ctl_log_err(x->c, "terminate analysisrun", x->ns, x->name, &err);
        json_decref(out);
        json_decref(p);
        err_release(&err);
    }
    json_decref(todo);
}
