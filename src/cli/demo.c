/* `kroll demo`: the tutorial, for real, in about three minutes. Starts a server in a temporary
 * data dir (with two pretend GPUs), imports the bundled model-server images, and walks through
 * the tutorial's examples with the real kubectl while a built-in load generator sends traffic
 * through the Service: a rolling update, pause/resume, rollbacks, a bad release, a blue/green
 * switch, a drain held by a PodDisruptionBudget and a GPU rollout that cannot surge. Ends with
 * a summary table and an HTML report; exits 0 only when every zero-downtime phase served
 * traffic without one failed request. Everything it started is stopped, also on Ctrl-C. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "cli/demo-int.h"
#include "core/file.h"
#include "core/jx.h"
#include "core/log.h"
#include "node/image.h"

#define DEMO_GPUS "2"

volatile sig_atomic_t demo_interrupted;

/* clang-format off */
/* The tutorial's manifests with demo timings (minReadySeconds 2 instead of 20, 1 s probes,
 * preStop sleep 1, a 10 s progress deadline so the bad release is declared failed quickly).
 * examples/tutorial/ has the verbatim versions. */
static const char deployment_yaml[] =
    "apiVersion: apps/v1\n"
    "kind: Deployment\n"
    "metadata:\n"
    "  name: model-serving\n"
    "spec:\n"
    "  replicas: 4\n"
    "  revisionHistoryLimit: 10\n"
    "  progressDeadlineSeconds: 10\n"
    "  strategy:\n"
    "    type: RollingUpdate\n"
    "    rollingUpdate:\n"
    "      maxSurge: 1\n"
    "      maxUnavailable: 0\n"
    "  minReadySeconds: 2\n"
    "  selector:\n"
    "    matchLabels:\n"
    "      app: model-serving\n"
    "  template:\n"
    "    metadata:\n"
    "      labels:\n"
    "        app: model-serving\n"
    "    spec:\n"
    "      terminationGracePeriodSeconds: 30\n"
    "      containers:\n"
    "      - name: server\n"
    "        image: myrepo/tf-serving:1.0.3\n"
    "        args: [\"--port=8500\", \"--rest_api_port=8501\", \"--model_name=classifier\", "
    "\"--model_base_path=/models/classifier\"]\n"
    "        readinessProbe:\n"
    "          httpGet:\n"
    "            path: /v1/models/classifier\n"
    "            port: 8501\n"
    "          initialDelaySeconds: 1\n"
    "          periodSeconds: 1\n"
    "          failureThreshold: 3\n"
    "        lifecycle:\n"
    "          preStop:\n"
    "            exec:\n"
    "              command: [\"/bin/sh\", \"-c\", \"sleep 1\"]\n";

static const char service_yaml[] = "apiVersion: v1\n"
                                   "kind: Service\n"
                                   "metadata:\n"
                                   "  name: model-serving\n"
                                   "spec:\n"
                                   "  selector:\n"
                                   "    app: model-serving\n"
                                   "  ports:\n"
                                   "  - name: http\n"
                                   "    port: 8501\n"
                                   "    targetPort: 8501\n";

static const char pdb_yaml[] = "apiVersion: policy/v1\n"
                               "kind: PodDisruptionBudget\n"
                               "metadata:\n"
                               "  name: model-serving-pdb\n"
                               "spec:\n"
                               "  minAvailable: 3\n"
                               "  selector:\n"
                               "    matchLabels:\n"
                               "      app: model-serving\n";

/* One Deployment of the blue/green pair or the GPU example (same probe as above). */
#define SMALL_DEPLOYMENT(NAME, LABELS, TAG, EXTRA)                                             \
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: " NAME "\nspec:\n"             \
    "  replicas: 2\n  minReadySeconds: 2\n  selector:\n    matchLabels: " LABELS "\n"          \
    "  template:\n    metadata:\n      labels: " LABELS "\n    spec:\n"                        \
    "      terminationGracePeriodSeconds: 30\n      containers:\n      - name: server\n"      \
    "        image: myrepo/tf-serving:" TAG "\n" EXTRA "        readinessProbe:\n"             \
    "          httpGet: {path: /v1/models/classifier, port: 8501}\n"                          \
    "          initialDelaySeconds: 1\n          periodSeconds: 1\n"

