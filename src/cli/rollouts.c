/* `kroll rollouts`: the Argo Rollouts kubectl plugin's commands against this data dir's
 * server, each sending the same requests the plugin sends (progressive-delivery.md section 5)
 * and printing the same lines, so scripts written for the plugin read the same output. The
 * `get` tree and `list` are in rollouts_view.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "cli/rollouts-int.h"
#include "core/jx.h"
#include "core/log.h"

int ro_fail(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "Error: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

char *ro_path(const struct ro_ctx *x, const char *name, const char *sub)
{
    return xasprintf("/apis/argoproj.io/v1alpha1/namespaces/%s/rollouts%s%s%s%s", x->ns,
                     name ? "/" : "", name ? name : "", sub ? "/" : "", sub ? sub : "");
}

json_t *ro_get(struct ro_ctx *x, const char *name)
{
    char *p = ro_path(x, name, NULL), buf[64];
    json_t *out = NULL;
    int code = cli_api_do(&x->api, "GET", p, NULL, NULL, &out);

    free(p);
    if (code == 200)
        return out;
    ro_fail("%s", cli_api_msg(out, code, buf, sizeof buf));
    json_decref(out);
    return NULL;
}

/* A merge patch of the main resource (sub NULL) or of /status; 0 or 1 (message printed). */
static int ro_patch(struct ro_ctx *x, const char *name, const char *sub, json_t *patch)
{
    char *p = ro_path(x, name, sub), buf[64];
    json_t *out = NULL;
    int code = cli_api_do(&x->api, "PATCH", p, "application/merge-patch+json", patch, &out);
    int rc = code == 200 ? 0 : ro_fail("%s", cli_api_msg(out, code, buf, sizeof buf));

    free(p);
    json_decref(out);
    json_decref(patch);
    return rc;
}

static int cmd_promote(struct ro_ctx *x, const char *name, int full)
{
    json_t *ro = ro_get(x, name);
    const json_t *steps, *pcs;
    long long idx;
    int rc = 0;

    if (!ro)
        return 1;
    steps = jx_get(ro, "spec.strategy.canary.steps");
    pcs = jx_get(ro, "status.pauseConditions");
    idx = jx_int(ro, "status.currentStepIndex", 0);
    if (jx_bool(ro, "spec.paused"))
        rc = ro_patch(x, name, NULL, json_pack("{s:{s:b}}", "spec", "paused", 0));
    if (!rc && full) {
        if (strcmp(jx_str(ro, "status.currentPodHash") ?: "", jx_str(ro, "status.stableRS") ?: ""))
            rc = ro_patch(x, name, "status", json_pack("{s:{s:b}}", "status", "promoteFull", 1));
    } else if (!rc && json_array_size(pcs) > 0) {
        rc = ro_patch(x, name, "status", json_pack("{s:{s:n}}", "status", "pauseConditions"));
    } else if (!rc && !jx_bool(ro, "spec.paused") && idx < (long long)json_array_size(steps)) {
        rc = ro_patch(x, name, "status",
                      json_pack("{s:{s:n,s:I}}", "status", "pauseConditions", "currentStepIndex",
                                (json_int_t)idx + 1));
    }
    if (!rc)
        printf("rollout '%s' %s\n", name, full ? "fully promoted" : "promoted");
    json_decref(ro);
    return rc;
}

/* `terminate analysisrun NAME`: the plugin's merge patch of the run's spec. */
static int cmd_terminate(struct ro_ctx *x, const char *name)
{
    char *p = xasprintf("/apis/argoproj.io/v1alpha1/namespaces/%s/analysisruns/%s", x->ns, name);
    json_t *patch = json_pack("{s:{s:b}}", "spec", "terminate", 1), *out = NULL;
    int code = cli_api_do(&x->api, "PATCH", p, "application/merge-patch+json", patch, &out);
    char buf[64];
    int rc = code == 200 ? 0 : ro_fail("%s", cli_api_msg(out, code, buf, sizeof buf));

    if (!rc)
        printf("analysisRun '%s' terminated\n", name);
    free(p);
    json_decref(out);
    json_decref(patch);
    return rc;
}

static int cmd_simple(struct ro_ctx *x, const char *verb, const char *name)
{
    json_t *p;
    const char *sub = "status", *done;
    char ts[32];

    if (!strcmp(verb, "abort")) {
        p = json_pack("{s:{s:b}}", "status", "abort", 1);
        done = "aborted";
    } else if (!strcmp(verb, "retry")) {
        p = json_pack("{s:{s:b}}", "status", "abort", 0);
        done = "retried";
    } else if (!strcmp(verb, "pause")) {
        p = json_pack("{s:{s:b}}", "spec", "paused", 1);
        sub = NULL;
        done = "paused";
    } else {
        time_rfc3339(time(NULL), ts);
        p = json_pack("{s:{s:s}}", "spec", "restartAt", ts);
        sub = NULL;
        done = "restarts in 0s";
    }
    if (ro_patch(x, name, sub, p))
        return 1;
    printf("rollout '%s' %s\n", name, done);
    return 0;
}

