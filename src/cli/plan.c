/* `kroll rollouts plan ROLLOUT|deployment/NAME [--image CTR=IMG...] [-f FILE] [-o json]`: reads
 * the object, its ReplicaSets and pods, the nodes, every pod's placement and the namespace's
 * PodDisruptionBudgets through the API, measures how long this object's pods take to start and
 * become ready, applies the change to a copy and runs plan_sim.c on it. Nothing is written. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/patch.h"
#include "cli/plan.h"
#include "cli/rollouts-int.h"
#include "controllers/podutil.h"
#include "core/cond.h"
#include "core/err.h"
#include "core/file.h"
#include "core/jx.h"
#include "core/log.h"

#define MAX_IMAGES 32

struct plan_args {
    const char *target, *file, *output;
    const char *images[MAX_IMAGES];
    int nimages;
};

/* GET path into *out; 0 or 1 with the error printed. */
static int get(struct ro_ctx *x, const char *path, json_t **out, const char *what)
{
    char buf[64];
    int code = cli_api_do(&x->api, "GET", path, NULL, NULL, out);

    if (code == 200 && *out)
        return 0;
    if (code == 404 && what)
        ro_fail("%s not found", what);
    else
        ro_fail("%s: %s", path, cli_api_msg(*out, code, buf, sizeof buf));
    json_decref(*out);
    *out = NULL;
    return 1;
}

/* The items of a list owned by obj (by uid). */
static json_t *owned(const json_t *list, const json_t *obj)
{
    json_t *mine = json_array(), *it;
    size_t i;

    json_array_foreach(json_object_get(list, "items"), i, it) if (is_controlled_by(it, obj))
        json_array_append(mine, it);
    return mine;
}

static double ts_of(const char *s)
{
    time_t t = s ? time_parse(s) : -1;

    return t < 0 ? -1 : (double)t;
}

/* Means of (started - created) and (Ready - started) over ready pods: the API's timestamps are
 * whole seconds, and the mean of differences of truncated times is unbiased where a median is
 * not. Returns how many pods were measured. */
static int measure(const json_t *pods, double *start_s, double *ready_s)
{
    double ss = 0, rs = 0;
    int n = 0;
    size_t i;
    json_t *p;

    json_array_foreach(pods, i, p)
    {
        const json_t *rc = cond_get(p, "Ready");
        double c = ts_of(jx_str(p, "metadata.creationTimestamp"));
        double st = ts_of(jx_str(json_array_get(jx_get(p, "status.containerStatuses"), 0),
                                 "state.running.startedAt"));
        double r = rc ? ts_of(jx_str(rc, "lastTransitionTime")) : -1;

        if (!rc || strcmp(jx_str(rc, "status") ?: "", "True") || c < 0 || st < c || r < st ||
            jx_get(p, "metadata.deletionTimestamp"))
            continue;
        ss += st - c;
        rs += r - st;
        n++;
    }
    if (n) {
        *start_s = ss / n;
        *ready_s = rs / n;
    }
    return n;
}

/* The time an event was recorded, from its name: "<object>.<hex UnixNano>", as client-go's
 * recorder and kroll name events; -1 when the name has no such suffix. */
static double event_ns_time(const json_t *ev)
{
    const char *n = jx_str(ev, "metadata.name"), *dot = n ? strrchr(n, '.') : NULL;
    char *end;
    unsigned long long v;

    if (!dot || strlen(dot + 1) < 8 || strlen(dot + 1) > 16)
        return -1;
    v = strtoull(dot + 1, &end, 16);
    return *end ? -1 : (double)v / 1e9;
}

/* From the events of the current ready pods (their names carry nanoseconds, the pods' own
 * timestamps only whole seconds): the fastest start, Scheduled -> Started (the current pods
 * were often all started at once, a first deploy or a scale-up, where a rollout starts maxSurge
 * at a time), and the mean number of readiness probes that failed in a pod's first few periods
 * (Ready came at the first success on the probe schedule). Returns how many pods had both
 * events; *start_s and *fails are left alone when none. */