static const char blue_green_yaml[] =
    SMALL_DEPLOYMENT("classifier-blue", "{app: classifier, color: blue}", "1.0.3", "")
    "---\n" SMALL_DEPLOYMENT("classifier-green", "{app: classifier, color: green}", "1.0.4", "")
    "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: classifier\nspec:\n"
    "  selector: {app: classifier, color: blue}\n  ports:\n  - {name: http, port: 8501, "
    "targetPort: 8501}\n";

static const char gpu_yaml[] =
    SMALL_DEPLOYMENT("classifier-gpu", "{app: classifier-gpu}", "1.0.3",
                     "        resources:\n          limits: {nvidia.com/gpu: 1}\n")
    "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: classifier-gpu\nspec:\n"
    "  selector: {app: classifier-gpu}\n  ports:\n  - {name: http, port: 8501, "
    "targetPort: 8501}\n";

static const struct {
    const char *file, *text;
} manifests[] = {
    {"deployment.yaml", deployment_yaml}, {"service.yaml", service_yaml},
    {"pdb.yaml", pdb_yaml},               {"blue-green.yaml", blue_green_yaml},
    {"gpu-deployment.yaml", gpu_yaml},
};
/* clang-format on */

static void on_signal(int sig)
{
    (void)sig;
    demo_interrupted = 1;
}

char *demo_mpath(struct demo *d, const char *file)
{
    return xasprintf("%s/manifests/%s", d->data_dir, file);
}

/* Records a failed expectation of the current phase. */
void demo_expect(struct demo *d, int ok, const char *what)
{
    struct demo_phase *ph = &d->phases[d->cur];

    if (ok || demo_interrupted)
        return;
    ph->check_ok = 0;
    d->steps_failed++;
    if (strlen(d->failed_steps) + strlen(what) + 40 < sizeof d->failed_steps)
        snprintf(d->failed_steps + strlen(d->failed_steps),
                 sizeof d->failed_steps - strlen(d->failed_steps), "  - %s: %s\n", ph->name, what);
    demo_say(d, "%s  !! unexpected: %s%s", d->tty ? "\033[1;31m" : "", what,
             d->tty ? "\033[0m" : "");
}

void demo_phase_begin(struct demo *d, const char *name, const char *title, int zd, const char *why)
{
    struct demo_phase *ph;

    if (d->nphases > 0)
        d->phases[d->cur].t_end = demo_elapsed(d);
    d->cur = d->nphases++;
    ph = &d->phases[d->cur];
    ph->name = name;
    ph->title = title;
    ph->why = why;
    ph->zero_downtime = zd;
    ph->check_ok = 1;
    ph->t_start = demo_elapsed(d);
    load_set_phase(d->load, d->cur);
    demo_say(d, "%s", "");
    demo_say(d, "%s== %d. %s%s ==%s", d->tty ? "\033[1m" : "", d->cur + 1, title,
             zd ? " [zero-downtime phase]" : "", d->tty ? "\033[0m" : "");
    demo_say(d, "   %s", why);
}

static void phase_end_all(struct demo *d)
{
    if (!d->load)
        return;
    if (d->nphases > 0 && d->phases[d->cur].t_end == 0)
        d->phases[d->cur].t_end = demo_elapsed(d);
    for (int i = 0; i < d->nphases; i++)
        load_get_phase(d->load, i, &d->phases[i].c);
}

/* ---- reading state the demo needs (through its own API client) ---- */

static char *service_ip(struct demo *d, const char *name)
{
    char *path = xasprintf("/api/v1/namespaces/default/services/%s", name);
    json_t *svc = demo_api_get(&d->api, path);
    const char *ip = jx_str(svc, "spec.clusterIP");
    char *out = ip && strcmp(ip, "None") ? xstrdup(ip) : NULL;

    json_decref(svc);
    free(path);
    return out;
}

int demo_target_service(struct demo *d, const char *name)
{
    char *ip = service_ip(d, name);

    if (!ip) {
        demo_expect(d, 0, "Service has no clusterIP");
        return -1;
    }
    snprintf(d->target, sizeof d->target, "%s", ip);
    d->target_port = 8501;
    load_set_target(d->load, ip, 8501);
    demo_say(d,
             "   load generator -> Service %s at %s:8501 (GET /v1/models/classifier and "
             "POST :predict, keep-alive)",
             name, ip);
    free(ip);
    return 0;
}

