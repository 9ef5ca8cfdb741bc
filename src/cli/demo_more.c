/* `kroll demo`'s phases beyond the tutorial's examples: Project 2 (rotate a model server's
 * config under load, then undo it) and autoscaling (an HPA on the proxy's requests per second
 * scales the Deployment out while a rollout runs, and back in when the load falls). Each phase
 * writes its own manifests into the demo's manifests directory. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/common.h"
#include "cli/demo-int.h"
#include "core/file.h"
#include "core/jx.h"

/* clang-format off */
/* Project 2: the model server reads its config from a mounted ConfigMap; with kroll's
 * config-rollout annotation a change rolls out onto an immutable snapshot, so undo brings the
 * old config back with the old pods. examples/project2/ has the full versions. */
#define PROJECT2_CONFIG(VER, THRESHOLD)                                                        \
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: model-config\ndata:\n"              \
    "  config.yaml: |\n    version: " VER "\n    threshold: \"" THRESHOLD "\"\n"

static const char project2_yaml[] =
    PROJECT2_CONFIG("v1", "0.50")
    "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: model\n"
    "  annotations:\n    kroll.dev/config-rollout: \"true\"\nspec:\n  replicas: 3\n"
    "  revisionHistoryLimit: 3\n  minReadySeconds: 1\n  selector:\n    matchLabels: {app: model}\n"
    "  strategy:\n    type: RollingUpdate\n    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}\n"
    "  template:\n    metadata:\n      labels: {app: model}\n    spec:\n"
    "      terminationGracePeriodSeconds: 10\n      containers:\n      - name: server\n"
    "        image: myrepo/tf-serving:1.0.3\n"
    "        args: [\"--port=0\", \"--rest_api_port=8501\", \"--model_name=classifier\", "
    "\"--model_base_path=/models/classifier\", \"--model_config_file=/etc/model/config.yaml\", "
    "\"--model_config_file_poll_wait_seconds=1\"]\n"
    "        ports: [{containerPort: 8501}]\n"
    "        readinessProbe:\n          httpGet: {path: /v1/models/classifier, port: 8501}\n"
    "          periodSeconds: 1\n"
    "        volumeMounts:\n        - {name: config, mountPath: /etc/model, readOnly: true}\n"
    "      volumes:\n      - name: config\n        configMap: {name: model-config}\n"
    "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: model\nspec:\n"
    "  selector: {app: model}\n  ports:\n  - {name: http, port: 8501, targetPort: 8501}\n";

static const char project2_config_v2[] = "version: v2\nthreshold: \"0.60\"\n";


/* The HPA of the autoscale phase: requests per second per pod as the proxy measures them
 * (custom.metrics.k8s.io), a 15 s scale-down window instead of the default 5 minutes. */
static const char hpa_yaml[] =
    "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: model-serving\n"
    "spec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: model-serving}\n"
    "  minReplicas: 2\n  maxReplicas: " "6" "\n  metrics:\n  - type: Pods\n    pods:\n"
    "      metric: {name: http_requests_per_second}\n"
    "      target: {type: AverageValue, averageValue: \"30\"}\n"
    "  behavior:\n    scaleDown: {stabilizationWindowSeconds: 15}\n";
/* clang-format on */

static int write_manifest(const char *path, const char *text)
{
    return file_write_atomic(path, text, strlen(text), 0644);
}

/* Answers of config v1/v2 (the model server's X-Config-Version) before a switch. */
static uint64_t g_cfg_mark;
static int config_v2_answering(struct demo *d)
{
    return demo_version_count(d, "1.0.3 cfg v2") > g_cfg_mark + 10;
}
static int config_v1_answering(struct demo *d)
{
    return demo_version_count(d, "1.0.3 cfg v1") > g_cfg_mark + 10;
}