static int measure_events(const json_t *events, const json_t *pods, double period, double *start_s,
                          double *fails)
{
    double best = -1, nfail = 0;
    int n = 0;
    size_t i, j;
    json_t *p, *ev;

    json_array_foreach(pods, i, p)
    {
        const char *uid = jx_str(p, "metadata.uid") ?: "";
        const json_t *rc = cond_get(p, "Ready");
        double sch = -1, st = -1, f = 0;

        if (!rc || strcmp(jx_str(rc, "status") ?: "", "True"))
            continue;
        json_array_foreach(json_object_get(events, "items"), j, ev)
        {
            const char *r = jx_str(ev, "reason") ?: "";

            if (strcmp(jx_str(ev, "involvedObject.uid") ?: "", uid))
                continue;
            if (!strcmp(r, "Scheduled"))
                sch = event_ns_time(ev);
            else if (!strcmp(r, "Started") && st < 0)
                st = event_ns_time(ev);
        }
        json_array_foreach(json_object_get(events, "items"), j, ev)
        {
            double t = event_ns_time(ev);

            if (!strcmp(jx_str(ev, "involvedObject.uid") ?: "", uid) &&
                !strcmp(jx_str(ev, "reason") ?: "", "Unhealthy") &&
                !strncmp(jx_str(ev, "message") ?: "", "Readiness probe failed", 22) && st > 0 &&
                t >= st && t < st + 3 * period + 0.5)
                f += (double)jx_int(ev, "count", 1);
        }
        if (sch > 0 && st >= sch) {
            if (best < 0 || st - sch < best)
                best = st - sch;
            nfail += f;
            n++;
        }
    }
    if (n) {
        *start_s = best;
        *fails = nfail / n;
    }
    return n;
}

/* The preStop sleep of the template's first container (exec "sleep N" or sleep.seconds). */
static double prestop_s(const json_t *spec)
{
    const json_t *ps =
        jx_get(json_array_get(json_object_get(spec, "containers"), 0), "lifecycle.preStop");
    const json_t *cmd = jx_get(ps, "exec.command");
    size_t i;
    json_t *a;

    if (jx_get(ps, "sleep.seconds"))
        return (double)jx_int(ps, "sleep.seconds", 0);
    json_array_foreach(cmd, i, a)
    {
        const char *s = json_string_value(a), *w = s ? strstr(s, "sleep ") : NULL;

        if (w)
            return atof(w + 6);
    }
    return 0;
}

static void model(const json_t *obj, const json_t *pods, const json_t *events, struct plan_model *m,
                  int *measured)
{
    const json_t *spec = jx_get(obj, "spec.template.spec");
    const json_t *rp =
        jx_get(json_array_get(json_object_get(spec, "containers"), 0), "readinessProbe");
    double start = 1.0, ready = 0, grace;
    long long mr = jx_int(obj, "spec.minReadySeconds", 0);

    *measured = measure(pods, &start, &ready);
    /* Probes run at initialDelaySeconds after the start, then every periodSeconds: Ready at the
     * first success, then successThreshold - 1 more periods. The failures before it come from
     * the events where they exist, else from the pods' whole-second timestamps. */
    if (rp) {
        double delay = (double)jx_int(rp, "initialDelaySeconds", 0);
        double period = (double)jx_int(rp, "periodSeconds", 10), fails = -1;

        if (measure_events(events, pods, period, &start, &fails) && fails >= 0)
            ready = delay + fails * period;
        ready = ready > delay ? ready : delay;
        ready += (double)(jx_int(rp, "successThreshold", 1) - 1) * period;
    } else {
        double fails;

        measure_events(events, pods, 1, &start, &fails);
        ready = 0;
    }
    m->start_s = start;
    m->ready_s = ready;
    /* pod_available_in counts whole seconds (available once since + minReady < now): between
     * minReady and minReady + 1 s after Ready, half a second more on average. */
    m->min_ready_s = mr > 0 ? (double)mr + 0.5 : 0;
    grace = (double)jx_int(spec, "terminationGracePeriodSeconds", 30);
    m->term_s = prestop_s(spec) + 0.5 < grace ? prestop_s(spec) + 0.5 : grace;
    m->lag_s = 0.1;
}

/* ---- the change ---- */