uint64_t demo_version_count(struct demo *d, const char *ver)
{
    char names[DEMO_MAX_VERSIONS][32];
    struct load_counters t;
    int n = load_versions(d->load, names);

    load_get_total(d->load, &t);
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], ver))
            return t.by_version[i];
    return 0;
}

const struct rs_state *demo_rs_find(struct demo *d, const char *deploy, const char *image)
{
    for (int i = 0; i < d->last.nrs; i++)
        if (!strcmp(d->last.rs[i].deploy, deploy) && !strcmp(d->last.rs[i].image, image))
            return &d->last.rs[i];
    return NULL;
}

static int served_ok(struct demo *d)
{
    struct load_counters t;

    load_get_phase(d->load, d->cur, &t);
    return t.ok >= 20;
}

static char g_other[32] = "1.0.3"; /* the version the pause example rolls to */

static int paused_new_available(struct demo *d)
{
    const struct rs_state *r = demo_rs_find(d, "model-serving", g_other);

    return r && r->desired == 1 && r->available == 1;
}

static int gpu_pending(struct demo *d)
{
    return d->last.pods_pending > 0 && strstr(d->last.pending_reason, "nvidia.com/gpu");
}

static uint64_t g_mark; /* answers of a version before a blue/green switch */
static int green_answering(struct demo *d)
{
    return demo_version_count(d, "1.0.4") > g_mark + 10;
}
static int blue_answering(struct demo *d)
{
    return demo_version_count(d, "1.0.3") > g_mark + 10;
}

/* ---- the phases ---- */

static void phase_setup(struct demo *d)
{
    char *dep = demo_mpath(d, "deployment.yaml"), *svc = demo_mpath(d, "service.yaml");

    demo_phase_begin(d, "setup", "Setup: deploy the model server (tutorial Example 1's manifest)",
                     0,
                     "Deployment with 4 replicas, maxSurge 1, maxUnavailable 0, a readiness probe "
                     "and a preStop hook, plus a Service in front of it.");
    demo_expect(d, demo_kubectl(d, 30, NULL, "apply", "-f", dep, "-f", svc, NULL) == 0,
                "kubectl apply failed");
    demo_expect(
        d, demo_kubectl(d, 90, NULL, "rollout", "status", "deployment", "model-serving", NULL) == 0,
        "first rollout did not finish");
    demo_kubectl(d, 20, NULL, "get", "service", "model-serving", NULL);
    if (demo_target_service(d, "model-serving") == 0)
        demo_expect(d, demo_wait(d, 15, served_ok), "no request answered through the Service");
    free(dep);
    free(svc);
}

static void phase_rolling(struct demo *d)
{
    demo_phase_begin(d, "rolling-update", "Example 1: rolling update under load", 1,
                     "One new pod at a time (maxSurge 1); an old pod goes only after a new one is "
                     "ready for minReadySeconds (maxUnavailable 0).");
    demo_expect(d,
                demo_kubectl(d, 20, NULL, "set", "image", "deploy/model-serving",
                             "server=myrepo/tf-serving:1.0.4", NULL) == 0,
                "set image failed");
    demo_expect(
        d,
        demo_kubectl(d, 120, NULL, "rollout", "status", "deployment", "model-serving", NULL) == 0,
        "rollout to 1.0.4 did not finish");
    demo_wait(d, 2, NULL);
}