/* After a rollout finished: for secs seconds, no answer from config `old` any more. */
static int config_gone(struct demo *d, const char *old, double secs)
{
    uint64_t before = demo_version_count(d, old);

    demo_wait(d, secs, NULL);
    return demo_version_count(d, old) == before;
}

void demo_phase_config(struct demo *d)
{
    char *p2 = demo_mpath(d, "project2.yaml"), *v2 = demo_mpath(d, "config-v2.yaml"), *out = NULL;
    char *cm = demo_mpath(d, "model-config-v2.yaml"), from[PATH_MAX + 32];

    if (write_manifest(p2, project2_yaml) < 0 || write_manifest(v2, project2_config_v2) < 0)
        demo_expect(d, 0, "cannot write the Project 2 manifests");

    demo_phase_begin(d, "config-rotation", "Project 2: rotate the model's config, then undo", 1,
                     "The server reads /etc/model/config.yaml from a ConfigMap. With kroll's "
                     "config-rollout annotation the new config rolls out like new code, onto an "
                     "immutable snapshot, so undo restores the old pods with their old config.");
    demo_expect(d, demo_kubectl(d, 30, NULL, "apply", "-f", p2, NULL) == 0, "apply failed");
    demo_expect(d, demo_kubectl(d, 90, NULL, "rollout", "status", "deployment", "model", NULL) == 0,
                "model did not become ready");
    if (demo_target_service(d, "model") < 0)
        goto out;
    g_cfg_mark = demo_version_count(d, "1.0.3 cfg v1");
    demo_expect(d, demo_wait(d, 15, config_v1_answering), "config v1 does not answer");

    demo_say(d,
             "   rotate: kubectl create configmap --dry-run=client -o yaml | kubectl apply -f -");
    snprintf(from, sizeof from, "--from-file=config.yaml=%s", v2);
    if (demo_kubectl(d, 20, &out, "create", "configmap", "model-config", from, "--dry-run=client",
                     "-o", "yaml", NULL) == 0 &&
        out && file_write_atomic(cm, out, strlen(out), 0644) == 0)
        demo_expect(d, demo_kubectl(d, 20, NULL, "apply", "-f", cm, NULL) == 0, "apply failed");
    else
        demo_expect(d, 0, "kubectl create configmap --dry-run failed");
    free(out);
    out = NULL;
    g_cfg_mark = demo_version_count(d, "1.0.3 cfg v2");
    demo_expect(d, demo_kubectl(d, 90, NULL, "rollout", "status", "deployment", "model", NULL) == 0,
                "the config rollout did not finish");
    demo_expect(d, demo_wait(d, 15, config_v2_answering), "config v2 does not answer");
    demo_expect(d, config_gone(d, "1.0.3 cfg v1", 3), "config v1 still answers after the rollout");
    demo_kubectl(d, 20, NULL, "get", "configmaps", "-l", "kroll.dev/config-snapshot=true", NULL);
    demo_kubectl(d, 20, NULL, "rollout", "history", "deployment", "model", NULL);

    demo_say(d, "   undo: the previous pods come back with the config they ran with (v1)");
    g_cfg_mark = demo_version_count(d, "1.0.3 cfg v1");
    demo_expect(d, demo_kubectl(d, 20, NULL, "rollout", "undo", "deployment", "model", NULL) == 0,
                "rollout undo failed");
    demo_expect(d, demo_kubectl(d, 90, NULL, "rollout", "status", "deployment", "model", NULL) == 0,
                "undo did not finish");
    demo_expect(d, demo_wait(d, 15, config_v1_answering), "config v1 does not answer after undo");
    demo_expect(d, config_gone(d, "1.0.3 cfg v2", 3), "config v2 still answers after undo");
    demo_kubectl(d, 20, NULL, "get", "configmap", "model-config", "-o",
                 "jsonpath={.data.config\\.yaml}", NULL);
    demo_target_service(d, "model-serving");
    demo_wait(d, 1, NULL);
out:
    demo_kubectl(d, 60, NULL, "delete", "-f", p2, "--wait=false", NULL);
    free(p2);
    free(v2);
    free(cm);
}

