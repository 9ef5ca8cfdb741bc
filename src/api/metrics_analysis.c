/* AnalysisRun series on the server's /metrics: kroll_analysis_runs_total{namespace,outcome},
 * counted when a run reaches a final phase (Successful, Failed, Error, Inconclusive) since the
 * server started, and Argo Rollouts' own gauges computed from the store at scrape time:
 * analysis_run_info{name,namespace,phase} 1, analysis_run_phase and
 * analysis_run_metric_phase{name,namespace,metric,type,phase} (1 for the current phase, 0
 * for the others) and analysis_run_metric_type{name,namespace,metric,type} 1, so dashboards
 * written for Argo's controller read kroll's. */
#include "api/api-int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/jx.h"

static const char *const phases[] = {"Pending", "Running", "Successful",
                                     "Failed",  "Error",   "Inconclusive"};
#define NPHASES 6

static int final(const char *phase)
{
    return phase && (!strcmp(phase, "Successful") || !strcmp(phase, "Failed") ||
                     !strcmp(phase, "Error") || !strcmp(phase, "Inconclusive"));
}

static int plain(const char *s)
{
    return s && strlen(s) < 254 && !strpbrk(s, "\"\\\n");
}

void api__metrics_analysis_event(json_t *outcomes, const json_t *run, const json_t *old)
{
    const char *phase = jx_str(run, "status.phase"), *ns = jx_str(run, "metadata.namespace");
    char key[600];
    json_t *v;

    if (!final(phase) || (old && final(jx_str(old, "status.phase"))) || !plain(ns))
        return;
    snprintf(key, sizeof key, "%s\t%s", ns, phase);
    v = json_object_get(outcomes, key);
    if (v)
        json_integer_set(v, json_integer_value(v) + 1);
    else if (json_object_size(outcomes) < 10000)
        json_object_set_new(outcomes, key, json_integer(1));
}

/* Argo's type label: the provider's key with its first letter upper-cased ("Prometheus"). */
static void provider_type(const json_t *metric, char *out, size_t n)
{
    const char *k =
        json_object_iter_key(json_object_iter(json_object_get((json_t *)metric, "provider")));

    snprintf(out, n, "%s", k && plain(k) ? k : "");
    out[0] = (char)toupper((unsigned char)out[0]);
}

static const char *metric_phase(const json_t *run, const char *metric)
{
    const json_t *r;
    size_t i;

    json_array_foreach(jx_get(run, "status.metricResults"), i, r)
    {
        if (!strcmp(jx_str(r, "name") ?: "", metric))
            return jx_str(r, "phase") ?: "Pending";
    }
    return "Pending";
}

static void render_run(struct buf *b, const json_t *run, const char *ns, const char *name)
{
    const char *phase = jx_str(run, "status.phase") ?: "Pending";
    const json_t *m;
    size_t i;

    if (!plain(phase))
        return;
    buf_appendf(b, "analysis_run_info{name=\"%s\",namespace=\"%s\",phase=\"%s\"} 1\n", name, ns,
                phase);
    for (int p = 0; p < NPHASES; p++)
        buf_appendf(b, "analysis_run_phase{name=\"%s\",namespace=\"%s\",phase=\"%s\"} %d\n", name,
                    ns, phases[p], !strcmp(phase, phases[p]));
    json_array_foreach(jx_get(run, "spec.metrics"), i, m)
    {
        const char *metric = jx_str(m, "name"), *mp;
        char type[64];

        if (!plain(metric))
            continue;
        provider_type(m, type, sizeof type);
        mp = metric_phase(run, metric);
        buf_appendf(b,
                    "analysis_run_metric_type{name=\"%s\",namespace=\"%s\",metric=\"%s\","
                    "type=\"%s\"} 1\n",
                    name, ns, metric, type);
        for (int p = 0; p < NPHASES; p++)
            buf_appendf(b,
                        "analysis_run_metric_phase{name=\"%s\",namespace=\"%s\",metric=\"%s\","
                        "type=\"%s\",phase=\"%s\"} %d\n",
                        name, ns, metric, type, phases[p], !strcmp(mp, phases[p]));
    }
}

void api__metrics_analysis(struct api *api, const json_t *outcomes, struct buf *b)
{
    json_t *runs = store_map(api->store, scheme_resources[RES_ANALYSISRUN].key), *o;
    const char *k;

    api__metrics_help(b, "kroll_analysis_runs_total", "counter",
                      "AnalysisRuns that reached a final phase since the server started, by "
                      "namespace and outcome (Successful, Failed, Error, Inconclusive).");
    json_object_foreach((json_t *)outcomes, k, o)
    {
        const char *tab = strchr(k, '\t');

        if (tab)
            buf_appendf(b, "kroll_analysis_runs_total{namespace=\"%.*s\",outcome=\"%s\"} %lld\n",
                        (int)(tab - k), k, tab + 1, (long long)json_integer_value(o));
    }
    api__metrics_help(b, "analysis_run_info", "gauge", "Information about an AnalysisRun.");
    api__metrics_help(b, "analysis_run_phase", "gauge", "An AnalysisRun's phase.");
    api__metrics_help(b, "analysis_run_metric_type", "gauge", "The provider of each metric.");
    api__metrics_help(b, "analysis_run_metric_phase", "gauge", "Each metric's phase.");
    json_object_foreach(runs, k, o)
    {
        const char *ns = jx_str(o, "metadata.namespace"), *name = jx_str(o, "metadata.name");

        if (plain(ns) && plain(name))
            render_run(b, o, ns, name);
    }
}