static void phase_pause(struct demo *d)
{
    char *out = NULL, img[64];
    const struct rs_state *cur = demo_rs_find(d, "model-serving", "1.0.3");

    /* Roll to the version not serving now (1.0.3 after Example 1). */
    snprintf(g_other, sizeof g_other, "%s", cur && cur->desired > 0 ? "1.0.4" : "1.0.3");
    snprintf(img, sizeof img, "server=myrepo/tf-serving:%s", g_other);

    demo_phase_begin(d, "pause-resume", "Example 2: pause, verify, resume", 1,
                     "The update is paused after its first new pod: both versions serve while "
                     "you check the new one, then the rollout resumes.");
    demo_expect(d,
                demo_kubectl(d, 20, NULL, "set", "image", "deploy/model-serving", img, NULL) == 0,
                "set image failed");
    demo_expect(
        d, demo_kubectl(d, 20, NULL, "rollout", "pause", "deployment", "model-serving", NULL) == 0,
        "rollout pause failed");
    demo_expect(d, demo_wait(d, 30, paused_new_available),
                "the paused rollout's new pod did not "
                "become available");
    demo_wait(d, 3, NULL);
    demo_kubectl(d, 20, NULL, "get", "pods", "-l", "app=model-serving", NULL);
    demo_kubectl(d, 20, &out, "rollout", "status", "deployment", "model-serving", "--watch=false",
                 NULL);
    demo_expect(d, out && strstr(out, "1 out of 4 new replicas have been updated"),
                "rollout status does not show the paused state");
    free(out);
    demo_kubectl(d, 20, NULL, "describe", "deployment", "model-serving", NULL);
    demo_expect(
        d, demo_kubectl(d, 20, NULL, "rollout", "resume", "deployment", "model-serving", NULL) == 0,
        "rollout resume failed");
    demo_expect(
        d,
        demo_kubectl(d, 120, NULL, "rollout", "status", "deployment", "model-serving", NULL) == 0,
        "resumed rollout did not finish");
}

static void phase_undo(struct demo *d)
{
    const struct rs_state *r;
    char rev[32] = "1", arg[48];

    demo_phase_begin(d, "rollback", "Example 3: roll back (undo, undo --to-revision)", 1,
                     "Each undo is a rolling update back to a kept ReplicaSet: same zero-downtime "
                     "rules.");
    demo_kubectl(d, 20, NULL, "rollout", "history", "deployment", "model-serving", NULL);
    demo_expect(
        d, demo_kubectl(d, 20, NULL, "rollout", "undo", "deployment", "model-serving", NULL) == 0,
        "rollout undo failed");
    demo_expect(
        d,
        demo_kubectl(d, 120, NULL, "rollout", "status", "deployment", "model-serving", NULL) == 0,
        "undo did not finish");
    demo_wait(d, 0.6, NULL);
    if ((r = demo_rs_find(d, "model-serving", "1.0.3")) && r->revision > 0)
        snprintf(rev, sizeof rev, "%d", r->revision);
    snprintf(arg, sizeof arg, "--to-revision=%s", rev);
    demo_say(d, "   (revision %s is the 1.0.3 template)", rev);
    demo_expect(
        d,
        demo_kubectl(d, 20, NULL, "rollout", "undo", "deployment", "model-serving", arg, NULL) == 0,
        "rollout undo --to-revision failed");
    demo_expect(
        d,
        demo_kubectl(d, 120, NULL, "rollout", "status", "deployment", "model-serving", NULL) == 0,
        "undo --to-revision did not finish");
    demo_kubectl(d, 20, NULL, "get", "rs", "-l", "app=model-serving", NULL);
}

static void phase_bad(struct demo *d)
{
    char *out = NULL;

    demo_phase_begin(d, "bad-release", "Exercise 2: a bad release stalls, then undo", 1,
                     "1.0.5 never becomes ready: the old pods keep serving (maxUnavailable 0), the "
                     "rollout stalls and is declared failed after progressDeadlineSeconds (10 s "
                     "here).");
    demo_expect(d,
                demo_kubectl(d, 20, NULL, "set", "image", "deploy/model-serving",
                             "server=myrepo/tf-serving:1.0.5", NULL) == 0,
                "set image failed");
    demo_expect(
        d, demo_kubectl(d, 60, &out, "rollout", "status", "deployment", "model-serving", NULL) == 1,
        "rollout status did not fail");
    demo_expect(d, out && strstr(out, "exceeded its progress deadline"),
                "no ProgressDeadlineExceeded");
    free(out);
    demo_kubectl(d, 20, NULL, "get", "deployment", "model-serving", "-o",
                 "jsonpath={range .status.conditions[*]}{.type}={.status} {.reason}: "
                 "{.message}{\"\\n\"}{end}",
                 NULL);
    demo_expect(
        d, demo_kubectl(d, 20, NULL, "rollout", "undo", "deployment", "model-serving", NULL) == 0,
        "rollout undo failed");
    demo_expect(
        d, demo_kubectl(d, 60, NULL, "rollout", "status", "deployment", "model-serving", NULL) == 0,
        "service not restored after undo");
}