static int set_image(json_t *obj, const char *arg)
{
    const char *eq = strchr(arg, '=');
    const char *lists[] = {"spec.template.spec.containers", "spec.template.spec.initContainers"};
    char ctr[256];
    int n = 0;

    if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof ctr || !eq[1])
        return -ro_fail("expected CONTAINER=IMAGE, got \"%s\"", arg);
    snprintf(ctr, sizeof ctr, "%.*s", (int)(eq - arg), arg);
    for (size_t l = 0; l < 2; l++) {
        size_t i;
        json_t *c;

        json_array_foreach(jx_get(obj, lists[l]), i,
                           c) if (!strcmp(ctr, "*") || !strcmp(jx_str(c, "name") ?: "", ctr))
        {
            json_object_set_new(c, "image", json_string(eq + 1));
            n++;
        }
    }
    if (!n)
        return -ro_fail("unable to find container named \"%s\"", ctr);
    return 0;
}

/* The object as it will be: -f's spec, --image, or (neither) a restart of the current spec. */
static json_t *changed(const json_t *cur, const struct plan_args *a)
{
    json_t *obj = json_deep_copy(cur);

    if (a->file) {
        size_t len = 0;
        char *text = file_read_all(a->file, &len);
        json_t *doc = NULL;
        struct err err;

        err_init(&err);
        if (!text || jx_parse_yaml(text, len, &doc, &err) < 0 || !json_is_object(doc) ||
            !json_is_object(json_object_get(doc, "spec"))) {
            ro_fail("%s: %s", a->file,
                    !text      ? "cannot read (a file of at most 1 MiB)"
                    : *err.msg ? err.msg
                               : "not a manifest with a spec");
            free(text);
            json_decref(doc);
            err_release(&err);
            json_decref(obj);
            return NULL;
        }
        if (strcmp(jx_str(doc, "kind") ?: "", jx_str(cur, "kind") ?: "")) {
            ro_fail("%s: kind %s, but the object is a %s", a->file, jx_str(doc, "kind") ?: "?",
                    jx_str(cur, "kind") ?: "?");
            free(text);
            json_decref(doc);
            err_release(&err);
            json_decref(obj);
            return NULL;
        }
        json_object_set(obj, "spec", json_object_get(doc, "spec"));
        free(text);
        json_decref(doc);
        err_release(&err);
    }
    for (int i = 0; i < a->nimages; i++)
        if (set_image(obj, a->images[i]) < 0) {
            json_decref(obj);
            return NULL;
        }
    if (!a->file && !a->nimages) {
        char ts[32];

        time_rfc3339(time(NULL), ts);
        json_object_set_new(jx_obj(obj, "spec.template.metadata.annotations"),
                            "kubectl.kubernetes.io/restartedAt", json_string(ts));
    }
    return obj;
}

/* ---- reading the cluster ---- */

/* Seconds an analysis step takes: its slowest metric's initialDelay + interval x (count - 1)
 * (a metric measures at once, then every interval). -1 when a template cannot be read. */
static double analysis_secs(struct ro_ctx *x, const json_t *an)
{
    double worst = 0;
    size_t i, j;
    json_t *t, *m;

    json_array_foreach(json_object_get(an, "templates"), i, t)
    {
        const char *name = jx_str(t, "templateName") ?: "";
        char *path =
            jx_bool(t, "clusterScope")
                ? xasprintf("/apis/argoproj.io/v1alpha1/clusteranalysistemplates/%s", name)
                : xasprintf("/apis/argoproj.io/v1alpha1/namespaces/%s/analysistemplates/%s", x->ns,
                            name);
        json_t *tmpl = NULL;
        int code = cli_api_do(&x->api, "GET", path, NULL, NULL, &tmpl);

        free(path);
        if (code != 200) {
            json_decref(tmpl);
            return -1;
        }
        json_array_foreach(jx_get(tmpl, "spec.metrics"), j, m)
        {
            int64_t iv = 0, d = 0;
            double s;

            if (jx_get(m, "interval"))
                duration_parse_ms(jx_get(m, "interval"), &iv);
            if (jx_get(m, "initialDelay"))
                duration_parse_ms(jx_get(m, "initialDelay"), &d);
            s = (double)d / 1000 + (double)iv / 1000 * (double)(jx_int(m, "count", 1) - 1);
            worst = s > worst ? s : worst;
        }
        json_decref(tmpl);
    }
    return worst;
}

