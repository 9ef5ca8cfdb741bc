/* `kroll rollouts get rollout NAME` and `list rollouts`: the Argo plugin's header, tree
 * (revisions, ReplicaSets with their stable/canary/active/preview tags and scale-down delays,
 * pods, analysis runs with their measurement counts) and list columns (progressive-delivery.md
 * section 5), from plain GETs; `--watch` from the client's informers over HTTPS (kc_https). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/rollouts-int.h"
#include "client/kc.h"
#include "controllers/argo.h"
#include "core/file.h"
#include "core/jx.h"
#include "core/log.h"

#define MAX_ROWS 512

struct row {
    char name[400], kind[16], status[48], age[16], info[120];
};

struct tree {
    struct row rows[MAX_ROWS];
    int n;
};

static const char *icon(const char *status)
{
    static const struct {
        const char *s, *i;
    } m[] = {{"Healthy", "✔"},    {"Running", "✔"},     {"Successful", "✔"}, {"Progressing", "◌"},
             {"Pending", "◌"},    {"Paused", "॥"},      {"Degraded", "✖"},   {"Failed", "✖"},
             {"ScaledDown", "•"}, {"Terminating", "◌"}, {"Error", "⚠"},      {"InvalidSpec", "⚠"}};

    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (!strcmp(m[i].s, status))
            return m[i].i;
    return "?";
}

static void age_of(const json_t *o, char *out, size_t n)
{
    time_t t = time_parse(jx_str(o, "metadata.creationTimestamp") ?: "");

    if (t < 0)
        snprintf(out, n, "<unknown>");
    else
        time_human(time(NULL) - t, out, n);
}

static struct row *add_row(struct tree *t, const char *prefix, const char *glyph, const json_t *o,
                           const char *kind, const char *status)
{
    struct row *r;

    if (t->n == MAX_ROWS)
        return NULL;
    r = &t->rows[t->n++];
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s%s %s", prefix, glyph,
             o ? jx_str(o, "metadata.name") ?: "" : "");
    snprintf(r->kind, sizeof r->kind, "%s", kind);
    if (*status)
        snprintf(r->status, sizeof r->status, "%s %s", icon(status), status);
    if (o)
        age_of(o, r->age, sizeof r->age);
    return r;
}

static long long revision(const json_t *o)
{
    const char *v = jx_annotation(o, ARGO_A_REV);

    return v ? atoll(v) : 0;
}

static int cmp_rev_desc(const void *a, const void *b)
{
    long long x = revision(*(json_t *const *)a), y = revision(*(json_t *const *)b);

    return x < y ? 1 : x > y ? -1 : 0;
}

static const char *rs_status(const json_t *rs)
{
    if (jx_int(rs, "spec.replicas", 1) == 0)
        return "ScaledDown";
    if (jx_int(rs, "status.observedGeneration", 0) < jx_int(rs, "metadata.generation", 1) ||
        jx_int(rs, "status.availableReplicas", 0) < jx_int(rs, "spec.replicas", 1))
        return "Progressing";
    return "Healthy";
}

/* stable / canary / active / preview and delay:Ns, as the plugin tags ReplicaSets. */
static void rs_tags(const json_t *ro, const json_t *rs, char *out, size_t n)
{
    const char *h = jx_label(rs, ARGO_HASH_LABEL) ?: "", *dl = jx_annotation(rs, ARGO_A_DEADLINE);
    int bg = jx_get(ro, "spec.strategy.blueGreen") != NULL;
    size_t o = 0;

    *out = 0;
    if (!bg && !strcmp(h, jx_str(ro, "status.stableRS") ?: ""))
        o += (size_t)snprintf(out + o, n - o, "stable");
    else if (!bg && !strcmp(h, jx_str(ro, "status.currentPodHash") ?: ""))
        o += (size_t)snprintf(out + o, n - o, "canary");
    else if (bg && !strcmp(h, jx_str(ro, "status.blueGreen.activeSelector") ?: ""))
        o += (size_t)snprintf(out + o, n - o, "active");
    else if (bg && !strcmp(h, jx_str(ro, "status.blueGreen.previewSelector") ?: ""))
        o += (size_t)snprintf(out + o, n - o, "preview");
    if (dl && time_parse(dl) > time(NULL) && o < n)
        snprintf(out + o, n - o, "%sdelay:%llds", o ? "," : "",
                 (long long)(time_parse(dl) - time(NULL)));
}