static void phase_blue_green(struct demo *d)
{
    char *bg = demo_mpath(d, "blue-green.yaml");

    demo_phase_begin(d, "blue-green", "Project 3: blue/green switch by Service selector", 1,
                     "Two Deployments behind one Service; changing the Service's selector moves "
                     "all traffic at once, and back.");
    demo_expect(d, demo_kubectl(d, 20, NULL, "apply", "-f", bg, NULL) == 0, "apply failed");
    demo_expect(d,
                demo_kubectl(d, 60, NULL, "rollout", "status", "deployment", "classifier-blue",
                             NULL) == 0 &&
                    demo_kubectl(d, 60, NULL, "rollout", "status", "deployment", "classifier-green",
                                 NULL) == 0,
                "blue/green deployments not ready");
    if (demo_target_service(d, "classifier") == 0) {
        g_mark = demo_version_count(d, "1.0.3");
        demo_expect(d, demo_wait(d, 10, blue_answering), "blue (1.0.3) does not answer");
        demo_kubectl(d, 20, NULL, "get", "pods", "-l", "app=classifier", "-L", "color", NULL);
        g_mark = demo_version_count(d, "1.0.4");
        demo_expect(d,
                    demo_kubectl(d, 20, NULL, "patch", "service", "classifier", "-p",
                                 "{\"spec\":{\"selector\":{\"color\":\"green\"}}}", NULL) == 0,
                    "patch failed");
        demo_expect(d, demo_wait(d, 10, green_answering), "green (1.0.4) does not answer");
        demo_wait(d, 3, NULL);
        demo_say(d, "   rollback procedure: point the selector back at blue");
        g_mark = demo_version_count(d, "1.0.3");
        demo_expect(d,
                    demo_kubectl(d, 20, NULL, "patch", "service", "classifier", "-p",
                                 "{\"spec\":{\"selector\":{\"color\":\"blue\"}}}", NULL) == 0,
                    "patch failed");
        demo_expect(d, demo_wait(d, 10, blue_answering),
                    "blue does not answer after switching back");
        demo_wait(d, 2, NULL);
        demo_target_service(d, "model-serving");
        demo_wait(d, 1, NULL);
    }
    demo_kubectl(d, 60, NULL, "delete", "-f", bg, NULL);
    free(bg);
}

static void phase_drain(struct demo *d)
{
    char *pdb = demo_mpath(d, "pdb.yaml"), *out = NULL;

    demo_phase_begin(d, "drain-blocked", "Node drain held by a PodDisruptionBudget", 1,
                     "minAvailable 3 of 4: drain may evict one pod; every further eviction is "
                     "refused (HTTP 429) and kubectl drain retries until it gives up.");
    demo_expect(d, demo_kubectl(d, 20, NULL, "apply", "-f", pdb, NULL) == 0, "apply pdb failed");
    demo_wait(d, 1.5, NULL);
    demo_kubectl(d, 20, NULL, "get", "pdb", "model-serving-pdb", NULL);
    demo_expect(d,
                demo_kubectl(d, 40, &out, "drain", d->node, "--ignore-daemonsets", "--timeout=12s",
                             NULL) != 0,
                "drain was not refused");
    demo_expect(d, out && strstr(out, "violate the pod's disruption budget"),
                "no disruption-budget refusal seen");
    free(out);
    demo_kubectl(d, 20, NULL, "get", "pods", "-l", "app=model-serving", NULL);

    demo_phase_begin(d, "drain-allowed", "Relax the budget: the drain completes, then uncordon", 0,
                     "One node: a finished drain takes every pod away, so requests fail until "
                     "uncordon brings them back. This is the outage the budget prevented.");
    demo_expect(d,
                demo_kubectl(d, 20, NULL, "patch", "pdb", "model-serving-pdb", "--type=merge", "-p",
                             "{\"spec\":{\"minAvailable\":0}}", NULL) == 0,
                "patch pdb failed");
    demo_wait(d, 1, NULL);
    demo_expect(d,
                demo_kubectl(d, 60, NULL, "drain", d->node, "--ignore-daemonsets", "--timeout=60s",
                             NULL) == 0,
                "drain did not complete");
    demo_expect(d, demo_kubectl(d, 20, NULL, "uncordon", d->node, NULL) == 0, "uncordon failed");
    demo_expect(
        d, demo_kubectl(d, 90, NULL, "rollout", "status", "deployment", "model-serving", NULL) == 0,
        "pods did not come back");
    demo_kubectl(d, 20, NULL, "delete", "-f", pdb, NULL);
    free(pdb);
}