/* ---- set image ---- */

static int set_images(json_t *ctrs, const char *ctr, const char *img)
{
    json_t *c;
    size_t i;
    int n = 0;

    json_array_foreach(ctrs, i, c) if (!strcmp(ctr, "*") || !strcmp(jx_str(c, "name") ?: "", ctr))
    {
        json_object_set_new(c, "image", json_string(img));
        n++;
    }
    return n;
}

/* The object a template change goes to: the Rollout, or the Deployment its workloadRef names
 * (as the plugin does); path and object are owned by the caller. */
static json_t *template_owner(struct ro_ctx *x, const char *name, char **path)
{
    json_t *ro = ro_get(x, name), *d = NULL;
    const char *wr = jx_str(ro, "spec.workloadRef.name");
    char buf[64];
    int code;

    if (!ro || !wr) {
        *path = ro ? ro_path(x, name, NULL) : NULL;
        return ro;
    }
    *path = xasprintf("/apis/apps/v1/namespaces/%s/deployments/%s", x->ns, wr);
    code = cli_api_do(&x->api, "GET", *path, NULL, NULL, &d);
    json_decref(ro);
    if (code == 200)
        return d;
    ro_fail("%s", cli_api_msg(d, code, buf, sizeof buf));
    json_decref(d);
    free(*path);
    *path = NULL;
    return NULL;
}

static int cmd_set_image(struct ro_ctx *x, const char *name, int argc, char **argv)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        char *p = NULL, buf[64];
        json_t *ro = template_owner(x, name, &p), *out = NULL;
        int n = 0, code;

        if (!ro)
            return 1;
        for (int i = 0; i < argc; i++) {
            char *eq = strchr(argv[i], '='), ctr[256];

            if (!eq || eq == argv[i] || (size_t)(eq - argv[i]) >= sizeof ctr || !eq[1]) {
                json_decref(ro);
                free(p);
                return ro_fail("expected CONTAINER=IMAGE, got \"%s\"", argv[i]);
            }
            snprintf(ctr, sizeof ctr, "%.*s", (int)(eq - argv[i]), argv[i]);
            n += set_images(jx_get(ro, "spec.template.spec.containers"), ctr, eq + 1);
            n += set_images(jx_get(ro, "spec.template.spec.initContainers"), ctr, eq + 1);
        }
        if (!n) {
            json_decref(ro);
            free(p);
            return ro_fail("unable to find container named \"%s\"", argc ? argv[0] : "");
        }
        code = cli_api_do(&x->api, "PUT", p, "application/json", ro, &out);
        free(p);
        json_decref(ro);
        if (code == 200) {
            json_decref(out);
            printf("rollout \"%s\" image updated\n", name);
            return 0;
        }
        if (code != 409) {
            ro_fail("%s", cli_api_msg(out, code, buf, sizeof buf));
            json_decref(out);
            return 1;
        }
        json_decref(out);
    }
    return ro_fail("rollout \"%s\" kept changing: gave up after 5 conflicts", name);
}

/* ---- undo ---- */

static long long rs_revision(const json_t *rs)
{
    const char *v = jx_annotation(rs, "rollout.argoproj.io/revision");

    return v ? atoll(v) : 0;
}

static json_t *owned_rss(struct ro_ctx *x, const json_t *ro)
{
    char *p = xasprintf("/apis/apps/v1/namespaces/%s/replicasets", x->ns), buf[64];
    json_t *list = NULL, *rs, *refs, *ref, *mine = json_array();
    size_t i, j;
    int code = cli_api_do(&x->api, "GET", p, NULL, NULL, &list);

    free(p);
    if (code != 200) {
        ro_fail("%s", cli_api_msg(list, code, buf, sizeof buf));
        json_decref(list);
        json_decref(mine);
        return NULL;
    }
    json_array_foreach(json_object_get(list, "items"), i, rs)
    {
        refs = jx_get(rs, "metadata.ownerReferences");
        json_array_foreach(
            refs, j, ref) if (!strcmp(jx_str(ref, "uid") ?: "", jx_str(ro, "metadata.uid") ?: ""))
            json_array_append(mine, rs);
    }
    json_decref(list);
    return mine;
}

json_t *ro_owned_rss(struct ro_ctx *x, const json_t *ro)
{
    return owned_rss(x, ro);
}

