/* A Rollout's history (argo-rollouts rollout/sync.go isRollbackWithinWindow, rollout/analysis.go
 * and utils/analysis/filter.go FilterAnalysisRunsToDelete at 9f8d111): whether an undo lands
 * within spec.rollbackWindow (then steps and analysis are skipped), and the AnalysisRuns kept:
 * at most successfulRunHistoryLimit Successful and unsuccessfulRunHistoryLimit
 * Failed/Error/Inconclusive runs (default 5 each, newest first) besides the current ones, and
 * none whose ReplicaSet is gone (revisionHistoryLimit deletes them together). */
#include <stdlib.h>
#include <string.h>

#include "controllers/analysis.h"
#include "controllers/argo-int.h"
#include "core/jx.h"

#define PRUNE_MAX 512

static time_t created(const json_t *o)
{
    return time_parse(jx_str(o, "metadata.creationTimestamp") ?: "");
}

int argo__within_window(const struct rsync *x)
{
    long long want = jx_int(x->ro, "spec.rollbackWindow.revisions", 0), between = 0;
    time_t n, s;

    if (!x->nrs || !x->srs || x->nrs == x->srs || want <= 0)
        return 0;
    n = created(x->nrs);
    s = created(x->srs);
    /* A rollback: the new ReplicaSet is older than the stable one (creation times, as Argo's
     * metav1.Time.Before, so whole seconds). */
    if (n < 0 || s < 0 || !(n < s))
        return 0;
    for (size_t i = 0; i < json_array_size(x->rss); i++) {
        const json_t *rs = json_array_get(x->rss, i);
        time_t t = created(rs);

        if (jx_annotation(rs, "experiments.argoproj.io/experiment-name"))
            continue;
        if (t >= 0 && t < s && n < t)
            between++;
    }
    return between < want;
}

/* Is the run one of the current ones the status names? */
static int is_current(const struct rsync *x, const char *name)
{
    static const char *const keys[] = {"canary.currentStepAnalysisRunStatus.name",
                                       "canary.currentBackgroundAnalysisRunStatus.name",
                                       "blueGreen.prePromotionAnalysisRunStatus.name",
                                       "blueGreen.postPromotionAnalysisRunStatus.name"};

    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(jx_str(x->st, keys[i]) ?: "", name))
            return 1;
    return 0;
}

/* Does a ReplicaSet of the Rollout carry this pod hash? (claim() leaves out deleting ones; a
 * ReplicaSet deleted in this pass wakes the Rollout again, which then deletes its runs.) */
static int hash_alive(const struct rsync *x, const char *hash)
{
    for (size_t i = 0; i < json_array_size(x->rss); i++)
        if (!strcmp(argo__rs_hash(json_array_get(x->rss, i)) ?: "", hash))
            return 1;
    return 0;
}

static int cmp_newest(const void *a, const void *b)
{
    time_t x = created(*(json_t *const *)a), y = created(*(json_t *const *)b);
    int c = (x < y) - (x > y);

    return c ? c
             : strcmp(jx_str(*(json_t *const *)b, "metadata.name") ?: "",
                      jx_str(*(json_t *const *)a, "metadata.name") ?: "");
}

static void run_delete(struct rsync *x, const char *name)
{
    struct kc_wopts o = {.grace = -1};
    json_t *out = NULL;
    struct err err;

    err_init(&err);
    if (kc_delete(ctl_kc(x->c), kc_resource(RES_ANALYSISRUN), x->ns, name, &o, &out, &err) < 0 &&
        err.code != -E_NOT_FOUND)
        ctl_log_err(x->c, "delete analysisrun", x->ns, x->name, &err);
    json_decref(out);
    err_release(&err);
}

void argo__prune_runs(struct rsync *x)
{
    long long lim_ok = jx_int(x->ro, "spec.analysis.successfulRunHistoryLimit", 5);
    long long lim_bad = jx_int(x->ro, "spec.analysis.unsuccessfulRunHistoryLimit", 5);
    json_t *m = ctl_map(x->c, RES_ANALYSISRUN), *ar, *c[PRUNE_MAX], *todo = json_array();
    const char *k;
    size_t n = 0;
    long long ok = 0, bad = 0;

    json_object_foreach(m, k, ar)
    {
        const json_t *ref = ctl_controller_ref(ar);

        if (n < PRUNE_MAX && ref && !strcmp(jx_str(ref, "kind") ?: "", "Rollout") &&
            !strcmp(jx_str(ref, "uid") ?: "", jx_str(x->ro, "metadata.uid") ?: "") &&
            !jx_get(ar, "metadata.deletionTimestamp") &&
            !is_current(x, jx_str(ar, "metadata.name") ?: ""))
            c[n++] = ar;
    }
    qsort(c, n, sizeof *c, cmp_newest);
    for (size_t i = 0; i < n; i++) {
        const char *hash = jx_label(c[i], ARGO_HASH_LABEL), *ph = jx_str(c[i], "status.phase");
        int p = anl_phase_parse(ph);
        int del = 0;

        if (!hash || !hash_alive(x, hash))
            del = 1; /* its ReplicaSet is gone (revisionHistoryLimit) */
        else if (ph && !strcmp(ph, "Successful"))
            del = ++ok > lim_ok;
        else if (anl_phase_completed(p))
            del = ++bad > lim_bad;
        if (del)
            json_array_append_new(todo, json_string(jx_str(c[i], "metadata.name")));
    }
    for (size_t i = 0; i < json_array_size(todo); i++)
        run_delete(x, json_string_value(json_array_get(todo, i)));
    json_decref(todo);
}