static void phase_gpu(struct demo *d)
{
    char *gpu = demo_mpath(d, "gpu-deployment.yaml"), *out = NULL;

    demo_phase_begin(d, "gpu-surge", "GPU rollout that cannot surge", 0,
                     "The node has " DEMO_GPUS " GPUs and both replicas hold one: the default "
                     "surge pod stays Pending (Insufficient nvidia.com/gpu). maxSurge 0 / "
                     "maxUnavailable 1 replaces in place instead (one replica serves meanwhile).");
    demo_expect(d, demo_kubectl(d, 20, NULL, "apply", "-f", gpu, NULL) == 0, "apply failed");
    demo_expect(
        d,
        demo_kubectl(d, 60, NULL, "rollout", "status", "deployment", "classifier-gpu", NULL) == 0,
        "GPU deployment not ready");
    demo_target_service(d, "classifier-gpu");
    demo_wait(d, 2, NULL);
    demo_expect(d,
                demo_kubectl(d, 20, NULL, "set", "image", "deploy/classifier-gpu",
                             "server=myrepo/tf-serving:1.0.4", NULL) == 0,
                "set image failed");
    demo_expect(d, demo_wait(d, 20, gpu_pending), "no Pending pod for lack of GPUs");
    demo_wait(d, 2, NULL);
    demo_kubectl(d, 20, NULL, "get", "pods", "-l", "app=classifier-gpu", NULL);
    demo_kubectl(d, 20, NULL, "get", "events", "--field-selector", "reason=FailedScheduling", NULL);
    demo_say(d,
             "   kroll also says it on the Deployment (condition SurgeBlocked, kroll's addition):");
    demo_kubectl(d, 20, &out, "get", "deployment", "classifier-gpu", "-o",
                 "jsonpath={.status.conditions[?(@.type==\"SurgeBlocked\")].message}", NULL);
    demo_expect(d, out && strstr(out, "Insufficient nvidia.com/gpu"),
                "no SurgeBlocked condition naming the GPU");
    free(out);
    demo_expect(d,
                demo_kubectl(d, 20, NULL, "patch", "deployment", "classifier-gpu", "-p",
                             "{\"spec\":{\"strategy\":{\"rollingUpdate\":{\"maxSurge\":0,"
                             "\"maxUnavailable\":1}}}}",
                             NULL) == 0,
                "patch failed");
    demo_expect(
        d,
        demo_kubectl(d, 90, NULL, "rollout", "status", "deployment", "classifier-gpu", NULL) == 0,
        "GPU rollout did not finish");
    demo_wait(d, 2, NULL);
    free(gpu);
}

/* ---- the command ---- */

static int write_manifests(struct demo *d)
{
    char *dir = xasprintf("%s/manifests", d->data_dir);
    int rc = 0;

    mkdir(dir, 0755);
    for (size_t i = 0; i < sizeof manifests / sizeof manifests[0]; i++) {
        char *p = demo_mpath(d, manifests[i].file);

        if (file_write_atomic(p, manifests[i].text, strlen(manifests[i].text), 0644) < 0)
            rc = -1;
        free(p);
    }
    if (rc == 0)
        demo_say(d,
                 "manifests: %s/ (the tutorial's, with demo timings: minReadySeconds 2, "
                 "1 s probes, preStop sleep 1)",
                 dir);
    free(dir);
    return rc;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: kroll demo [--data-dir DIR] [--images DIR] [--report FILE] [--kubectl PATH]\n"
            "                  [--rate N] [--plain] [--only PHASE,...] [--progressive]\n"
            "Runs the rolling-update tutorial for real against a server of its own.\n"
            "Phases: setup (always), rolling-update, pause-resume, rollback, bad-release,\n"
            "blue-green, config-rotation, autoscale, drain, gpu-surge. --only runs a subset, in "
            "this order; "
            "rollback\n"
            "needs an earlier update. --rate: requests per second (100).\n"
            "Progressive delivery (Argo Rollouts), not in the default run: canary, canary-abort\n"
            "(needs canary), bluegreen-analysis; --progressive runs setup and these three.\n");
    return 2;
}

