/* `kroll demo`'s progressive-delivery phases (issue 13), not in the default run: `kroll demo
 * --progressive` or `--only canary,canary-abort,bluegreen-analysis`. A canary Rollout 20% ->
 * 50% -> 100% gated by the built-in request-success-rate analysis under the demo's load; a bad
 * release (half of its predictions answer 500) that the analysis aborts; a blue/green Rollout
 * with a preview Service, a pre-promotion analysis (a web metric on the preview's model status)
 * and automatic promotion. Each phase writes its manifests into the demo's manifests directory. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/common.h"
#include "cli/demo-int.h"
#include "core/file.h"
#include "core/jx.h"
#include "core/log.h"

/* clang-format off */
#define MS_ARGS "        args: [\"--port=0\", \"--rest_api_port=8501\", " \
    "\"--model_name=classifier\", \"--model_base_path=/models/classifier\"]\n"
#define MS_PROBE "        readinessProbe:\n          httpGet: {path: /v1/models/classifier, " \
    "port: 8501}\n          periodSeconds: 1\n"
#define SR_ANALYSIS(SVC) "      - analysis:\n          templates: [{templateName: " \
    "request-success-rate, clusterScope: true}]\n          args:\n" \
    "          - {name: service-name, value: " SVC "}\n" \
    "          - {name: namespace, value: default}\n          - {name: window, value: 30s}\n" \
    "          - name: canary-hash\n            valueFrom: {podTemplateHashValue: Latest}\n"

/* The canary: 5 replicas, so 20% is one pod and 50% three (Argo's basic-canary arithmetic; the
 * proxy spreads requests evenly over ready pods). */
static const char canary_yaml[] =
    "apiVersion: v1\nkind: Service\nmetadata:\n  name: canary-web\nspec:\n"
    "  selector: {app: canary-web}\n  ports:\n  - {name: http, port: 8501, targetPort: 8501}\n"
    "---\napiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata:\n  name: canary-web\nspec:\n"
    "  replicas: 5\n  selector:\n    matchLabels: {app: canary-web}\n  template:\n"
    "    metadata:\n      labels: {app: canary-web}\n    spec:\n"
    "      terminationGracePeriodSeconds: 5\n      containers:\n      - name: server\n"
    "        image: myrepo/tf-serving:1.0.3\n" MS_ARGS MS_PROBE
    "  strategy:\n    canary:\n      steps:\n      - setWeight: 20\n      - pause: {duration: 10s}\n"
    SR_ANALYSIS("canary-web") "      - setWeight: 50\n      - pause: {duration: 10s}\n"
    SR_ANALYSIS("canary-web") "      - setWeight: 100\n";

/* Blue/green: active and preview Services; the pre-promotion analysis asks the preview Service
 * (its clusterIP, filled in at run time) for the model's status. */
static const char bg_fmt[] =
    "apiVersion: v1\nkind: Service\nmetadata:\n  name: bg-active\nspec:\n"
    "  selector: {app: bg-web}\n  ports:\n  - {name: http, port: 8501, targetPort: 8501}\n"
    "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: bg-preview\nspec:\n"
    "  selector: {app: bg-web}\n  ports:\n  - {name: http, port: 8501, targetPort: 8501}\n"
    "---\napiVersion: argoproj.io/v1alpha1\nkind: AnalysisTemplate\nmetadata:\n"
    "  name: model-status\nspec:\n  args: [{name: url}]\n  metrics:\n  - name: model-status\n"
    "    count: 3\n    interval: 2s\n    successCondition: result == \"AVAILABLE\"\n"
    "    provider:\n      web:\n        url: \"{{args.url}}\"\n"
    "        jsonPath: \"{$.model_version_status[0].state}\"\n"
    "---\napiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata:\n  name: bg-web\nspec:\n"
    "  replicas: 3\n  selector:\n    matchLabels: {app: bg-web}\n  template:\n"
    "    metadata:\n      labels: {app: bg-web}\n    spec:\n"
    "      terminationGracePeriodSeconds: 5\n      containers:\n      - name: server\n"
    "        image: myrepo/tf-serving:%s\n" MS_ARGS MS_PROBE
    "  strategy:\n    blueGreen:\n      activeService: bg-active\n      previewService: bg-preview\n"
    "      scaleDownDelaySeconds: 10\n      prePromotionAnalysis:\n"
    "        templates: [{templateName: model-status}]\n        args:\n"
    "        - {name: url, value: \"http://%s:8501/v1/models/classifier\"}\n";