/* ---- autoscaling ---- */

static long long deploy_replicas(struct demo *d)
{
    json_t *dep =
        demo_api_get(&d->api, "/apis/apps/v1/namespaces/default/deployments/model-serving");
    long long n = jx_int(dep, "spec.replicas", -1);

    json_decref(dep);
    return n;
}

static int hpa_has_metric(struct demo *d)
{
    json_t *h = demo_api_get(
        &d->api, "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/model-serving");
    int ok = json_array_size(jx_get(h, "status.currentMetrics")) > 0;

    json_decref(h);
    return ok;
}

static int scaled_out(struct demo *d)
{
    return deploy_replicas(d) > 4;
}

static int scaled_back(struct demo *d)
{
    long long n = deploy_replicas(d);

    return n > 0 && n <= 4;
}

void demo_phase_autoscale(struct demo *d)
{
    char *hpa = demo_mpath(d, "hpa.yaml"), img[64], rate[16];
    const struct rs_state *cur = demo_rs_find(d, "model-serving", "1.0.3");
    int high = d->rate * 3;

    snprintf(img, sizeof img, "server=myrepo/tf-serving:%s",
             cur && cur->desired > 0 ? "1.0.4" : "1.0.3");
    snprintf(rate, sizeof rate, "%d", high);
    demo_phase_begin(d, "autoscale", "Autoscaling: load triples mid-rollout, then falls", 1,
                     "An HPA keeps 30 requests/s per pod (the proxy's figures, served as "
                     "custom.metrics.k8s.io). The load triples and a rollout starts: the HPA "
                     "scales out while the update runs; the load falls and it scales back "
                     "after its 15 s window.");
    if (write_manifest(hpa, hpa_yaml) < 0)
        demo_expect(d, 0, "cannot write hpa.yaml");
    demo_expect(d, demo_kubectl(d, 20, NULL, "apply", "-f", hpa, NULL) == 0, "apply hpa failed");
    demo_expect(d, demo_wait(d, 40, hpa_has_metric), "the HPA never read its metric");
    demo_kubectl(d, 20, NULL, "get", "hpa", "model-serving", NULL);
    demo_say(d, "   load generator: %d -> %s requests/s; the rollout starts 5 s later", d->rate,
             rate);
    load_set_rate(d->load, high);
    demo_wait(d, 5, NULL);
    demo_expect(d,
                demo_kubectl(d, 20, NULL, "set", "image", "deploy/model-serving", img, NULL) == 0,
                "set image failed");
    demo_expect(d, demo_wait(d, 60, scaled_out), "the HPA did not scale out");
    demo_expect(
        d,
        demo_kubectl(d, 120, NULL, "rollout", "status", "deployment", "model-serving", NULL) == 0,
        "the rollout did not finish while scaled out");
    demo_kubectl(d, 20, NULL, "get", "hpa", "model-serving", NULL);
    demo_kubectl(d, 20, NULL, "get", "deployment", "model-serving", NULL);
    demo_say(d, "   load generator: %s -> %d requests/s", rate, d->rate);
    load_set_rate(d->load, d->rate);
    demo_expect(d, demo_wait(d, 90, scaled_back), "the HPA did not scale back in");
    demo_kubectl(d, 20, NULL, "get", "events", "--field-selector", "reason=SuccessfulRescale",
                 NULL);
    demo_kubectl(d, 20, NULL, "delete", "-f", hpa, NULL);
    /* The drain phase counts on 4 replicas (minAvailable 3 of 4). */
    demo_kubectl(d, 20, NULL, "scale", "deployment", "model-serving", "--replicas=4", NULL);
    demo_expect(
        d, demo_kubectl(d, 90, NULL, "rollout", "status", "deployment", "model-serving", NULL) == 0,
        "model-serving did not settle at 4 replicas");
    free(hpa);
}