static int only_valid(const char *only);
#define PROGRESSIVE_PHASES "canary,canary-abort,bluegreen-analysis"

static int parse_args(struct demo *d, int argc, char **argv, int *rate, char **only)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (!strcmp(a, "--data-dir") && v)
            d->data_dir = xstrdup(v), i++;
        else if (!strcmp(a, "--images") && v)
            d->images_dir = xstrdup(v), i++;
        else if (!strcmp(a, "--report") && v)
            d->report_path = xstrdup(v), i++;
        else if (!strcmp(a, "--kubectl") && v)
            d->kubectl = xstrdup(v), i++;
        else if (!strcmp(a, "--rate") && v && atoi(v) > 0 && atoi(v) <= 5000)
            *rate = atoi(v), i++;
        else if (!strcmp(a, "--only") && v && only_valid(v))
            *only = argv[++i];
        else if (!strcmp(a, "--progressive") && !*only)
            *only = (char *)PROGRESSIVE_PHASES;
        else if (!strcmp(a, "--plain"))
            d->tty = 0;
        else
            return -1;
    }
    return 0;
}

static int prepare(struct demo *d)
{
    char abs[PATH_MAX];

    if (!d->data_dir) {
        char tmpl[] = "/tmp/kroll-demo.XXXXXX";

        if (!mkdtemp(tmpl)) {
            fprintf(stderr, "kroll demo: mkdtemp: %s\n", strerror(errno));
            return -1;
        }
        d->data_dir = xstrdup(tmpl);
    } else if (d->data_dir[0] != '/' && realpath(".", abs)) {
        char *p = xasprintf("%s/%s", abs, d->data_dir);

        free(d->data_dir);
        d->data_dir = p;
    }
    if (mkdir(d->data_dir, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "kroll demo: mkdir %s: %s\n", d->data_dir, strerror(errno));
        return -1;
    }
    if (!d->images_dir && !(d->images_dir = demo_images_default()))
        return -1;
    if (!d->report_path)
        d->report_path = xasprintf("%s/demo-report.html", d->data_dir);
    if (!d->kubectl)
        d->kubectl = xstrdup("kubectl");
    return 0;
}

static int kubectl_present(struct demo *d)
{
    char *cmd = xasprintf("command -v '%s' >/dev/null 2>&1", d->kubectl);
    int ok = system(cmd) == 0;

    free(cmd);
    if (!ok)
        fprintf(stderr,
                "kroll demo: kubectl not found (%s). The demo drives the real kubectl; "
                "see README.md, \"Requirements\".\n",
                d->kubectl);
    return ok;
}

static const struct {
    const char *name;
    void (*run)(struct demo *d);
    int extra; /* not in the default run: only when --only or --progressive names it */
} phase_table[] = {
    {"setup", phase_setup, 0},
    {"rolling-update", phase_rolling, 0},
    {"pause-resume", phase_pause, 0},
    {"rollback", phase_undo, 0},
    {"bad-release", phase_bad, 0},
    {"blue-green", phase_blue_green, 0},
    {"config-rotation", demo_phase_config, 0},
    {"autoscale", demo_phase_autoscale, 0},
    {"drain", phase_drain, 0},
    {"gpu-surge", phase_gpu, 0},
    {"canary", demo_phase_canary, 1},
    {"canary-abort", demo_phase_canary_abort, 1},
    {"bluegreen-analysis", demo_phase_bluegreen_analysis, 1},
};

/* Is phase name selected by --only (comma-separated)? setup always runs; without --only every
 * phase but the extra ones. */
static int phase_selected(const char *only, const char *name, int extra)
{
    size_t n = strlen(name);

    if (!only)
        return !extra;
    if (!strcmp(name, "setup"))
        return 1;
    for (const char *p = only; (p = strstr(p, name)); p += n)
        if ((p == only || p[-1] == ',') && (p[n] == 0 || p[n] == ','))
            return 1;
    return 0;
}