static json_t *analysis_map(struct ro_ctx *x, const json_t *ro)
{
    json_t *out = json_object(), *st;
    size_t i;

    json_array_foreach(jx_get(ro, "spec.strategy.canary.steps"), i, st)
    {
        double s = json_object_get(st, "analysis")
                       ? analysis_secs(x, json_object_get(st, "analysis"))
                       : -1;
        char k[32];

        snprintf(k, sizeof k, "%zu", i);
        if (s >= 0)
            json_object_set_new(out, k, json_real(s));
    }
    return out;
}

/* Every pod of the cluster as the scheduler counts it (key namespace/name). */
static json_t *pod_map(const json_t *list)
{
    json_t *m = json_object(), *p;
    size_t i;

    json_array_foreach(json_object_get(list, "items"), i, p)
    {
        char k[600];

        snprintf(k, sizeof k, "%s/%s", jx_str(p, "metadata.namespace") ?: "",
                 jx_str(p, "metadata.name") ?: "");
        json_object_set(m, k, p);
    }
    return m;
}

static json_t *node_map(const json_t *list)
{
    json_t *m = json_object(), *n;
    size_t i;

    json_array_foreach(json_object_get(list, "items"), i, n)
        json_object_set(m, jx_str(n, "metadata.name") ?: "", n);
    return m;
}

struct snap {
    json_t *cur, *obj, *rsl, *rss, *pl, *pods, *nodes, *all, *pdbl, *an, *evl;
};

static void snap_release(struct snap *s)
{
    json_t **all[] = {&s->cur,   &s->obj, &s->rsl,  &s->rss, &s->pl, &s->pods,
                      &s->nodes, &s->all, &s->pdbl, &s->an,  &s->evl};

    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        json_decref(*all[i]);
        *all[i] = NULL;
    }
}

/* Reads everything the plan looks at; 0 or 1 (error printed). */
static int read_cluster(struct ro_ctx *x, const char *name, int rollout, struct snap *s)
{
    char *p = rollout ? ro_path(x, name, NULL)
                      : xasprintf("/apis/apps/v1/namespaces/%s/deployments/%s", x->ns, name);
    char what[600];
    json_t *nl = NULL, *al = NULL;
    size_t i;
    json_t *rs;
    int rc;

    snprintf(what, sizeof what, "%s \"%s\" in namespace \"%s\"", rollout ? "rollout" : "deployment",
             name, x->ns);
    rc = get(x, p, &s->cur, what);
    free(p);
    if (rc)
        return 1;
    p = xasprintf("/apis/apps/v1/namespaces/%s/replicasets", x->ns);
    rc = get(x, p, &s->rsl, NULL);
    free(p);
    if (rc)
        return 1;
    s->rss = owned(s->rsl, s->cur);
    p = xasprintf("/api/v1/namespaces/%s/pods", x->ns);
    rc = get(x, p, &s->pl, NULL);
    free(p);
    if (rc)
        return 1;
    s->pods = json_array();
    json_array_foreach(s->rss, i, rs)
    {
        json_t *mine = owned(s->pl, rs);

        json_array_extend(s->pods, mine);
        json_decref(mine);
    }
    /* Capacity and budgets: without them (RBAC, old server) the plan skips those checks. */
    if (cli_api_do(&x->api, "GET", "/api/v1/nodes", NULL, NULL, &nl) == 200 &&
        cli_api_do(&x->api, "GET", "/api/v1/pods", NULL, NULL, &al) == 200) {
        s->nodes = node_map(nl);
        s->all = pod_map(al);
    }
    json_decref(nl);
    json_decref(al);
    p = xasprintf("/apis/policy/v1/namespaces/%s/poddisruptionbudgets", x->ns);
    if (cli_api_do(&x->api, "GET", p, NULL, NULL, &s->pdbl) != 200) {
        json_decref(s->pdbl);
        s->pdbl = NULL;
    }
    free(p);
    p = xasprintf("/api/v1/namespaces/%s/events", x->ns);
    if (cli_api_do(&x->api, "GET", p, NULL, NULL, &s->evl) != 200) {
        json_decref(s->evl);
        s->evl = NULL;
    }
    free(p);
    s->an = rollout ? analysis_map(x, s->cur) : json_object();
    return 0;
}

