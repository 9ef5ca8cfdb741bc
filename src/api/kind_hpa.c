/* The HorizontalPodAutoscaler kind's kind_ops entry (autoscaling/v2, the stored version): its
 * write strategy (status through /status only), the table printer of
 * pkg/printers/internalversion (servers >= 1.30: TARGETS as "cpu: 45%/50%") and its
 * strategic-merge keys. Its schema, defaults and validation are resources/hpa.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/kind.h"
#include "api/patch.h"
#include "api/protobuf.h"
#include "api/table-int.h"
#include "core/jx.h"

#define HPA_TARGETS_SHOWN 2

/* One spec metric and its status entry (may be NULL) as formatHPAMetrics prints it. */
static void hpa_target_fmt(const json_t *spec, const json_t *st, char *out, size_t n)
{
    const char *type = jx_str(spec, "type") ?: "";
    const char *cur = "<unknown>";
    char curbuf[64], tgt[64];

    if (strcmp(type, "Resource") == 0 || strcmp(type, "ContainerResource") == 0) {
        const char *key = type[0] == 'R' ? "resource" : "containerResource";
        const json_t *src = json_object_get(spec, key), *sst = json_object_get(st, key);
        const char *av = jx_str(src, "target.averageValue");

        if (av) {
            cur = jx_str(sst, "current.averageValue") ?: cur;
            snprintf(out, n, "%s: %s/%s", jx_str(src, "name") ?: "", cur, av);
            return;
        }
        if (json_is_integer(jx_get(sst, "current.averageUtilization"))) {
            snprintf(curbuf, sizeof curbuf, "%lld%%",
                     (long long)jx_int(sst, "current.averageUtilization", 0));
            cur = curbuf;
        }
        if (json_is_integer(jx_get(src, "target.averageUtilization")))
            snprintf(tgt, sizeof tgt, "%lld%%",
                     (long long)jx_int(src, "target.averageUtilization", 0));
        else
            snprintf(tgt, sizeof tgt, "<auto>");
        snprintf(out, n, "%s: %s/%s", jx_str(src, "name") ?: "", cur, tgt);
    } else if (strcmp(type, "Pods") == 0) {
        snprintf(out, n, "%s/%s", jx_str(st, "pods.current.averageValue") ?: cur,
                 jx_str(spec, "pods.target.averageValue") ?: "");
    } else if (strcmp(type, "Object") == 0 || strcmp(type, "External") == 0) {
        const char *key = type[0] == 'O' ? "object" : "external";
        const json_t *src = json_object_get(spec, key), *sst = json_object_get(st, key);
        const char *av = jx_str(src, "target.averageValue");

        if (av)
            snprintf(out, n, "%s/%s (avg)", jx_str(sst, "current.averageValue") ?: cur, av);
        else
            snprintf(out, n, "%s/%s", jx_str(sst, "current.value") ?: cur,
                     jx_str(src, "target.value") ?: "");
    } else {
        snprintf(out, n, "<unknown type>");
    }
}

static void cell_targets(json_t *row, const json_t *o)
{
    const json_t *specs = jx_get(o, "spec.metrics"), *sts = jx_get(o, "status.currentMetrics");
    size_t count = json_array_size(specs), off = 0;
    char buf[512], one[200];

    if (count == 0) {
        table__cell_str(row, "<none>");
        return;
    }
    buf[0] = 0;
    for (size_t i = 0; i < count && i < HPA_TARGETS_SHOWN; i++) {
        hpa_target_fmt(json_array_get(specs, i), json_array_get(sts, i), one, sizeof one);
        off += (size_t)snprintf(buf + off, sizeof buf - off, "%s%s", i ? ", " : "", one);
        if (off >= sizeof buf)
            off = sizeof buf - 1;
    }
    if (count > HPA_TARGETS_SHOWN)
        snprintf(buf + off, sizeof buf - off, " + %zu more...", count - HPA_TARGETS_SHOWN);
    table__cell_str(row, buf);
}

static void cells_hpa(const json_t *o, time_t now, json_t *row)
{
    char ref[300], minp[32];
    const json_t *minr = jx_get(o, "spec.minReplicas");

    table__cell_str(row, jx_str(o, "metadata.name"));
    snprintf(ref, sizeof ref, "%s/%s", jx_str(o, "spec.scaleTargetRef.kind") ?: "",
             jx_str(o, "spec.scaleTargetRef.name") ?: "");
    table__cell_str(row, ref);
    cell_targets(row, o);
    if (json_is_integer(minr))
        snprintf(minp, sizeof minp, "%lld", (long long)json_integer_value(minr));
    else
        snprintf(minp, sizeof minp, "<unset>");
    table__cell_str(row, minp);
    table__cell_int(row, jx_int(o, "spec.maxReplicas", 0));
    table__cell_int(row, jx_int(o, "status.currentReplicas", 0));
    table__cell_age(row, o, "metadata.creationTimestamp", now);
}

static const struct table_col hpa_cols[] = {TABLE_COL_NAME,
                                            {"Reference", "string", 0},
                                            {"Targets", "string", 0},
                                            {"MinPods", "string", 0},
                                            {"MaxPods", "integer", 0},
                                            {"Replicas", "integer", 0},
                                            TABLE_COL_AGE,
                                            TABLE_COL_END};

const struct kind_ops kind_HPA = {
    .res = &res_kind_hpa,
    .prepare_create = kind_create_drop_status,
    .cols = hpa_cols,
    .cells = cells_hpa,
    .merge = &kind_conditions_merge,
    .pb = &pb_msg_HorizontalPodAutoscaler,
    .alt_version = "v1",
    .alt_out = res_hpa_to_v1,
    .alt_in = res_hpa_from_v1,
};