static int only_valid(const char *only)
{
    char *copy = xstrdup(only), *save = NULL;
    int ok = 1;

    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int found = 0;

        for (size_t i = 0; i < sizeof phase_table / sizeof phase_table[0]; i++)
            found |= !strcmp(t, phase_table[i].name);
        if (!found) {
            fprintf(stderr, "kroll demo: unknown phase \"%s\"\n", t);
            ok = 0;
        }
    }
    free(copy);
    return ok;
}

static void run_phases(struct demo *d, const char *only)
{
    for (size_t i = 0; i < sizeof phase_table / sizeof phase_table[0] && !demo_interrupted; i++)
        if (phase_selected(only, phase_table[i].name, phase_table[i].extra))
            phase_table[i].run(d);
    phase_end_all(d);
}

static void demo_free(struct demo *d)
{
    free(d->data_dir);
    free(d->images_dir);
    free(d->report_path);
    free(d->kubectl);
    free(d->exe);
    free(d->samples);
    free(d->marks);
    free(d->secs);
}

static int cmd_demo_run(int argc, char **argv)
{
    struct demo d = {0};
    struct sigaction sa = {.sa_handler = on_signal};
    char exe[PATH_MAX];
    ssize_t n;
    int rate = 100, rc = 1, zd_ok = 0;
    char *only = NULL;

    d.tty = isatty(STDOUT_FILENO);
    if (parse_args(&d, argc, argv, &rate, &only) < 0)
        return usage();
    if ((n = readlink("/proc/self/exe", exe, sizeof exe - 1)) <= 0)
        die("readlink /proc/self/exe: %s", strerror(errno));
    exe[n] = 0;
    d.exe = xstrdup(exe);
    d.samples = calloc(DEMO_MAX_SAMPLES, sizeof *d.samples);
    d.marks = calloc(DEMO_MAX_MARKS, sizeof *d.marks);
    if (!d.samples || !d.marks || prepare(&d) < 0 || !kubectl_present(&d))
        goto out;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    d.t0 = demo_now();
    d.rate = rate;
    d.load = load_start(4, rate, d.t0);
    demo_say(&d, "kroll demo: data dir %s", d.data_dir);
    if (demo_images_import(&d) < 0 || write_manifests(&d) < 0)
        goto stop;
    demo_say(&d, "starting: kroll server --data-dir %s --node-resource nvidia.com/gpu=%s",
             d.data_dir, DEMO_GPUS);
    if (demo_server_start(&d, "nvidia.com/gpu=" DEMO_GPUS) < 0 || demo_node_name(&d) < 0)
        goto stop;
    demo_say(&d, "export KUBECONFIG=%s/kubeconfig   # every command below is the real kubectl",
             d.data_dir);
    run_phases(&d, only);
    load_set_target(d.load, NULL, 0);
stop:
    demo_view_clear(&d);
    if (d.server_pid > 0) {
        printf("stopping the demo's server, pods and proxy...\n");
        fflush(stdout);
        demo_server_stop(&d);
    }
    if (d.load) {
        d.secs = calloc(DEMO_MAX_SECONDS, sizeof *d.secs);
        d.nsecs = d.secs ? load_get_seconds(d.load, d.secs, DEMO_MAX_SECONDS) : 0;
        d.nversions = load_versions(d.load, d.versions);
        load_get_total(d.load, &d.total);
        phase_end_all(&d);
    }
    load_stop(d.load);
    d.load = NULL;
    if (d.nphases > 0) {
        zd_ok = demo_summary(&d);
        if (demo_report_write(&d) == 0)
            printf("report: %s (open it in a browser)\n", d.report_path);
        rc = demo_interrupted ? 130 : (zd_ok && !d.steps_failed ? 0 : 1);
    }
    if (demo_interrupted)
        printf("kroll demo: interrupted; everything it started is stopped\n");
out:
    demo_free(&d);
    return rc;
}

const struct cli_cmd cli_cmd_demo = {
    .name = "demo",
    .usage = "[--data-dir DIR] [--images DIR]   the tutorial, live, with traffic and a report",
    .run = cmd_demo_run,
};