/* clang-format on */

#define RO_PATH "/apis/argoproj.io/v1alpha1/namespaces/default/rollouts/"

static char g_ro[32];     /* the Rollout the conditions below look at */
static uint64_t g_mark;   /* answers of a version at a phase's start */
static char g_stable[64]; /* status.stableRS before a change */

/* status.phase of g_ro, and whether it has finished its update (stableRS == currentPodHash). */
static int ro_state(struct demo *d, char *phase, size_t n, char *stable, size_t sn)
{
    char *path = xasprintf(RO_PATH "%s", g_ro);
    json_t *ro = demo_api_get(&d->api, path);
    const char *p = jx_str(ro, "status.phase"), *s = jx_str(ro, "status.stableRS"),
               *h = jx_str(ro, "status.currentPodHash");
    int done = s && h && !strcmp(s, h);

    snprintf(phase, n, "%s", p ? p : "");
    if (stable)
        snprintf(stable, sn, "%s", s ? s : "");
    json_decref(ro);
    free(path);
    return done;
}

static int ro_healthy_done(struct demo *d)
{
    char ph[32];
    int done = ro_state(d, ph, sizeof ph, NULL, 0);

    return done && !strcmp(ph, "Healthy");
}

static int ro_degraded(struct demo *d)
{
    char ph[32];

    ro_state(d, ph, sizeof ph, NULL, 0);
    return !strcmp(ph, "Degraded");
}

static int new_answering(struct demo *d)
{
    return demo_version_count(d, "1.0.4") > g_mark + 10;
}

static int write_text(struct demo *d, const char *file, const char *text)
{
    char *p = demo_mpath(d, file);
    int rc = file_write_atomic(p, text, strlen(text), 0644);

    free(p);
    return rc;
}

void demo_phase_canary(struct demo *d)
{
    char *m = demo_mpath(d, "canary-rollout.yaml");

    demo_phase_begin(d, "canary", "Canary Rollout 20% -> 50% -> 100%, gated by analysis", 1,
                     "An Argo Rollout: one pod of five gets the new release, the built-in "
                     "request-success-rate analysis checks its own requests, then three of five, "
                     "analysis again, then all.");
    snprintf(g_ro, sizeof g_ro, "canary-web");
    demo_expect(d,
                write_text(d, "canary-rollout.yaml", canary_yaml) == 0 &&
                    demo_kubectl(d, 30, NULL, "apply", "-f", m, NULL) == 0,
                "apply failed");
    demo_expect(d, demo_wait(d, 90, ro_healthy_done), "the first revision is not Healthy");
    if (demo_target_service(d, "canary-web") == 0) {
        demo_wait(d, 3, NULL);
        g_mark = demo_version_count(d, "1.0.4");
        demo_expect(d,
                    demo_kubectl(d, 20, NULL, "patch", "rollout", "canary-web", "--type", "json",
                                 "-p",
                                 "[{\"op\":\"replace\",\"path\":\"/spec/template/spec/"
                                 "containers/0/image\",\"value\":\"myrepo/tf-serving:1.0.4\"}]",
                                 NULL) == 0,
                    "patch failed");
        demo_expect(d, demo_wait(d, 20, new_answering), "the canary (1.0.4) does not answer");
        demo_kubectl(d, 20, NULL, "get", "rollout", "canary-web", NULL);
        demo_expect(d, demo_wait(d, 150, ro_healthy_done),
                    "the canary did not complete (analysis or steps)");
        demo_kubectl(d, 20, NULL, "get", "analysisrun", NULL);
    }
    free(m);
}