static int is_owned_by(const json_t *o, const json_t *owner)
{
    const json_t *refs = jx_get(o, "metadata.ownerReferences"), *r;
    size_t i;

    json_array_foreach(refs, i, r) if (!strcmp(jx_str(r, "uid") ?: "",
                                               jx_str(owner, "metadata.uid") ?: "-")) return 1;
    return 0;
}

static void pod_rows(struct tree *t, const json_t *pods, const json_t *rs, const char *prefix)
{
    const json_t *p, *cs, *c;
    size_t i, j, n = 0, k = 0;
    char pre[128];

    json_array_foreach(pods, i, p) if (is_owned_by(p, rs)) n++;
    json_array_foreach(pods, i, p)
    {
        int ready = 0, total = 0;
        const char *st = jx_get(p, "metadata.deletionTimestamp") ? "Terminating"
                                                                  : jx_str(p, "status.phase") ?: "Pending";
        struct row *r;

        if (!is_owned_by(p, rs))
            continue;
        k++;
        snprintf(pre, sizeof pre, "%s%s", prefix, k == n ? "└──" : "├──");
        cs = jx_get(p, "status.containerStatuses");
        json_array_foreach(cs, j, c)
        {
            total++;
            ready += jx_bool(c, "ready");
        }
        if (!total)
            total = (int)json_array_size(jx_get(p, "spec.containers"));
        r = add_row(t, pre, "□", p, "Pod", st);
        if (r)
            snprintf(r->info, sizeof r->info, "ready:%d/%d", ready, total);
    }
}

/* A run's measurements as the plugin sums them over its metrics: "✔ 2 ✖ 1". */
static void ar_info(const json_t *ar, char *out, size_t n)
{
    static const struct {
        const char *key, *glyph;
    } k[] = {{"successful", "✔"}, {"failed", "✖"}, {"inconclusive", "?"}, {"error", "⚠"}};
    long long sum[4] = {0};
    const json_t *m;
    size_t i, off = 0;

    json_array_foreach(jx_get(ar, "status.metricResults"), i, m) for (size_t j = 0; j < 4; j++)
        sum[j] += jx_int(m, k[j].key, 0);
    out[0] = 0;
    for (size_t j = 0; j < 4 && off < n; j++)
        if (sum[j])
            off += (size_t)snprintf(out + off, n - off, "%s%s %lld", off ? " " : "", k[j].glyph,
                                    sum[j]);
}

/* The rows of one revision: its ReplicaSet with its pods, then its analysis runs. */
static void revision_rows(struct tree *t, const json_t *ro, const json_t *rs, const json_t *pods,
                          const json_t *ars, int last)
{
    const char *side = last ? "   " : "│  ";
    const json_t *ar;
    size_t i, nar = 0, k = 0;
    char pre[96];
    struct row *row;

    json_array_foreach(ars, i, ar) if (is_owned_by(ar, ro) && revision(ar) == revision(rs)) nar++;
    snprintf(pre, sizeof pre, "%s%s", side, nar ? "├──" : "└──");
    row = add_row(t, pre, "⧉", rs, "ReplicaSet", rs_status(rs));
    if (row)
        rs_tags(ro, rs, row->info, sizeof row->info);
    snprintf(pre, sizeof pre, "%s%s", side, nar ? "│  " : "   ");
    pod_rows(t, pods, rs, pre);
    json_array_foreach(ars, i, ar)
    {
        if (!is_owned_by(ar, ro) || revision(ar) != revision(rs))
            continue;
        snprintf(pre, sizeof pre, "%s%s", side, ++k == nar ? "└──" : "├──");
        row = add_row(t, pre, "α", ar, "AnalysisRun", jx_str(ar, "status.phase") ?: "Pending");
        if (row)
            ar_info(ar, row->info, sizeof row->info);
    }
}