static int cmd_undo(struct ro_ctx *x, const char *name, long long to)
{
    json_t *ro = ro_get(x, name), *rss = NULL, *rs, *pick = NULL, *tmpl, *patch;
    char *path = NULL;
    long long top = 0, second = 0;
    size_t i;
    int rc = 1;

    if (!ro)
        return 1;
    if (!(rss = owned_rss(x, ro)))
        goto out;
    json_array_foreach(rss, i, rs) if (rs_revision(rs) > top) top = rs_revision(rs);
    json_array_foreach(rss, i, rs) if (rs_revision(rs) > second && rs_revision(rs) < top) second =
        rs_revision(rs);
    if (to <= 0)
        to = second;
    json_array_foreach(rss, i, rs) if (to > 0 && rs_revision(rs) == to) pick = rs;
    if (!pick) {
        rc = to > 0 && to != second
                 ? ro_fail("unable to find specified revision %lld in history", to)
                 : ro_fail("no revision found for rollout \"%s\"", name);
        goto out;
    }
    tmpl = json_deep_copy(jx_get(pick, "spec.template"));
    jx_del(tmpl, "metadata.labels.rollouts-pod-template-hash");
    /* A workloadRef Rollout is undone on its Deployment, as the plugin does. */
    json_decref(ro);
    if (!(ro = template_owner(x, name, &path))) {
        json_decref(tmpl);
        goto out;
    }
    if (json_equal(tmpl, jx_get(ro, "spec.template"))) {
        printf("skipped rollback (current template already matches revision %lld)\n", to);
        json_decref(tmpl);
        rc = 0;
        goto out;
    }
    patch = json_pack("[{s:s,s:s,s:o}]", "op", "replace", "path", "/spec/template", "value", tmpl);
    {
        char buf[64];
        json_t *ans = NULL;
        int code = cli_api_do(&x->api, "PATCH", path, "application/json-patch+json", patch, &ans);

        rc = code == 200 ? 0 : ro_fail("%s", cli_api_msg(ans, code, buf, sizeof buf));
        json_decref(ans);
    }
    json_decref(patch);
    if (!rc)
        printf("rollout '%s' undo\n", name);
out:
    free(path);
    json_decref(rss);
    json_decref(ro);
    return rc;
}

/* ---- status ---- */

/* The plugin's Phase - Message, with its client-side overrides. */
void ro_status_line(const json_t *ro, char *out, size_t n, const char **phase)
{
    const char *ph = jx_str(ro, "status.phase") ?: "Progressing",
               *msg = jx_str(ro, "status.message");
    char gen[32];

    snprintf(gen, sizeof gen, "%lld", (long long)jx_int(ro, "metadata.generation", 1));
    if (strcmp(jx_str(ro, "status.observedGeneration") ?: "", gen) != 0) {
        ph = "Progressing";
        msg = "waiting for rollout spec update to be observed";
    } else if (jx_bool(ro, "status.controllerPause") &&
               !json_array_size(jx_get(ro, "status.pauseConditions"))) {
        ph = "Progressing";
        msg = "waiting for rollout to unpause";
    }
    *phase = ph;
    if (msg && *msg)
        snprintf(out, n, "%s - %s", ph, msg);
    else
        snprintf(out, n, "%s", ph);
}

static int cmd_status(struct ro_ctx *x, const char *name, int watch, long long timeout_ms)
{
    char line[1200], last[1200] = "";
    int64_t end = time_mono_ms() + timeout_ms;

    for (;;) {
        json_t *ro = ro_get(x, name);
        const char *phase;
        int healthy, degraded;

        if (!ro)
            return 1;
        ro_status_line(ro, line, sizeof line, &phase);
        healthy = !strcmp(phase, "Healthy");
        degraded = !strcmp(phase, "Degraded");
        if (strcmp(line, last) != 0)
            printf("%s\n", healthy || degraded ? phase : line);
        fflush(stdout);
        snprintf(last, sizeof last, "%s", line);
        if (degraded)
            ro_fail("The rollout is in a degraded state with message: %s",
                    jx_str(ro, "status.message") ?: "");
        json_decref(ro);
        if (degraded)
            return 1;
        if (!watch || healthy)
            return 0;
        if (timeout_ms > 0 && time_mono_ms() >= end)
            return ro_fail("Rollout status watch exceeded timeout");
        usleep(250 * 1000);
    }
}

/* ---- dispatch ---- */

static int usage(void)
{
    fprintf(stderr,
            "usage: kroll rollouts [--data-dir DIR] [-n NAMESPACE] COMMAND\n"
            "  get rollout NAME [--watch] [--timeout-seconds N]\n"
            "  list rollouts [-A]\n"
            "  status NAME [--watch=false] [--timeout DURATION]\n"
            "  promote NAME [--full]     abort NAME     retry rollout NAME\n"
            "  pause NAME                restart NAME   undo NAME [--to-revision N]\n"
            "  set image NAME CONTAINER=IMAGE...   terminate analysisrun NAME\n"
            "  plan NAME|deployment/NAME [--image CONTAINER=IMAGE...] [-f FILE] [-o json]\n");
    return 2;
}

