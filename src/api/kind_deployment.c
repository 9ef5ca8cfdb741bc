/* The Deployment kind's kind_ops entry: its write strategy, table printer
 * (pkg/printers/internalversion, 1.32), strategic-merge keys and protobuf message; its schema,
 * defaults and validation are resources/' res_kind descriptor. Objects are untrusted JSON: every
 * getter tolerates absent or mistyped fields. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/kind.h"
#include "api/patch.h"
#include "api/protobuf.h"
#include "core/selector.h"
#include "api/table-int.h"
#include "core/jx.h"
#include "core/log.h"

/* ---- table (pkg/printers/internalversion) ---- */

static void cells_deployment(const json_t *o, time_t now, json_t *row)
{
    char buf[64], *sel = labelsel_string(jx_get(o, "spec.selector"));

    table__cell_str(row, jx_str(o, "metadata.name"));
    snprintf(buf, sizeof buf, "%lld/%lld", (long long)jx_int(o, "status.readyReplicas", 0),
             (long long)jx_int(o, "spec.replicas", 1));
    table__cell_str(row, buf);
    table__cell_int(row, jx_int(o, "status.updatedReplicas", 0));
    table__cell_int(row, jx_int(o, "status.availableReplicas", 0));
    table__cell_age(row, o, "metadata.creationTimestamp", now);
    table__cells_containers(row, jx_get(o, "spec.template.spec.containers"));
    table__cell_take(row, sel ? sel : xstrdup("<invalid>"));
}

static const struct table_col deploy_cols[] = {TABLE_COL_NAME,
                                               {"Ready", "string", 0},
                                               {"Up-to-date", "string", 0},
                                               {"Available", "string", 0},
                                               TABLE_COL_AGE,
                                               TABLE_COLS_WORKLOAD_WIDE,
                                               TABLE_COL_END};

const struct kind_ops kind_DEPLOYMENT = {
    .res = &res_kind_deployment,
    .flags = KO_GENERATION_ANNOTATIONS,
    .prepare_create = kind_create_drop_status,
    .cols = deploy_cols,
    .cells = cells_deployment,
    .merge = &kind_pod_template_merge,
    .pb = &pb_msg_Deployment,
};