/* ---- output ---- */

static void print_text(const struct plan *p, const char *target, int measured)
{
    const struct plan_model *m = &p->m;
    size_t i;
    json_t *pr;

    printf("Plan for %s in namespace %s: %lld replicas\n", target,
           jx_str(p->obj, "metadata.namespace") ?: "default",
           (long long)jx_int(p->obj, "spec.replicas", 1));
    printf("Pod model: running %.1f s after creation, Ready %.1f s later (%s), available after "
           "%.1f s more, gone %.1f s after deletion\n\n",
           m->start_s, m->ready_s,
           measured ? "measured on the current pods" : "no ready pods: defaults and probes",
           m->min_ready_s, m->term_s);
    printf("%8s  %-40s %-9s %-9s %-9s %s%s\n", "TIME", "STEP", "NEW", "OLD", "AVAILABLE",
           p->rollout ? "MIN-AVAIL " : "MIN-AVAIL", p->rollout ? "CANARY" : "");
    for (size_t k = 0; k < p->nrows; k++) {
        const struct plan_row *r = &p->rows[k];
        char nw[48], old[48];

        snprintf(nw, sizeof nw, "%lld/%lld", r->new_desired, r->new_ready);
        snprintf(old, sizeof old, "%lld/%lld", r->old_desired, r->old_ready);
        printf("%7.1fs  %-40.40s %-9s %-9s %-9lld %lld", r->t, r->step, nw, old, r->available,
               r->min_available);
        if (p->rollout)
            printf("%*s%lld%%", 10 - snprintf(NULL, 0, "%lld", r->min_available), "", r->weight);
        printf("\n");
    }
    printf("\n(NEW and OLD: pods desired/ready)\n");
    if (p->duration >= 0) {
        printf("Expected duration: %.1f s", p->duration);
        if (p->waits > 0 || p->promote_waits)
            printf(" (%.1f s of pauses and analysis%s)", p->waits,
                   p->promote_waits ? ", plus the time until each promote" : "");
        printf("\n");
    } else {
        printf("Expected duration: never completes\n");
    }
    if (p->switch_t >= 0)
        printf("The active Service switches at %.1f s\n", p->switch_t);
    if (!json_array_size(p->problems))
        printf("Problems: none\n");
    json_array_foreach(p->problems, i, pr)
        printf("Problem: %s: %s\n", jx_str(pr, "reason"), jx_str(pr, "message"));
}

static void print_json(const struct plan *p, const char *target)
{
    json_t *o = json_object(), *tl = json_array();
    char *s;

    for (size_t k = 0; k < p->nrows; k++) {
        const struct plan_row *r = &p->rows[k];

        json_array_append_new(
            tl, json_pack("{s:f,s:s,s:{s:I,s:I},s:{s:I,s:I},s:I,s:I,s:I}", "t", r->t, "step",
                          r->step, "new", "desired", (json_int_t)r->new_desired, "ready",
                          (json_int_t)r->new_ready, "old", "desired", (json_int_t)r->old_desired,
                          "ready", (json_int_t)r->old_ready, "available", (json_int_t)r->available,
                          "minAvailable", (json_int_t)r->min_available, "canaryWeight",
                          (json_int_t)r->weight));
    }
    json_object_set_new(o, "object", json_string(target));
    json_object_set_new(o, "namespace", json_string(jx_str(p->obj, "metadata.namespace") ?: ""));
    json_object_set_new(o, "model",
                        json_pack("{s:f,s:f,s:f,s:f,s:f}", "startSeconds", p->m.start_s,
                                  "readySeconds", p->m.ready_s, "minReadySeconds", p->m.min_ready_s,
                                  "terminationSeconds", p->m.term_s, "controllerLagSeconds",
                                  p->m.lag_s));
    json_object_set_new(o, "timeline", tl);
    json_object_set_new(o, "durationSeconds",
                        p->duration >= 0 ? json_real(p->duration) : json_null());
    json_object_set_new(o, "waitSeconds", json_real(p->waits));
    if (p->switch_t >= 0)
        json_object_set_new(o, "switchSeconds", json_real(p->switch_t));
    json_object_set_new(o, "promoteWaits", json_integer(p->promote_waits));
    json_object_set(o, "problems", p->problems);
    s = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    printf("%s\n", s ? s : "{}");
    free(s);
    json_decref(o);
}

