/* The Service kind: the Service printer, and the rest of its kind_ops entry.
 * Objects are untrusted JSON: every getter tolerates absent or mistyped fields. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/kind.h"
#include "api/table-int.h"
#include "core/jx.h"
#include "core/log.h"

/* ---- table (pkg/printers/internalversion) ---- */

/* Load-balancer ingress IPs (or hostnames), sorted and unique, then
 * spec.externalIPs. */
static char *service_lb_ips(const json_t *o)
{
    const json_t *ing = jx_get(o, "status.loadBalancer.ingress"),
                 *ext = jx_get(o, "spec.externalIPs");
    size_t ni = json_is_array(ing) ? json_array_size(ing) : 0;
    size_t ne = json_is_array(ext) ? json_array_size(ext) : 0, n = 0, i, len = 1;
    const char **list = xcalloc(ni + ne + 1, sizeof *list);
    char *out;
    json_t *v;

    json_array_foreach(ni ? ing : NULL, i, v)
    {
        const char *s = table__str_or(jx_str(v, "ip"), jx_str(v, "hostname"));
        if (s && *s)
            table__strlist_add_sorted(list, &n, s);
    }
    json_array_foreach(ne ? ext : NULL, i, v) if (json_is_string(v)) list[n++] =
        json_string_value(v);
    for (i = 0; i < n; i++)
        len += strlen(list[i]) + 1;
    out = xcalloc(1, len);
    for (i = 0; i < n; i++) {
        if (i)
            strcat(out, ",");
        strcat(out, list[i]);
    }
    free(list);
    return out;
}

static char *join_strings(const json_t *arr)
{
    size_t i, len = 1;
    char *out;
    json_t *v;

    json_array_foreach(json_is_array(arr) ? arr : NULL, i, v) len +=
        strlen(table__str_or(json_string_value(v), "")) + 1;
    out = xcalloc(1, len);
    json_array_foreach(json_is_array(arr) ? arr : NULL, i, v)
    {
        if (i)
            strcat(out, ",");
        strcat(out, table__str_or(json_string_value(v), ""));
    }
    return out;
}

static char *service_external_ip(const json_t *o, const char *type)
{
    const json_t *ext = jx_get(o, "spec.externalIPs");
    char *s;

    if (!strcmp(type, "ClusterIP") || !strcmp(type, "NodePort")) {
        if (json_array_size(ext) > 0)
            return join_strings(ext);
        return xstrdup("<none>");
    }
    if (!strcmp(type, "LoadBalancer")) {
        s = service_lb_ips(o);
        if (!*s) {
            free(s);
            return xstrdup("<pending>");
        }
        return s;
    }
    if (!strcmp(type, "ExternalName"))
        return xstrdup(table__str_or(jx_str(o, "spec.externalName"), ""));
    return xstrdup("<unknown>");
}

static char *service_ports(const json_t *o)
{
    const json_t *ports = jx_get(o, "spec.ports");
    size_t n = json_is_array(ports) ? json_array_size(ports) : 0, i, off = 0;
    char *out = xmalloc(n * 48 + 8);
    json_t *p;

    out[0] = 0;
    json_array_foreach(n ? ports : NULL, i, p)
    {
        json_int_t port = jx_int(p, "port", 0), np = jx_int(p, "nodePort", 0);
        const char *proto = table__str_or(jx_str(p, "protocol"), "TCP");
        char one[48];
        if (np > 0)
            snprintf(one, sizeof one, "%lld:%lld/%.16s", (long long)port, (long long)np, proto);
        else
            snprintf(one, sizeof one, "%lld/%.16s", (long long)port, proto);
        off += snprintf(out + off, 48 + 1, "%s%s", i ? "," : "", one);
    }
    if (!out[0])
        strcpy(out, "<none>");
    return out;
}

static void cells_service(const json_t *o, time_t now, json_t *row)
{
    const char *type = table__str_or(jx_str(o, "spec.type"), "ClusterIP");
    const char *cip = json_string_value(json_array_get(jx_get(o, "spec.clusterIPs"), 0));

    table__cell_str(row, jx_str(o, "metadata.name"));
    table__cell_str(row, type);
    table__cell_str(row, table__str_or(cip ? cip : jx_str(o, "spec.clusterIP"), "<none>"));
    table__cell_take(row, service_external_ip(o, type));
    table__cell_take(row, service_ports(o));
    table__cell_age(row, o, "metadata.creationTimestamp", now);
    table__cell_take(row, table__labels(jx_get(o, "spec.selector")));
}

static const struct table_col svc_cols[] = {TABLE_COL_NAME,
                                            {"Type", "string", 0},
                                            {"Cluster-IP", "string", 0},
                                            {"External-IP", "string", 0},
                                            {"Port(s)", "string", 0},
                                            TABLE_COL_AGE,
                                            {"Selector", "string", 1},
                                            TABLE_COL_END};

const struct kind_ops kind_SERVICE = {
    .cols = svc_cols,
    .cells = cells_service,

};