/* Removes flag (and its value when takes_value) from argv; returns its value, "" for a bare
 * flag, or NULL when absent. "--flag=value" is accepted too. */
static const char *take_flag(int *argc, char **argv, const char *flag, int takes_value)
{
    size_t fl = strlen(flag);

    for (int i = 1; i < *argc; i++) {
        const char *v = NULL;
        int n = 0;

        if (!strcmp(argv[i], flag)) {
            n = takes_value && i + 1 < *argc ? 2 : 1;
            v = n == 2 ? argv[i + 1] : "";
        } else if (!strncmp(argv[i], flag, fl) && argv[i][fl] == '=') {
            n = 1;
            v = argv[i] + fl + 1;
        }
        if (n) {
            memmove(&argv[i], &argv[i + n], (size_t)(*argc - i - n + 1) * sizeof *argv);
            *argc -= n;
            return v;
        }
    }
    return NULL;
}

static int dispatch(struct ro_ctx *x, int argc, char **argv)
{
    const char *verb = argv[1], *name;

    if (!strcmp(verb, "plan")) /* before the flags below: plan takes its own */
        return ro_cmd_plan(x, argc - 2, argv + 2);

    const char *full = take_flag(&argc, argv, "--full", 0);
    const char *torev = take_flag(&argc, argv, "--to-revision", 1);
    const char *watch = take_flag(&argc, argv, "--watch", 0), *w = take_flag(&argc, argv, "-w", 0);
    const char *tmo = take_flag(&argc, argv, "--timeout", 1);
    const char *tsec = take_flag(&argc, argv, "--timeout-seconds", 1);
    const char *all = take_flag(&argc, argv, "-A", 0);
    int64_t ms = 0;

    if (!strcmp(verb, "list"))
        return ro_cmd_list(x, all != NULL);
    if ((!strcmp(verb, "get") || !strcmp(verb, "retry")) && argc >= 4 &&
        !strcmp(argv[2], "rollout")) {
        memmove(&argv[2], &argv[3], (size_t)(argc - 2) * sizeof *argv);
        argc--;
    }
    if (!strcmp(verb, "set") && argc >= 5 && !strcmp(argv[2], "image"))
        return cmd_set_image(x, argv[3], argc - 4, argv + 4);
    if (!strcmp(verb, "terminate") && argc == 4 &&
        (!strcmp(argv[2], "analysisrun") || !strcmp(argv[2], "ar")))
        return cmd_terminate(x, argv[3]);
    if (argc != 3)
        return usage();
    name = argv[2];
    if (tmo) {
        json_t *v = json_string(tmo);
        int bad = !v || duration_parse_ms(v, &ms) < 0;

        json_decref(v);
        if (bad)
            return ro_fail("invalid --timeout \"%s\"", tmo);
    }
    if (tsec)
        ms = atoll(tsec) * 1000;
    if (!strcmp(verb, "get"))
        return ro_cmd_get(x, name, watch || w, ms);
    if (!strcmp(verb, "status"))
        return cmd_status(x, name, !watch || strcmp(watch, "false") != 0, ms);
    if (!strcmp(verb, "promote"))
        return cmd_promote(x, name, full != NULL);
    if (!strcmp(verb, "undo"))
        return cmd_undo(x, name, torev ? atoll(torev) : 0);
    if (!strcmp(verb, "abort") || !strcmp(verb, "retry") || !strcmp(verb, "pause") ||
        !strcmp(verb, "restart"))
        return cmd_simple(x, verb, name);
    return usage();
}

static int cmd_rollouts_run(int argc, char **argv)
{
    char *dir = cli_data_dir(&argc, argv);
    const char *ns = take_flag(&argc, argv, "-n", 1);
    struct ro_ctx x = {0};
    int rc;

    if (!ns)
        ns = take_flag(&argc, argv, "--namespace", 1);
    snprintf(x.ns, sizeof x.ns, "%s", ns && *ns ? ns : "default");
    if (argc < 2) {
        free(dir);
        return usage();
    }
    if (cli_api_open(&x.api, dir) < 0) {
        free(dir);
        return 1;
    }
    rc = dispatch(&x, argc, argv);
    cli_api_close(&x.api);
    free(dir);
    return rc;
}

const struct cli_cmd cli_cmd_rollouts = {
    .name = "rollouts",
    .usage = "[--data-dir DIR] COMMAND   Argo Rollouts' plugin commands (get, promote, ...)",
    .run = cmd_rollouts_run,
};