/* ---- command ---- */

static int parse(int argc, char **argv, struct plan_args *a)
{
    for (int i = 0; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (!strcmp(argv[i], "--image") || !strcmp(argv[i], "-f") || !strcmp(argv[i], "-o")) {
            if (!v)
                return ro_fail("%s needs a value", argv[i]);
            if (argv[i][1] == 'f')
                a->file = v;
            else if (argv[i][1] == 'o')
                a->output = v;
            else if (a->nimages < MAX_IMAGES)
                a->images[a->nimages++] = v;
            else
                return ro_fail("at most %d --image", MAX_IMAGES);
            i++;
        } else if (!strncmp(argv[i], "--image=", 8) && a->nimages < MAX_IMAGES) {
            a->images[a->nimages++] = argv[i] + 8;
        } else if (!strncmp(argv[i], "-o=", 3) || !strncmp(argv[i], "--output=", 9)) {
            a->output = strchr(argv[i], '=') + 1;
        } else if (argv[i][0] == '-' || a->target) {
            return ro_fail("unexpected argument \"%s\"", argv[i]);
        } else {
            a->target = argv[i];
        }
    }
    if (!a->target)
        return ro_fail("usage: kroll rollouts plan ROLLOUT|deployment/NAME [-n NS] "
                       "[--image CTR=IMG...] [-f FILE] [-o json]");
    if (a->output && strcmp(a->output, "json"))
        return ro_fail("unknown output \"%s\" (only json)", a->output);
    return 0;
}

/* "deployment/x", "deploy/x", "deployments/x" or "deployments.apps/x"; "rollout/x", "ro/x" or
 * a bare name (a Rollout, as the plugin's commands take). */
static int split_target(const char *t, const char **name, int *rollout)
{
    static const char *const dep[] = {"deployment/", "deployments/", "deploy/", "deployment.apps/",
                                      "deployments.apps/"};
    static const char *const ro[] = {"rollout/", "rollouts/", "ro/", "rollouts.argoproj.io/"};

    *rollout = 1;
    *name = t;
    for (size_t i = 0; i < sizeof dep / sizeof dep[0]; i++)
        if (!strncmp(t, dep[i], strlen(dep[i]))) {
            *rollout = 0;
            *name = t + strlen(dep[i]);
        }
    for (size_t i = 0; i < sizeof ro / sizeof ro[0]; i++)
        if (!strncmp(t, ro[i], strlen(ro[i])))
            *name = t + strlen(ro[i]);
    if (strchr(*name, '/') || !**name || strlen(*name) > 253)
        return ro_fail("\"%s\": expected ROLLOUT, rollout/NAME or deployment/NAME", t);
    return 0;
}

int ro_cmd_plan(struct ro_ctx *x, int argc, char **argv)
{
    struct plan_args a = {0};
    struct snap s = {0};
    struct plan p = {0};
    const char *name;
    char target[300];
    int rollout, measured, rc = 1;

    if (parse(argc, argv, &a) || split_target(a.target, &name, &rollout))
        return 1;
    if (read_cluster(x, name, rollout, &s) || !(s.obj = changed(s.cur, &a)))
        goto out;
    snprintf(target, sizeof target, "%s/%s", rollout ? "rollout" : "deployment", name);
    p.obj = s.obj;
    p.rollout = rollout;
    p.rss = s.rss;
    p.pods = s.pods;
    p.nodes = s.nodes;
    p.sched_pods = s.all;
    p.pdbs = json_object_get(s.pdbl, "items");
    p.analysis_s = s.an;
    model(s.obj, s.pods, s.evl, &p.m, &measured);
    if (plan_run(&p) < 0) {
        rc = ro_fail("%s", jx_str(json_array_get(p.problems, 0), "message") ?: "cannot plan");
        goto out;
    }
    if (a.output)
        print_json(&p, target);
    else
        print_text(&p, target, measured);
    rc = 0;
out:
    plan_release(&p);
    snap_release(&s);
    return rc;
}