static void tree_build(struct tree *t, const json_t *ro, json_t *rss, const json_t *pods,
                       const json_t *ars)
{
    size_t n = json_array_size(rss), nrev = 0;
    json_t **v = xcalloc(n + 1, sizeof *v);
    const char *phase = jx_str(ro, "status.phase") ?: "Progressing";

    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(rss, i);
    qsort(v, n, sizeof *v, cmp_rev_desc);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || revision(v[i]) != revision(v[i - 1]))
            nrev++;
    add_row(t, "", "⟳", ro, "Rollout", phase);
    for (size_t i = 0, r = 0; i < n; i++) {
        int last = ++r == nrev;
        char label[48];

        snprintf(label, sizeof label, "# revision:%lld", revision(v[i]));
        add_row(t, last ? "└──" : "├──", label, NULL, "", "");
        revision_rows(t, ro, v[i], pods, ars, last);
    }
    free(v);
}

/* Display width of UTF-8 text: every non-continuation byte is one column here. */
static int width(const char *s)
{
    int w = 0;

    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

static void tree_print(const struct tree *t)
{
    int w[4] = {4, 4, 6, 3};

    for (int i = 0; i < t->n; i++) {
        const struct row *r = &t->rows[i];
        int ws[4] = {width(r->name), width(r->kind), width(r->status), width(r->age)};

        for (int k = 0; k < 4; k++)
            w[k] = ws[k] > w[k] ? ws[k] : w[k];
    }
    printf("%-*s  %-*s  %-*s  %-*s  INFO\n", w[0], "NAME", w[1], "KIND", w[2], "STATUS", w[3],
           "AGE");
    for (int i = 0; i < t->n; i++) {
        const struct row *r = &t->rows[i];

        printf("%s%*s  %s%*s  %s%*s  %s%*s  %s\n", r->name, w[0] - width(r->name), "", r->kind,
               w[1] - width(r->kind), "", r->status, w[2] - width(r->status), "", r->age,
               w[3] - width(r->age), "", r->info);
    }
}

static long long actual_weight(const json_t *ro, const json_t *rss)
{
    long long all = jx_int(ro, "status.availableReplicas", 0), canary = 0;
    const char *cur = jx_str(ro, "status.currentPodHash") ?: "";
    const json_t *rs;
    size_t i;

    if (!strcmp(cur, jx_str(ro, "status.stableRS") ?: ""))
        return 100;
    json_array_foreach(rss, i, rs) if (!strcmp(jx_label(rs, ARGO_HASH_LABEL) ?: "", cur)) canary =
        jx_int(rs, "status.availableReplicas", 0);
    return all > 0 ? canary * 100 / all : 0;
}

static void header(const json_t *ro, const json_t *rss)
{
    const char *phase, *msg = jx_str(ro, "status.message");
    const json_t *steps = jx_get(ro, "spec.strategy.canary.steps"), *rs;
    int bg = jx_get(ro, "spec.strategy.blueGreen") != NULL;
    char line[1200], tags[64];
    size_t i;
    int first = 1;

    ro_status_line(ro, line, sizeof line, &phase);
    printf("%-17s%s\n%-17s%s\n%-17s%s %s\n", "Name:", jx_str(ro, "metadata.name"),
           "Namespace:", jx_str(ro, "metadata.namespace"), "Status:", icon(phase), phase);
    if (msg && *msg)
        printf("%-17s%s\n", "Message:", msg);
    printf("%-17s%s\n", "Strategy:", bg ? "BlueGreen" : "Canary");
    if (!bg && json_array_size(steps)) {
        long long idx = jx_int(ro, "status.currentStepIndex", 0);

        printf("%-17s%lld/%zu\n", "  Step:", idx, json_array_size(steps));
        printf("%-17s%lld\n",
               "  SetWeight:", argo_current_weight(steps, idx, jx_bool(ro, "status.abort")));
        printf("%-17s%lld\n", "  ActualWeight:", actual_weight(ro, rss));
    }
    json_array_foreach(rss, i, rs)
    {
        const json_t *c = json_array_get(jx_get(rs, "spec.template.spec.containers"), 0);

        rs_tags(ro, rs, tags, sizeof tags);
        if (!c || jx_int(rs, "spec.replicas", 1) == 0 || !*tags)
            continue;
        printf("%-17s%s (%s)\n", first ? "Images:" : "", jx_str(c, "image") ?: "", tags);
        first = 0;
    }
    printf("Replicas:\n%-17s%lld\n%-17s%lld\n%-17s%lld\n%-17s%lld\n%-17s%lld\n\n",
           "  Desired:", (long long)jx_int(ro, "spec.replicas", 1),
           "  Current:", (long long)jx_int(ro, "status.replicas", 0),
           "  Updated:", (long long)jx_int(ro, "status.updatedReplicas", 0),
           "  Ready:", (long long)jx_int(ro, "status.readyReplicas", 0),
           "  Available:", (long long)jx_int(ro, "status.availableReplicas", 0));
}

static int get_once(struct ro_ctx *x, const char *name)
{
    json_t *ro = ro_get(x, name), *rss = NULL, *pods = NULL, *ars = NULL;
    char *p = xasprintf("/api/v1/namespaces/%s/pods", x->ns);
    char *pa = xasprintf("/apis/argoproj.io/v1alpha1/namespaces/%s/analysisruns", x->ns);
    struct tree *t = xcalloc(1, sizeof *t);
    int rc = 1;

    if (!ro || !(rss = ro_owned_rss(x, ro)))
        goto out;
    if (cli_api_do(&x->api, "GET", p, NULL, NULL, &pods) != 200) {
        ro_fail("cannot list pods");
        goto out;
    }
    if (cli_api_do(&x->api, "GET", pa, NULL, NULL, &ars) != 200) {
        ro_fail("cannot list analysis runs");
        goto out;
    }
    header(ro, rss);
    tree_build(t, ro, rss, json_object_get(pods, "items"), json_object_get(ars, "items"));
    tree_print(t);
    rc = 0;
out:
    free(t);
    free(p);
    free(pa);
    json_decref(ars);
    json_decref(pods);
    json_decref(rss);
    json_decref(ro);
    return rc;
}

/* `get --watch`: the tree redrawn from the client's informers (kc_https: a list, then a watch,
 * of Rollouts, ReplicaSets, pods and AnalysisRuns), after a change and at most every 200 ms,
 * as the Argo plugin's informer-driven watch does; until --timeout-seconds (0: until killed). */
struct gwatch {
    struct ro_ctx *x;
    const char *name;
    struct kc *kc;
    struct loop *loop;
    struct loop_timer tick;
    int64_t end;
    int dirty, rc;
};

static void gw_changed(const char *type, const struct resource *r, json_t *obj, json_t *old,
                       void *ctx)
{
    (void)type, (void)r, (void)obj, (void)old;
    ((struct gwatch *)ctx)->dirty = 1;
}

/* The objects of a borrowed informer map as a new array. */
static json_t *values(const json_t *map)
{
    json_t *out = json_array(), *v;
    const char *k;

    json_object_foreach((json_t *)map, k, v) json_array_append(out, v);
    return out;
}

static int gw_draw(struct gwatch *g)
{
    struct kc *kc = g->kc;
    const json_t *ro = kc_get(kc, kc_resource(RES_ROLLOUT), g->x->ns, g->name);
    json_t *rss, *pods, *ars;
    struct tree *t;

    if (!ro)
        return ro_fail("rollouts.argoproj.io \"%s\" not found", g->name);
    rss = values(kc_map_owned(kc, kc_resource(RES_REPLICASET), jx_str(ro, "metadata.uid")));
    pods = values(kc_map_ns(kc, kc_resource(RES_POD), g->x->ns));
    ars = values(kc_map_ns(kc, kc_resource(RES_ANALYSISRUN), g->x->ns));
    t = xcalloc(1, sizeof *t);
    printf("\033[H\033[2J");
    header(ro, rss);
    tree_build(t, ro, rss, pods, ars);
    tree_print(t);
    fflush(stdout);
    free(t);
    json_decref(rss);
    json_decref(pods);
    json_decref(ars);
    return 0;
}

static void gw_tick(struct loop_timer *timer, void *ctx)
{
    struct gwatch *g = ctx;

    if (g->dirty) {
        g->dirty = 0;
        if ((g->rc = gw_draw(g)) != 0) {
            loop_stop(g->loop);
            return;
        }
    }
    if (g->end && time_mono_ms() >= g->end) {
        loop_stop(g->loop);
        return;
    }
    loop_timer_start(g->loop, timer, 200);
}

static int get_watch(struct ro_ctx *x, const char *name, int64_t timeout_ms)
{
    struct gwatch g = {.x = x, .name = name, .dirty = 1};
    struct kc_https_opts o = {.server = x->api.cfg.server,
                              .token = x->api.cfg.token,
                              .ca_pem = x->api.cfg.ca_pem,
                              .timeout_ms = x->api.timeout_s * 1000};
    static const enum res_id kinds[] = {RES_ROLLOUT, RES_REPLICASET, RES_POD, RES_ANALYSISRUN};
    struct err err;

    err_init(&err);
    g.loop = loop_new();
    g.kc = kc_https_new(g.loop, &o, &err);
    if (!g.kc) {
        g.rc = ro_fail("%s", err.msg);
        goto out;
    }
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        kc_listen(g.kc, kc_resource(kinds[i]), gw_changed, &g);
    g.end = timeout_ms > 0 ? time_mono_ms() + timeout_ms : 0;
    loop_timer_init(&g.tick, gw_tick, &g);
    loop_timer_start(g.loop, &g.tick, 0);
    loop_run(g.loop);
    loop_timer_stop(g.loop, &g.tick);
    kc_free(g.kc);
out:
    loop_free(g.loop);
    err_release(&err);
    return g.rc;
}

int ro_cmd_get(struct ro_ctx *x, const char *name, int watch, int64_t timeout_ms)
{
    return watch ? get_watch(x, name, timeout_ms) : get_once(x, name);
}

int ro_cmd_list(struct ro_ctx *x, int all)
{
    char *p = all ? xstrdup("/apis/argoproj.io/v1alpha1/rollouts") : ro_path(x, NULL, NULL);
    json_t *list = NULL, *ro;
    int code = cli_api_do(&x->api, "GET", p, NULL, NULL, &list);
    size_t i;
    char buf[64];

    free(p);
    if (code != 200) {
        ro_fail("%s", cli_api_msg(list, code, buf, sizeof buf));
        json_decref(list);
        return 1;
    }
    if (!json_array_size(json_object_get(list, "items"))) {
        fprintf(stderr, "No resources found.\n");
        json_decref(list);
        return 0;
    }
    printf("%s%-20s %-10s %-12s %-6s %-11s %-6s %-8s %-11s %s\n", all ? "NAMESPACE   " : "", "NAME",
           "STRATEGY", "STATUS", "STEP", "SET-WEIGHT", "READY", "DESIRED", "UP-TO-DATE",
           "AVAILABLE");
    json_array_foreach(json_object_get(list, "items"), i, ro)
    {
        const json_t *steps = jx_get(ro, "spec.strategy.canary.steps");
        int bg = jx_get(ro, "spec.strategy.blueGreen") != NULL;
        long long idx = jx_int(ro, "status.currentStepIndex", 0);
        char step[32] = "-", weight[16] = "-", ready[48];

        if (!bg && json_array_size(steps))
            snprintf(step, sizeof step, "%lld/%zu", idx, json_array_size(steps));
        if (!bg)
            snprintf(weight, sizeof weight, "%lld",
                     argo_current_weight(steps, idx, jx_bool(ro, "status.abort")));
        snprintf(ready, sizeof ready, "%lld/%lld", (long long)jx_int(ro, "status.readyReplicas", 0),
                 (long long)jx_int(ro, "status.replicas", 0));
        if (all)
            printf("%-11s ", jx_str(ro, "metadata.namespace"));
        printf("%-20s %-10s %-12s %-6s %-11s %-6s %-8lld %-11lld %lld\n",
               jx_str(ro, "metadata.name"), bg ? "BlueGreen" : "Canary",
               jx_str(ro, "status.phase") ?: "Progressing", step, weight, ready,
               (long long)jx_int(ro, "spec.replicas", 1),
               (long long)jx_int(ro, "status.updatedReplicas", 0),
               (long long)jx_int(ro, "status.availableReplicas", 0));
    }
    json_decref(list);
    return 0;
}