void demo_phase_canary_abort(struct demo *d)
{
    char ph[32], stable[64];
    struct load_counters c;

    demo_phase_begin(d, "canary-abort", "A bad canary: the analysis fails, the Rollout aborts", 0,
                     "Half of the new release's predictions answer 500. request-success-rate "
                     "fails and the Rollout aborts: traffic back to the stable pods at once. Not "
                     "zero-downtime: the canary's share of requests fails until then.");
    snprintf(g_ro, sizeof g_ro, "canary-web");
    ro_state(d, ph, sizeof ph, g_stable, sizeof g_stable);
    if (demo_target_service(d, "canary-web") < 0) {
        demo_expect(d, 0, "no canary-web Service (the canary phase runs first)");
        return;
    }
    demo_expect(d,
                demo_kubectl(d, 20, NULL, "patch", "rollout", "canary-web", "--type", "json", "-p",
                             "[{\"op\":\"add\",\"path\":\"/spec/template/spec/containers/0/env\","
                             "\"value\":[{\"name\":\"ERROR_PERCENT\",\"value\":\"50\"}]}]",
                             NULL) == 0,
                "patch failed");
    demo_expect(d, demo_wait(d, 150, ro_degraded), "the bad canary was not aborted");
    demo_kubectl(d, 20, NULL, "get", "rollout", "canary-web", "-o",
                 "jsonpath={.status.phase}: {.status.message}{\"\\n\"}", NULL);
    ro_state(d, ph, sizeof ph, stable, sizeof stable);
    demo_expect(d, g_stable[0] && !strcmp(stable, g_stable), "the stable revision changed");
    demo_wait(d, 3, NULL);
    load_get_phase(d->load, d->cur, &c);
    snprintf(d->phases[d->cur].note, sizeof d->phases[d->cur].note,
             "the bad canary cost %llu failed of %llu requests (its share, until the abort)",
             (unsigned long long)c.failed, (unsigned long long)c.requests);
    demo_say(d, "   %s", d->phases[d->cur].note);
    demo_target_service(d, "model-serving");
    demo_kubectl(d, 60, NULL, "delete", "rollout", "canary-web", NULL);
    demo_kubectl(d, 20, NULL, "delete", "service", "canary-web", NULL);
}

static int bg_apply(struct demo *d, const char *ver, const char *ip)
{
    char *text = xasprintf(bg_fmt, ver, ip), *m = demo_mpath(d, "bluegreen-rollout.yaml");
    int rc = write_text(d, "bluegreen-rollout.yaml", text) == 0 &&
                     demo_kubectl(d, 30, NULL, "apply", "-f", m, NULL) == 0
                 ? 0
                 : -1;

    free(text);
    free(m);
    return rc;
}

void demo_phase_bluegreen_analysis(struct demo *d)
{
    json_t *svc;
    char ip[64] = "";

    demo_phase_begin(d, "bluegreen-analysis",
                     "Blue/green Rollout: preview, pre-promotion analysis, promotion", 1,
                     "The new release starts behind a preview Service; an analysis asks it for "
                     "the model's status; only then does the active Service switch to it.");
    snprintf(g_ro, sizeof g_ro, "bg-web");
    /* The preview Service first, for its clusterIP (the analysis' URL). */
    if (bg_apply(d, "1.0.3", "127.0.0.1") == 0) {
        svc = demo_api_get(&d->api, "/api/v1/namespaces/default/services/bg-preview");
        snprintf(ip, sizeof ip, "%s",
                 jx_str(svc, "spec.clusterIP") ? jx_str(svc, "spec.clusterIP") : "");
        json_decref(svc);
    }
    demo_expect(d, ip[0] && bg_apply(d, "1.0.3", ip) == 0, "apply failed");
    demo_expect(d, demo_wait(d, 90, ro_healthy_done), "the first revision is not Healthy");
    if (demo_target_service(d, "bg-active") < 0) {
        demo_expect(d, 0, "no bg-active Service");
        return;
    }
    demo_wait(d, 3, NULL);
    g_mark = demo_version_count(d, "1.0.4");
    demo_expect(d, bg_apply(d, "1.0.4", ip) == 0, "apply of 1.0.4 failed");
    demo_expect(d, demo_wait(d, 150, ro_healthy_done), "not promoted");
    demo_expect(d, demo_wait(d, 15, new_answering), "the active Service does not answer 1.0.4");
    demo_kubectl(d, 20, NULL, "get", "analysisrun", NULL);
    demo_wait(d, 2, NULL);
    demo_target_service(d, "model-serving");
    demo_kubectl(d, 60, NULL, "delete", "rollout", "bg-web", NULL);
}
