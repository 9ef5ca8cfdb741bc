/* The batch/v1 Job kind's kind_ops entry: its create strategy (pkg/registry/batch/job: status
 * cleared, the selector and pod labels generated from the new uid unless manualSelector), its
 * table printer (printJob, pkg/printers/internalversion, 1.32) and strategic-merge keys; its
 * schema, defaults and validation are resources/' res_kind descriptor. Objects are untrusted
 * JSON: every getter tolerates absent or mistyped fields. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/kind.h"
#include "api/patch.h"
#include "api/protobuf.h"
#include "api/table-int.h"
#include "core/cond.h"
#include "core/jx.h"

#define JOB_UID_LABEL "batch.kubernetes.io/controller-uid"
#define JOB_NAME_LABEL "batch.kubernetes.io/job-name"
#define JOB_UID_LEGACY "controller-uid"
#define JOB_NAME_LEGACY "job-name"

/* ---- create strategy ---- */

static void label_default(json_t *labels, const char *key, const char *value)
{
    if (!json_object_get(labels, key))
        json_object_set_new(labels, key, json_string(value));
}

/* generateSelector: the template gets the job-name and controller-uid labels (a label the user
 * set is kept, and validation already refused a selector that cannot be the generated one); the
 * selector selects the uid. */
static void job_generate_selector(json_t *obj)
{
    const char *uid = jx_str(obj, "metadata.uid"), *name = jx_str(obj, "metadata.name");
    json_t *labels = jx_get(obj, "spec.template.metadata.labels"), *ml;

    if (!uid || !name || !json_is_object(jx_get(obj, "spec.template")))
        return;
    if (!json_is_object(labels)) {
        labels = json_object();
        jx_set(obj, "spec.template.metadata.labels", labels);
    }
    label_default(labels, JOB_NAME_LEGACY, name);
    label_default(labels, JOB_NAME_LABEL, name);
    label_default(labels, JOB_UID_LEGACY, uid);
    label_default(labels, JOB_UID_LABEL, uid);
    ml = jx_get(obj, "spec.selector.matchLabels");
    if (!json_is_object(ml)) {
        ml = json_object();
        jx_set(obj, "spec.selector.matchLabels", ml);
    }
    label_default(ml, JOB_UID_LABEL, uid);
}

static int job_prepare_create(struct api *api, json_t *obj, struct err *err)
{
    json_t *tl;

    kind_create_drop_status(api, obj, err);
    if (!jx_bool(obj, "spec.manualSelector"))
        job_generate_selector(obj);
    /* The Job's labels default to its template's, on every read upstream (defaulting runs at
     * decode), so they include the generated ones: copy them once here. */
    tl = jx_get(obj, "spec.template.metadata.labels");
    if (json_is_object(tl) && json_object_size(jx_get(obj, "metadata.labels")) == 0)
        jx_set(obj, "metadata.labels", json_deep_copy(tl));
    return 0;
}

/* ---- table (printJob) ---- */

static int cond_true(const json_t *o, const char *type)
{
    const char *s = jx_str(cond_get(o, type), "status");

    return s && !strcmp(s, "True");
}

static const char *job_status_cell(const json_t *o)
{
    if (cond_true(o, "Complete"))
        return "Complete";
    if (cond_true(o, "Failed"))
        return "Failed";
    if (jx_get(o, "metadata.deletionTimestamp"))
        return "Terminating";
    if (cond_true(o, "Suspended"))
        return "Suspended";
    if (cond_true(o, "FailureTarget"))
        return "FailureTarget";
    if (cond_true(o, "SuccessCriteriaMet"))
        return "SuccessCriteriaMet";
    return "Running";
}

static void cells_job(const json_t *o, time_t now, json_t *row)
{
    long long ok = jx_int(o, "status.succeeded", 0), par = jx_int(o, "spec.parallelism", 0);
    time_t start = table__time_at(o, "status.startTime");
    time_t end = table__time_at(o, "status.completionTime");
    char done[64], took[64] = "";

    if (json_is_integer(jx_get(o, "spec.completions")))
        snprintf(done, sizeof done, "%lld/%lld", ok, jx_int(o, "spec.completions", 0));
    else if (par > 1)
        snprintf(done, sizeof done, "%lld/1 of %lld", ok, par);
    else
        snprintf(done, sizeof done, "%lld/1", ok);
    if (start >= 0)
        table__age_fmt(start, end >= 0 ? end : now, took, sizeof took);
    table__cell_str(row, jx_str(o, "metadata.name"));
    table__cell_str(row, job_status_cell(o));
    table__cell_str(row, done);
    table__cell_str(row, took);
    table__cell_age(row, o, "metadata.creationTimestamp", now);
    table__cells_containers(row, jx_get(o, "spec.template.spec.containers"));
    table__cell_take(row, table__label_selector(jx_get(o, "spec.selector")));
}

static const struct table_col job_cols[] = {TABLE_COL_NAME,
                                            {"Status", "string", 0},
                                            {"Completions", "string", 0},
                                            {"Duration", "string", 0},
                                            TABLE_COL_AGE,
                                            TABLE_COLS_WORKLOAD_WIDE,
                                            TABLE_COL_END};

const struct kind_ops kind_JOB = {
    .res = &res_kind_job,
    .prepare_create = job_prepare_create,
    .cols = job_cols,
    .cells = cells_job,
    .merge = &kind_pod_template_merge,
    .pb = &pb_msg_Job,
};
